/* test_searcher.c: unit tests of lib/searcher.c, catalog searches on
 * threads of their own.
 *
 * A store file with the catalog schema and a few services, a searcher of
 * two threads on connections of their own, and an lws context (no
 * listener) for them to wake. Parts: fixtures; helpers; tests; main. */
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
#include "log.h"
#include "searcher.h"
#include "store.h"
#include "tmpdir.h"

/* ---- fixtures ------------------------------------------------------------ */


struct fixture {
	char path[64];
	sqlite3 *db;                /* the writer's */
	struct catalog *cat;
	struct lws_context *lws;
	struct searcher *s;
};

/* store_conn: another migrated connection to the fixture's store. */
static sqlite3 *store_conn(struct fixture *f)
{
	sqlite3 *db = catalog_store_conn(f->path);

	assert_non_null(db);
	return db;
}

/* put_at: a live service id titled title, applied (logged when log is
 * set), and indexed when index is set. */
static void put_at(struct fixture *f, const char *id, const char *title,
		   int log, int index)
{
	Alliance__V1__Service s = ALLIANCE__V1__SERVICE__INIT;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	size_t done;
	int applied;

	s.title = (char *)title;
	s.category = "other";
	ch.origin = "badaguan";
	ch.id = (char *)id;
	ch.kind = ALLIANCE__V1__KIND__KIND_SERVICE;
	ch.version = 1;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
	ch.service = &s;
	assert_int_equal(catalog_apply(f->cat, &ch, log, &applied), ERR_OK);
	if (index)
		assert_int_equal(catalog_index_pending(f->cat, 100, &done),
				 ERR_OK);
}

/* put: a live service id titled title, applied and indexed. */
static void put(struct fixture *f, const char *id, const char *title)
{
	put_at(f, id, title, 0, 1);
}

