/*
 * extract.c - links found in HTML pages (see extract.h).
 *
 * pg__extract() works in four steps:
 *  1. decode(): the page is decoded into UTF-8 here, valid and without
 *     NUL bytes or byte-order mark.  libxml2 2.9's own decoding reports
 *     conversion errors on its global error channel (stderr) whatever the
 *     parser options, and it drops the rest of the page at the first
 *     undecodable byte; so libxml2 only ever gets clean UTF-8 and
 *     HTML_PARSE_IGNORE_ENC.
 *  2. htmlCtxtReadMemory() with a new parser context per page (a reused
 *     one keeps a dictionary that grows with every page).
 *  3. The base URL: the first <base href>, resolved against the page URL.
 *  4. Every expression in turn: each result is resolved with libcurl's
 *     URL API, normalised by pg__url_parse() and added to the links.
 */
#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/HTMLparser.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "buf.h"
#include "extract.h"
#include "mem.h"
#include "url.h"

#define URL_FLAGS \
    (CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE | CURLU_ALLOW_SPACE)

/*
 * XML_PARSE_HUGE lifts the depth limit of 256 elements, beyond which
 * libxml2 silently stops parsing (pages with hundreds of unclosed <div>
 * or <font> exist).  Parsing, XPath and freeing are iterative in 2.9.14,
 * so depth costs memory, not stack; the size of a page is bounded by
 * the caller (PG_PARSE_MAX).
 */
#define PARSE_OPTIONS                                                  \
    (HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |      \
     HTML_PARSE_NOWARNING | HTML_PARSE_COMPACT | HTML_PARSE_NODEFDTD | \
     HTML_PARSE_IGNORE_ENC | XML_PARSE_HUGE)

/* Bytes searched for a <meta> charset (the HTML standard says 1024). */
#define PRESCAN_MAX 4096
/* Bytes looked at by pg__extract_is_html(). */
#define SNIFF_MAX 512
/* Longest charset label taken from a header or a <meta>. */
#define CHARSET_MAX 40
/* XPath steps one expression may take on one page. */
#define XPATH_OP_LIMIT 100000000UL
/* Longest XPath function name looked up. */
#define FUNC_NAME_MAX 64

/* The error type of libxml2's structured handlers changed in 2.12. */
#if LIBXML_VERSION >= 21200
#define PG_XML_ERROR const xmlError
#else
#define PG_XML_ERROR xmlError
#endif

/* libxml2's global error channels, silenced (see pg__extract_silence). */
static void drop_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void drop_structured(void *ctx, PG_XML_ERROR *e)
{
    (void)ctx;
    (void)e;
}

void pg__extract_silence(void)
{
    xmlSetGenericErrorFunc(NULL, drop_generic);
    xmlSetStructuredErrorFunc(NULL, drop_structured);
}

/* ASCII-only character classes: the locale must not matter. */
static int is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int to_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* 1 if s[0..n) equals the lower-case word w, ignoring ASCII case. */
static int ci_eq(const char *s, size_t n, const char *w)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!w[i] || to_lower((unsigned char)s[i]) != w[i])
            return 0;
    }
    return w[n] == '\0';
}

/* 1 if s[0..n) starts with the lower-case word w, ignoring ASCII case. */
static int ci_prefix(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);

    return n >= wl && ci_eq(s, wl, w);
}

/*
 * Links.
 */

void pg__links_init(struct pg__links *l)
{
    memset(l, 0, sizeof(*l));
}

void pg__links_release(struct pg__links *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        pg_free(l->v[i].url);
    pg_free(l->v);
    pg_free(l->slot);
    pg__links_init(l);
}

static size_t link_hash(enum pg__link_kind k, const char *url)
{
    uint64_t h = pg__hash64(url, strlen(url));

    h ^= (uint64_t)k + 1;
    h *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(h ^ (h >> 32));
}

/* The slot holding (k, url), or the free slot where it would go. */
static size_t find_slot(const struct pg__links *l, enum pg__link_kind k,
                        const char *url)
{
    size_t mask = l->nslot - 1, i = link_hash(k, url) & mask;

    for (;;) {
        size_t s = l->slot[i];

        if (!s)
            return i;
        if (l->v[s - 1].kind == k && !strcmp(l->v[s - 1].url, url))
            return i;
        i = (i + 1) & mask;
    }
}

static int links_has(const struct pg__links *l, enum pg__link_kind k,
                     const char *url)
{
    return l->nslot && l->slot[find_slot(l, k, url)];
}

/* Rebuild the index twice as large; on failure l is unchanged. */
static enum pg_code grow_index(struct pg__links *l)
{
    size_t n = l->nslot ? l->nslot * 2 : 64, i;
    size_t *slot;

    if (l->nslot > SIZE_MAX / 4 / sizeof(*slot))
        return PG_E_NOMEM;
    /* A set filled by pg__links_append() has no index yet. */
    while (n < (l->n + 1) * 2) {
        if (n > SIZE_MAX / 4 / sizeof(*slot))
            return PG_E_NOMEM;
        n *= 2;
    }
    slot = pg_calloc(n, sizeof(*slot));
    if (!slot)
        return PG_E_NOMEM;
    pg_free(l->slot);
    l->slot = slot;
    l->nslot = n;
    for (i = 0; i < l->n; i++) {
        size_t j = link_hash(l->v[i].kind, l->v[i].url) & (n - 1);

        while (slot[j])
            j = (j + 1) & (n - 1);
        slot[j] = i + 1;
    }
    return PG_OK;
}

/* Room in v for one more link; on failure l is unchanged. */
static enum pg_code links_room(struct pg__links *l)
{
    size_t cap = l->cap ? l->cap * 2 : 16;
    struct pg__link *v = NULL;

    if (l->n < l->cap)
        return PG_OK;
    if (cap <= SIZE_MAX / sizeof(*v))
        v = pg_realloc(l->v, cap * sizeof(*v));
    if (!v)
        return PG_E_NOMEM;
    l->v = v;
    l->cap = cap;
    return PG_OK;
}

/*
 * Add url, which is taken: it is freed unless it went into l.  *added
 * says whether it did (0 for a duplicate).  On PG_E_NOMEM l is unchanged.
 */
static enum pg_code links_take(struct pg__links *l, enum pg__link_kind k,
                               char *url, int *added)
{
    enum pg_code rc;
    size_t i;

    *added = 0;
    if ((l->n + 1) * 2 > l->nslot) {
        rc = grow_index(l);
        if (rc) {
            pg_free(url);
            return rc;
        }
    }
    i = find_slot(l, k, url);
    if (l->slot[i]) {
        pg_free(url);
        return PG_OK;
    }
    if (links_room(l)) {
        pg_free(url);
        return PG_E_NOMEM;
    }
    l->v[l->n].kind = k;
    l->v[l->n].url = url;
    l->n++;
    l->slot[i] = l->n;
    *added = 1;
    return PG_OK;
}

enum pg_code pg__links_add(struct pg__links *l, enum pg__link_kind k,
                           const char *url)
{
    char *copy;
    int added;

    if (links_has(l, k, url))
        return PG_OK;
    copy = pg_strdup(url);
    if (!copy)
        return PG_E_NOMEM;
    return links_take(l, k, copy, &added);
}

enum pg_code pg__links_append(struct pg__links *l, enum pg__link_kind k,
                              const char *url)
{
    char *copy;

    if (l->nslot)
        return pg__links_add(l, k, url);
    if (links_room(l))
        return PG_E_NOMEM;
    copy = pg_strdup(url);
    if (!copy)
        return PG_E_NOMEM;
    l->v[l->n].kind = k;
    l->v[l->n].url = copy;
    l->n++;
    return PG_OK;
}

/*
 * Character decoding.
 */

