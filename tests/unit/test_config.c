/* test_config.c: unit tests of lib/config.c, the table-driven INI loader,
 * and of the daemons' own tables (hub/config.c, node/config.c, linked in).
 *
 * Each test writes a config file into a fresh mkdtemp directory and loads
 * it against the table below, or the hub's and the node's, checking either
 * the values or the exact "file:LINE: [section] key" at the start of the
 * error. The daemons' tables are held to their bounds at every edge, and
 * a key both have must be refused with the same message at both.
 *
 * Parts, in order: the test table and struct; helpers (temp dir, writing
 * files, expecting an error); tests of good files; tests of bad files;
 * tests of the daemons' tables; main. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "hub.h"
#include "alliance_limits.h"
#include "log.h"
/* Both daemons' internal headers declare a sync_wake of their own; this
 * file calls neither, so the node's is renamed here to let both in. */
#define sync_wake node_sync_wake
#include "node.h"
#undef sync_wake
#include "tmpdir.h"

/* ---- table ------------------------------------------------------------ */

struct test_cfg {
	char *name;        /* [main] name, required */
	char *store;       /* [main] store, path with a default */
	char *note;        /* [main] note, optional, checked: no spaces */
	int port;          /* [net] port, default 8080 */
	unsigned count;    /* [net] count, default 3 */
	int tls;           /* [net] tls, bool, default no */
	int level;         /* [log] level, default info */
	unsigned wait;     /* [net] wait, 1-3600 seconds, default 10 */
	unsigned after;    /* [net] after, 0-UINT_MAX, > wait */
	char *cert;        /* [tls] cert, set together with key */
	char *key;         /* [tls] key */
};

static const char *check_no_space(const void *field)
{
	const char *s = *(char *const *)field;

	return strchr(s, ' ') ? "must not contain spaces" : NULL;
}

#define F(x) offsetof(struct test_cfg, x)

static const struct config_key keys[] = {
	{ "main", "name", CONFIG_STRING, NULL, F(name), 1, 0, 0, NULL, NULL,
	  "display name" },
	{ "main", "store", CONFIG_PATH, "data/store.db", F(store), 0, 0, 0,
	  NULL, NULL, "sqlite file" },
	{ "main", "note", CONFIG_STRING, NULL, F(note), 0, 0, 0, NULL,
	  check_no_space, "a word" },
	{ "net", "port", CONFIG_PORT, "8080", F(port), 0, 0, 0, NULL, NULL,
	  "listening port" },
	{ "net", "count", CONFIG_UINT, "3", F(count), 0, 0, UINT_MAX, NULL,
	  NULL, "how many" },
	{ "net", "tls", CONFIG_BOOL, "no", F(tls), 0, 0, 0, NULL, NULL,
	  "serve HTTPS" },
	{ "log", "level", CONFIG_LEVEL, "info", F(level), 0, 0, 0, NULL, NULL,
	  "lowest level logged" },
	{ "net", "wait", CONFIG_UINT, "10", F(wait), 0, 1, 3600, "seconds",
	  NULL, "how long" },
	{ "net", "after", CONFIG_UINT, "20", F(after), 0, 2, UINT_MAX, NULL,
	  NULL, "later" },
	{ "tls", "cert", CONFIG_PATH, NULL, F(cert), 0, 0, 0, NULL, NULL,
	  "certificate" },
	{ "tls", "key", CONFIG_PATH, NULL, F(key), 0, 0, 0, NULL, NULL,
	  "its key" },
};

#undef F

static const struct config_rule rules[] = {
	{ CONFIG_GREATER, "net", "after", "wait", NULL },
	{ CONFIG_TOGETHER, "tls", "cert", "key", "for HTTPS" },
};

static const struct config_table table = {
	keys, sizeof(keys) / sizeof(keys[0]),
	rules, sizeof(rules) / sizeof(rules[0]),
};

/* ---- helpers ---------------------------------------------------------- */

static char tmpdir[256];      /* realpath of this run's mkdtemp directory */
static char conf[512];        /* tmpdir/test.conf */
static char err[1024];        /* the last error message */

static int setup_dir(void **state)
{
	(void)state;
	if (tmpdir_make("test_config", tmpdir, sizeof(tmpdir)))
		return -1;
	snprintf(conf, sizeof(conf), "%s/test.conf", tmpdir);
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	return tmpdir_remove(tmpdir);
}

