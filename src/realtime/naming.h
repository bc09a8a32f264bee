/*
 * naming.h — where a realtime stream lives (realtime.md §4): which basin, and under which stream
 * name. Pure functions; any thread.
 *
 * Basin precedence: the row's stamp (run, or session) → the organization's basin, consulted ONLY
 * when no row exists → the global basin. A row whose stamp is null lives in the global basin
 * even if its organization has a basin now: the stamp is never rewritten.
 *
 * Stream prefixes: in an organization's own basin `env/{envSlug}/{envId}`; in the shared basin,
 * which many tenants share, `org/{orgId}/env/{envSlug}/{envId}`.
 */
#ifndef WR_REALTIME_NAMING_H
#define WR_REALTIME_NAMING_H

#include <stdbool.h>
#include <stddef.h>

#define WR_RT_NAME_MAX 512

/* "{prefix}-{env}-org-{orgId}" into out (49 bytes). */
void wr_rt_org_basin_name(const char *prefix, const char *env, const char *org_id, char out[49]);

/*
 * The basin of a stream. `row_exists`: a run (for run streams) or session (for channels) row
 * exists; `row_basin` is its stamp (NULL = null stamp). `org_basin` is the organization's
 * current basin (NULL = none).
 */
const char *wr_rt_resolve_basin(const char *global_basin, bool row_exists, const char *row_basin,
                                const char *org_basin);

/* The environment's stream prefix in `basin`. */
void wr_rt_stream_prefix(const char *basin, const char *global_basin, const char *org_id,
                         const char *env_slug, const char *env_id, char *out, size_t cap);

/*
 * The length of the environment prefix that starts `stream` in `basin`, including its final '/':
 * `org/{orgId}/env/{envSlug}/{envId}/` in the global basin, `env/{envSlug}/{envId}/` in any other
 * one, each part non-empty and free of '/'. 0 when the name does not start that way (it belongs
 * to no environment). For the store's per-environment stream limit (wr_store_opts.group_len):
 * every name that starts with such a prefix P gets strlen(P) back.
 */
size_t wr_rt_stream_group_len(const char *global_basin, const char *basin, const char *stream);

/* {prefix}/runs/{runId}/{streamId}; input streams: {prefix}/runs/{runId}/$trigger.input:{id}. */
void wr_rt_run_stream(const char *prefix, const char *run_id, const char *stream_id, bool input,
                      char *out, size_t cap);
/* {prefix}/sessions/{key}/{io} where key = externalId ?? sessionId (or the raw URL key). */
void wr_rt_session_channel(const char *prefix, const char *key, const char *io, char *out,
                           size_t cap);

#endif
