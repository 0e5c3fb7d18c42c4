/* requests.c: service requests at a node: Open311 GeoReport v2 for
 * residents, and the routes of everything about requests.
 *
 *   GET   /open311/v2/services.json       the whole merged catalog
 *   POST  /open311/v2/requests.json       form-encoded (the spec's
 *                                         fields, and ours: name, the
 *                                         whole name; preferred, a day and
 *                                         a part of it; relative_name and
 *                                         relative_phone) -> 201
 *                                         [{id, token}]
 *   GET   /open311/v2/requests.json       public listing: no personal
 *                                         data, no description, no
 *                                         manager's notes
 *   GET   /open311/v2/requests/{id}.json  the same; personal data, the
 *                                         description and notes (and the
 *                                         steps' notes) only with ?token=
 *                                         or the resident's bearer
 *   POST  /open311/v2/requests/{id}/withdraw.json,
 *   GET   /api/v1/residents/me/requests   request_follow.c
 *   GET   /api/v1/requests, PATCH /api/v1/requests/{id}
 *                                         the manager's queue,
 *                                         request_queue.c
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
 * Open311 paths answer errors as the spec does:
 * [{"code":400,"description":"..."}], and store nothing then.
 *
 * Parts: Open311 replies; services.json; POST requests.json; listings;
 * the route. */
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

#define O311 "/open311/v2/"
/* Requests one public listing shows at most. */
#define REQUESTS_LIST_MAX 200

/* ---- Open311 replies ------------------------------------------------------- */

