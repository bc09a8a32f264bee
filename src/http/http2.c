/*
 * http2.c — HTTP/2 (h2c) on a wr_conn using nghttp2 (see http2.h).
 *
 * Ownership: each stream (h2s) owns its wr_req. Both live until nghttp2 reports the stream
 * closed, or until the connection goes away; a handler that is still working then gets
 * req->on_close.
 *
 * Re-entrancy. Nothing is freed under a caller:
 *  - callbacks that could re-enter nghttp2 (handlers answering synchronously, on_drain) never run
 *    inside nghttp2 callbacks: dispatches, body ends and drains are queued and run after
 *    mem_recv/mem_send return;
 *  - a stream that nghttp2 closes is only marked `closed` (its budgets are settled at once); it
 *    is freed, and its handler told, by reap() at the end of the current connection callback
 *    (on_read, on_drain, on_timeout, on_shutdown) — or, when the close happened under a call
 *    from handler code, from the connection timer a millisecond later;
 *  - a fatal session error marks the connection `dead`; the timer closes it.
 *
 * Time limits, as for HTTP/1.1 (server.h), from loop time (uv_now). Each stream has a deadline:
 * header_timeout_ms from its HEADERS to the end of its header block, then body_timeout_ms for
 * the whole body (a trickle does not extend it). A body that misses it is answered 408 and the
 * stream reset; a header block that misses it (no CONTINUATION can interleave, so the
 * connection is stuck) closes the connection. A stream has no deadline once dispatched: a
 * handler owns it, and a streaming-body route (s2s append sessions) is dispatched at its head.
 * A connection without streams has one deadline: header_timeout_ms after it began (no request
 * yet), idle_timeout_ms after its last stream ended. PINGs and SETTINGS extend neither. The one
 * connection timer is armed for the earliest deadline and re-evaluated whenever it fires.
 *
 * Request bodies. Stream-level credit is returned as bytes arrive (non-streaming) or as the
 * handler calls wr_req_consumed (streaming; bytes before dispatch wait in req->body, bounded by
 * the stream window). Connection-level credit for non-streaming bodies is returned only while
 * the connection's undispatched body bytes are within its budget (max_body_bytes, or the
 * stream's own route limit if larger, so one maximal body always fits); past it the credit is
 * held, the connection window closes and the peer must stop. Held credit is returned as bodies
 * are released (dispatched, refused, reset). If the peer is blocked with credit held for bodies
 * that cannot complete (every one waits on the others), the youngest of them is refused with a
 * retryable 503 so that the older ones can progress; waiting would only end in 408s.
 *
 * Responses. A stream's output is a queue of pieces: small copied pieces, and references to
 * shared blocks (wr_iov.ref) that are released once sent. nghttp2's data provider copies out of
 * that queue into its frame buffer; those copies are in flight to the socket, which flush()
 * feeds only while it is not congested (WR_CONN_HIGH_WATER), so they stay bounded. (Sending the
 * references themselves with NGHTTP2_DATA_FLAG_NO_COPY would save that one copy at the cost of
 * hand-written DATA framing and padding; a stalled reader already holds references only.)
 * wr_resp_write() returns false once the stream has more than STREAM_HIGH_WATER queued, or once
 * the connection has more than CONN_OUT_BUDGET queued over all its streams and this stream has
 * bytes waiting too; a stream whose peer is reading empties its queue at each write and is not
 * held back by a stalled neighbour. A paused stream gets on_drain when its queue is below
 * STREAM_LOW_WATER and either empty or the connection total is below CONN_OUT_LOW_WATER.
 *
 * Memory per connection, then (bounds that hold whatever the peer does):
 *   request heads        ≤ MAX_CONCURRENT_STREAMS × max_header_bytes;
 *   undispatched bodies  ≤ max(max_body_bytes, largest route limit) + CONN_WINDOW (8 MiB);
 *   queued responses     ≤ CONN_OUT_BUDGET (1 MiB) + per stream, the one write made before it
 *                          was told to pause, or a whole unary answer (wr_resp_send cannot be
 *                          paused); shared pieces are counted per stream but exist once;
 *   in flight            ≤ WR_CONN_HIGH_WATER + one nghttp2 send buffer.
 */
#include "http/http2.h"

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "http/req.h"
#include "http/router.h"
#include "util/log.h"
#include "util/mem.h"

#define STREAM_HIGH_WATER (256 * 1024)
#define STREAM_LOW_WATER (64 * 1024)
#define CONN_OUT_BUDGET (1024 * 1024)
#define CONN_OUT_LOW_WATER (512 * 1024)
#define MAX_CONCURRENT_STREAMS 256
#define STREAM_WINDOW (1 << 20)
/* Eight streams' windows: one stream still runs at full speed, and undispatched bodies cost at
 * most this much beyond the body budget. */
#define CONN_WINDOW (8 << 20)
/* Below this much connection window (one default-sized DATA frame) the peer counts as blocked. */
#define BLOCKED_WINDOW 16384
#define PIECE_MIN 4096

