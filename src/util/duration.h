/*
 * duration.h — the textual durations and byte sizes used in configuration.
 *
 * Duration grammar (realtime.md §2), case-insensitive, result in seconds:
 *
 *     duration = [ws] digits [ws] unit [ws]        ws = one or more spaces or tabs
 *     unit     = s | sec | secs | second | seconds         (1 s)
 *              | m | min | mins | minute | minutes         (60 s)
 *              | h | hour | hours                          (3,600 s)
 *              | d | day | days                            (86,400 s)
 *              | w | week | weeks                          (604,800 s)
 *              | y | year | years                          (365 d = 31,536,000 s)
 *
 * The integer is decimal (leading zeros allowed and still decimal). There are no signs,
 * decimals, exponents, hex, compound forms ("1d2h") or bare numbers: a unit is always required.
 * Whitespace around the whole value is ignored so values copied from env files with stray
 * spaces still parse; whitespace anywhere else but between number and unit is rejected.
 * The value is 64-bit and overflow-checked: anything whose seconds do not fit in a uint64_t is
 * rejected, never wrapped. Zero ("0s") parses; callers that need a positive value (retention)
 * check that themselves.
 *
 * Size grammar, result in bytes, suffix case-insensitive, binary multiples:
 *
 *     size   = [ws] digits [ws] [suffix] [ws]
 *     suffix = K | KiB  (1,024) | M | MiB  (1,048,576) | G | GiB  (1,073,741,824)
 *
 * A plain integer is bytes. "KB"/"MB" (ambiguous between 1000 and 1024) are rejected.
 *
 * Errors are WR_ERR_INVALID with the message WR_DURATION_ERRMSG / WR_SIZE_ERRMSG exactly, so
 * callers can prefix the option name ("--idle-timeout: must be a duration like ...").
 */
#ifndef WR_UTIL_DURATION_H
#define WR_UTIL_DURATION_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

#define WR_DURATION_ERRMSG "must be a duration like 7d, 30d, 365d, 1h, 1y"
#define WR_SIZE_ERRMSG "must be a size like 65536, 64KiB, 8MiB, 1GiB"

/*
 * Parses the NUL-terminated s as a duration. On success stores the seconds in *out_secs and
 * returns WR_OK; otherwise returns WR_ERR_INVALID (out_err, which may be NULL, gets
 * WR_DURATION_ERRMSG) and leaves *out_secs untouched.
 */
wr_err wr_duration_parse(const char *s, uint64_t *out_secs, wr_error *out_err);

/*
 * Parses the NUL-terminated s as a byte size. Same contract as wr_duration_parse() with
 * WR_SIZE_ERRMSG.
 */
wr_err wr_size_parse(const char *s, uint64_t *out_bytes, wr_error *out_err);

/*
 * Formats secs in the largest unit that divides it exactly (y, w, d, h, m, s), e.g. 86400 →
 * "1d", 90 → "90s", 0 → "0s". The result parses back to the same value.
 */
void wr_duration_format(uint64_t secs, char out[32]);
/* Formats bytes the same way with GiB, MiB, KiB or a plain integer (65536 → "64KiB"). */
void wr_size_format(uint64_t bytes, char out[32]);

#endif
