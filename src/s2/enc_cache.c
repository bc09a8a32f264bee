/*
 * enc_cache.c — see enc_cache.h. One small table per batch, created on first use.
 */
#include "s2/enc_cache.h"

#include <stdlib.h>

#include "util/mem.h"

typedef struct enc_cache {
    void *enc[WR_S2_ENC_N];
    void (*enc_free[WR_S2_ENC_N])(void *);
} enc_cache;

static void
cache_free(void *p)
{
    enc_cache *c = p;
    for (unsigned i = 0; i < WR_S2_ENC_N; i++)
        if (c->enc[i] && c->enc_free[i])
            c->enc_free[i](c->enc[i]);
    free(c);
}

void *
wr_s2_enc_get(const wr_batch *b, wr_s2_enc_slot slot)
{
    const enc_cache *c = wr_batch_attachment(b);
    return c && slot < WR_S2_ENC_N ? c->enc[slot] : NULL;
}

void
wr_s2_enc_set(wr_batch *b, wr_s2_enc_slot slot, void *enc, void (*free_fn)(void *))
{
    if (slot >= WR_S2_ENC_N)
        return;
    enc_cache *c = wr_batch_attachment(b);
    if (c == NULL) {
        c = wr_xcalloc(1, sizeof(*c));
        wr_batch_attach(b, c, cache_free);
    }
    if (c->enc[slot] && c->enc_free[slot])
        c->enc_free[slot](c->enc[slot]);
    c->enc[slot] = enc;
    c->enc_free[slot] = free_fn;
}
