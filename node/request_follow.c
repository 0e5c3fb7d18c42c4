/* request_follow.c: what a resident does after asking: follow the steps
 * of her requests, withdraw one, and list her account's requests.
 *
 *   POST /open311/v2/requests/{id}/withdraw.{json,xml}
 *                        form-encoded request_secret=T (the request's
 *                        own; the older name token too), or the
 *                        resident's bearer -> 200 [the request]; 409 when
 *                        it is done, declined or withdrawn already
 *   GET  /api/v1/residents/me/requests
 *                        the bearer's requests made here, newest first,
 *                        with personal data and steps -> {"items": [...]}
 *
 * Steps (request_step) are kept at both ends: submitted and delivered
 * (the owner's receipt, relay.h), each status the owner sets, and the
 * withdrawal. A withdrawal is a newer version of the request itself (its
 * origin is its one writer) with withdrawn set; it goes to the owner the
 * way the request went, or, served at home, only to the district's count.
 * So does an erasure (relay.h; account.c writes it when a resident deletes
 * her account): a newer version with erased set and no personal data.
 *
 * The hub's records land here too: a request for our service (a new one
 * is answered with the receipt, relay.h's rule: status "open" with
 * delivered set), a withdrawal or erasure of one (our copy's personal data
 * then blanked), and the owner's statuses of our residents' requests.
 *
 * Parts: steps; applying the hub's records; newer versions and
 * withdrawing; the account's requests. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "form.h"
#include "log.h"
#include "store.h"
#include "text.h"

/* The most requests the account's list shows. */
#define MINE_MAX 200

/* ---- steps ------------------------------------------------------------------------ */

int requests_step_put(struct node *n, const char *origin, const char *id,
		      uint64_t version, const char *status, int64_t at,
		      const char *notes, int64_t scheduled)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(n->db, "INSERT OR IGNORE INTO request_step"
				" (origin, id, version, status, at, notes,"
				" scheduled) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
				" ?7)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)version);
		sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, at);
		sqlite3_bind_text(st, 6, notes ? notes : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, scheduled);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

json_t *requests_steps_json(struct node *n, const char *origin,
			    const char *id, int private)
{
	sqlite3_stmt *st = NULL;
	json_t *out = json_array();
	char t1[CLOCK_RFC3339_LEN], t2[CLOCK_RFC3339_LEN];

	if (!out || sqlite3_prepare_v2(n->db, "SELECT status, at, notes,"
			       " scheduled FROM request_step WHERE origin = ?1"
			       " AND id = ?2 ORDER BY at, version", -1, &st,
			       NULL) != SQLITE_OK)
		return out;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *notes = (const char *)sqlite3_column_text(st, 2);
		int64_t scheduled = sqlite3_column_int64(st, 3);
		json_t *o = json_pack("{s:s, s:s}", "status",
				      (const char *)sqlite3_column_text(st, 0),
				      "at", clock_rfc3339(
					      sqlite3_column_int64(st, 1), t1,
					      sizeof(t1)));

		if (!o)
			continue;
		if (private && notes && *notes)
			json_object_set_new(o, "notes", json_string(notes));
		if (scheduled)
			json_object_set_new(o, "scheduled", json_string(
				clock_rfc3339(scheduled, t2, sizeof(t2))));
		json_array_append_new(out, o);
	}
	sqlite3_finalize(st);
	return out;
}

/* ---- applying the hub's records --------------------------------------------- */

/* send_receipt: the owner's receipt of request (origin, id), stored at
 * time at: a status "open" with delivered set (relay.h), in the
 * outbox, in the caller's transaction. */
