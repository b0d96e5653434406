/*
 * links.h - a set of links (kind, url), and URL resolution of references.
 *
 * pg__extract() (extract.h) fills a struct pg__links with the links of a
 * page; the worker pool carries it back to the job.  Every reference is
 * resolved and normalised exactly as pg__url_parse() does, so that one
 * resource always gives one string.  References that are not http(s)
 * (data:, javascript:, mailto:, ftp: ...) are refused.  Finding the
 * references in a page is not done here (extract.c).
 *
 * Invariants: a struct pg__links never holds two links with the same kind
 * and url; the links pg__extract() adds are absolute, normalised http(s)
 * URLs without a fragment.
 *
 * Thread-safety: pg__link_resolve() and the functions on different lists
 * are thread-safe; curl_global_init() must have been called first.
 */
#ifndef PG_LINKS_H
#define PG_LINKS_H

#include <stddef.h>

#include <curl/curl.h>

#include "internal.h"
#include "pagegrab.h"

enum pg__link_kind {
    PG_LINK_IMAGE = 0, /* an image to download */
    PG_LINK_PAGE = 1,  /* a page to fetch and parse (--follow) */
    PG_LINK_CSS = 2    /* a stylesheet to fetch and parse (--images) */
};

struct pg__link {
    enum pg__link_kind kind;
    char *url; /* owned by the list */
};

/*
 * A set of links in insertion order.  v[0..n) is for reading; change the
 * set only with the functions below.  slot and nslot are private: an
 * open-addressing index of v (entries are index + 1, 0 is free) that
 * makes pg__links_add() O(1).  An all-zero struct is a valid empty set.
 */
struct pg__links {
    struct pg__link *v;
    size_t n, cap;
    size_t *slot;
    size_t nslot;
    int truncated; /* pg__extract() hit a limit: links may be missing */
};

/* Make l an empty set; allocates nothing. */
void pg__links_init(struct pg__links *l);

/* Free every url and the arrays; l is then empty and can be reused. */
void pg__links_release(struct pg__links *l);

/*
 * Add a copy of url with kind k, unless the set already holds the same
 * (kind, url).  Returns PG_OK (added or already there) or PG_E_NOMEM (l
 * unchanged).  url is taken as given: no resolution or normalisation.
 */
enum pg_code pg__links_add(struct pg__links *l, enum pg__link_kind k,
                           const char *url) PG_WARN_UNUSED;

/*
 * Append a copy of url with kind k without looking for it first and
 * without indexing it: for a set copied from one that was a set already
 * (a worker's links, decoded by the parent) and then read once.  A set
 * with an index (pg__links_add() was called on it) gets pg__links_add().
 * A later pg__links_add() indexes what was appended.  PG_OK or
 * PG_E_NOMEM (l unchanged).
 */
enum pg_code pg__links_append(struct pg__links *l, enum pg__link_kind k,
                              const char *url) PG_WARN_UNUSED;

/* 1 if l holds (k, url). */
int pg__links_has(const struct pg__links *l, enum pg__link_kind k,
                  const char *url);

/*
 * Add url, which is taken: it is freed unless it went into l.  *added
 * says whether it did (0 for a duplicate).  On PG_E_NOMEM l is unchanged.
 */
enum pg_code pg__links_take(struct pg__links *l, enum pg__link_kind k,
                            char *url, int *added) PG_WARN_UNUSED;

/*
 * Resolve the reference ref (len bytes, untrusted; need not be
 * NUL-terminated) against the absolute URL base.  Surrounding white
 * space is trimmed, tabs and newlines inside are removed (as the URL
 * standard does), '\' before the query counts as '/', the fragment is
 * dropped; spaces and non-ASCII bytes are percent-encoded.
 *
 * On success *out is a new absolute URL normalised as by
 * pg__url_parse(), which the caller frees with pg_free().  Returns
 * PG_E_URL (malformed or empty reference or base, control characters,
 * longer than PG_URL_MAX), PG_E_SCHEME (a scheme other than http or
 * https: data:, javascript:, mailto:, ftp: ...) or PG_E_NOMEM; *out is
 * then NULL.  Any thread.
 */
enum pg_code pg__link_resolve(const char *base, const char *ref,
                              size_t len, char **out) PG_WARN_UNUSED;

/*
 * A new URL handle *out holding abs (n bytes) normalised, to resolve
 * many references against with pg__link_resolve_with(); the caller frees
 * it with curl_url_cleanup().  PG_E_URL or PG_E_NOMEM; *out NULL then.
 */
enum pg_code pg__link_base(const char *abs, size_t n,
                           CURLU **out) PG_WARN_UNUSED;

/* pg__link_resolve() against a handle from pg__link_base(). */
enum pg_code pg__link_resolve_with(CURLU *base, const char *ref,
                                   size_t len, char **out) PG_WARN_UNUSED;

/*
 * Where one page's (or stylesheet's) references go: resolved against
 * base, added to out, at most max of them (0: no limit).  The caller
 * sets base, out and max and zeroes the rest; base stays the caller's.
 */
struct pg__link_sink {
    CURLU *base;
    struct pg__links *out;
    size_t max;
    size_t added; /* links added through this sink */
    int full;     /* a new link was refused for max: out->truncated is
                     set and the rest of the input should be skipped */
};

/*
 * Resolve ref[0..len) against s->base (pg__link_resolve_with()) and add
 * it with kind k; when image_files_only, only a URL whose path ends in
 * an image extension.  Returns PG_OK when the reference gave a usable
 * URL (added, already there, not an image file, or refused because s
 * is full), PG_E_URL or PG_E_SCHEME when not, PG_E_NOMEM.
 */
enum pg_code pg__link_sink_add(struct pg__link_sink *s,
                               enum pg__link_kind k, const char *ref,
                               size_t len, int image_files_only)
    PG_WARN_UNUSED;

/* 1 if the path of the normalised url ends in an image extension. */
int pg__link_is_image(const char *url);

#endif
