/*
 * sqlite.c — the embedded SQLite backend of the control-plane store (see meta.h, meta_int.h).
 *
 * WHAT IT KEEPS TRUE.
 *   - One database file. A handle is used by one thread at a time (SQLITE_OPEN_NOMUTEX); the
 *     server opens two on it (wr_meta_open_sqlite_shared: the loop's reads, the writer thread's
 *     changes), a lone handle locks the file exclusively. WAL journal with synchronous=FULL: a
 *     change is durable (its WAL frames fsynced) before the call that made it returns, or, in a
 *     group (wr_meta_group), before the group's COMMIT returns. foreign_keys=ON so rows cannot
 *     refer to parents that do not exist; a busy timeout so an operator's sqlite3 shell holding a
 *     read lock delays us instead of failing us.
 *   - The schema is the result of the numbered migrations below, applied in order at open, all
 *     pending ones in one transaction, each recorded in schema_migrations(version). An applied
 *     migration is never edited: changes are appended as new entries. A file whose newest version
 *     is unknown to this binary (written by a newer weir) is refused rather than guessed at.
 *   - Every change is one transaction (a single statement, or BEGIN IMMEDIATE … COMMIT). In a
 *     group the transaction is the group's and an operation's BEGIN/COMMIT/ROLLBACK become a
 *     savepoint, its release and its undo, so a failed operation leaves the group as it was.
 *   - Stamps (stream_basin_name on runs and sessions), completions and closes are write-once:
 *     no statement here updates a stamp, completions/closes update only rows whose column is
 *     still NULL, and migration 2 adds triggers that abort any other attempt.
 *   - After a write fails with an I/O-class error (IOERR, FULL, CORRUPT, NOTADB) the handle
 *     refuses further writes until it is reopened, like LMDB's MDB_PANIC: we do not know what
 *     reached the disk, and SQLite's recovery at the next open is the way to find out.
 *
 * Statements are prepared on first use (SQLITE_PREPARE_PERSISTENT) and kept for the life of the
 * handle; each use ends with reset + clear_bindings, so text bound with SQLITE_STATIC (borrowed
 * from the caller) never outlives the call.
 */
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meta/meta_int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"

/* ---- schema --------------------------------------------------------------------------------- */

/*
 * Migration N is migrations[N - 1]. Append only: never edit or reorder an entry once it has been
 * committed, because databases in the field have already applied it.
 */
