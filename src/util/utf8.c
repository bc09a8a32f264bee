/*
 * utf8.c — see utf8.h.
 *
 * seq_len() is the one decoder both functions share: it reports how long the well-formed
 * sequence at a position is, or, when ill-formed, how many bytes form the maximal subpart to
 * replace. The allowed range of the second byte depends on the lead byte (Unicode Table 3-7);
 * that single check rules out overlongs, surrogates and code points above U+10FFFF.
 */
#include "util/utf8.h"

#include <stdint.h>

/*
 * Examines the sequence starting at s[0] (n >= 1 bytes available). Returns its length and sets
 * *ok when well-formed; otherwise sets *ok = false and returns the length (>= 1) of the maximal
 * subpart to replace with a single U+FFFD.
 */
static size_t
seq_len(const uint8_t *s, size_t n, bool *ok)
{
    uint8_t c = s[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range for the second byte */
    *ok = false;
    if (c < 0x80) {
        *ok = true;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 1; /* 80–C1, F5–FF never start a sequence */
    }
    if (n < 2 || s[1] < lo || s[1] > hi)
        return 1;
    for (size_t i = 2; i < need; i++)
        if (i >= n || (s[i] & 0xc0) != 0x80)
            return i;
    *ok = true;
    return need;
}

size_t
wr_utf8_valid_up_to(const void *p, size_t len)
{
    const uint8_t *s = p;
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        bool ok;
        size_t k = seq_len(s + i, len - i, &ok);
        if (!ok)
            return i;
        i += k;
    }
    return len;
}

bool
wr_utf8_valid(const void *p, size_t len)
{
    return wr_utf8_valid_up_to(p, len) == len;
}

void
wr_utf8_lossy(const void *p, size_t len, wr_buf *out)
{
    static const uint8_t replacement[3] = {0xef, 0xbf, 0xbd};
    const uint8_t *s = p;
    size_t i = 0;
    wr_buf_reserve(out, len);
    out->data[out->len] = '\0'; /* stays terminated even when len == 0 */
    while (i < len) {
        size_t good = wr_utf8_valid_up_to(s + i, len - i);
        wr_buf_append(out, s + i, good);
        i += good;
        if (i == len)
            break;
        bool ok;
        i += seq_len(s + i, len - i, &ok);
        wr_buf_append(out, replacement, sizeof(replacement));
    }
}
