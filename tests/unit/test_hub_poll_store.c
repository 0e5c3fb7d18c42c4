/* test_hub_poll_store.c: unit tests of hub/poll_store.c, the hub's poll
 * and tally tables, on a real sqlite store migrated with their own
 * migrations (poll_store.h). Community polls are written with
 * relay_store_poll, as the hub writes them.
 *
 * Each test opens a fresh in-memory store. Bad input (an id taken, a
 * field over its limit, an older tally, an unknown poll) must be refused
 * or do nothing, and leave every row as it was.
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
#include "poll_store.h"
#include "store.h"
#include "table_rows.h"

/* ---- fixtures ------------------------------------------------------------- */

/* The poll tables as the hub's migrations 6 and 14 make them, and the
 * relay table district polls are queued into (hub/relay.c's, in the
 * same migration 6; its key is what the test relies on). */
static const struct store_migration migrations[] = {
	{ HUB_POLL_SCHEMA_V1
	  "CREATE TABLE relay (origin TEXT NOT NULL, kind INTEGER NOT NULL,"
	  " id TEXT NOT NULL, destination TEXT NOT NULL, version INTEGER NOT"
	  " NULL, body BLOB, delivered INTEGER NOT NULL DEFAULT 0, created"
	  " INTEGER NOT NULL, PRIMARY KEY (origin, kind, id, destination))"
	  " WITHOUT ROWID;" },
	{ hub_polls_schema_v2 },
};

struct fx {
	sqlite3 *db;
	struct hub_poll_store *ps;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (!fx || store_open(":memory:", migrations, 2, &fx->db, err,
			      sizeof(err)) != ERR_OK ||
	    hub_poll_store_open(fx->db, &fx->ps) != ERR_OK)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	hub_poll_store_close(&fx->ps);
	store_close(&fx->db);
	free(fx);
	return 0;
}

static const uint8_t body[] = { 1, 2, 3 };

/* add: district poll id with two options, open [opens, closes), area. */
static int add(struct fx *fx, const char *id, int64_t opens, int64_t closes,
	       const char *area)
{
	return hub_poll_store_add(fx->ps, RELAY_DISTRICT, id, 5, "A park?",
				  "[\"yes\",\"no\"]", opens, closes, area, body,
				  sizeof(body));
}

/* community_poll: community's own poll id, open [opens, closes). */
static void community_poll(struct fx *fx, const char *community,
			   const char *id, int64_t opens, int64_t closes)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Poll p = ALLIANCE__V1__POLL__INIT;
	char *opts[] = { (char *)"a", (char *)"b", (char *)"c" };

	p.question = (char *)"Which?";
	p.options = opts;
	p.n_options = 3;
	p.opens = opens;
	p.closes = closes;
	ch.origin = (char *)community;
	ch.id = (char *)id;
	ch.version = 1;
	ch.kind = ALLIANCE__V1__KIND__KIND_POLL;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_POLL;
	ch.poll = &p;
	assert_int_equal(relay_store_poll(fx->db, &ch), ERR_OK);
}

/* ---- tests ------------------------------------------------------------------ */

/* A district poll reads back with its area and version; a second under
 * the same id, or one over its limits, stores nothing. */
