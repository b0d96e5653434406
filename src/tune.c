/*
 * tune.c - the workers and transfers per worker a job runs when the
 * embedder (or the command line) leaves them 0: pg_options_tune().
 *
 * The rule, and the measurements behind it (README "Performance",
 * `make bench`, 2 CPUs, nginx on 127.0.0.1, outputs on tmpfs):
 *  - Workers: one per CPU the process may run on (sched_getaffinity, so
 *    `taskset` and cgroup cpusets are honoured), two per CPU when pages
 *    are parsed (a crawl, or --images/--xpath): libxml2 runs in the
 *    worker, and a second worker keeps the CPU busy while the first
 *    parses.  A batch of small files is bound by the CPU (curl, the
 *    save path, the server on the same machine), so more workers than
 *    CPUs only add switches: 2 workers x 32 transfers beat 64 x 1 by
 *    1.4x in files/s at the same concurrency.
 *  - Transfers: about PG_TUNE_TRANSFERS at once in all, split over the
 *    workers (the multi interface).  Latency, not the CPU, bounds a
 *    batch from a distant server: 2,000 pages at 50 ms took 12.7 s with
 *    the old 8 x 1 and 0.52 s with 2 x 128.  It is also a ceiling of
 *    politeness: never more, however many CPUs.
 *  - -j given alone keeps its old meaning, N blocking workers (K = 1):
 *    a user who lowers -j to spare a server gets exactly that many
 *    transfers.  -K given alone gets the CPU-based workers.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <sched.h>
#include <unistd.h>

#include "pagegrab.h"
#include "tune.h"

/* The transfers a job runs at once by default, in all. */
#define PG_TUNE_TRANSFERS 128u
/* The most workers the rule picks (more only with -j). */
#define PG_TUNE_MAX_WORKERS 32u

unsigned pg__cpu_count(void)
{
    long n;
#ifdef __linux__
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        n = CPU_COUNT(&set);
        if (n >= 1)
            return (unsigned)n;
    }
#endif
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1u : n > 1024 ? 1024u : (unsigned)n;
}

void pg__tune(unsigned cpus, int parses, unsigned *workers,
              unsigned *per_worker)
{
    unsigned w = *workers, k = *per_worker;

    if (cpus < 1)
        cpus = 1;
    if (w == 0) {
        w = parses ? 2 * cpus : cpus;
        if (w > PG_TUNE_MAX_WORKERS)
            w = PG_TUNE_MAX_WORKERS;
        if (k == 0)
            k = PG_TUNE_TRANSFERS / w;
    }
    if (k == 0)             /* -j N alone: N blocking workers */
        k = 1;
    *workers = w;
    *per_worker = k;
}

void pg_options_tune(struct pg_options *o)
{
    int parses = o->images || o->n_xpaths > 0 || o->n_follow > 0;

    if (o->workers && o->per_worker)
        return;
    pg__tune(pg__cpu_count(), parses, &o->workers, &o->per_worker);
}
