/*
 * job_loop.c - the job's main loop: start what may start (frontier ->
 * pool, --quota and --max-pages, the network flags of a transfer), wait,
 * hand what came back to pg__job_finish() (job.c), act on pg_job_stop(),
 * and end when the frontier says the job is over.
 */
#include <errno.h>
#include <unistd.h>

#include "job.h"
#include "mem.h"
#include "url.h"
#include "util.h"

/* How often the progress callback fires while nothing finishes. */
#define TICK_MS 250

/* --quota and --max-pages: an item that may not start is skipped. */
static int limit_reached(struct pg_job *job, struct pg__item *it)
{
    const struct pg_options *o = job->o;

    if (it->flags & PG_ITEM_ROBOTS)
        return 0;
    if (o->quota && job->stats.bytes >= o->quota) {
        pg__item_error(it, PG_ST_SKIPPED, "--quota of %llu bytes reached",
                       (unsigned long long)o->quota);
        return 1;
    }
    if (it->res.kind == PG_KIND_PAGE && o->max_pages &&
        !(it->flags & PG_ITEM_COUNTED)) {
        it->flags |= PG_ITEM_COUNTED;
        if (job->pages_started >= o->max_pages) {
            pg__item_error(it, PG_ST_SKIPPED, "--max-pages %llu reached",
                           (unsigned long long)o->max_pages);
            return 1;
        }
        job->pages_started++;
    }
    return 0;
}

/*
 * What a transfer may do on the network: custom headers only on an
 * input origin (defect: they went to every origin), and without
 * --allow-private no private address after a public one (a public URL
 * redirecting to a private address).  -1 on out of memory.
 */
static int set_net_flags(struct pg_job *job, struct pg__item *it)
{
    char *origin;

    it->flags &= ~(unsigned)(PG_ITEM_HEADERS | PG_ITEM_GUARD);
    if (!job->o->allow_private)
        it->flags |= PG_ITEM_GUARD;
    if (!job->headers)
        return 0;
    origin = pg__url_origin(it->url);
    if (!origin)
        return -1;
    if (pg__dedup_find(&job->origins, origin))
        it->flags |= PG_ITEM_HEADERS;
    pg_free(origin);
    return 0;
}

/*
 * Start what may start: frontier items while the pool has room, reading
 * more input only while few items are queued (so a list of millions is
 * never held in memory).  Returns the time a held-back item may start,
 * or 0.
 */
static double fill_pool(struct pg_job *job)
{
    size_t readahead = (size_t)job->o->workers * job->o->per_worker * 4 + 16;
    double wake = 0;
    int told = 0;

    while (!job->stop && pg__pool_room(job->pool)) {
        enum pg_code err;
        struct pg__item *it = pg__frontier_pop(job->fr, pg__now(),
                                               pg__pool_room(job->pool),
                                               &wake, &err);

        if (err) {
            pg__job_fail(job, err);
            break;
        }
        if (it && (it->res.status == PG_ST_ROBOTS ||
                   (it->flags & PG_ITEM_NOFETCH))) {
            if (it->res.status == PG_ST_OK)
                it->res.status = PG_ST_LISTED;
            pg__job_finish(it, job);
            continue;
        }
        if (it && limit_reached(job, it)) {
            pg__job_finish(it, job);
            continue;
        }
        if (it) {
            if (set_net_flags(job, it)) {
                pg__item_free(it);
                pg__job_fail(job, PG_E_NOMEM);
                break;
            }
            pg__update_attach(job, it);
            pg__pool_submit(job->pool, it);
            continue;
        }
        if (!job->input_done &&
            pg__frontier_queued(job->fr) < readahead && pg__feed_read(job))
            continue;
        if (job->input_done && !told) {
            /* A shared frontier sends its last seeds now: they may be
             * claimed in this pass (not after its idle poll). */
            told = 1;
            pg__frontier_input_done(job->fr);
            wake = 0;
            continue;
        }
        break;
    }
    return wake;
}

void pg_job_stop(struct pg_job *job, int now)
{
    int want = now ? 2 : 1, cur = atomic_load(&job->stop_req);
    int saved = errno;

    /* Only ever raise the request; a second soft request means now. */
    if (cur >= 1 && !now)
        want = 2;
    while (cur < want &&
           !atomic_compare_exchange_weak(&job->stop_req, &cur, want))
        ;
    if (job->wake[1] >= 0 && write(job->wake[1], "", 1) < 0) {
        /* The pipe is full: the main loop is awake anyway. */
    }
    errno = saved;
}

