/* test_search.c: unit tests of lib/search.c, the "alliance" tokenizer and
 * search_match.
 *
 * Each test opens an in-memory store with store_open (which registers the
 * tokenizer) and one FTS5 table tokenized 'porter alliance', inserts
 * documents and asks what a user's text, through search_match, finds.
 *
 * Parts, in order: the schema; helpers; tokenizer tests; search_match
 * tests; main. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "search.h"
#include "store.h"

/* ---- the schema ------------------------------------------------------- */

static const struct store_migration schema[] = {
	{ "CREATE VIRTUAL TABLE doc USING fts5(body, tokenize = "
	  SEARCH_TOKENIZE ");"
	  "CREATE VIRTUAL TABLE doc_terms USING fts5vocab(doc, 'instance');" },
};

/* ---- helpers ---------------------------------------------------------- */

static int setup(void **state)
{
	sqlite3 *db = NULL;
	char err[512];

	log_init("test_search", LOG_WARN);
	if (store_open(":memory:", schema, 1, &db, err, sizeof(err)) != ERR_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = db;
	return 0;
}

static int teardown(void **state)
{
	sqlite3 *db = *state;

	store_close(&db);
	return 0;
}

static void add(sqlite3 *db, const char *body, int len)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO doc (body) "
					    "VALUES (?1)", -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, body, len, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* hits: how many documents the user's text q finds; -1 when search_match
 * makes nothing of q. Any sqlite error fails the test: no user text may
 * make the MATCH expression invalid. */
static int hits(sqlite3 *db, const char *q)
{
	sqlite3_stmt *st = NULL;
	char *m = search_match(q);
	int rc, n;

	if (!m)
		return -1;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM doc "
					    "WHERE doc MATCH ?1", -1, &st,
					    NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, m, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		fail_msg("q '%s' -> MATCH '%s': %s", q, m, sqlite3_errmsg(db));
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	free(m);
	return n;
}

/* marked: the first document found by q with its hits in [brackets], into
 * buf; checks the tokenizer's byte offsets. */
static void marked(sqlite3 *db, const char *q, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	char *m = search_match(q);

	assert_non_null(m);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT highlight(doc, 0, "
					    "'[', ']') FROM doc WHERE doc "
					    "MATCH ?1 ORDER BY rowid", -1,
					    &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, m, -1, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	free(m);
}

/* ---- tokenizer -------------------------------------------------------- */

static void test_chinese_words(void **state)
{
	sqlite3 *db = *state;
	char buf[256];

	add(db, "上门理发服务", -1);
	add(db, "免费孕检", -1);
	assert_int_equal(hits(db, "理发"), 1);
	assert_int_equal(hits(db, "上门理发"), 1);
	assert_int_equal(hits(db, "上门理发服务"), 1);
	assert_int_equal(hits(db, "发"), 1);
	assert_int_equal(hits(db, "务"), 1);      /* the last character */
	assert_int_equal(hits(db, "上"), 1);
	assert_int_equal(hits(db, "剪发"), 0);
	assert_int_equal(hits(db, "理发店"), 0);
	assert_int_equal(hits(db, "门理 服务"), 1);
	assert_int_equal(hits(db, "孕检"), 1);
	assert_int_equal(hits(db, "理发　孕检"), 0); /* U+3000 splits, ANDs */
	marked(db, "理发", buf, sizeof(buf));
	assert_string_equal(buf, "上门[理发]服务");
	marked(db, "上门理发", buf, sizeof(buf));
	assert_string_equal(buf, "[上门理发]服务");
	/* highlight() marks the first token of a position, so a unigram hit
	 * shows as the bigram it is colocated with */
	marked(db, "发", buf, sizeof(buf));
	assert_string_equal(buf, "上门理[发服]务");
}

static void test_english_words(void **state)
{
	sqlite3 *db = *state;
	char buf[256];

	add(db, "Home haircut for residents", -1);
	add(db, "Free pregnancy tests, walk-in", -1);
	assert_int_equal(hits(db, "haircut"), 1);
	assert_int_equal(hits(db, "HAIRCUT"), 1);
	assert_int_equal(hits(db, "haircuts"), 1);   /* porter */
	assert_int_equal(hits(db, "resident"), 1);
	assert_int_equal(hits(db, "test"), 1);
	assert_int_equal(hits(db, "home haircut"), 1);
	assert_int_equal(hits(db, "home pregnancy"), 0);
	assert_int_equal(hits(db, "walk-in"), 1);
	assert_int_equal(hits(db, "hair"), 0);       /* no prefixes */
	marked(db, "haircuts", buf, sizeof(buf));
	assert_string_equal(buf, "Home [haircut] for residents");
}

static void test_mixed_text(void **state)
{
	sqlite3 *db = *state;
	char buf[256];

	add(db, "WiFi免费上网", -1);
	add(db, "社区活动中心ＷｉＦｉ", -1);     /* fullwidth letters */
	add(db, "Café crème at the Straße 5号", -1);
	assert_int_equal(hits(db, "wifi"), 2);
	assert_int_equal(hits(db, "免费"), 1);
	assert_int_equal(hits(db, "上网"), 1);
	assert_int_equal(hits(db, "WiFi免费"), 1);
	assert_int_equal(hits(db, "WiFi免费上网"), 1);
	assert_int_equal(hits(db, "免费上网wifi"), 0);
	assert_int_equal(hits(db, "中心wifi"), 1);
	assert_int_equal(hits(db, "CAFÉ"), 1);
	assert_int_equal(hits(db, "straße"), 1);
	assert_int_equal(hits(db, "5号"), 1);
	marked(db, "免费", buf, sizeof(buf));
	assert_string_equal(buf, "WiFi[免费]上网");
	marked(db, "straße", buf, sizeof(buf));
	assert_string_equal(buf, "Café crème at the [Straße] 5号");
}

/* Positions: a CJK run in a document is its bigrams with unigrams
 * colocated, the last character on the last bigram's position. */
static void test_positions(void **state)
{
	sqlite3 *db = *state;
	sqlite3_stmt *st = NULL;
	const char *want[][2] = {
		{ "上门", "0" }, { "上", "0" }, { "门理", "1" }, { "门", "1" },
		{ "理", "1" }, { "x", "2" }, { "发", "3" },
	};
	char got[16][2][16];
	int n = 0;

	add(db, "上门理 x 发", -1);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT term, offset FROM "
					    "doc_terms ORDER BY offset, term",
					    -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < 16) {
		snprintf(got[n][0], 16, "%s", sqlite3_column_text(st, 0));
		snprintf(got[n][1], 16, "%s", sqlite3_column_text(st, 1));
		n++;
	}
	sqlite3_finalize(st);
	assert_int_equal(n, 7);
	for (int i = 0; i < n; i++) {
		int found = 0;

		for (int k = 0; k < 7; k++)
			if (strcmp(got[i][0], want[k][0]) == 0 &&
			    strcmp(got[i][1], want[k][1]) == 0)
				found = 1;
		if (!found)
			fail_msg("unexpected term %s at %s", got[i][0],
				 got[i][1]);
	}
}

/* Bytes that are not UTF-8 separate words and break nothing. */
static void test_invalid_utf8(void **state)
{
	sqlite3 *db = *state;
	static const char bad[] = "abc\xff" "def\xe7\x90" "理发\xc0\xafxyz\xe7";

	add(db, bad, (int)sizeof(bad) - 1);
	assert_int_equal(hits(db, "abc"), 1);
	assert_int_equal(hits(db, "def"), 1);
	assert_int_equal(hits(db, "理发"), 1);
	assert_int_equal(hits(db, "xyz"), 1);
	assert_int_equal(hits(db, "abc\xff"), 1);
}

/* Query syntax in user text is text: never an error, never an operator. */
static void test_syntax_is_text(void **state)
{
	sqlite3 *db = *state;
	static const char *const nasty[] = {
		"\"", "\"\"", "\"理发", "理发\"", "a\"b", "*", "理发*", "hair*",
		"NEAR", "NEAR(home haircut)", "NEAR/2", "\" OR 1=1 --",
		"'; DROP TABLE doc; --", "title:x", "body:haircut", "(haircut",
		"haircut)", "()", "AND", "OR", "NOT", "home OR x", "home NOT x",
		"^home", "+", "-haircut", "{body}:haircut", "\\", "%", "_",
		"\xff\xfe", "\"\" OR \"\"",
	};

	add(db, "Home haircut for residents", -1);
	add(db, "body title x", -1);
	for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++)
		(void)hits(db, nasty[i]);   /* asserts no sqlite error */
	assert_int_equal(hits(db, "NEAR(home haircut)"), 0);
	assert_int_equal(hits(db, "home OR x"), 0);   /* all three words */
	assert_int_equal(hits(db, "title:x"), 1);     /* phrase "title x" */
	assert_int_equal(hits(db, "body:haircut"), 0);
	assert_int_equal(hits(db, "hair*"), 0);
	assert_int_equal(hits(db, "(haircut"), 1);
	assert_int_equal(hits(db, "-haircut"), 1);
	assert_int_equal(hits(db, "*"), -1);
	assert_int_equal(hits(db, "\""), -1);
	assert_int_equal(hits(db, "\" OR 1=1 --"), 0);
}

