/* outbox_http.c: the outbox's endpoints on the public port (outbox.h
 * lists them): the manager's webhook endpoints, summary and dead letters;
 * a resident's channels; the SMS gateway's opt-out callback.
 *
 * Every change is checked whole before anything is written, and written
 * in one transaction: a refused input changes nothing. An endpoint's
 * secret is made here (LIMIT_OUTBOX_SECRET_BYTES random bytes, as hex),
 * answered once and never shown again; it stays in the store, which
 * signs with it. Runs on the lws service thread, on n->db.
 *
 * Parts: helpers; the summary; endpoints; dead letters; a resident's
 * channels; opt-out. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "text.h"
#include "webhook.h"

/* The states a row may be in, as the summary counts them. */
static const char *const states[] = { "pending", "sending", "sent",
				      "failed", "dead", "cancelled" };

/* ---- helpers --------------------------------------------------------------------- */

/* path_id: a positive id of at most 18 digits; 0 when s is not one. */
static int64_t path_id(const char *s)
{
	size_t digits = strspn(s, "0123456789");
	long long v;

	if (!digits || digits > 18 || s[digits] || s[0] == '0')
		return 0;
	errno = 0;
	v = strtoll(s, NULL, 10);
	return errno ? 0 : (int64_t)v;
}

/* stmt: sql prepared on n->db, or NULL (logged). */
static sqlite3_stmt *stmt(struct node *n, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(n->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("outbox: %s", sqlite3_errmsg(n->db));
		return NULL;
	}
	return st;
}

