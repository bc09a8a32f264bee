/*
 * test_mem.c — allocation never returns NULL (util/mem.h), jansson's included: its allocator
 * is routed through wr_xmalloc before main runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "support/test_main.h"
#include "util/mem.h"

static void
test_jansson_uses_the_aborting_allocator(void **state)
{
    (void)state;
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    json_get_alloc_funcs(&m, &f);
    assert_ptr_equal(m, wr_xmalloc);
    assert_ptr_equal(f, free);
    json_t *o = json_pack("{s:s}", "k", "v"); /* and it still works */
    char *s = json_dumps(o, JSON_COMPACT);
    assert_string_equal(s, "{\"k\":\"v\"}");
    free(s);
    json_decref(o);
}

static void
test_wrappers(void **state)
{
    (void)state;
    void *p = wr_xmalloc(0); /* a zero-byte request still gets a pointer */
    assert_non_null(p);
    free(p);
    char *s = wr_xstrndup("hello", 3);
    assert_string_equal(s, "hel");
    free(s);
    s = wr_xmemdup("ab", 2);
    assert_memory_equal(s, "ab", 2);
    free(s);
}

WR_TEST_MAIN(cmocka_unit_test(test_jansson_uses_the_aborting_allocator),
             cmocka_unit_test(test_wrappers))
