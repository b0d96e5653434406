/*
 * compare.c - `pagegrab compare`: one job under several concurrency
 * models, measured the same way, reported as a table, CSV or JSON, with
 * an optional SVG chart.
 *
 * How a run is made:
 *  - The compare process (the parent) stays single-threaded and never
 *    holds a pagegrab job.  Each run is a fork()ed child.  The child takes
 *    the parsed command line, replaces the mode, per_worker and output
 *    directory, and runs the job quietly. It uses the program's own
 *    result callback (pg_cli_save), so the files really are saved. It
 *    sends its struct pg_stats back through a pipe and leaves with
 *    _exit().  The parent has no other thread, so the child may use
 *    anything (malloc, stdio, libcurl): the async-signal-safe rule is for
 *    children of threaded parents and for the gap before an exec.
 *  - The parent measures what the child cannot: the wall time from fork
 *    to the child's exit, and wait4()'s rusage.  That is the child's user
 *    and system CPU, plus that of the workers it reaped (Linux adds reaped
 *    descendants), and its ru_maxrss.  A run's peak RSS is that ru_maxrss
 *    plus the workers' own peaks from pg_stats.  The processes need not
 *    peak at the same moment, so this sum is an upper bound of the
 *    tree's peak.
 *  - Runs alternate: for r in 1..R, every mode once.  Slow drift of the
 *    machine (caches, clock, other load) is then spread over every mode,
 *    and the report gives per-mode medians.
 *  - Every run writes into a fresh mkdtemp() directory under -o DIR, or
 *    else under $TMPDIR or /tmp.  The directory is removed after the run
 *    unless --keep.  The removal never follows a symlink, and it holds a
 *    bounded number of descriptors however deep the tree.  A URL list on
 *    standard input (or in a pipe) is copied once to a temporary file,
 *    so every run reads the same list.
 *
 * Ownership: struct compare owns everything. That is the argv vector
 * for the job options, the run table, the copy of the input (removed at
 * the end) and the descriptor of the base directory.  At most one child
 * exists at a time.  It is always reaped before the next fork, so no
 * zombies are left.  A signal to the parent is forwarded to the child,
 * which then aborts its job at once.  The parent then cleans up and
 * exits with status 4, without a report.
 */
#define _DEFAULT_SOURCE /* wait4() */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
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

#include "cli.h"

#define MAX_MODES 32
#define MAX_REPEAT 100
#define DEFAULT_REPEAT 3
#define DEFAULT_MULTI_K 16 /* K of the default multi modes */
#define MAX_K 1024

static const char compare_usage[] =
"Usage: pagegrab compare [COMPARE OPTIONS] [JOB OPTIONS] [URL...]\n"
"Run one job under several concurrency models and compare them.\n"
"\n"
"      --modes LIST     MODE[:K],... with MODE thread or process and K the\n"
"                       transfers per worker, 1-1024 (default:\n"
"                       thread:1,process:1,thread:K,process:K with K the\n"
"                       job's --per-worker if above 1, else 16)\n"
"      --repeat R       runs per mode, 1-100, alternated (default: 3)\n"
"      --format FMT     table, csv or json (default: table)\n"
"      --svg FILE       also draw throughput and CPU time as an SVG chart\n"
"      --keep           keep each run's output directory and print where\n"
"  -h, --help           show this help\n"
"\n"
"The job options are those of 'pagegrab --help', except --resume.\n"
"Each run saves into a new temporary directory under -o DIR (default:\n"
"$TMPDIR or /tmp), removed after the run; with --manifest each run\n"
"writes manifest.jsonl in its own directory.  The report (medians over\n"
"the runs) goes to stdout.\n"
"\n"
"Exit status: 0 every run completed (failed URLs are counted in the\n"
"errors column), 2 usage error, 3 a run could not run, 4 interrupted.\n";

enum format {
    FMT_TABLE,
    FMT_CSV,
    FMT_JSON
};

/* One run of one mode. */
struct run {
    int done;            /* a child was started for it */
    int ok;              /* the job ran to its end: figures are valid */
    char why[PG_ERRBUF_SIZE + 64]; /* !ok: what went wrong */
    int exit_status;     /* the child's, as pagegrab's; -1 if killed */
    double wall_s;
    double user_s;
    double sys_s;
    uint64_t child_rss_kb; /* wait4's ru_maxrss */
    struct pg_stats st;  /* from the child */
    char *kept_dir;      /* --keep: the run's directory (owned) */
};

/* One concurrency model: MODE[:K]. */
struct mode {
    enum pg_mode mode;
    unsigned k;          /* transfers per worker; 0 = the job's */
    char label[24];      /* "thread:16" */
    struct run *runs;    /* repeat entries (owned) */
};

/*
 * What a child sends back, in one write() of at most PIPE_BUF bytes (so
 * the parent reads all of it or nothing).
 */
struct report {
    int rc;                      /* enum pg_code of pg_job_run() */
    int status;                  /* the exit status that maps to */
    struct pg_stats st;
    char errmsg[PG_ERRBUF_SIZE];
};

_Static_assert(sizeof(struct report) <= 512, "a report must be one "
               "atomic pipe write (PIPE_BUF is at least 512)");

struct compare {
    struct pg_cli cli;
    int cli_parsed;      /* cli holds something to release */
    char **job_argv;     /* argv without compare's options (owned vector,
                            borrowed strings) */
    int job_argc;
    struct mode modes[MAX_MODES];
    size_t n_modes;
    unsigned repeat;
    enum format format;
    const char *svg_path;
    int keep;

    char *base;          /* where temporary files go (owned) */
    int base_fd;         /* the base directory, or -1 */
    int base_created;    /* we made it: rmdir it at the end if empty */
    char *input_copy;    /* the copy of the URL list, or NULL (owned) */
    const char *input;   /* the URL file the runs read, or NULL */
    uint64_t n_input;    /* URLs in the input: arguments + list lines */
    int ran;             /* the run table exists: there is a report */
};

