/*
 * frontier_redis.h - the redis backend of frontier.h, shared by its two
 * files: frontier_redis.c (joining, seeds, claims, the job's state,
 * leases) and frontier_rdone.c (the links of a page and the batched
 * completions).
 *
 * Round trips: completions are not sent one by one.  complete() adds
 * the page's result and links to a batch, which goes to Redis in one
 * script call once per pass of the job's loop: pipelined with the next
 * claim (pop), the job-state call (finished), or the lease renewal
 * (tick, every pass).  A completion not sent yet still holds its lease,
 * which tick() renews, so a crash before the flush only means the URL
 * is fetched again (at-least-once).
 */
#ifndef PG_FRONTIER_REDIS_H
#define PG_FRONTIER_REDIS_H

#include "frontier.h"
#include "redis.h"

struct rfr {
    struct pg__frontier base;  /* first */
    struct pg__redis r;
    char prefix[96];           /* "pagegrab:{NAME}:" */
    char inst[160];            /* this instance: host-pid-random */
    struct pg__redis_args seeds; /* (hash, origin, record)... */
    size_t n_seeds;
    struct pg__redis_args scope; /* input hosts not yet sent */
    long long scope_known;     /* hosts in the job's scope we know */
    struct pg__redis_args links; /* of the page being finished */
    struct pg__item **recs;    /* its record()ed links, in order */
    size_t n_recs, cap_recs;
    struct pg__redis_args batch; /* the complete script's ARGV: completions
                                    not sent yet */
    size_t n_batch;
    struct pg__item **brecs;   /* their record()ed links, in order */
    size_t n_brecs, cap_brecs;
    double next_claim, next_check, next_renew;
    unsigned long long seq;    /* of the calls that change state
                                  (redis_lua.c's ONCE: a retried call is
                                  not run twice) */
    unsigned outages_seen;
    int seeding, stopping;
    uint64_t rng;
};

/* The script failed for good: the job cannot go on (f->fatal). */
void pg__rfr_fatal(struct rfr *x, const char *what,
                   const struct redisReply *rep);

/* Start an argument vector with the prefix (and the instance). */
enum pg_code pg__rfr_args_start(struct rfr *x, struct pg__redis_args *a,
                                int with_inst) PG_WARN_UNUSED;

/* frontier_rdone.c: the backend's record() and complete(). */
void pg__rfr_record(struct pg__frontier *f, struct pg__item *it);
void pg__rfr_complete(struct pg__frontier *f, struct pg__item *it);

/*
 * Send the batched completions and, in the same round trip after them,
 * `also` (a claim, a state or renew call; may be NULL), whose reply is
 * then also->rep (NULL: Redis gave up, see x->r.errmsg).
 */
void pg__rfr_flush(struct rfr *x, struct pg__redis_call *also);

/* Forget what is batched (the frontier is freed). */
void pg__rfr_batch_release(struct rfr *x);

#endif
