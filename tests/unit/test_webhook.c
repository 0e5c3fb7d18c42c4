/* test_webhook.c: unit tests of lib/webhook.c: the signature a receiver
 * recomputes (a vector made with Python's hmac module), the urls and
 * secrets a sender takes, and bad messages refused before queueing.
 *
 * Parts: signing; urls; starting and sending. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "limits.h"
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
	assert_string_equal(sig, "sha256=3ff5ee11766fff515d74092d15869f0ec0"
			    "a97b6f919efc9f862dd6b09e38f449");
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
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_start_and_refuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