/* col_s: a text column ("" for NULL). */
static const char *col_s(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

/* rfc3339: t as a new JSON string, null for 0. */
static json_t *rfc3339(int64_t t)
{
	char b[CLOCK_RFC3339_LEN];

	return t ? json_string(clock_rfc3339(t, b, sizeof(b))) : json_null();
}

/* mask: a phone's digits as 138****8001. */
static void mask(const char *phone, char out[16])
{
	size_t len = strlen(phone);

	if (len < 7)
		snprintf(out, 16, "****");
	else
		snprintf(out, 16, "%.3s****%s", phone, phone + len - 4);
}

/* bool_field: in's field name as 0/1 into *v (absent: 0). 0 with a 422
 * stored when it is not a boolean. */
static int bool_field(struct lws *wsi, struct http_exchange *ex, json_t *in,
		      const char *name, int *v)
{
	json_t *j = json_object_get(in, name);

	if (j && !json_is_boolean(j)) {
		http_reply_error(wsi, ex, 422, "invalid", "%s: must be true or "
				 "false", name);
		return 0;
	}
	*v = json_is_true(j);
	return 1;
}

/* rank_field: in's "bulletins": a severity word (the lowest sent) into
 * *rank, or null/absent for none (-1). 0 with a 422 stored when it is
 * neither. */
static int rank_field(struct lws *wsi, struct http_exchange *ex, json_t *in,
		      int *rank)
{
	json_t *j = json_object_get(in, "bulletins");

	*rank = -1;
	if (!j || json_is_null(j))
		return 1;
	*rank = outbox_severity_rank(json_string_value(j));
	if (*rank >= 0)
		return 1;
	http_reply_error(wsi, ex, 422, "invalid", "bulletins: the lowest "
			 "severity sent, one of extreme, severe, moderate, "
			 "minor, unknown; or null for none");
	return 0;
}

/* ---- the summary ------------------------------------------------------------------- */

static void summary(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	json_t *ch = json_object();
	sqlite3_stmt *st = stmt(n, "SELECT channel, state, count(*) FROM "
				   "outbox GROUP BY channel, state");

	for (int i = 0; ch && i < OUTBOX_CHANNELS; i++) {
		json_t *o = json_object();

		for (size_t k = 0; o && k < sizeof(states) / sizeof(*states);
		     k++)
			json_object_set_new(o, states[k], json_integer(0));
		json_object_set_new(ch, outbox__channel_name(i), o);
	}
	while (st && ch && sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object_get(ch, col_s(st, 0));

		if (o)
			json_object_set_new(o, col_s(st, 1), json_integer(
				sqlite3_column_int64(st, 2)));
	}
	sqlite3_finalize(st);
	if (!st || !ch) {
		json_decref(ch);
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	http_reply_json(wsi, ex, 200, json_pack("{s:o, s:b}", "channels", ch,
						"sms_gateway",
						n->cfg.sms_url != NULL));
}

void outbox_on_summary(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	(void)ctx;
	(void)m;
	summary(node_from_wsi(wsi), wsi, ex);
}

/* ---- endpoints ----------------------------------------------------------------------- */

/* endpoint_json: the row of st (id, name, url, bulletin_rank, requests,
 * check_in, created, waiting, dead) without its secret. */
static json_t *endpoint_json(sqlite3_stmt *st)
{
	const char *sev = outbox_severity_word(sqlite3_column_int(st, 3));

	return json_pack("{s:I, s:s, s:s, s:o, s:b, s:b, s:o, s:I, s:I}",
			 "id", (json_int_t)sqlite3_column_int64(st, 0),
			 "name", col_s(st, 1), "url", col_s(st, 2),
			 "bulletins", sev ? json_string(sev) : json_null(),
			 "requests", sqlite3_column_int(st, 4),
			 "check_in", sqlite3_column_int(st, 5),
			 "created", rfc3339(sqlite3_column_int64(st, 6)),
			 "waiting", (json_int_t)sqlite3_column_int64(st, 7),
			 "dead", (json_int_t)sqlite3_column_int64(st, 8));
}

#define ENDPOINT_COLS \
	"e.id, e.name, e.url, e.bulletin_rank, e.requests, e.check_in, " \
	"e.created, (SELECT count(*) FROM outbox o WHERE o.endpoint = e.id " \
	"AND o.state IN ('pending', 'sending', 'failed')), (SELECT count(*) " \
	"FROM outbox o WHERE o.endpoint = e.id AND o.state = 'dead')"

static void endpoints_list(struct node *n, struct lws *wsi,
			   struct http_exchange *ex)
{
	json_t *items = json_array();
	sqlite3_stmt *st = stmt(n, "SELECT " ENDPOINT_COLS " FROM "
				   "outbox_endpoint e ORDER BY e.id");

	while (st && items && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items, endpoint_json(st));
	sqlite3_finalize(st);
	if (!st || !items) {
		json_decref(items);
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	http_reply_json(wsi, ex, 200, json_pack("{s:o, s:i}", "items", items,
						"limit",
						LIMIT_OUTBOX_ENDPOINTS));
}

/* endpoint_new: POST: check every field, then store it with a new
 * secret. */
static void endpoint_new(struct node *n, struct lws *wsi,
			 struct http_exchange *ex)
{
	json_t *in = http_parse_json(wsi, ex), *ep = NULL;
	const char *name, *url, *why = "required";
	unsigned char raw[LIMIT_OUTBOX_SECRET_BYTES];
	char secret[2 * LIMIT_OUTBOX_SECRET_BYTES + 1];
	int rank, requests, check_in;
	int64_t id, count;
	sqlite3_stmt *st;

	if (!in)
		return;
	name = json_string_value(json_object_get(in, "name"));
	url = json_string_value(json_object_get(in, "url"));
	if (!name || !*name || strlen(name) > LIMIT_OUTBOX_NAME ||
	    !text_utf8_valid(name, strlen(name))) {
		http_reply_error(wsi, ex, 422, "invalid", "name: required, at "
				 "most %d bytes of text", LIMIT_OUTBOX_NAME);
		goto out;
	}
	if (!json_is_string(json_object_get(in, "url")) ||
	    (why = webhook_url_https(url, LIMIT_OUTBOX_URL))) {
		http_reply_error(wsi, ex, 422, "invalid", "url: %s (an "
				 "https:// address of at most %d bytes)", why,
				 LIMIT_OUTBOX_URL);
		goto out;
	}
	if (!rank_field(wsi, ex, in, &rank) ||
	    !bool_field(wsi, ex, in, "requests", &requests) ||
	    !bool_field(wsi, ex, in, "check_in", &check_in))
		goto out;
	if (rank < 0 && !requests && !check_in) {
		http_reply_error(wsi, ex, 422, "invalid", "bulletins: choose "
				 "what the endpoint receives (bulletins, "
				 "requests or check_in)");
		goto out;
	}
	count = store_count(n->db, "SELECT count(*) FROM outbox_endpoint",
			    NULL);
	if (count >= LIMIT_OUTBOX_ENDPOINTS) {
		http_reply_error(wsi, ex, 409, "conflict", "this node has %d "
				 "endpoints, the most it keeps: delete one "
				 "first", LIMIT_OUTBOX_ENDPOINTS);
		goto out;
	}
	if (count < 0 || RAND_bytes(raw, sizeof(raw)) != 1) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		goto out;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(secret + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	st = stmt(n, "INSERT INTO outbox_endpoint (name, url, secret, "
		     "bulletin_rank, requests, check_in, created) VALUES (?1, "
		     "?2, ?3, ?4, ?5, ?6, ?7)");
	if (st) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, secret, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, rank);
		sqlite3_bind_int(st, 5, requests);
		sqlite3_bind_int(st, 6, check_in);
		sqlite3_bind_int64(st, 7, clock_now());
	}
	if (!st || sqlite3_step(st) != SQLITE_DONE) {
		sqlite3_finalize(st);
		OPENSSL_cleanse(secret, sizeof(secret));
		http_reply_error(wsi, ex, 500, "internal", "nothing was stored;"
				 " try again");
		goto out;
	}
	sqlite3_finalize(st);
	id = sqlite3_last_insert_rowid(n->db);
	st = stmt(n, "SELECT " ENDPOINT_COLS " FROM outbox_endpoint e WHERE "
		     "e.id = ?1");
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			ep = endpoint_json(st);
	}
	sqlite3_finalize(st);
	log_info("outbox: the manager registered endpoint %lld (%s)",
		 (long long)id, url);
	http_reply_json(wsi, ex, 201, json_pack("{s:o, s:s}", "endpoint",
						ep ? ep : json_null(),
						"secret", secret));
	OPENSSL_cleanse(secret, sizeof(secret));
out:
	json_decref(in);
}

void outbox_on_endpoints(void *ctx, struct lws *wsi,
			 struct http_exchange *ex,
			 const struct route_match *m)
{
	(void)ctx;
	(void)m;
	if (ex->method == HTTP_POST)
		endpoint_new(node_from_wsi(wsi), wsi, ex);
	else
		endpoints_list(node_from_wsi(wsi), wsi, ex);
}

/* endpoint_delete: the endpoint and, in the same transaction, its
 * waiting rows cancelled. */
void outbox_on_endpoint(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);
	int64_t id = path_id(m->param[0]);
	sqlite3_stmt *a = NULL, *b = NULL;
	int gone = 0, ok;

	(void)ctx;
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	a = stmt(n, "UPDATE outbox SET state = 'cancelled', done = ?2, "
		    "last_error = 'the endpoint was deleted' WHERE endpoint = "
		    "?1 AND state IN ('pending', 'failed', 'sending')");
	b = stmt(n, "DELETE FROM outbox_endpoint WHERE id = ?1");
	ok = a && b;
	if (ok) {
		sqlite3_bind_int64(a, 1, id ? id : -1);
		sqlite3_bind_int64(a, 2, clock_now());
		sqlite3_bind_int64(b, 1, id ? id : -1);
		ok = sqlite3_step(a) == SQLITE_DONE &&
		     sqlite3_step(b) == SQLITE_DONE;
		gone = sqlite3_changes(n->db);
	}
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	if (!ok || !gone) {
		store_exec(n->db, "ROLLBACK");
		if (ok)
			http_reply_error(wsi, ex, 404, "not_found", "no "
					 "endpoint %s", m->param[0]);
		else
			http_reply_error(wsi, ex, 500, "internal", "try "
					 "again");
		return;
	}
	if (store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	log_info("outbox: the manager deleted endpoint %lld", (long long)id);
	http_reply(wsi, ex, 204, "application/json", NULL, 0);
}

/* ---- dead letters --------------------------------------------------------------------- */

static void dead_list(struct node *n, struct lws *wsi,
		      struct http_exchange *ex)
{
	json_t *items = json_array();
	sqlite3_stmt *st = stmt(n, "SELECT o.id, o.channel, o.endpoint, "
				   "e.name, o.kind, o.source, o.attempts, "
				   "o.last_error, o.created, o.done, o.key, "
				   "o.resident FROM outbox o LEFT JOIN "
				   "outbox_endpoint e ON e.id = o.endpoint "
				   "WHERE o.state = 'dead' ORDER BY o.done "
				   "DESC, o.id DESC LIMIT ?1");
	int64_t total = store_count(n->db, "SELECT count(*) FROM outbox "
				    "WHERE state = 'dead'", NULL);

	if (st)
		sqlite3_bind_int(st, 1, LIMIT_OUTBOX_DEAD_LIST);
	while (st && items && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items, json_pack(
			"{s:I, s:s, s:I, s:s, s:s, s:s, s:i, s:s, s:o, s:o, "
			"s:s, s:I}",
			"id", (json_int_t)sqlite3_column_int64(st, 0),
			"channel", col_s(st, 1),
			"endpoint", (json_int_t)sqlite3_column_int64(st, 2),
			"endpoint_name", col_s(st, 3), "kind", col_s(st, 4),
			"source", col_s(st, 5),
			"attempts", sqlite3_column_int(st, 6),
			"last_error", col_s(st, 7),
			"created", rfc3339(sqlite3_column_int64(st, 8)),
			"given_up", rfc3339(sqlite3_column_int64(st, 9)),
			"key", col_s(st, 10),
			"resident", (json_int_t)sqlite3_column_int64(st, 11)));
	sqlite3_finalize(st);
	if (!st || !items || total < 0) {
		json_decref(items);
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	http_reply_json(wsi, ex, 200, json_pack("{s:o, s:I}", "items", items,
						"total", (json_int_t)total));
}

void outbox_on_dead(void *ctx, struct lws *wsi, struct http_exchange *ex,
		    const struct route_match *m)
{
	(void)ctx;
	(void)m;
	dead_list(node_from_wsi(wsi), wsi, ex);
}

/* outbox_on_retry: a dead letter pending again from its first try: a
 * bulletin's until its expiry (one past it is refused), anything else
 * for another LIMIT_OUTBOX_STATUS_S. */
void outbox_on_retry(void *ctx, struct lws *wsi, struct http_exchange *ex,
		     const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);
	int64_t id = path_id(m->param[0]), now = clock_now();
	sqlite3_stmt *st;
	int changed = 0;

	(void)ctx;
	st = stmt(n, "UPDATE outbox SET state = 'pending', attempts = 0, "
		     "next_at = ?2, last_error = '', deadline = CASE WHEN "
		     "kind = 'bulletin' THEN deadline ELSE ?2 + ?3 END WHERE "
		     "id = ?1 AND state = 'dead' AND (kind <> 'bulletin' OR "
		     "deadline > ?2)");
	if (st) {
		sqlite3_bind_int64(st, 1, id ? id : -1);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int64(st, 3, LIMIT_OUTBOX_STATUS_S);
		if (sqlite3_step(st) == SQLITE_DONE)
			changed = sqlite3_changes(n->db);
		else
			changed = -1;
	}
	sqlite3_finalize(st);
	if (!st || changed < 0) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	if (!changed) {
		char idtext[24];

		snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
		if (store_count(n->db, "SELECT count(*) FROM outbox WHERE "
				"state = 'dead' AND id = CAST(?1 AS INTEGER)",
				idtext) > 0)
			http_reply_error(wsi, ex, 409, "conflict", "the "
					 "bulletin of message %s has expired: "
					 "it is not sent any more",
					 m->param[0]);
		else
			http_reply_error(wsi, ex, 404, "not_found", "no dead "
					 "message %s", m->param[0]);
		return;
	}
	log_info("outbox: the manager retries message %lld", (long long)id);
	outbox_wake(n);
	http_reply_json(wsi, ex, 200, json_pack("{s:I, s:s}", "id",
						(json_int_t)id, "state",
						"pending"));
}

/* ---- a resident's channels ------------------------------------------------------------ */

/* channels_get: her channels as GET answers them. */
static void channels_get(struct node *n, struct lws *wsi,
			 struct http_exchange *ex, int64_t resident)
{
	sqlite3_stmt *st = stmt(n, "SELECT phone, bulletin_rank, requests, "
				   "check_in FROM outbox_sms WHERE resident = "
				   "?1");
	json_t *sms;
	char masked[16];

	if (!st) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		return;
	}
	sqlite3_bind_int64(st, 1, resident);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *sev = outbox_severity_word(sqlite3_column_int(st,
									  1));

		mask(col_s(st, 0), masked);
		sms = json_pack("{s:b, s:b, s:s, s:o, s:b, s:b}", "available",
				n->cfg.sms_url != NULL, "enabled", 1, "phone",
				masked, "bulletins",
				sev ? json_string(sev) : json_null(),
				"requests", sqlite3_column_int(st, 2),
				"check_in", sqlite3_column_int(st, 3));
	} else {
		sms = json_pack("{s:b, s:b, s:n, s:n, s:b, s:b}", "available",
				n->cfg.sms_url != NULL, "enabled", 0, "phone",
				"bulletins", "requests", 0, "check_in", 0);
	}
	sqlite3_finalize(st);
	http_reply_json(wsi, ex, 200, json_pack("{s:o}", "sms", sms));
}

