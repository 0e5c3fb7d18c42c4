/* voters.c: who may vote at a node (one resident, one vote), and the
 * manager's hand over residents' accounts.
 *
 *   GET  /api/v1/residents/pending        manager: the accounts whose
 *                                         phone nobody has confirmed,
 *                                         newest first: 200 {"items":
 *                                         [{"resident", "name", "phone",
 *                                         "created"}]} (at most
 *                                         LIMIT_PENDING_LIST)
 *   POST /api/v1/residents/{id}/confirm   manager, having seen the
 *                                         person: her phone is confirmed
 *                                         and she may vote -> 200
 *                                         {"resident", "confirmed"}; 404
 *   POST /api/v1/residents/{id}/revoke    manager: every token of the
 *                                         resident stops working (a lost
 *                                         phone, an impostor) -> 200
 *                                         {"resident", "revoked": count};
 *                                         404
 *
 * A resident votes with a household code (the office handed it to one
 * household) or a confirmed phone: confirmed by a code sent to it
 * (phone_verify.c) or, without an SMS gateway, by the manager here. A
 * phone anybody can type in is no proof of a person: three made-up
 * registrations must not be three votes. The manager's changes take
 * Content-Type: application/json (HTTP Basic) or the console's CSRF token
 * (auth.c).
 *
 * A phone votes once per poll, whichever account carries it: a vote also
 * keeps HMAC-SHA256(node secret, phone) for its poll until the poll
 * closes, so an account deleted and registered again with the same phone
 * finds the poll voted in (the secret is made once and kept in meta; the
 * keys go when the poll closes).
 *
 * Parts: the rule; one vote per phone; the list; confirm; revoke; the
 * route. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "manager.h"
#include "store.h"

#define RESIDENTS "/api/v1/residents/"
/* The meta key of the secret that keys the phones of vote_phone. */
#define META_PHONE_SECRET "vote_phone_secret"

/* ---- the rule ------------------------------------------------------------------- */

int voters_may_vote(struct node *n, int64_t resident)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_prepare_v2(n->db, "SELECT r.confirmed != 0 OR EXISTS"
			       " (SELECT 1 FROM household_code c WHERE"
			       " c.resident = r.id) FROM resident r WHERE r.id ="
			       " ?1", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, resident);
	if (sqlite3_step(st) == SQLITE_ROW)
		ok = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return ok;
}

/* ---- one vote per phone ------------------------------------------------------ */

/* phone_secret: the node's secret for phone keys into out (64 hex
 * digits), made on first use. ERR_OK or ERR_IO. */
static int phone_secret(struct node *n, char out[65])
{
	unsigned char raw[32];
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_ERROR;

	for (int tries = 0; tries < 2; tries++) {
		if (sqlite3_prepare_v2(n->db, "SELECT value FROM meta WHERE key"
				       " = ?1", -1, &st, NULL) != SQLITE_OK)
			return ERR_IO;
		sqlite3_bind_text(st, 1, META_PHONE_SECRET, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_bytes(st, 0) == 64) {
			memcpy(out, sqlite3_column_text(st, 0), 64);
			out[64] = '\0';
			sqlite3_finalize(st);
			return ERR_OK;
		}
		sqlite3_finalize(st);
		st = NULL;
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return ERR_IO;
		for (size_t i = 0; i < sizeof(raw); i++)
			snprintf(out + 2 * i, 3, "%02x", raw[i]);
		if (sqlite3_prepare_v2(n->db, "INSERT OR IGNORE INTO meta (key,"
				       " value) VALUES (?1, ?2)", -1, &st,
				       NULL) != SQLITE_OK)
			return ERR_IO;
		sqlite3_bind_text(st, 1, META_PHONE_SECRET, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, out, 64, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE)
			return ERR_IO;
	}
	return ERR_IO;
}

/* phone_key: HMAC-SHA256 of resident's phone under the node's secret
 * into key; 1 when she has a phone, 0 when not, -1 on error. */
static int phone_key(struct node *n, int64_t resident, unsigned char key[32])
{
	sqlite3_stmt *st = NULL;
	char secret[65];
	unsigned int len = 32;
	int rc = 0;

	if (sqlite3_prepare_v2(n->db, "SELECT phone FROM resident WHERE id ="
			       " ?1 AND phone IS NOT NULL", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, resident);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *phone = (const char *)sqlite3_column_text(st, 0);

		rc = phone_secret(n, secret) == ERR_OK &&
		     HMAC(EVP_sha256(), secret, 64, (const unsigned char *)phone,
			  strlen(phone), key, &len) ? 1 : -1;
	}
	sqlite3_finalize(st);
	return rc;
}

