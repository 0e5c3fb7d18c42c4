/* checkin_manage.c: the manager's side of the safety check-in (see
 * checkin.c for the whole): the list of residents who need a call, the
 * grid worker's calls, and the view by state.
 *
 *   GET|POST /api/v1/check-in/residents            the list (one resident
 *                                                  or {"items": [...]},
 *                                                  all or none)
 *   DELETE /api/v1/check-in/residents/{id}         off the list
 *   POST /api/v1/bulletins/{id}/check-in/calls     a call's outcome
 *   GET  /api/v1/bulletins/{id}/check-in           the counts and the
 *                                                  residents by state
 *
 * The list holds at most LIMIT_CHECKIN_RESIDENTS, each field checked
 * (name, phone as text_phone_digits takes it, address, grid worker,
 * needs from needs_words); a change rewrites every open check-in's counts
 * for the hub. Parts: the list; calls; the manager's view; the rows of
 * the route table. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulletin_store.h"
#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "text.h"

/* The needs a listed resident may have. */
static const char *const needs_words[] = {
	"living-alone", "over-80", "disabled",
};

/* Call outcomes, and the state each sets ("" none). */
static const struct {
	const char *outcome;
	const char *state;
} outcomes[] = {
	{ "reached-safe", "safe" },
	{ "reached-needs-help", "help" },
	{ "no-answer", "" },
};

/* ---- the list ---------------------------------------------------------------- */

/* listed_from_json: one resident of the list from o into the strings
 * (phone as digits; needs as JSON text, owned by the caller). ERR_OK, or
 * ERR_INVALID with the field named in why. */
static int listed_from_json(const json_t *o, struct checkin_listed *l, char **needs,
			    const char **worker, char *why, size_t whylen)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *phone = json_string_value(json_object_get(o, "phone"));
	const char *addr = json_string_value(json_object_get(o, "address"));
	const json_t *nd = json_object_get(o, "needs"), *v;
	json_t *list;
	size_t i, j;

	*needs = NULL;
	*worker = json_string_value(json_object_get(o, "worker"));
	if (!json_is_object(o))
		return snprintf(why, whylen, "not an object"), ERR_INVALID;
	if (!name || !*name || !relay_name_valid(name))
		return snprintf(why, whylen, "name: 1 to %d bytes of text",
				RELAY_NAME_MAX), ERR_INVALID;
	if (!phone || !text_phone_digits(phone, l->phone, false))
		return snprintf(why, whylen, "phone: not a phone number"),
		       ERR_INVALID;
	if (!addr || !*addr || !checkin_text_ok(addr, RELAY_ADDRESS_MAX, 0))
		return snprintf(why, whylen, "address: 1 to %d bytes of text",
				RELAY_ADDRESS_MAX), ERR_INVALID;
	if (json_object_get(o, "worker") &&
	    (!*worker || !relay_name_valid(*worker)))
		return snprintf(why, whylen, "worker: at most %d bytes of text",
				RELAY_NAME_MAX), ERR_INVALID;
	if (nd && !json_is_array(nd))
		return snprintf(why, whylen, "needs: a list of living-alone, "
				"over-80, disabled"), ERR_INVALID;
	list = json_array();
	json_array_foreach(nd, i, v) {
		const char *s = json_string_value(v);
		int known = 0;

		for (j = 0; s && j < sizeof(needs_words) / sizeof(*needs_words);
		     j++)
			known |= strcmp(s, needs_words[j]) == 0;
		for (j = 0; known && j < json_array_size(list); j++)
			known = strcmp(s, json_string_value(
				json_array_get(list, j))) != 0;
		if (!known) {
			json_decref(list);
			return snprintf(why, whylen, "needs[%zu]: one of "
					"living-alone, over-80, disabled, "
					"once", i), ERR_INVALID;
		}
		json_array_append_new(list, json_string(s));
	}
	*needs = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->address, sizeof(l->address), "%s", addr);
	if (!*worker)
		*worker = "";
	return *needs ? ERR_OK : ERR_NOMEM;
}

/* list_add: POST /api/v1/check-in/residents: one resident ({name, phone,
 * address, worker, needs}) or {"items": [...]}, all or none. */
