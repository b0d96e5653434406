/*
 * proxy.h - which proxy a URL goes through (--proxy, --no-proxy and the
 * environment, with libcurl's rules), and the private-address rule for
 * the target behind a proxy.
 *
 * pagegrab decides the proxy of every hop itself and hands libcurl the
 * answer (CURLOPT_PROXY, "" for none; CURLOPT_NOPROXY ""), so that it
 * knows whether a connection goes to the proxy or to the target.  The
 * rules are libcurl's: --proxy URL for every URL, else http_proxy (only
 * lower case, as libcurl) for http and https_proxy or HTTPS_PROXY for
 * https, else all_proxy or ALL_PROXY; no proxy for a host --no-proxy
 * (else no_proxy or NO_PROXY) names: "*" for all, a comma-separated list
 * of names (matching the name and its subdomains, a leading dot
 * ignored) and IP addresses (with /bits: a CIDR range).
 *
 * Behind a proxy a transfer connects only to the proxy, so the address
 * checks of fetch_opts.c would see the proxy's: the target host is
 * resolved here and its own addresses checked instead, before the
 * request, every hop (pg__proxy_target_ok() in fetch.h).  A host that
 * does not resolve here counts as private.
 */
#ifndef PG_PROXY_H
#define PG_PROXY_H

#include <stddef.h>

/* The proxy for url (http or https proxy by its scheme, NULL: none,
 * no_proxy: the list, or NULL), or NULL to go direct. */
const char *pg__proxy_for(const char *http, const char *https,
                          const char *no_proxy, const char *url);

/* The host of url (brackets removed) in buf; -1 if none fits. */
int pg__proxy_host(const char *url, char *buf, size_t len);

/* 1 if host (no brackets) is in the no-proxy list. */
int pg__noproxy_match(const char *list, const char *host);

/* 0 if proxy is a URL libcurl takes as a proxy (http, https, socks4,
 * socks4a, socks5, socks5h, or no scheme: http), else -1. */
int pg__proxy_check(const char *proxy);

#endif