static const char *const migrations[] = {
    /* 1: tenancy, runs, sessions. */
    "CREATE TABLE orgs ("
    "  id TEXT PRIMARY KEY,"
    "  slug TEXT NOT NULL UNIQUE,"
    "  title TEXT NOT NULL,"
    "  plan TEXT NOT NULL,"
    "  stream_basin_name TEXT,"
    "  created_at_ms INTEGER NOT NULL,"
    "  updated_at_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE projects ("
    "  id TEXT PRIMARY KEY,"
    "  slug TEXT NOT NULL,"
    "  org_id TEXT NOT NULL REFERENCES orgs(id),"
    "  created_at_ms INTEGER NOT NULL,"
    "  UNIQUE (org_id, slug)"
    ") STRICT;"
    "CREATE TABLE environments ("
    "  id TEXT PRIMARY KEY,"
    "  slug TEXT NOT NULL,"
    "  project_id TEXT NOT NULL REFERENCES projects(id),"
    "  org_id TEXT NOT NULL REFERENCES orgs(id),"
    "  api_key_hash BLOB NOT NULL UNIQUE CHECK (length(api_key_hash) = 32),"
    "  created_at_ms INTEGER NOT NULL,"
    "  UNIQUE (project_id, slug)"
    ") STRICT;"
    "CREATE TABLE runs ("
    "  id TEXT PRIMARY KEY,"
    "  env_id TEXT NOT NULL REFERENCES environments(id),"
    "  task_identifier TEXT NOT NULL,"
    "  parent_run_id TEXT,"
    "  root_run_id TEXT NOT NULL,"
    "  completed_at_ms INTEGER,"
    "  realtime_streams_version TEXT NOT NULL DEFAULT 'v2',"
    "  stream_basin_name TEXT,"
    "  created_at_ms INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX runs_env_id ON runs(env_id);"
    "CREATE TABLE run_streams ("
    "  run_id TEXT NOT NULL REFERENCES runs(id),"
    "  stream_id TEXT NOT NULL,"
    "  UNIQUE (run_id, stream_id)"
    ") STRICT;"
    "CREATE TABLE sessions ("
    "  id TEXT PRIMARY KEY,"
    "  env_id TEXT NOT NULL REFERENCES environments(id),"
    "  external_id TEXT,"
    "  type TEXT NOT NULL,"
    "  task_identifier TEXT NOT NULL,"
    "  metadata_json TEXT,"
    "  tags_json TEXT,"
    "  closed_at_ms INTEGER,"
    "  closed_reason TEXT,"
    "  expires_at_ms INTEGER,"
    "  stream_basin_name TEXT,"
    "  created_at_ms INTEGER NOT NULL,"
    "  UNIQUE (env_id, external_id)"
    ") STRICT;",

    /* 2: write-once guards, so that no future statement can quietly break the stamping rule. */
    "CREATE TRIGGER runs_stamp_write_once BEFORE UPDATE OF stream_basin_name ON runs"
    "  WHEN OLD.stream_basin_name IS NOT NEW.stream_basin_name"
    "  BEGIN SELECT RAISE(ABORT, 'runs.stream_basin_name is write-once'); END;"
    "CREATE TRIGGER sessions_stamp_write_once BEFORE UPDATE OF stream_basin_name ON sessions"
    "  WHEN OLD.stream_basin_name IS NOT NEW.stream_basin_name"
    "  BEGIN SELECT RAISE(ABORT, 'sessions.stream_basin_name is write-once'); END;"
    "CREATE TRIGGER runs_completed_write_once BEFORE UPDATE OF completed_at_ms ON runs"
    "  WHEN OLD.completed_at_ms IS NOT NULL AND OLD.completed_at_ms IS NOT NEW.completed_at_ms"
    "  BEGIN SELECT RAISE(ABORT, 'runs.completed_at_ms is write-once'); END;"
    "CREATE TRIGGER sessions_closed_write_once"
    "  BEFORE UPDATE OF closed_at_ms, closed_reason ON sessions"
    "  WHEN OLD.closed_at_ms IS NOT NULL AND (OLD.closed_at_ms IS NOT NEW.closed_at_ms"
    "    OR OLD.closed_reason IS NOT NEW.closed_reason)"
    "  BEGIN SELECT RAISE(ABORT, 'sessions.closed_at_ms is write-once'); END;",

    /* 3: trigger.dev's session shapes (trigger config, current run, updated_at), channel names
     * fixed at create (stream_key), encrypted API keys, and an index for listing. */
    "ALTER TABLE environments ADD COLUMN api_key_enc BLOB;"
    "ALTER TABLE sessions ADD COLUMN stream_key TEXT;"
    "ALTER TABLE sessions ADD COLUMN trigger_config_json TEXT;"
    "ALTER TABLE sessions ADD COLUMN current_run_id TEXT;"
    "ALTER TABLE sessions ADD COLUMN updated_at_ms INTEGER;"
    "UPDATE sessions SET stream_key = coalesce(external_id, id),"
    "  updated_at_ms = coalesce(closed_at_ms, created_at_ms);"
    "CREATE TRIGGER sessions_stream_key_write_once BEFORE UPDATE OF stream_key ON sessions"
    "  WHEN OLD.stream_key IS NOT NULL AND OLD.stream_key IS NOT NEW.stream_key"
    "  BEGIN SELECT RAISE(ABORT, 'sessions.stream_key is write-once'); END;"
    "CREATE INDEX sessions_env_created ON sessions(env_id, created_at_ms, id);",

    /* 4: a session's channel name is its own: no two sessions of an env share a stream_key (a
     * session created under the external id a renamed one had shared its channels). The newer
     * of any such pair gets its id; the older keeps the channels. */
    "DROP TRIGGER IF EXISTS sessions_stream_key_write_once;"
    "UPDATE sessions SET stream_key = id WHERE EXISTS (SELECT 1 FROM sessions o"
    "  WHERE o.env_id = sessions.env_id AND o.stream_key = sessions.stream_key"
    "  AND o.rowid < sessions.rowid);"
    "CREATE TRIGGER sessions_stream_key_write_once BEFORE UPDATE OF stream_key ON sessions"
    "  WHEN OLD.stream_key IS NOT NULL AND OLD.stream_key IS NOT NEW.stream_key"
    "  BEGIN SELECT RAISE(ABORT, 'sessions.stream_key is write-once'); END;"
    "CREATE UNIQUE INDEX sessions_env_stream_key ON sessions(env_id, stream_key);",

    /* 5: part ids appended (X-Part-Id), shared by the nodes of one control plane: a claim
     * (seq_num NULL: an append in flight since at_ms) or an answer (seq_num, at at_ms). */
    "CREATE TABLE part_ids ("
    "  stream_key TEXT NOT NULL,"
    "  part_id TEXT NOT NULL,"
    "  seq_num INTEGER,"
    "  at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (stream_key, part_id)"
    ");"
    "CREATE INDEX part_ids_at ON part_ids(at_ms);",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

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

#define STMT_MAP(X)                                                                                \
    X(BEGIN, "BEGIN IMMEDIATE")                                                                    \
    X(COMMIT, "COMMIT")                                                                            \
    X(ROLLBACK, "ROLLBACK")                                                                        \
    X(OP_SAVE, "SAVEPOINT op")                                                                     \
    X(OP_RELEASE, "RELEASE op")                                                                    \
    X(OP_UNDO, "ROLLBACK TO op")                                                                   \
    X(JOB_SAVE, "SAVEPOINT job")                                                                   \
    X(JOB_RELEASE, "RELEASE job")                                                                  \
    X(JOB_UNDO, "ROLLBACK TO job")                                                                 \
    X(ORG_INSERT, "INSERT INTO orgs (" ORG_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")           \
    X(ORG_GET, "SELECT " ORG_COLS " FROM orgs WHERE id = ?1")                                      \
    X(ORG_GET_SLUG, "SELECT " ORG_COLS " FROM orgs WHERE slug = ?1")                               \
    X(ORG_LIST, "SELECT " ORG_COLS " FROM orgs ORDER BY created_at_ms, id")                        \
    X(ORG_SET_PLAN, "UPDATE orgs SET plan = ?2, updated_at_ms = ?3 WHERE id = ?1")                 \
    X(ORG_SET_BASIN, "UPDATE orgs SET stream_basin_name = ?2, updated_at_ms = ?3 WHERE id = ?1")   \
    X(PROJECT_INSERT, "INSERT INTO projects (" PROJECT_COLS ") VALUES (?1, ?2, ?3, ?4)")           \
    X(PROJECT_GET, "SELECT " PROJECT_COLS " FROM projects WHERE id = ?1")                          \
    X(ENV_INSERT, "INSERT INTO environments (" ENV_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")   \
    X(ENV_GET, "SELECT " ENV_COLS " FROM environments WHERE id = ?1")                              \
    X(ENV_BY_HASH, "SELECT " ENV_COLS " FROM environments WHERE api_key_hash = ?1")                \
    X(ENV_SET_KEY, "UPDATE environments SET api_key_hash = ?2, api_key_enc = ?3 WHERE id = ?1")    \
    X(RUN_INSERT, "INSERT INTO runs (" RUN_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")       \
    X(RUN_GET, "SELECT " RUN_COLS " FROM runs WHERE id = ?1 AND env_id = ?2")                      \
    X(RUN_EXISTS, "SELECT 1 FROM runs WHERE id = ?1")                                              \
    X(RUN_COMPLETE,                                                                                \
      "UPDATE runs SET completed_at_ms = ?2 WHERE id = ?1 AND completed_at_ms IS NULL")            \
    X(RUN_STREAM_ADD,                                                                              \
      "INSERT INTO run_streams (run_id, stream_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING")        \
    X(RUN_STREAM_LIST, "SELECT stream_id FROM run_streams WHERE run_id = ?1 ORDER BY rowid")       \
    X(RUN_STREAM_HAS, "SELECT 1 FROM run_streams WHERE run_id = ?1 AND stream_id = ?2")            \
    X(SESSION_INSERT,                                                                              \
      "INSERT INTO sessions (" SESSION_COLS ") "                                                   \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)")            \
    X(SESSION_GET_ID, "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1 AND env_id = ?2")       \
    X(SESSION_GET_EXT,                                                                             \
      "SELECT " SESSION_COLS " FROM sessions WHERE env_id = ?1 AND external_id = ?2")              \
    X(SESSION_EXISTS, "SELECT 1 FROM sessions WHERE id = ?1")                                      \
    X(SESSION_KEY_TAKEN, "SELECT 1 FROM sessions WHERE env_id = ?1 AND stream_key = ?2")           \
    X(SESSION_CLOSE, "UPDATE sessions SET closed_at_ms = ?2, closed_reason = ?3, "                 \
                     "updated_at_ms = ?2 WHERE id = ?1 AND closed_at_ms IS NULL")                  \
    X(SESSION_UPDATE,                                                                              \
      "UPDATE sessions SET tags_json = CASE WHEN ?3 THEN ?4 ELSE tags_json END, "                  \
      "metadata_json = CASE WHEN ?5 THEN ?6 ELSE metadata_json END, "                              \
      "external_id = CASE WHEN ?7 THEN ?8 ELSE external_id END, updated_at_ms = ?9 "               \
      "WHERE id = ?1 AND env_id = ?2")                                                             \
    X(SESSION_SWAP, "UPDATE sessions SET current_run_id = ?3, updated_at_ms = ?4 "                 \
                    "WHERE id = ?1 AND current_run_id IS ?2")                                      \
    X(SESSION_CURSOR, "SELECT created_at_ms FROM sessions WHERE id = ?1 AND env_id = ?2")          \
    X(PART_CLAIM,                                                                                  \
      "INSERT INTO part_ids (stream_key, part_id, seq_num, at_ms) VALUES (?1, ?2, NULL, ?3) "      \
      "ON CONFLICT (stream_key, part_id) DO UPDATE SET seq_num = NULL, at_ms = excluded.at_ms "    \
      "WHERE (part_ids.seq_num IS NOT NULL AND part_ids.at_ms <= ?4) "                             \
      "OR (part_ids.seq_num IS NULL AND part_ids.at_ms <= ?5)")                                    \
    X(PART_GET, "SELECT seq_num FROM part_ids WHERE stream_key = ?1 AND part_id = ?2")             \
    X(PART_DONE, "UPDATE part_ids SET seq_num = ?4, at_ms = ?5 "                                   \
                 "WHERE stream_key = ?1 AND part_id = ?2 AND seq_num IS NULL AND at_ms = ?3")      \
    X(PART_RELEASE, "DELETE FROM part_ids "                                                        \
                    "WHERE stream_key = ?1 AND part_id = ?2 AND seq_num IS NULL AND at_ms = ?3")   \
    X(PART_PURGE, "DELETE FROM part_ids WHERE at_ms < ?1")                                         \
    X(PROJECT_LIST,                                                                                \
      "SELECT " PROJECT_COLS " FROM projects WHERE org_id = ?1 ORDER BY created_at_ms, id")        \
    X(ENV_LIST, "SELECT " ENV_COLS " FROM environments WHERE project_id IN "                       \
                "(SELECT id FROM projects WHERE org_id = ?1) "                                     \
                "ORDER BY project_id, created_at_ms, id")                                          \
    /* rowid is creation order (runs are never deleted); runs_env_id(env_id) holds it sorted */    \
    X(RUN_LIST, "SELECT " RUN_COLS " FROM runs WHERE env_id = ?1 ORDER BY rowid DESC LIMIT ?2")    \
    X(RUN_LIST_AFTER, "SELECT " RUN_COLS " FROM runs WHERE env_id = ?1 AND rowid < "               \
                      "(SELECT rowid FROM runs WHERE id = ?3 AND env_id = ?1) "                    \
                      "ORDER BY rowid DESC LIMIT ?2")

enum {
#define STMT_ENUM(name, sql) S_##name,
    STMT_MAP(STMT_ENUM)
#undef STMT_ENUM
        S__COUNT
};

static const char *const stmt_sql[] = {
#define STMT_SQL(name, sql) sql,
    STMT_MAP(STMT_SQL)
#undef STMT_SQL
};

typedef struct sq {
    wr_meta base; /* first: a wr_meta * is a sq * */
    sqlite3 *db;
    sqlite3_stmt *st[S__COUNT];
    bool failed; /* a write hit an I/O-class error: refuse writes until reopened */
    /* Group commit (wr_meta_group): inside a group an operation's BEGIN/COMMIT/ROLLBACK become
     * SAVEPOINT op / RELEASE op / ROLLBACK TO op, and `op` says whether that savepoint is open. */
    bool group, job, op;
} sq;

static sq *
SQ(wr_meta *m)
{
    return (sq *)m;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static bool
io_class(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
        return true;
    default:
        return false;
    }
}

/* The prepared statement `id`, or NULL with *out_err set. */
static sqlite3_stmt *
stmt(sq *q, int id, wr_error *out_err)
{
    if (!q->st[id]) {
        int rc = sqlite3_prepare_v3(q->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &q->st[id],
                                    NULL);
        if (rc != SQLITE_OK) {
            wr_error_set(out_err, WR_ERR_STORAGE, "sqlite prepare: %s", sqlite3_errmsg(q->db));
            q->st[id] = NULL;
            return NULL;
        }
    }
    return q->st[id];
}

static void
done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Steps a statement; a write that fails with an I/O-class error puts the handle in the failed
 * state. */
static int
step(sq *q, sqlite3_stmt *st, bool write)
{
    int rc = sqlite3_step(st);
    if (write && rc != SQLITE_ROW && rc != SQLITE_DONE && io_class(rc))
        q->failed = true;
    return rc;
}

/*
 * Maps a failed step to a wr_err: unique/primary-key violations → RESOURCE_ALREADY_EXISTS,
 * foreign-key violations (the parent row is missing) → NOT_FOUND, anything else → STORAGE.
 * `what` names the row being written, `parent` the row it refers to.
 */
static wr_err
fail(sq *q, int rc, const char *what, const char *parent, wr_error *out_err)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return wr_error_set(out_err, WR_ERR_RESOURCE_ALREADY_EXISTS, "%s already exists (%s)", what,
                            sqlite3_errmsg(q->db));
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return wr_error_set(out_err, WR_ERR_NOT_FOUND, "%s not found", parent);
    default:
        return wr_error_set(out_err, WR_ERR_STORAGE, "sqlite (%s): %s", what,
                            sqlite3_errmsg(q->db));
    }
}

static wr_err
check_writable(sq *q, wr_error *out_err)
{
    if (q->failed)
        return wr_error_set(out_err, WR_ERR_STORAGE,
                            "control-plane store failed an earlier write; restart to recover");
    return WR_OK;
}

static wr_err run_stmt(sq *q, int id, wr_error *out_err);

/* Runs a statement with no parameters and no rows (BEGIN/COMMIT/ROLLBACK). Inside a group they
 * open, release and undo the operation's savepoint instead. */
static wr_err
run_simple(sq *q, int id, wr_error *out_err)
{
    if (!q->group)
        return run_stmt(q, id, out_err);
    wr_err err = WR_OK;
    switch (id) {
    case S_BEGIN:
        err = run_stmt(q, S_OP_SAVE, out_err);
        q->op = err == WR_OK;
        return err;
    case S_COMMIT:
        err = run_stmt(q, S_OP_RELEASE, out_err);
        q->op = err != WR_OK;
        return err;
    default: /* S_ROLLBACK */
        err = run_stmt(q, S_OP_UNDO, out_err);
        if (err == WR_OK)
            err = run_stmt(q, S_OP_RELEASE, out_err);
        q->op = false;
        return err;
    }
}

/* Runs a statement with no parameters and no rows, as it is. */
static wr_err
run_stmt(sq *q, int id, wr_error *out_err)
{
    sqlite3_stmt *st = stmt(q, id, out_err);
    if (!st)
        return WR_ERR_STORAGE;
    int rc = step(q, st, true);
    wr_err err = WR_OK;
    if (rc != SQLITE_DONE)
        err = wr_error_set(out_err, WR_ERR_STORAGE, "sqlite %s: %s", stmt_sql[id],
                           sqlite3_errmsg(q->db));
    done(st);
    return err;
}

/* Undoes the operation's open transaction (its savepoint, inside a group), if any. */
static void
rollback(sq *q)
{
    if (q->group ? q->op : !sqlite3_get_autocommit(q->db))
        run_simple(q, S_ROLLBACK, NULL);
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static void
bind_opt_text(sqlite3_stmt *st, int i, bool has, const char *s)
{
    if (has && s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void
bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static void
bind_opt_u64(sqlite3_stmt *st, int i, bool has, uint64_t v)
{
    if (has)
        bind_u64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/* Copies text column i into dst (cap bytes, always terminated); returns false for NULL. */
static bool
col_copy(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t) {
        dst[0] = '\0';
        return false;
    }
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, t, n);
    dst[n] = '\0';
    return true;
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t)
        return NULL;
    return wr_xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
}

static uint64_t
col_u64(sqlite3_stmt *st, int i)
{
    return (uint64_t)sqlite3_column_int64(st, i);
}

static bool
col_null(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL;
}

/* ---- row readers (column order as in *_COLS) ------------------------------------------------ */

static void
read_org(sqlite3_stmt *st, void *out)
{
    wr_org *o = out;
    memset(o, 0, sizeof(*o));
    col_copy(st, 0, o->id, sizeof(o->id));
    col_copy(st, 1, o->slug, sizeof(o->slug));
    col_copy(st, 2, o->title, sizeof(o->title));
    col_copy(st, 3, o->plan, sizeof(o->plan));
    o->has_basin = col_copy(st, 4, o->basin, sizeof(o->basin));
    o->created_at_ms = col_u64(st, 5);
    o->updated_at_ms = col_u64(st, 6);
}

static void
read_project(sqlite3_stmt *st, void *out)
{
    wr_project *p = out;
    memset(p, 0, sizeof(*p));
    col_copy(st, 0, p->id, sizeof(p->id));
    col_copy(st, 1, p->slug, sizeof(p->slug));
    col_copy(st, 2, p->org_id, sizeof(p->org_id));
    p->created_at_ms = col_u64(st, 3);
}

static void
read_env(sqlite3_stmt *st, void *out)
{
    wr_env *e = out;
    memset(e, 0, sizeof(*e));
    col_copy(st, 0, e->id, sizeof(e->id));
    col_copy(st, 1, e->slug, sizeof(e->slug));
    col_copy(st, 2, e->project_id, sizeof(e->project_id));
    col_copy(st, 3, e->org_id, sizeof(e->org_id));
    const void *h = sqlite3_column_blob(st, 4);
    if (h && sqlite3_column_bytes(st, 4) == (int)sizeof(e->key_hash))
        memcpy(e->key_hash, h, sizeof(e->key_hash));
    e->created_at_ms = col_u64(st, 5);
    const void *enc = sqlite3_column_blob(st, 6);
    int enc_len = sqlite3_column_bytes(st, 6);
    if (enc && enc_len > 0 && enc_len <= WR_META_KEY_ENC_MAX) {
        memcpy(e->key_enc, enc, (size_t)enc_len);
        e->key_enc_len = (size_t)enc_len;
    }
}

static void
read_run(sqlite3_stmt *st, void *out)
{
    wr_run *r = out;
    memset(r, 0, sizeof(*r));
    col_copy(st, 0, r->id, sizeof(r->id));
    col_copy(st, 1, r->env_id, sizeof(r->env_id));
    col_copy(st, 2, r->task_identifier, sizeof(r->task_identifier));
    r->has_parent = col_copy(st, 3, r->parent_run_id, sizeof(r->parent_run_id));
    col_copy(st, 4, r->root_run_id, sizeof(r->root_run_id));
    r->completed = !col_null(st, 5);
    r->completed_at_ms = r->completed ? col_u64(st, 5) : 0;
    r->has_basin = col_copy(st, 6, r->basin, sizeof(r->basin));
    r->created_at_ms = col_u64(st, 7);
}

static void
read_session(sqlite3_stmt *st, void *out)
{
    wr_session *s = out;
    memset(s, 0, sizeof(*s));
    col_copy(st, 0, s->id, sizeof(s->id));
    col_copy(st, 1, s->env_id, sizeof(s->env_id));
    s->has_external_id = col_copy(st, 2, s->external_id, sizeof(s->external_id));
    col_copy(st, 3, s->type, sizeof(s->type));
    col_copy(st, 4, s->task_identifier, sizeof(s->task_identifier));
    s->metadata_json = col_dup(st, 5);
    s->tags_json = col_dup(st, 6);
    s->closed = !col_null(st, 7);
    s->closed_at_ms = s->closed ? col_u64(st, 7) : 0;
    col_copy(st, 8, s->closed_reason, sizeof(s->closed_reason));
    s->expires_at_ms = col_null(st, 9) ? 0 : col_u64(st, 9);
    s->has_basin = col_copy(st, 10, s->basin, sizeof(s->basin));
    s->created_at_ms = col_u64(st, 11);
    if (!col_copy(st, 12, s->stream_key, sizeof(s->stream_key)))
        snprintf(s->stream_key, sizeof(s->stream_key), "%s",
                 s->has_external_id ? s->external_id : s->id);
    s->trigger_config_json = col_dup(st, 13);
    s->has_current_run = col_copy(st, 14, s->current_run_id, sizeof(s->current_run_id));
    s->updated_at_ms = col_null(st, 15) ? s->created_at_ms : col_u64(st, 15);
}

/* ---- generic shapes ------------------------------------------------------------------------- */

/* Steps a prepared, bound write of one row (insert/update) and maps its result. */
static wr_err
exec_write(sq *q, sqlite3_stmt *st, const char *what, const char *parent, wr_error *out_err)
{
    int rc = step(q, st, true);
    wr_err err = rc == SQLITE_DONE ? WR_OK : fail(q, rc, what, parent, out_err);
    done(st);
    return err;
}

/* Runs an UPDATE bound on st; NOT_FOUND when it matched no row. */
static wr_err
exec_update_one(sq *q, sqlite3_stmt *st, const char *what, const char *id, wr_error *out_err)
{
    int rc = step(q, st, true);
    wr_err err = WR_OK;
    if (rc != SQLITE_DONE)
        err = fail(q, rc, what, what, out_err);
    else if (sqlite3_changes(q->db) == 0)
        err = wr_error_set(out_err, WR_ERR_NOT_FOUND, "%s %s not found", what, id);
    done(st);
    return err;
}

typedef void (*reader_fn)(sqlite3_stmt *st, void *out);

/* Steps a bound single-row SELECT; fills out through `read` or returns NOT_FOUND. */
static wr_err
query_one(sq *q, sqlite3_stmt *st, reader_fn read, void *out, const char *what, const char *key,
          wr_error *out_err)
{
    int rc = step(q, st, false);
    wr_err err = WR_OK;
    if (rc == SQLITE_ROW)
        read(st, out);
    else if (rc == SQLITE_DONE)
        err = wr_error_set(out_err, WR_ERR_NOT_FOUND, "%s %s not found", what, key);
    else
        err = fail(q, rc, what, what, out_err);
    done(st);
    return err;
}

/*
 * Steps a bound SELECT to its end, reading each row with `read` into a growing array of
 * elements of `size` bytes. On success *out (malloc'd, NULL when empty) and *out_n; on failure
 * both are cleared (each element read so far through `fini` unless NULL) and the error returned.
 */
static wr_err
query_all(sq *q, sqlite3_stmt *st, reader_fn read, void (*fini)(void *elem), size_t size,
          const char *what, void **out, size_t *out_n, wr_error *out_err)
{
    char *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = step(q, st, false)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = wr_xrealloc(v, cap * size);
        }
        read(st, v + n++ * size);
    }
    wr_err err = WR_OK;
    if (rc != SQLITE_DONE) {
        err = fail(q, rc, what, what, out_err);
        for (size_t i = 0; fini && i < n; i++)
            fini(v + i * size);
        free(v);
        v = NULL;
        n = 0;
    }
    done(st);
    *out = v;
    *out_n = n;
    return err;
}

