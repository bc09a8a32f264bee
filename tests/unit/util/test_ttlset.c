/*
 * test_ttlset.c — the bounded expiring set (util/ttlset.h): membership, expiry at exactly the
 * TTL, renewal, removal, the oldest dropped when full (renewed members count as new), colliding
 * chains staying correct, and a random workload checked against a plain model.
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
#include "util/ttlset.h"

static void
test_membership_and_expiry(void **state)
{
    (void)state;
    wr_ttlset *s = wr_ttlset_new(10, 1000);
    assert_false(wr_ttlset_has(s, "a", 0));
    wr_ttlset_add(s, "a", 100);
    assert_true(wr_ttlset_has(s, "a", 100));
    assert_true(wr_ttlset_has(s, "a", 1099));
    assert_false(wr_ttlset_has(s, "a", 1100)); /* expired exactly at the TTL, and dropped */
    assert_int_equal(wr_ttlset_len(s), 0);
    wr_ttlset_add(s, "a", 2000);
    wr_ttlset_add(s, "a", 2900); /* renewed */
    assert_true(wr_ttlset_has(s, "a", 3500));
    assert_int_equal(wr_ttlset_len(s), 1);
    wr_ttlset_del(s, "a");
    wr_ttlset_del(s, "missing");
    assert_false(wr_ttlset_has(s, "a", 3500));
    assert_int_equal(wr_ttlset_len(s), 0);
    wr_ttlset_free(s);
    wr_ttlset_free(NULL);
}

static void
test_full_drops_oldest(void **state)
{
    (void)state;
    wr_ttlset *s = wr_ttlset_new(3, 1000000);
    wr_ttlset_add(s, "a", 1);
    wr_ttlset_add(s, "b", 2);
    wr_ttlset_add(s, "c", 3);
    wr_ttlset_add(s, "a", 4); /* renewed: b is now the oldest */
    wr_ttlset_add(s, "d", 5);
    assert_int_equal(wr_ttlset_len(s), 3);
    assert_false(wr_ttlset_has(s, "b", 6));
    assert_true(wr_ttlset_has(s, "a", 6));
    assert_true(wr_ttlset_has(s, "c", 6));
    assert_true(wr_ttlset_has(s, "d", 6));
    wr_ttlset_free(s);

    wr_ttlset *one = wr_ttlset_new(0, 10); /* max 0 means 1 */
    wr_ttlset_add(one, "x", 0);
    wr_ttlset_add(one, "y", 0);
    assert_int_equal(wr_ttlset_len(one), 1);
    assert_true(wr_ttlset_has(one, "y", 0));
    wr_ttlset_free(one);
}

/* A random workload against a model: arrays of (key, expiry, order). 16 buckets at most 64 keys
 * means long chains, so unlinking from the middle of a chain is exercised. */
static void
test_model(void **state)
{
    (void)state;
    enum { KEYS = 64, MAX = 20 };
    uint64_t ttl = 50;
    wr_ttlset *s = wr_ttlset_new(MAX, ttl);
    uint64_t exp[KEYS] = {0}, order[KEYS] = {0};
    bool in[KEYS] = {0};
    uint64_t now = 0, tick = 0;
    srand(7);
    for (int i = 0; i < 200000; i++) {
        now += (uint64_t)(rand() % 3);
        int k = rand() % KEYS, op = rand() % 10;
        char key[16];
        snprintf(key, sizeof(key), "k%d", k);
        if (op < 5) {
            bool want = in[k] && exp[k] > now;
            if (in[k] && !want)
                in[k] = false;
            assert_int_equal(wr_ttlset_has(s, key, now), want);
        } else if (op < 9) {
            if (!in[k]) {
                size_t len = 0;
                for (int j = 0; j < KEYS; j++)
                    len += in[j];
                if (len == MAX) { /* the model drops its oldest too */
                    int old = -1;
                    for (int j = 0; j < KEYS; j++)
                        if (in[j] && (old < 0 || order[j] < order[old]))
                            old = j;
                    in[old] = false;
                }
            }
            in[k] = true;
            exp[k] = now + ttl;
            order[k] = ++tick;
            wr_ttlset_add(s, key, now);
        } else {
            in[k] = false;
            wr_ttlset_del(s, key);
        }
        size_t len = 0;
        for (int j = 0; j < KEYS; j++)
            len += in[j];
        assert_int_equal(wr_ttlset_len(s), len);
    }
    wr_ttlset_free(s);
}

WR_TEST_MAIN(cmocka_unit_test(test_membership_and_expiry), cmocka_unit_test(test_full_drops_oldest),
             cmocka_unit_test(test_model))
