/* test_catalog.c: unit tests of lib/catalog.c, the records, log, search
 * and JSON of services and announcements.
 *
 * Each test opens a fresh in-memory store through store_open with
 * catalog_schema_v1 to v4 as its migrations (so the tokenizer is the one
 * every daemon gets) and a catalog on it, and drives it only through the
 * catalog's functions. Applying only queues the search index's work:
 * search() runs catalog_index_pending first, as the daemons' indexer
 * thread would have.
 *
 * Parts, in order: fixtures; helpers (services from JSON, applying,
 * searching); records and the version rule; the log; search; JSON;
 * announcements; a timing of 10,000 inserts; main. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "catalog_fixture.h"
#include "catalog_sets.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "store.h"
#include "tmpdir.h"

/* ---- fixtures --------------------------------------------------------- */


static int setup(void **state)
{
	*state = catalog_fixture_open("test_catalog");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct catalog_fixture *f = *state;

	catalog_close(&f->cat);
	assert_null(f->cat);
	catalog_fixture_close(f);
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

/* service: a Service from a JSON text that must validate. */
static Alliance__V1__Service *service(const char *text)
{
	Alliance__V1__Service *s = NULL;
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	char why[256] = "";

	if (!j)
		fail_msg("bad test JSON: %s: %s", text, jerr.text);
	if (catalog_service_from_json(j, &s, why, sizeof(why)) != ERR_OK)
		fail_msg("%s: %s", text, why);
	json_decref(j);
	return s;
}

/* put: apply a service change (body from JSON text, NULL: tombstone);
 * returns whether it applied. Takes nothing from the caller. */
static int put(struct catalog_fixture *f, const char *origin, const char *id,
	       uint64_t version, const char *json, int log)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	int applied = -1;

	ch.origin = (char *)origin;
	ch.id = (char *)id;
	ch.kind = ALLIANCE__V1__KIND__KIND_SERVICE;
	ch.version = version;
	if (json) {
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
		ch.service = service(json);
	} else {
		ch.deleted = 1;
	}
	assert_int_equal(catalog_apply(f->cat, &ch, log, &applied), ERR_OK);
	if (ch.service)
		alliance__v1__service__free_unpacked(ch.service, NULL);
	return applied;
}

/* svc: a JSON service text with title, description, category. */
static const char *svc(char *buf, size_t len, const char *title,
		       const char *description, const char *category,
		       const char *extra)
{
	snprintf(buf, len, "{\"title\":\"%s\",\"description\":\"%s\","
		 "\"category\":\"%s\"%s%s}", title, description, category,
		 extra ? "," : "", extra ? extra : "");
	return buf;
}

/* index_all: bring the search index up to date (the indexer thread's
 * work), in chunks of 100 as one transaction; returns the rows done. */
static size_t index_all(struct catalog_fixture *f)
{
	size_t done, total = 0;
	int own = sqlite3_get_autocommit(f->db);

	if (own)
		assert_int_equal(store_exec(f->db, "BEGIN IMMEDIATE"), ERR_OK);
	do {
		assert_int_equal(catalog_index_pending(f->cat, 100, &done),
				 ERR_OK);
		total += done;
	} while (done == 100);
	if (own)
		assert_int_equal(store_exec(f->db, "COMMIT"), ERR_OK);
	assert_true(catalog_index_idle(f->cat));
	return total;
}

/* search_json: catalog_search with its answer parsed into *out (NULL on
 * an error), which must be one JSON text of the length given. */
static int search_json(struct catalog *cat, const struct catalog_query *q,
		       json_t **out, char *why, size_t whylen)
{
	char *body = NULL;
	size_t len = 0;
	int rc = catalog_search(cat, q, &body, &len, why, whylen);

	*out = NULL;
	if (rc == ERR_OK) {
		assert_int_equal(strlen(body), len);
		*out = json_loadb(body, len, 0, NULL);
		assert_non_null(*out);
	} else {
		assert_null(body);
	}
	free(body);
	return rc;
}

static json_t *search(struct catalog_fixture *f, const struct catalog_query *q)
{
	json_t *out = NULL;
	char why[256] = "";
	int rc;

	index_all(f);
	rc = search_json(f->cat, q, &out, why, sizeof(why));

	if (rc != ERR_OK)
		fail_msg("search q=%s: %s (%s)", q->q ? q->q : "-",
			 err_name(rc), why);
	return out;
}

static json_int_t total_of(json_t *res)
{
	return json_integer_value(json_object_get(res, "total"));
}

static int exact_of(json_t *res)
{
	return json_is_true(json_object_get(res, "total_exact"));
}

static size_t items_of(json_t *res)
{
	return json_array_size(json_object_get(res, "items"));
}

static const char *item_id(json_t *res, size_t i)
{
	return json_string_value(json_object_get(
		json_array_get(json_object_get(res, "items"), i), "id"));
}

/* found: how many services the text q finds (total). */
static json_int_t found(struct catalog_fixture *f, const char *q)
{
	struct catalog_query cq = { .q = q, .limit = 100 };
	json_t *res = search(f, &cq);
	json_int_t n = total_of(res);

	assert_int_equal((json_int_t)items_of(res), n < 100 ? n : 100);
	json_decref(res);
	return n;
}

/* query_int: the integer sql (one parameter, arg) reads, or -1. */
static int64_t query_int(struct catalog_fixture *f, const char *sql,
			 const char *arg)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* fts_rows: rows of service_fts matching q (raw FTS5 MATCH). */
static int fts_rows(struct catalog_fixture *f, const char *q)
{
	return (int)query_int(f, "SELECT count(*) FROM service_fts"
			      " WHERE service_fts MATCH ?1", q);
}

/* ---- records and the version rule -------------------------------------- */

static void test_version_rule(void **state)
{
	struct catalog_fixture *f = *state;
	Change *got = NULL;
	char b[512];

	assert_int_equal(put(f, "badaguan", "s1", 2, svc(b, sizeof(b),
			 "Home haircut", "v2", "elderly-care", NULL), 1), 1);
	assert_int_equal(put(f, "badaguan", "s1", 1, svc(b, sizeof(b),
			 "Older", "v1", "other", NULL), 1), 0);
	assert_int_equal(put(f, "badaguan", "s1", 2, svc(b, sizeof(b),
			 "Same version", "v2b", "other", NULL), 1), 0);
	assert_int_equal(catalog_get(f->cat, "badaguan",
				     ALLIANCE__V1__KIND__KIND_SERVICE, "s1",
				     &got), ERR_OK);
	assert_string_equal(got->service->title, "Home haircut");
	assert_int_equal(got->version, 2);
	catalog_change_free(&got);
	assert_null(got);

	assert_int_equal(put(f, "badaguan", "s1", 3, svc(b, sizeof(b),
			 "Home haircut at your door", "v3", "elderly-care",
			 NULL), 1), 1);
	assert_int_equal(found(f, "door"), 1);
	assert_int_equal(found(f, "older"), 0);

	/* a tombstone, then an older live version: stays deleted */
	assert_int_equal(put(f, "badaguan", "s1", 4, NULL, 1), 1);
	assert_int_equal(put(f, "badaguan", "s1", 3, svc(b, sizeof(b),
			 "Home haircut at your door", "v3", "elderly-care",
			 NULL), 1), 0);
	assert_int_equal(catalog_get(f->cat, "badaguan",
				     ALLIANCE__V1__KIND__KIND_SERVICE, "s1",
				     &got), ERR_OK);
	assert_true(got->deleted);
	assert_int_equal(got->body_case, ALLIANCE__V1__CHANGE__BODY__NOT_SET);
	assert_int_equal(got->version, 4);
	catalog_change_free(&got);
	assert_int_equal(found(f, "door"), 0);      /* left the index */
	assert_int_equal(found(f, "haircut"), 0);
	assert_int_equal(found(f, "养老"), 0);
	assert_int_equal(catalog_count(f->cat, NULL,
				       ALLIANCE__V1__KIND__KIND_SERVICE), 0);
	assert_int_equal(catalog_max_version(f->cat, "badaguan"), 4);

	/* a newer live version brings it back */
	assert_int_equal(put(f, "badaguan", "s1", 5, svc(b, sizeof(b),
			 "Back again", "v5", "other", NULL), 1), 1);
	assert_int_equal(found(f, "back"), 1);
	assert_int_equal(catalog_count(f->cat, "badaguan",
				       ALLIANCE__V1__KIND__KIND_SERVICE), 1);

	assert_int_equal(catalog_get(f->cat, "badaguan",
				     ALLIANCE__V1__KIND__KIND_SERVICE, "nope",
				     &got), ERR_NOTFOUND);
	assert_null(got);
}

static void test_apply_rejects(void **state)
{
	struct catalog_fixture *f = *state;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	int applied = -1;

	ch.origin = "badaguan";
	ch.id = "s1";
	ch.version = 1;
	ch.kind = ALLIANCE__V1__KIND__KIND_SERVICE;
	/* live without a body */
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_INVALID);
	assert_int_equal(applied, 0);
	ch.kind = ALLIANCE__V1__KIND__KIND_POLL;
	ch.deleted = 1;
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_INVALID);
	ch.kind = ALLIANCE__V1__KIND__KIND_SERVICE;
	ch.version = 0;
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_INVALID);
	ch.version = 1;
	ch.origin = "Bad Origin";
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_INVALID);
	ch.origin = "badaguan";
	ch.id = "has space";
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_INVALID);
	assert_int_equal(catalog_log_head(f->cat), 0);
}

/* A record over LIMIT_CHANGE_BYTES never enters the log (it would stop
 * every stream that reaches it); unlogged, it is a replica's business. */
