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

#include "hold.h"
#include "job.h"
#include "mem.h"
#include "name.h"
#include "spool.h"
#include "url.h"
#include "util.h"

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
    pg_options_tune(&job->opt);
    o = job->o = &job->opt;
    job->save.dedup_on = o->dedup;
    job->wake[0] = job->wake[1] = -1;
    atomic_init(&job->stop_req, 0);
    atomic_init(&job->abort_now, 0);
    pg__nameset_init(&job->done);
    pg__update_init(&job->upd);
    job->log.cb = o->log_cb;
    job->log.userdata = o->log_userdata;
    job->log.level = o->log_level;
    pg__nameset_init(&job->start_hosts);
    pg__dedup_init(&job->origins);
    pg__manifest_init(&job->man);
    pg__divert_init(&job->divert);
    job->shard_by_host = pg__shard_by_host(o);
    pg__exec_init(&job->exec, o, job, &job->log, &job->stats);
    return job;
}

void pg_job_free(struct pg_job *job)
{
    if (!job)
        return;
    if (job->pool)
        pg__pool_free(job->pool);
    pg__holds_free(job->fetch.holds);
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
    pg__crawl_divert_close(job);
    pg__exec_release(&job->exec);
    pg__nameset_release(&job->start_hosts);
    pg__nameset_release(&job->done);
    pg__update_release(&job->upd);
    if (job->wake[0] >= 0)
        close(job->wake[0]);
    if (job->wake[1] >= 0)
        close(job->wake[1]);
    pg__dedup_release(&job->origins);
    pg__frontier_free(job->fr);
    pg_free(job->shape);
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
    if (job->pool) {
        st->workers_peak_rss_kb = job->pool->workers_peak_rss_kb;
        st->window_peak = atomic_load(&job->pool->window_peak);
    }
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
        const char *what = pg__memfr_spill_error(&job->fr->mem, &e);

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
int pg__job_keeps_body(const struct pg_job *job, const struct pg__item *it)
{
    int parsed = (it->res.kind == PG_KIND_PAGE &&
                  (it->flags & PG_ITEM_HTML)) ||
                 it->res.kind == PG_KIND_CSS;

    return !(parsed && (job->o->images_only || job->o->list_only));
}

/* Whether a failed attempt is worth another try. */
static int transient(const struct pg__item *it)
{
    if (it->flags & PG_ITEM_PERMANENT)
        return 0;
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
    if (pg__frontier_defer(job->fr, it)) {
        pg__job_fail(job, PG_E_NOMEM);
        return 0;
    }
    return 1;
}

/*
 * A 429 or 503 with Retry-After: no request to its origin starts before
 * then, from any worker (shared: any instance), whether or not the URL
 * is retried.  The wait is capped by --max-retry-wait, as the retry's.
 */
static void hold_origin(struct pg_job *job, const struct pg__item *it)
{
    long ms = pg__holds_asked(it, job->o->max_retry_wait_ms);
    char when[16] = "?";
    time_t t;
    struct tm tm;

    if (ms <= 0 || (it->flags & PG_ITEM_CANCELLED))
        return;
    if (pg__frontier_hold(job->fr, it, ms)) {
        pg__job_fail(job, PG_E_NOMEM);
        return;
    }
    t = time(NULL) + (ms + 999) / 1000;
    if (localtime_r(&t, &tm))
        strftime(when, sizeof(when), "%H:%M:%S", &tm);
    pg__log(&job->log, PG_LOG_INFO, "%s: HTTP %ld with Retry-After: %.*s "
            "held until %s (%.1f s)", it->res.url, it->res.http_code,
            (int)pg__url_origin_len(it->url), it->url, when,
            (double)ms / 1000.0);
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
    if (it->flags & PG_ITEM_RECALLED) {
        /* Never started, its origin held: queued again, at the front. */
        it->flags &= ~(unsigned)PG_ITEM_RECALLED;
        pg__frontier_done(job->fr, it);
        it->not_before = pg__now();
        if (!pg__frontier_defer(job->fr, it))
            return 1;
        pg__job_fail(job, PG_E_NOMEM);
        pg__item_error(it, PG_ST_INTERRUPTED, "not started: out of memory");
        return 0;
    }
    hold_origin(job, it);
    if (it->flags & PG_ITEM_ROBOTS) {
        /* The rules go to the item's origin, which done() forgets. */
        pg__crawl_robots_done(job, it);
        pg__frontier_done(job->fr, it);
        pg__item_free(it);
        return 1;
    }
    pg__frontier_done(job->fr, it);
    if ((it->flags & PG_ITEM_CANCELLED) && it->res.attempts == 0) {
        /* Never started (the job is stopping): not recorded, so that
         * --resume does it (a shared frontier takes its lease back). */
        pg__frontier_complete(job->fr, it);
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

    if (r->status != PG_ST_OK || !pg__job_keeps_body(job, it))
        drop_body(job, it);
    r->error = it->error[0] ? it->error : NULL;
    r->hash = it->hash[0] ? it->hash : NULL;
    r->job = job;
    /* With a shared frontier, the attempts of instances that died
     * holding it count too. */
    if (it->claims > 1)
        r->attempts += it->claims - 1;
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

    if (r->status == PG_ST_OTHER_SHARD) {
        job->stats.other_shard++;   /* another run's URL */
        return;
    }
    job->stats.done++;
    if (pg_status_is_success(r->status))
        job->stats.ok++;
    else
        job->stats.failed++;
    job->stats.bytes += r->bytes;
    pg__update_count(job, it);

    /* Invalid input lines were reported, with their line, in reject(). */
    if (!pg_status_is_success(r->status) && r->status != PG_ST_INVALID_URL)
        pg__log(&job->log, PG_LOG_WARN, "%s: %s", it->res.url,
                r->error ? r->error : pg_status_name(r->status));

    if (r->status == PG_ST_SAVE_ERROR)
        probe_outdir(job);
}

void pg__job_record(struct pg_job *job, const struct pg_result *r,
                    const char *line, size_t len)
{
    char errtxt[128];
    enum pg_code rc;

    rc = line ? pg__manifest_write_line(&job->man, line, len)
              : pg__manifest_write(&job->man, r);
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

void pg__job_flush_manifest(struct pg_job *job)
{
    char errtxt[128];

    if (pg__manifest_flush(&job->man) && !job->stop) {
        pg__job_set_err(job, "cannot write manifest '%s': %s",
                        job->o->manifest_path,
                        pg__errstr(errno, errtxt, sizeof(errtxt)));
        pg__job_fail(job, PG_E_FATAL);
    }
}

void pg__job_progress(struct pg_job *job)
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
    int hook;

    count_transfer(job, it);
    if (settle(job, it))
        return;
    pg__update_settle(job, it);
    run_callback(job, it);
    count_result(job, it);
    hook = pg__exec_wants(&job->exec, it);
    /* With a hook: "exec_pending", and again when the hook ends. */
    pg__job_record(job, &it->res, NULL, 0);
    for (i = 0; i < it->links.n && !job->stop; i++)
        pg__crawl_discover(job, it, &it->links.v[i]);
    /* After its links: a shared frontier records both at once. */
    pg__frontier_complete(job->fr, it);
    pg__job_progress(job);
    if (!hook)
        pg__item_free(it);
    else if (pg__exec_push(&job->exec, it, job->stop))
        pg__job_fail(job, PG_E_NOMEM);
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
    /* Shards may share it across machines: no process check there. */
    n = o->shard_n ? 0 : pg__spool_cleanup(job->save.outdir_fd);
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
    rc = pg__update_setup(job);
    if (rc)
        return rc;
    if (o->resume) {
        rc = pg__crawl_resume(job);
        if (!rc)
            rc = pg__exec_resume_start(&job->exec, &job->done);
        if (rc)
            return rc;
    }
    if (o->manifest_path && pg__manifest_open(&job->man, o->manifest_path,
                                              o->resume || o->update)) {
        pg__job_set_err(job, "cannot create manifest '%s': %s",
                        o->manifest_path,
                        pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    rc = pg__update_start(job);
    return rc ? rc : pg__crawl_divert_open(job);
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
    if (job->divert.fd >= 0)
        pc.parent_fds[pc.n_parent_fds++] = job->divert.fd;
    pc.mode = o->mode;
    pc.workers = o->workers;
    /* Enough queued per worker that a finished transfer is replaced
     * without waiting for the main thread. */
    pc.per_worker = o->per_worker;
    pc.depth = o->per_worker > 1 ? 2 * o->per_worker : 2;
    /* Holds reach items already queued in the pool (hold.h). */
    job->fetch.holds = pg__holds_new(o->max_retry_wait_ms);
    if (!job->fetch.holds)
        return PG_E_NOMEM;
    job->fetch.window = o->window;
    pc.fetch = &job->fetch;
    pc.jar = o->mode == PG_MODE_PROCESS ? job->jar : NULL;
    pc.log = &job->log;
    pc.parent_fds[pc.n_parent_fds++] = job->wake[0];
    pc.parent_fds[pc.n_parent_fds++] = job->wake[1];
    pc.wake_fd = job->wake[0];
    /* --exec: woken when a hook exits; its pidfds come and go. */
    if (job->exec.epfd >= 0)
        pc.parent_fds[pc.n_parent_fds++] = job->exec.epfd;
    pc.wake_fd2 = job->exec.epfd;
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

/* Stop the pool, close the manifest: what pg_job_run returns. */
static enum pg_code end_run(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    char errtxt[128];

    pg__pool_stop(job->pool, pg__job_finish, job);
    pg__exec_finish(&job->exec, job->stop, HOOK_STOP(job));
    pg__options_finish(job);
    if (job->fr && job->fr->mem.spill.items)
        pg__log(&job->log, PG_LOG_INFO, "frontier: spilled %llu items to "
                "disk (%llu bytes, budget %llu bytes passed %u times)",
                (unsigned long long)job->fr->mem.spill.items,
                (unsigned long long)job->fr->mem.spill.end,
                (unsigned long long)o->queue_memory,
                job->fr->mem.spill.events);
    if (pg__manifest_close(&job->man) && !job->fatal) {
        pg__job_set_err(job, "cannot write manifest '%s': %s",
                        o->manifest_path,
                        pg__errstr(errno, errtxt, sizeof(errtxt)));
        job->fatal = PG_E_FATAL;
    }
    pg__crawl_divert_close(job);
    pg__update_end(job);
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
        rc = pg__exec_setup(&job->exec, job->errmsg, sizeof(job->errmsg));
    if (!rc)
        rc = pg__crawl_setup(job);
    if (!rc)
        rc = pg__feed_open(job);
    if (!rc)
        rc = setup_outdir(job);
    if (!rc)
        rc = pg__job_setup_frontier(job);
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
    pg__job_run_loop(job);
    return end_run(job);
}
