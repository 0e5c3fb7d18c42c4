/* password.c: scrypt password hashes in one self-describing line (see
 * password.h), on OpenSSL's EVP_PBE_scrypt.
 *
 * Parts: base64 of the salt and hash; parsing a line; making one;
 * verifying a password. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "password.h"

#define PASSWORD_PREFIX "scrypt$"

/* ---- base64 ----------------------------------------------------------- */

static int b64_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* b64_decode: standard base64 with padding, s[0..len) into out (at most
 * max bytes). Returns the decoded length, or -1 when malformed or too
 * long. EVP_DecodeBlock skips white space and counts padding as zero
 * bytes, so the text is checked here first. */
static int b64_decode(const char *s, size_t len, unsigned char *out,
		      size_t max)
{
	unsigned char buf[3 * (PASSWORD_LINE_MAX / 4) + 3];
	size_t pad = 0, i;
	int n;

	if (len == 0 || len % 4 || len > PASSWORD_LINE_MAX)
		return -1;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	for (i = 0; i < len - pad; i++)
		if (!b64_char((unsigned char)s[i]))
			return -1;
	n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > max)
		return -1;
	n -= (int)pad;
	memcpy(out, buf, (size_t)n);
	OPENSSL_cleanse(buf, sizeof(buf));
	return n;
}

/* ---- parsing --------------------------------------------------------- */

/* parse_u64: a decimal number of digits only, s[0..len), into *v. */
static int parse_u64(const char *s, size_t len, uint64_t *v)
{
	char buf[24];
	char *end = NULL;
	unsigned long long x;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	x = strtoull(buf, &end, 10);
	if (errno || end != buf + len)
		return -1;
	*v = x;
	return 0;
}

/* cost_ok: N, r and p within bounds and their memory within the cap.
 * Returns NULL or why not. */
static const char *cost_check(uint64_t n, uint64_t r, uint64_t p)
{
	if (n < PASSWORD_N_MIN || n > PASSWORD_N_MAX || (n & (n - 1)))
		return "N must be a power of two from 1024 to 1048576";
	if (r < 1 || r > PASSWORD_R_MAX)
		return "r must be from 1 to 32";
	if (p < 1 || p > PASSWORD_P_MAX)
		return "p must be from 1 to 16";
	if (128 * r * (n + p + 2) > PASSWORD_MAXMEM)
		return "N * r needs more than 256 MiB";
	return NULL;
}

int password_hash_parse(const char *line, struct password_hash *out,
			char *why, size_t whylen)
{
	const char *part[5];
	size_t plen[5];
	const char *s, *bad;
	uint64_t n, r, p;
	int k;

	memset(out, 0, sizeof(*out));
	if (!line || strncmp(line, PASSWORD_PREFIX,
			     strlen(PASSWORD_PREFIX)) != 0) {
		snprintf(why, whylen, "not a password hash: expected "
			 "scrypt$N$r$p$SALT$HASH (make one with "
			 "alliance-node --hash-password)");
		return ERR_INVALID;
	}
	s = line + strlen(PASSWORD_PREFIX);
	for (int i = 0; i < 5; i++) {
		const char *d = strchr(s, '$');

		if ((i < 4 && !d) || (i == 4 && d)) {
			snprintf(why, whylen, "expected 6 fields "
				 "scrypt$N$r$p$SALT$HASH");
			return ERR_INVALID;
		}
		part[i] = s;
		plen[i] = d ? (size_t)(d - s) : strlen(s);
		s = d ? d + 1 : s;
	}
	if (parse_u64(part[0], plen[0], &n) || parse_u64(part[1], plen[1], &r) ||
	    parse_u64(part[2], plen[2], &p)) {
		snprintf(why, whylen, "N, r and p must be decimal numbers");
		return ERR_INVALID;
	}
	bad = cost_check(n, r, p);
	if (bad) {
		snprintf(why, whylen, "%s", bad);
		return ERR_INVALID;
	}
	k = b64_decode(part[3], plen[3], out->salt, sizeof(out->salt));
	if (k < PASSWORD_SALT_MIN) {
		snprintf(why, whylen, "the salt must be base64 of 8 to 64 "
			 "bytes");
		return ERR_INVALID;
	}
	out->salt_len = (size_t)k;
	k = b64_decode(part[4], plen[4], out->hash, sizeof(out->hash));
	if (k < PASSWORD_HASH_MIN) {
		snprintf(why, whylen, "the hash must be base64 of 16 to 64 "
			 "bytes");
		return ERR_INVALID;
	}
	out->hash_len = (size_t)k;
	out->n = n;
	out->r = (uint32_t)r;
	out->p = (uint32_t)p;
	return ERR_OK;
}

