/*
 * report.c - the report of `pagegrab compare`: each mode's (and with
 * --peers each peer's) figures, medians over its runs, as a table or
 * CSV on stdout, and the optional SVG chart.  Reads the run table; runs
 * nothing.  The JSON report and the peers' lines: report_json.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"

const struct column columns[M__COUNT] = {
    [M_PAGES] = { NULL, "pages", 0, 0 },
    [M_BYTES] = { NULL, "bytes", 0, 0 },
    [M_WALL] = { "wall s", "wall_s", 3, 6 },
    [M_PAGES_S] = { "pages/s", "pages_per_s", 1, 3 },
    [M_MIB_S] = { "MiB/s", "mib_per_s", 2, 3 },
    [M_USER] = { "user s", "user_s", 3, 6 },
    [M_SYS] = { "sys s", "sys_s", 3, 6 },
    [M_RSS] = { "RSS MiB", "peak_rss_mib", 1, 3 },
    [M_STARTUP] = { "start ms", "startup_ms", 2, 3 },
    [M_P50] = { "p50 ms", "p50_ms", 2, 3 },
    [M_P95] = { "p95 ms", "p95_ms", 2, 3 },
    [M_P99] = { "p99 ms", "p99_ms", 2, 3 },
    [M_ERRORS] = { "errors", "errors", 0, 0 },
};

/* ------------------------------------------------------------------ */
/* Figures                                                             */
/* ------------------------------------------------------------------ */

/* A peer's figures: its files, not URLs; no start-up, latencies or
 * error count. */
static double peer_metric(const struct run *r, enum metric m)
{
    double wall = r->wall_s > 0 ? r->wall_s : 1e-9;

    switch (m) {
    case M_PAGES:
        return (double)r->files;
    case M_BYTES:
        return (double)r->file_bytes;
    case M_PAGES_S:
        return (double)r->files / wall;
    case M_MIB_S:
        return (double)r->file_bytes / 1048576.0 / wall;
    case M_RSS:
        return (double)r->child_rss_kb / 1024.0;
    case M_WALL:
        return r->wall_s;
    case M_USER:
        return r->user_s;
    case M_SYS:
        return r->sys_s;
    default:
        return NAN;
    }
}

double metric(const struct row *row, const struct run *r,
                     enum metric m)
{
    double wall = r->wall_s > 0 ? r->wall_s : 1e-9;

    if (row->peer)
        return peer_metric(r, m);
    switch (m) {
    case M_PAGES:
        return (double)r->st.done;
    case M_BYTES:
        return (double)r->st.bytes;
    case M_WALL:
        return r->wall_s;
    case M_PAGES_S:
        return (double)r->st.done / wall;
    case M_MIB_S:
        return (double)r->st.bytes / 1048576.0 / wall;
    case M_USER:
        return r->user_s;
    case M_SYS:
        return r->sys_s;
    case M_RSS:
        return (double)(r->child_rss_kb + r->st.workers_peak_rss_kb) /
               1024.0;
    case M_STARTUP:
        return r->st.startup_ms;
    case M_P50:
        return r->st.lat_p50_ms;
    case M_P95:
        return r->st.lat_p95_ms;
    case M_P99:
        return r->st.lat_p99_ms;
    case M_ERRORS:
    case M__COUNT:
        break;
    }
    return (double)r->st.failed;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --peers: the files the runs saved, and the check. */
static void summarize_files(const struct compare *c, const struct row *row,
                            struct summary *s, double *scratch)
{
    size_t n = 0;
    unsigned r;
    int bad = 0, good = 0;

    for (r = 0; r < c->repeat; r++) {
        const struct run *run = &row->runs[r];
        int m = run->ok ? peers_matches(c, run) : -1;

        bad |= m == 0;
        good |= m == 1;
        if (run->ok && run->counted)
            scratch[n++] = (double)run->files;
    }
    s->check = bad ? CHECK_MISMATCH : good ? CHECK_OK : CHECK_NONE;
    if (n)
        s->files = (uint64_t)median(scratch, n);
    for (n = 0, r = 0; r < c->repeat; r++) {
        if (row->runs[r].ok && row->runs[r].counted)
            scratch[n++] = (double)row->runs[r].file_bytes;
    }
    if (n)
        s->file_bytes = (uint64_t)median(scratch, n);
}

/* Medians over the completed runs (the largest error count). */
static void summarize(const struct compare *c, const struct row *row,
                      struct summary *s, double *scratch)
{
    unsigned r;
    int k;

