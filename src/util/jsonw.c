/*
 * jsonw.c — see jsonw.h.
 */
#include "util/jsonw.h"

#include <string.h>

#include "util/clock.h"

/* The escaped form of p[0..len) without quotes: runs of plain bytes are copied whole. */
static void
escaped(wr_buf *b, const unsigned char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        wr_buf_append(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0};
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            wr_buf_append(b, esc, 6);
            continue;
        }
        wr_buf_append(b, esc, 2);
    }
    wr_buf_append(b, s + run, len - run);
}

void
wr_jw_quote(wr_buf *b, const void *p, size_t len)
{
    wr_buf_reserve(b, len + 2);
    wr_buf_append_byte(b, '"');
    escaped(b, p, len);
    wr_buf_append_byte(b, '"');
}

/* A comma unless this is the first member or element of its container. */
static void
sep(wr_buf *b)
{
    char last = b->len ? b->data[b->len - 1] : '\0';
    if (last != '{' && last != '[' && last != ':' && last != '\0')
        wr_buf_append_byte(b, ',');
}

void
wr_jw_open(wr_buf *b, char brace)
{
    sep(b);
    wr_buf_append_byte(b, (uint8_t)brace);
}

void
wr_jw_close(wr_buf *b, char brace)
{
    wr_buf_append_byte(b, (uint8_t)brace);
}

void
wr_jw_key(wr_buf *b, const char *name)
{
    sep(b);
    wr_jw_quote(b, name, strlen(name));
    wr_buf_append_byte(b, ':');
}

void
wr_jw_str(wr_buf *b, const char *name, const char *v)
{
    wr_jw_key(b, name);
    wr_jw_quote(b, v, strlen(v));
}

void
wr_jw_str_or_null(wr_buf *b, const char *name, bool set, const char *v)
{
    if (set)
        wr_jw_str(b, name, v);
    else
        wr_jw_null(b, name);
}

void
wr_jw_int(wr_buf *b, const char *name, int64_t v)
{
    wr_jw_key(b, name);
    if (v < 0) {
        wr_buf_append_byte(b, '-');
        wr_buf_append_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        wr_buf_append_u64(b, (uint64_t)v);
    }
}

void
wr_jw_bool(wr_buf *b, const char *name, bool v)
{
    wr_jw_key(b, name);
    wr_buf_append_str(b, v ? "true" : "false");
}

void
wr_jw_null(wr_buf *b, const char *name)
{
    wr_jw_key(b, name);
    wr_buf_append_str(b, "null");
}

void
wr_jw_raw(wr_buf *b, const char *name, const char *json, const char *absent)
{
    wr_jw_key(b, name);
    wr_buf_append_str(b, json ? json : absent);
}

void
wr_jw_time(wr_buf *b, const char *name, bool set, uint64_t ms)
{
    char ts[40];
    if (!set) {
        wr_jw_null(b, name);
        return;
    }
    wr_clock_format_rfc3339(ms, ts);
    wr_jw_str(b, name, ts);
}

void
wr_jw_elem_str(wr_buf *b, const char *v)
{
    sep(b);
    wr_jw_quote(b, v, strlen(v));
}

void
wr_jw_elem_str2(wr_buf *b, const char *prefix, const char *v)
{
    sep(b);
    size_t pl = strlen(prefix), vl = strlen(v);
    wr_buf_reserve(b, pl + vl + 2);
    wr_buf_append_byte(b, '"');
    escaped(b, (const unsigned char *)prefix, pl);
    escaped(b, (const unsigned char *)v, vl);
    wr_buf_append_byte(b, '"');
}
