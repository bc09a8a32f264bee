/*
 * test_meta_postgres.c — what only the PostgreSQL backend promises, checked with a second, raw
 * libpq connection to the same schema: the schema_migrations ledger (contiguous, applied once, a
 * newer database refused), the write-once triggers, two handles opening an empty database at once,
 * group commit with a failing operation inside (the savepoint per operation), two groups
 * deadlocking (TRANSACTION_CONFLICT), two nodes creating
 * the same session at once, binary-safe key
 * bytes, bad connection strings and unreachable servers, and reconnection after the server ended
 * the session (pg_terminate_backend, as a restart does). The behaviour every backend shares is in
 * test_meta_conformance.c.
 *
 * Needs the server scripts/pg-test.sh starts (WEIR_TEST_PG); without it the file prints a SKIPPED
 * line, or fails when WEIR_REQUIRE_PG=1 (`make unit`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <unistd.h>

#include "meta/meta.h"
#include "support/pg_support.h"

typedef struct fx {
    char conninfo[512]; /* this test's schema */
    PGconn *raw;        /* a raw connection to it */
} fx;

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    ts_pg_schema_new(f->conninfo, sizeof(f->conninfo));
    f->raw = ts_pg_connect(f->conninfo);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    PQfinish(f->raw);
    ts_pg_schema_drop(f->conninfo);
    free(f);
    return 0;
}

static void
open_ok(const char *conninfo, wr_meta **m)
{
    wr_error err = {0};
    if (wr_meta_open_postgres(conninfo, m, &err) != WR_OK)
        fail_msg("open %s: %s", conninfo, err.msg);
}

#define OK(call) assert_int_equal((call), WR_OK)

/* Organization org1, its project proj1 and that project's environment env1. */
static void
tenant(wr_meta *m)
{
    wr_org o = {.id = "org1", .slug = "acme", .plan = "free"};
    OK(wr_meta_org_create(m, &o, NULL));
    wr_project p = {.id = "proj1", .slug = "web", .org_id = "org1"};
    OK(wr_meta_project_create(m, &p, NULL));
    wr_env e = {.id = "env1", .slug = "dev", .project_id = "proj1"};
    OK(wr_meta_env_create(m, &e, NULL));
}

/* ---- schema --------------------------------------------------------------------------------- */

static void
test_migration_ledger(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->conninfo, &m);
    assert_string_equal(wr_meta_backend(m), "postgres");
    wr_meta_close(m);

    /* versions 1..N, contiguous, each with the time it was applied */
    long long n = ts_pg_int(f->raw, "SELECT count(*) FROM schema_migrations");
    assert_true(n >= 2);
    assert_int_equal(ts_pg_int(f->raw, "SELECT max(version) FROM schema_migrations"), n);
    assert_int_equal(ts_pg_int(f->raw, "SELECT min(version) FROM schema_migrations"), 1);
    long long applied = ts_pg_int(f->raw, "SELECT sum(applied_at_ms) FROM schema_migrations");
    assert_true(applied > 0);

    /* reopening applies nothing again */
    open_ok(f->conninfo, &m);
    wr_meta_close(m);
    assert_int_equal(ts_pg_int(f->raw, "SELECT count(*) FROM schema_migrations"), n);
    assert_int_equal(ts_pg_int(f->raw, "SELECT sum(applied_at_ms) FROM schema_migrations"),
                     applied);
    /* the five write-once triggers, in this schema */
    assert_int_equal(ts_pg_int(f->raw, "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON "
                                       "c.oid = t.tgrelid WHERE NOT t.tgisinternal AND "
                                       "c.relnamespace = current_schema()::regnamespace"),
                     5);
}

static void
test_newer_schema_is_refused(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->conninfo, &m);
    wr_meta_close(m);
    ts_pg_exec(f->raw, "INSERT INTO schema_migrations (version, applied_at_ms) "
                       "SELECT max(version) + 1, 1 FROM schema_migrations");
    wr_error err = {0};
    m = (wr_meta *)1;
    assert_int_equal(wr_meta_open_postgres(f->conninfo, &m, &err), WR_ERR_STORAGE);
    assert_null(m);
    assert_non_null(strstr(err.msg, "newer"));
    /* nothing was applied or changed by the refused open */
    assert_int_equal(ts_pg_int(f->raw, "SELECT count(*) FROM schema_migrations"),
                     ts_pg_int(f->raw, "SELECT max(version) FROM schema_migrations"));
}

