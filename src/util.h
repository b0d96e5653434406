/*
 * util.h - the small helpers that src/ and cmd/ share: the clock, errno
 * text, the write loop and the UTF-8 check.  One implementation each.
 *
 * Internal to pagegrab, not part of the public API, but cmd/ may
 * include it (as curl's tool uses curlx): the program links the static
 * library, so it sees these pg__ symbols.  Keep it a leaf: no job, no
 * item, nothing above pagegrab.h.
 */
#ifndef PG_UTIL_H
#define PG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "pagegrab.h"

/* Seconds on the monotonic clock. */
double pg__now(void);

/* strerror_r into buf, whichever variant libc has; returns buf. */
const char *pg__errstr(int err, char *buf, size_t len);

/*
 * Write all n bytes to fd, retrying on EINTR and short writes.  On a
 * socket a dead peer is EPIPE, never SIGPIPE.  PG_E_IO (errno set;
 * ENOSPC when nothing could be written).
 */
enum pg_code pg__write_all(int fd, const void *p, size_t n)
    PG_WARN_UNUSED;

/*
 * What an fd is, for pg__write_kind: decided once (fstat) where the fd is
 * opened, so that a file is written without a send() probe each time.
 */
enum pg__fd_kind { PG_FD_FILE, PG_FD_PIPE, PG_FD_SOCKET };
enum pg__fd_kind pg__fd_kind(int fd);

/*
 * pg__write_all for an fd of a known kind: a file is written with
 * write() alone; a socket with send(MSG_NOSIGNAL); a pipe or FIFO with
 * SIGPIPE blocked in the calling thread for the write (a reader gone is
 * EPIPE, and the SIGPIPE it raised is taken back unless one was already
 * pending), since the library cannot rely on its host ignoring SIGPIPE.
 */
enum pg_code pg__write_kind(int fd, enum pg__fd_kind kind, const void *p,
                            size_t n) PG_WARN_UNUSED;

/* The same at offset off of a file (pwrite); PG_E_IO (errno set). */
enum pg_code pg__pwrite_all(int fd, const void *p, size_t n, uint64_t off)
    PG_WARN_UNUSED;

/*
 * Read exactly n bytes at offset off (pread), retrying on EINTR and
 * short reads.  PG_E_IO (errno set; EIO at the end of the file).
 */
enum pg_code pg__pread_all(int fd, void *p, size_t n, uint64_t off)
    PG_WARN_UNUSED;

/*
 * Length of the valid UTF-8 sequence at s (n > 0 bytes left), or 0 when
 * s[0] does not start one (overlong forms, surrogates and code points
 * past U+10FFFF are invalid).
 */
size_t pg__utf8_len(const unsigned char *s, size_t n);

#endif
