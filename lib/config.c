/* config.c: the table-driven INI loader (inih) behind both daemons' -c FILE.
 *
 * A daemon's static table of struct config_key says which [section] key
 * pairs exist, their types, defaults and checks; this file loads a file
 * against it and reports the first problem as "PATH:LINE: [section] key:
 * reason", or "PATH: ..." when no line is to blame.
 *
 * inih is fed through our own line reader rather than ini_parse(), because
 * the reader (a) counts physical lines, so the handler knows its line
 * number (Debian's inih is built without INI_HANDLER_LINENO); (b) strips
 * leading blanks, so an indented line is a key of its own and never a
 * multi-line continuation of the previous value; and (c) passes lines
 * longer than inih's fixed 200-byte buffer (INI_MAX_LINE) as "key=" and
 * keeps the value aside, so values up to LIMIT_CONFIG_VALUE work and longer
 * ones get a clear error instead of being cut silently. inih itself strips
 * an inline comment only when ';' follows a blank ("port = 1 ; note"), never
 * "a;b", and a line starting with ';' or '#' is a comment; this file keeps
 * the same rules for long lines.
 *
 * Bounds of numbers are columns of the table (min, max, unit), so one
 * message ("must be between 1 and 3600 seconds") and one --help line come
 * from them at either daemon; checks spanning two keys are rows of the
 * table's rules, run once the file and the defaults are in.
 *
 * Parts, in order: load state; value parsers by type; the table lookup and
 * inih handler; the line reader; the rules; config_load; config_free;
 * config_print_help. */
#include "config.h"

#include "err.h"
#include "alliance_limits.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Room for one reason ("'70000' is not a port (1-65535)"). */
#define CONFIG_REASON_MAX 256
/* How much of a bad value a reason quotes. */
#define CONFIG_QUOTE_MAX 64

/* ---- load state ------------------------------------------------------- */

/* One config_load call's state, passed to inih as its user pointer. */
struct config_ctx {
	char *dir;                     /* the file's directory, absolute;
					  malloc'd */
	const struct config_key *table; /* the daemon's keys */
	size_t n;                      /* how many */
	void *out;                     /* the daemon's struct */
	int *set_line;                 /* per key: line it was set on, 0 none */
	FILE *file;                    /* the open config file */
	char *buf;                     /* getline buffer; malloc'd */
	size_t buf_cap;                /* its size */
	int line;                      /* physical lines read so far */
	char *long_value;              /* value of a line too long for inih;
					  points into buf, or NULL */
	int long_line;                 /* the line long_value belongs to */
	int err_code;                  /* first error: ERR_*, 0 none */
	int err_line;                  /* its line, 0 when no line */
	char err_msg[4 * CONFIG_REASON_MAX]; /* "[section] key: reason" */
};

/* config_fail: record the first error only; later ones are consequences. */
static void config_fail(struct config_ctx *ctx, int code, int line,
			const char *section, const char *name,
			const char *reason)
{
	if (ctx->err_code)
		return;
	ctx->err_code = code;
	ctx->err_line = line;
	if (name)
		snprintf(ctx->err_msg, sizeof(ctx->err_msg), "[%s] %s: %s",
			 section, name, reason);
	else
		snprintf(ctx->err_msg, sizeof(ctx->err_msg), "%s", reason);
}

/* ---- value parsers ---------------------------------------------------- */

/* Each parser reads text into the field at field, or writes a reason into
 * reason (CONFIG_REASON_MAX bytes) and returns ERR_INVALID. String parsers
 * store a malloc'd copy, owned by the daemon's struct until config_free. */

static const char *const config_type_names[] = {
	[CONFIG_STRING] = "string",
	[CONFIG_PATH] = "path",
	[CONFIG_PATHS] = "paths",
	[CONFIG_PORT] = "port",
	[CONFIG_UINT] = "number",
	[CONFIG_BOOL] = "boolean",
	[CONFIG_LEVEL] = "level",
};

/* config_digits: 1 when text is one or more ASCII digits and nothing else,
 * so strtol never sees a sign, blank or base prefix. */
static int config_digits(const char *text)
{
	if (!*text)
		return 0;
	for (; *text; text++)
		if (!isdigit((unsigned char)*text))
			return 0;
	return 1;
}

