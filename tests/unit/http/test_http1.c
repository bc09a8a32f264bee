/*
 * test_http1.c — HTTP/1.1 behaviour over a real loopback socket: pipelining, chunked bodies,
 * 100-continue, limits, timeouts, malformed input, streaming back-pressure, disconnects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/http_support.h"
#include "util/mem.h"

/* --- test handlers (run on the server thread) ----------------------------------------- */

static void
h_echo(wr_req *req, void *ctx)
{
    (void)ctx;
    char out[1200];
    const char *q = NULL;
    int has_q = wr_req_query(req, "q", &q);
    snprintf(out, sizeof(out), "param=%s q=%s", req->params[0], has_q == 1 ? q : "-");
    wr_resp_send(req, 200, "text/plain", out, strlen(out));
}

static void
h_body(wr_req *req, void *ctx)
{
    (void)ctx;
    char out[64];
    snprintf(out, sizeof(out), "len=%zu:", req->body.len);
    wr_buf b;
    wr_buf_init(&b);
    wr_buf_append_str(&b, out);
    wr_buf_append(&b, req->body.data, req->body.len);
    wr_resp_send(req, 200, "text/plain", b.data, b.len);
    wr_buf_fini(&b);
}

/* Answers with a head bigger than the 1 KiB that http1.c writes on its stack. */
static void
h_bighead(wr_req *req, void *ctx)
{
    (void)ctx;
    static char v[1500];
    memset(v, 'h', sizeof(v) - 1);
    wr_resp_header(req, "x-long", v);
    wr_resp_send(req, 200, "text/plain", "big", 3);
}

/* Streams `total` bytes in 16 KiB chunks, pausing whenever the connection is congested. */
typedef struct stream_state {
    wr_req *req;
    size_t total, sent;
} stream_state;

static _Atomic size_t stream_sent;
static _Atomic int stream_paused; /* times the stream stopped to wait for on_drain */
static _Atomic int stream_closed_early;
static _Atomic int shutdown_seen;
static _Atomic int hang_started;

static void
stream_pump(wr_req *req)
{
    stream_state *st = req->ud;
    static char chunk[16384];
    memset(chunk, 'x', sizeof(chunk));
    while (st->sent < st->total) {
        size_t n = st->total - st->sent < sizeof(chunk) ? st->total - st->sent : sizeof(chunk);
        st->sent += n;
        atomic_store(&stream_sent, st->sent);
        if (!wr_resp_write(req, chunk, n) && st->sent < st->total) {
            atomic_fetch_add(&stream_paused, 1);
            return; /* wait for on_drain */
        }
    }
    free(st);
    wr_resp_end(req);
}

static void
stream_closed(wr_req *req)
{
    free(req->ud);
    atomic_store(&stream_closed_early, 1);
}

static void
stream_shutdown(wr_req *req)
{
    atomic_store(&shutdown_seen, 1);
    free(req->ud);
    wr_resp_end(req);
}

static void
h_stream(wr_req *req, void *ctx)
{
    (void)ctx;
    const char *n = NULL;
    stream_state *st = wr_xcalloc(1, sizeof(*st));
    st->req = req;
    st->total = wr_req_query(req, "n", &n) == 1 ? strtoull(n, NULL, 10) : 1024;
    req->ud = st;
    req->on_drain = stream_pump;
    req->on_close = stream_closed;
    req->on_shutdown = stream_shutdown;
    wr_resp_start(req, 200, "application/octet-stream");
    stream_pump(req);
}

/* Never answers: only a disconnect or shutdown ends it. */
static void
h_hang(wr_req *req, void *ctx)
{
    (void)ctx;
    req->on_close = stream_closed;
    req->ud = NULL;
    atomic_store(&hang_started, 1);
}

static wr_router *
make_router(void)
{
    wr_router *r = wr_router_new();
    wr_router_add(r, WR_METHOD_GET, "/echo/{x}", h_echo, NULL, 0);
    wr_router_add(r, WR_METHOD_POST, "/body", h_body, NULL, 0);
    wr_router_add(r, WR_METHOD_POST, "/small", h_body, NULL, 10);
    wr_router_add(r, WR_METHOD_GET, "/stream", h_stream, NULL, 0);
    wr_router_add(r, WR_METHOD_GET, "/hang", h_hang, NULL, 0);
    wr_router_add(r, WR_METHOD_GET, "/bighead", h_bighead, NULL, 0);
    return r;
}

typedef wr_test_fixture fixture;

static int
setup_with(void **state, const wr_test_server_opts *opts)
{
    *state = wr_test_fixture_start(make_router(), opts);
    return 0;
}

