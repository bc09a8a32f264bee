/*
 * meta.h — the control-plane store: organizations, projects, environments, runs and sessions.
 * This header is the manual.
 *
 * WHY. The realtime layer needs a small amount of relational, transactional state (tenants,
 * API-key hashes, run and session rows with their basin stamps) that is unlike the stream data in
 * store/. It lives behind this interface so that the embedded SQLite backend and the PostgreSQL
 * backend (for multi-node deployments) serve every caller alike: a wr_meta is an opaque handle
 * whose functions dispatch through a backend table (see meta_int.h).
 *
 * THREADS. A handle is used by one thread at a time; nothing here is thread-safe and nothing
 * calls back. The server opens two handles on one database: the loop thread reads through one,
 * and the writer thread (writer.h) makes every change through the other, so that no commit (no
 * fsync) happens on the loop thread.
 *
 * BLOCKING. Every call is synchronous. Reads touch the database file (usually the page cache;
 * PostgreSQL: a round trip to the server). Every successful change is one committed transaction,
 * durable before the call returns (SQLite: WAL with synchronous=FULL, i.e. about one fsync per
 * change; PostgreSQL: synchronous_commit=on) — except inside a group
 * (wr_meta_group below), where changes become durable together when the group commits.
 *
 * ERRORS. Every function returns WR_OK or a wr_err and, when `out_err` is not NULL, fills it with
 * the code and a message. Common codes:
 *   WR_ERR_NOT_FOUND               the row (or a row it refers to) does not exist
 *   WR_ERR_RESOURCE_ALREADY_EXISTS a unique constraint (id, slug, external id, key hash) is taken
 *   WR_ERR_INVALID                 an argument is malformed (empty id, string not terminated
 *                                  within its field, wrong id prefix, ...); nothing was written
 *   WR_ERR_STORAGE                 the database failed. After a failed write (I/O error, disk
 *                                  full, corruption) the SQLite handle refuses all further writes
 *                                  with WR_ERR_STORAGE until it is closed and reopened; reads go
 *                                  on. (PostgreSQL: see wr_meta_open_postgres.)
 *   WR_ERR_UNAVAILABLE             PostgreSQL only: the server cannot be reached; nothing was
 *                                  changed and a later call may succeed.
 *   WR_ERR_TRANSACTION_CONFLICT    PostgreSQL only: the change deadlocked with another
 *                                  connection's and was undone; running it again may succeed.
 * A call that fails leaves the database unchanged (each change is one transaction).
 *
 * OWNERSHIP. Arguments are borrowed for the duration of the call. Output structs are caller
 * memory that the call overwrites completely (on failure their contents are unspecified but own
 * nothing). The only owned pointers are wr_session's metadata_json/tags_json (free with
 * wr_session_fini) and the arrays returned by the list functions (documented on each).
 *
 * STAMPS. `basin` on runs and sessions is written once, at create, and no function changes it:
 * a row keeps the basin it was created with for life (realtime.md §1). `has_basin == false` means
 * the row was created while its organization had no basin (its streams live in the global one).
 *
 * TIMESTAMPS are milliseconds since the epoch. A created_at_ms of 0 on create means "now"
 * (wr_clock_now_ms()).
 */
#ifndef WR_META_META_H
#define WR_META_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct wr_meta wr_meta;

#define WR_META_ID_MAX 40 /* ids: org/project/env 25 chars; run_…/session_… ids up to 40 */
#define WR_META_SLUG_MAX 64

/* The prefix every session id carries; external ids must not start with it. */
#define WR_META_SESSION_ID_PREFIX "session_"

typedef struct wr_org {
    char id[WR_META_ID_MAX + 1];     /* immutable, unique */
    char slug[WR_META_SLUG_MAX + 1]; /* unique */
    char title[257];
    char plan[33];
    bool has_basin; /* false: stream_basin_name is NULL */
    char basin[49];
    uint64_t created_at_ms;
    uint64_t updated_at_ms; /* set by create and by plan and basin changes */
} wr_org;

