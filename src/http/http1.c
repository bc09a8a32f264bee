/*
 * http1.c — HTTP/1.1 framing (see http1.h).
 *
 * States of a connection:
 *   IDLE    no request bytes yet; idle timer armed (keep-alive timeout).
 *   HEAD    receiving a request head; header timer armed from its first byte.
 *   BODY    receiving the body; body timer armed once at the end of the head, for the whole
 *           body (a trickle of bytes does not extend it).
 *   ACTIVE  the handler owns the request; no timer; input is buffered, not parsed.
 *
 * Pipelining is bounded: the next buffered request is not parsed while the connection's output
 * is congested (over WR_CONN_HIGH_WATER unsent); reading stops too, and both resume on drain.
 * A client that pipelines without reading therefore holds at most one answer's worth of queued
 * output plus one read of input, however many requests it sends.
 *
 * Errors found by the framing layer (malformed syntax, oversized head or body, a header name
 * that is not an RFC 9110 token, e.g. `Content-Length : 5`) are answered here with a JSON error
 * and `connection: close`. Unknown routes and methods are answered once the body has been read
 * (and discarded), so keep-alive survives them.
 */
#include "http/http1.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http2.h"
#include "http/http_int.h"
#include "http/req.h"
#include "http/router.h"
#include "util/log.h"
#include "util/mem.h"

enum state { IDLE, HEAD, BODY, ACTIVE };

/* Response heads are written on the stack up to this size. */
#define HEAD_STACK_BYTES 1024

/* Most body bytes reserved on a Content-Length before they arrive. */
#define BODY_RESERVE_MAX (16u << 10)

typedef struct h1 {
    wr_conn *conn;
    const wr_http *http;
    http_parser parser;
    enum state state;
    wr_buf in;     /* bytes received but not yet parsed */
    wr_req *req;   /* request being parsed or answered */
    wr_buf hfield; /* header name being accumulated */
    wr_buf hvalue;
    bool in_value;
    size_t head_bytes;
    size_t body_limit;
    bool message_done;
    bool keep_alive;
    bool close_after;   /* close once the current response is complete */
    wr_err pending_err; /* answer this once the body is consumed (404/405/400 bad_path) */
    char allow[96];
    bool chunked_out;
    bool processing;
    bool shutting_down;
    bool discard_body;
    bool want_close;       /* close after flushing, once process() unwinds */
    bool sniffing;         /* no request yet: the bytes may still turn out to be HTTP/2 */
    bool out_paused;       /* the next request waits for the output to drain */
    bool bad_name;         /* a header name with a non-token character, or an obs-fold line */
    const char *exec_base; /* the buffer http_parser_execute is running over */
    bool tail_lf_ws;       /* the bytes parsed so far end with LF and only SP/HT after it */
} h1;

static const wr_proto_ops h1_ops;
static void process(h1 *h);

static const wr_http_opts *
opts_of(h1 *h)
{
    return &h->http->opts;
}

/* --- parser callbacks ------------------------------------------------------------------ */

static bool
head_grow(h1 *h, size_t n)
{
    h->head_bytes += n;
    return h->head_bytes <= opts_of(h)->max_header_bytes;
}

static int
on_message_begin(http_parser *p)
{
    h1 *h = p->data;
    h->req = wr_req_pool_take(h->http->req_pool, &h1_ops, h);
    h->req->cors = opts_of(h)->cors;
    h->req->peer = (const struct sockaddr *)&h->conn->peer;
    h->head_bytes = 0;
    h->in_value = false;
    wr_buf_reset(&h->hfield);
    wr_buf_reset(&h->hvalue);
    h->message_done = false;
    h->pending_err = WR_OK;
    h->discard_body = false;
    if (h->state == IDLE) {
        h->state = HEAD;
        wr_conn_set_timeout(h->conn, opts_of(h)->header_timeout_ms);
    }
    return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
    h1 *h = p->data;
    if (!head_grow(h, len))
        return 1;
    wr_buf_append(&h->hfield, at, len); /* reuse hfield for the URL until headers start */
    return 0;
}

static void
flush_header(h1 *h)
{
    if (h->hfield.len == 0)
        return;
    wr_req_add_header(h->req, h->hfield.data, h->hfield.len, h->hvalue.data ? h->hvalue.data : "",
                      h->hvalue.len);
    wr_buf_reset(&h->hfield);
    wr_buf_reset(&h->hvalue);
}