static void list_add(struct node *n, struct lws *wsi,
		     struct http_exchange *ex)
{
	json_t *in = http_parse_json(wsi, ex), *items, *ids = NULL, *o;
	sqlite3_stmt *st = NULL;
	int64_t have;
	size_t i;
	char why[256];
	int rc = ERR_OK, status = 201, sent = 0;

	if (!in)
		return;
	items = json_object_get(in, "items");
	if (!items)
		items = json_pack("[O]", in);
	else if (!json_is_array(items) || !json_array_size(items)) {
		http_reply_error(wsi, ex, 422, "invalid", "items: a list of "
				 "residents");
		goto out;
	} else
		json_incref(items);
	have = store_count(n->db, "SELECT count(*) FROM checkin_resident",
			   NULL);
	if (have < 0 || (size_t)have + json_array_size(items) >
	    LIMIT_CHECKIN_RESIDENTS) {
		http_reply_error(wsi, ex, 413, "too_large", "the list would "
				 "hold more than %d residents",
				 LIMIT_CHECKIN_RESIDENTS);
		goto out_items;
	}
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		rc = ERR_IO;
		goto reply;
	}
	st = checkin_prepare(n, "INSERT INTO checkin_resident (name, phone, address,"
		     " worker, needs, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	ids = json_array();
	json_array_foreach(items, i, o) {
		struct checkin_listed l;
		const char *worker;
		char *needs = NULL, w2[160];

		if (!st || !ids) {
			rc = ERR_IO;
			break;
		}
		rc = listed_from_json(o, &l, &needs, &worker, w2, sizeof(w2));
		if (rc != ERR_OK) {
			snprintf(why, sizeof(why), "items[%zu].%s", i, w2);
			free(needs);
			status = 422;
			break;
		}
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, l.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, l.phone, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, l.address, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, worker, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, needs, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, clock_now());
		rc = sqlite3_step(st);
		free(needs);
		if ((rc & 0xff) == SQLITE_CONSTRAINT) {
			snprintf(why, sizeof(why), "items[%zu].phone: a listed "
				 "resident has that phone already", i);
			status = 409;
			rc = ERR_INVALID;
			break;
		}
		if (rc != SQLITE_DONE) {
			rc = ERR_IO;
			break;
		}
		rc = ERR_OK;
		json_array_append_new(ids, json_integer(
			sqlite3_last_insert_rowid(n->db)));
	}
	sqlite3_finalize(st);
	if (rc == ERR_OK)
		rc = checkin_recount_open(n);
	if (rc == ERR_OK)
		rc = checkin_links_open(n, &sent);
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		if (rc == ERR_OK)
			rc = ERR_IO;
	}
reply:
	if (status != 201)
		http_reply_error(wsi, ex, status, status == 409 ? "conflict"
				 : "invalid", "%s", why);
	else if (rc != ERR_OK)
		http_reply_error(wsi, ex, 500, "internal", "the list could not "
				 "be stored");
	else {
		log_info("check-in: the manager listed %zu resident(s); %d "
			 "link(s) of open check-ins sent", json_array_size(ids),
			 sent);
		if (sent)
			outbox_wake(n);
		relay_flush(n);
		http_reply_json(wsi, ex, 201, json_pack("{s:O}", "ids", ids));
	}
	json_decref(ids);
out_items:
	json_decref(items);
out:
	json_decref(in);
}

/* list_get: GET /api/v1/check-in/residents. */
static void list_get(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	sqlite3_stmt *st = checkin_prepare(n, "SELECT id, name, phone, address,"
				   " worker, needs FROM checkin_resident ORDER"
				   " BY worker, name, id");
	json_t *items = json_array();

	if (!st || !items) {
		sqlite3_finalize(st);
		json_decref(items);
		http_reply_error(wsi, ex, 500, "internal", "the list cannot be "
				 "read");
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items, json_pack(
			"{s:I, s:s, s:s, s:s, s:s, s:o}",
			"id", (json_int_t)sqlite3_column_int64(st, 0),
			"name", (const char *)sqlite3_column_text(st, 1),
			"phone", (const char *)sqlite3_column_text(st, 2),
			"address", (const char *)sqlite3_column_text(st, 3),
			"worker", (const char *)sqlite3_column_text(st, 4),
			"needs", json_loads((const char *)sqlite3_column_text(
				st, 5), 0, NULL)));
	sqlite3_finalize(st);
	http_reply_json(wsi, ex, 200, json_pack("{s:o, s:I, s:i}", "items",
		items, "total", (json_int_t)json_array_size(items), "max",
		LIMIT_CHECKIN_RESIDENTS));
}

