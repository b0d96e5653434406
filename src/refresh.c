/*
 * refresh.c - --update in the main thread (declared in job.h): the old
 * manifest read into the update map (update.h), the validators an item
 * is handed to the pool with, the class of each result (unchanged,
 * changed, gone, new), --delete-gone, the run's marker in the manifest
 * and its compaction at the end.  The worker's part is fetch_cond.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "job.h"
#include "mem.h"
#include "spool.h"
#include "update.h"
#include "url.h"
#include "util.h"

enum { E_URL = PG_UPD_URL, E_PATH = PG_UPD_PATH, E_HASH = PG_UPD_HASH,
       E_ETAG = PG_UPD_ETAG, E_LM = PG_UPD_LM, E_CTYPE = PG_UPD_CTYPE,
       E_COUNT = PG_UPD_NF };

#define entry pg__upd_entry

static int is_hex64(const char *s)
{
    size_t i;

    for (i = 0; s && i < 64; i++) {
        if (pg__hexval(s[i]) < 0)
            return 0;
    }
    return s && s[64] == '\0';
}

/* A recorded validator as it may be sent back: printable, bounded. */
static const char *validator_or_null(const char *s)
{
    size_t i;

    for (i = 0; s && s[i]; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ||
            i >= PG_VALIDATOR_MAX)
            return NULL;
    }
    return s && s[0] ? s : NULL;
}

/*
 * A record's class: saved (ok, changed, unchanged, or a failure of an
 * update run that kept the copy from before: path and hash), gone, or
 * anything else.
 */
static char class_of(const struct pg__manifest_rec *rec, const char *path,
                     const char *hash)
{
    const char *st = rec->status;

    if (!strcmp(st, "ok") || !strcmp(st, "changed") ||
        !strcmp(st, "unchanged"))
        return 'S';
    if (!strcmp(st, "gone"))
        return 'G';
    if (path && hash && strcmp(st, "exists") && strcmp(st, "filtered") &&
        strcmp(st, "robots") && strcmp(st, "listed") &&
        strcmp(st, "other-shard"))
        return 'S';
    return 'O';
}

/*
 * The name of a saved file stays its URL's (as pg_result_save() knows
 * the URL: normalised), so no other URL of this run is given it.  *mine
 * is set when the name is this URL's: the first record to name a file
 * owns it, and a later record of another URL naming it too (a manifest
 * edited by hand, a --dedup copy recorded where its first copy is) must
 * not make it its own: no 304 keeps it, no --delete-gone removes it.
 */
static enum pg_code claim_name(struct pg_job *job, const char *url,
                               const char *path, int *mine)
{
    char err[PG_ERRBUF_SIZE];
    struct pg__url u;
    enum pg_code rc;

    *mine = 0;
    rc = pg__url_parse(&u, url, strlen(url), err, sizeof(err));
    if (rc)
        return rc == PG_E_NOMEM ? rc : PG_OK;
    rc = pg__names_claim(&job->save.names, &job->save.names_urls,
                         job->save.outdir_fd, path, u.url);
    if (!rc) {
        int owner = pg__names_owner(&job->save.names,
                                    &job->save.names_urls, path, u.url);

        if (owner < 0)
            rc = PG_E_IO;
        *mine = owner == 1;
    }
    pg__url_release(&u);
    return rc;
}

static enum pg_code load_record(const struct pg__manifest_rec *rec, void *ud)
{
    struct pg_job *job = ud;
    struct pg__update *u = &job->upd;
    const char *path = rec->path && !pg__spool_check_name(rec->path) ?
                       rec->path : NULL;
    const char *hash = is_hex64(rec->hash) ? rec->hash : NULL;
    const char *f[E_COUNT] = {
        rec->url, path, hash, validator_or_null(rec->etag),
        validator_or_null(rec->last_modified), rec->content_type
    };
    enum pg_code rc;
    int mine;

