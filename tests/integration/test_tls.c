/*
 * test_tls.c - HTTPS and HTTP/2 (issue 12): trust (--ca-certificate,
 * --no-check-certificate), certificate failures refused at once (one
 * attempt, the cause named: unknown CA, self-signed, expired, name
 * mismatch; an http port behind an https URL), bad CA files, redirects
 * between http and https, and HTTP/2 multiplexed over TLS against a real
 * h2 server (nghttpd) that counts its connections.
 *
 * The CA and the certificates are made at test time (tlscert.h).  The
 * HTTPS server is the in-process libmicrohttpd built with GnuTLS (a test
 * skips if it has no TLS); it speaks HTTP/1.1, so http_version is "1.1"
 * there and "2" with nghttpd.
 *
 * Tests flagged PG_TEST_PER_MODE run with --mode thread and --mode
 * process; PG_TEST_PER_WORKER=K adds --per-worker K (the multi path).
 */
#include "fault.h"
#include "h2server.h"
#include "server.h"
#include "testlib.h"
#include "tlscert.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define END ((const char *)NULL)

#define NFILES 6

static const char BODY[] = "secret payload over TLS\n";

static const struct pg_test_route files[] = {
    {.path = "/f/", .kind = PG_ROUTE_FILES, .flags = PG_ROUTE_PREFIX,
     .nfiles = NFILES, .size_min = 100, .size_max = 5000},
};

/* Make the certificates in <tmp>/tls; that directory (heap). */
static char *certs(struct pg_test *t)
{
    char *dir = pg_path(t, "tls");

    pg_tls_make_certs(t, dir);
    return dir;
}

static struct pg_test_server *start_tls(struct pg_test *t, const char *dir,
                                        const char *name,
                                        const struct pg_test_route *r,
                                        size_t n)
{
    char *cert = pg_strdupf("%s/%s.pem", dir, name);
    char *key = pg_strdupf("%s/%s.key", dir, name);
    struct pg_test_server *srv;

    if (!pg_test_server_tls_supported())
        pg_test_skip(t, "libmicrohttpd was built without TLS");
    srv = pg_test_server_start_tls(r, n, cert, key);
    if (!srv)
        pg_test_fail(t, "cannot start the HTTPS test server (%s)", name);
    free(cert);
    free(key);
    return srv;
}

/* The input file of the NFILES files of srv. */
static char *file_list(struct pg_test *t, struct pg_test_server *srv)
{
    char *path = pg_path(t, "urls.txt");
    char text[NFILES * 128] = "";
    size_t i, len = 0;

    for (i = 0; i < NFILES; i++) {
        char *u = pg_test_server_url(srv, "");
        char *name = pg_fault_file_path(&files[0], i);

        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s\n", u,
                                name);
        free(u);
        free(name);
    }
    pg_write_file(t, path, text, len);
    return path;
}

/* Every record: its schema, status, one attempt, http_version (NULL:
 * null), and an error containing each of the NULL-ended words. */
static void check_records(struct pg_test *t, const char *man, size_t n,
                          const char *status, const char *version, ...)
{
    struct pg_manifest m;
    char why[256];
    size_t i;

    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, n, "manifest records");
    for (i = 0; i < m.n; i++) {
        const struct pg_record *r = &m.rec[i];
        char *text = pg_record_text(r);
        const char *err = pg_record_str(r, "error");
        const char *word;
        va_list ap;

        PG_CHECK(t, pg_record_check_schema(r, why, sizeof(why)),
                 "schema: %s in %s", why, text);
        PG_CHECK_STR(t, pg_record_str(r, "status"), status, text);
        PG_CHECK_INT(t, pg_record_int(r, "attempts", -1), 1, text);
        PG_CHECK_STR(t, pg_record_str(r, "http_version"), version, text);
        va_start(ap, version);
        while ((word = va_arg(ap, const char *)) != NULL)
            PG_CHECK(t, err && strstr(err, word), "error lacks '%s': %s",
                     word, text);
        va_end(ap);
        free(text);
    }
    pg_manifest_release(&m);
}