static int send_receipt(struct node *n, const char *origin, const char *id,
			int64_t at)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__RequestStatus s = ALLIANCE__V1__REQUEST_STATUS__INIT;
	char why[160];

	s.request_origin = (char *)origin;
	s.status = (char *)"open";
	s.notes = (char *)"";
	s.updated = at;
	s.delivered = at;
	ch.origin = n->cfg.community;
	ch.kind = ALLIANCE__V1__KIND__KIND_REQUEST_STATUS;
	ch.id = (char *)id;
	ch.version = relay_next_version(n);
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST_STATUS;
	ch.request_status = &s;
	if (relay_check(&ch, why, sizeof(why)) != ERR_OK) {
		log_warn("requests: no receipt for %s: %s", id, why);
		return ERR_OK;
	}
	return relay_outbox_put(n, &ch);
}

/* known_request: 1 when (origin, id) is stored here. */
static int known_request(struct node *n, const char *origin, const char *id)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(n->db, "SELECT 1 FROM request WHERE origin ="
			       " ?1 AND id = ?2", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

/* apply_request: a request for one of our services (or a newer version
 * of one: a withdrawal), stored under the version rule; a new one is
 * held to relay_request_new_check, and gets its submitted and delivered
 * steps (delivered: our clock, the queue's order; the origin's
 * requested time is kept only as what it said) and a receipt back to
 * its origin. */
static int apply_request(struct node *n, const Change *ch, char *reason,
			 size_t rlen, int *refused)
{
	const Alliance__V1__Request *r = ch->request;
	sqlite3_stmt *st = NULL;
	Change *svc = NULL;
	int64_t now = clock_now();
	int rc, fresh, changed = 0;

	if (strcmp(r->owner, n->cfg.community) != 0 ||
	    strcmp(ch->origin, n->cfg.community) == 0) {
		*refused = 1;
		snprintf(reason, rlen, "not a request for %s",
			 n->cfg.community);
		return ERR_OK;
	}
	fresh = !known_request(n, ch->origin, ch->id);
	/* a new one as the resident's node takes it, under its origin's id */
	if (fresh && relay_request_new_check(ch, reason, rlen) != ERR_OK) {
		*refused = 1;
		return ERR_OK;
	}
	catalog_get(n->cat, r->owner, ALLIANCE__V1__KIND__KIND_SERVICE,
		    r->service_id, &svc);
	/* a withdrawal keeps what the owner had; it only marks the row */
	rc = sqlite3_prepare_v2(n->db, "INSERT INTO request (origin, id, owner,"
				" service_id, service_name, description, name,"
				" phone, email, address, has_location, lat, lon,"
				" requested, version, updated, preferred,"
				" withdrawn, delivered, relative_name,"
				" relative_phone) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
				" ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
				" ?17, ?18, ?16, ?19, ?20) ON CONFLICT (origin,"
				" id) DO UPDATE SET withdrawn ="
				" max(request.withdrawn, excluded.withdrawn),"
				" updated = excluded.updated, version ="
				" excluded.version WHERE excluded.version >"
				" request.version", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, r->service_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, svc && svc->service
				  ? svc->service->title : r->service_id, -1,
				  SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 6, r->description, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, r->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, r->phone, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, r->email, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, r->address, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 11, r->has_location);
		sqlite3_bind_double(st, 12, r->lat);
		sqlite3_bind_double(st, 13, r->lon);
		sqlite3_bind_int64(st, 14, r->requested);
		sqlite3_bind_int64(st, 15, (int64_t)ch->version);
		sqlite3_bind_int64(st, 16, now);
		sqlite3_bind_text(st, 17, r->preferred, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 18, r->withdrawn);
		sqlite3_bind_text(st, 19, r->relative_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 20, r->relative_phone, -1,
				  SQLITE_STATIC);
		rc = sqlite3_step(st);
		changed = sqlite3_changes(n->db) > 0;
	}
	sqlite3_finalize(st);
	catalog_change_free(&svc);
	if (rc != SQLITE_DONE)
		return ERR_IO;
	if (fresh && (requests_step_put(n, ch->origin, ch->id, STEP_SUBMITTED,
					"submitted", r->requested, "", 0) ||
		      requests_step_put(n, ch->origin, ch->id, STEP_DELIVERED,
					"delivered", now, "", 0) ||
		      send_receipt(n, ch->origin, ch->id, now)))
		return ERR_IO;
	if (changed && r->withdrawn &&
	    requests_step_put(n, ch->origin, ch->id, ch->version, "withdrawn",
			      r->withdrawn, "", 0) != ERR_OK)
		return ERR_IO;
	/* erased (relay.h): our copy loses its personal data for good */
	if (changed && r->erased &&
	    relay_request_erase_row(n->db, ch->origin, ch->id) != ERR_OK)
		return ERR_IO;
	if (changed)
		log_info("requests: %s %s %s (%s)", ch->origin, r->erased
			 ? "erased its resident's data of a request for"
			 : r->withdrawn ? "withdrew its request for"
			 : "asks for", r->service_id, ch->id);
	return ERR_OK;
}

