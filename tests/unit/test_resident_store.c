/* test_resident_store.c: unit tests of node/resident_store.c, the node's
 * resident tables, on a real sqlite store migrated with the resident
 * tables' own migrations (resident_store.h).
 *
 * Each test opens a fresh in-memory store. Bad input (a field over its
 * limit, a phone registered already, an unknown id, a used or unknown
 * code, an expired token) must be refused or do nothing, and leave every
 * row as it was.
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
#include "resident_store.h"
#include "store.h"
#include "table_rows.h"

/* ---- fixtures ------------------------------------------------------------- */

/* The resident tables as a node's migrations v5, v11, v12 and v13 make
 * them. */
static const struct store_migration migrations[] = {
	{ RESIDENT_SCHEMA_V1 },
	{ RESIDENT_SCHEMA_V3 },
	{ RESIDENT_SCHEMA_V4 },
	{ RESIDENT_SCHEMA_V13 },
};

struct fx {
	sqlite3 *db;
	struct resident_store *rs;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (!fx || store_open(":memory:", migrations, 4, &fx->db, err,
			      sizeof(err)) != ERR_OK ||
	    resident_store_open(fx->db, &fx->rs) != ERR_OK)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	resident_store_close(&fx->rs);
	store_close(&fx->db);
	free(fx);
	return 0;
}

/* hash: a 32-byte hash whose bytes are all b. */
static const unsigned char *hash(unsigned char buf[32], int b)
{
	memset(buf, b, 32);
	return buf;
}

/* add: a new account with phone (NULL: none); its id. */
static int64_t add(struct fx *fx, const char *phone, const char *name,
		   const char *confirmed_by)
{
	int64_t id = 0;

	assert_int_equal(resident_store_add(fx->rs, phone, phone ? "$scrypt$"
					    : NULL, name, 1000, confirmed_by,
					    &id), ERR_OK);
	assert_true(id > 0);
	return id;
}

/* ---- tests ------------------------------------------------------------------ */

/* An account reads back; by its phone too, with its hash line. */
static void test_add_and_read(void **state)
{
	struct fx *fx = *state;
	struct resident_row row;
	char *line = NULL;
	int64_t id = add(fx, "13800138000", "Li Wei", "sms");

	assert_int_equal(resident_store_get(fx->rs, id, &row), ERR_OK);
	assert_int_equal(row.id, id);
	assert_string_equal(row.phone, "13800138000");
	assert_string_equal(row.name, "Li Wei");
	assert_int_equal(row.created, 1000);
	assert_int_equal(row.confirmed, 1000);
	assert_false(row.household);
	assert_int_equal(resident_store_by_phone(fx->rs, "13800138000",
						 &line), id);
	assert_string_equal(line, "$scrypt$");
	free(line);
	assert_int_equal(resident_store_by_phone(fx->rs, "13900000000", NULL),
			 0);
}

/* A phone registered already, or a field over its limit, adds nothing;
 * an unknown id is not found. */
static void test_add_bad_input(void **state)
{
	struct fx *fx = *state;
	char big[RELAY_NAME_MAX + 2];
	struct resident_row row;
	int64_t id = -1;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	add(fx, "13800138000", "", NULL);
	assert_int_equal(resident_store_add(fx->rs, "13800138000", "$s$", "",
					    1, NULL, &id), ERR_INVALID);
	assert_int_equal(id, 0);
	assert_int_equal(resident_store_add(fx->rs, "13800138001", "$s$", big,
					    1, NULL, &id), ERR_TOOBIG);
	assert_int_equal(resident_store_add(fx->rs, "123456789012345678901",
					    "$s$", "", 1, NULL, &id),
			 ERR_TOOBIG);
	assert_int_equal(table_rows(fx->db, "resident"), 1);
	assert_int_equal(resident_store_get(fx->rs, 99, &row), ERR_NOTFOUND);
}

