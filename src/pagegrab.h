/*
 * pagegrab.h - the one public header of libpagegrab.
 *
 * libpagegrab downloads a list of URLs with a pool of workers (pthreads or
 * pre-forked processes) and hands every finished transfer to a result
 * callback that runs in the calling thread (the "main" side), which
 * decides where the body is saved.
 *
 * Lifecycle:
 *
 *     pg_global_init();                  once, while single-threaded
 *     struct pg_options o;
 *     pg_options_init(&o);               defaults; then fill in fields
 *     struct pg_job *job = pg_job_new(&o);
 *     enum pg_code rc = pg_job_run(job); blocks until every URL is done
 *     pg_job_free(job);
 *     pg_global_cleanup();               after every job is freed
 *
 * Conventions:
 *  - Fallible functions return enum pg_code (PG_OK is 0); more detail is
 *    in pg_job_errmsg().  The library never prints and never exits; it
 *    logs only through pg_options.log_cb.
 *  - Inputs are borrowed.  pg_options and everything it points to must
 *    stay valid and unchanged until pg_job_free().
 *  - Data handed to a callback is valid only during the call.
 *  - Callbacks run in the thread that called pg_job_run(), except
 *    log_cb, which may also run in worker threads (thread mode): it must
 *    be thread-safe.
 *
 * Process mode forks the caller (mode = PG_MODE_PROCESS):
 *  - pg_job_run() fork()s `workers` worker processes from the calling
 *    process, at its start and again to replace a worker that died;
 *    they are gone when it returns.  Thread mode starts pthreads instead.
 *    Besides, in both modes, exec_cmd hooks are started with
 *    posix_spawn() and reaped by their pids before pg_job_run()
 *    returns.
 *  - Before each fork the library flushes stdio (fflush(NULL)) and
 *    blocks every signal; the parent's mask is restored right after.
 *  - A child runs only library code (fetch and extract, talking to the
 *    parent over a socketpair) and leaves with _exit(): it never returns
 *    into the embedder's code, never runs atexit handlers and never
 *    calls a callback.  Its log lines and results go to the parent,
 *    where the callbacks run.
 *  - The child is a copy of the caller at the time of the fork: its
 *    memory and its open descriptors (those not close-on-exec stay open
 *    in the child until it exits; open yours with O_CLOEXEC), but only
 *    the calling thread.  Other threads of the embedder do not exist in
 *    the child, and a lock one of them held stays locked there; the
 *    library's child code takes none of the embedder's locks.
 *    pthread_atfork() handlers registered by the embedder or by another
 *    library do run around each fork.
 *  - In the child, SIGINT, SIGHUP and SIGPIPE are ignored and the other
 *    common signals get the library's or the default handlers: the
 *    embedder's handlers never run in a worker.  On Linux a worker gets
 *    SIGTERM when the parent dies.
 *  - The parent reaps each worker (and hook) by its pid.  Setting
 *    SIGCHLD to SIG_IGN, or a SIGCHLD handler that reaps any child
 *    (waitpid(-1, ...)), steals those exits: do not, while a job runs.
 *  - Call pg_global_init() while single-threaded, as always; a
 *    multi-threaded embedder is better served by thread mode.
 */
#ifndef PAGEGRAB_H
#define PAGEGRAB_H

#include <stddef.h>
#include <stdint.h>

/*
 * PG_API marks every function of the public API.  The library is built
 * with -fvisibility=hidden, so in libpagegrab.so only what carries PG_API
 * is exported; internal non-static helpers stay hidden (they are still
 * linkable from libpagegrab.a, which the pagegrab program uses).
 */
#if defined(__GNUC__) && __GNUC__ >= 4
#define PG_API __attribute__((visibility("default")))
#else
#define PG_API
#endif

#ifdef __GNUC__
#define PG_WARN_UNUSED __attribute__((warn_unused_result))
#define PG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PG_WARN_UNUSED
#define PG_PRINTF(f, a)
#endif

#define PG_ERRBUF_SIZE 256

