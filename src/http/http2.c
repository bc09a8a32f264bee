/*
 * http2.c — HTTP/2 (h2c) on a wr_conn using nghttp2 (see http2.h).
 *
 * Ownership: each stream (h2s) owns its wr_req. Both live until nghttp2 reports the stream
 * closed, or until the connection goes away; a handler that is still working then gets
 * req->on_close. A response body is copied into the stream's `out` buffer, from which
 * nghttp2's data provider pulls as the flow-control windows allow.
 *
 * Callbacks that could re-enter nghttp2 (handlers answering synchronously, on_drain) never run
 * inside nghttp2 callbacks: dispatches and drains are queued and run after mem_recv/mem_send
 * return.
 */
#include "http/http2.h"

#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/req.h"
#include "http/router.h"
#include "net/server.h"
#include "util/log.h"
#include "util/mem.h"

#define STREAM_HIGH_WATER (256 * 1024)
#define STREAM_LOW_WATER (64 * 1024)
#define MAX_CONCURRENT_STREAMS 256
#define INITIAL_WINDOW (1 << 20)

typedef struct h2 h2;

typedef struct h2s {
    h2 *h;
    int32_t id;
    wr_req req;
    size_t head_bytes;
    size_t body_limit;
    bool dispatched;   /* the handler has been called */
    bool finished;     /* the response is complete (send or end) */
    bool request_done; /* END_STREAM received */
    bool discard_body;
    wr_err pending_err; /* answer this instead of calling a handler */
    char allow[96];
    wr_buf out; /* response bytes not yet taken by nghttp2 */
    size_t out_off;
    bool out_eof;
    bool deferred;  /* the data provider is waiting for bytes */
    bool congested; /* the handler was told to pause */
    bool queued;    /* on the dispatch or drain queue */
    bool want_dispatch, want_drain, want_body_end;
    struct h2s *next, *prev; /* all streams of the connection */
    struct h2s *qnext;       /* work queue */
} h2s;

struct h2 {
    wr_conn *conn;
    nghttp2_session *session;
    h2s *streams;
    h2s *queue;
    size_t n_streams;
    bool shutting_down;
    bool in_io;    /* inside mem_recv: defer sending */
    bool in_flush; /* flush() is running: a nested call only asks for another round */
    bool again;
    bool closing;
    bool done; /* the session is over; close from the timer */
};

static const wr_proto_ops h2_ops;
static void flush(h2 *h);

static const wr_server_opts *
opts_of(h2 *h)
{
    return wr_server_options(h->conn->srv);
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

/* --- streams ----------------------------------------------------------------------------- */

static h2s *
stream_new(h2 *h, int32_t id)
{
    h2s *s = wr_xcalloc(1, sizeof(*s));
    s->h = h;
    s->id = id;
    wr_req_init(&s->req, &h2_ops, s);
    s->req.cors = opts_of(h)->cors;
    wr_buf_init(&s->out);
    s->next = h->streams;
    if (h->streams)
        h->streams->prev = s;
    h->streams = s;
    h->n_streams++;
    return s;
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

/* Detaches and frees a stream; tells a still-working handler its client is gone. */
static void
stream_free(h2 *h, h2s *s)
{
    unqueue(h, s);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->n_streams--;
    if (s->dispatched && !s->finished && s->req.on_close)
        s->req.on_close(&s->req);
    wr_req_fini(&s->req);
    wr_buf_fini(&s->out);
    free(s);
}

/* --- nghttp2 callbacks ------------------------------------------------------------------- */

static int
on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    h2 *h = ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    if (h->shutting_down) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    h2s *s = stream_new(h, frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s);
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
    s->body_limit = opts_of(h)->max_body_bytes;
    if (req->path == NULL || req->method_name == NULL) {
        s->pending_err = WR_ERR_BAD_REQUEST;
    } else if (s->pending_err == WR_OK) {
        s->pending_err =
            wr_router_route(wr_server_router(h->conn->srv), req, s->allow, sizeof(s->allow));
        if (s->pending_err == WR_OK) {
            if (req->route->max_body)
                s->body_limit = req->route->max_body;
            req->body_streaming = req->route->stream_body && req->route->stream_body(req);
        }
    }
    s->discard_body = s->pending_err != WR_OK;
    s->request_done = end_stream;
    if (end_stream || req->body_streaming || s->pending_err != WR_OK) {
        s->want_dispatch = true;
        enqueue(s);
    }
}

static int
on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
    h2 *h = ud;
    h2s *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL)
        return 0;
    bool end = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        headers_done(h, s, end);
    } else if (end && !s->request_done) {
        s->request_done = true;
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
    if (s == NULL || s->discard_body) {
        nghttp2_session_consume(session, stream_id, len);
        return 0;
    }
    wr_req *req = &s->req;
    if (req->body_streaming) {
        /* Credit is returned when the handler calls wr_req_consumed(). Bytes that arrive
         * before the handler has run wait in req->body (bounded by the stream window). */
        if (!s->dispatched)
            wr_buf_append(&req->body, data, len);
        else if (!s->finished && req->on_body)
            req->on_body(req, data, len);
        else
            nghttp2_session_consume(session, stream_id, len);
        return 0;
    }
    nghttp2_session_consume(session, stream_id, len);
    if (req->body.len + len > s->body_limit) {
        s->pending_err = WR_ERR_PAYLOAD_TOO_LARGE;
        s->discard_body = true;
        s->want_dispatch = true;
        enqueue(s);
        return 0;
    }
    wr_buf_append(&req->body, data, len);
    (void)h;
    return 0;
}

