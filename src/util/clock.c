/*
 * clock.c — see clock.h. `fake_ms` is 0 when the real clock is in use.
 */
#include "util/clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic uint64_t fake_ms;

uint64_t
wr_clock_now_ms(void)
{
    uint64_t f = atomic_load(&fake_ms);
    if (f)
        return f;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
wr_clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
wr_clock_mono_ms(void)
{
    return wr_clock_mono_ns() / 1000000;
}

void
wr_clock_set_fake(uint64_t now_ms)
{
    atomic_store(&fake_ms, now_ms ? now_ms : 1);
}

void
wr_clock_advance_ms(uint64_t delta_ms)
{
    if (atomic_load(&fake_ms) == 0)
        wr_clock_set_fake(wr_clock_now_ms());
    atomic_fetch_add(&fake_ms, delta_ms);
}

void
wr_clock_set_real(void)
{
    atomic_store(&fake_ms, 0);
}

void
wr_clock_format_rfc3339(uint64_t ms, char out[40])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%.20s.%03u000000Z", date, (unsigned)(ms % 1000));
}

/* Exactly `n` decimal digits at p (no sign, no spaces, unlike sscanf's %d). */
static bool
digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

bool
wr_clock_parse_rfc3339(const char *s, uint64_t *out_ms)
{
    int y, mo, d, h, mi, sec;
    if (strnlen(s, 19) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return false;
    const char *p = s + 19;
    uint64_t ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (uint64_t)(*p - '0');
        if (digits == 0)
            return false;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (strnlen(p, 6) < 6 || !digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
            return false;
        off = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        p += 6;
    } else {
        return false;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm) - off;
    if (t < 0)
        return false;
    *out_ms = (uint64_t)t * 1000 + ms;
    return true;
}
