/*
 * peers.c - `pagegrab compare --peers`: which other downloaders run on
 * the same job, with what command, and what they are checked against.
 *
 * A batch job (a URL list) is also run by `curl -Z --parallel-max C`,
 * `wget2 --max-threads=C` and `aria2c -j C`, C being the job's transfers
 * at once (-j x -K).  They get the URLs pagegrab fetches: the same
 * reader (src/input.c: blank lines and '#' comments skipped, white space
 * trimmed) and the same normaliser (src/url.c: what pagegrab requests),
 * invalid lines left out and each URL once.  The URLs go into a file the
 * peer reads (a curl config with quoted strings, a wget2 list, an aria2c
 * list with an out= name per URL); no URL is ever put on a command line
 * or seen by a shell.  curl and aria2c save under numbered names, wget2
 * under its own.
 *
 * A crawl (--images, --xpath, --follow) is compared with `wget2 -r`
 * only where wget2 can express it: --images --images-only, no XPath rule
 * but the every-anchor one (//a/@href), no PCRE2 filter, the input
 * hosts.  Otherwise each peer's row says why it cannot run, and the
 * report says that no peer can express the job.
 *
 * A peer is looked up in PATH; one that is missing is skipped, and said
 * so.  Every run of every row is checked against the first pagegrab run
 * that completed: the number of regular files left in its directory and
 * their bytes (peer_run.c counts them).
 *
 * Not here: running a peer (peer_run.c), the report (report.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compare.h"
/* The peers must fetch what the job fetches: the job's own list reader
 * and URL normaliser (the one use of these headers in cmd/). */
#include "../src/input.h"
#include "../src/url.h"

#define MAX_ARGS 48
#define IMAGE_EXTS "jpg,jpeg,png,gif,webp,avif,svg,bmp,ico,tif,tiff"

/* A growing vector of owned strings. */
struct strvec {
    char **v;
    size_t n, cap;
};

