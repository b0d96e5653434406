/*
 * exec.c - --exec hooks (see exec.h).
 *
 * Why posix_spawn and pidfds: the main thread may share the process
 * with worker threads (thread mode), so nothing may run between fork()
 * and exec() but async-signal-safe calls; posix_spawn() does that part
 * (glibc: clone(CLONE_VFORK), and an exec failure comes back as its
 * return value).  A pidfd tells the loop that a hook exited without a
 * SIGCHLD handler (which would be the embedder's, and would race the
 * pool's own wait4() of worker processes) and without a pipe the hook
 * would have to hold open (a descriptor of ours in the hook, and one
 * that any background process it starts would keep).
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

#include "exec.h"
#include "item.h"
#include "tune.h"
#include "mem.h"
#include "util.h"

extern char **environ;

#if defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_CLOSEFROM_NP 1
#endif

/* The variables a hook gets; any of them in our environment is not
 * passed on (unset when absent). */
static const char *const env_names[] = {
    "PAGEGRAB_URL", "PAGEGRAB_PATH", "PAGEGRAB_STATUS",
    "PAGEGRAB_CONTENT_TYPE", "PAGEGRAB_HASH", "PAGEGRAB_REFERRER"
};
#define N_ENV (sizeof(env_names) / sizeof(env_names[0]))

static const char pending_key[] = ",\"exec_pending\":true";

void pg__exec_init(struct pg__exec *x, const struct pg_options *o,
                   struct pg_job *job, const struct pg__logger *log,
                   struct pg_stats *stats)
{
    memset(x, 0, sizeof(*x));
    x->job = job;
    x->log = log;
    x->stats = stats;
    x->grace_ms = o->grace_ms;
    x->cmd = o->exec_cmd;
    x->outdir = o->output_dir ? o->output_dir : ".";
    x->jobs = o->exec_jobs;
    x->quiet = o->exec_quiet;
    x->epfd = -1;
}

enum pg_code pg__exec_setup(struct pg__exec *x, char *err, size_t errlen)
{
    unsigned i;

    if (!x->cmd)
        return PG_OK;
    if (!x->cmd[0]) {
        snprintf(err, errlen, "--exec: the command is empty");
        return PG_E_INVALID;
    }
    if (x->jobs > 1024) {
        snprintf(err, errlen, "hooks at once (--exec-jobs) must be "
                 "0..1024, not %u", x->jobs);
        return PG_E_INVALID;
    }
    if (x->jobs == 0)
        x->jobs = pg__cpu_count();
    x->slot = pg__calloc(x->jobs, sizeof(*x->slot));
    x->pidfd = pg__calloc(x->jobs, sizeof(*x->pidfd));
    if (!x->slot || !x->pidfd) {
        snprintf(err, errlen, "out of memory");
        return PG_E_NOMEM;
    }
    for (i = 0; i < x->jobs; i++)
        x->pidfd[i] = -1;
#ifdef __linux__
    x->epfd = epoll_create1(EPOLL_CLOEXEC);
#endif
    return PG_OK;
}

static void hook_free(struct pg__hook *h)
{
    if (!h)
        return;
    pg__item_free(h->it);
    pg_free(h->line);
    pg_free(h);
}

/* ---- --resume ---------------------------------------------------------- */

/* The item a pending record stands for (what the hook's variables
 * need).  NULL on out of memory. */
static struct pg__item *item_of_record(const struct pg__manifest_rec *rec)
{
    struct pg__item *it = pg__item_new();
    struct pg_result *r;

    if (!it)
        return NULL;
    r = &it->res;
    r->url = pg__strdup(rec->url);
    r->path = pg__strdup(rec->path);
    r->content_type = rec->content_type ? pg__strdup(rec->content_type)
                                        : NULL;
    r->referrer = rec->referrer ? pg__strdup(rec->referrer) : NULL;
    if (!r->url || !r->path || (rec->content_type && !r->content_type) ||
        (rec->referrer && !r->referrer)) {
        pg__item_free(it);
        return NULL;
    }
    if (rec->hash && strlen(rec->hash) < sizeof(it->hash)) {
        memcpy(it->hash, rec->hash, strlen(rec->hash) + 1);
        r->hash = it->hash;
    }
    r->status = PG_ST_OK;
    r->exec_state = PG_EXEC_PENDING;
    return it;
}

