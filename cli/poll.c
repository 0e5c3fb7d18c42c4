/* poll.c: alliancectl poll create: a district-wide poll through the hub's
 * operator API (POST /api/v1/polls on the alliance port), which relays it
 * to every community (or those of --area); prints the new poll's id
 * ("district.ID") first.
 *
 * Parts: options; create. */
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

/* area_json: --area's list as a JSON array of ids, or NULL with why. */
static json_t *area_json(const char *list, char *why, size_t whylen)
{
	struct ctl_area parsed;
	json_t *a;

	if (ctl_area_parse(list, RELAY_AREA_MAX, &parsed, why, whylen) != ERR_OK)
		return NULL;
	a = json_array();
	for (size_t i = 0; a && i < parsed.n; i++)
		if (json_array_append_new(a, json_string(parsed.ids[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	ctl_area_free(&parsed);
	if (!a)
		snprintf(why, whylen, "out of memory");
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
	char why[128];
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
	if (o.closes && ctl_duration_parse(o.closes, RELAY_POLL_LIFETIME_S,
					   &life) != ERR_OK)
		return ctl_usage_error(ctl, cmd, "--closes %s: give a duration "
				       "such as 90m, 24h or 7d", o.closes);
	if (o.area && !(area = area_json(o.area, why, sizeof(why))))
		return ctl_usage_error(ctl, cmd, "--area: %s", why);
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
