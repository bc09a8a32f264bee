/*
 * usage_int.h — what usage.c (pending counts, jobs, flush, sample, retention) and usage_query.c
 * (range reads) share. Not for other modules.
 *
 * A pending entry is one (stream, minute) of counters, or one (basin, minute, op) count. A
 * table of them belongs to the loop until it is handed to a job: a flush job owns the table it
 * writes; a query job owns a filtered copy. Worker functions take only what they read (the
 * store's DB handle is thread-safe) and never touch loop-owned state.
 */
#ifndef WR_STORE_USAGE_INT_H
#define WR_STORE_USAGE_INT_H

#include "store/store_int.h"

typedef struct uent {
    uint64_t hash;
    uint64_t minute_s;               /* bucket start, Unix seconds */
    uint8_t op;                      /* 0: counters of (basin, stream); else an op count of basin */
    char *basin;                     /* "" = the account (ops only) */
    char *stream;                    /* counters only; "" = unattributed (see store.h, Usage) */
    uint64_t c[WR_USAGE_N_COUNTERS]; /* ops: c[0] */
} uent;

typedef struct utab {
    uent **slots; /* open addressing, power-of-two capacity */
    size_t cap, n;
} utab;

utab *wr_usage__tab_new(void);
void wr_usage__tab_free(utab *t);
/* Finds or adds the entry; `stream` NULL for op entries. */
uent *wr_usage__tab_get(utab *t, const char *basin, const char *stream, uint64_t minute_s,
                        uint8_t op, bool insert);

/* u64 counters row values (keys.h): encode writes n*8 bytes; decode adds into out. */
void wr_usage__counters_encode(const uint64_t *c, size_t n, uint8_t *out);
void wr_usage__counters_add(const uint8_t *v, size_t len, uint64_t *out, size_t n);

/* The exact storage of stream `id` from its TS_INDEX ledgers (legacy batches are read). */
wr_err wr_usage__stream_storage(wr_store *s, uint64_t id, uint64_t *out_metered,
                                uint64_t *out_stored, wr_error *out_err);

/* One iterator error check for every scan: STORAGE with the message, or OK. */
wr_err wr_usage__iter_err(rocksdb_iterator_t *it, wr_error *out_err);

/* The key just past every key starting with prefix (prefix with its last byte incremented;
 * prefixes here never end in 0xFF). */
void wr_usage__prefix_end(const wr_buf *prefix, wr_buf *out);

/* usage_query.c: runs a query (worker). `pending` is the query's copy of pending entries. */
void wr_usage__query_run(wr_store *s, const wr_usage_query *q, uint64_t now_s, const utab *pending,
                         wr_usage_result *res);

#endif