static void
take_url(h1 *h)
{
    wr_req *req = h->req;
    if (req->path != NULL)
        return;
    const char *url = h->hfield.data ? h->hfield.data : "";
    size_t len = h->hfield.len;
    const char *q = memchr(url, '?', len);
    size_t plen = q ? (size_t)(q - url) : len;
    req->path = wr_arena_alloc(&req->arena, plen + 1);
    memcpy(req->path, url, plen);
    req->path[plen] = '\0';
    if (q) {
        size_t qlen = len - plen - 1;
        req->query = wr_arena_alloc(&req->arena, qlen + 1);
        memcpy(req->query, q + 1, qlen);
        req->query[qlen] = '\0';
    }
    wr_buf_reset(&h->hfield);
}

/* RFC 9110 tchar. http-parser's lenient mode lets spaces into names ("Content-Length : 5"),
 * which a proxy in front may read differently: the start of request smuggling. */
static bool
is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
    h1 *h = p->data;
    if (!head_grow(h, len))
        return 1;
    for (size_t i = 0; i < len; i++) {
        if (!is_tchar((unsigned char)at[i])) {
            h->bad_name = true;
            return 1;
        }
    }
    take_url(h);
    if (h->in_value) {
        flush_header(h);
        h->in_value = false;
    }
    wr_buf_append(&h->hfield, at, len);
    return 0;
}

/* Whether the bytes before `at` (this buffer, then what earlier calls parsed) are LF followed
 * by SP/HT only: a value that starts a line is an obs-fold continuation. */
static bool
starts_folded_line(const h1 *h, const char *at)
{
    const char *q = at;
    while (q > h->exec_base && (q[-1] == ' ' || q[-1] == '\t'))
        q--;
    if (q > h->exec_base)
        return q[-1] == '\n';
    return h->tail_lf_ws;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
    h1 *h = p->data;
    if (!head_grow(h, len))
        return 1;
    if (starts_folded_line(h, at)) {
        /* RFC 9112 §5.2: obs-fold is refused, as proxies disagree on what it means. */
        h->bad_name = true;
        return 1;
    }
    h->in_value = true;
    wr_buf_append(&h->hvalue, at, len);
    return 0;
}

static void
send_simple_error(h1 *h, wr_err code, const char *msg)
{
    /* Framing-level errors: the stream may be out of sync, so close afterwards. */
    h->close_after = true;
    if (h->req == NULL) {
        h->req = wr_req_pool_take(h->http->req_pool, &h1_ops, h);
        h->req->cors = opts_of(h)->cors;
    }
    h->state = ACTIVE;
    wr_resp_error(h->req, code, msg);
}

static int
on_headers_complete(http_parser *p)
{
    h1 *h = p->data;
    take_url(h);
    if (h->in_value)
        flush_header(h);
    wr_req *req = h->req;
    req->method_name = http_method_str((enum http_method)p->method);
    req->method = wr_method_parse(req->method_name);
    h->keep_alive = http_should_keep_alive(p);
    h->state = BODY;
    wr_conn_set_timeout(h->conn, opts_of(h)->body_timeout_ms);

    h->body_limit = opts_of(h)->max_body_bytes;
    h->pending_err = wr_router_route(h->http->router, req, h->allow, sizeof(h->allow));
    wr_http__req_begin(h->http, req); /* access log, Prometheus */
    if (h->pending_err == WR_OK && req->route->max_body)
        h->body_limit = req->route->max_body;
    h->discard_body = h->pending_err != WR_OK;

    if ((p->flags & F_CONTENTLENGTH) && p->content_length > h->body_limit) {
        send_simple_error(h, WR_ERR_PAYLOAD_TOO_LARGE, "request body is too large");
        return -1; /* stop parsing: the connection closes after the answer */
    }
    /* Room for a declared body in one allocation, up to what a client may make the server hold
     * before sending anything (the rest grows as it arrives). */
    if ((p->flags & F_CONTENTLENGTH) && !h->discard_body)
        wr_buf_reserve(&req->body, p->content_length < BODY_RESERVE_MAX
                                       ? (size_t)p->content_length
                                       : BODY_RESERVE_MAX - 1); /* + its NUL: 16 KiB */
    const char *expect = wr_req_header(req, "expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && h->pending_err == WR_OK) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        wr_conn_write(h->conn, cont, sizeof(cont) - 1);
    }
    return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
    h1 *h = p->data;
    size_t total = h->req->body.len + len;
    if (total > h->body_limit) {
        send_simple_error(h, WR_ERR_PAYLOAD_TOO_LARGE, "request body is too large");
        return 1;
    }
    if (h->discard_body) {
        h->req->body.len = total; /* count only */
        return 0;
    }
    wr_buf_append(&h->req->body, at, len);
    return 0;
}

