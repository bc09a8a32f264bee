/*
 * cidr.h — lists of IP address ranges ("10.0.0.0/8,::1,192.168.1.7"), for deciding which peers
 * are trusted reverse proxies. Pure; any thread.
 */
#ifndef WR_UTIL_CIDR_H
#define WR_UTIL_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/err.h"

#define WR_CIDR_MAX 32

typedef struct wr_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned bits;
} wr_cidr;

typedef struct wr_cidr_list {
    wr_cidr v[WR_CIDR_MAX];
    size_t n;
} wr_cidr_list;

/*
 * Parses a comma-separated list of IPv4/IPv6 addresses, each optionally with /bits (an address
 * alone is a single host); spaces around items are allowed. NULL or "" is the empty list.
 * Errors: INVALID with a message naming the bad item (or more than WR_CIDR_MAX items).
 */
wr_err wr_cidr_parse(const char *spec, wr_cidr_list *out, wr_error *out_err);
/* Whether addr (AF_INET or AF_INET6; IPv4-mapped IPv6 counts as IPv4) is in the list. */
bool wr_cidr_match(const wr_cidr_list *l, const struct sockaddr *addr);

#endif