/* sms_phone: the phone her SMS goes to: the body's "phone" (a mainland
 * mobile number) or, without one, her account's. 0 with a 422 stored. */
static int sms_phone(struct node *n, struct lws *wsi,
		     struct http_exchange *ex, json_t *sms, int64_t resident,
		     char out[LIMIT_PHONE_DIGITS + 1])
{
	json_t *j = json_object_get(sms, "phone");
	struct resident_row row;

	if (j && !json_is_null(j)) {
		if (json_is_string(j) &&
		    text_phone_digits(json_string_value(j), out, 1))
			return 1;
		http_reply_error(wsi, ex, 422, "invalid", "sms.phone: a "
				 "mainland mobile number, 11 digits from 13 to "
				 "19");
		return 0;
	}
	if (resident_store_get(n->civic->residents, resident, &row) ==
	    ERR_OK && row.phone[0]) {
		snprintf(out, LIMIT_PHONE_DIGITS + 1, "%s", row.phone);
		return 1;
	}
	http_reply_error(wsi, ex, 422, "invalid", "sms.phone: required: your "
			 "account has no phone number");
	return 0;
}

/* channels_put: {"sms": {"enabled", "phone", "bulletins", "requests",
 * "check_in"}}: her consent kept, or, enabled false, forgotten and the
 * texts waiting for her stopped. */
