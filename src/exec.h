/*
 * exec.h - --exec hooks: a command run for each saved file, by the main
 * thread, without blocking the job.
 *
 * A saved result whose hook is to run is written to the manifest at
 * once with "exec_pending":true, then waits in a FIFO; at most `jobs`
 * hooks run at once (posix_spawn of /bin/sh -c CMD sh PATH, each in its
 * own process group, stdin /dev/null, no other descriptor, the result
 * in PAGEGRAB_* variables).  The job's loop polls one epoll descriptor
 * that becomes readable when a hook exits (a pidfd per hook; without
 * pidfds the loop wakes every EXEC_POLL_MS); the hook is reaped by its
 * pid (waitpid(pid, WNOHANG): no SIGCHLD handler, no wait for any
 * child), and the URL's record is written again with exec_status and
 * exec_ms.  A hook that does not exit 0 counts in exec_failed.
 *
 * Memory is bounded: past EXEC_QUEUE_MAX waiting results the job starts
 * no new transfer until the FIFO drains (pg__exec_full).
 *
 * Stopping (pg_job_stop or a fatal error): waiting hooks are dropped,
 * running ones get SIGTERM (their process group), then SIGKILL after
 * the grace; all are reaped before pg_job_run() returns.  A hook that
 * was stopped so, or never started, keeps its pending record: --resume
 * runs it again from that record (pg__exec_resume_add), without
 * fetching the URL again, and completes that record.
 *
 * Main thread only.  Neither exec.h nor exec.c is seen by workers; the
 * pidfds and the epoll descriptor are closed in forked pool workers
 * (pool_proc.c closes every fd but the worker's own; fds.c).
 */
#ifndef PG_EXEC_H
#define PG_EXEC_H

#include <stdint.h>
#include <sys/types.h>

#include "hashmap.h"
#include "log.h"
#include "manifest.h"
#include "pagegrab.h"

struct pg_job;
struct pg__item;

/* Results waiting for a hook before the job stops taking new ones. */
#define EXEC_QUEUE_MAX 1024
/* How often the loop looks at running hooks when there are no pidfds. */
#define EXEC_POLL_MS 10

struct pg__hook {
    struct pg__hook *next;
    struct pg__item *it;   /* the result (owned) */
    char *line;            /* --resume: the pending record to complete,
                              or NULL */
    size_t len;
    uint64_t url_hash;     /* --resume: which URL it is */
    pid_t pid;             /* running, or 0 */
    double t0;
};

struct pg__exec {
    struct pg_job *job;      /* for pg__job_record / pg__job_fail */
    const struct pg__logger *log;
    struct pg_stats *stats;  /* exec_done, exec_failed */
    long grace_ms;
    const char *cmd;         /* NULL: no hooks */
    const char *outdir;      /* as the caller gave it */
    unsigned jobs;           /* at once */
    int quiet;
    struct pg__hook *q_head, *q_tail;  /* waiting, oldest first */
    size_t queued;
    struct pg__hook **slot;  /* jobs entries: running hooks or NULL */
    int *pidfd;              /* jobs entries: their pidfds, or -1 */
    unsigned running;
    int epfd;                /* readable when a hook exited, or -1 */
    int stopping;            /* the job stops: TERM sent */
    int killed;              /* KILL sent */
    double kill_at;
    struct pg__hook *resumed; /* --resume: pending records read, newest
                                 first */
};

/* What exec.c needs from the job (job.c; declared here so that this
 * module does not include job.h, which includes this header). */
void pg__job_record(struct pg_job *job, const struct pg_result *r,
                    const char *line, size_t len);
void pg__job_fail(struct pg_job *job, enum pg_code code);
/* Write the manifest records batched so far (a failure stops the
 * job). */
void pg__job_flush_manifest(struct pg_job *job);

/* job->done's values (--resume): the last record was a success not to
 * fetch again (not a page); it was a saved file whose hook did not end;
 * it was another shard's page (--shard, recorded and diverted). */
#define RESUME_DONE 1u
#define RESUME_HOOK 2u
#define RESUME_OTHER_SHARD 4u

/* Copy what the hooks need from o (no allocation). */
void pg__exec_init(struct pg__exec *x, const struct pg_options *o,
                   struct pg_job *job, const struct pg__logger *log,
                   struct pg_stats *stats);

/* Check the options and allocate: PG_E_INVALID / PG_E_NOMEM with a
 * message in err. */
enum pg_code pg__exec_setup(struct pg__exec *x, char *err, size_t errlen)
    PG_WARN_UNUSED;

/* --resume: the last record of a URL may be this pending one.  Kept
 * until pg__exec_resume_start. */
enum pg_code pg__exec_resume_add(struct pg__exec *x,
                                 const struct pg__manifest_rec *rec,
                                 uint64_t url_hash) PG_WARN_UNUSED;
/* --resume: queue a hook for every URL whose last record is pending
 * (done: the RESUME_* bits of each URL's last record). */
enum pg_code pg__exec_resume_start(struct pg__exec *x,
                                   struct pg__nameset *done) PG_WARN_UNUSED;

/* Whether the result in it gets a hook (it is then marked pending). */
int pg__exec_wants(const struct pg__exec *x, struct pg__item *it);
/* Queue the hook of it, after its pending record (takes it; with stop
 * set, only frees it).  PG_E_NOMEM. */
enum pg_code pg__exec_push(struct pg__exec *x, struct pg__item *it,
                           int stop) PG_WARN_UNUSED;

/*
 * Reap what ended, start what may start.  stop: the job stops (hooks get
 * SIGTERM once, then SIGKILL at grace_end, or grace_ms from now when
 * grace_end is 0, or at once with kill_now).
 */
void pg__exec_poll(struct pg__exec *x, int stop, double grace_end,
                   int kill_now);
/* Hooks running or waiting. */
int pg__exec_busy(const struct pg__exec *x);
/* 1: the FIFO is full, start no new transfer. */
int pg__exec_full(const struct pg__exec *x);
/* The longest the loop may wait for hooks (ms), or -1. */
int pg__exec_timeout(const struct pg__exec *x, double now);
/* At the end of the run: poll until no hook runs. */
void pg__exec_finish(struct pg__exec *x, int stop, double grace_end,
                     int kill_now);
void pg__exec_release(struct pg__exec *x);

#endif