typedef struct wr_project {
    char id[WR_META_ID_MAX + 1];
    char slug[WR_META_SLUG_MAX + 1]; /* unique within the org */
    char org_id[WR_META_ID_MAX + 1];
    uint64_t created_at_ms;
} wr_project;

#define WR_META_KEY_ENC_MAX 128 /* an encrypted API key: nonce, ciphertext and tag */

typedef struct wr_env {
    char id[WR_META_ID_MAX + 1];
    char slug[WR_META_SLUG_MAX + 1]; /* unique within the project */
    char project_id[WR_META_ID_MAX + 1];
    char org_id[WR_META_ID_MAX + 1]; /* the project's org (filled in on create if empty) */
    uint8_t key_hash[32];            /* hash of the secret API key; unique */
    /* The API key encrypted by the caller (opaque here; never the plain key). 0 = none: an
     * environment created before keys were kept, until its key is rotated. */
    size_t key_enc_len;
    uint8_t key_enc[WR_META_KEY_ENC_MAX];
    uint64_t created_at_ms;
} wr_env;

typedef struct wr_run {
    char id[WR_META_ID_MAX + 1]; /* unique across all environments */
    char env_id[WR_META_ID_MAX + 1];
    char task_identifier[129];
    bool has_parent;
    char parent_run_id[WR_META_ID_MAX + 1];
    char root_run_id[WR_META_ID_MAX + 1]; /* empty on create means the run itself */
    bool completed;
    uint64_t completed_at_ms;
    bool has_basin; /* the stamp; see STAMPS */
    char basin[49];
    uint64_t created_at_ms;
} wr_run;

typedef struct wr_session {
    char id[WR_META_ID_MAX + 1]; /* starts with "session_"; unique across all environments */
    char env_id[WR_META_ID_MAX + 1];
    bool has_external_id;
    char external_id[257]; /* unique within the env; must not start with "session_" */
    /* The name its channel streams carry: the external id at create, else the id. Write-once, so
     * a later change of the external id does not move the channels. */
    char stream_key[257];
    char type[65];
    char task_identifier[129];
    char *metadata_json;       /* owned (malloc) or NULL; free with wr_session_fini */
    char *tags_json;           /* owned (malloc) or NULL; free with wr_session_fini */
    char *trigger_config_json; /* owned (malloc) or NULL; free with wr_session_fini */
    bool has_current_run;
    char current_run_id[WR_META_ID_MAX + 1]; /* the run serving the session now */
    bool closed;
    uint64_t closed_at_ms;
    char closed_reason[257]; /* "" when closed without a reason */
    uint64_t expires_at_ms;  /* 0 = none */
    bool has_basin;          /* the stamp; see STAMPS */
    char basin[49];
    uint64_t created_at_ms;
    uint64_t updated_at_ms; /* create, update, run swap and close move it */
} wr_session;

/* Frees the session's owned JSON strings and sets them to NULL. s may be NULL. Only for sessions
 * filled in by this module (or whose pointers the caller owns). */
void wr_session_fini(wr_session *s);

/* What wr_meta_session_update changes; a field is left alone unless its set_* flag is true. */
typedef struct wr_session_patch {
    bool set_tags;
    const char *tags_json; /* a JSON array */
    bool set_metadata;
    const char *metadata_json; /* NULL = null */
    bool set_external_id;
    const char *external_id; /* NULL = clear */
} wr_session_patch;

/* Session statuses for listing (bit flags). */
#define WR_SESSION_ACTIVE 1u  /* not closed, not expired */
#define WR_SESSION_CLOSED 2u  /* closed */
#define WR_SESSION_EXPIRED 4u /* not closed, expires_at <= now */

/*
 * A page of an environment's sessions, newest first (created_at, then id, descending). Every
 * array filter matches any of its values; empty arrays and NULL/0 fields do not filter.
 * `after` continues after that session id (older ones); `before` gives the page just newer than
 * that id. At most one of them.
 */
