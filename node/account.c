/* account.c: the signed-in resident's own endpoints at a node, each with
 * the resident's bearer token (Authorization: Bearer T, residents.c):
 *
 *   GET    /api/v1/residents/me     -> 200 {"resident", "phone" (masked:
 *                                   138****8001, or null), "phone_number"
 *                                   (the whole number, to fill in her own
 *                                   forms, or null), "household",
 *                                   "created", "votes": [{"poll",
 *                                   "question", "option", "choice",
 *                                   "voted", "closed"}]}
 *   DELETE /api/v1/residents/token  sign out: this token stops working,
 *                                   204
 *   DELETE /api/v1/residents/me     delete the account: every token, the
 *                                   phone and password, and the personal
 *                                   data of the resident's requests kept
 *                                   here, also of those not yet relayed
 *                                   (scrub_requests), 204
 *
 * 401 without a valid token. A deleted resident's row stays, emptied, so
 * its id is never given to someone else (votes are kept per id: counts
 * must not change, and a reused id would inherit them).
 *
 * Parts: the token; who am I; sign out; delete; the route. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "store.h"

#define ME "/api/v1/residents/me"
#define TOKEN "/api/v1/residents/token"
/* Votes "me" lists at most, newest first. */
#define ACCOUNT_VOTES_MAX 200

/* ---- the token ---------------------------------------------------------------- */

/* bearer_hash: the SHA-256 of the request's bearer token into hash; 0
 * when it carries none. */
static int bearer_hash(struct lws *wsi, unsigned char hash[32])
{
	char h[128];
	unsigned int len = 32;

	if (http_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, h, sizeof(h)) < 0 ||
	    strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	EVP_Digest(h + 7, strlen(h + 7), hash, &len, EVP_sha256(), NULL);
	return 1;
}

/* ---- who am I ------------------------------------------------------------------- */

/* masked: a phone's 11 digits as 138****8001 into out (12 bytes). */
static const char *masked(const char *phone, char out[12])
{
	if (!phone || strlen(phone) != 11)
		return NULL;
	snprintf(out, 12, "%.3s****%s", phone, phone + 7);
	return out;
}

/* votes: the resident's votes, newest first, with each poll's question
 * and the option chosen. */
static json_t *votes(struct node *n, int64_t resident)
{
	json_t *items = json_array();
	sqlite3_stmt *st = NULL;
	char key[LIMIT_RECORD_ID + 1], t1[CLOCK_RFC3339_LEN];

	if (!items || sqlite3_prepare_v2(n->db, "SELECT v.poll_origin,"
			       " v.poll_id, v.option, v.created, p.question,"
			       " p.options, p.closes FROM vote v JOIN poll p"
			       " ON p.origin = v.poll_origin AND p.id ="
			       " v.poll_id WHERE v.resident = ?1 ORDER BY"
			       " v.created DESC LIMIT ?2", -1, &st, NULL) !=
	    SQLITE_OK)
		return items;
	sqlite3_bind_int64(st, 1, resident);
	sqlite3_bind_int(st, 2, ACCOUNT_VOTES_MAX);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *opts = json_loads((const char *)
					  sqlite3_column_text(st, 5), 0, NULL);
		int64_t option = sqlite3_column_int64(st, 2);
		json_t *choice = json_array_get(opts, (size_t)option);

		relay_tally_id((const char *)sqlite3_column_text(st, 0),
			       (const char *)sqlite3_column_text(st, 1), key,
			       sizeof(key));
		json_array_append_new(items, json_pack(
			"{s:s, s:s, s:I, s:O?, s:s, s:b}", "poll", key,
			"question", (const char *)sqlite3_column_text(st, 4),
			"option", (json_int_t)option, "choice", choice,
			"voted", clock_rfc3339(sqlite3_column_int64(st, 3),
					       t1, sizeof(t1)),
			"closed", sqlite3_column_int64(st, 6) <= clock_now()));
		json_decref(opts);
	}
	sqlite3_finalize(st);
	return items;
}

