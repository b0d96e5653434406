/*
 * pool.h - the worker pool interface, with a thread backend
 * (pool_thread.c) and a pre-forked process backend (pool_proc.c).
 *
 * Contract (both backends):
 *  - All pool calls are made from the job's main thread.
 *  - pg__pool_submit() hands an item to the pool; it comes back exactly
 *    once, through the done callback of pg__pool_wait() or
 *    pg__pool_stop(), with its result filled in - also when a worker
 *    died (the item then carries the error).  Nothing is lost.
 *  - The done callback runs in the main thread, never under a pool lock,
 *    and takes ownership of the item.
 *  - Workers only fetch; they never touch the manifest, the frontier or
 *    the final file names.
 *  - Process mode: the parent stays single-threaded, so a worker can be
 *    (re)forked at any time.
 */
#ifndef PG_POOL_H
#define PG_POOL_H

#include "fetch.h"
#include "item.h"
#include "log.h"
#include "pagegrab.h"

#define PG__POOL_MAX_PARENT_FDS 16

struct pg__pool_config {
    enum pg_mode mode;
    unsigned workers;
    unsigned depth;          /* items queued per worker, >= 1 */
    unsigned per_worker;     /* transfers per worker (multi if > 1) */
    const struct pg__fetch_config *fetch;
    struct pg__jar *jar;     /* process mode: the parent's cookies, which
                                workers start from and it relays; NULL:
                                no relay */
    const struct pg__logger *log;
    /* Closed in worker processes, also in ones re-forked long after
     * the caller's frame is gone: so the config holds them by value. */
    int parent_fds[PG__POOL_MAX_PARENT_FDS];
    size_t n_parent_fds;
    int wake_fd;             /* also polled by wait(); -1 if none */
    int wake_fd2;            /* another (--exec hooks), or -1 */
};

typedef void (*pg__pool_done_cb)(struct pg__item *it, void *userdata);

struct pg__pool;

struct pg__pool_backend {
    enum pg_code (*start)(struct pg__pool *p);
    void (*submit)(struct pg__pool *p, struct pg__item *it);
    enum pg_code (*wait)(struct pg__pool *p, int timeout_ms,
                         pg__pool_done_cb cb, void *ud);
    void (*abort)(struct pg__pool *p);
    void (*cancel)(struct pg__pool *p);
    void (*stop)(struct pg__pool *p, pg__pool_done_cb cb, void *ud);
    void (*free)(struct pg__pool *p);
};

/* The common part; each backend embeds it first. */
struct pg__pool {
    const struct pg__pool_backend *be;
    struct pg__pool_config cfg;
    size_t inflight;          /* submitted and not yet handed back */
    uint64_t workers_peak_rss_kb; /* process mode: sum over reaped
                                     worker processes */
    atomic_uint window_peak;  /* the widest window of a worker (fetch.c),
                                 0 without one: pg__pool_window() */
    char errmsg[PG_ERRBUF_SIZE];
};

/* A worker's window grew to window (any thread): kept if the widest. */
void pg__pool_window(struct pg__pool *p, unsigned window);

/* A new pool of the configured mode; NULL on out of memory. */
struct pg__pool *pg__pool_new(const struct pg__pool_config *cfg);

/* Start the workers.  PG_E_WORKER with errmsg set if none could start. */
enum pg_code pg__pool_start(struct pg__pool *p) PG_WARN_UNUSED;

/* How many more items the pool takes now without blocking. */
size_t pg__pool_room(const struct pg__pool *p);

/* Hand an item over (see the contract above). */
void pg__pool_submit(struct pg__pool *p, struct pg__item *it);

/*
 * Wait up to timeout_ms (-1 = until something happens, or until
 * cfg.wake_fd is readable) and hand back every finished item through cb.  PG_E_WORKER if the pool broke down
 * (errmsg set); items are still all handed back eventually.
 */
enum pg_code pg__pool_wait(struct pg__pool *p, int timeout_ms,
                           pg__pool_done_cb cb, void *ud) PG_WARN_UNUSED;

/*
 * Abort every running transfer (the job's abort flag is set); the items
 * come back through wait() as interrupted.
 */
void pg__pool_abort(struct pg__pool *p);

/*
 * Start nothing more: items handed over but not yet started come back
 * through wait() flagged PG_ITEM_CANCELLED, unfetched.
 */
void pg__pool_cancel(struct pg__pool *p);

/* Stop and join/reap every worker; hand back any item still held. */
void pg__pool_stop(struct pg__pool *p, pg__pool_done_cb cb, void *ud);

/* Free a stopped pool; NULL is a no-op. */
void pg__pool_free(struct pg__pool *p);

/* Backend constructors. */
struct pg__pool *pg__pool_thread_new(void);
struct pg__pool *pg__pool_proc_new(void);

#endif
