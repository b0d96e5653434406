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

#endif
