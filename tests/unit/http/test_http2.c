/*
 * test_http2.c — HTTP/2 (h2c) time limits over a real loopback socket, with millisecond
 * timeouts (the command line only takes whole seconds; tests/e2e/security-h2.test.mjs drives the
 * binary with those). The client is an nghttp2 client session on a blocking socket.
 *
 * What stays true: a connection that never completes a request head is closed after the header
 * timeout, PINGs or not; a request body that is not complete within the body timeout is
 * answered 408; a connection whose streams are over is closed after the idle timeout; ordinary
 * requests are unaffected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "support/http_support.h"
#include "util/mem.h"

#define HEADER_MS 200
#define BODY_MS 300
#define IDLE_MS 1500

/* --- server side ------------------------------------------------------------------------- */

static void
h_body(wr_req *req, void *ctx)
{
    (void)ctx;
    char out[64];
    int n = snprintf(out, sizeof(out), "len=%zu", req->body.len);
    wr_resp_send(req, 200, "text/plain", out, (size_t)n);
}

typedef wr_test_fixture fixture;

static int
setup(void **state)
{
    wr_router *r = wr_router_new();
    wr_router_add(r, WR_METHOD_POST, "/body", h_body, NULL, 0);
    wr_test_server_opts o = wr_test_server_defaults();
    o.http.header_timeout_ms = HEADER_MS;
    o.http.body_timeout_ms = BODY_MS;
    o.http.idle_timeout_ms = IDLE_MS;
    *state = wr_test_fixture_start(r, &o);
    return 0;
}

#define teardown wr_test_fixture_teardown

/* --- a minimal blocking h2c client --------------------------------------------------------- */

typedef struct client {
    int fd;
    nghttp2_session *s;
    bool eof; /* the server closed the connection */
    int status;
    bool stream_closed;
    char body[256];
    size_t body_len;
} client;

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static ssize_t
send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)s;
    (void)flags;
    client *c = ud;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    return n < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int
header_cb(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
          const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)s;
    (void)frame;
    (void)flags;
    (void)valuelen;
    client *c = ud;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0)
        c->status = atoi((const char *)value); /* nghttp2 NUL-terminates values */
    return 0;
}

static int
data_cb(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *ud)
{
    (void)s;
    (void)flags;
    (void)id;
    client *c = ud;
    size_t room = sizeof(c->body) - 1 - c->body_len;
    size_t n = len < room ? len : room;
    memcpy(c->body + c->body_len, data, n);
    c->body_len += n;
    c->body[c->body_len] = '\0';
    return 0;
}

static int
close_cb(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
    (void)s;
    (void)id;
    (void)code;
    ((client *)ud)->stream_closed = true;
    return 0;
}

static void
client_open(client *c, int port)
{
    memset(c, 0, sizeof(*c));
    c->fd = wr_test_connect(port);
    nghttp2_session_callbacks *cbs;
    assert_int_equal(nghttp2_session_callbacks_new(&cbs), 0);
    nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
    nghttp2_session_callbacks_set_on_header_callback(cbs, header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, data_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, close_cb);
    assert_int_equal(nghttp2_session_client_new(&c->s, cbs, c), 0);
    nghttp2_session_callbacks_del(cbs);
    assert_int_equal(nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, NULL, 0), 0);
    assert_int_equal(nghttp2_session_send(c->s), 0);
}

static void
client_close(client *c)
{
    nghttp2_session_del(c->s);
    close(c->fd);
}

/* Exchanges frames for up to `ms`, or until *until turns true or the server closes. */
static void
client_run(client *c, unsigned ms, const bool *until)
{
    uint64_t end = now_ms() + ms;
    while (!c->eof && !(until && *until)) {
        nghttp2_session_send(c->s);
        uint64_t now = now_ms();
        if (now >= end)
            return;
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        if (poll(&p, 1, (int)(end - now)) <= 0)
            continue;
        char buf[16384];
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            c->eof = true;
            return;
        }
        nghttp2_session_mem_recv(c->s, (const uint8_t *)buf, (size_t)n);
    }
}