typedef struct wr_session_filter {
    const char *const *types;
    size_t n_types;
    const char *const *tags;
    size_t n_tags;
    const char *const *task_identifiers;
    size_t n_task_identifiers;
    const char *external_id;
    unsigned statuses; /* WR_SESSION_* bits; 0 = any */
    uint64_t created_from_ms, created_to_ms;
    uint64_t now_ms; /* for EXPIRED/ACTIVE; 0 = now */
    const char *after, *before;
    size_t limit; /* 1..100 */
} wr_session_filter;

typedef struct wr_session_page {
    wr_session *items; /* malloc'd; free with wr_session_page_fini */
    size_t n;
    bool has_next;     /* older sessions exist past the last item */
    bool has_previous; /* newer sessions exist before the first item */
} wr_session_page;

void wr_session_page_fini(wr_session_page *p);

/* Frees an array of n strings returned by this module, and the array. v may be NULL. */
void wr_meta_strv_free(char **v, size_t n);

/* ---- lifecycle ------------------------------------------------------------------------------ */

/*
 * Opens (creating if missing) the SQLite database at `path` and applies every pending schema
 * migration in one transaction. On success *out is a new handle (close with wr_meta_close).
 * Errors: WR_ERR_STORAGE (cannot open, not a database, migration failed, or the file was written
 * by a newer weir whose schema version this binary does not know). Blocks: opens the file and,
 * on first use, fsyncs its directory. The path ":memory:" opens a private, non-durable database
 * (tests only). The directory must exist; the file gets "-wal" and "-shm" companions.
 */
wr_err wr_meta_open_sqlite(const char *path, wr_meta **out, wr_error *out_err);

/*
 * Like wr_meta_open_sqlite, but the file is opened with shared (normal) locking so that a second
 * handle of the same process can use it at the same time: the server's reader handle on the loop
 * thread and the writer thread's handle. A reader sees a change once the writer's commit returned.
 * Not ":memory:".
 */
wr_err wr_meta_open_sqlite_shared(const char *path, wr_meta **out, wr_error *out_err);

/*
 * Connects to the PostgreSQL server named by `conninfo` (a libpq connection string or URI, e.g.
 * "host=db1 port=5432 user=weir dbname=weir"; connect_timeout defaults to 10 s, and TCP
 * keepalives and tcp_user_timeout to about a minute, so a call does not hang much longer on a
 * server that vanished; the string overrides them) and applies every
 * pending schema migration in one transaction, under an advisory lock so that nodes opening the
 * same database at once apply each migration once. The tables live in the first schema of the
 * connection's search_path. On success *out is a new handle: one connection, used by one thread
 * at a time; open one per thread (the server's writer thread and its loop reads).
 * Blocks: on the network (connect, migrations) here, and on a round trip to the server in every
 * later call; a change returns once the server has made it durable (synchronous_commit = on).
 * Errors: UNAVAILABLE (the server cannot be reached: the message names it), STORAGE (a migration
 * failed, or the database was written by a newer weir whose schema version this binary does not
 * know).
 * Differences from SQLite, in later calls: a call that finds the connection broken reconnects
 * once; if the server is still unreachable it fails with UNAVAILABLE (nothing was changed) and the
 * next call tries again. A change whose connection broke while its commit was in flight fails
 * with STORAGE: it may or may not have been made. A failed write or COMMIT does not make the
 * handle refuse further writes (the server guarantees the transaction committed completely or
 * not at all). Inside a group a lost connection loses the group: its remaining steps fail with
 * UNAVAILABLE until COMMIT or ABORT.
 */
wr_err wr_meta_open_postgres(const char *conninfo, wr_meta **out, wr_error *out_err);

/* Closes the handle and frees it. NULL is a no-op. Everything committed stays committed. */
void wr_meta_close(wr_meta *m);

