/*
 * job.c - the job's lifecycle and its main loop: feed -> frontier ->
 * pool -> finish (retry, result callback, save, manifest, discovered
 * links).  See pagegrab.h for the contract.  The input is read in
 * feed.c, discovered links are judged in crawl.c, the options are
 * checked in options.c and bodies are saved in save.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "job.h"
#include "mem.h"
#include "name.h"
#include "spool.h"
#include "url.h"
#include "util.h"

/* How often the progress callback fires while nothing finishes. */
#define TICK_MS 250

enum pg_code pg_global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return PG_E_NOMEM;
    xmlInitParser();
    pg__extract_silence();
    return PG_OK;
}

void pg_global_cleanup(void)
{
    xmlCleanupParser();
    curl_global_cleanup();
}

void pg__job_set_err(struct pg_job *job, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(job->errmsg, sizeof(job->errmsg), fmt, ap);
    va_end(ap);
}

struct pg_job *pg_job_new(const struct pg_options *o)
{
    struct pg_job *job = pg__calloc(1, sizeof(*job));

    if (!job)
        return NULL;
    pg__saver_init(&job->save);
    if (pg__options_copy(&job->opt, o)) {
        pg_free(job);
        return NULL;
    }
    o = job->o = &job->opt;
    job->save.dedup_on = o->dedup;
    job->wake[0] = job->wake[1] = -1;
    atomic_init(&job->stop_req, 0);
    atomic_init(&job->abort_now, 0);
    pg__nameset_init(&job->done);
    job->log.cb = o->log_cb;
    job->log.userdata = o->log_userdata;
    job->log.level = o->log_level;
    pg__nameset_init(&job->start_hosts);
    pg__dedup_init(&job->origins);
    pg__frontier_init(&job->fr, o->per_host, o->wait_ms, o->random_wait);
    pg__manifest_init(&job->man);
    return job;
}

void pg_job_free(struct pg_job *job)
{
    if (!job)
        return;
    if (job->pool)
        pg__pool_free(job->pool);
    pg__jar_free(job->jar);
    for (size_t i = 0; i < 3; i++)
        pg_free(job->proxy_env[i]);
    if (job->in) {
        pg__input_close(job->in);
        pg_free(job->in);
    }
    if (job->man.fd >= 0 && pg__manifest_close(&job->man) != PG_OK)
        pg__log(&job->log, PG_LOG_ERROR, "cannot write manifest '%s'",
                job->o->manifest_path);
    pg__buf_release(&job->man.line);
    pg__nameset_release(&job->start_hosts);
    pg__nameset_release(&job->done);
    if (job->wake[0] >= 0)
        close(job->wake[0]);
    if (job->wake[1] >= 0)
        close(job->wake[1]);
    pg__dedup_release(&job->origins);
    pg__frontier_release(&job->fr);
    pg__regex_list_free(job->accept);
    pg__regex_list_free(job->reject);
    pg__saver_release(&job->save);
    curl_slist_free_all(job->headers);
    pg_free(job->user_agent);
    pg__options_release(&job->opt);
    pg_free(job);
}

const char *pg_job_errmsg(const struct pg_job *job)
{
    return job->errmsg;
}

void pg_job_stats(const struct pg_job *job, struct pg_stats *st)
{
    *st = job->stats;
    if (job->t0 > 0)
        st->elapsed_s = pg__now() - job->t0;
    st->lat_p50_ms = pg__latency_percentile(&job->lat, 50);
    st->lat_p95_ms = pg__latency_percentile(&job->lat, 95);
    st->lat_p99_ms = pg__latency_percentile(&job->lat, 99);
    if (job->pool)
        st->workers_peak_rss_kb = job->pool->workers_peak_rss_kb;
}

/* ---- finishing one URL ------------------------------------------------ */

