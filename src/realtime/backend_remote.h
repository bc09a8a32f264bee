/*
 * backend_remote.h — the stream backend over an S2-compatible endpoint (backend_remote.c).
 */
#ifndef WR_REALTIME_BACKEND_REMOTE_H
#define WR_REALTIME_BACKEND_REMOTE_H

#include <stdint.h>
#include <uv.h>

#include "realtime/backend.h"

typedef struct wr_rt_remote_opts {
    const char *endpoint; /* account endpoint, e.g. https://aws.s2.dev (with or without /v1) */
    const char *basin_endpoint; /* NULL/"" = endpoint; may hold "{basin}" */
    const char *access_token;   /* an account token able to manage basins, streams and tokens */
    uint64_t timeout_ms;        /* per request (connect and answer) */
} wr_rt_remote_opts;

/* A remote backend on `loop` (options copied). curl_global_init must have run. */
wr_rt_backend *wr_rt_backend_remote(uv_loop_t *loop, const wr_rt_remote_opts *o);

#endif
