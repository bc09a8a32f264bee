/*
 * usage.c — the usage series (store.h, Usage): counts aggregated in memory on the loop, and the
 * jobs that persist and maintain them on the worker pool.
 *
 * Loop side. Every count lands in the pending table `cur`, one entry per (stream, minute) or
 * (basin, minute, op). Nothing here touches the disk.
 *
 * Jobs. One usage job runs at a time (FIFO queue, on the worker pool):
 *   FLUSH      takes the pending table (the loop starts a new one) and adds it to the minute,
 *              hour and day rows: read, add, one synced WriteBatch (sync kind USAGE). Only this
 *              job writes counter rows and jobs never overlap, so read-modify-write is safe.
 *   SAMPLE     measures every stream's storage from its TS_INDEX ledgers and writes the STORAGE
 *              rows that changed (streams gone since the last sample get a 0 row).
 *   RETENTION  deletes rows older than the retention (about hourly, queued by the flush timer).
 *   QUERY      usage_query.c, with a copy of the pending entries it concerns, taken when the job
 *              starts: everything before it is either on disk or in the copy, never both.
 * A failed flush write puts the store in the failed state (a failed fsync); its counts are lost
 * and logged.
 *
 * Close: wr_store__usage_close stops the timers and answers queued queries with UNAVAILABLE;
 * a running job finishes first (wr_store__usage_busy); wr_store__usage_final then writes the
 * pending table on the loop thread, right before RocksDB closes (the only blocking write here).
 */
#include "store/usage_int.h"

#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#define MAX_WAITING_QUERIES 64
#define RETENTION_EVERY_MS (3600u * 1000u)

typedef enum ujob_kind { UJ_FLUSH, UJ_SAMPLE, UJ_RETENTION, UJ_QUERY, UJ_NOP } ujob_kind;

typedef struct ujob {
    struct ujob *next;
    ujob_kind kind;
    utab *tab; /* FLUSH: the table to write; QUERY: its pending copy */
    wr_usage_query q;
    char *q_basin, *q_stream;
    wr_usage_result *res;
    wr_usage_cb cb;
    void *ud;
    void (*done)(void *ud); /* test hooks */
    void *done_ud;
    uint64_t now_ms;
    wr_err err;
    wr_error error;
    uint64_t n_written;
} ujob;

struct usage {
    utab *cur;
    ujob *head, *tail;
    size_t n_queries;
    ujob *running;
    uv_work_t work;
    uv_timer_t *flush_timer, *sample_timer; /* heap: freed by their close callbacks */
    uint64_t last_retention_ms;
    bool flush_queued, closing;
    /* Stats. */
    uint64_t flushes, flush_errors, samples, unattributed;
};

/* ---------------------------------------------------------------------------------------- */
/* The pending table                                                                          */

static uint64_t
ent_hash(const char *basin, const char *stream, uint64_t minute_s, uint8_t op)
{
    uint64_t h = 1469598103934665603ull ^ minute_s ^ ((uint64_t)op << 56);
    for (const char *p = basin; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = stream ? stream : ""; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h * 0x9E3779B97F4A7C15ull;
}

utab *
wr_usage__tab_new(void)
{
    utab *t = wr_xcalloc(1, sizeof(*t));
    t->cap = 64;
    t->slots = wr_xcalloc(t->cap, sizeof(*t->slots));
    return t;
}

void
wr_usage__tab_free(utab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i]) {
            free(t->slots[i]->basin);
            free(t->slots[i]);
        }
    free(t->slots);
    free(t);
}

static void
tab_place(utab *t, uent *e)
{
    size_t i = (size_t)(e->hash >> 7) & (t->cap - 1);
    while (t->slots[i])
        i = (i + 1) & (t->cap - 1);
    t->slots[i] = e;
}

uent *
wr_usage__tab_get(utab *t, const char *basin, const char *stream, uint64_t minute_s, uint8_t op,
                  bool insert)
{
    uint64_t h = ent_hash(basin, stream, minute_s, op);
    size_t i = (size_t)(h >> 7) & (t->cap - 1);
    for (uent *e; (e = t->slots[i]); i = (i + 1) & (t->cap - 1))
        if (e->hash == h && e->minute_s == minute_s && e->op == op &&
            strcmp(e->basin, basin) == 0 && strcmp(e->stream, stream ? stream : "") == 0)
            return e;
    if (!insert)
        return NULL;
    if ((t->n + 1) * 4 > t->cap * 3) {
        uent **old = t->slots;
        size_t old_cap = t->cap;
        t->cap *= 2;
        t->slots = wr_xcalloc(t->cap, sizeof(*t->slots));
        for (size_t k = 0; k < old_cap; k++)
            if (old[k])
                tab_place(t, old[k]);
        free(old);
    }
    size_t bl = strlen(basin), sl = stream ? strlen(stream) : 0;
    uent *e = wr_xcalloc(1, sizeof(*e));
    e->hash = h;
    e->minute_s = minute_s;
    e->op = op;
    e->basin = wr_xmalloc(bl + sl + 2); /* one allocation: basin, then stream */
    memcpy(e->basin, basin, bl + 1);
    e->stream = e->basin + bl + 1;
    if (sl)
        memcpy(e->stream, stream, sl);
    e->stream[sl] = 0;
    tab_place(t, e);
    t->n++;
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* Small shared helpers                                                                       */

void
wr_usage__counters_encode(const uint64_t *c, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++)
        wr_put_be64(out + 8 * i, c[i]);
}

void
wr_usage__counters_add(const uint8_t *v, size_t len, uint64_t *out, size_t n)
{
    for (size_t i = 0; i < n && 8 * (i + 1) <= len; i++)
        out[i] += wr_get_be64(v + 8 * i);
}