static int apply_status(struct node *n, const Change *ch, char *reason,
			size_t rlen, int *refused)
{
	const Alliance__V1__RequestStatus *s = ch->request_status;
	int64_t updated = s->updated ? s->updated : clock_now();
	sqlite3_stmt *st = NULL;
	int rc, owner_ok, changed = 0;

	if (strcmp(s->request_origin, n->cfg.community) != 0) {
		*refused = 1;
		snprintf(reason, rlen, "not a request of %s", n->cfg.community);
		return ERR_OK;
	}
	if (sqlite3_prepare_v2(n->db, "SELECT owner = ?3 FROM request WHERE"
			       " origin = ?1 AND id = ?2", -1, &st, NULL) !=
	    SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ch->origin, -1, SQLITE_STATIC);
	owner_ok = sqlite3_step(st) == SQLITE_ROW &&
		   sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (!owner_ok) {
		*refused = 1;
		snprintf(reason, rlen, "%s does not own request %s", ch->origin,
			 ch->id);
		return ERR_OK;
	}
	st = NULL;
	rc = sqlite3_prepare_v2(n->db, "UPDATE request SET status = ?3, notes"
				" = ?4, scheduled = ?5, updated = ?6,"
				" status_version = ?7, delivered = CASE WHEN"
				" ?8 > 0 THEN ?8 ELSE delivered END WHERE"
				" origin = ?1 AND id = ?2 AND status_version <"
				" ?7", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, s->notes, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, s->scheduled);
		sqlite3_bind_int64(st, 6, updated);
		sqlite3_bind_int64(st, 7, (int64_t)ch->version);
		sqlite3_bind_int64(st, 8, s->delivered);
		rc = sqlite3_step(st);
		changed = sqlite3_changes(n->db) > 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ERR_IO;
	/* the receipt is a step; "open" itself is none */
	if (changed && s->delivered &&
	    requests_step_put(n, n->cfg.community, ch->id, STEP_DELIVERED,
			      "delivered", s->delivered, "", 0) != ERR_OK)
		return ERR_IO;
	if (changed && strcmp(s->status, "open") != 0 &&
	    requests_step_put(n, n->cfg.community, ch->id, ch->version,
			      s->status, updated, s->notes, s->scheduled) !=
	    ERR_OK)
		return ERR_IO;
	return ERR_OK;
}

int requests_apply(struct node *n, const Change *ch, char *reason,
		   size_t rlen, int *refused)
{
	if (ch->kind == ALLIANCE__V1__KIND__KIND_REQUEST)
		return apply_request(n, ch, reason, rlen, refused);
	return apply_status(n, ch, reason, rlen, refused);
}

