/*
 * test_meta_sqlite.c — what only the SQLite backend promises, checked by looking at the file
 * with a second, raw SQLite connection: WAL mode, the schema_migrations ledger (contiguous,
 * applied once, a newer file refused), the write-once triggers, refusal of files that are not
 * databases or cannot be created, and ":memory:" for tests. The behaviour every backend shares is
 * in test_meta_conformance.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <unistd.h>

#include "meta/meta.h"
#include "support/fs_support.h"
#include "support/test_main.h"

typedef struct fx {
    char dir[64];
    char path[128];
} fx;

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    ts_mkdtemp("meta-sq", f->dir, sizeof(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/meta.db", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    ts_rm_rf(f->dir);
    free(f);
    return 0;
}

static sqlite3 *
raw_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    return db;
}

static sqlite3_int64
raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sqlite3_int64 v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void
open_ok(const char *path, wr_meta **m)
{
    wr_error err = {0};
    if (wr_meta_open_sqlite(path, m, &err) != WR_OK)
        fail_msg("open %s: %s", path, err.msg);
}

static void
test_wal_and_migration_ledger(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->path, &m);
    assert_string_equal(wr_meta_backend(m), "sqlite");

    /* While open, the server holds the file exclusively: another connection gets BUSY. */
    sqlite3 *db = raw_open(f->path);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM schema_migrations", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    assert_int_equal(rc & 0xff, SQLITE_BUSY);
    sqlite3_finalize(st);
    sqlite3_close(db);
    wr_meta_close(m);

    db = raw_open(f->path);
    st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);

    /* versions 1..N, contiguous, at least the two migrations shipped with the first release */
    sqlite3_int64 n = raw_int(db, "SELECT count(*) FROM schema_migrations");
    sqlite3_int64 max = raw_int(db, "SELECT max(version) FROM schema_migrations");
    assert_true(n >= 2);
    assert_int_equal(max, n);
    assert_int_equal(raw_int(db, "SELECT min(version) FROM schema_migrations"), 1);
    sqlite3_int64 applied = raw_int(db, "SELECT sum(applied_at_ms) FROM schema_migrations");
    assert_true(applied > 0);
    sqlite3_close(db);

    /* reopening applies nothing again */
    open_ok(f->path, &m);
    wr_meta_close(m);
    db = raw_open(f->path);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_migrations"), n);
    assert_int_equal(raw_int(db, "SELECT sum(applied_at_ms) FROM schema_migrations"), applied);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'"), 5);
    sqlite3_close(db);
}

static void
test_newer_schema_is_refused(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->path, &m);
    wr_meta_close(m);

    sqlite3 *db = raw_open(f->path);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO schema_migrations (version, applied_at_ms) "
                                  "SELECT max(version) + 1, 1 FROM schema_migrations",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    wr_error err = {0};
    m = (wr_meta *)1;
    assert_int_equal(wr_meta_open_sqlite(f->path, &m, &err), WR_ERR_STORAGE);
    assert_null(m);
    assert_non_null(strstr(err.msg, "newer"));
}

/* Organization org1, its project proj1 and that project's environment env1. */
static void
tenant(wr_meta *m)
{
    wr_org o = {.id = "org1", .slug = "acme", .plan = "free"};
    assert_int_equal(wr_meta_org_create(m, &o, NULL), WR_OK);
    wr_project p = {.id = "proj1", .slug = "web", .org_id = "org1"};
    assert_int_equal(wr_meta_project_create(m, &p, NULL), WR_OK);
    wr_env e = {.id = "env1", .slug = "dev", .project_id = "proj1"};
    assert_int_equal(wr_meta_env_create(m, &e, NULL), WR_OK);
}

static void
test_write_once_triggers(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->path, &m);
    tenant(m);
    wr_run r = {.id = "run_1", .env_id = "env1", .has_basin = true, .basin = "basin-a"};
    assert_int_equal(wr_meta_run_create(m, &r, NULL), WR_OK);
    assert_int_equal(wr_meta_run_complete(m, "run_1", 10, NULL), WR_OK);
    wr_session s = {.id = "session_1", .env_id = "env1"}, out;
    assert_int_equal(wr_meta_session_create_or_get(m, &s, NULL, &out, NULL, NULL), WR_OK);
    wr_session_fini(&out);
    assert_int_equal(wr_meta_session_close(m, "session_1", "done", 20, NULL, NULL), WR_OK);
    wr_meta_close(m);

    sqlite3 *db = raw_open(f->path);
    const char *forbidden[] = {
        "UPDATE runs SET stream_basin_name = 'other' WHERE id = 'run_1'",
        "UPDATE runs SET stream_basin_name = NULL WHERE id = 'run_1'",
        "UPDATE runs SET completed_at_ms = 11 WHERE id = 'run_1'",
        "UPDATE sessions SET stream_basin_name = 'basin-b' WHERE id = 'session_1'",
        "UPDATE sessions SET closed_at_ms = 21 WHERE id = 'session_1'",
        "UPDATE sessions SET closed_reason = 'changed' WHERE id = 'session_1'",
    };
    for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++) {
        int rc = sqlite3_exec(db, forbidden[i], NULL, NULL, NULL);
        if (rc != SQLITE_CONSTRAINT)
            fail_msg("row %zu (%s): rc %d", i, forbidden[i], rc);
    }
    /* writing the same value is not a change and is allowed */
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE runs SET stream_basin_name = 'basin-a', "
                                  "completed_at_ms = 10 WHERE id = 'run_1'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
}

