/*
 * prescan.c - attribute bombs cut from a decoded page before libxml2
 * parses it (see prescan.h).
 *
 * libxml2 2.9 checks every attribute of a start tag against all the
 * previous ones, so k attributes cost k^2/2 comparisons: one tag with
 * 80,000 attributes (a 700 KB page) takes minutes.  cap_attributes()
 * follows libxml2 2.9.14's tokenizer where it matters (comments, PIs,
 * DOCTYPE, end tags, script and style text, start tags and their
 * attribute loop, checked against it by test_attribute_bomb and the
 * fuzzer) and ends a start tag before its (MAX_ATTRS + 1)th attribute by
 * writing a '>' there.  The text is decoded first (charset.c), so it
 * holds no byte that libxml2 would reject.  This file does not parse:
 * it only finds where libxml2's tokenizer would be.
 */
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "mem.h"
#include "prescan.h"

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

    if (!pg__is_alpha(c) && c != '_' && c != ':' && c != '.')
        return i;
    while (i < n && k < 100) {
        c = (unsigned char)s[i];
        if (!pg__is_alpha(c) && !pg__is_digit(c) && c != '_' && c != ':' &&
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

    if (!pg__is_alpha(c) && c != '_' && c != ':' && c < 0x80)
        return i;
    while (i < n) {
        c = (unsigned char)s[i];
        if (!pg__is_alpha(c) && !pg__is_digit(c) && c != '_' && c != ':' &&
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
        if (s[k] == '<' && pg__is_alpha((unsigned char)s[k + 1])) {
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
                              pg__ci_prefix(s + i + 2, n - i - 2, raw))) {
                if (s[i] == '<' && i + 1 < n &&
                    pg__is_alpha((unsigned char)s[i + 1])) {
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
        } else if (pg__ci_prefix(s + i, n - i, "<!--")) {
            /* Bombs inside a comment are cut as well, in case libxml2
             * does not take it for one; only the comment changes. */
            j = skip_comment(s, n, i);
            if (cap_inside(s, n, i + 4, j, w, &cuts) && !w)
                return cuts;
            i = j;
        } else if (pg__ci_prefix(s + i, n - i, "<!doctype")) {
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
        } else if (pg__is_alpha((unsigned char)s[i + 1])) {
            size_t name = i + 1, end = html_name(s, n, name);

            i = start_tag(s, n, end, w, &cuts);
            if (cuts && !w)
                return cuts; /* counting only: one is enough */
            if (i < n && s[i] == '>') {
                if ((end - name == 6 && pg__ci_eq(s + name, 6, "script")) ||
                    (end - name == 5 && pg__ci_eq(s + name, 5, "style")))
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
enum pg_code pg__prescan_defuse(struct pg__text *t)
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
size_t pg__extract_cap_attributes(char *s, size_t n)
{
    return cap_attributes(s, n, s);
}
#endif
