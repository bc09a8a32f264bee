/*
 * session.c — read sessions: SSE (GET .../records with `Accept: text/event-stream`) and s2s
 * (GET .../records with `Content-Type: s2s/proto`). Both share everything but the encoding:
 *   SSE  `batch` events, `ping` events with the tail, `error` events, a final `data: [DONE]`;
 *   s2s  ReadBatch frames, heartbeats (ReadBatch with no records and the tail), terminal frames
 *        for errors, and a clean end of stream when the session completes.
 *
 * A session alternates between two phases:
 *   CATCH-UP   store reads, each bounded to one batch event (≤ 1000 records, ≤ 1 MiB), until the
 *              read reaches the durable tail;
 *   FOLLOWING  a store follow subscription delivering each new durable batch, with a ping sent on
 *              entering it and every 5–15 s while idle.
 * It ends with `data: [DONE]` when count, bytes or until are exhausted, or when no batch arrived
 * within `wait` seconds (the deadline restarts after each delivered batch).
 *
 * Back-pressure: when the socket is congested the session stops issuing reads and pauses its
 * follow subscription; on_drain resumes it. A follow that falls out of the store's cache
 * (LAGGED) goes back to catch-up reads, so a slow reader never makes the server buffer.
 *
 * Lifetime: the session is freed once the request is finished or gone, no store read is pending,
 * and both timers are closed (see maybe_free).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/sse.h"
#include "s2/proto.h"
#include "s2/enc_cache.h"
#include "s2/s2_int.h"
#include "s2/s2s.h"
#include "util/clock.h"
#include "util/mem.h"

#define SSE_MAX_RECORDS 1000
#define SSE_MAX_BYTES (1024u * 1024u)

typedef struct session {
    wr_s2 *s2;
    wr_req *req; /* NULL once the response is finished or the client is gone */
    char *basin, *stream;
    wr_s2_format fmt;
    bool s2s; /* s2s framing instead of SSE */
    bool may_follow;
    wr_read_req base; /* start/clamp/until of the original request */
    bool has_count, has_bytes;
    uint64_t count_left, bytes_left;
    uint64_t wait_ms; /* 0 with !wait_infinite = end as soon as caught up */
    bool wait_infinite;
    uint64_t next_seq;
    bool started; /* first read succeeded: the SSE response has begun */
    uint64_t records_sent, bytes_sent;
    wr_pos tail;
    bool read_pending;
    bool following;
    bool congested;
    wr_follow *follow;
    uv_timer_t wait_timer, ping_timer;
    int handles_open;
    bool realtime;      /* served for the realtime layer (wr_s2_serve_sse) */
    uint64_t op_minute; /* usage: the minute of the last read operation counted */
} session;

/* Usage: a read session is one streaming read operation per minute it is open (counted when it
 * starts and then with the first batch of each later minute). */
static void
count_op(session *s)
{
    uint64_t m = wr_clock_now_ms() / 60000;
    if (m != s->op_minute) {
        s->op_minute = m;
        wr_store_usage_read_op(s->s2->store, s->basin, s->stream);
    }
}

static void pump(session *s);

static void
handle_closed(uv_handle_t *h)
{
    session *s = h->data;
    if (--s->handles_open == 0) {
        free(s->basin);
        free(s->stream);
        free(s);
    }
}

/* Frees the session once nothing refers to it any more. */
static void
maybe_free(session *s)
{
    if (s->req || s->read_pending || s->handles_open == 0 ||
        uv_is_closing((uv_handle_t *)&s->wait_timer))
        return;
    if (s->follow) {
        wr_store_unfollow(s->follow);
        s->follow = NULL;
    }
    s->s2->n_sessions--;
    if (s->realtime)
        s->s2->n_rt_sessions--;
    wr_store_release(s->s2->store, s->basin, s->stream);
    uv_close((uv_handle_t *)&s->wait_timer, handle_closed);
    uv_close((uv_handle_t *)&s->ping_timer, handle_closed);
}

static void
finish(session *s, bool done_marker)
{
    wr_req *req = s->req;
    if (req == NULL)
        return;
    if (done_marker && !s->s2s) {
        static const char done[] = "data: [DONE]\n\n";
        wr_resp_write(req, done, sizeof(done) - 1);
    }
    s->req = NULL;
    req->on_close = req->on_drain = req->on_shutdown = NULL;
    wr_resp_end(req);
    maybe_free(s);
}