enum pg_code pg__exec_resume_add(struct pg__exec *x,
                                 const struct pg__manifest_rec *rec,
                                 uint64_t url_hash)
{
    struct pg__hook *h;

    if (!x->cmd || !rec->path)
        return PG_OK;
    h = pg__calloc(1, sizeof(*h));
    if (!h)
        return PG_E_NOMEM;
    h->it = item_of_record(rec);
    h->line = pg__strndup(rec->line, rec->len);
    if (!h->it || !h->line) {
        hook_free(h);
        return PG_E_NOMEM;
    }
    h->len = rec->len;
    h->url_hash = url_hash;
    h->next = x->resumed;
    x->resumed = h;
    return PG_OK;
}

enum pg_code pg__exec_resume_start(struct pg__exec *x,
                                   struct pg__nameset *done)
{
    struct pg__hook *h, *next, *todo = NULL;
    size_t n = 0;

    /* Newest first: the last pending record of a URL is the one kept. */
    for (h = x->resumed, x->resumed = NULL; h; h = next) {
        uint32_t v = 0;

        next = h->next;
        if (!pg__nameset_get(done, h->url_hash, &v) ||
            !(v & RESUME_HOOK)) {
            hook_free(h);
            continue;
        }
        if (pg__nameset_put(done, h->url_hash, v & ~RESUME_HOOK)) {
            hook_free(h);
            return PG_E_NOMEM;
        }
        h->next = todo;   /* back to the file's order */
        todo = h;
        n++;
    }
    for (h = todo; h; h = next) {
        next = h->next;
        h->next = NULL;
        if (x->q_tail)
            x->q_tail->next = h;
        else
            x->q_head = h;
        x->q_tail = h;
        x->queued++;
    }
    if (n)
        pg__log(x->log, PG_LOG_INFO, "--resume: %zu hook(s) did not "
                "end in the last run; running them again", n);
    return PG_OK;
}

/* ---- starting a hook ----------------------------------------------------- */

/* "$1": the output directory as given joined with the saved name. */
static char *hook_path(const struct pg__exec *x, const char *rel)
{
    size_t d = strlen(x->outdir), n = strlen(rel);
    int dot = !strcmp(x->outdir, ".") || x->outdir[0] == '-';
    char *p = pg__calloc(1, d + n + 4);

    if (!p)
        return NULL;
    if (dot && strcmp(x->outdir, "."))
        snprintf(p, d + n + 4, "./%s/%s", x->outdir, rel);
    else if (dot)
        snprintf(p, d + n + 4, "./%s", rel);
    else
        snprintf(p, d + n + 4, "%s%s%s", x->outdir,
                 x->outdir[d - 1] == '/' ? "" : "/", rel);
    return p;
}

static void free_env(char **env, size_t from)
{
    size_t i;

    if (!env)
        return;
    for (i = from; env[i]; i++)
        pg_free(env[i]);
    pg_free(env);
}

/* A variable "NAME=value" (value NULL: none); -1 on out of memory. */
static int add_var(char **env, size_t *n, const char *name, const char *v)
{
    size_t len;

    if (!v)
        return 0;
    len = strlen(name) + strlen(v) + 2;
    env[*n] = pg__calloc(1, len);
    if (!env[*n])
        return -1;
    snprintf(env[*n], len, "%s=%s", name, v);
    env[++*n] = NULL;
    return 0;
}

/*
 * Our environment without the PAGEGRAB_* variables of env_names, then
 * the hook's.  *own: where the allocated strings start.
 */
