/* main.c: alliancectl's entry point: global flags, help, and dispatch.
 *
 * The command line is "alliancectl [GLOBAL FLAGS] GROUP VERB [ARGS]". Global
 * flags may also follow the verb; each falls back to an environment
 * variable, and a flag wins over its variable. Commands live in one static
 * table of {group, verb, handler, usage, summary}; adding a command is one
 * row here and a handler in the group's file.
 *
 * Parts: the command table; help and usage; the shared option parsing that
 * every command uses (and the whole of a `GROUP list [--json]`); main. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "err.h"

/* ---- the command table ------------------------------------------------- */

static const struct ctl_command commands[] = {
	{ "community", "add", community_add, "ID [--name NAME]",
	  "register a community with the hub" },
	{ "community", "remove", community_remove, "ID",
	  "remove a community from the hub's registry" },
	{ "community", "list", community_list, "[--json]",
	  "show every community and its sync state" },
	{ "bulletin", "issue", bulletin_issue,
	  "--headline T --description T --cause T --response T "
	  "--instructions T [--severity extreme|severe|moderate|minor] "
	  "[--urgency immediate|expected|future] "
	  "[--certainty observed|likely|possible] [--category ID] "
	  "[--headline-en T --description-en T [--cause-en T] "
	  "[--response-en T] [--instructions-en T]] "
	  "[--area ID,...] [--expires DURATION] [--check-in] "
	  "[--wait [--timeout S]]",
	  "sign and issue a bulletin (defaults: severe, immediate, observed, "
	  "public-safety, every community, 24h; the texts in Chinese, the "
	  "--*-en ones in English; --check-in asks residents to confirm "
	  "they are safe); prints its id first" },
	{ "bulletin", "update", bulletin_update,
	  "ID [the flags of issue; what is not given is taken from ID]",
	  "issue an update that replaces bulletin ID" },
	{ "bulletin", "cancel", bulletin_cancel,
	  "ID [--headline T] [--description T] [--headline-en T] "
	  "[--description-en T] [--wait [--timeout S]]",
	  "cancel bulletin ID (sent to the communities it went to)" },
	{ "bulletin", "status", bulletin_status, "ID [--json]",
	  "show which communities have bulletin ID, and when (and, for a "
	  "check-in, each one's counts)" },
	{ "bulletin", "list", bulletin_list, "[--json]",
	  "list the bulletins, current ones first, with their delivery" },
	{ "poll", "create", poll_create,
	  "--question Q --option A --option B [--option ...] "
	  "[--closes DURATION] [--area ID,...]",
	  "a district-wide poll for every community (or --area); closes in "
	  "7d by default; prints its id first" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The global flags, their variables and what they hold, for --help. */
static const struct {
	const char *flag;         /* "--hub URL" */
	const char *env;          /* "HUB_ALLIANCE_URL" */
	const char *what;         /* one line */
} globals[] = {
	{ "--hub URL", "HUB_ALLIANCE_URLS",
	  "the hub's alliance port, e.g. https://127.0.0.1:7443; several "
	  "--hub (or URLs in the variable, blanks between; at most 8) are "
	  "tried in turn until one answers (HUB_ALLIANCE_URL: one)" },
	{ "--cert FILE", "OPERATOR_CERT", "your operator certificate (PEM)" },
	{ "--key FILE", "OPERATOR_KEY", "its private key (PEM)" },
	{ "--ca FILE", "CA_CERT", "the alliance CA certificate (PEM)" },
	{ "--signing-key FILE", "SIGNING_KEY",
	  "the district Ed25519 key that signs bulletins" },
};

/* ---- help and usage ---------------------------------------------------- */

/* print_help: the full --help text to out. */
static void print_help(const struct ctl *ctl, FILE *out)
{
	size_t i;

	fprintf(out, "usage: %s [FLAGS] GROUP VERB [ARGS]\n\n"
		"District operator's tool for the Alliance hub; speaks HTTPS "
		"with mutual TLS.\n\nCommands:\n", ctl->prog);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %s %s %s\n      %s\n", commands[i].group,
			commands[i].verb, commands[i].usage,
			commands[i].summary);
	fprintf(out, "\nFlags (before GROUP or after VERB; a flag wins over "
		"its variable):\n");
	for (i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
		fprintf(out, "  %-20s $%-17s %s\n", globals[i].flag,
			globals[i].env, globals[i].what);
	fprintf(out, "  %-20s %-18s %s\n  %-20s %-18s %s\n\n", "-h, --help", "",
		"show this help", "-V, --version", "", "show the version");
	fprintf(out, "  %s help GROUP    the commands of one group\n\n"
		"Exit status: 0 done, 1 the hub refused or could not be "
		"reached, 2 usage.\n", ctl->prog);
}

/* print_group: the usage lines of group to out; returns how many. */
static size_t print_group(const struct ctl *ctl, const char *group, FILE *out)
{
	size_t i, n = 0;

	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].group, group) != 0)
			continue;
		if (n++ == 0)
			fprintf(out, "usage:\n");
		fprintf(out, "  %s %s %s %s\n      %s\n", ctl->prog, group,
			commands[i].verb, commands[i].usage,
			commands[i].summary);
	}
	return n;
}

