/*
 * keys.h — the RocksDB key families of the stream store, and their fixed-size values.
 *
 * Every key starts with a one-byte family type. All integers are big-endian so that RocksDB's
 * bytewise comparator orders them numerically. Everything marked `PERSISTED: never renumber`
 * is on disk in existing data directories: changing it silently corrupts them.
 *
 * Stream ids: a stream gets a fresh u64 id (starting at 1) when it is created; the id is never
 * reused, so a re-created stream never sees data of an earlier stream with the same name. The
 * next id is recovered at open as the larger of 1 + the largest id in family 09 and the
 * NEXT_ID high-water mark (08 05), which outlives streams that are deleted entirely.
 *
 * | type | PERSISTED: never renumber | key bytes                                   | value                    |
 * |------|---------------------------|---------------------------------------------|--------------------------|
 * | 0x01 | BASIN_META                | 01 ‖ basin name (8–48 bytes)                | JSON (config.c)          |
 * | 0x02 | STREAM_META               | 02 ‖ basin ‖ 00 ‖ stream name (1–512 bytes) | JSON (config.c)          |
 * | 0x03 | STREAM_TAIL               | 03 ‖ stream_id u64                          | next_seq u64 ‖ last_ts u64 |
 * | 0x04 | STREAM_FENCE              | 04 ‖ stream_id u64                          | token bytes (0–36)       |
 * | 0x05 | STREAM_TRIM               | 05 ‖ stream_id u64                          | trim seq u64 (exclusive) |
 * | 0x06 | BATCH                     | 06 ‖ stream_id u64 ‖ first_seq u64          | batch value (batch.h)    |
 * | 0x07 | TS_INDEX                  | 07 ‖ stream_id u64 ‖ first_ts u64 ‖ first_seq u64 | usage ledger (below) |
 * | 0x08 | LIFECYCLE                 | 08 ‖ subtype ‖ …  (lifecycle.c; subtypes below)        |                          |
 * | 0x09 | STREAM_ID                 | 09 ‖ stream_id u64                          | basin ‖ 00 ‖ stream      |
 * | 0x0A | ACCESS_TOKEN              | 0A ‖ token id (1–96 bytes)                  | JSON (auth/auth.c, stored by store/tokens.c): id, SHA-256 of the secret, scope, expiry; never the secret |
 * | 0x0B | USAGE                     | 0B ‖ subtype ‖ …  (usage.c; subtypes below)  |                          |
 *
 * LIFECYCLE subtypes (second key byte; PERSISTED: never renumber):
 * | 08 01 | BASIN_DELETION   | 08 01 ‖ basin                   | stream-name cursor: every stream ≤ it is gone |
 * | 08 03 | DOE_DEADLINE     | 08 03 ‖ stream_id u64           | deadline ms u64 (delete-on-empty streams only) |
 * | 08 04 | PIN              | 08 04 ‖ stream_id u64           | pin count u64 (absent = not pinned)            |
 * | 08 05 | NEXT_ID          | 08 05                           | u64: every id below it was used (ids of fully  |
 * |       |                  |                                 | deleted streams are never handed out again)    |
 *
 * TS_INDEX value, the usage ledger of the batch (PERSISTED: never renumber): empty for batches
 * written before weir kept usage (legacy), else 32 bytes:
 *   metered_before u64 ‖ metered u64 ‖ stored_before u64 ‖ stored u64
 * `metered` is the batch's metered bytes, `stored` the length of its BATCH value, and the
 * `_before` fields the sums of the same over the stream's earlier batches since a point where the
 * stream had no batch stored (they restart at 0 when a stream with none is loaded). The stored
 * bytes of a stream are therefore last.before + last − first.before over its present TS_INDEX
 * keys, exact whichever file (SST or blob) RocksDB keeps the values in (usage.c).
 *
 * USAGE subtypes (second key byte; PERSISTED: never renumber). `res` is the bucket resolution
 * (01 minute, 02 hour, 03 day; PERSISTED: never renumber), `bucket` the bucket's start in Unix
 * seconds, `op` a wr_usage_op code (store.h; PERSISTED). An empty basin ("") is the account.
 * | 0B 01 | COUNTERS       | 0B 01 ‖ res ‖ basin ‖ 00 ‖ stream ‖ 00 ‖ bucket u64 | counters (below)       |
 * | 0B 02 | BASIN_COUNTERS | 0B 02 ‖ res ‖ basin ‖ 00 ‖ bucket u64            | counters: the basin's  |
 * |       |                |                                                  | streams summed         |
 * | 0B 03 | OPS            | 0B 03 ‖ res ‖ basin ‖ 00 ‖ bucket u64 ‖ op u8    | count u64              |
 * | 0B 04 | STORAGE        | 0B 04 ‖ basin ‖ 00 ‖ stream ‖ 00 ‖ hour u64       | metered u64 ‖ stored u64 |
 * | 0B 05 | BASIN_STORAGE  | 0B 05 ‖ basin ‖ 00 ‖ hour u64                    | metered u64 ‖ stored u64 ‖ n_streams u64 |
 * Counters values are u64s in the order of wr_usage_counter (store.h; PERSISTED); a shorter value
 * means the missing ones are 0, so counters are only ever added at the end. COUNTERS rows with
 * the stream "" (not a valid stream name) hold counts that could not be attributed to a stream
 * (store.h, Usage). STORAGE rows are written only when the value changed: the value at a time is
 * the newest row at or before it.
 *
 * Invariants kept by the commit thread (one WriteBatch per group commit):
 *  - BATCH, TS_INDEX and STREAM_TAIL of an append are written in the same WriteBatch, so after
 *    any crash the tail equals the end of the last stored batch of the stream (checked at open).
 *  - A batch's first_seq equals the previous batch's end; seq_nums are dense per stream.
 *  - STREAM_TRIM and STREAM_FENCE change only in the WriteBatch of the command record that set
 *    them.
 */
