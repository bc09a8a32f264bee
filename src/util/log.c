/*
 * log.c — see log.h. Lines are assembled in a stack buffer and written whole, so lines from
 * different threads never interleave.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int current = WR_LOG_INFO;
static const char *names[] = {"debug", "info", "warn", "error", "off"};

void
wr_log_set_level(wr_log_level level)
{
    atomic_store(&current, (int)level);
}

wr_log_level
wr_log_get_level(void)
{
    return (wr_log_level)atomic_load(&current);
}

int
wr_log_parse_level(const char *s)
{
    for (int i = 0; i <= WR_LOG_OFF; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void
wr_log(wr_log_level level, const char *msg, const char *fmt, ...)
{
    if ((int)level < atomic_load(&current) || level >= WR_LOG_OFF)
        return;
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n =
        snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s msg=\"%s\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, names[level], msg);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(line) - 2) {
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - 2 - (size_t)n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
