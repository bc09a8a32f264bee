/*
 * test_meta_conformance.c — the control-plane store contract (meta.h), written against the
 * interface only and run against every backend in `backends[]`: SQLite, and PostgreSQL when
 * WEIR_TEST_PG names a server (scripts/pg-test.sh starts one; `make unit` runs every test under
 * it). Without it the PostgreSQL group prints a SKIPPED line, or fails when WEIR_REQUIRE_PG=1.
 *
 * Covered: organizations (create/get/by-slug/list order/plan/basin), projects and environments
 * (scoped unique slugs, org filled in from the project, key hashes and rotation), runs (env-scoped
 * get, root default, idempotent completion, stream set), sessions (create-or-get by external id,
 * never re-stamped, id vs external-id keys, write-once close, list pages and filters, patches,
 * the current-run compare-and-swap), the unique-constraint and not-found tables, argument
 * validation, and that a close + reopen keeps everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "meta/meta.h"
#include "support/fs_support.h"
#include "support/pg_support.h"
#include "util/clock.h"

/* ---- backends ------------------------------------------------------------------------------- */

typedef struct backend {
    const char *name;
    /* Makes a fresh, empty store for one test and writes where it is (a directory, a connection
     * string) into `where`; the same `where` reopens the same data. */
    void (*make)(char *where, size_t cap);
    /* Removes the store `make` made. */
    void (*remove)(const char *where);
    wr_err (*open)(const char *where, wr_meta **out, wr_error *err);
    /* NULL when the backend can always be tested; else whether it can be now. */
    bool (*available)(void);
} backend;

static void
make_dir(char *where, size_t cap)
{
    ts_mkdtemp("meta", where, cap);
}

static wr_err
open_sqlite(const char *dir, wr_meta **out, wr_error *err)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/meta.db", dir);
    return wr_meta_open_sqlite(path, out, err);
}

/* PostgreSQL: each test gets a schema of its own on the WEIR_TEST_PG server. */
static bool
pg_available(void)
{
    return ts_pg_server() != NULL;
}

static const backend backends[] = {
    {"sqlite", make_dir, ts_rm_rf, open_sqlite, NULL},
    {"postgres", ts_pg_schema_new, ts_pg_schema_drop, wr_meta_open_postgres, pg_available},
};

typedef struct fx {
    const backend *be;
    char where[256]; /* see backend.make */
    wr_meta *m;
} fx;

static void
reopen(fx *f)
{
    wr_meta_close(f->m);
    f->m = NULL;
    wr_error err = {0};
    if (f->be->open(f->where, &f->m, &err) != WR_OK)
        fail_msg("reopen %s: %s", f->be->name, err.msg);
    assert_non_null(f->m);
}

/* ---- builders ------------------------------------------------------------------------------- */

#define CPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

static wr_org
org(const char *id, const char *slug)
{
    wr_org o = {0};
    CPY(o.id, id);
    CPY(o.slug, slug);
    CPY(o.title, "Title of ");
    strncat(o.title, slug, sizeof(o.title) - strlen(o.title) - 1);
    CPY(o.plan, "free");
    return o;
}

static wr_project
project(const char *id, const char *slug, const char *org_id)
{
    wr_project p = {0};
    CPY(p.id, id);
    CPY(p.slug, slug);
    CPY(p.org_id, org_id);
    return p;
}

static wr_env
env(const char *id, const char *slug, const char *project_id, uint8_t key_byte)
{
    wr_env e = {0};
    CPY(e.id, id);
    CPY(e.slug, slug);
    CPY(e.project_id, project_id);
    memset(e.key_hash, key_byte, sizeof(e.key_hash));
    return e;
}

static wr_run
run(const char *id, const char *env_id, const char *basin_or_null)
{
    wr_run r = {0};
    CPY(r.id, id);
    CPY(r.env_id, env_id);
    CPY(r.task_identifier, "my-task");
    if (basin_or_null) {
        r.has_basin = true;
        CPY(r.basin, basin_or_null);
    }
    return r;
}

static wr_session
session(const char *id, const char *env_id, const char *ext_or_null, const char *basin_or_null)
{
    wr_session s = {0};
    CPY(s.id, id);
    CPY(s.env_id, env_id);
    if (ext_or_null) {
        s.has_external_id = true;
        CPY(s.external_id, ext_or_null);
    }
    CPY(s.type, "chat.agent");
    CPY(s.task_identifier, "chat-task");
    if (basin_or_null) {
        s.has_basin = true;
        CPY(s.basin, basin_or_null);
    }
    return s;
}

#define OK(call) assert_int_equal((call), WR_OK)

/* Two orgs, each with a project and an environment: org_a/proj_a/env_a, org_b/proj_b/env_b. */
static void
seed(fx *f)
{
    wr_org a = org("orga00000000000000000000a", "acme");
    wr_org b = org("orgb00000000000000000000b", "bravo");
    OK(wr_meta_org_create(f->m, &a, NULL));
    OK(wr_meta_org_create(f->m, &b, NULL));
    wr_project pa = project("proja0000000000000000000a", "web", a.id);
    wr_project pb = project("projb0000000000000000000b", "web", b.id);
    OK(wr_meta_project_create(f->m, &pa, NULL));
    OK(wr_meta_project_create(f->m, &pb, NULL));
    wr_env ea = env("enva00000000000000000000a", "dev", pa.id, 0xa1);
    wr_env eb = env("envb00000000000000000000b", "dev", pb.id, 0xb1);
    OK(wr_meta_env_create(f->m, &ea, NULL));
    OK(wr_meta_env_create(f->m, &eb, NULL));
}

#define ORG_A "orga00000000000000000000a"
#define ORG_B "orgb00000000000000000000b"
#define PROJ_A "proja0000000000000000000a"
#define PROJ_B "projb0000000000000000000b"
#define ENV_A "enva00000000000000000000a"
#define ENV_B "envb00000000000000000000b"

/* ---- organizations -------------------------------------------------------------------------- */

static void
test_org_lifecycle(void **state)
{
    fx *f = *state;
    wr_clock_set_fake(1000);
    wr_org o = org("org000000000000000000000x", "acme");
    OK(wr_meta_org_create(f->m, &o, NULL));

    wr_org got;
    OK(wr_meta_org_get(f->m, o.id, &got, NULL));
    assert_string_equal(got.id, o.id);
    assert_string_equal(got.slug, "acme");
    assert_string_equal(got.title, "Title of acme");
    assert_string_equal(got.plan, "free");
    assert_false(got.has_basin);
    assert_string_equal(got.basin, "");
    assert_int_equal(got.created_at_ms, 1000); /* 0 on create means now */
    assert_int_equal(got.updated_at_ms, 1000);

    OK(wr_meta_org_get_by_slug(f->m, "acme", &got, NULL));
    assert_string_equal(got.id, o.id);

    wr_clock_set_fake(2000);
    OK(wr_meta_org_set_plan(f->m, o.id, "pro", NULL));
    OK(wr_meta_org_get(f->m, o.id, &got, NULL));
    assert_string_equal(got.plan, "pro");
    assert_int_equal(got.created_at_ms, 1000);
    assert_int_equal(got.updated_at_ms, 2000);

    wr_clock_set_fake(3000);
    OK(wr_meta_org_set_basin(f->m, o.id, "weir-dev-org-org000000000000000000000x", NULL));
    OK(wr_meta_org_get(f->m, o.id, &got, NULL));
    assert_true(got.has_basin);
    assert_string_equal(got.basin, "weir-dev-org-org000000000000000000000x");
    assert_int_equal(got.updated_at_ms, 3000);
    assert_string_equal(got.plan, "pro");

    OK(wr_meta_org_set_basin(f->m, o.id, NULL, NULL));
    OK(wr_meta_org_get(f->m, o.id, &got, NULL));
    assert_false(got.has_basin);
    assert_string_equal(got.basin, "");

    /* created with a basin */
    wr_org b = org("org000000000000000000000y", "basined");
    b.has_basin = true;
    CPY(b.basin, "some-basin");
    b.created_at_ms = 42;
    OK(wr_meta_org_create(f->m, &b, NULL));
    OK(wr_meta_org_get(f->m, b.id, &got, NULL));
    assert_true(got.has_basin);
    assert_string_equal(got.basin, "some-basin");
    assert_int_equal(got.created_at_ms, 42);
    assert_int_equal(got.updated_at_ms, 42);
}

static void
test_org_list_order(void **state)
{
    fx *f = *state;
    wr_org *v = (wr_org *)1;
    size_t n = 99;
    OK(wr_meta_org_list(f->m, &v, &n, NULL));
    assert_null(v);
    assert_int_equal(n, 0);

    /* created_at first, id breaks ties: expected order c(10), a(20), b(20), d(30). */
    struct {
        const char *id, *slug;
        uint64_t at;
    } rows[] = {{"orgd", "d", 30}, {"orgb", "b", 20}, {"orgc", "c", 10}, {"orga", "a", 20}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_org o = org(rows[i].id, rows[i].slug);
        o.created_at_ms = rows[i].at;
        OK(wr_meta_org_create(f->m, &o, NULL));
    }
    OK(wr_meta_org_list(f->m, &v, &n, NULL));
    assert_int_equal(n, 4);
    const char *want[] = {"orgc", "orga", "orgb", "orgd"};
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v[i].id, want[i]);
    assert_string_equal(v[2].slug, "b");
    free(v);
}

/* ---- unique constraints (table-driven) ------------------------------------------------------ */