/* Copy a charset label to out if it looks like one; 1 if it does. */
static int take_label(const char *s, size_t n, char *out, size_t outlen)
{
    size_t i;

    while (n > 0 && is_ws((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_ws((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n > CHARSET_MAX || n >= outlen)
        return 0;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];

        /* No '/': iconv gives meaning to "//TRANSLIT" and the like. */
        if (!is_alpha(c) && !is_digit(c) && !strchr("-_.:+", c))
            return 0;
    }
    for (i = 0; i < n; i++)
        out[i] = (char)to_lower((unsigned char)s[i]);
    out[n] = '\0';
    return 1;
}

/*
 * The HTML standard's "extract a character encoding from a meta
 * element", on v[0..n): the label after "charset=" (any case), quoted or
 * not.  Also right for a Content-Type header value.
 */
static int charset_from_content(const char *v, size_t n, char *out,
                                size_t outlen)
{
    size_t i = 0;

    for (;;) {
        size_t start;

        while (i + 7 <= n && !ci_prefix(v + i, n - i, "charset"))
            i++;
        if (i + 7 > n)
            return 0;
        i += 7;
        while (i < n && is_ws((unsigned char)v[i]))
            i++;
        if (i >= n || v[i] != '=')
            continue;
        i++;
        while (i < n && is_ws((unsigned char)v[i]))
            i++;
        if (i >= n)
            return 0;
        if (v[i] == '"' || v[i] == '\'') {
            const char *q = memchr(v + i + 1, v[i], n - i - 1);

            if (!q)
                return 0;
            return take_label(v + i + 1, (size_t)(q - (v + i + 1)), out,
                              outlen);
        }
        start = i;
        while (i < n && !is_ws((unsigned char)v[i]) && v[i] != ';')
            i++;
        return take_label(v + start, i - start, out, outlen);
    }
}

PG_UNITTEST_STATIC int extract_header_charset(const char *content_type,
                                              char *out, size_t outlen)
{
    const char *semi;

    if (!content_type)
        return 0;
    semi = strchr(content_type, ';');
    if (!semi)
        return 0;
    return charset_from_content(semi, strlen(semi), out, outlen);
}

/* One attribute of the prescan: name and value, lower-cased, cut. */
struct scan_attr {
    char name[16];
    size_t nlen;
    char value[128];
    size_t vlen;
};

static void attr_addc(char *buf, size_t size, size_t *len, int c)
{
    if (*len + 1 < size)
        buf[(*len)++] = (char)to_lower(c);
    buf[*len < size ? *len : size - 1] = '\0';
}

/*
 * The HTML standard's "get an attribute" of the prescan, at s[*pi].
 * Returns 1 with the attribute in *a, or 0 when there is none (at '>'
 * or at the end).
 */
static int scan_get_attr(const unsigned char *s, size_t n, size_t *pi,
                         struct scan_attr *a)
{
    size_t i = *pi;
    int q;

    a->nlen = a->vlen = 0;
    a->name[0] = a->value[0] = '\0';
    while (i < n && (is_ws(s[i]) || s[i] == '/'))
        i++;
    if (i >= n || s[i] == '>')
        goto none;
    for (;;) {
        if (i >= n)
            goto none;
        if (s[i] == '=' && a->nlen > 0) {
            i++;
            break;
        }
        if (is_ws(s[i])) {
            while (i < n && is_ws(s[i]))
                i++;
            if (i >= n)
                goto none;
            if (s[i] != '=')
                goto done;
            i++;
            break;
        }
        if (s[i] == '/' || s[i] == '>')
            goto done;
        attr_addc(a->name, sizeof(a->name), &a->nlen, s[i]);
        i++;
    }
    while (i < n && is_ws(s[i]))
        i++;
    if (i >= n)
        goto none;
    if (s[i] == '"' || s[i] == '\'') {
        q = s[i++];
        while (i < n && s[i] != q)
            attr_addc(a->value, sizeof(a->value), &a->vlen, s[i++]);
        if (i >= n)
            goto none;
        i++;
        goto done;
    }
    while (i < n && !is_ws(s[i]) && s[i] != '>')
        attr_addc(a->value, sizeof(a->value), &a->vlen, s[i++]);
done:
    *pi = i;
    return 1;
none:
    *pi = i;
    return 0;
}

/* After "<meta": its charset, as the prescan finds it; 1 if found. */
static int scan_meta(const unsigned char *s, size_t n, size_t *pi,
                     char *out, size_t outlen)
{
    struct scan_attr a;
    int seen_he = 0, seen_content = 0, seen_charset = 0;
    int got_pragma = 0, need_pragma = -1;
    char cs[CHARSET_MAX + 1] = "";

    while (scan_get_attr(s, n, pi, &a)) {
        if (!strcmp(a.name, "http-equiv") && !seen_he) {
            seen_he = 1;
            if (!strcmp(a.value, "content-type"))
                got_pragma = 1;
        } else if (!strcmp(a.name, "content") && !seen_content) {
            seen_content = 1;
            if (!cs[0] && charset_from_content(a.value, a.vlen, cs,
                                               sizeof(cs)))
                need_pragma = 1;
        } else if (!strcmp(a.name, "charset") && !seen_charset) {
            seen_charset = 1;
            if (!take_label(a.value, a.vlen, cs, sizeof(cs)))
                cs[0] = '\0';
            need_pragma = 0;
        }
    }
    if (need_pragma < 0 || (need_pragma && !got_pragma) || !cs[0])
        return 0;
    /* A page that can be scanned as ASCII is not UTF-16. */
    if (!strncmp(cs, "utf-16", 6))
        snprintf(out, outlen, "utf-8");
    else if (!strcmp(cs, "x-user-defined"))
        snprintf(out, outlen, "windows-1252");
    else
        snprintf(out, outlen, "%s", cs);
    return 1;
}

/*
 * The HTML standard's "prescan a byte stream to determine its encoding"
 * over the first PRESCAN_MAX bytes; 1 with the label in out if found.
 */
PG_UNITTEST_STATIC int extract_prescan_charset(const char *body,
                                               size_t len, char *out,
                                               size_t outlen)
{
    const unsigned char *s = (const unsigned char *)body;
    size_t n = len < PRESCAN_MAX ? len : PRESCAN_MAX, i = 0;
    struct scan_attr a;

    while (i < n) {
        if (ci_prefix(body + i, n - i, "<!--")) {
            size_t p = i + 4;

            while (p < n && !(s[p] == '>' && s[p - 1] == '-' &&
                              s[p - 2] == '-'))
                p++;
            i = p;
        } else if (ci_prefix(body + i, n - i, "<meta") && i + 5 < n &&
                   (is_ws(s[i + 5]) || s[i + 5] == '/')) {
            i += 5;
            if (scan_meta(s, n, &i, out, outlen))
                return 1;
        } else if (s[i] == '<' && i + 1 < n &&
                   (is_alpha(s[i + 1]) ||
                    (s[i + 1] == '/' && i + 2 < n && is_alpha(s[i + 2])))) {
            while (i < n && !is_ws(s[i]) && s[i] != '>')
                i++;
            while (scan_get_attr(s, n, &i, &a))
                ;
        } else if (s[i] == '<' && i + 1 < n &&
                   (s[i + 1] == '!' || s[i + 1] == '/' || s[i + 1] == '?')) {
            while (i < n && s[i] != '>')
                i++;
        }
        i++;
    }
    return 0;
}

/* The iconv name for a label (the WHATWG Encoding standard's mapping). */
static const char *iconv_name(const char *label)
{
    static const struct {
        const char *label;
        const char *name;
    } alias[] = {
        { "utf-8", "UTF-8" }, { "utf8", "UTF-8" },
        { "unicode-1-1-utf-8", "UTF-8" },
        { "us-ascii", "WINDOWS-1252" }, { "ascii", "WINDOWS-1252" },
        { "iso-8859-1", "WINDOWS-1252" }, { "iso8859-1", "WINDOWS-1252" },
        { "iso_8859-1", "WINDOWS-1252" }, { "latin1", "WINDOWS-1252" },
        { "l1", "WINDOWS-1252" }, { "cp819", "WINDOWS-1252" },
        { "cp1252", "WINDOWS-1252" }, { "x-cp1252", "WINDOWS-1252" },
        { "ansi_x3.4-1968", "WINDOWS-1252" },
        { "windows-1252", "WINDOWS-1252" },
        { "gb2312", "GBK" }, { "gbk", "GBK" }, { "x-gbk", "GBK" },
        { "chinese", "GBK" }, { "csgb2312", "GBK" }, { "gb_2312", "GBK" },
        { "gb_2312-80", "GBK" }, { "iso-ir-58", "GBK" },
        { "gb18030", "GB18030" },
        { "big5", "BIG5-HKSCS" }, { "big5-hkscs", "BIG5-HKSCS" },
        { "cn-big5", "BIG5-HKSCS" }, { "x-x-big5", "BIG5-HKSCS" },
        { "shift_jis", "CP932" }, { "shift-jis", "CP932" },
        { "sjis", "CP932" }, { "x-sjis", "CP932" }, { "ms932", "CP932" },
        { "ms_kanji", "CP932" }, { "windows-31j", "CP932" },
        { "euc-kr", "CP949" }, { "ks_c_5601-1987", "CP949" },
        { "windows-949", "CP949" }, { "korean", "CP949" },
        { "utf-16", "UTF-16LE" }, { "utf-16le", "UTF-16LE" },
        { "utf-16be", "UTF-16BE" },
    };
    size_t i;

    for (i = 0; i < PG_ARRAY_SIZE(alias); i++) {
        if (!strcmp(label, alias[i].label))
            return alias[i].name;
    }
    return label;
}

/*
 * Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it
 * is not one.  When strict, characters libxml2 does not accept (its
 * IS_CHAR: C0 controls but tab, newline and carriage return; U+FFFE,
 * U+FFFF) count as invalid too, so that its loops and cap_attributes()
 * never stop at them.
 */
static size_t utf8_len(const unsigned char *s, size_t n, int strict)
{
    unsigned c = s[0];
    size_t len, i;
    unsigned lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return !strict || c >= 0x20 || c == '\t' || c == '\n' ||
               c == '\r';
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    if (strict && c == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
        return 0; /* U+FFFE, U+FFFF */
    return len;
}

/* Offset of the first byte of s[0..n) that is not valid, or n. */
static size_t utf8_valid_prefix(const char *s, size_t n, int strict)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t l = utf8_len(u + i, n - i, strict);

        if (!l)
            break;
        i += l;
    }
    return i;
}

/*
 * Append s[0..n) to b with every invalid byte (see utf8_len) made
 * U+FFFD, and form feeds made spaces.
 */
static enum pg_code add_utf8(struct pg_buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t ok = utf8_valid_prefix(s + i, n - i, 1);
        enum pg_code rc = pg_buf_add(b, s + i, ok);

        if (rc)
            return rc;
        i += ok;
        if (i < n) {
            size_t more = u[i] >= 0xf0 && u[i] <= 0xf4   ? 3
                          : u[i] >= 0xe0 && u[i] <= 0xef ? 2
                          : u[i] >= 0xc2 && u[i] <= 0xdf ? 1
                                                         : 0;

            if (u[i] == '\f')
                rc = pg_buf_addc(b, ' ');
            else
                rc = pg_buf_add(b, "\xef\xbf\xbd", 3);
            if (rc)
                return rc;
            i++;
            /* One U+FFFD for a truncated sequence, as browsers do. */
            while (more-- > 0 && i < n && u[i] >= 0x80 && u[i] <= 0xbf)
                i++;
        }
    }
    return PG_OK;
}

