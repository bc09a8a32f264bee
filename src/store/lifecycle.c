/*
 * lifecycle.c — what happens to streams over time: age retention and trim reclamation,
 * delete-on-empty, the cleanup of deleted streams and basins, holds and pins that keep a stream
 * alive, and the maintenance scheduler that runs all of it.
 *
 * Visibility vs. reclamation. Reads hide expired records the moment they expire (read.c and
 * follow.c compare each batch's arrival_ms with wr_store__retention_cutoff: expiry is by write
 * time, not record timestamp, and whole-batch granular) and records below
 * the trim point (d_trim). This file only reclaims the bytes later, so nothing here is on the
 * path of correctness for reads: a pass that is late, or lost in a crash, only delays the space.
 *
 * Scheduler. A uv timer (unref'd, so it never keeps a loop alive) starts a pass every
 * opts.maint_interval_ms ± 10 % (60 s by default; the first one an interval after open), and
 * wr_store_maintain_now() starts one at once. One pass at a time; a pass is a chain of jobs on
 * the libuv worker pool, and everything between jobs happens on the loop:
 *   SCAN (worker)    every stream of family 09: range-deletes batches wholly below the trim
 *                    point or wholly expired (non-synced write: redone if lost), collects deleted
 *                    streams and delete-on-empty candidates;
 *   loop             verifies each candidate against the live state (holds, pins, appends and
 *                    changes in flight, deadline, emptiness) and marks it deleted, as a DELETE
 *                    would (through the commit thread; the pass goes on once all are written);
 *   DELETE (worker)  removes up to DELETE_BATCH deleted streams in one synced write: range
 *                    deletes of their batches and index, then meta, id mapping, tail, fence,
 *                    trim, deadline and pin;
 *   PAGE (worker)    for each deleting basin, one page of PAGE_STREAMS streams and the cursor in
 *                    one synced write; the last page removes the basin itself;
 *   COMPACT (worker) only for wr_store_maintain_now(compact): flush and compact everything.
 * Appends are never raced: a stream is only deleted when it is marked deleted (no new append is
 * sequenced) and has no append with the commit thread (next_seq == d_seq); reclamation only
 * deletes keys below the durable trim point or expired ones, never the end of a stream.
 *
 * Errors. Every read goes through db.c, so a read error is an error, never "absent" or "no more
 * keys": a job that meets one stops and writes nothing of what it was building (a pin count, a
 * deadline, a page that looks like the basin's last, the id high-water mark are never decided
 * on a failed read). The read error has put the store in the failed state, so the pass ends
 * there; later passes of a failed store do no work and only answer wr_store_maintain_now().
 *
 * The stream counts behind the stream limits (quota.c) follow the metas these jobs remove: a
 * DELETE job reports each stream whose meta it removed, the last PAGE of a basin the basin.
 *
 * Holds are in memory (sessions die with the process); pins are persisted (08 04). A held or
 * pinned stream is never deleted by delete-on-empty, and releasing the last hold or pin moves
 * the stream's deadline to now + min_age.
 *
 * Threads: struct lifecycle belongs to the loop, except the current job's inputs and outputs,
 * which the worker owns while work_busy is set.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "store/store_int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"

#define RETRY_MS 50u       /* a pass postponed something (appends in flight): retry soon */
#define DELETE_BATCH 1000u /* streams removed per synced write */
#define PAGE_STREAMS 1000u /* streams of a deleting basin removed per page */
#define HOLD_BUCKETS 256u

typedef struct hold {
    struct hold *next;
    char *basin, *stream;
    uint64_t n;
} hold;

typedef struct item {
    uint64_t id;
    char *basin, *stream;
    bool removed; /* DELETE job: its meta was removed (not an orphaned id's namesake) */
} item;

typedef struct item_vec {
    item *v;
    size_t n, cap;
} item_vec;

typedef struct waiter {
    struct waiter *next;
    uint64_t need; /* satisfied by the end of pass number `need` */
    void (*cb)(void *ud);
    void *ud;
} waiter;

typedef enum job_kind { JOB_SCAN, JOB_DELETE, JOB_PAGE, JOB_COMPACT } job_kind;

struct lifecycle {
    uv_timer_t *timer; /* heap: freed by its close callback */
    hold *holds[HOLD_BUCKETS];
    char **deleting; /* basins being deleted */
    size_t n_deleting;
    stream_state **retired; /* uncached, still referenced */
    size_t n_retired;
    waiter *waiters;
    uint64_t rng;
    bool running, kicked, retry, compact_next;
    uint64_t passes_started, passes_done;
    wr_store_stats counters; /* the lifecycle fields only */

    /* The pass in progress. */
    uv_work_t work;
    bool work_busy;
    job_kind kind;
    uint64_t pass_id;
    bool compact;
    uint64_t now_ms;
    char **basins; /* snapshot of `deleting` at pass start */
    size_t n_basins, basin_idx;
    item_vec dels, does, job; /* deleted streams, DOE candidates, the current job's streams */
    size_t marking;           /* delete-on-empty marks on their way to the commit thread */
    size_t del_pos;
    char *page_basin;
    bool page_done;
    uint64_t reclaimed_ranges;
    wr_error job_error;
    wr_err job_err;
};

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                              */

static void
vec_push(item_vec *v, uint64_t id, const char *basin, size_t bl, const char *stream, size_t sl)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->v = wr_xrealloc(v->v, v->cap * sizeof(*v->v));
    }
    item *it = &v->v[v->n++];
    it->id = id;
    it->removed = false;
    it->basin = wr_xmalloc(bl + 1);
    memcpy(it->basin, basin, bl);
    it->basin[bl] = 0;
    it->stream = wr_xmalloc(sl + 1);
    memcpy(it->stream, stream, sl);
    it->stream[sl] = 0;
}

static void
vec_clear(item_vec *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->v[i].basin);
        free(v->v[i].stream);
    }
    v->n = 0;
}

static void
vec_fini(item_vec *v)
{
    vec_clear(v);
    free(v->v);
    memset(v, 0, sizeof(*v));
}

static hold **
hold_find(struct lifecycle *lc, const char *basin, const char *stream)
{
    hold **pp = &lc->holds[wr_store__name_hash(basin, stream) % HOLD_BUCKETS];
    while (*pp && (strcmp((*pp)->basin, basin) != 0 || strcmp((*pp)->stream, stream) != 0))
        pp = &(*pp)->next;
    return pp;
}

/* The stream's pin count (0 when it has none). A count that cannot be read is an error, never
 * 0: a pin must not be overwritten with 1, nor a pinned stream deleted on empty. */
