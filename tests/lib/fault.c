/*
 * fault.c - the process and namespace helpers of the fault tolerance
 * tests (see fault.h). The fault-injecting routes are options of the one
 * test server (server.c).
 */
/* unshare(), struct ifreq and the SIOCSIF* requests are Linux/GNU. */
#define _GNU_SOURCE

#include "fault.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

double pg_fault_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pg_fault_sleep_ms(unsigned ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static const char *errtext(int err, char *buf, size_t len)
{
    if (strerror_r(err, buf, len) != 0)
        snprintf(buf, len, "error %d", err);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

static int verbose(void)
{
    const char *v = getenv("PG_TEST_VERBOSE");

    return v && *v && strcmp(v, "0") != 0;
}

void pg_proc_start(struct pg_test *t, struct pg_proc *p,
                   const char *stdin_path, unsigned flags,
                   const char *const *args)
{
    char **argv;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc;
    char eb[128];

    memset(p, 0, sizeof(*p));
    t->runs++;
    snprintf(p->out_path, sizeof(p->out_path), "%s/run%u.stdout", t->dir,
             t->runs);
    snprintf(p->err_path, sizeof(p->err_path), "%s/run%u.stderr", t->dir,
             t->runs);
    argv = pg_test_argv(t, args);
    p->cmd = pg_test_join_argv(argv);
    if (verbose())
        fprintf(stderr, "+ %s &\n", p->cmd);
    pg_spawn_prepare(t, &fa, &attr, stdin_path, p->out_path, p->err_path);
    if (flags & PG_PROC_OWN_GROUP) {
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                 POSIX_SPAWN_SETSIGDEF |
                                 POSIX_SPAWN_SETPGROUP);
        p->own_group = 1;
    }
    p->start = pg_fault_now();
    rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(argv);
    if (rc != 0)
        pg_test_fail(t, "cannot run '%s': %s", t->bin,
                     errtext(rc, eb, sizeof(eb)));
    snprintf(t->last_err, sizeof(t->last_err), "%s", p->err_path);
}

int pg_proc_done(struct pg_proc *p)
{
    int status;
    pid_t w;

    if (p->done)
        return 1;
    w = waitpid(p->pid, &status, WNOHANG);
    if (w == p->pid) {
        p->done = 1;
        p->status = status;
        p->end = pg_fault_now();
        return 1;
    }
    return 0;
}

int pg_proc_wait(struct pg_test *t, struct pg_proc *p, unsigned timeout_s,
                 int allow_signal, struct pg_run *r)
{
    unsigned limit = pg_test_scaled(timeout_s ? timeout_s : 60);
    double deadline = p->start + limit;

    memset(r, 0, sizeof(*r));
    while (!pg_proc_done(p)) {
        if (pg_fault_now() >= deadline) {
            if (p->own_group)
                kill(-p->pid, SIGKILL);
            kill(p->pid, SIGKILL);
            while (!pg_proc_done(p))
                pg_fault_sleep_ms(5);
            pg_test_fail(t, "time limit of %u s exceeded (killed): %s",
                         limit, p->cmd);
        }
        pg_fault_sleep_ms(5);
    }
    r->secs = p->end - p->start;
    snprintf(r->out_path, sizeof(r->out_path), "%s", p->out_path);
    snprintf(r->err_path, sizeof(r->err_path), "%s", p->err_path);
    r->out = pg_read_file(p->out_path, &r->out_len);
    r->err = pg_read_file(p->err_path, &r->err_len);
    if (!r->out || !r->err)
        pg_test_fail(t, "cannot read the captured output of: %s", p->cmd);
    if (verbose()) {
        fprintf(stderr, "  -> %s %d after %.2f s\n",
                WIFEXITED(p->status) ? "exit" : "signal",
                WIFEXITED(p->status) ? WEXITSTATUS(p->status)
                                     : WTERMSIG(p->status),
                r->secs);
        if (r->err_len)
            fprintf(stderr, "%s%s", r->err,
                    r->err[r->err_len - 1] == '\n' ? "" : "\n");
    }
    if (WIFSIGNALED(p->status)) {
        if (!allow_signal)
            pg_test_fail(t, "killed by signal %d: %s", WTERMSIG(p->status),
                         p->cmd);
        r->code = 128 + WTERMSIG(p->status);
    } else {
        r->code = WEXITSTATUS(p->status);
    }
    return r->code;
}

/* Parse "/proc/<pid>/stat": state and parent. 0 on success. */
static int read_stat(const char *pid, char *state, pid_t *ppid,
                     char comm[16])
{
    char path[64];
    char buf[1024];
    ssize_t n;
    int fd;
    char *p;
    char *end;
    long v;

    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: use the last
     * ')'. */
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
        return -1;
    if (comm) {
        const char *open_paren = strchr(buf, '(');
        size_t len = open_paren && open_paren < p ?
                     (size_t)(p - open_paren - 1) : 0;

        if (len > 15)
            len = 15;
        memcpy(comm, open_paren ? open_paren + 1 : "", len);
        comm[len] = '\0';
    }
    *state = p[2];
    errno = 0;
    v = strtol(p + 4, &end, 10);
    if (errno || end == p + 4)
        return -1;
    *ppid = (pid_t)v;
    return 0;
}

size_t pg_proc_children(pid_t parent, struct pg_child *out, size_t max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    size_t k = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char state;
        char comm[16];
        pid_t ppid;
        char *end;
        long v;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        errno = 0;
        v = strtol(e->d_name, &end, 10);
        if (errno || *end)
            continue;
        if (read_stat(e->d_name, &state, &ppid, comm) != 0 ||
            ppid != parent)
            continue;
        if (out && k < max) {
            out[k].pid = (pid_t)v;
            out[k].state = state;
            memcpy(out[k].comm, comm, sizeof(comm));
        }
        k++;
    }
    closedir(d);
    return k;
}

