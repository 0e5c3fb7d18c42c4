/* test_webhook.c: unit tests of lib/webhook.c: the signature a receiver
 * recomputes (a vector made with Python's hmac module), the urls and
 * secrets a sender takes, and bad messages refused before queueing.
 *
 * Parts: signing; urls; starting and sending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "alliance_limits.h"
#include "webhook.h"

/* ---- signing ---------------------------------------------------------------- */

static void test_sign_vector(void **state)
{
	/* hmac.new(b"a secret of twenty bytes",
	 *          b'1700000000.{"kind":"test"}', sha256).hexdigest() */
	const char *body = "{\"kind\":\"test\"}";
	char sig[WEBHOOK_SIGNATURE_LEN];

	(void)state;
	assert_int_equal(webhook_sign("a secret of twenty bytes", 1700000000,
				      body, strlen(body), sig), ERR_OK);
	assert_string_equal(sig, "t=1700000000,v1=3ff5ee11766fff515d74092d158"
			    "69f0ec0a97b6f919efc9f862dd6b09e38f449");
	/* another time, another body byte or another secret: another
	 * signature */
	char other[WEBHOOK_SIGNATURE_LEN];

	assert_int_equal(webhook_sign("a secret of twenty bytes", 1700000001,
				      body, strlen(body), other), ERR_OK);
	assert_string_not_equal(sig, other);
	assert_int_equal(webhook_sign("a secret of twenty bytes", 1700000000,
				      body, strlen(body) - 1, other), ERR_OK);
	assert_string_not_equal(sig, other);
	assert_int_equal(webhook_sign("a secret of twenty byteS", 1700000000,
				      body, strlen(body), other), ERR_OK);
	assert_string_not_equal(sig, other);
}

static void test_verify(void **state)
{
	const char *secret = "a secret of twenty bytes";
	const char *body = "{\"kind\":\"test\"}";
	char sig[WEBHOOK_SIGNATURE_LEN];

	(void)state;
	assert_int_equal(webhook_sign(secret, 1700000000, body, strlen(body),
				      sig), ERR_OK);
	assert_int_equal(webhook_verify(secret, sig, body, strlen(body),
					1700000100, 300), ERR_OK);
	/* too old, from the future, another body, another secret */
	assert_int_equal(webhook_verify(secret, sig, body, strlen(body),
					1700000301, 300), ERR_INVALID);
	assert_int_equal(webhook_verify(secret, sig, body, strlen(body),
					1699999699, 300), ERR_INVALID);
	assert_int_equal(webhook_verify(secret, sig, body, strlen(body) - 1,
					1700000000, 300), ERR_INVALID);
	assert_int_equal(webhook_verify("another secret, 20 bytes", sig, body,
					strlen(body), 1700000000, 300),
			 ERR_INVALID);
	/* malformed headers */
	assert_int_equal(webhook_verify(secret, NULL, body, strlen(body),
					1700000000, 300), ERR_INVALID);
	assert_int_equal(webhook_verify(secret, "", body, strlen(body),
					1700000000, 300), ERR_INVALID);
	assert_int_equal(webhook_verify(secret, "t=1700000000", body,
					strlen(body), 1700000000, 300),
			 ERR_INVALID);
	sig[strlen(sig) - 1] = '\0';
	assert_int_equal(webhook_verify(secret, sig, body, strlen(body),
					1700000000, 300), ERR_INVALID);
}

static void test_envelope(void **state)
{
	char *b;

	(void)state;
	b = webhook_envelope("k1", "bulletin", "c-1", 1700000000,
			     json_pack("{s:s}", "text", "停水"));
	assert_non_null(b);
	assert_string_equal(b, "{\"id\":\"k1\",\"kind\":\"bulletin\","
			    "\"community\":\"c-1\",\"created\":"
			    "\"2023-11-14T22:13:20Z\",\"payload\":"
			    "{\"text\":\"停水\"}}");
	free(b);
}

