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
/* Totals of the queue, and the origins in the order the store gives. */
struct counts_arg {
	json_t *origins;
	json_int_t total, open;
};

/* count_origin: one origin's total and open requests into arg. */
static void count_origin(const char *origin, int64_t total, int64_t open,
			 void *arg)
{
	struct counts_arg *a = arg;

	a->total += total;
	a->open += open;
	if (a->origins && json_array_size(a->origins) < QUEUE_ORIGINS_MAX)
		json_array_append_new(a->origins, json_pack(
			"{s:s, s:I, s:I}", "community", origin, "open",
			(json_int_t)open, "total", (json_int_t)total));
}

static void queue_counts(struct node *n, json_t *o)
{
	struct counts_arg a = { json_array(), 0, 0 };

	request_store_queue_counts(n->civic->requests, n->cfg.community,
				   count_origin, &a);
	json_object_set_new(o, "total", json_integer(a.total));
	json_object_set_new(o, "open", json_integer(a.open));
	json_object_set_new(o, "origins", a.origins ? a.origins
						    : json_array());
}

/* A page of the queue as it is read: limit rows, and whether there is
 * one more. */
struct page_arg {
	json_t *items;
	size_t limit;
	int64_t now;
	int more;
};

/* page_add: a row of the queue into the page, with how long it waits. */
static int page_add(const struct request_row *row, int64_t received,
		    void *arg)
{
	struct page_arg *a = arg;
	json_t *o;

	if (json_array_size(a->items) == a->limit) {
		a->more = 1;
		return 1;
	}
	o = requests_row_json(row, 1);
	json_object_set_new(o, "waiting_s", json_integer(a->now - received));
	json_array_append_new(a->items, o);
	return 0;
}

int64_t node_requests_open(struct node *n)
{
	return n->civic ? request_store_open_count(n->civic->requests,
						   n->cfg.community) : -1;
}

void requests_queue(struct node *n, struct lws *wsi,
		    struct http_exchange *ex)
{
	struct page_arg page = { NULL, 0, clock_now(), 0 };
	json_t *out;
	char arg[64];
	long limit = QUEUE_PAGE, after = 0;
	int got, rc;

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
	page.items = json_array();
	page.limit = (size_t)limit;
	if (!page.items ||
	    request_store_queue(n->civic->requests, n->cfg.community,
				limit + 1,   /* one more: is there a next */
				after, page_add, &page) != ERR_OK) {
		json_decref(page.items);
		http_reply_error(wsi, ex, 500, "internal", "the queue could "
				 "not be read");
		return;
	}
	out = json_pack("{s:o}", "items", page.items);
	if (page.more) {
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
	struct request_store *rs = n->civic->requests;
	struct request_row row;
	int changed, local = 0;

	/* a check-in's "needs help" never went to the hub: nor do its
	 * statuses (checkin.c) */
	if (request_store_get(rs, s->request_origin, ch->id, &row) == ERR_OK) {
		local = strcmp(row.origin, row.owner) == 0 &&
			strcmp(row.service_id, CHECKIN_SERVICE_ID) == 0;
		request_row_free(&row);
	}

	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	ch->version = relay_next_version(n);
	if (relay_check(ch, why, len) != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		return ERR_INVALID;
	}
	if (request_store_set_status(rs, s->request_origin, ch->id, s->status,
				     s->notes, s->scheduled, s->updated,
				     ch->version, 0, 0, &changed) != ERR_OK ||
	    (strcmp(s->status, "open") != 0 &&
	     request_store_step_put(rs, s->request_origin, ch->id, ch->version,
				    s->status, s->updated, s->notes,
				    s->scheduled) != ERR_OK) ||
	    (!local && relay_outbox_put(n, ch) != ERR_OK) ||
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
	/* every status carries the receipt's time */
	if (request_store_owned(n->civic->requests, n->cfg.community, id,
				origin, sizeof(origin), &withdrawn,
				&s.delivered) != ERR_OK) {
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
