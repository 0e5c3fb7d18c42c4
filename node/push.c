/* push.c: the outbox's Web Push channel (push.h): the subscriptions
 * residents register from their browsers, the messages' small payload,
 * and what the sender posts for one row (encrypted for the subscription,
 * signed with the node's VAPID key; lib/webpush.h).
 *
 * A push row of the outbox names its subscription as endpoint -ID (the
 * webhook endpoints are positive, the SMS gateway 0), so the sender's
 * "in flight per endpoint" holds per subscription too.
 *
 * Parts: schema; payloads; posting; the endpoints. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "outbox.h"
#include "push.h"
#include "store.h"
#include "webhook.h"
#include "webpush.h"

/* Bytes of a message's title and body text (the whole message then fits
 * WEBPUSH_PLAIN_MAX with room to spare, even when JSON escapes). */
#define TITLE_MAX 200
#define BODY_MAX 900

/* ---- schema ------------------------------------------------------------------ */

const char push_schema_v1[] =
	"CREATE TABLE outbox_push ("           /* a browser's subscription */
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  resident INTEGER NOT NULL,"
	"  endpoint TEXT NOT NULL UNIQUE,"
	"  p256dh BLOB NOT NULL,"
	"  auth BLOB NOT NULL,"
	"  bulletin_rank INTEGER NOT NULL,"    /* lowest severity; -1 none */
	"  requests INTEGER NOT NULL,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE INDEX outbox_push_resident ON outbox_push (resident);"
	/* an account deleted (resident_store_forget) takes its browsers */
	"CREATE TRIGGER outbox_push_forget AFTER UPDATE OF password_hash ON "
	"  resident WHEN new.password_hash IS NULL BEGIN"
	"  UPDATE outbox SET state = 'cancelled', last_error = 'consent "
	"  withdrawn' WHERE channel = 'push' AND resident = new.id AND state "
	"  IN ('pending', 'failed');"
	"  DELETE FROM outbox_push WHERE resident = new.id;"
	"END;";

const char *push_fan_sql(const char *kind)
{
	if (strcmp(kind, "bulletin") == 0)
		return "SELECT id, resident FROM outbox_push WHERE bulletin_rank"
		       " >= 0 AND bulletin_rank <= ?1 AND (?2 = 0 OR resident"
		       " = ?2) AND id > ?3 ORDER BY id LIMIT ?4";
	if (strcmp(kind, "request") == 0)
		return "SELECT id, resident FROM outbox_push WHERE requests = 1"
		       " AND ?1 = ?1 AND (?2 = 0 OR resident = ?2) AND id > ?3"
		       " ORDER BY id LIMIT ?4";
	return NULL;
}

/* ---- payloads ---------------------------------------------------------------- */

/* cut: a copy of s cut to at most max bytes, not inside a character. */
static json_t *cut(const char *s, size_t max)
{
	size_t len = strlen(s ? s : "");

	if (len > max) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	return json_stringn(s ? s : "", len);
}

json_t *push_payload(const char *title, const char *body, const char *url,
		     const char *id, int check_in, const char *urgency,
		     int64_t expires)
{
	json_t *p = json_pack("{s:{s:o, s:o, s:o, s:o}, s:s, s:I}", "message",
			      "title", cut(title, TITLE_MAX), "body",
			      cut(body, BODY_MAX), "url", cut(url, 200), "id",
			      cut(id, 200), "urgency", urgency, "expires",
			      (json_int_t)expires);

	if (p && check_in &&
	    json_object_set_new(json_object_get(p, "message"), "check_in",
				json_true()) != 0) {
		json_decref(p);
		return NULL;
	}
	return p;
}

const char *push_urgency(int rank)
{
	return rank >= 3 ? "high" : rank == 2 ? "normal" : "low";
}

/* ---- posting ----------------------------------------------------------------- */