typedef struct h2 h2;

/* Queued response bytes: `len` unsent bytes at `data`, inside `ref` or copied behind the struct. */
typedef struct piece {
    struct piece *next;
    wr_rbuf *ref;
    const char *data;
    size_t len;
    size_t cap; /* copied pieces: bytes allocated behind the struct */
    char bytes[];
} piece;

typedef struct h2s {
    h2 *h;
    int32_t id;
    wr_req req;
    size_t head_bytes;
    size_t body_limit;
    uint64_t deadline; /* loop ms; 0 = none */
    bool head_done;    /* the header block is complete */
    bool dispatched;   /* the handler has been called */
    bool finished;     /* the response is complete (send or end) */
    bool request_done; /* END_STREAM received */
    bool discard_body;
    bool closed;        /* nghttp2 closed the stream; reap() frees it */
    bool failed;        /* the response could not be submitted; the stream is being reset */
    wr_err pending_err; /* answer this instead of calling a handler */
    char allow[96];
    bool budgeted;     /* req->body counts toward h->body_buffered */
    size_t held;       /* of those, bytes whose connection credit is held */
    size_t unconsumed; /* streaming body bytes the handler has not yet consumed */
    piece *out_head, *out_tail;
    size_t out_bytes; /* response bytes queued, not yet taken by nghttp2 */
    bool out_eof;
    bool deferred;  /* the data provider is waiting for bytes */
    bool congested; /* the handler was told to pause */
    bool queued;    /* on the work queue */
    bool want_dispatch, want_drain, want_body_end;
    struct h2s *next, *prev; /* all streams of the connection, newest first */
    struct h2s *qnext;       /* work queue */
} h2s;

struct h2 {
    wr_conn *conn;
    const wr_http *http;
    nghttp2_session *session;
    h2s *streams;
    h2s *queue;
    size_t n_streams;
    size_t n_zombies;   /* streams closed but not yet reaped */
    size_t n_deadlines; /* streams with a deadline */
    uint64_t idle_at;   /* with no streams: close then (loop ms; 0 = never) */
    uint64_t timer_at;  /* what the connection timer is armed for (0 = disarmed) */
    size_t body_budget;
    size_t body_buffered; /* undispatched non-streaming body bytes */
    size_t held;          /* sum of h2s.held */
    size_t unconsumed;    /* sum of h2s.unconsumed */
    size_t out_bytes;     /* sum of h2s.out_bytes */
    bool wake;            /* look for paused streams that may produce again */
    bool shutting_down;
    bool in_io;    /* inside mem_recv: defer sending */
    bool in_flush; /* flush() is running: a nested call only asks for another round */
    bool again;
    bool closing;
    bool done; /* the session is over; close from the timer */
    bool dead; /* a fatal session error; close (dropping output) from the timer */
};

static const wr_proto_ops h2_ops;
static void flush(h2 *h);
static void rearm(h2 *h);

static const wr_http_opts *
opts_of(h2 *h)
{
    return &h->http->opts;
}

static uint64_t
now_ms(h2 *h)
{
    return uv_now(h->conn->tcp.loop);
}

/* An absolute deadline `ms` from now; 0 (none) when the limit is 0. */
static uint64_t
deadline_in(h2 *h, uint64_t ms)
{
    return ms ? now_ms(h) + ms : 0;
}

static void
set_deadline(h2 *h, h2s *s, uint64_t at)
{
    if (s->deadline == 0 && at != 0)
        h->n_deadlines++;
    else if (s->deadline != 0 && at == 0)
        h->n_deadlines--;
    s->deadline = at;
}

static void
enqueue(h2s *s)
{
    if (s->queued)
        return;
    s->queued = true;
    s->qnext = s->h->queue;
    s->h->queue = s;
}

static void
unqueue(h2 *h, h2s *s)
{
    if (!s->queued)
        return;
    for (h2s **pp = &h->queue; *pp; pp = &(*pp)->qnext)
        if (*pp == s) {
            *pp = s->qnext;
            break;
        }
    s->queued = false;
}

/* Marks the connection unusable; the timer closes it (closing here would free h under callers). */
static void
die(h2 *h, const char *what, int rc)
{
    wr_log_warn("http2 session failed", " step=%s error=%s", what, nghttp2_strerror(rc));
    h->dead = true;
    wr_conn_read_stop(h->conn);
    rearm(h);
}

/* A session call that should not fail did (only memory, with nghttp2's own allocator): the
 * connection is given up, from the timer. */
static void
check(h2 *h, const char *what, int rc)
{
    if (rc != 0)
        die(h, what, rc);
}

/* --- response queue ---------------------------------------------------------------------- */

