/*
 * fleet.c - pg_fleet_status() and pg_fleet_stop(): read or stop a crawl
 * shared through Redis, from outside it (`pagegrab fleet`).  The keys
 * are described in redis_lua.c.  One try per command: a status that
 * cannot reach Redis says so at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "frontier.h"
#include "mem.h"
#include "redis.h"

#define MAX_HOSTS 100

static enum pg_code open_job(struct pg__redis *r, const char *frontier,
                             const char *job, char *prefix, size_t plen,
                             char *err, size_t errlen)
{
    if (pg__redis_parse(r, frontier, err, errlen))
        return PG_E_INVALID;
    if (!job || !pg__frontier_job_ok(job)) {
        snprintf(err, errlen, "invalid job name '%s': expected 1 to 64 of "
                 "A-Z a-z 0-9 . _ -", job ? job : "");
        return PG_E_INVALID;
    }
    r->once = 1;
    snprintf(prefix, plen, "pagegrab:{%s}:", job);
    return PG_OK;
}

/* One command on key prefix+name; NULL (err set) if Redis failed. */
static redisReply *cmd(struct pg__redis *r, const char *verb,
                       const char *prefix, const char *name,
                       const char *a1, const char *a2, const char *a3)
{
    char key[600];

    snprintf(key, sizeof(key), "%s%s", prefix, name);
    return pg__redis_cmd(r, verb, key, a1, a2, a3, (const char *)NULL);
}

static uint64_t int_of(const redisReply *rep)
{
    if (!rep)
        return 0;
    if (rep->type == REDIS_REPLY_INTEGER)
        return rep->integer > 0 ? (uint64_t)rep->integer : 0;
    if (rep->type == REDIS_REPLY_STRING)
        return strtoull(rep->str, NULL, 10);
    return 0;
}

/* HGET prefix+key field as a number; -1 when Redis failed. */
static int hget(struct pg__redis *r, const char *prefix, const char *key,
                const char *fieldname, uint64_t *v)
{
    redisReply *rep = cmd(r, "HGET", prefix, key, fieldname, NULL, NULL);

    if (!rep)
        return -1;
    *v = int_of(rep);
    pg__redis_free_reply(rep);
    return 0;
}

static int counters(struct pg__redis *r, const char *p,
                    struct pg_fleet_status *st)
{
    static const char *const names[] = { "queued", "ok", "failed", "dead",
                                         "reclaimed" };
    uint64_t *dst[] = { &st->queued, &st->ok, &st->failed, &st->dead,
                        &st->reclaimed };
    redisReply *rep;
    size_t i;

    for (i = 0; i < 5; i++) {
        if (hget(r, p, "stats", names[i], dst[i]))
            return -1;
    }
    rep = cmd(r, "ZCARD", p, "leases", NULL, NULL, NULL);
    st->leased = int_of(rep);
    pg__redis_free_reply(rep);
    rep = rep ? cmd(r, "SCARD", p, "seen", NULL, NULL, NULL) : NULL;
    st->seen = int_of(rep);
    pg__redis_free_reply(rep);
    rep = rep ? cmd(r, "EXISTS", p, "seeded", NULL, NULL, NULL) : NULL;
    st->seeded = int_of(rep) > 0;
    pg__redis_free_reply(rep);
    rep = rep ? cmd(r, "ZCARD", p, "seeders", NULL, NULL, NULL) : NULL;
    st->seeders = int_of(rep);
    pg__redis_free_reply(rep);
    rep = rep ? cmd(r, "EXISTS", p, "stop", NULL, NULL, NULL) : NULL;
    st->stopped = int_of(rep) > 0;
    pg__redis_free_reply(rep);
    rep = rep ? cmd(r, "EXISTS", p, "config", NULL, NULL, NULL) : NULL;
    st->exists = int_of(rep) > 0;
    pg__redis_free_reply(rep);
    return rep ? 0 : -1;
}

/* The server's clock in seconds. */
static double server_time(struct pg__redis *r)
{
    redisReply *rep = pg__redis_cmd(r, "TIME", (const char *)NULL);
    double t = 0;

    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2)
        t = (double)int_of(rep->element[0]) +
            (double)int_of(rep->element[1]) / 1e6;
    pg__redis_free_reply(rep);
    return t;
}

static int instances(struct pg__redis *r, const char *p,
                     struct pg_fleet_status *st)
{
    redisReply *rep = cmd(r, "ZRANGE", p, "insts", "0", "-1", "WITHSCORES");
    double now = server_time(r);
    size_t i, n;

