/* community.c: "alliancectl community add|remove|list".
 *
 * The hub's registry of communities is what "all communities" means and
 * which node certificates it accepts; these commands change and show it
 * through the operator endpoints /api/v1/communities. Ids are checked here
 * as well as at the hub, so a typo fails before anything is sent.
 *
 * Parts: argument checks; add; remove; list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"
#include "alliance_limits.h"
#include "text.h"

#define COMMUNITIES_PATH "/api/v1/communities"

/* ---- argument checks --------------------------------------------------- */

/* check_id: usage error unless id is a valid community id. Returns 0 or
 * CTL_EXIT_USAGE. */
static int check_id(const struct ctl *ctl, const struct ctl_command *cmd,
		    const char *id)
{
	char *clean;

	if (text_community_valid(id))
		return 0;
	clean = ctl_text_clean(id);
	ctl_usage_error(ctl, cmd, "community id '%s' is invalid: it must "
			"match [a-z0-9][a-z0-9-]{1,62}", clean ? clean : "?");
	free(clean);
	return CTL_EXIT_USAGE;
}

/* one_id: parse a command that takes exactly one ID after its options.
 * Returns -1 with *id set to go on, or an exit code. */
static int one_id(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		  char **argv, const struct option *longopts,
		  int (*on_opt)(void *, int, const char *), void *state,
		  const char **id)
{
	int rc, first;

	rc = ctl_command_parse(ctl, cmd, argc, argv, longopts, on_opt, state,
			       &first);
	if (rc >= 0)
		return rc;
	if (argc - first != 1)
		return ctl_usage_error(ctl, cmd, argc - first < 1 ?
				       "missing community ID" :
				       "too many arguments");
	*id = argv[first];
	rc = check_id(ctl, cmd, *id);
	if (rc != 0)
		return rc;
	rc = ctl_ready(ctl);
	return rc != CTL_EXIT_OK ? rc : -1;
}

/* ---- add --------------------------------------------------------------- */

enum { OPT_NAME = 1 };

/* add_opt: --name NAME into the const char * at state. */
static int add_opt(void *state, int opt, const char *arg)
{
	if (opt != OPT_NAME)
		return CTL_EXIT_USAGE;
	*(const char **)state = arg;
	return 0;
}

int community_add(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		  char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "name", required_argument, NULL, OPT_NAME },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_response resp = { 0 };
	const char *id = NULL, *name = NULL, *got;
	json_t *body;
	int rc;

	rc = one_id(ctl, cmd, argc, argv, longopts, add_opt, &name, &id);
	if (rc >= 0)
		return rc;
	if (name == NULL)
		name = id;
	if (name[0] == '\0' || strlen(name) > LIMIT_NAME ||
	    !text_utf8_valid(name, strlen(name)))
		return ctl_usage_error(ctl, cmd, "--name must be 1 to %d "
				       "bytes of UTF-8", LIMIT_NAME);
	body = json_pack("{s:s, s:s}", "id", id, "name", name);
	if (body == NULL) {
		ctl_errorf(ctl, "out of memory");
		return CTL_EXIT_FAIL;
	}
	rc = ctl_request(ctl, "POST", COMMUNITIES_PATH, body, &resp);
	json_decref(body);
	if (rc != ERR_OK)
		return CTL_EXIT_FAIL;
	if (resp.status != 200 && resp.status != 201) {
		rc = ctl_hub_error(ctl, &resp);
		ctl_response_free(&resp);
		return rc;
	}
	/* print the id the hub registered; it should be ours */
	got = json_string_value(json_object_get(resp.json, "id"));
	printf("%s\n", got != NULL && text_community_valid(got) ? got : id);
	ctl_response_free(&resp);
	return CTL_EXIT_OK;
}

/* ---- remove ------------------------------------------------------------ */

int community_remove(struct ctl *ctl, const struct ctl_command *cmd,
		     int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_response resp = { 0 };
	char path[sizeof(COMMUNITIES_PATH) + LIMIT_COMMUNITY_ID + 2];
	const char *id = NULL;
	int rc;

	rc = one_id(ctl, cmd, argc, argv, longopts, NULL, NULL, &id);
	if (rc >= 0)
		return rc;
	/* a valid id is [a-z0-9-], nothing to escape in a path */
	snprintf(path, sizeof(path), "%s/%s", COMMUNITIES_PATH, id);
	if (ctl_request(ctl, "DELETE", path, NULL, &resp) != ERR_OK)
		return CTL_EXIT_FAIL;
	rc = resp.status == 200 || resp.status == 204
		? CTL_EXIT_OK : ctl_hub_error(ctl, &resp);
	ctl_response_free(&resp);
	return rc;
}

/* ---- list -------------------------------------------------------------- */

/* The columns of `community list`. */
static const struct ctl_column list_columns[] = {
	{ "ID", "id", NULL },
	{ "NAME", "name", NULL },
	{ "CONNECTED", "connected", ctl_cell_yes_no },
	{ "LAST SEEN", "last_seen", ctl_cell_time },
	{ "UP", "up_cursor", ctl_cell_count },
	{ "DOWN", "down_cursor", ctl_cell_count },
};

int community_list(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		   char **argv)
{
	return ctl_list_command(ctl, cmd, argc, argv, COMMUNITIES_PATH,
				list_columns, CTL_COLUMNS(list_columns));
}
