/* poll.c: alliancectl poll create: a district-wide poll through the hub's
 * operator API (POST /api/v1/polls on the alliance port), which relays it
 * to every community (or those of --area); prints the new poll's id
 * ("district.ID") first.
 *
 * Parts: options; create. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "err.h"
#include "relay.h"
#include "text.h"

#define POLLS_PATH "/api/v1/polls"
/* Default time a poll stays open. */
#define POLL_DEFAULT_S (7 * 86400L)

/* ---- options -------------------------------------------------------------- */

enum { OPT_QUESTION = 1, OPT_OPTION, OPT_CLOSES, OPT_AREA };

struct poll_opts {
	const char *question;
	const char *options[RELAY_OPTIONS_MAX + 1];
	size_t n_options;
	const char *closes;         /* a duration */
	const char *area;           /* ID,ID,... */
};

static int on_opt(void *state, int opt, const char *arg)
{
	struct poll_opts *o = state;

	switch (opt) {
	case OPT_QUESTION:
		o->question = arg;
		return 0;
	case OPT_OPTION:
		if (o->n_options > RELAY_OPTIONS_MAX)
			return CTL_EXIT_USAGE;
		o->options[o->n_options++] = arg;
		return 0;
	case OPT_CLOSES:
		o->closes = arg;
		return 0;
	case OPT_AREA:
		o->area = arg;
		return 0;
	default:
		return CTL_EXIT_USAGE;
	}
}

/* duration: "90", "90s", "30m", "24h", "2d" into seconds within a poll's
 * longest life. ERR_OK or ERR_INVALID. */
static int duration(const char *s, long *out)
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
	if (v > RELAY_POLL_LIFETIME_S / unit)
		return ERR_INVALID;
	*out = v * unit;
	return ERR_OK;
}

/* area_json: the comma-separated ids as a JSON list, or NULL (printed). */
static json_t *area_json(const struct ctl *ctl, const char *list)
{
	json_t *a = json_array();
	const char *p = list;

	while (a && p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char id[LIMIT_COMMUNITY_ID + 1];

		if (len == 0 || len > LIMIT_COMMUNITY_ID) {
			ctl_errorf(ctl, "--area: '%.*s' is not a community id",
				   (int)(len > 64 ? 64 : len), p);
			json_decref(a);
			return NULL;
		}
		memcpy(id, p, len);
		id[len] = '\0';
		if (!text_community_valid(id)) {
			ctl_errorf(ctl, "--area: '%s' is not a community id",
				   id);
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, json_string(id));
		p = comma ? comma + 1 : NULL;
	}
	return a;
}

/* ---- create ----------------------------------------------------------------- */

int poll_create(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "question", required_argument, NULL, OPT_QUESTION },
		{ "option", required_argument, NULL, OPT_OPTION },
		{ "closes", required_argument, NULL, OPT_CLOSES },
		{ "area", required_argument, NULL, OPT_AREA },
		{ NULL, 0, NULL, 0 }
	};
	struct poll_opts o;
	struct ctl_response resp = { 0 };
	json_t *body, *opts, *area = NULL;
	long life = POLL_DEFAULT_S;
	const char *id;
	int rc, first = 0;

	memset(&o, 0, sizeof(o));
	rc = ctl_command_parse(ctl, cmd, argc, argv, longopts, on_opt, &o,
			       &first);
	if (rc != -1)
		return rc;
	if (first < argc)
		return ctl_usage_error(ctl, cmd, "unexpected '%s'", argv[first]);
	if (!o.question)
		return ctl_usage_error(ctl, cmd, "--question is required");
	if (o.n_options < RELAY_OPTIONS_MIN || o.n_options > RELAY_OPTIONS_MAX)
		return ctl_usage_error(ctl, cmd, "give %d to %d --option",
				       RELAY_OPTIONS_MIN, RELAY_OPTIONS_MAX);
	if (o.closes && duration(o.closes, &life) != ERR_OK)
		return ctl_usage_error(ctl, cmd, "--closes %s: give a duration "
				       "such as 90m, 24h or 7d", o.closes);
	if (o.area && !(area = area_json(ctl, o.area)))
		return CTL_EXIT_USAGE;
	rc = ctl_ready(ctl);
	if (rc != CTL_EXIT_OK) {
		json_decref(area);
		return rc;
	}
	opts = json_array();
	for (size_t i = 0; opts && i < o.n_options; i++)
		json_array_append_new(opts, json_string(o.options[i]));
	body = json_pack("{s:s, s:o, s:I, s:o}", "question", o.question,
			 "options", opts, "closes",
			 (json_int_t)(time(NULL) + life), "area",
			 area ? area : json_array());
	if (!body) {
		ctl_errorf(ctl, "out of memory (or --question is not UTF-8)");
		return CTL_EXIT_FAIL;
	}
	rc = ctl_request(ctl, "POST", POLLS_PATH, body, &resp);
	json_decref(body);
	if (rc != ERR_OK)
		return CTL_EXIT_FAIL;
	if (resp.status != 201) {
		rc = ctl_hub_error(ctl, &resp);
		ctl_response_free(&resp);
		return rc;
	}
	id = json_string_value(json_object_get(resp.json, "id"));
	printf("%s\n", id ? id : "");
	ctl_response_free(&resp);
	return id ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}