static void test_apply_refuses_to_log_too_big(void **state)
{
	struct catalog_fixture *f = *state;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Announcement a = ALLIANCE__V1__ANNOUNCEMENT__INIT;
	char *body = malloc(LIMIT_CHANGE_BYTES + 1), why[200];
	int applied = 1;

	assert_non_null(body);
	memset(body, 'x', LIMIT_CHANGE_BYTES);
	body[LIMIT_CHANGE_BYTES] = '\0';
	ch.origin = "badaguan";
	ch.id = "big";
	ch.kind = ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT;
	ch.version = 1;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT;
	ch.announcement = &a;
	a.title = "Big";
	a.body = body;
	assert_int_equal(catalog_size_check(&ch, why, sizeof(why)),
			 ERR_TOOBIG);
	assert_non_null(strstr(why, "record big:"));
	assert_int_equal(catalog_check(&ch, why, sizeof(why)), ERR_INVALID);
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_TOOBIG);
	assert_int_equal(applied, 0);
	assert_int_equal(catalog_log_head(f->cat), 0);
	assert_int_equal(catalog_count(f->cat, NULL,
				       ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT),
			 0);
	/* just under: taken and logged */
	body[LIMIT_CHANGE_BYTES - 64] = '\0';
	assert_int_equal(catalog_size_check(&ch, why, sizeof(why)), ERR_OK);
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_OK);
	assert_int_equal(applied, 1);
	assert_int_equal(catalog_log_head(f->cat), 1);
	free(body);
}

/* the sole writer's log head, kept in memory, still follows every write:
 * a commit, a rolled-back write (read inside the transaction first), a
 * purge and a write of another table; a failing cache would answer an
 * old head (or one that was rolled back) */
static void test_log_head_sole_writer(void **state)
{
	struct catalog_fixture *f = *state;
	uint64_t purged = 0;
	char b[256];

	catalog_sole_writer(f->cat);
	assert_int_equal(catalog_log_head(f->cat), 0);
	put(f, "badaguan", "a", 1, svc(b, sizeof(b), "A", "x", "other", NULL),
	    1);
	assert_int_equal(catalog_log_head(f->cat), 1);
	assert_int_equal(catalog_log_head(f->cat), 1);      /* from memory */
	assert_int_equal(store_exec(f->db, "BEGIN IMMEDIATE"), ERR_OK);
	put(f, "badaguan", "b", 1, svc(b, sizeof(b), "B", "x", "other", NULL),
	    1);
	assert_int_equal(catalog_log_head(f->cat), 2);      /* in it */
	assert_int_equal(store_exec(f->db, "ROLLBACK"), ERR_OK);
	assert_int_equal(catalog_log_head(f->cat), 1);
	assert_int_equal(store_exec(f->db, "BEGIN IMMEDIATE"), ERR_OK);
	put(f, "badaguan", "c", 1, svc(b, sizeof(b), "C", "x", "other", NULL),
	    1);
	assert_int_equal(store_exec(f->db, "COMMIT"), ERR_OK);
	assert_int_equal(catalog_log_head(f->cat), 2);  /* b's seq again */
	put(f, "badaguan", "c", 2, NULL, 1);
	assert_int_equal(catalog_log_head(f->cat), 3);
	assert_int_equal(catalog_purge_tombstones(f->cat, 3, &purged),
			 ERR_OK);
	assert_int_equal(purged, 1);
	assert_int_equal(catalog_log_head(f->cat), 1);
	/* a write of the log by SQL of its own, not through the catalog */
	assert_int_equal(store_exec(f->db, "DELETE FROM catalog_log"), ERR_OK);
	assert_int_equal(catalog_log_head(f->cat), 0);
}

static void test_max_version_and_counts(void **state)
{
	struct catalog_fixture *f = *state;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Announcement a = ALLIANCE__V1__ANNOUNCEMENT__INIT;
	char b[512];
	int applied;

	assert_int_equal(catalog_max_version(f->cat, "zhuhai-road"), 0);
	put(f, "zhuhai-road", "a", 3, svc(b, sizeof(b), "A", "", "other",
					   NULL), 0);
	put(f, "zhuhai-road", "b", 7, svc(b, sizeof(b), "B", "", "other",
					   NULL), 0);
	put(f, "badaguan", "c", 9, svc(b, sizeof(b), "C", "", "other", NULL),
	    0);
	ch.origin = "zhuhai-road";
	ch.id = "n1";
	ch.kind = ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT;
	ch.version = 11;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT;
	ch.announcement = &a;
	a.title = "Water off";
	assert_int_equal(catalog_apply(f->cat, &ch, 0, &applied), ERR_OK);
	assert_int_equal(applied, 1);
	assert_int_equal(catalog_max_version(f->cat, "zhuhai-road"), 11);
	assert_int_equal(catalog_max_version(f->cat, "badaguan"), 9);
	assert_int_equal(catalog_count(f->cat, NULL,
				       ALLIANCE__V1__KIND__KIND_SERVICE), 3);
	assert_int_equal(catalog_count(f->cat, "zhuhai-road",
				       ALLIANCE__V1__KIND__KIND_SERVICE), 2);
	assert_int_equal(catalog_count(f->cat, "zhuhai-road",
				       ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT),
			 1);
	assert_int_equal(catalog_log_head(f->cat), 0);  /* log = 0 */
}

/* ---- the log ------------------------------------------------------------ */

