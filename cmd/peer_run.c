/*
 * peer_run.c - `pagegrab compare --peers`: one run of a peer (curl,
 * wget2, aria2c) and the file count of any run's directory.
 *
 * A peer runs like a pagegrab run: into a fresh mkdtemp() directory,
 * timed by the compare process from fork to exit, with wait4()'s user
 * and system CPU and ru_maxrss (its peak RSS: each peer is one
 * process).  The command is an argv vector run with execv() on the path
 * found in PATH: no shell ever sees a URL.  Between fork and exec the
 * child makes only async-signal-safe calls; an exec failure comes back
 * through a CLOEXEC pipe.  The peer's stdout and stderr go to a
 * temporary log file in the base directory, whose last line explains a
 * failure; the log is removed after the run.
 */
#define _DEFAULT_SOURCE /* wait4(), nftw() */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compare.h"

/* ------------------------------------------------------------------ */
/* Counting files                                                      */
/* ------------------------------------------------------------------ */

/* nftw() takes no user data: the count in progress (the parent is
 * single-threaded). */
static struct {
    uint64_t files, bytes;
    int skip_manifest;
} tally;

static int tally_one(const char *path, const struct stat *st, int type,
                     struct FTW *ftw)
{
    if (type != FTW_F || !S_ISREG(st->st_mode))
        return 0;
    if (tally.skip_manifest && ftw->level == 1 &&
        !strcmp(path + ftw->base, "manifest.jsonl"))
        return 0;
    tally.files++;
    tally.bytes += (uint64_t)st->st_size;
    return 0;
}

void count_files(const char *dir, int skip_manifest, struct run *run)
{
    tally.files = 0;
    tally.bytes = 0;
    tally.skip_manifest = skip_manifest;
    /* FTW_PHYS: a symlink is not followed (and not counted). */
    if (nftw(dir, tally_one, 16, FTW_PHYS) != 0)
        return;
    run->files = tally.files;
    run->file_bytes = tally.bytes;
    run->counted = 1;
}

/* ------------------------------------------------------------------ */
/* One run of a peer                                                   */
/* ------------------------------------------------------------------ */

/*
 * The child, from fork to exec: async-signal-safe calls only.  stdin is
 * /dev/null, stdout and stderr the log; signal dispositions the parent
 * changed go back to their defaults.  Never returns.
 */
static void peer_child(const struct peer *p, char **argv, int log_fd,
                       int err_fd, const sigset_t *old)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
    struct sigaction sa;
    int fd, e;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    sigprocmask(SIG_SETMASK, old, NULL);
    fd = open("/dev/null", O_RDONLY);
    if (fd >= 0 && fd != STDIN_FILENO) {
        dup2(fd, STDIN_FILENO);
        close(fd);
    }
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execv(p->path, argv);
    e = errno;
    (void)!write(err_fd, &e, sizeof(e));
    _exit(127);
}

/*
 * The last non-empty line of the log (at most 200 bytes of it), control
 * bytes shown as '?', into buf; "" if none.
 */
static void log_tail(int fd, char *buf, size_t size)
{
    char tail[512];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof(tail) - 1 ? end - (off_t)sizeof(tail) + 1
                                                : 0;
    ssize_t n = end > 0 ? pread(fd, tail, (size_t)(end - from), from) : 0;
    char *line, *p, *last = NULL, *err_line = NULL;
    size_t i, len;

    buf[0] = '\0';
    if (n <= 0)
        return;
    tail[n] = '\0';
    /* The last line that tells of an error (aria2c ends with a hint
     * about its log), else the last line. */
    for (p = tail; p;) {
        char *next = strpbrk(p, "\r\n");

        if (next)
            *next = '\0';
        if (*p) {
            last = p;
            if (strstr(p, "rror"))
                err_line = p;
        }
        p = next ? next + 1 : NULL;
    }
    line = err_line ? err_line : last;
    if (!line)
        return;
    len = strlen(line);
    if (len > 200)
        len = 200;
    for (i = 0; i < len && i + 1 < size; i++)
        buf[i] = (unsigned char)line[i] < 0x20 || line[i] == 0x7f ? '?'
                                                                  : line[i];
    buf[i] = '\0';
}

