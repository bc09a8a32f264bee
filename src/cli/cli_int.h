/*
 * cli_int.h — what the files of src/cli/ share.
 *
 * One command table (cmds.c) drives everything: argument parsing (args.c), `weir help` and
 * `--help` (help.c), and the completion scripts (help.c). A command is a row: its name (one
 * word, or "group sub"), its positional arguments, its options (NULL-terminated lists of
 * wr_cli_opt, shared between commands by pointer), and the function that runs it. A handler
 * reads its parsed arguments by option name; asking for a name the row does not list aborts, so
 * the table and the handlers cannot drift apart without a test noticing.
 *
 * Values are validated when they are parsed, from the option's kind, so a handler never sees a
 * malformed number, duration, time or enum choice. Handlers return a process exit code
 * (cli.h); every failure has printed its one line on stderr before that.
 *
 * Ownership: the wr_cli context owns the parsed arguments (they point into argv), the loaded
 * config file and the HTTP handle, and frees them in wr_cli_fini. Everything is single-threaded.
 */
#ifndef WR_CLI_CLI_INT_H
#define WR_CLI_CLI_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "s2.pb-c.h"
#include "util/buf.h"
#include "util/err.h"

/* ---- the command table (cmds.c) ------------------------------------------------------------ */

typedef enum wr_cli_kind {
    WR_CLI_BOOL,      /* --x means true; --x=true|false|1|0|yes|no */
    WR_CLI_STR,       /* any text, may be empty */
    WR_CLI_U64,       /* plain decimal, 0 .. 2^64-1 */
    WR_CLI_DUR,       /* util/duration.h grammar (7d, 1h), seconds */
    WR_CLI_SIZE,      /* util/duration.h size grammar (64KiB), bytes */
    WR_CLI_ENUM,      /* one of the '|'-separated words in `meta` */
    WR_CLI_RETENTION, /* a duration > 0, or "infinite" (num = 0) */
    WR_CLI_TIME,      /* milliseconds since the epoch, or an RFC 3339 date-time; ms */
} wr_cli_kind;

typedef struct wr_cli_opt {
    const char *name; /* long name without "--" */
    char shorthand;   /* -x, or 0 */
    wr_cli_kind kind;
    const char *meta; /* placeholder in help ("N"); for WR_CLI_ENUM the choices "a|b|c" */
    const char *help;
} wr_cli_opt;

typedef struct wr_cli wr_cli;
typedef int (*wr_cli_run_fn)(wr_cli *c);

#define WR_CLI_MAX_OPT_LISTS 3
#define WR_CLI_MAX_POS 4

typedef struct wr_cli_cmd {
    const char *name;    /* "ls", "orgs create" */
    const char *section; /* heading in `weir help` */
    const char *args;    /* positional synopsis, "" when none */
    uint8_t min_pos, max_pos;
    const wr_cli_opt *const *opts[WR_CLI_MAX_OPT_LISTS]; /* NULL-terminated lists */
    wr_cli_run_fn run; /* NULL only for `serve`, which main.c runs */
    const char *summary;
    const char *help; /* paragraphs printed by `weir help CMD`; may be NULL */
} wr_cli_cmd;

extern const wr_cli_cmd wr_cli_cmds[];
extern const size_t wr_cli_n_cmds;
/* Options every command accepts (--json, endpoints, tokens, --help, ...). */
extern const wr_cli_opt *const wr_cli_global_opts[];

/* ---- parsed arguments (args.c) ------------------------------------------------------------- */

typedef struct wr_cli_val {
    const wr_cli_opt *opt;
    const char *raw; /* the text as given ("true" for a bare boolean) */
    uint64_t num;    /* U64/DUR/SIZE/TIME/RETENTION value; BOOL: 0 or 1; ENUM: choice index */
} wr_cli_val;

#define WR_CLI_MAX_VALS 40

typedef struct wr_cli_args {
    const wr_cli_cmd *cmd; /* NULL when no command was named (only global options) */
    wr_cli_val vals[WR_CLI_MAX_VALS];
    size_t n_vals;
    const char *pos[WR_CLI_MAX_POS];
    size_t n_pos;
    bool help;         /* -h/--help was given */
    const char *group; /* a group named without its subcommand ("orgs"), else NULL */
} wr_cli_args;

