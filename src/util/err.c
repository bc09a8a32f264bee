/*
 * err.c — lookups into the error table declared in err.h. Nothing here allocates.
 */
#include "util/err.h"

#undef wr_error_set /* the function itself (err.h wraps calls in a macro) */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct row {
    const char *code;
    int status;
    bool retryable;
    bool no_side_effects;
};

static const struct row rows[WR_ERR__COUNT] = {
#define WR_ERR_ROW(name, code, status, retry, nse) [WR_ERR_##name] = {code, status, retry, nse},
    WR_ERR_MAP(WR_ERR_ROW)
#undef WR_ERR_ROW
};

static const struct row *
row_of(wr_err e)
{
    if ((unsigned)e >= WR_ERR__COUNT)
        return &rows[WR_ERR_OTHER];
    return &rows[e];
}

const char *
wr_err_code(wr_err e)
{
    return row_of(e)->code;
}

int
wr_err_status(wr_err e)
{
    return row_of(e)->status;
}

bool
wr_err_retryable(wr_err e)
{
    return row_of(e)->retryable;
}

bool
wr_err_no_side_effects(wr_err e)
{
    return row_of(e)->no_side_effects;
}

wr_err
wr_err_from_code(const char *code)
{
    for (int e = 1; code && e < WR_ERR__COUNT; e++)
        if (strcmp(rows[e].code, code) == 0)
            return (wr_err)e;
    return WR_ERR_OTHER;
}

wr_err
wr_error_set(wr_error *e, wr_err code, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(e->msg)) {
        /* Truncated: drop a multi-byte character cut in half at the end. */
        size_t len = strlen(e->msg), keep = len;
        while (keep > 0 && ((unsigned char)e->msg[keep - 1] & 0xC0) == 0x80)
            keep--;
        if (keep > 0 && (unsigned char)e->msg[keep - 1] >= 0xC0) {
            unsigned char lead = (unsigned char)e->msg[keep - 1];
            size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (len - (keep - 1) < need)
                e->msg[keep - 1] = '\0';
        }
    }
    return code;
}
