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

struct compact {
    struct pg__nameset last;   /* hash of the URL -> its last line */
};

static enum pg_code last_line(const struct pg__manifest_rec *rec, void *ud)
{
    struct compact *c = ud;

    if (rec->lineno >= UINT32_MAX)
        return PG_E_LIMIT;
    return pg__nameset_put(&c->last, pg__hash64(rec->url, strlen(rec->url)),
                           (uint32_t)rec->lineno);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* The kept line numbers, sorted; NULL when out of memory. */
static uint32_t *kept_lines(const struct compact *c, size_t *n)
{
    uint32_t *v = pg_malloc((c->last.used ? c->last.used : 1) *
                            sizeof(*v));
    size_t i;

    *n = 0;
    if (!v)
        return NULL;
    for (i = 0; i < c->last.cap; i++) {
        if (c->last.keys[i])
            v[(*n)++] = c->last.vals[i];
    }
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
    rc = pg__manifest_read(file, last_line, &c);
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
    pg__nameset_release(&c.last);
    return rc;
}
