/*
 * append.c — the append pipeline on the loop thread: validation, the in-flight budget queue,
 * sequencing (fence, match_seq_num, seq and timestamp assignment, command records), hand-off to
 * the commit thread, and in-order delivery of results.
 *
 * Every append that reaches a stream is put on the stream's submission-order queue (q_head…)
 * at once, whatever its fate, and results are delivered strictly from the head: an error found
 * immediately still waits for earlier appends of the stream. Appends whose stream cannot be
 * found have no queue and are answered through the deferred list.
 *
 * Budget: an append is sequenced only when the bytes being committed plus its own stay within
 * opts.inflight_bytes (or nothing is in flight). Otherwise it waits, in one global FIFO, so
 * appends of one stream are always sequenced in submission order. Waiting appends hold only a
 * pointer to the caller's input (borrowed until the callback), not a copy.
 *
 * Failure: seq_nums are assigned at sequencing. If a group commit fails, the store is failed
 * (commit thread) and every later commit fails without writing, so the appends behind a failed
 * one can never become durable; they all fail with STORAGE and no state needs rolling back.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/clock.h"
#include "util/mem.h"

static bool
is_cmd(const wr_append_record *r)
{
    for (uint32_t h = 0; h < r->n_headers; h++)
        if (r->headers[h].name_len == 0)
            return true;
    return false;
}

static bool
hdr_is(const wr_header *h, const char *s)
{
    size_t n = strlen(s);
    return h->value_len == n && memcmp(h->value, s, n) == 0;
}

/* Stream-independent checks. Sets *out_charge to the bytes the append holds while in flight. */
static wr_err
validate(const wr_append_input *in, uint64_t *out_charge, wr_error *out_err)
{
    if (in->n_records == 0)
        return wr_error_set(out_err, WR_ERR_INVALID, "a batch must contain at least one record");
    if (in->n_records > WR_MAX_BATCH_RECORDS)
        return wr_error_set(out_err, WR_ERR_INVALID, "a batch may contain at most %d records",
                            WR_MAX_BATCH_RECORDS);
    if (in->fencing_token && in->fencing_token_len > WR_FENCING_TOKEN_MAX)
        return wr_error_set(out_err, WR_ERR_INVALID, "fencing token is longer than 36 bytes");
    uint64_t total = 0;
    for (uint32_t i = 0; i < in->n_records; i++) {
        const wr_append_record *r = &in->records[i];
        uint64_t m = wr_record_metered(r->headers, r->n_headers, r->body_len);
        if (m > WR_MAX_BATCH_BYTES)
            return wr_error_set(out_err, WR_ERR_INVALID, "record %u exceeds 1 MiB metered", i);
        total += m;
        if (!is_cmd(r))
            continue;
        if (r->n_headers != 1)
            return wr_error_set(out_err, WR_ERR_INVALID,
                                "record %u: a command record must have exactly one header", i);
        const wr_header *h = &r->headers[0];
        if (hdr_is(h, "fence")) {
            if (r->body_len > WR_FENCING_TOKEN_MAX || !wr_store__utf8_valid(r->body, r->body_len))
                return wr_error_set(out_err, WR_ERR_INVALID,
                                    "record %u: fencing token must be at most 36 bytes of UTF-8",
                                    i);
        } else if (hdr_is(h, "trim")) {
            if (r->body_len != 8)
                return wr_error_set(out_err, WR_ERR_INVALID,
                                    "record %u: trim body must be an 8-byte seq_num", i);
        } else {
            return wr_error_set(out_err, WR_ERR_INVALID, "record %u: unknown command record", i);
        }
    }
    if (total > WR_MAX_BATCH_BYTES)
        return wr_error_set(out_err, WR_ERR_INVALID, "batch exceeds 1 MiB metered");
    *out_charge = total + 24ull * in->n_records + 64;
    return WR_OK;
}

static void
op_free(append_op *op)
{
    wr_batch_unref(op->batch);
    free(op->basin);
    free(op);
}

