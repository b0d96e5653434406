/*
 * url.c - see url.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "buf.h"
#include "mem.h"
#include "url.h"

char *pg__url_escape_input(const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    struct pg__buf b = PG_BUF_INIT(len * 3 + 1);
    size_t i = 0;

    while (i < len) {
        size_t k = pg__utf8_len(p + i, len - i);
        enum pg_code rc;

        if (k == 0 || p[i] < 0x20 || p[i] == 0x7f) {
            char e[3] = { '%', hex[p[i] >> 4], hex[p[i] & 15] };

            rc = pg__buf_add(&b, e, 3);
            k = 1;
        } else {
            rc = pg__buf_add(&b, p + i, k);
        }
        if (rc)
            return NULL;
        i += k;
    }
    if (!b.ptr)
        return pg__strdup("");
    return pg__buf_take(&b);
}

int pg__hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

uint64_t pg__hash64(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;

    while (n--) {
        h ^= *s++;
        h *= 0x100000001b3ULL;
    }
    return h;
}

void pg__url_release(struct pg__url *u)
{
    PG_FREE(u->url);
    PG_FREE(u->scheme);
    PG_FREE(u->host);
    PG_FREE(u->port);
    PG_FREE(u->path);
    PG_FREE(u->query);
}

/* Copy one part out of h into *out (NULL when the part is absent). */
static enum pg_code get_part(CURLU *h, CURLUPart part, char **out)
{
    char *v = NULL;
    CURLUcode rc = curl_url_get(h, part, &v, 0);

    *out = NULL;
    if (rc == CURLUE_OUT_OF_MEMORY)
        return PG_E_NOMEM;
    if (rc != CURLUE_OK || !v)
        return PG_OK;
    *out = pg__strdup(v);
    curl_free(v);
    return *out ? PG_OK : PG_E_NOMEM;
}

/* Upper-case the hex digits of every %XX escape in s (RFC 3986 6.2.2.1). */
static void upper_escapes(char *s)
{
    for (; *s; s++) {
        if (s[0] == '%' && isxdigit((unsigned char)s[1]) &&
            isxdigit((unsigned char)s[2])) {
            s[1] = (char)toupper((unsigned char)s[1]);
            s[2] = (char)toupper((unsigned char)s[2]);
            s += 2;
        }
    }
}

static int is_default_port(const char *scheme, const char *port)
{
    return (!strcmp(scheme, "http") && !strcmp(port, "80")) ||
           (!strcmp(scheme, "https") && !strcmp(port, "443"));
}

static void lower(char *s)
{
    for (; *s; s++) {
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    }
}

/*
 * An RFC 3986 scheme ("ALPHA *( ALPHA / DIGIT / + / - / . )" then ':')
 * other than http or https is refused here, so that opaque URLs such as
 * javascript: or mailto: get the right reason.
 */