/* The figures of the report; the same set for every output format. */
enum metric {
    M_PAGES,
    M_BYTES,
    M_WALL,
    M_PAGES_S,
    M_MIB_S,
    M_USER,
    M_SYS,
    M_RSS,
    M_STARTUP,
    M_P50,
    M_P95,
    M_P99,
    M_ERRORS,
    M__COUNT
};

static const struct column {
    const char *head;    /* table header, NULL: not in the table */
    const char *key;     /* CSV column and JSON key */
    int prec;            /* digits after the point in the table */
    int raw_prec;        /* in CSV and JSON */
} columns[M__COUNT] = {
    [M_PAGES] = { NULL, "pages", 0, 0 },
    [M_BYTES] = { NULL, "bytes", 0, 0 },
    [M_WALL] = { "wall s", "wall_s", 3, 6 },
    [M_PAGES_S] = { "pages/s", "pages_per_s", 1, 3 },
    [M_MIB_S] = { "MiB/s", "mib_per_s", 2, 3 },
    [M_USER] = { "user s", "user_s", 3, 6 },
    [M_SYS] = { "sys s", "sys_s", 3, 6 },
    [M_RSS] = { "RSS MiB", "peak_rss_mib", 1, 3 },
    [M_STARTUP] = { "start ms", "startup_ms", 2, 3 },
    [M_P50] = { "p50 ms", "p50_ms", 2, 3 },
    [M_P95] = { "p95 ms", "p95_ms", 2, 3 },
    [M_P99] = { "p99 ms", "p99_ms", 2, 3 },
    [M_ERRORS] = { "errors", "errors", 0, 0 },
};

/* A mode's figures: medians over its completed runs (errors: max). */
struct summary {
    size_t n_ok;
    double v[M__COUNT];
    int errors_vary;     /* the runs' error counts differ */
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *errstr(int err, char *buf, size_t len)
{
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}

/* A new string "a" + "b" + "c"; NULL on out of memory. */
static char *concat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);

    if (!s)
        return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static double seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ */
/* Signals                                                             */
/* ------------------------------------------------------------------ */

/* Parent: the last stop signal, and the child to forward it to. */
static volatile sig_atomic_t stop_signal;
static volatile pid_t child_pid;

/* Child: its job, for its own handler. */
static struct pg_job *volatile child_job;
static volatile sig_atomic_t child_stopped;

/*
 * In the parent: remember the stop and pass it on to the running child.
 * child_pid is only set or cleared with signals blocked, and cleared
 * before the child is reaped, so a pid here is never a stranger's.
 */
static void parent_on_signal(int sig)
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

static void set_stop_handler(void (*fn)(int))
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    /* No SA_RESTART: a blocking call (waitid() in the parent) returns
     * EINTR and is retried by its loop.  Where signals are deferred to
     * the end of a call (TSan does so), a restarted call would hold the
     * handler, and so the forwarding of the stop, until it returns. */
    sa.sa_flags = 0;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

/* ------------------------------------------------------------------ */
/* Removing a run's directory                                          */
/* ------------------------------------------------------------------ */

/*
 * A directory being emptied: its name in its parent, its identity (to
 * check the way back up), and the subdirectories still to visit.
 */
struct rm_frame {
    char *name;
    dev_t dev;
    ino_t ino;
    char **sub;
    size_t n_sub;
    size_t cap_sub;
};

static void rm_frame_release(struct rm_frame *f)
{
    while (f->n_sub > 0)
        free(f->sub[--f->n_sub]);
    free(f->sub);
    free(f->name);
}

static int open_dir_nofollow(int at, const char *name)
{
    return openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int rm_frame_add_sub(struct rm_frame *f, const char *name)
{
    char *copy;

    if (f->n_sub == f->cap_sub) {
        size_t cap = f->cap_sub ? f->cap_sub * 2 : 8;
        char **v = realloc(f->sub, cap * sizeof(*v));

        if (!v)
            return -1;
        f->sub = v;
        f->cap_sub = cap;
    }
    copy = strdup(name);
    if (!copy)
        return -1;
    f->sub[f->n_sub++] = copy;
    return 0;
}

/*
 * Unlink every entry of the directory open on fd except subdirectories,
 * whose names go to f->sub.  Nothing is followed: fstatat() with
 * AT_SYMLINK_NOFOLLOW, and a symlink is unlinked like a file.  Returns 0
 * or the first errno.
 */
static int rm_scan(int fd, struct rm_frame *f)
{
    int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = 0;
    DIR *d;

    if (dfd < 0)
        return errno;
    d = fdopendir(dfd);
    if (!d) {
        err = errno;
        close(dfd);
        return err;
    }
    for (;;) {
        struct dirent *e;
        struct stat st;

        errno = 0;
        e = readdir(d);
        if (!e) {
            if (errno && !err)
                err = errno;
            break;
        }
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT && !err)
                err = errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (rm_frame_add_sub(f, e->d_name) != 0) {
                err = ENOMEM;
                break;
            }
            continue;
        }
        if (unlinkat(fd, e->d_name, 0) != 0 && errno != ENOENT && !err)
            err = errno;
    }
    closedir(d);
    return err;
}

/*
 * Remove the directory name (in the directory open on basefd) and
 * everything under it, like `rm -rf`, but without following a symlink.
 * The walk is depth first and holds one directory open at a time.  It
 * climbs back through "..", checked against the device and inode seen on
 * the way down; if the tree was moved meanwhile, it stops rather than
 * delete elsewhere (ESTALE).  Returns 0 (also when name does not exist)
 * or the first errno met; it removes what it can either way.
 */