    memset(s, 0, sizeof(*s));
    if (!row->runs)
        return;
    for (k = 0; k < M__COUNT; k++) {
        size_t n = 0;

        for (r = 0; r < c->repeat; r++) {
            if (row->runs[r].ok)
                scratch[n++] = metric(row, &row->runs[r], (enum metric)k);
        }
        s->n_ok = n;
        if (n == 0)
            continue;
        if (isnan(scratch[0])) {
            s->v[k] = NAN;
        } else if (k == M_ERRORS) {
            qsort(scratch, n, sizeof(*scratch), cmp_double);
            s->v[k] = scratch[n - 1];
            s->errors_vary = scratch[0] != scratch[n - 1];
        } else {
            s->v[k] = median(scratch, n);
        }
    }
    if (c->peers)
        summarize_files(c, row, s, scratch);
}

/* The rows: the modes, then (--peers) every peer; their count. */
static size_t make_rows(const struct compare *c, struct row *rows)
{
    size_t n = 0, i;

    for (i = 0; i < c->n_modes; i++)
        rows[n++] = (struct row){ c->modes[i].label, c->modes[i].runs,
                                  &c->modes[i], NULL };
    for (i = 0; c->peers && i < N_PEERS; i++)
        rows[n++] = (struct row){ c->peer[i].label, c->peer[i].runs, NULL,
                                  &c->peer[i] };
    return n;
}

static int summarize_all(const struct compare *c, const struct row *rows,
                         size_t n_rows, struct summary *sums)
{
    double *scratch = calloc(c->repeat, sizeof(*scratch));
    size_t i;

    if (!scratch) {
        pg_cli_error("out of memory");
        return -1;
    }
    for (i = 0; i < n_rows; i++)
        summarize(c, &rows[i], &sums[i], scratch);
    free(scratch);
    return 0;
}

/* Why a row has no figures: "skipped: ..." or the first failure. */
void no_figures(const struct compare *c, const struct row *row,
                       char *buf, size_t size)
{
    unsigned r;

    if (!row->runs) {
        snprintf(buf, size, "skipped: %s", row->peer->skip);
        return;
    }
    for (r = 0; r < c->repeat; r++) {
        if (!row->runs[r].ok && row->runs[r].why[0]) {
            snprintf(buf, size, "%s: %s", row->peer ? "failed" : "no run "
                     "completed", row->runs[r].why);
            return;
        }
    }
    snprintf(buf, size, "no run completed");
}

/* ------------------------------------------------------------------ */
/* Table                                                               */
/* ------------------------------------------------------------------ */

#define TABLE_COLS (M__COUNT + 3) /* label, figures, files, check */
#define CELL 32

/* The cells of one row; *vary when its error count varied. */
static void table_row(const struct compare *c, const struct summary *s,
                      char (*cells)[CELL])
{
    int k;

    for (k = 0; k < M__COUNT && s->n_ok; k++) {
        if (!columns[k].head)
            continue;
        if (isnan(s->v[k]))
            snprintf(cells[k + 1], CELL, "-");
        else
            snprintf(cells[k + 1], CELL, "%.*f%s", columns[k].prec,
                     s->v[k], k == M_ERRORS && s->errors_vary ? "*" : "");
    }
    if (c->peers && s->n_ok) {
        snprintf(cells[M__COUNT + 1], CELL, "%llu",
                 (unsigned long long)s->files);
        snprintf(cells[M__COUNT + 2], CELL, "%s",
                 s->check == CHECK_OK ? "ok"
                 : s->check == CHECK_MISMATCH ? "MISMATCH" : "-");
    }
}

/*
 * "-j 8" when every mode runs the same workers; else (no -j given: the
 * classic K=1 pools run 64 workers, the multi modes the chosen default)
 * "-j 64 for K=1, -j 2 for K>1", or "-j per mode" if that does not say it.
 */
static void jobs_text(const struct compare *c, char *buf, size_t n)
{
    unsigned w1 = 0, wm = 0;
    int mixed = 0;
    size_t i;

    for (i = 0; i < c->n_modes; i++) {
        const struct mode *m = &c->modes[i];
        unsigned *w = m->k == 1 ? &w1 : &wm;

        if (*w && *w != m->workers)
            mixed = 1;
        *w = m->workers;
    }
    if (mixed)
        snprintf(buf, n, "-j per mode");
    else if (w1 && wm && w1 != wm)
        snprintf(buf, n, "-j %u for K=1, -j %u for K>1", w1, wm);
    else
        snprintf(buf, n, "-j %u", w1 ? w1 : wm);
}

static void print_table(const struct compare *c, const struct row *rows,
                        size_t n_rows, const struct summary *sums,
                        FILE *out)
{
    char (*cells)[TABLE_COLS][CELL];
    char jobs[48];
    size_t width[TABLE_COLS] = { 0 };
    size_t n_cells = n_rows + 1, i, r;
    int k, any_vary = 0, cols = c->peers ? TABLE_COLS : M__COUNT + 1;

    cells = calloc(n_cells, sizeof(*cells));
    if (!cells) {
        pg_cli_error("out of memory");
        return;
    }
    snprintf(cells[0][0], CELL, "mode");
    for (k = 0; k < M__COUNT; k++) {
        if (columns[k].head)
            snprintf(cells[0][k + 1], CELL, "%s", columns[k].head);
    }
    snprintf(cells[0][M__COUNT + 1], CELL, "files");
    snprintf(cells[0][M__COUNT + 2], CELL, "check");
    for (i = 0; i < n_rows; i++) {
        snprintf(cells[i + 1][0], CELL, "%s", rows[i].label);
        table_row(c, &sums[i], cells[i + 1]);
        any_vary |= sums[i].errors_vary;
    }
    for (r = 0; r < n_cells; r++) {
        for (k = 0; k < cols; k++) {
            size_t len = strlen(cells[r][k]);

            if (len > width[k])
                width[k] = len;
        }
    }

    jobs_text(c, jobs, sizeof(jobs));
    fprintf(out, "pagegrab compare: %llu input URLs, %s, medians of %u "
            "run%s per mode\n", (unsigned long long)c->n_input, jobs,
            c->repeat, c->repeat == 1 ? "" : "s");
    for (r = 0; r < n_cells; r++) {
        fprintf(out, "%-*s", (int)width[0], cells[r][0]);
        if (r > 0 && sums[r - 1].n_ok == 0) {
            char why[600];

            no_figures(c, &rows[r - 1], why, sizeof(why));
            fprintf(out, "  %s\n", why);
            continue;
        }
        for (k = 1; k < cols; k++) {
            if (k > M__COUNT || columns[k - 1].head)
                fprintf(out, "  %*s", (int)width[k], cells[r][k]);
        }
        fputc('\n', out);
    }
    if (any_vary)
        fprintf(out, "* the error count differed between runs; the "
                "largest is shown\n");
    for (i = 0; i < n_rows; i++) {
        if (sums[i].n_ok && sums[i].n_ok < c->repeat)
            fprintf(out, "%s: %u of %u runs failed; medians of the other "
                    "%zu\n", rows[i].label,
                    c->repeat - (unsigned)sums[i].n_ok, c->repeat,
                    sums[i].n_ok);
    }
    if (c->peers)
        print_peers_text(c, out);
    free(cells);
}

/* ------------------------------------------------------------------ */
/* CSV and JSON                                                        */
/* ------------------------------------------------------------------ */

static const char *mode_name(const struct mode *m)
{
    return m->mode == PG_MODE_PROCESS ? "process" : "thread";
}

const char *check_word(const struct row *row, const struct summary *s)
{
    static const char *const words[] = { "", "ok", "mismatch" };

    if (!row->runs)
        return "skipped";
    if (!s->n_ok)
        return "failed";
    return words[s->check];
}

static void print_csv(const struct compare *c, const struct row *rows,
                      size_t n_rows, const struct summary *sums, FILE *out)
{
    size_t i;
    int k;

    fputs("mode,per_worker,runs", out);
    for (k = 0; k < M__COUNT; k++)
        fprintf(out, ",%s", columns[k].key);
    fputs(c->peers ? ",files,file_bytes,check\n" : "\n", out);
    for (i = 0; i < n_rows; i++) {
        const struct summary *s = &sums[i];

        if (rows[i].mode)
            fprintf(out, "%s,%u,%zu", mode_name(rows[i].mode),
                    rows[i].mode->k, s->n_ok);
        else
            fprintf(out, "%s,,%zu", rows[i].label, s->n_ok);
        for (k = 0; k < M__COUNT; k++) {
            fputc(',', out);
            if (s->n_ok && !isnan(s->v[k]))
                fprintf(out, "%.*f", columns[k].raw_prec, s->v[k]);
        }
        if (c->peers && s->n_ok)
            fprintf(out, ",%llu,%llu,%s", (unsigned long long)s->files,
                    (unsigned long long)s->file_bytes, check_word(&rows[i], s));
        else if (c->peers)
            fprintf(out, ",,,%s", check_word(&rows[i], s));
        fputc('\n', out);
    }
}

/* ------------------------------------------------------------------ */
/* SVG                                                                 */
/* ------------------------------------------------------------------ */

#define SVG_W 760
#define SVG_LABEL_X 16
#define SVG_BAR_X 130
#define SVG_BAR_MAX 470
#define SVG_ROW 26
#define SVG_BAR_H 18

static void xml_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

/* The bars: rows, less the peers that did not run. */
struct bars {
    const struct row *rows;
    const struct summary *sums;
    size_t n;
};

static const char *bar_color(const struct row *row)
{
    if (row->peer)
        return "#59a14f";
    return row->mode->mode == PG_MODE_PROCESS ? "#e15759" : "#4e79a7";
}

/* One panel of horizontal bars; returns its height. */
static int svg_panel(FILE *out, const struct bars *b, int top,
                     const char *title, int cpu)
{
    double max = 0;
    size_t i;
    int y = top + 24;

    for (i = 0; i < b->n; i++) {
        const struct summary *s = &b->sums[i];
        double v = cpu ? s->v[M_USER] + s->v[M_SYS] : s->v[M_PAGES_S];

        if (s->n_ok && v > max)
            max = v;
    }
    fprintf(out, "<g class=\"panel\">\n<text x=\"%d\" y=\"%d\" "
            "font-size=\"14\" font-weight=\"bold\">", SVG_LABEL_X, top + 14);
    xml_text(out, title);
    fputs("</text>\n", out);
    for (i = 0; i < b->n; i++) {
        const struct summary *s = &b->sums[i];
        double v = !s->n_ok ? 0 : cpu ? s->v[M_USER] + s->v[M_SYS]
                                      : s->v[M_PAGES_S];
        double w = max > 0 ? v / max * SVG_BAR_MAX : 0;
        char value[48];

        if (!b->rows[i].runs)
            continue;
        if (v > 0 && w < 1)
            w = 1;
        if (!s->n_ok)
            snprintf(value, sizeof(value), "%s", b->rows[i].peer
                     ? "failed" : "no run completed");
        else if (cpu)
            snprintf(value, sizeof(value), "%.3f s", v);
        else
            snprintf(value, sizeof(value), "%.1f", v);
        fprintf(out, "<text x=\"%d\" y=\"%d\">", SVG_LABEL_X, y + 13);
        xml_text(out, b->rows[i].label);
        fprintf(out, "</text>\n<rect class=\"bar\" x=\"%d\" y=\"%d\" "
                "width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", SVG_BAR_X,
                y, w, SVG_BAR_H, bar_color(&b->rows[i]));
        fprintf(out, "<text x=\"%.1f\" y=\"%d\">", SVG_BAR_X + w + 6,
                y + 13);
        xml_text(out, value);
        fputs("</text>\n", out);
        y += SVG_ROW;
    }
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
            "stroke=\"#444\"/>\n</g>\n", SVG_BAR_X, top + 20, SVG_BAR_X,
            y);
    return y - top + 16;
}

