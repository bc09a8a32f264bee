/*
 * settings.h — observability options (flags and WEIR_* variables, util/config.h): where
 * Prometheus metrics are served and where the request log goes.
 */
#ifndef WR_OBS_SETTINGS_H
#define WR_OBS_SETTINGS_H

#include "util/config.h"

/* Where Prometheus metrics (GET /metrics) are served. */
typedef struct wr_prom_endpoint {
    enum { WR_PROM_OFF, WR_PROM_ON, WR_PROM_LISTEN } mode; /* LISTEN: only on `addr` */
    wr_hostport addr;
} wr_prom_endpoint;

typedef struct wr_obs_settings {
    wr_prom_endpoint prometheus; /* --prometheus on|off|HOST:PORT */
    char *access_log;            /* --access-log: "off", "stderr" or a file path */
} wr_obs_settings;

extern const wr_opt_table wr_obs_settings_table;

#endif
