/*
 * db.c — the store's reads and writes of RocksDB, and its failed state.
 *
 * Three outcomes. A lookup gives the value, "absent", or an error; a scan ends at the end of
 * its range or with an error. Every read of the store goes through here so that an error can
 * never pass for "absent" or for the end of a range (that is how a pin count reads as 0 and a
 * pinned stream gets deleted, or how a failed basin scan looks like an empty basin):
 *   wr_store__get / wr_store__get_u64   point lookups: value, NULL (absent), or WR_ERR_STORAGE;
 *   db_iter + wr_store__iter_end        scans: every loop ends with iter_end, which says why
 *                                       valid() turned false: WR_OK, or WR_ERR_STORAGE.
 * A RocksDB read error (or one injected by opts.read_hook, which sees every lookup and every
 * iterator move) puts the store in the failed state, as a failed synced write does
 * (wr_store__fail): the operation stops, later writes are refused, reads go on. A value that
 * reads fine but does not decode is the caller's business: an error of that operation only.
 *
 * Writes. wr_store__write is the one write path (group commits, metadata changes, maintenance):
 * refused once the store has failed; every write consults opts.sync_hook first; any write
 * that fails puts the store in the failed state. Each caller keeps its durability through the
 * kind: group commits and metadata changes are synced; reclamation and the deadline bump at a
 * hold's release are not (a lost one is redone or harmless).
 *
 * Threads: any (loop, worker pool, commit thread for wr_store__fail). A db_iter belongs to the
 * thread that opened it.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/buf.h"
#include "util/log.h"

#define INJECTED "injected read fault"

void
wr_store__fail(wr_store *s, const char *why)
{
    if (!atomic_exchange(&s->failed, true))
        wr_log_error("store failed: refusing writes until reopened", " reason=\"%s\"", why);
}

static bool
fault(wr_store *s, wr_store_read_kind kind, const void *key, size_t key_len)
{
    return s->opts.read_hook && s->opts.read_hook(s->opts.read_hook_ud, kind, key, key_len);
}

/* A read failed with RocksDB's message `err` (freed here): the store fails. */
static wr_err
read_failed(wr_store *s, const char *what, char *err, wr_error *out_err)
{
    wr_error e;
    wr_error_set(&e, WR_ERR_STORAGE, "rocksdb %s: %s", what, err ? err : INJECTED);
    rocksdb_free(err);
    wr_store__fail(s, e.msg);
    if (out_err)
        *out_err = e;
    return WR_ERR_STORAGE;
}

wr_err
wr_store__write(wr_store *s, rocksdb_writebatch_t *wb, db_write_kind kind, wr_error *out_err)
{
    static const char *const what[] = {"group commit", "metadata write", "unsynced write"};
    if (rocksdb_writebatch_count(wb) == 0)
        return WR_OK;
    if (atomic_load(&s->failed))
        return wr_error_set(out_err, WR_ERR_STORAGE, "store is in the failed state");
    bool sync = kind != DB_WRITE_UNSYNCED;
    wr_store_sync_kind hook = kind == DB_WRITE_COMMIT ? WR_STORE_SYNC_COMMIT
                              : sync                  ? WR_STORE_SYNC_META
                                                      : WR_STORE_WRITE_UNSYNCED;
    wr_error e;
    if (s->opts.sync_hook && s->opts.sync_hook(s->opts.sync_hook_ud, hook)) {
        wr_error_set(&e, WR_ERR_STORAGE, "%s: %s failed (injected)", what[kind],
                     sync ? "sync" : "write");
    } else {
        char *err = NULL;
        rocksdb_write(s->db, sync ? s->wo_sync : s->wo_nosync, wb, &err);
        if (!err)
            return WR_OK;
        wr_error_set(&e, WR_ERR_STORAGE, "rocksdb %s: %s", what[kind], err);
        rocksdb_free(err);
    }
    wr_store__fail(s, e.msg);
    if (out_err)
        *out_err = e;
    return WR_ERR_STORAGE;
}

