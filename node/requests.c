/* requests.c: service requests at a node: Open311 GeoReport v2 for
 * residents (routed by open311.c, in JSON or XML), and the routes of
 * everything about requests.
 *
 *   POST  /open311/v2/requests.{json,xml} form-encoded (the spec's
 *                                         fields, and ours: name, the
 *                                         whole name; preferred, a day and
 *                                         a part of it; relative_name and
 *                                         relative_phone) -> 201
 *                                         [{service_request_id,
 *                                         service_notice, account_id,
 *                                         request_secret}]
 *   GET   /open311/v2/requests.{json,xml} public listing, the spec's
 *                                         filters: no personal data, no
 *                                         description, no notes
 *   GET   /open311/v2/requests/{id}.{json,xml}
 *                                         the same; personal data, the
 *                                         description and notes (and the
 *                                         steps' notes) only with
 *                                         ?request_secret= (or the older
 *                                         ?token=) or the resident's bearer
 *   POST  /open311/v2/requests/{id}/withdraw.json,
 *   GET   /api/v1/residents/me/requests   request_follow.c
 *   GET   /api/v1/requests, PATCH /api/v1/requests/{id}
 *                                         the manager's queue,
 *                                         request_queue.c
 *
 * The POST answers the service_request_id at once, so (the spec's "POST
 * Service Request") it issues no token for GET tokens/{token}; the
 * request's own secret, which shows its private fields and withdraws it,
 * is request_secret.
 *
 * A request's id is scoped by its origin (relay.h: "ORIGIN.RANDOM"), so
 * the ids the listing shows cannot be taken by another community.
 *
 * The hub's quota of requests to any one other community an hour
 * (Welcome) is kept here at the POST: beyond it, 429 naming it.
 *
 * A request for another community's service is stored here (for the
 * resident to follow) and put in the relay outbox to go through the hub
 * to its owner; a request for our own service lands in our queue at once
 * and goes up stripped of everything personal, so the district can count
 * it. The owner answers with a receipt and statuses (request_follow.c).
 * Open311 paths answer errors as the spec does (open311_error), and store
 * nothing then.
 *
 * Parts: the POST; listings; the route. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "form.h"
#include "log.h"
#include "manager.h"
#include "store.h"
#include "text.h"

/* Requests one public listing shows at most. */
#define REQUESTS_LIST_MAX 200
/* Ids or codes one filter of the listing may name. */
#define REQUESTS_FILTER_MAX 50

/* token_hash: SHA-256 of a token, as stored (never the token). */
static void token_hash(const char *token, unsigned char out[32])
{
	unsigned int len = 32;

	EVP_Digest(token, strlen(token), out, &len, EVP_sha256(), NULL);
}

/* ---- POST requests.json ------------------------------------------------------- */

static int has_delivery(const Alliance__V1__Service *s, const char *mode)
{
	for (size_t i = 0; i < s->n_delivery; i++)
		if (strcmp(s->delivery[i], mode) == 0)
			return 1;
	return 0;
}

/* store_request: the request row, its first steps and its outbox record,
 * in one transaction. */
static int store_request(struct node *n, const Change *ch,
			 const char *service_name, const unsigned char th[32],
			 int64_t resident)
{
	const Alliance__V1__Request *r = ch->request;
	struct request_store *rs = n->civic->requests;
	int own = strcmp(r->owner, ch->origin) == 0;
	int rc;

	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	rc = request_store_add(rs, ch, service_name, th, resident) == ERR_OK &&
	     request_store_step_put(rs, ch->origin, ch->id,
				    REQUEST_STEP_SUBMITTED, "submitted",
				    r->requested, "", 0) == ERR_OK &&
	     (!own || request_store_step_put(rs, ch->origin, ch->id,
					     REQUEST_STEP_DELIVERED,
					     "delivered", r->requested, "",
					     0) == ERR_OK)
	     ? SQLITE_DONE : SQLITE_ERROR;
	if (rc == SQLITE_DONE) {
		Change up = *ch;
		Alliance__V1__Request bare = ALLIANCE__V1__REQUEST__INIT;

		if (own) {
			/* served at home: the district only counts it */
			bare.owner = r->owner;
			bare.service_id = r->service_id;
			bare.requested = r->requested;
			up.request = &bare;
		}
		rc = relay_outbox_put(n, &up) == ERR_OK ? SQLITE_DONE
							: SQLITE_ERROR;
	}
	if (rc != SQLITE_DONE || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		return ERR_IO;
	}
	return ERR_OK;
}

