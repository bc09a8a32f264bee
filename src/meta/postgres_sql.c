/*
 * postgres_sql.c — the SQL of the PostgreSQL backend that is more than a statement's text: the
 * schema (numbered migrations and the ledger that applies them) and the session list query,
 * built per filter. The operations that run it are in postgres.c (see postgres_int.h).
 *
 * The migration list is separate from sqlite.c's (the dialects differ), but both backends must
 * keep the same semantics: a change to one list gets its counterpart in the other.
 */
#include <stdlib.h>
#include <string.h>

#include "meta/postgres_int.h"
#include "util/clock.h"

/* ---- schema --------------------------------------------------------------------------------- */

/*
 * Migration N is migrations[N - 1]. Append only: never edit or reorder an entry once it has been
 * committed, because databases in the field have already applied it. Migration 1 is the shape
 * SQLite reaches after its migrations 1, 3 and 4; migration 2 is SQLite's write-once triggers
 * (2, 3 and 4).
 */
static const char *const migrations[] = {
    /* 1: tenancy, runs, sessions. */
    "CREATE TABLE orgs ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  slug TEXT COLLATE \"C\" NOT NULL UNIQUE,"
    "  title TEXT NOT NULL,"
    "  plan TEXT NOT NULL,"
    "  stream_basin_name TEXT,"
    "  created_at_ms BIGINT NOT NULL,"
    "  updated_at_ms BIGINT NOT NULL"
    ");"
    "CREATE TABLE projects ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  slug TEXT COLLATE \"C\" NOT NULL,"
    "  org_id TEXT COLLATE \"C\" NOT NULL REFERENCES orgs(id),"
    "  created_at_ms BIGINT NOT NULL,"
    "  UNIQUE (org_id, slug)"
    ");"
    "CREATE TABLE environments ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  slug TEXT COLLATE \"C\" NOT NULL,"
    "  project_id TEXT COLLATE \"C\" NOT NULL REFERENCES projects(id),"
    "  org_id TEXT COLLATE \"C\" NOT NULL REFERENCES orgs(id),"
    "  api_key_hash BYTEA NOT NULL UNIQUE CHECK (octet_length(api_key_hash) = 32),"
    "  api_key_enc BYTEA,"
    "  created_at_ms BIGINT NOT NULL,"
    "  UNIQUE (project_id, slug)"
    ");"
    "CREATE TABLE runs ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,"
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  env_id TEXT COLLATE \"C\" NOT NULL REFERENCES environments(id),"
    "  task_identifier TEXT NOT NULL,"
    "  parent_run_id TEXT COLLATE \"C\","
    "  root_run_id TEXT COLLATE \"C\" NOT NULL,"
    "  completed_at_ms BIGINT,"
    "  realtime_streams_version TEXT NOT NULL DEFAULT 'v2',"
    "  stream_basin_name TEXT,"
    "  created_at_ms BIGINT NOT NULL"
    ");"
    "CREATE INDEX runs_env_seq ON runs(env_id, seq);"
    "CREATE TABLE run_streams ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  run_id TEXT COLLATE \"C\" NOT NULL REFERENCES runs(id),"
    "  stream_id TEXT COLLATE \"C\" NOT NULL,"
    "  UNIQUE (run_id, stream_id)"
    ");"
    "CREATE TABLE sessions ("
    "  id TEXT COLLATE \"C\" PRIMARY KEY,"
    "  env_id TEXT COLLATE \"C\" NOT NULL REFERENCES environments(id),"
    "  external_id TEXT COLLATE \"C\","
    "  type TEXT COLLATE \"C\" NOT NULL,"
    "  task_identifier TEXT COLLATE \"C\" NOT NULL,"
    "  metadata_json TEXT,"
    "  tags_json TEXT,"
    "  closed_at_ms BIGINT,"
    "  closed_reason TEXT,"
    "  expires_at_ms BIGINT,"
    "  stream_basin_name TEXT,"
    "  created_at_ms BIGINT NOT NULL,"
    "  stream_key TEXT COLLATE \"C\" NOT NULL,"
    "  trigger_config_json TEXT,"
    "  current_run_id TEXT COLLATE \"C\","
    "  updated_at_ms BIGINT NOT NULL,"
    "  UNIQUE (env_id, external_id),"
    "  UNIQUE (env_id, stream_key)"
    ");"
    "CREATE INDEX sessions_env_created ON sessions(env_id, created_at_ms, id);",

    /* 2: write-once guards, so that no future statement can quietly break the stamping rule.
     * One function raises; each trigger names the column it guards. */
    "CREATE FUNCTION weir_write_once() RETURNS trigger LANGUAGE plpgsql AS $$"
    "  BEGIN RAISE EXCEPTION '% is write-once', TG_ARGV[0]; END $$;"
    "CREATE TRIGGER runs_stamp_write_once BEFORE UPDATE OF stream_basin_name ON runs"
    "  FOR EACH ROW WHEN (OLD.stream_basin_name IS DISTINCT FROM NEW.stream_basin_name)"
    "  EXECUTE FUNCTION weir_write_once('runs.stream_basin_name');"
    "CREATE TRIGGER sessions_stamp_write_once BEFORE UPDATE OF stream_basin_name ON sessions"
    "  FOR EACH ROW WHEN (OLD.stream_basin_name IS DISTINCT FROM NEW.stream_basin_name)"
    "  EXECUTE FUNCTION weir_write_once('sessions.stream_basin_name');"
    "CREATE TRIGGER runs_completed_write_once BEFORE UPDATE OF completed_at_ms ON runs"
    "  FOR EACH ROW WHEN (OLD.completed_at_ms IS NOT NULL"
    "    AND OLD.completed_at_ms IS DISTINCT FROM NEW.completed_at_ms)"
    "  EXECUTE FUNCTION weir_write_once('runs.completed_at_ms');"
    "CREATE TRIGGER sessions_closed_write_once"
    "  BEFORE UPDATE OF closed_at_ms, closed_reason ON sessions"
    "  FOR EACH ROW WHEN (OLD.closed_at_ms IS NOT NULL"
    "    AND (OLD.closed_at_ms IS DISTINCT FROM NEW.closed_at_ms"
    "      OR OLD.closed_reason IS DISTINCT FROM NEW.closed_reason))"
    "  EXECUTE FUNCTION weir_write_once('sessions.closed_at_ms');"
    "CREATE TRIGGER sessions_stream_key_write_once BEFORE UPDATE OF stream_key ON sessions"
    "  FOR EACH ROW WHEN (OLD.stream_key IS DISTINCT FROM NEW.stream_key)"
    "  EXECUTE FUNCTION weir_write_once('sessions.stream_key');",

    /* 3: a session create (and its first run) as one server-side call: one round trip instead
     * of five statements. The INSERT comes first and does nothing on a conflict with any unique
     * key (ON CONFLICT without a target: the unique indexes decide, no plan choice); then the row
     * with this external id is returned if there is one (also the row another node created
     * concurrently: under read committed each statement sees what committed before it); else the
     * stream key names a renamed session's channels, and the row is inserted again with its own
     * id as its key; a conflict on the id itself raises unique_violation. The first run is
     * inserted after the session row exists. One row: whether it was created, and the session.
     * Plans: the connection plans every statement for its parameters (postgres.c, configure:
     * a plan cached while a table was nearly empty picks the wrong index for good); in here
     * the statements have one possible plan and keep it (plan_cache_mode = auto), except the
     * look-up by external id, planned each time (EXECUTE).
     * No SQLite counterpart: sqlite.c runs the same steps as statements in one transaction. */
    "CREATE FUNCTION weir_session_create("
    "  s_id text, s_env text, s_ext text, s_type text, s_task text, s_meta text, s_tags text,"
    "  s_closed_at bigint, s_closed_reason text, s_expires bigint, s_basin text,"
    "  s_created bigint, s_key text, s_trigger text, s_run text, s_updated bigint,"
    "  r_id text, r_env text, r_task text, r_parent text, r_root text, r_completed bigint,"
    "  r_basin text, r_created bigint) RETURNS TABLE (created boolean, s sessions)"
    "  LANGUAGE plpgsql SET plan_cache_mode = auto AS $$"
    "DECLARE k text := s_key;"
    "BEGIN"
    "  LOOP"
    "    RETURN QUERY INSERT INTO sessions AS x (id, env_id, external_id, type, task_identifier,"
    "        metadata_json, tags_json, closed_at_ms, closed_reason, expires_at_ms,"
    "        stream_basin_name, created_at_ms, stream_key, trigger_config_json, current_run_id,"
    "        updated_at_ms)"
    "      VALUES (s_id, s_env, s_ext, s_type, s_task, s_meta, s_tags, s_closed_at,"
    "        s_closed_reason, s_expires, s_basin, s_created, k, s_trigger, s_run, s_updated)"
    "      ON CONFLICT DO NOTHING RETURNING true, x;"
    "    IF FOUND THEN"
    "      IF r_id IS NOT NULL THEN"
    "        INSERT INTO runs (id, env_id, task_identifier, parent_run_id, root_run_id,"
    "          completed_at_ms, stream_basin_name, created_at_ms)"
    "        VALUES (r_id, r_env, r_task, r_parent, r_root, r_completed, r_basin, r_created);"
    "      END IF;"
    "      RETURN;"
    "    END IF;"
    "    IF s_ext IS NOT NULL THEN"
    "      RETURN QUERY EXECUTE 'SELECT false, x FROM sessions x"
    "        WHERE x.env_id = $1 AND x.external_id = $2' USING s_env, s_ext;"
    "      IF FOUND THEN RETURN; END IF;"
    "    END IF;"
    "    IF k = s_id THEN"
    "      RAISE unique_violation USING MESSAGE = 'session ' || s_id || ' already exists';"
    "    END IF;"
    "    k := s_id;"
    "  END LOOP;"
    "END $$;",

    /* 4: part ids appended (X-Part-Id), shared by the nodes (SQLite's 5). */
    "CREATE TABLE part_ids ("
    "  stream_key TEXT COLLATE \"C\" NOT NULL,"
    "  part_id TEXT COLLATE \"C\" NOT NULL,"
    "  seq_num BIGINT,"
    "  at_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (stream_key, part_id)"
    ");"
    "CREATE INDEX part_ids_at ON part_ids(at_ms);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The advisory lock key that serializes migrations across nodes ("weir" "meta" in ASCII). */
#define MIGRATE_LOCK_KEY "7877656972006d65"

/* Runs one SQL text (possibly several statements) of the migration; what names it in errors. */
static wr_err
run(PGconn *conn, const char *sql, const char *what, wr_error *out_err)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    wr_err err = WR_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
        err = wr_error_set(out_err,
                           PQstatus(conn) == CONNECTION_OK ? WR_ERR_STORAGE : WR_ERR_UNAVAILABLE,
                           "control-plane %s failed: %.160s", what, msg);
    }
    PQclear(res);
    return err;
}

