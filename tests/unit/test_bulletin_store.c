/* test_bulletin_store.c: unit tests of storing bulletins with the
 * statements lib/bulletin_store.c prepares once per connection.
 *
 * Each test opens a fresh in-memory store holding the bulletin tables and
 * stores bulletins that were never signed (bulletin_store_put takes what
 * bulletin_open verified; the bytes are only kept and compared here).
 *
 * Parts: fixtures; tests; main. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulletin_store.h"
#include "err.h"
#include "store.h"

/* ---- fixtures ------------------------------------------------------------- */

static const struct store_migration migrations[] = {
	{ bulletin_schema_v1 },
};

struct fx {
	sqlite3 *db;
	struct bulletin_store *bs;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (!fx || store_open(":memory:", migrations, 1, &fx->db, err,
			      sizeof(err)) != ERR_OK ||
	    bulletin_store_open(fx->db, &fx->bs) != ERR_OK)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	bulletin_store_close(&fx->bs);
	store_close(&fx->db);
	free(fx);
	return 0;
}

/* sample: content with id, of type alert, or of type (update or cancel)
 * replacing ref. Strings are static or the caller's. */
static void sample(BulletinContent *c, const char *id, const char *type,
		   char **ref)
{
	alliance__v1__bulletin_content__init(c);
	c->id = (char *)id;
	c->key_id = "0123456789abcdef";
	c->sender = "Li Wei";
	c->type = (char *)type;
	c->severity = "severe";
	c->urgency = "immediate";
	c->certainty = "observed";
	c->category = "public-safety";
	c->headline = "Burst water main";
	c->description = "Avoid the area.";
	c->references = ref;
	c->n_references = ref ? 1 : 0;
	c->sent = 1795964645;
	c->expires = c->sent + 86400;
}

/* put: store c, its packed bytes as the signed ones, posted by posted_by;
 * returns what bulletin_store_put returned and sets *outcome. */
static int put(struct fx *fx, const BulletinContent *c, const char *posted_by,
	       enum bulletin_put *outcome)
{
	static const uint8_t sig[BULLETIN_SIG_LEN];
	size_t len = alliance__v1__bulletin_content__get_packed_size(c);
	uint8_t *buf = malloc(len);
	int rc;

	assert_non_null(buf);
	alliance__v1__bulletin_content__pack(c, buf);
	rc = bulletin_store_put(fx->bs, buf, len, sig, sizeof(sig), c,
				posted_by, 1000, outcome);
	free(buf);
	return rc;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_put_replay_conflict(void **state)
{
	struct fx *fx = *state;
	BulletinContent c;
	enum bulletin_put outcome;

	sample(&c, "b-1", "alert", NULL);
	assert_int_equal(put(fx, &c, NULL, &outcome), ERR_OK);
	assert_int_equal(outcome, BULLETIN_STORED);
	assert_int_equal(put(fx, &c, NULL, &outcome), ERR_OK);
	assert_int_equal(outcome, BULLETIN_REPLAY);
	c.headline = "Another headline";
	assert_int_equal(put(fx, &c, NULL, &outcome), ERR_OK);
	assert_int_equal(outcome, BULLETIN_CONFLICT);
}

/* The statements are used again: nothing of one bulletin (its operator,
 * its references) is left bound for the next. */
static void test_statements_reused(void **state)
{
	struct fx *fx = *state;
	BulletinContent c;
	struct bulletin_row row;
	enum bulletin_put outcome;
	char *ref = "b-1";

	sample(&c, "b-1", "alert", NULL);
	assert_int_equal(put(fx, &c, "operator-a", &outcome), ERR_OK);
	sample(&c, "b-2", "alert", NULL);
	assert_int_equal(put(fx, &c, NULL, &outcome), ERR_OK);
	sample(&c, "b-3", "cancel", &ref);
	assert_int_equal(put(fx, &c, NULL, &outcome), ERR_OK);
	assert_int_equal(outcome, BULLETIN_STORED);

	assert_int_equal(bulletin_store_get(fx->db, "b-1", 0, &row), ERR_OK);
	assert_string_equal(row.posted_by, "operator-a");
	assert_string_equal(row.status, "cancelled");
	bulletin_row_free(&row);
	assert_int_equal(bulletin_store_get(fx->db, "b-2", 0, &row), ERR_OK);
	assert_string_equal(row.posted_by, "");
	assert_string_equal(row.status, "current");
	assert_int_equal(row.received_ms, 1000);
	bulletin_row_free(&row);
}

/* A failed step leaves the statements usable. */
static void test_put_after_failure(void **state)
{
	struct fx *fx = *state;
	BulletinContent c;
	enum bulletin_put outcome;

	sample(&c, "b-1", "alert", NULL);
	assert_int_equal(sqlite3_exec(fx->db, "CREATE TRIGGER no BEFORE INSERT"
				      " ON bulletin BEGIN SELECT RAISE(ABORT,"
				      " 'refused'); END", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(put(fx, &c, NULL, &outcome), ERR_IO);
	assert_int_equal(sqlite3_exec(fx->db, "DROP TRIGGER no", NULL, NULL,
				      NULL), SQLITE_OK);
	assert_int_equal(put(fx, &c, NULL, &outcome), ERR_OK);
	assert_int_equal(outcome, BULLETIN_STORED);
}

static void test_open_needs_the_tables(void **state)
{
	struct bulletin_store *bs = (void *)1;
	sqlite3 *db = NULL;
	char err[256];

	(void)state;
	assert_int_equal(store_open(":memory:", NULL, 0, &db, err,
				    sizeof(err)), ERR_OK);
	assert_int_equal(bulletin_store_open(db, &bs), ERR_IO);
	assert_null(bs);
	store_close(&db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_replay_conflict,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_statements_reused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_after_failure,
						setup, teardown),
		cmocka_unit_test(test_open_needs_the_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