void requests_refused(struct node *n, const char *id, const char *reason)
{
	sqlite3_stmt *st = NULL;

	log_warn("requests: the hub refused request %s: %s", id, reason);
	if (sqlite3_prepare_v2(n->db, "UPDATE request SET status ="
			       " 'declined', notes = ?3, updated = ?4 WHERE"
			       " origin = ?1 AND id = ?2", -1, &st, NULL) !=
	    SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, clock_now());
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* ---- newer versions and withdrawing ---------------------------------------- */

/* body_token: the form field request_secret (or the older token) of a
 * form-encoded body into buf ("" when there is none or the body is not
 * a form). */
static void body_token(struct lws *wsi, struct http_exchange *ex, char *buf,
		       size_t len)
{
	char ct[128];

	buf[0] = '\0';
	if (http_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ct, sizeof(ct)) < 0 ||
	    !form_content_type(ct) || !ex->body ||
	    (form_get(ex->body, ex->body_len, "request_secret", buf, len) < 0 &&
	     form_get(ex->body, ex->body_len, "token", buf, len) < 0))
		buf[0] = '\0';
}

int requests_write_version(struct node *n, sqlite3_stmt *row,
			   int64_t withdrawn, int erase)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	sqlite3_stmt *st = NULL;
	int64_t was = sqlite3_column_int64(row, RQ_WITHDRAWN);
	char why[160];
	int rc;

	erase = erase || sqlite3_column_int(row, RQ_ERASED);  /* stays so */
#define COL(i) ((char *)sqlite3_column_text(row, (i)))
	r.owner = COL(2);
	r.service_id = COL(3);
	r.requested = sqlite3_column_int64(row, 9);
	r.withdrawn = was ? was : withdrawn;
	if (strcmp(r.owner, n->cfg.community) != 0) {
		r.description = COL(5);
		r.preferred = COL(RQ_PREFERRED);
		if (!erase) {
			r.name = COL(11);
			r.phone = COL(12);
			r.email = COL(13);
			r.address = COL(14);
			r.has_location = sqlite3_column_int(row, 15);
			r.lat = sqlite3_column_double(row, 16);
			r.lon = sqlite3_column_double(row, 17);
			r.relative_name = COL(RQ_RELATIVE_NAME);
			r.relative_phone = COL(RQ_RELATIVE_PHONE);
		}
	}
	if (erase)   /* the personal fields were never set: nothing written */
		relay_request_erase(&r);
	ch.origin = n->cfg.community;
	ch.kind = ALLIANCE__V1__KIND__KIND_REQUEST;
	ch.id = COL(1);
#undef COL
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	ch.request = &r;
	ch.version = relay_next_version(n);
	if (relay_check(&ch, why, sizeof(why)) != ERR_OK) {
		log_warn("requests: no new version of %s: %s", ch.id, why);
		return ERR_INVALID;
	}
	rc = sqlite3_prepare_v2(n->db, "UPDATE request SET withdrawn = ?3,"
				" version = ?4, updated = ?5 WHERE origin = ?1"
				" AND id = ?2", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ch.origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ch.id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, r.withdrawn);
		sqlite3_bind_int64(st, 4, (int64_t)ch.version);
		sqlite3_bind_int64(st, 5, clock_now());
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE ||
	    (!was && r.withdrawn &&
	     requests_step_put(n, ch.origin, ch.id, ch.version, "withdrawn",
			       r.withdrawn, "", 0) != ERR_OK) ||
	    (erase && relay_request_erase_row(n->db, ch.origin, ch.id) !=
	     ERR_OK))
		return ERR_IO;
	return relay_outbox_put(n, &ch);
}

/* select_row: the row of our request id (REQUEST_COLUMNS) in *st, or
 * ERR_NOTFOUND. */
static int select_row(struct node *n, const char *id, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(n->db, "SELECT " REQUEST_COLUMNS " FROM request"
			       " WHERE origin = ?1 AND id = ?2", -1, st, NULL)
	    != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(*st, 1, n->cfg.community, -1, SQLITE_STATIC);
	sqlite3_bind_text(*st, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(*st) == SQLITE_ROW)
		return ERR_OK;
	sqlite3_finalize(*st);
	*st = NULL;
	return ERR_NOTFOUND;
}