wr_err
wr_store__get(wr_store *s, const void *k, size_t klen, char **out_v, size_t *out_len,
              wr_error *out_err)
{
    *out_v = NULL;
    *out_len = 0;
    if (fault(s, WR_STORE_READ_GET, k, klen))
        return read_failed(s, "get", NULL, out_err);
    char *err = NULL;
    char *v = rocksdb_get(s->db, s->ro, k, klen, out_len, &err);
    if (err) {
        rocksdb_free(v);
        return read_failed(s, "get", err, out_err);
    }
    *out_v = v;
    return WR_OK;
}

wr_err
wr_store__get_u64(wr_store *s, const void *k, size_t klen, uint64_t *out_v, bool *out_found,
                  wr_error *out_err)
{
    char *v;
    size_t vlen;
    if (out_found)
        *out_found = false;
    wr_err e = wr_store__get(s, k, klen, &v, &vlen, out_err);
    if (e || !v)
        return e;
    bool ok = vlen == 8;
    if (ok)
        *out_v = wr_get_be64((const uint8_t *)v);
    rocksdb_free(v);
    if (!ok)
        return wr_error_set(out_err, WR_ERR_STORAGE, "a u64 value has %zu bytes", vlen);
    if (out_found)
        *out_found = true;
    return WR_OK;
}

void
wr_store__iter_open(db_iter *i, wr_store *s, const void *lo, size_t lo_len, const void *hi,
                    size_t hi_len)
{
    memset(i, 0, sizeof(*i));
    i->s = s;
    i->ro = rocksdb_readoptions_create();
    if (lo) /* the C API copies the bounds */
        rocksdb_readoptions_set_iterate_lower_bound(i->ro, lo, lo_len);
    if (hi)
        rocksdb_readoptions_set_iterate_upper_bound(i->ro, hi, hi_len);
    i->it = rocksdb_create_iterator(s->db, i->ro);
}

void
wr_store__iter_seek(db_iter *i, const void *k, size_t len)
{
    i->fault = i->fault || fault(i->s, WR_STORE_READ_SEEK, k, len);
    if (!i->fault)
        rocksdb_iter_seek(i->it, k, len);
}

void
wr_store__iter_seek_for_prev(db_iter *i, const void *k, size_t len)
{
    i->fault = i->fault || fault(i->s, WR_STORE_READ_SEEK, k, len);
    if (!i->fault)
        rocksdb_iter_seek_for_prev(i->it, k, len);
}

bool
wr_store__iter_valid(const db_iter *i)
{
    return !i->fault && rocksdb_iter_valid(i->it);
}

void
wr_store__iter_next(db_iter *i)
{
    size_t klen;
    const char *k = rocksdb_iter_key(i->it, &klen);
    i->fault = fault(i->s, WR_STORE_READ_NEXT, k, klen);
    if (!i->fault)
        rocksdb_iter_next(i->it);
}

const char *
wr_store__iter_key(const db_iter *i, size_t *out_len)
{
    return rocksdb_iter_key(i->it, out_len);
}

const char *
wr_store__iter_value(const db_iter *i, size_t *out_len)
{
    return rocksdb_iter_value(i->it, out_len);
}

wr_err
wr_store__iter_error(db_iter *i, wr_error *out_err)
{
    if (i->fault)
        return read_failed(i->s, "iterate", NULL, out_err);
    char *err = NULL;
    rocksdb_iter_get_error(i->it, &err);
    return err ? read_failed(i->s, "iterate", err, out_err) : WR_OK;
}

wr_err
wr_store__iter_end(db_iter *i, wr_err e, wr_error *out_err)
{
    wr_err ie = wr_store__iter_error(i, e ? NULL : out_err);
    rocksdb_iter_destroy(i->it);
    rocksdb_readoptions_destroy(i->ro);
    memset(i, 0, sizeof(*i));
    return e ? e : ie;
}