static void
out_push(h2 *h, h2s *s, const wr_iov *p)
{
    if (p->len == 0)
        return;
    s->out_bytes += p->len;
    h->out_bytes += p->len;
    piece *t = s->out_tail;
    if (p->ref == NULL && t && t->ref == NULL) {
        size_t used = (size_t)(t->data - t->bytes) + t->len;
        if (t->cap - used >= p->len) {
            memcpy(t->bytes + used, p->data, p->len);
            t->len += p->len;
            return;
        }
    }
    piece *n;
    if (p->ref) {
        n = wr_xmalloc(sizeof(*n));
        n->ref = wr_rbuf_ref(p->ref);
        n->data = p->data;
        n->cap = 0;
    } else {
        size_t cap = p->len < PIECE_MIN ? PIECE_MIN : p->len;
        n = wr_xmalloc(sizeof(*n) + cap);
        n->ref = NULL;
        memcpy(n->bytes, p->data, p->len);
        n->data = n->bytes;
        n->cap = cap;
    }
    n->len = p->len;
    n->next = NULL;
    if (t)
        t->next = n;
    else
        s->out_head = n;
    s->out_tail = n;
}

static void
piece_pop(h2s *s)
{
    piece *p = s->out_head;
    s->out_head = p->next;
    if (s->out_head == NULL)
        s->out_tail = NULL;
    wr_rbuf_unref(p->ref);
    free(p);
}

/* Copies up to `length` queued bytes into buf and drops them from the queue. */
static size_t
out_take(h2 *h, h2s *s, uint8_t *buf, size_t length)
{
    size_t n = 0;
    while (n < length && s->out_head) {
        piece *p = s->out_head;
        size_t k = p->len < length - n ? p->len : length - n;
        memcpy(buf + n, p->data, k);
        n += k;
        p->data += k;
        p->len -= k;
        if (p->len == 0)
            piece_pop(s);
    }
    size_t before = h->out_bytes;
    s->out_bytes -= n;
    h->out_bytes -= n;
    if (before > CONN_OUT_LOW_WATER && h->out_bytes <= CONN_OUT_LOW_WATER)
        h->wake = true;
    return n;
}

static void
out_clear(h2 *h, h2s *s)
{
    while (s->out_head)
        piece_pop(s);
    size_t before = h->out_bytes;
    h->out_bytes -= s->out_bytes;
    s->out_bytes = 0;
    if (before > CONN_OUT_LOW_WATER && h->out_bytes <= CONN_OUT_LOW_WATER)
        h->wake = true;
}

/* Past a high-water mark: the handler should pause (see the file header). */
static bool
out_over(const h2 *h, const h2s *s)
{
    return s->out_bytes > STREAM_HIGH_WATER ||
           (s->out_bytes > 0 && h->out_bytes > CONN_OUT_BUDGET) || wr_conn_congested(h->conn);
}

/* A paused handler may produce again. */
static bool
out_clear_to_resume(const h2 *h, const h2s *s)
{
    if (wr_conn_congested(h->conn) || s->out_bytes > STREAM_LOW_WATER)
        return false;
    return s->out_bytes == 0 || h->out_bytes <= CONN_OUT_LOW_WATER;
}

/* --- request-body credit ----------------------------------------------------------------- */

static void
credit_conn(h2 *h, size_t n)
{
    if (n && !h->closing)
        check(h, "consume_connection", nghttp2_session_consume_connection(h->session, n));
}

static void
credit_held(h2 *h, h2s *s)
{
    credit_conn(h, s->held);
    h->held -= s->held;
    s->held = 0;
}

static void
credit_unconsumed(h2 *h, h2s *s)
{
    credit_conn(h, s->unconsumed);
    h->unconsumed -= s->unconsumed;
    s->unconsumed = 0;
}

/*
 * The stream's buffered body stops counting toward the budget (dispatched, refused or gone);
 * its held credit goes back, and everyone's once the connection is within its budget again.
 * `drop` frees the bytes too.
 */
static void
release_body(h2 *h, h2s *s, bool drop)
{
    if (s->budgeted) {
        s->budgeted = false;
        h->body_buffered -= s->req.body.len;
    }
    credit_held(h, s);
    if (drop) {
        wr_buf_fini(&s->req.body);
        wr_buf_init(&s->req.body);
    }
    if (h->held && h->body_buffered <= h->body_budget)
        for (h2s *o = h->streams; o; o = o->next)
            credit_held(h, o);
}

/* Answers `code` instead of calling the handler; the rest of the body is discarded. */
static void
refuse(h2 *h, h2s *s, wr_err code)
{
    release_body(h, s, true);
    s->pending_err = code;
    s->discard_body = true;
    s->want_dispatch = true;
    enqueue(s);
}

/* Non-streaming body bytes of an undispatched stream (see "Request bodies" above). */
static void
body_bytes(h2 *h, h2s *s, const uint8_t *data, size_t len)
{
    wr_req *req = &s->req;
    check(h, "consume_stream", nghttp2_session_consume_stream(h->session, s->id, len));
    if (req->body.len + len > s->body_limit) {
        credit_conn(h, len);
        refuse(h, s, WR_ERR_PAYLOAD_TOO_LARGE);
        return;
    }
    wr_buf_append(&req->body, data, len);
    s->budgeted = true;
    h->body_buffered += len;
    size_t budget = s->body_limit > h->body_budget ? s->body_limit : h->body_budget;
    if (h->body_buffered <= budget) {
        credit_conn(h, len);
    } else {
        s->held += len;
        h->held += len;
    }
}

