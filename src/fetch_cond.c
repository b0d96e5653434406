/*
 * fetch_cond.c - the worker's part of --update (see update.h for the
 * main thread's): the validators a transfer sends (If-None-Match,
 * If-Modified-Since) and those its response carries (ETag,
 * Last-Modified), and a 304's outcome: unchanged, with a page's links
 * read from its saved copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch.h"
#include "mem.h"
#include "spool.h"

/* Keep one validator of a response header (value: n bytes). */
static void keep(char **dst, const char *value, size_t n)
{
    char *v = pg__validator_dupn(value, n);

    pg_free(*dst);
    *dst = v;   /* an unusable value is dropped: none */
}

void pg__cond_on_header(struct pg__xfer *x, const char *data, size_t n)
{
    if (n > 5 && !strncmp(data, "HTTP/", 5)) {
        /* A new response begins (a redirect hop, a 100): its own. */
        PG_FREE(x->etag);
        PG_FREE(x->last_modified);
    } else if (n > 5 && !strncasecmp(data, "ETag:", 5)) {
        keep(&x->etag, data + 5, n - 5);
    } else if (n > 14 && !strncasecmp(data, "Last-Modified:", 14)) {
        keep(&x->last_modified, data + 14, n - 14);
    }
}

/* Append "name: value" to *l; -1 when out of memory. */
static int add_header(struct curl_slist **l, const char *name,
                      const char *value)
{
    char line[PG_VALIDATOR_MAX + 32];
    struct curl_slist *n;

    snprintf(line, sizeof(line), "%s: %s", name, value);
    n = curl_slist_append(*l, line);
    if (!n)
        return -1;
    *l = n;
    return 0;
}

/* The validators alone (base NULL), or base's lines and them. */
static struct curl_slist *cond_list(const struct curl_slist *base,
                                    const struct pg__item *it)
{
    struct curl_slist *l = NULL;

    for (; base; base = base->next) {
        struct curl_slist *n = curl_slist_append(l, base->data);

        if (!n)
            goto fail;
        l = n;
    }
    if ((it->cond_etag && add_header(&l, "If-None-Match", it->cond_etag)) ||
        (it->cond_lm && add_header(&l, "If-Modified-Since", it->cond_lm)))
        goto fail;
    return l;
fail:
    curl_slist_free_all(l);
    return NULL;
}

void pg__cond_begin(struct pg__xfer *x, struct pg__item *it)
{
    const struct pg__fetch_config *c = x->f->cfg;

    pg__cond_release(x);
    if (!(it->flags & PG_ITEM_COND) || (!it->cond_etag && !it->cond_lm))
        return;
    x->cond_own = cond_list(c->headers, it);
    x->cond_other = cond_list(NULL, it);
    x->cond_sent = x->cond_own && x->cond_other;
    if (!x->cond_sent) {
        /* Out of memory: the request goes without them (a full fetch,
         * and a 304 to it is no "unchanged"). */
        curl_slist_free_all(x->cond_own);
        curl_slist_free_all(x->cond_other);
        x->cond_own = x->cond_other = NULL;
    }
}

struct curl_slist *pg__cond_headers(struct pg__xfer *x, int mine)
{
    const struct pg__fetch_config *c = x->f->cfg;

    /* The validators go to every hop (a redirect's target is what they
     * were recorded for); the --header lines only to the item's origin. */
    if (mine)
        return x->cond_own ? x->cond_own : c->headers;
    return x->cond_other;
}

void pg__cond_release(struct pg__xfer *x)
{
    curl_slist_free_all(x->cond_own);
    curl_slist_free_all(x->cond_other);
    x->cond_own = x->cond_other = NULL;
    x->cond_sent = 0;
    PG_FREE(x->etag);
    PG_FREE(x->last_modified);
}

/*
 * Open relpath (relative to dirfd) for reading, never through a
 * symlink; -1 (errno) if it is not a regular file.
 */
static int open_beneath(int dirfd, const char *relpath)
{
    const char *leaf;
    int dir = pg__spool_parent(dirfd, relpath, &leaf), fd;
    struct stat st;

    if (dir < 0)
        return -1;
    fd = openat(dir, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (dir != dirfd)
        close(dir);
    if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* A 304's page or stylesheet: its links, from the saved copy. */
static void parse_saved(struct pg__xfer *x, struct pg__item *it)
{
    const struct pg__fetch_config *c = x->f->cfg;
    int spool = x->fd, fd = open_beneath(c->outdir_fd, it->cond_path);
    struct stat st;
    ssize_t got;

    if (fd < 0 || fstat(fd, &st) < 0) {
        pg__log(c->log, PG_LOG_WARN, "%s: unchanged, but its saved copy "
                "'%s' cannot be read: its links are not followed", it->url,
                it->cond_path);
        if (fd >= 0)
            close(fd);
        return;
    }
    got = pread(fd, x->sniff, sizeof(x->sniff), 0);
    x->sniff_len = got > 0 ? (size_t)got : 0;
    x->fd = fd;
    it->res.bytes = (uint64_t)st.st_size;
    pg__fetch_parse(x, it);
    it->res.bytes = 0;     /* no body was transferred */
    x->fd = spool;
    close(fd);
}

void pg__cond_end(struct pg__xfer *x, struct pg__item *it)
{
    const struct pg__fetch_config *c = x->f->cfg;

    it->res.etag = x->etag;
    it->res.last_modified = x->last_modified;
    x->etag = x->last_modified = NULL;
    if (!(it->flags & PG_ITEM_COND) || !x->cond_sent ||
        it->res.http_code != 304 || it->res.status != PG_ST_HTTP_ERROR)
        return;
    it->res.status = PG_ST_UNCHANGED;
    it->res.error = NULL;
    it->error[0] = '\0';
    if (!it->res.content_type && it->cond_ctype)
        it->res.content_type = pg__strdup(it->cond_ctype);
    if (c->extract && it->cond_path &&
        (it->flags & (PG_ITEM_PARSE | PG_ITEM_CSS)))
        parse_saved(x, it);
}
