/*
 * robots.c - robots.txt parsing and matching (see robots.h).
 *
 * One pass over the body fills two rule sets: the rules of the groups
 * that name the agent's product token ("spec") and those of the "*"
 * groups ("glob").  At the end the spec set is kept if any user-agent
 * line named the token, else the glob set.  A set keeps its normalised
 * patterns back to back in a text arena (a capped struct pg__buf) and
 * addresses them by offset; the parsed object adds a KMP failure table
 * parallel to that text.  Rules are sorted by priority (pattern length,
 * then Allow before Disallow), so the first rule that matches decides.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "internal.h"
#include "mem.h"
#include "robots.h"
#include "url.h"

/* KMP table entries are uint16_t: a pattern piece must fit. */
_Static_assert(PG_ROBOTS_RULE_MAX < 65536, "rule too long for uint16_t");

/*
 * A set's text arena never reaches its cap: normalising at most triples
 * a byte, and at most PG_ROBOTS_MAX_BYTES bytes are read.
 */
#define TEXT_MAX (4 * (size_t)PG_ROBOTS_MAX_BYTES)

/* A Crawl-delay of this many seconds or more is capped. */
#define DELAY_MAX_S (PG_ROBOTS_DELAY_MAX_MS / 1000)

struct rule {
    size_t off;             /* pattern in the text */
    size_t len;             /* its length, a final '$' not included */
    size_t prio;            /* normalised length, '*'s and '$' included */
    unsigned char allow;    /* 1 for Allow, 0 for Disallow */
    unsigned char anchored; /* the pattern ended in '$' */
};

struct pg__robots {
    struct rule *rules; /* highest priority first */
    size_t n;
    char *text;         /* the patterns; NULL when n is 0 */
    uint16_t *fail;     /* KMP tables, index for index with text */
    long delay_ms;
};

/* The rules gathered for one kind of group while parsing. */
struct set {
    struct rule *rules;
    size_t n;
    size_t cap;
    struct pg__buf text;
    long delay_ms;
    int seen;           /* some user-agent line selected this set */
};

struct parser {
    const char *token;  /* the agent's product token */
    size_t token_len;
    struct set spec;
    struct set glob;
    struct pg__buf pat;  /* scratch: the pattern being normalised */
    int any_agent;      /* a user-agent line was seen */
    int in_body;        /* a record followed the user-agent lines */
    int cur_spec;       /* the current group names the token */
    int cur_glob;       /* the current group is a "*" group */
};

enum key {
    KEY_USER_AGENT,
    KEY_ALLOW,
    KEY_DISALLOW,
    KEY_CRAWL_DELAY,
    KEY_OTHER
};

/* Keys, with the common misspellings that Google's parser accepts. */
static const struct {
    const char *name;
    enum key key;
} keys[] = {
    { "user-agent", KEY_USER_AGENT },
    { "useragent", KEY_USER_AGENT },
    { "user agent", KEY_USER_AGENT },
    { "allow", KEY_ALLOW },
    { "disallow", KEY_DISALLOW },
    { "dissallow", KEY_DISALLOW },
    { "dissalow", KEY_DISALLOW },
    { "disalow", KEY_DISALLOW },
    { "diasllow", KEY_DISALLOW },
    { "disallaw", KEY_DISALLOW },
    { "crawl-delay", KEY_CRAWL_DELAY },
    { "crawldelay", KEY_CRAWL_DELAY },
};

static const char hexdigits[] = "0123456789ABCDEF";

static enum pg_code canon_pattern(struct pg__buf *b, const char *v,
                                  size_t n, size_t *prio, int *anchored)
    PG_WARN_UNUSED;
static enum pg_code set_add(struct set *s, const struct pg__buf *pat,
                            size_t prio, int anchored, int allow)
    PG_WARN_UNUSED;
static enum pg_code on_rule(struct parser *p, const char *v, size_t vn,
                            int allow) PG_WARN_UNUSED;
static enum pg_code parse_line(struct parser *p, const char *s, size_t n)
    PG_WARN_UNUSED;
static enum pg_code finish(struct parser *p, struct pg__robots *r)
    PG_WARN_UNUSED;

/* ---- Normal form ---------------------------------------------------- */

/* RFC 3986 unreserved characters. */
static int is_unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/*
 * RFC 3986 reserved characters, which stay as they are, except '*' and
 * '$': those are special in patterns, so a literal one is compared as
 * %2A or %24.
 */