static enum pg_code check_scheme(const char *s, size_t len, char *err,
                                 size_t errlen)
{
    size_t i = 0;

    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    s += i;
    len -= i;
    if (len == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
        return PG_OK;
    for (i = 1; i < len && i < 40; i++) {
        char c = s[i];

        if (c == ':')
            break;
        if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') &&
            !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.')
            return PG_OK;
    }
    if (i >= len || s[i] != ':')
        return PG_OK;
    if ((i == 4 && !strncasecmp(s, "http", 4)) ||
        (i == 5 && !strncasecmp(s, "https", 5)))
        return PG_OK;
    {
        char name[41];
        size_t k;

        for (k = 0; k < i; k++)
            name[k] = (char)((s[k] >= 'A' && s[k] <= 'Z') ? s[k] | 0x20
                                                         : s[k]);
        name[i] = '\0';
        snprintf(err, errlen, "unsupported scheme '%s' (only http and "
                 "https)", name);
    }
    return PG_E_SCHEME;
}

/*
 * A copy of s with every space as %20.  libcurl's CURLU_URLENCODE would
 * turn spaces in the query into '+', which is a different URL.
 */
static char *encode_spaces(const char *s, size_t len)
{
    struct pg__buf b = PG_BUF_INIT(PG_URL_MAX * 3 + 1);
    size_t i;

    for (i = 0; i < len; i++) {
        enum pg_code rc = s[i] == ' ' ? pg__buf_add(&b, "%20", 3)
                                      : pg__buf_addc(&b, s[i]);

        if (rc)
            return NULL;
    }
    if (!b.ptr)
        return pg__strdup("");
    return pg__buf_take(&b);
}

/* Write the normalised host and port back; the zone id survives. */
static enum pg_code reset_host_port(CURLU *h, const struct pg__url *u,
                                    char *err, size_t errlen)
{
    char *zone = NULL;
    CURLUcode urc;
    enum pg_code rc = get_part(h, CURLUPART_ZONEID, &zone);

    if (rc)
        return rc;
    urc = curl_url_set(h, CURLUPART_HOST, u->host, 0);
    if (urc == CURLUE_OK && zone)
        urc = curl_url_set(h, CURLUPART_ZONEID, zone, 0);
    if (urc == CURLUE_OK)
        urc = curl_url_set(h, CURLUPART_PORT, u->port, 0);
    pg_free(zone);
    if (urc == CURLUE_OK)
        return PG_OK;
    if (urc == CURLUE_OUT_OF_MEMORY)
        return PG_E_NOMEM;
    snprintf(err, errlen, "%s", curl_url_strerror(urc));
    return PG_E_URL;
}

/* PG_E_LIMIT if s is too long, PG_E_URL if it holds a control byte. */
static enum pg_code check_bytes(const char *s, size_t len, char *err,
                                size_t errlen)
{
    size_t i;

    if (len > PG_URL_MAX) {
        snprintf(err, errlen, "URL longer than %d bytes", PG_URL_MAX);
        return PG_E_LIMIT;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == 0) {
            snprintf(err, errlen, "contains a NUL byte at byte %zu",
                     i + 1);
            return PG_E_URL;
        }
        if (c < 0x20 || c == 0x7f) {
            snprintf(err, errlen, "control character 0x%02x at byte %zu",
                     c, i + 1);
            return PG_E_URL;
        }
    }
    return PG_OK;
}

/* A new handle *h holding s[0..len) as libcurl parses it. */
static enum pg_code load(CURLU **h, const char *s, size_t len, char *err,
                         size_t errlen)
{
    enum pg_code rc = PG_OK;
    CURLUcode urc;
    char *tmp = encode_spaces(s, len);

    *h = curl_url();
    if (!tmp || !*h) {
        rc = PG_E_NOMEM;
        goto out;
    }
    urc = curl_url_set(*h, CURLUPART_URL, tmp,
                       CURLU_NON_SUPPORT_SCHEME | CURLU_ALLOW_SPACE |
                       CURLU_URLENCODE);
    if (urc == CURLUE_OUT_OF_MEMORY) {
        rc = PG_E_NOMEM;
    } else if (urc == CURLUE_BAD_SCHEME && !strstr(tmp, "://")) {
        snprintf(err, errlen, "not a URL (no scheme such as http://)");
        rc = PG_E_URL;
    } else if (urc != CURLUE_OK) {
        snprintf(err, errlen, "%s", curl_url_strerror(urc));
        rc = PG_E_URL;
    }
out:
    pg_free(tmp);
    return rc;
}

/* u->scheme, lower-cased; PG_E_SCHEME unless it is http or https. */
static enum pg_code take_scheme(CURLU *h, struct pg__url *u, char *err,
                                size_t errlen)
{
    enum pg_code rc = get_part(h, CURLUPART_SCHEME, &u->scheme);

    if (rc)
        return rc;
    if (!u->scheme) {
        snprintf(err, errlen, "no scheme");
        return PG_E_URL;
    }
    lower(u->scheme);
    if (strcmp(u->scheme, "http") && strcmp(u->scheme, "https")) {
        snprintf(err, errlen, "unsupported scheme '%.32s' (only http and "
                 "https)", u->scheme);
        return PG_E_SCHEME;
    }
    return PG_OK;
}

/*
 * Drop the fragment, then u->host (lower-cased), u->port (NULL for the
 * scheme's default), u->path ("/" if none) and u->query.
 */
