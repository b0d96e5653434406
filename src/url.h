/*
 * url.h - URL validation and splitting, on top of libcurl's URL API.
 *
 * Only http and https URLs are accepted.  The normalised form (scheme and
 * host lower-cased, dot segments removed, spaces and 8-bit bytes
 * percent-encoded, %XX escapes in upper case, fragment dropped) is what gets fetched and named.
 * Thread-safe: no shared state.
 */
#ifndef PG_URL_H
#define PG_URL_H

#include <stddef.h>

#include "pagegrab.h"
#include "util.h" /* pg__utf8_len */

/* Input lines longer than this are rejected as over-long. */
#define PG_URL_MAX 8192

struct pg__url {
    char *url;    /* normalised, without fragment */
    char *scheme; /* "http" or "https" */
    char *host;   /* lower-case; IPv6 in brackets */
    char *port;   /* NULL when absent or the scheme's default */
    char *path;   /* percent-encoded, starts with '/' */
    char *query;  /* NULL when absent */
};

/*
 * Parse s (len bytes, need not be NUL-terminated).  On failure writes a
 * reason into err and returns PG_E_URL, PG_E_SCHEME, PG_E_LIMIT (too long)
 * or PG_E_NOMEM; *u is then empty.  Release with pg__url_release().
 */
enum pg_code pg__url_parse(struct pg__url *u, const char *s, size_t len,
                           char *err, size_t errlen) PG_WARN_UNUSED;

void pg__url_release(struct pg__url *u);

/*
 * The origin of url, "scheme://host" plus ":port" when not the scheme's
 * default, normalised as pg__url_parse() does; heap, the caller frees.
 * NULL if url is not a valid http(s) URL or on out of memory.
 */
char *pg__url_origin(const char *url);

/*
 * The host of a URL that pg__url_parse() normalised (u.url), as u.host
 * has it (lower case, IPv6 in brackets without a zone id), without
 * parsing it again: copied into buf, NUL-terminated.  Its length, or 0
 * when url has no host or it does not fit in size bytes.
 */
size_t pg__url_host_of(const char *url, char *buf, size_t size);

/*
 * The origin of a parsed URL, as pg__url_origin() gives it; heap, the
 * caller frees; NULL on out of memory.
 */
char *pg__url_origin_of(const struct pg__url *u);

/*
 * The form in which an input line (len bytes, may hold NUL) is recorded
 * and matched by --resume: a copy with NUL, control bytes and every byte
 * that is not part of valid UTF-8 written as %XX, so a raw 0xFF byte
 * (%FF) and U+00FF (kept as UTF-8) stay apart.  NULL when out of memory.
 * The caller frees it with pg_free().
 */
char *pg__url_escape_input(const char *s, size_t len);

/* The value of a hex digit, or -1. */
int pg__hexval(int c);

/* 64-bit FNV-1a of n bytes: stable across runs and machines. */
uint64_t pg__hash64(const void *p, size_t n);

#endif