static void
test_unique_constraints(void **state)
{
    fx *f = *state;
    seed(f);
    wr_run r0 = run("run_taken", ENV_A, NULL);
    OK(wr_meta_run_create(f->m, &r0, NULL));
    wr_session s0 = session("session_taken", ENV_A, "ext-taken", NULL), so;
    OK(wr_meta_session_create_or_get(f->m, &s0, NULL, &so, NULL, NULL));
    wr_session_fini(&so);

    enum kind { ORG, PROJECT, ENV, RUN, SESSION };
    struct {
        const char *what;
        enum kind kind;
        const char *id, *slug, *parent; /* parent: org for projects, project for envs, env else */
        uint8_t key;                    /* env key byte; for sessions: 1 = external id "ext-new" */
        wr_err want;
    } rows[] = {
        {"org dup id", ORG, ORG_A, "fresh-slug", NULL, 0, WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"org dup slug", ORG, "orgnew", "acme", NULL, 0, WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"org new", ORG, "orgnew", "fresh-slug", NULL, 0, WR_OK},
        {"project dup id", PROJECT, PROJ_A, "other", ORG_A, 0, WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"project dup slug in org", PROJECT, "projnew", "web", ORG_A, 0,
         WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"project same slug other org", PROJECT, "projnew", "web", "orgnew", 0, WR_OK},
        {"env dup id", ENV, ENV_A, "prod", PROJ_A, 0x01, WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"env dup slug in project", ENV, "envnew", "dev", PROJ_A, 0x02,
         WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"env dup key hash", ENV, "envnew", "prod", PROJ_A, 0xb1, WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"env new", ENV, "envnew", "prod", PROJ_A, 0x03, WR_OK},
        {"env same slug other project", ENV, "envnew2", "dev", "projnew", 0x04, WR_OK},
        {"run dup id same env", RUN, "run_taken", NULL, ENV_A, 0, WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"run dup id other env", RUN, "run_taken", NULL, ENV_B, 0, WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"session dup id, no external id", SESSION, "session_taken", NULL, ENV_A, 0,
         WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"session dup id, new external id", SESSION, "session_taken", NULL, ENV_B, 1,
         WR_ERR_RESOURCE_ALREADY_EXISTS},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_error err = {0};
        wr_err got = WR_OK;
        switch (rows[i].kind) {
        case ORG: {
            wr_org o = org(rows[i].id, rows[i].slug);
            got = wr_meta_org_create(f->m, &o, &err);
            break;
        }
        case PROJECT: {
            wr_project p = project(rows[i].id, rows[i].slug, rows[i].parent);
            got = wr_meta_project_create(f->m, &p, &err);
            break;
        }
        case ENV: {
            wr_env e = env(rows[i].id, rows[i].slug, rows[i].parent, rows[i].key);
            got = wr_meta_env_create(f->m, &e, &err);
            break;
        }
        case RUN: {
            wr_run r = run(rows[i].id, rows[i].parent, NULL);
            got = wr_meta_run_create(f->m, &r, &err);
            break;
        }
        case SESSION: {
            wr_session s =
                session(rows[i].id, rows[i].parent, rows[i].key ? "ext-new" : NULL, NULL);
            wr_session out = {0};
            got = wr_meta_session_create_or_get(f->m, &s, NULL, &out, NULL, &err);
            if (got == WR_OK)
                wr_session_fini(&out);
            break;
        }
        }
        if (got != rows[i].want)
            fail_msg("row %zu (%s): got %d want %d (%s)", i, rows[i].what, got, rows[i].want,
                     err.msg);
        if (got != WR_OK)
            assert_int_equal(err.code, got);
    }
}

/* ---- not found (table-driven) --------------------------------------------------------------- */

static void
test_not_found(void **state)
{
    fx *f = *state;
    seed(f);
    wr_run r = run("run_a", ENV_A, NULL);
    OK(wr_meta_run_create(f->m, &r, NULL));
    wr_session s = session("session_a", ENV_A, "ext-a", NULL), so;
    OK(wr_meta_session_create_or_get(f->m, &s, NULL, &so, NULL, NULL));
    wr_session_fini(&so);

    const uint8_t nohash[32] = {0x77};
    for (int i = 0;; i++) {
        wr_error err = {0};
        wr_err got;
        const char *what;
        wr_org o;
        wr_project p;
        wr_env e;
        wr_run rr;
        wr_session ss = {0};
        char **v;
        size_t n;
        bool flag;
        switch (i) {
        case 0:
            what = "org_get";
            got = wr_meta_org_get(f->m, "nope", &o, &err);
            break;
        case 1:
            what = "org_get_by_slug";
            got = wr_meta_org_get_by_slug(f->m, "nope", &o, &err);
            break;
        case 2:
            what = "org_set_plan";
            got = wr_meta_org_set_plan(f->m, "nope", "pro", &err);
            break;
        case 3:
            what = "org_set_basin";
            got = wr_meta_org_set_basin(f->m, "nope", "some-basin", &err);
            break;
        case 4:
            what = "project_get";
            got = wr_meta_project_get(f->m, "nope", &p, &err);
            break;
        case 5:
            what = "project_create, missing org";
            p = project("projx", "x", "nope");
            got = wr_meta_project_create(f->m, &p, &err);
            break;
        case 6:
            what = "env_get";
            got = wr_meta_env_get(f->m, "nope", &e, &err);
            break;
        case 7:
            what = "env_create, missing project";
            e = env("envx", "x", "nope", 0x55);
            got = wr_meta_env_create(f->m, &e, &err);
            break;
        case 8:
            what = "env_by_key_hash";
            got = wr_meta_env_by_key_hash(f->m, nohash, &e, &err);
            break;
        case 9:
            what = "env_set_key_hash";
            got = wr_meta_env_set_key(f->m, "nope", nohash, NULL, 0, &err);
            break;
        case 10:
            what = "run_create, missing env";
            rr = run("run_x", "nope", NULL);
            got = wr_meta_run_create(f->m, &rr, &err);
            break;
        case 11:
            what = "run_get";
            got = wr_meta_run_get(f->m, ENV_A, "run_nope", &rr, &err);
            break;
        case 12:
            what = "run_get, other env";
            got = wr_meta_run_get(f->m, ENV_B, "run_a", &rr, &err);
            break;
        case 13:
            what = "run_complete";
            got = wr_meta_run_complete(f->m, "run_nope", 5, &err);
            break;
        case 14:
            what = "run_add_stream";
            got = wr_meta_run_add_stream(f->m, "run_nope", "s", &err);
            break;
        case 15:
            what = "run_streams";
            got = wr_meta_run_streams(f->m, "run_nope", &v, &n, &err);
            assert_null(v);
            assert_int_equal(n, 0);
            break;
        case 16:
            what = "session_create_or_get, missing env";
            ss = session("session_x", "nope", "ext-x", NULL);
            wr_session so2;
            got = wr_meta_session_create_or_get(f->m, &ss, NULL, &so2, NULL, &err);
            break;
        case 17:
            what = "session_get by id";
            got = wr_meta_session_get(f->m, ENV_A, "session_nope", &ss, &err);
            break;
        case 18:
            what = "session_get by external id";
            got = wr_meta_session_get(f->m, ENV_A, "ext-nope", &ss, &err);
            break;
        case 19:
            what = "session_get by id, other env";
            got = wr_meta_session_get(f->m, ENV_B, "session_a", &ss, &err);
            break;
        case 20:
            what = "session_get by external id, other env";
            got = wr_meta_session_get(f->m, ENV_B, "ext-a", &ss, &err);
            break;
        case 21:
            what = "session_close";
            got = wr_meta_session_close(f->m, "session_nope", "r", 5, &flag, &err);
            break;
        case 22:
            what = "session_get, empty key";
            got = wr_meta_session_get(f->m, ENV_A, "", &ss, &err);
            break;
        default:
            return;
        }
        if (got != WR_ERR_NOT_FOUND)
            fail_msg("row %d (%s): got %d, want NOT_FOUND (%s)", i, what, got, err.msg);
        assert_int_equal(err.code, WR_ERR_NOT_FOUND);
        assert_true(err.msg[0] != '\0');
    }
}

/* ---- argument validation (table-driven) ----------------------------------------------------- */