static int is_kept_reserved(int c)
{
    return c != '\0' && strchr(":/?#[]@!&'()+,;=", c) != NULL;
}

/*
 * Normalise the unit at s[*i] (a byte, or a %XX triplet) of the n bytes
 * at s: write its 1 or 3 octets to out, advance *i past it and return
 * the number of octets.
 */
static size_t canon_unit(const unsigned char *s, size_t n, size_t *i,
                         unsigned char out[3])
{
    int c = s[*i];

    if (c == '%' && n - *i >= 3 && pg__hexval(s[*i + 1]) >= 0 &&
        pg__hexval(s[*i + 2]) >= 0) {
        c = pg__hexval(s[*i + 1]) * 16 + pg__hexval(s[*i + 2]);
        *i += 3;
        if (is_unreserved(c)) {
            out[0] = (unsigned char)c;
            return 1;
        }
    } else {
        *i += 1;
        if (is_unreserved(c) || is_kept_reserved(c)) {
            out[0] = (unsigned char)c;
            return 1;
        }
    }
    out[0] = '%';
    out[1] = (unsigned char)hexdigits[c >> 4];
    out[2] = (unsigned char)hexdigits[c & 15];
    return 3;
}

/* Reads the normal form of a path octet by octet, without allocating. */
struct cursor {
    const unsigned char *s;
    size_t n;
    size_t i;
    unsigned char buf[3];
    size_t len;
    size_t k;
};

static void cur_init(struct cursor *c, const char *s, size_t n)
{
    c->s = (const unsigned char *)s;
    c->n = n;
    c->i = 0;
    c->len = 0;
    c->k = 0;
}

/* The next octet of the normal form, or -1 at the end. */
static int cur_next(struct cursor *c)
{
    if (c->k == c->len) {
        if (c->i == c->n)
            return -1;
        c->len = canon_unit(c->s, c->n, &c->i, c->buf);
        c->k = 0;
    }
    return c->buf[c->k++];
}

/* ---- Matching --------------------------------------------------------- */

/* Fill f with the KMP failure function of the m > 0 bytes at seg. */
static void build_fail(const unsigned char *seg, uint16_t *f, size_t m)
{
    size_t k = 0, q;

    f[0] = 0;
    for (q = 1; q < m; q++) {
        while (k > 0 && seg[q] != seg[k])
            k = f[k - 1];
        if (seg[q] == seg[k])
            k++;
        f[q] = (uint16_t)k;
    }
}

/*
 * Look for the m > 0 bytes at seg (KMP table f) in the rest of c.
 * Without at_end: 1 at the first occurrence, c left just after it.
 * With at_end: 1 if an occurrence ends with the last octet of c.
 * Each octet of c is read once: O(m + rest of c).
 */
static int seek(struct cursor *c, const unsigned char *seg,
                const uint16_t *f, size_t m, int at_end)
{
    size_t q = 0;
    int hit = 0;

    for (;;) {
        int ch = cur_next(c);

        if (ch < 0)
            return at_end && hit;
        while (q > 0 && seg[q] != ch)
            q = f[q - 1];
        if (seg[q] == ch)
            q++;
        hit = q == m;
        if (hit) {
            if (!at_end)
                return 1;
            q = f[m - 1];
        }
    }
}

/*
 * Does rule ru match the n-byte path?  The piece before the first '*'
 * must be a prefix; each later piece is found leftmost after the one
 * before (greedy is exact when '*' is the only wildcard); with '$' the
 * last piece must end the path.
 */
static int rule_match(const struct pg__robots *r, const struct rule *ru,
                      const char *path, size_t n)
{
    const unsigned char *p = (const unsigned char *)r->text + ru->off;
    const uint16_t *f = r->fail + ru->off;
    size_t i = 0, j;
    struct cursor c;

    cur_init(&c, path, n);
    while (i < ru->len && p[i] != '*') {
        if (cur_next(&c) != p[i])
            return 0;
        i++;
    }
    if (i == ru->len)
        return !ru->anchored || cur_next(&c) < 0;
    for (;;) {
        i++; /* the '*': runs of them were merged when parsing */
        if (i == ru->len)
            return 1;
        j = i;
        while (j < ru->len && p[j] != '*')
            j++;
        if (!seek(&c, p + i, f + i, j - i, j == ru->len && ru->anchored))
            return 0;
        if (j == ru->len)
            return 1;
        i = j;
    }
}

