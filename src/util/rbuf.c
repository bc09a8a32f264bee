/*
 * rbuf.c — see rbuf.h.
 */
#include "util/rbuf.h"

#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

wr_rbuf *
wr_rbuf_new(const void *data, size_t len)
{
    wr_rbuf *b = wr_xmalloc(sizeof(*b) + len + 1);
    atomic_init(&b->refs, 1);
    b->len = len;
    if (len)
        memcpy(b->data, data, len);
    b->data[len] = '\0';
    return b;
}

wr_rbuf *
wr_rbuf_ref(wr_rbuf *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void
wr_rbuf_unref(wr_rbuf *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}
