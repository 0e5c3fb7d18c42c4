/* test_peer.c: unit tests of lib/peer.c's list of trusted proxies (the
 * client address itself needs a connection: tests/system/test_44_abuse.py).
 *
 * Parts: good lists; bad lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "err.h"
#include "peer.h"

static void test_good_lists(void **state)
{
	struct peer_proxies p;
	char why[160];

	(void)state;
	assert_int_equal(peer_proxies_parse(NULL, &p, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(p.n, 0);
	assert_int_equal(peer_proxies_parse("", &p, why, sizeof(why)), ERR_OK);
	assert_int_equal(p.n, 0);
	assert_int_equal(peer_proxies_parse(" 127.0.0.1, 10.0.0.0/8 ,::1 "
					    "2001:db8::/32\t192.168.1.0/24",
					    &p, why, sizeof(why)), ERR_OK);
	assert_int_equal(p.n, 5);
	assert_int_equal(p.net[0].bits, 32);
	assert_int_equal(p.net[1].bits, 8);
	assert_int_equal(p.net[2].bits, 128);
	assert_int_equal(p.net[3].bits, 32);
	/* an IPv4-mapped address is taken as IPv4 */
	assert_int_equal(peer_proxies_parse("::ffff:10.1.2.3", &p, why,
					    sizeof(why)), ERR_OK);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.net[0].bits, 32);
	assert_int_equal(p.net[0].addr[0], 10);
}

static void test_bad_lists(void **state)
{
	static const char *const bad[] = {
		"localhost", "127.0.0.1/33", "10.0.0.0/", "10.0.0.0/x",
		"::1/129", "1.2.3", "127.0.0.1, nope",
		"1.1.1.1 2.2.2.2 3.3.3.3 4.4.4.4 5.5.5.5 6.6.6.6 7.7.7.7 "
		"8.8.8.8 9.9.9.9 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 "
		"1.1.1.7 1.1.1.8 1.1.1.9",           /* 17 entries */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct peer_proxies p;
	char why[160];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(peer_proxies_parse(bad[i], &p, why,
						    sizeof(why)), ERR_INVALID);
		assert_true(why[0] != '\0');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_lists),
		cmocka_unit_test(test_bad_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