static void
test_invalid_arguments(void **state)
{
    fx *f = *state;
    seed(f);
    char long_reason[300];
    memset(long_reason, 'r', sizeof(long_reason) - 1);
    long_reason[sizeof(long_reason) - 1] = '\0';
    char long_basin[60];
    memset(long_basin, 'b', sizeof(long_basin) - 1);
    long_basin[sizeof(long_basin) - 1] = '\0';

    for (int i = 0;; i++) {
        wr_error err = {0};
        wr_err got;
        const char *what;
        wr_org o;
        wr_project p;
        wr_env e;
        wr_run r;
        wr_session s, out = {0};
        switch (i) {
        case 0:
            what = "org empty id";
            o = org("", "slug");
            got = wr_meta_org_create(f->m, &o, &err);
            break;
        case 1:
            what = "org empty slug";
            o = org("orgx", "");
            got = wr_meta_org_create(f->m, &o, &err);
            break;
        case 2:
            what = "org slug not terminated in its field";
            o = org("orgx", "x");
            memset(o.slug, 'a', sizeof(o.slug));
            got = wr_meta_org_create(f->m, &o, &err);
            break;
        case 3:
            what = "set_plan empty";
            got = wr_meta_org_set_plan(f->m, ORG_A, "", &err);
            break;
        case 4:
            what = "set_plan too long";
            got =
                wr_meta_org_set_plan(f->m, ORG_A, "a-plan-name-that-is-longer-than-32-bytes", &err);
            break;
        case 5:
            what = "set_basin empty";
            got = wr_meta_org_set_basin(f->m, ORG_A, "", &err);
            break;
        case 6:
            what = "set_basin too long";
            got = wr_meta_org_set_basin(f->m, ORG_A, long_basin, &err);
            break;
        case 7:
            what = "project empty org";
            p = project("projx", "x", "");
            got = wr_meta_project_create(f->m, &p, &err);
            break;
        case 8:
            what = "env org id is not the project's";
            e = env("envx", "x", PROJ_A, 0x66);
            CPY(e.org_id, ORG_B);
            got = wr_meta_env_create(f->m, &e, &err);
            break;
        case 9:
            what = "run empty env";
            r = run("run_x", "", NULL);
            got = wr_meta_run_create(f->m, &r, &err);
            break;
        case 10:
            what = "run has_parent with empty parent";
            r = run("run_x", ENV_A, NULL);
            r.has_parent = true;
            got = wr_meta_run_create(f->m, &r, &err);
            break;
        case 11:
            what = "run has_basin with empty basin";
            r = run("run_x", ENV_A, "");
            got = wr_meta_run_create(f->m, &r, &err);
            break;
        case 12:
            what = "run_add_stream empty stream id";
            r = run("run_v", ENV_A, NULL);
            OK(wr_meta_run_create(f->m, &r, NULL));
            got = wr_meta_run_add_stream(f->m, "run_v", "", &err);
            break;
        case 13:
            what = "session id without prefix";
            s = session("sess_x", ENV_A, NULL, NULL);
            got = wr_meta_session_create_or_get(f->m, &s, NULL, &out, NULL, &err);
            break;
        case 14:
            what = "external id with session_ prefix";
            s = session("session_x", ENV_A, "session_abc", NULL);
            got = wr_meta_session_create_or_get(f->m, &s, NULL, &out, NULL, &err);
            break;
        case 15:
            what = "empty external id";
            s = session("session_x", ENV_A, "", NULL);
            got = wr_meta_session_create_or_get(f->m, &s, NULL, &out, NULL, &err);
            break;
        case 16:
            what = "close reason too long";
            s = session("session_v", ENV_A, NULL, NULL);
            OK(wr_meta_session_create_or_get(f->m, &s, NULL, &out, NULL, NULL));
            wr_session_fini(&out);
            got = wr_meta_session_close(f->m, "session_v", long_reason, 1, NULL, &err);
            break;
        case 17:
            what = "org_get empty id";
            got = wr_meta_org_get(f->m, "", &o, &err);
            break;
        default:
            return;
        }
        if (got != WR_ERR_INVALID)
            fail_msg("row %d (%s): got %d, want INVALID (%s)", i, what, got, err.msg);
        assert_int_equal(err.code, WR_ERR_INVALID);
    }
}

/* ---- projects and environments -------------------------------------------------------------- */