int ctl_usage(const struct ctl *ctl, const struct ctl_command *cmd)
{
	fprintf(stderr, "usage: %s %s %s %s\n", ctl->prog, cmd->group,
		cmd->verb, cmd->usage);
	return CTL_EXIT_USAGE;
}

int ctl_usage_error(const struct ctl *ctl, const struct ctl_command *cmd,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_verrorf(ctl, fmt, ap);
	va_end(ap);
	return ctl_usage(ctl, cmd);
}

/* ---- option parsing ---------------------------------------------------- */

/* env: the variable's value, or NULL when unset or empty. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

void ctl_hubs_from_env(struct ctl *ctl)
{
	/* a copy of HUB_ALLIANCE_URLS cut at the blanks, for the run */
	static char copy[LIMIT_HUB_URLS * (LIMIT_HUB_URL + 1)];
	const char *list = env("HUB_ALLIANCE_URLS");
	char *p = copy;
	size_t len;

	ctl->n_hubs = 0;
	if (!list) {
		if ((ctl->hubs[0] = env("HUB_ALLIANCE_URL")) != NULL)
			ctl->n_hubs = 1;
		ctl->hub = ctl->hubs[0];
		return;
	}
	if (strlen(list) >= sizeof(copy)) {
		ctl->hubs_wrong = "HUB_ALLIANCE_URLS is too long";
		return;
	}
	memcpy(copy, list, strlen(list) + 1);
	for (p += strspn(p, " \t\n"); *p; p += len, p += strspn(p, " \t\n")) {
		len = strcspn(p, " \t\n");
		if (ctl->n_hubs == LIMIT_HUB_URLS) {
			ctl->hubs_wrong = "more than 8 hub URLs";
			return;
		}
		ctl->hubs[ctl->n_hubs++] = p;
		if (p[len])
			p[len++] = '\0';
	}
	ctl->hub = ctl->hubs[0];
}

bool ctl_global_option(struct ctl *ctl, int opt, const char *arg)
{
	switch (opt) {
	case CTL_OPT_HUB:
		if (!ctl->hubs_flagged) {   /* flags win over the variables */
			ctl->hubs_flagged = true;
			ctl->n_hubs = 0;
			ctl->hubs_wrong = NULL;
		}
		if (ctl->n_hubs == LIMIT_HUB_URLS)
			ctl->hubs_wrong = "more than 8 hub URLs";
		else
			ctl->hubs[ctl->n_hubs++] = arg;
		ctl->hub = ctl->hubs[0];
		return true;
	case CTL_OPT_CERT:
		ctl->cert = arg;
		return true;
	case CTL_OPT_KEY:
		ctl->key = arg;
		return true;
	case CTL_OPT_CA:
		ctl->ca = arg;
		return true;
	case CTL_OPT_SIGNING_KEY:
		ctl->signing_key = arg;
		return true;
	default:
		return false;
	}
}

/* Why getopt_long stopped at argv[optind - 1]: the leading ':' in the
 * option string makes it return ':' for a missing argument, '?' for an
 * unknown option, so both are reported here and not by getopt itself. */
static int option_error(const struct ctl *ctl, const struct ctl_command *cmd,
			int opt, char **argv)
{
	const char *bad = argv[optind - 1];

	if (opt == ':')
		return ctl_usage_error(ctl, cmd, "%s needs a value", bad);
	return ctl_usage_error(ctl, cmd, "unknown option %s", bad);
}

int ctl_command_parse(struct ctl *ctl, const struct ctl_command *cmd,
		      int argc, char **argv, const struct option *longopts,
		      int (*on_opt)(void *state, int opt, const char *arg),
		      void *state, int *first_arg)
{
	int opt, rc;

	opterr = 0;
	optind = 0;   /* glibc: start afresh, main's parse already ran */
	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (opt == ':' || opt == '?')
			return option_error(ctl, cmd, opt, argv);
		if (opt == CTL_OPT_HELP) {
			fprintf(stdout, "usage: %s %s %s %s\n    %s\n",
				ctl->prog, cmd->group, cmd->verb, cmd->usage,
				cmd->summary);
			return CTL_EXIT_OK;
		}
		if (ctl_global_option(ctl, opt, optarg))
			continue;
		if (on_opt == NULL)
			return ctl_usage(ctl, cmd);
		rc = on_opt(state, opt, optarg);
		if (rc != 0)
			return rc;
	}
	*first_arg = optind;
	return -1;
}

