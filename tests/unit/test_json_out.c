/* test_json_out.c: unit tests of lib/json_out.c: its strings are byte
 * for byte what jansson's compact dump writes, over every byte that
 * needs escaping and UTF-8 of every length; numbers and raw text append
 * as they are; a long answer grows the buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_out.h"

/* same_as_jansson: json_out_str(s) equals jansson's dump of s */
static void same_as_jansson(const char *s)
{
	struct json_out o = { 0 };
	json_t *j = json_string(s);
	char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY), *got;
	size_t len;

	assert_non_null(want);
	json_out_str(&o, s);
	got = json_out_take(&o, &len);
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
	free(want);
	json_decref(j);
}

static void test_strings(void **state)
{
	char one[2] = { 0 };

	(void)state;
	for (int c = 1; c < 0x80; c++) {          /* every ASCII byte */
		one[0] = (char)c;
		same_as_jansson(one);
	}
	same_as_jansson("");
	same_as_jansson("上门理发 haircut \"at home\" \\ a/b\n\t\r\b\f\x01\x1f");
	same_as_jansson("é ü ñ — € 😀 end");
	same_as_jansson("\"\"\\\\");
}

static void test_build(void **state)
{
	struct json_out o = { 0 };
	char *text, want[64];
	size_t len;

	(void)state;
	json_out_lit(&o, "{\"n\":");
	json_out_int(&o, -9007199254740993LL);
	json_out_raw(&o, ",\"l\":[\"a\"]xyz", 10);
	json_out_lit(&o, "}");
	text = json_out_take(&o, &len);
	snprintf(want, sizeof(want), "{\"n\":%lld,\"l\":[\"a\"]}",
		 -9007199254740993LL);
	assert_string_equal(text, want);
	assert_int_equal(len, strlen(want));
	assert_null(o.p);
	free(text);
	/* a long text: 100,000 escaped quotes */
	for (int i = 0; i < 100000; i++)
		json_out_str(&o, "\"");
	text = json_out_take(&o, &len);
	assert_int_equal(len, 100000 * 4);
	assert_memory_equal(text + len - 4, "\"\\\"\"", 4);
	free(text);
	json_out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