static void
test_write_once_triggers(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->conninfo, &m);
    tenant(m);
    wr_run r = {.id = "run_1", .env_id = "env1", .has_basin = true, .basin = "basin-a"};
    OK(wr_meta_run_create(m, &r, NULL));
    OK(wr_meta_run_complete(m, "run_1", 10, NULL));
    wr_session s = {.id = "session_1", .env_id = "env1"}, out;
    OK(wr_meta_session_create_or_get(m, &s, NULL, &out, NULL, NULL));
    wr_session_fini(&out);
    OK(wr_meta_session_close(m, "session_1", "done", 20, NULL, NULL));
    wr_meta_close(m);

    const char *forbidden[] = {
        "UPDATE runs SET stream_basin_name = 'other' WHERE id = 'run_1'",
        "UPDATE runs SET stream_basin_name = NULL WHERE id = 'run_1'",
        "UPDATE runs SET completed_at_ms = 11 WHERE id = 'run_1'",
        "UPDATE runs SET completed_at_ms = NULL WHERE id = 'run_1'",
        "UPDATE sessions SET stream_basin_name = 'basin-b' WHERE id = 'session_1'",
        "UPDATE sessions SET closed_at_ms = 21 WHERE id = 'session_1'",
        "UPDATE sessions SET closed_reason = 'changed' WHERE id = 'session_1'",
        "UPDATE sessions SET stream_key = 'elsewhere' WHERE id = 'session_1'",
    };
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        const char *state_ = ts_pg_fails(f->raw, forbidden[i]);
        if (strcmp(state_, "P0001") != 0) /* RAISE EXCEPTION */
            fail_msg("row %zu (%s): SQLSTATE '%s'", i, forbidden[i], state_);
    }
    /* writing the same value is not a change and is allowed */
    assert_string_equal(ts_pg_fails(f->raw, "UPDATE runs SET stream_basin_name = 'basin-a', "
                                            "completed_at_ms = 10 WHERE id = 'run_1'"),
                        "");
    /* and through the store, a write-once violation would be STORAGE: the trigger's RAISE */
    open_ok(f->conninfo, &m);
    wr_run got;
    OK(wr_meta_run_get(m, "env1", "run_1", &got, NULL));
    assert_string_equal(got.basin, "basin-a");
    assert_int_equal(got.completed_at_ms, 10);
    wr_meta_close(m);
}

/* Key hashes and sealed keys are bytes: zeros, quotes and backslashes survive the round trip. */
static void
test_key_bytes_round_trip(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->conninfo, &m);
    tenant(m);
    uint8_t hash[32], enc[WR_META_KEY_ENC_MAX];
    for (size_t i = 0; i < sizeof(hash); i++)
        hash[i] = (uint8_t)(i * 37); /* starts with 0x00 */
    hash[5] = '\\';
    hash[6] = '\'';
    for (size_t i = 0; i < sizeof(enc); i++)
        enc[i] = (uint8_t)(255 - i * 2);
    enc[0] = 0;
    OK(wr_meta_env_set_key(m, "env1", hash, enc, sizeof(enc), NULL));
    wr_env e;
    OK(wr_meta_env_by_key_hash(m, hash, &e, NULL));
    assert_string_equal(e.id, "env1");
    assert_memory_equal(e.key_hash, hash, sizeof(hash));
    assert_int_equal(e.key_enc_len, sizeof(enc));
    assert_memory_equal(e.key_enc, enc, sizeof(enc));
    OK(wr_meta_env_set_key(m, "env1", hash, NULL, 0, NULL));
    OK(wr_meta_env_get(m, "env1", &e, NULL));
    assert_int_equal(e.key_enc_len, 0);
    assert_int_equal(ts_pg_int(f->raw, "SELECT count(*) FROM environments WHERE api_key_enc IS "
                                       "NULL AND octet_length(api_key_hash) = 32"),
                     1);
    wr_meta_close(m);
}

/* ---- concurrent open ------------------------------------------------------------------------ */

#define N_OPENERS 4

typedef struct opener {
    const char *conninfo;
    pthread_barrier_t *go;
    wr_err rc;
    wr_error err;
} opener;

