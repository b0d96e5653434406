/*
 * pool.c - the backend-independent part of the pool (see pool.h).
 */
#include "pool.h"

struct pg__pool *pg__pool_new(const struct pg__pool_config *cfg)
{
    struct pg__pool *p;

    if (cfg->mode == PG_MODE_PROCESS)
        p = pg__pool_proc_new();
    else
        p = pg__pool_thread_new();
    if (!p)
        return NULL;
    p->cfg = *cfg;
    if (p->cfg.depth < 1)
        p->cfg.depth = 1;
    if (p->cfg.workers < 1)
        p->cfg.workers = 1;
    p->inflight = 0;
    p->errmsg[0] = '\0';
    atomic_init(&p->window_peak,
                p->cfg.fetch && p->cfg.per_worker > 1 &&
                p->cfg.fetch->window > 0 &&
                p->cfg.fetch->window < p->cfg.per_worker ?
                p->cfg.fetch->window : 0);
    return p;
}

void pg__pool_window(struct pg__pool *p, unsigned window)
{
    unsigned cur = atomic_load(&p->window_peak);

    while (cur > 0 && window > cur &&
           !atomic_compare_exchange_weak(&p->window_peak, &cur, window))
        ;
}

enum pg_code pg__pool_start(struct pg__pool *p)
{
    return p->be->start(p);
}

size_t pg__pool_room(const struct pg__pool *p)
{
    size_t max = (size_t)p->cfg.workers * p->cfg.depth;

    return p->inflight >= max ? 0 : max - p->inflight;
}

void pg__pool_submit(struct pg__pool *p, struct pg__item *it)
{
    p->inflight++;
    p->be->submit(p, it);
}

/* Backends call the user's callback through this to keep the count. */
enum pg_code pg__pool_wait(struct pg__pool *p, int timeout_ms,
                           pg__pool_done_cb cb, void *ud)
{
    return p->be->wait(p, timeout_ms, cb, ud);
}

void pg__pool_abort(struct pg__pool *p)
{
    p->be->abort(p);
}

void pg__pool_cancel(struct pg__pool *p)
{
    p->be->cancel(p);
}

void pg__pool_stop(struct pg__pool *p, pg__pool_done_cb cb, void *ud)
{
    p->be->stop(p, cb, ud);
}

void pg__pool_free(struct pg__pool *p)
{
    if (p)
        p->be->free(p);
}