/* write_conf: write text to conf, replacing what was there. */
static void write_conf(const char *text)
{
	FILE *f = fopen(conf, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* load: load conf into a zeroed *cfg; returns config_load's code. */
static int load(struct test_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	return config_load(conf, &table, cfg, err, sizeof(err));
}

/* expect_error: loading text fails with code and err starts with
 * "conf:LINE: " followed by where (or "conf: " + where if line is 0), and
 * contains also (when not NULL). */
static void expect_error(const char *text, int code, int line,
			 const char *where, const char *also)
{
	struct test_cfg cfg;
	char want[1024];

	write_conf(text);
	assert_int_equal(load(&cfg), code);
	if (line)
		snprintf(want, sizeof(want), "%s:%d: %s", conf, line, where);
	else
		snprintf(want, sizeof(want), "%s: %s", conf, where);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want a start \"%s\"", err, want);
	if (also && !strstr(err, also))
		fail_msg("got \"%s\", want \"%s\" in it", err, also);
	config_free(&table, &cfg);
	assert_null(cfg.name);
	assert_null(cfg.store);
}

/* ---- good files ------------------------------------------------------- */

static void test_all_types(void **state)
{
	struct test_cfg cfg;

	(void)state;
	write_conf("; a comment\n"
		   "# another\n"
		   "[main]\n"
		   "name = 八大关街道\n"
		   "store = /var/lib/alliance/x.db\n"
		   "note = word\n"
		   "\n"
		   "[net]\n"
		   "port = 7443\n"
		   "count = 4294967295\n"
		   "tls = YES\n"
		   "[log]\n"
		   "level = debug\n");
	assert_int_equal(load(&cfg), ERR_OK);
	assert_string_equal(cfg.name, "八大关街道");
	assert_string_equal(cfg.store, "/var/lib/alliance/x.db");
	assert_string_equal(cfg.note, "word");
	assert_int_equal(cfg.port, 7443);
	assert_int_equal(cfg.count, 4294967295u);
	assert_int_equal(cfg.tls, 1);
	assert_int_equal(cfg.level, LOG_DEBUG);
	config_free(&table, &cfg);
	assert_null(cfg.name);
	assert_null(cfg.note);
}

static void test_bools(void **state)
{
	static const struct { const char *text; int want; } cases[] = {
		{ "true", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 },
		{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
		{ "On", 1 }, { "FALSE", 0 },
	};
	char text[128];
	struct test_cfg cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[main]\nname = x\n[net]\n"
			 "tls = %s\n", cases[i].text);
		write_conf(text);
		assert_int_equal(load(&cfg), ERR_OK);
		assert_int_equal(cfg.tls, cases[i].want);
		config_free(&table, &cfg);
	}
}

static void test_defaults(void **state)
{
	struct test_cfg cfg;
	char want[600];

	(void)state;
	write_conf("[main]\nname = n\n");
	assert_int_equal(load(&cfg), ERR_OK);
	assert_string_equal(cfg.name, "n");
	snprintf(want, sizeof(want), "%s/data/store.db", tmpdir);
	assert_string_equal(cfg.store, want);   /* defaults resolve too */
	assert_null(cfg.note);
	assert_int_equal(cfg.port, 8080);
	assert_int_equal(cfg.count, 3);
	assert_int_equal(cfg.tls, 0);
	assert_int_equal(cfg.level, LOG_INFO);
	config_free(&table, &cfg);
}