static void test_log(void **state)
{
	struct catalog_fixture *f = *state;
	Change **batch = NULL;
	size_t n = 0;
	uint64_t last = 0;
	char b[512];

	assert_int_equal(catalog_log_batch(f->cat, 0, NULL, 10, &batch, &n,
					   &last), ERR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(last, 0);

	put(f, "badaguan", "x", 1, svc(b, sizeof(b), "X1", "", "other", NULL),
	    1);                                                  /* seq 1 */
	put(f, "zhuhai-road", "y", 1, svc(b, sizeof(b), "Y1", "", "other",
					   NULL), 1);            /* seq 2 */
	put(f, "badaguan", "z", 2, svc(b, sizeof(b), "Z2", "", "other", NULL),
	    1);                                                  /* seq 3 */
	put(f, "badaguan", "x", 4, svc(b, sizeof(b), "X4", "", "other", NULL),
	    1);                                /* x moves from 1 to seq 4 */
	put(f, "badaguan", "x", 3, svc(b, sizeof(b), "X3", "", "other", NULL),
	    1);                                /* older: no new seq */
	assert_int_equal(catalog_log_head(f->cat), 4);

	assert_int_equal(catalog_log_batch(f->cat, 0, NULL, 10, &batch, &n,
					   &last), ERR_OK);
	assert_int_equal(n, 3);
	assert_int_equal(last, 4);
	assert_int_equal(batch[0]->seq, 2);
	assert_string_equal(batch[0]->id, "y");
	assert_int_equal(batch[1]->seq, 3);
	assert_string_equal(batch[1]->id, "z");
	assert_int_equal(batch[2]->seq, 4);
	assert_string_equal(batch[2]->id, "x");
	assert_int_equal(batch[2]->version, 4);
	assert_string_equal(batch[2]->service->title, "X4");
	catalog_batch_free(&batch, n);
	assert_null(batch);

	/* limit: the first two, last at the second */
	assert_int_equal(catalog_log_batch(f->cat, 0, NULL, 2, &batch, &n,
					   &last), ERR_OK);
	assert_int_equal(n, 2);
	assert_int_equal(last, 3);
	catalog_batch_free(&batch, n);

	/* skip_origin: badaguan's own entries are passed over */
	assert_int_equal(catalog_log_batch(f->cat, 0, "badaguan", 10, &batch,
					   &n, &last), ERR_OK);
	assert_int_equal(n, 1);
	assert_string_equal(batch[0]->origin, "zhuhai-road");
	assert_int_equal(last, 4);
	catalog_batch_free(&batch, n);
	assert_int_equal(catalog_log_batch(f->cat, 2, "badaguan", 10, &batch,
					   &n, &last), ERR_OK);
	assert_int_equal(n, 0);
	assert_null(batch);
	assert_int_equal(last, 4);             /* advanced past skipped */
	assert_int_equal(catalog_log_batch(f->cat, 4, NULL, 10, &batch, &n,
					   &last), ERR_OK);
	assert_int_equal(n, 0);
	assert_int_equal(last, 4);

	/* a tombstone travels as deleted with no body, at a new seq */
	put(f, "zhuhai-road", "y", 2, NULL, 1);
	assert_int_equal(catalog_log_batch(f->cat, 4, NULL, 10, &batch, &n,
					   &last), ERR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(last, 5);
	assert_true(batch[0]->deleted);
	assert_int_equal(batch[0]->version, 2);
	assert_int_equal(batch[0]->body_case,
			 ALLIANCE__V1__CHANGE__BODY__NOT_SET);
	catalog_batch_free(&batch, n);
}

/* test_log_raise_and_again: raising the log's seq (an empty log, one
 * with entries, never lower), and logging a record again at its version */
static void test_log_raise_and_again(void **state)
{
	struct catalog_fixture *f = *state;
	Change **batch = NULL;
	size_t n = 0;
	uint64_t last = 0;
	char b[512];

	assert_int_equal(catalog_log_raise(f->cat, 10), ERR_OK);
	assert_int_equal(catalog_log_head(f->cat), 0);   /* nothing moved */
	put(f, "badaguan", "x", 1, svc(b, sizeof(b), "X1", "", "other", NULL),
	    1);
	assert_int_equal(catalog_log_head(f->cat), 11);
	assert_int_equal(catalog_log_raise(f->cat, 5), ERR_OK);  /* lower */
	put(f, "badaguan", "y", 2, svc(b, sizeof(b), "Y2", "", "other", NULL),
	    1);
	assert_int_equal(catalog_log_head(f->cat), 12);
	assert_int_equal(catalog_log_raise(f->cat, 40), ERR_OK);
	assert_int_equal(catalog_log_raise(f->cat, (uint64_t)INT64_MAX + 1),
			 ERR_INVALID);

	/* x again: a new seq above the raise, the same version and body */
	assert_int_equal(catalog_log_batch(f->cat, 10, NULL, 1, &batch, &n,
					   &last), ERR_OK);
	assert_int_equal(n, 1);
	assert_string_equal(batch[0]->id, "x");
	assert_int_equal(catalog_log_again(f->cat, batch[0]), ERR_OK);
	catalog_batch_free(&batch, n);
	assert_int_equal(catalog_log_batch(f->cat, 12, NULL, 10, &batch, &n,
					   &last), ERR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(batch[0]->seq, 41);
	assert_string_equal(batch[0]->id, "x");
	assert_int_equal(batch[0]->version, 1);
	assert_string_equal(batch[0]->service->title, "X1");
	catalog_batch_free(&batch, n);
	/* its old entry is gone: one entry per record */
	assert_int_equal(catalog_log_batch(f->cat, 0, NULL, 10, &batch, &n,
					   &last), ERR_OK);
	assert_int_equal(n, 2);
	assert_string_equal(batch[0]->id, "y");
	catalog_batch_free(&batch, n);
}

/* ---- search ------------------------------------------------------------- */

static void load_sample(struct catalog_fixture *f)
{
	char b[1024];

	put(f, "badaguan", "haircut", 1, svc(b, sizeof(b), "上门理发服务",
	    "为行动不便的老人提供上门理发。Home haircut for residents "
	    "with mobility problems.", "elderly-care",
	    "\"delivery\":\"home-visit\",\"fee\":\"免费\""), 0);
	put(f, "badaguan", "meals", 2, svc(b, sizeof(b), "老年助餐送餐",
	    "Elderly meal delivery, 10 yuan a meal", "elderly-care",
	    "\"delivery\":[\"home-visit\",\"walk-in\"],\"fee\":\"10 元\""), 0);
	put(f, "zhuhai-road", "pregnancy", 3, svc(b, sizeof(b),
	    "Free pregnancy test", "免费孕检，社区卫生服务中心",
	    "health-maternity", "\"delivery\":[\"walk-in\"]"), 0);
	put(f, "zhuhai-road", "permit", 4, svc(b, sizeof(b), "Permit desk",
	    "Residence permits and certificates", "legal-civil",
	    "\"delivery\":[\"walk-in\",\"online\"],\"fee\":\"5 元\""), 0);
	put(f, "zhongshan-road", "wifi", 5, svc(b, sizeof(b), "WiFi免费上网",
	    "Free internet in the library", "education-culture",
	    "\"status\":\"temporarily-closed\",\"delivery\":\"walk-in\""), 0);
	put(f, "zhongshan-road", "old", 6, svc(b, sizeof(b), "Old haircut "
	    "corner", "closed for good", "elderly-care",
	    "\"status\":\"inactive\""), 0);
}

static void test_search_words(void **state)
{
	struct catalog_fixture *f = *state;

	load_sample(f);
	assert_int_equal(found(f, "理发"), 1);
	assert_int_equal(found(f, "上门理发"), 1);
	assert_int_equal(found(f, "发"), 1);
	assert_int_equal(found(f, "剪发"), 0);
	assert_int_equal(found(f, "haircut"), 1);    /* inactive hidden */
	assert_int_equal(found(f, "haircuts"), 1);
	assert_int_equal(found(f, "HAIRCUT residents"), 1);
	assert_int_equal(found(f, "wifi"), 1);       /* temporarily closed */
	assert_int_equal(found(f, "免费"), 2);
	assert_int_equal(found(f, "养老"), 2);       /* category words */
	assert_int_equal(found(f, "elderly"), 2);
	assert_int_equal(found(f, "法律"), 1);
	assert_int_equal(found(f, "pregnancy 孕检"), 1);
}

static void test_search_syntax_is_text(void **state)
{
	struct catalog_fixture *f = *state;
	static const char *const nasty[] = {
		"\"", "haircut\"", "*", "haircut*", "NEAR(haircut home)",
		"\" OR 1=1 --", "'; DROP TABLE service; --", "title:x",
		"title:haircut", "(haircut", "haircut)", "()", "AND", "OR NOT",
		"-", "^haircut", "{title}:haircut", "\\", "%", "　",
	};

	load_sample(f);
	for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++)
		json_decref(search(f, &(struct catalog_query){ .q = nasty[i],
				   .limit = 5 }));
	assert_int_equal(found(f, "\" OR 1=1 --"), 0);
	assert_int_equal(found(f, "title:haircut"), 0);
	assert_int_equal(found(f, "(haircut"), 1);
	/* no searchable text: lists everything, like no q */
	assert_int_equal(found(f, "*"), 5);
	assert_int_equal(catalog_count(f->cat, NULL,
				       ALLIANCE__V1__KIND__KIND_SERVICE), 6);
}

static void test_search_filters(void **state)
{
	struct catalog_fixture *f = *state;
	struct catalog_query q = { .limit = 100 };
	json_t *res;
	char why[256];

	load_sample(f);
	res = search(f, &q);
	assert_int_equal(total_of(res), 5);
	/* newest updated first: same updated time here, then newest row */
	json_decref(res);

	q.category = "elderly-care";
	res = search(f, &q);
	assert_int_equal(total_of(res), 2);
	json_decref(res);

	q.category = NULL;
	q.community = "zhuhai-road";
	res = search(f, &q);
	assert_int_equal(total_of(res), 2);
	json_decref(res);

	q.community = NULL;
	q.delivery = "home-visit";
	res = search(f, &q);
	assert_int_equal(total_of(res), 2);
	json_decref(res);

	q.delivery = "walk-in";
	q.free_only = 1;
	res = search(f, &q);
	assert_int_equal(total_of(res), 2);          /* pregnancy, wifi */
	json_decref(res);

	q.delivery = NULL;
	q.q = "免费";
	res = search(f, &q);
	assert_int_equal(total_of(res), 2);
	json_decref(res);

	q.q = "haircut";
	q.category = "elderly-care";
	q.community = "badaguan";
	q.delivery = "home-visit";
	res = search(f, &q);
	assert_int_equal(total_of(res), 1);
	assert_string_equal(item_id(res, 0), "haircut");
	json_decref(res);

	q.community = "zhuhai-road";
	res = search(f, &q);
	assert_int_equal(total_of(res), 0);
	assert_true(json_is_null(json_object_get(res, "next")));
	json_decref(res);

	/* bad filters name themselves */
	memset(&q, 0, sizeof(q));
	q.category = "food";
	assert_int_equal(search_json(f->cat, &q, &res, why, sizeof(why)),
			 ERR_INVALID);
	assert_non_null(strstr(why, "category"));
	q.category = NULL;
	q.delivery = "drone";
	assert_int_equal(search_json(f->cat, &q, &res, why, sizeof(why)),
			 ERR_INVALID);
	assert_non_null(strstr(why, "delivery"));
	q.delivery = NULL;
	q.community = "NOT VALID";
	assert_int_equal(search_json(f->cat, &q, &res, why, sizeof(why)),
			 ERR_INVALID);
	assert_non_null(strstr(why, "community"));
}

/* walk: follow next from the first page and count each id once (total,
 * on the first page, is expect);
 * returns the number of pages and fails on a repeated id. */
static int walk(struct catalog_fixture *f, const char *text, int limit,
		int expect)
{
	struct catalog_query q = { .q = text, .limit = limit };
	char seen[256][16];
	char *after = NULL;
	int n = 0, pages = 0;

	for (;;) {
		json_t *res, *next;

		q.after = after;
		res = search(f, &q);
		/* total on the first page only */
		if (pages == 0)
			assert_int_equal(total_of(res), expect);
		else
			assert_null(json_object_get(res, "total"));
		for (size_t i = 0; i < items_of(res); i++) {
			const char *id = item_id(res, i);

			for (int k = 0; k < n; k++)
				if (strcmp(seen[k], id) == 0)
					fail_msg("%s seen twice", id);
			assert_true(n < 256);
			snprintf(seen[n++], sizeof(seen[0]), "%s", id);
		}
		pages++;
		next = json_object_get(res, "next");
		free(after);
		after = json_is_string(next) ?
			strdup(json_string_value(next)) : NULL;
		json_decref(res);
		if (!after)
			break;
		assert_true(pages < 100);
	}
	assert_int_equal(n, expect);
	return pages;
}

static void test_search_pages(void **state)
{
	struct catalog_fixture *f = *state;
	struct catalog_query q = { .limit = 10 };
	static const char *const garbled[] = {
		"!!!", "a", "abc$", "eA", "bzk5OTk", "aw", "azEyMy4w",
		"bzA", "bz0x", "b-1", "azEuMg==", "aXhhYmM", "azEyMw",
	};
	json_t *res = NULL;
	char b[512], id[16], why[256];

	for (int i = 0; i < 57; i++) {
		snprintf(id, sizeof(id), "s%02d", i);
		/* a few share an updated time, so the key needs the rid */
		snprintf(b, sizeof(b), "{\"title\":\"Service %d haircut\","
			 "\"category\":\"other\",\"updated\":%d}", i,
			 1700000000 + i / 3);
		put(f, "badaguan", id, (uint64_t)i + 1, b, 0);
	}
	assert_int_equal(walk(f, NULL, 10, 57), 6);
	assert_int_equal(walk(f, "haircut", 10, 57), 6);
	assert_int_equal(walk(f, "haircut", 57, 57), 1);
	assert_int_equal(walk(f, NULL, 100, 57), 1);
	assert_int_equal(walk(f, NULL, 1, 57), 57);

	/* newest first */
	res = search(f, &q);
	assert_string_equal(item_id(res, 0), "s56");
	assert_string_equal(item_id(res, 1), "s55");
	json_decref(res);

	for (size_t i = 0; i < sizeof(garbled) / sizeof(garbled[0]); i++) {
		q.after = garbled[i];
		res = NULL;
		if (search_json(f->cat, &q, &res, why, sizeof(why)) !=
		    ERR_INVALID)
			fail_msg("after '%s' accepted", garbled[i]);
		assert_null(res);
		assert_non_null(strstr(why, "after"));
	}
	/* a ranked search's token does not page a listing, and back */
	q.q = "haircut";
	q.after = NULL;
	res = search(f, &q);
	q.q = NULL;
	q.after = json_string_value(json_object_get(res, "next"));
	assert_int_equal(search_json(f->cat, &q, &(json_t *){NULL}, why,
					sizeof(why)), ERR_INVALID);
	json_decref(res);
}

static void test_search_ranking(void **state)
{
	struct catalog_fixture *f = *state;
	struct catalog_query q = { .q = "haircut", .limit = 10 };
	json_t *res;
	char b[512];

	/* the description match goes in first, so row order cannot help */
	put(f, "badaguan", "desc", 1, svc(b, sizeof(b), "Residents' corner",
	    "We also offer a haircut on Tuesdays among many other things "
	    "for residents of the community", "neighbourhood-life", NULL), 0);
	put(f, "badaguan", "title", 2, svc(b, sizeof(b), "Haircut at home",
	    "Barbers visit residents", "elderly-care", NULL), 0);
	res = search(f, &q);
	assert_int_equal(total_of(res), 2);
	assert_string_equal(item_id(res, 0), "title");
	assert_string_equal(item_id(res, 1), "desc");
	json_decref(res);

	/* and the title match first when it is the older row */
	put(f, "badaguan", "newer-desc", 5, svc(b, sizeof(b), "Barbershop "
	    "news", "A haircut costs less on Mondays", "other", NULL), 0);
	res = search(f, &q);
	assert_int_equal(total_of(res), 3);
	assert_string_equal(item_id(res, 0), "title");
	assert_string_equal(item_id(res, 1), "newer-desc");  /* newest */
	assert_string_equal(item_id(res, 2), "desc");
	json_decref(res);

	/* every word in the title ranks first; words split between title
	 * and description come after */
	q.q = "haircut home";
	put(f, "badaguan", "split", 6, svc(b, sizeof(b), "Haircut corner",
	    "We come to your home", "other", NULL), 0);
	res = search(f, &q);
	assert_int_equal(total_of(res), 2);
	assert_string_equal(item_id(res, 0), "title");
	assert_string_equal(item_id(res, 1), "split");
	json_decref(res);

	q.q = "理发";
	put(f, "badaguan", "zh-desc", 3, svc(b, sizeof(b), "便民服务",
	    "每周二提供理发等多项便民服务", "neighbourhood-life", NULL), 0);
	put(f, "badaguan", "zh-title", 4, svc(b, sizeof(b), "上门理发",
	    "为老人服务", "elderly-care", NULL), 0);
	res = search(f, &q);
	assert_int_equal(total_of(res), 2);
	assert_string_equal(item_id(res, 0), "zh-title");
	json_decref(res);
}

/* a text search pages through the title tier, then the rest, each row
 * once, without offsets: a service added meanwhile shifts nothing */
static void test_search_tier_pages(void **state)
{
	struct catalog_fixture *f = *state;
	struct catalog_query q = { .q = "haircut", .limit = 7 };
	char b[512], id[16], why[256], *after = NULL;
	int seen = 0, in_title = 1, pages = 0;

	for (int i = 0; i < 50; i++) {
		snprintf(id, sizeof(id), "%c%02d", i % 2 ? 't' : 'd', i);
		put(f, "badaguan", id, 1, svc(b, sizeof(b), i % 2 ?
		    "Haircut here" : "Barber", i % 2 ? "Come in" :
		    "A haircut for anyone", "other", NULL), 0);
	}
	index_all(f);
	do {
		json_t *res = NULL, *next;

		q.after = after;
		assert_int_equal(search_json(f->cat, &q, &res, why,
						sizeof(why)), ERR_OK);
		if (pages == 0) {
			assert_int_equal(total_of(res), 50);
			assert_true(exact_of(res));
		}
		for (size_t i = 0; i < items_of(res); i++) {
			const char *got = item_id(res, i);

			/* every title match before the first other one */
			if (got[0] == 'd')
				in_title = 0;
			else
				assert_true(in_title);
			seen++;
		}
		if (pages++ == 1) {       /* a new title match, mid-walk */
			put(f, "badaguan", "late", 1, svc(b, sizeof(b),
			    "Haircut too", "new", "other", NULL), 0);
			index_all(f);
		}
		next = json_object_get(res, "next");
		free(after);
		after = json_is_string(next) ?
			strdup(json_string_value(next)) : NULL;
		json_decref(res);
	} while (after && pages < 20);
	/* the new row is newer than the page already read: not shown */
	assert_int_equal(seen, 50);
	assert_int_equal(pages, 8);
}

/* total counts up to 1000, then says "more" */
static void test_search_total_cap(void **state)
{
	struct catalog_fixture *f = *state;
	struct catalog_query q = { .limit = 5 };
	char b[256], id[16];
	json_t *res;

	assert_int_equal(store_exec(f->db, "BEGIN"), ERR_OK);
	for (int i = 0; i < 1001; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		put(f, "badaguan", id, 1, svc(b, sizeof(b), "Haircut", "x",
		    "other", NULL), 0);
	}
	assert_int_equal(store_exec(f->db, "COMMIT"), ERR_OK);
	for (int text = 0; text < 2; text++) {
		q.q = text ? "haircut" : NULL;
		res = search(f, &q);
		assert_int_equal(total_of(res), 1000);
		assert_false(exact_of(res));
		assert_int_equal(items_of(res), 5);
		json_decref(res);
	}
	put(f, "badaguan", "s7", 2, NULL, 0);
	for (int text = 0; text < 2; text++) {
		q.q = text ? "haircut" : NULL;
		res = search(f, &q);
		assert_int_equal(total_of(res), 1000);
		assert_true(exact_of(res));
		json_decref(res);
	}
}

/* the index follows writes late: a row deleted, made inactive or moved
 * out of a filter since it was indexed is not shown meanwhile */
static void test_search_index_late(void **state)
{
	struct catalog_fixture *f = *state;
	struct catalog_query q = { .q = "haircut", .limit = 10 };
	char b[256], why[256];
	json_t *res = NULL;

	put(f, "badaguan", "gone", 1, svc(b, sizeof(b), "Haircut A", "x",
	    "other", NULL), 0);
	put(f, "badaguan", "closed", 1, svc(b, sizeof(b), "Haircut B", "x",
	    "other", NULL), 0);
	put(f, "badaguan", "moved", 1, svc(b, sizeof(b), "Haircut C", "x",
	    "other", NULL), 0);
	put(f, "badaguan", "kept", 1, svc(b, sizeof(b), "Haircut D", "x",
	    "other", NULL), 0);
	index_all(f);
	put(f, "badaguan", "gone", 2, NULL, 0);
	put(f, "badaguan", "closed", 2, svc(b, sizeof(b), "Haircut B", "x",
	    "other", "\"status\":\"inactive\""), 0);
	put(f, "badaguan", "moved", 2, svc(b, sizeof(b), "Haircut C", "x",
	    "housing", NULL), 0);
	assert_false(catalog_index_idle(f->cat));
	q.category = "other";
	assert_int_equal(search_json(f->cat, &q, &res, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(items_of(res), 1);
	assert_string_equal(item_id(res, 0), "kept");
	json_decref(res);
	/* once indexed, the index holds live services only */
	res = search(f, &q);
	assert_int_equal(total_of(res), 1);
	json_decref(res);
	assert_int_equal(fts_rows(f, "haircut"), 2);    /* moved, kept */
}

/* the filters are words of the index's facets column; a user's word
 * shaped like one still finds only text */
static void test_search_facet_words(void **state)
{
	struct catalog_fixture *f = *state;
	static const char *const words[] = {
		"feefree", "FEEFREES", "dlv2", "c6f74686572x", "ｃ６ｆ７４６８６５７２ｘ",
		"o6261646167x75616ex",
	};
	char b[256], hex[64];
	json_t *res;

	put(f, "badaguan", "text", 1, svc(b, sizeof(b), "Feefree dlv2 "
	    "c6f74686572x", "o6261646167x75616ex", "housing", NULL), 0);
	put(f, "badaguan", "free", 1, svc(b, sizeof(b), "Clinic", "x",
	    "other", "\"fee\":\"free\",\"delivery\":[\"home-visit\"]"), 0);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		res = search(f, &(struct catalog_query){ .q = words[i],
					.limit = 10 });
		if (total_of(res) != 1 || strcmp(item_id(res, 0), "text"))
			fail_msg("q=%s: %lld found", words[i],
				 (long long)total_of(res));
		json_decref(res);
	}
	/* and the filters themselves find the free one only */
	res = search(f, &(struct catalog_query){ .q = "clinic", .limit = 10,
				.free_only = 1, .delivery = "home-visit",
				.category = "other" });
	assert_int_equal(total_of(res), 1);
	json_decref(res);
	snprintf(hex, sizeof(hex), "clinic feefree");
	res = search(f, &(struct catalog_query){ .q = hex, .limit = 10 });
	assert_int_equal(total_of(res), 0);
	json_decref(res);
}

/* a community filter matches the whole id, not a prefix or a part */
static void test_search_community_whole(void **state)
{
	struct catalog_fixture *f = *state;
	struct catalog_query q = { .q = "haircut", .limit = 10 };
	char b[256];
	json_t *res;

	put(f, "zhuhai-road", "a", 1, svc(b, sizeof(b), "Haircut", "x",
	    "other", NULL), 0);
	put(f, "zhuhai", "b", 1, svc(b, sizeof(b), "Haircut", "x", "other",
	    NULL), 0);
	put(f, "road", "c", 1, svc(b, sizeof(b), "Haircut", "x", "other",
	    NULL), 0);
	static const char *const ids[] = { "zhuhai-road", "zhuhai", "road" };
	for (size_t i = 0; i < 3; i++) {
		q.community = ids[i];
		res = search(f, &q);
		assert_int_equal(total_of(res), 1);
		assert_string_equal(json_string_value(json_object_get(
			json_array_get(json_object_get(res, "items"), 0),
			"community")), ids[i]);
		json_decref(res);
	}
}

/* ---- the sets of search words (catalog_sets.c) ------------------------- */

/* catalog_bits_below finds the highest rid below a bound across words */
static void test_bits_below(void **state)
{
	uint64_t bits[3] = { 0 };

	(void)state;
	assert_int_equal(catalog_bits_below(bits, 3, INT64_MAX), 0);
	bits[0] = UINT64_C(1) << 1 | UINT64_C(1) << 63;
	bits[2] = UINT64_C(1) << 0 | UINT64_C(1) << 63;
	assert_int_equal(catalog_bits_below(bits, 3, INT64_MAX), 191);
	assert_int_equal(catalog_bits_below(bits, 3, 191), 128);
	assert_int_equal(catalog_bits_below(bits, 3, 128), 63);
	assert_int_equal(catalog_bits_below(bits, 3, 64), 63);
	assert_int_equal(catalog_bits_below(bits, 3, 63), 1);
	assert_int_equal(catalog_bits_below(bits, 3, 1), 0);
	assert_int_equal(catalog_bits_below(bits, 0, INT64_MAX), 0);
	assert_int_equal(catalog_bits_count(bits, 3), 4);
}

/* rid_of: the rid of badaguan's service id. */
static int64_t rid_of(struct catalog_fixture *f, const char *id)
{
	int64_t rid = query_int(f, "SELECT rid FROM service WHERE origin ="
				" 'badaguan' AND id = ?1", id);

	assert_true(rid > 0);
	return rid;
}

/* set_of: the set of expr in this search of s (words long), as the only
 * rid in it (0: none, -1: more than one) and their count. */
static int64_t set_of(struct catalog_sets *s, size_t words, const char *expr,
		      int64_t *count)
{
	uint64_t bits[8];
	int64_t top;

	assert_true(words <= 8);
	memset(bits, 0xff, sizeof(bits));
	assert_int_equal(catalog_sets_and(s, expr, bits), ERR_OK);
	*count = catalog_bits_count(bits, words);
	top = catalog_bits_below(bits, words, INT64_MAX);
	return *count > 1 ? -1 : top;
}

/* a set is its expression's matches, whether built, kept or built again
 * after the budget (two sets) made room, and whichever of two connections
 * sharing a cache built it; a new index generation is seen by both, with
 * sets of its own length */
static void test_sets_cache(void **state)
{
	struct catalog_fixture *f = *state;
	static const char *const word[4] = { "alpha", "bravo", "charlie",
					     "delta" };
	struct catalog_sets *s = NULL, *other = NULL;
	size_t words;
	int64_t n;
	char b[256], id[16];

	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		put(f, "badaguan", id, 1, svc(b, sizeof(b), word[i], "x",
		    "other", NULL), 0);
	}
	index_all(f);
	assert_int_equal(catalog_sets_open(f->db, 2 * sizeof(uint64_t), &s),
			 ERR_OK);
	assert_int_equal(catalog_sets_open(f->db, 0, &other), ERR_OK);
	catalog_sets_share(s, other);
	assert_int_equal(catalog_sets_begin(s, &words), ERR_OK);
	assert_int_equal(words, (size_t)rid_of(f, "s3") / 64 + 1);
	assert_int_equal(catalog_sets_begin(other, &words), ERR_OK);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 4; i++) {
			snprintf(id, sizeof(id), "s%d", i);
			assert_int_equal(set_of(round ? other : s, words,
						word[i], &n), rid_of(f, id));
			assert_int_equal(n, 1);
		}
	assert_int_equal(set_of(s, words, "title : \"alpha\" OR bravo", &n),
			 -1);
	assert_int_equal(n, 2);
	/* a malformed expression is an error, not a set */
	assert_int_equal(catalog_sets_and(s, "alpha AND", (uint64_t[1]){ 0 }),
			 ERR_IO);
	/* services indexed later: the set is built again, longer */
	for (int i = 4; i < 200; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		put(f, "badaguan", id, 1, svc(b, sizeof(b), "alpha", "x",
		    "other", NULL), 0);
	}
	index_all(f);
	assert_int_equal(catalog_sets_begin(other, &words), ERR_OK);
	assert_int_equal(words, (size_t)rid_of(f, "s199") / 64 + 1);
	set_of(other, words, "alpha", &n);
	assert_int_equal(n, 197);
	assert_int_equal(catalog_sets_begin(s, &words), ERR_OK);
	assert_int_equal(set_of(s, words, "alpha", &n), -1);
	assert_int_equal(n, 197);
	catalog_sets_close(&s);
	assert_null(s);
	assert_int_equal(set_of(other, words, "bravo", &n), rid_of(f, "s1"));
	catalog_sets_close(&other);
}

/* sets_equal: the set of expr from s and from a fresh cache are the same
 * (words each) */
static void sets_equal(struct catalog_fixture *f, struct catalog_sets *s,
		       size_t words, const char *expr)
{
	struct catalog_sets *fresh = NULL;
	uint64_t a[4], b[4];
	size_t w;

	assert_true(words <= 4);
	assert_int_equal(catalog_sets_open(f->db, CATALOG_SETS_BUDGET, &fresh),
			 ERR_OK);
	assert_int_equal(catalog_sets_begin(fresh, &w), ERR_OK);
	assert_int_equal(w, words);
	memset(a, 0xff, sizeof(a));
	memset(b, 0xff, sizeof(b));
	assert_int_equal(catalog_sets_and(s, expr, a), ERR_OK);
	assert_int_equal(catalog_sets_and(fresh, expr, b), ERR_OK);
	if (memcmp(a, b, words * sizeof(uint64_t)) != 0)
		fail_msg("%s: patched and built sets differ", expr);
	catalog_sets_close(&fresh);
}

/* edits indexed a few at a time are patched into the kept sets, which
 * then equal sets built afresh: an edited title, a tombstone, a service
 * made inactive, new services past the old top; the patch table shows
 * the patch was made, not a rebuild. More rids in one generation than
 * index_change lists: the sets are built again, and equal too. */
static void test_sets_patch(void **state)
{
	struct catalog_fixture *f = *state;
	static const char *const expr[] = {
		"alpha", "bravo", "title : \"alpha\"", "\"charlie\"",
		"{title summary description tags} : \"bravo\"",
	};
	const size_t n_expr = sizeof(expr) / sizeof(expr[0]);
	struct catalog_sets *s = NULL;
	sqlite3_stmt *st = NULL;
	size_t words;
	char b[256], id[16];

	for (int i = 0; i < 60; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		put(f, "badaguan", id, 1, svc(b, sizeof(b),
		    i % 3 == 0 ? "alpha" : i % 3 == 1 ? "bravo" : "charlie",
		    i % 2 ? "alpha bravo" : "charlie", "other", NULL), 0);
	}
	index_all(f);
	assert_int_equal(catalog_sets_open(f->db, CATALOG_SETS_BUDGET, &s),
			 ERR_OK);
	assert_int_equal(catalog_sets_begin(s, &words), ERR_OK);
	assert_int_equal(words, 1);
	for (size_t i = 0; i < n_expr; i++)
		sets_equal(f, s, words, expr[i]);
	/* three generations of a few changes each */
	put(f, "badaguan", "s3", 2, svc(b, sizeof(b), "bravo", "x", "other",
	    NULL), 0);
	put(f, "badaguan", "s4", 2, NULL, 0);
	index_all(f);
	put(f, "badaguan", "s5", 2, svc(b, sizeof(b), "alpha", "x", "other",
	    "\"status\":\"inactive\""), 0);
	index_all(f);
	for (int i = 60; i < 70; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		put(f, "badaguan", id, 1, svc(b, sizeof(b), "alpha charlie",
		    "bravo", "other", NULL), 0);
	}
	index_all(f);
	assert_int_equal(catalog_sets_begin(s, &words), ERR_OK);
	assert_int_equal(words, (size_t)rid_of(f, "s69") / 64 + 1);
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT count(*) FROM"
			 " temp.set_patch", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 11);  /* s3, s60..s69 */
	sqlite3_finalize(st);
	for (size_t i = 0; i < n_expr; i++)
		sets_equal(f, s, words, expr[i]);
	/* one generation of more rids than index_change lists: built again */
	for (int i = 70; i < 170; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		put(f, "badaguan", id, 1, svc(b, sizeof(b), "alpha", "bravo",
		    "other", NULL), 0);
	}
	index_all(f);
	assert_int_equal(catalog_sets_begin(s, &words), ERR_OK);
	for (size_t i = 0; i < n_expr; i++)
		sets_equal(f, s, words, expr[i]);
	catalog_sets_close(&s);
}

