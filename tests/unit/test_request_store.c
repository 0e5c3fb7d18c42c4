/* test_request_store.c: unit tests of node/request_store.c, the node's
 * request tables, on a real sqlite store migrated with the request
 * tables' own migrations (request_store.h).
 *
 * Each test opens a fresh in-memory store. Bad input (a field over its
 * limit, an unknown id, an older version, a status that is none) must be
 * refused or do nothing, and leave every row as it was.
 *
 * Parts: fixtures; tests; main. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "request_store.h"
#include "store.h"
#include "table_rows.h"

/* ---- fixtures ------------------------------------------------------------- */

/* The request tables as a node's migrations v5, v9, v12 and v15 make
 * them. */
static const struct store_migration migrations[] = {
	{ REQUEST_SCHEMA_V1 },
	{ request_schema_v2 },
	{ REQUEST_SCHEMA_V4 },
	{ REQUEST_SCHEMA_URGENT },
};

struct fx {
	sqlite3 *db;
	struct request_store *rs;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (!fx || store_open(":memory:", migrations, 4, &fx->db, err,
			      sizeof(err)) != ERR_OK ||
	    request_store_open(fx->db, &fx->rs) != ERR_OK)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	request_store_close(&fx->rs);
	store_close(&fx->db);
	free(fx);
	return 0;
}

/* A request and its Change, the strings the caller's. */
struct req {
	Change ch;
	Alliance__V1__Request r;
};

/* sample: request id from origin for owner's service svc, requested at
 * requested, version version, with every personal field set. */
static void sample(struct req *q, const char *origin, const char *id,
		   const char *owner, int64_t requested, uint64_t version)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;

	q->ch = ch;
	q->r = r;
	q->r.owner = (char *)owner;
	q->r.service_id = (char *)"svc";
	q->r.description = (char *)"a leaking tap";
	q->r.name = (char *)"Li Wei";
	q->r.phone = (char *)"13800138000";
	q->r.email = (char *)"li@example.org";
	q->r.address = (char *)"1 Road";
	q->r.preferred = (char *)"2026-12-07 morning";
	q->r.relative_name = (char *)"Li Na";
	q->r.relative_phone = (char *)"13900139000";
	q->r.has_location = 1;
	q->r.lat = 31.2;
	q->r.lon = 121.5;
	q->r.requested = requested;
	q->ch.origin = (char *)origin;
	q->ch.kind = ALLIANCE__V1__KIND__KIND_REQUEST;
	q->ch.id = (char *)id;
	q->ch.version = version;
	q->ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	q->ch.request = &q->r;
}

static const unsigned char th[32] = { 1, 2, 3 };

/* add: store sample (origin, id) for owner; asserts it is stored. */
static void add(struct fx *fx, const char *origin, const char *id,
		const char *owner, int64_t requested, int64_t resident)
{
	struct req q;

	sample(&q, origin, id, owner, requested, 5);
	assert_int_equal(request_store_add(fx->rs, &q.ch, "Plumbing", th,
					   resident), ERR_OK);
}

/* Rows a listing saw, by id, in order. */
struct seen {
	char ids[8][96];
	int64_t received[8];
	int n;
	int stop_at;                  /* stop after this many (0: never) */
};

static int see(const struct request_row *row, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s", row->id);
	return s->stop_at && s->n >= s->stop_at;
}

static int see_queue(const struct request_row *row, int64_t received,
		     void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->received[s->n] = received;
	return see(row, arg);
}

/* ---- tests ------------------------------------------------------------------ */

/* A request of ours for another community's service reads back whole;
 * find prefers the origin asked for; owned and owner_is answer by it. */
static void test_add_and_read(void **state)
{
	struct fx *fx = *state;
	struct request_row row;
	char origin[64];
	int64_t withdrawn = -1, delivered = -1;

	add(fx, "north", "north.a", "south", 1000, 7);
	assert_int_equal(request_store_get(fx->rs, "north", "north.a", &row),
			 ERR_OK);
	assert_string_equal(row.owner, "south");
	assert_string_equal(row.service_name, "Plumbing");
	assert_string_equal(row.description, "a leaking tap");
	assert_string_equal(row.status, "open");
	assert_string_equal(row.relative_phone, "13900139000");
	assert_int_equal(row.requested, 1000);
	assert_int_equal(row.updated, 1000);
	assert_int_equal(row.delivered, 0);    /* not served at home */
	assert_int_equal(row.resident, 7);
	assert_true(row.has_token);
	assert_memory_equal(row.token_hash, th, 32);
	assert_true(row.has_location);
	request_row_free(&row);
	assert_null(row.id);

	assert_int_equal(request_store_find(fx->rs, "north.a", "elsewhere",
					    &row), ERR_OK);
	assert_string_equal(row.origin, "north");
	request_row_free(&row);
	assert_int_equal(request_store_owned(fx->rs, "south", "north.a",
					     origin, sizeof(origin),
					     &withdrawn, &delivered), ERR_OK);
	assert_string_equal(origin, "north");
	assert_int_equal(withdrawn, 0);
	assert_true(request_store_owner_is(fx->rs, "north", "north.a",
					   "south"));
	assert_false(request_store_owner_is(fx->rs, "north", "north.a",
					    "north"));
	assert_int_equal(request_store_sent_since(fx->rs, "south", "north",
						  999), 1);
	assert_int_equal(request_store_sent_since(fx->rs, "south", "north",
						  1000), 0);
}