/* Result codes of library calls. */
enum pg_code {
    PG_OK = 0,
    PG_E_NOMEM,       /* out of memory */
    PG_E_INVALID,     /* invalid argument or option value */
    PG_E_URL,         /* malformed URL */
    PG_E_SCHEME,      /* URL scheme other than http or https */
    PG_E_NETWORK,     /* connect, DNS, timeout, truncated transfer */
    PG_E_HTTP,        /* the server answered with a non-2xx status */
    PG_E_REDIRECT,    /* too many redirects or a refused redirect */
    PG_E_LIMIT,       /* a size or length limit was exceeded */
    PG_E_PARSE,       /* malformed data (protocol frame, markup) */
    PG_E_IO,          /* file system error */
    PG_E_EXISTS,      /* the target file exists and was kept */
    PG_E_INTERRUPTED, /* stopped by a signal */
    PG_E_WORKER,      /* a worker process or thread failed */
    PG_E_FATAL        /* the job cannot go on (see pg_job_errmsg) */
};

/* A static, lowercase description of a code; never NULL. */
PG_API const char *pg_strerror(enum pg_code code);

/* The final state of one URL, as recorded in the manifest. */
enum pg_status {
    PG_ST_OK = 0,         /* fetched and saved */
    PG_ST_EXISTS,         /* target file already present and kept */
    PG_ST_HTTP_ERROR,     /* final response not 2xx */
    PG_ST_NETWORK_ERROR,  /* connection, timeout, truncated body */
    PG_ST_REDIRECT_ERROR, /* redirect loop or non-http(s) redirect */
    PG_ST_INVALID_URL,    /* bad input line, never fetched */
    PG_ST_SAVE_ERROR,     /* fetched but could not be saved */
    PG_ST_FILTERED,       /* a discovered link refused by --accept/--reject */
    PG_ST_ROBOTS,         /* a discovered link disallowed by robots.txt */
    PG_ST_LISTED,         /* a discovered image, listed but not fetched */
    PG_ST_TOO_LARGE,      /* body over max_size or headers over 256 KiB */
    PG_ST_SKIPPED,        /* not started: max_pages or quota reached */
    PG_ST_INTERRUPTED,    /* aborted by pg_job_stop() */
    PG_ST_WORKER_CRASH,   /* its fetch killed worker processes; given up */
    PG_ST_TYPE_MISMATCH,  /* an image link answered with HTML */
    PG_ST_BLOCKED,        /* a discovered link to a private address */
    PG_ST_OTHER_SHARD,    /* --shard: a discovered page of another shard,
                             not fetched (a success: not a failure) */
    PG_ST_UNCHANGED,      /* --update: 304 Not Modified, or the same body
                             (SHA-256) as recorded; the file untouched */
    PG_ST_CHANGED,        /* --update: a new body replaced the recorded
                             file (at the recorded path) */
    PG_ST_GONE,           /* --update: a recorded URL answered 404 or 410
                             (the file kept unless delete_gone) */
    PG_ST__COUNT
};

/* The manifest name of a status ("ok", "http-error", ...); never NULL. */
PG_API const char *pg_status_name(enum pg_status st);

/*
 * 1 for the statuses that do not count as failures (ok, exists, filtered,
 * robots, listed, other-shard, unchanged, changed, gone), else 0.
 */
PG_API int pg_status_is_success(enum pg_status st);

/* What a URL is to the job. */
enum pg_kind {
    PG_KIND_FILE = 0, /* a plain download (no extraction asked for) */
    PG_KIND_PAGE,     /* an input page or a followed link: parsed */
    PG_KIND_IMAGE,    /* a link selected by --images / --xpath */
    PG_KIND_CSS       /* a stylesheet of a page (--images): parsed for
                         its images and @imports */
};

/* "file", "page", "image" or "css". */
PG_API const char *pg_kind_name(enum pg_kind kind);

enum pg_mode {
    PG_MODE_THREAD = 0,
    PG_MODE_PROCESS
};

enum pg_log_level {
    PG_LOG_ERROR = 0,
    PG_LOG_WARN,
    PG_LOG_INFO,
    PG_LOG_DEBUG
};

/*
 * Receives one formatted log line (no trailing newline).  Called from the
 * main thread and, in thread mode, from worker threads; in process mode
 * worker lines are forwarded to the parent first.
 */
typedef void (*pg_log_cb)(enum pg_log_level level, const char *msg,
                          void *userdata);

struct pg_job;

/*
 * One URL in its final state, handed to the result callback.  Strings are
 * owned by the library and valid during the callback only.
 */