/* A retry that was waiting when the job stopped: record where it is. */
static void interrupted_retry(struct pg__item *it, void *ud)
{
    pg__item_error(it, PG_ST_INTERRUPTED, "interrupted before attempt %u",
                   it->res.attempts + 1);
    pg__job_finish(it, ud);
}

/* Act on pg_job_stop(): stop starting, then abort after the grace. */
static void handle_stop(struct pg_job *job)
{
    int req = atomic_load(&job->stop_req);
    char drain[64];

    while (job->wake[0] >= 0 && read(job->wake[0], drain, sizeof(drain)) > 0)
        ;
    if (req == 0)
        return;
    if (!job->interrupted) {
        size_t dropped;

        job->interrupted = 1;
        job->stop = 1;
        job->grace_end = pg__now() + (double)job->o->grace_ms / 1000.0;
        /* Queued URLs were never started: not recorded, so --resume
         * does them. */
        dropped = pg__frontier_clear(job->fr, interrupted_retry, job);
        pg__pool_cancel(job->pool);
        pg__log(&job->log, PG_LOG_WARN, "stopping: %zu transfer(s) to "
                "finish (up to %.0f s; again to abort), %zu not started",
                job->pool->inflight, (double)job->o->grace_ms / 1000.0,
                dropped);
    }
    if (!job->aborted && (req >= 2 || pg__now() >= job->grace_end)) {
        job->aborted = 1;
        atomic_store(&job->abort_now, 1);
        pg__pool_abort(job->pool);
    }
}


/* Records reach the disk within a second, --sync or not. */
static void sync_manifest(struct pg_job *job, double now)
{
    if (now - job->last_sync < 1.0)
        return;
    job->last_sync = now;
    if (pg__manifest_sync(&job->man) != PG_OK)
        pg__log(&job->log, PG_LOG_WARN, "cannot sync manifest '%s'",
                job->o->manifest_path);
}

/* How long the loop may wait: a tick, less for the grace or a retry. */
static int wait_ms(const struct pg_job *job, double now, double wake)
{
    int timeout = TICK_MS, hook = pg__exec_timeout(&job->exec, now);

    if (job->interrupted && !job->aborted) {
        double ms = (job->grace_end - now) * 1000.0 + 1;

        if (ms < timeout)
            timeout = ms < 0 ? 0 : (int)ms;
    }
    if (wake > 0) {
        double ms = (wake - pg__now()) * 1000.0 + 1;

        timeout = ms < 0 ? 0 : ms < TICK_MS ? (int)ms : TICK_MS;
    }
    return hook >= 0 && hook < timeout ? hook : timeout;
}

/*
 * Whether the job is over: nothing running, and stopping or the
 * frontier done (a shared one asks the job's counters; *wake is when to
 * ask again).
 */
static int over(struct pg_job *job, double now, double *wake)
{
    double fw = 0;

    if (job->fr->fatal && !job->stop) {
        pg__job_set_err(job, "%s", job->fr->errmsg);
        pg__job_fail(job, job->fr->fatal);
    }
    /* Running hooks keep the job, stopping or not (exec.c ends them). */
    if (job->pool->inflight > 0 || pg__exec_busy(&job->exec))
        return 0;
    if (job->stop)
        return 1;
    if (!job->input_done || pg__frontier_queued(job->fr) > 0)
        return 0;
    if (pg__frontier_finished(job->fr, now, &fw))
        return 1;
    if (fw > 0 && (*wake == 0 || fw < *wake))
        *wake = fw;
    return 0;
}

/* The main loop: start what may start, wait, finish what came back. */
void pg__job_run_loop(struct pg_job *job)
{
    enum pg_code rc;

    job->last_sync = pg__now();
    for (;;) {
        double wake, now;

        handle_stop(job);
        pg__exec_poll(&job->exec, job->stop, HOOK_STOP(job));
        /* Too many saved files wait for their hooks: no new transfer. */
        wake = pg__exec_full(&job->exec) ? 0 : fill_pool(job);
        now = pg__now();
        sync_manifest(job, now);
        pg__frontier_tick(job->fr, now);
        if (job->input_done)
            pg__frontier_input_done(job->fr);
        if (over(job, now, &wake))
            break;
        /* Nothing recorded waits while the loop sleeps: the records of
         * this pass go out in one write() (manifest.h). */
        pg__job_flush_manifest(job);
        /* The results of one wait trust a directory checked once. */
        pg__dircache_pass(&job->save.dirs);
        rc = pg__pool_wait(job->pool, wait_ms(job, now, wake),
                           pg__job_finish, job);
        pg__job_flush_manifest(job);
        if (rc) {
            pg__job_set_err(job, "%s", job->pool->errmsg);
            pg__job_fail(job, PG_E_FATAL);
            break;
        }
        pg__job_progress(job);
    }
}

