/* password.h: scrypt password hashes in one self-describing line.
 *
 * The line is "scrypt$N$r$p$SALT$HASH": N (a power of two), r and p are
 * scrypt's cost parameters in decimal, SALT and HASH standard base64 with
 * padding. New hashes use N=2^15, r=8, p=1 (32 MiB, about 100 ms on one
 * core), a 16-byte salt and a 32-byte hash; older lines keep verifying
 * with the parameters they name. The KDF is slow on purpose: call
 * password_verify and password_hash_make off the lws service thread. */
#ifndef ALLIANCE_PASSWORD_H
#define ALLIANCE_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

/* Parameters of new hashes. */
#define PASSWORD_N (1u << 15)
#define PASSWORD_R 8u
#define PASSWORD_P 1u
#define PASSWORD_SALT_LEN 16
#define PASSWORD_HASH_LEN 32

/* Bounds a hash line may name: enough for any sane cost, not a way to make
 * the daemon allocate gigabytes. Memory is 128 * r * (N + p + 2) bytes. */
#define PASSWORD_N_MIN (1u << 10)
#define PASSWORD_N_MAX (1u << 20)
#define PASSWORD_R_MAX 32u
#define PASSWORD_P_MAX 16u
#define PASSWORD_MAXMEM (256u * 1024u * 1024u)
#define PASSWORD_SALT_MIN 8
#define PASSWORD_SALT_MAX 64
#define PASSWORD_HASH_MIN 16
#define PASSWORD_HASH_MAX 64

/* Room for a hash line with the largest salt and hash, and its NUL. */
#define PASSWORD_LINE_MAX 256

/* Longest password accepted (bytes); longer ones never verify. */
#define PASSWORD_INPUT_MAX 1024

/* A parsed hash line. */
struct password_hash {
	uint64_t n;                 /* scrypt N, a power of two */
	uint32_t r;                 /* block size */
	uint32_t p;                 /* parallelism */
	unsigned char salt[PASSWORD_SALT_MAX];
	size_t salt_len;
	unsigned char hash[PASSWORD_HASH_MAX];
	size_t hash_len;
};

/* password_hash_parse: parse line into *out. Returns ERR_OK, or
 * ERR_INVALID with what is wrong in why ("N must be a power of two from
 * 1024 to 1048576"). */
int password_hash_parse(const char *line, struct password_hash *out,
			char *why, size_t whylen);

/* password_hash_make: hash pw[0..len) with a new random salt and the given
 * cost (PASSWORD_N, PASSWORD_R, PASSWORD_P for new hashes) into out as a
 * line. Returns ERR_OK, ERR_INVALID (cost out of bounds, password too
 * long), ERR_TOOBIG (outlen too small) or ERR_FAIL (no random bytes, the
 * KDF failed). */
int password_hash_make(const char *pw, size_t len, uint64_t n, uint32_t r,
		       uint32_t p, char *out, size_t outlen);

/* password_decoy: a hash line of the cost of new hashes with a random salt
 * and a random hash, which no password matches (2^-256): verifying against
 * it costs what a real account's does, so a login for an unknown account
 * takes as long as one for a known account with a wrong password. Returns
 * ERR_OK, ERR_TOOBIG (outlen too small) or ERR_FAIL (no random bytes). */
int password_decoy(char *out, size_t outlen);

/* password_verify: run scrypt over pw[0..len) with h's salt and cost and
 * compare in constant time. Returns ERR_OK on a match, ERR_DENIED on a
 * mismatch (or a password over PASSWORD_INPUT_MAX), ERR_FAIL when the KDF
 * failed. */
int password_verify(const struct password_hash *h, const char *pw,
		    size_t len);

#endif