static void
send_error(session *s, wr_err code, const char *msg)
{
    if (!s->started) {
        wr_req *req = s->req;
        s->req = NULL;
        req->on_close = NULL;
        wr_resp_error(req, code, msg);
        maybe_free(s);
        return;
    }
    wr_buf data, b;
    wr_buf_init(&data);
    wr_buf_init(&b);
    wr_s2_error_json(&data, code, msg);
    if (s->s2s)
        wr_s2s_terminal(&b, wr_err_status(code), data.data, data.len);
    else
        wr_sse_event(&b, "error", NULL, data.data, data.len);
    wr_buf_fini(&data);
    wr_resp_write(s->req, b.data, b.len);
    wr_buf_fini(&b);
    finish(s, false);
}

static void
write_parts(session *s, const wr_iov *parts, size_t n)
{
    if (!wr_resp_writev(s->req, parts, n))
        s->congested = true;
}

static void
write_out(session *s, const wr_buf *b)
{
    wr_iov part = {b->data, b->len, NULL};
    write_parts(s, &part, 1);
}

static void
send_ping(session *s)
{
    if (s->s2s) {
        wr_buf msg, frame;
        wr_buf_init(&msg);
        wr_buf_init(&frame);
        wr_s2_read_batch_proto(NULL, 0, &s->tail, &msg);
        wr_s2s_frame(&frame, msg.data, msg.len);
        write_out(s, &frame);
        wr_buf_fini(&msg);
        wr_buf_fini(&frame);
        return;
    }
    char data[128];
    snprintf(data, sizeof(data),
             "{\"timestamp\":%llu,\"tail\":{\"seq_num\":%llu,\"timestamp\":%llu}}",
             (unsigned long long)wr_clock_now_ms(), (unsigned long long)s->tail.seq,
             (unsigned long long)s->tail.ts_ms);
    wr_buf b;
    wr_buf_init(&b);
    wr_sse_event(&b, "ping", NULL, data, strlen(data));
    write_out(s, &b);
    wr_buf_fini(&b);
}

static void ping_cb(uv_timer_t *t);

static void
arm_ping(session *s)
{
    /* 5–15 s, randomised so that many idle sessions do not ping in lockstep. */
    uint64_t ms = 5000 + (uint64_t)(rand() % 10001);
    uv_timer_start(&s->ping_timer, ping_cb, ms, 0);
}

static void
ping_cb(uv_timer_t *t)
{
    session *s = t->data;
    if (s->req == NULL || !s->following)
        return;
    send_ping(s);
    arm_ping(s);
}

static void
wait_cb(uv_timer_t *t)
{
    session *s = t->data;
    if (s->req && s->following)
        finish(s, true);
}

static void
arm_wait(session *s)
{
    if (!s->wait_infinite)
        uv_timer_start(&s->wait_timer, wait_cb, s->wait_ms, 0);
}

/*
 * What every follower of a live batch receives, encoded once per batch and shared: the SSE
 * `data:` payload per format (each session adds only its own `event`/`id` lines) and the whole
 * s2s frame. A live batch always carries the same tail (the position after it). The encodings
 * are reference-counted, so a follower whose socket is full queues a reference, not a copy.
 */
typedef struct live_cache {
    wr_rbuf *sse[2]; /* indexed by wr_s2_format */
    wr_rbuf *s2s;
} live_cache;

static void
live_cache_free(void *p)
{
    live_cache *c = p;
    wr_rbuf_unref(c->sse[0]);
    wr_rbuf_unref(c->sse[1]);
    wr_rbuf_unref(c->s2s);
    free(c);
}

static wr_rbuf *
rbuf_from(wr_buf *b)
{
    wr_rbuf *r = wr_rbuf_new(b->data, b->len);
    wr_buf_fini(b);
    return r;
}

/* The SSE data payload ("data: {...}\n\n") for records and an optional tail. */
static void
sse_payload(session *s, wr_batch *whole, const wr_record *recs, size_t n, const wr_pos *tail,
            wr_buf *out)
{
    wr_buf body;
    wr_buf_init(&body);
    wr_buf_append_str(&body, "{\"records\":[");
    if (whole) {
        const wr_buf *json = wr_s2_batch_json(whole, s->fmt);
        wr_buf_append(&body, json->data, json->len);
    } else {
        wr_s2_records_json(&body, recs, n, s->fmt);
    }
    wr_buf_append_byte(&body, ']');
    if (tail) {
        wr_buf_append_str(&body, ",\"tail\":");
        wr_s2_pos_append(&body, *tail);
    }
    wr_buf_append_byte(&body, '}');
    /* JSON from these encoders never contains a raw newline, so this is one data line. */
    wr_sse_event(out, NULL, NULL, body.data, body.len);
    wr_buf_fini(&body);
}