/* list_delete: DELETE /api/v1/check-in/residents/{id}: off the list, her
 * links with her (her answers stay, no longer counted). */
static void list_delete(struct node *n, struct lws *wsi,
			struct http_exchange *ex, const char *sid)
{
	sqlite3_stmt *st;
	char *end = NULL;
	long long id = strtoll(sid, &end, 10);
	int rc = ERR_IO, gone = 0;

	if (!*sid || *end || id <= 0) {
		http_reply_error(wsi, ex, 404, "not_found", "no listed "
				 "resident %.20s", sid);
		return;
	}
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto reply;
	st = checkin_prepare(n, "DELETE FROM checkin_resident WHERE id = ?1");
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st) == SQLITE_DONE ? ERR_OK : ERR_IO;
		gone = sqlite3_changes(n->db);
		sqlite3_finalize(st);
	}
	st = rc == ERR_OK ? checkin_prepare(n, "DELETE FROM checkin_link WHERE"
				    " resident = ?1") : NULL;
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st) == SQLITE_DONE ? ERR_OK : ERR_IO;
		sqlite3_finalize(st);
	}
	if (rc == ERR_OK && gone)
		rc = checkin_recount_open(n);
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		rc = ERR_IO;
	}
reply:
	if (rc != ERR_OK)
		http_reply_error(wsi, ex, 500, "internal", "not removed");
	else if (!gone)
		http_reply_error(wsi, ex, 404, "not_found", "no listed "
				 "resident %lld", id);
	else {
		relay_flush(n);
		http_reply_json(wsi, ex, 200, json_pack("{s:I}", "removed",
							(json_int_t)id));
	}
}

/* ---- calls -------------------------------------------------------------------- */

/* call: POST /api/v1/bulletins/{id}/check-in/calls {resident, outcome,
 * note}: the grid worker's call; reached-safe and reached-needs-help set
 * the resident's state (a call may clear "needs help"), no-answer only
 * adds to her calls. */
