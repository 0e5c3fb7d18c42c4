/* test_synonyms.c: unit tests of lib/synonyms.c: the file format and its
 * limits, the wire form, and the FTS5 expression of a query word.
 *
 * Parts: parsing; limits and errors; the wire form; expressions; main. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "alliance_limits.h"
#include "synonyms.h"

/* parse: synonyms_parse of text, which must succeed. */
static struct synonyms *parse(const char *text)
{
	struct synonyms *s = NULL;
	char why[256] = "";

	if (synonyms_parse(text, strlen(text), "test.txt", &s, why,
			   sizeof(why)) != ERR_OK)
		fail_msg("%s: %s", text, why);
	return s;
}

/* parse_error: synonyms_parse of text must fail; the reason in why. */
static void parse_error(const char *text, size_t len, const char *expect)
{
	struct synonyms *s = NULL;
	char why[256] = "";

	assert_int_equal(synonyms_parse(text, len, "syn.txt", &s, why,
					sizeof(why)), ERR_INVALID);
	assert_null(s);
	if (!strstr(why, expect))
		fail_msg("'%s' does not hold '%s'", why, expect);
}

/* expr: synonyms_expr of word as a string to compare ("" for NULL). */
static char *expr(const struct synonyms *s, const char *word)
{
	char *e = synonyms_expr(s, word, strlen(word));

	return e ? e : strdup("");
}

/* ---- parsing -------------------------------------------------------------- */

static void test_parse_groups(void **state)
{
	struct synonyms *s;
	char *e;

	(void)state;
	s = parse("# the district's words\n"
		  "剪头发/剪发/理发/美发\n"
		  "\n"
		  "  看病 门诊   就医  # a comment after words\n"
		  "打扫、保洁，清洁\r\n"
		  "Haircut／barber, Trim\n");
	assert_int_equal(synonyms_groups(s), 4);
	e = expr(s, "剪头发");
	assert_string_equal(e, "(\"剪头发\" OR \"剪发\" OR \"理发\" OR "
			    "\"美发\")");
	free(e);
	e = expr(s, "门诊");
	assert_string_equal(e, "(\"看病\" OR \"门诊\" OR \"就医\")");
	free(e);
	e = expr(s, "清洁");
	assert_string_equal(e, "(\"打扫\" OR \"保洁\" OR \"清洁\")");
	free(e);
	e = expr(s, "HAIRCUT");  /* ASCII without case */
	assert_string_equal(e, "(\"haircut\" OR \"barber\" OR \"trim\")");
	free(e);
	e = expr(s, "理");       /* whole words only */
	assert_string_equal(e, "");
	free(e);
	synonyms_free(&s);
	assert_null(s);
	s = parse("");
	assert_int_equal(synonyms_groups(s), 0);
	e = expr(s, "理发");
	assert_string_equal(e, "");
	free(e);
	synonyms_free(&s);
}

/* a word in two groups matches both; quotes in a word are doubled */
static void test_expr_union_and_quotes(void **state)
{
	struct synonyms *s;
	char *e;

	(void)state;
	s = parse("修水管/维修\n维修/水电\nsay\"hi/hello\n");
	e = expr(s, "维修");
	assert_string_equal(e, "(\"修水管\" OR \"维修\" OR \"维修\" OR "
			    "\"水电\")");
	free(e);
	e = expr(s, "hello");
	assert_string_equal(e, "(\"say\"\"hi\" OR \"hello\")");
	free(e);
	assert_null(synonyms_expr(NULL, "x", 1));
	synonyms_free(&s);
}

/* ---- limits and errors ------------------------------------------------------ */

static void test_parse_errors(void **state)
{
	char big[LIMIT_SYNONYMS_BYTES + 16], line[256];
	size_t o = 0;

	(void)state;
	parse_error("a/b\nalone\n", 10, "syn.txt:2: a group needs at least "
		    "two words");
	parse_error("a/b\n\nx\x01y/z\n", 11, "syn.txt:3: a control character");
	parse_error("ok/fine\n\xff\xfe/x\n", 12, "syn.txt:2: not UTF-8");
	snprintf(line, sizeof(line), "%0*d/b\n", LIMIT_SYNONYMS_WORD + 1, 7);
	parse_error(line, strlen(line), "syn.txt:1: a word is longer");
	parse_error("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n", 42,
		    "syn.txt:1: more than 16 words");
	memset(big, 'a', sizeof(big));
	parse_error(big, LIMIT_SYNONYMS_BYTES + 1, "syn.txt: larger than");
	/* one group too many */
	for (int i = 0; i <= LIMIT_SYNONYMS_GROUPS; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, "w%d/v%d\n", i,
				      i);
	parse_error(big, o, "syn.txt:501: more than 500 groups");
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test_synonyms_XXXXXX", why[256];
	struct synonyms *s = NULL;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("体检/健康检查\n洗澡/助浴\nbad\n", f);
	fclose(f);
	assert_int_equal(synonyms_load(path, &s, why, sizeof(why)),
			 ERR_INVALID);
	assert_non_null(strstr(why, ":3: a group needs"));
	assert_non_null(strstr(why, path));
	f = fopen(path, "w");
	fputs("体检/健康检查\n洗澡/助浴\n", f);
	fclose(f);
	assert_int_equal(synonyms_load(path, &s, why, sizeof(why)), ERR_OK);
	assert_int_equal(synonyms_groups(s), 2);
	synonyms_free(&s);
	unlink(path);
	assert_int_equal(synonyms_load(path, &s, why, sizeof(why)), ERR_IO);
	assert_non_null(strstr(why, path));
}

/* ---- the wire form ------------------------------------------------------------ */

static void test_proto_roundtrip(void **state)
{
	struct synonyms *s = parse("剪头发/理发\n看病 门诊 就医\n"), *back = NULL;
	Alliance__V1__SearchWords *m = NULL;
	char why[256], *e;

	(void)state;
	assert_int_equal(synonyms_to_proto(s, &m), ERR_OK);
	assert_int_equal(m->n_groups, 2);
	assert_int_equal(m->groups[1]->n_words, 3);
	assert_string_equal(m->groups[1]->words[2], "就医");
	assert_int_equal(synonyms_from_proto(m, &back, why, sizeof(why)),
			 ERR_OK);
	e = expr(back, "就医");
	assert_string_equal(e, "(\"看病\" OR \"门诊\" OR \"就医\")");
	free(e);
	synonyms_free(&back);
	/* a peer's group breaking the file's rules is refused */
	free(m->groups[0]->words[1]);
	m->groups[0]->words[1] = strdup("a/b");
	assert_int_equal(synonyms_from_proto(m, &back, why, sizeof(why)),
			 ERR_INVALID);
	assert_non_null(strstr(why, "group 1"));
	m->groups[0]->n_words = 1;
	assert_int_equal(synonyms_from_proto(m, &back, why, sizeof(why)),
			 ERR_INVALID);
	m->groups[0]->n_words = 2;
	alliance__v1__search_words__free_unpacked(m, NULL);
	synonyms_free(&s);
	/* none: an empty message */
	assert_int_equal(synonyms_to_proto(NULL, &m), ERR_OK);
	assert_int_equal(m->n_groups, 0);
	alliance__v1__search_words__free_unpacked(m, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_groups),
		cmocka_unit_test(test_expr_union_and_quotes),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_proto_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
