/* webpush.c: Web Push encryption (RFC 8291, RFC 8188 aes128gcm) and
 * VAPID (RFC 8292) with OpenSSL 3 (webpush.h says what each part makes).
 *
 * Parts: base64url; P-256 keys; the key schedule; one record; VAPID. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "webpush.h"

/* ---- base64url ----------------------------------------------------------- */

static const char b64u[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t webpush_b64url(const uint8_t *buf, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)buf[i] << 16 | (uint32_t)buf[i + 1] << 8 |
			     buf[i + 2];
		out[o++] = b64u[v >> 18 & 63];
		out[o++] = b64u[v >> 12 & 63];
		out[o++] = b64u[v >> 6 & 63];
		out[o++] = b64u[v & 63];
	}
	if (len - i == 1) {
		out[o++] = b64u[buf[i] >> 2];
		out[o++] = b64u[(buf[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)buf[i] << 8 | buf[i + 1];
		out[o++] = b64u[v >> 10 & 63];
		out[o++] = b64u[v >> 4 & 63];
		out[o++] = b64u[(v & 15) << 2];
	}
	out[o] = '\0';
	return o;
}

/* b64u_value: the 6 bits of c, or -1. */
static int b64u_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long webpush_unb64url(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s), o = 0, i;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		int v = b64u_value(s[i]);

		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)               /* stray bits: not canonical */
		return -1;
	return (long)o;
}

/* ---- P-256 keys ---------------------------------------------------------- */

/* point_key: an EVP_PKEY of the P-256 public point key (65 bytes), or
 * NULL when it is not one. */
static EVP_PKEY *point_key(const uint8_t *key, size_t len)
{
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;
	char group[] = "prime256v1";

	if (len != WEBPUSH_KEY_LEN || key[0] != 0x04)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(
		OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
		OSSL_PKEY_PARAM_PUB_KEY, (void *)key, len);
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	/* decoding the point checks it is on the curve (P-256's cofactor is
	 * 1: on the curve is in the group), so no separate check is due */
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

int webpush_point_valid(const uint8_t *key, size_t len)
{
	EVP_PKEY *pkey = point_key(key, len);

	EVP_PKEY_free(pkey);
	return pkey != NULL;
}

/* public_point: key's uncompressed public point into out. ERR_OK or
 * ERR_FAIL. */
static int public_point(EVP_PKEY *key, uint8_t out[WEBPUSH_KEY_LEN])
{
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(key,
					    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					    out, WEBPUSH_KEY_LEN, &len) != 1 ||
	    len != WEBPUSH_KEY_LEN || out[0] != 0x04)
		return ERR_FAIL;
	return ERR_OK;
}

/* new_p256: a fresh P-256 key pair, or NULL. */
static EVP_PKEY *new_p256(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* is_p256: whether key is an EC key on P-256. */
static int is_p256(EVP_PKEY *key)
{
	char group[32];
	size_t len = 0;

	return EVP_PKEY_is_a(key, "EC") &&
	       EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
					      group, sizeof(group), &len) == 1 &&
	       (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0);
}

/* ---- the key schedule ---------------------------------------------------- */

/* hmac: HMAC-SHA256(key, a || b || c) into out (32 bytes); b and c may be
 * empty. ERR_OK or ERR_FAIL. */
static int hmac(const uint8_t *key, size_t keylen, const uint8_t *a,
		size_t alen, const uint8_t *b, size_t blen, const uint8_t *c,
		size_t clen, uint8_t out[32])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *h = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	char digest[] = "SHA256";
	OSSL_PARAM params[2];
	size_t outlen = 0;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	ok = h != NULL && EVP_MAC_init(h, key, keylen, params) == 1 &&
	     EVP_MAC_update(h, a, alen) == 1 &&
	     (blen == 0 || EVP_MAC_update(h, b, blen) == 1) &&
	     (clen == 0 || EVP_MAC_update(h, c, clen) == 1) &&
	     EVP_MAC_final(h, out, &outlen, 32) == 1 && outlen == 32;
	EVP_MAC_CTX_free(h);
	EVP_MAC_free(mac);
	return ok ? ERR_OK : ERR_FAIL;
}

/* derive: the content key (16 bytes) and nonce (12) of RFC 8291 section
 * 3.4 from the ECDH secret, the auth secret, both public keys and the
 * salt. ERR_OK or ERR_FAIL. */
