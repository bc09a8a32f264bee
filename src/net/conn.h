/*
 * conn.h — one accepted TCP connection: reads, buffered writes with back-pressure accounting,
 * one timer, and an orderly close. A protocol sits on top through wr_conn_proto and never
 * touches libuv directly: the listener's on_connection callback (server.h) attaches it, and
 * the HTTP layer (http/http.h) starts with HTTP/1.1 and may hand over to HTTP/2.
 *
 * Threading: loop thread only.
 * Ownership: the server owns connections. wr_conn_close() starts closing; proto->on_close is
 * called exactly once, after which the protocol must drop every pointer to the connection; the
 * memory is freed when libuv's close callbacks have run.
 * Writes first go to the socket directly; what the kernel does not take at once is queued,
 * copied, except shared pieces (wr_iov.ref), which are referenced: either way callers may reuse
 * their buffers at once. `pending` counts the queued bytes the kernel has not taken yet; once it
 * rises above WR_CONN_HIGH_WATER wr_conn_congested() turns true, and proto->on_drain is called
 * when it falls back below WR_CONN_LOW_WATER. A failed write closes the connection from the next
 * loop iteration (never inside the protocol's own call).
 */
#ifndef WR_NET_CONN_H
#define WR_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "util/rbuf.h"

#define WR_CONN_HIGH_WATER (64 * 1024)
#define WR_CONN_LOW_WATER (16 * 1024)

typedef struct wr_conn wr_conn;
typedef struct wr_server wr_server;

typedef struct wr_conn_proto {
    /* Bytes arrived; valid only during the call. */
    void (*on_read)(wr_conn *c, const char *data, size_t len);
    /* The peer half-closed or the read failed; the connection is being closed. */
    void (*on_close)(wr_conn *c);
    void (*on_drain)(wr_conn *c);
    void (*on_timeout)(wr_conn *c);
    /* The server is shutting down gracefully. */
    void (*on_shutdown)(wr_conn *c);
} wr_conn_proto;

struct wr_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    wr_server *srv;
    const wr_conn_proto *proto;
    void *proto_state;
    size_t pending;
    bool reading;
    bool closing;
    bool close_after_flush;
    bool failed;                  /* a write failed; the close is scheduled */
    struct sockaddr_storage peer; /* the client's address (zeroed when unknown) */
    int handles_open;
    uint64_t deadline;  /* wr_conn_set_timeout's, in loop time (ms); 0 = none */
    uint64_t timer_due; /* when the timer armed for the deadline fires; 0 = not armed for it */
    wr_conn *prev, *next;
};

/* Queues n bytes (copied). Ignored once the connection is closing. */
void wr_conn_write(wr_conn *c, const void *data, size_t n);
#define WR_CONN_MAX_IOV 8
/* Queues several buffers (copied) as one write; n_bufs <= WR_CONN_MAX_IOV. */
void wr_conn_writev(wr_conn *c, const uv_buf_t *bufs, size_t n_bufs);
/* Queues pieces as one write: borrowed ones are copied if the kernel does not take them at
 * once, shared ones (ref != NULL) are referenced until written. n <= WR_CONN_MAX_IOV. */
void wr_conn_write_iov(wr_conn *c, const wr_iov *parts, size_t n);
bool wr_conn_congested(const wr_conn *c);
void wr_conn_read_start(wr_conn *c);
void wr_conn_read_stop(wr_conn *c);
/* Arms the connection's single timer (0 = disarm); proto->on_timeout fires on expiry. */
void wr_conn_set_timeout(wr_conn *c, uint64_t ms);
/* Closes now, dropping unsent data. proto->on_close runs before this returns: a protocol must
 * not call it while its own state is still in use further up the stack (HTTP/1.1 and HTTP/2
 * close from a timer or once their processing has unwound). */
void wr_conn_close(wr_conn *c);
/* Closes once every queued byte has been written. */
void wr_conn_close_after_flush(wr_conn *c);

#endif