/* A row by one text key (an id, a slug): query_one over statement `id` with the key as ?1. */
static wr_err
get_one(sq *q, int id, const char *key, reader_fn read, void *out, const char *what,
        wr_error *out_err)
{
    sqlite3_stmt *st = stmt(q, id, out_err);
    if (!st)
        return WR_ERR_STORAGE;
    bind_text(st, 1, key);
    return query_one(q, st, read, out, what, key, out_err);
}

/* Whether the bound "SELECT 1 …" st finds a row (*found); resets st. */
static wr_err
has_row(sq *q, sqlite3_stmt *st, const char *what, bool *found, wr_error *out_err)
{
    int rc = step(q, st, false);
    wr_err err = WR_OK;
    *found = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = fail(q, rc, what, what, out_err);
    done(st);
    return err;
}

/* WR_OK when "SELECT 1 FROM … WHERE id = ?1" finds the row, NOT_FOUND when not. */
static wr_err
exists(sq *q, int id_stmt, const char *id, const char *what, wr_error *out_err)
{
    sqlite3_stmt *st = stmt(q, id_stmt, out_err);
    if (!st)
        return WR_ERR_STORAGE;
    bind_text(st, 1, id);
    bool found;
    wr_err err = has_row(q, st, what, &found, out_err);
    if (err == WR_OK && !found)
        err = wr_error_set(out_err, WR_ERR_NOT_FOUND, "%s %s not found", what, id);
    return err;
}

