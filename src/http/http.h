/*
 * http.h — the HTTP layer of one listener: its options (limits, timeouts, CORS, observation
 * hooks) and its router, shared by every connection the listener accepts. The listener
 * (net/server.h) knows no protocol: it hands each accepted connection to
 * wr_http_on_connection, which speaks HTTP/1.1 and switches to HTTP/2 (h2c prior knowledge)
 * when the first bytes are the HTTP/2 preface.
 *
 * Threading: loop thread only. Ownership: the wr_http borrows the router; it must outlive the
 * listener's connections (free it after the server's shutdown has completed).
 */
#ifndef WR_HTTP_HTTP_H
#define WR_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/router.h"
#include "net/conn.h"

typedef struct wr_http_opts {
    size_t max_header_bytes;    /* request line + headers (HTTP/2: the header list) */
    size_t max_body_bytes;      /* default per-route body limit */
    uint64_t header_timeout_ms; /* from a request's first byte to the end of its head */
    uint64_t body_timeout_ms;   /* from the end of the head to the end of the body, in all */
    uint64_t idle_timeout_ms;   /* keep-alive: no request in progress */
    bool cors;
    /*
     * Observation hooks (access log, Prometheus), loop thread, may be NULL. req_begin: a
     * request's head is complete and routed (req->route may be NULL when unrouted). req_end:
     * the request is about to be freed, answered or not (req->status 0 = never answered); it
     * is called for every request that began, and for those answered before their head was
     * complete (framing errors).
     */
    void (*req_begin)(void *ud, wr_req *req);
    void (*req_end)(void *ud, wr_req *req);
    void *hooks_ud;
} wr_http_opts;

typedef struct wr_http wr_http;

/* A new HTTP layer over `router` (borrowed). Never fails (allocation aborts). */
wr_http *wr_http_new(const wr_http_opts *opts, const wr_router *router);
/* NULL is a no-op. Only once no connection uses it any more. */
void wr_http_free(wr_http *http);

/*
 * For wr_server_opts.on_connection, with ud = a wr_http: attaches HTTP/1.1 (and, on the
 * preface, HTTP/2) to an accepted connection and starts reading.
 */
void wr_http_on_connection(void *ud, wr_conn *c);

#endif