/* ---- the backoff schedule ------------------------------------------------------ */

static void test_backoff(void **state)
{
	(void)state;
	/* no jitter (r = 0): half of min doubling; r at its top: the whole */
	assert_int_equal(webhook_backoff_s(1, 4, 60, 0), 2);
	assert_int_equal(webhook_backoff_s(1, 4, 60, 2), 4);
	assert_int_equal(webhook_backoff_s(2, 4, 60, 0), 4);
	assert_int_equal(webhook_backoff_s(2, 4, 60, 4), 8);
	assert_int_equal(webhook_backoff_s(3, 4, 60, 8), 16);
	assert_int_equal(webhook_backoff_s(4, 4, 60, 16), 32);
	/* capped at max, and the jitter stays within [max/2, max] */
	assert_int_equal(webhook_backoff_s(5, 4, 60, 30), 60);
	assert_int_equal(webhook_backoff_s(50, 4, 60, 0), 30);
	assert_int_equal(webhook_backoff_s(1000, 4, 60, 31), 30);
	for (uint32_t r = 0; r < 1000; r += 7) {
		unsigned d = webhook_backoff_s(3, 4, 60, r);

		assert_true(d >= 8 && d <= 16);
	}
	/* never 0, whatever the bounds */
	assert_int_equal(webhook_backoff_s(1, 1, 1, 0), 1);
	assert_int_equal(webhook_backoff_s(1, 0, 0, 0), 1);
}

/* ---- urls -------------------------------------------------------------------- */

static void test_urls(void **state)
{
	(void)state;
	assert_null(webhook_url_valid("https://sms.example.cn/send"));
	assert_null(webhook_url_valid("http://10.0.0.5:8080/hook"));
	assert_non_null(webhook_url_valid(NULL));
	assert_non_null(webhook_url_valid("ftp://sms.example.cn/"));
	assert_non_null(webhook_url_valid("file:///etc/passwd"));
	assert_non_null(webhook_url_valid("https://"));
	assert_non_null(webhook_url_valid("https:///path"));
	assert_non_null(webhook_url_valid("https://a b/"));
	assert_non_null(webhook_url_valid("https://a\n/"));
	assert_non_null(webhook_url_valid("https://短信.cn/"));
	/* an endpoint a manager registers: https only, bounded */
	assert_null(webhook_url_https("https://hook.example.cn/a", 64));
	assert_non_null(webhook_url_https("http://hook.example.cn/a", 64));
	assert_non_null(webhook_url_https("https://hook.example.cn/a", 20));
}

/* ---- starting and sending ------------------------------------------------------ */

static void test_start_and_refuse(void **state)
{
	struct webhook *w = NULL;
	char big[LIMIT_WEBHOOK_BODY + 2];

	(void)state;
	assert_int_equal(webhook_start(&w, "https://x.example/", "short"),
			 ERR_INVALID);
	assert_null(w);
	assert_int_equal(webhook_start(&w, "gopher://x/", "a secret of "
				       "twenty bytes"), ERR_INVALID);
	/* port 9 on loopback (discard): nothing is delivered, but queueing
	 * and stopping with a message in flight must be clean */
	assert_int_equal(webhook_start(&w, "http://127.0.0.1:9/", "a secret "
				       "of twenty bytes"), ERR_OK);
	assert_non_null(w);
	memset(big, 'x', sizeof(big));
	assert_int_equal(webhook_send(w, "k1", big, sizeof(big)), ERR_INVALID);
	assert_int_equal(webhook_send(w, "", "{}", 2), ERR_INVALID);
	assert_int_equal(webhook_send(w, "a key", "{}", 2), ERR_INVALID);
	assert_int_equal(webhook_send(w, "k2", "{}", 2), ERR_OK);
	webhook_stop(&w);
	assert_null(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_vector),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_start_and_refuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