/*
 * After input: if the peer has (almost) no connection window left while credit is held for
 * bodies, nothing can complete — refuse the youngest holder and give the window back at once
 * (nghttp2 would wait until half the window is consumed). The announced amount is exactly what
 * was consumed but not yet announced: received (recv_window) minus what nobody consumed yet.
 */
static void
unblock(h2 *h)
{
    if (h->held == 0 || nghttp2_session_get_local_window_size(h->session) >= BLOCKED_WINDOW)
        return;
    h2s *victim = NULL;
    for (h2s *s = h->streams; s; s = s->next)
        if (s->held && (victim == NULL || s->id > victim->id))
            victim = s;
    if (victim == NULL)
        return;
    wr_log_debug("http2 body budget exhausted", " stream=%d buffered=%zu held=%zu", victim->id,
                 h->body_buffered, h->held);
    refuse(h, victim, WR_ERR_UNAVAILABLE);
    int32_t recv = nghttp2_session_get_effective_recv_data_length(h->session);
    size_t waiting = h->held + h->unconsumed;
    if (recv > 0 && (size_t)recv > waiting) {
        int rc = nghttp2_submit_window_update(h->session, NGHTTP2_FLAG_NONE, 0,
                                              (int32_t)((size_t)recv - waiting));
        if (rc != 0)
            die(h, "window_update", rc);
    }
}

/* --- streams ----------------------------------------------------------------------------- */

static h2s *
stream_new(h2 *h, int32_t id)
{
    h2s *s = wr_xcalloc(1, sizeof(*s));
    s->h = h;
    s->id = id;
    wr_req_init(&s->req, &h2_ops, s);
    s->req.peer = (const struct sockaddr *)&h->conn->peer;
    s->req.cors = opts_of(h)->cors;
    s->next = h->streams;
    if (h->streams)
        h->streams->prev = s;
    h->streams = s;
    h->n_streams++;
    return s;
}

/* nghttp2 is done with the stream: settle its budgets now; reap() frees it. */
static void
stream_closed(h2 *h, h2s *s)
{
    if (s->closed)
        return;
    s->closed = true;
    h->n_zombies++;
    set_deadline(h, s, 0);
    release_body(h, s, false);
    credit_unconsumed(h, s);
    out_clear(h, s);
}

/* Detaches and frees a stream; tells a still-working handler its client is gone. */
static void
stream_free(h2 *h, h2s *s)
{
    stream_closed(h, s);
    h->n_zombies--;
    unqueue(h, s);
    if (s->prev)
        s->prev->next = s->next;
    if (h->streams == s)
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->n_streams--;
    if (h->n_streams == 0 && !h->closing)
        h->idle_at = deadline_in(h, opts_of(h)->idle_timeout_ms);
    if (s->dispatched && !s->finished && s->req.on_close)
        s->req.on_close(&s->req);
    wr_http__req_end(h->http, &s->req);
    wr_req_fini(&s->req);
    free(s);
}

/* Frees closed streams. Only from connection callbacks, after their work: no caller holds one. */
static void
reap(h2 *h)
{
    /* A handler told of its close may close other streams (never free them): pass again. */
    bool freed = true;
    while (h->n_zombies && freed) {
        freed = false;
        h2s *next;
        for (h2s *s = h->streams; s; s = next) {
            next = s->next;
            if (s->closed) {
                stream_free(h, s);
                freed = true;
            }
        }
    }
}

/* --- nghttp2 callbacks ------------------------------------------------------------------- */

static int
on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    h2 *h = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (h->shutting_down) {
        int rc = nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                           NGHTTP2_REFUSED_STREAM);
        return rc == 0 ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    h2s *s = stream_new(h, frame->hd.stream_id);
    set_deadline(h, s, deadline_in(h, opts_of(h)->header_timeout_ms));
    if (nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s) != 0) {
        stream_free(h, s); /* cannot happen: nghttp2 just announced the stream */
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
}

static void
set_path(h2s *s, const uint8_t *v, size_t len)
{
    wr_req *req = &s->req;
    const uint8_t *q = memchr(v, '?', len);
    size_t plen = q ? (size_t)(q - v) : len;
    req->path = wr_arena_strndup(&req->arena, (const char *)v, plen);
    if (q)
        req->query = wr_arena_strndup(&req->arena, (const char *)q + 1, len - plen - 1);
}

