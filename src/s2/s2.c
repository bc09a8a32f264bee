/*
 * s2.c — the /v1 API context and route registration (see s2.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "s2/s2_int.h"
#include "util/mem.h"

wr_s2 *
wr_s2_new(wr_router *r, wr_store *store, wr_auth *auth, uv_loop_t *loop)
{
    wr_s2 *s2 = wr_xcalloc(1, sizeof(*s2));
    s2->store = store;
    s2->auth = auth;
    s2->loop = loop;
    wr_s2_basins_register(s2, r);
    wr_s2_streams_register(s2, r);
    wr_s2_records_register(s2, r);
    wr_s2_tokens_register(s2, r);
    wr_s2_metrics_register(s2, r);
    wr_s2_set_location(s2, "local");
    return s2;
}

void
wr_s2_set_location(wr_s2 *s2, const char *name)
{
    snprintf(s2->location, sizeof(s2->location), "%s", name);
}

size_t
wr_s2_sessions(const wr_s2 *s2, size_t *out_realtime)
{
    if (out_realtime)
        *out_realtime = s2->n_rt_sessions;
    return s2->n_sessions;
}

void
wr_s2_free(wr_s2 *s2)
{
    free(s2);
}
