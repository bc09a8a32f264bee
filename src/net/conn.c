/*
 * conn.c — see conn.h. Writes first try the socket directly (uv_try_write) and queue only what
 * the kernel did not take: copied pieces into one heap block, shared pieces (wr_rbuf) by
 * reference; the write callback frees the block and drops the references. `pending` is the sum
 * of the queued bytes, shared ones included.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "net/server_int.h"
#include "util/mem.h"
#include "util/rbuf.h"

/* A queued write. Behind the struct, in one allocation: n_bufs uv_buf_t, n_bufs references (NULL
 * for copied pieces) and the copied bytes, which the copied pieces' bufs point into. */
typedef struct write_req {
    uv_write_t req;
    wr_conn *conn;
    size_t len;
    unsigned n_bufs;
    uv_buf_t *bufs;
    wr_rbuf **refs;
} write_req;

static void
handle_closed(uv_handle_t *h)
{
    wr_conn *c = h->data;
    if (--c->handles_open == 0)
        wr_server_conn_freed(c->srv, c);
}

/*
 * The protocol's timeout is a deadline (c->deadline, loop time in ms; 0 = none) that HTTP moves
 * three times per request (head timeout, none while handling, idle timeout). The timer is only
 * restarted when the deadline comes earlier than where the timer is armed (c->timer_due); when
 * it fires early for a deadline that moved later it re-arms for the rest, and with no deadline
 * it does nothing. So a busy keep-alive connection touches the loop's timer heap about once per
 * timeout period instead of three times per request.
 */
static void
on_timer(uv_timer_t *t)
{
    wr_conn *c = t->data;
    c->timer_due = 0;
    if (c->closing || c->deadline == 0)
        return;
    uint64_t now = uv_now(t->loop);
    if (now < c->deadline) {
        c->timer_due = c->deadline;
        uv_timer_start(&c->timer, on_timer, c->deadline - now, 0);
        return;
    }
    c->deadline = 0;
    if (c->proto && c->proto->on_timeout)
        c->proto->on_timeout(c);
}

int
wr_conn_init(wr_server *srv, wr_conn *c)
{
    memset(c, 0, sizeof(*c));
    c->srv = srv;
    uv_loop_t *loop = wr_server_loop(srv);
    int rc = uv_tcp_init(loop, &c->tcp);
    if (rc)
        return rc;
    c->tcp.data = c;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->handles_open = 2;
    return 0;
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    /* One reusable read buffer per loop thread: protocols copy what they keep. */
    static _Thread_local char block[64 * 1024];
    buf->base = block;
    buf->len = sizeof(block);
}

static void
read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    wr_conn *c = s->data;
    if (nread > 0) {
        if (!c->closing && c->proto)
            c->proto->on_read(c, buf->base, (size_t)nread);
        return;
    }
    if (nread < 0)
        wr_conn_close(c);
}

void
wr_conn_read_start(wr_conn *c)
{
    if (c->reading || c->closing)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0)
        c->reading = true;
}

void
wr_conn_read_stop(wr_conn *c)
{
    if (!c->reading)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

static void
finish_close(wr_conn *c)
{
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    uv_close((uv_handle_t *)&c->tcp, handle_closed);
}

static void fail_soon(wr_conn *c);

static void
write_req_free(write_req *w)
{
    for (unsigned i = 0; i < w->n_bufs; i++)
        wr_rbuf_unref(w->refs[i]);
    free(w);
}

static void
write_cb(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    wr_conn *c = w->conn;
    size_t before = c->pending;
    c->pending -= w->len;
    write_req_free(w);
    if (c->closing) {
        if (c->close_after_flush && c->pending == 0) {
            c->close_after_flush = false;
            finish_close(c);
        }
        return;
    }
    if (status < 0) {
        fail_soon(c);
        return;
    }
    if (before > WR_CONN_LOW_WATER && c->pending <= WR_CONN_LOW_WATER && c->proto &&
        c->proto->on_drain)
        c->proto->on_drain(c);
}

static void
fail_cb(uv_timer_t *t)
{
    wr_conn_close(t->data);
}

/*
 * A write failed. Closing right here would free the protocol's state under its feet (writes
 * happen deep inside protocol code), so the close runs from the next loop iteration instead.
 */
static void
fail_soon(wr_conn *c)
{
    c->failed = true;
    wr_conn_read_stop(c);
    uv_timer_start(&c->timer, fail_cb, 0, 0);
}

/*
 * Queues what the kernel did not take of parts[], `skip` bytes in: copied pieces are copied into
 * the request, shared ones referenced.
 */
static void
queue_rest(wr_conn *c, const wr_iov *parts, size_t n, size_t skip, size_t total)
{
    size_t copied = 0, n_bufs = 0, s = skip;
    for (size_t i = 0; i < n; i++) {
        if (s >= parts[i].len) {
            s -= parts[i].len;
            continue;
        }
        n_bufs++;
        if (!parts[i].ref)
            copied += parts[i].len - s;
        s = 0;
    }
    write_req *w =
        wr_xmalloc(sizeof(*w) + n_bufs * (sizeof(uv_buf_t) + sizeof(wr_rbuf *)) + copied);
    w->conn = c;
    w->len = total - skip;
    w->n_bufs = 0;
    w->bufs = (uv_buf_t *)(w + 1);
    w->refs = (wr_rbuf **)(w->bufs + n_bufs);
    char *data = (char *)(w->refs + n_bufs);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = parts[i].data;
        size_t len = parts[i].len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        p += skip;
        len -= skip;
        skip = 0;
        if (parts[i].ref) {
            w->bufs[w->n_bufs] = uv_buf_init((char *)p, (unsigned)len);
            w->refs[w->n_bufs++] = wr_rbuf_ref(parts[i].ref);
        } else {
            memcpy(data + off, p, len);
            w->bufs[w->n_bufs] = uv_buf_init(data + off, (unsigned)len);
            w->refs[w->n_bufs++] = NULL;
            off += len;
        }
    }
    c->pending += w->len;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, w->bufs, w->n_bufs, write_cb) != 0) {
        c->pending -= w->len;
        write_req_free(w);
        fail_soon(c);
    }
}

