/* test_streamer.c: unit tests of lib/streamer.c, change-stream batches
 * built on a thread of their own.
 *
 * A store file with the catalog schema and a few logged services, a
 * streamer on a connection of its own, and an lws context (no listener)
 * for it to wake. Parts: fixtures; helpers; tests; main. */
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
#include "streamer.h"
#include "store.h"
#include "tmpdir.h"

/* Frames the fixture's streamer holds at most. */
#define TEST_MAX 4

/* ---- fixtures ------------------------------------------------------------ */

struct fixture {
	char path[64];
	sqlite3 *db;                /* the writer's */
	struct catalog *cat;
	struct lws_context *lws;
	struct streamer *s;
	unsigned n;                 /* services logged, seq 1..n */
};

/* put: a live service of origin titled after its number, logged at the
 * next seq. */
static void put(struct fixture *f, const char *origin)
{
	Alliance__V1__Service s = ALLIANCE__V1__SERVICE__INIT;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	char id[32], title[32];
	int applied;

	f->n++;
	snprintf(id, sizeof(id), "s%u", f->n);
	snprintf(title, sizeof(title), "Service %u", f->n);
	s.title = title;
	s.category = "other";
	ch.origin = (char *)origin;
	ch.id = id;
	ch.kind = ALLIANCE__V1__KIND__KIND_SERVICE;
	ch.version = f->n;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
	ch.service = &s;
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_OK);
	assert_true(applied);
}

/* store_conn: another migrated connection to the fixture's store. */
static sqlite3 *store_conn(struct fixture *f)
{
	sqlite3 *db = catalog_store_conn(f->path);

	assert_non_null(db);
	return db;
}

