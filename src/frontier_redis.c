/*
 * frontier_redis.c - the shared frontier: the redis backend of
 * frontier.h.  The scripts it runs and the keys are in redis_lua.c; the
 * connection and its retries in redis.c.
 *
 * Batches: input URLs (seeds) are sent 256 at a time, and before each
 * claim; a page's links wait for its complete(), and completions wait
 * for the end of the loop's pass (frontier_rdone.c), then go in one
 * script call pipelined with the claim, state or renew call.  Claims ask
 * for at most the pool's room (64 at most), and after an empty claim
 * wait up to 100 ms (less when a host is due sooner), so an idle
 * instance asks Redis ten times a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "frontier_redis.h"
#include "mem.h"
#include "redis.h"
#include "redis_lua.h"
#include "redis_record.h"
#include "url.h"

#define SEED_BATCH 256
#define IDLE_POLL 0.1

static struct pg__redis_script s_join = { pg__lua_join, "" };
static struct pg__redis_script s_seed = { pg__lua_seed, "" };
static struct pg__redis_script s_claim = { pg__lua_claim, "" };
static struct pg__redis_script s_renew = { pg__lua_renew, "" };
static struct pg__redis_script s_seeded = { pg__lua_seeded, "" };
static struct pg__redis_script s_state = { pg__lua_state, "" };
static struct pg__redis_script s_hold = { pg__lua_hold, "" };
static struct pg__redis_script s_gap = { pg__lua_gap, "" };

static struct rfr *R(struct pg__frontier *f)
{
    return (struct rfr *)f;
}

void pg__rfr_fatal(struct rfr *x, const char *what, const redisReply *rep)
{
    struct pg__frontier *f = &x->base;

    if (f->fatal)
        return;
    f->fatal = PG_E_FATAL;
    snprintf(f->errmsg, sizeof(f->errmsg), "shared frontier %.60s (job '%s'): "
             "%s: %.100s", f->cfg.url, f->cfg.job, what,
             rep && rep->type == REDIS_REPLY_ERROR ? rep->str :
             rep ? "unexpected answer" : x->r.errmsg);
}

enum pg_code pg__rfr_args_start(struct rfr *x, struct pg__redis_args *a,
                               int with_inst)
{
    enum pg_code rc;

    pg__redis_args_reset(a);
    rc = pg__redis_args_add(a, x->prefix, strlen(x->prefix));
    if (!rc && with_inst)
        rc = pg__redis_args_add(a, x->inst, strlen(x->inst));
    return rc;
}

static redisReply *run(struct rfr *x, struct pg__redis_script *s,
                       struct pg__redis_args *a)
{
    if (pg__redis_args_finish(a))
        return NULL;
    return pg__redis_eval(&x->r, s, (int)a->n, a->v, a->len);
}

/* Run s in the same round trip as the batched completions (first). */
static redisReply *run_after_batch(struct rfr *x, struct pg__redis_script *s,
                                   struct pg__redis_args *a)
{
    struct pg__redis_call c = { s, a, NULL, 0 };

    pg__rfr_flush(x, &c);
    return c.rep;
}

/* ---- claims ----------------------------------------------------------- */

/*
 * The "L" and "D" entries of an answer from index i: leased records go
 * to the local stage, dead ones are recorded failed.  -1 on out of
 * memory, else how many were leased.
 */
static int take_entries(struct rfr *x, const redisReply *rep, size_t i)
{
    int n = 0;

    for (; i + 2 < rep->elements; i += 3) {
        const redisReply *k = rep->element[i], *rec = rep->element[i + 1];
        struct pg__item *it;

        if (k->type != REDIS_REPLY_STRING || rec->type != REDIS_REPLY_STRING)
            continue;
        it = pg__redis_record_parse(rec->str, rec->len,
                                    x->base.cfg.next_id(x->base.cfg.ud));
        if (!it)
            return -1;
        it->claims = (unsigned)rep->element[i + 2]->integer;
        if (k->str[0] == 'D') {
            pg__item_error(it, PG_ST_WORKER_CRASH, "its lease expired %u "
                           "times: the instances that claimed it died or "
                           "stalled", it->claims);
            it->res.attempts = 0;
            x->base.cfg.record(it, x->base.cfg.ud);
            continue;
        }
        it->flags |= PG_ITEM_LEASED;
        if (pg__memfr_push(&x->base.mem, it)) {
            pg__item_free(it);
            return -1;
        }
        n++;
    }
    return n;
}

