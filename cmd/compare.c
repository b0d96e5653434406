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
 *
 * This file: the options, the base directory and the input, and the
 * entry point.  The runs are in compare_run.c, the removal of a run's
 * directory in rmtree.c and the report in report.c (see compare.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compare.h"

#define MAX_REPEAT 100
#define DEFAULT_REPEAT 3
#define DEFAULT_MULTI_K 16 /* K of the default multi modes with -j */
#define CLASSIC_WORKERS 64 /* -j of a K=1 mode without -j */
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
"      --peers          also run the job with curl -Z --parallel-max C,\n"
"                       wget2 --max-threads=C and aria2c -j C, those in\n"
"                       PATH (C = -j x -K); a crawl with wget2 -r where\n"
"                       it can express it; each checked against\n"
"                       pagegrab's files (count and bytes)\n"
"  -h, --help           show this help\n"
"\n"
"The job options are those of 'pagegrab --help', except --resume.\n"
"Each run saves into a new temporary directory under -o DIR (default:\n"
"$TMPDIR or /tmp), removed after the run; with --manifest each run\n"
"writes manifest.jsonl in its own directory.  The report (medians over\n"
"the runs) goes to stdout.\n"
"\n"
"Exit status: 0 every pagegrab run completed (failed URLs are counted in\n"
"the errors column; a peer's failure or mismatch is shown in its row),\n"
"2 usage error, 3 a run could not run, 4 interrupted.\n";

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* A new string "a" + "b" + "c"; NULL on out of memory. */
char *concat3(const char *a, const char *b, const char *c)
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
        if (!strcmp(a, "--peers")) {
            c->peers = 1;
            continue;
        }
        if (!strncmp(a, "--peers=", 8))
            return usage_error("option '--peers' takes no value");
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

/*
 * Fill in the default modes, K for items given without one, and each
 * mode's workers: -j when given, else a K=1 mode runs the classic pool
 * of CLASSIC_WORKERS and a multi mode the workers pg_options_tune()
 * picks for its K.
 */
static void finish_modes(struct compare *c)
{
    struct pg_options t = c->cli.o;
    unsigned job_k;
    size_t i;

    pg_options_tune(&t);
    c->job_w = t.workers;
    c->job_k = t.per_worker;
    job_k = c->cli.o.per_worker ? c->cli.o.per_worker : 1;
    if (c->n_modes == 0) {
        unsigned multi = job_k > 1 ? job_k
                         : c->cli.o.workers ? DEFAULT_MULTI_K : c->job_k;
        /* With nothing given, they run as the defaults do, the window
         * (fetch.c) too. */
        unsigned window = job_k > 1 || c->cli.o.workers ? 0 : t.window;

        c->modes[0] = (struct mode){ .mode = PG_MODE_THREAD, .k = 1 };
        c->modes[1] = (struct mode){ .mode = PG_MODE_PROCESS, .k = 1 };

        c->modes[2] = (struct mode){ .mode = PG_MODE_THREAD, .k = multi,
                                     .window = window };
        c->modes[3] = (struct mode){ .mode = PG_MODE_PROCESS, .k = multi,
                                     .window = window };
        c->n_modes = 4;
    }
    for (i = 0; i < c->n_modes; i++) {
        struct mode *m = &c->modes[i];

        if (m->k == 0)
            m->k = job_k;
        m->workers = c->cli.o.workers;
        if (m->workers == 0 && m->k == 1)
            m->workers = CLASSIC_WORKERS;
        if (m->workers == 0) {
            t = c->cli.o;
            t.per_worker = m->k;
            pg_options_tune(&t);
            m->workers = t.workers;
        }
        /* A window shows as its start and K: "thread:16-128". */
        if (m->window > 0 && m->window < m->k)
            snprintf(m->label, sizeof(m->label), "%s:%u-%u",
                     m->mode == PG_MODE_PROCESS ? "process" : "thread",
                     m->window, m->k);
        else
            snprintf(m->label, sizeof(m->label), "%s:%u",
                     m->mode == PG_MODE_PROCESS ? "process" : "thread",
                     m->k);
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
                 pg__errstr(errno, err, sizeof(err)));
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
                     pg__errstr(errno, err, sizeof(err)));
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
                         pg__errstr(errno, err, sizeof(err)));
            close(fd);
            return -1;
        }
        if (got == 0)
            break;
        if (pg__write_all(fd, buf, (size_t)got) != PG_OK) {
            pg_cli_error("cannot write '%s': %s", path,
                         pg__errstr(errno, err, sizeof(err)));
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
                     pg__errstr(e, err, sizeof(err)));
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
                         pg__errstr(errno, err, sizeof(err)));
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
                         pg__errstr(errno, err, sizeof(err)));
            return PG_EXIT_USAGE;
        }
        c->n_input += n;
    }
    return 0;
}

static void compare_release(struct compare *c)
{
    size_t i;
    unsigned r;
    char err[128];

    peers_release(c);
    if (c->input_copy && unlink(c->input_copy) != 0 && errno != ENOENT)
        pg_cli_error("cannot remove '%s': %s", c->input_copy,
                     pg__errstr(errno, err, sizeof(err)));
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
    pg_cli_catch_stop(parent_on_signal);
    if (c.cli.o.manifest_path && !c.cli.quiet)
        pg_cli_error("note: --manifest: each run writes manifest.jsonl in "
                     "its own directory (see --keep)");
    status = open_base(&c) != 0 ? PG_EXIT_FATAL : prepare_input(&c);
    if (status == 0)
        status = peers_prepare(&c);
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