static char **build_env(const struct pg_result *r, const char *path,
                        size_t *own)
{
    const char *vals[N_ENV] = { r->url, path, pg_status_name(r->status),
                                r->content_type, r->hash, r->referrer };
    size_t n = 0, k = 0, i, j;
    char **env;

    while (environ && environ[n])
        n++;
    env = pg__calloc(n + N_ENV + 1, sizeof(*env));
    if (!env)
        return NULL;
    for (i = 0; i < n; i++) {
        for (j = 0; j < N_ENV; j++) {
            size_t l = strlen(env_names[j]);

            if (!strncmp(environ[i], env_names[j], l) &&
                environ[i][l] == '=')
                break;
        }
        if (j == N_ENV)
            env[k++] = environ[i];
    }
    *own = k;
    env[k] = NULL;
    for (j = 0; j < N_ENV; j++) {
        if (add_var(env, &k, env_names[j], vals[j])) {
            free_env(env, *own);
            return NULL;
        }
    }
    return env;
}

/* posix_spawn the hook: its own group, default signals, stdin (and with
 * quiet, stdout and stderr) /dev/null, nothing else open.  errno. */
static int spawn_sh(const struct pg__exec *x, char *path, char **env,
                    pid_t *pid)
{
    char *argv[] = { "sh", "-c", (char *)x->cmd, "sh", path, NULL };
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t all, none;
    int rc;

    sigfillset(&all);
    sigemptyset(&none);
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
        return rc;
    if ((rc = posix_spawnattr_init(&at)) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
                                  POSIX_SPAWN_SETSIGDEF |
                                  POSIX_SPAWN_SETSIGMASK);
    if (!rc)
        rc = posix_spawnattr_setpgroup(&at, 0);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(&at, &all);
    if (!rc)
        rc = posix_spawnattr_setsigmask(&at, &none);
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
                                              O_RDONLY, 0);
    if (!rc && x->quiet)
        rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
                                              O_WRONLY, 0);
    if (!rc && x->quiet)
        rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
#ifdef HAVE_CLOSEFROM_NP
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    if (!rc) {
        /* Our buffered output first, then the hook's. */
        fflush(NULL);
        rc = posix_spawn(pid, "/bin/sh", &fa, &at, argv, env);
    }
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* A pidfd for pid in the epoll set, or -1 (the loop then polls). */
static int watch(struct pg__exec *x, pid_t pid, unsigned i)
{
    int fd = -1;

#if defined(__linux__) && defined(SYS_pidfd_open)
    struct epoll_event ev;

    if (x->epfd < 0)
        return -1;
    fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return -1;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        fd = -1;
    }
#else
    (void)x;
    (void)pid;
    (void)i;
#endif
    return fd;
}

static void complete(struct pg__exec *x, struct pg__hook *h, int code);

/* Start h in slot i; a hook that cannot start ends with status 127. */
static void start(struct pg__exec *x, struct pg__hook *h, unsigned i)
{
    const struct pg_result *r = &h->it->res;
    char errtxt[128];
    char *path = hook_path(x, r->path);
    size_t own = 0;
    char **env = path ? build_env(r, path, &own) : NULL;
    int rc;

    /* A hook may read the manifest: its record is written first. */
    pg__job_flush_manifest(x->job);
    rc = env ? spawn_sh(x, path, env, &h->pid) : ENOMEM;

    free_env(env, own);
    pg_free(path);
    h->t0 = pg__now();
    if (rc) {
        pg__log(x->log, PG_LOG_ERROR, "%s: cannot run the --exec hook: "
                "%s", r->url, pg__errstr(rc, errtxt, sizeof(errtxt)));
        h->pid = 0;
        complete(x, h, 127);
        return;
    }
    /* Also here: where posix_spawn returns before the child runs. */
    setpgid(h->pid, h->pid);
    x->slot[i] = h;
    x->pidfd[i] = watch(x, h->pid, i);
    x->running++;
}

/* Start queued hooks while there is room. */
static void start_queued(struct pg__exec *x)
{
    unsigned i = 0;

    while (!x->stopping && x->q_head && x->running < x->jobs) {
        struct pg__hook *h = x->q_head;

        x->q_head = h->next;
        if (!x->q_head)
            x->q_tail = NULL;
        x->queued--;
        h->next = NULL;
        while (x->slot[i])
            i++;
        start(x, h, i);
    }
}