static void o311_error(struct lws *wsi, struct http_exchange *ex, int status,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void o311_error(struct lws *wsi, struct http_exchange *ex, int status,
		       const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_reply_json(wsi, ex, status, json_pack("[{s:i, s:s}]", "code",
						   status, "description", msg));
}

/* token_hash: SHA-256 of a token, as stored (never the token). */
static void token_hash(const char *token, unsigned char out[32])
{
	unsigned int len = 32;

	EVP_Digest(token, strlen(token), out, &len, EVP_sha256(), NULL);
}

/* ---- services.json ------------------------------------------------------------ */

static void services_json(struct node *n, struct lws *wsi,
			  struct http_exchange *ex)
{
	sqlite3_stmt *st = NULL;
	json_t *out = json_array();

	if (!out || sqlite3_prepare_v2(n->db, "SELECT origin, id, title,"
			       " summary, category, delivery, audience FROM"
			       " service WHERE deleted = 0 AND status <>"
			       " 'inactive' ORDER BY origin, id", -1, &st,
			       NULL) != SQLITE_OK) {
		json_decref(out);
		o311_error(wsi, ex, 500, "the catalog could not be read");
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		char code[LIMIT_COMMUNITY_ID + LIMIT_RECORD_ID + 2];
		json_t *kw = json_loads((const char *)
					sqlite3_column_text(st, 6), 0, NULL);
		json_t *dl = json_loads((const char *)
					sqlite3_column_text(st, 5), 0, NULL);
		char words[400] = "";
		size_t i, used = 0;
		json_t *v;

		snprintf(code, sizeof(code), "%s/%s",
			 (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1));
		json_array_foreach(kw, i, v) {
			int w = snprintf(words + used, sizeof(words) - used,
					 "%s%s", used ? "," : "",
					 json_string_value(v));
			if (w < 0 || (size_t)w >= sizeof(words) - used)
				break;
			used += (size_t)w;
		}
		json_array_append_new(out, json_pack(
			"{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:O}",
			"service_code", code,
			"service_name", (const char *)sqlite3_column_text(st, 2),
			"description", (const char *)sqlite3_column_text(st, 3),
			"metadata", 0, "type", "realtime",
			"keywords", words,
			"group", (const char *)sqlite3_column_text(st, 4),
			"delivery", dl ? dl : json_null()));
		json_decref(dl);
		json_decref(kw);
	}
	sqlite3_finalize(st);
	http_reply_json(wsi, ex, 200, out);
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
	int own = strcmp(r->owner, ch->origin) == 0;
	sqlite3_stmt *st = NULL;
	int rc;

	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	rc = sqlite3_prepare_v2(n->db, "INSERT INTO request (origin, id, owner,"
				" service_id, service_name, description, name,"
				" phone, email, address, has_location, lat, lon,"
				" token_hash, resident, requested, version,"
				" updated, preferred, delivered, relative_name,"
				" relative_phone) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
				" ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
				" ?17, ?16, ?18, ?19, ?20, ?21)", -1, &st,
				NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, r->service_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, service_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, r->description, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, r->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, r->phone, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 9, r->email, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, r->address, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 11, r->has_location);
		sqlite3_bind_double(st, 12, r->lat);
		sqlite3_bind_double(st, 13, r->lon);
		sqlite3_bind_blob(st, 14, th, 32, SQLITE_STATIC);
		if (resident)
			sqlite3_bind_int64(st, 15, resident);
		sqlite3_bind_int64(st, 16, r->requested);
		sqlite3_bind_int64(st, 17, (int64_t)ch->version);
		sqlite3_bind_text(st, 18, r->preferred, -1, SQLITE_STATIC);
		/* served at home: in the owner's queue at once */
		sqlite3_bind_int64(st, 19, own ? r->requested : 0);
		sqlite3_bind_text(st, 20, r->relative_name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 21, r->relative_phone, -1,
				  SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE &&
	    (requests_step_put(n, ch->origin, ch->id, STEP_SUBMITTED,
			       "submitted", r->requested, "", 0) != ERR_OK ||
	     (own && requests_step_put(n, ch->origin, ch->id, STEP_DELIVERED,
				       "delivered", r->requested, "", 0) !=
	      ERR_OK)))
		rc = SQLITE_ERROR;
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

/* service_of: the live catalog service named by "community/id" (code is
 * cut at the slash), or NULL. */
static Change *service_of(struct node *n, char *code, char **id)
{
	char *slash = strchr(code, '/');
	Change *svc = NULL;

	if (!slash)
		return NULL;
	*slash = '\0';
	*id = slash + 1;
	if (!text_community_valid(code) || !text_record_id_valid(*id) ||
	    catalog_get(n->cat, code, ALLIANCE__V1__KIND__KIND_SERVICE, *id,
			&svc) != ERR_OK || !relay_service_takes_requests(svc)) {
		catalog_change_free(&svc);
		*slash = '/';
		return NULL;
	}
	return svc;
}

/* over_quota: whether this community has sent owner (another) the
 * hub's quota of requests within the last hour already (the last
 * Welcome's; the hub refuses the excess anyway); 0 when none was said. */
static int over_quota(struct node *n, const char *owner)
{
	unsigned quota = n->civic->quota_requests;
	sqlite3_stmt *st = NULL;
	int64_t sent = 0;

	if (!quota || strcmp(owner, n->cfg.community) == 0)
		return 0;
	if (sqlite3_prepare_v2(n->db, "SELECT count(*) FROM request WHERE"
			       " owner = ?1 AND origin = ?2 AND requested >"
			       " ?3", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, n->cfg.community, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, clock_now() - 3600);
		if (sqlite3_step(st) == SQLITE_ROW)
			sent = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return sent >= quota;
}

static void post_request(struct node *n, struct lws *wsi,
			 struct http_exchange *ex)
{
	struct request_form rf;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	Change *svc = NULL;
	char ct[128], id[RELAY_REQUEST_ID_MAX + 1], token[33], peer[64];
	char key[96], why[300], *sid = NULL;
	unsigned char th[32], raw[16];
	int64_t resident = residents_bearer(n, wsi);
	int status = 400;
	size_t i;

	memset(&rf, 0, sizeof(rf));
	if (http_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ct, sizeof(ct)) < 0 ||
	    !form_content_type(ct)) {
		o311_error(wsi, ex, 400, "the body must be "
			   "application/x-www-form-urlencoded");
		return;
	}
	if (ex->body_too_big) {
		o311_error(wsi, ex, 413, "the body is over %zu bytes",
			   ex->body_limit);
		return;
	}
	civic_peer(wsi, peer, sizeof(peer));
	snprintf(key, sizeof(key), "addr:%s", peer);
	if (civic_limited(n->civic->rl_request, key, wsi, ex, 1))
		return;
	snprintf(key, sizeof(key), "resident:%lld", (long long)resident);
	if (resident && civic_limited(n->civic->rl_request, key, wsi, ex, 1))
		return;
	if (request_form_read(ex->body, ex->body_len, &rf, &status, why,
			      sizeof(why)) != ERR_OK) {
		o311_error(wsi, ex, status, "%s", why);
		goto out;
	}
	svc = service_of(n, rf.value[RF_CODE], &sid);
	if (!svc) {
		o311_error(wsi, ex, 404, "service_code: no service '%.100s' in "
			   "the catalog", rf.value[RF_CODE]);
		goto out;
	}
	if (over_quota(n, rf.value[RF_CODE])) {
		o311_error(wsi, ex, 429, "service_code: this community may "
			   "send %s at most %u requests an hour (the hub's "
			   "[quota] requests_per_destination_per_hour); try "
			   "again later", rf.value[RF_CODE],
			   n->civic->quota_requests);
		goto out;
	}
	if (request_form_check(&rf, clock_now(), why, sizeof(why)) != ERR_OK) {
		o311_error(wsi, ex, 400, "%s", why);
		goto out;
	}
	r.has_location = rf.has_location;
	r.lat = rf.lat;
	r.lon = rf.lon;
	if (has_delivery(svc->service, "home-visit") && !r.has_location &&
	    !rf.value[RF_ADDR][0]) {
		o311_error(wsi, ex, 400, "address_string or lat/long: required "
			   "for a home-visit service");
		goto out;
	}
	if (relay_request_id(n->cfg.community, id, sizeof(id)) != ERR_OK ||
	    RAND_bytes(raw, sizeof(raw)) != 1) {
		o311_error(wsi, ex, 500, "no random bytes");
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
	r.address = rf.value[RF_ADDR];
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
		o311_error(wsi, ex, 400, "%s", why);
		goto out;
	}
	if (store_request(n, &ch, svc->service->title, th, resident) !=
	    ERR_OK) {
		o311_error(wsi, ex, 500, "the request could not be stored");
		goto out;
	}
	log_info("requests: %s requested %s/%s (%s)", peer, r.owner,
		 r.service_id, id);
	relay_flush(n);
	http_reply_json(wsi, ex, 201, json_pack(
		"[{s:s, s:s, s:s, s:n}]", "service_request_id", id,
		"token", token, "service_notice",
		strcmp(r.owner, n->cfg.community) == 0
		? "sent to this community's queue"
		: "sent on to the community that offers the service",
		"account_id"));
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

json_t *requests_row_json(sqlite3_stmt *st, int private)
{
	char code[LIMIT_COMMUNITY_ID + LIMIT_RECORD_ID + 2];
	char t1[CLOCK_RFC3339_LEN], t2[CLOCK_RFC3339_LEN];
	char t3[CLOCK_RFC3339_LEN];
	int64_t withdrawn = sqlite3_column_int64(st, RQ_WITHDRAWN);
	const char *status = withdrawn ? "withdrawn"
				       : (const char *)sqlite3_column_text(st, 6);
	int64_t scheduled = sqlite3_column_int64(st, 8);
	json_t *o;

	snprintf(code, sizeof(code), "%s/%s", sqlite3_column_text(st, 2),
		 sqlite3_column_text(st, 3));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?}",
		      "service_request_id", (const char *)
		      sqlite3_column_text(st, 1),
		      "status", withdrawn || relay_status_closed(status)
				? "closed" : "open",
		      "alliance_status", status,
		      "service_name", (const char *)sqlite3_column_text(st, 4),
		      "service_code", code,
		      "agency_responsible", (const char *)
		      sqlite3_column_text(st, 2),
		      "community", (const char *)sqlite3_column_text(st, 0),
		      "requested_datetime", clock_rfc3339(
			      sqlite3_column_int64(st, 9), t1, sizeof(t1)),
		      "updated_datetime", clock_rfc3339(
			      sqlite3_column_int64(st, 10), t2, sizeof(t2)),
		      "expected_datetime", scheduled
		      ? clock_rfc3339(scheduled, t3, sizeof(t3)) : NULL);
	if (!o)
		return NULL;
	json_object_set_new(o, "preferred", json_string((const char *)
			    sqlite3_column_text(st, RQ_PREFERRED)));
	json_object_set_new(o, "delivered_datetime", time_or_null(
			    sqlite3_column_int64(st, RQ_DELIVERED)));
	json_object_set_new(o, "withdrawn_datetime", time_or_null(withdrawn));
	json_object_set_new(o, "erased", json_boolean(
			    sqlite3_column_int(st, RQ_ERASED)));
	if (!private)
		return o;
	/* the resident's own words and the manager's reply are hers too */
	json_object_set_new(o, "description", json_string((const char *)
			    sqlite3_column_text(st, 5)));
	json_object_set_new(o, "status_notes", json_string((const char *)
			    sqlite3_column_text(st, 7)));
	json_object_set_new(o, "name", json_string((const char *)
			    sqlite3_column_text(st, 11)));
	json_object_set_new(o, "phone", json_string((const char *)
			    sqlite3_column_text(st, 12)));
	json_object_set_new(o, "email", json_string((const char *)
			    sqlite3_column_text(st, 13)));
	json_object_set_new(o, "address", json_string((const char *)
			    sqlite3_column_text(st, 14)));
	json_object_set_new(o, "relative_name", json_string((const char *)
			    sqlite3_column_text(st, RQ_RELATIVE_NAME)));
	json_object_set_new(o, "relative_phone", json_string((const char *)
			    sqlite3_column_text(st, RQ_RELATIVE_PHONE)));
	if (sqlite3_column_int(st, 15)) {
		json_object_set_new(o, "lat", json_real(
				    sqlite3_column_double(st, 16)));
		json_object_set_new(o, "long", json_real(
				    sqlite3_column_double(st, 17)));
	}
	return o;
}

/* list_requests: the public listing, the latest first by this node's
 * clock (when it received them; a sender's date could push real ones out
 * of the listing). */
static void list_requests(struct node *n, struct lws *wsi,
			  struct http_exchange *ex)
{
	sqlite3_stmt *st = NULL;
	json_t *out;
	char status[16] = "";

	http_query(wsi, "status", status, sizeof(status));
	if (status[0] && strcmp(status, "open") && strcmp(status, "closed")) {
		o311_error(wsi, ex, 400, "status: open or closed");
		return;
	}
	out = json_array();
	if (!out || sqlite3_prepare_v2(n->db, "SELECT " REQUEST_COLUMNS
			       " FROM request WHERE ?1 = '' OR (?1 = 'closed')"
			       " = (status IN ('done', 'declined') OR"
			       " withdrawn > 0) ORDER BY CASE WHEN delivered"
			       " > 0 THEN delivered ELSE requested END DESC"
			       " LIMIT ?2", -1, &st, NULL) !=
	    SQLITE_OK) {
		json_decref(out);
		o311_error(wsi, ex, 500, "the requests could not be read");
		return;
	}
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, REQUESTS_LIST_MAX);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(out, requests_row_json(st, 0));
	sqlite3_finalize(st);
	http_reply_json(wsi, ex, 200, out);
}