static void me(struct node *n, struct lws *wsi, struct http_exchange *ex,
	       int64_t resident)
{
	sqlite3_stmt *st = NULL;
	char mask[12], t1[CLOCK_RFC3339_LEN];
	json_t *out = NULL;

	if (sqlite3_prepare_v2(n->db, "SELECT r.phone, r.created, EXISTS"
			       " (SELECT 1 FROM household_code c WHERE"
			       " c.resident = r.id) FROM resident r WHERE r.id"
			       " = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, resident);
		if (sqlite3_step(st) == SQLITE_ROW)
			out = json_pack("{s:I, s:s?, s:s?, s:b, s:s, s:o}",
				"resident", (json_int_t)resident,
				"phone", masked((const char *)
					sqlite3_column_text(st, 0), mask),
				"phone_number", (const char *)
					sqlite3_column_text(st, 0),
				"household", sqlite3_column_int(st, 2),
				"created", clock_rfc3339(
					sqlite3_column_int64(st, 1), t1,
					sizeof(t1)),
				"votes", votes(n, resident));
	}
	sqlite3_finalize(st);
	if (!out) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	http_reply_json(wsi, ex, 200, out);
}

/* ---- sign out ------------------------------------------------------------------ */

static void sign_out(struct node *n, struct lws *wsi,
		     struct http_exchange *ex, const unsigned char hash[32],
		     int64_t resident)
{
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_ERROR;

	if (sqlite3_prepare_v2(n->db, "DELETE FROM resident_token WHERE hash"
			       " = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	log_info("residents: resident %lld signed out", (long long)resident);
	http_reply(wsi, ex, 204, "application/json", NULL, 0);
}

/* ---- delete ------------------------------------------------------------------- */

/* blank: empty s in place (an unpacked message's string, whoever owns
 * its bytes). */
static void blank(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
}

/* scrub_outbox: resident's requests still waiting in the relay outbox go
 * on without their personal data (caller's transaction). */
static int scrub_outbox(struct node *n, int64_t resident)
{
	sqlite3_stmt *st = NULL, *up = NULL;
	int rc = SQLITE_ERROR;

	if (sqlite3_prepare_v2(n->db, "SELECT o.id, o.body FROM relay_outbox o"
			       " JOIN request r ON r.origin = o.origin AND r.id"
			       " = o.id WHERE o.origin = ?1 AND o.kind = ?2 AND"
			       " r.resident = ?3", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(n->db, "UPDATE relay_outbox SET body = ?3 WHERE"
			       " origin = ?1 AND kind = ?4 AND id = ?2", -1, &up,
			       NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ALLIANCE__V1__KIND__KIND_REQUEST);
	sqlite3_bind_int64(st, 3, resident);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		Change *ch = relay_unpack(sqlite3_column_blob(st, 1),
					  (size_t)sqlite3_column_bytes(st, 1));
		uint8_t *buf = NULL;
		size_t len = 0;

		if (ch && ch->body_case == ALLIANCE__V1__CHANGE__BODY_REQUEST) {
			blank(ch->request->name);
			blank(ch->request->phone);
			blank(ch->request->email);
			blank(ch->request->address);
			ch->request->has_location = 0;
			ch->request->lat = ch->request->lon = 0;
			buf = relay_pack(ch, &len);
		}
		if (ch)
			alliance__v1__change__free_unpacked(ch, NULL);
		if (!buf)
			continue;
		sqlite3_bind_text(up, 1, n->cfg.community, -1, SQLITE_STATIC);
		sqlite3_bind_text(up, 2, (const char *)sqlite3_column_text(st, 0),
				  -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(up, 3, buf, (int)len, SQLITE_TRANSIENT);
		sqlite3_bind_int(up, 4, ALLIANCE__V1__KIND__KIND_REQUEST);
		rc = sqlite3_step(up);
		sqlite3_reset(up);
		free(buf);
		if (rc != SQLITE_DONE)
			break;
	}
out:
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

/* scrub_requests: blank the personal data (name, phone, email, address,
 * location) of every request resident sent from this node, here and in
 * those still waiting in the relay outbox, and forget whose they were;
 * caller's transaction. ERR_OK or ERR_IO. (The request table is
 * relay.c's; requests.c writes it.) */
static int scrub_requests(struct node *n, int64_t resident)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (scrub_outbox(n, resident) != ERR_OK)
		return ERR_IO;

	if (sqlite3_prepare_v2(n->db, "UPDATE request SET name = '', phone ="
			       " '', email = '', address = '', has_location ="
			       " 0, lat = NULL, lon = NULL, resident = NULL"
			       " WHERE origin = ?1 AND resident = ?2", -1, &st,
			       NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, resident);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}


/* run: one prepared statement binding resident as ?1; ERR_OK or ERR_IO. */
static int run(struct node *n, const char *sql, int64_t resident)
{
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_ERROR;

	if (sqlite3_prepare_v2(n->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, resident);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

static void delete_account(struct node *n, struct lws *wsi,
			   struct http_exchange *ex, int64_t resident)
{
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK ||
	    scrub_requests(n, resident) != ERR_OK ||
	    run(n, "DELETE FROM resident_token WHERE resident = ?1",
		resident) != ERR_OK ||
	    run(n, "UPDATE resident SET phone = NULL, password_hash = NULL"
		" WHERE id = ?1", resident) != ERR_OK ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		http_reply_error(wsi, ex, 500, "internal", "nothing was "
				 "deleted; try again");
		return;
	}
	log_info("residents: resident %lld deleted their account",
		 (long long)resident);
	http_reply(wsi, ex, 204, "application/json", NULL, 0);
}

/* ---- the route ------------------------------------------------------------------ */

int account_route(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	int is_me = strcmp(ex->path, ME) == 0;
	unsigned char hash[32];
	int64_t resident;

	if (!is_me && strcmp(ex->path, TOKEN) != 0)
		return 0;
	if (is_me ? ex->method != HTTP_GET && ex->method != HTTP_DELETE
		  : ex->method != HTTP_DELETE) {
		http_reply_error(wsi, ex, 405, "method_not_allowed", "use %s on"
				 " %s", is_me ? "GET or DELETE" : "DELETE",
				 ex->path);
		return 1;
	}
	resident = residents_bearer(n, wsi);
	if (!resident || !bearer_hash(wsi, hash)) {
		http_reply_error(wsi, ex, 401, "unauthorized", "sign in first: "
				 "a resident's token is needed "
				 "(Authorization: Bearer TOKEN)");
		return 1;
	}
	if (!is_me)
		sign_out(n, wsi, ex, hash, resident);
	else if (ex->method == HTTP_GET)
		me(n, wsi, ex, resident);
	else
		delete_account(n, wsi, ex, resident);
	return 1;
}
