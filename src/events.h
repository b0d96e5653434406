/*
 * events.h - the multi handle of a fetcher and how it waits.
 *
 * Two ways to drive a multi handle, each the faster one somewhere:
 *
 *  - polling: curl_multi_poll() and curl_multi_perform() look at every
 *    transfer on every call.  Cheapest for a few transfers (against
 *    nginx on 127.0.0.1, 16 transfers a worker: 4 % less CPU than the
 *    other way), but with 128 a worker spent a third of its CPU there,
 *    a poll() over 128 sockets and a pass over 128 handles for each
 *    response;
 *  - events: curl_multi_socket_action() over epoll.  libcurl says which
 *    sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call it
 *    back (CURLMOPT_TIMERFUNCTION); only the transfers whose sockets
 *    are ready run.  23 % less CPU at 2 x 128 transfers against a
 *    server 50 ms away.
 *
 * Which one is chosen when the handle is made (fetch.c: by the most
 * transfers the fetcher may run, PG_EVENTS_FROM).  A handle cannot be
 * moved from one to the other while it runs (libcurl tells the socket
 * callback of some changes only under socket_action), and a second
 * handle for the transfers that start later would not reuse the first
 * one's connections: a server would see new ones opened while the old
 * ones idle.
 *
 * One per fetcher, made and used by the thread or process that runs its
 * transfers; pg__events_wakeup() alone may be called from any thread.
 */
#ifndef PG_EVENTS_H
#define PG_EVENTS_H

#include <sys/epoll.h>

#include <curl/curl.h>

#include "pagegrab.h"

/* Ready descriptors taken from the kernel in one wait (the rest come in
 * the next one). */
#define PG_EVENTS_BATCH 128
/* The caller's own descriptors watched in the same wait, at most. */
#define PG_EVENTS_EXTRA 4

struct pg__events {
    CURLM *multi;
    long maxconnects;
    int wake;                 /* eventfd of pg__events_wakeup() */
    int ep;                   /* events: the epoll instance, else -1 */
    double due;               /* events: libcurl's timer, 0: none */
    int failed;               /* events: polled again (events.c) */
    int waited;               /* a wait since the last run */
    int n_ready;
    struct epoll_event ready[PG_EVENTS_BATCH];
    /* The caller's descriptors now in the epoll set, and their events. */
    unsigned n_extra;
    int extra_fd[PG_EVENTS_EXTRA];
    unsigned extra_ev[PG_EVENTS_EXTRA];
};

/*
 * A multi handle that keeps maxconnects idle connections, polled, or
 * driven by events when events is non-zero.  ev must not move
 * afterwards.  PG_E_NOMEM or PG_E_IO; on failure nothing is left to
 * release.
 */
enum pg_code pg__events_init(struct pg__events *ev, long maxconnects,
                             int events) PG_WARN_UNUSED;

/* Clean the handle up (remove the transfers first) and close the
 * descriptors. */
void pg__events_release(struct pg__events *ev);

/* Whether transfers that start now are driven by events. */
static inline int pg__events_on(const struct pg__events *ev)
{
    return ev->ep >= 0;
}

/* Start easy / take it out. */
CURLMcode pg__events_add(struct pg__events *ev, CURL *easy);
void pg__events_remove(struct pg__events *ev, CURL *easy);

/* The next message, as curl_multi_info_read(). */
CURLMsg *pg__events_info_read(struct pg__events *ev);

/* Poll the handle(s) from now on, as when epoll fails: for an abort,
 * which every transfer's progress callback must see at once. */
void pg__events_fall_back(struct pg__events *ev);

/*
 * Wait up to timeout_ms (negative: no limit) for a transfer to need
 * attention, one of extra[] (n_extra <= PG_EVENTS_EXTRA; revents filled
 * in as curl_multi_poll() does) or pg__events_wakeup().  Returns how
 * many descriptors are ready (a wake-up is not counted).
 */
int pg__events_wait(struct pg__events *ev, struct curl_waitfd *extra,
                    unsigned n_extra, int timeout_ms);

/* Advance the transfers that need it; finished ones are then in
 * pg__events_info_read(). */
void pg__events_run(struct pg__events *ev);

/* Make a wait return now (or the next one at once); any thread. */
void pg__events_wakeup(struct pg__events *ev);

#endif
