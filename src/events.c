/*
 * events.c - see events.h: a fetcher's multi handle, polled or driven
 * by curl_multi_socket_action() over epoll.
 *
 * Events: sockets are watched level-triggered with their descriptor as
 * the epoll data; libcurl's private socket pointer (curl_multi_assign())
 * says whether a socket is in the set already.  libcurl tells the socket
 * callback to forget a socket before it closes it, so a number that
 * comes back for a new connection is added afresh; the ready list of a
 * wait may still name a socket closed meanwhile, and libcurl ignores an
 * action on a socket it does not know.
 *
 * Should epoll_ctl() ever fail (out of memory, or the user's limit on
 * watched descriptors), the transfers go on: ev->failed is set and from
 * then on the handle is polled again (curl_multi_poll() and
 * curl_multi_perform() ask libcurl for every transfer's sockets; the
 * epoll set is no longer used).  pg__events_fall_back() does the same
 * on purpose: an abort must reach every transfer's progress callback,
 * and socket_action() runs only those with something to do.
 */
#include <limits.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "events.h"
#include "util.h"

static CURLM *new_multi(long maxconnects)
{
    CURLM *m = curl_multi_init();

    if (!m)
        return NULL;
    curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    /* Idle connections kept for reuse. */
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, maxconnects);
    return m;
}

/* Add fd to the set or change its events, whichever it needs. */
static int watch(int ep, int fd, unsigned events, int known)
{
    struct epoll_event e;

    memset(&e, 0, sizeof(e));
    e.events = events;
    e.data.fd = fd;
    if (epoll_ctl(ep, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &e) == 0)
        return 0;
    if (known && errno == ENOENT)
        return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    if (!known && errno == EEXIST)
        return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
    return -1;
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp)
{
    struct pg__events *ev = userp;
    unsigned events = 0;

    (void)easy;
    if (ev->failed)
        return 0;
    if (what == CURL_POLL_REMOVE) {
        /* (It may be closed already: nothing to undo then.) */
        epoll_ctl(ev->ep, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    if (what & CURL_POLL_IN)
        events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        events |= EPOLLOUT;
    if (watch(ev->ep, s, events, socketp != NULL) < 0) {
        ev->failed = 1;
        return 0;
    }
    if (!socketp)
        curl_multi_assign(ev->multi, s, ev);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct pg__events *ev = userp;

    (void)multi;
    ev->due = timeout_ms < 0 ? 0 : pg__now() + (double)timeout_ms / 1000;
    return 0;
}

void pg__events_fall_back(struct pg__events *ev)
{
    ev->failed = 1;
}

/* Drive m by events from now on: the epoll set, with the wake-up. */
static int events_start(struct pg__events *ev, CURLM *m)
{
    ev->ep = epoll_create1(EPOLL_CLOEXEC);
    if (ev->ep < 0)
        return -1;
    if (watch(ev->ep, ev->wake, EPOLLIN, 0) < 0) {
        close(ev->ep);
        ev->ep = -1;
        return -1;
    }
    ev->due = 0;
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, ev);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(m, CURLMOPT_TIMERDATA, ev);
    return 0;
}

enum pg_code pg__events_init(struct pg__events *ev, long maxconnects,
                             int events)
{
    memset(ev, 0, sizeof(*ev));
    ev->ep = -1;
    ev->maxconnects = maxconnects;
    ev->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ev->wake < 0)
        return errno == ENOMEM ? PG_E_NOMEM : PG_E_IO;
    ev->multi = new_multi(maxconnects);
    if (ev->multi && (!events || events_start(ev, ev->multi) == 0))
        return PG_OK;
    if (ev->multi)
        curl_multi_cleanup(ev->multi);
    ev->multi = NULL;
    close(ev->wake);
    ev->wake = -1;
    return PG_E_NOMEM;
}

