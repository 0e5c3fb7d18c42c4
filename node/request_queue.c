/* request_queue.c: the manager's queue of requests for this community's
 * services.
 *
 *   GET   /api/v1/requests        this community's queue: open first, the
 *                                 longest waiting first, withdrawn and
 *                                 closed ones last, with the resident's
 *                                 contact (only here)
 *   PATCH /api/v1/requests/{id}   status, status_notes, scheduled
 *
 * A status is written only by the owner (us), for a request in its
 * queue, never for one the resident withdrew (409); it carries the
 * receipt's time (relay.h), is kept as a step and travels back to the
 * resident's node through the hub (the routes are in requests.c).
 *
 * Parts: the queue; writing a status. */
#include <string.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "store.h"

/* ---- the queue ------------------------------------------------------------------ */

void requests_queue(struct node *n, struct lws *wsi,
		    struct http_exchange *ex)
{
	sqlite3_stmt *st = NULL;
	json_t *items = json_array();
	int64_t now = clock_now();

	if (!items || sqlite3_prepare_v2(n->db, "SELECT " REQUEST_COLUMNS
			       " FROM request WHERE owner = ?1 ORDER BY (status"
			       " IN ('done', 'declined') OR withdrawn > 0),"
			       " requested, id LIMIT 1000", -1, &st, NULL) != SQLITE_OK) {
		json_decref(items);
		http_reply_error(wsi, ex, 500, "internal", "the queue could "
				 "not be read");
		return;
	}
	sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = requests_row_json(st, 1);

		json_object_set_new(o, "waiting_s", json_integer(
			now - sqlite3_column_int64(st, 9)));
		json_array_append_new(items, o);
	}
	sqlite3_finalize(st);
	http_reply_json(wsi, ex, 200, json_pack("{s:o, s:I}", "items", items,
						"total", (json_int_t)
						json_array_size(items)));
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
