/*
 * sse.c — see sse.h.
 */
#include "http/sse.h"

#include <string.h>

static void
append_field(wr_buf *out, const char *name, const char *value)
{
    wr_buf_append_str(out, name);
    wr_buf_append_str(out, ": ");
    for (const char *p = value; *p; p++)
        if (*p != '\r' && *p != '\n')
            wr_buf_append_byte(out, (unsigned char)*p);
    wr_buf_append_byte(out, '\n');
}

void
wr_sse_event(wr_buf *out, const char *event, const char *id, const char *data, size_t len)
{
    if (event)
        append_field(out, "event", event);
    if (id)
        append_field(out, "id", id);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || data[i] == '\n') {
            size_t end = i;
            if (end > start && data[end - 1] == '\r')
                end--;
            wr_buf_append_str(out, "data: ");
            wr_buf_append(out, data + start, end - start);
            wr_buf_append_byte(out, '\n');
            start = i + 1;
        }
    }
    wr_buf_append_byte(out, '\n');
}

void
wr_sse_comment(wr_buf *out, const char *text)
{
    wr_buf_append_str(out, ": ");
    wr_buf_append_str(out, text);
    wr_buf_append_str(out, "\n\n");
}

void
wr_sse_start(wr_req *req)
{
    wr_resp_header(req, "cache-control", "no-cache, no-transform");
    wr_resp_header(req, "x-accel-buffering", "no");
    wr_resp_start(req, 200, "text/event-stream");
}
