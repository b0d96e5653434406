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

struct pg_job {
    /* First: pg_result_save() reaches it through res->job (save.h). */
    struct pg__saver save;     /* output dir fd, saved names, --dedup */
    const struct pg_options *o;
    struct pg__logger log;
    struct pg__fetch_config fetch;
    struct curl_slist *headers;
    char *user_agent;

    struct pg__input *in;      /* NULL without input_path */
    size_t next_arg;           /* next of o->urls to queue */
    int input_done;
    uint64_t next_id;

    struct pg__pool *pool;
    struct pg__frontier fr;
    struct pg__manifest man;

    /* Extraction and crawling. */
    int crawl;                 /* input URLs are pages to parse */
    struct pg__extract_config xcfg;
    struct pg__regex_list *accept, *reject;
    struct pg__nameset start_hosts; /* hashes of the input hosts */
    struct pg__dedup origins;  /* --header: the input origins (the map's
                                  keys; values unused) */
    uint64_t discovered;       /* links queued or recorded */

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
    struct pg__nameset done;   /* --resume: URLs already ok */
    double last_sync;

    struct pg_stats stats;
    struct pg__latency lat;    /* transfer times */
    double t0;
    char errmsg[PG_ERRBUF_SIZE];
};

/* Seconds on the monotonic clock. */
double pg__now(void);

#endif
