/*
 * test_sha256.c — wr_sha256 (util/sha256.h): the FIPS 180-2 test vectors ("", "abc", the
 * 448-bit message, a million 'a's), and the same digests from four threads at once (the
 * fetched implementation is shared).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>

#include "support/test_main.h"
#include "util/hex.h"
#include "util/sha256.h"

static const struct {
    const char *msg;
    const char *hex;
} vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};

static void
check(const void *p, size_t n, const char *want_hex)
{
    uint8_t got[32];
    char hex[65];
    wr_sha256(p, n, got);
    wr_hex_encode(got, 32, hex);
    assert_string_equal(hex, want_hex);
}

static void
test_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
        check(vectors[i].msg, strlen(vectors[i].msg), vectors[i].hex);
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    check(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* cmocka's asserts are for the test's own thread: the threads count mismatches instead. */
static void *
hash_many(void *arg)
{
    size_t *bad = arg;
    uint8_t want[32], got[32];
    wr_hex_decode(vectors[1].hex, want, 32);
    for (int i = 0; i < 2000; i++) {
        wr_sha256("abc", 3, got);
        *bad += memcmp(got, want, 32) != 0;
    }
    return NULL;
}

static void
test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    size_t bad[4] = {0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hash_many, &bad[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(bad[i], 0);
    }
}

/* HMAC-SHA256 of a ‖ b equals OpenSSL's HMAC() of the joined message, for keys shorter than, as
 * long as and longer than the 64-byte block, and with b empty or not. */
static void
test_hmac(void **state)
{
    (void)state;
    uint8_t key[130], msg[200];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 13 + 5);
    static const size_t klens[] = {0, 1, 32, 63, 64, 65, 129};
    static const size_t splits[][2] = {{0, 0}, {10, 0}, {10, 30}, {0, 200}, {150, 50}};
    for (size_t i = 0; i < sizeof(klens) / sizeof(klens[0]); i++)
        for (size_t j = 0; j < sizeof(splits) / sizeof(splits[0]); j++) {
            size_t a = splits[j][0], b = splits[j][1];
            uint8_t got[32], want[32];
            unsigned int n = sizeof(want);
            wr_hmac_sha256(key, klens[i], msg, a, msg + a, b, got);
            assert_non_null(HMAC(EVP_sha256(), key, (int)klens[i], msg, a + b, want, &n));
            assert_memory_equal(got, want, 32);
        }
}

WR_TEST_MAIN(cmocka_unit_test(test_vectors), cmocka_unit_test(test_threads),
             cmocka_unit_test(test_hmac))