void pg__events_release(struct pg__events *ev)
{
    /* (Its socket callback may still run here: the set stays open.) */
    if (ev->multi)
        curl_multi_cleanup(ev->multi);
    ev->multi = NULL;
    if (ev->ep >= 0)
        close(ev->ep);
    if (ev->wake >= 0)
        close(ev->wake);
    ev->ep = ev->wake = -1;
}

CURLMcode pg__events_add(struct pg__events *ev, CURL *easy)
{
    return curl_multi_add_handle(ev->multi, easy);
}

void pg__events_remove(struct pg__events *ev, CURL *easy)
{
    curl_multi_remove_handle(ev->multi, easy);
}

CURLMsg *pg__events_info_read(struct pg__events *ev)
{
    int left;

    return curl_multi_info_read(ev->multi, &left);
}

static void drain(int fd)
{
    uint64_t v;

    while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
}

static unsigned to_epoll(short waitfd_events)
{
    unsigned e = 0;

    if (waitfd_events & CURL_WAIT_POLLIN)
        e |= EPOLLIN;
    if (waitfd_events & CURL_WAIT_POLLPRI)
        e |= EPOLLPRI;
    if (waitfd_events & CURL_WAIT_POLLOUT)
        e |= EPOLLOUT;
    return e;
}

/* Make the set's extra descriptors those of extra[], with their events. */
static void sync_extra(struct pg__events *ev, struct curl_waitfd *extra,
                       unsigned n_extra)
{
    unsigned i, j;

    /* Drop those no longer asked for. */
    for (i = 0; i < ev->n_extra;) {
        for (j = 0; j < n_extra && extra[j].fd != ev->extra_fd[i]; j++)
            ;
        if (j < n_extra) {
            i++;
            continue;
        }
        epoll_ctl(ev->ep, EPOLL_CTL_DEL, ev->extra_fd[i], NULL);
        ev->n_extra--;
        ev->extra_fd[i] = ev->extra_fd[ev->n_extra];
        ev->extra_ev[i] = ev->extra_ev[ev->n_extra];
    }
    for (j = 0; j < n_extra; j++) {
        unsigned want = to_epoll(extra[j].events);

        for (i = 0; i < ev->n_extra && ev->extra_fd[i] != extra[j].fd; i++)
            ;
        if (i < ev->n_extra && ev->extra_ev[i] == want)
            continue;
        if (watch(ev->ep, extra[j].fd, want, i < ev->n_extra) < 0) {
            ev->failed = 1;
            return;
        }
        if (i == ev->n_extra) {
            ev->extra_fd[i] = extra[j].fd;
            ev->n_extra++;
        }
        ev->extra_ev[i] = want;
    }
}

