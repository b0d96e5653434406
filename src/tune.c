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
 *  - Transfers: about PG_TUNE_TRANSFERS at once in all for a batch,
 *    PG_TUNE_TRANSFERS_PARSE when pages are parsed, split over the
 *    workers (the multi interface).  Latency, not the CPU, bounds a
 *    batch from a distant server: 2,000 pages at 50 ms took 12.7 s with
 *    the old 8 x 1, 0.90 s with 2 x 64 and 0.53 s with 2 x 128 (medians
 *    of 5); 10,000 small pages took the same with 2 x 64 and 2 x 128
 *    (0.72 / 0.70 s), 200 x 1 MiB 3-10 % longer with 2 x 128 and 4 MiB
 *    more peak RSS (thread mode).  A crawl (50 list pages, 1,000 detail
 *    pages, 1,000 images) took 6-8 % longer with 4 x 64 than 4 x 32, and
 *    a crawl usually stays on one site: 128 there.  Both are ceilings of
 *    politeness: never more, however many CPUs.
 *  - The window: a worker of the defaults starts with fewer transfers,
 *    PG_TUNE_WINDOW_PER_CPU per CPU in all, and grows toward K only
 *    while it waits on the network (fetch.c).  A fast, near server is
 *    quickest with few: 2 x 16 against 2 x 128 took 0.55 / 0.60 s for
 *    10,000 small pages, 0.18 / 0.29 s for 200 x 1 MiB, and 4 x 8
 *    against 4 x 32 0.19 / 0.21 s for the crawl (medians of 5).
 *  - -j given alone keeps its old meaning, N blocking workers (K = 1):
 *    a user who lowers -j to spare a server gets exactly that many
 *    transfers.  -K given alone gets the CPU-based workers.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pagegrab.h"
#include "tune.h"

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

unsigned long pg__fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 0;
    return rl.rlim_cur > 1000000 ? 1000000ul : (unsigned long)rl.rlim_cur;
}

void pg__tune(unsigned cpus, int parses, unsigned long fds, int threads,
              unsigned *workers, unsigned *per_worker, unsigned *window)
{
    unsigned w = *workers, k = *per_worker;
    int chose_k = 0;

    if (cpus < 1)
        cpus = 1;
    if (w == 0) {
        w = parses ? 2 * cpus : cpus;
        if (w > PG_TUNE_MAX_WORKERS)
            w = PG_TUNE_MAX_WORKERS;
        if (k == 0) {
            k = (parses ? PG_TUNE_TRANSFERS_PARSE : PG_TUNE_TRANSFERS) / w;
            chose_k = 1;
        }
    }
    if (k == 0)             /* -j N alone: N blocking workers */
        k = 1;
    /* Not more transfers than descriptors: a default must not make
     * transfers fail with EMFILE (a given -K is the user's). */
    if (chose_k && fds > 0) {
        unsigned long cap = fds > PG_TUNE_FDS_RESERVE ?
            (fds - PG_TUNE_FDS_RESERVE) / PG_TUNE_FDS_PER_TRANSFER : 0;

        if (threads)
            cap /= w;
        if (k > cap)
            k = cap < 1 ? 1 : (unsigned)cap;
    }
    if (chose_k && *window == 0) {
        unsigned long win = (unsigned long)PG_TUNE_WINDOW_PER_CPU * cpus / w;

        if (win < PG_TUNE_WINDOW_MIN)
            win = PG_TUNE_WINDOW_MIN;
        *window = win < k ? (unsigned)win : 0;
    }
    *workers = w;
    *per_worker = k;
}

void pg_options_tune(struct pg_options *o)
{
    int parses = o->images || o->n_xpaths > 0 || o->n_follow > 0;

    if (o->workers && o->per_worker)
        return;
    pg__tune(pg__cpu_count(), parses, pg__fd_limit(),
             o->mode != PG_MODE_PROCESS, &o->workers, &o->per_worker,
             &o->window);
}
