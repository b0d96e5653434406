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
#include "manifest.h"
#include "wire.h"
#include "url.h"

/* A record never exceeds this (URLs are capped at 8 KiB). */
#define RECORD_MAX (256 * 1024)

void pg__manifest_init(struct pg__manifest *m)
{
    m->fd = -1;
    pg_buf_init(&m->line, RECORD_MAX);
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
    return append ? cut_torn_line(m->fd) : PG_OK;
}

enum pg_code pg__manifest_sync(struct pg__manifest *m)
{
    if (m->fd >= 0 && fdatasync(m->fd) < 0 && errno != EINVAL)
        return PG_E_IO;
    return PG_OK;
}

/*
 * Decode the JSON string that starts at p (just after its opening
 * quote) into b; returns the position after the closing quote, or NULL.
 * Only what pg__json_str() writes needs to be understood.
 */
static const char *json_unquote(const char *p, struct pg_buf *b)
{
    pg_buf_reset(b);
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
        if (pg_buf_addc(b, c))
            return NULL;
    }
    return *p == '"' ? p + 1 : NULL;
}

/* The string value of "key" in a record line, decoded into b. */
static int field(const char *line, const char *key, struct pg_buf *b)
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

enum pg_code pg__manifest_read(const char *path, pg__manifest_record_cb cb,
                               void *ud)
{
    struct pg_buf url = PG_BUF_INIT(RECORD_MAX);
    struct pg_buf st = PG_BUF_INIT(64), kind = PG_BUF_INIT(64);
    struct pg_buf saved = PG_BUF_INIT(RECORD_MAX);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    enum pg_code rc = PG_OK;
    FILE *f = fopen(path, "re");

    if (!f)
        return errno == ENOENT ? PG_OK : PG_E_IO;
    while (!rc) {
        const char *after;

        n = getline(&line, &cap, f);
        if (n <= 0)
            break;
        /* A torn line (anywhere in the file), two records glued into
         * one, or not a record at all: skipped, so no URL is given
         * another's status. */
        if (line[n - 1] != '\n' || strlen(line) != (size_t)n ||
            strncmp(line, "{\"url\":\"", 8) || !record_complete(line))
            continue;
        after = json_unquote(line + 8, &url);
        if (!after || !url.ptr || field(after, "status", &st) ||
            field(after, "kind", &kind))
            continue;
        if (field(after, "path", &saved))
            pg_buf_reset(&saved);
        rc = cb(url.ptr, pg_buf_str(&st), pg_buf_str(&kind),
                saved.len ? saved.ptr : NULL, ud);
    }
    if (!rc && ferror(f))
        rc = PG_E_IO;
    free(line);
    fclose(f);
    pg_buf_release(&url);
    pg_buf_release(&st);
    pg_buf_release(&kind);
    pg_buf_release(&saved);
    return rc;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

enum pg_code pg__json_str(struct pg_buf *b, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str;
    size_t n, k;
    enum pg_code rc;

    if (!s)
        return pg_buf_addstr(b, "null");
    n = strlen(str);
    rc = pg_buf_addc(b, '"');
    while (!rc && n > 0) {
        unsigned char c = *s;
        char esc[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };

        k = utf8_len(s, n);
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };

            rc = pg_buf_add(b, e, 2);
        } else if (c == '\n') {
            rc = pg_buf_add(b, "\\n", 2);
        } else if (c == '\r') {
            rc = pg_buf_add(b, "\\r", 2);
        } else if (c == '\t') {
            rc = pg_buf_add(b, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f || k == 0) {
            rc = pg_buf_add(b, esc, 6);
            k = 1;
        } else {
            rc = pg_buf_add(b, s, k);
        }
        s += k ? k : 1;
        n -= k ? k : 1;
    }
    if (!rc)
        rc = pg_buf_addc(b, '"');
    return rc;
}

enum pg_code pg__manifest_format(struct pg_buf *b, const struct pg_result *r)
{
    enum pg_code rc;

    pg_buf_reset(b);
    rc = pg_buf_addstr(b, "{\"url\":");
    if (!rc)
        rc = pg__json_str(b, r->url);
    if (!rc)
        rc = pg_buf_addf(b, ",\"line\":%llu,\"status\":\"%s\","
                         "\"http_code\":%ld,\"bytes\":%llu,"
                         "\"content_type\":",
                         (unsigned long long)r->line,
                         pg_status_name(r->status), r->http_code,
                         (unsigned long long)r->bytes);
    if (!rc)
        rc = pg__json_str(b, r->content_type);
    if (!rc)
        rc = pg_buf_addstr(b, ",\"path\":");
    if (!rc)
        rc = pg__json_str(b, r->path);
    if (!rc)
        rc = pg_buf_addstr(b, ",\"final_url\":");
    if (!rc)
        rc = pg__json_str(b, r->final_url);
    if (!rc)
        rc = pg_buf_addf(b, ",\"attempts\":%u,\"time_ms\":%.3f,"
                         "\"error\":", r->attempts, r->time_ms);
    if (!rc)
        rc = pg__json_str(b, r->error);
    if (!rc)
        rc = pg_buf_addf(b, ",\"kind\":\"%s\",\"depth\":%u,"
                         "\"referrer\":", pg_kind_name(r->kind), r->depth);
    if (!rc)
        rc = pg__json_str(b, r->referrer);
    if (!rc)
        rc = pg_buf_addf(b, ",\"links\":%u,\"hash\":", r->links);
    if (!rc)
        rc = pg__json_str(b, r->hash);
    if (!rc)
        rc = pg_buf_addstr(b, ",\"duplicate_of\":");
    if (!rc)
        rc = pg__json_str(b, r->duplicate_of);
    if (!rc)
        rc = pg_buf_addstr(b, "}\n");
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
    return pg__wire_write_all(m->fd, m->line.ptr, m->line.len);
}

enum pg_code pg__manifest_close(struct pg__manifest *m)
{
    enum pg_code rc = PG_OK;

    pg_buf_release(&m->line);
    if (m->fd < 0)
        return PG_OK;
    if (fsync(m->fd) < 0 && errno != EINVAL)
        rc = PG_E_IO;
    if (close(m->fd) < 0 && rc == PG_OK)
        rc = PG_E_IO;
    m->fd = -1;
    return rc;
}