static void channels_put(struct node *n, struct lws *wsi,
			 struct http_exchange *ex, int64_t resident)
{
	json_t *in = http_parse_json(wsi, ex), *sms;
	char phone[LIMIT_PHONE_DIGITS + 1], idtext[24];
	int enabled, rank, requests, check_in, rc = ERR_IO;
	sqlite3_stmt *st = NULL;

	if (!in)
		return;
	sms = json_object_get(in, "sms");
	if (!json_is_object(sms)) {
		http_reply_error(wsi, ex, 422, "invalid", "sms: required, an "
				 "object");
		goto out;
	}
	if (!bool_field(wsi, ex, sms, "enabled", &enabled) ||
	    !bool_field(wsi, ex, sms, "requests", &requests) ||
	    !bool_field(wsi, ex, sms, "check_in", &check_in) ||
	    !rank_field(wsi, ex, sms, &rank))
		goto out;
	if (enabled && !n->cfg.sms_url) {
		http_reply_error(wsi, ex, 409, "conflict", "sms: this "
				 "community sends no text messages (no SMS "
				 "gateway)");
		goto out;
	}
	if (enabled && !sms_phone(n, wsi, ex, sms, resident, phone))
		goto out;
	if (enabled && rank < 0 && !requests && !check_in) {
		http_reply_error(wsi, ex, 422, "invalid", "sms: choose what "
				 "to receive (bulletins, requests, check_in)"
				 ", or set enabled false");
		goto out;
	}
	snprintf(idtext, sizeof(idtext), "%lld", (long long)resident);
	if (enabled && store_count(n->db, "SELECT count(*) FROM outbox_sms "
				   "WHERE resident <> CAST(?1 AS INTEGER)",
				   idtext) >= LIMIT_OUTBOX_SMS) {
		http_reply_error(wsi, ex, 409, "conflict", "sms: this community"
				 " sends texts to at most %d residents",
				 LIMIT_OUTBOX_SMS);
		goto out;
	}
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto fail;
	if (!enabled) {
		rc = outbox_cancel_resident(n->db, resident, 0);
	} else if ((st = stmt(n, "INSERT OR REPLACE INTO outbox_sms "
			      "(resident, phone, bulletin_rank, requests, "
			      "check_in, updated) VALUES (?1, ?2, ?3, ?4, ?5,"
			      " ?6)"))) {
		sqlite3_bind_int64(st, 1, resident);
		sqlite3_bind_text(st, 2, phone, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, rank);
		sqlite3_bind_int(st, 4, requests);
		sqlite3_bind_int(st, 5, check_in);
		sqlite3_bind_int64(st, 6, clock_now());
		rc = sqlite3_step(st) == SQLITE_DONE ? ERR_OK : ERR_IO;
		sqlite3_finalize(st);
	}
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		goto fail;
	}
	log_info("outbox: resident %lld %s SMS alerts", (long long)resident,
		 enabled ? "takes" : "stopped");
	channels_get(n, wsi, ex, resident);
	goto out;