    if (path) {
        rc = claim_name(job, rec->url, path, &mine);
        if (rc)
            return rc;
        if (!mine)
            f[E_PATH] = path = NULL;   /* another URL's file */
    }
    if (f[E_CTYPE] && strlen(f[E_CTYPE]) > 200)
        f[E_CTYPE] = NULL;
    return pg__update_add(u, class_of(rec, path, hash), f);
}

/* The line of the last update-run marker (0: none). */
static int find_mark(struct pg__update *u, const char *path)
{
    FILE *f = fopen(path, "re");
    size_t cap = 0, k = strlen(PG_MANIFEST_UPDATE_MARK);
    char *line = NULL;
    uint64_t n = 0;

    if (!f)
        return errno == ENOENT ? 0 : -1;
    while (getline(&line, &cap, f) > 0) {
        n++;
        if (!strncmp(line, PG_MANIFEST_UPDATE_MARK, k))
            u->mark_line = n;
    }
    u->mark_lines = n;
    free(line);
    n = ferror(f);
    fclose(f);
    return n ? -1 : 0;
}

enum pg_code pg__update_setup(struct pg_job *job)
{
    const struct pg_options *o = job->o;
    char errtxt[128];
    enum pg_code rc;

    if (o->delete_gone && !o->update) {
        pg__job_set_err(job, "--delete-gone needs --update");
        return PG_E_INVALID;
    }
    if (!o->update)
        return PG_OK;
    if (!o->manifest_path) {
        pg__job_set_err(job, "--update needs --manifest FILE (the results "
                        "of the earlier run, kept up to date)");
        return PG_E_INVALID;
    }
    if (o->frontier) {
        pg__job_set_err(job, "--update cannot be used with --frontier '%s' "
                        "(each instance keeps its own manifest)",
                        o->frontier);
        return PG_E_INVALID;
    }
    rc = find_mark(&job->upd, o->manifest_path) ? PG_E_IO : PG_OK;
    if (!rc)
        rc = pg__manifest_read(o->manifest_path, load_record, job);
    if (rc) {
        pg__job_set_err(job, "cannot read manifest '%s' to update: %s",
                        o->manifest_path, rc == PG_E_IO ?
                        pg__errstr(errno, errtxt, sizeof(errtxt)) :
                        pg_strerror(rc));
        return rc == PG_E_NOMEM ? PG_E_NOMEM : PG_E_FATAL;
    }
    pg__log(&job->log, PG_LOG_INFO, "--update: %zu record(s) read from '%s'",
            job->upd.n, o->manifest_path);
    return PG_OK;
}

enum pg_code pg__update_start(struct pg_job *job)
{
    char errtxt[128];

    /* --resume goes on with a marked run; else this run begins. */
    if (!job->o->update || (job->o->resume && job->upd.mark_line))
        return PG_OK;
    if (pg__manifest_write_marker(&job->man)) {
        pg__job_set_err(job, "cannot write manifest '%s': %s",
                        job->o->manifest_path,
                        pg__errstr(errno, errtxt, sizeof(errtxt)));
        return PG_E_FATAL;
    }
    return PG_OK;
}

int pg__update_before_mark(const struct pg_job *job, uint64_t lineno)
{
    return job->o->update &&
           (job->upd.mark_line == 0 || lineno < job->upd.mark_line);
}

/* ---- one URL ---------------------------------------------------------- */

/* Whether path (in the output directory) is a regular file. */
static int saved_file_there(struct pg_job *job, const char *path)
{
    const char *leaf;
    int dir = pg__dircache_parent(&job->save.dirs, job->save.outdir_fd,
                                  path, &leaf);
    struct stat st;
    int ok;

    if (dir < 0)
        return 0;
    ok = fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode);
    pg__dircache_end(&job->save.dirs);   /* (dir is the cache's) */
    return ok;
}

