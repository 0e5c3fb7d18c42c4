/* args.c: the arguments several alliancectl commands take alike, parsed
 * once: a duration (bulletin --expires/--timeout, poll --closes) and an
 * --area list of community ids (bulletin issue/update/cancel, poll
 * create). Messages name what is wrong; the command adds its flag. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "alliance_limits.h"
#include "text.h"

int ctl_duration_parse(const char *s, long max, long *out)
{
	char *end = NULL;
	long v, unit = 1;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || v <= 0)
		return ERR_INVALID;
	if (*end == 'm')
		unit = 60;
	else if (*end == 'h')
		unit = 3600;
	else if (*end == 'd')
		unit = 86400;
	else if (*end != 's' && *end != '\0')
		return ERR_INVALID;
	if (*end && end[1])
		return ERR_INVALID;
	if (v > max / unit)
		return ERR_INVALID;
	*out = v * unit;
	return ERR_OK;
}

/* trim: s without the spaces around it (in place). */
static char *trim(char *s)
{
	size_t n;

	while (*s == ' ')
		s++;
	for (n = strlen(s); n && s[n - 1] == ' '; n--)
		s[n - 1] = '\0';
	return s;
}

int ctl_area_parse(const char *list, size_t max, struct ctl_area *area,
		   char *why, size_t whylen)
{
	char *item, *cursor;

	memset(area, 0, sizeof(*area));
	area->copy = strdup(list);
	area->ids = calloc(max + 1, sizeof(*area->ids));
	if (!area->copy || !area->ids) {
		ctl_area_free(area);
		snprintf(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	cursor = area->copy;
	while ((item = strsep(&cursor, ",")) != NULL) {
		item = trim(item);
		if (!text_community_valid(item)) {
			snprintf(why, whylen, "'%.*s' is not a community id",
				 LIMIT_COMMUNITY_ID, item);
			ctl_area_free(area);
			return ERR_INVALID;
		}
		if (area->n == max) {
			snprintf(why, whylen, "more than %zu communities", max);
			ctl_area_free(area);
			return ERR_INVALID;
		}
		area->ids[area->n++] = item;
	}
	return ERR_OK;
}

void ctl_area_free(struct ctl_area *area)
{
	free(area->ids);
	free(area->copy);
	memset(area, 0, sizeof(*area));
}
