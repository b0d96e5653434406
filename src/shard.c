/*
 * shard.c - see shard.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "shard.h"
#include "util.h"

/* The most shards: far above Slurm's and Kubernetes' array limits. */
#define SHARD_MAX 1000000u

uint64_t pg_shard_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a 64 offset basis */
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;            /* FNV-1a 64 prime */
    }
    /* FNV-1a's low bits depend on few input bits (the lowest is the
     * parity of the bytes' lowest bits); the finaliser spreads every
     * bit over the word before the modulo. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

unsigned pg_shard_of(const void *key, size_t len, unsigned n)
{
    if (n <= 1)
        return 0;
    return (unsigned)(pg_shard_hash(key, len) % n);
}

/*
 * A whole decimal number of at most `max`: digits only (no sign, space
 * or hex).  0, -1 when not a number, -2 when too large.
 */
static int whole(const char *s, size_t len, unsigned max, unsigned *out)
{
    unsigned long v = 0;
    size_t i;

    if (len == 0)
        return -1;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > max)
            return -2;
    }
    *out = (unsigned)v;
    return 0;
}

enum pg_code pg_shard_parse(const char *spec, unsigned *k, unsigned *n,
                            char *err, size_t errlen)
{
    const char *slash = spec ? strchr(spec, '/') : NULL;
    unsigned kk = 0, nn = 0;
    int rk, rn;

    if (!slash) {
        snprintf(err, errlen, "expected K/N with 0 <= K < N, e.g. 3/16");
        return PG_E_INVALID;
    }
    rk = whole(spec, (size_t)(slash - spec), SHARD_MAX, &kk);
    rn = whole(slash + 1, strlen(slash + 1), SHARD_MAX, &nn);
    if (rk == -1 || rn == -1) {
        snprintf(err, errlen, "%s is not a whole number: expected K/N with "
                 "0 <= K < N, e.g. 3/16", rk == -1 ? "K" : "N");
        return PG_E_INVALID;
    }
    if (rk == -2 || rn == -2) {
        snprintf(err, errlen, "%s is too large (at most %u)",
                 rk == -2 ? "K" : "N", SHARD_MAX);
        return PG_E_INVALID;
    }
    if (nn < 1) {
        snprintf(err, errlen, "N must be at least 1");
        return PG_E_INVALID;
    }
    if (kk >= nn) {
        snprintf(err, errlen, "K (%u) must be less than N (%u): shards are "
                 "numbered 0 to N-1", kk, nn);
        return PG_E_INVALID;
    }
    *k = kk;
    *n = nn;
    return PG_OK;
}

static const char *env_get(const char *(*get)(const char *),
                           const char *name)
{
    const char *v = get ? get(name) : getenv(name);

    return v && *v ? v : NULL;
}

/* The variable `name` as a whole number; PG_E_INVALID with a message. */
static enum pg_code env_num(const char *(*get)(const char *),
                            const char *name, const char *def,
                            unsigned *out, char *err, size_t errlen)
{
    const char *v = env_get(get, name);
    int r;

    if (!v)
        v = def;
    if (!v) {
        snprintf(err, errlen, "%s is not set (SLURM_ARRAY_TASK_ID is)",
                 name);
        return PG_E_INVALID;
    }
    r = whole(v, strlen(v), 0xffffffffu, out);
    if (r) {
        snprintf(err, errlen, "%s='%.64s' is %s", name, v,
                 r == -1 ? "not a whole number" : "too large");
        return PG_E_INVALID;
    }
    return PG_OK;
}

