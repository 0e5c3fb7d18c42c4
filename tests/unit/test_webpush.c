/* test_webpush.c: unit tests of lib/webpush.c: RFC 8291's worked example
 * (Appendix A: its keys, salt and plaintext give exactly its body), a
 * body a receiver decrypts back, a VAPID token that verifies with the key
 * its k names, and bad input refused.
 *
 * Parts: helpers; base64url; encryption; VAPID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>

#include "err.h"
#include "tmpdir.h"
#include "webpush.h"

/* RFC 8291 Appendix A. */
#define AS_PRIVATE "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
#define AS_PUBLIC "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInm" \
	"YWAmS6TlzAC8wEqKK6PBru3jl7A8"
#define UA_PRIVATE "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
#define UA_PUBLIC "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm" \
	"4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
#define AUTH "BTBZMqHH6r4Tts7J_aSIgg"
#define SALT "DGv6ra1nlYgDCS1FRnbzlw"
#define PLAIN "When I grow up, I want to be a watermelon"
#define BODY "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27" \
	"mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTp" \
	"K4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"

/* ---- helpers ------------------------------------------------------------- */

/* dec: s decoded into out, asserting its length is want. */
static void dec(const char *s, uint8_t *out, size_t want)
{
	assert_int_equal(webpush_unb64url(s, out, want), (long)want);
}

/* key_of: a P-256 key of the private scalar priv and point pub (both
 * base64url); pub alone when priv is NULL. */
static EVP_PKEY *key_of(const char *priv, const char *pub)
{
	uint8_t d[32], q[WEBPUSH_KEY_LEN];
	OSSL_PARAM params[4];
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *key = NULL;
	BIGNUM *bn = NULL;
	unsigned char be[32];
	char group[] = "prime256v1";
	int i = 0;

	dec(pub, q, sizeof(q));
	params[i++] = OSSL_PARAM_construct_utf8_string(
		OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[i++] = OSSL_PARAM_construct_octet_string(
		OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q));
	if (priv != NULL) {
		/* OSSL_PARAM integers are native-endian */
		dec(priv, d, sizeof(d));
		bn = BN_bin2bn(d, 32, NULL);
		assert_non_null(bn);
		assert_int_equal(BN_bn2nativepad(bn, be, 32), 32);
		params[i++] = OSSL_PARAM_construct_BN(
			OSSL_PKEY_PARAM_PRIV_KEY, be, 32);
	}
	params[i] = OSSL_PARAM_construct_end();
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &key, priv != NULL ?
					   EVP_PKEY_KEYPAIR :
					   EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn);
	return key;
}

/* ---- base64url ----------------------------------------------------------- */

