/*
 * test_naming.c — basin resolution precedence, stream prefixes and names (realtime.md §4), and
 * the realtime configuration rules (§2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "realtime/naming.h"
#include "realtime/rtconfig.h"
#include "serve_config.h"
#include "support/test_main.h"

#define G "weir-shared"

static void
test_resolution(void **state)
{
    (void)state;
    struct {
        const char *name;
        bool row_exists;
        const char *row_basin, *org_basin, *want;
    } rows[] = {
        {"row stamped: its basin, whatever the org has now", true, "weir-dev-org-a",
         "weir-dev-org-b", "weir-dev-org-a"},
        {"row stamped, org deprovisioned since", true, "weir-dev-org-a", NULL, "weir-dev-org-a"},
        {"row with a null stamp stays in the global basin even if the org has one now", true, NULL,
         "weir-dev-org-a", G},
        {"no row: the org's basin", false, NULL, "weir-dev-org-a", "weir-dev-org-a"},
        {"no row, no org basin: global", false, NULL, NULL, G},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *got =
            wr_rt_resolve_basin(G, rows[i].row_exists, rows[i].row_basin, rows[i].org_basin);
        if (strcmp(got, rows[i].want) != 0)
            fail_msg("%s: got %s want %s", rows[i].name, got, rows[i].want);
    }
}

static void
test_names(void **state)
{
    (void)state;
    char b[49], p[256], s[600];
    wr_rt_org_basin_name("weir", "dev", "clx0000000000000000000000", b);
    assert_string_equal(b, "weir-dev-org-clx0000000000000000000000");
    wr_rt_stream_prefix(G, G, "org1", "prod", "env1", p, sizeof(p));
    assert_string_equal(p, "org/org1/env/prod/env1");
    wr_rt_stream_prefix(b, G, "org1", "prod", "env1", p, sizeof(p));
    assert_string_equal(p, "env/prod/env1");
    wr_rt_run_stream(p, "run_1", "chat", false, s, sizeof(s));
    assert_string_equal(s, "env/prod/env1/runs/run_1/chat");
    wr_rt_run_stream(p, "run_1", "chat", true, s, sizeof(s));
    assert_string_equal(s, "env/prod/env1/runs/run_1/$trigger.input:chat");
    wr_rt_session_channel(p, "ext-42", "out", s, sizeof(s));
    assert_string_equal(s, "env/prod/env1/sessions/ext-42/out");
}

static void
test_plans(void **state)
{
    (void)state;
    wr_plan plans[8];
    size_t n;
    wr_error e;
    assert_int_equal(wr_rt_parse_plans("free=shared,hobby=30d,pro=365d", plans, 8, &n, &e), WR_OK);
    assert_int_equal(n, 3);
    assert_true(plans[0].shared);
    assert_int_equal(plans[1].retention_s, 30 * 86400);
    assert_int_equal(plans[2].retention_s, 365 * 86400);
    assert_int_equal(wr_rt_parse_plans(" a = 1h , b=shared", plans, 8, &n, &e), WR_OK);
    assert_int_equal(plans[0].retention_s, 3600);
    const char *bad[] = {"",      "free",       "free=", "=30d",  "a=0d",        "a=1.5d",
                         "a=-1d", "a=30d,a=1d", "A=30d", "a=30x", "a=30d,,b=1d", "a=shared;b=1d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wr_rt_parse_plans(bad[i], plans, 8, &n, &e) != WR_ERR_INVALID)
            fail_msg("accepted `%s`", bad[i]);
}

static wr_config
defaults(void)
{
    wr_config c;
    wr_error e;
    char *argv[] = {NULL};
    assert_int_equal(wr_config_load(&c, 0, argv, &e), WR_OK);
    return c;
}

static void
test_config_rules(void **state)
{
    (void)state;
    struct {
        const char *field, *value, *needle; /* needle: in the error; NULL = accepted */
    } rows[] = {
        {"prefix", "weir", NULL},
        {"prefix", "Weir", "WEIR_BASIN_NAME_PREFIX"},
        {"prefix", "we_ir", "WEIR_BASIN_NAME_PREFIX"},
        {"prefix", "-weir", "WEIR_BASIN_NAME_PREFIX/WEIR_BASIN_NAME_ENV"},
        {"prefix", "averyveryverylongprefix", "WEIR_BASIN_NAME_PREFIX/WEIR_BASIN_NAME_ENV"},
        {"env", "production", NULL},
        {"env", "prod.1", "WEIR_BASIN_NAME_ENV"},
        {"global", "Bad", "WEIR_GLOBAL_BASIN"},
        {"global", "short", "WEIR_GLOBAL_BASIN"},
        {"class", "glacier", "WEIR_BASIN_STORAGE_CLASS"},
        {"plans", "pro=0d", "WEIR_PLAN_RETENTION"},
        {"plans", "free=shared,pro=365d", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_config c = defaults();
        char **field = strcmp(rows[i].field, "prefix") == 0   ? &c.rt.basin_name_prefix
                       : strcmp(rows[i].field, "env") == 0    ? &c.rt.basin_name_env
                       : strcmp(rows[i].field, "global") == 0 ? &c.rt.global_basin
                       : strcmp(rows[i].field, "class") == 0  ? &c.rt.basin_storage_class
                                                              : &c.rt.plan_retention;
        free(*field);
        *field = strdup(rows[i].value);
        wr_rt_config rc;
        wr_error e = {0};
        wr_err got = wr_rt_config_from(&c.rt, &rc, &e);
        if (rows[i].needle == NULL && got != WR_OK)
            fail_msg("%s=%s rejected: %s", rows[i].field, rows[i].value, e.msg);
        if (rows[i].needle && (got != WR_ERR_INVALID || strstr(e.msg, rows[i].needle) == NULL))
            fail_msg("%s=%s: got `%s`", rows[i].field, rows[i].value, e.msg);
        wr_config_fini(&c);
    }
}

WR_TEST_MAIN(cmocka_unit_test(test_resolution), cmocka_unit_test(test_names),
             cmocka_unit_test(test_plans), cmocka_unit_test(test_config_rules))