static enum pg_code from_slurm(const char *(*get)(const char *),
                               unsigned shards, unsigned *k, unsigned *n,
                               char *err, size_t errlen)
{
    unsigned id, min, step, count;

    if (env_num(get, "SLURM_ARRAY_TASK_ID", NULL, &id, err, errlen) ||
        env_num(get, "SLURM_ARRAY_TASK_MIN", NULL, &min, err, errlen) ||
        env_num(get, "SLURM_ARRAY_TASK_STEP", "1", &step, err, errlen) ||
        env_num(get, "SLURM_ARRAY_TASK_COUNT", NULL, &count, err, errlen))
        return PG_E_INVALID;
    if (step < 1) {
        snprintf(err, errlen, "SLURM_ARRAY_TASK_STEP=0 must be at least 1");
        return PG_E_INVALID;
    }
    if (count < 1 || count > SHARD_MAX) {
        snprintf(err, errlen, "SLURM_ARRAY_TASK_COUNT=%u is out of range "
                 "(1..%u)", count, SHARD_MAX);
        return PG_E_INVALID;
    }
    if (id < min || (id - min) % step) {
        snprintf(err, errlen, "SLURM_ARRAY_TASK_ID=%u is not "
                 "SLURM_ARRAY_TASK_MIN=%u plus a multiple of "
                 "SLURM_ARRAY_TASK_STEP=%u", id, min, step);
        return PG_E_INVALID;
    }
    if ((id - min) / step >= count) {
        snprintf(err, errlen, "task %u ((SLURM_ARRAY_TASK_ID=%u - MIN=%u) "
                 "/ STEP=%u) is not below SLURM_ARRAY_TASK_COUNT=%u: the "
                 "array must be a range (--array=A-B or A-B:S)",
                 (id - min) / step, id, min, step, count);
        return PG_E_INVALID;
    }
    if (shards && shards != count) {
        snprintf(err, errlen, "the number of shards (%u) differs from "
                 "SLURM_ARRAY_TASK_COUNT=%u", shards, count);
        return PG_E_INVALID;
    }
    *k = (id - min) / step;
    *n = count;
    return PG_OK;
}

enum pg_code pg_shard_from_env(const char *(*get)(const char *name),
                               unsigned shards, unsigned *k, unsigned *n,
                               char *err, size_t errlen)
{
    const char *slurm = env_get(get, "SLURM_ARRAY_TASK_ID");
    const char *kube = env_get(get, "JOB_COMPLETION_INDEX");
    unsigned idx;
    int r;

    if (slurm && kube) {
        snprintf(err, errlen, "both SLURM_ARRAY_TASK_ID and "
                 "JOB_COMPLETION_INDEX are set: give K/N instead");
        return PG_E_INVALID;
    }
    if (slurm)
        return from_slurm(get, shards, k, n, err, errlen);
    if (!kube) {
        snprintf(err, errlen, "neither a Slurm job array "
                 "(SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job "
                 "(JOB_COMPLETION_INDEX) is in the environment: give K/N "
                 "instead");
        return PG_E_INVALID;
    }
    r = whole(kube, strlen(kube), 0xffffffffu, &idx);
    if (r) {
        snprintf(err, errlen, "JOB_COMPLETION_INDEX='%.64s' is %s", kube,
                 r == -1 ? "not a whole number" : "too large");
        return PG_E_INVALID;
    }
    if (!shards) {
        snprintf(err, errlen, "JOB_COMPLETION_INDEX=%u is set, but not the "
                 "number of shards (--shards N, the Job's completions)",
                 idx);
        return PG_E_INVALID;
    }
    if (shards > SHARD_MAX || idx >= shards) {
        snprintf(err, errlen, "JOB_COMPLETION_INDEX=%u is not below the "
                 "number of shards (%u; at most %u)", idx, shards,
                 SHARD_MAX);
        return PG_E_INVALID;
    }
    *k = idx;
    *n = shards;
    return PG_OK;
}

int pg__shard_by_host(const struct pg_options *o)
{
    if (o->shard_key != PG_SHARD_KEY_DEFAULT)
        return o->shard_key == PG_SHARD_KEY_HOST;
    return o->n_follow > 0 && o->depth >= 1;
}

