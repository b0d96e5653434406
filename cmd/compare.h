/*
 * compare.h - what the files of `pagegrab compare` share (cmd/ only):
 * the run table (struct compare, its modes and runs), the child's report
 * and the steps each file offers the others.
 *
 *  compare.c   options, the base directory and the input, the entry point
 *  compare_run.c  signals and the runs: fork, measure, collect
 *  rmtree.c    removing a run's directory without following a symlink
 *  report.c    figures and the report: table, CSV, JSON, SVG
 *  peers.c     --peers: which peer runs, its URL list and its command
 *  peer_run.c  --peers: running a peer, counting the files of a run
 */
#ifndef PG_COMPARE_H
#define PG_COMPARE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>

#include "cli.h"
#include "../src/util.h" /* pg__now, pg__errstr, pg__write_all */

#define MAX_MODES 32

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
    int counted;         /* --peers: files and file_bytes are valid */
    uint64_t files;      /* regular files the run left in its directory
                            (not a --manifest file) */
    uint64_t file_bytes; /* their sizes added up */
};

/* One concurrency model: MODE[:K]. */
struct mode {
    enum pg_mode mode;
    unsigned k;          /* transfers per worker; 0 = the job's */
    unsigned workers;    /* -j of its runs (finish_modes) */
    unsigned window;     /* pg_options.window of its runs: the defaults'
                            for the default multi modes, else 0 */
    char label[32];      /* "thread:16", "thread:16-128" */
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

/* --peers: other downloaders run on the same job. */
enum peer_id {
    PEER_CURL,
    PEER_WGET2,
    PEER_ARIA2C,
    N_PEERS
};

struct peer {
    const char *tool;    /* the program's name: "curl" */
    char label[24];      /* its row: "curl", "wget2 -r" */
    char *path;          /* where PATH has it (owned), or NULL */
    char skip[400];      /* why it does not run; "" when it runs */
    char *list;          /* its URL list or config file (owned path,
                            removed at the end), or NULL */
    char **argv;         /* its command (owned vector and strings but
                            argv[dir_arg], a run's directory) */
    int argc;            /* entries in argv */
    int dir_arg;         /* where a run's directory goes in argv */
    int ok_status[4];    /* exit statuses that mean "ran to the end,
                            some URLs failed" (0 ends the list) */
    struct run *runs;    /* repeat entries (owned), NULL if skipped */
};

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

    int peers;           /* --peers */
    unsigned peer_c;     /* C: the job's transfers at once (-j x -K) */
    unsigned job_w;      /* the job's -j and -K as given, else as */
    unsigned job_k;      /* pg_options_tune() chooses them */
    struct peer peer[N_PEERS];
    char peer_note[512]; /* what the peers do differently, or why none
                            can express the job ("" if nothing to say) */
};

/* compare.c */
char *concat3(const char *a, const char *b, const char *c);

/* compare_run.c */
extern volatile sig_atomic_t stop_signal;
void parent_on_signal(int sig);
int run_all(struct compare *c);

/* compare_run.c, for peer_run.c */
double seconds(struct timeval tv);
char *make_dir(struct compare *c, const char *name, struct run *run);
pid_t fork_child(sigset_t *old);
int wait_child(pid_t pid, int *status, struct rusage *ru, double *t_end);
void release_dir(struct compare *c, struct run *run, char *dir);

/* peers.c */
int peers_prepare(struct compare *c);
void peers_release(struct compare *c);
/* The reference a run is checked against: the first pagegrab run that
 * completed; 0 if there is none. */
int peers_reference(const struct compare *c, uint64_t *files,
                    uint64_t *bytes);
/* 1 if run saved what the reference did, 0 if not, -1 if unknown. */
int peers_matches(const struct compare *c, const struct run *run);

/* peer_run.c */
void peer_run_one(struct compare *c, struct peer *p, struct run *run,
                  unsigned rep);
/* Count the regular files under dir (and their bytes) into run. */
void count_files(const char *dir, int skip_manifest, struct run *run);

/* rmtree.c */
int remove_tree(int basefd, const char *name);

/* report.c */
int report(const struct compare *c);

#endif