void pg__update_attach(struct pg_job *job, struct pg__item *it)
{
    struct entry e;

    if (!job->o->update || (it->flags & (PG_ITEM_ROBOTS | PG_ITEM_COND)) ||
        !pg__update_find(&job->upd, it->res.url, &e) || e.cls != 'S' ||
        !e.f[E_PATH] || (!e.f[E_ETAG] && !e.f[E_LM]))
        return;
    /* A 304 means "keep your copy": only asked for when there is one. */
    if (!saved_file_there(job, e.f[E_PATH]))
        return;
    it->cond_etag = e.f[E_ETAG] ? pg__strdup(e.f[E_ETAG]) : NULL;
    it->cond_lm = e.f[E_LM] ? pg__strdup(e.f[E_LM]) : NULL;
    it->cond_path = pg__strdup(e.f[E_PATH]);
    it->cond_ctype = e.f[E_CTYPE] ? pg__strdup(e.f[E_CTYPE]) : NULL;
    if ((e.f[E_ETAG] && !it->cond_etag) || (e.f[E_LM] && !it->cond_lm) ||
        !it->cond_path || (e.f[E_CTYPE] && !it->cond_ctype)) {
        pg__item_cond_clear(it);   /* out of memory: a full fetch */
        return;
    }
    it->flags |= PG_ITEM_COND;
}

/* Set in the result what it lacks of the recorded copy. */
static void fill_recorded(struct pg__item *it, const struct entry *e)
{
    struct pg_result *r = &it->res;

    if (!r->path && e->f[E_PATH])
        r->path = pg__strdup(e->f[E_PATH]);
    if (e->f[E_HASH])
        snprintf(it->hash, sizeof(it->hash), "%s", e->f[E_HASH]);
    if (!r->etag && e->f[E_ETAG])
        r->etag = pg__strdup(e->f[E_ETAG]);
    if (!r->last_modified && e->f[E_LM])
        r->last_modified = pg__strdup(e->f[E_LM]);
    if (!r->content_type && e->f[E_CTYPE])
        r->content_type = pg__strdup(e->f[E_CTYPE]);
}

