/*
 * hashmap.h - an open-addressing map from 64-bit hashes to 32-bit
 * values (struct pg__nameset), and the --dedup index on top of it
 * (struct pg__dedup).  Used by the saver (save.c: saved names, bodies),
 * the frontier (URLs seen) and the job (input hosts, --resume).  Not
 * thread-safe: each map has one owner.
 */
#ifndef PG_HASHMAP_H
#define PG_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

#include "pagegrab.h"

/*
 * A map from 64-bit hashes to 32-bit values (open addressing, load at
 * most 3/4): 12 bytes a slot (8 for a set of keys only).
 */
struct pg__nameset {
    uint64_t *keys;  /* name hash, 0 = empty slot */
    uint32_t *vals;  /* e.g. a fold of the URL hash (pg__hash_fold32);
                        NULL in a set of keys only */
    size_t cap;      /* power of two */
    size_t used;
    int keys_only;   /* pg__nameset_init_keys(): 8 bytes a slot */
};

/*
 * --dedup: which body (by SHA-256) this job saved under which path.
 * Main thread only.
 */
struct pg__dedup {
    struct pg__nameset idx;  /* hash of the hex digest -> index + 1 */
    char **hex;
    char **path;
    size_t n, cap;
};

void pg__dedup_init(struct pg__dedup *d);
void pg__dedup_release(struct pg__dedup *d);
/* The path saved for this digest, or NULL. */
const char *pg__dedup_find(const struct pg__dedup *d, const char *hex);
enum pg_code pg__dedup_add(struct pg__dedup *d, const char *hex,
                           const char *path) PG_WARN_UNUSED;

void pg__nameset_init(struct pg__nameset *s);
/* A set of keys without values (get() gives 1, put() drops the value):
 * a third less memory, for a set of URLs seen. */
void pg__nameset_init_keys(struct pg__nameset *s);
void pg__nameset_release(struct pg__nameset *s);
/* 1 and *val when name_hash is present, else 0. */
int pg__nameset_get(const struct pg__nameset *s, uint64_t name_hash,
                    uint32_t *val);
enum pg_code pg__nameset_put(struct pg__nameset *s, uint64_t name_hash,
                             uint32_t val) PG_WARN_UNUSED;

/* A 64-bit hash folded to 32 bits, to be kept as a nameset value. */
static inline uint32_t pg__hash_fold32(uint64_t h)
{
    return (uint32_t)(h ^ (h >> 32));
}

#endif
