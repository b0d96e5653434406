/*
 * main.c - the pagegrab program.  `pagegrab compare ...` is handed to
 * compare.c.
 */
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h> /* mallopt() */
#endif
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../src/tune.h" /* PG_TUNE_TRANSFERS, PG_TUNE_FDS_* */

/* The running job, for the signal handler. */
static struct pg_job *volatile running;
static volatile sig_atomic_t signals;

/*
 * SIGINT, SIGTERM, SIGHUP: the first lets transfers finish (--grace),
 * the second aborts them.  Only async-signal-safe work happens here:
 * pg_job_stop() sets a flag and writes to a pipe.
 */
static void on_signal(int sig)
{
    struct pg_job *job = running;

    (void)sig;
    signals++;
    if (job)
        pg_job_stop(job, signals > 1);
}

void pg_cli_catch_stop(void (*fn)(int))
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    /* No SA_RESTART: a blocking call (waitid() in compare) returns
     * EINTR and is retried by its loop.  Where signals are deferred to
     * the end of a call (TSan does so), a restarted call would hold the
     * handler, and so the forwarding of the stop, until it returns. */
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

/*
 * Each worker needs a few descriptors (socket, spool file, pipes); raise
 * the soft limit toward the hard one so -j 256 does not run out.
 */
void pg_cli_raise_fd_limit(unsigned jobs)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)jobs * 8 + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
                  want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/*
 * -j/-K given beyond what the descriptor limit allows: say so now rather
 * than let transfers fail one by one with "Too many open files".
 */
void pg_cli_check_fd_limit(const struct pg_options *o)
{
    struct rlimit rl;
    unsigned long per_process = o->mode == PG_MODE_PROCESS ?
        o->per_worker : (unsigned long)o->workers * o->per_worker;
    unsigned long need = per_process * PG_TUNE_FDS_PER_TRANSFER +
                         PG_TUNE_FDS_RESERVE;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= need)
        return;
    pg_cli_error("warning: %u workers x %u transfers need about %lu open "
                 "files%s, but the limit is %lu (ulimit -n): transfers "
                 "may fail with 'Too many open files'", o->workers,
                 o->per_worker, need, o->mode == PG_MODE_PROCESS ?
                 " in each worker process" : "", (unsigned long)rl.rlim_cur);
}

/* Make sure fds 0-2 are open, so no file we open lands on them. */
static void sanitize_std_fds(void)
{
    int fd;

    for (fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0 &&
            open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
            _exit(PG_EXIT_FATAL);
    }
}

int pg_cli_exit_status(enum pg_code rc, const struct pg_stats *st)
{
    if (rc == PG_OK)
        return st->failed || st->exec_failed ? PG_EXIT_FAILED : PG_EXIT_OK;
    if (rc == PG_E_INVALID)
        return PG_EXIT_USAGE;
    if (rc == PG_E_INTERRUPTED)
        return PG_EXIT_INTERRUPTED;
    return PG_EXIT_FATAL;
}

/*
 * Keep freed heap memory instead of returning it to the kernel at once.
 * libcurl allocates a transfer's receive buffer (CURLOPT_BUFFERSIZE,
 * 128 KiB here) when the transfer starts and frees it when it ends; with
 * glibc's defaults that buffer sits at the top of a heap and every free
 * trims it (madvise/brk/mprotect) and the next transfer faults the pages
 * back in: on 10,000 small pages about 15 % of pagegrab's CPU.  A fixed
 * mmap threshold above the buffer and a trim threshold of a few MiB per
 * arena end that churn; the peak is unchanged.  A user's own
 * GLIBC_TUNABLES for malloc win.
 */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    const char *t = getenv("GLIBC_TUNABLES");

    if (t && strstr(t, "glibc.malloc."))
        return;
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
#endif
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    struct pg_cli cli;
    struct pg_stats st;
    struct pg_job *job;
    enum pg_code rc;
    int status, r;

    sanitize_std_fds();
    tune_malloc();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);

    if (pg_global_init() != PG_OK) {
        pg_cli_error("cannot initialise libcurl");
        return PG_EXIT_FATAL;
    }
    if (argc > 1 && !strcmp(argv[1], "compare")) {
        status = pg_compare_main(argc, argv);
        pg_global_cleanup();
        return status;
    }
    if (argc > 1 && !strcmp(argv[1], "compact-manifest")) {
        status = pg_cli_compact_main(argc, argv);
        pg_global_cleanup();
        return status;
    }
    if (argc > 1 && !strcmp(argv[1], "fleet")) {
        status = pg_fleet_main(argc, argv);
        pg_global_cleanup();
        return status;
    }
    r = pg_cli_parse(&cli, argc, argv);
    if (r != 0) {
        pg_cli_release(&cli);
        pg_global_cleanup();
        return r == -2 ? PG_EXIT_FATAL :
               r < 0 ? PG_EXIT_USAGE : PG_EXIT_OK;
    }

    /* Descriptors first: a default K is cut to the limit it finds. */
    pg_cli_raise_fd_limit(PG_TUNE_TRANSFERS);
    pg_options_tune(&cli.o);    /* the progress line shows the counts */
    pg_cli_raise_fd_limit(cli.o.workers * cli.o.per_worker);
    pg_cli_check_fd_limit(&cli.o);
    job = pg_job_new(&cli.o);
    if (!job) {
        pg_cli_error("out of memory");
        status = PG_EXIT_FATAL;
        goto out;
    }
    running = job;
    pg_cli_catch_stop(on_signal);
    if (signals)
        pg_job_stop(job, signals > 1);
    rc = pg_job_run(job);
    running = NULL;
    pg_cli_progress_end(&cli);
    pg_job_stats(job, &st);
    if (rc != PG_OK) {
        const char *msg = pg_job_errmsg(job);

        if (rc != PG_E_INTERRUPTED)
            pg_cli_error("%s", msg[0] ? msg : pg_strerror(rc));
    }
    status = pg_cli_exit_status(rc, &st);
    /* --list writes to stdout: a full disk or closed pipe is fatal. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pg_cli_error("cannot write to standard output");
        status = PG_EXIT_FATAL;
    }
    /* The report says what this run did, also when it was stopped. */
    if (status != PG_EXIT_USAGE && pg_cli_report_finish(&cli) &&
        status != PG_EXIT_INTERRUPTED)
        status = PG_EXIT_FATAL;
    if (status != PG_EXIT_USAGE)
        pg_cli_summary(&cli, &st);
    pg_job_free(job);
out:
    pg_cli_release(&cli);
    pg_global_cleanup();
    return status;
}
