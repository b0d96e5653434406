/*
 * links.c - the link set and URL resolution (see links.h).
 *
 * A struct pg__links is a vector with an open-addressing index; links
 * are resolved with libcurl's URL API and normalised by pg__url_parse().
 * Finding references in a page is extract.c's job, not this file's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ascii.h"
#include "buf.h"
#include "links.h"
#include "mem.h"
#include "url.h"

#define URL_FLAGS \
    (CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE | CURLU_ALLOW_SPACE)

void pg__links_init(struct pg__links *l)
{
    memset(l, 0, sizeof(*l));
}

void pg__links_release(struct pg__links *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        pg_free(l->v[i].url);
    pg_free(l->v);
    pg_free(l->slot);
    pg__links_init(l);
}

static size_t link_hash(enum pg__link_kind k, const char *url)
{
    uint64_t h = pg__hash64(url, strlen(url));

    h ^= (uint64_t)k + 1;
    h *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(h ^ (h >> 32));
}

/* The slot holding (k, url), or the free slot where it would go. */
static size_t find_slot(const struct pg__links *l, enum pg__link_kind k,
                        const char *url)
{
    size_t mask = l->nslot - 1, i = link_hash(k, url) & mask;

    for (;;) {
        size_t s = l->slot[i];

        if (!s)
            return i;
        if (l->v[s - 1].kind == k && !strcmp(l->v[s - 1].url, url))
            return i;
        i = (i + 1) & mask;
    }
}

int pg__links_has(const struct pg__links *l, enum pg__link_kind k,
                  const char *url)
{
    return l->nslot && l->slot[find_slot(l, k, url)];
}

/* Rebuild the index twice as large; on failure l is unchanged. */
static enum pg_code grow_index(struct pg__links *l)
{
    size_t n = l->nslot ? l->nslot * 2 : 64, i;
    size_t *slot;

    if (l->nslot > SIZE_MAX / 4 / sizeof(*slot))
        return PG_E_NOMEM;
    /* A set filled by pg__links_append() has no index yet. */
    while (n < (l->n + 1) * 2) {
        if (n > SIZE_MAX / 4 / sizeof(*slot))
            return PG_E_NOMEM;
        n *= 2;
    }
    slot = pg__calloc(n, sizeof(*slot));
    if (!slot)
        return PG_E_NOMEM;
    pg_free(l->slot);
    l->slot = slot;
    l->nslot = n;
    for (i = 0; i < l->n; i++) {
        size_t j = link_hash(l->v[i].kind, l->v[i].url) & (n - 1);

        while (slot[j])
            j = (j + 1) & (n - 1);
        slot[j] = i + 1;
    }
    return PG_OK;
}

/* Room in v for one more link; on failure l is unchanged. */
static enum pg_code links_room(struct pg__links *l)
{
    size_t cap = l->cap ? l->cap * 2 : 16;
    struct pg__link *v = NULL;

    if (l->n < l->cap)
        return PG_OK;
    if (cap <= SIZE_MAX / sizeof(*v))
        v = pg__realloc(l->v, cap * sizeof(*v));
    if (!v)
        return PG_E_NOMEM;
    l->v = v;
    l->cap = cap;
    return PG_OK;
}

/*
 * Add url, which is taken: it is freed unless it went into l.  *added
 * says whether it did (0 for a duplicate).  On PG_E_NOMEM l is unchanged.
 */
enum pg_code pg__links_take(struct pg__links *l, enum pg__link_kind k,
                            char *url, int *added)
{
    enum pg_code rc;
    size_t i;

    *added = 0;
    if ((l->n + 1) * 2 > l->nslot) {
        rc = grow_index(l);
        if (rc) {
            pg_free(url);
            return rc;
        }
    }
    i = find_slot(l, k, url);
    if (l->slot[i]) {
        pg_free(url);
        return PG_OK;
    }
    if (links_room(l)) {
        pg_free(url);
        return PG_E_NOMEM;
    }
    l->v[l->n].kind = k;
    l->v[l->n].url = url;
    l->n++;
    l->slot[i] = l->n;
    *added = 1;
    return PG_OK;
}

enum pg_code pg__links_add(struct pg__links *l, enum pg__link_kind k,
                           const char *url)
{
    char *copy;
    int added;

    if (pg__links_has(l, k, url))
        return PG_OK;
    copy = pg__strdup(url);
    if (!copy)
        return PG_E_NOMEM;
    return pg__links_take(l, k, copy, &added);
}

enum pg_code pg__links_append(struct pg__links *l, enum pg__link_kind k,
                              const char *url)
{
    char *copy;

    if (l->nslot)
        return pg__links_add(l, k, url);
    if (links_room(l))
        return PG_E_NOMEM;
    copy = pg__strdup(url);
    if (!copy)
        return PG_E_NOMEM;
    l->v[l->n].kind = k;
    l->v[l->n].url = copy;
    l->n++;
    return PG_OK;
}

/* PG_E_SCHEME if s starts with a scheme other than http(s). */
static enum pg_code check_scheme(const char *s)
{
    size_t i = 0;

