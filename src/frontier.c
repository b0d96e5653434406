/*
 * frontier.c - the frontier interface (frontier.h) and its memory
 * backend, a thin face over frontier_mem.c.
 */
#include <string.h>

#include "frontier.h"
#include "mem.h"

/* ---- the memory backend ------------------------------------------------ */

static enum pg_code mem_start(struct pg__frontier *f)
{
    (void)f;
    return PG_OK;
}

static int mem_see(struct pg__frontier *f, const char *url)
{
    return pg__memfr_see(&f->mem, url);
}

static enum pg_code mem_push(struct pg__frontier *f, struct pg__item *it)
{
    return pg__memfr_push(&f->mem, it);
}

/* The caller saw the URL new: record it now. */
static void mem_record(struct pg__frontier *f, struct pg__item *it)
{
    f->cfg.record(it, f->cfg.ud);
}

static struct pg__item *mem_pop(struct pg__frontier *f, double now,
                                size_t room, double *wake, enum pg_code *err)
{
    (void)room;
    return pg__memfr_pop(&f->mem, now, wake, err);
}

static enum pg_code mem_defer(struct pg__frontier *f, struct pg__item *it)
{
    return pg__memfr_defer(&f->mem, it);
}

static void mem_done(struct pg__frontier *f, struct pg__item *it)
{
    pg__memfr_done(&f->mem, it);
}

static void mem_complete(struct pg__frontier *f, struct pg__item *it)
{
    (void)f;
    (void)it;
}

static void mem_hold(struct pg__frontier *f, const struct pg__item *it,
                     long ms)
{
    (void)f;
    (void)it;
    (void)ms;
}

static size_t mem_clear(struct pg__frontier *f,
                        void (*keep)(struct pg__item *it, void *ud), void *ud)
{
    return pg__memfr_clear(&f->mem, keep, ud);
}

static int mem_finished(struct pg__frontier *f, double now, double *wake)
{
    (void)now;
    *wake = 0;
    return pg__memfr_queued(&f->mem) == 0;
}

static void mem_nothing(struct pg__frontier *f)
{
    (void)f;
}

static void mem_tick(struct pg__frontier *f, double now)
{
    (void)f;
    (void)now;
}

static enum pg_code mem_add_scope(struct pg__frontier *f, const char *host)
{
    (void)f;
    (void)host;
    return PG_OK;
}

static void mem_free(struct pg__frontier *f)
{
    pg__memfr_release(&f->mem);
    pg_free(f);
}

static const struct pg__frontier_backend mem_backend = {
    mem_start, mem_see, mem_push, mem_record, mem_pop, mem_defer, mem_done,
    mem_complete, mem_hold, mem_clear, mem_finished, mem_nothing, mem_tick,
    mem_add_scope, mem_free
};

/* ---- the interface ------------------------------------------------------ */

struct pg__frontier *pg__frontier_new(const struct pg__frontier_config *cfg)
{
    struct pg__frontier *f;

    if (cfg->url) {
        f = pg__frontier_redis_new();
        if (!f)
            return NULL;
        f->cfg = *cfg;
        /* Redis judged politeness before the claim. */
        pg__memfr_init(&f->mem, 0, 0, 0);
        return f;
    }
    f = pg__calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->be = &mem_backend;
    f->cfg = *cfg;
    pg__memfr_init(&f->mem, cfg->per_host, cfg->wait_ms, cfg->random_wait);
    pg__memfr_set_spill(&f->mem, cfg->spill_dirfd, cfg->spill_budget);
    return f;
}

enum pg_code pg__frontier_start(struct pg__frontier *f)
{
    return f->be->start(f);
}

int pg__frontier_shared(const struct pg__frontier *f)
{
    return f->be != &mem_backend;
}

const int *pg__frontier_fd(const struct pg__frontier *f)
{
    return f && pg__frontier_shared(f) ? pg__frontier_redis_fd(f) : NULL;
}

int pg__frontier_see(struct pg__frontier *f, const char *url)
{
    return f->be->see(f, url);
}

enum pg_code pg__frontier_push(struct pg__frontier *f, struct pg__item *it)
{
    return f->be->push(f, it);
}

void pg__frontier_record(struct pg__frontier *f, struct pg__item *it)
{
    f->be->record(f, it);
}

struct pg__item *pg__frontier_pop(struct pg__frontier *f, double now,
                                  size_t room, double *wake,
                                  enum pg_code *err)
{
    return f->be->pop(f, now, room, wake, err);
}

enum pg_code pg__frontier_defer(struct pg__frontier *f, struct pg__item *it)
{
    return f->be->defer(f, it);
}

void pg__frontier_done(struct pg__frontier *f, struct pg__item *it)
{
    f->be->done(f, it);
}

void pg__frontier_complete(struct pg__frontier *f, struct pg__item *it)
{
    f->be->complete(f, it);
}

void pg__frontier_hold(struct pg__frontier *f, const struct pg__item *it,
                       long ms)
{
    f->be->hold(f, it, ms);
}

size_t pg__frontier_clear(struct pg__frontier *f,
                          void (*keep)(struct pg__item *it, void *ud),
                          void *ud)
{
    return f->be->clear(f, keep, ud);
}

int pg__frontier_finished(struct pg__frontier *f, double now, double *wake)
{
    return f->be->finished(f, now, wake);
}

void pg__frontier_input_done(struct pg__frontier *f)
{
    f->be->input_done(f);
}

void pg__frontier_tick(struct pg__frontier *f, double now)
{
    f->be->tick(f, now);
}

enum pg_code pg__frontier_add_scope(struct pg__frontier *f, const char *host)
{
    return f->be->add_scope(f, host);
}

void pg__frontier_set_robots(struct pg__frontier *f,
                             const struct pg__item *robots_item,
                             struct pg__robots *rules)
{
    pg__memfr_set_robots(&f->mem, robots_item, rules);
}

size_t pg__frontier_queued(const struct pg__frontier *f)
{
    return pg__memfr_queued(&f->mem);
}

void pg__frontier_free(struct pg__frontier *f)
{
    if (f)
        f->be->free(f);
}

int pg__frontier_job_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 64)
        return 0;
    return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._-") == n;
}
