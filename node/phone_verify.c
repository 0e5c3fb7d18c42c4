/* phone_verify.c: a resident's phone proved by a one-time code sent to it
 * through the SMS gateway ([sms] url and secret, lib/webhook.h).
 *
 *   POST /api/v1/residents         (residents.c) with a phone and a
 *                                  password, when a gateway is set: 202
 *                                  {"sent": true, "phone": "138****8001",
 *                                  "expires_in": S}, the same body
 *                                  whether or not the phone is
 *                                  registered; 429 when this phone or
 *                                  address asked for too many codes
 *   POST /api/v1/residents/verify  {"phone": P, "code": "123456"} ->
 *                                  201 {"token", "resident"}: the
 *                                  account, its phone confirmed; 422
 *                                  naming "code" for a wrong, used or
 *                                  expired code (the same answer when no
 *                                  code was sent); 404 without a gateway
 *
 * A registration waits in phone_pending, keyed by the phone, with the
 * scrypt line of its password, its name and household code, and its code
 * as SHA-256(salt, phone, code): the code itself is never stored nor
 * logged, only posted to the gateway. A code is good for LIMIT_OTP_TTL_S
 * and LIMIT_OTP_ATTEMPTS tries; a new registration of the phone replaces
 * it. A phone that is registered already gets a message saying so and no
 * code, so the answer tells a stranger nothing about who lives here. Codes
 * sent are limited per phone and per client address (keyed by a hash of
 * the phone, so the log never shows it).
 *
 * What the gateway receives (JSON, signed as lib/webhook.h says):
 *   {"id": K, "kind": "verification_code" | "already_registered",
 *    "to": "+8613800138001", "community": C, "community_name": N,
 *    "code": "123456" and "expires": RFC 3339 (verification_code only),
 *    "text": the message in Chinese and English}
 * with K also in the Idempotency-Key header: a gateway sends one text per
 * K however often it is posted.
 *
 * Parts: limits; codes; messages; sending; verifying; the route. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "manager.h"
#include "store.h"
#include "text.h"

/* Bytes of a code's salt. */
#define SALT_BYTES RESIDENT_SALT_BYTES

/* ---- limits -------------------------------------------------------------------- */

/* phone_key: "sms:" and 16 hex digits of the phone's SHA-256, a limiter
 * key that keeps the number out of the log. */
static void phone_key(const char *phone, char out[24])
{
	unsigned char h[32];
	unsigned int len = 32;

	EVP_Digest(phone, strlen(phone), h, &len, EVP_sha256(), NULL);
	memcpy(out, "sms:", 4);
	for (int i = 0; i < 8; i++)
		snprintf(out + 4 + 2 * i, 3, "%02x", h[i]);
}

int phone_verify_limited(struct node *n, struct lws *wsi,
			 struct http_exchange *ex, const char *phone)
{
	char key[80], peer[64];

	civic_peer(wsi, peer, sizeof(peer));
	snprintf(key, sizeof(key), "addr:%s", peer);
	if (civic_limited(n->civic->rl_sms_addr, key, wsi, ex, 0))
		return 1;
	phone_key(phone, key);
	return civic_limited(n->civic->rl_sms_phone, key, wsi, ex, 0);
}

/* ---- codes -------------------------------------------------------------------- */

/* new_code: LIMIT_OTP_DIGITS random decimal digits into out, uniform
 * (draws at or above the largest multiple of 10^6 are redrawn). */
static int new_code(char out[LIMIT_OTP_DIGITS + 1])
{
	const uint32_t mod = 1000000, top = UINT32_MAX - UINT32_MAX % mod;
	uint32_t r;

	do {
		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			return ERR_FAIL;
	} while (r >= top);
	snprintf(out, LIMIT_OTP_DIGITS + 1, "%06u", (unsigned)(r % mod));
	return ERR_OK;
}

