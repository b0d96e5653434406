/*
 * spool.h - temporary body files and their atomic commit.
 *
 * A worker writes a body into a fresh hidden file at the top of the
 * output directory, created with O_EXCL|O_NOFOLLOW relative to the
 * directory fd (pg__spool_create).  The main thread later gives it its
 * final name with pg_result_save() (save.c): directories are walked
 * and created one component at a time with openat(O_NOFOLLOW) and the
 * file appears with renameat2(RENAME_NOREPLACE) or linkat() (never
 * replacing) or renameat() (with --overwrite), so a final name always
 * holds a complete body and nothing is written through a symlink.
 */
#ifndef PG_SPOOL_H
#define PG_SPOOL_H

#include <stdint.h>
#include <sys/types.h>

#include "pagegrab.h"

/*
 * Create a new spool file in dirfd, named
 * ".pagegrab-PID-WORKER-SEQ.part"; *seq is advanced.  On success *fd is
 * open for reading and writing (O_CLOEXEC) and *name is a new string the caller
 * frees.  Returns PG_E_IO (errno set) or PG_E_NOMEM.
 */
/* The same with the caller's process id (saves a getpid() a file). */
enum pg_code pg__spool_create_pid(int dirfd, pid_t pid, unsigned worker,
                                  uint64_t *seq, int *fd, char **name)
    PG_WARN_UNUSED;
enum pg_code pg__spool_create(int dirfd, unsigned worker, uint64_t *seq,
                              int *fd, char **name) PG_WARN_UNUSED;

/*
 * Remove spool files left in dirfd by runs that are gone (their pid is
 * in the name and no longer alive).  Returns how many were removed.
 */
unsigned pg__spool_cleanup(int dirfd);

/* Remove the spool files of process pid (a worker that died) from
 * dirfd; returns how many. */
unsigned pg__spool_remove_pid(int dirfd, pid_t pid);

/*
 * Check that relname is a safe relative name: non-empty components, none
 * "." or "..", no leading '/', no control bytes, no temp-file prefix,
 * bounded length.  0 if safe.
 */
int pg__spool_check_name(const char *relname);

/*
 * The directory holding relname (which must pass pg__spool_check_name),
 * reached from dirfd one component at a time, never through a symlink:
 * its fd (dirfd itself when relname has no '/'; close it otherwise) and
 * *leaf, relname's last component.  -1 with errno set.
 */
int pg__spool_parent(int dirfd, const char *relname, const char **leaf);

#endif