/* ---- JSON --------------------------------------------------------------- */

static void test_service_json_roundtrip(void **state)
{
	struct catalog_fixture *f = *state;
	Change *got = NULL;
	json_t *j;

	put(f, "badaguan", "h1", 1, "{\"id\":\"ignored\",\"title\":\"上门理发\","
	    "\"summary\":\"Home haircut\",\"description\":\"Line one\\nline "
	    "two\",\"category\":\"elderly-care\",\"audience\":[\"elderly\","
	    "\"disabled\"],\"delivery\":\"home-visit\",\"eligibility\":"
	    "\"Residents over 70\",\"fee\":\"\",\"hours\":\"Tue 9-12\","
	    "\"phone\":\"+86 (532) 8888-1234\",\"address\":\"八大关街道\","
	    "\"languages\":[\"zh-Hans\",\"en\"],\"updated\":"
	    "\"2026-01-02T03:04:05Z\",\"unknown\":[1,2]}", 0);
	assert_int_equal(catalog_get(f->cat, "badaguan",
				     ALLIANCE__V1__KIND__KIND_SERVICE, "h1",
				     &got), ERR_OK);
	j = catalog_change_json(got);
	catalog_change_free(&got);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "h1");
	assert_string_equal(json_string_value(json_object_get(j,
			    "community")), "badaguan");
	assert_string_equal(json_string_value(json_object_get(j, "fee")),
			    "free");
	assert_string_equal(json_string_value(json_object_get(j, "status")),
			    "active");
	assert_string_equal(json_string_value(json_object_get(j, "updated")),
			    "2026-01-02T03:04:05Z");
	assert_string_equal(json_string_value(json_object_get(j,
			    "description")), "Line one\nline two");
	assert_int_equal(json_array_size(json_object_get(j, "audience")), 2);
	assert_string_equal(json_string_value(json_array_get(
			    json_object_get(j, "delivery"), 0)), "home-visit");
	assert_string_equal(json_string_value(json_array_get(
			    json_object_get(j, "languages"), 0)), "zh-Hans");
	assert_null(json_object_get(j, "unknown"));
	json_decref(j);
}