/* The backend's name ("sqlite", "postgres"), for logs. */
const char *wr_meta_backend(const wr_meta *m);

/* ---- organizations -------------------------------------------------------------------------- */

/* Inserts o (has_basin/basin included; updated_at_ms is set to created_at_ms). Errors:
 * RESOURCE_ALREADY_EXISTS (id or slug taken), INVALID (empty id or slug). */
wr_err wr_meta_org_create(wr_meta *m, const wr_org *o, wr_error *out_err);
/* Errors: NOT_FOUND. */
wr_err wr_meta_org_get(wr_meta *m, const char *id, wr_org *out, wr_error *out_err);
/* Looks an org up by slug. Errors: NOT_FOUND. */
wr_err wr_meta_org_get_by_slug(wr_meta *m, const char *slug, wr_org *out, wr_error *out_err);
/* All orgs ordered by created_at_ms, then id. *out is a malloc'd array of *out_n rows (NULL when
 * there are none) that the caller frees with free(). */
wr_err wr_meta_org_list(wr_meta *m, wr_org **out, size_t *out_n, wr_error *out_err);
/* Sets the plan and updated_at_ms. Errors: NOT_FOUND, INVALID (plan empty or longer than 32). */
wr_err wr_meta_org_set_plan(wr_meta *m, const char *id, const char *plan, wr_error *out_err);
/* Sets (or, with NULL, clears) the org's stream_basin_name and updated_at_ms. Rows already stamped
 * are not affected. Errors: NOT_FOUND, INVALID (basin empty or longer than 48). */
wr_err wr_meta_org_set_basin(wr_meta *m, const char *id, const char *basin_or_null,
                             wr_error *out_err);

/* ---- projects and environments -------------------------------------------------------------- */

/* Errors: NOT_FOUND (p->org_id does not exist), RESOURCE_ALREADY_EXISTS (id taken, or slug taken
 * within the org), INVALID. */
wr_err wr_meta_project_create(wr_meta *m, const wr_project *p, wr_error *out_err);
/* Errors: NOT_FOUND. */
wr_err wr_meta_project_get(wr_meta *m, const char *id, wr_project *out, wr_error *out_err);

/* Errors: NOT_FOUND (project does not exist), RESOURCE_ALREADY_EXISTS (id taken, slug taken within
 * the project, or key hash taken), INVALID (also: e->org_id given but not the project's org). An
 * empty e->org_id is filled in from the project. */
wr_err wr_meta_env_create(wr_meta *m, const wr_env *e, wr_error *out_err);
/* Errors: NOT_FOUND. */
wr_err wr_meta_env_get(wr_meta *m, const char *id, wr_env *out, wr_error *out_err);
/* Finds the environment whose key hash equals `hash` (exact 32 bytes). Errors: NOT_FOUND. */
wr_err wr_meta_env_by_key_hash(wr_meta *m, const uint8_t hash[32], wr_env *out, wr_error *out_err);
/* The environment a credential names — by key hash (hash non-NULL) or else by id — and its
 * organization, in one read (on PostgreSQL one round trip: a request's first reads). Errors:
 * NOT_FOUND (no such environment), INVALID (neither or both given). */
wr_err wr_meta_env_and_org(wr_meta *m, const uint8_t *hash, const char *env_id, wr_env *out_env,
                           wr_org *out_org, wr_error *out_err);
/* Replaces the key hash and the encrypted key (key rotation: enc_len 0 clears it); the old key
 * stops matching at once. Errors: NOT_FOUND, RESOURCE_ALREADY_EXISTS (another environment has
 * this hash), INVALID (enc_len over WR_META_KEY_ENC_MAX). */
wr_err wr_meta_env_set_key(wr_meta *m, const char *id, const uint8_t hash[32],
                           const uint8_t *key_enc, size_t enc_len, wr_error *out_err);
/* The organization's projects, oldest first (created_at_ms, then id); an unknown organization has
 * none. *out is a malloc'd array of *out_n rows (NULL when there are none); free with free().
 * Not paged: projects are created by operators, a handful per organization. */