wr_err
wr_usage__iter_err(rocksdb_iterator_t *it, wr_error *out_err)
{
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    if (!err)
        return WR_OK;
    wr_error_set(out_err, WR_ERR_STORAGE, "rocksdb iterate: %s", err);
    rocksdb_free(err);
    return WR_ERR_STORAGE;
}

void
wr_usage__prefix_end(const wr_buf *prefix, wr_buf *out)
{
    wr_buf_reset(out);
    wr_buf_append(out, prefix->data, prefix->len);
    out->data[out->len - 1]++;
}

uint8_t
wr_usage_op_code(const char *name)
{
#define OP_CODE(code, nm)                                                                          \
    if (strcmp(name, nm) == 0)                                                                     \
        return code;
    WR_USAGE_OP_MAP(OP_CODE)
#undef OP_CODE
    return 0;
}

const char *
wr_usage_op_name(uint8_t code)
{
    switch (code) {
#define OP_NAME(c, nm)                                                                             \
    case c:                                                                                        \
        return nm;
        WR_USAGE_OP_MAP(OP_NAME)
#undef OP_NAME
    default:
        return NULL;
    }
}

uint64_t
wr_usage_interval_secs(wr_usage_interval iv)
{
    return iv == WR_USAGE_MINUTE ? 60 : iv == WR_USAGE_HOUR ? 3600 : 86400;
}

/* ---------------------------------------------------------------------------------------- */
/* Ledgers (keys.h: TS_INDEX values)                                                          */

void
wr_store__usage_ledger_next(stream_state *st, append_op *op)
{
    uint64_t metered = op->batch->metered_bytes, stored = op->batch->len;
    wr_ts_ledger(op->ledger, st->cum_metered, metered, st->cum_stored, stored);
    st->cum_metered += metered;
    st->cum_stored += stored;
}

void
wr_store__usage_ledger_extend(stream_state *st, append_op *head, uint64_t metered, uint64_t stored)
{
    uint64_t mb, m, sb, sd;
    if (!wr_ts_ledger_decode(head->ledger, sizeof(head->ledger), &mb, &m, &sb, &sd))
        abort(); /* written by wr_store__usage_ledger_next */
    wr_ts_ledger(head->ledger, mb, m + metered, sb, sd + stored);
    st->cum_metered += metered;
    st->cum_stored += stored;
}

/* The first (or last) TS_INDEX entry of stream id: *found, and its ledger when it has one. */
static wr_err
ts_edge(wr_store *s, uint64_t id, bool last, bool *found, bool *has_ledger, uint64_t v[4],
        uint64_t *out_seq, wr_error *out_err)
{
    uint8_t lo[WR_KEY_ID_LEN], hi[WR_KEY_ID_LEN];
    wr_key_stream_id(lo, WR_KEY_TS_INDEX, id);
    wr_key_stream_id(hi, WR_KEY_TS_INDEX, id + 1);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_lower_bound(ro, (char *)lo, sizeof(lo));
    rocksdb_readoptions_set_iterate_upper_bound(ro, (char *)hi, sizeof(hi));
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, ro);
    if (last)
        rocksdb_iter_seek_to_last(it);
    else
        rocksdb_iter_seek_to_first(it);
    *found = *has_ledger = false;
    if (rocksdb_iter_valid(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        const uint8_t *val = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        uint64_t kid, kts;
        *found = wr_key_ts_index_decode((const uint8_t *)k, klen, &kid, &kts, out_seq);
        *has_ledger = *found && wr_ts_ledger_decode(val, vlen, &v[0], &v[1], &v[2], &v[3]);
    }
    wr_err e = wr_usage__iter_err(it, out_err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return e;
}

wr_err
wr_store__usage_ledger_load(wr_store *s, stream_state *st, wr_error *out_err)
{
    bool found, has;
    uint64_t v[4], seq;
    st->cum_metered = st->cum_stored = 0;
    wr_err e = ts_edge(s, st->id, true, &found, &has, v, &seq, out_err);
    if (!e && has) {
        st->cum_metered = v[0] + v[1];
        st->cum_stored = v[2] + v[3];
    }
    return e;
}

/* Sums the batches of a stream whose TS_INDEX entries carry no ledger (written before usage
 * existed): they are read, from the first batch up to the first one with a ledger. */
static wr_err
legacy_storage(wr_store *s, uint64_t id, uint64_t *metered, uint64_t *stored, wr_error *out_err)
{
    uint8_t lo[WR_KEY_ID_LEN], hi[WR_KEY_ID_LEN];
    uint64_t upto = UINT64_MAX;
    wr_key_stream_id(lo, WR_KEY_TS_INDEX, id);
    wr_key_stream_id(hi, WR_KEY_TS_INDEX, id + 1);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (char *)hi, sizeof(hi));
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, ro);
    for (rocksdb_iter_seek(it, (char *)lo, sizeof(lo)); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        rocksdb_iter_value(it, &vlen);
        uint64_t kid, kts, kseq;
        if (vlen && wr_key_ts_index_decode((const uint8_t *)k, klen, &kid, &kts, &kseq)) {
            upto = kseq;
            break;
        }
    }
    wr_err e = wr_usage__iter_err(it, out_err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (e)
        return e;
    uint8_t blo[WR_KEY_BATCH_LEN], bhi[WR_KEY_BATCH_LEN];
    wr_key_batch(blo, id, 0);
    wr_key_batch(bhi, id, upto);
    ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (char *)bhi, sizeof(bhi));
    it = rocksdb_create_iterator(s->db, ro);
    for (rocksdb_iter_seek(it, (char *)blo, sizeof(blo)); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t vlen;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        *stored += vlen;
        if (vlen >= 40)
            *metered += wr_get_be64(v + 32); /* batch.h: metered bytes of the batch */
    }
    e = wr_usage__iter_err(it, out_err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return e;
}

