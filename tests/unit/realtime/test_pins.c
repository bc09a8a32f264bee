/*
 * test_pins.c — the bug per-organization basins exist to fix: a chat session that outlives its
 * basin's delete-on-empty age must keep its channels. Runs the realtime layer over a real store,
 * control plane and auth registry in a temp dir with the fake clock:
 *   - an organization provisioned through wr_rt_ensure (basin with delete-on-empty 1 h);
 *   - an open session whose `.out` channel weir has touched (the code path of the channel
 *     routes: the backend's protect) stays through 3 h of idleness and maintenance passes, and is
 *     still readable and writable;
 *   - a stream nobody pinned, created at the same moment, is deleted after 1 h (the control);
 *   - closing the session (the close route's wr_rt_release_session) lets the channel age out:
 *     kept for the first hour after the close, deleted after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "realtime/naming.h"
#include "realtime/rt_int.h"
#include "support/store_support.h"
#include "support/test_main.h"
#include "util/clock.h"

#define T0 1700000000000ull
#define HOUR_MS (3600ull * 1000ull)

typedef struct fx {
    ts_env env;
    wr_auth *auth;
    wr_meta *meta;
    wr_router *router;
    wr_rt *rt;
    wr_rt_backend *backend;
    wr_rt_config cfg;
} fx;

/* The embedded backend answers these calls inline, except a protect that creates its stream
 * (written by the store's commit thread): the loop runs until it is answered. */
typedef struct outcome {
    bool done;
    wr_err err;
    wr_rt_result res;
} outcome;

static void
result_cb(void *ud, wr_err err, const wr_error *detail, const wr_rt_result *res)
{
    (void)detail;
    outcome *o = ud;
    o->done = true;
    o->err = err;
    if (res)
        o->res = *res;
}

static void
done_cb(void *ud, wr_err err, const wr_error *detail)
{
    result_cb(ud, err, detail, NULL);
}

/* What the channel routes do first for an open session's channel. */
static wr_err
protect(fx *f, const char *basin, const char *stream)
{
    outcome o = {0};
    f->backend->ops->protect(f->backend, basin, stream, true, done_cb, &o);
    ts_run_until(&f->env, &o.done);
    return o.err;
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    wr_clock_set_fake(T0);
    ts_setup(&f->env);
    char *new_root = NULL, path[512];
    wr_error err = {0};
    assert_int_equal(
        wr_auth_open(f->env.s, WR_AUTH_TOKENS, f->env.dir, "test-root", &f->auth, &new_root, &err),
        WR_OK);
    free(new_root);
    snprintf(path, sizeof(path), "%s/control.sqlite3", f->env.dir);
    assert_int_equal(wr_meta_open_sqlite(path, &f->meta, &err), WR_OK);
    wr_rt_config c = {0};
    strcpy(c.global_basin, "weir-shared");
    c.per_org_basins = true;
    strcpy(c.name_prefix, "weir");
    strcpy(c.name_env, "test");
    c.default_retention_s = 30 * 86400;
    c.doe_min_age_s = 3600;
    c.token_ttl_s = 86400;
    c.wait_seconds = 60;
    f->cfg = c;
    f->router = wr_router_new();
    f->backend = wr_rt_backend_embedded(f->env.s, f->auth, NULL, &f->env.loop);
    f->rt = wr_rt_new(f->router, &f->cfg, f->meta, f->backend, f->auth, NULL, &f->env.loop);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    ts_close(&f->env); /* as the server does: store changes in flight answer the layer first */
    wr_rt_stop(f->rt);
    uv_run(&f->env.loop, UV_RUN_NOWAIT); /* the layer's timer closes */
    wr_rt_free(f->rt);
    wr_rt_backend_free(f->backend);
    wr_router_free(f->router);
    wr_meta_close(f->meta);
    wr_auth_free(f->auth);
    ts_teardown(&f->env);
    wr_clock_set_real();
    free(f);
    return 0;
}

static wr_err
stream_exists(fx *f, const char *basin, const char *stream)
{
    wr_stream_config cfg;
    wr_stream_info info;
    wr_error err = {0};
    return wr_store_stream_get(f->env.s, basin, stream, &cfg, &info, &err);
}

