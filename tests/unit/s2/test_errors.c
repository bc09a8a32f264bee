/*
 * test_errors.c — S2 error bodies (s2/common.c): ErrorInfo and the 412 bodies of a failed
 * append are always valid JSON, even when a message or a token is not valid UTF-8 (those used
 * to come out as a NULL json_dumps that was appended or strlen'd).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "s2/s2_int.h"

static json_t *
parse(const wr_buf *b)
{
    json_error_t je;
    json_t *v = json_loadb(b->data, b->len, 0, &je);
    if (v == NULL)
        fail_msg("not JSON: %.*s (%s)", (int)b->len, b->data, je.text);
    return v;
}

static void
test_error_info(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *want;
    } rows[] = {
        {"stream not found", "stream not found"},
        {"", "stream_not_found"},
        {NULL, "stream_not_found"},
        {"name `a\xff\xfe` is bad", "name `a\xef\xbf\xbd\xef\xbf\xbd` is bad"},
        {"quote \" and \\ and \n", "quote \" and \\ and \n"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_buf b;
        wr_buf_init(&b);
        wr_s2_error_json(&b, WR_ERR_STREAM_NOT_FOUND, rows[i].msg);
        json_t *v = parse(&b);
        assert_string_equal(json_string_value(json_object_get(v, "code")), "stream_not_found");
        assert_string_equal(json_string_value(json_object_get(v, "message")), rows[i].want);
        json_decref(v);
        wr_buf_fini(&b);
    }
}

static void
test_append_errors(void **state)
{
    (void)state;
    wr_append_result res;
    wr_buf b;

    memset(&res, 0, sizeof(res));
    res.err = WR_ERR_STORAGE;
    strcpy(res.error.msg, "rocksdb said \xc3"); /* a message cut inside a character */
    wr_buf_init(&b);
    assert_int_equal(wr_s2_append_error_json(&res, &b), wr_err_status(WR_ERR_STORAGE));
    json_t *v = parse(&b);
    assert_string_equal(json_string_value(json_object_get(v, "message")),
                        "rocksdb said \xef\xbf\xbd");
    json_decref(v);
    wr_buf_fini(&b);

    memset(&res, 0, sizeof(res));
    res.err = WR_ERR_FENCING_TOKEN_MISMATCH;
    memcpy(res.actual_token, "tok\xff", 4);
    res.actual_token_len = 4;
    wr_buf_init(&b);
    assert_int_equal(wr_s2_append_error_json(&res, &b), 412);
    v = parse(&b);
    assert_string_equal(json_string_value(json_object_get(v, "fencing_token_mismatch")),
                        "tok\xef\xbf\xbd");
    json_decref(v);
    wr_buf_fini(&b);

    memset(&res, 0, sizeof(res));
    res.err = WR_ERR_SEQ_NUM_MISMATCH;
    res.actual_seq = 18446744073709551615ull;
    wr_buf_init(&b);
    assert_int_equal(wr_s2_append_error_json(&res, &b), 412);
    assert_memory_equal(b.data, "{\"seq_num_mismatch\":18446744073709551615}", b.len);
    wr_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_info),
        cmocka_unit_test(test_append_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
