/* auth.c: who may use the manager endpoints, decided on the service thread
 * without ever running the password KDF there.
 *
 * HTTP Basic manager:PASSWORD is checked against [manager] password_hash
 * (lib/password.h). A password not seen lately is parked for the KDF
 * worker; once verified, a credential is remembered for
 * LIMIT_LOGIN_CACHE_S under a SHA-256 of (a per-process random salt, the
 * hash line, the password), so scripted calls stay fast, a changed hash
 * line invalidates it, and no password is kept. Failures are counted per
 * client (lib/peer.h: through [public] trusted_proxies, IPv6 by /64) in
 * a lib/ratelimit.h limiter, which never evicts a client at its limit:
 * LIMIT_LOGIN_FAILS within LIMIT_LOGIN_WINDOW_S gets 429 until the window
 * passes. The KDF lane bounds the checks one client may have waiting
 * (worker.c). The console's login (POST /api/v1/session) goes
 * through the same limit, cache and KDF worker; its cookie and CSRF token
 * are checked by console.c.
 *
 * Parts: state; the cache; the rate limit; Basic credentials; the
 * request; --hash-password. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "manager.h"
#include "password.h"
#include "ratelimit.h"

/* Credentials remembered at once; the oldest goes first. */
#define AUTH_CACHE_SLOTS 8
/* The realm of the WWW-Authenticate challenge. */
#define AUTH_CHALLENGE "Basic realm=\"alliance-node\", charset=\"UTF-8\""
#define AUTH_USER "manager"

/* ---- state ---------------------------------------------------------------- */

struct cache_slot {
	unsigned char key[32];      /* SHA-256(salt, hash line, password) */
	int64_t expires;            /* 0: empty */
};

struct auth_state {
	unsigned char salt[32];     /* per process: cache keys mean nothing
				       outside it */
	struct cache_slot cache[AUTH_CACHE_SLOTS];
	struct ratelimit *fails;    /* failed logins per client */
};

int auth_state_new(struct auth_state **out)
{
	struct auth_state *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return ERR_NOMEM;
	if (RAND_bytes(a->salt, sizeof(a->salt)) != 1 ||
	    !(a->fails = ratelimit_new(LIMIT_LOGIN_FAILS,
				       LIMIT_LOGIN_WINDOW_S))) {
		free(a);
		return ERR_FAIL;
	}
	*out = a;
	return ERR_OK;
}

void auth_state_free(struct auth_state **a)
{
	if (!*a)
		return;
	ratelimit_free(&(*a)->fails);
	OPENSSL_cleanse(*a, sizeof(**a));
	free(*a);
	*a = NULL;
}

/* ---- the cache ------------------------------------------------------------ */

static int cache_key(const struct auth_state *a, const char *line,
		     const char *pw, size_t len, unsigned char key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int klen = 0;
	int ok;

	if (!md)
		return ERR_NOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(md, a->salt, sizeof(a->salt)) == 1 &&
	     EVP_DigestUpdate(md, line, strlen(line) + 1) == 1 &&
	     EVP_DigestUpdate(md, pw, len) == 1 &&
	     EVP_DigestFinal_ex(md, key, &klen) == 1 && klen == 32;
	EVP_MD_CTX_free(md);
	return ok ? ERR_OK : ERR_FAIL;
}

static int cache_hit(struct auth_state *a, const unsigned char key[32],
		     int64_t now)
{
	int hit = 0;

	for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++)
		if (a->cache[i].expires > now &&
		    CRYPTO_memcmp(a->cache[i].key, key, 32) == 0)
			hit = 1;
	return hit;
}

static void cache_put(struct auth_state *a, const unsigned char key[32],
		      int64_t now)
{
	size_t oldest = 0;

	for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
		if (CRYPTO_memcmp(a->cache[i].key, key, 32) == 0) {
			oldest = i;
			break;
		}
		if (a->cache[i].expires < a->cache[oldest].expires)
			oldest = i;
	}
	memcpy(a->cache[oldest].key, key, 32);
	a->cache[oldest].expires = now + LIMIT_LOGIN_CACHE_S;
}

/* ---- the rate limit -------------------------------------------------------- */

static void rate_fail(struct auth_state *a, const char *peer, int64_t now)
{
	if (!ratelimit_hit(a->fails, peer, now) &&
	    ratelimit_over(a->fails, peer, now))
		log_warn("manager: %u failed logins from %s within %d s; "
			 "refusing it for now", LIMIT_LOGIN_FAILS, peer,
			 LIMIT_LOGIN_WINDOW_S);
}

/* ---- Basic credentials -------------------------------------------------- */

/* basic_password: the password of an "Authorization: Basic" header for
 * user manager into pw (NUL-terminated, *len bytes). Returns ERR_OK,
 * ERR_NOTFOUND (no Authorization header), ERR_INVALID (not Basic, not
 * base64, no colon) or ERR_DENIED (another user). */
