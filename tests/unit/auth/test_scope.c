/*
 * test_scope.c — resource sets, op groups, permission checks and the no-escalation rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/scope.h"
#include "support/test_main.h"

static wr_rset
rs(wr_rset_kind k, const char *v)
{
    wr_rset r = {.kind = k};
    strcpy(r.value, v);
    return r;
}

static void
test_rset_matches(void **state)
{
    (void)state;
    struct {
        wr_rset r;
        const char *name;
        bool want;
    } rows[] = {
        {rs(WR_RSET_EXACT, "a"), "a", true},        {rs(WR_RSET_EXACT, "a"), "ab", false},
        {rs(WR_RSET_EXACT, ""), "", false},         /* empty exact matches nothing */
        {rs(WR_RSET_PREFIX, ""), "anything", true}, /* empty prefix matches everything */
        {rs(WR_RSET_PREFIX, "ci-"), "ci-1", true},  {rs(WR_RSET_PREFIX, "ci-"), "cd-1", false},
        {rs(WR_RSET_NONE, ""), "a", false}, /* null/absent matches nothing */
        {rs(WR_RSET_PREFIX, "x"), NULL, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (wr_rset_matches(&rows[i].r, rows[i].name) != rows[i].want)
            fail_msg("row %zu", i);
}

static void
test_rset_within(void **state)
{
    (void)state;
    struct {
        wr_rset inner, outer;
        bool want;
    } rows[] = {
        {rs(WR_RSET_EXACT, "ab"), rs(WR_RSET_PREFIX, "a"), true},
        {rs(WR_RSET_PREFIX, "ab"), rs(WR_RSET_PREFIX, "a"), true},
        {rs(WR_RSET_PREFIX, "a"), rs(WR_RSET_PREFIX, "ab"), false},
        {rs(WR_RSET_PREFIX, "a"), rs(WR_RSET_EXACT, "a"), false},
        {rs(WR_RSET_EXACT, "a"), rs(WR_RSET_EXACT, "a"), true},
        {rs(WR_RSET_EXACT, "b"), rs(WR_RSET_EXACT, "a"), false},
        {rs(WR_RSET_NONE, ""), rs(WR_RSET_NONE, ""), true}, /* nothing is within anything */
        {rs(WR_RSET_PREFIX, ""), rs(WR_RSET_NONE, ""), false},
        {rs(WR_RSET_PREFIX, ""), rs(WR_RSET_PREFIX, ""), true},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        if (wr_rset_within(&rows[i].inner, &rows[i].outer) != rows[i].want)
            fail_msg("row %zu", i);
}

static wr_scope
parse(const char *json, wr_err *out_err)
{
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    wr_scope s;
    wr_error e = {0};
    *out_err = wr_scope_from_json(j, &s, &e);
    json_decref(j);
    return s;
}

/* Every op, granted alone, is allowed for itself only; groups expand to the documented ops. */
static void
test_matrix(void **state)
{
    (void)state;
    for (int op = 0; op < WR_OP__COUNT; op++) {
        char json[256];
        snprintf(json, sizeof(json),
                 "{\"basins\":{\"exact\":\"b1\"},\"streams\":{\"prefix\":\"in/\"},"
                 "\"access_tokens\":{\"prefix\":\"t-\"},\"ops\":[\"%s\"]}",
                 wr_op_name((wr_op)op));
        wr_err err;
        wr_scope s = parse(json, &err);
        assert_int_equal(err, WR_OK);
        for (int other = 0; other < WR_OP__COUNT; other++) {
            bool want = other == op;
            if (wr_scope_allows(&s, (wr_op)other, "b1", "in/x", "t-1") != want)
                fail_msg("token with only %s: %s allowed=%d", wr_op_name((wr_op)op),
                         wr_op_name((wr_op)other), !want);
        }
        assert_false(wr_scope_allows(&s, (wr_op)op, "b2", "in/x", "t-1"));
        assert_false(wr_scope_allows(&s, (wr_op)op, "b1", "out/x", "t-1"));
        assert_false(wr_scope_allows(&s, (wr_op)op, "b1", "in/x", "u-1"));
        assert_true(wr_scope_allows(&s, (wr_op)op, NULL, NULL, NULL));
    }
    struct {
        const char *groups;
        const char *ops[8];
    } rows[] = {
        {"{\"account\":{\"read\":true}}", {"list-basins", "list-access-tokens", "account-metrics"}},
        {"{\"account\":{\"write\":true}}",
         {"create-basin", "delete-basin", "issue-access-token", "revoke-access-token"}},
        {"{\"basin\":{\"read\":true}}", {"get-basin-config", "list-streams", "basin-metrics"}},
        {"{\"basin\":{\"write\":true}}", {"reconfigure-basin", "create-stream", "delete-stream"}},
        {"{\"stream\":{\"read\":true}}",
         {"get-stream-config", "check-tail", "read", "stream-metrics"}},
        {"{\"stream\":{\"write\":true}}", {"reconfigure-stream", "append", "trim", "fence"}},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char json[256];
        snprintf(json, sizeof(json), "{\"basins\":{\"prefix\":\"\"},\"op_groups\":%s}",
                 rows[i].groups);
        wr_err err;
        wr_scope s = parse(json, &err);
        assert_int_equal(err, WR_OK);
        wr_opset want = 0;
        for (int k = 0; rows[i].ops[k]; k++) {
            wr_op op;
            assert_true(wr_op_parse(rows[i].ops[k], &op));
            want |= 1u << op;
        }
        if (s.ops != want)
            fail_msg("group %s: ops %x want %x", rows[i].groups, s.ops, want);
    }
}

static void
test_bad_scopes(void **state)
{
    (void)state;
    struct {
        const char *json;
        wr_err want;
    } rows[] = {
        {"{}", WR_ERR_INVALID},
        {"{\"ops\":[]}", WR_ERR_INVALID},
        {"{\"ops\":[\"fly\"]}", WR_ERR_INVALID},
        {"{\"ops\":\"read\"}", WR_ERR_BAD_JSON},
        {"{\"ops\":[1]}", WR_ERR_BAD_JSON},
        {"{\"ops\":[\"read\"],\"basins\":{\"exact\":\"a\",\"prefix\":\"b\"}}", WR_ERR_BAD_JSON},
        {"{\"ops\":[\"read\"],\"basins\":{}}", WR_ERR_BAD_JSON},
        {"{\"ops\":[\"read\"],\"streams\":{\"prefix\":5}}", WR_ERR_BAD_JSON},
        {"{\"op_groups\":{\"stream\":{\"read\":\"yes\"}}}", WR_ERR_BAD_JSON},
        {"{\"op_groups\":{\"stream\":{\"read\":false}}}", WR_ERR_INVALID},
        {"[]", WR_ERR_BAD_JSON},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *j = json_loads(rows[i].json, 0, NULL);
        wr_scope s;
        wr_error e = {0};
        wr_err got = wr_scope_from_json(j, &s, &e);
        json_decref(j);
        if (got != rows[i].want)
            fail_msg("%s: got %s want %s", rows[i].json, wr_err_code(got),
                     wr_err_code(rows[i].want));
    }
}

static void
test_within_no_escalation(void **state)
{
    (void)state;
    wr_err err;
    wr_scope issuer = parse("{\"basins\":{\"prefix\":\"a\"},\"streams\":{\"prefix\":\"s/\"},"
                            "\"ops\":[\"read\",\"append\"]}",
                            &err);
    struct {
        const char *json;
        bool want;
    } rows[] = {
        {"{\"basins\":{\"prefix\":\"ab\"},\"streams\":{\"exact\":\"s/1\"},\"ops\":[\"read\"]}",
         true},
        {"{\"basins\":{\"prefix\":\"\"},\"ops\":[\"read\"]}", false},
        {"{\"basins\":{\"prefix\":\"a\"},\"ops\":[\"trim\"]}", false},
        {"{\"basins\":{\"prefix\":\"a\"},\"streams\":{\"prefix\":\"\"},\"ops\":[\"read\"]}", false},
        {"{\"basins\":{\"prefix\":\"a\"},\"op_groups\":{\"stream\":{\"read\":true}}}", false},
        {"{\"access_tokens\":{\"prefix\":\"\"},\"ops\":[\"read\"]}", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_scope s = parse(rows[i].json, &err);
        assert_int_equal(err, WR_OK);
        if (wr_scope_within(&s, &issuer) != rows[i].want)
            fail_msg("row %zu: %s", i, rows[i].json);
    }
}

WR_TEST_MAIN(cmocka_unit_test(test_rset_matches), cmocka_unit_test(test_rset_within),
             cmocka_unit_test(test_matrix), cmocka_unit_test(test_bad_scopes),
             cmocka_unit_test(test_within_no_escalation))