struct pg_result {
    const char *url;          /* as given in the input (trimmed) */
    uint64_t line;            /* input line, or position among arguments */
    enum pg_status status;
    long http_code;           /* 0 if no response */
    const char *http_version; /* of the final response: "1.0", "1.1",
                                 "2" or "3" (static); NULL if none */
    uint64_t bytes;           /* body bytes received */
    const char *content_type; /* may be NULL */
    const char *final_url;    /* after redirects; may be NULL */
    unsigned attempts;        /* transfers tried (0 for invalid URLs) */
    double time_ms;           /* whole transfer time */
    const char *error;        /* NULL when status is ok/exists */
    const char *path;         /* saved path relative to the output
                                 directory, set by pg_result_save() */
    const char *tmp_name;     /* the spooled body, relative to the output
                                 directory, while status is PG_ST_OK and
                                 the body is not yet saved; else NULL */
    enum pg_kind kind;
    unsigned depth;           /* 0 for input URLs */
    const char *referrer;     /* the page a link was found on, or NULL */
    unsigned links;           /* links extracted from this page */
    int links_truncated;      /* 1: a limit cut this page's links (too
                                 many links, bytes or nodes, or an XPath
                                 limit); a warning was logged */
    const char *hash;         /* SHA-256 of the body (hex), or NULL;
                                 computed with a manifest, dedup or
                                 hash_bodies */
    const char *duplicate_of; /* --dedup: the copy this body equals */
    struct pg_job *job;       /* the job this result belongs to */
    /* --exec (exec_cmd): set after the result callback, for the
     * manifest.  PG_EXEC_PENDING in the record written when the file is
     * saved, PG_EXEC_DONE in the one written when its hook ended. */
    enum pg_exec_state {
        PG_EXEC_NONE = 0,     /* no hook for this result */
        PG_EXEC_PENDING,      /* its hook has not ended yet */
        PG_EXEC_DONE          /* exec_status and exec_ms are set */
    } exec_state;
    int exec_status;          /* the hook's exit code, 128 + N when
                                 signal N killed it */
    double exec_ms;           /* the hook's run time */
    /* Validators of the final response (printable ASCII, at most
     * PG_VALIDATOR_MAX bytes, else NULL); for an unchanged URL whose 304
     * carried none, the recorded ones.  Recorded in the manifest for
     * update. */
    const char *etag;
    const char *last_modified;
    int update_new;           /* update: the manifest did not record this
                                 URL as saved (a success counts as new) */
};

/* The longest ETag or Last-Modified value kept. */
#define PG_VALIDATOR_MAX 256

/*
 * Called in the main thread for every URL in its final state, before its
 * manifest record is written.  When res->tmp_name is set (status
 * PG_ST_OK and the body is to be kept), it may save the body with
 * pg_result_save(); if it does not, the spooled body is deleted after it
 * returns.  It may downgrade the status with pg_result_fail().  Pages
 * that are parsed but not kept (images_only, list_only) come with
 * tmp_name NULL.
 *
 * Return PG_OK to go on.  Any other code stops the job: no new transfers
 * start, and pg_job_run() returns PG_E_FATAL.
 */
typedef enum pg_code (*pg_result_cb)(struct pg_result *res, void *userdata);

/* Job progress, for the progress callback and pg_job_stats(). */
struct pg_stats {
    uint64_t total;     /* URLs in the input, 0 while unknown */
    uint64_t done;      /* URLs in their final state */
    uint64_t ok;        /* ok + exists */
    uint64_t failed;
    uint64_t bytes;     /* body bytes received */
    double elapsed_s;   /* since pg_job_run() started */

    /* Measurements (for `pagegrab compare` and reports). */
    uint64_t transfers;  /* transfers that ran (retries included) */
    double startup_ms;   /* starting the workers (threads or forks) */
    double lat_p50_ms;   /* transfer time percentiles over every */
    double lat_p95_ms;   /* transfer that got a response; 0 if none */
    double lat_p99_ms;   /* (about 2% resolution) */
    uint64_t workers_peak_rss_kb; /* process mode: the sum of each worker
                                     process's own peak RSS, including
                                     replaced ones; final once
                                     pg_job_run() returned; 0 in thread
                                     mode */
    unsigned window_peak; /* with a window (pg_options.window): the most
                             transfers at once a worker's window grew to
                             (its start if it never grew); 0 without */
    uint64_t other_shard; /* --shard: discovered pages recorded
                             other-shard (not in done, ok or failed) */
    uint64_t exec_done;  /* --exec hooks that ended (0..255 or killed) */
    uint64_t exec_failed;/* of those, the ones that did not exit 0 */
    /* update: URLs by class (failed is above). */
    uint64_t upd_changed, upd_unchanged, upd_gone, upd_new;
};

/* Called in the main thread after every finished URL. */
typedef void (*pg_progress_cb)(const struct pg_stats *st, void *userdata);

