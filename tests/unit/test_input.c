/*
 * test_input.c - unit tests for the URL-list reader (src/input.c).
 *
 * Every case is run three ways: from a temporary file, from a pipe fed
 * by a child process in small pieces (so lines arrive split across
 * reads), and through pg__input_count() on the same file, which must
 * count the lines that pg__input_next() reports (URLs and over-long
 * lines alike: each one becomes a result).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "input.h"
#include "unit.h"

/*
 * The reader under test.  It is static (not on the heap) so that the
 * forked writer children own no unreachable memory when they _exit().
 */
static struct pg__input reader;

/* A piece of input: s repeated rep times (rep 0 means once). */
struct part {
    const char *s;
    size_t rep;
};

enum ev_kind { EV_END = 0, EV_LINE, EV_LIMIT };

/* An expected event: a line (text repeated rep times), LIMIT or END. */
struct ev {
    enum ev_kind kind;
    uint64_t lineno;
    const char *text;
    size_t rep;
};

#define MAX_PARTS 8
#define MAX_EVS 12

struct input_case {
    const char *what;
    struct part parts[MAX_PARTS];
    struct ev evs[MAX_EVS];   /* up to and including EV_END */
};

#define L(n, t) { EV_LINE, (n), (t), 0 }
#define LR(n, t, r) { EV_LINE, (n), (t), (r) }
#define LIM(n) { EV_LIMIT, (n), NULL, 0 }
#define END { EV_END, 0, NULL, 0 }

static const struct input_case cases[] = {
    { "empty input", { { NULL, 0 } }, { END } },
    { "one newline", { { "\n", 0 } }, { END } },
    { "one URL", { { "http://a\n", 0 } }, { L(1, "http://a"), END } },
    { "blank lines, comments, white space, no final newline",
      { { "\n\n  \t\n# c\nhttp://a\n   # indented\n  http://b  \r\n"
          "\r\nhttp://c", 0 } },
      { L(5, "http://a"), L(7, "http://b"), L(9, "http://c"), END } },
    { "CRLF", { { "a\r\nb\r\n\r\n", 0 } }, { L(1, "a"), L(2, "b"), END } },
    { "last line without newline", { { "a\nb", 0 } },
      { L(1, "a"), L(2, "b"), END } },
    { "last line only white space", { { "a\n   ", 0 } },
      { L(1, "a"), END } },
    { "inner white space kept", { { " a  b \n", 0 } },
      { L(1, "a  b"), END } },
    { "tab, VT, FF trimmed", { { "\t\v\fa\f\v\t\n", 0 } },
      { L(1, "a"), END } },
    { "comment after a URL is part of it", { { "a #b\n", 0 } },
      { L(1, "a #b"), END } },
    { "8192 bytes is fine", { { "x", 8192 }, { "\ny\n", 0 } },
      { LR(1, "x", 8192), L(2, "y"), END } },
    { "8193 bytes is over-long", { { "x", 8193 }, { "\ny\n", 0 } },
      { LIM(1), L(2, "y"), END } },
    { "8193 bytes with the white space trimmed",
      { { " ", 0 }, { "x", 8192 }, { " \r\n", 0 } },
      { LR(1, "x", 8192), END } },
    { "8193-byte line between others",
      { { "a\n\n", 0 }, { "z", 8193 }, { "\n# c\nb\n", 0 } },
      { L(1, "a"), LIM(3), L(5, "b"), END } },
    { "65535-byte line", { { "x", 65535 }, { "\ny", 0 } },
      { LIM(1), L(2, "y"), END } },
    { "65536-byte line (one block)", { { "x", 65536 }, { "\ny\n", 0 } },
      { LIM(1), L(2, "y"), END } },
    { "65537-byte line", { { "x", 65537 }, { "\ny\n", 0 } },
      { LIM(1), L(2, "y"), END } },
    { "200000-byte line", { { "a\n", 0 }, { "x", 200000 },
                            { "\nb\n", 0 } },
      { L(1, "a"), LIM(2), L(3, "b"), END } },
    { "200000-byte last line without newline",
      { { "a\n", 0 }, { "x", 200000 } },
      { L(1, "a"), LIM(2), END } },
    { "two long lines in a row",
      { { "x", 100000 }, { "\n", 0 }, { "y", 70000 }, { "\nc\n", 0 } },
      { LIM(1), LIM(2), L(3, "c"), END } },
    { "long line ending exactly at a block end",
      { { "a\n", 0 }, { "x", 65533 }, { "\nb\n", 0 } },
      { L(1, "a"), LIM(2), L(3, "b"), END } },
    { "10000-byte comment is skipped", { { "#", 0 }, { "c", 10000 },
                                         { "\na\n", 0 } },
      { L(2, "a"), END } },
    { "10000 blanks are a blank line", { { " ", 10000 }, { "\na", 0 } },
      { L(2, "a"), END } },
};

