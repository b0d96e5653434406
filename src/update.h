/*
 * update.h - the update map of --update: the old manifest's last record
 * of every URL, as much of it as the refresh needs (refresh.c fills it
 * and uses it; it is declared with the job's other steps in job.h).
 *
 * Each URL is one arena entry: a class byte ('S' saved, 'G' gone, 'O'
 * anything else), then the URL, path, hash, etag, last_modified and
 * content type, NUL-terminated ("" for none), found through a map from
 * the URL's 64-bit hash (the URL itself is compared).  About the size of
 * those strings a URL, so a manifest of millions of URLs fits.  Main
 * thread only.
 */
#ifndef PG_UPDATE_H
#define PG_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "hashmap.h"

/* The strings of an entry. */
enum { PG_UPD_URL, PG_UPD_PATH, PG_UPD_HASH, PG_UPD_ETAG, PG_UPD_LM,
       PG_UPD_CTYPE, PG_UPD_NF };

struct pg__upd_entry {
    char cls;                    /* 'S', 'G' or 'O' */
    const char *f[PG_UPD_NF];    /* NULL for none; valid until the next
                                    pg__update_add() */
};

struct pg__update {
    struct pg__nameset idx;  /* hash of the URL -> entry + 1 */
    char *arena;             /* the entries' bytes */
    size_t len, cap;
    size_t *ents;            /* each entry's offset in arena */
    uint32_t *chain;         /* per entry: the entry + 1 of another URL
                                with the same hash, 0 = none */
    size_t n, n_cap;
    uint64_t mark_line;      /* the last update-run marker's line, 0 */
    uint64_t mark_lines;     /* lines read (markers included) */
};

void pg__update_init(struct pg__update *u);
void pg__update_release(struct pg__update *u);

/* Add (or, for a URL already there, replace) the entry of
 * f[PG_UPD_URL].  PG_E_NOMEM, PG_E_LIMIT. */
enum pg_code pg__update_add(struct pg__update *u, char cls,
                           const char *const f[PG_UPD_NF]) PG_WARN_UNUSED;

/* The entry of url into *e: 1, or 0 when there is none. */
int pg__update_find(const struct pg__update *u, const char *url,
                    struct pg__upd_entry *e);

#ifdef PG_UNITTEST
/* The hash the map keys URLs by (a test makes every URL collide). */
extern uint64_t (*pg__update_hash)(const void *p, size_t n);
#endif

#endif
