/*
 * config.c — the option table and the loader described in config.h.
 *
 * Loading is two passes so precedence is obvious: first each option's winning *text* is chosen
 * (flag, else environment, else default) along with the name to blame in an error, then each
 * winning text is parsed once by its kind's parser into the struct field. The table's FIELD()
 * macro checks at compile time that a row's kind matches its field's C type.
 */
#include "util/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/duration.h"
#include "util/mem.h"

enum kind {
    K_STRING,     /* char *, owned; must be non-empty */
    K_BOOL,       /* bool; a flag without a value means true */
    K_UINT,       /* uint64_t, plain decimal, within [min, max] */
    K_SIZE,       /* uint64_t bytes (duration.h size grammar), within [min, max] */
    K_DURATION,   /* uint64_t seconds (duration.h grammar), within [min, max] */
    K_LOG_LEVEL,  /* wr_log_level */
    K_HOSTPORT,   /* wr_hostport */
    K_AUTH,       /* bool auth_none: "tokens" (false) or "none" (true) */
    K_SECRET,     /* char *, owned; empty = unset (NULL); never shown in --help */
    K_OPT_STRING, /* char *, owned; empty = unset (NULL) */
    K_PROM,       /* wr_prom_endpoint: on, off or HOST:PORT */
    K_ONOFF,      /* bool: on or off (a value is required) */
};

struct opt {
    const char *flag;    /* without the leading "--"; NULL = environment only */
    const char *env;     /* NULL = flag only */
    const char *def;     /* default, as text */
    const char *metavar; /* shown in --help after the flag; NULL for booleans */
    enum kind kind;
    size_t off;
    uint64_t min, max; /* numeric kinds; max 0 = no upper bound */
    const char *help;
};

/* offsetof(wr_config, f), refusing to compile unless the field has type T. */
#define FIELD(f, T) (offsetof(wr_config, f) + 0 * sizeof(_Generic(((wr_config *)0)->f, T : 1)))

#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define DAY 86400ull

