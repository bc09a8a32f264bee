/*
 * postgres_int.h — what the two halves of the PostgreSQL backend share (module-internal):
 * postgres.c runs the operations over libpq; postgres_sql.c holds the SQL that is more than one
 * statement's text (the schema migrations, the session list query built per filter).
 *
 * Statements are named by S_<NAME>, generated with their SQL from STMT_MAP; `writes` says whether
 * a statement changes rows (postgres.c: a write that loses its connection mid-commit is in doubt).
 * Parameters are text (NULL is SQL NULL) except BYTEA, sent in binary; every value is borrowed
 * until the statement ran, except numbers, which are formatted into the params struct itself.
 */
#ifndef WR_META_POSTGRES_INT_H
#define WR_META_POSTGRES_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "meta/meta_int.h"
#include "util/buf.h"

/* ---- statements ----------------------------------------------------------------------------- */

#define ORG_COLS "id, slug, title, plan, stream_basin_name, created_at_ms, updated_at_ms"
#define PROJECT_COLS "id, slug, org_id, created_at_ms"
#define ENV_COLS "id, slug, project_id, org_id, api_key_hash, created_at_ms, api_key_enc"
#define RUN_COLS                                                                                   \
    "id, env_id, task_identifier, parent_run_id, root_run_id, completed_at_ms, "                   \
    "stream_basin_name, created_at_ms"
#define SESSION_COLS                                                                               \
    "id, env_id, external_id, type, task_identifier, metadata_json, tags_json, closed_at_ms, "     \
    "closed_reason, expires_at_ms, stream_basin_name, created_at_ms, stream_key, "                 \
    "trigger_config_json, current_run_id, updated_at_ms"

#define ENV_ORG_COLS                                                                               \
    "e.id, e.slug, e.project_id, e.org_id, e.api_key_hash, e.created_at_ms, e.api_key_enc, "       \
    "o.id, o.slug, o.title, o.plan, o.stream_basin_name, o.created_at_ms, o.updated_at_ms "        \
    "FROM environments e JOIN orgs o ON o.id = e.org_id"