/* The most transfers a job runs at once (workers x per_worker). */
#define PG_MAX_TRANSFERS 16384u

/* pg_options.depth: 1 level with follow expressions, else none. */
#define PG_DEPTH_DEFAULT (~0u)

/* What decides a URL's shard (pg_options.shard_key). */
enum pg_shard_key {
    PG_SHARD_KEY_DEFAULT = 0, /* host when following pages (n_follow and
                                 depth >= 1), else url */
    PG_SHARD_KEY_URL,         /* the URL as the manifest records it */
    PG_SHARD_KEY_HOST         /* the URL's host, lower-case, no port */
};

struct pg_options {
    enum pg_mode mode;          /* default PG_MODE_THREAD */
    unsigned workers;           /* worker threads or processes, 1..1024;
                                   0 (the default): pg_options_tune() */
    unsigned per_worker;        /* transfers each worker runs at once with
                                   the libcurl multi interface, 1..1024;
                                   1 is a blocking worker; 0 (the
                                   default): pg_options_tune();
                                   workers x per_worker <= PG_MAX_TRANSFERS */
    unsigned window;            /* with per_worker > 1: transfers each
                                   worker starts with, doubled toward
                                   per_worker while the worker waits on
                                   the network; 0 or >= per_worker (the
                                   default): per_worker from the start.
                                   pg_options_tune() sets it when it
                                   chooses per_worker */

    const char *const *urls;    /* URLs given directly, fetched first */
    size_t n_urls;
    const char *input_path;     /* file of URLs, "-" for stdin, or NULL */

    const char *output_dir;     /* default "." */
    const char *manifest_path;  /* JSON Lines results, or NULL */

    long connect_timeout_ms;    /* default 10000 */
    long timeout_ms;            /* whole transfer, 0 = none (default) */
    long stall_s;               /* < min_rate bytes/s for this long,
                                   0 = off; default 30 */
    long min_rate;              /* bytes/s; default 1 */
    long max_redirs;            /* default 10 */
    const char *user_agent;     /* default "pagegrab/VERSION" */
    const char *const *headers; /* "Name: value" lines, sent only to
                                   the origins of the input URLs */
    size_t n_headers;
    const char *load_cookies;   /* cookies.txt (Netscape format) to start
                                   the job's cookie jar with, or NULL */
    const char *save_cookies;   /* write the jar there at the end (atomic,
                                   mode 0600), or NULL.  Cookies that
                                   responses set reach every later request
                                   of the job in both modes */
    const char *proxy;          /* proxy URL for every URL (http, https,
                                   socks4, socks4a, socks5, socks5h), or
                                   NULL: http_proxy / https_proxy /
                                   all_proxy as libcurl reads them */
    const char *no_proxy;       /* hosts to reach directly (a,b,...; "*":
                                   all), or NULL: no_proxy / NO_PROXY */
    int no_referer;             /* send no Referer (default: a discovered
                                   link is requested with the page it was
                                   found on as Referer; inputs send none) */
    const char *ca_certificate; /* PEM file of CA certificates to trust
                                   for HTTPS.  With a libcurl that has a
                                   CA directory (Debian, Ubuntu:
                                   /etc/ssl/certs) they are added to the
                                   system store; without one they replace
                                   it.  pg_job_run() fails with
                                   PG_E_INVALID if it is unreadable or
                                   holds no certificate.  NULL: the
                                   system store */
    int no_check_certificate;   /* HTTPS without any certificate or host
                                   name check; logged once as a warning */

    /* Extraction and crawling.  Any of images / xpaths / follow turns
     * input URLs into pages: HTML responses are parsed in the worker. */
    int images;                 /* the default image expressions */
    const char *const *xpaths;  /* image expressions (XPath) */
    size_t n_xpaths;
    int srcset_all;             /* every srcset candidate, not the largest */
    const char *const *follow;  /* page-link expressions (XPath) */
    size_t n_follow;
    unsigned depth;             /* levels of follow links; 0 = inputs only;
                                   PG_DEPTH_DEFAULT (the default): 1 with
                                   follow expressions, else 0 */
    int span_hosts;             /* follow pages on any host */
    const char *const *domains; /* also follow pages on these domains */
    size_t n_domains;
    const char *const *accept;  /* pcre2: an image URL must match one */
    size_t n_accept;
    const char *const *reject;  /* pcre2: images and pages matching one
                                   are not fetched */
    size_t n_reject;
    int images_only;            /* parse pages but do not keep them */
    int list_only;              /* discovered images are listed, not
                                   fetched (status PG_ST_LISTED) */
    int no_robots;              /* ignore robots.txt */
    unsigned per_host;          /* transfers at once per host, 0 = any */
    long wait_ms;               /* between request starts per host */
    int random_wait;            /* vary the wait 0.5x..1.5x */
    int dedup;                  /* store identical bodies once */
    int hash_bodies;            /* SHA-256 every body even without a
                                   manifest or dedup (e.g. for {hash}) */