#ifndef WR_STORE_KEYS_H
#define WR_STORE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum {
    WR_KEY_BASIN_META = 0x01,   /* PERSISTED: never renumber */
    WR_KEY_STREAM_META = 0x02,  /* PERSISTED: never renumber */
    WR_KEY_STREAM_TAIL = 0x03,  /* PERSISTED: never renumber */
    WR_KEY_STREAM_FENCE = 0x04, /* PERSISTED: never renumber */
    WR_KEY_STREAM_TRIM = 0x05,  /* PERSISTED: never renumber */
    WR_KEY_BATCH = 0x06,        /* PERSISTED: never renumber */
    WR_KEY_TS_INDEX = 0x07,     /* PERSISTED: never renumber */
    WR_KEY_LIFECYCLE = 0x08,    /* PERSISTED: never renumber */
    WR_KEY_STREAM_ID = 0x09,    /* PERSISTED: never renumber */
    WR_KEY_ACCESS_TOKEN = 0x0A, /* PERSISTED: never renumber */
    WR_KEY_USAGE = 0x0B,        /* PERSISTED: never renumber */
};

/* Subtypes of WR_KEY_USAGE (the key's second byte). */
enum {
    WR_USAGE_K_COUNTERS = 0x01,       /* PERSISTED: never renumber */
    WR_USAGE_K_BASIN_COUNTERS = 0x02, /* PERSISTED: never renumber */
    WR_USAGE_K_OPS = 0x03,            /* PERSISTED: never renumber */
    WR_USAGE_K_STORAGE = 0x04,        /* PERSISTED: never renumber */
    WR_USAGE_K_BASIN_STORAGE = 0x05,  /* PERSISTED: never renumber */
};

#define WR_TS_LEDGER_LEN 32

/* Subtypes of WR_KEY_LIFECYCLE (the key's second byte). */
enum {
    WR_LC_BASIN_DELETION = 0x01, /* PERSISTED: never renumber */
    WR_LC_DOE_DEADLINE = 0x03,   /* PERSISTED: never renumber */
    WR_LC_PIN = 0x04,            /* PERSISTED: never renumber */
    WR_LC_NEXT_ID = 0x05,        /* PERSISTED: never renumber */
};