static int config_parse_port(const char *text, int *field, char *reason)
{
	char *end;
	long v;

	if (!config_digits(text))
		goto bad;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		goto bad;
	*field = (int)v;
	return ERR_OK;
bad:
	snprintf(reason, CONFIG_REASON_MAX, "'%.*s' is not a port (1-65535)",
		 CONFIG_QUOTE_MAX, text);
	return ERR_INVALID;
}

static int config_parse_uint(const char *text, unsigned *field, char *reason)
{
	unsigned long long v;
	char *end;

	if (!config_digits(text))
		goto bad;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > UINT_MAX)
		goto bad;
	*field = (unsigned)v;
	return ERR_OK;
bad:
	snprintf(reason, CONFIG_REASON_MAX, "'%.*s' is not a whole number (0-%u)",
		 CONFIG_QUOTE_MAX, text, UINT_MAX);
	return ERR_INVALID;
}

static int config_parse_bool(const char *text, int *field, char *reason)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*field = 1;
			return ERR_OK;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*field = 0;
			return ERR_OK;
		}
	}
	snprintf(reason, CONFIG_REASON_MAX,
		 "'%.*s' is not a boolean (true/false, yes/no, on/off, 1/0)",
		 CONFIG_QUOTE_MAX, text);
	return ERR_INVALID;
}

static int config_parse_level(const char *text, int *field, char *reason)
{
	int level = log_level_parse(text);

	if (level < 0) {
		snprintf(reason, CONFIG_REASON_MAX,
			 "'%.*s' is not a log level (error, warn, info, debug)",
			 CONFIG_QUOTE_MAX, text);
		return ERR_INVALID;
	}
	*field = level;
	return ERR_OK;
}

/* config_parse_string: an empty value stores NULL ("not set"). A relative
 * PATH is joined to dir. Replaces (and frees) a value already there, so a
 * default can be overridden safely. */
static int config_parse_string(const struct config_key *key, const char *dir,
			       const char *text, char **field, char *reason)
{
	size_t len = strlen(text);
	char *copy;

	if (len > LIMIT_CONFIG_VALUE) {
		snprintf(reason, CONFIG_REASON_MAX,
			 "value is %zu bytes, longer than %u", len,
			 (unsigned)LIMIT_CONFIG_VALUE);
		return ERR_TOOBIG;
	}
	if (len == 0) {
		copy = NULL;
	} else if (key->type == CONFIG_PATH && text[0] != '/') {
		size_t dlen = strlen(dir);

		copy = malloc(dlen + 1 + len + 1);
		if (copy) {
			memcpy(copy, dir, dlen);
			copy[dlen] = '/';
			memcpy(copy + dlen + 1, text, len + 1);
		}
	} else {
		copy = strdup(text);
	}
	if (len && !copy) {
		snprintf(reason, CONFIG_REASON_MAX, "out of memory");
		return ERR_NOMEM;
	}
	free(*field);
	*field = copy;
	return ERR_OK;
}

/* config_parse_paths: a comma-separated list of paths (blanks around an
 * item and empty items dropped), each made absolute against dir, stored
 * joined by commas; an empty list stores NULL. The count must be within
 * key's min and max. */
static int config_parse_paths(const struct config_key *key, const char *dir,
			      const char *text, char **field, char *reason)
{
	size_t len = strlen(text), dlen = strlen(dir), used = 0;
	unsigned count = 0;
	char *out;
	const char *p = text;

	if (len > LIMIT_CONFIG_VALUE) {
		snprintf(reason, CONFIG_REASON_MAX,
			 "value is %zu bytes, longer than %u", len,
			 (unsigned)LIMIT_CONFIG_VALUE);
		return ERR_TOOBIG;
	}
	/* each item grows by at most dir and a '/' */
	out = malloc(len + (len / 2 + 1) * (dlen + 1) + 1);
	if (!out) {
		snprintf(reason, CONFIG_REASON_MAX, "out of memory");
		return ERR_NOMEM;
	}
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *item = p, *next = p[n] ? p + n + 1 : p + n;

		while (n && (*item == ' ' || *item == '\t')) {
			item++;
			n--;
		}
		while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
			n--;
		p = next;
		if (!n)
			continue;
		if (used)
			out[used++] = ',';
		if (item[0] != '/') {
			memcpy(out + used, dir, dlen);
			used += dlen;
			out[used++] = '/';
		}
		memcpy(out + used, item, n);
		used += n;
		count++;
	}
	out[used] = '\0';
	if (count && (count < key->min || count > key->max)) {
		snprintf(reason, CONFIG_REASON_MAX,
			 "%u paths; from %u to %u are allowed", count,
			 key->min, key->max);
		free(out);
		return ERR_INVALID;
	}
	free(*field);
	*field = count ? out : NULL;
	if (!count)
		free(out);
	return ERR_OK;
}