static int
on_message_complete(http_parser *p)
{
    h1 *h = p->data;
    h->message_done = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* --- dispatch ---------------------------------------------------------------------------- */

static void
dispatch(h1 *h)
{
    wr_req *req = h->req;
    h->state = ACTIVE;
    wr_conn_set_timeout(h->conn, 0);
    if (h->shutting_down)
        h->close_after = true;
    if (h->pending_err != WR_OK) {
        wr_router_answer_unrouted(req, h->pending_err, h->allow);
    } else {
        const wr_route *rt = req->route;
        bool streaming = rt->stream_body && rt->stream_body(req);
        req->body_streaming = streaming;
        rt->handler(req, rt->ctx);
        /* HTTP/1.1 buffers a streaming body; hand it over now, as long as the request lives
         * (h->req stops being req once it is answered; process() is not re-entered here). */
        if (streaming && h->req == req && req->on_body && req->body.len)
            req->on_body(req, req->body.data, req->body.len);
        if (streaming && h->req == req && req->on_body_end)
            req->on_body_end(req);
    }
}

static void
finish_request(h1 *h)
{
    wr_req *req = h->req;
    h->req = NULL;
    wr_http__req_end(h->http, req);
    wr_req_pool_put(h->http->req_pool, req);
    h->state = IDLE;
    if (h->close_after || !h->keep_alive) {
        /* Closing frees h; inside process() that must wait until the loop unwinds. */
        h->want_close = true;
        wr_conn_read_stop(h->conn);
        if (!h->processing)
            wr_conn_close_after_flush(h->conn);
        return;
    }
    wr_conn_set_timeout(h->conn, opts_of(h)->idle_timeout_ms);
    wr_conn_read_start(h->conn);
    if (!h->processing)
        process(h);
}

static void
parse_error(h1 *h)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
    if (h->state == ACTIVE || h->want_close)
        return; /* a callback already answered (413) */
    if (h->head_bytes > opts_of(h)->max_header_bytes) {
        send_simple_error(h, WR_ERR_HEADERS_TOO_LARGE, "request head is too large");
        return;
    }
    if (h->bad_name || e == HPE_INVALID_HEADER_TOKEN) {
        send_simple_error(h, WR_ERR_BAD_REQUEST,
                          "malformed HTTP request: invalid header name or folded header line");
        return;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "malformed HTTP request: %s", http_errno_description(e));
    send_simple_error(h, WR_ERR_BAD_REQUEST, msg);
}

/* Remembers whether parsed bytes end in LF + SP/HT only (see starts_folded_line). */
static void
track_tail(h1 *h, const char *buf, size_t n)
{
    size_t i = n;
    while (i > 0 && (buf[i - 1] == ' ' || buf[i - 1] == '\t'))
        i--;
    if (i > 0)
        h->tail_lf_ws = buf[i - 1] == '\n';
}