static int remove_tree(int basefd, const char *name)
{
    struct rm_frame *stack = NULL;
    size_t depth = 0, cap = 0;
    int fd = -1, err = 0, e;
    struct stat st;
    char *sub = strdup(name);

    if (!sub)
        return ENOMEM;
    fd = open_dir_nofollow(basefd, sub);
    if (fd < 0) {
        e = errno;
        free(sub);
        return e == ENOENT ? 0 : e;
    }
    for (;;) {
        struct rm_frame *f;

        /* Enter the directory open on fd, named sub. */
        if (sub) {
            if (depth == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct rm_frame *ns = realloc(stack, ncap * sizeof(*ns));

                if (!ns) {
                    free(sub);
                    err = ENOMEM;
                    break;
                }
                stack = ns;
                cap = ncap;
            }
            f = &stack[depth++];
            memset(f, 0, sizeof(*f));
            f->name = sub;
            sub = NULL;
            if (fstat(fd, &st) != 0) {
                err = errno;
                break;
            }
            f->dev = st.st_dev;
            f->ino = st.st_ino;
            e = rm_scan(fd, f);
            if (e && !err)
                err = e;
            if (e == ENOMEM)
                break;
        }
        f = &stack[depth - 1];
        if (f->n_sub > 0) {
            int child;

            sub = f->sub[--f->n_sub];
            child = open_dir_nofollow(fd, sub);
            if (child < 0) {
                /* Replaced by a file or symlink meanwhile: unlink it. */
                if ((errno == ENOTDIR || errno == ELOOP) &&
                    unlinkat(fd, sub, 0) == 0)
                    errno = 0;
                if (errno && errno != ENOENT && !err)
                    err = errno;
                free(sub);
                sub = NULL;
                continue;
            }
            close(fd);
            fd = child;
            continue;
        }
        /* f is empty: climb to its parent and remove it there. */
        if (depth == 1) {
            close(fd);
            fd = -1;
            if (unlinkat(basefd, f->name, AT_REMOVEDIR) != 0 &&
                errno != ENOENT && !err)
                err = errno;
            break;
        }
        {
            int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            const struct rm_frame *p = &stack[depth - 2];

            if (up < 0 || fstat(up, &st) != 0 || st.st_dev != p->dev ||
                st.st_ino != p->ino) {
                if (!err)
                    err = up < 0 ? errno : ESTALE;
                if (up >= 0)
                    close(up);
                break;
            }
            close(fd);
            fd = up;
        }
        if (unlinkat(fd, f->name, AT_REMOVEDIR) != 0 && errno != ENOENT &&
            !err)
            err = errno;
        rm_frame_release(f);
        depth--;
    }
    while (depth > 0)
        rm_frame_release(&stack[--depth]);
    free(stack);
    if (fd >= 0)
        close(fd);
    return err;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

static int usage_error(const char *fmt, ...) PG_PRINTF(1, 2);

/* Print a usage error and the hint; returns -1. */
static int usage_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pg_cli_error("%s", msg);
    pg_cli_error("try 'pagegrab compare --help'");
    return -1;
}

/* Parse one "MODE[:K]" item of --modes. */
static int parse_mode(struct mode *m, const char *item, size_t len)
{
    const char *colon = memchr(item, ':', len);
    size_t name_len = colon ? (size_t)(colon - item) : len;
    unsigned long k = 0;

    if (name_len == 6 && !memcmp(item, "thread", 6))
        m->mode = PG_MODE_THREAD;
    else if (name_len == 7 && !memcmp(item, "process", 7))
        m->mode = PG_MODE_PROCESS;
    else
        return -1;
    if (colon) {
        const char *p = colon + 1, *end = item + len;

        if (p == end || end - p > 4)
            return -1;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            k = k * 10 + (unsigned long)(*p - '0');
        }
        if (k < 1 || k > MAX_K)
            return -1;
    }
    m->k = (unsigned)k;
    return 0;
}

static int parse_modes(struct compare *c, const char *list)
{
    const char *p = list;

    c->n_modes = 0;
    for (;;) {
        size_t len = strcspn(p, ",");
        char item[64];

        if (c->n_modes == MAX_MODES)
            return usage_error("too many modes in --modes '%s' (at most "
                               "%d)", list, MAX_MODES);
        if (parse_mode(&c->modes[c->n_modes], p, len) != 0) {
            snprintf(item, sizeof(item), "%.*s",
                     len > 40 ? 40 : (int)len, p);
            return usage_error("invalid value '%s' in --modes '%s': "
                               "expected MODE[:K], MODE 'thread' or "
                               "'process', K from 1 to %d", item, list,
                               MAX_K);
        }
        c->n_modes++;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

/*
 * The value of option `name` at argv[*i]: "--name=VALUE" or "--name
 * VALUE".  Returns 1 if argv[*i] is this option (advancing *i past a
 * separate value), 0 if not, -1 after a usage error.
 */
static int option_value(int argc, char **argv, int *i, const char *name,
                        const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
    } else if (*i + 1 < argc) {
        *val = argv[++*i];
    } else {
        return usage_error("option '%s' needs a value", name);
    }
    return 1;
}

static int parse_repeat(struct compare *c, const char *val)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(val, &end, 10);
    /* (A sign or leading space is refused, as by every option.) */
    if (!isdigit((unsigned char)val[0]) || errno || end == val || *end ||
        v < 1 || v > MAX_REPEAT)
        return usage_error("invalid value '%s' for --repeat: expected a "
                           "whole number from 1 to %d", val, MAX_REPEAT);
    c->repeat = (unsigned)v;
    return 0;
}

static int parse_format(struct compare *c, const char *val)
{
    if (!strcmp(val, "table"))
        c->format = FMT_TABLE;
    else if (!strcmp(val, "csv"))
        c->format = FMT_CSV;
    else if (!strcmp(val, "json"))
        c->format = FMT_JSON;
    else
        return usage_error("invalid value '%s' for --format: expected "
                           "'table', 'csv' or 'json'", val);
    return 0;
}

static int parse_svg(struct compare *c, const char *val)
{
    if (!*val)
        return usage_error("empty value for --svg");
    c->svg_path = val;
    return 0;
}

/* compare's options that take a value. */
static const struct own_option {
    const char *name;
    int (*parse)(struct compare *c, const char *val);
} own_options[] = {
    { "--modes", parse_modes },
    { "--repeat", parse_repeat },
    { "--format", parse_format },
    { "--svg", parse_svg },
};

/*
 * Take compare's own options out of argv[2..], wherever they are before
 * a "--", and keep the rest, in order, for pg_cli_parse().  Returns 0,
 * 1 after --help, or -1 after a usage error.
 */
