/* test_ctl_print.c: unit tests of cli/print.c (alliancectl's output).
 *
 * cli/ is not in liballiance.a, so the module is compiled into this test
 * directly. Parts: cleaning hub text for a terminal; display width; times;
 * tables; lists (the one printer every command's list goes through). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cli/print.c"

/* clean_is: ctl_text_clean(in) equals want. */
static void clean_is(const char *in, const char *want)
{
	char *got = ctl_text_clean(in);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* ---- cleaning ---------------------------------------------------------- */

static void test_clean_keeps_text(void **state)
{
	(void)state;
	clean_is("Riverside", "Riverside");
	clean_is("\xe4\xb8\x9c\xe5\x9f\x8e", "\xe4\xb8\x9c\xe5\x9f\x8e"); /* 东城 */
	clean_is("caf\xc3\xa9", "caf\xc3\xa9");
	clean_is(NULL, "");
}

static void test_clean_replaces_controls(void **state)
{
	(void)state;
	clean_is("a\x1b[31mb", "a?[31mb");              /* ESC */
	clean_is("tab\there\n", "tab?here?");
	clean_is("del\x7f", "del?");
	clean_is("c1\xc2\x9b", "c1?");                  /* U+009B CSI */
	clean_is("rlo\xe2\x80\xae!", "rlo?!");          /* U+202E */
	clean_is("iso\xe2\x81\xa6!", "iso?!");          /* U+2066 */
}

static void test_clean_replaces_bad_utf8(void **state)
{
	(void)state;
	clean_is("\xc0\xaf", "??");                     /* overlong '/' */
	clean_is("\xed\xa0\x80", "???");                /* surrogate */
	clean_is("\xf4\x90\x80\x80", "????");           /* above U+10FFFF */
	clean_is("cut\xe4\xb8", "cut??");               /* truncated */
	clean_is("\xff", "?");
}

/* ---- width ------------------------------------------------------------- */

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(ctl_text_width(""), 0);
	assert_int_equal(ctl_text_width("abc"), 3);
	assert_int_equal(ctl_text_width("caf\xc3\xa9"), 4);
	/* 东城第三社区: six wide characters */
	assert_int_equal(ctl_text_width("\xe4\xb8\x9c\xe5\x9f\x8e\xe7\xac\xac"
					"\xe4\xb8\x89\xe7\xa4\xbe\xe5\x8c\xba"),
			 12);
	assert_int_equal(ctl_text_width("e\xcc\x81"), 1); /* e + combining */
}

/* ---- times ------------------------------------------------------------- */

static void test_time(void **state)
{
	char buf[64];
	json_t *v;

	(void)state;
	v = json_integer(1764428400);
	assert_string_equal(ctl_time_format(v, buf, sizeof(buf)),
			    "2025-11-29T15:00:00Z");
	json_decref(v);
	v = json_string("2026-11-28T09:15:00Z");
	assert_string_equal(ctl_time_format(v, buf, sizeof(buf)),
			    "2026-11-28T09:15:00Z");
	json_decref(v);
	v = json_integer(0);
	assert_string_equal(ctl_time_format(v, buf, sizeof(buf)), "-");
	json_decref(v);
	v = json_null();
	assert_string_equal(ctl_time_format(v, buf, sizeof(buf)), "-");
	assert_string_equal(ctl_time_format(NULL, buf, sizeof(buf)), "-");
}

/* ---- tables ------------------------------------------------------------ */

static void test_table_aligns_wide_text(void **state)
{
	static const char *const head[] = { "ID", "NAME", "UP" };
	static const char *const r1[] = { "riverside", "Riverside", "12" };
	static const char *const r2[] = { "dc-3", "\xe4\xb8\x9c\xe5\x9f\x8e",
					  NULL };
	struct ctl_table t = { .ncols = 3, .head = head };
	char out[512] = "";
	FILE *f = fmemopen(out, sizeof(out) - 1, "w");

	(void)state;
	assert_non_null(f);
	assert_int_equal(ctl_table_add(&t, r1), ERR_OK);
	assert_int_equal(ctl_table_add(&t, r2), ERR_OK);
	assert_int_equal(ctl_table_print(&t, f), CTL_EXIT_OK);
	fclose(f);
	assert_string_equal(out,
			    "ID         NAME       UP\n"
			    "riverside  Riverside  12\n"
			    "dc-3       \xe4\xb8\x9c\xe5\x9f\x8e       -\n");
	ctl_table_free(&t);
	assert_null(t.cells);
}