/* Served at home, a request is delivered at once. */
static void test_add_at_home_delivered(void **state)
{
	struct fx *fx = *state;
	struct request_row row;

	add(fx, "north", "north.h", "north", 1234, 0);
	assert_int_equal(request_store_get(fx->rs, "north", "north.h", &row),
			 ERR_OK);
	assert_int_equal(row.delivered, 1234);
	assert_int_equal(row.resident, 0);
	request_row_free(&row);
}

/* Every field over its limit is refused and stores nothing; so is a
 * second request under a taken id, which leaves the first as it was. */
static void test_add_bad_input(void **state)
{
	struct fx *fx = *state;
	char big[RELAY_DESCRIPTION_BYTES + 2], id[LIMIT_RECORD_ID + 2];
	struct request_row row;
	struct req q;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';

	sample(&q, "north", "north.b", "south", 1000, 5);
	q.r.description = big;
	assert_int_equal(request_store_add(fx->rs, &q.ch, "P", th, 0),
			 ERR_TOOBIG);
	sample(&q, "north", "north.b", "south", 1000, 5);
	big[RELAY_NAME_MAX + 1] = '\0';
	q.r.relative_name = big;
	assert_int_equal(request_store_add(fx->rs, &q.ch, "P", th, 0),
			 ERR_TOOBIG);
	sample(&q, "north", id, "south", 1000, 5);
	assert_int_equal(request_store_add(fx->rs, &q.ch, "P", th, 0),
			 ERR_TOOBIG);
	assert_int_equal(table_rows(fx->db, "request"), 0);

	add(fx, "north", "north.b", "south", 1000, 0);
	sample(&q, "north", "north.b", "east", 2000, 6);
	assert_int_equal(request_store_add(fx->rs, &q.ch, "P", th, 0),
			 ERR_IO);
	assert_int_equal(request_store_get(fx->rs, "north", "north.b", &row),
			 ERR_OK);
	assert_string_equal(row.owner, "south");
	assert_int_equal(row.requested, 1000);
	request_row_free(&row);
	assert_int_equal(table_rows(fx->db, "request"), 1);
}

/* An unknown id is not found and every write to it changes nothing. */
static void test_unknown_id(void **state)
{
	struct fx *fx = *state;
	struct request_row row;
	char origin[64] = "";
	int64_t w, d;
	int changed = 1;

	add(fx, "north", "north.a", "south", 1000, 3);
	assert_int_equal(request_store_get(fx->rs, "north", "north.z", &row),
			 ERR_NOTFOUND);
	assert_int_equal(request_store_get(fx->rs, "north", "north.z", NULL),
			 ERR_NOTFOUND);
	assert_int_equal(request_store_find(fx->rs, "north.z", "north", &row),
			 ERR_NOTFOUND);
	assert_int_equal(request_store_owned(fx->rs, "south", "north.z",
					     origin, sizeof(origin), &w, &d),
			 ERR_NOTFOUND);
	assert_false(request_store_owner_is(fx->rs, "north", "north.z",
					    "south"));
	assert_int_equal(request_store_set_status(fx->rs, "north", "north.z",
						  "done", "", 0, 2000, 9, 0,
						  0, &changed), ERR_OK);
	assert_false(changed);
	assert_int_equal(request_store_decline(fx->rs, "north", "north.z",
					       "no", 2000), ERR_OK);
	assert_int_equal(request_store_erase(fx->rs, "north", "north.z"),
			 ERR_OK);
	assert_int_equal(request_store_get(fx->rs, "north", "north.a", &row),
			 ERR_OK);
	assert_string_equal(row.status, "open");
	assert_string_equal(row.name, "Li Wei");
	assert_int_equal(row.erased, 0);
	request_row_free(&row);
	assert_int_equal(table_rows(fx->db, "request"), 1);
}

