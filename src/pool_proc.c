/*
 * pool_proc.c - the pre-forked process backend of the pool (see pool.h):
 * its parent side.  The worker program that runs in each forked child
 * is worker.c; the frames both sides exchange are encoded and decoded in
 * codec.c.
 *
 * N worker processes are forked once at start, each connected to the
 * parent by its own socketpair.  The parent writes JOB frames (id, url)
 * and reads back RESULT and LOG frames (wire.h); each worker holds at
 * most `depth` items, twice its window while it has one (WINDOW frames
 * say it grew).  The parent is single-threaded and polls every worker
 * socket.
 *
 * A worker whose socket reaches EOF or sends garbage is reaped
 * (waitpid), its leftover spool files are removed, the items it held are
 * handed back with the error, and a replacement is forked.  No zombie is
 * left: every fork has a matching waitpid, in death handling or stop.
 *
 * Fork discipline: all signals are blocked around fork(); stdio is
 * flushed first; the child resets signal dispositions, closes the other
 * workers' sockets and the parent-only fds, builds its own CURL handle
 * and leaves with _exit().
 */
#define _DEFAULT_SOURCE /* wait4() */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "codec.h"
#include "fds.h"
#include "mem.h"
#include "pool.h"
#include "spool.h"
#include "worker.h"

/* A worker's process name (at most 15 bytes: the kernel's limit). */
#define PG_WORKER_COMM "pagegrab-worker"

struct proc_worker {
    pid_t pid;               /* 0 when not running */
    int fd;                  /* parent end of the socketpair, or -1 */
    unsigned index;
    struct pg__wire_rx rx;
    struct pg__item *held;   /* items sent and not yet answered */
    unsigned n_held;
    struct pg__buf outq;      /* JOB frames not yet written */
    struct pg__links pend;   /* links of item pend_id, from LINKS frames
                                ahead of its RESULT */
    uint64_t pend_id;
    unsigned window;         /* transfers it may run at once: its window
                                (fetch.c) as WINDOW frames tell it, or K */
    unsigned depth;          /* items it may hold: twice its window */
    int alone;               /* holds a PG_ITEM_ALONE item: gets no other */
    int draining;            /* gets nothing until idle, then an alone one */
};

struct proc_pool {
    struct pg__pool base;
    struct proc_worker *w;
    struct pollfd *pfd;
    struct pg__buf out;       /* frame being sent */
    struct pg__item *wait_head, *wait_tail; /* not sent yet (no worker
                                               could take them) */
    int stopping;
    int cancelled;           /* cancel(): waiting items go back unsent */
};

/* ---- parent side ------------------------------------------------------ */

/*
 * A new worker's window: the transfers it runs at once (fetch.c), its
 * K without one.  It may hold twice that (the pool's depth at most), so
 * that items do not pile up behind a worker that runs few of them while
 * another idles; WINDOW frames raise both as the window grows.
 */
static void start_window(const struct proc_pool *pp, struct proc_worker *w)
{
    const struct pg__pool_config *cfg = &pp->base.cfg;
    unsigned k = cfg->per_worker < 1 ? 1 : cfg->per_worker;
    unsigned win = cfg->fetch ? cfg->fetch->window : 0;

    w->window = k > 1 && win > 0 && win < k ? win : k;
    w->depth = w->window < k && 2 * w->window < cfg->depth ?
               2 * w->window : cfg->depth;
}