/* The bytes of a case. */
static char *build(const struct part *parts, size_t *n)
{
    size_t len = 0, i, r;
    char *p;

    for (i = 0; i < MAX_PARTS && parts[i].s; i++)
        len += strlen(parts[i].s) * (parts[i].rep ? parts[i].rep : 1);
    p = malloc(len + 1);
    assert_non_null(p);
    *n = 0;
    for (i = 0; i < MAX_PARTS && parts[i].s; i++) {
        size_t sl = strlen(parts[i].s);

        for (r = 0; r < (parts[i].rep ? parts[i].rep : 1); r++) {
            memcpy(p + *n, parts[i].s, sl);
            *n += sl;
        }
    }
    p[*n] = '\0';
    return p;
}

/* 1 if line (len) is text repeated rep times. */
static int line_is(const char *line, size_t len, const char *text,
                   size_t rep)
{
    size_t tl = strlen(text), i;

    if (!rep)
        rep = 1;
    if (len != tl * rep)
        return 0;
    for (i = 0; i < rep; i++) {
        if (memcmp(line + i * tl, text, tl))
            return 0;
    }
    return line[len] == '\0';
}

/* Read every event from in and compare with evs; returns the failures. */
static int check_events(struct pg__input *in, const struct ev *evs,
                        const char *what, const char *how)
{
    int bad = 0;
    size_t i;

    for (i = 0; i < MAX_EVS; i++) {
        const struct ev *e = &evs[i];
        const char *line = (const char *)"unset";
        size_t len = 12345;
        uint64_t lineno = 0;
        enum pg_code rc = pg__input_next(in, &line, &len, &lineno);

        switch (e->kind) {
        case EV_END:
            UT_EXPECT(bad, rc == PG_OK && !line, "%s (%s): event %zu: "
                      "rc %d line %s, want end", what, how, i, rc,
                      line ? "set" : "NULL");
            /* End of input stays the end. */
            rc = pg__input_next(in, &line, &len, &lineno);
            UT_EXPECT(bad, rc == PG_OK && !line, "%s (%s): not at end "
                      "after end", what, how);
            return bad;
        case EV_LINE:
            UT_EXPECT(bad, rc == PG_OK && line, "%s (%s): event %zu: "
                      "rc %d, want line %llu", what, how, i, rc,
                      (unsigned long long)e->lineno);
            if (rc || !line)
                return bad + 1;
            UT_EXPECT(bad, lineno == e->lineno, "%s (%s): line number %llu,"
                      " want %llu", what, how, (unsigned long long)lineno,
                      (unsigned long long)e->lineno);
            UT_EXPECT(bad, line_is(line, len, e->text, e->rep),
                      "%s (%s): line %llu: got %zu bytes '%.40s'", what,
                      how, (unsigned long long)e->lineno, len, line);
            break;
        case EV_LIMIT:
            UT_EXPECT(bad, rc == PG_E_LIMIT, "%s (%s): event %zu: rc %d, "
                      "want PG_E_LIMIT", what, how, i, rc);
            if (rc != PG_E_LIMIT)
                return bad + 1;
            UT_EXPECT(bad, lineno == e->lineno, "%s (%s): limit at line "
                      "%llu, want %llu", what, how,
                      (unsigned long long)lineno,
                      (unsigned long long)e->lineno);
            UT_EXPECT(bad, line == NULL, "%s (%s): line set on LIMIT",
                      what, how);
            break;
        }
    }
    return bad + 1; /* no EV_END in the table */
}