static void svg_write(FILE *out, const struct compare *c,
                      const struct bars *b)
{
    size_t i, shown = 0;
    int panel_h, h, top = 50;
    char title[200], jobs[48];

    for (i = 0; i < b->n; i++)
        shown += b->rows[i].runs != NULL;
    panel_h = 24 + (int)shown * SVG_ROW + 16;
    h = 50 + 2 * panel_h + 8;
    jobs_text(c, jobs, sizeof(jobs));
    snprintf(title, sizeof(title), "pagegrab compare: %llu input URLs, "
             "%s, medians of %u run%s per mode%s",
             (unsigned long long)c->n_input, jobs, c->repeat,
             c->repeat == 1 ? "" : "s", c->peers ? " and peer" : "");
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
            "font-size=\"12\">\n<title>", SVG_W, h, SVG_W, h);
    xml_text(out, title);
    fprintf(out, "</title>\n<rect width=\"100%%\" height=\"100%%\" "
            "fill=\"white\"/>\n<text x=\"%d\" y=\"28\" font-size=\"16\" "
            "font-weight=\"bold\">", SVG_LABEL_X);
    xml_text(out, title);
    fputs("</text>\n", out);
    top += svg_panel(out, b, top, c->peers ? "throughput (pages or files/s)"
                                           : "throughput (pages/s)", 0);
    svg_panel(out, b, top, "CPU seconds (user+sys)", 1);
    fputs("</svg>\n", out);
}

