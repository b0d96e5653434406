/*
 * h2server.c - see h2server.h.
 */
#include "h2server.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* nghttpd lives in /usr/sbin, which a user's PATH may lack. */
static char *find_nghttpd(void)
{
    static const char *const fixed[] = {"/usr/sbin/nghttpd",
                                        "/usr/bin/nghttpd",
                                        "/usr/local/bin/nghttpd"};
    const char *path = getenv("PATH");
    size_t i;

    while (path && *path) {
        size_t n = strcspn(path, ":");
        char *p = pg_strdupf("%.*s/nghttpd", (int)n, path);

        if (n > 0 && access(p, X_OK) == 0)
            return p;
        free(p);
        path += n + (path[n] == ':');
    }
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (access(fixed[i], X_OK) == 0)
            return pg_strdupf("%s", fixed[i]);
    }
    return NULL;
}

/* Does pid hold the socket with this inode? */
static int holds(pid_t pid, unsigned long inode)
{
    char dir[64], want[64];
    struct dirent *e;
    int found = 0;
    DIR *d;

    snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    d = opendir(dir);
    if (!d)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[64 + 256 + 2], link[64];
        ssize_t n;

        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        n = readlink(path, link, sizeof(link) - 1);
        if (n > 0) {
            link[n] = '\0';
            found = !strcmp(link, want);
        }
    }
    closedir(d);
    return found;
}

/* The port pid listens on (IPv4), 0 if none yet.  nghttpd is given
 * port 0 and does not say which one it got. */
static unsigned listening_port(pid_t pid)
{
    char line[512];
    unsigned port = 0;
    FILE *f = fopen("/proc/net/tcp", "re");

    if (!f)
        return 0;
    while (!port && fgets(line, sizeof(line), f)) {
        unsigned laddr, lport, raddr, rport, st;
        unsigned long inode;

        if (sscanf(line, " %*u: %x:%x %x:%x %x %*x:%*x %*x:%*x %*x %*u %*u "
                   "%lu", &laddr, &lport, &raddr, &rport, &st, &inode) != 6)
            continue;
        if (st == 0x0A && inode && holds(pid, inode))
            port = lport;
    }
    fclose(f);
    return port;
}

int pg_h2_start(struct pg_test *t, struct pg_h2_server *s, const char *dir,
                const char *cert_file, const char *key_file)
{
    char *bin = find_nghttpd();
    const char *errlog = s->err;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc, i;

    memset(s, 0, sizeof(*s));
    if (!bin)
        return -1;
    snprintf(s->log, sizeof(s->log), "%s/nghttpd.log", t->dir);
    snprintf(s->err, sizeof(s->err), "%s/nghttpd.err", t->dir);
    {
        char *const argv[] = {bin, "-v", "-a", "127.0.0.1", "-d",
                              (char *)dir, "0", (char *)key_file,
                              (char *)cert_file, NULL};

        pg_spawn_prepare(t, &fa, &attr, NULL, s->log, errlog);
        rc = posix_spawn(&s->pid, bin, &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
    }
    if (rc != 0) {
        char eb[128] = "";

        strerror_r(rc, eb, sizeof(eb));
        pg_test_fail(t, "cannot run '%s': %s", bin, eb);
    }
    for (i = 0; i < 500 && !s->port; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        int status;

        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            char *err = pg_read_file(errlog, NULL);

            s->pid = 0;
            pg_test_fail(t, "nghttpd exited at start: %s",
                         err ? err : "(no message)");
        }
        s->port = listening_port(s->pid);
        if (!s->port)
            nanosleep(&ts, NULL);
    }
    if (!s->port) {
        pg_h2_stop(s);
        pg_test_fail(t, "nghttpd did not listen within 5 s");
    }
    free(bin);
    return 0;
}

void pg_h2_stop(struct pg_h2_server *s)
{
    int status, i;

    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    for (i = 0; i < 200; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};

        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        nanosleep(&ts, NULL);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
}

void pg_h2_counts(const struct pg_h2_server *s, unsigned *conns,
                  unsigned *requests)
{
    const char *const logs[] = {s->log, s->err};
    char line[4096];
    size_t i;

    *conns = 0;
    *requests = 0;
    /* (The handshakes are reported on stderr, the frames on stdout.) */
    for (i = 0; i < 2; i++) {
        FILE *f = fopen(logs[i], "re");

        while (f && fgets(line, sizeof(line), f)) {
            if (strstr(line, "SSL/TLS handshake completed"))
                (*conns)++;
            else if (strstr(line, "recv (stream_id=") &&
                     strstr(line, ":path:"))
                (*requests)++;
        }
        if (f)
            fclose(f);
    }
}