static void test_relative_path(void **state)
{
	struct test_cfg cfg;
	char want[600], cwd[512];

	(void)state;
	write_conf("[main]\nname = n\nstore = sub/dir/x.db\n");
	assert_int_equal(load(&cfg), ERR_OK);
	snprintf(want, sizeof(want), "%s/sub/dir/x.db", tmpdir);
	assert_string_equal(cfg.store, want);
	config_free(&table, &cfg);

	/* The config file itself named relative to the working directory. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(config_load("test.conf", &table, &cfg, err,
				     sizeof(err)), ERR_OK);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(cfg.store, want);
	config_free(&table, &cfg);
}

/* A table of one CONFIG_PATHS key, 1 to 3 paths. */
struct paths_cfg {
	char *files;
};

static const struct config_key paths_keys[] = {
	{ "main", "files", CONFIG_PATHS, NULL,
	  offsetof(struct paths_cfg, files), 1, 1, 3, NULL, NULL, "files" },
};

static const struct config_table paths_table = {
	paths_keys, 1, NULL, 0,
};

/* paths_load: load text with paths_table; config_load's code. */
static int paths_load(const char *text, struct paths_cfg *cfg)
{
	write_conf(text);
	memset(cfg, 0, sizeof(*cfg));
	return config_load(conf, &paths_table, cfg, err, sizeof(err));
}

static void test_paths_list(void **state)
{
	struct paths_cfg cfg;
	const char *cursor;
	char want[600], path[600];

	(void)state;
	/* blanks and empty items dropped; relative ones made absolute */
	assert_int_equal(paths_load("[main]\nfiles = a.crl , /abs/b.crl,,"
				    "\t sub/c.crl\n", &cfg), ERR_OK);
	snprintf(want, sizeof(want), "%s/a.crl,/abs/b.crl,%s/sub/c.crl",
		 tmpdir, tmpdir);
	assert_string_equal(cfg.files, want);
	cursor = cfg.files;
	assert_int_equal(config_paths_next(&cursor, path, sizeof(path)), 1);
	snprintf(want, sizeof(want), "%s/a.crl", tmpdir);
	assert_string_equal(path, want);
	assert_int_equal(config_paths_next(&cursor, path, sizeof(path)), 1);
	assert_string_equal(path, "/abs/b.crl");
	assert_int_equal(config_paths_next(&cursor, path, sizeof(path)), 1);
	assert_int_equal(config_paths_next(&cursor, path, sizeof(path)), 0);
	/* a path longer than the caller's buffer */
	cursor = cfg.files;
	assert_int_equal(config_paths_next(&cursor, path, 4), -1);
	config_free(&paths_table, &cfg);
	assert_null(cfg.files);

	/* the count's bounds, and a list of nothing */
	assert_int_equal(paths_load("[main]\nfiles = a,b,c,d\n", &cfg),
			 ERR_INVALID);
	assert_non_null(strstr(err, "[main] files: 4 paths; from 1 to 3 are "
				    "allowed"));
	config_free(&paths_table, &cfg);
	assert_int_equal(paths_load("[main]\nfiles = , ,\n", &cfg),
			 ERR_INVALID);
	assert_non_null(strstr(err, "[main] files: is required"));
	config_free(&paths_table, &cfg);
}

static void test_inline_comments(void **state)
{
	struct test_cfg cfg;

	(void)state;
	write_conf("[main]\n"
		   "name = a b   ; the display name\n"
		   "note = x;y\n"
		   "[net]\n"
		   "port = 7443        ; the mutual-TLS port\n"
		   "   count = 5\n"           /* indented: a key, not more */
		   "tls=on\n");
	assert_int_equal(load(&cfg), ERR_OK);
	assert_string_equal(cfg.name, "a b");
	assert_string_equal(cfg.note, "x;y");  /* ';' not after a blank */
	assert_int_equal(cfg.port, 7443);
	assert_int_equal(cfg.count, 5);
	assert_int_equal(cfg.tls, 1);
	config_free(&table, &cfg);
}

/* A value longer than inih's 200-byte line buffer, up to the limit. */
static void test_long_value(void **state)
{
	size_t len = LIMIT_CONFIG_VALUE;
	char *text = malloc(len + 128);
	struct test_cfg cfg;
	int n;

	(void)state;
	assert_non_null(text);
	n = snprintf(text, len + 128, "[main]\nname = ");
	memset(text + n, 'v', len);
	snprintf(text + n + len, 128, "   ; comment\n[net]\nport = 1\n");
	write_conf(text);
	assert_int_equal(load(&cfg), ERR_OK);
	assert_int_equal(strlen(cfg.name), len);
	assert_int_equal(cfg.name[len - 1], 'v');
	assert_int_equal(cfg.port, 1);
	config_free(&table, &cfg);

	/* Lines are counted right after a long one. */
	snprintf(text + n + len, 128, "\n[net]\nport = 0\n");
	expect_error(text, ERR_INVALID, 4, "[net] port: '0' is not a port",
		     NULL);
	free(text);
}

static void test_print_help(void **state)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	(void)state;
	assert_non_null(f);
	config_print_help(&table, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "  [net] port (port 1-65535, default "
			       "8080): listening port\n"));
	assert_non_null(strstr(buf, "  [net] wait (seconds 1-3600, default "
			       "10): how long\n"));
	assert_non_null(strstr(buf, "  [net] after (number >= 2, default "
			       "20): later\n"));
	assert_non_null(strstr(buf, "  [net] count (number, default 3): "));
	/* grouped by section: [log] level after every [net] key */
	assert_true(strstr(buf, "[net] after") < strstr(buf, "[log] level"));
	assert_non_null(strstr(buf, "  [main] name (string, required): "
			       "display name\n"));
	assert_non_null(strstr(buf, "  [main] note (string, no default): "));
	free(buf);
}

