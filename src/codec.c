/*
 * codec.c - the messages between the process pool's parent and its
 * workers: both halves of every frame layout (wire.h), the encoder next
 * to its decoder, on top of wire.c's framing.
 *
 * It is not the transport (wire.c reads and writes frames) nor either
 * side's logic (pool_proc.c is the parent, worker.c the worker): it
 * only turns items into frames and frames back into items.
 */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "mem.h"

/* The next string of a frame as a new copy; NULL if absent. */
static char *wire_strdup(struct pg__wire_reader *r)
{
    const char *s = pg__wire_get_str(r);

    return s ? pg__strdup(s) : NULL;
}

/* ---- JOB: parent -> worker ------------------------------------------- */

enum pg_code pg__codec_put_job(struct pg__buf *b, const struct pg__item *it)
{
    enum pg_code rc;

    rc = pg__wire_begin(b, PG_WIRE_JOB);
    if (!rc)
        rc = pg__wire_put_u64(b, it->id);
    if (!rc)
        rc = pg__wire_put_u32(b, it->res.attempts);
    if (!rc)
        rc = pg__wire_put_u32(b, it->flags);
    if (!rc)
        rc = pg__wire_put_str(b, it->url);
    if (!rc)
        rc = pg__wire_put_str(b, it->res.referrer);
    /* --update: the validators and the recorded copy (or none). */
    if (!rc)
        rc = pg__wire_put_str(b, it->cond_etag);
    if (!rc)
        rc = pg__wire_put_str(b, it->cond_lm);
    if (!rc)
        rc = pg__wire_put_str(b, it->cond_path);
    if (!rc)
        rc = pg__wire_put_str(b, it->cond_ctype);
    if (!rc)
        rc = pg__wire_end(b);
    return rc;
}

/* The next string of a frame into *dst (a new copy); 0, or -1 when out
 * of memory. */
static int get_opt_str(struct pg__wire_reader *r, char **dst)
{
    const char *s = pg__wire_get_str(r);

    *dst = NULL;
    return s && !(*dst = pg__strdup(s)) ? -1 : 0;
}

/* Decode one JOB frame into a new item; NULL if malformed. */
struct pg__item *pg__codec_get_job(const void *payload, size_t len)
{
    struct pg__wire_reader r;
    struct pg__item *it = pg__item_new();
    const char *url, *ref;

    if (!it)
        return NULL;
    pg__wire_reader_init(&r, payload, len);
    it->id = pg__wire_get_u64(&r);
    it->res.attempts = pg__wire_get_u32(&r);
    it->flags = pg__wire_get_u32(&r);
    url = pg__wire_get_str(&r);
    ref = pg__wire_get_str(&r);
    if (r.bad || !url || !(it->url = pg__strdup(url)) ||
        (ref && !(it->res.referrer = pg__strdup(ref))) ||
        get_opt_str(&r, &it->cond_etag) || get_opt_str(&r, &it->cond_lm) ||
        get_opt_str(&r, &it->cond_path) ||
        get_opt_str(&r, &it->cond_ctype) || r.bad) {
        pg__item_free(it);
        return NULL;
    }
    return it;
}

/* ---- LINKS: worker -> parent, ahead of the RESULT ---------------------- */

/*
 * Links travel as a count and (kind, url) pairs: from l->v[*from], as
 * many as fit in the frame (at least one), *from is advanced past them.
 * A page's links take as many LINKS frames as they need.
 */
static enum pg_code put_links(struct pg__buf *b, const struct pg__links *l,
                              size_t *from)
{
    size_t budget = PG_WIRE_MAX - 4096, n = 0, i, bytes = b->len;
    enum pg_code rc;

    for (i = *from; i < l->n; i++) {
        bytes += 9 + strlen(l->v[i].url);
        if (bytes > budget && n > 0)
            break;
        n++;
    }
    rc = pg__wire_put_u32(b, (uint32_t)n);
    for (i = *from; !rc && i < *from + n; i++) {
        rc = pg__wire_put_u32(b, (uint32_t)l->v[i].kind);
        if (!rc)
            rc = pg__wire_put_str(b, l->v[i].url);
    }
    *from += n;
    return rc;
}

