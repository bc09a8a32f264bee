/*
 * read.c — reads: admission on the loop (stream lookup, start position, the 416 rules), then
 * collection either from the recent-batch cache (on the loop, delivered on a later iteration)
 * or from RocksDB on the libuv worker pool.
 *
 * A read is bounded by the durable tail captured at admission, so it never returns data that
 * was not acknowledged, even though the commit thread may have written more meanwhile.
 *
 * Ownership: the read_job (and its wr_read_result until it is handed to the callback) belongs
 * to whichever thread currently runs it; the worker touches only the job, RocksDB (thread-safe)
 * and batches it creates. The store stays open while reads are in flight (reads_inflight).
 */
#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "store/store_int.h"
#include "util/clock.h"
#include "util/mem.h"

typedef struct read_job {
    uv_work_t work;
    wr_store *s;
    uint64_t stream_id;
    char *basin, *stream; /* copies for usage.c (one allocation, at basin) */
    wr_read_req req;
    uint64_t start;   /* first seq that may be returned (>= trim point) */
    bool ts_lookup;   /* start at the first record with ts >= req.start_value */
    uint64_t end_seq; /* durable tail at admission */
    uint64_t cutoff;  /* age retention: batches arrived before cutoff are expired (0 = none) */
    wr_read_result *res;
    wr_read_cb cb;
    void *ud;
    /* Collection state. */
    size_t rec_cap, batch_cap;
    bool skipping_ts;
    bool done;
} read_job;

void
wr_read_result_free(wr_read_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_batches; i++)
        wr_batch_unref(res->batches[i]);
    free(res->batches);
    free(res->records);
    free(res);
}

/* Adds the records of `b` that the read wants. Returns false once the read is complete. */
static bool
collect(read_job *j, wr_batch *b)
{
    wr_read_result *res = j->res;
    const wr_read_req *q = &j->req;
    bool used = false;
    /* Age retention expires whole batches, by arrival. */
    uint32_t from = b->arrival_ms < j->cutoff ? b->n_records : 0;
    for (uint32_t i = from; i < b->n_records && !j->done; i++) {
        const wr_record *r = &b->records[i];
        if (r->seq < j->start)
            continue;
        if (r->seq >= j->end_seq) {
            j->done = true;
            break;
        }
        if (j->skipping_ts) {
            if (r->ts_ms < q->start_value)
                continue;
            j->skipping_ts = false;
        }
        if (res->n_records == 0)
            res->next_seq = r->seq;
        if (q->has_until && r->ts_ms >= q->until_ms) {
            res->until_reached = true;
            j->done = true;
        } else if ((q->has_count && res->n_records >= q->count) ||
                   (q->has_bytes && res->metered_bytes + r->metered > q->bytes)) {
            j->done = true;
        } else {
            if (res->n_records == j->rec_cap) {
                j->rec_cap = j->rec_cap ? j->rec_cap * 2 : 64;
                res->records = wr_xrealloc(res->records, j->rec_cap * sizeof(wr_record));
            }
            res->records[res->n_records++] = *r;
            res->metered_bytes += r->metered;
            res->next_seq = r->seq + 1;
            used = true;
        }
    }
    if (used) {
        if (res->n_batches == j->batch_cap) {
            j->batch_cap = j->batch_cap ? j->batch_cap * 2 : 8;
            res->batches = wr_xrealloc(res->batches, j->batch_cap * sizeof(wr_batch *));
        }
        res->batches[res->n_batches++] = wr_batch_ref(b);
    }
    if (b->end_seq >= j->end_seq)
        j->done = true;
    return !j->done;
}

static void
finish_result(read_job *j)
{
    wr_read_result *res = j->res;
    if (res->err == WR_OK) {
        if (res->n_records == 0 && j->skipping_ts)
            res->next_seq = j->end_seq; /* no record at or after the timestamp */
        res->at_tail = res->next_seq >= j->end_seq;
    } else {
        for (size_t i = 0; i < res->n_batches; i++)
            wr_batch_unref(res->batches[i]);
        res->n_batches = res->n_records = 0;
    }
}

static void
deliver_now(wr_store *s, void *arg)
{
    read_job *j = arg;
    wr_read_result *res = j->res;
    wr_read_cb cb = j->cb;
    void *ud = j->ud;
    if (res->err == WR_OK) /* usage.c */
        wr_store__usage_read(s, j->basin, j->stream, res->n_records, res->metered_bytes,
                             j->req.unary_op);
    free(j->basin);
    free(j);
    cb(ud, res);
}

