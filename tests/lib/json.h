/*
 * json.h - the one JSON reader of the tests: manifests (one object per
 * line, read by testlib.c) and the JSON report of `pagegrab compare`
 * (tests/integration/test_compare.c) both parse with it.
 *
 * The parser is strict (RFC 8259): no trailing commas, no leading zeros,
 * no lone surrogates, no unescaped control characters in strings, no
 * duplicate keys in an object, at most PG_JSON_MAX_DEPTH nested arrays
 * and objects, nothing but white space after the value. It does not check
 * that the text is UTF-8: pg_json_valid_utf8() does that for callers
 * that want it.
 */
#ifndef PG_TEST_JSON_H
#define PG_TEST_JSON_H

#include <stddef.h>

#define PG_JSON_MAX_DEPTH 32

enum pg_json_type {
    PG_JSON_NULL,
    PG_JSON_STRING,
    PG_JSON_NUMBER,
    PG_JSON_BOOL,
    PG_JSON_ARRAY,
    PG_JSON_OBJECT
};

/* A JSON value; a member of an object also has its key. */
struct pg_json_field {
    char *key;               /* member of an object: its key, else NULL */
    enum pg_json_type type;
    char *str;               /* decoded string (NUL-terminated) */
    size_t str_len;          /* may contain NULs from \u0000 */
    char *raw;               /* number/bool literal as written */
    int is_int;              /* a number without fraction or exponent */
    long long ival;          /* its value when is_int */
    double num;              /* the value of any number */
    struct pg_json_field *f; /* array elements or object members */
    size_t n;
};

/*
 * Parse the whole text (len bytes) into *out. Returns 0, or -1 with
 * "column N: what" in err (*out is then empty).
 */
int pg_json_parse(const char *text, size_t len, struct pg_json_field *out,
                  char *err, size_t errlen);
/* Free what a value owns (recursively) and empty it. */
void pg_json_release(struct pg_json_field *f);
/* The member key of object obj, or NULL (also when obj is not an object
 * or is NULL). */
const struct pg_json_field *pg_json_get(const struct pg_json_field *obj,
                                        const char *key);
/* The value as compact JSON text (heap). */
char *pg_json_text(const struct pg_json_field *f);
/* Is s (n bytes) valid UTF-8 (no overlongs, surrogates, > U+10FFFF)? */
int pg_json_valid_utf8(const unsigned char *s, size_t n);

#endif /* PG_TEST_JSON_H */
