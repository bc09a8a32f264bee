/*
 * test_resp_headers.c — defence in depth against response splitting (issue #13, finding 4): a
 * response header value (or name) carrying CR or LF is never written. A whole answer becomes a
 * 500 without the handler's headers; a streaming answer goes out without the refused header.
 * Over a real loopback HTTP/1.1 socket; both protocols share the code under test (req.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/http_support.h"
#include "util/mem.h"

/* The header value comes from the path parameter (percent-decoded), as a name from a URL would. */
static void
h_header(wr_req *req, void *ctx)
{
    (void)ctx;
    wr_resp_header(req, "x-name", req->params[0]);
    wr_resp_header(req, "x-fine", "kept");
    wr_resp_send(req, 200, "text/plain", "ok", 2);
}

static void
h_bad_name(wr_req *req, void *ctx)
{
    (void)ctx;
    wr_resp_header(req, "x-a\r\nset-cookie", "v");
    wr_resp_send(req, 200, "text/plain", "ok", 2);
}

static void
h_stream(wr_req *req, void *ctx)
{
    (void)ctx;
    wr_resp_header(req, "x-name", req->params[0]);
    wr_resp_header(req, "x-fine", "kept");
    wr_resp_start(req, 200, "text/plain");
    wr_resp_write(req, "streamed", 8);
    wr_resp_end(req);
}

/* A JSON body jansson cannot encode (a string that is not UTF-8). */
static void
h_bad_json(wr_req *req, void *ctx)
{
    (void)ctx;
    json_t *o = json_object();
    json_object_set_new(o, "name", json_stringn_nocheck("a\xff", 2));
    wr_resp_json(req, 200, o);
}

typedef wr_test_fixture fixture;

static int
setup(void **state)
{
    wr_router *r = wr_router_new();
    wr_router_add(r, WR_METHOD_GET, "/h/{v}", h_header, NULL, 0);
    wr_router_add(r, WR_METHOD_GET, "/name", h_bad_name, NULL, 0);
    wr_router_add(r, WR_METHOD_GET, "/s/{v}", h_stream, NULL, 0);
    wr_router_add(r, WR_METHOD_GET, "/json", h_bad_json, NULL, 0);
    *state = wr_test_fixture_start(r, NULL);
    return 0;
}

#define teardown wr_test_fixture_teardown

/* One request on a new connection, then a second on the same one: exactly two responses. */
static char *
exchange(fixture *f, const char *path, char **second)
{
    int fd = wr_test_connect(f->port);
    char req[512];
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nhost: x\r\n\r\nGET /h/plain HTTP/1.1\r\nhost: x\r\n\r\n", path);
    wr_test_send_str(fd, req);
    wr_buf rest = {0};
    char *first = wr_test_recv_response(fd, &rest, 5000);
    *second = wr_test_recv_response(fd, &rest, 5000);
    wr_buf_fini(&rest);
    close(fd);
    return first;
}

static void
test_whole_answers(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *path;
        int refused;
    } rows[] = {
        {"/h/plain", 0},
        {"/h/a%0D%0Aset-cookie:%20x=1", 1},
        {"/h/a%0Aset-cookie:%20x=1", 1},
        {"/h/a%0Db", 1},
        {"/h/%0D%0A%0D%0AHTTP%2F1.1%20200%20OK", 1},
        {"/h/tab%09is-fine", 0}, /* HTAB is allowed in a field value */
        {"/name", 1},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *second = NULL;
        char *r = exchange(f, rows[i].path, &second);
        assert_non_null(r);
        assert_non_null(second); /* the connection stays in sync: the next answer follows */
        if (rows[i].refused) {
            if (strncmp(r, "HTTP/1.1 500 ", 13) != 0 || strstr(r, "x-fine") ||
                wr_test_count(r, "set-cookie") || wr_test_count(r, "\r\nx-name"))
                fail_msg("row %zu (%s): %s", i, rows[i].path, r);
        } else if (strncmp(r, "HTTP/1.1 200 ", 13) != 0 || !strstr(r, "x-fine: kept")) {
            fail_msg("row %zu (%s): %s", i, rows[i].path, r);
        }
        assert_int_equal(strncmp(second, "HTTP/1.1 200 ", 13), 0);
        free(r);
        free(second);
    }
}

static void
test_streaming_answer_drops_the_header(void **state)
{
    fixture *f = *state;
    char *second = NULL;
    char *r = exchange(f, "/s/a%0D%0Aset-cookie:%20x=1", &second);
    assert_non_null(r);
    assert_int_equal(strncmp(r, "HTTP/1.1 200 ", 13), 0);
    assert_non_null(strstr(r, "x-fine: kept"));
    assert_null(strstr(r, "set-cookie"));
    assert_null(strstr(r, "x-name"));
    assert_non_null(strstr(r, "streamed"));
    assert_non_null(second);
    free(r);
    free(second);
}

/* An unencodable JSON body is a 500, not a 200 with an empty body. */
static void
test_unencodable_json_is_500(void **state)
{
    fixture *f = *state;
    char *second = NULL;
    char *r = exchange(f, "/json", &second);
    assert_non_null(r);
    if (strncmp(r, "HTTP/1.1 500 ", 13) != 0 || !strstr(r, "\"code\":\"other\""))
        fail_msg("%s", r);
    assert_non_null(second);
    free(r);
    free(second);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_whole_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_answer_drops_the_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unencodable_json_is_500, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