/* ---------------------------------------------------------------------------------------- */
/* Worker                                                                                     */

/* The first_seq of the last batch whose first timestamp is below t (0 if none). */
static wr_err
ts_seek(read_job *j, uint64_t t, uint64_t *out_seq, wr_error *out_err)
{
    uint8_t lo[WR_KEY_TS_LEN], hi[WR_KEY_TS_LEN], target[WR_KEY_TS_LEN];
    wr_key_ts_index(lo, j->stream_id, 0, 0);
    wr_key_ts_index(hi, j->stream_id, UINT64_MAX, UINT64_MAX);
    wr_key_ts_index(target, j->stream_id, t, 0);
    db_iter it;
    wr_store__iter_open(&it, j->s, lo, sizeof(lo), hi, sizeof(hi));
    wr_store__iter_seek_for_prev(&it, (char *)target, sizeof(target));
    *out_seq = 0;
    if (wr_store__iter_valid(&it)) {
        size_t klen;
        const char *k = wr_store__iter_key(&it, &klen);
        uint64_t id, ts;
        if (wr_key_ts_index_decode((const uint8_t *)k, klen, &id, &ts, out_seq) &&
            id != j->stream_id)
            *out_seq = 0;
    }
    return wr_store__iter_end(&it, WR_OK, out_err);
}

static void
work_read(uv_work_t *w)
{
    read_job *j = w->data;
    wr_read_result *res = j->res;
    uint64_t from = j->start;
    /* Seek by timestamp for a timestamp start; expired batches are skipped while scanning. */
    if (j->ts_lookup) {
        uint64_t cand;
        if ((res->err = ts_seek(j, j->req.start_value, &cand, &res->error)))
            return;
        if (cand > from)
            from = cand;
    }
    uint8_t lo[WR_KEY_BATCH_LEN], hi[WR_KEY_BATCH_LEN], target[WR_KEY_BATCH_LEN];
    wr_key_batch(lo, j->stream_id, 0);
    wr_key_batch(hi, j->stream_id, j->end_seq);
    wr_key_batch(target, j->stream_id, from);
    db_iter it;
    wr_store__iter_open(&it, j->s, lo, sizeof(lo), hi, sizeof(hi));
    wr_store__iter_seek_for_prev(&it, (char *)target, sizeof(target));
    /* No batch starts at or before `from`: start at the first one (a new seek would also
     * clear an error of the first, so check it before). */
    if (!wr_store__iter_valid(&it) && !(res->err = wr_store__iter_error(&it, &res->error)))
        wr_store__iter_seek(&it, (char *)lo, sizeof(lo));
    for (; wr_store__iter_valid(&it); wr_store__iter_next(&it)) {
        size_t vlen;
        const char *v = wr_store__iter_value(&it, &vlen);
        uint64_t arrival;
        if (j->cutoff && wr_batch_peek_arrival((const uint8_t *)v, vlen, &arrival) &&
            arrival < j->cutoff)
            continue; /* expired: not even decoded */
        wr_batch *b;
        if ((res->err = wr_batch_decode(j->stream_id, wr_xmemdup(v, vlen), vlen, &b, &res->error)))
            break;
        bool more = collect(j, b);
        wr_batch_unref(b);
        if (!more)
            break;
    }
    res->err = wr_store__iter_end(&it, res->err, &res->error);
    finish_result(j);
}

static void
after_read(uv_work_t *w, int status)
{
    (void)status;
    read_job *j = w->data;
    wr_store *s = j->s;
    s->reads_inflight--;
    deliver_now(s, j);
    wr_store__maybe_finish_close(s);
}

/* ---------------------------------------------------------------------------------------- */
/* Admission                                                                                  */

/* Serves the read from the cache when the cache covers its start. */
static bool
try_cache(read_job *j, stream_state *st)
{
    ring_node *n;
    if (j->ts_lookup) {
        n = st->ring_head;
        if (!n || !(n->b->first_ts < j->req.start_value || n->b->first_seq <= j->start))
            return false;
    } else {
        n = wr_store__ring_find(st, j->start);
        if (!n)
            return false;
    }
    for (; n && collect(j, n->b); n = n->s_next)
        ;
    finish_result(j);
    return true;
}