/* The SHA-256 (hex) of the open file fd into hex[65]; -1 on error. */
static int hash_file(int fd, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[64 * 1024], d[EVP_MAX_MD_SIZE];
    unsigned n = 0, i;
    ssize_t got;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;

    while (ok && (got = read(fd, buf, sizeof(buf))) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        ok = got > 0 && EVP_DigestUpdate(md, buf, (size_t)got) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(md, d, &n) == 1 && n == 32;
    EVP_MD_CTX_free(md);
    for (i = 0; ok && i < n; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[ok ? 64 : 0] = '\0';
    return ok ? 0 : -1;
}

/*
 * --delete-gone: remove the recorded file, only when it is a regular
 * file inside the output directory (never reached through a symlink)
 * whose content is still the recorded one.  1 if removed.
 */
static int delete_gone(struct pg_job *job, struct pg__item *it,
                       const struct entry *e)
{
    const char *path = e->f[E_PATH], *leaf, *why = NULL;
    int root = job->save.outdir_fd, dir, fd = -1;
    char hex[65], errtxt[128];
    struct stat st;

    dir = pg__dircache_parent(&job->save.dirs, root, path, &leaf);
    if (dir >= 0)
        fd = openat(dir, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
                    O_CLOEXEC);
    if (fd < 0)
        why = errno == ENOENT ? NULL : pg__errstr(errno, errtxt,
                                                  sizeof(errtxt));
    else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (!e->f[E_HASH] || hash_file(fd, hex) ||
             strcmp(hex, e->f[E_HASH]))
        why = "its content is not the recorded one";
    else if (unlinkat(dir, leaf, 0) < 0)
        why = pg__errstr(errno, errtxt, sizeof(errtxt));
    if (fd >= 0)
        close(fd);
    pg__dircache_end(&job->save.dirs);   /* (dir is the cache's) */
    if (why)
        pg__log(&job->log, PG_LOG_WARN, "%s: gone, but '%s' is kept "
                "(--delete-gone): %s", it->res.url, path, why);
    return fd >= 0 && !why;
}

/* A 2xx body of a saved URL: the same as recorded, or a new one. */
static void settle_body(struct pg_job *job, struct pg__item *it,
                        const struct entry *e)
{
    const char *path = e->f[E_PATH];
    int kept = pg__job_keeps_body(job, it);
    enum pg_code rc;

    if (!path && kept && it->res.tmp_name) {
        /* No file of its own is recorded (none, or an unusable path):
         * the body is saved as a new URL's is. */
        it->res.update_new = 1;
        return;
    }
    if (e->f[E_HASH] && !strcmp(it->hash, e->f[E_HASH]) &&
        (!path || !kept || saved_file_there(job, path))) {
        it->res.status = PG_ST_UNCHANGED;   /* the body goes (unkept) */
        fill_recorded(it, e);
        return;
    }
    if (!path || !kept || !it->res.tmp_name) {
        it->res.status = PG_ST_CHANGED;     /* no file kept for it */
        return;
    }
    /* Over the recorded file, atomically (a rename). */
    it->res.job = job;
    it->flags |= PG_ITEM_IN_CALLBACK;
    rc = pg_result_save(&it->res, path, PG_SAVE_OVERWRITE);
    it->flags &= ~(unsigned)PG_ITEM_IN_CALLBACK;
    if (rc == PG_E_NOMEM)
        pg__job_fail(job, PG_E_NOMEM);
    if (it->res.status == PG_ST_OK)
        it->res.status = PG_ST_CHANGED;
    else
        fill_recorded(it, e);  /* the old copy is still there */
}

void pg__update_settle(struct pg_job *job, struct pg__item *it)
{
    struct pg_result *r = &it->res;
    int gone = r->status == PG_ST_HTTP_ERROR &&
               (r->http_code == 404 || r->http_code == 410);
    struct entry e;

    if (!job->o->update || (it->flags & PG_ITEM_ROBOTS))
        return;
    if (!pg__update_find(&job->upd, r->url, &e) || e.cls == 'O' ||
        (e.cls == 'G' && !gone)) {
        r->update_new = 1;
        return;
    }
    if (gone) {
        r->status = PG_ST_GONE;
        it->error[0] = '\0';
        r->error = NULL;
        if (e.cls == 'S' && e.f[E_PATH] && job->o->delete_gone &&
            delete_gone(job, it, &e))
            e.f[E_PATH] = NULL;
        fill_recorded(it, &e);
        return;
    }
    if (r->status == PG_ST_UNCHANGED)
        fill_recorded(it, &e);
    else if (r->status == PG_ST_OK)
        settle_body(job, it, &e);
    else if (!pg_status_is_success(r->status))
        fill_recorded(it, &e);  /* failed: the copy from before stays */
}

void pg__update_count(struct pg_job *job, const struct pg__item *it)
{
    const struct pg_result *r = &it->res;

    if (!job->o->update)
        return;
    if (r->status == PG_ST_UNCHANGED)
        job->stats.upd_unchanged++;
    else if (r->status == PG_ST_CHANGED)
        job->stats.upd_changed++;
    else if (r->status == PG_ST_GONE)
        job->stats.upd_gone++;
    else if ((r->status == PG_ST_OK || r->status == PG_ST_EXISTS) &&
             r->update_new)
        job->stats.upd_new++;
}

void pg__update_end(struct pg_job *job)
{
    char err[PG_ERRBUF_SIZE];
    uint64_t kept = 0, dropped = 0;

    if (!job->o->update || job->interrupted || job->fatal)
        return;
    if (pg_manifest_compact(job->o->manifest_path, &kept, &dropped, err,
                            sizeof(err))) {
        pg__log(&job->log, PG_LOG_ERROR, "%s", err);
        return;
    }
    pg__log(&job->log, PG_LOG_INFO, "manifest '%s' compacted: %llu "
            "record(s) kept, %llu line(s) dropped", job->o->manifest_path,
            (unsigned long long)kept, (unsigned long long)dropped);
}
