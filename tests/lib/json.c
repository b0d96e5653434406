/*
 * json.c - the one JSON reader of the tests (see json.h): a strict
 * parser into a tree of struct pg_json_field, lookup by key, release,
 * and the compact text of a value for failure messages.
 *
 * Not here: what a manifest record must contain (testlib.c checks the
 * schemas) or what a report must say (the suites check that).
 */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q) {
        fputs("json: out of memory\n", stderr);
        abort();
    }
    return q;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xrealloc(NULL, n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

struct jparser {
    const char *s;           /* the text */
    size_t n;
    size_t i;
    int depth;
    char *err;
    size_t errlen;
};

struct sbuf {
    char *p;
    size_t len;
    size_t cap;
};

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static int jfail(struct jparser *jp, const char *what)
{
    snprintf(jp->err, jp->errlen, "column %zu: %s", jp->i + 1, what);
    return -1;
}

static void jskip_ws(struct jparser *jp)
{
    while (jp->i < jp->n &&
           (jp->s[jp->i] == ' ' || jp->s[jp->i] == '\t' ||
            jp->s[jp->i] == '\r' || jp->s[jp->i] == '\n'))
        jp->i++;
}

static int hex4(struct jparser *jp, unsigned *out)
{
    unsigned v = 0;

    if (jp->n - jp->i < 4)
        return jfail(jp, "short \\u escape");
    for (int k = 0; k < 4; k++) {
        char c = jp->s[jp->i++];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return jfail(jp, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

static void put_utf8(struct sbuf *b, unsigned cp)
{
    char u[4];
    size_t n;

    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    sbuf_add(b, u, n);
}

/* Parse a string at jp->i (which is at the opening quote). */
static int jstring(struct jparser *jp, char **out, size_t *outlen)
{
    struct sbuf b = {0};

    sbuf_add(&b, "", 0);
    jp->i++;
    for (;;) {
        unsigned char c;

        if (jp->i >= jp->n) {
            free(b.p);
            return jfail(jp, "unterminated string");
        }
        c = (unsigned char)jp->s[jp->i++];
        if (c == '"')
            break;
        if (c < 0x20) {
            free(b.p);
            return jfail(jp, "unescaped control character in string");
        }
        if (c != '\\') {
            sbuf_add(&b, (const char *)&c, 1);
            continue;
        }
        if (jp->i >= jp->n) {
            free(b.p);
            return jfail(jp, "unterminated escape");
        }
        c = (unsigned char)jp->s[jp->i++];
        switch (c) {
        case '"':
        case '\\':
        case '/':
            sbuf_add(&b, (const char *)&c, 1);
            break;
        case 'b':
            sbuf_add(&b, "\b", 1);
            break;
        case 'f':
            sbuf_add(&b, "\f", 1);
            break;
        case 'n':
            sbuf_add(&b, "\n", 1);
            break;
        case 'r':
            sbuf_add(&b, "\r", 1);
            break;
        case 't':
            sbuf_add(&b, "\t", 1);
            break;
        case 'u': {
            unsigned cp;

            if (hex4(jp, &cp) != 0) {
                free(b.p);
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;

                if (jp->n - jp->i < 6 || jp->s[jp->i] != '\\' ||
                    jp->s[jp->i + 1] != 'u') {
                    free(b.p);
                    return jfail(jp, "lone high surrogate");
                }
                jp->i += 2;
                if (hex4(jp, &lo) != 0) {
                    free(b.p);
                    return -1;
                }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    free(b.p);
                    return jfail(jp, "bad low surrogate");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(b.p);
                return jfail(jp, "lone low surrogate");
            }
            put_utf8(&b, cp);
            break;
        }
        default:
            free(b.p);
            return jfail(jp, "bad escape");
        }
    }
    *out = b.p;
    *outlen = b.len;
    return 0;
}

static int jnumber(struct jparser *jp, struct pg_json_field *f)
{
    size_t start = jp->i;
    int frac = 0;
    char *end;

    if (jp->s[jp->i] == '-')
        jp->i++;
    if (jp->i < jp->n && jp->s[jp->i] == '0') {
        jp->i++;
    } else if (jp->i < jp->n && jp->s[jp->i] >= '1' && jp->s[jp->i] <= '9') {
        while (jp->i < jp->n && jp->s[jp->i] >= '0' && jp->s[jp->i] <= '9')
            jp->i++;
    } else {
        return jfail(jp, "bad number");
    }
    if (jp->i < jp->n && jp->s[jp->i] == '.') {
        frac = 1;
        jp->i++;
        if (jp->i >= jp->n || jp->s[jp->i] < '0' || jp->s[jp->i] > '9')
            return jfail(jp, "bad number fraction");
        while (jp->i < jp->n && jp->s[jp->i] >= '0' && jp->s[jp->i] <= '9')
            jp->i++;
    }
    if (jp->i < jp->n && (jp->s[jp->i] == 'e' || jp->s[jp->i] == 'E')) {
        frac = 1;
        jp->i++;
        if (jp->i < jp->n && (jp->s[jp->i] == '+' || jp->s[jp->i] == '-'))
            jp->i++;
        if (jp->i >= jp->n || jp->s[jp->i] < '0' || jp->s[jp->i] > '9')
            return jfail(jp, "bad number exponent");
        while (jp->i < jp->n && jp->s[jp->i] >= '0' && jp->s[jp->i] <= '9')
            jp->i++;
    }
    f->type = PG_JSON_NUMBER;
    f->raw = xstrndup(jp->s + start, jp->i - start);
    f->num = strtod(f->raw, NULL);
    if (!frac) {
        errno = 0;
        f->ival = strtoll(f->raw, &end, 10);
        f->is_int = !errno && !*end;
    }
    return 0;
}

static int jliteral(struct jparser *jp, const char *word)
{
    size_t len = strlen(word);

    if (jp->n - jp->i < len || memcmp(jp->s + jp->i, word, len) != 0)
        return jfail(jp, "bad literal");
    jp->i += len;
    return 0;
}

static int jvalue(struct jparser *jp, struct pg_json_field *f);

/* The members of an object or the elements of an array, at jp->i (which
 * is at the '{' or '['). Keys of an object must differ. */
static int jmembers(struct jparser *jp, struct pg_json_field *f, int object)
{
    char close = object ? '}' : ']';
    size_t cap = 0;

    jp->i++;
    jskip_ws(jp);
    if (jp->i < jp->n && jp->s[jp->i] == close) {
        jp->i++;
        return 0;
    }
    for (;;) {
        struct pg_json_field m;

        memset(&m, 0, sizeof(m));
        jskip_ws(jp);
        if (object) {
            if (jp->i >= jp->n || jp->s[jp->i] != '"')
                return jfail(jp, "key expected");
            if (jstring(jp, &m.key, &m.str_len) != 0)
                return -1;
            m.str_len = 0;
            if (pg_json_get(f, m.key)) {
                free(m.key);
                return jfail(jp, "duplicate key");
            }
            jskip_ws(jp);
            if (jp->i >= jp->n || jp->s[jp->i] != ':') {
                free(m.key);
                return jfail(jp, "':' expected");
            }
            jp->i++;
            jskip_ws(jp);
        }
        if (jvalue(jp, &m) != 0) {
            pg_json_release(&m);
            return -1;
        }
        if (f->n == cap) {
            cap = cap ? cap * 2 : 16;
            f->f = xrealloc(f->f, cap * sizeof(*f->f));
        }
        f->f[f->n++] = m;
        jskip_ws(jp);
        if (jp->i < jp->n && jp->s[jp->i] == ',') {
            jp->i++;
            continue;
        }
        if (jp->i < jp->n && jp->s[jp->i] == close) {
            jp->i++;
            return 0;
        }
        return jfail(jp, object ? "',' or '}' expected" : "',' or ']' "
                     "expected");
    }
}

static int jvalue(struct jparser *jp, struct pg_json_field *f)
{
    char c;
    int rc;

    if (jp->i >= jp->n)
        return jfail(jp, "value expected");
    c = jp->s[jp->i];
    if (c == '"') {
        f->type = PG_JSON_STRING;
        return jstring(jp, &f->str, &f->str_len);
    }
    if (c == 'n') {
        f->type = PG_JSON_NULL;
        return jliteral(jp, "null");
    }
    if (c == 't' || c == 'f') {
        const char *w = c == 't' ? "true" : "false";

        f->type = PG_JSON_BOOL;
        f->raw = xstrndup(w, strlen(w));
        return jliteral(jp, w);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return jnumber(jp, f);
    if (c != '{' && c != '[')
        return jfail(jp, "value expected");
    if (++jp->depth > PG_JSON_MAX_DEPTH)
        return jfail(jp, "nested too deep");
    f->type = c == '{' ? PG_JSON_OBJECT : PG_JSON_ARRAY;
    rc = jmembers(jp, f, c == '{');
    jp->depth--;
    return rc;
}
static void text_string(struct sbuf *b, const char *s, size_t n)
{
    sbuf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};

            sbuf_add(b, e, 2);
        } else if (c < 0x20) {
            char e[8];

            snprintf(e, sizeof(e), "\\u%04x", c);
            sbuf_add(b, e, 6);
        } else {
            sbuf_add(b, (const char *)&c, 1);
        }
    }
    sbuf_add(b, "\"", 1);
}

static void text_value(struct sbuf *b, const struct pg_json_field *f)
{
    switch (f->type) {
    case PG_JSON_NULL:
        sbuf_add(b, "null", 4);
        break;
    case PG_JSON_STRING:
        text_string(b, f->str, f->str_len);
        break;
    case PG_JSON_NUMBER:
    case PG_JSON_BOOL:
        sbuf_add(b, f->raw, strlen(f->raw));
        break;
    case PG_JSON_ARRAY:
    case PG_JSON_OBJECT:
        sbuf_add(b, f->type == PG_JSON_OBJECT ? "{" : "[", 1);
        for (size_t i = 0; i < f->n; i++) {
            if (i)
                sbuf_add(b, ",", 1);
            if (f->type == PG_JSON_OBJECT) {
                text_string(b, f->f[i].key, strlen(f->f[i].key));
                sbuf_add(b, ":", 1);
            }
            text_value(b, &f->f[i]);
        }
        sbuf_add(b, f->type == PG_JSON_OBJECT ? "}" : "]", 1);
        break;
    }
}

int pg_json_parse(const char *text, size_t len, struct pg_json_field *out,
                  char *err, size_t errlen)
{
    struct jparser jp = {text, len, 0, 0, err, errlen};

    memset(out, 0, sizeof(*out));
    jskip_ws(&jp);
    if (jvalue(&jp, out) != 0) {
        pg_json_release(out);
        return -1;
    }
    jskip_ws(&jp);
    if (jp.i != jp.n) {
        pg_json_release(out);
        return jfail(&jp, "garbage after the value");
    }
    return 0;
}

void pg_json_release(struct pg_json_field *f)
{
    for (size_t i = 0; i < f->n; i++)
        pg_json_release(&f->f[i]);
    free(f->f);
    free(f->key);
    free(f->str);
    free(f->raw);
    memset(f, 0, sizeof(*f));
}

const struct pg_json_field *pg_json_get(const struct pg_json_field *obj,
                                        const char *key)
{
    if (!obj || obj->type != PG_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++) {
        if (!strcmp(obj->f[i].key, key))
            return &obj->f[i];
    }
    return NULL;
}

char *pg_json_text(const struct pg_json_field *f)
{
    struct sbuf b = {0};

    sbuf_add(&b, "", 0);
    text_value(&b, f);
    return b.p;
}

int pg_json_valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i], cp, len;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            len = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4, cp = c & 0x07;
        else
            return 0;
        if (n - i < len)
            return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        i += len;
    }
    return 1;
}