/* `var` names the variable it declares, so it cannot be parenthesised. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define PREP(var, id)                                                                              \
    sqlite3_stmt *var = stmt(q, (id), out_err);                                                    \
    if (!var)                                                                                      \
    return WR_ERR_STORAGE
/* NOLINTEND(bugprone-macro-parentheses) */

#define WRITABLE()                                                                                 \
    do {                                                                                           \
        wr_err w_ = check_writable(q, out_err);                                                    \
        if (w_ != WR_OK)                                                                           \
            return w_;                                                                             \
    } while (0)

/* ---- organizations -------------------------------------------------------------------------- */

static wr_err
org_create(wr_meta *m, const wr_org *o, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_ORG_INSERT);
    bind_text(st, 1, o->id);
    bind_text(st, 2, o->slug);
    bind_text(st, 3, o->title);
    bind_text(st, 4, o->plan);
    bind_opt_text(st, 5, o->has_basin, o->basin);
    bind_u64(st, 6, o->created_at_ms);
    bind_u64(st, 7, o->updated_at_ms);
    return exec_write(q, st, "organization", "organization", out_err);
}

static wr_err
org_get(wr_meta *m, const char *id, wr_org *out, wr_error *out_err)
{
    return get_one(SQ(m), S_ORG_GET, id, read_org, out, "organization", out_err);
}

static wr_err
org_get_by_slug(wr_meta *m, const char *slug, wr_org *out, wr_error *out_err)
{
    return get_one(SQ(m), S_ORG_GET_SLUG, slug, read_org, out, "organization", out_err);
}

static wr_err
org_list(wr_meta *m, wr_org **out, size_t *out_n, wr_error *out_err)
{
    sq *q = SQ(m);
    PREP(st, S_ORG_LIST);
    return query_all(q, st, read_org, NULL, sizeof(**out), "organization", (void **)out, out_n,
                     out_err);
}

static wr_err
org_set_plan(wr_meta *m, const char *id, const char *plan, uint64_t now_ms, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_ORG_SET_PLAN);
    bind_text(st, 1, id);
    bind_text(st, 2, plan);
    bind_u64(st, 3, now_ms);
    return exec_update_one(q, st, "organization", id, out_err);
}

static wr_err
org_set_basin(wr_meta *m, const char *id, const char *basin_or_null, uint64_t now_ms,
              wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_ORG_SET_BASIN);
    bind_text(st, 1, id);
    bind_opt_text(st, 2, basin_or_null != NULL, basin_or_null);
    bind_u64(st, 3, now_ms);
    return exec_update_one(q, st, "organization", id, out_err);
}

/* ---- projects and environments -------------------------------------------------------------- */

static wr_err
project_create(wr_meta *m, const wr_project *p, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_PROJECT_INSERT);
    bind_text(st, 1, p->id);
    bind_text(st, 2, p->slug);
    bind_text(st, 3, p->org_id);
    bind_u64(st, 4, p->created_at_ms);
    return exec_write(q, st, "project", "organization", out_err);
}