    if (!rep)
        return -1;
    n = rep->type == REDIS_REPLY_ARRAY ? rep->elements / 2 : 0;
    st->instances = pg__calloc(n ? n : 1, sizeof(*st->instances));
    if (!st->instances) {
        pg__redis_free_reply(rep);
        return -1;
    }
    for (i = 0; i < n; i++) {
        struct pg_fleet_instance *in = &st->instances[st->n_instances];
        const char *id = rep->element[2 * i]->str;
        char key[300];
        redisReply *k;

        in->id = pg__strdup(id);
        if (!in->id)
            break;
        st->n_instances++;
        in->idle_s = now - (double)int_of(rep->element[2 * i + 1]) / 1000.0;
        snprintf(key, sizeof(key), "is:%s", id);
        if (hget(r, p, key, "ok", &in->ok) ||
            hget(r, p, key, "failed", &in->failed))
            break;
        snprintf(key, sizeof(key), "i:%s", id);
        k = cmd(r, "SCARD", p, key, NULL, NULL, NULL);
        in->leased = int_of(k);
        pg__redis_free_reply(k);
    }
    pg__redis_free_reply(rep);
    return i == n ? 0 : -1;
}

static int by_queued(const void *a, const void *b)
{
    const struct pg_fleet_host *x = a, *y = b;

    return x->queued < y->queued ? 1 : x->queued > y->queued ? -1 :
           strcmp(x->origin, y->origin);
}

/* The origins with queued URLs (the ZSET of due hosts and beyond: a
 * SCAN of q:*, bounded). */
static int hosts(struct pg__redis *r, const char *p,
                 struct pg_fleet_status *st)
{
    char cursor[32] = "0", match[600];
    unsigned rounds = 0;
    size_t pl = strlen(p) + 2;

    st->hosts = pg__calloc(MAX_HOSTS, sizeof(*st->hosts));
    if (!st->hosts)
        return -1;
    snprintf(match, sizeof(match), "%sq:*", p);
    do {
        redisReply *rep = pg__redis_cmd(r, "SCAN", cursor, "MATCH", match,
                                        "COUNT", "1000", (const char *)NULL);
        size_t i;

        if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            pg__redis_free_reply(rep);
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        for (i = 0; i < rep->element[1]->elements &&
                    st->n_hosts < MAX_HOSTS; i++) {
            const char *key = rep->element[1]->element[i]->str;
            redisReply *k = pg__redis_cmd(r, "LLEN", key, (const char *)NULL);
            struct pg_fleet_host *h = &st->hosts[st->n_hosts];

            h->queued = int_of(k);
            pg__redis_free_reply(k);
            h->origin = pg__strdup(key + pl);
            if (h->origin)
                st->n_hosts++;
        }
        pg__redis_free_reply(rep);
    } while (strcmp(cursor, "0") && ++rounds < 1000 &&
             st->n_hosts < MAX_HOSTS);
    qsort(st->hosts, st->n_hosts, sizeof(*st->hosts), by_queued);
    return 0;
}

enum pg_code pg_fleet_status(const char *frontier, const char *job,
                             struct pg_fleet_status **out, char *err,
                             size_t errlen)
{
    struct pg__redis r;
    struct pg_fleet_status *st;
    char prefix[96];
    enum pg_code rc;

    *out = NULL;
    rc = open_job(&r, frontier, job, prefix, sizeof(prefix), err, errlen);
    if (rc)
        return rc;
    st = pg__calloc(1, sizeof(*st));
    if (!st)
        return PG_E_NOMEM;
    if (counters(&r, prefix, st) || instances(&r, prefix, st) ||
        hosts(&r, prefix, st)) {
        snprintf(err, errlen, "redis at %s:%d: %s", r.host, r.port,
                 r.errmsg[0] ? r.errmsg : "out of memory");
        pg__redis_close(&r);
        pg_fleet_status_free(st);
        return PG_E_NETWORK;
    }
    pg__redis_close(&r);
    *out = st;
    return PG_OK;
}

void pg_fleet_status_free(struct pg_fleet_status *st)
{
    size_t i;

    if (!st)
        return;
    for (i = 0; i < st->n_instances; i++)
        pg_free((void *)st->instances[i].id);
    for (i = 0; i < st->n_hosts; i++)
        pg_free((void *)st->hosts[i].origin);
    pg_free(st->instances);
    pg_free(st->hosts);
    pg_free(st);
}

enum pg_code pg_fleet_stop(const char *frontier, const char *job, int stop,
                           char *err, size_t errlen)
{
    struct pg__redis r;
    char prefix[96];
    redisReply *rep;
    enum pg_code rc;

    rc = open_job(&r, frontier, job, prefix, sizeof(prefix), err, errlen);
    if (rc)
        return rc;
    rep = stop ? cmd(&r, "SET", prefix, "stop", "1", NULL, NULL)
               : cmd(&r, "DEL", prefix, "stop", NULL, NULL, NULL);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "redis at %s:%d: %s", r.host, r.port,
                 rep ? rep->str : r.errmsg);
        rc = PG_E_NETWORK;
    }
    pg__redis_free_reply(rep);
    pg__redis_close(&r);
    return rc;
}