/* Is the n-byte path, normalised, exactly "/robots.txt"? */
static int is_robots_txt(const char *path, size_t n)
{
    static const char want[] = "/robots.txt";
    struct cursor c;
    size_t i;

    cur_init(&c, path, n);
    for (i = 0; i < sizeof(want) - 1; i++) {
        if (cur_next(&c) != (unsigned char)want[i])
            return 0;
    }
    return cur_next(&c) < 0;
}

int pg__robots_allowed(const struct pg__robots *r, const char *path)
{
    size_t n, i;

    assert(r && path);
    n = strlen(path);
    if (n == 0) {
        path = "/";
        n = 1;
    }
    if (is_robots_txt(path, n))
        return 1;
    for (i = 0; i < r->n; i++) {
        if (rule_match(r, &r->rules[i], path, n))
            return r->rules[i].allow;
    }
    return 1;
}

long pg__robots_crawl_delay_ms(const struct pg__robots *r)
{
    assert(r);
    return r->delay_ms;
}

/* ---- Parsing ---------------------------------------------------------- */

static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ASCII case-insensitive equality of a[0..an) and b[0..bn). */
static int ieq(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i;

    if (an != bn)
        return 0;
    for (i = 0; i < an; i++) {
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    }
    return 1;
}

/* Drop blanks at both ends of s[0..*n). */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_blank((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_blank((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* Length of the product token at the start of s[0..n). */
static size_t token_len(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && s[i] != '/' && !is_blank((unsigned char)s[i]))
        i++;
    return i;
}

static enum key key_kind(const char *k, size_t n)
{
    size_t i;

    for (i = 0; i < PG_ARRAY_SIZE(keys); i++) {
        if (ieq(k, n, keys[i].name, strlen(keys[i].name)))
            return keys[i].key;
    }
    return KEY_OTHER;
}

/*
 * Split a trimmed, comment-free line of n > 0 bytes into a key and a
 * value, both trimmed.  "key: value", or "key value" when there is no
 * ':' and exactly two words.  Returns 0 if there is no (non-empty) key.
 */
static int split_line(const char *s, size_t n, const char **k,
                      size_t *kn, const char **v, size_t *vn)
{
    const char *colon = memchr(s, ':', n);
    size_t i = 0;

    if (colon) {
        i = (size_t)(colon - s);
        *v = colon + 1;
        *vn = n - i - 1;
    } else {
        while (i < n && !is_blank((unsigned char)s[i]))
            i++;
        *v = s + i;
        *vn = n - i;
    }
    *k = s;
    *kn = i;
    trim(k, kn);
    trim(v, vn);
    if (!colon) {
        if (*vn == 0)
            return 0;
        for (i = 0; i < *vn; i++) {
            if (is_blank((unsigned char)(*v)[i]))
                return 0;
        }
    }
    return *kn > 0;
}

/*
 * Normalise the pattern v[0..n) into b: runs of '*' become one '*', a
 * final '$' is taken off (*anchored), every other unit is normalised.
 * *prio is the normalised length with every '*' and the '$' counted.
 * Returns PG_OK, PG_E_LIMIT (over PG_ROBOTS_RULE_MAX; b is released) or
 * PG_E_NOMEM.
 */
static enum pg_code canon_pattern(struct pg__buf *b, const char *v,
                                  size_t n, size_t *prio, int *anchored)
{
    const unsigned char *s = (const unsigned char *)v;
    unsigned char out[3];
    size_t i = 0, k;
    enum pg_code rc;

    pg__buf_reset(b);
    *anchored = n > 0 && s[n - 1] == '$';
    if (*anchored)
        n--;
    *prio = (size_t)*anchored;
    while (i < n) {
        if (s[i] == '*') {
            i++;
            (*prio)++;
            if (b->len > 0 && b->ptr[b->len - 1] == '*')
                continue;
            rc = pg__buf_addc(b, '*');
        } else {
            k = canon_unit(s, n, &i, out);
            *prio += k;
            rc = pg__buf_add(b, out, k);
        }
        if (rc)
            return rc;
    }
    return PG_OK;
}

/* Append the pattern in pat to s, unless s is full. */
static enum pg_code set_add(struct set *s, const struct pg__buf *pat,
                            size_t prio, int anchored, int allow)
{
    struct rule *ru;

    if (s->n == PG_ROBOTS_MAX_RULES)
        return PG_OK;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;

        if (cap > PG_ROBOTS_MAX_RULES)
            cap = PG_ROBOTS_MAX_RULES;
        ru = pg__realloc(s->rules, cap * sizeof(*ru));
        if (!ru)
            return PG_E_NOMEM;
        s->rules = ru;
        s->cap = cap;
    }
    ru = &s->rules[s->n];
    ru->off = s->text.len;
    ru->len = pat->len;
    ru->prio = prio;
    ru->allow = (unsigned char)allow;
    ru->anchored = (unsigned char)anchored;
    /* TEXT_MAX cannot be reached, so a failure is out of memory. */
    if (pg__buf_add(&s->text, pg__buf_str(pat), pat->len) != PG_OK)
        return PG_E_NOMEM;
    s->n++;
    return PG_OK;
}

static enum pg_code on_rule(struct parser *p, const char *v, size_t vn,
                            int allow)
{
    size_t prio;
    int anchored;
    enum pg_code rc;

    if (!p->any_agent)
        return PG_OK; /* before the first group: ignored */
    p->in_body = 1;
    /* The glob set is of no use once a group named the token. */
    if (!p->cur_spec && (!p->cur_glob || p->spec.seen))
        return PG_OK;
    if (vn == 0 || (v[0] != '/' && v[0] != '*'))
        return PG_OK; /* empty, or can never match a path */
    rc = canon_pattern(&p->pat, v, vn, &prio, &anchored);
    if (rc == PG_E_LIMIT)
        return PG_OK; /* over-long: dropped */
    if (rc)
        return rc;
    if (p->cur_spec) {
        rc = set_add(&p->spec, &p->pat, prio, anchored, allow);
        if (rc)
            return rc;
    }
    if (p->cur_glob && !p->spec.seen)
        rc = set_add(&p->glob, &p->pat, prio, anchored, allow);
    return rc;
}

static void on_user_agent(struct parser *p, const char *v, size_t vn)
{
    size_t t = token_len(v, vn);

    if (p->in_body) {
        p->cur_spec = 0;
        p->cur_glob = 0;
        p->in_body = 0;
    }
    p->any_agent = 1;
    if (t == 1 && v[0] == '*') {
        p->cur_glob = 1;
    } else if (t > 0 && ieq(v, t, p->token, p->token_len)) {
        p->cur_spec = 1;
        p->spec.seen = 1;
    }
}

/*
 * A Crawl-delay value in milliseconds: seconds with an optional
 * fraction ("10", "0.5", ".25"), capped; -1 if malformed.
 */
static long parse_delay(const char *s, size_t n)
{
    long sec = 0, ms = 0, scale = 100;
    size_t i = 0, digits = 0;

    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (sec < DELAY_MAX_S)
            sec = sec * 10 + (s[i] - '0');
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            ms += (s[i] - '0') * scale;
            scale /= 10;
            i++;
            digits++;
        }
    }
    if (i != n || digits == 0)
        return -1;
    if (sec >= DELAY_MAX_S)
        return PG_ROBOTS_DELAY_MAX_MS;
    return sec * 1000 + ms;
}