/* ---- bad files -------------------------------------------------------- */

static void test_bad_values(void **state)
{
	static const struct {
		const char *line;    /* goes on line 4 */
		const char *where;
	} cases[] = {
		{ "port = 70000", "[net] port: '70000' is not a port (1-65535)" },
		{ "port = 0", "[net] port: '0' is not a port" },
		{ "port = -1", "[net] port: '-1' is not a port" },
		{ "port = +80", "[net] port: '+80' is not a port" },
		{ "port = 80x", "[net] port: '80x' is not a port" },
		{ "port = 0x50", "[net] port: '0x50' is not a port" },
		{ "port =", "[net] port: '' is not a port" },
		{ "port = 99999999999999999999", "[net] port: " },
		{ "count = -1", "[net] count: '-1' is not a whole number" },
		{ "count = 4294967296", "[net] count: '4294967296' is not" },
		{ "count = 1.5", "[net] count: '1.5' is not a whole number" },
		{ "tls = maybe", "[net] tls: 'maybe' is not a boolean" },
		{ "tls = ", "[net] tls: '' is not a boolean" },
	};
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[main]\nname = x\n[net]\n%s\n"
			 "port = 1\n", cases[i].line);
		expect_error(text, ERR_INVALID, 4, cases[i].where, NULL);
	}
	expect_error("[main]\nname = x\n[log]\nlevel = loud\n", ERR_INVALID,
		     4, "[log] level: 'loud' is not a log level", NULL);
}

static void test_check_fails(void **state)
{
	(void)state;
	expect_error("[main]\nname = x\n\nnote = two words\n", ERR_INVALID,
		     4, "[main] note: must not contain spaces", NULL);
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_error("[main]\nname = x\nnmae = y\n", ERR_INVALID, 3,
		     "[main] nmae: unknown key", NULL);
}

static void test_unknown_section(void **state)
{
	(void)state;
	expect_error("[main]\nname = x\n[pubilc]\nport = 1\n", ERR_INVALID,
		     4, "[pubilc] port: unknown section", NULL);
	expect_error("name = x\n[main]\n", ERR_INVALID, 1,
		     "key 'name' comes before any [section]", NULL);
}

static void test_duplicate_key(void **state)
{
	(void)state;
	expect_error("[main]\nname = x\n[net]\nport = 1\n[main]\nname = y\n",
		     ERR_INVALID, 6, "[main] name: duplicated key",
		     "first set on line 2");
}

static void test_missing_required(void **state)
{
	(void)state;
	expect_error("[net]\nport = 1\n", ERR_INVALID, 0,
		     "[main] name is required", NULL);
	expect_error("[main]\nname =\n", ERR_INVALID, 2,
		     "[main] name: is required", NULL);
}

static void test_syntax_error(void **state)
{
	(void)state;
	expect_error("[main]\nname = x\nthis line has no equals\n",
		     ERR_INVALID, 3, "syntax error", NULL);
	expect_error("[main]\nname = x\n[net\nport = 1\n", ERR_INVALID, 3,
		     "syntax error", NULL);
	/* The first error wins, even when a later key is bad too. */
	expect_error("[main]\nname = x\nbroken\n[net]\nport = 0\n",
		     ERR_INVALID, 3, "syntax error", NULL);
	expect_error("[main]\nname = x\n[net]\nport = 0\nbroken\n",
		     ERR_INVALID, 4, "[net] port: '0'", NULL);
}