static enum pg_code flush_seeds(struct rfr *x);
static void learn_scope(struct rfr *x, long long n);

/* A factor in [0.5, 1.5) for --random-wait. */
static double jitter(struct rfr *x)
{
    x->rng ^= x->rng >> 12;
    x->rng ^= x->rng << 25;
    x->rng ^= x->rng >> 27;
    return 0.5 + (double)((x->rng * 0x2545f4914f6cdd1dULL) >> 11) /
                 (double)(1ULL << 53);
}

/* Claim up to n records; how many, or -1 (fatal or out of memory). */
static int claim(struct rfr *x, double now, size_t n)
{
    const struct pg__frontier_config *c = &x->base.cfg;
    struct pg__redis_args a;
    double wait = (double)c->wait_ms * (c->random_wait ? jitter(x) : 1.0);
    redisReply *rep;
    int got = -1;

    pg__redis_args_init(&a);
    if (pg__rfr_args_start(x, &a, 1) ||
        pg__redis_args_addf(&a, "%zu", n) ||
        pg__redis_args_addf(&a, "%u", c->lease_s * 1000) ||
        pg__redis_args_addf(&a, "%u", c->per_host) ||
        pg__redis_args_addf(&a, "%.0f", wait) ||
        pg__redis_args_addf(&a, "%u", c->max_claims) ||
        pg__redis_args_addf(&a, "%llu", ++x->seq)) {
        pg__redis_args_release(&a);
        return -1;
    }
    rep = run_after_batch(x, &s_claim, &a);
    pg__redis_args_release(&a);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 3) {
        if (rep || atomic_load(c->stop_req) == 0)
            pg__rfr_fatal(x, "claim", rep);
        pg__redis_free_reply(rep);
        return rep ? -1 : 0;
    }
    if (rep->element[0]->integer == 1 && !x->stopping) {
        x->stopping = 1;
        pg__log(c->log, PG_LOG_WARN, "job '%s' stopped by 'pagegrab fleet "
                "stop': finishing what runs here", c->job);
    }
    learn_scope(x, rep->element[2]->integer);
    got = take_entries(x, rep, 3);
    if (got == 0) {
        double hint = (double)rep->element[1]->integer / 1000.0;

        x->next_claim = now + (hint > 0 && hint < IDLE_POLL ? hint
                                                            : IDLE_POLL);
    } else {
        x->next_claim = 0;
    }
    pg__redis_free_reply(rep);
    return got;
}

static void origin_ms(struct rfr *x, struct pg__redis_script *s,
                      const char *what, const char *url, long ms,
                      const char *gap);

/*
 * it starts here after it waited in the local stage (for robots.txt, a
 * Crawl-delay, a retry), or it is a robots.txt fetch (a request Redis
 * did not see): Redis's next start there moves to the gap from now, for
 * every instance.  The local stage paces its own items (Crawl-delay);
 * --wait it learns here too.
 */
static void staged_start(struct rfr *x, const struct pg__item *it,
                         double now)
{
    long ms = x->base.cfg.wait_ms;

    if (ms <= 0 && pg__memfr_delay_ms(it) <= 0)
        return;
    origin_ms(x, &s_hold, "hold", it->url, ms, "gap");
    if (ms > 0 &&
        pg__memfr_hold(&x->base.mem, it->url, now + (double)ms / 1000.0))
        x->base.fatal = PG_E_NOMEM;
}