/* Delivers the results at the head of a stream's queue that are known. */
static void
flush_stream(wr_store *s, stream_state *st)
{
    /* A callback may load other streams, which may evict idle ones: not this one meanwhile. */
    st->delivering = true;
    while (st->q_head && st->q_head->state == OP_DONE) {
        append_op *op = st->q_head;
        st->q_head = op->q_next;
        if (!st->q_head)
            st->q_tail = NULL;
        if (op->res.err == WR_OK) {
            op->res.tail.seq = st->d_seq;
            op->res.tail.ts_ms = st->d_ts;
            s->n_acked++;
            if (op->batch) /* usage.c */
                wr_store__usage_append(s, st, op->batch);
        }
        op->cb(op->ud, &op->res);
        op_free(op);
    }
    st->delivering = false;
}

static void
deferred_flush(wr_store *s, void *arg)
{
    stream_state *st = arg;
    st->flush_queued = false;
    flush_stream(s, st);
}

/* Records that op failed, so that appends submitted after it on its chain fail too. */
static void
chain_fail(append_op *op)
{
    wr_append_chain *c = op->in->chain;
    if (c && (c->failed_at == 0 || op->chain_index + 1 < c->failed_at))
        c->failed_at = op->chain_index + 1;
}

static void
resolve(wr_store *s, append_op *op, wr_err e, const wr_error *err)
{
    if (e != WR_OK)
        chain_fail(op);
    op->state = OP_DONE;
    op->res.err = e;
    if (err)
        op->res.error = *err;
    else
        wr_error_set(&op->res.error, e, "%s", wr_err_code(e));
    if (op->st->q_head == op && !op->st->flush_queued) {
        op->st->flush_queued = true;
        wr_store__defer(s, deferred_flush, op->st);
    }
}

static void
deliver_orphan(wr_store *s, void *arg)
{
    (void)s;
    append_op *op = arg;
    op->cb(op->ud, &op->res);
    op_free(op);
}

/* Assigns timestamps and applies command records to the sequencer state. */
static void
assign(stream_state *st, append_op *op, uint64_t *ts)
{
    const wr_append_input *in = op->in;
    uint64_t now = wr_clock_now_ms();
    uint64_t prev = st->last_ts;
    for (uint32_t i = 0; i < in->n_records; i++) {
        const wr_append_record *r = &in->records[i];
        uint64_t t = now;
        if (st->cfg.ts_mode != WR_TS_ARRIVAL && r->has_ts) {
            t = r->ts_ms;
            if (!st->cfg.ts_uncapped && t > now)
                t = now;
        }
        if (t < prev)
            t = prev;
        ts[i] = prev = t;
        if (!is_cmd(r))
            continue;
        uint64_t seq = st->next_seq + i;
        if (hdr_is(&r->headers[0], "fence")) {
            /* A record without a body (body NULL, body_len 0) sets the empty token, which
             * clears the fence: never hand its NULL pointer to memcpy. */
            if (r->body_len) {
                memcpy(st->fence, r->body, r->body_len);
                memcpy(op->fence, r->body, r->body_len);
            }
            st->fence_len = r->body_len;
            op->fence_len = r->body_len;
            op->put_fence = true;
        } else {
            uint64_t v = wr_get_be64(r->body);
            if (v > seq + 1)
                v = seq + 1;
            if (v > st->trim) {
                st->trim = v;
                op->trim = v;
                op->put_trim = true;
            }
        }
    }
}

/*
 * Storage runs. The appends of one stream sequenced between two hand-offs to the commit thread
 * (one loop iteration, or HANDOFF_NOW_BYTES) are committed in the same group, so they are
 * stored as one BATCH value (the head's header, every op's records, one CRC) with one TS_INDEX
 * entry, instead of two memtable inserts and WriteBatch entries per append: 64 connections
 * appending to one stream cost 12-17 % less CPU per ack on tmpfs (docs/benchmarks.md). Nothing
 * else changes: every op keeps its own wr_batch for its ack, the recent-batch cache and the
 * followers; readers, retention, trim and recovery treat a stored value by its seq range and
 * header whatever the appends that formed it. A run holds at most WR_MAX_BATCH_RECORDS records
 * (what the decoder accepts) and RUN_MAX_BYTES bytes, so no stored value gets bigger than the
 * largest single append's and a reader holds no more at once than before. The ledger of the
 * head covers the run: `stored` is the run value's length, exact as before.
 */