fail:
	http_reply_error(wsi, ex, 500, "internal", "nothing was changed; try "
			 "again");
out:
	json_decref(in);
}

void outbox_on_channels(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m)
{
	struct public_http *h = ctx;

	(void)m;
	if (ex->method == HTTP_PUT)
		channels_put(node_from_wsi(wsi), wsi, ex, h->resident);
	else
		channels_get(node_from_wsi(wsi), wsi, ex, h->resident);
}

/* ---- opt-out ----------------------------------------------------------------------------- */

/* outbox_on_opt_out: the gateway says a phone answered "TD" (unsubscribe):
 * every resident's SMS consent for that phone is forgotten and the
 * texts waiting for it stop. The post is signed as the node's own posts
 * are, with [sms] secret. */
void outbox_on_opt_out(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);
	char sig[WEBHOOK_SIGNATURE_LEN + 8], phone[LIMIT_PHONE_DIGITS + 1];
	char masked[16];
	json_t *in;
	sqlite3_stmt *st;
	int rc = ERR_OK, count = 0;

	(void)ctx;
	(void)m;
	if (!n->cfg.sms_url) {
		http_reply_error(wsi, ex, 404, "not_found", "this community "
				 "has no SMS gateway");
		return;
	}
	if (lws_hdr_custom_copy(wsi, sig, sizeof(sig), "x-alliance-signature:",
				(int)strlen("x-alliance-signature:")) <= 0 ||
	    webhook_verify(n->cfg.sms_secret, sig, ex->body ? ex->body : "",
			   ex->body_len, clock_now(),
			   LIMIT_OUTBOX_CALLBACK_AGE_S) != ERR_OK) {
		http_reply_error(wsi, ex, 401, "unauthorized", "the post must "
				 "be signed with the gateway's secret "
				 "(X-Alliance-Signature: t=T,v1=HMAC), at most "
				 "%d s old", LIMIT_OUTBOX_CALLBACK_AGE_S);
		return;
	}
	if (!(in = http_parse_json(wsi, ex)))
		return;
	if (!text_phone_digits(json_string_value(json_object_get(in, "phone")),
			       phone, 1)) {
		http_reply_error(wsi, ex, 422, "invalid", "phone: required, "
				 "the mainland mobile number that opted out");
		json_decref(in);
		return;
	}
	json_decref(in);
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto fail;
	for (int i = 0; rc == ERR_OK && i < 3; i++) {
		static const char *const sql[] = {
			"UPDATE outbox SET state = 'cancelled', done = ?2, "
			"last_error = 'opted out' WHERE channel = 'sms' AND "
			"state IN ('pending', 'failed') AND resident IN "
			"(SELECT resident FROM outbox_sms WHERE phone = ?1)",
			"SELECT count(*), ?2 FROM outbox_sms WHERE phone = ?1",
			"DELETE FROM outbox_sms WHERE phone = ?1 AND ?2 = ?2",
		};

		st = stmt(n, sql[i]);
		if (!st) {
			rc = ERR_IO;
			break;
		}
		sqlite3_bind_text(st, 1, phone, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, clock_now());
		switch (sqlite3_step(st)) {
		case SQLITE_ROW:
			count = sqlite3_column_int(st, 0);
			break;
		case SQLITE_DONE:
			break;
		default:
			rc = ERR_IO;
		}
		sqlite3_finalize(st);
	}
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		goto fail;
	}
	mask(phone, masked);
	log_info("outbox: %s opted out of text messages (%d consents)",
		 masked, count);
	http_reply_json(wsi, ex, 200, json_pack("{s:s, s:i}", "phone", masked,
						"opted_out", count));
	return;
fail:
	http_reply_error(wsi, ex, 500, "internal", "nothing was changed; try "
			 "again");
}
