/*
 * test_sse.c — SSE event framing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "http/sse.h"

static void
test_events(void **state)
{
    (void)state;
    struct {
        const char *event, *id, *data, *want;
    } rows[] = {
        {"batch", "1,2,39", "{\"records\":[]}",
         "event: batch\nid: 1,2,39\ndata: {\"records\":[]}\n\n"},
        {NULL, NULL, "[DONE]", "data: [DONE]\n\n"},
        {"ping", NULL, "a\nb", "event: ping\ndata: a\ndata: b\n\n"},
        {"x\r\ny", NULL, "c\r\nd", "event: xy\ndata: c\ndata: d\n\n"},
        {"e", NULL, "", "event: e\ndata: \n\n"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_buf b;
        wr_buf_init(&b);
        wr_sse_event(&b, rows[i].event, rows[i].id, rows[i].data, strlen(rows[i].data));
        assert_string_equal(b.data, rows[i].want);
        wr_buf_fini(&b);
    }
    wr_buf b;
    wr_buf_init(&b);
    wr_sse_comment(&b, "keep-alive");
    assert_string_equal(b.data, ": keep-alive\n\n");
    wr_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_events)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
