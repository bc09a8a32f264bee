/*
 * test_router.c — template matching, parameter decoding and the 404/405 distinction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/router.h"

static void
noop(wr_req *req, void *ctx)
{
    (void)req;
    (void)ctx;
}

static wr_router *
routes(void)
{
    wr_router *r = wr_router_new();
    wr_router_add(r, WR_METHOD_GET, "/v1/basins", noop, NULL, 0);
    wr_router_add(r, WR_METHOD_POST, "/v1/basins", noop, NULL, 0);
    wr_router_add(r, WR_METHOD_GET, "/v1/basins/{basin}", noop, NULL, 0);
    wr_router_add(r, WR_METHOD_DELETE, "/v1/basins/{basin}", noop, NULL, 0);
    wr_router_add(r, WR_METHOD_GET, "/v1/streams/{stream}/records", noop, NULL, 0);
    wr_router_add(r, WR_METHOD_GET, "/v1/streams/{stream}/records/tail", noop, NULL, 0);
    wr_router_add(r, WR_METHOD_GET, "/a/{x}/b/{y}", noop, NULL, 0);
    return r;
}

static void
test_match_table(void **state)
{
    (void)state;
    wr_router *r = routes();
    struct {
        wr_method method;
        const char *path;
        wr_match want;
        const char *tmpl;
        const char *p0, *p1;
    } rows[] = {
        {WR_METHOD_GET, "/v1/basins", WR_MATCH_OK, "/v1/basins", NULL, NULL},
        {WR_METHOD_POST, "/v1/basins", WR_MATCH_OK, "/v1/basins", NULL, NULL},
        {WR_METHOD_GET, "/v1/basins/my-basin", WR_MATCH_OK, "/v1/basins/{basin}", "my-basin", NULL},
        {WR_METHOD_GET, "/v1/streams/a%2Fb/records", WR_MATCH_OK, "/v1/streams/{stream}/records",
         "a/b", NULL},
        {WR_METHOD_GET, "/v1/streams/%E2%9C%93/records/tail", WR_MATCH_OK,
         "/v1/streams/{stream}/records/tail", "\xE2\x9C\x93", NULL},
        {WR_METHOD_GET, "/v1/streams/a+b/records", WR_MATCH_OK, "/v1/streams/{stream}/records",
         "a+b", NULL},
        {WR_METHOD_GET, "/a/1/b/2", WR_MATCH_OK, "/a/{x}/b/{y}", "1", "2"},
        {WR_METHOD_GET, "/v1/streams//records", WR_MATCH_NOT_FOUND, NULL, NULL, NULL},
        {WR_METHOD_GET, "/v1/basins/", WR_MATCH_NOT_FOUND, NULL, NULL, NULL},
        {WR_METHOD_GET, "/v1", WR_MATCH_NOT_FOUND, NULL, NULL, NULL},
        {WR_METHOD_GET, "", WR_MATCH_NOT_FOUND, NULL, NULL, NULL},
        {WR_METHOD_GET, "/v1/streams/a/b/records", WR_MATCH_NOT_FOUND, NULL, NULL, NULL},
        {WR_METHOD_PUT, "/v1/basins", WR_MATCH_METHOD_NOT_ALLOWED, NULL, NULL, NULL},
        {WR_METHOD_GET, "/v1/streams/%zz/records", WR_MATCH_BAD_PATH, NULL, NULL, NULL},
        {WR_METHOD_GET, "/v1/streams/%4/records", WR_MATCH_BAD_PATH, NULL, NULL, NULL},
        {WR_METHOD_GET, "/v1/streams/s%00junk/records", WR_MATCH_BAD_PATH, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_req req;
        wr_req_init(&req, NULL, NULL);
        req.method = rows[i].method;
        req.path = wr_arena_strdup(&req.arena, rows[i].path);
        char allow[64];
        wr_match m = wr_router_match(r, &req, allow, sizeof(allow), 0);
        if (m != rows[i].want)
            fail_msg("row %zu (%s): got %d want %d", i, rows[i].path, m, rows[i].want);
        if (m == WR_MATCH_OK) {
            assert_string_equal(req.route->tmpl, rows[i].tmpl);
            if (rows[i].p0)
                assert_string_equal(req.params[0], rows[i].p0);
            if (rows[i].p1)
                assert_string_equal(req.params[1], rows[i].p1);
        }
        wr_req_fini(&req);
    }
    wr_router_free(r);
}

static void
test_allow_header(void **state)
{
    (void)state;
    wr_router *r = routes();
    wr_req req;
    wr_req_init(&req, NULL, NULL);
    req.method = WR_METHOD_PATCH;
    req.path = wr_arena_strdup(&req.arena, "/v1/basins/x");
    char allow[64];
    assert_int_equal(wr_router_match(r, &req, allow, sizeof(allow), 1),
                     WR_MATCH_METHOD_NOT_ALLOWED);
    assert_string_equal(allow, "GET, DELETE, OPTIONS");
    wr_req_fini(&req);
    wr_router_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_allow_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