/* ---- lists ------------------------------------------------------------- */

/* both: "a/b" of an item's members a and b (a format of the whole item). */
static const char *both(const json_t *v, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(v, "a")),
		 json_integer_value(json_object_get(v, "b")));
	return buf;
}

/* print_items: ctl_print_items of the JSON text items into out. */
static int print_items(const struct ctl_column *cols, size_t ncols,
		       const char *items, char *out, size_t outlen)
{
	struct ctl ctl = { .prog = "alliancectl" };
	json_t *v = json_loads(items, 0, NULL);
	FILE *f = fmemopen(out, outlen - 1, "w");
	int rc;

	assert_non_null(v);
	assert_non_null(f);
	memset(out, 0, outlen);
	rc = ctl_print_items(&ctl, cols, ncols, v, f);
	fclose(f);
	json_decref(v);
	return rc;
}

static void test_items_columns_and_formats(void **state)
{
	static const struct ctl_column cols[] = {
		{ "ID", "id", NULL },
		{ "ON", "connected", ctl_cell_yes_no },
		{ "SEEN", "seen", ctl_cell_time },
		{ "UP", "up", ctl_cell_count },
		{ "AFTER", "ms", ctl_cell_ms_as_s },
		{ "A/B", NULL, both },
	};
	char out[1024];

	(void)state;
	assert_int_equal(print_items(cols, 6,
		"[{\"id\":\"riverside\",\"connected\":true,"
		"\"seen\":1764428400,\"up\":12,\"ms\":1234,\"a\":3,\"b\":4},"
		" {\"id\":\"dc-3\",\"connected\":false,\"up\":7.0,"
		"\"a\":0,\"b\":4},"
		" {\"connected\":\"yes\",\"up\":\"9\",\"ms\":\"5\"}]",
		out, sizeof(out)), CTL_EXIT_OK);
	/* absent or wrongly typed values show as "-" (or "no"), never as
	 * what they claim */
	assert_string_equal(out,
		"ID         ON   SEEN                  UP  AFTER    A/B\n"
		"riverside  yes  2025-11-29T15:00:00Z  12  1.234 s  3/4\n"
		"dc-3       no   -                     7   -        0/4\n"
		"-          no   -                     -   -        0/0\n");
}

static void test_items_clean_hub_text(void **state)
{
	static const struct ctl_column cols[] = {
		{ "ID", "id", NULL },
		{ "NAME", "name", NULL },
	};
	char out[256];

	(void)state;
	assert_int_equal(print_items(cols, 2,
		"[{\"id\":\"x\",\"name\":\"a\\u001b[31mb\"}]",
		out, sizeof(out)), CTL_EXIT_OK);
	assert_string_equal(out, "ID  NAME\nx   a?[31mb\n");
	/* an empty list is the header alone; not a list is no rows */
	assert_int_equal(print_items(cols, 2, "[]", out, sizeof(out)),
			 CTL_EXIT_OK);
	assert_string_equal(out, "ID  NAME\n");
	assert_int_equal(print_items(cols, 2, "{\"id\":\"x\"}", out,
				     sizeof(out)), CTL_EXIT_OK);
	assert_string_equal(out, "ID  NAME\n");
}

static void test_items_column_bounds(void **state)
{
	static const struct ctl_column cols[CTL_COLUMNS_MAX + 1] = {
		{ "ID", "id", NULL },
	};
	char out[64];

	(void)state;
	assert_int_equal(print_items(cols, 0, "[]", out, sizeof(out)),
			 CTL_EXIT_FAIL);
	assert_int_equal(print_items(cols, CTL_COLUMNS_MAX + 1, "[]", out,
				     sizeof(out)), CTL_EXIT_FAIL);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_keeps_text),
		cmocka_unit_test(test_clean_replaces_controls),
		cmocka_unit_test(test_clean_replaces_bad_utf8),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_table_aligns_wide_text),
		cmocka_unit_test(test_items_columns_and_formats),
		cmocka_unit_test(test_items_clean_hub_text),
		cmocka_unit_test(test_items_column_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
