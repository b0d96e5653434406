/*
 * cli.h - the pagegrab program's own declarations (cmd/ only).
 *
 * The program is a thin client of libpagegrab: it turns options and the
 * config file into struct pg_options (args.c), saves results (save.c),
 * shows progress (progress.c) and maps the outcome to an exit status;
 * `pagegrab compare` runs one job under several models (compare.c).
 * Besides pagegrab.h, cmd/ may include the library's src/util.h and
 * src/json.h (headers made for it, as curl's tool uses curlx); and
 * peers.c src/input.h and src/url.h, so that `compare --peers` gives the
 * peers exactly the URLs the job fetches.
 */
#ifndef PG_CLI_H
#define PG_CLI_H

#include <stdio.h>

#include "../src/pagegrab.h"

/* Exit statuses (documented in pagegrab.1 and README.md). */
enum pg_exit {
    PG_EXIT_OK = 0,      /* every URL ok (or kept existing file) */
    PG_EXIT_FAILED = 1,  /* some URLs (or --exec hooks) failed; see the
                            manifest */
    PG_EXIT_USAGE = 2,   /* bad option, value, config or input file */
    PG_EXIT_FATAL = 3,   /* the job could not run or go on */
    PG_EXIT_INTERRUPTED = 4 /* stopped by SIGINT, SIGTERM or SIGHUP */
};

/* The text of --help (usage.c). */
extern const char pg_cli_usage_text[];

/* The exit status of a job that ended with rc and st (main.c). */
int pg_cli_exit_status(enum pg_code rc, const struct pg_stats *st);

/* Handle SIGINT, SIGTERM and SIGHUP with fn, without SA_RESTART (main.c). */
void pg_cli_catch_stop(void (*fn)(int));

struct pg_strlist {
    char **v;
    size_t n, cap;
};

/* --update's classes, in the summary's and the report's order. */
enum pg_cli_upd_class {
    PG_CLI_UPD_CHANGED, PG_CLI_UPD_UNCHANGED, PG_CLI_UPD_GONE,
    PG_CLI_UPD_NEW, PG_CLI_UPD_FAILED, PG_CLI_UPD__COUNT
};

/* --report FILE: each class's URLs, spooled to unlinked files. */
struct pg_cli_report {
    const char *path;        /* NULL: no report */
    FILE *list[PG_CLI_UPD__COUNT];
    uint64_t n[PG_CLI_UPD__COUNT];
};

struct pg_cli {
    struct pg_options o;
    struct pg_cli_report report;
    int quiet;
    int verbose;
    int flat;
    int overwrite;
    int progress;            /* draw the progress bar */
    int shard_auto;          /* --shard auto: K/N from the environment */
    unsigned shards;         /* --shards N, 0 when not given */
    struct pg_strlist urls;
    struct pg_strlist headers;
    struct pg_strlist xpaths;
    struct pg_strlist follow;
    struct pg_strlist domains;
    struct pg_strlist accept;
    struct pg_strlist reject;
    struct pg_strlist names;
    struct pg_strlist owned; /* strings from the config file */
    struct pg_namer *namer;  /* --name rules (and --flat) */
};

/*
 * Parse argv (and the --config file).  Returns -1 after printing a usage
 * error, -2 after printing "out of memory" (a fatal error, exit 3), 1
 * after printing --help or --version (exit 0), 0 to run.
 */
int pg_cli_parse(struct pg_cli *cli, int argc, char **argv);
void pg_cli_release(struct pg_cli *cli);

/*
 * Option values (values.c): 0, or -1 after printing a message naming
 * the option (name) and the value.
 */
int pg_cli_parse_long(const char *name, const char *s, long min, long max,
                      long *out);
/* Seconds (decimals allowed) as milliseconds. */
int pg_cli_parse_seconds(const char *name, const char *s, long *ms);
/* A byte count with an optional k, M, G or T suffix (powers of 1024). */
int pg_cli_parse_bytes(const char *name, const char *s, uint64_t *out);

/* 1 for a valid --job name: 1-64 of A-Z a-z 0-9 . _ - (fleet.c). */
int pg_cli_job_name_ok(const char *name);

/*
 * `pagegrab fleet status|stop|resume --frontier URL --job NAME`
 * (argv[1] is "fleet"): the state of a shared crawl, or stop it.
 * Returns the exit status (fleet.c).
 */
int pg_fleet_main(int argc, char **argv);

/* --shard, --shards, --shard-key, --divert (shard_opt.c): 0, or -1
 * after printing a message naming the option and the value. */
enum pg_cli_shard_opt {
    PG_CLI_SHARD, PG_CLI_SHARDS, PG_CLI_SHARD_KEY, PG_CLI_DIVERT
};
int pg_cli_shard_option(struct pg_cli *cli, enum pg_cli_shard_opt id,
                        char *val, const char *name);
/* --shard auto from the environment; the shard options agree. */
int pg_cli_shard_finish(struct pg_cli *cli);

/* --update, --delete-gone, --report (update_opt.c): 0, or -1 after
 * printing a message naming the option and the value. */
enum pg_cli_update_opt { PG_CLI_UPDATE, PG_CLI_DELETE_GONE, PG_CLI_REPORT };
int pg_cli_update_option(struct pg_cli *cli, enum pg_cli_update_opt id,
                         char *val, const char *name);
/* The options agree (--update needs --manifest, ...). */
int pg_cli_update_finish(struct pg_cli *cli);
/* From the result callback: res's URL into its class's list (--report).
 * PG_E_IO when the list cannot be written. */
enum pg_code pg_cli_report_add(struct pg_cli *cli,
                               const struct pg_result *res);
/* Write --report FILE (atomically); -1 after a message. */
int pg_cli_report_finish(struct pg_cli *cli);
void pg_cli_report_release(struct pg_cli *cli);
/* `pagegrab compact-manifest FILE`; the exit status. */
int pg_cli_compact_main(int argc, char **argv);

/* Print a message "pagegrab: ..." to stderr with one write(). */
void pg_cli_error(const char *fmt, ...) PG_PRINTF(1, 2);

/* The log callback handed to the library (thread-safe). */
void pg_cli_log(enum pg_log_level level, const char *msg, void *userdata);

/* The default result callback: save under a name derived from the URL. */
enum pg_code pg_cli_save(struct pg_result *res, void *userdata);

/* Progress bar (only when stderr is a terminal) and final summary. */
void pg_cli_progress(const struct pg_stats *st, void *userdata);
void pg_cli_progress_end(struct pg_cli *cli);
void pg_cli_summary(const struct pg_cli *cli, const struct pg_stats *st);

/*
 * Raise the soft RLIMIT_NOFILE toward the hard limit so that this many
 * workers have descriptors enough (main.c).
 */
void pg_cli_raise_fd_limit(unsigned jobs);
/* Warn when o's workers and transfers need more descriptors than the
 * limit allows (main.c). */
void pg_cli_check_fd_limit(const struct pg_options *o);

/*
 * `pagegrab compare [options] [URL...]` (argv[1] is "compare"): run one
 * job under several concurrency models, each run in a forked child, and
 * print the comparison (compare.c).  Call from the main thread after
 * pg_global_init(), while the process is single-threaded and holds no
 * job.  Returns the exit status (enum pg_exit).
 */
int pg_compare_main(int argc, char **argv);

#endif
