/*
 * testlib.h - the integration test harness: a tiny runner, private temp
 * dirs, running the pagegrab binary under a hard time limit, directory
 * tree checks and a JSON Lines manifest reader.
 *
 * Runner model: main() hands a table of struct pg_test_case to
 * pg_test_main(). Each test runs in its own forked child, in its own
 * process group, with its own empty temp dir (removed afterwards, kept
 * when PG_TEST_KEEP=1) and a time limit (alarm() in the child, SIGKILL of
 * the whole group from the parent as a backstop). A test fails by calling
 * pg_test_fail() (or a PG_CHECK macro), which reports the reason to the
 * parent and ends the child at once; it passes by returning. The parent
 * prints "PASS name", "FAIL name: reason" or "SKIP name: reason" per test
 * and finally exactly one line "N passed, N failed" (", N skipped" is
 * appended when some were skipped). The exit status is 0 if none failed,
 * 77 if every test was skipped, 1 otherwise.
 *
 * Environment:
 *   PAGEGRAB_BIN      the binary under test (default $PG_BUILD_DIR/pagegrab,
 *                     then build/pagegrab); missing -> every test is skipped
 *   PG_TEST_MODES     "thread", "process" or "thread,process" (default)
 *   PG_TEST_QUICK=1   smaller data sets (sanitizer runs)
 *   PG_TEST_TIME_SCALE  multiply every time limit (e.g. 4 under valgrind)
 *   PG_TEST_WRAPPER   a command prefix for pagegrab, split on spaces
 *                     (e.g. "valgrind -q --error-exitcode=99")
 *   PG_TEST_KEEP=1    keep the temp dirs of failed tests
 *   PG_TEST_VERBOSE=1 print every command and its stderr
 *
 * Ownership: strings returned by pg_path()/pg_strdupf() and buffers from
 * pg_read_file() are heap-allocated and owned by the caller (a test may
 * simply let them go: its process ends after the test). Everything here
 * runs in the test's single main thread; nothing is thread-safe.
 */
#ifndef PG_TESTLIB_H
#define PG_TESTLIB_H

#include "json.h"

#include <limits.h>
#include <spawn.h>
#include <stddef.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

#if defined(__GNUC__)
#define PG_TEST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PG_TEST_NORETURN __attribute__((noreturn))
#else
#define PG_TEST_PRINTF(f, a)
#define PG_TEST_NORETURN
#endif

enum pg_test_mode_bits {
    PG_MODE_THREAD = 1 << 0,
    PG_MODE_PROCESS = 1 << 1
};

enum pg_test_case_flags {
    /* Run the test once per enabled mode ("name[thread]",
     * "name[process]"), with pg_test.mode set. Without it, the test runs
     * once with mode NULL and looks at pg_test.modes itself. */
    PG_TEST_PER_MODE = 1 << 0,
    /* The test does not run pagegrab (harness self-tests): it runs even
     * when the binary is missing. */
    PG_TEST_NO_BINARY = 1 << 1
};

/* What a running test knows about itself. */
struct pg_test {
    const char *name;
    /* "thread" or "process" for PG_TEST_PER_MODE tests, else NULL. */
    const char *mode;
    /* Enabled modes (enum pg_test_mode_bits), from PG_TEST_MODES. */
    unsigned modes;
    /* The binary under test (absolute path). */
    const char *bin;
    /* The private temp dir, empty at start. */
    char dir[PATH_MAX];
    /* Number of pg_run() calls so far (names the capture files). */
    unsigned runs;
    /* Capture file of the last run's stderr (printed when a test fails). */
    char last_err[PATH_MAX + 64];
    /* The pipe to the runner for the failure reason. */
    int report_fd;
};

struct pg_test_case {
    const char *name;
    void (*fn)(struct pg_test *t);
    unsigned flags;          /* enum pg_test_case_flags */
    unsigned timeout_s;      /* 0 = 60 s */
};

/*
 * Run the tests of the table (or only those whose names, without the
 * "[mode]" suffix, are given as arguments) and return the exit status
 * described above. "-l" lists the names.
 */
int pg_test_main(int argc, char **argv, const struct pg_test_case *cases,
                 size_t n);

/* PG_TEST_QUICK=1 is set. */
int pg_test_quick(void);

/* Fail the current test with a message; never returns. */
PG_TEST_NORETURN void pg_test_fail(struct pg_test *t, const char *fmt, ...)
    PG_TEST_PRINTF(2, 3);
PG_TEST_NORETURN void pg_test_failf(struct pg_test *t, const char *file,
                                    int line, const char *fmt, ...)
    PG_TEST_PRINTF(4, 5);
/* Skip the current test; never returns. */
PG_TEST_NORETURN void pg_test_skip(struct pg_test *t, const char *fmt, ...)
    PG_TEST_PRINTF(2, 3);

#define PG_CHECK(t, cond, ...)                                              \
    do {                                                                    \
        if (!(cond))                                                        \
            pg_test_failf((t), __FILE__, __LINE__, __VA_ARGS__);           \
    } while (0)