static void *
open_concurrently(void *arg)
{
    opener *o = arg;
    pthread_barrier_wait(o->go);
    wr_meta *m = NULL;
    o->rc = wr_meta_open_postgres(o->conninfo, &m, &o->err);
    wr_meta_close(m);
    return NULL;
}

/* Nodes opening an empty database at once: each migration is applied exactly once, all open. */
static void
test_concurrent_open_converges(void **state)
{
    fx *f = *state;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N_OPENERS);
    pthread_t t[N_OPENERS];
    opener o[N_OPENERS];
    for (int i = 0; i < N_OPENERS; i++) {
        o[i] = (opener){.conninfo = f->conninfo, .go = &go};
        assert_int_equal(pthread_create(&t[i], NULL, open_concurrently, &o[i]), 0);
    }
    for (int i = 0; i < N_OPENERS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < N_OPENERS; i++)
        if (o[i].rc != WR_OK)
            fail_msg("opener %d: %d %s", i, o[i].rc, o[i].err.msg);
    long long n = ts_pg_int(f->raw, "SELECT count(*) FROM schema_migrations");
    assert_int_equal(ts_pg_int(f->raw, "SELECT max(version) FROM schema_migrations"), n);
    assert_true(n >= 2);
}

/* ---- group commit --------------------------------------------------------------------------- */

static wr_err
make_org(wr_meta *m, const char *id, const char *slug)
{
    wr_org o = {.plan = "free"};
    snprintf(o.id, sizeof(o.id), "%s", id);
    snprintf(o.slug, sizeof(o.slug), "%s", slug);
    return wr_meta_org_create(m, &o, NULL);
}

static long long
count_orgs(fx *f, const char *id)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM orgs WHERE id = '%s'", id);
    return ts_pg_int(f->raw, sql);
}

/* A failing operation inside a job undoes only itself (its savepoint); an undone job undoes only
 * its own changes; nothing is visible to other connections before COMMIT. */
