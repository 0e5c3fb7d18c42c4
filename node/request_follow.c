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

/* step_json: a step into the array steps_arg->out. */
struct steps_arg {
	json_t *out;
	int private;
};

static void step_json(const struct request_step *step, void *arg)
{
	struct steps_arg *a = arg;
	char t1[CLOCK_RFC3339_LEN], t2[CLOCK_RFC3339_LEN];
	json_t *o = json_pack("{s:s, s:s}", "status", step->status, "at",
			      clock_rfc3339(step->at, t1, sizeof(t1)));

	if (!o)
		return;
	if (a->private && *step->notes)
		json_object_set_new(o, "notes", json_string(step->notes));
	if (step->scheduled)
		json_object_set_new(o, "scheduled", json_string(
			clock_rfc3339(step->scheduled, t2, sizeof(t2))));
	json_array_append_new(a->out, o);
}

json_t *requests_steps_json(struct node *n, const char *origin,
			    const char *id, int private)
{
	struct steps_arg a = { json_array(), private };

	if (a.out)
		request_store_steps(n->civic->requests, origin, id, step_json,
				    &a);
	return a.out;
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
	struct request_store *rs = n->civic->requests;
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
	fresh = request_store_get(rs, ch->origin, ch->id, NULL) != ERR_OK;
	/* a new one as the resident's node takes it, under its origin's id */
	if (fresh && relay_request_new_check(ch, reason, rlen) != ERR_OK) {
		*refused = 1;
		return ERR_OK;
	}
	catalog_get(n->cat, r->owner, ALLIANCE__V1__KIND__KIND_SERVICE,
		    r->service_id, &svc);
	rc = request_store_apply(rs, ch, svc && svc->service
				 ? svc->service->title : r->service_id, now,
				 &changed);
	catalog_change_free(&svc);
	if (rc != ERR_OK)
		return ERR_IO;
	if (fresh && (request_store_step_put(rs, ch->origin, ch->id,
					     REQUEST_STEP_SUBMITTED,
					     "submitted", r->requested, "",
					     0) ||
		      request_store_step_put(rs, ch->origin, ch->id,
					     REQUEST_STEP_DELIVERED,
					     "delivered", now, "", 0) ||
		      send_receipt(n, ch->origin, ch->id, now)))
		return ERR_IO;
	if (changed && r->withdrawn &&
	    request_store_step_put(rs, ch->origin, ch->id, ch->version,
				   "withdrawn", r->withdrawn, "", 0) != ERR_OK)
		return ERR_IO;
	/* erased (relay.h): our copy loses its personal data for good */
	if (changed && r->erased &&
	    request_store_erase(rs, ch->origin, ch->id) != ERR_OK)
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
	struct request_store *rs = n->civic->requests;
	int64_t updated = s->updated ? s->updated : clock_now();
	int changed = 0;

	if (strcmp(s->request_origin, n->cfg.community) != 0) {
		*refused = 1;
		snprintf(reason, rlen, "not a request of %s", n->cfg.community);
		return ERR_OK;
	}
	if (!request_store_owner_is(rs, n->cfg.community, ch->id,
				    ch->origin)) {
		*refused = 1;
		snprintf(reason, rlen, "%s does not own request %s", ch->origin,
			 ch->id);
		return ERR_OK;
	}
	if (request_store_set_status(rs, n->cfg.community, ch->id, s->status,
				     s->notes, s->scheduled, updated,
				     ch->version, s->delivered, 1, &changed) !=
	    ERR_OK)
		return ERR_IO;
	/* the receipt is a step; "open" itself is none */
	if (changed && s->delivered &&
	    request_store_step_put(rs, n->cfg.community, ch->id,
				   REQUEST_STEP_DELIVERED, "delivered",
				   s->delivered, "", 0) != ERR_OK)
		return ERR_IO;
	if (changed && strcmp(s->status, "open") != 0 &&
	    request_store_step_put(rs, n->cfg.community, ch->id, ch->version,
				   s->status, updated, s->notes,
				   s->scheduled) != ERR_OK)
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
	log_warn("requests: the hub refused request %s: %s", id, reason);
	request_store_decline(n->civic->requests, n->cfg.community, id,
			      reason, clock_now());
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

int requests_write_version(struct node *n, const struct request_row *row,
			   int64_t withdrawn, int erase)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	struct request_store *rs = n->civic->requests;
	char why[160];

	erase = erase || row->erased;  /* stays so */
	r.owner = row->owner;
	r.service_id = row->service_id;
	r.requested = row->requested;
	r.withdrawn = row->withdrawn ? row->withdrawn : withdrawn;
	if (strcmp(r.owner, n->cfg.community) != 0) {
		r.description = row->description;
		r.preferred = row->preferred;
		if (!erase) {
			r.name = row->name;
			r.phone = row->phone;
			r.email = row->email;
			r.address = row->address;
			r.has_location = row->has_location;
			r.lat = row->lat;
			r.lon = row->lon;
			r.relative_name = row->relative_name;
			r.relative_phone = row->relative_phone;
		}
	}
	if (erase)   /* the personal fields were never set: nothing written */
		relay_request_erase(&r);
	ch.origin = n->cfg.community;
	ch.kind = ALLIANCE__V1__KIND__KIND_REQUEST;
	ch.id = row->id;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	ch.request = &r;
	ch.version = relay_next_version(n);
	if (relay_check(&ch, why, sizeof(why)) != ERR_OK) {
		log_warn("requests: no new version of %s: %s", ch.id, why);
		return ERR_INVALID;
	}
	if (request_store_set_version(rs, ch.origin, ch.id, r.withdrawn,
				      ch.version, clock_now()) != ERR_OK ||
	    (!row->withdrawn && r.withdrawn &&
	     request_store_step_put(rs, ch.origin, ch.id, ch.version,
				    "withdrawn", r.withdrawn, "", 0) !=
	     ERR_OK) ||
	    (erase && request_store_erase(rs, ch.origin, ch.id) != ERR_OK))
		return ERR_IO;
	return relay_outbox_put(n, &ch);
}