/* Stop the job: nothing new starts; `code` is what pg_job_run returns. */
void pg__job_fail(struct pg_job *job, enum pg_code code)
{
    if (job->stop)
        return;
    job->stop = 1;
    job->fatal = code;
    if (code == PG_E_NOMEM && !job->errmsg[0])
        pg__job_set_err(job, "out of memory");
    if (code == PG_E_IO && !job->errmsg[0]) {
        /* Only the frontier's spill file fails this way. */
        char errtxt[128];
        int e;
        const char *what = pg__frontier_spill_error(&job->fr, &e);

        pg__job_set_err(job, "cannot %s the queue spill file in '%s': %s",
                        what, job->o->output_dir,
                        pg__errstr(e, errtxt, sizeof(errtxt)));
        job->fatal = PG_E_FATAL;
    }
    if (job->pool) {
        /* Fatal: what is in flight is aborted now, not waited for (its
         * URLs are recorded interrupted). */
        pg__pool_cancel(job->pool);
        job->aborted = 1;
        atomic_store(&job->abort_now, 1);
        pg__pool_abort(job->pool);
    }
}

/* Whether a page that was parsed is also kept; a stylesheet is kept
 * when pages are. */
static int keep_body(const struct pg_job *job, const struct pg__item *it)
{
    int parsed = (it->res.kind == PG_KIND_PAGE &&
                  (it->flags & PG_ITEM_HTML)) ||
                 it->res.kind == PG_KIND_CSS;

    return !(parsed && (job->o->images_only || job->o->list_only));
}

/* Whether a failed attempt is worth another try. */
static int transient(const struct pg__item *it)
{
    if (it->res.status == PG_ST_NETWORK_ERROR)
        return 1;
    return it->res.status == PG_ST_HTTP_ERROR &&
           (it->res.http_code >= 500 || it->res.http_code == 408 ||
            it->res.http_code == 429);
}

/* How many worker processes one URL may take down before giving up. */
#define MAX_CRASHES 3

/*
 * Queue a failed item again if it deserves a retry: back-off doubled per
 * attempt and jittered, or the server's Retry-After, capped.  Returns 1
 * when the item was taken.
 */
static int retry(struct pg_job *job, struct pg__item *it)
{
    const struct pg_options *o = job->o;
    double delay_ms;

    if (job->stop || atomic_load(&job->stop_req) ||
        (it->flags & PG_ITEM_ROBOTS))
        return 0;
    if (it->res.status == PG_ST_WORKER_CRASH) {
        if (it->crashes >= MAX_CRASHES)
            return 0;
        delay_ms = 0;
    } else if (transient(it) && it->res.attempts <= o->retries) {
        if (it->retry_after_ms >= 0) {
            delay_ms = (double)it->retry_after_ms;
        } else {
            unsigned k = it->res.attempts > 30 ? 30 :
                         it->res.attempts < 1 ? 1 : it->res.attempts;

            delay_ms = (double)o->retry_delay_ms * (double)(1u << (k - 1));
            delay_ms *= 0.5 + (double)(pg__hash64(&it->id, sizeof(it->id)) ^
                                       (uint64_t)k * 0x9e3779b97f4a7c15ULL) /
                              18446744073709551616.0;
        }
        if (delay_ms > (double)o->max_retry_wait_ms)
            delay_ms = (double)o->max_retry_wait_ms;
    } else {
        return 0;
    }
    pg__log(&job->log, PG_LOG_INFO, "%s: %s; retry %u in %.1f s",
            it->res.url, it->error[0] ? it->error : "failed",
            it->res.attempts, delay_ms / 1000.0);
    if (it->res.tmp_name) {
        unlinkat(job->save.outdir_fd, it->res.tmp_name, 0);
        PG_FREE_CONST(it->res.tmp_name);
    }
    pg__item_reset_result(it);
    it->not_before = pg__now() + delay_ms / 1000.0;
    if (pg__frontier_defer(&job->fr, it)) {
        pg__job_fail(job, PG_E_NOMEM);
        return 0;
    }
    return 1;
}

/*
 * After a save error: is the output directory itself still usable?  If
 * not, the job stops.
 */
static void probe_outdir(struct pg_job *job)
{
    char errtxt[128];
    int err;

    if (job->stop)
        return;
    err = pg__saver_probe(&job->save);
    /* Out of descriptors or memory says nothing about the directory. */
    if (!err || err == EMFILE || err == ENFILE || err == ENOMEM)
        return;
    pg__job_set_err(job, "output directory '%s' is no longer usable: %s",
                    job->o->output_dir, pg__errstr(err, errtxt,
                                                   sizeof(errtxt)));
    pg__job_fail(job, PG_E_FATAL);
}