static int parse_own(struct compare *c, int argc, char **argv)
{
    const size_t n_own = sizeof(own_options) / sizeof(own_options[0]);
    int i;

    c->job_argv = calloc((size_t)argc + 1, sizeof(*c->job_argv));
    if (!c->job_argv) {
        pg_cli_error("out of memory");
        return -1;
    }
    c->job_argv[c->job_argc++] = argv[0];
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        size_t k;
        int r = 0;

        if (!strcmp(a, "--")) {
            while (i < argc)
                c->job_argv[c->job_argc++] = argv[i++];
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(compare_usage, stdout);
            return 1;
        }
        if (!strcmp(a, "--keep")) {
            c->keep = 1;
            continue;
        }
        if (!strncmp(a, "--keep=", 7))
            return usage_error("option '--keep' takes no value");
        for (k = 0; k < n_own && r == 0; k++)
            r = option_value(argc, argv, &i, own_options[k].name, &val);
        if (r < 0 || (r > 0 && own_options[k - 1].parse(c, val) != 0))
            return -1;
        if (r == 0)
            c->job_argv[c->job_argc++] = argv[i];
    }
    c->job_argv[c->job_argc] = NULL;
    return 0;
}

/* Fill in the default modes, and K for items given without one. */
static void finish_modes(struct compare *c)
{
    unsigned job_k = c->cli.o.per_worker ? c->cli.o.per_worker : 1;
    size_t i;

    if (c->n_modes == 0) {
        unsigned multi = job_k > 1 ? job_k : DEFAULT_MULTI_K;

        c->modes[0] = (struct mode){ .mode = PG_MODE_THREAD, .k = 1 };
        c->modes[1] = (struct mode){ .mode = PG_MODE_PROCESS, .k = 1 };
        c->modes[2] = (struct mode){ .mode = PG_MODE_THREAD, .k = multi };
        c->modes[3] = (struct mode){ .mode = PG_MODE_PROCESS, .k = multi };
        c->n_modes = 4;
    }
    for (i = 0; i < c->n_modes; i++) {
        struct mode *m = &c->modes[i];

        if (m->k == 0)
            m->k = job_k;
        snprintf(m->label, sizeof(m->label), "%s:%u",
                 m->mode == PG_MODE_PROCESS ? "process" : "thread", m->k);
    }
}

/*
 * Parse everything.  Returns 0 to go on, 1 after --help or --version
 * (exit 0), -1 after a usage error (exit 2).
 */
static int parse(struct compare *c, int argc, char **argv)
{
    int r;

    r = parse_own(c, argc, argv);
    if (r != 0)
        return r;
    r = pg_cli_parse(&c->cli, c->job_argc, c->job_argv);
    c->cli_parsed = 1;
    if (r != 0)
        return r;
    if (c->cli.o.resume) {
        pg_cli_error("--resume cannot be used with compare: every run "
                     "must do the same work from an empty directory, and "
                     "a resumed run would skip what an earlier one did");
        return -1;
    }
    finish_modes(c);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The base directory and the input                                    */
/* ------------------------------------------------------------------ */

/*
 * Where temporary directories go: -o DIR (created if missing) or else
 * $TMPDIR or /tmp.  -o counts as given when the job's output_dir is not
 * the library's default string.
 */
static int open_base(struct compare *c)
{
    struct pg_options def;
    const char *dir;
    char err[128];

    pg_options_init(&def);
    if (c->cli.o.output_dir != def.output_dir) {
        dir = c->cli.o.output_dir;
    } else {
        dir = getenv("TMPDIR");
        if (!dir || !*dir)
            dir = "/tmp";
    }
    c->base = strdup(dir);
    if (!c->base) {
        pg_cli_error("out of memory");
        return -1;
    }
    if (mkdir(dir, 0777) == 0)
        c->base_created = 1;
    else if (errno != EEXIST)
        goto fail;
    c->base_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->base_fd >= 0)
        return 0;
fail:
    pg_cli_error("cannot use directory '%s': %s", dir,
                 errstr(errno, err, sizeof(err)));
    return -1;
}

/*
 * URLs in the list file: lines with something other than white space
 * that do not start with '#' (what the job reads as URLs, valid or not).
 */
static int count_lines(const char *path, uint64_t *n)
{
    char buf[65536];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int state = 0; /* 0: line start, 1: a URL line, 2: a comment */

    if (fd < 0)
        return -1;
    *n = 0;
    for (;;) {
        ssize_t got = read(fd, buf, sizeof(buf));
        ssize_t i;

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;

            close(fd);
            errno = e;
            return -1;
        }
        if (got == 0)
            break;
        for (i = 0; i < got; i++) {
            char ch = buf[i];

            if (ch == '\n')
                state = 0;
            else if (state == 0 && ch == '#')
                state = 2;
            else if (state == 0 && !strchr(" \t\r\v\f", ch)) {
                state = 1;
                (*n)++;
            }
        }
    }
    close(fd);
    return 0;
}

/*
 * Copy the URL list from fd (standard input, a pipe...) into a new
 * temporary file in the base directory, so every run reads the same.
 */
static int copy_input(struct compare *c, int in, const char *what)
{
    char buf[65536], err[128];
    char *path = concat3(c->base, "/", "pagegrab-compare-input.XXXXXX");
    int fd, e;

    if (!path) {
        pg_cli_error("out of memory");
        return -1;
    }
    fd = mkstemp(path);
    if (fd < 0) {
        pg_cli_error("cannot create a temporary file in '%s': %s", c->base,
                     errstr(errno, err, sizeof(err)));
        free(path);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    c->input_copy = path;
    for (;;) {
        ssize_t got = read(in, buf, sizeof(buf));

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            pg_cli_error("cannot read %s: %s", what,
                         errstr(errno, err, sizeof(err)));
            close(fd);
            return -1;
        }
        if (got == 0)
            break;
        if (write_all(fd, buf, (size_t)got) != 0) {
            pg_cli_error("cannot write '%s': %s", path,
                         errstr(errno, err, sizeof(err)));
            close(fd);
            return -1;
        }
        if (stop_signal) {
            close(fd);
            return -1;
        }
    }
    if (close(fd) != 0) {
        e = errno;
        pg_cli_error("cannot write '%s': %s", path,
                     errstr(e, err, sizeof(err)));
        return -1;
    }
    c->input = path;
    return 0;
}

