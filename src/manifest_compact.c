/*
 * manifest_compact.c - pg_manifest_compact() (pagegrab.h): a manifest
 * rewritten with the last record of each URL.
 *
 * Two passes, so that memory holds 12 bytes a URL and 8 a kept line,
 * never the records: the first reads the records (manifest.c's reader)
 * and keeps each URL's last line number by the 64-bit hash of the URL;
 * the second copies exactly those lines into a temporary file beside
 * the manifest, which replaces it once it is on disk.
 */
#define _DEFAULT_SOURCE /* realpath() */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashmap.h"
#include "manifest.h"
#include "mem.h"
#include "url.h"
#include "util.h"

#ifdef PG_UNITTEST
uint64_t (*pg__compact_hash)(const void *p, size_t n) = pg__hash64;
#define URL_HASH pg__compact_hash
#else
#define URL_HASH pg__hash64
#endif

/*
 * Each URL is a slot: its last line and where that line begins.  Two
 * URLs with one 64-bit hash (FNV-1a: a hostile site can make them) are
 * two slots chained from that hash, told apart by their text, read back
 * from the file.
 */
struct compact {
    struct pg__nameset last;   /* hash of the URL -> its first slot + 1 */
    uint32_t *line, *next;     /* per slot: last line; next slot + 1 */
    uint64_t *off;             /* per slot: that line's offset */
    size_t n, cap;
    int fd;                    /* the manifest, to read a line back */
};

/* The length of a record's "url" string, its quotes and key included. */
static size_t url_span(const char *line, size_t len)
{
    size_t i = 8;   /* past {"url":" (the reader checked it) */

    while (i < len && line[i] != '"')
        i += line[i] == '\\' ? 2 : 1;
    return i < len ? i + 1 : len;
}

/* 1 when the line at slot s begins with the k bytes of line, 0 if not,
 * -1 on a read error. */
static int same_url(const struct compact *c, size_t s, const char *line,
                    size_t k)
{
    char buf[512];
    size_t done;

    for (done = 0; done < k; done += sizeof(buf)) {
        size_t m = k - done < sizeof(buf) ? k - done : sizeof(buf);

        if (pg__pread_all(c->fd, buf, m, c->off[s] + done))
            return -1;
        if (memcmp(buf, line + done, m))
            return 0;
    }
    return 1;
}

static enum pg_code grow(struct compact *c)
{
    size_t cap = c->cap ? c->cap * 2 : 1024;
    uint32_t *l = pg__realloc(c->line, cap * sizeof(*l)), *nx;
    uint64_t *o;

    if (!l)
        return PG_E_NOMEM;
    c->line = l;
    nx = pg__realloc(c->next, cap * sizeof(*nx));
    if (!nx)
        return PG_E_NOMEM;
    c->next = nx;
    o = pg__realloc(c->off, cap * sizeof(*o));
    if (!o)
        return PG_E_NOMEM;
    c->off = o;
    c->cap = cap;
    return PG_OK;
}

static enum pg_code last_line(const struct pg__manifest_rec *rec, void *ud)
{
    struct compact *c = ud;
    uint64_t h = URL_HASH(rec->url, strlen(rec->url));
    size_t k = url_span(rec->line, rec->len);
    uint32_t head = 0, s;
    enum pg_code rc;

    if (rec->lineno >= UINT32_MAX || c->n >= UINT32_MAX - 1)
        return PG_E_LIMIT;
    if (pg__nameset_get(&c->last, h, &head)) {
        for (s = head; s; s = c->next[s - 1]) {
            int eq = same_url(c, s - 1, rec->line, k);

            if (eq < 0)
                return PG_E_IO;
            if (eq) {
                c->line[s - 1] = (uint32_t)rec->lineno;
                c->off[s - 1] = rec->offset;
                return PG_OK;
            }
        }
    }
    if (c->n == c->cap && (rc = grow(c)))
        return rc;
    c->line[c->n] = (uint32_t)rec->lineno;
    c->off[c->n] = rec->offset;
    c->next[c->n] = head;
    c->n++;
    return pg__nameset_put(&c->last, h, (uint32_t)c->n);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* The kept line numbers, sorted; NULL when out of memory. */
static uint32_t *kept_lines(const struct compact *c, size_t *n)
{
    uint32_t *v = pg_malloc((c->n ? c->n : 1) * sizeof(*v));

    *n = 0;
    if (!v)
        return NULL;
    if (c->n)
        memcpy(v, c->line, c->n * sizeof(*v));
    *n = c->n;
    qsort(v, *n, sizeof(*v), cmp_u32);
    return v;
}

/* Copy the lines of in listed in keep (sorted) to out. */
static int copy_lines(FILE *in, FILE *out, const uint32_t *keep, size_t n,
                      uint64_t *lines)
{
    size_t cap = 0, k = 0;
    char *line = NULL;
    ssize_t len;
    uint64_t no = 0;
    int rc = 0;

    while ((len = getline(&line, &cap, in)) > 0) {
        no++;
        if (k < n && keep[k] == no) {
            k++;
            if (fwrite(line, 1, (size_t)len, out) != (size_t)len) {
                rc = -1;
                break;
            }
        }
    }
    free(line);
    *lines = no;
    return rc || ferror(in) || k != n ? -1 : 0;
}

/* fsync the directory holding path (the rename in it). */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? pg__strndup(path, slash == path ? 1 :
                                    (size_t)(slash - path)) : NULL;
    int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    pg_free(dir);
}

