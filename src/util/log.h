/*
 * log.h — structured logging: one `key=value` line per event on stderr, e.g.
 *   ts=2026-11-26T20:57:35.123Z level=info msg="listening" addr=127.0.0.1:4243
 * The level is process-wide and set once at start (--log-level). Thread-safe: each line is
 * written with a single write(2).
 */
#ifndef WR_UTIL_LOG_H
#define WR_UTIL_LOG_H

typedef enum wr_log_level {
    WR_LOG_DEBUG = 0,
    WR_LOG_INFO = 1,
    WR_LOG_WARN = 2,
    WR_LOG_ERROR = 3,
    WR_LOG_OFF = 4,
} wr_log_level;

void wr_log_set_level(wr_log_level level);
wr_log_level wr_log_get_level(void);
/* Parses "debug|info|warn|error|off"; returns -1 on anything else. */
int wr_log_parse_level(const char *s);

/*
 * Logs msg (quoted) followed by fmt, which should produce ` key=value` pairs (with a leading
 * space), or be "" for none.
 */
void wr_log(wr_log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define wr_log_debug(msg, ...) wr_log(WR_LOG_DEBUG, msg, __VA_ARGS__)
#define wr_log_info(msg, ...) wr_log(WR_LOG_INFO, msg, __VA_ARGS__)
#define wr_log_warn(msg, ...) wr_log(WR_LOG_WARN, msg, __VA_ARGS__)
#define wr_log_error(msg, ...) wr_log(WR_LOG_ERROR, msg, __VA_ARGS__)

#endif
