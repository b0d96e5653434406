/*
 * test_events.c - a fetcher's multi handle (src/events.c): polled,
 * driven by events, polled again with transfers running, woken from
 * another thread, with the caller's own descriptors
 * in the same wait, and still working when epoll fails.
 *
 * The transfers go to a small keep-alive HTTP server in this file (one
 * thread per connection, on 127.0.0.1, an ephemeral port) that answers
 * every request after DELAY_MS, so that transfers are in flight when
 * the test falls back to polling.  Every transfer has a 10 s timeout and every wait
 * loop a 10 s deadline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "events.h"
#include "util.h"

#define DELAY_MS 100
#define MAX_CONN 64
#define BODY "hello"

struct server;

struct conn {
    struct server *s;
    int fd;
    pthread_t tid;
};

struct server {
    int lfd;
    unsigned short port;
    atomic_int stop;
    pthread_t accept_tid;
    struct conn conn[MAX_CONN];
    unsigned n_conn;          /* (the accepting thread's until joined) */
};

/* Answer each request on c->fd after DELAY_MS until the client closes
 * it or the server stops. */
static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct server *s = c->s;
    int fd = c->fd;
    char buf[4096];
    size_t have = 0;

    while (!atomic_load(&s->stop)) {
        struct pollfd p = { fd, POLLIN, 0 };
        char *end;
        ssize_t n;

        if (poll(&p, 1, 20) <= 0)
            continue;
        n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        while ((end = strstr(buf, "\r\n\r\n")) != NULL) {
            static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: "
                                        "5\r\nContent-Type: text/plain\r\n"
                                        "\r\n" BODY;
            size_t used = (size_t)(end + 4 - buf);
            struct timespec d = { 0, DELAY_MS * 1000000L };

            nanosleep(&d, NULL);
            if (write(fd, reply, sizeof(reply) - 1) < 0)
                return NULL;
            memmove(buf, buf + used, have - used + 1);
            have -= used;
        }
    }
    return NULL;
}

static void *accept_main(void *arg)
{
    struct server *s = arg;

    while (!atomic_load(&s->stop)) {
        struct pollfd p = { s->lfd, POLLIN, 0 };
        int fd;

        if (poll(&p, 1, 20) <= 0)
            continue;
        fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (s->n_conn == MAX_CONN) {
            close(fd);
            continue;
        }
        s->conn[s->n_conn].s = s;
        s->conn[s->n_conn].fd = fd;
        if (pthread_create(&s->conn[s->n_conn].tid, NULL, conn_main,
                           &s->conn[s->n_conn]) == 0)
            s->n_conn++;
        else
            close(fd);
    }
    return NULL;
}

static void server_start(struct server *s)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    memset(s, 0, sizeof(*s));
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->lfd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 128), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->accept_tid, NULL, accept_main, s),
                     0);
}

static void server_stop(struct server *s)
{
    unsigned i;

    atomic_store(&s->stop, 1);
    pthread_join(s->accept_tid, NULL);
    for (i = 0; i < s->n_conn; i++) {
        pthread_join(s->conn[i].tid, NULL);
        close(s->conn[i].fd);
    }
    close(s->lfd);
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    size_t *got = ud;

    (void)p;
    *got += size * n;
    return size * n;
}

struct xfers {
    CURL *easy[32];
    size_t got[32];
    unsigned n, done, ok;
};

static void start(struct pg__events *ev, struct xfers *x, unsigned short port,
                  unsigned how_many)
{
    char url[64];
    unsigned i;

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/x", (unsigned)port);
    for (i = 0; i < how_many; i++) {
        CURL *e = curl_easy_init();

        assert_non_null(e);
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &x->got[x->n]);
        assert_int_equal(pg__events_add(ev, e), CURLM_OK);
        x->easy[x->n++] = e;
    }
}

/* Wait and run until `until` transfers have finished, or 10 s. */
static void drive(struct pg__events *ev, struct xfers *x, unsigned until)
{
    double end = pg__now() + 10;
    CURLMsg *m;

    while (x->done < until && pg__now() < end) {
        pg__events_wait(ev, NULL, 0, 100);
        pg__events_run(ev);
        while ((m = pg__events_info_read(ev)) != NULL) {
            long code = 0;
            unsigned i;

            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            for (i = 0; i < x->n && x->easy[i] != m->easy_handle; i++)
                ;
            if (m->data.result == CURLE_OK && code == 200 && i < x->n &&
                x->got[i] == strlen(BODY))
                x->ok++;
            x->done++;
            pg__events_remove(ev, m->easy_handle);
        }
    }
}

static void free_xfers(struct xfers *x)
{
    unsigned i;

    for (i = 0; i < x->n; i++)
        curl_easy_cleanup(x->easy[i]);
}