static void call(struct node *n, struct lws *wsi, struct http_exchange *ex,
		 const char *id)
{
	json_t *in = http_parse_json(wsi, ex), *rj;
	const char *outcome, *note, *state = NULL;
	BulletinContent *c = NULL;
	sqlite3_stmt *st;
	struct checkin_listed l;
	struct checkin_who w = { 0 };
	char was[16];
	int rc, open;
	size_t i;

	if (!in)
		return;
	rj = json_object_get(in, "resident");
	outcome = json_string_value(json_object_get(in, "outcome"));
	note = json_string_value(json_object_get(in, "note"));
	for (i = 0; outcome && i < sizeof(outcomes) / sizeof(*outcomes); i++)
		if (strcmp(outcome, outcomes[i].outcome) == 0)
			state = outcomes[i].state;
	if (!json_is_integer(rj) || json_integer_value(rj) <= 0) {
		http_reply_error(wsi, ex, 422, "invalid", "resident: a listed "
				 "resident's id");
		goto out;
	}
	if (!state) {
		http_reply_error(wsi, ex, 422, "invalid", "outcome: "
				 "reached-safe, reached-needs-help or "
				 "no-answer");
		goto out;
	}
	if (json_object_get(in, "note") && (!note ||
	    !checkin_text_ok(note, CHECKIN_NOTE_MAX, 1))) {
		http_reply_error(wsi, ex, 422, "invalid", "note: at most %d "
				 "bytes of text", CHECKIN_NOTE_MAX);
		goto out;
	}
	if (!note)
		note = "";
	if (checkin_open(n, wsi, ex, id, &c, 0, &open) != ERR_OK)
		goto out;
	rc = checkin_listed_get(n, json_integer_value(rj), NULL, &l);
	if (rc == ERR_NOTFOUND) {
		http_reply_error(wsi, ex, 404, "not_found", "no listed resident "
				 "%" JSON_INTEGER_FORMAT, json_integer_value(rj));
		goto out;
	}
	if (rc != ERR_OK || store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "not stored");
		goto out;
	}
	st = checkin_prepare(n, "SELECT count(*) FROM checkin_call WHERE bulletin = ?1"
		     " AND resident = ?2");
	rc = ERR_IO;
	if (st) {
		sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, l.id);
		if (sqlite3_step(st) == SQLITE_ROW)
			rc = sqlite3_column_int64(st, 0) >= LIMIT_CHECKIN_CALLS
			     ? ERR_TOOBIG : ERR_OK;
		sqlite3_finalize(st);
	}
	st = rc == ERR_OK ? checkin_prepare(n, "INSERT INTO checkin_call (bulletin,"
				    " resident, outcome, note, at) VALUES (?1,"
				    " ?2, ?3, ?4, ?5)") : NULL;
	if (st) {
		sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, l.id);
		sqlite3_bind_text(st, 3, outcome, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, clock_now());
		rc = sqlite3_step(st) == SQLITE_DONE ? ERR_OK : ERR_IO;
		sqlite3_finalize(st);
	}
	checkin_who_listed(&w, &l, "call");
	if (rc == ERR_OK && *state)
		rc = checkin_record(n, c, &w, state, 1, note, was, sizeof(was));
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		if (rc == ERR_TOOBIG)
			http_reply_error(wsi, ex, 422, "invalid", "resident: "
					 "%d calls are recorded already",
					 LIMIT_CHECKIN_CALLS);
		else
			http_reply_error(wsi, ex, 500, "internal", "not stored");
		goto out;
	}
	log_info("check-in %s: a call to listed resident %" PRId64 ": %s",
		 c->id, l.id, outcome);
	outbox_wake(n);
	relay_flush(n);
	http_reply_json(wsi, ex, 201, json_pack("{s:I, s:s}", "resident",
						(json_int_t)l.id, "outcome",
						outcome));
out:
	bulletin_content_free(&c);
	json_decref(in);
}

/* ---- the manager's view ------------------------------------------------------- */

/* calls_of: resident's calls in bulletin, oldest first (new array). */
static json_t *calls_of(struct node *n, const char *bulletin, int64_t resident)
{
	sqlite3_stmt *st = checkin_prepare(n, "SELECT outcome, note, at FROM"
				   " checkin_call WHERE bulletin = ?1 AND"
				   " resident = ?2 ORDER BY at, id");
	json_t *a = json_array();
	char t[CLOCK_RFC3339_LEN];

	if (!st)
		return a;
	sqlite3_bind_text(st, 1, bulletin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, resident);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}",
			"outcome", (const char *)sqlite3_column_text(st, 0),
			"note", (const char *)sqlite3_column_text(st, 1),
			"at", clock_rfc3339(sqlite3_column_int64(st, 2), t,
					    sizeof(t))));
	sqlite3_finalize(st);
	return a;
}

/* view: GET /api/v1/bulletins/{id}/check-in: the counts, the listed
 * residents by state (needs help, not yet, safe), and the signed-in
 * residents not on the list who answered. */