/* over_quota: whether this community has sent owner (another) the
 * hub's quota of requests within the last hour already (the last
 * Welcome's; the hub refuses the excess anyway); 0 when none was said. */
static int over_quota(struct node *n, const char *owner)
{
	unsigned quota = n->civic->quota_requests;
	int64_t sent;

	if (!quota || strcmp(owner, n->cfg.community) == 0)
		return 0;
	sent = request_store_sent_since(n->civic->requests, owner,
					n->cfg.community, clock_now() - 3600);
	return sent >= quota;
}

void requests_post(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	struct request_form rf;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	Change *svc = NULL;
	char ct[128], id[RELAY_REQUEST_ID_MAX + 1], token[33], peer[64];
	char key[96], why[300], *sid = NULL;
	char code[LIMIT_COMMUNITY_ID + LIMIT_RECORD_ID + 2];
	unsigned char th[32], raw[16];
	int64_t resident = residents_bearer(n, wsi);
	int status = 400;
	size_t i;

	memset(&rf, 0, sizeof(rf));
	if (http_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ct, sizeof(ct)) < 0 ||
	    !form_content_type(ct)) {
		open311_error(wsi, ex, 400, "the body must be "
			      "application/x-www-form-urlencoded");
		return;
	}
	if (ex->body_too_big) {
		open311_error(wsi, ex, 413, "the body is over %zu bytes",
			      ex->body_limit);
		return;
	}
	civic_peer(wsi, peer, sizeof(peer));
	snprintf(key, sizeof(key), "addr:%s", peer);
	if (civic_limited(n->civic->rl_request, key, wsi, ex, 1))
		return;   /* guessed api_keys are counted too */
	if (!open311_key_ok(n, wsi, ex))
		return;
	snprintf(key, sizeof(key), "resident:%lld", (long long)resident);
	if (resident && civic_limited(n->civic->rl_request, key, wsi, ex, 1))
		return;
	if (request_form_read(ex->body, ex->body_len, &rf, &status, why,
			      sizeof(why)) != ERR_OK) {
		open311_error(wsi, ex, status, "%s", why);
		goto out;
	}
	snprintf(code, sizeof(code), "%s", rf.value[RF_CODE]);
	svc = open311_service(n, rf.value[RF_CODE], &sid);
	if (!svc) {
		open311_error(wsi, ex, 404, "service_code: no service '%s' in "
			      "the catalog", code);
		goto out;
	}
	if (over_quota(n, rf.value[RF_CODE])) {
		open311_error(wsi, ex, 429, "service_code: this community may "
			      "send %s at most %u requests an hour (the hub's "
			      "[quota] requests_per_destination_per_hour); try "
			      "again later", rf.value[RF_CODE],
			      n->civic->quota_requests);
		goto out;
	}
	if (request_form_check(&rf, clock_now(), why, sizeof(why)) != ERR_OK) {
		open311_error(wsi, ex, 400, "%s", why);
		goto out;
	}
	r.has_location = rf.has_location;
	r.lat = rf.lat;
	r.lon = rf.lon;
	if (has_delivery(svc->service, "home-visit") && !r.has_location &&
	    !rf.address[0]) {
		open311_error(wsi, ex, 400, "address_string or address_id or "
			      "lat/long: a location is required for a "
			      "home-visit service");
		goto out;
	}
	if (relay_request_id(n->cfg.community, id, sizeof(id)) != ERR_OK ||
	    RAND_bytes(raw, sizeof(raw)) != 1) {
		open311_error(wsi, ex, 500, "no random bytes");
		goto out;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	token_hash(token, th);
	r.owner = rf.value[RF_CODE];
	r.service_id = sid;
	r.description = rf.value[RF_DESC];
	r.name = rf.name;
	r.phone = rf.value[RF_PHONE];
	r.email = rf.value[RF_EMAIL];
	r.address = rf.address;
	r.preferred = rf.value[RF_PREFERRED];
	r.relative_name = rf.value[RF_REL_NAME];
	r.relative_phone = rf.value[RF_REL_PHONE];
	r.requested = clock_now();
	ch.origin = n->cfg.community;
	ch.kind = ALLIANCE__V1__KIND__KIND_REQUEST;
	ch.id = id;
	ch.version = relay_next_version(n);
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	ch.request = &r;
	if (relay_check(&ch, why, sizeof(why)) != ERR_OK) {
		open311_error(wsi, ex, 400, "%s", why);
		goto out;
	}
	if (store_request(n, &ch, svc->service->title, th, resident) !=
	    ERR_OK) {
		open311_error(wsi, ex, 500, "the request could not be stored");
		goto out;
	}
	log_info("requests: %s requested %s/%s (%s)", peer, r.owner,
		 r.service_id, id);
	relay_flush(n);
	/* the spec's answer; request_secret is ours: the request's own
	 * bearer credential (the spec's token is a lookup key, issued by
	 * servers that cannot name the id at once) */
	open311_reply(wsi, ex, 201, "service_requests", json_pack(
		"[{s:s, s:s, s:n, s:s}]", "service_request_id", id,
		"service_notice",
		strcmp(r.owner, n->cfg.community) == 0
		? "sent to this community's queue"
		: "sent on to the community that offers the service",
		"account_id", "request_secret", token));
out:
	catalog_change_free(&svc);
	request_form_free(&rf);
}