/* Convert s[0..n) from the open cd into UTF-8, appended to b. */
static enum pg_code add_iconv(struct pg_buf *b, iconv_t cd, size_t unit,
                              const char *s, size_t n)
{
    char tmp[8192];
    char *in = (char *)s;
    size_t inleft = n;
    enum pg_code rc;

    while (inleft > 0) {
        char *o = tmp;
        size_t oleft = sizeof(tmp), r;
        int e;

        errno = 0;
        r = iconv(cd, &in, &inleft, &o, &oleft);
        e = errno;
        rc = add_utf8(b, tmp, (size_t)(o - tmp));
        if (rc)
            return rc;
        if (r != (size_t)-1 || e == E2BIG)
            continue;
        if (e != EILSEQ && e != EINVAL)
            break;
        /* A byte (or code unit) that does not decode: U+FFFD. */
        rc = pg_buf_add(b, "\xef\xbf\xbd", 3);
        if (rc)
            return rc;
        if (inleft < unit)
            break;
        in += unit;
        inleft -= unit;
    }
    return PG_OK;
}

/* The decoded page: p[0..n), in owned or in the body itself. */
struct text {
    const char *p;
    size_t n;
    char *owned;
};

/* Decode body[0..len) from the iconv encoding name into t. */
static enum pg_code decode_as(const char *name, const char *body,
                              size_t len, struct text *t, int *unknown)
{
    struct pg_buf b = PG_BUF_INIT(INT_MAX - 1);
    enum pg_code rc;
    iconv_t cd;

    *unknown = 0;
    if (!strcmp(name, "UTF-8") || !strcmp(name, "utf-8")) {
        if (utf8_valid_prefix(body, len, 1) == len) {
            t->p = body;
            t->n = len;
            return PG_OK;
        }
        rc = add_utf8(&b, body, len);
    } else {
        cd = iconv_open("UTF-8", name);
        if (cd == (iconv_t)-1) {
            *unknown = 1;
            return errno == ENOMEM ? PG_E_NOMEM : PG_OK;
        }
        rc = add_iconv(&b, cd, strncmp(name, "UTF-16", 6) ? 1 : 2, body,
                       len);
        iconv_close(cd);
    }
    if (rc)
        return rc;
    t->n = b.len;
    t->owned = pg_buf_take(&b);
    if (!t->owned) {
        /* An empty result: keep a valid pointer. */
        t->p = "";
        t->n = 0;
        return PG_OK;
    }
    t->p = t->owned;
    return PG_OK;
}

/*
 * Decode the page into UTF-8 (see pg__extract() for the order in which
 * the encoding is chosen).  The name used goes into enc.
 */
static enum pg_code decode(const char *body, size_t len,
                           const char *content_type, struct text *t,
                           char *enc, size_t enclen)
{
    const unsigned char *u = (const unsigned char *)body;
    char label[CHARSET_MAX + 1];
    const char *name = NULL;
    enum pg_code rc;
    int unknown;

    memset(t, 0, sizeof(*t));
    if (len >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) {
        body += 3;
        len -= 3;
        name = "UTF-8";
    } else if (len >= 2 && u[0] == 0xff && u[1] == 0xfe) {
        body += 2;
        len -= 2;
        name = "UTF-16LE";
    } else if (len >= 2 && u[0] == 0xfe && u[1] == 0xff) {
        body += 2;
        len -= 2;
        name = "UTF-16BE";
    }
    if (name) {
        rc = decode_as(name, body, len, t, &unknown);
        if (rc || !unknown)
            goto out;
    }
    if (extract_header_charset(content_type, label, sizeof(label))) {
        name = iconv_name(label);
        rc = decode_as(name, body, len, t, &unknown);
        if (rc || !unknown)
            goto out;
    }
    if (extract_prescan_charset(body, len, label, sizeof(label))) {
        name = iconv_name(label);
        rc = decode_as(name, body, len, t, &unknown);
        if (rc || !unknown)
            goto out;
    }
    /* Controls do not make a page less UTF-8 (they are replaced). */
    name = utf8_valid_prefix(body, len, 0) == len ? "UTF-8"
                                                  : "WINDOWS-1252";
    rc = decode_as(name, body, len, t, &unknown);
    if (!rc && unknown) {
        /* No iconv for windows-1252: keep the text, bad bytes replaced. */
        name = "UTF-8";
        rc = decode_as(name, body, len, t, &unknown);
    }
out:
    if (!rc && enc)
        snprintf(enc, enclen, "%s", name);
    return rc;
}

#ifdef PG_UNITTEST
/* decode() into a new string, for the tests. */
enum pg_code extract_to_utf8(const char *body,
                                                size_t len,
                                                const char *content_type,
                                                char **out, size_t *outlen,
                                                char *enc, size_t enclen)
{
    struct text t;
    enum pg_code rc = decode(body, len, content_type, &t, enc, enclen);

    *out = NULL;
    *outlen = 0;
    if (rc)
        return rc;
    *out = t.owned ? t.owned : pg_strndup(t.p, t.n);
    if (!*out)
        return PG_E_NOMEM;
    *outlen = t.n;
    return PG_OK;
}
#endif

/*
 * Attribute bombs.
 *
 * libxml2 2.9 checks every attribute of a start tag against all the
 * previous ones, so k attributes cost k^2/2 comparisons: one tag with
 * 80,000 attributes (a 700 KB page) takes minutes.  cap_attributes()
 * follows libxml2 2.9.14's tokenizer where it matters (comments, PIs,
 * DOCTYPE, end tags, script and style text, start tags and their
 * attribute loop, checked against it by test_attribute_bomb and the
 * fuzzer) and ends a start tag before its (MAX_ATTRS + 1)th attribute by
 * writing a '>' there.  The text is decoded first, so it holds no byte
 * that libxml2 would reject.
 */
#define MAX_ATTRS 128

/* libxml2's IS_BLANK_CH. */
static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* libxml2's htmlParseHTMLName: [A-Za-z_:.][A-Za-z0-9_:.-]*, at most 100
 * characters; returns the position after it (i if there is none). */
static size_t html_name(const char *s, size_t n, size_t i)
{
    size_t k = 0;
    int c = i < n ? (unsigned char)s[i] : 0;

    if (!is_alpha(c) && c != '_' && c != ':' && c != '.')
        return i;
    while (i < n && k < 100) {
        c = (unsigned char)s[i];
        if (!is_alpha(c) && !is_digit(c) && c != '_' && c != ':' &&
            c != '.' && c != '-')
            break;
        i++;
        k++;
    }
    return i;
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
    while (i < n && is_blank((unsigned char)s[i]))
        i++;
    return i;
}

/* Position of the first c at or after i, or n. */
static size_t find_byte(const char *s, size_t n, size_t i, char c)
{
    const char *p = i < n ? memchr(s + i, c, n - i) : NULL;

    return p ? (size_t)(p - s) : n;
}

/* After a quoted literal at s[i] (a quote), or i if there is none. */
static size_t skip_literal(const char *s, size_t n, size_t i)
{
    if (i >= n || (s[i] != '"' && s[i] != '\''))
        return i;
    i = find_byte(s, n, i + 1, s[i]);
    return i < n ? i + 1 : n;
}

/*
 * The attribute loop of a start tag whose name ends at i: returns where
 * it stops ('>', "/>" or n).  Cuts after MAX_ATTRS attributes when w
 * (a writable copy of s) is given; counts cuts in *cuts.
 */
static size_t start_tag(const char *s, size_t n, size_t i, char *w,
                        size_t *cuts)
{
    size_t count = 0, j;

    i = skip_blanks(s, n, i);
    while (i < n && s[i] != '>' &&
           !(s[i] == '/' && i + 1 < n && s[i + 1] == '>')) {
        j = html_name(s, n, i);
        if (j > i) {
            if (++count > MAX_ATTRS) {
                if (w)
                    w[i] = '>';
                (*cuts)++;
                return i;
            }
            i = skip_blanks(s, n, j);
            if (i < n && s[i] == '=') {
                i = skip_blanks(s, n, i + 1);
                if (i < n && (s[i] == '"' || s[i] == '\''))
                    i = skip_literal(s, n, i);
                else
                    while (i < n && s[i] != '>' &&
                           !is_blank((unsigned char)s[i]))
                        i++;
            }
        } else {
            /* A bogus attribute, dropped up to a blank or the end. */
            while (i < n && !is_blank((unsigned char)s[i]) &&
                   s[i] != '>' &&
                   !(s[i] == '/' && i + 1 < n && s[i + 1] == '>'))
                i++;
        }
        i = skip_blanks(s, n, i);
    }
    return i;
}

/* After the comment starting at s[i] ("<!--"): "-->" or "--!>". */
static size_t skip_comment(const char *s, size_t n, size_t i)
{
    size_t p;

    for (p = i + 6; p < n; p++) {
        if (s[p] != '>')
            continue;
        if (s[p - 1] == '-' && s[p - 2] == '-')
            return p + 1;
        if (p >= i + 7 && s[p - 1] == '!' && s[p - 2] == '-' &&
            s[p - 3] == '-')
            return p + 1;
    }
    return n;
}

/* libxml2's htmlParseName (an XML name; bytes >= 0x80 as letters). */
static size_t xml_name(const char *s, size_t n, size_t i)
{
    int c = i < n ? (unsigned char)s[i] : 0;

    if (!is_alpha(c) && c != '_' && c != ':' && c < 0x80)
        return i;
    while (i < n) {
        c = (unsigned char)s[i];
        if (!is_alpha(c) && !is_digit(c) && c != '_' && c != ':' &&
            c != '.' && c != '-' && c < 0x80)
            break;
        i++;
    }
    return i;
}