/*
 * Make the input the same for every run: a regular -i FILE is read by
 * each run; standard input, a pipe or a device is copied once first.
 * Then count the URLs.  Returns 0, or the exit status of a failure.
 */
static int prepare_input(struct compare *c)
{
    const char *path = c->cli.o.input_path;
    char err[128];
    struct stat st;
    int fd, r;

    c->n_input = c->cli.urls.n;
    if (!path)
        return 0;
    if (!strcmp(path, "-")) {
        if (copy_input(c, STDIN_FILENO, "standard input") != 0)
            return stop_signal ? PG_EXIT_INTERRUPTED : PG_EXIT_FATAL;
    } else {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) != 0) {
            pg_cli_error("cannot open input '%s': %s", path,
                         errstr(errno, err, sizeof(err)));
            if (fd >= 0)
                close(fd);
            return PG_EXIT_USAGE;
        }
        if (S_ISREG(st.st_mode)) {
            c->input = path;
            close(fd);
        } else {
            r = copy_input(c, fd, path);
            close(fd);
            if (r != 0)
                return stop_signal ? PG_EXIT_INTERRUPTED : PG_EXIT_FATAL;
        }
    }
    {
        uint64_t n;

        if (count_lines(c->input, &n) != 0) {
            pg_cli_error("cannot read input '%s': %s", c->input,
                         errstr(errno, err, sizeof(err)));
            return PG_EXIT_USAGE;
        }
        c->n_input += n;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* One run                                                             */
/* ------------------------------------------------------------------ */

static int exit_status_of(enum pg_code rc, const struct pg_stats *st)
{
    if (rc == PG_OK)
        return st->failed ? PG_EXIT_FAILED : PG_EXIT_OK;
    if (rc == PG_E_INVALID)
        return PG_EXIT_USAGE;
    if (rc == PG_E_INTERRUPTED)
        return PG_EXIT_INTERRUPTED;
    return PG_EXIT_FATAL;
}

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

    set_stop_handler(child_on_signal);
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
    o.output_dir = dir;
    o.input_path = c->input;
    o.progress_cb = NULL;
    o.progress_userdata = NULL;
    o.log_level = c->cli.verbose ? PG_LOG_DEBUG : PG_LOG_ERROR;
    if (o.manifest_path) {
        manifest = concat3(dir, "/", "manifest.jsonl");
        o.manifest_path = manifest;
    }
    pg_cli_raise_fd_limit(o.jobs * o.per_worker);
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
    rep.status = exit_status_of((enum pg_code)rep.rc, &rep.st);
    free(manifest);
    if (write_all(report_fd, &rep, sizeof(rep)) != 0)
        _exit(PG_EXIT_FATAL);
    _exit(rep.status);
}

/*
 * Wait for the child to end: first without reaping it (waitid WNOWAIT),
 * so that the signal handler can still forward to a pid that is surely
 * ours; then reap it with wait4() for its rusage, clearing child_pid
 * with signals blocked.  *t_end is when it ended.
 */
static int wait_child(pid_t pid, int *status, struct rusage *ru,
                      double *t_end)
{
    sigset_t all, old;
    siginfo_t si;
    pid_t r;

    while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) != 0 &&
           errno == EINTR)
        ;
    *t_end = now();
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
 * A new run directory "BASE/pagegrab-compare-MODE-K-rN.XXXXXX" (heap),
 * or NULL with the reason in run->why.
 */
static char *make_run_dir(struct compare *c, const struct mode *m,
                          unsigned rep, struct run *run)
{
    char name[96], err[128];
    char *path;

    snprintf(name, sizeof(name), "pagegrab-compare-%s-%u-r%u.XXXXXX",
             m->mode == PG_MODE_PROCESS ? "process" : "thread", m->k, rep);
    path = concat3(c->base, "/", name);
    if (!path) {
        snprintf(run->why, sizeof(run->why), "out of memory");
        return NULL;
    }
    if (!mkdtemp(path)) {
        snprintf(run->why, sizeof(run->why), "cannot create a directory "
                 "in '%s': %s", c->base, errstr(errno, err, sizeof(err)));
        free(path);
        return NULL;
    }
    return path;
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
    sigset_t all, old;
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
                 errstr(errno, err, sizeof(err)));
        goto out;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);

    fflush(NULL);
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    t0 = now();
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        close(c->base_fd);
        c->base_fd = -1;
        child_main(c, m, dir, fds[1], &old);
    }
    e = errno;
    if (pid > 0)
        child_pid = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fds[1]);
    fds[1] = -1;
    if (pid < 0) {
        snprintf(run->why, sizeof(run->why), "cannot fork: %s",
                 errstr(e, err, sizeof(err)));
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
out:
    if (fds[0] >= 0)
        close(fds[0]);
    if (c->keep && run->done) {
        run->kept_dir = dir;
        dir = NULL;
    } else {
        e = remove_tree(c->base_fd, dir + strlen(c->base) + 1);
        if (e)
            pg_cli_error("cannot remove '%s': %s", dir,
                         errstr(e, err, sizeof(err)));
        free(dir);
    }
}

/*
 * Every run: for r in 1..R, every mode once.  Returns 0, or the exit
 * status: PG_EXIT_FATAL if some run did not complete, PG_EXIT_INTERRUPTED
 * after a signal.
 */
