/*
 * frontier_rdone.c - the redis frontier's completions (frontier_redis.h):
 * a page's links wait for its complete(), which adds the page's result
 * and links to the batch; pg__rfr_flush() sends the batch in one call of
 * redis_lua.c's complete script (run once per sequence number) and hands
 * the record()ed links that were new to the job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "frontier_redis.h"
#include "mem.h"
#include "redis_lua.h"
#include "redis_record.h"

/* A batch is sent at once past either bound, not only once per pass. */
#define BATCH_MAX 256
#define BATCH_MAX_ARGS 16384

/* ARGV before the completions: prefix, instance, per_host, wait_ms. */
#define BATCH_HEAD 4

static struct pg__redis_script s_complete = { pg__lua_complete, "" };

/* Append n items to a growing vector; -1 on out of memory. */
static int items_add(struct pg__item ***v, size_t *n, size_t *cap,
                     struct pg__item *const *add, size_t k)
{
    if (*n + k > *cap) {
        size_t c = *cap ? *cap : 16;
        struct pg__item **nv;

        while (c < *n + k)
            c *= 2;
        nv = pg__realloc(*v, c * sizeof(*nv));
        if (!nv)
            return -1;
        *v = nv;
        *cap = c;
    }
    if (k)
        memcpy(*v + *n, add, k * sizeof(**v));
    *n += k;
    return 0;
}

void pg__rfr_record(struct pg__frontier *f, struct pg__item *it)
{
    struct rfr *x = (struct rfr *)f;
    size_t n0 = x->links.n;

    if (pg__redis_args_add(&x->links, "r", 1) ||
        pg__redis_record_add(&x->links, it) ||
        items_add(&x->recs, &x->n_recs, &x->cap_recs, &it, 1)) {
        pg__redis_args_truncate(&x->links, n0);
        pg__item_free(it);
    }
}

static void free_items(struct pg__item **v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        pg__item_free(v[i]);
}

/* Forget the links of the page being finished (and free its records). */
static void drop_links(struct rfr *x)
{
    free_items(x->recs, x->n_recs);
    x->n_recs = 0;
    pg__redis_args_reset(&x->links);
}

static const char *result_of(const struct pg__item *it)
{
    if ((it->flags & PG_ITEM_CANCELLED) || it->res.status == PG_ST_INTERRUPTED)
        return "release";
    return pg_status_is_success(it->res.status) ? "ok" : "failed";
}

/* Add it (and the links since its done()) to the batch. */
static enum pg_code batch_add(struct rfr *x, const struct pg__item *it)
{
    const struct pg__redis_args *l = &x->links;
    struct pg__redis_args *b = &x->batch;
    enum pg_code rc = PG_OK;
    size_t i;

    if (x->n_batch == 0) {
        rc = pg__rfr_args_start(x, b, 1);
        if (!rc)
            rc = pg__redis_args_addf(b, "%u", x->base.cfg.per_host);
        if (!rc)
            rc = pg__redis_args_addf(b, "%ld", x->base.cfg.wait_ms);
    }
    if (!rc)
        rc = pg__redis_args_add(b, it->url, strlen(it->url));
    if (!rc)
        rc = pg__redis_args_addf(b, "%s", result_of(it));
    if (!rc)
        rc = pg__redis_args_addf(b, "%zu", l->n / 4);
    for (i = 0; !rc && i < l->n; i++)
        rc = pg__redis_args_add(b, l->data.ptr + l->off[i], l->len[i]);
    if (!rc && items_add(&x->brecs, &x->n_brecs, &x->cap_brecs, x->recs,
                         x->n_recs))
        rc = PG_E_NOMEM;
    return rc;
}

void pg__rfr_complete(struct pg__frontier *f, struct pg__item *it)
{
    struct rfr *x = (struct rfr *)f;
    size_t n0 = x->batch.n;

    if (!(it->flags & PG_ITEM_LEASED)) {
        drop_links(x);
        return;
    }
    it->flags &= ~(unsigned)PG_ITEM_LEASED;
    x->next_claim = 0;
    if (batch_add(x, it)) {
        /* Out of memory: not recorded; its lease expires and it is
         * fetched again. */
        pg__log(f->cfg.log, PG_LOG_WARN, "%s: not recorded in the shared "
                "frontier (out of memory); its lease will expire and it "
                "will be fetched again", it->url);
        pg__redis_args_truncate(&x->batch, x->n_batch ? n0 : 0);
        drop_links(x);
        return;
    }
    x->n_recs = 0;   /* they moved to brecs */
    pg__redis_args_reset(&x->links);
    x->n_batch++;
    if (x->n_batch >= BATCH_MAX || x->batch.n >= BATCH_MAX_ARGS)
        pg__rfr_flush(x, NULL);
}