/* Judge a peer's end: run->ok, or the reason in run->why. */
static void judge(const struct peer *p, struct run *run, int status,
                  int log_fd)
{
    char tail[256];
    size_t i;

    run->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (WIFSIGNALED(status)) {
        snprintf(run->why, sizeof(run->why), "killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
        return;
    }
    if (run->exit_status == 0) {
        run->ok = 1;
        return;
    }
    /* Ran to the end with some URLs failed (as pagegrab's exit 1). */
    for (i = 0; i < sizeof(p->ok_status) / sizeof(p->ok_status[0]) &&
                p->ok_status[i]; i++) {
        if (run->exit_status == p->ok_status[i]) {
            run->ok = 1;
            return;
        }
    }
    log_tail(log_fd, tail, sizeof(tail));
    snprintf(run->why, sizeof(run->why), "%s exited with status %d%s%s",
             p->tool, run->exit_status, tail[0] ? ": " : "", tail);
}

/* A temporary log file in the base directory, already unlinked. */
static int open_log(struct compare *c, struct run *run)
{
    char err[128];
    char *path = concat3(c->base, "/", "pagegrab-compare-log.XXXXXX");
    int fd;

    if (!path) {
        snprintf(run->why, sizeof(run->why), "out of memory");
        return -1;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        snprintf(run->why, sizeof(run->why), "cannot create a temporary "
                 "file in '%s': %s", c->base,
                 pg__errstr(errno, err, sizeof(err)));
    } else {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        unlink(path);
    }
    free(path);
    return fd;
}

/* Start the peer and wait for it; the exec's errno or 0 in *exec_err. */
static pid_t start_wait(struct compare *c, struct peer *p, int log_fd,
                        struct run *run, int *status, struct rusage *ru)
{
    int efd[2];
    double t0, t1;
    sigset_t old;
    pid_t pid;
    char err[128];
    int e = 0;

    /* (No other thread can fork between pipe() and the fcntl()s.) */
    if (pipe(efd) != 0) {
        snprintf(run->why, sizeof(run->why), "cannot create a pipe: %s",
                 pg__errstr(errno, err, sizeof(err)));
        return -1;
    }
    fcntl(efd[0], F_SETFD, FD_CLOEXEC);
    fcntl(efd[1], F_SETFD, FD_CLOEXEC);
    t0 = pg__now();
    pid = fork_child(&old);
    if (pid == 0) {
        close(efd[0]);
        peer_child(p, p->argv, log_fd, efd[1], &old);
    }
    e = errno;
    close(efd[1]);
    if (pid < 0) {
        snprintf(run->why, sizeof(run->why), "cannot fork: %s",
                 pg__errstr(e, err, sizeof(err)));
        close(efd[0]);
        return -1;
    }
    (void)c;
    run->done = 1;
    if (wait_child(pid, status, ru, &t1) != 0) {
        snprintf(run->why, sizeof(run->why), "cannot wait for its process");
        close(efd[0]);
        return -1;
    }
    run->wall_s = t1 - t0;
    e = 0;
    if (read(efd[0], &e, sizeof(e)) == (ssize_t)sizeof(e) && e) {
        snprintf(run->why, sizeof(run->why), "cannot run '%s': %s",
                 p->path, pg__errstr(e, err, sizeof(err)));
        close(efd[0]);
        return -1;
    }
    close(efd[0]);
    return pid;
}

void peer_run_one(struct compare *c, struct peer *p, struct run *run,
                  unsigned rep)
{
    struct rusage ru;
    char name[96];
    char *dir;
    int log_fd, status = 0;

    snprintf(name, sizeof(name), "pagegrab-compare-%s-r%u.XXXXXX", p->tool,
             rep);
    dir = make_dir(c, name, run);
    if (!dir)
        return;
    log_fd = open_log(c, run);
    if (log_fd < 0) {
        release_dir(c, run, dir);
        return;
    }
    p->argv[p->dir_arg] = dir;
    memset(&ru, 0, sizeof(ru));
    if (start_wait(c, p, log_fd, run, &status, &ru) > 0) {
        run->user_s = seconds(ru.ru_utime);
        run->sys_s = seconds(ru.ru_stime);
        run->child_rss_kb = ru.ru_maxrss > 0 ? (uint64_t)ru.ru_maxrss : 0;
        judge(p, run, status, log_fd);
    }
    p->argv[p->dir_arg] = NULL;
    close(log_fd);
    if (run->done)
        count_files(dir, 0, run);
    release_dir(c, run, dir);
}
