/*
 * pool_thread.c - the pthread backend of the pool (see pool.h).
 *
 * N threads share one FIFO of pending items and one FIFO of finished
 * ones, both under one mutex.  A worker that finishes an item appends it
 * to the finished FIFO and writes a byte to a notification pipe, which
 * the main thread polls (so it can later wait on signals in the same
 * poll).  Worker threads run with every signal blocked.  Each thread
 * owns its own fetcher (CURL handles); they share the read-only
 * configuration and a locked cache of DNS answers and TLS sessions.
 *
 * With K = 1 a worker takes one item at a time and blocks in
 * curl_easy_perform().  With K > 1 it takes up to its free slots at
 * once and drives them with the multi interface; while it waits in
 * pg__fetch_poll() with a free slot it is "hungry".  submit() only
 * queues: the items of one pass of the job loop are handed over together
 * when the main thread next waits (kick()), which wakes as many hungry
 * workers with pg__fetch_wakeup() and idle ones (no transfer, waiting
 * on the condition variable as in the blocking pool) as there are new
 * items.  So a worker takes its whole share of a batch at once - at the
 * start, 128 transfers in one go rather than one per wake-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "pool.h"

struct thread_pool;

struct worker {
    struct thread_pool *tp;
    unsigned index;
    pthread_t tid;
    struct pg__fetcher f;
    int have_fetcher;
    int hungry;               /* polling with a free slot (under mu) */
};

struct thread_pool {
    struct pg__pool base;
    struct worker *w;
    unsigned n_w;             /* allocated (fetchers made) */
    unsigned started;

    pthread_mutex_t mu;
    pthread_cond_t cv;        /* pending non-empty, or stopping */
    struct pg__item *pend_head, *pend_tail;
    struct pg__item *done_head, *done_tail;
    int stopping;

    int notify[2];            /* [0] read (main), [1] write (workers) */
    struct pg__share *share;  /* DNS and TLS sessions, locked */
    struct pg__fetch_config fc; /* the job's, with the share */
    unsigned k;               /* transfers per worker */
    unsigned n_hungry;
    unsigned unkicked;        /* submitted since the last kick() */
};

static void push(struct pg__item **head, struct pg__item **tail,
                 struct pg__item *it)
{
    it->next = NULL;
    if (*tail)
        (*tail)->next = it;
    else
        *head = it;
    *tail = it;
}

/* Hand finished items to the main thread; wake it if it may sleep. */
static void hand_back(struct thread_pool *tp, struct pg__item *head,
                      struct pg__item *tail)
{
    int wake;

    pthread_mutex_lock(&tp->mu);
    /* The main thread takes the whole list per wake-up, so only results
     * on an empty list need to wake it. */
    wake = tp->done_head == NULL;
    if (tp->done_tail)
        tp->done_tail->next = head;
    else
        tp->done_head = head;
    tp->done_tail = tail;
    pthread_mutex_unlock(&tp->mu);
    while (wake && write(tp->notify[1], "", 1) < 0 && errno == EINTR)
        ;
}

/* A worker that could not set up its fetcher: the error is the result. */
static void fail_item(struct worker *w, struct pg__item *it)
{
    pg__item_reset_result(it);
    it->res.attempts++;
    pg__item_error(it, PG_ST_NETWORK_ERROR,
                   "worker %u could not start: out of memory", w->index);
}

static void blocking_loop(struct worker *w)
{
    struct thread_pool *tp = w->tp;

    for (;;) {
        struct pg__item *it;

        pthread_mutex_lock(&tp->mu);
        while (!tp->pend_head && !tp->stopping)
            pthread_cond_wait(&tp->cv, &tp->mu);
        it = tp->pend_head;
        if (!it) {
            pthread_mutex_unlock(&tp->mu);
            break;
        }
        tp->pend_head = it->next;
        if (!tp->pend_head)
            tp->pend_tail = NULL;
        pthread_mutex_unlock(&tp->mu);

        if (w->have_fetcher)
            pg__fetch(&w->f, it);
        else
            fail_item(w, it);
        it->next = NULL;
        hand_back(tp, it, it);
    }
}

struct done_list {
    struct pg__item *head, *tail;
};

static void collect(struct pg__item *it, void *ud)
{
    struct done_list *d = ud;

    push(&d->head, &d->tail, it);
}