#define PG_CHECK_INT(t, actual, expected, what)                             \
    do {                                                                    \
        long long pg_a_ = (long long)(actual);                              \
        long long pg_e_ = (long long)(expected);                            \
        if (pg_a_ != pg_e_)                                                 \
            pg_test_failf((t), __FILE__, __LINE__,                          \
                          "%s: expected %lld, got %lld", (what), pg_e_,     \
                          pg_a_);                                           \
    } while (0)

/* Nullable strings: NULL only equals NULL. */
#define PG_CHECK_STR(t, actual, expected, what)                             \
    do {                                                                    \
        const char *pg_a_ = (actual);                                       \
        const char *pg_e_ = (expected);                                     \
        if (!pg_str_eq(pg_a_, pg_e_))                                       \
            pg_test_failf((t), __FILE__, __LINE__,                          \
                          "%s: expected %s%s%s, got %s%s%s", (what),        \
                          pg_e_ ? "'" : "", pg_e_ ? pg_e_ : "null",         \
                          pg_e_ ? "'" : "", pg_a_ ? "'" : "",               \
                          pg_a_ ? pg_a_ : "null", pg_a_ ? "'" : "");        \
    } while (0)

int pg_str_eq(const char *a, const char *b);
int pg_str_has_prefix(const char *s, const char *prefix);
int pg_str_has_suffix(const char *s, const char *suffix);

/* ---- Strings and paths (abort on out of memory) ---- */

/* A formatted heap string. */
char *pg_strdupf(const char *fmt, ...) PG_TEST_PRINTF(1, 2);
/* A formatted path inside the test's temp dir: "<dir>/<fmt...>". */
char *pg_path(struct pg_test *t, const char *fmt, ...) PG_TEST_PRINTF(2, 3);

/* ---- Files ---- */

/*
 * Read a whole file; returns a heap buffer (NUL-terminated, *len without
 * the NUL) or NULL with errno set.
 */
char *pg_read_file(const char *path, size_t *len);
/* Write (create/truncate) a file or fail the test. */
void pg_write_file(struct pg_test *t, const char *path, const void *data,
                   size_t len);
/* mkdir -p, or fail the test. */
void pg_mkdirs(struct pg_test *t, const char *path);
/* Remove a tree (files, symlinks - never followed - and dirs). 0 on
 * success, -1 with errno set. A missing path is success. */
int pg_remove_tree(const char *path);

/* ---- Running the binary ---- */

struct pg_run {
    int code;                /* exit status of the program */
    double secs;             /* wall time */
    char *out;               /* captured stdout, NUL-terminated */
    size_t out_len;
    char *err;               /* captured stderr, NUL-terminated */
    size_t err_len;
    char out_path[PATH_MAX + 64]; /* capture files (in the temp dir) */
    char err_path[PATH_MAX + 64];
};

/*
 * The argv to run the binary under test with args (NULL-terminated,
 * without argv[0]): PG_TEST_WRAPPER's words, the binary, "--per-worker K"
 * when PG_TEST_PER_WORKER=K is set (after a leading "compare"), then
 * args.  One allocation: free() it.
 */
char **pg_test_argv(const struct pg_test *t, const char *const *args);

/* PG_TEST_PER_WORKER as a number (1 when unset). */
unsigned pg_test_per_worker(void);

/* argv as one shell-quoted line (for logs); free() it. */
char *pg_test_join_argv(char *const *argv);

/*
 * Spawn set-up shared by every runner of the binary: stdin from
 * stdin_path (or /dev/null), stdout and stderr to files, no blocked
 * signals and default dispositions.  The caller destroys fa and attr.
 */
void pg_spawn_prepare(struct pg_test *t, posix_spawn_file_actions_t *fa,
                      posix_spawnattr_t *attr, const char *stdin_path,
                      const char *out_path, const char *err_path);

/*
 * Run the binary under test with args (a NULL-terminated vector, without
 * argv[0]) through posix_spawn: stdin from stdin_path (NULL =
 * /dev/null), stdout and stderr captured to files in the temp dir. If it
 * has not ended after timeout_s seconds (scaled by PG_TEST_TIME_SCALE) it
 * is killed with SIGKILL and the test fails; so does a run that dies from
 * a signal or cannot be started. Returns the exit status (also in r->code).
 * Release r with pg_run_release().
 */
int pg_run(struct pg_test *t, struct pg_run *r, const char *stdin_path,
           unsigned timeout_s, const char *const *args);
void pg_run_release(struct pg_run *r);

/* Scale a time limit by PG_TEST_TIME_SCALE. */
unsigned pg_test_scaled(unsigned secs);

/* A TCP port on 127.0.0.1 with nothing listening (bound, read, closed). */
unsigned pg_unused_port(struct pg_test *t);

/* ---- Directory trees ---- */

struct pg_strlist {
    char **v;
    size_t n;
    size_t cap;
};

