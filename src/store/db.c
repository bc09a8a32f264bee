/*
 * db.c — the store's reads of RocksDB: point lookups and iterators. Every read of the store goes
 * through here, so that opts.read_hook sees each one and can make it fail the way RocksDB
 * reports an I/O error (a lookup returns an error string; an iterator turns invalid and its
 * status carries the error).
 *
 * Threads: any (loop, worker pool). A db_iter belongs to the thread that opened it.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/mem.h"

#define INJECTED "injected read fault"

static bool
fault(wr_store *s, wr_store_read_kind kind, const void *key, size_t key_len)
{
    return s->opts.read_hook && s->opts.read_hook(s->opts.read_hook_ud, kind, key, key_len);
}

char *
wr_store__db_get(wr_store *s, const void *k, size_t klen, size_t *out_len, char **errptr)
{
    if (fault(s, WR_STORE_READ_GET, k, klen)) {
        *errptr = wr_xstrdup(INJECTED);
        return NULL;
    }
    return rocksdb_get(s->db, s->ro, k, klen, out_len, errptr);
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

void
wr_store__iter_get_error(const db_iter *i, char **errptr)
{
    if (i->fault) {
        *errptr = wr_xstrdup(INJECTED);
        return;
    }
    rocksdb_iter_get_error(i->it, errptr);
}

void
wr_store__iter_close(db_iter *i)
{
    rocksdb_iter_destroy(i->it);
    rocksdb_readoptions_destroy(i->ro);
    i->it = NULL;
    i->ro = NULL;
}
