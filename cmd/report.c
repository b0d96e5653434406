/*
 * report.c - the report of `pagegrab compare`: each mode's figures
 * (medians over its runs) as a table, CSV or JSON on stdout, and the
 * optional SVG chart.  Reads the run table; runs nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compare.h"
#include "../src/json.h" /* pg__json_str */

/* The figures of the report; the same set for every output format. */
enum metric {
    M_PAGES,
    M_BYTES,
    M_WALL,
    M_PAGES_S,
    M_MIB_S,
    M_USER,
    M_SYS,
    M_RSS,
    M_STARTUP,
    M_P50,
    M_P95,
    M_P99,
    M_ERRORS,
    M__COUNT
};

static const struct column {
    const char *head;    /* table header, NULL: not in the table */
    const char *key;     /* CSV column and JSON key */
    int prec;            /* digits after the point in the table */
    int raw_prec;        /* in CSV and JSON */
} columns[M__COUNT] = {
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

/* A mode's figures: medians over its completed runs (errors: max). */
struct summary {
    size_t n_ok;
    double v[M__COUNT];
    int errors_vary;     /* the runs' error counts differ */
};

/* ------------------------------------------------------------------ */
/* Figures                                                             */
/* ------------------------------------------------------------------ */

static double metric(const struct run *r, enum metric m)
{
    double wall = r->wall_s > 0 ? r->wall_s : 1e-9;

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

/* Medians over the completed runs (the largest error count). */
static void summarize(const struct compare *c, const struct mode *m,
                      struct summary *s, double *scratch)
{
    unsigned r;
    int k;

    memset(s, 0, sizeof(*s));
    for (k = 0; k < M__COUNT; k++) {
        size_t n = 0;

        for (r = 0; r < c->repeat; r++) {
            if (m->runs[r].ok)
                scratch[n++] = metric(&m->runs[r], (enum metric)k);
        }
        s->n_ok = n;
        if (n == 0)
            continue;
        qsort(scratch, n, sizeof(*scratch), cmp_double);
        if (k == M_ERRORS) {
            s->v[k] = scratch[n - 1];
            s->errors_vary = scratch[0] != scratch[n - 1];
        } else {
            s->v[k] = n % 2 ? scratch[n / 2]
                            : (scratch[n / 2 - 1] + scratch[n / 2]) / 2;
        }
    }
}

static int summarize_all(const struct compare *c, struct summary *sums)
{
    double *scratch = calloc(c->repeat, sizeof(*scratch));
    size_t i;

    if (!scratch) {
        pg_cli_error("out of memory");
        return -1;
    }
    for (i = 0; i < c->n_modes; i++)
        summarize(c, &c->modes[i], &sums[i], scratch);
    free(scratch);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Table                                                               */
/* ------------------------------------------------------------------ */

#define TABLE_COLS (M__COUNT + 1)
#define CELL 32

static void print_table(const struct compare *c, const struct summary *sums,
                        FILE *out)
{
    char (*cells)[TABLE_COLS][CELL];
    size_t width[TABLE_COLS] = { 0 };
    size_t rows = c->n_modes + 1, i, r;
    int k, any_vary = 0;

    cells = calloc(rows, sizeof(*cells));
    if (!cells) {
        pg_cli_error("out of memory");
        return;
    }
    snprintf(cells[0][0], CELL, "mode");
    for (k = 0; k < M__COUNT; k++) {
        if (columns[k].head)
            snprintf(cells[0][k + 1], CELL, "%s", columns[k].head);
    }
    for (i = 0; i < c->n_modes; i++) {
        const struct summary *s = &sums[i];

        snprintf(cells[i + 1][0], CELL, "%s", c->modes[i].label);
        for (k = 0; k < M__COUNT && s->n_ok; k++) {
            if (!columns[k].head)
                continue;
            snprintf(cells[i + 1][k + 1], CELL, "%.*f%s", columns[k].prec,
                     s->v[k], k == M_ERRORS && s->errors_vary ? "*" : "");
        }
        any_vary |= s->errors_vary;
    }
    for (r = 0; r < rows; r++) {
        for (k = 0; k < TABLE_COLS; k++) {
            size_t len = strlen(cells[r][k]);

            if (len > width[k])
                width[k] = len;
        }
    }

    fprintf(out, "pagegrab compare: %llu input URLs, -j %u, medians of %u "
            "run%s per mode\n", (unsigned long long)c->n_input,
            c->cli.o.workers, c->repeat, c->repeat == 1 ? "" : "s");
    for (r = 0; r < rows; r++) {
        fprintf(out, "%-*s", (int)width[0], cells[r][0]);
        if (r > 0 && sums[r - 1].n_ok == 0) {
            fprintf(out, "  no run completed\n");
            continue;
        }
        for (k = 0; k < M__COUNT; k++) {
            if (columns[k].head)
                fprintf(out, "  %*s", (int)width[k + 1], cells[r][k + 1]);
        }
        fputc('\n', out);
    }
    if (any_vary)
        fprintf(out, "* the error count differed between runs; the "
                "largest is shown\n");
    for (i = 0; i < c->n_modes; i++) {
        if (sums[i].n_ok && sums[i].n_ok < c->repeat)
            fprintf(out, "%s: %u of %u runs failed; medians of the other "
                    "%zu\n", c->modes[i].label,
                    c->repeat - (unsigned)sums[i].n_ok, c->repeat,
                    sums[i].n_ok);
    }
    free(cells);
}

/* ------------------------------------------------------------------ */
/* CSV and JSON                                                        */
/* ------------------------------------------------------------------ */

static const char *mode_name(const struct mode *m)
{
    return m->mode == PG_MODE_PROCESS ? "process" : "thread";
}

static void print_csv(const struct compare *c, const struct summary *sums,
                      FILE *out)
{
    size_t i;
    int k;

    fputs("mode,per_worker,runs", out);
    for (k = 0; k < M__COUNT; k++)
        fprintf(out, ",%s", columns[k].key);
    fputc('\n', out);
    for (i = 0; i < c->n_modes; i++) {
        fprintf(out, "%s,%u,%zu", mode_name(&c->modes[i]), c->modes[i].k,
                sums[i].n_ok);
        for (k = 0; k < M__COUNT; k++) {
            fputc(',', out);
            if (sums[i].n_ok)
                fprintf(out, "%.*f", columns[k].raw_prec, sums[i].v[k]);
        }
        fputc('\n', out);
    }
}

/*
 * A JSON string, escaped by the library's writer (invalid UTF-8 becomes
 * U+FFFD).  Out of memory writes null, so the report stays JSON.
 */
static void json_str(FILE *out, const char *s)
{
    struct pg__buf b = PG_BUF_INIT((size_t)-1 / 2);

    if (pg__json_str(&b, s) == PG_OK)
        fwrite(b.ptr, 1, b.len, out);
    else
        fputs("null", out);
    pg__buf_release(&b);
}

/* A JSON number, or null when it is not finite. */
static void json_num(FILE *out, double v, int prec)
{
    if (isfinite(v))
        fprintf(out, "%.*f", prec, v);
    else
        fputs("null", out);
}

static void json_run(FILE *out, const struct run *run, unsigned rep)
{
    int k;

    fprintf(out, "        {\"repeat\": %u, \"ok\": %s, \"exit_status\": %d",
            rep, run->ok ? "true" : "false", run->exit_status);
    fputs(", \"error\": ", out);
    if (run->ok)
        fputs("null", out);
    else
        json_str(out, run->why[0] ? run->why : "not run");
    fputs(", \"dir\": ", out);
    if (run->kept_dir)
        json_str(out, run->kept_dir);
    else
        fputs("null", out);
    for (k = 0; k < M__COUNT; k++) {
        fprintf(out, ", \"%s\": ", columns[k].key);
        json_num(out, metric(run, (enum metric)k), columns[k].raw_prec);
    }
    fprintf(out, ", \"transfers\": %llu, \"child_rss_kib\": %llu, "
            "\"workers_rss_kib\": %llu}",
            (unsigned long long)run->st.transfers,
            (unsigned long long)run->child_rss_kb,
            (unsigned long long)run->st.workers_peak_rss_kb);
}

static void print_json(const struct compare *c, const struct summary *sums,
                       FILE *out)
{
    size_t i;
    unsigned r;
    int k;

    fprintf(out, "{\n  \"input_urls\": %llu,\n  \"jobs\": %u,\n"
            "  \"repeat\": %u,\n  \"modes\": [\n",
            (unsigned long long)c->n_input, c->cli.o.workers, c->repeat);
    for (i = 0; i < c->n_modes; i++) {
        const struct mode *m = &c->modes[i];
        const struct summary *s = &sums[i];

        fprintf(out, "    {\"mode\": \"%s\", \"per_worker\": %u, "
                "\"label\": ", mode_name(m), m->k);
        json_str(out, m->label);
        fprintf(out, ", \"runs_ok\": %zu", s->n_ok);
        for (k = 0; k < M__COUNT; k++) {
            fprintf(out, ", \"%s\": ", columns[k].key);
            if (s->n_ok)
                json_num(out, s->v[k], columns[k].raw_prec);
            else
                fputs("null", out);
        }
        fprintf(out, ", \"errors_vary\": %s,\n      \"runs\": [\n",
                s->errors_vary ? "true" : "false");
        for (r = 0; r < c->repeat; r++) {
            json_run(out, &m->runs[r], r + 1);
            fputs(r + 1 < c->repeat ? ",\n" : "\n", out);
        }
        fprintf(out, "      ]}%s\n", i + 1 < c->n_modes ? "," : "");
    }
    fputs("  ]\n}\n", out);
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

/* One panel of horizontal bars; returns its height. */
static int svg_panel(FILE *out, const struct compare *c,
                     const struct summary *sums, int top, const char *title,
                     int cpu)
{
    double v[MAX_MODES], max = 0;
    size_t i;
    int y = top + 24;

    for (i = 0; i < c->n_modes; i++) {
        v[i] = !sums[i].n_ok ? 0
               : cpu ? sums[i].v[M_USER] + sums[i].v[M_SYS]
                     : sums[i].v[M_PAGES_S];
        if (v[i] > max)
            max = v[i];
    }
    fprintf(out, "<g class=\"panel\">\n<text x=\"%d\" y=\"%d\" "
            "font-size=\"14\" font-weight=\"bold\">", SVG_LABEL_X, top + 14);
    xml_text(out, title);
    fputs("</text>\n", out);
    for (i = 0; i < c->n_modes; i++, y += SVG_ROW) {
        const struct mode *m = &c->modes[i];
        double w = max > 0 ? v[i] / max * SVG_BAR_MAX : 0;
        char value[48];

        if (v[i] > 0 && w < 1)
            w = 1;
        if (!sums[i].n_ok)
            snprintf(value, sizeof(value), "no run completed");
        else if (cpu)
            snprintf(value, sizeof(value), "%.3f s", v[i]);
        else
            snprintf(value, sizeof(value), "%.1f", v[i]);
        fprintf(out, "<text x=\"%d\" y=\"%d\">", SVG_LABEL_X, y + 13);
        xml_text(out, m->label);
        fprintf(out, "</text>\n<rect class=\"bar\" x=\"%d\" y=\"%d\" "
                "width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", SVG_BAR_X,
                y, w, SVG_BAR_H,
                m->mode == PG_MODE_PROCESS ? "#e15759" : "#4e79a7");
        fprintf(out, "<text x=\"%.1f\" y=\"%d\">", SVG_BAR_X + w + 6,
                y + 13);
        xml_text(out, value);
        fputs("</text>\n", out);
    }
    fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
            "stroke=\"#444\"/>\n</g>\n", SVG_BAR_X, top + 20, SVG_BAR_X,
            y);
    return y - top + 16;
}

static void svg_write(FILE *out, const struct compare *c,
                      const struct summary *sums)
{
    int panel_h = 24 + (int)c->n_modes * SVG_ROW + 16;
    int h = 50 + 2 * panel_h + 8, top = 50;
    char title[160];

    snprintf(title, sizeof(title), "pagegrab compare: %llu input URLs, "
             "-j %u, medians of %u run%s per mode",
             (unsigned long long)c->n_input, c->cli.o.workers, c->repeat,
             c->repeat == 1 ? "" : "s");
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
    top += svg_panel(out, c, sums, top, "throughput (pages/s)", 0);
    svg_panel(out, c, sums, top, "CPU seconds (user+sys)", 1);
    fputs("</svg>\n", out);
}

/*
 * Write the chart to a temporary file next to --svg FILE and rename it
 * into place, so FILE is never half written.  Returns 0 or -1 (message
 * printed).
 */
static int write_svg(const struct compare *c, const struct summary *sums)
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
        svg_write(f, c, sums);
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
    struct summary *sums = calloc(c->n_modes, sizeof(*sums));
    int status = 0;

    if (!sums || summarize_all(c, sums) != 0) {
        if (!sums)
            pg_cli_error("out of memory");
        free(sums);
        return PG_EXIT_FATAL;
    }
    if (c->format == FMT_CSV)
        print_csv(c, sums, stdout);
    else if (c->format == FMT_JSON)
        print_json(c, sums, stdout);
    else
        print_table(c, sums, stdout);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        pg_cli_error("cannot write to standard output");
        status = PG_EXIT_FATAL;
    }
    if (c->svg_path && write_svg(c, sums) != 0)
        status = PG_EXIT_FATAL;
    free(sums);
    return status;
}
