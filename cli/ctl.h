/* ctl.h: alliancectl's one internal header.
 *
 * alliancectl is the district operator's command line: it speaks HTTPS with
 * mutual TLS to the hub's alliance port. main.c parses the global flags and
 * dispatches "GROUP VERB" through a static table of commands; http.c wraps
 * libcurl; print.c formats what reaches a person; each group of commands has
 * its own file (community.c, and later bulletin.c, catalog.c, poll.c).
 *
 * Sections: exit codes and limits; the run's state; commands and flags;
 * HTTP; output. */
#ifndef ALLIANCE_CTL_H
#define ALLIANCE_CTL_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ---- exit codes and limits ------------------------------------------- */

/* What the process exits with; handlers return one of these. */
enum ctl_exit {
	CTL_EXIT_OK = 0,     /* done */
	CTL_EXIT_FAIL = 1,   /* the hub refused, or transport/TLS failed */
	CTL_EXIT_USAGE = 2,  /* bad command line or missing configuration */
};

/* Largest response body read from the hub; a catalog page or a bulletin's
 * delivery list is far smaller, so more means something is wrong. */
#define CTL_RESPONSE_MAX (8u * 1024u * 1024u)
/* Seconds to wait for the TCP and TLS handshake with the hub. */
#define CTL_CONNECT_TIMEOUT_S 10L
/* Seconds one whole request may take, transfer included. */
#define CTL_REQUEST_TIMEOUT_S 60L
/* Longest URL built from the hub URL and a path. */
#define CTL_URL_MAX 4096

/* ---- the run's state --------------------------------------------------- */

/* struct ctl: what one run of alliancectl knows. The strings point into
 * argv or the environment and are never freed; flags win over variables. */
struct ctl {
	const char *prog;         /* argv[0]'s base name, for messages */
	const char *hub;          /* --hub or HUB_ALLIANCE_URL, https://host:port */
	const char *cert;         /* --cert or OPERATOR_CERT, PEM path */
	const char *key;          /* --key or OPERATOR_KEY, PEM path */
	const char *ca;           /* --ca or CA_CERT, the alliance CA's PEM */
	const char *signing_key;  /* --signing-key or SIGNING_KEY (bulletins) */
	void *curl;               /* CURL handle made on first request; owned */
};

/* ---- commands and flags ------------------------------------------------ */

/* struct ctl_command: one "GROUP VERB" of the dispatch table in main.c. */
struct ctl_command {
	const char *group;        /* "community" */
	const char *verb;         /* "add" */
	/* handler: run the command with argv[0] = verb and the arguments after
	 * it; returns an enum ctl_exit. */
	int (*handler)(struct ctl *ctl, const struct ctl_command *cmd,
		       int argc, char **argv);
	const char *usage;        /* arguments after "GROUP VERB" */
	const char *summary;      /* one line for --help */
};

/* Values getopt_long returns for the global flags, which every command also
 * accepts after its verb; above any short option character. */
enum ctl_global_opt {
	CTL_OPT_HUB = 0x100,
	CTL_OPT_CERT,
	CTL_OPT_KEY,
	CTL_OPT_CA,
	CTL_OPT_SIGNING_KEY,
	CTL_OPT_HELP,
};

/* The global flags as struct option entries; a command's option array puts
 * these first and its own after, then the {0} terminator. */
#define CTL_GLOBAL_OPTIONS                                            \
	{ "hub", required_argument, NULL, CTL_OPT_HUB },              \
	{ "cert", required_argument, NULL, CTL_OPT_CERT },            \
	{ "key", required_argument, NULL, CTL_OPT_KEY },              \
	{ "ca", required_argument, NULL, CTL_OPT_CA },                \
	{ "signing-key", required_argument, NULL, CTL_OPT_SIGNING_KEY }, \
	{ "help", no_argument, NULL, CTL_OPT_HELP }

/* ctl_global_option: apply a global flag that getopt_long returned inside a
 * command (opt, optarg). Returns true if opt was one of them. */
bool ctl_global_option(struct ctl *ctl, int opt, const char *arg);

/* ctl_command_parse: run getopt_long over a command's argv with longopts
 * (which must include CTL_GLOBAL_OPTIONS), handing each of the command's
 * own options to on_opt(state, opt, optarg). Global flags are applied,
 * --help prints the command's usage. Returns -1 when parsing should go on
 * to the positional arguments (then *first_arg is their index in argv), or
 * an enum ctl_exit to return at once (usage printed when it is an error).
 * on_opt returns 0 to accept an option or CTL_EXIT_USAGE to refuse it. */
int ctl_command_parse(struct ctl *ctl, const struct ctl_command *cmd,
		      int argc, char **argv, const struct option *longopts,
		      int (*on_opt)(void *state, int opt, const char *arg),
		      void *state, int *first_arg);

