/*
 * compare_run.c - the runs of `pagegrab compare`: the stop signals of
 * parent and child, and one run (fork, the child's job, wait4's
 * measurements, the child's report) for every mode and repeat.  How a
 * run is made, and why, is told at the top of compare.c.  Not here:
 * options and input (compare.c), the report (report.c).
 */
#define _DEFAULT_SOURCE /* wait4() */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compare.h"

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

/* Parent: the last stop signal, and the child to forward it to. */
volatile sig_atomic_t stop_signal;
static volatile pid_t child_pid;

/* Child: its job, for its own handler. */
static struct pg_job *volatile child_job;
static volatile sig_atomic_t child_stopped;

/*
 * In the parent: remember the stop and pass it on to the running child.
 * child_pid is only set or cleared with signals blocked, and cleared
 * before the child is reaped, so a pid here is never a stranger's.
 */
void parent_on_signal(int sig)
{
    int saved = errno;
    pid_t pid = child_pid;

    stop_signal = sig;
    if (pid > 0)
        kill(pid, sig);
    errno = saved;
}

/*
 * In a child: stop the job at once.  Its output is thrown away, so
 * there is no reason to let transfers finish.
 */
static void child_on_signal(int sig)
{
    struct pg_job *job = child_job;

    (void)sig;
    child_stopped = 1;
    if (job)
        pg_job_stop(job, 1);
}

/* ------------------------------------------------------------------ */
/* One run                                                             */
/* ------------------------------------------------------------------ */

/*
 * The child: run the job in dir with this mode, report, _exit().  Never
 * returns.  old_mask is the signal mask to restore once the child's own
 * handlers are in place.
 */
static void child_main(struct compare *c, const struct mode *m,
                       const char *dir, int report_fd,
                       const sigset_t *old_mask)
{
    struct pg_options o = c->cli.o;
    struct report rep;
    struct pg_job *job;
    char *manifest = NULL;
    int fd;

    pg_cli_catch_stop(child_on_signal);
    sigprocmask(SIG_SETMASK, old_mask, NULL);
    /* stdout carries the report: --list lines of a run go nowhere. */
    fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
    memset(&rep, 0, sizeof(rep));
    o.mode = m->mode;
    o.per_worker = m->k;
    o.workers = m->workers;
    o.window = m->window;
    o.output_dir = dir;
    o.input_path = c->input;
    o.progress_cb = NULL;
    o.progress_userdata = NULL;
    o.log_level = c->cli.verbose ? PG_LOG_DEBUG : PG_LOG_ERROR;
    if (o.manifest_path) {
        manifest = concat3(dir, "/", "manifest.jsonl");
        o.manifest_path = manifest;
    }
    pg_cli_raise_fd_limit(o.workers * o.per_worker);
    job = c->cli.o.manifest_path && !manifest ? NULL : pg_job_new(&o);
    if (!job) {
        rep.rc = PG_E_NOMEM;
        snprintf(rep.errmsg, sizeof(rep.errmsg), "out of memory");
    } else {
        child_job = job;
        if (child_stopped)
            pg_job_stop(job, 1);
        rep.rc = pg_job_run(job);
        child_job = NULL;
        pg_job_stats(job, &rep.st);
        snprintf(rep.errmsg, sizeof(rep.errmsg), "%s", pg_job_errmsg(job));
        pg_job_free(job);
    }
    rep.status = pg_cli_exit_status((enum pg_code)rep.rc, &rep.st);
    free(manifest);
    if (pg__write_all(report_fd, &rep, sizeof(rep)) != PG_OK)
        _exit(PG_EXIT_FATAL);
    _exit(rep.status);
}

/*
 * Wait for the child to end: first without reaping it (waitid WNOWAIT),
 * so that the signal handler can still forward to a pid that is surely
 * ours; then reap it with wait4() for its rusage, clearing child_pid
 * with signals blocked.  *t_end is when it ended.
 */
int wait_child(pid_t pid, int *status, struct rusage *ru,
                      double *t_end)
{
    sigset_t all, old;
    siginfo_t si;
    pid_t r;

    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) != 0 &&
           errno == EINTR)
        ;
    *t_end = pg__now();
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    do {
        r = wait4(pid, status, 0, ru);
    } while (r < 0 && errno == EINTR);
    child_pid = 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return r == pid ? 0 : -1;
}

