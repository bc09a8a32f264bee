/*
 * test_err.c — consistency of the one error table (util/err.h) and its agreement with the S2
 * error model (s2-api.md §1.4): every wire code appears once with the documented status, the
 * retryable flag matches what the S2 SDKs retry, and lookups outside the table degrade to
 * "other"/500.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_main.h"
#include "util/err.h"
#include "util/utf8.h"

/* s2-api.md §1.4: code → status, as S2 (api/src/v1/error.rs) sends them. */
static const struct {
    const char *code;
    int status;
} s2_codes[] = {
    {"bad_header", 400},
    {"bad_json", 400},
    {"bad_path", 400},
    {"bad_query", 400},
    {"bad_proto", 400},
    {"bad_frame", 400},
    {"decryption_failed", 400},
    {"authn", 401},
    {"permission_denied", 403},
    {"quota_exhausted", 403},
    {"request_timeout", 408},
    {"rate_limited", 429},
    {"client_hangup", 499},
    {"basin_not_found", 404},
    {"stream_not_found", 404},
    {"access_token_not_found", 404},
    {"resource_already_exists", 409},
    {"basin_deletion_pending", 409},
    {"stream_deletion_pending", 409},
    {"transaction_conflict", 409},
    {"invalid", 422},
    {"seq_num_mismatch", 412},
    {"fencing_token_mismatch", 412},
    {"range_not_satisfiable", 416},
    {"storage", 500},
    {"other", 500},
    {"not_implemented", 501},
    {"hot_server", 502},
    {"unavailable", 503},
    {"server_draining", 503},
    {"upstream_timeout", 504},
};

static int
find(const char *code)
{
    for (int e = 0; e < WR_ERR__COUNT; e++)
        if (strcmp(wr_err_code((wr_err)e), code) == 0)
            return e;
    return -1;
}

static void
test_ok_is_zero(void **state)
{
    (void)state;
    assert_int_equal(WR_OK, 0);
    assert_string_equal(wr_err_code(WR_OK), "ok");
    assert_int_equal(wr_err_status(WR_OK), 200);
}

static void
test_codes_unique_and_well_formed(void **state)
{
    (void)state;
    for (int a = 0; a < WR_ERR__COUNT; a++) {
        const char *code = wr_err_code((wr_err)a);
        assert_non_null(code);
        assert_true(strlen(code) > 0);
        for (const char *p = code; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
                fail_msg("code \"%s\" is not snake_case", code);
        for (int b = a + 1; b < WR_ERR__COUNT; b++)
            if (strcmp(code, wr_err_code((wr_err)b)) == 0)
                fail_msg("code \"%s\" appears twice (%d, %d)", code, a, b);
    }
}

static void
test_statuses_in_range(void **state)
{
    (void)state;
    for (int e = 1; e < WR_ERR__COUNT; e++) {
        int s = wr_err_status((wr_err)e);
        if (s < 400 || s > 599)
            fail_msg("%s has status %d", wr_err_code((wr_err)e), s);
    }
}

static void
test_matches_s2_error_model(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(s2_codes) / sizeof(s2_codes[0]); i++) {
        int e = find(s2_codes[i].code);
        if (e < 0)
            fail_msg("S2 code \"%s\" missing from the table", s2_codes[i].code);
        if (wr_err_status((wr_err)e) != s2_codes[i].status)
            fail_msg("%s: status %d, S2 uses %d", s2_codes[i].code, wr_err_status((wr_err)e),
                     s2_codes[i].status);
    }
    /* A few by enum name, so a renamed wire code cannot hide behind a new row. */
    assert_string_equal(wr_err_code(WR_ERR_BAD_JSON), "bad_json");
    assert_string_equal(wr_err_code(WR_ERR_INVALID), "invalid");
    assert_int_equal(wr_err_status(WR_ERR_INVALID), 422);
    assert_string_equal(wr_err_code(WR_ERR_STREAM_NOT_FOUND), "stream_not_found");
    assert_int_equal(wr_err_status(WR_ERR_STREAM_NOT_FOUND), 404);
    assert_string_equal(wr_err_code(WR_ERR_TRANSACTION_CONFLICT), "transaction_conflict");
    assert_int_equal(wr_err_status(WR_ERR_HEADERS_TOO_LARGE), 431);
    assert_int_equal(wr_err_status(WR_ERR_PAYLOAD_TOO_LARGE), 413);
    assert_int_equal(wr_err_status(WR_ERR_METHOD_NOT_ALLOWED), 405);
    assert_int_equal(wr_err_status(WR_ERR_NOT_FOUND), 404);
}

