/* test_ctl_args.c: unit tests of cli/args.c, the arguments several
 * alliancectl commands share: durations (bulletin --expires/--timeout,
 * poll --closes) and --area lists (bulletin, poll).
 *
 * cli/ is not in liballiance.a, so the module is compiled into this test
 * directly. Parts: durations; areas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cli/args.c"

/* ---- durations ----------------------------------------------------------- */

/* duration_is: s parses (up to max) to want seconds. */
static void duration_is(const char *s, long max, long want)
{
	long got = -1;

	assert_int_equal(ctl_duration_parse(s, max, &got), ERR_OK);
	assert_int_equal(got, want);
}

/* duration_bad: s is refused and *out kept. */
static void duration_bad(const char *s, long max)
{
	long got = 42;

	assert_int_equal(ctl_duration_parse(s, max, &got), ERR_INVALID);
	assert_int_equal(got, 42);
}

static void test_duration_units(void **state)
{
	(void)state;
	duration_is("90", 86400, 90);
	duration_is("90s", 86400, 90);
	duration_is("30m", 86400, 1800);
	duration_is("24h", 86400, 86400);
	duration_is("2d", 3 * 86400, 2 * 86400);
}

static void test_duration_refused(void **state)
{
	(void)state;
	duration_bad("", 86400);
	duration_bad("0", 86400);
	duration_bad("-5m", 86400);
	duration_bad("m", 86400);
	duration_bad("5w", 86400);
	duration_bad("5mm", 86400);
	duration_bad("5 m", 86400);
	duration_bad("99999999999999999999", 86400);
	/* the bound is the caller's, in every unit */
	duration_is("86400", 86400, 86400);
	duration_bad("86401", 86400);
	duration_bad("25h", 86400);
	duration_bad("2d", 86400);
	duration_bad("1441m", 86400);
}

/* ---- areas --------------------------------------------------------------- */

static void test_area_lists(void **state)
{
	struct ctl_area a;
	char why[128] = "";

	(void)state;
	assert_int_equal(ctl_area_parse("riverside", 4, &a, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.ids[0], "riverside");
	assert_null(a.ids[1]);
	ctl_area_free(&a);
	assert_null(a.ids);
	assert_int_equal(ctl_area_parse("dc-1, dc-2 ,dc-3", 4, &a, why,
					sizeof(why)), ERR_OK);
	assert_int_equal(a.n, 3);
	assert_string_equal(a.ids[0], "dc-1");
	assert_string_equal(a.ids[1], "dc-2");
	assert_string_equal(a.ids[2], "dc-3");
	assert_null(a.ids[3]);
	ctl_area_free(&a);
	/* exactly max */
	assert_int_equal(ctl_area_parse("aa,bb", 2, &a, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(a.n, 2);
	ctl_area_free(&a);
}

/* area_bad: list is refused with a why containing want, nothing kept. */
static void area_bad(const char *list, size_t max, const char *want)
{
	struct ctl_area a;
	char why[128] = "";

	assert_int_equal(ctl_area_parse(list, max, &a, why, sizeof(why)),
			 ERR_INVALID);
	assert_non_null(strstr(why, want));
	assert_null(a.ids);
	assert_null(a.copy);
	assert_int_equal(a.n, 0);
}

static void test_area_refused(void **state)
{
	(void)state;
	area_bad("", 4, "'' is not a community id");
	area_bad("aa,,bb", 4, "'' is not a community id");
	area_bad("aa,", 4, "'' is not a community id");
	area_bad("aa,Bad_Id", 4, "'Bad_Id' is not a community id");
	area_bad("a", 4, "'a' is not a community id");
	area_bad("aa,bb,cc", 2, "more than 2 communities");
	/* a long id is cut in the message, not copied whole */
	area_bad("x-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		 4, "is not a community id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_refused),
		cmocka_unit_test(test_area_lists),
		cmocka_unit_test(test_area_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
