/*
 * jar.c - see jar.h: the cookie jar (a libcurl share with cookies, DNS
 * and TLS sessions), its index of cookie lines keyed by (domain, path,
 * name) with the caps, cookies.txt loading and atomic saving.
 *
 * It is not the relay of cookies between processes (worker.c sends,
 * pool_proc.c applies and forwards; codec.c has the COOKIES frame).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashmap.h"
#include "jar.h"
#include "mem.h"
#include "url.h"
#include "util.h"

struct pg__jar {
    CURLSH *sh;
    CURL *easy;                 /* loads, applies and lists */
    int locked;
    int relay;
    const struct pg__logger *log;
    pthread_mutex_t mu[CURL_LOCK_DATA_LAST];  /* the share's locks */
    pthread_mutex_t idx_mu;     /* guards the rest (locked jars) */
    struct pg__nameset idx;     /* key hash -> index + 1 into line */
    char **line;
    size_t n, cap, bytes;
    char **fresh;               /* relay: new lines, NULL-terminated */
    size_t n_fresh, cap_fresh;
    int warned;
};

static void share_lock(CURL *e, curl_lock_data data, curl_lock_access acc,
                       void *ud)
{
    struct pg__jar *j = ud;

    (void)e;
    (void)acc;
    if ((unsigned)data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&j->mu[data]);
}

static void share_unlock(CURL *e, curl_lock_data data, void *ud)
{
    struct pg__jar *j = ud;

    (void)e;
    if ((unsigned)data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&j->mu[data]);
}

