/*
 * job.h - struct pg_job, the main-side state of one run.
 *
 * The main thread (or parent process) owns everything here: the input
 * reader, the pool, the saver, the manifest and the statistics.
 * Workers see only the read-only fetch configuration.
 */
#ifndef PG_JOB_H
#define PG_JOB_H

#include <stdatomic.h>

#include <curl/curl.h>

#include "exec.h"
#include "extract.h"
#include "fetch.h"
#include "filter.h"
#include "frontier.h"
#include "input.h"
#include "item.h"
#include "latency.h"
#include "log.h"
#include "manifest.h"
#include "pool.h"
#include "save.h"
#include "shard.h"
#include "update.h"

struct pg_job {
    /* First: pg_result_save() reaches it through res->job (save.h). */
    struct pg__saver save;     /* output dir fd, saved names, --dedup */
    const struct pg_options *o;  /* &opt */
    struct pg_options opt;     /* the job's copy (pg__options_copy) */
    struct pg__logger log;
    struct pg__fetch_config fetch;
    struct curl_slist *headers;
    char *user_agent;
    struct pg__jar *jar;       /* the job's cookies (options.c) */
    char *proxy_env[3];        /* http, https proxy, no-proxy list */

    struct pg__input *in;      /* NULL without input_path */
    size_t next_arg;           /* next of o->urls to queue */
    int input_done;
    uint64_t next_id;

    struct pg__pool *pool;
    struct pg__frontier *fr;   /* from pg__job_setup_frontier() */
    char *shape;               /* shared frontier: the crawl-shaping
                                  options as text (job_fleet.c) */
    struct pg__manifest man;
    struct pg__exec exec;      /* --exec hooks (exec.c) */

    /* Extraction and crawling. */
    int crawl;                 /* input URLs are pages to parse */
    struct pg__extract_config xcfg;
    struct pg__regex_list *accept, *reject;
    struct pg__nameset start_hosts; /* hashes of the input hosts */
    struct pg__dedup origins;  /* --header: the input origins (the map's
                                  keys; values unused) */
    uint64_t discovered;       /* links queued or recorded */

    /* --shard (shard.c). */
    int shard_by_host;         /* the key is the host, not the URL */
    struct pg__divert divert;  /* --divert FILE */

    int stop;                  /* fatal: queue nothing more */
    enum pg_code fatal;
    int ran;

    /* Stopping (pg_job_stop may run in a signal handler). */
    atomic_int stop_req;       /* 0, 1 = soft, 2 = at once */
    atomic_int abort_now;      /* read by fetchers' progress callbacks */
    int wake[2];               /* self-pipe: pg_job_stop -> main loop */
    int interrupted;           /* a stop request was acted on */
    int aborted;
    double grace_end;

    /* Limits, retries, resume. */
    uint64_t pages_started;
    struct pg__nameset done;   /* --resume: RESUME_* bits per URL */
    struct pg__update upd;     /* --update: the old manifest (update.c) */
    double last_sync;

    struct pg_stats stats;
    struct pg__latency lat;    /* transfer times */
    double t0;
    char errmsg[PG_ERRBUF_SIZE];
};

/* For the job's own files (job.c, feed.c, crawl.c, exec.c). */
void pg__job_set_err(struct pg_job *job, const char *fmt, ...)
    PG_PRINTF(2, 3);
/* Stop the job: nothing new starts; `code` is what pg_job_run returns
 * (declared in exec.h). */
/* pg__job_record(job, r, line, len) (declared in exec.h): write r's
 * manifest record, or line (len bytes, formatted earlier) if not NULL;
 * synced with --sync; a failure stops the job. */
/* An item in its final state (or to retry): the pool's done callback. */
void pg__job_finish(struct pg__item *it, void *job);
/* Whether a result's body is kept (a parsed page is not with
 * images_only or list_only). */
int pg__job_keeps_body(const struct pg_job *job, const struct pg__item *it);
/* Call the progress callback. */
void pg__job_progress(struct pg_job *job);
/* The main loop (job_loop.c). */
void pg__job_run_loop(struct pg_job *job);