static int basic_password(struct lws *wsi, char *pw, size_t pwmax,
			  size_t *len)
{
	char hdr[4 * (PASSWORD_INPUT_MAX + 64) / 3 + 16];
	char dec[PASSWORD_INPUT_MAX + 64];
	const char *b64, *colon;
	int n;

	n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (n <= 0)
		return ERR_NOTFOUND;
	if (http_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, hdr,
			sizeof(hdr)) < 0 || strncasecmp(hdr, "Basic ", 6))
		return ERR_INVALID;
	for (b64 = hdr + 6; *b64 == ' '; b64++)
		;
	n = lws_b64_decode_string(b64, dec, (int)sizeof(dec) - 1);
	if (n <= 0)
		return ERR_INVALID;
	dec[n] = '\0';
	colon = memchr(dec, ':', (size_t)n);
	if (!colon) {
		OPENSSL_cleanse(dec, sizeof(dec));
		return ERR_INVALID;
	}
	if ((size_t)(colon - dec) != strlen(AUTH_USER) ||
	    memcmp(dec, AUTH_USER, strlen(AUTH_USER)) != 0) {
		OPENSSL_cleanse(dec, sizeof(dec));
		return ERR_DENIED;
	}
	*len = (size_t)n - (size_t)(colon + 1 - dec);
	if (*len >= pwmax) {
		OPENSSL_cleanse(dec, sizeof(dec));
		return ERR_DENIED;
	}
	memcpy(pw, colon + 1, *len);
	pw[*len] = '\0';
	OPENSSL_cleanse(dec, sizeof(dec));
	OPENSSL_cleanse(hdr, sizeof(hdr));
	return ERR_OK;
}

/* refuse: a 401. Scripts get the Basic challenge; the console (a login,
 * or a request carrying X-CSRF-Token) does not, so that a browser never
 * opens its own password dialog over the page. */
static enum auth_verdict refuse(struct lws *wsi, struct http_exchange *ex,
				const struct manager_req *mr,
				const char *message)
{
	if (!mr->login && !console_from_page(wsi))
		ex->www_authenticate = AUTH_CHALLENGE;
	http_reply_error(wsi, ex, 401, "unauthorized", "%s", message);
	return AUTH_REPLIED;
}

/* ---- the request ------------------------------------------------------------ */

/* admit: the checks before any credential is looked at: a password is
 * configured, and the client address is not over the login limit. Fills
 * mr->peer. AUTH_GRANTED to go on, else AUTH_REPLIED. */
static enum auth_verdict admit(struct node *n, struct lws *wsi,
			       struct http_exchange *ex,
			       struct manager_req *mr, int64_t now)
{
	unsigned wait;

	if (!n->cfg.manager_password_hash) {
		http_reply_error(wsi, ex, 403, "forbidden", "no manager "
				 "password configured on this node ([manager] "
				 "password_hash)");
		return AUTH_REPLIED;
	}
	peer_client(wsi, &n->cfg.proxies, mr->peer, sizeof(mr->peer));
	wait = ratelimit_over(n->mgr->auth->fails, mr->peer, now);
	if (wait) {
		http_reply_error(wsi, ex, 429, "too_many", "too many failed "
				 "logins from %s; try again in %u s", mr->peer,
				 wait);
		return AUTH_REPLIED;
	}
	return AUTH_GRANTED;
}

/* check_password: pw (len bytes, cleansed here) against the hash line: a
 * cached credential is granted at once, a new one is parked for the KDF
 * worker. */
static enum auth_verdict check_password(struct node *n, struct lws *wsi,
					struct http_exchange *ex,
					struct manager_req *mr, char *pw,
					size_t len, int64_t now)
{
	struct auth_state *a = n->mgr->auth;
	const char *line = n->cfg.manager_password_hash;
	struct job *j;

	if (cache_key(a, line, pw, len, mr->cache_key) != ERR_OK)
		goto internal;
	if (cache_hit(a, mr->cache_key, now)) {
		OPENSSL_cleanse(pw, len);
		mr->auth.method = mr->login ? AUTH_LOGIN : AUTH_BASIC;
		return AUTH_GRANTED;
	}
	j = job_new(JOB_VERIFY);
	if (!j || !(j->password = malloc(len + 1)) ||
	    !(j->hash_line = strdup(line))) {
		job_free(j);
		goto internal;
	}
	memcpy(j->password, pw, len);
	j->password[len] = '\0';
	j->password_len = len;
	OPENSSL_cleanse(pw, len);
	snprintf(j->peer, sizeof(j->peer), "%s", mr->peer);
	if (manager__park(n, wsi, ex, mr, WORKER_KDF, j) != ERR_OK)
		return AUTH_REPLIED;    /* 429 or 503 stored */
	return AUTH_PARKED;
internal:
	OPENSSL_cleanse(pw, len);
	http_reply_error(wsi, ex, 500, "internal", "cannot check the "
			 "credentials");
	return AUTH_REPLIED;
}