static struct pg__item *rd_pop(struct pg__frontier *f, double now,
                               size_t room, double *wake, enum pg_code *err)
{
    struct rfr *x = R(f);
    struct pg__item *it = pg__memfr_pop(&f->mem, now, wake, err);
    size_t staged;
    int n;

    if (it && it->res.status != PG_ST_ROBOTS &&
        !(it->flags & PG_ITEM_NOFETCH))
        staged_start(x, it, now);
    if (it || *err || f->fatal || x->stopping)
        return it;
    staged = pg__memfr_queued(&f->mem);
    if (room <= staged)
        return NULL;
    if (now < x->next_claim) {
        if (*wake == 0 || x->next_claim < *wake)
            *wake = x->next_claim;
        return NULL;
    }
    if ((x->n_seeds || x->scope.n) && flush_seeds(x))
        return NULL;
    n = claim(x, now, room - staged > 64 ? 64 : room - staged);
    if (n < 0) {
        if (!f->fatal)
            *err = PG_E_NOMEM;
        return NULL;
    }
    it = pg__memfr_pop(&f->mem, now, wake, err);
    if (it && (it->flags & PG_ITEM_ROBOTS))
        staged_start(x, it, now);
    if (!it && x->next_claim > 0 && (*wake == 0 || x->next_claim < *wake))
        *wake = x->next_claim;
    return it;
}

/* ---- seeds, links and results ----------------------------------------- */

static enum pg_code flush_seeds(struct rfr *x)
{
    struct pg__redis_args a;
    redisReply *rep = NULL;
    enum pg_code rc;
    size_t i;

    if (!x->n_seeds && !x->scope.n)
        return PG_OK;
    pg__redis_args_init(&a);
    rc = pg__rfr_args_start(x, &a, 0);
    if (!rc)
        rc = pg__redis_args_addf(&a, "%u", x->base.cfg.per_host);
    if (!rc)
        rc = pg__redis_args_addf(&a, "%zu", x->scope.n);
    for (i = 0; !rc && i < x->scope.n; i++)
        rc = pg__redis_args_add(&a, x->scope.data.ptr + x->scope.off[i],
                                x->scope.len[i]);
    for (i = 0; !rc && i < x->seeds.n; i++)
        rc = pg__redis_args_add(&a, x->seeds.data.ptr + x->seeds.off[i],
                                x->seeds.len[i]);
    if (!rc)
        rep = run(x, &s_seed, &a);
    pg__redis_args_release(&a);
    if (!rep || rep->type != REDIS_REPLY_INTEGER) {
        if (rep || atomic_load(x->base.cfg.stop_req) == 0)
            pg__rfr_fatal(x, "seed", rep);
        pg__redis_free_reply(rep);
        return PG_E_FATAL;
    }
    pg__redis_free_reply(rep);
    pg__redis_args_reset(&x->seeds);
    pg__redis_args_reset(&x->scope);
    x->n_seeds = 0;
    x->next_claim = 0;
    return PG_OK;
}

static enum pg_code rd_add_scope(struct pg__frontier *f, const char *host)
{
    return pg__redis_args_add(&R(f)->scope, host, strlen(host));
}

/* The job's scope grew (another instance's inputs): learn it. */
static void learn_scope(struct rfr *x, long long n)
{
    char key[128];
    redisReply *rep;
    size_t i;

    if (n == x->scope_known)
        return;
    snprintf(key, sizeof(key), "%sscope", x->prefix);
    rep = pg__redis_cmd(&x->r, "SMEMBERS", key, (const char *)NULL);
    if (rep && rep->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < rep->elements; i++) {
            if (rep->element[i]->type == REDIS_REPLY_STRING)
                x->base.cfg.scope(rep->element[i]->str, x->base.cfg.ud);
        }
        x->scope_known = n;
    }
    pg__redis_free_reply(rep);
}

static int rd_see(struct pg__frontier *f, const char *url)
{
    (void)f;
    (void)url;
    return 1;
}

/* Ownership passes: the record goes to Redis, the item is freed. */
static enum pg_code rd_push(struct pg__frontier *f, struct pg__item *it)
{
    struct rfr *x = R(f);
    enum pg_code rc = PG_OK;

