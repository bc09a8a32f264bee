/*
 * conf.c — the CLI's settings: flags > environment > config file, and `weir config`.
 *
 * The file is a small TOML subset (cli_int.h) at $XDG_CONFIG_HOME/weir/config.toml (or
 * ~/.config/weir/config.toml, or $WEIR_CONFIG). It holds tokens, so it is written with mode
 * 0600 in a 0700 directory, atomically (a crash leaves the old file or the new one, never
 * half of one). An empty value — in the environment or in the file — counts as unset, like
 * everywhere in weir; an empty flag value is taken as given.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "util/mem.h"
#include "util/utf8.h"

const wr_cli_key_info wr_cli_keys[WR_CLI_KEY__COUNT] = {
    [WR_CLI_KEY_ACCESS_TOKEN] = {"access_token", "S2_ACCESS_TOKEN", "access-token", true,
                                 "bearer token for the /v1 commands"},
    [WR_CLI_KEY_ACCOUNT_ENDPOINT] = {"account_endpoint", "S2_ACCOUNT_ENDPOINT", "account-endpoint",
                                     false, "S2 account endpoint (basins, tokens)"},
    [WR_CLI_KEY_BASIN_ENDPOINT] = {"basin_endpoint", "S2_BASIN_ENDPOINT", "basin-endpoint", false,
                                   "S2 basin endpoint (streams, records); {basin} is replaced"},
    [WR_CLI_KEY_WEIR_URL] = {"weir_url", "WEIR_URL", "url", false,
                             "weir server for the realtime commands"},
    [WR_CLI_KEY_ROOT_TOKEN] = {"root_token", "WEIR_ROOT_TOKEN", "root-token", true,
                               "the server's root token (realtime administration)"},
    [WR_CLI_KEY_API_KEY] = {"api_key", "WEIR_API_KEY", "api-key", true,
                            "an environment's secret key (sessions commands)"},
};

int
wr_cli_key_find(const char *name)
{
    for (int i = 0; i < WR_CLI_KEY__COUNT; i++)
        if (strcmp(wr_cli_keys[i].key, name) == 0)
            return i;
    return -1;
}

const char *
wr_cli_setting(const wr_cli *c, wr_cli_key k, const char **out_source)
{
    const char *v = NULL, *src = NULL;
    const char *env = getenv(wr_cli_keys[k].env);
    if (wr_cli_arg_str(&c->a, wr_cli_keys[k].flag, &v)) {
        src = "flag";
    } else if (env && *env) {
        v = env;
        src = "env";
    } else if ((v = wr_cli_conf_get(&c->conf, wr_cli_keys[k].key)) != NULL && *v) {
        src = "file";
    } else {
        v = NULL; /* empty counts as unset, in the file as in the environment */
    }
    if (out_source)
        *out_source = src;
    return v;
}

/* ---- the file format ---------------------------------------------------------------------- */

void
wr_cli_conf_fini(wr_cli_conf *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->keys[i]);
        free(c->vals[i]);
    }
    free(c->keys);
    free(c->vals);
    memset(c, 0, sizeof(*c));
}

const char *
wr_cli_conf_get(const wr_cli_conf *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->keys[i], key) == 0)
            return c->vals[i];
    return NULL;
}

bool
wr_cli_conf_set(wr_cli_conf *c, const char *key, const char *val)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->keys[i], key) != 0)
            continue;
        free(c->vals[i]);
        if (val) {
            c->vals[i] = wr_xstrdup(val);
            return true;
        }
        free(c->keys[i]);
        memmove(c->keys + i, c->keys + i + 1, (c->n - i - 1) * sizeof(char *));
        memmove(c->vals + i, c->vals + i + 1, (c->n - i - 1) * sizeof(char *));
        c->n--;
        return true;
    }
    if (!val)
        return false;
    c->keys = wr_xrealloc(c->keys, (c->n + 1) * sizeof(char *));
    c->vals = wr_xrealloc(c->vals, (c->n + 1) * sizeof(char *));
    c->keys[c->n] = wr_xstrdup(key);
    c->vals[c->n] = wr_xstrdup(val);
    c->n++;
    return true;
}