int push_target_get(sqlite3 *db, int64_t sub, struct push_target *t)
{
	sqlite3_stmt *st = NULL;
	int rc = ERR_FAIL;

	t->url = NULL;
	if (sqlite3_prepare_v2(db, "SELECT endpoint, p256dh, auth FROM "
			       "outbox_push WHERE id = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, sub);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = ERR_NOTFOUND;
		goto out;
	}
	if (sqlite3_column_bytes(st, 1) != WEBPUSH_KEY_LEN ||
	    sqlite3_column_bytes(st, 2) != WEBPUSH_AUTH_LEN ||
	    !(t->url = strdup((const char *)sqlite3_column_text(st, 0))))
		goto out;
	memcpy(t->p256dh, sqlite3_column_blob(st, 1), WEBPUSH_KEY_LEN);
	memcpy(t->auth, sqlite3_column_blob(st, 2), WEBPUSH_AUTH_LEN);
	rc = ERR_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

int push_seal(const struct push_target *t, EVP_PKEY *vapid,
	      const char *subject, struct webpush_vapid_cache *tokens,
	      const char *envelope, int64_t now, struct curl_slist **hs,
	      char **body, size_t *len)
{
	json_t *env = json_loads(envelope, 0, NULL);
	json_t *p = json_object_get(env, "payload");
	char *msg = NULL, line[64];
	const char *auth = NULL;
	const char *urgency = json_string_value(json_object_get(p, "urgency"));
	int64_t ttl = json_integer_value(json_object_get(p, "expires")) - now;
	int rc = ERR_FAIL;

	*hs = NULL;
	msg = json_dumps(json_object_get(p, "message"), JSON_COMPACT);
	*body = malloc(WEBPUSH_BODY_MAX);
	if (!msg || !*body ||
	    webpush_encrypt(t->p256dh, t->auth, (const uint8_t *)msg,
			    strlen(msg), (uint8_t *)*body, len) != ERR_OK ||
	    !(auth = webpush_vapid_cached(tokens, vapid, t->url, subject, now,
					  PUSH_VAPID_S)))
		goto out;
	if (ttl < 0)
		ttl = 0;
	if (ttl > PUSH_TTL_MAX_S)
		ttl = PUSH_TTL_MAX_S;
	rc = ERR_OK;
	*hs = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	*hs = *hs ? curl_slist_append(*hs, "Content-Encoding: aes128gcm") : NULL;
	snprintf(line, sizeof(line), "TTL: %lld", (long long)ttl);
	*hs = *hs ? curl_slist_append(*hs, line) : NULL;
	snprintf(line, sizeof(line), "Urgency: %s", urgency ? urgency : "normal");
	*hs = *hs ? curl_slist_append(*hs, line) : NULL;
	*hs = *hs ? curl_slist_append(*hs, "Expect:") : NULL;
	if (*hs) {
		char *a = NULL;

		if (asprintf(&a, "Authorization: %s", auth) < 0 ||
		    !curl_slist_append(*hs, a))
			rc = ERR_FAIL;
		free(a);
	} else {
		rc = ERR_FAIL;
	}
out:
	if (rc != ERR_OK) {
		free(*body);
		curl_slist_free_all(*hs);
		*body = NULL;
		*hs = NULL;
	}
	free(msg);
	json_decref(env);
	return rc;
}

void push_gone(sqlite3 *db, int64_t sub, int64_t now)
{
	outbox__exec(db, "UPDATE outbox SET state = 'cancelled', done = ?2, "
		     "last_error = 'the subscription is gone' WHERE channel = "
		     "'push' AND endpoint = -?1 AND state IN ('pending', "
		     "'failed')", sub, now);
	outbox__exec(db, "DELETE FROM outbox_push WHERE id = ?1", sub, 0);
	log_info("push: subscription %lld is gone (the push service said so)",
		 (long long)sub);
}

/* ---- the endpoints ----------------------------------------------------------- */

void push_on_key(void *ctx, struct lws *wsi, struct http_exchange *ex,
		 const struct route_match *m)
{
	const char *key = outbox_push_key(node_from_wsi(wsi));

	(void)ctx;
	(void)m;
	if (!key) {
		http_reply_error(wsi, ex, 404, "not_found", "this community "
				 "sends no push notifications ([push] key is "
				 "not set)");
		return;
	}
	http_reply_json(wsi, ex, 200, json_pack("{s:s}", "key", key));
}

/* sub_json: the subscription row of st (id, endpoint, bulletin_rank,
 * requests, created). */
static json_t *sub_json(sqlite3_stmt *st)
{
	const char *sev = outbox_severity_word(sqlite3_column_int(st, 2));

	return json_pack("{s:I, s:s, s:o, s:b, s:I}", "id",
			 (json_int_t)sqlite3_column_int64(st, 0), "endpoint",
			 (const char *)sqlite3_column_text(st, 1), "bulletins",
			 sev ? json_string(sev) : json_null(), "requests",
			 sqlite3_column_int(st, 3),
			 "created", (json_int_t)sqlite3_column_int64(st, 4));
}

/* list: her subscriptions, or the one of endpoint (status 200 or 201). */
static void list(struct node *n, struct lws *wsi, struct http_exchange *ex,
		 int64_t resident, const char *endpoint, int status)
{
	sqlite3_stmt *st = NULL;
	json_t *items = json_array();

	if (sqlite3_prepare_v2(n->db, "SELECT id, endpoint, bulletin_rank, "
			       "requests, created FROM outbox_push WHERE "
			       "resident = ?1 AND (?2 IS NULL OR endpoint = ?2)"
			       " ORDER BY id", -1, &st, NULL) != SQLITE_OK ||
	    !items) {
		json_decref(items);
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	sqlite3_bind_int64(st, 1, resident);
	if (endpoint)
		sqlite3_bind_text(st, 2, endpoint, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items, sub_json(st));
	sqlite3_finalize(st);
	if (endpoint && json_array_size(items) == 1)
		http_reply_json(wsi, ex, status,
				json_incref(json_array_get(items, 0)));
	else
		http_reply_json(wsi, ex, status, json_pack("{s:O}", "items",
							   items));
	json_decref(items);
}

/* subscribe: validate and store a subscription of in; every field is
 * checked before anything is written. */
static void subscribe(struct node *n, struct lws *wsi,
		      struct http_exchange *ex, int64_t resident, json_t *in)
{
	const char *url = json_string_value(json_object_get(in, "endpoint"));
	json_t *keys = json_object_get(in, "keys");
	const char *p256dh = json_string_value(json_object_get(keys, "p256dh"));
	const char *auth = json_string_value(json_object_get(keys, "auth"));
	json_t *b = json_object_get(in, "bulletins");
	json_t *r = json_object_get(in, "requests");
	uint8_t point[WEBPUSH_KEY_LEN + 1], secret[WEBPUSH_AUTH_LEN + 1];
	char origin[LIMIT_PUSH_ENDPOINT + 1], idtext[24];
	const char *why;
	sqlite3_stmt *st = NULL;
	int rank = -1, existed, ok;

	if (!url || (why = webhook_url_https(url, LIMIT_PUSH_ENDPOINT)) ||
	    webpush_origin(url, origin, sizeof(origin)) != ERR_OK) {
		http_reply_error(wsi, ex, 422, "invalid", "endpoint: required, "
				 "an https URL of at most %d bytes",
				 LIMIT_PUSH_ENDPOINT);
		return;
	}
	if (!p256dh || strlen(p256dh) > 100 ||
	    webpush_unb64url(p256dh, point, sizeof(point)) != WEBPUSH_KEY_LEN ||
	    !webpush_point_valid(point, WEBPUSH_KEY_LEN)) {
		http_reply_error(wsi, ex, 422, "invalid", "keys.p256dh: "
				 "required, base64url of an uncompressed P-256"
				 " point (65 bytes)");
		return;
	}
	if (!auth || strlen(auth) > 30 ||
	    webpush_unb64url(auth, secret, sizeof(secret)) != WEBPUSH_AUTH_LEN) {
		http_reply_error(wsi, ex, 422, "invalid", "keys.auth: required,"
				 " base64url of 16 bytes");
		return;
	}
	if (b && !json_is_null(b) &&
	    (rank = outbox_severity_rank(json_string_value(b))) < 0) {
		http_reply_error(wsi, ex, 422, "invalid", "bulletins: null or "
				 "the lowest severity to receive (unknown, "
				 "minor, moderate, severe, extreme)");
		return;
	}
	if (r && !json_is_boolean(r)) {
		http_reply_error(wsi, ex, 422, "invalid", "requests: a boolean");
		return;
	}
	if (rank < 0 && !json_is_true(r)) {
		http_reply_error(wsi, ex, 422, "invalid", "choose what to "
				 "receive: bulletins (a severity), requests, or "
				 "both");
		return;
	}
	existed = store_count(n->db, "SELECT count(*) FROM outbox_push WHERE "
			      "endpoint = ?1", url) > 0;
	snprintf(idtext, sizeof(idtext), "%lld", (long long)resident);
	if (!existed && store_count(n->db, "SELECT count(*) FROM outbox_push "
				    "WHERE resident = CAST(?1 AS INTEGER)",
				    idtext) >= LIMIT_PUSH_SUBSCRIPTIONS) {
		http_reply_error(wsi, ex, 409, "conflict", "at most %d browsers "
				 "may take notifications for one account; "
				 "remove one first", LIMIT_PUSH_SUBSCRIPTIONS);
		return;
	}
	/* the same browser again (or signed in as another resident): its
	 * keys and choices replaced */
	ok = sqlite3_prepare_v2(n->db, "INSERT INTO outbox_push (resident, "
				"endpoint, p256dh, auth, bulletin_rank, "
				"requests, created) VALUES (?1, ?2, ?3, ?4, "
				"?5, ?6, ?7) ON CONFLICT (endpoint) DO UPDATE "
				"SET resident = ?1, p256dh = ?3, auth = ?4, "
				"bulletin_rank = ?5, requests = ?6", -1, &st,
				NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_int64(st, 1, resident);
		sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, point, WEBPUSH_KEY_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, secret, WEBPUSH_AUTH_LEN,
				  SQLITE_STATIC);
		sqlite3_bind_int(st, 5, rank);
		sqlite3_bind_int(st, 6, json_is_true(r));
		sqlite3_bind_int64(st, 7, clock_now());
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	if (!ok) {
		http_reply_error(wsi, ex, 500, "internal", "nothing was "
				 "changed; try again");
		return;
	}
	log_info("push: resident %lld %s a browser (%s)", (long long)resident,
		 existed ? "updated" : "added", origin);
	list(n, wsi, ex, resident, url, existed ? 200 : 201);
}

void push_on_subscriptions(void *ctx, struct lws *wsi,
			   struct http_exchange *ex,
			   const struct route_match *m)
{
	struct public_http *h = ctx;
	struct node *n = node_from_wsi(wsi);
	json_t *in;

	(void)m;
	if (ex->method != HTTP_POST) {
		list(n, wsi, ex, h->resident, NULL, 200);
		return;
	}
	if (!outbox_push_key(n)) {
		http_reply_error(wsi, ex, 409, "conflict", "this community "
				 "sends no push notifications");
		return;
	}
	if (!(in = http_parse_json(wsi, ex)))
		return;
	subscribe(n, wsi, ex, h->resident, in);
	json_decref(in);
}

void push_on_subscription(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m)
{
	struct public_http *h = ctx;
	struct node *n = node_from_wsi(wsi);
	const char *s = m->param[0];
	int64_t id = 0;
	sqlite3_stmt *st = NULL;
	int changed = -1;

	for (; *s >= '0' && *s <= '9' && id < INT64_MAX / 10; s++)
		id = id * 10 + (*s - '0');
	if (*s || id <= 0) {
		http_reply_error(wsi, ex, 404, "not_found", "no such "
				 "subscription");
		return;
	}
	if (store_exec(n->db, "BEGIN IMMEDIATE") == ERR_OK &&
	    sqlite3_prepare_v2(n->db, "DELETE FROM outbox_push WHERE id = ?1 "
			       "AND resident = ?2", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, h->resident);
		if (sqlite3_step(st) == SQLITE_DONE)
			changed = sqlite3_changes(n->db);
	}
	sqlite3_finalize(st);
	if (changed > 0 &&
	    outbox__exec(n->db, "UPDATE outbox SET state = 'cancelled', done"
			 " = ?2, last_error = 'consent withdrawn' WHERE channel"
			 " = 'push' AND endpoint = -?1 AND state IN "
			 "('pending', 'failed')", id, clock_now()) != ERR_OK)
		changed = -1;
	if (changed < 0 || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		http_reply_error(wsi, ex, 500, "internal", "nothing was "
				 "changed; try again");
		return;
	}
	if (changed == 0) {
		http_reply_error(wsi, ex, 404, "not_found", "no such "
				 "subscription");
		return;
	}
	http_reply(wsi, ex, 204, "application/json", NULL, 0);
}
