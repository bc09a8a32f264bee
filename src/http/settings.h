/*
 * settings.h — the HTTP server's options (flags and WEIR_* variables, util/config.h): the
 * listener's connection limit and drain bound, and the HTTP layer's limits, timeouts and CORS.
 * The program turns them into wr_server_opts (net/server.h) and wr_http_opts (http/http.h).
 */
#ifndef WR_HTTP_SETTINGS_H
#define WR_HTTP_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/config.h"

typedef struct wr_http_settings {
    bool no_cors;                /* --no-cors: CORS is on unless this is set */
    uint64_t max_connections;    /* --max-connections */
    uint64_t max_header_bytes;   /* --max-header-bytes: request line + headers */
    uint64_t max_body_bytes;     /* --max-body-bytes: default per-route body limit */
    uint64_t header_timeout_s;   /* --header-timeout */
    uint64_t body_timeout_s;     /* --body-timeout: whole request body */
    uint64_t idle_timeout_s;     /* --idle-timeout: keep-alive idle */
    uint64_t shutdown_timeout_s; /* --shutdown-timeout: graceful drain bound */
} wr_http_settings;

extern const wr_opt_table wr_http_settings_table;

#endif