static void
s2s_frame(wr_batch *whole, const wr_record *recs, size_t n, const wr_pos *tail, wr_buf *out)
{
    wr_buf body;
    wr_buf_init(&body);
    if (whole) {
        const wr_buf *pre = wr_s2_batch_proto_records(whole);
        wr_buf_append(&body, pre->data, pre->len);
        if (tail)
            wr_s2_read_batch_tail_proto(tail, &body);
    } else {
        wr_s2_read_batch_proto(recs, n, tail, &body);
    }
    wr_s2s_frame(out, body.data, body.len);
    wr_buf_fini(&body);
}

/* Writes the event or frame for records (already limited); `whole` + `tail` = a live batch. */
static void
send_records(session *s, wr_batch *whole, const wr_record *recs, size_t n, const wr_pos *tail,
             const char *id)
{
    live_cache *c = NULL;
    if (whole && tail) {
        c = wr_s2_enc_get(whole, WR_S2_ENC_LIVE);
        if (c == NULL) {
            c = wr_xcalloc(1, sizeof(*c));
            wr_s2_enc_set(whole, WR_S2_ENC_LIVE, c, live_cache_free);
        }
    }
    char head[128];
    int head_len = snprintf(head, sizeof(head), "event: batch\nid: %s\n", id);
    wr_buf enc;
    wr_buf_init(&enc);
    if (c) {
        wr_rbuf **slot = s->s2s ? &c->s2s : &c->sse[s->fmt == WR_S2_FORMAT_BASE64];
        if (*slot == NULL) {
            if (s->s2s)
                s2s_frame(whole, recs, n, tail, &enc);
            else
                sse_payload(s, whole, recs, n, tail, &enc);
            *slot = rbuf_from(&enc);
        }
        wr_iov parts[2] = {{head, (size_t)head_len, NULL}, {(*slot)->data, (*slot)->len, *slot}};
        write_parts(s, s->s2s ? parts + 1 : parts, s->s2s ? 1 : 2);
        return;
    }
    if (s->s2s) {
        s2s_frame(whole, recs, n, tail, &enc);
    } else {
        wr_buf_append(&enc, head, (size_t)head_len);
        sse_payload(s, whole, recs, n, tail, &enc);
    }
    write_out(s, &enc);
    wr_buf_fini(&enc);
}

/*
 * Emits records as one batch event or frame; `whole` is their batch when they are all of it
 * (its cached encodings are used). Returns true when count or bytes are exhausted.
 */
static bool
emit(session *s, wr_batch *whole, const wr_record *recs, size_t n, const wr_pos *tail)
{
    if (n == 0)
        return false;
    count_op(s);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += recs[i].metered;
    s->records_sent += n;
    s->bytes_sent += bytes;
    s->next_seq = recs[n - 1].seq + 1;
    if (s->has_count)
        s->count_left -= n;
    if (s->has_bytes)
        s->bytes_left -= bytes;
    char id[80];
    snprintf(id, sizeof(id), "%llu,%llu,%llu", (unsigned long long)recs[n - 1].seq,
             (unsigned long long)s->records_sent, (unsigned long long)s->bytes_sent);
    send_records(s, whole, recs, n, tail, id);
    return (s->has_count && s->count_left == 0) || (s->has_bytes && s->bytes_left == 0);
}

static bool
limits_done(const session *s)
{
    return (s->has_count && s->count_left == 0) || (s->has_bytes && s->bytes_left == 0);
}

static void
stop_following(session *s)
{
    if (s->follow)
        wr_store_unfollow(s->follow);
    s->follow = NULL;
    s->following = false;
    uv_timer_stop(&s->ping_timer);
}

