/* account.c: the signed-in resident's own endpoints at a node, each with
 * the resident's bearer token (Authorization: Bearer T, residents.c):
 *
 *   GET    /api/v1/residents/me     -> 200 {"resident", "name" (or
 *                                   null), "phone" (masked:
 *                                   138****8001, or null), "phone_number"
 *                                   (the whole number, to fill in her own
 *                                   forms, or null), "household",
 *                                   "phone_confirmed" (by a code sent to
 *                                   it or by the manager), "voter" (may
 *                                   vote: a household code or a
 *                                   confirmed phone, voters.c),
 *                                   "created", "votes": [{"poll",
 *                                   "question", "option", "choice",
 *                                   "voted", "closed"}]}
 *   PATCH  /api/v1/residents/me     {"name"}: her name ("" removes it)
 *                                   -> 200 as GET; 422 naming the field
 *   DELETE /api/v1/residents/token  sign out: this token stops working,
 *                                   204 (every token also expires after
 *                                   [limits] resident_token_idle_s
 *                                   unused, and the manager can revoke
 *                                   them all, voters.c)
 *   DELETE /api/v1/residents/me     delete the account: every token, the
 *                                   phone, password and name, and the
 *                                   personal data of the resident's
 *                                   requests, here and at the communities
 *                                   they were sent to (erase_requests:
 *                                   relay.h's erasure; open ones are
 *                                   withdrawn), and her SMS consent and
 *                                   the texts waiting for her phone
 *                                   (outbox.h), 204
 *
 * 401 without a valid token. A deleted resident's row stays, emptied, so
 * its id is never given to someone else (votes are kept per id: counts
 * must not change, and a reused id would inherit them).
 *
 * Parts: the token; who am I; her name; sign out; delete; the route. */
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "outbox.h"
#include "store.h"

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
	snprintf(out, 12, "%.3s****%.4s", phone, phone + 7);
	return out;
}

/* votes: the resident's votes, newest first, with each poll's question
 * and the option chosen. */
/* vote_json: one of her votes into the array arg. */
static void vote_json(const struct poll_vote *v, void *arg)
{
	char key[LIMIT_RECORD_ID + 1], t1[CLOCK_RFC3339_LEN];
	json_t *opts = json_loads(v->options, 0, NULL);
	json_t *choice = json_array_get(opts, (size_t)v->option);

	relay_tally_id(v->poll_origin, v->poll_id, key, sizeof(key));
	json_array_append_new(arg, json_pack(
		"{s:s, s:s, s:I, s:O?, s:s, s:b}", "poll", key,
		"question", v->question, "option", (json_int_t)v->option,
		"choice", choice, "voted", clock_rfc3339(v->created, t1,
							 sizeof(t1)),
		"closed", v->closes <= clock_now()));
	json_decref(opts);
}

static json_t *votes(struct node *n, int64_t resident)
{
	json_t *items = json_array();

	if (items)
		poll_store_votes_of(n->civic->polls, resident,
				    ACCOUNT_VOTES_MAX, vote_json, items);
	return items;
}

static void me(struct node *n, struct lws *wsi, struct http_exchange *ex,
	       int64_t resident)
{
	struct resident_row row;
	char mask[12], t1[CLOCK_RFC3339_LEN];
	json_t *out = NULL;

	if (resident_store_get(n->civic->residents, resident, &row) == ERR_OK)
		out = json_pack("{s:I, s:s?, s:s?, s:s?, s:b, s:b, s:b, s:s,"
				" s:o}",
				"resident", (json_int_t)resident,
				"name", row.name[0] ? row.name : NULL,
				"phone", row.phone[0]
					 ? masked(row.phone, mask) : NULL,
				"phone_number", row.phone[0] ? row.phone
							     : NULL,
				"household", row.household,
				"phone_confirmed", row.confirmed != 0,
				"voter", voters_may_vote(n, resident),
				"created", clock_rfc3339(row.created, t1,
							 sizeof(t1)),
				"votes", votes(n, resident));
	if (!out) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	http_reply_json(wsi, ex, 200, out);
}

/* ---- her name ------------------------------------------------------------------ */

int account_name(struct lws *wsi, struct http_exchange *ex, json_t *in,
		 int required, const char **name)
{
	json_t *v = json_object_get(in, "name");

	*name = "";
	if (!required && (!v || json_is_null(v)))
		return 1;
	if (!json_is_string(v) || !relay_name_valid(json_string_value(v))) {
		http_reply_error(wsi, ex, 422, "invalid", "name: %stext of at "
				 "most %d bytes (about %d Chinese characters),"
				 " without control characters", required ?
				 "required, \"\" to remove it, or " : "",
				 RELAY_NAME_MAX, RELAY_NAME_MAX / 3);
		return 0;
	}
	*name = json_string_value(v);
	return 1;
}