wr_err
wr_usage__stream_storage(wr_store *s, uint64_t id, uint64_t *out_metered, uint64_t *out_stored,
                         wr_error *out_err)
{
    bool ffound, fhas, lfound, lhas;
    uint64_t f[4], l[4], fseq, lseq;
    *out_metered = *out_stored = 0;
    wr_err e = ts_edge(s, id, false, &ffound, &fhas, f, &fseq, out_err);
    if (!e && ffound)
        e = ts_edge(s, id, true, &lfound, &lhas, l, &lseq, out_err);
    if (e || !ffound)
        return e;
    if (fhas && lhas) {
        *out_metered = l[0] + l[1] - f[0];
        *out_stored = l[2] + l[3] - f[2];
        return WR_OK;
    }
    /* Legacy batches first; the ledgers after them start from 0 (usage.c loads 0 for a stream
     * whose last entry has none). */
    if (lhas) {
        *out_metered = l[0] + l[1];
        *out_stored = l[2] + l[3];
    }
    return legacy_storage(s, id, out_metered, out_stored, out_err);
}

/* ---------------------------------------------------------------------------------------- */
/* Counting (loop thread)                                                                     */

static uint64_t
minute_now(void)
{
    return wr_clock_now_ms() / 60000 * 60;
}

static void queue_job(wr_store *s, ujob *j);

static void
want_flush(wr_store *s)
{
    struct usage *u = s->usage;
    if (u->flush_queued || u->closing)
        return;
    ujob *j = wr_xcalloc(1, sizeof(*j));
    j->kind = UJ_FLUSH;
    u->flush_queued = true;
    queue_job(s, j);
}

/* The entry to count into: the stream's own, or when the table is full its basin's
 * unattributed one (a flush is started so that the table empties). */
static uent *
counters_of(wr_store *s, const char *basin, const char *stream)
{
    struct usage *u = s->usage;
    uint64_t m = minute_now();
    uent *e = wr_usage__tab_get(u->cur, basin, stream, m, 0, false);
    if (e)
        return e;
    if (u->cur->n >= s->opts.usage_max_entries) {
        want_flush(s); /* swaps the table at once when no other job runs */
        if (u->cur->n >= s->opts.usage_max_entries) {
            u->unattributed++;
            stream = "";
        }
    }
    return wr_usage__tab_get(u->cur, basin, stream, m, 0, true);
}

void
wr_store__usage_append(wr_store *s, const stream_state *st, const wr_batch *b)
{
    s->n_app_records += b->n_records;
    s->n_app_bytes += b->metered_bytes;
    if (!s->usage)
        return;
    uent *e = counters_of(s, st->basin, st->name);
    bool standard = st->cfg.storage_class == WR_STORAGE_STANDARD;
    e->c[WR_USAGE_APPEND_RECORDS] += b->n_records;
    e->c[standard ? WR_USAGE_APPEND_BYTES_STANDARD : WR_USAGE_APPEND_BYTES_EXPRESS] +=
        b->metered_bytes;
    e->c[standard ? WR_USAGE_APPEND_OPS_STANDARD : WR_USAGE_APPEND_OPS_EXPRESS]++;
}

void
wr_store__usage_read(wr_store *s, const char *basin, const char *stream, uint64_t records,
                     uint64_t bytes, bool unary_op)
{
    s->n_read_records += records;
    s->n_read_bytes += bytes;
    if (!s->usage || (records == 0 && !unary_op))
        return;
    uent *e = counters_of(s, basin, stream);
    e->c[WR_USAGE_READ_RECORDS] += records;
    e->c[WR_USAGE_READ_BYTES] += bytes;
    if (unary_op)
        e->c[WR_USAGE_READ_OPS_UNARY]++;
}

void
wr_store_usage_read_op(wr_store *s, const char *basin, const char *stream)
{
    if (s->usage && !s->closing)
        counters_of(s, basin, stream)->c[WR_USAGE_READ_OPS_STREAMING]++;
}

void
wr_store_usage_op(wr_store *s, const char *basin, uint8_t op)
{
    if (!s->usage || s->closing || op == 0 || op > WR_USAGE_OP_MAX)
        return;
    /* Op entries are bounded by basins × ops per minute: never diverted. */
    wr_usage__tab_get(s->usage->cur, basin ? basin : "", NULL, minute_now(), op, true)->c[0]++;
}

/* ---------------------------------------------------------------------------------------- */
/* FLUSH (worker; or the loop at close)                                                       */

typedef struct row {
    uint8_t *key;
    size_t klen;
    bool ops;
    uint64_t c[WR_USAGE_N_COUNTERS];
} row;

typedef struct rows {
    row *v;
    size_t n, cap;
} rows;

static void
rows_add(rows *r, const wr_buf *key, const uint64_t *tail, size_t tail_len, bool ops,
         const uint64_t *c)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->v = wr_xrealloc(r->v, r->cap * sizeof(*r->v));
    }
    row *x = &r->v[r->n++];
    x->klen = key->len + 8 * tail_len + (ops ? 1 : 0);
    x->key = wr_xmalloc(x->klen);
    memcpy(x->key, key->data, key->len);
    for (size_t i = 0; i < tail_len; i++)
        wr_put_be64(x->key + key->len + 8 * i, tail[i]);
    x->ops = ops;
    memcpy(x->c, c, sizeof(x->c));
}

