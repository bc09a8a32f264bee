/*
 * cmds.c — the command table: every command of `weir` except `serve`'s options, with its
 * arguments, options and help text. Parsing (args.c), help and the completion scripts (help.c)
 * read only this table, so a command or option added here is parsed, documented and completed
 * at once. Options are defined once and shared between commands by pointer.
 *
 * docs/cli.md is the user manual for the same commands; keep the two in step.
 */
#include <string.h>

#include "cli/cli_int.h"

/* ---- global options (every command) ------------------------------------------------------- */

static const wr_cli_opt o_json = {"json", 0, WR_CLI_BOOL, NULL,
                                  "machine-readable output: one JSON value per line"};
static const wr_cli_opt o_no_color = {"no-color", 0, WR_CLI_BOOL, NULL,
                                      "never colour the output (also: NO_COLOR=1)"};
static const wr_cli_opt o_quiet = {"quiet", 'q', WR_CLI_BOOL, NULL,
                                   "no progress or reconnection notes on stderr"};
static const wr_cli_opt o_help = {"help", 'h', WR_CLI_BOOL, NULL, "show the command's help"};
static const wr_cli_opt o_access_token = {"access-token", 0, WR_CLI_STR, "TOKEN",
                                          "S2 access token (S2_ACCESS_TOKEN)"};
static const wr_cli_opt o_account_ep = {"account-endpoint", 0, WR_CLI_STR, "URL",
                                        "S2 account endpoint (S2_ACCOUNT_ENDPOINT)"};
static const wr_cli_opt o_basin_ep = {"basin-endpoint", 0, WR_CLI_STR, "URL",
                                      "S2 basin endpoint (S2_BASIN_ENDPOINT)"};
static const wr_cli_opt o_url = {"url", 0, WR_CLI_STR, "URL",
                                 "weir server for the realtime commands (WEIR_URL)"};
static const wr_cli_opt o_root_token = {"root-token", 0, WR_CLI_STR, "TOKEN",
                                        "the server's root token (WEIR_ROOT_TOKEN)"};
static const wr_cli_opt o_api_key = {"api-key", 0, WR_CLI_STR, "KEY",
                                     "an environment's secret key (WEIR_API_KEY)"};

const wr_cli_opt *const wr_cli_global_opts[] = {
    &o_json, &o_no_color,   &o_quiet,   &o_help, &o_access_token, &o_account_ep, &o_basin_ep,
    &o_url,  &o_root_token, &o_api_key, NULL,
};

/* ---- listing -------------------------------------------------------------------------------- */

static const wr_cli_opt o_prefix = {"prefix", 0, WR_CLI_STR, "PREFIX", "only names starting so"};
static const wr_cli_opt o_start_after = {"start-after", 0, WR_CLI_STR, "NAME",
                                         "only names after this one"};
static const wr_cli_opt o_limit = {"limit", 0, WR_CLI_U64, "N", "at most N items (all pages)"};
static const wr_cli_opt *const list_opts[] = {&o_prefix, &o_start_after, &o_limit, NULL};

/* ---- configuration (S2 StreamConfig / BasinConfig) ----------------------------------------- */

static const wr_cli_opt o_storage_class = {"storage-class", 0, WR_CLI_ENUM, "standard|express",
                                           "storage class"};
static const wr_cli_opt o_retention = {"retention-policy", 0, WR_CLI_RETENTION, "AGE|infinite",
                                       "keep records this long (7d), or forever"};
static const wr_cli_opt o_ts_mode = {"timestamping-mode", 0, WR_CLI_ENUM,
                                     "client-prefer|client-require|arrival",
                                     "where record timestamps come from"};
static const wr_cli_opt o_ts_uncapped = {"timestamping-uncapped", 0, WR_CLI_BOOL, NULL,
                                         "allow client timestamps in the future"};
static const wr_cli_opt o_doe = {"delete-on-empty-min-age", 0, WR_CLI_DUR, "AGE",
                                 "delete the stream once empty this long (0s = never)"};
static const wr_cli_opt *const stream_cfg_opts[] = {&o_storage_class, &o_retention, &o_ts_mode,
                                                    &o_ts_uncapped,   &o_doe,       NULL};
static const wr_cli_opt o_csoa = {"create-stream-on-append", 0, WR_CLI_BOOL, NULL,
                                  "appending to a missing stream creates it"};
static const wr_cli_opt o_csor = {"create-stream-on-read", 0, WR_CLI_BOOL, NULL,
                                  "reading a missing stream creates it"};
