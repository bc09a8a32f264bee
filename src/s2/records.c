/*
 * records.c — record routes: POST /v1/streams/{stream}/records (unary JSON append),
 * GET /v1/streams/{stream}/records (unary JSON read, or an SSE session — see sse.c), and
 * GET /v1/streams/{stream}/records/tail.
 *
 * Every request that waits on the store keeps a small context. If the client disconnects first,
 * req->on_close detaches the context from the request; the store's callback then only cleans
 * up. Nothing is answered twice and nothing touches a freed request.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s2/proto.h"
#include "s2/s2_int.h"
#include "util/clock.h"
#include "util/mem.h"

#define UNARY_MAX_RECORDS 1000
#define UNARY_MAX_BYTES (1024u * 1024u)
#define UNARY_MAX_WAIT_SECS 60

/* --- read parameters --------------------------------------------------------------------- */

static wr_err
query_u64(wr_req *req, const char *name, bool *has, uint64_t *out, wr_error *e)
{
    const char *v = NULL;
    int rc = wr_req_query(req, name, &v);
    *has = false;
    if (rc == 0)
        return WR_OK;
    char *end = NULL;
    if (rc < 0 || *v < '0' || *v > '9' || (*out = strtoull(v, &end, 10), *end != '\0') ||
        strlen(v) > 20)
        return wr_error_set(e, WR_ERR_BAD_QUERY, "invalid `%s`: expected a non-negative integer",
                            name);
    /* strtoull saturates on overflow; reject rather than silently clamp. */
    if (*out == UINT64_MAX && strcmp(v, "18446744073709551615") != 0)
        return wr_error_set(e, WR_ERR_BAD_QUERY, "invalid `%s`: out of range", name);
    *has = true;
    return WR_OK;
}

wr_err
wr_s2_read_params_parse(wr_req *req, wr_s2_read_params *p, wr_error *e)
{
    memset(p, 0, sizeof(*p));
    bool has_seq, has_ts, has_off;
    uint64_t seq = 0, ts = 0, off = 0;
    wr_err err;
    if ((err = query_u64(req, "seq_num", &has_seq, &seq, e)) ||
        (err = query_u64(req, "timestamp", &has_ts, &ts, e)) ||
        (err = query_u64(req, "tail_offset", &has_off, &off, e)) ||
        (err = query_u64(req, "count", &p->req.has_count, &p->req.count, e)) ||
        (err = query_u64(req, "bytes", &p->req.has_bytes, &p->req.bytes, e)) ||
        (err = query_u64(req, "until", &p->req.has_until, &p->req.until_ms, e)) ||
        (err = query_u64(req, "wait", &p->has_wait, &p->wait_secs, e)))
        return err;
    if (p->has_wait && p->wait_secs > UINT32_MAX)
        return wr_error_set(e, WR_ERR_BAD_QUERY, "invalid `wait`: out of range");
    const char *clamp = NULL;
    int rc = wr_req_query(req, "clamp", &clamp);
    if (rc < 0 || (rc == 1 && strcmp(clamp, "true") != 0 && strcmp(clamp, "false") != 0))
        return wr_error_set(e, WR_ERR_BAD_QUERY, "invalid `clamp`: expected true or false");
    p->req.clamp = rc == 1 && strcmp(clamp, "true") == 0;
    if (has_seq + has_ts + has_off > 1)
        return wr_error_set(e, WR_ERR_INVALID,
                            "only one of `seq_num`, `timestamp` or `tail_offset` may be given");
    p->has_start = has_seq || has_ts || has_off;
    p->req.start_kind = has_seq ? WR_READ_SEQ : has_ts ? WR_READ_TIMESTAMP : WR_READ_TAIL_OFFSET;
    p->req.start_value = has_seq ? seq : has_ts ? ts : off;
    if (has_ts && p->req.has_until && ts >= p->req.until_ms)
        return wr_error_set(e, WR_ERR_INVALID, "`timestamp` must be less than `until`");
    return WR_OK;
}

/* --- append -------------------------------------------------------------------------------- */

typedef struct append_ctx {
    wr_req *req; /* NULL once the client is gone */
    json_t *body;
    wr_s2_append in;
    bool proto_out;         /* Accept: application/protobuf */
    wr_s2_append_room room; /* `in`'s records and bytes when they fit (a typical append) */
} append_ctx;

static void
append_closed(wr_req *req)
{
    append_ctx *c = req->ud;
    c->req = NULL;
}

