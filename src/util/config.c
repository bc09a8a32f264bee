/*
 * config.c — the configuration core described in config.h: value parsers per kind, the loader
 * over the sections a program registers, and --help.
 *
 * Loading is two passes so precedence is obvious: first each option's winning *text* is chosen
 * (flag, else environment, else default) along with the name to blame in an error, then each
 * winning text is parsed once by its kind's parser into its section's settings. The
 * WR_OPT_FIELD() macro checks at compile time that a row's kind matches its field's C type.
 */
#include "util/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/duration.h"
#include "util/mem.h"

/* ---- value parsers: each writes the field or sets a message (without the option name) ---- */

static bool
parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "true", "yes"};
    static const char *no[] = {"0", "false", "no"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool
parse_u64(const char *s, uint64_t *out)
{
    if (*s == '\0')
        return false;
    uint64_t n = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        uint64_t d = (uint64_t)(*s - '0');
        if (n > (UINT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

bool
wr_hostport_parse(const char *s, wr_hostport *out)
{
    const char *host = s, *colon;
    size_t hlen;
    bool v6 = s[0] == '[';
    if (v6) {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return false;
        host = s + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return false;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= sizeof(out->host))
        return false;
    char h[sizeof(out->host)];
    memcpy(h, host, hlen);
    h[hlen] = '\0';
    unsigned char addr[16];
    if (v6) {
        if (inet_pton(AF_INET6, h, addr) != 1)
            return false;
    } else if (strcasecmp(h, "localhost") == 0) {
        memcpy(h, "localhost", sizeof("localhost"));
    } else if (inet_pton(AF_INET, h, addr) != 1) {
        return false;
    }
    uint64_t port;
    if (strlen(colon + 1) > 5 || !parse_u64(colon + 1, &port) || port > 65535)
        return false;
    memcpy(out->host, h, hlen + 1);
    out->port = (uint16_t)port;
    return true;
}

static void
fmt_bound(const wr_opt *o, uint64_t v, char out[32])
{
    if (o->kind == WR_OPT_SIZE)
        wr_size_format(v, out);
    else if (o->kind == WR_OPT_DURATION)
        wr_duration_format(v, out);
    else
        snprintf(out, 32, "%" PRIu64, v);
}

/* Parses a numeric kind and checks its bounds. */
static bool
parse_number(const wr_opt *o, const char *s, uint64_t *out, char *msg, size_t msg_len)
{
    uint64_t v;
    bool ok = false;
    if (o->kind == WR_OPT_UINT) {
        ok = parse_u64(s, &v);
        if (!ok)
            snprintf(msg, msg_len, "must be a non-negative integer");
    } else {
        wr_error e;
        ok = (o->kind == WR_OPT_SIZE ? wr_size_parse(s, &v, &e) : wr_duration_parse(s, &v, &e)) ==
             WR_OK;
        if (!ok) {
            size_t n = strnlen(e.msg, msg_len - 1);
            memcpy(msg, e.msg, n);
            msg[n] = '\0';
        }
    }
    if (!ok)
        return false;
    if (v < o->min || (o->max != 0 && v > o->max)) {
        char lo[32], hi[32];
        fmt_bound(o, o->min, lo);
        fmt_bound(o, o->max, hi);
        if (o->max != 0)
            snprintf(msg, msg_len, "must be between %s and %s", lo, hi);
        else
            snprintf(msg, msg_len, "must be at least %s", lo);
        return false;
    }
    *out = v;
    return true;
}

static bool
parse_value(const wr_opt *o, const char *s, void *settings, char *msg, size_t msg_len)
{
    void *field = (char *)settings + o->off;
    switch (o->kind) {
    case WR_OPT_STRING:
        if (*s == '\0') {
            snprintf(msg, msg_len, "must not be empty");
            return false;
        }
        free(*(char **)field);
        *(char **)field = wr_xstrdup(s);
        return true;
    case WR_OPT_SECRET:
    case WR_OPT_OPT_STRING:
        free(*(char **)field);
        *(char **)field = *s ? wr_xstrdup(s) : NULL;
        return true;
    case WR_OPT_BOOL:
        if (!parse_bool(s, field)) {
            snprintf(msg, msg_len, "must be one of 1, 0, true, false, yes, no");
            return false;
        }
        return true;
    case WR_OPT_UINT:
    case WR_OPT_SIZE:
    case WR_OPT_DURATION:
        return parse_number(o, s, field, msg, msg_len);
    case WR_OPT_LOG_LEVEL: {
        char low[8];
        size_t n = strlen(s);
        int level = -1;
        if (n < sizeof(low)) {
            for (size_t i = 0; i <= n; i++)
                low[i] = (char)tolower((unsigned char)s[i]);
            level = wr_log_parse_level(low);
        }
        if (level < 0) {
            snprintf(msg, msg_len, "must be one of debug, info, warn, error, off");
            return false;
        }
        *(wr_log_level *)field = (wr_log_level)level;
        return true;
    }
    case WR_OPT_CUSTOM:
        return o->parse(s, field, msg, msg_len);
    case WR_OPT_HOSTPORT:
        if (!wr_hostport_parse(s, field)) {
            snprintf(msg, msg_len,
                     "must be HOST:PORT with HOST an IPv4 address, localhost or [IPv6 address] "
                     "and PORT 0-65535");
            return false;
        }
        return true;
    }
    return false;
}

/* ---- the loader ---- */

enum source { SRC_DEFAULT, SRC_ENV, SRC_FLAG };

/* Every option of the sections, flattened: the row and the settings it writes. */
typedef struct flat {
    const wr_opt *o;
    void *settings;
    const char *val;
    enum source src;
} flat;

static flat *
flatten(const wr_opt_section *sections, size_t n_sections, size_t *out_n)
{
    size_t n = 0;
    for (size_t s = 0; s < n_sections; s++)
        n += sections[s].table->n_opts;
    flat *all = wr_xcalloc(n ? n : 1, sizeof(*all));
    size_t k = 0;
    for (size_t s = 0; s < n_sections; s++)
        for (size_t i = 0; i < sections[s].table->n_opts; i++)
            all[k++] = (flat){&sections[s].table->opts[i], sections[s].settings, NULL, SRC_DEFAULT};
    *out_n = n;
    return all;
}

static flat *
find_flag(flat *all, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        const char *f = all[i].o->flag;
        if (f && strlen(f) == len && memcmp(f, name, len) == 0)
            return &all[i];
    }
    return NULL;
}

static const char *
name_of(const wr_opt *o)
{
    return o->flag ? o->flag : o->env;
}

/* Parses every option's default; only fails if a table itself is wrong. */
static wr_err
apply_defaults(flat *all, size_t n, wr_error *out_err)
{
    char msg[200];
    for (size_t i = 0; i < n; i++)
        if (!parse_value(all[i].o, all[i].o->def, all[i].settings, msg, sizeof(msg)))
            return wr_error_set(out_err, WR_ERR_INVALID, "default of %s: %s", name_of(all[i].o),
                                msg);
    return WR_OK;
}

/*
 * Scans argv, recording each given flag's text. Returns WR_OK, with *out_help set when
 * -h/--help was seen (scanning stops there).
 */
static wr_err
scan_args(int argc, char **argv, flat *all, size_t n, bool *out_help, wr_error *out_err)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *out_help = true;
            return WR_OK;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return wr_error_set(out_err, WR_ERR_INVALID, "unexpected argument '%s' (see --help)",
                                a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        flat *f = find_flag(all, n, name, nlen);
        if (f == NULL)
            return wr_error_set(out_err, WR_ERR_INVALID, "unknown option --%.*s (see --help)",
                                (int)nlen, name);
        const char *v;
        if (eq)
            v = eq + 1;
        else if (f->o->kind == WR_OPT_BOOL)
            v = "true";
        else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
            v = argv[++i];
        else
            return wr_error_set(out_err, WR_ERR_INVALID, "--%s: missing value (%s)", f->o->flag,
                                f->o->metavar);
        f->val = v;
        f->src = SRC_FLAG;
    }
    return WR_OK;
}

wr_err
wr_opts_load(const wr_opt_section *sections, size_t n_sections, int argc, char **argv,
             bool *out_help, wr_error *out_err)
{
    size_t n;
    flat *all = flatten(sections, n_sections, &n);
    char msg[200];
    wr_err err;

    *out_help = false;
    for (size_t s = 0; s < n_sections; s++)
        memset(sections[s].settings, 0, sections[s].settings_size);
    for (size_t i = 0; i < n; i++) {
        const wr_opt *o = all[i].o;
        const char *e = o->env ? getenv(o->env) : NULL;
        all[i].val = o->def;
        all[i].src = SRC_DEFAULT;
        if (e && *e) {
            all[i].val = e;
            all[i].src = SRC_ENV;
        }
    }
    err = scan_args(argc, argv, all, n, out_help, out_err);
    if (err != WR_OK)
        goto out;
    if (*out_help) {
        err = apply_defaults(all, n, out_err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const wr_opt *o = all[i].o;
        if (parse_value(o, all[i].val, all[i].settings, msg, sizeof(msg)))
            continue;
        if (all[i].src == SRC_FLAG)
            err = wr_error_set(out_err, WR_ERR_INVALID, "--%s: %s", o->flag, msg);
        else if (all[i].src == SRC_ENV)
            err = wr_error_set(out_err, WR_ERR_INVALID, "%s: %s", o->env, msg);
        else
            err = wr_error_set(out_err, WR_ERR_INVALID, "default of %s: %s", name_of(o), msg);
        goto out;
    }
out:
    free(all);
    if (err != WR_OK)
        wr_opts_fini(sections, n_sections);
    return err;
}

static bool
owns_string(wr_opt_kind k)
{
    return k == WR_OPT_STRING || k == WR_OPT_SECRET || k == WR_OPT_OPT_STRING;
}

void
wr_opts_fini(const wr_opt_section *sections, size_t n_sections)
{
    for (size_t s = 0; s < n_sections; s++) {
        const wr_opt_table *t = sections[s].table;
        for (size_t i = 0; i < t->n_opts; i++) {
            if (!owns_string(t->opts[i].kind))
                continue;
            char **p = (char **)((char *)sections[s].settings + t->opts[i].off);
            free(*p);
            *p = NULL;
        }
    }
}

/* Writes text indented by `indent` spaces, wrapped at word boundaries before column 80. */
static void
print_wrapped(FILE *f, int indent, const char *text)
{
    const int width = 80 - indent;
    const char *p = text;
    while (*p) {
        int n = (int)strlen(p);
        if (n > width) {
            n = width;
            while (n > 0 && p[n] != ' ')
                n--;
            if (n == 0) /* one word longer than the line: print it whole */
                n = (int)strcspn(p, " ");
        }
        fprintf(f, "%*s%.*s\n", indent, "", n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
}

static void
print_opt(FILE *f, const wr_opt *o)
{
    if (o->flag)
        fprintf(f, "  --%s%s%s\n", o->flag, o->metavar ? " " : "", o->metavar ? o->metavar : "");
    else
        fprintf(f, "  (environment only)\n");
    fprintf(f, "      env %s, default %s", o->env ? o->env : "(none)", o->def);
    if (o->kind == WR_OPT_UINT || o->kind == WR_OPT_SIZE || o->kind == WR_OPT_DURATION) {
        char lo[32], hi[32];
        fmt_bound(o, o->min, lo);
        fmt_bound(o, o->max, hi);
        if (o->max)
            fprintf(f, ", range %s to %s", lo, hi);
        else
            fprintf(f, ", at least %s", lo);
    }
    fprintf(f, "\n");
    print_wrapped(f, 6, o->help);
}

void
wr_opts_print_help(FILE *f, const wr_opt_table *const *tables, size_t n_tables)
{
    fprintf(f, "Options for `weir serve`:\n");
    print_wrapped(f, 2,
                  "Each option can also be set with its environment variable. A flag overrides "
                  "the environment, which overrides the default. DURATION is an integer and a "
                  "unit (s, m, h, d, w, y), e.g. 30s, 5m, 7d. SIZE is a number of bytes, "
                  "optionally with K/KiB, M/MiB or G/GiB, e.g. 64KiB, 8MiB.");
    fprintf(f, "\n");
    for (size_t t = 0; t < n_tables; t++)
        for (size_t i = 0; i < tables[t]->n_opts; i++)
            print_opt(f, &tables[t]->opts[i]);
    fprintf(f, "  -h, --help\n      Print this help and exit.\n");
}