/*
 * Parses argv[0..argc) (the words after the program name) against the table. On a usage error
 * returns WR_ERR_INVALID with a one-line message naming the argument; `out` is then partly
 * filled (out->cmd tells which command's help to point at). Values point into argv.
 */
wr_err wr_cli_args_parse(int argc, char **argv, wr_cli_args *out, wr_error *err);

/* The command whose name is exactly `name`, or NULL. */
const wr_cli_cmd *wr_cli_cmd_find(const char *name);
/* True if `word` is the first word of a two-word command ("orgs"). */
bool wr_cli_is_group(const char *word);

/* Checks one value against an option's kind; fills *out_num. Used by the parser and tests. */
wr_err wr_cli_opt_value(const wr_cli_opt *o, const char *text, uint64_t *out_num, wr_error *err);

/*
 * Readers of parsed options by name. The name must be an option of the command or a global
 * option (anything else is a programming error and aborts). They return whether the option was
 * given; `out` is untouched when it was not.
 */
bool wr_cli_arg_str(const wr_cli_args *a, const char *name, const char **out);
bool wr_cli_arg_num(const wr_cli_args *a, const char *name, uint64_t *out);
/* A boolean option: true only if given and not false. */
bool wr_cli_arg_flag(const wr_cli_args *a, const char *name);

/* ---- settings: flags > environment > config file (conf.c) ---------------------------------- */

typedef enum wr_cli_key {
    WR_CLI_KEY_ACCESS_TOKEN,
    WR_CLI_KEY_ACCOUNT_ENDPOINT,
    WR_CLI_KEY_BASIN_ENDPOINT,
    WR_CLI_KEY_WEIR_URL,
    WR_CLI_KEY_ROOT_TOKEN,
    WR_CLI_KEY_API_KEY,
    WR_CLI_KEY__COUNT,
} wr_cli_key;

typedef struct wr_cli_key_info {
    const char *key;  /* name in the config file and for `weir config` */
    const char *env;  /* environment variable */
    const char *flag; /* global option name (without --) */
    bool secret;      /* masked by `weir config list` */
    const char *help;
} wr_cli_key_info;

extern const wr_cli_key_info wr_cli_keys[WR_CLI_KEY__COUNT];

/* The key named `name`, or -1. */
int wr_cli_key_find(const char *name);

/*
 * A parsed config file: ordered key/value pairs. Unknown keys are kept (and written back) so
 * a newer weir's settings survive an older one's `config set`.
 */
typedef struct wr_cli_conf {
    char **keys;
    char **vals;
    size_t n;
} wr_cli_conf;

/*
 * Parses the TOML subset weir writes: blank lines, `# comments`, and `key = "value"` (basic
 * strings with \" \\ \b \t \n \f \r \uXXXX \UXXXXXXXX escapes) or `key = 'literal'`. Keys are
 * bare ([A-Za-z0-9_-]+). Tables, arrays, numbers and repeated keys are errors naming the line.
 * On error `c` is left empty.
 */
wr_err wr_cli_conf_parse(wr_cli_conf *c, const char *text, size_t len, wr_error *err);
/* Appends the file form of c (a header comment, then `key = "value"` lines) to out. */
void wr_cli_conf_format(const wr_cli_conf *c, wr_buf *out);
/* The value of key, or NULL. */
const char *wr_cli_conf_get(const wr_cli_conf *c, const char *key);
/* Sets (val non-NULL) or removes (val NULL) key; returns false when unsetting an absent key. */
bool wr_cli_conf_set(wr_cli_conf *c, const char *key, const char *val);
void wr_cli_conf_fini(wr_cli_conf *c);
/*
 * The config file's path: $WEIR_CONFIG, else $XDG_CONFIG_HOME/weir/config.toml (when absolute),
 * else $HOME/.config/weir/config.toml. Returns false when none can be formed.
 */
bool wr_cli_conf_path(wr_buf *out);
/* Loads path; a missing file is an empty config. Errors name the file (and line). */
wr_err wr_cli_conf_load(wr_cli_conf *c, const char *path, wr_error *err);
/* Writes atomically (temporary file, fsync, rename, fsync of the directory), mode 0600,
 * creating missing directories with mode 0700. */
wr_err wr_cli_conf_save(const wr_cli_conf *c, const char *path, wr_error *err);

/* ---- the run context ------------------------------------------------------------------------ */

typedef struct wr_cli_http wr_cli_http;