enum fail { NO_FAIL, FAIL_AT_ONCE, FALL_BACK_MIDWAY };

/*
 * 16 transfers complete: polled or by events; with epoll failed from
 * the start; or with polling taken up again (an abort) while the first
 * 8 are in flight.
 */
static void run_mode(int events, enum fail fail)
{
    struct server s;
    struct pg__events ev;
    struct xfers x;

    memset(&x, 0, sizeof(x));
    server_start(&s);
    assert_int_equal(pg__events_init(&ev, 16, events), PG_OK);
    assert_int_equal(pg__events_on(&ev), events);
    if (fail == FAIL_AT_ONCE)
        ev.failed = 1;        /* as after an epoll_ctl() error */
    start(&ev, &x, s.port, 8);
    if (fail == FALL_BACK_MIDWAY) {
        pg__events_wait(&ev, NULL, 0, 20);
        pg__events_run(&ev);
        assert_int_equal(x.done, 0);
        pg__events_fall_back(&ev);
    }
    start(&ev, &x, s.port, 8);
    drive(&ev, &x, 16);
    assert_int_equal(x.done, 16);
    assert_int_equal(x.ok, 16);
    pg__events_release(&ev);
    free_xfers(&x);
    server_stop(&s);
}

static void test_polled(void **state)
{
    (void)state;
    run_mode(0, NO_FAIL);
}

static void test_events(void **state)
{
    (void)state;
    run_mode(1, NO_FAIL);
}

static void test_epoll_failed(void **state)
{
    (void)state;
    run_mode(1, FAIL_AT_ONCE);
}

static void test_fall_back(void **state)
{
    (void)state;
    run_mode(1, FALL_BACK_MIDWAY);
}

static void *wake_later(void *arg)
{
    struct timespec d = { 0, 50 * 1000000L };

    nanosleep(&d, NULL);
    pg__events_wakeup(arg);
    return NULL;
}

/* A wake-up from another thread ends a long wait, in either way, and
 * is not counted as an event. */
static void test_wakeup(void **state)
{
    int events;

    (void)state;
    for (events = 0; events <= 1; events++) {
        struct pg__events ev;
        pthread_t t;
        double t0;

        assert_int_equal(pg__events_init(&ev, 4, events), PG_OK);
        t0 = pg__now();
        assert_int_equal(pthread_create(&t, NULL, wake_later, &ev), 0);
        assert_int_equal(pg__events_wait(&ev, NULL, 0, 5000), 0);
        assert_true(pg__now() - t0 < 2.5);
        pthread_join(t, NULL);
        /* Drained: the next wait times out. */
        t0 = pg__now();
        assert_int_equal(pg__events_wait(&ev, NULL, 0, 30), 0);
        assert_true(pg__now() - t0 >= 0.025);
        pg__events_release(&ev);
    }
}

/* The caller's descriptor is reported as curl_multi_poll() reports it,
 * polled and by events, and not after it stops being asked for. */
static void test_extra(void **state)
{
    struct server s;
    int mode;

    (void)state;
    server_start(&s);
    for (mode = 0; mode < 2; mode++) {
        struct pg__events ev;
        struct curl_waitfd w;
        struct xfers x;
        int p[2];

        memset(&x, 0, sizeof(x));
        assert_int_equal(pipe(p), 0);
        assert_int_equal(pg__events_init(&ev, 4, mode), PG_OK);
        w.fd = p[0];
        w.events = CURL_WAIT_POLLIN;
        w.revents = 0;
        assert_int_equal(pg__events_wait(&ev, &w, 1, 10), 0);
        assert_int_equal(w.revents, 0);
        assert_int_equal(write(p[1], "x", 1), 1);
        assert_int_equal(pg__events_wait(&ev, &w, 1, 1000), 1);
        assert_true(w.revents & CURL_WAIT_POLLIN);
        /* Not asked for any more: not reported, even though readable. */
        assert_int_equal(pg__events_wait(&ev, NULL, 0, 10), 0);
        /* Asked again, among transfers: reported again. */
        start(&ev, &x, s.port, 2);
        pg__events_run(&ev);
        w.revents = 0;
        assert_true(pg__events_wait(&ev, &w, 1, 1000) >= 1);
        assert_true(w.revents & CURL_WAIT_POLLIN);
        drive(&ev, &x, x.n);
        assert_int_equal(x.ok, x.n);
        pg__events_release(&ev);
        free_xfers(&x);
        close(p[0]);
        close(p[1]);
    }
    server_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_polled),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_epoll_failed),
        cmocka_unit_test(test_fall_back),
        cmocka_unit_test(test_wakeup),
        cmocka_unit_test(test_extra),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