static wr_err
project_get(wr_meta *m, const char *id, wr_project *out, wr_error *out_err)
{
    return get_one(SQ(m), S_PROJECT_GET, id, read_project, out, "project", out_err);
}

static wr_err
env_create(wr_meta *m, const wr_env *e, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_ENV_INSERT);
    bind_text(st, 1, e->id);
    bind_text(st, 2, e->slug);
    bind_text(st, 3, e->project_id);
    bind_text(st, 4, e->org_id);
    sqlite3_bind_blob(st, 5, e->key_hash, sizeof(e->key_hash), SQLITE_STATIC);
    bind_u64(st, 6, e->created_at_ms);
    if (e->key_enc_len)
        sqlite3_bind_blob(st, 7, e->key_enc, (int)e->key_enc_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 7);
    return exec_write(q, st, "environment", "project", out_err);
}

static wr_err
env_get(wr_meta *m, const char *id, wr_env *out, wr_error *out_err)
{
    return get_one(SQ(m), S_ENV_GET, id, read_env, out, "environment", out_err);
}

static wr_err
env_by_key_hash(wr_meta *m, const uint8_t hash[32], wr_env *out, wr_error *out_err)
{
    sq *q = SQ(m);
    PREP(st, S_ENV_BY_HASH);
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    return query_one(q, st, read_env, out, "environment", "for this key", out_err);
}

/* Two look-ups in the page cache: nothing to gain from a join here. */
static wr_err
env_and_org(wr_meta *m, const uint8_t *hash, const char *env_id, wr_env *out_env, wr_org *out_org,
            wr_error *out_err)
{
    wr_err e =
        hash ? env_by_key_hash(m, hash, out_env, out_err) : env_get(m, env_id, out_env, out_err);
    return e != WR_OK ? e : org_get(m, out_env->org_id, out_org, out_err);
}

static wr_err
env_set_key(wr_meta *m, const char *id, const uint8_t hash[32], const uint8_t *key_enc,
            size_t enc_len, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_ENV_SET_KEY);
    bind_text(st, 1, id);
    sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
    if (enc_len)
        sqlite3_bind_blob(st, 3, key_enc, (int)enc_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    return exec_update_one(q, st, "environment", id, out_err);
}

/* ---- runs ----------------------------------------------------------------------------------- */

static wr_err
run_create(wr_meta *m, const wr_run *r, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_RUN_INSERT);
    bind_text(st, 1, r->id);
    bind_text(st, 2, r->env_id);
    bind_text(st, 3, r->task_identifier);
    bind_opt_text(st, 4, r->has_parent, r->parent_run_id);
    bind_text(st, 5, r->root_run_id);
    bind_opt_u64(st, 6, r->completed, r->completed_at_ms);
    bind_opt_text(st, 7, r->has_basin, r->basin);
    bind_u64(st, 8, r->created_at_ms);
    return exec_write(q, st, "run", "environment", out_err);
}

static wr_err
run_get(wr_meta *m, const char *env_id, const char *id, wr_run *out, wr_error *out_err)
{
    sq *q = SQ(m);
    PREP(st, S_RUN_GET);
    bind_text(st, 1, id);
    bind_text(st, 2, env_id);
    return query_one(q, st, read_run, out, "run", id, out_err);
}

static wr_err
run_complete(wr_meta *m, const char *id, uint64_t at_ms, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_RUN_COMPLETE);
    bind_text(st, 1, id);
    bind_u64(st, 2, at_ms);
    int rc = step(q, st, true);
    wr_err err = WR_OK;
    bool changed = rc == SQLITE_DONE && sqlite3_changes(q->db) > 0;
    if (rc != SQLITE_DONE)
        err = fail(q, rc, "run", "run", out_err);
    done(st);
    if (err == WR_OK && !changed) /* already completed, or missing */
        err = exists(q, S_RUN_EXISTS, id, "run", out_err);
    return err;
}

static wr_err
run_add_stream(wr_meta *m, const char *run_id, const char *stream_id, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_RUN_STREAM_ADD);
    bind_text(st, 1, run_id);
    bind_text(st, 2, stream_id);
    return exec_write(q, st, "run stream", "run", out_err);
}

/* A row's first column as a malloc'd string (query_all's reader and finisher of char *). */
static void
read_str(sqlite3_stmt *st, void *out)
{
    *(char **)out = col_dup(st, 0);
}

static void
free_str(void *elem)
{
    free(*(char **)elem);
}

static wr_err
run_has_stream(wr_meta *m, const char *run_id, const char *stream_id, bool *out, wr_error *out_err)
{
    sq *q = SQ(m);
    PREP(st, S_RUN_STREAM_HAS);
    bind_text(st, 1, run_id);
    bind_text(st, 2, stream_id);
    return has_row(q, st, "run stream", out, out_err);
}

static wr_err
run_streams(wr_meta *m, const char *run_id, char ***out, size_t *out_n, wr_error *out_err)
{
    sq *q = SQ(m);
    wr_err err = exists(q, S_RUN_EXISTS, run_id, "run", out_err);
    if (err != WR_OK)
        return err;
    PREP(st, S_RUN_STREAM_LIST);
    bind_text(st, 1, run_id);
    return query_all(q, st, read_str, free_str, sizeof(**out), "run stream", (void **)out, out_n,
                     out_err);
}

/* ---- sessions ------------------------------------------------------------------------------- */

static wr_err
session_get_by_id(wr_meta *m, const char *env_id, const char *id, wr_session *out,
                  wr_error *out_err)
{
    sq *q = SQ(m);
    PREP(st, S_SESSION_GET_ID);
    bind_text(st, 1, id);
    bind_text(st, 2, env_id);
    return query_one(q, st, read_session, out, "session", id, out_err);
}

static wr_err
session_get_by_external_id(wr_meta *m, const char *env_id, const char *external_id, wr_session *out,
                           wr_error *out_err)
{
    sq *q = SQ(m);
    PREP(st, S_SESSION_GET_EXT);
    bind_text(st, 1, env_id);
    bind_text(st, 2, external_id);
    return query_one(q, st, read_session, out, "session", external_id, out_err);
}

static wr_err
session_stream_key_taken(wr_meta *m, const char *env_id, const char *key, bool *out_taken,
                         wr_error *out_err)
{
    sq *q = SQ(m);
    PREP(st, S_SESSION_KEY_TAKEN);
    bind_text(st, 1, env_id);
    bind_text(st, 2, key);
    int rc = step(q, st, false);
    wr_err err = WR_OK;
    *out_taken = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = fail(q, rc, "session", "session", out_err);
    done(st);
    return err;
}

static wr_err
session_insert(sq *q, const wr_session *s, wr_error *out_err)
{
    PREP(st, S_SESSION_INSERT);
    bind_text(st, 1, s->id);
    bind_text(st, 2, s->env_id);
    bind_opt_text(st, 3, s->has_external_id, s->external_id);
    bind_text(st, 4, s->type);
    bind_text(st, 5, s->task_identifier);
    bind_opt_text(st, 6, s->metadata_json != NULL, s->metadata_json);
    bind_opt_text(st, 7, s->tags_json != NULL, s->tags_json);
    bind_opt_u64(st, 8, s->closed, s->closed_at_ms);
    bind_opt_text(st, 9, s->closed, s->closed_reason);
    bind_opt_u64(st, 10, s->expires_at_ms != 0, s->expires_at_ms);
    bind_opt_text(st, 11, s->has_basin, s->basin);
    bind_u64(st, 12, s->created_at_ms);
    bind_text(st, 13, s->stream_key);
    bind_opt_text(st, 14, s->trigger_config_json != NULL, s->trigger_config_json);
    bind_opt_text(st, 15, s->has_current_run, s->current_run_id);
    bind_u64(st, 16, s->updated_at_ms);
    return exec_write(q, st, "session", "environment", out_err);
}

/*
 * Look-up and insert share one write transaction, so "exists → return it, else insert" is atomic
 * even if another connection (an operator, a future second process) writes concurrently. The
 * existing row wins over an id conflict: a retried create with the same external id returns it.
 */
