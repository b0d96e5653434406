/*
 * report_json.c - the JSON report of `pagegrab compare` (every row's
 * medians and each run's raw values, and with --peers the peers' part),
 * and the lines about the peers under the table.  Reads the run table;
 * runs nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "../src/json.h" /* pg__json_str */

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

/* A string, or null for NULL. */
static void json_str_or_null(FILE *out, const char *s)
{
    if (s)
        json_str(out, s);
    else
        fputs("null", out);
}

/* A JSON number, or null when it is not finite. */
static void json_num(FILE *out, double v, int prec)
{
    if (isfinite(v))
        fprintf(out, "%.*f", prec, v);
    else
        fputs("null", out);
}

static void json_run(const struct compare *c, FILE *out,
                     const struct row *row, const struct run *run,
                     unsigned rep)
{
    int k;

    fprintf(out, "        {\"repeat\": %u, \"ok\": %s, \"exit_status\": %d",
            rep, run->ok ? "true" : "false", run->exit_status);
    fputs(", \"error\": ", out);
    json_str_or_null(out, run->ok ? NULL
                                  : run->why[0] ? run->why : "not run");
    fputs(", \"dir\": ", out);
    json_str_or_null(out, run->kept_dir);
    for (k = 0; k < M__COUNT; k++) {
        fprintf(out, ", \"%s\": ", columns[k].key);
        json_num(out, metric(row, run, (enum metric)k), columns[k].raw_prec);
    }
    if (c->peers) {
        int m = peers_matches(c, run);

        fprintf(out, ", \"files\": ");
        json_num(out, run->counted ? (double)run->files : NAN, 0);
        fprintf(out, ", \"file_bytes\": ");
        json_num(out, run->counted ? (double)run->file_bytes : NAN, 0);
        fprintf(out, ", \"matches\": %s", m < 0 ? "null" : m ? "true"
                                                              : "false");
    }
    if (row->peer) {
        fprintf(out, ", \"peak_rss_kib\": %llu}",
                (unsigned long long)run->child_rss_kb);
        return;
    }
    fprintf(out, ", \"transfers\": %llu, \"child_rss_kib\": %llu, "
            "\"workers_rss_kib\": %llu}",
            (unsigned long long)run->st.transfers,
            (unsigned long long)run->child_rss_kb,
            (unsigned long long)run->st.workers_peak_rss_kb);
}

/* The figures and the runs of one row, after its own keys. */
static void json_row_body(const struct compare *c, FILE *out,
                          const struct row *row, const struct summary *s)
{
    unsigned r;
    int k;

    fprintf(out, ", \"runs_ok\": %zu", s->n_ok);
    for (k = 0; k < M__COUNT; k++) {
        fprintf(out, ", \"%s\": ", columns[k].key);
        json_num(out, s->n_ok ? s->v[k] : NAN, columns[k].raw_prec);
    }
    fprintf(out, ", \"errors_vary\": %s", s->errors_vary ? "true" : "false");
    if (c->peers) {
        fputs(", \"files\": ", out);
        json_num(out, s->n_ok ? (double)s->files : NAN, 0);
        fputs(", \"file_bytes\": ", out);
        json_num(out, s->n_ok ? (double)s->file_bytes : NAN, 0);
        fputs(", \"check\": ", out);
        json_str(out, check_word(row, s));
    }
    fputs(",\n      \"runs\": [\n", out);
    for (r = 0; row->runs && r < c->repeat; r++) {
        json_run(c, out, row, &row->runs[r], r + 1);
        fputs(r + 1 < c->repeat ? ",\n" : "\n", out);
    }
    fputs("      ]}", out);
}

/* A peer's command as an array, its run directory as "{DIR}". */
static void json_command(FILE *out, const struct peer *p)
{
    int a;

    if (!p->argv) {
        fputs("null", out);
        return;
    }
    fputc('[', out);
    for (a = 0; a < p->argc; a++) {
        if (a)
            fputs(", ", out);
        json_str(out, a == p->dir_arg ? "{DIR}" : p->argv[a]);
    }
    fputc(']', out);
}