/* A status from the hub lands only over an older status version; one
 * that is no status, or notes over the limit, change nothing. */
static void test_status_rules(void **state)
{
	struct fx *fx = *state;
	char notes[RELAY_NOTES_MAX + 2];
	struct request_row row;
	int changed;

	memset(notes, 'n', sizeof(notes) - 1);
	notes[sizeof(notes) - 1] = '\0';
	add(fx, "north", "north.a", "south", 1000, 0);
	assert_int_equal(request_store_set_status(fx->rs, "north", "north.a",
						  "scheduled", "tuesday", 3000,
						  2000, 10, 1500, 1, &changed),
			 ERR_OK);
	assert_true(changed);
	assert_int_equal(request_store_set_status(fx->rs, "north", "north.a",
						  "done", "", 0, 2500, 9, 0,
						  1, &changed), ERR_OK);
	assert_false(changed);                      /* older: ignored */
	assert_int_equal(request_store_set_status(fx->rs, "north", "north.a",
						  "finished", "", 0, 2600, 11,
						  0, 0, &changed), ERR_INVALID);
	assert_int_equal(request_store_set_status(fx->rs, "north", "north.a",
						  "done", notes, 0, 2600, 11,
						  0, 0, &changed), ERR_TOOBIG);
	assert_false(changed);
	assert_int_equal(request_store_get(fx->rs, "north", "north.a", &row),
			 ERR_OK);
	assert_string_equal(row.status, "scheduled");
	assert_string_equal(row.notes, "tuesday");
	assert_int_equal(row.scheduled, 3000);
	assert_int_equal(row.delivered, 1500);
	assert_int_equal(row.updated, 2000);
	request_row_free(&row);

	/* the owner's own status: always, keeping the receipt's time */
	assert_int_equal(request_store_set_status(fx->rs, "north", "north.a",
						  "done", "", 0, 2700, 8, 0,
						  0, &changed), ERR_OK);
	assert_true(changed);
	assert_int_equal(request_store_decline(fx->rs, "north", "north.a",
					       "unknown owner", 2800), ERR_OK);
	assert_int_equal(request_store_get(fx->rs, "north", "north.a", &row),
			 ERR_OK);
	assert_string_equal(row.status, "declined");
	assert_string_equal(row.notes, "unknown owner");
	assert_int_equal(row.delivered, 1500);
	request_row_free(&row);
}

/* The hub's request for our service: stored once, a replay or older
 * version changes nothing, a newer one only marks it withdrawn. */
static void test_apply_version_rule(void **state)
{
	struct fx *fx = *state;
	struct request_row row;
	struct req q;
	int changed;

	sample(&q, "north", "north.a", "south", 1000, 5);
	assert_int_equal(request_store_apply(fx->rs, &q.ch, "Plumbing", 1100,
					     &changed), ERR_OK);
	assert_true(changed);
	assert_int_equal(request_store_apply(fx->rs, &q.ch, "Plumbing", 1200,
					     &changed), ERR_OK);
	assert_false(changed);
	sample(&q, "north", "north.a", "south", 1000, 6);
	q.r.withdrawn = 1300;
	q.r.name = (char *)"someone else";
	assert_int_equal(request_store_apply(fx->rs, &q.ch, "Plumbing", 1300,
					     &changed), ERR_OK);
	assert_true(changed);
	assert_int_equal(request_store_get(fx->rs, "north", "north.a", &row),
			 ERR_OK);
	assert_int_equal(row.withdrawn, 1300);
	assert_int_equal(row.delivered, 1100);   /* our clock, the first */
	assert_int_equal(row.updated, 1300);
	assert_string_equal(row.name, "Li Wei");
	assert_false(row.has_token);
	request_row_free(&row);

	sample(&q, "north", "north.b", "south", 1000, 5);
	q.r.phone = (char *)"1234567890123456789012345678901234567890123";
	assert_int_equal(request_store_apply(fx->rs, &q.ch, "Plumbing", 1100,
					     &changed), ERR_TOOBIG);
	assert_false(changed);
	assert_int_equal(table_rows(fx->db, "request"), 1);
}

/* The queue: open first by turn per origin (the owner's own first among
 * equal turns), closed last; a page stops where asked; counts by
 * origin, the most open first. */