/* Every transfer that ran, retries included. */
static void count_transfer(struct pg_job *job, const struct pg__item *it)
{
    if (!(it->flags & PG_ITEM_CANCELLED) && it->res.time_ms > 0) {
        job->stats.transfers++;
        if (it->res.http_code > 0)
            pg__latency_add(&job->lat, it->res.time_ms);
    }
}

/*
 * What comes back before a result: a robots.txt fetch, an item never
 * started, a retry.  Returns 1 when the item was taken (or freed).
 */
static int settle(struct pg_job *job, struct pg__item *it)
{
    if (it->flags & PG_ITEM_ROBOTS) {
        /* The rules go to the item's origin, which done() forgets. */
        pg__crawl_robots_done(job, it);
        pg__frontier_done(&job->fr, it);
        pg__item_free(it);
        return 1;
    }
    pg__frontier_done(&job->fr, it);
    if ((it->flags & PG_ITEM_CANCELLED) && it->res.attempts == 0) {
        /* Never started (the job is stopping): not recorded, so that
         * --resume does it. */
        pg__item_free(it);
        return 1;
    }
    if (it->flags & PG_ITEM_CANCELLED)
        pg__item_error(it, PG_ST_INTERRUPTED, "interrupted before attempt "
                       "%u", it->res.attempts + 1);
    if (retry(job, it))
        return 1;
    if (it->res.status == PG_ST_OK && job->fatal)
        pg__item_error(it, PG_ST_SAVE_ERROR, "not saved: the job stopped "
                       "(%s)", job->errmsg);
    return 0;
}

/* Drop the spooled body of a result that is not to be kept. */
static void drop_body(struct pg_job *job, struct pg__item *it)
{
    if (it->res.tmp_name) {
        unlinkat(job->save.outdir_fd, it->res.tmp_name, 0);
        PG_FREE_CONST(it->res.tmp_name);
    }
}

/*
 * Hand the item's result to the callback: a body it is not to keep is
 * gone before (tmp_name NULL), one it did not save is gone after.
 */
static void run_callback(struct pg_job *job, struct pg__item *it)
{
    struct pg_result *r = &it->res;
    enum pg_code rc;

    if (r->status != PG_ST_OK || !keep_body(job, it))
        drop_body(job, it);
    r->error = it->error[0] ? it->error : NULL;
    r->hash = it->hash[0] ? it->hash : NULL;
    r->job = job;
    if (job->o->result_cb) {
        it->flags |= PG_ITEM_IN_CALLBACK;
        rc = job->o->result_cb(r, job->o->result_userdata);
        it->flags &= ~(unsigned)PG_ITEM_IN_CALLBACK;
        if (rc != PG_OK && !job->stop) {
            pg__job_set_err(job, "result callback failed for '%s': %s",
                            r->url, r->error ? r->error : pg_strerror(rc));
            pg__job_fail(job, rc);
        }
    }
    drop_body(job, it);
    if (pg_status_is_success(r->status))
        r->error = NULL;
}

/* Count the result and report a failure. */
static void count_result(struct pg_job *job, const struct pg__item *it)
{
    const struct pg_result *r = &it->res;

    job->stats.done++;
    if (pg_status_is_success(r->status))
        job->stats.ok++;
    else
        job->stats.failed++;
    job->stats.bytes += r->bytes;

    /* Invalid input lines were reported, with their line, in reject(). */
    if (!pg_status_is_success(r->status) && r->status != PG_ST_INVALID_URL)
        pg__log(&job->log, PG_LOG_WARN, "%s: %s", it->res.url,
                r->error ? r->error : pg_status_name(r->status));

    if (r->status == PG_ST_SAVE_ERROR)
        probe_outdir(job);
}

