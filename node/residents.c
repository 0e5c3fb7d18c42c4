/* residents.c: resident credentials at a node.
 *
 *   POST /api/v1/household-codes   manager: {} -> 201 {"code": C}, a
 *                                  one-time code to hand to a household
 *   POST /api/v1/residents         {"household_code": C} (optionally with
 *                                  "phone" and "password", so its owner
 *                                  can log in again elsewhere), or
 *                                  {"phone": P, "password": W}, each
 *                                  with an optional "name" -> 201
 *                                  {"token": T, "resident": N}, the
 *                                  resident's bearer token
 *                                  (Authorization: Bearer T); 422 naming
 *                                  the field (a bad or used code among
 *                                  them); 409 when the phone is
 *                                  registered. With an SMS gateway
 *                                  ([sms]) a phone proves itself
 *                                  first: 202 for a registered phone
 *                                  as for a new one, and the account
 *                                  comes with the texted code
 *                                  (phone_verify.c)
 *   POST /api/v1/residents/login   {"phone": P, "password": W} -> 200
 *                                  {"token": T, "resident": N}
 *
 * (account.c has the signed-in resident's own endpoints: who am I, my
 * name, sign out, delete my account.)
 *
 * Codes and tokens are 128-bit random values; only their SHA-256 is
 * stored, so they need no slow KDF and a copied store yields nothing
 * usable. A token expires [limits] resident_token_idle_s after its last
 * use (kept to the minute), and is gone at sign-out (account.c) and when
 * the manager revokes the resident's tokens (voters.c). A request's own
 * follow token is the request's (requests.c), not one of these. A phone
 * registered without a gateway votes once the manager confirms it
 * (voters.c). A code is used once: it is checked before the KDF and
 * claimed in the transaction that stores the resident, so a code used
 * meanwhile creates nothing. A token lets its resident follow their requests
 * (requests/{id}.json with personal data) and vote once per poll. A
 * password is hashed and checked with scrypt (lib/password.h) on the
 * manager's KDF worker: the request is parked meanwhile and resumed by its
 * id (residents_finish). The phone is a mainland mobile number kept at
 * this node only (as its 11 digits), never relayed. Redemptions and
 * registrations are limited per address, logins per address and per phone.
 *
 * Parts: tokens; the bearer; household codes; phones and passwords;
 * registration; login; the worker's answers; the routes. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "manager.h"
#include "password.h"
#include "store.h"
#include "text.h"

/* ---- tokens ------------------------------------------------------------------- */

int residents_secret(char out[33], unsigned char hash[32])
{
	unsigned char raw[16];
	unsigned int len = 32;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return ERR_FAIL;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	EVP_Digest(out, 32, hash, &len, EVP_sha256(), NULL);
	return ERR_OK;
}

/* ---- the bearer ------------------------------------------------------------------ */

int64_t residents_bearer(struct node *n, struct lws *wsi)
{
	char h[128];
	unsigned char hash[32];
	unsigned int len = 32;

	if (http_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, h, sizeof(h)) < 0 ||
	    strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	EVP_Digest(h + 7, strlen(h + 7), hash, &len, EVP_sha256(), NULL);
	/* a token unused for resident_token_idle_s is no token */
	return resident_store_bearer(n->civic->residents, hash, clock_now(),
				     (int64_t)n->cfg.resident_token_idle_s);
}

/* ---- household codes ------------------------------------------------------------ */

static void make_code(struct node *n, struct lws *wsi,
		      struct http_exchange *ex)
{
	char code[33];
	unsigned char hash[32];

	if (residents_secret(code, hash) != ERR_OK ||
	    resident_store_code_add(n->civic->residents, hash, clock_now()) !=
	    ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "no code made");
		return;
	}
	log_info("residents: the manager made a household code");
	http_reply_json(wsi, ex, 201, json_pack("{s:s}", "code", code));
}

/* code_usable: the SHA-256 of in's household_code into chash when it is
 * one this node handed out and nobody has used; else a 422 naming the
 * field (then 0). */
