/*
 * filter.c - pcre2 pattern lists (see filter.h) and the naming rules of
 * pg_namer (see pagegrab.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "buf.h"
#include "filter.h"
#include "mem.h"
#include "name.h"
#include "spool.h"
#include "url.h"

struct pg__regex_list {
    size_t n;
    pcre2_code **code;
    pcre2_match_data *md;    /* main thread only */
};

/* Compile one pattern; NULL with the reason in err. */
static pcre2_code *compile(const char *pattern, char *err, size_t errlen)
{
    PCRE2_UCHAR msg[160];
    PCRE2_SIZE off = 0;
    pcre2_code *c;
    int ec = 0;

    c = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &ec,
                      &off, NULL);
    if (!c) {
        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(err, errlen, "invalid regular expression '%s': %s at "
                 "offset %zu", pattern, (const char *)msg, (size_t)off);
        return NULL;
    }
    /* JIT is an optimisation: without it, matching still works. */
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    return c;
}

/*
 * Match s against c.  pcre2's JIT reads the subject in aligned 16-byte
 * chunks and may look past its end (harmless, but valgrind reports it),
 * so the subject is matched from a copy with zeroed padding.
 * Returns pcre2_match()'s result; -1 if s is too long.
 */
static int match(const pcre2_code *c, const char *s, pcre2_match_data *md)
{
    char buf[PG_URL_MAX * 3 + 64];
    size_t n = strlen(s);

    if (n > sizeof(buf) - 64)
        return -1;
    memcpy(buf, s, n);
    memset(buf + n, 0, 64);
    return pcre2_match(c, (PCRE2_SPTR)buf, n, 0, 0, md, NULL);
}

enum pg_code pg_check_regex(const char *pattern, char *err, size_t errlen)
{
    pcre2_code *c = compile(pattern, err, errlen);

    if (!c)
        return PG_E_INVALID;
    pcre2_code_free(c);
    return PG_OK;
}