/* After the DOCTYPE declaration starting at s[i] ("<!DOCTYPE"). */
static size_t skip_doctype(const char *s, size_t n, size_t i)
{
    /* Only "<!DOCTYPE" and its name: libxml2 2.9 does not always take
     * what follows as literals (a misplaced or unterminated one: found
     * by fuzzing), so the rest is scanned as markup.  Cutting a bomb
     * that libxml2 would have skipped only shortens that text. */
    i = skip_blanks(s, n, i + 9);
    return xml_name(s, n, i);
}

/*
 * Cut what looks like an attribute bomb starting in s[from..to) of
 * s[0..n), a stretch the scanner takes for a comment or a processing
 * instruction: where libxml2 disagrees, the bomb is cut anyway; where it
 * agrees, only that text changes.  Returns the number of cuts so far.
 */
static size_t cap_inside(const char *s, size_t n, size_t from, size_t to,
                         char *w, size_t *cuts)
{
    size_t k;

    for (k = from; k + 1 < to; k++) {
        if (s[k] == '<' && is_alpha((unsigned char)s[k + 1])) {
            /* Unbounded: the tag may run past to as libxml2 reads it. */
            start_tag(s, n, html_name(s, n, k + 1), w, cuts);
            if (*cuts && !w)
                break;
        }
    }
    return *cuts;
}

/*
 * Scan s[0..n) as libxml2 would.  Without w: 1 if a start tag has more
 * than MAX_ATTRS attributes, else 0.  With w (s itself, writable): cut
 * every such tag and return how many were cut.
 */
static size_t cap_attributes(const char *s, size_t n, char *w)
{
    size_t i = 0, cuts = 0, j;
    const char *raw = NULL; /* inside script or style: its name */

    while (i < n) {
        if (raw) {
            /* Text up to "</" and the element's name, any case.  What
             * looks like a bomb in it is cut too: the scanner may have
             * entered raw text where libxml2 did not (fuzzing), and a cut
             * in script text only changes that text. */
            while (i < n && !(s[i] == '<' && i + 1 < n && s[i + 1] == '/' &&
                              ci_prefix(s + i + 2, n - i - 2, raw))) {
                if (s[i] == '<' && i + 1 < n &&
                    is_alpha((unsigned char)s[i + 1])) {
                    start_tag(s, n, html_name(s, n, i + 1), w, &cuts);
                    if (cuts && !w)
                        return cuts;
                }
                i++;
            }
            j = i < n ? html_name(s, n, i + 2) : n;
            if (i < n && j - (i + 2) != strlen(raw)) {
                /* "</scripti>": libxml2 stops the text there, drops the
                 * stray end tag and goes on in the same raw element, so
                 * the scanner does too (found by fuzzing). */
                i = find_byte(s, n, j, '>');
                i = i < n ? i + 1 : n;
                continue;
            }
            raw = NULL;
            continue;
        }
        if (s[i] != '<' || i + 1 >= n) {
            i++;
            continue;
        }
        if (s[i + 1] == '/') {
            j = html_name(s, n, i + 2);
            if (j == i + 2) {
                i += 2;
            } else {
                i = find_byte(s, n, j, '>');
                i = i < n ? i + 1 : n;
            }
        } else if (ci_prefix(s + i, n - i, "<!--")) {
            /* Bombs inside a comment are cut as well, in case libxml2
             * does not take it for one; only the comment changes. */
            j = skip_comment(s, n, i);
            if (cap_inside(s, n, i + 4, j, w, &cuts) && !w)
                return cuts;
            i = j;
        } else if (ci_prefix(s + i, n - i, "<!doctype")) {
            i = skip_doctype(s, n, i);
        } else if (s[i + 1] == '?') {
            j = i + 2;
            if (xml_name(s, n, j) > j) {
                /* Bytes >= 0x80 are taken as name characters here, which
                 * libxml2 does not always do (U+FFFD: fuzzing), so what
                 * looks like a bomb inside is cut too. */
                i = find_byte(s, n, j, '>');
                i = i < n ? i + 1 : n;
                if (cap_inside(s, n, j, i, w, &cuts) && !w)
                    return cuts;
            } else {
                i = j;
            }
        } else if (is_alpha((unsigned char)s[i + 1])) {
            size_t name = i + 1, end = html_name(s, n, name);

            i = start_tag(s, n, end, w, &cuts);
            if (cuts && !w)
                return cuts; /* counting only: one is enough */
            if (i < n && s[i] == '>') {
                if ((end - name == 6 && ci_eq(s + name, 6, "script")) ||
                    (end - name == 5 && ci_eq(s + name, 5, "style")))
                    raw = end - name == 6 ? "script" : "style";
                i++;
            } else if (i < n) {
                i += 2; /* "/>" */
            }
        } else {
            i++;
        }
    }
    return cuts;
}

/* Cut attribute bombs in t, copying the text first if it is borrowed. */
static enum pg_code defuse(struct text *t)
{
    if (!cap_attributes(t->p, t->n, NULL))
        return PG_OK;
    if (!t->owned) {
        t->owned = pg_malloc(t->n + 1);
        if (!t->owned)
            return PG_E_NOMEM;
        memcpy(t->owned, t->p, t->n);
        t->owned[t->n] = '\0';
        t->p = t->owned;
    }
    cap_attributes(t->p, t->n, t->owned);
    return PG_OK;
}

#ifdef PG_UNITTEST
size_t extract_cap_attributes(char *s, size_t n)
{
    return cap_attributes(s, n, s);
}
#endif

/*
 * HTML sniffing.
 */

/* The MIME Sniffing standard's HTML patterns (case-insensitive). */
static int sniff_html(const char *body, size_t len)
{
    static const char *const pat[] = {
        "<!doctype html", "<html", "<head", "<script", "<iframe", "<h1",
        "<div", "<font", "<table", "<a", "<style", "<title", "<b",
        "<body", "<br", "<p", "<!--",
    };
    size_t n = len < SNIFF_MAX ? len : SNIFF_MAX, i = 0, k;

    if (!body)
        return 0;
    if (n >= 3 && !memcmp(body, "\xef\xbb\xbf", 3))
        i = 3;
    while (i < n && is_ws((unsigned char)body[i]))
        i++;
    for (k = 0; k < PG_ARRAY_SIZE(pat); k++) {
        size_t pl = strlen(pat[k]);

        if (ci_prefix(body + i, n - i, pat[k]) && i + pl < n &&
            (body[i + pl] == ' ' || body[i + pl] == '>'))
            return 1;
    }
    return 0;
}

int pg__extract_is_html(const char *content_type, const char *body,
                        size_t len)
{
    const char *s = content_type, *e;
    size_t n;

    if (s) {
        while (is_ws((unsigned char)*s))
            s++;
        e = s;
        while (*e && *e != ';' && !is_ws((unsigned char)*e))
            e++;
        n = (size_t)(e - s);
        if (ci_eq(s, n, "text/html") ||
            ci_eq(s, n, "application/xhtml+xml"))
            return 1;
        if (n && !ci_eq(s, n, "unknown/unknown") &&
            !ci_eq(s, n, "application/unknown") && !ci_eq(s, n, "*/*"))
            return 0;
    }
    return sniff_html(body, len);
}

/*
 * URL resolution.
 */

/* PG_E_SCHEME if s starts with a scheme other than http(s). */
static enum pg_code check_scheme(const char *s)
{
    size_t i = 0;

    if (!is_alpha((unsigned char)s[0]))
        return PG_OK;
    while (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
           s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    if (s[i] != ':')
        return PG_OK;
    if (ci_eq(s, i, "http") || ci_eq(s, i, "https"))
        return PG_OK;
    return PG_E_SCHEME;
}

/* A new URL handle holding abs (n bytes) normalised; *out NULL on error. */
static enum pg_code base_handle(const char *abs, size_t n, CURLU **out)
{
    char err[PG_ERRBUF_SIZE];
    struct pg__url u;
    enum pg_code rc;
    CURLUcode uc;

