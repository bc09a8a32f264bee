/*
 * store.c — store lifecycle (open, recovery check, close), the commit thread, the loop-side
 * pump that receives completions and runs deferred work, the stream cache, and name checks.
 *
 * Stream cache: a hash table of stream_state plus an LRU list, bounded by
 * opts.stream_cache_entries. A lookup that hits moves the stream to the front; a load that
 * pushes the cache over its cap drops idle streams from the back (the rules are in store_int.h).
 *
 * Commit thread: waits for appends on the commit queue, takes everything queued, writes it as
 * one RocksDB WriteBatch with sync=true (group commit: appends that arrive during a sync ride
 * the next one), moves the ops to the done list and wakes the loop with uv_async_send. Once the
 * store has failed it writes nothing and fails every op it receives. A group's WriteBatch holds
 * its keys grouped by family, one BATCH value and TS_INDEX entry per storage run (a stream's
 * appends of one hand-off, append.c join_run; run_value) and each stream's TAIL (FENCE, TRIM,
 * DOE_DEADLINE) once, with the value of its last op in the group (build_group says why). After
 * a group it waits briefly for the loop to deliver the acks and for the next group to grow to
 * the last one's size (COMMIT_HANDOFF_US, COMMIT_GATHER_US).
 *
 * Hand-off: the loop does not wake the commit thread per append. Sequenced appends collect on
 * a loop-only list and a uv_prepare handle moves the whole list to the commit queue once per
 * loop iteration, right before the loop polls (so nothing waits there while the loop sleeps),
 * signalling the commit thread only when it is idle; a list that reaches HANDOFF_NOW_BYTES
 * goes at once (big batches are worth a wake-up each). All the appends read from the sockets in
 * one iteration thus become one commit-queue push and at most one wake-up, and the commit thread
 * never preempts the loop halfway through a burst of requests to commit the first of them alone
 * (on a shared core that wake-up per append was the largest cost after the syscalls).
 *
 * Loop pump (on_async): hands the done list to append.c, then runs the deferred callbacks that
 * were queued before it started (new deferrals wake the loop again, so nothing starves).
 *
 * Commits on the loop (opts.commit_mode LOOP, or AUTO on one CPU): while the commit thread is
 * quiet (thread_quiet: nothing being written, queued for it or left undelivered), the same
 * prepare handle writes a hand-off list under 64 KiB itself as one group and delivers the acks at
 * once (commit_on_loop), unless the group is still gathering: it then waits, without blocking the
 * loop, for as many appends as its last group had, until COMMIT_GATHER_US after that group
 * (gather_timer wakes the poll; libuv timers count whole milliseconds, so about 1 ms). Bigger
 * lists, metadata changes and anything arriving while the thread is busy take the thread's path,
 * so a loop group never overtakes a thread group, and big pipelined inputs keep their sync
 * overlapping the parsing of the next ones. On one core a thread round cost 7 sleeps and wake-ups
 * of that thread and 4 preemptions of the loop per group; committing in place gave 64 appending
 * connections 2-7 % more acks/s for 5-7 % less CPU per ack (docs/benchmarks.md). The price is that
 * nothing else runs on the loop while such a group syncs; with two or more CPUs the loop never
 * commits, so reads and other connections are served meanwhile.
 */
#include "store/store_int.h"

#include <assert.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/crc32c.h"
#include "store/keys.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/mem.h"

/* ---------------------------------------------------------------------------------------- */
/* Names                                                                                      */

bool
wr_basin_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 8 || n > WR_BASIN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i < n - 1))
            return false;
    }
    return true;
}

bool
wr_store__utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

bool
wr_stream_name_valid(const char *name, size_t len)
{
    if (!name || len == 0 || len > WR_STREAM_NAME_MAX)
        return false;
    if (memchr(name, 0, len))
        return false;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    return wr_store__utf8_valid((const uint8_t *)name, len);
}

/* ---------------------------------------------------------------------------------------- */
/* Stream cache                                                                               */

uint64_t
wr_store__name_hash(const char *basin, const char *stream)
{
    uint64_t h = wr_hash_fnv1a(WR_FNV1A_SEED, basin, strlen(basin));
    h = wr_hash_fnv1a(h, "\xff", 1); /* never in a name: "ab"/"c" and "a"/"bc" differ */
    return wr_hash_fnv1a(h, stream, strlen(stream));
}

stream_state *
wr_store__stream_cached(wr_store *s, const char *basin, const char *stream)
{
    uint64_t h = wr_store__name_hash(basin, stream);
    for (stream_state *st = s->buckets[h % s->n_buckets]; st; st = st->hnext)
        if (st->hash == h && strcmp(st->basin, basin) == 0 && strcmp(st->name, stream) == 0)
            return st;
    return NULL;
}

/* The LRU list: lru_head is the most recently used stream. */
static void
lru_unlink(wr_store *s, stream_state *st)
{
    if (st->lru_prev)
        st->lru_prev->lru_next = st->lru_next;
    else
        s->lru_head = st->lru_next;
    if (st->lru_next)
        st->lru_next->lru_prev = st->lru_prev;
    else
        s->lru_tail = st->lru_prev;
    st->lru_prev = st->lru_next = NULL;
}

static void
lru_push(wr_store *s, stream_state *st)
{
    st->lru_prev = NULL;
    st->lru_next = s->lru_head;
    if (s->lru_head)
        s->lru_head->lru_prev = st;
    else
        s->lru_tail = st;
    s->lru_head = st;
}

/* Nothing but the cache refers to the state, and the disk has all of it (store_int.h). */
static bool
stream_idle(const stream_state *st)
{
    return !st->q_head && st->next_seq == st->d_seq && !st->subs && !st->flush_queued &&
           !st->delivering;
}

/* Most LRU entries looked at per load: a busy one moves to the front, so the cache converges
 * back to its cap over a few loads even when many busy streams sit at the end. */
#define EVICT_PROBES 64

/* Drops least recently used idle streams while the cache is over its cap. `keep`, just loaded
 * for the caller, stays. */
static void
cache_trim(wr_store *s, stream_state *keep)
{
    for (unsigned i = 0; i < EVICT_PROBES && s->n_streams > s->opts.stream_cache_entries; i++) {
        stream_state *st = s->lru_tail;
        if (!st || st == keep)
            return;
        if (stream_idle(st)) {
            wr_store__stream_uncache(s, st);
            s->n_evicted++;
        } else {
            lru_unlink(s, st);
            lru_push(s, st);
        }
    }
}