/* Occurrences of needle in hay. */
static unsigned count_str(const char *hay, const char *needle)
{
    unsigned n = 0;

    while (hay && (hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

/* Trusted through --ca-certificate: all ok over HTTP/1.1, no warning. */
static void test_trusted(struct pg_test *t)
{
    char *dir = certs(t);
    struct pg_test_server *srv = start_tls(t, dir, "server", files, 1);
    char *ca = pg_strdupf("%s/ca.pem", dir);
    char *list = file_list(t, srv);
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-j", "3", "-o", pg_path(t, "out"),
                 "--manifest", man, "--ca-certificate", ca, "-i", list, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_records(t, man, NFILES, "ok", "1.1", END);
    PG_CHECK_INT(t, pg_test_server_hits(srv, "/f/", "GET"), NFILES,
                 "requests");
    PG_CHECK(t, !strstr(r.err, "warning") && !strstr(r.err, "not checked"),
             "unexpected warning: %s", r.err);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

/*
 * Without the CA: every URL fails at once (one attempt although retries
 * are allowed, no request reached the server), the error names an
 * unknown CA and the option that fixes it; exit status 1.
 */
static void test_untrusted(struct pg_test *t)
{
    char *dir = certs(t);
    struct pg_test_server *srv = start_tls(t, dir, "server", files, 1);
    char *list = file_list(t, srv);
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-j", "3", "-o", pg_path(t, "out"),
                 "--manifest", man, "--retries", "3", "--retry-delay", "5",
                 "-i", list, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 1, "exit status");
    check_records(t, man, NFILES, "network-error", NULL, "unknown CA",
                  "--ca-certificate", "not retried", END);
    PG_CHECK_INT(t, pg_test_server_total(srv), 0, "requests that got "
                 "through");
    /* Three retries would wait (5 + 10 + 20) x 0.5 s at the least. */
    PG_CHECK(t, r.secs < 10.0, "took %.1f s: retried?", r.secs);
    PG_CHECK(t, !strstr(r.err, "retry"), "a retry was logged: %s", r.err);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

/* A self-signed server certificate with --no-check-certificate: all ok,
 * and the warning printed once for the whole job. */
static void test_no_check(struct pg_test *t)
{
    char *dir = certs(t);
    struct pg_test_server *srv = start_tls(t, dir, "self", files, 1);
    char *list = file_list(t, srv);
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-j", "4", "-o", pg_path(t, "out"),
                 "--manifest", man, "--no-check-certificate", "-i", list,
                 END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_records(t, man, NFILES, "ok", "1.1", END);
    PG_CHECK_INT(t, count_str(r.err, "--no-check-certificate"), 1,
                 "warnings about --no-check-certificate");
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

/* One refused certificate: the cause in the error, one attempt. */
static void refused(struct pg_test *t, const char *cert, const char *host,
                    const char *cause)
{
    char *dir = certs(t);
    struct pg_test_server *srv = start_tls(t, dir, cert, files, 1);
    char *ca = pg_strdupf("%s/ca.pem", dir);
    char *url = pg_strdupf("https://%s:%u/f/000000.bin", host,
                           pg_test_server_port(srv));
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_run r;

    pg_args_push(&x, "--mode", t->mode, "-o", pg_path(t, "out"),
                 "--manifest", man, "--ca-certificate", ca, "--retries",
                 "2", "--retry-delay", "1", url, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 1, "exit status");
    check_records(t, man, 1, "network-error", NULL, cause, "not retried",
                  END);
    PG_CHECK_INT(t, pg_test_server_total(srv), 0, "requests");
    PG_CHECK(t, strstr(r.err, cause) != NULL, "stderr lacks '%s': %s",
             cause, r.err);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

static void test_expired(struct pg_test *t)
{
    refused(t, "expired", "127.0.0.1", "(expired)");
}

static void test_name_mismatch(struct pg_test *t)
{
    refused(t, "wrongname", "localhost", "(name mismatch)");
}

static void test_self_signed(struct pg_test *t)
{
    refused(t, "self", "127.0.0.1", "(self-signed)");
}

/*
 * An https URL on a plain HTTP port: once the client reads the server's
 * HTTP answer ("wrong version number") the handshake is known hopeless
 * and not retried.  libmicrohttpd closes with the ClientHello unread, so
 * an attempt may instead see a reset (SSL_ERROR_SYSCALL), which is
 * retried like any reset: the URL ends before its 6 attempts.
 */
static void test_https_on_http_port(struct pg_test *t)
{
    struct pg_test_server *srv = pg_test_server_start(files, 1);
    char *url = pg_strdupf("https://127.0.0.1:%u/f/000000.bin",
                           pg_test_server_port(srv));
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    struct pg_run r;
    const char *err;

    pg_args_push(&x, "--mode", t->mode, "-o", pg_path(t, "out"),
                 "--manifest", man, "--retries", "5", "--retry-delay",
                 "0.05", url, END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 1, "exit status");
    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, 1, "records");
    err = pg_record_str(&m.rec[0], "error");
    PG_CHECK(t, err && strstr(err, "TLS handshake failed") &&
             strstr(err, "wrong version number") &&
             strstr(err, "not retried"), "error: %s", err ? err : "null");
    PG_CHECK(t, pg_record_int(&m.rec[0], "attempts", 0) < 6,
             "attempts: %lld", pg_record_int(&m.rec[0], "attempts", 0));
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(srv);
}

/* --ca-certificate names a missing file, or one without a certificate:
 * a usage error naming the file, before anything is fetched. */
static void test_bad_ca_file(struct pg_test *t)
{
    struct pg_test_server *srv = pg_test_server_start(files, 1);
    char *url = pg_test_server_url(srv, "/f/000000.bin");
    char *missing = pg_path(t, "no-such-ca.pem");
    char *empty = pg_path(t, "not-a-ca.pem");
    const char *bad[] = {missing, empty};
    size_t i;

    pg_write_file(t, empty, "hello\n", 6);
    for (i = 0; i < 2; i++) {
        struct pg_args x = {{0}, 0};
        struct pg_run r;

        pg_args_push(&x, "--mode", t->mode, "-o", pg_path(t, "out"),
                     "--ca-certificate", bad[i], url, END);
        pg_run(t, &r, NULL, 30, x.v);
        PG_CHECK_INT(t, r.code, 2, "exit status");
        PG_CHECK(t, strstr(r.err, bad[i]) != NULL, "message does not name "
                 "'%s': %s", bad[i], r.err);
        pg_run_release(&r);
    }
    PG_CHECK_INT(t, pg_test_server_total(srv), 0, "requests");
    pg_test_server_stop(srv);
}

/*
 * http -> https -> http: the input URL on the plain server redirects to
 * the HTTPS server, which redirects back to the plain one; the final
 * body arrives, trusted through --ca-certificate.
 */
static void test_redirect_http_https(struct pg_test *t)
{
    static char to_https[128], to_http[128];
    static const struct pg_test_route plain[] = {
        {.path = "/start", .status = 302, .headers = to_https},
        {.path = "/final.txt", .body = BODY, .body_len = sizeof(BODY) - 1,
         .content_type = "text/plain"},
    };
    static const struct pg_test_route secure[] = {
        {.path = "/secure", .status = 301, .headers = to_http},
    };
    char *dir = certs(t);
    struct pg_test_server *p = pg_test_server_start(plain, 2);
    struct pg_test_server *s = start_tls(t, dir, "server", secure, 1);
    char *ca = pg_strdupf("%s/ca.pem", dir);
    char *url = pg_test_server_url(p, "/start");
    char *final = pg_test_server_url(p, "/final.txt");
    char *man = pg_path(t, "m.jsonl");
    struct pg_args x = {{0}, 0};
    struct pg_manifest m;
    struct pg_run r;

    /* The servers read the headers per request: set before the run. */
    snprintf(to_https, sizeof(to_https), "Location: https://localhost:%u"
             "/secure", pg_test_server_port(s));
    snprintf(to_http, sizeof(to_http), "Location: %s", final);
    pg_test_server_publish(p);
    pg_test_server_publish(s);
    pg_args_push(&x, "--mode", t->mode, "-o", pg_path(t, "out"),
                 "--manifest", man, "--ca-certificate", ca, "--flat", url,
                 END);
    pg_run(t, &r, NULL, 60, x.v);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    pg_manifest_must_load(t, man, &m);
    PG_CHECK_INT(t, m.n, 1, "records");
    PG_CHECK_STR(t, pg_record_str(&m.rec[0], "status"), "ok", "status");
    PG_CHECK_STR(t, pg_record_str(&m.rec[0], "final_url"), final,
                 "final_url");
    PG_CHECK_STR(t, pg_record_str(&m.rec[0], "http_version"), "1.1",
                 "http_version");
    PG_CHECK_INT(t, pg_test_server_hits(s, "/secure", NULL), 1,
                 "requests over https");
    PG_CHECK_INT(t, pg_test_server_hits(p, "/final.txt", NULL), 1,
                 "requests back over http");
    {
        struct pg_expect_file want = {"start", BODY, sizeof(BODY) - 1};

        pg_tree_check(t, pg_path(t, "out"), &want, 1);
    }
    pg_manifest_release(&m);
    pg_run_release(&r);
    pg_test_server_stop(s);
    pg_test_server_stop(p);
}

/* Copy the PEM file src into dir as OpenSSL's hashed name (what
 * update-ca-certificates does for /etc/ssl/certs). */
static void install_hashed(struct pg_test *t, const char *src,
                           const char *dir)
{
    FILE *f = fopen(src, "re");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    size_t len;
    char *pem = pg_read_file(src, &len);
    char *dst;

    if (f)
        fclose(f);
    if (!x || !pem)
        pg_test_fail(t, "cannot read '%s'", src);
    dst = pg_strdupf("%s/%08lx.0", dir, X509_subject_name_hash(x));
    pg_write_file(t, dst, pem, len);
    X509_free(x);
    free(pem);
    free(dst);
}

/*
 * --ca-certificate adds to the system store (Debian's libcurl keeps its
 * CA directory /etc/ssl/certs): in a private mount namespace whose
 * /etc/ssl/certs holds the system bundle file and, hashed, only the test
 * CA, server A (signed by the test CA) is trusted through the system
 * directory and server B (self-signed) through --ca-certificate: both
 * ok with the option, only A without it.  Needs root (else skipped).
 */
static void test_ca_added(struct pg_test *t)
{
    char *dir = certs(t);
    char *sys = pg_path(t, "sys-certs");
    char *self = pg_strdupf("%s/self.pem", dir);
    char *ca = pg_strdupf("%s/ca.pem", dir);
    char *bundle, err[256];
    struct pg_test_server *a, *b;
    size_t len, i;

    pg_mkdirs(t, sys);
    bundle = pg_read_file("/etc/ssl/certs/ca-certificates.crt", &len);
    if (bundle)
        pg_write_file(t, pg_path(t, "sys-certs/ca-certificates.crt"),
                      bundle, len);
    install_hashed(t, ca, sys);
    if (pg_fault_bind(sys, "/etc/ssl/certs", err, sizeof(err)) != 0)
        pg_test_skip(t, "no private mount namespace: %s", err);
    a = start_tls(t, dir, "server", files, 1);
    b = start_tls(t, dir, "self", files, 1);
    for (i = 0; i < 2; i++) {
        char *man = pg_path(t, "m%zu.jsonl", i);
        char *ua = pg_test_server_url(a, "/f/000000.bin");
        char *ub = pg_test_server_url(b, "/f/000001.bin");
        struct pg_args x = {{0}, 0};
        struct pg_manifest m;
        struct pg_run r;

        pg_args_push(&x, "--mode", t->mode, "-o", pg_path(t, "out%zu", i),
                     "--manifest", man, "-v", END);
        if (i == 1)
            pg_args_push(&x, "--ca-certificate", self, END);
        pg_args_push(&x, ua, ub, END);
        pg_run(t, &r, NULL, 60, x.v);
        PG_CHECK_INT(t, r.code, i == 1 ? 0 : 1, "exit status");
        pg_manifest_must_load(t, man, &m);
        PG_CHECK_STR(t, pg_record_str(pg_manifest_find(&m, ua), "status"),
                     "ok", "A, trusted through the system directory");
        PG_CHECK_STR(t, pg_record_str(pg_manifest_find(&m, ub), "status"),
                     i == 1 ? "ok" : "network-error",
                     "B, trusted only through --ca-certificate");
        if (i == 1)
            PG_CHECK(t, strstr(r.err, "added to the system store") != NULL,
                     "no 'added to the system store' in the log: %s",
                     r.err);
        pg_manifest_release(&m);
        pg_run_release(&r);
    }
    pg_test_server_stop(a);
    pg_test_server_stop(b);
}

#define H2_IMAGES 24

/*
 * HTTP/2: nghttpd serves a page with H2_IMAGES images over TLS (ALPN).
 * Every record says http_version "2", and the server accepted fewer
 * connections than it got requests: transfers share connections.
 */
static void test_http2(struct pg_test *t)
{
    char *dir = certs(t);
    char *site = pg_path(t, "site");
    char *cert = pg_strdupf("%s/server.pem", dir);
    char *key = pg_strdupf("%s/server.key", dir);
    char *ca = pg_strdupf("%s/ca.pem", dir);
    char *man = pg_path(t, "m.jsonl");
    char page[H2_IMAGES * 40 + 64];
    size_t len = 0, i;
    struct pg_h2_server h2;
    struct pg_args x = {{0}, 0};
    struct pg_run r;
    unsigned conns, reqs;
    char *url;

    pg_mkdirs(t, pg_path(t, "site/img"));
    len += (size_t)snprintf(page + len, sizeof(page) - len, "<html><body>\n");
    for (i = 0; i < H2_IMAGES; i++) {
        char *img = pg_strdupf("%s/img/i%02zu.png", site, i);
        char body[64];
        int n = snprintf(body, sizeof(body), "image %zu bytes\n", i);

        pg_write_file(t, img, body, (size_t)n);
        len += (size_t)snprintf(page + len, sizeof(page) - len,
                                "<img src=\"img/i%02zu.png\">\n", i);
        free(img);
    }
    pg_write_file(t, pg_path(t, "site/index.html"), page, len);
    if (pg_h2_start(t, &h2, site, cert, key) != 0)
        pg_test_skip(t, "nghttpd is not installed (nghttp2-server)");
    url = pg_strdupf("https://127.0.0.1:%u/index.html", h2.port);
    pg_args_push(&x, "--mode", t->mode, "-j", "2", "-o", pg_path(t, "out"),
                 "--manifest", man, "--ca-certificate", ca, "--images", url,
                 END);
    pg_run(t, &r, NULL, 60, x.v);
    pg_h2_counts(&h2, &conns, &reqs);
    pg_h2_stop(&h2);
    PG_CHECK_INT(t, r.code, 0, "exit status");
    check_records(t, man, H2_IMAGES + 1, "ok", "2", END);
    /* The page, its images and robots.txt. */
    PG_CHECK_INT(t, reqs, H2_IMAGES + 2, "requests nghttpd received");
    PG_CHECK(t, conns >= 1 && conns * 4 <= reqs, "%u connections for %u "
             "requests: connections are not reused", conns, reqs);
    if (getenv("PG_TEST_VERBOSE"))
        fprintf(stderr, "http2[%s]: %u connections, %u requests\n", t->mode,
                conns, reqs);
    pg_run_release(&r);
    free(url);
}

static const struct pg_test_case cases[] = {
    {"trusted", test_trusted, PG_TEST_PER_MODE, 60},
    {"untrusted", test_untrusted, PG_TEST_PER_MODE, 60},
    {"no_check", test_no_check, PG_TEST_PER_MODE, 60},
    {"expired", test_expired, PG_TEST_PER_MODE, 60},
    {"name_mismatch", test_name_mismatch, PG_TEST_PER_MODE, 60},
    {"self_signed", test_self_signed, PG_TEST_PER_MODE, 60},
    {"https_on_http_port", test_https_on_http_port, PG_TEST_PER_MODE, 60},
    {"bad_ca_file", test_bad_ca_file, PG_TEST_PER_MODE, 60},
    {"redirect_http_https", test_redirect_http_https, PG_TEST_PER_MODE, 60},
    {"ca_added", test_ca_added, PG_TEST_PER_MODE, 60},
    {"http2", test_http2, PG_TEST_PER_MODE, 90},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