/* rename: PATCH me {"name"}: her new name ("" removes it), then who she
 * is; a 422 naming the field changes nothing. */
static void rename_me(struct node *n, struct lws *wsi,
		      struct http_exchange *ex, int64_t resident)
{
	json_t *in = http_parse_json(wsi, ex);
	const char *name;

	if (!in)
		return;
	if (!account_name(wsi, ex, in, 1, &name))
		goto out;
	if (resident_store_set_name(n->civic->residents, resident, name) !=
	    ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "nothing was "
				 "changed; try again");
		goto out;
	}
	log_info("residents: resident %lld changed her name",
		 (long long)resident);
	me(n, wsi, ex, resident);
out:
	json_decref(in);
}

/* ---- sign out ------------------------------------------------------------------ */

static void sign_out(struct node *n, struct lws *wsi,
		     struct http_exchange *ex, const unsigned char hash[32],
		     int64_t resident)
{
	if (resident_store_token_drop(n->civic->residents, hash) != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	log_info("residents: resident %lld signed out", (long long)resident);
	http_reply(wsi, ex, 204, "application/json", NULL, 0);
}

/* ---- delete ------------------------------------------------------------------- */

/* erase_request: write the erased version of our request id
 * (requests_write_version), withdrawn now when it was not yet done,
 * declined or withdrawn. Caller's transaction; ERR_OK or ERR_IO. */
static int erase_request(struct node *n, const char *id)
{
	struct request_row row;
	int64_t withdrawn;
	int rc;

	if (request_store_get(n->civic->requests, n->cfg.community, id,
			      &row) != ERR_OK)
		return ERR_IO;
	withdrawn = relay_status_closed(row.status) ? 0 : clock_now();
	rc = requests_write_version(n, &row, withdrawn, 1);
	request_row_free(&row);
	return rc == ERR_OK ? ERR_OK : ERR_IO;
}

/* erase_requests: every request resident sent from this node goes on
 * without its personal data, here and at its owner (relay.h's erasure:
 * a newer version, which also replaces one still waiting in the relay
 * outbox), withdrawn when still open, and no longer hers; caller's
 * transaction. ERR_OK or ERR_IO. */
static int erase_requests(struct node *n, int64_t resident)
{
	/* the ids first: the rows change under the scan otherwise */
	json_t *ids = request_store_ids_of(n->civic->requests,
					   n->cfg.community, resident);
	size_t i;
	json_t *id;
	int rc = ids ? ERR_OK : ERR_IO;

	json_array_foreach(ids, i, id)
		if (rc == ERR_OK)
			rc = erase_request(n, json_string_value(id));
	json_decref(ids);
	if (rc != ERR_OK)
		return rc;
	return request_store_unlink(n->civic->requests, resident);
}

static void delete_account(struct node *n, struct lws *wsi,
			   struct http_exchange *ex, int64_t resident)
{
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK ||
	    erase_requests(n, resident) != ERR_OK ||
	    resident_store_tokens_drop(n->civic->residents, resident) < 0 ||
	    resident_store_forget(n->civic->residents, resident) != ERR_OK ||
	    outbox_cancel_resident(n->db, resident, 1) != ERR_OK ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		http_reply_error(wsi, ex, 500, "internal", "nothing was "
				 "deleted; try again");
		return;
	}
	log_info("residents: resident %lld deleted their account",
		 (long long)resident);
	relay_flush(n);
	http_reply(wsi, ex, 204, "application/json", NULL, 0);
}

/* ---- the route ------------------------------------------------------------------ */

void account_on_me(void *ctx, struct lws *wsi, struct http_exchange *ex,
		   const struct route_match *m)
{
	struct public_http *h = ctx;
	struct node *n = node_from_wsi(wsi);

	(void)m;
	if (ex->method == HTTP_GET)
		me(n, wsi, ex, h->resident);
	else if (ex->method == HTTP_PATCH)
		rename_me(n, wsi, ex, h->resident);
	else
		delete_account(n, wsi, ex, h->resident);
}

void account_on_sign_out(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m)
{
	struct public_http *h = ctx;
	unsigned char hash[32];

	(void)m;
	bearer_hash(wsi, hash);   /* there is one: the table admitted it */
	sign_out(node_from_wsi(wsi), wsi, ex, hash, h->resident);
}
