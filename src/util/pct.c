/*
 * pct.c — see pct.h.
 */
#include "util/pct.h"

#include <stdint.h>

#include "util/hex.h"

bool
wr_pct_decode_to(const char *s, size_t len, wr_pct_mode mode, char *dst, size_t *out_len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (len - i < 3)
                return false;
            int hi = wr_hex_digit(s[i + 1]);
            int lo = wr_hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            dst[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && mode == WR_PCT_QUERY) {
            dst[o++] = ' ';
        } else {
            dst[o++] = (char)c;
        }
    }
    dst[o] = '\0';
    *out_len = o;
    return true;
}

bool
wr_pct_decode(const char *s, size_t len, wr_pct_mode mode, wr_buf *out)
{
    wr_buf_reserve(out, len);
    size_t n;
    if (!wr_pct_decode_to(s, len, mode, out->data + out->len, &n)) {
        out->data[out->len] = '\0';
        return false;
    }
    out->len += n;
    return true;
}

static bool
unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void
wr_pct_encode(const void *p, size_t len, wr_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const uint8_t *in = p;
    wr_buf_reserve(out, len);
    out->data[out->len] = '\0'; /* stays terminated even when len == 0 */
    for (size_t i = 0; i < len; i++) {
        if (unreserved(in[i])) {
            wr_buf_append_byte(out, in[i]);
        } else {
            char t[3] = {'%', hex[in[i] >> 4], hex[in[i] & 15]};
            wr_buf_append(out, t, 3);
        }
    }
}