/* The manifest record (synced with --sync); a failure stops the job. */
static void write_record(struct pg_job *job, const struct pg_result *r)
{
    char errtxt[128];
    enum pg_code rc;

    rc = pg__manifest_write(&job->man, r);
    if (!rc && job->o->sync)
        rc = pg__manifest_sync(&job->man);
    if (rc && !job->stop) {
        pg__job_set_err(job, "cannot write manifest '%s': %s",
                        job->o->manifest_path,
                        rc == PG_E_IO ? pg__errstr(errno, errtxt,
                                                   sizeof(errtxt))
                                      : pg_strerror(rc));
        pg__job_fail(job, PG_E_FATAL);
    }
}

static void report_progress(struct pg_job *job)
{
    struct pg_stats st;

    if (!job->o->progress_cb)
        return;
    pg_job_stats(job, &st);
    job->o->progress_cb(&st, job->o->progress_userdata);
}

void pg__job_finish(struct pg__item *it, void *ud)
{
    struct pg_job *job = ud;
    size_t i;

    count_transfer(job, it);
    if (settle(job, it))
        return;
    run_callback(job, it);
    count_result(job, it);
    write_record(job, &it->res);
    for (i = 0; i < it->links.n && !job->stop; i++)
        pg__crawl_discover(job, it, &it->links.v[i]);
    report_progress(job);
    pg__item_free(it);
}

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

    while (!job->stop && pg__pool_room(job->pool)) {
        enum pg_code err;
        struct pg__item *it = pg__frontier_pop(&job->fr, pg__now(), &wake,
                                               &err);

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
            pg__pool_submit(job->pool, it);
            continue;
        }
        if (job->input_done || pg__frontier_queued(&job->fr) >= readahead ||
            !pg__feed_read(job))
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
        dropped = pg__frontier_clear(&job->fr, interrupted_retry, job);
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

/* Open the output directory and clear what earlier runs left there. */
static enum pg_code setup_outdir(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    enum pg_code rc;
    unsigned n;

    rc = pg__saver_open(&job->save, o->output_dir ? o->output_dir : ".",
                        job->errmsg, sizeof(job->errmsg));
    if (rc)
        return rc;
    pg__frontier_set_spill(&job->fr, job->save.outdir_fd, o->queue_memory);
    n = pg__spool_cleanup(job->save.outdir_fd);
    if (n)
        pg__log(&job->log, PG_LOG_INFO, "removed %u temporary file(s) "
                "left by an earlier run", n);
    return PG_OK;
}

/* The self-pipe pg_job_stop() wakes the main loop with. */
static enum pg_code setup_wake(struct pg_job *job)
{
    char errtxt[128];

