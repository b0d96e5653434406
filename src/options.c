/*
 * options.c - struct pg_options in the library: its defaults
 * (pg_options_init), the checks pg_job_run makes before anything starts,
 * and the fetch configuration a job derives from it.  Not the parsing of
 * a command line or a config file (cmd/args.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "mem.h"
#include "proxy.h"
#include "shard.h"
#include "tls.h"
#include "util.h"

void pg_options_init(struct pg_options *o)
{
    memset(o, 0, sizeof(*o));
    o->mode = PG_MODE_THREAD;
    o->workers = 0;             /* 0, 0: pg_options_tune() chooses */
    o->per_worker = 0;
    o->window = 0;              /* pg_options_tune() sets it with K */
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
    o->depth = PG_DEPTH_DEFAULT;
    o->lease_s = 60;
}

/* *s becomes a copy of itself (NULL stays NULL). */
static int copy_str(const char **s)
{
    if (*s && !(*s = pg__strdup(*s)))
        return -1;
    return 0;
}

/* *v (n strings) becomes a copy of itself, strings included. */
static int copy_list(const char *const **v, size_t n)
{
    const char **c;
    size_t i;

    if (!*v)
        return 0;
    c = pg__calloc(n ? n : 1, sizeof(*c));
    if (!c) {
        *v = NULL;
        return -1;
    }
    for (i = 0; i < n; i++) {
        if ((*v)[i] && !(c[i] = pg__strdup((*v)[i]))) {
            *v = c;
            return -1;
        }
    }
    *v = c;
    return 0;
}

/*
 * The fields that point at the caller's memory, in one list so that
 * copying and freeing cannot disagree.
 */
#define STRINGS(o) &(o)->input_path, &(o)->output_dir, \
                   &(o)->manifest_path, &(o)->user_agent, \
                   &(o)->load_cookies, &(o)->save_cookies, \
                   &(o)->proxy, &(o)->no_proxy, &(o)->ca_certificate, \
                   &(o)->proxy_ca_certificate, \
                   &(o)->divert_path, \
                   &(o)->frontier, &(o)->job_name, &(o)->job_shape, \
                   &(o)->exec_cmd
#define LISTS(o) { &(o)->urls, (o)->n_urls }, \
                 { &(o)->headers, (o)->n_headers }, \
                 { &(o)->xpaths, (o)->n_xpaths }, \
                 { &(o)->follow, (o)->n_follow }, \
                 { &(o)->domains, (o)->n_domains }, \
                 { &(o)->accept, (o)->n_accept }, \
                 { &(o)->reject, (o)->n_reject }

struct list_ref {
    const char *const **v;
    size_t n;
};

/* Copy what dst points at; the counts are dst's own (set first). */
static int copy_fields(struct pg_options *dst)
{
    const char **strs[] = { STRINGS(dst) };
    struct list_ref lists[] = { LISTS(dst) };
    size_t i;
    int bad = 0;

    /* After a failure the rest still points at the caller's memory:
     * cleared, so that the release frees only copies. */
    for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (bad)
            *strs[i] = NULL;
        else
            bad = copy_str(strs[i]);
    }
    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        if (bad)
            *lists[i].v = NULL;
        else
            bad = copy_list(lists[i].v, lists[i].n);
    }
    return bad;
}

enum pg_code pg__options_copy(struct pg_options *dst,
                              const struct pg_options *src)
{
    *dst = *src;
    /* Library defaults: --follow alone follows one level. */
    if (dst->depth == PG_DEPTH_DEFAULT)
        dst->depth = dst->n_follow ? 1 : 0;
    if (copy_fields(dst)) {
        pg__options_release(dst);
        return PG_E_NOMEM;
    }
    return PG_OK;
}

void pg__options_release(struct pg_options *o)
{
    const char **strs[] = { STRINGS(o) };
    struct list_ref lists[] = { LISTS(o) };
    size_t i, j;

    for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        pg_free((void *)*strs[i]);
        *strs[i] = NULL;
    }
    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        const char **v = (const char **)*lists[i].v;

        for (j = 0; v && j < lists[i].n; j++)
            pg_free((void *)v[j]);
        pg_free((void *)v);
        *lists[i].v = NULL;
    }
}

/* The worker and transfer counts, the CA file, the shard. */
enum pg_code pg__options_check(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    char err[PG_ERRBUF_SIZE];
    enum pg_code rc;

    if (o->workers < 1 || o->workers > 1024) {
        pg__job_set_err(job, "number of workers must be 1..1024, not %u",
                        o->workers);
        return PG_E_INVALID;
    }
    if (o->per_worker < 1 || o->per_worker > 1024) {
        pg__job_set_err(job, "transfers per worker must be 1..1024, not %u",
                        o->per_worker);
        return PG_E_INVALID;
    }
    if ((unsigned long)o->workers * o->per_worker > PG_MAX_TRANSFERS) {
        pg__job_set_err(job, "%u workers x %u transfers each is more than "
                        "%u transfers at once", o->workers, o->per_worker,
                        PG_MAX_TRANSFERS);
        return PG_E_INVALID;
    }
    if (o->ca_certificate) {
        rc = pg__tls_check_ca(o->ca_certificate, err, sizeof(err));
        if (rc) {
            pg__job_set_err(job, "%s", err);
            return rc;
        }
    }
    if (o->proxy_ca_certificate) {
        rc = pg__tls_check_ca(o->proxy_ca_certificate, err, sizeof(err));
        if (rc) {
            pg__job_set_err(job, "--proxy-ca-certificate: %s", err);
            return rc;
        }
    }
    rc = pg__shard_check(o, job->errmsg, sizeof(job->errmsg));
    return rc ? rc : pg__options_check_frontier(job);
}