static void
cache_insert(wr_store *s, stream_state *st)
{
    assert(s->n_buckets > 0); /* set at open, only ever doubled */
    if (s->n_streams + 1 > s->n_buckets) {
        size_t nb = s->n_buckets * 2;
        stream_state **b = wr_xcalloc(nb, sizeof(*b));
        for (size_t i = 0; i < s->n_buckets; i++) {
            stream_state *x = s->buckets[i];
            while (x) {
                stream_state *next = x->hnext;
                x->hnext = b[x->hash % nb];
                b[x->hash % nb] = x;
                x = next;
            }
        }
        free(s->buckets);
        s->buckets = b;
        s->n_buckets = nb;
    }
    st->hnext = s->buckets[st->hash % s->n_buckets];
    s->buckets[st->hash % s->n_buckets] = st;
    s->n_streams++;
    lru_push(s, st);
    cache_trim(s, st);
}

void
wr_store__stream_uncache(wr_store *s, stream_state *st)
{
    stream_state **pp = &s->buckets[st->hash % s->n_buckets];
    while (*pp && *pp != st)
        pp = &(*pp)->hnext;
    if (!*pp)
        return;
    *pp = st->hnext;
    st->hnext = NULL;
    s->n_streams--;
    lru_unlink(s, st);
    wr_store__ring_drop_stream(s, st);
    wr_store__lc_retire(s, st);
}

wr_err
wr_store__stream_cache_load(wr_store *s, const char *basin, const char *stream,
                            const stream_meta *m, stream_state **out, wr_error *out_err)
{
    uint8_t k[WR_KEY_ID_LEN];
    char *v;
    size_t vlen;
    wr_err e;
    stream_state *st = wr_xcalloc(1, sizeof(*st));
    st->hash = wr_store__name_hash(basin, stream);
    st->basin = wr_xstrdup(basin);
    st->name = wr_xstrdup(stream);
    st->id = m->id;
    st->cfg = m->cfg;
    st->cipher = m->cipher;
    st->created_at = m->created_at;
    st->deleted = m->deleted;
    st->deleted_at = m->deleted_at;
    if (!st->deleted && wr_store__basin_deleting(s, basin)) {
        st->deleted = true; /* its basin is being deleted: no more appends or reads */
        st->deleted_at = m->created_at;
    }

    wr_key_stream_id(k, WR_KEY_STREAM_TAIL, m->id);
    if ((e = wr_store__get(s, k, sizeof(k), &v, &vlen, out_err)))
        goto fail;
    if (v && !wr_tail_value_decode((uint8_t *)v, vlen, &st->d_seq, &st->d_ts)) {
        rocksdb_free(v);
        e = wr_error_set(out_err, WR_ERR_STORAGE, "stream tail value is malformed");
        goto fail;
    }
    rocksdb_free(v);
    wr_key_stream_id(k, WR_KEY_STREAM_FENCE, m->id);
    if ((e = wr_store__get(s, k, sizeof(k), &v, &vlen, out_err)))
        goto fail;
    if (v) {
        st->fence_len = vlen > WR_FENCING_TOKEN_MAX ? WR_FENCING_TOKEN_MAX : vlen;
        memcpy(st->fence, v, st->fence_len);
        rocksdb_free(v);
    }
    wr_key_stream_id(k, WR_KEY_STREAM_TRIM, m->id);
    if ((e = wr_store__get(s, k, sizeof(k), &v, &vlen, out_err)))
        goto fail;
    if (v) {
        if (vlen == 8)
            st->d_trim = wr_get_be64((uint8_t *)v);
        rocksdb_free(v);
    }
    if ((e = wr_store__last_arrival(s, m->id, &st->d_arrival, out_err)))
        goto fail;
    if ((e = wr_store__usage_ledger_load(s, st, out_err))) /* usage.c */
        goto fail;
    st->next_seq = st->d_seq;
    st->last_ts = st->d_ts;
    st->last_arrival = st->d_arrival;
    st->trim = st->d_trim;
    cache_insert(s, st);
    *out = st;
    return WR_OK;
fail:
    free(st->basin);
    free(st->name);
    free(st);
    return e;
}

wr_err
wr_store__stream(wr_store *s, const char *basin, const char *stream, bool create, bool on_append,
                 stream_state **out, wr_error *out_err)
{
    if (!wr_basin_name_valid(basin))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid basin name");
    if (!wr_stream_name_valid(stream, strlen(stream)))
        return wr_error_set(out_err, WR_ERR_INVALID, "invalid stream name");
    stream_state *st = wr_store__stream_cached(s, basin, stream);
    if (st) {
        lru_unlink(s, st);
        lru_push(s, st);
        *out = st;
        return WR_OK;
    }
    stream_meta m;
    wr_err e = wr_store__stream_meta_get(s, basin, stream, &m, out_err);
    if (e == WR_OK)
        return wr_store__stream_cache_load(s, basin, stream, &m, out, out_err);
    if (e != WR_ERR_STREAM_NOT_FOUND)
        return e;
    basin_meta bm;
    if ((e = wr_store__basin_meta_get(s, basin, &bm, out_err)))
        return e;
    bool allowed = on_append ? bm.cfg.create_stream_on_append : bm.cfg.create_stream_on_read;
    if (!create || !allowed)
        return wr_error_set(out_err, WR_ERR_STREAM_NOT_FOUND, "stream not found");
    if (bm.deleted)
        return wr_error_set(out_err, WR_ERR_BASIN_DELETION_PENDING, "basin is being deleted");
    wr_stream_config cfg;
    wr_stream_config_resolve(NULL, &bm.cfg, &cfg);
    /* The meta goes to the commit thread, ahead of every append to the new stream (whose ack
     * then implies it). A read or check-tail that creates it answers at once with an empty
     * stream: no record is shown before it is durable, and a create lost in a crash is made
     * again by the next such read. */
    e = wr_store__stream_meta_create_auto(s, basin, stream, &cfg, bm.cfg.stream_cipher, &m,
                                          out_err);
    if (e)
        return e;
    return wr_store__stream_cache_load(s, basin, stream, &m, out, out_err);
}

