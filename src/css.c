/*
 * css.c - the references of a stylesheet (see css.h).
 *
 * One pass over the bytes, after the tokenizer of CSS Syntax Level 3
 * (section 4) where it matters: comments, strings, escapes, names
 * (identifiers, functions, at-keywords, hashes, dimensions, so that
 * "xurl(" or "1url(" is not a url()), url tokens and their bad forms.
 * Everything else is a byte that only moves the position, counts a
 * parenthesis or a brace, or ends an at-rule's prelude.  Resolving the
 * references is links.c's job.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ascii.h"
#include "css.h"
#include "mem.h"

/* Parentheses whose function is remembered; deeper ones are plain. */
#define NEST_MAX 64
/* Names compared (at-keywords, functions); longer ones match nothing. */
#define WORD_MAX 24

/* What an open parenthesis is. */
enum paren {
    PAREN_PLAIN = 0,
    PAREN_IMAGE_SET, /* its strings are images */
    PAREN_URL,       /* url("x") or src("x"): its first string is one */
    PAREN_URL_DONE   /* ... which was seen */
};

/* The at-rule whose prelude is being read. */
enum at_rule {
    AT_NONE = 0,
    AT_IMPORT,
    AT_IGNORE,    /* @namespace, or an @import after its URL */
    AT_FONT_FACE
};

struct scan {
    const unsigned char *s;
    size_t n, i;
    pg__css_ref_cb cb;
    void *ud;
    int stop;
    size_t depth;          /* open parentheses */
    unsigned char paren[NEST_MAX];
    size_t braces;         /* open braces */
    size_t font_brace;     /* braces inside the @font-face block, or 0 */
    enum at_rule at;       /* the prelude being read */
    int rules_seen;        /* a top-level block was seen: no @import */
    char dec[PG_CSS_URL_MAX];
    size_t dlen;
    int dlong;             /* dec overflowed: the reference is dropped */
};

static int is_newline(int c)
{
    return c == '\n' || c == '\r' || c == '\f';
}

