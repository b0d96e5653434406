/*
 * frontier_mem.h - the in-memory frontier: what is left to fetch, and
 * when it may be fetched, in this process.  It is the memory backend of
 * frontier.h, and the Redis backend's local stage (claimed items waiting
 * for their robots.txt or a retry).
 *
 * The frontier belongs to the job's main thread.  It keeps a FIFO of
 * queued items per origin ("scheme://host:port"), serves origins round
 * robin, and holds an item back while its origin is at the --per-host
 * limit, inside its gap (the larger of --wait, jittered by --random-wait,
 * and its robots.txt's Crawl-delay, from the previous start there, the
 * robots.txt fetch included), held (a Retry-After: pg__memfr_hold), or
 * waiting for its robots.txt.  It
 * also remembers every URL it has seen (64-bit hashes: 8 bytes a slot),
 * so a discovered link is fetched at most once per run.
 *
 * robots.txt: an item flagged PG_ITEM_ROBOTS_CHECK (a discovered link)
 * needs its origin's rules.  The first time one comes up, pop() returns
 * a robots.txt fetch for that origin instead (flag PG_ITEM_ROBOTS) and
 * holds the origin until pg__memfr_set_robots().  A disallowed item
 * is popped with status PG_ST_ROBOTS, to be recorded, not fetched.
 * An item flagged PG_ITEM_NOFETCH (--list) is popped as soon as robots
 * allow it, regardless of limits and waits, to be recorded.
 *
 * Memory: the items queued in memory (structs and strings) are counted.
 * With a spill budget set (pg__memfr_set_spill) and passed, queued
 * untried items are written to one append-only file in the output
 * directory (created ".pagegrab-PID-...part" and unlinked at once) as
 * runs per origin, and read back in small batches when their origin
 * comes up, so per-origin FIFO order and every limit hold as before.
 * Under the budget nothing is written.  Deferred retries and items
 * already tried stay in memory.
 */
#ifndef PG_FRONTIER_MEM_H
#define PG_FRONTIER_MEM_H

#include <stdint.h>

#include "hashmap.h"
#include "item.h"
#include "robots.h"

struct pg__host;

/* What the frontier spilled (for the job's log). */
struct pg__memfr_spill {
    int dirfd;                /* output directory, -1 = never spill */
    int fd;                   /* the spill file, -1 until first needed */
    uint64_t budget;          /* bytes of queued items in memory */
    uint64_t end;             /* bytes written so far */
    uint64_t seq;             /* name sequence for pg__spool_create */
    uint64_t items;           /* items written (a re-spill counts again) */
    uint64_t on_disk;         /* items now only on disk */
    unsigned events;          /* times the budget was passed */
    int err_no;               /* errno of the failed call */
    const char *err_what;     /* "create", "write" or "read" */
};

struct pg__memfr {
    struct pg__host **tab;    /* origin hash table, chained */
    size_t tab_cap;
    size_t n_hosts;
    struct pg__host *ready_head, *ready_tail; /* origins with items */
    size_t queued;
    struct pg__nameset seen;
    struct pg__item **heap;   /* deferred retries, by not_before */
    size_t n_heap, cap_heap;

    unsigned per_host;        /* 0 = no limit */
    long wait_ms;
    int random_wait;
    uint64_t rng;
    uint64_t own_ids;             /* robots.txt items made (their ids) */

    uint64_t mem;             /* bytes of queued items in memory */
    struct pg__memfr_spill spill;

    /* Called by clear() for each item never tried, before it is freed
     * (the shared frontier gives its lease back); NULL = none. */
    void (*on_drop)(struct pg__item *it, void *ud);
    void *drop_ud;
};

void pg__memfr_init(struct pg__memfr *f, unsigned per_host,
                       long wait_ms, int random_wait);
void pg__memfr_release(struct pg__memfr *f);

/*
 * Spill queued items to a file in dirfd (borrowed, kept open by the
 * caller) once more than budget bytes of them are in memory; budget 0
 * never spills.  The file is created at the first spill.
 */
void pg__memfr_set_spill(struct pg__memfr *f, int dirfd,
                            uint64_t budget);

/*
 * After PG_E_IO from push or pop: what failed ("create", "write" or
 * "read") and its errno in *err_no.
 */
const char *pg__memfr_spill_error(const struct pg__memfr *f,
                                     int *err_no);

/*
 * Mark url (normalised) seen.  Returns 1 if it was new, 0 if it had been
 * seen before, -1 on out of memory.
 */
int pg__memfr_see(struct pg__memfr *f, const char *url);

/*
 * Queue an item (ownership passes).  PG_E_NOMEM, or PG_E_IO when the
 * spill file cannot be written (item not taken; nothing queued is lost).
 */
enum pg_code pg__memfr_push(struct pg__memfr *f, struct pg__item *it)
    PG_WARN_UNUSED;

/*
 * The next item that may start at time `now` (monotonic seconds), or
 * NULL.  When NULL and items are queued, *wake is the time the earliest
 * held-back item may start (0 if only a running transfer can free one).
 * PG_E_NOMEM or PG_E_IO (spill file unreadable) sets *err.  The
 * returned item is counted as running on its origin until
 * pg__memfr_done(), unless its status is PG_ST_ROBOTS.
 */
struct pg__item *pg__memfr_pop(struct pg__memfr *f, double now,
                                  double *wake, enum pg_code *err);

/*
 * Queue an item again at it->not_before (a retry); ownership passes.
 * It goes to the front of its origin's queue once due.  PG_E_NOMEM
 * (item not taken).
 */
enum pg_code pg__memfr_defer(struct pg__memfr *f, struct pg__item *it)
    PG_WARN_UNUSED;

/*
 * Empty the frontier (a stopping job): items never tried are freed and
 * counted in the return value; items already tried (a deferred retry)
 * are handed to keep, which takes them.
 */
size_t pg__memfr_clear(struct pg__memfr *f,
                          void (*keep)(struct pg__item *it, void *ud),
                          void *ud);

/* A popped item finished (or was never started) at `now` (the clock of
 * pop()): a spaced origin's gap runs from then. */
void pg__memfr_done(struct pg__memfr *f, struct pg__item *it, double now);

/*
 * The robots.txt of the origin of `robots_item` is known at `now`:
 * rules is taken over (NULL means allow all); its Crawl-delay runs from
 * then.
 */
void pg__memfr_set_robots(struct pg__memfr *f,
                             const struct pg__item *robots_item,
                             struct pg__robots *rules, double now);

/*
 * A Retry-After: no item of url's origin starts before `until` (the
 * clock of pop()); running ones go on, and items recorded without a
 * fetch (robots, --list) still come out.  PG_E_NOMEM.
 */
enum pg_code pg__memfr_hold(struct pg__memfr *f, const char *url,
                            double until) PG_WARN_UNUSED;

/* The Crawl-delay of a popped item's origin (ms), 0 if none. */
long pg__memfr_delay_ms(const struct pg__item *it);

/* Queued and deferred items (not counting running ones). */
size_t pg__memfr_queued(const struct pg__memfr *f);

/* The origin of a normalised URL: length of "scheme://host[:port]". */
size_t pg__url_origin_len(const char *url);

#endif
