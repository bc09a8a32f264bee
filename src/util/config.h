/*
 * config.h — weir's runtime configuration: command-line flags > WEIR_* environment > defaults.
 *
 * Every option is one row of the table in config.c (flag, environment variable, default text,
 * kind, field, bounds, help) plus one field here. Adding an option is exactly that: the loader,
 * validation, error messages and --help all come from the row. Defaults are written as text and
 * go through the same parser as user input, so a default can never bypass validation.
 *
 * Rules the loader applies:
 *   - Flags: `--name value` or `--name=value`; the last occurrence wins. A separate value that
 *     itself starts with "--" is treated as a missing value (use `--name=--x` if you mean it).
 *     Boolean flags take no separate value (`--no-cors`); `--no-cors=false` is accepted.
 *   - Environment: an unset or empty variable means "not given". Booleans accept 1/0, true/false,
 *     yes/no (any case).
 *   - Only the value that wins is validated: a bad WEIR_* variable overridden by a flag is ignored.
 *   - `-h`/`--help` anywhere stops parsing: cfg->help is set, every field holds its default, and
 *     WR_OK is returned. The caller prints wr_config_print_help() and exits 0.
 *   - Anything else that is wrong (unknown option, positional argument, missing value, invalid
 *     value) returns WR_ERR_INVALID with a one-line message naming the option as the user wrote
 *     it, e.g. "--idle-timeout: must be a duration like 7d, 30d, 365d, 1h, 1y" or
 *     "WEIR_MAX_CONNECTIONS: must be between 1 and 1000000". The caller prints it and exits 2.
 *
 * Ownership: wr_config owns its strings; wr_config_fini() frees them. Not thread-safe; load once
 * at start-up on the main thread, then treat the struct as read-only.
 */
#ifndef WR_UTIL_CONFIG_H
#define WR_UTIL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "util/log.h"

/*
 * A listen address. host is as written, without IPv6 brackets: a dotted IPv4 literal,
 * "localhost" (lower-cased; the listener resolves it, to 127.0.0.1), or an IPv6 literal such as
 * "::1". port 0 means "pick a free port".
 */
typedef struct wr_hostport {
    char host[64];
    uint16_t port;
} wr_hostport;

/* Where Prometheus metrics (GET /metrics) are served. */
typedef struct wr_prom_endpoint {
    enum { WR_PROM_OFF, WR_PROM_ON, WR_PROM_LISTEN } mode; /* LISTEN: only on `addr` */
    wr_hostport addr;
} wr_prom_endpoint;

typedef struct wr_config {
    wr_hostport listen;             /* --listen */
    char *data_dir;                 /* --data-dir, never empty */
    wr_log_level log_level;         /* --log-level */
    bool no_cors;                   /* --no-cors: CORS is on unless this is set */
    uint64_t max_connections;       /* --max-connections */
    uint64_t max_header_bytes;      /* --max-header-bytes: request line + headers */
    uint64_t max_body_bytes;        /* --max-body-bytes: default per-route body limit */
    uint64_t header_timeout_s;      /* --header-timeout */
    uint64_t body_timeout_s;        /* --body-timeout: whole request body */
    uint64_t idle_timeout_s;        /* --idle-timeout: keep-alive idle */
    uint64_t shutdown_timeout_s;    /* --shutdown-timeout: graceful drain bound */
    uint64_t append_inflight_bytes; /* --append-inflight-bytes */
    uint64_t max_streams_per_basin; /* --max-streams-per-basin */
    uint64_t max_streams_per_env;   /* --max-streams-per-env: per realtime environment */
    uint64_t stream_cache_entries;  /* --stream-cache-entries */
    uint64_t maint_interval_s;      /* --maintenance-interval */
    bool auth_none;                 /* --auth none */
    char *root_token;               /* WEIR_ROOT_TOKEN; NULL = from/into <data-dir>/root_token */
    char *secret_key;               /* WEIR_SECRET_KEY; NULL = from/into <data-dir>/secret_key */
    /* Realtime layer (realtime.md §2). */
    char *global_basin;
    bool per_org_basins;
    char *basin_name_prefix;
    char *basin_name_env;
    uint64_t basin_default_retention_s;
    char *basin_storage_class;
    uint64_t basin_doe_min_age_s;
    char *plan_retention;
    uint64_t stream_token_ttl_s;
    uint64_t wait_seconds;
    uint64_t flush_interval_ms;
    uint64_t max_retries;
    char *stream_backend;     /* --stream-backend: embedded | remote */
    char *s2_endpoint;        /* --s2-endpoint; NULL = unset */
    char *s2_basin_endpoint;  /* --s2-basin-endpoint; NULL = unset */
    char *s2_access_token;    /* WEIR_S2_ACCESS_TOKEN; NULL = unset */
    uint64_t s2_timeout_s;    /* --s2-timeout */
    char *s2_public_endpoint; /* --s2-public-endpoint; NULL = unset */
    char *public_url;         /* --public-url; NULL = unset */
    char *trusted_proxies;    /* --trusted-proxies; NULL = none */

    /* Usage, metrics, logs (operations.md). */
    char *location;                    /* --location */
    uint64_t usage_flush_ms;           /* --usage-flush-interval-ms */
    uint64_t usage_sample_s;           /* --usage-sample-interval */
    uint64_t usage_retention_s;        /* --usage-retention */
    uint64_t usage_minute_retention_s; /* --usage-minute-retention */
    wr_prom_endpoint prometheus;       /* --prometheus on|off|HOST:PORT */
    char *access_log;                  /* --access-log: "off", "stderr" or a file path */
    bool console;                      /* --console on|off: GET /console (docs/console.md) */

    bool help; /* -h/--help was given; everything else holds defaults */
} wr_config;

/*
 * Fills cfg from argv (the arguments after the subcommand, so argv[0] is the first option, not
 * the program name), the environment and the defaults. cfg needs no initialisation. Returns WR_OK
 * or WR_ERR_INVALID with the message in out_err (may be NULL). On error cfg holds nothing that
 * needs freeing, though calling wr_config_fini() is still safe.
 */
wr_err wr_config_load(wr_config *cfg, int argc, char **argv, wr_error *out_err);

/* Frees the strings cfg owns; safe to call twice and after a failed load. */
void wr_config_fini(wr_config *cfg);

/* Writes usage and every option with its environment variable, default and meaning to f. */
void wr_config_print_help(FILE *f);

#endif
