/*
 * http_support.h — runs a real wr_server with the HTTP layer on its own loop thread for tests,
 * and a blocking
 * loopback client to talk to it byte by byte.
 *
 * The router and every handler run on the server thread; tests only use sockets.
 */
#ifndef WR_TEST_HTTP_SUPPORT_H
#define WR_TEST_HTTP_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

#include "http/http.h"
#include "http/router.h"
#include "net/server.h"
#include "util/buf.h"

typedef struct wr_test_server wr_test_server;

/* The listener's and the HTTP layer's options of a test server. */
typedef struct wr_test_server_opts {
    size_t max_connections;
    wr_http_opts http;
} wr_test_server_opts;

/* Starts a server on 127.0.0.1:0 with `opts` (NULL = test defaults) and the given router. */
wr_test_server *wr_test_server_start(wr_router *router, const wr_test_server_opts *opts);
int wr_test_server_port(const wr_test_server *ts);
/* Graceful shutdown (bounded by timeout_ms), joins the thread, frees everything. */
void wr_test_server_stop(wr_test_server *ts, unsigned timeout_ms);
/* Default options used when opts is NULL. */
wr_test_server_opts wr_test_server_defaults(void);

/* A test server and the router it serves, as a cmocka fixture (state). */
typedef struct wr_test_fixture {
    wr_router *router;
    wr_test_server *ts;
    int port;
} wr_test_fixture;
/* Starts a server over `router` (the fixture takes ownership) with `opts` (NULL = defaults). */
wr_test_fixture *wr_test_fixture_start(wr_router *router, const wr_test_server_opts *opts);
/* A cmocka teardown: stops the server (2 s grace) and frees the router and the fixture. */
int wr_test_fixture_teardown(void **state);

/* Connects to 127.0.0.1:port; aborts the test on failure. Receive timeout is 5 s. */
int wr_test_connect(int port);
void wr_test_send(int fd, const void *data, size_t len);
void wr_test_send_str(int fd, const char *s);
/* Reads until the peer closes or `timeout_ms` passes; returns a malloc'd NUL-terminated string. */
char *wr_test_recv_all(int fd, unsigned timeout_ms, size_t *out_len);
/*
 * Reads exactly one HTTP/1.1 response (head + content-length or chunked body). Bytes past it
 * (pipelined responses) are kept in *rest for the next call; the caller frees rest. Returns a
 * malloc'd string of the whole response, or NULL on EOF/timeout.
 */
char *wr_test_recv_response(int fd, wr_buf *rest, unsigned timeout_ms);
/*
 * Waits for a condition the server thread sets (an atomic flag of a handler: "the handler
 * ran", "the stream paused"), checking every millisecond, and fails the test (cmocka) if it
 * does not hold within timeout_ms. A readiness signal, not a sleep: it returns as soon as the
 * state is reached.
 */
#define WR_TEST_WAIT_UNTIL(cond, timeout_ms)                                                       \
    do {                                                                                           \
        for (unsigned wait_ms_ = 0; !(cond) && wait_ms_ < (timeout_ms); wait_ms_++)                \
            usleep(1000);                                                                          \
        assert_true(cond);                                                                         \
    } while (0)
/* Counts occurrences of needle in haystack. */
int wr_test_count(const char *haystack, const char *needle);

#endif