static int
on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
          const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)flags;
    h2 *h = ud;
    h2s *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    s->head_bytes += namelen + valuelen + 32;
    if (s->head_bytes > opts_of(h)->max_header_bytes) {
        s->pending_err = WR_ERR_HEADERS_TOO_LARGE;
        return 0;
    }
    wr_req *req = &s->req;
    if (namelen && name[0] == ':') {
        if (namelen == 7 && memcmp(name, ":method", 7) == 0) {
            req->method_name = wr_arena_strndup(&req->arena, (const char *)value, valuelen);
            req->method = wr_method_parse(req->method_name);
        } else if (namelen == 5 && memcmp(name, ":path", 5) == 0) {
            set_path(s, value, valuelen);
        } else if (namelen == 10 && memcmp(name, ":authority", 10) == 0) {
            wr_req_add_header(req, "host", 4, (const char *)value, valuelen);
        }
        return 0;
    }
    wr_req_add_header(req, (const char *)name, namelen, (const char *)value, valuelen);
    return 0;
}

/* The head is complete: route it, and decide whether the handler runs now or after the body. */
static void
headers_done(h2 *h, h2s *s, bool end_stream)
{
    wr_req *req = &s->req;
    s->head_done = true;
    s->body_limit = opts_of(h)->max_body_bytes;
    if (req->path == NULL || req->method_name == NULL) {
        s->pending_err = WR_ERR_BAD_REQUEST;
    } else if (s->pending_err == WR_OK) {
        s->pending_err = wr_router_route(h->http->router, req, s->allow, sizeof(s->allow));
        if (s->pending_err == WR_OK) {
            if (req->route->max_body)
                s->body_limit = req->route->max_body;
            req->body_streaming = req->route->stream_body && req->route->stream_body(req);
        }
    }
    wr_http__req_begin(h->http, req); /* access log, Prometheus */
    s->discard_body = s->pending_err != WR_OK;
    s->request_done = end_stream;
    if (end_stream || req->body_streaming || s->pending_err != WR_OK) {
        set_deadline(h, s, 0);
        s->want_dispatch = true;
        enqueue(s);
    } else {
        set_deadline(h, s, deadline_in(h, opts_of(h)->body_timeout_ms));
    }
}

static int
on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    h2 *h = ud;
    h2s *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL || s->closed)
        return 0;
    bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        headers_done(h, s, end);
    } else if (end && !s->request_done) {
        s->request_done = true;
        set_deadline(h, s, 0);
        if (s->req.body_streaming)
            s->want_body_end = true;
        else
            s->want_dispatch = true;
        enqueue(s);
    }
    return 0;
}

static int
on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
              size_t len, void *ud)
{
    (void)flags;
    h2 *h = ud;
    h2s *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s == NULL || s->closed || s->discard_body) {
        check(h, "consume", nghttp2_session_consume(session, stream_id, len));
        return 0;
    }
    wr_req *req = &s->req;
    if (!req->body_streaming) {
        body_bytes(h, s, data, len);
        return 0;
    }
    if (s->dispatched && (s->finished || req->on_body == NULL)) {
        check(h, "consume", nghttp2_session_consume(session, stream_id, len));
        return 0;
    }
    /* Credit is returned when the handler calls wr_req_consumed(). Bytes that arrive before the
     * handler has run wait in req->body (bounded by the stream window). */
    s->unconsumed += len;
    h->unconsumed += len;
    if (!s->dispatched)
        wr_buf_append(&req->body, data, len);
    else
        req->on_body(req, data, len);
    return 0;
}

static int
on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *ud)
{
    (void)error_code;
    h2 *h = ud;
    h2s *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s)
        stream_closed(h, s);
    return 0;
}

/*
 * A complete response went out while the client is still sending a body we will not read:
 * ask it to stop, without error (RFC 9113 §8.1). Streaming bodies are left to their handler.
 */
static int
on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    (void)ud;
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
        (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS))
        return 0;
    h2s *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s && !s->closed && !s->request_done && !s->req.body_streaming &&
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return 0;
}

static ssize_t
data_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
          uint32_t *data_flags, nghttp2_data_source *source, void *ud)
{
    (void)session;
    (void)stream_id;
    h2 *h = ud;
    h2s *s = source->ptr;
    size_t n = out_take(h, s, buf, length);
    if (s->congested && out_clear_to_resume(h, s)) {
        s->want_drain = true;
        enqueue(s);
    }
    if (s->out_bytes == 0) {
        if (s->out_eof) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        } else if (n == 0) {
            s->deferred = true;
            return NGHTTP2_ERR_DEFERRED;
        }
    }
    return (ssize_t)n;
}

/* --- work queue ------------------------------------------------------------------------- */

static void
answer_error(h2s *s)
{
    switch (s->pending_err) {
    case WR_ERR_REQUEST_TIMEOUT:
        wr_resp_error(&s->req, s->pending_err, "request not received in time");
        return;
    case WR_ERR_UNAVAILABLE:
        wr_resp_error(&s->req, s->pending_err,
                      "too many request bodies in progress on this connection; retry");
        return;
    default:
        wr_router_answer_unrouted(&s->req, s->pending_err, s->allow);
    }
}

