/*
 * update.c - see update.h: the update map.
 *
 * The update map holds, for every URL of the old manifest, its last
 * record's class and the strings the refresh needs, as one arena entry:
 * a class byte ('S' saved, 'G' gone, 'O' anything else), then url, path,
 * hash, etag, last_modified and content_type, each NUL-terminated (""
 * for none).  About the size of those strings a URL, so a manifest of
 * millions of URLs fits.
 */
#include <string.h>

#include "mem.h"
#include "update.h"
#include "url.h"

#ifdef PG_UNITTEST
uint64_t (*pg__update_hash)(const void *p, size_t n) = pg__hash64;
#define URL_HASH pg__update_hash
#else
#define URL_HASH pg__hash64
#endif

void pg__update_init(struct pg__update *u)
{
    memset(u, 0, sizeof(*u));
    pg__nameset_init(&u->idx);
}

void pg__update_release(struct pg__update *u)
{
    pg__nameset_release(&u->idx);
    pg_free(u->arena);
    pg_free(u->ents);
    pg_free(u->chain);
    pg__update_init(u);
}

/* ---- the map ---------------------------------------------------------- */

static enum pg_code arena_add(struct pg__update *u, char cls,
                              const char *const f[PG_UPD_NF],
                              size_t *off)
{
    size_t need = 1, i;

    for (i = 0; i < PG_UPD_NF; i++)
        need += (f[i] ? strlen(f[i]) : 0) + 1;
    if (u->len + need > u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 64 * 1024;
        char *a;

        while (cap < u->len + need)
            cap *= 2;
        a = pg_malloc(cap);
        if (!a)
            return PG_E_NOMEM;
        if (u->len)
            memcpy(a, u->arena, u->len);
        pg_free(u->arena);
        u->arena = a;
        u->cap = cap;
    }
    *off = u->len;
    u->arena[u->len++] = cls;
    for (i = 0; i < PG_UPD_NF; i++) {
        size_t n = f[i] ? strlen(f[i]) : 0;

        if (n)
            memcpy(u->arena + u->len, f[i], n);
        u->len += n;
        u->arena[u->len++] = '\0';
    }
    return PG_OK;
}

static void entry_at(const struct pg__update *u, size_t off,
                     struct pg__upd_entry *e)
{
    const char *p = u->arena + off;
    int i;

    e->cls = *p++;
    for (i = 0; i < PG_UPD_NF; i++) {
        e->f[i] = *p ? p : NULL;
        p += strlen(p) + 1;
    }
}

/* The entry + 1 of url, following the chain of its hash; 0 if none.
 * *head is the chain's first entry + 1 (0: the hash is new). */
static uint32_t lookup(const struct pg__update *u, const char *url,
                       uint32_t *head)
{
    struct pg__upd_entry e;
    uint32_t v;

    *head = 0;
    if (!pg__nameset_get(&u->idx, URL_HASH(url, strlen(url)), &v))
        return 0;
    *head = v;
    /* Two URLs with one 64-bit hash: only the URL itself decides. */
    for (; v > 0 && v <= u->n; v = u->chain[v - 1]) {
        entry_at(u, u->ents[v - 1], &e);
        if (e.f[PG_UPD_URL] && !strcmp(e.f[PG_UPD_URL], url))
            return v;
    }
    return 0;
}

int pg__update_find(const struct pg__update *u, const char *url,
                    struct pg__upd_entry *e)
{
    uint32_t head, v = url ? lookup(u, url, &head) : 0;

    if (!v)
        return 0;
    entry_at(u, u->ents[v - 1], e);
    return 1;
}

/* Unlink entry v + 1... from the chain starting at *head. */
static void unchain(struct pg__update *u, uint32_t *head, uint32_t v)
{
    uint32_t *p = head;

    while (*p && *p != v)
        p = &u->chain[*p - 1];
    if (*p)
        *p = u->chain[v - 1];
}

enum pg_code pg__update_add(struct pg__update *u, char cls,
                           const char *const f[PG_UPD_NF])
{
    size_t off;
    enum pg_code rc = arena_add(u, cls, f, &off);

    uint32_t head, old;

    if (!rc && u->n == u->n_cap) {
        size_t cap = u->n_cap ? u->n_cap * 2 : 1024;
        size_t *v = pg_malloc(cap * sizeof(*v));
        uint32_t *c = pg_malloc(cap * sizeof(*c));

        if (!v || !c) {
            pg_free(v);
            pg_free(c);
            return PG_E_NOMEM;
        }
        if (u->n) {
            memcpy(v, u->ents, u->n * sizeof(*v));
            memcpy(c, u->chain, u->n * sizeof(*c));
        }
        pg_free(u->ents);
        pg_free(u->chain);
        u->ents = v;
        u->chain = c;
        u->n_cap = cap;
    }
    if (rc || u->n >= UINT32_MAX - 1)
        return rc ? rc : PG_E_LIMIT;
    /* The last record of a URL wins; other URLs of the same hash stay
     * reachable through the chain. */
    old = lookup(u, f[PG_UPD_URL], &head);
    if (old)
        unchain(u, &head, old);
    u->ents[u->n] = off;
    u->chain[u->n++] = head;
    return pg__nameset_put(&u->idx, URL_HASH(f[PG_UPD_URL],
                                             strlen(f[PG_UPD_URL])),
                           (uint32_t)u->n);
}
