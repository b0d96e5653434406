/*
 * frontier.h - what is left to fetch: one interface, two backends.
 *
 *  - memory (frontier.c over frontier_mem.c): this process's queues,
 *    per-host limits, robots.txt holds and the seen set; one instance.
 *  - redis (frontier_redis.c, scripts in redis_lua.c, the connection in
 *    redis.c): one queue, seen set, per-host politeness and counters
 *    shared by every instance of a job through a Redis server.  Only
 *    the main thread talks to Redis.  A claimed URL is leased (a
 *    deadline in Redis server time, renewed while it runs); an expired
 *    lease is reclaimed by any instance and retried, and a URL whose
 *    leases expired max_claims times ends failed (the dead list).  A
 *    page's result and its links are recorded in one Lua script, so a
 *    link is queued once by the whole job and none is lost.  Claimed
 *    items wait in a local memory frontier (per_host 0, no wait: Redis
 *    already judged politeness) for their origin's robots.txt, which
 *    each instance fetches for itself, and for their retries.
 *
 * Contract (both backends), main thread only:
 *  - pop() hands out an item; it comes back through done() (its
 *    transfer ended), then defer() (a retry) or, once its final state is
 *    recorded, complete().  Links of a page are see()n and push()ed, or
 *    record()ed, between its done() and its complete().
 *  - The job ends when finished() says so: memory, when nothing is
 *    queued; redis, when the job's counters say nothing is queued or
 *    leased and seeding is done (or `pagegrab fleet stop`).
 */
#ifndef PG_FRONTIER_H
#define PG_FRONTIER_H

#include <stdatomic.h>
#include <stdint.h>

#include "frontier_mem.h"
#include "item.h"
#include "log.h"

struct pg__frontier;

struct pg__frontier_config {
    unsigned per_host;        /* 0 = no limit */
    long wait_ms;
    int random_wait;
    int spill_dirfd;          /* memory: --queue-memory spill, -1 = never */
    uint64_t spill_budget;

    /* redis (url NULL: memory). */
    const char *url;          /* redis://HOST[:PORT][/DB] */
    const char *job;          /* the job's name (pg__frontier_job_ok) */
    const char *shape;        /* crawl-shaping options, canonical text */
    unsigned lease_s;         /* lease length */
    unsigned max_claims;      /* leases a URL may take before it is dead */
    int seeding;              /* this instance has input URLs to seed */
    const struct pg__logger *log;
    atomic_int *stop_req;     /* the job's stop request: a connection
                                 retry gives up once it is set */

    /* What the frontier hands back to the job. */
    void (*record)(struct pg__item *it, void *ud); /* a new record()ed
                                 item, or a URL that ended dead: record
                                 it (ownership passes) */
    uint64_t (*next_id)(void *ud);
    void (*scope)(const char *host, void *ud); /* an input host of the
                                 job (redis: from another instance) */
    void *ud;
};

struct pg__frontier_backend {
    enum pg_code (*start)(struct pg__frontier *f);
    int (*see)(struct pg__frontier *f, const char *url);
    enum pg_code (*push)(struct pg__frontier *f, struct pg__item *it);
    void (*record)(struct pg__frontier *f, struct pg__item *it);
    struct pg__item *(*pop)(struct pg__frontier *f, double now, size_t room,
                            double *wake, enum pg_code *err);
    enum pg_code (*defer)(struct pg__frontier *f, struct pg__item *it);
    void (*done)(struct pg__frontier *f, struct pg__item *it);
    void (*complete)(struct pg__frontier *f, struct pg__item *it);
    enum pg_code (*hold)(struct pg__frontier *f, const struct pg__item *it,
                         long ms);
    void (*gap)(struct pg__frontier *f, const char *url, long ms); /* url's
                                 origin has a Crawl-delay of ms */
    size_t (*clear)(struct pg__frontier *f,
                    void (*keep)(struct pg__item *it, void *ud), void *ud);
    int (*finished)(struct pg__frontier *f, double now, double *wake);
    void (*input_done)(struct pg__frontier *f);
    void (*tick)(struct pg__frontier *f, double now);
    enum pg_code (*add_scope)(struct pg__frontier *f, const char *host);
    void (*free)(struct pg__frontier *f);
};