static void test_b64url(void **state)
{
	uint8_t buf[8];
	char out[16];

	(void)state;
	assert_int_equal(webpush_b64url((const uint8_t *)"\xfb\xff", 2, out), 3);
	assert_string_equal(out, "-_8");
	assert_int_equal(webpush_unb64url("-_8", buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "\xfb\xff", 2);
	assert_int_equal(webpush_unb64url("", buf, sizeof(buf)), 0);
	/* padding, the standard alphabet, stray bits, too long, a lone char */
	assert_int_equal(webpush_unb64url("-_8=", buf, sizeof(buf)), -1);
	assert_int_equal(webpush_unb64url("+/8", buf, sizeof(buf)), -1);
	assert_int_equal(webpush_unb64url("-_9", buf, sizeof(buf)), -1);
	assert_int_equal(webpush_unb64url("AAAAAAAAAAAA", buf, sizeof(buf)),
			 -1);
	assert_int_equal(webpush_unb64url("AAAAA", buf, sizeof(buf)), -1);
}

/* ---- encryption ---------------------------------------------------------- */

static void test_rfc8291_example(void **state)
{
	uint8_t salt[16], ua[65], auth[16], out[WEBPUSH_BODY_MAX];
	char b64[2 * WEBPUSH_BODY_MAX];
	EVP_PKEY *as = key_of(AS_PRIVATE, AS_PUBLIC);
	size_t len = 0;

	(void)state;
	dec(SALT, salt, sizeof(salt));
	dec(UA_PUBLIC, ua, sizeof(ua));
	dec(AUTH, auth, sizeof(auth));
	assert_int_equal(webpush__encrypt_with(as, salt, ua, auth,
					       (const uint8_t *)PLAIN,
					       strlen(PLAIN), out, &len),
			 ERR_OK);
	assert_int_equal(len, 144);
	webpush_b64url(out, len, b64);
	assert_string_equal(b64, BODY);
	EVP_PKEY_free(as);
}

/* open_body: decrypt a body for the receiver (ua, its private key and
 * auth) the way a browser does, into plain; its length. */
static size_t open_body(EVP_PKEY *ua_key, const uint8_t ua[65],
			const uint8_t auth[16], const uint8_t *body,
			size_t len, uint8_t *plain)
{
	static const uint8_t key_info[] = "WebPush: info";
	uint8_t secret[32], prk_key[32], ikm[32], prk[32], t[32];
	uint8_t info[sizeof(key_info) + 130];
	unsigned tl = 0;
	size_t sl = 32;
	int a = 0, f = 0;
	EVP_PKEY *as = NULL;
	char as_b64[WEBPUSH_KEY_B64_LEN];
	EVP_PKEY_CTX *ctx;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t cek[16], nonce[12];

	assert_true(len > WEBPUSH_HEADER_LEN + 17);
	assert_int_equal(body[20], 65);
	webpush_b64url(body + 21, 65, as_b64);
	as = key_of(NULL, as_b64);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, ua_key, NULL);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, as), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, secret, &sl), 1);
	EVP_PKEY_CTX_free(ctx);
	memcpy(info, key_info, sizeof(key_info));
	memcpy(info + sizeof(key_info), ua, 65);
	memcpy(info + sizeof(key_info) + 65, body + 21, 65);
	HMAC(EVP_sha256(), auth, 16, secret, 32, prk_key, &tl);
	{
		uint8_t m[sizeof(info) + 1];

		memcpy(m, info, sizeof(info));
		m[sizeof(info)] = 1;
		HMAC(EVP_sha256(), prk_key, 32, m, sizeof(m), ikm, &tl);
	}
	HMAC(EVP_sha256(), body, 16, ikm, 32, prk, &tl);
	HMAC(EVP_sha256(), prk, 32,
	     (const uint8_t *)"Content-Encoding: aes128gcm\0\1", 29, t, &tl);
	memcpy(cek, t, 16);
	HMAC(EVP_sha256(), prk, 32,
	     (const uint8_t *)"Content-Encoding: nonce\0\1", 25, t, &tl);
	memcpy(nonce, t, 12);
	len -= WEBPUSH_HEADER_LEN + 16;
	assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, cek,
					    nonce), 1);
	assert_int_equal(EVP_DecryptUpdate(c, plain, &a,
					   body + WEBPUSH_HEADER_LEN,
					   (int)len), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16,
					     (void *)(body + WEBPUSH_HEADER_LEN
						      + len)), 1);
	assert_int_equal(EVP_DecryptFinal_ex(c, plain + a, &f), 1);
	EVP_CIPHER_CTX_free(c);
	EVP_PKEY_free(as);
	assert_int_equal(plain[a + f - 1], 2);      /* the last record's mark */
	return (size_t)(a + f - 1);
}

