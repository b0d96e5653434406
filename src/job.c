/*
 * job.c - the main loop: read URLs, feed the pool, run the result
 * callback, write the manifest (see pagegrab.h for the contract).
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

/* How often the progress callback fires while nothing finishes. */
#define TICK_MS 250

double pg__now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

void pg_options_init(struct pg_options *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = PG_MODE_THREAD;
    o->jobs = 8;
    o->per_worker = 1;
    o->output_dir = ".";
    o->connect_timeout_ms = 10000;
    o->timeout_ms = 0;
    o->stall_s = 30;
    o->min_rate = 1;
    o->max_redirs = 10;
    o->log_level = PG_LOG_INFO;
    o->retries = 3;
    o->retry_delay_ms = 1000;
    o->max_retry_wait_ms = 60000;
    o->grace_ms = 10000;
    o->queue_memory = 64ULL << 20;
}

static void set_err(struct pg_job *job, const char *fmt, ...)
    PG_PRINTF(2, 3);

static void set_err(struct pg_job *job, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(job->errmsg, sizeof(job->errmsg), fmt, ap);
    va_end(ap);
}

struct pg_job *pg_job_new(const struct pg_options *o)
{
    struct pg_job *job = pg_calloc(1, sizeof(*job));

    if (!job)
        return NULL;
    job->o = o;
    pg__saver_init(&job->save);
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
    if (job->in) {
        pg__input_close(job->in);
        pg_free(job->in);
    }
    if (job->man.fd >= 0 && pg__manifest_close(&job->man) != PG_OK)
        pg__log(&job->log, PG_LOG_ERROR, "cannot write manifest '%s'",
                job->o->manifest_path);
    pg_buf_release(&job->man.line);
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

/* mkdir -p for the output directory (the user's own path). */
static int mkdirs(const char *path)
{
    char tmp[4096];
    size_t i, n = strlen(path);

    if (n == 0 || n >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == '\0') {
            char c = tmp[i];

            tmp[i] = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -1;
            tmp[i] = c;
        }
    }
    return 0;
}

static enum pg_code open_outdir(struct pg_job *job)
{
    const char *dir = job->o->output_dir ? job->o->output_dir : ".";
    char errtxt[128], *tmp = NULL;
    uint64_t seq = 0;
    enum pg_code rc;
    int fd;