/* The common part; the redis backend embeds it first. */
struct pg__frontier {
    const struct pg__frontier_backend *be;
    struct pg__frontier_config cfg;
    struct pg__memfr mem;     /* memory: the queue; redis: the local
                                 stage */
    enum pg_code fatal;       /* set with errmsg when the backend cannot
                                 go on (redis refused the job) */
    char errmsg[PG_ERRBUF_SIZE];
};

/* A new frontier (redis when cfg->url is set); NULL on out of memory. */
struct pg__frontier *pg__frontier_new(const struct pg__frontier_config *cfg);
struct pg__frontier *pg__frontier_redis_new(void);

/*
 * Connect and join the job (redis): PG_E_INVALID (options differ from
 * the job's, a stopped job) or PG_E_FATAL with errmsg set.
 */
enum pg_code pg__frontier_start(struct pg__frontier *f) PG_WARN_UNUSED;

/* 1 when this frontier is shared (redis). */
int pg__frontier_shared(const struct pg__frontier *f);


/*
 * Mark url (normalised) seen: 1 if new, 0 if seen before, -1 on out of
 * memory.  redis: always 1; the job's seen set decides when the link is
 * pushed (at complete()) or the seeds are sent.
 */
int pg__frontier_see(struct pg__frontier *f, const char *url);

/* Queue an item (ownership passes): see pg__memfr_push. */
enum pg_code pg__frontier_push(struct pg__frontier *f, struct pg__item *it)
    PG_WARN_UNUSED;

/*
 * A discovered link in its final state without a fetch (filtered): it
 * goes to cfg.record if it is new to the job (memory: at once), else it
 * is freed.
 */
void pg__frontier_record(struct pg__frontier *f, struct pg__item *it);

/* The next item that may start: see pg__memfr_pop; room: how many the
 * pool takes now (redis claims no more). */
struct pg__item *pg__frontier_pop(struct pg__frontier *f, double now,
                                  size_t room, double *wake,
                                  enum pg_code *err);

enum pg_code pg__frontier_defer(struct pg__frontier *f, struct pg__item *it)
    PG_WARN_UNUSED;
void pg__frontier_done(struct pg__frontier *f, struct pg__item *it);

/*
 * it is in its final state and recorded (or it was never started):
 * redis commits its result and the links pushed since its done(), or
 * gives its lease back when it was interrupted.  The item stays the
 * caller's.
 */
void pg__frontier_complete(struct pg__frontier *f, struct pg__item *it);

/*
 * A Retry-After of ms from it's origin: no request starts there for ms
 * (redis: from any instance); running ones go on.  PG_E_NOMEM.
 */
enum pg_code pg__frontier_hold(struct pg__frontier *f,
                               const struct pg__item *it, long ms)
    PG_WARN_UNUSED;

size_t pg__frontier_clear(struct pg__frontier *f,
                          void (*keep)(struct pg__item *it, void *ud),
                          void *ud);

/*
 * The input is read and nothing is queued locally: 1 when the job is
 * over; else 0 and *wake (if not 0) is when to ask again.
 */
int pg__frontier_finished(struct pg__frontier *f, double now, double *wake);

/* Every input URL was pushed (redis: seeding done, once). */
void pg__frontier_input_done(struct pg__frontier *f);

/*
 * host is an input URL's host (in scope for followed pages): redis
 * tells every instance (cfg.scope), with the next seeds.
 */
enum pg_code pg__frontier_add_scope(struct pg__frontier *f, const char *host)
    PG_WARN_UNUSED;

/* Called from the main loop: redis renews leases. */
void pg__frontier_tick(struct pg__frontier *f, double now);

/*
 * The robots.txt of robots_item's origin came (rules taken over; NULL:
 * allow all).  Its Crawl-delay, if any, becomes the origin's smallest
 * gap between two starts (redis: for every instance).
 */
void pg__frontier_set_robots(struct pg__frontier *f,
                             const struct pg__item *robots_item,
                             struct pg__robots *rules);

/* Queued locally (not counting running ones). */
size_t pg__frontier_queued(const struct pg__frontier *f);

void pg__frontier_free(struct pg__frontier *f);

/* 1 when name is a valid --job name: 1-64 of [A-Za-z0-9._-]. */
int pg__frontier_job_ok(const char *name);

#endif