static wr_err
session_create_or_get(wr_meta *m, const wr_session *s, const wr_run *first_run, wr_session *out,
                      bool *out_created, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    wr_err err = run_simple(q, S_BEGIN, out_err);
    if (err != WR_OK)
        return err;
    if (s->has_external_id) {
        wr_error lookup;
        err = session_get_by_external_id(m, s->env_id, s->external_id, out, &lookup);
        if (err == WR_OK) {
            *out_created = false;
            rollback(q); /* nothing was written */
            return WR_OK;
        }
        if (err != WR_ERR_NOT_FOUND) {
            if (out_err)
                *out_err = lookup;
            goto out;
        }
    }
    /* The external id may still name a renamed session's channels: this one gets its own. */
    wr_session n = *s;
    bool taken = false;
    if (strcmp(n.stream_key, n.id) != 0 &&
        (err = session_stream_key_taken(m, n.env_id, n.stream_key, &taken, out_err)) != WR_OK)
        goto out;
    if (taken)
        snprintf(n.stream_key, sizeof(n.stream_key), "%s", n.id);
    if (first_run && (err = run_create(m, first_run, out_err)) != WR_OK)
        goto out;
    err = session_insert(q, &n, out_err);
    if (err != WR_OK)
        goto out;
    err = run_simple(q, S_COMMIT, out_err);
    if (err != WR_OK)
        goto out;
    err = session_get_by_id(m, s->env_id, s->id, out, out_err);
    *out_created = err == WR_OK;
out:
    rollback(q);
    return err;
}

static wr_err
session_close(wr_meta *m, const char *id, const char *reason, uint64_t at_ms, bool *out_already,
              wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_SESSION_CLOSE);
    bind_text(st, 1, id);
    bind_u64(st, 2, at_ms);
    bind_text(st, 3, reason);
    int rc = step(q, st, true);
    wr_err err = WR_OK;
    bool changed = rc == SQLITE_DONE && sqlite3_changes(q->db) > 0;
    if (rc != SQLITE_DONE)
        err = fail(q, rc, "session", "session", out_err);
    done(st);
    if (err == WR_OK && !changed) {
        err = exists(q, S_SESSION_EXISTS, id, "session", out_err);
        *out_already = err == WR_OK;
    }
    return err;
}

static wr_err
session_update(wr_meta *m, const char *env_id, const char *id, const wr_session_patch *p,
               uint64_t now_ms, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_SESSION_UPDATE);
    bind_text(st, 1, id);
    bind_text(st, 2, env_id);
    sqlite3_bind_int(st, 3, p->set_tags);
    bind_opt_text(st, 4, p->set_tags, p->tags_json);
    sqlite3_bind_int(st, 5, p->set_metadata);
    bind_opt_text(st, 6, p->set_metadata && p->metadata_json, p->metadata_json);
    sqlite3_bind_int(st, 7, p->set_external_id);
    bind_opt_text(st, 8, p->set_external_id && p->external_id, p->external_id);
    bind_u64(st, 9, now_ms);
    return exec_update_one(q, st, "session", id, out_err);
}

/* The compare-and-swap of current_run_id and the new run's insert are one transaction. */
static wr_err
session_swap_run(wr_meta *m, const char *id, const char *expected, const wr_run *run,
                 uint64_t now_ms, bool *out_swapped, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_SESSION_SWAP);
    wr_err err = run_simple(q, S_BEGIN, out_err);
    if (err != WR_OK)
        return err;
    bind_text(st, 1, id);
    bind_opt_text(st, 2, expected != NULL, expected);
    bind_text(st, 3, run->id);
    bind_u64(st, 4, now_ms);
    int rc = step(q, st, true);
    bool changed = rc == SQLITE_DONE && sqlite3_changes(q->db) > 0;
    if (rc != SQLITE_DONE)
        err = fail(q, rc, "session", "session", out_err);
    done(st);
    if (err == WR_OK && !changed)
        err = exists(q, S_SESSION_EXISTS, id, "session", out_err);
    if (err == WR_OK && changed)
        err = run_create(m, run, out_err);
    if (err == WR_OK && changed)
        err = run_simple(q, S_COMMIT, out_err);
    rollback(q);
    *out_swapped = err == WR_OK && changed;
    return err;
}

/* ---- listing -------------------------------------------------------------------------------- */

/* Appends " AND col IN (?,…)" for n values, binding them later in the same order. */
static void
where_in(wr_buf *sql, const char *col, size_t n)
{
    if (n == 0)
        return;
    wr_buf_printf(sql, " AND %s IN (", col);
    for (size_t i = 0; i < n; i++)
        wr_buf_append_str(sql, i ? ",?" : "?");
    wr_buf_append_byte(sql, ')');
}

static void
bind_all(sqlite3_stmt *st, int *i, const char *const *v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        bind_text(st, (*i)++, v[k]);
}

/*
 * Builds the page query: the filters, then the cursor bound (row values compare as tuples), in
 * the page's direction. `before` pages run ascending and are reversed after reading.
 */
static void
list_sql(const wr_session_filter *f, bool cursor, wr_buf *sql)
{
    wr_buf_append_str(sql, "SELECT " SESSION_COLS " FROM sessions WHERE env_id = ?");
    where_in(sql, "type", f->n_types);
    where_in(sql, "task_identifier", f->n_task_identifiers);
    if (f->n_tags) {
        wr_buf_append_str(sql, " AND EXISTS (SELECT 1 FROM json_each(coalesce(tags_json, '[]')) "
                               "WHERE json_each.value IN (");
        for (size_t i = 0; i < f->n_tags; i++)
            wr_buf_append_str(sql, i ? ",?" : "?");
        wr_buf_append_str(sql, "))");
    }
    if (f->external_id)
        wr_buf_append_str(sql, " AND external_id = ?");
    if (f->created_from_ms)
        wr_buf_append_str(sql, " AND created_at_ms >= ?");
    if (f->created_to_ms)
        wr_buf_append_str(sql, " AND created_at_ms <= ?");
    if (f->statuses &&
        f->statuses != (WR_SESSION_ACTIVE | WR_SESSION_CLOSED | WR_SESSION_EXPIRED)) {
        wr_buf_append_str(sql, " AND (0");
        if (f->statuses & WR_SESSION_ACTIVE)
            wr_buf_append_str(sql, " OR (closed_at_ms IS NULL AND (expires_at_ms IS NULL OR "
                                   "expires_at_ms > ?))");
        if (f->statuses & WR_SESSION_CLOSED)
            wr_buf_append_str(sql, " OR closed_at_ms IS NOT NULL");
        if (f->statuses & WR_SESSION_EXPIRED)
            wr_buf_append_str(sql, " OR (closed_at_ms IS NULL AND expires_at_ms <= ?)");
        wr_buf_append_byte(sql, ')');
    }
    if (cursor)
        wr_buf_append_str(sql, f->before ? " AND (created_at_ms, id) > (?, ?)"
                                         : " AND (created_at_ms, id) < (?, ?)");
    wr_buf_append_str(sql, f->before ? " ORDER BY created_at_ms, id LIMIT ?"
                                     : " ORDER BY created_at_ms DESC, id DESC LIMIT ?");
}

static void
list_bind(sqlite3_stmt *st, const char *env_id, const wr_session_filter *f, bool cursor,
          uint64_t cursor_ms, const char *cursor_id)
{
    int i = 1;
    bind_text(st, i++, env_id);
    bind_all(st, &i, f->types, f->n_types);
    bind_all(st, &i, f->task_identifiers, f->n_task_identifiers);
    bind_all(st, &i, f->tags, f->n_tags);
    if (f->external_id)
        bind_text(st, i++, f->external_id);
    if (f->created_from_ms)
        bind_u64(st, i++, f->created_from_ms);
    if (f->created_to_ms)
        bind_u64(st, i++, f->created_to_ms);
    if (f->statuses &&
        f->statuses != (WR_SESSION_ACTIVE | WR_SESSION_CLOSED | WR_SESSION_EXPIRED)) {
        if (f->statuses & WR_SESSION_ACTIVE)
            bind_u64(st, i++, f->now_ms);
        if (f->statuses & WR_SESSION_EXPIRED)
            bind_u64(st, i++, f->now_ms);
    }
    if (cursor) {
        bind_u64(st, i++, cursor_ms);
        bind_text(st, i++, cursor_id);
    }
    sqlite3_bind_int64(st, i, (sqlite3_int64)f->limit + 1);
}

