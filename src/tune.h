/*
 * tune.h - the default workers and transfers per worker (tune.c): the
 * rule pg_options_tune() applies, on its own inputs so that tests can
 * reach it.  Not where the counts are checked (options.c).
 */
#ifndef PG_TUNE_H
#define PG_TUNE_H

/* The CPUs this process may run on (its affinity mask), at least 1. */
unsigned pg__cpu_count(void);

/* The transfers a job runs at once by default, in all: a batch, and a
 * job that parses pages (a crawl, --images, --xpath). */
#define PG_TUNE_TRANSFERS 256u
#define PG_TUNE_TRANSFERS_PARSE 128u

/* The transfers a job of the defaults starts with, per CPU, in all
 * (the window: fetch.c). */
#define PG_TUNE_WINDOW_PER_CPU 16u
/* The smallest window a worker of the defaults starts with. */
#define PG_TUNE_WINDOW_MIN 4u

/* The descriptors one transfer may hold at once: its socket, its spool
 * file and the resolver's pair while it resolves. */
#define PG_TUNE_FDS_PER_TRANSFER 3u
/* Descriptors kept for everything else (manifest, directory cache,
 * logs, the workers' sockets, libcurl's own). */
#define PG_TUNE_FDS_RESERVE 64u

/* The soft RLIMIT_NOFILE, or 0 if unlimited or unknown. */
unsigned long pg__fd_limit(void);

/*
 * Fill in *workers and *per_worker where they are 0, for a machine of
 * CPUS CPUs and a job that parses pages (PARSES) or not.  A per_worker
 * chosen here is lowered (to 1 at least) so that the transfers of one
 * process fit FDS descriptors (0: no limit): all of them in thread mode
 * (THREADS), one worker's in process mode.  With it, *window (when 0)
 * gets the transfers a worker starts with: PG_TUNE_WINDOW_PER_CPU x
 * CPUS / workers, at least PG_TUNE_WINDOW_MIN, 0 if that is not below
 * per_worker (no window).  A given per_worker leaves *window alone.
 */
void pg__tune(unsigned cpus, int parses, unsigned long fds, int threads,
              unsigned *workers, unsigned *per_worker, unsigned *window);

#endif
