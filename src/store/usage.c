/*
 * usage.c — per-stream usage counters (see "Usage" in store.h): an open-addressing hash table
 * keyed by stream id, on the loop thread, never persisted. wr_store_usage() walks the basin's
 * streams through the listing and adds RocksDB's approximate size of each BATCH key range.
 */
#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "store/store_int.h"
#include "util/mem.h"

typedef struct usage_entry {
    uint64_t id; /* 0 = empty slot (stream ids start at 1) */
    uint64_t app_recs, app_bytes, read_recs, read_bytes;
} usage_entry;

struct usage_tab {
    usage_entry *slots;
    size_t cap; /* power of two */
    size_t n;
};

static size_t
slot_of(uint64_t id, size_t cap)
{
    uint64_t h = id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

static usage_entry *
find(struct usage_tab *t, uint64_t id, bool insert)
{
    if (!t || t->cap == 0)
        return NULL;
    size_t i = slot_of(id, t->cap);
    while (t->slots[i].id != 0) {
        if (t->slots[i].id == id)
            return &t->slots[i];
        i = (i + 1) & (t->cap - 1);
    }
    if (!insert)
        return NULL;
    t->slots[i].id = id;
    t->n++;
    return &t->slots[i];
}

static void
grow(struct usage_tab *t)
{
    usage_entry *old = t->slots;
    size_t old_cap = t->cap;
    t->cap = old_cap ? old_cap * 2 : 64;
    t->slots = wr_xcalloc(t->cap, sizeof(*t->slots));
    t->n = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].id) {
            usage_entry *e = find(t, old[i].id, true);
            *e = old[i];
        }
    free(old);
}

void
wr_store__usage_add(wr_store *s, uint64_t stream_id, bool read, uint64_t records, uint64_t bytes)
{
    if (stream_id == 0 || records == 0)
        return;
    if (!s->usage)
        s->usage = wr_xcalloc(1, sizeof(*s->usage));
    struct usage_tab *t = s->usage;
    if ((t->n + 1) * 4 > t->cap * 3)
        grow(t);
    usage_entry *e = find(t, stream_id, true);
    if (read) {
        e->read_recs += records;
        e->read_bytes += bytes;
    } else {
        e->app_recs += records;
        e->app_bytes += bytes;
    }
}

void
wr_store__usage_free(wr_store *s)
{
    if (!s->usage)
        return;
    free(s->usage->slots);
    free(s->usage);
    s->usage = NULL;
}

static wr_err
add_stream(wr_store *s, const char *basin, const char *stream, wr_store_usage_totals *out,
           wr_error *out_err)
{
    stream_meta m;
    wr_error ignored;
    wr_err e = wr_store__stream_meta_get(s, basin, stream, &m, &ignored);
    if (e == WR_ERR_STREAM_NOT_FOUND || (e == WR_OK && m.deleted))
        return WR_OK; /* gone between listing and lookup, or being deleted */
    if (e)
        return wr_error_set(out_err, e, "%s", ignored.msg);
    usage_entry *u = find(s->usage, m.id, false);
    if (u) {
        out->appended_records += u->app_recs;
        out->appended_bytes += u->app_bytes;
        out->read_records += u->read_recs;
        out->read_bytes += u->read_bytes;
    }
    uint8_t lo[WR_KEY_BATCH_LEN], hi[WR_KEY_BATCH_LEN];
    wr_key_batch(lo, m.id, 0);
    wr_key_batch(hi, m.id + 1, 0);
    const char *starts[1] = {(const char *)lo}, *limits[1] = {(const char *)hi};
    size_t slen[1] = {sizeof(lo)}, llen[1] = {sizeof(hi)};
    uint64_t size = 0;
    char *err = NULL;
    rocksdb_approximate_sizes(s->db, 1, starts, slen, limits, llen, &size, &err);
    if (err) {
        wr_error_set(out_err, WR_ERR_STORAGE, "approximate size: %s", err);
        free(err);
        return WR_ERR_STORAGE;
    }
    out->stored_bytes += size;
    out->n_streams++;
    return WR_OK;
}

wr_err
wr_store_usage(wr_store *s, const char *basin, const char *stream_prefix,
               wr_store_usage_totals *out, wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    char after[WR_STREAM_NAME_MAX + 1] = "";
    for (;;) {
        wr_stream_list l = {0};
        wr_err e = wr_store_stream_list(s, basin, stream_prefix ? stream_prefix : "",
                                        after[0] ? after : NULL, 1000, &l, out_err);
        if (e) {
            wr_stream_list_fini(&l);
            return e == WR_ERR_BASIN_NOT_FOUND ? WR_OK : e;
        }
        for (size_t i = 0; i < l.n && !e; i++)
            if (!l.items[i].deleted)
                e = add_stream(s, basin, l.items[i].name, out, out_err);
        bool more = l.has_more && l.n > 0;
        if (l.n > 0)
            memcpy(after, l.items[l.n - 1].name, sizeof(after));
        wr_stream_list_fini(&l);
        if (e)
            return e;
        if (!more)
            return WR_OK;
    }
}
