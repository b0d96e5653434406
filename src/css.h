/*
 * css.h - the references of a stylesheet: a small CSS tokenizer after
 * CSS Syntax Level 3 that finds what a browser would fetch, and the glue
 * that adds them to a link set.
 *
 * pg__css_scan() reports, in order:
 *  - url(x), url('x'), url("x") and src("x") as PG_CSS_IMAGE (or
 *    PG_CSS_FONT inside an @font-face block);
 *  - the strings of image-set() and -webkit-image-set() (besides their
 *    url()s) as PG_CSS_IMAGE;
 *  - @import "x" and @import url(x) as PG_CSS_IMPORT, when the @import
 *    is at the top level and before the first rule block (browsers
 *    ignore the others);
 * with CSS escapes decoded (\XX... hex escapes as UTF-8, \c as c, an
 * escaped newline in a string dropped).  It ignores comments, strings
 * that are not in one of those places (a "url(" inside them is text),
 * url()s of @namespace, bad url tokens (url(a b), url(a"b)) and strings
 * cut by a newline.  An unterminated url() or string at the end of the
 * input is reported, as the standard's tokenizer returns it.  As error
 * recovery a '}' closes every open parenthesis.
 *
 * The input is taken as bytes: ASCII syntax, other bytes copied into
 * URLs as they are (the resolver percent-encodes them).  It need not be
 * NUL-terminated; nothing past css[len - 1] is read.  Time is linear in
 * len; no memory is allocated.
 *
 * Thread-safety: any thread; nothing is shared.
 */
#ifndef PG_CSS_H
#define PG_CSS_H

#include <stddef.h>

#include "internal.h"
#include "links.h"
#include "pagegrab.h"

enum pg__css_ref_kind {
    PG_CSS_IMAGE = 0, /* url() or an image-set() string */
    PG_CSS_FONT,      /* url() inside @font-face */
    PG_CSS_IMPORT     /* the stylesheet an @import names */
};

/* One reference: url[0..len), decoded, valid during the callback only;
 * not NUL-terminated. */
struct pg__css_ref {
    enum pg__css_ref_kind kind;
    const char *url;
    size_t len;
};

/* Receives every reference; returns non-zero to stop the scan. */
typedef int (*pg__css_ref_cb)(const struct pg__css_ref *ref, void *ud);

/* A decoded reference longer than this is dropped (see PG_URL_MAX). */
#define PG_CSS_URL_MAX 8192

/* References one page or stylesheet may give (see pg__css_links). */
#define PG_CSS_MAX_REFS 50000u

/*
 * Tokenize css[0..len) and call cb for each reference, in order.
 * Returns 1 if cb stopped the scan, else 0.
 */
int pg__css_scan(const char *css, size_t len, pg__css_ref_cb cb, void *ud);

/*
 * Add the references of css[0..len) to the link sink s: images as
 * PG_LINK_IMAGE, and, when imports, @imports as PG_LINK_CSS (fonts and,
 * without imports, @imports are skipped; so are references that are
 * only a fragment, "#id", which name something in the document).
 * *budget is the number of references that may still be looked at; it
 * is decreased, and when it runs out the rest of css is skipped and
 * *cut set.  Returns PG_OK (also when references do not resolve) or
 * PG_E_NOMEM.
 */
enum pg_code pg__css_links(struct pg__link_sink *s, const char *css,
                           size_t len, int imports, size_t *budget,
                           int *cut) PG_WARN_UNUSED;

/*
 * Parse len bytes of a stylesheet fetched from css_url (the final URL,
 * after redirects) and add its links to *out: url()s as PG_LINK_IMAGE,
 * @imports as PG_LINK_CSS, resolved against css_url.  What it may cost
 * is bounded as for pages: the first max_bytes bytes (0: all),
 * PG_CSS_MAX_REFS references and max_links links (0: no limit); past a
 * bound out->truncated is set and err says which.  Returns PG_OK (err "" or that warning), PG_E_INVALID for a
 * css_url that is not an http(s) URL, PG_E_NOMEM; err says why.  Any
 * thread (curl_global_init() first).
 */
enum pg_code pg__css_extract(const char *body, size_t len,
                             const char *css_url, size_t max_links,
                             size_t max_bytes, struct pg__links *out,
                             char *err, size_t errlen) PG_WARN_UNUSED;

#endif