/* Migration 4 on a file written before it, holding the pair the rename bug produced (two sessions
 * of one environment sharing a stream_key): the older keeps the channels, the newer gets its id,
 * and the unique index then refuses such a pair. */
/* A new database is made with 2 KiB pages; one made before (4 KiB) keeps its size and opens. */
static void
test_page_size(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->path, &m);
    wr_meta_close(m);
    sqlite3 *db = raw_open(f->path);
    assert_int_equal(raw_int(db, "PRAGMA page_size"), 2048);
    sqlite3_close(db);

    char older[160];
    snprintf(older, sizeof(older), "%s.4k", f->path);
    db = NULL;
    assert_int_equal(sqlite3_open_v2(older, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA page_size=4096; CREATE TABLE t (x INTEGER)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    open_ok(older, &m);
    tenant(m);
    wr_meta_close(m);
    db = raw_open(older);
    assert_int_equal(raw_int(db, "PRAGMA page_size"), 4096);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM environments"), 1);
    sqlite3_close(db);
}

static void
test_stream_key_migration(void **state)
{
    fx *f = *state;
    wr_meta *m;
    open_ok(f->path, &m);
    tenant(m);
    wr_session
        s1 = {.id = "session_1", .env_id = "env1", .has_external_id = true, .external_id = "x"},
        s2 = {.id = "session_2", .env_id = "env1", .has_external_id = true, .external_id = "y"},
        out;
    assert_int_equal(wr_meta_session_create_or_get(m, &s1, NULL, &out, NULL, NULL), WR_OK);
    wr_session_fini(&out);
    assert_int_equal(wr_meta_session_create_or_get(m, &s2, NULL, &out, NULL, NULL), WR_OK);
    wr_session_fini(&out);
    wr_meta_close(m);

    /* Back to version 3 with session_2 sharing session_1's channels. */
    sqlite3 *db = raw_open(f->path);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE part_ids;"
                                  "DROP INDEX sessions_env_stream_key;"
                                  "DROP TRIGGER sessions_stream_key_write_once;"
                                  "UPDATE sessions SET stream_key = 'x' WHERE id = 'session_2';"
                                  "CREATE TRIGGER sessions_stream_key_write_once BEFORE UPDATE "
                                  "OF stream_key ON sessions WHEN OLD.stream_key IS NOT NULL AND "
                                  "OLD.stream_key IS NOT NEW.stream_key BEGIN SELECT "
                                  "RAISE(ABORT, 'write-once'); END;"
                                  "DELETE FROM schema_migrations WHERE version >= 4;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);

    open_ok(f->path, &m);
    assert_int_equal(wr_meta_session_get(m, "env1", "x", &out, NULL), WR_OK);
    assert_string_equal(out.stream_key, "x");
    wr_session_fini(&out);
    assert_int_equal(wr_meta_session_get(m, "env1", "y", &out, NULL), WR_OK);
    assert_string_equal(out.stream_key, "session_2");
    wr_session_fini(&out);
    wr_meta_close(m);

    db = raw_open(f->path);
    assert_int_equal(raw_int(db, "SELECT max(version) FROM schema_migrations"), 5);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                                 "name = 'sessions_env_stream_key' AND sql LIKE '%UNIQUE%'"),
                     1);
    sqlite3_close(db);
}

static void
test_bad_paths(void **state)
{
    fx *f = *state;
    struct {
        const char *what;
        const char *content; /* written to the file first; NULL: the file's dir is missing */
    } rows[] = {
        {"not a database", "this is not an sqlite file, just some text that is long enough "
                           "to cover the 100-byte header sqlite checks at open ..........."},
        {"missing directory", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char path[200];
        if (rows[i].content) {
            snprintf(path, sizeof(path), "%s/bad%zu.db", f->dir, i);
            FILE *fp = fopen(path, "w");
            assert_non_null(fp);
            fputs(rows[i].content, fp);
            fclose(fp);
        } else {
            snprintf(path, sizeof(path), "%s/no/such/dir/meta.db", f->dir);
        }
        wr_meta *m = (wr_meta *)1;
        wr_error err = {0};
        wr_err got = wr_meta_open_sqlite(path, &m, &err);
        if (got != WR_ERR_STORAGE)
            fail_msg("row %zu (%s): got %d", i, rows[i].what, got);
        assert_null(m);
        assert_true(err.msg[0] != '\0');
    }
}

static void
test_memory_database(void **state)
{
    (void)state;
    wr_meta *m;
    open_ok(":memory:", &m);
    wr_org o = {.id = "org1", .slug = "acme", .plan = "free"}, got;
    assert_int_equal(wr_meta_org_create(m, &o, NULL), WR_OK);
    assert_int_equal(wr_meta_org_get(m, "org1", &got, NULL), WR_OK);
    assert_string_equal(got.slug, "acme");
    wr_meta_close(m);
}

WR_TEST_MAIN(cmocka_unit_test_setup_teardown(test_wal_and_migration_ledger, setup, teardown),
             cmocka_unit_test_setup_teardown(test_stream_key_migration, setup, teardown),
             cmocka_unit_test_setup_teardown(test_page_size, setup, teardown),
             cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
             cmocka_unit_test_setup_teardown(test_write_once_triggers, setup, teardown),
             cmocka_unit_test_setup_teardown(test_bad_paths, setup, teardown),
             cmocka_unit_test(test_memory_database))