    *out = NULL;
    rc = pg__url_parse(&u, abs, n, err, sizeof(err));
    if (rc)
        return rc == PG_E_NOMEM ? rc : PG_E_URL;
    *out = curl_url();
    if (!*out) {
        pg__url_release(&u);
        return PG_E_NOMEM;
    }
    uc = curl_url_set(*out, CURLUPART_URL, u.url, URL_FLAGS);
    pg__url_release(&u);
    if (uc) {
        curl_url_cleanup(*out);
        *out = NULL;
        return uc == CURLUE_OUT_OF_MEMORY ? PG_E_NOMEM : PG_E_URL;
    }
    return PG_OK;
}

/* Resolve ref[0..len) against the URL in base (see pg__link_resolve). */
static enum pg_code resolve_with(CURLU *base, const char *ref, size_t len,
                                 char **out)
{
    struct pg_buf b = PG_BUF_INIT(PG_URL_MAX);
    char err[PG_ERRBUF_SIZE];
    struct pg__url u;
    char *full = NULL;
    CURLU *h = NULL;
    enum pg_code rc = PG_OK;
    CURLUcode uc;
    int in_path = 1;
    size_t i;

    *out = NULL;
    while (len > 0 && is_ws((unsigned char)ref[0])) {
        ref++;
        len--;
    }
    while (len > 0 && is_ws((unsigned char)ref[len - 1]))
        len--;
    if (len == 0 || len > PG_URL_MAX)
        return PG_E_URL;
    /* Copy without tabs and newlines, spaces encoded; the fragment is
     * dropped. */
    for (i = 0; i < len && ref[i] != '#'; i++) {
        unsigned char c = (unsigned char)ref[i];

        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c < 0x20 || c == 0x7f) {
            rc = PG_E_URL;
            goto out;
        }
        if (c == '?')
            in_path = 0;
        if (c == '\\' && in_path)
            c = '/';
        /* As pg__url_parse() does: libcurl would make '+' of a space in
         * the query, which is a different URL. */
        if (c == ' ')
            rc = pg_buf_add(&b, "%20", 3);
        else
            rc = pg_buf_addc(&b, (char)c);
        if (rc)
            goto out;
    }
    rc = check_scheme(pg_buf_str(&b));
    if (rc)
        goto out;
    h = curl_url_dup(base);
    if (!h) {
        rc = PG_E_NOMEM;
        goto out;
    }
    /* An empty reference (after "#...") is the base itself. */
    if (b.len > 0) {
        uc = curl_url_set(h, CURLUPART_URL, pg_buf_str(&b), URL_FLAGS);
        if (uc) {
            rc = uc == CURLUE_OUT_OF_MEMORY ? PG_E_NOMEM : PG_E_URL;
            goto out;
        }
    }
    uc = curl_url_get(h, CURLUPART_URL, &full, 0);
    if (uc || !full) {
        rc = uc == CURLUE_OUT_OF_MEMORY ? PG_E_NOMEM : PG_E_URL;
        goto out;
    }
    rc = pg__url_parse(&u, full, strlen(full), err, sizeof(err));
    if (rc)
        goto out;
    *out = u.url;
    u.url = NULL;
    pg__url_release(&u);
out:
    if (rc == PG_E_LIMIT)
        rc = PG_E_URL;
    curl_free(full);
    curl_url_cleanup(h);
    pg_buf_release(&b);
    return rc;
}

enum pg_code pg__link_resolve(const char *base, const char *ref,
                              size_t len, char **out)
{
    CURLU *h;
    enum pg_code rc;

    *out = NULL;
    if (!base || !ref)
        return PG_E_URL;
    rc = base_handle(base, strlen(base), &h);
    if (rc)
        return rc;
    rc = resolve_with(h, ref, len, out);
    curl_url_cleanup(h);
    return rc;
}

/* 1 if the path of the normalised url ends in an image extension. */
static int has_image_ext(const char *url)
{
    static const char *const ext[] = {
        "jpg", "jpeg", "png", "gif", "webp", "avif", "bmp", "svg", "tif",
        "tiff", "ico",
    };
    const char *p = strstr(url, "://"), *end, *dot = NULL, *q;
    size_t k;

    if (!p)
        return 0;
    p = strchr(p + 3, '/');
    if (!p)
        return 0;
    end = p + strcspn(p, "?#");
    for (q = p; q < end; q++) {
        if (*q == '/')
            dot = NULL;
        else if (*q == '.')
            dot = q;
    }
    if (!dot)
        return 0;
    for (k = 0; k < PG_ARRAY_SIZE(ext); k++) {
        if (ci_eq(dot + 1, (size_t)(end - dot - 1), ext[k]))
            return 1;
    }
    return 0;
}

/*
 * srcset.
 */

/* A valid non-negative integer (HTML), saturating; 1 if valid. */
static int parse_uint(const char *s, size_t n, double *v)
{
    size_t i;

    *v = 0;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        if (!is_digit((unsigned char)s[i]))
            return 0;
        if (*v < 1e18)
            *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* A valid floating-point number (HTML), without strtod's locale. */
static int parse_float(const char *s, size_t n, double *v)
{
    size_t i = 0, digits = 0;
    double m = 0, scale = 1;
    int neg = 0, eneg = 0;
    long ex = 0;

    *v = 0;
    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    for (; i < n && is_digit((unsigned char)s[i]); i++, digits++) {
        if (m < 1e18)
            m = m * 10 + (s[i] - '0');
        else
            ex++;
    }
    if (i < n && s[i] == '.') {
        size_t frac = 0;

        for (i++; i < n && is_digit((unsigned char)s[i]); i++, frac++) {
            if (m < 1e18) {
                m = m * 10 + (s[i] - '0');
                ex--;
            }
        }
        if (!frac)
            return 0;
        digits += frac;
    }
    if (!digits)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        long e = 0;
        size_t ed = 0;

        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        for (; i < n && is_digit((unsigned char)s[i]); i++, ed++) {
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        }
        if (!ed)
            return 0;
        ex += eneg ? -e : e;
    }
    if (i != n)
        return 0;
    while (ex > 0 && m < 1e300) {
        m *= 10;
        ex--;
    }
    while (ex < 0 && m > 0) {
        scale *= 10;
        ex++;
        if (scale > 1e300) {
            m = 0;
            break;
        }
    }
    *v = (neg ? -m : m) / scale;
    return 1;
}

/* Parsed descriptors of one candidate. */
struct descs {
    int bad, has_w, has_x, has_h;
    double w, x;
};

/* The HTML standard's descriptor parser, for one descriptor s[0..n). */
static void parse_desc(struct descs *d, const char *s, size_t n)
{
    char last = (char)to_lower((unsigned char)s[n - 1]);
    double v = 0;

    if (last == 'w' && !d->has_w && !d->has_x) {
        if (!parse_uint(s, n - 1, &v) || v <= 0)
            d->bad = 1;
        d->has_w = 1;
        d->w = v;
    } else if (last == 'x' && !d->has_w && !d->has_x && !d->has_h) {
        if (!parse_float(s, n - 1, &v) || v < 0)
            d->bad = 1;
        d->has_x = 1;
        d->x = v;
    } else if (last == 'h' && !d->has_h && !d->has_x) {
        if (!parse_uint(s, n - 1, &v) || v <= 0)
            d->bad = 1;
        d->has_h = 1;
    } else {
        d->bad = 1;
    }
}

/*
 * The HTML standard's "parse a srcset attribute" on s[0..len): the
 * candidates in *out (free with pg_free), *n of them.  Candidates with
 * bad descriptors are dropped, as the standard says.
 */
PG_UNITTEST_STATIC enum pg_code extract_srcset_parse(
    const char *s, size_t len, struct pg__srcset_cand **out, size_t *n)
{
    enum { IN_DESC, IN_PARENS, AFTER_DESC } st;
    struct pg__srcset_cand *v = NULL;
    size_t pos = 0, cnt = 0, cap = 0;

    *out = NULL;
    *n = 0;
    for (;;) {
        struct descs d;
        size_t ustart, ulen, dstart;

        while (pos < len && (is_ws((unsigned char)s[pos]) || s[pos] == ','))
            pos++;
        if (pos >= len)
            break;
        ustart = pos;
        while (pos < len && !is_ws((unsigned char)s[pos]))
            pos++;
        ulen = pos - ustart;
        memset(&d, 0, sizeof(d));
        if (s[pos - 1] == ',') {
            while (ulen > 0 && s[ustart + ulen - 1] == ',')
                ulen--;
        } else {
            while (pos < len && is_ws((unsigned char)s[pos]))
                pos++;
            st = IN_DESC;
            dstart = pos;
            for (;;) {
                int end = pos >= len;
                char c = end ? '\0' : s[pos];

                if (st == IN_DESC) {
                    if (end) {
                        if (pos > dstart)
                            parse_desc(&d, s + dstart, pos - dstart);
                        break;
                    }
                    if (is_ws((unsigned char)c)) {
                        if (pos > dstart)
                            parse_desc(&d, s + dstart, pos - dstart);
                        st = AFTER_DESC;
                    } else if (c == ',') {
                        if (pos > dstart)
                            parse_desc(&d, s + dstart, pos - dstart);
                        pos++;
                        break;
                    } else if (c == '(') {
                        st = IN_PARENS;
                    }
                } else if (st == IN_PARENS) {
                    if (end) {
                        parse_desc(&d, s + dstart, pos - dstart);
                        break;
                    }
                    if (c == ')')
                        st = IN_DESC;
                } else {
                    if (end)
                        break;
                    if (!is_ws((unsigned char)c)) {
                        st = IN_DESC;
                        dstart = pos;
                        continue;
                    }
                }
                pos++;
            }
        }
        if (d.has_h && !d.has_w)
            d.bad = 1;
        if (d.bad || ulen == 0)
            continue;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct pg__srcset_cand *nv = NULL;

            if (ncap <= SIZE_MAX / sizeof(*nv))
                nv = pg_realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                pg_free(v);
                return PG_E_NOMEM;
            }
            v = nv;
            cap = ncap;
        }
        v[cnt].url = s + ustart;
        v[cnt].len = ulen;
        v[cnt].width = d.has_w ? d.w : 0;
        v[cnt].density = d.has_x ? d.x : 1;
        cnt++;
    }
    *out = v;
    *n = cnt;
    return PG_OK;
}

/*
 * Order of preference: larger width first (a candidate with a width
 * before one without), then larger density, then earlier in the string.
 */
static int cand_cmp(const void *pa, const void *pb)
{
    const struct pg__srcset_cand *a = pa, *b = pb;

    if (a->width != b->width)
        return a->width > b->width ? -1 : 1;
    if (a->density != b->density)
        return a->density > b->density ? -1 : 1;
    if (a->url != b->url)
        return a->url < b->url ? -1 : 1;
    return 0;
}

#ifdef PG_UNITTEST
/* Index of the candidate taken when only the largest one is wanted. */
size_t extract_srcset_best(
    const struct pg__srcset_cand *c, size_t n)
{
    size_t best = 0, i;

    for (i = 1; i < n; i++) {
        if (cand_cmp(&c[i], &c[best]) < 0)
            best = i;
    }
    return best;
}
#endif

/*
 * XPath.
 */

