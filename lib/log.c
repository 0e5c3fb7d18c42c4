/* log.c: the one logging call; libwebsockets' own log is routed through it.
 *
 * Each message becomes one line on stderr,
 *   "2026-11-29T15:04:05Z alliance-hub[1234] warn: message"
 * (UTC, RFC 3339), written with a single fwrite and flushed, so lines from
 * several threads never interleave and journald and tests read them alike.
 *
 * Parts, in order: state (program name, threshold); level names;
 * log_level_parse; log_msg; the libwebsockets emit hook; log_init. */
#include "log.h"

#include <libwebsockets.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longest line written; a longer message is cut and ends in "...". */
#define LOG_LINE_MAX 4096
/* Longest program name kept. */
#define LOG_PROG_MAX 64

/* ---- state ---------------------------------------------------------- */

/* Set by log_init at start-up and on reload; log_init only rewrites it when
 * the name changes, so threads logging meanwhile read stable bytes. */
static char log_prog[LOG_PROG_MAX] = "alliance";
/* Lowest level printed; atomic because a reload may change it while
 * worker threads log. */
static _Atomic int log_threshold = LOG_INFO;

/* ---- level names ---------------------------------------------------- */

static const char *const log_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

/* log_level_parse: the level named by name (exactly "error", "warn", "info"
 * or "debug"), or -1 when name is NULL or none of them. */
int log_level_parse(const char *name)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(name, log_names[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- log_msg -------------------------------------------------------- */

/* log_msg: format the message and write one line to stderr when level is
 * at or above the threshold. Control characters in the message (a peer's
 * reason may hold a newline) become spaces so one call is one line.
 * Returns nothing; allocates nothing. */
void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	struct timespec now;
	struct tm tm;
	size_t len, start;
	va_list ap;
	int n;

	if ((int)level > atomic_load(&log_threshold))
		return;
	if ((unsigned)level >= sizeof(log_names) / sizeof(log_names[0]))
		level = LOG_ERROR;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line + len, sizeof(line) - len, " %s[%ld] %s: ",
		     log_prog, (long)getpid(), log_names[level]);
	if (n < 0)
		return;
	len += (size_t)n;
	start = len;

	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - len - 1) {
		/* Cut: keep room for the newline and mark the cut. */
		len = sizeof(line) - 2;
		memcpy(line + len - 3, "...", 3);
	} else {
		len += (size_t)n;
	}
	for (size_t i = start; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	line[len++] = '\n';

	fwrite(line, 1, len, stderr);
	fflush(stderr);
}

/* ---- libwebsockets ------------------------------------------------- */

/* log_lws_emit: lws's emit hook. Maps its levels to ours (notice and info
 * are only enabled at debug, so they log as debug), drops the newline lws
 * ends each line with and prefixes "lws: ". line belongs to lws. */
static void log_lws_emit(int lws_level, const char *line)
{
	enum log_level level;
	size_t len = strlen(line);

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (lws_level & LLL_ERR)
		level = LOG_ERROR;
	else if (lws_level & LLL_WARN)
		level = LOG_WARN;
	else
		level = LOG_DEBUG;
	log_msg(level, "lws: %.*s", (int)len, line);
}

/* ---- log_init ------------------------------------------------------- */

/* log_init: set the program name shown on each line and the threshold, and
 * hand lws our emit hook: errors and warnings always, notices and info at
 * debug. prog is copied (cut at LOG_PROG_MAX - 1 bytes). Call it at start-up
 * before other threads log; calling it again (a reload) may change the
 * level at any time. */
void log_init(const char *prog, enum log_level level)
{
	int lws_levels = LLL_ERR | LLL_WARN;

	if (prog && strncmp(prog, log_prog, sizeof(log_prog)) != 0)
		snprintf(log_prog, sizeof(log_prog), "%s", prog);
	if ((int)level < LOG_ERROR || level > LOG_DEBUG)
		level = LOG_INFO;
	atomic_store(&log_threshold, (int)level);
	if (level >= LOG_DEBUG)
		lws_levels |= LLL_NOTICE | LLL_INFO;
	lws_set_log_level(lws_levels, log_lws_emit);
}