/* ---- listings ---------------------------------------------------------------- */

/* time_or_null: t as RFC 3339 (a new string), or JSON null for 0. */
static json_t *time_or_null(int64_t t)
{
	char buf[CLOCK_RFC3339_LEN];

	return t ? json_string(clock_rfc3339(t, buf, sizeof(buf)))
		 : json_null();
}

json_t *requests_row_json(const struct request_row *row, int private)
{
	char code[LIMIT_COMMUNITY_ID + LIMIT_RECORD_ID + 2];
	char t1[CLOCK_RFC3339_LEN], t2[CLOCK_RFC3339_LEN];
	char t3[CLOCK_RFC3339_LEN];
	const char *status = row->withdrawn ? "withdrawn" : row->status;
	json_t *o;

	snprintf(code, sizeof(code), "%s.%s", row->owner, row->service_id);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?}",
		      "service_request_id", row->id,
		      "status", row->withdrawn || relay_status_closed(status)
				? "closed" : "open",
		      "alliance_status", status,
		      "service_name", row->service_name,
		      "service_code", code,
		      "agency_responsible", row->owner,
		      "community", row->origin,
		      "requested_datetime", clock_rfc3339(row->requested, t1,
							  sizeof(t1)),
		      "updated_datetime", clock_rfc3339(row->updated, t2,
							sizeof(t2)),
		      "expected_datetime", row->scheduled
		      ? clock_rfc3339(row->scheduled, t3, sizeof(t3)) : NULL);
	if (!o)
		return NULL;
	json_object_set_new(o, "preferred", json_string(row->preferred));
	if (private)
		json_object_set_new(o, "urgent", json_boolean(row->urgent));
	json_object_set_new(o, "delivered_datetime",
			    time_or_null(row->delivered));
	json_object_set_new(o, "withdrawn_datetime",
			    time_or_null(row->withdrawn));
	json_object_set_new(o, "erased", json_boolean(row->erased));
	if (!private)
		return o;
	/* the resident's own words and the manager's reply are hers too */
	json_object_set_new(o, "description", json_string(row->description));
	json_object_set_new(o, "status_notes", json_string(row->notes));
	json_object_set_new(o, "name", json_string(row->name));
	json_object_set_new(o, "phone", json_string(row->phone));
	json_object_set_new(o, "email", json_string(row->email));
	json_object_set_new(o, "address", json_string(row->address));
	json_object_set_new(o, "relative_name",
			    json_string(row->relative_name));
	json_object_set_new(o, "relative_phone",
			    json_string(row->relative_phone));
	if (row->has_location) {
		json_object_set_new(o, "lat", json_real(row->lat));
		json_object_set_new(o, "long", json_real(row->lon));
	}
	return o;
}