static void
put_utf8(wr_buf *b, uint32_t cp)
{
    if (cp < 0x80) {
        wr_buf_append_byte(b, (uint8_t)cp);
    } else if (cp < 0x800) {
        wr_buf_append_byte(b, (uint8_t)(0xC0 | (cp >> 6)));
        wr_buf_append_byte(b, (uint8_t)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        wr_buf_append_byte(b, (uint8_t)(0xE0 | (cp >> 12)));
        wr_buf_append_byte(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
        wr_buf_append_byte(b, (uint8_t)(0x80 | (cp & 0x3F)));
    } else {
        wr_buf_append_byte(b, (uint8_t)(0xF0 | (cp >> 18)));
        wr_buf_append_byte(b, (uint8_t)(0x80 | ((cp >> 12) & 0x3F)));
        wr_buf_append_byte(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
        wr_buf_append_byte(b, (uint8_t)(0x80 | (cp & 0x3F)));
    }
}

/* Parses a "basic string" body at p (after the opening quote); *out_close gets the closing
 * quote. Returns an error text or NULL. */
static const char *
basic_string(const char *p, const char *end, wr_buf *out, const char **out_close)
{
    while (p < end && *p != '"') {
        unsigned char ch = (unsigned char)*p;
        if (ch < 0x20 && ch != '\t')
            return "control character in a string";
        if (ch != '\\') {
            wr_buf_append_byte(out, ch);
            p++;
            continue;
        }
        if (++p >= end)
            return "unterminated string";
        char e = *p++;
        const char *simple = strchr("\"\\btnfr", e);
        if (simple && e) {
            static const char map[] = "\"\\\b\t\n\f\r";
            wr_buf_append_byte(out, (uint8_t)map[simple - "\"\\btnfr"]);
            continue;
        }
        int n = e == 'u' ? 4 : e == 'U' ? 8 : 0;
        if (n == 0 || end - p < n)
            return "invalid escape in a string";
        uint32_t cp = 0;
        for (int i = 0; i < n; i++, p++) {
            char h = *p;
            int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (d < 0)
                return "invalid escape in a string";
            cp = cp * 16 + (uint32_t)d;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return "invalid escape in a string";
        put_utf8(out, cp);
    }
    if (p >= end)
        return "unterminated string";
    *out_close = p;
    return NULL;
}

/* Parses one non-blank, non-comment line into key and value; returns an error text or NULL. */
static const char *
parse_line(const char *p, const char *end, wr_buf *key, wr_buf *val)
{
    if (*p == '[')
        return "tables ([section]) are not supported";
    const char *k = p;
    while (p < end && (*p == '_' || *p == '-' || (*p >= 'a' && *p <= 'z') ||
                       (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
        p++;
    if (p == k)
        return "expected key = \"value\"";
    wr_buf_append(key, k, (size_t)(p - k));
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || *p++ != '=')
        return "expected key = \"value\"";
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *qend;
    if (p < end && *p == '"') {
        const char *e = basic_string(p + 1, end, val, &qend);
        if (e)
            return e;
    } else if (p < end && *p == '\'') {
        qend = memchr(p + 1, '\'', (size_t)(end - p - 1));
        if (!qend)
            return "unterminated string";
        wr_buf_append(val, p + 1, (size_t)(qend - p - 1));
    } else {
        return "values must be quoted strings";
    }
    p = qend + 1;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p < end && *p != '#')
        return "unexpected text after the value";
    if (val->len && !wr_utf8_valid(val->data, val->len))
        return "value is not valid UTF-8";
    return NULL;
}

wr_err
wr_cli_conf_parse(wr_cli_conf *c, const char *text, size_t len, wr_error *err)
{
    memset(c, 0, sizeof(*c));
    const char *p = text, *end = text + len;
    wr_buf key = {0}, val = {0};
    wr_err rc = WR_OK;
    for (int line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (le > p && le[-1] == '\r')
            le--;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t'))
            q++;
        if (q < le && *q != '#') {
            wr_buf_reset(&key);
            wr_buf_reset(&val);
            const char *e = memchr(q, '\0', (size_t)(le - q)) ? "NUL byte" : NULL;
            if (!e)
                e = parse_line(q, le, &key, &val);
            if (!e && wr_cli_conf_get(c, key.data))
                e = "key given twice";
            if (e) {
                rc = wr_error_set(err, WR_ERR_INVALID, "line %d: %s", line, e);
                goto out;
            }
            wr_cli_conf_set(c, key.data, val.data ? val.data : "");
        }
        p = nl ? nl + 1 : end;
    }
out:
    wr_buf_fini(&key);
    wr_buf_fini(&val);
    if (rc != WR_OK)
        wr_cli_conf_fini(c);
    return rc;
}

void
wr_cli_conf_format(const wr_cli_conf *c, wr_buf *out)
{
    wr_buf_append_str(out, "# weir CLI settings, written by `weir config set`.\n");
    for (size_t i = 0; i < c->n; i++) {
        wr_buf_printf(out, "%s = \"", c->keys[i]);
        for (const unsigned char *p = (const unsigned char *)c->vals[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                wr_buf_printf(out, "\\%c", *p);
            else if (*p < 0x20 || *p == 0x7F)
                wr_buf_printf(out, "\\u%04X", *p);
            else
                wr_buf_append_byte(out, *p);
        }
        wr_buf_append_str(out, "\"\n");
    }
}

/* ---- the file on disk ---------------------------------------------------------------------- */

bool
wr_cli_conf_path(wr_buf *out)
{
    const char *explicit_path = getenv("WEIR_CONFIG");
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (explicit_path && *explicit_path)
        wr_buf_append_str(out, explicit_path);
    else if (xdg && xdg[0] == '/')
        wr_buf_printf(out, "%s/weir/config.toml", xdg);
    else if (home && *home)
        wr_buf_printf(out, "%s/.config/weir/config.toml", home);
    else
        return false;
    return true;
}

wr_err
wr_cli_conf_load(wr_cli_conf *c, const char *path, wr_error *err)
{
    memset(c, 0, sizeof(*c));
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return WR_OK;
        return wr_error_set(err, WR_ERR_INVALID, "config file %s: %s", path, strerror(errno));
    }
    wr_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (1u << 20))
        wr_buf_append(&b, chunk, n);
    bool failed = ferror(f) != 0;
    fclose(f);
    wr_err e = WR_OK;
    wr_error perr = {0};
    if (failed)
        e = wr_error_set(err, WR_ERR_INVALID, "config file %s: read error", path);
    else if (b.len >= (1u << 20))
        e = wr_error_set(err, WR_ERR_INVALID, "config file %s: larger than 1 MiB", path);
    else if (wr_cli_conf_parse(c, b.data ? b.data : "", b.len, &perr) != WR_OK)
        e = wr_error_set(err, WR_ERR_INVALID, "config file %s: %s", path, perr.msg);
    wr_buf_fini(&b);
    return e;
}

/* mkdir -p of path's directory, mode 0700 for what it creates. */
static int
make_parents(const char *path)
{
    char *dir = wr_xstrdup(path);
    int rc = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            rc = -1;
        *p = '/';
        if (rc)
            break;
    }
    free(dir);
    return rc;
}

static void
fsync_dir_of(const char *path)
{
    char *dir = wr_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *(slash == dir ? slash + 1 : slash) = '\0';
        int fd = open(dir, O_RDONLY | O_DIRECTORY);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    free(dir);
}

wr_err
wr_cli_conf_save(const wr_cli_conf *c, const char *path, wr_error *err)
{
    wr_buf text = {0}, tmp = {0};
    wr_err e = WR_OK;
    int fd = -1;
    wr_cli_conf_format(c, &text);
    wr_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    if (make_parents(path) != 0) {
        e = wr_error_set(err, WR_ERR_INVALID, "config file %s: cannot create its directory: %s",
                         path, strerror(errno));
        goto out;
    }
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        e = wr_error_set(err, WR_ERR_INVALID, "config file %s: %s", path, strerror(errno));
        goto out;
    }
    size_t off = 0;
    while (off < text.len) {
        ssize_t w = write(fd, text.data + off, text.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = wr_error_set(err, WR_ERR_INVALID, "config file %s: %s", path, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        e = wr_error_set(err, WR_ERR_INVALID, "config file %s: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp.data, path) != 0) {
        e = wr_error_set(err, WR_ERR_INVALID, "config file %s: %s", path, strerror(errno));
        goto out;
    }
    fsync_dir_of(path);
out:
    if (fd >= 0)
        close(fd);
    if (e != WR_OK && tmp.data)
        unlink(tmp.data);
    wr_buf_fini(&text);
    wr_buf_fini(&tmp);
    return e;
}

/* ---- `weir config` -------------------------------------------------------------------------- */

static int
known_key(wr_cli *c, const char *name)
{
    int k = wr_cli_key_find(name);
    if (k < 0) {
        wr_buf keys = {0};
        for (int i = 0; i < WR_CLI_KEY__COUNT; i++)
            wr_buf_printf(&keys, "%s%s", i ? ", " : "", wr_cli_keys[i].key);
        wr_cli_usage(c, "unknown setting \"%s\" (one of %s)", name, keys.data);
        wr_buf_fini(&keys);
    }
    return k;
}

static int
save(wr_cli *c)
{
    wr_error err = {0};
    if (!c->conf_path)
        return wr_cli_fail(c, "no config file path: set HOME, XDG_CONFIG_HOME or WEIR_CONFIG");
    if (wr_cli_conf_save(&c->conf, c->conf_path, &err) != WR_OK)
        return wr_cli_fail(c, "%s", err.msg);
    return WR_CLI_EXIT_OK;
}

int
wr_cli_cmd_config_set(wr_cli *c)
{
    if (known_key(c, c->a.pos[0]) < 0)
        return WR_CLI_EXIT_USAGE;
    if (!wr_utf8_valid(c->a.pos[1], strlen(c->a.pos[1])))
        return wr_cli_usage(c, "VALUE: not valid UTF-8");
    wr_cli_conf_set(&c->conf, c->a.pos[0], c->a.pos[1]);
    int rc = save(c);
    if (rc == WR_CLI_EXIT_OK && c->json)
        wr_cli_print_json(json_pack("{s:s,s:s}", "key", c->a.pos[0], "file", c->conf_path));
    return rc;
}

int
wr_cli_cmd_config_unset(wr_cli *c)
{
    if (known_key(c, c->a.pos[0]) < 0)
        return WR_CLI_EXIT_USAGE;
    if (!wr_cli_conf_set(&c->conf, c->a.pos[0], NULL))
        return WR_CLI_EXIT_OK; /* already unset: nothing to write */
    return save(c);
}

int
wr_cli_cmd_config_get(wr_cli *c)
{
    if (known_key(c, c->a.pos[0]) < 0)
        return WR_CLI_EXIT_USAGE;
    const char *v = wr_cli_conf_get(&c->conf, c->a.pos[0]);
    if (!v)
        return wr_cli_fail(c, "%s is not set in %s", c->a.pos[0],
                           c->conf_path ? c->conf_path : "the config file");
    if (c->json)
        wr_cli_print_json(json_pack("{s:s,s:s}", "key", c->a.pos[0], "value", v));
    else
        printf("%s\n", v);
    return WR_CLI_EXIT_OK;
}

/* What `config list` shows of a value: secrets as "abcd…", enough to tell two apart. */
static const char *
shown(const char *v, bool secret, char out[16])
{
    if (!secret)
        return v;
    snprintf(out, 16, "%.4s…", strlen(v) > 8 ? v : "");
    return out;
}

static int
list_effective(wr_cli *c)
{
    json_t *o = json_object();
    wr_cli_table t;
    static const char *const h[] = {"KEY", "VALUE", "SOURCE"};
    wr_cli_table_init(&t, 3, h);
    for (int k = 0; k < WR_CLI_KEY__COUNT; k++) {
        const char *src = NULL, *v = wr_cli_setting(c, (wr_cli_key)k, &src);
        char m[16];
        json_object_set_new(o, wr_cli_keys[k].key,
                            json_pack("{s:s?,s:s?}", "value", v, "source", src));
        wr_cli_table_add(&t, wr_cli_keys[k].key);
        wr_cli_table_add(&t, v ? shown(v, wr_cli_keys[k].secret, m) : NULL);
        if (src && strcmp(src, "env") == 0)
            wr_cli_table_addf(&t, "env %s", wr_cli_keys[k].env);
        else
            wr_cli_table_add(&t, src);
    }
    if (c->json) {
        wr_cli_print_json(o);
        o = NULL;
        wr_cli_table_print(&t, NULL, false);
    } else {
        wr_cli_table_print(&t, stdout, c->color_out);
    }
    json_decref(o);
    return WR_CLI_EXIT_OK;
}

int
wr_cli_cmd_config_list(wr_cli *c)
{
    if (wr_cli_arg_flag(&c->a, "effective"))
        return list_effective(c);
    if (c->json) {
        json_t *o = json_object();
        for (size_t i = 0; i < c->conf.n; i++)
            json_object_set_new(o, c->conf.keys[i], json_string(c->conf.vals[i]));
        wr_cli_print_json(o);
        return WR_CLI_EXIT_OK;
    }
    for (size_t i = 0; i < c->conf.n; i++) {
        int k = wr_cli_key_find(c->conf.keys[i]);
        char m[16];
        printf("%s = %s\n", c->conf.keys[i],
               shown(c->conf.vals[i], k >= 0 && wr_cli_keys[k].secret, m));
    }
    return WR_CLI_EXIT_OK;
}