static void
dispatch(h2 *h, h2s *s)
{
    s->dispatched = true;
    set_deadline(h, s, 0);
    if (s->pending_err != WR_OK) {
        if (!s->req.responded)
            answer_error(s);
        return;
    }
    wr_req *req = &s->req;
    if (!req->body_streaming)
        release_body(h, s, false); /* the handler owns the body now */
    req->route->handler(req, req->route->ctx);
    /* Body bytes that arrived with the head, before the handler could take them. */
    if (req->body_streaming && !s->closed && !s->finished && req->body.len && req->on_body) {
        wr_buf early = req->body;
        wr_buf_init(&req->body);
        req->on_body(req, early.data, early.len);
        wr_buf_fini(&early);
    }
}

/* Runs deferred work. Streams are never freed while it runs (see reap), so `s` stays valid. */
static void
run_queue(h2 *h)
{
    while (h->queue && !h->closing && !h->dead) {
        h2s *s = h->queue;
        h->queue = s->qnext;
        s->queued = false;
        if (s->closed) {
            s->want_dispatch = s->want_body_end = s->want_drain = false;
            continue;
        }
        if (s->want_dispatch) {
            s->want_dispatch = false;
            if (!s->dispatched)
                dispatch(h, s);
        }
        if (s->want_body_end && s->dispatched) {
            s->want_body_end = false;
            if (!s->finished && s->req.on_body_end)
                s->req.on_body_end(&s->req);
        }
        if (s->want_drain) {
            s->want_drain = false;
            s->congested = false;
            if (!s->finished && s->req.on_drain)
                s->req.on_drain(&s->req);
        }
    }
}

/* Paused streams whose queues allow it get on_drain (after the connection total fell). */
static void
wake_paused(h2 *h)
{
    if (!h->wake || wr_conn_congested(h->conn))
        return;
    h->wake = false;
    for (h2s *s = h->streams; s; s = s->next)
        if (s->congested && !s->closed && out_clear_to_resume(h, s)) {
            s->want_drain = true;
            enqueue(s);
        }
}

/* Hands what nghttp2 has to send to the socket until it is congested. */
static void
send_pending(h2 *h)
{
    while (!h->dead && !wr_conn_congested(h->conn)) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(h->session, &data);
        if (n < 0) {
            die(h, "mem_send", (int)n);
            return;
        }
        if (n == 0)
            break;
        wr_conn_write(h->conn, data, (size_t)n);
    }
}

/* Sends what nghttp2 has queued, then runs deferred work, until both are quiet. */
static void
flush(h2 *h)
{
    if (h->in_io || h->closing || h->dead)
        return;
    if (h->in_flush) {
        h->again = true;
        return;
    }
    h->in_flush = true;
    do {
        h->again = false;
        send_pending(h);
        wake_paused(h);
        if (h->queue) {
            run_queue(h);
            h->again = true;
        }
    } while (h->again && !h->dead);
    h->in_flush = false;
    /* Finished (GOAWAY exchanged, no streams): the timer closes the connection. */
    if (!h->dead && !nghttp2_session_want_read(h->session) &&
        !nghttp2_session_want_write(h->session))
        h->done = true;
    rearm(h);
}

/* --- the connection timer ---------------------------------------------------------------- */

/* Arms the connection's one timer for its earliest deadline (see the file header). */
static void
rearm(h2 *h)
{
    uint64_t now = now_ms(h), at = 0;
    if (h->dead || h->done || h->n_zombies) {
        at = now + 1;
    } else {
        if (h->n_streams == 0)
            at = h->idle_at;
        if (h->n_deadlines)
            for (h2s *s = h->streams; s; s = s->next)
                if (s->deadline && (at == 0 || s->deadline < at))
                    at = s->deadline;
    }
    if (at == h->timer_at)
        return;
    h->timer_at = at;
    wr_conn_set_timeout(h->conn, at == 0 ? 0 : at > now ? at - now : 1);
}

/* A stream's deadline passed. Returns false when the connection is stuck in a header block. */
static bool
expire(h2 *h, h2s *s)
{
    set_deadline(h, s, 0);
    if (!s->head_done)
        return false;
    if (!s->dispatched && !s->closed)
        refuse(h, s, WR_ERR_REQUEST_TIMEOUT);
    return true;
}

static void
goaway(h2 *h)
{
    int32_t last = nghttp2_session_get_last_proc_stream_id(h->session);
    int rc = nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE, last, NGHTTP2_NO_ERROR, NULL, 0);
    if (rc != 0)
        wr_log_debug("http2 goaway not submitted", " error=%s", nghttp2_strerror(rc));
}

