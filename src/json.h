/*
 * json.h - the one JSON string writer: the manifest's records and
 * `pagegrab compare`'s JSON report both escape strings with it.  Only
 * strings: a record's numbers and keys are written by their owner.
 *
 * Internal to pagegrab, not part of the public API, but cmd/ may
 * include it (as curl's tool uses curlx); with buf.h and util.h it is a
 * leaf.
 */
#ifndef PG_JSON_H
#define PG_JSON_H

#include <stddef.h>

#include "buf.h"
#include "pagegrab.h"

/*
 * How a byte that is not part of valid UTF-8 is written: %XX in a URL
 * (PG_JSON_URL), U+FFFD in text (PG_JSON_TEXT), and \u00XX in a file
 * name (PG_JSON_BYTES, which keeps the byte for a reader that knows the
 * scheme).
 */
enum pg__json_as { PG_JSON_TEXT, PG_JSON_URL, PG_JSON_BYTES };

/*
 * Append s as a JSON string, but stop before the escaped text would pass
 * max bytes (quotes not counted); *cut is set when something was left
 * out.  NULL is written as null.
 */
enum pg_code pg__json_str_max(struct pg__buf *b, const char *s,
                              enum pg__json_as as, size_t max, int *cut)
    PG_WARN_UNUSED;

/* Append s as a JSON string (with quotes), or null for NULL. */
enum pg_code pg__json_str(struct pg__buf *b, const char *s) PG_WARN_UNUSED;

#endif