static void
append_done(void *ud, const wr_append_result *res)
{
    append_ctx *c = ud;
    if (c->req) {
        wr_req *req = c->req;
        req->on_close = NULL;
        /* An ack (three positions of two 20-digit numbers at most) is written on the stack. */
        char mem[256];
        wr_buf b;
        wr_buf_init_in(&b, mem, sizeof(mem));
        if (res->err == WR_OK && c->proto_out) {
            wr_s2_ack_proto(&res->start, &res->end, &res->tail, &b);
            wr_resp_send(req, 200, "application/protobuf", b.data, b.len);
            wr_buf_fini(&b);
        } else if (res->err == WR_OK) {
            wr_buf_append_str(&b, "{\"start\":");
            wr_s2_pos_append(&b, res->start);
            wr_buf_append_str(&b, ",\"end\":");
            wr_s2_pos_append(&b, res->end);
            wr_buf_append_str(&b, ",\"tail\":");
            wr_s2_pos_append(&b, res->tail);
            wr_buf_append_byte(&b, '}');
            wr_resp_send(req, 200, "application/json", b.data, b.len);
            wr_buf_fini(&b);
        } else
            wr_s2_fail_append(req, res);
    }
    wr_s2_append_fini(&c->in);
    json_decref(c->body);
    free(c);
}

static bool
is_type(const char *header, const char *type)
{
    if (header == NULL)
        return false;
    size_t n = strcspn(header, ";,");
    while (n && header[n - 1] == ' ')
        n--;
    return n == strlen(type) && strncasecmp(header, type, n) == 0;
}

static bool
is_proto(const char *type)
{
    return is_type(type, "application/protobuf") || is_type(type, "application/x-protobuf");
}

static bool
wants_proto(wr_req *req)
{
    return is_proto(wr_req_header(req, "accept"));
}

/* s2s append sessions stream their request body; everything else is buffered. */
static bool
stream_body(const wr_req *req)
{
    return is_type(wr_req_header(req, "content-type"), "s2s/proto");
}

static void
append_records(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t;
    const char *basin, *stream;
    if (!wr_s2_stream_target(req, s2, WR_OP_APPEND, &t, &basin, &stream))
        return;
    wr_s2_format fmt;
    if (!wr_s2_read_format(req, &fmt))
        return;
    const char *ct = wr_req_header(req, "content-type");
    if (is_type(ct, "s2s/proto")) {
        wr_s2_append_session(s2, req, t, basin, stream);
        return;
    }
    wr_error err = {0};
    append_ctx *c = wr_xmalloc(sizeof(*c)); /* the room needs no zeroing */
    c->req = NULL;
    c->body = NULL;
    c->proto_out = wants_proto(req);
    wr_err rc = is_proto(ct) ? wr_s2_append_from_proto((const uint8_t *)req->body.data,
                                                       req->body.len, &c->in, &err)
                             : wr_s2_append_parse_json(req, fmt, &c->body, &c->room, &c->in, &err);
    if (rc == WR_OK && !wr_s2_commands_allowed(t, &c->in.in, basin, stream, &err))
        rc = err.code;
    if (rc != WR_OK) {
        wr_s2_append_fini(&c->in);
        json_decref(c->body);
        free(c);
        wr_s2_fail(req, &err);
        return;
    }
    c->req = req;
    req->ud = c;
    req->on_close = append_closed;
    wr_store_append(s2->store, basin, stream, &c->in.in, append_done, c);
}

/* --- unary read -------------------------------------------------------------------------- */

typedef struct read_ctx {
    wr_s2 *s2;
    wr_req *req; /* NULL once the client is gone */
    char *basin, *stream;
    wr_s2_format fmt;
    bool proto_out; /* Accept: application/protobuf */
    wr_read_req rr;
    uint64_t deadline_ms; /* monotonic; 0 = no waiting */
    bool read_pending;
    wr_follow *follow;
    uv_timer_t *timer; /* heap: freed by its close callback */
    bool held;         /* a long-poll holds its stream (wr_store_hold) */
} read_ctx;

static void read_start(read_ctx *c);

static void
timer_closed(uv_handle_t *h)
{
    free(h);
}

static void
read_ctx_free(read_ctx *c)
{
    if (c->follow)
        wr_store_unfollow(c->follow);
    if (c->timer)
        uv_close((uv_handle_t *)c->timer, timer_closed);
    if (c->held)
        wr_store_release(c->s2->store, c->basin, c->stream);
    free(c->basin);
    free(c->stream);
    free(c);
}