static void test_queue(void **state)
{
	struct fx *fx = *state;
	struct seen s = { .n = 0 };
	int changed;

	add(fx, "east", "east.1", "south", 100, 0);
	add(fx, "east", "east.2", "south", 200, 0);
	add(fx, "east", "east.3", "south", 300, 0);
	add(fx, "south", "south.1", "south", 400, 0);
	add(fx, "west", "west.1", "south", 500, 0);
	add(fx, "west", "west.9", "north", 50, 0);   /* not south's */
	assert_int_equal(request_store_set_status(fx->rs, "east", "east.1",
						  "done", "", 0, 600, 9, 0,
						  0, &changed), ERR_OK);
	assert_int_equal(request_store_queue(fx->rs, "south", 10, 0,
					     see_queue, &s), ERR_OK);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.ids[0], "south.1");   /* turn 1, ours */
	assert_string_equal(s.ids[1], "east.2");    /* turn 1, received */
	assert_string_equal(s.ids[2], "west.1");
	assert_string_equal(s.ids[3], "east.3");    /* turn 2 */
	assert_string_equal(s.ids[4], "east.1");    /* closed */
	assert_int_equal(s.received[0], 400);       /* delivered at home */
	assert_int_equal(s.received[1], 200);       /* requested: no receipt */

	memset(&s, 0, sizeof(s));
	assert_int_equal(request_store_queue(fx->rs, "south", 2, 2, see_queue,
					     &s), ERR_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], "west.1");
	memset(&s, 0, sizeof(s));
	s.stop_at = 1;
	assert_int_equal(request_store_queue(fx->rs, "south", 10, 0,
					     see_queue, &s), ERR_OK);
	assert_int_equal(s.n, 1);

	/* an urgent one (a check-in's "needs help") goes first while open,
	 * however late it came; closed, it goes with the closed */
	add(fx, "south", "south.2", "south", 900, 0);
	assert_int_equal(request_store_set_urgent(fx->rs, "south", "south.2"),
			 ERR_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(request_store_queue(fx->rs, "south", 10, 0,
					     see_queue, &s), ERR_OK);
	assert_string_equal(s.ids[0], "south.2");
	assert_string_equal(s.ids[1], "south.1");
	assert_int_equal(request_store_set_status(fx->rs, "south", "south.2",
						  "done", "", 0, 950, 10, 0,
						  0, &changed), ERR_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(request_store_queue(fx->rs, "south", 10, 0,
					     see_queue, &s), ERR_OK);
	assert_string_equal(s.ids[0], "south.1");
	assert_string_equal(s.ids[4], "south.2");   /* closed, latest first */
}

struct counted {
	char first[32];
	int64_t total, open;
	int n;
};

static void count(const char *origin, int64_t total, int64_t open,
		  void *arg)
{
	struct counted *c = arg;

	if (!c->n++)
		snprintf(c->first, sizeof(c->first), "%s", origin);
	c->total += total;
	c->open += open;
}

static void test_queue_counts(void **state)
{
	struct fx *fx = *state;
	struct counted c = { .n = 0 };
	int changed;

	add(fx, "east", "east.1", "south", 100, 0);
	add(fx, "west", "west.1", "south", 200, 0);
	add(fx, "west", "west.2", "south", 300, 0);
	assert_int_equal(request_store_set_status(fx->rs, "east", "east.1",
						  "declined", "", 0, 600, 9, 0,
						  0, &changed), ERR_OK);
	assert_int_equal(request_store_queue_counts(fx->rs, "south", count,
						    &c), ERR_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.first, "west");
	assert_int_equal(c.total, 3);
	assert_int_equal(c.open, 2);
	assert_int_equal(request_store_open_count(fx->rs, "south"), 2);
	assert_int_equal(request_store_open_count(fx->rs, "nowhere"), 0);
}

/* The public listing: ids override; codes, dates and state filter. */
static void test_list_filters(void **state)
{
	struct fx *fx = *state;
	struct seen s = { .n = 0 };
	int changed;

	add(fx, "north", "north.a", "south", 100, 0);
	add(fx, "north", "north.b", "north", 200, 0);
	add(fx, "north", "north.c", "south", 300, 0);
	request_store_set_status(fx->rs, "north", "north.c", "done", "", 0,
				 400, 9, 0, 0, &changed);
	assert_int_equal(request_store_list(fx->rs, NULL, NULL, 0, 0,
					    REQUEST_ANY, 10, see, &s), ERR_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.ids[0], "north.c");
	memset(&s, 0, sizeof(s));
	request_store_list(fx->rs, "[\"north.a\"]", "[\"north.svc\"]", 0, 0,
			   REQUEST_CLOSED, 10, see, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "north.a");
	memset(&s, 0, sizeof(s));
	request_store_list(fx->rs, NULL, "[\"south.svc\"]", 0, 0,
			   REQUEST_OPEN, 10, see, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "north.a");
	memset(&s, 0, sizeof(s));
	request_store_list(fx->rs, NULL, NULL, 150, 250, REQUEST_ANY, 10,
			   see, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.ids[0], "north.b");
	memset(&s, 0, sizeof(s));
	request_store_list(fx->rs, NULL, NULL, 0, 0, REQUEST_ANY, 2, see, &s);
	assert_int_equal(s.n, 2);
}

static void step_seen(const struct request_step *step, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s:%s",
			 step->status, step->notes);
		s->received[s->n++] = step->at;
	}
}

