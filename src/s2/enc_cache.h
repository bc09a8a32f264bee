/*
 * enc_cache.h — the S2 handlers' cache of a record batch's encodings: each format (JSON raw,
 * JSON base64, protobuf records, a live session's whole payload) is built once per batch and
 * shared by every reader that sends that batch, however many sessions follow the stream.
 *
 * The cache hangs off the batch through the store's one opaque attachment (store/batch.h:
 * wr_batch_attach), so the store knows nothing of S2 encodings; it dies with the batch.
 *
 * Threading: loop thread only (the attachment is created and filled there; the store frees it
 * with the batch's last reference, on whichever thread drops that).
 */
#ifndef WR_S2_ENC_CACHE_H
#define WR_S2_ENC_CACHE_H

#include "store/batch.h"

typedef enum wr_s2_enc_slot {
    WR_S2_ENC_JSON_RAW,    /* wr_buf: records as JSON, s2-format raw (codec.c) */
    WR_S2_ENC_JSON_BASE64, /* wr_buf: records as JSON, s2-format base64 (codec.c) */
    WR_S2_ENC_PROTO,       /* wr_buf: protobuf SequencedRecords (proto.c) */
    WR_S2_ENC_LIVE,        /* whole live-delivery payloads (session.c) */
    WR_S2_ENC_N,
} wr_s2_enc_slot;

/* The cached encoding in `slot`, or NULL. Borrowed: valid while the batch is. */
void *wr_s2_enc_get(const wr_batch *b, wr_s2_enc_slot slot);
/* Takes ownership of `enc` (freed with free_fn when the batch dies); replaces, and frees, an
 * existing entry of that slot. */
void wr_s2_enc_set(wr_batch *b, wr_s2_enc_slot slot, void *enc, void (*free_fn)(void *));

#endif