/* The number of URL lines in evs (lines and over-long lines). */
static int64_t expected_count(const struct ev *evs)
{
    int64_t n = 0;
    size_t i;

    for (i = 0; i < MAX_EVS && evs[i].kind != EV_END; i++)
        n++;
    return n;
}

/* Write data to fd in pieces of chunk bytes; used by the child. */
static void write_chunks(int fd, const char *data, size_t n, size_t chunk)
{
    while (n > 0) {
        size_t k = n < chunk ? n : chunk;
        ssize_t w = write(fd, data, k);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            _exit(1);
        data += w;
        n -= (size_t)w;
    }
}

/* Run one case through a pipe fed in pieces of chunk bytes. */
static int run_pipe(const char *data, size_t n, size_t chunk,
                    const struct ev *evs, const char *what)
{
    struct pg__input *in = &reader;
    char how[32];
    int fds[2], status, bad;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        write_chunks(fds[1], data, n, chunk);
        _exit(0);
    }
    close(fds[1]);
    snprintf(how, sizeof(how), "pipe, %zu-byte writes", chunk);
    pg__input_init_fd(in, fds[0]);
    bad = check_events(in, evs, what, how);
    pg__input_close(in);
    /* Not owned: the fd is still open after close. */
    assert_int_not_equal(fcntl(fds[0], F_GETFD), -1);
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return bad;
}

/* Run one case from a file, and count its lines. */
static int run_file(const char *dir, const char *data, size_t n,
                    const struct ev *evs, const char *what)
{
    struct pg__input *in = &reader;
    char *path = ut_path(dir, "urls.txt");
    int64_t count;
    int bad;

    assert_non_null(path);
    assert_int_equal(ut_write_file(path, data, n), 0);
    assert_int_equal(pg__input_open(in, path), PG_OK);
    bad = check_events(in, evs, what, "file");
    pg__input_close(in);
    assert_int_equal(in->fd, -1);
    count = pg__input_count(path);
    UT_EXPECT(bad, count == expected_count(evs), "%s: pg__input_count "
              "%lld, want %lld", what, (long long)count,
              (long long)expected_count(evs));
    unlink(path);
    free(path);
    return bad;
}

static int setup_dir(void **state)
{
    *state = ut_tmpdir();
    return *state ? 0 : -1;
}

static int teardown_dir(void **state)
{
    int rc = ut_rm_tree(*state);

    free(*state);
    return rc;
}

/* Run one case all ways. */
static int run_case(const char *dir, const struct part *parts,
                    const struct ev *evs, const char *what)
{
    static const size_t chunks[] = { 1, 7, 4093, 65537 };
    size_t n, i;
    char *data = build(parts, &n);
    int bad = run_file(dir, data, n, evs, what);

    for (i = 0; i < PG_ARRAY_SIZE(chunks); i++) {
        /* One-byte writes only for the shorter inputs (speed). */
        if (chunks[i] == 1 && n > 20000)
            continue;
        bad += run_pipe(data, n, chunks[i], evs, what);
    }
    free(data);
    return bad;
}

static void test_input_table(void **state)
{
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(cases); i++)
        bad += run_case(*state, cases[i].parts, cases[i].evs,
                        cases[i].what);
    assert_int_equal(bad, 0);
}

/*
 * 360 lines of 183 bytes (65880 bytes), then one of 3000: a line lies
 * across the end of the first 64 KiB block.
 */