void requests_withdraw(struct node *n, struct lws *wsi,
		       struct http_exchange *ex, const char *id)
{
	struct request_store *rs = n->civic->requests;
	struct request_row row;
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
	rc = request_store_get(rs, n->cfg.community, id, &row);
	if (rc != ERR_OK)
		open311_error(wsi, ex, rc == ERR_NOTFOUND ? 404 : 500,
			      "service_request_id: no request made here with "
			      "this id");
	else if (!requests_row_mine(&row, token, resident))
		open311_error(wsi, ex, 403, "request_secret: not this "
			      "request's; only who made it may withdraw it");
	else if (row.withdrawn || relay_status_closed(row.status))
		open311_error(wsi, ex, 409, "the request is done, declined or "
			      "withdrawn already");
	else if (requests_write_version(n, &row, clock_now(), 0) != ERR_OK)
		open311_error(wsi, ex, 500, "the withdrawal could not be stored");
	else
		done = 1;
	if (rc == ERR_OK)
		request_row_free(&row);
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
	if (request_store_get(rs, n->cfg.community, id, &row) != ERR_OK) {
		open311_error(wsi, ex, 500, "the request could not be read");
		return;
	}
	o = requests_row_json(&row, 1);
	request_row_free(&row);
	json_object_set_new(o, "steps", requests_steps_json(
			    n, n->cfg.community, id, 1));
	open311_reply(wsi, ex, 200, "service_requests", json_pack("[o]", o));
}

/* ---- the account's requests ---------------------------------------------------------- */

/* Where mine_add puts a resident's requests. */
struct mine_arg {
	struct node *n;
	json_t *items;
};

/* mine_add: a request of the account, with its steps, into the list. */
static int mine_add(const struct request_row *row, void *arg)
{
	struct mine_arg *a = arg;
	json_t *o = requests_row_json(row, 1);

	json_object_set_new(o, "steps", requests_steps_json(
		a->n, a->n->cfg.community, row->id, 1));
	json_array_append_new(a->items, o);
	return 0;
}

void requests_mine(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	int64_t resident = residents_bearer(n, wsi);
	struct mine_arg a = { n, NULL };

	if (!resident) {
		http_reply_error(wsi, ex, 401, "unauthorized", "sign in: "
				 "Authorization: Bearer with your token");
		return;
	}
	a.items = json_array();
	if (!a.items || request_store_mine(n->civic->requests,
					   n->cfg.community, resident,
					   MINE_MAX, mine_add, &a) != ERR_OK) {
		json_decref(a.items);
		http_reply_error(wsi, ex, 500, "internal", "the requests could "
				 "not be read");
		return;
	}
	http_reply_json(wsi, ex, 200, json_pack("{s:o, s:I}", "items", a.items,
						"total", (json_int_t)
						json_array_size(a.items)));
}
