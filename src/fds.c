/*
 * fds.c - close what a forked child must not keep.
 */
#define _DEFAULT_SOURCE /* syscall(), dirfd() */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fds.h"

/* Close the fds lo..hi (hi may be INT_MAX - 1: all above lo). */
static void close_stretch(int lo, int hi)
{
    DIR *d;
    struct dirent *e;
    long max;

#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0u) == 0)
        return;
#endif
    /* An older kernel: the fds that are open, from /proc. */
    d = opendir("/proc/self/fd");
    if (d) {
        int self = dirfd(d);

        while ((e = readdir(d)) != NULL) {
            char *end;
            long fd = strtol(e->d_name, &end, 10);

            if (*end == '\0' && end != e->d_name && fd >= lo &&
                fd <= hi && fd != self)
                close((int)fd);
        }
        closedir(d);
        return;
    }
    max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (long fd = lo; fd <= hi && fd < max; fd++)
        close((int)fd);
}

/* Close every fd from `from` up, except keep[0..n). */
void pg__close_fds_from(int from, const int *keep, size_t n)
{
    int lo = from;

    for (;;) {
        int hi = INT_MAX;
        size_t k;

        /* The lowest kept fd at or above lo bounds this stretch. */
        for (k = 0; k < n; k++) {
            if (keep[k] >= lo && keep[k] < hi)
                hi = keep[k];
        }
        if (hi > lo)
            close_stretch(lo, hi - 1);
        if (hi == INT_MAX)
            return;
        lo = hi + 1;
    }
}

void pg__close_inherited(const int *parent_fds, size_t n, int mine,
                         int outdir_fd)
{
    int keep[2] = { mine, outdir_fd };
    size_t k;

    for (k = 0; k < n; k++) {
        int fd = parent_fds[k];

        if (fd >= 0 && fd <= 2 && fd != mine) {
            int null = open("/dev/null", O_RDWR);

            if (null >= 0 && null != fd) {
                dup2(null, fd);
                close(null);
            }
        }
    }
    pg__close_fds_from(3, keep, 2);
}