/* One LINKS frame of it's links, from *from on. */
enum pg_code pg__codec_put_links(struct pg__buf *b,
                                 const struct pg__item *it, size_t *from)
{
    enum pg_code rc;

    rc = pg__wire_begin(b, PG_WIRE_LINKS);
    if (!rc)
        rc = pg__wire_put_u64(b, it->id);
    if (!rc)
        rc = put_links(b, &it->links, from);
    if (!rc)
        rc = pg__wire_end(b);
    return rc;
}

enum pg_code pg__codec_get_links(struct pg__wire_reader *r,
                                 struct pg__links *l)
{
    uint32_t n = pg__wire_get_u32(r), i;

    for (i = 0; !r->bad && i < n; i++) {
        uint32_t kind = pg__wire_get_u32(r);
        const char *url = pg__wire_get_str(r);
        enum pg_code rc;

        if (r->bad || !url || kind > PG_LINK_CSS)
            return PG_E_PARSE;
        rc = pg__links_append(l, (enum pg__link_kind)kind, url);
        if (rc)
            return rc;
    }
    return r->bad ? PG_E_PARSE : PG_OK;
}

/* ---- RESULT: worker -> parent ----------------------------------------- */

enum pg_code pg__codec_put_result(struct pg__buf *b,
                                  const struct pg__item *it)
{
    enum pg_code rc;

    rc = pg__wire_begin(b, PG_WIRE_RESULT);
    if (!rc)
        rc = pg__wire_put_u64(b, it->id);
    if (!rc)
        rc = pg__wire_put_u32(b, (uint32_t)it->res.status);
    if (!rc)
        rc = pg__wire_put_u64(b, (uint64_t)it->res.http_code);
    if (!rc)
        rc = pg__wire_put_str(b, it->res.http_version);
    if (!rc)
        rc = pg__wire_put_u64(b, it->res.bytes);
    if (!rc)
        rc = pg__wire_put_f64(b, it->res.time_ms);
    if (!rc)
        rc = pg__wire_put_str(b, it->res.content_type);
    if (!rc)
        rc = pg__wire_put_str(b, it->res.final_url);
    if (!rc)
        rc = pg__wire_put_str(b, it->res.tmp_name);
    if (!rc)
        rc = pg__wire_put_str(b, it->error[0] ? it->error : NULL);
    if (!rc)
        rc = pg__wire_put_str(b, it->hash[0] ? it->hash : NULL);
    if (!rc)
        rc = pg__wire_put_u32(b, it->flags);
    if (!rc)
        rc = pg__wire_put_u64(b, (uint64_t)(int64_t)it->retry_after_ms);
    if (!rc)
        rc = pg__wire_put_u32(b, it->res.links_truncated ? 1 : 0);
    if (!rc)
        rc = pg__wire_put_str(b, it->res.etag);
    if (!rc)
        rc = pg__wire_put_str(b, it->res.last_modified);
    /* The links went ahead in LINKS frames. */
    if (!rc)
        rc = pg__wire_put_u32(b, 0);
    if (!rc)
        rc = pg__wire_end(b);
    return rc;
}

/* Every field after the id, as pg__codec_put_result() wrote them. */
enum pg_code pg__codec_get_result(struct pg__wire_reader *r,
                                  struct pg__item *it)
{
    const char *s;

