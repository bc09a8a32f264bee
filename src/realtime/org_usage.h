/*
 * org_usage.h — GET /admin/api/v1/orgs/:orgId/usage, answered from the store's persisted usage
 * series (store.h, Usage): the numbers a bill is made from, the same ones /v1/metrics shows.
 */
#ifndef WR_REALTIME_ORG_USAGE_H
#define WR_REALTIME_ORG_USAGE_H

#include <stdint.h>

#include "http/req.h"
#include "realtime/rt.h"
#include "store/store.h" /* wr_usage_interval */

typedef struct wr_org_usage_params {
    uint64_t start_s, end_s;    /* inclusive */
    wr_usage_interval interval; /* of `series` */
} wr_org_usage_params;

/*
 * Parses ?start=&end=&interval= at time now_s. Defaults: end = now, start = end − 30 days,
 * interval = day. Returns false with a message in `msg` when a value is malformed (not Unix
 * seconds, an unknown interval), start is after end, or the range holds more than
 * WR_USAGE_MAX_BUCKETS buckets of the interval.
 */
bool wr_org_usage_params_parse(wr_req *req, uint64_t now_s, wr_org_usage_params *out, char *msg,
                               size_t msg_len);

/*
 * Answers the usage of an organization (the caller authorized it): the shared basin counting
 * only streams under `org/{orgId}/`, plus `own_basin` whole when it is given and differs, through
 * the stream backend. Answers 400 for bad parameters, 503/500 for store errors, 501 from a
 * backend without usage; asynchronous.
 */
void wr_org_usage_answer(wr_rt *rt, wr_req *req, const char *org_id, const char *own_basin);

#endif
