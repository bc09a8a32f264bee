/*
 * fuzz_rt_params.c — the realtime routes' header and query parsers (realtime/params.h) on
 * arbitrary strings (the input up to its first NUL).
 *
 * Checks: whatever is accepted prints back as the same decimal digits (so nothing but plain
 * digits is ever accepted, and the value is exact); Timeout-Seconds stays in 1–600; afterEventId
 * fits in 63 bits; Last-Event-ID is 0 exactly when there is no leading digit and otherwise is
 * the leading number + 1 (saturating), never less than 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "realtime/params.h"
#include "util/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether s is exactly the decimal form of v, allowing leading zeros. */
static bool
same_digits(const char *s, uint64_t v)
{
    while (s[0] == '0' && s[1] != '\0')
        s++;
    char buf[32];
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
    return strcmp(s, buf) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = wr_xstrndup((const char *)data, size);
    uint64_t v = 0;
    if (wr_rt_parse_timeout(s, &v))
        FUZZ_CHECK(v >= 1 && v <= 600 && same_digits(s, v));
    if (wr_rt_parse_seq(s, &v))
        FUZZ_CHECK(v <= (uint64_t)INT64_MAX && same_digits(s, v));
    uint64_t start = wr_rt_parse_last_event_id(s);
    bool lead = s[0] >= '0' && s[0] <= '9';
    FUZZ_CHECK(lead == (start != 0));
    if (lead && start != UINT64_MAX) {
        size_t n = strspn(s, "0123456789");
        s[n] = '\0';
        FUZZ_CHECK(same_digits(s, start - 1));
    }
    free(s);
    return 0;
}