static void test_service_json_errors(void **state)
{
	static const struct {
		const char *json;
		const char *field;      /* the why must start with "field:" */
	} bad[] = {
		{ "[]", "body" },
		{ "{\"category\":\"other\"}", "title" },
		{ "{\"title\":\"\",\"category\":\"other\"}", "title" },
		{ "{\"title\":\"   \",\"category\":\"other\"}", "title" },
		{ "{\"title\":5,\"category\":\"other\"}", "title" },
		{ "{\"title\":\"a\\nb\",\"category\":\"other\"}", "title" },
		{ "{\"title\":\"a\\u0007\",\"category\":\"other\"}", "title" },
		{ "{\"title\":\"a\\u0085\",\"category\":\"other\"}", "title" },
		{ "{\"title\":\"x\"}", "category" },
		{ "{\"title\":\"x\",\"category\":\"food\"}", "category" },
		{ "{\"title\":\"x\",\"category\":\"other\",\"summary\":\"%501\"}",
		  "summary" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"description\":\"a\\tb\"}", "description" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"audience\":\"elderly\"}", "audience" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"audience\":[\"Old People\"]}", "audience" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"delivery\":\"drone\"}", "delivery" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"delivery\":[\"walk-in\",3]}", "delivery" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"fee\":\"%51\"}", "fee" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"phone\":\"call me\"}", "phone" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"languages\":[\"english language\"]}", "languages" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"languages\":[\"e\"]}", "languages" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"status\":\"closed\"}", "status" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"updated\":\"yesterday\"}", "updated" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"hours\":\"%501\"}", "hours" },
		{ "{\"title\":\"%201\",\"category\":\"other\"}", "title" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[2048], why[256] = "", want[64];
		Alliance__V1__Service *s = NULL;
		const char *pct = strstr(bad[i].json, "%");
		json_t *j;

		/* "%N" in a test string stands for N 'x' characters */
		if (pct) {
			int len = (int)strtol(pct + 1, NULL, 10);
			int pre = (int)(pct - bad[i].json);
			const char *rest = pct + 1;

			while (*rest >= '0' && *rest <= '9')
				rest++;
			snprintf(text, sizeof(text), "%.*s%.*s%s", pre,
				 bad[i].json, len,
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				 rest);
		} else {
			snprintf(text, sizeof(text), "%s", bad[i].json);
		}
		j = json_loads(text, JSON_DECODE_ANY, NULL);
		assert_non_null(j);
		if (catalog_service_from_json(j, &s, why, sizeof(why)) !=
		    ERR_INVALID)
			fail_msg("accepted: %s", text);
		assert_null(s);
		snprintf(want, sizeof(want), "%s:", bad[i].field);
		if (strncmp(why, want, strlen(want)) != 0)
			fail_msg("%s: why '%s' does not start with '%s'",
				 text, why, want);
		json_decref(j);
	}
}

/* check_change: catalog_check of a record of kind with body b (from a
 * manager's JSON), as the hub and every other node hold it on receipt. */
static int check_change(int kind, void *b)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	char why[256];

	ch.origin = (char *)"badaguan";
	ch.id = (char *)"t1";
	ch.kind = kind;
	ch.version = 1;
	if (kind == ALLIANCE__V1__KIND__KIND_SERVICE) {
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
		ch.service = b;
	} else {
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT;
		ch.announcement = b;
	}
	return catalog_check(&ch, why, sizeof(why));
}