static int
setup(void **state)
{
    return setup_with(state, NULL);
}

static int
setup_short_timeouts(void **state)
{
    wr_test_server_opts o = wr_test_server_defaults();
    o.http.header_timeout_ms = 200;
    o.http.idle_timeout_ms = 300;
    o.max_connections = 2;
    return setup_with(state, &o);
}

#define teardown wr_test_fixture_teardown

static char *
exchange(int port, const char *request)
{
    int fd = wr_test_connect(port);
    wr_test_send_str(fd, request);
    char *out = wr_test_recv_all(fd, 3000, NULL);
    close(fd);
    return out;
}

/* --- tests ----------------------------------------------------------------------------- */

static void
test_pipelined_in_order(void **state)
{
    fixture *f = *state;
    char *out = exchange(f->port, "GET /echo/one HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
                                  "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                                  "GET /echo/two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const char *a = strstr(out, "param=one");
    const char *b = strstr(out, "\"code\":\"not_found\"");
    const char *c = strstr(out, "len=3:abc");
    const char *d = strstr(out, "param=two");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);
    assert_true(a < b && b < c && c < d);
    assert_int_equal(wr_test_count(out, "HTTP/1.1 "), 4);
    free(out);
}

static void
test_keep_alive_sequential(void **state)
{
    fixture *f = *state;
    int fd = wr_test_connect(f->port);
    wr_buf rest;
    wr_buf_init(&rest);
    for (int i = 0; i < 20; i++) {
        wr_test_send_str(fd, "GET /echo/k HTTP/1.1\r\nHost: x\r\n\r\n");
        char *r = wr_test_recv_response(fd, &rest, 3000);
        assert_non_null(r);
        assert_non_null(strstr(r, "HTTP/1.1 200"));
        assert_non_null(strstr(r, "param=k"));
        free(r);
    }
    wr_buf_fini(&rest);
    close(fd);
}

/*
 * Finished requests are kept for the next ones (req.h, wr_req_pool): requests of every size on
 * two connections in turn — small and big bodies, a path parameter that outgrows the arena's
 * first chunk, a head bigger than the stack buffer — each answered with exactly its own data
 * (ASan poisons a kept request, so a stale pointer into one would be reported).
 */