static void
test_projects_and_envs(void **state)
{
    fx *f = *state;
    seed(f);
    wr_project p;
    OK(wr_meta_project_get(f->m, PROJ_A, &p, NULL));
    assert_string_equal(p.slug, "web");
    assert_string_equal(p.org_id, ORG_A);
    assert_true(p.created_at_ms > 0);

    wr_env e;
    OK(wr_meta_env_get(f->m, ENV_A, &e, NULL));
    assert_string_equal(e.slug, "dev");
    assert_string_equal(e.project_id, PROJ_A);
    assert_string_equal(e.org_id, ORG_A); /* filled in from the project */
    uint8_t h[32];
    memset(h, 0xa1, sizeof(h));
    assert_memory_equal(e.key_hash, h, 32);

    /* an explicit, matching org id is accepted */
    wr_env e2 = env("enva2", "prod", PROJ_A, 0xa2);
    CPY(e2.org_id, ORG_A);
    e2.created_at_ms = 77;
    OK(wr_meta_env_create(f->m, &e2, NULL));
    OK(wr_meta_env_get(f->m, "enva2", &e, NULL));
    assert_int_equal(e.created_at_ms, 77);

    OK(wr_meta_env_by_key_hash(f->m, h, &e, NULL));
    assert_string_equal(e.id, ENV_A);

    /* the environment and its organization in one read, by key hash or by id */
    const struct {
        const char *name;
        const uint8_t *hash;
        const char *id;
        wr_err want;
        const char *env_id, *org_id;
    } both[] = {
        {"by key hash", h, NULL, WR_OK, ENV_A, ORG_A},
        {"by id", NULL, "enva2", WR_OK, "enva2", ORG_A},
        {"unknown id", NULL, "env_nope", WR_ERR_NOT_FOUND, NULL, NULL},
        {"neither", NULL, NULL, WR_ERR_INVALID, NULL, NULL},
        {"both", h, ENV_A, WR_ERR_INVALID, NULL, NULL},
        {"empty id", NULL, "", WR_ERR_INVALID, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
        wr_env be;
        wr_org bo;
        wr_err got = wr_meta_env_and_org(f->m, both[i].hash, both[i].id, &be, &bo, NULL);
        if (got != both[i].want)
            fail_msg("row %zu (%s): %d", i, both[i].name, (int)got);
        if (got == WR_OK && (strcmp(be.id, both[i].env_id) != 0 ||
                             strcmp(bo.id, both[i].org_id) != 0 || strcmp(be.org_id, bo.id) != 0))
            fail_msg("row %zu (%s): env %s org %s", i, both[i].name, be.id, bo.id);
    }
    wr_org oa;
    OK(wr_meta_org_get(f->m, ORG_A, &oa, NULL));
    wr_env be;
    wr_org bo;
    OK(wr_meta_env_and_org(f->m, h, NULL, &be, &bo, NULL));
    assert_string_equal(bo.slug, oa.slug);
    assert_string_equal(bo.plan, oa.plan);
    assert_int_equal(bo.created_at_ms, oa.created_at_ms);
    assert_memory_equal(be.key_hash, h, 32);

    /* rotation: the old hash stops matching at once, the new one matches */
    uint8_t h2[32];
    memset(h2, 0xa9, sizeof(h2));
    OK(wr_meta_env_set_key(f->m, ENV_A, h2, NULL, 0, NULL));
    assert_int_equal(wr_meta_env_by_key_hash(f->m, h, &e, NULL), WR_ERR_NOT_FOUND);
    OK(wr_meta_env_by_key_hash(f->m, h2, &e, NULL));
    assert_string_equal(e.id, ENV_A);
    assert_memory_equal(e.key_hash, h2, 32);
    /* rotating onto the same hash is fine; onto another env's hash is a conflict */
    OK(wr_meta_env_set_key(f->m, ENV_A, h2, NULL, 0, NULL));
    uint8_t hb[32];
    memset(hb, 0xb1, sizeof(hb));
    wr_error err = {0};
    assert_int_equal(wr_meta_env_set_key(f->m, ENV_A, hb, NULL, 0, &err),
                     WR_ERR_RESOURCE_ALREADY_EXISTS);
    OK(wr_meta_env_by_key_hash(f->m, hb, &e, NULL));
    assert_string_equal(e.id, ENV_B);
}

/* Projects and environments of one organization only, in creation order. */
static void
test_project_env_lists(void **state)
{
    fx *f = *state;
    seed(f);
    wr_project p2 = project("proja2", "api", ORG_A);
    p2.created_at_ms = 1; /* older than the seeded one: listed first */
    OK(wr_meta_project_create(f->m, &p2, NULL));
    wr_env e2 = env("enva2", "prod", PROJ_A, 0xa2);
    wr_env e3 = env("enva3", "dev", "proja2", 0xa3);
    OK(wr_meta_env_create(f->m, &e2, NULL));
    OK(wr_meta_env_create(f->m, &e3, NULL));

    wr_project *ps = NULL;
    size_t np = 0;
    OK(wr_meta_project_list(f->m, ORG_A, &ps, &np, NULL));
    assert_int_equal(np, 2);
    assert_string_equal(ps[0].id, "proja2");
    assert_string_equal(ps[1].id, PROJ_A);
    free(ps);

    wr_env *es = NULL;
    size_t ne = 0;
    OK(wr_meta_env_list(f->m, ORG_A, &es, &ne, NULL));
    assert_int_equal(ne, 3); /* never ENV_B, of the other organization */
    for (size_t i = 0; i < ne; i++) {
        assert_string_equal(es[i].org_id, ORG_A);
        assert_string_not_equal(es[i].id, ENV_B);
    }
    /* by project id, then oldest first */
    assert_string_equal(es[0].project_id, PROJ_A);
    assert_string_equal(es[0].id, ENV_A);
    assert_string_equal(es[1].id, "enva2");
    assert_string_equal(es[2].id, "enva3");
    free(es);

    /* an unknown organization has none; a malformed id is INVALID */
    OK(wr_meta_project_list(f->m, "nope", &ps, &np, NULL));
    assert_int_equal(np, 0);
    assert_null(ps);
    OK(wr_meta_env_list(f->m, "nope", &es, &ne, NULL));
    assert_int_equal(ne, 0);
    assert_null(es);
    assert_int_equal(wr_meta_project_list(f->m, "", &ps, &np, NULL), WR_ERR_INVALID);
    assert_int_equal(wr_meta_env_list(f->m, "", &es, &ne, NULL), WR_ERR_INVALID);
}

/* ---- runs ----------------------------------------------------------------------------------- */

/* Runs are listed newest first, page by page, and only the environment's own. */
static void
test_run_list_pages(void **state)
{
    fx *f = *state;
    seed(f);
    char id[32];
    for (int i = 0; i < 25; i++) {
        snprintf(id, sizeof(id), "run_a%02d", i);
        wr_run r = run(id, ENV_A, NULL);
        OK(wr_meta_run_create(f->m, &r, NULL));
        if (i % 5 == 0) { /* interleave another environment's runs */
            snprintf(id, sizeof(id), "run_b%02d", i);
            wr_run rb = run(id, ENV_B, NULL);
            OK(wr_meta_run_create(f->m, &rb, NULL));
        }
    }
    const char *after = NULL;
    char cursor[WR_META_ID_MAX + 1];
    int want = 24, pages = 0;
    for (;;) {
        wr_run_page page;
        OK(wr_meta_run_list(f->m, ENV_A, after, 10, &page, NULL));
        pages++;
        for (size_t i = 0; i < page.n; i++, want--) {
            snprintf(id, sizeof(id), "run_a%02d", want);
            assert_string_equal(page.items[i].id, id);
            assert_string_equal(page.items[i].env_id, ENV_A);
        }
        bool next = page.has_next;
        if (page.n)
            CPY(cursor, page.items[page.n - 1].id);
        free(page.items);
        if (!next)
            break;
        after = cursor;
    }
    assert_int_equal(want, -1);
    assert_int_equal(pages, 3); /* 10 + 10 + 5 */

    /* exactly a full last page: no next */
    wr_run_page page;
    OK(wr_meta_run_list(f->m, ENV_B, NULL, 5, &page, NULL));
    assert_int_equal(page.n, 5);
    assert_false(page.has_next);
    free(page.items);
    /* an environment without runs */
    OK(wr_meta_run_list(f->m, "nope", NULL, 5, &page, NULL));
    assert_int_equal(page.n, 0);
    assert_false(page.has_next);
    free(page.items);

    /* bad input: each class gets a row */
    static const struct {
        const char *env, *after;
        size_t limit;
        wr_err want;
    } bad[] = {
        {ENV_A, NULL, 0, WR_ERR_INVALID},
        {ENV_A, NULL, 101, WR_ERR_INVALID},
        {"", NULL, 10, WR_ERR_INVALID},
        {ENV_A, "run_missing", 10, WR_ERR_NOT_FOUND},
        {ENV_A, "run_b00", 10, WR_ERR_NOT_FOUND}, /* another environment's run */
        {ENV_A, "", 10, WR_ERR_INVALID},
        {ENV_A, "run_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 10, WR_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wr_err got = wr_meta_run_list(f->m, bad[i].env, bad[i].after, bad[i].limit, &page, NULL);
        if (got != bad[i].want)
            fail_msg("bad row %zu: got %d want %d", i, got, bad[i].want);
        assert_int_equal(page.n, 0);
        assert_null(page.items);
    }
}

static void
test_runs(void **state)
{
    fx *f = *state;
    seed(f);
    wr_clock_set_fake(5000);
    wr_run root = run("run_root", ENV_A, "basin-a");
    OK(wr_meta_run_create(f->m, &root, NULL));
    wr_run child = run("run_child", ENV_A, NULL);
    child.has_parent = true;
    CPY(child.parent_run_id, "run_root");
    CPY(child.root_run_id, "run_root");
    CPY(child.task_identifier, "child-task");
    OK(wr_meta_run_create(f->m, &child, NULL));

    wr_run got;
    OK(wr_meta_run_get(f->m, ENV_A, "run_root", &got, NULL));
    assert_string_equal(got.id, "run_root");
    assert_string_equal(got.env_id, ENV_A);
    assert_string_equal(got.task_identifier, "my-task");
    assert_false(got.has_parent);
    assert_string_equal(got.root_run_id, "run_root"); /* empty root → itself */
    assert_false(got.completed);
    assert_int_equal(got.completed_at_ms, 0);
    assert_true(got.has_basin);
    assert_string_equal(got.basin, "basin-a");
    assert_int_equal(got.created_at_ms, 5000);

    OK(wr_meta_run_get(f->m, ENV_A, "run_child", &got, NULL));
    assert_true(got.has_parent);
    assert_string_equal(got.parent_run_id, "run_root");
    assert_string_equal(got.root_run_id, "run_root");
    assert_string_equal(got.task_identifier, "child-task");
    assert_false(got.has_basin);

    /* completion is idempotent and keeps the first timestamp */
    OK(wr_meta_run_complete(f->m, "run_root", 6000, NULL));
    OK(wr_meta_run_complete(f->m, "run_root", 9000, NULL));
    OK(wr_meta_run_get(f->m, ENV_A, "run_root", &got, NULL));
    assert_true(got.completed);
    assert_int_equal(got.completed_at_ms, 6000);
    assert_true(got.has_basin);
    assert_string_equal(got.basin, "basin-a");

    /* created already completed */
    wr_run done = run("run_done", ENV_A, NULL);
    done.completed = true;
    done.completed_at_ms = 123;
    OK(wr_meta_run_create(f->m, &done, NULL));
    OK(wr_meta_run_complete(f->m, "run_done", 456, NULL));
    OK(wr_meta_run_get(f->m, ENV_A, "run_done", &got, NULL));
    assert_int_equal(got.completed_at_ms, 123);
}

static void
test_run_streams(void **state)
{
    fx *f = *state;
    seed(f);
    wr_run r = run("run_s", ENV_A, NULL);
    OK(wr_meta_run_create(f->m, &r, NULL));
    wr_run r2 = run("run_t", ENV_A, NULL);
    OK(wr_meta_run_create(f->m, &r2, NULL));

    char **v = (char **)1;
    size_t n = 99;
    OK(wr_meta_run_streams(f->m, "run_s", &v, &n, NULL));
    assert_null(v);
    assert_int_equal(n, 0);

    const char *adds[] = {"default", "chat", "default", "$trigger.input:x", "chat"};
    for (size_t i = 0; i < sizeof(adds) / sizeof(adds[0]); i++)
        OK(wr_meta_run_add_stream(f->m, "run_s", adds[i], NULL));
    OK(wr_meta_run_add_stream(f->m, "run_t", "default", NULL));

    OK(wr_meta_run_streams(f->m, "run_s", &v, &n, NULL));
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "default");
    assert_string_equal(v[1], "chat");
    assert_string_equal(v[2], "$trigger.input:x");
    wr_meta_strv_free(v, n);

    OK(wr_meta_run_streams(f->m, "run_t", &v, &n, NULL));
    assert_int_equal(n, 1);
    assert_string_equal(v[0], "default");
    wr_meta_strv_free(v, n);

    /* One lookup per id: registered on this run, on another run only, on no run. */
    static const struct {
        const char *run, *stream;
        bool want;
    } has[] = {
        {"run_s", "chat", true},    {"run_s", "$trigger.input:x", true},
        {"run_t", "default", true}, {"run_t", "chat", false},
        {"run_s", "Chat", false},   {"run_nope", "default", false},
    };
    for (size_t i = 0; i < sizeof(has) / sizeof(has[0]); i++) {
        bool got = !has[i].want;
        OK(wr_meta_run_has_stream(f->m, has[i].run, has[i].stream, &got, NULL));
        if (got != has[i].want)
            fail_msg("run_has_stream(%s, %s) = %d", has[i].run, has[i].stream, got);
    }
    bool got = true;
    wr_error err = {0};
    assert_int_equal(wr_meta_run_has_stream(f->m, "run_s", "", &got, &err), WR_ERR_INVALID);
    assert_false(got);
}

/* ---- sessions ------------------------------------------------------------------------------- */

static void
assert_session_eq(const wr_session *a, const wr_session *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->env_id, b->env_id);
    assert_int_equal(a->has_external_id, b->has_external_id);
    assert_string_equal(a->external_id, b->external_id);
    assert_string_equal(a->type, b->type);
    assert_string_equal(a->task_identifier, b->task_identifier);
    if (a->metadata_json || b->metadata_json)
        assert_string_equal(a->metadata_json, b->metadata_json);
    if (a->tags_json || b->tags_json)
        assert_string_equal(a->tags_json, b->tags_json);
    assert_int_equal(a->closed, b->closed);
    assert_int_equal(a->closed_at_ms, b->closed_at_ms);
    assert_string_equal(a->closed_reason, b->closed_reason);
    assert_int_equal(a->expires_at_ms, b->expires_at_ms);
    assert_int_equal(a->has_basin, b->has_basin);
    assert_string_equal(a->basin, b->basin);
    assert_int_equal(a->created_at_ms, b->created_at_ms);
}