static void on_crawl_delay(struct parser *p, const char *v, size_t vn)
{
    long ms;

    if (!p->any_agent)
        return;
    p->in_body = 1;
    ms = parse_delay(v, vn);
    if (ms < 0)
        return;
    if (p->cur_spec && ms > p->spec.delay_ms)
        p->spec.delay_ms = ms;
    if (p->cur_glob && ms > p->glob.delay_ms)
        p->glob.delay_ms = ms;
}

/* One line of n bytes, without its line ending. */
static enum pg_code parse_line(struct parser *p, const char *s, size_t n)
{
    const char *hash = memchr(s, '#', n);
    const char *k, *v;
    size_t kn, vn;

    if (hash)
        n = (size_t)(hash - s);
    trim(&s, &n);
    if (n == 0 || !split_line(s, n, &k, &kn, &v, &vn))
        return PG_OK;
    switch (key_kind(k, kn)) {
    case KEY_USER_AGENT:
        on_user_agent(p, v, vn);
        return PG_OK;
    case KEY_ALLOW:
        return on_rule(p, v, vn, 1);
    case KEY_DISALLOW:
        return on_rule(p, v, vn, 0);
    case KEY_CRAWL_DELAY:
        on_crawl_delay(p, v, vn);
        return PG_OK;
    case KEY_OTHER:
        /* Sitemap, unknown keys: ignored, but they end a group's
         * user-agent lines as in Google's parser. */
        p->in_body = 1;
        return PG_OK;
    }
    return PG_OK;
}

