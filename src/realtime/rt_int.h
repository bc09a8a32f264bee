/*
 * rt_int.h — what the files of src/realtime/ share.
 */
#ifndef WR_REALTIME_RT_INT_H
#define WR_REALTIME_RT_INT_H

#include <jansson.h>
#include <stdlib.h>

#include "http/req.h"
#include "realtime/mint.h"
#include "realtime/rt.h"

struct wr_rt {
    wr_rt_config cfg;
    wr_meta *meta;
    wr_store *store;
    wr_auth *auth;
    wr_rt_mint *mint; /* scoped write tokens (mint.h) */
};

/* {"error": msg} with `status` (realtime routes use trigger.dev-style error bodies). */
void wr_rt_fail(wr_req *req, int status, const char *msg);
/* Maps a control-plane or store error to a status and answers it. */
void wr_rt_fail_err(wr_req *req, const wr_error *err);
/* A failed lookup of a row named in the URL: 404 `not_found` when there is no such row,
 * otherwise the error's own status. */
void wr_rt_fail_lookup(wr_req *req, const wr_error *err, const char *not_found);
/* A JSON object body, or NULL after answering 400 {"error":"Invalid JSON body"}. */
json_t *wr_rt_body(wr_req *req);
/* A new random id: `prefix` followed by lowercase letters and digits, `len` characters in all. */
void wr_rt_new_id(const char *prefix, size_t len, char *out);
/* A new environment secret key (malloc'd) and its SHA-256. */
char *wr_rt_new_api_key(uint8_t hash[32]);
void wr_rt_hash_key(const char *key, uint8_t hash[32]);

void wr_rt_admin_register(wr_rt *rt, wr_router *r);
void wr_rt_api_register(wr_rt *rt, wr_router *r);
void wr_rt_channels_register(wr_rt *rt, wr_router *r);

/* The environment whose secret key the request carries, or false after answering 401. */
bool wr_rt_env_auth(wr_req *req, wr_rt *rt, wr_env *out);

#endif
