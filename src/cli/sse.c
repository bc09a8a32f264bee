/*
 * sse.c — an incremental text/event-stream parser (see cli_int.h for the rules it follows).
 *
 * Input arrives in arbitrary pieces; a line is accumulated until its end is seen, so a CRLF
 * split between two feeds is one line end (last_cr remembers the CR). Memory is bounded: a
 * line or an event's data longer than 16 MiB marks the parser broken, and it ignores the rest.
 */
#include <string.h>

#include "cli/cli_int.h"

#define MAX_LINE (16u << 20)

void
wr_cli_sse_init(wr_cli_sse *s, wr_cli_sse_fn fn, void *ud)
{
    memset(s, 0, sizeof(*s));
    s->fn = fn;
    s->ud = ud;
}

void
wr_cli_sse_fini(wr_cli_sse *s)
{
    wr_buf_fini(&s->line);
    wr_buf_fini(&s->data);
}

static void
dispatch(wr_cli_sse *s)
{
    if (s->data.len == 0) {
        s->event[0] = '\0';
        return;
    }
    s->data.data[--s->data.len] = '\0'; /* the last data line's "\n" */
    s->fn(s->event[0] ? s->event : "message", s->data.data, s->data.len, s->id, s->ud);
    wr_buf_reset(&s->data);
    s->event[0] = '\0';
}

static void
field(wr_cli_sse *s, const char *line, size_t len)
{
    if (len == 0) {
        dispatch(s);
        return;
    }
    if (line[0] == ':')
        return;
    const char *colon = memchr(line, ':', len);
    size_t nlen = colon ? (size_t)(colon - line) : len;
    const char *v = colon ? colon + 1 : line + len;
    size_t vlen = len - nlen - (colon ? 1 : 0);
    if (vlen && *v == ' ')
        v++, vlen--;
    if (nlen == 4 && memcmp(line, "data", 4) == 0) {
        if (s->data.len + vlen + 1 > MAX_LINE) {
            s->broken = true;
            return;
        }
        wr_buf_append(&s->data, v, vlen);
        wr_buf_append_byte(&s->data, '\n');
    } else if (nlen == 5 && memcmp(line, "event", 5) == 0) {
        snprintf(s->event, sizeof(s->event), "%.*s", (int)vlen, v);
    } else if (nlen == 2 && memcmp(line, "id", 2) == 0 && !memchr(v, '\0', vlen)) {
        snprintf(s->id, sizeof(s->id), "%.*s", (int)vlen, v);
    }
    /* retry and unknown fields are ignored */
}

bool
wr_cli_sse_feed(wr_cli_sse *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n && !s->broken; i++) {
        char ch = p[i];
        if (ch == '\n' && s->last_cr) {
            s->last_cr = false; /* the LF of a CRLF */
            continue;
        }
        s->last_cr = ch == '\r';
        if (ch == '\r' || ch == '\n') {
            field(s, s->line.data ? s->line.data : "", s->line.len);
            wr_buf_reset(&s->line);
            continue;
        }
        /* Copy the run of ordinary bytes at once. */
        size_t j = i;
        while (j < n && p[j] != '\r' && p[j] != '\n')
            j++;
        if (s->line.len + (j - i) > MAX_LINE) {
            s->broken = true;
            break;
        }
        wr_buf_append(&s->line, p + i, j - i);
        i = j - 1;
    }
    return !s->broken;
}