static void
on_timeout(wr_conn *c)
{
    h2 *h = c->proto_state;
    h->timer_at = 0;
    if (h->dead) {
        wr_conn_close(c);
        return;
    }
    if (h->done) {
        wr_conn_close_after_flush(c);
        return;
    }
    reap(h);
    uint64_t now = now_ms(h);
    bool close = h->n_streams == 0 && h->idle_at && h->idle_at <= now;
    if (h->n_deadlines)
        for (h2s *s = h->streams; s; s = s->next)
            if (s->deadline && s->deadline <= now && !expire(h, s))
                close = true;
    if (close) {
        goaway(h);
        flush(h);
        wr_conn_close_after_flush(c);
        return;
    }
    flush(h);
    reap(h);
    rearm(h);
}

/* --- connection callbacks -------------------------------------------------------------- */

static void
on_read(wr_conn *c, const char *data, size_t len)
{
    h2 *h = c->proto_state;
    if (h->dead)
        return;
    h->in_io = true;
    ssize_t rc = nghttp2_session_mem_recv(h->session, (const uint8_t *)data, len);
    h->in_io = false;
    if (rc < 0) {
        wr_log_debug("http2 protocol error", " error=%s", nghttp2_strerror((int)rc));
        /* nghttp2 queued a GOAWAY where it could; send it, then close. */
        flush(h);
        wr_conn_close_after_flush(c);
        return;
    }
    unblock(h);
    flush(h);
    reap(h);
    rearm(h);
}

static void
on_close(wr_conn *c)
{
    h2 *h = c->proto_state;
    h->closing = true;
    while (h->streams)
        stream_free(h, h->streams);
    nghttp2_session_del(h->session);
    free(h);
    c->proto_state = NULL;
}

static void
on_drain(wr_conn *c)
{
    h2 *h = c->proto_state;
    h->wake = true;
    flush(h);
    reap(h);
    rearm(h);
}

static void
on_shutdown(wr_conn *c)
{
    h2 *h = c->proto_state;
    h->shutting_down = true;
    goaway(h);
    /* Handlers may answer from on_shutdown; holding in_flush batches their sends into the one
     * flush below. */
    h->in_flush = true;
    for (h2s *s = h->streams; s; s = s->next)
        if (s->dispatched && !s->finished && !s->closed && s->req.on_shutdown)
            s->req.on_shutdown(&s->req);
    h->in_flush = false;
    flush(h);
    reap(h);
    if (h->n_streams == 0 && !h->dead) {
        wr_conn_close_after_flush(c);
        return;
    }
    rearm(h);
}

static const wr_conn_proto h2_conn_proto = {
    .on_read = on_read,
    .on_close = on_close,
    .on_drain = on_drain,
    .on_timeout = on_timeout,
    .on_shutdown = on_shutdown,
};

/* Creates the nghttp2 session and queues the server's SETTINGS; returns an nghttp2 error. */
static int
session_open(h2 *h)
{
    nghttp2_session_callbacks *cbs = NULL;
    nghttp2_option *opt = NULL;
    int rc = nghttp2_session_callbacks_new(&cbs);
    if (rc != 0)
        goto out;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    rc = nghttp2_option_new(&opt);
    if (rc != 0)
        goto out;
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_send_header_block_length(opt, 64 * 1024);
    rc = nghttp2_session_server_new2(&h->session, cbs, h, opt);
    if (rc != 0)
        goto out;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_CONCURRENT_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)opts_of(h)->max_header_bytes},
    };
    rc = nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
    if (rc != 0)
        goto out;
    rc = nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
out:
    if (opt)
        nghttp2_option_del(opt);
    if (cbs)
        nghttp2_session_callbacks_del(cbs);
    if (rc != 0 && h->session) {
        nghttp2_session_del(h->session);
        h->session = NULL;
    }
    return rc;
}

void
wr_http2_attach(wr_conn *c, const wr_http *http, const char *data, size_t len)
{
    /* HTTP/1.1's state is gone already: nothing may call into it if this fails. */
    c->proto = NULL;
    c->proto_state = NULL;
    h2 *h = wr_xcalloc(1, sizeof(*h));
    h->conn = c;
    h->http = http;
    int rc = session_open(h);
    if (rc != 0) {
        wr_log_warn("http2 session not created", " error=%s", nghttp2_strerror(rc));
        free(h);
        wr_conn_close(c);
        return;
    }
    h->body_budget = opts_of(h)->max_body_bytes;
    /* Until its first request head is complete, a connection lives by the header timeout. */
    h->idle_at = deadline_in(h, opts_of(h)->header_timeout_ms);
    c->proto = &h2_conn_proto;
    c->proto_state = h;
    wr_conn_read_start(c);
    if (len) {
        on_read(c, data, len);
    } else {
        flush(h);
        rearm(h);
    }
}

/* --- response side ---------------------------------------------------------------------- */

