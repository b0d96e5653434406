/*
 * testlib.c - the integration test harness (see testlib.h).
 */
#include "testlib.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_TIMEOUT 60
/* Extra seconds the runner grants a test before killing its group. */
#define RUNNER_GRACE 5
/* Seconds a test's leftover processes get to go away on their own. */
#define LEFTOVER_GRACE_MS 3000

/* ------------------------------------------------------------------ */
/* Small utilities                                                     */
/* ------------------------------------------------------------------ */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        fputs("testlib: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q) {
        fputs("testlib: out of memory\n", stderr);
        abort();
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);

    memcpy(p, s, n);
    return p;
}

static char *vstrdupf(const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    char *p;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        fputs("testlib: bad format\n", stderr);
        abort();
    }
    p = xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *pg_strdupf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = vstrdupf(fmt, ap);
    va_end(ap);
    return p;
}

char *pg_path(struct pg_test *t, const char *fmt, ...)
{
    va_list ap;
    char *rel;
    char *p;

    va_start(ap, fmt);
    rel = vstrdupf(fmt, ap);
    va_end(ap);
    p = pg_strdupf("%s/%s", t->dir, rel);
    free(rel);
    return p;
}

int pg_str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return !strcmp(a, b);
}

int pg_str_has_prefix(const char *s, const char *prefix)
{
    return s && !strncmp(s, prefix, strlen(prefix));
}

int pg_str_has_suffix(const char *s, const char *suffix)
{
    size_t ls;
    size_t lx;

    if (!s)
        return 0;
    ls = strlen(s);
    lx = strlen(suffix);
    return ls >= lx && !memcmp(s + ls - lx, suffix, lx);
}

static const char *errtext(int err, char *buf, size_t len)
{
    /* The XSI strerror_r returns int; 0 means buf holds the text. */
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}

static double now_secs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);

    return v && *v && strcmp(v, "0") != 0;
}

int pg_test_quick(void)
{
    return env_flag("PG_TEST_QUICK");
}

unsigned pg_test_scaled(unsigned secs)
{
    const char *v = getenv("PG_TEST_TIME_SCALE");
    char *end;
    double f;

    if (!v || !*v)
        return secs;
    errno = 0;
    f = strtod(v, &end);
    if (errno || *end || f <= 0 || f > 1000)
        return secs;
    return (unsigned)((double)secs * f + 0.999);
}

/* ------------------------------------------------------------------ */
/* Failing and skipping                                                */
/* ------------------------------------------------------------------ */

static void print_tail(const char *title, const char *path, size_t max)
{
    size_t len;
    char *data = pg_read_file(path, &len);
    const char *p;

    if (!data)
        return;
    p = data;
    if (len > max) {
        p = data + len - max;
        fprintf(stderr, "---- %s (last %zu bytes) ----\n", title, max);
    } else {
        fprintf(stderr, "---- %s ----\n", title);
    }
    fputs(p, stderr);
    if (len && data[len - 1] != '\n')
        fputc('\n', stderr);
    fputs("----\n", stderr);
    free(data);
}