/* The answer's integer at *k (0 when missing), then *k + 1. */
static long long next_int(const redisReply *rep, size_t *k)
{
    const redisReply *e = rep && *k < rep->elements ? rep->element[*k]
                                                     : NULL;

    (*k)++;
    return e && e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
}

/*
 * The batch's answer (NULL: not sent): warn about completions that were
 * not ours or not recorded, hand the record()ed links that were new to
 * the job, free the others.
 */
static void settle(struct rfr *x, const redisReply *rep)
{
    const struct pg__redis_args *b = &x->batch;
    const char *const *v = b->v;
    size_t i = BATCH_HEAD, k = 0, r = 0, j, nl;

    if (rep && rep->type != REDIS_REPLY_ARRAY)
        rep = NULL;
    while (i + 2 < b->n) {
        const char *url = v[i], *res = v[i + 1];
        long long own = next_int(rep, &k);

        nl = (size_t)strtoul(v[i + 2], NULL, 10);
        i += 3;
        if (!rep && !x->base.fatal)
            pg__log(x->base.cfg.log, PG_LOG_WARN, "%s: not recorded in the "
                    "shared frontier (%s); its lease will expire and it "
                    "will be fetched again", url, x->r.errmsg);
        else if (own != 1 && strcmp(res, "release"))
            pg__log(x->base.cfg.log, PG_LOG_WARN, "%s: its lease had "
                    "expired and another instance took it over (raise "
                    "--lease?)", url);
        for (j = 0; j < nl && i + 3 < b->n; j++, i += 4) {
            long long fresh = rep ? next_int(rep, &k) : 0;

            if (v[i][0] != 'r' || r >= x->n_brecs)
                continue;
            if (fresh == 1)
                x->base.cfg.record(x->brecs[r], x->base.cfg.ud);
            else
                pg__item_free(x->brecs[r]);
            x->brecs[r++] = NULL;
        }
    }
    free_items(x->brecs + r, x->n_brecs - r);
    x->n_brecs = 0;
}

void pg__rfr_flush(struct rfr *x, struct pg__redis_call *also)
{
    struct pg__redis_call c[2];
    size_t n = 0;
    int batch = 0;

    memset(c, 0, sizeof(c));
    if (x->n_batch && !pg__redis_args_addf(&x->batch, "%llu", ++x->seq)) {
        c[n].s = &s_complete;
        c[n++].a = &x->batch;
        batch = 1;
    }
    if (also)
        c[n++] = *also;
    if (n)
        pg__redis_eval_pipe(&x->r, c, n);
    if (also)
        also->rep = c[n - 1].rep;
    if (!x->n_batch)
        return;
    if (!batch)
        snprintf(x->r.errmsg, sizeof(x->r.errmsg), "out of memory");
    else if (c[0].rep && c[0].rep->type == REDIS_REPLY_ERROR)
        pg__rfr_fatal(x, "complete", c[0].rep);
    /* The ARGV's pointers, for settle() (also when it was not sent). */
    if (pg__redis_args_finish(&x->batch))
        x->batch.n = 0;
    settle(x, batch ? c[0].rep : NULL);
    if (batch)
        pg__redis_free_reply(c[0].rep);
    pg__redis_args_reset(&x->batch);
    x->n_batch = 0;
}

void pg__rfr_batch_release(struct rfr *x)
{
    free_items(x->recs, x->n_recs);
    free_items(x->brecs, x->n_brecs);
    pg_free(x->recs);
    pg_free(x->brecs);
    x->recs = x->brecs = NULL;
    x->n_recs = x->n_brecs = x->cap_recs = x->cap_brecs = 0;
    pg__redis_args_release(&x->links);
    pg__redis_args_release(&x->batch);
}
