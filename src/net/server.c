/*
 * server.c — listener, connection list and graceful shutdown (see server.h).
 *
 * Invariant: every live wr_conn is on `conns`; `n_conns` counts them until their memory is
 * freed, so shutdown's done callback runs only when nothing of any connection remains.
 */
#include <stdlib.h>
#include <string.h>

#include "net/server_int.h"
#include "util/log.h"
#include "util/mem.h"

struct wr_server {
    uv_loop_t *loop;
    wr_server_opts opts;
    uv_tcp_t *listener;         /* heap: freed by its close callback */
    uv_timer_t *shutdown_timer; /* heap: freed by its close callback */
    bool draining;
    wr_conn *conns;
    size_t n_conns;
    void (*done)(void *);
    void *done_ud;
};

uv_loop_t *
wr_server_loop(wr_server *srv)
{
    return srv->loop;
}

bool
wr_server_draining(const wr_server *srv)
{
    return srv->draining;
}

size_t
wr_server_connection_count(const wr_server *srv)
{
    return srv->n_conns;
}

wr_server *
wr_server_new(uv_loop_t *loop, const wr_server_opts *opts)
{
    wr_server *srv = wr_xcalloc(1, sizeof(*srv));
    srv->loop = loop;
    srv->opts = *opts;
    return srv;
}

static void
maybe_done(wr_server *srv)
{
    if (!srv->draining || srv->n_conns > 0 || srv->listener)
        return;
    if (srv->shutdown_timer)
        uv_timer_stop(srv->shutdown_timer);
    if (srv->done) {
        void (*done)(void *) = srv->done;
        srv->done = NULL;
        done(srv->done_ud);
    }
}

void
wr_server_conn_freed(wr_server *srv, wr_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    srv->n_conns--;
    maybe_done(srv);
}

static void
refuse(wr_conn *c)
{
    static const char msg[] =
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
        "connection: close\r\ncontent-length: 62\r\n\r\n"
        "{\"code\":\"unavailable\",\"message\":\"too many open connections\"}";
    wr_conn_write(c, msg, sizeof(msg) - 1);
    wr_conn_close_after_flush(c);
}

static void
on_connection(uv_stream_t *server, int status)
{
    wr_server *srv = server->data;
    if (status < 0) {
        wr_log_warn("accept failed", " error=%s", uv_strerror(status));
        return;
    }
    wr_conn *c = wr_xmalloc(sizeof(*c));
    if (wr_conn_init(srv, c) != 0) {
        free(c);
        return;
    }
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        wr_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    int plen = sizeof(c->peer);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &plen) != 0)
        memset(&c->peer, 0, sizeof(c->peer));
    if (srv->draining || srv->n_conns > srv->opts.max_connections) {
        refuse(c);
        return;
    }
    srv->opts.on_connection(srv->opts.on_connection_ud, c);
}

static void
listener_closed(uv_handle_t *h)
{
    wr_server *srv = h->data;
    free(h);
    if (srv) {
        srv->listener = NULL;
        maybe_done(srv);
    }
}

static void
close_listener(wr_server *srv)
{
    if (srv->listener && !uv_is_closing((uv_handle_t *)srv->listener))
        uv_close((uv_handle_t *)srv->listener, listener_closed);
}

wr_err
wr_server_listen(wr_server *srv, const char *host, int port, int *out_port, wr_error *out_err)
{
    struct sockaddr_storage ss;
    int rc;
    if (strchr(host, ':'))
        rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss);
    else
        rc = uv_ip4_addr(strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, port,
                         (struct sockaddr_in *)&ss);
    if (rc)
        return wr_error_set(out_err, WR_ERR_UNAVAILABLE, "bad listen address %s: %s", host,
                            uv_strerror(rc));
    srv->listener = wr_xmalloc(sizeof(*srv->listener));
    uv_tcp_init(srv->loop, srv->listener);
    srv->listener->data = srv;
    rc = uv_tcp_bind(srv->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)srv->listener, 1024, on_connection);
    if (rc) {
        close_listener(srv);
        return wr_error_set(out_err, WR_ERR_UNAVAILABLE, "cannot listen on %s:%d: %s", host, port,
                            uv_strerror(rc));
    }
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_tcp_getsockname(srv->listener, (struct sockaddr *)&bound, &len);
    if (out_port)
        *out_port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                      : ((struct sockaddr_in *)&bound)->sin_port);
    return WR_OK;
}

void
wr_server_close_all(wr_server *srv)
{
    for (wr_conn *c = srv->conns; c; c = c->next)
        wr_conn_close(c);
}

static void
shutdown_expired(uv_timer_t *t)
{
    wr_server_close_all(t->data);
}

static void
timer_closed(uv_handle_t *h)
{
    free(h);
}

void
wr_server_shutdown(wr_server *srv, uint64_t timeout_ms, void (*done)(void *ud), void *ud)
{
    if (srv->draining)
        return;
    srv->draining = true;
    srv->done = done;
    srv->done_ud = ud;
    close_listener(srv);
    srv->shutdown_timer = wr_xmalloc(sizeof(*srv->shutdown_timer));
    uv_timer_init(srv->loop, srv->shutdown_timer);
    srv->shutdown_timer->data = srv;
    uv_timer_start(srv->shutdown_timer, shutdown_expired, timeout_ms, 0);
    uv_unref((uv_handle_t *)srv->shutdown_timer);
    /* Iterate over a snapshot-safe walk: on_shutdown may close (but not free) connections. */
    for (wr_conn *c = srv->conns; c; c = c->next)
        if (!c->closing && c->proto && c->proto->on_shutdown)
            c->proto->on_shutdown(c);
    maybe_done(srv);
}

void
wr_server_free(wr_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->shutdown_timer)
        uv_close((uv_handle_t *)srv->shutdown_timer, timer_closed);
    if (srv->listener) {
        /* Never shut down: detach the listener so its close callback does not touch srv. */
        srv->listener->data = NULL;
        close_listener(srv);
    }
    free(srv);
}
