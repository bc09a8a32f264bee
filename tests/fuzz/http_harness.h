/*
 * http_harness.h — runs one fuzz input through weir's real HTTP stack: a listener on
 * 127.0.0.1 (net/server.h) with the HTTP layer (http/http.h: HTTP/1.1, and HTTP/2 after the
 * preface) over a router whose handlers answer in every way a handler can (whole, streamed,
 * later from a timer, a streamed request body consumed piece by piece).
 *
 * Per input: a loopback TCP client connects, sends the input in chunks (the chunk size comes
 * from the input, so parsers see arbitrary read boundaries) while the loop runs and answers are
 * read and thrown away, lets the server finish, then resets the connection (a close with
 * SO_LINGER 0: no TIME_WAIT, since a fuzzing run makes more connections than there are
 * ephemeral ports), and the server closes whatever is left (wr_server_close_all); the loop runs
 * until every connection's memory is gone.
 * Sanitizers (ASan/UBSan, LeakSanitizer at exit) do the checking; the harness checks that no
 * connection outlives its input.
 *
 * Header-only so that each driver stays one file (CMakeLists.txt builds tests/fuzz/fuzz_*.c).
 */
#ifndef WR_FUZZ_HTTP_HARNESS_H
#define WR_FUZZ_HTTP_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "fuzz_check.h"
#include "http/http.h"
#include "http/router.h"
#include "net/server.h"
#include "util/mem.h"

static uv_loop_t fz_loop;
static wr_server *fz_srv;
static wr_http *fz_http;
static wr_router *fz_router;
static int fz_port;

static void
fz_hello(wr_req *req, void *ctx)
{
    (void)ctx;
    wr_resp_send(req, 200, "text/plain", "hi", 2);
}

static void
fz_echo(wr_req *req, void *ctx)
{
    (void)ctx;
    wr_resp_send(req, 200, "application/octet-stream", req->body.data, req->body.len);
}

static void
fz_stream(wr_req *req, void *ctx)
{
    (void)ctx;
    wr_resp_start(req, 200, "text/event-stream");
    for (int i = 0; i < 3; i++)
        wr_resp_write(req, "data: x\n\n", 9);
    wr_resp_end(req);
}

static void
fz_error(wr_req *req, void *ctx)
{
    (void)ctx;
    wr_resp_error(req, WR_ERR_STREAM_NOT_FOUND, req->n_params ? req->params[0] : "none");
}

/* Answers from a timer on a later loop iteration; a client that goes first detaches it. */
typedef struct fz_later {
    uv_timer_t timer;
    wr_req *req;
} fz_later;

static void
fz_later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void
fz_later_fire(uv_timer_t *t)
{
    fz_later *l = t->data;
    if (l->req) {
        l->req->on_close = NULL;
        wr_resp_send(l->req, 202, "text/plain", "later", 5);
    }
    uv_close((uv_handle_t *)&l->timer, fz_later_closed);
}

static void
fz_later_gone(wr_req *req)
{
    fz_later *l = req->ud;
    l->req = NULL;
}

static void
fz_later_start(wr_req *req, void *ctx)
{
    (void)ctx;
    fz_later *l = wr_xcalloc(1, sizeof(*l));
    l->req = req;
    req->ud = l;
    req->on_close = fz_later_gone;
    uv_timer_init(&fz_loop, &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, fz_later_fire, 0, 0);
}

/* A streamed request body, consumed as it comes; answered with its length at the end. */
static void
fz_body_piece(wr_req *req, const void *data, size_t len)
{
    (void)data;
    req->ud = (void *)((uintptr_t)req->ud + len);
    wr_req_consumed(req, len);
}

static void
fz_body_end(wr_req *req)
{
    char n[24];
    int k = snprintf(n, sizeof(n), "%zu", (size_t)(uintptr_t)req->ud);
    req->on_body = NULL;
    req->on_body_end = NULL;
    wr_resp_send(req, 200, "text/plain", n, (size_t)k);
}