/* The report, if the child wrote a whole one; never blocks. */
static int read_report(int fd, struct report *rep)
{
    size_t got = 0;

    fcntl(fd, F_SETFL, O_NONBLOCK);
    while (got < sizeof(*rep)) {
        ssize_t n = read(fd, (char *)rep + got, sizeof(*rep) - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return got == sizeof(*rep) ? 0 : -1;
}

/*
 * A new directory "BASE/NAME" (NAME ending in XXXXXX, heap), or NULL
 * with the reason in run->why.
 */
char *make_dir(struct compare *c, const char *name, struct run *run)
{
    char err[128];
    char *path = concat3(c->base, "/", name);

    if (!path) {
        snprintf(run->why, sizeof(run->why), "out of memory");
        return NULL;
    }
    if (!mkdtemp(path)) {
        snprintf(run->why, sizeof(run->why), "cannot create a directory "
                 "in '%s': %s", c->base, pg__errstr(errno, err, sizeof(err)));
        free(path);
        return NULL;
    }
    return path;
}

/* A new run directory "BASE/pagegrab-compare-MODE-K-rN.XXXXXX". */
static char *make_run_dir(struct compare *c, const struct mode *m,
                          unsigned rep, struct run *run)
{
    char name[96];

    snprintf(name, sizeof(name), "pagegrab-compare-%s-%u-r%u.XXXXXX",
             m->mode == PG_MODE_PROCESS ? "process" : "thread", m->k, rep);
    return make_dir(c, name, run);
}

/*
 * fork() with every signal blocked; *old is the mask to restore.  In
 * the parent the child becomes the one stop signals are passed on to,
 * and the mask is restored; the child returns with signals blocked.
 */
pid_t fork_child(sigset_t *old)
{
    sigset_t all;
    pid_t pid;
    int e;

    fflush(NULL);
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, old);
    pid = fork();
    if (pid == 0)
        return 0;
    e = errno;
    if (pid > 0)
        child_pid = pid;
    sigprocmask(SIG_SETMASK, old, NULL);
    errno = e;
    return pid;
}

/* After a run: keep its directory (--keep) or remove it; frees dir. */
void release_dir(struct compare *c, struct run *run, char *dir)
{
    char err[128];
    int e;

    if (!dir)
        return;
    if (c->keep && run->done) {
        run->kept_dir = dir;
        return;
    }
    e = remove_tree(c->base_fd, dir + strlen(c->base) + 1);
    if (e)
        pg_cli_error("cannot remove '%s': %s", dir,
                     pg__errstr(e, err, sizeof(err)));
    free(dir);
}

/* Fill run from what the child left: exit status, rusage, report. */
static void collect(struct run *run, int status, const struct rusage *ru,
                    int have_report, const struct report *rep)
{
    run->user_s = seconds(ru->ru_utime);
    run->sys_s = seconds(ru->ru_stime);
    run->child_rss_kb = ru->ru_maxrss > 0 ? (uint64_t)ru->ru_maxrss : 0;
    run->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (have_report)
        run->st = rep->st;
    if (WIFSIGNALED(status)) {
        snprintf(run->why, sizeof(run->why), "killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (!have_report) {
        snprintf(run->why, sizeof(run->why), "exited with status %d "
                 "without a report", run->exit_status);
    } else if (rep->rc != PG_OK) {
        snprintf(run->why, sizeof(run->why), "%s",
                 rep->errmsg[0] ? rep->errmsg
                                : pg_strerror((enum pg_code)rep->rc));
    } else {
        run->ok = 1;
    }
}

/*
 * Make one run of mode m (repetition rep) and record it in run: run->ok
 * when it completed, else the reason in run->why.  run->done once a
 * child was started.
 */
static void run_one(struct compare *c, struct mode *m, struct run *run,
                    unsigned rep)
{
    int fds[2] = { -1, -1 };
    struct report report;
    struct rusage ru;
    sigset_t old;
    double t0, t1;
    char *dir;
    int status = 0, e;
    char err[128];
    pid_t pid;

    dir = make_run_dir(c, m, rep, run);
    if (!dir)
        return;
    if (pipe(fds) != 0) {
        snprintf(run->why, sizeof(run->why), "cannot create a pipe: %s",
                 pg__errstr(errno, err, sizeof(err)));
        goto out;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);

    t0 = pg__now();
    pid = fork_child(&old);
    if (pid == 0) {
        close(fds[0]);
        close(c->base_fd);
        c->base_fd = -1;
        child_main(c, m, dir, fds[1], &old);
    }
    e = errno;
    close(fds[1]);
    fds[1] = -1;
    if (pid < 0) {
        snprintf(run->why, sizeof(run->why), "cannot fork: %s",
                 pg__errstr(e, err, sizeof(err)));
        goto out;
    }
    run->done = 1;
    memset(&ru, 0, sizeof(ru));
    if (wait_child(pid, &status, &ru, &t1) != 0) {
        snprintf(run->why, sizeof(run->why), "cannot wait for its process");
        goto out;
    }
    run->wall_s = t1 - t0;
    collect(run, status, &ru, read_report(fds[0], &report) == 0, &report);
    if (c->peers && run->ok)
        count_files(dir, c->cli.o.manifest_path != NULL, run);
out:
    if (fds[0] >= 0)
        close(fds[0]);
    release_dir(c, run, dir);
}

/* The progress line of one run (or its failure); 1 if it failed. */
static int tell(const struct compare *c, const char *label,
                const struct run *run, unsigned seq, unsigned total,
                int peer)
{
    char counts[160] = "";
    int match = peer ? peers_matches(c, run) : -1;

    if (!run->ok) {
        pg_cli_error("run %u/%u: %s failed: %s", seq, total, label,
                     run->why);
        return 1;
    }
    if (c->cli.quiet)
        return 0;
    if (run->counted)
        snprintf(counts, sizeof(counts), " (%llu files, %llu bytes%s)",
                 (unsigned long long)run->files,
                 (unsigned long long)run->file_bytes,
                 match > 0 ? ": as pagegrab"
                 : match == 0 ? ": NOT as pagegrab" : "");
    pg_cli_error("run %u/%u: %s ... %.3f s%s%s%s%s", seq, total, label,
                 run->wall_s, counts, run->kept_dir ? ", kept in '" : "",
                 run->kept_dir ? run->kept_dir : "",
                 run->kept_dir ? "'" : "");
    return 0;
}

/* The run tables; 0 or -1 (out of memory, printed). */
static int alloc_runs(struct compare *c)
{
    size_t i;

    for (i = 0; i < c->n_modes; i++) {
        c->modes[i].runs = calloc(c->repeat, sizeof(struct run));
        if (!c->modes[i].runs)
            goto nomem;
    }
    for (i = 0; c->peers && i < N_PEERS; i++) {
        if (c->peer[i].argv) {
            c->peer[i].runs = calloc(c->repeat, sizeof(struct run));
            if (!c->peer[i].runs)
                goto nomem;
        }
    }
    return 0;
nomem:
    pg_cli_error("out of memory");
    return -1;
}

/*
 * Every run: for r in 1..R, every mode once, then every peer once.
 * Returns 0, or the exit status: PG_EXIT_FATAL if some pagegrab run did
 * not complete (a peer's failure is only reported), PG_EXIT_INTERRUPTED
 * after a signal.
 */
int run_all(struct compare *c)
{
    unsigned total = c->repeat * (unsigned)c->n_modes, seq = 0, r;
    int status = 0;
    size_t i;

    if (alloc_runs(c) != 0)
        return PG_EXIT_FATAL;
    for (i = 0; c->peers && i < N_PEERS; i++)
        total += c->peer[i].runs ? c->repeat : 0;
    c->ran = 1;
    for (r = 0; r < c->repeat; r++) {
        for (i = 0; i < c->n_modes; i++) {
            struct mode *m = &c->modes[i];

            if (stop_signal)
                return PG_EXIT_INTERRUPTED;
            run_one(c, m, &m->runs[r], r + 1);
            if (stop_signal)
                return PG_EXIT_INTERRUPTED;
            if (tell(c, m->label, &m->runs[r], ++seq, total, 0))
                status = PG_EXIT_FATAL;
        }
        for (i = 0; c->peers && i < N_PEERS; i++) {
            struct peer *p = &c->peer[i];

            if (!p->runs)
                continue;
            if (stop_signal)
                return PG_EXIT_INTERRUPTED;
            peer_run_one(c, p, &p->runs[r], r + 1);
            if (stop_signal)
                return PG_EXIT_INTERRUPTED;
            tell(c, p->label, &p->runs[r], ++seq, total, 1);
        }
    }
    return status;
}
