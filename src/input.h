/*
 * input.h - streaming reader of URL lists.
 *
 * Reads a file or stdin in 64 KiB blocks and returns one line at a time,
 * so a list of millions of lines is never loaded whole.  Blank lines and
 * '#' comments are skipped and surrounding white space is trimmed.  A
 * line longer than PG_INPUT_LINE_MAX is skipped up to its newline and
 * reported as PG_E_LIMIT with its line number.  Not thread-safe; owned by
 * the job's main thread.
 */
#ifndef PG_INPUT_H
#define PG_INPUT_H

#include <stdint.h>

#include "pagegrab.h"
#include "url.h"

#define PG_INPUT_LINE_MAX PG_URL_MAX
#define PG_INPUT_BLOCK 65536

struct pg__input {
    int fd;
    int own_fd;
    int eof;
    uint64_t lineno;
    size_t start, end;   /* unread bytes are buf[start..end) */
    int probe;           /* poll before a read that could block */
    int would_block;     /* set by next(): nothing to read right now */
    char buf[PG_INPUT_BLOCK + 1];
};

/* Open path ("-" for stdin).  PG_E_IO with errno set on failure. */
enum pg_code pg__input_open(struct pg__input *in, const char *path)
    PG_WARN_UNUSED;

/* Read from an already open fd (not closed by pg__input_close). */
void pg__input_init_fd(struct pg__input *in, int fd);

/*
 * The next non-blank, non-comment line: *line points into the reader's
 * buffer (valid until the next call), *len is its length, *lineno its
 * 1-based number.  Returns PG_OK with *line == NULL at end of input, or
 * (with in->probe set, for pipes) with *line == NULL and in->would_block
 * set when no complete line can be read without waiting;
 * PG_E_LIMIT for an over-long line (*lineno set, *line NULL; call again
 * to go on); PG_E_IO on a read error (errno set).
 */
enum pg_code pg__input_next(struct pg__input *in, const char **line,
                            size_t *len, uint64_t *lineno) PG_WARN_UNUSED;

void pg__input_close(struct pg__input *in);

/* Count the URL lines of a regular file without keeping them; -1 if
 * path is not a regular file or cannot be read. */
int64_t pg__input_count(const char *path);

#endif