/* Answers with `n` records and, when they came from following, the tail; then frees c. */
static void
read_answer(read_ctx *c, const wr_record *recs, size_t n, const wr_pos *tail)
{
    wr_req *req = c->req;
    c->req = NULL;
    req->on_close = NULL;
    wr_buf b;
    wr_buf_init(&b);
    if (c->proto_out) {
        wr_s2_read_batch_proto(recs, n, tail, &b);
        wr_resp_send(req, 200, "application/protobuf", b.data, b.len);
        wr_buf_fini(&b);
        read_ctx_free(c);
        return;
    }
    wr_buf_append_str(&b, "{\"records\":[");
    wr_s2_records_json(&b, recs, n, c->fmt);
    wr_buf_append_byte(&b, ']');
    if (tail) {
        wr_buf_append_str(&b, ",\"tail\":");
        wr_s2_pos_append(&b, *tail);
    }
    wr_buf_append_byte(&b, '}');
    wr_resp_send(req, 200, "application/json", b.data, b.len);
    wr_buf_fini(&b);
    read_ctx_free(c);
}

static void
read_closed(wr_req *req)
{
    read_ctx *c = req->ud;
    c->req = NULL;
    if (!c->read_pending)
        read_ctx_free(c);
}

static void
wait_expired(uv_timer_t *t)
{
    read_ctx *c = t->data;
    if (c->req && !c->read_pending)
        read_answer(c, NULL, 0, NULL);
}

/* How many of the batch's records (from `first`) fit the read's count/bytes/until limits. */
static size_t
fit_records(const wr_read_req *rr, const wr_batch *b, uint32_t first)
{
    uint64_t bytes = 0;
    size_t n = 0;
    for (uint32_t i = first; i < b->n_records; i++) {
        const wr_record *r = &b->records[i];
        if (rr->has_until && r->ts_ms >= rr->until_ms)
            break;
        if (rr->has_count && n >= rr->count)
            break;
        if (rr->has_bytes && bytes + r->metered > rr->bytes)
            break;
        bytes += r->metered;
        n++;
    }
    return n;
}

static void
on_follow(void *ud, const wr_follow_event *ev)
{
    read_ctx *c = ud;
    if (c->req == NULL)
        return;
    if (ev->kind == WR_FOLLOW_BATCH) {
        size_t n = fit_records(&c->rr, ev->batch, ev->first);
        read_answer(c, ev->batch->records + ev->first, n, &ev->tail);
        return;
    }
    wr_store_unfollow(c->follow);
    c->follow = NULL;
    if (ev->kind == WR_FOLLOW_LAGGED) {
        read_start(c); /* catch up from storage; the deadline stays */
        return;
    }
    wr_req *req = c->req;
    c->req = NULL;
    req->on_close = NULL;
    wr_resp_error(req, ev->err, "stream is no longer available");
    read_ctx_free(c);
}

static void
read_done(void *ud, wr_read_result *res)
{
    read_ctx *c = ud;
    c->read_pending = false;
    if (c->req == NULL) {
        wr_read_result_free(res);
        read_ctx_free(c);
        return;
    }
    if (res->err == WR_ERR_RANGE_NOT_SATISFIABLE || res->err != WR_OK) {
        wr_req *req = c->req;
        c->req = NULL;
        req->on_close = NULL;
        if (res->err == WR_ERR_RANGE_NOT_SATISFIABLE)
            wr_s2_fail_416(req, res->tail);
        else
            wr_s2_fail(req, &res->error);
        wr_read_result_free(res);
        read_ctx_free(c);
        return;
    }
    bool limit_zero =
        (c->rr.has_count && c->rr.count == 0) || (c->rr.has_bytes && c->rr.bytes == 0);
    uint64_t now = wr_clock_mono_ms();
    if (res->n_records > 0 || res->until_reached || limit_zero || c->deadline_ms <= now) {
        read_answer(c, res->records, res->n_records, NULL);
        wr_read_result_free(res);
        return;
    }
    /* Nothing available yet and the client allows waiting: follow from where the read ended. */
    wr_error err = {0};
    uint64_t from = res->next_seq;
    wr_read_result_free(res);
    if (wr_store_follow(c->s2->store, c->basin, c->stream, from, on_follow, c, &c->follow, &err) !=
        WR_OK) {
        c->follow = NULL;
        wr_req *req = c->req;
        c->req = NULL;
        req->on_close = NULL;
        wr_s2_fail(req, &err);
        read_ctx_free(c);
        return;
    }
    if (c->timer == NULL) {
        c->timer = wr_xmalloc(sizeof(*c->timer));
        uv_timer_init(c->s2->loop, c->timer);
        c->timer->data = c;
    }
    uv_timer_start(c->timer, wait_expired, c->deadline_ms - now, 0);
}