static void multi_loop(struct worker *w)
{
    struct thread_pool *tp = w->tp;
    struct pg__fetcher *f = &w->f;

    for (;;) {
        struct pg__item *take = NULL, *it, *next;
        struct done_list done = { NULL, NULL };
        unsigned room = pg__fetch_room(f);

        pthread_mutex_lock(&tp->mu);
        while (!tp->pend_head && !tp->stopping && f->active == 0)
            pthread_cond_wait(&tp->cv, &tp->mu);
        if (!tp->pend_head && f->active == 0) {
            pthread_mutex_unlock(&tp->mu);
            break;            /* stopping, and nothing left */
        }
        /* Take what fits, in order; the rest stays for the others. */
        while (room > 0 && tp->pend_head) {
            it = tp->pend_head;
            tp->pend_head = it->next;
            it->next = take;
            take = it;
            room--;
        }
        if (!tp->pend_head)
            tp->pend_tail = NULL;
        if (room > 0 && !w->hungry) {
            w->hungry = 1;
            tp->n_hungry++;
        } else if (room == 0 && w->hungry) {
            w->hungry = 0;
            tp->n_hungry--;
        }
        pthread_mutex_unlock(&tp->mu);

        /* `take` is newest first: reverse to start in submit order. */
        for (it = take, take = NULL; it; it = next) {
            next = it->next;
            it->next = take;
            take = it;
        }
        for (it = take; it; it = next) {
            next = it->next;
            it->next = NULL;
            if (pg__fetch_start(f, it))
                push(&done.head, &done.tail, it);
        }
        if (!done.head) {
            unsigned window = f->window;

            pg__fetch_poll(f, NULL, 0, 1000);
            if (f->window != window)
                pg__pool_window(&tp->base, f->window);
        }
        pg__fetch_run(f, collect, &done);
        if (done.head)
            hand_back(tp, done.head, done.tail);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    if (w->have_fetcher && w->tp->k > 1)
        multi_loop(w);
    else
        blocking_loop(w);
    return NULL;
}

static enum pg_code tp_start(struct pg__pool *p)
{
    struct thread_pool *tp = (struct thread_pool *)p;
    sigset_t all, old;
    unsigned i;
    int err = 0;

    if (pipe(tp->notify) < 0) {
        snprintf(p->errmsg, sizeof(p->errmsg), "cannot create a pipe");
        return PG_E_WORKER;
    }
    fcntl(tp->notify[0], F_SETFD, FD_CLOEXEC);
    fcntl(tp->notify[1], F_SETFD, FD_CLOEXEC);
    fcntl(tp->notify[0], F_SETFL, O_NONBLOCK);
    fcntl(tp->notify[1], F_SETFL, O_NONBLOCK);

    tp->w = pg__calloc(p->cfg.workers, sizeof(*tp->w));
    if (!tp->w)
        return PG_E_NOMEM;
    tp->n_w = p->cfg.workers;
    tp->k = p->cfg.per_worker < 1 ? 1 : p->cfg.per_worker;
    tp->fc = *p->cfg.fetch;
    /* The job's (locked) jar shares cookies too; else a cache here. */
    if (!tp->fc.share) {
        tp->share = pg__share_new(1);
        tp->fc.share = pg__share_handle(tp->share);
    }
    /* Made here, before any thread runs, so that the main thread may
     * read have_fetcher and wake a fetcher at any time. */
    for (i = 0; i < p->cfg.workers; i++)
        tp->w[i].have_fetcher = pg__fetcher_init(&tp->w[i].f, &tp->fc, i,
                                                 tp->k) == PG_OK;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (i = 0; i < p->cfg.workers; i++) {
        tp->w[i].tp = tp;
        tp->w[i].index = i;
        err = pthread_create(&tp->w[i].tid, NULL, worker_main, &tp->w[i]);
        if (err)
            break;
        tp->started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (tp->started == 0) {
        snprintf(p->errmsg, sizeof(p->errmsg),
                 "cannot start a worker thread (error %d)", err);
        return PG_E_WORKER;
    }
    /* Fewer threads than asked still do the whole job. */
    p->cfg.workers = tp->started;
    return PG_OK;
}

static void tp_submit(struct pg__pool *p, struct pg__item *it)
{
    struct thread_pool *tp = (struct thread_pool *)p;

    pthread_mutex_lock(&tp->mu);
    push(&tp->pend_head, &tp->pend_tail, it);
    tp->unkicked++;
    pthread_mutex_unlock(&tp->mu);
}

/* Wake workers for the items submitted since the last call. */
static void kick(struct thread_pool *tp)
{
    unsigned want;

    pthread_mutex_lock(&tp->mu);
    want = tp->unkicked;
    tp->unkicked = 0;
    if (want > 1)
        pthread_cond_broadcast(&tp->cv);
    else if (want == 1)
        pthread_cond_signal(&tp->cv);
    pthread_mutex_unlock(&tp->mu);
    /* As many hungry pollers as new items, a few at a time: the
     * wake-ups are written outside the lock. */
    while (want > 0) {
        struct worker *wake[32];
        unsigned i, n = 0;

        pthread_mutex_lock(&tp->mu);
        for (i = 0; i < tp->started && n < want &&
             n < sizeof(wake) / sizeof(wake[0]); i++) {
            if (tp->w[i].hungry) {
                tp->w[i].hungry = 0;
                tp->n_hungry--;
                wake[n++] = &tp->w[i];
            }
        }
        pthread_mutex_unlock(&tp->mu);
        if (n == 0)
            break;
        /* (The fetcher outlives the thread's loop: freed after join.) */
        for (i = 0; i < n; i++)
            pg__fetch_wakeup(&wake[i]->f);
        want -= n;
    }
}

/* Wake every worker waiting in pg__fetch_poll(). */
static void wake_pollers(struct thread_pool *tp)
{
    unsigned i;

    for (i = 0; tp->k > 1 && i < tp->started; i++) {
        if (tp->w[i].have_fetcher)
            pg__fetch_wakeup(&tp->w[i].f);
    }
}

static void deliver(struct thread_pool *tp, pg__pool_done_cb cb, void *ud)
{
    struct pg__item *it, *next;

    pthread_mutex_lock(&tp->mu);
    it = tp->done_head;
    tp->done_head = tp->done_tail = NULL;
    pthread_mutex_unlock(&tp->mu);
    for (; it; it = next) {
        next = it->next;
        it->next = NULL;
        tp->base.inflight--;
        cb(it, ud);
    }
}

static enum pg_code tp_wait(struct pg__pool *p, int timeout_ms,
                            pg__pool_done_cb cb, void *ud)
{
    struct thread_pool *tp = (struct thread_pool *)p;
    struct pollfd pfd[3] = { { tp->notify[0], POLLIN, 0 },
                             { p->cfg.wake_fd, POLLIN, 0 },
                             { p->cfg.wake_fd2, POLLIN, 0 } };
    char drain[256];

    kick(tp);
    if (poll(pfd, 3, timeout_ms) > 0 && (pfd[0].revents & POLLIN)) {
        while (read(tp->notify[0], drain, sizeof(drain)) > 0)
            ;
    }
    deliver(tp, cb, ud);
    return PG_OK;
}

static void tp_abort(struct pg__pool *p)
{
    /* Worker threads read the job's abort flag from their progress
     * callbacks; those polling are woken to run them now. */
    wake_pollers((struct thread_pool *)p);
}

static void tp_cancel(struct pg__pool *p)
{
    struct thread_pool *tp = (struct thread_pool *)p;
    struct pg__item *it, *next;

    pthread_mutex_lock(&tp->mu);
    it = tp->pend_head;
    tp->pend_head = tp->pend_tail = NULL;
    for (; it; it = next) {
        next = it->next;
        it->flags |= PG_ITEM_CANCELLED;
        push(&tp->done_head, &tp->done_tail, it);
    }
    pthread_mutex_unlock(&tp->mu);
    while (write(tp->notify[1], "", 1) < 0 && errno == EINTR)
        ;
}

static void tp_stop(struct pg__pool *p, pg__pool_done_cb cb, void *ud)
{
    struct thread_pool *tp = (struct thread_pool *)p;
    unsigned i;

    pthread_mutex_lock(&tp->mu);
    tp->stopping = 1;
    pthread_cond_broadcast(&tp->cv);
    pthread_mutex_unlock(&tp->mu);
    wake_pollers(tp);
    /* Workers drain the pending FIFO before they exit. */
    for (i = 0; i < tp->started; i++)
        pthread_join(tp->w[i].tid, NULL);
    tp->started = 0;
    deliver(tp, cb, ud);
}

static void tp_free(struct pg__pool *p)
{
    struct thread_pool *tp = (struct thread_pool *)p;
    unsigned i;

    if (tp->notify[0] >= 0)
        close(tp->notify[0]);
    if (tp->notify[1] >= 0)
        close(tp->notify[1]);
    pthread_mutex_destroy(&tp->mu);
    pthread_cond_destroy(&tp->cv);
    for (i = 0; tp->w && i < tp->n_w; i++) {
        if (tp->w[i].have_fetcher)
            pg__fetcher_release(&tp->w[i].f);
    }
    pg__share_free(tp->share);
    pg_free(tp->w);
    pg_free(tp);
}

static const struct pg__pool_backend thread_backend = {
    tp_start, tp_submit, tp_wait, tp_abort, tp_cancel, tp_stop, tp_free
};

struct pg__pool *pg__pool_thread_new(void)
{
    struct thread_pool *tp = pg__calloc(1, sizeof(*tp));

    if (!tp)
        return NULL;
    tp->base.be = &thread_backend;
    tp->notify[0] = tp->notify[1] = -1;
    pthread_mutex_init(&tp->mu, NULL);
    pthread_cond_init(&tp->cv, NULL);
    return &tp->base;
}
