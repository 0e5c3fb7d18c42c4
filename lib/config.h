/* config.h: INI configuration (inih) described by a table.
 *
 * A daemon declares its keys in a static table of struct config_key: section,
 * name, type, default, where the value goes, a check and help text. The same
 * table loads the file, fills defaults, reports errors as file:line: key:
 * reason, and prints --help text and an example config. */
#ifndef ALLIANCE_CONFIG_H
#define ALLIANCE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

enum config_type {
	CONFIG_STRING,  /* char *, malloc'd; NULL when empty and no default */
	CONFIG_PATH,    /* char *, as STRING; made absolute against the
			   config file's directory when relative */
	CONFIG_PORT,    /* int, 1..65535 */
	CONFIG_UINT,    /* unsigned, 0..UINT_MAX, decimal */
	CONFIG_BOOL,    /* int, 0 or 1: true/false/yes/no/on/off/1/0 */
	CONFIG_LEVEL,   /* int, a log level: error, warn, info, debug */
};

struct config_key {
	const char *section;
	const char *name;
	enum config_type type;
	const char *def;        /* default as text; NULL: none */
	size_t offset;          /* offsetof the field in the daemon's struct */
	int required;           /* 1: a missing key is an error */
	/* extra check after parsing; returns NULL or a reason. */
	const char *(*check)(const void *field);
	const char *help;       /* one line for --help and the example */
};

/* config_check_threads: a check for an unsigned thread count: 1 to 16. */
const char *config_check_threads(const void *field);
/* config_check_frame: a check for [limits] max_frame (unsigned bytes):
 * LIMIT_FRAME_MIN to LIMIT_DECODE_BUDGET, the same at hub and node. */
const char *config_check_frame(const void *field);

/* config_check_url: a check for [public] url (char *): unset, or an
 * absolute http:// or https:// URL of at most 400 bytes with a host, no
 * blanks, query or fragment. */
const char *config_check_url(const void *field);

/* config_public_url: the daemon's public base URL in *url (a string
 * config_load stored, or NULL): a set one loses its trailing '/'; an
 * unset one becomes "SCHEME://HOST:PORT" of the public listener (https
 * when it has a certificate; HOST the listen address, or this machine's
 * host name when it listens on every address). ERR_OK or ERR_NOMEM. */
int config_public_url(char **url, const char *address, int port, int https);

/* config_load: parse path against table (n keys) into the struct at out.
 * Unknown sections or keys, bad values and missing required keys are errors.
 * Returns ERR_OK, or ERR_INVALID / ERR_IO with "path:line: [section] key:
 * reason" in err. On error out may hold some parsed values: free it with
 * config_free either way. */
int config_load(const char *path, const struct config_key *table, size_t n,
		void *out, char *err, size_t errlen);

/* config_free: free the strings config_load stored in out and NULL them. */
void config_free(const struct config_key *table, size_t n, void *out);

/* config_print_help: list every key with its type, default and help. */
void config_print_help(const struct config_key *table, size_t n, FILE *f);

#endif
