/*
 * test_names.c - integration tests for file names (issue 9, defects 1,
 * 2 and 3): a name is never given to two different URLs, in one run
 * (URLs whose hashes fold alike) or across runs (--resume, with and
 * without --overwrite), and --dedup never links through a directory
 * symlink planted in the output directory after the first save; and
 * (issue 14) the directory fds the saver keeps are never written
 * through once their directory was renamed or replaced by a symlink.
 *
 * The query test needs a server that answers each query with its own
 * body, so this file starts a small libmicrohttpd server of its own.
 */
#include "fault.h"
#include "server.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define END ((const char *)NULL)

/* ------------------------------------------------------------------ */
/* A server answering "/x.jpg?id=N" with "body of N"                   */
/* ------------------------------------------------------------------ */

static enum MHD_Result echo_id(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_len, void **state)
{
    const char *id = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                 "id");
    char body[64];
    struct MHD_Response *r;
    enum MHD_Result ret;

    (void)cls;
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)state;
    if (strcmp(method, "GET") || strcmp(url, "/x.jpg") || !id)
        snprintf(body, sizeof(body), "no");
    else
        snprintf(body, sizeof(body), "body of %.20s", id);
    r = MHD_create_response_from_buffer(strlen(body), body,
                                        MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "image/jpeg");
    ret = MHD_queue_response(c, strcmp(body, "no") ? 200 : 404, r);
    MHD_destroy_response(r);
    return ret;
}

static struct MHD_Daemon *echo_start(struct pg_test *t, unsigned *port)
{
    struct sockaddr_in sa;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
                         MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
                         echo_id, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                         MHD_OPTION_END);
    if (!d)
        pg_test_fail(t, "cannot start the echo server");
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : 0;
    if (!*port) {
        MHD_stop_daemon(d);
        pg_test_fail(t, "cannot read the echo server's port");
    }
    return d;
}

/* FNV-1a 64, as pagegrab hashes a URL (src/url.c pg__hash64). */
static uint64_t fnv64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 0x100000001b3ULL;
    }
    return h;
}

struct fold {
    uint32_t fold;
    uint32_t id;
};

static int fold_cmp(const void *a, const void *b)
{
    const struct fold *x = a, *y = b;

    return x->fold < y->fold ? -1 : x->fold > y->fold;
}

/*
 * Two ids whose URLs "http://127.0.0.1:PORT/x.jpg?id=N" have 64-bit
 * hashes folding to the same 32 bits (the old tag and the old name set
 * value).  A birthday search: about 100,000 URLs are enough.
 */
static void find_fold_collision(struct pg_test *t, unsigned port,
                                unsigned *a, unsigned *b)
{
    size_t n = 400000, i;
    struct fold *f = malloc(n * sizeof(*f));
    char url[96];

    if (!f)
        pg_test_fail(t, "out of memory");
    for (i = 0; i < n; i++) {
        uint64_t h;

        snprintf(url, sizeof(url), "http://127.0.0.1:%u/x.jpg?id=%zu",
                 port, i);
        h = fnv64(url);
        f[i].fold = (uint32_t)(h ^ (h >> 32));
        f[i].id = (uint32_t)i;
    }
    qsort(f, n, sizeof(*f), fold_cmp);
    for (i = 1; i < n; i++) {
        if (f[i].fold == f[i - 1].fold) {
            *a = f[i - 1].id;
            *b = f[i].id;
            free(f);
            return;
        }
    }
    free(f);
    pg_test_skip(t, "no fold collision among %zu URLs", n);
}

/* The record of url must be ok, saved under its own file holding body. */
static const char *check_saved(struct pg_test *t, const char *out,
                               const struct pg_manifest *m, const char *url,
                               const char *body)
{
    const struct pg_record *r = pg_manifest_find(m, url);
    const char *path;
    char *file, *got;
    size_t len;

    PG_CHECK(t, r, "no record for '%s'", url);
    PG_CHECK_STR(t, pg_record_str(r, "status"), "ok", url);
    path = pg_record_str(r, "path");
    PG_CHECK(t, path, "'%s' has no path", url);
    file = pg_strdupf("%s/%s", out, path);
    got = pg_read_file(file, &len);
    PG_CHECK(t, got, "cannot read '%s'", file);
    PG_CHECK(t, len == strlen(body) && !memcmp(got, body, len),
             "'%s' holds '%s', want '%s'", file, got, body);
    free(got);
    free(file);
    return path;
}

