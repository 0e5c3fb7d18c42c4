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
	struct resident_row row;

	return resident_store_get(n->civic->residents, resident, &row) ==
	       ERR_OK && (row.confirmed || row.household);
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
	struct resident_row row;
	char secret[65];
	unsigned int len = 32;
	int rc = resident_store_get(n->civic->residents, resident, &row);

	if (rc == ERR_NOTFOUND || (rc == ERR_OK && !row.phone[0]))
		return 0;
	if (rc != ERR_OK || phone_secret(n, secret) != ERR_OK)
		return -1;
	return HMAC(EVP_sha256(), secret, 64, (const unsigned char *)row.phone,
		    strlen(row.phone), key, &len) ? 1 : -1;
}

int voters_claim_phone(struct node *n, const char *origin, const char *id,
		       int64_t resident)
{
	unsigned char key[32];
	int has = phone_key(n, resident, key);

	if (has <= 0)
		return has == 0 ? 1 : -1;
	return poll_store_claim_phone(n->civic->polls, origin, id, key,
				      clock_now());
}

/* ---- the list ------------------------------------------------------------------- */

/* pending_add: an account waiting for its phone's confirmation into the
 * array arg. */
static void pending_add(const struct resident_row *row, void *arg)
{
	char t1[CLOCK_RFC3339_LEN];

	json_array_append_new(arg, json_pack(
		"{s:I, s:s, s:s, s:s}", "resident", (json_int_t)row->id,
		"name", row->name, "phone", row->phone, "created",
		clock_rfc3339(row->created, t1, sizeof(t1))));
}

static void pending(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	json_t *items = json_array();

	if (!items || resident_store_unconfirmed(n->civic->residents,
						 LIMIT_PENDING_LIST,
						 pending_add, items) !=
	    ERR_OK) {
		json_decref(items);
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	http_reply_json(wsi, ex, 200, json_pack("{s:o}", "items", items));
}

/* ---- confirm ------------------------------------------------------------------- */

/* exists: 1 when resident is an account that was not deleted. */
static int exists(struct node *n, int64_t resident)
{
	struct resident_row row;

	return resident_store_get(n->civic->residents, resident, &row) ==
	       ERR_OK && (row.phone[0] || row.household);
}

static void confirm(struct node *n, struct lws *wsi, struct http_exchange *ex,
		    int64_t resident)
{
	struct resident_row row;
	char t1[CLOCK_RFC3339_LEN];
	int64_t when = 0;

	/* a phone confirmed already keeps its first confirmation */
	if (resident_store_confirm(n->civic->residents, resident,
				   clock_now()) != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "nothing was "
				 "changed; try again");
		return;
	}
	if (resident_store_get(n->civic->residents, resident, &row) ==
	    ERR_OK && row.phone[0])
		when = row.confirmed;
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
	gone = resident_store_tokens_drop(n->civic->residents, resident);
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
