/* residents.c: resident credentials at a node.
 *
 *   POST /api/v1/household-codes   manager: {} -> 201 {"code": C}, a
 *                                  one-time code to hand to a household
 *   POST /api/v1/residents         {"household_code": C} -> 201
 *                                  {"token": T}, the resident's bearer
 *                                  token (Authorization: Bearer T)
 *
 * Codes and tokens are 128-bit random values; only their SHA-256 is
 * stored, so they need no slow KDF and a copied store yields nothing
 * usable. A code is used once. A token lets its resident follow their
 * requests (requests/{id}.json with personal data) and vote once per
 * poll. Redemptions are rate limited per address.
 *
 * Parts: tokens; the bearer; the routes. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <strings.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "manager.h"
#include "store.h"

/* ---- tokens ------------------------------------------------------------------- */

/* new_secret: 32 hex digits into out (33 bytes) and its SHA-256. */
static int new_secret(char out[33], unsigned char hash[32])
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
	sqlite3_stmt *st = NULL;
	int64_t id = 0;

	if (http_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, h, sizeof(h)) < 0 ||
	    strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	EVP_Digest(h + 7, strlen(h + 7), hash, &len, EVP_sha256(), NULL);
	if (sqlite3_prepare_v2(n->db, "SELECT resident FROM resident_token"
			       " WHERE hash = ?1", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* ---- the routes --------------------------------------------------------------------- */

static void make_code(struct node *n, struct lws *wsi,
		      struct http_exchange *ex)
{
	char code[33];
	unsigned char hash[32];
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_ERROR;

	if (new_secret(code, hash) == ERR_OK &&
	    sqlite3_prepare_v2(n->db, "INSERT INTO household_code (hash,"
			       " created) VALUES (?1, ?2)", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, clock_now());
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		http_reply_error(wsi, ex, 500, "internal", "no code made");
		return;
	}
	log_info("residents: the manager made a household code");
	http_reply_json(wsi, ex, 201, json_pack("{s:s}", "code", code));
}

/* step_insert: run one prepared INSERT/UPDATE; the sqlite code. */
static int step_once(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc;
}

/* redeem: a household code for a new resident and their token. */
static void redeem(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	json_t *in = http_parse_json(wsi, ex);
	const char *code;
	char token[33], peer[64], key[80];
	unsigned char chash[32], thash[32];
	unsigned int len = 32;
	sqlite3_stmt *st = NULL;
	int64_t resident = 0;
	int rc = SQLITE_ERROR, used = 0;

	if (!in)
		return;
	civic_peer(wsi, peer, sizeof(peer));
	snprintf(key, sizeof(key), "addr:%s", peer);
	if (civic_limited(n->civic->rl_register, key, wsi, ex, 0))
		goto out;
	code = json_string_value(json_object_get(in, "household_code"));
	if (!code || strlen(code) != 32) {
		http_reply_error(wsi, ex, 422, "invalid", "household_code: "
				 "required, as the manager handed it out");
		goto out;
	}
	EVP_Digest(code, 32, chash, &len, EVP_sha256(), NULL);
	if (new_secret(token, thash) != ERR_OK ||
	    store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		goto out;
	}
	if (sqlite3_prepare_v2(n->db, "INSERT INTO resident (created) VALUES"
			       " (?1)", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, clock_now());
		rc = step_once(st);
		resident = sqlite3_last_insert_rowid(n->db);
	}
	if (rc == SQLITE_DONE &&
	    sqlite3_prepare_v2(n->db, "UPDATE household_code SET resident ="
			       " ?2 WHERE hash = ?1 AND resident IS NULL", -1,
			       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, chash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, resident);
		rc = step_once(st);
		used = sqlite3_changes(n->db);
	}
	if (rc == SQLITE_DONE && used &&
	    sqlite3_prepare_v2(n->db, "INSERT INTO resident_token (hash,"
			       " resident, created) VALUES (?1, ?2, ?3)", -1,
			       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, thash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, resident);
		sqlite3_bind_int64(st, 3, clock_now());
		rc = step_once(st);
	}
	if (rc != SQLITE_DONE || !used ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		if (rc == SQLITE_DONE && !used)
			http_reply_error(wsi, ex, 401, "unauthorized",
					 "household_code: unknown or used");
		else
			http_reply_error(wsi, ex, 500, "internal", "try again");
		goto out;
	}
	log_info("residents: resident %lld registered with a household code",
		 (long long)resident);
	http_reply_json(wsi, ex, 201, json_pack("{s:s, s:I}", "token", token,
						"resident", (json_int_t)
						resident));
out:
	json_decref(in);
}

int residents_route(struct node *n, struct lws *wsi, struct http_exchange *ex,
		    struct manager_req *mr)
{
	if (strcmp(ex->path, "/api/v1/residents") == 0) {
		if (ex->method == HTTP_POST)
			redeem(n, wsi, ex);
		else
			http_reply_error(wsi, ex, 405, "method_not_allowed",
					 "use POST on %s", ex->path);
		return 1;
	}
	if (strcmp(ex->path, "/api/v1/household-codes") != 0)
		return 0;
	if (ex->method != HTTP_POST) {
		http_reply_error(wsi, ex, 405, "method_not_allowed",
				 "use POST on %s", ex->path);
		return 1;
	}
	if (!n->mgr) {
		http_reply_error(wsi, ex, 503, "busy", "not ready");
		return 1;
	}
	if (auth_request(n, wsi, ex, mr) != AUTH_GRANTED)
		return 1;
	make_code(n, wsi, ex);
	return 1;
}
