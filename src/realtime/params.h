/*
 * params.h — the realtime routes' small textual parameters (realtime.md §5), as pure functions
 * so they can be tested as tables and fuzzed. Any thread.
 */
#ifndef WR_REALTIME_PARAMS_H
#define WR_REALTIME_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

/* `Timeout-Seconds`: decimal digits only, 1–600. */
bool wr_rt_parse_timeout(const char *s, uint64_t *out_secs);

/*
 * `Last-Event-ID` → the seq to resume from: its leading decimal digits are the last seq the
 * client saw (S2 ids are "seq,count,bytes"; forms such as "1699999999999-5" resume the same
 * way), so the answer is that number + 1 (saturating at UINT64_MAX). No leading digit (or NULL)
 * → 0, the start of the stream.
 */
uint64_t wr_rt_parse_last_event_id(const char *s);

/* `afterEventId` and similar: a non-negative decimal integer that fits in 63 bits, no sign, no
 * spaces, no leading '+'. */
bool wr_rt_parse_seq(const char *s, uint64_t *out);

#endif