static void
test_session_create_or_get(void **state)
{
    fx *f = *state;
    seed(f);
    wr_clock_set_fake(10000);
    wr_session s = session("session_1", ENV_A, "chat-42", "basin-a");
    s.metadata_json = "{\"k\":\"v\"}";
    s.tags_json = "[\"a\",\"b\"]";
    s.expires_at_ms = 99999;
    wr_session out;
    bool created = false;
    OK(wr_meta_session_create_or_get(f->m, &s, NULL, &out, &created, NULL));
    assert_true(created);
    assert_string_equal(out.id, "session_1");
    assert_string_equal(out.external_id, "chat-42");
    assert_true(out.has_external_id);
    assert_string_equal(out.type, "chat.agent");
    assert_string_equal(out.task_identifier, "chat-task");
    assert_string_equal(out.metadata_json, "{\"k\":\"v\"}");
    assert_string_equal(out.tags_json, "[\"a\",\"b\"]");
    assert_ptr_not_equal(out.metadata_json, s.metadata_json); /* owned copy */
    assert_false(out.closed);
    assert_int_equal(out.expires_at_ms, 99999);
    assert_true(out.has_basin);
    assert_string_equal(out.basin, "basin-a");
    assert_int_equal(out.created_at_ms, 10000);

    /* Same external id again, everything else different: the existing row comes back untouched
     * (never re-stamped) and the new id is not inserted. */
    wr_clock_set_fake(20000);
    wr_session again = session("session_2", ENV_A, "chat-42", "basin-other");
    CPY(again.type, "other.type");
    again.metadata_json = "{}";
    wr_session out2;
    created = true;
    OK(wr_meta_session_create_or_get(f->m, &again, NULL, &out2, &created, NULL));
    assert_false(created);
    assert_session_eq(&out2, &out);
    wr_session_fini(&out2);
    assert_int_equal(wr_meta_session_get(f->m, ENV_A, "session_2", &out2, NULL), WR_ERR_NOT_FOUND);

    /* ... also when the org has no basin any more (a null stamp would be a re-stamp too) */
    wr_session nobasin = session("session_3", ENV_A, "chat-42", NULL);
    OK(wr_meta_session_create_or_get(f->m, &nobasin, NULL, &out2, &created, NULL));
    assert_false(created);
    assert_true(out2.has_basin);
    assert_string_equal(out2.basin, "basin-a");
    wr_session_fini(&out2);

    /* ... and a retry with the very same id and external id returns it too */
    OK(wr_meta_session_create_or_get(f->m, &s, NULL, &out2, &created, NULL));
    assert_false(created);
    assert_session_eq(&out2, &out);
    wr_session_fini(&out2);

    /* get by session id and by external id */
    OK(wr_meta_session_get(f->m, ENV_A, "session_1", &out2, NULL));
    assert_session_eq(&out2, &out);
    wr_session_fini(&out2);
    OK(wr_meta_session_get(f->m, ENV_A, "chat-42", &out2, NULL));
    assert_session_eq(&out2, &out);
    wr_session_fini(&out2);

    /* the same external id in another environment is a different session */
    wr_session other = session("session_b", ENV_B, "chat-42", NULL);
    OK(wr_meta_session_create_or_get(f->m, &other, NULL, &out2, &created, NULL));
    assert_true(created);
    assert_string_equal(out2.id, "session_b");
    assert_false(out2.has_basin);
    wr_session_fini(&out2);
    OK(wr_meta_session_get(f->m, ENV_B, "chat-42", &out2, NULL));
    assert_string_equal(out2.id, "session_b");
    wr_session_fini(&out2);

    /* sessions without an external id: each create is new, NULL json stays NULL */
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf(id, sizeof(id), "session_anon%d", i);
        wr_session a = session(id, ENV_A, NULL, NULL);
        OK(wr_meta_session_create_or_get(f->m, &a, NULL, &out2, NULL, NULL));
        assert_false(out2.has_external_id);
        assert_string_equal(out2.external_id, "");
        assert_null(out2.metadata_json);
        assert_null(out2.tags_json);
        assert_int_equal(out2.expires_at_ms, 0);
        wr_session_fini(&out2);
        assert_null(out2.metadata_json);
    }
    wr_session_fini(&out);
    wr_session_fini(NULL);
}

/* Several creates in one call have the outcome of the calls one by one, in order; a failed one
 * fills nothing, and undoing its job undoes the creates before the failure. */
static void
test_session_create_many(void **state)
{
    fx *f = *state;
    seed(f);
    wr_clock_set_fake(10000);
    wr_session pre = session("session_pre", ENV_A, "chat-pre", NULL), pre_out;
    OK(wr_meta_session_create_or_get(f->m, &pre, NULL, &pre_out, NULL, NULL));
    wr_session s[5] = {
        session("session_m1", ENV_A, "chat-m1", "basin-a"),
        session("session_m2", ENV_A, NULL, NULL),
        session("session_m3", ENV_A, "chat-m1", NULL),  /* the first one's external id */
        session("session_m4", ENV_A, "chat-pre", NULL), /* a row made before */
        session("session_m5", ENV_B, "chat-m1", NULL),  /* that id in another environment */
    };
    s[0].metadata_json = "{\"q\":\"a \\\"quoted\\\" {x,y} \\\\ NULL\"}";
    s[1].tags_json = "[\"x\",\"y,z\"]";
    s[1].expires_at_ms = 77;
    wr_run r0 = run("run_m1", ENV_A, "basin-a"), r3 = run("run_m4", ENV_A, NULL);
    wr_session out[5];
    bool created[5];
    wr_meta_session_create c[5];
    for (int i = 0; i < 5; i++)
        c[i] = (wr_meta_session_create){.s = &s[i],
                                        .first_run = i == 0   ? &r0
                                                     : i == 3 ? &r3
                                                              : NULL,
                                        .out = &out[i],
                                        .out_created = &created[i]};
    OK(wr_meta_session_create_many(f->m, c, 5, NULL));
    assert_true(created[0] && created[1] && created[4]);
    assert_false(created[2] || created[3]);
    assert_string_equal(out[0].id, "session_m1");
    assert_string_equal(out[0].metadata_json, s[0].metadata_json);
    assert_true(out[0].has_current_run);
    assert_string_equal(out[0].current_run_id, "run_m1");
    assert_string_equal(out[0].basin, "basin-a");
    assert_string_equal(out[1].id, "session_m2");
    assert_false(out[1].has_external_id);
    assert_string_equal(out[1].tags_json, s[1].tags_json);
    assert_int_equal(out[1].expires_at_ms, 77);
    assert_null(out[1].metadata_json);
    assert_session_eq(&out[2], &out[0]);
    assert_session_eq(&out[3], &pre_out);
    assert_false(out[3].has_current_run);
    assert_string_equal(out[4].id, "session_m5");
    assert_string_equal(out[4].env_id, ENV_B);
    wr_run got_run;
    OK(wr_meta_run_get(f->m, ENV_A, "run_m1", &got_run, NULL));
    assert_int_equal(wr_meta_run_get(f->m, ENV_A, "run_m4", &got_run, NULL), WR_ERR_NOT_FOUND);
    wr_session got;
    assert_int_equal(wr_meta_session_get(f->m, ENV_A, "session_m3", &got, NULL), WR_ERR_NOT_FOUND);
    assert_int_equal(wr_meta_session_get(f->m, ENV_A, "session_m4", &got, NULL), WR_ERR_NOT_FOUND);
    for (int i = 0; i < 5; i++)
        wr_session_fini(&out[i]);
    wr_session_fini(&pre_out);

    /* a failure (the second one's id is taken) inside a job: nothing filled, nothing kept */
    wr_session bad[3] = {
        session("session_n1", ENV_A, "chat-n1", NULL),
        session("session_m2", ENV_A, "chat-n2", NULL),
        session("session_n3", ENV_A, NULL, NULL),
    };
    bad[0].metadata_json = "{}";
    memset(out, 0, sizeof(out));
    for (int i = 0; i < 3; i++)
        c[i] = (wr_meta_session_create){.s = &bad[i], .out = &out[i], .out_created = &created[i]};
    OK(wr_meta_group(f->m, WR_META_GROUP_BEGIN, NULL));
    OK(wr_meta_group(f->m, WR_META_GROUP_JOB, NULL));
    wr_error err = {0};
    assert_int_equal(wr_meta_session_create_many(f->m, c, 3, &err), WR_ERR_RESOURCE_ALREADY_EXISTS);
    assert_int_equal(err.code, WR_ERR_RESOURCE_ALREADY_EXISTS);
    OK(wr_meta_group(f->m, WR_META_GROUP_JOB_UNDO, NULL));
    OK(wr_meta_group(f->m, WR_META_GROUP_COMMIT, NULL));
    for (int i = 0; i < 3; i++)
        assert_null(out[i].metadata_json);
    assert_int_equal(wr_meta_session_get(f->m, ENV_A, "session_n1", &got, NULL), WR_ERR_NOT_FOUND);
    assert_int_equal(wr_meta_session_get(f->m, ENV_A, "session_n3", &got, NULL), WR_ERR_NOT_FOUND);
    /* a bad argument is refused before anything runs */
    wr_session inval = session("nope", ENV_A, NULL, NULL);
    c[1].s = &inval;
    assert_int_equal(wr_meta_session_create_many(f->m, c, 3, NULL), WR_ERR_INVALID);
    assert_int_equal(wr_meta_session_get(f->m, ENV_A, "session_n1", &got, NULL), WR_ERR_NOT_FOUND);
    OK(wr_meta_session_create_many(f->m, c, 0, NULL));

    /* more than one statement takes (PostgreSQL: 128 a statement), large ones among them */
    enum { BULK = 300 };
    wr_session *bs = calloc(BULK, sizeof(*bs)), *bo = calloc(BULK, sizeof(*bo));
    wr_meta_session_create *bc = calloc(BULK, sizeof(*bc));
    char *big = malloc(300000);
    memset(big, 'm', 299999);
    big[0] = '"';
    big[299998] = '"';
    big[299999] = '\0';
    for (int i = 0; i < BULK; i++) {
        char id[40], ext[40];
        snprintf(id, sizeof(id), "session_bulk%d", i);
        snprintf(ext, sizeof(ext), "bulk-%d", i);
        bs[i] = session(id, ENV_A, ext, NULL);
        if (i % 50 == 7)
            bs[i].metadata_json = big;
        bc[i] = (wr_meta_session_create){.s = &bs[i], .out = &bo[i]};
    }
    OK(wr_meta_session_create_many(f->m, bc, BULK, NULL));
    for (int i = 0; i < BULK; i++) {
        assert_string_equal(bo[i].id, bs[i].id);
        if (i % 50 == 7)
            assert_string_equal(bo[i].metadata_json, big);
        wr_session_fini(&bo[i]);
    }
    OK(wr_meta_session_get(f->m, ENV_A, "bulk-299", &got, NULL));
    assert_string_equal(got.id, "session_bulk299");
    wr_session_fini(&got);
    free(big);
    free(bc);
    free(bo);
    free(bs);
}