static wr_err
session_list(wr_meta *m, const char *env_id, const wr_session_filter *f, wr_session_page *out,
             wr_error *out_err)
{
    sq *q = SQ(m);
    const char *cursor_id = f->after ? f->after : f->before;
    uint64_t cursor_ms = 0;
    wr_err err = WR_OK;
    if (cursor_id) {
        PREP(cst, S_SESSION_CURSOR);
        bind_text(cst, 1, cursor_id);
        bind_text(cst, 2, env_id);
        int rc = step(q, cst, false);
        if (rc == SQLITE_ROW)
            cursor_ms = col_u64(cst, 0);
        else if (rc == SQLITE_DONE)
            err = wr_error_set(out_err, WR_ERR_NOT_FOUND, "cursor %s is not a session", cursor_id);
        else
            err = fail(q, rc, "session", "session", out_err);
        done(cst);
        if (err != WR_OK)
            return err;
    }
    wr_buf sql;
    wr_buf_init(&sql);
    list_sql(f, cursor_id != NULL, &sql);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(q->db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        err = wr_error_set(out_err, WR_ERR_STORAGE, "sqlite prepare: %s", sqlite3_errmsg(q->db));
        goto out;
    }
    list_bind(st, env_id, f, cursor_id != NULL, cursor_ms, cursor_id);
    out->items = wr_xcalloc(f->limit + 1, sizeof(*out->items));
    int rc;
    while ((rc = step(q, st, false)) == SQLITE_ROW && out->n <= f->limit)
        read_session(st, &out->items[out->n++]);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        err = fail(q, rc, "session", "session", out_err);
        wr_session_page_fini(out);
        goto out;
    }
    bool more = out->n > f->limit;
    if (more)
        wr_session_fini(&out->items[--out->n]);
    if (f->before) {
        for (size_t a = 0, b = out->n ? out->n - 1 : 0; a < b; a++, b--) {
            wr_session t = out->items[a];
            out->items[a] = out->items[b];
            out->items[b] = t;
        }
        out->has_previous = more;
        out->has_next = true;
    } else {
        out->has_next = more;
        out->has_previous = f->after != NULL;
    }
out:
    sqlite3_finalize(st);
    wr_buf_fini(&sql);
    return err;
}

/* ---- listings ------------------------------------------------------------------------------- */

static wr_err
project_list(wr_meta *m, const char *org_id, wr_project **out, size_t *out_n, wr_error *out_err)
{
    sq *q = SQ(m);
    PREP(st, S_PROJECT_LIST);
    bind_text(st, 1, org_id);
    return query_all(q, st, read_project, NULL, sizeof(**out), "project", (void **)out, out_n,
                     out_err);
}

static wr_err
env_list(wr_meta *m, const char *org_id, wr_env **out, size_t *out_n, wr_error *out_err)
{
    sq *q = SQ(m);
    PREP(st, S_ENV_LIST);
    bind_text(st, 1, org_id);
    return query_all(q, st, read_env, NULL, sizeof(**out), "environment", (void **)out, out_n,
                     out_err);
}

static wr_err
run_list(wr_meta *m, const char *env_id, const char *after, size_t limit, wr_run_page *out,
         wr_error *out_err)
{
    sq *q = SQ(m);
    PREP(st, after ? S_RUN_LIST_AFTER : S_RUN_LIST);
    bind_text(st, 1, env_id);
    bind_u64(st, 2, limit + 1); /* one more tells whether a next page exists */
    if (after)
        bind_text(st, 3, after);
    void *items;
    size_t n;
    wr_err err = query_all(q, st, read_run, NULL, sizeof(wr_run), "run", &items, &n, out_err);
    if (err != WR_OK)
        return err;
    out->items = items;
    out->has_next = n > limit;
    out->n = n > limit ? limit : n;
    return WR_OK;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* SQLite rolls a transaction back by itself after some errors (I/O, disk full): a group that
 * finds itself outside its transaction fails (and the handle with it) rather than let a change
 * commit on its own. */
static wr_err
group_lost(sq *q, wr_error *out_err)
{
    if (!sqlite3_get_autocommit(q->db))
        return WR_OK;
    q->failed = true;
    return wr_error_set(out_err, WR_ERR_STORAGE,
                        "control-plane group transaction was rolled back by the database");
}

/* wr_meta_group on SQLite: BEGIN IMMEDIATE … COMMIT around the group, savepoints inside. */
static wr_err
sq_group(wr_meta *m, wr_meta_group_step step_id, wr_error *out_err)
{
    sq *q = SQ(m);
    bool order_ok = step_id == WR_META_GROUP_BEGIN ? !q->group
                    : step_id == WR_META_GROUP_JOB ? q->group && !q->job
                    : step_id == WR_META_GROUP_JOB_KEEP || step_id == WR_META_GROUP_JOB_UNDO
                        ? q->job
                        : q->group && !q->job;
    if (!order_ok)
        return wr_error_set(out_err, WR_ERR_INVALID, "control-plane group step out of order");
    wr_err err = WR_OK;
    switch (step_id) {
    case WR_META_GROUP_BEGIN:
        err = check_writable(q, out_err);
        if (err == WR_OK)
            err = run_stmt(q, S_BEGIN, out_err);
        q->group = err == WR_OK;
        q->op = false;
        return err;
    case WR_META_GROUP_JOB:
        if ((err = group_lost(q, out_err)) != WR_OK)
            return err;
        err = run_stmt(q, S_JOB_SAVE, out_err);
        q->job = err == WR_OK;
        return err;
    case WR_META_GROUP_JOB_KEEP:
    case WR_META_GROUP_JOB_UNDO:
        q->job = false;
        if (step_id == WR_META_GROUP_JOB_UNDO)
            err = run_stmt(q, S_JOB_UNDO, out_err);
        if (err == WR_OK)
            err = run_stmt(q, S_JOB_RELEASE, out_err);
        return err;
    case WR_META_GROUP_COMMIT:
        q->group = false;
        if ((err = group_lost(q, out_err)) != WR_OK)
            return err;
        err = run_stmt(q, S_COMMIT, out_err);
        if (err != WR_OK) {
            q->failed = true; /* we cannot know what reached the disk */
            if (!sqlite3_get_autocommit(q->db))
                run_stmt(q, S_ROLLBACK, NULL);
        }
        return err;
    default: /* WR_META_GROUP_ABORT */
        q->group = false;
        if (!sqlite3_get_autocommit(q->db))
            err = run_stmt(q, S_ROLLBACK, out_err);
        return err;
    }
}

static void
sq_close(wr_meta *m)
{
    sq *q = SQ(m);
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(q->st[i]);
    sqlite3_close_v2(q->db);
    free(q);
}

/* ---- part ids ------------------------------------------------------------------------------- */

static wr_err
part_claim(wr_meta *m, const char *key, const char *part, uint64_t now_ms, uint64_t done_before,
           uint64_t claimed_before, wr_meta_part_state *out_state, uint64_t *out_seq,
           wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_PART_CLAIM);
    bind_text(st, 1, key);
    bind_text(st, 2, part);
    bind_u64(st, 3, now_ms);
    bind_u64(st, 4, done_before);
    bind_u64(st, 5, claimed_before);
    wr_err err = exec_write(q, st, "part id", "part id", out_err);
    if (err != WR_OK || sqlite3_changes(q->db) > 0) {
        *out_state = WR_META_PART_CLAIMED;
        return err;
    }
    PREP(get, S_PART_GET);
    bind_text(get, 1, key);
    bind_text(get, 2, part);
    int rc = step(q, get, false);
    if (rc == SQLITE_ROW && !col_null(get, 0)) {
        *out_state = WR_META_PART_DONE;
        *out_seq = col_u64(get, 0);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        err = fail(q, rc, "part id", "part id", out_err);
    done(get);
    return err;
}

static wr_err
part_done(wr_meta *m, const char *key, const char *part, uint64_t claimed_ms, uint64_t seq,
          uint64_t now_ms, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_PART_DONE);
    bind_text(st, 1, key);
    bind_text(st, 2, part);
    bind_u64(st, 3, claimed_ms);
    bind_u64(st, 4, seq);
    bind_u64(st, 5, now_ms);
    return exec_update_one(q, st, "part id claim", part, out_err);
}