static void
test_group_failing_op_keeps_the_rest(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->conninfo, &m);
    tenant(m);
    OK(wr_meta_group(m, WR_META_GROUP_BEGIN, NULL));

    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    OK(make_org(m, "orga", "a"));
    assert_int_equal(make_org(m, "orgdup", "a"), WR_ERR_RESOURCE_ALREADY_EXISTS); /* slug */
    assert_int_equal(wr_meta_run_add_stream(m, "run_missing", "s", NULL), WR_ERR_NOT_FOUND);
    wr_run r = {.id = "run_x", .env_id = "env_missing"};
    assert_int_equal(wr_meta_run_create(m, &r, NULL), WR_ERR_NOT_FOUND); /* foreign key */
    OK(make_org(m, "orgb", "b"));
    wr_session s = {.id = "session_1",
                    .env_id = "env1",
                    .has_external_id = true,
                    .external_id = "ext"},
               out;
    wr_run first = {.id = "run_first", .env_id = "env1"};
    OK(wr_meta_session_create_or_get(m, &s, &first, &out, NULL, NULL));
    wr_session_fini(&out);
    OK(wr_meta_group(m, WR_META_GROUP_JOB_KEEP, NULL));

    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    OK(make_org(m, "orgc", "c"));
    OK(wr_meta_group(m, WR_META_GROUP_JOB_UNDO, NULL));

    /* savepoints wait for the next statement: a job that sends nothing, then one that only
     * reads, then one undone before it sent anything, leave the group as it was */
    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_JOB_KEEP, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    wr_org seen;
    OK(wr_meta_org_get(m, "orga", &seen, NULL));
    assert_int_equal(wr_meta_org_get(m, "orgc", &seen, NULL), WR_ERR_NOT_FOUND);
    OK(wr_meta_group(m, WR_META_GROUP_JOB_KEEP, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_JOB_UNDO, NULL));
    /* a job whose first change fails (undone to the job's start) goes on and keeps the next */
    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    assert_int_equal(make_org(m, "orgdup2", "a"), WR_ERR_RESOURCE_ALREADY_EXISTS);
    OK(make_org(m, "orgg", "g"));
    OK(wr_meta_group(m, WR_META_GROUP_JOB_KEEP, NULL));

    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    OK(make_org(m, "orgd", "d"));
    OK(wr_meta_org_set_plan(m, "orgd", "pro", NULL));
    assert_int_equal(wr_meta_org_set_plan(m, "orgnope", "pro", NULL), WR_ERR_NOT_FOUND);
    OK(wr_meta_group(m, WR_META_GROUP_JOB_KEEP, NULL));

    /* the group sees its own changes; another connection sees none yet */
    wr_org o;
    OK(wr_meta_org_get(m, "orgd", &o, NULL));
    assert_string_equal(o.plan, "pro");
    assert_int_equal(count_orgs(f, "orga"), 0);

    OK(wr_meta_group(m, WR_META_GROUP_COMMIT, NULL));
    const struct {
        const char *id;
        long long want;
    } rows[] = {{"orga", 1},    {"orgb", 1}, {"orgdup", 0}, {"orgc", 0},
                {"orgdup2", 0}, {"orgg", 1}, {"orgd", 1}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (count_orgs(f, rows[i].id) != rows[i].want)
            fail_msg("row %zu: org %s count != %lld", i, rows[i].id, rows[i].want);
    assert_int_equal(ts_pg_int(f->raw, "SELECT count(*) FROM runs WHERE id = 'run_first'"), 1);
    assert_int_equal(ts_pg_int(f->raw, "SELECT count(*) FROM sessions"), 1);

    /* an aborted group leaves nothing */
    OK(wr_meta_group(m, WR_META_GROUP_BEGIN, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    OK(make_org(m, "orge", "e"));
    OK(wr_meta_group(m, WR_META_GROUP_JOB_KEEP, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_ABORT, NULL));
    assert_int_equal(count_orgs(f, "orge"), 0);
    /* and the handle goes on outside a group */
    OK(make_org(m, "orgf", "f"));
    assert_int_equal(count_orgs(f, "orgf"), 1);
    wr_meta_close(m);
}

static void
test_group_steps_out_of_order(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->conninfo, &m);
    static const struct {
        const char *what;
        wr_meta_group_step before[3]; /* steps that succeed first; ends at the first ABORT */
        int n_before;
        wr_meta_group_step bad;
    } rows[] = {
        {"job outside a group", {0}, 0, WR_META_GROUP_JOB},
        {"keep outside a job", {WR_META_GROUP_BEGIN}, 1, WR_META_GROUP_JOB_KEEP},
        {"undo outside a job", {WR_META_GROUP_BEGIN}, 1, WR_META_GROUP_JOB_UNDO},
        {"commit outside a group", {0}, 0, WR_META_GROUP_COMMIT},
        {"abort outside a group", {0}, 0, WR_META_GROUP_ABORT},
        {"begin inside a group", {WR_META_GROUP_BEGIN}, 1, WR_META_GROUP_BEGIN},
        {"job inside a job", {WR_META_GROUP_BEGIN, WR_META_GROUP_JOB}, 2, WR_META_GROUP_JOB},
        {"commit inside a job", {WR_META_GROUP_BEGIN, WR_META_GROUP_JOB}, 2, WR_META_GROUP_COMMIT},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        for (int k = 0; k < rows[i].n_before; k++)
            OK(wr_meta_group(m, rows[i].before[k], NULL));
        wr_error err = {0};
        wr_err got = wr_meta_group(m, rows[i].bad, &err);
        if (got != WR_ERR_INVALID)
            fail_msg("row %zu (%s): got %d", i, rows[i].what, got);
        /* back to no group */
        if (rows[i].n_before == 2)
            OK(wr_meta_group(m, WR_META_GROUP_JOB_UNDO, NULL));
        if (rows[i].n_before >= 1)
            OK(wr_meta_group(m, WR_META_GROUP_ABORT, NULL));
    }
    OK(make_org(m, "orga", "a"));
    wr_meta_close(m);
}

/* ---- connections ---------------------------------------------------------------------------- */

/* This handle's own connection string: the schema's, under an application_name of its own. */
static void
victim_conninfo(const fx *f, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s application_name=%s_%s", f->conninfo, ts_pg_schema_name(f->conninfo),
             name);
}

/* Ends every server session of application `name` (as a restart would) and waits until they
 * are gone. */
