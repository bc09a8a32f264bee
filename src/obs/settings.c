/*
 * settings.c — the observability option table (see settings.h).
 */
#include "obs/settings.h"

#include <stdio.h>
#include <string.h>

#define FIELD(f, T) WR_OPT_FIELD(wr_obs_settings, f, T)

/* --prometheus: on, off or HOST:PORT. */
static bool
parse_prometheus(const char *s, void *field, char *msg, size_t msg_len)
{
    wr_prom_endpoint *pe = field;
    if (strcmp(s, "on") == 0 || strcmp(s, "off") == 0) {
        pe->mode = strcmp(s, "on") == 0 ? WR_PROM_ON : WR_PROM_OFF;
        return true;
    }
    if (!wr_hostport_parse(s, &pe->addr)) {
        snprintf(msg, msg_len, "must be on, off or HOST:PORT");
        return false;
    }
    pe->mode = WR_PROM_LISTEN;
    return true;
}

static const wr_opt rows[] = {
    {"prometheus", "WEIR_PROMETHEUS", "on", "on|off|HOST:PORT", WR_OPT_CUSTOM,
     FIELD(prometheus, wr_prom_endpoint), 0, 0,
     "GET /metrics in Prometheus text format, without authentication: on (on the main "
     "listener), off, or HOST:PORT (only on a separate listener there).",
     .parse = parse_prometheus},
    {"access-log", "WEIR_ACCESS_LOG", "stderr", "off|stderr|FILE", WR_OPT_STRING,
     FIELD(access_log, char *), 0, 0,
     "One line per request (method, route, status, bytes, duration, request id): off, stderr "
     "(at level info), or appended to FILE."},
};

const wr_opt_table wr_obs_settings_table = WR_OPT_TABLE(rows);