wr_err
wr_meta_pg_migrate(PGconn *conn, wr_error *out_err)
{
    /* The lock is taken before anything is read, and held until COMMIT or ROLLBACK. */
    wr_err err = run(conn,
                     "BEGIN; SELECT pg_advisory_xact_lock(x'" MIGRATE_LOCK_KEY "'::bigint);"
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     "  version INTEGER PRIMARY KEY,"
                     "  applied_at_ms BIGINT NOT NULL)",
                     "migration lock", out_err);
    if (err != WR_OK)
        goto out;
    PGresult *res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations");
    long long cur = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        cur = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (cur < 0) {
        err = run(conn, "SELECT max(version) FROM schema_migrations", "schema version", out_err);
        if (err == WR_OK)
            err = wr_error_set(out_err, WR_ERR_STORAGE, "control-plane schema version unreadable");
        goto out;
    }
    if (cur > N_MIGRATIONS) {
        err = wr_error_set(out_err, WR_ERR_STORAGE,
                           "control-plane schema version %lld is newer than this binary's %d", cur,
                           N_MIGRATIONS);
        goto out;
    }
    for (int v = (int)cur + 1; v <= N_MIGRATIONS; v++) {
        char what[48];
        snprintf(what, sizeof(what), "migration %d", v);
        err = run(conn, migrations[v - 1], what, out_err);
        if (err != WR_OK)
            goto out;
        char rec[128];
        snprintf(rec, sizeof(rec),
                 "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (%d, %llu)", v,
                 (unsigned long long)wr_clock_now_ms());
        err = run(conn, rec, what, out_err);
        if (err != WR_OK)
            goto out;
    }
    res = PQexec(conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(res), "COMMIT") != 0)
        err = wr_error_set(
            out_err, PQstatus(conn) == CONNECTION_OK ? WR_ERR_STORAGE : WR_ERR_UNAVAILABLE,
            "control-plane migrations did not commit: %.160s", PQresultErrorMessage(res));
    PQclear(res);
