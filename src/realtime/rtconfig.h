/*
 * rtconfig.h — the realtime layer's configuration (realtime.md §2), checked as a whole at boot:
 * basin-name parts, the plan → retention map, and the storage class. The raw values are the
 * realtime layer's options (wr_rt_settings_table: flags > WEIR_* environment > defaults, through
 * util/config.h); wr_rt_config_from adds the rules that involve more than one value or a
 * grammar of their own.
 */
#ifndef WR_REALTIME_RTCONFIG_H
#define WR_REALTIME_RTCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/config.h"
#include "util/cidr.h"
#include "util/config.h"
#include "util/err.h"

#define WR_RT_PLAN_MAX 32
#define WR_RT_MAX_PLANS 32
#define WR_RT_ORG_ID_LEN 25

/* The realtime layer's options as loaded (realtime.md §2). */
typedef struct wr_rt_settings {
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
    char *stream_backend;           /* --stream-backend: embedded | remote */
    char *s2_endpoint;              /* --s2-endpoint; NULL = unset */
    char *s2_basin_endpoint;        /* --s2-basin-endpoint; NULL = unset */
    char *s2_access_token;          /* WEIR_S2_ACCESS_TOKEN; NULL = unset */
    uint64_t s2_timeout_s;          /* --s2-timeout */
    char *s2_public_endpoint;       /* --s2-public-endpoint; NULL = unset */
    char *public_url;               /* --public-url; NULL = unset */
    char *trusted_proxies;          /* --trusted-proxies; NULL = none */
    char *control_plane;            /* WEIR_CONTROL_PLANE; NULL = SQLite in the data directory */
    uint64_t control_plane_writers; /* --control-plane-writers: PostgreSQL connections */
    uint64_t control_plane_readers; /* --control-plane-readers: PostgreSQL connections */
} wr_rt_settings;

extern const wr_opt_table wr_rt_settings_table;

typedef struct wr_plan {
    char name[WR_RT_PLAN_MAX + 1];
    bool shared;          /* no own basin */
    uint64_t retention_s; /* when !shared; > 0 */
} wr_plan;

typedef struct wr_rt_config {
    char global_basin[49];
    bool per_org_basins;
    char name_prefix[49];
    char name_env[49];
    uint64_t default_retention_s;
    wr_storage_class storage_class;
    uint64_t doe_min_age_s;
    wr_plan plans[WR_RT_MAX_PLANS];
    size_t n_plans; /* at least 1: wr_rt_parse_plans refuses an empty list */
    uint64_t token_ttl_s;
    uint64_t wait_seconds;
    uint64_t flush_interval_ms;
    uint64_t max_retries;
    char public_url[256]; /* "" = unset; no trailing '/' */
    wr_cidr_list proxies; /* trusted reverse proxies */
    /* The stream backend (backend.h). */
    bool remote;
    char s2_endpoint[256], s2_basin_endpoint[256]; /* remote: as configured */
    char s2_public[300];                           /* remote: X-S2-Endpoint, ending in /v1 */
    uint64_t s2_timeout_ms;
} wr_rt_config;

/*
 * Builds and checks the realtime configuration. Errors (INVALID) name the option, e.g.
 * "WEIR_PLAN_RETENTION: …"; the caller prints them and exits 2 before anything starts.
 */
wr_err wr_rt_config_from(const wr_rt_settings *cfg, wr_rt_config *out, wr_error *out_err);

/* Parses "free=shared,hobby=30d,pro=365d" into plans. INVALID with a message on any error. */
wr_err wr_rt_parse_plans(const char *spec, wr_plan *out, size_t max, size_t *out_n,
                         wr_error *out_err);

/* The plan of that name, or NULL. */
const wr_plan *wr_rt_plan(const wr_rt_config *c, const char *name);

#endif