int pg__shard_owns(const struct pg_options *o, int by_host,
                   const char *url, const char *host)
{
    const char *key = by_host && host ? host : url;

    if (o->shard_n <= 1)
        return 1;
    return pg_shard_of(key, strlen(key), o->shard_n) == o->shard_k;
}

enum pg_code pg__shard_check(const struct pg_options *o, char *err,
                             size_t errlen)
{
    if (o->shard_key != PG_SHARD_KEY_DEFAULT &&
        o->shard_key != PG_SHARD_KEY_URL &&
        o->shard_key != PG_SHARD_KEY_HOST) {
        snprintf(err, errlen, "unknown shard key %d", (int)o->shard_key);
        return PG_E_INVALID;
    }
    if (o->shard_n == 0 && o->shard_k == 0) {
        if (!o->divert_path)
            return PG_OK;
        snprintf(err, errlen, "--divert '%s' needs --shard K/N",
                 o->divert_path);
        return PG_E_INVALID;
    }
    if (o->shard_n > SHARD_MAX || o->shard_k >= o->shard_n) {
        snprintf(err, errlen, "invalid shard %u/%u: expected K/N with "
                 "0 <= K < N <= %u", o->shard_k, o->shard_n, SHARD_MAX);
        return PG_E_INVALID;
    }
    if (o->divert_path && !*o->divert_path) {
        snprintf(err, errlen, "empty file name for --divert");
        return PG_E_INVALID;
    }
    return PG_OK;
}

void pg__divert_init(struct pg__divert *d)
{
    d->fd = -1;
}

/* Cut a torn last line (a crash in the middle of a write). */
static enum pg_code cut_torn(int fd)
{
    char block[4096];
    off_t end = lseek(fd, 0, SEEK_END), pos = end;

    if (end < 0)
        return PG_E_IO;
    while (pos > 0) {
        size_t n = pos < (off_t)sizeof(block) ? (size_t)pos : sizeof(block);
        size_t i;

        pos -= (off_t)n;
        if (pg__pread_all(fd, block, n, (uint64_t)pos))
            return PG_E_IO;
        for (i = n; i > 0; i--) {
            if (block[i - 1] == '\n') {
                off_t keep = pos + (off_t)i;

                if (keep != end && ftruncate(fd, keep) < 0)
                    return PG_E_IO;
                return PG_OK;
            }
        }
    }
    return end && ftruncate(fd, 0) < 0 ? PG_E_IO : PG_OK;
}

enum pg_code pg__divert_open(struct pg__divert *d, const char *path,
                             int append)
{
    int e;

    d->fd = open(path, O_RDWR | O_CREAT | (append ? 0 : O_TRUNC) |
                 O_APPEND | O_CLOEXEC, 0600);
    if (d->fd < 0)
        return PG_E_IO;
    d->kind = pg__fd_kind(d->fd);
    if (append && cut_torn(d->fd)) {
        e = errno;
        close(d->fd);
        d->fd = -1;
        errno = e;
        return PG_E_IO;
    }
    return PG_OK;
}

enum pg_code pg__divert_add(struct pg__divert *d, const char *url, int sync)
{
    size_t n = strlen(url);
    char *line;
    enum pg_code rc;

    if (d->fd < 0)
        return PG_OK;
    line = pg_malloc(n + 1);
    if (!line)
        return PG_E_NOMEM;
    memcpy(line, url, n);
    line[n] = '\n';
    rc = pg__write_kind(d->fd, d->kind, line, n + 1);
    pg_free(line);
    if (!rc && sync && fdatasync(d->fd) < 0 && errno != EINVAL)
        rc = PG_E_IO;
    return rc;
}

enum pg_code pg__divert_close(struct pg__divert *d)
{
    enum pg_code rc = PG_OK;

    if (d->fd < 0)
        return PG_OK;
    if (fdatasync(d->fd) < 0 && errno != EINVAL)
        rc = PG_E_IO;
    if (close(d->fd) < 0 && !rc)
        rc = PG_E_IO;
    d->fd = -1;
    return rc;
}
