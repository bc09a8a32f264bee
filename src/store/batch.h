/*
 * batch.h — records, the on-disk record batch value, and the refcounted in-memory batch.
 *
 * One appended batch is stored as ONE RocksDB value under key 06 ‖ stream_id ‖ first_seq.
 * Value layout, format 2 (all integers big-endian):
 *
 * | offset | size | field                                  | PERSISTED: never renumber       |
 * |--------|------|----------------------------------------|---------------------------------|
 * | 0      | 1    | format = 0x02 (0x01: see below)        | PERSISTED: never renumber       |
 * | 1      | 3    | reserved, zero                         |                                 |
 * | 4      | 4    | n_records (1–1000)                     |                                 |
 * | 8      | 8    | first_seq                              |                                 |
 * | 16     | 8    | first_ts (ms)                          |                                 |
 * | 24     | 8    | last_ts (ms)                           |                                 |
 * | 32     | 8    | metered bytes of the whole batch       |                                 |
 * | 40     | 8    | arrival_ms: server write time (ms)     | format 2 only                   |
 * | 48     | …    | n_records × record                     |                                 |
 * | len-4  | 4    | CRC-32C of bytes [0, len-4)            |                                 |
 *
 * Format 1 (still decoded, never written) is the same without arrival_ms: records start at
 * offset 40, and its arrival is taken to be last_ts. arrival_ms is what age retention measures
 * (a batch expires as a whole once its arrival is older than the retention age); it is
 * monotonic per stream.
 *
 * record: seq u64 ‖ ts u64 ‖ n_headers u32 ‖ n_headers × (name_len u32 ‖ name ‖ value_len u32 ‖
 * value) ‖ body_len u32 ‖ body. Record i has seq = first_seq + i (checked on decode).
 *
 * A wr_batch is immutable once built, except for its encoding cache slots. Reference counts are
 * atomic, so a batch built on a worker thread may be handed to the loop; the encoding cache is
 * touched only on the loop thread. The batch owns its bytes; record and header views point into
 * them and stay valid while the caller holds a reference.
 */
#ifndef WR_STORE_BATCH_H
#define WR_STORE_BATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define WR_BATCH_FORMAT_V1 1 /* PERSISTED: never renumber */
#define WR_BATCH_FORMAT 2    /* PERSISTED: never renumber */
#define WR_BATCH_HEADER_LEN_V1 40
#define WR_BATCH_HEADER_LEN 48
#define WR_MAX_BATCH_RECORDS 1000
#define WR_MAX_BATCH_BYTES (1024u * 1024u)

typedef struct wr_header {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
} wr_header;

/* A record as submitted to an append (borrowed pointers). */
typedef struct wr_append_record {
    bool has_ts;
    uint64_t ts_ms;
    uint32_t n_headers;
    const wr_header *headers;
    const uint8_t *body;
    size_t body_len;
} wr_append_record;

/* A sequenced record inside a wr_batch. */
typedef struct wr_record {
    uint64_t seq;
    uint64_t ts_ms;
    uint32_t n_headers;
    const wr_header *headers;
    const uint8_t *body;
    size_t body_len;
    uint32_t metered; /* metered size of this record */
} wr_record;

typedef struct wr_batch {
    /* Read-only for users. */
    uint64_t stream_id;
    uint64_t first_seq;
    uint64_t end_seq; /* first_seq + n_records */
    uint64_t first_ts;
    uint64_t last_ts;
    uint64_t metered_bytes;
    uint64_t arrival_ms; /* server write time; last_ts for a format-1 value */
    uint32_t n_records;
    wr_record *records;
    /* Private. */
    atomic_uint refs;
    wr_header *headers_store;
    uint8_t *data;
    size_t len;
    void *attachment; /* the upper layer's (wr_batch_attach) */
    void (*attachment_free)(void *);
    bool one_block; /* built here: views and data share the batch's allocation */
} wr_batch;

/* Metered size: 8 + 2·H + Σ(name+value) + body. */
uint64_t wr_record_metered(const wr_header *headers, uint32_t n_headers, size_t body_len);

/*
 * Encodes a (format 2) batch value for records `recs` with seq first_seq.. and the final
 * timestamps `ts[i]`, arriving at `arrival_ms`, and returns a new batch (one reference). Never
 * fails (allocation aborts).
 */
wr_batch *wr_batch_build_at(uint64_t stream_id, uint64_t first_seq, const wr_append_record *recs,
                            const uint64_t *ts, uint32_t n, uint64_t arrival_ms);
/* wr_batch_build_at with arrival_ms = ts[n - 1]. */
wr_batch *wr_batch_build(uint64_t stream_id, uint64_t first_seq, const wr_append_record *recs,
                         const uint64_t *ts, uint32_t n);

/*
 * Decodes and verifies a stored value. Takes ownership of `data` (malloc'd) in every case.
 * Returns WR_ERR_STORAGE (with a message) on a CRC mismatch or malformed layout, never a
 * partially decoded batch.
 */
wr_err wr_batch_decode(uint64_t stream_id, uint8_t *data, size_t len, wr_batch **out,
                       wr_error *out_err);

/* Reads the fixed header of a value without verifying the CRC (used by recovery, which then
 * verifies the whole value). Returns false if too short or of an unknown format. */
bool wr_batch_peek(const uint8_t *v, size_t len, uint64_t *out_first_seq, uint32_t *out_n,
                   uint64_t *out_last_ts);
/* Like wr_batch_peek, for the arrival time only (last_ts for a format-1 value). */
bool wr_batch_peek_arrival(const uint8_t *v, size_t len, uint64_t *out_arrival_ms);

/* The stored value bytes (valid while referenced). */
const uint8_t *wr_batch_bytes(const wr_batch *b, size_t *out_len);

wr_batch *wr_batch_ref(wr_batch *b);
/* Drops a reference; the last one frees the bytes and the attachment. NULL is a no-op. */
void wr_batch_unref(wr_batch *b);

/*
 * One opaque attachment per batch for the layer above (the S2 handlers keep their encodings of
 * the batch there: s2/enc_cache.h); the store never looks inside. Loop thread only. attach()
 * takes ownership of `p`, freed with `free_fn` when the last reference goes (on the thread that
 * drops it); it replaces, and frees, an existing attachment. attachment() returns it or NULL.
 */
void *wr_batch_attachment(const wr_batch *b);
void wr_batch_attach(wr_batch *b, void *p, void (*free_fn)(void *));

#endif