/* Write the kept lines of path into a new file that replaces it. */
static enum pg_code rewrite(const char *path, const uint32_t *keep,
                            size_t n, uint64_t *lines, const char **what)
{
    size_t plen = strlen(path);
    char *tmp = pg_malloc(plen + 32);
    FILE *in = NULL, *out = NULL;
    struct stat st;
    int fd = -1, bad;

    if (!tmp)
        return PG_E_NOMEM;
    snprintf(tmp, plen + 32, "%s.compact-XXXXXX", path);
    *what = "read";
    in = fopen(path, "re");
    if (in && fstat(fileno(in), &st) == 0) {
        *what = "create a temporary file beside";
        fd = mkstemp(tmp);
        if (fd >= 0)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (fd >= 0) {
        fchmod(fd, st.st_mode & 07777);
        out = fdopen(fd, "w");
        if (!out)
            close(fd);
    }
    bad = !out;
    if (!bad) {
        *what = "write the compacted copy of";
        bad = copy_lines(in, out, keep, n, lines) || fflush(out) ||
              fsync(fileno(out));
    }
    if (out && fclose(out) && !bad)
        bad = 1;
    if (in)
        fclose(in);
    if (!bad) {
        *what = "replace";
        bad = rename(tmp, path) < 0;
    }
    if (bad && fd >= 0) {
        int e = errno;

        unlink(tmp);
        errno = e;
    }
    pg_free(tmp);
    if (!bad)
        sync_dir(path);
    return bad ? PG_E_IO : PG_OK;
}

enum pg_code pg_manifest_compact(const char *path, uint64_t *kept,
                                 uint64_t *dropped, char *err,
                                 size_t errlen)
{
    struct compact c;
    uint32_t *keep = NULL;
    const char *what = "read", *file = path;
    char *real;
    char errtxt[128];
    uint64_t lines = 0;
    size_t n = 0;
    enum pg_code rc;

    memset(&c, 0, sizeof(c));
    c.fd = -1;
    pg__nameset_init(&c.last);
    /* A manifest that is a symlink: the file it names is compacted (the
     * runs append there), the symlink stays. */
    real = realpath(path, NULL);
    if (!real && errno != ENOENT) {
        snprintf(err, errlen, "cannot compact manifest '%s': %s", path,
                 pg__errstr(errno, errtxt, sizeof(errtxt)));
        pg__nameset_release(&c.last);
        return errno == ENOMEM ? PG_E_NOMEM : PG_E_IO;
    }
    if (real)
        file = real;
    c.fd = open(file, O_RDONLY | O_CLOEXEC);
    rc = c.fd < 0 ? (errno == ENOENT ? PG_OK : PG_E_IO) :
         pg__manifest_read(file, last_line, &c);
    if (!rc && access(file, F_OK) < 0)
        rc = PG_E_IO;   /* (the reader takes a missing file for empty) */
    if (!rc) {
        keep = kept_lines(&c, &n);
        rc = keep ? rewrite(file, keep, n, &lines, &what) : PG_E_NOMEM;
    }
    if (rc)
        snprintf(err, errlen, "cannot compact manifest '%s': cannot %s "
                 "it: %s", path, what, rc == PG_E_IO ?
                 pg__errstr(errno, errtxt, sizeof(errtxt)) :
                 pg_strerror(rc));
    if (kept)
        *kept = rc ? 0 : n;
    if (dropped)
        *dropped = rc ? 0 : lines - n;
    pg_free(keep);
    free(real);
    if (c.fd >= 0)
        close(c.fd);
    pg_free(c.line);
    pg_free(c.next);
    pg_free(c.off);
    pg__nameset_release(&c.last);
    return rc;
}
