/*
 * test_ids.c — the realtime layer's ids and API keys (wr_rt_new_id, wr_rt_new_sorted_id,
 * wr_rt_new_api_key, rt.c), whose random characters come from a per-thread pool that OpenSSL's
 * generator refills 256 bytes at a time:
 *   - ids have the asked length, the prefix, and only [a-z0-9] after it; API keys are
 *     "sk_" + 40 characters of [A-Za-z0-9] and come with their SHA-256;
 *   - 20,000 ids made across hundreds of refills of the pool are all distinct, and so are ids
 *     made on four threads at once (each thread its own pool: no bytes handed out twice);
 *   - every id character occurs (the draw is not stuck on part of the alphabet);
 *   - sorted ids made later sort after earlier ones.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "realtime/rt_int.h"
#include "support/test_main.h"
#include "util/clock.h"

#define N_IDS 20000
#define ID_LEN 25
#define N_THREADS 4
#define PER_THREAD 5000

static int
cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void
assert_all_distinct(char (*ids)[ID_LEN + 1], size_t n)
{
    qsort(ids, n, sizeof(*ids), cmp_id);
    for (size_t i = 1; i < n; i++)
        assert_int_not_equal(strcmp(ids[i - 1], ids[i]), 0);
}

static void
test_ids_shape_and_distinct(void **state)
{
    (void)state;
    char(*ids)[ID_LEN + 1] = calloc(N_IDS, sizeof(*ids));
    bool seen[256] = {false};
    for (size_t i = 0; i < N_IDS; i++) {
        wr_rt_new_id("c", ID_LEN, ids[i]);
        assert_int_equal(strlen(ids[i]), ID_LEN);
        assert_int_equal(ids[i][0], 'c');
        for (size_t k = 1; k < ID_LEN; k++) {
            char c = ids[i][k];
            assert_true((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
            seen[(unsigned char)c] = true;
        }
    }
    for (const char *c = "abcdefghijklmnopqrstuvwxyz0123456789"; *c; c++)
        assert_true(seen[(unsigned char)*c]);
    assert_all_distinct(ids, N_IDS);
    free(ids);
}

static void *
make_ids(void *arg)
{
    char(*ids)[ID_LEN + 1] = arg;
    for (size_t i = 0; i < PER_THREAD; i++)
        wr_rt_new_id("t", ID_LEN, ids[i]);
    return NULL;
}

static void
test_ids_distinct_across_threads(void **state)
{
    (void)state;
    char(*ids)[ID_LEN + 1] = calloc(N_THREADS * PER_THREAD, sizeof(*ids));
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, make_ids, ids + i * PER_THREAD), 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);
    assert_all_distinct(ids, N_THREADS * PER_THREAD);
    free(ids);
}

static void
test_sorted_ids_and_keys(void **state)
{
    (void)state;
    char a[ID_LEN + 1], b[ID_LEN + 1];
    wr_clock_set_fake(1700000000000ull);
    wr_rt_new_sorted_id("s", ID_LEN, a);
    wr_clock_advance_ms(1);
    wr_rt_new_sorted_id("s", ID_LEN, b);
    wr_clock_set_real();
    assert_int_equal(strlen(a), ID_LEN);
    assert_true(strcmp(a, b) < 0);

    uint8_t hash[32], want[32];
    char *key = wr_rt_new_api_key(hash);
    assert_int_equal(strlen(key), 43);
    assert_memory_equal(key, "sk_", 3);
    for (const char *p = key + 3; *p; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9'));
    unsigned int n = 32;
    assert_int_equal(EVP_Digest(key, strlen(key), want, &n, EVP_sha256(), NULL), 1);
    assert_memory_equal(hash, want, 32);
    free(key);
}

WR_TEST_MAIN(cmocka_unit_test(test_ids_shape_and_distinct),
             cmocka_unit_test(test_ids_distinct_across_threads),
             cmocka_unit_test(test_sorted_ids_and_keys))