static int derive(const uint8_t ecdh[32], const uint8_t auth[WEBPUSH_AUTH_LEN],
		  const uint8_t ua[WEBPUSH_KEY_LEN],
		  const uint8_t as[WEBPUSH_KEY_LEN],
		  const uint8_t salt[WEBPUSH_SALT_LEN], uint8_t cek[16],
		  uint8_t nonce[12])
{
	static const uint8_t key_info[] = "WebPush: info";  /* with its NUL */
	static const uint8_t cek_info[] = "Content-Encoding: aes128gcm\0\1";
	static const uint8_t nonce_info[] = "Content-Encoding: nonce\0\1";
	static const uint8_t one[] = { 1 };
	uint8_t prk_key[32], info[sizeof(key_info) + 2 * WEBPUSH_KEY_LEN];
	uint8_t ikm[32], prk[32], t[32];
	int rc;

	memcpy(info, key_info, sizeof(key_info));
	memcpy(info + sizeof(key_info), ua, WEBPUSH_KEY_LEN);
	memcpy(info + sizeof(key_info) + WEBPUSH_KEY_LEN, as, WEBPUSH_KEY_LEN);
	/* HKDF(auth, ecdh, key_info, 32), then HKDF(salt, IKM, ...) */
	rc = hmac(auth, WEBPUSH_AUTH_LEN, ecdh, 32, NULL, 0, NULL, 0, prk_key);
	if (rc == ERR_OK)
		rc = hmac(prk_key, 32, info, sizeof(info), one, 1, NULL, 0, ikm);
	if (rc == ERR_OK)
		rc = hmac(salt, WEBPUSH_SALT_LEN, ikm, 32, NULL, 0, NULL, 0, prk);
	if (rc == ERR_OK)
		rc = hmac(prk, 32, cek_info, sizeof(cek_info) - 1, NULL, 0, NULL,
			  0, t);
	if (rc == ERR_OK)
		memcpy(cek, t, 16);
	if (rc == ERR_OK)
		rc = hmac(prk, 32, nonce_info, sizeof(nonce_info) - 1, NULL, 0,
			  NULL, 0, t);
	if (rc == ERR_OK)
		memcpy(nonce, t, 12);
	OPENSSL_cleanse(prk_key, sizeof(prk_key));
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(prk, sizeof(prk));
	OPENSSL_cleanse(t, sizeof(t));
	return rc;
}

/* ecdh: the shared secret (32 bytes) of our private key and peer's
 * public one (made by point_key, which checked it is in the group: the
 * check OpenSSL would repeat costs another multiplication). ERR_OK or
 * ERR_FAIL. */
static int ecdh(EVP_PKEY *ours, EVP_PKEY *peer, uint8_t out[32])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, ours, NULL);
	size_t len = 32;
	int ok;

	ok = ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	     EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
	     EVP_PKEY_derive(ctx, out, &len) == 1 && len == 32;
	EVP_PKEY_CTX_free(ctx);
	return ok ? ERR_OK : ERR_FAIL;
}

/* ---- one record ---------------------------------------------------------- */

/* seal: AES-128-GCM of plain || 0x02 under cek and nonce into out, the
 * tag after it. ERR_OK or ERR_FAIL. */
static int seal(const uint8_t cek[16], const uint8_t nonce[12],
		const uint8_t *plain, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	static const uint8_t delim[] = { 2 };
	int a = 0, b = 0, f = 0, ok;

	ok = c != NULL &&
	     EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	     EVP_EncryptInit_ex(c, NULL, NULL, cek, nonce) == 1 &&
	     EVP_EncryptUpdate(c, out, &a, plain, (int)len) == 1 &&
	     EVP_EncryptUpdate(c, out + a, &b, delim, 1) == 1 &&
	     EVP_EncryptFinal_ex(c, out + a + b, &f) == 1 &&
	     (size_t)(a + b + f) == len + 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16,
				 out + len + 1) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? ERR_OK : ERR_FAIL;
}