    /* Fault tolerance. */
    unsigned retries;           /* retries of transient failures; 3 */
    long retry_delay_ms;        /* base back-off, doubled per attempt;
                                   1000 */
    long max_retry_wait_ms;     /* cap, also on Retry-After; 60000 */
    uint64_t max_size;          /* body bytes (decoded), 0 = no limit */
    uint64_t max_pages;         /* pages fetched, 0 = no limit */
    uint64_t quota;             /* body bytes for the job, 0 = none */
    uint64_t queue_memory;      /* queued URLs held in memory (bytes)
                                   before they spill to a file in
                                   output_dir; 0 = never; 64 MiB */
    long grace_ms;              /* after pg_job_stop(soft); 10000 */
    int resume;                 /* skip URLs ok in manifest_path, and
                                   append to it */
    int sync;                   /* fsync each body before it is kept,
                                   and the manifest after each record */
    int allow_private;          /* discovered links may reach private,
                                   loopback and link-local addresses, and
                                   a public URL may redirect to one */

    /* Static sharding: the run takes only shard shard_k of shard_n (see
     * pg_shard_of()).  Input URLs of other shards are neither fetched
     * nor recorded; a followed page of another shard is recorded
     * PG_ST_OTHER_SHARD and not fetched.  Images found on a page are
     * fetched by the page's shard. */
    unsigned shard_k;           /* 0 <= shard_k < shard_n */
    unsigned shard_n;           /* 0 (the default): no sharding */
    enum pg_shard_key shard_key;
    const char *divert_path;    /* also append the URLs recorded
                                   other-shard to this file, one a line
                                   (truncated at start unless resume);
                                   needs shard_n */
    /* One crawl shared by many instances (see "Running on many
     * machines" in README.md). */
    const char *frontier;       /* "redis://HOST[:PORT][/DB]": the queue,
                                   seen set, per-host politeness and
                                   counters live in Redis; NULL = in
                                   memory (the default) */
    const char *job_name;       /* the shared job's name, required with
                                   frontier: 1-64 of A-Z a-z 0-9 . _ - */
    unsigned lease_s;           /* a claimed URL's lease, renewed while it
                                   runs; 1..86400, default 60 */
    const char *job_shape;      /* more crawl-shaping options of the
                                   embedder (e.g. naming rules), text
                                   that must be equal in every instance */
    /* Hooks (exec.c).  For each saved file (status PG_ST_OK with a path)
     * the main thread runs /bin/sh -c exec_cmd sh PATH: PATH ("$1") is
     * output_dir as given joined with the saved name ("./NAME" when
     * output_dir is "."; never starting with '-'), and PAGEGRAB_URL,
     * PAGEGRAB_PATH, PAGEGRAB_STATUS, PAGEGRAB_CONTENT_TYPE,
     * PAGEGRAB_HASH and PAGEGRAB_REFERRER are in its environment (unset
     * when absent).  Nothing from the network is put into the command
     * text.  Hooks run in their own process group, stdin /dev/null, with
     * no descriptor of the job open, at most exec_jobs at once, without
     * blocking the job; the result's record is written when its hook
     * ends (exec_status, exec_ms).  After pg_job_stop() hooks get
     * SIGTERM, then SIGKILL after grace_ms; resume runs again the hooks
     * that did not end.  The job reaps each hook by its pid. */
    const char *exec_cmd;       /* NULL: no hooks (also run for a
                                   PG_ST_CHANGED file, never for an
                                   unchanged one) */
    unsigned exec_jobs;         /* hooks at once, 0..1024; 0 (the
                                   default): the number of online CPUs */
    int exec_quiet;             /* hooks' stdout and stderr: /dev/null */