PG_TEST_NORETURN static void end_test(struct pg_test *t, int code,
                                      const char *msg)
{
    size_t len = strlen(msg);
    size_t off = 0;

    if (code == 1 && t->last_err[0])
        print_tail("stderr of the last pagegrab run", t->last_err, 4000);
    fflush(stdout);
    fflush(stderr);
    if (len > 2000)
        len = 2000;
    while (off < len) {
        ssize_t w = write(t->report_fd, msg + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    _exit(code);
}

void pg_test_fail(struct pg_test *t, const char *fmt, ...)
{
    va_list ap;
    char msg[2048];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    end_test(t, 1, msg);
}

void pg_test_failf(struct pg_test *t, const char *file, int line,
                   const char *fmt, ...)
{
    va_list ap;
    char msg[2048];
    int n;
    const char *base = strrchr(file, '/');

    n = snprintf(msg, sizeof(msg), "%s:%d: ", base ? base + 1 : file, line);
    if (n < 0 || (size_t)n >= sizeof(msg))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    va_end(ap);
    end_test(t, 1, msg);
}

void pg_test_skip(struct pg_test *t, const char *fmt, ...)
{
    va_list ap;
    char msg[2048];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    end_test(t, 77, msg);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

char *pg_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf;
    size_t cap;
    size_t n = 0;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0) {
        int e = errno;

        close(fd);
        errno = e;
        return NULL;
    }
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
    buf = xmalloc(cap);
    for (;;) {
        ssize_t r;

        if (n + 1 >= cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;

            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void pg_write_file(struct pg_test *t, const char *path, const void *data,
                   size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const char *p = data;
    char eb[128];

    if (fd < 0)
        pg_test_fail(t, "cannot create '%s': %s", path,
                     errtext(errno, eb, sizeof(eb)));
    while (len) {
        ssize_t w = write(fd, p, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            pg_test_fail(t, "cannot write '%s': %s", path,
                         errtext(errno, eb, sizeof(eb)));
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) != 0)
        pg_test_fail(t, "cannot close '%s': %s", path,
                     errtext(errno, eb, sizeof(eb)));
}

void pg_mkdirs(struct pg_test *t, const char *path)
{
    char *p = xstrdup(path);
    char eb[128];

    for (char *s = p + 1; ; s++) {
        int last = *s == '\0';

        if (*s == '/' || last) {
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                pg_test_fail(t, "cannot create '%s': %s", p,
                             errtext(errno, eb, sizeof(eb)));
            if (last)
                break;
            *s = '/';
        }
    }
    free(p);
}

int pg_remove_tree(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *de;
    int ret = 0;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    /* Make sure we may list and empty it (tests chmod dirs). */
    chmod(path, 0700);
    d = opendir(path);
    if (!d)
        return -1;
    while ((de = readdir(d))) {
        char *child;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        child = pg_strdupf("%s/%s", path, de->d_name);
        if (pg_remove_tree(child) != 0)
            ret = -1;
        free(child);
    }
    closedir(d);
    if (rmdir(path) != 0)
        ret = -1;
    return ret;
}

/* ------------------------------------------------------------------ */
/* Running the binary                                                  */
/* ------------------------------------------------------------------ */

char *pg_test_join_argv(char *const *argv)
{
    size_t cap = 1;
    char *s;

    for (size_t i = 0; argv[i]; i++)
        cap += strlen(argv[i]) + 3;
    s = xmalloc(cap);
    s[0] = '\0';
    for (size_t i = 0; argv[i]; i++) {
        size_t len = strlen(s);
        int quote = !argv[i][0] || strpbrk(argv[i], " \t\n'\"*?$;&|<>");

        snprintf(s + len, cap - len, "%s%s%s%s", i ? " " : "",
                 quote ? "'" : "", argv[i], quote ? "'" : "");
    }
    return s;
}

unsigned pg_test_per_worker(void)
{
    const char *k = getenv("PG_TEST_PER_WORKER");
    unsigned long v = k && *k ? strtoul(k, NULL, 10) : 1;

    return v < 1 ? 1 : (unsigned)v;
}

char **pg_test_argv(const struct pg_test *t, const char *const *args)
{
    const char *wrapper = getenv("PG_TEST_WRAPPER");
    const char *k = getenv("PG_TEST_PER_WORKER");
    size_t nargs = 0, nwrap = 0, n = 0, i = 0, slots;
    char **argv, *strs, *p;

    if (!wrapper)
        wrapper = "";
    if (k && !*k)
        k = NULL;
    while (args[nargs])
        nargs++;
    for (p = (char *)wrapper; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        nwrap++;
        while (*p && *p != ' ')
            p++;
    }
    /* One block: the vector, then a copy of the wrapper's words. */
    slots = nwrap + nargs + 4;
    argv = xmalloc(slots * sizeof(*argv) + strlen(wrapper) + 1);
    strs = (char *)(argv + slots);
    memcpy(strs, wrapper, strlen(wrapper) + 1);
    for (p = strs; *p;) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        argv[n++] = p;
        while (*p && *p != ' ')
            p++;
    }
    argv[n++] = (char *)t->bin;
    /* PG_TEST_PER_WORKER=K reruns every suite with the multi engine
     * (after a subcommand name, which must come first; `fleet` runs no
     * transfer and takes no such option). */
    if (nargs > 0 && !strcmp(args[0], "compare"))
        argv[n++] = (char *)args[i++];
    /* (A subcommand that runs no job takes no job options.) */
    if (nargs > 0 && (!strcmp(args[0], "compact-manifest") ||
                      !strcmp(args[0], "fleet")))
        k = NULL;
    if (k) {
        argv[n++] = "--per-worker";
        argv[n++] = (char *)k;
    }
    for (; i < nargs; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    return argv;
}

void pg_spawn_prepare(struct pg_test *t, posix_spawn_file_actions_t *fa,
                      posix_spawnattr_t *attr, const char *stdin_path,
                      const char *out_path, const char *err_path)
{
    static const int def_signals[] = {SIGPIPE, SIGINT,  SIGTERM, SIGHUP,
                                      SIGQUIT, SIGCHLD, SIGALRM, SIGUSR1,
                                      SIGUSR2};
    sigset_t mask;
    sigset_t defs;

    if (posix_spawn_file_actions_init(fa) != 0 ||
        posix_spawnattr_init(attr) != 0)
        pg_test_fail(t, "posix_spawn setup failed");
    posix_spawn_file_actions_addopen(fa, 0,
                                     stdin_path ? stdin_path : "/dev/null",
                                     O_RDONLY, 0);
    posix_spawn_file_actions_addopen(fa, 1, out_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(fa, 2, err_path,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    sigemptyset(&mask);
    sigemptyset(&defs);
    for (size_t i = 0; i < sizeof(def_signals) / sizeof(def_signals[0]); i++)
        sigaddset(&defs, def_signals[i]);
    posix_spawnattr_setsigmask(attr, &mask);
    posix_spawnattr_setsigdefault(attr, &defs);
    posix_spawnattr_setflags(attr,
                             POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
}

int pg_run(struct pg_test *t, struct pg_run *r, const char *stdin_path,
           unsigned timeout_s, const char *const *args)
{
    char **argv;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    pid_t pid;
    int status;
    int rc;
    double start;
    double deadline;
    unsigned limit = pg_test_scaled(timeout_s ? timeout_s : DEFAULT_TIMEOUT);
    unsigned nap = 1;
    char *cmd;
    char eb[128];

    memset(r, 0, sizeof(*r));
    r->code = -1;
    t->runs++;
    snprintf(r->out_path, sizeof(r->out_path), "%s/run%u.stdout", t->dir,
             t->runs);
    snprintf(r->err_path, sizeof(r->err_path), "%s/run%u.stderr", t->dir,
             t->runs);

    argv = pg_test_argv(t, args);
    cmd = pg_test_join_argv(argv);
    if (env_flag("PG_TEST_VERBOSE"))
        fprintf(stderr, "+ %s%s%s\n", cmd, stdin_path ? " < " : "",
                stdin_path ? stdin_path : "");

    pg_spawn_prepare(t, &fa, &attr, stdin_path, r->out_path, r->err_path);

    start = now_secs();
    deadline = start + limit;
    /* posix_spawnp: a PG_TEST_WRAPPER command is looked up in PATH. */
    rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        pg_test_fail(t, "cannot run '%s': %s", argv[0],
                     errtext(rc, eb, sizeof(eb)));
    snprintf(t->last_err, sizeof(t->last_err), "%s", r->err_path);

    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            pg_test_fail(t, "waitpid: %s", errtext(errno, eb, sizeof(eb)));
        if (now_secs() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            pg_test_fail(t, "time limit of %u s exceeded (killed): %s",
                         limit, cmd);
        }
        sleep_ms(nap);
        if (nap < 20)
            nap *= 2;
    }
    r->secs = now_secs() - start;
    r->out = pg_read_file(r->out_path, &r->out_len);
    r->err = pg_read_file(r->err_path, &r->err_len);
    if (!r->out || !r->err)
        pg_test_fail(t, "cannot read the captured output of: %s", cmd);
    if (env_flag("PG_TEST_VERBOSE")) {
        fprintf(stderr, "  -> %s %d after %.2f s\n",
                WIFEXITED(status) ? "exit" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                r->secs);
        if (r->err_len)
            fprintf(stderr, "%s%s", r->err,
                    r->err[r->err_len - 1] == '\n' ? "" : "\n");
    }
    if (WIFSIGNALED(status))
        pg_test_fail(t, "killed by signal %d: %s", WTERMSIG(status), cmd);
    r->code = WEXITSTATUS(status);
    free(cmd);
    free(argv);
    return r->code;
}

void pg_run_release(struct pg_run *r)
{
    free(r->out);
    free(r->err);
    r->out = NULL;
    r->err = NULL;
}

unsigned pg_unused_port(struct pg_test *t)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unsigned port;

    if (fd < 0)
        pg_test_fail(t, "socket() failed");
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        close(fd);
        pg_test_fail(t, "cannot bind a socket on 127.0.0.1:0");
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* ------------------------------------------------------------------ */
/* Directory trees                                                     */
/* ------------------------------------------------------------------ */

void pg_strlist_add(struct pg_strlist *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = xstrdup(s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void pg_strlist_sort(struct pg_strlist *l)
{
    if (l->n)
        qsort(l->v, l->n, sizeof(*l->v), cmp_str);
}

void pg_strlist_release(struct pg_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

char *pg_strlist_join(const struct pg_strlist *l, const char *sep)
{
    size_t cap = 1;
    size_t len = 0;
    char *s;

    for (size_t i = 0; i < l->n; i++)
        cap += strlen(l->v[i]) + strlen(sep);
    s = xmalloc(cap);
    s[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        int n = snprintf(s + len, cap - len, "%s%s", i ? sep : "", l->v[i]);

        if (n > 0)
            len += (size_t)n;
    }
    return s;
}

static int list_rec(const char *root, const char *rel, struct pg_strlist *out)
{
    char *dirpath = rel[0] ? pg_strdupf("%s/%s", root, rel) : xstrdup(root);
    DIR *d = opendir(dirpath);
    struct dirent *de;
    int ret = 0;

    if (!d) {
        int e = errno;

        free(dirpath);
        errno = e;
        return (!rel[0] && e == ENOENT) ? 0 : -1;
    }
    while ((de = readdir(d))) {
        char *crel;
        char *cpath;
        struct stat st;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        crel = rel[0] ? pg_strdupf("%s/%s", rel, de->d_name)
                      : xstrdup(de->d_name);
        cpath = pg_strdupf("%s/%s", root, crel);
        if (lstat(cpath, &st) != 0) {
            ret = -1;
        } else if (S_ISDIR(st.st_mode)) {
            if (list_rec(root, crel, out) != 0)
                ret = -1;
        } else {
            char *entry = pg_strdupf("%s%s", crel,
                                     S_ISREG(st.st_mode)   ? ""
                                     : S_ISLNK(st.st_mode) ? "@"
                                                           : "?");

            pg_strlist_add(out, entry);
            free(entry);
        }
        free(cpath);
        free(crel);
    }
    closedir(d);
    free(dirpath);
    return ret;
}

int pg_tree_list(const char *root, struct pg_strlist *out)
{
    int ret = list_rec(root, "", out);

    pg_strlist_sort(out);
    return ret;
}

static int cmp_expect(const void *a, const void *b)
{
    const struct pg_expect_file *x = *(const struct pg_expect_file *const *)a;
    const struct pg_expect_file *y = *(const struct pg_expect_file *const *)b;

    return strcmp(x->path, y->path);
}

/* First differing offset of two buffers (or the shorter length). */
static size_t first_diff(const char *a, size_t alen, const char *b,
                         size_t blen)
{
    size_t n = alen < blen ? alen : blen;

    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return i;
    }
    return n;
}

void pg_tree_check(struct pg_test *t, const char *root,
                   const struct pg_expect_file *files, size_t n)
{
    struct pg_strlist have = {0};
    const struct pg_expect_file **exp;
    size_t i = 0;
    size_t j = 0;
    char eb[128];

    if (pg_tree_list(root, &have) != 0)
        pg_test_fail(t, "cannot list '%s': %s", root,
                     errtext(errno, eb, sizeof(eb)));
    exp = xmalloc(n * sizeof(*exp));
    for (size_t k = 0; k < n; k++)
        exp[k] = &files[k];
    if (n)
        qsort(exp, n, sizeof(*exp), cmp_expect);
    for (size_t k = 1; k < n; k++) {
        if (!strcmp(exp[k - 1]->path, exp[k]->path))
            pg_test_fail(t, "test bug: '%s' expected twice", exp[k]->path);
    }
    /* Walk both sorted lists. */
    while (i < have.n || j < n) {
        int c;

        if (i == have.n)
            c = 1;
        else if (j == n)
            c = -1;
        else
            c = strcmp(have.v[i], exp[j]->path);
        if (c < 0) {
            pg_test_fail(t, "unexpected file '%s/%s' (%zu files found, %zu "
                         "expected)", root, have.v[i], have.n, n);
        } else if (c > 0) {
            pg_test_fail(t, "missing file '%s/%s' (%zu files found, %zu "
                         "expected)", root, exp[j]->path, have.n, n);
        } else {
            char *path = pg_strdupf("%s/%s", root, exp[j]->path);
            size_t len;
            char *data = pg_read_file(path, &len);

            if (!data)
                pg_test_fail(t, "cannot read '%s': %s", path,
                             errtext(errno, eb, sizeof(eb)));
            if (len != exp[j]->len ||
                memcmp(data, exp[j]->data, len) != 0)
                pg_test_fail(t, "content of '%s' differs: %zu bytes, "
                             "expected %zu, first difference at offset %zu",
                             path, len, exp[j]->len,
                             first_diff(data, len, exp[j]->data,
                                        exp[j]->len));
            free(data);
            free(path);
            i++;
            j++;
        }
    }
    free(exp);
    pg_strlist_release(&have);
}

int pg_tree_equal(const char *a, const char *b, char *why, size_t whylen)
{
    struct pg_strlist la = {0};
    struct pg_strlist lb = {0};
    int ret = 0;
    size_t i;

    if (pg_tree_list(a, &la) != 0 || pg_tree_list(b, &lb) != 0) {
        snprintf(why, whylen, "cannot list '%s' or '%s'", a, b);
        goto out;
    }
    for (i = 0; i < la.n && i < lb.n; i++) {
        if (strcmp(la.v[i], lb.v[i]) != 0) {
            snprintf(why, whylen, "'%s' in '%s' vs '%s' in '%s'", la.v[i],
                     a, lb.v[i], b);
            goto out;
        }
    }
    if (la.n != lb.n) {
        snprintf(why, whylen, "'%s' has %zu files, '%s' has %zu (first "
                 "extra: '%s')", a, la.n, b, lb.n,
                 la.n > lb.n ? la.v[i] : lb.v[i]);
        goto out;
    }
    for (i = 0; i < la.n; i++) {
        char *pa;
        char *pb;
        char *da = NULL;
        char *db = NULL;
        size_t na = 0;
        size_t nb = 0;
        int same;

        if (pg_str_has_suffix(la.v[i], "?"))
            continue;
        if (pg_str_has_suffix(la.v[i], "@")) {
            char ta[PATH_MAX];
            char tb[PATH_MAX];
            ssize_t ra;
            ssize_t rb;
            size_t l = strlen(la.v[i]) - 1;

            pa = pg_strdupf("%s/%.*s", a, (int)l, la.v[i]);
            pb = pg_strdupf("%s/%.*s", b, (int)l, la.v[i]);
            ra = readlink(pa, ta, sizeof(ta) - 1);
            rb = readlink(pb, tb, sizeof(tb) - 1);
            same = ra >= 0 && rb == ra && !memcmp(ta, tb, (size_t)ra);
        } else {
            pa = pg_strdupf("%s/%s", a, la.v[i]);
            pb = pg_strdupf("%s/%s", b, la.v[i]);
            da = pg_read_file(pa, &na);
            db = pg_read_file(pb, &nb);
            same = da && db && na == nb && !memcmp(da, db, na);
        }
        if (!same)
            snprintf(why, whylen, "'%s' and '%s' differ (%zu vs %zu bytes)",
                     pa, pb, na, nb);
        free(da);
        free(db);
        free(pa);
        free(pb);
        if (!same)
            goto out;
    }
    ret = 1;
out:
    pg_strlist_release(&la);
    pg_strlist_release(&lb);
    return ret;
}

void pg_check_no_temp_files(struct pg_test *t, const char *root)
{
    struct pg_strlist l = {0};

    pg_tree_list(root, &l);
    for (size_t i = 0; i < l.n; i++) {
        const char *base = strrchr(l.v[i], '/');

        base = base ? base + 1 : l.v[i];
        if (pg_str_has_prefix(base, ".pagegrab-") && strstr(base, ".part"))
            pg_test_fail(t, "temporary file left behind: '%s/%s'", root,
                         l.v[i]);
    }
    pg_strlist_release(&l);
}

/* ------------------------------------------------------------------ */
/* Manifests                                                           */
/* ------------------------------------------------------------------ */

static void record_release(struct pg_record *r)
{
    for (size_t i = 0; i < r->n; i++)
        pg_json_release(&r->f[i]);
    free(r->f);
    r->f = NULL;
    r->n = 0;
}

/* Parse one manifest line (without its newline) into r: one object of
 * flat values. */
static int record_parse(const char *s, size_t n, struct pg_record *r,
                        char *err, size_t errlen)
{
    struct pg_json_field v;
    size_t lead = strspn(s, " \t\r");

    if (lead >= n || s[lead] != '{') {
        snprintf(err, errlen, "column %zu: '{' expected", lead + 1);
        return -1;
    }
    if (pg_json_parse(s, n, &v, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < v.n; i++) {
        if (v.f[i].type == PG_JSON_ARRAY || v.f[i].type == PG_JSON_OBJECT) {
            snprintf(err, errlen, "'%s': nested values are not expected in "
                     "a manifest", v.f[i].key);
            pg_json_release(&v);
            return -1;
        }
    }
    r->f = v.f;
    r->n = v.n;
    return 0;
}

int pg_manifest_load(const char *path, struct pg_manifest *m, char *err,
                     size_t errlen)
{
    size_t len;
    char *data = pg_read_file(path, &len);
    size_t pos = 0;
    size_t lineno = 0;
    size_t cap = 0;
    char eb[128];

    memset(m, 0, sizeof(*m));
    if (!data) {
        snprintf(err, errlen, "cannot read manifest '%s': %s", path,
                 errtext(errno, eb, sizeof(eb)));
        return -1;
    }
    if (memchr(data, '\0', len)) {
        snprintf(err, errlen, "manifest '%s' contains a NUL byte", path);
        goto fail;
    }
    if (len && data[len - 1] != '\n') {
        snprintf(err, errlen, "manifest '%s': the last line has no "
                 "newline (incomplete record?)", path);
        goto fail;
    }
    while (pos < len) {
        char *eol = memchr(data + pos, '\n', len - pos);
        struct pg_record r;

        lineno++;
        memset(&r, 0, sizeof(r));
        r.lineno = lineno;
        if (record_parse(data + pos, (size_t)(eol - (data + pos)), &r, err,
                         errlen) != 0) {
            char tmp[512];

            snprintf(tmp, sizeof(tmp), "%s", err);
            snprintf(err, errlen, "manifest '%s': line %zu, %s", path, lineno,
                     tmp);
            goto fail;
        }
        if (m->n == cap) {
            cap = cap ? cap * 2 : 64;
            m->rec = xrealloc(m->rec, cap * sizeof(*m->rec));
        }
        m->rec[m->n++] = r;
        pos = (size_t)(eol - data) + 1;
    }
    free(data);
    return 0;
fail:
    free(data);
    pg_manifest_release(m);
    return -1;
}

void pg_manifest_must_load(struct pg_test *t, const char *path,
                           struct pg_manifest *m)
{
    char err[1024];

    if (pg_manifest_load(path, m, err, sizeof(err)) != 0)
        pg_test_fail(t, "%s", err);
}

void pg_manifest_release(struct pg_manifest *m)
{
    for (size_t i = 0; i < m->n; i++)
        record_release(&m->rec[i]);
    free(m->rec);
    memset(m, 0, sizeof(*m));
}

const struct pg_json_field *pg_record_get(const struct pg_record *r,
                                          const char *key)
{
    for (size_t i = 0; i < r->n; i++) {
        if (!strcmp(r->f[i].key, key))
            return &r->f[i];
    }
    return NULL;
}

const char *pg_record_str(const struct pg_record *r, const char *key)
{
    const struct pg_json_field *f = pg_record_get(r, key);

    return f && f->type == PG_JSON_STRING ? f->str : NULL;
}

long long pg_record_int(const struct pg_record *r, const char *key,
                        long long def)
{
    const struct pg_json_field *f = pg_record_get(r, key);

    return f && f->type == PG_JSON_NUMBER && f->is_int ? f->ival : def;
}

int pg_record_is_null(const struct pg_record *r, const char *key)
{
    const struct pg_json_field *f = pg_record_get(r, key);

    return f && f->type == PG_JSON_NULL;
}


char *pg_record_text(const struct pg_record *r)
{
    struct pg_json_field obj = {.type = PG_JSON_OBJECT, .f = r->f, .n = r->n};

    return pg_json_text(&obj);
}

static int cmp_record(const void *a, const void *b)
{
    const struct pg_record *x = a;
    const struct pg_record *y = b;
    const char *ux = pg_record_str(x, "url");
    const char *uy = pg_record_str(y, "url");
    long long lx = pg_record_int(x, "line", -1);
    long long ly = pg_record_int(y, "line", -1);
    int c = strcmp(ux ? ux : "", uy ? uy : "");
    char *tx;
    char *ty;

    if (c)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    tx = pg_record_text(x);
    ty = pg_record_text(y);
    c = strcmp(tx, ty);
    free(tx);
    free(ty);
    return c;
}

void pg_manifest_sort(struct pg_manifest *m)
{
    if (m->n)
        qsort(m->rec, m->n, sizeof(*m->rec), cmp_record);
}

const struct pg_record *pg_manifest_find(const struct pg_manifest *m,
                                         const char *url)
{
    for (size_t i = 0; i < m->n; i++) {
        if (pg_str_eq(pg_record_str(&m->rec[i], "url"), url))
            return &m->rec[i];
    }
    return NULL;
}

/*
 * Every record now carries the issue 3 keys (kind, depth, referrer,
 * links, hash, duplicate_of), so the base check is the full one.
 */
int pg_record_check_schema(const struct pg_record *r, char *why,
                           size_t whylen)
{
    return pg_record_check_crawl_schema(r, why, whylen);
}

/* The issue 3 ("images and crawling") record: the base keys, then six. */
int pg_record_check_crawl_schema(const struct pg_record *r, char *why,
                                 size_t whylen)
{
    /* Type masks: S string, I integer, N any number, Z null. */
    enum { S = 1, I = 2, N = 4, Z = 8 };
    static const struct {
        const char *key;
        int types;
    } schema[] = {
        {"url", S},          {"line", I},          {"status", S},
        {"http_code", I},    {"bytes", I},         {"content_type", S | Z},
        {"path", S | Z},     {"final_url", S | Z}, {"attempts", I},
        {"time_ms", N},      {"error", S | Z},     {"kind", S},
        {"depth", I},        {"referrer", S | Z},  {"links", I},
        {"hash", S | Z},     {"duplicate_of", S | Z},
        {"http_version", S | Z},
        {"etag", S | Z},     {"last_modified", S | Z},
    };
    static const char *const statuses[] = {
        "ok",          "exists",        "http-error", "network-error",
        "redirect-error", "invalid-url", "save-error", "filtered",
        "robots",      "listed",        "too-large",  "skipped",
        "interrupted", "worker-crash",  "type-mismatch", "blocked",
        "other-shard", "unchanged",     "changed",    "gone",
    };
    static const char *const kinds[] = {"file", "page", "image", "css"};
    static const char *const versions[] = {"1.0", "1.1", "2", "3"};
    const char *version;
    const size_t nkeys = sizeof(schema) / sizeof(schema[0]);
    const char *status;
    const char *kind;
    const char *hash;
    int known = 0;

    for (size_t i = 0; i < nkeys; i++) {
        const struct pg_json_field *f;
        int ok;

        if (i >= r->n) {
            snprintf(why, whylen, "key '%s' missing (record has %zu keys)",
                     schema[i].key, r->n);
            return 0;
        }
        f = &r->f[i];
        if (strcmp(f->key, schema[i].key) != 0) {
            snprintf(why, whylen, "key %zu is '%s', expected '%s'", i + 1,
                     f->key, schema[i].key);
            return 0;
        }
        ok = (f->type == PG_JSON_STRING && (schema[i].types & S)) ||
             (f->type == PG_JSON_NULL && (schema[i].types & Z)) ||
             (f->type == PG_JSON_NUMBER && (schema[i].types & N)) ||
             (f->type == PG_JSON_NUMBER && f->is_int &&
              (schema[i].types & I));
        if (!ok) {
            snprintf(why, whylen, "key '%s' has the wrong type",
                     schema[i].key);
            return 0;
        }
    }
    /* A record cut to fit its size cap ends with "<key>_truncated":true
     * for each string key that was cut; a page whose links a parsing
     * limit cut ends with "links_truncated":true (issue 9). */
    for (size_t i = nkeys; i < r->n; i++) {
        const struct pg_json_field *f = &r->f[i];
        size_t k = strlen(f->key);
        int cut_key = !strcmp(f->key, "links_truncated") && i == r->n - 1;

        /* --exec (issue 13): "exec_pending":true, or the hook's end. */
        if ((!strcmp(f->key, "exec_pending") && f->type == PG_JSON_BOOL) ||
            (!strcmp(f->key, "exec_status") && f->is_int) ||
            (!strcmp(f->key, "exec_ms") && f->type == PG_JSON_NUMBER))
            continue;

        for (size_t j = 0; j < nkeys; j++) {
            size_t kj = strlen(schema[j].key);

            cut_key |= (schema[j].types & S) && k == kj + 10 &&
                       !strncmp(f->key, schema[j].key, kj) &&
                       !strcmp(f->key + kj, "_truncated");
        }
        if (!cut_key || f->type != PG_JSON_BOOL || strcmp(f->raw, "true")) {
            snprintf(why, whylen, "unexpected key '%s'", f->key);
            return 0;
        }
    }
    status = pg_record_str(r, "status");
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        known |= !strcmp(status, statuses[i]);
    if (!known) {
        snprintf(why, whylen, "unknown status '%s'", status);
        return 0;
    }
    version = pg_record_str(r, "http_version");
    known = !version;
    for (size_t i = 0; version && i < 4; i++)
        known |= !strcmp(version, versions[i]);
    if (!known) {
        snprintf(why, whylen, "unknown http_version '%s'", version);
        return 0;
    }
    kind = pg_record_str(r, "kind");
    known = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        known |= !strcmp(kind, kinds[i]);
    if (!known) {
        snprintf(why, whylen, "unknown kind '%s'", kind);
        return 0;
    }
    if (pg_record_int(r, "depth", -1) < 0 ||
        pg_record_int(r, "links", -1) < 0) {
        snprintf(why, whylen, "negative depth or links");
        return 0;
    }
    hash = pg_record_str(r, "hash");
    if (hash) {
        size_t len = strlen(hash);

        for (size_t i = 0; i < len; i++) {
            if (!strchr("0123456789abcdef", hash[i]))
                len = 0;
        }
        if (len != 64) {
            snprintf(why, whylen, "hash '%s' is not 64 lowercase hex digits",
                     hash);
            return 0;
        }
    }
    return 1;
}

static int field_equal(const struct pg_json_field *a,
                       const struct pg_json_field *b)
{
    if (strcmp(a->key, b->key) != 0 || a->type != b->type)
        return 0;
    switch (a->type) {
    case PG_JSON_NULL:
        return 1;
    case PG_JSON_STRING:
        return a->str_len == b->str_len &&
               !memcmp(a->str, b->str, a->str_len);
    case PG_JSON_NUMBER:
    case PG_JSON_BOOL:
        return !strcmp(a->raw, b->raw);
    case PG_JSON_ARRAY:
    case PG_JSON_OBJECT:
        break;               /* never in a manifest record */
    }
    return 0;
}

int pg_manifest_equal(const struct pg_manifest *a, const struct pg_manifest *b,
                      const char *ignore, char *why, size_t whylen)
{
    if (a->n != b->n) {
        snprintf(why, whylen, "%zu records vs %zu", a->n, b->n);
        return 0;
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct pg_record *x = &a->rec[i];
        const struct pg_record *y = &b->rec[i];
        size_t ix = 0;
        size_t iy = 0;

        for (;;) {
            if (ix < x->n && ignore && !strcmp(x->f[ix].key, ignore)) {
                ix++;
                continue;
            }
            if (iy < y->n && ignore && !strcmp(y->f[iy].key, ignore)) {
                iy++;
                continue;
            }
            if (ix == x->n || iy == y->n)
                break;
            if (!field_equal(&x->f[ix], &y->f[iy]))
                break;
            ix++;
            iy++;
        }
        if (ix != x->n || iy != y->n) {
            char *tx = pg_record_text(x);
            char *ty = pg_record_text(y);

            snprintf(why, whylen, "record %zu differs: %s vs %s", i + 1,
                     tx, ty);
            free(tx);
            free(ty);
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* The runner                                                          */
/* ------------------------------------------------------------------ */

enum outcome {
    OUT_PASS,
    OUT_FAIL,
    OUT_SKIP
};

static unsigned parse_modes(void)
{
    const char *v = getenv("PG_TEST_MODES");
    unsigned modes = 0;
    const char *p;

    if (!v || !*v)
        return PG_MODE_THREAD | PG_MODE_PROCESS;
    p = v;
    while (*p) {
        size_t len = strcspn(p, ", ");

        if (len == 6 && !strncmp(p, "thread", 6))
            modes |= PG_MODE_THREAD;
        else if (len == 7 && !strncmp(p, "process", 7))
            modes |= PG_MODE_PROCESS;
        else if (len)
            fprintf(stderr, "PG_TEST_MODES: unknown mode '%.*s'\n",
                    (int)len, p);
        p += len;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return modes;
}

/* Read what the child reported (non-blocking; the child is gone). */
static void read_report(int fd, char *buf, size_t len)
{
    size_t n = 0;

    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    while (n + 1 < len) {
        ssize_t r = read(fd, buf + n, len - n - 1);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n')
            buf[i] = ' ';
    }
}

static enum outcome run_one(const struct pg_test_case *c, const char *mode,
                            unsigned modes, const char *bin)
{
    struct pg_test t;
    char name[256];
    char reason[2100];
    const char *tmp = getenv("TMPDIR");
    unsigned limit = pg_test_scaled(c->timeout_s ? c->timeout_s
                                                 : DEFAULT_TIMEOUT);
    double deadline;
    int fds[2];
    int status = 0;
    int timed_out = 0;
    int leftovers = 0;
    pid_t pid;
    enum outcome res;
    char eb[128];

    snprintf(name, sizeof(name), "%s%s%s%s", c->name, mode ? "[" : "",
             mode ? mode : "", mode ? "]" : "");
    memset(&t, 0, sizeof(t));
    t.name = name;
    t.mode = mode;
    t.modes = modes;
    t.bin = bin;
    snprintf(t.dir, sizeof(t.dir), "%s/pagegrab-test-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t.dir)) {
        printf("FAIL %s: cannot create a temp dir: %s\n", name,
               errtext(errno, eb, sizeof(eb)));
        return OUT_FAIL;
    }
    if (pipe(fds) != 0) {
        printf("FAIL %s: pipe: %s\n", name, errtext(errno, eb, sizeof(eb)));
        pg_remove_tree(t.dir);
        return OUT_FAIL;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        printf("FAIL %s: fork: %s\n", name, errtext(errno, eb, sizeof(eb)));
        close(fds[0]);
        close(fds[1]);
        pg_remove_tree(t.dir);
        return OUT_FAIL;
    }
    if (pid == 0) {
        setpgid(0, 0);
        close(fds[0]);
        t.report_fd = fds[1];
        alarm(limit);
        if (chdir(t.dir) != 0)
            pg_test_fail(&t, "cannot enter '%s'", t.dir);
        c->fn(&t);
        fflush(stdout);
        fflush(stderr);
        _exit(0);
    }
    setpgid(pid, pid);
    close(fds[1]);

    deadline = now_secs() + limit + RUNNER_GRACE;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            status = 0;
            break;
        }
        if (now_secs() >= deadline) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            break;
        }
        sleep_ms(10);
    }
    read_report(fds[0], reason, sizeof(reason));
    close(fds[0]);

    /* Anything still alive in the test's process group was left behind
     * by the program under test (e.g. a worker outliving its parent). */
    for (unsigned waited = 0; kill(-pid, 0) == 0; waited += 20) {
        if (waited >= LEFTOVER_GRACE_MS) {
            leftovers = 1;
            kill(-pid, SIGKILL);
            break;
        }
        sleep_ms(20);
    }

    if (timed_out || (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)) {
        printf("FAIL %s: time limit of %u s exceeded\n", name, limit);
        res = OUT_FAIL;
    } else if (WIFSIGNALED(status)) {
        printf("FAIL %s: test process killed by signal %d\n", name,
               WTERMSIG(status));
        res = OUT_FAIL;
    } else if (WEXITSTATUS(status) == 77) {
        printf("SKIP %s: %s\n", name, reason);
        res = OUT_SKIP;
    } else if (WEXITSTATUS(status) != 0) {
        printf("FAIL %s: %s\n", name,
               reason[0] ? reason : "exited without a reason");
        res = OUT_FAIL;
    } else if (leftovers) {
        printf("FAIL %s: processes were left running after the test "
               "(killed)\n", name);
        res = OUT_FAIL;
    } else {
        printf("PASS %s\n", name);
        res = OUT_PASS;
    }
    fflush(stdout);
    if (res == OUT_FAIL && env_flag("PG_TEST_KEEP"))
        fprintf(stderr, "kept the temp dir of %s: %s\n", name, t.dir);
    else if (pg_remove_tree(t.dir) != 0)
        fprintf(stderr, "warning: cannot remove '%s' completely\n", t.dir);
    return res;
}

static int selected(const char *name, int argc, char **argv, int first)
{
    if (first >= argc)
        return 1;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], name))
            return 1;
    }
    return 0;
}

static char *find_binary(void)
{
    const char *env = getenv("PAGEGRAB_BIN");
    const char *build = getenv("PG_BUILD_DIR");
    char *cand;
    char *abs;

    if (env && *env)
        cand = xstrdup(env);
    else if (build && *build)
        cand = pg_strdupf("%s/pagegrab", build);
    else
        cand = xstrdup("build/pagegrab");
    if (cand[0] != '/') {
        char cwd[PATH_MAX];

        if (getcwd(cwd, sizeof(cwd))) {
            abs = pg_strdupf("%s/%s", cwd, cand);
            free(cand);
            cand = abs;
        }
    }
    return cand;
}

int pg_test_main(int argc, char **argv, const struct pg_test_case *cases,
                 size_t n)
{
    unsigned modes = parse_modes();
    unsigned passed = 0;
    unsigned failed = 0;
    unsigned skipped = 0;
    char *bin;
    int skip_all;
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (argc > 1 && !strcmp(argv[1], "-l")) {
        for (size_t i = 0; i < n; i++)
            printf("%s%s\n", cases[i].name,
                   cases[i].flags & PG_TEST_PER_MODE ? " (per mode)" : "");
        return 0;
    }
    if (!modes) {
        fprintf(stderr, "PG_TEST_MODES selects no mode\n");
        printf("0 passed, 1 failed\n");
        return 1;
    }
    bin = find_binary();
    skip_all = access(bin, X_OK) != 0;
    for (size_t i = 0; i < n; i++) {
        const struct pg_test_case *c = &cases[i];
        static const struct {
            unsigned bit;
            const char *name;
        } mode_list[] = {
            {PG_MODE_THREAD, "thread"},
            {PG_MODE_PROCESS, "process"},
        };

        if (!selected(c->name, argc, argv, 1))
            continue;
        for (size_t m = 0; m < 2; m++) {
            const char *mode = NULL;
            enum outcome res;

            if (c->flags & PG_TEST_PER_MODE) {
                if (!(modes & mode_list[m].bit))
                    continue;
                mode = mode_list[m].name;
            } else if (m > 0) {
                break;
            }
            if (skip_all && !(c->flags & PG_TEST_NO_BINARY)) {
                printf("SKIP %s%s%s%s: pagegrab binary '%s' not found\n",
                       c->name, mode ? "[" : "", mode ? mode : "",
                       mode ? "]" : "", bin);
                res = OUT_SKIP;
            } else {
                res = run_one(c, mode, modes, bin);
            }
            if (res == OUT_PASS)
                passed++;
            else if (res == OUT_FAIL)
                failed++;
            else
                skipped++;
        }
    }
    free(bin);
    if (skipped)
        printf("%u passed, %u failed, %u skipped\n", passed, failed,
               skipped);
    else
        printf("%u passed, %u failed\n", passed, failed);
    fflush(stdout);
    if (failed)
        return 1;
    if (skipped && !passed)
        return 77;
    return 0;
}

/* ------------------------------------------------------------------ */
/* SHA-256 (FIPS 180-4), for checking the manifest's hashes            */
/* ------------------------------------------------------------------ */

static uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
        0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
        0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
        0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
        0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
        0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
        0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
        0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
        0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
        0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    };
    uint32_t w[64];
    uint32_t v[8];

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^
                      (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^
                      (w[i - 2] >> 10);

        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(v, h, sizeof(v));
    for (int i = 0; i < 64; i++) {
        uint32_t s1 = ror32(v[4], 6) ^ ror32(v[4], 11) ^ ror32(v[4], 25);
        uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
        uint32_t t1 = v[7] + s1 + ch + k[i] + w[i];
        uint32_t s0 = ror32(v[0], 2) ^ ror32(v[0], 13) ^ ror32(v[0], 22);
        uint32_t mj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
        uint32_t t2 = s0 + mj;

        v[7] = v[6];
        v[6] = v[5];
        v[5] = v[4];
        v[4] = v[3] + t1;
        v[3] = v[2];
        v[2] = v[1];
        v[1] = v[0];
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        h[i] += v[i];
}

void pg_sha256(const void *data, size_t len, unsigned char out[32])
{
    uint32_t h[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    const unsigned char *p = data;
    unsigned char tail[128];
    size_t rest = len % 64;
    size_t tlen = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;

    for (size_t off = 0; off + 64 <= len; off += 64)
        sha256_block(h, p + off);
    memset(tail, 0, sizeof(tail));
    if (rest)
        memcpy(tail, p + len - rest, rest);
    tail[rest] = 0x80;
    for (int i = 0; i < 8; i++)
        tail[tlen - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha256_block(h, tail);
    if (tlen == 128)
        sha256_block(h, tail + 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

char *pg_sha256_hex(const void *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char d[32];
    char *s = xmalloc(65);

    pg_sha256(data, len, d);
    for (int i = 0; i < 32; i++) {
        s[2 * i] = hex[d[i] >> 4];
        s[2 * i + 1] = hex[d[i] & 15];
    }
    s[64] = '\0';
    return s;
}

void pg_args_push(struct pg_args *a, ...)
{
    va_list ap;
    const char *s;

    va_start(ap, a);
    while ((s = va_arg(ap, const char *))) {
        if (a->n + 1 >= sizeof(a->v) / sizeof(a->v[0])) {
            fputs("test bug: too many arguments\n", stderr);
            abort();
        }
        a->v[a->n++] = s;
    }
    a->v[a->n] = NULL;
    va_end(ap);
}

size_t pg_manifest_check_all(struct pg_test *t, const char *path,
                             const char *status)
{
    struct pg_manifest m;
    size_t i, n;

    pg_manifest_must_load(t, path, &m);
    for (i = 0; i < m.n; i++)
        PG_CHECK_STR(t, pg_record_str(&m.rec[i], "status"), status,
                     pg_record_str(&m.rec[i], "url"));
    n = m.n;
    pg_manifest_release(&m);
    return n;
}