static const wr_cli_opt *const basin_cfg_opts[] = {&o_csoa, &o_csor, NULL};

/* ---- records -------------------------------------------------------------------------------- */

static const wr_cli_opt o_fencing = {"fencing-token", 0, WR_CLI_STR, "TOKEN",
                                     "fail unless the stream's fencing token is TOKEN"};
static const wr_cli_opt o_match = {"match-seq-num", 0, WR_CLI_U64, "N",
                                   "fail unless the first record gets seq_num N"};
static const wr_cli_opt *const cond_opts[] = {&o_fencing, &o_match, NULL};

static const wr_cli_opt o_file = {"file", 'i', WR_CLI_STR, "PATH",
                                  "read records from PATH instead of stdin (- = stdin)"};
static const wr_cli_opt o_in_format = {"format", 0, WR_CLI_ENUM, "text|json",
                                       "text: each line is a body; json: each line a record"};
static const wr_cli_opt o_batch_records = {"batch-records", 0, WR_CLI_U64, "N",
                                           "records per append, 1-1000 (default 1000)"};
static const wr_cli_opt o_batch_bytes = {"batch-bytes", 0, WR_CLI_SIZE, "SIZE",
                                         "metered bytes per append, up to 1MiB (default)"};
static const wr_cli_opt o_linger = {"linger-ms", 0, WR_CLI_U64, "MS",
                                    "send a partial batch after MS of quiet input (default 5)"};
static const wr_cli_opt o_no_progress = {"no-progress", 0, WR_CLI_BOOL, NULL,
                                         "no progress line, even on a terminal"};
static const wr_cli_opt *const append_opts[] = {
    &o_file, &o_in_format, &o_batch_records, &o_batch_bytes, &o_linger, &o_no_progress, NULL};

static const wr_cli_opt o_seq_num = {"seq-num", 's', WR_CLI_U64, "N", "start at seq_num N"};
static const wr_cli_opt o_timestamp = {"timestamp", 0, WR_CLI_TIME, "TIME",
                                       "start at the first record at or after TIME"};
static const wr_cli_opt o_tail_offset = {"tail-offset", 0, WR_CLI_U64, "N",
                                         "start N records before the tail"};
static const wr_cli_opt o_count = {"count", 'c', WR_CLI_U64, "N", "at most N records"};
static const wr_cli_opt o_bytes = {"bytes", 'b', WR_CLI_SIZE, "SIZE", "at most SIZE metered bytes"};
static const wr_cli_opt o_until = {"until", 0, WR_CLI_TIME, "TIME",
                                   "stop before the first record at or after TIME"};
static const wr_cli_opt o_clamp = {"clamp", 0, WR_CLI_BOOL, NULL,
                                   "start at the tail when asked to start past it"};
static const wr_cli_opt o_out_format = {"format", 0, WR_CLI_ENUM, "text|json|raw",
                                        "text: bodies as lines; json: records; raw: bytes"};
static const wr_cli_opt *const read_opts[] = {&o_seq_num, &o_timestamp,  &o_tail_offset,
                                              &o_count,   &o_bytes,      &o_until,
                                              &o_clamp,   &o_out_format, NULL};
static const wr_cli_opt o_follow = {"follow", 'f', WR_CLI_BOOL, NULL,
                                    "keep following new records (reconnects by itself)"};
static const wr_cli_opt o_lines = {"lines", 'n', WR_CLI_U64, "N",
                                   "start N records before the tail (default 10)"};
static const wr_cli_opt *const tail_opts[] = {&o_follow, &o_lines, &o_out_format, NULL};

/* ---- access tokens -------------------------------------------------------------------------- */

static const wr_cli_opt o_token_id = {"id", 0, WR_CLI_STR, "ID", "token id (default: random)"};
static const wr_cli_opt o_basins = {"basins", 0, WR_CLI_STR, "prefix:P|exact:N",
                                    "basins the token reaches"};
static const wr_cli_opt o_streams = {"streams", 0, WR_CLI_STR, "prefix:P|exact:N",
                                     "streams the token reaches"};
static const wr_cli_opt o_tokens = {"access-tokens", 0, WR_CLI_STR, "prefix:P|exact:N",
                                    "token ids the token may manage"};
static const wr_cli_opt o_op_groups = {"op-groups", 0, WR_CLI_STR, "GROUP=r|w|rw,...",
                                       "account, basin, stream read/write groups"};
