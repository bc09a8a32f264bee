/*
 * test_keybox.c — sealed secrets (auth/keybox.h): round trip; what must not open (another
 * context, another KEK, any flipped bit, a short blob); the KEK file is created once with mode
 * 0600 and reused; WEIR_SECRET_KEY forms accepted and refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

#include "auth/keybox.h"
#include "support/fs_support.h"
#include "support/test_main.h"

#define HEX_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX_B "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static const char key[] = "sk_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn";

static wr_keybox *
open_kek(const char *text)
{
    wr_keybox *kb = NULL;
    wr_error err = {0};
    if (wr_keybox_open("/nonexistent", text, &kb, &err) != WR_OK)
        fail_msg("open: %s", err.msg);
    return kb;
}

static void
test_round_trip_and_refusals(void **state)
{
    (void)state;
    wr_keybox *a = open_kek(HEX_A), *b = open_kek(HEX_B);
    uint8_t sealed[128];
    size_t n = 0;
    assert_int_equal(wr_keybox_seal(a, "env-1", key, strlen(key), sealed, sizeof(sealed), &n, NULL),
                     WR_OK);
    assert_int_equal(n, strlen(key) + WR_KEYBOX_OVERHEAD);
    assert_null(memmem(sealed, n, key, strlen(key))); /* never in the clear */
    char out[64];
    size_t len = 0;
    assert_int_equal(wr_keybox_open_secret(a, "env-1", sealed, n, out, sizeof(out), &len, NULL),
                     WR_OK);
    assert_int_equal(len, strlen(key));
    assert_string_equal(out, key);
    /* Two seals of one secret differ (random nonce). */
    uint8_t again[128];
    size_t n2 = 0;
    wr_keybox_seal(a, "env-1", key, strlen(key), again, sizeof(again), &n2, NULL);
    assert_memory_not_equal(sealed, again, n);

    wr_error err = {0};
    assert_int_equal(wr_keybox_open_secret(a, "env-2", sealed, n, out, sizeof(out), &len, &err),
                     WR_ERR_AUTHN);
    assert_int_equal(wr_keybox_open_secret(b, "env-1", sealed, n, out, sizeof(out), &len, &err),
                     WR_ERR_AUTHN);
    for (size_t i = 0; i < n; i++) {
        sealed[i] ^= 0x01;
        if (wr_keybox_open_secret(a, "env-1", sealed, n, out, sizeof(out), &len, NULL) == WR_OK)
            fail_msg("opened with byte %zu flipped", i);
        sealed[i] ^= 0x01;
    }
    assert_int_equal(wr_keybox_open_secret(a, "env-1", sealed, WR_KEYBOX_OVERHEAD - 1, out,
                                           sizeof(out), &len, NULL),
                     WR_ERR_INVALID);
    assert_int_equal(wr_keybox_open_secret(a, "env-1", sealed, n, out, 8, &len, NULL),
                     WR_ERR_INVALID);
    assert_int_equal(wr_keybox_seal(a, "env-1", key, strlen(key), sealed, 10, &n, NULL),
                     WR_ERR_INVALID);
    wr_keybox_free(a);
    wr_keybox_free(b);
}

static void
test_kek_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        bool ok;
    } rows[] = {
        {HEX_A, true},
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", true}, /* base64 of the same bytes */
        {"000102", false},
        {HEX_A "00", false},
        {"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", false},
        /* sscanf("%2x") took a sign or a space as part of a hex byte */
        {"-f0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", false},
        {" f0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", false},
        {"+f0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", false},
        {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", false}, /* 30 bytes */
        {"", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_keybox *kb = NULL;
        wr_err e = wr_keybox_open("/nonexistent", rows[i].text, &kb, NULL);
        if ((e == WR_OK) != rows[i].ok)
            fail_msg("row %zu (%s)", i, rows[i].text);
        if (e == WR_OK && i == 1) {
            /* hex and base64 name the same key: what one seals the other opens */
            wr_keybox *hex = open_kek(HEX_A);
            uint8_t s[128];
            size_t n;
            char out[64];
            size_t len;
            wr_keybox_seal(hex, "c", key, strlen(key), s, sizeof(s), &n, NULL);
            assert_int_equal(wr_keybox_open_secret(kb, "c", s, n, out, sizeof(out), &len, NULL),
                             WR_OK);
            wr_keybox_free(hex);
        }
        wr_keybox_free(kb);
    }
}

static void
test_kek_file(void **state)
{
    (void)state;
    char dir[64];
    ts_mkdtemp("keybox", dir, sizeof(dir));
    wr_keybox *first = NULL, *second = NULL;
    assert_int_equal(wr_keybox_open(dir, NULL, &first, NULL), WR_OK);
    char path[256];
    snprintf(path, sizeof(path), "%s/secret_key", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* Reopening reads the same key: what the first sealed the second opens. */
    assert_int_equal(wr_keybox_open(dir, NULL, &second, NULL), WR_OK);
    uint8_t s[128];
    size_t n, len;
    char out[64];
    wr_keybox_seal(first, "e", key, strlen(key), s, sizeof(s), &n, NULL);
    assert_int_equal(wr_keybox_open_secret(second, "e", s, n, out, sizeof(out), &len, NULL), WR_OK);
    wr_keybox_free(first);
    wr_keybox_free(second);
    /* A damaged file is refused, not replaced. */
    FILE *f = fopen(path, "w");
    fputs("not hex\n", f);
    fclose(f);
    wr_error err = {0};
    assert_int_equal(wr_keybox_open(dir, NULL, &first, &err), WR_ERR_STORAGE);
    ts_rm_rf(dir);
}

WR_TEST_MAIN(cmocka_unit_test(test_round_trip_and_refusals), cmocka_unit_test(test_kek_forms),
             cmocka_unit_test(test_kek_file))