    /* Conditional refresh (update.c; needs manifest_path, not with
     * frontier).  The manifest's last record of each URL is read first;
     * a URL recorded as saved (ok, changed or unchanged) is requested
     * with If-None-Match / If-Modified-Since from its recorded etag and
     * last_modified (when its recorded file is there): 304 gives
     * PG_ST_UNCHANGED (file untouched; a page's links are read from the
     * saved copy), a 2xx body with the recorded SHA-256 too, another
     * body PG_ST_CHANGED (the library saves it over the recorded path
     * before the result callback, which gets tmp_name NULL), 404/410
     * PG_ST_GONE.  Pages that are parsed but not kept (images_only,
     * list_only) are fetched without validators and compared by hash.
     * Other URLs are fetched as usual (update_new).  The manifest is
     * appended to and, when the run ends (not interrupted), compacted
     * to one record per URL (pg_manifest_compact). */
    int update;
    int delete_gone;            /* update: remove a gone URL's recorded
                                   file (a regular file inside
                                   output_dir, never through a
                                   symlink) */
    const char *proxy_ca_certificate; /* PEM file of CA certificates to
                                   trust for an https:// proxy, as
                                   ca_certificate is for servers (checked
                                   the same way).  NULL: the system store.
                                   no_check_certificate skips the proxy's
                                   check too */

    pg_result_cb result_cb;
    void *result_userdata;
    pg_log_cb log_cb;           /* NULL: no logging */
    void *log_userdata;
    enum pg_log_level log_level;/* default PG_LOG_INFO */
    pg_progress_cb progress_cb;
    void *progress_userdata;
};

/* The library version string, e.g. "0.1.0". */
PG_API const char *pg_version(void);

/* The versions of the libraries in use, e.g. "libcurl/7.88.1 ...". */
PG_API const char *pg_version_details(void);

/*
 * Initialise libcurl and libxml2.  Call once from the main thread before
 * any other thread or process is started.
 */
PG_API enum pg_code pg_global_init(void) PG_WARN_UNUSED;

/* Undo pg_global_init(); call after every job is freed. */
PG_API void pg_global_cleanup(void);

/* Fill *o with the defaults. */
PG_API void pg_options_init(struct pg_options *o);

/*
 * Choose workers and per_worker where they are 0 (pg_job_new() does it
 * on its copy; call it to learn the values a job will use).  Both 0:
 * workers = the CPUs this process may run on (sched_getaffinity), twice
 * that when pages are parsed (images, xpaths or follow), at most 32;
 * per_worker = 256 / workers (about 256 transfers at once in all; 128 /
 * workers when pages are parsed), cut so that one process's transfers
 * fit the soft RLIMIT_NOFILE at 3 descriptors each plus 64 (raise it
 * first to get more; the library never changes it).
 * workers given alone: per_worker = 1 (that many blocking workers).
 * per_worker given alone: workers as above.  Values already set are
 * kept.  When it chooses per_worker it also sets window (if 0): 16
 * transfers per CPU in all, split over the workers (at least 4 each):
 * a near server is fastest with that many, and a distant one grows
 * the window to per_worker within a few milliseconds.
 */
PG_API void pg_options_tune(struct pg_options *o);

/*
 * A new job for *o; NULL on out of memory.  The job copies *o with its
 * strings and lists (urls, headers, xpaths, ...): the caller may free or
 * change them at once.  What stays borrowed until pg_job_free() is only
 * what the callbacks' userdata pointers point at.  The values are
 * checked by pg_job_run(), which fails with PG_E_INVALID and a message.
 */
PG_API struct pg_job *pg_job_new(const struct pg_options *o);

/*
 * Run the job to completion.  Returns PG_OK when every URL ended, whatever
 * their statuses (see pg_job_stats()); PG_E_INVALID when an input cannot
 * be opened; PG_E_INTERRUPTED after pg_job_stop(); PG_E_FATAL/PG_E_NOMEM
 * when the job could not go on (the output directory became unusable).
 * The message is in pg_job_errmsg().  Call it once per job.
 */
PG_API enum pg_code pg_job_run(struct pg_job *job) PG_WARN_UNUSED;

/*
 * Ask a running job to stop.  The first call (now = 0) starts no new
 * transfer and gives running ones grace_ms to finish; a call with now = 1
 * aborts them (recorded PG_ST_INTERRUPTED).  pg_job_run() then returns
 * PG_E_INTERRUPTED.  Async-signal-safe: it may be called from a signal
 * handler, and from any thread.
 */
PG_API void pg_job_stop(struct pg_job *job, int now);

/* Detail of the last error, "" if none; valid until pg_job_free(). */
PG_API const char *pg_job_errmsg(const struct pg_job *job);