static void
terminate(fx *f, const char *conninfo)
{
    const char *app = NULL; /* the last application_name= wins, as in libpq */
    for (const char *p = conninfo; (p = strstr(p, "application_name=")); p++)
        app = p + strlen("application_name=");
    assert_non_null(app);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE application_name = '%s'",
             app);
    assert_true(ts_pg_int(f->raw, sql) >= 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'", app);
    for (int i = 0; ts_pg_int(f->raw, sql) != 0; i++) {
        assert_true(i < 1000); /* 10 s */
        usleep(10000);
    }
}

static void
test_reconnect_after_terminate(void **state)
{
    fx *f = *state;
    char ci[700];
    victim_conninfo(f, "reconnect", ci, sizeof(ci));
    wr_meta *m;
    open_ok(ci, &m);
    tenant(m);

    /* a read after the server ended the session: reconnects and answers */
    terminate(f, ci);
    wr_org o;
    OK(wr_meta_org_get(m, "org1", &o, NULL));
    assert_string_equal(o.slug, "acme");

    /* a single-statement change */
    terminate(f, ci);
    OK(make_org(m, "org2", "two"));
    assert_int_equal(count_orgs(f, "org2"), 1);

    /* a change of several statements (its own transaction) */
    terminate(f, ci);
    wr_session s = {.id = "session_1",
                    .env_id = "env1",
                    .has_external_id = true,
                    .external_id = "ext"},
               out;
    bool created = false;
    OK(wr_meta_session_create_or_get(m, &s, NULL, &out, &created, NULL));
    assert_true(created);
    wr_session_fini(&out);

    /* a group begun after the loss */
    terminate(f, ci);
    OK(wr_meta_group(m, WR_META_GROUP_BEGIN, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    OK(make_org(m, "org3", "three"));
    OK(wr_meta_group(m, WR_META_GROUP_JOB_KEEP, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_COMMIT, NULL));
    assert_int_equal(count_orgs(f, "org3"), 1);
    wr_meta_close(m);
}

/* The server ends the session and then refuses new ones (here: the handle's role may no longer
 * log in): each call tries to reconnect once and fails with UNAVAILABLE naming the server, until
 * the server takes connections again; then the next call works. */
static void
test_reconnect_refused_then_back(void **state)
{
    fx *f = *state;
    const char *schema = ts_pg_schema_name(f->conninfo);
    char role[80], sql[300], ci[800];
    snprintf(role, sizeof(role), "%s_role", schema);
    snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN; GRANT USAGE, CREATE ON SCHEMA %s TO %s", role,
             schema, role);
    ts_pg_exec(f->raw, sql);
    snprintf(ci, sizeof(ci), "%s user=%s application_name=%s", f->conninfo, role, role);
    wr_meta *m;
    open_ok(ci, &m);
    OK(make_org(m, "org1", "one"));

    snprintf(sql, sizeof(sql), "ALTER ROLE %s NOLOGIN", role);
    ts_pg_exec(f->raw, sql);
    terminate(f, ci);
    for (int i = 0; i < 2; i++) {
        wr_org o;
        wr_error err = {0};
        assert_int_equal(wr_meta_org_get(m, "org1", &o, &err), WR_ERR_UNAVAILABLE);
        assert_non_null(strstr(err.msg, "127.0.0.1:"));
        assert_int_equal(make_org(m, "org2", "two"), WR_ERR_UNAVAILABLE);
    }
    snprintf(sql, sizeof(sql), "ALTER ROLE %s LOGIN", role);
    ts_pg_exec(f->raw, sql);
    wr_org o;
    OK(wr_meta_org_get(m, "org1", &o, NULL));
    OK(make_org(m, "org2", "two"));
    wr_meta_close(m);
    snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE; DROP OWNED BY %s; DROP ROLE %s", schema,
             role, role);
    ts_pg_exec(f->raw, sql);
}

/* The connection is lost in the middle of a group: the group is gone (the server rolled it
 * back), its later steps fail without touching a new connection, and the handle works after. */