/* ---------------------------------------------------------------------------------------- */
/* Deferred work and the loop pump                                                            */

void
wr_store__defer(wr_store *s, void (*fn)(wr_store *s, void *arg), void *arg)
{
    deferred *d = wr_xmalloc(sizeof(*d));
    d->fn = fn;
    d->arg = arg;
    d->next = NULL;
    if (s->def_tail)
        s->def_tail->next = d;
    else
        s->def_head = d;
    s->def_tail = d;
    if (!s->closing)
        uv_async_send(&s->async);
}

/* Longest the commit thread then waits for the next group to grow to the size of the last. */
#ifndef COMMIT_GATHER_US
#define COMMIT_GATHER_US 500
#endif

/* on_loop: groups of at least this many bytes go to the commit thread all the same, so that their
 * sync overlaps the parsing of what follows (pipelined s2s inputs of many records). */
#define LOOP_COMMIT_MAX_BYTES (64u << 10)

/* Pending bytes that are handed over at once rather than at the end of the loop iteration: big
 * batches are worth a wake-up each, so that their commit overlaps the building of the next. */
#define HANDOFF_NOW_BYTES (256u << 10)

/* Moves the hand-off list to the commit queue (caller holds mu). Whether the commit thread
 * needs a signal is the caller's business. */
static void
handoff_locked(wr_store *s)
{
    if (!s->hq_head)
        return;
    if (s->cq_tail)
        s->cq_tail->commit_next = s->hq_head;
    else
        s->cq_head = s->hq_head;
    s->cq_tail = s->hq_tail;
    s->hq_head = s->hq_tail = NULL;
    s->cq_n += s->hq_n;
    s->hq_n = 0;
    s->hq_bytes = 0;
    s->hq_epoch++;     /* the storage runs of these appends are closed (append.c join_run) */
    if (s->pmq_head) { /* metadata changes submitted after these appends: right behind them */
        if (s->mq_tail)
            s->mq_tail->next = s->pmq_head;
        else
            s->mq_head = s->pmq_head;
        s->mq_tail = s->pmq_tail;
        s->pmq_head = s->pmq_tail = NULL;
    }
}