static int
row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Adds one pending entry's rows (minute, hour, day; stream, basin and account rollups). */
static void
entry_rows(rows *r, const uent *e)
{
    wr_buf k;
    wr_buf_init(&k);
    for (unsigned res = WR_USAGE_MINUTE; res <= WR_USAGE_DAY; res++) {
        uint64_t iv = wr_usage_interval_secs(res), b = e->minute_s / iv * iv;
        if (e->op) {
            uint64_t c[WR_USAGE_N_COUNTERS] = {e->c[0]};
            wr_key_usage_series(&k, WR_USAGE_K_OPS, res, e->basin, NULL, 0);
            rows_add(r, &k, &b, 1, true, c);
            r->v[r->n - 1].key[r->v[r->n - 1].klen - 1] = e->op;
            continue;
        }
        wr_key_usage_series(&k, WR_USAGE_K_COUNTERS, res, e->basin, e->stream, strlen(e->stream));
        rows_add(r, &k, &b, 1, false, e->c);
        wr_key_usage_series(&k, WR_USAGE_K_BASIN_COUNTERS, res, e->basin, NULL, 0);
        rows_add(r, &k, &b, 1, false, e->c);
        wr_key_usage_series(&k, WR_USAGE_K_BASIN_COUNTERS, res, "", NULL, 0);
        rows_add(r, &k, &b, 1, false, e->c);
    }
    wr_buf_fini(&k);
}

static wr_err
usage_write(wr_store *s, rocksdb_writebatch_t *wb, wr_error *out_err)
{
    if (rocksdb_writebatch_count(wb) == 0)
        return WR_OK;
    if (atomic_load(&s->failed))
        return wr_error_set(out_err, WR_ERR_STORAGE, "store is in the failed state");
    if (s->opts.sync_hook && s->opts.sync_hook(s->opts.sync_hook_ud, WR_STORE_SYNC_USAGE)) {
        atomic_store(&s->failed, true);
        return wr_error_set(out_err, WR_ERR_STORAGE, "sync failed (injected)");
    }
    char *err = NULL;
    rocksdb_write(s->db, s->wo_sync, wb, &err);
    if (err) {
        atomic_store(&s->failed, true);
        wr_error_set(out_err, WR_ERR_STORAGE, "rocksdb write: %s", err);
        rocksdb_free(err);
        return WR_ERR_STORAGE;
    }
    return WR_OK;
}

static wr_err
flush_tab(wr_store *s, const utab *t, uint64_t *out_rows, wr_error *out_err)
{
    rows r = {0};
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i])
            entry_rows(&r, t->slots[i]);
    if (r.n)
        qsort(r.v, r.n, sizeof(*r.v), row_cmp);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    wr_err e = WR_OK;
    size_t i = 0;
    while (i < r.n) {
        row *x = &r.v[i];
        size_t j = i + 1;
        for (; j < r.n && row_cmp(x, &r.v[j]) == 0; j++)
            for (size_t k = 0; k < WR_USAGE_N_COUNTERS; k++)
                x->c[k] += r.v[j].c[k];
        char *err = NULL;
        size_t vlen = 0;
        char *old = rocksdb_get(s->db, s->ro, (char *)x->key, x->klen, &vlen, &err);
        if (err) {
            e = wr_error_set(out_err, WR_ERR_STORAGE, "rocksdb get: %s", err);
            rocksdb_free(err);
            break;
        }
        size_t n = x->ops ? 1 : WR_USAGE_N_COUNTERS;
        if (old)
            wr_usage__counters_add((uint8_t *)old, vlen, x->c, n);
        rocksdb_free(old);
        uint8_t v[8 * WR_USAGE_N_COUNTERS];
        wr_usage__counters_encode(x->c, n, v);
        rocksdb_writebatch_put(wb, (char *)x->key, x->klen, (char *)v, 8 * n);
        i = j;
    }
    if (!e)
        e = usage_write(s, wb, out_err);
    *out_rows = rocksdb_writebatch_count(wb);
    rocksdb_writebatch_destroy(wb);
    for (size_t k = 0; k < r.n; k++)
        free(r.v[k].key);
    free(r.v);
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* SAMPLE (worker)                                                                            */

/* The newest storage row of the series `prefix` (0B 04 … 00 or 0B 05 … 00): its values. */
static wr_err
last_sample(wr_store *s, const wr_buf *prefix, uint64_t v[3], bool *found, wr_error *out_err)
{
    wr_buf end;
    wr_buf_init(&end);
    wr_usage__prefix_end(prefix, &end);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_lower_bound(ro, prefix->data, prefix->len);
    rocksdb_readoptions_set_iterate_upper_bound(ro, end.data, end.len);
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, ro);
    rocksdb_iter_seek_to_last(it);
    v[0] = v[1] = v[2] = 0;
    *found = false;
    if (rocksdb_iter_valid(it)) {
        size_t klen, vlen;
        rocksdb_iter_key(it, &klen);
        const uint8_t *val = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        if (klen == prefix->len + 8) {
            *found = true;
            wr_usage__counters_add(val, vlen, v, 3);
        }
    }
    wr_err e = wr_usage__iter_err(it, out_err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    wr_buf_fini(&end);
    return e;
}