    if (it->res.referrer) {
        rc = pg__redis_args_add(&x->links, "q", 1);
        if (!rc)
            rc = pg__redis_record_add(&x->links, it);
    } else {
        rc = pg__redis_record_add(&x->seeds, it);
        if (!rc && ++x->n_seeds >= SEED_BATCH && flush_seeds(x))
            rc = f->fatal ? PG_OK : PG_E_NOMEM;
    }
    if (rc == PG_E_INVALID) {
        pg__log(f->cfg.log, PG_LOG_WARN, "%s: cannot be queued in the shared "
                "frontier", it->url);
        rc = PG_OK;
    }
    if (!rc)
        pg__item_free(it);
    return rc;
}

/* ---- the rest of the interface ---------------------------------------- */

static enum pg_code rd_defer(struct pg__frontier *f, struct pg__item *it)
{
    /* A retry keeps its lease (renewed) and waits here. */
    return pg__memfr_defer(&f->mem, it);
}

static void rd_done(struct pg__frontier *f, struct pg__item *it)
{
    pg__memfr_done(&f->mem, it, pg__now());
}

/* Run the hold or gap script for url's origin and ms. */
static void origin_ms(struct rfr *x, struct pg__redis_script *s,
                      const char *what, const char *url, long ms,
                      const char *gap)
{
    struct pg__redis_args a;
    redisReply *rep = NULL;

    pg__redis_args_init(&a);
    if (!pg__rfr_args_start(x, &a, 0) &&
        !pg__redis_args_add(&a, url, pg__url_origin_len(url)) &&
        !pg__redis_args_addf(&a, "%ld", ms) &&
        (!gap || !pg__redis_args_add(&a, gap, strlen(gap))))
        rep = run(x, s, &a);
    pg__redis_args_release(&a);
    if (rep && rep->type == REDIS_REPLY_ERROR)
        pg__rfr_fatal(x, what, rep);
    pg__redis_free_reply(rep);
}

/* Held for every instance, and here at once (what waits in the local
 * stage was claimed before). */
static enum pg_code rd_hold(struct pg__frontier *f, const struct pg__item *it,
                            long ms)
{
    origin_ms(R(f), &s_hold, "hold", it->url, ms, NULL);
    return pg__memfr_hold(&f->mem, it->url,
                          pg__now() + (double)ms / 1000.0);
}

/* The local stage paces the origin already (pg__memfr_set_robots);
 * Redis paces its claims for every instance. */
static void rd_gap(struct pg__frontier *f, const char *url, long ms)
{
    origin_ms(R(f), &s_gap, "gap", url, ms, NULL);
}

/* An item never started here: its lease goes back to the queue. */
static void give_back(struct pg__item *it, void *ud)
{
    it->flags |= PG_ITEM_CANCELLED;
    pg__rfr_complete(ud, it);
}

static size_t rd_clear(struct pg__frontier *f,
                       void (*keep)(struct pg__item *it, void *ud), void *ud)
{
    size_t n;

    f->mem.on_drop = give_back;
    f->mem.drop_ud = f;
    n = pg__memfr_clear(&f->mem, keep, ud);
    f->mem.on_drop = NULL;
    return n;
}

/* Whether the job's counters say it is over; -1 when Redis answered
 * nothing usable. */
static int job_over(struct rfr *x)
{
    const struct pg__frontier_config *c = &x->base.cfg;
    struct pg__redis_args a;
    redisReply *rep = NULL;
    long long *v;
    int over = -1;

    pg__redis_args_init(&a);
    if (!pg__rfr_args_start(x, &a, 1) &&
        !pg__redis_args_addf(&a, "%u", c->max_claims) &&
        !pg__redis_args_addf(&a, "%u", c->per_host) &&
        !pg__redis_args_addf(&a, "%llu", ++x->seq))
        rep = run_after_batch(x, &s_state, &a);
    pg__redis_args_release(&a);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 5) {
        if (rep || atomic_load(c->stop_req) == 0)
            pg__rfr_fatal(x, "state", rep);
        pg__redis_free_reply(rep);
        return -1;
    }
    if (take_entries(x, rep, 5) < 0)
        x->base.fatal = PG_E_NOMEM;
    v = (long long[5]){ rep->element[0]->integer, rep->element[1]->integer,
                        rep->element[2]->integer, rep->element[3]->integer,
                        rep->element[4]->integer };
    if (v[4] && !x->stopping) {
        x->stopping = 1;
        pg__log(c->log, PG_LOG_WARN, "job '%s' stopped by 'pagegrab fleet "
                "stop'", c->job);
    }
    over = x->stopping || (v[0] <= 0 && v[1] == 0 && v[2] && v[3] == 0);
    if (!over && v[0] > 0)
        x->next_claim = 0;
    pg__redis_free_reply(rep);
    return over;
}