    it->res.status = (enum pg_status)pg__wire_get_u32(r);
    it->res.http_code = (long)pg__wire_get_u64(r);
    /* One of the static names, never a string from the wire. */
    it->res.http_version = pg__http_version_intern(pg__wire_get_str(r));
    it->res.bytes = pg__wire_get_u64(r);
    it->res.time_ms = pg__wire_get_f64(r);
    it->res.content_type = wire_strdup(r);
    it->res.final_url = wire_strdup(r);
    it->res.tmp_name = wire_strdup(r);
    s = pg__wire_get_str(r);
    if (s) {
        snprintf(it->error, sizeof(it->error), "%s", s);
        it->res.error = it->error;
    }
    s = pg__wire_get_str(r);
    if (s)
        snprintf(it->hash, sizeof(it->hash), "%s", s);
    it->flags = pg__wire_get_u32(r);
    it->retry_after_ms = (long)(int64_t)pg__wire_get_u64(r);
    it->res.links_truncated = pg__wire_get_u32(r) != 0;
    /* (Checked again: only a printable validator is kept.) */
    it->res.etag = pg__validator_dup(pg__wire_get_str(r));
    it->res.last_modified = pg__validator_dup(pg__wire_get_str(r));
    if (pg__codec_get_links(r, &it->links) != PG_OK)
        r->bad = 1;
    it->res.links = (unsigned)it->links.n;
    if (r->bad || (unsigned)it->res.status >= PG_ST__COUNT)
        return PG_E_PARSE;
    return PG_OK;
}

/* ---- COOKIES: both ways ----------------------------------------------- */

enum pg_code pg__codec_put_cookies(struct pg__buf *b, char *const *v,
                                   size_t *from)
{
    size_t budget = PG_WIRE_MAX - 4096, bytes = 0, n = 0, i;
    enum pg_code rc;

    for (i = *from; v[i]; i++) {
        bytes += 5 + strlen(v[i]);
        if (bytes > budget && n > 0)
            break;
        n++;
    }
    rc = pg__wire_begin(b, PG_WIRE_COOKIES);
    if (!rc)
        rc = pg__wire_put_u32(b, (uint32_t)n);
    for (i = *from; !rc && i < *from + n; i++)
        rc = pg__wire_put_str(b, v[i]);
    if (!rc)
        rc = pg__wire_end(b);
    *from += n;
    return rc;
}

char **pg__codec_get_cookies(const void *payload, size_t len,
                             struct pg__jar *jar, int *bad)
{
    struct pg__wire_reader r;
    uint32_t n, i;
    size_t k = 0;
    char **v;

    pg__wire_reader_init(&r, payload, len);
    n = pg__wire_get_u32(&r);
    /* Each line takes at least 5 bytes: a hostile count allocates no
     * more than the frame's size. */
    if (r.bad || n > len / 5) {
        *bad = 1;
        return NULL;
    }
    v = pg__calloc((size_t)n + 1, sizeof(*v));
    for (i = 0; i < n; i++) {
        const char *s = pg__wire_get_str(&r);

        if (r.bad || !s) {
            *bad = 1;
            break;
        }
        if (pg__jar_apply(jar, s) == 1 && v && (v[k] = pg__strdup(s)))
            k++;
    }
    if (k == 0) {
        pg_free(v);
        return NULL;
    }
    return v;
}

/* ---- WINDOW: worker -> parent ----------------------------------------- */

enum pg_code pg__codec_put_window(struct pg__buf *b, unsigned window)
{
    enum pg_code rc = pg__wire_begin(b, PG_WIRE_WINDOW);

    if (!rc)
        rc = pg__wire_put_u32(b, (uint32_t)window);
    if (!rc)
        rc = pg__wire_end(b);
    return rc;
}

unsigned pg__codec_get_window(struct pg__wire_reader *r)
{
    uint32_t n = pg__wire_get_u32(r);

    return r->bad || r->off != r->len ? 0 : (unsigned)n;
}

/* ---- LOG: worker -> parent -------------------------------------------- */

enum pg_code pg__codec_put_log(struct pg__buf *b, enum pg_log_level level,
                               const char *msg)
{
    enum pg_code rc = pg__wire_begin(b, PG_WIRE_LOG);

    if (!rc)
        rc = pg__wire_put_u32(b, (uint32_t)level);
    if (!rc)
        rc = pg__wire_put_str(b, msg);
    if (!rc)
        rc = pg__wire_end(b);
    return rc;
}

const char *pg__codec_get_log(struct pg__wire_reader *r,
                              enum pg_log_level *level)
{
    unsigned lv = pg__wire_get_u32(r);
    const char *s = pg__wire_get_str(r);

    if (r->bad || !s || lv > PG_LOG_DEBUG)
        return NULL;
    *level = (enum pg_log_level)lv;
    return s;
}