/* A time a manager may give is one every peer reads back: up to
 * 9999-12-31T23:59:59Z. Past it (found by fuzz_json: "updated":
 * 253402300800, the year 10000) the node used to take the record, which
 * every receiver then refused (its RFC 3339 text has five digits of
 * year), so its up-stream could never pass that record. */
static void test_json_times_read_back(void **state)
{
	static const char *const refused[][2] = {
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"updated\":253402300800}", "updated:" },
		{ "{\"title\":\"x\",\"category\":\"other\","
		  "\"updated\":\"9999-12-31T23:59:59-00:01\"}", "updated:" },
		{ "{\"title\":\"x\",\"published\":253402300800}", "published:" },
		{ "{\"title\":\"x\",\"published\":1,"
		  "\"expires\":67767976233316800}", "expires:" },
	};
	Alliance__V1__Service *s = NULL;
	Alliance__V1__Announcement *a = NULL;
	char why[256];
	json_t *j;

	(void)state;
	j = json_loads("{\"title\":\"x\",\"category\":\"other\","
		       "\"updated\":253402300799}", 0, NULL);
	assert_int_equal(catalog_service_from_json(j, &s, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(check_change(ALLIANCE__V1__KIND__KIND_SERVICE, s),
			 ERR_OK);
	alliance__v1__service__free_unpacked(s, NULL);
	json_decref(j);
	j = json_loads("{\"title\":\"x\",\"published\":253402300798,"
		       "\"expires\":\"9999-12-31T23:59:59Z\"}", 0, NULL);
	assert_int_equal(catalog_announcement_from_json(j, &a, why,
							sizeof(why)), ERR_OK);
	assert_int_equal(a->expires, 253402300799);
	assert_int_equal(check_change(ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT,
				      a), ERR_OK);
	alliance__v1__announcement__free_unpacked(a, NULL);
	json_decref(j);

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		j = json_loads(refused[i][0], 0, NULL);
		assert_non_null(j);
		why[0] = '\0';
		if (strstr(refused[i][0], "category"))
			assert_int_equal(catalog_service_from_json(j, &s, why,
					 sizeof(why)), ERR_INVALID);
		else
			assert_int_equal(catalog_announcement_from_json(j, &a,
					 why, sizeof(why)), ERR_INVALID);
		if (strncmp(why, refused[i][1], strlen(refused[i][1])) != 0)
			fail_msg("%s: why '%s'", refused[i][0], why);
		json_decref(j);
	}
}

static void test_service_json_accepts(void **state)
{
	Alliance__V1__Service *s;

	(void)state;
	/* limits are inclusive; 200 bytes of CJK is 66 characters */
	s = service("{\"title\":\"理发理发理发理发理发理发理发理发理发理发"
		    "理发理发理发理发理发理发理发理发理发理发理发理发理发"
		    "理发理发理发理发理发理发理发理发理发理发\","
		    "\"category\":\"other\",\"fee\":\"FREE\","
		    "\"delivery\":[\"phone\",\"phone\"],\"status\":null}");
	assert_int_equal(strlen(s->title), 198);
	assert_string_equal(s->fee, "free");
	assert_int_equal(s->n_delivery, 1);
	assert_string_equal(s->status, "active");
	assert_true(s->updated > 1700000000);
	alliance__v1__service__free_unpacked(s, NULL);
	s = service("{\"title\":\"x\",\"category\":\"other\",\"fee\":\"10 元\","
		    "\"languages\":[\"zh-Hant-TW\",\"en-GB\"],\"updated\":5}");
	assert_string_equal(s->fee, "10 元");
	assert_int_equal(s->updated, 5);
	alliance__v1__service__free_unpacked(s, NULL);
}

/* ---- announcements ------------------------------------------------------ */

static int put_announcement(struct catalog_fixture *f, const char *origin,
			    const char *id, uint64_t version,
			    const char *json)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Announcement *a = NULL;
	json_t *j;
	char why[256] = "";
	int applied = -1;

	ch.origin = (char *)origin;
	ch.id = (char *)id;
	ch.kind = ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT;
	ch.version = version;
	if (json) {
		j = json_loads(json, 0, NULL);
		assert_non_null(j);
		if (catalog_announcement_from_json(j, &a, why, sizeof(why)) !=
		    ERR_OK)
			fail_msg("%s: %s", json, why);
		json_decref(j);
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT;
		ch.announcement = a;
	} else {
		ch.deleted = 1;
	}
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_OK);
	alliance__v1__announcement__free_unpacked(a, NULL);
	return applied;
}

/* usage_is_fresh: catalog_usage's kept figures of origin equal a count
 * and sum over the rows now, and catalog_max_version a max over them. */
static void usage_is_fresh(struct catalog_fixture *f, const char *origin)
{
	uint64_t records, bytes;

	assert_int_equal(catalog_usage(f->cat, origin, &records, &bytes),
			 ERR_OK);
	assert_int_equal(records, query_int(f, "SELECT (SELECT count(*)"
		" FROM service WHERE origin = ?1 AND deleted = 0) + (SELECT"
		" count(*) FROM announcement WHERE origin = ?1 AND"
		" deleted = 0)", origin));
	assert_int_equal(bytes, query_int(f, "SELECT (SELECT"
		" coalesce(sum(body_bytes), 0) FROM service WHERE origin = ?1"
		" AND deleted = 0) + (SELECT coalesce(sum(body_bytes), 0)"
		" FROM announcement WHERE origin = ?1 AND deleted = 0)",
		origin));
	assert_int_equal(catalog_max_version(f->cat, origin),
			 query_int(f, "SELECT max(coalesce((SELECT"
		" max(version) FROM service WHERE origin = ?1), 0),"
		" coalesce((SELECT max(version) FROM announcement WHERE"
		" origin = ?1), 0))", origin));
}

