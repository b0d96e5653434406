/*
 * manifest.c - see manifest.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "json.h"
#include "manifest.h"
#include "wire.h"
#include "url.h"

/* A record never exceeds this (URLs are capped at 8 KiB). */
#define RECORD_MAX (256 * 1024)

void pg__manifest_init(struct pg__manifest *m)
{
    m->fd = -1;
    pg__buf_init(&m->line, RECORD_MAX);
    pg__buf_init(&m->out, PG_MANIFEST_BATCH);
}

/*
 * A crash can leave a last line without its newline; appending after it
 * would glue the next record to it.  Cut the file back to its last
 * newline (or to nothing).
 */
static enum pg_code cut_torn_line(int fd)
{
    char block[4096];
    off_t end = lseek(fd, 0, SEEK_END), pos = end;

    if (end <= 0)
        return end < 0 ? PG_E_IO : PG_OK;
    while (pos > 0) {
        size_t n = pos > (off_t)sizeof(block) ? sizeof(block) : (size_t)pos;
        ssize_t got = pread(fd, block, n, pos - (off_t)n);
        size_t i;

        if (got != (ssize_t)n)
            return PG_E_IO;
        for (i = n; i > 0; i--) {
            if (block[i - 1] == '\n') {
                off_t keep = pos - (off_t)n + (off_t)i;

                return keep == end || ftruncate(fd, keep) == 0 ? PG_OK
                                                               : PG_E_IO;
            }
        }
        pos -= (off_t)n;
    }
    return ftruncate(fd, 0) == 0 ? PG_OK : PG_E_IO;
}

enum pg_code pg__manifest_open(struct pg__manifest *m, const char *path,
                               int append)
{
    m->fd = open(path, O_RDWR | O_CREAT | (append ? 0 : O_TRUNC) |
                 O_APPEND | O_CLOEXEC, 0600);
    if (m->fd < 0)
        return PG_E_IO;
    m->kind = pg__fd_kind(m->fd);
    return append ? cut_torn_line(m->fd) : PG_OK;
}

enum pg_code pg__manifest_flush(struct pg__manifest *m)
{
    enum pg_code rc;

    if (m->fd < 0 || m->out.len == 0)
        return PG_OK;
    rc = pg__write_kind(m->fd, m->kind, m->out.ptr, m->out.len);
    pg__buf_reset(&m->out);
    return rc;
}

/* Queue one or more whole lines (flushing first when they would not
 * fit); a line too long for the batch, or with no memory for it, is
 * written on its own. */
static enum pg_code queue(struct pg__manifest *m, const char *line,
                          size_t len)
{
    enum pg_code rc = PG_OK;

    if (m->out.len + len > PG_MANIFEST_BATCH)
        rc = pg__manifest_flush(m);
    if (!rc && (len > PG_MANIFEST_BATCH || pg__buf_add(&m->out, line, len)))
        rc = pg__write_kind(m->fd, m->kind, line, len);
    return rc;
}

enum pg_code pg__manifest_sync(struct pg__manifest *m)
{
    if (pg__manifest_flush(m))
        return PG_E_IO;
    if (m->fd >= 0 && fdatasync(m->fd) < 0 && errno != EINVAL)
        return PG_E_IO;
    return PG_OK;
}

/*
 * Decode the JSON string that starts at p (just after its opening
 * quote) into b; returns the position after the closing quote, or NULL.
 * Only what pg__json_str() writes needs to be understood.
 */
static const char *json_unquote(const char *p, struct pg__buf *b)
{
    pg__buf_reset(b);
    while (*p && *p != '"') {
        char c = *p++;

        if (c == '\\') {
            c = *p++;
            switch (c) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u':
                if (pg__hexval(p[0]) < 0 || pg__hexval(p[1]) < 0 ||
                    pg__hexval(p[2]) < 0 || pg__hexval(p[3]) < 0 ||
                    pg__hexval(p[0]) || pg__hexval(p[1]))
                    return NULL;   /* only \u00XX is ever written */
                c = (char)(pg__hexval(p[2]) * 16 + pg__hexval(p[3]));
                p += 4;
                break;
            case '"': case '\\': case '/': break;
            default: return NULL;
            }
        }
        if (pg__buf_addc(b, c))
            return NULL;
    }
    return *p == '"' ? p + 1 : NULL;
}

/* The string value of "key" in a record line, decoded into b. */
static int field(const char *line, const char *key, struct pg__buf *b)
{
    char pat[32];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    /* Keys are written in a fixed order, and values are escaped, so the
     * first match after the url is the key itself. */
    p = strstr(line, pat);
    return p && json_unquote(p + strlen(pat), b) ? 0 : -1;
}