void requests_withdraw(struct node *n, struct lws *wsi,
		       struct http_exchange *ex, const char *id)
{
	sqlite3_stmt *st = NULL;
	char token[80], peer[64], key[96];
	int64_t resident = residents_bearer(n, wsi);
	int rc, done = 0;
	json_t *o;

	civic_peer(wsi, peer, sizeof(peer));
	snprintf(key, sizeof(key), "addr:%s", peer);
	if (civic_limited(n->civic->rl_request, key, wsi, ex, 1))
		return;
	body_token(wsi, ex, token, sizeof(token));
	if (!text_record_id_valid(id) ||
	    store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		open311_error(wsi, ex, 404, "service_request_id: not an id");
		return;
	}
	/* read and write in one transaction: no status slips in between */
	rc = select_row(n, id, &st);
	if (rc != ERR_OK)
		open311_error(wsi, ex, rc == ERR_NOTFOUND ? 404 : 500,
			      "service_request_id: no request made here with "
			      "this id");
	else if (!requests_row_mine(st, token, resident))
		open311_error(wsi, ex, 403, "request_secret: not this "
			      "request's; only who made it may withdraw it");
	else if (sqlite3_column_int64(st, RQ_WITHDRAWN) ||
		 relay_status_closed((const char *)sqlite3_column_text(st, 6)))
		open311_error(wsi, ex, 409, "the request is done, declined or "
			      "withdrawn already");
	else if (requests_write_version(n, st, clock_now(), 0) != ERR_OK)
		open311_error(wsi, ex, 500, "the withdrawal could not be stored");
	else
		done = 1;
	sqlite3_finalize(st);
	st = NULL;
	if (done && store_exec(n->db, "COMMIT") != ERR_OK) {
		open311_error(wsi, ex, 500, "the withdrawal could not be stored");
		done = 0;
	}
	if (!done) {
		store_exec(n->db, "ROLLBACK");
		return;
	}
	log_info("requests: %s withdrew %s", peer, id);
	relay_flush(n);
	if (select_row(n, id, &st) != ERR_OK) {
		open311_error(wsi, ex, 500, "the request could not be read");
		return;
	}
	o = requests_row_json(st, 1);
	sqlite3_finalize(st);
	json_object_set_new(o, "steps", requests_steps_json(
			    n, n->cfg.community, id, 1));
	open311_reply(wsi, ex, 200, "service_requests", json_pack("[o]", o));
}

/* ---- the account's requests ---------------------------------------------------------- */

void requests_mine(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	int64_t resident = residents_bearer(n, wsi);
	sqlite3_stmt *st = NULL;
	json_t *items;

	if (!resident) {
		http_reply_error(wsi, ex, 401, "unauthorized", "sign in: "
				 "Authorization: Bearer with your token");
		return;
	}
	items = json_array();
	if (!items || sqlite3_prepare_v2(n->db, "SELECT " REQUEST_COLUMNS
			       " FROM request WHERE origin = ?1 AND resident ="
			       " ?2 ORDER BY requested DESC, id LIMIT ?3", -1,
			       &st, NULL) != SQLITE_OK) {
		json_decref(items);
		http_reply_error(wsi, ex, 500, "internal", "the requests could "
				 "not be read");
		return;
	}
	sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, resident);
	sqlite3_bind_int(st, 3, MINE_MAX);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = requests_row_json(st, 1);

		json_object_set_new(o, "steps", requests_steps_json(
			n, n->cfg.community,
			(const char *)sqlite3_column_text(st, 1), 1));
		json_array_append_new(items, o);
	}
	sqlite3_finalize(st);
	http_reply_json(wsi, ex, 200, json_pack("{s:o, s:I}", "items", items,
						"total", (json_int_t)
						json_array_size(items)));
}