/* Parses buffered input until a request is dispatched, input runs out or the connection ends. */
static void
process(h1 *h)
{
    h->processing = true;
    while (h->state != ACTIVE && h->in.len > 0 && !h->want_close) {
        if (h->state == IDLE && wr_conn_congested(h->conn)) {
            /* The client is not reading its answers: leave the next request unparsed. */
            h->out_paused = true;
            wr_conn_read_stop(h->conn);
            break;
        }
        h->exec_base = h->in.data;
        size_t n = http_parser_execute(&h->parser, &settings, h->in.data, h->in.len);
        track_tail(h, h->in.data, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
        if (e == HPE_PAUSED) {
            http_parser_pause(&h->parser, 0);
        } else if (e != HPE_OK) {
            wr_buf_reset(&h->in);
            parse_error(h);
            break;
        }
        wr_buf_consume(&h->in, n);
        if (h->want_close)
            break;
        if (h->message_done) {
            h->message_done = false;
            dispatch(h);
        } else if (n == 0 && e == HPE_OK) {
            break;
        }
    }
    h->processing = false;
    if (h->want_close) {
        if (h->state != ACTIVE)
            wr_conn_close_after_flush(h->conn); /* frees h */
        return;
    }
    /* Stop reading while a request is active and a pipelined backlog has built up. */
    if (h->state == ACTIVE && h->in.len > opts_of(h)->max_header_bytes + 65536)
        wr_conn_read_stop(h->conn);
}

/* --- connection callbacks -------------------------------------------------------------- */

static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static void free_h1(h1 *h);

/*
 * HTTP/2 with prior knowledge starts with a fixed preface. Returns true when the connection was
 * handed to HTTP/2 (h is freed) or more bytes are needed to decide.
 */
static bool
sniff_http2(h1 *h)
{
    size_t n = h->in.len < sizeof(h2_preface) - 1 ? h->in.len : sizeof(h2_preface) - 1;
    if (memcmp(h->in.data, h2_preface, n) != 0) {
        h->sniffing = false;
        return false;
    }
    if (n < sizeof(h2_preface) - 1)
        return true; /* a prefix of the preface so far: wait */
    wr_conn *c = h->conn;
    const wr_http *http = h->http;
    wr_buf in = h->in;
    wr_buf_init(&h->in);
    free_h1(h);
    c->proto_state = NULL;
    wr_http2_attach(c, http, in.data, in.len);
    wr_buf_fini(&in);
    return true;
}

static void
on_read(wr_conn *c, const char *data, size_t len)
{
    h1 *h = c->proto_state;
    wr_buf_append(&h->in, data, len);
    if (h->sniffing && sniff_http2(h))
        return;
    if (h->state != ACTIVE)
        process(h);
    else if (h->in.len > opts_of(h)->max_header_bytes + 65536)
        wr_conn_read_stop(c);
}

static void
on_close(wr_conn *c)
{
    h1 *h = c->proto_state;
    if (h->req) {
        wr_req *req = h->req;
        h->req = NULL;
        if (h->state == ACTIVE && req->on_close)
            req->on_close(req);
        wr_http__req_end(h->http, req);
        wr_req_pool_put(h->http->req_pool, req);
    }
    free_h1(h);
    c->proto_state = NULL;
}

static void
free_h1(h1 *h)
{
    wr_buf_fini(&h->in);
    wr_buf_fini(&h->hfield);
    wr_buf_fini(&h->hvalue);
    free(h);
}

static void
on_drain(wr_conn *c)
{
    h1 *h = c->proto_state;
    if (h->req && h->state == ACTIVE && h->req->streaming && h->req->on_drain) {
        h->req->on_drain(h->req);
    } else if (h->out_paused && h->state == IDLE) {
        h->out_paused = false;
        wr_conn_read_start(c);
        process(h);
    }
}

static void
on_timeout(wr_conn *c)
{
    h1 *h = c->proto_state;
    if (h->state == HEAD || h->state == BODY) {
        send_simple_error(h, WR_ERR_REQUEST_TIMEOUT, "request not received in time");
        return;
    }
    wr_conn_close(c);
}

static void
on_shutdown(wr_conn *c)
{
    h1 *h = c->proto_state;
    h->shutting_down = true;
    if (h->state == IDLE) {
        wr_conn_close(c);
        return;
    }
    h->close_after = true;
    if (h->state == ACTIVE && h->req && h->req->on_shutdown)
        h->req->on_shutdown(h->req);
}

static const wr_conn_proto h1_conn_proto = {
    .on_read = on_read,
    .on_close = on_close,
    .on_drain = on_drain,
    .on_timeout = on_timeout,
    .on_shutdown = on_shutdown,
};

void
wr_http1_attach(wr_conn *c, const wr_http *http)
{
    h1 *h = wr_xcalloc(1, sizeof(*h));
    h->conn = c;
    h->http = http;
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = h;
    h->state = IDLE;
    h->sniffing = true;
    c->proto = &h1_conn_proto;
    c->proto_state = h;
    wr_conn_set_timeout(c, http->opts.idle_timeout_ms);
    wr_conn_read_start(c);
}

/* --- response side ---------------------------------------------------------------------- */

static void
write_head(h1 *h, wr_buf *out, int status, const wr_hdr *headers, size_t n_headers)
{
    /* Appends, not printf: this runs for every response. */
    wr_buf_append_str(out, "HTTP/1.1 ");
    wr_buf_append_u64(out, (uint64_t)status);
    wr_buf_append_byte(out, ' ');
    wr_buf_append_str(out, wr_http_reason(status));
    wr_buf_append_str(out, "\r\n");
    for (size_t i = 0; i < n_headers; i++) {
        wr_buf_append_str(out, headers[i].name);
        wr_buf_append_str(out, ": ");
        wr_buf_append_str(out, headers[i].value);
        wr_buf_append_str(out, "\r\n");
    }
    if (h->close_after || !h->keep_alive)
        wr_buf_append_str(out, "connection: close\r\n");
}

static void
h1_send(wr_req *req, int status, const wr_hdr *headers, size_t n_headers, const void *body,
        size_t len)
{
    h1 *h = req->proto;
    char head_mem[HEAD_STACK_BYTES]; /* a typical head; a bigger one moves to the heap */
    wr_buf head;
    wr_buf_init_in(&head, head_mem, sizeof(head_mem));
    write_head(h, &head, status, headers, n_headers);
    if (status != 204 && status != 304) {
        wr_buf_append_str(&head, "content-length: ");
        wr_buf_append_u64(&head, len);
        wr_buf_append_str(&head, "\r\n");
    }
    wr_buf_append_str(&head, "\r\n");
    bool with_body = len > 0 && req->method != WR_METHOD_HEAD;
    uv_buf_t bufs[2] = {uv_buf_init(head.data, (unsigned)head.len),
                        uv_buf_init((char *)body, (unsigned)len)};
    wr_conn_writev(h->conn, bufs, with_body ? 2 : 1);
    wr_buf_fini(&head);
    finish_request(h);
}

static void
h1_start(wr_req *req, int status, const wr_hdr *headers, size_t n_headers)
{
    h1 *h = req->proto;
    char head_mem[HEAD_STACK_BYTES];
    wr_buf head;
    wr_buf_init_in(&head, head_mem, sizeof(head_mem));
    write_head(h, &head, status, headers, n_headers);
    h->chunked_out = h->parser.http_major > 1 || h->parser.http_minor >= 1;
    if (h->chunked_out)
        wr_buf_append_str(&head, "transfer-encoding: chunked\r\n");
    else
        h->close_after = true; /* HTTP/1.0: the body ends when the connection does */
    wr_buf_append_str(&head, "\r\n");
    wr_conn_write(h->conn, head.data, head.len);
    wr_buf_fini(&head);
}

static bool
h1_write(wr_req *req, const wr_iov *parts, size_t n)
{
    h1 *h = req->proto;
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += parts[i].len;
    if (len == 0)
        return !wr_conn_congested(h->conn);
    if (h->chunked_out) {
        char size[24];
        int k = snprintf(size, sizeof(size), "%zx\r\n", len);
        wr_iov framed[WR_CONN_MAX_IOV];
        framed[0] = (wr_iov){size, (size_t)k, NULL};
        memcpy(framed + 1, parts, n * sizeof(*parts));
        framed[n + 1] = (wr_iov){"\r\n", 2, NULL};
        wr_conn_write_iov(h->conn, framed, n + 2);
    } else {
        wr_conn_write_iov(h->conn, parts, n);
    }
    return !wr_conn_congested(h->conn);
}

static void
h1_end(wr_req *req)
{
    h1 *h = req->proto;
    if (h->chunked_out)
        wr_conn_write(h->conn, "0\r\n\r\n", 5);
    finish_request(h);
}

/* Ends a streaming answer as a failure: what is queued is sent, then the connection closes
 * without the terminating chunk, which clients see as a dropped connection. */
static void
h1_abort(wr_req *req)
{
    h1 *h = req->proto;
    h->close_after = true;
    finish_request(h);
}

static const wr_proto_ops h1_ops = {
    .send = h1_send,
    .start = h1_start,
    .write = h1_write,
    .end = h1_end,
    .abort = h1_abort,
};