static void
test_group_connection_lost(void **state)
{
    fx *f = *state;
    char ci[700];
    victim_conninfo(f, "group", ci, sizeof(ci));
    wr_meta *m;
    open_ok(ci, &m);
    OK(wr_meta_group(m, WR_META_GROUP_BEGIN, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    OK(make_org(m, "orga", "a"));
    OK(wr_meta_group(m, WR_META_GROUP_JOB_KEEP, NULL));
    terminate(f, ci);

    /* a change in the dead group must not autocommit on a fresh connection */
    wr_error err = {0};
    assert_int_equal(wr_meta_group(m, WR_META_GROUP_JOB, NULL), WR_ERR_UNAVAILABLE);
    assert_int_equal(make_org(m, "orgb", "b"), WR_ERR_UNAVAILABLE);
    assert_int_equal(wr_meta_group(m, WR_META_GROUP_COMMIT, &err), WR_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "127.0.0.1"));
    assert_int_equal(count_orgs(f, "orga"), 0);
    assert_int_equal(count_orgs(f, "orgb"), 0);

    /* the handle goes on */
    OK(make_org(m, "orgc", "c"));
    OK(wr_meta_group(m, WR_META_GROUP_BEGIN, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_JOB, NULL));
    OK(make_org(m, "orga", "a"));
    OK(wr_meta_group(m, WR_META_GROUP_JOB_KEEP, NULL));
    OK(wr_meta_group(m, WR_META_GROUP_COMMIT, NULL));
    assert_int_equal(count_orgs(f, "orga"), 1);
    assert_int_equal(count_orgs(f, "orgc"), 1);
    wr_meta_close(m);
}

/* ---- two groups deadlocking ----------------------------------------------------------------- */

typedef struct locker {
    wr_meta *m;
    const char *org;
    wr_err rc;
    int done; /* set (atomically) when the call returned */
} locker;

static void *
set_plan_thread(void *arg)
{
    locker *l = arg;
    l->rc = wr_meta_org_set_plan(l->m, l->org, "pro", NULL);
    __atomic_store_n(&l->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Waits until `n` sessions of application `app` wait for a lock. */
static void
await_lock_waits(fx *f, const char *app, int n)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' AND "
             "wait_event_type = 'Lock'",
             app);
    for (int i = 0; ts_pg_int(f->raw, sql) < n; i++) {
        assert_true(i < 1000); /* 10 s */
        usleep(10000);
    }
}

/* Two groups (two writer threads, or two nodes) each hold a row the other one wants: the server
 * cancels one statement with a deadlock, which is TRANSACTION_CONFLICT (the writer retries such
 * a job); that operation alone is undone, its job is undone by the caller, and once its group
 * has ended the other group goes on and commits. */
static void
test_group_deadlock_is_a_conflict(void **state)
{
    fx *f = *state;
    const char *schema = ts_pg_schema_name(f->conninfo);
    char ci[800];
    snprintf(ci, sizeof(ci), "%s options='-csearch_path=%s -cdeadlock_timeout=50'", f->conninfo,
             schema);
    wr_meta *m[2];
    open_ok(ci, &m[0]);
    open_ok(ci, &m[1]);
    OK(make_org(m[0], "org1", "one"));
    OK(make_org(m[0], "org2", "two"));
    const char *first[2] = {"org1", "org2"}, *second[2] = {"org2", "org1"};
    for (int i = 0; i < 2; i++) {
        OK(wr_meta_group(m[i], WR_META_GROUP_BEGIN, NULL));
        OK(wr_meta_group(m[i], WR_META_GROUP_JOB, NULL));
        OK(wr_meta_org_set_plan(m[i], first[i], "team", NULL));
    }
    locker l[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        l[i] = (locker){.m = m[i], .org = second[i]};
        assert_int_equal(pthread_create(&t[i], NULL, set_plan_thread, &l[i]), 0);
        await_lock_waits(f, schema, i + 1); /* the cycle closes with the second */
    }
    /* the loser returns first; the winner waits until the loser's job lets go of its row */
    int loser = -1;
    for (int k = 0; loser < 0; k++) {
        assert_true(k < 1000);
        for (int i = 0; i < 2 && loser < 0; i++)
            if (__atomic_load_n(&l[i].done, __ATOMIC_ACQUIRE))
                loser = i;
        if (loser < 0)
            usleep(10000);
    }
    int winner = 1 - loser;
    pthread_join(t[loser], NULL);
    assert_int_equal(l[loser].rc, WR_ERR_TRANSACTION_CONFLICT);
    OK(wr_meta_group(m[loser], WR_META_GROUP_JOB_UNDO, NULL));
    /* Undoing the job gave the row back, but PostgreSQL makes a waiter for a row written under a
     * released savepoint wait for that transaction's end: the loser's group must end first. */
    OK(wr_meta_group(m[loser], WR_META_GROUP_COMMIT, NULL));
    pthread_join(t[winner], NULL);
    OK(l[winner].rc);
    OK(wr_meta_group(m[winner], WR_META_GROUP_JOB_KEEP, NULL));
    OK(wr_meta_group(m[winner], WR_META_GROUP_COMMIT, NULL));
    /* the winner's two changes stand; the loser's job was undone whole */
    assert_int_equal(ts_pg_int(f->raw, "SELECT count(*) FROM orgs WHERE plan = 'pro'"), 1);
    assert_int_equal(ts_pg_int(f->raw, "SELECT count(*) FROM orgs WHERE plan = 'team'"), 1);
    for (int i = 0; i < 2; i++)
        wr_meta_close(m[i]);
}

/* ---- two nodes creating the same session ---------------------------------------------------- */

typedef struct racer {
    const char *conninfo;
    wr_session out;
    bool created;
    wr_err rc;
    wr_error err;
} racer;

static void *
race_create(void *arg)
{
    racer *r = arg;
    wr_meta *m = NULL;
    r->rc = wr_meta_open_postgres(r->conninfo, &m, &r->err);
    if (r->rc != WR_OK)
        return NULL;
    wr_session s = {
        .id = "session_b", .env_id = "env1", .has_external_id = true, .external_id = "x"};
    wr_run first = {.id = "run_b", .env_id = "env1"};
    r->rc = wr_meta_session_create_or_get(m, &s, &first, &r->out, &r->created, &r->err);
    wr_meta_close(m);
    return NULL;
}

/* Node A has created external id "x" in an open group when node B creates it too: B's insert
 * waits for A, finds A's row once A commits, undoes its own first run and returns A's session,
 * as SQLite's write lock would have it (never a unique-violation error). */
static void
test_session_create_race(void **state)
{
    fx *f = *state;
    char ci_a[700], ci_b[700];
    victim_conninfo(f, "a", ci_a, sizeof(ci_a));
    victim_conninfo(f, "b", ci_b, sizeof(ci_b));
    wr_meta *a;
    open_ok(ci_a, &a);
    tenant(a);
    OK(wr_meta_group(a, WR_META_GROUP_BEGIN, NULL));
    OK(wr_meta_group(a, WR_META_GROUP_JOB, NULL));
    wr_session s = {.id = "session_a",
                    .env_id = "env1",
                    .has_external_id = true,
                    .external_id = "x"},
               out;
    wr_run first = {.id = "run_a", .env_id = "env1"};
    bool created = false;
    OK(wr_meta_session_create_or_get(a, &s, &first, &out, &created, NULL));
    assert_true(created);
    wr_session_fini(&out);
    OK(wr_meta_group(a, WR_META_GROUP_JOB_KEEP, NULL));

    racer r = {.conninfo = ci_b};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, race_create, &r), 0);
    /* wait until B's insert waits for A's transaction */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s_b' AND "
             "wait_event_type = 'Lock'",
             ts_pg_schema_name(f->conninfo));
    for (int i = 0; ts_pg_int(f->raw, sql) == 0; i++) {
        assert_true(i < 1000); /* 10 s */
        usleep(10000);
    }
    OK(wr_meta_group(a, WR_META_GROUP_COMMIT, NULL));
    pthread_join(t, NULL);
    if (r.rc != WR_OK)
        fail_msg("B: %d %s", r.rc, r.err.msg);
    assert_false(r.created);
    assert_string_equal(r.out.id, "session_a");
    assert_string_equal(r.out.current_run_id, "run_a");
    wr_session_fini(&r.out);
    assert_int_equal(ts_pg_int(f->raw, "SELECT count(*) FROM runs WHERE id = 'run_b'"), 0);
    assert_int_equal(ts_pg_int(f->raw, "SELECT count(*) FROM sessions"), 1);
    wr_meta_close(a);
}