/* Computes the start; returns non-OK (416/…) to answer at once. *out_done: answered empty. */
static wr_err
admit(read_job *j, stream_state *st, bool *out_done, wr_error *out_err)
{
    const wr_read_req *q = &j->req;
    wr_read_result *res = j->res;
    uint64_t tail = st->d_seq;
    bool resolved = true;
    uint64_t start = 0;
    /* Reads start at the first retained record: below the trim point nothing is visible, and
     * when the last batch has expired (arrivals are monotonic) nothing before the tail is. */
    j->cutoff = wr_store__retention_cutoff(&st->cfg, wr_clock_now_ms());
    uint64_t floor = st->d_trim;
    if (tail > 0 && st->d_arrival < j->cutoff)
        floor = tail;
    *out_done = false;
    res->tail.seq = st->d_seq;
    res->tail.ts_ms = st->d_ts;
    switch (q->start_kind) {
    case WR_READ_SEQ:
        start = q->start_value;
        if (start > tail) {
            if (!q->clamp)
                return wr_error_set(out_err, WR_ERR_RANGE_NOT_SATISFIABLE,
                                    "start seq_num is beyond the tail");
            start = tail;
        }
        break;
    case WR_READ_TIMESTAMP:
        if (q->start_value > st->d_ts) {
            if (!q->clamp)
                return wr_error_set(out_err, WR_ERR_RANGE_NOT_SATISFIABLE,
                                    "start timestamp is beyond the tail");
            start = tail;
        } else if (floor >= tail) {
            start = tail;
        } else {
            resolved = false;
            start = floor;
        }
        break;
    default:
        start = q->start_value < tail ? tail - q->start_value : 0;
        break;
    }
    if (start < floor)
        start = floor;
    if (resolved && start >= tail && !q->may_follow)
        return wr_error_set(out_err, WR_ERR_RANGE_NOT_SATISFIABLE,
                            "start is at the tail and the read may not follow");
    j->start = start;
    j->ts_lookup = !resolved;
    j->skipping_ts = !resolved;
    j->end_seq = tail;
    res->next_seq = resolved ? start : tail;
    if ((q->has_count && q->count == 0) || (q->has_bytes && q->bytes == 0) ||
        (resolved && start >= tail)) {
        res->next_seq = resolved ? start : tail;
        res->at_tail = res->next_seq >= tail;
        *out_done = true;
    }
    return WR_OK;
}

static void read_start(wr_store *s, void *arg);

void
wr_store_read(wr_store *s, const char *basin, const char *stream, const wr_read_req *req,
              wr_read_cb cb, void *ud)
{
    read_job *j = wr_xcalloc(1, sizeof(*j));
    wr_read_result *res = wr_xcalloc(1, sizeof(*res));
    j->s = s;
    j->req = *req;
    j->res = res;
    j->cb = cb;
    j->ud = ud;
    size_t bl = strlen(basin), sl = strlen(stream);
    j->basin = wr_xmalloc(bl + sl + 2);
    memcpy(j->basin, basin, bl + 1);
    j->stream = j->basin + bl + 1;
    memcpy(j->stream, stream, sl + 1);
    read_start(s, j);
}

/* Loop thread: admits the read (again, after the create of its stream became durable). */
static void
read_start(wr_store *s, void *arg)
{
    read_job *j = arg;
    const wr_read_req *req = &j->req;
    wr_read_result *res = j->res;
    const char *basin = j->basin, *stream = j->stream;
    stream_state *st = NULL;
    bool done = false;
    wr_err e;
    if (s->closing)
        e = wr_error_set(&res->error, WR_ERR_UNAVAILABLE, "store is closing");
    else if (req->start_kind == WR_READ_TIMESTAMP && req->has_until &&
             req->start_value >= req->until_ms)
        e = wr_error_set(&res->error, WR_ERR_INVALID, "timestamp must be less than until");
    else
        e = wr_store__stream(s, basin, stream, true, false, &st, &res->error);
    /* A stream this read (or another) created is answered for once it is durable, so a
     * GET of it after the answer finds it. */
    if (!e && wr_store__wait_created(s, basin, stream, read_start, j))
        return;
    if (!e && st->deleted)
        e = wr_error_set(&res->error, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
    if (!e)
        e = admit(j, st, &done, &res->error);
    if (!e)
        j->stream_id = st->id; /* also for usage.c */
    res->err = e;
    if (e || done || try_cache(j, st)) {
        wr_store__defer(s, deliver_now, j);
        return;
    }
    j->stream_id = st->id;
    j->work.data = j;
    s->reads_inflight++;
    uv_queue_work(s->loop, &j->work, work_read, after_read);
}
