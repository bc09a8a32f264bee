/*
 * duration.c — see duration.h. Both parsers share one scanner: trim, read a decimal integer
 * with overflow checks, skip optional inner whitespace, look the rest up in a unit table, and
 * multiply with an overflow check.
 */
#include "util/duration.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct unit {
    const char *name;
    uint64_t mult;
};

#define MIN_S 60ull
#define HOUR_S 3600ull
#define DAY_S 86400ull

static const struct unit duration_units[] = {
    {"s", 1},
    {"sec", 1},
    {"secs", 1},
    {"second", 1},
    {"seconds", 1},
    {"m", MIN_S},
    {"min", MIN_S},
    {"mins", MIN_S},
    {"minute", MIN_S},
    {"minutes", MIN_S},
    {"h", HOUR_S},
    {"hour", HOUR_S},
    {"hours", HOUR_S},
    {"d", DAY_S},
    {"day", DAY_S},
    {"days", DAY_S},
    {"w", 7 * DAY_S},
    {"week", 7 * DAY_S},
    {"weeks", 7 * DAY_S},
    {"y", 365 * DAY_S},
    {"year", 365 * DAY_S},
    {"years", 365 * DAY_S},
    {NULL, 0},
};

static const struct unit size_units[] = {
    {"", 1},
    {"k", 1ull << 10},
    {"kib", 1ull << 10},
    {"m", 1ull << 20},
    {"mib", 1ull << 20},
    {"g", 1ull << 30},
    {"gib", 1ull << 30},
    {NULL, 0},
};

static bool
is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Scans `ws digits ws unit ws` against the given unit table. Returns false on any deviation or
 * overflow.
 */
static bool
scan(const char *s, const struct unit *units, uint64_t *out)
{
    const char *p = s;
    const char *end = s + strlen(s);
    while (p < end && is_ws(*p))
        p++;
    while (end > p && is_ws(end[-1]))
        end--;
    if (p == end || *p < '0' || *p > '9')
        return false;
    uint64_t n = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    while (p < end && is_ws(*p))
        p++;
    size_t ulen = (size_t)(end - p);
    for (const struct unit *u = units; u->name; u++) {
        if (strlen(u->name) != ulen || strncasecmp(p, u->name, ulen) != 0)
            continue;
        if (n != 0 && u->mult > UINT64_MAX / n)
            return false;
        *out = n * u->mult;
        return true;
    }
    return false;
}

wr_err
wr_duration_parse(const char *s, uint64_t *out_secs, wr_error *out_err)
{
    if (s == NULL || !scan(s, duration_units, out_secs))
        return wr_error_set(out_err, WR_ERR_INVALID, "%s", WR_DURATION_ERRMSG);
    return WR_OK;
}

wr_err
wr_size_parse(const char *s, uint64_t *out_bytes, wr_error *out_err)
{
    if (s == NULL || !scan(s, size_units, out_bytes))
        return wr_error_set(out_err, WR_ERR_INVALID, "%s", WR_SIZE_ERRMSG);
    return WR_OK;
}

static void
format(uint64_t v, const struct unit *units, size_t n_units, char out[32])
{
    for (size_t i = 0; i < n_units; i++) {
        if (v != 0 && v % units[i].mult == 0) {
            snprintf(out, 32, "%" PRIu64 "%s", v / units[i].mult, units[i].name);
            return;
        }
    }
    snprintf(out, 32, "%" PRIu64 "%s", v, units[n_units - 1].name);
}

void
wr_duration_format(uint64_t secs, char out[32])
{
    static const struct unit order[] = {
        {"y", 365 * DAY_S}, {"w", 7 * DAY_S}, {"d", DAY_S}, {"h", HOUR_S}, {"m", MIN_S}, {"s", 1},
    };
    format(secs, order, sizeof(order) / sizeof(order[0]), out);
}

void
wr_size_format(uint64_t bytes, char out[32])
{
    static const struct unit order[] = {
        {"GiB", 1ull << 30},
        {"MiB", 1ull << 20},
        {"KiB", 1ull << 10},
        {"", 1},
    };
    format(bytes, order, sizeof(order) / sizeof(order[0]), out);
}