static void view(struct node *n, struct lws *wsi, struct http_exchange *ex,
		 const char *id)
{
	BulletinContent *c = NULL;
	struct checkin_counts k;
	sqlite3_stmt *st = NULL;
	json_t *res = json_array(), *acc = json_array(), *out;
	char t[CLOCK_RFC3339_LEN];
	int open;

	if (checkin_open(n, wsi, ex, id, &c, 1, &open) != ERR_OK)
		goto out;
	if (checkin_count(n, c->id, &k) != ERR_OK ||
	    !(st = checkin_prepare(n, "SELECT r.id, r.name, r.phone, r.address,"
			   " r.worker, r.needs, coalesce(a.state, 'not_yet'),"
			   " a.source, a.at, a.request, EXISTS (SELECT 1 FROM"
			   " checkin_link l WHERE l.bulletin = ?1 AND"
			   " l.resident = r.id) FROM checkin_resident r LEFT"
			   " JOIN checkin_answer a ON a.bulletin = ?1 AND"
			   " a.who = 'r' || r.id ORDER BY CASE"
			   " coalesce(a.state, 'not_yet') WHEN 'help' THEN 0"
			   " WHEN 'not_yet' THEN 1 ELSE 2 END, r.worker,"
			   " r.name, r.id"))) {
		http_reply_error(wsi, ex, 500, "internal", "the check-in cannot "
				 "be read");
		goto out;
	}
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t rid = sqlite3_column_int64(st, 0);
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:b}",
			"id", (json_int_t)rid,
			"name", (const char *)sqlite3_column_text(st, 1),
			"phone", (const char *)sqlite3_column_text(st, 2),
			"address", (const char *)sqlite3_column_text(st, 3),
			"worker", (const char *)sqlite3_column_text(st, 4),
			"needs", json_loads((const char *)sqlite3_column_text(
				st, 5), 0, NULL),
			"state", (const char *)sqlite3_column_text(st, 6),
			"link", sqlite3_column_int(st, 10));

		if (!o)
			continue;
		json_object_set_new(o, "source", sqlite3_column_type(st, 7) ==
			SQLITE_NULL ? json_null() : json_string((const char *)
			sqlite3_column_text(st, 7)));
		json_object_set_new(o, "answered", sqlite3_column_type(st, 8) ==
			SQLITE_NULL ? json_null() : json_string(clock_rfc3339(
			sqlite3_column_int64(st, 8), t, sizeof(t))));
		json_object_set_new(o, "request", sqlite3_column_type(st, 9) ==
			SQLITE_NULL ? json_null() : json_string((const char *)
			sqlite3_column_text(st, 9)));
		json_object_set_new(o, "calls", calls_of(n, c->id, rid));
		json_array_append_new(res, o);
	}
	sqlite3_finalize(st);
	st = checkin_prepare(n, "SELECT substr(who, 2), state, at, request FROM"
		     " checkin_answer WHERE bulletin = ?1 AND who LIKE 'a%'"
		     " ORDER BY state = 'safe', at");
	if (st) {
		sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct resident_row row;
			int64_t a = sqlite3_column_int64(st, 0);

			memset(&row, 0, sizeof(row));
			resident_store_get(n->civic->residents, a, &row);
			json_array_append_new(acc, json_pack(
				"{s:I, s:s, s:s, s:s, s:s?}",
				"account", (json_int_t)a, "name", row.name,
				"state", (const char *)sqlite3_column_text(
					st, 1),
				"answered", clock_rfc3339(sqlite3_column_int64(
					st, 2), t, sizeof(t)),
				"request", (const char *)sqlite3_column_text(
					st, 3)));
		}
		sqlite3_finalize(st);
	}
	out = json_pack("{s:s, s:s, s:s?, s:b, s:{s:I, s:I, s:I, s:I, s:I,"
			" s:I}, s:O, s:O}",
		"bulletin", c->id, "headline", c->headline,
		"headline_en", c->headline_en, "open", open, "counts",
		"listed", (json_int_t)k.listed,
		"confirmed", (json_int_t)k.confirmed,
		"not_yet", (json_int_t)k.not_yet,
		"needs_help", (json_int_t)k.needs_help,
		"anonymous_safe", (json_int_t)k.anon_safe,
		"anonymous_help", (json_int_t)k.anon_help,
		"residents", res, "accounts", acc);
	http_reply_json(wsi, ex, 200, out);
out:
	bulletin_content_free(&c);
	json_decref(res);
	json_decref(acc);
}

/* ---- the rows of the route table (public.c) ---------------------------------- */

void checkin_on_calls(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m)
{
	(void)ctx;
	call(node_from_wsi(wsi), wsi, ex, m->param[0]);
}

void checkin_on_residents(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m)
{
	(void)ctx;
	if (m->n_params)
		list_delete(node_from_wsi(wsi), wsi, ex, m->param[0]);
	else if (ex->method == HTTP_POST)
		list_add(node_from_wsi(wsi), wsi, ex);
	else
		list_get(node_from_wsi(wsi), wsi, ex);
}

void checkin_on_view(void *ctx, struct lws *wsi, struct http_exchange *ex,
		     const struct route_match *m)
{
	(void)ctx;
	view(node_from_wsi(wsi), wsi, ex, m->param[0]);
}
