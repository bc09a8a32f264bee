/*
 * buf.c — growable buffer (see buf.h). Capacity doubles, so appends are amortised O(1).
 */
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

void
wr_buf_init(wr_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->borrowed = false;
}

void
wr_buf_init_in(wr_buf *b, char *storage, size_t cap)
{
    b->data = storage;
    b->len = 0;
    b->cap = cap;
    b->borrowed = true;
    storage[0] = '\0';
}

void
wr_buf_fini(wr_buf *b)
{
    if (!b->borrowed)
        free(b->data);
    wr_buf_init(b);
}

void
wr_buf_reset(wr_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void
wr_buf_reserve(wr_buf *b, size_t n)
{
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (b->borrowed) {
        char *heap = wr_xmalloc(cap);
        memcpy(heap, b->data, b->len + 1);
        b->data = heap;
        b->borrowed = false;
    } else {
        b->data = wr_xrealloc(b->data, cap);
    }
    b->cap = cap;
}

void
wr_buf_append(wr_buf *b, const void *p, size_t n)
{
    wr_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
wr_buf_append_str(wr_buf *b, const char *s)
{
    wr_buf_append(b, s, strlen(s));
}

void
wr_buf_append_byte(wr_buf *b, uint8_t c)
{
    wr_buf_append(b, &c, 1);
}

void
wr_buf_append_u64(wr_buf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    wr_buf_append(b, tmp + i, sizeof(tmp) - i);
}

void
wr_buf_vprintf(wr_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof(tmp)) {
        wr_buf_append(b, tmp, (size_t)n);
    } else {
        wr_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void
wr_buf_printf(wr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wr_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void
wr_buf_consume(wr_buf *b, size_t n)
{
    if (n >= b->len) {
        wr_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *
wr_buf_steal(wr_buf *b, size_t *out_len)
{
    if (b->borrowed && b->data) {
        char *heap = wr_xmalloc(b->len + 1);
        memcpy(heap, b->data, b->len + 1);
        b->data = heap;
        b->borrowed = false;
    }
    char *p = b->data;
    if (out_len)
        *out_len = b->len;
    wr_buf_init(b);
    return p;
}

void
wr_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t
wr_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

void
wr_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint32_t
wr_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void
wr_buf_append_be64(wr_buf *b, uint64_t v)
{
    uint8_t t[8];
    wr_put_be64(t, v);
    wr_buf_append(b, t, 8);
}

void
wr_buf_append_be32(wr_buf *b, uint32_t v)
{
    uint8_t t[4];
    wr_put_be32(t, v);
    wr_buf_append(b, t, 4);
}