void pg_strlist_add(struct pg_strlist *l, const char *s);
void pg_strlist_sort(struct pg_strlist *l);
void pg_strlist_release(struct pg_strlist *l);
/* One string, the elements separated by sep (heap). */
char *pg_strlist_join(const struct pg_strlist *l, const char *sep);

/*
 * List every non-directory entry under root (not following symlinks) as
 * a path relative to root, sorted. Symbolic links get a trailing "@",
 * other non-regular files a trailing "?". A missing root gives an empty
 * list. Returns 0, or -1 with errno set.
 */
int pg_tree_list(const char *root, struct pg_strlist *out);

/* An expected file: relative path and exact content. */
struct pg_expect_file {
    const char *path;
    const void *data;
    size_t len;
};

/*
 * Check that root holds exactly these regular files with exactly this
 * content, and nothing else (directories aside). Fails the test with the
 * first difference.
 */
void pg_tree_check(struct pg_test *t, const char *root,
                   const struct pg_expect_file *files, size_t n);

/*
 * Compare two trees (names, types and file contents). Returns 1 if equal,
 * else 0 with the first difference in why.
 */
int pg_tree_equal(const char *a, const char *b, char *why, size_t whylen);

/* Fail the test if any ".pagegrab-*.part" file exists under root. */
void pg_check_no_temp_files(struct pg_test *t, const char *root);

/* ---- Manifests (JSON Lines of flat objects) ---- */

struct pg_record {
    struct pg_json_field *f;
    size_t n;
    size_t lineno;           /* line in the manifest file */
};

struct pg_manifest {
    struct pg_record *rec;
    size_t n;
};

/*
 * Parse a JSON Lines file of flat objects (string, number, true/false,
 * null values). Returns 0, or -1 with a message in err (missing file,
 * syntax error with its line and column, duplicate key).
 */
int pg_manifest_load(const char *path, struct pg_manifest *m, char *err,
                     size_t errlen);
/* Load or fail the test. */
void pg_manifest_must_load(struct pg_test *t, const char *path,
                           struct pg_manifest *m);
void pg_manifest_release(struct pg_manifest *m);
/* Every record of the manifest at path has this status (each mismatch
 * fails the test); returns how many records there are. */
size_t pg_manifest_check_all(struct pg_test *t, const char *path,
                             const char *status);
/* Sort the records by url, then line, then whole content. */
void pg_manifest_sort(struct pg_manifest *m);

/* The field, or NULL if the record has no such key. */
const struct pg_json_field *pg_record_get(const struct pg_record *r,
                                          const char *key);
/* The string value, or NULL if missing or not a string. */
const char *pg_record_str(const struct pg_record *r, const char *key);
/* The integer value, or def if missing or not an integer. */
long long pg_record_int(const struct pg_record *r, const char *key,
                        long long def);
/* 1 if the key is present and null. */
int pg_record_is_null(const struct pg_record *r, const char *key);
/* The record as one line of text (heap), for messages. */
char *pg_record_text(const struct pg_record *r);

/* The first record whose "url" equals url, or NULL. */
const struct pg_record *pg_manifest_find(const struct pg_manifest *m,
                                         const char *url);

/*
 * Check that the record has exactly the contract's keys in the contract's
 * order with the right types. Returns 1, or 0 with the reason in why.
 */
int pg_record_check_schema(const struct pg_record *r, char *why,
                           size_t whylen);

/*
 * The same for the manifest of issue 3 (images and crawling): the base
 * keys followed by "kind", "depth", "referrer", "links", "hash" and
 * "duplicate_of", the new statuses "filtered", "robots" and "listed",
 * kind one of file/page/image, depth and links >= 0, hash null or 64
 * lowercase hex digits; then (issue 12) "http_version": null or one of
 * "1.0", "1.1", "2", "3"; then (issue 13) "etag" and "last_modified"
 * (string or null), the statuses "unchanged", "changed" and "gone",
 * and the --exec keys "exec_pending", "exec_status", "exec_ms".
 */
int pg_record_check_crawl_schema(const struct pg_record *r, char *why,
                                 size_t whylen);

/*
 * Compare two manifests record by record (both must be sorted) ignoring
 * the key ignore (e.g. "time_ms"; NULL = none). Returns 1 if equal, else
 * 0 with the first difference in why.
 */
int pg_manifest_equal(const struct pg_manifest *a, const struct pg_manifest *b,
                      const char *ignore, char *why, size_t whylen);

/* ---- Hashes ---- */

/* SHA-256 of a buffer, as bytes or as 64 lowercase hex digits (heap). */
void pg_sha256(const void *data, size_t len, unsigned char out[32]);
char *pg_sha256_hex(const void *data, size_t len);


/*
 * A NULL-terminated argument vector built in place (no allocation), for
 * pg_run() and friends.  pg_args_push() appends its arguments up to a
 * NULL (END); too many for v[] is a test bug and aborts.
 */
struct pg_args {
    const char *v[128];
    size_t n;
};

void pg_args_push(struct pg_args *a, ...);

#endif /* PG_TESTLIB_H */
