/*
 * cidr.c — see cidr.h.
 */
#include "util/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
parse_one(const char *item, wr_cidr *out)
{
    char buf[64];
    size_t n = strlen(item);
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, item, n + 1);
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        if (slash[1] < '0' || slash[1] > '9')
            return false;
        bits = strtol(slash + 1, &end, 10);
        if (*end)
            return false;
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        out->bits = bits < 0 ? 32 : (unsigned)bits;
        return bits <= 32;
    }
    if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        out->bits = bits < 0 ? 128 : (unsigned)bits;
        return bits <= 128;
    }
    return false;
}

wr_err
wr_cidr_parse(const char *spec, wr_cidr_list *out, wr_error *out_err)
{
    memset(out, 0, sizeof(*out));
    if (!spec)
        return WR_OK;
    const char *p = spec;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && p[len - 1] == ' ')
            len--;
        char item[64];
        if (len == 0 || len >= sizeof(item))
            return wr_error_set(out_err, WR_ERR_INVALID, "`%.*s` is not an address or CIDR range",
                                (int)len, p);
        memcpy(item, p, len);
        item[len] = '\0';
        if (out->n == WR_CIDR_MAX)
            return wr_error_set(out_err, WR_ERR_INVALID, "at most %d ranges", WR_CIDR_MAX);
        if (!parse_one(item, &out->v[out->n]))
            return wr_error_set(out_err, WR_ERR_INVALID, "`%s` is not an address or CIDR range",
                                item);
        out->n++;
        if (!end)
            break;
        p = end + 1;
        if (*p == '\0')
            return wr_error_set(out_err, WR_ERR_INVALID, "a trailing `,` names no range");
    }
    return WR_OK;
}

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned bytes = bits / 8, rest = bits % 8;
    if (memcmp(a, b, bytes) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

bool
wr_cidr_match(const wr_cidr_list *l, const struct sockaddr *addr)
{
    uint8_t a[16];
    int family = addr->sa_family;
    if (family == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)addr)->sin_addr, 4);
    } else if (family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0) {
            family = AF_INET;
            memcpy(a, b + 12, 4);
        } else {
            memcpy(a, b, 16);
        }
    } else {
        return false;
    }
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].family == family && prefix_equal(a, l->v[i].addr, l->v[i].bits))
            return true;
    return false;
}
