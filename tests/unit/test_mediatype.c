/* test_mediatype.c: unit tests of lib/mediatype.c (what a Content-Type
 * names): the JSON that changes demand and every type a cross-site HTML
 * form can send instead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mediatype.h"

#define JSON "application/json"

static void test_json_with_and_without_parameters(void **state)
{
	(void)state;
	assert_true(mediatype_is("application/json", JSON));
	assert_true(mediatype_is("application/json; charset=utf-8", JSON));
	assert_true(mediatype_is("application/json;charset=UTF-8", JSON));
	assert_true(mediatype_is("application/json ; charset=utf-8", JSON));
}

static void test_case_does_not_matter(void **state)
{
	(void)state;
	assert_true(mediatype_is("Application/JSON", JSON));
	assert_true(mediatype_is("APPLICATION/JSON; Charset=UTF-8", JSON));
}

static void test_missing_or_empty(void **state)
{
	(void)state;
	assert_false(mediatype_is(NULL, JSON));
	assert_false(mediatype_is("", JSON));
	assert_false(mediatype_is("application/", JSON));
	assert_false(mediatype_is("application/jso", JSON));
}

/* the three types an HTML form can send, none of them JSON */
static void test_form_types_are_not_json(void **state)
{
	(void)state;
	assert_false(mediatype_is("text/plain", JSON));
	assert_false(mediatype_is("text/plain; charset=utf-8", JSON));
	assert_false(mediatype_is("multipart/form-data; boundary=x", JSON));
	assert_false(mediatype_is("application/x-www-form-urlencoded", JSON));
	/* not JSON smuggled in after another type */
	assert_false(mediatype_is("text/plain; application/json", JSON));
}

/* a longer type that merely starts with the name is another type */
static void test_prefix_is_another_type(void **state)
{
	(void)state;
	assert_false(mediatype_is("application/jsonp", JSON));
	assert_false(mediatype_is("application/json-seq", JSON));
	assert_false(mediatype_is("application/json+x", JSON));
	assert_false(mediatype_is(" application/json", JSON));
}

static void test_form_urlencoded(void **state)
{
	(void)state;
	assert_true(mediatype_is("application/x-www-form-urlencoded",
				 "application/x-www-form-urlencoded"));
	assert_true(mediatype_is("application/x-www-form-urlencoded; "
				 "charset=utf-8",
				 "application/x-www-form-urlencoded"));
	assert_false(mediatype_is(JSON, "application/x-www-form-urlencoded"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_with_and_without_parameters),
		cmocka_unit_test(test_case_does_not_matter),
		cmocka_unit_test(test_missing_or_empty),
		cmocka_unit_test(test_form_types_are_not_json),
		cmocka_unit_test(test_prefix_is_another_type),
		cmocka_unit_test(test_form_urlencoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
