/*
 * test_arena.c — the per-request bump arena (util/arena.h): alignment, chunk growth, dedicated
 * chunks for big allocations, reset reuse, and the copying helpers. ASan catches any write past
 * a chunk, so the tests fill every allocation completely.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_main.h"
#include "util/arena.h"

static size_t
n_chunks(const wr_arena *a)
{
    return wr_arena_n_chunks(a);
}

static void
test_alignment_and_distinct(void **state)
{
    (void)state;
    wr_arena a;
    wr_arena_init(&a, 0);
    char *prev = NULL;
    for (size_t n = 1; n < 200; n++) {
        char *p = wr_arena_alloc(&a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        memset(p, (int)n, n);
        if (prev)
            assert_true(prev[0] == (char)(n - 1)); /* the earlier one was not overwritten */
        prev = p;
    }
    assert_int_equal(wr_arena_used(&a), 199 * 200 / 2);
    wr_arena_fini(&a);
}

static void
test_zero_size(void **state)
{
    (void)state;
    wr_arena a;
    wr_arena_init(&a, 64);
    assert_non_null(wr_arena_alloc(&a, 0));
    char *s = wr_arena_strndup(&a, "x", 0);
    assert_string_equal(s, "");
    assert_non_null(wr_arena_memdup(&a, "", 0));
    wr_arena_fini(&a);
}

static void
test_chunks_grow_and_big_gets_own_chunk(void **state)
{
    (void)state;
    wr_arena a;
    wr_arena_init(&a, 256);
    assert_int_equal(n_chunks(&a), 0); /* lazy */
    char *small = wr_arena_alloc(&a, 16);
    memset(small, 's', 16);
    assert_int_equal(n_chunks(&a), 1);
    void *cur = a.cur;

    /* Bigger than a quarter of the next chunk: its own chunk; the current one stays current. */
    char *big = wr_arena_alloc(&a, 100000);
    memset(big, 'b', 100000);
    assert_int_equal(n_chunks(&a), 2);
    assert_ptr_equal(a.cur, cur);
    char *small2 = wr_arena_alloc(&a, 16);
    assert_true(small2 > small && small2 < small + 256); /* same chunk, right after */

    /* Fill past the first chunk: a new current chunk, twice the size. */
    size_t before = n_chunks(&a);
    for (int i = 0; i < 40; i++)
        memset(wr_arena_alloc(&a, 32), 'f', 32);
    assert_true(n_chunks(&a) > before);
    assert_ptr_not_equal(a.cur, cur);
    assert_true(a.next_cap > 512);
    assert_true(a.next_cap <= WR_ARENA_MAX_CHUNK);
    /* Earlier allocations are untouched. */
    for (int i = 0; i < 16; i++)
        assert_int_equal(small[i], 's');
    assert_int_equal(big[99999], 'b');
    wr_arena_fini(&a);
    assert_int_equal(n_chunks(&a), 0);
}

static void
test_growth_is_capped(void **state)
{
    (void)state;
    wr_arena a;
    wr_arena_init(&a, 0);
    for (int i = 0; i < 20000; i++)
        memset(wr_arena_alloc(&a, 1000), 0, 1000);
    assert_int_equal(a.next_cap, WR_ARENA_MAX_CHUNK);
    wr_arena_fini(&a);
}

static void
test_reset_keeps_largest_chunk(void **state)
{
    (void)state;
    wr_arena a;
    wr_arena_init(&a, 128);
    /* Chunks of 128, 256, 512, 1024 payload bytes, plus one dedicated chunk. */
    for (int i = 0; i < 60; i++)
        memset(wr_arena_alloc(&a, 32), 1, 32);
    memset(wr_arena_alloc(&a, 50000), 2, 50000);
    assert_int_equal(n_chunks(&a), 5);
    wr_arena_reset(&a);
    assert_int_equal(n_chunks(&a), 1);
    assert_int_equal(wr_arena_used(&a), 0);
    /*
     * The kept chunk is the 1024-byte one, reused from its start: 900 bytes of small
     * allocations fit without a new chunk (they would not fit the 128-byte first chunk).
     */
    for (int i = 0; i < 30; i++)
        memset(wr_arena_alloc(&a, 30), 3, 30);
    assert_int_equal(n_chunks(&a), 1);
    /* Resetting an arena that only ever had a dedicated chunk leaves it empty. */
    wr_arena b;
    wr_arena_init(&b, 64);
    memset(wr_arena_alloc(&b, 4096), 0, 4096);
    assert_int_equal(n_chunks(&b), 1);
    wr_arena_reset(&b);
    assert_int_equal(n_chunks(&b), 0);
    memset(wr_arena_alloc(&b, 8), 0, 8);
    wr_arena_fini(&b);
    wr_arena_fini(&a);
    /* fini then init again is fine; so is reset/fini on an empty arena. */
    wr_arena_init(&a, 0);
    wr_arena_reset(&a);
    wr_arena_fini(&a);
    wr_arena_fini(&a);
}

