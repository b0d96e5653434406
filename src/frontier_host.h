/*
 * frontier_host.h - the frontier's origins, shared by its two files
 * (frontier_mem.c and frontier_spill.c only).
 *
 * An origin's queue is in up to three parts, in order: items in memory
 * (head..tail), runs in the spill file (segs), items in memory again
 * (bhead..btail).  frontier_mem.c keeps the queues, serves origins and
 * holds items back; frontier_spill.c writes runs to the spill file and
 * reads them back (--queue-memory).  It does not include frontier_mem.h
 * (frontier_mem.h is the module's face; this is its inside).
 */
#ifndef PG_FRONTIER_MEM_HOST_H
#define PG_FRONTIER_MEM_HOST_H

#include <stdint.h>

#include "pagegrab.h"

struct pg__memfr;
struct pg__item;
struct pg__robots;

#define ROBOTS_UNKNOWN 0
#define ROBOTS_PENDING 1
#define ROBOTS_READY 2

struct pg__host {
    struct pg__host *hnext;       /* hash chain */
    struct pg__host *rnext;       /* ready list */
    int in_ready;
    char *origin;
    uint64_t key;
    unsigned active;              /* popped and not done */
    double next_start;            /* none starts before (--wait,
                                     Crawl-delay, a Retry-After hold) */
    double last_start;            /* the latest start */
    double gap;                   /* --wait / Crawl-delay chosen at the
                                     latest start, 0 = none */
    long delay_ms;                /* robots.txt's Crawl-delay, 0 = none */
    int robots_state;
    struct pg__robots *robots;
    struct pg__item *head, *tail; /* in memory, before any on disk */
    struct pg__seg *segs, *segs_tail; /* then on disk, in order */
    struct pg__item *bhead, *btail; /* then in memory again; empty
                                       whenever segs is */
};

/* A run of one origin's items in the spill file. */
struct pg__seg {
    struct pg__seg *next;
    uint64_t off, bytes, count;
};

/* What an item in memory costs, roughly (allocator overhead too). */
uint64_t pg__memfr_item_cost(const struct pg__item *it);

/* Put it at the tail of h's first in-memory part, and count it. */
void pg__memfr_append(struct pg__memfr *f, struct pg__host *h,
                         struct pg__item *it);

/*
 * Write the queued untried items of every origin to the spill file
 * (frontier_spill.c).  PG_E_NOMEM, or PG_E_IO (see spill.err_what).
 */
enum pg_code pg__memfr_spill_all(struct pg__memfr *f) PG_WARN_UNUSED;

/*
 * h has nothing in memory before its runs: read a batch of its first
 * run back (frontier_spill.c).
 */
enum pg_code pg__memfr_load(struct pg__memfr *f, struct pg__host *h)
    PG_WARN_UNUSED;

#endif