static int run_all(struct compare *c)
{
    unsigned total = c->repeat * (unsigned)c->n_modes, seq = 0, r;
    int status = 0;
    size_t i;

    for (i = 0; i < c->n_modes; i++) {
        c->modes[i].runs = calloc(c->repeat, sizeof(struct run));
        if (!c->modes[i].runs) {
            pg_cli_error("out of memory");
            return PG_EXIT_FATAL;
        }
    }
    c->ran = 1;
    for (r = 0; r < c->repeat; r++) {
        for (i = 0; i < c->n_modes; i++) {
            struct mode *m = &c->modes[i];
            struct run *run = &m->runs[r];

            if (stop_signal)
                return PG_EXIT_INTERRUPTED;
            seq++;
            run_one(c, m, run, r + 1);
            if (stop_signal)
                return PG_EXIT_INTERRUPTED;
            if (!run->ok) {
                pg_cli_error("run %u/%u: %s failed: %s", seq, total,
                             m->label, run->why);
                status = PG_EXIT_FATAL;
            } else if (!c->cli.quiet) {
                pg_cli_error("run %u/%u: %s ... %.3f s%s%s%s", seq, total,
                             m->label, run->wall_s,
                             run->kept_dir ? ", kept in '" : "",
                             run->kept_dir ? run->kept_dir : "",
                             run->kept_dir ? "'" : "");
            }
        }
    }
    return status;
}

/* ------------------------------------------------------------------ */
/* Figures                                                             */
/* ------------------------------------------------------------------ */

