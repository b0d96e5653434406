/*
 * fault.h - the client-side helpers of the fault tolerance tests
 * (tests/integration/test_faults.c and others): starting pagegrab
 * without waiting, watching its processes, finding the process that
 * holds a connection, private network and mount namespaces.
 *
 * The fault-injecting routes (503s, resets, stalls, drips, gzip bombs,
 * numbered file families, ...) are options of the one test server,
 * server.h, which this header includes.
 */
#ifndef PG_TEST_FAULT_H
#define PG_TEST_FAULT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "server.h"
#include "testlib.h"

/* ---- Processes ---- */

/* A program started without waiting for it. */
struct pg_proc {
    pid_t pid;
    double start;
    double end;              /* when it was seen to end (0 = running) */
    int own_group;           /* started as leader of its own group */
    int done;                /* reaped; status holds the wait status */
    int status;
    char out_path[PATH_MAX + 64];
    char err_path[PATH_MAX + 64];
    char *cmd;
};

enum pg_proc_flags {
    /* Put the program in a new process group (pgid = pid), e.g. to send
     * a terminal's Ctrl-C to it and its workers with kill(-pid, ...). */
    PG_PROC_OWN_GROUP = 1 << 0
};

/*
 * Start the binary under test like pg_run() (PG_TEST_WRAPPER, stdin from
 * stdin_path or /dev/null, stdout/stderr captured) but return at once.
 */
void pg_proc_start(struct pg_test *t, struct pg_proc *p,
                   const char *stdin_path, unsigned flags,
                   const char *const *args);
/*
 * Wait for it (at most timeout_s, scaled; then SIGKILL and fail) and
 * fill r like pg_run(). If allow_signal is 0 a death by signal fails the
 * test. Returns the exit status (128 + signal when killed).
 */
int pg_proc_wait(struct pg_test *t, struct pg_proc *p, unsigned timeout_s,
                 int allow_signal, struct pg_run *r);
/* Has it ended? (Non-blocking; reaps it, then pg_proc_wait() returns
 * at once.) */
int pg_proc_done(struct pg_proc *p);

/* One process seen in /proc. */
struct pg_child {
    pid_t pid;
    char state;              /* 'R', 'S', 'Z', ... */
    char comm[16];           /* its name: "pagegrab-worker" for a worker */
};

/* The name pagegrab's worker processes give themselves. */
#define PG_TEST_WORKER_COMM "pagegrab-worker"
/* Whether c is a worker process, not some other child (a sanitizer's
 * helper, say). */
int pg_child_is_worker(const struct pg_child *c);

/* The children of parent (from /proc/<pid>/stat), at most max; returns
 * how many exist. */
size_t pg_proc_children(pid_t parent, struct pg_child *out, size_t max);
/*
 * The child of parent holding the client end of a TCP connection from
 * 127.x local port `port` (found via /proc/net/tcp and /proc/<pid>/fd),
 * or parent itself, or 0 if none.
 */
pid_t pg_proc_socket_owner(pid_t parent, unsigned port);
/* How many of pid's descriptors are TCP (IPv4) sockets connected to
 * remote port `port` (from /proc/net/tcp and /proc/<pid>/fd). */
size_t pg_proc_tcp_to(pid_t pid, unsigned port);

/* ---- Environment (Linux namespaces; need CAP_SYS_ADMIN) ---- */

/*
 * Move the calling process into a new network namespace with only the
 * loopback interface, brought up; then add each extra IPv4 address (NULL
 * terminated list) to it. Call before starting any thread. Returns 0, or
 * -1 with the reason in err.
 */
int pg_fault_netns(const char *const *extra_addrs, char *err, size_t len);
/*
 * Move the calling process into a private mount namespace and mount a
 * tmpfs of `size` bytes on dir (created first). The mount disappears with
 * the namespace when the test process ends. 0, or -1 with the reason.
 */
int pg_fault_tmpfs(const char *dir, size_t size, char *err, size_t len);
/*
 * Move the calling process into a private mount namespace and bind-mount
 * the directory src over target (e.g. a test's CA directory over
 * /etc/ssl/certs); programs it starts see the same.  0, or -1 with the
 * reason.
 */
int pg_fault_bind(const char *src, const char *target, char *err,
                  size_t len);

/* ---- Small helpers ---- */

double pg_fault_now(void);
void pg_fault_sleep_ms(unsigned ms);

#endif /* PG_TEST_FAULT_H */
