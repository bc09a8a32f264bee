/*
 * usage_query.c — answers wr_store_usage_query on the worker pool (usage.c runs it as a job):
 * reads the usage rows of keys.h in the query's range, adds the pending entries the job copied,
 * and measures the storage of the bucket that is running live.
 *
 * Buckets are dense: one per interval from floor(start) to floor(min(end, now)). Counters and
 * ops add the rows of the query's resolution whose bucket falls in range (a pending entry, kept
 * per minute, lands in the bucket containing its minute). Storage is a gauge: bucket i holds
 * the newest sample taken before the bucket ended (carried forward from before the range), and
 * the bucket containing now holds a live measurement.
 *
 * Scans of many series (a stream prefix, the basins) seek from series to series, so a query
 * reads about (series × buckets in range) rows, never the whole history of a series.
 */
#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "store/usage_int.h"
#include "util/mem.h"

typedef struct qctx {
    wr_store *s;
    const wr_usage_query *q;
    uint64_t iv, b0, b1, now_s;
    wr_usage_result *res;
} qctx;

static bool
has_prefix(const char *k, size_t klen, const wr_buf *p)
{
    return klen >= p->len && memcmp(k, p->data, p->len) == 0;
}

static void
buf_be64(wr_buf *b, uint64_t v)
{
    uint8_t x[8];
    wr_put_be64(x, v);
    wr_buf_append(b, x, 8);
}

static wr_usage_bucket *
bucket_of(qctx *c, uint64_t ts)
{
    uint64_t b = ts / c->iv * c->iv;
    if (b < c->b0 || b > c->b1)
        return NULL;
    return &c->res->buckets[(b - c->b0) / c->iv];
}

/*
 * Calls fn for every row under `prefix` whose bucket (8 bytes after the series, then `extra`
 * bytes) lies in [lo, hi]; the series of a row is its key minus those trailing bytes.
 */
