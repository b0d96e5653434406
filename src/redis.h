/*
 * redis.h - one connection to a Redis server (hiredis), for the shared
 * frontier (frontier_redis.c) and `pagegrab fleet` (cmd/fleet.c).
 *
 * A command that cannot reach the server (refused, reset, timed out, the
 * server restarting or still loading its data) is retried on a new
 * connection with a back-off from 0.2 s doubling to 5 s, said once per
 * outage through the logger ("retrying"), and again when the server is
 * back.  It gives up only when the caller's stop flag is set: then NULL
 * and r->errmsg.  An error reply (a script error) is returned as is.
 * Scripts are sent by SHA-1 (EVALSHA) and in full when the server does
 * not know them (a restarted server).  Never prints; main thread only.
 */
#ifndef PG_REDIS_H
#define PG_REDIS_H

#include <stdatomic.h>
#include <stddef.h>

#include "buf.h"
#include "log.h"

struct redisContext;
struct redisReply;

struct pg__redis {
    struct redisContext *c;
    int fd;                    /* c's socket, -1 when not connected (forked
                                  workers close it) */
    char host[256];
    int port;
    int db;
    const struct pg__logger *log;
    atomic_int *stop;          /* give up retrying once non-zero */
    int once;                  /* give up after the first failure */
    int down;                  /* an outage was reported */
    unsigned outages;          /* outages ended so far */
    char errmsg[PG_ERRBUF_SIZE];
};

/* A Lua script and its SHA-1 (hex), computed on first use. */
struct pg__redis_script {
    const char *src;
    char sha[41];
};

/*
 * Parse "redis://HOST[:PORT][/DB]" (HOST may be [IPv6]) into r.
 * PG_E_INVALID with the reason in err.
 */
enum pg_code pg__redis_parse(struct pg__redis *r, const char *url, char *err,
                             size_t errlen) PG_WARN_UNUSED;

/* Run a command (argv with lengths); see above.  Free the reply with
 * pg__redis_free_reply(). */
struct redisReply *pg__redis_argv(struct pg__redis *r, int argc,
                                  const char **argv, const size_t *lens);

/* Run a script with these ARGV (no KEYS). */
struct redisReply *pg__redis_eval(struct pg__redis *r,
                                  struct pg__redis_script *s, int argc,
                                  const char **argv, const size_t *lens);

/* A script call of a pipeline: rep is its answer, or NULL. */
struct pg__redis_args;
struct pg__redis_call {
    struct pg__redis_script *s;
    struct pg__redis_args *a;  /* its ARGV */
    struct redisReply *rep;
    int full;                  /* (internal) send the source: NOSCRIPT */
};

/*
 * Run n scripts in one round trip (redisAppendCommand, then the
 * replies in order), with the retries of pg__redis_argv: after a broken
 * connection the calls not answered are sent again, so a script that
 * changes state must be safe to run twice (redis_lua.c's ONCE).  A call
 * left with rep NULL was given up (r->errmsg).
 */
void pg__redis_eval_pipe(struct pg__redis *r, struct pg__redis_call *c,
                         size_t n);

/* A command of plain string arguments, up to a NULL. */
struct redisReply *pg__redis_cmd(struct pg__redis *r, const char *arg, ...);

void pg__redis_free_reply(struct redisReply *reply);
void pg__redis_close(struct pg__redis *r);

/*
 * A growing argument vector: strings copied into one buffer, pointers
 * made at the end.
 */
struct pg__redis_args {
    struct pg__buf data;
    size_t *off, *len;
    const char **v;
    size_t n, cap;
};

void pg__redis_args_init(struct pg__redis_args *a);
void pg__redis_args_reset(struct pg__redis_args *a);
void pg__redis_args_release(struct pg__redis_args *a);
/* Keep the first n arguments. */
void pg__redis_args_truncate(struct pg__redis_args *a, size_t n);
enum pg_code pg__redis_args_add(struct pg__redis_args *a, const void *p,
                                size_t n) PG_WARN_UNUSED;
enum pg_code pg__redis_args_addf(struct pg__redis_args *a, const char *fmt,
                                 ...) PG_PRINTF(2, 3) PG_WARN_UNUSED;
/* The pointers (valid until the next add); PG_E_NOMEM. */
enum pg_code pg__redis_args_finish(struct pg__redis_args *a) PG_WARN_UNUSED;

#endif