static void json_peers(const struct compare *c, FILE *out,
                       const struct row *rows, size_t n_rows,
                       const struct summary *sums)
{
    uint64_t files, bytes;
    size_t i;

    fprintf(out, ",\n  \"peers\": {\"concurrency\": %u, \"note\": ",
            c->peer_c);
    json_str_or_null(out, c->peer_note[0] ? c->peer_note : NULL);
    if (peers_reference(c, &files, &bytes))
        fprintf(out, ", \"reference\": {\"files\": %llu, \"bytes\": %llu}",
                (unsigned long long)files, (unsigned long long)bytes);
    else
        fputs(", \"reference\": null", out);
    fputs(", \"tools\": [\n", out);
    for (i = c->n_modes; i < n_rows; i++) {
        const struct peer *p = rows[i].peer;

        fputs("    {\"tool\": ", out);
        json_str(out, p->tool);
        fputs(", \"label\": ", out);
        json_str(out, p->label);
        fprintf(out, ", \"ran\": %s, \"skipped\": ",
                p->runs ? "true" : "false");
        json_str_or_null(out, p->runs ? NULL : p->skip);
        fputs(", \"path\": ", out);
        json_str_or_null(out, p->path);
        fputs(", \"command\": ", out);
        json_command(out, p);
        json_row_body(c, out, &rows[i], &sums[i]);
        fputs(i + 1 < n_rows ? ",\n" : "\n", out);
    }
    fputs("  ]}", out);
}

void print_json(const struct compare *c, const struct row *rows,
                size_t n_rows, const struct summary *sums, FILE *out)
{
    size_t i;

    fprintf(out, "{\n  \"input_urls\": %llu,\n  \"jobs\": %u,\n"
            "  \"repeat\": %u,\n  \"modes\": [\n",
            (unsigned long long)c->n_input, c->job_w, c->repeat);
    for (i = 0; i < c->n_modes; i++) {
        const struct mode *m = rows[i].mode;

        fprintf(out, "    {\"mode\": \"%s\", \"per_worker\": %u, "
                "\"window\": %u, \"workers\": %u, \"label\": ",
                m->mode == PG_MODE_PROCESS ? "process" : "thread", m->k,
                m->window, m->workers);
        json_str(out, m->label);
        json_row_body(c, out, &rows[i], &sums[i]);
        fputs(i + 1 < c->n_modes ? ",\n" : "\n", out);
    }
    fputs("  ]", out);
    if (c->peers)
        json_peers(c, out, rows, n_rows, sums);
    fputs("\n}\n", out);
}

/* ------------------------------------------------------------------ */
/* The peers under the table                                           */
/* ------------------------------------------------------------------ */

/* An argument as a shell would need it to be typed (to copy it). */
static void shell_word(FILE *out, const char *s)
{
    if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789_./:=,@%+-") == strlen(s)) {
        fputs(s, out);
        return;
    }
    fputc('\'', out);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", out);
        else
            fputc(*s, out);
    }
    fputc('\'', out);
}

void print_peers_text(const struct compare *c, FILE *out)
{
    uint64_t files, bytes;
    size_t i;
    int a;

    fprintf(out, "peers: C = %u transfers at once (-j %u x -K %u); a "
            "peer's pages are the files it saved\n", c->peer_c,
            c->job_w, c->job_k);
    if (peers_reference(c, &files, &bytes))
        fprintf(out, "check: each run's files and bytes against pagegrab's "
                "first completed run (%llu files, %llu bytes)\n",
                (unsigned long long)files, (unsigned long long)bytes);
    else
        fputs("check: no pagegrab run completed: nothing to check the "
              "peers against\n", out);
    for (i = 0; i < N_PEERS; i++) {
        const struct peer *p = &c->peer[i];

        if (!p->argv)
            continue; /* its row says why */
        fprintf(out, "%s: ", p->label);
        for (a = 0; a < p->argc; a++) {
            if (a)
                fputc(' ', out);
            if (a == p->dir_arg)
                fputs("DIR", out);
            else
                shell_word(out, p->argv[a]);
        }
        fputc('\n', out);
    }
    if (c->peer_note[0])
        fprintf(out, "note: %s\n", c->peer_note);
}
