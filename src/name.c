/*
 * name.c - safe file names from URLs (pg_name_from_url, see pagegrab.h).
 *
 * Everything here comes from the network or from an untrusted list, so
 * the output is built to be harmless by construction: a sequence of
 * components, each non-empty, never "." or "..", free of '/', NUL and
 * control bytes, at most PG_NAME_COMPONENT_MAX bytes.  pg_result_save()
 * checks these properties again before it touches the file system.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "mem.h"
#include "name.h"
#include "url.h"

/* The longest extension that survives truncation, dot included. */
#define EXT_MAX 16

/* Where the extension of s[0..len) starts, or len if none. */
PG_UNITTEST_STATIC size_t ext_offset(const char *s, size_t len)
{
    size_t i = len;

    while (i > 1 && len - i < EXT_MAX) {
        i--;
        if (s[i] == '.')
            return i + 1 < len ? i : len;
    }
    return len;
}

/*
 * Append one percent-decoded, sanitised component of n bytes at s to b.
 * Sets *altered when the result differs from the plain decoding.
 */
PG_UNITTEST_STATIC enum pg_code add_component(struct pg__buf *b,
                                              const char *s, size_t n,
                                              int *altered)
{
    char comp[PG_URL_MAX * 3 + 1];
    size_t len = 0, i, ext, keep;

    for (i = 0; i < n && len < sizeof(comp) - 1; i++) {
        int c = (unsigned char)s[i];

        if (c == '%' && i + 2 < n && pg__hexval(s[i + 1]) >= 0 &&
            pg__hexval(s[i + 2]) >= 0) {
            c = pg__hexval(s[i + 1]) * 16 + pg__hexval(s[i + 2]);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') {
            c = '_';
            *altered = 1;
        }
        comp[len++] = (char)c;
    }
    if (i < n)
        *altered = 1;
    if (len > PG_NAME_COMPONENT_MAX) {
        /* Keep the extension; cut the stem on a UTF-8 boundary. */
        ext = ext_offset(comp, len);
        keep = PG_NAME_COMPONENT_MAX - (len - ext);
        while (keep > 0 && ((unsigned char)comp[keep] & 0xc0) == 0x80)
            keep--;
        if (keep == 0) /* not UTF-8 at all: cut anywhere, never to "" */
            keep = PG_NAME_COMPONENT_MAX - (len - ext);
        memmove(comp + keep, comp + ext, len - ext);
        len = keep + (len - ext);
        *altered = 1;
    }
    /* Last, so that no cut above can leave "." or "..": a long "%2e"
     * followed by continuation bytes is cut to "." (found by fuzzing). */
    if ((len == 1 && comp[0] == '.') ||
        (len == 2 && comp[0] == '.' && comp[1] == '.')) {
        memset(comp, '_', len);
        *altered = 1;
    }
    if (len >= PG_NAME_TMP_PREFIX_LEN &&
        !memcmp(comp, PG_NAME_TMP_PREFIX, PG_NAME_TMP_PREFIX_LEN)) {
        comp[0] = '_';
        *altered = 1;
    }
    return pg__buf_add(b, comp, len);
}

enum pg_code pg__name_add_component(struct pg__buf *b, const char *s,
                                    size_t n, int *altered)
{
    return add_component(b, s, n, altered);
}

/*
 * Insert "-" and the 16 hex digits of the URL hash before the extension
 * of the last component.  A leaf that now begins with the temp-file
 * prefix (".pagegrab" + tag) gets '_' for its first byte.
 */
static enum pg_code add_hash(struct pg__buf *b, size_t leaf_start,
                             uint64_t h)
{
    char tag[24];
    size_t leaf_len = b->len - leaf_start;
    size_t ext = leaf_start + ext_offset(b->ptr + leaf_start, leaf_len);
    size_t extlen = b->len - ext;
    char extbuf[EXT_MAX + 1];
    enum pg_code rc;

    snprintf(tag, sizeof(tag), "-%016llx", (unsigned long long)h);
    memcpy(extbuf, b->ptr + ext, extlen);
    pg__buf_truncate(b, ext);
    rc = pg__buf_addstr(b, tag);
    if (!rc)
        rc = pg__buf_add(b, extbuf, extlen);
    if (!rc && b->len - leaf_start >= PG_NAME_TMP_PREFIX_LEN &&
        !memcmp(b->ptr + leaf_start, PG_NAME_TMP_PREFIX,
                PG_NAME_TMP_PREFIX_LEN))
        b->ptr[leaf_start] = '_';
    return rc;
}

/*
 * Build the name of u into b.  With dirs, the host and the path's
 * directories come first (unless PG_NAME_FLAT).  *altered is set when a
 * component had to be changed.
 */
static enum pg_code build(struct pg__buf *b, const struct pg__url *u,
                          unsigned flags, int dirs, int *altered)
{
    const char *p = strrchr(u->path, '/');
    const char *leaf = p && p[1] ? p + 1 : NULL;
    const char *seg, *end;
    size_t leaf_start;
    enum pg_code rc = PG_OK;

    if (!(flags & PG_NAME_FLAT)) {
        rc = add_component(b, u->host, strlen(u->host), altered);
        if (!rc && u->port)
            rc = pg__buf_addf(b, ":%s", u->port);
        if (!rc)
            rc = pg__buf_addc(b, '/');
        for (seg = u->path; dirs && !rc && p && seg < p; seg = end + 1) {
            end = strchr(seg, '/');
            if (end > seg) {
                rc = add_component(b, seg, (size_t)(end - seg), altered);
                if (!rc)
                    rc = pg__buf_addc(b, '/');
            }
        }
    }
    leaf_start = b->len;
    if (!rc) {
        if (leaf)
            rc = add_component(b, leaf, strlen(leaf), altered);
        else
            rc = pg__buf_addstr(b, PG_NAME_INDEX);
    }
    if (!rc && *altered)
        rc = add_hash(b, leaf_start, pg__hash64(u->url, strlen(u->url)));
    return rc;
}

enum pg_code pg__name_from_parsed(const struct pg__url *u, unsigned flags,
                                  char **out)
{
    struct pg__buf b = PG_BUF_INIT(PG_NAME_MAX);
    int altered = u->query != NULL;
    enum pg_code rc;

    *out = NULL;
    rc = build(&b, u, flags, 1, &altered);
    if (rc == PG_E_LIMIT) {
        /* Too deep or too long: keep the host and the leaf only. */
        altered = 1;
        pg__buf_init(&b, PG_NAME_MAX);
        rc = build(&b, u, flags, 0, &altered);
    }
    if (rc) {
        pg__buf_release(&b);
        return rc;
    }
    *out = pg__buf_take(&b);
    return PG_OK;
}

enum pg_code pg_name_from_url(const char *url, unsigned flags, char **out)
{
    struct pg__url u;
    char err[PG_ERRBUF_SIZE];
    enum pg_code rc;

    *out = NULL;
    rc = pg__url_parse(&u, url, strlen(url), err, sizeof(err));
    if (rc)
        return rc;
    rc = pg__name_from_parsed(&u, flags, out);
    pg__url_release(&u);
    return rc;
}