/* filter_list: the comma list of query argument name (at most
 * REQUESTS_FILTER_MAX items, each held to valid as service_request_id or
 * service_code is) as a JSON array text in *out (NULL when absent; the
 * caller frees). 1, or 0 with the spec's 400 stored. */
static int filter_list(struct lws *wsi, struct http_exchange *ex,
		       const char *name, int codes, char **out)
{
	char buf[LIMIT_HTTP_URI + 1], *p, *next, *id;
	json_t *a;
	size_t n = 0;

	*out = NULL;
	if (http_query(wsi, name, buf, sizeof(buf)) < 0)
		return 1;
	a = json_array();
	for (p = buf; a; p = next) {
		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		if (++n > REQUESTS_FILTER_MAX) {
			open311_error(wsi, ex, 400, "%s: at most %d, comma-"
				      "separated", name, REQUESTS_FILTER_MAX);
			json_decref(a);
			return 0;
		}
		if (codes ? open311_code_split(p, &id) != ERR_OK
			  : !text_record_id_valid(p)) {
			open311_error(wsi, ex, 400, "%s: '%.100s' is not %s",
				      name, p, codes ? "a service_code "
				      "(COMMUNITY.ID)" : "a request's id");
			json_decref(a);
			return 0;
		}
		if (codes)
			id[-1] = '.';   /* compared as COMMUNITY.ID */
		json_array_append_new(a, json_string(p));
		if (!next)
			break;
	}
	*out = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	if (!*out)
		open311_error(wsi, ex, 500, "out of memory");
	return *out != NULL;
}

/* filter_date: query argument name as a w3 datetime (the spec's
 * "Date/time format": a zone, Z or an offset) in *t (0 when absent). 1,
 * or 0 with the spec's 400 stored. */
static int filter_date(struct lws *wsi, struct http_exchange *ex,
		       const char *name, int64_t *t)
{
	char buf[64], *sp;

	*t = 0;
	if (http_query(wsi, name, buf, sizeof(buf)) < 0)
		return 1;
	/* an offset's '+' unescaped in a query reads as a space */
	if ((sp = strchr(buf, ' ')))
		*sp = '+';
	if (clock_parse_rfc3339(buf, t) == ERR_OK && *t > 0)
		return 1;
	open311_error(wsi, ex, 400, "%s: a w3 datetime such as "
		      "2026-01-31T08:00:00Z or 2026-01-31T16:00:00+08:00",
		      name);
	return 0;
}

/* filter_status: the spec's status, open or closed or both
 * comma-separated, in *want. 1, or 0 with the spec's 400 stored. */
static int filter_status(struct lws *wsi, struct http_exchange *ex,
			 enum request_state *want)
{
	char buf[32];
	int open = 0, closed = 0;
	char *p, *next;

	*want = REQUEST_ANY;
	if (http_query(wsi, "status", buf, sizeof(buf)) < 0)
		return 1;
	for (p = buf; p; p = next) {
		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		if (strcmp(p, "open") == 0)
			open = 1;
		else if (strcmp(p, "closed") == 0)
			closed = 1;
		else
			break;
	}
	if (p) {
		open311_error(wsi, ex, 400, "status: open, closed or "
			      "open,closed");
		return 0;
	}
	*want = open == closed ? REQUEST_ANY : open ? REQUEST_OPEN
						    : REQUEST_CLOSED;
	return 1;
}