static const nghttp2_nv post_body[] = {
    {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, NGHTTP2_NV_FLAG_NONE},
    {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, NGHTTP2_NV_FLAG_NONE},
    {(uint8_t *)":authority", (uint8_t *)"t", 10, 1, NGHTTP2_NV_FLAG_NONE},
    {(uint8_t *)":path", (uint8_t *)"/body", 5, 5, NGHTTP2_NV_FLAG_NONE},
};

/* --- tests ----------------------------------------------------------------------------- */

static void
test_preface_only_closes_after_header_timeout(void **state)
{
    fixture *f = *state;
    client c;
    client_open(&c, f->port);
    uint64_t t0 = now_ms();
    client_run(&c, 3000, NULL);
    uint64_t took = now_ms() - t0;
    assert_true(c.eof);
    /* The header timeout, not the (longer) idle timeout. */
    assert_true(took >= HEADER_MS / 2 && took < HEADER_MS + 1000);
    client_close(&c);
}

static void
test_pings_do_not_keep_a_connection_alive(void **state)
{
    fixture *f = *state;
    client c;
    client_open(&c, f->port);
    uint64_t t0 = now_ms();
    for (int i = 0; i < 60 && !c.eof; i++) {
        nghttp2_submit_ping(c.s, NGHTTP2_FLAG_NONE, NULL);
        client_run(&c, 50, NULL);
    }
    assert_true(c.eof);
    assert_true(now_ms() - t0 < HEADER_MS + 1000);
    client_close(&c);
}

static void
test_unfinished_body_gets_408_then_idle_close(void **state)
{
    fixture *f = *state;
    client c;
    client_open(&c, f->port);
    uint64_t t0 = now_ms();
    /* HEADERS without END_STREAM: the body never comes. */
    assert_true(nghttp2_submit_headers(c.s, NGHTTP2_FLAG_NONE, -1, NULL, post_body, 4, NULL) > 0);
    client_run(&c, 3000, &c.stream_closed);
    assert_true(c.stream_closed);
    assert_int_equal(c.status, 408);
    assert_non_null(strstr(c.body, "\"code\":\"request_timeout\""));
    assert_true(now_ms() - t0 >= BODY_MS / 2 && now_ms() - t0 < BODY_MS + 1500);
    /* No stream left: the idle timeout closes the connection. */
    t0 = now_ms();
    client_run(&c, 3000, NULL);
    assert_true(c.eof);
    assert_true(now_ms() - t0 < IDLE_MS + 1500);
    client_close(&c);
}

static ssize_t
read_hello(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
           nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)len;
    (void)src;
    (void)ud;
    memcpy(buf, "hello", 5);
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 5;
}

static void
test_complete_request_is_answered(void **state)
{
    fixture *f = *state;
    client c;
    client_open(&c, f->port);
    nghttp2_data_provider dp = {.read_callback = read_hello};
    assert_true(nghttp2_submit_request(c.s, NULL, post_body, 4, &dp, NULL) > 0);
    client_run(&c, 3000, &c.stream_closed);
    assert_true(c.stream_closed);
    assert_int_equal(c.status, 200);
    assert_string_equal(c.body, "len=5");
    assert_false(c.eof);
    client_close(&c);
}

static void
test_header_block_never_finished_closes(void **state)
{
    fixture *f = *state;
    int fd = wr_test_connect(f->port);
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    /* SETTINGS (empty), then HEADERS on stream 1 without END_HEADERS: :method GET, :scheme
     * http, :path / from the static table. No CONTINUATION follows. */
    static const unsigned char frames[] = {0, 0, 0, 4, 0, 0, 0, 0,    0,    0,   0,
                                           3, 1, 0, 0, 0, 0, 1, 0x82, 0x86, 0x84};
    wr_test_send(fd, preface, sizeof(preface) - 1);
    wr_test_send(fd, frames, sizeof(frames));
    uint64_t t0 = now_ms();
    char *out = wr_test_recv_all(fd, 3000, NULL); /* returns at EOF */
    assert_true(now_ms() - t0 < HEADER_MS + 1000);
    free(out);
    close(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_preface_only_closes_after_header_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_pings_do_not_keep_a_connection_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unfinished_body_gets_408_then_idle_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_complete_request_is_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_block_never_finished_closes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