/* Puts a storage row at `hour` when the values differ from the series' newest. */
static wr_err
put_sample(wr_store *s, rocksdb_writebatch_t *wb, const wr_buf *prefix, uint64_t hour,
           const uint64_t *v, size_t n, wr_error *out_err)
{
    uint64_t old[3];
    bool found;
    wr_err e = last_sample(s, prefix, old, &found, out_err);
    if (e || (found && memcmp(old, v, n * sizeof(*v)) == 0) || (!found && !v[0] && !v[1] && n == 2))
        return e;
    uint8_t key[WR_BASIN_NAME_MAX + WR_STREAM_NAME_MAX + 16], val[24];
    memcpy(key, prefix->data, prefix->len);
    wr_put_be64(key + prefix->len, hour);
    wr_usage__counters_encode(v, n, val);
    rocksdb_writebatch_put(wb, (char *)key, prefix->len + 8, (char *)val, 8 * n);
    return WR_OK;
}

typedef struct basin_sum {
    char name[WR_BASIN_NAME_MAX + 1];
    uint64_t v[3]; /* metered, stored, streams */
} basin_sum;

static wr_err
flush_basin(wr_store *s, rocksdb_writebatch_t *wb, basin_sum *b, uint64_t hour, wr_error *err)
{
    if (!b->name[0])
        return WR_OK;
    wr_buf k;
    wr_buf_init(&k);
    wr_key_usage_series(&k, WR_USAGE_K_BASIN_STORAGE, 0, b->name, NULL, 0);
    wr_err e = put_sample(s, wb, &k, hour, b->v, 3, err);
    wr_buf_fini(&k);
    memset(b, 0, sizeof(*b));
    return e;
}

/* Live streams: measure each, write changed rows, sum per basin. */
static wr_err
sample_live(wr_store *s, rocksdb_writebatch_t *wb, uint64_t hour, char ***seen, size_t *n_seen,
            wr_error *out_err)
{
    uint8_t lo = WR_KEY_STREAM_META, hi = WR_KEY_STREAM_META + 1;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (char *)&hi, 1);
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, ro);
    basin_sum b = {0};
    wr_buf k;
    wr_buf_init(&k);
    wr_err e = WR_OK;
    for (rocksdb_iter_seek(it, (char *)&lo, 1); rocksdb_iter_valid(it) && !e;
         rocksdb_iter_next(it)) {
        size_t klen, vlen, bl, sl;
        const char *key = rocksdb_iter_key(it, &klen);
        const char *val = rocksdb_iter_value(it, &vlen);
        const char *basin, *stream;
        stream_meta m;
        if (!wr_key_stream_meta_decode((const uint8_t *)key, klen, true, &basin, &bl, &stream,
                                       &sl) ||
            bl > WR_BASIN_NAME_MAX || !wr_store__stream_meta_decode(val, vlen, &m))
            continue;
        if (strlen(b.name) != bl || memcmp(b.name, basin, bl) != 0) {
            if ((e = flush_basin(s, wb, &b, hour, out_err)))
                break;
            memcpy(b.name, basin, bl);
            b.name[bl] = 0;
            *seen = wr_xrealloc(*seen, (*n_seen + 1) * sizeof(**seen));
            (*seen)[(*n_seen)++] = wr_xstrdup(b.name);
        }
        uint64_t v[2];
        if ((e = wr_usage__stream_storage(s, m.id, &v[0], &v[1], out_err)))
            break;
        b.v[0] += v[0];
        b.v[1] += v[1];
        b.v[2]++;
        wr_buf_reset(&k);
        wr_buf_append_byte(&k, WR_KEY_USAGE);
        wr_buf_append_byte(&k, WR_USAGE_K_STORAGE);
        wr_buf_append(&k, key + 1, klen - 1); /* basin ‖ 00 ‖ stream */
        wr_buf_append_byte(&k, 0);
        e = put_sample(s, wb, &k, hour, v, 2, out_err);
    }
    if (!e)
        e = wr_usage__iter_err(it, out_err);
    if (!e)
        e = flush_basin(s, wb, &b, hour, out_err);
    wr_buf_fini(&k);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return e;
}

static bool
in_seen(char **seen, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(seen[i]) == len && memcmp(seen[i], name, len) == 0)
            return true;
    return false;
}

/*
 * Series of streams (or basins) that are gone: a last non-zero row gets a zero row. Walks the
 * series of family `kind` one by one (seek past each), checking the stream meta (or the
 * basins seen live).
 */
static wr_err
sample_gone(wr_store *s, rocksdb_writebatch_t *wb, uint8_t kind, uint64_t hour, char **seen,
            size_t n_seen, wr_error *out_err)
{
    uint8_t lo[2] = {WR_KEY_USAGE, kind}, hi[2] = {WR_KEY_USAGE, (uint8_t)(kind + 1)};
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (char *)hi, 2);
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, ro);
    wr_buf series, next;
    wr_buf_init(&series);
    wr_buf_init(&next);
    wr_err e = WR_OK;
    rocksdb_iter_seek(it, (char *)lo, 2);
    while (rocksdb_iter_valid(it) && !e) {
        size_t klen;
        const char *key = rocksdb_iter_key(it, &klen);
        if (klen < 2 + 8 + 1)
            break;
        wr_buf_reset(&series);
        wr_buf_append(&series, key, klen - 8);
        const char *name = key + 2;
        size_t nlen = klen - 8 - 2 - 1; /* basin ‖ 00 ‖ stream, without the final 00 */
        bool gone;
        if (kind == WR_USAGE_K_BASIN_STORAGE) {
            gone = !in_seen(seen, n_seen, name, nlen);
        } else {
            wr_buf mk;
            wr_buf_init(&mk);
            wr_buf_append_byte(&mk, WR_KEY_STREAM_META);
            wr_buf_append(&mk, name, nlen);
            char *err = NULL;
            size_t vlen;
            char *v = rocksdb_get(s->db, s->ro, mk.data, mk.len, &vlen, &err);
            wr_buf_fini(&mk);
            if (err) {
                e = wr_error_set(out_err, WR_ERR_STORAGE, "rocksdb get: %s", err);
                rocksdb_free(err);
                break;
            }
            gone = v == NULL;
            rocksdb_free(v);
        }
        if (gone) {
            uint64_t zero[3] = {0, 0, 0};
            e = put_sample(s, wb, &series, hour, zero, kind == WR_USAGE_K_STORAGE ? 2 : 3, out_err);
        }
        wr_usage__prefix_end(&series, &next);
        rocksdb_iter_seek(it, next.data, next.len);
    }
    if (!e)
        e = wr_usage__iter_err(it, out_err);
    wr_buf_fini(&series);
    wr_buf_fini(&next);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return e;
}

