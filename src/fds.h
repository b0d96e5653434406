/*
 * fds.h - close what a forked child must not keep.
 */
#ifndef PG_FDS_H
#define PG_FDS_H

#include <stddef.h>

/*
 * Close every fd from `from` up except keep[0..n) (close_range where the
 * kernel has it, else the fds /proc lists, else a bounded loop).  For a
 * child between fork and its work: no locks, no allocation except
 * opendir's on old kernels.
 */
void pg__close_fds_from(int from, const int *keep, size_t n);

/*
 * In a new worker process: keep its own socket (mine), the output
 * directory (outdir_fd: spool files are created in it) and
 * stdin/stdout/stderr, close everything else the parent had open: the
 * other workers' sockets, the manifest, the URL store and spill file, a
 * Redis connection, cached directory fds, hook pidfds, and whatever fds
 * the host program leaked without CLOEXEC (a pipe held open by a
 * long-lived worker would hide its EOF from the reader).  Those of
 * parent_fds[0..n) at 0-2 (a list read from stdin) become /dev/null.
 */
void pg__close_inherited(const int *parent_fds, size_t n, int mine,
                         int outdir_fd);

#endif
