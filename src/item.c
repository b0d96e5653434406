/*
 * item.c - see item.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "item.h"
#include "mem.h"

struct pg__item *pg__item_new(void)
{
    struct pg__item *it = pg__calloc(1, sizeof(struct pg__item));

    if (it)
        pg__links_init(&it->links);
    return it;
}

void pg__item_reset_result(struct pg__item *it)
{
    struct pg_result *r = &it->res;

    r->status = PG_ST_OK;
    r->http_code = 0;
    r->http_version = NULL;
    r->bytes = 0;
    r->time_ms = 0;
    r->links = 0;
    r->links_truncated = 0;
    r->hash = NULL;
    r->error = NULL;
    it->flags &= ~(unsigned)(PG_ITEM_HTML | PG_ITEM_PRIVATE_IP |
                             PG_ITEM_PERMANENT);
    it->retry_after_ms = -1;
    it->hash[0] = '\0';
    pg__links_release(&it->links);
    PG_FREE_CONST(r->duplicate_of);
    PG_FREE_CONST(r->content_type);
    PG_FREE_CONST(r->final_url);
    PG_FREE_CONST(r->tmp_name);
    PG_FREE_CONST(r->path);
    PG_FREE_CONST(r->etag);
    PG_FREE_CONST(r->last_modified);
    it->error[0] = '\0';
}

char *pg__validator_dupn(const char *s, size_t n)
{
    size_t i;

    if (!s)
        return NULL;
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
                     s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n == 0 || n > PG_VALIDATOR_MAX)
        return NULL;
    /* Sent back in a request header and written in the manifest: only
     * printable ASCII, so nothing can end the header line. */
    for (i = 0; i < n; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return NULL;
    }
    return pg__strndup(s, n);
}

char *pg__validator_dup(const char *s)
{
    return s ? pg__validator_dupn(s, strlen(s)) : NULL;
}

void pg__item_cond_clear(struct pg__item *it)
{
    PG_FREE(it->cond_etag);
    PG_FREE(it->cond_lm);
    PG_FREE(it->cond_path);
    PG_FREE(it->cond_ctype);
    it->flags &= ~(unsigned)PG_ITEM_COND;
}

void pg__item_free(struct pg__item *it)
{
    if (!it)
        return;
    pg__item_reset_result(it);
    pg__item_cond_clear(it);
    pg_free((void *)it->res.url);
    pg_free(it->url);
    pg_free((void *)it->res.referrer);
    pg_free(it);
}

const char *pg__http_version_name(unsigned v)
{
    switch (v) {
    case 10: return "1.0";
    case 11: return "1.1";
    case 20: return "2";
    case 30: return "3";
    }
    return NULL;
}

const char *pg__http_version_intern(const char *s)
{
    static const unsigned v[] = { 10, 11, 20, 30 };
    size_t i;

    for (i = 0; s && i < sizeof(v) / sizeof(v[0]); i++)
        if (!strcmp(s, pg__http_version_name(v[i])))
            return pg__http_version_name(v[i]);
    return NULL;
}

void pg__item_error(struct pg__item *it, enum pg_status st,
                    const char *fmt, ...)
{
    va_list ap;

    it->res.status = st;
    va_start(ap, fmt);
    vsnprintf(it->error, sizeof(it->error), fmt, ap);
    va_end(ap);
    it->res.error = it->error;
}
