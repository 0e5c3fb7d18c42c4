/* test_indexer.c: unit tests of lib/indexer.c's published state
 * (indexer_caught_up): what the service thread reads, with no statement,
 * to decide whether an answer may be cached and which index generation a
 * search must show.
 *
 * A store file with the catalog schema, the writer's connection, and an
 * indexer thread on a connection of its own. Parts: fixtures; helpers;
 * tests; main. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "catalog_fixture.h"
#include "err.h"
#include "indexer.h"
#include "log.h"
#include "store.h"
#include "tmpdir.h"

/* ---- fixtures ------------------------------------------------------------ */

struct fixture {
	char path[64];
	sqlite3 *db;                /* the writer's */
	struct catalog *cat;
	struct indexer *ix;
};

/* store_conn: another migrated connection to the fixture's store. */
static sqlite3 *store_conn(struct fixture *f)
{
	sqlite3 *db = catalog_store_conn(f->path);

	assert_non_null(db);
	return db;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	int fd;

	log_init("test_indexer", LOG_WARN);
	snprintf(f->path, sizeof(f->path), "/tmp/test_indexer_XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	f->db = store_conn(f);
	assert_int_equal(catalog_open(f->db, &f->cat), ERR_OK);
	assert_int_equal(indexer_start(store_conn(f), &f->ix, err,
				       sizeof(err)), ERR_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	indexer_stop(&f->ix);
	catalog_close(&f->cat);
	store_close(&f->db);
	store_files_unlink(f->path);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

/* put: a live service id titled title, applied and logged in one
 * transaction, as the hub applies what a node sends (not indexed here). */
static void put(struct fixture *f, const char *id, const char *title)
{
	Alliance__V1__Service s = ALLIANCE__V1__SERVICE__INIT;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	int applied;

	s.title = (char *)title;
	s.category = "other";
	ch.origin = "badaguan";
	ch.id = (char *)id;
	ch.kind = ALLIANCE__V1__KIND__KIND_SERVICE;
	ch.version = 1;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
	ch.service = &s;
	assert_int_equal(store_exec(f->db, "BEGIN IMMEDIATE"), ERR_OK);
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_OK);
	assert_int_equal(store_exec(f->db, "COMMIT"), ERR_OK);
	assert_true(applied);
}

/* found: 1 when a search for q on a new connection's snapshot, taken
 * now, lists id. */
static int found(struct fixture *f, const char *q, const char *id)
{
	sqlite3 *db = store_conn(f);
	struct catalog *cat = NULL;
	char why[256], *body = NULL;
	size_t len;
	int hit;

	assert_int_equal(catalog_open(db, &cat), ERR_OK);
	assert_int_equal(catalog_search(cat, &(struct catalog_query){
		.q = q, .limit = 100 }, &body, &len, why, sizeof(why)),
		ERR_OK);
	hit = strstr(body, id) != NULL;
	free(body);
	catalog_close(&cat);
	store_close(&db);
	return hit;
}

/* caught_up: poll (up to 10 s) until the indexer vouches for head. */
static int64_t caught_up(struct fixture *f, uint64_t head)
{
	int64_t gen = 0;

	for (int i = 0; i < 10000; i++) {
		if (indexer_caught_up(f->ix, head, &gen))
			return gen;
		usleep(1000);
	}
	fail_msg("the indexer never caught up with head %llu",
		 (unsigned long long)head);
	return 0;
}

/* ---- tests --------------------------------------------------------------- */

/* no indexer: never caught up, generation 0 */
static void test_none(void **state)
{
	int64_t gen = 7;

	(void)state;
	assert_false(indexer_caught_up(NULL, 0, &gen));
	assert_int_equal(gen, 0);
}

/* once it vouches for a head, the store agrees: nothing queued, the
 * generation it gives is the store's, and the service written is found;
 * a head it has not seen is not vouched for */
static void test_vouches(void **state)
{
	struct fixture *f = *state;
	uint64_t head;
	int64_t gen, stored;

	put(f, "cut", "Haircut at home");
	head = catalog_log_head(f->cat);
	gen = caught_up(f, head);
	assert_true(catalog_index_idle(f->cat));
	assert_int_equal(catalog_index_gen(f->cat, &stored), ERR_OK);
	assert_int_equal(gen, stored);
	assert_true(gen > 0);
	assert_true(found(f, "haircut", "\"cut\""));
	assert_false(indexer_caught_up(f->ix, head + 1, &gen));
}

/* written one after another: whenever it says caught up (at once or
 * later), what it vouched for is already in the store's index, and it
 * never goes back */
static void test_never_early(void **state)
{
	struct fixture *f = *state;
	int64_t last = 0;

	for (int i = 0; i < 20; i++) {
		char id[16], quoted[20];
		uint64_t head;
		int64_t gen;
		int up;

		snprintf(id, sizeof(id), "m%d", i);
		snprintf(quoted, sizeof(quoted), "\"%s\"", id);
		put(f, id, "Meals on wheels");
		head = catalog_log_head(f->cat);
		up = indexer_caught_up(f->ix, head, &gen);
		assert_true(gen >= last);
		last = gen;
		if (!up)
			continue;
		assert_true(catalog_index_idle(f->cat));
		assert_true(found(f, "meals", quoted));
	}
	last = caught_up(f, catalog_log_head(f->cat));
	assert_true(found(f, "meals", "\"m19\""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test_setup_teardown(test_vouches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_early, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