int webpush__encrypt_with(EVP_PKEY *ephemeral,
			  const uint8_t salt[WEBPUSH_SALT_LEN],
			  const uint8_t p256dh[WEBPUSH_KEY_LEN],
			  const uint8_t auth[WEBPUSH_AUTH_LEN],
			  const uint8_t *plain, size_t len, uint8_t *out,
			  size_t *outlen)
{
	uint8_t as[WEBPUSH_KEY_LEN], secret[32], cek[16], nonce[12];
	EVP_PKEY *peer;
	int rc;

	if (len > WEBPUSH_PLAIN_MAX)
		return ERR_TOOBIG;
	peer = point_key(p256dh, WEBPUSH_KEY_LEN);
	if (peer == NULL)
		return ERR_INVALID;
	rc = public_point(ephemeral, as);
	if (rc == ERR_OK)
		rc = ecdh(ephemeral, peer, secret);
	if (rc == ERR_OK)
		rc = derive(secret, auth, p256dh, as, salt, cek, nonce);
	if (rc == ERR_OK) {
		/* header: salt, rs = 4096 (big-endian), idlen, keyid */
		memcpy(out, salt, WEBPUSH_SALT_LEN);
		out[16] = 0;
		out[17] = 0;
		out[18] = 0x10;
		out[19] = 0;
		out[20] = WEBPUSH_KEY_LEN;
		memcpy(out + 21, as, WEBPUSH_KEY_LEN);
		rc = seal(cek, nonce, plain, len, out + WEBPUSH_HEADER_LEN);
	}
	if (rc == ERR_OK)
		*outlen = WEBPUSH_HEADER_LEN + len + 1 + 16;
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(cek, sizeof(cek));
	EVP_PKEY_free(peer);
	return rc;
}

int webpush_encrypt(const uint8_t p256dh[WEBPUSH_KEY_LEN],
		    const uint8_t auth[WEBPUSH_AUTH_LEN], const uint8_t *plain,
		    size_t len, uint8_t *out, size_t *outlen)
{
	uint8_t salt[WEBPUSH_SALT_LEN];
	EVP_PKEY *eph;
	int rc;

	if (len > WEBPUSH_PLAIN_MAX)
		return ERR_TOOBIG;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return ERR_FAIL;
	eph = new_p256();
	if (eph == NULL)
		return ERR_FAIL;
	rc = webpush__encrypt_with(eph, salt, p256dh, auth, plain, len, out,
				   outlen);
	EVP_PKEY_free(eph);
	return rc;
}

/* ---- VAPID --------------------------------------------------------------- */

/* create_key: a new P-256 key written to path (which must not exist),
 * mode 0600. ERR_OK or ERR_IO with err set. */
static int create_key(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key = new_p256();
	FILE *f = NULL;
	int fd, ok;

	if (key == NULL) {
		snprintf(err, errlen, "%s: cannot make a key", path);
		return ERR_IO;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		f = fdopen(fd, "w");
	ok = f != NULL &&
	     PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	if (f != NULL)
		ok = fclose(f) == 0 && ok;
	else if (fd >= 0)
		close(fd);
	EVP_PKEY_free(key);
	if (!ok) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
			 fd < 0 ? strerror(errno) : "write failed");
		if (fd >= 0)
			unlink(path);
		return ERR_IO;
	}
	return ERR_OK;
}

int webpush_vapid_load(const char *path, int create, EVP_PKEY **out,
		       char *err, size_t errlen)
{
	EVP_PKEY *key;
	FILE *f;

	*out = NULL;
	if (create && access(path, F_OK) != 0 && errno == ENOENT &&
	    create_key(path, err, errlen) != ERR_OK)
		return ERR_IO;
	f = fopen(path, "re");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ERR_IO;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL || !is_p256(key)) {
		EVP_PKEY_free(key);
		snprintf(err, errlen, "%s: not a PEM P-256 private key", path);
		return ERR_INVALID;
	}
	*out = key;
	return ERR_OK;
}

int webpush_public_b64(EVP_PKEY *key, char out[WEBPUSH_KEY_B64_LEN])
{
	uint8_t point[WEBPUSH_KEY_LEN];

	if (public_point(key, point) != ERR_OK)
		return ERR_FAIL;
	webpush_b64url(point, sizeof(point), out);
	return ERR_OK;
}

int webpush_origin(const char *endpoint, char *out, size_t cap)
{
	size_t n;

	if (strncmp(endpoint, "https://", 8) != 0)
		return ERR_INVALID;
	n = 8 + strcspn(endpoint + 8, "/?#");
	if (n == 8 || n >= cap || memchr(endpoint + 8, '@', n - 8) != NULL)
		return ERR_INVALID;
	memcpy(out, endpoint, n);
	out[n] = '\0';
	return ERR_OK;
}