/* The kept usage (catalog_schema_v7) stays a fresh count through
 * creates, edits that grow and shrink a body, stale versions, tombstones,
 * revivals, announcements, the tombstone purge and a snapshot's rebase
 * (node/sync.c deletes the rows the snapshot did not bring); and the max
 * version of an origin is an index seek, not a walk over its rows. */
static void test_usage_kept(void **state)
{
	struct catalog_fixture *f = *state;
	const char *origins[] = { "zhuhai-road", "badaguan" };
	char b[512], id[16], title[160];
	uint64_t records, bytes, purged, version = 1;
	unsigned r = 7;

	assert_int_equal(catalog_usage(f->cat, "zhuhai-road", &records,
				       &bytes), ERR_OK);
	assert_int_equal(records + bytes, 0);
	for (int i = 0; i < 400; i++) {
		const char *o = origins[i % 2];

		r = r * 1103515245u + 12345u;
		snprintf(id, sizeof(id), "s%u", (r >> 8) % 23);
		memset(title, 'x', sizeof(title));
		title[1 + (r >> 16) % 150] = '\0';
		/* versions rise, but every seventh write is stale */
		switch ((r >> 4) % 5) {
		case 0:
			put(f, o, id, version++, NULL, 1);
			break;
		case 1:
			put_announcement(f, o, id, version++, (r >> 12) % 3 ?
					 "{\"title\":\"Water off\","
					 "\"body\":\"Tuesday\"}" : NULL);
			break;
		default:
			put(f, o, id, i % 7 ? version++ : 1,
			    svc(b, sizeof(b), title, "", "other", NULL), 1);
		}
		if (i % 50 == 0)
			usage_is_fresh(f, o);
	}
	usage_is_fresh(f, "zhuhai-road");
	usage_is_fresh(f, "badaguan");
	assert_int_equal(catalog_purge_tombstones(f->cat,
			 catalog_log_head(f->cat), &purged), ERR_OK);
	assert_true(purged > 0);
	usage_is_fresh(f, "zhuhai-road");
	usage_is_fresh(f, "badaguan");
	/* a snapshot's rebase: rows of others it did not bring go */
	assert_int_equal(store_exec(f->db, "DELETE FROM service WHERE"
		" origin <> 'zhuhai-road' AND id > 's1';"
		"DELETE FROM announcement WHERE origin <> 'zhuhai-road'"
		" AND id < 's5'"), ERR_OK);
	usage_is_fresh(f, "zhuhai-road");
	usage_is_fresh(f, "badaguan");
	assert_int_equal(catalog_usage(f->cat, "badaguan", &records, &bytes),
			 ERR_OK);
	assert_true(records > 0 && records < 23);
	assert_int_equal(catalog_usage(f->cat, "nobody", &records, &bytes),
			 ERR_OK);
	assert_int_equal(records + bytes, 0);
	/* max(version) of an origin: a seek on (origin, version) */
	for (int k = 0; k < 2; k++) {
		sqlite3_stmt *st = NULL;
		int seek = 0;

		snprintf(b, sizeof(b), "EXPLAIN QUERY PLAN SELECT max(version)"
			 " FROM %s WHERE origin = ?1",
			 k ? "announcement" : "service");
		assert_int_equal(sqlite3_prepare_v2(f->db, b, -1, &st, NULL),
				 SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW)
			seek |= strstr((const char *)sqlite3_column_text(st, 3),
				       k ? "INDEX announcement_version" :
				       "INDEX service_version") != NULL;
		sqlite3_finalize(st);
		assert_true(seek);
	}
}

static void test_announcements(void **state)
{
	struct catalog_fixture *f = *state;
	json_t *res, *items, *bad;
	Alliance__V1__Announcement *a = NULL;
	char why[256];

	put_announcement(f, "badaguan", "a1", 1, "{\"title\":\"Old news\","
			 "\"published\":\"2026-01-01T00:00:00Z\"}");
	put_announcement(f, "badaguan", "a2", 2, "{\"title\":\"Water off\","
			 "\"body\":\"Tuesday\\n9-12\",\"published\":"
			 "\"2026-01-03T00:00:00Z\",\"expires\":"
			 "\"2026-01-10T00:00:00Z\"}");
	put_announcement(f, "zhuhai-road", "a3", 1, "{\"title\":\"Fair\","
			 "\"category\":\"neighbourhood-life\",\"published\":"
			 "\"2026-01-02T00:00:00Z\"}");
	put_announcement(f, "zhuhai-road", "a4", 2, "{\"title\":\"Gone\","
			 "\"published\":\"2026-01-04T00:00:00Z\"}");
	put_announcement(f, "zhuhai-road", "a4", 3, NULL);

	/* 2026-01-05: a2 live, newest first */
	assert_int_equal(catalog_announcements(f->cat, 1767571200, NULL, NULL, 10,
					       &res), ERR_OK);
	items = json_object_get(res, "items");
	assert_int_equal(json_array_size(items), 3);
	assert_string_equal(json_string_value(json_object_get(
			    json_array_get(items, 0), "id")), "a2");
	assert_string_equal(json_string_value(json_object_get(
			    json_array_get(items, 0), "expires")),
			    "2026-01-10T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(
			    json_array_get(items, 1), "id")), "a3");
	assert_true(json_is_null(json_object_get(json_array_get(items, 1),
						 "expires")));
	assert_string_equal(json_string_value(json_object_get(
			    json_array_get(items, 2), "category")), "other");
	json_decref(res);

	/* 2026-01-11: a2 has expired */
	assert_int_equal(catalog_announcements(f->cat, 1768089600, "badaguan", NULL,
					       10, &res), ERR_OK);
	items = json_object_get(res, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(
			    json_array_get(items, 0), "id")), "a1");
	json_decref(res);

	bad = json_pack("{s:s, s:s, s:s}", "title", "x", "published",
			"2026-01-05T00:00:00Z", "expires",
			"2026-01-04T00:00:00Z");
	assert_int_equal(catalog_announcement_from_json(bad, &a, why,
							sizeof(why)),
			 ERR_INVALID);
	assert_int_equal(strncmp(why, "expires:", 8), 0);
	json_decref(bad);
	bad = json_pack("{s:s}", "body", "no title");
	assert_int_equal(catalog_announcement_from_json(bad, &a, why,
							sizeof(why)),
			 ERR_INVALID);
	assert_int_equal(strncmp(why, "title:", 6), 0);
	json_decref(bad);
	assert_null(a);
}

/* ---- timing ------------------------------------------------------------- */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Not asserted: prints how long 10,000 services take in one transaction
 * and what a few searches over them take. */