static int code_usable(struct node *n, struct lws *wsi,
		       struct http_exchange *ex, json_t *in,
		       unsigned char chash[32])
{
	const char *code = json_string_value(json_object_get(in,
							     "household_code"));
	unsigned int len = 32;
	int found;

	if (!code || strlen(code) != 32 || strspn(code, "0123456789abcdef") !=
	    32) {
		http_reply_error(wsi, ex, 422, "invalid", "household_code: "
				 "required, the 32 letters and digits the "
				 "community's office handed out");
		return 0;
	}
	EVP_Digest(code, 32, chash, &len, EVP_sha256(), NULL);
	found = resident_store_code_usable(n->civic->residents, chash);
	if (!found)
		http_reply_error(wsi, ex, 422, "invalid", "household_code: "
				 "unknown or already used; ask the "
				 "community's office for a new one");
	return found;
}

/* ---- phones and passwords --------------------------------------------------- */

/* take_credentials: phone (as digits; a mainland mobile number when mobile
 * is set) and password of a JSON body, or a 422 naming the field (then
 * 0). */
static int take_credentials(struct lws *wsi, struct http_exchange *ex,
			    json_t *in, int mobile, char *phone,
			    const char **pw, size_t *pwlen)
{
	json_t *p = json_object_get(in, "password");

	if (!text_phone_digits(json_string_value(json_object_get(in, "phone")),
			       phone, mobile)) {
		http_reply_error(wsi, ex, 422, "invalid", "phone: required, "
				 "a mainland mobile number: %d digits "
				 "starting 13 to 19 (spaces and + - ( ) "
				 "allowed)", LIMIT_PHONE_MOBILE);
		return 0;
	}
	*pw = json_string_value(p);
	*pwlen = *pw ? json_string_length(p) : 0;
	if (!*pw || *pwlen < LIMIT_RESIDENT_PASSWORD_MIN ||
	    *pwlen > LIMIT_RESIDENT_PASSWORD_MAX) {
		http_reply_error(wsi, ex, 422, "invalid", "password: required, "
				 "%d to %d bytes", LIMIT_RESIDENT_PASSWORD_MIN,
				 LIMIT_RESIDENT_PASSWORD_MAX);
		return 0;
	}
	return 1;
}

/* kdf_job: a JOB_RESIDENT_* with a copy of pw and phone, parked on the
 * residents' KDF lane; a 500, 429 or 503 stored when it cannot be. */
static void kdf_job(struct node *n, struct lws *wsi, struct http_exchange *ex,
		    struct manager_req *mr, struct job *j, const char *phone,
		    const char *pw, size_t pwlen)
{
	if (!j || !(j->password = malloc(pwlen + 1))) {
		job_free(j);
		http_reply_error(wsi, ex, 500, "internal", "out of memory");
		return;
	}
	memcpy(j->password, pw, pwlen);
	j->password[pwlen] = '\0';
	j->password_len = pwlen;
	snprintf(j->phone, sizeof(j->phone), "%s", phone);
	civic_peer(wsi, j->peer, sizeof(j->peer));
	manager__park(n, wsi, ex, mr, WORKER_KDF_RESIDENT, j);
}

/* issue_token: a new token for resident, inserted in the caller's
 * transaction (or alone), used now; the tokens that expired are dropped
 * on the way. ERR_OK with the token in out. */
static int issue_token(struct node *n, int64_t resident, char out[33])
{
	unsigned char thash[32];

	if (residents_secret(out, thash) != ERR_OK)
		return ERR_IO;
	return resident_store_token_add(n->civic->residents, resident, thash,
					clock_now(), (int64_t)
					n->cfg.resident_token_idle_s);
}

int64_t residents_by_phone(struct node *n, const char *phone, char **line)
{
	return resident_store_by_phone(n->civic->residents, phone, line);
}

/* ---- registration ------------------------------------------------------------- */