/* The first error since the last reset, from the context's handler. */
struct xp_err {
    int code; /* an xmlError code, 0 for none */
    int offset;
};

static void on_xpath_error(void *userdata, PG_XML_ERROR *e)
{
    struct xp_err *x = userdata;

    if (e && !x->code) {
        x->code = e->code;
        x->offset = e->int1;
    }
}

/*
 * libxml2's text for an XPath error (its xmlXPathErrorMessages, which
 * it does not export; with a per-context handler it passes only the
 * code).
 */
static const char *xpath_msg(int code)
{
    static const char *const msg[] = {
        [XPATH_EXPRESSION_OK] = "ok",
        [XPATH_NUMBER_ERROR] = "number encoding",
        [XPATH_UNFINISHED_LITERAL_ERROR] = "unfinished literal",
        [XPATH_START_LITERAL_ERROR] = "start of literal",
        [XPATH_VARIABLE_REF_ERROR] = "expected $ for variable reference",
        [XPATH_UNDEF_VARIABLE_ERROR] = "undefined variable",
        [XPATH_INVALID_PREDICATE_ERROR] = "invalid predicate",
        [XPATH_EXPR_ERROR] = "invalid expression",
        [XPATH_UNCLOSED_ERROR] = "missing closing curly brace",
        [XPATH_UNKNOWN_FUNC_ERROR] = "unregistered function",
        [XPATH_INVALID_OPERAND] = "invalid operand",
        [XPATH_INVALID_TYPE] = "invalid type",
        [XPATH_INVALID_ARITY] = "invalid number of arguments",
        [XPATH_INVALID_CTXT_SIZE] = "invalid context size",
        [XPATH_INVALID_CTXT_POSITION] = "invalid context position",
        [XPATH_MEMORY_ERROR] = "memory allocation error",
        [XPTR_SYNTAX_ERROR] = "syntax error",
        [XPTR_RESOURCE_ERROR] = "resource error",
        [XPTR_SUB_RESOURCE_ERROR] = "sub resource error",
        [XPATH_UNDEF_PREFIX_ERROR] = "undefined namespace prefix",
        [XPATH_ENCODING_ERROR] = "encoding error",
        [XPATH_INVALID_CHAR_ERROR] = "char out of XML range",
        [XPATH_INVALID_CTXT] = "invalid or incomplete context",
        [XPATH_STACK_ERROR] = "stack usage error",
        [XPATH_FORBID_VARIABLE_ERROR] = "forbidden variable",
        [XPATH_OP_LIMIT_EXCEEDED] = "operation limit exceeded",
        [XPATH_RECURSION_LIMIT_EXCEEDED] = "recursion limit exceeded",
    };
    int i = code - XML_XPATH_EXPRESSION_OK;

    if (i < 0 || (size_t)i >= PG_ARRAY_SIZE(msg) || !msg[i])
        return "unknown XPath error";
    return msg[i];
}

/* Stands in for an unknown function: an error through the context. */
static void unknown_function(xmlXPathParserContextPtr ctxt, int nargs)
{
    (void)nargs;
    xmlXPathErr(ctxt, XPATH_UNKNOWN_FUNC_ERROR);
}

/* The registered function, bypassing lookup_function(). */
static xmlXPathFunction real_lookup(xmlXPathContextPtr xp,
                                    const xmlChar *name,
                                    const xmlChar *ns)
{
    xmlXPathFuncLookupFunc f = xp->funcLookupFunc;
    void *data = xp->funcLookupData;
    xmlXPathFunction fn;

    xp->funcLookupFunc = NULL;
    fn = xmlXPathFunctionLookupNS(xp, name, ns);
    xp->funcLookupFunc = f;
    xp->funcLookupData = data;
    return fn;
}

/*
 * The context's function lookup: an unknown function becomes one that
 * fails through the context's handler, where libxml2 would otherwise
 * print "function not found" on its global error channel.
 */
static xmlXPathFunction lookup_function(void *data, const xmlChar *name,
                                        const xmlChar *ns)
{
    xmlXPathFunction fn = real_lookup(data, name, ns);

    return fn ? fn : unknown_function;
}

static xmlXPathContextPtr new_xpath_context(struct xp_err *cap)
{
    xmlXPathContextPtr xp = xmlXPathNewContext(NULL);

    if (!xp)
        return NULL;
    xp->error = on_xpath_error;
    xp->userData = cap;
    xp->opLimit = XPATH_OP_LIMIT;
    xmlXPathRegisterFuncLookup(xp, lookup_function, xp);
    return xp;
}

static int is_name_start(int c)
{
    return is_alpha(c) || c == '_' || c >= 0x80;
}

static int is_name_char(int c)
{
    return is_name_start(c) || is_digit(c) || c == '-' || c == '.';
}

/*
 * Refuse what compiles but would make libxml2 print on its global error
 * channel when evaluated: calls of unknown functions or of functions
 * with a namespace prefix, and variable references (none is ever
 * bound).  A small lexer after XPath 1.0 section 3.7 tells function
 * names from operator names ("and", "or", "div", "mod").  expr has
 * compiled, so it is well-formed.
 */
static enum pg_code check_names(xmlXPathContextPtr xp, const char *expr,
                                char *err, size_t errlen)
{
    const unsigned char *s = (const unsigned char *)expr;
    int operand_done = 0; /* the last token ends an operand */
    size_t i = 0;

    while (s[i]) {
        int c = s[i];

        if (is_ws(c)) {
            i++;
        } else if (c == '"' || c == '\'') {
            const char *q = strchr(expr + i + 1, c);

            if (!q)
                break;
            i = (size_t)(q - expr) + 1;
            operand_done = 1;
        } else if (is_digit(c) || (c == '.' && is_digit(s[i + 1]))) {
            while (is_digit(s[i]) || s[i] == '.')
                i++;
            operand_done = 1;
        } else if (c == '$') {
            snprintf(err, errlen, "variables are not supported (at "
                     "offset %zu)", i);
            return PG_E_INVALID;
        } else if (is_name_start(c)) {
            size_t start = i, j;
            int prefixed = 0;

            while (is_name_char(s[i]))
                i++;
            if (operand_done) {
                operand_done = 0; /* an operator name */
                continue;
            }
            if (s[i] == ':' && s[i + 1] != ':') {
                prefixed = 1;
                i++;
                if (s[i] == '*')
                    i++;
                while (is_name_char(s[i]))
                    i++;
            }
            j = i;
            while (is_ws(s[j]))
                j++;
            operand_done = 1;
            if (s[j] == ':' && s[j + 1] == ':') {
                operand_done = 0; /* an axis name */
            } else if (s[j] == '(') {
                char name[FUNC_NAME_MAX];
                size_t n = i - start;

                operand_done = 0;
                if (prefixed) {
                    snprintf(err, errlen, "function names with a "
                             "namespace prefix are not supported: "
                             "'%.*s'", (int)(n < 64 ? n : 64),
                             expr + start);
                    return PG_E_INVALID;
                }
                if (n < sizeof(name)) {
                    memcpy(name, expr + start, n);
                    name[n] = '\0';
                    if (!strcmp(name, "node") || !strcmp(name, "text") ||
                        !strcmp(name, "comment") ||
                        !strcmp(name, "processing-instruction") ||
                        real_lookup(xp, (const xmlChar *)name, NULL))
                        continue;
                }
                snprintf(err, errlen, "unknown function '%.*s' (at offset "
                         "%zu)", (int)(n < 64 ? n : 64), expr + start,
                         start);
                return PG_E_INVALID;
            }
        } else if (c == '*') {
            /* A name test after an operator, else a multiplication. */
            operand_done = !operand_done;
            i++;
        } else if (c == ')' || c == ']') {
            operand_done = 1;
            i++;
        } else if (c == '.') {
            i += s[i + 1] == '.' ? 2 : 1;
            operand_done = 1;
        } else {
            operand_done = 0;
            i++;
        }
    }
    return PG_OK;
}

/* Compile expr in xp, errors captured in cap; *out NULL on failure. */
static enum pg_code compile(xmlXPathContextPtr xp, struct xp_err *cap,
                            const char *expr, xmlXPathCompExprPtr *out,
                            char *err, size_t errlen)
{
    xmlXPathCompExprPtr comp;
    enum pg_code rc;

    *out = NULL;
    if (!expr) {
        snprintf(err, errlen, "no expression");
        return PG_E_INVALID;
    }
    memset(cap, 0, sizeof(*cap));
    comp = xmlXPathCtxtCompile(xp, (const xmlChar *)expr);
    if (!comp) {
        if (!cap->code ||
            cap->code == XML_XPATH_EXPRESSION_OK + XPATH_MEMORY_ERROR) {
            snprintf(err, errlen, "%s", pg_strerror(PG_E_NOMEM));
            return PG_E_NOMEM;
        }
        snprintf(err, errlen, "%s (at offset %d)", xpath_msg(cap->code),
                 cap->offset);
        return PG_E_INVALID;
    }
    rc = check_names(xp, expr, err, errlen);
    if (rc) {
        xmlXPathFreeCompExpr(comp);
        return rc;
    }
    *out = comp;
    return PG_OK;
}

enum pg_code pg__xpath_check(const char *expr, char *err, size_t errlen)
{
    struct xp_err cap;
    xmlXPathContextPtr xp;
    xmlXPathCompExprPtr comp;
    enum pg_code rc;

    err[0] = '\0';
    xp = new_xpath_context(&cap);
    if (!xp) {
        snprintf(err, errlen, "%s", pg_strerror(PG_E_NOMEM));
        return PG_E_NOMEM;
    }
    rc = compile(xp, &cap, expr, &comp, err, errlen);
    xmlXPathFreeCompExpr(comp);
    xmlXPathFreeContext(xp);
    return rc;
}