/* requests_list: the public listing, the latest first by this node's
 * clock (when it received them; a sender's date could push real ones out
 * of the listing), filtered as the spec's "GET Service Requests" says:
 * service_request_id (overriding every other filter), service_code,
 * start_date and end_date (on requested_datetime), status. */
/* list_add: a row of the public listing into the array arg. */
static int list_add(const struct request_row *row, void *arg)
{
	json_array_append_new(arg, requests_row_json(row, 0));
	return 0;
}

void requests_list(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	json_t *out = NULL;
	char *ids = NULL, *codes = NULL;
	int64_t start, end;
	enum request_state status;

	if (!filter_list(wsi, ex, "service_request_id", 0, &ids) ||
	    !filter_list(wsi, ex, "service_code", 1, &codes) ||
	    !filter_date(wsi, ex, "start_date", &start) ||
	    !filter_date(wsi, ex, "end_date", &end) ||
	    !filter_status(wsi, ex, &status))
		goto out;
	if (start && end && start > end) {
		open311_error(wsi, ex, 400, "start_date: after end_date");
		goto out;
	}
	out = json_array();
	if (!out || request_store_list(n->civic->requests, ids, codes, start,
				       end, status, REQUESTS_LIST_MAX,
				       list_add, out) != ERR_OK) {
		open311_error(wsi, ex, 500, "the requests could not be read");
		goto out;
	}
	open311_reply(wsi, ex, 200, "service_requests", out);
	out = NULL;
out:
	json_decref(out);
	free(ids);
	free(codes);
}

void requests_get(struct node *n, struct lws *wsi, struct http_exchange *ex,
		  const char *id)
{
	struct request_row row;
	char token[80] = "";
	int64_t resident = residents_bearer(n, wsi);
	int private, rc;
	json_t *o;

	if (!text_record_id_valid(id)) {
		open311_error(wsi, ex, 404, "service_request_id: not found");
		return;
	}
	rc = request_store_find(n->civic->requests, id, n->cfg.community,
				&row);
	if (rc != ERR_OK) {
		open311_error(wsi, ex, 404, "service_request_id: no request "
			      "%.40s", id);
		return;
	}
	if (http_query(wsi, "request_secret", token, sizeof(token)) < 0 &&
	    http_query(wsi, "token", token, sizeof(token)) < 0)
		token[0] = '\0';   /* the older name */
	private = requests_row_mine(&row, token, resident);
	o = requests_row_json(&row, private);
	json_object_set_new(o, "steps", requests_steps_json(
			    n, row.origin, id, private));
	request_row_free(&row);
	open311_reply(wsi, ex, 200, "service_requests", json_pack("[o]", o));
}

int requests_row_mine(const struct request_row *row, const char *token,
		      int64_t resident)
{
	unsigned char th[32];

	if (token && *token && row->has_token) {
		token_hash(token, th);
		if (CRYPTO_memcmp(th, row->token_hash, 32) == 0)
			return 1;
	}
	return resident && row->resident == resident;
}

/* ---- the route ---------------------------------------------------------------- */

void requests_on_mine(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m)
{
	(void)ctx;
	(void)m;
	requests_mine(node_from_wsi(wsi), wsi, ex);
}

void requests_on_queue(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	(void)ctx;
	(void)m;
	requests_queue(node_from_wsi(wsi), wsi, ex);
}

void requests_on_patch(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	(void)ctx;
	if (!text_record_id_valid(m->param[0]))
		http_reply_error(wsi, ex, 404, "not_found", "not a request id");
	else
		requests_patch(node_from_wsi(wsi), wsi, ex, m->param[0]);
}