    if (mkdirs(dir) < 0) {
        set_err(job, "cannot create output directory '%s': %s", dir,
                pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    job->save.outdir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (job->save.outdir_fd < 0) {
        set_err(job, "cannot open output directory '%s': %s", dir,
                pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    /* Prove it is writable before fetching anything. */
    rc = pg__spool_create(job->save.outdir_fd, 0, &seq, &fd, &tmp);
    if (rc == PG_E_NOMEM)
        return PG_E_NOMEM;
    if (rc) {
        set_err(job, "cannot write in output directory '%s': %s", dir,
                pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    close(fd);
    unlinkat(job->save.outdir_fd, tmp, 0);
    pg_free(tmp);
    return PG_OK;
}

static enum pg_code setup_fetch(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    struct pg__fetch_config *f = &job->fetch;
    size_t i;

    for (i = 0; i < o->n_headers; i++) {
        struct curl_slist *l = curl_slist_append(job->headers,
                                                 o->headers[i]);

        if (!l)
            return PG_E_NOMEM;
        job->headers = l;
    }
    if (o->user_agent) {
        job->user_agent = pg_strdup(o->user_agent);
    } else {
        char ua[64];

        snprintf(ua, sizeof(ua), "pagegrab/%s", PG_VERSION);
        job->user_agent = pg_strdup(ua);
    }
    if (!job->user_agent)
        return PG_E_NOMEM;
    f->connect_timeout_ms = o->connect_timeout_ms;
    f->timeout_ms = o->timeout_ms;
    f->stall_s = o->stall_s;
    f->min_rate = o->min_rate;
    f->max_redirs = o->max_redirs;
    f->user_agent = job->user_agent;
    f->headers = job->headers;
    f->outdir_fd = job->save.outdir_fd;
    f->log = &job->log;
    f->max_size = o->max_size;
    f->abort_flag = &job->abort_now;
    /* SHA-256 costs as much CPU as the rest of a large transfer: only
     * when a record, --dedup or a {hash} name uses it. */
    f->hash = o->manifest_path || o->dedup || o->hash_bodies;
    f->sync = o->sync;
    return PG_OK;
}

/* ---- finishing one URL ------------------------------------------------ */

static void discover(struct pg_job *job, const struct pg__item *page,
                     const struct pg__link *link);

/* Stop the job: nothing new starts; `code` is what pg_job_run returns. */
static void fail_job(struct pg_job *job, enum pg_code code)
{
    if (job->stop)
        return;
    job->stop = 1;
    job->fatal = code;
    if (code == PG_E_NOMEM && !job->errmsg[0])
        set_err(job, "out of memory");
    if (code == PG_E_IO && !job->errmsg[0]) {
        /* Only the frontier's spill file fails this way. */
        char errtxt[128];
        int e;
        const char *what = pg__frontier_spill_error(&job->fr, &e);

        set_err(job, "cannot %s the queue spill file in '%s': %s", what,
                job->o->output_dir, pg__errstr(e, errtxt, sizeof(errtxt)));
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

/* A robots.txt fetch came back: turn it into rules for its origin. */
static void robots_done(struct pg_job *job, struct pg__item *it)
{
    struct pg__robots *rules = NULL;
    char *body = NULL;
    ssize_t n = 0;
    int fd;

    if (it->status == PG_ST_OK && it->tmp_name) {
        fd = openat(job->save.outdir_fd, it->tmp_name, O_RDONLY | O_NOFOLLOW |
                    O_CLOEXEC);
        /* One byte past the cap, so the parser sees a cut last line. */
        body = fd >= 0 ? pg_malloc(PG_ROBOTS_MAX_BYTES + 1) : NULL;
        if (body)
            n = pread(fd, body, PG_ROBOTS_MAX_BYTES + 1, 0);
        if (fd >= 0)
            close(fd);
        rules = pg__robots_parse(body ? body : "", n > 0 ? (size_t)n : 0,
                                 "pagegrab");
        pg_free(body);
    } else if ((it->http_code >= 400 && it->http_code < 500) ||
               it->status == PG_ST_BLOCKED) {
        /* RFC 9309: unavailable.  A blocked robots.txt (a private
         * address) allows all: the links themselves are then refused. */
        rules = pg__robots_allow_all();
    } else {
        rules = pg__robots_disallow_all(); /* RFC 9309: unreachable */
        pg__log(&job->log, PG_LOG_WARN, "%s: %s; nothing discovered on "
                "this host will be fetched", it->url,
                it->error[0] ? it->error : "robots.txt unreachable");
    }
    if (!rules)
        fail_job(job, PG_E_NOMEM);
    pg__frontier_set_robots(&job->fr, it, rules);
    if (it->tmp_name)
        unlinkat(job->save.outdir_fd, it->tmp_name, 0);
}

/* Whether a page that was parsed is also kept. */
static int keep_body(const struct pg_job *job, const struct pg__item *it)
{
    return !(it->kind == PG_KIND_PAGE && (it->flags & PG_ITEM_HTML) &&
             (job->o->images_only || job->o->list_only));
}

/* Whether a failed attempt is worth another try. */
static int transient(const struct pg__item *it)
{
    if (it->status == PG_ST_NETWORK_ERROR)
        return 1;
    return it->status == PG_ST_HTTP_ERROR &&
           (it->http_code >= 500 || it->http_code == 408 ||
            it->http_code == 429);
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
    if (it->status == PG_ST_WORKER_CRASH) {
        if (it->crashes >= MAX_CRASHES)
            return 0;
        delay_ms = 0;
    } else if (transient(it) && it->attempts <= o->retries) {
        if (it->retry_after_ms >= 0) {
            delay_ms = (double)it->retry_after_ms;
        } else {
            unsigned k = it->attempts > 30 ? 30 :
                         it->attempts < 1 ? 1 : it->attempts;

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
            it->input_url, it->error[0] ? it->error : "failed",
            it->attempts, delay_ms / 1000.0);
    if (it->tmp_name) {
        unlinkat(job->save.outdir_fd, it->tmp_name, 0);
        PG_FREE(it->tmp_name);
    }
    pg__item_reset_result(it);
    it->not_before = pg__now() + delay_ms / 1000.0;
    if (pg__frontier_defer(&job->fr, it)) {
        fail_job(job, PG_E_NOMEM);
        return 0;
    }
    return 1;
}

/*
 * After a save error: is the output directory itself still usable?  A
 * file is created, written and removed; if that fails, the job stops.
 */
static void probe_outdir(struct pg_job *job)
{
    char errtxt[128], *tmp = NULL;
    uint64_t seq = 1u << 30;
    int fd, err = 0;

    if (job->stop)
        return;
    if (pg__spool_create(job->save.outdir_fd, 9999, &seq, &fd, &tmp)) {
        err = errno;
    } else {
        char block[4096];

        memset(block, 0, sizeof(block));
        if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
            err = errno ? errno : ENOSPC;
        if (close(fd) < 0 && !err)
            err = errno;
        unlinkat(job->save.outdir_fd, tmp, 0);
        pg_free(tmp);
    }
    /* Out of descriptors or memory says nothing about the directory. */
    if (!err || err == EMFILE || err == ENFILE || err == ENOMEM)
        return;
    set_err(job, "output directory '%s' is no longer usable: %s",
            job->o->output_dir, pg__errstr(err, errtxt, sizeof(errtxt)));
    fail_job(job, PG_E_FATAL);
}

static void finish(struct pg__item *it, void *ud)
{
    struct pg_job *job = ud;
    struct pg_result r;
    enum pg_code rc;
    char errtxt[128];
    size_t i;

    if (!(it->flags & PG_ITEM_CANCELLED) && it->time_ms > 0) {
        /* Every transfer that ran, retries included. */
        job->stats.transfers++;
        if (it->http_code > 0)
            pg__latency_add(&job->lat, it->time_ms);
    }
    if (it->flags & PG_ITEM_ROBOTS) {
        /* The rules go to the item's origin, which done() forgets. */
        robots_done(job, it);
        pg__frontier_done(&job->fr, it);
        pg__item_free(it);
        return;
    }
    pg__frontier_done(&job->fr, it);
    if ((it->flags & PG_ITEM_CANCELLED) && it->attempts == 0) {
        /* Never started (the job is stopping): not recorded, so that
         * --resume does it. */
        pg__item_free(it);
        return;
    }
    if (it->flags & PG_ITEM_CANCELLED)
        pg__item_error(it, PG_ST_INTERRUPTED, "interrupted before attempt "
                       "%u", it->attempts + 1);
    if (retry(job, it))
        return;
    if (it->status == PG_ST_OK && job->fatal)
        pg__item_error(it, PG_ST_SAVE_ERROR, "not saved: the job stopped "
                       "(%s)", job->errmsg);

    memset(&r, 0, sizeof(r));
    r.url = it->input_url;
    r.line = it->line;
    r.status = it->status;
    r.http_code = it->http_code;
    r.bytes = it->bytes;
    r.content_type = it->content_type;
    r.final_url = it->final_url;
    r.attempts = it->attempts;
    r.time_ms = it->time_ms;
    r.error = it->error[0] ? it->error : NULL;
    r.tmp_name = it->status == PG_ST_OK && keep_body(job, it) ?
                 it->tmp_name : NULL;
    r.kind = it->kind;
    r.depth = it->depth;
    r.referrer = it->referrer;
    r.links = it->n_links;
    r.links_truncated = (it->flags & PG_ITEM_LINKS_CUT) != 0;
    r.hash = it->hash[0] ? it->hash : NULL;
    r.job = job;

    if (job->o->result_cb) {
        job->save.cur = it;
        rc = job->o->result_cb(&r, job->o->result_userdata);
        job->save.cur = NULL;
        if (rc != PG_OK && !job->stop) {
            set_err(job, "result callback failed for '%s': %s",
                    it->input_url, r.error ? r.error : pg_strerror(rc));
            fail_job(job, rc);
        }
    }
    /* Whatever the callback did not keep is deleted. */
    if (it->tmp_name) {
        unlinkat(job->save.outdir_fd, it->tmp_name, 0);
        PG_FREE(it->tmp_name);
    }
    r.tmp_name = NULL;
    r.status = it->status;
    r.path = it->path;
    r.duplicate_of = it->duplicate_of;
    r.error = it->error[0] && !pg_status_is_success(it->status) ?
              it->error : NULL;

    job->stats.done++;
    if (pg_status_is_success(r.status))
        job->stats.ok++;
    else
        job->stats.failed++;
    job->stats.bytes += r.bytes;

    /* Invalid input lines were reported, with their line, in reject(). */
    if (!pg_status_is_success(r.status) && r.status != PG_ST_INVALID_URL)
        pg__log(&job->log, PG_LOG_WARN, "%s: %s", it->input_url,
                r.error ? r.error : pg_status_name(r.status));

    if (r.status == PG_ST_SAVE_ERROR)
        probe_outdir(job);

    rc = pg__manifest_write(&job->man, &r);
    if (!rc && job->o->sync)
        rc = pg__manifest_sync(&job->man);
    if (rc && !job->stop) {
        set_err(job, "cannot write manifest '%s': %s",
                job->o->manifest_path,
                rc == PG_E_IO ? pg__errstr(errno, errtxt, sizeof(errtxt))
                              : pg_strerror(rc));
        fail_job(job, PG_E_FATAL);
    }
    for (i = 0; i < it->links.n && !job->stop; i++)
        discover(job, it, &it->links.v[i]);
    if (job->o->progress_cb) {
        struct pg_stats st;

        pg_job_stats(job, &st);
        job->o->progress_cb(&st, job->o->progress_userdata);
    }
    pg__item_free(it);
}

/* ---- discovered links ------------------------------------------------- */

/*
 * --resume: whether url's last record in the old manifest was a success
 * that needs no redoing (pages are fetched again: their links are
 * needed).  Counted as done.
 */
static int already_done(struct pg_job *job, const char *url)
{
    uint32_t v;

    if (!job->o->resume ||
        !pg__nameset_get(&job->done, pg__hash64(url, strlen(url)), &v) ||
        v != 1)
        return 0;
    job->stats.done++;
    job->stats.ok++;
    return 1;
}

/* Whether a followed page on `host` is inside the crawl's scope. */
static int in_scope(const struct pg_job *job, const char *host)
{
    const struct pg_options *o = job->o;
    size_t i, n = strlen(host);
    uint32_t v;

    if (o->span_hosts ||
        pg__nameset_get(&job->start_hosts, pg__hash64(host, n), &v))
        return 1;
    for (i = 0; i < o->n_domains; i++) {
        const char *d = o->domains[i];
        size_t k = strlen(d);

        if (k == 0)
            continue;
        if ((n == k && !strcasecmp(host, d)) ||
            (n > k && host[n - k - 1] == '.' && !strcasecmp(host + n - k,
                                                            d)))
            return 1;
    }
    return 0;
}

/* A new item for a discovered link, with what it inherits. */
static struct pg__item *link_item(struct pg_job *job,
                                  const struct pg__item *page,
                                  const char *url, enum pg_kind kind)
{
    struct pg__item *it = pg__item_new();

    if (!it)
        return NULL;
    it->input_url = pg_strdup(url);
    it->url = pg_strdup(url);
    it->referrer = pg_strdup(page->url);
    if (!it->input_url || !it->url || !it->referrer) {
        pg__item_free(it);
        return NULL;
    }
    it->id = job->next_id++;
    it->kind = kind;
    it->depth = page->depth + (kind == PG_KIND_PAGE);
    if (kind == PG_KIND_PAGE)
        it->flags |= PG_ITEM_PARSE;
    else
        it->flags |= PG_ITEM_IMAGE;
    if (!job->o->no_robots)
        it->flags |= PG_ITEM_ROBOTS_CHECK;
    /* Private addresses only below a start page that is on one. */
    if (!job->o->allow_private && !(page->flags & PG_ITEM_PRIVATE_IP))
        it->flags |= PG_ITEM_PUBLIC_ONLY;
    job->discovered++;
    if (job->stats.total)
        job->stats.total++;
    return it;
}

static void discover(struct pg_job *job, const struct pg__item *page,
                     const struct pg__link *link)
{
    enum pg_kind kind = link->kind == PG_LINK_PAGE ? PG_KIND_PAGE
                                                   : PG_KIND_IMAGE;
    char err[PG_ERRBUF_SIZE];
    struct pg__item *it;
    struct pg__url u;
    enum pg_code rc;
    int seen;

    if (kind == PG_KIND_PAGE) {
        if (page->depth + 1 > job->o->depth)
            return;
        if (pg__url_parse(&u, link->url, strlen(link->url), err,
                          sizeof(err)))
            return;
        seen = in_scope(job, u.host);
        pg__url_release(&u);
        if (!seen)
            return;
    }
    seen = pg__frontier_see(&job->fr, link->url);
    if (seen < 0) {
        fail_job(job, PG_E_NOMEM);
        return;
    }
    if (seen == 0)
        return;
    if (already_done(job, link->url))
        return;
    it = link_item(job, page, link->url, kind);
    if (!it) {
        fail_job(job, PG_E_NOMEM);
        return;
    }
    if (pg__regex_list_match(job->reject, link->url) >= 0) {
        pg__item_error(it, PG_ST_FILTERED, "rejected by --reject");
        finish(it, job);
        return;
    }
    if (kind == PG_KIND_IMAGE && pg__regex_list_count(job->accept) &&
        pg__regex_list_match(job->accept, link->url) < 0) {
        pg__item_error(it, PG_ST_FILTERED, "not matched by --accept");
        finish(it, job);
        return;
    }
    if (kind == PG_KIND_IMAGE && job->o->list_only)
        it->flags |= PG_ITEM_NOFETCH;  /* listed once robots allow it */
    rc = pg__frontier_push(&job->fr, it);
    if (rc) {
        pg__item_free(it);
        fail_job(job, rc);
    }
}

/* ---- the input -------------------------------------------------------- */

/* Where a URL came from, for messages: "urls.txt:3" or "argument 2". */
static void where(const struct pg_job *job, int from_file, uint64_t line,
                  char *buf, size_t len)
{
    const char *path = job->o->input_path;

    if (from_file)
        snprintf(buf, len, "%s:%llu", strcmp(path, "-") ? path : "<stdin>",
                 (unsigned long long)line);
    else
        snprintf(buf, len, "argument %llu", (unsigned long long)line);
}

/* What every item for an input line gets. */
static void input_item(struct pg_job *job, struct pg__item *it,
                       uint64_t line)
{
    it->id = job->next_id++;
    it->line = line;
    it->kind = job->crawl ? PG_KIND_PAGE : PG_KIND_FILE;
}

/* An input URL that cannot be fetched ends here, recorded as invalid. */
static void reject(struct pg_job *job, const char *url, size_t len,
                   uint64_t line, int from_file, const char *why)
{
    struct pg__item *it = pg__item_new();
    char *esc = pg__url_escape_input(url, len);
    char src[300];

    where(job, from_file, line, src, sizeof(src));
    pg__log(&job->log, PG_LOG_WARN, "%s: invalid URL '%.200s': %s", src,
            esc ? esc : "", why);
    if (!it || !esc) {
        pg__item_free(it);
        pg_free(esc);
        fail_job(job, PG_E_NOMEM);
        return;
    }
    it->input_url = esc;
    if (!it->input_url) {
        pg__item_free(it);
        fail_job(job, PG_E_NOMEM);
        return;
    }
    input_item(job, it, line);
    pg__item_error(it, PG_ST_INVALID_URL, "%s", why);
    finish(it, job);
}

/* Queue one input URL: valid ones go to the frontier, others are
 * recorded. */
static void queue_url(struct pg_job *job, const char *s, size_t len,
                      uint64_t line, int from_file)
{
    char err[PG_ERRBUF_SIZE];
    struct pg__url u;
    struct pg__item *it;
    char *in;
    enum pg_code rc;

    rc = pg__url_parse(&u, s, len, err, sizeof(err));
    if (rc == PG_E_NOMEM) {
        fail_job(job, PG_E_NOMEM);
        return;
    }
    if (rc) {
        reject(job, s, len, line, from_file, err);
        return;
    }
    in = pg__url_escape_input(s, len);
    if (!in) {
        pg__url_release(&u);
        fail_job(job, PG_E_NOMEM);
        return;
    }
    if (!job->crawl && job->o->resume && already_done(job, in)) {
        pg_free(in);
        pg__url_release(&u);
        return;
    }
    rc = PG_OK;
    if (job->headers) {
        char *origin = pg__url_origin(u.url);

        rc = origin ? pg__dedup_add(&job->origins, origin, "") : PG_E_NOMEM;
        pg_free(origin);
    }
    if (!rc && job->crawl) {
        /* Inputs are always fetched; they also mark what is seen and
         * which hosts are in scope. */
        if (pg__frontier_see(&job->fr, u.url) < 0 ||
            pg__nameset_put(&job->start_hosts,
                            pg__hash64(u.host, strlen(u.host)), 1))
            rc = PG_E_NOMEM;
    }
    it = rc ? NULL : pg__item_new();
    if (it) {
        it->input_url = in;
        in = NULL;
        it->url = u.url;
        u.url = NULL;
    }
    pg_free(in);
    pg__url_release(&u);
    if (!it || !it->input_url) {
        pg__item_free(it);
        fail_job(job, PG_E_NOMEM);
        return;
    }
    input_item(job, it, line);
    if (job->crawl)
        it->flags |= PG_ITEM_PARSE;
    rc = pg__frontier_push(&job->fr, it);
    if (rc) {
        pg__item_free(it);
        fail_job(job, rc);
    }
}

/* Read one more input URL into the frontier; 0 when the input is done. */
static int read_input(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    const char *line;
    char errtxt[128];
    size_t len;
    uint64_t lineno;
    enum pg_code rc;

    if (job->next_arg < o->n_urls) {
        const char *s = o->urls[job->next_arg++];

        queue_url(job, s, strlen(s), job->next_arg, 0);
        return 1;
    }
    if (!job->in) {
        job->input_done = 1;
        return 0;
    }
    rc = pg__input_next(job->in, &line, &len, &lineno);
    if (rc == PG_E_LIMIT) {
        reject(job, "", 0, lineno, 1, "line longer than 8192 bytes");
        return 1;
    }
    if (rc) {
        set_err(job, "cannot read '%s': %s", o->input_path,
                pg__errstr(errno, errtxt, sizeof(errtxt)));
        fail_job(job, PG_E_FATAL);
        return 0;
    }
    if (!line && job->in->would_block) {
        job->in->would_block = 0;   /* look again on the next round */
        return 0;
    }
    if (!line) {
        job->input_done = 1;
        return 0;
    }
    queue_url(job, line, len, lineno, 1);
    return 1;
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
    if (it->kind == PG_KIND_PAGE && o->max_pages &&
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
    size_t readahead = (size_t)job->o->jobs * job->o->per_worker * 4 + 16;
    double wake = 0;

    while (!job->stop && pg__pool_room(job->pool)) {
        enum pg_code err;
        struct pg__item *it = pg__frontier_pop(&job->fr, pg__now(), &wake,
                                               &err);

        if (err) {
            fail_job(job, err);
            break;
        }
        if (it && (it->status == PG_ST_ROBOTS ||
                   (it->flags & PG_ITEM_NOFETCH))) {
            if (it->status == PG_ST_OK)
                it->status = PG_ST_LISTED;
            finish(it, job);
            continue;
        }
        if (it && limit_reached(job, it)) {
            finish(it, job);
            continue;
        }
        if (it) {
            if (set_net_flags(job, it)) {
                pg__item_free(it);
                fail_job(job, PG_E_NOMEM);
                break;
            }
            pg__pool_submit(job->pool, it);
            continue;
        }
        if (job->input_done || pg__frontier_queued(&job->fr) >= readahead ||
            !read_input(job))
            break;
    }
    return wake;
}

/* Check and compile what extraction and crawling need. */
static enum pg_code setup_crawl(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    struct pg__extract_config *x = &job->xcfg;
    char err[PG_ERRBUF_SIZE];
    size_t i;

    job->crawl = o->images || o->n_xpaths || o->n_follow;
    for (i = 0; i < o->n_xpaths + o->n_follow; i++) {
        const char *e = i < o->n_xpaths ? o->xpaths[i]
                                        : o->follow[i - o->n_xpaths];

        if (pg__xpath_check(e, err, sizeof(err))) {
            set_err(job, "invalid XPath expression '%s': %s", e, err);
            return PG_E_INVALID;
        }
    }
    job->accept = pg__regex_list_new(o->accept, o->n_accept, err,
                                     sizeof(err));
    if (!job->accept) {
        set_err(job, "%s", err);
        return strcmp(err, "out of memory") ? PG_E_INVALID : PG_E_NOMEM;
    }
    job->reject = pg__regex_list_new(o->reject, o->n_reject, err,
                                     sizeof(err));
    if (!job->reject) {
        set_err(job, "%s", err);
        return strcmp(err, "out of memory") ? PG_E_INVALID : PG_E_NOMEM;
    }
    memset(x, 0, sizeof(*x));
    x->default_images = o->images;
    x->image_xpaths = o->xpaths;
    x->n_image_xpaths = o->n_xpaths;
    x->follow_xpaths = o->follow;
    x->n_follow_xpaths = o->n_follow;
    x->srcset_all = o->srcset_all;
    x->max_links = 10000;
    if (job->crawl)
        job->fetch.extract = x;
    return PG_OK;
}

/*
 * --resume: remember the last state of every URL of the old run, and
 * the names it gave (the first URL to hold a name keeps it), so that no
 * other URL is given one of them.
 */
static enum pg_code resume_record(const char *url, const char *status,
                                  const char *kind, const char *path,
                                  void *ud)
{
    struct pg_job *job = ud;
    int ok = (!strcmp(status, "ok") || !strcmp(status, "exists")) &&
             strcmp(kind, "page");
    enum pg_code rc;

    if (path && !pg__spool_check_name(path)) {
        rc = pg__names_claim(&job->save.names, &job->save.names_urls,
                             job->save.outdir_fd, path, url);
        if (rc)
            return rc;
    }
    return pg__nameset_put(&job->done, pg__hash64(url, strlen(url)),
                           ok ? 1 : 0);
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
                   it->attempts + 1);
    finish(it, ud);
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

enum pg_code pg_job_run(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    struct pg__pool_config pc;
    int parent_fds[6];
    double t_start;
    size_t nfds = 0;
    enum pg_code rc;
    char errtxt[128];

    if (job->ran)
        return PG_E_INVALID;
    job->ran = 1;
    job->t0 = pg__now();
    if (o->jobs < 1 || o->jobs > 1024) {
        set_err(job, "number of workers must be 1..1024, not %u", o->jobs);
        return PG_E_INVALID;
    }
    if (o->per_worker < 1 || o->per_worker > 1024) {
        set_err(job, "transfers per worker must be 1..1024, not %u",
                o->per_worker);
        return PG_E_INVALID;
    }
    if ((unsigned long)o->jobs * o->per_worker > PG_MAX_TRANSFERS) {
        set_err(job, "%u workers x %u transfers each is more than %u "
                "transfers at once", o->jobs, o->per_worker,
                PG_MAX_TRANSFERS);
        return PG_E_INVALID;
    }
    rc = setup_crawl(job);
    if (rc)
        return rc;
    if (o->input_path) {
        job->in = pg_malloc(sizeof(*job->in));
        if (!job->in)
            return PG_E_NOMEM;
        if (pg__input_open(job->in, o->input_path)) {
            set_err(job, "cannot open input '%s': %s", o->input_path,
                    pg__errstr(errno, errtxt, sizeof(errtxt)));
            PG_FREE(job->in);
            return PG_E_INVALID;
        }
        {
            struct stat st;

            job->in->probe = fstat(job->in->fd, &st) != 0 ||
                             !S_ISREG(st.st_mode);
        }
        if (strcmp(o->input_path, "-")) {
            int64_t n = pg__input_count(o->input_path);

            if (n >= 0)
                job->stats.total = (uint64_t)n + o->n_urls;
        }
    } else {
        job->stats.total = o->n_urls;
    }
    rc = open_outdir(job);
    if (rc)
        return rc;
    pg__frontier_set_spill(&job->fr, job->save.outdir_fd, o->queue_memory);
    {
        unsigned n = pg__spool_cleanup(job->save.outdir_fd);

        if (n)
            pg__log(&job->log, PG_LOG_INFO, "removed %u temporary file(s) "
                    "left by an earlier run", n);
    }
    if (pipe(job->wake) < 0) {
        set_err(job, "cannot create a pipe: %s",
                pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    fcntl(job->wake[0], F_SETFD, FD_CLOEXEC);
    fcntl(job->wake[1], F_SETFD, FD_CLOEXEC);
    fcntl(job->wake[0], F_SETFL, O_NONBLOCK);
    fcntl(job->wake[1], F_SETFL, O_NONBLOCK);
    if (o->resume && !o->manifest_path) {
        set_err(job, "--resume needs --manifest FILE (the results of the "
                "run to resume)");
        return PG_E_INVALID;
    }
    if (o->resume) {
        rc = pg__manifest_read(o->manifest_path, resume_record, job);
        if (rc) {
            set_err(job, "cannot read manifest '%s' to resume: %s",
                    o->manifest_path, rc == PG_E_IO ?
                    pg__errstr(errno, errtxt, sizeof(errtxt)) :
                    pg_strerror(rc));
            return rc == PG_E_NOMEM ? PG_E_NOMEM : PG_E_INVALID;
        }
    }
    if (o->manifest_path && pg__manifest_open(&job->man, o->manifest_path,
                                              o->resume)) {
        set_err(job, "cannot create manifest '%s': %s", o->manifest_path,
                pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    rc = setup_fetch(job);
    if (rc)
        return rc;

    if (job->in)
        parent_fds[nfds++] = job->in->fd;
    if (job->man.fd >= 0)
        parent_fds[nfds++] = job->man.fd;
    if (job->save.names_urls.fd >= 0)
        parent_fds[nfds++] = job->save.names_urls.fd;
    memset(&pc, 0, sizeof(pc));
    pc.mode = o->mode;
    pc.workers = o->jobs;
    /* Enough queued per worker that a finished transfer is replaced
     * without waiting for the main thread. */
    pc.per_worker = o->per_worker;
    pc.depth = o->per_worker > 1 ? 2 * o->per_worker : 2;
    pc.fetch = &job->fetch;
    pc.log = &job->log;
    parent_fds[nfds++] = job->wake[0];
    parent_fds[nfds++] = job->wake[1];
    pc.parent_fds = parent_fds;
    pc.n_parent_fds = nfds;
    pc.wake_fd = job->wake[0];
    job->pool = pg__pool_new(&pc);
    if (!job->pool)
        return PG_E_NOMEM;
    t_start = pg__now();
    rc = pg__pool_start(job->pool);
    job->stats.startup_ms = (pg__now() - t_start) * 1000.0;
    if (rc) {
        set_err(job, "%s", job->pool->errmsg);
        pg__pool_stop(job->pool, finish, job);
        return PG_E_FATAL;
    }

    job->last_sync = pg__now();
    for (;;) {
        double wake, now;
        int timeout = TICK_MS;

        handle_stop(job);
        wake = fill_pool(job);
        now = pg__now();
        if (now - job->last_sync >= 1.0) {
            /* Records reach the disk within a second, --sync or not. */
            job->last_sync = now;
            if (pg__manifest_sync(&job->man) != PG_OK)
                pg__log(&job->log, PG_LOG_WARN, "cannot sync manifest '%s'",
                        o->manifest_path);
        }
        if (job->interrupted && !job->aborted) {
            double ms = (job->grace_end - now) * 1000.0 + 1;

            if (ms < timeout)
                timeout = ms < 0 ? 0 : (int)ms;
        }

        if (job->pool->inflight == 0 &&
            (job->stop || (job->input_done &&
                           pg__frontier_queued(&job->fr) == 0)))
            break;
        if (wake > 0) {
            double ms = (wake - pg__now()) * 1000.0 + 1;

            timeout = ms < 0 ? 0 : ms < TICK_MS ? (int)ms : TICK_MS;
        }
        rc = pg__pool_wait(job->pool, timeout, finish, job);
        if (rc) {
            set_err(job, "%s", job->pool->errmsg);
            fail_job(job, PG_E_FATAL);
            break;
        }
        if (o->progress_cb) {
            struct pg_stats st;

            pg_job_stats(job, &st);
            o->progress_cb(&st, o->progress_userdata);
        }
    }
    pg__pool_stop(job->pool, finish, job);
    if (job->fr.spill.items)
        pg__log(&job->log, PG_LOG_INFO, "frontier: spilled %llu items to "
                "disk (%llu bytes, budget %llu bytes passed %u times)",
                (unsigned long long)job->fr.spill.items,
                (unsigned long long)job->fr.spill.end,
                (unsigned long long)o->queue_memory, job->fr.spill.events);

    if (pg__manifest_close(&job->man) && !job->fatal) {
        set_err(job, "cannot write manifest '%s': %s", o->manifest_path,
                pg__errstr(errno, errtxt, sizeof(errtxt)));
        job->fatal = PG_E_FATAL;
    }
    if (job->fatal)
        return job->fatal == PG_E_NOMEM ? PG_E_NOMEM : PG_E_FATAL;
    return job->interrupted ? PG_E_INTERRUPTED : PG_OK;
}

enum pg_code pg_check_xpath(const char *expr, char *err, size_t errlen)
{
    return pg__xpath_check(expr, err, errlen);
}
