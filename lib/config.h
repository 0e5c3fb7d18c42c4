/* config.h: INI configuration (inih) described by a table.
 *
 * A daemon declares its keys in a static table of struct config_key, one
 * row a key: section, name, type, default, where the value goes, its
 * bounds and unit (numbers), a check (text) and help text; and the checks
 * that span two keys as rows of struct config_rule. The keys and rules
 * both daemons have are written once, here (CONFIG_COMMON_KEYS,
 * CONFIG_COMMON_RULES); each daemon's table adds its role's rows. The
 * same table loads the file, fills defaults, reports errors as
 * file:line: [section] key: reason, and prints --help with the bounds. */
#ifndef ALLIANCE_CONFIG_H
#define ALLIANCE_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "alliance_limits.h"

enum config_type {
	CONFIG_STRING,  /* char *, malloc'd; NULL when empty and no default */
	CONFIG_PATH,    /* char *, as STRING; made absolute against the
			   config file's directory when relative */
	CONFIG_PORT,    /* int, 1..65535 */
	CONFIG_UINT,    /* unsigned, decimal, within the key's min and max */
	CONFIG_BOOL,    /* int, 0 or 1: true/false/yes/no/on/off/1/0 */
	CONFIG_LEVEL,   /* int, a log level: error, warn, info, debug */
	CONFIG_PATHS,   /* char *: comma-separated paths, each made absolute
			   as PATH, stored joined by ','; their count within
			   min and max; read with config_paths_next */
};

struct config_key {
	const char *section;
	const char *name;
	enum config_type type;
	const char *def;        /* default as text; NULL: none */
	size_t offset;          /* offsetof the field in the daemon's struct */
	int required;           /* 1: a missing key is an error */
	unsigned min, max;      /* CONFIG_UINT: the values allowed, both
				   included (UINT_MAX: no upper bound);
				   CONFIG_PATHS: how many paths;
				   other types: 0, 0 */
	const char *unit;       /* CONFIG_UINT: "seconds", "bytes", ...;
				   NULL: a plain number */
	/* extra check of a text value after parsing; NULL or a reason. */
	const char *(*check)(const void *field);
	const char *help;       /* one line for --help */
};

/* A check spanning two keys a and b of one section. */
enum config_rule_kind {
	CONFIG_GREATER,         /* numbers: a > b */
	CONFIG_TOGETHER,        /* text: both set or neither */
	CONFIG_APART,           /* any type: not both given in the file
				   (two forms of one setting) */
};

struct config_rule {
	enum config_rule_kind kind;
	const char *section;
	const char *a, *b;      /* key names in section */
	const char *why;        /* appended to the reason; NULL: nothing */
};

/* A daemon's whole configuration: its keys and its rules. */
struct config_table {
	const struct config_key *keys;
	size_t n_keys;
	const struct config_rule *rules;
	size_t n_rules;
};

/* CONFIG_NUM: a limit of lib/alliance_limits.h (a plain decimal) as a default. */
#define CONFIG_NUM(limit) CONFIG_NUM_(limit)
#define CONFIG_NUM_(limit) #limit

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

/* config_paths_next: the next path of a CONFIG_PATHS value into path,
 * advancing *cursor (start it at the value). Returns 1, 0 at the end, or
 * -1 when the path does not fit pathlen. */
int config_paths_next(const char **cursor, char *path, size_t pathlen);

/* config_check_ip: a check for a text field: unset, or an IPv4 or IPv6
 * address. */
const char *config_check_ip(const void *field);

/* The keys alliance-hub and alliance-node both have, as rows of the
 * table of a struct T with the fields of these names. ping_s and drop_s
 * are 1 to 3600 at both: lws keeps the node's keepalive times in 16 bits,
 * and an hour is plenty. Adding a key both have is one row here. */
