/*
 * report.h - what the files of the compare report share (cmd/ only):
 * the figures, the rows (a pagegrab mode or a peer) and their summaries.
 *
 *  report.c       figures, summaries, the table, CSV and SVG
 *  report_json.c  the JSON report and the lines about the peers
 */
#ifndef PG_REPORT_H
#define PG_REPORT_H

#include <stdio.h>

#include "compare.h"

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

struct column {
    const char *head;    /* table header, NULL: not in the table */
    const char *key;     /* CSV column and JSON key */
    int prec;            /* digits after the point in the table */
    int raw_prec;        /* in CSV and JSON */
};

extern const struct column columns[M__COUNT];

/* What a row's runs saved, against pagegrab's first completed run. */
enum check {
    CHECK_NONE,          /* not counted, or nothing to check against */
    CHECK_OK,            /* every completed run saved the same */
    CHECK_MISMATCH       /* some completed run saved something else */
};

/* One row of the report: a pagegrab mode or a peer. */
struct row {
    const char *label;
    const struct run *runs;  /* c->repeat of them; NULL: a skipped peer */
    const struct mode *mode; /* NULL for a peer */
    const struct peer *peer; /* NULL for a mode */
};

/* A row's figures: medians over its completed runs (errors: max);
 * NAN where the row cannot tell (a peer's latencies). */
struct summary {
    size_t n_ok;
    double v[M__COUNT];
    int errors_vary;     /* the runs' error counts differ */
    uint64_t files;      /* --peers: median files, bytes of the runs */
    uint64_t file_bytes;
    enum check check;
};

/* report.c */
/* A run's figure m; NAN where its row cannot tell. */
double metric(const struct row *row, const struct run *r, enum metric m);
/* Why a row has no figures ("skipped: ...", "failed: ..."). */
void no_figures(const struct compare *c, const struct row *row, char *buf,
                size_t size);
/* The check's word for CSV and JSON: "ok", "mismatch", "failed",
 * "skipped" or "". */
const char *check_word(const struct row *row, const struct summary *s);

/* report_json.c */
void print_json(const struct compare *c, const struct row *rows,
                size_t n_rows, const struct summary *sums, FILE *out);
/* With --peers, after the table: C, the reference, each peer's command
 * or why it did not run, and the note. */
void print_peers_text(const struct compare *c, FILE *out);

#endif