int voters_claim_phone(struct node *n, const char *origin, const char *id,
		       int64_t resident)
{
	unsigned char key[32];
	sqlite3_stmt *st = NULL;
	int has = phone_key(n, resident, key), rc = SQLITE_ERROR;

	if (has <= 0)
		return has == 0 ? 1 : -1;
	/* the keys of closed polls are of no use any more */
	if (sqlite3_prepare_v2(n->db, "DELETE FROM vote_phone WHERE EXISTS"
			       " (SELECT 1 FROM poll p WHERE p.origin ="
			       " vote_phone.poll_origin AND p.id ="
			       " vote_phone.poll_id AND p.closes <= ?1)", -1,
			       &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, clock_now());
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE ||
	    sqlite3_prepare_v2(n->db, "INSERT OR IGNORE INTO vote_phone"
			       " (poll_origin, poll_id, phone_key) VALUES (?1,"
			       " ?2, ?3)", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, key, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(n->db) > 0;
}

/* ---- the list ------------------------------------------------------------------- */

static void pending(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	json_t *items = json_array();
	sqlite3_stmt *st = NULL;
	char t1[CLOCK_RFC3339_LEN];

	if (!items || sqlite3_prepare_v2(n->db, "SELECT r.id, r.name, r.phone,"
			       " r.created FROM resident r WHERE r.phone IS NOT"
			       " NULL AND r.confirmed = 0 AND NOT EXISTS"
			       " (SELECT 1 FROM household_code c WHERE"
			       " c.resident = r.id) ORDER BY r.id DESC LIMIT"
			       " ?1", -1, &st, NULL) != SQLITE_OK) {
		json_decref(items);
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	sqlite3_bind_int(st, 1, LIMIT_PENDING_LIST);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items, json_pack(
			"{s:I, s:s, s:s, s:s}", "resident",
			(json_int_t)sqlite3_column_int64(st, 0), "name",
			(const char *)sqlite3_column_text(st, 1), "phone",
			(const char *)sqlite3_column_text(st, 2), "created",
			clock_rfc3339(sqlite3_column_int64(st, 3), t1,
				      sizeof(t1))));
	sqlite3_finalize(st);
	http_reply_json(wsi, ex, 200, json_pack("{s:o}", "items", items));
}

/* ---- confirm ------------------------------------------------------------------- */

/* run: sql binding ?1 = resident and ?2 = now (when sql has it); the
 * rows it changed, or -1. */
static int run(struct node *n, const char *sql, int64_t resident)
{
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_ERROR;

	if (sqlite3_prepare_v2(n->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, resident);
		sqlite3_bind_int64(st, 2, clock_now());
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? sqlite3_changes(n->db) : -1;
}

/* exists: 1 when resident is an account that was not deleted. */
static int exists(struct node *n, int64_t resident)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(n->db, "SELECT 1 FROM resident r WHERE id = ?1"
			       " AND (phone IS NOT NULL OR EXISTS (SELECT 1"
			       " FROM household_code c WHERE c.resident ="
			       " r.id))", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, resident);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static void confirm(struct node *n, struct lws *wsi, struct http_exchange *ex,
		    int64_t resident)
{
	sqlite3_stmt *st = NULL;
	char t1[CLOCK_RFC3339_LEN];
	int64_t when = 0;

	/* a phone confirmed already keeps its first confirmation */
	if (run(n, "UPDATE resident SET confirmed = ?2, confirmed_by ="
		" 'manager' WHERE id = ?1 AND phone IS NOT NULL AND confirmed ="
		" 0", resident) < 0) {
		http_reply_error(wsi, ex, 500, "internal", "nothing was "
				 "changed; try again");
		return;
	}
	if (sqlite3_prepare_v2(n->db, "SELECT confirmed FROM resident WHERE id"
			       " = ?1 AND phone IS NOT NULL", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(st, 1, resident);
		if (sqlite3_step(st) == SQLITE_ROW)
			when = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (!when) {
		http_reply_error(wsi, ex, 404, "not_found", "no account %lld "
				 "with a phone here", (long long)resident);
		return;
	}
	log_info("residents: the manager confirmed resident %lld's phone",
		 (long long)resident);
	http_reply_json(wsi, ex, 200, json_pack("{s:I, s:s}", "resident",
						(json_int_t)resident,
						"confirmed", clock_rfc3339(
						when, t1, sizeof(t1))));
}

/* ---- revoke ---------------------------------------------------------------------- */

static void revoke_tokens(struct node *n, struct lws *wsi, struct http_exchange *ex,
		   int64_t resident)
{
	int gone;

	if (!exists(n, resident)) {
		http_reply_error(wsi, ex, 404, "not_found", "no account %lld "
				 "here", (long long)resident);
		return;
	}
	gone = run(n, "DELETE FROM resident_token WHERE resident = ?1",
		   resident);
	if (gone < 0) {
		http_reply_error(wsi, ex, 500, "internal", "nothing was "
				 "changed; try again");
		return;
	}
	log_info("residents: the manager revoked resident %lld's %d sign-ins",
		 (long long)resident, gone);
	http_reply_json(wsi, ex, 200, json_pack("{s:I, s:i}", "resident",
						(json_int_t)resident,
						"revoked", gone));
}

/* ---- the route --------------------------------------------------------------------- */

/* parse_id: the resident id of "{id}/action" (1 to 18 digits) into *id
 * and the action into *action; 0 when it is not one. */
static int parse_id(const char *rest, int64_t *id, const char **action)
{
	size_t digits = strspn(rest, "0123456789");
	char *end;
	long long v;

	if (!digits || digits > 18 || rest[0] == '0' || rest[digits] != '/')
		return 0;
	errno = 0;
	v = strtoll(rest, &end, 10);
	if (errno || end != rest + digits || v <= 0)
		return 0;
	*id = (int64_t)v;
	*action = rest + digits + 1;
	return strcmp(*action, "confirm") == 0 || strcmp(*action, "revoke") ==
	       0;
}

void voters_on_pending(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	(void)ctx;
	(void)m;
	pending(node_from_wsi(wsi), wsi, ex);
}

void voters_on_action(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m)
{
	const char *action = NULL;
	int64_t id = 0;

	(void)ctx;
	(void)m;
	if (!parse_id(ex->path + sizeof(RESIDENTS) - 1, &id, &action))
		http_reply_error(wsi, ex, 404, "not_found",
				 "no such resource: %s", ex->path);
	else if (strcmp(action, "confirm") == 0)
		confirm(node_from_wsi(wsi), wsi, ex, id);
	else
		revoke_tokens(node_from_wsi(wsi), wsi, ex, id);
}
