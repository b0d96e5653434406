/*
 * worker.c - the worker program of the process pool: what runs in a
 * child forked by pool_proc.c's spawn().
 *
 * A worker reads JOB frames from its socket, fetches them with its own
 * fetcher (one blocking transfer, or K on the multi interface), and
 * writes back LINKS, RESULT and LOG frames (codec.h).  It ends when the
 * parent closes the socket or is gone; a gone parent's transfers are
 * dropped with their spool files.  Signals: SIGUSR1 aborts the running
 * transfer, SIGUSR2 starts no further one, SIGTERM from the kernel
 * (PR_SET_PDEATHSIG) means the parent died.
 *
 * It is not the fork itself nor the parent's bookkeeping (pool_proc.c),
 * nor the frame layouts (codec.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "mem.h"
#include "worker.h"

struct child_log {
    int fd;
    struct pg__buf frame;
    struct pg__logger lg;
};

static void child_log_cb(enum pg_log_level level, const char *msg, void *ud)
{
    struct child_log *cl = ud;

    if (pg__codec_put_log(&cl->frame, level, msg))
        return;
    if (pg__wire_write_all(cl->fd, cl->frame.ptr, cl->frame.len)) {
        /* The parent is gone; the job loop notices on its next read. */
    }
}

/* Set by the parent's SIGUSR1: abort the running transfer. */
static atomic_int child_abort;

static void on_sigusr1(int sig)
{
    (void)sig;
    atomic_store(&child_abort, 1);
}

/* Set by the parent's SIGUSR2: start no further transfer. */
static atomic_int child_cancel_flag;

static void on_sigusr2(int sig)
{
    (void)sig;
    atomic_store(&child_cancel_flag, 1);
}

/* The parent this worker was forked by. */
static pid_t child_parent;

/* Set when the parent is gone (its death signal, or its socket's
 * hang-up while a transfer runs): abort everything, remove the spool
 * files, exit. */
static atomic_int child_orphan;

/*
 * SIGTERM: sent by the kernel (PR_SET_PDEATHSIG) when the parent is
 * gone; otherwise it was sent to the whole group and is ignored (the
 * parent decides how the job stops).
 */
static void on_sigterm(int sig)
{
    (void)sig;
    if (getppid() != child_parent) {
        atomic_store(&child_orphan, 1);
        atomic_store(&child_abort, 1);
    }
}

static void reset_signals(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD,
                                SIGUSR1, SIGUSR2, SIGALRM };
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    /* SIGPIPE stays ignored: a dead parent shows up as EPIPE.  A
     * terminal's SIGINT and SIGHUP reach the whole process group; the
     * parent decides how the job stops, so workers ignore them. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* Also SIGTERM sent to the whole group: a worker ends when the
     * parent closes its socket, dies (its death signal is SIGTERM) or
     * kills it, never on its own. */
    sa.sa_handler = on_sigterm;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_sigusr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_sigusr2;
    sigaction(SIGUSR2, &sa, NULL);
}

/* A worker's side of its connection. */
struct child {
    int fd;
    int outdir_fd;
    struct pg__fetcher f;
    struct pg__jar *jar;      /* this process's cookies, or NULL */
    struct pg__wire_rx rx;
    struct pg__buf frame;     /* one result being encoded */
    struct pg__buf out;       /* results waiting to be written */
    struct pg__item *queue, *queue_tail; /* received, not started */
    int eof;                 /* the parent sent its last job */
    int broken;              /* the parent is gone or spoke garbage */
    unsigned told;           /* the window the parent knows of */
};

