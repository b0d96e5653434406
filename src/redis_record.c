/*
 * redis_record.c - see redis_record.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontier_mem.h" /* pg__url_origin_len */
#include "mem.h"
#include "redis_record.h"
#include "url.h"

#define SEP '\x1f'

/* The item flags a record keeps. */
#define KEPT_FLAGS (PG_ITEM_PARSE | PG_ITEM_IMAGE | PG_ITEM_ROBOTS_CHECK | \
                    PG_ITEM_PUBLIC_ONLY | PG_ITEM_NOFETCH)

/* Append hash, origin and the record of it to a; PG_E_INVALID when a
 * field holds the separator (never: URLs are escaped). */
enum pg_code pg__redis_record_add(struct pg__redis_args *a,
                               const struct pg__item *it)
{
    const char *in = it->res.url ? it->res.url : it->url;
    const char *ref = it->res.referrer ? it->res.referrer : "";
    size_t on = pg__url_origin_len(it->url);
    char hex[17], *rec;
    enum pg_code rc;
    int n;

    if (strchr(it->url, SEP) || strchr(in, SEP) || strchr(ref, SEP))
        return PG_E_INVALID;
    snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)
             pg__hash64(it->url, strlen(it->url)));
    n = snprintf(NULL, 0, "%s%c%.*s%c%d%c%u%c%u%c%llu%c%s%c%s", it->url, SEP,
                 (int)on, it->url, SEP, (int)it->res.kind, SEP, it->res.depth, SEP,
                 it->flags & KEPT_FLAGS, SEP, (unsigned long long)it->res.line,
                 SEP, in, SEP, ref);
    rec = n > 0 ? pg_malloc((size_t)n + 1) : NULL;
    if (!rec)
        return PG_E_NOMEM;
    snprintf(rec, (size_t)n + 1, "%s%c%.*s%c%d%c%u%c%u%c%llu%c%s%c%s",
             it->url, SEP, (int)on, it->url, SEP, (int)it->res.kind, SEP,
             it->res.depth, SEP, it->flags & KEPT_FLAGS, SEP,
             (unsigned long long)it->res.line, SEP, in, SEP, ref);
    rc = pg__redis_args_add(a, hex, 16);
    if (!rc)
        rc = pg__redis_args_add(a, it->url, on);
    if (!rc)
        rc = pg__redis_args_add(a, rec, (size_t)n);
    pg_free(rec);
    return rc;
}

/* The next field of a record (NUL-terminated in place). */
static char *field(char **p)
{
    char *s = *p, *e;

    if (!s)
        return "";
    e = strchr(s, SEP);
    if (e) {
        *e = '\0';
        *p = e + 1;
    } else {
        *p = NULL;
    }
    return s;
}

struct pg__item *pg__redis_record_parse(const char *rec, size_t len,
                                        uint64_t id)
{
    struct pg__item *it = pg__item_new();
    char *copy = pg__strndup(rec, len), *p = copy, *ref;

    if (!it || !copy)
        goto fail;
    it->url = pg__strdup(field(&p));
    (void)field(&p); /* origin */
    it->res.kind = (enum pg_kind)strtoul(field(&p), NULL, 10);
    it->res.depth = (unsigned)strtoul(field(&p), NULL, 10);
    it->flags = (unsigned)strtoul(field(&p), NULL, 10) & KEPT_FLAGS;
    it->res.line = strtoull(field(&p), NULL, 10);
    it->res.url = pg__strdup(field(&p));
    ref = field(&p);
    if (*ref)
        it->res.referrer = pg__strdup(ref);
    if (!it->url || !it->res.url || (*ref && !it->res.referrer))
        goto fail;
    if ((unsigned)it->res.kind > PG_KIND_IMAGE)
        it->res.kind = PG_KIND_FILE;
    it->id = id;
    pg_free(copy);
    return it;
fail:
    pg_free(copy);
    pg__item_free(it);
    return NULL;
}
