/*
 * test_spill.c - the crawl's queue past --queue-memory.
 *
 * A generated site of NP pages with NI image links each (NP x NI links
 * in all) is listed with --list twice: with --queue-memory 1M, so the
 * queued links spill to disk, and with the default (no spill).  Both
 * runs must list every link exactly once, the same set, and only the
 * first may say (-v) that it spilled.
 */
#include "server.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NP 10
#define NI 5000

struct site {
    char *index;
    char *page[NP];
    char *page_path[NP];
    struct pg_test_route routes[NP + 1];
    struct pg_test_server *srv;
};

static char *make_page(unsigned p)
{
    size_t cap = (size_t)NI * 64 + 256, n = 0;
    char *s = malloc(cap);
    unsigned i;

    if (!s)
        abort();
    n += (size_t)snprintf(s + n, cap - n, "<html><body>\n");
    for (i = 0; i < NI; i++)
        n += (size_t)snprintf(s + n, cap - n,
                              "<img src=\"/img/%u/%05u.jpg\">\n", p, i);
    snprintf(s + n, cap - n, "</body></html>\n");
    return s;
}

static void site_start(struct pg_test *t, struct site *g)
{
    size_t cap = NP * 64 + 64, n = 0;
    unsigned p;

    memset(g, 0, sizeof(*g));
    g->index = malloc(cap);
    if (!g->index)
        abort();
    n += (size_t)snprintf(g->index, cap, "<html><body>\n");
    for (p = 0; p < NP; p++) {
        n += (size_t)snprintf(g->index + n, cap - n,
                              "<a href=\"/p%u.html\">p</a>\n", p);
        g->page[p] = make_page(p);
        g->page_path[p] = pg_strdupf("/p%u.html", p);
        g->routes[p + 1] = (struct pg_test_route){
            .path = g->page_path[p], .body = g->page[p],
            .body_len = strlen(g->page[p]), .content_type = "text/html"};
    }
    g->routes[0] = (struct pg_test_route){
        .path = "/", .body = g->index, .body_len = strlen(g->index),
        .content_type = "text/html"};
    g->srv = pg_test_server_start(g->routes, NP + 1);
    if (!g->srv)
        pg_test_fail(t, "cannot start the test server");
}

/* The listed URLs, sorted; checks that none is listed twice. */
static char *listed(struct pg_test *t, struct pg_run *r, size_t *n)
{
    struct pg_strlist l = {0};
    char *s;
    size_t i;

    for (char *p = r->out; *p;) {
        char *eol = strchr(p, '\n');

        PG_CHECK(t, eol, "stdout must be lines ending in a newline");
        *eol = '\0';
        pg_strlist_add(&l, p);
        p = eol + 1;
    }
    pg_strlist_sort(&l);
    for (i = 1; i < l.n; i++)
        PG_CHECK(t, strcmp(l.v[i - 1], l.v[i]), "'%s' listed twice",
                 l.v[i]);
    *n = l.n;
    s = pg_strlist_join(&l, "\n");
    pg_strlist_release(&l);
    return s;
}

static void run_list(struct pg_test *t, struct site *g, struct pg_run *r,
                     const char *tag, const char *qmem)
{
    char *url = pg_strdupf("http://127.0.0.1:%u/",
                           pg_test_server_port(g->srv));
    char *out = pg_path(t, "out-%s", tag);
    char *man = pg_path(t, "man-%s.jsonl", tag);
    const char *args[32];
    size_t n = 0;

    args[n++] = "-m";
    args[n++] = t->mode;
    args[n++] = "-j";
    args[n++] = "2";
    args[n++] = "-v";
    args[n++] = "--images";
    args[n++] = "--images-only";
    args[n++] = "--follow";
    args[n++] = "//a/@href";
    args[n++] = "--list";
    args[n++] = "-o";
    args[n++] = out;
    args[n++] = "--manifest";
    args[n++] = man;
    if (qmem) {
        args[n++] = "--queue-memory";
        args[n++] = qmem;
    }
    args[n++] = url;
    args[n] = NULL;
    pg_run(t, r, NULL, 240, args);
    PG_CHECK(t, r->code == 0, "%s: exit status %d, expected 0", tag,
             r->code);
    pg_tree_check(t, out, NULL, 0);
    pg_check_no_temp_files(t, out);
}

static void test_spill_list(struct pg_test *t)
{
    struct site g;
    struct pg_run a, b;
    size_t na, nb;
    char *la, *lb;

    site_start(t, &g);
    run_list(t, &g, &a, "spill", "1M");
    la = listed(t, &a, &na);
    PG_CHECK_INT(t, na, NP * NI, "links listed with --queue-memory 1M");
    PG_CHECK(t, strstr(a.err, "frontier: spilled "),
             "--queue-memory 1M: no 'frontier: spilled' line in stderr");
    pg_test_server_reset(g.srv);
    run_list(t, &g, &b, "memory", NULL);
    lb = listed(t, &b, &nb);
    PG_CHECK_INT(t, nb, NP * NI, "links listed without --queue-memory");
    PG_CHECK(t, !strstr(b.err, "frontier: spilled "),
             "default --queue-memory: spilled on a small crawl");
    PG_CHECK(t, !strcmp(la, lb), "the two runs listed different links");
    /* Each page was fetched once per run, images never. */
    PG_CHECK_INT(t, pg_test_server_total(g.srv), NP + 2,
                 "requests of the second run (pages, index, robots.txt)");
    free(la);
    free(lb);
    pg_run_release(&a);
    pg_run_release(&b);
    pg_test_server_stop(g.srv);
}

static const struct pg_test_case cases[] = {
    {"spill_list", test_spill_list, PG_TEST_PER_MODE, 300},
};

int main(int argc, char **argv)
{
    return pg_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
