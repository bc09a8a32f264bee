/*
 * rbuf.h — immutable, reference-counted byte blocks, and the scatter list that carries them.
 *
 * Why: one live batch is encoded once and written to every reader that follows its stream.
 * A reader whose socket is full used to get its own copy of the batch queued in memory, so a
 * thousand stalled readers held a thousand copies. A wr_rbuf lets every queued write refer to
 * the one encoding instead: memory per stalled reader is a few pointers, not a batch.
 *
 * Threads: the count is atomic, because the last reference may be dropped wherever the owner
 * of the batch drops it (a batch can be freed on a worker thread). The bytes never change after
 * wr_rbuf_new.
 */
#ifndef WR_UTIL_RBUF_H
#define WR_UTIL_RBUF_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct wr_rbuf {
    atomic_size_t refs;
    size_t len;
    char data[];
} wr_rbuf;

/* A copy of data[0..len) with one reference. */
wr_rbuf *wr_rbuf_new(const void *data, size_t len);
/* Adds a reference; returns b. */
wr_rbuf *wr_rbuf_ref(wr_rbuf *b);
/* Drops a reference; the last one frees. NULL is a no-op. */
void wr_rbuf_unref(wr_rbuf *b);

/*
 * One piece of an outgoing byte sequence: `len` bytes at `data`. With `ref` NULL the bytes are
 * borrowed for the duration of the call that receives them (the callee copies what it keeps);
 * with `ref` set, data lies inside ref and the callee keeps a reference instead of a copy.
 */
typedef struct wr_iov {
    const void *data;
    size_t len;
    wr_rbuf *ref;
} wr_iov;

#endif
