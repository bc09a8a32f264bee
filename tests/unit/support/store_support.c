/*
 * store_support.c — see store_support.h.
 */
#include "support/store_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/settings.h"
#include "store/store_int.h"
#include "support/fs_support.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"

static int
hook(void *ud, wr_store_sync_kind kind)
{
    ts_env *e = ud;
    if (kind == WR_STORE_WRITE_UNSYNCED)
        return atomic_load(&e->fail_unsynced) ? -1 : 0;
    if (kind == WR_STORE_SYNC_COMMIT)
        atomic_fetch_add(&e->syncs_commit, 1);
    else
        atomic_fetch_add(&e->syncs_meta, 1);
    int c = atomic_load(&e->fail_countdown);
    if (c > 0 && atomic_fetch_sub(&e->fail_countdown, 1) == 1)
        return -1;
    return 0;
}

static int
read_hook(void *ud, wr_store_read_kind kind, const void *key, size_t key_len)
{
    ts_env *e = ud;
    int fail = 0;
    pthread_mutex_lock(&e->rf_mu);
    if (e->rf_armed && kind == e->rf_kind && key_len >= e->rf_key_len &&
        (!e->rf_exact || key_len == e->rf_key_len) && memcmp(key, e->rf_key, e->rf_key_len) == 0) {
        int n = e->rf_seen++;
        fail = n >= e->rf_skip && n - e->rf_skip < e->rf_times;
        e->rf_injected += fail;
    }
    pthread_mutex_unlock(&e->rf_mu);
    return fail;
}

void
ts_fail_read(ts_env *e, wr_store_read_kind kind, const void *key, size_t len, bool exact, int skip,
             int times)
{
    assert_true(len <= sizeof(e->rf_key));
    pthread_mutex_lock(&e->rf_mu);
    e->rf_armed = true;
    e->rf_kind = kind;
    memcpy(e->rf_key, key, len);
    e->rf_key_len = len;
    e->rf_exact = exact;
    e->rf_skip = skip;
    e->rf_times = times;
    e->rf_seen = e->rf_injected = 0;
    pthread_mutex_unlock(&e->rf_mu);
}

void
ts_fail_read_off(ts_env *e)
{
    pthread_mutex_lock(&e->rf_mu);
    e->rf_armed = false;
    pthread_mutex_unlock(&e->rf_mu);
}

int
ts_read_faults(ts_env *e)
{
    pthread_mutex_lock(&e->rf_mu);
    int n = e->rf_injected;
    pthread_mutex_unlock(&e->rf_mu);
    return n;
}