static int rd_finished(struct pg__frontier *f, double now, double *wake)
{
    struct rfr *x = R(f);
    int over;

    *wake = 0;
    if (f->fatal || x->stopping)
        return 1;
    if ((x->n_seeds || x->scope.n) && flush_seeds(x))
        return 1;
    if (now < x->next_check) {
        *wake = x->next_check;
        return 0;
    }
    over = job_over(x);
    if (over < 0)
        return 1;
    x->next_check = now + IDLE_POLL;
    *wake = x->next_check;
    /* Dead URLs recorded above may have come with nothing else to do;
     * the caller asks again. */
    return over && pg__memfr_queued(&f->mem) == 0;
}

static void rd_input_done(struct pg__frontier *f)
{
    struct rfr *x = R(f);
    struct pg__redis_args a;
    redisReply *rep = NULL;

    if (!x->seeding || f->fatal)
        return;
    x->seeding = 0;
    if (flush_seeds(x))
        return;
    pg__redis_args_init(&a);
    if (!pg__rfr_args_start(x, &a, 1))
        rep = run(x, &s_seeded, &a);
    pg__redis_args_release(&a);
    if (rep && rep->type == REDIS_REPLY_ERROR)
        pg__rfr_fatal(x, "seeded", rep);
    pg__redis_free_reply(rep);
}

static void rd_tick(struct pg__frontier *f, double now)
{
    struct rfr *x = R(f);
    struct pg__redis_args a;
    redisReply *rep = NULL;

    if (f->fatal)
        return;
    /* Renew after an outage at once: the leases ran on meanwhile. */
    if (now < x->next_renew && x->r.outages == x->outages_seen) {
        /* The completions of this pass, once per pass. */
        pg__rfr_flush(x, NULL);
        return;
    }
    x->outages_seen = x->r.outages;
    x->next_renew = now + f->cfg.lease_s / 3.0;
    pg__redis_args_init(&a);
    if (!pg__rfr_args_start(x, &a, 1) &&
        !pg__redis_args_addf(&a, "%u", f->cfg.lease_s * 1000) &&
        !pg__redis_args_addf(&a, "%d", x->seeding))
        rep = run_after_batch(x, &s_renew, &a);
    else
        pg__rfr_flush(x, NULL);
    pg__redis_args_release(&a);
    if (rep && rep->type == REDIS_REPLY_ERROR)
        pg__rfr_fatal(x, "renew", rep);
    pg__redis_free_reply(rep);
}

static void rd_free(struct pg__frontier *f)
{
    struct rfr *x = R(f);

    /* Completions the loop did not send (it ended on an error): one
     * try, else their leases expire and they are fetched again. */
    if (x->n_batch && !f->fatal && x->r.host[0]) {
        x->r.once = 1;
        pg__rfr_flush(x, NULL);
    }
    pg__rfr_batch_release(x);
    pg__redis_args_release(&x->seeds);
    pg__redis_args_release(&x->scope);
    pg__redis_close(&x->r);
    pg__memfr_release(&f->mem);
    pg_free(x);
}

