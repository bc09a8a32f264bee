/*
 * settings.h — the store's options (flags and WEIR_* variables, util/config.h): memory and
 * quota bounds, maintenance, and the usage series. The program turns them into wr_store_opts
 * (store/store.h). Two tables, listed apart in --help: the store's, and usage.
 */
#ifndef WR_STORE_SETTINGS_H
#define WR_STORE_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/config.h"

typedef struct wr_store_settings {
    uint64_t append_inflight_bytes;    /* --append-inflight-bytes */
    uint64_t max_streams_per_basin;    /* --max-streams-per-basin */
    uint64_t max_streams_per_env;      /* --max-streams-per-env: per realtime environment */
    uint64_t stream_cache_entries;     /* --stream-cache-entries */
    uint64_t maint_interval_s;         /* --maintenance-interval */
    int commit_mode;                   /* --commit-mode: a wr_store_commit_mode */
    char *location;                    /* --location */
    uint64_t usage_flush_ms;           /* --usage-flush-interval-ms */
    uint64_t usage_sample_s;           /* --usage-sample-interval */
    uint64_t usage_retention_s;        /* --usage-retention */
    uint64_t usage_minute_retention_s; /* --usage-minute-retention */
} wr_store_settings;

extern const wr_opt_table wr_store_settings_table;

/* --commit-mode's words: "auto", "thread" or "loop" → *out = the wr_store_commit_mode; false for
 * anything else (*out untouched). */
bool wr_store_commit_mode_parse(const char *s, int *out);
/* Usage, metrics and the location (operations.md). */
extern const wr_opt_table wr_store_usage_settings_table;

#endif