static const wr_cli_opt o_ops = {"ops", 0, WR_CLI_STR, "OP,...", "operations (append,read,...)"};
static const wr_cli_opt o_expires_at = {"expires-at", 0, WR_CLI_TIME, "TIME",
                                        "expiry (default: the issuer's)"};
static const wr_cli_opt o_expires_in = {"expires-in", 0, WR_CLI_DUR, "DURATION",
                                        "expiry relative to now (30d)"};
static const wr_cli_opt o_auto_prefix = {"auto-prefix-streams", 0, WR_CLI_BOOL, NULL,
                                         "stream names are relative to the --streams prefix"};
static const wr_cli_opt *const issue_opts[] = {
    &o_token_id, &o_basins,     &o_streams,    &o_tokens,      &o_op_groups,
    &o_ops,      &o_expires_at, &o_expires_in, &o_auto_prefix, NULL};

/* ---- realtime ------------------------------------------------------------------------------- */

static const wr_cli_opt o_title = {"title", 0, WR_CLI_STR, "TITLE",
                                   "display name (default: the slug)"};
static const wr_cli_opt o_plan = {"plan", 0, WR_CLI_STR, "PLAN",
                                  "plan (default: the server's first)"};
static const wr_cli_opt *const org_create_opts[] = {&o_title, &o_plan, NULL};
static const wr_cli_opt o_rt_retention = {"retention", 0, WR_CLI_DUR, "AGE",
                                          "retention of the basin (default: the server's)"};
static const wr_cli_opt o_apply = {"apply-to-existing", 0, WR_CLI_BOOL, NULL,
                                   "also change the retention of existing streams"};
static const wr_cli_opt *const provision_opts[] = {&o_rt_retention, &o_apply, NULL};
static const wr_cli_opt o_reason = {"reason", 0, WR_CLI_STR, "TEXT", "why it was closed"};
static const wr_cli_opt *const close_opts[] = {&o_reason, NULL};
static const wr_cli_opt o_io = {"io", 0, WR_CLI_ENUM, "out|in", "which channel (default out)"};
static const wr_cli_opt o_rt_format = {"format", 0, WR_CLI_ENUM, "text|json",
                                       "text: the records' data; json: whole records"};
static const wr_cli_opt *const session_tail_opts[] = {&o_io, &o_rt_format, NULL};
static const wr_cli_opt o_status = {"status", 0, WR_CLI_ENUM, "active|closed|expired",
                                    "only sessions in that state"};
static const wr_cli_opt o_type = {"type", 0, WR_CLI_STR, "TYPE", "only sessions of that type"};
static const wr_cli_opt *const sessions_ls_opts[] = {&o_status, &o_type, &o_limit, NULL};

static const wr_cli_opt o_effective = {"effective", 0, WR_CLI_BOOL, NULL,
                                       "every setting's winning value and its source"};
static const wr_cli_opt *const config_list_opts[] = {&o_effective, NULL};

/* ---- the table -------------------------------------------------------------------------------- */

#define S_STREAMS "Basins and streams"
#define S_RECORDS "Records"
#define S_TOKENS "Access tokens"
#define S_ADMIN "Realtime administration (root token)"
#define S_SESSIONS "Realtime sessions (environment key)"
#define S_OTHER "Other"

#define OPTS(...)                                                                                  \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