void
wr_conn_write_iov(wr_conn *c, const wr_iov *parts, size_t n)
{
    if (c->closing || c->failed)
        return;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += parts[i].len;
    if (total == 0)
        return;
    assert(n <= WR_CONN_MAX_IOV);
    size_t skip = 0;
    if (c->pending == 0) {
        uv_buf_t bufs[WR_CONN_MAX_IOV];
        size_t k = 0;
        for (size_t i = 0; i < n && k < WR_CONN_MAX_IOV; i++)
            if (parts[i].len)
                bufs[k++] = uv_buf_init((char *)parts[i].data, (unsigned)parts[i].len);
        int r = uv_try_write((uv_stream_t *)&c->tcp, bufs, (unsigned)k);
        if (r > 0)
            skip = (size_t)r;
        if (skip == total)
            return;
    }
    queue_rest(c, parts, n, skip, total);
}

void
wr_conn_writev(wr_conn *c, const uv_buf_t *bufs, size_t n_bufs)
{
    wr_iov parts[WR_CONN_MAX_IOV];
    size_t n = n_bufs < WR_CONN_MAX_IOV ? n_bufs : WR_CONN_MAX_IOV;
    for (size_t i = 0; i < n; i++)
        parts[i] = (wr_iov){bufs[i].base, bufs[i].len, NULL};
    wr_conn_write_iov(c, parts, n);
}

void
wr_conn_write(wr_conn *c, const void *data, size_t n)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)n);
    wr_conn_writev(c, &b, 1);
}

bool
wr_conn_congested(const wr_conn *c)
{
    return c->pending > WR_CONN_HIGH_WATER;
}

void
wr_conn_set_timeout(wr_conn *c, uint64_t ms)
{
    if (c->closing || c->failed)
        return;
    if (ms == 0) {
        c->deadline = 0; /* the armed timer, if any, finds no deadline (on_timer) */
        return;
    }
    c->deadline = uv_now(c->timer.loop) + ms;
    if (c->timer_due && c->timer_due <= c->deadline && uv_is_active((uv_handle_t *)&c->timer))
        return;
    c->timer_due = c->deadline;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void
begin_close(wr_conn *c)
{
    c->closing = true;
    wr_conn_read_stop(c);
    uv_timer_stop(&c->timer);
    const wr_conn_proto *p = c->proto;
    c->proto = NULL;
    if (p && p->on_close)
        p->on_close(c);
}

void
wr_conn_close(wr_conn *c)
{
    if (c->closing) {
        if (c->close_after_flush) {
            c->close_after_flush = false;
            finish_close(c);
        }
        return;
    }
    begin_close(c);
    finish_close(c);
}

static void
flush_timeout(uv_timer_t *t)
{
    wr_conn *c = t->data;
    if (c->close_after_flush) {
        c->close_after_flush = false;
        finish_close(c);
    }
}

void
wr_conn_close_after_flush(wr_conn *c)
{
    if (c->closing)
        return;
    begin_close(c);
    if (c->pending == 0) {
        finish_close(c);
        return;
    }
    /* write_cb finishes the close once the queued bytes are out; a peer that never reads
     * gets cut off after a grace period. */
    c->close_after_flush = true;
    uv_timer_start(&c->timer, flush_timeout, 5000, 0);
}
