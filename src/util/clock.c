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
    if (ms > WR_CLOCK_MAX_MS)
        ms = WR_CLOCK_MAX_MS; /* RFC 3339 has four-digit years */
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char date[32] = "9999-12-31T23:59:59";
    if (gmtime_r(&secs, &tm))
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%.19s.%03u000000Z", date, (unsigned)(ms % 1000));
}

/* n decimal digits at s (no sign, no space), or -1. */
static int
digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int
days_in_month(int y, int mo)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mo == 2 && leap ? 29 : days[mo - 1];
}

bool
wr_clock_parse_rfc3339(const char *s, uint64_t *out_ms)
{
    /* YYYY-MM-DDTHH:MM:SS, each field exactly its digits (strlen first: no reading past NUL) */
    if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return false;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2), h = digits(s + 11, 2),
        mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || sec < 0 || sec > 60) /* 60: a leap second */
        return false;
    const char *p = s + 19;
    uint64_t ms = 0;
    if (*p == '.') {
        int n = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                ms = ms * 10 + (uint64_t)(*p - '0');
        if (n == 0)
            return false;
        for (; n < 3; n++)
            ms *= 10;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh = digits(p + 1, 2), om = oh < 0 || p[3] != ':' ? -1 : digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return false;
        off = (*p == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm) - off;
    if (t < 0 || (uint64_t)t * 1000 + ms > WR_CLOCK_MAX_MS)
        return false;
    *out_ms = (uint64_t)t * 1000 + ms;
    return true;
}
