/*
 * redis_server.h - a real redis-server for the tests of the shared
 * frontier (test_fleet.c): started on 127.0.0.1 on a free ephemeral port
 * (bound to port 0, read back, closed; never 6379), with no persistence
 * unless asked (--save '' --appendonly no) and its files in the test's
 * temp dir; ready once it answers PING; stopped by its pid.  A test
 * whose machine has no redis-server is skipped.
 */
#ifndef PG_TEST_REDIS_SERVER_H
#define PG_TEST_REDIS_SERVER_H

#include <sys/types.h>

#include "testlib.h"

struct pg_redis_server {
    pid_t pid;
    unsigned port;
    int aof;                /* started with --appendonly yes */
    char url[64];           /* "redis://127.0.0.1:PORT" */
    char log[PATH_MAX + 32];
};

/* Start one (aof: append-only file on, for restart tests); skips the
 * test when redis-server is not installed, fails it if it does not
 * answer within 10 s. */
void pg_redis_start(struct pg_test *t, struct pg_redis_server *rs, int aof);
/* Start it again on the same port and directory (after a stop). */
void pg_redis_restart(struct pg_test *t, struct pg_redis_server *rs);
/* Stop it (SIGTERM, then SIGKILL after 5 s) and reap it. */
void pg_redis_stop(struct pg_redis_server *rs);
/* Kill it at once (SIGKILL) and reap it. */
void pg_redis_kill(struct pg_redis_server *rs);

/*
 * One command (plain string arguments up to NULL) on a fresh
 * connection; the integer answer, or the length of an array answer, or
 * -1 for an error or nil.  With out (outlen bytes), a string answer, or
 * an array's elements joined with '\n', is copied there.
 */
long long pg_redis_cmd(struct pg_test *t, struct pg_redis_server *rs,
                       char *out, size_t outlen, const char *arg, ...);

#endif
