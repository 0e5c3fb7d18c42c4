/* log.h: the one logging call, with levels; libwebsockets' log goes here too.
 *
 * Lines go to stderr as "TIME PROG LEVEL: message" so journald and tests read
 * them alike. Messages name the peer (community, address) they are about. */
#ifndef ALLIANCE_LOG_H
#define ALLIANCE_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* log_init: set the program name shown on each line and the lowest level
 * printed; also routes libwebsockets' errors and warnings through log_msg. */
void log_init(const char *prog, enum log_level level);

/* log_level_parse: "error", "warn", "info" or "debug" to a level; -1 if none. */
int log_level_parse(const char *name);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