static wr_err
sample(wr_store *s, uint64_t now_ms, uint64_t *out_rows, wr_error *out_err)
{
    uint64_t hour = now_ms / 1000 / 3600 * 3600;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    char **seen = NULL;
    size_t n_seen = 0;
    wr_err e = sample_live(s, wb, hour, &seen, &n_seen, out_err);
    if (!e)
        e = sample_gone(s, wb, WR_USAGE_K_STORAGE, hour, seen, n_seen, out_err);
    if (!e)
        e = sample_gone(s, wb, WR_USAGE_K_BASIN_STORAGE, hour, seen, n_seen, out_err);
    if (!e)
        e = usage_write(s, wb, out_err);
    *out_rows = rocksdb_writebatch_count(wb);
    rocksdb_writebatch_destroy(wb);
    for (size_t i = 0; i < n_seen; i++)
        free(seen[i]);
    free(seen);
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* RETENTION (worker)                                                                         */

/*
 * Deletes rows older than `cutoff_s` in family prefix `fam` (2 or 3 bytes), series by series.
 * Keys end in the bucket (8 bytes) plus `extra` bytes. With keep_last (storage), the newest row
 * below the cutoff stays: a gauge carries it forward.
 */
static wr_err
expire(wr_store *s, rocksdb_writebatch_t *wb, const uint8_t *fam, size_t fam_len, size_t extra,
       uint64_t cutoff_s, bool keep_last, wr_error *out_err)
{
    uint8_t hi[3];
    memcpy(hi, fam, fam_len);
    hi[fam_len - 1]++;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (char *)hi, fam_len);
    rocksdb_iterator_t *it = rocksdb_create_iterator(s->db, ro);
    wr_buf series, from, to;
    wr_buf_init(&series);
    wr_buf_init(&from);
    wr_buf_init(&to);
    wr_err e = WR_OK;
    rocksdb_iter_seek(it, (const char *)fam, fam_len);
    while (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *key = rocksdb_iter_key(it, &klen);
        if (klen < fam_len + 8 + extra)
            break;
        wr_buf_reset(&series);
        wr_buf_append(&series, key, klen - 8 - extra);
        uint64_t first = wr_get_be64((const uint8_t *)key + klen - 8 - extra);
        if (first < cutoff_s) {
            uint64_t upto = cutoff_s;
            if (keep_last) { /* the newest row below the cutoff */
                wr_buf_reset(&to);
                wr_buf_append(&to, series.data, series.len);
                uint8_t b[8];
                wr_put_be64(b, cutoff_s);
                wr_buf_append(&to, b, 8);
                rocksdb_iter_seek_for_prev(it, to.data, to.len);
                size_t l2;
                const char *k2 = rocksdb_iter_valid(it) ? rocksdb_iter_key(it, &l2) : NULL;
                bool same = k2 && l2 == klen && memcmp(k2, series.data, series.len) == 0;
                upto = same ? wr_get_be64((const uint8_t *)k2 + l2 - 8 - extra) : 0;
            }
            if (upto > first) {
                uint8_t b[8];
                wr_buf_reset(&from);
                wr_buf_append(&from, series.data, series.len);
                wr_buf_reset(&to);
                wr_buf_append(&to, series.data, series.len);
                wr_put_be64(b, 0);
                wr_buf_append(&from, b, 8);
                wr_put_be64(b, upto);
                wr_buf_append(&to, b, 8);
                rocksdb_writebatch_delete_range(wb, from.data, from.len, to.data, to.len);
            }
        }
        wr_usage__prefix_end(&series, &to);
        rocksdb_iter_seek(it, to.data, to.len);
    }
    e = wr_usage__iter_err(it, out_err);
    wr_buf_fini(&series);
    wr_buf_fini(&from);
    wr_buf_fini(&to);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return e;
}

