/*
 * test_enc_cache.c — the S2 handlers' per-batch encoding cache (s2/enc_cache.h): slots are
 * independent, a set replaces and frees, out-of-range slots are ignored, and everything is
 * freed with the batch's last reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "s2/enc_cache.h"
#include "util/mem.h"

static int frees;

static void
count_free(void *p)
{
    frees++;
    free(p);
}

static wr_batch *
one_record_batch(void)
{
    wr_append_record r = {.body = (const uint8_t *)"hello", .body_len = 5};
    uint64_t ts = 1;
    return wr_batch_build(1, 0, &r, &ts, 1);
}

static void
test_slots(void **state)
{
    (void)state;
    frees = 0;
    wr_batch *b = one_record_batch();
    wr_batch_ref(b);
    assert_null(wr_s2_enc_get(b, WR_S2_ENC_JSON_RAW));
    wr_s2_enc_set(b, WR_S2_ENC_JSON_RAW, wr_xstrdup("json"), count_free);
    wr_s2_enc_set(b, WR_S2_ENC_LIVE, wr_xstrdup("live"), count_free);
    assert_string_equal(wr_s2_enc_get(b, WR_S2_ENC_JSON_RAW), "json");
    assert_string_equal(wr_s2_enc_get(b, WR_S2_ENC_LIVE), "live");
    assert_null(wr_s2_enc_get(b, WR_S2_ENC_JSON_BASE64));
    assert_null(wr_s2_enc_get(b, WR_S2_ENC_N));
    wr_s2_enc_set(b, WR_S2_ENC_N, NULL, count_free); /* out of range: ignored */
    wr_s2_enc_set(b, WR_S2_ENC_JSON_RAW, wr_xstrdup("json2"), count_free);
    assert_int_equal(frees, 1); /* the replaced entry */
    assert_string_equal(wr_s2_enc_get(b, WR_S2_ENC_JSON_RAW), "json2");
    wr_batch_unref(b);
    assert_int_equal(frees, 1);
    wr_batch_unref(b); /* the last reference frees both remaining entries */
    assert_int_equal(frees, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
