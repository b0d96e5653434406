/*
 * extract.h - links found in HTML pages (libxml2 + XPath).
 *
 * pg__extract() parses one fetched page with libxml2's HTML parser and
 * evaluates XPath expressions on it: the built-in image expressions
 * (--images), the user's --xpath expressions (image links) and --follow
 * expressions (page links).  Every reference is resolved against the
 * page's first <base href> (itself resolved against the page URL) or the
 * page URL, and normalised exactly as pg__url_parse() does, so that one
 * resource always gives one string.  References that are not http(s)
 * (data:, javascript:, mailto:, ftp: ...) are dropped.
 *
 * Invariants:
 *  - a struct pg__links never holds two links with the same kind and url;
 *    the links pg__extract() adds are absolute, normalised http(s) URLs
 *    without a fragment;
 *  - nothing here prints.  The HTML parser runs with HTML_PARSE_NOERROR |
 *    HTML_PARSE_NOWARNING and never sees a byte it could fail to decode
 *    (pages are decoded to UTF-8 here, with iconv, before libxml2 sees
 *    them).  XPath errors go to a handler on the extractor's own XPath
 *    context.  Expressions that would make libxml2 write to its global
 *    error channel during evaluation (unknown functions, prefixed
 *    function names, variables) are refused when they are compiled.
 *
 * Thread-safety: struct pg__extract_config is shared read-only by every
 * worker.  A struct pg__extractor holds compiled XPath expressions and an
 * XPath context, which libxml2 modifies while evaluating; it, and every
 * document parsed with it, belongs to one thread at a time.
 * pg__xpath_check(), pg__link_resolve(), pg__extract_is_html() and the
 * pg__links functions (on different lists) are thread-safe.
 * curl_global_init() and xmlInitParser() must have been called first
 * (pg_global_init()).
 */
#ifndef PG_EXTRACT_H
#define PG_EXTRACT_H

#include <stddef.h>

#include "internal.h"
#include "pagegrab.h"