/* Sizes of the fixed-width keys and values. */
#define WR_KEY_ID_LEN 9     /* type ‖ id */
#define WR_KEY_BATCH_LEN 17 /* type ‖ id ‖ seq */
#define WR_KEY_TS_LEN 25    /* type ‖ id ‖ ts ‖ seq */
#define WR_TAIL_VALUE_LEN 16
#define WR_KEY_LC_ID_LEN 10 /* 08 ‖ subtype ‖ id */

/* 01 ‖ basin. Resets `out` first. */
void wr_key_basin_meta(wr_buf *out, const char *basin, size_t basin_len);
/* 02 ‖ basin ‖ 00 ‖ stream. Resets `out` first. */
void wr_key_stream_meta(wr_buf *out, const char *basin, size_t basin_len, const char *stream,
                        size_t stream_len);
/* 02 ‖ basin ‖ 00: the prefix of every stream of a basin. Resets `out` first. */
void wr_key_stream_meta_prefix(wr_buf *out, const char *basin, size_t basin_len);
/* type ‖ id for the per-stream families 03, 04, 05 and 09. */
void wr_key_stream_id(uint8_t out[WR_KEY_ID_LEN], uint8_t type, uint64_t id);
/* 08 ‖ subtype ‖ id for the per-stream lifecycle subtypes (DOE_DEADLINE, PIN). */
void wr_key_lc_id(uint8_t out[WR_KEY_LC_ID_LEN], uint8_t subtype, uint64_t id);
/* 08 01 ‖ basin. Resets `out` first. */
void wr_key_basin_deletion(wr_buf *out, const char *basin, size_t basin_len);
void wr_key_batch(uint8_t out[WR_KEY_BATCH_LEN], uint64_t id, uint64_t first_seq);
void wr_key_ts_index(uint8_t out[WR_KEY_TS_LEN], uint64_t id, uint64_t first_ts,
                     uint64_t first_seq);

/* Decoders return false when the bytes are not a key of that family. */
bool wr_key_stream_id_decode(const uint8_t *k, size_t len, uint8_t type, uint64_t *out_id);
bool wr_key_batch_decode(const uint8_t *k, size_t len, uint64_t *out_id, uint64_t *out_seq);
bool wr_key_ts_index_decode(const uint8_t *k, size_t len, uint64_t *out_id, uint64_t *out_ts,
                            uint64_t *out_seq);
/*
 * Splits a STREAM_META key (or a STREAM_ID value, which is the same bytes without the type) into
 * its basin and stream parts (pointers into `k`). `has_type` says whether k[0] is the type byte.
 */
bool wr_key_stream_meta_decode(const uint8_t *k, size_t len, bool has_type, const char **out_basin,
                               size_t *out_basin_len, const char **out_stream,
                               size_t *out_stream_len);

/*
 * The start of a USAGE series key: 0B ‖ kind ‖ [res, when res != 0] ‖ basin ‖ 00 ‖
 * [stream ‖ 00, when stream != NULL]. The caller appends the bucket (and op). Resets `out`.
 */
void wr_key_usage_series(wr_buf *out, uint8_t kind, uint8_t res, const char *basin,
                         const char *stream, size_t stream_len);

/* TS_INDEX ledger value. decode returns false for a legacy (empty) or malformed value. */
void wr_ts_ledger(uint8_t out[WR_TS_LEDGER_LEN], uint64_t metered_before, uint64_t metered,
                  uint64_t stored_before, uint64_t stored);
bool wr_ts_ledger_decode(const uint8_t *v, size_t len, uint64_t *out_metered_before,
                         uint64_t *out_metered, uint64_t *out_stored_before, uint64_t *out_stored);

/* STREAM_TAIL value: next_seq ‖ last_ts. */
void wr_tail_value(uint8_t out[WR_TAIL_VALUE_LEN], uint64_t seq, uint64_t ts);
bool wr_tail_value_decode(const uint8_t *v, size_t len, uint64_t *out_seq, uint64_t *out_ts);

#endif