static int vec_add(struct strvec *s, char *str)
{
    if (!str)
        return -1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        char **v = realloc(s->v, cap * sizeof(*v));

        if (!v) {
            free(str);
            return -1;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = str;
    return 0;
}

static void vec_release(struct strvec *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ */
/* PATH                                                                */
/* ------------------------------------------------------------------ */

/* The executable `name` as PATH finds it (heap), or NULL. */
static char *find_in_path(const char *name)
{
    const char *path = getenv("PATH"), *p;
    size_t nlen = strlen(name);

    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path;; p++) {
        size_t dlen = strcspn(p, ":");
        char *full = malloc(dlen + nlen + 3);
        struct stat st;

        if (!full)
            return NULL;
        if (dlen == 0)
            snprintf(full, dlen + nlen + 3, "./%s", name);
        else
            snprintf(full, dlen + nlen + 3, "%.*s/%s", (int)dlen, p, name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
            access(full, X_OK) == 0)
            return full;
        free(full);
        p += dlen;
        if (!*p)
            return NULL;
    }
}

/* ------------------------------------------------------------------ */
/* The URL list                                                        */
/* ------------------------------------------------------------------ */

/* Add line (len bytes) normalised, unless it is not a valid URL. */
static int add_url(struct strvec *urls, const char *line, size_t len)
{
    char err[PG_ERRBUF_SIZE];
    struct pg__url u;
    enum pg_code rc = pg__url_parse(&u, line, len, err, sizeof(err));
    int r;

    if (rc == PG_E_NOMEM)
        return -1;
    if (rc != PG_OK)
        return 0; /* pagegrab records it as invalid and saves nothing */
    r = vec_add(urls, strdup(u.url));
    pg__url_release(&u);
    return r;
}

static int cmp_url_ptr(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    int r = strcmp(*x, *y);

    return r ? r : (*x < *y ? -1 : *x > *y);
}

/* Drop the second and later copies of each URL, keeping the order. */
static int dedup_urls(struct strvec *urls)
{
    char **sorted;
    size_t i, w = 0;

    if (urls->n < 2)
        return 0;
    sorted = malloc(urls->n * sizeof(*sorted));
    if (!sorted)
        return -1;
    memcpy(sorted, urls->v, urls->n * sizeof(*sorted));
    /* Equal strings sort by address: the first copy comes first. */
    qsort(sorted, urls->n, sizeof(*sorted), cmp_url_ptr);
    for (i = 1; i < urls->n; i++) {
        if (!strcmp(sorted[i], sorted[i - 1]))
            sorted[i][0] = '\0'; /* a later copy: marked */
    }
    free(sorted);
    for (i = 0; i < urls->n; i++) {
        if (urls->v[i][0])
            urls->v[w++] = urls->v[i];
        else
            free(urls->v[i]);
    }
    urls->n = w;
    return 0;
}

/* The job's URLs: the arguments, then the list file. 0 or -1 (message
 * printed). */
static int collect_urls(const struct compare *c, struct strvec *urls)
{
    struct pg__input *in;
    const char *line;
    uint64_t lineno;
    size_t i, len;
    char err[128];
    enum pg_code rc;

    for (i = 0; i < c->cli.urls.n; i++) {
        const char *u = c->cli.urls.v[i];

        if (add_url(urls, u, strlen(u)) != 0)
            goto nomem;
    }
    if (!c->input)
        return dedup_urls(urls) ? (pg_cli_error("out of memory"), -1) : 0;
    in = calloc(1, sizeof(*in));
    if (!in)
        goto nomem;
    if (pg__input_open(in, c->input) != PG_OK) {
        pg_cli_error("cannot read input '%s': %s", c->input,
                     pg__errstr(errno, err, sizeof(err)));
        free(in);
        return -1;
    }
    while ((rc = pg__input_next(in, &line, &len, &lineno)) != PG_E_IO) {
        if (rc == PG_OK && !line)
            break;
        if (rc == PG_OK && add_url(urls, line, len) != 0) {
            pg__input_close(in);
            free(in);
            goto nomem;
        }
    }
    pg__input_close(in);
    free(in);
    if (rc == PG_E_IO) {
        pg_cli_error("cannot read input '%s': %s", c->input,
                     pg__errstr(errno, err, sizeof(err)));
        return -1;
    }
    if (dedup_urls(urls) == 0)
        return 0;
nomem:
    pg_cli_error("out of memory");
    return -1;
}

/* ------------------------------------------------------------------ */
/* The peers' input files                                              */
/* ------------------------------------------------------------------ */

enum list_kind {
    LIST_PLAIN,  /* wget2 -i: one URL a line */
    LIST_CURL,   /* curl -K: url = "..." and output = "NNNNNNN" */
    LIST_ARIA2   /* aria2c -i: the URL, then " out=NNNNNNN" */
};

/* A curl config string: quoted, with \ and " escaped (the URLs are
 * normalised, so they hold no control byte or space). */
static void curl_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Write the URLs for a peer into a new file in the base directory; its
 * path in p->list.  0, or -1 with a message. */
static int write_list(struct compare *c, struct peer *p,
                      const struct strvec *urls, enum list_kind kind)
{
    char name[64], err[128];
    FILE *f;
    size_t i;
    int fd, e = 0;

    snprintf(name, sizeof(name), "pagegrab-compare-%s-list.XXXXXX",
             p->tool);
    p->list = concat3(c->base, "/", name);
    if (!p->list) {
        pg_cli_error("out of memory");
        return -1;
    }
    fd = mkstemp(p->list);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        e = errno;
        if (fd >= 0) {
            close(fd);
        } else {
            free(p->list);
            p->list = NULL;
        }
        pg_cli_error("cannot create a file in '%s': %s", c->base,
                     pg__errstr(e, err, sizeof(err)));
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    for (i = 0; i < urls->n; i++) {
        const char *u = urls->v[i];

        if (kind == LIST_CURL) {
            fputs("url = ", f);
            curl_quoted(f, u);
            fprintf(f, "\noutput = \"%07zu\"\n", i + 1);
        } else if (kind == LIST_ARIA2) {
            fprintf(f, "%s\n out=%07zu\n", u, i + 1);
        } else {
            fprintf(f, "%s\n", u);
        }
    }
    if (fflush(f) != 0 || ferror(f))
        e = errno ? errno : EIO;
    if (fclose(f) != 0 && !e)
        e = errno;
    if (e)
        pg_cli_error("cannot write '%s': %s", p->list,
                     pg__errstr(e, err, sizeof(err)));
    return e ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/* A command in the making: owned strings, the run's directory a slot. */
struct cmd {
    char *v[MAX_ARGS + 1];
    int n, dir_arg, oom;
};

static void arg(struct cmd *k, const char *fmt, ...) PG_PRINTF(2, 3);

static void arg(struct cmd *k, const char *fmt, ...)
{
    char buf[640];
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (k->n >= MAX_ARGS || len < 0 || (size_t)len >= sizeof(buf)) {
        k->oom = 1;
        return;
    }
    k->v[k->n] = strdup(buf);
    if (!k->v[k->n])
        k->oom = 1;
    k->n++;
}

/* The run's directory goes here (filled in by peer_run.c). */
static void dir_slot(struct cmd *k)
{
    k->dir_arg = k->n;
    k->v[k->n++] = NULL;
}

/* Hand the command to the peer; -1 on out of memory (printed). */
static int take_cmd(struct peer *p, struct cmd *k)
{
    int i;

    p->argv = calloc((size_t)k->n + 1, sizeof(*p->argv));
    if (!p->argv || k->oom) {
        for (i = 0; i < k->n; i++)
            free(k->v[i]);
        free(p->argv);
        p->argv = NULL;
        pg_cli_error("out of memory");
        return -1;
    }
    memcpy(p->argv, k->v, (size_t)k->n * sizeof(*p->argv));
    p->argc = k->n;
    p->dir_arg = k->dir_arg;
    return 0;
}

static int build_curl(struct compare *c, struct peer *p)
{
    const struct pg_options *o = &c->cli.o;
    struct cmd k = { .n = 0 };
    size_t i;

    arg(&k, "%s", p->path);
    arg(&k, "-q"); /* first: no ~/.curlrc */
    arg(&k, "--no-progress-meter");
    arg(&k, "--fail");
    arg(&k, "--location");
    arg(&k, "--globoff");
    arg(&k, "--max-redirs");
    arg(&k, "%ld", o->max_redirs);
    arg(&k, "--parallel");
    arg(&k, "--parallel-max");
    arg(&k, "%u", c->peer_c);
    if (o->retries) {
        arg(&k, "--retry");
        arg(&k, "%u", o->retries);
    }
    if (o->no_check_certificate)
        arg(&k, "--insecure");
    for (i = 0; i < o->n_headers; i++) {
        arg(&k, "--header");
        arg(&k, "%s", o->headers[i]);
    }
    arg(&k, "--output-dir");
    dir_slot(&k);
    arg(&k, "--config");
    arg(&k, "%s", p->list);
    p->ok_status[0] = 22; /* --fail: an HTTP error */
    return take_cmd(p, &k);
}

/* wget2's options for a list (recursive: the crawl's). */
static void wget2_common(const struct compare *c, struct cmd *k)
{
    const struct pg_options *o = &c->cli.o;
    size_t i;

    arg(k, "--no-config");
    arg(k, "--quiet");
    arg(k, "--no-hsts");
    arg(k, "--no-hpkp");
    arg(k, "--no-netrc");
    arg(k, "--max-threads=%u", c->peer_c);
    arg(k, "--tries=%u", o->retries + 1);
    arg(k, "--max-redirect=%ld", o->max_redirs);
    if (o->no_check_certificate)
        arg(k, "--no-check-certificate");
    for (i = 0; i < o->n_headers; i++)
        arg(k, "--header=%s", o->headers[i]);
}

static int build_wget2(struct compare *c, struct peer *p, int crawl)
{
    const struct pg_options *o = &c->cli.o;
    struct cmd k = { .n = 0 };

    arg(&k, "%s", p->path);
    wget2_common(c, &k);
    if (crawl) {
        unsigned depth = o->depth != PG_DEPTH_DEFAULT ? o->depth
                         : o->n_follow ? 1 : 0;

        /* Images on a page of depth D are links of level D + 1. */
        arg(&k, "--recursive");
        arg(&k, "--level=%u", depth + 1);
        arg(&k, "--accept=" IMAGE_EXTS);
        if (o->no_robots)
            arg(&k, "--no-robots");
        if (o->wait_ms)
            arg(&k, "--wait=%.3f", (double)o->wait_ms / 1000.0);
        if (o->random_wait)
            arg(&k, "--random-wait");
    }
    arg(&k, "--directory-prefix");
    dir_slot(&k);
    arg(&k, "--input-file");
    arg(&k, "%s", p->list);
    p->ok_status[0] = 8; /* a server error response */
    return take_cmd(p, &k);
}

static int build_aria2c(struct compare *c, struct peer *p)
{
    const struct pg_options *o = &c->cli.o;
    struct cmd k = { .n = 0 };
    size_t i;

    arg(&k, "%s", p->path);
    arg(&k, "--no-conf");
    arg(&k, "--console-log-level=error");
    arg(&k, "--summary-interval=0");
    arg(&k, "--download-result=hide");
    arg(&k, "--show-console-readout=false");
    arg(&k, "--max-concurrent-downloads=%u", c->peer_c);
    arg(&k, "--max-tries=%u", o->retries + 1);
    arg(&k, "--retry-wait=1");
    arg(&k, "--file-allocation=none");
    arg(&k, "--allow-overwrite=true");
    arg(&k, "--auto-file-renaming=false");
    arg(&k, "--follow-torrent=false");
    arg(&k, "--follow-metalink=false");
    if (o->no_check_certificate)
        arg(&k, "--check-certificate=false");
    for (i = 0; i < o->n_headers; i++)
        arg(&k, "--header=%s", o->headers[i]);
    arg(&k, "--dir");
    dir_slot(&k);
    arg(&k, "--input-file");
    arg(&k, "%s", p->list);
    /* Resource not found; a bad or unexpected HTTP response (5xx);
     * authorization failed. */
    p->ok_status[0] = 3;
    p->ok_status[1] = 22;
    p->ok_status[2] = 24;
    return take_cmd(p, &k);
}

/* ------------------------------------------------------------------ */
/* What can run                                                        */
/* ------------------------------------------------------------------ */

/* The job follows links or parses pages. */
static int is_crawl(const struct pg_options *o)
{
    return o->images || o->n_xpaths || o->n_follow;
}

/*
 * Why wget2 -r cannot express this crawl, into why; "" if it can (then
 * p->label and the note tell what is compared).
 */
static void wget2_crawl_why(const struct compare *c, char *why, size_t n)
{
    const struct pg_options *o = &c->cli.o;
    size_t i;

    why[0] = '\0';
    for (i = 0; i < o->n_follow; i++) {
        if (strcmp(o->follow[i], "//a/@href") != 0) {
            snprintf(why, n, "--follow '%.120s' is an XPath rule; wget2 -r "
                     "follows every link (only --follow '//a/@href' is "
                     "compared)", o->follow[i]);
            return;
        }
    }
    if (o->n_xpaths)
        snprintf(why, n, "--xpath '%.120s' selects by XPath; wget2 "
                 "cannot", o->xpaths[0]);
    else if (o->n_accept || o->n_reject)
        snprintf(why, n, "--accept and --reject are PCRE2 rules; wget2 -A "
                 "takes file name suffixes");
    else if (o->span_hosts || o->n_domains)
        snprintf(why, n, "--span-hosts and --domains are not compared");
    else if (o->list_only)
        snprintf(why, n, "--list fetches no image");
    else if (!o->images)
        snprintf(why, n, "a crawl that keeps only pages: wget2 -r keeps "
                 "every file it follows, or files by suffix");
    else if (!o->images_only)
        snprintf(why, n, "--images keeps the pages too, and wget2 -r "
                 "keeps either everything it follows or files by suffix "
                 "(add --images-only to compare with wget2 -r)");
}

/* Options that make pagegrab fetch less than the peers do. */
static void limits_note(struct compare *c)
{
    const struct pg_options *o = &c->cli.o;
    char list[160] = "";
    size_t len;

    if (o->max_pages)
        strncat(list, ", --max-pages", sizeof(list) - strlen(list) - 1);
    if (o->quota)
        strncat(list, ", --quota", sizeof(list) - strlen(list) - 1);
    if (o->max_size)
        strncat(list, ", --max-size", sizeof(list) - strlen(list) - 1);
    if (o->shard_n > 1)
        strncat(list, ", --shard", sizeof(list) - strlen(list) - 1);
    if (o->frontier)
        strncat(list, ", --frontier", sizeof(list) - strlen(list) - 1);
    if (!list[0])
        return;
    len = strlen(c->peer_note);
    snprintf(c->peer_note + len, sizeof(c->peer_note) - len,
             "%sthe peers are not given %s: expect a mismatch",
             len ? "; " : "", list + 2);
}

/* Look each peer up in PATH; a missing one is skipped. */
static int find_peers(struct compare *c)
{
    static const char *const tools[N_PEERS] = { "curl", "wget2",
                                                "aria2c" };
    size_t i;

    for (i = 0; i < N_PEERS; i++) {
        struct peer *p = &c->peer[i];

        p->tool = tools[i];
        snprintf(p->label, sizeof(p->label), "%s", tools[i]);
        p->path = find_in_path(tools[i]);
        if (!p->path)
            snprintf(p->skip, sizeof(p->skip), "not installed (no "
                     "executable '%s' in PATH)", tools[i]);
    }
    return 0;
}

static int prepare_crawl(struct compare *c, const struct strvec *urls)
{
    struct peer *w = &c->peer[PEER_WGET2];
    char why[300];

    snprintf(c->peer[PEER_CURL].skip, sizeof(c->peer[PEER_CURL].skip),
             "fetches a list of URLs; it cannot follow links or find "
             "images in pages");
    snprintf(c->peer[PEER_ARIA2C].skip, sizeof(c->peer[PEER_ARIA2C].skip),
             "fetches a list of URLs; it cannot follow links or find "
             "images in pages");
    wget2_crawl_why(c, why, sizeof(why));
    if (why[0]) {
        snprintf(w->skip, sizeof(w->skip), "cannot express this crawl: "
                 "%s", why);
        snprintf(c->peer_note, sizeof(c->peer_note), "no peer can "
                 "express this job: %s", why);
        return 0;
    }
    snprintf(w->label, sizeof(w->label), "wget2 -r");
    snprintf(c->peer_note, sizeof(c->peer_note), "wget2 -r is the "
             "closest it can do: the input hosts, --level depth+1, images "
             "kept by file name suffix; it follows every link, not only "
             "<a href>, and finds images its own way, so a difference "
             "shows as a mismatch");
    if (w->skip[0])
        return 0;
    if (write_list(c, w, urls, LIST_PLAIN) != 0)
        return -1;
    return build_wget2(c, w, 1);
}

static int prepare_batch(struct compare *c, const struct strvec *urls)
{
    struct peer *p;

    p = &c->peer[PEER_CURL];
    if (!p->skip[0] && (write_list(c, p, urls, LIST_CURL) != 0 ||
                        build_curl(c, p) != 0))
        return -1;
    p = &c->peer[PEER_WGET2];
    if (!p->skip[0] && (write_list(c, p, urls, LIST_PLAIN) != 0 ||
                        build_wget2(c, p, 0) != 0))
        return -1;
    p = &c->peer[PEER_ARIA2C];
    if (!p->skip[0] && (write_list(c, p, urls, LIST_ARIA2) != 0 ||
                        build_aria2c(c, p) != 0))
        return -1;
    if (c->peer[PEER_CURL].skip[0] && c->peer[PEER_WGET2].skip[0] &&
        c->peer[PEER_ARIA2C].skip[0])
        snprintf(c->peer_note, sizeof(c->peer_note), "no peer is "
                 "installed (curl, wget2 and aria2c were looked up in "
                 "PATH)");
    return 0;
}

/*
 * --peers: decide what runs, write the peers' lists and build their
 * commands.  Returns 0 or an exit status.
 */
int peers_prepare(struct compare *c)
{
    struct strvec urls = { NULL, 0, 0 };
    int r;

    if (!c->peers)
        return 0;
    c->peer_c = c->job_w * c->job_k;
    find_peers(c);
    if (collect_urls(c, &urls) != 0)
        return PG_EXIT_FATAL;
    r = is_crawl(&c->cli.o) ? prepare_crawl(c, &urls)
                            : prepare_batch(c, &urls);
    vec_release(&urls);
    if (r != 0)
        return PG_EXIT_FATAL;
    limits_note(c);
    return 0;
}

void peers_release(struct compare *c)
{
    char err[128];
    size_t i;
    int a;
    unsigned r;

    for (i = 0; i < N_PEERS; i++) {
        struct peer *p = &c->peer[i];

        if (p->list && unlink(p->list) != 0 && errno != ENOENT)
            pg_cli_error("cannot remove '%s': %s", p->list,
                         pg__errstr(errno, err, sizeof(err)));
        free(p->list);
        for (a = 0; p->argv && a < p->argc; a++) {
            if (a != p->dir_arg)
                free(p->argv[a]);
        }
        free(p->argv);
        free(p->path);
        for (r = 0; p->runs && r < c->repeat; r++)
            free(p->runs[r].kept_dir);
        free(p->runs);
    }
}

/* ------------------------------------------------------------------ */
/* The check                                                           */
/* ------------------------------------------------------------------ */

int peers_reference(const struct compare *c, uint64_t *files,
                    uint64_t *bytes)
{
    unsigned r;
    size_t i;

    /* The runs in the order they ran. */
    for (r = 0; r < c->repeat; r++) {
        for (i = 0; i < c->n_modes; i++) {
            const struct run *run = c->modes[i].runs
                                        ? &c->modes[i].runs[r] : NULL;

            if (run && run->ok && run->counted) {
                *files = run->files;
                *bytes = run->file_bytes;
                return 1;
            }
        }
    }
    return 0;
}

int peers_matches(const struct compare *c, const struct run *run)
{
    uint64_t files, bytes;

    if (!run->counted || !peers_reference(c, &files, &bytes))
        return -1;
    return run->files == files && run->file_bytes == bytes;
}
