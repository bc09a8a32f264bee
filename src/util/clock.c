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