static enum pg_code take_parts(CURLU *h, struct pg__url *u, char *err,
                               size_t errlen)
{
    enum pg_code rc;

    /* The fragment never reaches the server; drop it before anything. */
    if (curl_url_set(h, CURLUPART_FRAGMENT, NULL, 0) ==
        CURLUE_OUT_OF_MEMORY)
        return PG_E_NOMEM;
    rc = get_part(h, CURLUPART_HOST, &u->host);
    if (!rc)
        rc = get_part(h, CURLUPART_PORT, &u->port);
    if (!rc)
        rc = get_part(h, CURLUPART_PATH, &u->path);
    if (!rc)
        rc = get_part(h, CURLUPART_QUERY, &u->query);
    if (rc)
        return rc;
    if (!u->host || !u->host[0]) {
        snprintf(err, errlen, "no host name");
        return PG_E_URL;
    }
    lower(u->host);
    if (u->port && is_default_port(u->scheme, u->port))
        PG_FREE(u->port);
    if (!u->path) {
        u->path = pg__strdup("/");
        if (!u->path)
            return PG_E_NOMEM;
    }
    return PG_OK;
}

/* u->url from h, with u's percent-escapes in one spelling. */
static enum pg_code take_url(CURLU *h, struct pg__url *u)
{
    enum pg_code rc = get_part(h, CURLUPART_URL, &u->url);

    if (!rc && !u->url)
        rc = PG_E_NOMEM;
    if (rc)
        return rc;
    /* One spelling per URL: %C3%BC and %c3%bc are the same bytes. */
    upper_escapes(u->url);
    upper_escapes(u->path);
    if (u->query)
        upper_escapes(u->query);
    return PG_OK;
}

enum pg_code pg__url_parse(struct pg__url *u, const char *s, size_t len,
                           char *err, size_t errlen)
{
    enum pg_code rc;
    CURLU *h = NULL;

    memset(u, 0, sizeof(*u));
    err[0] = '\0';
    rc = check_bytes(s, len, err, errlen);
    if (!rc)
        rc = check_scheme(s, len, err, errlen);
    if (rc)
        return rc;
    rc = load(&h, s, len, err, errlen);
    if (!rc)
        rc = take_scheme(h, u, err, errlen);
    if (!rc)
        rc = take_parts(h, u, err, errlen);
    if (!rc)
        rc = reset_host_port(h, u, err, errlen);
    if (!rc)
        rc = take_url(h, u);
    if (rc) {
        if (rc == PG_E_NOMEM && !err[0])
            snprintf(err, errlen, "%s", pg_strerror(rc));
        pg__url_release(u);
    }
    curl_url_cleanup(h);
    return rc;
}

char *pg__url_origin_of(const struct pg__url *u)
{
    struct pg__buf b;
    char *o = NULL;

    pg__buf_init(&b, PG_URL_MAX + 16);
    if (!pg__buf_addf(&b, "%s://%s%s%s", u->scheme, u->host,
                     u->port ? ":" : "", u->port ? u->port : ""))
        o = pg__buf_take(&b);
    pg__buf_release(&b);
    return o;
}

char *pg__url_origin(const char *url)
{
    char err[PG_ERRBUF_SIZE];
    struct pg__url u;
    char *o;

    if (pg__url_parse(&u, url, strlen(url), err, sizeof(err)))
        return NULL;
    o = pg__url_origin_of(&u);
    pg__url_release(&u);
    return o;
}

size_t pg__url_host_of(const char *url, char *buf, size_t size)
{
    const char *auth = strstr(url, "://"), *end, *at, *h, *stop;
    size_t n;

    if (!auth || size == 0)
        return 0;
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    /* Skip user info: the host follows the last '@' of the authority. */
    for (h = auth, at = auth; at < end; at++)
        if (*at == '@')
            h = at + 1;
    if (*h == '[') {
        /* IPv6: the brackets stay, a zone id ("%25eth0") goes. */
        stop = memchr(h, ']', (size_t)(end - h));
        if (!stop)
            return 0;
        at = memchr(h, '%', (size_t)(stop - h));
        n = (size_t)((at ? at : stop) - h);
        if (n + 2 > size)
            return 0;
        memcpy(buf, h, n);
        buf[n++] = ']';
        buf[n] = '\0';
        return n;
    }
    stop = memchr(h, ':', (size_t)(end - h));
    n = (size_t)((stop ? stop : end) - h);
    if (n == 0 || n + 1 > size)
        return 0;
    memcpy(buf, h, n);
    buf[n] = '\0';
    return n;
}
