/*
 * uri.c — s2://basin/stream URIs as the S2 CLI writes them.
 *
 * The stream part is everything after the first '/' following the basin, taken literally:
 * stream names may contain '/', spaces and any UTF-8, so nothing is percent-decoded here (the
 * HTTP layer percent-encodes the name when it builds a path). The scheme may be omitted.
 */
#include <string.h>

#include "cli/cli_int.h"
#include "util/utf8.h"

#define STREAM_MAX 512

bool
wr_cli_basin_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 8 || n > 48)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && !(ch == '-' && i > 0 && i + 1 < n))
            return false;
    }
    return true;
}

wr_err
wr_cli_uri_parse(const char *s, wr_cli_uri_kind kind, wr_cli_uri *out, wr_error *err)
{
    const char *want = kind == WR_CLI_URI_STREAM  ? "s2://BASIN/STREAM"
                       : kind == WR_CLI_URI_BASIN ? "s2://BASIN"
                                                  : "s2://BASIN[/PREFIX]";
    const char *p = s;
    if (strncmp(p, "s2://", 5) == 0)
        p += 5;
    else if (strstr(p, "://"))
        return wr_error_set(err, WR_ERR_INVALID, "expected %s", want);
    const char *slash = strchr(p, '/');
    size_t blen = slash ? (size_t)(slash - p) : strlen(p);
    if (blen == 0)
        return wr_error_set(err, WR_ERR_INVALID, "missing basin name (expected %s)", want);
    if (blen >= sizeof(out->basin))
        return wr_error_set(err, WR_ERR_INVALID,
                            "invalid basin name: 8-48 characters of a-z, 0-9 and -");
    memcpy(out->basin, p, blen);
    out->basin[blen] = '\0';
    if (!wr_cli_basin_name_ok(out->basin))
        return wr_error_set(err, WR_ERR_INVALID,
                            "invalid basin name \"%s\": 8-48 characters of a-z, 0-9 and -, "
                            "starting and ending with a letter or digit",
                            out->basin);
    out->stream = slash ? slash + 1 : "";
    size_t slen = strlen(out->stream);
    switch (kind) {
    case WR_CLI_URI_BASIN:
        if (slen != 0)
            return wr_error_set(err, WR_ERR_INVALID, "expected %s, without a stream", want);
        break;
    case WR_CLI_URI_STREAM:
        if (slen == 0)
            return wr_error_set(err, WR_ERR_INVALID, "missing stream name (expected %s)", want);
        if (strcmp(out->stream, ".") == 0 || strcmp(out->stream, "..") == 0)
            return wr_error_set(err, WR_ERR_INVALID, "\".\" and \"..\" are not stream names");
        /* fall through */
    case WR_CLI_URI_BASIN_PREFIX:
        if (slen > STREAM_MAX)
            return wr_error_set(err, WR_ERR_INVALID, "stream name longer than %d bytes",
                                STREAM_MAX);
        if (!wr_utf8_valid(out->stream, slen))
            return wr_error_set(err, WR_ERR_INVALID, "stream name is not valid UTF-8");
        break;
    }
    return WR_OK;
}
