/* webpush-cpu.c: the node's CPU per Web Push message (issue 19's
 * benchmark, its per-message half): what lib/webpush.c does for each row
 * of the push channel, timed in this process's CPU time.
 *
 * One message as the node sends a severe bulletin (its JSON {"title",
 * "body", "url", "id"}, about 250 bytes) is encrypted for one browser
 * subscription (a fresh one-time P-256 key, ECDH, HKDF, AES-128-GCM) and
 * authorized with the VAPID token of its push service's origin, as the
 * node does it (webpush_vapid_cached: signed once, reused), N times
 * (default 5000); then each part alone: the encryption, and one token
 * signed (ES256), as it is once an origin and 6 hours. Prints, last:
 *
 *   webpush-cpu messages=N per_message_us= encrypt_us= vapid_us=
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "webpush.h"

static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char msg[] = "{\"title\":\"北区暴雨红色预警\",\"body\":\""
		"【八大关街道】北区暴雨红色预警：请留在室内，远离低洼地带，"
		"有困难请打社区电话。\",\"url\":\"/bulletins.html\",\"id\":"
		"\"0123456789abcdef0123\"}";
	const char *endpoint = "https://push.example.net/wpush/v2/abcdef";
	EVP_PKEY *ua = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *vapid = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	uint8_t point[WEBPUSH_KEY_LEN], auth[WEBPUSH_AUTH_LEN] = { 7 };
	uint8_t out[WEBPUSH_BODY_MAX];
	struct webpush_vapid_cache tokens = { 0 };
	size_t len = 0, plen = 0;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5000;
	double t0, t1, t2, t3;

	if (n < 1 || n > 10000000 || !ua || !vapid ||
	    EVP_PKEY_get_octet_string_param(ua,
					    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					    point, sizeof(point), &plen) != 1) {
		fprintf(stderr, "usage: webpush-cpu [MESSAGES]\n");
		return 2;
	}
	t0 = cpu_s();
	for (long i = 0; i < n; i++)
		if (!webpush_vapid_cached(&tokens, vapid, endpoint,
					  "mailto:ops@example.org", 1700000000,
					  12 * 3600) ||
		    webpush_encrypt(point, auth, (const uint8_t *)msg,
				    strlen(msg), out, &len) != ERR_OK)
			return 1;
	t1 = cpu_s();
	for (long i = 0; i < n; i++)
		if (webpush_encrypt(point, auth, (const uint8_t *)msg,
				    strlen(msg), out, &len) != ERR_OK)
			return 1;
	t2 = cpu_s();
	for (long i = 0; i < n; i++) {
		char *a = webpush_vapid(vapid, endpoint, "mailto:ops@example.org",
					1700000000 + i);

		if (!a)
			return 1;
		free(a);
	}
	t3 = cpu_s();
	printf("webpush-cpu messages=%ld per_message_us=%.0f encrypt_us=%.0f "
	       "vapid_us=%.0f\n", n, (t1 - t0) / (double)n * 1e6,
	       (t2 - t1) / (double)n * 1e6, (t3 - t2) / (double)n * 1e6);
	webpush_vapid_cache_clear(&tokens);
	EVP_PKEY_free(ua);
	EVP_PKEY_free(vapid);
	return 0;
}
