/*
 * test_codec.c - unit tests for the frames between the process pool's
 * parent and its workers (src/codec.c): each encoder's frame decodes to
 * what was encoded, a page's links split over LINKS frames come back
 * whole, and a malformed frame is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "mem.h"
#include "unit.h"

/* The payload of the one frame in b, after checking its type. */
static void frame_reader(const struct pg__buf *b, unsigned type,
                         struct pg__wire_reader *r)
{
    assert_true(b->len >= PG_WIRE_HEADER);
    assert_int_equal((unsigned char)b->ptr[4], type);
    pg__wire_reader_init(r, b->ptr + PG_WIRE_HEADER,
                         b->len - PG_WIRE_HEADER);
}

static void test_job_round_trip(void **state)
{
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    struct pg__item *it = pg__item_new(), *got;

    (void)state;
    assert_non_null(it);
    it->id = 42;
    it->res.attempts = 3;
    it->flags = PG_ITEM_ALONE;
    it->url = pg__strdup("http://example.com/a");
    assert_int_equal(pg__codec_put_job(&b, it), PG_OK);
    assert_int_equal((unsigned char)b.ptr[4], PG_WIRE_JOB);
    got = pg__codec_get_job(b.ptr + PG_WIRE_HEADER, b.len - PG_WIRE_HEADER);
    assert_non_null(got);
    assert_int_equal(got->id, 42);
    assert_int_equal(got->res.attempts, 3);
    assert_int_equal(got->flags, PG_ITEM_ALONE);
    assert_string_equal(got->url, "http://example.com/a");
    assert_null(got->cond_etag);
    assert_null(got->cond_lm);
    assert_null(got->cond_path);
    assert_null(got->cond_ctype);
    pg__item_free(got);
    /* --update: the validators and the saved copy travel too. */
    it->flags |= PG_ITEM_COND;
    it->cond_etag = pg__strdup("W/\"e1\"");
    it->cond_lm = pg__strdup("Mon, 01 Jan 2024 00:00:00 GMT");
    it->cond_path = pg__strdup("example.com/a");
    pg__buf_reset(&b);
    assert_int_equal(pg__codec_put_job(&b, it), PG_OK);
    got = pg__codec_get_job(b.ptr + PG_WIRE_HEADER, b.len - PG_WIRE_HEADER);
    assert_non_null(got);
    assert_int_equal(got->flags, PG_ITEM_ALONE | PG_ITEM_COND);
    assert_string_equal(got->cond_etag, "W/\"e1\"");
    assert_string_equal(got->cond_lm, "Mon, 01 Jan 2024 00:00:00 GMT");
    assert_string_equal(got->cond_path, "example.com/a");
    assert_null(got->cond_ctype);
    /* Cut short: refused. */
    assert_null(pg__codec_get_job(b.ptr + PG_WIRE_HEADER, 12));
    pg__item_free(got);
    pg__item_free(it);
    pg__buf_release(&b);
}

static void test_links_over_frames(void **state)
{
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    struct pg__item *it = pg__item_new();
    struct pg__links got;
    char url[2048];
    size_t i, from = 0, frames = 0, n = 2000;

    (void)state;
    assert_non_null(it);
    it->id = 7;
    memset(url, 'x', sizeof(url));
    for (i = 0; i < n; i++) {
        int k = snprintf(url, sizeof(url), "http://h/%zu/", i);

        url[k] = 'x';   /* ~2 KB each: more than one frame's worth */
        url[sizeof(url) - 1] = '\0';
        assert_int_equal(pg__links_add(&it->links, i % 2 ? PG_LINK_PAGE :
                                       PG_LINK_IMAGE, url), PG_OK);
    }
    pg__links_init(&got);
    while (from < it->links.n) {
        struct pg__wire_reader r;

        assert_int_equal(pg__codec_put_links(&b, it, &from), PG_OK);
        frame_reader(&b, PG_WIRE_LINKS, &r);
        assert_int_equal(pg__wire_get_u64(&r), 7);
        assert_int_equal(pg__codec_get_links(&r, &got), PG_OK);
        assert_int_equal(r.off, r.len);
        frames++;
    }
    assert_true(frames > 1);
    assert_int_equal(got.n, n);
    for (i = 0; i < n; i++) {
        assert_int_equal(got.v[i].kind, it->links.v[i].kind);
        assert_string_equal(got.v[i].url, it->links.v[i].url);
    }
    /* What was appended unindexed is still a set for pg__links_add(). */
    assert_int_equal(pg__links_add(&got, got.v[5].kind, got.v[5].url),
                     PG_OK);
    assert_int_equal(got.n, n);
    assert_int_equal(pg__links_add(&got, PG_LINK_PAGE, "http://h/new"),
                     PG_OK);
    assert_int_equal(got.n, n + 1);
    pg__links_release(&got);
    pg__item_free(it);
    pg__buf_release(&b);
}