/* extra[]'s revents from what epoll said of fd; 1 if fd is one. */
static int extra_ready(struct curl_waitfd *extra, unsigned n_extra,
                       const struct epoll_event *e)
{
    unsigned j;

    for (j = 0; j < n_extra; j++) {
        if (extra[j].fd != e->data.fd)
            continue;
        /* An error or hang-up reads as input: the reader finds out. */
        if (e->events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            extra[j].revents |= CURL_WAIT_POLLIN;
        if (e->events & EPOLLPRI)
            extra[j].revents |= CURL_WAIT_POLLPRI;
        if (e->events & EPOLLOUT)
            extra[j].revents |= CURL_WAIT_POLLOUT;
        return 1;
    }
    return 0;
}

/* One epoll_wait(): libcurl's ready sockets into ev->ready, extra[]'s
 * revents; how many were ready (not the wake-up). */
static int epoll_collect(struct pg__events *ev, struct curl_waitfd *extra,
                         unsigned n_extra, int timeout_ms)
{
    int n, i, counted = 0, kept = 0;

    n = epoll_wait(ev->ep, ev->ready, PG_EVENTS_BATCH, timeout_ms);
    for (i = 0; i < n; i++) {
        const struct epoll_event *e = &ev->ready[i];

        if (e->data.fd == ev->wake) {
            drain(ev->wake);
            continue;
        }
        counted++;
        if (!extra_ready(extra, n_extra, e))
            ev->ready[kept++] = *e;  /* a socket of libcurl's */
    }
    ev->n_ready = kept;
    return counted;
}

/* curl_multi_poll() of m with extra[] and one more descriptor, fd;
 * how many were ready, fd not counted; *fd_ready says if it was. */
static int poll_with(CURLM *m, struct curl_waitfd *extra, unsigned n_extra,
                     int fd, int timeout_ms, int *fd_ready)
{
    struct curl_waitfd w[PG_EVENTS_EXTRA + 1];
    unsigned j;
    int numfds = 0;

    for (j = 0; j < n_extra; j++) {
        w[j] = extra[j];
        w[j].revents = 0;
    }
    w[n_extra].fd = fd;
    w[n_extra].events = CURL_WAIT_POLLIN;
    w[n_extra].revents = 0;
    curl_multi_poll(m, w, n_extra + 1, timeout_ms, &numfds);
    for (j = 0; j < n_extra; j++)
        extra[j].revents = w[j].revents;
    *fd_ready = w[n_extra].revents != 0;
    return numfds - *fd_ready;
}

int pg__events_wait(struct pg__events *ev, struct curl_waitfd *extra,
                    unsigned n_extra, int timeout_ms)
{
    int n, ready;

    if (n_extra > PG_EVENTS_EXTRA)
        n_extra = PG_EVENTS_EXTRA;
    if (timeout_ms < 0)
        timeout_ms = INT_MAX;     /* (curl_multi_poll() takes no -1) */
    ev->n_ready = 0;
    ev->waited = 1;
    if (ev->ep < 0 || ev->failed) {                 /* polling */
        n = poll_with(ev->multi, extra, n_extra, ev->wake, timeout_ms,
                      &ready);
        if (ready)
            drain(ev->wake);
        return n;
    }
    if (ev->due > 0) {
        double left = ceil((ev->due - pg__now()) * 1000);

        if (left < 0)
            left = 0;
        if (left < timeout_ms)
            timeout_ms = (int)left;
    }
    sync_extra(ev, extra, n_extra);
    if (ev->failed)
        return pg__events_wait(ev, extra, n_extra, timeout_ms);
    for (n = 0; n < (int)n_extra; n++)
        extra[n].revents = 0;
    return epoll_collect(ev, extra, n_extra, timeout_ms);
}

void pg__events_run(struct pg__events *ev)
{
    int running, i;

    if (ev->ep < 0 || ev->failed) {
        ev->n_ready = 0;
        ev->waited = 0;
        curl_multi_perform(ev->multi, &running);
        return;
    }
    /* No wait since the last run (the caller had results at once): see
     * what is ready all the same. */
    if (!ev->waited)
        epoll_collect(ev, NULL, 0, 0);
    ev->waited = 0;
    for (i = 0; i < ev->n_ready; i++) {
        unsigned e = ev->ready[i].events;
        int mask = 0;

        if (e & EPOLLIN)
            mask |= CURL_CSELECT_IN;
        if (e & EPOLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (e & (EPOLLERR | EPOLLHUP))
            mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(ev->multi, ev->ready[i].data.fd, mask,
                                 &running);
    }
    ev->n_ready = 0;
    if (ev->due > 0 && pg__now() >= ev->due) {
        ev->due = 0;          /* (the callback may set it again) */
        if (curl_multi_socket_action(ev->multi, CURL_SOCKET_TIMEOUT, 0,
                                     &running) != CURLM_OK) {
            long ms = -1;

            /* It may have failed before telling the callback: ask. */
            curl_multi_timeout(ev->multi, &ms);
            on_timer(ev->multi, ms, ev);
        }
    }
}

void pg__events_wakeup(struct pg__events *ev)
{
    uint64_t one = 1;

    /* A full counter (never, in practice) still wakes the wait. */
    while (write(ev->wake, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}
