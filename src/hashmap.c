/*
 * hashmap.c - see hashmap.h: the open-addressing map from 64-bit hashes
 * to 32-bit values, and the --dedup index built on it.  No I/O.
 */
#include <string.h>

#include "hashmap.h"
#include "mem.h"
#include "url.h"

void pg__nameset_init(struct pg__nameset *s)
{
    memset(s, 0, sizeof(*s));
}

void pg__nameset_init_keys(struct pg__nameset *s)
{
    pg__nameset_init(s);
    s->keys_only = 1;
}

void pg__nameset_release(struct pg__nameset *s)
{
    PG_FREE(s->keys);
    PG_FREE(s->vals);
    s->cap = s->used = 0;   /* (keys_only stays) */
}

static size_t slot(const struct pg__nameset *s, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 29)) & (s->cap - 1);

    while (s->keys[i] && s->keys[i] != key)
        i = (i + 1) & (s->cap - 1);
    return i;
}

int pg__nameset_get(const struct pg__nameset *s, uint64_t name_hash,
                    uint32_t *val)
{
    size_t i;

    if (!s->cap)
        return 0;
    name_hash |= !name_hash;
    i = slot(s, name_hash);
    if (!s->keys[i])
        return 0;
    *val = s->vals ? s->vals[i] : 1;
    return 1;
}

static enum pg_code nameset_grow(struct pg__nameset *s)
{
    struct pg__nameset n;
    size_t i;

    n.cap = s->cap ? s->cap * 2 : 1024;
    n.used = s->used;
    n.keys_only = s->keys_only;
    n.keys = pg__calloc(n.cap, sizeof(*n.keys));
    n.vals = n.keys_only ? NULL : pg__calloc(n.cap, sizeof(*n.vals));
    if (!n.keys || (!n.keys_only && !n.vals)) {
        pg_free(n.keys);
        pg_free(n.vals);
        return PG_E_NOMEM;
    }
    for (i = 0; i < s->cap; i++) {
        if (s->keys[i]) {
            size_t j = slot(&n, s->keys[i]);

            n.keys[j] = s->keys[i];
            if (n.vals)
                n.vals[j] = s->vals[i];
        }
    }
    pg__nameset_release(s);
    *s = n;
    return PG_OK;
}

enum pg_code pg__nameset_put(struct pg__nameset *s, uint64_t name_hash,
                             uint32_t val)
{
    size_t i;

    if ((s->used + 1) * 4 > s->cap * 3) {
        enum pg_code rc = nameset_grow(s);

        if (rc)
            return rc;
    }
    name_hash |= !name_hash;
    i = slot(s, name_hash);
    if (!s->keys[i])
        s->used++;
    s->keys[i] = name_hash;
    if (s->vals)
        s->vals[i] = val;
    return PG_OK;
}

void pg__dedup_init(struct pg__dedup *d)
{
    memset(d, 0, sizeof(*d));
    pg__nameset_init(&d->idx);
}

void pg__dedup_release(struct pg__dedup *d)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        pg_free(d->hex[i]);
        pg_free(d->path[i]);
    }
    pg_free(d->hex);
    pg_free(d->path);
    pg__nameset_release(&d->idx);
    memset(d, 0, sizeof(*d));
}

const char *pg__dedup_find(const struct pg__dedup *d, const char *hex)
{
    uint32_t v;

    if (!pg__nameset_get(&d->idx, pg__hash64(hex, strlen(hex)), &v) ||
        v == 0 || v > d->n || strcmp(d->hex[v - 1], hex))
        return NULL;
    return d->path[v - 1];
}

enum pg_code pg__dedup_add(struct pg__dedup *d, const char *hex,
                           const char *path)
{
    if (pg__dedup_find(d, hex))
        return PG_OK;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        char **h = pg__realloc(d->hex, cap * sizeof(*h));

        if (!h)
            return PG_E_NOMEM;
        d->hex = h;
        h = pg__realloc(d->path, cap * sizeof(*h));
        if (!h)
            return PG_E_NOMEM;
        d->path = h;
        d->cap = cap;
    }
    d->hex[d->n] = pg__strdup(hex);
    d->path[d->n] = pg__strdup(path);
    if (!d->hex[d->n] || !d->path[d->n]) {
        PG_FREE(d->hex[d->n]);
        PG_FREE(d->path[d->n]);
        return PG_E_NOMEM;
    }
    d->n++;
    return pg__nameset_put(&d->idx, pg__hash64(hex, strlen(hex)),
                           (uint32_t)d->n);
}