    if (pipe(job->wake) < 0) {
        pg__job_set_err(job, "cannot create a pipe: %s",
                        pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    fcntl(job->wake[0], F_SETFD, FD_CLOEXEC);
    fcntl(job->wake[1], F_SETFD, FD_CLOEXEC);
    fcntl(job->wake[0], F_SETFL, O_NONBLOCK);
    fcntl(job->wake[1], F_SETFL, O_NONBLOCK);
    return PG_OK;
}

/* --resume's old manifest, then the manifest of this run. */
static enum pg_code setup_manifest(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    char errtxt[128];
    enum pg_code rc;

    if (o->resume && !o->manifest_path) {
        pg__job_set_err(job, "--resume needs --manifest FILE (the results "
                        "of the run to resume)");
        return PG_E_INVALID;
    }
    if (o->resume) {
        rc = pg__crawl_resume(job);
        if (rc)
            return rc;
    }
    if (o->manifest_path && pg__manifest_open(&job->man, o->manifest_path,
                                              o->resume)) {
        pg__job_set_err(job, "cannot create manifest '%s': %s",
                        o->manifest_path,
                        pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    return PG_OK;
}

/* Create and start the pool. */
static enum pg_code start_pool(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    struct pg__pool_config pc;
    double t_start;
    enum pg_code rc;

    memset(&pc, 0, sizeof(pc));
    if (job->in)
        pc.parent_fds[pc.n_parent_fds++] = job->in->fd;
    if (job->man.fd >= 0)
        pc.parent_fds[pc.n_parent_fds++] = job->man.fd;
    if (job->save.names_urls.fd >= 0)
        pc.parent_fds[pc.n_parent_fds++] = job->save.names_urls.fd;
    pc.mode = o->mode;
    pc.workers = o->workers;
    /* Enough queued per worker that a finished transfer is replaced
     * without waiting for the main thread. */
    pc.per_worker = o->per_worker;
    pc.depth = o->per_worker > 1 ? 2 * o->per_worker : 2;
    pc.fetch = &job->fetch;
    pc.jar = o->mode == PG_MODE_PROCESS ? job->jar : NULL;
    pc.log = &job->log;
    pc.parent_fds[pc.n_parent_fds++] = job->wake[0];
    pc.parent_fds[pc.n_parent_fds++] = job->wake[1];
    pc.wake_fd = job->wake[0];
    job->pool = pg__pool_new(&pc);
    if (!job->pool)
        return PG_E_NOMEM;
    t_start = pg__now();
    rc = pg__pool_start(job->pool);
    job->stats.startup_ms = (pg__now() - t_start) * 1000.0;
    if (rc) {
        pg__job_set_err(job, "%s", job->pool->errmsg);
        pg__pool_stop(job->pool, pg__job_finish, job);
        return PG_E_FATAL;
    }
    return PG_OK;
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
    int timeout = TICK_MS;

    if (job->interrupted && !job->aborted) {
        double ms = (job->grace_end - now) * 1000.0 + 1;

        if (ms < timeout)
            timeout = ms < 0 ? 0 : (int)ms;
    }
    if (wake > 0) {
        double ms = (wake - pg__now()) * 1000.0 + 1;

        timeout = ms < 0 ? 0 : ms < TICK_MS ? (int)ms : TICK_MS;
    }
    return timeout;
}

/* The main loop: start what may start, wait, finish what came back. */
static void run_loop(struct pg_job *job)
{
    enum pg_code rc;

    job->last_sync = pg__now();
    for (;;) {
        double wake, now;

        handle_stop(job);
        wake = fill_pool(job);
        now = pg__now();
        sync_manifest(job, now);
        if (job->pool->inflight == 0 &&
            (job->stop || (job->input_done &&
                           pg__frontier_queued(&job->fr) == 0)))
            break;
        rc = pg__pool_wait(job->pool, wait_ms(job, now, wake),
                           pg__job_finish, job);
        if (rc) {
            pg__job_set_err(job, "%s", job->pool->errmsg);
            pg__job_fail(job, PG_E_FATAL);
            break;
        }
        report_progress(job);
    }
}

/* Stop the pool, close the manifest: what pg_job_run returns. */
static enum pg_code end_run(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    char errtxt[128];

    pg__pool_stop(job->pool, pg__job_finish, job);
    pg__options_finish(job);
    if (job->fr.spill.items)
        pg__log(&job->log, PG_LOG_INFO, "frontier: spilled %llu items to "
                "disk (%llu bytes, budget %llu bytes passed %u times)",
                (unsigned long long)job->fr.spill.items,
                (unsigned long long)job->fr.spill.end,
                (unsigned long long)o->queue_memory, job->fr.spill.events);
    if (pg__manifest_close(&job->man) && !job->fatal) {
        pg__job_set_err(job, "cannot write manifest '%s': %s",
                        o->manifest_path,
                        pg__errstr(errno, errtxt, sizeof(errtxt)));
        job->fatal = PG_E_FATAL;
    }
    if (job->fatal)
        return job->fatal == PG_E_NOMEM ? PG_E_NOMEM : PG_E_FATAL;
    return job->interrupted ? PG_E_INTERRUPTED : PG_OK;
}

enum pg_code pg_job_run(struct pg_job *job)
{
    enum pg_code rc;

    if (job->ran)
        return PG_E_INVALID;
    job->ran = 1;
    job->t0 = pg__now();
    rc = pg__options_check(job);
    if (!rc)
        rc = pg__crawl_setup(job);
    if (!rc)
        rc = pg__feed_open(job);
    if (!rc)
        rc = setup_outdir(job);
    if (!rc)
        rc = setup_wake(job);
    if (!rc)
        rc = setup_manifest(job);
    if (!rc)
        rc = pg__options_fetch(job);
    if (!rc)
        rc = start_pool(job);
    if (rc)
        return rc;
    run_loop(job);
    return end_run(job);
}