static int setup(void **state)
{
	struct lws_context_creation_info info;
	struct fixture *f = calloc(1, sizeof(*f));
	sqlite3 *dbs[2];
	char err[256];
	int fd;

	log_init("test_searcher", LOG_WARN);
	snprintf(f->path, sizeof(f->path), "/tmp/test_searcher_XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	f->db = store_conn(f);
	assert_int_equal(catalog_open(f->db, &f->cat), ERR_OK);
	put(f, "cut", "Haircut at home");
	put(f, "meal", "Meals on wheels");
	put(f, "cut2", "Haircut corner");
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	f->lws = lws_create_context(&info);
	assert_non_null(f->lws);
	dbs[0] = store_conn(f);
	dbs[1] = store_conn(f);
	assert_int_equal(searcher_start(dbs, 2, f->lws, &f->s, err,
					sizeof(err)), ERR_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	searcher_stop(&f->s);
	assert_null(f->s);
	lws_context_destroy(f->lws);
	catalog_close(&f->cat);
	store_close(&f->db);
	store_files_unlink(f->path);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

/* take_all: collect done jobs until n came back (the threads are quick);
 * returns them linked by next, in the order they came. */
static struct search_job *take_all(struct searcher *s, int n)
{
	struct search_job *head = NULL, **tail = &head;
	int got = 0;

	for (int tries = 0; got < n && tries < 5000; tries++) {
		struct search_job *j = searcher_take_done(s);

		if (!j) {
			usleep(1000);
			continue;
		}
		*tail = j;
		for (; j; j = j->next, got++)
			tail = &j->next;
	}
	assert_int_equal(got, n);
	return head;
}

/* answer: catalog_search's JSON text for q on the writer's connection. */
static char *answer(struct fixture *f, const struct catalog_query *q)
{
	char why[256], *text = NULL;
	size_t len;

	assert_int_equal(catalog_search(f->cat, q, &text, &len, why,
					sizeof(why)), ERR_OK);
	return text;
}

/* ---- tests --------------------------------------------------------------- */

/* every job comes back once with its own answer, the one a search on
 * this thread gives; the query's strings were copied */
static void test_answers(void **state)
{
	struct fixture *f = *state;
	char text[3][16] = { "haircut", "meals", "nothing" };
	const char *expect[3];
	struct search_job *done, *j;
	int seen[30] = { 0 };

	for (int i = 0; i < 3; i++)
		expect[i] = answer(f, &(struct catalog_query){ .q = text[i],
				   .limit = 5 });
	for (int i = 0; i < 30; i++) {
		struct search_job *job = search_job_new((uint64_t)i + 1,
			&(struct catalog_query){ .q = text[i % 3], .limit = 5 });

		assert_non_null(job);
		assert_int_equal(searcher_submit(f->s, job), ERR_OK);
	}
	memset(text, 'x', sizeof(text));     /* the jobs own their copies */
	done = take_all(f->s, 30);
	for (j = done; j; j = j->next) {
		int i = (int)j->id - 1;

		assert_true(i >= 0 && i < 30 && !seen[i]);
		seen[i] = 1;
		assert_int_equal(j->rc, ERR_OK);
		assert_string_equal(j->body, expect[i % 3]);
	}
	while (done) {
		j = done->next;
		search_job_free(done);
		done = j;
	}
	for (int i = 0; i < 3; i++)
		free((char *)expect[i]);
}

/* a service indexed on another connection is in the threads' next
 * answers that ask for its index generation, though each thread still
 * holds the snapshot of its last search (SEARCHER_SNAPSHOT_MS): the
 * snapshot is taken again, and the sets they keep of earlier searches
 * are built again */
static void test_sees_new_index(void **state)
{
	struct fixture *f = *state;
	struct catalog_query q = { .q = "haircut", .limit = 5 };
	struct search_job *done, *j;
	char *before = answer(f, &q), *after = NULL;
	int64_t gen = 0;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 6; i++) {
			struct search_job *job = search_job_new(
				(uint64_t)i + 1, &q);

			assert_non_null(job);
			job->gen = gen;
			job->head = 0;       /* the index alone decides */
			assert_int_equal(searcher_submit(f->s, job), ERR_OK);
		}
		done = take_all(f->s, 6);
		for (j = done; j; j = j->next)
			assert_string_equal(j->body, round ? after : before);
		while (done) {
			j = done->next;
			search_job_free(done);
			done = j;
		}
		if (round == 0) {
			put(f, "cut3", "Haircut by the sea");
			after = answer(f, &q);
			assert_non_null(strstr(after, "cut3"));
			assert_int_equal(catalog_index_gen(f->cat, &gen),
					 ERR_OK);
		}
	}
	free(before);
	free(after);
}

/* all_list: n jobs of q with gen 0 and head; returns whether every
 * answer lists id. */
static int all_list(struct fixture *f, const struct catalog_query *q,
		    uint64_t head, int n, const char *id)
{
	struct search_job *done, *j;
	int all = 1;

	for (int i = 0; i < n; i++) {
		struct search_job *job = search_job_new((uint64_t)i + 1, q);

		assert_non_null(job);
		job->head = head;
		assert_int_equal(searcher_submit(f->s, job), ERR_OK);
	}
	done = take_all(f->s, n);
	for (j = done; j; j = j->next) {
		assert_int_equal(j->rc, ERR_OK);
		all = all && strstr(j->body, id) != NULL;
	}
	while (done) {
		j = done->next;
		search_job_free(done);
		done = j;
	}
	return all;
}

/* a change logged on another connection (not yet indexed) is in the
 * listings of jobs that ask for its log head, though each thread still
 * holds the snapshot of its last search: the snapshot is taken again */
static void test_sees_new_head(void **state)
{
	struct fixture *f = *state;
	struct catalog_query list = { .limit = 100 };

	put_at(f, "first", "Logged first", 1, 0);
	assert_true(all_list(f, &list, catalog_log_head(f->cat), 6,
			     "\"first\""));
	put_at(f, "second", "Logged second", 1, 0);
	assert_true(all_list(f, &list, catalog_log_head(f->cat), 6,
			     "\"second\""));
}

/* a thread with no job lets its snapshot go: then a checkpoint can
 * copy the whole WAL into the store and empty it (TRUNCATE is refused
 * while any reader still holds a snapshot in the WAL) */
static void test_lets_snapshot_go(void **state)
{
	struct fixture *f = *state;
	struct catalog_query q = { .q = "haircut", .limit = 5 };
	int log = -1, done = -1, rc = SQLITE_BUSY;

	put(f, "cut4", "Haircut in the park");      /* frames in the WAL */
	for (int i = 0; i < 4; i++)
		assert_int_equal(searcher_submit(f->s, search_job_new(
			(uint64_t)i + 1, &q)), ERR_OK);
	for (struct search_job *j = take_all(f->s, 4), *next; j; j = next) {
		next = j->next;
		search_job_free(j);
	}
	/* the threads keep their snapshots SEARCHER_SNAPSHOT_MS at most;
	 * the checkpoint's busy handler (store.c) waits that long and more
	 * for them: two tries are a margin for a slow machine */
	for (int tries = 0; tries < 2 && rc != SQLITE_OK; tries++) {
		rc = sqlite3_wal_checkpoint_v2(f->db, NULL,
					       SQLITE_CHECKPOINT_TRUNCATE,
					       &log, &done);
		assert_true(rc == SQLITE_OK || rc == SQLITE_BUSY);
	}
	assert_int_equal(rc, SQLITE_OK);
	assert_int_equal(log, 0);
}

/* a bad query comes back with catalog_search's reason */
static void test_invalid(void **state)
{
	struct fixture *f = *state;
	struct search_job *job = search_job_new(7, &(struct catalog_query){
		.q = "haircut", .after = "!!!" });

	assert_int_equal(searcher_submit(f->s, job), ERR_OK);
	job = take_all(f->s, 1);
	assert_int_equal(job->rc, ERR_INVALID);
	assert_null(job->body);
	assert_non_null(strstr(job->why, "after"));
	search_job_free(job);
}

/* at most SEARCHER_JOBS_MAX jobs are out (queued, running or done and
 * not yet taken); one more is refused with ERR_AGAIN until they are
 * taken, and the refused one stays the caller's */
static void test_limit(void **state)
{
	struct fixture *f = *state;
	struct search_job *extra, *done, *j;

	for (int i = 0; i < SEARCHER_JOBS_MAX; i++)
		assert_int_equal(searcher_submit(f->s, search_job_new(
			(uint64_t)i + 1, &(struct catalog_query){
				.q = "meals" })), ERR_OK);
	extra = search_job_new(9999, &(struct catalog_query){ .q = "x" });
	assert_int_equal(searcher_submit(f->s, extra), ERR_AGAIN);
	done = take_all(f->s, SEARCHER_JOBS_MAX);
	while (done) {
		j = done->next;
		search_job_free(done);
		done = j;
	}
	assert_int_equal(searcher_submit(f->s, extra), ERR_OK);
	search_job_free(take_all(f->s, 1));
}

/* stopping with jobs queued and done drops them without a leak */
static void test_stop_with_jobs(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 50; i++)
		assert_int_equal(searcher_submit(f->s, search_job_new(
			(uint64_t)i + 1, &(struct catalog_query){
				.q = "haircut" })), ERR_OK);
	searcher_stop(&f->s);
	assert_null(f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sees_new_index, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sees_new_head, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lets_snapshot_go, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_jobs, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