/* The frontier (job_fleet.c). */
/* With frontier: the job name and lease; PG_E_INVALID with a message. */
enum pg_code pg__options_check_frontier(struct pg_job *job) PG_WARN_UNUSED;
/* Create the frontier (memory or shared) and start it. */
enum pg_code pg__job_setup_frontier(struct pg_job *job) PG_WARN_UNUSED;

/* The options (options.c). */
/*
 * *dst becomes a copy of src that owns its strings and lists, with the
 * library's defaults resolved (depth).  PG_E_NOMEM (nothing to release).
 */
enum pg_code pg__options_copy(struct pg_options *dst,
                              const struct pg_options *src) PG_WARN_UNUSED;
void pg__options_release(struct pg_options *o);
/* The worker and transfer counts, the shard; PG_E_INVALID with a
 * message. */
enum pg_code pg__options_check(struct pg_job *job) PG_WARN_UNUSED;
/* Fill job->fetch (and the headers and user agent it points at). */
enum pg_code pg__options_fetch(struct pg_job *job) PG_WARN_UNUSED;
/* At the end of the job: --save-cookies (an error is fatal). */
void pg__options_finish(struct pg_job *job);

/* The input (feed.c). */
/* Open o->input_path (if any) and count the URLs to come. */
enum pg_code pg__feed_open(struct pg_job *job) PG_WARN_UNUSED;
/* Read one more input URL into the frontier; 0 when the input is done. */
int pg__feed_read(struct pg_job *job);

/* Discovered links and --resume (crawl.c). */
/* Check and compile what extraction and crawling need. */
enum pg_code pg__crawl_setup(struct pg_job *job) PG_WARN_UNUSED;
/* --resume: read the old manifest (o->manifest_path). */
enum pg_code pg__crawl_resume(struct pg_job *job) PG_WARN_UNUSED;
/* A link found on page: queue it, record it filtered, or drop it. */
void pg__crawl_discover(struct pg_job *job, const struct pg__item *page,
                        const struct pg__link *link);
/* A robots.txt fetch came back: turn it into rules for its origin. */
void pg__crawl_robots_done(struct pg_job *job, struct pg__item *it);
/* --resume: 1 (counted as done) when url needs no redoing. */
int pg__crawl_already_done(struct pg_job *job, const char *url);
/* --divert: open the file (PG_E_FATAL with a message); close it (a
 * failure stops the job, or is logged once it ended). */
enum pg_code pg__crawl_divert_open(struct pg_job *job) PG_WARN_UNUSED;
void pg__crawl_divert_close(struct pg_job *job);

/* --update (refresh.c; the map is update.h). */
/* Before the manifest is opened: the checks (PG_E_INVALID with a
 * message) and the old manifest read into the map (the names of saved
 * files claimed for their URLs). */
enum pg_code pg__update_setup(struct pg_job *job) PG_WARN_UNUSED;
/* After it is opened: this run's marker (unless --resume continues a
 * marked run). */
enum pg_code pg__update_start(struct pg_job *job) PG_WARN_UNUSED;
/* --resume with --update: whether the record on line `lineno` is of an
 * earlier run (before the marker): to refresh, not done in this one. */
int pg__update_before_mark(const struct pg_job *job, uint64_t lineno);
/* An item is handed to the pool: its validators, if it has any. */
void pg__update_attach(struct pg_job *job, struct pg__item *it);
/* An item in its final state, before its result callback: unchanged,
 * changed (saved over the recorded file), gone, or new. */
void pg__update_settle(struct pg_job *job, struct pg__item *it);
/* Count the result in the job's statistics. */
void pg__update_count(struct pg_job *job, const struct pg__item *it);
/* The run ended (manifest closed): compact it, unless interrupted. */
void pg__update_end(struct pg_job *job);

/* pg__exec_poll's view of the stop: the grace's end, a second request. */
#define HOOK_STOP(job) (job)->interrupted ? (job)->grace_end : 0, \
                       atomic_load(&(job)->stop_req) >= 2

#endif