int config_paths_next(const char **cursor, char *path, size_t pathlen)
{
	const char *p = *cursor;
	size_t n;

	if (!p || !*p)
		return 0;
	n = strcspn(p, ",");
	*cursor = p[n] ? p + n + 1 : p + n;
	if (n >= pathlen) {
		snprintf(path, pathlen, "%s", "");
		return -1;
	}
	memcpy(path, p, n);
	path[n] = '\0';
	return 1;
}

/* config_bounds: the reason a number is outside key's min and max. */
static void config_bounds(const struct config_key *key, char *reason)
{
	const char *sep = key->unit ? " " : "";
	const char *unit = key->unit ? key->unit : "";

	if (key->max == UINT_MAX)
		snprintf(reason, CONFIG_REASON_MAX, "must be at least %u%s%s",
			 key->min, sep, unit);
	else
		snprintf(reason, CONFIG_REASON_MAX,
			 "must be between %u and %u%s%s", key->min, key->max,
			 sep, unit);
}

/* config_parse: parse text as key's type into its field in out, then hold
 * a number to its bounds and run the check (strings only when set).
 * Returns ERR_OK or an ERR_* code with reason filled. */
static int config_parse(const struct config_key *key, const char *dir,
			const char *text, void *out, char *reason)
{
	void *field = (char *)out + key->offset;
	const char *why;
	int rc;

	switch (key->type) {
	case CONFIG_STRING:
	case CONFIG_PATH:
	case CONFIG_PATHS:
		rc = key->type == CONFIG_PATHS
			? config_parse_paths(key, dir, text, field, reason)
			: config_parse_string(key, dir, text, field, reason);
		if (rc != ERR_OK || *(char **)field)
			break;
		if (key->required) {
			snprintf(reason, CONFIG_REASON_MAX,
				 "is required and must not be empty");
			return ERR_INVALID;
		}
		return ERR_OK;     /* not set: nothing to check */
	case CONFIG_PORT:
		rc = config_parse_port(text, field, reason);
		break;
	case CONFIG_UINT:
		rc = config_parse_uint(text, field, reason);
		if (rc == ERR_OK && (*(unsigned *)field < key->min ||
				     *(unsigned *)field > key->max)) {
			config_bounds(key, reason);
			return ERR_INVALID;
		}
		break;
	case CONFIG_BOOL:
		rc = config_parse_bool(text, field, reason);
		break;
	case CONFIG_LEVEL:
		rc = config_parse_level(text, field, reason);
		break;
	default:
		snprintf(reason, CONFIG_REASON_MAX, "unknown type %d in table",
			 (int)key->type);
		return ERR_FAIL;
	}
	if (rc != ERR_OK)
		return rc;
	if (key->check && (why = key->check(field)) != NULL) {
		snprintf(reason, CONFIG_REASON_MAX, "%s", why);
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* ---- table lookup and inih handler ------------------------------------ */

/* config_find: index of [section] name in the table, or -1. *section_known
 * says whether any key of that section exists. */
static long config_find(const struct config_ctx *ctx, const char *section,
			const char *name, int *section_known)
{
	*section_known = 0;
	for (size_t i = 0; i < ctx->n; i++) {
		if (strcmp(ctx->table[i].section, section) != 0)
			continue;
		*section_known = 1;
		if (strcmp(ctx->table[i].name, name) == 0)
			return (long)i;
	}
	return -1;
}

/* config_strip_inline: inih's rules for a long line's value: cut at a ';'
 * that follows a blank, then trim blanks on both ends. Edits value in
 * place and returns its new start. */
static char *config_strip_inline(char *value)
{
	char *end;

	for (char *p = value + 1; *p; p++)
		if (*p == ';' && isspace((unsigned char)p[-1])) {
			*p = '\0';
			break;
		}
	while (isspace((unsigned char)*value))
		value++;
	end = value + strlen(value);
	while (end > value && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return value;
}

/* config_handler: inih calls this for each key = value; the line is the
 * reader's count. Returns 1 to go on, 0 on an error (recorded in ctx). */
static int config_handler(void *user, const char *section, const char *name,
			  const char *value)
{
	struct config_ctx *ctx = user;
	char reason[CONFIG_REASON_MAX];
	int section_known, rc;
	long i;

	if (ctx->long_value && ctx->long_line == ctx->line)
		value = config_strip_inline(ctx->long_value);
	ctx->long_value = NULL;

	if (!*section) {
		snprintf(reason, sizeof(reason),
			 "key '%s' comes before any [section]", name);
		config_fail(ctx, ERR_INVALID, ctx->line, NULL, NULL, reason);
		return 0;
	}
	i = config_find(ctx, section, name, &section_known);
	if (i < 0) {
		snprintf(reason, sizeof(reason), "%s",
			 section_known ? "unknown key" : "unknown section");
		config_fail(ctx, ERR_INVALID, ctx->line, section, name,
			    reason);
		return 0;
	}
	if (ctx->set_line[i]) {
		snprintf(reason, sizeof(reason),
			 "duplicated key (first set on line %d)",
			 ctx->set_line[i]);
		config_fail(ctx, ERR_INVALID, ctx->line, section, name,
			    reason);
		return 0;
	}
	ctx->set_line[i] = ctx->line;
	rc = config_parse(&ctx->table[i], ctx->dir, value, ctx->out, reason);
	if (rc != ERR_OK) {
		config_fail(ctx, rc == ERR_NOMEM ? ERR_NOMEM : ERR_INVALID,
			    ctx->line, section, name, reason);
		return 0;
	}
	return 1;
}

/* ---- line reader ------------------------------------------------------ */

/* config_read_line: inih's fgets-style reader. Reads one physical line
 * into str (num bytes), counting lines and dropping leading blanks. A line
 * too long for str is passed as "key=" with the value kept in
 * ctx->long_value for the handler. Returns str, or NULL at the end, on a
 * read error or once an error is recorded (which stops inih). */
static char *config_read_line(char *str, int num, void *stream)
{
	struct config_ctx *ctx = stream;
	char *line, *sep;
	ssize_t got;
	size_t len;

	if (ctx->err_code || num < 4)
		return NULL;
	got = getline(&ctx->buf, &ctx->buf_cap, ctx->file);
	if (got < 0) {
		if (ferror(ctx->file)) {
			char reason[CONFIG_REASON_MAX];

			snprintf(reason, sizeof(reason), "cannot read: %s",
				 strerror(errno));
			config_fail(ctx, ERR_IO, 0, NULL, NULL, reason);
		}
		return NULL;
	}
	ctx->line++;
	line = ctx->buf;
	while (*line == ' ' || *line == '\t')
		line++;
	len = strlen(line);
	if (len < (size_t)num - 1) {
		memcpy(str, line, len + 1);
		return str;
	}

	/* Too long for inih's buffer. Comments may be any length. */
	if (*line == ';' || *line == '#') {
		snprintf(str, (size_t)num, ";\n");
		return str;
	}
	sep = strpbrk(line, "=:");
	if (*line == '[' || !sep || (size_t)(sep - line) + 3 > (size_t)num) {
		char reason[CONFIG_REASON_MAX];

		snprintf(reason, sizeof(reason), "line longer than %d bytes",
			 num - 3);
		config_fail(ctx, ERR_INVALID, ctx->line, NULL, NULL, reason);
		return NULL;
	}
	/* Hand inih "name=" and keep the value for the handler. */
	memcpy(str, line, (size_t)(sep - line) + 1);
	memcpy(str + (sep - line) + 1, "\n", 2);
	ctx->long_value = sep + 1;
	ctx->long_line = ctx->line;
	return str;
}

/* ---- the rules -------------------------------------------------------- */

/* config_rule_key: the index of rule's key name, or -1 after recording a
 * table error (a rule naming a key the table lacks, or of the wrong type:
 * the daemon's bug, found by its first start). */
static long config_rule_key(struct config_ctx *ctx,
			    const struct config_rule *rule, const char *name)
{
	char reason[CONFIG_REASON_MAX];
	int known;
	long i = config_find(ctx, rule->section, name, &known);
	int text = rule->kind == CONFIG_TOGETHER;

	if (i >= 0 && rule->kind == CONFIG_APART)
		return i;
	if (i >= 0 && (text ? ctx->table[i].type == CONFIG_STRING ||
		       ctx->table[i].type == CONFIG_PATH
		       : ctx->table[i].type == CONFIG_UINT))
		return i;
	snprintf(reason, sizeof(reason), "a rule of the table names this "
		 "key, which the table lacks or types otherwise");
	config_fail(ctx, ERR_FAIL, 0, rule->section, name, reason);
	return -1;
}

/* config_greater: the rule a > b on numbers at a and b (table indexes).
 * The error is at a's line when the file set a (or neither), else at b's. */
static void config_greater(struct config_ctx *ctx,
			   const struct config_rule *rule, long a, long b)
{
	char reason[CONFIG_REASON_MAX];
	const char *why = rule->why ? rule->why : "";
	const char *sep = rule->why ? " " : "";
	unsigned va = *(const unsigned *)((const char *)ctx->out +
					  ctx->table[a].offset);
	unsigned vb = *(const unsigned *)((const char *)ctx->out +
					  ctx->table[b].offset);

	if (va > vb)
		return;
	if (ctx->set_line[a] || !ctx->set_line[b]) {
		snprintf(reason, sizeof(reason), "must be greater than %s "
			 "(%u)%s%s", rule->b, vb, sep, why);
		config_fail(ctx, ERR_INVALID, ctx->set_line[a], rule->section,
			    rule->a, reason);
	} else {
		snprintf(reason, sizeof(reason), "must be less than %s "
			 "(%u)%s%s", rule->a, va, sep, why);
		config_fail(ctx, ERR_INVALID, ctx->set_line[b], rule->section,
			    rule->b, reason);
	}
}

/* config_together: the rule "both or neither" on text at a and b. The
 * error names the one that is set, at its line, and the one missing. */
static void config_together(struct config_ctx *ctx,
			    const struct config_rule *rule, long a, long b)
{
	char reason[CONFIG_REASON_MAX];
	const char *why = rule->why ? rule->why : "";
	const char *sep = rule->why ? " " : "";
	int a_set = *(char *const *)((const char *)ctx->out +
				     ctx->table[a].offset) != NULL;
	int b_set = *(char *const *)((const char *)ctx->out +
				     ctx->table[b].offset) != NULL;
	long set = a_set ? a : b, unset = a_set ? b : a;

	if (a_set == b_set)
		return;
	snprintf(reason, sizeof(reason), "must be set together with %s%s%s",
		 ctx->table[unset].name, sep, why);
	config_fail(ctx, ERR_INVALID, ctx->set_line[set], rule->section,
		    ctx->table[set].name, reason);
}

/* config_apart: the rule "not both" on keys a and b as the file gave
 * them (a default is not given). The error is at the later line. */
static void config_apart(struct config_ctx *ctx,
			 const struct config_rule *rule, long a, long b)
{
	char reason[CONFIG_REASON_MAX];
	const char *why = rule->why ? rule->why : "";
	const char *sep = rule->why ? "; " : "";
	long later = ctx->set_line[a] > ctx->set_line[b] ? a : b;
	long other = later == a ? b : a;

	if (!ctx->set_line[a] || !ctx->set_line[b])
		return;
	snprintf(reason, sizeof(reason), "cannot be given with %s (line "
		 "%d)%s%s", ctx->table[other].name, ctx->set_line[other], sep,
		 why);
	config_fail(ctx, ERR_INVALID, ctx->set_line[later], rule->section,
		    ctx->table[later].name, reason);
}

/* config_rule: check one rule against the loaded values. */
static void config_rule(struct config_ctx *ctx, const struct config_rule *rule)
{
	long a = config_rule_key(ctx, rule, rule->a);
	long b = a < 0 ? -1 : config_rule_key(ctx, rule, rule->b);

	if (b < 0)
		return;
	if (rule->kind == CONFIG_GREATER)
		config_greater(ctx, rule, a, b);
	else if (rule->kind == CONFIG_APART)
		config_apart(ctx, rule, a, b);
	else
		config_together(ctx, rule, a, b);
}

/* ---- config_load ------------------------------------------------------ */

/* config_dir: the absolute directory of the config file at path, malloc'd
 * (caller frees), or NULL with errno set. */
static char *config_dir(const char *path)
{
	char *real = realpath(path, NULL);
	char *slash;

	if (!real)
		return NULL;
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';       /* a file in "/" */
	else if (slash)
		*slash = '\0';
	return real;
}

/* config_defaults: after the file, fail on required keys it lacked and
 * fill the others' defaults through the same parsers. */
static void config_defaults(struct config_ctx *ctx)
{
	char reason[CONFIG_REASON_MAX];

	for (size_t i = 0; i < ctx->n && !ctx->err_code; i++) {
		const struct config_key *key = &ctx->table[i];
		char why[2 * CONFIG_REASON_MAX];
		int rc;

		if (ctx->set_line[i])
			continue;
		if (key->required) {
			snprintf(why, sizeof(why), "[%s] %s is required",
				 key->section, key->name);
			config_fail(ctx, ERR_INVALID, 0, NULL, NULL, why);
			continue;
		}
		if (!key->def)
			continue;
		rc = config_parse(key, ctx->dir, key->def, ctx->out, reason);
		if (rc != ERR_OK) {
			snprintf(why, sizeof(why), "default '%.*s': %s",
				 CONFIG_QUOTE_MAX, key->def, reason);
			config_fail(ctx, rc == ERR_NOMEM ? ERR_NOMEM :
				    ERR_INVALID, 0, key->section, key->name,
				    why);
		}
	}
}

/* config_check_ip: see config.h. */
const char *config_check_ip(const void *field)
{
	const char *s = *(char *const *)field;
	unsigned char buf[sizeof(struct in6_addr)];

	if (!s)
		return NULL;
	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return NULL;
	return "must be an IPv4 or IPv6 address";
}

const char *config_check_url(const void *field)
{
	const char *u = *(char *const *)field;
	size_t i, start;

	if (!u)
		return NULL;            /* unset: config_public_url's default */
	if (strncmp(u, "http://", 7) == 0)
		start = 7;
	else if (strncmp(u, "https://", 8) == 0)
		start = 8;
	else
		return "must be an absolute http:// or https:// URL";
	if (strlen(u) > LIMIT_PUBLIC_URL)
		return "must be at most 400 bytes";
	if (!u[start] || u[start] == '/' || u[start] == ':')
		return "must name a host after the scheme";
	for (i = start; u[i]; i++) {
		unsigned char ch = (unsigned char)u[i];

		/* RFC 3986 characters only; no query or fragment */
		if (ch <= 0x20 || ch >= 0x7f || strchr("\"<>\\^`{|}?#", ch))
			return "must be a URL without blanks, query or "
			       "fragment (percent-encode the rest)";
	}
	return NULL;
}

int config_public_url(char **url, const char *address, int port, int https)
{
	char host[256], buf[LIMIT_PUBLIC_URL + 64];
	size_t n;

	if (*url) {
		/* links append "/path": no trailing slash */
		for (n = strlen(*url); n > 8 && (*url)[n - 1] == '/'; n--)
			(*url)[n - 1] = '\0';
		return ERR_OK;
	}
	if (!address || !*address || strcmp(address, "0.0.0.0") == 0 ||
	    strcmp(address, "::") == 0) {
		if (gethostname(host, sizeof(host)) != 0 || !*host)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
	} else {
		snprintf(host, sizeof(host), strchr(address, ':') ? "[%s]" : "%s",
			 address);
	}
	snprintf(buf, sizeof(buf), "%s://%s:%d", https ? "https" : "http",
		 host, port);
	*url = strdup(buf);
	return *url ? ERR_OK : ERR_NOMEM;
}

/* config_load: see config.h. out must start zeroed (or config_free'd):
 * string fields already set are freed when replaced. Returns ERR_OK, or
 * ERR_IO (cannot open or read), ERR_INVALID (anything wrong inside,
 * over-long values too), ERR_NOMEM, or ERR_FAIL (a rule naming a key the
 * table lacks: the daemon's bug) with the message in err; the caller
 * frees out with config_free either way. */
int config_load(const char *path, const struct config_table *table,
		void *out, char *err, size_t errlen)
{
	struct config_ctx ctx = {
		.table = table->keys, .n = table->n_keys, .out = out,
	};
	int rc;

	if (errlen)
		err[0] = '\0';
	ctx.file = fopen(path, "r");
	if (!ctx.file) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		return ERR_IO;
	}
	ctx.dir = config_dir(path);
	if (!ctx.dir) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		rc = ERR_IO;
		goto err;
	}
	ctx.set_line = calloc(ctx.n ? ctx.n : 1, sizeof(*ctx.set_line));
	if (!ctx.set_line) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = ERR_NOMEM;
		goto err;
	}

	rc = ini_parse_stream(config_read_line, &ctx, config_handler, &ctx);
	/* A syntax error (no handler call) before any recorded error: inih
	 * counts one reader call per line, as we do, so rc is the line. */
	if (rc > 0 && (!ctx.err_code || (ctx.err_line && rc < ctx.err_line))) {
		ctx.err_code = 0;
		config_fail(&ctx, ERR_INVALID, rc, NULL, NULL,
			    "syntax error (expected [section] or key = value)");
	} else if (rc < 0 && !ctx.err_code) {
		config_fail(&ctx, rc == -2 ? ERR_NOMEM : ERR_IO, 0, NULL, NULL,
			    "cannot parse the file");
	}
	if (!ctx.err_code)
		config_defaults(&ctx);
	for (size_t i = 0; i < table->n_rules && !ctx.err_code; i++)
		config_rule(&ctx, &table->rules[i]);

	rc = ctx.err_code;
	if (rc && ctx.err_line)
		snprintf(err, errlen, "%s:%d: %s", path, ctx.err_line,
			 ctx.err_msg);
	else if (rc)
		snprintf(err, errlen, "%s: %s", path, ctx.err_msg);
err:
	free(ctx.set_line);
	free(ctx.buf);
	free(ctx.dir);
	fclose(ctx.file);
	return rc;
}

