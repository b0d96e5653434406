/*
 * input.c - see input.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"

void pg__input_init_fd(struct pg__input *in, int fd)
{
    in->fd = fd;
    in->own_fd = 0;
    in->eof = 0;
    in->probe = 0;
    in->would_block = 0;
    in->lineno = 0;
    in->start = 0;
    in->end = 0;
}

enum pg_code pg__input_open(struct pg__input *in, const char *path)
{
    int fd;

    if (!strcmp(path, "-")) {
        pg__input_init_fd(in, STDIN_FILENO);
        return PG_OK;
    }
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return PG_E_IO;
    pg__input_init_fd(in, fd);
    in->own_fd = 1;
    return PG_OK;
}

void pg__input_close(struct pg__input *in)
{
    if (in->own_fd && in->fd >= 0)
        close(in->fd);
    in->fd = -1;
    in->own_fd = 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* What an over-long line turned out to be, from its first bytes. */
enum line_kind { LINE_BLANK, LINE_COMMENT, LINE_URL };

/* Classify a line from its next n bytes, given what it was so far. */
static enum line_kind classify(enum line_kind k, const char *s, size_t n)
{
    size_t i = 0;

    if (k != LINE_BLANK)
        return k;
    while (i < n && is_space(s[i]))
        i++;
    if (i == n)
        return LINE_BLANK;
    return s[i] == '#' ? LINE_COMMENT : LINE_URL;
}

/* Refill: move the unread tail to the front and read more. */
static enum pg_code fill(struct pg__input *in)
{
    ssize_t n;

    if (in->start > 0) {
        memmove(in->buf, in->buf + in->start, in->end - in->start);
        in->end -= in->start;
        in->start = 0;
    }
    do {
        n = read(in->fd, in->buf + in->end, PG_INPUT_BLOCK - in->end);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return PG_E_IO;
    if (n == 0)
        in->eof = 1;
    in->end += (size_t)n;
    return PG_OK;
}

enum pg_code pg__input_next(struct pg__input *in, const char **line,
                            size_t *len, uint64_t *lineno)
{
    for (;;) {
        char *s = in->buf + in->start;
        char *nl = memchr(s, '\n', in->end - in->start);
        size_t n;
        enum pg_code rc;

        if (!nl && !in->eof && in->end - in->start < PG_INPUT_BLOCK) {
            struct pollfd pfd = { in->fd, POLLIN, 0 };

            /* A pipe whose writer is slow must not stall the caller. */
            if (in->probe && poll(&pfd, 1, 0) == 0) {
                in->would_block = 1;
                *line = NULL;
                return PG_OK;
            }
            rc = fill(in);
            if (rc)
                return rc;
            continue;
        }
        if (!nl && in->start == in->end) {
            *line = NULL;     /* end of input */
            return PG_OK;
        }
        in->lineno++;
        *lineno = in->lineno;
        if (!nl && !in->eof) {
            /* A full block without a newline: over-long.  Skip it, and
             * report it unless it is a comment or blank. */
            enum line_kind kind = classify(LINE_BLANK, s,
                                           in->end - in->start);

            for (;;) {
                in->start = in->end = 0;
                rc = fill(in);
                if (rc)
                    return rc;
                nl = memchr(in->buf, '\n', in->end);
                kind = classify(kind, in->buf,
                                nl ? (size_t)(nl - in->buf) : in->end);
                if (nl) {
                    in->start = (size_t)(nl - in->buf) + 1;
                    break;
                }
                if (in->eof) {
                    in->start = in->end;
                    break;
                }
            }
            if (kind != LINE_URL)
                continue;
            *line = NULL;
            return PG_E_LIMIT;
        }
        n = nl ? (size_t)(nl - s) : in->end - in->start;
        in->start += n + (nl ? 1 : 0);
        while (n > 0 && is_space(s[n - 1]))
            n--;
        while (n > 0 && is_space(*s)) {
            s++;
            n--;
        }
        if (n == 0 || *s == '#')
            continue;
        if (n > PG_INPUT_LINE_MAX) {
            *line = NULL;
            return PG_E_LIMIT;
        }
        s[n] = '\0';
        *line = s;
        *len = n;
        return PG_OK;
    }
}

int64_t pg__input_count(const char *path)
{
    char block[PG_INPUT_BLOCK];
    struct stat st;
    int64_t count = 0;
    int fd, in_line = 0, content = 0;
    ssize_t n, i;

    /* Only regular files are counted; never block opening a FIFO. */
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    for (;;) {
        n = read(fd, block, sizeof(block));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (i = 0; i < n; i++) {
            char c = block[i];

            if (c == '\n') {
                count += content;
                in_line = content = 0;
            } else if (!in_line && !is_space(c)) {
                in_line = 1;
                content = c != '#';
            }
        }
    }
    count += content;
    close(fd);
    return n < 0 ? -1 : count;
}
