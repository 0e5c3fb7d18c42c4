/* test_config.c: unit tests of lib/config.c, the table-driven INI loader.
 *
 * Each test writes a config file into a fresh mkdtemp directory and loads
 * it against the table below, checking either the values or the exact
 * "file:LINE: [section] key" at the start of the error.
 *
 * Parts, in order: the test table and struct; helpers (temp dir, writing
 * files, expecting an error); tests of good files; tests of bad files; main. */
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
#include "limits.h"
#include "log.h"

/* ---- table ------------------------------------------------------------ */

struct test_cfg {
	char *name;        /* [main] name, required */
	char *store;       /* [main] store, path with a default */
	char *note;        /* [main] note, optional, checked: no spaces */
	int port;          /* [net] port, default 8080 */
	unsigned count;    /* [net] count, default 3 */
	int tls;           /* [net] tls, bool, default no */
	int level;         /* [log] level, default info */
};

static const char *check_no_space(const void *field)
{
	const char *s = *(char *const *)field;

	return strchr(s, ' ') ? "must not contain spaces" : NULL;
}

static const struct config_key table[] = {
	{ "main", "name", CONFIG_STRING, NULL,
	  offsetof(struct test_cfg, name), 1, NULL, "display name" },
	{ "main", "store", CONFIG_PATH, "data/store.db",
	  offsetof(struct test_cfg, store), 0, NULL, "sqlite file" },
	{ "main", "note", CONFIG_STRING, NULL,
	  offsetof(struct test_cfg, note), 0, check_no_space, "a word" },
	{ "net", "port", CONFIG_PORT, "8080",
	  offsetof(struct test_cfg, port), 0, NULL, "listening port" },
	{ "net", "count", CONFIG_UINT, "3",
	  offsetof(struct test_cfg, count), 0, NULL, "how many" },
	{ "net", "tls", CONFIG_BOOL, "no",
	  offsetof(struct test_cfg, tls), 0, NULL, "serve HTTPS" },
	{ "log", "level", CONFIG_LEVEL, "info",
	  offsetof(struct test_cfg, level), 0, NULL, "lowest level logged" },
};
#define N_KEYS (sizeof(table) / sizeof(table[0]))

/* ---- helpers ---------------------------------------------------------- */

static char tmpdir[256];      /* realpath of this run's mkdtemp directory */
static char conf[512];        /* tmpdir/test.conf */
static char err[1024];        /* the last error message */

static int setup_dir(void **state)
{
	char tmpl[] = "/tmp/test_config.XXXXXX";
	char *real;

	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	real = realpath(tmpl, NULL);
	if (!real)
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", real);
	free(real);
	snprintf(conf, sizeof(conf), "%s/test.conf", tmpdir);
	return 0;
}

static int teardown_dir(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[1024];

	(void)state;
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(tmpdir);
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
	return config_load(conf, table, N_KEYS, cfg, err, sizeof(err));
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
	config_free(table, N_KEYS, &cfg);
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
	config_free(table, N_KEYS, &cfg);
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
		config_free(table, N_KEYS, &cfg);
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
	config_free(table, N_KEYS, &cfg);
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
	config_free(table, N_KEYS, &cfg);

	/* The config file itself named relative to the working directory. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(config_load("test.conf", table, N_KEYS, &cfg, err,
				     sizeof(err)), ERR_OK);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(cfg.store, want);
	config_free(table, N_KEYS, &cfg);
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
	config_free(table, N_KEYS, &cfg);
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
	config_free(table, N_KEYS, &cfg);

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
	config_print_help(table, N_KEYS, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(buf, "  [net] port (port, default 8080): "
			       "listening port\n"));
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
	assert_int_equal(config_load(path, table, N_KEYS, &cfg, err,
				     sizeof(err)), ERR_IO);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ": cannot open: No such file"));
	config_free(table, N_KEYS, &cfg);

	/* A directory opens but cannot be read as a file. */
	assert_int_equal(config_load(tmpdir, table, N_KEYS, &cfg, err,
				     sizeof(err)), ERR_IO);
	config_free(table, N_KEYS, &cfg);
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

/* ---- main ------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_types),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_relative_path),
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
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
