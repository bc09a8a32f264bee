/*
 * rtconfig.c — see rtconfig.h: the realtime layer's option table and the checks over it.
 */
#include "realtime/rtconfig.h"

#include <stdio.h>
#include <string.h>

#include "realtime/naming.h"
#include "store/store.h"
#include "util/duration.h"

#define FIELD(f, T) WR_OPT_FIELD(wr_rt_settings, f, T)

/* Cross-field rules are checked in wr_rt_config_from. */
static const wr_opt rows[] = {
    {"global-basin", "WEIR_GLOBAL_BASIN", "weir-shared", "BASIN", WR_OPT_STRING,
     FIELD(global_basin, char *), 0, 0,
     "The shared basin for organizations without their own; created at start if missing."},
    {"per-org-basins", "WEIR_PER_ORG_BASINS", "false", NULL, WR_OPT_BOOL,
     FIELD(per_org_basins, bool), 0, 0,
     "Allow provisioning and reconfiguring per-organization basins."},
    {"basin-name-prefix", "WEIR_BASIN_NAME_PREFIX", "weir", "TEXT", WR_OPT_STRING,
     FIELD(basin_name_prefix, char *), 0, 0,
     "Per-organization basins are named {prefix}-{env}-org-{orgId}; [a-z0-9-] only."},
    {"basin-name-env", "WEIR_BASIN_NAME_ENV", "dev", "TEXT", WR_OPT_STRING,
     FIELD(basin_name_env, char *), 0, 0, "The {env} part of per-organization basin names."},
    {"basin-default-retention", "WEIR_BASIN_DEFAULT_RETENTION", "30d", "DURATION", WR_OPT_DURATION,
     FIELD(basin_default_retention_s, uint64_t), 1, 0,
     "Retention of a provisioned basin when the request names none."},
    {"basin-storage-class", "WEIR_BASIN_STORAGE_CLASS", "express", "CLASS", WR_OPT_STRING,
     FIELD(basin_storage_class, char *), 0, 0,
     "Storage class of provisioned basins: standard or express."},
    {"basin-delete-on-empty-min-age", "WEIR_BASIN_DELETE_ON_EMPTY_MIN_AGE", "1h", "DURATION",
     WR_OPT_DURATION, FIELD(basin_doe_min_age_s, uint64_t), 0, 0,
     "delete_on_empty.min_age of provisioned basins' streams."},
    {"plan-retention", "WEIR_PLAN_RETENTION", "free=shared,hobby=30d,pro=365d", "MAP",
     WR_OPT_STRING, FIELD(plan_retention, char *), 0, 0,
     "Plan to retention: plan=DURATION, or plan=shared for no own basin; comma-separated."},
    {"stream-token-ttl", "WEIR_STREAM_TOKEN_TTL", "1d", "DURATION", WR_OPT_DURATION,
     FIELD(stream_token_ttl_s, uint64_t), 60, 0,
     "Lifetime of environment-wide write tokens for secret-key callers (tokens for public-token "
     "callers live at most 15 minutes)."},
    {"wait-seconds", "WEIR_WAIT_SECONDS", "60", "N", WR_OPT_UINT, FIELD(wait_seconds, uint64_t), 1,
     600, "Default long-poll of realtime SSE reads, in seconds."},
    {"flush-interval-ms", "WEIR_FLUSH_INTERVAL_MS", "200", "N", WR_OPT_UINT,
     FIELD(flush_interval_ms, uint64_t), 1, 60000, "Passed to writers in X-S2-Flush-Interval-Ms."},
    {"max-retries", "WEIR_MAX_RETRIES", "10", "N", WR_OPT_UINT, FIELD(max_retries, uint64_t), 0,
     1000, "Passed to writers in X-S2-Max-Retries."},
    {"stream-backend", "WEIR_STREAM_BACKEND", "embedded", "KIND", WR_OPT_STRING,
     FIELD(stream_backend, char *), 0, 0,
     "Where the realtime layer keeps its streams: embedded (this server's store) or remote (an "
     "S2-compatible endpoint: --s2-endpoint and WEIR_S2_ACCESS_TOKEN)."},
    {"s2-endpoint", "WEIR_S2_ENDPOINT", "", "URL", WR_OPT_OPT_STRING, FIELD(s2_endpoint, char *), 0,
     0,
     "The remote S2 account endpoint (e.g. https://aws.s2.dev or http://host:port), with or "
     "without /v1."},
    {"s2-basin-endpoint", "WEIR_S2_BASIN_ENDPOINT", "", "URL", WR_OPT_OPT_STRING,
     FIELD(s2_basin_endpoint, char *), 0, 0,
     "The remote basin endpoint when it differs from the account endpoint; may contain {basin} "
     "(e.g. https://{basin}.b.aws.s2.dev)."},
    {NULL, "WEIR_S2_ACCESS_TOKEN", "", NULL, WR_OPT_SECRET, FIELD(s2_access_token, char *), 0, 0,
     "The access token of the remote S2 endpoint (environment only; never logged). It must be "
     "allowed to create and reconfigure basins and streams, append, read and trim, and issue, "
     "list and revoke tokens under the rt- prefix."},
    {"s2-timeout", "WEIR_S2_TIMEOUT", "10s", "DURATION", WR_OPT_DURATION,
     FIELD(s2_timeout_s, uint64_t), 1, 600,
     "Time a request to the remote S2 endpoint may take before clients get 504."},
    {"s2-public-endpoint", "WEIR_S2_PUBLIC_ENDPOINT", "", "URL", WR_OPT_OPT_STRING,
     FIELD(s2_public_endpoint, char *), 0, 0,
     "The S2 endpoint writers are sent to (X-S2-Endpoint) with the remote backend; defaults to "
     "--s2-basin-endpoint, else --s2-endpoint."},
    {"public-url", "WEIR_PUBLIC_URL", "", "URL", WR_OPT_OPT_STRING, FIELD(public_url, char *), 0, 0,
     "The URL clients reach this server at (e.g. https://streams.example.com), for the "
     "X-S2-Endpoint handed to writers. Unset: taken from X-Forwarded-Proto/Forwarded of a "
     "trusted proxy, else http://<Host>."},
    {"trusted-proxies", "WEIR_TRUSTED_PROXIES", "", "CIDRS", WR_OPT_OPT_STRING,
     FIELD(trusted_proxies, char *), 0, 0,
     "Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-Proto, "
     "X-Forwarded-Host and Forwarded headers are believed. Unset: none."},
    {NULL, "WEIR_CONTROL_PLANE", "", NULL, WR_OPT_SECRET, FIELD(control_plane, char *), 0, 0,
     "Where organizations, environments, runs and sessions are kept: unset for SQLite in the data "
     "directory (control.sqlite3), or a PostgreSQL URL (postgres://user:password@host:5432/db; "
     "environment only, as it may hold a password). Nodes may share one PostgreSQL."},
    {"control-plane-writers", "WEIR_CONTROL_PLANE_WRITERS", "1", "N", WR_OPT_UINT,
     FIELD(control_plane_writers, uint64_t), 1, 32,
     "With a PostgreSQL control plane: connections (and threads) that commit control-plane "
     "changes in parallel, each a group at a time; SQLite always uses one writer."},
    {"control-plane-readers", "WEIR_CONTROL_PLANE_READERS", "4", "N", WR_OPT_UINT,
     FIELD(control_plane_readers, uint64_t), 1, 32,
     "With a PostgreSQL control plane: connections (and threads) that make requests' first "
     "reads off the loop, in parallel; SQLite reads on the loop."},
};

