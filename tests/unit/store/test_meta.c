/*
 * test_meta.c — basins and streams: name validation rows, create (request-token idempotency,
 * conflicts, deletion pending), ensure (created/updated/noop, replace semantics), get,
 * reconfigure, list (prefix, start_after, limit, has_more, deleted), delete, and that all of it
 * survives a restart.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/store_support.h"
#include "util/clock.h"

static const ts_fixture fx = {0};

static void
test_basin_names(void **state)
{
    (void)state;
    struct {
        const char *name;
        bool ok;
    } rows[] = {
        {"my-basin-01", true},
        {"abcdefgh", true},
        {"abcdefg", false},                                           /* 7 */
        {"a23456789012345678901234567890123456789012345678", true},   /* 48 */
        {"a234567890123456789012345678901234567890123456789", false}, /* 49 */
        {"-abcdefgh", false},
        {"abcdefgh-", false},
        {"abcDefgh", false},
        {"abc_defgh", false},
        {"abc.defgh", false},
        {"", false},
        {"a-------b", true},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(wr_basin_name_valid(rows[i].name), rows[i].ok);
    assert_false(wr_basin_name_valid(NULL));
}

static void
test_stream_names(void **state)
{
    (void)state;
    char big[514];
    memset(big, 'x', sizeof(big));
    struct {
        const char *name;
        size_t len;
        bool ok;
    } rows[] = {
        {"orders", 6, true},
        {"a/b c", 5, true},
        {"caf\xc3\xa9", 5, true},
        {"\xf0\x9f\x98\x80", 4, true},
        {".", 1, false},
        {"..", 2, false},
        {"...", 3, true},
        {"", 0, false},
        {"a\0b", 3, false},
        {"\xc3", 1, false},         /* truncated */
        {"\xc0\x80", 2, false},     /* overlong */
        {"\xed\xa0\x80", 3, false}, /* surrogate */
        {"\xff", 1, false},
        {big, 512, true},
        {big, 513, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(wr_stream_name_valid(rows[i].name, rows[i].len), rows[i].ok);
}

static void
test_basin_create_and_idempotency(void **state)
{
    ts_env *e = *state;
    wr_error err;
    wr_basin_info info;
    wr_provision prov;
    wr_clock_set_fake(1755770000123ull);
    wr_basin_config cfg = {.create_stream_on_append = true};
    assert_int_equal(wr_store_basin_create(e->s, "my-basin-01", &cfg, "tok-1", &info, &prov, &err),
                     WR_OK);
    assert_int_equal(prov, WR_PROVISION_CREATED);
    assert_string_equal(info.name, "my-basin-01");
    assert_int_equal(info.created_at_ms, 1755770000123ull);
    assert_false(info.deleted);
    /* Same token + same config: noop with existing info. */
    wr_clock_advance_ms(5000);
    assert_int_equal(wr_store_basin_create(e->s, "my-basin-01", &cfg, "tok-1", &info, &prov, &err),
                     WR_OK);
    assert_int_equal(prov, WR_PROVISION_NOOP);
    assert_int_equal(info.created_at_ms, 1755770000123ull);
    /* Different token, no token, or different config: conflict. */
    wr_basin_config other = {0};
    struct {
        const char *tok;
        const wr_basin_config *c;
    } rows[] = {{"tok-2", &cfg}, {NULL, &cfg}, {"tok-1", &other}, {"tok-1", NULL}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(
            wr_store_basin_create(e->s, "my-basin-01", rows[i].c, rows[i].tok, NULL, NULL, &err),
            WR_ERR_RESOURCE_ALREADY_EXISTS);
    /* Invalid inputs. */
    wr_basin_config bad = {.has_default_stream_config = true};
    bad.default_stream_config.retention = WR_RETENTION_AGE;
    assert_int_equal(wr_store_basin_create(e->s, "zero-age-basin", &bad, NULL, NULL, NULL, &err),
                     WR_ERR_INVALID);
    assert_int_equal(wr_store_basin_create(e->s, "Bad", NULL, NULL, NULL, NULL, &err),
                     WR_ERR_INVALID);
    assert_int_equal(wr_store_basin_create(e->s, "long-token-basin", NULL,
                                           "0123456789012345678901234567890123456", NULL, NULL,
                                           &err),
                     WR_ERR_INVALID);
    /* Deleting basin: create and ensure say deletion pending, get still works. */
    assert_int_equal(wr_store_basin_delete(e->s, "my-basin-01", &err), WR_OK);
    assert_int_equal(wr_store_basin_delete(e->s, "my-basin-01", &err), WR_OK);
    assert_int_equal(wr_store_basin_create(e->s, "my-basin-01", &cfg, "tok-1", NULL, NULL, &err),
                     WR_ERR_BASIN_DELETION_PENDING);
    assert_int_equal(wr_store_basin_ensure(e->s, "my-basin-01", &cfg, NULL, NULL, &err),
                     WR_ERR_BASIN_DELETION_PENDING);
    wr_basin_config_patch p = {0};
    assert_int_equal(wr_store_basin_reconfigure(e->s, "my-basin-01", &p, NULL, &err),
                     WR_ERR_BASIN_DELETION_PENDING);
    wr_basin_config got;
    assert_int_equal(wr_store_basin_get(e->s, "my-basin-01", &got, &info, &err), WR_OK);
    assert_true(info.deleted);
    assert_int_equal(info.deleted_at_ms, 1755770005123ull);
    assert_true(got.create_stream_on_append);
    assert_int_equal(wr_store_basin_get(e->s, "missing-basin", &got, &info, &err),
                     WR_ERR_BASIN_NOT_FOUND);
    assert_int_equal(wr_store_basin_delete(e->s, "missing-basin", &err), WR_ERR_BASIN_NOT_FOUND);
}

static void
test_basin_ensure_reconfigure(void **state)
{
    ts_env *e = *state;
    wr_error err;
    wr_provision prov;
    wr_basin_config cfg = {.create_stream_on_read = true};
    assert_int_equal(wr_store_basin_ensure(e->s, "ensure-basin", &cfg, NULL, &prov, &err), WR_OK);
    assert_int_equal(prov, WR_PROVISION_CREATED);
    assert_int_equal(wr_store_basin_ensure(e->s, "ensure-basin", &cfg, NULL, &prov, &err), WR_OK);
    assert_int_equal(prov, WR_PROVISION_NOOP);
    /* Ensure replaces: NULL config resets create_stream_on_read. */
    assert_int_equal(wr_store_basin_ensure(e->s, "ensure-basin", NULL, NULL, &prov, &err), WR_OK);
    assert_int_equal(prov, WR_PROVISION_UPDATED);
    wr_basin_config got;
    assert_int_equal(wr_store_basin_get(e->s, "ensure-basin", &got, NULL, &err), WR_OK);
    assert_false(got.create_stream_on_read);
    /* Reconfigure: nested patch, then a zero age is rejected and nothing changes. */
    wr_basin_config_patch p = {0};
    p.default_stream_config_op = WR_PATCH_SET;
    p.default_stream_config.retention_op = WR_PATCH_SET;
    p.default_stream_config.retention = WR_RETENTION_INFINITE;
    p.create_stream_on_read_op = WR_PATCH_SET;
    p.create_stream_on_read = true;
    assert_int_equal(wr_store_basin_reconfigure(e->s, "ensure-basin", &p, &got, &err), WR_OK);
    assert_true(got.has_default_stream_config);
    assert_int_equal(got.default_stream_config.retention, WR_RETENTION_INFINITE);
    p.default_stream_config.retention = WR_RETENTION_AGE;
    p.default_stream_config.retention_age_secs = 0;
    assert_int_equal(wr_store_basin_reconfigure(e->s, "ensure-basin", &p, &got, &err),
                     WR_ERR_INVALID);
    wr_basin_config_patch empty = {0};
    assert_int_equal(wr_store_basin_reconfigure(e->s, "ensure-basin", &empty, &got, &err), WR_OK);
    assert_int_equal(got.default_stream_config.retention, WR_RETENTION_INFINITE);
    assert_true(got.create_stream_on_read);
    assert_int_equal(wr_store_basin_reconfigure(e->s, "nope-basin", &empty, &got, &err),
                     WR_ERR_BASIN_NOT_FOUND);
    /* Survives restart. */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(wr_store_basin_get(e->s, "ensure-basin", &got, NULL, &err), WR_OK);
    assert_int_equal(got.default_stream_config.retention, WR_RETENTION_INFINITE);
    assert_true(got.create_stream_on_read);
}

static void
test_basin_list(void **state)
{
    ts_env *e = *state;
    wr_error err;
    const char *names[] = {"list-b-0002", "list-a-0001", "list-a-0003", "list-a-0002",
                           "other-basin"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(wr_store_basin_create(e->s, names[i], NULL, NULL, NULL, NULL, &err),
                         WR_OK);
    assert_int_equal(wr_store_basin_delete(e->s, "list-a-0002", &err), WR_OK);
    wr_basin_list l;
    assert_int_equal(wr_store_basin_list(e->s, "list-", NULL, 0, &l, &err), WR_OK);
    assert_int_equal(l.n, 4);
    assert_false(l.has_more);
    assert_string_equal(l.items[0].name, "list-a-0001");
    assert_string_equal(l.items[1].name, "list-a-0002");
    assert_true(l.items[1].deleted);
    assert_string_equal(l.items[2].name, "list-a-0003");
    assert_string_equal(l.items[3].name, "list-b-0002");
    wr_basin_list_fini(&l);
    /* start_after is exclusive, limit gives has_more. */
    assert_int_equal(wr_store_basin_list(e->s, "list-", "list-a-0001", 2, &l, &err), WR_OK);
    assert_int_equal(l.n, 2);
    assert_true(l.has_more);
    assert_string_equal(l.items[0].name, "list-a-0002");
    assert_string_equal(l.items[1].name, "list-a-0003");
    wr_basin_list_fini(&l);
    /* start_after before the prefix range, and a start_after that is a proper prefix. */
    assert_int_equal(wr_store_basin_list(e->s, "list-b", "a", 0, &l, &err), WR_OK);
    assert_int_equal(l.n, 1);
    wr_basin_list_fini(&l);
    assert_int_equal(wr_store_basin_list(e->s, "", "list-b", 0, &l, &err), WR_OK);
    assert_int_equal(l.n, 2); /* list-b-0002, other-basin */
    assert_string_equal(l.items[0].name, "list-b-0002");
    wr_basin_list_fini(&l);
    assert_int_equal(wr_store_basin_list(e->s, "zzz", NULL, 0, &l, &err), WR_OK);
    assert_int_equal(l.n, 0);
    wr_basin_list_fini(&l);
    assert_int_equal(wr_store_basin_list(e->s, NULL, "other-basin", 0, &l, &err), WR_OK);
    assert_int_equal(l.n, 0);
    wr_basin_list_fini(&l);
}

static void
test_basin_list_limit(void **state)
{
    ts_env *e = *state;
    wr_error err;
    for (int i = 0; i < 1003; i++) {
        char name[32];
        snprintf(name, sizeof(name), "many-%05d", i);
        assert_int_equal(wr_store_basin_create(e->s, name, NULL, NULL, NULL, NULL, &err), WR_OK);
    }
    size_t limits[] = {0, 1001, 5000};
    for (size_t i = 0; i < 3; i++) {
        wr_basin_list l;
        assert_int_equal(wr_store_basin_list(e->s, "many-", NULL, limits[i], &l, &err), WR_OK);
        assert_int_equal(l.n, 1000);
        assert_true(l.has_more);
        wr_basin_list_fini(&l);
    }
}

static void
test_stream_lifecycle(void **state)
{
    ts_env *e = *state;
    wr_error err;
    wr_stream_info info;
    wr_provision prov;
    wr_basin_config bc = {.has_default_stream_config = true, .stream_cipher = WR_CIPHER_AEGIS_256};
    bc.default_stream_config.retention = WR_RETENTION_AGE;
    bc.default_stream_config.retention_age_secs = 3600;
    assert_int_equal(wr_store_basin_create(e->s, "stream-basin", &bc, NULL, NULL, NULL, &err),
                     WR_OK);
    wr_stream_config req = {.ts_mode = WR_TS_ARRIVAL};
    assert_int_equal(
        wr_store_stream_create(e->s, "stream-basin", "a/b", &req, "t1", &info, &prov, &err), WR_OK);
    assert_int_equal(prov, WR_PROVISION_CREATED);
    assert_string_equal(info.name, "a/b");
    assert_int_equal(info.cipher, WR_CIPHER_AEGIS_256);
    wr_stream_config got;
    assert_int_equal(wr_store_stream_get(e->s, "stream-basin", "a/b", &got, NULL, &err), WR_OK);
    assert_int_equal(got.retention_age_secs, 3600);          /* basin default */
    assert_int_equal(got.ts_mode, WR_TS_ARRIVAL);            /* request */
    assert_int_equal(got.storage_class, WR_STORAGE_EXPRESS); /* system */
    assert_true(got.has_ts_uncapped && got.has_doe);
    /* Idempotent retry vs conflict. */
    assert_int_equal(
        wr_store_stream_create(e->s, "stream-basin", "a/b", &req, "t1", &info, &prov, &err), WR_OK);
    assert_int_equal(prov, WR_PROVISION_NOOP);
    assert_int_equal(
        wr_store_stream_create(e->s, "stream-basin", "a/b", NULL, "t1", NULL, NULL, &err),
        WR_ERR_RESOURCE_ALREADY_EXISTS);
    assert_int_equal(
        wr_store_stream_create(e->s, "stream-basin", "a/b", &req, "t2", NULL, NULL, &err),
        WR_ERR_RESOURCE_ALREADY_EXISTS);
    /* Error rows. */
    wr_stream_config zero = {.retention = WR_RETENTION_AGE};
    struct {
        const char *basin, *stream;
        const wr_stream_config *cfg;
        wr_err want;
    } rows[] = {
        {"missing-basin", "s", NULL, WR_ERR_BASIN_NOT_FOUND},
        {"stream-basin", ".", NULL, WR_ERR_INVALID},
        {"stream-basin", "", NULL, WR_ERR_INVALID},
        {"bad", "s", NULL, WR_ERR_INVALID},
        {"stream-basin", "zero", &zero, WR_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(wr_store_stream_create(e->s, rows[i].basin, rows[i].stream, rows[i].cfg,
                                                NULL, NULL, NULL, &err),
                         rows[i].want);
    assert_int_equal(wr_store_stream_get(e->s, "stream-basin", "nope", &got, NULL, &err),
                     WR_ERR_STREAM_NOT_FOUND);
    assert_int_equal(wr_store_stream_get(e->s, "missing-basin", "nope", &got, NULL, &err),
                     WR_ERR_BASIN_NOT_FOUND);

    /* Ensure: replace with merge over basin defaults (omitted fields revert). */
    assert_int_equal(wr_store_stream_ensure(e->s, "stream-basin", "a/b", &req, NULL, &prov, &err),
                     WR_OK);
    assert_int_equal(prov, WR_PROVISION_NOOP);
    assert_int_equal(wr_store_stream_ensure(e->s, "stream-basin", "a/b", NULL, NULL, &prov, &err),
                     WR_OK);
    assert_int_equal(prov, WR_PROVISION_UPDATED);
    assert_int_equal(wr_store_stream_get(e->s, "stream-basin", "a/b", &got, NULL, &err), WR_OK);
    assert_int_equal(got.ts_mode, WR_TS_CLIENT_PREFER);
    assert_int_equal(wr_store_stream_ensure(e->s, "stream-basin", "new", NULL, NULL, &prov, &err),
                     WR_OK);
    assert_int_equal(prov, WR_PROVISION_CREATED);

    /* Reconfigure: set, then null reverts to the basin default. */
    wr_stream_config_patch p = {.retention_op = WR_PATCH_SET, .retention = WR_RETENTION_INFINITE};
    assert_int_equal(wr_store_stream_reconfigure(e->s, "stream-basin", "a/b", &p, &got, &err),
                     WR_OK);
    assert_int_equal(got.retention, WR_RETENTION_INFINITE);
    p = (wr_stream_config_patch){.retention_op = WR_PATCH_NULL};
    assert_int_equal(wr_store_stream_reconfigure(e->s, "stream-basin", "a/b", &p, &got, &err),
                     WR_OK);
    assert_int_equal(got.retention, WR_RETENTION_AGE);
    assert_int_equal(got.retention_age_secs, 3600);
    p = (wr_stream_config_patch){.retention_op = WR_PATCH_SET, .retention = WR_RETENTION_AGE};
    assert_int_equal(wr_store_stream_reconfigure(e->s, "stream-basin", "a/b", &p, &got, &err),
                     WR_ERR_INVALID);

    /* Delete: 409 for config/create/ensure/reconfigure; listed with deleted_at. */
    assert_int_equal(wr_store_stream_delete(e->s, "stream-basin", "a/b", &err), WR_OK);
    assert_int_equal(wr_store_stream_delete(e->s, "stream-basin", "a/b", &err), WR_OK);
    assert_int_equal(wr_store_stream_get(e->s, "stream-basin", "a/b", &got, NULL, &err),
                     WR_ERR_STREAM_DELETION_PENDING);
    assert_int_equal(
        wr_store_stream_create(e->s, "stream-basin", "a/b", NULL, NULL, NULL, NULL, &err),
        WR_ERR_STREAM_DELETION_PENDING);
    assert_int_equal(wr_store_stream_ensure(e->s, "stream-basin", "a/b", NULL, NULL, NULL, &err),
                     WR_ERR_STREAM_DELETION_PENDING);
    p = (wr_stream_config_patch){0};
    assert_int_equal(wr_store_stream_reconfigure(e->s, "stream-basin", "a/b", &p, &got, &err),
                     WR_ERR_STREAM_DELETION_PENDING);
    wr_pos tail;
    assert_int_equal(wr_store_check_tail(e->s, "stream-basin", "a/b", &tail, &err),
                     WR_ERR_STREAM_DELETION_PENDING);
    assert_int_equal(wr_store_stream_delete(e->s, "stream-basin", "zz", &err),
                     WR_ERR_STREAM_NOT_FOUND);

    /* A deleting basin refuses stream creation. */
    assert_int_equal(wr_store_basin_delete(e->s, "stream-basin", &err), WR_OK);
    assert_int_equal(
        wr_store_stream_create(e->s, "stream-basin", "c", NULL, NULL, NULL, NULL, &err),
        WR_ERR_BASIN_DELETION_PENDING);

    /* Restart keeps everything. */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    wr_stream_list l;
    assert_int_equal(wr_store_stream_list(e->s, "stream-basin", NULL, NULL, 0, &l, &err), WR_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].name, "a/b");
    assert_true(l.items[0].deleted);
    assert_string_equal(l.items[1].name, "new");
    assert_false(l.items[1].deleted);
    assert_int_equal(l.items[1].cipher, WR_CIPHER_AEGIS_256);
    wr_stream_list_fini(&l);
    assert_int_equal(wr_store_stream_get(e->s, "stream-basin", "a/b", &got, NULL, &err),
                     WR_ERR_STREAM_DELETION_PENDING);
}

static void
test_stream_list(void **state)
{
    ts_env *e = *state;
    wr_error err;
    ts_basin(e, "slist-basin", false, false);
    ts_basin(e, "slist-basin2", false, false);
    const char *names[] = {"b", "a", "a/x", "a/y", "\xc3\xa9t\xc3\xa9", "ab"};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(
            wr_store_stream_create(e->s, "slist-basin", names[i], NULL, NULL, NULL, NULL, &err),
            WR_OK);
    assert_int_equal(
        wr_store_stream_create(e->s, "slist-basin2", "a", NULL, NULL, NULL, NULL, &err), WR_OK);
    wr_stream_list l;
    assert_int_equal(wr_store_stream_list(e->s, "slist-basin", NULL, NULL, 0, &l, &err), WR_OK);
    assert_int_equal(l.n, 6);
    const char *want[] = {"a", "a/x", "a/y", "ab", "b", "\xc3\xa9t\xc3\xa9"}; /* bytewise */
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(l.items[i].name, want[i]);
    wr_stream_list_fini(&l);
    assert_int_equal(wr_store_stream_list(e->s, "slist-basin", "a", "a", 2, &l, &err), WR_OK);
    assert_int_equal(l.n, 2);
    assert_true(l.has_more);
    assert_string_equal(l.items[0].name, "a/x");
    wr_stream_list_fini(&l);
    assert_int_equal(wr_store_stream_list(e->s, "unknown-basin", NULL, NULL, 0, &l, &err), WR_OK);
    assert_int_equal(l.n, 0);
    wr_stream_list_fini(&l);
}

static void
test_check_tail_autocreate(void **state)
{
    ts_env *e = *state;
    wr_error err;
    wr_pos tail = {99, 99};
    ts_basin(e, "read-create", false, true);
    ts_basin(e, "no-create-b", false, false);
    assert_int_equal(wr_store_check_tail(e->s, "read-create", "fresh", &tail, &err), WR_OK);
    assert_int_equal(tail.seq, 0);
    assert_int_equal(tail.ts_ms, 0);
    /* its meta is on its way to the commit thread; a read is answered once it is durable */
    wr_read_req q = {.start_kind = WR_READ_SEQ, .clamp = true};
    wr_read_result *r = ts_read(e, "read-create", "fresh", &q);
    assert_int_equal(r->err, WR_ERR_RANGE_NOT_SATISFIABLE); /* empty: the start is the tail */
    wr_read_result_free(r);
    assert_int_equal(wr_store_stream_get(e->s, "read-create", "fresh", NULL, NULL, &err), WR_OK);
    assert_int_equal(wr_store_check_tail(e->s, "no-create-b", "fresh", &tail, &err),
                     WR_ERR_STREAM_NOT_FOUND);
    assert_int_equal(wr_store_check_tail(e->s, "missing-basin", "fresh", &tail, &err),
                     WR_ERR_BASIN_NOT_FOUND);
}

/* What wr_store_stream_create_async answered, and how many times. */
typedef struct async_answer {
    bool done;
    int calls;
    wr_err err;
    wr_provision prov;
    uint64_t created_at;
} async_answer;

static void
on_created(void *ud, wr_err err, const wr_error *detail, const wr_stream_info *info,
           wr_provision prov)
{
    async_answer *a = ud;
    a->done = true;
    a->calls++;
    a->err = err;
    a->prov = prov;
    assert_true(err == WR_OK ? info != NULL : detail != NULL && detail->msg[0]);
    if (info)
        a->created_at = info->created_at_ms;
}

/* A sync hook that, when armed, holds the commit thread's next synced write (before it is made)
 * until released, so that a change is observably in flight; otherwise the support's hook. */
static struct {
    atomic_bool armed, held, release;
    wr_store_sync_hook inner;
    void *inner_ud;
} hold;

static int
hold_hook(void *ud, wr_store_sync_kind kind)
{
    (void)ud;
    if (kind == WR_STORE_SYNC_COMMIT && atomic_exchange(&hold.armed, false)) {
        atomic_store(&hold.held, true);
        while (!atomic_load(&hold.release))
            sched_yield();
    }
    return hold.inner(hold.inner_ud, kind);
}

static void
hold_install(ts_env *e)
{
    wr_error err;
    hold.inner = e->opts.sync_hook;
    hold.inner_ud = e->opts.sync_hook_ud;
    e->opts.sync_hook = hold_hook;
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    ts_skip_unless_commit_thread(e);
}

static void
hold_arm(void)
{
    atomic_store(&hold.held, false);
    atomic_store(&hold.release, false);
    atomic_store(&hold.armed, true);
}

static void
hold_wait(void)
{
    while (!atomic_load(&hold.held))
        sched_yield();
}

/*
 * The create made by the commit thread: nothing is visible until the meta is durable; while it
 * is in flight the name cannot be created again (explicitly or automatically) and its basin not
 * deleted; answers that need no write come at once; a failed sync fails it and gives its quota
 * back; a store closing with a create in flight still answers it.
 */
static void
test_stream_create_async(void **state)
{
    ts_env *e = *state;
    wr_error err;
    ts_basin(e, "async-basin", true, false);
    hold_install(e);
    int commits = atomic_load(&e->syncs_commit), metas = atomic_load(&e->syncs_meta);
    async_answer a = {0};
    hold_arm();
    wr_store_stream_create_async(e->s, "async-basin", "s1", NULL, "tok", on_created, &a);
    assert_false(a.done); /* written by the commit thread, not here */
    hold_wait();          /* … which holds it, unwritten */
    /* in flight: invisible, and the name is taken */
    assert_int_equal(wr_store_stream_get(e->s, "async-basin", "s1", NULL, NULL, &err),
                     WR_ERR_STREAM_NOT_FOUND);
    async_answer b = {0}, b2 = {0};
    wr_store_stream_create_async(e->s, "async-basin", "s1", NULL, "tok", on_created, &b);
    wr_store_stream_create_async(e->s, "async-basin", "s1", NULL, "other", on_created, &b2);
    assert_false(b.done || b2.done); /* they wait for the first */
    assert_int_equal(
        wr_store_stream_create(e->s, "async-basin", "s1", NULL, NULL, NULL, NULL, &err),
        WR_ERR_TRANSACTION_CONFLICT);
    wr_append_result r = ts_append_n(e, "async-basin", "s1", "x", 1); /* automatic create */
    assert_int_equal(r.err, WR_ERR_TRANSACTION_CONFLICT);
    assert_int_equal(wr_store_basin_delete(e->s, "async-basin", &err), WR_ERR_TRANSACTION_CONFLICT);
    assert_false(a.done);
    atomic_store(&hold.release, true);
    ts_run_until(e, &a.done);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.err, WR_OK);
    assert_int_equal(a.prov, WR_PROVISION_CREATED);
    /* … then are answered as if they came after it: the same create again, another's 409 */
    ts_run_until(e, &b.done);
    ts_run_until(e, &b2.done);
    assert_int_equal(b.err, WR_OK);
    assert_int_equal(b.prov, WR_PROVISION_NOOP);
    assert_int_equal(b.created_at, a.created_at);
    assert_int_equal(b2.err, WR_ERR_RESOURCE_ALREADY_EXISTS);
    assert_int_equal(atomic_load(&e->syncs_meta), metas); /* the loop synced nothing */
    assert_true(atomic_load(&e->syncs_commit) > commits);
    assert_int_equal(wr_store_stream_get(e->s, "async-basin", "s1", NULL, NULL, &err), WR_OK);

    /* answers without a write: the same create again (NOOP), a conflict, bad input */
    const struct {
        const char *name, *basin, *stream, *token;
        wr_err want;
        wr_provision prov;
    } rows[] = {
        {"same create again", "async-basin", "s1", "tok", WR_OK, WR_PROVISION_NOOP},
        {"other token", "async-basin", "s1", "other", WR_ERR_RESOURCE_ALREADY_EXISTS, 0},
        {"no token", "async-basin", "s1", NULL, WR_ERR_RESOURCE_ALREADY_EXISTS, 0},
        {"missing basin", "no-such-basin", "s", NULL, WR_ERR_BASIN_NOT_FOUND, 0},
        {"bad name", "async-basin", "..", NULL, WR_ERR_INVALID, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        async_answer x = {0};
        wr_store_stream_create_async(e->s, rows[i].basin, rows[i].stream, NULL, rows[i].token,
                                     on_created, &x);
        if (!x.done || x.calls != 1 || x.err != rows[i].want ||
            (x.err == WR_OK && x.prov != rows[i].prov))
            fail_msg("row %zu (%s): done %d err %d", i, rows[i].name, x.done, (int)x.err);
    }

    /* a failed sync: the create fails, the name stays free of it */
    async_answer f = {0};
    atomic_store(&e->fail_countdown, 1);
    wr_store_stream_create_async(e->s, "async-basin", "s2", NULL, NULL, on_created, &f);
    ts_run_until(e, &f.done);
    assert_int_equal(f.err, WR_ERR_STORAGE);
    assert_true(wr_store_failed(e->s));
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(wr_store_stream_get(e->s, "async-basin", "s2", NULL, NULL, &err),
                     WR_ERR_STREAM_NOT_FOUND);
    assert_int_equal(wr_store_stream_get(e->s, "async-basin", "s1", NULL, NULL, &err), WR_OK);

    /* closing with a create in flight: it is written and answered */
    async_answer c = {0};
    wr_store_stream_create_async(e->s, "async-basin", "s3", NULL, NULL, on_created, &c);
    assert_false(c.done);
    assert_int_equal(ts_reopen(e, &err), WR_OK); /* closes first */
    assert_true(c.done);
    assert_int_equal(c.err, WR_OK);
    assert_int_equal(wr_store_stream_get(e->s, "async-basin", "s3", NULL, NULL, &err), WR_OK);
}

/* An automatic create on append: the loop syncs nothing, the appends queued behind it are all
 * acknowledged in order, and once the first is acknowledged the stream is found by name; a
 * crash-free reopen keeps it. Meanwhile an explicit create of the name is asked to retry. */
static void
test_append_autocreate_async(void **state)
{
    ts_env *e = *state;
    wr_error err;
    ts_basin(e, "auto-append", true, false);
    hold_install(e);
    int metas = atomic_load(&e->syncs_meta);
    hold_arm();
    ts_append_wait w[3];
    wr_append_record rec[3] = {ts_rec("a"), ts_rec("b"), ts_rec("c")};
    wr_append_input in[3];
    for (int i = 0; i < 3; i++) {
        in[i] = (wr_append_input){.records = &rec[i], .n_records = 1};
        ts_append_start(e, "auto-append", "new", &in[i], &w[i]);
    }
    hold_wait();
    assert_int_equal(
        wr_store_stream_create(e->s, "auto-append", "new", NULL, NULL, NULL, NULL, &err),
        WR_ERR_TRANSACTION_CONFLICT);
    assert_int_equal(wr_store_stream_get(e->s, "auto-append", "new", NULL, NULL, &err),
                     WR_ERR_STREAM_NOT_FOUND);
    atomic_store(&hold.release, true);
    for (int i = 0; i < 3; i++) {
        ts_run_until(e, &w[i].done);
        assert_int_equal(w[i].res.err, WR_OK);
        assert_int_equal(w[i].res.start.seq, (uint64_t)i);
    }
    assert_int_equal(atomic_load(&e->syncs_meta), metas); /* the loop synced nothing */
    assert_int_equal(wr_store_stream_get(e->s, "auto-append", "new", NULL, NULL, &err), WR_OK);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(wr_store_stream_get(e->s, "auto-append", "new", NULL, NULL, &err), WR_OK);
    char *bodies = ts_read_all_bodies(e, "auto-append", "new");
    assert_string_equal(bodies, "a|b|c");
    free(bodies);
}

typedef struct done_answer {
    bool done;
    int calls;
    wr_err err;
} done_answer;

static void
on_done(void *ud, wr_err err, const wr_error *detail)
{
    (void)detail;
    done_answer *a = ud;
    a->done = true;
    a->calls++;
    a->err = err;
}

/* Protecting a live session's stream: a new one is written with its pin by the commit thread
 * (the loop syncs nothing); a second protect while that is in flight waits and then finds it
 * pinned (once); protecting a pinned stream answers at once; an existing unpinned one is pinned
 * through the commit thread as well. */
static void
test_protect_async(void **state)
{
    ts_env *e = *state;
    wr_error err;
    ts_basin(e, "protect-basin", true, false);
    hold_install(e);
    int metas = atomic_load(&e->syncs_meta);
    done_answer a = {0}, b = {0};
    hold_arm();
    wr_store_stream_protect_async(e->s, "protect-basin", "chan", on_done, &a);
    hold_wait();
    wr_store_stream_protect_async(e->s, "protect-basin", "chan", on_done, &b);
    assert_false(a.done || b.done);
    atomic_store(&hold.release, true);
    ts_run_until(e, &a.done);
    ts_run_until(e, &b.done);
    assert_int_equal(a.err, WR_OK);
    assert_int_equal(b.err, WR_OK);
    assert_int_equal(atomic_load(&e->syncs_meta), metas); /* the loop synced nothing */
    uint64_t n = 0;
    assert_int_equal(wr_store_pin_count(e->s, "protect-basin", "chan", &n, &err), WR_OK);
    assert_int_equal(n, 1);
    done_answer c = {0};
    wr_store_stream_protect_async(e->s, "protect-basin", "chan", on_done, &c);
    assert_true(c.done); /* pinned already: nothing to write */
    assert_int_equal(c.err, WR_OK);
    /* an existing, unpinned stream */
    assert_int_equal(
        wr_store_stream_create(e->s, "protect-basin", "old", NULL, NULL, NULL, NULL, &err), WR_OK);
    done_answer d = {0};
    metas = atomic_load(&e->syncs_meta);
    hold_arm(); /* its pin goes through the commit thread too */
    wr_store_stream_protect_async(e->s, "protect-basin", "old", on_done, &d);
    hold_wait();
    assert_false(d.done);
    atomic_store(&hold.release, true);
    ts_run_until(e, &d.done);
    assert_int_equal(d.err, WR_OK);
    assert_int_equal(atomic_load(&e->syncs_meta), metas); /* the loop synced nothing */
    assert_int_equal(wr_store_pin_count(e->s, "protect-basin", "old", &n, &err), WR_OK);
    assert_int_equal(n, 1);
    /* bad input and a missing basin */
    done_answer x = {0}, y = {0};
    wr_store_stream_protect_async(e->s, "protect-basin", "..", on_done, &x);
    assert_true(x.done && x.err == WR_ERR_INVALID);
    wr_store_stream_protect_async(e->s, "no-such-basin", "s", on_done, &y);
    assert_true(y.done && y.err == WR_ERR_BASIN_NOT_FOUND);
    /* the pin survives a restart */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(wr_store_pin_count(e->s, "protect-basin", "chan", &n, &err), WR_OK);
    assert_int_equal(n, 1);
}

typedef struct basin_answer {
    bool done;
    int calls;
    wr_err err;
    wr_provision prov;
} basin_answer;

static void
on_basin(void *ud, wr_err err, const wr_error *detail, const wr_basin_info *info, wr_provision prov)
{
    basin_answer *a = ud;
    a->done = true;
    a->calls++;
    a->err = err;
    a->prov = prov;
    assert_true(err == WR_OK ? info != NULL : detail != NULL && detail->msg[0]);
}

/* The basin create made by the commit thread: invisible (and its streams with it) until
 * durable, not creatable twice meanwhile; the same create again is a NOOP, another 409. */
static void
test_basin_create_async(void **state)
{
    ts_env *e = *state;
    wr_error err;
    hold_install(e);
    int metas = atomic_load(&e->syncs_meta);
    basin_answer a = {0}, b = {0};
    hold_arm();
    wr_store_basin_create_async(e->s, "async-basin-2", NULL, "tok", on_basin, &a);
    assert_false(a.done);
    hold_wait();
    assert_int_equal(wr_store_basin_get(e->s, "async-basin-2", NULL, NULL, &err),
                     WR_ERR_BASIN_NOT_FOUND);
    assert_int_equal(
        wr_store_stream_create(e->s, "async-basin-2", "s", NULL, NULL, NULL, NULL, &err),
        WR_ERR_BASIN_NOT_FOUND);
    wr_store_basin_create_async(e->s, "async-basin-2", NULL, "tok", on_basin, &b);
    assert_false(b.done); /* waits for the first */
    assert_int_equal(wr_store_basin_ensure(e->s, "async-basin-2", NULL, NULL, NULL, &err),
                     WR_ERR_TRANSACTION_CONFLICT);
    atomic_store(&hold.release, true);
    ts_run_until(e, &a.done);
    assert_int_equal(a.err, WR_OK);
    assert_int_equal(a.prov, WR_PROVISION_CREATED);
    ts_run_until(e, &b.done);
    assert_int_equal(b.err, WR_OK);
    assert_int_equal(b.prov, WR_PROVISION_NOOP);
    assert_int_equal(atomic_load(&e->syncs_meta), metas); /* the loop synced nothing */
    assert_int_equal(wr_store_basin_get(e->s, "async-basin-2", NULL, NULL, &err), WR_OK);
    const struct {
        const char *name, *basin, *token;
        wr_err want;
    } rows[] = {
        {"same create again", "async-basin-2", "tok", WR_OK},
        {"other token", "async-basin-2", "other", WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"bad name", "Bad", NULL, WR_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        basin_answer x = {0};
        wr_store_basin_create_async(e->s, rows[i].basin, NULL, rows[i].token, on_basin, &x);
        if (!x.done || x.calls != 1 || x.err != rows[i].want ||
            (x.err == WR_OK && x.prov != WR_PROVISION_NOOP))
            fail_msg("row %zu (%s): done %d err %d", i, rows[i].name, x.done, (int)x.err);
    }
}

typedef struct cfg_answer {
    bool done;
    int calls;
    wr_err err;
    wr_stream_config cfg;
    wr_basin_config bcfg;
} cfg_answer;

static void
cfg_answered(cfg_answer *a, wr_err err, const wr_error *detail, bool has_cfg)
{
    a->done = true;
    a->calls++;
    a->err = err;
    assert_true(err == WR_OK ? has_cfg : detail != NULL && detail->msg[0]);
}

static void
on_stream_cfg(void *ud, wr_err err, const wr_error *detail, const wr_stream_config *cfg)
{
    cfg_answered(ud, err, detail, cfg != NULL);
    if (cfg)
        ((cfg_answer *)ud)->cfg = *cfg;
}

static void
on_basin_cfg(void *ud, wr_err err, const wr_error *detail, const wr_basin_config *cfg)
{
    cfg_answered(ud, err, detail, cfg != NULL);
    if (cfg)
        ((cfg_answer *)ud)->bcfg = *cfg;
}

static wr_stream_config_patch
retention_patch(uint64_t secs)
{
    wr_stream_config_patch p = {0};
    p.retention_op = WR_PATCH_SET;
    p.retention = WR_RETENTION_AGE;
    p.retention_age_secs = secs;
    return p;
}

/*
 * Changes of an existing stream made by the commit thread: while one is in flight, readers see
 * the stream as it was and appends go on; the next change of the name waits for it and decides
 * on its result; a synchronous change, a pin and the basin's delete wait or get 409; the loop
 * syncs nothing; everything survives a reopen.
 */
static void
test_stream_changes_async(void **state)
{
    ts_env *e = *state;
    wr_error err;
    wr_stream_config cfg;
    ts_basin(e, "change-basin", true, false);
    assert_int_equal(
        wr_store_stream_create(e->s, "change-basin", "s", NULL, NULL, NULL, NULL, &err), WR_OK);
    hold_install(e);
    int metas = atomic_load(&e->syncs_meta);
    wr_stream_config_patch p1 = retention_patch(3600), p2 = {0};
    p2.doe_op = p2.doe_min_age_op = WR_PATCH_SET;
    p2.doe_min_age_secs = 60;
    cfg_answer a = {0}, b = {0};
    hold_arm();
    wr_store_stream_reconfigure_async(e->s, "change-basin", "s", &p1, on_stream_cfg, &a);
    hold_wait();
    wr_store_stream_reconfigure_async(e->s, "change-basin", "s", &p2, on_stream_cfg, &b);
    assert_false(a.done || b.done);
    /* in flight: the config as it was, appends go on, other changes wait or are refused */
    assert_int_equal(wr_store_stream_get(e->s, "change-basin", "s", &cfg, NULL, &err), WR_OK);
    assert_int_not_equal(cfg.retention_age_secs, 3600);
    ts_append_wait w; /* acknowledged once the commit thread goes on */
    wr_append_record rec = ts_rec("x");
    wr_append_input in = {.records = &rec, .n_records = 1};
    ts_append_start(e, "change-basin", "s", &in, &w);
    assert_int_equal(wr_store_stream_reconfigure(e->s, "change-basin", "s", &p1, NULL, &err),
                     WR_ERR_TRANSACTION_CONFLICT);
    assert_int_equal(wr_store_pin(e->s, "change-basin", "s", &err), WR_ERR_TRANSACTION_CONFLICT);
    assert_int_equal(wr_store_basin_delete(e->s, "change-basin", &err),
                     WR_ERR_TRANSACTION_CONFLICT);
    done_answer del = {0};
    wr_store_stream_delete_async(e->s, "change-basin", "s", on_done, &del);
    assert_false(a.done || b.done || del.done);
    atomic_store(&hold.release, true);
    ts_run_until(e, &a.done);
    ts_run_until(e, &b.done);
    ts_run_until(e, &del.done);
    ts_run_until(e, &w.done);
    assert_int_equal(w.res.err, WR_OK); /* accepted before the delete: ordered before it */
    assert_int_equal(a.err, WR_OK);
    assert_int_equal(a.cfg.retention_age_secs, 3600);
    assert_int_equal(b.err, WR_OK); /* decided on a's result: both patches hold */
    assert_int_equal(b.cfg.retention_age_secs, 3600);
    assert_int_equal(b.cfg.doe_min_age_secs, 60);
    assert_int_equal(del.err, WR_OK);
    assert_int_equal(atomic_load(&e->syncs_meta), metas); /* the loop synced nothing */
    assert_int_equal(wr_store_stream_get(e->s, "change-basin", "s", NULL, NULL, &err),
                     WR_ERR_STREAM_DELETION_PENDING);
    wr_append_result r = ts_append_n(e, "change-basin", "s", "y", 1);
    assert_int_equal(r.err, WR_ERR_STREAM_DELETION_PENDING);
    done_answer again = {0}; /* repeating a delete writes nothing */
    wr_store_stream_delete_async(e->s, "change-basin", "s", on_done, &again);
    assert_true(again.done && again.err == WR_OK);

    /* ensure: a new stream through the commit thread, then UPDATED, then NOOP (no write) */
    async_answer c = {0}, d = {0}, n = {0};
    wr_stream_config want = {0};
    want.retention = WR_RETENTION_AGE;
    want.retention_age_secs = 7200;
    wr_store_stream_ensure_async(e->s, "change-basin", "t", NULL, on_created, &c);
    assert_false(c.done);
    ts_run_until(e, &c.done);
    assert_int_equal(c.err, WR_OK);
    assert_int_equal(c.prov, WR_PROVISION_CREATED);
    wr_store_stream_ensure_async(e->s, "change-basin", "t", &want, on_created, &d);
    ts_run_until(e, &d.done);
    assert_int_equal(d.prov, WR_PROVISION_UPDATED);
    wr_store_stream_ensure_async(e->s, "change-basin", "t", &want, on_created, &n);
    assert_true(n.done);
    assert_int_equal(n.prov, WR_PROVISION_NOOP);

    /* unprotect: one pin released through the commit thread; nothing for a missing stream */
    done_answer pin = {0}, unpin = {0}, none = {0};
    wr_store_stream_protect_async(e->s, "change-basin", "t", on_done, &pin);
    ts_run_until(e, &pin.done);
    uint64_t pins = 0;
    assert_int_equal(wr_store_pin_count(e->s, "change-basin", "t", &pins, &err), WR_OK);
    assert_int_equal(pins, 1);
    wr_store_stream_unprotect_async(e->s, "change-basin", "t", on_done, &unpin);
    assert_false(unpin.done);
    ts_run_until(e, &unpin.done);
    assert_int_equal(unpin.err, WR_OK);
    assert_int_equal(wr_store_pin_count(e->s, "change-basin", "t", &pins, &err), WR_OK);
    assert_int_equal(pins, 0);
    wr_store_stream_unprotect_async(e->s, "change-basin", "nope", on_done, &none);
    assert_true(none.done && none.err == WR_OK);
    assert_int_equal(atomic_load(&e->syncs_meta), metas);

    /* durable */
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(wr_store_stream_get(e->s, "change-basin", "s", NULL, NULL, &err),
                     WR_ERR_STREAM_DELETION_PENDING);
    assert_int_equal(wr_store_stream_get(e->s, "change-basin", "t", &cfg, NULL, &err), WR_OK);
    assert_int_equal(cfg.retention_age_secs, 7200);

    /* a failed sync: STORAGE, the config as it was */
    cfg_answer f = {0};
    wr_stream_config_patch p3 = retention_patch(99);
    atomic_store(&e->fail_countdown, 1);
    wr_store_stream_reconfigure_async(e->s, "change-basin", "t", &p3, on_stream_cfg, &f);
    ts_run_until(e, &f.done);
    assert_int_equal(f.err, WR_ERR_STORAGE);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(wr_store_stream_get(e->s, "change-basin", "t", &cfg, NULL, &err), WR_OK);
    assert_int_equal(cfg.retention_age_secs, 7200);
}

/* Basin changes made by the commit thread: in flight, the basin as it was; its delete waits for
 * a change of one of its streams; answers without a write come at once. */
static void
test_basin_changes_async(void **state)
{
    ts_env *e = *state;
    wr_error err;
    wr_basin_config bc;
    ts_basin(e, "change-basin-2", true, false);
    assert_int_equal(
        wr_store_stream_create(e->s, "change-basin-2", "s", NULL, NULL, NULL, NULL, &err), WR_OK);
    hold_install(e);
    int metas = atomic_load(&e->syncs_meta);
    wr_basin_config_patch bp = {0};
    bp.create_stream_on_read_op = WR_PATCH_SET;
    bp.create_stream_on_read = true;
    wr_stream_config_patch sp = retention_patch(600);
    cfg_answer s1 = {0}, b1 = {0};
    done_answer del = {0};
    hold_arm();
    wr_store_stream_reconfigure_async(e->s, "change-basin-2", "s", &sp, on_stream_cfg, &s1);
    hold_wait();
    wr_store_basin_reconfigure_async(e->s, "change-basin-2", &bp, on_basin_cfg, &b1);
    wr_store_basin_delete_async(e->s, "change-basin-2", on_done, &del);
    assert_int_equal(wr_store_basin_get(e->s, "change-basin-2", &bc, NULL, &err), WR_OK);
    assert_false(bc.create_stream_on_read);
    assert_false(s1.done || b1.done || del.done);
    atomic_store(&hold.release, true);
    ts_run_until(e, &s1.done);
    ts_run_until(e, &b1.done);
    ts_run_until(e, &del.done);
    assert_int_equal(s1.err, WR_OK);
    assert_int_equal(b1.err, WR_OK);
    assert_true(b1.bcfg.create_stream_on_read);
    assert_int_equal(del.err, WR_OK);
    assert_int_equal(atomic_load(&e->syncs_meta), metas); /* the loop synced nothing */
    wr_basin_info info;
    assert_int_equal(wr_store_basin_get(e->s, "change-basin-2", &bc, &info, &err), WR_OK);
    assert_true(info.deleted);
    assert_true(bc.create_stream_on_read);
    /* ensure: created through the commit thread, then NOOP at once */
    basin_answer c = {0}, n = {0};
    wr_store_basin_ensure_async(e->s, "change-basin-3", NULL, on_basin, &c);
    assert_false(c.done);
    ts_run_until(e, &c.done);
    assert_int_equal(c.err, WR_OK);
    assert_int_equal(c.prov, WR_PROVISION_CREATED);
    wr_store_basin_ensure_async(e->s, "change-basin-3", NULL, on_basin, &n);
    assert_true(n.done);
    assert_int_equal(n.prov, WR_PROVISION_NOOP);
    assert_int_equal(ts_reopen(e, &err), WR_OK);
    assert_int_equal(wr_store_basin_get(e->s, "change-basin-3", NULL, NULL, &err), WR_OK);
}

/* Answers that need no write, one row per class of bad input: they come before the call
 * returns, with their code. */
static void
test_change_rows(void **state)
{
    ts_env *e = *state;
    wr_error err;
    ts_basin(e, "rows-basin", true, false);
    assert_int_equal(wr_store_stream_create(e->s, "rows-basin", "s", NULL, NULL, NULL, NULL, &err),
                     WR_OK);
    wr_stream_config_patch ok = retention_patch(60), bad = {0};
    bad.retention_op = WR_PATCH_SET;
    bad.retention = WR_RETENTION_AGE;
    bad.retention_age_secs = 0; /* age retention needs an age */
    wr_basin_config_patch bok = {0};
    const struct {
        const char *name;
        int kind; /* 0 reconfigure, 1 delete, 2 ensure, 3 unprotect, 4 basin reconfigure,
                     5 basin delete, 6 basin ensure */
        const char *basin, *stream;
        const wr_stream_config_patch *p;
        wr_err want;
    } rows[] = {
        {"reconfigure bad stream name", 0, "rows-basin", "..", &ok, WR_ERR_INVALID},
        {"reconfigure bad basin name", 0, "Bad", "s", &ok, WR_ERR_INVALID},
        {"reconfigure bad patch", 0, "rows-basin", "s", &bad, WR_ERR_INVALID},
        {"reconfigure missing stream", 0, "rows-basin", "nope", &ok, WR_ERR_STREAM_NOT_FOUND},
        {"reconfigure missing basin", 0, "no-such-basin", "s", &ok, WR_ERR_BASIN_NOT_FOUND},
        {"delete bad name", 1, "rows-basin", "", NULL, WR_ERR_INVALID},
        {"delete missing stream", 1, "rows-basin", "nope", NULL, WR_ERR_STREAM_NOT_FOUND},
        {"ensure bad name", 2, "rows-basin", "..", NULL, WR_ERR_INVALID},
        {"ensure missing basin", 2, "no-such-basin", "s", NULL, WR_ERR_BASIN_NOT_FOUND},
        {"unprotect bad name", 3, "rows-basin", "..", NULL, WR_ERR_INVALID},
        {"basin reconfigure bad name", 4, "Bad", NULL, NULL, WR_ERR_INVALID},
        {"basin reconfigure missing", 4, "no-such-basin", NULL, NULL, WR_ERR_BASIN_NOT_FOUND},
        {"basin delete bad name", 5, "b", NULL, NULL, WR_ERR_INVALID},
        {"basin delete missing", 5, "no-such-basin", NULL, NULL, WR_ERR_BASIN_NOT_FOUND},
        {"basin ensure bad name", 6, "Bad", NULL, NULL, WR_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cfg_answer x = {0};
        done_answer y = {0};
        async_answer z = {0};
        basin_answer w = {0};
        bool done = false;
        int calls = 0;
        wr_err got = WR_OK;
        switch (rows[i].kind) {
        case 0:
            wr_store_stream_reconfigure_async(e->s, rows[i].basin, rows[i].stream, rows[i].p,
                                              on_stream_cfg, &x);
            break;
        case 1:
            wr_store_stream_delete_async(e->s, rows[i].basin, rows[i].stream, on_done, &y);
            break;
        case 2:
            wr_store_stream_ensure_async(e->s, rows[i].basin, rows[i].stream, NULL, on_created, &z);
            break;
        case 3:
            wr_store_stream_unprotect_async(e->s, rows[i].basin, rows[i].stream, on_done, &y);
            break;
        case 4:
            wr_store_basin_reconfigure_async(e->s, rows[i].basin, &bok, on_basin_cfg, &x);
            break;
        case 5:
            wr_store_basin_delete_async(e->s, rows[i].basin, on_done, &y);
            break;
        default:
            wr_store_basin_ensure_async(e->s, rows[i].basin, NULL, on_basin, &w);
        }
        done = x.done || y.done || z.done || w.done;
        calls = x.calls + y.calls + z.calls + w.calls;
        got = x.done ? x.err : y.done ? y.err : z.done ? z.err : w.err;
        if (!done || calls != 1 || got != rows[i].want)
            fail_msg("row %zu (%s): done %d err %d", i, rows[i].name, done, (int)got);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basin_names),
        cmocka_unit_test(test_stream_names),
        TS_TEST(test_basin_create_and_idempotency, &fx),
        TS_TEST(test_basin_ensure_reconfigure, &fx),
        TS_TEST(test_basin_list, &fx),
        TS_TEST(test_basin_list_limit, &fx),
        TS_TEST(test_stream_lifecycle, &fx),
        TS_TEST(test_stream_list, &fx),
        TS_TEST(test_check_tail_autocreate, &fx),
        TS_TEST(test_stream_create_async, &fx),
        TS_TEST(test_basin_create_async, &fx),
        TS_TEST(test_append_autocreate_async, &fx),
        TS_TEST(test_protect_async, &fx),
        TS_TEST(test_stream_changes_async, &fx),
        TS_TEST(test_basin_changes_async, &fx),
        TS_TEST(test_change_rows, &fx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