/* Defect 1: URLs whose hashes fold alike get two names, two bodies. */
static void test_fold_collision(struct pg_test *t)
{
    unsigned port, a, b;
    struct MHD_Daemon *d = echo_start(t, &port);
    char *out = pg_path(t, "out"), *man = pg_path(t, "m.jsonl");
    char *ua, *ub, *ba, *bb;
    const char *pa, *pb;
    struct pg_manifest m;
    struct pg_run r;
    struct pg_args av = { .n = 0 };

    find_fold_collision(t, port, &a, &b);
    ua = pg_strdupf("http://127.0.0.1:%u/x.jpg?id=%u", port, a);
    ub = pg_strdupf("http://127.0.0.1:%u/x.jpg?id=%u", port, b);
    ba = pg_strdupf("body of %u", a);
    bb = pg_strdupf("body of %u", b);
    pg_args_push(&av, "--mode", t->mode, "-j", "2", "-q", "-o", out,
              "--manifest", man, ua, ub, END);
    pg_run(t, &r, NULL, 60, av.v);
    MHD_stop_daemon(d);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    pg_manifest_must_load(t, man, &m);
    pa = check_saved(t, out, &m, ua, ba);
    pb = check_saved(t, out, &m, ub, bb);
    PG_CHECK(t, strcmp(pa, pb), "'%s' and '%s' share '%s'", ua, ub, pa);
    pg_manifest_release(&m);
    pg_run_release(&r);
    free(ua);
    free(ub);
    free(ba);
    free(bb);
    free(out);
    free(man);
}

/* ------------------------------------------------------------------ */
/* Defect 2: --resume rebuilds the names of the old run                */
/* ------------------------------------------------------------------ */

static const char body_a[] = "the body of a/x.jpg";
static const char body_b[] = "the body of b/x.jpg, longer";

static void resume_case(struct pg_test *t, int overwrite)
{
    static const struct pg_test_route routes[] = {
        { .path = "/a/x.jpg", .body = body_a, .body_len = sizeof(body_a) - 1,
          .content_type = "image/jpeg" },
        { .path = "/b/x.jpg", .body = body_b, .body_len = sizeof(body_b) - 1,
          .content_type = "image/jpeg" },
    };
    struct pg_test_server *srv = pg_test_server_start(routes, 2);
    char *out = pg_path(t, "out"), *man = pg_path(t, "m.jsonl");
    char *ua, *ub, *fx;
    const char *pb;
    struct pg_manifest m;
    struct pg_run r;
    struct pg_args a1 = { .n = 0 }, a2 = { .n = 0 };
    size_t len;
    char *got;

    if (!srv)
        pg_test_fail(t, "cannot start the test server");
    ua = pg_strdupf("http://127.0.0.1:%u/a/x.jpg", pg_test_server_port(srv));
    ub = pg_strdupf("http://127.0.0.1:%u/b/x.jpg", pg_test_server_port(srv));
    /* The first run got only as far as a (as if killed after it). */
    pg_args_push(&a1, "--mode", t->mode, "-j", "2", "-q", "--flat", "-o", out,
              "--manifest", man, ua, END);
    pg_run(t, &r, NULL, 60, a1.v);
    PG_CHECK_INT(t, r.code, 0, "exit status of the first run");
    pg_run_release(&r);
    pg_args_push(&a2, "--mode", t->mode, "-j", "2", "-q", "--flat", "-o", out,
              "--manifest", man, "--resume", ua, ub, END);
    if (overwrite)
        pg_args_push(&a2, "--overwrite", END);
    pg_run(t, &r, NULL, 60, a2.v);
    pg_test_server_stop(srv);
    PG_CHECK_INT(t, r.code, 0, "exit status of the resumed run");
    pg_manifest_must_load(t, man, &m);
    check_saved(t, out, &m, ua, body_a);
    pb = check_saved(t, out, &m, ub, body_b);
    PG_CHECK(t, strcmp(pb, "x.jpg"), "'%s' took the old run's 'x.jpg'", ub);
    fx = pg_strdupf("%s/x.jpg", out);
    got = pg_read_file(fx, &len);
    PG_CHECK(t, got && len == sizeof(body_a) - 1 &&
             !memcmp(got, body_a, len), "'%s' no longer holds a's body",
             fx);
    free(got);
    free(fx);
    pg_manifest_release(&m);
    pg_run_release(&r);
    free(ua);
    free(ub);
    free(out);
    free(man);
}

static void test_resume_names(struct pg_test *t)
{
    resume_case(t, 0);
}

static void test_resume_names_overwrite(struct pg_test *t)
{
    resume_case(t, 1);
}