/* Read what the parent sent; queue its jobs.  Sets eof / broken. */
static void child_read(struct child *c)
{
    const void *payload;
    size_t len;
    unsigned type;
    int got;

    if (pg__wire_rx_read(&c->rx, c->fd)) {
        c->eof = 1;      /* EOF: the parent has no more work */
        return;
    }
    while ((got = pg__wire_rx_next(&c->rx, &type, &payload, &len)) != 0) {
        struct pg__item *it;
        int bad = 0;

        if (got > 0 && type == PG_WIRE_COOKIES && c->jar) {
            /* Cookies another worker's responses set: in every request
             * started from now on (the JOBs after this frame too). */
            pg__jar_lines_free(pg__codec_get_cookies(payload, len, c->jar,
                                                     &bad));
            c->broken = bad;
            if (bad)
                return;
            continue;
        }
        if (got < 0 || type != PG_WIRE_JOB ||
            !(it = pg__codec_get_job(payload, len))) {
            c->broken = 1;
            return;
        }
        it->next = NULL;
        if (c->queue_tail)
            c->queue_tail->next = it;
        else
            c->queue = it;
        c->queue_tail = it;
    }
}

static void child_flush(struct child *c);

/* Queue the frame in c->frame for the parent, writing out first what
 * waits when it would not fit. */
static void child_queue(struct child *c)
{
    if (c->out.len + c->frame.len > c->out.max)
        child_flush(c);
    if (!c->broken && pg__buf_add(&c->out, c->frame.ptr, c->frame.len))
        c->broken = 1;
}

/* The cookies this worker's responses set, for the parent to relay. */
static void send_cookies(struct child *c)
{
    char **v = c->jar ? pg__jar_take_fresh(c->jar) : NULL;
    size_t from = 0;

    while (!c->broken && v && v[from]) {
        if (pg__codec_put_cookies(&c->frame, v, &from))
            c->broken = 1;
        else
            child_queue(c);
    }
    pg__jar_lines_free(v);
}

/* Encode a finished item's result for the parent, then free the item:
 * the cookies its responses set, its links in LINKS frames, then the
 * RESULT frame. */
static void child_done(struct pg__item *it, void *ud)
{
    struct child *c = ud;
    size_t from = 0;

    send_cookies(c);
    while (!c->broken && from < it->links.n) {
        if (pg__codec_put_links(&c->frame, it, &from))
            c->broken = 1;
        else
            child_queue(c);
    }
    if (!c->broken && pg__codec_put_result(&c->frame, it))
        c->broken = 1;
    if (!c->broken)
        child_queue(c);
    if (c->broken && it->res.tmp_name)
        unlinkat(c->outdir_fd, it->res.tmp_name, 0);
    pg__item_free(it);
}

/* Write the results gathered so far, in one write when they fit. */
static void child_flush(struct child *c)
{
    if (!c->broken && c->out.len > 0 &&
        pg__wire_write_all(c->fd, c->out.ptr, c->out.len))
        c->broken = 1;
    pg__buf_reset(&c->out);
}

static struct pg__item *child_next(struct child *c)
{
    struct pg__item *it = c->queue;

    if (it) {
        c->queue = it->next;
        if (!c->queue)
            c->queue_tail = NULL;
        it->next = NULL;
    }
    return it;
}

/* Stopping: hand an item back unstarted. */
static void child_cancel(struct child *c, struct pg__item *it)
{
    pg__item_reset_result(it);
    it->flags |= PG_ITEM_CANCELLED;
    child_done(it, c);
}

/* K = 1: one transfer at a time, blocking. */
static void blocking_loop(struct child *c)
{
    while (!c->broken && !atomic_load(&child_orphan)) {
        struct pg__item *it = child_next(c);

        if (!it) {
            if (c->eof)
                break;
            child_read(c);
            continue;
        }
        if (atomic_load(&child_cancel_flag))
            child_cancel(c, it);
        else {
            pg__fetch(&c->f, it);
            if (atomic_load(&child_orphan))
                c->broken = 1;   /* child_done() removes the body */
            child_done(it, c);
        }
        child_flush(c);
    }
}