/* The loop is about to poll: hand over what this iteration sequenced. */
static void
handoff(wr_store *s)
{
    if (!s->hq_head)
        return;
    pthread_mutex_lock(&s->mu);
    handoff_locked(s);
    /* While it gathers a group it sleeps until the group is complete (or its deadline); a
     * metadata change ends that wait. */
    if (s->commit_idle && (s->cq_n >= s->gather_want || s->mq_head))
        pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void commit_on_loop(wr_store *s);

static void
on_gather_timer(uv_timer_t *t)
{
    (void)t; /* waking the poll is all it is for: the prepare phase after it commits */
}

/* on_loop: makes the loop come round to its prepare phase within `ms` (0: without sleeping). */
static void
loop_commit_soon(wr_store *s, uint64_t ms)
{
    if (uv_is_active((uv_handle_t *)&s->gather_timer) &&
        uv_timer_get_due_in(&s->gather_timer) <= ms)
        return;
    uv_timer_start(&s->gather_timer, on_gather_timer, ms, 0);
}

/*
 * Whether the commit thread has nothing in hand: no group being written, nothing queued for it
 * (appends or metadata changes), no completions the loop has not delivered yet. Only then may
 * the loop commit a group itself: it cannot overtake one of the thread's, and nothing can give
 * the thread work meanwhile (only the loop does).
 */
static bool
thread_quiet(wr_store *s)
{
    pthread_mutex_lock(&s->mu);
    bool quiet = s->commit_idle && !s->cq_head && !s->mq_head && !s->done_head && !s->mdone_head;
    pthread_mutex_unlock(&s->mu);
    return quiet;
}

/* on_loop, in the prepare phase: commit a small group here while the thread is quiet (unless
 * it is still gathering), hand anything else to the thread. */
static void
prepare_on_loop(wr_store *s)
{
    if (!s->hq_head)
        return;
    if (s->hq_bytes >= LOOP_COMMIT_MAX_BYTES || s->pmq_head || !thread_quiet(s)) {
        handoff(s);
        return;
    }
    uint64_t now = wr_clock_mono_ns();
    if (s->hq_n >= s->loop_gather_want || now >= s->gather_until_ns) {
        commit_on_loop(s);
        /* Callbacks may have queued more, and the caller of uv_run(UV_RUN_ONCE) wants to see
         * what ran: come round again without sleeping in the poll. */
        loop_commit_soon(s, 0);
        return;
    }
    loop_commit_soon(s, (s->gather_until_ns - now + 999999) / 1000000);
}

static void
on_prepare(uv_prepare_t *h)
{
    wr_store *s = h->data;
    if (s->on_loop)
        prepare_on_loop(s);
    else
        handoff(s);
}

/* One round: completions, then the deferred items present now. Returns whether it did work. */
static bool
pump_once(wr_store *s)
{
    pthread_mutex_lock(&s->mu);
    append_op *done = s->done_head;
    uint64_t gen = s->done_gen;
    s->done_head = s->done_tail = NULL;
    meta_op *metas = s->mdone_head;
    s->mdone_head = s->mdone_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    for (meta_op *m = metas, *next; m; m = next) {
        next = m->next;
        m->done(s, m);
    }
    if (done) {
        wr_store__on_commits_done(s, done);
        /* The appends that these acks triggered are queued now: hand them over with the news
         * and let the commit thread go. */
        pthread_mutex_lock(&s->mu);
        handoff_locked(s);
        s->processed_gen = gen;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    deferred *d = s->def_head;
    s->def_head = s->def_tail = NULL;
    bool worked = done || d || metas;
    while (d) {
        deferred *next = d->next;
        d->fn(s, d->arg);
        free(d);
        d = next;
    }
    return worked;
}

static void
on_async(uv_async_t *h)
{
    pump_once(h->data);
}

/* ---------------------------------------------------------------------------------------- */
/* Commit thread                                                                              */

/* Longest the commit thread waits for the loop to process a completion list. */
#ifndef COMMIT_HANDOFF_US
#define COMMIT_HANDOFF_US 300
#endif

void
wr_store__commit_push(wr_store *s, append_op *op)
{
    op->commit_next = NULL;
    if (s->hq_tail)
        s->hq_tail->commit_next = op;
    else
        s->hq_head = op;
    s->hq_tail = op;
    s->hq_bytes += op->charge;
    s->hq_n++;
    if (s->hq_bytes >= HANDOFF_NOW_BYTES)
        handoff(s);
    else if (s->on_loop && s->hq_n == 1)
        /* The prepare phase takes it; this only covers a push made after that phase ran. */
        loop_commit_soon(s, COMMIT_GATHER_US / 1000 + 1);
}

/*
 * Which per-stream keys an op of a group writes. Several appends of one stream in one group
 * would each overwrite STREAM_TAIL (and FENCE, TRIM, DOE_DEADLINE when they set them); only
 * the last write of each survives the WriteBatch, so only the last is made: the others are
 * memtable inserts and WAL bytes for nothing. Ops of a stream are in sequence order in the
 * group, and fence, trim and the deadline only ever move to the value of the latest op that
 * sets them, so the last op's values are exactly what the unmerged batch would have left.
 */
enum {
    PUT_TAIL = 1,
    PUT_FENCE = 2,
    PUT_TRIM = 4,
    PUT_DOE = 8,
};

/* Marks, walking the group from its end, the op of each stream that writes each per-stream key:
 * the last one that has it. `seen` is a zeroed open-addressed table of `cap` (a power of two,
 * > the number of ops) stream ids (0 is never a stream id) with their families already taken. */
static void
mark_last_writers(append_op **ops, size_t n, uint8_t *put, uint64_t *seen_id, uint8_t *seen_put,
                  size_t cap)
{
    for (size_t i = n; i-- > 0;) {
        const append_op *op = ops[i];
        uint64_t id = op->batch->stream_id;
        size_t h = (size_t)(id * 0x9E3779B97F4A7C15ull >> 32) & (cap - 1);
        while (seen_id[h] && seen_id[h] != id)
            h = (h + 1) & (cap - 1);
        seen_id[h] = id;
        uint8_t want = PUT_TAIL | (op->put_fence ? PUT_FENCE : 0) | (op->put_trim ? PUT_TRIM : 0) |
                       (op->put_doe ? PUT_DOE : 0);
        put[i] = want & ~seen_put[h];
        seen_put[h] |= want;
    }
}

/*
 * Builds one group's WriteBatch. Keys go in by family (every BATCH, then every TS_INDEX, then the
 * per-stream keys): RocksDB inserts a WriteBatch into the memtable skiplist in order and reuses
 * the position of the previous insert, so consecutive keys of one family (a stream's batches
 * are adjacent) cost a short step instead of a full search from the top, which alternating
 * families forced on every insert. The order inside one WriteBatch changes nothing on disk or
 * for readers: the batch is applied atomically.
 */
/*
 * The stored value of the run that `head` starts (append.c join_run): the head's header with
 * the run's record count, last timestamp, metered bytes and arrival (the last op's), every
 * op's records in order, and a CRC over it all. Malloc'd, head->run_len bytes.
 */
static uint8_t *
run_value(const append_op *head)
{
    const size_t hdr = WR_BATCH_HEADER_LEN;
    uint8_t *v = wr_xmalloc(head->run_len), *p = v + hdr;
    const wr_batch *last = head->run_tail->batch;
    uint64_t metered = 0;
    for (const append_op *op = head; op; op = op->run_next) {
        const wr_batch *b = op->batch;
        memcpy(p, b->data + hdr, b->len - hdr - 4);
        p += b->len - hdr - 4;
        metered += b->metered_bytes;
    }
    memcpy(v, head->batch->data, hdr);
    wr_put_be32(v + 4, head->run_records);
    wr_put_be64(v + 24, last->last_ts);
    wr_put_be64(v + 32, metered);
    wr_put_be64(v + 40, last->arrival_ms);
    assert((size_t)(p - v) + 4 == head->run_len);
    wr_put_be32(p, wr_crc32c(0, v, head->run_len - 4));
    return v;
}

static void
build_group(rocksdb_writebatch_t *wb, append_op **ops, size_t n, const uint8_t *put)
{
    for (size_t i = 0; i < n; i++) {
        const wr_batch *b = ops[i]->batch;
        if (ops[i]->merged)
            continue; /* in its run head's value */
        uint8_t kb[WR_KEY_BATCH_LEN];
        wr_key_batch(kb, b->stream_id, b->first_seq);
        if (!ops[i]->run_next) {
            rocksdb_writebatch_put(wb, (char *)kb, sizeof(kb), (char *)b->data, b->len);
            continue;
        }
        uint8_t *v = run_value(ops[i]);
        rocksdb_writebatch_put(wb, (char *)kb, sizeof(kb), (char *)v, ops[i]->run_len);
        free(v);
    }
    for (size_t i = 0; i < n; i++) {
        const wr_batch *b = ops[i]->batch;
        if (ops[i]->merged)
            continue;
        uint8_t kt[WR_KEY_TS_LEN];
        wr_key_ts_index(kt, b->stream_id, b->first_ts, b->first_seq);
        rocksdb_writebatch_put(wb, (char *)kt, sizeof(kt), (char *)ops[i]->ledger,
                               sizeof(ops[i]->ledger));
    }
    for (size_t i = 0; i < n; i++) {
        const append_op *op = ops[i];
        const wr_batch *b = op->batch;
        uint8_t kid[WR_KEY_ID_LEN], v[WR_TAIL_VALUE_LEN];
        if (put[i] & PUT_TAIL) {
            wr_key_stream_id(kid, WR_KEY_STREAM_TAIL, b->stream_id);
            wr_tail_value(v, b->end_seq, b->last_ts);
            rocksdb_writebatch_put(wb, (char *)kid, sizeof(kid), (char *)v, WR_TAIL_VALUE_LEN);
        }
        if (put[i] & PUT_FENCE) {
            wr_key_stream_id(kid, WR_KEY_STREAM_FENCE, b->stream_id);
            rocksdb_writebatch_put(wb, (char *)kid, sizeof(kid), op->fence, op->fence_len);
        }
        if (put[i] & PUT_TRIM) {
            wr_key_stream_id(kid, WR_KEY_STREAM_TRIM, b->stream_id);
            wr_put_be64(v, op->trim);
            rocksdb_writebatch_put(wb, (char *)kid, sizeof(kid), (char *)v, 8);
        }
        if (put[i] & PUT_DOE) {
            uint8_t kd[WR_KEY_LC_ID_LEN];
            wr_key_lc_id(kd, WR_LC_DOE_DEADLINE, b->stream_id);
            wr_put_be64(v, op->doe_deadline);
            rocksdb_writebatch_put(wb, (char *)kd, sizeof(kd), (char *)v, 8);
        }
    }
}

static void
copy_put(void *state, const char *k, size_t klen, const char *v, size_t vlen)
{
    rocksdb_writebatch_put(state, k, klen, v, vlen);
}

static void
copy_delete(void *state, const char *k, size_t klen)
{
    rocksdb_writebatch_delete(state, k, klen);
}

static wr_err
commit_group(wr_store *s, rocksdb_writebatch_t *wb, append_op *list, meta_op *metas)
{
    if (atomic_load(&s->failed))
        return WR_ERR_STORAGE;
    size_t n = 0;
    for (append_op *op = list; op; op = op->commit_next)
        n++;
    size_t cap = 16;
    while (cap <= n)
        cap *= 2;
    /* One allocation per group (a few hundred a second at most), not per append. */
    size_t bytes = n * sizeof(append_op *) + cap * sizeof(uint64_t) + n + cap;
    char *mem = wr_xcalloc(1, bytes);
    append_op **ops = (append_op **)mem;
    uint64_t *seen_id = (uint64_t *)(mem + n * sizeof(append_op *));
    uint8_t *put = (uint8_t *)(seen_id + cap), *seen_put = put + n;
    n = 0;
    for (append_op *op = list; op; op = op->commit_next)
        ops[n++] = op;
    mark_last_writers(ops, n, put, seen_id, seen_put, cap);
    rocksdb_writebatch_clear(wb);
    build_group(wb, ops, n, put);
    free(mem);
    /* Metadata changes join the same synced write: durable, and visible, together. */
    for (meta_op *m = metas; m; m = m->next)
        rocksdb_writebatch_iterate(m->wb, wb, copy_put, copy_delete);
    uint64_t t0 = wr_clock_mono_ns();
    wr_err e = wr_store__write(s, wb, DB_WRITE_COMMIT, NULL);
    wr_hist_observe(&s->h_commit, wr_clock_mono_ns() - t0); /* Prometheus */
    if (n)
        wr_hist_observe(&s->h_group, n);
    if (!e)
        atomic_fetch_add(&s->n_commits, 1);
    return e;
}

void
wr_store__meta_submit(wr_store *s, meta_op *op)
{
    op->next = NULL;
    op->err = WR_OK;
    pthread_mutex_lock(&s->mu);
    bool open = !s->stop && !s->closing;
    if (open) {
        if (s->hq_head) {
            /*
             * Appends sequenced before this change must be written with it or before it, never
             * after: it waits beside the hand-off list and reaches the thread right behind
             * those appends at the next hand-off (before the loop polls), not on its own now.
             */
            if (s->pmq_tail)
                s->pmq_tail->next = op;
            else
                s->pmq_head = op;
            s->pmq_tail = op;
        } else {
            if (s->mq_tail)
                s->mq_tail->next = op;
            else
                s->mq_head = op;
            s->mq_tail = op;
            if (s->commit_idle)
                pthread_cond_signal(&s->cv);
        }
    } else {
        op->err = WR_ERR_UNAVAILABLE;
        if (s->mdone_tail)
            s->mdone_tail->next = op;
        else
            s->mdone_head = op;
        s->mdone_tail = op;
    }
    pthread_mutex_unlock(&s->mu);
    if (!open && !s->closing)
        uv_async_send(&s->async); /* a pump round delivers it (closing: wr_store_close's) */
}

/* CLOCK_MONOTONIC now + us, for pthread_cond_timedwait on s->cv. */
static struct timespec
deadline_in_us(long us)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_nsec += us * 1000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

/* on_loop, the thread quiet (thread_quiet): the hand-off list written and synced here as one
 * group, its acks delivered. */
static void
commit_on_loop(wr_store *s)
{
    pthread_mutex_lock(&s->mu);
    /* thread_quiet held, and only the loop gives the thread work. */
    assert(s->commit_idle && !s->cq_head && !s->mq_head && !s->pmq_head);
    handoff_locked(s); /* closes the storage runs as a hand-off does */
    append_op *list = s->cq_head;
    size_t n_list = s->cq_n;
    s->cq_n = 0;
    s->cq_head = s->cq_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    wr_err e = commit_group(s, s->loop_wb, list, NULL);
    uv_update_time(s->loop); /* the sync took a while: timeouts set by the callbacks start now */
    for (append_op *op = list; op; op = op->commit_next)
        op->commit_err = e;
    if (!e)
        s->loop_commits++;
    wr_store__on_commits_done(s, list);
    s->loop_gather_want = n_list;
    s->gather_until_ns = wr_clock_mono_ns() + COMMIT_GATHER_US * 1000ull;
}

static void *
commit_main(void *arg)
{
    wr_store *s = arg;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    pthread_mutex_lock(&s->mu);
    for (;;) {
        s->commit_idle = true;
        while (!s->cq_head && !s->mq_head && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        s->commit_idle = false;
        if (!s->cq_head && !s->mq_head)
            break;
        append_op *list = s->cq_head, *last = s->cq_tail;
        meta_op *metas = s->mq_head, *mlast = s->mq_tail;
        size_t n_list = s->cq_n;
        s->cq_n = 0;
        s->cq_head = s->cq_tail = NULL;
        s->mq_head = s->mq_tail = NULL;
        pthread_mutex_unlock(&s->mu);

        wr_err e = commit_group(s, wb, list, metas);
        for (append_op *op = list; op; op = op->commit_next)
            op->commit_err = e;
        for (meta_op *m = metas; m; m = m->next)
            m->err = e;

        pthread_mutex_lock(&s->mu);
        if (metas) {
            if (s->mdone_tail)
                s->mdone_tail->next = metas;
            else
                s->mdone_head = metas;
            s->mdone_tail = mlast;
        }
        if (!list) {
            uv_async_send(&s->async);
            continue; /* no acks to wait for */
        }
        if (s->done_tail)
            s->done_tail->commit_next = list;
        else
            s->done_head = list;
        s->done_tail = last;
        uint64_t gen = ++s->done_gen;
        uv_async_send(&s->async);
        /*
         * Give the loop a moment (bounded by COMMIT_HANDOFF_US) to deliver these acks before
         * taking the next group: writers that append again as soon as they are acknowledged then
         * join the next sync instead of waiting a whole extra sync in a second cohort.
         */
        struct timespec until = deadline_in_us(COMMIT_HANDOFF_US);
        while (s->processed_gen < gen && !s->stop)
            if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0)
                break;
        /*
         * Then let the next group grow to the size of this one (bounded by COMMIT_GATHER_US):
         * the writers just acknowledged send their next appends within a round trip, and
         * committing those with the ones that arrived during the sync, instead of one sync later
         * as a second cohort, halves the syncs per append (each costs the shared core ~30 µs in
         * the kernel): 64 connections appending got 6-12 % more acks/s for 15 % less CPU per ack,
         * with a lower p99. A lone writer is never held: its one append is its last group's size.
         * A hand-off wakes the thread only once the group is complete (gather_want).
         */
        until = deadline_in_us(COMMIT_GATHER_US);
        s->commit_idle = true;
        s->gather_want = n_list;
        while (s->cq_n < n_list && !s->mq_head && !s->stop)
            if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0)
                break;
        s->gather_want = 0;
        s->commit_idle = false;
    }
    pthread_mutex_unlock(&s->mu);
    rocksdb_writebatch_destroy(wb);
    return NULL;
}

wr_err
wr_store__last_arrival(wr_store *s, uint64_t id, uint64_t *out_arrival, wr_error *out_err)
{
    /* Bounded to the stream's batches, as recovery does, so SeekForPrev never walks back
     * through other families' tombstones. */
    uint8_t lo[WR_KEY_BATCH_LEN], hi[WR_KEY_BATCH_LEN];
    wr_key_batch(lo, id, 0);
    wr_key_batch(hi, id, UINT64_MAX);
    db_iter it;
    wr_store__iter_open(&it, s, lo, sizeof(lo), NULL, 0);
    wr_store__iter_seek_for_prev(&it, (char *)hi, sizeof(hi));
    *out_arrival = 0;
    wr_err e = WR_OK;
    if (wr_store__iter_valid(&it)) {
        size_t klen, vlen;
        const char *key = wr_store__iter_key(&it, &klen);
        const char *v = wr_store__iter_value(&it, &vlen);
        uint64_t bid, bseq;
        if (wr_key_batch_decode((const uint8_t *)key, klen, &bid, &bseq) && bid == id &&
            !wr_batch_peek_arrival((const uint8_t *)v, vlen, out_arrival))
            e = wr_error_set(out_err, WR_ERR_STORAGE, "stream %llu: last batch is malformed",
                             (unsigned long long)id);
    }
    return wr_store__iter_end(&it, e, out_err);
}

/* ---------------------------------------------------------------------------------------- */
/* Open and recovery                                                                          */

/*
 * Checks one stream: its tail (03) must equal the end of its last batch (06), whose checksum
 * must verify. A stream without batches must have no tail beyond its trim point... unless its
 * records were all trimmed, so a missing batch is accepted.
 */
static wr_err
check_stream(wr_store *s, db_iter *it, uint64_t id, wr_error *out_err)
{
    uint8_t k[WR_KEY_ID_LEN], kb[WR_KEY_BATCH_LEN];
    char *tv;
    size_t tvlen;
    uint64_t tail_seq = 0, tail_ts = 0;
    wr_err e;
    wr_key_stream_id(k, WR_KEY_STREAM_TAIL, id);
    if ((e = wr_store__get(s, k, sizeof(k), &tv, &tvlen, out_err)))
        return e;
    bool has_tail = tv != NULL;
    bool ok = !tv || wr_tail_value_decode((uint8_t *)tv, tvlen, &tail_seq, &tail_ts);
    rocksdb_free(tv);
    if (!ok)
        return wr_error_set(out_err, WR_ERR_STORAGE, "stream %llu: malformed tail",
                            (unsigned long long)id);

    wr_key_batch(kb, id, UINT64_MAX);
    wr_store__iter_seek_for_prev(it, (char *)kb, sizeof(kb));
    uint64_t bid, bseq;
    size_t klen;
    if (!wr_store__iter_valid(it)) /* no key of family 06 up to it, or a read error */
        return wr_store__iter_error(it, out_err);
    const char *key = wr_store__iter_key(it, &klen);
    if (!wr_key_batch_decode((const uint8_t *)key, klen, &bid, &bseq) || bid != id)
        return WR_OK; /* no batches */
    size_t vlen;
    const char *v = wr_store__iter_value(it, &vlen);
    wr_batch *b;
    wr_error derr;
    if ((e = wr_batch_decode(id, wr_xmemdup(v, vlen), vlen, &b, &derr)))
        return wr_error_set(out_err, e, "stream %llu: last batch at seq %llu: %s",
                            (unsigned long long)id, (unsigned long long)bseq, derr.msg);
    ok = has_tail && b->first_seq == bseq && b->end_seq == tail_seq && b->last_ts == tail_ts;
    uint64_t end = b->end_seq, last = b->last_ts;
    wr_batch_unref(b);
    if (!ok)
        return wr_error_set(out_err, WR_ERR_STORAGE,
                            "stream %llu: tail (%llu,%llu) disagrees with last batch end "
                            "(%llu,%llu)",
                            (unsigned long long)id, (unsigned long long)tail_seq,
                            (unsigned long long)tail_ts, (unsigned long long)end,
                            (unsigned long long)last);
    return WR_OK;
}

static wr_err
recover(wr_store *s, wr_error *out_err)
{
    wr_err e = WR_OK;
    uint8_t lo = WR_KEY_STREAM_ID, hi = WR_KEY_STREAM_ID + 1;
    db_iter ids;
    wr_store__iter_open(&ids, s, &lo, 1, &hi, 1);
    /* Bounded to family 06: a stream without batches must not make SeekForPrev walk back
     * through the tombstones that deletions leave in the families below. */
    uint8_t blo = WR_KEY_BATCH, bhi = WR_KEY_BATCH + 1;
    db_iter batches;
    wr_store__iter_open(&batches, s, &blo, 1, &bhi, 1);
    uint64_t max_id = 0, n = 0;
    for (wr_store__iter_seek(&ids, (char *)&lo, 1); wr_store__iter_valid(&ids);
         wr_store__iter_next(&ids)) {
        size_t klen;
        const char *k = wr_store__iter_key(&ids, &klen);
        uint64_t id;
        if (!wr_key_stream_id_decode((const uint8_t *)k, klen, WR_KEY_STREAM_ID, &id)) {
            e = wr_error_set(out_err, WR_ERR_STORAGE, "malformed stream id key");
            break;
        }
        if (id > max_id)
            max_id = id;
        if ((e = check_stream(s, &batches, id, out_err)))
            break;
        n++;
    }
    e = wr_store__iter_end(&batches, e, out_err);
    e = wr_store__iter_end(&ids, e, out_err);
    s->next_stream_id = max_id + 1;
    if (!e)
        wr_log_debug("store recovered", " streams=%llu", (unsigned long long)n);
    return e;
}

/* Whether the loop should commit (wr_store_commit_mode): AUTO asks the CPU affinity mask. */
static bool
commit_on_loop_wanted(wr_store_commit_mode mode)
{
    if (mode != WR_STORE_COMMIT_AUTO)
        return mode == WR_STORE_COMMIT_LOOP;
    cpu_set_t set;
    CPU_ZERO(&set);
    return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1;
}

static void
free_store(wr_store *s)
{
    wr_store__usage_free(s);
    wr_store__quota_free(s);
    if (s->db)
        rocksdb_close(s->db);
    if (s->wo_sync)
        rocksdb_writeoptions_destroy(s->wo_sync);
    if (s->wo_nosync)
        rocksdb_writeoptions_destroy(s->wo_nosync);
    if (s->ro)
        rocksdb_readoptions_destroy(s->ro);
    if (s->dbopts)
        rocksdb_options_destroy(s->dbopts);
    if (s->bbto)
        rocksdb_block_based_options_destroy(s->bbto);
    if (s->block_cache)
        rocksdb_cache_destroy(s->block_cache);
    if (s->loop_wb)
        rocksdb_writebatch_destroy(s->loop_wb);
    for (size_t i = 0; s->buckets && i < s->n_buckets; i++) {
        stream_state *st = s->buckets[i];
        while (st) {
            stream_state *next = st->hnext;
            free(st->basin);
            free(st->name);
            free(st);
            st = next;
        }
    }
    free(s->buckets);
    wr_store__lc_free(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->path);
    free(s);
}

/*
 * Whether files in `dir` (or, when it does not exist yet, in its parent, where RocksDB will
 * create it) can be written with O_DIRECT: one aligned 4 KiB write to a scratch file, removed
 * afterwards. Some file systems refuse the flag at open, others only at the first write.
 */
static bool
direct_writes_work(const char *dir)
{
    char where[4096], path[4200];
    if (snprintf(where, sizeof(where), "%s", dir) >= (int)sizeof(where))
        return false;
    struct stat st;
    if (stat(where, &st) != 0) {
        char *slash = strrchr(where, '/');
        if (!slash)
            strcpy(where, ".");
        else if (slash == where)
            where[1] = '\0'; /* "/x": the root */
        else
            *slash = '\0';
    }
    snprintf(path, sizeof(path), "%s/.weir-direct-probe-%ld", where, (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    void *buf = NULL;
    bool ok = posix_memalign(&buf, 4096, 4096) == 0;
    if (ok) {
        memset(buf, 0, 4096);
        ok = pwrite(fd, buf, 4096, 0) == 4096;
    }
    free(buf);
    close(fd);
    unlink(path);
    return ok;
}

wr_err
wr_store_open(uv_loop_t *loop, const wr_store_opts *opts, wr_store **out, wr_error *out_err)
{
    *out = NULL;
    if (!opts || !opts->path)
        return wr_error_set(out_err, WR_ERR_INVALID, "store path missing");
    wr_store *s = wr_xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->opts = *opts;
    s->path = wr_xstrdup(opts->path);
    s->opts.path = s->path;
    if (!s->opts.inflight_bytes)
        s->opts.inflight_bytes = 128u << 20;
    if (!s->opts.cache_bytes)
        s->opts.cache_bytes = 64u << 20;
    if (!s->opts.stream_cache_entries)
        s->opts.stream_cache_entries = 100000;
    if (!s->opts.max_streams_per_basin)
        s->opts.max_streams_per_basin = 1000000;
    if (!s->opts.max_streams_per_group)
        s->opts.max_streams_per_group = 100000;
    if (!s->opts.maint_interval_ms)
        s->opts.maint_interval_ms = 60000;
    s->n_buckets = 64;
    s->buckets = wr_xcalloc(s->n_buckets, sizeof(*s->buckets));
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s->failed, false);
    atomic_init(&s->n_commits, 0);
    wr_hist_init(&s->h_group, wr_hist_pow2, wr_hist_pow2_n, 1.0);
    wr_hist_init(&s->h_commit, wr_hist_latency_ns, wr_hist_latency_n, 1e-9);

    s->dbopts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(s->dbopts, 1);
    /*
     * Record batches are large values written once and read back sequentially: keep them in
     * blob files (written at flush, never rewritten by compaction) so the LSM only carries the
     * small keys. Compression is off: bodies are usually already compressed or encrypted, and
     * the CPU is better spent on the loop.
     */
    rocksdb_options_set_max_background_jobs(s->dbopts, 4);
    rocksdb_options_set_compression(s->dbopts, rocksdb_no_compression);
    rocksdb_options_set_write_buffer_size(s->dbopts, 128u << 20);
    rocksdb_options_set_max_write_buffer_number(s->dbopts, 4);
    /* Flushes and compactions write back as they go (sync_file_range every MiB) instead of
     * leaving up to a whole memtable of dirty pages for the kernel: otherwise a group commit's
     * fdatasync that lands during a flush waits for all of it (p99 of ~100 ms in
     * bench/append-http.sh when a 128 MiB memtable was flushed). */
    rocksdb_options_set_bytes_per_sync(s->dbopts, 1u << 20);
    /*
     * Flushes and compactions write with O_DIRECT where the file system allows it. A flush
     * writes every appended byte a second time (into blob files): through the page cache that
     * is a kernel copy of each byte plus its writeback, on the CPUs the commit thread and the
     * loop need (the flush thread spent ~40 % of a core in the kernel during 1000-record
     * batches), and the group commit's fdatasync then queues behind that writeback. Direct
     * writes made 1000-record batches 10-18 % faster with a lower p99 (docs/benchmarks.md).
     * Compaction reads are then direct too, hence the readahead RocksDB asks for with them.
     */
    s->direct_writes = direct_writes_work(s->path);
    if (s->direct_writes) {
        rocksdb_options_set_use_direct_io_for_flush_and_compaction(s->dbopts, 1);
        rocksdb_options_compaction_readahead_size(s->dbopts, 2u << 20);
    } else {
        wr_log_info("flushes write through the page cache", " dir=%s reason=\"O_DIRECT refused\"",
                    s->path);
    }
    rocksdb_options_set_enable_blob_files(s->dbopts, 1);
    rocksdb_options_set_min_blob_size(s->dbopts, 4096);
    /* Compactions relocate live values out of old blob files, so a blob file whose batches
     * were mostly deleted (retention, trim, deletion) is eventually freed. */
    rocksdb_options_set_enable_blob_gc(s->dbopts, 1);
    s->block_cache = rocksdb_cache_create_lru(64u << 20);
    s->bbto = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(s->bbto, s->block_cache);
    rocksdb_options_set_block_based_table_factory(s->dbopts, s->bbto);
    s->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wo_sync, 1);
    s->wo_nosync = rocksdb_writeoptions_create();
    s->ro = rocksdb_readoptions_create();

    char *err = NULL;
    s->db = rocksdb_open(s->dbopts, s->path, &err);
    if (err) {
        wr_error_set(out_err, WR_ERR_STORAGE, "rocksdb open %s: %s", s->path, err);
        rocksdb_free(err);
        s->db = NULL;
        free_store(s);
        return WR_ERR_STORAGE;
    }
    wr_err e = recover(s, out_err);
    if (!e)
        e = wr_store__lc_open(s, out_err);
    if (e) {
        free_store(s);
        return e;
    }
    uv_async_init(loop, &s->async, on_async);
    s->async.data = s;
    uv_prepare_init(loop, &s->handoff);
    s->handoff.data = s;
    uv_prepare_start(&s->handoff, on_prepare);
    uv_unref((uv_handle_t *)&s->handoff); /* it only serves appends, which keep their own refs */
    uv_timer_init(loop, &s->gather_timer);
    s->gather_timer.data = s;
    uv_unref((uv_handle_t *)&s->gather_timer);
    wr_store__usage_open(s);
    s->on_loop = commit_on_loop_wanted(s->opts.commit_mode);
    if (s->on_loop) {
        s->loop_wb = rocksdb_writebatch_create();
        wr_log_info("the loop thread commits small groups of appends", " reason=\"%s\"",
                    s->opts.commit_mode == WR_STORE_COMMIT_LOOP ? "configured" : "one CPU");
    }
    if (pthread_create(&s->commit_thread, NULL, commit_main, s) != 0)
        abort();
    *out = s;
    return WR_OK;
}

/* ---------------------------------------------------------------------------------------- */
/* Close                                                                                      */

static void
on_async_closed(uv_handle_t *h)
{
    wr_store *s = h->data;
    void (*cb)(void *) = s->close_cb;
    void *ud = s->close_ud;
    free_store(s);
    if (cb)
        cb(ud);
}

static void
on_timer_closed(uv_handle_t *h)
{
    wr_store *s = h->data;
    uv_close((uv_handle_t *)&s->async, on_async_closed);
}

static void
on_handoff_closed(uv_handle_t *h)
{
    wr_store *s = h->data;
    uv_close((uv_handle_t *)&s->gather_timer, on_timer_closed);
}

void
wr_store__maybe_finish_close(wr_store *s)
{
    if (!s->closing || s->reads_inflight || wr_store__lc_busy(s) || wr_store__usage_busy(s) ||
        s->db_closed)
        return;
    wr_store__usage_final(s); /* the pending usage counts, before the DB closes */
    s->db_closed = true;
    rocksdb_close(s->db);
    s->db = NULL;
    /* Handles close in turn: the async's callback frees the store the others live in. */
    uv_close((uv_handle_t *)&s->handoff, on_handoff_closed);
}

void
wr_store_close(wr_store *s, void (*cb)(void *ud), void *ud)
{
    s->closing = true;
    s->close_cb = cb;
    s->close_ud = ud;
    /* Appends still waiting for budget never reach the commit thread (it is stopping). */
    wr_store__fail_pending(s, WR_ERR_UNAVAILABLE);
    uv_timer_stop(&s->gather_timer);
    pthread_mutex_lock(&s->mu);
    handoff_locked(s); /* sequenced appends are committed before the thread stops */
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->commit_thread, NULL);
    /* Everything the commit thread took is in the done list now. */
    while (pump_once(s))
        ;
    for (size_t i = 0; i < s->n_buckets; i++)
        for (stream_state *st = s->buckets[i]; st; st = st->hnext)
            wr_store__close_subs(s, st, WR_ERR_UNAVAILABLE);
    while (pump_once(s))
        ;
    wr_store__detach_subs(s);
    wr_store__lc_close(s);
    wr_store__usage_close(s);
    wr_store__ring_free(s);
    wr_store__maybe_finish_close(s);
}

bool
wr_store_failed(const wr_store *s)
{
    return atomic_load(&((wr_store *)s)->failed);
}

void
wr_store_get_stats(const wr_store *s, wr_store_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->commits = atomic_load(&((wr_store *)s)->n_commits);
    out->appends = s->n_acked;
    out->inflight_bytes = s->inflight;
    out->waiting_appends = s->n_waiting;
    out->cache_bytes = s->cache_bytes;
    out->cached_streams = s->n_streams;
    out->evicted_streams = s->n_evicted;
    out->direct_writes = s->direct_writes;
    out->commits_on_loop = s->on_loop;
    out->loop_commits = s->loop_commits;
    wr_store__lc_stats(s, out);
    wr_store__usage_stats(s, out);
}

void
wr_store_get_hists(const wr_store *s, wr_store_hists *out)
{
    out->group_commit_appends = &s->h_group;
    out->commit_seconds = &s->h_commit;
}
