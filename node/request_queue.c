/* request_queue.c: the manager's queue of requests for this community's
 * services.
 *
 *   GET   /api/v1/requests        this community's queue, a page at a
 *                                 time (?limit=&after=): open first, in
 *                                 turns per origin community (each
 *                                 one's longest waiting, ours first,
 *                                 then each one's next), by when we
 *                                 received them; withdrawn and closed
 *                                 ones last; with the resident's contact
 *                                 (only here), the total, the open count
 *                                 and the count per origin
 *   PATCH /api/v1/requests/{id}   status, status_notes, scheduled
 *
 * A status is written only by the owner (us), for a request in its
 * queue, never for one the resident withdrew (409); it carries the
 * receipt's time (relay.h), is kept as a step and travels back to the
 * resident's node through the hub (the routes are in requests.c).
 *
 * Parts: the queue; writing a status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "store.h"

/* ---- the queue ------------------------------------------------------------------ */

/* Requests one page of the queue shows: by default and at most. */
#define QUEUE_PAGE 50
#define QUEUE_PAGE_MAX 100
/* The furthest a page may start (far past any real queue). */
#define QUEUE_AFTER_MAX 1000000
/* Origins the queue's summary lists, the most open requests first. */
#define QUEUE_ORIGINS_MAX 100

/* Whether a request row is closed: done, declined or withdrawn. */
#define QUEUE_CLOSED "(status IN ('done', 'declined') OR withdrawn > 0)"

/* The page: REQUEST_COLUMNS, then whether it is closed, its turn among
 * its origin's (open or closed) requests, and when we received it (the
 * receipt's time, our clock; rows from before receipts were kept have
 * only the origin's requested time). Open first, by turn: every origin's
 * longest-waiting request, ours first, then every origin's second...; so
 * a flood from one origin takes its turns and no more. Closed last, the
 * latest change first. */
#define QUEUE_SQL "SELECT " REQUEST_COLUMNS ", closed, turn, received" \
	" FROM (SELECT " REQUEST_COLUMNS ", " QUEUE_CLOSED " AS closed," \
	" CASE WHEN delivered > 0 THEN delivered ELSE requested END AS" \
	" received, row_number() OVER (PARTITION BY origin, " QUEUE_CLOSED \
	" ORDER BY CASE WHEN delivered > 0 THEN delivered ELSE requested" \
	" END, id) AS turn FROM request WHERE owner = ?1) ORDER BY closed," \
	" CASE WHEN closed THEN 0 ELSE turn END, origin <> ?1, CASE WHEN" \
	" closed THEN -updated ELSE received END, origin, id LIMIT ?2" \
	" OFFSET ?3"
#define Q_RECEIVED (RQ_ERASED + 3)

/* whole: s as a whole number into *out: ERR_OK, ERR_TOOBIG when it is
 * over max (however many digits), or ERR_INVALID when it is not one. */
static int whole(const char *s, long max, long *out)
{
	char *end = NULL;
	long v;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return ERR_INVALID;
	if (strlen(s) > 9)
		return ERR_TOOBIG;
	v = strtol(s, &end, 10);
	if (!end || *end)
		return ERR_INVALID;
	if (v > max)
		return ERR_TOOBIG;
	*out = v;
	return ERR_OK;
}

/* queue_counts: {"total", "open"} of the queue and its origins, each
 * {"community", "open", "total"}, the most open first, into o. */