static void test_result_round_trip(void **state)
{
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    struct pg__item *it = pg__item_new(), *got = pg__item_new();
    struct pg__wire_reader r;

    (void)state;
    assert_non_null(it);
    assert_non_null(got);
    it->id = 9;
    it->res.status = PG_ST_HTTP_ERROR;
    it->res.http_code = 404;
    it->res.http_version = pg__http_version_name(20);
    it->res.bytes = 1234;
    it->res.time_ms = 5.5;
    it->res.content_type = pg__strdup("text/html");
    it->res.final_url = pg__strdup("http://example.com/b");
    snprintf(it->error, sizeof(it->error), "not found");
    it->flags = PG_ITEM_HTML;
    it->retry_after_ms = 3000;
    it->res.links = 4;
    it->res.etag = pg__strdup("\"v2\"");
    assert_int_equal(pg__codec_put_result(&b, it), PG_OK);
    frame_reader(&b, PG_WIRE_RESULT, &r);
    assert_int_equal(pg__wire_get_u64(&r), 9);
    assert_int_equal(pg__codec_get_result(&r, got), PG_OK);
    assert_int_equal(got->res.status, PG_ST_HTTP_ERROR);
    assert_int_equal(got->res.http_code, 404);
    assert_string_equal(got->res.http_version, "2");
    assert_ptr_equal(got->res.http_version, pg__http_version_name(20));
    assert_int_equal(got->res.bytes, 1234);
    assert_true(got->res.time_ms == 5.5);
    assert_string_equal(got->res.content_type, "text/html");
    assert_string_equal(got->res.final_url, "http://example.com/b");
    assert_null(got->res.tmp_name);
    assert_string_equal(got->error, "not found");
    assert_string_equal(got->hash, "");
    assert_int_equal(got->flags, PG_ITEM_HTML);
    assert_int_equal(got->retry_after_ms, 3000);
    assert_int_equal(got->res.links, 0);   /* links went ahead */
    assert_string_equal(got->res.etag, "\"v2\"");
    assert_null(got->res.last_modified);
    /* Cut short: refused. */
    pg__item_reset_result(got);
    pg__wire_reader_init(&r, b.ptr + PG_WIRE_HEADER, 30);
    assert_int_equal(pg__codec_get_result(&r, got), PG_E_PARSE);
    pg__item_free(got);
    pg__item_free(it);
    pg__buf_release(&b);
}

static void test_log_round_trip(void **state)
{
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    struct pg__wire_reader r;
    enum pg_log_level level = PG_LOG_ERROR;
    const char *s;

    (void)state;
    assert_int_equal(pg__codec_put_log(&b, PG_LOG_WARN, "a line"), PG_OK);
    frame_reader(&b, PG_WIRE_LOG, &r);
    s = pg__codec_get_log(&r, &level);
    assert_non_null(s);
    assert_string_equal(s, "a line");
    assert_int_equal(level, PG_LOG_WARN);
    /* An unknown level: refused. */
    assert_int_equal(pg__codec_put_log(&b, (enum pg_log_level)99, "x"),
                     PG_OK);
    frame_reader(&b, PG_WIRE_LOG, &r);
    assert_null(pg__codec_get_log(&r, &level));
    pg__buf_release(&b);
}

static void test_window_round_trip(void **state)
{
    struct pg__buf b = PG_BUF_INIT(PG_WIRE_MAX + PG_WIRE_HEADER);
    struct pg__wire_reader r;

    (void)state;
    assert_int_equal(pg__codec_put_window(&b, 64), PG_OK);
    frame_reader(&b, PG_WIRE_WINDOW, &r);
    assert_int_equal(pg__codec_get_window(&r), 64);
    /* A short payload, and one with bytes left over: malformed (0). */
    pg__wire_reader_init(&r, "\x01\x00", 2);
    assert_int_equal(pg__codec_get_window(&r), 0);
    pg__wire_reader_init(&r, "\x01\x00\x00\x00\x00", 5);
    assert_int_equal(pg__codec_get_window(&r), 0);
    pg__buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_round_trip),
        cmocka_unit_test(test_links_over_frames),
        cmocka_unit_test(test_result_round_trip),
        cmocka_unit_test(test_log_round_trip),
        cmocka_unit_test(test_window_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
