/* test_poll_store.c: unit tests of node/poll_store.c, the node's poll
 * tables, on a real sqlite store migrated with the poll tables' own
 * migrations (poll_store.h); polls are written with relay_store_poll, as
 * the node writes them.
 *
 * Each test opens a fresh in-memory store. Bad input (a second vote, an
 * older or over-long tally, an unknown poll, a phone that voted) must be
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
#include "poll_store.h"
#include "store.h"
#include "table_rows.h"

/* ---- fixtures ------------------------------------------------------------- */

/* The poll tables as a node's migrations v5, v11 and v13 make them. */
static const struct store_migration migrations[] = {
	{ POLL_SCHEMA_V1 },
	{ POLL_SCHEMA_V3 },
	{ POLL_SCHEMA_V13 },
};

struct fx {
	sqlite3 *db;
	struct poll_store *ps;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (!fx || store_open(":memory:", migrations, 3, &fx->db, err,
			      sizeof(err)) != ERR_OK ||
	    poll_store_open(fx->db, &fx->ps) != ERR_OK)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	poll_store_close(&fx->ps);
	store_close(&fx->db);
	free(fx);
	return 0;
}

/* put: poll (origin, id) with three options, open [opens, closes), at
 * version. */
static void put(struct fx *fx, const char *origin, const char *id,
		int64_t opens, int64_t closes, uint64_t version)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Poll p = ALLIANCE__V1__POLL__INIT;
	char *opts[] = { (char *)"yes", (char *)"no", (char *)"later" };

	p.question = (char *)"A new bench?";
	p.options = opts;
	p.n_options = 3;
	p.opens = opens;
	p.closes = closes;
	ch.origin = (char *)origin;
	ch.id = (char *)id;
	ch.version = version;
	ch.kind = ALLIANCE__V1__KIND__KIND_POLL;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_POLL;
	ch.poll = &p;
	assert_int_equal(relay_store_poll(fx->db, &ch), ERR_OK);
}

struct seen {
	char ids[8][LIMIT_COMMUNITY_ID + LIMIT_RECORD_ID + 2];
	int n;
};

static void see(const struct poll_row *row, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->ids[s->n++], sizeof(s->ids[0]), "%s.%s",
			 row->origin, row->id);
}

/* ---- tests ------------------------------------------------------------------ */

/* A poll reads back with its options; an unknown one is not found. */
static void test_get(void **state)
{
	struct fx *fx = *state;
	struct poll_row row;

	put(fx, "north", "p1", 100, 200, 5);
	assert_int_equal(poll_store_get(fx->ps, "north", "p1", &row), ERR_OK);
	assert_string_equal(row.origin, "north");
	assert_string_equal(row.question, "A new bench?");
	assert_int_equal(json_array_size(row.options), 3);
	assert_string_equal(json_string_value(json_array_get(row.options, 2)),
			    "later");
	assert_int_equal(row.opens, 100);
	assert_int_equal(row.closes, 200);
	poll_row_free(&row);
	assert_null(row.question);
	assert_int_equal(poll_store_get(fx->ps, "north", "p2", &row),
			 ERR_NOTFOUND);
	assert_int_equal(poll_store_n_options(fx->ps, "north", "p1"), 3);
	assert_int_equal(poll_store_n_options(fx->ps, "north", "p2"), -1);
}

/* The listing: open at now first, then the newest opened; a limit. */
static void test_list(void **state)
{
	struct fx *fx = *state;
	struct seen s = { .n = 0 };

	put(fx, "north", "old", 100, 200, 1);       /* closed at 500 */
	put(fx, "north", "open", 300, 900, 1);
	put(fx, "district", "late", 400, 450, 1);   /* closed, newer */
	assert_int_equal(poll_store_list(fx->ps, 500, 10, see, &s), ERR_OK);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.ids[0], "north.open");
	assert_string_equal(s.ids[1], "district.late");
	assert_string_equal(s.ids[2], "north.old");
	memset(&s, 0, sizeof(s));
	poll_store_list(fx->ps, 500, 1, see, &s);
	assert_int_equal(s.n, 1);
}

/* One vote per resident: a second changes nothing; counts per option,
 * an option past n ignored; my vote, or -1. */
static void test_votes(void **state)
{
	struct fx *fx = *state;
	uint64_t c[3];

	put(fx, "north", "p1", 100, 900, 1);
	assert_int_equal(poll_store_vote(fx->ps, "north", "p1", 7, 1, 150), 1);
	assert_int_equal(poll_store_vote(fx->ps, "north", "p1", 8, 1, 160), 1);
	assert_int_equal(poll_store_vote(fx->ps, "north", "p1", 9, 2, 170), 1);
	assert_int_equal(poll_store_vote(fx->ps, "north", "p1", 7, 0, 180), 0);
	assert_int_equal(table_rows(fx->db, "vote"), 3);
	assert_int_equal(poll_store_my_vote(fx->ps, "north", "p1", 7), 1);
	assert_int_equal(poll_store_my_vote(fx->ps, "north", "p1", 5), -1);
	assert_int_equal(poll_store_counts(fx->ps, "north", "p1", c, 3),
			 ERR_OK);
	assert_int_equal(c[0], 0);
	assert_int_equal(c[1], 2);
	assert_int_equal(c[2], 1);
	assert_int_equal(poll_store_counts(fx->ps, "north", "p1", c, 2),
			 ERR_OK);
	assert_int_equal(c[1], 2);                 /* option 2 left out */
	assert_int_equal(poll_store_counts(fx->ps, "north", "zz", c, 3),
			 ERR_OK);
	assert_int_equal(c[1], 0);
}

