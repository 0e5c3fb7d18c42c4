/* webpush.h: Web Push messages as a push service takes them: the body
 * encrypted for one browser subscription (RFC 8291 over the aes128gcm
 * content coding of RFC 8188) and the sender's VAPID authorization
 * (RFC 8292), with OpenSSL only.
 *
 * A subscription is an https endpoint, the browser's P-256 public key
 * (p256dh, a 65-byte uncompressed point) and a 16-byte auth secret. A
 * body is one record: a header (salt, record size 4096, the sender's
 * one-time public key), then plaintext || 0x02 sealed with AES-128-GCM
 * under a key and nonce derived with HKDF-SHA256 from the ECDH of the
 * one-time key with p256dh, and the auth secret. The VAPID key is the
 * node's own P-256 key (a PEM file); its JWT names the push service's
 * origin (aud), a contact (sub) and an expiry (exp, at most 24 h ahead).
 *
 * Sections: base64url; encryption; VAPID. */
#ifndef ALLIANCE_WEBPUSH_H
#define ALLIANCE_WEBPUSH_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* An uncompressed P-256 point, an auth secret, a salt. */
#define WEBPUSH_KEY_LEN 65
#define WEBPUSH_AUTH_LEN 16
#define WEBPUSH_SALT_LEN 16
/* The body's header: salt, record size (4), key id length (1), key. */
#define WEBPUSH_HEADER_LEN (WEBPUSH_SALT_LEN + 4 + 1 + WEBPUSH_KEY_LEN)
/* The most a body may be (what every push service must take). */
#define WEBPUSH_BODY_MAX 4096
/* The longest plaintext: the body less header, delimiter and GCM tag. */
#define WEBPUSH_PLAIN_MAX (WEBPUSH_BODY_MAX - WEBPUSH_HEADER_LEN - 1 - 16)
/* base64url (no padding) of a public key, and its NUL. */
#define WEBPUSH_KEY_B64_LEN 88
/* The longest VAPID lifetime (RFC 8292: at most 24 hours). */
#define WEBPUSH_VAPID_MAX_S (24 * 3600)

/* ---- base64url ----------------------------------------------------------- */

/* webpush_b64url: base64url without padding of buf (len bytes) into out
 * (at least 4 * ceil(len / 3) + 1 bytes), NUL-terminated; returns the
 * length written. */
size_t webpush_b64url(const uint8_t *buf, size_t len, char *out);
/* webpush_unb64url: strict base64url (no padding, no other characters,
 * no stray bits) of s into out (cap bytes); the length, or -1 when s is
 * malformed or longer than cap once decoded. */
long webpush_unb64url(const char *s, uint8_t *out, size_t cap);

/* ---- encryption ---------------------------------------------------------- */

/* webpush_encrypt: the aes128gcm body of plain (len bytes, at most
 * WEBPUSH_PLAIN_MAX) for the subscription (p256dh, auth), with a fresh
 * one-time key and salt, into out (WEBPUSH_BODY_MAX bytes); its length in
 * *outlen. ERR_OK; ERR_TOOBIG; ERR_INVALID when p256dh is not a point of
 * P-256; ERR_FAIL. */
int webpush_encrypt(const uint8_t p256dh[WEBPUSH_KEY_LEN],
		    const uint8_t auth[WEBPUSH_AUTH_LEN], const uint8_t *plain,
		    size_t len, uint8_t *out, size_t *outlen);

/* webpush__encrypt_with: webpush_encrypt with the given one-time key
 * (a P-256 private key with its public half) and salt: RFC 8291's worked
 * example is reproduced with it (tests only; a key or salt used twice
 * breaks the encryption). */
int webpush__encrypt_with(EVP_PKEY *ephemeral,
			  const uint8_t salt[WEBPUSH_SALT_LEN],
			  const uint8_t p256dh[WEBPUSH_KEY_LEN],
			  const uint8_t auth[WEBPUSH_AUTH_LEN],
			  const uint8_t *plain, size_t len, uint8_t *out,
			  size_t *outlen);

/* webpush_point_valid: whether key (len bytes) is an uncompressed point
 * on P-256 (a subscription's p256dh a resident gives). */
int webpush_point_valid(const uint8_t *key, size_t len);

/* ---- VAPID --------------------------------------------------------------- */

/* webpush_vapid_load: the P-256 private key of the PEM file path into
 * *out (free with EVP_PKEY_free); with create, a missing file is made
 * first with a new key, mode 0600. ERR_OK, or ERR_IO / ERR_INVALID with
 * the reason naming path in err. */
int webpush_vapid_load(const char *path, int create, EVP_PKEY **out,
		       char *err, size_t errlen);

/* webpush_public_b64: base64url of key's uncompressed public point (the
 * applicationServerKey a page subscribes with, VAPID's k) into out.
 * ERR_OK or ERR_FAIL. */
int webpush_public_b64(EVP_PKEY *key, char out[WEBPUSH_KEY_B64_LEN]);

/* webpush_origin: the origin of an https endpoint ("https://host[:port]",
 * VAPID's aud) into out (cap bytes). ERR_OK, or ERR_INVALID when endpoint
 * is not https://host... or the origin does not fit. */
int webpush_origin(const char *endpoint, char *out, size_t cap);

/* webpush_vapid: the Authorization header value "vapid t=JWT, k=KEY" for
 * a message to endpoint, signed with key (ES256), sub the contact (a
 * mailto: or https: URI), expiring at exp (unix s); a new string (free());
 * NULL when endpoint is not https or signing failed. */
char *webpush_vapid(EVP_PKEY *key, const char *endpoint, const char *sub,
		    int64_t exp);

/* A sender's VAPID tokens, one a push service origin: RFC 8292 lets one
 * token authorize every message to its origin until it expires, so a
 * sender signs once an origin and a half-life, not once a message. */
#define WEBPUSH_VAPID_ORIGINS 8
struct webpush_vapid_cache {
	struct {
		char *origin;           /* NULL: slot free */
		char *auth;             /* webpush_vapid's value */
		int64_t exp;
	} slot[WEBPUSH_VAPID_ORIGINS];
};

/* webpush_vapid_cached: webpush_vapid(key, endpoint, sub, now + life),
 * or the value kept in c for endpoint's origin while it has more than
 * life / 2 left; a new one is kept in place of the one expiring first.
 * Borrowed from c: valid until the next call on c. NULL as
 * webpush_vapid. */
const char *webpush_vapid_cached(struct webpush_vapid_cache *c,
				 EVP_PKEY *key, const char *endpoint,
				 const char *sub, int64_t now, int64_t life);
/* webpush_vapid_cache_clear: free what c keeps (c is empty after). */
void webpush_vapid_cache_clear(struct webpush_vapid_cache *c);

#endif