static void
test_copies(void **state)
{
    (void)state;
    wr_arena a;
    wr_arena_init(&a, 32);
    const char *src = "stream/with/slashes";
    char *s = wr_arena_strdup(&a, src);
    assert_ptr_not_equal(s, src);
    assert_string_equal(s, src);
    char *t = wr_arena_strndup(&a, "abcdef", 3);
    assert_string_equal(t, "abc");
    uint8_t bytes[5] = {0, 1, 2, 0, 255};
    uint8_t *m = wr_arena_memdup(&a, bytes, 5);
    assert_memory_equal(m, bytes, 5);
    uint32_t *z = wr_arena_calloc(&a, 100, sizeof(uint32_t));
    for (int i = 0; i < 100; i++)
        assert_int_equal(z[i], 0);
    char *f = wr_arena_printf(&a, "%s=%d", "n", 42);
    assert_string_equal(f, "n=42");
    char long_s[1000];
    memset(long_s, 'x', sizeof(long_s) - 1);
    long_s[999] = '\0';
    char *g = wr_arena_printf(&a, "[%s]", long_s);
    assert_int_equal(strlen(g), 1001);
    assert_int_equal(g[0], '[');
    assert_int_equal(g[1000], ']');
    /* Everything is still intact after more allocations. */
    assert_string_equal(s, src);
    assert_string_equal(t, "abc");
    assert_string_equal(f, "n=42");
    wr_arena_fini(&a);
}

/* wr_arena_reset_first keeps an arena that stayed on its first chunk, and only such a one. */
static void
test_reset_first(void **state)
{
    (void)state;
    wr_arena a;
    wr_arena_init(&a, 256);
    assert_true(wr_arena_reset_first(&a)); /* nothing allocated: nothing to keep */
    assert_int_equal(n_chunks(&a), 0);
    char *p = wr_arena_alloc(&a, 40); /* a quarter of the chunk or less: not dedicated */
    memset(p, 1, 40);
    assert_true(wr_arena_reset_first(&a));
    assert_int_equal(n_chunks(&a), 1);
    assert_int_equal(wr_arena_used(&a), 0);
    char *q = wr_arena_alloc(&a, 40); /* the same memory again, from its start */
    assert_ptr_equal(q, p);
    memset(q, 2, 40);
    /* Past the first chunk (a second chunk, or a dedicated one) it is not kept. */
    for (int i = 0; i < 4; i++)
        memset(wr_arena_alloc(&a, 60), 3, 60);
    assert_int_equal(n_chunks(&a), 2);
    assert_false(wr_arena_reset_first(&a));
    assert_int_equal(n_chunks(&a), 2); /* unchanged */
    wr_arena_fini(&a);
    wr_arena_init(&a, 256);
    memset(wr_arena_alloc(&a, 1000), 4, 1000); /* a dedicated chunk */
    assert_false(wr_arena_reset_first(&a));
    wr_arena_fini(&a);
    /* After a kept reset the arena grows as a fresh one would: 256, then 512. */
    wr_arena_init(&a, 256);
    memset(wr_arena_alloc(&a, 16), 5, 16);
    assert_true(wr_arena_reset_first(&a));
    for (int i = 0; i < 20; i++)
        memset(wr_arena_alloc(&a, 32), 6, 32); /* 640 bytes: 256 + 512 */
    assert_int_equal(n_chunks(&a), 2);
    wr_arena_fini(&a);
}

WR_TEST_MAIN(cmocka_unit_test(test_alignment_and_distinct), cmocka_unit_test(test_zero_size),
             cmocka_unit_test(test_chunks_grow_and_big_gets_own_chunk),
             cmocka_unit_test(test_growth_is_capped),
             cmocka_unit_test(test_reset_keeps_largest_chunk), cmocka_unit_test(test_reset_first),
             cmocka_unit_test(test_copies))