/* Steps: a step already there stays; oldest first; an over-long one is
 * refused. */
static void test_steps(void **state)
{
	struct fx *fx = *state;
	struct seen s = { .n = 0 };
	char big[RELAY_NOTES_MAX + 2];

	memset(big, 'n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(request_store_step_put(fx->rs, "north", "north.a",
						REQUEST_STEP_SUBMITTED,
						"submitted", 100, NULL, 0),
			 ERR_OK);
	assert_int_equal(request_store_step_put(fx->rs, "north", "north.a",
						REQUEST_STEP_SUBMITTED,
						"submitted", 999, "again", 0),
			 ERR_OK);
	assert_int_equal(request_store_step_put(fx->rs, "north", "north.a",
						77, "scheduled", 300, "tue",
						500), ERR_OK);
	assert_int_equal(request_store_step_put(fx->rs, "north", "north.a",
						REQUEST_STEP_DELIVERED,
						"delivered", 200, "", 0),
			 ERR_OK);
	assert_int_equal(request_store_step_put(fx->rs, "north", "north.a",
						78, "done", 400, big, 0),
			 ERR_TOOBIG);
	assert_int_equal(table_rows(fx->db, "request_step"), 3);
	assert_int_equal(request_store_steps(fx->rs, "north", "north.a",
					     step_seen, &s), ERR_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.ids[0], "submitted:");
	assert_int_equal(s.received[0], 100);
	assert_string_equal(s.ids[1], "delivered:");
	assert_string_equal(s.ids[2], "scheduled:tue");
}

/* A resident's requests: listed newest first, their ids, erased (the
 * personal fields blanked) and no longer hers once unlinked. */
static void test_resident_erase(void **state)
{
	struct fx *fx = *state;
	struct seen s = { .n = 0 };
	struct request_row row;
	json_t *ids;

	add(fx, "north", "north.a", "south", 100, 4);
	add(fx, "north", "north.b", "south", 200, 4);
	add(fx, "north", "north.c", "south", 300, 5);
	assert_int_equal(request_store_mine(fx->rs, "north", 4, 10, see, &s),
			 ERR_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.ids[0], "north.b");
	ids = request_store_ids_of(fx->rs, "north", 4);
	assert_non_null(ids);
	assert_int_equal(json_array_size(ids), 2);
	json_decref(ids);

	assert_int_equal(request_store_set_version(fx->rs, "north", "north.a",
						   150, 8, 160), ERR_OK);
	assert_int_equal(request_store_erase(fx->rs, "north", "north.a"),
			 ERR_OK);
	assert_int_equal(request_store_unlink(fx->rs, 4), ERR_OK);
	assert_int_equal(request_store_get(fx->rs, "north", "north.a", &row),
			 ERR_OK);
	assert_true(row.erased);
	assert_int_equal(row.withdrawn, 150);
	assert_int_equal(row.updated, 160);
	assert_string_equal(row.name, "");
	assert_string_equal(row.relative_phone, "");
	assert_false(row.has_location);
	assert_string_equal(row.description, "a leaking tap");
	assert_int_equal(row.resident, 0);
	request_row_free(&row);
	memset(&s, 0, sizeof(s));
	request_store_mine(fx->rs, "north", 4, 10, see, &s);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof(s));
	request_store_mine(fx->rs, "north", 5, 10, see, &s);
	assert_int_equal(s.n, 1);
}

/* A store without the request tables is refused at open. */
static void test_open_needs_the_tables(void **state)
{
	struct request_store *rs = (void *)1;
	sqlite3 *db = NULL;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(request_store_open(db, &rs), ERR_IO);
	assert_null(rs);
	request_store_close(&rs);
	sqlite3_close(db);
}

/* ---- main --------------------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_add_and_read),
		T(test_add_at_home_delivered),
		T(test_add_bad_input),
		T(test_unknown_id),
		T(test_status_rules),
		T(test_apply_version_rule),
		T(test_queue),
		T(test_queue_counts),
		T(test_list_filters),
		T(test_steps),
		T(test_resident_erase),
		cmocka_unit_test(test_open_needs_the_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