static void
test_session_close_write_once(void **state)
{
    fx *f = *state;
    seed(f);
    wr_session s = session("session_c", ENV_A, "ext-c", "basin-a"), out;
    OK(wr_meta_session_create_or_get(f->m, &s, NULL, &out, NULL, NULL));
    wr_session_fini(&out);

    bool already = true;
    OK(wr_meta_session_close(f->m, "session_c", "done", 7000, &already, NULL));
    assert_false(already);
    OK(wr_meta_session_close(f->m, "session_c", "again", 8000, &already, NULL));
    assert_true(already);
    OK(wr_meta_session_close(f->m, "session_c", NULL, 9000, NULL, NULL));

    OK(wr_meta_session_get(f->m, ENV_A, "ext-c", &out, NULL));
    assert_true(out.closed);
    assert_int_equal(out.closed_at_ms, 7000);
    assert_string_equal(out.closed_reason, "done");
    assert_string_equal(out.basin, "basin-a");
    wr_session_fini(&out);

    /* create-or-get on a closed session returns it (closed) without touching it */
    bool created = true;
    OK(wr_meta_session_create_or_get(f->m, &s, NULL, &out, &created, NULL));
    assert_false(created);
    assert_true(out.closed);
    assert_int_equal(out.closed_at_ms, 7000);
    wr_session_fini(&out);

    /* closing without a reason stores "" */
    wr_session n = session("session_n", ENV_A, NULL, NULL);
    OK(wr_meta_session_create_or_get(f->m, &n, NULL, &out, NULL, NULL));
    wr_session_fini(&out);
    OK(wr_meta_session_close(f->m, "session_n", NULL, 1, &already, NULL));
    assert_false(already);
    OK(wr_meta_session_get(f->m, ENV_A, "session_n", &out, NULL));
    assert_true(out.closed);
    assert_int_equal(out.closed_at_ms, 1);
    assert_string_equal(out.closed_reason, "");
    wr_session_fini(&out);
}

/* A session's channel name (stream_key) is its own: renaming a session away from an external id
 * does not hand its channels to the next session created with that id; '/' is refused. */
static void
test_session_stream_key_unique(void **state)
{
    fx *f = *state;
    seed(f);
    wr_session s1 = session("session_k1", ENV_A, "ext-k", NULL), out;
    OK(wr_meta_session_create_or_get(f->m, &s1, NULL, &out, NULL, NULL));
    assert_string_equal(out.stream_key, "ext-k");
    wr_session_fini(&out);
    bool taken = false;
    OK(wr_meta_session_stream_key_taken(f->m, ENV_A, "ext-k", &taken, NULL));
    assert_true(taken);
    OK(wr_meta_session_stream_key_taken(f->m, ENV_B, "ext-k", &taken, NULL));
    assert_false(taken); /* per environment */

    wr_session_patch p = {.set_external_id = true, .external_id = "ext-k-moved"};
    OK(wr_meta_session_update(f->m, ENV_A, "session_k1", &p, NULL));
    OK(wr_meta_session_get(f->m, ENV_A, "ext-k-moved", &out, NULL));
    assert_string_equal(out.stream_key, "ext-k"); /* the channels stay */
    wr_session_fini(&out);
    OK(wr_meta_session_stream_key_taken(f->m, ENV_A, "ext-k", &taken, NULL));
    assert_true(taken);

    wr_session s2 = session("session_k2", ENV_A, "ext-k", NULL);
    bool created = false;
    OK(wr_meta_session_create_or_get(f->m, &s2, NULL, &out, &created, NULL));
    assert_true(created);
    assert_string_equal(out.external_id, "ext-k");
    assert_string_equal(out.stream_key, "session_k2"); /* not the renamed one's channels */
    wr_session_fini(&out);
    OK(wr_meta_session_stream_key_taken(f->m, ENV_A, "nothing", &taken, NULL));
    assert_false(taken);

    wr_error err = {0};
    wr_session bad = session("session_k3", ENV_A, "a/channels/x", NULL);
    assert_int_equal(wr_meta_session_create_or_get(f->m, &bad, NULL, &out, NULL, &err),
                     WR_ERR_INVALID);
    wr_session_patch pb = {.set_external_id = true, .external_id = "a/b"};
    assert_int_equal(wr_meta_session_update(f->m, ENV_A, "session_k1", &pb, &err), WR_ERR_INVALID);
}

