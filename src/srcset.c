/*
 * srcset.c - the HTML standard's srcset attribute parser, and the order
 * in which its candidates are preferred (see srcset.h).
 *
 * Resolving the candidates' URLs is not done here (extract.c, links.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "mem.h"
#include "srcset.h"

/* A valid non-negative integer (HTML), saturating; 1 if valid. */
static int parse_uint(const char *s, size_t n, double *v)
{
    size_t i;

    *v = 0;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        if (!pg__is_digit((unsigned char)s[i]))
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
    for (; i < n && pg__is_digit((unsigned char)s[i]); i++, digits++) {
        if (m < 1e18)
            m = m * 10 + (s[i] - '0');
        else
            ex++;
    }
    if (i < n && s[i] == '.') {
        size_t frac = 0;

        for (i++; i < n && pg__is_digit((unsigned char)s[i]); i++, frac++) {
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
        for (; i < n && pg__is_digit((unsigned char)s[i]); i++, ed++) {
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
    char last = (char)pg__to_lower((unsigned char)s[n - 1]);
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
enum pg_code pg__srcset_parse(
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

        while (pos < len &&
               (pg__is_ws((unsigned char)s[pos]) || s[pos] == ','))
            pos++;
        if (pos >= len)
            break;
        ustart = pos;
        while (pos < len && !pg__is_ws((unsigned char)s[pos]))
            pos++;
        ulen = pos - ustart;
        memset(&d, 0, sizeof(d));
        if (s[pos - 1] == ',') {
            while (ulen > 0 && s[ustart + ulen - 1] == ',')
                ulen--;
        } else {
            while (pos < len && pg__is_ws((unsigned char)s[pos]))
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
                    if (pg__is_ws((unsigned char)c)) {
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
                    if (!pg__is_ws((unsigned char)c)) {
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
                nv = pg__realloc(v, ncap * sizeof(*nv));
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
int pg__srcset_cmp(const void *pa, const void *pb)
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
size_t pg__extract_srcset_best(
    const struct pg__srcset_cand *c, size_t n)
{
    size_t best = 0, i;

    for (i = 1; i < n; i++) {
        if (pg__srcset_cmp(&c[i], &c[best]) < 0)
            best = i;
    }
    return best;
}
#endif