static void queue_counts(struct node *n, json_t *o)
{
	sqlite3_stmt *st = NULL;
	json_t *origins = json_array();
	json_int_t total = 0, open = 0;

	if (sqlite3_prepare_v2(n->db, "SELECT origin, count(*), coalesce(sum("
			       "NOT " QUEUE_CLOSED "), 0) FROM request WHERE"
			       " owner = ?1 GROUP BY origin ORDER BY 3 DESC,"
			       " 2 DESC, origin", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_int_t t = sqlite3_column_int64(st, 1);
			json_int_t op = sqlite3_column_int64(st, 2);

			total += t;
			open += op;
			if (json_array_size(origins) < QUEUE_ORIGINS_MAX)
				json_array_append_new(origins, json_pack(
					"{s:s, s:I, s:I}", "community",
					(const char *)sqlite3_column_text(st, 0),
					"open", op, "total", t));
		}
	}
	sqlite3_finalize(st);
	json_object_set_new(o, "total", json_integer(total));
	json_object_set_new(o, "open", json_integer(open));
	json_object_set_new(o, "origins", origins ? origins : json_array());
}

int64_t node_requests_open(struct node *n)
{
	return store_count(n->db, "SELECT count(*) FROM request WHERE owner ="
			   " ?1 AND NOT " QUEUE_CLOSED, n->cfg.community);
}

void requests_queue(struct node *n, struct lws *wsi,
		    struct http_exchange *ex)
{
	sqlite3_stmt *st = NULL;
	json_t *items, *out;
	int64_t now = clock_now();
	char arg[64];
	long limit = QUEUE_PAGE, after = 0;
	int got, more = 0, rc;

	got = http_query(wsi, "limit", arg, sizeof(arg));
	rc = got > 0 ? whole(arg, QUEUE_PAGE_MAX, &limit) : ERR_OK;
	if (rc == ERR_TOOBIG)
		limit = QUEUE_PAGE_MAX;       /* larger: clamped */
	if (rc == ERR_INVALID || limit < 1) {
		http_reply_error(wsi, ex, 422, "invalid", "limit: a whole "
				 "number from 1 (more than %d counts as %d)",
				 QUEUE_PAGE_MAX, QUEUE_PAGE_MAX);
		return;
	}
	got = http_query(wsi, "after", arg, sizeof(arg));
	if (got > 0 && whole(arg, QUEUE_AFTER_MAX, &after) != ERR_OK) {
		http_reply_error(wsi, ex, 422, "invalid", "after: not a next "
				 "of this queue");
		return;
	}
	items = json_array();
	if (!items || sqlite3_prepare_v2(n->db, QUEUE_SQL, -1, &st, NULL) !=
	    SQLITE_OK) {
		json_decref(items);
		http_reply_error(wsi, ex, 500, "internal", "the queue could "
				 "not be read");
		return;
	}
	sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit + 1);   /* one more: is there a next */
	sqlite3_bind_int64(st, 3, after);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o;

		if (json_array_size(items) == (size_t)limit) {
			more = 1;
			break;
		}
		o = requests_row_json(st, 1);
		json_object_set_new(o, "waiting_s", json_integer(
			now - sqlite3_column_int64(st, Q_RECEIVED)));
		json_array_append_new(items, o);
	}
	sqlite3_finalize(st);
	out = json_pack("{s:o}", "items", items);
	if (more) {
		snprintf(arg, sizeof(arg), "%ld", after + limit);
		json_object_set_new(out, "next", json_string(arg));
	}
	queue_counts(n, out);
	http_reply_json(wsi, ex, 200, out);
}

/* ---- writing a status ---------------------------------------------------------- */

/* write_status: the new status of (origin, id) and its outbox record in
 * one transaction. ERR_OK, or ERR_INVALID with why, or ERR_IO. */
static int write_status(struct node *n, Change *ch, char *why, size_t len)
{
	const Alliance__V1__RequestStatus *s = ch->request_status;
	sqlite3_stmt *st = NULL;
	int rc;

	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	ch->version = relay_next_version(n);
	if (relay_check(ch, why, len) != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		return ERR_INVALID;
	}
	rc = sqlite3_prepare_v2(n->db, "UPDATE request SET status = ?3, notes"
				" = ?4, scheduled = ?5, updated = ?6,"
				" status_version = ?7 WHERE origin = ?1 AND id"
				" = ?2", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, s->request_origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, s->notes, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, s->scheduled);
		sqlite3_bind_int64(st, 6, s->updated);
		sqlite3_bind_int64(st, 7, (int64_t)ch->version);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE && strcmp(s->status, "open") != 0 &&
	    requests_step_put(n, s->request_origin, ch->id, ch->version,
			      s->status, s->updated, s->notes, s->scheduled) !=
	    ERR_OK)
		rc = SQLITE_ERROR;
	if (rc != SQLITE_DONE || relay_outbox_put(n, ch) != ERR_OK ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		return ERR_IO;
	}
	return ERR_OK;
}