/* The save file's directory must take a new file (checked before the
 * job, not found out at its end). */
static enum pg_code check_save_dir(struct pg_job *job, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? pg__strndup(path, slash > path ?
                                    (size_t)(slash - path) : 1)
                      : pg__strdup(".");
    char errtxt[128];
    int ok;

    if (!dir)
        return PG_E_NOMEM;
    ok = access(dir, W_OK | X_OK) == 0;
    if (!ok)
        pg__job_set_err(job, "cannot save cookies to '%s': %s", path,
                        pg__errstr(errno, errtxt, sizeof(errtxt)));
    pg_free(dir);
    return ok ? PG_OK : PG_E_INVALID;
}

/*
 * The cookie jar: thread mode, the locked share of every handle; process
 * mode, the parent's (each worker starts its own from it, pool_proc.c
 * relays).  --load-cookies fills it now.
 */
static enum pg_code setup_jar(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    char err[PG_ERRBUF_SIZE];
    int threads = o->mode != PG_MODE_PROCESS;

    if (o->save_cookies && check_save_dir(job, o->save_cookies))
        return PG_E_INVALID;
    job->jar = pg__jar_new(threads, 0, &job->log);
    if (!job->jar)
        return PG_E_NOMEM;
    if (o->load_cookies &&
        pg__jar_load(job->jar, o->load_cookies, err, sizeof(err))) {
        pg__job_set_err(job, "%s", err);
        return PG_E_INVALID;
    }
    if (threads) {
        job->fetch.share = pg__jar_share(job->jar);
        job->fetch.jar = job->jar;
    }
    return PG_OK;
}

/* The first of the variables that is set and not empty, or NULL. */
static const char *env_first(const char *a, const char *b, const char *c)
{
    const char *v[3] = { a, b, c };
    size_t i;

    for (i = 0; i < 3; i++) {
        const char *s = v[i] ? getenv(v[i]) : NULL;

        if (s && *s)
            return s;
    }
    return NULL;
}

/* The proxies (proxy.h), copied: the environment may change. */
static enum pg_code setup_proxy(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    struct pg__fetch_config *f = &job->fetch;
    const char *v[3];
    size_t i;

    if (o->proxy && pg__proxy_check(o->proxy)) {
        pg__job_set_err(job, "unsupported proxy '%s' (http, https, "
                        "socks4, socks4a, socks5 or socks5h)", o->proxy);
        return PG_E_INVALID;
    }
    v[0] = o->proxy ? o->proxy : env_first("http_proxy", "all_proxy",
                                           "ALL_PROXY");
    v[1] = o->proxy ? o->proxy : env_first("https_proxy", "HTTPS_PROXY",
                                           NULL);
    if (!v[1])
        v[1] = env_first("all_proxy", "ALL_PROXY", NULL);
    v[2] = o->no_proxy ? o->no_proxy : env_first("no_proxy", "NO_PROXY",
                                                 NULL);
    for (i = 0; i < 3; i++) {
        if (v[i] && !(job->proxy_env[i] = pg__strdup(v[i])))
            return PG_E_NOMEM;
    }
    f->proxy_http = job->proxy_env[0];
    f->proxy_https = job->proxy_env[1];
    f->no_proxy = job->proxy_env[2];
    return PG_OK;
}

void pg__options_finish(struct pg_job *job)
{
    char err[PG_ERRBUF_SIZE];

    if (!job->o->save_cookies || !job->jar)
        return;
    if (pg__jar_save(job->jar, job->o->save_cookies, err, sizeof(err))) {
        pg__log(&job->log, PG_LOG_ERROR, "%s", err);
        if (!job->fatal) {
            pg__job_set_err(job, "%s", err);
            job->fatal = PG_E_FATAL;
        }
    }
}

enum pg_code pg__options_fetch(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    struct pg__fetch_config *f = &job->fetch;
    enum pg_code rc;
    size_t i;

    for (i = 0; i < o->n_headers; i++) {
        struct curl_slist *l = curl_slist_append(job->headers,
                                                 o->headers[i]);

        if (!l)
            return PG_E_NOMEM;
        job->headers = l;
    }
    if (o->user_agent) {
        job->user_agent = pg__strdup(o->user_agent);
    } else {
        char ua[64];

        snprintf(ua, sizeof(ua), "pagegrab/%s", PG_VERSION);
        job->user_agent = pg__strdup(ua);
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
    f->referer = !o->no_referer;
    f->outdir_fd = job->save.outdir_fd;
    f->log = &job->log;
    f->max_size = o->max_size;
    f->abort_flag = &job->abort_now;
    /* SHA-256 costs as much CPU as the rest of a large transfer: only
     * when a record, --dedup or a {hash} name uses it. */
    f->hash = o->manifest_path || o->dedup || o->hash_bodies;
    f->sync = o->sync;
    f->ca_file = o->ca_certificate;
    f->proxy_ca_file = o->proxy_ca_certificate;
    f->no_verify = o->no_check_certificate;
    /* Once per job, not per URL or per worker. */
    if (o->no_check_certificate)
        pg__log(&job->log, PG_LOG_WARN, "--no-check-certificate: HTTPS "
                "certificates and host names are not checked; anyone on "
                "the path can read and alter these transfers");
    else if (o->ca_certificate)
        pg__log(&job->log, PG_LOG_DEBUG, "CA certificates of '%s' %s the "
                "system store", o->ca_certificate, pg__tls_ca_mode());
    rc = setup_proxy(job);
    return rc ? rc : setup_jar(job);
}