void residents_store(struct node *n, struct lws *wsi,
		     struct http_exchange *ex, const char *phone,
		     const char *hash_line, const unsigned char *chash,
		     const char *name, const char *confirmed_by)
{
	struct resident_store *rs = n->civic->residents;
	char token[33];
	int64_t resident = 0;
	int rc, claimed = 1;

	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	rc = resident_store_add(rs, phone, hash_line, name, clock_now(),
				confirmed_by, &resident);
	if (rc == ERR_OK && chash)
		claimed = resident_store_code_claim(rs, chash, resident);
	if (rc != ERR_OK || claimed != 1 ||
	    issue_token(n, resident, token) != ERR_OK ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		if (rc == ERR_INVALID)   /* registered meanwhile */
			http_reply_error(wsi, ex, 409, "conflict", "phone: "
					 "already registered here; log in "
					 "instead");
		else if (claimed == 0)
			http_reply_error(wsi, ex, 422, "invalid",
					 "household_code: unknown or already "
					 "used; ask the community's office for"
					 " a new one");
		else
			http_reply_error(wsi, ex, 500, "internal",
					 "try again");
		return;
	}
	log_info("residents: resident %lld registered with %s%s",
		 (long long)resident, chash && phone ? "a household code and "
		 "a phone" : chash ? "a household code" : "a phone",
		 confirmed_by ? " confirmed by a code sent to it" : phone &&
		 !chash ? " (to be confirmed by the manager)" : "");
	http_reply_json(wsi, ex, 201, json_pack("{s:s, s:I}", "token", token,
						"resident", (json_int_t)
						resident));
}

/* enrol: {"phone","password"} and/or {"household_code"}, with an
 * optional "name": checked here (the name, the code, then the phone and
 * password, then whether the phone is free); a code alone is stored at
 * once, a password is hashed on the KDF worker and stored when it comes
 * back (enrolled). */
static void enrol(struct node *n, struct lws *wsi, struct http_exchange *ex,
		  struct manager_req *mr, json_t *in)
{
	char phone[LIMIT_PHONE_DIGITS + 1];
	unsigned char chash[32];
	const char *pw;
	size_t pwlen;
	int with_code = json_object_get(in, "household_code") != NULL;
	int with_phone = json_object_get(in, "phone") ||
			 json_object_get(in, "password") || !with_code;
	const char *name;
	struct job *j;

	if (!account_name(wsi, ex, in, 0, &name))
		return;
	if (with_code && !with_phone) {
		if (code_usable(n, wsi, ex, in, chash))
			residents_store(n, wsi, ex, NULL, NULL, chash, name,
					NULL);
		return;
	}
	if ((with_code && !code_usable(n, wsi, ex, in, chash)) ||
	    !take_credentials(wsi, ex, in, 1, phone, &pw, &pwlen))
		return;
	/* with a gateway, a known phone is answered as an unknown one
	 * (phone_verify.c); without, the phone is taken */
	if (n->civic->sms ? phone_verify_limited(n, wsi, ex, phone)
			  : residents_by_phone(n, phone, NULL) != 0) {
		if (!n->civic->sms)
			http_reply_error(wsi, ex, 409, "conflict", "phone: "
					 "already registered here; log in "
					 "instead");
		return;
	}
	if (!n->mgr) {
		http_reply_error(wsi, ex, 503, "busy", "not ready");
		return;
	}
	j = job_new(JOB_RESIDENT_REGISTER);
	if (j && !(j->name = strdup(name))) {
		job_free(j);
		j = NULL;      /* kdf_job answers 500 */
	}
	if (j && with_code) {
		memcpy(j->code_hash, chash, sizeof(chash));
		j->has_code = 1;
	}
	kdf_job(n, wsi, ex, mr, j, phone, pw, pwlen);
}

/* enrolled: store the resident of a finished JOB_RESIDENT_REGISTER and
 * answer with their first token. */
static void enrolled(struct node *n, struct lws *wsi,
		     struct http_exchange *ex, const struct job *j)
{
	if (j->verdict != ERR_OK || !j->hash_line) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	log_debug("residents: a password hashed in %.0f ms", j->ms);
	if (n->civic->sms)
		phone_verify_send(n, wsi, ex, j);
	else
		residents_store(n, wsi, ex, j->phone, j->hash_line,
				j->has_code ? j->code_hash : NULL, j->name,
				NULL);
}

/* ---- login -------------------------------------------------------------------- */

/* login: {"phone","password"}: limited per address and per phone, then
 * checked on the KDF worker (logged_in). */
static void login(struct node *n, struct lws *wsi, struct http_exchange *ex,
		  struct manager_req *mr)
{
	json_t *in = http_parse_json(wsi, ex);
	char phone[LIMIT_PHONE_DIGITS + 1], peer[64], key[80];
	const char *pw;
	size_t pwlen;
	char *line = NULL;
	int64_t resident;
	struct job *j;