static void get_request(struct node *n, struct lws *wsi,
			struct http_exchange *ex, const char *id)
{
	sqlite3_stmt *st = NULL;
	char token[80] = "";
	int64_t resident = residents_bearer(n, wsi);
	int private;
	json_t *o;

	if (!text_record_id_valid(id) ||
	    sqlite3_prepare_v2(n->db, "SELECT " REQUEST_COLUMNS " FROM request"
			       " WHERE id = ?1 ORDER BY origin = ?2 DESC", -1,
			       &st, NULL) != SQLITE_OK) {
		o311_error(wsi, ex, 404, "service_request_id: not found");
		return;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, n->cfg.community, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		o311_error(wsi, ex, 404, "service_request_id: no request "
			   "%.40s", id);
		return;
	}
	http_query(wsi, "token", token, sizeof(token));
	private = requests_row_mine(st, token, resident);
	o = requests_row_json(st, private);
	json_object_set_new(o, "steps", requests_steps_json(
			    n, (const char *)sqlite3_column_text(st, 0), id,
			    private));
	sqlite3_finalize(st);
	http_reply_json(wsi, ex, 200, json_pack("[o]", o));
}

int requests_row_mine(sqlite3_stmt *st, const char *token, int64_t resident)
{
	unsigned char th[32];

	if (token && *token && sqlite3_column_bytes(st, RQ_TOKEN_HASH) == 32) {
		token_hash(token, th);
		if (CRYPTO_memcmp(th, sqlite3_column_blob(st, RQ_TOKEN_HASH),
				  32) == 0)
			return 1;
	}
	return resident && sqlite3_column_type(st, RQ_RESIDENT) !=
			   SQLITE_NULL &&
	       sqlite3_column_int64(st, RQ_RESIDENT) == resident;
}