/* code_hash: SHA-256 of salt, phone, ":" and code. */
static void code_hash(const unsigned char salt[SALT_BYTES], const char *phone,
		      const char *code, unsigned char out[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int len = 32;

	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, salt, SALT_BYTES) != 1 ||
	    EVP_DigestUpdate(c, phone, strlen(phone)) != 1 ||
	    EVP_DigestUpdate(c, ":", 1) != 1 ||
	    EVP_DigestUpdate(c, code, strlen(code)) != 1 ||
	    EVP_DigestFinal_ex(c, out, &len) != 1)
		RAND_bytes(out, 32);    /* matches nothing */
	EVP_MD_CTX_free(c);
}

/* keep_pending: the registration of j waiting for code, replacing one of
 * the same phone; expired ones dropped on the way. ERR_OK or ERR_IO. */
static int keep_pending(struct node *n, const struct job *j, const char *code,
			int64_t expires)
{
	struct resident_pending p;
	int rc;

	memset(&p, 0, sizeof(p));
	if (RAND_bytes(p.salt, sizeof(p.salt)) != 1)
		return ERR_IO;
	code_hash(p.salt, j->phone, code, p.hash);
	p.password_hash = j->hash_line;
	p.name = j->name;
	if (j->has_code) {
		memcpy(p.household, j->code_hash, 32);
		p.has_household = 1;
	}
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	rc = resident_store_pending_put(n->civic->residents, j->phone, &p,
					expires, clock_now());
	OPENSSL_cleanse(&p, sizeof(p));
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		return ERR_IO;
	}
	return ERR_OK;
}

/* ---- messages -------------------------------------------------------------- */

/* message: the gateway's JSON for phone (digits): a code (with its
 * expiry) or, code NULL, "already registered". A new string (the caller
 * cleanses and frees it), or NULL. */
static char *message(struct node *n, const char *key, const char *phone,
		     const char *code, int64_t expires)
{
	const char *who = n->cfg.name ? n->cfg.name : n->cfg.community;
	char to[LIMIT_PHONE_DIGITS + 4], text[1024], t1[CLOCK_RFC3339_LEN];
	json_t *m;
	char *out;

	snprintf(to, sizeof(to), "+86%s", phone);
	if (code)
		snprintf(text, sizeof(text), "【%s】您的验证码是 %s，%d 分钟内"
			 "有效，请勿告诉他人。Your %s code is %s, valid for "
			 "%d minutes. Do not share it.", who, code,
			 LIMIT_OTP_TTL_S / 60, who, code,
			 LIMIT_OTP_TTL_S / 60);
	else
		snprintf(text, sizeof(text), "【%s】此手机号已经注册，请直接"
			 "登录；如果不是您本人操作，请忽略本短信。This number "
			 "is already registered with %s: please sign in. If "
			 "this was not you, ignore this message.", who, who);
	m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", key, "kind",
		      code ? "verification_code" : "already_registered", "to",
		      to, "community", n->cfg.community, "community_name",
		      who, "text", text);
	if (m && code) {
		json_object_set_new(m, "code", json_string(code));
		json_object_set_new(m, "expires", json_string(clock_rfc3339(
					    expires, t1, sizeof(t1))));
	}
	out = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	OPENSSL_cleanse(text, sizeof(text));
	return out;
}

/* ---- sending --------------------------------------------------------------------- */

void phone_verify_send(struct node *n, struct lws *wsi,
		       struct http_exchange *ex, const struct job *j)
{
	char code[LIMIT_OTP_DIGITS + 1] = "", key[33], mask[12];
	unsigned char khash[32];
	int64_t expires = clock_now() + LIMIT_OTP_TTL_S;
	int known = residents_by_phone(n, j->phone, NULL) != 0;
	char *body = NULL;
	int rc = ERR_IO;

