/*
 * quota.c — the stream limits of store.h (LIMITS): how many streams each basin holds, and each
 * group of a basin (wr_store_opts.group_len), checked before a stream meta is created.
 *
 * Counts live in one in-memory table keyed by basin ‖ 00 ‖ group prefix, with an empty prefix
 * for the basin's own count. That key is a STREAM_META key without its type byte, so an entry
 * is made on first use by counting the STREAM_META keys that start with it (one RocksDB scan,
 * synchronous on the loop like a stream listing, as long as what it counts). From then on the
 * entry is kept exact:
 *   +1    wr_store__quota_created: a stream meta was written (meta.c; every create path);
 *   -1    wr_store__quota_removed: the lifecycle's DELETE job removed a stream meta;
 *   drop  wr_store__quota_basin_gone: a basin's deletion finished (its pages removed the metas).
 * A count is of stream metas on disk, so a stream marked deleted holds its slot until the
 * DELETE job has removed it: the count may be above the live streams, never below.
 *
 * The worker race. A removal job writes on a worker and reports on the loop later. An entry
 * counted in between may already miss the removed metas, and would then be decremented twice.
 * So an entry counted while a removal job is out remembers that job (gen), and if that job
 * then reports a removal under it, the entry is dropped (counted again on next use) instead of
 * decremented.
 *
 * Bounds: at most QUOTA_MAX_ENTRIES entries, one per basin and per group in use (so per tenant,
 * not per stream); past that the least recently used entry is dropped, to be counted again when
 * next needed. Loop thread only; the only outside code called is opts.group_len.
 */
#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "store/store_int.h"
#include "util/hash.h"
#include "util/mem.h"

#define QUOTA_BUCKETS 4096u
#define QUOTA_MAX_ENTRIES 65536u
#define MSG_PREFIX_MAX 96 /* bytes of a group prefix quoted in an error message */
#define KEY_MAX (WR_BASIN_NAME_MAX + 1 + WR_STREAM_NAME_MAX)

typedef struct qent {
    struct qent *hnext;
    struct qent *prev, *next; /* LRU list, most recently used first */
    uint64_t hash;
    uint64_t n;   /* stream metas whose key starts with `key` (and whose group is the prefix) */
    uint64_t gen; /* the removal job that was out when it was counted, 0 = none */
    size_t basin_len;
    size_t len;
    char key[]; /* basin ‖ 00 ‖ group prefix */
} qent;

struct quota_tab {
    qent *buckets[QUOTA_BUCKETS];
    qent *head, *tail;
    size_t n;
    uint64_t gen; /* of the last removal job */
    bool job_out; /* a removal job is on the worker pool */
};

/* The key of `basin`'s count (glen 0) or of the group named by stream[0, glen). */
static size_t
make_key(char key[KEY_MAX], const char *basin, const char *stream, size_t glen)
{
    size_t bl = strlen(basin);
    memcpy(key, basin, bl);
    key[bl] = 0;
    memcpy(key + bl + 1, stream, glen);
    return bl + 1 + glen;
}