static int
on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *ud)
{
    (void)error_code;
    h2 *h = ud;
    h2s *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s)
        stream_free(h, s);
    return 0;
}

static ssize_t
data_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
          uint32_t *data_flags, nghttp2_data_source *source, void *ud)
{
    (void)session;
    (void)stream_id;
    (void)ud;
    h2s *s = source->ptr;
    size_t avail = s->out.len - s->out_off;
    size_t n = avail < length ? avail : length;
    if (n)
        memcpy(buf, s->out.data + s->out_off, n);
    s->out_off += n;
    if (s->out_off == s->out.len) {
        wr_buf_reset(&s->out);
        s->out_off = 0;
    } else if (s->out_off > 65536 && s->out_off * 2 > s->out.len) {
        wr_buf_consume(&s->out, s->out_off);
        s->out_off = 0;
    }
    if (s->congested && s->out.len - s->out_off <= STREAM_LOW_WATER) {
        s->want_drain = true;
        enqueue(s);
    }
    if (s->out.len - s->out_off == 0) {
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
dispatch(h2s *s)
{
    s->dispatched = true;
    if (s->pending_err != WR_OK) {
        if (!s->req.responded)
            wr_router_answer_unrouted(&s->req, s->pending_err, s->allow);
        return;
    }
    wr_req *req = &s->req;
    req->route->handler(req, req->route->ctx);
    /* Body bytes that arrived with the head, before the handler could take them. */
    if (req->body_streaming && !s->finished && req->body.len && req->on_body) {
        wr_buf early = req->body;
        wr_buf_init(&req->body);
        req->on_body(req, early.data, early.len);
        wr_buf_fini(&early);
    }
}

/*
 * Runs deferred work. Streams are not freed while this runs (freeing happens inside nghttp2's
 * mem_send/mem_recv, and flush() defers nested sends), so `s` stays valid throughout.
 */
static void
run_queue(h2 *h)
{
    while (h->queue && !h->closing) {
        h2s *s = h->queue;
        h->queue = s->qnext;
        s->queued = false;
        if (s->want_dispatch) {
            s->want_dispatch = false;
            if (!s->dispatched)
                dispatch(s);
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

/* Sends what nghttp2 has queued, then runs deferred work, until both are quiet. */
static void
flush(h2 *h)
{
    if (h->in_io || h->closing)
        return;
    if (h->in_flush) {
        h->again = true;
        return;
    }
    h->in_flush = true;
    do {
        h->again = false;
        while (!wr_conn_congested(h->conn)) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(h->session, &data);
            if (n < 0) {
                h->in_flush = false;
                wr_conn_close(h->conn);
                return;
            }
            if (n == 0)
                break;
            wr_conn_write(h->conn, data, (size_t)n);
        }
        if (h->queue) {
            run_queue(h);
            h->again = true;
        }
    } while (h->again);
    h->in_flush = false;
    if (!nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session)) {
        /* Finished (GOAWAY exchanged, no streams). Closing here would free h under callers
         * that still use it, so the close runs from the timer. */
        h->done = true;
        wr_conn_set_timeout(h->conn, 1);
        return;
    }
    if (h->n_streams == 0)
        wr_conn_set_timeout(h->conn, opts_of(h)->idle_timeout_ms);
    else
        wr_conn_set_timeout(h->conn, 0);
}

/* --- connection callbacks -------------------------------------------------------------- */

static void
on_read(wr_conn *c, const char *data, size_t len)
{
    h2 *h = c->proto_state;
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
    flush(h);
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
    flush(c->proto_state);
}

static void
on_timeout(wr_conn *c)
{
    h2 *h = c->proto_state;
    if (h->done) {
        wr_conn_close_after_flush(c);
        return;
    }
    if (h->n_streams == 0) {
        nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(h->session), NGHTTP2_NO_ERROR,
                              NULL, 0);
        flush(h);
        wr_conn_close_after_flush(c);
    }
}

static void
on_shutdown(wr_conn *c)
{
    h2 *h = c->proto_state;
    h->shutting_down = true;
    nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(h->session), NGHTTP2_NO_ERROR,
                          NULL, 0);
    /* Handlers may answer from on_shutdown; holding in_flush keeps streams from being freed
     * (sends are deferred) while the list is walked. */
    h->in_flush = true;
    for (h2s *s = h->streams; s; s = s->next)
        if (s->dispatched && !s->finished && s->req.on_shutdown)
            s->req.on_shutdown(&s->req);
    h->in_flush = false;
    bool idle = h->n_streams == 0;
    flush(h);
    if (idle)
        wr_conn_close_after_flush(c);
}

static const wr_conn_proto h2_conn_proto = {
    .on_read = on_read,
    .on_close = on_close,
    .on_drain = on_drain,
    .on_timeout = on_timeout,
    .on_shutdown = on_shutdown,
};

void
wr_http2_attach(wr_conn *c, const char *data, size_t len)
{
    h2 *h = wr_xcalloc(1, sizeof(*h));
    h->conn = c;
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_send_header_block_length(opt, 64 * 1024);
    nghttp2_session_server_new2(&h->session, cbs, h, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);

    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_CONCURRENT_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, INITIAL_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         (uint32_t)wr_server_options(c->srv)->max_header_bytes},
    };
    nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
    /* A connection-level window as large as the streams', so one stream can use it all. */
    nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, 16 * INITIAL_WINDOW);
    c->proto = &h2_conn_proto;
    c->proto_state = h;
    wr_conn_read_start(c);
    if (len)
        on_read(c, data, len);
    else
        flush(h);
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