static void test_input_straddle(void **state)
{
    static const struct ev end[MAX_EVS] = { END };
    struct pg__input *in = &reader;
    char *path = ut_path(*state, "straddle.txt");
    size_t n = 360 * 184 + 3001, k;
    char *data = malloc(n);
    int bad = 0;

    assert_non_null(path);
    assert_non_null(data);
    for (k = 0; k < 360; k++) {
        memset(data + k * 184, 'a', 183);
        data[k * 184 + 183] = '\n';
    }
    memset(data + 360 * 184, 'b', 3000);
    data[n - 1] = '\n';
    assert_int_equal(ut_write_file(path, data, n), 0);
    assert_int_equal(pg__input_open(in, path), PG_OK);
    for (k = 1; k <= 361; k++) {
        const char *line = NULL;
        size_t len = 0;
        uint64_t lineno = 0;

        assert_int_equal(pg__input_next(in, &line, &len, &lineno), PG_OK);
        assert_non_null(line);
        UT_EXPECT(bad, lineno == k, "line number %llu, want %zu",
                  (unsigned long long)lineno, k);
        if (k <= 360)
            UT_EXPECT(bad, line_is(line, len, "a", 183), "line %zu: %zu "
                      "bytes", k, len);
        else
            UT_EXPECT(bad, line_is(line, len, "b", 3000), "last line: %zu "
                      "bytes", len);
    }
    bad += check_events(in, end, "straddle", "file");
    pg__input_close(in);
    assert_int_equal(pg__input_count(path), 361);
    unlink(path);
    free(path);
    free(data);
    assert_int_equal(bad, 0);
}

/*
 * 30000 numbered lines with comments and blanks in between (about
 * 1.3 MB, 20 blocks): every URL comes back with its physical line.
 */
static void test_input_many_lines(void **state)
{
    struct pg__input *in = &reader;
    char *path = ut_path(*state, "many.txt");
    size_t cap = 4u << 20, n = 0;
    char *data = malloc(cap);
    uint64_t k, want = 0, urls = 0;
    int bad = 0, fds[2], round;

    assert_non_null(path);
    assert_non_null(data);
    for (k = 1; k <= 30000; k++) {
        int w;

        if (k % 7 == 0)
            w = snprintf(data + n, cap - n, "# comment %llu\n",
                         (unsigned long long)k);
        else if (k % 11 == 0)
            w = snprintf(data + n, cap - n, "   \r\n");
        else
            w = snprintf(data + n, cap - n, "  http://h/%llu/%s \r\n",
                         (unsigned long long)k, "padding-padding");
        assert_true(w > 0 && (size_t)w < cap - n);
        n += (size_t)w;
    }
    assert_int_equal(ut_write_file(path, data, n), 0);

    for (round = 0; round < 2; round++) {
        pid_t pid = -1;
        int status;

        if (round == 0) {
            assert_int_equal(pg__input_open(in, path), PG_OK);
        } else {
            assert_int_equal(pipe(fds), 0);
            pid = fork();
            assert_true(pid >= 0);
            if (pid == 0) {
                close(fds[0]);
                write_chunks(fds[1], data, n, 1000);
                _exit(0);
            }
            close(fds[1]);
            pg__input_init_fd(in, fds[0]);
        }
        want = 0;
        urls = 0;
        for (;;) {
            const char *line;
            size_t len;
            uint64_t lineno;
            char expect[64];

            if (pg__input_next(in, &line, &len, &lineno) != PG_OK) {
                UT_EXPECT(bad, 0, "round %d: error after line %llu",
                          round, (unsigned long long)want);
                break;
            }
            if (!line)
                break;
            do
                want++;
            while (want % 7 == 0 || want % 11 == 0);
            snprintf(expect, sizeof(expect), "http://h/%llu/%s",
                     (unsigned long long)want, "padding-padding");
            UT_EXPECT(bad, lineno == want && len == strlen(expect) &&
                      !strcmp(line, expect), "round %d: line %llu '%s',"
                      " want %llu '%s'", round, (unsigned long long)lineno,
                      line, (unsigned long long)want, expect);
            urls++;
            if (bad > 5)
                break;
        }
        pg__input_close(in);
        if (round == 1) {
            close(fds[0]);
            assert_int_equal(waitpid(pid, &status, 0), pid);
        }
        UT_EXPECT(bad, urls == 30000 - 30000 / 7 - 30000 / 11 +
                  30000 / 77, "round %d: %llu URLs", round,
                  (unsigned long long)urls);
    }
    assert_int_equal(pg__input_count(path), (int64_t)urls);
    unlink(path);
    free(path);
    free(data);
    assert_int_equal(bad, 0);
}

/*
 * A comment line, or a line of blanks, is skipped whatever its length:
 * pg__input_count() does not count it, and the reader skips it when it
 * is shorter than a block.  Longer than the 64 KiB block it must not
 * turn into a PG_E_LIMIT "over-long URL" (an invalid-url record that
 * makes done exceed total).
 */
