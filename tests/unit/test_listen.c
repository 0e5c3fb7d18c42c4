/* test_listen.c: unit tests of lib/listen.c, the address a vhost listens
 * on (the sockets it makes: tests/system/test_16_node_metrics.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "listen.h"

static void test_addresses(void **state)
{
	struct lws_context_creation_info info;

	(void)state;
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	listen_address(&info, "127.0.0.1");
	assert_string_equal(info.iface, "127.0.0.1");
	assert_true(info.options & LWS_SERVER_OPTION_DISABLE_IPV6);
	assert_true(info.options & LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT);

	memset(&info, 0, sizeof(info));
	listen_address(&info, "::1");
	assert_string_equal(info.iface, "::1");
	assert_false(info.options & LWS_SERVER_OPTION_DISABLE_IPV6);

	for (int i = 0; i < 3; i++) {
		const char *any[] = { NULL, "0.0.0.0", "::" };

		memset(&info, 0, sizeof(info));
		info.iface = "stale";
		listen_address(&info, any[i]);
		assert_null(info.iface);
		assert_false(info.options & LWS_SERVER_OPTION_DISABLE_IPV6);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