static void
test_requests_reuse_cleanly(void **state)
{
    fixture *f = *state;
    int fds[2] = {wr_test_connect(f->port), wr_test_connect(f->port)};
    wr_buf rest[2];
    wr_buf_init(&rest[0]);
    wr_buf_init(&rest[1]);
    static char big[20000], param[1101];
    memset(param, 'p', sizeof(param) - 1);
    for (int i = 0; i < 40; i++) {
        int fd = fds[i % 2];
        wr_buf req, want;
        wr_buf_init(&req);
        wr_buf_init(&want);
        switch (i % 4) {
        case 0:   /* a small body */
        case 2: { /* a body bigger than a kept request's buffer */
            size_t n = i % 4 ? sizeof(big) : 17;
            memset(big, 'a' + i % 26, n);
            wr_buf_printf(&req, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
            wr_buf_append(&req, big, n);
            wr_buf_printf(&want, "len=%zu:", n);
            wr_buf_append(&want, big, n);
            break;
        }
        case 1:
            wr_buf_printf(&req, "GET /echo/%s?q=%d HTTP/1.1\r\nHost: x\r\n\r\n", param, i);
            wr_buf_printf(&want, "param=%s q=%d", param, i);
            break;
        default:
            wr_buf_append_str(&req, "GET /bighead HTTP/1.1\r\nHost: x\r\n\r\n");
            wr_buf_append_str(&want, "big");
            break;
        }
        wr_test_send(fd, req.data, req.len);
        char *r = wr_test_recv_response(fd, &rest[i % 2], 3000);
        assert_non_null(r);
        assert_non_null(strstr(r, "HTTP/1.1 200"));
        char *body = strstr(r, "\r\n\r\n");
        assert_non_null(body);
        assert_string_equal(body + 4, want.data);
        if (i % 4 == 3)
            assert_int_equal(wr_test_count(r, "hhhhhhhhhh"), 149);
        free(r);
        wr_buf_fini(&req);
        wr_buf_fini(&want);
    }
    for (int i = 0; i < 2; i++) {
        wr_buf_fini(&rest[i]);
        close(fds[i]);
    }
}

static void
test_chunked_request_body(void **state)
{
    fixture *f = *state;
    char *out = exchange(f->port, "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                  "Connection: close\r\n\r\n"
                                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    assert_non_null(strstr(out, "len=11:hello world"));
    free(out);
}

static void
test_expect_100_continue(void **state)
{
    fixture *f = *state;
    int fd = wr_test_connect(f->port);
    wr_test_send_str(fd, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                         "Expect: 100-continue\r\nConnection: close\r\n\r\n");
    wr_buf rest;
    wr_buf_init(&rest);
    char *cont = wr_test_recv_response(fd, &rest, 3000);
    assert_non_null(cont);
    assert_non_null(strstr(cont, "HTTP/1.1 100 Continue"));
    wr_test_send_str(fd, "data");
    char *r = wr_test_recv_response(fd, &rest, 3000);
    assert_non_null(strstr(r, "len=4:data"));
    free(cont);
    free(r);
    wr_buf_fini(&rest);
    close(fd);
}

static void
test_path_params_percent_decoded(void **state)
{
    fixture *f = *state;
    char *out = exchange(
        f->port, "GET /echo/a%2Fb%20c?q=x%2By+z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(out, "param=a/b c q=x+y z"));
    free(out);
}

/* Table of malformed or oversized requests, each with the status it must get. */
static void
test_bad_requests_table(void **state)
{
    fixture *f = *state;
    char big_head[20000];
    snprintf(big_head, sizeof(big_head), "GET /echo/x HTTP/1.1\r\nHost: x\r\nX-Big: %0*d\r\n\r\n",
             18000, 0);
    struct {
        const char *name;
        const char *request;
        const char *status;
        const char *code;
    } rows[] = {
        {"garbage request line", "GARBAGE\r\n\r\n", "HTTP/1.1 400", "bad_request"},
        {"bad version", "GET / HTTP/9.9x\r\n\r\n", "HTTP/1.1 400", "bad_request"},
        {"bad header syntax", "GET /echo/x HTTP/1.1\r\nBad Header\r\n\r\n", "HTTP/1.1 400",
         "bad_request"},
        {"bad chunk size", "POST /body HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
         "HTTP/1.1 400", "bad_request"},
        {"oversized head", big_head, "HTTP/1.1 431", "request_header_fields_too_large"},
        {"content-length over route limit",
         "POST /small HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890", "HTTP/1.1 413",
         "payload_too_large"},
        {"chunked body over route limit",
         "POST /small HTTP/1.1\r\nTransfer-Encoding: "
         "chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n",
         "HTTP/1.1 413", "payload_too_large"},
        {"bad percent-encoding in a parameter",
         "GET /echo/%zz HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 400", "bad_path"},
        {"unknown route", "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 404",
         "not_found"},
        {"wrong method", "PUT /echo/x HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 405",
         "method_not_allowed"},
        {"trailing slash", "GET /echo/x/ HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 404",
         "not_found"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *out = exchange(f->port, rows[i].request);
        if (strncmp(out, rows[i].status, strlen(rows[i].status)) != 0 ||
            !strstr(out, rows[i].code)) {
            fail_msg("row '%s': got '%.200s'", rows[i].name, out);
        }
        free(out);
    }
    /* The server survived all of it. */
    char *ok = exchange(f->port, "GET /echo/alive HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(ok, "param=alive"));
    free(ok);
}

static void
test_streaming_backpressure(void **state)
{
    fixture *f = *state;
    const size_t total = 64u << 20;
    int fd = wr_test_connect(f->port);
    char req[128];
    snprintf(req, sizeof(req), "GET /stream?n=%zu HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             total);
    atomic_store(&stream_paused, 0);
    wr_test_send_str(fd, req);
    /* Don't read: the handler must pause, once the connection is congested. */
    WR_TEST_WAIT_UNTIL(atomic_load(&stream_paused) > 0, 10000);
    size_t produced = atomic_load(&stream_sent);
    /* Kernel socket buffers plus the high-water mark, far below the 64 MiB it wants to send. */
    assert_true(produced < 16u << 20);
    size_t len = 0;
    char *all = wr_test_recv_all(fd, 20000, &len);
    assert_true(len > total); /* head + chunk framing + every byte */
    assert_int_equal(atomic_load(&stream_sent), total);
    assert_non_null(strstr(all, "transfer-encoding: chunked"));
    assert_non_null(strstr(all + len - 7, "\r\n0\r\n\r\n"));
    free(all);
    close(fd);
}

static void
test_disconnect_calls_on_close(void **state)
{
    fixture *f = *state;
    atomic_store(&stream_closed_early, 0);
    atomic_store(&hang_started, 0);
    int fd = wr_test_connect(f->port);
    wr_test_send_str(fd, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n");
    WR_TEST_WAIT_UNTIL(atomic_load(&hang_started), 5000); /* the handler holds the request */
    close(fd);
    WR_TEST_WAIT_UNTIL(atomic_load(&stream_closed_early), 5000);
}

static void
test_header_timeout(void **state)
{
    fixture *f = *state;
    int fd = wr_test_connect(f->port);
    wr_test_send_str(fd, "GET /echo/x HTTP/1.1\r\nHost: x\r\n"); /* never finished */
    char *out = wr_test_recv_all(fd, 3000, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 408"));
    free(out);
    close(fd);
}

static void
test_idle_keepalive_closes(void **state)
{
    fixture *f = *state;
    int fd = wr_test_connect(f->port);
    wr_test_send_str(fd, "GET /echo/x HTTP/1.1\r\nHost: x\r\n\r\n");
    /* recv_all returns at EOF: the response, then the server closes the idle connection. */
    char *out = wr_test_recv_all(fd, 3000, NULL);
    assert_non_null(strstr(out, "param=x"));
    free(out);
    /* A slowloris that never sends anything is cut off too. */
    int fd2 = wr_test_connect(f->port);
    char *none = wr_test_recv_all(fd2, 3000, NULL);
    assert_string_equal(none, "");
    free(none);
    close(fd2);
    close(fd);
}

/*
 * The connection's timeout is a deadline that every request moves (head timeout, none while
 * handled, idle timeout) while the timer is re-armed lazily (net/conn.c): requests closer
 * together than either timeout keep the connection open across several of the timer's
 * expiries, and a head started on a kept-alive connection still gets its 408.
 */
static void
test_timeouts_follow_each_request(void **state)
{
    fixture *f = *state;
    int fd = wr_test_connect(f->port);
    wr_buf rest;
    wr_buf_init(&rest);
    /* 16 requests 50 ms apart: 800 ms, past the 200 ms head and 300 ms idle timeouts. */
    for (int i = 0; i < 16; i++) {
        wr_test_send_str(fd, "GET /echo/x HTTP/1.1\r\nHost: x\r\n\r\n");
        char *resp = wr_test_recv_response(fd, &rest, 3000);
        assert_non_null(resp);
        assert_non_null(strstr(resp, "param=x"));
        free(resp);
        usleep(50 * 1000);
    }
    /* Then a head that never ends, on the same connection: the head timeout, not the idle one. */
    wr_test_send_str(fd, "GET /echo/x HTTP/1.1\r\nHost: x\r\n");
    char *out = wr_test_recv_all(fd, 3000, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 408"));
    free(out);
    wr_buf_fini(&rest);
    close(fd);
}

static void
test_max_connections_refused_cleanly(void **state)
{
    fixture *f = *state;
    /* An answered request proves a connection was accepted and counted. */
    int a = wr_test_connect(f->port);
    int b = wr_test_connect(f->port);
    wr_buf rest;
    wr_buf_init(&rest);
    for (int i = 0; i < 2; i++) {
        wr_test_send_str(i ? b : a, "GET /echo/x HTTP/1.1\r\nHost: x\r\n\r\n");
        char *ok = wr_test_recv_response(i ? b : a, &rest, 3000);
        assert_non_null(ok);
        assert_non_null(strstr(ok, "param=x"));
        free(ok);
    }
    wr_buf_fini(&rest);
    int c = wr_test_connect(f->port);
    char *out = wr_test_recv_all(c, 3000, NULL);
    assert_non_null(strstr(out, "HTTP/1.1 503"));
    assert_non_null(strstr(out, "\"code\":\"unavailable\""));
    free(out);
    close(a);
    close(b);
    close(c);
}

static void
test_shutdown_ends_streams(void **state)
{
    (void)state;
    atomic_store(&shutdown_seen, 0);
    atomic_store(&stream_sent, 0);
    wr_router *r = make_router();
    wr_test_server *ts = wr_test_server_start(r, NULL);
    int fd = wr_test_connect(wr_test_server_port(ts));
    wr_test_send_str(fd, "GET /stream?n=1000000000 HTTP/1.1\r\nHost: x\r\n\r\n");
    WR_TEST_WAIT_UNTIL(atomic_load(&stream_sent) > 0, 5000); /* the stream is going */
    wr_test_server_stop(ts, 5000); /* returns only once every connection is closed */
    assert_int_equal(atomic_load(&shutdown_seen), 1);
    close(fd);
    wr_router_free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_requests_reuse_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_alive_sequential, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_request_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_100_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_params_percent_decoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_calls_on_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_timeout, setup_short_timeouts, teardown),
        cmocka_unit_test_setup_teardown(test_idle_keepalive_closes, setup_short_timeouts, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts_follow_each_request, setup_short_timeouts,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_max_connections_refused_cleanly, setup_short_timeouts,
                                        teardown),
        cmocka_unit_test(test_shutdown_ends_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
