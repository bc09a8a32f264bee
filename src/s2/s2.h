/*
 * s2.h — the S2 v1 API (/v1/...) on top of the store: account-level basin routes, basin-level
 * stream and record routes, unary JSON, and SSE read sessions.
 *
 * Handlers only decode, call the store and encode; every storage rule lives in src/store/.
 * Threading: loop thread only, like the store.
 */
#ifndef WR_S2_S2_H
#define WR_S2_S2_H

#include "auth/auth.h"
#include "http/router.h"
#include "store/store.h"

typedef struct wr_s2 wr_s2;

/* Creates the API context and registers its routes on `r`. Store and auth must outlive it. */
wr_s2 *wr_s2_new(wr_router *r, wr_store *store, wr_auth *auth, uv_loop_t *loop);
void wr_s2_free(wr_s2 *s2);

#endif