static void
test_bad_servers(void **state)
{
    fx *f = *state;
    char unknown_db[600];
    snprintf(unknown_db, sizeof(unknown_db), "%s dbname=weir_no_such_database", ts_pg_server());
    const struct {
        const char *what;
        const char *conninfo;
        wr_err want;
        const char *in_msg;
    } rows[] = {
        {"closed port", "host=127.0.0.1 port=1 user=weir connect_timeout=5", WR_ERR_UNAVAILABLE,
         "127.0.0.1:1"},
        {"unknown database", unknown_db, WR_ERR_UNAVAILABLE, "weir_no_such_database"},
        {"malformed string", "host=127.0.0.1 port", WR_ERR_INVALID, "connection string"},
        {"unknown keyword", "host=127.0.0.1 no_such_keyword=1", WR_ERR_INVALID, "no_such_keyword"},
        {"malformed URI", "postgresql://[::1", WR_ERR_INVALID, "connection string"},
    };
    (void)f;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_meta *m = (wr_meta *)1;
        wr_error err = {0};
        wr_err got = wr_meta_open_postgres(rows[i].conninfo, &m, &err);
        if (got != rows[i].want)
            fail_msg("row %zu (%s): got %d (%s)", i, rows[i].what, got, err.msg);
        assert_null(m);
        if (!strstr(err.msg, rows[i].in_msg))
            fail_msg("row %zu (%s): message '%s' lacks '%s'", i, rows[i].what, err.msg,
                     rows[i].in_msg);
    }
}