static void
test_open_session_outlives_doe_age(void **state)
{
    fx *f = *state;
    wr_error err = {0};
    wr_org org = {0};
    strcpy(org.id, "corg00000000000000000000a");
    strcpy(org.slug, "acme");
    strcpy(org.title, "Acme");
    strcpy(org.plan, "pro");
    assert_int_equal(wr_meta_org_create(f->meta, &org, &err), WR_OK);
    wr_project p = {0};
    strcpy(p.id, "cproj0000000000000000000a");
    strcpy(p.slug, "p");
    strcpy(p.org_id, org.id);
    assert_int_equal(wr_meta_project_create(f->meta, &p, &err), WR_OK);
    wr_env env = {0};
    strcpy(env.id, "cenv00000000000000000000a");
    strcpy(env.slug, "dev");
    strcpy(env.project_id, p.id);
    strcpy(env.org_id, org.id);
    env.key_hash[0] = 1;
    assert_int_equal(wr_meta_env_create(f->meta, &env, &err), WR_OK);
    assert_int_equal(wr_meta_env_get(f->meta, env.id, &env, &err), WR_OK);

    /* Provisioned: a basin of its own with delete-on-empty 1 h. */
    outcome prov = {0};
    wr_rt_ensure(f->rt, org.id, 0, false, result_cb, &prov);
    ts_run_until(&f->env, &prov.done); /* the basin is written by the store's commit thread */
    assert_int_equal(prov.err, WR_OK);
    assert_string_equal(prov.res.kind, "provisioned");
    const char *basin = prov.res.basin;

    /* A session stamped with that basin. */
    wr_session s = {0}, row = {0};
    strcpy(s.id, "session_pins0000000000000a");
    strcpy(s.env_id, env.id);
    s.has_external_id = true;
    strcpy(s.external_id, "chat-1");
    s.has_basin = true;
    strcpy(s.basin, basin);
    bool created = false;
    assert_int_equal(wr_meta_session_create_or_get(f->meta, &s, NULL, &row, &created, &err), WR_OK);
    assert_true(created);

    char prefix[WR_RT_NAME_MAX], out[WR_RT_NAME_MAX + 64], in[WR_RT_NAME_MAX + 64],
        other[WR_RT_NAME_MAX + 64];
    wr_rt_stream_prefix(basin, f->cfg.global_basin, org.id, env.slug, env.id, prefix,
                        sizeof(prefix));
    wr_rt_session_channel(prefix, "chat-1", "out", out, sizeof(out));
    wr_rt_session_channel(prefix, "chat-1", "in", in, sizeof(in));
    snprintf(other, sizeof(other), "%s/runs/run_x/unpinned", prefix);

    /* The channel route touches `.out` (and touching it twice keeps one pin); `.in` is never
     * touched, so the session's close must cope with an unpinned, missing channel. */
    assert_int_equal(protect(f, basin, out), WR_OK);
    assert_int_equal(protect(f, basin, out), WR_OK);
    uint64_t n = 0;
    assert_int_equal(wr_store_pin_count(f->env.s, basin, out, &n, &err), WR_OK);
    assert_int_equal(n, 1);
    wr_append_record r = ts_rec("hello");
    wr_append_input ai = {.records = &r, .n_records = 1};
    assert_int_equal(ts_append(&f->env, basin, other, &ai).err, WR_OK);
    /* Trim everything (the store clamps the point to just after the trim record itself), as an
     * agent trims `.out` after each turn: the streams are empty. */
    uint8_t v[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    wr_header h = {(const uint8_t *)"", 0, (const uint8_t *)"trim", 4};
    wr_append_record trim = {.headers = &h, .n_headers = 1, .body = v, .body_len = 8};
    wr_append_input ti = {.records = &trim, .n_records = 1};
    assert_int_equal(ts_append(&f->env, basin, other, &ti).err, WR_OK);
    assert_int_equal(ts_append(&f->env, basin, out, &ai).err, WR_OK);
    assert_int_equal(ts_append(&f->env, basin, out, &ti).err, WR_OK); /* `.out` empty too */

    /* Three hours of idleness, a maintenance pass each hour. */
    for (int i = 0; i < 3; i++) {
        wr_clock_advance_ms(HOUR_MS + 1000);
        ts_maintain(&f->env, false);
    }
    assert_int_equal(stream_exists(f, basin, other), WR_ERR_STREAM_NOT_FOUND); /* the control */
    assert_int_equal(stream_exists(f, basin, out), WR_OK);
    /* Still writable and readable. */
    wr_append_record r2 = ts_rec("turn 2");
    wr_append_input ai2 = {.records = &r2, .n_records = 1};
    wr_append_result ack = ts_append(&f->env, basin, out, &ai2);
    assert_int_equal(ack.err, WR_OK);
    assert_int_equal(ack.start.seq, 2);
    wr_read_req q = {.start_kind = WR_READ_SEQ, .start_value = 0, .clamp = true};
    wr_read_result *rr = ts_read(&f->env, basin, out, &q);
    assert_int_equal(rr->err, WR_OK);
    assert_int_equal(rr->n_records, 1);
    assert_memory_equal(rr->records[0].body, "turn 2", 6);
    wr_read_result_free(rr);

    /* Closing the session releases the channels: kept for the basin's age after the last
     * append, deleted after it once empty. */
    assert_int_equal(ts_append(&f->env, basin, out, &ti).err, WR_OK); /* trimmed empty again */
    outcome released = {0};
    wr_rt_release_session(f->rt, &env, &row, done_cb, &released);
    ts_run_until(&f->env, &released.done); /* the unpin goes through the commit thread */
    assert_int_equal(released.err, WR_OK);
    assert_int_equal(wr_store_pin_count(f->env.s, basin, out, &n, &err), WR_OK);
    assert_int_equal(n, 0);
    wr_clock_advance_ms(HOUR_MS - 60000);
    ts_maintain(&f->env, false);
    assert_int_equal(stream_exists(f, basin, out), WR_OK);
    wr_clock_advance_ms(120000);
    ts_maintain(&f->env, false);
    assert_int_equal(stream_exists(f, basin, out), WR_ERR_STREAM_NOT_FOUND);
    wr_session_fini(&row);
}

WR_TEST_MAIN(cmocka_unit_test_setup_teardown(test_open_session_outlives_doe_age, setup, teardown))
