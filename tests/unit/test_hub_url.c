/* test_hub_url.c: unit tests of lib/hub_url.c: hub URLs one by one, the
 * list of [hub] urls with its bounds, and the one-hub form (the node
 * dialling them: tests/system/test_13_failover.py).
 *
 * Parts: good URLs; bad URLs; lists; the one-hub form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "hub_url.h"

static int parse(const char *text, struct hub_url *u, char *why, size_t len)
{
	return hub_url_parse(text, strlen(text), u, why, len);
}

static void test_good_urls(void **state)
{
	static const struct {
		const char *in, *url, *host, *address;
		int port;
	} good[] = {
		{ "wss://hub.example.org", "wss://hub.example.org:7443/v1/sync",
		  "hub.example.org", "", 7443 },
		{ "wss://hub-2.example.org:8443/v1/sync",
		  "wss://hub-2.example.org:8443/v1/sync", "hub-2.example.org",
		  "", 8443 },
		{ "wss://127.0.0.1:1/", "wss://127.0.0.1:1/v1/sync",
		  "127.0.0.1", "127.0.0.1", 1 },
		{ "wss://[::1]:65535", "wss://[::1]:65535/v1/sync", "::1",
		  "::1", 65535 },
		{ "wss://localhost:7443", "wss://localhost:7443/v1/sync",
		  "localhost", "", 7443 },
	};
	struct hub_url u;
	char why[400];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why[0] = '\0';
		if (parse(good[i].in, &u, why, sizeof(why)) != ERR_OK)
			fail_msg("%s: %s", good[i].in, why);
		assert_string_equal(u.url, good[i].url);
		assert_string_equal(u.host, good[i].host);
		assert_string_equal(u.address, good[i].address);
		assert_int_equal(u.port, good[i].port);
	}
}

static void test_bad_urls(void **state)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "https://hub.example.org", "does not start with wss://" },
		{ "hub.example.org:7443", "does not start with wss://" },
		{ "wss://", "the host must be" },
		{ "wss://:7443", "the host must be" },
		{ "wss://hub..example", "the host must be" },
		{ "wss://hub.example.", "the host must be" },
		{ "wss://hub_1.example", "the host must be" },
		{ "wss://user@hub.example", "the host must be" },
		{ "wss://[::1", "the host must be" },
		{ "wss://[nope]:7443", "the host must be" },
		{ "wss://hub:0", "the port must be 1 to 65535" },
		{ "wss://hub:65536", "the port must be 1 to 65535" },
		{ "wss://hub:123456", "the port must be 1 to 65535" },
		{ "wss://hub:", "the port must be 1 to 65535" },
		{ "wss://hub:-1", "the port must be 1 to 65535" },
		{ "wss://hub/v1/other", "the only path" },
		{ "wss://hub/v1/sync?x=1", "the only path" },
		{ "wss://hub:7443//", "the only path" },
	};
	char label[70], long_url[LIMIT_HUB_URL + 20];
	struct hub_url u;
	char why[400];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(parse(bad[i].in, &u, why, sizeof(why)),
				 ERR_INVALID);
		if (!strstr(why, bad[i].why))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].in, why,
				 bad[i].why);
	}
	/* a label over 63 bytes */
	memset(label, 'a', 64);
	label[64] = '\0';
	snprintf(long_url, sizeof(long_url), "wss://%s.example", label);
	assert_int_equal(parse(long_url, &u, why, sizeof(why)), ERR_INVALID);
	/* a URL over LIMIT_HUB_URL bytes */
	memset(long_url, 'a', sizeof(long_url) - 1);
	memcpy(long_url, "wss://", 6);
	long_url[LIMIT_HUB_URL + 1] = '\0';
	assert_int_equal(parse(long_url, &u, why, sizeof(why)), ERR_INVALID);
	assert_non_null(strstr(why, "longer than 300"));
}

static void test_lists(void **state)
{
	struct hub_url u[LIMIT_HUB_URLS];
	char why[400], list[LIMIT_HUB_URLS * 40 + 40];
	size_t n = 99, len = 0;

	(void)state;
	assert_int_equal(hub_url_list(" wss://a.example\twss://127.0.0.1:9 ",
				      u, LIMIT_HUB_URLS, &n, why,
				      sizeof(why)), ERR_OK);
	assert_int_equal(n, 2);
	assert_string_equal(u[0].url, "wss://a.example:7443/v1/sync");
	assert_string_equal(u[1].url, "wss://127.0.0.1:9/v1/sync");

	/* empty, blank, NULL */
	assert_int_equal(hub_url_list("", u, LIMIT_HUB_URLS, &n, why,
				      sizeof(why)), ERR_INVALID);
	assert_non_null(strstr(why, "no hub URL"));
	assert_int_equal(hub_url_list("  \t", u, LIMIT_HUB_URLS, &n, why,
				      sizeof(why)), ERR_INVALID);
	assert_int_equal(hub_url_list(NULL, u, LIMIT_HUB_URLS, &n, why,
				      sizeof(why)), ERR_INVALID);

	/* the same hub twice, also when written otherwise */
	assert_int_equal(hub_url_list("wss://a.example wss://a.example:7443/"
				      "v1/sync", u, LIMIT_HUB_URLS, &n, why,
				      sizeof(why)), ERR_INVALID);
	assert_non_null(strstr(why, "wss://a.example:7443/v1/sync is listed "
			       "twice"));

	/* one bad URL among good ones is named */
	assert_int_equal(hub_url_list("wss://a.example http://b.example", u,
				      LIMIT_HUB_URLS, &n, why, sizeof(why)),
			 ERR_INVALID);
	assert_non_null(strstr(why, "'http://b.example'"));

	/* LIMIT_HUB_URLS are taken, one more is not */
	for (size_t i = 0; i < LIMIT_HUB_URLS; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len,
					"wss://h%zu.example ", i);
	assert_int_equal(hub_url_list(list, u, LIMIT_HUB_URLS, &n, why,
				      sizeof(why)), ERR_OK);
	assert_int_equal(n, LIMIT_HUB_URLS);
	snprintf(list + len, sizeof(list) - len, "wss://one-more.example");
	assert_int_equal(hub_url_list(list, u, LIMIT_HUB_URLS, &n, why,
				      sizeof(why)), ERR_INVALID);
	assert_non_null(strstr(why, "more than 8 hub URLs"));
}

static void test_one_hub_form(void **state)
{
	struct hub_url u;

	(void)state;
	assert_int_equal(hub_url_one("hub.example", NULL, 7443, &u), ERR_OK);
	assert_string_equal(u.url, "wss://hub.example:7443/v1/sync");
	assert_string_equal(u.address, "");
	assert_int_equal(hub_url_one("localhost", "127.0.0.1", 9, &u), ERR_OK);
	assert_string_equal(u.url, "wss://localhost:9/v1/sync");
	assert_string_equal(u.host, "localhost");
	assert_string_equal(u.address, "127.0.0.1");
	assert_int_equal(hub_url_one("::1", NULL, 7443, &u), ERR_OK);
	assert_string_equal(u.url, "wss://[::1]:7443/v1/sync");
	assert_string_equal(u.address, "::1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_urls),
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_one_hub_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
