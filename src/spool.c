/*
 * spool.c - see spool.h: spool files, their cleanup and the name check.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "name.h"
#include "spool.h"

enum pg_code pg__spool_create(int dirfd, unsigned worker, uint64_t *seq,
                              int *fd, char **name)
{
    return pg__spool_create_pid(dirfd, getpid(), worker, seq, fd, name);
}

enum pg_code pg__spool_create_pid(int dirfd, pid_t pid, unsigned worker,
                                  uint64_t *seq, int *fd, char **name)
{
    char tmp[96];
    int tries;

    for (tries = 0; tries < 1000; tries++) {
        snprintf(tmp, sizeof(tmp), "%s%ld-%u-%llu.part",
                 PG_NAME_TMP_PREFIX, (long)pid, worker,
                 (unsigned long long)(*seq)++);
        *fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
                     O_CLOEXEC, 0644);
        if (*fd >= 0) {
            *name = pg__strdup(tmp);
            if (!*name) {
                close(*fd);
                unlinkat(dirfd, tmp, 0);
                return PG_E_NOMEM;
            }
            return PG_OK;
        }
        if (errno != EEXIST && errno != EINTR)
            return PG_E_IO;
    }
    return PG_E_IO;
}

/* Remove dirfd's spool files of process `only`, or (only 0) of every
 * process that is gone; returns how many. */
static unsigned remove_spool(int dirfd, pid_t only)
{
    int fd = dup(dirfd);
    unsigned n = 0;
    struct dirent *de;
    DIR *d;

    if (fd < 0)
        return 0;
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        const char *p = de->d_name;
        char *end;
        long pid;
        size_t len = strlen(p);

        if (strncmp(p, PG_NAME_TMP_PREFIX, PG_NAME_TMP_PREFIX_LEN) ||
            len < 5 || strcmp(p + len - 5, ".part"))
            continue;
        pid = strtol(p + PG_NAME_TMP_PREFIX_LEN, &end, 10);
        if (end == p + PG_NAME_TMP_PREFIX_LEN || *end != '-' || pid <= 0)
            continue;
        if (only > 0 && pid != (long)only)
            continue;
        /* A live process (another pagegrab here) keeps its files. */
        if (only == 0 && pid != (long)getpid() &&
            (kill((pid_t)pid, 0) == 0 || errno == EPERM))
            continue;
        if (unlinkat(dirfd, p, 0) == 0)
            n++;
    }
    closedir(d);
    return n;
}

unsigned pg__spool_cleanup(int dirfd)
{
    return remove_spool(dirfd, 0);
}

unsigned pg__spool_remove_pid(int dirfd, pid_t pid)
{
    return pid > 0 ? remove_spool(dirfd, pid) : 0;
}

int pg__spool_check_name(const char *relname)
{
    const char *p = relname, *end;
    size_t n;

    if (!*p || *p == '/' || strlen(p) > PG_NAME_MAX + 64)
        return -1;
    while (*p) {
        end = strchr(p, '/');
        n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n > 255)
            return -1;
        if ((n == 1 && p[0] == '.') || (n == 2 && !memcmp(p, "..", 2)))
            return -1;
        if (n >= PG_NAME_TMP_PREFIX_LEN &&
            !memcmp(p, PG_NAME_TMP_PREFIX, PG_NAME_TMP_PREFIX_LEN))
            return -1;
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return -1;
        }
        if (!end)
            break;
        p = end + 1;
        if (!*p)
            return -1; /* trailing slash: no file name */
    }
    return 0;
}

int pg__spool_parent(int dirfd, const char *relname, const char **leaf)
{
    char comp[256];
    const char *p = relname, *slash;
    int fd = dirfd, next;

    if (pg__spool_check_name(relname)) {
        errno = EINVAL;
        return -1;
    }
    for (; (slash = strchr(p, '/')); p = slash + 1) {
        size_t n = (size_t)(slash - p);

        memcpy(comp, p, n);   /* (n <= 255: checked above) */
        comp[n] = '\0';
        next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                      O_CLOEXEC);
        if (fd != dirfd)
            close(fd);
        if (next < 0)
            return -1;
        fd = next;
    }
    *leaf = p;
    return fd;
}
