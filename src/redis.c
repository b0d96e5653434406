/*
 * redis.c - see redis.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "mem.h"
#include "redis.h"

#define BACKOFF_MIN 0.2
#define BACKOFF_MAX 5.0

enum pg_code pg__redis_parse(struct pg__redis *r, const char *url, char *err,
                             size_t errlen)
{
    const char *p = url + 8, *e;
    char *end;
    size_t n;
    long v;

    memset(r, 0, sizeof(*r));
    r->port = 6379;
    if (strncmp(url, "redis://", 8))
        goto bad;
    if (*p == '[') {
        e = strchr(p, ']');
        if (!e)
            goto bad;
        n = (size_t)(e - p - 1);
        p++;
        e++;
    } else {
        n = strcspn(p, ":/");
        e = p + n;
    }
    if (n == 0 || n >= sizeof(r->host))
        goto bad;
    memcpy(r->host, p, n);
    r->host[n] = '\0';
    if (*e == ':') {
        errno = 0;
        v = strtol(e + 1, &end, 10);
        if (end == e + 1 || errno || v < 1 || v > 65535)
            goto bad;
        r->port = (int)v;
        e = end;
    }
    if (*e == '/' && e[1]) {
        errno = 0;
        v = strtol(e + 1, &end, 10);
        if (end == e + 1 || errno || *end || v < 0 || v > 100000)
            goto bad;
        r->db = (int)v;
    } else if (*e && strcmp(e, "/")) {
        goto bad;
    }
    return PG_OK;
bad:
    snprintf(err, errlen, "invalid frontier '%s': expected "
             "redis://HOST[:PORT][/DB]", url);
    return PG_E_INVALID;
}

void pg__redis_free_reply(struct redisReply *reply)
{
    if (reply)
        freeReplyObject(reply);
}

void pg__redis_close(struct pg__redis *r)
{
    if (r->c)
        redisFree(r->c);
    r->c = NULL;
}

/* Connect (and SELECT the database); -1 with errmsg. */
static int connect_once(struct pg__redis *r)
{
    struct timeval tv = { 5, 0 };
    redisReply *rep;

    r->c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!r->c || r->c->err) {
        snprintf(r->errmsg, sizeof(r->errmsg), "%s",
                 r->c ? r->c->errstr : "out of memory");
        pg__redis_close(r);
        return -1;
    }
    tv.tv_sec = 30;
    redisSetTimeout(r->c, tv);
    redisEnableKeepAlive(r->c);
    if (r->db == 0)
        return 0;
    rep = redisCommand(r->c, "SELECT %d", r->db);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        snprintf(r->errmsg, sizeof(r->errmsg), "SELECT %d: %s", r->db,
                 rep ? rep->str : r->c->errstr);
        pg__redis_free_reply(rep);
        pg__redis_close(r);
        return -1;
    }
    pg__redis_free_reply(rep);
    return 0;
}

/* An error reply that means "try again later". */
static int transient_error(const redisReply *rep)
{
    static const char *const busy[] = { "LOADING", "BUSY", "TRYAGAIN",
                                        "MASTERDOWN" };
    size_t i;

    for (i = 0; i < sizeof(busy) / sizeof(busy[0]); i++) {
        if (!strncmp(rep->str, busy[i], strlen(busy[i])))
            return 1;
    }
    return 0;
}