out:
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
    return err;
}

/* ---- the session list query ------------------------------------------------------------------ */

void
wr_meta_pg_array_literal(wr_buf *b, const char *const *v, size_t n)
{
    wr_buf_append_byte(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) {
            wr_buf_append_str(b, i ? ",NULL" : "NULL");
            continue;
        }
        wr_buf_append_str(b, i ? ",\"" : "\"");
        for (const char *c = v[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                wr_buf_append_byte(b, '\\');
            wr_buf_append_byte(b, (uint8_t)*c);
        }
        wr_buf_append_byte(b, '"');
    }
    wr_buf_append_byte(b, '}');
    wr_buf_append_byte(b, '\0'); /* each literal ends in its own NUL inside b */
}

static void
where_any(wr_meta_pg_list *l, int which, const char *col, const char *const *v, size_t n)
{
    if (n == 0)
        return;
    wr_meta_pg_array_literal(&l->arrays[which], v, n);
    p_text(&l->p, l->arrays[which].data);
    wr_buf_printf(&l->sql, " AND %s = ANY($%d::text[])", col, l->p.n);
}

/* The filters, then the cursor bound (row values compare as tuples), in the page's direction:
 * `before` pages run ascending and are reversed after reading (postgres.c). */
void
wr_meta_pg_list_build(wr_meta_pg_list *l, const char *env_id, const wr_session_filter *f,
                      bool cursor, uint64_t cursor_ms, const char *cursor_id)
{
    wr_meta_pg_params *p = &l->p;
    p_text(p, env_id);
    wr_buf_append_str(&l->sql, "SELECT " SESSION_COLS " FROM sessions WHERE env_id = $1");
    where_any(l, 0, "type", f->types, f->n_types);
    where_any(l, 1, "task_identifier", f->task_identifiers, f->n_task_identifiers);
    if (f->n_tags) {
        wr_meta_pg_array_literal(&l->arrays[2], f->tags, f->n_tags);
        p_text(p, l->arrays[2].data);
        wr_buf_printf(&l->sql,
                      " AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN "
                      "jsonb_typeof(tags_json::jsonb) = 'array' THEN tags_json::jsonb ELSE "
                      "'[]'::jsonb END) AS t(v) WHERE t.v = ANY($%d::text[]))",
                      p->n);
    }
    if (f->external_id) {
        p_text(p, f->external_id);
        wr_buf_printf(&l->sql, " AND external_id = $%d", p->n);
    }
    if (f->created_from_ms) {
        p_u64(p, f->created_from_ms);
        wr_buf_printf(&l->sql, " AND created_at_ms >= $%d", p->n);
    }
    if (f->created_to_ms) {
        p_u64(p, f->created_to_ms);
        wr_buf_printf(&l->sql, " AND created_at_ms <= $%d", p->n);
    }
    if (f->statuses &&
        f->statuses != (WR_SESSION_ACTIVE | WR_SESSION_CLOSED | WR_SESSION_EXPIRED)) {
        wr_buf_append_str(&l->sql, " AND (false");
        if (f->statuses & WR_SESSION_ACTIVE) {
            p_u64(p, f->now_ms);
            wr_buf_printf(&l->sql,
                          " OR (closed_at_ms IS NULL AND (expires_at_ms IS NULL OR "
                          "expires_at_ms > $%d))",
                          p->n);
        }
        if (f->statuses & WR_SESSION_CLOSED)
            wr_buf_append_str(&l->sql, " OR closed_at_ms IS NOT NULL");
        if (f->statuses & WR_SESSION_EXPIRED) {
            p_u64(p, f->now_ms);
            wr_buf_printf(&l->sql, " OR (closed_at_ms IS NULL AND expires_at_ms <= $%d)", p->n);
        }
        wr_buf_append_byte(&l->sql, ')');
    }
    if (cursor) {
        p_u64(p, cursor_ms);
        p_text(p, cursor_id);
        wr_buf_printf(&l->sql, " AND (created_at_ms, id) %s ($%d::bigint, $%d::text)",
                      f->before ? ">" : "<", p->n - 1, p->n);
    }
    p_u64(p, f->limit + 1);
    wr_buf_printf(&l->sql,
                  f->before ? " ORDER BY created_at_ms, id LIMIT $%d"
                            : " ORDER BY created_at_ms DESC, id DESC LIMIT $%d",
                  p->n);
    wr_buf_append_byte(&l->sql, '\0');
}

void
wr_meta_pg_list_fini(wr_meta_pg_list *l)
{
    wr_buf_fini(&l->sql);
    for (int i = 0; i < 3; i++)
        wr_buf_fini(&l->arrays[i]);
}