wr_err
wr_store__pin_count(wr_store *s, uint64_t id, uint64_t *out_n, wr_error *out_err)
{
    uint8_t k[WR_KEY_LC_ID_LEN];
    wr_key_lc_id(k, WR_LC_PIN, id);
    *out_n = 0;
    return wr_store__get_u64(s, k, sizeof(k), out_n, NULL, out_err);
}

uint64_t
wr_store__retention_cutoff(const wr_stream_config *cfg, uint64_t now_ms)
{
    if (cfg->retention != WR_RETENTION_AGE || cfg->retention_age_secs == 0)
        return 0;
    uint64_t age_ms = cfg->retention_age_secs * 1000;
    return now_ms > age_ms ? now_ms - age_ms : 0;
}

uint32_t
wr_store__expired_prefix(const stream_state *st, const wr_batch *b)
{
    uint64_t cutoff = wr_store__retention_cutoff(&st->cfg, wr_clock_now_ms());
    return cutoff && b->arrival_ms < cutoff ? b->n_records : 0;
}

bool
wr_store__basin_deleting(const wr_store *s, const char *basin)
{
    for (size_t i = 0; s->lc && i < s->lc->n_deleting; i++)
        if (strcmp(s->lc->deleting[i], basin) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------------------------------- */
/* Worker side: reclamation and deletion                                                      */

/* Whether at least one key in [lo, hi) exists. */
static wr_err
any_key(wr_store *s, const uint8_t *lo, size_t lolen, const uint8_t *hi, size_t hilen,
        bool *out_found, wr_error *out_err)
{
    db_iter it;
    wr_store__iter_open(&it, s, NULL, 0, hi, hilen);
    wr_store__iter_seek(&it, lo, lolen);
    *out_found = wr_store__iter_valid(&it);
    return wr_store__iter_end(&it, WR_OK, out_err);
}

/* The end seq of the expired prefix of stream `id`'s batches (0 = none): arrivals are monotonic,
 * so the scan walks batch keys from the stream start (reclaimed ones are gone, so it starts near
 * the first live batch) and peeks only at headers until one arrived at or after the cutoff. */
static wr_err
expired_end(wr_store *s, uint64_t id, uint64_t tail_seq, uint64_t cutoff, uint64_t *out_end,
            wr_error *out_err)
{
    uint8_t lo[WR_KEY_BATCH_LEN], hi[WR_KEY_BATCH_LEN];
    wr_key_batch(lo, id, 0);
    wr_key_batch(hi, id, tail_seq);
    db_iter it;
    wr_store__iter_open(&it, s, lo, sizeof(lo), hi, sizeof(hi));
    *out_end = 0;
    for (wr_store__iter_seek(&it, lo, sizeof(lo)); wr_store__iter_valid(&it);
         wr_store__iter_next(&it)) {
        size_t klen, vl;
        const char *key = wr_store__iter_key(&it, &klen);
        const char *val = wr_store__iter_value(&it, &vl);
        uint64_t kid, kseq, fseq, lts, arrival;
        uint32_t n;
        if (!wr_key_batch_decode((const uint8_t *)key, klen, &kid, &kseq) || kid != id ||
            !wr_batch_peek((const uint8_t *)val, vl, &fseq, &n, &lts) ||
            !wr_batch_peek_arrival((const uint8_t *)val, vl, &arrival) || arrival >= cutoff)
            break;
        *out_end = kseq + n;
    }
    return wr_store__iter_end(&it, WR_OK, out_err);
}

/* The first seq of the batch holding `upto` (0 = no such batch). */
static wr_err
batch_start(wr_store *s, uint64_t id, uint64_t upto, uint64_t *out_seq, wr_error *out_err)
{
    uint8_t lo[WR_KEY_BATCH_LEN], target[WR_KEY_BATCH_LEN];
    wr_key_batch(lo, id, 0);
    wr_key_batch(target, id, upto);
    db_iter it;
    wr_store__iter_open(&it, s, lo, sizeof(lo), NULL, 0);
    wr_store__iter_seek_for_prev(&it, target, sizeof(target));
    *out_seq = 0;
    if (wr_store__iter_valid(&it)) {
        size_t klen;
        const char *key = wr_store__iter_key(&it, &klen);
        uint64_t kid, kseq;
        if (wr_key_batch_decode((const uint8_t *)key, klen, &kid, &kseq) && kid == id)
            *out_seq = kseq;
    }
    return wr_store__iter_end(&it, WR_OK, out_err);
}

/* Range-deletes the timestamp-index keys of the batches below `keep`: every index key of the
 * stream before the first one of a batch at or after `keep`. */
static wr_err
reclaim_index(wr_store *s, rocksdb_writebatch_t *wb, uint64_t id, uint64_t keep, wr_error *out_err)
{
    uint8_t lo[WR_KEY_TS_LEN], first_kept[WR_KEY_TS_LEN], idhi[WR_KEY_ID_LEN];
    wr_key_ts_index(lo, id, 0, 0);
    wr_key_stream_id(idhi, WR_KEY_TS_INDEX, id + 1);
    const uint8_t *end = idhi;
    size_t endlen = sizeof(idhi);
    db_iter it;
    wr_store__iter_open(&it, s, NULL, 0, idhi, sizeof(idhi));
    for (wr_store__iter_seek(&it, lo, sizeof(lo)); wr_store__iter_valid(&it);
         wr_store__iter_next(&it)) {
        size_t klen;
        const char *key = wr_store__iter_key(&it, &klen);
        uint64_t kid, kts, kseq;
        if (wr_key_ts_index_decode((const uint8_t *)key, klen, &kid, &kts, &kseq) && kseq >= keep) {
            memcpy(first_kept, key, sizeof(first_kept));
            end = first_kept;
            endlen = sizeof(first_kept);
            break;
        }
    }
    /* On an error the scan may have stopped short of the first kept key: delete nothing. */
    wr_err e = wr_store__iter_end(&it, WR_OK, out_err);
    if (!e)
        rocksdb_writebatch_delete_range(wb, (char *)lo, sizeof(lo), (const char *)end, endlen);
    return e;
}

/*
 * Adds to wb the range deletes of every batch of stream `id` that lies wholly below the trim
 * point or has expired (arrived before the retention cutoff), with their timestamp-index keys;
 * *out_added says whether it added any. A tail that does not decode leaves the stream alone (it
 * is reported when the stream loads); a read error is returned and wb must not be written.
 */
static wr_err
reclaim(wr_store *s, rocksdb_writebatch_t *wb, uint64_t id, const wr_stream_config *cfg,
        uint64_t now, bool *out_added, wr_error *out_err)
{
    uint8_t k[WR_KEY_ID_LEN];
    char *v;
    size_t vlen;
    uint64_t tail_seq = 0, tail_ts = 0, trim = 0;
    *out_added = false;
    wr_key_stream_id(k, WR_KEY_STREAM_TAIL, id);
    wr_err e = wr_store__get(s, k, sizeof(k), &v, &vlen, out_err);
    if (e)
        return e;
    bool ok = v && wr_tail_value_decode((uint8_t *)v, vlen, &tail_seq, &tail_ts);
    rocksdb_free(v);
    if (!ok || tail_seq == 0)
        return WR_OK;
    wr_key_stream_id(k, WR_KEY_STREAM_TRIM, id);
    if ((e = wr_store__get_u64(s, k, sizeof(k), &trim, NULL, out_err)))
        return e;

    uint64_t cutoff = wr_store__retention_cutoff(cfg, now);
    uint64_t upto = trim, expired = 0; /* delete batches wholly below upto */
    if (cutoff && (e = expired_end(s, id, tail_seq, cutoff, &expired, out_err)))
        return e;
    if (expired > upto)
        upto = expired;
    if (upto == 0)
        return WR_OK;
    /* The first batch to keep starts at `keep` (a batch boundary), or nothing is kept. */
    uint64_t keep = tail_seq;
    if (upto < tail_seq && (e = batch_start(s, id, upto, &keep, out_err)))
        return e;
    uint8_t blo[WR_KEY_BATCH_LEN], bhi[WR_KEY_BATCH_LEN];
    wr_key_batch(blo, id, 0);
    wr_key_batch(bhi, id, keep);
    bool any = false;
    if (keep == 0 || (e = any_key(s, blo, sizeof(blo), bhi, sizeof(bhi), &any, out_err)) || !any)
        return e;
    if ((e = reclaim_index(s, wb, id, keep, out_err)))
        return e;
    rocksdb_writebatch_delete_range(wb, (char *)blo, sizeof(blo), (char *)bhi, sizeof(bhi));
    char *err = NULL;
    rocksdb_suggest_compact_range(s->db, (char *)blo, sizeof(blo), (char *)bhi, sizeof(bhi), &err);
    rocksdb_free(err);
    *out_added = true;
    return WR_OK;
}

/* Adds to wb everything of stream `id`; the meta key only if `meta_key` is given (the caller
 * checked that it still belongs to this id). A read error is returned; wb must not be written. */
static wr_err
delete_stream_keys(wr_store *s, rocksdb_writebatch_t *wb, uint64_t id, const wr_buf *meta_key,
                   wr_error *out_err)
{
    uint8_t lo[WR_KEY_ID_LEN], hi[WR_KEY_ID_LEN], k[WR_KEY_LC_ID_LEN];
    static const uint8_t per_id[] = {WR_KEY_STREAM_TAIL, WR_KEY_STREAM_FENCE, WR_KEY_STREAM_TRIM,
                                     WR_KEY_STREAM_ID};
    bool any;
    wr_key_stream_id(lo, WR_KEY_BATCH, id);
    wr_key_stream_id(hi, WR_KEY_BATCH, id + 1);
    wr_err e = any_key(s, lo, sizeof(lo), hi, sizeof(hi), &any, out_err);
    if (e)
        return e;
    if (any) {
        char *err = NULL;
        rocksdb_writebatch_delete_range(wb, (char *)lo, sizeof(lo), (char *)hi, sizeof(hi));
        rocksdb_suggest_compact_range(s->db, (char *)lo, sizeof(lo), (char *)hi, sizeof(hi), &err);
        rocksdb_free(err);
    }
    wr_key_stream_id(lo, WR_KEY_TS_INDEX, id);
    wr_key_stream_id(hi, WR_KEY_TS_INDEX, id + 1);
    if ((e = any_key(s, lo, sizeof(lo), hi, sizeof(hi), &any, out_err)))
        return e;
    if (any)
        rocksdb_writebatch_delete_range(wb, (char *)lo, sizeof(lo), (char *)hi, sizeof(hi));
    for (size_t i = 0; i < sizeof(per_id); i++) {
        wr_key_stream_id(lo, per_id[i], id);
        rocksdb_writebatch_delete(wb, (char *)lo, sizeof(lo));
    }
    wr_key_lc_id(k, WR_LC_DOE_DEADLINE, id);
    rocksdb_writebatch_delete(wb, (char *)k, sizeof(k));
    wr_key_lc_id(k, WR_LC_PIN, id);
    rocksdb_writebatch_delete(wb, (char *)k, sizeof(k));
    if (meta_key)
        rocksdb_writebatch_delete(wb, meta_key->data, meta_key->len);
    return WR_OK;
}

/* Adds the NEXT_ID high-water mark (ids are never reused, even after a full deletion). A mark
 * that cannot be read is an error: writing max_id + 1 over it could lower it. */
static wr_err
put_next_id(wr_store *s, rocksdb_writebatch_t *wb, uint64_t max_id, wr_error *out_err)
{
    uint8_t k[2] = {WR_KEY_LIFECYCLE, WR_LC_NEXT_ID}, v[8];
    uint64_t cur = 0;
    wr_err e = wr_store__get_u64(s, k, sizeof(k), &cur, NULL, out_err);
    if (e || max_id + 1 <= cur)
        return e;
    wr_put_be64(v, max_id + 1);
    rocksdb_writebatch_put(wb, (char *)k, sizeof(k), (char *)v, sizeof(v));
    return WR_OK;
}

static bool
in_basins(struct lifecycle *lc, const char *basin, size_t bl)
{
    for (size_t i = 0; i < lc->n_basins; i++)
        if (strlen(lc->basins[i]) == bl && memcmp(lc->basins[i], basin, bl) == 0)
            return true;
    return false;
}

/* Delete-on-empty, worker side: the persisted deadline has passed, nothing is retained and the
 * stream is not pinned. A read error is returned (and nothing is due). */
static wr_err
doe_due(wr_store *s, uint64_t id, const stream_meta *m, uint64_t now, bool *out_due,
        wr_error *out_err)
{
    uint8_t k[WR_KEY_LC_ID_LEN], kt[WR_KEY_ID_LEN];
    uint64_t deadline = m->created_at + m->cfg.doe_min_age_secs * 1000, pins;
    *out_due = false;
    wr_key_lc_id(k, WR_LC_DOE_DEADLINE, id);
    wr_err e = wr_store__get_u64(s, k, sizeof(k), &deadline, NULL, out_err);
    if (e || deadline > now || (e = wr_store__pin_count(s, id, &pins, out_err)) || pins > 0)
        return e;
    uint64_t tail_seq = 0, tail_ts = 0, trim = 0;
    char *v;
    size_t vlen;
    wr_key_stream_id(kt, WR_KEY_STREAM_TAIL, id);
    if ((e = wr_store__get(s, kt, sizeof(kt), &v, &vlen, out_err)))
        return e;
    if (v)
        wr_tail_value_decode((uint8_t *)v, vlen, &tail_seq, &tail_ts);
    rocksdb_free(v);
    wr_key_stream_id(kt, WR_KEY_STREAM_TRIM, id);
    if ((e = wr_store__get_u64(s, kt, sizeof(kt), &trim, NULL, out_err)))
        return e;
    if (tail_seq == 0 || trim >= tail_seq) {
        *out_due = true;
        return WR_OK;
    }
    /* Expired when its last batch arrived before the cutoff (or every batch is reclaimed). */
    uint64_t cutoff = wr_store__retention_cutoff(&m->cfg, now), arrival = 0;
    if (!cutoff || (e = wr_store__last_arrival(s, id, &arrival, out_err)))
        return e;
    *out_due = arrival < cutoff;
    return WR_OK;
}

/* The scan's work on one live stream: reclamation into wb, and the delete-on-empty check. */
static wr_err
scan_stream(wr_store *s, struct lifecycle *lc, rocksdb_writebatch_t *wb, const item *x,
            const stream_meta *m, wr_error *out_err)
{
    bool added, due = false;
    wr_err e = reclaim(s, wb, x->id, &m->cfg, lc->now_ms, &added, out_err);
    if (e)
        return e;
    lc->reclaimed_ranges += added;
    if (m->cfg.doe_min_age_secs && (e = doe_due(s, x->id, m, lc->now_ms, &due, out_err)))
        return e;
    if (due)
        vec_push(&lc->does, x->id, x->basin, strlen(x->basin), x->stream, strlen(x->stream));
    return WR_OK;
}

/* SCAN: every stream of family 09. An error stops it, and then nothing is written (a partial
 * reclamation batch is fine to write, but the pass ends anyway: see after_work). */
static void
work_scan(wr_store *s, struct lifecycle *lc)
{
    uint8_t lo = WR_KEY_STREAM_ID, hi = WR_KEY_STREAM_ID + 1;
    db_iter it;
    wr_store__iter_open(&it, s, NULL, 0, &hi, 1);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    item x = {0};
    wr_err e = WR_OK;
    for (wr_store__iter_seek(&it, &lo, 1); wr_store__iter_valid(&it); wr_store__iter_next(&it)) {
        size_t klen, vlen, bl, sl;
        const char *k = wr_store__iter_key(&it, &klen);
        const char *v = wr_store__iter_value(&it, &vlen);
        const char *basin, *stream;
        if (!wr_key_stream_id_decode((const uint8_t *)k, klen, WR_KEY_STREAM_ID, &x.id) ||
            !wr_key_stream_meta_decode((const uint8_t *)v, vlen, false, &basin, &bl, &stream, &sl))
            continue;
        if (in_basins(lc, basin, bl))
            continue; /* the basin's pages remove it */
        x.basin = wr_xstrndup(basin, bl);
        x.stream = wr_xstrndup(stream, sl);
        stream_meta m;
        e = wr_store__stream_meta_get(s, x.basin, x.stream, &m, &lc->job_error);
        if (e == WR_ERR_STREAM_NOT_FOUND || (e == WR_OK && (m.deleted || m.id != x.id))) {
            e = WR_OK;
            vec_push(&lc->dels, x.id, basin, bl, stream, sl); /* deleted, or an orphaned id */
        } else if (e == WR_OK) {
            e = scan_stream(s, lc, wb, &x, &m, &lc->job_error);
        }
        free(x.basin);
        free(x.stream);
        if (e)
            break;
    }
    e = wr_store__iter_end(&it, e, &lc->job_error);
    /* Reclamation need not be durable: a lost write is redone by the next pass. */
    if (!e)
        e = wr_store__write(s, wb, DB_WRITE_UNSYNCED, &lc->job_error);
    lc->job_err = e;
    rocksdb_writebatch_destroy(wb);
}

/* DELETE: the job's streams in one synced write. Any read error leaves everything as it was. */
static void
work_delete(wr_store *s, struct lifecycle *lc)
{
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    uint64_t max_id = 0;
    wr_buf mk = {0};
    wr_err e = WR_OK;
    for (size_t i = 0; i < lc->job.n && !e; i++) {
        item *it = &lc->job.v[i];
        stream_meta m;
        e = wr_store__stream_meta_get(s, it->basin, it->stream, &m, &lc->job_error);
        if (e && e != WR_ERR_STREAM_NOT_FOUND)
            break;
        bool own = e == WR_OK && m.id == it->id; /* else the name is an orphaned id's */
        wr_key_stream_meta(&mk, it->basin, strlen(it->basin), it->stream, strlen(it->stream));
        e = delete_stream_keys(s, wb, it->id, own ? &mk : NULL, &lc->job_error);
        it->removed = own;
        if (it->id > max_id)
            max_id = it->id;
    }
    if (!e)
        e = put_next_id(s, wb, max_id, &lc->job_error);
    if (!e)
        e = wr_store__write(s, wb, DB_WRITE_META, &lc->job_error);
    lc->job_err = e;
    rocksdb_writebatch_destroy(wb);
    wr_buf_fini(&mk);
}

/* The streams of one page of `basin`, after `cursor` (NULL = from the start), into wb and
 * lc->job; *out_last is the name of the last one. */
static wr_err
page_streams(wr_store *s, struct lifecycle *lc, rocksdb_writebatch_t *wb, const char *cursor,
             size_t clen, size_t *out_n, uint64_t *out_max_id, wr_buf *out_last, wr_error *out_err)
{
    const char *basin = lc->page_basin;
    size_t bl = strlen(basin);
    wr_buf prefix = {0}, from = {0}, hi = {0}, mk = {0};
    wr_key_stream_meta_prefix(&prefix, basin, bl);
    wr_buf_append(&from, prefix.data, prefix.len);
    if (cursor)
        wr_buf_append(&from, cursor, clen);
    wr_buf_append(&hi, prefix.data, prefix.len);
    hi.data[hi.len - 1] = 1; /* 02 ‖ basin ‖ 01: just past every stream of the basin */
    db_iter it;
    wr_store__iter_open(&it, s, NULL, 0, hi.data, hi.len);
    wr_err e = WR_OK;
    for (wr_store__iter_seek(&it, from.data, from.len); wr_store__iter_valid(&it);
         wr_store__iter_next(&it)) {
        size_t klen, vlen;
        const char *k = wr_store__iter_key(&it, &klen);
        if (cursor && klen == from.len && memcmp(k, from.data, klen) == 0)
            continue;
        if (*out_n == PAGE_STREAMS)
            break;
        const char *v = wr_store__iter_value(&it, &vlen);
        json_t *j = json_loadb(v, vlen, 0, NULL);
        uint64_t id = (uint64_t)json_integer_value(json_object_get(j, "id"));
        json_decref(j);
        const char *sname = k + prefix.len;
        size_t sl = klen - prefix.len;
        wr_buf_reset(&mk);
        wr_buf_append(&mk, k, klen);
        if (id) {
            if ((e = delete_stream_keys(s, wb, id, &mk, out_err)))
                break;
            vec_push(&lc->job, id, basin, bl, sname, sl);
            if (id > *out_max_id)
                *out_max_id = id;
        } else {
            rocksdb_writebatch_delete(wb, k, klen); /* unreadable meta: drop it */
        }
        wr_buf_reset(out_last);
        wr_buf_append(out_last, sname, sl);
        (*out_n)++;
    }
    e = wr_store__iter_end(&it, e, out_err);
    wr_buf_fini(&prefix);
    wr_buf_fini(&from);
    wr_buf_fini(&hi);
    wr_buf_fini(&mk);
    return e;
}

/* PAGE: up to PAGE_STREAMS streams of a deleting basin after the saved cursor, and the cursor,
 * in one synced write; the last page (fewer streams) removes the basin meta and the cursor. A
 * page is only known to be the last when its scan reached the end of the basin: after a read
 * error nothing is written. */
static void
work_page(wr_store *s, struct lifecycle *lc)
{
    const char *basin = lc->page_basin;
    size_t bl = strlen(basin);
    wr_buf ck = {0}, last = {0};
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    char *cursor = NULL;
    size_t clen = 0, n = 0;
    uint64_t max_id = 0;
    lc->page_done = false;
    wr_key_basin_deletion(&ck, basin, bl);
    wr_err e = wr_store__get(s, ck.data, ck.len, &cursor, &clen, &lc->job_error);
    if (!e)
        e = page_streams(s, lc, wb, cursor, clen, &n, &max_id, &last, &lc->job_error);
    if (!e && n < PAGE_STREAMS) {
        wr_buf bk = {0};
        wr_key_basin_meta(&bk, basin, bl);
        rocksdb_writebatch_delete(wb, bk.data, bk.len);
        rocksdb_writebatch_delete(wb, ck.data, ck.len);
        wr_buf_fini(&bk);
    } else if (!e) {
        rocksdb_writebatch_put(wb, ck.data, ck.len, last.data, last.len);
    }
    if (!e)
        e = put_next_id(s, wb, max_id, &lc->job_error);
    if (!e)
        e = wr_store__write(s, wb, DB_WRITE_META, &lc->job_error);
    lc->job_err = e;
    lc->page_done = !e && n < PAGE_STREAMS;
    rocksdb_writebatch_destroy(wb);
    rocksdb_free(cursor);
    wr_buf_fini(&ck);
    wr_buf_fini(&last);
}

static void
work_compact(wr_store *s)
{
    char *err = NULL;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    rocksdb_flush(s->db, fo, &err);
    rocksdb_flushoptions_destroy(fo);
    rocksdb_free(err);
    rocksdb_compact_range(s->db, NULL, 0, NULL, 0);
}

static void
work_main(uv_work_t *w)
{
    wr_store *s = w->data;
    struct lifecycle *lc = s->lc;
    switch (lc->kind) {
    case JOB_SCAN:
        work_scan(s, lc);
        break;
    case JOB_DELETE:
        work_delete(s, lc);
        break;
    case JOB_PAGE:
        work_page(s, lc);
        break;
    case JOB_COMPACT:
        work_compact(s);
        break;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Loop side: the pass                                                                        */

static void advance(wr_store *s);
static void after_work(uv_work_t *w, int status);

static void
queue_job(wr_store *s, job_kind kind)
{
    struct lifecycle *lc = s->lc;
    lc->kind = kind;
    lc->job_err = WR_OK;
    lc->work_busy = true;
    if (kind == JOB_DELETE || kind == JOB_PAGE)
        wr_store__quota_job_begin(s); /* it removes stream metas (quota.c) */
    lc->work.data = s;
    uv_queue_work(s->loop, &lc->work, work_main, after_work);
}

static uint64_t
jitter(struct lifecycle *lc, uint64_t ms)
{
    lc->rng ^= lc->rng << 13;
    lc->rng ^= lc->rng >> 7;
    lc->rng ^= lc->rng << 17;
    return ms - ms / 10 + lc->rng % (ms / 5 + 1);
}

static void on_timer(uv_timer_t *t);

static void
schedule(wr_store *s, uint64_t ms)
{
    uv_timer_start(s->lc->timer, on_timer, ms, 0);
}

/* True when a cached stream of `basin` (all of them when NULL) still has appends with the
 * commit thread; optionally only the stream with this id. */
static bool
busy_streams(wr_store *s, const char *basin, const char *stream)
{
    if (stream) {
        stream_state *st = wr_store__stream_cached(s, basin, stream);
        return st && st->next_seq != st->d_seq;
    }
    for (size_t i = 0; i < s->n_buckets; i++)
        for (stream_state *st = s->buckets[i]; st; st = st->hnext)
            if (strcmp(st->basin, basin) == 0 && st->next_seq != st->d_seq)
                return true;
    return false;
}

static void
sweep_retired(wr_store *s, bool all)
{
    struct lifecycle *lc = s->lc;
    size_t k = 0;
    for (size_t i = 0; i < lc->n_retired; i++) {
        stream_state *st = lc->retired[i];
        if (all || (!st->subs && !st->q_head && !st->flush_queued && !st->delivering)) {
            free(st->basin);
            free(st->name);
            free(st);
        } else {
            lc->retired[k++] = st;
        }
    }
    lc->n_retired = k;
}

void
wr_store__lc_retire(wr_store *s, stream_state *st)
{
    struct lifecycle *lc = s->lc;
    lc->retired = wr_xrealloc(lc->retired, (lc->n_retired + 1) * sizeof(*lc->retired));
    lc->retired[lc->n_retired++] = st;
    sweep_retired(s, false);
}

/* The job's streams are gone from disk: forget their cached state. */
static void
uncache_items(wr_store *s, const item_vec *v)
{
    for (size_t i = 0; i < v->n; i++) {
        stream_state *st = wr_store__stream_cached(s, v->v[i].basin, v->v[i].stream);
        if (st && st->id == v->v[i].id)
            wr_store__stream_uncache(s, st);
    }
}

static void
pass_done(wr_store *s)
{
    struct lifecycle *lc = s->lc;
    lc->running = false;
    lc->passes_done = lc->pass_id;
    lc->counters.maint_passes++;
    vec_clear(&lc->dels);
    vec_clear(&lc->does);
    for (size_t i = 0; i < lc->n_basins; i++)
        free(lc->basins[i]);
    free(lc->basins);
    lc->basins = NULL;
    lc->n_basins = 0;
    sweep_retired(s, false);
    waiter **pp = &lc->waiters;
    while (*pp) {
        waiter *w = *pp;
        if (w->need <= lc->passes_done) {
            *pp = w->next;
            w->cb(w->ud);
            free(w);
        } else {
            pp = &w->next;
        }
    }
    if (s->closing)
        return;
    if (lc->kicked || lc->waiters)
        schedule(s, 0);
    else if (lc->retry)
        schedule(s, RETRY_MS);
    else
        schedule(s, jitter(lc, s->opts.maint_interval_ms));
}

static void job_tail(wr_store *s);

/* A delete-on-empty mark is durable (or failed: the store refuses writes, the pass ends). */
static void
doe_marked(wr_store *s, void *arg, wr_err err)
{
    struct lifecycle *lc = s->lc;
    const item *it = arg; /* in lc->does, which stays as it is until the pass ends */
    if (err == WR_OK) {
        wr_log_info("stream deleted on empty", " basin=%s stream=%s", it->basin, it->stream);
        lc->counters.doe_deleted++;
        vec_push(&lc->dels, it->id, it->basin, strlen(it->basin), it->stream, strlen(it->stream));
    }
    if (--lc->marking)
        return;
    if (s->closing) /* inside wr_store_close, which finishes the close itself */
        pass_done(s);
    else
        job_tail(s);
}

/* Delete-on-empty, loop side: re-checks candidate i against the live state and marks it through
 * the commit thread (the pass goes on once every mark is written). Any error (a read error has
 * failed the store) keeps the stream; a change of it in flight postpones it. */
static void
doe_apply(wr_store *s, size_t i)
{
    struct lifecycle *lc = s->lc;
    const item *it = &lc->does.v[i];
    stream_state *st;
    wr_error err;
    uint64_t pins;
    if (wr_store__stream(s, it->basin, it->stream, false, false, &st, &err) || st->id != it->id ||
        st->deleted || st->cfg.doe_min_age_secs == 0)
        return;
    if (wr_store__changing(s, it->basin, it->stream)) { /* e.g. a pin on its way */
        lc->retry = true;
        return;
    }
    if (*hold_find(lc, it->basin, it->stream) || wr_store__pin_count(s, st->id, &pins, &err) ||
        pins > 0)
        return;
    uint64_t now = wr_clock_now_ms();
    uint8_t k[WR_KEY_LC_ID_LEN];
    uint64_t deadline = st->created_at + st->cfg.doe_min_age_secs * 1000;
    wr_key_lc_id(k, WR_LC_DOE_DEADLINE, st->id);
    if (wr_store__get_u64(s, k, sizeof(k), &deadline, NULL, &err))
        return;
    uint64_t cutoff = wr_store__retention_cutoff(&st->cfg, now);
    bool empty = st->d_seq == 0 || st->d_trim >= st->d_seq || (cutoff && st->d_arrival < cutoff);
    if (deadline > now || !empty || st->next_seq != st->d_seq)
        return;
    stream_meta m;
    if (wr_store__stream_meta_get(s, it->basin, it->stream, &m, &err) || m.id != it->id)
        return;
    lc->marking++;
    wr_store__stream_mark_deleted_async(s, it->basin, it->stream, &m, doe_marked, &lc->does.v[i]);
}

static void
advance(wr_store *s)
{
    struct lifecycle *lc = s->lc;
    if (s->closing) {
        pass_done(s);
        return;
    }
    /* Deleted streams, DELETE_BATCH at a time, skipping those with appends in flight. */
    vec_clear(&lc->job);
    while (lc->del_pos < lc->dels.n && lc->job.n < DELETE_BATCH) {
        item *it = &lc->dels.v[lc->del_pos++];
        if (busy_streams(s, it->basin, it->stream)) {
            lc->retry = true;
            continue;
        }
        vec_push(&lc->job, it->id, it->basin, strlen(it->basin), it->stream, strlen(it->stream));
    }
    if (lc->job.n) {
        queue_job(s, JOB_DELETE);
        return;
    }
    /* Deleting basins, one page per job. */
    while (lc->basin_idx < lc->n_basins) {
        const char *b = lc->basins[lc->basin_idx];
        if (busy_streams(s, b, NULL)) {
            lc->retry = true;
            lc->basin_idx++;
            continue;
        }
        free(lc->page_basin);
        lc->page_basin = wr_xstrdup(b);
        queue_job(s, JOB_PAGE);
        return;
    }
    if (lc->compact) {
        lc->compact = false;
        queue_job(s, JOB_COMPACT);
        return;
    }
    pass_done(s);
}

static void
remove_deleting(struct lifecycle *lc, const char *basin)
{
    for (size_t i = 0; i < lc->n_deleting; i++) {
        if (strcmp(lc->deleting[i], basin) == 0) {
            free(lc->deleting[i]);
            lc->deleting[i] = lc->deleting[--lc->n_deleting];
            return;
        }
    }
}

static void
after_work(uv_work_t *w, int status)
{
    (void)status;
    wr_store *s = w->data;
    struct lifecycle *lc = s->lc;
    lc->work_busy = false;
    if (lc->job_err) {
        wr_log_error("maintenance failed", " error=\"%s\"", lc->job_error.msg);
        lc->retry = true;
    }
    switch (lc->kind) {
    case JOB_SCAN:
        /* Candidates of a scan that stopped on an error wait for a complete one. */
        lc->marking = 1; /* the loop's own, so no mark written meanwhile ends the wait */
        for (size_t i = 0; i < lc->does.n && !s->closing && !lc->job_err; i++)
            doe_apply(s, i);
        if (--lc->marking) {
            vec_clear(&lc->job);
            return; /* doe_marked goes on */
        }
        break;
    case JOB_DELETE:
        if (!lc->job_err) {
            uncache_items(s, &lc->job);
            lc->counters.streams_deleted += lc->job.n;
            for (size_t i = 0; i < lc->job.n; i++)
                if (lc->job.v[i].removed)
                    wr_store__quota_removed(s, lc->job.v[i].basin, lc->job.v[i].stream);
        }
        wr_store__quota_job_end(s);
        break;
    case JOB_PAGE:
        wr_store__quota_job_end(s);
        if (lc->job_err) {
            lc->basin_idx++;
            break;
        }
        uncache_items(s, &lc->job);
        lc->counters.streams_deleted += lc->job.n;
        lc->counters.basin_pages++;
        if (lc->page_done) {
            wr_store__quota_basin_gone(s, lc->page_basin);
            remove_deleting(lc, lc->page_basin);
            lc->counters.basins_deleted++;
            lc->basin_idx++;
        }
        break;
    case JOB_COMPACT:
        break;
    }
    job_tail(s);
}

/* After a job (and the marks a scan led to): the next step of the pass. */
static void
job_tail(wr_store *s)
{
    vec_clear(&s->lc->job);
    if (s->closing) {
        pass_done(s);
        wr_store__maybe_finish_close(s);
        return;
    }
    if (atomic_load(&s->failed)) { /* nothing more can be written: end the pass */
        pass_done(s);
        return;
    }
    advance(s);
}

static void
start_pass(wr_store *s)
{
    struct lifecycle *lc = s->lc;
    if (lc->running || s->closing)
        return;
    lc->running = true;
    lc->kicked = lc->retry = false;
    lc->pass_id = ++lc->passes_started;
    lc->compact = lc->compact_next;
    lc->compact_next = false;
    lc->now_ms = wr_clock_now_ms();
    lc->del_pos = 0;
    lc->basin_idx = 0;
    lc->n_basins = lc->n_deleting;
    lc->basins = wr_xcalloc(lc->n_basins + 1, sizeof(char *));
    for (size_t i = 0; i < lc->n_basins; i++)
        lc->basins[i] = wr_xstrdup(lc->deleting[i]);
    if (atomic_load(&s->failed)) { /* a failed store could write none of it: an empty pass */
        pass_done(s);
        return;
    }
    queue_job(s, JOB_SCAN);
}

static void
on_timer(uv_timer_t *t)
{
    start_pass(t->data);
}

void
wr_store__lc_kick(wr_store *s)
{
    struct lifecycle *lc = s->lc;
    if (s->closing)
        return;
    if (lc->running)
        lc->kicked = true;
    else
        schedule(s, 0);
}

bool
wr_store__lc_busy(const wr_store *s)
{
    return s->lc && s->lc->work_busy;
}

void
wr_store__lc_basin_deleted(wr_store *s, const char *basin)
{
    struct lifecycle *lc = s->lc;
    if (!wr_store__basin_deleting(s, basin)) {
        lc->deleting = wr_xrealloc(lc->deleting, (lc->n_deleting + 1) * sizeof(char *));
        lc->deleting[lc->n_deleting++] = wr_xstrdup(basin);
    }
    uint64_t now = wr_clock_now_ms();
    for (size_t i = 0; i < s->n_buckets; i++) {
        for (stream_state *st = s->buckets[i]; st; st = st->hnext) {
            if (st->deleted || strcmp(st->basin, basin) != 0)
                continue;
            st->deleted = true;
            st->deleted_at = now;
            wr_store__close_subs(s, st, WR_ERR_STREAM_DELETION_PENDING);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Open / close                                                                               */

static void
timer_closed(uv_handle_t *h)
{
    free(h);
}

wr_err
wr_store__lc_open(wr_store *s, wr_error *out_err)
{
    struct lifecycle *lc = wr_xcalloc(1, sizeof(*lc));
    s->lc = lc;
    lc->rng = wr_clock_mono_ns() | 1;
    /* Basins whose deletion a crash interrupted. */
    uint8_t lo[2] = {WR_KEY_LIFECYCLE, WR_LC_BASIN_DELETION};
    uint8_t hi[2] = {WR_KEY_LIFECYCLE, WR_LC_BASIN_DELETION + 1};
    db_iter it;
    wr_store__iter_open(&it, s, NULL, 0, hi, sizeof(hi));
    for (wr_store__iter_seek(&it, (char *)lo, sizeof(lo)); wr_store__iter_valid(&it);
         wr_store__iter_next(&it)) {
        size_t klen;
        const char *k = wr_store__iter_key(&it, &klen);
        if (klen <= 2 || klen - 2 > WR_BASIN_NAME_MAX)
            continue;
        char name[WR_BASIN_NAME_MAX + 1];
        memcpy(name, k + 2, klen - 2);
        name[klen - 2] = 0;
        lc->deleting = wr_xrealloc(lc->deleting, (lc->n_deleting + 1) * sizeof(char *));
        lc->deleting[lc->n_deleting++] = wr_xstrdup(name);
    }
    wr_err e = wr_store__iter_end(&it, WR_OK, out_err);
    if (e)
        return e;
    /* The id high-water mark: an open that cannot read it fails, or ids could be reused. */
    uint8_t kn[2] = {WR_KEY_LIFECYCLE, WR_LC_NEXT_ID};
    uint64_t next = 0;
    if ((e = wr_store__get_u64(s, kn, sizeof(kn), &next, NULL, out_err)))
        return e;
    if (next > s->next_stream_id)
        s->next_stream_id = next;
    lc->timer = wr_xmalloc(sizeof(*lc->timer));
    uv_timer_init(s->loop, lc->timer);
    lc->timer->data = s;
    uv_unref((uv_handle_t *)lc->timer);
    /* The first pass, which finishes what a crash left, is a regular tick away, so deletions
     * made in the first seconds of a run stay observable like any other. */
    schedule(s, s->opts.maint_interval_ms);
    return WR_OK;
}

void
wr_store__lc_close(wr_store *s)
{
    struct lifecycle *lc = s->lc;
    if (lc->timer) {
        uv_timer_stop(lc->timer);
        uv_close((uv_handle_t *)lc->timer, timer_closed);
        lc->timer = NULL;
    }
    /* Followers of streams already uncached: detach them like the cached ones. */
    for (size_t i = 0; i < lc->n_retired; i++) {
        stream_state *st = lc->retired[i];
        for (wr_follow *f = st->subs, *next; f; f = next) {
            next = f->next;
            f->store = NULL;
            f->prev = f->next = NULL;
        }
        st->subs = NULL;
    }
    while (lc->waiters) {
        waiter *w = lc->waiters;
        lc->waiters = w->next;
        w->cb(w->ud);
        free(w);
    }
}

void
wr_store__lc_free(wr_store *s)
{
    struct lifecycle *lc = s->lc;
    if (!lc)
        return;
    if (lc->timer) { /* open failed after the timer was set up: not reachable today */
        uv_close((uv_handle_t *)lc->timer, timer_closed);
    }
    for (size_t i = 0; i < HOLD_BUCKETS; i++) {
        for (hold *h = lc->holds[i], *next; h; h = next) {
            next = h->next;
            free(h->basin);
            free(h->stream);
            free(h);
        }
    }
    for (size_t i = 0; i < lc->n_deleting; i++)
        free(lc->deleting[i]);
    free(lc->deleting);
    for (size_t i = 0; i < lc->n_basins; i++)
        free(lc->basins[i]);
    free(lc->basins);
    sweep_retired(s, true);
    free(lc->retired);
    vec_fini(&lc->dels);
    vec_fini(&lc->does);
    vec_fini(&lc->job);
    free(lc->page_basin);
    free(lc);
    s->lc = NULL;
}

void
wr_store__lc_stats(const wr_store *s, wr_store_stats *out)
{
    const wr_store_stats *c = &s->lc->counters;
    out->maint_passes = c->maint_passes;
    out->streams_deleted = c->streams_deleted;
    out->doe_deleted = c->doe_deleted;
    out->basin_pages = c->basin_pages;
    out->basins_deleted = c->basins_deleted;
    /* Prometheus: basins being deleted, and streams the last scan found deleted (its list is
     * the worker's while a job runs). */
    out->pending_deletions = s->lc->n_deleting + (s->lc->work_busy ? 0 : s->lc->dels.n);
}

/* ---------------------------------------------------------------------------------------- */
/* Public API: holds, pins, forced maintenance                                               */

/* Moves a delete-on-empty stream's deadline to now + min_age (the last hold or pin is gone). */
static void
bump_deadline(wr_store *s, stream_state *st, rocksdb_writebatch_t *wb)
{
    if (st->deleted || st->cfg.doe_min_age_secs == 0)
        return;
    uint8_t k[WR_KEY_LC_ID_LEN], v[8];
    wr_key_lc_id(k, WR_LC_DOE_DEADLINE, st->id);
    wr_put_be64(v, wr_clock_now_ms() + st->cfg.doe_min_age_secs * 1000);
    rocksdb_writebatch_put(wb, (char *)k, sizeof(k), (char *)v, sizeof(v));
    (void)s;
}

void
wr_store_hold(wr_store *s, const char *basin, const char *stream)
{
    hold **pp = hold_find(s->lc, basin, stream);
    if (!*pp) {
        hold *h = wr_xcalloc(1, sizeof(*h));
        h->basin = wr_xstrdup(basin);
        h->stream = wr_xstrdup(stream);
        *pp = h;
    }
    (*pp)->n++;
}

void
wr_store_release(wr_store *s, const char *basin, const char *stream)
{
    hold **pp = hold_find(s->lc, basin, stream);
    hold *h = *pp;
    if (!h || --h->n > 0)
        return;
    *pp = h->next;
    free(h->basin);
    free(h->stream);
    free(h);
    if (s->closing)
        return;
    stream_state *st;
    wr_error err;
    if (wr_store__stream(s, basin, stream, false, false, &st, &err))
        return;
    /* Not synced: a crash ends every session anyway, and the append or creation that set the
     * persisted deadline already gave the stream its min_age. */
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    bump_deadline(s, st, wb);
    /* A failed write has put the store in the failed state (no maintenance deletes on the old
     * deadline from now on); the hold is gone either way. */
    if (wr_store__write(s, wb, DB_WRITE_UNSYNCED, &err) != WR_OK)
        wr_log_warn("delete-on-empty deadline not moved at release",
                    " basin=%s stream=%s error=\"%s\"", basin, stream, err.msg);
    rocksdb_writebatch_destroy(wb);
}

uint64_t
wr_store_hold_count(wr_store *s, const char *basin, const char *stream)
{
    hold *h = *hold_find(s->lc, basin, stream);
    return h ? h->n : 0;
}

wr_err
wr_store__pin_batch(wr_store *s, stream_state *st, uint64_t n, int delta, rocksdb_writebatch_t *wb,
                    wr_error *out_err)
{
    if (st->deleted)
        return wr_error_set(out_err, WR_ERR_STREAM_DELETION_PENDING, "stream is being deleted");
    if (delta < 0 && n == 0)
        return wr_error_set(out_err, WR_ERR_INVALID, "stream is not pinned");
    n = delta < 0 ? n - 1 : n + 1;
    uint8_t k[WR_KEY_LC_ID_LEN], v[8];
    wr_key_lc_id(k, WR_LC_PIN, st->id);
    if (n) {
        wr_put_be64(v, n);
        rocksdb_writebatch_put(wb, (char *)k, sizeof(k), (char *)v, sizeof(v));
    } else {
        rocksdb_writebatch_delete(wb, (char *)k, sizeof(k));
        bump_deadline(s, st, wb);
    }
    return WR_OK;
}

static wr_err
pin_change(wr_store *s, const char *basin, const char *stream, int delta, wr_error *out_err)
{
    stream_state *st;
    wr_err e = wr_store__stream(s, basin, stream, false, false, &st, out_err);
    if (e)
        return e;
    if (wr_store__changing(s, basin, stream)) /* a change of it is on its way to the disk */
        return wr_error_set(out_err, WR_ERR_TRANSACTION_CONFLICT,
                            "the stream is being changed; retry");
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    uint64_t n;
    if (!(e = wr_store__pin_count(s, st->id, &n, out_err)) &&
        !(e = wr_store__pin_batch(s, st, n, delta, wb, out_err)))
        e = wr_store__write(s, wb, DB_WRITE_META, out_err);
    rocksdb_writebatch_destroy(wb);
    return e;
}

wr_err
wr_store_pin(wr_store *s, const char *basin, const char *stream, wr_error *out_err)
{
    return pin_change(s, basin, stream, 1, out_err);
}

wr_err
wr_store_unpin(wr_store *s, const char *basin, const char *stream, wr_error *out_err)
{
    return pin_change(s, basin, stream, -1, out_err);
}

wr_err
wr_store_pin_count(wr_store *s, const char *basin, const char *stream, uint64_t *out_n,
                   wr_error *out_err)
{
    stream_state *st;
    wr_err e = wr_store__stream(s, basin, stream, false, false, &st, out_err);
    if (e)
        return e;
    return wr_store__pin_count(s, st->id, out_n, out_err);
}

void
wr_store_maintain_now(wr_store *s, bool compact, void (*cb)(void *ud), void *ud)
{
    struct lifecycle *lc = s->lc;
    waiter *w = wr_xcalloc(1, sizeof(*w));
    w->need = lc->passes_started + 1;
    w->cb = cb;
    w->ud = ud;
    w->next = lc->waiters;
    lc->waiters = w;
    if (compact)
        lc->compact_next = true;
    wr_store__lc_kick(s);
}
