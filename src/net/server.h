/*
 * server.h — the listener: accepts TCP connections on one address, enforces the connection
 * limit, hands each connection to the HTTP layer, and runs graceful shutdown.
 *
 * Threading: loop thread only. The server does not own the loop or the router.
 */
#ifndef WR_NET_SERVER_H
#define WR_NET_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http/router.h"
#include "util/err.h"

typedef struct wr_server_opts {
    size_t max_connections;
    size_t max_header_bytes;
    size_t max_body_bytes;
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
} wr_server_opts;

typedef struct wr_server wr_server;

wr_server *wr_server_new(uv_loop_t *loop, const wr_server_opts *opts, const wr_router *router);
/*
 * Binds and listens on host:port (port 0 picks a free port, reported in *out_port).
 * Errors: WR_ERR_UNAVAILABLE with a message when the address cannot be bound.
 */
wr_err wr_server_listen(wr_server *srv, const char *host, int port, int *out_port,
                        wr_error *out_err);
/*
 * Graceful shutdown: stops accepting, closes idle connections, asks active ones to finish
 * (streaming handlers get on_shutdown), and force-closes whatever remains after timeout_ms.
 * `done` is called once every connection and the listener are closed.
 */
void wr_server_shutdown(wr_server *srv, uint64_t timeout_ms, void (*done)(void *ud), void *ud);
/* Frees the server; only after shutdown's done callback (or if listen never succeeded). */
void wr_server_free(wr_server *srv);
size_t wr_server_connection_count(const wr_server *srv);

/* For protocols: the options and router of the connection's server. */
const wr_server_opts *wr_server_options(const wr_server *srv);
const wr_router *wr_server_router(const wr_server *srv);
bool wr_server_draining(const wr_server *srv);
/* For protocols: call the observation hooks (see wr_server_opts). */
void wr_server_req_begin(wr_server *srv, wr_req *req);
void wr_server_req_end(wr_server *srv, wr_req *req);

#endif