static qent *
find(struct quota_tab *q, const char *key, size_t len, uint64_t h)
{
    for (qent *e = q->buckets[h % QUOTA_BUCKETS]; e; e = e->hnext)
        if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

static void
lru_unlink(struct quota_tab *q, qent *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        q->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        q->tail = e->prev;
    e->prev = e->next = NULL;
}

static void
lru_push(struct quota_tab *q, qent *e)
{
    e->next = q->head;
    if (q->head)
        q->head->prev = e;
    else
        q->tail = e;
    q->head = e;
}

static void
drop(struct quota_tab *q, qent *e)
{
    qent **pp = &q->buckets[e->hash % QUOTA_BUCKETS];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(q, e);
    q->n--;
    free(e);
}

static struct quota_tab *
tab(wr_store *s)
{
    if (!s->quota)
        s->quota = wr_xcalloc(1, sizeof(*s->quota));
    return s->quota;
}

/* The stream's group prefix length under opts.group_len (0 = no group). */
static size_t
group_of(wr_store *s, const char *basin, const char *stream)
{
    if (!s->opts.group_len)
        return 0;
    size_t glen = s->opts.group_len(s->opts.group_ud, basin, stream);
    return glen <= strlen(stream) ? glen : 0;
}

/*
 * Counts the stream metas under key (02 ‖ key…). For a group (glen > 0) only the names whose
 * group is exactly the prefix count, in case group_len is not prefix-closed.
 */
static wr_err
count(wr_store *s, const char *basin, const char *key, size_t len, size_t glen, uint64_t *out_n,
      wr_error *out_err)
{
    wr_buf lo = {0}, hi = {0};
    wr_buf_append_byte(&lo, WR_KEY_STREAM_META);
    wr_buf_append(&lo, key, len);
    wr_buf_append(&hi, lo.data, lo.len);
    while ((uint8_t)hi.data[hi.len - 1] == 0xff) /* never all 0xff: it starts with 02 */
        hi.len--;
    hi.data[hi.len - 1]++;
    db_iter it;
    wr_store__iter_open(&it, s, NULL, 0, hi.data, hi.len);
    size_t skip = 1 + strlen(basin) + 1; /* 02 ‖ basin ‖ 00 */
    uint64_t n = 0;
    char name[WR_STREAM_NAME_MAX + 1];
    for (wr_store__iter_seek(&it, lo.data, lo.len); wr_store__iter_valid(&it);
         wr_store__iter_next(&it)) {
        size_t klen;
        const char *k = wr_store__iter_key(&it, &klen);
        if (glen == 0) {
            n++;
            continue;
        }
        size_t sl = klen - skip;
        if (sl > WR_STREAM_NAME_MAX)
            continue;
        memcpy(name, k + skip, sl);
        name[sl] = 0;
        if (group_of(s, basin, name) == glen)
            n++;
    }
    wr_err e = wr_store__iter_end(&it, WR_OK, out_err);
    wr_buf_fini(&lo);
    wr_buf_fini(&hi);
    *out_n = n;
    return e;
}

/* The count of the basin (glen 0) or of the stream's group, counted first if need be. */
static wr_err
get(wr_store *s, const char *basin, const char *stream, size_t glen, uint64_t *out_n,
    wr_error *out_err)
{
    struct quota_tab *q = tab(s);
    char key[KEY_MAX];
    size_t len = make_key(key, basin, stream, glen);
    uint64_t h = wr_hash_fnv1a(WR_FNV1A_SEED, key, len);
    qent *e = find(q, key, len, h);
    if (e) {
        lru_unlink(q, e);
        lru_push(q, e);
        *out_n = e->n;
        return WR_OK;
    }
    uint64_t n;
    wr_err err = count(s, basin, key, len, glen, &n, out_err);
    if (err)
        return err;
    e = wr_xcalloc(1, sizeof(*e) + len);
    e->hash = h;
    e->n = n;
    e->gen = q->job_out ? q->gen : 0;
    e->basin_len = strlen(basin);
    e->len = len;
    memcpy(e->key, key, len);
    e->hnext = q->buckets[h % QUOTA_BUCKETS];
    q->buckets[h % QUOTA_BUCKETS] = e;
    lru_push(q, e);
    if (++q->n > QUOTA_MAX_ENTRIES)
        drop(q, q->tail); /* never `e`: it is the head and the table holds more than one */
    *out_n = n;
    return WR_OK;
}

/* The length of the longest prefix of s[0, n) that is at most `max` bytes and does not cut a
 * UTF-8 sequence (an error message must stay valid UTF-8). */
static int
utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return (int)n;
    while (max > 0 && ((uint8_t)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

wr_err
wr_store__quota_check(wr_store *s, const char *basin, const char *stream, wr_error *out_err)
{
    uint64_t n;
    wr_err e = get(s, basin, stream, 0, &n, out_err);
    if (e)
        return e;
    uint64_t max = s->opts.max_streams_per_basin;
    if (n >= max)
        return wr_error_set(
            out_err, WR_ERR_QUOTA_EXHAUSTED,
            "basin `%s` holds the maximum of %llu streams (--max-streams-per-basin)", basin,
            (unsigned long long)max);
    size_t glen = group_of(s, basin, stream);
    if (glen == 0)
        return WR_OK;
    if ((e = get(s, basin, stream, glen, &n, out_err)))
        return e;
    max = s->opts.max_streams_per_group;
    if (n >= max)
        return wr_error_set(out_err, WR_ERR_QUOTA_EXHAUSTED,
                            "stream group `%.*s` of basin `%s` holds the maximum of %llu streams "
                            "(--max-streams-per-env)",
                            utf8_cut(stream, glen, MSG_PREFIX_MAX), stream, basin,
                            (unsigned long long)max);
    return WR_OK;
}

/* Applies +1 or -1 to the counts of the stream's basin and group, where they are kept. */
static void
adjust(wr_store *s, const char *basin, const char *stream, bool add)
{
    struct quota_tab *q = s->quota;
    if (!q)
        return;
    size_t glens[2] = {0, group_of(s, basin, stream)};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && glens[1] == 0)
            break;
        char key[KEY_MAX];
        size_t len = make_key(key, basin, stream, glens[i]);
        qent *e = find(q, key, len, wr_hash_fnv1a(WR_FNV1A_SEED, key, len));
        if (!e)
            continue; /* not counted yet: the scan will see the change */
        if (add)
            e->n++;
        else if (q->job_out && e->gen == q->gen)
            drop(q, e); /* counted while this job was out: maybe after its write */
        else if (e->n > 0)
            e->n--;
    }
}

void
wr_store__quota_created(wr_store *s, const char *basin, const char *stream)
{
    adjust(s, basin, stream, true);
}

void
wr_store__quota_removed(wr_store *s, const char *basin, const char *stream)
{
    adjust(s, basin, stream, false);
}

void
wr_store__quota_job_begin(wr_store *s)
{
    struct quota_tab *q = tab(s);
    q->gen++;
    q->job_out = true;
}

void
wr_store__quota_job_end(wr_store *s)
{
    if (s->quota)
        s->quota->job_out = false;
}

void
wr_store__quota_basin_gone(wr_store *s, const char *basin)
{
    struct quota_tab *q = s->quota;
    size_t bl = strlen(basin);
    for (qent *e = q ? q->head : NULL, *next; e; e = next) {
        next = e->next;
        if (e->basin_len == bl && memcmp(e->key, basin, bl) == 0)
            drop(q, e);
    }
}

void
wr_store__quota_free(wr_store *s)
{
    struct quota_tab *q = s->quota;
    if (!q)
        return;
    for (qent *e = q->head, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    free(q);
    s->quota = NULL;
}