void
ts_init(ts_env *e)
{
    memset(e, 0, sizeof(*e));
    const char *tmp = getenv("TMPDIR");
    snprintf(e->dir, sizeof(e->dir), "%s/weir-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(e->dir));
    assert_int_equal(uv_loop_init(&e->loop), 0);
    e->opts.path = e->dir;
    e->opts.sync_hook = hook;
    e->opts.sync_hook_ud = e;
    e->opts.read_hook = read_hook;
    e->opts.read_hook_ud = e;
    /* CTest runs the store suites once per commit mode (CMakeLists.txt). */
    int mode = WR_STORE_COMMIT_AUTO;
    const char *mode_env = getenv("WEIR_COMMIT_MODE");
    if (mode_env)
        assert_true(wr_store_commit_mode_parse(mode_env, &mode));
    e->opts.commit_mode = (wr_store_commit_mode)mode;
    pthread_mutex_init(&e->rf_mu, NULL);
}

void
ts_open(ts_env *e)
{
    wr_error err = {0};
    wr_err rc = wr_store_open(&e->loop, &e->opts, &e->s, &err);
    if (rc)
        fprintf(stderr, "open: %s\n", err.msg);
    assert_int_equal(rc, WR_OK);
}

void
ts_setup(ts_env *e)
{
    ts_init(e);
    ts_open(e);
}

int
ts_fixture_setup(void **state)
{
    const ts_fixture *fx = *state;
    ts_env *e = wr_xcalloc(1, sizeof(*e));
    if (fx->fake_now_ms)
        wr_clock_set_fake(fx->fake_now_ms);
    ts_init(e);
    if (fx->tune)
        fx->tune(e);
    ts_open(e);
    if (fx->basin)
        ts_basin(e, fx->basin, fx->create_on_append, fx->create_on_read);
    if (fx->populate)
        fx->populate(e);
    *state = e;
    return 0;
}

int
ts_fixture_teardown(void **state)
{
    ts_env *e = *state;
    ts_teardown(e);
    free(e);
    wr_clock_set_real();
    return 0;
}

static void
on_closed(void *ud)
{
    *(bool *)ud = true;
}

void
ts_close(ts_env *e)
{
    if (!e->s)
        return;
    bool closed = false;
    wr_store_close(e->s, on_closed, &closed);
    e->s = NULL;
    while (!closed)
        uv_run(&e->loop, UV_RUN_ONCE);
}

wr_err
ts_reopen(ts_env *e, wr_error *err)
{
    ts_close(e);
    return wr_store_open(&e->loop, &e->opts, &e->s, err);
}

void
ts_teardown(ts_env *e)
{
    ts_close(e);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    ts_rm_rf(e->dir);
    pthread_mutex_destroy(&e->rf_mu);
}

void
ts_run_until(ts_env *e, const bool *flag)
{
    while (!*flag)
        uv_run(&e->loop, UV_RUN_ONCE);
}

void
ts_basin(ts_env *e, const char *name, bool create_on_append, bool create_on_read)
{
    wr_basin_config c = {0};
    c.create_stream_on_append = create_on_append;
    c.create_stream_on_read = create_on_read;
    wr_error err;
    assert_int_equal(wr_store_basin_create(e->s, name, &c, NULL, NULL, NULL, &err), WR_OK);
}

wr_append_record
ts_rec(const char *body)
{
    wr_append_record r = {0};
    r.body = (const uint8_t *)body;
    r.body_len = strlen(body);
    return r;
}

wr_append_record
ts_rec_ts(const char *body, uint64_t ts)
{
    wr_append_record r = ts_rec(body);
    r.has_ts = true;
    r.ts_ms = ts;
    return r;
}

static void
on_append(void *ud, const wr_append_result *res)
{
    ts_append_wait *w = ud;
    w->res = *res;
    w->done = true;
}

void
ts_append_start(ts_env *e, const char *basin, const char *stream, const wr_append_input *in,
                ts_append_wait *w)
{
    memset(w, 0, sizeof(*w));
    wr_store_append(e->s, basin, stream, in, on_append, w);
    assert_false(w->done); /* never called from inside the call */
}

wr_append_result
ts_append(ts_env *e, const char *basin, const char *stream, const wr_append_input *in)
{
    ts_append_wait w;
    ts_append_start(e, basin, stream, in, &w);
    ts_run_until(e, &w.done);
    return w.res;
}

wr_append_result
ts_append_n(ts_env *e, const char *basin, const char *stream, const char *prefix, uint32_t n)
{
    wr_append_record *recs = wr_xcalloc(n, sizeof(*recs));
    char **bodies = wr_xcalloc(n, sizeof(*bodies));
    for (uint32_t i = 0; i < n; i++) {
        wr_buf b = {0};
        wr_buf_printf(&b, "%s%u", prefix, i);
        bodies[i] = wr_buf_steal(&b, NULL);
        recs[i] = ts_rec(bodies[i]);
    }
    wr_append_input in = {.records = recs, .n_records = n};
    wr_append_result r = ts_append(e, basin, stream, &in);
    for (uint32_t i = 0; i < n; i++)
        free(bodies[i]);
    free(bodies);
    free(recs);
    return r;
}

typedef struct read_wait {
    bool done;
    wr_read_result *res;
} read_wait;

static void
on_read(void *ud, wr_read_result *res)
{
    read_wait *w = ud;
    w->res = res;
    w->done = true;
}

wr_read_result *
ts_read(ts_env *e, const char *basin, const char *stream, const wr_read_req *req)
{
    read_wait w = {0};
    wr_store_read(e->s, basin, stream, req, on_read, &w);
    assert_false(w.done);
    ts_run_until(e, &w.done);
    return w.res;
}

char *
ts_read_all_bodies(ts_env *e, const char *basin, const char *stream)
{
    wr_buf out = {0};
    wr_buf_reserve(&out, 16);
    uint64_t seq = 0;
    for (;;) {
        wr_read_req q = {.start_kind = WR_READ_SEQ,
                         .start_value = seq,
                         .has_count = true,
                         .count = 1000,
                         .may_follow = true};
        wr_read_result *r = ts_read(e, basin, stream, &q);
        assert_int_equal(r->err, WR_OK);
        for (size_t i = 0; i < r->n_records; i++) {
            if (out.len)
                wr_buf_append_byte(&out, '|');
            wr_buf_append(&out, r->records[i].body, r->records[i].body_len);
        }
        bool at_tail = r->at_tail;
        seq = r->next_seq;
        wr_read_result_free(r);
        if (at_tail)
            break;
    }
    return wr_buf_steal(&out, NULL);
}

const wr_header ts_fence_header = {(const uint8_t *)"", 0, (const uint8_t *)"fence", 5};
const wr_header ts_trim_header = {(const uint8_t *)"", 0, (const uint8_t *)"trim", 4};

wr_append_result
ts_command(ts_env *e, const char *basin, const char *stream, const wr_header *h, const void *body,
           size_t len)
{
    wr_append_record r = {.n_headers = 1, .headers = h, .body = body, .body_len = len};
    wr_append_input in = {.records = &r, .n_records = 1};
    return ts_append(e, basin, stream, &in);
}

wr_append_result
ts_trim(ts_env *e, const char *basin, const char *stream, uint64_t seq)
{
    uint8_t v[8];
    wr_put_be64(v, seq);
    return ts_command(e, basin, stream, &ts_trim_header, v, sizeof(v));
}

static void
on_maintained(void *ud)
{
    *(bool *)ud = true;
}

void
ts_maintain(ts_env *e, bool compact)
{
    bool done = false;
    wr_store_maintain_now(e->s, compact, on_maintained, &done);
    ts_run_until(e, &done);
}

void
ts_stream(ts_env *e, const char *basin, const char *stream, const wr_stream_config *cfg)
{
    wr_error err;
    wr_err rc = wr_store_stream_create(e->s, basin, stream, cfg, NULL, NULL, NULL, &err);
    if (rc)
        fail_msg("create %s/%s: %s", basin, stream, err.msg);
}

wr_err
ts_stream_get(ts_env *e, const char *basin, const char *stream)
{
    wr_error err;
    return wr_store_stream_get(e->s, basin, stream, NULL, NULL, &err);
}

wr_store_stats
ts_stats(ts_env *e)
{
    wr_store_stats st;
    wr_store_get_stats(e->s, &st);
    return st;
}

void
ts_skip_unless_commit_thread(ts_env *e)
{
    if (ts_stats(e).commits_on_loop)
        skip();
}

size_t
ts_count_keys(ts_env *e, const void *lo, size_t lo_len, const void *hi, size_t hi_len)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_readoptions_set_iterate_upper_bound(ro, hi, hi_len);
    rocksdb_iterator_t *it = rocksdb_create_iterator(e->s->db, ro);
    size_t n = 0;
    for (rocksdb_iter_seek(it, lo, lo_len); rocksdb_iter_valid(it); rocksdb_iter_next(it))
        n++;
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    if (err)
        fail_msg("count keys: %s", err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return n;
}