static int is_hex(int c)
{
    return pg__is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_val(int c)
{
    if (pg__is_digit(c))
        return c - '0';
    return pg__to_lower(c) - 'a' + 10;
}

static int is_name_start(int c)
{
    return pg__is_alpha(c) || c == '_' || c >= 0x80;
}

static int is_name_char(int c)
{
    return is_name_start(c) || pg__is_digit(c) || c == '-';
}

/* The byte at i, or -1 past the end. */
static int at(const struct scan *sc, size_t i)
{
    return i < sc->n ? sc->s[i] : -1;
}

/* A valid escape starts at i: '\' not followed by a newline or the end. */
static int valid_escape(const struct scan *sc, size_t i)
{
    int c = at(sc, i + 1);

    return at(sc, i) == '\\' && c >= 0 && !is_newline(c);
}

/* An identifier starts at i (the standard's "would start an ident"). */
static int ident_start(const struct scan *sc, size_t i)
{
    int c = at(sc, i);

    if (c == '-') {
        c = at(sc, i + 1);
        return c == '-' || (c >= 0 && is_name_start(c)) ||
               valid_escape(sc, i + 1);
    }
    if (c == '\\')
        return valid_escape(sc, i);
    return c >= 0 && is_name_start(c);
}

static void dec_reset(struct scan *sc)
{
    sc->dlen = 0;
    sc->dlong = 0;
}

static void dec_add(struct scan *sc, const char *p, size_t k)
{
    if (sc->dlen + k > sizeof(sc->dec)) {
        sc->dlong = 1;
        return;
    }
    memcpy(sc->dec + sc->dlen, p, k);
    sc->dlen += k;
}

/* Append code point cp as UTF-8 (U+FFFD for what is not a scalar). */
static void dec_add_cp(struct scan *sc, uint32_t cp)
{
    char u[4];

    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        cp = 0xfffd;
    if (cp < 0x80) {
        u[0] = (char)cp;
        dec_add(sc, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        dec_add(sc, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        dec_add(sc, u, 3);
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        dec_add(sc, u, 4);
    }
}

/* Append the byte at sc->i and move on; NUL stands for U+FFFD. */
static void raw(struct scan *sc)
{
    if (sc->s[sc->i])
        dec_add(sc, (const char *)sc->s + sc->i, 1);
    else
        dec_add_cp(sc, 0);
    sc->i++;
}

/*
 * Consume the escape whose '\' is at sc->i (valid_escape() holds) and
 * append what it stands for when out.
 */
static void escape(struct scan *sc, int out)
{
    uint32_t cp = 0;
    size_t k = 0;
    int c;

    sc->i++;
    c = at(sc, sc->i);
    if (!is_hex(c)) {
        if (out)
            dec_add(sc, (const char *)sc->s + sc->i, 1);
        sc->i++;
        return;
    }
    while (k < 6 && is_hex(at(sc, sc->i))) {
        cp = cp * 16 + (uint32_t)hex_val(sc->s[sc->i]);
        sc->i++;
        k++;
    }
    c = at(sc, sc->i);
    if (c == '\r' && at(sc, sc->i + 1) == '\n')
        sc->i += 2;
    else if (c >= 0 && pg__is_ws(c))
        sc->i++;
    if (out)
        dec_add_cp(sc, cp);
}

/*
 * Consume a name at sc->i; its lower-case ASCII form goes to name
 * (empty when it is longer than WORD_MAX - 1 or not ASCII).
 */
static void consume_name(struct scan *sc, char name[WORD_MAX])
{
    size_t k = 0;
    int ok = 1;

    for (;;) {
        int c = at(sc, sc->i);

        if (c >= 0 && is_name_char(c)) {
            sc->i++;
        } else if (valid_escape(sc, sc->i)) {
            dec_reset(sc);
            escape(sc, 1);
            c = sc->dlen == 1 ? (unsigned char)sc->dec[0] : 0x80;
        } else {
            break;
        }
        if (c >= 0x80 || k + 1 >= WORD_MAX)
            ok = 0;
        else
            name[k++] = (char)pg__to_lower(c);
    }
    name[ok ? k : 0] = '\0';
}

/* What kind a reference found now has; -1: none (not reported). */
static int ref_kind(const struct scan *sc, int in_import)
{
    if (sc->at == AT_IGNORE)
        return -1;
    if (sc->at == AT_IMPORT)
        return in_import ? PG_CSS_IMPORT : -1;
    return sc->font_brace ? PG_CSS_FONT : PG_CSS_IMAGE;
}

/* Report sc->dec as a reference of kind (when kind >= 0). */
static void report(struct scan *sc, int kind)
{
    struct pg__css_ref r;

    if (kind < 0 || sc->dlong || sc->dlen == 0)
        return;
    r.kind = (enum pg__css_ref_kind)kind;
    r.url = sc->dec;
    r.len = sc->dlen;
    if (sc->cb(&r, sc->ud))
        sc->stop = 1;
    if (kind == PG_CSS_IMPORT)
        sc->at = AT_IGNORE;
}

/* The function whose parenthesis encloses the position. */
static enum paren enclosing(const struct scan *sc)
{
    if (sc->depth == 0 || sc->depth > NEST_MAX)
        return PAREN_PLAIN;
    return (enum paren)sc->paren[sc->depth - 1];
}

/* Consume a string whose quote is at sc->i; report it if it names one. */
static void string(struct scan *sc)
{
    int q = sc->s[sc->i++], c;
    enum paren p = enclosing(sc);

    dec_reset(sc);
    for (;;) {
        c = at(sc, sc->i);
        if (c < 0 || c == q) {
            sc->i += c == q;
            break;
        }
        if (is_newline(c)) {
            /* A bad string: nothing, and a url("...") is spent. */
            if (p == PAREN_URL)
                sc->paren[sc->depth - 1] = PAREN_URL_DONE;
            return;
        }
        if (c == '\\') {
            c = at(sc, sc->i + 1);
            if (c < 0) {
                sc->i++;
            } else if (is_newline(c)) {
                sc->i += c == '\r' && at(sc, sc->i + 2) == '\n' ? 3 : 2;
            } else {
                escape(sc, 1);
            }
            continue;
        }
        raw(sc);
    }
    if (p == PAREN_URL) {
        sc->paren[sc->depth - 1] = PAREN_URL_DONE;
        report(sc, ref_kind(sc, sc->depth == 1));
    } else if (p == PAREN_IMAGE_SET) {
        report(sc, ref_kind(sc, 0));
    } else if (sc->depth == 0 && sc->at == AT_IMPORT) {
        report(sc, PG_CSS_IMPORT);
    }
}

/* The rest of a bad url: up to and including ')' or the end. */
static void bad_url(struct scan *sc)
{
    int c;

    while ((c = at(sc, sc->i)) >= 0) {
        if (c == ')') {
            sc->i++;
            return;
        }
        if (valid_escape(sc, sc->i))
            escape(sc, 0);
        else
            sc->i++;
    }
}

/* An unquoted url token after "url(" and white space; reported. */
static void url_token(struct scan *sc)
{
    int c;

    dec_reset(sc);
    for (;;) {
        c = at(sc, sc->i);
        if (c < 0)
            break;
        if (c == ')') {
            sc->i++;
            break;
        }
        if (pg__is_ws(c)) {
            while (pg__is_ws(at(sc, sc->i)))
                sc->i++;
            c = at(sc, sc->i);
            if (c >= 0 && c != ')') {
                bad_url(sc);
                return;
            }
            sc->i += c == ')';
            break;
        }
        if (c == '"' || c == '\'' || c == '(' || (c >= 1 && c <= 0x08) ||
            c == 0x0b ||
            (c >= 0x0e && c <= 0x1f) || c == 0x7f ||
            (c == '\\' && !valid_escape(sc, sc->i))) {
            bad_url(sc);
            return;
        }
        if (c == '\\') {
            escape(sc, 1);
            continue;
        }
        raw(sc);
    }
    report(sc, ref_kind(sc, sc->depth == 0));
}

static void open_paren(struct scan *sc, enum paren p)
{
    if (sc->depth < NEST_MAX)
        sc->paren[sc->depth] = (unsigned char)p;
    if (sc->depth < SIZE_MAX)
        sc->depth++;
}

/* A name at sc->i: an identifier, a function or a url token. */
static void ident(struct scan *sc)
{
    char name[WORD_MAX];
    size_t j;

    consume_name(sc, name);
    if (at(sc, sc->i) != '(')
        return;
    sc->i++;
    if (!strcmp(name, "url")) {
        j = sc->i;
        while (pg__is_ws(at(sc, j)))
            j++;
        if (at(sc, j) != '"' && at(sc, j) != '\'') {
            sc->i = j;
            url_token(sc);
            return;
        }
    }
    if (!strcmp(name, "url") || !strcmp(name, "src"))
        open_paren(sc, PAREN_URL);
    else if (!strcmp(name, "image-set") ||
             !strcmp(name, "-webkit-image-set"))
        open_paren(sc, PAREN_IMAGE_SET);
    else
        open_paren(sc, PAREN_PLAIN);
}

/* An at-keyword: '@' at sc->i. */
static void at_keyword(struct scan *sc)
{
    char name[WORD_MAX];

    sc->i++;
    if (!ident_start(sc, sc->i))
        return;
    consume_name(sc, name);
    sc->at = AT_NONE;
    if (!strcmp(name, "import") && sc->braces == 0 && !sc->rules_seen)
        sc->at = AT_IMPORT;
    else if (!strcmp(name, "namespace"))
        sc->at = AT_IGNORE;
    else if (!strcmp(name, "font-face"))
        sc->at = AT_FONT_FACE;
}

/* A comment: "/" "*" at sc->i, up to after its end or the input's. */
static void comment(struct scan *sc)
{
    const unsigned char *e;

    sc->i += 2;
    while (sc->i < sc->n) {
        e = memchr(sc->s + sc->i, '*', sc->n - sc->i);
        if (!e)
            break;
        sc->i = (size_t)(e - sc->s) + 1;
        if (at(sc, sc->i) == '/') {
            sc->i++;
            return;
        }
    }
    sc->i = sc->n;
}

static void open_brace(struct scan *sc)
{
    if (sc->at == AT_FONT_FACE && !sc->font_brace)
        sc->font_brace = sc->braces + 1;
    if (sc->braces == 0)
        sc->rules_seen = 1;
    sc->braces++;
    sc->at = AT_NONE;
    sc->i++;
}

static void close_brace(struct scan *sc)
{
    if (sc->font_brace && sc->font_brace == sc->braces)
        sc->font_brace = 0;
    if (sc->braces > 0)
        sc->braces--;
    sc->depth = 0;
    sc->at = AT_NONE;
    sc->i++;
}

/* A number and its unit ("10px", "1e3", ".5em", "50%"). */
static void number(struct scan *sc)
{
    int c;

    while ((c = at(sc, sc->i)) >= 0 && (pg__is_digit(c) || c == '.'))
        sc->i++;
    if (ident_start(sc, sc->i)) {
        char name[WORD_MAX];

        consume_name(sc, name);
    }
}

/* One token (or one byte of no interest) at sc->i. */
static void step(struct scan *sc)
{
    int c = sc->s[sc->i];
    char name[WORD_MAX];

    if (c == '/' && at(sc, sc->i + 1) == '*') {
        comment(sc);
    } else if (c == '"' || c == '\'') {
        string(sc);
    } else if (ident_start(sc, sc->i)) {
        ident(sc);
    } else if (pg__is_digit(c) || ((c == '.' || c == '+' || c == '-') &&
                                   pg__is_digit(at(sc, sc->i + 1)))) {
        sc->i++;
        number(sc);
    } else if (c == '#' || c == '\\') {
        sc->i++;
        if (c == '#' && (is_name_char(at(sc, sc->i)) ||
                         valid_escape(sc, sc->i)))
            consume_name(sc, name);
    } else if (c == '@') {
        at_keyword(sc);
    } else if (c == '(') {
        open_paren(sc, PAREN_PLAIN);
        sc->i++;
    } else if (c == ')') {
        if (sc->depth > 0)
            sc->depth--;
        sc->i++;
    } else if (c == '{') {
        open_brace(sc);
    } else if (c == '}') {
        close_brace(sc);
    } else {
        if (c == ';' && sc->depth == 0)
            sc->at = AT_NONE;
        sc->i++;
    }
}

int pg__css_scan(const char *css, size_t len, pg__css_ref_cb cb, void *ud)
{
    struct scan sc;

    memset(&sc, 0, offsetof(struct scan, dec));
    sc.dlen = 0;
    sc.dlong = 0;
    sc.s = (const unsigned char *)css;
    sc.n = css ? len : 0;
    sc.cb = cb;
    sc.ud = ud;
    while (sc.i < sc.n && !sc.stop)
        step(&sc);
    return sc.stop;
}

/*
 * Adding references to a link sink.
 */

struct adder {
    struct pg__link_sink *s;
    int imports;
    size_t *budget;
    int *cut;
    enum pg_code rc;
};

static int add_one(const struct pg__css_ref *r, void *ud)
{
    struct adder *a = ud;
    enum pg__link_kind k = PG_LINK_IMAGE;
    enum pg_code rc;

    if (*a->budget == 0) {
        *a->cut = 1;
        return 1;
    }
    (*a->budget)--;
    if (r->kind == PG_CSS_FONT || r->url[0] == '#')
        return 0;
    if (r->kind == PG_CSS_IMPORT) {
        if (!a->imports)
            return 0;
        k = PG_LINK_CSS;
    }
    rc = pg__link_sink_add(a->s, k, r->url, r->len, 0);
    if (rc == PG_E_NOMEM) {
        a->rc = rc;
        return 1;
    }
    return a->s->full;
}

enum pg_code pg__css_links(struct pg__link_sink *s, const char *css,
                           size_t len, int imports, size_t *budget, int *cut)
{
    struct adder a;

    a.s = s;
    a.imports = imports;
    a.budget = budget;
    a.cut = cut;
    a.rc = PG_OK;
    if (!s->full)
        pg__css_scan(css, len, add_one, &a);
    return a.rc;
}

/*
 * A fetched stylesheet.
 */

enum pg_code pg__css_extract(const char *body, size_t len,
                             const char *css_url, size_t max_links,
                             size_t max_bytes, struct pg__links *out,
                             char *err, size_t errlen)
{
    size_t budget = PG_CSS_MAX_REFS;
    struct pg__link_sink s;
    enum pg_code rc;
    int cut = 0;

    err[0] = '\0';
    memset(&s, 0, sizeof(s));
    s.out = out;
    s.max = max_links;
    rc = pg__link_base(css_url ? css_url : "", css_url ? strlen(css_url)
                       : 0, &s.base);
    if (rc) {
        if (rc != PG_E_NOMEM) {
            snprintf(err, errlen, "stylesheet URL '%.200s' is not an "
                     "http(s) URL", css_url ? css_url : "");
            rc = PG_E_INVALID;
        }
        goto out;
    }
    if (max_bytes && len > max_bytes) {
        len = max_bytes;
        out->truncated = 1;
        snprintf(err, errlen, "stylesheet larger than %zu bytes: only the "
                 "start is parsed", max_bytes);
    }
    rc = pg__css_links(&s, body, body ? len : 0, 1, &budget, &cut);
    if (cut) {
        out->truncated = 1;
        if (!err[0])
            snprintf(err, errlen, "more than %u CSS references; the rest "
                     "of the stylesheet is skipped", PG_CSS_MAX_REFS);
    }
    if (s.full && !err[0])
        snprintf(err, errlen, "more than %zu links; the rest of the "
                 "stylesheet is skipped", s.max);
out:
    if (rc == PG_E_NOMEM)
        snprintf(err, errlen, "%s", pg_strerror(rc));
    curl_url_cleanup(s.base);
    return rc;
}
