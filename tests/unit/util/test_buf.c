/*
 * test_buf.c — the growable buffer (util/buf.h): termination, growth, printf (short and longer
 * than the internal stack buffer), consume, steal, and the big-endian helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_main.h"
#include "util/buf.h"

static void
test_zeroed_is_empty(void **state)
{
    (void)state;
    wr_buf b = {0};
    assert_int_equal(b.len, 0);
    wr_buf_reset(&b); /* fine with no storage */
    wr_buf_fini(&b);
    wr_buf_init(&b);
    assert_null(b.data);
    wr_buf_fini(&b);
}

static void
test_append_and_terminate(void **state)
{
    (void)state;
    wr_buf b;
    wr_buf_init(&b);
    wr_buf_append_str(&b, "abc");
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    wr_buf_append(&b, "\0x", 2);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "abc\0x", 5);
    assert_int_equal(b.data[5], '\0');
    wr_buf_append_byte(&b, 0xff);
    assert_int_equal((uint8_t)b.data[5], 0xff);
    assert_int_equal(b.data[6], '\0');
    wr_buf_append(&b, NULL, 0);
    assert_int_equal(b.len, 6);
    wr_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    wr_buf_fini(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void
test_growth_keeps_contents(void **state)
{
    (void)state;
    wr_buf b = {0};
    for (int i = 0; i < 100000; i++)
        wr_buf_append_byte(&b, (uint8_t)(i % 251));
    assert_int_equal(b.len, 100000);
    assert_true(b.cap > b.len);
    for (int i = 0; i < 100000; i++)
        if ((uint8_t)b.data[i] != (uint8_t)(i % 251))
            fail_msg("byte %d", i);
    size_t cap = b.cap;
    wr_buf_reserve(&b, cap - b.len - 1); /* already fits: no change */
    assert_int_equal(b.cap, cap);
    wr_buf_reserve(&b, cap);
    assert_true(b.cap >= b.len + cap + 1);
    wr_buf_fini(&b);
}

static void
test_printf(void **state)
{
    (void)state;
    wr_buf b = {0};
    wr_buf_printf(&b, "%s=%d", "n", -5);
    assert_string_equal(b.data, "n=-5");
    char big[1000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    wr_buf_printf(&b, "[%s]", big); /* longer than the 256-byte fast path */
    assert_int_equal(b.len, 4 + 1001);
    assert_int_equal(b.data[4], '[');
    assert_int_equal(b.data[4 + 1000], ']');
    assert_int_equal(b.data[b.len], '\0');
    wr_buf_printf(&b, "%s", "");
    assert_int_equal(b.len, 1005);
    wr_buf_fini(&b);
}

static void
test_append_u64(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        const char *want;
    } rows[] = {
        {0, "0"},
        {7, "7"},
        {10, "10"},
        {200, "200"},
        {4294967296ull, "4294967296"},
        {UINT64_MAX, "18446744073709551615"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_buf b;
        wr_buf_init(&b);
        wr_buf_append_str(&b, "x=");
        wr_buf_append_u64(&b, rows[i].v);
        char want[32];
        snprintf(want, sizeof(want), "x=%s", rows[i].want);
        assert_string_equal(b.data, want);
        assert_int_equal(b.len, strlen(want));
        wr_buf_fini(&b);
    }
}

static void
test_consume(void **state)
{
    (void)state;
    wr_buf b = {0};
    wr_buf_append_str(&b, "hello world");
    wr_buf_consume(&b, 6);
    assert_string_equal(b.data, "world");
    assert_int_equal(b.len, 5);
    wr_buf_consume(&b, 0);
    assert_string_equal(b.data, "world");
    wr_buf_consume(&b, 5);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    wr_buf_append_str(&b, "ab");
    wr_buf_consume(&b, 99); /* more than len empties it */
    assert_int_equal(b.len, 0);
    wr_buf_fini(&b);
}

static void
test_steal(void **state)
{
    (void)state;
    wr_buf b = {0};
    wr_buf_append_str(&b, "mine");
    size_t n = 0;
    char *p = wr_buf_steal(&b, &n);
    assert_int_equal(n, 4);
    assert_string_equal(p, "mine");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(p);
    wr_buf_append_str(&b, "again");
    p = wr_buf_steal(&b, NULL);
    assert_string_equal(p, "again");
    free(p);
}

/* A buffer in the caller's storage stays there while it fits, then moves to the heap whole. */
static void
test_borrowed_storage(void **state)
{
    (void)state;
    char mem[8];
    memset(mem, 'x', sizeof(mem));
    wr_buf b;
    wr_buf_init_in(&b, mem, sizeof(mem));
    assert_ptr_equal(b.data, mem);
    assert_string_equal(b.data, "");
    wr_buf_append_str(&b, "1234567"); /* 7 bytes and the NUL: exactly full */
    assert_ptr_equal(b.data, mem);
    assert_string_equal(mem, "1234567");
    wr_buf_append_byte(&b, '8'); /* one more moves it */
    assert_ptr_not_equal(b.data, mem);
    assert_false(b.borrowed);
    assert_string_equal(b.data, "12345678");
    assert_memory_equal(mem, "1234567", 8); /* the storage is left as it was */
    wr_buf_fini(&b);                        /* frees the heap copy (ASan: no leak) */

    /* fini of a buffer still in its storage frees nothing; steal hands out a heap copy. */
    wr_buf_init_in(&b, mem, sizeof(mem));
    wr_buf_append_str(&b, "ab");
    wr_buf_fini(&b);
    assert_null(b.data);
    wr_buf_init_in(&b, mem, sizeof(mem));
    wr_buf_append_str(&b, "mine");
    size_t n = 0;
    char *p = wr_buf_steal(&b, &n);
    assert_ptr_not_equal(p, mem);
    assert_int_equal(n, 4);
    assert_string_equal(p, "mine");
    free(p);
    /* consume and reset work in place. */
    wr_buf_init_in(&b, mem, sizeof(mem));
    wr_buf_append_str(&b, "abcdef");
    wr_buf_consume(&b, 2);
    assert_string_equal(b.data, "cdef");
    wr_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, mem);
    wr_buf_fini(&b);
}

static void
test_big_endian(void **state)
{
    (void)state;
    uint8_t t[8];
    wr_put_be64(t, 0x0102030405060708ull);
    assert_memory_equal(t, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    assert_true(wr_get_be64(t) == 0x0102030405060708ull);
    wr_put_be64(t, UINT64_MAX);
    assert_true(wr_get_be64(t) == UINT64_MAX);
    wr_put_be32(t, 0xdeadbeef);
    assert_memory_equal(t, "\xde\xad\xbe\xef", 4);
    assert_int_equal(wr_get_be32(t), 0xdeadbeef);
    /* Big-endian keys sort bytewise in numeric order. */
    uint8_t a[8], c[8];
    wr_put_be64(a, 255);
    wr_put_be64(c, 256);
    assert_true(memcmp(a, c, 8) < 0);

    wr_buf b = {0};
    wr_buf_append_be64(&b, 1);
    wr_buf_append_be32(&b, 2);
    assert_int_equal(b.len, 12);
    assert_memory_equal(b.data, "\0\0\0\0\0\0\0\x01\0\0\0\x02", 12);
    wr_buf_fini(&b);
}

WR_TEST_MAIN(cmocka_unit_test(test_zeroed_is_empty), cmocka_unit_test(test_append_and_terminate),
             cmocka_unit_test(test_growth_keeps_contents), cmocka_unit_test(test_printf),
             cmocka_unit_test(test_append_u64), cmocka_unit_test(test_consume),
             cmocka_unit_test(test_steal), cmocka_unit_test(test_borrowed_storage),
             cmocka_unit_test(test_big_endian))
