/*
 * tokens.c — persistence of access-token records under key family ACCESS_TOKEN (0x0A ‖ id).
 * The values are opaque here; src/auth/ owns their format and keeps every record in memory, so
 * it decides whether an id exists: this file writes what it is given.
 *
 * Writes go through the commit thread (wr_store__meta_submit), never a synced write on the loop:
 * a call's changes form one batch, merged into the commit thread's next synced group write, and
 * its callback runs on the loop once they are durable. A failed store refuses them like any
 * other write.
 */
#include <rocksdb/c.h>
#include <stdlib.h>
#include <string.h>

#include "store/keys.h"
#include "store/store_int.h"
#include "util/buf.h"
#include "util/mem.h"

/* A batch of token changes on its way through the commit thread. */
typedef struct token_op {
    meta_op op; /* first: a meta_op * is a token_op * */
    wr_store_done_cb cb;
    void *ud;
} token_op;

static void
token_key(wr_buf *k, const char *id)
{
    wr_buf_append_byte(k, WR_KEY_ACCESS_TOKEN);
    wr_buf_append_str(k, id);
}

/* The message of a token write that was not made. */
static void
write_error(wr_err err, wr_error *out)
{
    wr_error_set(out, err,
                 err == WR_ERR_UNAVAILABLE ? "the store is closing; the access token change was "
                                             "not written"
                                           : "access token write failed; the store refuses "
                                             "writes until it is reopened");
}

/* Loop thread: the batch is durable, or was not written (op->err). */
static void
tokens_written(wr_store *s, meta_op *op)
{
    (void)s;
    token_op *t = (token_op *)op;
    wr_error err = {0};
    if (op->err != WR_OK)
        write_error(op->err, &err);
    t->cb(t->ud, op->err, &err);
    rocksdb_writebatch_destroy(op->wb);
    free(t);
}

void
wr_store_tokens_write_async(wr_store *s, const wr_store_token_change *changes, size_t n,
                            wr_store_done_cb cb, void *ud)
{
    wr_error err = {0};
    if (n == 0) {
        cb(ud, WR_OK, &err);
        return;
    }
    if (atomic_load(&s->failed)) { /* as wr_store__write would answer, without a round trip */
        wr_error_set(&err, WR_ERR_STORAGE,
                     "the store is in the failed state (an earlier write or read failed); it "
                     "refuses writes until it is reopened");
        cb(ud, WR_ERR_STORAGE, &err);
        return;
    }
    token_op *t = wr_xcalloc(1, sizeof(*t));
    t->cb = cb;
    t->ud = ud;
    t->op.wb = rocksdb_writebatch_create();
    wr_buf key = {0};
    for (size_t i = 0; i < n; i++) {
        wr_buf_reset(&key);
        token_key(&key, changes[i].id);
        if (changes[i].value)
            rocksdb_writebatch_put(t->op.wb, key.data, key.len, changes[i].value, changes[i].len);
        else
            rocksdb_writebatch_delete(t->op.wb, key.data, key.len);
    }
    wr_buf_fini(&key);
    t->op.done = tokens_written;
    wr_store__meta_submit(s, &t->op);
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
