/*
 * h2server.h - a real HTTP/2 server for the tests: nghttpd (Debian's
 * nghttp2-server) serving a directory over TLS (ALPN h2) on 127.0.0.1 and
 * an ephemeral port, with its verbose log in a file, from which the
 * connections it accepted and the requests it received are counted.
 *
 * The server is a child of the test, stopped by its pid (SIGTERM, then
 * SIGKILL) and reaped.
 */
#ifndef PG_TEST_H2SERVER_H
#define PG_TEST_H2SERVER_H

#include <sys/types.h>

#include "testlib.h"

struct pg_h2_server {
    pid_t pid;
    unsigned port;
    char log[PATH_MAX + 64];     /* its stdout */
    char err[PATH_MAX + 64];     /* its stderr */
};

/*
 * Start nghttpd serving dir with the PEM cert_file and key_file.
 * Returns 0, or -1 when no nghttpd is installed (the caller skips);
 * any other failure fails the test.
 */
int pg_h2_start(struct pg_test *t, struct pg_h2_server *s, const char *dir,
                const char *cert_file, const char *key_file);

/* Stop and reap it; a stopped or never started server is a no-op. */
void pg_h2_stop(struct pg_h2_server *s);

/* From its log: TLS handshakes completed (= connections) and requests
 * (HEADERS with a :path). */
void pg_h2_counts(const struct pg_h2_server *s, unsigned *conns,
                  unsigned *requests);

#endif