static void
read_start(read_ctx *c)
{
    c->read_pending = true;
    wr_store_read(c->s2->store, c->basin, c->stream, &c->rr, read_done, c);
    c->rr.unary_op = false; /* usage: a unary read is one operation, however many store reads */
}

static void
unary_read(wr_s2 *s2, wr_req *req, const char *basin, const char *stream,
           const wr_s2_read_params *p, wr_s2_format fmt)
{
    read_ctx *c = wr_xcalloc(1, sizeof(*c));
    c->s2 = s2;
    c->req = req;
    c->basin = wr_xstrdup(basin);
    c->stream = wr_xstrdup(stream);
    c->fmt = fmt;
    c->proto_out = wants_proto(req);
    c->rr = p->req;
    /* Unary reads are capped at 1000 records and 1 MiB, and wait at 60 s. */
    if (!c->rr.has_count || c->rr.count > UNARY_MAX_RECORDS) {
        c->rr.has_count = true;
        c->rr.count = UNARY_MAX_RECORDS;
    }
    if (!c->rr.has_bytes || c->rr.bytes > UNARY_MAX_BYTES) {
        c->rr.has_bytes = true;
        c->rr.bytes = UNARY_MAX_BYTES;
    }
    uint64_t wait = p->has_wait ? p->wait_secs : 0;
    if (wait > UNARY_MAX_WAIT_SECS)
        wait = UNARY_MAX_WAIT_SECS;
    c->rr.may_follow = wait > 0;
    c->rr.unary_op = true;
    c->deadline_ms = wait ? wr_clock_mono_ms() + wait * 1000 : 0;
    if (wait) {
        c->held = true;
        wr_store_hold(s2->store, basin, stream);
    }
    req->ud = c;
    req->on_close = read_closed;
    read_start(c);
}

static void
read_records(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t;
    const char *basin, *stream;
    if (!wr_s2_stream_target(req, s2, WR_OP_READ, &t, &basin, &stream))
        return;
    wr_s2_format fmt;
    if (!wr_s2_read_format(req, &fmt))
        return;
    const char *ct = wr_req_header(req, "content-type");
    const char *accept = wr_req_header(req, "accept");
    wr_s2_read_params p;
    wr_error err = {0};
    if (wr_s2_read_params_parse(req, &p, &err) != WR_OK) {
        wr_s2_fail(req, &err);
        return;
    }
    /* Content-Type s2s/proto selects a session even on a GET; then the first Accept type. */
    if (is_type(ct, "s2s/proto"))
        wr_s2_read_session(s2, req, basin, stream, &p, fmt, true);
    else if (is_type(accept, "text/event-stream"))
        wr_s2_read_session(s2, req, basin, stream, &p, fmt, false);
    else
        unary_read(s2, req, basin, stream, &p, fmt);
}

/* Loop thread: the tail, once the stream is durable (or the check failed). */
static void
tail_done(void *ud, wr_err e, const wr_error *detail, wr_pos tail)
{
    wr_req *req = wr_s2_waiting_req(ud);
    if (req && e != WR_OK) {
        wr_s2_fail(req, detail);
    } else if (req) {
        wr_s2_send_tail(req, 200, tail);
    }
    free(ud);
}

static void
check_tail(wr_req *req, void *ctx)
{
    wr_s2 *s2 = ctx;
    const wr_token *t;
    const char *basin, *stream;
    if (!wr_s2_stream_target(req, s2, WR_OP_CHECK_TAIL, &t, &basin, &stream))
        return;
    wr_store_check_tail_async(s2->store, basin, stream, tail_done,
                              wr_s2_waiting_new(req, sizeof(wr_s2_waiting)));
}

void
wr_s2_records_register(wr_s2 *s2, wr_router *r)
{
    /* A 1 MiB metered batch can take ~1.4 MiB as base64 JSON, plus per-record overhead. */
    wr_router_add_streaming(r, WR_METHOD_POST, "/v1/streams/{stream}/records", append_records, s2,
                            8u << 20, stream_body);
    wr_router_add(r, WR_METHOD_GET, "/v1/streams/{stream}/records", read_records, s2, 0);
    wr_router_add(r, WR_METHOD_GET, "/v1/streams/{stream}/records/tail", check_tail, s2, 0);
}
