/*
 * test_cidr.c — address range lists (util/cidr.h): the grammar, and matching IPv4, IPv6 and
 * IPv4-mapped IPv6 peers against them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "support/test_main.h"
#include "util/cidr.h"

static struct sockaddr_storage
addr(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1)
        v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1)
        v6->sin6_family = AF_INET6;
    else
        fail_msg("bad test address %s", text);
    return ss;
}

static void
test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        size_t n; /* SIZE_MAX = refused */
    } rows[] = {
        {NULL, 0},
        {"", 0},
        {"127.0.0.1", 1},
        {"10.0.0.0/8, 192.168.1.7 ,::1", 3},
        {"::/0,0.0.0.0/0", 2},
        {"fd00::/8", 1},
        {"10.0.0.0/33", SIZE_MAX},
        {"::1/129", SIZE_MAX},
        {"10.0.0.0/", SIZE_MAX},
        {"10.0.0.0/-1", SIZE_MAX},
        {"10.0.0.0/8x", SIZE_MAX},
        {"localhost", SIZE_MAX},
        {"10.0.0.1,", SIZE_MAX},
        {",10.0.0.1", SIZE_MAX},
        {"10.0.0.1,,10.0.0.2", SIZE_MAX},
        {"300.1.1.1", SIZE_MAX},
        {"1.2.3.4 5.6.7.8", SIZE_MAX},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        wr_cidr_list l;
        wr_error err = {0};
        wr_err e = wr_cidr_parse(rows[i].spec, &l, &err);
        if (rows[i].n == SIZE_MAX) {
            if (e != WR_ERR_INVALID || !err.msg[0])
                fail_msg("row %zu (%s): accepted", i, rows[i].spec);
        } else if (e != WR_OK || l.n != rows[i].n) {
            fail_msg("row %zu (%s): %s", i, rows[i].spec, err.msg);
        }
    }
    /* More than WR_CIDR_MAX items. */
    char many[WR_CIDR_MAX * 16 + 16] = "";
    for (int i = 0; i <= WR_CIDR_MAX; i++)
        sprintf(many + strlen(many), "%s10.0.0.%d", i ? "," : "", i);
    wr_cidr_list l;
    assert_int_equal(wr_cidr_parse(many, &l, NULL), WR_ERR_INVALID);
}

static void
test_match(void **state)
{
    (void)state;
    wr_cidr_list l;
    assert_int_equal(wr_cidr_parse("10.0.0.0/8,192.168.1.7,fd00::/8,172.16.0.0/12", &l, NULL),
                     WR_OK);
    static const struct {
        const char *peer;
        bool in;
    } rows[] = {
        {"10.1.2.3", true},        {"11.0.0.1", false},       {"192.168.1.7", true},
        {"192.168.1.8", false},    {"fd12::1", true},         {"fe80::1", false},
        {"::ffff:10.9.9.9", true}, {"::ffff:8.8.8.8", false}, {"172.31.255.255", true},
        {"172.32.0.0", false},     {"127.0.0.1", false},      {"::1", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sockaddr_storage ss = addr(rows[i].peer);
        if (wr_cidr_match(&l, (struct sockaddr *)&ss) != rows[i].in)
            fail_msg("row %zu: %s", i, rows[i].peer);
    }
    wr_cidr_list empty;
    assert_int_equal(wr_cidr_parse(NULL, &empty, NULL), WR_OK);
    struct sockaddr_storage ss = addr("127.0.0.1");
    assert_false(wr_cidr_match(&empty, (struct sockaddr *)&ss));
    struct sockaddr_storage none;
    memset(&none, 0, sizeof(none)); /* an unknown peer matches nothing */
    assert_false(wr_cidr_match(&l, (struct sockaddr *)&none));
}

WR_TEST_MAIN(cmocka_unit_test(test_parse), cmocka_unit_test(test_match))
