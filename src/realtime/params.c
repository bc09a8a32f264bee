/*
 * params.c — see params.h.
 */
#include "realtime/params.h"

#include <stddef.h>

/* Decimal digits only (at least one), at most max_digits of them; the value in *out. */
static bool
digits(const char *s, size_t max_digits, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n] >= '0' && s[n] <= '9'; n++) {
        if (n == max_digits)
            return false;
        v = v * 10 + (uint64_t)(s[n] - '0');
    }
    if (n == 0 || s[n] != '\0')
        return false;
    *out = v;
    return true;
}

bool
wr_rt_parse_timeout(const char *s, uint64_t *out_secs)
{
    uint64_t v;
    if (!digits(s, 3, &v) || v < 1 || v > 600)
        return false;
    *out_secs = v;
    return true;
}

uint64_t
wr_rt_parse_last_event_id(const char *s)
{
    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return UINT64_MAX; /* beyond any seq: resume at the tail */
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return v + 1;
}

bool
wr_rt_parse_seq(const char *s, uint64_t *out)
{
    uint64_t v;
    /* 18 digits always fit in 63 bits; 19 may not. */
    if (!digits(s, 19, &v) || v > (uint64_t)INT64_MAX)
        return false;
    *out = v;
    return true;
}