#define RUN_MAX_BYTES WR_MAX_BATCH_BYTES

/* Joins op (its batch built) to its stream's open run, or opens a run with it. Returns whether
 * it joined (then the head's ledger covers it). */
static bool
join_run(wr_store *s, stream_state *st, append_op *op)
{
    const wr_batch *b = op->batch;
    uint64_t extra = b->len - (WR_BATCH_HEADER_LEN + 4); /* its records, without the framing */
    append_op *head = st->run_head;
    if (head && st->run_epoch == s->hq_epoch &&
        head->run_records + b->n_records <= WR_MAX_BATCH_RECORDS &&
        head->run_len + extra <= RUN_MAX_BYTES) {
        head->run_tail->run_next = op;
        head->run_tail = op;
        head->run_records += b->n_records;
        head->run_len += extra;
        op->merged = true;
        wr_store__usage_ledger_extend(st, head, b->metered_bytes, extra);
        return true;
    }
    st->run_head = op;
    st->run_epoch = s->hq_epoch;
    op->run_tail = op;
    op->run_records = b->n_records;
    op->run_len = b->len;
    return false;
}

static void
sequence(wr_store *s, append_op *op)
{
    stream_state *st = op->st;
    const wr_append_input *in = op->in;
    wr_error err;
    if (atomic_load(&s->failed)) {
        wr_error_set(&err, WR_ERR_STORAGE, "store is in the failed state after a write error");
        resolve(s, op, WR_ERR_STORAGE, &err);
        return;
    }
    if (st->deleted) {
        wr_error_set(&err, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
        resolve(s, op, err.code, &err);
        return;
    }
    if (in->chain && in->chain->failed_at && in->chain->failed_at - 1 < op->chain_index) {
        wr_error_set(&err, WR_ERR_INVALID, "an earlier input of this session failed");
        resolve(s, op, err.code, &err);
        return;
    }
    if (in->fencing_token && (in->fencing_token_len != st->fence_len ||
                              memcmp(in->fencing_token, st->fence, st->fence_len) != 0)) {
        memcpy(op->res.actual_token, st->fence, st->fence_len);
        op->res.actual_token[st->fence_len] = 0;
        op->res.actual_token_len = st->fence_len;
        wr_error_set(&err, WR_ERR_FENCING_TOKEN_MISMATCH, "fencing token mismatch");
        resolve(s, op, err.code, &err);
        return;
    }
    if (in->has_match_seq && in->match_seq != st->next_seq) {
        op->res.actual_seq = st->next_seq;
        wr_error_set(&err, WR_ERR_SEQ_NUM_MISMATCH, "seq_num mismatch");
        resolve(s, op, err.code, &err);
        return;
    }
    uint64_t ts_small[16]; /* unary appends of a few records: no allocation */
    uint64_t *ts = in->n_records <= 16 ? ts_small : wr_xmalloc(in->n_records * sizeof(*ts));
    assign(st, op, ts);
    /* Arrival (what age retention measures) never goes back within a stream. */
    uint64_t arrival = wr_clock_now_ms();
    if (arrival < st->last_arrival)
        arrival = st->last_arrival;
    op->batch = wr_batch_build_at(st->id, st->next_seq, in->records, ts, in->n_records, arrival);
    if (ts != ts_small)
        free(ts);
    op->res.start.seq = op->batch->first_seq;
    op->res.start.ts_ms = op->batch->first_ts;
    op->res.end.seq = op->batch->end_seq;
    op->res.end.ts_ms = op->batch->last_ts;
    if (!join_run(s, st, op))
        wr_store__usage_ledger_next(st, op); /* usage.c: the batch's TS_INDEX ledger */
    st->next_seq = op->batch->end_seq;
    st->last_ts = op->batch->last_ts;
    st->last_arrival = arrival;
    if (st->cfg.doe_min_age_secs) {
        /* An append restarts the delete-on-empty clock (written with the batch). */
        op->put_doe = true;
        op->doe_deadline = wr_clock_now_ms() + st->cfg.doe_min_age_secs * 1000;
    }
    op->state = OP_COMMITTING;
    s->inflight += op->charge;
    wr_store__commit_push(s, op);
}

static bool
budget_allows(wr_store *s, uint64_t charge)
{
    return s->inflight == 0 || s->inflight + charge <= s->opts.inflight_bytes;
}

static void
drain_waiting(wr_store *s)
{
    while (s->wait_head && budget_allows(s, s->wait_head->charge)) {
        append_op *op = s->wait_head;
        s->wait_head = op->wait_next;
        if (!s->wait_head)
            s->wait_tail = NULL;
        s->n_waiting--;
        sequence(s, op);
    }
}

void
wr_store_append(wr_store *s, const char *basin, const char *stream, const wr_append_input *in,
                wr_append_cb cb, void *ud)
{
    append_op *op = wr_xcalloc(1, sizeof(*op));
    op->store = s;
    op->in = in;
    op->cb = cb;
    op->ud = ud;
    if (in->chain)
        op->chain_index = in->chain->next_index++;
    wr_error verr = {0}, lerr = {0};
    uint64_t charge = 0;
    wr_err ve = s->closing ? wr_error_set(&verr, WR_ERR_UNAVAILABLE, "store is closing")
                           : validate(in, &charge, &verr);
    stream_state *st = NULL;
    wr_err le = s->closing ? WR_ERR_UNAVAILABLE
                           : wr_store__stream(s, basin, stream, ve == WR_OK, true, &st, &lerr);
    if (le) {
        chain_fail(op);
        op->state = OP_DONE;
        op->res.err = ve ? ve : le;
        op->res.error = ve ? verr : lerr;
        wr_store__defer(s, deliver_orphan, op);
        return;
    }
    op->st = st;
    op->charge = charge;
    if (st->q_tail)
        st->q_tail->q_next = op;
    else
        st->q_head = op;
    st->q_tail = op;
    if (ve) {
        resolve(s, op, ve, &verr);
        return;
    }
    if (st->deleted) {
        wr_error_set(&verr, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
        resolve(s, op, verr.code, &verr);
        return;
    }
    if (st->cfg.ts_mode == WR_TS_CLIENT_REQUIRE) {
        for (uint32_t i = 0; i < in->n_records; i++) {
            if (!in->records[i].has_ts) {
                wr_error_set(&verr, WR_ERR_INVALID,
                             "record timestamp was required but was missing");
                resolve(s, op, verr.code, &verr);
                return;
            }
        }
    }
    op->state = OP_WAITING;
    if (s->wait_head || !budget_allows(s, charge)) {
        if (s->wait_tail)
            s->wait_tail->wait_next = op;
        else
            s->wait_head = op;
        s->wait_tail = op;
        s->n_waiting++;
        return;
    }
    sequence(s, op);
}

void
wr_store__on_commits_done(wr_store *s, append_op *list)
{
    stream_state **touched = NULL;
    size_t n = 0, cap = 0;
    for (append_op *op = list, *next; op; op = next) {
        next = op->commit_next;
        stream_state *st = op->st;
        s->inflight -= op->charge;
        op->state = OP_DONE;
        if (op->commit_err) {
            op->res.err = WR_ERR_STORAGE;
            wr_error_set(&op->res.error, WR_ERR_STORAGE, "write to storage failed");
        } else {
            st->d_seq = op->batch->end_seq;
            st->d_ts = op->batch->last_ts;
            st->d_arrival = op->batch->arrival_ms;
            if (op->put_trim)
                st->d_trim = op->trim;
            wr_store__ring_push(s, st, op->batch);
            wr_store__fanout(s, st, op->batch);
        }
        if (!st->flush_queued) {
            st->flush_queued = true;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                touched = wr_xrealloc(touched, cap * sizeof(*touched));
            }
            touched[n++] = st;
        }
    }
    for (size_t i = 0; i < n; i++) {
        touched[i]->flush_queued = false;
        flush_stream(s, touched[i]);
    }
    free(touched);
    drain_waiting(s);
}

void
wr_store__fail_pending(wr_store *s, wr_err err)
{
    append_op *op = s->wait_head;
    s->wait_head = s->wait_tail = NULL;
    s->n_waiting = 0;
    while (op) {
        append_op *next = op->wait_next;
        wr_error e;
        wr_error_set(&e, err, "store is closing");
        resolve(s, op, err, &e);
        op = next;
    }
}