static nghttp2_nv *
make_nv(wr_req *req, int status, const wr_hdr *headers, size_t n, const char *clen, size_t *out_n)
{
    nghttp2_nv *nv = wr_arena_alloc(&req->arena, (n + 2) * sizeof(*nv));
    char *st = wr_arena_printf(&req->arena, "%d", status);
    size_t k = 0;
    nv[k++] =
        (nghttp2_nv){(uint8_t *)":status", (uint8_t *)st, 7, strlen(st), NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < n; i++)
        nv[k++] =
            (nghttp2_nv){(uint8_t *)headers[i].name, (uint8_t *)headers[i].value,
                         strlen(headers[i].name), strlen(headers[i].value), NGHTTP2_NV_FLAG_NONE};
    if (clen)
        nv[k++] = (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)clen, 14, strlen(clen),
                               NGHTTP2_NV_FLAG_NONE};
    *out_n = k;
    return nv;
}

/*
 * Queues the response head. On failure the stream is reset (its close then detaches a handler
 * that is still streaming), or, if even that fails, the connection is given up.
 */
static void
submit(h2s *s, int status, const wr_hdr *headers, size_t n_headers, const char *clen,
       bool with_body)
{
    h2 *h = s->h;
    size_t n;
    nghttp2_nv *nv = make_nv(&s->req, status, headers, n_headers, clen, &n);
    nghttp2_data_provider dp = {.source = {.ptr = s}, .read_callback = data_read};
    int rc = nghttp2_submit_response(h->session, s->id, nv, n, with_body ? &dp : NULL);
    if (rc == 0)
        return;
    wr_log_warn("http2 response not submitted", " stream=%d error=%s", s->id, nghttp2_strerror(rc));
    s->failed = true;
    rc = nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
    if (rc != 0)
        die(h, "rst_stream", rc);
}

/* The response is complete: a streaming body's handler will consume nothing more. */
static void
settle_unconsumed(h2s *s)
{
    h2 *h = s->h;
    if (s->unconsumed == 0 || h->closing)
        return;
    check(h, "consume", nghttp2_session_consume(h->session, s->id, s->unconsumed));
    h->unconsumed -= s->unconsumed;
    s->unconsumed = 0;
}

/* The stream can carry no more response: nghttp2 closed it, or its head failed. */
static bool
gone(const h2s *s)
{
    return s->closed || s->failed || s->h->closing;
}

static void
h2_send(wr_req *req, int status, const wr_hdr *headers, size_t n_headers, const void *body,
        size_t len)
{
    h2s *s = req->proto;
    s->finished = true;
    s->out_eof = true;
    settle_unconsumed(s);
    if (gone(s))
        return;
    if (req->method != WR_METHOD_HEAD)
        out_push(s->h, s, &(wr_iov){body, len, NULL});
    char clen[24];
    snprintf(clen, sizeof(clen), "%zu", len);
    submit(s, status, headers, n_headers, status == 204 ? NULL : clen, s->out_bytes > 0);
    flush(s->h);
}

static void
h2_start(wr_req *req, int status, const wr_hdr *headers, size_t n_headers)
{
    h2s *s = req->proto;
    if (gone(s))
        return;
    submit(s, status, headers, n_headers, NULL, true);
    flush(s->h);
}

static void
resume(h2s *s)
{
    if (s->deferred) {
        s->deferred = false;
        check(s->h, "resume_data", nghttp2_session_resume_data(s->h->session, s->id));
    }
}

static bool
h2_write(wr_req *req, const wr_iov *parts, size_t n)
{
    h2s *s = req->proto;
    h2 *h = s->h;
    if (gone(s) || s->finished) {
        s->congested = true; /* on_close follows */
        return false;
    }
    for (size_t i = 0; i < n; i++)
        out_push(h, s, &parts[i]);
    resume(s);
    flush(h); /* may run other work, but frees no stream */
    if (s->closed || out_over(h, s)) {
        s->congested = true;
        return false;
    }
    return true;
}

static void
h2_end(wr_req *req)
{
    h2s *s = req->proto;
    s->finished = true;
    s->out_eof = true;
    settle_unconsumed(s);
    if (gone(s))
        return;
    resume(s);
    flush(s->h);
}

/* Ends a streaming answer as a failure: RST_STREAM, which clients see as a dropped stream. */
static void
h2_abort(wr_req *req)
{
    h2s *s = req->proto;
    s->finished = true;
    settle_unconsumed(s);
    if (gone(s))
        return;
    int rc =
        nghttp2_submit_rst_stream(s->h->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
    if (rc != 0)
        die(s->h, "rst_stream", rc);
    flush(s->h);
}

static void
h2_consumed(wr_req *req, size_t n)
{
    h2s *s = req->proto;
    h2 *h = s->h;
    if (n > s->unconsumed)
        n = s->unconsumed; /* a closed stream's credit went back when it closed */
    if (n == 0 || h->closing)
        return;
    s->unconsumed -= n;
    h->unconsumed -= n;
    check(h, "consume", nghttp2_session_consume(h->session, s->id, n));
    flush(h);
}

static const wr_proto_ops h2_ops = {
    .send = h2_send,
    .start = h2_start,
    .write = h2_write,
    .end = h2_end,
    .abort = h2_abort,
    .consumed = h2_consumed,
};