static void
submit(h2s *s, int status, const wr_hdr *headers, size_t n_headers, const char *clen,
       bool with_body)
{
    size_t n;
    nghttp2_nv *nv = make_nv(&s->req, status, headers, n_headers, clen, &n);
    nghttp2_data_provider dp = {.source = {.ptr = s}, .read_callback = data_read};
    int rc = nghttp2_submit_response(s->h->session, s->id, nv, n, with_body ? &dp : NULL);
    if (rc != 0)
        wr_log_debug("http2 submit_response failed", " error=%s", nghttp2_strerror(rc));
    /* The client may still be sending a body we no longer want: stop it politely. */
    if (!s->request_done && !s->req.body_streaming)
        nghttp2_submit_rst_stream(s->h->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
}

static void
h2_send(wr_req *req, int status, const wr_hdr *headers, size_t n_headers, const void *body,
        size_t len)
{
    h2s *s = req->proto;
    s->finished = true;
    s->out_eof = true;
    if (req->method != WR_METHOD_HEAD)
        wr_buf_append(&s->out, body, len);
    char clen[24];
    snprintf(clen, sizeof(clen), "%zu", len);
    submit(s, status, headers, n_headers, status == 204 ? NULL : clen, s->out.len > 0);
    flush(s->h);
}

static void
h2_start(wr_req *req, int status, const wr_hdr *headers, size_t n_headers)
{
    h2s *s = req->proto;
    submit(s, status, headers, n_headers, NULL, true);
    flush(s->h);
}

static void
resume(h2s *s)
{
    if (s->deferred) {
        s->deferred = false;
        nghttp2_session_resume_data(s->h->session, s->id);
    }
}

static bool
h2_write(wr_req *req, const wr_iov *parts, size_t n)
{
    h2s *s = req->proto;
    for (size_t i = 0; i < n; i++)
        wr_buf_append(&s->out, parts[i].data, parts[i].len);
    resume(s);
    flush(s->h);
    if (s->out.len - s->out_off > STREAM_HIGH_WATER || wr_conn_congested(s->h->conn)) {
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
    resume(s);
    flush(s->h);
}

static void
h2_consumed(wr_req *req, size_t n)
{
    h2s *s = req->proto;
    nghttp2_session_consume(s->h->session, s->id, n);
    flush(s->h);
}

static const wr_proto_ops h2_ops = {
    .send = h2_send,
    .start = h2_start,
    .write = h2_write,
    .end = h2_end,
    .consumed = h2_consumed,
};