struct pg__regex_list *pg__regex_list_new(const char *const *patterns,
                                          size_t n, char *err,
                                          size_t errlen)
{
    struct pg__regex_list *l = pg__calloc(1, sizeof(*l));
    size_t i;

    if (!l)
        goto nomem;
    l->code = pg__calloc(n ? n : 1, sizeof(*l->code));
    if (!l->code)
        goto nomem;
    for (i = 0; i < n; i++) {
        l->code[i] = compile(patterns[i], err, errlen);
        if (!l->code[i]) {
            pg__regex_list_free(l);
            return NULL;
        }
        l->n++;
    }
    l->md = pcre2_match_data_create(1, NULL);
    if (!l->md)
        goto nomem;
    return l;
nomem:
    pg__regex_list_free(l);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

void pg__regex_list_free(struct pg__regex_list *l)
{
    size_t i;

    if (!l)
        return;
    for (i = 0; i < l->n; i++)
        pcre2_code_free(l->code[i]);
    pg_free(l->code);
    pcre2_match_data_free(l->md);
    pg_free(l);
}

size_t pg__regex_list_count(const struct pg__regex_list *l)
{
    return l ? l->n : 0;
}

int pg__regex_list_match(struct pg__regex_list *l, const char *s)
{
    size_t i;

    if (!l)
        return -1;
    for (i = 0; i < l->n; i++) {
        if (match(l->code[i], s, l->md) >= 0)
            return (int)i;
    }
    return -1;
}

/* ---- naming rules ----------------------------------------------------- */

struct rule {
    pcre2_code *code;
    char *tmpl;
};

struct pg_namer {
    size_t n;
    struct rule *rules;
    unsigned flags;
};

void pg_namer_free(struct pg_namer *nm)
{
    size_t i;

    if (!nm)
        return;
    for (i = 0; i < nm->n; i++) {
        pcre2_code_free(nm->rules[i].code);
        pg_free(nm->rules[i].tmpl);
    }
    pg_free(nm->rules);
    pg_free(nm);
}

struct pg_namer *pg_namer_new(const char *const *rules, size_t n,
                              unsigned flags, char *err, size_t errlen)
{
    struct pg_namer *nm = pg__calloc(1, sizeof(*nm));
    size_t i;

    err[0] = '\0';
    if (!nm)
        goto nomem;
    nm->flags = flags;
    nm->rules = pg__calloc(n ? n : 1, sizeof(*nm->rules));
    if (!nm->rules)
        goto nomem;
    for (i = 0; i < n; i++) {
        const char *eq = strrchr(rules[i], '=');
        char *re;

        if (!eq || eq == rules[i]) {
            snprintf(err, errlen, "invalid naming rule '%s': expected "
                     "'REGEX=TEMPLATE'", rules[i]);
            pg_namer_free(nm);
            return NULL;
        }
        re = pg__strndup(rules[i], (size_t)(eq - rules[i]));
        nm->rules[i].tmpl = pg__strdup(eq + 1);
        if (!re || !nm->rules[i].tmpl) {
            pg_free(re);
            nm->n = i + 1;
            goto nomem;
        }
        nm->rules[i].code = compile(re, err, errlen);
        pg_free(re);
        nm->n = i + 1;
        if (!nm->rules[i].code) {
            pg_namer_free(nm);
            return NULL;
        }
    }
    return nm;
nomem:
    pg_namer_free(nm);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

/* The last path segment of u, without and with its extension split. */
static void split_leaf(const struct pg__url *u, const char **leaf,
                       size_t *stem_len, const char **ext)
{
    const char *p = strrchr(u->path, '/');
    const char *dot;

    *leaf = p ? p + 1 : u->path;
    dot = strrchr(*leaf, '.');
    if (dot && dot != *leaf) {
        *stem_len = (size_t)(dot - *leaf);
        *ext = dot + 1;
    } else {
        *stem_len = strlen(*leaf);
        *ext = "";
    }
}

/* Expand tmpl for the match in md; the raw result goes into b. */
static enum pg_code expand(struct pg__buf *b, const char *tmpl,
                           pcre2_code *code, pcre2_match_data *md,
                           const char *subject, const struct pg__url *u,
                           const char *hash)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    uint32_t groups = pcre2_get_ovector_count(md);
    const char *p = tmpl, *leaf, *ext;
    size_t stem_len;
    enum pg_code rc = PG_OK;

    split_leaf(u, &leaf, &stem_len, &ext);
    while (!rc && *p) {
        int group = -1;

        if (p[0] == '$' && p[1] >= '0' && p[1] <= '9') {
            group = p[1] - '0';
            p += 2;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            char name[64];
            int num;

            if (!end || end - p - 2 >= (int)sizeof(name))
                return PG_E_INVALID;
            memcpy(name, p + 2, (size_t)(end - p - 2));
            name[end - p - 2] = '\0';
            if (name[0] >= '0' && name[0] <= '9') {
                group = (int)strtol(name, NULL, 10);
            } else {
                num = pcre2_substring_number_from_name(code,
                                                       (PCRE2_SPTR)name);
                if (num < 0)
                    return PG_E_INVALID;
                group = num;
            }
            p = end + 1;
        } else if (!strncmp(p, "{host}", 6)) {
            rc = pg__buf_addstr(b, u->host);
            p += 6;
            continue;
        } else if (!strncmp(p, "{path}", 6)) {
            rc = pg__buf_addstr(b, u->path + (u->path[0] == '/'));
            p += 6;
            continue;
        } else if (!strncmp(p, "{basename}", 10)) {
            rc = pg__buf_add(b, leaf, stem_len);
            p += 10;
            continue;
        } else if (!strncmp(p, "{ext}", 5)) {
            rc = pg__buf_addstr(b, ext);
            p += 5;
            continue;
        } else if (!strncmp(p, "{hash}", 6)) {
            char h[17];

            if (hash && strlen(hash) >= 16)
                snprintf(h, sizeof(h), "%.16s", hash);
            else
                snprintf(h, sizeof(h), "%016llx", (unsigned long long)
                         pg__hash64(u->url, strlen(u->url)));
            rc = pg__buf_addstr(b, h);
            p += 6;
            continue;
        } else {
            rc = pg__buf_addc(b, *p++);
            continue;
        }
        /* A group that did not take part expands to nothing. */
        if (group >= 0 && (uint32_t)group < groups &&
            ov[2 * group] != PCRE2_UNSET)
            rc = pg__buf_add(b, subject + ov[2 * group],
                            ov[2 * group + 1] - ov[2 * group]);
    }
    return rc;
}

/* Sanitise a '/'-separated raw name component by component. */
static enum pg_code sanitise(const char *raw, struct pg__buf *out)
{
    const char *p = raw, *end;
    int altered = 0;
    enum pg_code rc = PG_OK;

    while (!rc && *p) {
        end = strchr(p, '/');
        if (!end)
            end = p + strlen(p);
        if (end > p) {
            if (out->len)
                rc = pg__buf_addc(out, '/');
            if (!rc)
                rc = pg__name_add_component(out, p, (size_t)(end - p),
                                            &altered);
        }
        p = *end ? end + 1 : end;
    }
    if (!rc && !out->len)
        rc = PG_E_INVALID;
    return rc;
}

enum pg_code pg_namer_name(const struct pg_namer *nm, const char *url,
                           const char *hash, char **out)
{
    struct pg__buf raw = PG_BUF_INIT(PG_NAME_MAX);
    struct pg__buf clean = PG_BUF_INIT(PG_NAME_MAX + 256);
    pcre2_match_data *md = NULL;
    char err[PG_ERRBUF_SIZE];
    struct pg__url u;
    enum pg_code rc;
    size_t i;

    *out = NULL;
    rc = pg__url_parse(&u, url, strlen(url), err, sizeof(err));
    if (rc)
        return rc;
    for (i = 0; nm && i < nm->n; i++) {
        int m;

        md = pcre2_match_data_create_from_pattern(nm->rules[i].code, NULL);
        if (!md) {
            rc = PG_E_NOMEM;
            goto out;
        }
        m = match(nm->rules[i].code, u.url, md);
        if (m >= 0)
            break;
        pcre2_match_data_free(md);
        md = NULL;
    }
    if (!md) {
        /* No rule matched: the default name, from the URL parsed once. */
        rc = pg__name_from_parsed(&u, nm ? nm->flags : 0, out);
        pg__url_release(&u);
        return rc;
    }
    rc = expand(&raw, nm->rules[i].tmpl, nm->rules[i].code, md, u.url, &u,
                hash);
    if (!rc)
        rc = sanitise(pg__buf_str(&raw), &clean);
    if (!rc && pg__spool_check_name(clean.ptr))
        rc = PG_E_INVALID;
    if (!rc)
        *out = pg__buf_take(&clean);
out:
    pcre2_match_data_free(md);
    pg__buf_release(&raw);
    pg__buf_release(&clean);
    pg__url_release(&u);
    return rc;
}
