/*
 * clock.c — see clock.h. `fake_ms` is 0 when the real clock is in use.
 */
#include "util/clock.h"

#include <stdatomic.h>
#include <stdio.h>
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

bool
wr_clock_parse_rfc3339(const char *s, uint64_t *out_ms)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
        return false;
    const char *p = s + n;
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
        int oh, om, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5)
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