static wr_err
retention(wr_store *s, uint64_t now_ms, uint64_t *out_rows, wr_error *out_err)
{
    uint64_t now_s = now_ms / 1000;
    uint64_t keep = s->opts.usage_retention_s, keep_min = s->opts.usage_minute_retention_s;
    uint64_t cut = now_s > keep ? now_s - keep : 0,
             cut_min = now_s > keep_min ? now_s - keep_min : 0;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    wr_err e = WR_OK;
    static const uint8_t kinds[] = {WR_USAGE_K_COUNTERS, WR_USAGE_K_BASIN_COUNTERS, WR_USAGE_K_OPS};
    for (size_t i = 0; i < sizeof(kinds) && !e; i++)
        for (uint8_t res = WR_USAGE_MINUTE; res <= WR_USAGE_DAY && !e; res++) {
            uint8_t fam[3] = {WR_KEY_USAGE, kinds[i], res};
            e = expire(s, wb, fam, 3, kinds[i] == WR_USAGE_K_OPS ? 1 : 0,
                       res == WR_USAGE_MINUTE ? cut_min : cut, false, out_err);
        }
    for (uint8_t k = WR_USAGE_K_STORAGE; k <= WR_USAGE_K_BASIN_STORAGE && !e; k++) {
        uint8_t fam[2] = {WR_KEY_USAGE, k};
        e = expire(s, wb, fam, 2, 0, cut, true, out_err);
    }
    if (!e)
        e = usage_write(s, wb, out_err);
    *out_rows = rocksdb_writebatch_count(wb);
    rocksdb_writebatch_destroy(wb);
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* The job queue (loop thread)                                                                */

static void start_next(wr_store *s);

static void
work_main(uv_work_t *w)
{
    wr_store *s = w->data;
    ujob *j = s->usage->running;
    switch (j->kind) {
    case UJ_FLUSH:
        j->err = flush_tab(s, j->tab, &j->n_written, &j->error);
        break;
    case UJ_SAMPLE:
        j->err = sample(s, j->now_ms, &j->n_written, &j->error);
        break;
    case UJ_RETENTION:
        j->err = retention(s, j->now_ms, &j->n_written, &j->error);
        break;
    case UJ_QUERY:
        wr_usage__query_run(s, &j->q, j->now_ms / 1000, j->tab, j->res);
        break;
    case UJ_NOP:
        break;
    }
}

static void
job_free(ujob *j)
{
    wr_usage__tab_free(j->tab);
    free(j->q_basin);
    free(j->q_stream);
    free(j);
}

/* Reports a finished (or cancelled) job to whoever waits for it. */
static void
job_done(wr_store *s, ujob *j)
{
    struct usage *u = s->usage;
    if (j->kind != UJ_QUERY && j->err) {
        if (j->kind == UJ_FLUSH)
            u->flush_errors++;
        /* Once the store has failed every flush fails: say so once, not every interval. */
        if (u->flush_errors <= 1 || !wr_store_failed(s))
            wr_log_error("usage job failed", " kind=%d error=\"%s\"", (int)j->kind, j->error.msg);
    } else if (j->kind == UJ_FLUSH) {
        u->flushes++;
    } else if (j->kind == UJ_SAMPLE) {
        u->samples++;
    }
    if (j->kind == UJ_QUERY) {
        wr_usage_result *res = j->res;
        j->res = NULL;
        j->cb(j->ud, res);
    }
    if (j->done)
        j->done(j->done_ud);
    job_free(j);
}

static void
after_work(uv_work_t *w, int status)
{
    (void)status;
    wr_store *s = w->data;
    struct usage *u = s->usage;
    ujob *j = u->running;
    u->running = NULL;
    job_done(s, j);
    if (u->closing)
        wr_store__maybe_finish_close(s);
    else
        start_next(s);
}

/* Copies the pending entries a query concerns. */
static utab *
query_copy(const utab *cur, const wr_usage_query *q)
{
    utab *t = wr_usage__tab_new();
    const char *qb = q->basin ? q->basin : "";
    size_t pl = q->stream ? strlen(q->stream) : 0;
    for (size_t i = 0; i < cur->cap; i++) {
        const uent *e = cur->slots[i];
        if (!e)
            continue;
        bool basin_ok = q->want_active_basins || strcmp(e->basin, qb) == 0;
        bool stream_ok =
            e->op || !q->stream ||
            (q->exact ? strcmp(e->stream, q->stream) == 0 : strncmp(e->stream, q->stream, pl) == 0);
        if (!basin_ok || !stream_ok)
            continue;
        uent *c =
            wr_usage__tab_get(t, e->basin, e->op ? NULL : e->stream, e->minute_s, e->op, true);
        memcpy(c->c, e->c, sizeof(c->c));
    }
    return t;
}

static void
start_next(wr_store *s)
{
    struct usage *u = s->usage;
    if (u->running || !u->head || u->closing)
        return;
    ujob *j = u->head;
    u->head = j->next;
    if (!u->head)
        u->tail = NULL;
    j->now_ms = wr_clock_now_ms();
    if (j->kind == UJ_FLUSH) {
        u->flush_queued = false;
        j->tab = u->cur;
        u->cur = wr_usage__tab_new();
    } else if (j->kind == UJ_QUERY) {
        u->n_queries--;
        j->tab = query_copy(u->cur, &j->q);
    }
    u->running = j;
    u->work.data = s;
    uv_queue_work(s->loop, &u->work, work_main, after_work);
}

static void
queue_job(wr_store *s, ujob *j)
{
    struct usage *u = s->usage;
    j->next = NULL;
    if (u->tail)
        u->tail->next = j;
    else
        u->head = j;
    u->tail = j;
    start_next(s);
}

static void
on_flush_timer(uv_timer_t *t)
{
    wr_store *s = t->data;
    struct usage *u = s->usage;
    if (u->cur->n)
        want_flush(s);
    uint64_t now = wr_clock_mono_ms();
    if (now - u->last_retention_ms >= RETENTION_EVERY_MS) {
        u->last_retention_ms = now;
        ujob *j = wr_xcalloc(1, sizeof(*j));
        j->kind = UJ_RETENTION;
        queue_job(s, j);
    }
}

static void
on_sample_timer(uv_timer_t *t)
{
    wr_store *s = t->data;
    ujob *j = wr_xcalloc(1, sizeof(*j));
    j->kind = UJ_SAMPLE;
    queue_job(s, j);
}

static uv_timer_t *
timer_start(wr_store *s, void (*cb)(uv_timer_t *), uint64_t first_ms, uint64_t every_ms)
{
    uv_timer_t *t = wr_xcalloc(1, sizeof(*t));
    uv_timer_init(s->loop, t);
    t->data = s;
    uv_timer_start(t, cb, first_ms, every_ms);
    uv_unref((uv_handle_t *)t);
    return t;
}

static void
timer_closed(uv_handle_t *h)
{
    free(h);
}

void
wr_store__usage_open(wr_store *s)
{
    wr_store_opts *o = &s->opts;
    if (!o->usage_flush_ms)
        o->usage_flush_ms = 5000;
    if (!o->usage_sample_ms)
        o->usage_sample_ms = 600000;
    if (!o->usage_retention_s)
        o->usage_retention_s = 35ull * 86400;
    if (!o->usage_minute_retention_s)
        o->usage_minute_retention_s = 2ull * 86400;
    if (!o->usage_max_entries)
        o->usage_max_entries = 100000;
    struct usage *u = wr_xcalloc(1, sizeof(*u));
    s->usage = u;
    u->cur = wr_usage__tab_new();
    u->last_retention_ms = wr_clock_mono_ms() - RETENTION_EVERY_MS + 60000; /* first after 1 min */
    u->flush_timer = timer_start(s, on_flush_timer, o->usage_flush_ms, o->usage_flush_ms);
    /* The first sample soon after start, so that a restart is measured without a long gap. */
    u->sample_timer = timer_start(s, on_sample_timer, 30000, o->usage_sample_ms);
}

static void
deferred_done(wr_store *s, void *arg)
{
    job_done(s, arg);
}

void
wr_store_usage_query(wr_store *s, const wr_usage_query *q, wr_usage_cb cb, void *ud)
{
    struct usage *u = s->usage;
    ujob *j = wr_xcalloc(1, sizeof(*j));
    j->kind = UJ_QUERY;
    j->q = *q;
    j->q_basin = q->basin ? wr_xstrdup(q->basin) : NULL;
    j->q_stream = q->stream ? wr_xstrdup(q->stream) : NULL;
    j->q.basin = j->q_basin;
    j->q.stream = j->q_stream;
    j->res = wr_xcalloc(1, sizeof(*j->res));
    j->cb = cb;
    j->ud = ud;
    wr_err e = WR_OK;
    if (s->closing || u->closing)
        e = wr_error_set(&j->res->error, WR_ERR_UNAVAILABLE, "store is closing");
    else if (u->n_queries >= MAX_WAITING_QUERIES)
        e = wr_error_set(&j->res->error, WR_ERR_UNAVAILABLE, "too many usage queries waiting");
    if (e) {
        j->res->err = e;
        wr_store__defer(s, deferred_done, j);
        return;
    }
    u->n_queries++;
    queue_job(s, j);
}

void
wr_usage_result_free(wr_usage_result *res)
{
    if (!res)
        return;
    free(res->buckets);
    for (size_t i = 0; i < res->n_basins; i++)
        free(res->basins[i]);
    free(res->basins);
    free(res);
}

static void
hook_job(wr_store *s, ujob_kind kind, void (*cb)(void *ud), void *ud)
{
    ujob *j = wr_xcalloc(1, sizeof(*j));
    j->kind = kind;
    j->done = cb;
    j->done_ud = ud;
    if (kind == UJ_FLUSH) {
        if (s->usage->flush_queued) /* a flush is queued: this one waits for it (FIFO) */
            j->kind = UJ_NOP;
        else
            s->usage->flush_queued = true;
    }
    queue_job(s, j);
}

void
wr_store_usage_flush_now(wr_store *s, void (*cb)(void *ud), void *ud)
{
    hook_job(s, UJ_FLUSH, cb, ud);
}

void
wr_store_usage_sample_now(wr_store *s, void (*cb)(void *ud), void *ud)
{
    hook_job(s, UJ_SAMPLE, cb, ud);
}

/* ---------------------------------------------------------------------------------------- */
/* Close and stats                                                                            */

void
wr_store__usage_close(wr_store *s)
{
    struct usage *u = s->usage;
    if (!u || u->closing)
        return;
    u->closing = true;
    uv_close((uv_handle_t *)u->flush_timer, timer_closed);
    uv_close((uv_handle_t *)u->sample_timer, timer_closed);
    u->flush_timer = u->sample_timer = NULL;
    while (u->head) {
        ujob *j = u->head;
        u->head = j->next;
        if (j->kind == UJ_QUERY)
            j->res->err = wr_error_set(&j->res->error, WR_ERR_UNAVAILABLE, "store is closing");
        job_done(s, j);
    }
    u->tail = NULL;
}

bool
wr_store__usage_busy(const wr_store *s)
{
    return s->usage && s->usage->running;
}

void
wr_store__usage_final(wr_store *s)
{
    struct usage *u = s->usage;
    if (!u || !u->cur->n)
        return;
    uint64_t n;
    wr_error err = {0};
    if (flush_tab(s, u->cur, &n, &err) != WR_OK)
        wr_log_error("usage: final flush failed", " error=\"%s\"", err.msg);
    wr_usage__tab_free(u->cur);
    u->cur = wr_usage__tab_new();
}

void
wr_store__usage_free(wr_store *s)
{
    struct usage *u = s->usage;
    if (!u)
        return;
    wr_usage__tab_free(u->cur);
    free(u);
    s->usage = NULL;
}

void
wr_store__usage_stats(const wr_store *s, wr_store_stats *out)
{
    out->appended_records = s->n_app_records;
    out->appended_bytes = s->n_app_bytes;
    out->read_records = s->n_read_records;
    out->read_bytes = s->n_read_bytes;
    out->followers = s->n_followers;
    const struct usage *u = s->usage;
    if (!u)
        return;
    out->usage_flushes = u->flushes;
    out->usage_flush_errors = u->flush_errors;
    out->usage_samples = u->samples;
    out->usage_pending_entries = u->cur->n;
    out->usage_unattributed = u->unattributed;
}