	if (!in)
		return;
	civic_peer(wsi, peer, sizeof(peer));
	snprintf(key, sizeof(key), "addr:%s", peer);
	if (civic_limited(n->civic->rl_login, key, wsi, ex, 0) ||
	    !take_credentials(wsi, ex, in, 0, phone, &pw, &pwlen))
		goto out;
	snprintf(key, sizeof(key), "phone:%s", phone);
	if (civic_limited(n->civic->rl_login, key, wsi, ex, 0))
		goto out;
	resident = residents_by_phone(n, phone, &line);
	/* an unknown phone is checked against a decoy hash, so the answer
	 * takes as long as a known phone's with a wrong password and tells
	 * nobody which phones are registered */
	if (!resident && (!(line = malloc(PASSWORD_LINE_MAX)) ||
			  password_decoy(line, PASSWORD_LINE_MAX) != ERR_OK)) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		goto out;
	}
	if (!n->mgr) {
		http_reply_error(wsi, ex, 503, "busy", "not ready");
		goto out;
	}
	j = job_new(JOB_RESIDENT_LOGIN);
	if (j) {
		j->resident = resident;
		j->hash_line = line;   /* the job takes it */
		line = NULL;
	}
	kdf_job(n, wsi, ex, mr, j, phone, pw, pwlen);
out:
	free(line);
	json_decref(in);
}

/* logged_in: answer a finished JOB_RESIDENT_LOGIN with a new token. */
static void logged_in(struct node *n, struct lws *wsi,
		      struct http_exchange *ex, const struct job *j)
{
	char token[33];

	if (j->verdict == ERR_DENIED || !j->resident) {
		http_reply_error(wsi, ex, 401, "unauthorized", "wrong phone or "
				 "password");
		return;
	}
	if (j->verdict != ERR_OK || issue_token(n, j->resident, token) !=
	    ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	log_info("residents: resident %lld logged in", (long long)j->resident);
	http_reply_json(wsi, ex, 200, json_pack("{s:s, s:I}", "token", token,
						"resident", (json_int_t)
						j->resident));
}

/* ---- the worker's answers ------------------------------------------------------- */

void residents_finish(struct node *n, struct lws *wsi,
		      struct http_exchange *ex, const struct job *j)
{
	log_debug("residents: password %s for %s took %.1f ms",
		  j->kind == JOB_RESIDENT_REGISTER ? "hash" : "check",
		  j->peer, j->ms);
	if (!wsi)
		return;        /* the client left: nothing is stored */
	if (j->verdict == ERR_AGAIN)
		http_reply_error(wsi, ex, 503, "busy", "too many requests "
				 "waiting; try again");
	else if (j->kind == JOB_RESIDENT_REGISTER)
		enrolled(n, wsi, ex, j);
	else
		logged_in(n, wsi, ex, j);
}

/* ---- the routes --------------------------------------------------------------------- */

/* residents_post: POST /api/v1/residents: a household code, a phone, or
 * both. */
static void residents_post(struct node *n, struct lws *wsi,
			   struct http_exchange *ex, struct manager_req *mr)
{
	json_t *in;
	char peer[64], key[80];

	if (!(in = http_parse_json(wsi, ex)))
		return;
	civic_peer(wsi, peer, sizeof(peer));
	snprintf(key, sizeof(key), "addr:%s", peer);
	if (!civic_limited(n->civic->rl_register, key, wsi, ex, 0))
		enrol(n, wsi, ex, mr, in);
	json_decref(in);
}

void residents_on_register(void *ctx, struct lws *wsi,
			   struct http_exchange *ex,
			   const struct route_match *m)
{
	struct public_http *h = ctx;

	(void)m;
	residents_post(node_from_wsi(wsi), wsi, ex, &h->mgr);
}

void residents_on_login(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m)
{
	struct public_http *h = ctx;

	(void)m;
	login(node_from_wsi(wsi), wsi, ex, &h->mgr);
}

void residents_on_household_code(void *ctx, struct lws *wsi,
				 struct http_exchange *ex,
				 const struct route_match *m)
{
	(void)ctx;
	(void)m;
	make_code(node_from_wsi(wsi), wsi, ex);
}