static int setup(void **state)
{
	struct lws_context_creation_info info;
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	int fd;

	log_init("test_streamer", LOG_WARN);
	snprintf(f->path, sizeof(f->path), "/tmp/test_streamer_XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	f->db = store_conn(f);
	assert_int_equal(catalog_open(f->db, &f->cat), ERR_OK);
	for (int i = 0; i < 12; i++)
		put(f, i % 3 ? "ab" : "cd");
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	f->lws = lws_create_context(&info);
	assert_non_null(f->lws);
	assert_int_equal(streamer_start(store_conn(f), f->lws, TEST_MAX, &f->s,
					err, sizeof(err)), ERR_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	streamer_free(&f->s);
	assert_null(f->s);
	lws_context_destroy(f->lws);
	catalog_close(&f->cat);
	store_close(&f->db);
	store_files_unlink(f->path);
	free(f);
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

/* take_all: collect built jobs until n came back (the thread is quick);
 * returns them linked by next, in the order they came. */
static struct stream_job *take_all(struct streamer *s, int n)
{
	struct stream_job *head = NULL, **tail = &head;
	int got = 0;

	for (int tries = 0; got < n && tries < 5000; tries++) {
		struct stream_job *j = streamer_take_done(s);

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

/* free_all: free a list of jobs, releasing each one's frame. */
static void free_all(struct streamer *s, struct stream_job *j)
{
	while (j) {
		struct stream_job *next = j->next;

		stream_job_free(j);
		streamer_release(s);
		j = next;
	}
}

/* batch: a batch of at most n after after, origin skip passed over. */
static struct link_batch batch(uint64_t after, size_t n, const char *skip)
{
	return (struct link_batch){ .after = after, .batch = n,
				    .bytes = LIMIT_BATCH_BYTES,
				    .skip_origin = skip,
				    .max_kind = ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT };
}

/* ---- tests --------------------------------------------------------------- */

/* Every job comes back once, for its owner and serial, with the very
 * bytes link_stream_build makes of its batch on the writer's connection;
 * the owner and the origin to skip were copied. */
static void test_frames_as_built_here(void **state)
{
	struct fixture *f = *state;
	char owner[32], skip[8] = "cd";
	struct stream_job *done, *j;
	int seen[TEST_MAX] = { 0 };

	for (int i = 0; i < TEST_MAX; i++) {
		struct link_batch b = batch((uint64_t)i * 3, 3, skip);

		snprintf(owner, sizeof(owner), "node-%d", i);
		assert_int_equal(streamer_submit(f->s, owner, 100 + i, &b),
				 ERR_OK);
	}
	memset(skip, 'x', sizeof(skip) - 1);  /* the jobs own their copies */
	memset(owner, 'x', sizeof(owner) - 1);
	done = take_all(f->s, TEST_MAX);
	for (j = done; j; j = j->next) {
		int i = (int)j->serial - 100;
		char name[32];
		struct link_batch b = batch((uint64_t)i * 3, 3, "cd");
		struct link_frame here;

		assert_true(i >= 0 && i < TEST_MAX && !seen[i]);
		seen[i] = 1;
		snprintf(name, sizeof(name), "node-%d", i);
		assert_string_equal(j->owner, name);
		assert_int_equal(j->rc, ERR_OK);
		assert_int_equal(link_stream_build(f->cat, &b, &here), ERR_OK);
		assert_int_equal(j->frame.last, here.last);
		assert_int_equal(j->frame.len, here.len);
		assert_memory_equal(j->frame.buf + LINK_PRE,
				    here.buf + LINK_PRE, here.len);
		free(here.buf);
	}
	free_all(f->s, done);
}

/* A record logged after the start is in the next batch built: the
 * thread reads what the writer committed. */
static void test_sees_new_records(void **state)
{
	struct fixture *f = *state;
	struct link_batch b = batch(12, 10, NULL);
	struct stream_job *j;
	Frame *fr = NULL;
	char why[200];

	assert_int_equal(streamer_submit(f->s, "ab", 1, &b), ERR_OK);
	j = take_all(f->s, 1);
	assert_int_equal(j->frame.last, 12);    /* nothing after 12: empty */
	free_all(f->s, j);
	put(f, "ab");
	assert_int_equal(streamer_submit(f->s, "ab", 2, &b), ERR_OK);
	j = take_all(f->s, 1);
	assert_int_equal(j->frame.last, 13);
	assert_int_equal(wire_decode(j->frame.buf + LINK_PRE, j->frame.len,
				     LIMIT_BATCH_BYTES, &fr, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(fr->changes->n_changes, 1);
	assert_string_equal(fr->changes->changes[0]->id, "s13");
	assert_int_equal(fr->changes->head, 13);
	wire_free(&fr);
	free_all(f->s, j);
}

/* At most TEST_MAX frames are held from submit to release: one more is
 * refused (ERR_AGAIN: the caller builds it itself) even once they are
 * built and taken, until one is released. */
static void test_limit(void **state)
{
	struct fixture *f = *state;
	struct link_batch b = batch(0, 5, NULL);
	struct stream_job *done;

	for (int i = 0; i < TEST_MAX; i++)
		assert_int_equal(streamer_submit(f->s, "ab", (uint64_t)i, &b),
				 ERR_OK);
	assert_int_equal(streamer_submit(f->s, "ab", 99, &b), ERR_AGAIN);
	done = take_all(f->s, TEST_MAX);
	assert_int_equal(streamer_submit(f->s, "ab", 99, &b), ERR_AGAIN);
	streamer_release(f->s);
	assert_int_equal(streamer_submit(f->s, "ab", 99, &b), ERR_OK);
	assert_int_equal(streamer_submit(f->s, "ab", 100, &b), ERR_AGAIN);
	free_all(f->s, take_all(f->s, 1));
	/* TEST_MAX taken, one released already */
	free_all(f->s, done->next);
	stream_job_free(done);
}

/* Bad input is refused and holds nothing: an owner or an origin to skip
 * longer than a community id. */
static void test_bad_names(void **state)
{
	struct fixture *f = *state;
	char longer[LIMIT_COMMUNITY_ID + 2];
	struct link_batch b = batch(0, 5, longer);

	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(streamer_submit(f->s, longer, 1, &b), ERR_INVALID);
	assert_int_equal(streamer_submit(f->s, "ab", 1, &b), ERR_INVALID);
	for (int i = 0; i < TEST_MAX; i++)      /* nothing was held */
		assert_int_equal(streamer_submit(f->s, "ab", 1,
			&(struct link_batch){ .after = 0, .batch = 1 }),
			ERR_OK);
	free_all(f->s, take_all(f->s, TEST_MAX));
}

/* Stopping with jobs queued and built drops them without a leak; a
 * frame taken before may still be released, and nothing is taken after;
 * a stopped streamer takes no job. */
static void test_stop_with_jobs(void **state)
{
	struct fixture *f = *state;
	struct link_batch b = batch(0, 12, NULL);
	struct stream_job *first;

	assert_int_equal(streamer_submit(f->s, "ab", 1, &b), ERR_OK);
	first = take_all(f->s, 1);
	for (int i = 1; i < TEST_MAX; i++)
		assert_int_equal(streamer_submit(f->s, "ab", 1, &b), ERR_OK);
	streamer_stop(f->s);
	assert_null(streamer_take_done(f->s));
	assert_int_equal(streamer_submit(f->s, "ab", 1, &b), ERR_FAIL);
	free_all(f->s, first);
	streamer_free(&f->s);
	assert_null(f->s);
	assert_int_equal(streamer_submit(NULL, "ab", 1, &b), ERR_FAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_frames_as_built_here,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sees_new_records, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_jobs, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