int pg__exec_wants(const struct pg__exec *x, struct pg__item *it)
{
    const struct pg_result *r = &it->res;

    /* The hook point: a file saved now, or saved again (--update:
     * changed); never an unchanged one. */
    if (!x->cmd || !r->path ||
        (r->status != PG_ST_OK && r->status != PG_ST_CHANGED))
        return 0;
    it->res.exec_state = PG_EXEC_PENDING;
    return 1;
}

enum pg_code pg__exec_push(struct pg__exec *x, struct pg__item *it,
                           int stop)
{
    struct pg__hook *h;

    pg__links_release(&it->links);
    /* The job stops: the pending record stays for --resume. */
    if (stop || x->stopping) {
        pg__item_free(it);
        return PG_OK;
    }
    h = pg__calloc(1, sizeof(*h));
    if (!h) {
        pg__item_free(it);
        return PG_E_NOMEM;
    }
    h->it = it;
    if (x->q_tail)
        x->q_tail->next = h;
    else
        x->q_head = h;
    x->q_tail = h;
    x->queued++;
    start_queued(x);
    return PG_OK;
}

/* ---- a hook ended -------------------------------------------------------- */

/* The pending record completed: its key replaced by the hook's end. */
static void record_line(struct pg__exec *x, const struct pg__hook *h)
{
    const struct pg_result *r = &h->it->res;
    const char *at = strstr(h->line, pending_key);
    char tail[96];
    size_t head, t, rest;
    char *out;

    if (!at)
        return;
    head = (size_t)(at - h->line);
    rest = h->len - head - (sizeof(pending_key) - 1);
    t = (size_t)snprintf(tail, sizeof(tail), ",\"exec_status\":%d,"
                         "\"exec_ms\":%.3f", r->exec_status, r->exec_ms);
    out = pg__calloc(1, head + t + rest + 1);
    if (!out) {
        pg__job_fail(x->job, PG_E_NOMEM);
        return;
    }
    memcpy(out, h->line, head);
    memcpy(out + head, tail, t);
    memcpy(out + head + t, at + sizeof(pending_key) - 1, rest);
    pg__job_record(x->job, NULL, out, head + t + rest);
    pg_free(out);
}

/* The hook ended with code (exit status, or 128 + signal): record it. */
static void complete(struct pg__exec *x, struct pg__hook *h, int code)
{
    struct pg_result *r = &h->it->res;

    r->exec_state = PG_EXEC_DONE;
    r->exec_status = code;
    r->exec_ms = (pg__now() - h->t0) * 1000.0;
    x->stats->exec_done++;
    if (code) {
        x->stats->exec_failed++;
        pg__log(x->log, PG_LOG_WARN, "%s: the --exec hook on '%s' %s "
                "%d", r->url, r->path, code > 128 ? "was killed by signal"
                : "exited with status", code > 128 ? code - 128 : code);
    }
    if (h->line)
        record_line(x, h);
    else
        pg__job_record(x->job, r, NULL, 0);
    hook_free(h);
}

/* Slot i's hook is reaped: free the slot, record the end. */
static void ended(struct pg__exec *x, unsigned i, int st, int lost)
{
    struct pg__hook *h = x->slot[i];
    int code = lost ? 255 : WIFSIGNALED(st) ? 128 + WTERMSIG(st)
                                             : WEXITSTATUS(st);

    x->slot[i] = NULL;
    if (x->pidfd[i] >= 0)
        close(x->pidfd[i]);   /* (also leaves the epoll set) */
    x->pidfd[i] = -1;
    x->running--;
    if (x->stopping) {
        /* Stopped by us, or not: it did not run to its end in this job,
         * so --resume runs it again. */
        pg__log(x->log, PG_LOG_INFO, "%s: the --exec hook on '%s' was "
                "stopped; --resume runs it again", h->it->res.url,
                h->it->res.path);
        hook_free(h);
        return;
    }
    if (lost)
        pg__log(x->log, PG_LOG_ERROR, "%s: the --exec hook (pid %ld) "
                "was reaped by someone else", h->it->res.url, (long)h->pid);
    complete(x, h, code);
}