/* Wait before the next try; 0 to go on, -1 to give up. */
static int backoff(struct pg__redis *r, double *delay)
{
    struct timespec ts;

    if (r->once || (r->stop && atomic_load(r->stop)))
        return -1;
    if (!r->down)
        pg__log(r->log, PG_LOG_WARN, "redis at %s:%d: %s; retrying "
                "(nothing is lost meanwhile)", r->host, r->port, r->errmsg);
    r->down = 1;
    ts.tv_sec = (time_t)*delay;
    ts.tv_nsec = (long)((*delay - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
    *delay = *delay * 2 > BACKOFF_MAX ? BACKOFF_MAX : *delay * 2;
    return 0;
}

redisReply *pg__redis_argv(struct pg__redis *r, int argc, const char **argv,
                           const size_t *lens)
{
    double delay = BACKOFF_MIN;
    redisReply *rep;

    for (;;) {
        if (r->c || connect_once(r) == 0) {
            rep = redisCommandArgv(r->c, argc, argv, lens);
            if (rep && !(rep->type == REDIS_REPLY_ERROR &&
                         transient_error(rep))) {
                if (r->down) {
                    pg__log(r->log, PG_LOG_WARN, "redis at %s:%d is back",
                            r->host, r->port);
                    r->outages++;
                }
                r->down = 0;
                return rep;
            }
            snprintf(r->errmsg, sizeof(r->errmsg), "%s",
                     rep ? rep->str : r->c->errstr);
            pg__redis_free_reply(rep);
            pg__redis_close(r);
        }
        if (backoff(r, &delay))
            return NULL;
    }
}

redisReply *pg__redis_cmd(struct pg__redis *r, const char *arg, ...)
{
    const char *v[16];
    size_t len[16];
    int n = 0;
    va_list ap;

    va_start(ap, arg);
    for (; arg && n < 16; arg = va_arg(ap, const char *)) {
        v[n] = arg;
        len[n++] = strlen(arg);
    }
    va_end(ap);
    return pg__redis_argv(r, n, v, len);
}

static void script_sha(struct pg__redis_script *s)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0, i;

    if (s->sha[0])
        return;
    EVP_Digest(s->src, strlen(s->src), d, &n, EVP_sha1(), NULL);
    for (i = 0; i < n && i < 20; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", d[i]);
}

redisReply *pg__redis_eval(struct pg__redis *r, struct pg__redis_script *s,
                           int argc, const char **argv, const size_t *lens)
{
    const char **v = pg__calloc((size_t)argc + 3, sizeof(*v));
    size_t *len = pg__calloc((size_t)argc + 3, sizeof(*len));
    redisReply *rep = NULL;

    if (!v || !len) {
        snprintf(r->errmsg, sizeof(r->errmsg), "out of memory");
        goto out;
    }
    script_sha(s);
    v[0] = "EVALSHA";
    v[1] = s->sha;
    v[2] = "0";
    memcpy(v + 3, argv, (size_t)argc * sizeof(*v));
    memcpy(len + 3, lens, (size_t)argc * sizeof(*len));
    len[0] = 7;
    len[1] = strlen(s->sha);
    len[2] = 1;
    rep = pg__redis_argv(r, argc + 3, v, len);
    if (rep && rep->type == REDIS_REPLY_ERROR &&
        !strncmp(rep->str, "NOSCRIPT", 8)) {
        /* A new or restarted server: send the script itself. */
        pg__redis_free_reply(rep);
        v[0] = "EVAL";
        v[1] = s->src;
        len[0] = 4;
        len[1] = strlen(s->src);
        rep = pg__redis_argv(r, argc + 3, v, len);
    }
out:
    pg_free(v);
    pg_free(len);
    return rep;
}

/* ---- argument vectors ------------------------------------------------- */

void pg__redis_args_init(struct pg__redis_args *a)
{
    memset(a, 0, sizeof(*a));
    pg__buf_init(&a->data, (size_t)1 << 30);
}

void pg__redis_args_reset(struct pg__redis_args *a)
{
    pg__buf_reset(&a->data);
    a->n = 0;
}

void pg__redis_args_release(struct pg__redis_args *a)
{
    pg__buf_release(&a->data);
    pg_free(a->off);
    pg_free(a->len);
    pg_free(a->v);
    memset(a, 0, sizeof(*a));
}

static enum pg_code args_grow(struct pg__redis_args *a)
{
    size_t cap = a->cap ? a->cap * 2 : 64;
    size_t *off = pg__realloc(a->off, cap * sizeof(*off));
    size_t *len;

    if (!off)
        return PG_E_NOMEM;
    a->off = off;
    len = pg__realloc(a->len, cap * sizeof(*len));
    if (!len)
        return PG_E_NOMEM;
    a->len = len;
    a->cap = cap;
    return PG_OK;
}

enum pg_code pg__redis_args_add(struct pg__redis_args *a, const void *p,
                                size_t n)
{
    if (a->n == a->cap && args_grow(a))
        return PG_E_NOMEM;
    a->off[a->n] = a->data.len;
    a->len[a->n] = n;
    /* Keep the buffer non-empty so that its pointer exists. */
    if (pg__buf_add(&a->data, p, n) || pg__buf_addc(&a->data, '\0'))
        return PG_E_NOMEM;
    a->n++;
    return PG_OK;
}

enum pg_code pg__redis_args_addf(struct pg__redis_args *a, const char *fmt,
                                 ...)
{
    char tmp[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return PG_E_LIMIT;
    return pg__redis_args_add(a, tmp, (size_t)n);
}

enum pg_code pg__redis_args_finish(struct pg__redis_args *a)
{
    const char **v = pg__realloc(a->v, (a->n ? a->n : 1) * sizeof(*v));
    size_t i;

    if (!v)
        return PG_E_NOMEM;
    a->v = v;
    for (i = 0; i < a->n; i++)
        v[i] = a->data.ptr + a->off[i];
    return PG_OK;
}