/* Copy the current statistics into *st. */
PG_API void pg_job_stats(const struct pg_job *job, struct pg_stats *st);

/* Free the job; NULL is a no-op. */
PG_API void pg_job_free(struct pg_job *job);

/* Flags for pg_name_from_url(). */
enum pg_name_flags {
    PG_NAME_FLAT = 1 << 0 /* last path segment only, no HOST/ dirs */
};

/*
 * Derive a safe relative file name from an http(s) URL:
 * "HOST[:PORT]/dir/file" (or "file" with PG_NAME_FLAT), "index.html" for
 * a path ending in '/'.  Segments are percent-decoded and sanitised: no
 * "." or ".." components, no '/', NUL or control characters inside a
 * component, components at most 200 bytes (the extension kept) plus the
 * 17-byte hash tag below.  When the URL has a query or a component had
 * to be altered, "-" and 16 hex digits (the 64-bit hash of the URL) are
 * put before the extension, so different URLs keep different names.  A
 * name never begins with the temp-file prefix ".pagegrab-".
 *
 * On success *out is a new string the caller frees with pg_free().
 * Returns PG_E_URL/PG_E_SCHEME for an unusable URL, PG_E_NOMEM.
 */
PG_API enum pg_code pg_name_from_url(const char *url, unsigned flags,
                              char **out) PG_WARN_UNUSED;

/*
 * Naming rules (--name 'REGEX=TEMPLATE'): the first rule whose pcre2
 * REGEX matches the normalised URL gives the name; TEMPLATE may use $1-$9,
 * ${N}, ${name}, {host}, {path}, {basename}, {ext} and {hash} (the first
 * 16 hex digits of the body's SHA-256).  The result is sanitised like
 * pg_name_from_url().  A namer is immutable once built.
 */
struct pg_namer;

/*
 * Compile rules ("REGEX=TEMPLATE", split at the last '=').  On error
 * returns NULL and writes why, naming the rule, into err (errlen bytes);
 * "out of memory" included.  flags: enum pg_name_flags, for URLs that no
 * rule matches.
 */
PG_API struct pg_namer *pg_namer_new(const char *const *rules, size_t n,
                              unsigned flags, char *err, size_t errlen);

/*
 * The name for url (hash: the body's SHA-256 hex or NULL).  On success
 * *out is a new string freed with pg_free().  Errors as
 * pg_name_from_url(), plus PG_E_INVALID when a template yields no usable
 * name.
 */
PG_API enum pg_code pg_namer_name(const struct pg_namer *nm, const char *url,
                           const char *hash, char **out) PG_WARN_UNUSED;

PG_API void pg_namer_free(struct pg_namer *nm);

/*
 * Check a pcre2 pattern or an XPath expression before a job starts (the
 * job checks again).  PG_E_INVALID with the reason in err.
 */
PG_API enum pg_code pg_check_regex(const char *pattern, char *err, size_t errlen)
    PG_WARN_UNUSED;
PG_API enum pg_code pg_check_xpath(const char *expr, char *err, size_t errlen)
    PG_WARN_UNUSED;

/*
 * Sharding.  The shard of a key (a URL or a host, see enum
 * pg_shard_key) is pg_shard_hash(key) % n, where pg_shard_hash is the
 * 64-bit FNV-1a hash of the key's bytes (offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3) passed through the
 * MurmurHash3 64-bit finaliser (h ^= h >> 33; h *= 0xff51afd7ed558ccd;
 * h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53; h ^= h >> 33).  It never
 * changes between versions or machines.
 */
PG_API uint64_t pg_shard_hash(const void *key, size_t len);

/* pg_shard_hash(key) % n; n >= 1. */
PG_API unsigned pg_shard_of(const void *key, size_t len, unsigned n);

/*
 * Parse "K/N" (decimal, 0 <= K < N, N <= 1000000).  PG_E_INVALID with
 * the reason in err.
 */
PG_API enum pg_code pg_shard_parse(const char *spec, unsigned *k,
                                   unsigned *n, char *err, size_t errlen)
    PG_WARN_UNUSED;

/*
 * K and N from the environment (get: getenv, or a stand-in; NULL means
 * getenv): a Slurm job array (SLURM_ARRAY_TASK_ID, _MIN, _STEP (1 when
 * unset), _COUNT: K = (ID - MIN) / STEP, N = COUNT), or a Kubernetes
 * Indexed Job (JOB_COMPLETION_INDEX = K, N = shards).  shards: 0 when
 * not given; with Slurm it must equal COUNT.  PG_E_INVALID with the
 * reason in err when neither is there, both are, or a value is bad.
 */