/* The end of the JSON string starting after its opening quote at p. */
static const char *skip_string(const char *p)
{
    while (*p && *p != '"') {
        if (*p == '\\' && !*++p)
            return NULL;
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}

/*
 * Whether line is exactly one flat JSON object, as pg__manifest_format()
 * writes it, followed by its newline.  A line torn by a crash, or two
 * records glued together, is not.
 */
PG_UNITTEST_STATIC int record_complete(const char *line)
{
    const char *p = line;

    if (*p++ != '{')
        return 0;
    for (;;) {
        if (*p++ != '"')
            return 0;
        p = skip_string(p);
        if (!p || *p++ != ':')
            return 0;
        if (*p == '"') {
            p = skip_string(p + 1);
            if (!p)
                return 0;
        } else if (!strncmp(p, "null", 4)) {
            p += 4;
        } else {
            const char *v = p;

            while (*p == '-' || *p == '+' || *p == '.' || *p == 'e' ||
                   *p == 'E' || (*p >= '0' && *p <= '9') ||
                   (*p >= 'a' && *p <= 'z'))
                p++;
            if (p == v)
                return 0;
        }
        if (*p == '}')
            break;
        if (*p++ != ',')
            return 0;
    }
    return p[1] == '\n' && p[2] == '\0';
}

/* The text fields of a record beside url, decoded. */
enum { R_STATUS, R_KIND, R_PATH, R_CTYPE, R_HASH, R_REF, R_ETAG, R_LM,
       R_COUNT };

static const char *const rec_keys[R_COUNT] = {
    "status", "kind", "path", "content_type", "hash", "referrer", "etag",
    "last_modified"
};

/* Fill rec from line (after: just past the url); -1 if not a record. */
static int parse_rec(const char *line, size_t n, const char *after,
                     struct pg__buf f[R_COUNT], struct pg__manifest_rec *rec)
{
    const char **out[R_COUNT] = { &rec->status, &rec->kind, &rec->path,
                                  &rec->content_type, &rec->hash,
                                  &rec->referrer, &rec->etag,
                                  &rec->last_modified };
    int i;

    for (i = 0; i < R_COUNT; i++) {
        *out[i] = NULL;
        if (field(after, rec_keys[i], &f[i]) == 0)
            *out[i] = pg__buf_str(&f[i]);
        else if (i <= R_KIND)
            return -1;
        if (i > R_KIND && *out[i] && !*out[i][0])
            *out[i] = NULL;
    }
    /* No string holds ," unescaped: this is the key itself. */
    rec->exec_pending = strstr(after, ",\"exec_pending\":true") != NULL;
    rec->line = line;
    rec->len = n;
    return 0;
}

enum pg_code pg__manifest_read(const char *path, pg__manifest_record_cb cb,
                               void *ud)
{
    struct pg__buf url = PG_BUF_INIT(RECORD_MAX);
    struct pg__buf f[R_COUNT];
    struct pg__manifest_rec rec;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    enum pg_code rc = PG_OK;
    FILE *f_in = fopen(path, "re");
    uint64_t next = 0;
    int i;

    if (!f_in)
        return errno == ENOENT ? PG_OK : PG_E_IO;
    for (i = 0; i < R_COUNT; i++)
        pg__buf_init(&f[i], RECORD_MAX);
    rec.lineno = 0;
    while (!rc) {
        const char *after;

        n = getline(&line, &cap, f_in);
        if (n <= 0)
            break;
        rec.offset = next;
        next += (uint64_t)n;
        rec.lineno++;
        /* A torn line (anywhere in the file), two records glued into
         * one, or not a record at all: skipped, so no URL is given
         * another's status. */
        if (line[n - 1] != '\n' || strlen(line) != (size_t)n ||
            strncmp(line, "{\"url\":\"", 8) || !record_complete(line))
            continue;
        after = json_unquote(line + 8, &url);
        if (!after || !url.ptr || parse_rec(line, (size_t)n, after, f, &rec))
            continue;
        rec.url = url.ptr;
        rc = cb(&rec, ud);
    }
    if (!rc && ferror(f_in))
        rc = PG_E_IO;
    free(line);
    fclose(f_in);
    pg__buf_release(&url);
    for (i = 0; i < R_COUNT; i++)
        pg__buf_release(&f[i]);
    return rc;
}

/*
 * Past this many bytes, a string is cut when its record would not fit:
 * eight such fields and the numbers stay inside RECORD_MAX, and a
 * recorded URL (at most PG_URL_MAX bytes, each byte at most %XX) is
 * never cut, so --resume still matches every fetched one.
 */
#define FIELD_CUT (28 * 1024)

/* The string fields of a record, in the order they are written. */
enum { F_URL, F_CTYPE, F_PATH, F_FINAL, F_ERROR, F_REF, F_HASH, F_DUP,
       F_COUNT };

static const char *const field_names[F_COUNT] = {
    "url", "content_type", "path", "final_url", "error", "referrer",
    "hash", "duplicate_of"
};

/* Format r into b, each string field at most max bytes; cut[] says which
 * were shortened. */
static enum pg_code format(struct pg__buf *b, const struct pg_result *r,
                           size_t max, int cut[F_COUNT])
{
    enum pg_code rc;
    int i;

    pg__buf_reset(b);
    rc = pg__buf_addstr(b, "{\"url\":");
    if (!rc)
        rc = pg__json_str_max(b, r->url, PG_JSON_URL, max,
                              &cut[F_URL]);
    if (!rc)
        rc = pg__buf_addf(b, ",\"line\":%llu,\"status\":\"%s\","
                         "\"http_code\":%ld,\"bytes\":%llu,"
                         "\"content_type\":",
                         (unsigned long long)r->line,
                         pg_status_name(r->status), r->http_code,
                         (unsigned long long)r->bytes);
    if (!rc)
        rc = pg__json_str_max(b, r->content_type, PG_JSON_TEXT, max,
                              &cut[F_CTYPE]);
    if (!rc)
        rc = pg__buf_addstr(b, ",\"path\":");
    if (!rc)
        rc = pg__json_str_max(b, r->path, PG_JSON_BYTES, max,
                              &cut[F_PATH]);
    if (!rc)
        rc = pg__buf_addstr(b, ",\"final_url\":");
    if (!rc)
        rc = pg__json_str_max(b, r->final_url, PG_JSON_URL, max,
                              &cut[F_FINAL]);
    if (!rc)
        rc = pg__buf_addf(b, ",\"attempts\":%u,\"time_ms\":%.3f,"
                         "\"error\":", r->attempts, r->time_ms);
    if (!rc)
        rc = pg__json_str_max(b, r->error, PG_JSON_TEXT, max,
                              &cut[F_ERROR]);
    if (!rc)
        rc = pg__buf_addf(b, ",\"kind\":\"%s\",\"depth\":%u,"
                         "\"referrer\":", pg_kind_name(r->kind), r->depth);
    if (!rc)
        rc = pg__json_str_max(b, r->referrer, PG_JSON_URL, max,
                              &cut[F_REF]);
    if (!rc)
        rc = pg__buf_addf(b, ",\"links\":%u,\"hash\":", r->links);
    if (!rc)
        rc = pg__json_str_max(b, r->hash, PG_JSON_TEXT, max,
                              &cut[F_HASH]);
    if (!rc)
        rc = pg__buf_addstr(b, ",\"duplicate_of\":");
    if (!rc)
        rc = pg__json_str_max(b, r->duplicate_of, PG_JSON_BYTES, max,
                              &cut[F_DUP]);
    if (!rc)
        rc = pg__buf_addstr(b, ",\"http_version\":");
    if (!rc)
        rc = pg__json_str(b, r->http_version);
    /* (At most PG_VALIDATOR_MAX printable bytes: never cut.) */
    if (!rc)
        rc = pg__buf_addstr(b, ",\"etag\":");
    if (!rc)
        rc = pg__json_str(b, r->etag);
    if (!rc)
        rc = pg__buf_addstr(b, ",\"last_modified\":");
    if (!rc)
        rc = pg__json_str(b, r->last_modified);
    if (!rc && r->exec_state == PG_EXEC_PENDING)
        rc = pg__buf_addstr(b, ",\"exec_pending\":true");
    if (!rc && r->exec_state == PG_EXEC_DONE)
        rc = pg__buf_addf(b, ",\"exec_status\":%d,\"exec_ms\":%.3f",
                         r->exec_status, r->exec_ms);
    for (i = 0; !rc && i < F_COUNT; i++) {
        if (cut[i])
            rc = pg__buf_addf(b, ",\"%s_truncated\":true", field_names[i]);
    }
    if (!rc && r->links_truncated)
        rc = pg__buf_addstr(b, ",\"links_truncated\":true");
    if (!rc)
        rc = pg__buf_addstr(b, "}\n");
    return rc;
}

enum pg_code pg__manifest_format(struct pg__buf *b, const struct pg_result *r)
{
    int cut[F_COUNT];
    enum pg_code rc = format(b, r, (size_t)-1, cut);

    /* A record is never too long to write: cut its long strings. */
    if (rc == PG_E_LIMIT)
        rc = format(b, r, FIELD_CUT, cut);
    return rc;
}

enum pg_code pg__manifest_write(struct pg__manifest *m,
                                const struct pg_result *r)
{
    enum pg_code rc;

    if (m->fd < 0)
        return PG_OK;
    rc = pg__manifest_format(&m->line, r);
    if (rc)
        return rc;
    return queue(m, m->line.ptr, m->line.len);
}

enum pg_code pg__manifest_write_line(struct pg__manifest *m,
                                     const char *line, size_t len)
{
    if (m->fd < 0)
        return PG_OK;
    return queue(m, line, len);
}

enum pg_code pg__manifest_write_marker(struct pg__manifest *m)
{
    char line[96];
    int n;

    if (m->fd < 0)
        return PG_OK;
    n = snprintf(line, sizeof(line), "%s,\"pid\":%ld}\n",
                 PG_MANIFEST_UPDATE_MARK, (long)getpid());
    return queue(m, line, (size_t)n);
}

enum pg_code pg__manifest_close(struct pg__manifest *m)
{
    int err = pg__manifest_flush(m) ? errno : 0;

    pg__buf_release(&m->line);
    pg__buf_release(&m->out);
    if (m->fd < 0)
        return PG_OK;
    if (fsync(m->fd) < 0 && errno != EINVAL && !err)
        err = errno;
    if (close(m->fd) < 0 && !err)
        err = errno;
    m->fd = -1;
    if (err) {
        errno = err;
        return PG_E_IO;
    }
    return PG_OK;
}