static enum pg_code spawn(struct proc_pool *pp, struct proc_worker *w)
{
    sigset_t all, old;
    int sv[2], err;
    pid_t pid, parent = getpid();

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return PG_E_WORKER;
    fcntl(sv[0], F_SETFD, FD_CLOEXEC);
    fcntl(sv[1], F_SETFD, FD_CLOEXEC);

    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        close(sv[0]);
        pg__worker_signals(parent);
        /* The parent's death, even by SIGKILL, is a SIGTERM here; if it
         * died before this line, the worker is already an orphan. */
#ifdef PR_SET_PDEATHSIG
        prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
#ifdef PR_SET_NAME
        /* `ps -C pagegrab-worker`, top and pkill tell workers from the
         * parent (and from whatever else the parent runs). */
        prctl(PR_SET_NAME, PG_WORKER_COMM);
#endif
        if (getppid() != parent)
            _exit(0);
        sigprocmask(SIG_SETMASK, &old, NULL);
        w->fd = -1;
        pg__close_inherited(pp->base.cfg.parent_fds,
                            pp->base.cfg.n_parent_fds, sv[1],
                            pp->base.cfg.fetch->outdir_fd);
        pg__worker_main(&pp->base.cfg, w->index, sv[1]);
        _exit(0);
    }
    err = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        errno = err;
        return PG_E_WORKER;
    }
    w->pid = pid;
    w->fd = sv[0];
    start_window(pp, w);
    /* The parent never blocks on one worker: JOB frames wait in outq. */
    fcntl(w->fd, F_SETFL, O_NONBLOCK);
    pg__wire_rx_init(&w->rx);
    /* (One frame more: a COOKIES frame between JOBs.) */
    pg__buf_init(&w->outq, (size_t)PG_WIRE_MAX * (pp->base.cfg.depth + 2));
    return PG_OK;
}

static enum pg_code pp_start(struct pg__pool *p)
{
    struct proc_pool *pp = (struct proc_pool *)p;
    unsigned i, ok = 0;

    pp->w = pg__calloc(p->cfg.workers, sizeof(*pp->w));
    pp->pfd = pg__calloc(p->cfg.workers + 2, sizeof(*pp->pfd));
    if (!pp->w || !pp->pfd)
        return PG_E_NOMEM;
    for (i = 0; i < p->cfg.workers; i++) {
        pp->w[i].fd = -1;
        pp->w[i].index = i;
    }
    for (i = 0; i < p->cfg.workers; i++) {
        if (spawn(pp, &pp->w[i]) == PG_OK)
            ok++;
    }
    if (ok == 0) {
        snprintf(p->errmsg, sizeof(p->errmsg),
                 "cannot start any worker process");
        return PG_E_WORKER;
    }
    return PG_OK;
}

static struct proc_worker *pick(struct proc_pool *pp)
{
    struct proc_worker *best = NULL;
    unsigned i;

    for (i = 0; i < pp->base.cfg.workers; i++) {
        struct proc_worker *w = &pp->w[i];

        if (w->fd < 0 || w->alone || w->draining ||
            w->n_held >= w->depth)
            continue;
        if (!best || w->n_held < best->n_held)
            best = w;
    }
    return best;
}

static void hold(struct proc_worker *w, struct pg__item *it)
{
    it->next = w->held;
    w->held = it;
    w->n_held++;
}

static struct pg__item *unhold(struct proc_worker *w, uint64_t id)
{
    struct pg__item **pp;

    for (pp = &w->held; *pp; pp = &(*pp)->next) {
        struct pg__item *it = *pp;

        if (it->id == id) {
            *pp = it->next;
            it->next = NULL;
            w->n_held--;
            if (it->flags & PG_ITEM_ALONE)
                w->alone = 0;
            return it;
        }
    }
    return NULL;
}

/* Wait for a worker process; its peak RSS is added to the pool's. */
static void reap(struct proc_pool *pp, pid_t pid, int *status)
{
    struct rusage ru;
    int st = 0;

    memset(&ru, 0, sizeof(ru));
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
        ;
    pp->base.workers_peak_rss_kb += (uint64_t)ru.ru_maxrss;
    if (status)
        *status = st;
}

