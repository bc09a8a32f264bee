/*
 * store_support.h — helpers for the store's unit tests: a temp data directory, a loop with a
 * store on it, cmocka fixtures that set both up (with the fake clock and a basin), synchronous
 * wrappers that run the loop until an append/read callback fires, command records, a sync hook
 * that counts syncs and can inject a failure, and a read hook that injects read faults.
 */
#ifndef WR_TEST_STORE_SUPPORT_H
#define WR_TEST_STORE_SUPPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
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
    atomic_bool fail_unsynced; /* unsynced writes fail (they are not counted as syncs) */
    /* Read faults (ts_fail_read), under rf_mu: the store's threads call the hook. */
    pthread_mutex_t rf_mu;
    bool rf_armed, rf_exact;
    wr_store_read_kind rf_kind;
    uint8_t rf_key[600];
    size_t rf_key_len;
    int rf_skip, rf_times, rf_seen, rf_injected;
} ts_env;

/* Creates a temp dir and opens a store on a fresh loop (asserts on failure): ts_init, then
 * ts_open. */
void ts_setup(ts_env *e);
/* The first half of ts_setup: temp dir, loop, and the options (path, sync hook); the caller
 * may change e->opts before ts_open. */
void ts_init(ts_env *e);
/* Opens the store with e->opts (asserts on failure). */
void ts_open(ts_env *e);
/* Closes the store, drains the loop, removes the dir. */
void ts_teardown(ts_env *e);
/* Closes the store and runs the loop until it is fully closed. */
void ts_close(ts_env *e);
/* Opens the store again on the same dir; returns the open error. */
wr_err ts_reopen(ts_env *e, wr_error *err);
/*
 * cmocka fixtures. A test file describes its store once and passes it to every test with
 * TS_TEST(test_fn, &fixture): setup allocates a ts_env, sets the fake clock to fake_now_ms
 * (unless 0), lets `tune` change the options, opens the store, creates `basin` (unless NULL)
 * and calls `populate`; *state is then the ts_env. Teardown closes and removes everything and
 * puts the real clock back.
 */
typedef struct ts_fixture {
    const char *basin;
    bool create_on_append, create_on_read;
    uint64_t fake_now_ms;
    void (*tune)(ts_env *e);     /* before the open: e->opts, hooks; may be NULL */
    void (*populate)(ts_env *e); /* after it: more basins, streams; may be NULL */
} ts_fixture;
int ts_fixture_setup(void **state);
int ts_fixture_teardown(void **state);
#define TS_TEST(fn, fixture)                                                                       \
    cmocka_unit_test_prestate_setup_teardown(fn, ts_fixture_setup, ts_fixture_teardown,            \
                                             (void *)(fixture))

/* Runs the loop until *flag becomes true. */
void ts_run_until(ts_env *e, const bool *flag);

/* A basin with the given flags (asserts success). */
void ts_basin(ts_env *e, const char *name, bool create_on_append, bool create_on_read);

/* A record with a text body and an optional timestamp. */
wr_append_record ts_rec(const char *body);
wr_append_record ts_rec_ts(const char *body, uint64_t ts);

/* An append whose result is awaited later: ts_append_start, then ts_run_until(e, &w->done). */
typedef struct ts_append_wait {
    bool done;
    wr_append_result res;
} ts_append_wait;
void ts_append_start(ts_env *e, const char *basin, const char *stream, const wr_append_input *in,
                     ts_append_wait *w);

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

/* The headers of the two command records (a single header with an empty name). */
extern const wr_header ts_fence_header, ts_trim_header;
/* Appends one command record with header h and the given body, and waits. */
wr_append_result ts_command(ts_env *e, const char *basin, const char *stream, const wr_header *h,
                            const void *body, size_t len);
/* Appends a trim command to `seq` and waits. */
wr_append_result ts_trim(ts_env *e, const char *basin, const char *stream, uint64_t seq);

/* Runs a forced maintenance pass (wr_store_maintain_now) and waits for it. */
void ts_maintain(ts_env *e, bool compact);
/* Creates a stream with the given config (asserts success). */
void ts_stream(ts_env *e, const char *basin, const char *stream, const wr_stream_config *cfg);

/*
 * Read faults through wr_store_opts.read_hook (installed by ts_init). From now on, reads of
 * `kind` whose key starts with key[0, len) (equals it, when `exact`) are counted, and after the
 * first `skip` of them the next `times` fail (INT_MAX: all). Replaces an earlier setting.
 */
void ts_fail_read(ts_env *e, wr_store_read_kind kind, const void *key, size_t len, bool exact,
                  int skip, int times);
/* No more read faults. */
void ts_fail_read_off(ts_env *e);
/* Reads failed since the last ts_fail_read. */
int ts_read_faults(ts_env *e);

/* wr_store_stream_get's code (the config and info are dropped). */
wr_err ts_stream_get(ts_env *e, const char *basin, const char *stream);
wr_store_stats ts_stats(ts_env *e);
/* Skips the running test when the loop commits (WEIR_COMMIT_MODE=loop): for tests that hold a
 * group inside the sync hook while the loop goes on, which only a commit thread allows. */
void ts_skip_unless_commit_thread(ts_env *e);
/* Keys in [lo, hi) on disk, counted with a plain RocksDB iterator (no hooks). */
size_t ts_count_keys(ts_env *e, const void *lo, size_t lo_len, const void *hi, size_t hi_len);

#endif