struct pg__jar *pg__jar_new(int locked, int relay,
                            const struct pg__logger *log)
{
    struct pg__jar *j = pg__calloc(1, sizeof(*j));
    unsigned i;

    if (!j)
        return NULL;
    j->locked = locked;
    j->relay = relay;
    j->log = log;
    pg__nameset_init(&j->idx);
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&j->mu[i], NULL);
    pthread_mutex_init(&j->idx_mu, NULL);
    j->sh = curl_share_init();
    j->easy = curl_easy_init();
    if (!j->sh || !j->easy) {
        pg__jar_free(j);
        return NULL;
    }
    if (locked) {
        curl_share_setopt(j->sh, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(j->sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(j->sh, CURLSHOPT_USERDATA, j);
    }
    /* Connections are not shared: each worker keeps its own, so no lock
     * is held around a transfer's socket work. */
    curl_share_setopt(j->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
    curl_share_setopt(j->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(j->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_easy_setopt(j->easy, CURLOPT_SHARE, j->sh);
    curl_easy_setopt(j->easy, CURLOPT_COOKIEFILE, "");
    return j;
}

static void lines_clear(struct pg__jar *j)
{
    size_t i;

    for (i = 0; i < j->n; i++)
        pg_free(j->line[i]);
    j->n = 0;
    j->bytes = 0;
    pg__nameset_release(&j->idx);
    pg__nameset_init(&j->idx);
}

void pg__jar_free(struct pg__jar *j)
{
    unsigned i;

    if (!j)
        return;
    if (j->easy)
        curl_easy_cleanup(j->easy);
    if (j->sh)
        curl_share_cleanup(j->sh);
    lines_clear(j);
    pg__nameset_release(&j->idx);
    pg_free(j->line);
    pg__jar_lines_free(j->fresh);
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&j->mu[i]);
    pthread_mutex_destroy(&j->idx_mu);
    pg_free(j);
}

CURLSH *pg__jar_share(struct pg__jar *j)
{
    return j ? j->sh : NULL;
}

void pg__jar_lines_free(char **v)
{
    size_t i;

    for (i = 0; v && v[i]; i++)
        pg_free(v[i]);
    pg_free(v);
}

/* ---- the index ---------------------------------------------------------- */

/*
 * The key of a cookies.txt line: a hash of its domain, path and name
 * (fields 1, 3 and 6 of 7, tab-separated; "#HttpOnly_" before the
 * domain).  -1 if it is no cookie line.
 */
static int line_key(const char *line, uint64_t *key)
{
    char buf[PG_JAR_LINE_MAX + 4];
    const char *f[7];
    size_t n = 0, k = 0, len;
    const char *p = line;

    if (!strncmp(p, "#HttpOnly_", 10))
        p += 10;
    if (*p == '#' || strlen(p) > PG_JAR_LINE_MAX || strpbrk(p, "\r\n"))
        return -1;
    f[n++] = p;
    for (; *p && n < 7; p++) {
        if (*p == '\t')
            f[n++] = p + 1;
    }
    if (n < 6)
        return -1;
    /* domain \t path \t name */
    len = (size_t)(f[1] - 1 - f[0]);
    memcpy(buf + k, f[0], len);
    k += len;
    buf[k++] = '\t';
    len = (size_t)(f[3] - 1 - f[2]);
    memcpy(buf + k, f[2], len);
    k += len;
    buf[k++] = '\t';
    len = n == 7 ? (size_t)(f[6] - 1 - f[5]) : strlen(f[5]);
    memcpy(buf + k, f[5], len);
    k += len;
    *key = pg__hash64(buf, k);
    if (*key == 0)
        *key = 1;   /* 0 marks an empty slot */
    return 0;
}

/* Index line: 1 new or changed, 0 known, -1 refused (caps, malformed,
 * out of memory).  Under idx_mu for locked jars. */
static int index_put(struct pg__jar *j, const char *line)
{
    size_t len = strlen(line);
    uint64_t key;
    uint32_t v;
    char *copy;

    if (line_key(line, &key))
        return -1;
    if (pg__nameset_get(&j->idx, key, &v)) {
        char **old = &j->line[v - 1];
        size_t olen = strlen(*old);

        if (!strcmp(*old, line))
            return 0;
        if (j->bytes - olen + len > PG_JAR_MAX_BYTES ||
            !(copy = pg__strdup(line)))
            return -1;
        pg_free(*old);
        *old = copy;
        j->bytes = j->bytes - olen + len;
        return 1;
    }
    if (j->n >= PG_JAR_MAX_COOKIES || j->bytes + len > PG_JAR_MAX_BYTES)
        return -1;
    if (j->n == j->cap) {
        size_t cap = j->cap ? 2 * j->cap : 16;
        char **nl = pg__realloc(j->line, cap * sizeof(*nl));

        if (!nl)
            return -1;
        j->line = nl;
        j->cap = cap;
    }
    copy = pg__strdup(line);
    if (!copy || pg__nameset_put(&j->idx, key, (uint32_t)(j->n + 1))) {
        pg_free(copy);
        return -1;
    }
    j->line[j->n++] = copy;
    j->bytes += len;
    return 1;
}

static void add_fresh(struct pg__jar *j, const char *line)
{
    char *copy;

    if (j->n_fresh + 1 >= j->cap_fresh) {
        size_t cap = j->cap_fresh ? 2 * j->cap_fresh : 16;
        char **nf = pg__realloc(j->fresh, cap * sizeof(*nf));

        if (!nf)
            return;
        j->fresh = nf;
        j->cap_fresh = cap;
    }
    copy = pg__strdup(line);
    if (!copy)
        return;
    j->fresh[j->n_fresh++] = copy;
    j->fresh[j->n_fresh] = NULL;
}

static void warn_full(struct pg__jar *j)
{
    if (j->warned)
        return;
    j->warned = 1;
    pg__log(j->log, PG_LOG_WARN, "cookie jar full (%u cookies or %u bytes "
            "at most): further cookies are dropped", PG_JAR_MAX_COOKIES,
            PG_JAR_MAX_BYTES);
}

/* Expire line in easy's engine again: the same cookie, expired. */
static void expire(CURL *easy, const char *line)
{
    char buf[PG_JAR_LINE_MAX + 32];
    const char *p = line;
    unsigned tabs = 0;
    size_t k;

    for (; *p && tabs < 4; p++)
        tabs += *p == '\t';
    if (tabs < 4 || strlen(line) > PG_JAR_LINE_MAX)
        return;
    k = (size_t)(p - line);
    memcpy(buf, line, k);
    p = strchr(p, '\t');
    if (!p)
        return;
    snprintf(buf + k, sizeof(buf) - k, "1%s", p);
    curl_easy_setopt(easy, CURLOPT_COOKIELIST, buf);
}

int pg__jar_apply(struct pg__jar *j, const char *line)
{
    int r;

    if (j->locked)
        pthread_mutex_lock(&j->idx_mu);
    r = index_put(j, line);
    if (r < 0 && line_key(line, &(uint64_t){0}) == 0)
        warn_full(j);
    if (j->locked)
        pthread_mutex_unlock(&j->idx_mu);
    if (r == 1)
        curl_easy_setopt(j->easy, CURLOPT_COOKIELIST, line);
    return r;
}

void pg__jar_collect(struct pg__jar *j, CURL *easy)
{
    struct curl_slist *list = NULL, *l;

    if (curl_easy_getinfo(easy, CURLINFO_COOKIELIST, &list) != CURLE_OK)
        return;
    if (j->locked)
        pthread_mutex_lock(&j->idx_mu);
    for (l = list; l; l = l->next) {
        int r = index_put(j, l->data);

        if (r == 1 && j->relay)
            add_fresh(j, l->data);
        else if (r < 0) {
            warn_full(j);
            expire(easy, l->data);
        }
    }
    if (j->locked)
        pthread_mutex_unlock(&j->idx_mu);
    curl_slist_free_all(list);
}

char **pg__jar_take_fresh(struct pg__jar *j)
{
    char **v;

    if (j->locked)
        pthread_mutex_lock(&j->idx_mu);
    v = j->n_fresh ? j->fresh : NULL;
    if (v) {
        j->fresh = NULL;
        j->n_fresh = j->cap_fresh = 0;
    }
    if (j->locked)
        pthread_mutex_unlock(&j->idx_mu);
    return v;
}

void pg__jar_inherit(struct pg__jar *j, const struct pg__jar *parent)
{
    size_t i;

    for (i = 0; parent && i < parent->n; i++)
        pg__jar_apply(j, parent->line[i]);
}

/* ---- cookies.txt --------------------------------------------------------- */

/* Read the lines of f into the jar; 0, or -1 with err set. */
static int load_lines(struct pg__jar *j, FILE *f, const char *path,
                      char *err, size_t errlen)
{
    char *buf = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;
    ssize_t len;
    int rc = 0;

    while (!rc && (len = getline(&buf, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (len == 0 || (buf[0] == '#' && strncmp(buf, "#HttpOnly_", 10)))
            continue;
        if ((size_t)len > PG_JAR_LINE_MAX) {
            snprintf(err, errlen, "cookie file '%s', line %lu: longer "
                     "than %u bytes", path, lineno, PG_JAR_LINE_MAX);
            rc = -1;
        } else if (line_key(buf, &(uint64_t){0})) {
            snprintf(err, errlen, "cookie file '%s', line %lu: not a "
                     "cookies.txt line (7 tab-separated fields)", path,
                     lineno);
            rc = -1;
        } else if (pg__jar_apply(j, buf) < 0) {
            snprintf(err, errlen, "cookie file '%s': more than %u cookies "
                     "or %u bytes", path, PG_JAR_MAX_COOKIES,
                     PG_JAR_MAX_BYTES);
            rc = -1;
        }
    }
    if (!rc && ferror(f)) {
        char e[128];

        snprintf(err, errlen, "cannot read cookie file '%s': %s", path,
                 pg__errstr(errno, e, sizeof(e)));
        rc = -1;
    }
    free(buf);
    return rc;
}

enum pg_code pg__jar_load(struct pg__jar *j, const char *path, char *err,
                          size_t errlen)
{
    char e[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    FILE *f;
    int rc;

    if (fd < 0 || !(f = fdopen(fd, "r"))) {
        snprintf(err, errlen, "cannot read cookie file '%s': %s", path,
                 pg__errstr(errno, e, sizeof(e)));
        if (fd >= 0)
            close(fd);
        return PG_E_INVALID;
    }
    rc = load_lines(j, f, path, err, errlen);
    fclose(f);
    if (rc)
        return PG_E_INVALID;
    /* The index holds the engine's own lines from now on (what it kept,
     * in its spelling), so that workers relay only real changes. */
    if (j->locked)
        pthread_mutex_lock(&j->idx_mu);
    lines_clear(j);
    if (j->locked)
        pthread_mutex_unlock(&j->idx_mu);
    pg__jar_collect(j, j->easy);
    pg__jar_lines_free(pg__jar_take_fresh(j));
    return PG_OK;
}

/* Write the engine's cookies to fd; 0 or -1 (errno). */
static int write_lines(struct pg__jar *j, int fd)
{
    static const char head[] = "# Netscape HTTP Cookie File\n"
                               "# Written by pagegrab.\n\n";
    struct curl_slist *list = NULL, *l;
    int rc = 0;

    if (curl_easy_getinfo(j->easy, CURLINFO_COOKIELIST, &list) !=
        CURLE_OK) {
        errno = ENOMEM;
        return -1;
    }
    if (pg__write_all(fd, head, sizeof(head) - 1))
        rc = -1;
    for (l = list; !rc && l; l = l->next) {
        if (pg__write_all(fd, l->data, strlen(l->data)) ||
            pg__write_all(fd, "\n", 1))
            rc = -1;
    }
    curl_slist_free_all(list);
    return rc;
}

enum pg_code pg__jar_save(struct pg__jar *j, const char *path, char *err,
                          size_t errlen)
{
    size_t n = strlen(path);
    char *tmp = pg_malloc(n + 8);
    char e[128];
    int fd, saved;

    if (!tmp) {
        snprintf(err, errlen, "cannot save cookies to '%s': out of memory",
                 path);
        return PG_E_NOMEM;
    }
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", 8);
    fd = mkstemp(tmp);  /* mode 0600, in the directory of path */
    if (fd >= 0) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (fchmod(fd, 0600) || write_lines(j, fd) || fsync(fd)) {
            saved = errno;
            close(fd);
            fd = -1;
            errno = saved;
        } else if (close(fd) || rename(tmp, path)) {
            fd = -1;
        }
    }
    if (fd < 0) {
        saved = errno;
        unlink(tmp);
        snprintf(err, errlen, "cannot save cookies to '%s': %s", path,
                 pg__errstr(saved, e, sizeof(e)));
        pg_free(tmp);
        return PG_E_IO;
    }
    pg_free(tmp);
    return PG_OK;
}
