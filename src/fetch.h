/*
 * fetch.h - one worker's libcurl transfer engine.
 *
 * A struct pg__fetcher owns one CURL easy handle, reused for every URL
 * the worker fetches so connections are kept alive.  It belongs to one
 * thread (thread mode) or to one worker process; it is never created in
 * a process that will fork afterwards.  pg__fetch() cannot fail: every
 * outcome is recorded in the item.
 *
 * Only http and https are allowed, also after a redirect; compressed
 * encodings are accepted; the body is streamed into a spool file in the
 * output directory and deleted again unless the transfer succeeded.
 */
#ifndef PG_FETCH_H
#define PG_FETCH_H

#include <stdint.h>

#include <curl/curl.h>

#include "item.h"
#include "log.h"

/* Settings shared read-only by every fetcher of a job. */
struct pg__fetch_config {
    long connect_timeout_ms;
    long timeout_ms;
    long stall_s;
    long max_redirs;
    const char *user_agent;
    struct curl_slist *headers;  /* owned by the job */
    int outdir_fd;
    const struct pg__logger *log;
};

struct pg__fetcher {
    CURL *easy;
    const struct pg__fetch_config *cfg;
    unsigned worker;     /* index, for spool names and logs */
    uint64_t seq;        /* spool name counter */
    char errbuf[CURL_ERROR_SIZE];

    /* Per transfer. */
    int fd;
    int discard;         /* non-2xx response: body not kept */
    uint64_t bytes;
    int write_errno;
};

/* Create the easy handle.  PG_E_NOMEM. */
enum pg_code pg__fetcher_init(struct pg__fetcher *f,
                              const struct pg__fetch_config *cfg,
                              unsigned worker) PG_WARN_UNUSED;

void pg__fetcher_release(struct pg__fetcher *f);

/* Fetch it->url into a spool file; fills the result part of it. */
void pg__fetch(struct pg__fetcher *f, struct pg__item *it);

#endif