int pg_child_is_worker(const struct pg_child *c)
{
    return !strcmp(c->comm, PG_TEST_WORKER_COMM);
}

/* The inode of the TCP socket whose local port is port (any 127.x). */
static unsigned long socket_inode(unsigned port)
{
    FILE *f = fopen("/proc/net/tcp", "re");
    char line[512];
    unsigned long found = 0;

    if (!f)
        return 0;
    if (!fgets(line, sizeof(line), f)) {
        fclose(f);
        return 0;
    }
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned laddr;
        unsigned lport;
        unsigned raddr;
        unsigned rport;
        unsigned st;
        unsigned long inode;

        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*u: %x:%x %x:%x %x %*x:%*x %*x:%*x %*x %*u %*u "
                   "%lu", &laddr, &lport, &raddr, &rport, &st, &inode) != 6)
            continue;
        if (lport == port && inode != 0)
            found = inode;
    }
    fclose(f);
    return found;
}

static int holds_inode(pid_t pid, unsigned long inode)
{
    char dir[64];
    char want[64];
    DIR *d;
    struct dirent *e;
    int found = 0;

    snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    d = opendir(dir);
    if (!d)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[64 + 256 + 2];
        char link[64];
        ssize_t n;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        n = readlink(path, link, sizeof(link) - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        found = !strcmp(link, want);
    }
    closedir(d);
    return found;
}

/* The inodes of the TCP sockets (IPv4) whose remote port is port. */
static size_t remote_inodes(unsigned port, unsigned long *out, size_t max)
{
    FILE *f = fopen("/proc/net/tcp", "re");
    char line[512];
    size_t n = 0;

    if (!f)
        return 0;
    if (!fgets(line, sizeof(line), f)) {
        fclose(f);
        return 0;
    }
    while (n < max && fgets(line, sizeof(line), f)) {
        unsigned laddr, lport, raddr, rport, st;
        unsigned long inode;

        if (sscanf(line, " %*u: %x:%x %x:%x %x %*x:%*x %*x:%*x %*x %*u %*u "
                   "%lu", &laddr, &lport, &raddr, &rport, &st, &inode) != 6)
            continue;
        if (rport == port && inode != 0)
            out[n++] = inode;
    }
    fclose(f);
    return n;
}

