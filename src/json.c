/*
 * json.c - see json.h.
 */
#include <string.h>

#include "json.h"
#include "util.h"

enum pg_code pg__json_str_max(struct pg__buf *b, const char *str,
                              enum pg__json_as as, size_t max, int *cut)
{
    static const char hex[] = "0123456789abcdef";
    static const char HEX[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t n, k, used = 0;
    enum pg_code rc;

    *cut = 0;
    if (!s)
        return pg__buf_addstr(b, "null");
    n = strlen(str);
    rc = pg__buf_addc(b, '"');
    while (!rc && n > 0) {
        unsigned char c = *s;
        char esc[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
        const char *out = esc;
        size_t outlen = 2;

        k = pg__utf8_len(s, n);
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            esc[0] = '\\';
        } else if (c == '\n') {
            out = "\\n";
        } else if (c == '\r') {
            out = "\\r";
        } else if (c == '\t') {
            out = "\\t";
        } else if (k == 0 && as == PG_JSON_URL) {
            esc[0] = '%';
            esc[1] = HEX[c >> 4];
            esc[2] = HEX[c & 15];
            outlen = 3;
            k = 1;
        } else if (k == 0 && as == PG_JSON_TEXT) {
            out = "\xef\xbf\xbd";
            outlen = 3;
            k = 1;
        } else if (c < 0x20 || c == 0x7f || k == 0) {
            outlen = 6;
            k = 1;
        } else {
            out = (const char *)s;
            outlen = k;
        }
        if (used + outlen > max) {
            *cut = 1;
            break;
        }
        rc = pg__buf_add(b, out, outlen);
        used += outlen;
        s += k;
        n -= k;
    }
    if (!rc)
        rc = pg__buf_addc(b, '"');
    return rc;
}

enum pg_code pg__json_str(struct pg__buf *b, const char *str)
{
    int cut;

    return pg__json_str_max(b, str, PG_JSON_TEXT, (size_t)-1, &cut);
}

