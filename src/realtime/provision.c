/*
 * provision.c — per-organization basins (realtime.md §3): ensure, deprovision.
 *
 * Crash safety: the basin is created before the organization is stamped. A crash between the
 * two leaves a basin and an unstamped organization; the retry finds "already exists", treats it
 * as success, reapplies the requested configuration and stamps, so it converges.
 */
#include <string.h>

#include "realtime/naming.h"
#include "realtime/rt_int.h"
#include "util/log.h"

static void
basin_config(const wr_rt_config *c, uint64_t retention_s, wr_basin_config *out)
{
    memset(out, 0, sizeof(*out));
    out->create_stream_on_append = true;
    out->create_stream_on_read = true;
    out->has_default_stream_config = true;
    wr_stream_config *d = &out->default_stream_config;
    d->storage_class = c->storage_class;
    d->retention = WR_RETENTION_AGE;
    d->retention_age_secs = retention_s;
    d->has_doe = true;
    d->doe_min_age_secs = c->doe_min_age_s;
}

/* Sets the basin's default retention (new streams), and the streams' own when asked. */
static wr_err
reconfigure(wr_rt *rt, const char *basin, uint64_t retention_s, bool apply_to_existing,
            wr_error *out_err)
{
    wr_basin_config_patch bp = {0};
    bp.default_stream_config_op = WR_PATCH_SET;
    bp.default_stream_config.retention_op = WR_PATCH_SET;
    bp.default_stream_config.retention = WR_RETENTION_AGE;
    bp.default_stream_config.retention_age_secs = retention_s;
    wr_basin_config cfg;
    wr_err e = wr_store_basin_reconfigure(rt->store, basin, &bp, &cfg, out_err);
    if (e != WR_OK || !apply_to_existing)
        return e;
    wr_stream_config_patch sp = bp.default_stream_config;
    char *after = NULL;
    for (;;) {
        wr_stream_list l = {0};
        if ((e = wr_store_stream_list(rt->store, basin, NULL, after, 1000, &l, out_err)) != WR_OK)
            break;
        for (size_t i = 0; i < l.n && e == WR_OK; i++) {
            wr_stream_config sc;
            wr_error err = {0};
            if (l.items[i].deleted)
                continue;
            e = wr_store_stream_reconfigure(rt->store, basin, l.items[i].name, &sp, &sc, &err);
            if (e == WR_ERR_STREAM_NOT_FOUND || e == WR_ERR_STREAM_DELETION_PENDING)
                e = WR_OK; /* went away meanwhile */
            else if (e != WR_OK && out_err)
                *out_err = err;
        }
        free(after);
        after = l.n ? strdup(l.items[l.n - 1].name) : NULL;
        bool more = l.has_more;
        wr_stream_list_fini(&l);
        if (e != WR_OK || !more)
            break;
    }
    free(after);
    return e;
}

wr_err
wr_rt_ensure(wr_rt *rt, const char *org_id, uint64_t retention_s, bool apply_to_existing,
             wr_rt_result *out, wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    if (retention_s == 0)
        retention_s = rt->cfg.default_retention_s;
    out->retention_s = retention_s;
    if (!rt->cfg.per_org_basins) {
        out->kind = "skipped";
        out->reason = "feature-disabled";
        return WR_OK;
    }
    wr_org org;
    wr_error err = {0};
    wr_err e = wr_meta_org_get(rt->meta, org_id, &org, &err);
    if (e == WR_ERR_NOT_FOUND) {
        out->kind = "skipped";
        out->reason = "org-not-found";
        return WR_OK;
    }
    if (e != WR_OK)
        return wr_error_set(out_err, WR_ERR_STORAGE, "%s", err.msg);
    if (org.has_basin) {
        strcpy(out->basin, org.basin);
        if ((e = reconfigure(rt, org.basin, retention_s, apply_to_existing, out_err)) != WR_OK)
            return e;
        out->kind = "reconfigured";
        return WR_OK;
    }
    wr_rt_org_basin_name(rt->cfg.name_prefix, rt->cfg.name_env, org_id, out->basin);
    wr_basin_config cfg;
    basin_config(&rt->cfg, retention_s, &cfg);
    wr_basin_info info;
    wr_provision prov;
    e = wr_store_basin_create(rt->store, out->basin, &cfg, NULL, &info, &prov, out_err);
    if (e == WR_ERR_RESOURCE_ALREADY_EXISTS) {
        /* A retry after a crash between create and stamp (or a basin made outside weir):
         * converge on the whole requested configuration, then the retention of its streams. */
        wr_basin_config_patch full = {0};
        full.create_stream_on_append_op = full.create_stream_on_read_op = WR_PATCH_SET;
        full.create_stream_on_append = full.create_stream_on_read = true;
        full.default_stream_config_op = WR_PATCH_SET;
        wr_stream_config_patch *d = &full.default_stream_config;
        d->storage_class_op = WR_PATCH_SET;
        d->storage_class = rt->cfg.storage_class;
        d->doe_op = d->doe_min_age_op = WR_PATCH_SET;
        d->doe_min_age_secs = rt->cfg.doe_min_age_s;
        wr_basin_config now;
        e = wr_store_basin_reconfigure(rt->store, out->basin, &full, &now, out_err);
        if (e == WR_OK)
            e = reconfigure(rt, out->basin, retention_s, apply_to_existing, out_err);
    }
    if (e != WR_OK)
        return e;
    if ((e = wr_meta_org_set_basin(rt->meta, org_id, out->basin, &err)) != WR_OK)
        return wr_error_set(out_err, WR_ERR_STORAGE, "%s", err.msg);
    /* The organization's streams resolve elsewhere now: its write tokens go. */
    if ((e = wr_rt_mint_revoke_org(rt->mint, org_id, out_err)) != WR_OK)
        return e;
    wr_log_info("provisioned a basin", " org=%s basin=%s retention_s=%llu", org_id, out->basin,
                (unsigned long long)retention_s);
    out->kind = "provisioned";
    return WR_OK;
}

wr_err
wr_rt_deprovision(wr_rt *rt, const char *org_id, wr_rt_result *out, wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    wr_org org;
    wr_error err = {0};
    wr_err e = wr_meta_org_get(rt->meta, org_id, &org, &err);
    if (e == WR_ERR_NOT_FOUND || (e == WR_OK && !org.has_basin)) {
        out->kind = "skipped";
        out->reason = e == WR_OK ? "no-basin" : "org-not-found";
        return WR_OK;
    }
    if (e != WR_OK || (e = wr_meta_org_set_basin(rt->meta, org_id, NULL, &err)) != WR_OK)
        return wr_error_set(out_err, WR_ERR_STORAGE, "%s", err.msg);
    if ((e = wr_rt_mint_revoke_org(rt->mint, org_id, out_err)) != WR_OK)
        return e;
    /* The basin and its streams stay and age out; rows stamped with it keep using it. */
    strcpy(out->basin, org.basin);
    out->kind = "deprovisioned";
    return WR_OK;
}