size_t pg_proc_tcp_to(pid_t pid, unsigned port)
{
    unsigned long inodes[256];
    size_t n = remote_inodes(port, inodes, 256), k = 0;

    for (size_t i = 0; i < n; i++)
        k += (size_t)holds_inode(pid, inodes[i]);
    return k;
}

pid_t pg_proc_socket_owner(pid_t parent, unsigned port)
{
    unsigned long inode = socket_inode(port);
    struct pg_child kids[1100];
    size_t n;

    if (!inode)
        return 0;
    n = pg_proc_children(parent, kids, sizeof(kids) / sizeof(kids[0]));
    if (n > sizeof(kids) / sizeof(kids[0]))
        n = sizeof(kids) / sizeof(kids[0]);
    for (size_t i = 0; i < n; i++) {
        if (holds_inode(kids[i].pid, inode))
            return kids[i].pid;
    }
    return holds_inode(parent, inode) ? parent : 0;
}

/* ------------------------------------------------------------------ */
/* Namespaces                                                          */
/* ------------------------------------------------------------------ */

static int set_err(char *err, size_t len, const char *what)
{
    char eb[128];

    snprintf(err, len, "%s: %s", what, errtext(errno, eb, sizeof(eb)));
    return -1;
}

static int if_up(int s, const char *name)
{
    struct ifreq ifr;

    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
        return -1;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(s, SIOCSIFFLAGS, &ifr);
}

int pg_fault_netns(const char *const *extra_addrs, char *err, size_t len)
{
    int s;

    if (unshare(CLONE_NEWNET) != 0)
        return set_err(err, len, "unshare(CLONE_NEWNET)");
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return set_err(err, len, "socket");
    if (if_up(s, "lo") != 0) {
        set_err(err, len, "cannot bring 'lo' up");
        close(s);
        return -1;
    }
    for (size_t i = 0; extra_addrs && extra_addrs[i]; i++) {
        struct ifreq ifr;
        struct sockaddr_in *sin;

        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo:%u",
                 (unsigned)(i % 1000) + 1);
        sin = (struct sockaddr_in *)(void *)&ifr.ifr_addr;
        sin->sin_family = AF_INET;
        if (inet_pton(AF_INET, extra_addrs[i], &sin->sin_addr) != 1) {
            snprintf(err, len, "bad address '%s'", extra_addrs[i]);
            close(s);
            return -1;
        }
        if (ioctl(s, SIOCSIFADDR, &ifr) != 0) {
            set_err(err, len, "SIOCSIFADDR");
            close(s);
            return -1;
        }
        sin = (struct sockaddr_in *)(void *)&ifr.ifr_netmask;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(0xFFFFFFFFu);
        if (ioctl(s, SIOCSIFNETMASK, &ifr) != 0 ||
            if_up(s, ifr.ifr_name) != 0) {
            set_err(err, len, "cannot configure the extra address");
            close(s);
            return -1;
        }
    }
    close(s);
    return 0;
}

int pg_fault_bind(const char *src, const char *target, char *err,
                  size_t len)
{
    if (unshare(CLONE_NEWNS) != 0)
        return set_err(err, len, "unshare(CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return set_err(err, len, "cannot make the mounts private");
    if (mount(src, target, NULL, MS_BIND, NULL) != 0)
        return set_err(err, len, "mount --bind");
    return 0;
}

int pg_fault_tmpfs(const char *dir, size_t size, char *err, size_t len)
{
    char opts[64];

    if (unshare(CLONE_NEWNS) != 0)
        return set_err(err, len, "unshare(CLONE_NEWNS)");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return set_err(err, len, "cannot make the mounts private");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return set_err(err, len, "mkdir");
    snprintf(opts, sizeof(opts), "size=%zu,mode=0755", size);
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
        return set_err(err, len, "mount -t tmpfs");
    return 0;
}