PG_API enum pg_code pg_shard_from_env(const char *(*get)(const char *name),
                                      unsigned shards, unsigned *k,
                                      unsigned *n, char *err, size_t errlen)
    PG_WARN_UNUSED;

/*
 * Rewrite the JSON Lines manifest at path with only the last record of
 * each URL (in the order of those last records; lines that are not
 * complete records are dropped), atomically: a temporary file in the
 * same directory, fsync, rename, fsync of the directory.  *kept and
 * *dropped (may be NULL) count the records.  PG_E_IO / PG_E_NOMEM with
 * the reason, naming the file, in err.  Not while a job writes it.
 */
PG_API enum pg_code pg_manifest_compact(const char *path, uint64_t *kept,
                                        uint64_t *dropped, char *err,
                                        size_t errlen) PG_WARN_UNUSED;

/* Flags for pg_result_save(). */
enum pg_save_flags {
    PG_SAVE_OVERWRITE = 1 << 0 /* replace an existing file */
};

/*
 * From a result callback: move the spooled body to relname (relative to
 * the output directory, '/'-separated), creating directories as needed.
 * Every component is created relative to a directory fd with O_NOFOLLOW:
 * a symlink or a file in the way is never followed or replaced; the
 * name is varied instead ("name.d" for a directory, "name.N.ext" for a
 * file).  The final name appears atomically, complete.
 *
 * An existing file is kept (status becomes PG_ST_EXISTS, path set to it)
 * unless PG_SAVE_OVERWRITE, or unless this job saved it for a different
 * URL, in which case a new name is chosen deterministically.
 *
 * Returns PG_OK (saved or exists; res->path set), PG_E_INVALID for an
 * unsafe relname, PG_E_IO (res->status becomes PG_ST_SAVE_ERROR with the
 * reason in res->error), PG_E_NOMEM.
 */
PG_API enum pg_code pg_result_save(struct pg_result *res, const char *relname,
                            unsigned flags) PG_WARN_UNUSED;

/* From a result callback: mark the result failed with a message. */
PG_API void pg_result_fail(struct pg_result *res, enum pg_status st,
                    const char *fmt, ...) PG_PRINTF(3, 4);

/* ---- A crawl shared through Redis (pg_options.frontier) ---------------- */

struct pg_fleet_instance {
    const char *id;             /* "HOST-PID-XXXX" */
    double idle_s;              /* since it last spoke to Redis */
    uint64_t ok, failed;        /* URLs it recorded */
    uint64_t leased;            /* URLs it holds now */
};

struct pg_fleet_host {
    const char *origin;         /* "scheme://host:port" */
    uint64_t queued;
};

struct pg_fleet_status {
    int exists;                 /* the job was ever started */
    uint64_t queued, leased, ok, failed, dead, reclaimed, seen;
    int seeded;                 /* an instance read all its input */
    uint64_t seeders;           /* instances still reading their input */
    int stopped;                /* pg_fleet_stop() was called */
    struct pg_fleet_instance *instances;
    size_t n_instances;
    struct pg_fleet_host *hosts; /* the origins with queued URLs (up to
                                    100, most queued first) */
    size_t n_hosts;
};

/*
 * Read the state of job `job` at frontier "redis://HOST[:PORT][/DB]".
 * *out is freed with pg_fleet_status_free().  PG_E_INVALID (bad URL or
 * name) or PG_E_NETWORK (Redis unreachable: one try), with err set.
 */
PG_API enum pg_code pg_fleet_status(const char *frontier, const char *job,
                                    struct pg_fleet_status **out, char *err,
                                    size_t errlen) PG_WARN_UNUSED;
PG_API void pg_fleet_status_free(struct pg_fleet_status *st);

/*
 * stop = 1: every instance of the job stops claiming, finishes (and
 * records) what it holds and exits; instances that start later are
 * refused.  stop = 0: let the job run again.  Errors as
 * pg_fleet_status().
 */
PG_API enum pg_code pg_fleet_stop(const char *frontier, const char *job,
                                  int stop, char *err, size_t errlen)
    PG_WARN_UNUSED;

/*
 * Allocation used by the library; pg_free(NULL) is a no-op.
 */
PG_API void *pg_malloc(size_t n);
PG_API void pg_free(void *p);

#endif /* PAGEGRAB_H */
