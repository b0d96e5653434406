/*
 * charset.h - a page decoded into UTF-8, its encoding chosen as browsers
 * choose it.
 *
 * libxml2 2.9's own decoding reports conversion errors on its global
 * error channel (stderr) whatever the parser options, and it drops the
 * rest of the page at the first undecodable byte; so pages are decoded
 * here, with iconv, and libxml2 only ever gets clean UTF-8.
 *
 * Thread-safety: any thread; nothing is shared.
 */
#ifndef PG_CHARSET_H
#define PG_CHARSET_H

#include <stddef.h>

#include "internal.h"
#include "pagegrab.h"

/* The decoded page: p[0..n), in owned or in the body itself. */
struct pg__text {
    const char *p;
    size_t n;
    char *owned;
};

/*
 * Decode body[0..len) into t: valid UTF-8, without NUL bytes or
 * byte-order mark, undecodable bytes made U+FFFD.  The encoding is a
 * byte-order mark, else the charset= of content_type (or NULL), else a
 * <meta> charset within the first 4096 bytes, else UTF-8 if the page is
 * valid UTF-8, else windows-1252; its iconv name goes into enc (may be
 * NULL).  t->owned, if set, is the caller's to pg_free().  PG_OK,
 * PG_E_LIMIT (over INT_MAX bytes) or PG_E_NOMEM.
 */
enum pg_code pg__charset_decode(const char *body, size_t len,
                                const char *content_type, struct pg__text *t,
                                char *enc, size_t enclen) PG_WARN_UNUSED;

#ifdef PG_UNITTEST
int pg__extract_prescan_charset(const char *body, size_t len, char *out,
                            size_t outlen);
int pg__extract_header_charset(const char *content_type, char *out,
                           size_t outlen);
enum pg_code pg__extract_to_utf8(const char *body, size_t len,
                             const char *content_type, char **out,
                             size_t *outlen, char *enc, size_t enclen);
#endif

#endif