/* The TS SDK retries 408, 429, 500, 502, 503, 504 and 409 transaction_conflict; nothing else. */
static void
test_retryable_matches_sdk(void **state)
{
    (void)state;
    for (int e = 0; e < WR_ERR__COUNT; e++) {
        int s = wr_err_status((wr_err)e);
        bool want = s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504 ||
                    strcmp(wr_err_code((wr_err)e), "transaction_conflict") == 0;
        if (wr_err_retryable((wr_err)e) != want)
            fail_msg("%s: retryable=%d, SDK behaviour implies %d", wr_err_code((wr_err)e),
                     wr_err_retryable((wr_err)e), want);
    }
}

static void
test_no_side_effects_flags(void **state)
{
    (void)state;
    /* Rejections before any work have no side effects; outcomes that may have written do not. */
    assert_true(wr_err_no_side_effects(WR_ERR_BAD_JSON));
    assert_true(wr_err_no_side_effects(WR_ERR_INVALID));
    assert_true(wr_err_no_side_effects(WR_ERR_SEQ_NUM_MISMATCH));
    assert_true(wr_err_no_side_effects(WR_ERR_FENCING_TOKEN_MISMATCH));
    assert_false(wr_err_no_side_effects(WR_ERR_STORAGE));
    assert_false(wr_err_no_side_effects(WR_ERR_REQUEST_TIMEOUT));
    assert_false(wr_err_no_side_effects(WR_ERR_UPSTREAM_TIMEOUT));
    for (int e = 0; e < WR_ERR__COUNT; e++)
        if (wr_err_status((wr_err)e) / 100 == 4 && e != WR_ERR_REQUEST_TIMEOUT &&
            e != WR_ERR_CLIENT_HANGUP && !wr_err_no_side_effects((wr_err)e))
            fail_msg("%s: a plain 4xx rejection should have no side effects",
                     wr_err_code((wr_err)e));
}

static void
test_out_of_range(void **state)
{
    (void)state;
    wr_err bogus[] = {WR_ERR__COUNT, (wr_err)(WR_ERR__COUNT + 7), (wr_err)-1};
    for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
        assert_string_equal(wr_err_code(bogus[i]), "other");
        assert_int_equal(wr_err_status(bogus[i]), 500);
        assert_true(wr_err_retryable(bogus[i]));
    }
}

static void
test_error_set(void **state)
{
    (void)state;
    wr_error e = {0};
    assert_int_equal(wr_error_set(&e, WR_ERR_BAD_PATH, "bad %s %d", "name", 7), WR_ERR_BAD_PATH);
    assert_int_equal(e.code, WR_ERR_BAD_PATH);
    assert_string_equal(e.msg, "bad name 7");
    /* NULL error: only the code comes back. */
    assert_int_equal(wr_error_set(NULL, WR_ERR_INVALID, "x"), WR_ERR_INVALID);
    /* A long message is truncated, never overflowed, and stays terminated. */
    char big[1000];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    wr_error_set(&e, WR_ERR_OTHER, "%s", big);
    assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
}

/* A message cut at the buffer's end never ends in half a UTF-8 character, whatever the
 * alignment: S2 error bodies put it into a JSON string. */
static void
test_error_set_cuts_at_utf8_boundary(void **state)
{
    (void)state;
    static const char *chars[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t c = 0; c < 3; c++)
        for (size_t pad = 0; pad < 4; pad++) {
            char name[1024];
            size_t n = 0;
            for (size_t i = 0; i < pad; i++)
                name[n++] = 'a';
            while (n + 4 < sizeof(name)) {
                memcpy(name + n, chars[c], strlen(chars[c]));
                n += strlen(chars[c]);
            }
            name[n] = '\0';
            wr_error e;
            wr_error_set(&e, WR_ERR_INVALID, "stream `%s` not found", name);
            size_t len = strlen(e.msg);
            assert_true(len > sizeof(e.msg) - 5);
            assert_true(wr_utf8_valid(e.msg, len));
        }
}

WR_TEST_MAIN(cmocka_unit_test(test_ok_is_zero), cmocka_unit_test(test_codes_unique_and_well_formed),
             cmocka_unit_test(test_statuses_in_range),
             cmocka_unit_test(test_matches_s2_error_model),
             cmocka_unit_test(test_retryable_matches_sdk),
             cmocka_unit_test(test_no_side_effects_flags), cmocka_unit_test(test_out_of_range),
             cmocka_unit_test(test_error_set),
             cmocka_unit_test(test_error_set_cuts_at_utf8_boundary))
