/*
 * charset.c - the character encoding of a page, and its decoding into
 * UTF-8 with iconv (see charset.h).
 *
 * The encoding is chosen as browsers do: a byte-order mark, the charset=
 * of the Content-Type header, a <meta> found by the HTML standard's
 * prescan, UTF-8 if the page is valid UTF-8, else windows-1252.  The
 * result is valid UTF-8 without NUL bytes or byte-order mark.  Cutting
 * attribute bombs is prescan.c's job, parsing extract.c's.
 */
#include <errno.h>
#include <iconv.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "buf.h"
#include "charset.h"
#include "mem.h"

/* Bytes searched for a <meta> charset (the HTML standard says 1024). */
#define PRESCAN_MAX 4096
/* Longest charset label taken from a header or a <meta>. */
#define CHARSET_MAX 40

/* Copy a charset label to out if it looks like one; 1 if it does. */
static int take_label(const char *s, size_t n, char *out, size_t outlen)
{
    size_t i;

    while (n > 0 && pg__is_ws((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && pg__is_ws((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n > CHARSET_MAX || n >= outlen)
        return 0;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];

        /* No '/': iconv gives meaning to "//TRANSLIT" and the like. */
        if (!pg__is_alpha(c) && !pg__is_digit(c) && !strchr("-_.:+", c))
            return 0;
    }
    for (i = 0; i < n; i++)
        out[i] = (char)pg__to_lower((unsigned char)s[i]);
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

        while (i + 7 <= n && !pg__ci_prefix(v + i, n - i, "charset"))
            i++;
        if (i + 7 > n)
            return 0;
        i += 7;
        while (i < n && pg__is_ws((unsigned char)v[i]))
            i++;
        if (i >= n || v[i] != '=')
            continue;
        i++;
        while (i < n && pg__is_ws((unsigned char)v[i]))
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
        while (i < n && !pg__is_ws((unsigned char)v[i]) && v[i] != ';')
            i++;
        return take_label(v + start, i - start, out, outlen);
    }
}

PG_UNITTEST_STATIC int pg__extract_header_charset(const char *content_type,
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
        buf[(*len)++] = (char)pg__to_lower(c);
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
    while (i < n && (pg__is_ws(s[i]) || s[i] == '/'))
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
        if (pg__is_ws(s[i])) {
            while (i < n && pg__is_ws(s[i]))
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
    while (i < n && pg__is_ws(s[i]))
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
    while (i < n && !pg__is_ws(s[i]) && s[i] != '>')
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
PG_UNITTEST_STATIC int pg__extract_prescan_charset(const char *body,
                                               size_t len, char *out,
                                               size_t outlen)
{
    const unsigned char *s = (const unsigned char *)body;
    size_t n = len < PRESCAN_MAX ? len : PRESCAN_MAX, i = 0;
    struct scan_attr a;

    while (i < n) {
        if (pg__ci_prefix(body + i, n - i, "<!--")) {
            size_t p = i + 4;

            while (p < n && !(s[p] == '>' && s[p - 1] == '-' &&
                              s[p - 2] == '-'))
                p++;
            i = p;
        } else if (pg__ci_prefix(body + i, n - i, "<meta") && i + 5 < n &&
                   (pg__is_ws(s[i + 5]) || s[i + 5] == '/')) {
            i += 5;
            if (scan_meta(s, n, &i, out, outlen))
                return 1;
        } else if (s[i] == '<' && i + 1 < n &&
                   (pg__is_alpha(s[i + 1]) ||
                    (s[i + 1] == '/' && i + 2 < n &&
                     pg__is_alpha(s[i + 2])))) {
            while (i < n && !pg__is_ws(s[i]) && s[i] != '>')
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
static enum pg_code add_utf8(struct pg__buf *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t ok = utf8_valid_prefix(s + i, n - i, 1);
        enum pg_code rc = pg__buf_add(b, s + i, ok);

        if (rc)
            return rc;
        i += ok;
        if (i < n) {
            size_t more = u[i] >= 0xf0 && u[i] <= 0xf4   ? 3
                          : u[i] >= 0xe0 && u[i] <= 0xef ? 2
                          : u[i] >= 0xc2 && u[i] <= 0xdf ? 1
                                                         : 0;

            if (u[i] == '\f')
                rc = pg__buf_addc(b, ' ');
            else
                rc = pg__buf_add(b, "\xef\xbf\xbd", 3);
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
static enum pg_code add_iconv(struct pg__buf *b, iconv_t cd, size_t unit,
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
        rc = pg__buf_add(b, "\xef\xbf\xbd", 3);
        if (rc)
            return rc;
        if (inleft < unit)
            break;
        in += unit;
        inleft -= unit;
    }
    return PG_OK;
}

/* Decode body[0..len) from the iconv encoding name into t. */
static enum pg_code decode_as(const char *name, const char *body,
                              size_t len, struct pg__text *t, int *unknown)
{
    struct pg__buf b = PG_BUF_INIT(INT_MAX - 1);
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
    t->owned = pg__buf_take(&b);
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
enum pg_code pg__charset_decode(const char *body, size_t len,
                                const char *content_type,
                                struct pg__text *t, char *enc,
                                size_t enclen)
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
    if (pg__extract_header_charset(content_type, label, sizeof(label))) {
        name = iconv_name(label);
        rc = decode_as(name, body, len, t, &unknown);
        if (rc || !unknown)
            goto out;
    }
    if (pg__extract_prescan_charset(body, len, label, sizeof(label))) {
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
/* pg__charset_decode() into a new string, for the tests. */
enum pg_code pg__extract_to_utf8(const char *body, size_t len,
                             const char *content_type, char **out,
                             size_t *outlen, char *enc, size_t enclen)
{
    struct pg__text t;
    enum pg_code rc =
        pg__charset_decode(body, len, content_type, &t, enc, enclen);

    *out = NULL;
    *outlen = 0;
    if (rc)
        return rc;
    *out = t.owned ? t.owned : pg__strndup(t.p, t.n);
    if (!*out)
        return PG_E_NOMEM;
    *outlen = t.n;
    return PG_OK;
}
#endif