static void test_timing_10k(void **state)
{
	struct catalog_fixture *f = *state;
	static const char *const cats[] = { "elderly-care", "housing",
					    "other", "health-maternity" };
	struct catalog_query q = { .limit = 20 };
	struct timespec t0;
	char b[1024], id[16];
	json_t *res;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_exec(f->db, "BEGIN"), ERR_OK);
	for (int i = 0; i < 10000; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		snprintf(b, sizeof(b), "{\"title\":\"上门理发服务 %d 号\","
			 "\"summary\":\"Home haircut number %d\","
			 "\"description\":\"为行动不便的老人提供上门服务，"
			 "每周二上午。Residents with mobility problems, "
			 "Tuesdays.\",\"category\":\"%s\",\"delivery\":"
			 "[\"home-visit\"],\"updated\":%d}", i, i, cats[i % 4],
			 1700000000 + i);
		put(f, i % 2 ? "badaguan" : "zhuhai-road", id,
		    (uint64_t)i + 1, b, 1);
	}
	assert_int_equal(store_exec(f->db, "COMMIT"), ERR_OK);
	print_message("timing: 10000 services inserted (queued, logged) in "
		      "one transaction: %.3f s\n", seconds_since(&t0));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(index_all(f), 10000);
	print_message("timing: 10000 services indexed: %.3f s\n",
		      seconds_since(&t0));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	q.q = "理发";
	res = search(f, &q);
	assert_int_equal(total_of(res), 1000);       /* and more */
	assert_false(exact_of(res));
	json_decref(res);
	print_message("timing: q=理发 over 10000 (20 items + total): "
		      "%.1f ms\n", seconds_since(&t0) * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	q.q = "haircut";
	q.category = "housing";
	res = search(f, &q);
	assert_int_equal(total_of(res), 1000);
	assert_false(exact_of(res));
	json_decref(res);
	print_message("timing: q=haircut category=housing: %.1f ms\n",
		      seconds_since(&t0) * 1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	q.q = NULL;
	q.category = NULL;
	res = search(f, &q);
	assert_string_equal(item_id(res, 0), "s9999");
	json_decref(res);
	print_message("timing: browse newest: %.1f ms\n",
		      seconds_since(&t0) * 1000);
}

/* apply only queues; catalog_index_pending brings inserts, updates and
 * tombstones into the index, in chunks, and empties the queue */
static void test_index_off_apply(void **state)
{
	struct catalog_fixture *f = *state;
	struct catalog_query q = { .q = "haircut", .limit = 20 };
	char b[512];
	json_t *res = NULL;
	char why[256];
	size_t done;

	assert_true(catalog_index_idle(f->cat));
	put(f, "badaguan", "haircut", 1, svc(b, sizeof(b), "Home haircut",
	    "For the elderly", "elderly-care", NULL), 1);
	put(f, "badaguan", "meals", 1, svc(b, sizeof(b), "Meals on wheels",
	    "Lunch delivered", "elderly-care", NULL), 1);
	put(f, "badaguan", "clinic", 1, svc(b, sizeof(b), "Clinic",
	    "Check-ups", "health-maternity", NULL), 1);
	/* stored and readable, but not yet in the index */
	assert_false(catalog_index_idle(f->cat));
	assert_int_equal(fts_rows(f, "haircut"), 0);
	assert_int_equal(search_json(f->cat, &q, &res, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(total_of(res), 0);
	json_decref(res);

	/* in chunks: two, then one, then nothing */
	assert_int_equal(catalog_index_pending(f->cat, 2, &done), ERR_OK);
	assert_int_equal(done, 2);
	assert_false(catalog_index_idle(f->cat));
	assert_int_equal(catalog_index_pending(f->cat, 2, &done), ERR_OK);
	assert_int_equal(done, 1);
	assert_true(catalog_index_idle(f->cat));
	assert_int_equal(catalog_index_pending(f->cat, 2, &done), ERR_OK);
	assert_int_equal(done, 0);
	assert_int_equal(fts_rows(f, "haircut"), 1);
	assert_int_equal(fts_rows(f, "meals"), 1);

	/* an update leaves the old words in the index until indexed */
	put(f, "badaguan", "haircut", 2, svc(b, sizeof(b), "Home shave",
	    "For the elderly", "elderly-care", NULL), 1);
	assert_int_equal(fts_rows(f, "haircut"), 1);
	assert_int_equal(fts_rows(f, "shave"), 0);
	assert_int_equal(index_all(f), 1);
	assert_int_equal(fts_rows(f, "haircut"), 0);
	assert_int_equal(fts_rows(f, "shave"), 1);
	res = search(f, &(struct catalog_query){ .q = "shave", .limit = 20 });
	assert_int_equal(total_of(res), 1);
	assert_string_equal(item_id(res, 0), "haircut");
	json_decref(res);

	/* a tombstone leaves the index once indexed */
	put(f, "badaguan", "meals", 2, NULL, 1);
	assert_int_equal(fts_rows(f, "meals"), 1);
	assert_int_equal(index_all(f), 1);
	assert_int_equal(fts_rows(f, "meals"), 0);
	assert_int_equal(fts_rows(f, "elderly"), 1);
	/* an older version is not applied and queues nothing */
	put(f, "badaguan", "clinic", 1, svc(b, sizeof(b), "Old clinic",
	    "x", "other", NULL), 1);
	assert_true(catalog_index_idle(f->cat));
	/* purged tombstones and deleted rows queue their rid too */
	{
		uint64_t purged = 0;

		assert_int_equal(catalog_purge_tombstones(f->cat,
			catalog_log_head(f->cat), &purged), ERR_OK);
		assert_int_equal(purged, 1);
		assert_int_equal(index_all(f), 1);
	}
	assert_int_equal(fts_rows(f, "clinic"), 1);
}

/* one chunk of mixed work, as the indexer meets it after a catch-up:
 * updates and tombstones of indexed rows, new rows, a row written twice
 * and a row that was gone before it was ever indexed; a limit handles
 * exactly the lowest queued rids; the index ends up as the live rows */
static void test_index_mixed_chunk(void **state)
{
	struct catalog_fixture *f = *state;
	sqlite3_stmt *st = NULL;
	char b[512];
	size_t done;

	put(f, "badaguan", "s1", 1, svc(b, sizeof(b), "Home haircut",
	    "For the elderly", "elderly-care", NULL), 1);
	put(f, "badaguan", "s2", 1, svc(b, sizeof(b), "Meals on wheels",
	    "Lunch delivered", "elderly-care", NULL), 1);
	put(f, "badaguan", "s3", 1, svc(b, sizeof(b), "Clinic",
	    "Check-ups", "health-maternity", NULL), 1);
	assert_int_equal(index_all(f), 3);

	put(f, "badaguan", "s1", 2, svc(b, sizeof(b), "Home shave",
	    "For the elderly", "elderly-care", NULL), 1);
	put(f, "badaguan", "s2", 2, NULL, 1);
	put(f, "badaguan", "s3", 2, svc(b, sizeof(b), "Walk-in clinic",
	    "Check-ups", "health-maternity", NULL), 1);
	put(f, "badaguan", "s3", 3, svc(b, sizeof(b), "Evening clinic",
	    "Check-ups", "health-maternity", NULL), 1);
	put(f, "badaguan", "s4", 1, svc(b, sizeof(b), "Dental clinic",
	    "Teeth", "health-maternity", NULL), 1);
	put(f, "badaguan", "s5", 1, svc(b, sizeof(b), "Ghost tour",
	    "Never indexed", "other", NULL), 1);
	put(f, "badaguan", "s5", 2, NULL, 1);

	/* the two lowest rids (s1, s2) only */
	assert_int_equal(store_exec(f->db, "BEGIN IMMEDIATE"), ERR_OK);
	assert_int_equal(catalog_index_pending(f->cat, 2, &done), ERR_OK);
	assert_int_equal(store_exec(f->db, "COMMIT"), ERR_OK);
	assert_int_equal(done, 2);
	assert_int_equal(fts_rows(f, "haircut"), 0);
	assert_int_equal(fts_rows(f, "shave"), 1);
	assert_int_equal(fts_rows(f, "wheels"), 0);
	assert_int_equal(fts_rows(f, "clinic"), 1);     /* s3 as indexed */
	assert_int_equal(fts_rows(f, "evening"), 0);

	/* the rest (s3, s4, s5) in one chunk */
	assert_int_equal(index_all(f), 3);
	assert_int_equal(fts_rows(f, "walk"), 0);
	assert_int_equal(fts_rows(f, "evening"), 1);
	assert_int_equal(fts_rows(f, "clinic"), 2);
	assert_int_equal(fts_rows(f, "ghost"), 0);
	assert_int_equal(store_exec(f->db, "INSERT INTO service_fts"
		" (service_fts) VALUES ('integrity-check')"), ERR_OK);
	assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT (SELECT count(*)"
		" FROM service_fts) = (SELECT count(*) FROM service WHERE"
		" deleted = 0)", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
}

/* a v1 store (index kept by triggers) migrated to v2 and v3 queues every
 * service, and the rebuilt index finds them as before */
static void test_index_migration(void **state)
{
	char path[] = "/tmp/test_catalog_XXXXXX";
	struct catalog_fixture f2 = { 0 };
	sqlite3_stmt *st = NULL;
	char err[512], sql[512];
	uint64_t records, bytes, measured;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(store_open(path, catalog_migrations, 1, &f2.db, err,
				    sizeof(err)),
			 ERR_OK);
	for (int i = 0; i < 3; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO service (origin, id,"
			 " version, title, tags) VALUES ('badaguan', 's%d', 1,"
			 " 'Haircut %d', 'elderly')", i, i);
		assert_int_equal(store_exec(f2.db, sql), ERR_OK);
	}
	store_close(&f2.db);
	assert_int_equal(store_open(path, catalog_migrations,
				    CATALOG_N_MIGRATIONS, &f2.db, err,
				    sizeof(err)),
			 ERR_OK);
	assert_int_equal(catalog_open(f2.db, &f2.cat), ERR_OK);
	/* v6: rows from before are measured once for the quota */
	assert_int_equal(catalog_usage(f2.cat, "badaguan", &records, &bytes),
			 ERR_OK);
	assert_int_equal(records, 3);
	assert_int_equal(bytes, 0);
	assert_int_equal(catalog_measure(f2.cat, &measured), ERR_OK);
	assert_int_equal(measured, 3);
	assert_int_equal(catalog_measure(f2.cat, &measured), ERR_OK);
	assert_int_equal(measured, 0);
	assert_int_equal(catalog_usage(f2.cat, "badaguan", &records, &bytes),
			 ERR_OK);
	assert_true(bytes > 3 * strlen("Haircut 0"));
	assert_false(catalog_index_idle(f2.cat));
	assert_int_equal(fts_rows(&f2, "haircut"), 0);
	assert_int_equal(index_all(&f2), 3);
	assert_int_equal(fts_rows(&f2, "haircut"), 3);
	assert_int_equal(sqlite3_prepare_v2(f2.db, "SELECT count(*) FROM"
			 " sqlite_schema WHERE type = 'trigger' AND name LIKE"
			 " 'service_fts%'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
	catalog_close(&f2.cat);
	store_close(&f2.db);
	store_files_unlink(path);
}

static void test_open_without_schema(void **state)
{
	sqlite3 *db = NULL;
	struct catalog *cat = NULL;
	char err[256];

	(void)state;
	assert_int_equal(store_open(":memory:", NULL, 0, &db, err,
				    sizeof(err)), ERR_OK);
	assert_int_equal(catalog_open(db, &cat), ERR_IO);
	assert_null(cat);
	store_close(&db);
}

/* ---- main --------------------------------------------------------------- */

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_version_rule),
		T(test_apply_rejects),
		T(test_apply_refuses_to_log_too_big),
		T(test_log_head_sole_writer),
		T(test_max_version_and_counts),
		T(test_usage_kept),
		T(test_log),
		T(test_log_raise_and_again),
		T(test_search_words),
		T(test_search_syntax_is_text),
		T(test_search_filters),
		T(test_search_pages),
		T(test_search_ranking),
		T(test_search_tier_pages),
		T(test_search_total_cap),
		T(test_search_index_late),
		T(test_search_community_whole),
		T(test_search_facet_words),
		cmocka_unit_test(test_bits_below),
		T(test_sets_cache),
		T(test_sets_patch),
		T(test_service_json_roundtrip),
		cmocka_unit_test(test_service_json_errors),
		cmocka_unit_test(test_service_json_accepts),
		cmocka_unit_test(test_json_times_read_back),
		T(test_announcements),
		T(test_timing_10k),
		T(test_index_off_apply),
		T(test_index_mixed_chunk),
		cmocka_unit_test(test_index_migration),
		cmocka_unit_test(test_open_without_schema),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
