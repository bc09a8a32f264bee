/*
 * settings.c — the store's option tables (see settings.h).
 */
#include "store/settings.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

#define FIELD(f, T) WR_OPT_FIELD(wr_store_settings, f, T)

bool
wr_store_commit_mode_parse(const char *s, int *out)
{
    static const char *const names[] = {
        [WR_STORE_COMMIT_AUTO] = "auto",
        [WR_STORE_COMMIT_THREAD] = "thread",
        [WR_STORE_COMMIT_LOOP] = "loop",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return true;
        }
    }
    return false;
}

static bool
parse_commit_mode(const char *s, void *field, char *msg, size_t msg_len)
{
    if (wr_store_commit_mode_parse(s, field))
        return true;
    snprintf(msg, msg_len, "must be auto, thread or loop");
    return false;
}

static const wr_opt store_rows[] = {
    {"append-inflight-bytes", "WEIR_APPEND_INFLIGHT_BYTES", "128MiB", "SIZE", WR_OPT_SIZE,
     FIELD(append_inflight_bytes, uint64_t), 1 * WR_OPT_MIB, 0,
     "Appended bytes that may await durability at once; further appends wait."},
    {"max-streams-per-basin", "WEIR_MAX_STREAMS_PER_BASIN", "1000000", "N", WR_OPT_UINT,
     FIELD(max_streams_per_basin, uint64_t), 1, 0,
     "Streams one basin may hold; creating one more, explicitly or by auto-create, gets 403 "
     "quota_exhausted. A deleted stream counts until its cleanup has finished."},
    {"max-streams-per-env", "WEIR_MAX_STREAMS_PER_ENV", "100000", "N", WR_OPT_UINT,
     FIELD(max_streams_per_env, uint64_t), 1, 0,
     "Streams one realtime environment may hold (names under org/{orgId}/env/{envSlug}/{envId}/ "
     "in the global basin, env/{envSlug}/{envId}/ in other basins); beyond it, 403 "
     "quota_exhausted."},
    {"stream-cache-entries", "WEIR_STREAM_CACHE_ENTRIES", "100000", "N", WR_OPT_UINT,
     FIELD(stream_cache_entries, uint64_t), 1, 100000000,
     "Streams whose state is kept in memory; idle streams beyond it are dropped, least recently "
     "used first, and reloaded from disk on their next use."},
    {"maintenance-interval", "WEIR_MAINTENANCE_INTERVAL", "60s", "DURATION", WR_OPT_DURATION,
     FIELD(maint_interval_s, uint64_t), 1, WR_OPT_DAY,
     "How often the storage maintenance pass runs (±10 %): it reclaims expired and trimmed "
     "records and finishes stream and basin deletions."},
    {"commit-mode", "WEIR_COMMIT_MODE", "auto", "auto|thread|loop", WR_OPT_CUSTOM,
     FIELD(commit_mode, int), 0, 0,
     "Who writes and syncs each group of appends: thread (the commit thread; the loop keeps "
     "serving while a group syncs), loop (the event loop itself writes groups under 64 KiB "
     "whenever the thread is idle: no thread hand-offs, cheapest on one core, but nothing else is "
     "served during such a sync), or auto: loop when the process may run on one CPU only (its "
     "affinity mask, e.g. taskset -c 0), thread otherwise.",
     .parse = parse_commit_mode},
};

const wr_opt_table wr_store_settings_table = WR_OPT_TABLE(store_rows);

/* Usage, metrics and the location (operations.md). */
static const wr_opt usage_rows[] = {
    {"location", "WEIR_LOCATION", "local", "NAME", WR_OPT_STRING, FIELD(location, char *), 0, 0,
     "The one location /v1/locations answers; basins are created in it."},
    {"usage-flush-interval-ms", "WEIR_USAGE_FLUSH_INTERVAL_MS", "5000", "N", WR_OPT_UINT,
     FIELD(usage_flush_ms, uint64_t), 10, 600000,
     "How often usage counts are written to disk (one synced write each); a crash loses at most "
     "this much usage."},
    {"usage-sample-interval", "WEIR_USAGE_SAMPLE_INTERVAL", "10m", "DURATION", WR_OPT_DURATION,
     FIELD(usage_sample_s, uint64_t), 60, WR_OPT_DAY,
     "How often every stream's storage is measured for the usage series."},
    {"usage-retention", "WEIR_USAGE_RETENTION", "35d", "DURATION", WR_OPT_DURATION,
     FIELD(usage_retention_s, uint64_t), WR_OPT_DAY, 0,
     "How long hourly and daily usage rows and storage samples are kept."},
    {"usage-minute-retention", "WEIR_USAGE_MINUTE_RETENTION", "2d", "DURATION", WR_OPT_DURATION,
     FIELD(usage_minute_retention_s, uint64_t), 3600, 0,
     "How long per-minute usage rows are kept."},
};

const wr_opt_table wr_store_usage_settings_table = WR_OPT_TABLE(usage_rows);