#define CONFIG_COMMON_KEYS(T) \
	{ "public", "address", CONFIG_STRING, "0.0.0.0", \
	  offsetof(T, public_address), 0, 0, 0, NULL, config_check_ip, \
	  "listen address of the public port (an IP address)" }, \
	{ "public", "port", CONFIG_PORT, "8080", offsetof(T, public_port), \
	  0, 0, 0, NULL, NULL, "public port" }, \
	{ "public", "cert", CONFIG_PATH, NULL, offsetof(T, public_cert), \
	  0, 0, 0, NULL, NULL, "public certificate (PEM): HTTPS when set, " \
	  "with key; unset: plain HTTP for a proxy in front" }, \
	{ "public", "key", CONFIG_PATH, NULL, offsetof(T, public_key), \
	  0, 0, 0, NULL, NULL, "key of the public certificate" }, \
	{ "public", "url", CONFIG_STRING, NULL, offsetof(T, public_url), \
	  0, 0, 0, NULL, config_check_url, "absolute base URL of the public " \
	  "port, for Atom and CAP links (default: http(s)://ADDRESS:PORT, " \
	  "the host name for 0.0.0.0)" }, \
	{ "public", "search_threads", CONFIG_UINT, "2", \
	  offsetof(T, search_threads), 0, 1, 16, NULL, NULL, \
	  "threads answering catalog searches, each with its own store " \
	  "connection" }, \
	{ "web", "root", CONFIG_PATH, NULL, offsetof(T, web_root), \
	  0, 0, 0, NULL, NULL, "directory of the static pages" }, \
	{ "log", "level", CONFIG_LEVEL, "info", offsetof(T, log_level), \
	  0, 0, 0, NULL, NULL, "error, warn, info or debug" }, \
	{ "limits", "max_frame", CONFIG_UINT, CONFIG_NUM(LIMIT_FRAME_BYTES), \
	  offsetof(T, max_frame), 0, LIMIT_FRAME_MIN, LIMIT_DECODE_BUDGET, \
	  "bytes", NULL, "largest websocket message (bigger: 1009)" }, \
	{ "limits", "ping_s", CONFIG_UINT, CONFIG_NUM(LIMIT_PING_S), \
	  offsetof(T, ping_s), 0, 1, 3600, "seconds", NULL, \
	  "ping a silent peer after this long" }, \
	{ "limits", "drop_s", CONFIG_UINT, CONFIG_NUM(LIMIT_DROP_S), \
	  offsetof(T, drop_s), 0, 1, 3600, "seconds", NULL, \
	  "drop a peer silent this long (more than ping_s)" }, \
	{ "bulletins", "keys", CONFIG_STRING, NULL, \
	  offsetof(T, bulletin_keys), 0, 0, 0, NULL, NULL, \
	  "pinned bulletin-signing public keys (PEM Ed25519), " \
	  "comma-separated; relative to this file; several while a key " \
	  "is rotated" }

/* The checks spanning two keys that both daemons have. */
#define CONFIG_COMMON_RULES \
	{ CONFIG_GREATER, "limits", "drop_s", "ping_s", NULL }, \
	{ CONFIG_TOGETHER, "public", "cert", "key", "for HTTPS" }

/* config_load: parse path against table into the struct at out, then
 * check its rules. Unknown sections or keys, bad values, values out of
 * bounds, missing required keys and broken rules are errors. Returns
 * ERR_OK, or ERR_INVALID / ERR_IO (ERR_FAIL: a rule naming a key the table
 * lacks) with "path:line: [section] key: reason" in err. On error out may
 * hold some parsed values: free it with config_free either way. */
int config_load(const char *path, const struct config_table *table,
		void *out, char *err, size_t errlen);

/* config_free: free the strings config_load stored in out and NULL them. */
void config_free(const struct config_table *table, void *out);

/* config_print_help: list every key, section by section, with its type
 * or unit, bounds, default and help. */
void config_print_help(const struct config_table *table, FILE *f);

#endif