static wr_err
scan_rows(qctx *c, const wr_buf *prefix, size_t extra, uint64_t lo, uint64_t hi,
          void (*fn)(qctx *c, const char *k, size_t klen, const uint8_t *v, size_t vlen, void *ud),
          void *ud, wr_error *out_err)
{
    wr_buf end, seek, series;
    wr_buf_init(&end);
    wr_buf_init(&seek);
    wr_buf_init(&series);
    wr_usage__prefix_end(prefix, &end);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, end.data, end.len);
    rocksdb_iterator_t *it = rocksdb_create_iterator(c->s->db, ro);
    rocksdb_iter_seek(it, prefix->data, prefix->len);
    while (rocksdb_iter_valid(it)) {
        size_t klen, vlen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen < prefix->len + 8 + extra)
            break;
        size_t slen = klen - 8 - extra;
        uint64_t ts = wr_get_be64((const uint8_t *)k + slen);
        wr_buf_reset(&seek);
        wr_buf_append(&seek, k, slen);
        if (ts < lo) {
            buf_be64(&seek, lo);
            rocksdb_iter_seek(it, seek.data, seek.len);
            continue;
        }
        if (ts > hi) { /* on to the next series */
            wr_buf_reset(&series);
            wr_buf_append(&series, k, slen);
            wr_usage__prefix_end(&series, &seek);
            rocksdb_iter_seek(it, seek.data, seek.len);
            continue;
        }
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        fn(c, k, klen, v, vlen, ud);
        rocksdb_iter_next(it);
    }
    wr_err e = wr_usage__iter_err(it, out_err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    wr_buf_fini(&end);
    wr_buf_fini(&seek);
    wr_buf_fini(&series);
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* Counters and ops                                                                           */

static void
add_counters(qctx *c, const char *k, size_t klen, const uint8_t *v, size_t vlen, void *ud)
{
    (void)ud;
    wr_usage_bucket *b = bucket_of(c, wr_get_be64((const uint8_t *)k + klen - 8));
    if (!b)
        return;
    wr_usage__counters_add(v, vlen, b->c, WR_USAGE_N_COUNTERS);
    b->has_counters = true;
}

static void
add_op(qctx *c, const char *k, size_t klen, const uint8_t *v, size_t vlen, void *ud)
{
    (void)ud;
    uint8_t op = (uint8_t)k[klen - 1];
    wr_usage_bucket *b = bucket_of(c, wr_get_be64((const uint8_t *)k + klen - 9));
    if (b && op <= WR_USAGE_OP_MAX)
        wr_usage__counters_add(v, vlen, &b->ops[op], 1);
}

static bool
stream_matches(const wr_usage_query *q, const char *stream)
{
    if (!q->stream)
        return true;
    if (q->exact)
        return strcmp(stream, q->stream) == 0;
    return strncmp(stream, q->stream, strlen(q->stream)) == 0;
}

static wr_err
counters(qctx *c, const utab *pending, wr_error *out_err)
{
    const wr_usage_query *q = c->q;
    wr_buf p;
    wr_buf_init(&p);
    if (q->stream)
        wr_key_usage_series(&p, WR_USAGE_K_COUNTERS, (uint8_t)q->interval, q->basin, q->stream,
                            strlen(q->stream));
    else
        wr_key_usage_series(&p, WR_USAGE_K_BASIN_COUNTERS, (uint8_t)q->interval, q->basin, NULL, 0);
    if (q->stream && !q->exact)
        p.len--; /* a name prefix: without the series' closing 00 */
    wr_err e = scan_rows(c, &p, 0, c->b0, c->b1, add_counters, NULL, out_err);
    wr_buf_fini(&p);
    for (size_t i = 0; i < pending->cap && !e; i++) {
        const uent *x = pending->slots[i];
        wr_usage_bucket *b = x ? bucket_of(c, x->minute_s) : NULL;
        if (!b || x->op || strcmp(x->basin, q->basin) != 0 || !stream_matches(q, x->stream))
            continue;
        for (size_t k = 0; k < WR_USAGE_N_COUNTERS; k++)
            b->c[k] += x->c[k];
        b->has_counters = true;
    }
    return e;
}

static wr_err
ops(qctx *c, const utab *pending, wr_error *out_err)
{
    const char *basin = c->q->basin ? c->q->basin : "";
    wr_buf p;
    wr_buf_init(&p);
    wr_key_usage_series(&p, WR_USAGE_K_OPS, (uint8_t)c->q->interval, basin, NULL, 0);
    wr_err e = scan_rows(c, &p, 1, c->b0, c->b1, add_op, NULL, out_err);
    wr_buf_fini(&p);
    for (size_t i = 0; i < pending->cap && !e; i++) {
        const uent *x = pending->slots[i];
        wr_usage_bucket *b = x ? bucket_of(c, x->minute_s) : NULL;
        if (b && x->op && strcmp(x->basin, basin) == 0)
            b->ops[x->op] += x->c[0];
    }
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* Storage                                                                                    */

/* Adds one series' gauge (rows `series ‖ hour`) into the buckets. */
static wr_err
gauge_series(qctx *c, const wr_buf *series, wr_error *out_err)
{
    wr_buf k, hi;
    wr_buf_init(&k);
    wr_buf_init(&hi);
    wr_usage__prefix_end(series, &hi);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_lower_bound(ro, series->data, series->len);
    rocksdb_readoptions_set_iterate_upper_bound(ro, hi.data, hi.len);
    rocksdb_iterator_t *it = rocksdb_create_iterator(c->s->db, ro);
    uint64_t cur[2] = {0, 0};
    size_t i = 0, n = c->res->n_buckets;
    wr_buf_append(&k, series->data, series->len);
    buf_be64(&k, c->b0 ? c->b0 - 1 : 0);
    rocksdb_iter_seek_for_prev(it, k.data, k.len);
    if (rocksdb_iter_valid(it)) {
        size_t klen, vlen;
        const char *key = rocksdb_iter_key(it, &klen);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        if (klen == series->len + 8 && wr_get_be64((const uint8_t *)key + series->len) < c->b0)
            wr_usage__counters_add(v, vlen, cur, 2);
    }
    wr_buf_reset(&k);
    wr_buf_append(&k, series->data, series->len);
    buf_be64(&k, c->b0);
    for (rocksdb_iter_seek(it, k.data, k.len); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t klen, vlen;
        const char *key = rocksdb_iter_key(it, &klen);
        if (klen != series->len + 8)
            continue;
        uint64_t ts = wr_get_be64((const uint8_t *)key + series->len);
        if (ts >= c->b1 + c->iv)
            break;
        for (; i < n && ts >= c->b0 + (i + 1) * c->iv; i++) {
            c->res->buckets[i].storage_metered += cur[0];
            c->res->buckets[i].storage_stored += cur[1];
        }
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
        cur[0] = cur[1] = 0;
        wr_usage__counters_add(v, vlen, cur, 2);
    }
    for (; i < n; i++) {
        c->res->buckets[i].storage_metered += cur[0];
        c->res->buckets[i].storage_stored += cur[1];
    }
    wr_err e = wr_usage__iter_err(it, out_err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    wr_buf_fini(&k);
    wr_buf_fini(&hi);
    return e;
}

/* The live storage of the query's streams (a stream, a name prefix, or the whole basin). */
static wr_err
live_storage(qctx *c, uint64_t *metered, uint64_t *stored, wr_error *out_err)
{
    const wr_usage_query *q = c->q;
    wr_buf p, end;
    wr_buf_init(&p);
    wr_buf_init(&end);
    wr_key_stream_meta_prefix(&p, q->basin, strlen(q->basin));
    if (q->stream)
        wr_buf_append(&p, q->stream, strlen(q->stream));
    wr_usage__prefix_end(&p, &end);
    if (q->stream && q->exact) { /* exactly this key */
        wr_buf_reset(&end);
        wr_buf_append(&end, p.data, p.len);
        wr_buf_append_byte(&end, 0);
    }
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, end.data, end.len);
    rocksdb_iterator_t *it = rocksdb_create_iterator(c->s->db, ro);
    wr_err e = WR_OK;
    *metered = *stored = 0;
    for (rocksdb_iter_seek(it, p.data, p.len); rocksdb_iter_valid(it) && !e;
         rocksdb_iter_next(it)) {
        size_t vlen;
        const char *v = rocksdb_iter_value(it, &vlen);
        stream_meta m;
        uint64_t sm, ss;
        if (!wr_store__stream_meta_decode(v, vlen, &m))
            continue;
        if ((e = wr_usage__stream_storage(c->s, m.id, &sm, &ss, out_err)))
            break;
        *metered += sm;
        *stored += ss;
    }
    if (!e)
        e = wr_usage__iter_err(it, out_err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    wr_buf_fini(&p);
    wr_buf_fini(&end);
    return e;
}

static wr_err
storage(qctx *c, wr_error *out_err)
{
    const wr_usage_query *q = c->q;
    wr_err e = WR_OK;
    wr_buf p;
    wr_buf_init(&p);
    if (!q->stream || q->exact) { /* one series */
        if (q->stream)
            wr_key_usage_series(&p, WR_USAGE_K_STORAGE, 0, q->basin, q->stream, strlen(q->stream));
        else
            wr_key_usage_series(&p, WR_USAGE_K_BASIN_STORAGE, 0, q->basin, NULL, 0);
        e = gauge_series(c, &p, out_err);
    } else { /* every series of the prefix, one after the other */
        wr_key_usage_series(&p, WR_USAGE_K_STORAGE, 0, q->basin, q->stream, strlen(q->stream));
        p.len--;
        wr_buf end, series, next;
        wr_buf_init(&end);
        wr_buf_init(&series);
        wr_buf_init(&next);
        wr_usage__prefix_end(&p, &end);
        rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
        rocksdb_readoptions_set_iterate_upper_bound(ro, end.data, end.len);
        rocksdb_iterator_t *it = rocksdb_create_iterator(c->s->db, ro);
        rocksdb_iter_seek(it, p.data, p.len);
        while (!e && rocksdb_iter_valid(it)) {
            size_t klen;
            const char *k = rocksdb_iter_key(it, &klen);
            if (klen < p.len + 9)
                break;
            wr_buf_reset(&series);
            wr_buf_append(&series, k, klen - 8);
            e = gauge_series(c, &series, out_err);
            wr_usage__prefix_end(&series, &next);
            rocksdb_iter_seek(it, next.data, next.len);
        }
        if (!e)
            e = wr_usage__iter_err(it, out_err);
        rocksdb_iter_destroy(it);
        rocksdb_readoptions_destroy(ro);
        wr_buf_fini(&end);
        wr_buf_fini(&series);
        wr_buf_fini(&next);
    }
    wr_buf_fini(&p);
    size_t n = c->res->n_buckets;
    if (!e && n && c->now_s / c->iv * c->iv == c->b1) {
        wr_usage_bucket *b = &c->res->buckets[n - 1];
        e = live_storage(c, &b->storage_metered, &b->storage_stored, out_err);
    }
    return e;
}

/* ---------------------------------------------------------------------------------------- */
/* Active basins                                                                              */

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static void
names_add(names *x, const char *name, size_t len)
{
    for (size_t i = 0; i < x->n; i++)
        if (strlen(x->v[i]) == len && memcmp(x->v[i], name, len) == 0)
            return;
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 16;
        x->v = wr_xrealloc(x->v, x->cap * sizeof(*x->v));
    }
    x->v[x->n] = wr_xmalloc(len + 1);
    memcpy(x->v[x->n], name, len);
    x->v[x->n++][len] = 0;
}

static void
active_from_counters(qctx *c, const char *k, size_t klen, const uint8_t *v, size_t vlen, void *ud)
{
    (void)c;
    (void)v;
    (void)vlen;
    size_t bl = klen - 3 - 1 - 8; /* 0B 02 res ‖ basin ‖ 00 ‖ bucket */
    if (bl > 0)
        names_add(ud, k + 3, bl);
}

/* Basins whose storage samples say they held a stream during [start, end]. */
static wr_err
active_from_samples(qctx *c, names *out, wr_error *out_err)
{
    uint8_t lo[2] = {WR_KEY_USAGE, WR_USAGE_K_BASIN_STORAGE};
    uint8_t hi[2] = {WR_KEY_USAGE, WR_USAGE_K_BASIN_STORAGE + 1};
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (char *)hi, 2);
    rocksdb_iterator_t *it = rocksdb_create_iterator(c->s->db, ro);
    wr_buf series, seek;
    wr_buf_init(&series);
    wr_buf_init(&seek);
    rocksdb_iter_seek(it, (char *)lo, 2);
    while (rocksdb_iter_valid(it)) {
        size_t klen;
        const char *k = rocksdb_iter_key(it, &klen);
        if (klen < 2 + 1 + 8)
            break;
        wr_buf_reset(&series);
        wr_buf_append(&series, k, klen - 8);
        /* The sample in force at start, then every sample up to end. */
        wr_buf_reset(&seek);
        wr_buf_append(&seek, series.data, series.len);
        buf_be64(&seek, c->q->start_s);
        rocksdb_iter_seek_for_prev(it, seek.data, seek.len);
        bool in_series = false;
        if (rocksdb_iter_valid(it)) {
            const char *pk = rocksdb_iter_key(it, &klen);
            in_series = has_prefix(pk, klen, &series);
        }
        if (!in_series)
            rocksdb_iter_seek(it, seek.data, seek.len);
        bool active = false;
        for (; rocksdb_iter_valid(it) && !active; rocksdb_iter_next(it)) {
            size_t vlen;
            const char *key = rocksdb_iter_key(it, &klen);
            if (!has_prefix(key, klen, &series) || klen != series.len + 8 ||
                wr_get_be64((const uint8_t *)key + series.len) > c->q->end_s)
                break;
            const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vlen);
            uint64_t x[3] = {0, 0, 0};
            wr_usage__counters_add(v, vlen, x, 3);
            active = x[2] > 0;
        }
        if (active)
            names_add(out, series.data + 2, series.len - 3);
        wr_usage__prefix_end(&series, &seek);
        rocksdb_iter_seek(it, seek.data, seek.len);
    }
    wr_err e = wr_usage__iter_err(it, out_err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    wr_buf_fini(&series);
    wr_buf_fini(&seek);
    return e;
}

/* Basins with a stream right now (one seek per basin). */
static wr_err
active_now(qctx *c, names *out, wr_error *out_err)
{
    uint8_t lo = WR_KEY_STREAM_META, hi = WR_KEY_STREAM_META + 1;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, (char *)&hi, 1);
    rocksdb_iterator_t *it = rocksdb_create_iterator(c->s->db, ro);
    wr_buf seek;
    wr_buf_init(&seek);
    rocksdb_iter_seek(it, (char *)&lo, 1);
    while (rocksdb_iter_valid(it)) {
        size_t klen, bl, sl;
        const char *k = rocksdb_iter_key(it, &klen);
        const char *basin, *stream;
        if (!wr_key_stream_meta_decode((const uint8_t *)k, klen, true, &basin, &bl, &stream, &sl))
            break;
        names_add(out, basin, bl);
        wr_buf_reset(&seek);
        wr_buf_append_byte(&seek, WR_KEY_STREAM_META);
        wr_buf_append(&seek, basin, bl);
        wr_buf_append_byte(&seek, 1); /* past `basin ‖ 00 ‖ …` */
        rocksdb_iter_seek(it, seek.data, seek.len);
    }
    wr_err e = wr_usage__iter_err(it, out_err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    wr_buf_fini(&seek);
    return e;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static wr_err
active_basins(qctx *c, const utab *pending, wr_error *out_err)
{
    names x = {0};
    wr_err e = active_from_samples(c, &x, out_err);
    if (!e) {
        uint8_t fam[3] = {WR_KEY_USAGE, WR_USAGE_K_BASIN_COUNTERS, WR_USAGE_HOUR};
        wr_buf p;
        wr_buf_init(&p);
        wr_buf_append(&p, fam, 3);
        e = scan_rows(c, &p, 0, c->q->start_s / 3600 * 3600, c->q->end_s, active_from_counters, &x,
                      out_err);
        wr_buf_fini(&p);
    }
    if (!e && c->q->end_s + 3600 >= c->now_s)
        e = active_now(c, &x, out_err);
    for (size_t i = 0; i < pending->cap && !e; i++) {
        const uent *u = pending->slots[i];
        if (u && !u->op && u->basin[0] && u->minute_s + 60 > c->q->start_s &&
            u->minute_s <= c->q->end_s)
            names_add(&x, u->basin, strlen(u->basin));
    }
    if (x.n)
        qsort(x.v, x.n, sizeof(*x.v), name_cmp);
    c->res->basins = x.v;
    c->res->n_basins = x.n;
    return e;
}

/* ---------------------------------------------------------------------------------------- */

void
wr_usage__query_run(wr_store *s, const wr_usage_query *q, uint64_t now_s, const utab *pending,
                    wr_usage_result *res)
{
    qctx c = {.s = s, .q = q, .now_s = now_s, .res = res};
    c.iv = wr_usage_interval_secs(q->interval);
    c.b0 = q->start_s / c.iv * c.iv;
    uint64_t last = q->end_s < now_s ? q->end_s : now_s;
    c.b1 = last / c.iv * c.iv;
    if (q->start_s > q->end_s) {
        res->err = wr_error_set(&res->error, WR_ERR_INVALID, "start is after end");
        return;
    }
    if (last >= q->start_s) {
        if ((c.b1 - c.b0) / c.iv + 1 > WR_USAGE_MAX_BUCKETS) {
            res->err = wr_error_set(&res->error, WR_ERR_INVALID, "the range has too many buckets");
            return;
        }
        res->n_buckets = (size_t)((c.b1 - c.b0) / c.iv + 1);
        res->buckets = wr_xcalloc(res->n_buckets, sizeof(*res->buckets));
        for (size_t i = 0; i < res->n_buckets; i++)
            res->buckets[i].ts_s = c.b0 + i * c.iv;
    }
    wr_err e = WR_OK;
    if (res->n_buckets && q->basin && q->want_counters)
        e = counters(&c, pending, &res->error);
    if (!e && res->n_buckets && q->want_ops)
        e = ops(&c, pending, &res->error);
    if (!e && res->n_buckets && q->basin && q->want_storage)
        e = storage(&c, &res->error);
    if (!e && q->want_active_basins)
        e = active_basins(&c, pending, &res->error);
    res->err = e;
    for (size_t i = 0; i < res->n_buckets; i++) {
        const wr_usage_bucket *b = &res->buckets[i];
        for (size_t k = 0; k < WR_USAGE_N_COUNTERS; k++)
            res->total.c[k] += b->c[k];
        for (size_t k = 0; k <= WR_USAGE_OP_MAX; k++)
            res->total.ops[k] += b->ops[k];
        res->total.has_counters |= b->has_counters;
    }
    if (res->n_buckets) {
        res->total.storage_metered = res->buckets[res->n_buckets - 1].storage_metered;
        res->total.storage_stored = res->buckets[res->n_buckets - 1].storage_stored;
    }
}
