/*
 * test_sse.c — the CLI's text/event-stream parser (cli/sse.c): the same stream gives the same
 * events however it is cut into pieces (byte by byte, CRLF split across feeds), plus the
 * field rules and the line bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli_int.h"
#include "support/test_main.h"

/* Events are recorded as "event|id|data\n". */
static void
record(const char *event, const char *data, size_t len, const char *id, void *ud)
{
    wr_buf *b = ud;
    wr_buf_printf(b, "%s|%s|", event, id);
    wr_buf_append(b, data, len);
    wr_buf_append_byte(b, '\n');
}

static const char stream[] = ": comment\r\n"
                             "event: batch\r\n"
                             "id: 1,2,39\r\n"
                             "data: {\"records\":[]}\r\n"
                             "\r\n"
                             "event:ping\n"
                             "data:{\"tail\":{\"seq_num\":2}}\n"
                             "\n"
                             "data: line one\r"
                             "data:  two spaces\r"
                             "retry: 100\r"
                             "unknown: x\r"
                             "\r"
                             "event: empty-no-data\n"
                             "\n"
                             "data\n"
                             "\n"
                             "data: [DONE]\n"
                             "\n";

static const char want[] = "batch|1,2,39|{\"records\":[]}\n"
                           "ping|1,2,39|{\"tail\":{\"seq_num\":2}}\n"
                           "message|1,2,39|line one\n two spaces\n"
                           "message|1,2,39|\n"
                           "message|1,2,39|[DONE]\n";

static void
feed_in_pieces(size_t piece)
{
    wr_buf got = {0};
    wr_cli_sse s;
    wr_cli_sse_init(&s, record, &got);
    size_t n = strlen(stream);
    for (size_t i = 0; i < n; i += piece)
        assert_true(wr_cli_sse_feed(&s, stream + i, i + piece > n ? n - i : piece));
    if (strcmp(got.data ? got.data : "", want) != 0)
        fail_msg("piece %zu:\n%s", piece, got.data ? got.data : "");
    wr_cli_sse_fini(&s);
    wr_buf_fini(&got);
}

static void
test_any_split(void **state)
{
    (void)state;
    for (size_t piece = 1; piece <= strlen(stream); piece++)
        feed_in_pieces(piece);
}

static void
test_incomplete_event_not_dispatched(void **state)
{
    (void)state;
    wr_buf got = {0};
    wr_cli_sse s;
    wr_cli_sse_init(&s, record, &got);
    const char *p = "event: batch\ndata: x\n"; /* no blank line yet */
    assert_true(wr_cli_sse_feed(&s, p, strlen(p)));
    assert_int_equal(got.len, 0);
    assert_true(wr_cli_sse_feed(&s, "\n", 1));
    assert_string_equal(got.data, "batch||x\n");
    wr_cli_sse_fini(&s);
    wr_buf_fini(&got);
}

static void
test_long_line_stops(void **state)
{
    (void)state;
    wr_buf got = {0};
    wr_cli_sse s;
    wr_cli_sse_init(&s, record, &got);
    size_t n = 1u << 20;
    char *chunk = malloc(n);
    memset(chunk, 'a', n);
    bool ok = true;
    for (int i = 0; i < 17 && ok; i++)
        ok = wr_cli_sse_feed(&s, chunk, n);
    assert_false(ok);
    assert_false(wr_cli_sse_feed(&s, "\n\n", 2)); /* stays stopped */
    assert_int_equal(got.len, 0);
    free(chunk);
    wr_cli_sse_fini(&s);
    wr_buf_fini(&got);
}

WR_TEST_MAIN(cmocka_unit_test(test_any_split),
             cmocka_unit_test(test_incomplete_event_not_dispatched),
             cmocka_unit_test(test_long_line_stops))
