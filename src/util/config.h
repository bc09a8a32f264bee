/*
 * config.h — the configuration core: command-line flags > WEIR_* environment > defaults, for
 * option tables that each module declares for itself (the store's in store/settings.c, the
 * HTTP server's in http/settings.c, the realtime layer's in realtime/rtconfig.c, ...). The
 * program puts the tables it runs with together (serve_config.c for `weir serve`); this file
 * knows no module's options.
 *
 * An option is one row of its module's table (flag, environment variable, default text, kind,
 * field, bounds, help) plus one field of the module's settings struct. Adding an option is
 * exactly that: the loader, validation, error messages and --help all come from the row.
 * Defaults are written as text and go through the same parser as user input, so a default can
 * never bypass validation.
 *
 * Rules the loader applies:
 *   - Flags: `--name value` or `--name=value`; the last occurrence wins. A separate value that
 *     itself starts with "--" is treated as a missing value (use `--name=--x` if you mean it).
 *     Boolean flags take no separate value (`--no-cors`); `--no-cors=false` is accepted.
 *   - Environment: an unset or empty variable means "not given". Booleans accept 1/0, true/false,
 *     yes/no (any case).
 *   - Only the value that wins is validated: a bad WEIR_* variable overridden by a flag is ignored.
 *   - `-h`/`--help` anywhere stops parsing: *out_help is set, every field holds its default, and
 *     WR_OK is returned. The caller prints wr_opts_print_help() and exits 0.
 *   - Anything else that is wrong (unknown option, positional argument, missing value, invalid
 *     value) returns WR_ERR_INVALID with a one-line message naming the option as the user wrote
 *     it, e.g. "--idle-timeout: must be a duration like 7d, 30d, 365d, 1h, 1y" or
 *     "WEIR_MAX_CONNECTIONS: must be between 1 and 1000000". The caller prints it and exits 2.
 *   - Options are looked up across the sections in order; a flag or variable appears once in
 *     the whole program (the unit tests check the program's tables for that).
 *
 * Ownership: string fields are owned by their settings struct; wr_opts_fini() frees them. Not
 * thread-safe; load once at start-up on the main thread, then treat the structs as read-only.
 */
#ifndef WR_UTIL_CONFIG_H
#define WR_UTIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "util/log.h"

/*
 * A listen address. host is as written, without IPv6 brackets: a dotted IPv4 literal,
 * "localhost" (lower-cased; the listener resolves it, to 127.0.0.1), or an IPv6 literal such as
 * "::1". port 0 means "pick a free port".
 */
typedef struct wr_hostport {
    char host[64];
    uint16_t port;
} wr_hostport;

typedef enum wr_opt_kind {
    WR_OPT_STRING,     /* char *, owned; must be non-empty */
    WR_OPT_BOOL,       /* bool; a flag without a value means true */
    WR_OPT_UINT,       /* uint64_t, plain decimal, within [min, max] */
    WR_OPT_SIZE,       /* uint64_t bytes (duration.h size grammar), within [min, max] */
    WR_OPT_DURATION,   /* uint64_t seconds (duration.h grammar), within [min, max] */
    WR_OPT_LOG_LEVEL,  /* wr_log_level */
    WR_OPT_HOSTPORT,   /* wr_hostport */
    WR_OPT_SECRET,     /* char *, owned; empty = unset (NULL); never shown in --help */
    WR_OPT_OPT_STRING, /* char *, owned; empty = unset (NULL) */
    WR_OPT_CUSTOM,     /* the row's parse function; the field owns nothing */
} wr_opt_kind;

typedef struct wr_opt {
    const char *flag;    /* without the leading "--"; NULL = environment only */
    const char *env;     /* NULL = flag only */
    const char *def;     /* default, as text */
    const char *metavar; /* shown in --help after the flag; NULL for booleans */
    wr_opt_kind kind;
    size_t off;        /* of the field in the module's settings struct (WR_OPT_FIELD) */
    uint64_t min, max; /* numeric kinds; max 0 = no upper bound */
    const char *help;
    /* WR_OPT_CUSTOM: parses `s` into `field`, or returns false with a message in msg (without
     * the option's name, e.g. "must be tokens or none"). */
    bool (*parse)(const char *s, void *field, char *msg, size_t msg_len);
} wr_opt;

/* offsetof(type, f), refusing to compile unless the field has type T. (A field name and a type
 * name cannot be parenthesised.) */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define WR_OPT_FIELD(type, f, T) (offsetof(type, f) + 0 * _Generic(((type *)0)->f, T : 1))
/* NOLINTEND(bugprone-macro-parentheses) */

/* Units for bounds in tables. */
#define WR_OPT_KIB 1024ull
#define WR_OPT_MIB (1024ull * 1024ull)
#define WR_OPT_DAY 86400ull

/* One module's options, in --help order. */
typedef struct wr_opt_table {
    const wr_opt *opts;
    size_t n_opts;
} wr_opt_table;

#define WR_OPT_TABLE(rows)                                                                         \
    {                                                                                              \
        (rows), sizeof(rows) / sizeof((rows)[0])                                                   \
    }

/* A table and the settings struct its rows' fields live in (several tables may share one). */
typedef struct wr_opt_section {
    const wr_opt_table *table;
    void *settings;
    size_t settings_size; /* zeroed before loading */
} wr_opt_section;

/*
 * Fills every section's settings from argv (the arguments after the subcommand, so argv[0] is
 * the first option, not the program name), the environment and the defaults; the settings
 * structs are zeroed first. Returns WR_OK (with *out_help set on -h/--help) or WR_ERR_INVALID
 * with the message in out_err (may be NULL). On error the settings hold nothing that needs
 * freeing, though calling wr_opts_fini() is still safe.
 */
wr_err wr_opts_load(const wr_opt_section *sections, size_t n_sections, int argc, char **argv,
                    bool *out_help, wr_error *out_err);

/* Frees the strings the settings own; safe to call twice and after a failed load. */
void wr_opts_fini(const wr_opt_section *sections, size_t n_sections);

/* Writes the usage text and every option of the tables (environment variable, default, range,
 * meaning) to f, in order. */
void wr_opts_print_help(FILE *f, const wr_opt_table *const *tables, size_t n_tables);

/* Parses HOST:PORT as --listen takes it (see wr_hostport); false if it is not one. */
bool wr_hostport_parse(const char *s, wr_hostport *out);

#endif