struct vote_seen {
	char polls[4][64];
	int64_t options[4];
	int n;
};

static void see_vote(const struct poll_vote *v, void *arg)
{
	struct vote_seen *s = arg;

	if (s->n < 4) {
		snprintf(s->polls[s->n], sizeof(s->polls[0]), "%s.%s:%s",
			 v->poll_origin, v->poll_id, v->question);
		s->options[s->n++] = v->option;
	}
}

/* A resident's votes, newest first, with their polls. */
static void test_votes_of(void **state)
{
	struct fx *fx = *state;
	struct vote_seen s = { .n = 0 };

	put(fx, "north", "p1", 100, 900, 1);
	put(fx, "district", "p2", 100, 900, 1);
	poll_store_vote(fx->ps, "north", "p1", 7, 2, 150);
	poll_store_vote(fx->ps, "district", "p2", 7, 0, 250);
	poll_store_vote(fx->ps, "district", "p2", 8, 1, 260);
	assert_int_equal(poll_store_votes_of(fx->ps, 7, 10, see_vote, &s),
			 ERR_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.polls[0], "district.p2:A new bench?");
	assert_int_equal(s.options[0], 0);
	assert_int_equal(s.options[1], 2);
}

struct tally_seen {
	char text[4][64];
	int n;
};

static void see_tally(const char *community, const char *counts, void *arg)
{
	struct tally_seen *s = arg;

	if (s->n < 4)
		snprintf(s->text[s->n++], sizeof(s->text[0]), "%s=%s",
			 community, counts);
}

/* Tallies of other communities under the version rule; one over the
 * limit is refused; the listing leaves out ours. */
static void test_tallies(void **state)
{
	struct fx *fx = *state;
	struct tally_seen s = { .n = 0 };
	char *big = malloc(LIMIT_CHANGE_BYTES + 2);

	assert_non_null(big);
	memset(big, '1', LIMIT_CHANGE_BYTES + 1);
	big[LIMIT_CHANGE_BYTES + 1] = '\0';
	assert_int_equal(poll_store_tally_put(fx->ps, "district", "p2", "east",
					      5, "[1,2,3]", 100), ERR_OK);
	assert_int_equal(poll_store_tally_put(fx->ps, "district", "p2", "east",
					      4, "[0,0,0]", 90), ERR_OK);
	assert_int_equal(poll_store_tally_put(fx->ps, "district", "p2", "west",
					      1, "[4,0,0]", 100), ERR_OK);
	assert_int_equal(poll_store_tally_put(fx->ps, "district", "p2",
					      "north", 1, "[9,9,9]", 100),
			 ERR_OK);
	assert_int_equal(poll_store_tally_put(fx->ps, "district", "p2", "west",
					      9, big, 100), ERR_TOOBIG);
	free(big);
	assert_int_equal(poll_store_tallies(fx->ps, "district", "p2", "north",
					    see_tally, &s), ERR_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[0], "east=[1,2,3]");   /* 4 < 5: kept */
	assert_string_equal(s.text[1], "west=[4,0,0]");
	assert_int_equal(table_rows(fx->db, "poll_tally"), 3);
}

/* A phone votes once per open poll; the keys of closed polls go. */
static void test_phones(void **state)
{
	struct fx *fx = *state;
	unsigned char k1[32], k2[32];

	memset(k1, 1, sizeof(k1));
	memset(k2, 2, sizeof(k2));
	put(fx, "north", "p1", 100, 900, 1);
	put(fx, "north", "p2", 100, 300, 1);
	assert_int_equal(poll_store_claim_phone(fx->ps, "north", "p1", k1,
						200), 1);
	assert_int_equal(poll_store_claim_phone(fx->ps, "north", "p1", k1,
						210), 0);
	assert_int_equal(poll_store_claim_phone(fx->ps, "north", "p2", k1,
						220), 1);
	assert_int_equal(poll_store_claim_phone(fx->ps, "north", "p1", k2,
						230), 1);
	assert_int_equal(table_rows(fx->db, "vote_phone"), 3);
	/* p2 closed at 300: its key goes with the next claim */
	assert_int_equal(poll_store_claim_phone(fx->ps, "north", "p1", k2,
						400), 0);
	assert_int_equal(table_rows(fx->db, "vote_phone"), 2);
}

/* A store without the poll tables is refused at open. */
static void test_open_needs_the_tables(void **state)
{
	struct poll_store *ps = (void *)1;
	sqlite3 *db = NULL;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(poll_store_open(db, &ps), ERR_IO);
	assert_null(ps);
	poll_store_close(&ps);
	sqlite3_close(db);
}

/* ---- main --------------------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_get),
		T(test_list),
		T(test_votes),
		T(test_votes_of),
		T(test_tallies),
		T(test_phones),
		cmocka_unit_test(test_open_needs_the_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