static void test_encrypt_round_trip(void **state)
{
	uint8_t ua[65], auth[16], out[WEBPUSH_BODY_MAX], again[WEBPUSH_BODY_MAX];
	uint8_t plain[WEBPUSH_BODY_MAX], big[WEBPUSH_PLAIN_MAX + 1];
	EVP_PKEY *ua_key = key_of(UA_PRIVATE, UA_PUBLIC);
	size_t len = 0, len2 = 0;
	const char *msg = "{\"title\":\"暴雨红色预警\",\"body\":\"请留在室内\"}";

	(void)state;
	dec(UA_PUBLIC, ua, sizeof(ua));
	dec(AUTH, auth, sizeof(auth));
	assert_int_equal(webpush_encrypt(ua, auth, (const uint8_t *)msg,
					 strlen(msg), out, &len), ERR_OK);
	assert_int_equal(open_body(ua_key, ua, auth, out, len, plain),
			 strlen(msg));
	assert_memory_equal(plain, msg, strlen(msg));
	/* a fresh key and salt each time */
	assert_int_equal(webpush_encrypt(ua, auth, (const uint8_t *)msg,
					 strlen(msg), again, &len2), ERR_OK);
	assert_int_equal(len, len2);
	assert_memory_not_equal(out, again, WEBPUSH_HEADER_LEN);
	/* the largest plaintext fills the body exactly; one more is refused */
	memset(big, 'x', sizeof(big));
	assert_int_equal(webpush_encrypt(ua, auth, big, WEBPUSH_PLAIN_MAX, out,
					 &len), ERR_OK);
	assert_int_equal(len, WEBPUSH_BODY_MAX);
	assert_int_equal(open_body(ua_key, ua, auth, out, len, plain),
			 WEBPUSH_PLAIN_MAX);
	assert_int_equal(webpush_encrypt(ua, auth, big, sizeof(big), out,
					 &len), ERR_TOOBIG);
	/* a point off the curve, a compressed point */
	ua[64] ^= 1;
	assert_false(webpush_point_valid(ua, sizeof(ua)));
	assert_int_equal(webpush_encrypt(ua, auth, (const uint8_t *)msg,
					 strlen(msg), out, &len), ERR_INVALID);
	ua[64] ^= 1;
	assert_true(webpush_point_valid(ua, sizeof(ua)));
	assert_false(webpush_point_valid(ua, 64));
	ua[0] = 0x02;
	assert_false(webpush_point_valid(ua, sizeof(ua)));
	EVP_PKEY_free(ua_key);
}

/* ---- VAPID --------------------------------------------------------------- */

/* verify_jwt: whether jwt's ES256 signature verifies with the P-256
 * point k (base64url), its claims into *claims. */
static int verify_jwt(const char *jwt, const char *k, json_t **claims)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : 0;
	uint8_t sig[64], buf[512], der[80], *p = der;
	char part[512];
	EVP_PKEY *pub = key_of(NULL, k);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	ECDSA_SIG *s = ECDSA_SIG_new();
	long n;
	int derlen, ok;

	assert_non_null(d2);
	assert_int_equal(webpush_unb64url(d2 + 1, sig, sizeof(sig)), 64);
	assert_int_equal(ECDSA_SIG_set0(s, BN_bin2bn(sig, 32, NULL),
					BN_bin2bn(sig + 32, 32, NULL)), 1);
	derlen = i2d_ECDSA_SIG(s, &p);
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
	     EVP_DigestVerify(md, der, (size_t)derlen,
			      (const unsigned char *)jwt,
			      (size_t)(d2 - jwt)) == 1;
	assert_true((size_t)(d2 - d1 - 1) < sizeof(part));
	memcpy(part, d1 + 1, (size_t)(d2 - d1 - 1));
	part[d2 - d1 - 1] = '\0';
	n = webpush_unb64url(part, buf, sizeof(buf));
	assert_true(n > 0);
	*claims = json_loadb((const char *)buf, (size_t)n, 0, NULL);
	assert_non_null(*claims);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	return ok;
}