/* K > 1: the multi interface, with the parent's socket in its poll. */
static void multi_loop(struct child *c)
{
    struct pg__fetcher *f = &c->f;

    while (!c->broken && !(c->eof && !c->queue && f->active == 0)) {
        struct curl_waitfd wfd = { c->fd, CURL_WAIT_POLLIN, 0 };
        struct pg__item *it;

        /* The parent is gone: pg__fetcher_release() drops what runs,
         * spool files included. */
        if (atomic_load(&child_orphan))
            break;

        while (pg__fetch_room(f) > 0 && (it = child_next(c)) != NULL) {
            if (atomic_load(&child_cancel_flag))
                child_cancel(c, it);
            else if (pg__fetch_start(f, it))
                child_done(it, c);
        }
        if (c->out.len == 0)
            pg__fetch_poll(f, &wfd, c->eof ? 0 : 1, 1000);
        if (f->window != c->told && !c->broken) {
            /* It grew: the parent may queue more here now. */
            if (pg__codec_put_window(&c->frame, f->window))
                c->broken = 1;
            else
                child_queue(c);
            c->told = f->window;
        }
        if (!c->eof &&
            (wfd.revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI))) {
            child_read(c);
            /* The parent closes the socket only once it holds nothing
             * here: an EOF with work in hand means it is gone. */
            if (c->eof && (c->queue || f->active > 0))
                atomic_store(&child_orphan, 1);
        }
        pg__fetch_run(f, child_done, c);
        child_flush(c);
    }
}

void pg__worker_main(const struct pg__pool_config *cfg, unsigned self,
                     int fd)
{
    struct child_log cl;
    struct pg__fetch_config fc = *cfg->fetch;
    struct pg__share *share;
    struct child c;
    unsigned k = cfg->per_worker < 1 ? 1 : cfg->per_worker;
    struct pg__item *it;

    cl.fd = fd;
    pg__buf_init(&cl.frame, PG_WIRE_MAX);
    cl.lg = *cfg->log;
    if (cl.lg.cb) {
        cl.lg.cb = child_log_cb;
        cl.lg.userdata = &cl;
    }
    fc.log = &cl.lg;
    fc.abort_flag = &child_abort;
    fc.watch_parent = 1;
    fc.parent_fd = fd;
    memset(&c, 0, sizeof(c));
    /* This process's own cookies (from the parent's at the fork), DNS and
     * TLS cache, for its K handles (no locks needed). */
    c.jar = cfg->jar ? pg__jar_new(0, 1, &cl.lg) : NULL;
    share = NULL;
    if (c.jar) {
        pg__jar_inherit(c.jar, cfg->jar);
        fc.share = pg__jar_share(c.jar);
        fc.jar = c.jar;
    } else {
        share = pg__share_new(0);
        fc.share = pg__share_handle(share);
        fc.jar = NULL;
    }

    c.fd = fd;
    c.outdir_fd = fc.outdir_fd;
    if (pg__fetcher_init(&c.f, &fc, self, k))
        _exit(3);
    c.told = c.f.window;
    pg__wire_rx_init(&c.rx);
    pg__buf_init(&c.frame, PG_WIRE_MAX);
    pg__buf_init(&c.out, (size_t)PG_WIRE_MAX * 2 * k + PG_WIRE_MAX);
    if (k > 1)
        multi_loop(&c);
    else
        blocking_loop(&c);
    /* The parent is gone: what was started is dropped, spool files too;
     * the parent hands those items back as lost with the worker. */
    while ((it = child_next(&c)) != NULL)
        pg__item_free(it);
    pg__fetcher_release(&c.f);
    pg__share_free(share);
    pg__jar_free(c.jar);
    pg__wire_rx_release(&c.rx);
    pg__buf_release(&c.out);
    pg__buf_release(&c.frame);
    pg__buf_release(&cl.frame);
}

void pg__worker_signals(pid_t parent)
{
    child_parent = parent;
    reset_signals();
}

