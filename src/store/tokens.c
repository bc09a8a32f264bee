/*
 * tokens.c — persistence of access-token records under key family ACCESS_TOKEN (0x0A ‖ id).
 * The values are opaque here; src/auth/ owns their format. Writes go through the synced
 * metadata path, so a failed store refuses them like any other write.
 */
#include <rocksdb/c.h>
#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "store/store_int.h"
#include "util/buf.h"

static void
token_key(wr_buf *k, const char *id)
{
    wr_buf_append_byte(k, WR_KEY_ACCESS_TOKEN);
    wr_buf_append_str(k, id);
}

static wr_err
exists(wr_store *s, const wr_buf *key, bool *out, wr_error *out_err)
{
    char *v;
    size_t vlen;
    wr_err e = wr_store__get(s, key->data, key->len, &v, &vlen, out_err);
    *out = v != NULL;
    rocksdb_free(v);
    return e;
}

wr_err
wr_store_token_put(wr_store *s, const char *id, const void *value, size_t len, wr_error *out_err)
{
    wr_buf key = {0};
    token_key(&key, id);
    bool found = false;
    wr_err e = exists(s, &key, &found, out_err);
    if (e == WR_OK && found)
        e = wr_error_set(out_err, WR_ERR_RESOURCE_ALREADY_EXISTS,
                         "an access token with this id already exists");
    if (e == WR_OK) {
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        rocksdb_writebatch_put(wb, key.data, key.len, value, len);
        e = wr_store__write(s, wb, DB_WRITE_META, out_err);
        rocksdb_writebatch_destroy(wb);
    }
    wr_buf_fini(&key);
    return e;
}

wr_err
wr_store_token_delete(wr_store *s, const char *id, wr_error *out_err)
{
    wr_buf key = {0};
    token_key(&key, id);
    bool found = false;
    wr_err e = exists(s, &key, &found, out_err);
    if (e == WR_OK && !found)
        e = wr_error_set(out_err, WR_ERR_ACCESS_TOKEN_NOT_FOUND, "no access token with this id");
    if (e == WR_OK) {
        rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
        rocksdb_writebatch_delete(wb, key.data, key.len);
        e = wr_store__write(s, wb, DB_WRITE_META, out_err);
        rocksdb_writebatch_destroy(wb);
    }
    wr_buf_fini(&key);
    return e;
}

wr_err
wr_store_token_scan(wr_store *s,
                    void (*fn)(void *ud, const char *id, size_t id_len, const char *value,
                               size_t len),
                    void *ud, wr_error *out_err)
{
    const char lo = WR_KEY_ACCESS_TOKEN, hi = WR_KEY_ACCESS_TOKEN + 1;
    db_iter it;
    wr_store__iter_open(&it, s, NULL, 0, &hi, 1);
    for (wr_store__iter_seek(&it, &lo, 1); wr_store__iter_valid(&it); wr_store__iter_next(&it)) {
        size_t klen, vlen;
        const char *k = wr_store__iter_key(&it, &klen);
        const char *v = wr_store__iter_value(&it, &vlen);
        fn(ud, k + 1, klen - 1, v, vlen);
    }
    return wr_store__iter_end(&it, WR_OK, out_err);
}
