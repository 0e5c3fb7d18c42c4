/* test_form.c: unit tests of lib/form.c (form-encoded bodies).
 *
 * Parts: values found and decoded; absent, too long, malformed; the
 * content type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "form.h"

#define GET(body, name, buf) form_get((body), strlen(body), (name), (buf), \
				      sizeof(buf))

static void test_decodes(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(GET("a=1&service_code=c1%2Fhair&b=x+y", "service_code",
			     buf), 7);
	assert_string_equal(buf, "c1/hair");
	assert_int_equal(GET("a=1&b=x+y%21", "b", buf), 4);
	assert_string_equal(buf, "x y!");
	assert_int_equal(GET("flag&a=2", "flag", buf), 0);
	assert_string_equal(buf, "");
	assert_int_equal(GET("desc=%E7%90%86%E5%8F%91", "desc", buf), 6);
	assert_string_equal(buf, "理发");
}

static void test_refuses(void **state)
{
	char small[4], buf[64];

	(void)state;
	assert_int_equal(GET("a=1", "b", buf), FORM_ABSENT);
	assert_int_equal(GET("ab=1", "a", buf), FORM_ABSENT);
	assert_int_equal(GET("a=12345", "a", small), FORM_TOOLONG);
	assert_int_equal(GET("a=%4", "a", buf), FORM_BAD);
	assert_int_equal(GET("a=%zz", "a", buf), FORM_BAD);
	assert_int_equal(GET("a=x%00y", "a", buf), FORM_BAD);
}

static void test_content_type(void **state)
{
	(void)state;
	assert_true(form_content_type("application/x-www-form-urlencoded"));
	assert_true(form_content_type("application/x-www-form-urlencoded; "
				      "charset=UTF-8"));
	assert_false(form_content_type("application/json"));
	assert_false(form_content_type("application/x-www-form-urlencodedx"));
	assert_false(form_content_type(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decodes),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_content_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
