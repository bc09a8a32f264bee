/*
 * server.h — the listener: accepts TCP connections on one address, enforces the connection
 * limit, hands each connection to the protocol through opts.on_connection, and runs graceful
 * shutdown. It knows no protocol: HTTP lives above it (http/http.h).
 *
 * Threading: loop thread only. The server does not own the loop.
 */
#ifndef WR_NET_SERVER_H
#define WR_NET_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/conn.h"
#include "util/err.h"

typedef struct wr_server_opts {
    size_t max_connections; /* beyond it, accepted connections get a 503 and are closed */
    /*
     * A connection was accepted and admitted: attach a protocol (set c->proto and
     * c->proto_state) and start reading. Loop thread; `ud` is on_connection_ud. Required.
     */
    void (*on_connection)(void *ud, wr_conn *c);
    void *on_connection_ud;
} wr_server_opts;

typedef struct wr_server wr_server;

wr_server *wr_server_new(uv_loop_t *loop, const wr_server_opts *opts);
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
/* Closes every connection now, dropping unsent data (what shutdown does once its time is up);
 * their memory goes once libuv's close callbacks have run. The listener stays open. */
void wr_server_close_all(wr_server *srv);
/* Frees the server; only after shutdown's done callback (or if listen never succeeded). */
void wr_server_free(wr_server *srv);
size_t wr_server_connection_count(const wr_server *srv);

/* True once wr_server_shutdown has been called. */
bool wr_server_draining(const wr_server *srv);

#endif