wr_err wr_meta_project_list(wr_meta *m, const char *org_id, wr_project **out, size_t *out_n,
                            wr_error *out_err);
/* The environments of all the organization's projects, by project id, then oldest first; an
 * unknown organization has none. Rows carry the key hash and sealed key like wr_meta_env_get's;
 * callers must not show them. *out as for wr_meta_project_list. */
wr_err wr_meta_env_list(wr_meta *m, const char *org_id, wr_env **out, size_t *out_n,
                        wr_error *out_err);

/* ---- runs ----------------------------------------------------------------------------------- */

/* Inserts r with its basin stamp (completed/completed_at_ms are honoured too). An empty
 * root_run_id is stored as r->id. Errors: RESOURCE_ALREADY_EXISTS (id taken), NOT_FOUND (env does
 * not exist), INVALID. */
wr_err wr_meta_run_create(wr_meta *m, const wr_run *r, wr_error *out_err);
/* Errors: NOT_FOUND (no such run, or it belongs to another environment). */
wr_err wr_meta_run_get(wr_meta *m, const char *env_id, const char *id, wr_run *out,
                       wr_error *out_err);
/* Marks the run completed at at_ms. Idempotent: a completed run keeps its first completed_at_ms
 * and the call succeeds. Errors: NOT_FOUND. */
wr_err wr_meta_run_complete(wr_meta *m, const char *id, uint64_t at_ms, wr_error *out_err);
/* Registers a stream id on the run. Set semantics: adding one twice is a successful no-op.
 * Errors: NOT_FOUND (no such run), INVALID (empty stream id). */
wr_err wr_meta_run_add_stream(wr_meta *m, const char *run_id, const char *stream_id,
                              wr_error *out_err);
/* The run's stream ids in the order they were first added. *out is a malloc'd array of *out_n
 * malloc'd strings (NULL when there are none); free with wr_meta_strv_free. Errors: NOT_FOUND (no
 * such run). */
wr_err wr_meta_run_streams(wr_meta *m, const char *run_id, char ***out, size_t *out_n,
                           wr_error *out_err);

/* Whether stream_id is registered on the run (*out), in one indexed lookup. Errors: INVALID
 * (empty stream id); a missing run is simply false. */
wr_err wr_meta_run_has_stream(wr_meta *m, const char *run_id, const char *stream_id, bool *out,
                              wr_error *out_err);

/* A page of an environment's runs (wr_meta_run_list). */
typedef struct wr_run_page {
    wr_run *items; /* malloc'd; free with free() */
    size_t n;
    bool has_next; /* older runs exist past the last item */
} wr_run_page;

/*
 * A page of at most `limit` (1..100) of the environment's runs, newest first (the order they were
 * created in), continuing after the run `after` (NULL: from the newest). Errors: INVALID (limit),
 * NOT_FOUND (`after` is not a run of the environment). On success free out->items with free().
 */
wr_err wr_meta_run_list(wr_meta *m, const char *env_id, const char *after, size_t limit,
                        wr_run_page *out, wr_error *out_err);

/* ---- sessions ------------------------------------------------------------------------------- */

/*
 * Creates the row from s (borrowed; its JSON strings are copied), or — when s->has_external_id
 * and a row with that external id exists in s->env_id — returns the existing row untouched
 * (never re-stamped, even if closed or expired) with *out_created=false. With `first_run`
 * (may be NULL), that run is inserted in the same transaction, only when the session is created,
 * and becomes its current run. s->stream_key is ignored (set from the external id, or the id
 * when another session of the env already has that external id as its stream_key).
 * On success *out is the stored row (call wr_session_fini on it); out must not be s. out_created
 * may be NULL. Errors: RESOURCE_ALREADY_EXISTS (s->id or the run id taken), NOT_FOUND (env does
 * not exist), INVALID (id not starting with "session_", external id empty or starting with
 * "session_").
 */
