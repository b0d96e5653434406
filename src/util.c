/*
 * util.c - see util.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

double pg__now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *pg__errstr(int err, char *buf, size_t len)
{
    /* The XSI strerror_r under _POSIX_C_SOURCE=200809L returns int. */
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}

enum pg_code pg__write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    int sock = 1;

    while (n > 0) {
        /* On a socket, a dead peer must be EPIPE, never SIGPIPE: the
         * library cannot rely on its host ignoring SIGPIPE. */
        ssize_t w = sock ? send(fd, s, n, MSG_NOSIGNAL) : write(fd, s, n);

        if (w < 0 && sock && errno == ENOTSOCK) {
            sock = 0;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return PG_E_IO;
        }
        s += w;
        n -= (size_t)w;
    }
    return PG_OK;
}

enum pg__fd_kind pg__fd_kind(int fd)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return PG_FD_SOCKET;   /* unknown: the probing, safe way */
    if (S_ISSOCK(st.st_mode))
        return PG_FD_SOCKET;
    if (S_ISFIFO(st.st_mode))
        return PG_FD_PIPE;
    return PG_FD_FILE;
}

/* write() until all n bytes are out, retrying on EINTR. */
static enum pg_code write_loop(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            return PG_E_IO;
        }
        s += w;
        n -= (size_t)w;
    }
    return PG_OK;
}

/* A pipe: SIGPIPE blocked for the write, a raised one taken back. */
static enum pg_code write_pipe(int fd, const char *s, size_t n)
{
    sigset_t pipe_set, old, pending;
    enum pg_code rc;
    int was_pending, err;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old))
        return write_loop(fd, s, n);
    rc = write_loop(fd, s, n);
    err = errno;
    if (rc && err == EPIPE && !was_pending) {
        struct timespec zero = { 0, 0 };

        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return rc;
}

enum pg_code pg__write_kind(int fd, enum pg__fd_kind kind, const void *p,
                            size_t n)
{
    if (kind == PG_FD_FILE)
        return write_loop(fd, p, n);
    if (kind == PG_FD_PIPE)
        return write_pipe(fd, p, n);
    return pg__write_all(fd, p, n);
}

/*
 * The positional loop of both: pwrite (write) or pread.  p is only
 * written through when reading.
 */
static enum pg_code at_all(int fd, char *p, size_t n, uint64_t off,
                           int writing)
{
    while (n > 0) {
        ssize_t k = writing ? pwrite(fd, p, n, (off_t)off)
                            : pread(fd, p, n, (off_t)off);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = writing ? ENOSPC : EIO;
            return PG_E_IO;
        }
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return PG_OK;
}

enum pg_code pg__pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
    return at_all(fd, (char *)p, n, off, 1);
}

enum pg_code pg__pread_all(int fd, void *p, size_t n, uint64_t off)
{
    return at_all(fd, p, n, off, 0);
}

size_t pg__utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}