/* ---- the route ---------------------------------------------------------------- */

#define MGR "/api/v1/requests"
#define MINE "/api/v1/residents/me/requests"

/* open311_route: the paths under /open311/v2/. */
static void open311_route(struct node *n, struct lws *wsi,
			  struct http_exchange *ex)
{
	const char *rest = ex->path + sizeof(O311) - 1;
	size_t len = strlen(rest);

	if (strcmp(rest, "services.json") == 0 && ex->method == HTTP_GET) {
		services_json(n, wsi, ex);
	} else if (strcmp(rest, "requests.json") == 0 &&
		   ex->method == HTTP_POST) {
		post_request(n, wsi, ex);
	} else if (strcmp(rest, "requests.json") == 0 &&
		   ex->method == HTTP_GET) {
		list_requests(n, wsi, ex);
	} else if (strncmp(rest, "requests/", 9) == 0 && len > 14 &&
		   len < 9 + LIMIT_RECORD_ID + 5 &&
		   strcmp(rest + len - 5, ".json") == 0 &&
		   ex->method == HTTP_GET) {
		char id[LIMIT_RECORD_ID + 1];

		snprintf(id, sizeof(id), "%.*s", (int)(len - 14), rest + 9);
		get_request(n, wsi, ex, id);
	} else if (strncmp(rest, "requests/", 9) == 0 && len > 23 &&
		   len < 9 + LIMIT_RECORD_ID + 14 &&
		   strcmp(rest + len - 14, "/withdraw.json") == 0 &&
		   ex->method == HTTP_POST) {
		char id[LIMIT_RECORD_ID + 1];

		snprintf(id, sizeof(id), "%.*s", (int)(len - 23), rest + 9);
		requests_withdraw(n, wsi, ex, id);
	} else {
		o311_error(wsi, ex, 404, "no such resource: %.100s", ex->path);
	}
}