struct wr_cli {
    wr_cli_args a;
    wr_cli_conf conf;
    char *conf_path; /* NULL when no path could be formed */
    bool json;       /* --json */
    bool quiet;      /* --quiet */
    bool color_out;  /* ANSI colours on stdout */
    bool color_err;
    const char *version;
    wr_cli_http *http; /* created on first use */
};

/* The winning value of a setting and where it came from ("flag", "env", "file"); NULL if unset. */
const char *wr_cli_setting(const wr_cli *c, wr_cli_key k, const char **out_source);

/* One usage line on stderr ("weir CMD: <message>"); returns WR_CLI_EXIT_USAGE. */
int wr_cli_usage(wr_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One failure line on stderr ("weir: <message>"); returns WR_CLI_EXIT_FAIL. */
int wr_cli_fail(wr_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A note on stderr (progress, reconnects), unless --quiet. */
void wr_cli_note(wr_cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints v compactly on one stdout line (for --json) and releases it. */
void wr_cli_print_json(json_t *v);
/* The end of a command that shows an answer: unless rc is a failure, prints o (NULL: {}) as JSON
 * (--json) or as aligned key/value lines. Releases o either way; returns rc. */
int wr_cli_show(wr_cli *c, int rc, json_t *o);
/* The end of a command that changed something: unless rc is a failure, prints `json` (--json)
 * or the line of `fmt`. Releases json either way (NULL: {}); returns rc. */
int wr_cli_done(wr_cli *c, int rc, json_t *json, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- HTTP (http.c) -------------------------------------------------------------------------- */

typedef enum wr_cli_target {
    WR_CLI_ACCOUNT, /* the S2 account endpoint, access token */
    WR_CLI_BASIN,   /* the S2 basin endpoint, access token, s2-basin header */
    WR_CLI_ADMIN,   /* weir's /admin/api/v1, root token */
    WR_CLI_API,     /* weir's /api/v1 and /realtime/v1, environment key */
} wr_cli_target;

typedef struct wr_cli_req {
    wr_cli_target target;
    const char *basin;  /* WR_CLI_BASIN: the basin */
    const char *method; /* "GET", ... */
    const char *path;   /* after the base ("/streams/x/records?seq_num=0"), already encoded */
    const char *ctype;  /* request Content-Type, or NULL */
    const char *accept; /* or NULL (JSON) */
    const void *body;
    size_t body_len;
    const char *last_event_id; /* or NULL */
    const char *s2_format;     /* s2-format header ("base64"), or NULL */
    const char *timeout;       /* Timeout-Seconds header (realtime SSE), or NULL */
    bool stream;               /* a long-lived response: no total timeout, stalls after 30 s */
    /* Streaming: the body of a 2xx answer goes to on_data (return false to stop reading)
     * instead of the response buffer. */
    bool (*on_data)(const char *p, size_t n, void *ud);
    void *ud;
} wr_cli_req;

typedef struct wr_cli_resp {
    long status;
    wr_buf body;
    char provision[16]; /* s2-provision-result */
    char ctype[64];     /* Content-Type */
    bool stopped;       /* on_data asked to stop */
} wr_cli_resp;

/*
 * Resolves the request's credentials and base URL (usage errors: missing token or bad endpoint
 * → WR_ERR_INVALID) and sends it. WR_OK means an answer arrived, whatever its status;
 * WR_ERR_UNAVAILABLE means the transport failed (refused, reset, timeout, stalled stream).
 */
wr_err wr_cli_http_do(wr_cli *c, const wr_cli_req *r, wr_cli_resp *out, wr_error *err);
void wr_cli_resp_fini(wr_cli_resp *r);
void wr_cli_http_free(wr_cli_http *h);

/* The base URL of a target ("http://host:4243/v1"); WR_ERR_INVALID with a usage message. */
wr_err wr_cli_base_url(wr_cli *c, wr_cli_target t, const char *basin, wr_buf *out, wr_error *err);
/* Normalizes an endpoint: adds https:// without a scheme, /v1 without a path (when add_v1). */
wr_err wr_cli_endpoint_norm(const char *in, bool add_v1, wr_buf *out, wr_error *err);

/*
 * Prints the error a non-2xx answer carries — S2 {"code","message"}, the 412 and 416 bodies,
 * realtime {"error"} — on stderr (a JSON object with --json) and returns WR_CLI_EXIT_FAIL.
 */
int wr_cli_fail_resp(wr_cli *c, const wr_cli_resp *r);
/* Maps a wr_cli_http_do failure to its exit code after printing it. */
int wr_cli_fail_http(wr_cli *c, const wr_error *err);

/*
 * One JSON call: sends body (borrowed, may be NULL), expects a 2xx, parses a non-empty answer
 * into *out_json (may be NULL: the answer is dropped). Failures are printed; returns the exit
 * code. out_resp, if given, receives the status and headers (its body is emptied).
 */
int wr_cli_call(wr_cli *c, wr_cli_target t, const char *basin, const char *method, const char *path,
                json_t *body, json_t **out_json, wr_cli_resp *out_resp);
/* wr_cli_call whose JSON answer is shown with wr_cli_show; body borrowed. Returns the exit code. */
int wr_cli_call_show(wr_cli *c, wr_cli_target t, const char *basin, const char *method,
                     const char *path, json_t *body);

/* The longest pagination cursor a list command follows (session ids are far shorter). */
#define WR_CLI_CURSOR_MAX 256

/* Appends "?k=v" or "&k=v", percent-encoded. */
void wr_cli_query(wr_buf *b, const char *k, const char *v);
void wr_cli_query_u64(wr_buf *b, const char *k, uint64_t v);
/* Appends "/" and the percent-encoded segment. */
void wr_cli_seg(wr_buf *b, const char *seg);
/* Appends prefix, "/" and the percent-encoded segment, then suffix ("/orgs", id, "/usage"). */
void wr_cli_path(wr_buf *b, const char *prefix, const char *seg, const char *suffix);

/* ---- s2:// URIs (uri.c) ----------------------------------------------------------------------- */

typedef enum wr_cli_uri_kind {
    WR_CLI_URI_BASIN,        /* s2://basin */
    WR_CLI_URI_STREAM,       /* s2://basin/stream (stream required) */
    WR_CLI_URI_BASIN_PREFIX, /* s2://basin[/prefix] */
} wr_cli_uri_kind;

typedef struct wr_cli_uri {
    char basin[49];
    const char *stream; /* points into the input; "" when absent */
} wr_cli_uri;

/*
 * Parses "s2://basin/stream" (the scheme may be left out). Basin names are 8–48 characters of
 * [a-z0-9-] beginning and ending with a letter or digit; stream names 1–512 bytes of UTF-8
 * other than "." and "..". Errors are WR_ERR_INVALID with a message that does not repeat the
 * input (the caller names the argument).
 */
wr_err wr_cli_uri_parse(const char *s, wr_cli_uri_kind kind, wr_cli_uri *out, wr_error *err);
bool wr_cli_basin_name_ok(const char *s);

/* ---- humanizing and tables (human.c) --------------------------------------------------------- */

/* 1023 → "1023 B", 1536 → "1.50 KiB", 10 MiB → "10.0 MiB". */
void wr_cli_fmt_bytes(uint64_t n, char out[32]);
/* 1234567 → "1,234,567". */
void wr_cli_fmt_count(uint64_t n, char out[32]);
/* Two most significant units: 0 → "0s", 90 → "1m 30s", 93784 → "1d 2h". */
void wr_cli_fmt_secs(uint64_t secs, char out[32]);
/* A per-second rate of bytes ("10.2 MiB/s") or of things ("12,345/s"). */
void wr_cli_fmt_byte_rate(double per_sec, char out[32]);
void wr_cli_fmt_rate(double per_sec, char out[32]);
/* ms since the epoch → "2026-08-21T10:00:00.123Z" (UTC). */
void wr_cli_fmt_time_ms(uint64_t ms, char out[40]);
/* An RFC 3339 date-time ("2026-08-21T10:00:00.5+02:00") or plain ms → ms since the epoch. */
bool wr_cli_parse_time(const char *s, uint64_t *out_ms);
/* Display width of UTF-8 text (code points; control bytes count 0). */
size_t wr_cli_width(const char *s);

/* Whether to colour output to fd: a TTY, NO_COLOR unset or empty, TERM not "dumb". */
bool wr_cli_use_color(int fd, bool no_color_flag);

/* An aligned text table: cells are copied. */
typedef struct wr_cli_table {
    size_t n_cols;
    char **cells; /* row-major, header row first */
    size_t n_cells, cap;
} wr_cli_table;

void wr_cli_table_init(wr_cli_table *t, size_t n_cols, const char *const *header);
/* Adds one cell (rows fill left to right); NULL prints as "-". */
void wr_cli_table_add(wr_cli_table *t, const char *cell);
void wr_cli_table_addf(wr_cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints and frees: columns separated by two spaces, header bold when color; f NULL only
 * frees. */
void wr_cli_table_print(wr_cli_table *t, FILE *f, bool color);
/* Prints "key  value" lines aligned, for a flat JSON object (nested objects become a.b). */
void wr_cli_print_object(json_t *o, FILE *f, bool color);

/* ---- SSE parsing (sse.c) --------------------------------------------------------------------- */

typedef void (*wr_cli_sse_fn)(const char *event, const char *data, size_t data_len, const char *id,
                              void *ud);

/*
 * An incremental text/event-stream parser (WHATWG HTML §9.2.6): lines end in CRLF, LF or CR
 * (also when split across feeds); `field: value` with one optional space removed; comments
 * (":...") ignored; `data` lines joined with "\n"; an event is dispatched on a blank line when
 * it has data. `id` is the last event id seen (sticky across events, as in the spec).
 * Lines longer than 16 MiB stop the parser.
 */
typedef struct wr_cli_sse {
    wr_buf line, data;
    char event[64];
    char id[256];
    bool last_cr;
    bool broken;
    wr_cli_sse_fn fn;
    void *ud;
} wr_cli_sse;

void wr_cli_sse_init(wr_cli_sse *s, wr_cli_sse_fn fn, void *ud);
/* Returns false once a line was too long (the parser then ignores further input). */
bool wr_cli_sse_feed(wr_cli_sse *s, const char *p, size_t n);
void wr_cli_sse_fini(wr_cli_sse *s);

/* ---- records (records.c): printing and following ---------------------------------------------- */

typedef enum wr_cli_fmt {
    WR_CLI_FMT_TEXT, /* body + "\n"; command records skipped */
    WR_CLI_FMT_JSON, /* one JSON object per line */
    WR_CLI_FMT_RAW,  /* body bytes only; command records skipped */
} wr_cli_fmt;

typedef struct wr_cli_hdr {
    const uint8_t *name, *value;
    size_t name_len, value_len;
} wr_cli_hdr;

typedef struct wr_cli_rec {
    uint64_t seq_num, timestamp;
    const wr_cli_hdr *headers;
    size_t n_headers;
    const uint8_t *body;
    size_t body_len;
} wr_cli_rec;

/* A command record: exactly one header, with an empty name. */
bool wr_cli_rec_is_command(const wr_cli_rec *r);
/* Metered size: 8 + 2·headers + Σ(name + value) + body. */
uint64_t wr_cli_rec_metered(const wr_cli_rec *r);
/* Prints one record to stdout in fmt. `unwrap` prints an envelope's "data" in text mode. */
void wr_cli_rec_print(const wr_cli_rec *r, wr_cli_fmt fmt, bool unwrap);

/*
 * Follows an SSE records route forever (until the stream or the server says no): `path` with
 * its query opens the first connection; after a drop, a server restart, an `error` event or
 * [DONE], it reconnects with Last-Event-ID (or seq_num= from a ping before any batch), backing
 * off from 200 ms to 2 s. Records at or below the last printed seq_num are never printed again.
 * Returns an exit code when the server refuses (4xx other than 408/429).
 */
typedef struct wr_cli_follow {
    wr_cli_target target;
    const char *basin;
    const char *path;  /* the records route, encoded, without a query */
    const char *query; /* the first connection's query ("?tail_offset=10"), or "" */
    bool base64;       /* ask for s2-format: base64 (S2 routes) */
    wr_cli_fmt fmt;
    bool unwrap;
    const char *timeout; /* Timeout-Seconds header (realtime routes), or NULL */
} wr_cli_follow;

int wr_cli_follow_run(wr_cli *c, const wr_cli_follow *f);

/* ---- command handlers --------------------------------------------------------------------- */

/* basins.c */
/*
 * Collects all pages of a list route (GET route?prefix&start_after&limit, honouring the
 * command's --start-after and --limit) into *out, a new array. `key` is the answer's array
 * ("basins", "streams", "access_tokens"), `id_key` the field start_after continues from.
 */
int wr_cli_list_all(wr_cli *c, wr_cli_target t, const char *basin, const char *route,
                    const char *key, const char *id_key, const char *prefix, json_t **out);
int wr_cli_cmd_ls(wr_cli *c);
int wr_cli_cmd_create_basin(wr_cli *c);
int wr_cli_cmd_delete_basin(wr_cli *c);
int wr_cli_cmd_get_basin_config(wr_cli *c);
int wr_cli_cmd_reconfigure_basin(wr_cli *c);
/* streams.c */
int wr_cli_cmd_create_stream(wr_cli *c);
int wr_cli_cmd_delete_stream(wr_cli *c);
int wr_cli_cmd_get_stream_config(wr_cli *c);
int wr_cli_cmd_reconfigure_stream(wr_cli *c);
int wr_cli_cmd_check_tail(wr_cli *c);
int wr_cli_cmd_trim(wr_cli *c);
int wr_cli_cmd_fence(wr_cli *c);
/* Builds a StreamConfig (reconfigure: a StreamReconfiguration) from the config options;
 * NULL when none was given. */
json_t *wr_cli_stream_config(wr_cli *c);
/* append.c */
typedef struct wr_cli_spos {
    uint64_t seq_num, timestamp;
} wr_cli_spos;

typedef struct wr_cli_ack {
    wr_cli_spos start, end, tail;
} wr_cli_ack;

/*
 * Sends one AppendInput as unary protobuf to the stream of u and decodes the AppendAck.
 * Failures are printed; returns the exit code.
 */
int wr_cli_append_batch(wr_cli *c, const wr_cli_uri *u, const S2__V1__AppendInput *in,
                        wr_cli_ack *out);
/* {"start":{"seq_num","timestamp"},"end":{…},"tail":{…}} */
json_t *wr_cli_ack_json(const wr_cli_ack *a);
int wr_cli_cmd_append(wr_cli *c);
/* read.c */
int wr_cli_cmd_read(wr_cli *c);
int wr_cli_cmd_tail(wr_cli *c);
/* tokens.c */
/* A resource set flag: "prefix:P", "exact:N", "=N" (exact) or "P" (prefix) → its JSON. */
json_t *wr_cli_resource_set(const char *s);
/* "account=rw,basin=r,stream=w" → the op_groups JSON; NULL with the bad item in `bad`. */
json_t *wr_cli_op_groups(const char *s, char *bad, size_t bad_cap);
int wr_cli_cmd_issue_token(wr_cli *c);
int wr_cli_cmd_list_tokens(wr_cli *c);
int wr_cli_cmd_revoke_token(wr_cli *c);
/* admin.c */
int wr_cli_cmd_orgs_create(wr_cli *c);
int wr_cli_cmd_orgs_ls(wr_cli *c);
int wr_cli_cmd_orgs_show(wr_cli *c);
int wr_cli_cmd_orgs_plan(wr_cli *c);
int wr_cli_cmd_orgs_provision(wr_cli *c);
int wr_cli_cmd_orgs_deprovision(wr_cli *c);
int wr_cli_cmd_orgs_usage(wr_cli *c);
int wr_cli_cmd_projects_create(wr_cli *c);
int wr_cli_cmd_envs_create(wr_cli *c);
int wr_cli_cmd_envs_rotate_key(wr_cli *c);
/* sessions.c */
int wr_cli_cmd_sessions_ls(wr_cli *c);
int wr_cli_cmd_sessions_show(wr_cli *c);
int wr_cli_cmd_sessions_close(wr_cli *c);
int wr_cli_cmd_sessions_tail(wr_cli *c);
/* conf.c */
int wr_cli_cmd_config_set(wr_cli *c);
int wr_cli_cmd_config_get(wr_cli *c);
int wr_cli_cmd_config_unset(wr_cli *c);
int wr_cli_cmd_config_list(wr_cli *c);
/* help.c */
int wr_cli_cmd_help(wr_cli *c);
int wr_cli_cmd_completion(wr_cli *c);
int wr_cli_cmd_version(wr_cli *c);
/* Prints the help of one command. */
void wr_cli_print_cmd_help(const wr_cli_cmd *cmd, FILE *f);
/* Prints the commands of a group ("orgs"). */
void wr_cli_print_group_help(const char *group, FILE *f);
/* The completion scripts, generated from the table. */
void wr_cli_completion_bash(FILE *f);
void wr_cli_completion_zsh(FILE *f);

/* Parses a positional URI argument; prints the usage error naming it (returns false). */
bool wr_cli_pos_uri(wr_cli *c, size_t i, wr_cli_uri_kind kind, wr_cli_uri *out);

#endif
