/*
 * human.c — output for people: sizes, counts, durations, rates and times in readable units,
 * aligned tables, and the decision whether to colour.
 *
 * Everything here is pure except wr_cli_use_color (environment, isatty) and the printers; the
 * formatters write into caller buffers and never allocate. --json output never goes through
 * these: scripts get exact numbers.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "util/mem.h"

void
wr_cli_fmt_bytes(uint64_t n, char out[32])
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (n < 1024) {
        snprintf(out, 32, "%llu B", (unsigned long long)n);
        return;
    }
    double v = (double)n / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    /* Three significant digits, never rounding up into "1024.0". */
    if (v < 9.995)
        snprintf(out, 32, "%.2f %s", v, units[u]);
    else if (v < 99.95)
        snprintf(out, 32, "%.1f %s", v, units[u]);
    else
        snprintf(out, 32, "%.0f %s", v, units[u]);
}

void
wr_cli_fmt_count(uint64_t n, char out[32])
{
    char digits[24];
    int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

void
wr_cli_fmt_secs(uint64_t secs, char out[32])
{
    static const struct {
        uint64_t secs;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    size_t o = 0;
    int shown = 0;
    out[0] = '\0';
    for (size_t i = 0; i < 4 && shown < 2; i++) {
        uint64_t q = secs / units[i].secs;
        if (q == 0 && shown > 0)
            break; /* "1h" rather than "1h 0m" */
        if (q == 0)
            continue;
        o += (size_t)snprintf(out + o, 32 - o, "%s%llu%c", shown ? " " : "", (unsigned long long)q,
                              units[i].unit);
        secs -= q * units[i].secs;
        shown++;
    }
    if (shown == 0)
        snprintf(out, 32, "0s");
}

void
wr_cli_fmt_byte_rate(double per_sec, char out[32])
{
    char b[32];
    wr_cli_fmt_bytes(per_sec < 0 ? 0 : (uint64_t)per_sec, b);
    snprintf(out, 32, "%.29s/s", b);
}

void
wr_cli_fmt_rate(double per_sec, char out[32])
{
    char b[32];
    wr_cli_fmt_count(per_sec < 0 ? 0 : (uint64_t)(per_sec + 0.5), b);
    snprintf(out, 32, "%.29s/s", b);
}

void
wr_cli_fmt_time_ms(uint64_t ms, char out[40])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(out, 40, "%llu", (unsigned long long)ms);
        return;
    }
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%.30s.%03uZ", date, (unsigned)(ms % 1000));
}

/* Reads exactly n digits. */
static bool
digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return false;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool
parse_rfc3339(const char *s, uint64_t *out_ms)
{
    int y, mo, d, h, mi, se, oh = 0, om = 0;
    const char *p = s;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &se))
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || se > 60 || y < 1970)
        return false;
    int frac_ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (n == 0)
            return false;
        for (; n < 3; n++)
            frac_ms *= 10;
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
            return false;
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + (se > 59 ? 59 : se) -
                   sign * (oh * 3600 + om * 60);
    if (secs < 0)
        return false;
    *out_ms = (uint64_t)secs * 1000 + (uint64_t)frac_ms;
    return true;
}

bool
wr_cli_parse_time(const char *s, uint64_t *out_ms)
{
    if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") == strlen(s)) {
        if (strlen(s) > 19)
            return false;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        *out_ms = v;
        return true;
    }
    return parse_rfc3339(s, out_ms);
}

size_t
wr_cli_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80 && *p >= 0x20 && *p != 0x7F)
            w++;
    return w;
}

bool
wr_cli_use_color(int fd, bool no_color_flag)
{
    const char *nc = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    if (no_color_flag || (nc && *nc) || (term && strcmp(term, "dumb") == 0))
        return false;
    return isatty(fd) == 1;
}

void
wr_cli_table_init(wr_cli_table *t, size_t n_cols, const char *const *header)
{
    memset(t, 0, sizeof(*t));
    t->n_cols = n_cols;
    for (size_t i = 0; i < n_cols; i++)
        wr_cli_table_add(t, header[i]);
}

void
wr_cli_table_add(wr_cli_table *t, const char *cell)
{
    if (t->n_cells == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 32;
        t->cells = wr_xrealloc(t->cells, t->cap * sizeof(*t->cells));
    }
    /* Control characters would break the alignment (and could move a terminal's cursor). */
    char *copy = wr_xstrdup(cell ? cell : "-");
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            *p = '?';
    t->cells[t->n_cells++] = copy;
}

void
wr_cli_table_addf(wr_cli_table *t, const char *fmt, ...)
{
    wr_buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    wr_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    wr_cli_table_add(t, b.data ? b.data : "");
    wr_buf_fini(&b);
}

void
wr_cli_table_print(wr_cli_table *t, FILE *f, bool color)
{
    if (!f) {
        for (size_t i = 0; i < t->n_cells; i++)
            free(t->cells[i]);
        free(t->cells);
        memset(t, 0, sizeof(*t));
        return;
    }
    size_t *w = wr_xcalloc(t->n_cols, sizeof(*w));
    for (size_t i = 0; i < t->n_cells; i++) {
        size_t cw = wr_cli_width(t->cells[i]);
        if (cw > w[i % t->n_cols])
            w[i % t->n_cols] = cw;
    }
    for (size_t i = 0; i < t->n_cells; i++) {
        size_t col = i % t->n_cols;
        bool header = i < t->n_cols, last = col + 1 == t->n_cols || i + 1 == t->n_cells;
        if (header && color)
            fputs("\033[1m", f);
        fputs(t->cells[i], f);
        if (header && color)
            fputs("\033[0m", f);
        if (last) {
            fputc('\n', f);
        } else {
            for (size_t pad = wr_cli_width(t->cells[i]); pad < w[col] + 2; pad++)
                fputc(' ', f);
        }
        free(t->cells[i]);
    }
    free(w);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

/* Adds the leaves of o to the two-column table, keys joined with '.'. */
static void
flatten(wr_cli_table *t, const char *prefix, json_t *o)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        char key[256];
        snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", k);
        if (json_is_object(v) && json_object_size(v) > 0) {
            flatten(t, key, v);
            continue;
        }
        wr_cli_table_add(t, key);
        if (json_is_string(v)) {
            wr_cli_table_add(t, json_string_value(v));
        } else if (json_is_null(v)) {
            wr_cli_table_add(t, "-");
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            wr_cli_table_add(t, s);
            free(s);
        }
    }
}

void
wr_cli_print_object(json_t *o, FILE *f, bool color)
{
    wr_cli_table t;
    memset(&t, 0, sizeof(t));
    t.n_cols = 2;
    flatten(&t, "", o);
    if (t.n_cells == 0) {
        free(t.cells);
        return;
    }
    /* No header row: bold would land on the first key. */
    (void)color;
    size_t w = 0;
    for (size_t i = 0; i < t.n_cells; i += 2) {
        size_t cw = wr_cli_width(t.cells[i]);
        if (cw > w)
            w = cw;
    }
    for (size_t i = 0; i + 1 < t.n_cells; i += 2) {
        fputs(t.cells[i], f);
        for (size_t pad = wr_cli_width(t.cells[i]); pad < w + 2; pad++)
            fputc(' ', f);
        fprintf(f, "%s\n", t.cells[i + 1]);
        free(t.cells[i]);
        free(t.cells[i + 1]);
    }
    free(t.cells);
}