/*
 * Extractors.
 */

/* The built-in image expressions; the second keeps image files only. */
static const char default_images[] =
    "//img/@*[name()='src' or name()='srcset' or name()='data-src' or "
    "name()='data-srcset' or name()='data-original' or "
    "name()='data-lazy-src'] | "
    "//source/@*[name()='srcset' or name()='data-srcset']";
static const char default_image_links[] = "//a/@href";
static const char base_href[] = "(//base[@href])[1]/@href";

/* Attributes taken, in this order, from an element an XPath selects. */
static const char *const element_attrs[] = {
    "src", "data-src", "srcset", "href", "data-srcset", "data-original",
    "data-lazy-src", "poster", "data",
};

struct expr {
    xmlXPathCompExprPtr comp;
    const char *text;
    enum pg__link_kind kind;
    int image_files_only; /* keep URLs with an image extension only */
};

struct pg__extractor {
    const struct pg__extract_config *cfg;
    xmlXPathContextPtr xp;
    struct xp_err xerr;
    xmlXPathCompExprPtr base;
    struct expr *e;
    size_t n;
};

void pg__extractor_free(struct pg__extractor *x)
{
    size_t i;

    if (!x)
        return;
    for (i = 0; i < x->n; i++)
        xmlXPathFreeCompExpr(x->e[i].comp);
    pg_free(x->e);
    xmlXPathFreeCompExpr(x->base);
    if (x->xp)
        xmlXPathFreeContext(x->xp);
    pg_free(x);
}

/* Compile text as the next expression of x. */
static enum pg_code add_expr(struct pg__extractor *x, const char *text,
                             enum pg__link_kind kind, int image_files_only,
                             char *err, size_t errlen)
{
    char why[PG_ERRBUF_SIZE];
    struct expr *e = &x->e[x->n];
    enum pg_code rc;

    rc = compile(x->xp, &x->xerr, text, &e->comp, why, sizeof(why));
    if (rc) {
        snprintf(err, errlen, "invalid XPath expression '%.100s': %s",
                 text ? text : "", why);
        return rc;
    }
    e->text = text;
    e->kind = kind;
    e->image_files_only = image_files_only;
    x->n++;
    return PG_OK;
}

enum pg_code pg__extractor_new(const struct pg__extract_config *cfg,
                               struct pg__extractor **out, char *err,
                               size_t errlen)
{
    struct pg__extractor *x;
    enum pg_code rc = PG_E_NOMEM;
    size_t n, i;

    *out = NULL;
    err[0] = '\0';
    pg__extract_silence();
    n = 2 + cfg->n_image_xpaths + cfg->n_follow_xpaths;
    x = pg_calloc(1, sizeof(*x));
    if (!x)
        goto out;
    x->cfg = cfg;
    x->e = pg_calloc(n, sizeof(*x->e));
    x->xp = new_xpath_context(&x->xerr);
    if (!x->e || !x->xp)
        goto out;
    rc = compile(x->xp, &x->xerr, base_href, &x->base, err, errlen);
    if (!rc && cfg->default_images)
        rc = add_expr(x, default_images, PG_LINK_IMAGE, 0, err, errlen);
    if (!rc && cfg->default_images)
        rc = add_expr(x, default_image_links, PG_LINK_IMAGE, 1, err,
                      errlen);
    for (i = 0; !rc && i < cfg->n_image_xpaths; i++)
        rc = add_expr(x, cfg->image_xpaths[i], PG_LINK_IMAGE, 0, err,
                      errlen);
    for (i = 0; !rc && i < cfg->n_follow_xpaths; i++)
        rc = add_expr(x, cfg->follow_xpaths[i], PG_LINK_PAGE, 0, err,
                      errlen);
out:
    if (rc) {
        if (rc == PG_E_NOMEM && !err[0])
            snprintf(err, errlen, "%s", pg_strerror(rc));
        pg__extractor_free(x);
        return rc;
    }
    *out = x;
    return PG_OK;
}

/*
 * Extraction.
 */

/* The state of one pg__extract() call. */
struct page {
    struct pg__extractor *x;
    CURLU *base;
    struct pg__links *out;
    size_t added; /* links this call added to out */
    int full;     /* the link limit is reached: stop */
    char *err;    /* the first warning goes here */
    size_t errlen;
};

static void warn(struct page *pg, const char *fmt, ...) PG_PRINTF(2, 3);

static void warn(struct page *pg, const char *fmt, ...)
{
    va_list ap;

    if (pg->err[0])
        return;
    va_start(ap, fmt);
    vsnprintf(pg->err, pg->errlen, fmt, ap);
    va_end(ap);
}

/*
 * Resolve and add one reference.  PG_OK when it gave a usable URL (added,
 * already there, filtered or over the limit), PG_E_URL or PG_E_SCHEME
 * when not, PG_E_NOMEM.
 */
static enum pg_code add_ref(struct page *pg, const struct expr *e,
                            const char *ref, size_t len)
{
    size_t max = pg->x->cfg->max_links;
    enum pg_code rc;
    char *url;
    int added;

    if (pg->full)
        return PG_OK;
    rc = resolve_with(pg->base, ref, len, &url);
    if (rc)
        return rc;
    if (e->image_files_only && !has_image_ext(url)) {
        pg_free(url);
        return PG_OK;
    }
    if (max && pg->added >= max) {
        if (!links_has(pg->out, e->kind, url)) {
            pg->full = 1;
            pg->out->truncated = 1;
            warn(pg, "more than %zu links; the rest of the page is "
                 "skipped", max);
        }
        pg_free(url);
        return PG_OK;
    }
    rc = links_take(pg->out, e->kind, url, &added);
    if (!rc && added)
        pg->added++;
    return rc;
}

/* Add the candidates of a srcset (all, or the largest usable one). */
static enum pg_code add_srcset(struct page *pg, const struct expr *e,
                               const char *s, size_t len)
{
    struct pg__srcset_cand *c;
    enum pg_code rc, result = PG_E_URL;
    size_t n, i;

    rc = extract_srcset_parse(s, len, &c, &n);
    if (rc)
        return rc;
    if (!pg->x->cfg->srcset_all && n > 1)
        qsort(c, n, sizeof(*c), cand_cmp);
    for (i = 0; i < n && !pg->full; i++) {
        rc = add_ref(pg, e, c[i].url, c[i].len);
        if (rc == PG_E_NOMEM) {
            result = rc;
            break;
        }
        if (!rc) {
            result = PG_OK;
            if (!pg->x->cfg->srcset_all)
                break;
        }
    }
    pg_free(c);
    return result;
}

/* Add the value of the attribute name: a srcset or a single URL. */
static enum pg_code add_value(struct page *pg, const struct expr *e,
                              const char *name, const char *v)
{
    size_t nl = strlen(name);

    if (nl >= 6 && ci_eq(name + nl - 6, 6, "srcset"))
        return add_srcset(pg, e, v, strlen(v));
    return add_ref(pg, e, v, strlen(v));
}

/* The value of an attribute; *tofree is set if it had to be built. */
static const char *attr_value(xmlAttrPtr a, xmlChar **tofree)
{
    xmlNodePtr t = a->children;

    *tofree = NULL;
    if (!t)
        return "";
    if (!t->next && t->type == XML_TEXT_NODE && t->content)
        return (const char *)t->content;
    *tofree = xmlNodeGetContent((xmlNodePtr)a);
    return *tofree ? (const char *)*tofree : "";
}

static enum pg_code add_attr(struct page *pg, const struct expr *e,
                             xmlAttrPtr a)
{
    xmlChar *tofree;
    const char *v = attr_value(a, &tofree);
    enum pg_code rc = add_value(pg, e, (const char *)a->name, v);

    xmlFree(tofree);
    return rc;
}

/* Add what one node of a node-set result gives (see pg__extract). */
static enum pg_code add_node(struct page *pg, const struct expr *e,
                             xmlNodePtr node)
{
    enum pg_code rc = PG_OK;
    xmlChar *text;
    xmlAttrPtr a;
    size_t k;

    switch (node->type) {
    case XML_ATTRIBUTE_NODE:
        rc = add_attr(pg, e, (xmlAttrPtr)node);
        break;
    case XML_ELEMENT_NODE:
        for (k = 0; k < PG_ARRAY_SIZE(element_attrs); k++) {
            for (a = node->properties; a; a = a->next) {
                if (!a->ns && !strcmp((const char *)a->name,
                                      element_attrs[k]))
                    break;
            }
            if (!a)
                continue;
            rc = add_attr(pg, e, a);
            if (rc == PG_OK || rc == PG_E_NOMEM)
                break;
        }
        break;
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
    case XML_COMMENT_NODE:
    case XML_PI_NODE:
        text = xmlNodeGetContent(node);
        if (text)
            rc = add_ref(pg, e, (const char *)text,
                         strlen((const char *)text));
        xmlFree(text);
        break;
    default:
        break;
    }
    return rc == PG_E_NOMEM ? rc : PG_OK;
}

