/* test_peer.c: unit tests of lib/peer.c: the list of trusted proxies and
 * the client an address and X-Forwarded-For make (the connection itself:
 * tests/system/test_44_abuse.py).
 *
 * Parts: good lists; bad lists; the client. */
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

/* client: peer_resolve's key for direct and xff through list. */
static const char *client(const char *list, const char *direct,
			  const char *xff)
{
	static char buf[PEER_KEY_MAX];
	struct peer_proxies p;
	char why[160];

	assert_int_equal(peer_proxies_parse(list, &p, why, sizeof(why)),
			 ERR_OK);
	peer_resolve(direct, xff, &p, buf, sizeof(buf));
	return buf;
}

static void test_the_client(void **state)
{
	const char *tp = "127.0.0.1, 10.0.0.0/8, 2001:db8:ff::/48";

	(void)state;
	/* no trusted proxies, or an untrusted peer: the header is ignored */
	assert_string_equal(client(NULL, "192.0.2.1", "198.51.100.1"),
			    "192.0.2.1");
	assert_string_equal(client(tp, "192.0.2.1", "198.51.100.1"),
			    "192.0.2.1");
	/* a trusted peer: its hop is believed */
	assert_string_equal(client(tp, "127.0.0.1", "198.51.100.1"),
			    "198.51.100.1");
	assert_string_equal(client(tp, "127.0.0.1", NULL), "127.0.0.1");
	/* the rightmost hop not trusted; the client's own hops left of it
	 * count for nothing */
	assert_string_equal(client(tp, "127.0.0.1",
				   "6.6.6.6, 198.51.100.1,10.1.1.1 , 10.2.2.2"),
			    "198.51.100.1");
	/* every hop trusted: the leftmost */
	assert_string_equal(client(tp, "127.0.0.1", "10.3.3.3, 10.4.4.4"),
			    "10.3.3.3");
	/* an unreadable hop ends the walk at the hop right of it */
	assert_string_equal(client(tp, "127.0.0.1", "198.51.100.1, junk, "
				   "10.5.5.5"), "10.5.5.5");
	assert_string_equal(client(tp, "127.0.0.1", ""), "127.0.0.1");
	/* IPv6 by its /64; IPv4-mapped as IPv4 */
	assert_string_equal(client(tp, "2001:db8:1:2:3:4:5:6", NULL),
			    "2001:db8:1:2::/64");
	assert_string_equal(client(tp, "2001:db8:ff:1::9",
				   "2001:db8:aa:bb:cc::1"),
			    "2001:db8:aa:bb::/64");
	assert_string_equal(client(tp, "::ffff:127.0.0.1",
				   "::ffff:198.51.100.9"), "198.51.100.9");
	assert_string_equal(client(tp, "not an address", NULL), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_lists),
		cmocka_unit_test(test_bad_lists),
		cmocka_unit_test(test_the_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