static double metric(const struct run *r, enum metric m)
{
    double wall = r->wall_s > 0 ? r->wall_s : 1e-9;

    switch (m) {
    case M_PAGES:
        return (double)r->st.done;
    case M_BYTES:
        return (double)r->st.bytes;
    case M_WALL:
        return r->wall_s;
    case M_PAGES_S:
        return (double)r->st.done / wall;
    case M_MIB_S:
        return (double)r->st.bytes / 1048576.0 / wall;
    case M_USER:
        return r->user_s;
    case M_SYS:
        return r->sys_s;
    case M_RSS:
        return (double)(r->child_rss_kb + r->st.workers_peak_rss_kb) /
               1024.0;
    case M_STARTUP:
        return r->st.startup_ms;
    case M_P50:
        return r->st.lat_p50_ms;
    case M_P95:
        return r->st.lat_p95_ms;
    case M_P99:
        return r->st.lat_p99_ms;
    case M_ERRORS:
    case M__COUNT:
        break;
    }
    return (double)r->st.failed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Medians over the completed runs (the largest error count). */
static void summarize(const struct compare *c, const struct mode *m,
                      struct summary *s, double *scratch)
{
    unsigned r;
    int k;

    memset(s, 0, sizeof(*s));
    for (k = 0; k < M__COUNT; k++) {
        size_t n = 0;

        for (r = 0; r < c->repeat; r++) {
            if (m->runs[r].ok)
                scratch[n++] = metric(&m->runs[r], (enum metric)k);
        }
        s->n_ok = n;
        if (n == 0)
            continue;
        qsort(scratch, n, sizeof(*scratch), cmp_double);
        if (k == M_ERRORS) {
            s->v[k] = scratch[n - 1];
            s->errors_vary = scratch[0] != scratch[n - 1];
        } else {
            s->v[k] = n % 2 ? scratch[n / 2]
                            : (scratch[n / 2 - 1] + scratch[n / 2]) / 2;
        }
    }
}

static int summarize_all(const struct compare *c, struct summary *sums)
{
    double *scratch = calloc(c->repeat, sizeof(*scratch));
    size_t i;

    if (!scratch) {
        pg_cli_error("out of memory");
        return -1;
    }
    for (i = 0; i < c->n_modes; i++)
        summarize(c, &c->modes[i], &sums[i], scratch);
    free(scratch);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Table                                                               */
/* ------------------------------------------------------------------ */

#define TABLE_COLS (M__COUNT + 1)
#define CELL 32

static void print_table(const struct compare *c, const struct summary *sums,
                        FILE *out)
{
    char (*cells)[TABLE_COLS][CELL];
    size_t width[TABLE_COLS] = { 0 };
    size_t rows = c->n_modes + 1, i, r;
    int k, any_vary = 0;

    cells = calloc(rows, sizeof(*cells));
    if (!cells) {
        pg_cli_error("out of memory");
        return;
    }
    snprintf(cells[0][0], CELL, "mode");
    for (k = 0; k < M__COUNT; k++) {
        if (columns[k].head)
            snprintf(cells[0][k + 1], CELL, "%s", columns[k].head);
    }
    for (i = 0; i < c->n_modes; i++) {
        const struct summary *s = &sums[i];

        snprintf(cells[i + 1][0], CELL, "%s", c->modes[i].label);
        for (k = 0; k < M__COUNT && s->n_ok; k++) {
            if (!columns[k].head)
                continue;
            snprintf(cells[i + 1][k + 1], CELL, "%.*f%s", columns[k].prec,
                     s->v[k], k == M_ERRORS && s->errors_vary ? "*" : "");
        }
        any_vary |= s->errors_vary;
    }
    for (r = 0; r < rows; r++) {
        for (k = 0; k < TABLE_COLS; k++) {
            size_t len = strlen(cells[r][k]);

            if (len > width[k])
                width[k] = len;
        }
    }

    fprintf(out, "pagegrab compare: %llu input URLs, -j %u, medians of %u "
            "run%s per mode\n", (unsigned long long)c->n_input,
            c->cli.o.jobs, c->repeat, c->repeat == 1 ? "" : "s");
    for (r = 0; r < rows; r++) {
        fprintf(out, "%-*s", (int)width[0], cells[r][0]);
        if (r > 0 && sums[r - 1].n_ok == 0) {
            fprintf(out, "  no run completed\n");
            continue;
        }
        for (k = 0; k < M__COUNT; k++) {
            if (columns[k].head)
                fprintf(out, "  %*s", (int)width[k + 1], cells[r][k + 1]);
        }
        fputc('\n', out);
    }
    if (any_vary)
        fprintf(out, "* the error count differed between runs; the "
                "largest is shown\n");
    for (i = 0; i < c->n_modes; i++) {
        if (sums[i].n_ok && sums[i].n_ok < c->repeat)
            fprintf(out, "%s: %u of %u runs failed; medians of the other "
                    "%zu\n", c->modes[i].label,
                    c->repeat - (unsigned)sums[i].n_ok, c->repeat,
                    sums[i].n_ok);
    }
    free(cells);
}

/* ------------------------------------------------------------------ */
/* CSV and JSON                                                        */
/* ------------------------------------------------------------------ */

static const char *mode_name(const struct mode *m)
{
    return m->mode == PG_MODE_PROCESS ? "process" : "thread";
}

static void print_csv(const struct compare *c, const struct summary *sums,
                      FILE *out)
{
    size_t i;
    int k;

    fputs("mode,per_worker,runs", out);
    for (k = 0; k < M__COUNT; k++)
        fprintf(out, ",%s", columns[k].key);
    fputc('\n', out);
    for (i = 0; i < c->n_modes; i++) {
        fprintf(out, "%s,%u,%zu", mode_name(&c->modes[i]), c->modes[i].k,
                sums[i].n_ok);
        for (k = 0; k < M__COUNT; k++) {
            fputc(',', out);
            if (sums[i].n_ok)
                fprintf(out, "%.*f", columns[k].raw_prec, sums[i].v[k]);
        }
        fputc('\n', out);
    }
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned long cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    /* No overlong forms, surrogates or code points past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return len;
}

/* A JSON string; invalid UTF-8 becomes U+FFFD. */
static void json_str(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    fputc('"', out);
    while (n > 0) {
        size_t len = utf8_len(p, n);

        if (len == 0) {
            fputs("\\ufffd", out);
            len = 1;
        } else if (*p == '"' || *p == '\\') {
            fprintf(out, "\\%c", *p);
        } else if (*p == '\n') {
            fputs("\\n", out);
        } else if (*p == '\t') {
            fputs("\\t", out);
        } else if (*p < 0x20 || *p == 0x7F) {
            fprintf(out, "\\u%04x", *p);
        } else {
            fwrite(p, 1, len, out);
        }
        p += len;
        n -= len;
    }
    fputc('"', out);
}

/* A JSON number, or null when it is not finite. */
static void json_num(FILE *out, double v, int prec)
{
    if (isfinite(v))
        fprintf(out, "%.*f", prec, v);
    else
        fputs("null", out);
}

static void json_run(FILE *out, const struct run *run, unsigned rep)
{
    int k;

    fprintf(out, "        {\"repeat\": %u, \"ok\": %s, \"exit_status\": %d",
            rep, run->ok ? "true" : "false", run->exit_status);
    fputs(", \"error\": ", out);
    if (run->ok)
        fputs("null", out);
    else
        json_str(out, run->why[0] ? run->why : "not run");
    fputs(", \"dir\": ", out);
    if (run->kept_dir)
        json_str(out, run->kept_dir);
    else
        fputs("null", out);
    for (k = 0; k < M__COUNT; k++) {
        fprintf(out, ", \"%s\": ", columns[k].key);
        json_num(out, metric(run, (enum metric)k), columns[k].raw_prec);
    }
    fprintf(out, ", \"transfers\": %llu, \"child_rss_kib\": %llu, "
            "\"workers_rss_kib\": %llu}",
            (unsigned long long)run->st.transfers,
            (unsigned long long)run->child_rss_kb,
            (unsigned long long)run->st.workers_peak_rss_kb);
}

static void print_json(const struct compare *c, const struct summary *sums,
                       FILE *out)
{
    size_t i;
    unsigned r;
    int k;

    fprintf(out, "{\n  \"input_urls\": %llu,\n  \"jobs\": %u,\n"
            "  \"repeat\": %u,\n  \"modes\": [\n",
            (unsigned long long)c->n_input, c->cli.o.jobs, c->repeat);
    for (i = 0; i < c->n_modes; i++) {
        const struct mode *m = &c->modes[i];
        const struct summary *s = &sums[i];

        fprintf(out, "    {\"mode\": \"%s\", \"per_worker\": %u, "
                "\"label\": ", mode_name(m), m->k);
        json_str(out, m->label);
        fprintf(out, ", \"runs_ok\": %zu", s->n_ok);
        for (k = 0; k < M__COUNT; k++) {
            fprintf(out, ", \"%s\": ", columns[k].key);
            if (s->n_ok)
                json_num(out, s->v[k], columns[k].raw_prec);
            else
                fputs("null", out);
        }
        fprintf(out, ", \"errors_vary\": %s,\n      \"runs\": [\n",
                s->errors_vary ? "true" : "false");
        for (r = 0; r < c->repeat; r++) {
            json_run(out, &m->runs[r], r + 1);
            fputs(r + 1 < c->repeat ? ",\n" : "\n", out);
        }
        fprintf(out, "      ]}%s\n", i + 1 < c->n_modes ? "," : "");
    }
    fputs("  ]\n}\n", out);
}

/* ------------------------------------------------------------------ */
/* SVG                                                                 */
/* ------------------------------------------------------------------ */

#define SVG_W 760
#define SVG_LABEL_X 16
#define SVG_BAR_X 130
#define SVG_BAR_MAX 470
#define SVG_ROW 26
#define SVG_BAR_H 18

static void xml_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

/* One panel of horizontal bars; returns its height. */
static int svg_panel(FILE *out, const struct compare *c,
                     const struct summary *sums, int top, const char *title,
                     int cpu)
{
    double v[MAX_MODES], max = 0;
    size_t i;
    int y = top + 24;

    for (i = 0; i < c->n_modes; i++) {
        v[i] = !sums[i].n_ok ? 0
               : cpu ? sums[i].v[M_USER] + sums[i].v[M_SYS]
                     : sums[i].v[M_PAGES_S];
        if (v[i] > max)
            max = v[i];
    }
    fprintf(out, "<g class=\"panel\">\n<text x=\"%d\" y=\"%d\" "
            "font-size=\"14\" font-weight=\"bold\">", SVG_LABEL_X, top + 14);
    xml_text(out, title);
    fputs("</text>\n", out);
    for (i = 0; i < c->n_modes; i++, y += SVG_ROW) {
        const struct mode *m = &c->modes[i];
        double w = max > 0 ? v[i] / max * SVG_BAR_MAX : 0;
        char value[48];

        if (v[i] > 0 && w < 1)
            w = 1;
        if (!sums[i].n_ok)
            snprintf(value, sizeof(value), "no run completed");
        else if (cpu)
            snprintf(value, sizeof(value), "%.3f s", v[i]);
        else
            snprintf(value, sizeof(value), "%.1f", v[i]);
        fprintf(out, "<text x=\"%d\" y=\"%d\">", SVG_LABEL_X, y + 13);
        xml_text(out, m->label);
        fprintf(out, "</text>\n<rect class=\"bar\" x=\"%d\" y=\"%d\" "
                "width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", SVG_BAR_X,
                y, w, SVG_BAR_H,
                m->mode == PG_MODE_PROCESS ? "#e15759" : "#4e79a7");
        fprintf(out, "<text x=\"%.1f\" y=\"%d\">", SVG_BAR_X + w + 6,
                y + 13);
        xml_text(out, value);
        fputs("</text>\n", out);
    }
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
            "stroke=\"#444\"/>\n</g>\n", SVG_BAR_X, top + 20, SVG_BAR_X,
            y);
    return y - top + 16;
}

static void svg_write(FILE *out, const struct compare *c,
                      const struct summary *sums)
{
    int panel_h = 24 + (int)c->n_modes * SVG_ROW + 16;
    int h = 50 + 2 * panel_h + 8, top = 50;
    char title[160];

    snprintf(title, sizeof(title), "pagegrab compare: %llu input URLs, "
             "-j %u, medians of %u run%s per mode",
             (unsigned long long)c->n_input, c->cli.o.jobs, c->repeat,
             c->repeat == 1 ? "" : "s");
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n<title>", SVG_W, h, SVG_W, h);
    xml_text(out, title);
    fprintf(out, "</title>\n<rect width=\"100%%\" height=\"100%%\" "
            "fill=\"white\"/>\n<text x=\"%d\" y=\"28\" font-size=\"16\" "
            "font-weight=\"bold\">", SVG_LABEL_X);
    xml_text(out, title);
    fputs("</text>\n", out);
    top += svg_panel(out, c, sums, top, "throughput (pages/s)", 0);
    svg_panel(out, c, sums, top, "CPU seconds (user+sys)", 1);
    fputs("</svg>\n", out);
}

/*
 * Write the chart to a temporary file next to --svg FILE and rename it
 * into place, so FILE is never half written.  Returns 0 or -1 (message
 * printed).
 */
static int write_svg(const struct compare *c, const struct summary *sums)
{
    char *tmp = concat3(c->svg_path, ".", "XXXXXX");
    char err[128];
    mode_t mask;
    FILE *f;
    int fd, e = 0;

    if (!tmp) {
        pg_cli_error("out of memory");
        return -1;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        e = errno;
        pg_cli_error("cannot create '%s': %s", tmp,
                     errstr(e, err, sizeof(err)));
        free(tmp);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    f = fdopen(fd, "w");
    if (!f) {
        e = errno;
        close(fd);
    } else {
        svg_write(f, c, sums);
        if (fflush(f) != 0 || ferror(f))
            e = errno ? errno : EIO;
        if (fclose(f) != 0 && !e)
            e = errno;
    }
    if (!e && rename(tmp, c->svg_path) != 0)
        e = errno;
    if (e) {
        pg_cli_error("cannot write '%s': %s", c->svg_path,
                     errstr(e, err, sizeof(err)));
        unlink(tmp);
    }
    free(tmp);
    return e ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

/* Print the report (and the chart).  Returns 0 or PG_EXIT_FATAL. */
static int report(const struct compare *c)
{
    struct summary *sums = calloc(c->n_modes, sizeof(*sums));
    int status = 0;

    if (!sums || summarize_all(c, sums) != 0) {
        if (!sums)
            pg_cli_error("out of memory");
        free(sums);
        return PG_EXIT_FATAL;
    }
    if (c->format == FMT_CSV)
        print_csv(c, sums, stdout);
    else if (c->format == FMT_JSON)
        print_json(c, sums, stdout);
    else
        print_table(c, sums, stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pg_cli_error("cannot write to standard output");
        status = PG_EXIT_FATAL;
    }
    if (c->svg_path && write_svg(c, sums) != 0)
        status = PG_EXIT_FATAL;
    free(sums);
    return status;
}

static void compare_release(struct compare *c)
{
    size_t i;
    unsigned r;
    char err[128];

    if (c->input_copy && unlink(c->input_copy) != 0 && errno != ENOENT)
        pg_cli_error("cannot remove '%s': %s", c->input_copy,
                     errstr(errno, err, sizeof(err)));
    free(c->input_copy);
    if (c->base_fd >= 0)
        close(c->base_fd);
    /* Ours and left empty (no --keep): take it away again. */
    if (c->base_created)
        rmdir(c->base);
    free(c->base);
    for (i = 0; i < c->n_modes; i++) {
        for (r = 0; c->modes[i].runs && r < c->repeat; r++)
            free(c->modes[i].runs[r].kept_dir);
        free(c->modes[i].runs);
    }
    if (c->cli_parsed)
        pg_cli_release(&c->cli);
    free(c->job_argv);
}

int pg_compare_main(int argc, char **argv)
{
    struct compare c;
    int status, r;

    memset(&c, 0, sizeof(c));
    c.repeat = DEFAULT_REPEAT;
    c.format = FMT_TABLE;
    c.base_fd = -1;

    r = parse(&c, argc, argv);
    if (r != 0) {
        compare_release(&c);
        return r < 0 ? PG_EXIT_USAGE : PG_EXIT_OK;
    }
    set_stop_handler(parent_on_signal);
    if (c.cli.o.manifest_path && !c.cli.quiet)
        pg_cli_error("note: --manifest: each run writes manifest.jsonl in "
                     "its own directory (see --keep)");
    status = open_base(&c) != 0 ? PG_EXIT_FATAL : prepare_input(&c);
    if (status == 0)
        status = run_all(&c);
    if (status == PG_EXIT_INTERRUPTED || stop_signal) {
        pg_cli_error("interrupted: no report");
        status = PG_EXIT_INTERRUPTED;
    } else if (c.ran) {
        r = report(&c);
        if (r)
            status = r;
    }
    compare_release(&c);
    return status;
}