static void set_init(struct set *s)
{
    memset(s, 0, sizeof(*s));
    pg__buf_init(&s->text, TEXT_MAX);
}

static void set_release(struct set *s)
{
    PG_FREE(s->rules);
    pg__buf_release(&s->text);
}

static void parser_init(struct parser *p, const char *agent)
{
    size_t n;

    memset(p, 0, sizeof(*p));
    set_init(&p->spec);
    set_init(&p->glob);
    pg__buf_init(&p->pat, PG_ROBOTS_RULE_MAX);
    if (!agent)
        agent = "";
    n = strlen(agent);
    trim(&agent, &n);
    p->token = agent;
    p->token_len = token_len(agent, n);
}

static void parser_release(struct parser *p)
{
    set_release(&p->spec);
    set_release(&p->glob);
    pg__buf_release(&p->pat);
}

static int rule_cmp(const void *a, const void *b)
{
    const struct rule *x = a, *y = b;

    if (x->prio != y->prio)
        return x->prio > y->prio ? -1 : 1;
    if (x->allow != y->allow)
        return x->allow ? -1 : 1;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    return 0;
}

/* Move the chosen set into r and build the KMP tables. */
static enum pg_code finish(struct parser *p, struct pg__robots *r)
{
    struct set *s = p->spec.seen ? &p->spec : &p->glob;
    size_t len = s->text.len, i, j, k;

    r->delay_ms = s->delay_ms;
    if (s->n == 0)
        return PG_OK;
    r->fail = pg_malloc(len * sizeof(*r->fail));
    if (!r->fail)
        return PG_E_NOMEM;
    r->text = pg__buf_take(&s->text);
    r->rules = s->rules;
    r->n = s->n;
    s->rules = NULL;
    s->n = 0;
    for (i = 0; i < r->n; i++) {
        const struct rule *ru = &r->rules[i];
        const unsigned char *pat = (unsigned char *)r->text + ru->off;

        for (j = 0; j < ru->len; j = k) {
            while (j < ru->len && pat[j] == '*')
                j++;
            k = j;
            while (k < ru->len && pat[k] != '*')
                k++;
            if (k > j)
                build_fail(pat + j, r->fail + ru->off + j, k - j);
        }
    }
    qsort(r->rules, r->n, sizeof(*r->rules), rule_cmp);
    return PG_OK;
}

struct pg__robots *pg__robots_parse(const char *body, size_t len,
                                    const char *agent)
{
    struct parser p;
    struct pg__robots *r = NULL;
    size_t i = 0, start;

    parser_init(&p, agent);
    if (!body)
        len = 0;
    if (len > PG_ROBOTS_MAX_BYTES) {
        /* Keep whole lines only: a cut rule could mean another rule. */
        size_t cut = PG_ROBOTS_MAX_BYTES;

        if (body[cut] != '\n' && body[cut] != '\r') {
            while (cut > 0 && body[cut - 1] != '\n' &&
                   body[cut - 1] != '\r')
                cut--;
        }
        len = cut;
    }
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len) {
        start = i;
        while (i < len && body[i] != '\n' && body[i] != '\r')
            i++;
        if (parse_line(&p, body + start, i - start) != PG_OK)
            goto out;
        i++; /* the CR or LF; the LF of a CRLF makes an empty line */
    }
    r = pg__calloc(1, sizeof(*r));
    if (!r)
        goto out;
    if (finish(&p, r) != PG_OK)
        PG_FREE(r); /* finish() took nothing when it failed */
out:
    parser_release(&p);
    return r;
}

struct pg__robots *pg__robots_allow_all(void)
{
    return pg__calloc(1, sizeof(struct pg__robots));
}

struct pg__robots *pg__robots_disallow_all(void)
{
    static const char all[] = "User-agent: *\nDisallow: /\n";

    return pg__robots_parse(all, sizeof(all) - 1, NULL);
}

void pg__robots_free(struct pg__robots *r)
{
    if (!r)
        return;
    pg_free(r->rules);
    pg_free(r->text);
    pg_free(r->fail);
    pg_free(r);
}