static const struct opt opts[] = {
    {"listen", "WEIR_LISTEN", "127.0.0.1:4243", "HOST:PORT", K_HOSTPORT, FIELD(listen, wr_hostport),
     0, 0,
     "Address to listen on: an IPv4 address, localhost, or a bracketed IPv6 address such as "
     "[::1]:4243. Port 0 picks a free port."},
    {"data-dir", "WEIR_DATA_DIR", "./data", "DIR", K_STRING, FIELD(data_dir, char *), 0, 0,
     "Directory holding the stream store; created if missing."},
    {"log-level", "WEIR_LOG_LEVEL", "info", "LEVEL", K_LOG_LEVEL, FIELD(log_level, wr_log_level), 0,
     0, "One of debug, info, warn, error, off."},
    {"no-cors", "WEIR_NO_CORS", "false", NULL, K_BOOL, FIELD(no_cors, bool), 0, 0,
     "Turn off the permissive CORS headers and preflight answers that are on by default."},
    {"max-connections", "WEIR_MAX_CONNECTIONS", "10000", "N", K_UINT,
     FIELD(max_connections, uint64_t), 1, 1000000,
     "Open client connections allowed at once; further ones are refused."},
    {"max-header-bytes", "WEIR_MAX_HEADER_BYTES", "16KiB", "SIZE", K_SIZE,
     FIELD(max_header_bytes, uint64_t), 1 * KIB, 1 * MIB,
     "Largest request line plus headers; bigger requests get 431."},
    {"max-body-bytes", "WEIR_MAX_BODY_BYTES", "8MiB", "SIZE", K_SIZE,
     FIELD(max_body_bytes, uint64_t), 1 * KIB, 64 * MIB,
     "Largest request body a route accepts unless it sets its own limit; bigger bodies get 413."},
    {"header-timeout", "WEIR_HEADER_TIMEOUT", "10s", "DURATION", K_DURATION,
     FIELD(header_timeout_s, uint64_t), 1, DAY,
     "Time a client has to send a complete request head before the connection is closed."},
    {"body-timeout", "WEIR_BODY_TIMEOUT", "60s", "DURATION", K_DURATION,
     FIELD(body_timeout_s, uint64_t), 1, DAY,
     "Time a client has, from the end of a request head, to send the whole body (HTTP/1.1 and "
     "each HTTP/2 stream); slower requests get 408."},
    {"idle-timeout", "WEIR_IDLE_TIMEOUT", "60s", "DURATION", K_DURATION,
     FIELD(idle_timeout_s, uint64_t), 1, DAY,
     "How long an idle keep-alive connection is kept open."},
    {"shutdown-timeout", "WEIR_SHUTDOWN_TIMEOUT", "10s", "DURATION", K_DURATION,
     FIELD(shutdown_timeout_s, uint64_t), 0, DAY,
     "On SIGTERM/SIGINT, how long in-flight requests may take to finish before exit."},
    {"append-inflight-bytes", "WEIR_APPEND_INFLIGHT_BYTES", "128MiB", "SIZE", K_SIZE,
     FIELD(append_inflight_bytes, uint64_t), 1 * MIB, 0,
     "Appended bytes that may await durability at once; further appends wait."},
    {"max-streams-per-basin", "WEIR_MAX_STREAMS_PER_BASIN", "1000000", "N", K_UINT,
     FIELD(max_streams_per_basin, uint64_t), 1, 0,
     "Streams one basin may hold; creating one more, explicitly or by auto-create, gets 403 "
     "quota_exhausted. A deleted stream counts until its cleanup has finished."},
    {"max-streams-per-env", "WEIR_MAX_STREAMS_PER_ENV", "100000", "N", K_UINT,
     FIELD(max_streams_per_env, uint64_t), 1, 0,
     "Streams one realtime environment may hold (names under org/{orgId}/env/{envSlug}/{envId}/ "
     "in the global basin, env/{envSlug}/{envId}/ in other basins); beyond it, 403 "
     "quota_exhausted."},
    {"stream-cache-entries", "WEIR_STREAM_CACHE_ENTRIES", "100000", "N", K_UINT,
     FIELD(stream_cache_entries, uint64_t), 1, 100000000,
     "Streams whose state is kept in memory; idle streams beyond it are dropped, least recently "
     "used first, and reloaded from disk on their next use."},
    {"maintenance-interval", "WEIR_MAINTENANCE_INTERVAL", "60s", "DURATION", K_DURATION,
     FIELD(maint_interval_s, uint64_t), 1, DAY,
     "How often the storage maintenance pass runs (±10 %): it reclaims expired and trimmed "
     "records and finishes stream and basin deletions."},
    {"auth", "WEIR_AUTH", "tokens", "MODE", K_AUTH, FIELD(auth_none, bool), 0, 0,
     "tokens: every /v1 request needs a valid access token (Authorization: Bearer). none: an "
     "emulator mode that accepts any token; never expose it beyond a trusted machine."},
    {NULL, "WEIR_ROOT_TOKEN", "", NULL, K_SECRET, FIELD(root_token, char *), 0, 0,
     "The root access token (all permissions). When unset, one is generated on first start and "
     "kept in <data-dir>/root_token (mode 0600)."},
    {NULL, "WEIR_SECRET_KEY", "", NULL, K_SECRET, FIELD(secret_key, char *), 0, 0,
     "The key that encrypts environment API keys at rest: 64 hex digits or 32 bytes in base64. "
     "When unset, one is generated on first start into <data-dir>/secret_key (mode 0600)."},
    /* The realtime layer (realtime.md §2); cross-field rules are checked in realtime/config.c. */
    {"global-basin", "WEIR_GLOBAL_BASIN", "weir-shared", "BASIN", K_STRING,
     FIELD(global_basin, char *), 0, 0,
     "The shared basin for organizations without their own; created at start if missing."},
    {"per-org-basins", "WEIR_PER_ORG_BASINS", "false", NULL, K_BOOL, FIELD(per_org_basins, bool), 0,
     0, "Allow provisioning and reconfiguring per-organization basins."},
    {"basin-name-prefix", "WEIR_BASIN_NAME_PREFIX", "weir", "TEXT", K_STRING,
     FIELD(basin_name_prefix, char *), 0, 0,
     "Per-organization basins are named {prefix}-{env}-org-{orgId}; [a-z0-9-] only."},
    {"basin-name-env", "WEIR_BASIN_NAME_ENV", "dev", "TEXT", K_STRING,
     FIELD(basin_name_env, char *), 0, 0, "The {env} part of per-organization basin names."},
    {"basin-default-retention", "WEIR_BASIN_DEFAULT_RETENTION", "30d", "DURATION", K_DURATION,
     FIELD(basin_default_retention_s, uint64_t), 1, 0,
     "Retention of a provisioned basin when the request names none."},
    {"basin-storage-class", "WEIR_BASIN_STORAGE_CLASS", "express", "CLASS", K_STRING,
     FIELD(basin_storage_class, char *), 0, 0,
     "Storage class of provisioned basins: standard or express."},
    {"basin-delete-on-empty-min-age", "WEIR_BASIN_DELETE_ON_EMPTY_MIN_AGE", "1h", "DURATION",
     K_DURATION, FIELD(basin_doe_min_age_s, uint64_t), 0, 0,
     "delete_on_empty.min_age of provisioned basins' streams."},
    {"plan-retention", "WEIR_PLAN_RETENTION", "free=shared,hobby=30d,pro=365d", "MAP", K_STRING,
     FIELD(plan_retention, char *), 0, 0,
     "Plan to retention: plan=DURATION, or plan=shared for no own basin; comma-separated."},
    {"stream-token-ttl", "WEIR_STREAM_TOKEN_TTL", "1d", "DURATION", K_DURATION,
     FIELD(stream_token_ttl_s, uint64_t), 60, 0,
     "Lifetime of environment-wide write tokens for secret-key callers (tokens for public-token "
     "callers live at most 15 minutes)."},
    {"wait-seconds", "WEIR_WAIT_SECONDS", "60", "N", K_UINT, FIELD(wait_seconds, uint64_t), 1, 600,
     "Default long-poll of realtime SSE reads, in seconds."},
    {"flush-interval-ms", "WEIR_FLUSH_INTERVAL_MS", "200", "N", K_UINT,
     FIELD(flush_interval_ms, uint64_t), 1, 60000, "Passed to writers in X-S2-Flush-Interval-Ms."},
    {"max-retries", "WEIR_MAX_RETRIES", "10", "N", K_UINT, FIELD(max_retries, uint64_t), 0, 1000,
     "Passed to writers in X-S2-Max-Retries."},
    {"stream-backend", "WEIR_STREAM_BACKEND", "embedded", "KIND", K_STRING,
     FIELD(stream_backend, char *), 0, 0,
     "Where the realtime layer keeps its streams: embedded (this server's store) or remote (an "
     "S2-compatible endpoint: --s2-endpoint and WEIR_S2_ACCESS_TOKEN)."},
    {"s2-endpoint", "WEIR_S2_ENDPOINT", "", "URL", K_OPT_STRING, FIELD(s2_endpoint, char *), 0, 0,
     "The remote S2 account endpoint (e.g. https://aws.s2.dev or http://host:port), with or "
     "without /v1."},
    {"s2-basin-endpoint", "WEIR_S2_BASIN_ENDPOINT", "", "URL", K_OPT_STRING,
     FIELD(s2_basin_endpoint, char *), 0, 0,
     "The remote basin endpoint when it differs from the account endpoint; may contain {basin} "
     "(e.g. https://{basin}.b.aws.s2.dev)."},
    {NULL, "WEIR_S2_ACCESS_TOKEN", "", NULL, K_SECRET, FIELD(s2_access_token, char *), 0, 0,
     "The access token of the remote S2 endpoint (environment only; never logged). It must be "
     "allowed to create and reconfigure basins and streams, append, read and trim, and issue, "
     "list and revoke tokens under the rt- prefix."},
    {"s2-timeout", "WEIR_S2_TIMEOUT", "10s", "DURATION", K_DURATION, FIELD(s2_timeout_s, uint64_t),
     1, 600, "Time a request to the remote S2 endpoint may take before clients get 504."},
    {"s2-public-endpoint", "WEIR_S2_PUBLIC_ENDPOINT", "", "URL", K_OPT_STRING,
     FIELD(s2_public_endpoint, char *), 0, 0,
     "The S2 endpoint writers are sent to (X-S2-Endpoint) with the remote backend; defaults to "
     "--s2-basin-endpoint, else --s2-endpoint."},
    {"public-url", "WEIR_PUBLIC_URL", "", "URL", K_OPT_STRING, FIELD(public_url, char *), 0, 0,
     "The URL clients reach this server at (e.g. https://streams.example.com), for the "
     "X-S2-Endpoint handed to writers. Unset: taken from X-Forwarded-Proto/Forwarded of a "
     "trusted proxy, else http://<Host>."},
    {"trusted-proxies", "WEIR_TRUSTED_PROXIES", "", "CIDRS", K_OPT_STRING,
     FIELD(trusted_proxies, char *), 0, 0,
     "Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-Proto, "
     "X-Forwarded-Host and Forwarded headers are believed. Unset: none."},
    /* Usage, metrics and logs (operations.md). */
    {"location", "WEIR_LOCATION", "local", "NAME", K_STRING, FIELD(location, char *), 0, 0,
     "The one location /v1/locations answers; basins are created in it."},
    {"usage-flush-interval-ms", "WEIR_USAGE_FLUSH_INTERVAL_MS", "5000", "N", K_UINT,
     FIELD(usage_flush_ms, uint64_t), 10, 600000,
     "How often usage counts are written to disk (one synced write each); a crash loses at most "
     "this much usage."},
    {"usage-sample-interval", "WEIR_USAGE_SAMPLE_INTERVAL", "10m", "DURATION", K_DURATION,
     FIELD(usage_sample_s, uint64_t), 60, DAY,
     "How often every stream's storage is measured for the usage series."},
    {"usage-retention", "WEIR_USAGE_RETENTION", "35d", "DURATION", K_DURATION,
     FIELD(usage_retention_s, uint64_t), DAY, 0,
     "How long hourly and daily usage rows and storage samples are kept."},
    {"usage-minute-retention", "WEIR_USAGE_MINUTE_RETENTION", "2d", "DURATION", K_DURATION,
     FIELD(usage_minute_retention_s, uint64_t), 3600, 0,
     "How long per-minute usage rows are kept."},
    {"prometheus", "WEIR_PROMETHEUS", "on", "on|off|HOST:PORT", K_PROM,
     FIELD(prometheus, wr_prom_endpoint), 0, 0,
     "GET /metrics in Prometheus text format, without authentication: on (on the main "
     "listener), off, or HOST:PORT (only on a separate listener there)."},
    {"access-log", "WEIR_ACCESS_LOG", "stderr", "off|stderr|FILE", K_STRING,
     FIELD(access_log, char *), 0, 0,
     "One line per request (method, route, status, bytes, duration, request id): off, stderr "
     "(at level info), or appended to FILE."},
    {"console", "WEIR_CONSOLE", "on", "on|off", K_ONOFF, FIELD(console, bool), 0, 0,
     "The web console at /console (static pages that call the public API with the token you "
     "sign in with): on or off."},
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

/* ---- value parsers: each writes the field or sets a message (without the option name) ---- */

static bool
parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "true", "yes"};
    static const char *no[] = {"0", "false", "no"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool
parse_u64(const char *s, uint64_t *out)
{
    if (*s == '\0')
        return false;
    uint64_t n = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        uint64_t d = (uint64_t)(*s - '0');
        if (n > (UINT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

static bool
parse_hostport(const char *s, wr_hostport *out)
{
    const char *host = s, *colon;
    size_t hlen;
    bool v6 = s[0] == '[';
    if (v6) {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return false;
        host = s + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return false;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= sizeof(out->host))
        return false;
    char h[sizeof(out->host)];
    memcpy(h, host, hlen);
    h[hlen] = '\0';
    unsigned char addr[16];
    if (v6) {
        if (inet_pton(AF_INET6, h, addr) != 1)
            return false;
    } else if (strcasecmp(h, "localhost") == 0) {
        memcpy(h, "localhost", sizeof("localhost"));
    } else if (inet_pton(AF_INET, h, addr) != 1) {
        return false;
    }
    uint64_t port;
    if (strlen(colon + 1) > 5 || !parse_u64(colon + 1, &port) || port > 65535)
        return false;
    memcpy(out->host, h, hlen + 1);
    out->port = (uint16_t)port;
    return true;
}

static void
fmt_bound(const struct opt *o, uint64_t v, char out[32])
{
    if (o->kind == K_SIZE)
        wr_size_format(v, out);
    else if (o->kind == K_DURATION)
        wr_duration_format(v, out);
    else
        snprintf(out, 32, "%" PRIu64, v);
}

/* Parses a numeric kind and checks its bounds. */
static bool
parse_number(const struct opt *o, const char *s, uint64_t *out, char *msg, size_t msg_len)
{
    uint64_t v;
    bool ok = false;
    if (o->kind == K_UINT) {
        ok = parse_u64(s, &v);
        if (!ok)
            snprintf(msg, msg_len, "must be a non-negative integer");
    } else {
        wr_error e;
        ok = (o->kind == K_SIZE ? wr_size_parse(s, &v, &e) : wr_duration_parse(s, &v, &e)) == WR_OK;
        if (!ok) {
            size_t n = strnlen(e.msg, msg_len - 1);
            memcpy(msg, e.msg, n);
            msg[n] = '\0';
        }
    }
    if (!ok)
        return false;
    if (v < o->min || (o->max != 0 && v > o->max)) {
        char lo[32], hi[32];
        fmt_bound(o, o->min, lo);
        fmt_bound(o, o->max, hi);
        if (o->max != 0)
            snprintf(msg, msg_len, "must be between %s and %s", lo, hi);
        else
            snprintf(msg, msg_len, "must be at least %s", lo);
        return false;
    }
    *out = v;
    return true;
}

static bool
parse_value(const struct opt *o, const char *s, wr_config *cfg, char *msg, size_t msg_len)
{
    void *field = (char *)cfg + o->off;
    switch (o->kind) {
    case K_STRING:
        if (*s == '\0') {
            snprintf(msg, msg_len, "must not be empty");
            return false;
        }
        free(*(char **)field);
        *(char **)field = wr_xstrdup(s);
        return true;
    case K_SECRET:
    case K_OPT_STRING:
        free(*(char **)field);
        *(char **)field = *s ? wr_xstrdup(s) : NULL;
        return true;
    case K_AUTH:
        if (strcmp(s, "tokens") != 0 && strcmp(s, "none") != 0) {
            snprintf(msg, msg_len, "must be tokens or none");
            return false;
        }
        *(bool *)field = strcmp(s, "none") == 0;
        return true;
    case K_BOOL:
        if (!parse_bool(s, field)) {
            snprintf(msg, msg_len, "must be one of 1, 0, true, false, yes, no");
            return false;
        }
        return true;
    case K_UINT:
    case K_SIZE:
    case K_DURATION:
        return parse_number(o, s, field, msg, msg_len);
    case K_LOG_LEVEL: {
        char low[8];
        size_t n = strlen(s);
        int level = -1;
        if (n < sizeof(low)) {
            for (size_t i = 0; i <= n; i++)
                low[i] = (char)tolower((unsigned char)s[i]);
            level = wr_log_parse_level(low);
        }
        if (level < 0) {
            snprintf(msg, msg_len, "must be one of debug, info, warn, error, off");
            return false;
        }
        *(wr_log_level *)field = (wr_log_level)level;
        return true;
    }
    case K_PROM: {
        wr_prom_endpoint *pe = field;
        if (strcmp(s, "on") == 0 || strcmp(s, "off") == 0) {
            pe->mode = strcmp(s, "on") == 0 ? WR_PROM_ON : WR_PROM_OFF;
            return true;
        }
        if (!parse_hostport(s, &pe->addr)) {
            snprintf(msg, msg_len, "must be on, off or HOST:PORT");
            return false;
        }
        pe->mode = WR_PROM_LISTEN;
        return true;
    }
    case K_ONOFF:
        if (strcasecmp(s, "on") != 0 && strcasecmp(s, "off") != 0) {
            snprintf(msg, msg_len, "must be on or off");
            return false;
        }
        *(bool *)field = strcasecmp(s, "on") == 0;
        return true;
    case K_HOSTPORT:
        if (!parse_hostport(s, field)) {
            snprintf(msg, msg_len,
                     "must be HOST:PORT with HOST an IPv4 address, localhost or [IPv6 address] "
                     "and PORT 0-65535");
            return false;
        }
        return true;
    }
    return false;
}

/* ---- the loader ---- */

enum source { SRC_DEFAULT, SRC_ENV, SRC_FLAG };

static const struct opt *
find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (opts[i].flag && strlen(opts[i].flag) == len && memcmp(opts[i].flag, name, len) == 0)
            return &opts[i];
    return NULL;
}

/* Parses every option's default; only fails if the table itself is wrong. */
static wr_err
apply_defaults(wr_config *cfg, wr_error *out_err)
{
    char msg[200];
    for (size_t i = 0; i < N_OPTS; i++)
        if (!parse_value(&opts[i], opts[i].def, cfg, msg, sizeof(msg)))
            return wr_error_set(out_err, WR_ERR_INVALID, "default of %s: %s",
                                opts[i].flag ? opts[i].flag : opts[i].env, msg);
    return WR_OK;
}

/*
 * Scans argv, recording each given flag's text in val[]/src[]. Returns WR_OK, with *out_help set
 * when -h/--help was seen (scanning stops there).
 */
static wr_err
scan_args(int argc, char **argv, const char **val, enum source *src, bool *out_help,
          wr_error *out_err)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *out_help = true;
            return WR_OK;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return wr_error_set(out_err, WR_ERR_INVALID, "unexpected argument '%s' (see --help)",
                                a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt *o = find_flag(name, nlen);
        if (o == NULL)
            return wr_error_set(out_err, WR_ERR_INVALID, "unknown option --%.*s (see --help)",
                                (int)nlen, name);
        const char *v;
        if (eq)
            v = eq + 1;
        else if (o->kind == K_BOOL)
            v = "true";
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            v = argv[++i];
        else
            return wr_error_set(out_err, WR_ERR_INVALID, "--%s: missing value (%s)", o->flag,
                                o->metavar);
        val[o - opts] = v;
        src[o - opts] = SRC_FLAG;
    }
    return WR_OK;
}

wr_err
wr_config_load(wr_config *cfg, int argc, char **argv, wr_error *out_err)
{
    const char *val[N_OPTS];
    enum source src[N_OPTS];
    char msg[200];
    bool help = false;
    wr_err err;

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < N_OPTS; i++) {
        const char *e = opts[i].env ? getenv(opts[i].env) : NULL;
        val[i] = opts[i].def;
        src[i] = SRC_DEFAULT;
        if (e && *e) {
            val[i] = e;
            src[i] = SRC_ENV;
        }
    }
    err = scan_args(argc, argv, val, src, &help, out_err);
    if (err != WR_OK)
        goto out;
    if (help) {
        err = apply_defaults(cfg, out_err);
        cfg->help = true;
        goto out;
    }
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        if (parse_value(o, val[i], cfg, msg, sizeof(msg)))
            continue;
        if (src[i] == SRC_FLAG)
            err = wr_error_set(out_err, WR_ERR_INVALID, "--%s: %s", o->flag, msg);
        else if (src[i] == SRC_ENV)
            err = wr_error_set(out_err, WR_ERR_INVALID, "%s: %s", o->env, msg);
        else
            err = wr_error_set(out_err, WR_ERR_INVALID, "default of %s: %s",
                               o->flag ? o->flag : o->env, msg);
        goto out;
    }
out:
    if (err != WR_OK)
        wr_config_fini(cfg);
    return err;
}

