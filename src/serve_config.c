/*
 * serve_config.c — see serve_config.h. The order of `tables` is the order of --help; each
 * section names the settings struct its table fills.
 */
#include "serve_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FIELD(f, T) WR_OPT_FIELD(wr_serve_settings, f, T)

/* A switch that takes a value: on or off. */
static bool
parse_on_off(const char *s, void *field, char *msg, size_t msg_len)
{
    if (strcasecmp(s, "on") != 0 && strcasecmp(s, "off") != 0) {
        snprintf(msg, msg_len, "must be on or off");
        return false;
    }
    *(bool *)field = strcasecmp(s, "on") == 0;
    return true;
}

static const wr_opt serve_rows[] = {
    {"listen", "WEIR_LISTEN", "127.0.0.1:4243", "HOST:PORT", WR_OPT_HOSTPORT,
     FIELD(listen, wr_hostport), 0, 0,
     "Address to listen on: an IPv4 address, localhost, or a bracketed IPv6 address such as "
     "[::1]:4243. Port 0 picks a free port."},
    {"data-dir", "WEIR_DATA_DIR", "./data", "DIR", WR_OPT_STRING, FIELD(data_dir, char *), 0, 0,
     "Directory holding the stream store; created if missing."},
    {"log-level", "WEIR_LOG_LEVEL", "info", "LEVEL", WR_OPT_LOG_LEVEL,
     FIELD(log_level, wr_log_level), 0, 0, "One of debug, info, warn, error, off."},
    {"console", "WEIR_CONSOLE", "on", "on|off", WR_OPT_CUSTOM, FIELD(console, bool), 0, 0,
     "The web console at /console (static pages that call the public API with the token you "
     "sign in with): on or off.",
     .parse = parse_on_off},
};

static const wr_opt_table serve_table = WR_OPT_TABLE(serve_rows);

const wr_opt_table *const wr_config_tables[] = {
    &serve_table,
    &wr_http_settings_table,
    &wr_store_settings_table,
    &wr_auth_settings_table,
    &wr_rt_settings_table,
    &wr_store_usage_settings_table,
    &wr_obs_settings_table,
};

const size_t wr_config_n_tables = sizeof(wr_config_tables) / sizeof(wr_config_tables[0]);

/* The settings each table fills, table for table. */
static void
sections_of(wr_config *cfg, wr_opt_section out[])
{
    void *settings[] = {&cfg->serve, &cfg->http,  &cfg->store, &cfg->auth,
                        &cfg->rt,    &cfg->store, &cfg->obs};
    size_t sizes[] = {sizeof(cfg->serve), sizeof(cfg->http),  sizeof(cfg->store), sizeof(cfg->auth),
                      sizeof(cfg->rt),    sizeof(cfg->store), sizeof(cfg->obs)};
    _Static_assert(sizeof(settings) / sizeof(settings[0]) ==
                       sizeof(wr_config_tables) / sizeof(wr_config_tables[0]),
                   "one settings struct per table");
    for (size_t i = 0; i < wr_config_n_tables; i++)
        out[i] = (wr_opt_section){wr_config_tables[i], settings[i], sizes[i]};
}

#define N_TABLES (sizeof(wr_config_tables) / sizeof(wr_config_tables[0]))

wr_err
wr_config_load(wr_config *cfg, int argc, char **argv, wr_error *out_err)
{
    wr_opt_section sections[N_TABLES];
    cfg->help = false;
    sections_of(cfg, sections);
    return wr_opts_load(sections, N_TABLES, argc, argv, &cfg->help, out_err);
}

void
wr_config_fini(wr_config *cfg)
{
    wr_opt_section sections[N_TABLES];
    sections_of(cfg, sections);
    wr_opts_fini(sections, N_TABLES);
}

void
wr_config_print_help(FILE *f)
{
    wr_opts_print_help(f, wr_config_tables, N_TABLES);
}