/* The worker's socket is gone: reap it, hand its items back, replace. */
static void worker_died(struct proc_pool *pp, struct proc_worker *w,
                        pg__pool_done_cb cb, void *ud)
{
    char why[96];
    int status = 0;
    pid_t pid = w->pid;
    struct pg__item *it;
    unsigned k = w->window < 1 ? 1 : w->window;
    unsigned unstarted;
    int suspects;

    close(w->fd);
    w->fd = -1;
    pg__wire_rx_release(&w->rx);
    pg__buf_release(&w->outq);
    pg__links_release(&w->pend);
    reap(pp, pid, &status);
    w->pid = 0;
    if (WIFSIGNALED(status))
        snprintf(why, sizeof(why), "killed by signal %d",
                 WTERMSIG(status));
    else
        snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(status));
    if (w->n_held > 0 || WIFSIGNALED(status) || WEXITSTATUS(status))
        pg__log(pp->base.cfg.log, PG_LOG_WARN,
                "worker process %ld died (%s) holding %u URL(s)",
                (long)pid, why, w->n_held);
    pg__spool_remove_pid(pp->base.cfg.fetch->outdir_fd, pid);
    /* A worker starts items in the order they were sent and runs at
     * most its window at once (K without one; it says it grew before it
     * starts more); `held` is newest first, so only the last that many
     * can have started.  One started item takes the blame; several are
     * suspects, each run again in a worker of its own (PG_ITEM_ALONE),
     * where a crash is its own.  The others are re-queued without
     * blame. */
    unstarted = w->n_held > k ? w->n_held - k : 0;
    suspects = w->n_held - unstarted > 1;
    w->alone = w->draining = 0;
    while ((it = w->held) != NULL) {
        int started = unstarted == 0;

        if (unstarted > 0)
            unstarted--;
        w->held = it->next;
        w->n_held--;
        it->next = NULL;
        pg__item_reset_result(it);
        if (started) {
            it->res.attempts++;
            if (suspects)
                it->flags |= PG_ITEM_ALONE;
            else
                it->crashes++;
        }
        /* The job re-queues it until it has cost too many workers. */
        pg__item_error(it, PG_ST_WORKER_CRASH, started ?
                       "worker process died (%s) while fetching it" :
                       "worker process died (%s) before fetching it", why);
        pp->base.inflight--;
        cb(it, ud);
    }
    if (!pp->stopping && spawn(pp, w) != PG_OK)
        pg__log(pp->base.cfg.log, PG_LOG_ERROR,
                "cannot replace worker process %u", w->index);
}

/* Queue a JOB frame for w (written by flush_jobs()). */
static void send_to(struct proc_pool *pp, struct proc_worker *w,
                    struct pg__item *it)
{
    enum pg_code rc;

    hold(w, it);
    if (it->flags & PG_ITEM_ALONE)
        w->alone = 1;
    rc = pg__codec_put_job(&pp->out, it);
    if (!rc)
        rc = pg__buf_add(&w->outq, pp->out.ptr, pp->out.len);
    if (rc) {
        /* The next wait reaps the worker, and the item comes back with
         * the error. */
        shutdown(w->fd, SHUT_RDWR);
    }
}

static int any_worker(const struct proc_pool *pp)
{
    unsigned i;

    for (i = 0; i < pp->base.cfg.workers; i++) {
        if (pp->w[i].fd >= 0)
            return 1;
    }
    return 0;
}

/*
 * A suspect goes to an idle worker, which then gets nothing else; when
 * none is idle, the least busy one is drained for it.  Returns the
 * worker to send it to now, or NULL (it waits).
 */
static struct proc_worker *pick_alone(struct proc_pool *pp)
{
    struct proc_worker *drain = NULL;
    unsigned i;

    for (i = 0; i < pp->base.cfg.workers; i++) {
        struct proc_worker *w = &pp->w[i];

        if (w->fd < 0 || w->alone)
            continue;
        if (w->n_held == 0) {
            w->draining = 0;
            return w;
        }
        if (w->draining)
            return NULL;        /* one drains at a time */
        if (!drain || w->n_held < drain->n_held)
            drain = w;
    }
    if (drain)
        drain->draining = 1;
    return NULL;
}

/* Send what waits, in order, as far as workers can take it. */
static void dispatch(struct proc_pool *pp)
{
    struct pg__item **link = &pp->wait_head, *it;

    pp->wait_tail = NULL;
    while ((it = *link) != NULL) {
        struct proc_worker *w = (it->flags & PG_ITEM_ALONE) ?
                                pick_alone(pp) : pick(pp);

        if (!w) {
            pp->wait_tail = it;
            link = &it->next;
            continue;
        }
        *link = it->next;
        it->next = NULL;
        send_to(pp, w, it);
    }
}