wr_err wr_meta_session_create_or_get(wr_meta *m, const wr_session *s, const wr_run *first_run,
                                     wr_session *out, bool *out_created, wr_error *out_err);
/* One create of wr_meta_session_create_many: the arguments and results of one
 * wr_meta_session_create_or_get call. */
typedef struct wr_meta_session_create {
    const wr_session *s;
    const wr_run *first_run; /* may be NULL */
    wr_session *out;
    bool *out_created; /* may be NULL */
} wr_meta_session_create;

/*
 * The n creates in one operation, with the outcome of n wr_meta_session_create_or_get calls in
 * that order (a later one with an earlier one's external id gets its row). All or nothing: on an
 * error no out is filled and — inside a group (wr_meta_group), whose job savepoint the caller
 * undoes — nothing is made; the caller makes them one by one to learn which one failed and why.
 * PostgreSQL: one statement (one round trip) for all; SQLite: the calls one after the other.
 * Errors: those of wr_meta_session_create_or_get, for the first create that fails.
 */
wr_err wr_meta_session_create_many(wr_meta *m, const wr_meta_session_create *c, size_t n,
                                   wr_error *out_err);
/* Whether wr_meta_session_create_many is cheaper than the calls one by one on m's backend
 * (PostgreSQL: one round trip instead of one each). On SQLite it is not — measured 15–30 % fewer
 * creates/s in one job savepoint than one savepoint per create — so callers batch only here. */
bool wr_meta_session_creates_batch(const wr_meta *m);
/*
 * Whether a session of the env has its channel streams named `key` (its stream_key): an external
 * id a renamed session still holds for its channels. Such a name is never given to another
 * session's channels (a new session with that external id gets its id as stream_key) and is not
 * reachable without a row.
 */
wr_err wr_meta_session_stream_key_taken(wr_meta *m, const char *env_id, const char *key,
                                        bool *out_taken, wr_error *out_err);
/* key is a session id (starts with "session_") or an external id, within the env. On success call
 * wr_session_fini on *out. Errors: NOT_FOUND (also when the id belongs to another env). */
wr_err wr_meta_session_get(wr_meta *m, const char *env_id, const char *key, wr_session *out,
                           wr_error *out_err);
/*
 * Write-once close of the session with id `id` (the session id, not an external id): the first
 * close sets closed, closed_at_ms = at_ms and closed_reason (NULL → ""); later calls change
 * nothing and set *out_already=true (false on the first close). out_already may be NULL.
 * Errors: NOT_FOUND, INVALID (reason longer than 256 bytes).
 */
wr_err wr_meta_session_close(wr_meta *m, const char *id, const char *reason, uint64_t at_ms,
                             bool *out_already, wr_error *out_err);
/*
 * Applies `p` to the session with id `id` in env_id and moves updated_at. Errors: NOT_FOUND,
 * RESOURCE_ALREADY_EXISTS (the new external id is taken in the env), INVALID (external id empty
 * or starting with "session_").
 */
wr_err wr_meta_session_update(wr_meta *m, const char *env_id, const char *id,
                              const wr_session_patch *p, wr_error *out_err);
/*
 * Atomically makes `run` (inserted here as given: the caller stamps it with the session's basin)
 * the session's current run, if the current run is still `expected` (NULL: no current run).
 * *out_swapped says whether it happened; when not, nothing is written. Errors: NOT_FOUND, RESOURCE_ALREADY_EXISTS (run id).
 */
wr_err wr_meta_session_swap_run(wr_meta *m, const char *id, const char *expected, const wr_run *run,
                                bool *out_swapped, wr_error *out_err);
/* A page of sessions (see wr_session_filter). Errors: INVALID (limit, both cursors), NOT_FOUND
 * (a cursor that is not a session of the env). On success free *out with wr_session_page_fini. */
wr_err wr_meta_session_list(wr_meta *m, const char *env_id, const wr_session_filter *f,
                            wr_session_page *out, wr_error *out_err);