/* Reap every hook that ended (by its pid, never any child). */
static void reap(struct pg__exec *x)
{
    unsigned i;

    for (i = 0; i < x->jobs && x->running > 0; i++) {
        pid_t r;
        int st = 0;

        if (!x->slot[i])
            continue;
        do
            r = waitpid(x->slot[i]->pid, &st, WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r == x->slot[i]->pid)
            ended(x, i, st, 0);
        else if (r < 0)
            ended(x, i, 0, 1);
    }
}

/* Signal every running hook's process group. */
static void signal_all(struct pg__exec *x, int sig)
{
    unsigned i;

    for (i = 0; i < x->jobs; i++) {
        if (x->slot[i] && kill(-x->slot[i]->pid, sig) < 0)
            kill(x->slot[i]->pid, sig);
    }
}

/* The job stops: drop what waits, TERM what runs. */
static void begin_stop(struct pg__exec *x, double now, double grace_end)
{
    struct pg__hook *h, *next;
    size_t dropped = x->queued;

    x->stopping = 1;
    x->kill_at = grace_end > 0 ? grace_end
                               : now + (double)x->grace_ms / 1000.0;
    for (h = x->q_head; h; h = next) {
        next = h->next;
        hook_free(h);
    }
    x->q_head = x->q_tail = NULL;
    x->queued = 0;
    if (x->running || dropped)
        pg__log(x->log, PG_LOG_WARN, "stopping: %u --exec hook(s) "
                "sent SIGTERM, %zu not started (--resume runs them)",
                x->running, dropped);
    signal_all(x, SIGTERM);
}

void pg__exec_poll(struct pg__exec *x, int stop, double grace_end,
                   int kill_now)
{
    double now;

    if (!x->cmd)
        return;
    now = pg__now();
    reap(x);
    if (stop && !x->stopping)
        begin_stop(x, now, grace_end);
    if (x->stopping && !x->killed && x->running &&
        (now >= x->kill_at || kill_now)) {
        x->killed = 1;
        pg__log(x->log, PG_LOG_WARN, "%u --exec hook(s) still running: "
                "SIGKILL", x->running);
        signal_all(x, SIGKILL);
    }
    start_queued(x);
}

int pg__exec_busy(const struct pg__exec *x)
{
    return x->running > 0 || x->queued > 0;
}

int pg__exec_full(const struct pg__exec *x)
{
    return x->queued >= EXEC_QUEUE_MAX;
}

int pg__exec_timeout(const struct pg__exec *x, double now)
{
    int ms = -1;
    unsigned i;

    if (x->running == 0)
        return -1;
    for (i = 0; i < x->jobs; i++) {
        if (x->slot[i] && x->pidfd[i] < 0)
            ms = EXEC_POLL_MS;
    }
    if (x->stopping && !x->killed) {
        double left = (x->kill_at - now) * 1000.0 + 1;
        int k = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;

        if (ms < 0 || k < ms)
            ms = k;
    }
    return ms;
}

void pg__exec_finish(struct pg__exec *x, int stop, double grace_end,
                     int kill_now)
{
    pg__exec_poll(x, stop, grace_end, kill_now);
    while (x->running > 0) {
        int ms = pg__exec_timeout(x, pg__now());
        struct timespec ts;

        if (ms < 0 || ms > EXEC_POLL_MS)
            ms = EXEC_POLL_MS;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)ms * 1000000L;
        nanosleep(&ts, NULL);
        pg__exec_poll(x, stop, grace_end, kill_now);
    }
}

void pg__exec_release(struct pg__exec *x)
{
    struct pg__hook *h, *next;
    unsigned i;

    for (h = x->q_head; h; h = next) {
        next = h->next;
        hook_free(h);
    }
    for (h = x->resumed; h; h = next) {
        next = h->next;
        hook_free(h);
    }
    x->q_head = x->q_tail = x->resumed = NULL;
    for (i = 0; x->slot && i < x->jobs; i++) {
        hook_free(x->slot[i]);
        if (x->pidfd[i] >= 0)
            close(x->pidfd[i]);
    }
    pg_free(x->slot);
    pg_free(x->pidfd);
    x->slot = NULL;
    x->pidfd = NULL;
    if (x->epfd >= 0)
        close(x->epfd);
    x->epfd = -1;
}