static wr_err
part_release(wr_meta *m, const char *key, const char *part, uint64_t claimed_ms, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_PART_RELEASE);
    bind_text(st, 1, key);
    bind_text(st, 2, part);
    bind_u64(st, 3, claimed_ms);
    return exec_write(q, st, "part id", "part id", out_err);
}

static wr_err
part_purge(wr_meta *m, uint64_t before_ms, size_t *out_n, wr_error *out_err)
{
    sq *q = SQ(m);
    WRITABLE();
    PREP(st, S_PART_PURGE);
    bind_u64(st, 1, before_ms);
    wr_err err = exec_write(q, st, "part id", "part id", out_err);
    if (err == WR_OK && out_n)
        *out_n = (size_t)sqlite3_changes(q->db);
    return err;
}

static const wr_meta_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .org_create = org_create,
    .org_get = org_get,
    .org_get_by_slug = org_get_by_slug,
    .org_list = org_list,
    .org_set_plan = org_set_plan,
    .org_set_basin = org_set_basin,
    .project_create = project_create,
    .project_get = project_get,
    .env_create = env_create,
    .env_get = env_get,
    .env_by_key_hash = env_by_key_hash,
    .env_and_org = env_and_org,
    .env_set_key = env_set_key,
    .run_create = run_create,
    .run_get = run_get,
    .run_complete = run_complete,
    .run_add_stream = run_add_stream,
    .run_has_stream = run_has_stream,
    .run_streams = run_streams,
    .session_create_or_get = session_create_or_get,
    .session_get_by_id = session_get_by_id,
    .session_get_by_external_id = session_get_by_external_id,
    .session_stream_key_taken = session_stream_key_taken,
    .session_close = session_close,
    .session_update = session_update,
    .session_swap_run = session_swap_run,
    .session_list = session_list,
    .project_list = project_list,
    .env_list = env_list,
    .run_list = run_list,
    .part_claim = part_claim,
    .part_done = part_done,
    .part_release = part_release,
    .part_purge = part_purge,
    .group = sq_group,
};

/* Runs one SQL text (possibly several statements) on db during open. */
static wr_err
exec_sql(sqlite3 *db, const char *sql, const char *what, wr_error *out_err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return WR_OK;
    wr_err err = wr_error_set(out_err, WR_ERR_STORAGE, "sqlite %s: %s", what,
                              msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return err;
}

/* The single integer a one-row query returns, or -1 with *out_err set. */
static sqlite3_int64
query_int(sqlite3 *db, const char *sql, wr_error *out_err)
{
    sqlite3_stmt *st = NULL;
    sqlite3_int64 v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
        wr_error_set(out_err, WR_ERR_STORAGE, "sqlite %s: %s", sql, sqlite3_errmsg(db));
    else
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Applies every migration newer than the file's version, all in one transaction. */
static wr_err
migrate(sqlite3 *db, wr_error *out_err)
{
    wr_err err = exec_sql(db, "BEGIN IMMEDIATE", "begin migrations", out_err);
    if (err != WR_OK)
        return err;
    err = exec_sql(db,
                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   "  version INTEGER PRIMARY KEY,"
                   "  applied_at_ms INTEGER NOT NULL"
                   ") STRICT",
                   "create schema_migrations", out_err);
    if (err != WR_OK)
        goto out;
    sqlite3_int64 cur =
        query_int(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", out_err);
    if (cur < 0) {
        err = WR_ERR_STORAGE;
        goto out;
    }
    if (cur > N_MIGRATIONS) {
        err = wr_error_set(out_err, WR_ERR_STORAGE,
                           "control-plane schema version %lld is newer than this binary's %d",
                           (long long)cur, N_MIGRATIONS);
        goto out;
    }
    for (int v = (int)cur + 1; v <= N_MIGRATIONS; v++) {
        char what[48];
        snprintf(what, sizeof(what), "migration %d", v);
        err = exec_sql(db, migrations[v - 1], what, out_err);
        if (err != WR_OK)
            goto out;
        char rec[128];
        snprintf(rec, sizeof(rec),
                 "INSERT INTO schema_migrations (version, applied_at_ms) VALUES (%d, %llu)", v,
                 (unsigned long long)wr_clock_now_ms());
        err = exec_sql(db, rec, what, out_err);
        if (err != WR_OK)
            goto out;
    }
    err = exec_sql(db, "COMMIT", "commit migrations", out_err);
out:
    if (err != WR_OK && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

/* Makes a newly created database file's directory entry durable. */
static wr_err
sync_parent_dir(const char *path, wr_error *out_err)
{
    char *copy = wr_xstrdup(path);
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    wr_err err = WR_OK;
    if (fd < 0 || fsync(fd) != 0)
        err = wr_error_set(out_err, WR_ERR_STORAGE, "fsync of directory %s failed", dir);
    if (fd >= 0)
        close(fd);
    free(copy);
    return err;
}

static wr_err open_sqlite(const char *path, bool shared, wr_meta **out, wr_error *out_err);

wr_err
wr_meta_open_sqlite(const char *path, wr_meta **out, wr_error *out_err)
{
    return open_sqlite(path, false, out, out_err);
}

wr_err
wr_meta_open_sqlite_shared(const char *path, wr_meta **out, wr_error *out_err)
{
    if (strcmp(path, ":memory:") == 0)
        return wr_error_set(out_err, WR_ERR_INVALID, "a shared control-plane db needs a file");
    return open_sqlite(path, true, out, out_err);
}

static wr_err
open_sqlite(const char *path, bool shared, wr_meta **out, wr_error *out_err)
{
    *out = NULL;
    bool memory = strcmp(path, ":memory:") == 0;
    bool existed = memory || access(path, F_OK) == 0;
    sqlite3 *db = NULL;
    wr_err err = WR_OK;
    int rc = sqlite3_open_v2(
        path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        err = wr_error_set(out_err, WR_ERR_STORAGE, "cannot open control-plane db %s: %s", path,
                           db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);

    /* A lone handle (tools, tests) takes exclusive locking, set before the first WAL access: the
     * WAL index stays in heap memory, with no -shm file and no fcntl lock round-trips per
     * transaction. The server's two handles (loop reader, writer thread) share the file with
     * normal locking; the store's lock already forbids a second server on the data dir. */
    if (!shared) {
        err = exec_sql(db, "PRAGMA locking_mode=EXCLUSIVE", "locking mode", out_err);
        if (err != WR_OK)
            goto out;
    }
    /* A new database gets 2 KiB pages (SQLite's default is 4 KiB): a session create inserts into
     * two unique indexes keyed by client-chosen names — (env, externalId) and (env, stream_key) —
     * so each dirties a leaf page somewhere random in both, and every dirty page is written whole
     * to the WAL at commit. Halving the page halves those bytes: +16% session creates/s
     * (docs/benchmarks.md); 1 KiB pages deepen the trees and measured slower. The size only takes
     * before the first table exists; an older database keeps the size it was created with. */
    if (!existed) {
        err = exec_sql(db, "PRAGMA page_size=2048", "page size", out_err);
        if (err != WR_OK)
            goto out;
    }
    /* journal_mode answers with the mode in effect; anything but "wal" means it did not take
     * (":memory:" databases answer "memory" and are allowed, for tests). */
    sqlite3_stmt *st = NULL;
    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    bool wal_ok = mode && (strcmp(mode, "wal") == 0 || (memory && strcmp(mode, "memory") == 0));
    if (!wal_ok)
        err = wr_error_set(out_err, WR_ERR_STORAGE, "control-plane db %s: cannot enable WAL (%s)",
                           path, mode ? mode : sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (err != WR_OK)
        goto out;
    err = exec_sql(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", "pragmas", out_err);
    if (err != WR_OK)
        goto out;
    if (query_int(db, "PRAGMA foreign_keys", out_err) != 1) {
        err = wr_error_set(out_err, WR_ERR_STORAGE, "sqlite build lacks foreign key support");
        goto out;
    }
    err = migrate(db, out_err);
    if (err != WR_OK)
        goto out;
    if (!existed) {
        err = sync_parent_dir(path, out_err);
        if (err != WR_OK)
            goto out;
    }
    sq *q = wr_xcalloc(1, sizeof(*q));
    q->base.ops = &sqlite_ops;
    q->db = db;
    db = NULL;
    *out = &q->base;
out:
    if (db)
        sqlite3_close_v2(db);
    return err;
}
