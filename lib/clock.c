/* clock.c: wall-clock time in unix seconds and RFC 3339 (see clock.h),
 * with the process-wide offset a node learns from its hub. */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"

/* Read by every thread, written by the service thread. */
static _Atomic int64_t clock_offset;

int64_t clock_local_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_ms(void)
{
	return clock_local_ms() + atomic_load(&clock_offset);
}

int64_t clock_now(void)
{
	int64_t ms = clock_now_ms();

	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

double clock_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

void clock_set_offset_ms(int64_t ms)
{
	atomic_store(&clock_offset, ms);
}

int64_t clock_offset_ms(void)
{
	return atomic_load(&clock_offset);
}

int clock_ms_valid(int64_t ms)
{
	return ms > 0 && ms <= CLOCK_MAX * 1000;
}

char *clock_rfc3339(int64_t t, char *buf, size_t buflen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, buflen, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, buflen, "1970-01-01T00:00:00Z");
	return buf;
}

int clock_parse_rfc3339(const char *s, int64_t *t)
{
	struct tm tm;
	const char *rest;
	int64_t offset = 0;

	memset(&tm, 0, sizeof(tm));
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return ERR_INVALID;
	if (*rest == '.') {             /* fractional seconds are dropped */
		rest++;
		while (*rest >= '0' && *rest <= '9')
			rest++;
	}
	if ((rest[0] == 'Z' || rest[0] == 'z') && rest[1] == '\0') {
		offset = 0;
	} else if ((rest[0] == '+' || rest[0] == '-') && strlen(rest) == 6 &&
		   rest[3] == ':' && isdigit((unsigned char)rest[1]) &&
		   isdigit((unsigned char)rest[2]) &&
		   isdigit((unsigned char)rest[4]) &&
		   isdigit((unsigned char)rest[5])) {
		int h = (rest[1] - '0') * 10 + (rest[2] - '0');
		int m = (rest[4] - '0') * 10 + (rest[5] - '0');

		if (h < 0 || h > 23 || m < 0 || m > 59)
			return ERR_INVALID;
		offset = (h * 3600 + m * 60) * (rest[0] == '+' ? 1 : -1);
	} else {
		return ERR_INVALID;
	}
	*t = (int64_t)timegm(&tm) - offset;
	return ERR_OK;
}