/* ---- config_free ------------------------------------------------------ */

/* config_free: free every STRING and PATH field of out and set it to NULL;
 * other fields are left as they are. Safe to call twice. */
void config_free(const struct config_table *table, void *out)
{
	for (size_t i = 0; i < table->n_keys; i++) {
		const struct config_key *key = &table->keys[i];
		char **field;

		if (key->type != CONFIG_STRING && key->type != CONFIG_PATH &&
		    key->type != CONFIG_PATHS)
			continue;
		field = (char **)((char *)out + key->offset);
		free(*field);
		*field = NULL;
	}
}

/* ---- config_print_help ------------------------------------------------ */

/* config_kind: "(seconds 1-3600, default 20" and the like for key, into
 * buf: its unit or type, its bounds, its default. */
static void config_kind(const struct config_key *key, char *buf, size_t size)
{
	const char *type = (unsigned)key->type <
		sizeof(config_type_names) / sizeof(config_type_names[0])
		? config_type_names[key->type] : "?";
	int n;

	if (key->type == CONFIG_UINT && key->unit)
		type = key->unit;
	n = snprintf(buf, size, "(%s", type);
	if (key->type == CONFIG_PORT)
		n += snprintf(buf + n, size - (size_t)n, " 1-65535");
	else if (key->type == CONFIG_UINT && key->max == UINT_MAX && key->min)
		n += snprintf(buf + n, size - (size_t)n, " >= %u", key->min);
	else if ((key->type == CONFIG_UINT || key->type == CONFIG_PATHS) &&
		 key->max != UINT_MAX)
		n += snprintf(buf + n, size - (size_t)n, " %u-%u", key->min,
			      key->max);
	if (key->required)
		snprintf(buf + n, size - (size_t)n, ", required");
	else if (key->def)
		snprintf(buf + n, size - (size_t)n, ", default %s", key->def);
	else
		snprintf(buf + n, size - (size_t)n, ", no default");
}

/* config_print_help: one line per key, grouped by section in the order
 * the sections first appear in the table, then in table order:
 *   "  [section] key (unit or type[ bounds], default X): help"
 * with "required" or "no default" in place of the default. Writes to f. */
void config_print_help(const struct config_table *table, FILE *f)
{
	const struct config_key *keys = table->keys;
	char kind[CONFIG_REASON_MAX];

	for (size_t s = 0; s < table->n_keys; s++) {
		size_t first = 0;

		while (strcmp(keys[first].section, keys[s].section) != 0)
			first++;
		if (first != s)
			continue;      /* this section is printed already */
		for (size_t i = s; i < table->n_keys; i++) {
			if (strcmp(keys[i].section, keys[s].section) != 0)
				continue;
			config_kind(&keys[i], kind, sizeof(kind));
			fprintf(f, "  [%s] %s %s): %s\n", keys[i].section,
				keys[i].name, kind,
				keys[i].help ? keys[i].help : "");
		}
	}
}