/* X(name, writes, sql): `writes` says whether the statement changes rows (see fail()). */
#define STMT_MAP(X)                                                                                \
    X(ORG_INSERT, 1, "INSERT INTO orgs (" ORG_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7)")        \
    X(ORG_GET, 0, "SELECT " ORG_COLS " FROM orgs WHERE id = $1")                                   \
    X(ORG_GET_SLUG, 0, "SELECT " ORG_COLS " FROM orgs WHERE slug = $1")                            \
    X(ORG_LIST, 0, "SELECT " ORG_COLS " FROM orgs ORDER BY created_at_ms, id")                     \
    X(ORG_SET_PLAN, 1, "UPDATE orgs SET plan = $2, updated_at_ms = $3 WHERE id = $1")              \
    X(ORG_SET_BASIN, 1,                                                                            \
      "UPDATE orgs SET stream_basin_name = $2, updated_at_ms = $3 WHERE id = $1")                  \
    X(PROJECT_INSERT, 1, "INSERT INTO projects (" PROJECT_COLS ") VALUES ($1, $2, $3, $4)")        \
    X(PROJECT_GET, 0, "SELECT " PROJECT_COLS " FROM projects WHERE id = $1")                       \
    X(ENV_INSERT, 1,                                                                               \
      "INSERT INTO environments (" ENV_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7)")               \
    X(ENV_GET, 0, "SELECT " ENV_COLS " FROM environments WHERE id = $1")                           \
    X(ENV_BY_HASH, 0, "SELECT " ENV_COLS " FROM environments WHERE api_key_hash = $1")             \
    /* an environment and its organization in one round trip: ENV_COLS, then ORG_COLS */           \
    X(ENV_ORG_BY_HASH, 0, "SELECT " ENV_ORG_COLS " WHERE e.api_key_hash = $1")                     \
    X(ENV_ORG_GET, 0, "SELECT " ENV_ORG_COLS " WHERE e.id = $1")                                   \
    X(ENV_SET_KEY, 1, "UPDATE environments SET api_key_hash = $2, api_key_enc = $3 WHERE id = $1") \
    X(RUN_INSERT, 1, "INSERT INTO runs (" RUN_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")    \
    X(RUN_GET, 0, "SELECT " RUN_COLS " FROM runs WHERE id = $1 AND env_id = $2")                   \
    X(RUN_EXISTS, 0, "SELECT 1 FROM runs WHERE id = $1")                                           \
    X(RUN_COMPLETE, 1,                                                                             \
      "UPDATE runs SET completed_at_ms = $2 WHERE id = $1 AND completed_at_ms IS NULL")            \
    X(RUN_STREAM_ADD, 1,                                                                           \
      "INSERT INTO run_streams (run_id, stream_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")        \
    X(RUN_STREAM_LIST, 0, "SELECT stream_id FROM run_streams WHERE run_id = $1 ORDER BY seq")      \
    X(RUN_STREAM_HAS, 0, "SELECT 1 FROM run_streams WHERE run_id = $1 AND stream_id = $2")         \
    /* migration 3's function: the session's columns in table order, then whether it is new */     \
    X(SESSION_CREATE, 1,                                                                           \
      "SELECT (r.s).*, r.created FROM weir_session_create($1, $2, $3, $4, $5, $6, $7, $8, $9, "    \
      "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24) r")              \
    /* several creates: the same 24 parameters, each an array with one element per create. The  \
     * creates whose rows conflict with none are inserted, in array order, with their first runs; \
     * then each new row with true and its position (1-based). A create missing from the answer   \
     * (a conflict: an existing externalId or stream key) goes through weir_session_create after  \
     * it (postgres.c, create_many_chunk). */  \
    X(SESSION_CREATE_BULK, 1,                                                                      \
      "WITH a AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "           \
      "$5::text[], $6::text[], $7::text[], $8::bigint[], $9::text[], $10::bigint[], $11::text[], " \
      "$12::bigint[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[], "         \
      "$18::text[], $19::text[], $20::text[], $21::text[], $22::bigint[], $23::text[], "           \
      "$24::bigint[]) WITH ORDINALITY AS a(s_id, s_env, s_ext, s_type, s_task, s_meta, s_tags, "   \
      "s_closed_at, s_closed_reason, s_expires, s_basin, s_created, s_key, s_trigger, s_run, "     \
      "s_updated, r_id, r_env, r_task, r_parent, r_root, r_completed, r_basin, r_created, k)), "   \
      "i AS (INSERT INTO sessions AS x (id, env_id, external_id, type, task_identifier, "          \
      "metadata_json, tags_json, closed_at_ms, closed_reason, expires_at_ms, stream_basin_name, "  \
      "created_at_ms, stream_key, trigger_config_json, current_run_id, updated_at_ms) "            \
      "SELECT s_id, s_env, s_ext, s_type, s_task, s_meta, s_tags, s_closed_at, s_closed_reason, "  \
      "s_expires, s_basin, s_created, s_key, s_trigger, s_run, s_updated FROM a ORDER BY k "       \
      "ON CONFLICT DO NOTHING RETURNING x.*), "                                                    \
      "r AS (INSERT INTO runs (id, env_id, task_identifier, parent_run_id, root_run_id, "          \
      "completed_at_ms, stream_basin_name, created_at_ms) SELECT a.r_id, a.r_env, a.r_task, "      \
      "a.r_parent, a.r_root, a.r_completed, a.r_basin, a.r_created FROM a JOIN i "                 \
      "ON i.id = a.s_id COLLATE \"C\" WHERE a.r_id IS NOT NULL ORDER BY a.k) "                     \
      "SELECT i.*, true, a.k FROM i JOIN a ON i.id = a.s_id COLLATE \"C\"")                        \
    X(SESSION_GET_ID, 0, "SELECT " SESSION_COLS " FROM sessions WHERE id = $1 AND env_id = $2")    \
    X(SESSION_GET_EXT, 0,                                                                          \
      "SELECT " SESSION_COLS " FROM sessions WHERE env_id = $1 AND external_id = $2")              \
    X(SESSION_EXISTS, 0, "SELECT 1 FROM sessions WHERE id = $1")                                   \
    X(SESSION_KEY_TAKEN, 0, "SELECT 1 FROM sessions WHERE env_id = $1 AND stream_key = $2")        \
    X(SESSION_CLOSE, 1,                                                                            \
      "UPDATE sessions SET closed_at_ms = $2, closed_reason = $3, updated_at_ms = $2 "             \
      "WHERE id = $1 AND closed_at_ms IS NULL")                                                    \
    X(SESSION_UPDATE, 1,                                                                           \
      "UPDATE sessions SET tags_json = CASE WHEN $3::boolean THEN $4::text ELSE tags_json END, "   \
      "metadata_json = CASE WHEN $5::boolean THEN $6::text ELSE metadata_json END, "               \
      "external_id = CASE WHEN $7::boolean THEN $8::text ELSE external_id END, "                   \
      "updated_at_ms = $9 WHERE id = $1 AND env_id = $2")                                          \
    X(SESSION_SWAP, 1,                                                                             \
      "UPDATE sessions SET current_run_id = $3, updated_at_ms = $4 "                               \
      "WHERE id = $1 AND current_run_id IS NOT DISTINCT FROM $2::text")                            \
    X(SESSION_CURSOR, 0, "SELECT created_at_ms FROM sessions WHERE id = $1 AND env_id = $2")       \
    X(PART_CLAIM, 1,                                                                               \
      "INSERT INTO part_ids AS p (stream_key, part_id, seq_num, at_ms) VALUES ($1, $2, NULL, $3) " \
      "ON CONFLICT (stream_key, part_id) DO UPDATE SET seq_num = NULL, at_ms = excluded.at_ms "    \
      "WHERE (p.seq_num IS NOT NULL AND p.at_ms <= $4) OR (p.seq_num IS NULL AND p.at_ms <= $5)")  \
    X(PART_GET, 0, "SELECT seq_num FROM part_ids WHERE stream_key = $1 AND part_id = $2")          \
    X(PART_DONE, 1,                                                                                \
      "UPDATE part_ids SET seq_num = $4, at_ms = $5 "                                              \
      "WHERE stream_key = $1 AND part_id = $2 AND seq_num IS NULL AND at_ms = $3")                 \
    X(PART_RELEASE, 1,                                                                             \
      "DELETE FROM part_ids "                                                                      \
      "WHERE stream_key = $1 AND part_id = $2 AND seq_num IS NULL AND at_ms = $3")                 \
    X(PART_PURGE, 1, "DELETE FROM part_ids WHERE at_ms < $1")                                      \
    X(PROJECT_LIST, 0,                                                                             \
      "SELECT " PROJECT_COLS " FROM projects WHERE org_id = $1 ORDER BY created_at_ms, id")        \
    X(ENV_LIST, 0,                                                                                 \
      "SELECT " ENV_COLS " FROM environments WHERE project_id IN "                                 \
      "(SELECT id FROM projects WHERE org_id = $1) ORDER BY project_id, created_at_ms, id")        \
    /* seq is creation order (runs are never deleted); runs_env_seq(env_id, seq) holds it */       \
    X(RUN_LIST, 0, "SELECT " RUN_COLS " FROM runs WHERE env_id = $1 ORDER BY seq DESC LIMIT $2")   \
    X(RUN_LIST_AFTER, 0,                                                                           \
      "SELECT " RUN_COLS " FROM runs WHERE env_id = $1 AND seq < "                                 \
      "(SELECT seq FROM runs WHERE id = $3 AND env_id = $1) ORDER BY seq DESC LIMIT $2")

enum {
#define STMT_ENUM(name, writes, sql) S_##name,
    STMT_MAP(STMT_ENUM)
#undef STMT_ENUM
        S__COUNT
};

/* ---- parameters ----------------------------------------------------------------------------- */

#define WR_META_PG_MAX_PARAMS 24 /* the most a statement takes (a session create) */

/* One statement's parameters; numbers are formatted into `num`, everything else is borrowed. */
typedef struct wr_meta_pg_params {
    int n;
    const char *v[WR_META_PG_MAX_PARAMS];
    int len[WR_META_PG_MAX_PARAMS];
    int fmt[WR_META_PG_MAX_PARAMS]; /* 0 text, 1 binary */
    char num[WR_META_PG_MAX_PARAMS][24];
} wr_meta_pg_params;

static inline void
p_text(wr_meta_pg_params *p, const char *s)
{
    p->fmt[p->n] = 0;
    p->len[p->n] = 0;
    p->v[p->n++] = s; /* NULL is SQL NULL */
}

static inline void
p_opt_text(wr_meta_pg_params *p, bool has, const char *s)
{
    p_text(p, has ? s : NULL);
}

/* uint64 values are stored as BIGINT, bit for bit (like SQLite's int64 columns). */
static inline void
p_u64(wr_meta_pg_params *p, uint64_t v)
{
    snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)(int64_t)v);
    p_text(p, p->num[p->n]);
}