static void test_missing_file(void **state)
{
	struct test_cfg cfg = { 0 };
	char path[600];

	(void)state;
	snprintf(path, sizeof(path), "%s/nope.conf", tmpdir);
	assert_int_equal(config_load(path, &table, &cfg, err,
				     sizeof(err)), ERR_IO);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ": cannot open: No such file"));
	config_free(&table, &cfg);

	/* A directory opens but cannot be read as a file. */
	assert_int_equal(config_load(tmpdir, &table, &cfg, err,
				     sizeof(err)), ERR_IO);
	config_free(&table, &cfg);
}

static void test_too_long(void **state)
{
	size_t len = LIMIT_CONFIG_VALUE + 1;
	char *text = malloc(len + 64);
	int n;

	(void)state;
	assert_non_null(text);
	n = snprintf(text, len + 64, "[main]\nname = ");
	memset(text + n, 'v', len);
	snprintf(text + n + len, 64, "\n");
	expect_error(text, ERR_INVALID, 2, "[main] name: value is 1025 bytes",
		     NULL);

	/* Too long for a key line: a long [section] header. */
	n = snprintf(text, len + 64, "[main]\nname = x\n[");
	memset(text + n, 's', len);
	snprintf(text + n + len, 64, "]\n");
	expect_error(text, ERR_INVALID, 3, "line longer than", NULL);
	free(text);
}

/* Numbers are held to the min and max columns, both included. */
static void test_bounds(void **state)
{
	struct test_cfg cfg;

	(void)state;
	write_conf("[main]\nname = x\n[net]\nwait = 1\nafter = 4294967295\n");
	assert_int_equal(load(&cfg), ERR_OK);
	assert_int_equal(cfg.wait, 1);
	assert_int_equal(cfg.after, 4294967295u);
	config_free(&table, &cfg);
	write_conf("[main]\nname = x\n[net]\nwait = 3600\nafter = 3601\n");
	assert_int_equal(load(&cfg), ERR_OK);
	assert_int_equal(cfg.wait, 3600);
	config_free(&table, &cfg);

	expect_error("[main]\nname = x\n[net]\nwait = 0\n", ERR_INVALID, 4,
		     "[net] wait: must be between 1 and 3600 seconds", NULL);
	expect_error("[main]\nname = x\n[net]\nwait = 3601\n", ERR_INVALID, 4,
		     "[net] wait: must be between 1 and 3600 seconds", NULL);
	expect_error("[main]\nname = x\n[net]\nafter = 1\n", ERR_INVALID, 4,
		     "[net] after: must be at least 2", NULL);
}

/* Rules: a > b and a pair set together; the error names the line of the
 * key the file set. */
static void test_rules(void **state)
{
	struct test_cfg cfg;

	(void)state;
	expect_error("[main]\nname = x\n[net]\nwait = 30\n", ERR_INVALID, 4,
		     "[net] wait: must be less than after (20)", NULL);
	expect_error("[main]\nname = x\n[net]\nafter = 10\n", ERR_INVALID, 4,
		     "[net] after: must be greater than wait (10)", NULL);
	expect_error("[main]\nname = x\n[net]\nwait = 5\nafter = 5\n",
		     ERR_INVALID, 5, "[net] after: must be greater than wait "
		     "(5)", NULL);
	expect_error("[main]\nname = x\n[tls]\ncert = c.pem\n", ERR_INVALID,
		     4, "[tls] cert: must be set together with key for HTTPS",
		     NULL);
	expect_error("[main]\nname = x\n[tls]\n\nkey = k.pem\n", ERR_INVALID,
		     5, "[tls] key: must be set together with cert for HTTPS",
		     NULL);
	write_conf("[main]\nname = x\n[net]\nwait = 5\nafter = 6\n[tls]\n"
		   "cert = c\nkey = k\n");
	assert_int_equal(load(&cfg), ERR_OK);
	assert_non_null(cfg.cert);
	assert_non_null(cfg.key);
	config_free(&table, &cfg);
}

/* Two forms of one setting: both given in the file is refused at the
 * later line, naming the other's; a default does not count as given. */