static void
on_follow(void *ud, const wr_follow_event *ev)
{
    session *s = ud;
    if (s->req == NULL)
        return;
    if (ev->kind == WR_FOLLOW_LAGGED) {
        stop_following(s);
        pump(s);
        return;
    }
    if (ev->kind == WR_FOLLOW_CLOSED) {
        stop_following(s);
        send_error(s, ev->err,
                   ev->err == WR_ERR_STREAM_DELETION_PENDING ? "stream is being deleted"
                                                             : "server is closing the stream");
        return;
    }
    wr_batch *b = ev->batch;
    s->tail = ev->tail;
    wr_read_req lim = {.has_count = s->has_count,
                       .count = s->count_left,
                       .has_bytes = s->has_bytes,
                       .bytes = s->bytes_left,
                       .has_until = s->base.has_until,
                       .until_ms = s->base.until_ms};
    size_t n = 0;
    uint64_t bytes = 0;
    bool until_hit = false;
    for (uint32_t i = ev->first; i < b->n_records && n < SSE_MAX_RECORDS; i++) {
        const wr_record *r = &b->records[i];
        if (lim.has_until && r->ts_ms >= lim.until_ms) {
            until_hit = true;
            break;
        }
        if ((lim.has_count && n >= lim.count) || (lim.has_bytes && bytes + r->metered > lim.bytes))
            break;
        bytes += r->metered;
        n++;
    }
    bool whole = ev->first == 0 && n == b->n_records;
    bool exhausted = emit(s, whole ? b : NULL, b->records + ev->first, n, &ev->tail);
    if (exhausted || until_hit || (n == 0 && b->n_records > ev->first)) {
        /* A limit stopped us inside this batch: the session is complete. */
        finish(s, true);
        return;
    }
    arm_wait(s);
    arm_ping(s);
    if (s->congested)
        wr_store_follow_pause(s->follow);
}

static void
start_following(session *s)
{
    if (!s->may_follow || (!s->wait_infinite && s->wait_ms == 0)) {
        finish(s, true);
        return;
    }
    wr_error err = {0};
    if (wr_store_follow(s->s2->store, s->basin, s->stream, s->next_seq, on_follow, s, &s->follow,
                        &err) != WR_OK) {
        s->follow = NULL;
        send_error(s, err.code, err.msg);
        return;
    }
    s->following = true;
    send_ping(s);
    arm_wait(s);
    arm_ping(s);
}

static void
read_done(void *ud, wr_read_result *res)
{
    session *s = ud;
    s->read_pending = false;
    if (s->req == NULL) {
        wr_read_result_free(res);
        maybe_free(s);
        return;
    }
    if (res->err != WR_OK) {
        if (res->err == WR_ERR_RANGE_NOT_SATISFIABLE && !s->started) {
            wr_req *req = s->req;
            s->req = NULL;
            req->on_close = NULL;
            wr_s2_fail_416(req, res->tail);
            wr_read_result_free(res);
            maybe_free(s);
            return;
        }
        wr_err code = res->err;
        wr_error e = res->error;
        wr_read_result_free(res);
        send_error(s, code, e.msg);
        return;
    }
    if (!s->started) {
        s->started = true;
        if (s->s2s)
            wr_resp_start(s->req, 200, "s2s/proto");
        else
            wr_sse_start(s->req);
    }
    s->tail = res->tail;
    s->next_seq = res->next_seq;
    bool exhausted = false;
    if (res->n_records) {
        exhausted = emit(s, NULL, res->records, res->n_records, NULL);
        if (!s->wait_infinite)
            arm_wait(s);
    }
    bool at_tail = res->at_tail, until = res->until_reached;
    /* Nothing returned short of the tail means a limit stops before the next record. */
    bool blocked = res->n_records == 0 && !at_tail;
    wr_read_result_free(res);
    if (exhausted || until || blocked || limits_done(s)) {
        finish(s, true);
        return;
    }
    if (at_tail) {
        start_following(s);
        return;
    }
    pump(s);
}

/* Issues the next catch-up read unless one is pending or the socket is congested. */
static void
pump(session *s)
{
    if (s->req == NULL || s->read_pending || s->congested || s->following)
        return;
    wr_read_req rr = s->base;
    if (s->started) {
        rr.start_kind = WR_READ_SEQ;
        rr.start_value = s->next_seq;
        rr.clamp = true;
    }
    rr.has_count = true;
    rr.count = s->has_count && s->count_left < SSE_MAX_RECORDS ? s->count_left : SSE_MAX_RECORDS;
    rr.has_bytes = true;
    rr.bytes = s->has_bytes && s->bytes_left < SSE_MAX_BYTES ? s->bytes_left : SSE_MAX_BYTES;
    /* The 416 rule concerns the session, not this bounded slice of it. */
    rr.may_follow = s->may_follow;
    s->read_pending = true;
    wr_store_read(s->s2->store, s->basin, s->stream, &rr, read_done, s);
}

static void
on_drain(wr_req *req)
{
    session *s = req->ud;
    s->congested = false;
    if (s->following)
        wr_store_follow_resume(s->follow);
    else
        pump(s);
}