/* json_opt: --json sets the bool at state. */
static int json_opt(void *state, int opt, const char *arg)
{
	(void)arg;
	if (opt != 1)
		return CTL_EXIT_USAGE;
	*(bool *)state = true;
	return 0;
}

int ctl_list_command(struct ctl *ctl, const struct ctl_command *cmd,
		     int argc, char **argv, const char *path,
		     const struct ctl_column *cols, size_t ncols)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "json", no_argument, NULL, 1 },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_response resp = { 0 };
	bool as_json = false;
	json_t *items;
	int rc, first;

	rc = ctl_command_parse(ctl, cmd, argc, argv, longopts, json_opt,
			       &as_json, &first);
	if (rc >= 0)
		return rc;
	if (first < argc)
		return ctl_usage_error(ctl, cmd, "unexpected argument '%s'",
				       argv[first]);
	rc = ctl_ready(ctl);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctl_request(ctl, "GET", path, NULL, &resp) != ERR_OK)
		return CTL_EXIT_FAIL;
	items = json_object_get(resp.json, "items");
	if (resp.status != 200) {
		rc = ctl_hub_error(ctl, &resp);
	} else if (as_json) {
		rc = ctl_print_body(ctl, &resp);
	} else if (!json_is_array(items)) {
		ctl_errorf(ctl, "%s sent no \"items\" list", ctl->hub);
		rc = CTL_EXIT_FAIL;
	} else {
		rc = ctl_print_items(ctl, cols, ncols, items, stdout);
	}
	ctl_response_free(&resp);
	return rc;
}

/* ---- main -------------------------------------------------------------- */

/* run_help: "alliancectl help [GROUP]". */
static int run_help(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2) {
		print_help(ctl, stdout);
		return CTL_EXIT_OK;
	}
	if (print_group(ctl, argv[1], stdout) > 0)
		return CTL_EXIT_OK;
	ctl_errorf(ctl, "no command group '%s'; try '%s --help'", argv[1],
		   ctl->prog);
	return CTL_EXIT_USAGE;
}

/* dispatch: find GROUP VERB in the table and run it; argv[0] is GROUP. */
static int dispatch(struct ctl *ctl, int argc, char **argv)
{
	const char *group = argv[0], *verb = argc > 1 ? argv[1] : NULL;
	size_t i;
	bool known_group = false;

	if (strcmp(group, "help") == 0)
		return run_help(ctl, argc, argv);
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].group, group) != 0)
			continue;
		known_group = true;
		if (verb != NULL && strcmp(commands[i].verb, verb) == 0)
			return commands[i].handler(ctl, &commands[i],
						   argc - 1, argv + 1);
	}
	if (!known_group) {
		ctl_errorf(ctl, "unknown command '%s'; try '%s --help'", group,
			   ctl->prog);
		return CTL_EXIT_USAGE;
	}
	if (verb == NULL)
		ctl_errorf(ctl, "%s: which verb?", group);
	else
		ctl_errorf(ctl, "%s: unknown verb '%s'", group, verb);
	print_group(ctl, group, stderr);
	return CTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl ctl = {
		.prog = "alliancectl",
		.cert = env("OPERATOR_CERT"),
		.key = env("OPERATOR_KEY"),
		.ca = env("CA_CERT"),
		.signing_key = env("SIGNING_KEY"),
	};
	int opt, rc;

	ctl_hubs_from_env(&ctl);
	opterr = 0;
	/* '+': stop at GROUP, so a command's own flags reach its handler */
	while ((opt = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
		if (ctl_global_option(&ctl, opt, optarg))
			continue;
		switch (opt) {
		case 'h':
		case CTL_OPT_HELP:
			print_help(&ctl, stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("%s %s\n", ctl.prog, ALLIANCE_VERSION);
			return CTL_EXIT_OK;
		case ':':
			ctl_errorf(&ctl, "%s needs a value", argv[optind - 1]);
			return CTL_EXIT_USAGE;
		default:
			ctl_errorf(&ctl, "unknown option %s; try '%s --help'",
				   argv[optind - 1], ctl.prog);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: %s [FLAGS] GROUP VERB [ARGS]; try "
			"'%s --help'\n", ctl.prog, ctl.prog);
		return CTL_EXIT_USAGE;
	}
	rc = dispatch(&ctl, argc - optind, argv + optind);
	ctl_cleanup(&ctl);
	return rc;
}
