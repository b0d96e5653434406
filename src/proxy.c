/*
 * proxy.c - see proxy.h: the proxy of a URL (the no-proxy list
 * matched) and the host of a URL.
 *
 * It is not the setting of the proxy on a handle nor any address check
 * (fetch.c, fetch_opts.c: pg__proxy_target_ok).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "proxy.h"

/* The host of url (brackets removed), in buf; -1 if none fits. */
int pg__proxy_host(const char *url, char *buf, size_t len)
{
    CURLU *u = curl_url();
    char *host = NULL;
    size_t n;
    int rc = -1;

    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host) {
        const char *h = host;

        n = strlen(h);
        if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
            h++;
            n -= 2;
        }
        if (n < len) {
            memcpy(buf, h, n);
            buf[n] = '\0';
            rc = 0;
        }
    }
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* host (an address) inside entry "ADDR/BITS" or equal to "ADDR". */
static int addr_match(const char *entry, size_t len, const char *host)
{
    unsigned char a[16], b[16];
    char e[INET6_ADDRSTRLEN + 8];
    char *slash;
    long bits;
    int fam = strchr(host, ':') ? AF_INET6 : AF_INET;
    int max = fam == AF_INET6 ? 128 : 32, i;

    if (len >= sizeof(e) || inet_pton(fam, host, a) != 1)
        return 0;
    memcpy(e, entry, len);
    e[len] = '\0';
    slash = strchr(e, '/');
    bits = max;
    if (slash) {
        *slash = '\0';
        bits = strtol(slash + 1, NULL, 10);
        if (bits < 0 || bits > max)
            return 0;
    }
    if (inet_pton(fam, e, b) != 1)
        return 0;
    for (i = 0; i < bits / 8; i++) {
        if (a[i] != b[i])
            return 0;
    }
    if (bits % 8) {
        unsigned char m = (unsigned char)(0xff << (8 - bits % 8));

        if ((a[i] & m) != (b[i] & m))
            return 0;
    }
    return 1;
}

int pg__noproxy_match(const char *list, const char *host)
{
    size_t hl = strlen(host);

    while (list && *list) {
        const char *end;
        size_t len;

        while (*list == ',' || *list == ' ' || *list == '\t')
            list++;
        end = list + strcspn(list, ", \t");
        len = (size_t)(end - list);
        if (len == 1 && *list == '*')
            return 1;
        if (len > 0 && *list == '.') {
            list++;
            len--;
        }
        if (len > 0 && (addr_match(list, len, host) ||
                         (hl == len && !strncasecmp(host, list, len)) ||
                         (hl > len && host[hl - len - 1] == '.' &&
                          !strncasecmp(host + hl - len, list, len))))
            return 1;
        list = end;
    }
    return 0;
}

const char *pg__proxy_for(const char *http, const char *https,
                          const char *no_proxy, const char *url)
{
    const char *p = !strncasecmp(url, "https:", 6) ? https : http;
    char host[512];

    if (!p)
        return NULL;
    if (no_proxy && pg__proxy_host(url, host, sizeof(host)) == 0 &&
        pg__noproxy_match(no_proxy, host))
        return NULL;
    return p;
}

int pg__proxy_check(const char *proxy)
{
    static const char *const schemes[] = { "http://", "https://",
                                           "socks4://", "socks4a://",
                                           "socks5://", "socks5h://" };
    size_t i;

    if (!*proxy)
        return -1;
    if (!strstr(proxy, "://"))
        return 0;
    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (!strncasecmp(proxy, schemes[i], strlen(schemes[i])))
            return 0;
    }
    return -1;
}
