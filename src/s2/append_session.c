/*
 * append_session.c — s2s append sessions (POST .../records, `Content-Type: s2s/proto`).
 *
 * The request body is a stream of AppendInput frames and the response a stream of AppendAck
 * frames: exactly one ack per input, in order, each sent once its batch is durable (the store
 * delivers a stream's acks in submission order). The first failure — a bad frame, a bad
 * message, or an append error — sends one terminal frame and ends the response; later inputs
 * are neither written nor acknowledged. A client half-close ends the response once every
 * outstanding ack is out.
 *
 * Back-pressure: once MAX_INFLIGHT inputs wait on the store, the bytes that arrive are no longer
 * credited back to the client (wr_req_consumed), so HTTP/2 flow control stops it within one
 * stream window (1 MiB, http2.c); credit is returned as acks come back. What arrives inside that
 * window is still parsed and appended, so more than MAX_INFLIGHT inputs can wait at once, as
 * many as one window of frames holds. Over HTTP/1.1 the body is read whole before it is parsed
 * (req.h), bounded by the route's body limit.
 *
 * Lifetime: the session lives until the request is finished or gone AND no append is pending.
 */
#include <stdlib.h>
#include <string.h>

#include "s2/proto.h"
#include "s2/s2_int.h"
#include "s2/s2s.h"
#include "util/mem.h"

#define MAX_INFLIGHT 64

typedef struct pending {
    struct aps *s;
    wr_s2_append in;
} pending;

typedef struct aps {
    wr_s2 *s2;
    wr_req *req; /* NULL once finished or gone */
    char *basin, *stream;
    wr_scope scope; /* copied: a revoked token's record may go away mid-session */
    wr_s2s_parser parser;
    wr_append_chain chain; /* once one input fails, no later one is written */
    size_t outstanding;
    size_t held; /* body bytes not yet credited back to the client */
    bool input_done;
    bool poisoned;
} aps;

static void
maybe_free(aps *s)
{
    if (s->req || s->outstanding)
        return;
    wr_store_release(s->s2->store, s->basin, s->stream);
    wr_s2s_parser_fini(&s->parser);
    free(s->basin);
    free(s->stream);
    free(s);
}

static void
finish(aps *s)
{
    wr_req *req = s->req;
    if (req == NULL)
        return;
    s->req = NULL;
    req->on_close = NULL;
    req->on_body = NULL;
    req->on_body_end = NULL;
    wr_resp_end(req);
}

/* Sends the terminal frame for an error and ends the session. */
static void
fail(aps *s, int status, const char *json, size_t len)
{
    s->poisoned = true;
    if (s->req == NULL)
        return;
    wr_buf b;
    wr_buf_init(&b);
    wr_s2s_terminal(&b, status, json, len);
    wr_resp_write(s->req, b.data, b.len);
    wr_buf_fini(&b);
    finish(s);
}

static void
fail_error(aps *s, wr_err code, const char *msg)
{
    wr_buf j;
    wr_buf_init(&j);
    wr_s2_error_json(&j, code, msg);
    fail(s, wr_err_status(code), j.data, j.len);
    wr_buf_fini(&j);
}

static void
credit(aps *s)
{
    if (s->req && s->held && s->outstanding < MAX_INFLIGHT) {
        wr_req_consumed(s->req, s->held);
        s->held = 0;
    }
}

static void
on_ack(void *ud, const wr_append_result *res)
{
    pending *p = ud;
    aps *s = p->s;
    wr_s2_append_fini(&p->in);
    free(p);
    s->outstanding--;
    if (s->poisoned || s->req == NULL) {
        maybe_free(s);
        return;
    }
    if (res->err != WR_OK) {
        wr_buf b;
        wr_buf_init(&b);
        int status = wr_s2_append_error_json(res, &b);
        fail(s, status, b.data, b.len);
        wr_buf_fini(&b);
    } else {
        wr_buf msg, frame;
        wr_buf_init(&msg);
        wr_buf_init(&frame);
        wr_s2_ack_proto(&res->start, &res->end, &res->tail, &msg);
        wr_s2s_frame(&frame, msg.data, msg.len);
        wr_resp_write(s->req, frame.data, frame.len);
        wr_buf_fini(&msg);
        wr_buf_fini(&frame);
        if (s->input_done && s->outstanding == 0)
            finish(s);
        else
            credit(s);
    }
    maybe_free(s);
}

static void
on_msg(void *ud, const uint8_t *msg, size_t len)
{
    aps *s = ud;
    if (s->poisoned || s->req == NULL)
        return;
    pending *p = wr_xcalloc(1, sizeof(*p));
    p->s = s;
    wr_error err = {0};
    wr_token tok = {.scope = s->scope};
    if (wr_s2_append_from_proto(msg, len, &p->in, &err) != WR_OK ||
        !wr_s2_commands_allowed(&tok, &p->in.in, s->basin, s->stream, &err)) {
        wr_s2_append_fini(&p->in);
        free(p);
        fail_error(s, err.code, err.msg);
        return;
    }
    s->outstanding++;
    p->in.in.chain = &s->chain;
    wr_store_append(s->s2->store, s->basin, s->stream, &p->in.in, on_ack, p);
}

static void
on_body(wr_req *req, const void *data, size_t len)
{
    aps *s = req->ud;
    wr_error err = {0};
    if (wr_s2s_parser_feed(&s->parser, data, len, on_msg, s, &err) != WR_OK)
        fail_error(s, err.code, err.msg);
    if (s->req == NULL) {
        maybe_free(s);
        return;
    }
    s->held += len;
    credit(s);
}

static void
on_body_end(wr_req *req)
{
    aps *s = req->ud;
    s->input_done = true;
    if (s->parser.hdr_len > 0 && !s->poisoned) {
        /* The body ended inside a frame: the last input is incomplete. */
        fail_error(s, WR_ERR_BAD_FRAME, "request body ended inside an s2s frame");
        maybe_free(s);
        return;
    }
    if (s->outstanding == 0) {
        finish(s);
        maybe_free(s);
    }
}

static void
on_close(wr_req *req)
{
    aps *s = req->ud;
    s->req = NULL;
    maybe_free(s);
}

void
wr_s2_append_session(wr_s2 *s2, wr_req *req, const wr_token *t, const char *basin,
                     const char *stream)
{
    aps *s = wr_xcalloc(1, sizeof(*s));
    s->s2 = s2;
    s->scope = t->scope;
    s->req = req;
    s->basin = wr_xstrdup(basin);
    s->stream = wr_xstrdup(stream);
    wr_store_hold(s2->store, basin, stream); /* no delete-on-empty under a live appender */
    wr_s2s_parser_init(&s->parser);
    req->ud = s;
    req->on_close = on_close;
    req->on_body = on_body;
    req->on_body_end = on_body_end;
    /* Over HTTP/1.1 the protocol delivers the buffered body right after this returns. */
    wr_resp_start(req, 200, "s2s/proto");
}
