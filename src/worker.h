/*
 * worker.h - the worker program of the process pool, run in the child
 * that pool_proc.c's spawn() forks (see worker.c).
 */
#ifndef PG_WORKER_H
#define PG_WORKER_H

#include <sys/types.h>

#include "pool.h"

/* In the child, right after fork(): remember the parent and set the
 * worker's signal dispositions (SIGPIPE, SIGINT, SIGHUP ignored;
 * SIGTERM, SIGUSR1, SIGUSR2 handled). */
void pg__worker_signals(pid_t parent);

/* Serve the parent on fd until it closes it or is gone; worker number
 * self of cfg->workers.  Returns; the caller _exit()s. */
void pg__worker_main(const struct pg__pool_config *cfg, unsigned self,
                     int fd);

#endif