/* Pages of an environment's sessions, newest first, with every filter; each filter is a row. */
static void
test_session_list(void **state)
{
    fx *f = *state;
    seed(f);
    static const struct {
        const char *id, *env, *ext, *type, *task, *tags;
        uint64_t created, expires, closed;
    } rows[] = {
        {"session_a", ENV_A, "ea", "chat.agent", "t1", "[\"red\",\"blue\"]", 100, 0, 0},
        {"session_b", ENV_A, NULL, "other", "t2", "[\"blue\"]", 200, 0, 0},
        {"session_c", ENV_A, NULL, "chat.agent", "t1", NULL, 200, 0, 0},
        {"session_d", ENV_A, NULL, "chat.agent", "t2", "[\"green\"]", 300, 350, 0},
        {"session_e", ENV_A, NULL, "q\"\\,{}", "t1", "[]", 400, 0, 450}, /* quotes, braces */
        {"session_f", ENV_B, NULL, "chat.agent", "t1", NULL, 500, 0, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_session s = session(rows[i].id, rows[i].env, rows[i].ext, NULL), out;
        CPY(s.type, rows[i].type);
        CPY(s.task_identifier, rows[i].task);
        s.tags_json = (char *)rows[i].tags;
        s.created_at_ms = rows[i].created;
        s.expires_at_ms = rows[i].expires;
        OK(wr_meta_session_create_or_get(f->m, &s, NULL, &out, NULL, NULL));
        wr_session_fini(&out);
        if (rows[i].closed)
            OK(wr_meta_session_close(f->m, rows[i].id, NULL, rows[i].closed, NULL, NULL));
    }

    const char *types_chat[] = {"chat.agent"}, *types_other[] = {"other", "q\"\\,{}"};
    const char *tags_blue[] = {"blue"}, *tags_gr[] = {"green", "red"}, *tags_no[] = {"nope"};
    const char *tasks_t2[] = {"t2"};
    static const char *const quote[] = {"q\"\\"};
    struct {
        const char *what;
        wr_session_filter f;
        const char *want; /* ids' last letters, in page order */
        bool has_next, has_previous;
    } cases[] = {
        {"first page", {.limit = 2}, "ed", true, false},
        {"second page", {.limit = 2, .after = "session_d"}, "cb", true, true},
        {"last page", {.limit = 2, .after = "session_b"}, "a", false, true},
        {"everything", {.limit = 100}, "edcba", false, false},
        {"page before c", {.limit = 2, .before = "session_c"}, "ed", true, false},
        {"page before a", {.limit = 2, .before = "session_a"}, "cb", true, true},
        {"type", {.limit = 10, .types = types_chat, .n_types = 1}, "dca", false, false},
        {"types", {.limit = 10, .types = types_other, .n_types = 2}, "eb", false, false},
        {"tag", {.limit = 10, .tags = tags_blue, .n_tags = 1}, "ba", false, false},
        {"tags", {.limit = 10, .tags = tags_gr, .n_tags = 2}, "da", false, false},
        {"unknown tag", {.limit = 10, .tags = tags_no, .n_tags = 1}, "", false, false},
        {"quotes and backslashes", {.limit = 10, .types = quote, .n_types = 1}, "", false, false},
        {"task",
         {.limit = 10, .task_identifiers = tasks_t2, .n_task_identifiers = 1},
         "db",
         false,
         false},
        {"external id", {.limit = 10, .external_id = "ea"}, "a", false, false},
        {"created range",
         {.limit = 10, .created_from_ms = 200, .created_to_ms = 300},
         "dcb",
         false,
         false},
        {"active",
         {.limit = 10, .statuses = WR_SESSION_ACTIVE, .now_ms = 1000},
         "cba",
         false,
         false},
        {"active before expiry",
         {.limit = 10, .statuses = WR_SESSION_ACTIVE, .now_ms = 349},
         "dcba",
         false,
         false},
        {"closed", {.limit = 10, .statuses = WR_SESSION_CLOSED, .now_ms = 1000}, "e", false, false},
        {"expired",
         {.limit = 10, .statuses = WR_SESSION_EXPIRED, .now_ms = 1000},
         "d",
         false,
         false},
        {"active or expired",
         {.limit = 10, .statuses = WR_SESSION_ACTIVE | WR_SESSION_EXPIRED, .now_ms = 1000},
         "dcba",
         false,
         false},
        {"type and active",
         {.limit = 10,
          .types = types_chat,
          .n_types = 1,
          .statuses = WR_SESSION_ACTIVE,
          .now_ms = 1000},
         "ca",
         false,
         false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wr_session_page page;
        wr_error err = {0};
        if (wr_meta_session_list(f->m, ENV_A, &cases[i].f, &page, &err) != WR_OK)
            fail_msg("case %zu (%s): %s", i, cases[i].what, err.msg);
        char got[8] = {0};
        for (size_t k = 0; k < page.n && k < sizeof(got) - 1; k++)
            got[k] = page.items[k].id[strlen(page.items[k].id) - 1];
        if (strcmp(got, cases[i].want) != 0 || page.has_next != cases[i].has_next ||
            page.has_previous != cases[i].has_previous)
            fail_msg("case %zu (%s): got '%s' next %d previous %d, want '%s' %d %d", i,
                     cases[i].what, got, page.has_next, page.has_previous, cases[i].want,
                     cases[i].has_next, cases[i].has_previous);
        wr_session_page_fini(&page);
    }
    /* rows come back whole */
    wr_session_filter one = {.limit = 1, .external_id = "ea"};
    wr_session_page page;
    OK(wr_meta_session_list(f->m, ENV_A, &one, &page, NULL));
    assert_int_equal(page.n, 1);
    assert_string_equal(page.items[0].tags_json, "[\"red\",\"blue\"]");
    assert_int_equal(page.items[0].created_at_ms, 100);
    wr_session_page_fini(&page);

    /* bad input */
    struct {
        wr_session_filter f;
        wr_err want;
    } bad[] = {
        {{.limit = 0}, WR_ERR_INVALID},
        {{.limit = 101}, WR_ERR_INVALID},
        {{.limit = 5, .after = "session_a", .before = "session_b"}, WR_ERR_INVALID},
        {{.limit = 5, .after = "session_f"}, WR_ERR_NOT_FOUND}, /* another environment's */
        {{.limit = 5, .before = "session_nope"}, WR_ERR_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wr_err got = wr_meta_session_list(f->m, ENV_A, &bad[i].f, &page, NULL);
        if (got != bad[i].want)
            fail_msg("bad row %zu: got %d want %d", i, got, bad[i].want);
        assert_int_equal(page.n, 0);
        assert_null(page.items);
    }
}

/* Patches, and the compare-and-swap of a session's current run. */
static void
test_session_update_and_swap(void **state)
{
    fx *f = *state;
    seed(f);
    wr_clock_set_fake(1000);
    wr_session s = session("session_u", ENV_A, "ext-u", "basin-a"), out;
    wr_run first = run("run_1", ENV_A, "basin-a");
    OK(wr_meta_session_create_or_get(f->m, &s, &first, &out, NULL, NULL));
    assert_true(out.has_current_run);
    assert_string_equal(out.current_run_id, "run_1");
    wr_session_fini(&out);
    wr_run got;
    OK(wr_meta_run_get(f->m, ENV_A, "run_1", &got, NULL));
    wr_session other = session("session_o", ENV_A, "ext-o", NULL);
    OK(wr_meta_session_create_or_get(f->m, &other, NULL, &out, NULL, NULL));
    assert_false(out.has_current_run);
    wr_session_fini(&out);

    /* swaps: each row runs in order against the state the previous ones left */
    struct {
        const char *what, *session, *expected, *run;
        wr_err want;
        bool swapped;
        const char *current; /* the session's current run afterwards */
    } swaps[] = {
        {"expected matches", "session_u", "run_1", "run_2", WR_OK, true, "run_2"},
        {"stale expectation", "session_u", "run_1", "run_3", WR_OK, false, "run_2"},
        {"run id taken", "session_u", "run_2", "run_1", WR_ERR_RESOURCE_ALREADY_EXISTS, false,
         "run_2"},
        {"no current run expected", "session_o", NULL, "run_4", WR_OK, true, "run_4"},
        {"no current run, but there is one", "session_o", NULL, "run_5", WR_OK, false, "run_4"},
        {"missing session", "session_nope", NULL, "run_6", WR_ERR_NOT_FOUND, false, NULL},
    };
    for (size_t i = 0; i < sizeof(swaps) / sizeof(swaps[0]); i++) {
        wr_run r = run(swaps[i].run, ENV_A, "basin-a");
        bool swapped = !swaps[i].swapped;
        wr_error err = {0};
        wr_err rc =
            wr_meta_session_swap_run(f->m, swaps[i].session, swaps[i].expected, &r, &swapped, &err);
        if (rc != swaps[i].want || swapped != swaps[i].swapped)
            fail_msg("swap %zu (%s): got %d swapped %d (%s)", i, swaps[i].what, rc, swapped,
                     err.msg);
        if (swaps[i].current) {
            OK(wr_meta_session_get(f->m, ENV_A, swaps[i].session, &out, NULL));
            assert_string_equal(out.current_run_id, swaps[i].current);
            wr_session_fini(&out);
        }
        /* a run is inserted exactly when the swap happened (or it existed before) */
        bool existed = strcmp(swaps[i].run, "run_1") == 0;
        wr_err want_get = swaps[i].swapped || existed ? WR_OK : WR_ERR_NOT_FOUND;
        assert_int_equal(wr_meta_run_get(f->m, ENV_A, swaps[i].run, &got, NULL), want_get);
    }

    /* updates */
    wr_clock_set_fake(2000);
    wr_session_patch p = {.set_tags = true,
                          .tags_json = "[\"t\"]",
                          .set_metadata = true,
                          .metadata_json = "{\"m\":2}"};
    OK(wr_meta_session_update(f->m, ENV_A, "session_u", &p, NULL));
    OK(wr_meta_session_get(f->m, ENV_A, "ext-u", &out, NULL));
    assert_string_equal(out.tags_json, "[\"t\"]");
    assert_string_equal(out.metadata_json, "{\"m\":2}");
    assert_int_equal(out.updated_at_ms, 2000);
    assert_string_equal(out.basin, "basin-a");
    wr_session_fini(&out);

    wr_session_patch clear = {
        .set_metadata = true, .metadata_json = NULL, .set_external_id = true, .external_id = NULL};
    OK(wr_meta_session_update(f->m, ENV_A, "session_u", &clear, NULL));
    OK(wr_meta_session_get(f->m, ENV_A, "session_u", &out, NULL));
    assert_null(out.metadata_json);
    assert_string_equal(out.tags_json, "[\"t\"]"); /* not in the patch: unchanged */
    assert_false(out.has_external_id);
    assert_string_equal(out.stream_key, "ext-u");
    wr_session_fini(&out);

    struct {
        const char *what, *env, *id, *ext;
        wr_err want;
    } bad[] = {
        {"external id taken", ENV_A, "session_u", "ext-o", WR_ERR_RESOURCE_ALREADY_EXISTS},
        {"missing session", ENV_A, "session_nope", "ext-n", WR_ERR_NOT_FOUND},
        {"other environment", ENV_B, "session_u", "ext-n", WR_ERR_NOT_FOUND},
        {"session_ prefix", ENV_A, "session_u", "session_x", WR_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wr_session_patch bp = {.set_external_id = true, .external_id = bad[i].ext};
        wr_error err = {0};
        wr_err rc = wr_meta_session_update(f->m, bad[i].env, bad[i].id, &bp, &err);
        if (rc != bad[i].want)
            fail_msg("update %zu (%s): got %d (%s)", i, bad[i].what, rc, err.msg);
    }
}

/* Stamps are written at create and survive every later change to the organization. */
static void
test_never_restamp(void **state)
{
    fx *f = *state;
    seed(f);
    /* before provisioning: null stamps */
    wr_run r0 = run("run_pre", ENV_A, NULL);
    OK(wr_meta_run_create(f->m, &r0, NULL));
    wr_session s0 = session("session_pre", ENV_A, "pre", NULL), out;
    OK(wr_meta_session_create_or_get(f->m, &s0, NULL, &out, NULL, NULL));
    wr_session_fini(&out);

    /* provisioned: new rows carry the basin */
    OK(wr_meta_org_set_basin(f->m, ORG_A, "basin-one", NULL));
    wr_run r1 = run("run_one", ENV_A, "basin-one");
    OK(wr_meta_run_create(f->m, &r1, NULL));
    wr_session s1 = session("session_one", ENV_A, "one", "basin-one");
    OK(wr_meta_session_create_or_get(f->m, &s1, NULL, &out, NULL, NULL));
    wr_session_fini(&out);

    /* deprovision and re-provision elsewhere; complete and close; re-create by external id */
    OK(wr_meta_org_set_basin(f->m, ORG_A, NULL, NULL));
    OK(wr_meta_org_set_basin(f->m, ORG_A, "basin-two", NULL));
    OK(wr_meta_run_complete(f->m, "run_one", 1, NULL));
    OK(wr_meta_session_close(f->m, "session_one", "x", 1, NULL, NULL));
    wr_session s1b = session("session_one_b", ENV_A, "one", "basin-two");
    OK(wr_meta_session_create_or_get(f->m, &s1b, NULL, &out, NULL, NULL));
    wr_session_fini(&out);
    wr_session s0b = session("session_pre_b", ENV_A, "pre", "basin-two");
    OK(wr_meta_session_create_or_get(f->m, &s0b, NULL, &out, NULL, NULL));
    wr_session_fini(&out);

    for (int pass = 0; pass < 2; pass++) {
        wr_run got;
        OK(wr_meta_run_get(f->m, ENV_A, "run_pre", &got, NULL));
        assert_false(got.has_basin);
        OK(wr_meta_run_get(f->m, ENV_A, "run_one", &got, NULL));
        assert_true(got.has_basin);
        assert_string_equal(got.basin, "basin-one");
        OK(wr_meta_session_get(f->m, ENV_A, "pre", &out, NULL));
        assert_false(out.has_basin);
        assert_string_equal(out.id, "session_pre");
        wr_session_fini(&out);
        OK(wr_meta_session_get(f->m, ENV_A, "one", &out, NULL));
        assert_true(out.has_basin);
        assert_string_equal(out.basin, "basin-one");
        wr_session_fini(&out);
        wr_org o;
        OK(wr_meta_org_get(f->m, ORG_A, &o, NULL));
        assert_string_equal(o.basin, "basin-two");
        reopen(f);
    }
}

/* ---- restart -------------------------------------------------------------------------------- */

static void
test_restart_keeps_everything(void **state)
{
    fx *f = *state;
    wr_clock_set_fake(1234);
    seed(f);
    OK(wr_meta_org_set_plan(f->m, ORG_A, "pro", NULL));
    OK(wr_meta_org_set_basin(f->m, ORG_A, "weir-dev-org-a", NULL));
    uint8_t h[32];
    memset(h, 0xcc, sizeof(h));
    OK(wr_meta_env_set_key(f->m, ENV_B, h, NULL, 0, NULL));
    wr_run r = run("run_r", ENV_A, "weir-dev-org-a");
    OK(wr_meta_run_create(f->m, &r, NULL));
    OK(wr_meta_run_add_stream(f->m, "run_r", "default", NULL));
    OK(wr_meta_run_add_stream(f->m, "run_r", "chat", NULL));
    OK(wr_meta_run_complete(f->m, "run_r", 4321, NULL));
    wr_session s = session("session_r", ENV_A, "ext-r", "weir-dev-org-a"), before, after;
    s.metadata_json = "{\"m\":1}";
    s.expires_at_ms = 777;
    OK(wr_meta_session_create_or_get(f->m, &s, NULL, &before, NULL, NULL));
    OK(wr_meta_session_close(f->m, "session_r", "bye", 5555, NULL, NULL));
    wr_session_fini(&before);
    OK(wr_meta_session_get(f->m, ENV_A, "session_r", &before, NULL));

    reopen(f);
    reopen(f); /* a second open applies no migration twice */

    wr_org o;
    OK(wr_meta_org_get(f->m, ORG_A, &o, NULL));
    assert_string_equal(o.plan, "pro");
    assert_string_equal(o.basin, "weir-dev-org-a");
    assert_int_equal(o.created_at_ms, 1234);
    wr_org *list;
    size_t n;
    OK(wr_meta_org_list(f->m, &list, &n, NULL));
    assert_int_equal(n, 2);
    free(list);
    wr_project p;
    OK(wr_meta_project_get(f->m, PROJ_B, &p, NULL));
    assert_string_equal(p.org_id, ORG_B);
    wr_env e;
    OK(wr_meta_env_by_key_hash(f->m, h, &e, NULL));
    assert_string_equal(e.id, ENV_B);
    assert_string_equal(e.org_id, ORG_B);
    wr_run got;
    OK(wr_meta_run_get(f->m, ENV_A, "run_r", &got, NULL));
    assert_true(got.completed);
    assert_int_equal(got.completed_at_ms, 4321);
    assert_string_equal(got.basin, "weir-dev-org-a");
    char **v;
    OK(wr_meta_run_streams(f->m, "run_r", &v, &n, NULL));
    assert_int_equal(n, 2);
    assert_string_equal(v[1], "chat");
    wr_meta_strv_free(v, n);
    OK(wr_meta_session_get(f->m, ENV_A, "ext-r", &after, NULL));
    assert_session_eq(&after, &before);
    assert_string_equal(after.closed_reason, "bye");
    wr_session_fini(&after);
    wr_session_fini(&before);

    /* constraints still hold and writes still work after the reopen */
    wr_org dup = org("orgz", "acme");
    assert_int_equal(wr_meta_org_create(f->m, &dup, NULL), WR_ERR_RESOURCE_ALREADY_EXISTS);
    bool already = false;
    OK(wr_meta_session_close(f->m, "session_r", "later", 9, &already, NULL));
    assert_true(already);
    wr_org z = org("orgz", "zulu");
    OK(wr_meta_org_create(f->m, &z, NULL));
}

static void
test_backend_name(void **state)
{
    fx *f = *state;
    assert_string_equal(wr_meta_backend(f->m), f->be->name);
    wr_meta_close(NULL); /* no-op */
}

/* ---- runner --------------------------------------------------------------------------------- */

static const backend *current;

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    f->be = current;
    f->be->make(f->where, sizeof(f->where));
    wr_error err = {0};
    if (f->be->open(f->where, &f->m, &err) != WR_OK)
        fail_msg("open %s: %s", f->be->name, err.msg);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    wr_meta_close(f->m);
    f->be->remove(f->where);
    free(f);
    wr_clock_set_real();
    return 0;
}

/* Part ids: claim → done answers later claims within the window; a claim in flight is BUSY
 * until it is claim_ms old; release and purge; bad arguments. One table of steps, in order. */
static void
test_part_ids(void **state)
{
    fx *f = *state;
    enum { CLAIM, DONE, RELEASE, PURGE };
    const struct {
        const char *name;
        int op;
        const char *key, *part;
        uint64_t now, arg; /* claim: when (and the claim's time for done/release); purge: before */
        uint64_t seq;      /* done: the seq; claim: the seq expected for DONE */
        wr_err rc;
        wr_meta_part_state state;
        size_t purged;
    } rows[] = {
        {"first claim", CLAIM, "b\ns", "p1", 1000, 0, 0, WR_OK, WR_META_PART_CLAIMED, 0},
        {"same part while in flight", CLAIM, "b\ns", "p1", 1500, 0, 0, WR_OK, WR_META_PART_BUSY, 0},
        {"same part, other stream", CLAIM, "b\nt", "p1", 1500, 0, 0, WR_OK, WR_META_PART_CLAIMED,
         0},
        {"answered", DONE, "b\ns", "p1", 2000, 1000, 7, WR_OK, 0, 0},
        {"answer again: no claim", DONE, "b\ns", "p1", 2000, 1000, 8, WR_ERR_NOT_FOUND, 0, 0},
        {"claim within the window", CLAIM, "b\ns", "p1", 200000, 0, 7, WR_OK, WR_META_PART_DONE, 0},
        {"claim past the window", CLAIM, "b\ns", "p1", 302001, 0, 0, WR_OK, WR_META_PART_CLAIMED,
         0},
        {"stale claim taken over", CLAIM, "b\nt", "p1", 31500, 0, 0, WR_OK, WR_META_PART_CLAIMED,
         0},
        {"old claim's answer refused", DONE, "b\nt", "p1", 31600, 1500, 3, WR_ERR_NOT_FOUND, 0, 0},
        {"released", RELEASE, "b\nt", "p1", 0, 31500, 0, WR_OK, 0, 0},
        {"claim after release", CLAIM, "b\nt", "p1", 31700, 0, 0, WR_OK, WR_META_PART_CLAIMED, 0},
        {"purge before 31700", PURGE, NULL, NULL, 0, 31700, 0, WR_OK, 0, 0},
        {"purge before 400000", PURGE, NULL, NULL, 0, 400000, 0, WR_OK, 0, 2},
        {"purged: claim anew", CLAIM, "b\ns", "p1", 400001, 0, 0, WR_OK, WR_META_PART_CLAIMED, 0},
        {"empty key", CLAIM, "", "p1", 1, 0, 0, WR_ERR_INVALID, WR_META_PART_BUSY, 0},
        {"empty part", CLAIM, "b\ns", "", 1, 0, 0, WR_ERR_INVALID, WR_META_PART_BUSY, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_error err = {0};
        wr_err rc = WR_OK;
        if (rows[i].op == CLAIM) {
            wr_meta_part_state st;
            uint64_t seq = 99;
            rc = wr_meta_part_claim(f->m, rows[i].key, rows[i].part, rows[i].now, 300000, 30000,
                                    &st, &seq, &err);
            if (st != rows[i].state || seq != rows[i].seq)
                fail_msg("row %zu (%s): state %d seq %llu", i, rows[i].name, (int)st,
                         (unsigned long long)seq);
        } else if (rows[i].op == DONE) {
            rc = wr_meta_part_done(f->m, rows[i].key, rows[i].part, rows[i].arg, rows[i].seq,
                                   rows[i].now, &err);
        } else if (rows[i].op == RELEASE) {
            rc = wr_meta_part_release(f->m, rows[i].key, rows[i].part, rows[i].arg, &err);
        } else {
            size_t n = 99;
            rc = wr_meta_part_purge(f->m, rows[i].arg, &n, &err);
            if (n != rows[i].purged)
                fail_msg("row %zu (%s): purged %zu", i, rows[i].name, n);
        }
        if (rc != rows[i].rc)
            fail_msg("row %zu (%s): rc %d (%s)", i, rows[i].name, (int)rc, err.msg);
    }
    /* a key or part id one byte too long */
    char long_key[WR_META_PART_KEY_MAX + 2], long_part[WR_META_PART_ID_MAX + 2];
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    memset(long_part, 'p', sizeof(long_part) - 1);
    long_part[sizeof(long_part) - 1] = '\0';
    wr_meta_part_state st;
    uint64_t seq;
    assert_int_equal(wr_meta_part_claim(f->m, long_key, "p", 1, 1, 1, &st, &seq, NULL),
                     WR_ERR_INVALID);
    assert_int_equal(wr_meta_part_claim(f->m, "k", long_part, 1, 1, 1, &st, &seq, NULL),
                     WR_ERR_INVALID);
    long_key[sizeof(long_key) - 2] = '\0'; /* exactly the limit */
    OK(wr_meta_part_claim(f->m, long_key, "p", 1, 1, 1, &st, &seq, NULL));
    assert_int_equal(st, WR_META_PART_CLAIMED);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_backend_name),
        T(test_org_lifecycle),
        T(test_org_list_order),
        T(test_unique_constraints),
        T(test_not_found),
        T(test_invalid_arguments),
        T(test_projects_and_envs),
        T(test_runs),
        T(test_run_list_pages),
        T(test_project_env_lists),
        T(test_run_streams),
        T(test_session_create_or_get),
        T(test_session_create_many),
        T(test_session_close_write_once),
        T(test_session_stream_key_unique),
        T(test_session_list),
        T(test_session_update_and_swap),
        T(test_never_restamp),
        T(test_restart_keeps_everything),
        T(test_part_ids),
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        current = &backends[i];
        char group[64];
        snprintf(group, sizeof(group), "meta conformance: %s", current->name);
        if (current->available && !current->available()) {
            failed += ts_pg_skip(group);
            continue;
        }
        failed +=
            _cmocka_run_group_tests(group, tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
    }
    return failed;
}