const wr_opt_table wr_rt_settings_table = WR_OPT_TABLE(rows);

static bool
charset_ok(const char *s)
{
    if (!*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

wr_err
wr_rt_parse_plans(const char *spec, wr_plan *out, size_t max, size_t *out_n, wr_error *out_err)
{
    *out_n = 0;
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        char name[WR_RT_PLAN_MAX + 1], value[64];
        size_t nlen = eq ? (size_t)(eq - p) : 0, vlen = eq ? len - nlen - 1 : 0;
        while (nlen && p[nlen - 1] == ' ')
            nlen--;
        const char *np = p;
        while (nlen && *np == ' ') {
            np++;
            nlen--;
        }
        if (!eq || nlen == 0 || nlen > WR_RT_PLAN_MAX || vlen == 0 || vlen >= sizeof(value))
            return wr_error_set(out_err, WR_ERR_INVALID,
                                "expected plan=DURATION or plan=shared, comma-separated");
        memcpy(name, np, nlen);
        name[nlen] = '\0';
        memcpy(value, eq + 1, vlen);
        value[vlen] = '\0';
        for (char *c = name; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
                return wr_error_set(out_err, WR_ERR_INVALID, "plan name `%s`: use [a-z0-9_-]",
                                    name);
        for (size_t i = 0; i < *out_n; i++)
            if (strcmp(out[i].name, name) == 0)
                return wr_error_set(out_err, WR_ERR_INVALID, "plan `%s` appears twice", name);
        if (*out_n == max)
            return wr_error_set(out_err, WR_ERR_INVALID, "too many plans (at most %zu)", max);
        wr_plan *pl = &out[(*out_n)++];
        memset(pl, 0, sizeof(*pl));
        strcpy(pl->name, name);
        char *v = value;
        while (*v == ' ')
            v++;
        if (strcmp(v, "shared") == 0) {
            pl->shared = true;
        } else {
            wr_error derr;
            if (wr_duration_parse(v, &pl->retention_s, &derr) != WR_OK || pl->retention_s == 0)
                return wr_error_set(out_err, WR_ERR_INVALID,
                                    "plan `%s`: retention must be a duration like 7d, 30d, 365d, "
                                    "1h, 1y, or shared",
                                    name);
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (*out_n == 0)
        return wr_error_set(out_err, WR_ERR_INVALID, "at least one plan is required");
    return WR_OK;
}

const wr_plan *
wr_rt_plan(const wr_rt_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_plans; i++)
        if (strcmp(c->plans[i].name, name) == 0)
            return &c->plans[i];
    return NULL;
}

static wr_err
copy_name(char *dst, size_t cap, const char *src, const char *opt, wr_error *out_err)
{
    if (strlen(src) >= cap)
        return wr_error_set(out_err, WR_ERR_INVALID, "%s: too long", opt);
    strcpy(dst, src);
    return WR_OK;
}

/* http(s)://host[:port][/path], printable ASCII without spaces; stored without a trailing '/'.
 * `name` is the variable blamed in the error. */
static wr_err
http_url(const char *name, const char *url, char out[256], wr_error *out_err)
{
    size_t n = strlen(url);
    bool ok = n < 256 && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0);
    for (size_t i = 0; ok && i < n; i++)
        ok = url[i] > 0x20 && url[i] < 0x7f;
    const char *host = ok ? strstr(url, "://") + 3 : NULL;
    if (!ok || !*host || *host == '/')
        return wr_error_set(out_err, WR_ERR_INVALID,
                            "%s: must be an http:// or https:// URL such as "
                            "https://streams.example.com",
                            name);
    while (n > 0 && url[n - 1] == '/')
        n--;
    memcpy(out, url, n);
    out[n] = '\0';
    return WR_OK;
}

/* The stream backend's settings: embedded, or remote with an endpoint and a token. */
static wr_err
backend_config(const wr_rt_settings *cfg, wr_rt_config *out, wr_error *out_err)
{
    wr_err e;
    if (strcmp(cfg->stream_backend, "embedded") == 0)
        return WR_OK;
    if (strcmp(cfg->stream_backend, "remote") != 0)
        return wr_error_set(out_err, WR_ERR_INVALID,
                            "WEIR_STREAM_BACKEND: must be embedded or remote");
    out->remote = true;
    if (!cfg->s2_endpoint)
        return wr_error_set(out_err, WR_ERR_INVALID,
                            "WEIR_S2_ENDPOINT: required with WEIR_STREAM_BACKEND=remote");
    if (!cfg->s2_access_token)
        return wr_error_set(out_err, WR_ERR_INVALID,
                            "WEIR_S2_ACCESS_TOKEN: required with WEIR_STREAM_BACKEND=remote");
    if ((e = http_url("WEIR_S2_ENDPOINT", cfg->s2_endpoint, out->s2_endpoint, out_err)) ||
        (cfg->s2_basin_endpoint && (e = http_url("WEIR_S2_BASIN_ENDPOINT", cfg->s2_basin_endpoint,
                                                 out->s2_basin_endpoint, out_err))))
        return e;
    char pub[256];
    const char *p = cfg->s2_public_endpoint     ? cfg->s2_public_endpoint
                    : out->s2_basin_endpoint[0] ? out->s2_basin_endpoint
                                                : out->s2_endpoint;
    if ((e = http_url("WEIR_S2_PUBLIC_ENDPOINT", p, pub, out_err)))
        return e;
    size_t n = strlen(pub);
    bool has_v1 = n >= 3 && strcmp(pub + n - 3, "/v1") == 0;
    snprintf(out->s2_public, sizeof(out->s2_public), "%s%s", pub, has_v1 ? "" : "/v1");
    out->s2_timeout_ms = cfg->s2_timeout_s * 1000;
    return WR_OK;
}

wr_err
wr_rt_config_from(const wr_rt_settings *cfg, wr_rt_config *out, wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    wr_err e;
    if (!wr_basin_name_valid(cfg->global_basin))
        return wr_error_set(out_err, WR_ERR_INVALID,
                            "WEIR_GLOBAL_BASIN: `%s` is not a valid basin name (8-48 characters of "
                            "[a-z0-9-], starting and ending with a letter or digit)",
                            cfg->global_basin);
    strcpy(out->global_basin, cfg->global_basin);
    if (!charset_ok(cfg->basin_name_prefix))
        return wr_error_set(out_err, WR_ERR_INVALID, "WEIR_BASIN_NAME_PREFIX: use [a-z0-9-]");
    if (!charset_ok(cfg->basin_name_env))
        return wr_error_set(out_err, WR_ERR_INVALID, "WEIR_BASIN_NAME_ENV: use [a-z0-9-]");
    if ((e = copy_name(out->name_prefix, sizeof(out->name_prefix), cfg->basin_name_prefix,
                       "WEIR_BASIN_NAME_PREFIX", out_err)) ||
        (e = copy_name(out->name_env, sizeof(out->name_env), cfg->basin_name_env,
                       "WEIR_BASIN_NAME_ENV", out_err)))
        return e;
    /* Every organization's basin name must be valid: check the longest form. */
    char sample[128];
    char org[WR_RT_ORG_ID_LEN + 1];
    memset(org, 'a', WR_RT_ORG_ID_LEN);
    org[WR_RT_ORG_ID_LEN] = '\0';
    snprintf(sample, sizeof(sample), "%s-%s-org-%s", out->name_prefix, out->name_env, org);
    if (!wr_basin_name_valid(sample))
        return wr_error_set(out_err, WR_ERR_INVALID,
                            "WEIR_BASIN_NAME_PREFIX/WEIR_BASIN_NAME_ENV: per-organization basin "
                            "names would be invalid (e.g. `%s`: at most 48 characters, starting "
                            "with a letter or digit)",
                            sample);
    if (!wr_storage_class_parse(cfg->basin_storage_class, &out->storage_class))
        return wr_error_set(out_err, WR_ERR_INVALID,
                            "WEIR_BASIN_STORAGE_CLASS: must be standard or express");
    wr_error perr = {0};
    if (wr_rt_parse_plans(cfg->plan_retention, out->plans, WR_RT_MAX_PLANS, &out->n_plans, &perr))
        return wr_error_set(out_err, WR_ERR_INVALID, "WEIR_PLAN_RETENTION: %s", perr.msg);
    out->per_org_basins = cfg->per_org_basins;
    out->default_retention_s = cfg->basin_default_retention_s;
    out->doe_min_age_s = cfg->basin_doe_min_age_s;
    out->token_ttl_s = cfg->stream_token_ttl_s;
    out->wait_seconds = cfg->wait_seconds;
    out->flush_interval_ms = cfg->flush_interval_ms;
    out->max_retries = cfg->max_retries;
    if (cfg->public_url &&
        (e = http_url("WEIR_PUBLIC_URL", cfg->public_url, out->public_url, out_err)) != WR_OK)
        return e;
    if ((e = backend_config(cfg, out, out_err)) != WR_OK)
        return e;
    if (wr_cidr_parse(cfg->trusted_proxies, &out->proxies, &perr) != WR_OK)
        return wr_error_set(out_err, WR_ERR_INVALID, "WEIR_TRUSTED_PROXIES: %s", perr.msg);
    return WR_OK;
}