/* es256: the JOSE signature (r || s, 32 bytes each) of msg with key.
 * ERR_OK or ERR_FAIL. */
static int es256(EVP_PKEY *key, const char *msg, size_t len, uint8_t sig[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80];
	const unsigned char *p = der;
	size_t derlen = sizeof(der);
	ECDSA_SIG *s = NULL;
	int ok;

	ok = md != NULL &&
	     EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	     EVP_DigestSign(md, der, &derlen, (const unsigned char *)msg,
			    len) == 1 &&
	     (s = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) != NULL &&
	     BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32) == 32 &&
	     BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32) == 32;
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(md);
	return ok ? ERR_OK : ERR_FAIL;
}

char *webpush_vapid(EVP_PKEY *key, const char *endpoint, const char *sub,
		    int64_t exp)
{
	static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ES256\"}";
	char aud[512], k[WEBPUSH_KEY_B64_LEN], *claims = NULL, *jwt = NULL;
	char *out = NULL;
	uint8_t sig[64];
	size_t hlen, clen, n;
	int len;

	if (webpush_origin(endpoint, aud, sizeof(aud)) != ERR_OK ||
	    webpush_public_b64(key, k) != ERR_OK)
		return NULL;
	/* aud is an origin (no quote or backslash: strcspn above stops at
	 * neither, so refuse them); sub is the operator's checked config */
	if (strpbrk(aud, "\"\\") != NULL || strpbrk(sub, "\"\\") != NULL)
		return NULL;
	len = asprintf(&claims, "{\"aud\":\"%s\",\"exp\":%lld,\"sub\":\"%s\"}",
		       aud, (long long)exp, sub);
	if (len < 0)
		return NULL;
	clen = (size_t)len;
	hlen = sizeof(header) - 1;
	n = (hlen + 2) / 3 * 4 + 1 + (clen + 2) / 3 * 4 + 1 + 88 + 1;
	jwt = malloc(n);
	if (jwt == NULL)
		goto err;
	hlen = webpush_b64url((const uint8_t *)header, hlen, jwt);
	jwt[hlen++] = '.';
	hlen += webpush_b64url((const uint8_t *)claims, clen, jwt + hlen);
	if (es256(key, jwt, hlen, sig) != ERR_OK)
		goto err;
	jwt[hlen++] = '.';
	webpush_b64url(sig, sizeof(sig), jwt + hlen);
	if (asprintf(&out, "vapid t=%s, k=%s", jwt, k) < 0)
		out = NULL;
err:
	free(claims);
	free(jwt);
	return out;
}

const char *webpush_vapid_cached(struct webpush_vapid_cache *c,
				 EVP_PKEY *key, const char *endpoint,
				 const char *sub, int64_t now, int64_t life)
{
	char origin[512], *o, *auth;
	size_t i, pick = 0;

	if (webpush_origin(endpoint, origin, sizeof(origin)) != ERR_OK)
		return NULL;
	for (i = 0; i < WEBPUSH_VAPID_ORIGINS; i++) {
		if (c->slot[i].origin && strcmp(c->slot[i].origin, origin) == 0) {
			if (c->slot[i].exp - now > life / 2)
				return c->slot[i].auth;
			pick = i;
			break;
		}
		/* else the free slot, or the one expiring first */
		if (!c->slot[pick].origin)
			continue;
		if (!c->slot[i].origin || c->slot[i].exp < c->slot[pick].exp)
			pick = i;
	}
	auth = webpush_vapid(key, endpoint, sub, now + life);
	o = auth ? strdup(origin) : NULL;
	if (!o) {
		free(auth);
		return NULL;
	}
	free(c->slot[pick].origin);
	free(c->slot[pick].auth);
	c->slot[pick].origin = o;
	c->slot[pick].auth = auth;
	c->slot[pick].exp = now + life;
	return auth;
}

void webpush_vapid_cache_clear(struct webpush_vapid_cache *c)
{
	for (size_t i = 0; i < WEBPUSH_VAPID_ORIGINS; i++) {
		free(c->slot[i].origin);
		free(c->slot[i].auth);
	}
	memset(c, 0, sizeof(*c));
}