/* A name changes, "" removes it, one over the limit changes nothing. */
static void test_set_name(void **state)
{
	struct fx *fx = *state;
	char big[RELAY_NAME_MAX + 2];
	struct resident_row row;
	int64_t id = add(fx, "13800138000", "Li", NULL);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(resident_store_set_name(fx->rs, id, big), ERR_TOOBIG);
	resident_store_get(fx->rs, id, &row);
	assert_string_equal(row.name, "Li");
	assert_int_equal(resident_store_set_name(fx->rs, id, "Wang"), ERR_OK);
	resident_store_get(fx->rs, id, &row);
	assert_string_equal(row.name, "Wang");
	assert_int_equal(resident_store_set_name(fx->rs, id, ""), ERR_OK);
	resident_store_get(fx->rs, id, &row);
	assert_string_equal(row.name, "");
}

struct seen {
	int64_t ids[8];
	int n;
};

static void see(const struct resident_row *row, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->ids[s->n++] = row->id;
}

/* The manager confirms a phone once; the list of phones waiting leaves
 * out the confirmed, the household's and the deleted. */
static void test_confirm_and_unconfirmed(void **state)
{
	struct fx *fx = *state;
	struct resident_row row;
	struct seen s = { .n = 0 };
	unsigned char h[32];
	int64_t a = add(fx, "13800138000", "", NULL);
	int64_t b = add(fx, "13800138001", "", NULL);
	int64_t c = add(fx, "13800138002", "", NULL);
	int64_t d = add(fx, "13800138003", "", "sms");
	int64_t e = add(fx, NULL, "", NULL);

	assert_int_equal(resident_store_code_add(fx->rs, hash(h, 7), 1),
			 ERR_OK);
	assert_int_equal(resident_store_code_claim(fx->rs, h, c), 1);
	assert_int_equal(resident_store_forget(fx->rs, b), ERR_OK);
	assert_int_equal(resident_store_unconfirmed(fx->rs, 10, see, &s),
			 ERR_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ids[0], a);

	assert_int_equal(resident_store_confirm(fx->rs, a, 2000), ERR_OK);
	assert_int_equal(resident_store_confirm(fx->rs, a, 3000), ERR_OK);
	resident_store_get(fx->rs, a, &row);
	assert_int_equal(row.confirmed, 2000);          /* the first stays */
	assert_int_equal(resident_store_confirm(fx->rs, e, 2000), ERR_OK);
	resident_store_get(fx->rs, e, &row);
	assert_int_equal(row.confirmed, 0);             /* no phone */
	assert_int_equal(resident_store_confirm(fx->rs, 999, 2000), ERR_OK);
	resident_store_get(fx->rs, d, &row);
	assert_int_equal(row.confirmed, 1000);
	resident_store_get(fx->rs, b, &row);
	assert_string_equal(row.phone, "");             /* forgotten */
	assert_int_equal(resident_store_by_phone(fx->rs, "13800138001", NULL),
			 0);
	resident_store_get(fx->rs, c, &row);
	assert_true(row.household);
}

/* Tokens: live while used within idle_s, touched at most once a minute;
 * dropped one by one or all of an account; expired ones go when a new
 * one is made; a hash twice is refused. */
static void test_tokens(void **state)
{
	struct fx *fx = *state;
	unsigned char h1[32], h2[32], h3[32];
	int64_t id = add(fx, "13800138000", "", NULL);

	hash(h1, 1);
	hash(h2, 2);
	hash(h3, 3);
	assert_int_equal(resident_store_token_add(fx->rs, id, h1, 1000, 600),
			 ERR_OK);
	assert_int_equal(resident_store_token_add(fx->rs, id, h1, 1001, 600),
			 ERR_IO);
	assert_int_equal(resident_store_bearer(fx->rs, h1, 1500, 600), id);
	assert_int_equal(resident_store_bearer(fx->rs, h2, 1500, 600), 0);
	/* touched at 1500, not again within the minute: gone after 2100 */
	assert_int_equal(resident_store_bearer(fx->rs, h1, 1530, 600), id);
	assert_int_equal(resident_store_bearer(fx->rs, h1, 2101, 600), 0);
	assert_int_equal(resident_store_token_add(fx->rs, id, h2, 2101, 600),
			 ERR_OK);
	/* h1 expired */
	assert_int_equal(table_rows(fx->db, "resident_token"), 1);
	assert_int_equal(resident_store_token_add(fx->rs, id, h3, 2102, 600),
			 ERR_OK);
	assert_int_equal(resident_store_token_drop(fx->rs, h2), ERR_OK);
	assert_int_equal(resident_store_bearer(fx->rs, h2, 2103, 600), 0);
	assert_int_equal(resident_store_bearer(fx->rs, h3, 2103, 600), id);
	assert_int_equal(resident_store_tokens_drop(fx->rs, 999), 0);
	assert_int_equal(resident_store_tokens_drop(fx->rs, id), 1);
	assert_int_equal(resident_store_bearer(fx->rs, h3, 2104, 600), 0);
}

