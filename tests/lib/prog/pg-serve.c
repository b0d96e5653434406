/*
 * pg-serve - serve a directory tree on 127.0.0.1 for demos and valgrind.
 *
 *   pg-serve DIR
 *
 * Listens on 127.0.0.1 on an ephemeral port, prints the port on stdout
 * (one line, flushed) and serves DIR until SIGTERM or SIGINT arrives or
 * its standard input reaches end of file, then stops cleanly (exit 0).
 * A script keeps it alive by holding the write end of a pipe or FIFO that
 * is its stdin, and stops it by closing that end or by kill PID.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;
static int wake_fd = -1;

static void on_stop_signal(int signo)
{
    int saved = errno;
    char c = (char)signo;

    stop_requested = 1;
    /* A full pipe already wakes the main loop; nothing else to do. */
    if (wake_fd >= 0 && write(wake_fd, &c, 1) < 0)
        stop_requested = 1;
    errno = saved;
}

static int set_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
    struct pg_test_route route;
    struct pg_test_server *srv;
    struct stat st;
    sigset_t block;
    sigset_t old;
    int pfd[2];
    int watch_stdin = 1;

    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: pg-serve DIR\n");
        return 2;
    }
    if (stat(argv[1], &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "pg-serve: '%s' is not a directory\n", argv[1]);
        return 2;
    }
    if (pipe(pfd) != 0) {
        perror("pg-serve: pipe");
        return 1;
    }
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFL, O_NONBLOCK);
    wake_fd = pfd[1];
    if (set_handlers() != 0) {
        perror("pg-serve: sigaction");
        return 1;
    }

    /* The server's threads inherit a mask that blocks the stop signals,
     * so only this thread handles them. */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    memset(&route, 0, sizeof(route));
    route.path = "/";
    route.kind = PG_ROUTE_DIR;
    route.dir = argv[1];
    srv = pg_test_server_start(&route, 1);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!srv)
        return 1;

    printf("%u\n", pg_test_server_port(srv));
    if (fflush(stdout) != 0) {
        perror("pg-serve: stdout");
        pg_test_server_stop(srv);
        return 1;
    }

    while (!stop_requested) {
        struct pollfd p[2];
        nfds_t n = 1;
        int r;

        p[0].fd = pfd[0];
        p[0].events = POLLIN;
        if (watch_stdin) {
            p[1].fd = STDIN_FILENO;
            p[1].events = POLLIN;
            n = 2;
        }
        r = poll(p, n, -1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            perror("pg-serve: poll");
            break;
        }
        if (p[0].revents)
            break;
        if (watch_stdin && p[1].revents) {
            char buf[256];
            ssize_t got;

            if (p[1].revents & POLLNVAL) {
                /* No stdin at all: run until a signal. */
                watch_stdin = 0;
                continue;
            }
            got = read(STDIN_FILENO, buf, sizeof(buf));
            if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
                break;
        }
    }
    pg_test_server_stop(srv);
    close(pfd[0]);
    close(pfd[1]);
    return 0;
}