static void pp_submit(struct pg__pool *p, struct pg__item *it)
{
    struct proc_pool *pp = (struct proc_pool *)p;
    struct proc_worker *w;

    if (!any_worker(pp)) {
        /* No live worker: the item comes back from the next wait. */
        pg__item_reset_result(it);
        it->res.attempts++;
        pg__item_error(it, PG_ST_NETWORK_ERROR, "no worker process left");
        it->next = pp->w[0].held;
        pp->w[0].held = it;
        pp->w[0].n_held++;
        return;
    }
    if (pp->base.cfg.per_worker <= 1)
        it->flags &= ~(unsigned)PG_ITEM_ALONE;  /* alone anyway */
    w = pp->wait_head ? NULL : (it->flags & PG_ITEM_ALONE) ?
        pick_alone(pp) : pick(pp);
    if (w) {
        send_to(pp, w, it);
        return;
    }
    it->next = NULL;
    if (pp->wait_tail)
        pp->wait_tail->next = it;
    else
        pp->wait_head = it;
    pp->wait_tail = it;
}

/* Write as much of w's queued JOB frames as its socket takes now. */
static void flush_jobs(struct proc_worker *w)
{
    while (w->fd >= 0 && w->outq.len > 0) {
        ssize_t n = send(w->fd, w->outq.ptr, w->outq.len,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;       /* the rest when poll says POLLOUT */
        if (n <= 0) {
            shutdown(w->fd, SHUT_RDWR);  /* reaped by the next wait */
            pg__buf_reset(&w->outq);
            return;
        }
        pg__buf_consume(&w->outq, (size_t)n);
    }
}

/* The held item with this id, left held; NULL if none. */
static struct pg__item *find_held(struct proc_worker *w, uint64_t id)
{
    struct pg__item *it;

    for (it = w->held; it; it = it->next) {
        if (it->id == id)
            return it;
    }
    return NULL;
}

/* A LOG frame: the worker's line, logged here. */
static void on_log(struct proc_pool *pp, struct pg__wire_reader *r)
{
    enum pg_log_level level;
    const char *s = pg__codec_get_log(r, &level);

    if (s)
        pg__log(pp->base.cfg.log, level, "%s", s);
}

/* A LINKS frame: links of a held item, kept until its RESULT. */
static void on_links(struct proc_worker *w, struct pg__wire_reader *r,
                     int *bad)
{
    uint64_t id = pg__wire_get_u64(r);

    if (r->bad || !find_held(w, id)) {
        *bad = 1;
        return;
    }
    if (w->pend_id != id || w->pend.n == 0) {
        pg__links_release(&w->pend);
        w->pend_id = id;
    }
    if (pg__codec_get_links(r, &w->pend) != PG_OK)
        *bad = 1;
}

/* A RESULT frame: the held item is done and goes back to the job. */
static void on_result(struct proc_pool *pp, struct proc_worker *w,
                      struct pg__wire_reader *r, pg__pool_done_cb cb,
                      void *ud, int *bad)
{
    struct pg__item *it = unhold(w, pg__wire_get_u64(r));
    enum pg_code rc;

    if (!it) {
        *bad = 1;
        return;
    }
    pg__item_reset_result(it);
    if (w->pend_id == it->id && w->pend.n > 0) {
        it->links = w->pend;       /* reset_result left it empty */
        pg__links_init(&w->pend);
    }
    rc = pg__codec_get_result(r, it);
    /* An item handed back unstarted was not an attempt. */
    if (!(it->flags & (PG_ITEM_CANCELLED | PG_ITEM_RECALLED)))
        it->res.attempts++;
    if (rc) {
        hold(w, it);  /* handed back as a crash when the worker is reaped */
        *bad = 1;
        return;
    }
    pp->base.inflight--;
    cb(it, ud);
}

/*
 * A COOKIES frame: cookies w's responses set.  Those new to the job's jar
 * are forwarded to every other worker, ahead of any JOB sent later.
 */
static void on_cookies(struct proc_pool *pp, struct proc_worker *from,
                       const void *payload, size_t len, int *bad)
{
    char **v;
    unsigned i;

    if (!pp->base.cfg.jar)
        return;
    v = pg__codec_get_cookies(payload, len, pp->base.cfg.jar, bad);
    for (i = 0; v && i < pp->base.cfg.workers; i++) {
        struct proc_worker *w = &pp->w[i];
        size_t at = 0;

        while (w != from && w->fd >= 0 && v[at]) {
            if (pg__codec_put_cookies(&pp->out, v, &at) ||
                pg__buf_add(&w->outq, pp->out.ptr, pp->out.len)) {
                pg__log(pp->base.cfg.log, PG_LOG_WARN, "cookies not "
                        "relayed to worker process %ld", (long)w->pid);
                break;
            }
        }
    }
    pg__jar_lines_free(v);
}

/* The worker's window grew: it may hold twice that now. */
static void on_window(struct proc_pool *pp, struct proc_worker *w,
                      struct pg__wire_reader *r, int *bad)
{
    unsigned n = pg__codec_get_window(r), max = pp->base.cfg.depth;

    if (n == 0 || n > pp->base.cfg.per_worker) {
        *bad = 1;
        return;
    }
    if (n > w->window)
        w->window = n;
    if (n > max / 2)
        w->depth = max;
    else if (2 * n > w->depth)
        w->depth = 2 * n;
    pg__pool_window(&pp->base, n);
}

static void on_frame(struct proc_pool *pp, struct proc_worker *w,
                     unsigned type, const void *payload, size_t len,
                     pg__pool_done_cb cb, void *ud, int *bad)
{
    struct pg__wire_reader r;

    pg__wire_reader_init(&r, payload, len);
    if (type == PG_WIRE_LOG)
        on_log(pp, &r);
    else if (type == PG_WIRE_LINKS)
        on_links(w, &r, bad);
    else if (type == PG_WIRE_RESULT)
        on_result(pp, w, &r, cb, ud, bad);
    else if (type == PG_WIRE_COOKIES)
        on_cookies(pp, w, payload, len, bad);
    else if (type == PG_WIRE_WINDOW)
        on_window(pp, w, &r, bad);
    else
        *bad = 1;
}

/* Items that wait and will never be sent come back now. */
static void hand_back_waiting(struct proc_pool *pp, pg__pool_done_cb cb,
                              void *ud)
{
    struct pg__item *it;
    int none = !any_worker(pp);

    if (!pp->cancelled && !none)
        return;
    while ((it = pp->wait_head) != NULL) {
        pp->wait_head = it->next;
        it->next = NULL;
        pg__item_reset_result(it);
        if (pp->cancelled) {
            it->flags |= PG_ITEM_CANCELLED;
        } else {
            it->res.attempts++;
            pg__item_error(it, PG_ST_NETWORK_ERROR,
                           "no worker process left");
        }
        pp->base.inflight--;
        cb(it, ud);
    }
    pp->wait_tail = NULL;
}

static enum pg_code pp_wait(struct pg__pool *p, int timeout_ms,
                            pg__pool_done_cb cb, void *ud)
{
    struct proc_pool *pp = (struct proc_pool *)p;
    unsigned i, n = p->cfg.workers;
    int rc;

    hand_back_waiting(pp, cb, ud);
    dispatch(pp);
    for (i = 0; i < n; i++) {
        flush_jobs(&pp->w[i]);
        pp->pfd[i].fd = pp->w[i].fd;
        pp->pfd[i].events = POLLIN | (pp->w[i].outq.len ? POLLOUT : 0);
        pp->pfd[i].revents = 0;
    }
    pp->pfd[n].fd = p->cfg.wake_fd;
    pp->pfd[n].events = POLLIN;
    pp->pfd[n].revents = 0;
    pp->pfd[n + 1].fd = p->cfg.wake_fd2;
    pp->pfd[n + 1].events = POLLIN;
    pp->pfd[n + 1].revents = 0;
    rc = poll(pp->pfd, n + 2, timeout_ms);
    if (rc < 0 && errno != EINTR) {
        snprintf(p->errmsg, sizeof(p->errmsg), "poll failed");
        return PG_E_WORKER;
    }
    for (i = 0; i < n; i++) {
        struct proc_worker *w = &pp->w[i];
        const void *payload;
        unsigned type;
        size_t len;
        int got, bad = 0;

        if (w->fd < 0) {
            /* Items parked when no worker was alive. */
            if (w->held && pp->w[i].pid == 0) {
                struct pg__item *it = w->held;

                w->held = it->next;
                w->n_held--;
                it->next = NULL;
                pp->base.inflight--;
                cb(it, ud);
            }
            continue;
        }
        if (pp->pfd[i].revents & POLLOUT)
            flush_jobs(w);
        if (!(pp->pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (pg__wire_rx_read(&w->rx, w->fd)) {
            bad = 1;
        }
        while (!bad && (got = pg__wire_rx_next(&w->rx, &type, &payload,
                                               &len)) != 0) {
            if (got < 0) {
                bad = 1;
                break;
            }
            on_frame(pp, w, type, payload, len, cb, ud, &bad);
        }
        if (bad) {
            if (w->pid > 0)
                kill(w->pid, SIGKILL);
            worker_died(pp, w, cb, ud);
        }
    }
    return PG_OK;
}

static void pp_abort(struct pg__pool *p)
{
    struct proc_pool *pp = (struct proc_pool *)p;
    unsigned i;

    for (i = 0; pp->w && i < p->cfg.workers; i++) {
        if (pp->w[i].pid > 0 && pp->w[i].n_held > 0)
            kill(pp->w[i].pid, SIGUSR1);
    }
}

static void pp_cancel(struct pg__pool *p)
{
    struct proc_pool *pp = (struct proc_pool *)p;
    unsigned i;

    pp->cancelled = 1;
    for (i = 0; pp->w && i < p->cfg.workers; i++) {
        if (pp->w[i].pid > 0)
            kill(pp->w[i].pid, SIGUSR2);
    }
}

/*
 * Reap every worker in the order they exit (their sockets are closed),
 * so that none is left a zombie while a slower one is still finishing.
 */
static void reap_all(struct proc_pool *pp)
{
    unsigned i, left = 0;

    for (i = 0; i < pp->base.cfg.workers; i++)
        left += pp->w[i].pid > 0;
    while (left > 0) {
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        int reaped = 0;

        for (i = 0; i < pp->base.cfg.workers; i++) {
            struct proc_worker *w = &pp->w[i];
            struct rusage ru;
            pid_t r;
            int st;

            if (w->pid <= 0)
                continue;
            memset(&ru, 0, sizeof(ru));
            r = wait4(w->pid, &st, WNOHANG, &ru);
            if (r == 0 || (r < 0 && errno == EINTR))
                continue;
            if (r == w->pid)
                pp->base.workers_peak_rss_kb += (uint64_t)ru.ru_maxrss;
            w->pid = 0;   /* reaped, or not ours to wait for (ECHILD) */
            left--;
            reaped = 1;
        }
        if (left > 0 && !reaped)
            nanosleep(&ts, NULL);
    }
}

static void pp_stop(struct pg__pool *p, pg__pool_done_cb cb, void *ud)
{
    struct proc_pool *pp = (struct proc_pool *)p;
    unsigned i;

    pp->stopping = 1;
    if (!pp->w)
        return;
    /* Collect what is still in flight, then close: EOF ends a worker. */
    while (p->inflight > 0) {
        if (pp_wait(p, -1, cb, ud) != PG_OK)
            break;
    }
    for (i = 0; i < p->cfg.workers; i++) {
        struct proc_worker *w = &pp->w[i];

        if (w->fd >= 0) {
            close(w->fd);
            w->fd = -1;
        }
        pg__wire_rx_release(&w->rx);
        pg__buf_release(&w->outq);
        pg__links_release(&w->pend);
    }
    reap_all(pp);
}

static void pp_free(struct pg__pool *p)
{
    struct proc_pool *pp = (struct proc_pool *)p;

    pg__buf_release(&pp->out);
    pg_free(pp->w);
    pg_free(pp->pfd);
    pg_free(pp);
}

static const struct pg__pool_backend proc_backend = {
    pp_start, pp_submit, pp_wait, pp_abort, pp_cancel, pp_stop, pp_free
};

struct pg__pool *pg__pool_proc_new(void)
{
    struct proc_pool *pp = pg__calloc(1, sizeof(*pp));

    if (!pp)
        return NULL;
    pp->base.be = &proc_backend;
    pg__buf_init(&pp->out, PG_WIRE_MAX + PG_WIRE_HEADER);
    return &pp->base;
}