/* ---- part ids (X-Part-Id across nodes) ----------------------------------------------------- */

/*
 * A shared record of the part ids appended to a stream, so that nodes sharing one control plane
 * append a given X-Part-Id once (the realtime append route; streams.c). A row is keyed by the
 * stream (an opaque key of at most WR_META_PART_KEY_MAX bytes) and the part id (at most
 * WR_META_PART_ID_MAX bytes); it is either a claim (an append in flight, since at_ms) or an
 * answer (appended as seq, at at_ms).
 */
#define WR_META_PART_KEY_MAX 600
#define WR_META_PART_ID_MAX 256

typedef enum wr_meta_part_state {
    WR_META_PART_CLAIMED, /* the caller appends, then part_done (or part_release on failure) */
    WR_META_PART_DONE,    /* appended less than window_ms ago, as *out_seq */
    WR_META_PART_BUSY,    /* another claim younger than claim_ms is in flight */
} wr_meta_part_state;

/*
 * Claims (key, part) at now_ms: a new row, or one whose answer is window_ms old or older or whose
 * claim is claim_ms old or older (its node went away), becomes the caller's claim. Errors:
 * INVALID (empty or too long key or part).
 */
wr_err wr_meta_part_claim(wr_meta *m, const char *key, const char *part, uint64_t now_ms,
                          uint64_t window_ms, uint64_t claim_ms, wr_meta_part_state *out_state,
                          uint64_t *out_seq, wr_error *out_err);
/* Turns the caller's claim made at claimed_ms into the answer `seq` at now_ms. NOT_FOUND when
 * that claim is gone (taken over after claim_ms); the record was appended all the same. */
wr_err wr_meta_part_done(wr_meta *m, const char *key, const char *part, uint64_t claimed_ms,
                         uint64_t seq, uint64_t now_ms, wr_error *out_err);
/* Drops the caller's claim made at claimed_ms (its append failed); no error when it is gone. */
wr_err wr_meta_part_release(wr_meta *m, const char *key, const char *part, uint64_t claimed_ms,
                            wr_error *out_err);
/* Deletes every row older than before_ms; *out_n (may be NULL) says how many. */
wr_err wr_meta_part_purge(wr_meta *m, uint64_t before_ms, size_t *out_n, wr_error *out_err);

/* ---- group commit --------------------------------------------------------------------------- */

/*
 * Many changes, one commit (the writer thread's loop, writer.c):
 *   BEGIN      opens a group transaction. Until COMMIT or ABORT every change made through this
 *              handle joins it; each change's own transaction becomes a nested savepoint, so a
 *              change that fails undoes exactly itself and the group goes on. Nothing of the group
 *              is durable, or visible to other handles, before COMMIT returns WR_OK.
 *   JOB        marks the start of one job (several changes that stand or fall together);
 *   JOB_KEEP   keeps the job's changes in the group;  JOB_UNDO  takes them back.
 *   COMMIT     commits the group: one durable commit (one fsync) for every change in it. On
 *              error nothing of the group was committed (it is rolled back).
 *   ABORT      rolls the whole group back.
 * Errors: STORAGE (the database failed; after COMMIT fails a SQLite handle refuses writes, a
 * PostgreSQL one goes on), INVALID (a step out of order: BEGIN inside a group, JOB outside one,
 * ...), UNAVAILABLE (PostgreSQL: the connection was lost, and the group with it).
 */
typedef enum wr_meta_group_step {
    WR_META_GROUP_BEGIN,
    WR_META_GROUP_JOB,
    WR_META_GROUP_JOB_KEEP,
    WR_META_GROUP_JOB_UNDO,
    WR_META_GROUP_COMMIT,
    WR_META_GROUP_ABORT,
} wr_meta_group_step;

wr_err wr_meta_group(wr_meta *m, wr_meta_group_step step, wr_error *out_err);

#endif