/*
 * Write the chart to a temporary file next to --svg FILE and rename it
 * into place, so FILE is never half written.  Returns 0 or -1 (message
 * printed).
 */
static int write_svg(const struct compare *c, const struct bars *b)
{
    char *tmp = concat3(c->svg_path, ".", "XXXXXX");
    char err[128];
    mode_t mask;
    FILE *f;
    int fd, e = 0;

    if (!tmp) {
        pg_cli_error("out of memory");
        return -1;
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        e = errno;
        pg_cli_error("cannot create '%s': %s", tmp,
                     pg__errstr(e, err, sizeof(err)));
        free(tmp);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    f = fdopen(fd, "w");
    if (!f) {
        e = errno;
        close(fd);
    } else {
        svg_write(f, c, b);
        if (fflush(f) != 0 || ferror(f))
            e = errno ? errno : EIO;
        if (fclose(f) != 0 && !e)
            e = errno;
    }
    if (!e && rename(tmp, c->svg_path) != 0)
        e = errno;
    if (e) {
        pg_cli_error("cannot write '%s': %s", c->svg_path,
                     pg__errstr(e, err, sizeof(err)));
        unlink(tmp);
    }
    free(tmp);
    return e ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                         */
/* ------------------------------------------------------------------ */

/* Print the report (and the chart).  Returns 0 or PG_EXIT_FATAL. */
int report(const struct compare *c)
{
    size_t n = c->n_modes + (c->peers ? N_PEERS : 0);
    struct summary *sums = calloc(n, sizeof(*sums));
    struct row *rows = calloc(n, sizeof(*rows));
    struct bars b;
    int status = 0;

    if (!sums || !rows) {
        pg_cli_error("out of memory");
        status = PG_EXIT_FATAL;
        goto out;
    }
    n = make_rows(c, rows);
    if (summarize_all(c, rows, n, sums) != 0) {
        status = PG_EXIT_FATAL;
        goto out;
    }
    if (c->format == FMT_CSV)
        print_csv(c, rows, n, sums, stdout);
    else if (c->format == FMT_JSON)
        print_json(c, rows, n, sums, stdout);
    else
        print_table(c, rows, n, sums, stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pg_cli_error("cannot write to standard output");
        status = PG_EXIT_FATAL;
    }
    b = (struct bars){ rows, sums, n };
    if (c->svg_path && write_svg(c, &b) != 0)
        status = PG_EXIT_FATAL;
out:
    free(rows);
    free(sums);
    return status;
}
