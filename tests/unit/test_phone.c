/* test_phone.c: unit tests of lib/phone.c: the cases of
 * tests/browser/fixtures/phones.json (run from the repository's root, as
 * `make unit` does), which web/js/resident.js must agree with too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "phone.h"

#define PHONES "tests/browser/fixtures/phones.json"

static void test_phone_cases(void **state)
{
	json_error_t jerr;
	json_t *doc = json_load_file(PHONES, 0, &jerr), *cases, *c;
	size_t i;

	(void)state;
	assert_non_null(doc);
	cases = json_object_get(doc, "cases");
	assert_true(json_array_size(cases) > 5);
	json_array_foreach(cases, i, c) {
		const char *s = json_string_value(json_object_get(c, "text"));
		json_t *want = json_object_get(c, "found");
		size_t len = strlen(s), at = 0, a, b, n = 0;
		char tel[32];

		while (phone_next(s, len, at, &a, &b, tel, sizeof(tel))) {
			json_t *w = json_array_get(want, n++);

			if (!w)
				fail_msg("%s: found more than %zu", s,
					 json_array_size(want));
			assert_int_equal(b - a, strlen(json_string_value(
				json_array_get(w, 0))));
			assert_memory_equal(s + a, json_string_value(
				json_array_get(w, 0)), b - a);
			assert_string_equal(tel, json_string_value(
				json_array_get(w, 1)));
			at = b;
		}
		if (n != json_array_size(want))
			fail_msg("%s: found %zu, want %zu", s, n,
				 json_array_size(want));
	}
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phone_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