/* ctl_usage: print "usage: alliancectl GROUP VERB USAGE" for cmd to stderr
 * and return CTL_EXIT_USAGE. */
int ctl_usage(const struct ctl *ctl, const struct ctl_command *cmd);

/* ctl_usage_error: print "alliancectl: MESSAGE" and the usage line of cmd;
 * returns CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl *ctl, const struct ctl_command *cmd,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The group handlers' entry points, listed in main.c's table. */
int community_add(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		  char **argv);
int community_remove(struct ctl *ctl, const struct ctl_command *cmd,
		     int argc, char **argv);
int community_list(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		   char **argv);
int bulletin_issue(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		   char **argv);
int bulletin_update(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		    char **argv);
int bulletin_cancel(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		    char **argv);
int bulletin_status(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		    char **argv);
int bulletin_list(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		  char **argv);
int poll_create(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		char **argv);

/* ---- HTTP (http.c) ----------------------------------------------------- */

/* struct ctl_response: one reply of the hub. */
struct ctl_response {
	long status;              /* HTTP status, e.g. 201 */
	char *body;               /* raw body, NUL-terminated; owned, may be "" */
	size_t len;               /* bytes in body */
	json_t *json;             /* body parsed, or NULL if empty/not JSON; owned */
};

/* ctl_ready: check the hub URL and credentials are configured before a
 * request, printing which flag or variable is missing. Returns CTL_EXIT_OK,
 * CTL_EXIT_USAGE when something is not given, CTL_EXIT_FAIL when a file
 * cannot be read. */
int ctl_ready(const struct ctl *ctl);

/* ctl_request: send METHOD {hub}{path} with body (a JSON value serialised
 * as the request body, or NULL for none) over mutual TLS, trusting only the
 * alliance CA. On a completed exchange, whatever its status, fills *resp
 * (free with ctl_response_free) and returns 0; on a transport or TLS
 * failure prints curl's error naming the URL and returns ERR_IO (or
 * ERR_TOOBIG for a body over CTL_RESPONSE_MAX, ERR_NOMEM). */
int ctl_request(struct ctl *ctl, const char *method, const char *path,
		json_t *body, struct ctl_response *resp);

/* ctl_response_free: free what resp owns and zero it. */
void ctl_response_free(struct ctl_response *resp);

/* ctl_cleanup: release the curl handle and libcurl's global state. */
void ctl_cleanup(struct ctl *ctl);

/* ---- output (print.c) -------------------------------------------------- */

/* ctl_hub_error: print "alliancectl: HUB said STATUS CODE: MESSAGE" from
 * the hub's error body (or the status alone if it has none) to stderr;
 * returns CTL_EXIT_FAIL. */
int ctl_hub_error(const struct ctl *ctl, const struct ctl_response *resp);

/* ctl_errorf: print "alliancectl: MESSAGE" to stderr. */
void ctl_errorf(const struct ctl *ctl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ctl_print_body: print a hub reply's body to stdout as it came, ending
 * in a newline (for --json). Returns CTL_EXIT_OK, or CTL_EXIT_FAIL when the
 * body is not JSON or stdout fails. */
int ctl_print_body(const struct ctl *ctl, const struct ctl_response *resp);

/* ctl_text_clean: a copy of s that is safe on a terminal: control
 * characters and invalid UTF-8 become '?'. NULL becomes "". Caller frees;
 * NULL only when out of memory. */
char *ctl_text_clean(const char *s);

/* ctl_text_width: columns s takes on a terminal (CJK wide characters take
 * two), for s already passed through ctl_text_clean. */
size_t ctl_text_width(const char *s);

/* ctl_time_format: write a time from the hub as RFC 3339 UTC into buf: a
 * JSON integer is seconds since 1970, a string is shown as it is (cleaned),
 * null, absent or 0 is "-". Returns buf. */
char *ctl_time_format(const json_t *t, char *buf, size_t buflen);

/* struct ctl_table: an aligned text table built row by row. */
struct ctl_table {
	size_t ncols;             /* columns */
	const char *const *head;  /* ncols headers, static strings */
	char **cells;             /* nrows * ncols cleaned strings; owned */
	size_t nrows;             /* rows added */
	size_t cap;               /* rows cells has room for */
};

/* ctl_table_add: append a row of t->ncols strings (copied and cleaned;
 * NULL shows as "-"). Returns ERR_OK or ERR_NOMEM. */
int ctl_table_add(struct ctl_table *t, const char *const *row);

/* ctl_table_print: print the header and rows, columns padded to the
 * widest cell, two spaces apart. Returns CTL_EXIT_OK or CTL_EXIT_FAIL. */
int ctl_table_print(const struct ctl_table *t, FILE *out);

/* ctl_table_free: free the rows t owns and zero them. */
void ctl_table_free(struct ctl_table *t);

#endif
