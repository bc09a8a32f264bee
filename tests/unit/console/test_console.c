/*
 * test_console.c — the web console's asset table and answers (console/console.h): lookups by
 * exact name only (traversal attempts find nothing), content types, If-None-Match matching, and
 * the routes over a real server (security headers, 304, 404, 405, HEAD).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "console/console.h"
#include "support/http_support.h"
#include "support/test_main.h"

/* ---- the generated table ------------------------------------------------------------------- */

static bool
name_ok(const char *s)
{
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

static void
table_is_well_formed(void **state)
{
    (void)state;
    assert_true(wr_console_n_assets >= 3);
    for (size_t i = 0; i < wr_console_n_assets; i++) {
        const wr_console_asset *a = &wr_console_assets[i];
        assert_true(name_ok(a->name));
        assert_true(a->len > 0);
        assert_int_equal(a->data[a->len], 0); /* the trailing NUL embed.cmake adds */
        assert_int_equal(strlen(a->etag), 18);
        assert_int_equal(a->etag[0], '"');
        assert_int_equal(a->etag[17], '"');
        if (i > 0) /* sorted, and so no duplicates */
            assert_true(strcmp(wr_console_assets[i - 1].name, a->name) < 0);
        assert_ptr_equal(wr_console_find(a->name), a);
    }
    /* What the page needs is there. */
    const char *need[] = {"index.html", "app.js", "console.css", "favicon.svg"};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        assert_non_null(wr_console_find(need[i]));
}

/* Names that must find nothing: what a decoded path segment may hold. */
static void
lookups_are_exact(void **state)
{
    (void)state;
    static const char *const absent[] = {
        "",
        ".",
        "..",
        "../index.html",
        "..\\index.html",
        "./index.html",
        "/index.html",
        "index.html/",
        "index.html/..",
        "INDEX.HTML",
        "Index.html",
        "index.htm",
        "index.html ",
        " index.html",
        "index.html%00",
        "index.html\x01",
        "%2e%2e",
        "..%2fCMakeLists.txt",
        "assets/index.html",
        "console.c",
        "embed.cmake",
        "../../../etc/passwd",
    };
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        assert_null(wr_console_find(absent[i]));
}

static void
content_types(void **state)
{
    (void)state;
    static const struct {
        const char *name, *want;
    } rows[] = {
        {"index.html", "text/html; charset=utf-8"},
        {"app.js", "text/javascript; charset=utf-8"},
        {"console.css", "text/css; charset=utf-8"},
        {"favicon.svg", "image/svg+xml"},
        {"shot.png", "image/png"},
        {"x.json", "application/json"},
        {"notes.txt", "text/plain; charset=utf-8"},
        {"archive.tar.gz", "application/octet-stream"},
        {"noext", "application/octet-stream"},
        {"js", "application/octet-stream"},
        {"x.JS", "application/octet-stream"},
        {"x.js.map", "application/octet-stream"},
        {"", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_string_equal(wr_console_content_type(rows[i].name), rows[i].want);
}

static void
if_none_match(void **state)
{
    (void)state;
    const char *etag = "\"0123456789abcdef\"";
    static const struct {
        const char *inm;
        bool want;
    } rows[] = {
        {"\"0123456789abcdef\"", true},
        {"W/\"0123456789abcdef\"", true},
        {"*", true},
        {"  *  ", false}, /* "*" stands alone; trailing space makes it another token */
        {" \"0123456789abcdef\"", true},
        {"\"other\", \"0123456789abcdef\"", true},
        {"\"other\",\"0123456789abcdef\"", true},
        {"\"other\" ,\t\"0123456789abcdef\"", true},
        {"\"0123456789abcdef\", \"other\"", true},
        {"\"other\"", false},
        {"\"0123456789abcde\"", false},
        {"\"0123456789abcdef", false},
        {"0123456789abcdef", false},
        {"", false},
        {",", false},
        {"\"other\" garbage, \"0123456789abcdef\"", false},
        {"W/", false},
        {"W/0123456789abcdef", false},
        {"\"\"", false},
        {"\"0123456789ABCDEF\"", false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (wr_console_etag_match(rows[i].inm, etag) != rows[i].want)
            fail_msg("row %zu: If-None-Match [%s] should %smatch", i, rows[i].inm,
                     rows[i].want ? "" : "not ");
    }
}

/* ---- the routes, over a real server -------------------------------------------------------- */

typedef struct fixture {
    wr_router *router;
    wr_test_server *ts;
    int port;
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    f->router = wr_router_new();
    wr_console_register(f->router);
    f->ts = wr_test_server_start(f->router, NULL);
    f->port = wr_test_server_port(f->ts);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    wr_test_server_stop(f->ts, 2000);
    wr_router_free(f->router);
    free(f);
    return 0;
}

static char *
roundtrip(int port, const char *request)
{
    int fd = wr_test_connect(port);
    wr_test_send_str(fd, request);
    wr_buf rest;
    wr_buf_init(&rest);
    char *resp = wr_test_recv_response(fd, &rest, 5000);
    wr_buf_fini(&rest);
    close(fd);
    assert_non_null(resp);
    return resp;
}

static void
routes(void **state)
{
    fixture *f = *state;
    const wr_console_asset *index = wr_console_find("index.html");
    char inm[256];
    snprintf(inm, sizeof(inm), "GET /console HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\n\r\n",
             index->etag);
    const struct {
        const char *req;
        const char *status; /* the status line's start */
        const char *has;    /* a substring the answer must hold, or NULL */
    } rows[] = {
        {"GET /console HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200", "<!doctype html>"},
        {"GET /console/ HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200", "text/html"},
        {"GET /console/app.js HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200", "text/javascript"},
        {"GET /console/%61pp.js HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200", "text/javascript"},
        {"HEAD /console HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200", "etag: \""},
        {"GET /console/nope.js HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404", "Not Found"},
        {"GET /console/../CMakeLists.txt HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404", NULL},
        {"GET /console/.. HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404", NULL},
        {"GET /console/%2e%2e HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404", NULL},
        {"GET /console/%2e%2e%2fmain.c HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404", NULL},
        {"GET /console/app.js%00 HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400", NULL},
        {"GET /console/%zz HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400", NULL},
        {"GET /console//app.js HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404", NULL},
        {"POST /console HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405",
         "allow: GET, HEAD"},
        {"DELETE /console/app.js HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 405", NULL},
        {inm, "HTTP/1.1 304", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *resp = roundtrip(f->port, rows[i].req);
        if (strncmp(resp, rows[i].status, strlen(rows[i].status)) != 0 ||
            (rows[i].has && !strstr(resp, rows[i].has)) ||
            !strstr(resp, "content-security-policy: " WR_CONSOLE_CSP "\r\n") ||
            !strstr(resp, "x-content-type-options: nosniff\r\n") ||
            !strstr(resp, "x-frame-options: DENY\r\n"))
            fail_msg("row %zu: %s\n--- answer ---\n%s", i, rows[i].req, resp);
        if (strncmp(rows[i].req, "HEAD", 4) == 0 || strstr(rows[i].status, "304"))
            assert_null(strstr(resp, "<!doctype"));
        free(resp);
    }
}

WR_TEST_MAIN(cmocka_unit_test(table_is_well_formed), cmocka_unit_test(lookups_are_exact),
             cmocka_unit_test(content_types), cmocka_unit_test(if_none_match),
             cmocka_unit_test_setup_teardown(routes, setup, teardown))