    if (!pg__is_alpha((unsigned char)s[0]))
        return PG_OK;
    while (pg__is_alpha((unsigned char)s[i]) ||
           pg__is_digit((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
           s[i] == '.')
        i++;
    if (s[i] != ':')
        return PG_OK;
    if (pg__ci_eq(s, i, "http") || pg__ci_eq(s, i, "https"))
        return PG_OK;
    return PG_E_SCHEME;
}

/* A new URL handle holding abs (n bytes) normalised; *out NULL on error. */
enum pg_code pg__link_base(const char *abs, size_t n, CURLU **out)
{
    char err[PG_ERRBUF_SIZE];
    struct pg__url u;
    enum pg_code rc;
    CURLUcode uc;

    *out = NULL;
    rc = pg__url_parse(&u, abs, n, err, sizeof(err));
    if (rc)
        return rc == PG_E_NOMEM ? rc : PG_E_URL;
    *out = curl_url();
    if (!*out) {
        pg__url_release(&u);
        return PG_E_NOMEM;
    }
    uc = curl_url_set(*out, CURLUPART_URL, u.url, URL_FLAGS);
    pg__url_release(&u);
    if (uc) {
        curl_url_cleanup(*out);
        *out = NULL;
        return uc == CURLUE_OUT_OF_MEMORY ? PG_E_NOMEM : PG_E_URL;
    }
    return PG_OK;
}

/* Resolve ref[0..len) against the URL in base (see pg__link_resolve). */
enum pg_code pg__link_resolve_with(CURLU *base, const char *ref,
                                   size_t len, char **out)
{
    struct pg__buf b = PG_BUF_INIT(PG_URL_MAX);
    char err[PG_ERRBUF_SIZE];
    struct pg__url u;
    char *full = NULL;
    CURLU *h = NULL;
    enum pg_code rc = PG_OK;
    CURLUcode uc;
    int in_path = 1;
    size_t i;

    *out = NULL;
    while (len > 0 && pg__is_ws((unsigned char)ref[0])) {
        ref++;
        len--;
    }
    while (len > 0 && pg__is_ws((unsigned char)ref[len - 1]))
        len--;
    if (len == 0 || len > PG_URL_MAX)
        return PG_E_URL;
    /* Copy without tabs and newlines, spaces encoded; the fragment is
     * dropped. */
    for (i = 0; i < len && ref[i] != '#'; i++) {
        unsigned char c = (unsigned char)ref[i];

        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c < 0x20 || c == 0x7f) {
            rc = PG_E_URL;
            goto out;
        }
        if (c == '?')
            in_path = 0;
        if (c == '\\' && in_path)
            c = '/';
        /* As pg__url_parse() does: libcurl would make '+' of a space in
         * the query, which is a different URL. */
        if (c == ' ')
            rc = pg__buf_add(&b, "%20", 3);
        else
            rc = pg__buf_addc(&b, (char)c);
        if (rc)
            goto out;
    }
    rc = check_scheme(pg__buf_str(&b));
    if (rc)
        goto out;
    h = curl_url_dup(base);
    if (!h) {
        rc = PG_E_NOMEM;
        goto out;
    }
    /* An empty reference (after "#...") is the base itself. */
    if (b.len > 0) {
        uc = curl_url_set(h, CURLUPART_URL, pg__buf_str(&b), URL_FLAGS);
        if (uc) {
            rc = uc == CURLUE_OUT_OF_MEMORY ? PG_E_NOMEM : PG_E_URL;
            goto out;
        }
    }
    uc = curl_url_get(h, CURLUPART_URL, &full, 0);
    if (uc || !full) {
        rc = uc == CURLUE_OUT_OF_MEMORY ? PG_E_NOMEM : PG_E_URL;
        goto out;
    }
    rc = pg__url_parse(&u, full, strlen(full), err, sizeof(err));
    if (rc)
        goto out;
    *out = u.url;
    u.url = NULL;
    pg__url_release(&u);
out:
    if (rc == PG_E_LIMIT)
        rc = PG_E_URL;
    curl_free(full);
    curl_url_cleanup(h);
    pg__buf_release(&b);
    return rc;
}

enum pg_code pg__link_resolve(const char *base, const char *ref,
                              size_t len, char **out)
{
    CURLU *h;
    enum pg_code rc;

    *out = NULL;
    if (!base || !ref)
        return PG_E_URL;
    rc = pg__link_base(base, strlen(base), &h);
    if (rc)
        return rc;
    rc = pg__link_resolve_with(h, ref, len, out);
    curl_url_cleanup(h);
    return rc;
}

enum pg_code pg__link_sink_add(struct pg__link_sink *s,
                               enum pg__link_kind k, const char *ref,
                               size_t len, int image_files_only)
{
    enum pg_code rc;
    char *url;
    int added;

    if (s->full)
        return PG_OK;
    rc = pg__link_resolve_with(s->base, ref, len, &url);
    if (rc)
        return rc;
    if (image_files_only && !pg__link_is_image(url)) {
        pg_free(url);
        return PG_OK;
    }
    if (s->max && s->added >= s->max) {
        if (!pg__links_has(s->out, k, url)) {
            s->full = 1;
            s->out->truncated = 1;
        }
        pg_free(url);
        return PG_OK;
    }
    rc = pg__links_take(s->out, k, url, &added);
    if (!rc && added)
        s->added++;
    return rc;
}

/* 1 if the path of the normalised url ends in an image extension. */
int pg__link_is_image(const char *url)
{
    static const char *const ext[] = {
        "jpg", "jpeg", "png", "gif", "webp", "avif", "bmp", "svg", "tif",
        "tiff", "ico",
    };
    const char *p = strstr(url, "://"), *end, *dot = NULL, *q;
    size_t k;

    if (!p)
        return 0;
    p = strchr(p + 3, '/');
    if (!p)
        return 0;
    end = p + strcspn(p, "?#");
    for (q = p; q < end; q++) {
        if (*q == '/')
            dot = NULL;
        else if (*q == '.')
            dot = q;
    }
    if (!dot)
        return 0;
    for (k = 0; k < PG_ARRAY_SIZE(ext); k++) {
        if (pg__ci_eq(dot + 1, (size_t)(end - dot - 1), ext[k]))
            return 1;
    }
    return 0;
}