int requests_route(struct node *n, struct lws *wsi, struct http_exchange *ex,
		   struct manager_req *mr)
{
	const char *p = ex->path;

	if (strncmp(p, O311, sizeof(O311) - 1) == 0) {
		open311_route(n, wsi, ex);
		return 1;
	}
	if (strcmp(p, MINE) == 0) {
		if (ex->method != HTTP_GET)
			http_reply_405(wsi, ex, "GET, HEAD",
					 "use GET on %s", MINE);
		else
			requests_mine(n, wsi, ex);
		return 1;
	}
	if (strcmp(p, MGR) != 0 && strncmp(p, MGR "/", sizeof(MGR)) != 0)
		return 0;
	if (!(p[sizeof(MGR) - 1] == '\0' ? ex->method == HTTP_GET
					 : ex->method == HTTP_PATCH)) {
		http_reply_405(wsi, ex, p[sizeof(MGR) - 1] == '\0' ? "GET, HEAD" : "PATCH", "use GET "
				 "on %s, PATCH on %s/{id}", MGR, MGR);
		return 1;
	}
	if (!civic_manager_admit(n, wsi, ex, mr, ex->method == HTTP_PATCH))
		return 1;
	if (ex->method == HTTP_GET)
		requests_queue(n, wsi, ex);
	else if (!text_record_id_valid(p + sizeof(MGR)))
		http_reply_error(wsi, ex, 404, "not_found", "not a request id");
	else
		requests_patch(n, wsi, ex, p + sizeof(MGR));
	return 1;
}