enum pg__link_kind {
    PG_LINK_IMAGE = 0, /* an image to download */
    PG_LINK_PAGE = 1   /* a page to fetch and parse (--follow) */
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

/* Settings of extraction; read-only, shared by all workers. */
struct pg__extract_config {
    int default_images;       /* 1: the built-in image expressions */
    const char *const *image_xpaths; /* --xpath EXPR (repeatable) */
    size_t n_image_xpaths;
    const char *const *follow_xpaths; /* --follow EXPR (repeatable) */
    size_t n_follow_xpaths;
    int srcset_all;           /* 1: every srcset candidate, else the
                                 largest one only */
    size_t max_links;         /* links added per page; 0: no limit */
    size_t max_bytes;         /* decoded bytes parsed per page; 0:
                                 PG_EXTRACT_MAX_BYTES */
    size_t max_nodes;         /* elements, attributes, comments and PIs
                                 per page; 0: PG_EXTRACT_MAX_NODES */
};

/* What parsing one page may cost by default (see pg__extract()). */
#define PG_EXTRACT_MAX_BYTES (16u << 20)
#define PG_EXTRACT_MAX_NODES 500000u

/*
 * Send libxml2's global error output of the calling thread (libxml2
 * keeps it per thread) to a handler that drops it, so that nothing the
 * parser or XPath might report there reaches stderr.  Called by
 * pg_global_init() (the main thread, inherited by worker processes) and
 * by pg__extractor_new() (every worker thread).
 */
void pg__extract_silence(void);

/*
 * Compile one XPath expression to check it.  Besides syntax errors it
 * refuses what libxml2 would only report at evaluation time (and then on
 * stderr): unknown functions, function names with a namespace prefix
 * and variable references ($x), none of which can work here.
 * Returns PG_OK, or PG_E_INVALID with the reason in err (libxml2's
 * message and the offset, without the expression), or PG_E_NOMEM.
 * Any thread.
 */
enum pg_code pg__xpath_check(const char *expr, char *err,
                             size_t errlen) PG_WARN_UNUSED;

/* Compiled expressions and XPath context of one worker. */
struct pg__extractor;

/*
 * Compile cfg's expressions into a new extractor *out.  cfg is borrowed
 * and must outlive the extractor.  Returns PG_OK, PG_E_INVALID (an
 * expression fails pg__xpath_check(); err says which and why) or
 * PG_E_NOMEM.  *out is NULL on failure.  Call it in the thread that
 * will use the extractor.
 */
enum pg_code pg__extractor_new(const struct pg__extract_config *cfg,
                               struct pg__extractor **out, char *err,
                               size_t errlen) PG_WARN_UNUSED;

/* Free x; NULL is a no-op. */
void pg__extractor_free(struct pg__extractor *x);

/*
 * Parse len bytes of HTML fetched from page_url (the final URL, after
 * redirects) and append the links found to *out, skipping those already
 * in it.  content_type is the Content-Type header value or NULL.
 *
 * Characters are decoded as browsers do: a byte-order mark, else the
 * charset= of content_type, else a <meta charset> or <meta http-equiv=
 * "Content-Type"> within the first 4096 bytes, else UTF-8 if the page is
 * valid UTF-8, else windows-1252.  Undecodable bytes become U+FFFD.
 *
 * The built-in image expressions take img/@src, img/@srcset,
 * img/@data-src, img/@data-srcset, img/@data-original,
 * img/@data-lazy-src, source/@srcset, source/@data-srcset, and a/@href
 * when the URL path ends in an image extension (jpg jpeg png gif webp
 * avif bmp svg tif tiff ico, any case).  User expressions are
 * evaluated with the document node as the context node (write
 * "//img/@src", not "img/@src").  Their results are used as follows:
 * attributes give their value; elements give their first attribute
 * among src, data-src, srcset, href, data-srcset, data-original,
 * data-lazy-src, poster and data that yields a usable URL; text,
 * comment and CDATA nodes and string results give their text; numbers
 * and booleans give nothing.  Attributes whose name ends in "srcset"
 * are parsed as srcset lists (HTML's algorithm): every candidate when
 * cfg->srcset_all, else the largest (by width, else by density).
 *
 * What one page may cost is bounded; past a bound the page's links
 * are cut, out->truncated is set and err says which limit was hit:
 *  - at most cfg->max_links links are added per call; the rest of the
 *    page is then skipped;
 *  - only the first cfg->max_bytes bytes of the decoded page are parsed;
 *  - parsing stops after cfg->max_nodes elements, attributes, comments
 *    and processing instructions (which also bounds every XPath result);
 *  - one expression may take at most 10^8 XPath steps on one page
 *    (libxml2's opLimit); past that it fails.
 *
 * Returns PG_OK, also for markup so broken that nothing is found; err is
 * then "" or a warning (an expression failed on this page, gave a number,
 * or a limit was reached).  PG_E_PARSE when libxml2 produces no
 * document, PG_E_LIMIT for a body over INT_MAX bytes, PG_E_INVALID for a
 * page_url that is not an http(s) URL, PG_E_NOMEM; err says why.  On
 * failure *out may hold some of the page's links (each a valid link).
 * The calling thread must own x.
 */
enum pg_code pg__extract(struct pg__extractor *x, const char *body,
                         size_t len, const char *content_type,
                         const char *page_url, struct pg__links *out,
                         char *err, size_t errlen) PG_WARN_UNUSED;

/*
 * 1 if a response should be parsed as HTML: content_type is text/html or
 * application/xhtml+xml (any case, parameters ignored), or it is NULL,
 * empty or unknown ("unknown/unknown", "application/unknown", "* / *")
 * and the first bytes of body (len, up to 512 are looked at) start like
 * HTML as the MIME Sniffing standard says ("<!DOCTYPE HTML", "<html",
 * "<head", "<body", "<script", "<p", "<!--" ... after white space).
 * Else 0.
 */
int pg__extract_is_html(const char *content_type, const char *body,
                        size_t len);

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

/* One srcset candidate: url[0..len) points into the parsed string. */
struct pg__srcset_cand {
    const char *url;
    size_t len;
    double width;   /* 0: no "w" descriptor */
    double density; /* from an "x" descriptor, else 1 */
};

#ifdef PG_UNITTEST
enum pg_code extract_srcset_parse(const char *s, size_t len,
                                  struct pg__srcset_cand **out,
                                  size_t *n);
size_t extract_srcset_best(const struct pg__srcset_cand *c, size_t n);
int extract_prescan_charset(const char *body, size_t len, char *out,
                            size_t outlen);
int extract_header_charset(const char *content_type, char *out,
                           size_t outlen);
size_t extract_cap_attributes(char *s, size_t n);
enum pg_code extract_to_utf8(const char *body, size_t len,
                             const char *content_type, char **out,
                             size_t *outlen, char *enc, size_t enclen);
#endif

#endif