/* ------------------------------------------------------------------ */
/* Defect 3: --dedup never links through a planted directory symlink   */
/* ------------------------------------------------------------------ */

static const char twin[] = "identical twin body";

static void test_dedup_symlink(struct pg_test *t)
{
    static const struct pg_test_route routes[] = {
        { .path = "/dir/a.jpg", .body = twin, .body_len = sizeof(twin) - 1,
          .content_type = "image/jpeg" },
        { .path = "/other/b.jpg", .body = twin,
          .body_len = sizeof(twin) - 1, .content_type = "image/jpeg",
          .delay_ms = 2500 },
    };
    struct pg_test_server *srv = pg_test_server_start(routes, 2);
    char *out = pg_path(t, "out"), *man = pg_path(t, "m.jsonl");
    char *outside = pg_path(t, "outside"), *secret, *hostdir, *dir, *first;
    char *ua, *ub, *moved, *fb;
    struct stat before, after, st;
    struct pg_proc p;
    struct pg_run r;
    struct pg_args av = { .n = 0 };
    int i;

    if (!srv)
        pg_test_fail(t, "cannot start the test server");
    pg_mkdirs(t, outside);
    secret = pg_strdupf("%s/a.jpg", outside);
    pg_write_file(t, secret, "outside", 7);
    PG_CHECK(t, stat(secret, &before) == 0, "stat '%s'", secret);
    hostdir = pg_strdupf("%s/127.0.0.1:%u", out, pg_test_server_port(srv));
    dir = pg_strdupf("%s/dir", hostdir);
    first = pg_strdupf("%s/a.jpg", dir);
    moved = pg_strdupf("%s/dir.moved", hostdir);
    ua = pg_strdupf("http://127.0.0.1:%u/dir/a.jpg",
                    pg_test_server_port(srv));
    ub = pg_strdupf("http://127.0.0.1:%u/other/b.jpg",
                    pg_test_server_port(srv));
    pg_args_push(&av, "--mode", t->mode, "-j", "2", "-q", "--dedup", "-o", out,
              "--manifest", man, ua, ub, END);
    pg_proc_start(t, &p, NULL, 0, av.v);
    /* Once a is saved (b is still on its way), swap its directory. */
    for (i = 0; i < 2000 && stat(first, &st) != 0; i++)
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    PG_CHECK(t, i < 2000, "'%s' never appeared", first);
    PG_CHECK(t, rename(dir, moved) == 0 && symlink(outside, dir) == 0,
             "cannot plant the symlink at '%s'", dir);
    pg_proc_wait(t, &p, 60, 0, &r);
    pg_test_server_stop(srv);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    PG_CHECK(t, stat(secret, &after) == 0, "stat '%s'", secret);
    PG_CHECK_INT(t, after.st_nlink, before.st_nlink,
                 "links of the file outside the output directory");
    fb = pg_strdupf("%s/other/b.jpg", hostdir);
    PG_CHECK(t, lstat(fb, &st) == 0 && S_ISREG(st.st_mode), "no '%s'",
             fb);
    PG_CHECK(t, st.st_ino != after.st_ino, "'%s' is the outside file", fb);
    pg_run_release(&r);
    free(fb);
    free(secret);
    free(hostdir);
    free(dir);
    free(first);
    free(moved);
    free(ua);
    free(ub);
    free(outside);
    free(out);
    free(man);
}

/* ------------------------------------------------------------------ */
/* Issue 14: the saver's cached directory fds are never written       */
/* through once their path changed                                    */
/* ------------------------------------------------------------------ */

enum swap { SWAP_RENAME, SWAP_DIR_LINK, SWAP_HOST_LINK };

