/* ctl.h: alliancectl's one internal header.
 *
 * alliancectl is the district operator's command line: it speaks HTTPS with
 * mutual TLS to the hub's alliance port. main.c parses the global flags and
 * dispatches "GROUP VERB" through a static table of commands; http.c wraps
 * libcurl; print.c formats what reaches a person (one table printer for
 * every list); args.c parses the arguments several commands share; each
 * group of commands has its own file (community.c, bulletin.c, poll.c).
 *
 * Sections: exit codes and limits; the run's state; commands and flags;
 * shared arguments; HTTP; output. */
#ifndef ALLIANCE_CTL_H
#define ALLIANCE_CTL_H

#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "alliance_limits.h"

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
 * argv, the environment or a static copy and are never freed; flags win
 * over variables. */
struct ctl {
	const char *prog;         /* argv[0]'s base name, for messages */
	const char *hubs[LIMIT_HUB_URLS]; /* the hub's URLs, https://host:port,
				     tried in turn: each --hub, else
				     HUB_ALLIANCE_URLS, else HUB_ALLIANCE_URL */
	size_t n_hubs;            /* how many */
	const char *hubs_wrong;   /* why the list cannot be used (too many,
				     one too long); NULL: it can */
	bool hubs_flagged;        /* a --hub came: the variables' list went */
	size_t hub_at;            /* the one asked next (the last to answer) */
	const char *hub;          /* hubs[hub_at]: the one asked last */
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

/* ctl_hubs_from_env: the hub URLs of HUB_ALLIANCE_URLS (blank-separated)
 * or else HUB_ALLIANCE_URL into ctl->hubs, before the flags are read. */
void ctl_hubs_from_env(struct ctl *ctl);

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

struct ctl_column;

/* ctl_list_command: the whole of a "GROUP list [--json]" command: GET path
 * from the hub and print its "items" as a table of the ncols columns cols
 * (ctl_print_items), or with --json the reply as it came. Returns an enum
 * ctl_exit. */
int ctl_list_command(struct ctl *ctl, const struct ctl_command *cmd,
		     int argc, char **argv, const char *path,
		     const struct ctl_column *cols, size_t ncols);

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

/* ---- shared arguments (args.c) ---------------------------------------- */

/* ctl_duration_parse: "90", "90s", "30m", "24h", "2d" into *out seconds,
 * 1 s to max. ERR_OK, or ERR_INVALID (*out unchanged). */
int ctl_duration_parse(const char *s, long max, long *out);

/* struct ctl_area: an --area list parsed. */
struct ctl_area {
	char **ids;               /* n ids then NULL; point into copy; owned */
	size_t n;
	char *copy;               /* the list, cut at the commas; owned */
};

/* ctl_area_parse: --area's "ID,ID,..." (spaces around an id allowed)
 * into *area: every item a community id, at most max of them. ERR_OK
 * (free with ctl_area_free), or ERR_INVALID / ERR_NOMEM with why saying
 * what is wrong and *area empty. */
int ctl_area_parse(const char *list, size_t max, struct ctl_area *area,
		   char *why, size_t whylen);

/* ctl_area_free: free what area owns and zero it. */
void ctl_area_free(struct ctl_area *area);

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
 * alliance CA, to each hub URL in turn from the one that answered last:
 * a hub that cannot be reached (no connection, TLS refused, no answer) is
 * left for the next, except after a request other than GET went out (it
 * may have reached that hub: it is not repeated elsewhere). On a completed
 * exchange, whatever its status (an answer is final), fills *resp (free
 * with ctl_response_free), sets ctl->hub to the hub that answered and
 * returns 0; when no hub answered prints curl's error naming each URL
 * and returns ERR_IO (or ERR_TOOBIG for a body over CTL_RESPONSE_MAX,
 * ERR_NOMEM). */
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

/* ctl_verrorf: ctl_errorf with a va_list. */
void ctl_verrorf(const struct ctl *ctl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

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

/* The number of columns of a static array of struct ctl_column. */
#define CTL_COLUMNS(cols) (sizeof(cols) / sizeof((cols)[0]))

/* Bytes of one formatted cell (a time, a count, "12/30"). */
#define CTL_CELL_MAX 64
/* Columns a table of ctl_print_items may have. */
#define CTL_COLUMNS_MAX 8

/* struct ctl_column: one column of a list printed by ctl_print_items. */
struct ctl_column {
	const char *head;         /* "LAST SEEN" */
	const char *key;          /* the item's member shown; NULL: the item */
	/* format: the cell of value v (NULL when absent) into buf of
	 * CTL_CELL_MAX bytes; returns the text. NULL: v's string, or "-". */
	const char *(*format)(const json_t *v, char *buf, size_t buflen);
};

/* ctl_print_items: the objects of JSON array items as a table on out, one
 * row each, with ncols (up to CTL_COLUMNS_MAX) columns cols. Returns
 * CTL_EXIT_OK, or CTL_EXIT_FAIL (printed) when out of memory or out
 * fails. */
int ctl_print_items(const struct ctl *ctl, const struct ctl_column *cols,
		    size_t ncols, const json_t *items, FILE *out);

/* Cell formats for struct ctl_column: ctl_cell_time (a time, as
 * ctl_time_format), ctl_cell_count (an integer as decimal, "-" when
 * absent), ctl_cell_yes_no (true is "yes", else "no"), ctl_cell_ms_as_s
 * (milliseconds as "1.234 s", "-" when absent). */
const char *ctl_cell_time(const json_t *v, char *buf, size_t buflen);
const char *ctl_cell_count(const json_t *v, char *buf, size_t buflen);
const char *ctl_cell_yes_no(const json_t *v, char *buf, size_t buflen);
const char *ctl_cell_ms_as_s(const json_t *v, char *buf, size_t buflen);

#endif