static void
fz_upload(wr_req *req, void *ctx)
{
    (void)ctx;
    req->ud = NULL;
    req->on_body = fz_body_piece;
    req->on_body_end = fz_body_end;
}

static bool
fz_always(const wr_req *req)
{
    (void)req;
    return true;
}

static void
fz_init(void)
{
    if (fz_srv)
        return;
    uv_loop_init(&fz_loop);
    fz_router = wr_router_new();
    wr_router_add(fz_router, WR_METHOD_GET, "/hello", fz_hello, NULL, 0);
    wr_router_add(fz_router, WR_METHOD_POST, "/echo", fz_echo, NULL, 4096);
    wr_router_add(fz_router, WR_METHOD_GET, "/stream", fz_stream, NULL, 0);
    wr_router_add(fz_router, WR_METHOD_GET, "/later", fz_later_start, NULL, 0);
    wr_router_add(fz_router, WR_METHOD_GET, "/v1/streams/{stream}", fz_error, NULL, 0);
    wr_router_add_streaming(fz_router, WR_METHOD_POST, "/v1/streams/{stream}/records", fz_upload,
                            NULL, 0, fz_always);
    wr_http_opts ho = {
        .max_header_bytes = 4096,
        .max_body_bytes = 16384,
        .header_timeout_ms = 10000,
        .body_timeout_ms = 10000,
        .idle_timeout_ms = 10000,
        .cors = true,
    };
    fz_http = wr_http_new(&ho, fz_router);
    wr_server_opts so = {
        .max_connections = 16, .on_connection = wr_http_on_connection, .on_connection_ud = fz_http};
    fz_srv = wr_server_new(&fz_loop, &so);
    FUZZ_CHECK(wr_server_listen(fz_srv, "127.0.0.1", 0, &fz_port, NULL) == WR_OK);
}

/* Reads and drops whatever the server has sent. */
static void
fz_drain(int fd)
{
    char buf[65536];
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
}

static void
fz_spin(int fd, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        uv_run(&fz_loop, UV_RUN_NOWAIT);
        fz_drain(fd);
    }
}

/* Sends `data` over one connection, `chunk` bytes at a time (0 = all at once). */
static void
fz_run(const uint8_t *data, size_t size, size_t chunk)
{
    fz_init();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fz_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* libFuzzer's timeout alarm can interrupt a blocking connect (EINTR), which then goes on in
     * the background: connect without blocking and wait for the handshake either way. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        FUZZ_CHECK(errno == EINPROGRESS || errno == EINTR);
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n;
        do
            n = poll(&p, 1, 10000);
        while (n < 0 && errno == EINTR);
        int err = 0;
        socklen_t len = sizeof(err);
        FUZZ_CHECK(n == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0);
    }
    for (int i = 0; i < 1000 && wr_server_connection_count(fz_srv) == 0; i++)
        uv_run(&fz_loop, UV_RUN_NOWAIT);
    FUZZ_CHECK(wr_server_connection_count(fz_srv) == 1);
    if (chunk == 0)
        chunk = size ? size : 1;
    for (size_t off = 0; off < size;) {
        size_t n = size - off < chunk ? size - off : chunk;
        ssize_t w = send(fd, data + off, n, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            break; /* the server closed the connection */
        if (w > 0)
            off += (size_t)w;
        fz_spin(fd, 2);
    }
    fz_spin(fd, 8);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    for (int i = 0; i < 16 && wr_server_connection_count(fz_srv) > 0; i++)
        uv_run(&fz_loop, UV_RUN_NOWAIT);
    wr_server_close_all(fz_srv);
    for (int i = 0; i < 1000 && wr_server_connection_count(fz_srv) > 0; i++)
        uv_run(&fz_loop, UV_RUN_NOWAIT);
    FUZZ_CHECK(wr_server_connection_count(fz_srv) == 0);
    uv_run(&fz_loop, UV_RUN_NOWAIT); /* timers of answers that lost their request */
}

#endif