/* A household code is used once; an unknown one never. */
static void test_codes(void **state)
{
	struct fx *fx = *state;
	unsigned char h[32], other[32];
	int64_t a = add(fx, NULL, "", NULL), b = add(fx, NULL, "", NULL);

	hash(h, 9);
	hash(other, 8);
	assert_int_equal(resident_store_code_add(fx->rs, h, 1), ERR_OK);
	assert_int_equal(resident_store_code_add(fx->rs, h, 2), ERR_IO);
	assert_true(resident_store_code_usable(fx->rs, h));
	assert_false(resident_store_code_usable(fx->rs, other));
	assert_int_equal(resident_store_code_claim(fx->rs, other, a), 0);
	assert_int_equal(resident_store_code_claim(fx->rs, h, a), 1);
	assert_int_equal(resident_store_code_claim(fx->rs, h, b), 0);
	assert_false(resident_store_code_usable(fx->rs, h));
	assert_int_equal(table_rows(fx->db, "household_code"), 1);
}

/* A registration waits for its code until it expires; misses count;
 * over-long fields are refused. */
static void test_pending(void **state)
{
	struct fx *fx = *state;
	struct resident_pending p, got;
	char big[RESIDENT_HASH_LINE_MAX + 2];

	memset(&p, 0, sizeof(p));
	memset(p.salt, 1, sizeof(p.salt));
	memset(p.hash, 2, sizeof(p.hash));
	p.password_hash = (char *)"$scrypt$1";
	p.name = (char *)"Li";
	assert_int_equal(resident_store_pending_put(fx->rs, "13800138000", &p,
						    2000, 1000), ERR_OK);
	assert_int_equal(resident_store_pending_get(fx->rs, "13800138000",
						    1500, &got), ERR_OK);
	assert_memory_equal(got.salt, p.salt, sizeof(p.salt));
	assert_string_equal(got.password_hash, "$scrypt$1");
	assert_false(got.has_household);
	assert_int_equal(got.attempts, 0);
	resident_pending_free(&got);
	resident_store_pending_miss(fx->rs, "13800138000");
	resident_store_pending_get(fx->rs, "13800138000", 1500, &got);
	assert_int_equal(got.attempts, 1);
	resident_pending_free(&got);
	assert_int_equal(resident_store_pending_get(fx->rs, "13800138000",
						    2000, &got),
			 ERR_NOTFOUND);                   /* expired */

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	p.password_hash = big;
	assert_int_equal(resident_store_pending_put(fx->rs, "13800138001", &p,
						    3000, 1000), ERR_TOOBIG);
	p.password_hash = (char *)"$scrypt$2";
	memset(p.household, 5, 32);
	p.has_household = 1;
	/* the expired one is dropped on the way */
	assert_int_equal(resident_store_pending_put(fx->rs, "13800138002", &p,
						    4000, 2500), ERR_OK);
	assert_int_equal(table_rows(fx->db, "phone_pending"), 1);
	assert_int_equal(resident_store_pending_get(fx->rs, "13800138002",
						    3000, &got), ERR_OK);
	assert_true(got.has_household);
	assert_int_equal(got.household[0], 5);
	resident_pending_free(&got);
	resident_store_pending_drop(fx->rs, "13800138002");
	assert_int_equal(table_rows(fx->db, "phone_pending"), 0);
}

/* A store without the resident tables is refused at open. */
static void test_open_needs_the_tables(void **state)
{
	struct resident_store *rs = (void *)1;
	sqlite3 *db = NULL;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(resident_store_open(db, &rs), ERR_IO);
	assert_null(rs);
	resident_store_close(&rs);
	sqlite3_close(db);
}

/* ---- main --------------------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_add_and_read),
		T(test_add_bad_input),
		T(test_set_name),
		T(test_confirm_and_unconfirmed),
		T(test_tokens),
		T(test_codes),
		T(test_pending),
		cmocka_unit_test(test_open_needs_the_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
