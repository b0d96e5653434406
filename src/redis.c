/*
 * redis.c - see redis.h.
 */
#include <errno.h>
#include <fcntl.h>
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
    r->fd = -1;
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
    r->fd = -1;
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
    /* Not for hooks run by --exec; forked workers close it (r->fd is
     * in the pool's list). */
    fcntl(r->c->fd, F_SETFD, FD_CLOEXEC);
    r->fd = r->c->fd;
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

/* The server answered: an outage, if any, is over. */
static void answered(struct pg__redis *r)
{
    if (r->down) {
        pg__log(r->log, PG_LOG_WARN, "redis at %s:%d is back", r->host,
                r->port);
        r->outages++;
    }
    r->down = 0;
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
                answered(r);
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

/*
 * The command that runs s with argc arguments: EVALSHA (or EVAL with the
 * source when full), SHA, 0 (no keys), then argv.  NULL on out of memory;
 * free both vectors.
 */
static const char **eval_argv(struct pg__redis_script *s, int full, int argc,
                              const char **argv, const size_t *lens,
                              size_t **len_out)
{
    const char **v = pg__calloc((size_t)argc + 3, sizeof(*v));
    size_t *len = pg__calloc((size_t)argc + 3, sizeof(*len));

    if (!v || !len) {
        pg_free(v);
        pg_free(len);
        return NULL;
    }
    script_sha(s);
    v[0] = full ? "EVAL" : "EVALSHA";
    v[1] = full ? s->src : s->sha;
    v[2] = "0";
    if (argc > 0) {
        memcpy(v + 3, argv, (size_t)argc * sizeof(*v));
        memcpy(len + 3, lens, (size_t)argc * sizeof(*len));
    }
    len[0] = strlen(v[0]);
    len[1] = strlen(v[1]);
    len[2] = 1;
    *len_out = len;
    return v;
}

static int is_noscript(const redisReply *rep)
{
    return rep && rep->type == REDIS_REPLY_ERROR &&
           !strncmp(rep->str, "NOSCRIPT", 8);
}

redisReply *pg__redis_eval(struct pg__redis *r, struct pg__redis_script *s,
                           int argc, const char **argv, const size_t *lens)
{
    size_t *len = NULL;
    const char **v = eval_argv(s, 0, argc, argv, lens, &len);
    redisReply *rep;

    if (!v) {
        snprintf(r->errmsg, sizeof(r->errmsg), "out of memory");
        return NULL;
    }
    rep = pg__redis_argv(r, argc + 3, v, len);
    if (is_noscript(rep)) {
        /* A new or restarted server: send the script itself. */
        pg__redis_free_reply(rep);
        v[0] = "EVAL";
        v[1] = s->src;
        len[0] = 4;
        len[1] = strlen(s->src);
        rep = pg__redis_argv(r, argc + 3, v, len);
    }
    pg_free(v);
    pg_free(len);
    return rep;
}

/* ---- pipelines -------------------------------------------------------- */

/* Queue call c on the connection; -1 on out of memory. */
static int append_eval(struct pg__redis *r, struct pg__redis_call *c)
{
    const struct pg__redis_args *a = c->a;
    size_t *len = NULL;
    const char **v = eval_argv(c->s, c->full, (int)a->n, a->v, a->len, &len);
    int rc;

    if (!v)
        return -1;
    rc = redisAppendCommandArgv(r->c, (int)a->n + 3, v, len);
    pg_free(v);
    pg_free(len);
    return rc == REDIS_OK ? 0 : -1;
}

/*
 * One round trip: send the calls not answered yet, read their replies.
 * 0: each was answered (a NOSCRIPT one is marked full and stays
 * unanswered); -1: the connection failed or the server was busy
 * (errmsg), try again later; -2: out of memory.
 */
static int pipe_round(struct pg__redis *r, struct pg__redis_call *c, size_t n)
{
    int rc = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!c[i].rep && append_eval(r, &c[i])) {
            snprintf(r->errmsg, sizeof(r->errmsg), "out of memory");
            pg__redis_close(r);   /* drop what was queued */
            return -2;
        }
    }
    for (i = 0; i < n; i++) {
        void *v = NULL;
        redisReply *rep;

        if (c[i].rep)
            continue;
        if (redisGetReply(r->c, &v) != REDIS_OK || !v) {
            snprintf(r->errmsg, sizeof(r->errmsg), "%s", r->c->errstr);
            pg__redis_close(r);
            return -1;
        }
        rep = v;
        if (is_noscript(rep)) {
            c[i].full = 1;
            pg__redis_free_reply(rep);
        } else if (rep->type == REDIS_REPLY_ERROR && transient_error(rep)) {
            snprintf(r->errmsg, sizeof(r->errmsg), "%s", rep->str);
            pg__redis_free_reply(rep);
            rc = -1;
        } else {
            c[i].rep = rep;
        }
    }
    return rc;
}

void pg__redis_eval_pipe(struct pg__redis *r, struct pg__redis_call *c,
                         size_t n)
{
    double delay = BACKOFF_MIN;
    size_t i, left;
    int rc;

    for (i = 0; i < n; i++) {
        c[i].rep = NULL;
        c[i].full = 0;
        if (pg__redis_args_finish(c[i].a))
            return;
    }
    for (;;) {
        rc = -1;
        if (r->c || connect_once(r) == 0)
            rc = pipe_round(r, c, n);
        if (rc == -2)
            return;
        if (rc == 0) {
            answered(r);
            for (i = 0, left = 0; i < n; i++)
                left += !c[i].rep;
            if (!left)
                return;
            continue;   /* NOSCRIPT: the sources now */
        }
        if (backoff(r, &delay))
            return;
    }
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

void pg__redis_args_truncate(struct pg__redis_args *a, size_t n)
{
    if (n >= a->n)
        return;
    a->data.len = a->off[n];
    a->n = n;
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