void requests_patch(struct node *n, struct lws *wsi, struct http_exchange *ex,
		    const char *id)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__RequestStatus s = ALLIANCE__V1__REQUEST_STATUS__INIT;
	sqlite3_stmt *st = NULL;
	json_t *in = http_parse_json(wsi, ex), *sch;
	char origin[LIMIT_COMMUNITY_ID + 1] = "", why[160];
	int64_t withdrawn = 0;
	int rc;

	if (!in)
		return;
	s.status = (char *)json_string_value(json_object_get(in, "status"));
	s.notes = (char *)json_string_value(json_object_get(in,
							    "status_notes"));
	sch = json_object_get(in, "scheduled");
	if (!s.notes)
		s.notes = (char *)"";
	if (!relay_status_valid(s.status)) {
		http_reply_error(wsi, ex, 422, "invalid", "status: one of open,"
				 " acknowledged, scheduled, done, declined");
		goto out;
	}
	if (json_is_integer(sch) && json_integer_value(sch) > 0) {
		s.scheduled = json_integer_value(sch);
	} else if (json_is_string(sch)) {
		if (clock_parse_rfc3339(json_string_value(sch), &s.scheduled)) {
			http_reply_error(wsi, ex, 422, "invalid", "scheduled: "
					 "an RFC 3339 time");
			goto out;
		}
	} else if (sch && !json_is_null(sch)) {
		http_reply_error(wsi, ex, 422, "invalid", "scheduled: an RFC "
				 "3339 time or unix seconds");
		goto out;
	}
	if (strcmp(s.status, "scheduled") == 0 && !s.scheduled) {
		http_reply_error(wsi, ex, 422, "invalid", "scheduled: required "
				 "with status scheduled");
		goto out;
	}
	if (sqlite3_prepare_v2(n->db, "SELECT origin, withdrawn, delivered"
			       " FROM request WHERE owner = ?1 AND id = ?2",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(origin, sizeof(origin), "%s",
				 sqlite3_column_text(st, 0));
			withdrawn = sqlite3_column_int64(st, 1);
			/* every status carries the receipt's time */
			s.delivered = sqlite3_column_int64(st, 2);
		}
		sqlite3_finalize(st);
	}
	if (!origin[0]) {
		http_reply_error(wsi, ex, 404, "not_found", "no request %.40s "
				 "in this community's queue", id);
		goto out;
	}
	if (withdrawn) {
		http_reply_error(wsi, ex, 409, "conflict", "the resident "
				 "withdrew request %.40s", id);
		goto out;
	}
	s.request_origin = origin;
	s.updated = clock_now();
	ch.origin = n->cfg.community;   /* only the owner writes a status */
	ch.kind = ALLIANCE__V1__KIND__KIND_REQUEST_STATUS;
	ch.id = (char *)id;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST_STATUS;
	ch.request_status = &s;
	rc = write_status(n, &ch, why, sizeof(why));
	if (rc == ERR_INVALID) {
		http_reply_error(wsi, ex, 422, "invalid", "%s", why);
		goto out;
	}
	if (rc != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "the status could "
				 "not be stored");
		goto out;
	}
	log_info("requests: %s/%s is now %s", origin, id, s.status);
	relay_flush(n);
	http_reply_json(wsi, ex, 200, json_pack("{s:s, s:s, s:s, s:s}", "id",
						id, "community", origin,
						"status", s.status,
						"status_notes", s.notes));
out:
	json_decref(in);
}