/* ---- making ------------------------------------------------------------ */

static int kdf(const char *pw, size_t len, const unsigned char *salt,
	       size_t salt_len, uint64_t n, uint32_t r, uint32_t p,
	       unsigned char *key, size_t keylen)
{
	return EVP_PBE_scrypt(pw ? pw : "", len, salt, salt_len, n, r, p,
			      PASSWORD_MAXMEM, key, keylen) == 1
		? ERR_OK : ERR_FAIL;
}

int password_hash_make(const char *pw, size_t len, uint64_t n, uint32_t r,
		       uint32_t p, char *out, size_t outlen)
{
	unsigned char salt[PASSWORD_SALT_LEN], key[PASSWORD_HASH_LEN];
	char salt64[4 * ((PASSWORD_SALT_LEN + 2) / 3) + 1];
	char key64[4 * ((PASSWORD_HASH_LEN + 2) / 3) + 1];
	int k, rc = ERR_FAIL;

	if (cost_check(n, r, p) || len > PASSWORD_INPUT_MAX)
		return ERR_INVALID;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return ERR_FAIL;
	if (kdf(pw, len, salt, sizeof(salt), n, r, p, key, sizeof(key)))
		goto out;
	EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)key64, key, sizeof(key));
	k = snprintf(out, outlen, PASSWORD_PREFIX "%llu$%u$%u$%s$%s",
		     (unsigned long long)n, r, p, salt64, key64);
	rc = k < 0 || (size_t)k >= outlen ? ERR_TOOBIG : ERR_OK;
out:
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

int password_decoy(char *out, size_t outlen)
{
	unsigned char salt[PASSWORD_SALT_LEN], key[PASSWORD_HASH_LEN];
	char salt64[4 * ((PASSWORD_SALT_LEN + 2) / 3) + 1];
	char key64[4 * ((PASSWORD_HASH_LEN + 2) / 3) + 1];
	int k;

	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    RAND_bytes(key, sizeof(key)) != 1)
		return ERR_FAIL;
	EVP_EncodeBlock((unsigned char *)salt64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)key64, key, sizeof(key));
	k = snprintf(out, outlen, PASSWORD_PREFIX "%llu$%u$%u$%s$%s",
		     (unsigned long long)PASSWORD_N, PASSWORD_R, PASSWORD_P,
		     salt64, key64);
	return k < 0 || (size_t)k >= outlen ? ERR_TOOBIG : ERR_OK;
}

/* ---- verifying ----------------------------------------------------------- */

int password_verify(const struct password_hash *h, const char *pw,
		    size_t len)
{
	unsigned char key[PASSWORD_HASH_MAX];
	int rc;

	if (len > PASSWORD_INPUT_MAX || h->hash_len < PASSWORD_HASH_MIN ||
	    h->hash_len > sizeof(key))
		return ERR_DENIED;
	if (kdf(pw, len, h->salt, h->salt_len, h->n, h->r, h->p, key,
		h->hash_len))
		return ERR_FAIL;
	rc = CRYPTO_memcmp(key, h->hash, h->hash_len) == 0 ? ERR_OK
							   : ERR_DENIED;
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}