static void test_input_long_comment_skipped(void **state)
{
    static const struct input_case long_cases[] = {
        { "200000-byte comment", { { "#", 0 }, { "c", 200000 },
                                   { "\na\n", 0 } },
          { L(2, "a"), END } },
        { "100000 blanks", { { " ", 100000 }, { "\na\n", 0 } },
          { L(2, "a"), END } },
    };
    size_t i;
    int bad = 0;

    for (i = 0; i < PG_ARRAY_SIZE(long_cases); i++) {
        size_t n;
        char *data = build(long_cases[i].parts, &n);

        bad += run_file(*state, data, n, long_cases[i].evs,
                        long_cases[i].what);
        free(data);
    }
    assert_int_equal(bad, 0);
}

static void test_input_open_errors(void **state)
{
    struct pg__input *in = &reader;
    char *missing = ut_path(*state, "missing.txt");
    const char *line = NULL;
    size_t len;
    uint64_t lineno;

    assert_non_null(missing);
    errno = 0;
    assert_int_equal(pg__input_open(in, missing), PG_E_IO);
    assert_int_equal(errno, ENOENT);

    /* A directory opens but cannot be read: PG_E_IO with errno. */
    assert_int_equal(pg__input_open(in, *state), PG_OK);
    errno = 0;
    assert_int_equal(pg__input_next(in, &line, &len, &lineno), PG_E_IO);
    assert_int_equal(errno, EISDIR);
    pg__input_close(in);
    pg__input_close(in);
    free(missing);
}

static void test_input_count_not_regular(void **state)
{
    char *missing = ut_path(*state, "missing.txt");

    assert_non_null(missing);
    assert_int_equal(pg__input_count(missing), -1);
    assert_int_equal(pg__input_count(*state), -1);
    assert_int_equal(pg__input_count("/dev/null"), -1);
    free(missing);
}

/*
 * pg__input_count() on a FIFO must return -1 at once.  It must not
 * block in open() waiting for a writer (the job calls it after opening
 * the input, and the writer may already be gone).  Run in a child with
 * a 3-second alarm so that a hang fails instead of stalling the suite.
 */
static void test_input_count_fifo_does_not_block(void **state)
{
    char *fifo = ut_path(*state, "fifo");
    int status;
    pid_t pid;

    assert_non_null(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(3);
        _exit(pg__input_count(fifo) == -1 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unlink(fifo);
    free(fifo);
    if (WIFSIGNALED(status))
        fail_msg("pg__input_count() blocked on a FIFO (child killed "
                 "by SIGALRM (%d) after 3 s)", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * A NUL byte does not end a line: the whole line comes back with its
 * length, so the caller can refuse it instead of fetching a prefix.
 */
static void test_input_nul_kept(void **state)
{
    static const char data[] = "a\nhttp://h/b\0http://h/c\nd\n";
    struct pg__input *in = &reader;
    char *path = ut_path(*state, "nul.txt");
    const char *line = NULL;
    size_t len = 0;
    uint64_t lineno = 0;

    assert_non_null(path);
    assert_int_equal(ut_write_file(path, data, sizeof(data) - 1), 0);
    assert_int_equal(pg__input_open(in, path), PG_OK);
    assert_int_equal(pg__input_next(in, &line, &len, &lineno), PG_OK);
    assert_true(line && len == 1 && lineno == 1);
    assert_int_equal(pg__input_next(in, &line, &len, &lineno), PG_OK);
    assert_non_null(line);
    assert_int_equal(lineno, 2);
    assert_int_equal(len, 21);
    assert_memory_equal(line, "http://h/b\0http://h/c", 21);
    assert_int_equal(pg__input_next(in, &line, &len, &lineno), PG_OK);
    assert_true(line && len == 1 && *line == 'd' && lineno == 3);
    pg__input_close(in);
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_input_nul_kept, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_input_table, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_input_straddle, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_input_many_lines, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_input_long_comment_skipped,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_input_open_errors, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_input_count_not_regular,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(
            test_input_count_fifo_does_not_block, setup_dir,
            teardown_dir),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
