/*
 * settings.c — the HTTP server's option table (see settings.h).
 */
#include "http/settings.h"

#include <stddef.h>

#define FIELD(f, T) WR_OPT_FIELD(wr_http_settings, f, T)

static const wr_opt rows[] = {
    {"no-cors", "WEIR_NO_CORS", "false", NULL, WR_OPT_BOOL, FIELD(no_cors, bool), 0, 0,
     "Turn off the permissive CORS headers and preflight answers that are on by default."},
    {"max-connections", "WEIR_MAX_CONNECTIONS", "10000", "N", WR_OPT_UINT,
     FIELD(max_connections, uint64_t), 1, 1000000,
     "Open client connections allowed at once; further ones are refused."},
    {"max-header-bytes", "WEIR_MAX_HEADER_BYTES", "16KiB", "SIZE", WR_OPT_SIZE,
     FIELD(max_header_bytes, uint64_t), 1 * WR_OPT_KIB, 1 * WR_OPT_MIB,
     "Largest request line plus headers; bigger requests get 431."},
    {"max-body-bytes", "WEIR_MAX_BODY_BYTES", "8MiB", "SIZE", WR_OPT_SIZE,
     FIELD(max_body_bytes, uint64_t), 1 * WR_OPT_KIB, 64 * WR_OPT_MIB,
     "Largest request body a route accepts unless it sets its own limit; bigger bodies get 413."},
    {"header-timeout", "WEIR_HEADER_TIMEOUT", "10s", "DURATION", WR_OPT_DURATION,
     FIELD(header_timeout_s, uint64_t), 1, WR_OPT_DAY,
     "Time a client has to send a complete request head before the connection is closed."},
    {"body-timeout", "WEIR_BODY_TIMEOUT", "60s", "DURATION", WR_OPT_DURATION,
     FIELD(body_timeout_s, uint64_t), 1, WR_OPT_DAY,
     "Time a client has, from the end of a request head, to send the whole body (HTTP/1.1 and "
     "each HTTP/2 stream); slower requests get 408."},
    {"idle-timeout", "WEIR_IDLE_TIMEOUT", "60s", "DURATION", WR_OPT_DURATION,
     FIELD(idle_timeout_s, uint64_t), 1, WR_OPT_DAY,
     "How long an idle keep-alive connection is kept open."},
    {"shutdown-timeout", "WEIR_SHUTDOWN_TIMEOUT", "10s", "DURATION", WR_OPT_DURATION,
     FIELD(shutdown_timeout_s, uint64_t), 0, WR_OPT_DAY,
     "On SIGTERM/SIGINT, how long in-flight requests may take to finish before exit."},
};

const wr_opt_table wr_http_settings_table = WR_OPT_TABLE(rows);
