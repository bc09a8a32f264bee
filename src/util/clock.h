/*
 * clock.h — the process's notion of time, injectable for tests.
 *
 * Production code reads wall-clock milliseconds (record timestamps, retention, expiry) through
 * wr_clock_now_ms() and never calls time()/clock_gettime() itself. Tests call
 * wr_clock_set_fake() and wr_clock_advance_ms() to move time without sleeping. The fake applies
 * to every thread (atomics); wr_clock_set_real() restores the system clock.
 *
 * wr_clock_mono_ms() is a monotonic clock for measuring intervals (timeouts, benchmarks); it is
 * not faked.
 */
#ifndef WR_UTIL_CLOCK_H
#define WR_UTIL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

uint64_t wr_clock_now_ms(void);
uint64_t wr_clock_mono_ms(void);
uint64_t wr_clock_mono_ns(void);
void wr_clock_set_fake(uint64_t now_ms);
void wr_clock_advance_ms(uint64_t delta_ms);
void wr_clock_set_real(void);

/* The last millisecond RFC 3339 can write (9999-12-31T23:59:59.999Z). */
#define WR_CLOCK_MAX_MS 253402300799999ull

/* Formats ms since the epoch as RFC 3339 with nanoseconds ("2026-08-21T10:00:00.123000000Z");
 * past WR_CLOCK_MAX_MS, that. */
void wr_clock_format_rfc3339(uint64_t ms, char out[40]);
/* Parses RFC 3339 ("2026-12-31T00:00:00Z", optional fraction of which ms are kept, Z or ±hh:mm)
 * into ms since the epoch; false when malformed (every field exactly its digits, a real day of
 * its month, offsets up to ±23:59), before 1970 or past WR_CLOCK_MAX_MS. */
bool wr_clock_parse_rfc3339(const char *s, uint64_t *out_ms);

#endif
