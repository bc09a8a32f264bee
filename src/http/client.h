/*
 * client.h — an asynchronous HTTP client on the server's libuv loop: libcurl's multi interface,
 * driven by uv_poll (sockets) and one uv_timer (curl's timeouts), so no thread per request and no
 * blocking call on the loop. Connections are reused across requests (and multiplexed when the
 * endpoint speaks HTTP/2 over TLS).
 *
 * Two kinds of request:
 *   unary      the whole answer is collected (at most WR_HC_MAX_BODY bytes) and handed to
 *              on_done once;
 *   streaming  the answer's status comes to on_head, its bytes to on_data as they arrive —
 *              on_data returning false pauses the transfer (TCP back-pressure reaches the
 *              server) until wr_hc_resume — and on_end reports how it ended.
 * Every request ends with exactly one on_done (unary) or on_end (streaming) call, from a loop
 * callback, never from inside wr_hc_start — unless it is cancelled first (wr_hc_cancel), after
 * which no callback runs.
 *
 * Transport failures are reported as wr_err: UNAVAILABLE (connection refused, reset, DNS),
 * UPSTREAM_TIMEOUT (no answer in time), BAD_GATEWAY (a malformed or oversized answer). An HTTP
 * error status is not a failure here: the caller reads the status and the body.
 *
 * Threading: loop thread only. Ownership: options are copied at start.
 */
#ifndef WR_HTTP_CLIENT_H
#define WR_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util/err.h"

#define WR_HC_MAX_BODY (16u * 1024u * 1024u)

typedef struct wr_hc wr_hc;
typedef struct wr_hc_req wr_hc_req;

typedef struct wr_hc_opts {
    const char *method; /* "GET", "POST", … */
    const char *url;
    const char *const *headers; /* "Name: value" lines */
    size_t n_headers;
    const void *body; /* NULL for none */
    size_t body_len;
    uint64_t timeout_ms;         /* unary: the whole request; 0 = none */
    uint64_t connect_timeout_ms; /* 0 = libcurl's default */
    /* streaming: give up when fewer than 1 byte arrives in this many seconds (0 = never) */
    unsigned idle_timeout_s;
    /* streaming: give up (UPSTREAM_TIMEOUT) when the answer's head has not arrived this long
     * after the start (0 = never; checked about once a second, so set idle_timeout_s too) */
    uint64_t head_timeout_ms;
} wr_hc_opts;

typedef struct wr_hc_result {
    wr_err err;         /* WR_OK when an HTTP answer arrived (any status) */
    const char *detail; /* for a transport failure */
    long status;
    const char *body; /* NUL-terminated */
    size_t body_len;
} wr_hc_result;

typedef struct wr_hc_cbs {
    /* unary */
    void (*on_done)(void *ud, const wr_hc_result *res);
    /* streaming */
    void (*on_head)(void *ud, long status);
    bool (*on_data)(void *ud, const char *data, size_t len);
    void (*on_end)(void *ud, wr_err err, const char *detail);
} wr_hc_cbs;

/* A client for `loop`; curl_global_init must have run. */
wr_hc *wr_hc_new(uv_loop_t *loop);
/* Cancels every request (no callbacks) and frees the client once its handles are closed (the
 * loop must run once more). NULL is a no-op. */
void wr_hc_free(wr_hc *hc);

/* Starts a request; its callbacks run later. cbs->on_done set = unary, else streaming. */
wr_hc_req *wr_hc_start(wr_hc *hc, const wr_hc_opts *opts, const wr_hc_cbs *cbs, void *ud);
/* Streaming: resumes a transfer paused by on_data returning false. */
void wr_hc_resume(wr_hc_req *r);
/* Ends a request now; no callback of it runs afterwards. */
void wr_hc_cancel(wr_hc_req *r);

#endif