	if (residents_secret(key, khash) != ERR_OK ||
	    (!known && (new_code(code) != ERR_OK ||
			keep_pending(n, j, code, expires) != ERR_OK)))
		goto out;
	body = message(n, key, j->phone, known ? NULL : code, expires);
	if (body)
		rc = webhook_send(n->civic->sms, key, body, strlen(body));
out:
	OPENSSL_cleanse(code, sizeof(code));
	if (body) {
		OPENSSL_cleanse(body, strlen(body));
		free(body);
	}
	if (rc == ERR_AGAIN) {
		http_reply_error(wsi, ex, 503, "busy", "too many messages "
				 "waiting for the SMS gateway; try again");
		return;
	}
	if (rc != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	log_info("residents: message %s for a phone registration queued",
		 key);
	snprintf(mask, sizeof(mask), "%.3s****%s", j->phone, j->phone + 7);
	http_reply_json(wsi, ex, 202, json_pack("{s:b, s:s, s:i}", "sent", 1,
						"phone", mask, "expires_in",
						LIMIT_OTP_TTL_S));
}

/* ---- verifying ------------------------------------------------------------------ */

/* A registration waiting for its code. */
/* verify: {"phone","code"}: the waiting registration of the phone
 * becomes an account when the code is its own. */
static void verify(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	json_t *in;
	char phone[LIMIT_PHONE_DIGITS + 1], peer[64], key[80];
	const char *code;
	unsigned char hash[32];
	struct resident_pending p;
	int right;

	if (!(in = http_parse_json(wsi, ex)))
		return;
	civic_peer(wsi, peer, sizeof(peer));
	snprintf(key, sizeof(key), "addr:%s", peer);
	if (civic_limited(n->civic->rl_register, key, wsi, ex, 0))
		goto out;
	if (!text_phone_digits(json_string_value(json_object_get(in, "phone")),
			       phone, 1)) {
		http_reply_error(wsi, ex, 422, "invalid", "phone: required, "
				 "the mobile number the code was sent to");
		goto out;
	}
	code = json_string_value(json_object_get(in, "code"));
	if (!code || strlen(code) != LIMIT_OTP_DIGITS ||
	    strspn(code, "0123456789") != LIMIT_OTP_DIGITS) {
		http_reply_error(wsi, ex, 422, "invalid", "code: required, the "
				 "%d digits of the text message",
				 LIMIT_OTP_DIGITS);
		goto out;
	}
	if (resident_store_pending_get(n->civic->residents, phone, clock_now(),
				       &p) != ERR_OK) {
		http_reply_error(wsi, ex, 422, "invalid", "code: wrong or no "
				 "longer valid; register again for a new one");
		goto out;
	}
	code_hash(p.salt, phone, code, hash);
	right = CRYPTO_memcmp(hash, p.hash, 32) == 0;
	if (!right) {
		if (p.attempts + 1 >= LIMIT_OTP_ATTEMPTS)
			resident_store_pending_drop(n->civic->residents, phone);
		else
			resident_store_pending_miss(n->civic->residents, phone);
		log_info("residents: a wrong phone code from %s (try %d of "
			 "%d)", peer, p.attempts + 1, LIMIT_OTP_ATTEMPTS);
		http_reply_error(wsi, ex, 422, "invalid", "code: wrong or no "
				 "longer valid; register again for a new one");
	} else {
		/* used once, whatever happens next */
		resident_store_pending_drop(n->civic->residents, phone);
		residents_store(n, wsi, ex, phone, p.password_hash,
				p.has_household ? p.household : NULL, p.name,
				"sms");
	}
	resident_pending_free(&p);
out:
	json_decref(in);
}

/* ---- the route ------------------------------------------------------------------ */

void phone_verify_on(void *ctx, struct lws *wsi, struct http_exchange *ex,
		     const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);

	(void)ctx;
	(void)m;
	if (!n->civic->sms)
		http_reply_error(wsi, ex, 404, "not_found", "this community "
				 "sends no codes: the office confirms phones");
	else
		verify(n, wsi, ex);
}
