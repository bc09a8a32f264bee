/*
 * serve_config.h — the options of `weir serve`: every module's option table (util/config.h),
 * registered here in --help order, and the settings structs they fill. A module's options live
 * with the module (http/settings.h, store/settings.h, auth/settings.h, realtime/rtconfig.h,
 * obs/settings.h); this file only puts them together, plus the few that belong to the program
 * itself (where to listen, the data directory, the log level).
 *
 * Loading rules, messages and --help format: util/config.h. Ownership: wr_config owns its
 * strings; wr_config_fini() frees them.
 */
#ifndef WR_SERVE_CONFIG_H
#define WR_SERVE_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "auth/settings.h"
#include "http/settings.h"
#include "obs/settings.h"
#include "realtime/rtconfig.h"
#include "store/settings.h"
#include "util/config.h"
#include "util/err.h"
#include "util/log.h"

/* The program's own options. */
typedef struct wr_serve_settings {
    wr_hostport listen;     /* --listen */
    char *data_dir;         /* --data-dir, never empty */
    wr_log_level log_level; /* --log-level */
    bool console;           /* --console on|off: the web console at /console */
} wr_serve_settings;

typedef struct wr_config {
    wr_serve_settings serve;
    wr_http_settings http;
    wr_store_settings store;
    wr_auth_settings auth;
    wr_rt_settings rt;
    wr_obs_settings obs;
    bool help; /* -h/--help was given; everything else holds defaults */
} wr_config;

/*
 * Fills cfg from argv (the arguments after `serve`), the environment and the defaults; cfg
 * needs no initialisation. WR_OK, or WR_ERR_INVALID with the message in out_err (may be NULL);
 * on error cfg holds nothing that needs freeing, though wr_config_fini() is still safe.
 */
wr_err wr_config_load(wr_config *cfg, int argc, char **argv, wr_error *out_err);

/* Frees the strings cfg owns; safe to call twice and after a failed load. */
void wr_config_fini(wr_config *cfg);

/* Writes usage and every option with its environment variable, default and meaning to f. */
void wr_config_print_help(FILE *f);

/* The tables of `weir serve`, in --help order (for tests that check them as a whole). */
extern const wr_opt_table *const wr_config_tables[];
extern const size_t wr_config_n_tables;

#endif
