/* test_http_error.c: unit tests of http_error_vjson (lib/http.c), the one
 * place the error body {"error":{"code":"...","message":"..."}} is made,
 * for the service thread's replies and the manager worker's alike. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"

/* error_json: http_error_vjson with a variable argument list. */
static json_t *error_json(const char *code, const char *fmt, ...)
{
	json_t *body;
	va_list ap;

	va_start(ap, fmt);
	body = http_error_vjson(code, fmt, ap);
	va_end(ap);
	return body;
}

static void test_shape(void **state)
{
	json_t *body = error_json("not_found", "no such %s: %d", "poll", 7);
	char *text;

	(void)state;
	assert_non_null(body);
	text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"error\":{\"code\":\"not_found\","
			    "\"message\":\"no such poll: 7\"}}");
	free(text);
	assert_int_equal(json_object_size(body), 1);
	json_decref(body);
}

/* a long message is cut at 511 bytes, never written past its buffer */
static void test_long_message_is_cut(void **state)
{
	char long_text[2000];
	json_t *body;
	const char *msg;

	(void)state;
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	body = error_json("invalid", "%s", long_text);
	msg = json_string_value(json_object_get(json_object_get(body, "error"),
						"message"));
	assert_non_null(msg);
	assert_int_equal(strlen(msg), 511);
	json_decref(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_long_message_is_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
