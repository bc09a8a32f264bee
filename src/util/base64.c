/*
 * base64.c — see base64.h. Decoding works on whole 4-character quanta; only the final quantum
 * may carry padding, and its leftover bits are checked to be zero.
 */
#include "util/base64.h"

#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for alphabet characters, -1 for everything else (including '='). */
static int
sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

size_t
wr_base64_encoded_len(size_t n)
{
    return (n / 3 + (n % 3 != 0)) * 4;
}

size_t
wr_base64_decoded_max(size_t n)
{
    return n / 4 * 3;
}

size_t
wr_base64_encode_to(const void *p, size_t n, char *dst)
{
    const uint8_t *in = p;
    char *o = dst;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = '=';
    }
    return (size_t)(o - dst);
}

void
wr_base64_encode(const void *p, size_t n, wr_buf *out)
{
    size_t len = wr_base64_encoded_len(n);
    wr_buf_reserve(out, len);
    wr_base64_encode_to(p, n, out->data + out->len);
    out->len += len;
    out->data[out->len] = '\0';
}

bool
wr_base64_decode_to(const char *s, size_t len, uint8_t *dst, size_t *out_len)
{
    if (len % 4 != 0)
        return false;
    const unsigned char *in = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int pad = 0;
        if (last && in[i + 3] == '=')
            pad = in[i + 2] == '=' ? 2 : 1;
        int v[4] = {0, 0, 0, 0};
        for (int k = 0; k < 4 - pad; k++) {
            v[k] = sextet(in[i + (size_t)k]);
            if (v[k] < 0)
                return false;
        }
        uint32_t q = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        /* Canonical form: the bits that padding discards must be zero. */
        if ((pad == 2 && (q & 0xffff) != 0) || (pad == 1 && (q & 0xff) != 0))
            return false;
        dst[o++] = (uint8_t)(q >> 16);
        if (pad < 2)
            dst[o++] = (uint8_t)(q >> 8);
        if (pad < 1)
            dst[o++] = (uint8_t)q;
    }
    *out_len = o;
    return true;
}

bool
wr_base64_decode(const char *s, size_t len, wr_buf *out)
{
    size_t max = wr_base64_decoded_max(len);
    wr_buf_reserve(out, max);
    size_t n;
    if (!wr_base64_decode_to(s, len, (uint8_t *)out->data + out->len, &n)) {
        out->data[out->len] = '\0';
        return false;
    }
    out->len += n;
    out->data[out->len] = '\0';
    return true;
}