static void test_vapid(void **state)
{
	char dir[256], path[300], k[WEBPUSH_KEY_B64_LEN], err[256], jwt[1024];
	EVP_PKEY *key = NULL, *again = NULL;
	json_t *claims = NULL;
	struct stat st;
	char *auth;
	const char *kp;

	(void)state;
	assert_int_equal(tmpdir_make("webpush", dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/vapid.pem", dir);
	/* not made without create; made 0600 with it; the same key after */
	assert_int_equal(webpush_vapid_load(path, 0, &key, err, sizeof(err)),
			 ERR_IO);
	assert_int_equal(webpush_vapid_load(path, 1, &key, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(webpush_vapid_load(path, 1, &again, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(EVP_PKEY_eq(key, again), 1);
	assert_int_equal(webpush_public_b64(key, k), ERR_OK);
	assert_int_equal(strlen(k), 87);

	auth = webpush_vapid(key, "https://push.example.net:8443/wpush/v2/abc",
			     "mailto:ops@example.org", 1700003600);
	assert_non_null(auth);
	assert_int_equal(strncmp(auth, "vapid t=", 8), 0);
	kp = strstr(auth, ", k=");
	assert_non_null(kp);
	assert_string_equal(kp + 4, k);
	memcpy(jwt, auth + 8, (size_t)(kp - auth - 8));
	jwt[kp - auth - 8] = '\0';
	assert_true(verify_jwt(jwt, k, &claims));
	assert_string_equal(json_string_value(json_object_get(claims, "aud")),
			    "https://push.example.net:8443");
	assert_string_equal(json_string_value(json_object_get(claims, "sub")),
			    "mailto:ops@example.org");
	assert_int_equal(json_integer_value(json_object_get(claims, "exp")),
			 1700003600);
	json_decref(claims);
	/* one byte of the signed part changed: no longer verifies */
	jwt[10] = jwt[10] == 'A' ? 'B' : 'A';
	assert_false(verify_jwt(jwt, k, &claims));
	json_decref(claims);
	free(auth);

	/* endpoints that are not https, or have no host */
	assert_null(webpush_vapid(key, "http://push.example.net/x", "mailto:a@b",
				  1));
	assert_null(webpush_vapid(key, "https:///x", "mailto:a@b", 1));
	assert_int_equal(webpush_origin("https://u@h/x", jwt, sizeof(jwt)),
			 ERR_INVALID);

	/* a file that is not a P-256 key */
	EVP_PKEY_free(key);
	EVP_PKEY_free(again);
	snprintf(path, sizeof(path), "%s/bad.pem", dir);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs("not a key\n", f);
		fclose(f);
	}
	assert_int_equal(webpush_vapid_load(path, 1, &key, err, sizeof(err)),
			 ERR_INVALID);
	assert_null(key);
	assert_non_null(strstr(err, "bad.pem"));
	tmpdir_remove(dir);
}

/* exp_of: the exp claim of an Authorization value "vapid t=JWT, k=K". */
static int64_t exp_of(const char *auth)
{
	char jwt[1024];
	const char *kp = strstr(auth, ", k=");
	json_t *claims = NULL;
	int64_t exp;

	assert_non_null(kp);
	memcpy(jwt, auth + 8, (size_t)(kp - auth - 8));
	jwt[kp - auth - 8] = '\0';
	assert_true(verify_jwt(jwt, kp + 4, &claims));
	exp = json_integer_value(json_object_get(claims, "exp"));
	json_decref(claims);
	return exp;
}

/* One token a push service origin, made again past half its life; more
 * origins than slots replace the one expiring first. */
static void test_vapid_cached(void **state)
{
	struct webpush_vapid_cache c;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	const char *a, *b, *x;
	char *a1, url[64];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_non_null(key);
	a = webpush_vapid_cached(&c, key, "https://fcm.example/send/1",
				 "mailto:a@b", 1000, 3600);
	assert_non_null(a);
	assert_int_equal(exp_of(a), 4600);
	a1 = strdup(a);
	/* the same origin, another subscription, within half the life */
	b = webpush_vapid_cached(&c, key, "https://fcm.example/send/2",
				 "mailto:a@b", 2799, 3600);
	assert_string_equal(b, a1);
	/* another origin: its own token */
	x = webpush_vapid_cached(&c, key, "https://moz.example:8443/w/1",
				 "mailto:a@b", 2799, 3600);
	assert_non_null(x);
	assert_string_not_equal(x, a1);
	assert_int_equal(exp_of(x), 6399);
	/* half its life gone: made again, a new exp */
	b = webpush_vapid_cached(&c, key, "https://fcm.example/send/3",
				 "mailto:a@b", 2800, 3600);
	assert_string_not_equal(b, a1);
	assert_int_equal(exp_of(b), 6400);
	/* more origins than slots: the cache stays whole, each answers */
	for (int i = 0; i < 2 * WEBPUSH_VAPID_ORIGINS; i++) {
		snprintf(url, sizeof(url), "https://p%d.example/x", i);
		assert_non_null(webpush_vapid_cached(&c, key, url, "mailto:a@b",
						     3000 + i, 3600));
	}
	/* not https: none */
	assert_null(webpush_vapid_cached(&c, key, "http://p.example/x",
					 "mailto:a@b", 3000, 3600));
	free(a1);
	webpush_vapid_cache_clear(&c);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_rfc8291_example),
		cmocka_unit_test(test_encrypt_round_trip),
		cmocka_unit_test(test_vapid),
		cmocka_unit_test(test_vapid_cached),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
