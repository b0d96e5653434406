/*
 * tune.h - the default workers and transfers per worker (tune.c): the
 * rule pg_options_tune() applies, on its own inputs so that tests can
 * reach it.  Not where the counts are checked (options.c).
 */
#ifndef PG_TUNE_H
#define PG_TUNE_H

/* The CPUs this process may run on (its affinity mask), at least 1. */
unsigned pg__cpu_count(void);

/* Fill in *workers and *per_worker where they are 0, for a machine of
 * CPUS CPUs and a job that parses pages (PARSES) or not. */
void pg__tune(unsigned cpus, int parses, unsigned *workers,
              unsigned *per_worker);

#endif