static int is_file(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * a.jpg is saved in out/HOST/dir/ (its directory fd kept); while b.jpg
 * (same directory) is on its way, the test renames out/HOST/dir, or
 * replaces it (or out/HOST) with a symlink to a directory outside out/.
 * b.jpg must land inside out/, in a directory its path names now.
 */
static void dircache_case(struct pg_test *t, enum swap how)
{
    static const struct pg_test_route routes[] = {
        { .path = "/dir/a.jpg", .body = "AAAA", .body_len = 4,
          .content_type = "image/jpeg" },
        { .path = "/dir/b.jpg", .body = "BBBB", .body_len = 4,
          .content_type = "image/jpeg", .delay_ms = 2500 },
    };
    struct pg_test_server *srv = pg_test_server_start(routes, 2);
    char *out = pg_path(t, "out"), *man = pg_path(t, "m.jsonl");
    char *outside = pg_path(t, "outside"), *host, *hostdir, *dir, *first;
    char *ua, *ub, *want, *moved, *escaped, *in_moved;
    struct stat st;
    struct pg_proc p;
    struct pg_run r;
    struct pg_args av = { .n = 0 };
    int i, swapped;

    if (!srv)
        pg_test_fail(t, "cannot start the test server");
    pg_mkdirs(t, outside);
    host = pg_strdupf("127.0.0.1:%u", pg_test_server_port(srv));
    hostdir = pg_strdupf("%s/%s", out, host);
    dir = pg_strdupf("%s/dir", hostdir);
    first = pg_strdupf("%s/a.jpg", dir);
    ua = pg_strdupf("http://127.0.0.1:%u/dir/a.jpg",
                    pg_test_server_port(srv));
    ub = pg_strdupf("http://127.0.0.1:%u/dir/b.jpg",
                    pg_test_server_port(srv));
    pg_args_push(&av, "--mode", t->mode, "-j", "2", "-q", "-o", out,
                 "--manifest", man, ua, ub, END);
    pg_proc_start(t, &p, NULL, 0, av.v);
    for (i = 0; i < 2000 && stat(first, &st) != 0; i++)
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    PG_CHECK(t, i < 2000, "'%s' never appeared", first);
    if (how == SWAP_RENAME) {
        moved = pg_strdupf("%s/dir.moved", hostdir);
        swapped = rename(dir, moved) == 0;
        in_moved = pg_strdupf("%s/b.jpg", moved);
        escaped = pg_strdupf("%s/b.jpg", outside);
        want = pg_strdupf("%s/b.jpg", dir);
    } else if (how == SWAP_DIR_LINK) {
        moved = pg_strdupf("%s/dir.moved", hostdir);
        swapped = rename(dir, moved) == 0 && symlink(outside, dir) == 0;
        in_moved = pg_strdupf("%s/b.jpg", moved);
        escaped = pg_strdupf("%s/b.jpg", outside);
        want = pg_strdupf("%s/dir.d/b.jpg", hostdir);
    } else {
        /* The whole host directory goes outside, a symlink in its
         * place: the path resolves to the very directory a.jpg went in
         * (same inode), but no longer inside out/. */
        moved = pg_strdupf("%s/%s", outside, host);
        swapped = rename(hostdir, moved) == 0 && symlink(moved, hostdir) == 0;
        in_moved = pg_strdupf("%s/dir/b.jpg", moved);
        escaped = pg_strdupf("%s/dir/b.jpg", moved);
        want = pg_strdupf("%s.d/dir/b.jpg", hostdir);
    }
    PG_CHECK(t, swapped, "cannot swap the directory of '%s'", first);
    pg_proc_wait(t, &p, 60, 0, &r);
    pg_test_server_stop(srv);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    PG_CHECK(t, !is_file(escaped), "b.jpg escaped the output dir: '%s'",
             escaped);
    PG_CHECK(t, !is_file(in_moved), "b.jpg went into the moved "
             "directory: '%s'", in_moved);
    PG_CHECK(t, is_file(want), "no '%s'", want);
    pg_run_release(&r);
    free(want);
    free(moved);
    free(escaped);
    free(in_moved);
    free(host);
    free(hostdir);
    free(dir);
    free(first);
    free(ua);
    free(ub);
    free(outside);
    free(out);
    free(man);
}

static void test_dircache_rename(struct pg_test *t)
{
    dircache_case(t, SWAP_RENAME);
}

static void test_dircache_dir_symlink(struct pg_test *t)
{
    dircache_case(t, SWAP_DIR_LINK);
}

static void test_dircache_host_symlink(struct pg_test *t)
{
    dircache_case(t, SWAP_HOST_LINK);
}

static const struct pg_test_case cases[] = {
    {"fold_collision", test_fold_collision, PG_TEST_PER_MODE, 90},
    {"resume_names", test_resume_names, PG_TEST_PER_MODE, 90},
    {"resume_names_overwrite", test_resume_names_overwrite,
     PG_TEST_PER_MODE, 90},
    {"dedup_symlink", test_dedup_symlink, PG_TEST_PER_MODE, 90},
    {"dircache_rename", test_dircache_rename, PG_TEST_PER_MODE, 90},
    {"dircache_dir_symlink", test_dircache_dir_symlink, PG_TEST_PER_MODE,
     90},
    {"dircache_host_symlink", test_dircache_host_symlink, PG_TEST_PER_MODE,
     90},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