/* ---- search_match ----------------------------------------------------- */

static void expect_match(const char *q, const char *want)
{
	char *m = search_match(q);

	if (!want) {
		if (m)
			fail_msg("'%s' -> '%s', wanted NULL", q ? q : "-", m);
		return;
	}
	if (!m)
		fail_msg("'%s' -> NULL, wanted '%s'", q, want);
	assert_string_equal(m, want);
	free(m);
}

static void test_match_expression(void **state)
{
	char many[256] = "";
	char want[512] = "";

	(void)state;
	expect_match(NULL, NULL);
	expect_match("", NULL);
	expect_match("   \t\n", NULL);
	expect_match("　", NULL);                  /* U+3000 alone */
	expect_match("-- * \" ()", NULL);
	expect_match("理发", "\"理发\"");
	expect_match("  home   haircut ", "\"home\" AND \"haircut\"");
	expect_match("上门　理发", "\"上门\" AND \"理发\"");
	expect_match("a\"b", "\"a\"\"b\"");
	expect_match("\" OR 1=1 --", "\"OR\" AND \"1=1\"");
	expect_match("title:x", "\"title:x\"");
	expect_match("a\xff" "b", "\"a\" AND \"b\"");

	/* the 17th word on is dropped */
	for (int i = 0; i < 17; i++) {
		char w[16];

		snprintf(w, sizeof(w), "w%d ", i);
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "%s", w);
		if (i < 16)
			snprintf(want + strlen(want),
				 sizeof(want) - strlen(want), "%s\"w%d\"",
				 i ? " AND " : "", i);
	}
	expect_match(many, want);
}

static void test_match_long_input(void **state)
{
	char *q = malloc(100000);
	char *m;

	(void)state;
	assert_non_null(q);
	memset(q, '"', 99999);
	q[99999] = '\0';
	assert_null(search_match(q));
	for (int i = 0; i < 99999; i++)
		q[i] = (i % 3 == 2) ? ' ' : 'x';
	m = search_match(q);
	assert_non_null(m);
	assert_true(strlen(m) < 2 * SEARCH_QUERY_MAX);
	free(m);
	free(q);
}

/* ---- main ------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chinese_words, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_english_words, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mixed_text, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_positions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_syntax_is_text, setup,
						teardown),
		cmocka_unit_test(test_match_expression),
		cmocka_unit_test(test_match_long_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