static void test_rule_apart(void **state)
{
	static const struct config_rule apart[] = {
		{ CONFIG_APART, "net", "port", "note", "one or the other" },
	};
	static const struct config_key apart_keys[] = {
		{ "net", "port", CONFIG_PORT, "8080", offsetof(struct test_cfg,
		  port), 0, 0, 0, NULL, NULL, "port" },
		{ "net", "note", CONFIG_STRING, NULL, offsetof(struct test_cfg,
		  note), 0, 0, 0, NULL, NULL, "a word" },
	};
	struct config_table t = { apart_keys, 2, apart, 1 };
	struct test_cfg cfg = { 0 };

	(void)state;
	write_conf("[net]\nnote = x\n");      /* port's default: no matter */
	assert_int_equal(config_load(conf, &t, &cfg, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(cfg.port, 8080);
	config_free(&t, &cfg);
	write_conf("[net]\nnote = x\n\nport = 9000\n");
	assert_int_equal(config_load(conf, &t, &cfg, err, sizeof(err)),
			 ERR_INVALID);
	assert_non_null(strstr(err, ":4: [net] port: cannot be given with "
			       "note (line 2); one or the other"));
	config_free(&t, &cfg);
}

/* A rule naming a key the table lacks is the table's bug: ERR_FAIL. */
static void test_rule_bad_table(void **state)
{
	static const struct config_rule bad[] = {
		{ CONFIG_GREATER, "net", "after", "nothing", NULL },
	};
	struct config_table t = { keys, sizeof(keys) / sizeof(keys[0]),
				  bad, 1 };
	struct test_cfg cfg = { 0 };

	(void)state;
	write_conf("[main]\nname = x\n");
	assert_int_equal(config_load(conf, &t, &cfg, err, sizeof(err)),
			 ERR_FAIL);
	assert_non_null(strstr(err, "[net] nothing: a rule"));
	config_free(&t, &cfg);
}

/* ---- the daemons' tables ---------------------------------------------- */

/* The example configs, relative to the tree's root (make unit runs there). */
#define ALLIANCE_EXAMPLES "deploy/examples"

/* The lines each daemon requires, after which a key under test goes. */
static const char hub_required[] =
	"[alliance]\ncert = c\nkey = k\nca = a\ncrl = r\n";
static const char node_required[] =
	"[node]\ncommunity = abc\n[hub]\nhost = h\ncert = c\nkey = k\n"
	"ca = a\n";

/* One daemon: its table, its required lines and a struct to load into. */
struct daemon_case {
	const char *name;
	const struct config_table *table;
	const char *required;
	size_t size;               /* of its config struct */
};

static const struct daemon_case daemons[] = {
	{ "hub", &hub_config_table, hub_required, sizeof(struct hub_config) },
	{ "node", &node_config_table, node_required,
	  sizeof(struct node_config) },
};

/* load_daemon: write "[section]\nname = value\n" and the daemon's
 * required lines (so a bad value is always on line 2), load it against
 * table into a fresh struct, free it. Returns config_load's code; the
 * message is in err. With want non-NULL, the loaded field must equal it. */
static int load_daemon(const struct daemon_case *d,
		       const struct config_table *t,
		       const struct config_key *key, const char *value,
		       const unsigned *want)
{
	char text[1024];
	void *cfg = calloc(1, d->size);
	int rc;

	assert_non_null(cfg);
	snprintf(text, sizeof(text), "[%s]\n%s = %s\n%s", key->section,
		 key->name, value, d->required);
	write_conf(text);
	rc = config_load(conf, t, cfg, err, sizeof(err));
	if (rc == ERR_OK && want)
		assert_int_equal(*(unsigned *)((char *)cfg + key->offset),
				 *want);
	config_free(t, cfg);
	free(cfg);
	return rc;
}

/* find_key: [section] name in table, or NULL. */
static const struct config_key *find_key(const struct config_table *t,
					 const char *section, const char *name)
{
	for (size_t i = 0; i < t->n_keys; i++)
		if (strcmp(t->keys[i].section, section) == 0 &&
		    strcmp(t->keys[i].name, name) == 0)
			return &t->keys[i];
	return NULL;
}

/* Every number of either daemon: min and max accepted, min-1 and max+1
 * refused on their line with the bounds in the message (rules aside). */
static void test_daemon_bounds_edges(void **state)
{
	char value[32], want[1024];
	size_t tested = 0;

	(void)state;
	for (size_t d = 0; d < 2; d++) {
		struct config_table t = *daemons[d].table;

		t.n_rules = 0;
		for (size_t i = 0; i < t.n_keys; i++) {
			const struct config_key *k = &t.keys[i];

			if (k->type != CONFIG_UINT)
				continue;
			tested++;
			assert_true(k->min <= k->max);
			snprintf(value, sizeof(value), "%u", k->min);
			if (load_daemon(&daemons[d], &t, k, value, &k->min))
				fail_msg("%s: %s", daemons[d].name, err);
			snprintf(value, sizeof(value), "%u", k->max);
			if (load_daemon(&daemons[d], &t, k, value, &k->max))
				fail_msg("%s: %s", daemons[d].name, err);
			snprintf(want, sizeof(want), "%s:2: [%s] %s: must be ",
				 conf, k->section, k->name);
			if (k->min > 0) {
				snprintf(value, sizeof(value), "%u", k->min - 1);
				assert_int_equal(load_daemon(&daemons[d], &t, k,
							     value, NULL),
						 ERR_INVALID);
				if (strncmp(err, want, strlen(want)) != 0)
					fail_msg("got \"%s\"", err);
			}
			if (k->max < UINT_MAX) {
				snprintf(value, sizeof(value), "%u", k->max + 1);
				assert_int_equal(load_daemon(&daemons[d], &t, k,
							     value, NULL),
						 ERR_INVALID);
				if (strncmp(err, want, strlen(want)) != 0)
					fail_msg("got \"%s\"", err);
			}
		}
	}
	assert_true(tested >= 15);
}

/* A key both daemons have takes the same values and refuses the same ones
 * with the same message, at every edge of its bounds and for values of
 * the wrong kind. */
static void test_shared_keys_same_message(void **state)
{
	static const char *const values[] = {
		"", "x", "-1", "0", "1", "2", "16", "17", "3600", "3601",
		"262143", "262144", "8388608", "8388609", "4294967296",
		"127.0.0.1", "::1", "localhost", "debug", "yes",
	};
	const struct config_table *hub = &hub_config_table;
	char hub_err[1024];
	size_t shared = 0;

	(void)state;
	for (size_t i = 0; i < hub->n_keys; i++) {
		const struct config_key *hk = &hub->keys[i];
		const struct config_key *nk = find_key(&node_config_table,
						       hk->section, hk->name);
		char value[32];

		if (!nk || strcmp(hk->section, "store") == 0)
			continue;      /* the store's default is the role's */
		shared++;
		assert_int_equal(hk->type, nk->type);
		assert_int_equal(hk->min, nk->min);
		assert_int_equal(hk->max, nk->max);
		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]) + 4;
		     v++) {
			const char *text = value;
			int hrc, nrc;

			if (v < sizeof(values) / sizeof(values[0]))
				text = values[v];
			else if (v % 2 == 0)      /* the key's own edges */
				snprintf(value, sizeof(value), "%u",
					 v % 4 ? hk->max : hk->min);
			else
				snprintf(value, sizeof(value), "%llu",
					 v % 4 == 1 ? (unsigned long long)
					 hk->min - 1 : (unsigned long long)
					 hk->max + 1);
			hrc = load_daemon(&daemons[0], hub, hk, text, NULL);
			snprintf(hub_err, sizeof(hub_err), "%s", err);
			nrc = load_daemon(&daemons[1], &node_config_table, nk,
					  text, NULL);
			if (hrc != nrc || strcmp(hub_err, err) != 0)
				fail_msg("[%s] %s = %s: hub %d \"%s\", node %d "
					 "\"%s\"", hk->section, hk->name, text,
					 hrc, hub_err, nrc, err);
		}
	}
	assert_int_equal(shared, 12);
}

