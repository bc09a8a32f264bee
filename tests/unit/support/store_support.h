/*
 * store_support.h — helpers for the store's unit tests: a temp data directory, a loop with a
 * store on it, synchronous wrappers that run the loop until an append/read callback fires, and a
 * sync hook that counts syncs and can inject a failure.
 */
#ifndef WR_TEST_STORE_SUPPORT_H
#define WR_TEST_STORE_SUPPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "store/store.h"

typedef struct ts_env {
    uv_loop_t loop;
    wr_store *s;
    char dir[256];
    wr_store_opts opts;
    atomic_int syncs_commit;
    atomic_int syncs_meta;
    atomic_int fail_countdown; /* > 0: the n-th next sync fails; 0: never */
} ts_env;

/* Creates a temp dir and opens a store on a fresh loop (asserts on failure). */
void ts_setup(ts_env *e);
/* Closes the store, drains the loop, removes the dir. */
void ts_teardown(ts_env *e);
/* Closes the store and runs the loop until it is fully closed. */
void ts_close(ts_env *e);
/* Opens the store again on the same dir; returns the open error. */
wr_err ts_reopen(ts_env *e, wr_error *err);
/* Runs the loop until *flag becomes true. */
void ts_run_until(ts_env *e, const bool *flag);

/* A basin with the given flags (asserts success). */
void ts_basin(ts_env *e, const char *name, bool create_on_append, bool create_on_read);

/* A record with a text body and an optional timestamp. */
wr_append_record ts_rec(const char *body);
wr_append_record ts_rec_ts(const char *body, uint64_t ts);

/* Appends and waits for the result. */
wr_append_result ts_append(ts_env *e, const char *basin, const char *stream,
                           const wr_append_input *in);
/* Appends n records whose bodies are "<prefix><i>" and waits; returns the result. */
wr_append_result ts_append_n(ts_env *e, const char *basin, const char *stream, const char *prefix,
                             uint32_t n);
/* Reads and waits; the caller frees the result. */
wr_read_result *ts_read(ts_env *e, const char *basin, const char *stream, const wr_read_req *req);
/* Reads everything from seq 0 (may_follow=false, clamp) in as many calls as needed and returns
 * the records' bodies concatenated with '|' (caller frees). */
char *ts_read_all_bodies(ts_env *e, const char *basin, const char *stream);

/* Runs a forced maintenance pass (wr_store_maintain_now) and waits for it. */
void ts_maintain(ts_env *e, bool compact);
/* Creates a stream with the given config (asserts success). */
void ts_stream(ts_env *e, const char *basin, const char *stream, const wr_stream_config *cfg);

#endif