/* A look-up's plan follows the table: after look-ups by external id on an empty `sessions` (when
 * a plan cached then would be made for an empty table), the table fills up and the look-ups go
 * on; they must read the (env_id, external_id) index, not scan the environment's entries of the
 * (env_id, created_at_ms, id) listing index. Counted by the server (pg_stat_user_indexes, written
 * when the handle's session ends). */
static void
test_lookup_plans_follow_the_table(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->conninfo, &m);
    tenant(m);
    wr_session s;
    for (int i = 0; i < 10; i++) /* more than the five runs after which a plan may be kept */
        assert_int_equal(wr_meta_session_get(m, "env1", "ext-none", &s, NULL), WR_ERR_NOT_FOUND);
    ts_pg_exec(f->raw,
               "INSERT INTO sessions (id, env_id, external_id, type, task_identifier, "
               "created_at_ms, stream_key, updated_at_ms) SELECT 'session_' || i, 'env1', "
               "'ext-' || i, 't', 'task', i, 'ext-' || i, i FROM generate_series(1, 3000) i");
    for (int i = 0; i < 50; i++) {
        char ext[32];
        snprintf(ext, sizeof(ext), "ext-%d", 1 + i * 59);
        OK(wr_meta_session_get(m, "env1", ext, &s, NULL));
        wr_session_fini(&s);
    }
    bool free_key;
    for (int i = 0; i < 10; i++)
        OK(wr_meta_session_stream_key_taken(m, "env1", "ext-7", &free_key, NULL));
    wr_meta_close(m); /* its backend reports its counts as it exits */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT coalesce(sum(idx_tup_read), -1) FROM pg_stat_user_indexes WHERE "
             "schemaname = '%s' AND relname = 'sessions'",
             ts_pg_schema_name(f->conninfo));
    long long used = -1;
    for (int i = 0; i < 500 && used < 60; i++) { /* until the exiting backend's counts arrive */
        usleep(10000);
        ts_pg_exec(f->raw, "SELECT pg_stat_clear_snapshot()");
        used = ts_pg_int(f->raw, sql);
    }
    assert_true(used >= 60); /* the look-ups were counted */
    snprintf(sql, sizeof(sql),
             "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE schemaname = '%s' AND "
             "indexrelname = 'sessions_env_created'",
             ts_pg_schema_name(f->conninfo));
    assert_int_equal(ts_pg_int(f->raw, sql), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    if (!ts_pg_server())
        return ts_pg_skip("meta postgres");
    const struct CMUnitTest tests[] = {
        T(test_migration_ledger),
        T(test_newer_schema_is_refused),
        T(test_write_once_triggers),
        T(test_key_bytes_round_trip),
        T(test_concurrent_open_converges),
        T(test_group_failing_op_keeps_the_rest),
        T(test_group_steps_out_of_order),
        T(test_reconnect_after_terminate),
        T(test_reconnect_refused_then_back),
        T(test_group_connection_lost),
        T(test_session_create_race),
        T(test_group_deadlock_is_a_conflict),
        T(test_bad_servers),
        T(test_lookup_plans_follow_the_table),
    };
    return cmocka_run_group_tests_name("meta postgres", tests, NULL, NULL);
}
