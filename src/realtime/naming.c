/*
 * naming.c — see naming.h.
 */
#include "realtime/naming.h"

#include <stdio.h>
#include <string.h>

void
wr_rt_org_basin_name(const char *prefix, const char *env, const char *org_id, char out[49])
{
    snprintf(out, 49, "%s-%s-org-%s", prefix, env, org_id);
}

const char *
wr_rt_resolve_basin(const char *global_basin, bool row_exists, const char *row_basin,
                    const char *org_basin)
{
    if (row_exists)
        return row_basin ? row_basin : global_basin;
    return org_basin ? org_basin : global_basin;
}

void
wr_rt_stream_prefix(const char *basin, const char *global_basin, const char *org_id,
                    const char *env_slug, const char *env_id, char *out, size_t cap)
{
    if (strcmp(basin, global_basin) == 0)
        snprintf(out, cap, "org/%s/env/%s/%s", org_id, env_slug, env_id);
    else
        snprintf(out, cap, "env/%s/%s", env_slug, env_id);
}

void
wr_rt_run_stream(const char *prefix, const char *run_id, const char *stream_id, bool input,
                 char *out, size_t cap)
{
    snprintf(out, cap, "%s/runs/%s/%s%s", prefix, run_id, input ? "$trigger.input:" : "",
             stream_id);
}

void
wr_rt_session_channel(const char *prefix, const char *key, const char *io, char *out, size_t cap)
{
    snprintf(out, cap, "%s/sessions/%s/%s", prefix, key, io);
}

/* Matches `lit` at p, then a non-empty part ending in '/'; returns the position after that '/',
 * or NULL. */
static const char *
part(const char *p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(p, lit, n) != 0)
        return NULL;
    p += n;
    const char *slash = strchr(p, '/');
    return slash && slash > p ? slash + 1 : NULL;
}

size_t
wr_rt_stream_group_len(const char *global_basin, const char *basin, const char *stream)
{
    const char *p = stream;
    if (strcmp(basin, global_basin) == 0 && !(p = part(p, "org/")))
        return 0;
    if (!(p = part(p, "env/")) || !(p = part(p, "")))
        return 0;
    return (size_t)(p - stream);
}