/* The first differing "name=value" line of two shapes, for the error. */
static void shape_diff(const char *mine, const char *theirs, char *out,
                       size_t len)
{
    while (*mine || *theirs) {
        size_t a = strcspn(mine, "\n"), b = strcspn(theirs, "\n");

        if (a != b || memcmp(mine, theirs, a)) {
            size_t k = strcspn(mine, "=");

            snprintf(out, len, "%.*s is '%.*s' here but '%.*s' in the job",
                     (int)(k < a ? k : a), mine,
                     (int)(k < a ? a - k - 1 : 0), mine + (k < a ? k + 1 : a),
                     (int)(b > k ? b - k - 1 : 0), theirs + (b > k ? k + 1 : b));
            return;
        }
        mine += a + (mine[a] == '\n');
        theirs += b + (theirs[b] == '\n');
    }
    snprintf(out, len, "they differ");
}

/* Join the job: same options, not stopped, seeding announced. */
static enum pg_code join(struct rfr *x)
{
    struct pg__frontier *f = &x->base;
    const struct pg__frontier_config *c = &f->cfg;
    struct pg__redis_args a;
    redisReply *rep = NULL;
    char diff[120];
    enum pg_code rc = PG_E_FATAL;

    pg__redis_args_init(&a);
    if (!pg__rfr_args_start(x, &a, 1) &&
        !pg__redis_args_add(&a, c->shape, strlen(c->shape)) &&
        !pg__redis_args_addf(&a, "%d", c->seeding ? 1 : 0) &&
        !pg__redis_args_addf(&a, "%u", c->lease_s * 1000))
        rep = run(x, &s_join, &a);
    pg__redis_args_release(&a);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
        pg__rfr_fatal(x, "join", rep);
    } else if (!strcmp(rep->element[0]->str, "shape")) {
        shape_diff(c->shape, rep->element[1]->str, diff, sizeof(diff));
        snprintf(f->errmsg, sizeof(f->errmsg), "job '%s' at %.40s was "
                 "started with other crawl-shaping options (%.100s): give every instance "
                 "the same options, or another --job", c->job, c->url, diff);
        rc = PG_E_INVALID;
    } else if (!strcmp(rep->element[0]->str, "stop")) {
        snprintf(f->errmsg, sizeof(f->errmsg), "job '%s' at %.60s was stopped "
                 "with 'pagegrab fleet stop'; 'pagegrab fleet resume' lets "
                 "it run again", c->job, c->url);
        rc = PG_E_INVALID;
    } else {
        rc = PG_OK;
    }
    pg__redis_free_reply(rep);
    return rc;
}

static enum pg_code rd_start(struct pg__frontier *f)
{
    struct rfr *x = R(f);
    char host[128];

    if (pg__redis_parse(&x->r, f->cfg.url, f->errmsg, sizeof(f->errmsg)))
        return PG_E_INVALID;
    x->r.log = f->cfg.log;
    x->r.stop = f->cfg.stop_req;
    snprintf(x->prefix, sizeof(x->prefix), "pagegrab:{%s}:", f->cfg.job);
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "host");
    host[sizeof(host) - 1] = '\0';
    x->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
             (uint64_t)(uintptr_t)x ^ 0x9e3779b97f4a7c15ULL;
    snprintf(x->inst, sizeof(x->inst), "%s-%ld-%04x", host, (long)getpid(),
             (unsigned)(jitter(x) * 65536) & 0xffff);
    x->seeding = f->cfg.seeding;
    pg__redis_args_init(&x->seeds);
    pg__redis_args_init(&x->scope);
    pg__redis_args_init(&x->links);
    pg__redis_args_init(&x->batch);
    x->next_renew = 0;
    return join(x);
}

static const struct pg__frontier_backend redis_backend = {
    rd_start, rd_see, rd_push, pg__rfr_record, rd_pop, rd_defer, rd_done,
    pg__rfr_complete, rd_hold, rd_gap, rd_clear, rd_finished, rd_input_done,
    rd_tick,
    rd_add_scope, rd_free
};

struct pg__frontier *pg__frontier_redis_new(void)
{
    struct rfr *x = pg__calloc(1, sizeof(*x));

    if (!x)
        return NULL;
    x->base.be = &redis_backend;
    return &x->base;
}