const wr_cli_cmd wr_cli_cmds[] = {
    {"ls", S_STREAMS, "[s2://BASIN[/PREFIX]]", 0, 1, OPTS(list_opts), wr_cli_cmd_ls,
     "list basins, or the streams of a basin",
     "Without an argument lists the basins (--prefix filters them); with s2://BASIN lists its\n"
     "streams, with s2://BASIN/PREFIX those whose names start with PREFIX. Basins and streams\n"
     "being deleted are listed with their state. Pages are followed to the end (or --limit)."},
    {"create-basin", S_STREAMS, "s2://BASIN", 1, 1, OPTS(basin_cfg_opts, stream_cfg_opts),
     wr_cli_cmd_create_basin, "create a basin",
     "The stream options set the basin's default stream configuration."},
    {"delete-basin", S_STREAMS, "s2://BASIN", 1, 1, OPTS(NULL), wr_cli_cmd_delete_basin,
     "delete a basin and its streams (asynchronous)", NULL},
    {"get-basin-config", S_STREAMS, "s2://BASIN", 1, 1, OPTS(NULL), wr_cli_cmd_get_basin_config,
     "show a basin's configuration", NULL},
    {"reconfigure-basin", S_STREAMS, "s2://BASIN", 1, 1, OPTS(basin_cfg_opts, stream_cfg_opts),
     wr_cli_cmd_reconfigure_basin, "change a basin's configuration",
     "Only the options given change; the stream options change the default stream\n"
     "configuration of streams created later."},
    {"create-stream", S_STREAMS, "s2://BASIN/STREAM", 1, 1, OPTS(stream_cfg_opts),
     wr_cli_cmd_create_stream, "create a stream",
     "Options not given come from the basin's default stream configuration."},
    {"delete-stream", S_STREAMS, "s2://BASIN/STREAM", 1, 1, OPTS(NULL), wr_cli_cmd_delete_stream,
     "delete a stream (asynchronous)", NULL},
    {"get-stream-config", S_STREAMS, "s2://BASIN/STREAM", 1, 1, OPTS(NULL),
     wr_cli_cmd_get_stream_config, "show a stream's configuration", NULL},
    {"reconfigure-stream", S_STREAMS, "s2://BASIN/STREAM", 1, 1, OPTS(stream_cfg_opts),
     wr_cli_cmd_reconfigure_stream, "change a stream's configuration",
     "Only the options given change."},
    {"append", S_RECORDS, "s2://BASIN/STREAM", 1, 1, OPTS(append_opts, cond_opts),
     wr_cli_cmd_append, "append lines from stdin or a file as records",
     "Each input line (without its newline) becomes one record; with --format json each line\n"
     "is a record object {\"body\",\"headers\":[[name,value]],\"timestamp\"}. Records are sent\n"
     "in batches of up to 1000 records and 1 MiB. --match-seq-num applies to the first record;\n"
     "later batches follow on from it. On a terminal, appending a file (or more than 1 MiB)\n"
     "shows a progress line on stderr."},
    {"read", S_RECORDS, "s2://BASIN/STREAM", 1, 1, OPTS(read_opts), wr_cli_cmd_read,
     "read records (from seq_num 0 by default)",
     "Reads page by page up to the tail as it is when each page is read, or until --count,\n"
     "--bytes or --until is reached. TIME is milliseconds since the epoch or an RFC 3339\n"
     "date-time. Text and raw formats skip command records (fence, trim)."},
    {"tail", S_RECORDS, "s2://BASIN/STREAM", 1, 1, OPTS(tail_opts), wr_cli_cmd_tail,
     "show the last records, and with -f follow new ones",
     "With -f the command follows the stream live (server-sent events) until interrupted. When\n"
     "the connection drops or the server restarts it reconnects and resumes after the last\n"
     "record shown (Last-Event-ID): nothing is missed or shown twice."},
    {"check-tail", S_RECORDS, "s2://BASIN/STREAM", 1, 1, OPTS(NULL), wr_cli_cmd_check_tail,
     "show the next seq_num and the last timestamp", NULL},
    {"trim", S_RECORDS, "s2://BASIN/STREAM SEQ_NUM", 2, 2, OPTS(cond_opts), wr_cli_cmd_trim,
     "remove the records before SEQ_NUM (eventually)", "Appends a trim command record."},
    {"fence", S_RECORDS, "s2://BASIN/STREAM NEW_TOKEN", 2, 2, OPTS(cond_opts), wr_cli_cmd_fence,
     "set the stream's fencing token (\"\" clears it)",
     "Appends a fence command record; --fencing-token gives the current token."},
    {"issue-access-token", S_TOKENS, "", 0, 0, OPTS(issue_opts), wr_cli_cmd_issue_token,
     "issue a scoped access token",
     "Resource sets are prefix:P or exact:N (a bare value is a prefix, =N is exact). Op groups\n"
     "are written account=rw,basin=r,stream=w. Prints the token (shown only once)."},
    {"list-access-tokens", S_TOKENS, "", 0, 0, OPTS(list_opts), wr_cli_cmd_list_tokens,
     "list access tokens (never their secrets)", NULL},
    {"revoke-access-token", S_TOKENS, "ID", 1, 1, OPTS(NULL), wr_cli_cmd_revoke_token,
     "revoke an access token", NULL},
    {"orgs create", S_ADMIN, "SLUG", 1, 1, OPTS(org_create_opts), wr_cli_cmd_orgs_create,
     "create an organization", NULL},
    {"orgs ls", S_ADMIN, "", 0, 0, OPTS(NULL), wr_cli_cmd_orgs_ls, "list organizations", NULL},
    {"orgs show", S_ADMIN, "ORG_ID", 1, 1, OPTS(NULL), wr_cli_cmd_orgs_show, "show an organization",
     NULL},
    {"orgs plan", S_ADMIN, "ORG_ID PLAN", 2, 2, OPTS(NULL), wr_cli_cmd_orgs_plan,
     "change an organization's plan (and so its basin)", NULL},
    {"orgs provision", S_ADMIN, "ORG_ID", 1, 1, OPTS(provision_opts), wr_cli_cmd_orgs_provision,
     "give an organization its own basin", NULL},
    {"orgs deprovision", S_ADMIN, "ORG_ID", 1, 1, OPTS(NULL), wr_cli_cmd_orgs_deprovision,
     "forget an organization's basin", NULL},
    {"orgs usage", S_ADMIN, "ORG_ID", 1, 1, OPTS(NULL), wr_cli_cmd_orgs_usage,
     "records and bytes appended, read and stored",
     "Over the last 30 days, from the server's persisted usage series."},
    {"projects create", S_ADMIN, "ORG_ID SLUG", 2, 2, OPTS(NULL), wr_cli_cmd_projects_create,
     "create a project", NULL},
    {"envs create", S_ADMIN, "PROJECT_ID SLUG", 2, 2, OPTS(NULL), wr_cli_cmd_envs_create,
     "create an environment; prints its key once", NULL},
    {"envs rotate-key", S_ADMIN, "ENV_ID", 1, 1, OPTS(NULL), wr_cli_cmd_envs_rotate_key,
     "replace an environment's secret key", NULL},
    {"sessions ls", S_SESSIONS, "", 0, 0, OPTS(sessions_ls_opts), wr_cli_cmd_sessions_ls,
     "list the environment's sessions, newest first", NULL},
    {"sessions show", S_SESSIONS, "SESSION", 1, 1, OPTS(NULL), wr_cli_cmd_sessions_show,
     "show a session (by session_ id or external id)", NULL},
    {"sessions close", S_SESSIONS, "SESSION", 1, 1, OPTS(close_opts), wr_cli_cmd_sessions_close,
     "close a session", NULL},
    {"sessions tail", S_SESSIONS, "SESSION", 1, 1, OPTS(session_tail_opts),
     wr_cli_cmd_sessions_tail, "follow a session's channel live",
     "Prints every record of the channel from the start, then follows it, reconnecting and\n"
     "resuming after the last record shown when the connection drops."},
    {"config set", S_OTHER, "KEY VALUE", 2, 2, OPTS(NULL), wr_cli_cmd_config_set,
     "store a setting in the config file", NULL},
    {"config get", S_OTHER, "KEY", 1, 1, OPTS(NULL), wr_cli_cmd_config_get,
     "print a setting from the config file", NULL},
    {"config unset", S_OTHER, "KEY", 1, 1, OPTS(NULL), wr_cli_cmd_config_unset,
     "remove a setting from the config file", NULL},
    {"config list", S_OTHER, "", 0, 0, OPTS(config_list_opts), wr_cli_cmd_config_list,
     "list the config file's settings", NULL},
    {"completion", S_OTHER, "bash|zsh", 1, 1, OPTS(NULL), wr_cli_cmd_completion,
     "print a shell completion script",
     "bash: source <(weir completion bash)   zsh: source <(weir completion zsh)"},
    {"help", S_OTHER, "[COMMAND]", 0, 2, OPTS(NULL), wr_cli_cmd_help, "show help", NULL},
    {"version", S_OTHER, "", 0, 0, OPTS(NULL), wr_cli_cmd_version, "print the version", NULL},
    {"serve", S_OTHER, "[OPTIONS]", 0, 0, OPTS(NULL), NULL,
     "run the server (see weir serve --help)", NULL},
};

const size_t wr_cli_n_cmds = sizeof(wr_cli_cmds) / sizeof(wr_cli_cmds[0]);

const wr_cli_cmd *
wr_cli_cmd_find(const char *name)
{
    for (size_t i = 0; i < wr_cli_n_cmds; i++)
        if (strcmp(wr_cli_cmds[i].name, name) == 0)
            return &wr_cli_cmds[i];
    return NULL;
}

bool
wr_cli_is_group(const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < wr_cli_n_cmds; i++)
        if (strncmp(wr_cli_cmds[i].name, word, n) == 0 && wr_cli_cmds[i].name[n] == ' ')
            return true;
    return false;
}