/* load_both: text (with the required lines after it) at hub and node must
 * be refused, both with "conf:LINE: " + want. */
static void expect_both(const char *text, int line, const char *want)
{
	char full[1024], start[1024];

	for (size_t d = 0; d < 2; d++) {
		void *cfg = calloc(1, daemons[d].size);

		assert_non_null(cfg);
		snprintf(full, sizeof(full), "%s%s", text,
			 daemons[d].required);
		write_conf(full);
		assert_int_equal(config_load(conf, daemons[d].table, cfg, err,
					     sizeof(err)), ERR_INVALID);
		snprintf(start, sizeof(start), "%s:%d: %s", conf, line, want);
		if (strcmp(err, start) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"",
				 daemons[d].name, err, start);
		config_free(daemons[d].table, cfg);
		free(cfg);
	}
}

/* The rules both daemons have, with the same messages: drop_s after
 * ping_s, [public] cert and key together. */
static void test_daemon_rules(void **state)
{
	(void)state;
	expect_both("[limits]\nping_s = 30\ndrop_s = 30\n", 3,
		    "[limits] drop_s: must be greater than ping_s (30)");
	expect_both("[limits]\ndrop_s = 20\n", 2,
		    "[limits] drop_s: must be greater than ping_s (20)");
	expect_both("[limits]\nping_s = 60\n", 2,
		    "[limits] ping_s: must be less than drop_s (60)");
	expect_both("[public]\ncert = public.crt\n", 2,
		    "[public] cert: must be set together with key for HTTPS");
	expect_both("[public]\nkey = public.key\n", 2,
		    "[public] key: must be set together with cert for HTTPS");
}