static void
on_close(wr_req *req)
{
    session *s = req->ud;
    s->req = NULL;
    stop_following(s);
    maybe_free(s);
}

/*
 * The server is going away: the session must not look finished (no [DONE], no clean end), or
 * clients stop at half the data. Dropping it makes them reconnect and resume (Last-Event-ID).
 */
static void
on_shutdown(wr_req *req)
{
    session *s = req->ud;
    stop_following(s);
    s->req = NULL;
    req->on_close = req->on_drain = req->on_shutdown = NULL;
    if (s->started)
        wr_resp_abort(req);
    else
        wr_resp_error(req, WR_ERR_SERVER_DRAINING, "the server is shutting down; retry");
    maybe_free(s);
}

/* Parses Last-Event-ID "seq,count,bytes"; returns false when malformed. */
static bool
parse_last_event_id(const char *v, uint64_t out[3])
{
    for (int i = 0; i < 3; i++) {
        char *end;
        if (*v < '0' || *v > '9')
            return false;
        out[i] = strtoull(v, &end, 10);
        if (*end != (i < 2 ? ',' : '\0'))
            return false;
        v = end + 1;
    }
    return true;
}

void
wr_s2_read_session(wr_s2 *s2, wr_req *req, const char *basin, const char *stream,
                   const wr_s2_read_params *p, wr_s2_format fmt, bool s2s)
{
    session *s = wr_xcalloc(1, sizeof(*s));
    s->s2 = s2;
    s->s2s = s2s;
    s->basin = wr_xstrdup(basin);
    s->stream = wr_xstrdup(stream);
    s->fmt = fmt;
    s->base = p->req;
    s->has_count = p->req.has_count;
    s->count_left = p->req.count;
    s->has_bytes = p->req.has_bytes;
    s->bytes_left = p->req.bytes;
    bool bounded = p->req.has_count || p->req.has_bytes || p->req.has_until;
    /* Default wait: 0 for a bounded read, forever otherwise. */
    s->wait_infinite = !p->has_wait && !bounded;
    s->wait_ms = p->has_wait ? p->wait_secs * 1000 : 0;
    s->may_follow = !bounded || (p->has_wait && p->wait_secs > 0);

    const char *leid = p->ignore_last_event_id ? NULL : wr_req_header(req, "last-event-id");
    if (leid) {
        uint64_t v[3];
        if (!parse_last_event_id(leid, v)) {
            free(s->basin);
            free(s->stream);
            free(s);
            wr_resp_error(req, WR_ERR_BAD_HEADER,
                          "invalid `Last-Event-ID`: expected seq_num,count,bytes");
            return;
        }
        s->base.start_kind = WR_READ_SEQ;
        s->base.start_value = v[0] + 1;
        s->records_sent = v[1];
        s->bytes_sent = v[2];
        if (s->has_count)
            s->count_left = s->count_left > v[1] ? s->count_left - v[1] : 0;
        if (s->has_bytes)
            s->bytes_left = s->bytes_left > v[2] ? s->bytes_left - v[2] : 0;
    }
    uv_timer_init(s2->loop, &s->wait_timer);
    uv_timer_init(s2->loop, &s->ping_timer);
    s->wait_timer.data = s->ping_timer.data = s;
    s->handles_open = 2;
    s2->n_sessions++;
    s->realtime = p->ignore_last_event_id;
    if (s->realtime)
        s2->n_rt_sessions++;
    count_op(s);
    wr_store_hold(s2->store, basin, stream); /* no delete-on-empty under a live reader */
    s->req = req;
    req->ud = s;
    req->on_close = on_close;
    req->on_drain = on_drain;
    req->on_shutdown = on_shutdown;
    pump(s);
}

void
wr_s2_serve_sse(wr_s2 *s2, wr_req *req, const char *basin, const char *stream, uint64_t start_seq,
                uint64_t wait_s)
{
    wr_s2_read_params p = {
        .req = {.start_kind = start_seq == WR_S2_SSE_AT_TAIL ? WR_READ_TAIL_OFFSET : WR_READ_SEQ,
                .start_value = start_seq == WR_S2_SSE_AT_TAIL ? 0 : start_seq,
                .clamp = true},
        .has_start = true,
        .has_wait = true,
        .wait_secs = wait_s,
        .ignore_last_event_id = true,
    };
    wr_s2_read_session(s2, req, basin, stream, &p, WR_S2_FORMAT_RAW, false);
}