enum auth_verdict auth_request(struct node *n, struct lws *wsi,
			       struct http_exchange *ex,
			       struct manager_req *mr)
{
	char pw[PASSWORD_INPUT_MAX + 1];
	int64_t now = clock_now();
	enum auth_verdict v;
	size_t len = 0;
	int rc;

	if (mr->auth.method != AUTH_NONE)
		return AUTH_GRANTED;
	v = admit(n, wsi, ex, mr, now);
	if (v != AUTH_GRANTED)
		return v;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 &&
	    console_has_cookie(n, wsi))
		return console_auth(n, wsi, ex, mr);
	rc = basic_password(wsi, pw, sizeof(pw), &len);
	if (rc == ERR_NOTFOUND)
		return refuse(wsi, ex, mr, "credentials required: HTTP Basic "
			      "manager:PASSWORD, or log in to the console");
	if (rc == ERR_INVALID)
		return refuse(wsi, ex, mr, "the Authorization header is not "
			      "HTTP Basic user:password in base64");
	if (rc != ERR_OK) {
		rate_fail(n->mgr->auth, mr->peer, now);
		return refuse(wsi, ex, mr, "wrong user or password");
	}
	v = check_password(n, wsi, ex, mr, pw, len, now);
	OPENSSL_cleanse(pw, sizeof(pw));
	return v;
}

enum auth_verdict auth_login(struct node *n, struct lws *wsi,
			     struct http_exchange *ex, struct manager_req *mr,
			     char *pw, size_t len)
{
	int64_t now = clock_now();
	enum auth_verdict v;

	mr->login = 1;
	v = admit(n, wsi, ex, mr, now);
	if (v != AUTH_GRANTED) {
		OPENSSL_cleanse(pw, len);
		return v;
	}
	return check_password(n, wsi, ex, mr, pw, len, now);
}

enum auth_verdict auth_verified(struct node *n, struct lws *wsi,
				struct http_exchange *ex,
				struct manager_req *mr, const struct job *j)
{
	struct auth_state *a = n->mgr->auth;
	int64_t now = clock_now();

	if (j->verdict == ERR_DENIED)
		rate_fail(a, j->peer, now);
	log_debug("manager: password check for %s took %.1f ms: %s", j->peer,
		  j->ms, err_name(j->verdict));
	if (!wsi)
		return AUTH_REPLIED;
	if (j->verdict == ERR_OK) {
		cache_put(a, mr->cache_key, now);
		OPENSSL_cleanse(mr->cache_key, sizeof(mr->cache_key));
		mr->auth.method = mr->login ? AUTH_LOGIN : AUTH_BASIC;
		return AUTH_GRANTED;
	}
	if (j->verdict == ERR_DENIED)
		return refuse(wsi, ex, mr, mr->login ? "wrong password"
			      : "wrong user or password");
	if (j->verdict == ERR_AGAIN) {
		http_reply_error(wsi, ex, 503, "busy", "too many requests "
				 "waiting; try again");
		return AUTH_REPLIED;
	}
	http_reply_error(wsi, ex, 500, "internal", "cannot check the "
			 "credentials");
	return AUTH_REPLIED;
}

/* ---- --hash-password -------------------------------------------------------- */

int auth_hash_password_main(FILE *in, FILE *out, FILE *err)
{
	char pw[PASSWORD_INPUT_MAX + 2];
	char line[PASSWORD_LINE_MAX];
	size_t len;
	int rc;

	if (!fgets(pw, sizeof(pw), in)) {
		fprintf(err, "alliance-node: --hash-password reads the "
			"password from standard input; it was empty\n");
		return 2;
	}
	len = strlen(pw);
	if (len && pw[len - 1] == '\n')
		pw[--len] = '\0';
	else if (len > PASSWORD_INPUT_MAX) {
		OPENSSL_cleanse(pw, sizeof(pw));
		fprintf(err, "alliance-node: the password is longer than %d "
			"bytes\n", PASSWORD_INPUT_MAX);
		return 2;
	}
	if (len && pw[len - 1] == '\r')
		pw[--len] = '\0';
	if (len == 0) {
		fprintf(err, "alliance-node: the password is empty\n");
		return 2;
	}
	rc = password_hash_make(pw, len, PASSWORD_N, PASSWORD_R, PASSWORD_P,
				line, sizeof(line));
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc != ERR_OK) {
		fprintf(err, "alliance-node: cannot hash the password: %s\n",
			err_name(rc));
		return 1;
	}
	fprintf(out, "%s\n", line);
	return 0;
}
