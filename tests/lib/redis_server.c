/*
 * redis_server.c - see redis_server.h.
 */
#include "redis_server.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

extern char **environ;

/* The redis-server in PATH (or /usr/bin, /usr/local/bin), or NULL. */
static const char *find_server(void)
{
    static char found[PATH_MAX];
    const char *path = getenv("PATH");
    char buf[4096];
    char *save = NULL, *dir;

    snprintf(buf, sizeof(buf), "%s:/usr/bin:/usr/local/bin",
             path ? path : "");
    for (dir = strtok_r(buf, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        snprintf(found, sizeof(found), "%s/redis-server", dir);
        if (access(found, X_OK) == 0)
            return found;
    }
    return NULL;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int answers_ping(unsigned port)
{
    struct timeval tv = { 1, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", (int)port, tv);
    redisReply *r;
    int ok = 0;

    if (!c || c->err) {
        if (c)
            redisFree(c);
        return 0;
    }
    r = redisCommand(c, "PING");
    ok = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "PONG");
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return ok;
}

static void spawn_server(struct pg_test *t, struct pg_redis_server *rs)
{
    const char *bin = find_server();
    char port[16], dir[PATH_MAX + 16];
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    const char *argv[16];
    int rc, i;

    if (!bin)
        pg_test_skip(t, "redis-server is not installed");
    snprintf(port, sizeof(port), "%u", rs->port);
    snprintf(dir, sizeof(dir), "%s/redis", t->dir);
    mkdir(dir, 0700);
    snprintf(rs->log, sizeof(rs->log), "%s/redis.log", dir);
    argv[0] = bin;
    argv[1] = "--port";
    argv[2] = port;
    argv[3] = "--bind";
    argv[4] = "127.0.0.1";
    argv[5] = "--save";
    argv[6] = "";
    argv[7] = "--appendonly";
    argv[8] = rs->aof ? "yes" : "no";
    argv[9] = "--dir";
    argv[10] = dir;
    argv[11] = "--appendfsync";
    argv[12] = "always";
    argv[13] = NULL;
    pg_spawn_prepare(t, &fa, &attr, NULL, rs->log, rs->log);
    rc = posix_spawn(&rs->pid, bin, &fa, &attr, (char *const *)argv,
                     environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        pg_test_fail(t, "cannot start %s: %s", bin, strerror(rc));
    for (i = 0; i < 200; i++) {
        if (answers_ping(rs->port))
            return;
        sleep_ms(50);
    }
    pg_redis_kill(rs);
    pg_test_fail(t, "redis-server on port %u did not answer PING (see %s)",
                 rs->port, rs->log);
}

void pg_redis_start(struct pg_test *t, struct pg_redis_server *rs, int aof)
{
    memset(rs, 0, sizeof(*rs));
    rs->aof = aof;
    rs->port = pg_unused_port(t);
    snprintf(rs->url, sizeof(rs->url), "redis://127.0.0.1:%u", rs->port);
    spawn_server(t, rs);
}

void pg_redis_restart(struct pg_test *t, struct pg_redis_server *rs)
{
    spawn_server(t, rs);
}

static void reap(struct pg_redis_server *rs, int sig, unsigned wait_ms)
{
    unsigned waited = 0;
    int status;

    if (rs->pid <= 0)
        return;
    kill(rs->pid, sig);
    while (waitpid(rs->pid, &status, WNOHANG) == 0) {
        if (waited >= wait_ms) {
            kill(rs->pid, SIGKILL);
            waitpid(rs->pid, &status, 0);
            break;
        }
        sleep_ms(20);
        waited += 20;
    }
    rs->pid = 0;
}

void pg_redis_stop(struct pg_redis_server *rs)
{
    reap(rs, SIGTERM, 5000);
}

void pg_redis_kill(struct pg_redis_server *rs)
{
    reap(rs, SIGKILL, 5000);
}

static void copy_reply(const redisReply *r, char *out, size_t outlen)
{
    size_t n = 0, i;

    out[0] = '\0';
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
        snprintf(out, outlen, "%s", r->str);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY)
        return;
    for (i = 0; i < r->elements && n + 1 < outlen; i++) {
        const redisReply *e = r->element[i];
        int k = snprintf(out + n, outlen - n, "%s%s", i ? "\n" : "",
                         e->type == REDIS_REPLY_STRING ? e->str : "");

        if (k < 0)
            break;
        n += (size_t)k;
    }
}

long long pg_redis_cmd(struct pg_test *t, struct pg_redis_server *rs,
                       char *out, size_t outlen, const char *arg, ...)
{
    struct timeval tv = { 5, 0 };
    const char *v[16];
    size_t len[16];
    int n = 0;
    va_list ap;
    redisContext *c;
    redisReply *r;
    long long res = -1;

    va_start(ap, arg);
    for (; arg && n < 16; arg = va_arg(ap, const char *)) {
        v[n] = arg;
        len[n++] = strlen(arg);
    }
    va_end(ap);
    c = redisConnectWithTimeout("127.0.0.1", (int)rs->port, tv);
    if (!c || c->err)
        pg_test_fail(t, "cannot connect to redis on port %u", rs->port);
    r = redisCommandArgv(c, n, v, len);
    if (!r)
        pg_test_fail(t, "redis %s: %s", v[0], c->errstr);
    if (r->type == REDIS_REPLY_INTEGER)
        res = r->integer;
    else if (r->type == REDIS_REPLY_ARRAY)
        res = (long long)r->elements;
    else if (r->type == REDIS_REPLY_STRING)
        res = strtoll(r->str, NULL, 10);
    if (out && outlen)
        copy_reply(r, out, outlen);
    freeReplyObject(r);
    redisFree(c);
    return res;
}