static void test_add_get(void **state)
{
	struct fx *fx = *state;
	struct hub_poll_row row;
	char big[RELAY_QUESTION_MAX + 2];

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(add(fx, "p1", 100, 900, "[\"north\"]"), ERR_OK);
	assert_int_equal(hub_poll_store_get(fx->ps, RELAY_DISTRICT, "p1", &row),
			 ERR_OK);
	assert_string_equal(row.question, "A park?");
	assert_int_equal(json_array_size(row.options), 2);
	assert_string_equal(json_string_value(json_array_get(row.area, 0)),
			    "north");
	assert_int_equal(row.version, 5);
	assert_int_equal(row.closes, 900);
	hub_poll_row_free(&row);
	assert_null(row.area);

	assert_int_equal(add(fx, "p1", 1, 2, "[]"), ERR_IO);
	assert_int_equal(hub_poll_store_add(fx->ps, RELAY_DISTRICT, "p2", 5,
					    big, "[]", 1, 2, "[]", body,
					    sizeof(body)), ERR_TOOBIG);
	assert_int_equal(table_rows(fx->db, "poll"), 1);
	hub_poll_store_get(fx->ps, RELAY_DISTRICT, "p1", &row);
	assert_int_equal(row.opens, 100);
	hub_poll_row_free(&row);
	assert_int_equal(hub_poll_store_get(fx->ps, RELAY_DISTRICT, "p2",
					    &row), ERR_NOTFOUND);
}

struct keys {
	char ids[8][LIMIT_COMMUNITY_ID + LIMIT_RECORD_ID + 2];
	int n;
};

static void see_key(const char *origin, const char *id, void *arg)
{
	struct keys *k = arg;

	if (k->n < 8)
		snprintf(k->ids[k->n++], sizeof(k->ids[0]), "%s.%s", origin,
			 id);
}

/* The listing: open first; the district's first, then the communities'
 * in turns; closed last. */
static void test_list(void **state)
{
	struct fx *fx = *state;
	struct keys k = { .n = 0 };

	add(fx, "d1", 100, 900, "[]");
	community_poll(fx, "east", "e1", 300, 900);
	community_poll(fx, "east", "e2", 400, 900);
	community_poll(fx, "west", "w1", 200, 900);
	community_poll(fx, "west", "old", 50, 60);
	assert_int_equal(hub_poll_store_list(fx->ps, 500, 10, see_key, &k),
			 ERR_OK);
	assert_int_equal(k.n, 5);
	assert_string_equal(k.ids[0], "district.d1");
	assert_string_equal(k.ids[1], "east.e2");    /* turn 1, newest */
	assert_string_equal(k.ids[2], "west.w1");
	assert_string_equal(k.ids[3], "east.e1");    /* turn 2 */
	assert_string_equal(k.ids[4], "west.old");   /* closed */
}

struct sums {
	char text[4][64];
	int n;
};

static void see_tally(const char *community, const char *counts,
		      int64_t updated, void *arg)
{
	struct sums *s = arg;

	if (s->n < 4)
		snprintf(s->text[s->n++], sizeof(s->text[0]), "%s=%s@%lld",
			 community, counts, (long long)updated);
}

/* Tallies under the version rule: an older one changes nothing; one over
 * the limit is refused; a stored one reads back with its version. */
static void test_tallies(void **state)
{
	struct fx *fx = *state;
	struct sums s = { .n = 0 };
	int64_t version;
	int changed;
	json_t *c;
	char *big = malloc(LIMIT_CHANGE_BYTES + 2);

	assert_non_null(big);
	memset(big, '1', LIMIT_CHANGE_BYTES + 1);
	big[LIMIT_CHANGE_BYTES + 1] = '\0';
	add(fx, "p1", 100, 900, "[]");
	assert_int_equal(hub_poll_store_tally_put(fx->ps, RELAY_DISTRICT, "p1",
						  "north", 7, "[1,2]", 200,
						  &changed), ERR_OK);
	assert_true(changed);
	assert_int_equal(hub_poll_store_tally_put(fx->ps, RELAY_DISTRICT, "p1",
						  "north", 6, "[0,0]", 300,
						  &changed), ERR_OK);
	assert_false(changed);
	assert_int_equal(hub_poll_store_tally_put(fx->ps, RELAY_DISTRICT, "p1",
						  "north", 9, big, 300,
						  &changed), ERR_TOOBIG);
	assert_false(changed);
	free(big);
	assert_int_equal(hub_poll_store_tally_put(fx->ps, RELAY_DISTRICT, "p1",
						  "east", 1, "[3,0]", 250,
						  &changed), ERR_OK);
	c = hub_poll_store_tally(fx->ps, RELAY_DISTRICT, "p1", "north",
				 &version);
	assert_non_null(c);
	assert_int_equal(version, 7);
	assert_int_equal(json_integer_value(json_array_get(c, 1)), 2);
	json_decref(c);
	assert_null(hub_poll_store_tally(fx->ps, RELAY_DISTRICT, "p1", "west",
					 &version));
	assert_int_equal(version, 0);
	assert_int_equal(hub_poll_store_tallies(fx->ps, RELAY_DISTRICT, "p1",
						see_tally, &s), ERR_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[0], "east=[3,0]@250");
	assert_string_equal(s.text[1], "north=[1,2]@200");
}