/* Evaluate e on the document in pg->x->xp; *res NULL on failure. */
static enum pg_code eval(struct page *pg, xmlXPathCompExprPtr comp,
                         const char *text, xmlXPathObjectPtr *res)
{
    struct pg__extractor *x = pg->x;

    memset(&x->xerr, 0, sizeof(x->xerr));
    x->xp->node = (xmlNodePtr)x->xp->doc;
    x->xp->contextSize = -1;
    x->xp->proximityPosition = -1;
    x->xp->opCount = 0;
    *res = xmlXPathCompiledEval(comp, x->xp);
    if (*res)
        return PG_OK;
    if (x->xerr.code == XML_XPATH_EXPRESSION_OK + XPATH_MEMORY_ERROR)
        return PG_E_NOMEM;
    /* A limit (steps, recursion, or libxml2's own on node-sets, which
     * it reports as a memory error without a handler) cut the result. */
    if (!x->xerr.code ||
        x->xerr.code == XML_XPATH_EXPRESSION_OK + XPATH_OP_LIMIT_EXCEEDED ||
        x->xerr.code ==
            XML_XPATH_EXPRESSION_OK + XPATH_RECURSION_LIMIT_EXCEEDED)
        pg->out->truncated = 1;
    warn(pg, "XPath expression '%.100s' failed: %s", text,
         x->xerr.code ? xpath_msg(x->xerr.code) : "no result");
    return PG_OK;
}

static enum pg_code run_expr(struct page *pg, const struct expr *e)
{
    xmlXPathObjectPtr r;
    enum pg_code rc;
    int i;

    rc = eval(pg, e->comp, e->text, &r);
    if (rc || !r)
        return rc;
    switch (r->type) {
    case XPATH_NODESET:
        for (i = 0; r->nodesetval && i < r->nodesetval->nodeNr; i++) {
            rc = add_node(pg, e, r->nodesetval->nodeTab[i]);
            if (rc || pg->full)
                break;
        }
        break;
    case XPATH_STRING:
        if (r->stringval) {
            rc = add_ref(pg, e, (const char *)r->stringval,
                         strlen((const char *)r->stringval));
            if (rc != PG_E_NOMEM)
                rc = PG_OK;
        }
        break;
    case XPATH_NUMBER:
    case XPATH_BOOLEAN:
        warn(pg, "XPath expression '%.100s' gives a %s, not URLs",
             e->text, r->type == XPATH_NUMBER ? "number" : "boolean");
        break;
    default:
        break;
    }
    xmlXPathFreeObject(r);
    return rc;
}

/* Use the first <base href>, if it resolves, as the base of the page. */
static enum pg_code set_base(struct page *pg)
{
    xmlXPathObjectPtr r;
    xmlChar *tofree = NULL;
    const char *v;
    char *url = NULL;
    CURLU *h;
    enum pg_code rc;

    rc = eval(pg, pg->x->base, base_href, &r);
    if (rc || !r)
        return rc;
    if (r->type != XPATH_NODESET || !r->nodesetval ||
        r->nodesetval->nodeNr < 1 ||
        r->nodesetval->nodeTab[0]->type != XML_ATTRIBUTE_NODE)
        goto out;
    v = attr_value((xmlAttrPtr)r->nodesetval->nodeTab[0], &tofree);
    rc = resolve_with(pg->base, v, strlen(v), &url);
    if (rc) {
        rc = rc == PG_E_NOMEM ? rc : PG_OK;
        goto out;
    }
    rc = base_handle(url, strlen(url), &h);
    if (rc) {
        rc = rc == PG_E_NOMEM ? rc : PG_OK;
        goto out;
    }
    curl_url_cleanup(pg->base);
    pg->base = h;
out:
    pg_free(url);
    xmlFree(tofree);
    xmlXPathFreeObject(r);
    return rc;
}

/*
 * The node budget of one parse.  libxml2 has no limit on the number of
 * nodes; this counts them in the SAX callbacks that create them and
 * stops the parser once the budget is spent.  Text nodes need no count:
 * adjacent text is merged into one node, so there are at most about
 * twice as many of them as elements.
 */
struct node_budget {
    size_t left;
    int hit;
    startElementSAXFunc start;
    commentSAXFunc comment;
    processingInstructionSAXFunc pi;
};

/* Spend n nodes; on overdraft stop the parser (the node is still made,
 * so that the parser's stacks stay balanced). */
static void spend(htmlParserCtxtPtr ctxt, size_t n)
{
    struct node_budget *nb = ctxt->_private;

    if (n <= nb->left) {
        nb->left -= n;
        return;
    }
    nb->left = 0;
    if (!nb->hit) {
        nb->hit = 1;
        xmlStopParser(ctxt);
    }
}

static void count_start(void *ctx, const xmlChar *name,
                        const xmlChar **atts)
{
    htmlParserCtxtPtr ctxt = ctx;
    struct node_budget *nb = ctxt->_private;
    size_t n = 1, i;

    for (i = 0; atts && atts[i]; i += 2)
        n++;
    spend(ctxt, n);
    nb->start(ctx, name, atts);
}

static void count_comment(void *ctx, const xmlChar *value)
{
    htmlParserCtxtPtr ctxt = ctx;
    struct node_budget *nb = ctxt->_private;

    spend(ctxt, 1);
    nb->comment(ctx, value);
}

static void count_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    htmlParserCtxtPtr ctxt = ctx;
    struct node_budget *nb = ctxt->_private;

    spend(ctxt, 1);
    nb->pi(ctx, target, data);
}

/* Parse t as HTML into *doc, with at most max_nodes nodes (*cut = 1 when
 * parsing stopped there). */
static enum pg_code parse(const struct text *t, size_t max_nodes,
                          htmlDocPtr *doc, int *cut, char *err,
                          size_t errlen)
{
    htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
    enum pg_code rc = PG_OK;
    struct node_budget nb;

    *doc = NULL;
    *cut = 0;
    if (!ctxt)
        return PG_E_NOMEM;
    memset(&nb, 0, sizeof(nb));
    nb.left = max_nodes;
    nb.start = ctxt->sax->startElement;
    nb.comment = ctxt->sax->comment;
    nb.pi = ctxt->sax->processingInstruction;
    if (nb.start && nb.comment && nb.pi) {
        ctxt->_private = &nb;
        ctxt->sax->startElement = count_start;
        ctxt->sax->comment = count_comment;
        ctxt->sax->processingInstruction = count_pi;
    }
    /* Clean UTF-8 without NUL: no encoding to detect, none to obey. */
    *doc = htmlCtxtReadMemory(ctxt, t->p, (int)t->n, NULL, "UTF-8",
                              PARSE_OPTIONS);
    if (!*doc) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[PG_ERRBUF_SIZE] = "no document";
        size_t n;

        if (e && e->code == XML_ERR_NO_MEMORY) {
            rc = PG_E_NOMEM;
        } else {
            if (e && e->message)
                snprintf(msg, sizeof(msg), "%s", e->message);
            n = strlen(msg);
            while (n > 0 && is_ws((unsigned char)msg[n - 1]))
                msg[--n] = '\0';
            snprintf(err, errlen, "cannot parse HTML: %s", msg);
            rc = PG_E_PARSE;
        }
    }
    *cut = nb.hit;
    htmlFreeParserCtxt(ctxt);
    return rc;
}

/* Cut t to at most max bytes, at a character boundary; 1 if cut. */
static int cut_text(struct text *t, size_t max)
{
    const unsigned char *u = (const unsigned char *)t->p;
    size_t n = max;

    if (t->n <= max)
        return 0;
    while (n > 0 && (u[n] & 0xc0) == 0x80)
        n--;
    t->n = n;
    return 1;
}

enum pg_code pg__extract(struct pg__extractor *x, const char *body,
                         size_t len, const char *content_type,
                         const char *page_url, struct pg__links *out,
                         char *err, size_t errlen)
{
    struct page pg;
    struct text t;
    htmlDocPtr doc = NULL;
    enum pg_code rc;
    size_t i;
    size_t max_bytes = x->cfg->max_bytes ? x->cfg->max_bytes
                                         : PG_EXTRACT_MAX_BYTES;
    size_t max_nodes = x->cfg->max_nodes ? x->cfg->max_nodes
                                         : PG_EXTRACT_MAX_NODES;
    int cut = 0;

    memset(&t, 0, sizeof(t));
    memset(&pg, 0, sizeof(pg));
    pg.x = x;
    pg.out = out;
    pg.err = err;
    pg.errlen = errlen;
    err[0] = '\0';
    rc = base_handle(page_url ? page_url : "", page_url ?
                     strlen(page_url) : 0, &pg.base);
    if (rc) {
        if (rc != PG_E_NOMEM) {
            snprintf(err, errlen, "page URL '%.200s' is not an http(s) "
                     "URL", page_url ? page_url : "");
            rc = PG_E_INVALID;
        }
        goto out;
    }
    if (len == 0 || !body)
        goto out;
    if (len > INT_MAX) {
        snprintf(err, errlen, "page of %zu bytes is too large to parse",
                 len);
        rc = PG_E_LIMIT;
        goto out;
    }
    rc = decode(body, len, content_type, &t, NULL, 0);
    if (!rc && cut_text(&t, max_bytes)) {
        out->truncated = 1;
        warn(&pg, "page larger than %zu bytes: only the start is "
             "parsed", max_bytes);
    }
    if (!rc)
        rc = defuse(&t);
    if (!rc)
        rc = parse(&t, max_nodes, &doc, &cut, err, errlen);
    PG_FREE(t.owned);
    if (rc)
        goto out;
    if (cut) {
        out->truncated = 1;
        err[0] = '\0';
        warn(&pg, "more than %zu HTML nodes: only the start is parsed",
             max_nodes);
    }
    x->xp->doc = doc;
    rc = set_base(&pg);
    for (i = 0; !rc && !pg.full && i < x->n; i++)
        rc = run_expr(&pg, &x->e[i]);
out:
    if (rc == PG_E_NOMEM)
        snprintf(err, errlen, "%s", pg_strerror(rc));
    x->xp->doc = NULL;
    x->xp->node = NULL;
    if (doc)
        xmlFreeDoc(doc);
    curl_url_cleanup(pg.base);
    return rc;
}
