/*
 * progress.c - the progress bar on a terminal, log lines, the summary.
 *
 * Every message is formatted into a stack buffer and written with one
 * write(2), so lines from worker threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "../src/util.h" /* pg__now, pg__write_all */

/* Redraw at most this often (seconds). */
#define REDRAW 0.2

/* Set by the main thread, read by log lines from worker threads. */
static atomic_int bar_drawn;

static void write_all(const char *s, size_t n)
{
    int saved = errno;
    enum pg_code rc = pg__write_all(STDERR_FILENO, s, n);

    (void)rc; /* a failed write to stderr has nowhere to be reported */
    errno = saved;
}

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
    char line[1200];
    int n = 0, m;

    if (atomic_load(&bar_drawn))
        n = snprintf(line, sizeof(line), "\r\033[K");
    m = snprintf(line + n, sizeof(line) - (size_t)n, "pagegrab: %s",
                 prefix);
    n += m;
    m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    n += m;
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    write_all(line, (size_t)n);
}

void pg_cli_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmessage("", fmt, ap);
    va_end(ap);
}

static void message(const char *prefix, const char *fmt, ...)
    PG_PRINTF(2, 3);

static void message(const char *prefix, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vmessage(prefix, fmt, ap);
    va_end(ap);
}

void pg_cli_log(enum pg_log_level level, const char *msg, void *userdata)
{
    static const char *const prefix[] = { "error: ", "", "", "debug: " };

    message(prefix[level <= PG_LOG_DEBUG ? level : 0], "%s", msg);
}

static void human_bytes(double b, char *out, size_t len)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int i = 0;

    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    snprintf(out, len, i ? "%.1f %s" : "%.0f %s", b, unit[i]);
}

void pg_cli_progress(const struct pg_stats *st, void *userdata)
{
    static double last;
    struct pg_cli *cli = userdata;
    char line[256], bytes[32], rate[32], eta[32] = "";
    double t = pg__now(), el = st->elapsed_s > 0 ? st->elapsed_s : 1e-9;
    int n;

    if (!cli->progress || t - last < REDRAW)
        return;
    last = t;
    human_bytes((double)st->bytes / el, rate, sizeof(rate));
    human_bytes((double)st->bytes, bytes, sizeof(bytes));
    if (st->total && st->done > 0 && st->done < st->total) {
        double left = el * (double)(st->total - st->done) / (double)st->done;

        snprintf(eta, sizeof(eta), "  ETA %d:%02d", (int)left / 60,
                 (int)left % 60);
    }
    if (st->total) {
        int pct = (int)(100 * st->done / st->total), fill = pct / 5, i;
        char bar[21];

        for (i = 0; i < 20; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[20] = '\0';
        n = snprintf(line, sizeof(line), "\r[%s] %3d%%  %llu/%llu", bar,
                     pct, (unsigned long long)st->done,
                     (unsigned long long)st->total);
    } else {
        n = snprintf(line, sizeof(line), "\r%llu done",
                     (unsigned long long)st->done);
    }
    n += snprintf(line + n, sizeof(line) - (size_t)n,
                  "  %llu failed  %s  %.0f/s  %s/s%s\033[K",
                  (unsigned long long)st->failed, bytes,
                  (double)st->done / el, rate, eta);
    write_all(line, (size_t)n);
    atomic_store(&bar_drawn, 1);
}

void pg_cli_progress_end(struct pg_cli *cli)
{
    if (atomic_exchange(&bar_drawn, 0))
        write_all("\r\033[K", 4);
}

void pg_cli_summary(const struct pg_cli *cli, const struct pg_stats *st)
{
    char bytes[32], rate[32], per[48] = "", shard[48] = "", other[64] = "";
    char classes[160];
    double el = st->elapsed_s > 0 ? st->elapsed_s : 1e-9;

    if (cli->quiet)
        return;
    if (cli->o.per_worker > 1 && st->window_peak > 0)
        snprintf(per, sizeof(per), " x %u transfers, window %u",
                 cli->o.per_worker, st->window_peak);
    else if (cli->o.per_worker > 1)
        snprintf(per, sizeof(per), " x %u transfers", cli->o.per_worker);
    human_bytes((double)st->bytes, bytes, sizeof(bytes));
    human_bytes((double)st->bytes / el, rate, sizeof(rate));
    if (cli->o.shard_n)
        snprintf(shard, sizeof(shard), "shard %u/%u: ", cli->o.shard_k,
                 cli->o.shard_n);
    if (st->other_shard)
        snprintf(other, sizeof(other), "; %llu pages of other shards",
                 (unsigned long long)st->other_shard);
    if (cli->o.update)
        snprintf(classes, sizeof(classes), "%llu changed, %llu unchanged, "
                 "%llu gone, %llu new, %llu failed",
                 (unsigned long long)st->upd_changed,
                 (unsigned long long)st->upd_unchanged,
                 (unsigned long long)st->upd_gone,
                 (unsigned long long)st->upd_new,
                 (unsigned long long)st->failed);
    else
        snprintf(classes, sizeof(classes), "%llu ok, %llu failed",
                 (unsigned long long)st->ok, (unsigned long long)st->failed);
    message("", "%s%llu URLs: %s; %s in %.2f s "
            "(%.1f files/s, %s/s, %s mode, %u worker%s%s)%s", shard,
            (unsigned long long)st->done, classes, bytes, st->elapsed_s,
            (double)st->done / el, rate,
            cli->o.mode == PG_MODE_PROCESS ? "process" : "thread",
            cli->o.workers, cli->o.workers == 1 ? "" : "s", per, other);
    if (cli->o.exec_cmd)
        message("", "--exec: %llu hook(s) ended, %llu failed",
                (unsigned long long)st->exec_done,
                (unsigned long long)st->exec_failed);
}