struct recent {
	char text[4][96];
	int n;
};

static void see_recent(const struct hub_tally *t, void *arg)
{
	struct recent *r = arg;

	if (r->n < 4)
		snprintf(r->text[r->n++], sizeof(r->text[0]), "%s/%s=%s v%llu"
			 " area %zu", t->poll_id, t->community, t->counts,
			 (unsigned long long)t->version,
			 json_array_size(t->area));
}

/* The tallies a starting session is sent: other communities' of
 * district polls that closed after since. */
static void test_recent_tallies(void **state)
{
	struct fx *fx = *state;
	struct recent r = { .n = 0 };
	int changed;

	add(fx, "open", 100, 900, "[\"north\",\"east\"]");
	add(fx, "gone", 100, 150, "[]");
	community_poll(fx, "east", "own", 100, 900);
	hub_poll_store_tally_put(fx->ps, RELAY_DISTRICT, "open", "north", 2,
				 "[1,0]", 200, &changed);
	hub_poll_store_tally_put(fx->ps, RELAY_DISTRICT, "open", "east", 3,
				 "[0,1]", 200, &changed);
	hub_poll_store_tally_put(fx->ps, RELAY_DISTRICT, "gone", "east", 3,
				 "[0,1]", 140, &changed);
	hub_poll_store_tally_put(fx->ps, "east", "own", "east", 3, "[0,1,0]",
				 200, &changed);
	assert_int_equal(hub_poll_store_recent_tallies(fx->ps, "north", 160,
						       see_recent, &r),
			 ERR_OK);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.text[0], "open/east=[0,1] v3 area 2");
}

/* District polls are queued for a destination in their area, once. */
static void test_relay_polls(void **state)
{
	struct fx *fx = *state;

	add(fx, "all", 100, 900, "[]");
	add(fx, "north", 100, 900, "[\"north\"]");
	add(fx, "east", 100, 900, "[\"east\"]");
	community_poll(fx, "north", "own", 100, 900);
	assert_int_equal(hub_poll_store_relay_polls(fx->ps, "north", 300),
			 ERR_OK);
	assert_int_equal(table_rows(fx->db, "relay"), 2);
	assert_int_equal(hub_poll_store_relay_polls(fx->ps, "north", 400),
			 ERR_OK);
	assert_int_equal(table_rows(fx->db, "relay"), 2);
	assert_int_equal(hub_poll_store_relay_polls(fx->ps, "west", 400),
			 ERR_OK);
	assert_int_equal(table_rows(fx->db, "relay"), 3);
}

/* A store without the poll tables is refused at open. */
static void test_open_needs_the_tables(void **state)
{
	struct hub_poll_store *ps = (void *)1;
	sqlite3 *db = NULL;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(hub_poll_store_open(db, &ps), ERR_IO);
	assert_null(ps);
	hub_poll_store_close(&ps);
	sqlite3_close(db);
}

/* ---- main --------------------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_add_get),
		T(test_list),
		T(test_tallies),
		T(test_recent_tallies),
		T(test_relay_polls),
		cmocka_unit_test(test_open_needs_the_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