static inline void
p_opt_u64(wr_meta_pg_params *p, bool has, uint64_t v)
{
    if (has)
        p_u64(p, v);
    else
        p_text(p, NULL);
}

static inline void
p_bool(wr_meta_pg_params *p, bool b)
{
    p_text(p, b ? "t" : "f");
}

/* BYTEA, sent in binary; len 0 is NULL. */
static inline void
p_bytes(wr_meta_pg_params *p, const uint8_t *b, size_t len)
{
    p->fmt[p->n] = 1;
    p->len[p->n] = (int)len;
    p->v[p->n++] = len ? (const char *)b : NULL;
}

/* ---- postgres_sql.c ------------------------------------------------------------------------- */

/*
 * Applies every schema migration newer than the database's version, all in one transaction under
 * an advisory lock (see postgres.c). conn must be idle (no transaction). Errors: STORAGE (a
 * migration failed; the database is newer than this binary), UNAVAILABLE (the connection broke).
 */
wr_err wr_meta_pg_migrate(PGconn *conn, wr_error *out_err);

/* Appends to b a PostgreSQL array literal of the n strings, NULL for a NULL one, and a NUL:
 * {"a","b\"c",NULL}. */
void wr_meta_pg_array_literal(wr_buf *b, const char *const *v, size_t n);

/* The session list query for one filter (wr_meta_session_list): SQL text and its parameters. The
 * IN-list filters become one text-array parameter each, whose literals live in arrays[]. */
typedef struct wr_meta_pg_list {
    wr_buf sql;       /* NUL-terminated */
    wr_buf arrays[3]; /* types, task identifiers, tags */
    wr_meta_pg_params p;
} wr_meta_pg_list;

/* Builds the page query for f in env_id; cursor_ms/cursor_id bound the page when `cursor`.
 * Free with wr_meta_pg_list_fini. */
void wr_meta_pg_list_build(wr_meta_pg_list *l, const char *env_id, const wr_session_filter *f,
                           bool cursor, uint64_t cursor_ms, const char *cursor_id);
void wr_meta_pg_list_fini(wr_meta_pg_list *l);

#endif