void
wr_config_fini(wr_config *cfg)
{
    for (size_t i = 0; i < N_OPTS; i++) {
        if (opts[i].kind != K_STRING && opts[i].kind != K_SECRET && opts[i].kind != K_OPT_STRING)
            continue;
        char **p = (char **)((char *)cfg + opts[i].off);
        free(*p);
        *p = NULL;
    }
}

/* Writes text indented by `indent` spaces, wrapped at word boundaries before column 80. */
static void
print_wrapped(FILE *f, int indent, const char *text)
{
    const int width = 80 - indent;
    const char *p = text;
    while (*p) {
        int n = (int)strlen(p);
        if (n > width) {
            n = width;
            while (n > 0 && p[n] != ' ')
                n--;
            if (n == 0) /* one word longer than the line: print it whole */
                n = (int)strcspn(p, " ");
        }
        fprintf(f, "%*s%.*s\n", indent, "", n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

void
wr_config_print_help(FILE *f)
{
    fprintf(f, "Options for `weir serve`:\n");
    print_wrapped(f, 2,
                  "Each option can also be set with its environment variable. A flag overrides "
                  "the environment, which overrides the default. DURATION is an integer and a "
                  "unit (s, m, h, d, w, y), e.g. 30s, 5m, 7d. SIZE is a number of bytes, "
                  "optionally with K/KiB, M/MiB or G/GiB, e.g. 64KiB, 8MiB.");
    fprintf(f, "\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        const struct opt *o = &opts[i];
        if (o->flag)
            fprintf(f, "  --%s%s%s\n", o->flag, o->metavar ? " " : "",
                    o->metavar ? o->metavar : "");
        else
            fprintf(f, "  (environment only)\n");
        fprintf(f, "      env %s, default %s", o->env ? o->env : "(none)", o->def);
        if (o->kind == K_UINT || o->kind == K_SIZE || o->kind == K_DURATION) {
            char lo[32], hi[32];
            fmt_bound(o, o->min, lo);
            fmt_bound(o, o->max, hi);
            if (o->max)
                fprintf(f, ", range %s to %s", lo, hi);
            else
                fprintf(f, ", at least %s", lo);
        }
        fprintf(f, "\n");
        print_wrapped(f, 6, o->help);
    }
    fprintf(f, "  -h, --help\n      Print this help and exit.\n");
}