/* The [sms] pair is the node's own rule. */
static void test_node_sms_rule(void **state)
{
	struct node_config cfg;
	char want[1024];

	(void)state;
	snprintf(want, sizeof(want), "[sms]\nsecret = %s\n%s",
		 "0123456789abcdef", node_required);
	write_conf(want);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(node_config_load(conf, &cfg, err, sizeof(err)),
			 ERR_INVALID);
	snprintf(want, sizeof(want), "%s:2: [sms] secret: must be set "
		 "together with url", conf);
	assert_string_equal(err, want);
	node_config_free(&cfg);
}

/* Defaults that are limits of lib/alliance_limits.h say the same number. */
static void test_defaults_are_limits(void **state)
{
	static const struct {
		const struct config_table *t;
		const char *section, *name;
		unsigned long limit;
	} cases[] = {
		{ &hub_config_table, "limits", "max_frame", LIMIT_FRAME_BYTES },
		{ &node_config_table, "limits", "max_frame", LIMIT_FRAME_BYTES },
		{ &hub_config_table, "limits", "ping_s", LIMIT_PING_S },
		{ &hub_config_table, "limits", "drop_s", LIMIT_DROP_S },
		{ &hub_config_table, "limits", "sessions_per_minute",
		  LIMIT_SESSIONS_PER_WINDOW },
		{ &hub_config_table, "quota", "records", LIMIT_QUOTA_RECORDS },
		{ &hub_config_table, "quota", "bytes", LIMIT_QUOTA_BYTES },
		{ &hub_config_table, "quota", "changes_per_hour",
		  LIMIT_QUOTA_PER_HOUR },
		{ &node_config_table, "limits", "session_idle_s",
		  LIMIT_SESSION_IDLE_S },
		{ &node_config_table, "limits", "resident_token_idle_s",
		  LIMIT_TOKEN_IDLE_S },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct config_key *k = find_key(cases[i].t,
						      cases[i].section,
						      cases[i].name);

		assert_non_null(k);
		assert_non_null(k->def);
		assert_int_equal(strtoul(k->def, NULL, 10), cases[i].limit);
	}
}

/* The example configs of deploy/examples load (their paths need not
 * exist for the table). */
static void test_examples_load(void **state)
{
	struct hub_config hc;
	struct node_config nc;

	(void)state;
	memset(&hc, 0, sizeof(hc));
	if (config_load(ALLIANCE_EXAMPLES "/hub.conf", &hub_config_table,
			&hc, err, sizeof(err)) != ERR_OK)
		fail_msg("%s", err);
	config_free(&hub_config_table, &hc);
	memset(&nc, 0, sizeof(nc));
	if (node_config_load(ALLIANCE_EXAMPLES "/node.conf", &nc, err,
			     sizeof(err)) != ERR_OK)
		fail_msg("%s", err);
	node_config_free(&nc);
}

/* ---- main ------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_types),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_relative_path),
		cmocka_unit_test(test_paths_list),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_print_help),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_check_fails),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_rule_apart),
		cmocka_unit_test(test_rule_bad_table),
		cmocka_unit_test(test_daemon_bounds_edges),
		cmocka_unit_test(test_shared_keys_same_message),
		cmocka_unit_test(test_daemon_rules),
		cmocka_unit_test(test_node_sms_rule),
		cmocka_unit_test(test_defaults_are_limits),
		cmocka_unit_test(test_examples_load),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
