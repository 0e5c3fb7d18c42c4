/* test_directory.c: unit tests of the district's records in the catalog
 * (lib/catalog_directory.c through catalog.h), the synonyms applied by
 * catalog_search, a listing with the preferred origin first, and the
 * service fields eligible_communities and keywords.
 *
 * Each test opens a fresh in-memory store with catalog_schema_v1 to v5.
 * Parts: fixtures and helpers; directory records; synonyms in search;
 * preferred origin; eligibility and keywords; main. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_fixture.h"
#include "err.h"
#include "log.h"
#include "store.h"
#include "synonyms.h"

/* ---- fixtures and helpers ------------------------------------------------- */


static int setup(void **state)
{
	*state = catalog_fixture_open("test_directory");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	catalog_fixture_close(*state);
	return 0;
}

/* community: apply (district, KIND_COMMUNITY, id) at version (name NULL:
 * a tombstone) with log; returns whether it applied. */
static int community(struct catalog_fixture *f, const char *id,
		     uint64_t version, const char *name)
{
	Alliance__V1__Community body = ALLIANCE__V1__COMMUNITY__INIT;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	int applied = -1;

	ch.origin = "district";
	ch.kind = ALLIANCE__V1__KIND__KIND_COMMUNITY;
	ch.id = (char *)id;
	ch.version = version;
	if (name) {
		body.name = (char *)name;
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_COMMUNITY;
		ch.community = &body;
	} else {
		ch.deleted = 1;
	}
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_OK);
	return applied;
}

/* words: store the synonyms of a file text as the district's record. */
static void words(struct catalog_fixture *f, uint64_t version, const char *text)
{
	struct synonyms *s = NULL;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	char why[256];
	int applied;

	assert_int_equal(synonyms_parse(text, strlen(text), "t", &s, why,
					sizeof(why)), ERR_OK);
	ch.origin = "district";
	ch.kind = ALLIANCE__V1__KIND__KIND_SEARCH_WORDS;
	ch.id = "synonyms";
	ch.version = version;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_SEARCH_WORDS;
	assert_int_equal(synonyms_to_proto(s, &ch.search_words), ERR_OK);
	assert_int_equal(catalog_check(&ch, why, sizeof(why)), ERR_OK);
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_OK);
	assert_int_equal(applied, 1);
	alliance__v1__search_words__free_unpacked(ch.search_words, NULL);
	synonyms_free(&s);
}

/* service: put a service of origin from JSON text (must validate). */
static void service(struct catalog_fixture *f, const char *origin,
		    const char *id, uint64_t version, const char *json)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	json_t *j = json_loads(json, 0, NULL);
	char why[256] = "";
	int applied;

	assert_non_null(j);
	ch.origin = (char *)origin;
	ch.id = (char *)id;
	ch.kind = ALLIANCE__V1__KIND__KIND_SERVICE;
	ch.version = version;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
	if (catalog_service_from_json(j, &ch.service, why, sizeof(why)))
		fail_msg("%s: %s", json, why);
	json_decref(j);
	assert_int_equal(catalog_apply(f->cat, &ch, 1, &applied), ERR_OK);
	alliance__v1__service__free_unpacked(ch.service, NULL);
}

static void index_all(struct catalog_fixture *f)
{
	size_t done;

	assert_int_equal(store_exec(f->db, "BEGIN IMMEDIATE"), ERR_OK);
	do
		assert_int_equal(catalog_index_pending(f->cat, 100, &done),
				 ERR_OK);
	while (done == 100);
	assert_int_equal(store_exec(f->db, "COMMIT"), ERR_OK);
}

/* search: the parsed answer of q (must succeed). */
static json_t *search(struct catalog_fixture *f, const struct catalog_query *q)
{
	char *body = NULL, why[256] = "";
	size_t len;
	json_t *res;

	index_all(f);
	if (catalog_search(f->cat, q, &body, &len, why, sizeof(why)) != ERR_OK)
		fail_msg("search: %s", why);
	res = json_loadb(body, len, 0, NULL);
	free(body);
	assert_non_null(res);
	return res;
}

/* ids: the ids of the answer's items, space separated, into buf. */
static const char *ids(json_t *res, char *buf, size_t len)
{
	json_t *items = json_object_get(res, "items"), *it;
	size_t i, o = 0;

	buf[0] = '\0';
	json_array_foreach(items, i, it)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "",
			json_string_value(json_object_get(it, "id")));
	return buf;
}

/* found: the ids the text q finds. */
static const char *found(struct catalog_fixture *f, const char *q, char *buf,
			 size_t len)
{
	struct catalog_query cq = { .q = q, .limit = 100 };
	json_t *res = search(f, &cq);

	ids(res, buf, len);
	json_decref(res);
	return buf;
}

/* ---- directory records ------------------------------------------------------ */

static void names(const Change *ch, void *arg)
{
	char *out = arg;
	size_t o = strlen(out);

	snprintf(out + o, 256 - o, "%s=%s;", ch->id, ch->community->name);
}

static void test_directory_records(void **state)
{
	struct catalog_fixture *f = *state;
	char listed[256] = "";
	Change **batch = NULL, *got = NULL;
	size_t n = 0;
	uint64_t last = 0, purged = 0;

	assert_int_equal(community(f, "zhuhailu", 1, "珠海路街道"), 1);
	assert_int_equal(community(f, "badaguan", 2, "八大关街道"), 1);
	assert_int_equal(community(f, "badaguan", 2, "stale"), 0);
	assert_int_equal(catalog_max_version(f->cat, "district"), 2);
	assert_int_equal(catalog_directory_each(f->cat,
			 ALLIANCE__V1__KIND__KIND_COMMUNITY, names, listed),
			 ERR_OK);
	assert_string_equal(listed, "badaguan=八大关街道;zhuhailu=珠海路街道;");
	assert_int_equal(catalog_get(f->cat, "district",
			 ALLIANCE__V1__KIND__KIND_COMMUNITY, "zhuhailu", &got),
			 ERR_OK);
	assert_string_equal(got->community->name, "珠海路街道");
	catalog_change_free(&got);

	/* a service in between; a reader that does not know the kinds */
	service(f, "zhuhailu", "s1", 1, "{\"title\":\"理发\","
		"\"category\":\"other\"}");
	assert_int_equal(catalog_log_batch_kinds(f->cat, 0, NULL,
			 ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT, 10,
			 LIMIT_BATCH_BYTES, &batch, &n,
			 &last), ERR_OK);
	assert_int_equal(n, 1);
	assert_int_equal(batch[0]->kind, ALLIANCE__V1__KIND__KIND_SERVICE);
	assert_int_equal(last, 3);     /* the passed-over entries count */
	catalog_batch_free(&batch, n);
	assert_int_equal(catalog_log_batch(f->cat, 0, NULL, 10, &batch, &n,
					   &last), ERR_OK);
	assert_int_equal(n, 3);
	assert_int_equal(batch[1]->kind, ALLIANCE__V1__KIND__KIND_COMMUNITY);
	assert_string_equal(batch[1]->community->name, "八大关街道");
	catalog_batch_free(&batch, n);

	/* removed: a tombstone that moves up the log, then is purged */
	assert_int_equal(community(f, "badaguan", 3, NULL), 1);
	listed[0] = '\0';
	catalog_directory_each(f->cat, ALLIANCE__V1__KIND__KIND_COMMUNITY,
			       names, listed);
	assert_string_equal(listed, "zhuhailu=珠海路街道;");
	assert_int_equal(catalog_get(f->cat, "district",
			 ALLIANCE__V1__KIND__KIND_COMMUNITY, "badaguan", &got),
			 ERR_OK);
	assert_true(got->deleted);
	catalog_change_free(&got);
	assert_int_equal(catalog_purge_tombstones(f->cat, 100, &purged),
			 ERR_OK);
	assert_int_equal(purged, 1);
	assert_int_equal(catalog_get(f->cat, "district",
			 ALLIANCE__V1__KIND__KIND_COMMUNITY, "badaguan", &got),
			 ERR_NOTFOUND);
	/* the live records' log entries stay */
	assert_int_equal(catalog_log_batch(f->cat, 0, NULL, 10, &batch, &n,
					   &last), ERR_OK);
	assert_int_equal(n, 2);
	catalog_batch_free(&batch, n);
}

/* a peer's directory record is held to the rules */
static void test_directory_check(void **state)
{
	Alliance__V1__Community body = ALLIANCE__V1__COMMUNITY__INIT;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	char why[256];

	(void)state;
	ch.origin = "district";
	ch.kind = ALLIANCE__V1__KIND__KIND_COMMUNITY;
	ch.id = "zhuhailu";
	ch.version = 1;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_COMMUNITY;
	ch.community = &body;
	body.name = "珠海路街道";
	assert_int_equal(catalog_check(&ch, why, sizeof(why)), ERR_OK);
	body.name = "";
	assert_int_equal(catalog_check(&ch, why, sizeof(why)), ERR_INVALID);
	body.name = "two\nlines";
	assert_int_equal(catalog_check(&ch, why, sizeof(why)), ERR_INVALID);
	body.name = "ok";
	ch.id = "Not_An_Id";
	assert_int_equal(catalog_check(&ch, why, sizeof(why)), ERR_INVALID);
	ch.id = "zhuhailu";
	ch.kind = ALLIANCE__V1__KIND__KIND_SEARCH_WORDS;
	assert_int_equal(catalog_check(&ch, why, sizeof(why)), ERR_INVALID);
}

/* ---- synonyms in search -------------------------------------------------------- */

static void test_search_synonyms(void **state)
{
	struct catalog_fixture *f = *state;
	char b[256];

	service(f, "badaguan", "hair", 1, "{\"title\":\"上门理发服务\","
		"\"category\":\"elderly-care\"}");
	service(f, "badaguan", "bath", 2, "{\"title\":\"助浴\","
		"\"category\":\"elderly-care\"}");
	service(f, "zhuhailu", "clinic", 1, "{\"title\":\"社区门诊\","
		"\"summary\":\"上门\",\"category\":\"health-maternity\"}");
	assert_string_equal(found(f, "剪头发", b, sizeof(b)), "");
	words(f, 1, "剪头发/剪发/理发/美发\n看病/门诊/就医\n洗澡/助浴\n");
	assert_string_equal(found(f, "剪头发", b, sizeof(b)), "hair");
	assert_string_equal(found(f, "剪发", b, sizeof(b)), "hair");
	assert_string_equal(found(f, "理发", b, sizeof(b)), "hair");
	assert_string_equal(found(f, "看病", b, sizeof(b)), "clinic");
	/* AND across words, OR within a group */
	assert_string_equal(found(f, "看病 上门", b, sizeof(b)), "clinic");
	assert_string_equal(found(f, "剪头发 上门", b, sizeof(b)), "hair");
	assert_string_equal(found(f, "剪头发 洗澡", b, sizeof(b)), "");
	/* a new version of the list replaces the old one */
	words(f, 2, "洗澡/助浴\n");
	assert_string_equal(found(f, "剪头发", b, sizeof(b)), "");
	assert_string_equal(found(f, "洗澡", b, sizeof(b)), "bath");
}

/* ---- preferred origin ------------------------------------------------------------- */

/* walk a listing preferring own, limit a page; the ids in order into out */
static int walk(struct catalog_fixture *f, const char *own, int limit,
		char *out, size_t len)
{
	struct catalog_query q = { .limit = limit, .prefer = own };
	char *after = NULL, page[512];
	int pages = 0;
	size_t o = 0;

	out[0] = '\0';
	do {
		json_t *res, *next;

		q.after = after;
		res = search(f, &q);
		ids(res, page, sizeof(page));
		if (page[0])
			o += (size_t)snprintf(out + o, len - o, "%s%s",
					      o ? " " : "", page);
		next = json_object_get(res, "next");
		free(after);
		after = json_is_string(next) ? strdup(json_string_value(next))
					     : NULL;
		if (pages == 0)
			assert_int_equal(json_integer_value(json_object_get(
					 res, "total")), 7);
		json_decref(res);
		pages++;
	} while (after && pages < 20);
	return pages;
}

static void test_listing_prefers_own(void **state)
{
	struct catalog_fixture *f = *state;
	static const struct { const char *origin, *id; int updated; } rows[] = {
		{ "badaguan", "b1", 10 }, { "zhuhailu", "z1", 20 },
		{ "badaguan", "b2", 30 }, { "zhuhailu", "z2", 40 },
		{ "badaguan", "b3", 50 }, { "zhuhailu", "z3", 60 },
		{ "zhongshan", "s1", 70 },
	};
	struct catalog_query q = { .limit = 10, .after = NULL };
	char b[512], why[256], *body = NULL;
	size_t len;
	json_t *res;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(b, sizeof(b), "{\"title\":\"t\",\"category\":\"other\","
			 "\"updated\":%d}", 1700000000 + rows[i].updated);
		service(f, rows[i].origin, rows[i].id, (uint64_t)i + 1, b);
	}
	/* no preference: newest first */
	res = search(f, &q);
	assert_string_equal(ids(res, b, sizeof(b)), "s1 z3 b3 z2 b2 z1 b1");
	json_decref(res);
	/* every page size: own first, then the rest, each newest first,
	 * nothing twice or lost across pages */
	for (int limit = 1; limit <= 8; limit++) {
		walk(f, "badaguan", limit, b, sizeof(b));
		assert_string_equal(b, "b3 b2 b1 s1 z3 z2 z1");
	}
	assert_int_equal(walk(f, "badaguan", 3, b, sizeof(b)), 3);
	/* a community filter lists that community only */
	q.prefer = "badaguan";
	q.community = "zhuhailu";
	res = search(f, &q);
	assert_string_equal(ids(res, b, sizeof(b)), "z3 z2 z1");
	json_decref(res);
	/* a preferring token is refused where nothing is preferred */
	q.community = NULL;
	q.limit = 2;
	res = search(f, &q);
	q.after = json_string_value(json_object_get(res, "next"));
	q.prefer = NULL;
	assert_int_equal(catalog_search(f->cat, &q, &body, &len, why,
					sizeof(why)), ERR_INVALID);
	json_decref(res);
}

/* a text search at a node: title matches first, then the rest; within
 * each, the preferred origin's services first; exact across pages */
static void test_search_prefers_own(void **state)
{
	struct catalog_fixture *f = *state;
	static const struct { const char *origin, *id, *title, *summary; } rows[] = {
		{ "badaguan", "bt", "理发", "" },       { "zhuhailu", "zt", "理发", "" },
		{ "badaguan", "bs", "服务", "理发" },   { "zhuhailu", "zs", "服务", "理发" },
		{ "zhuhailu", "zt2", "上门理发", "" },  { "badaguan", "bs2", "助浴", "含理发" },
		{ "zhuhailu", "zx", "助浴", "" },
	};
	char b[512], all[512];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(b, sizeof(b), "{\"title\":\"%s\",\"summary\":\"%s\","
			 "\"category\":\"other\"}", rows[i].title, rows[i].summary);
		service(f, rows[i].origin, rows[i].id, (uint64_t)i + 1, b);
	}
	/* no preference: title first, each newest (highest rid) first */
	assert_string_equal(found(f, "理发", b, sizeof(b)), "zt2 zt bt bs2 zs bs");
	for (int limit = 1; limit <= 7; limit++) {
		struct catalog_query q = { .q = "理发", .limit = limit,
					   .prefer = "badaguan" };
		char *after = NULL;
		size_t o = 0;
		int pages = 0;

		all[0] = '\0';
		do {
			json_t *res, *next;

			q.after = after;
			res = search(f, &q);
			ids(res, b, sizeof(b));
			if (b[0])
				o += (size_t)snprintf(all + o, sizeof(all) - o,
						      "%s%s", o ? " " : "", b);
			if (pages == 0)
				assert_int_equal(json_integer_value(
					json_object_get(res, "total")), 6);
			next = json_object_get(res, "next");
			free(after);
			after = json_is_string(next) ?
				strdup(json_string_value(next)) : NULL;
			json_decref(res);
		} while (after && ++pages < 20);
		assert_string_equal(all, "bt zt2 zt bs2 bs zs");
	}
}

/* announcements: the preferred origin's first, then newest first */
static void test_announcements_prefer_own(void **state)
{
	struct catalog_fixture *f = *state;
	static const struct { const char *origin, *id; int published; } rows[] = {
		{ "badaguan", "old", 10 }, { "zhuhailu", "mid", 20 },
		{ "badaguan", "new", 30 },
	};
	char b[256];
	json_t *res, *items;
	int applied;

	for (size_t i = 0; i < 3; i++) {
		Change ch = ALLIANCE__V1__CHANGE__INIT;
		json_t *j;
		char why[128];

		snprintf(b, sizeof(b), "{\"title\":\"t\",\"published\":%d}",
			 1700000000 + rows[i].published);
		j = json_loads(b, 0, NULL);
		ch.origin = (char *)rows[i].origin;
		ch.id = (char *)rows[i].id;
		ch.kind = ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT;
		ch.version = i + 1;
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT;
		assert_int_equal(catalog_announcement_from_json(j,
				 &ch.announcement, why, sizeof(why)), ERR_OK);
		json_decref(j);
		assert_int_equal(catalog_apply(f->cat, &ch, 0, &applied),
				 ERR_OK);
		alliance__v1__announcement__free_unpacked(ch.announcement,
							  NULL);
	}
	assert_int_equal(catalog_announcements(f->cat, 1800000000, NULL,
					       "zhuhailu", 10, &res), ERR_OK);
	assert_string_equal(ids(res, b, sizeof(b)), "mid new old");
	json_decref(res);
	assert_int_equal(catalog_announcements(f->cat, 1800000000, NULL, NULL,
					       10, &res), ERR_OK);
	items = json_object_get(res, "items");
	assert_int_equal(json_array_size(items), 3);
	assert_string_equal(ids(res, b, sizeof(b)), "new mid old");
	json_decref(res);
}

/* ---- eligibility and keywords ------------------------------------------------------ */

static void test_eligibility_keywords(void **state)
{
	struct catalog_fixture *f = *state;
	static const struct { const char *json, *field; } bad[] = {
		{ "\"eligible_communities\":[\"Bad_Id\"]",
		  "eligible_communities" },
		{ "\"eligible_communities\":\"zhuhailu\"",
		  "eligible_communities" },
		{ "\"eligible_communities\":[1]", "eligible_communities" },
		{ "\"keywords\":[\"\"]", "keywords" },
		{ "\"keywords\":[\"0123456789012345678901234567890123456789"
		  "0123456789\"]", "keywords" },
		{ "\"keywords\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
		  "\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\","
		  "\"q\"]", "keywords" },
	};
	Alliance__V1__Service *s = NULL;
	Change *got = NULL;
	char text[512], why[256], b[256];
	json_t *j, *out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "{\"title\":\"t\",\"category\":"
			 "\"other\",%s}", bad[i].json);
		j = json_loads(text, 0, NULL);
		assert_non_null(j);
		assert_int_equal(catalog_service_from_json(j, &s, why,
							   sizeof(why)),
				 ERR_INVALID);
		if (strncmp(why, bad[i].field, strlen(bad[i].field)) != 0)
			fail_msg("%s: '%s' does not name the field", text, why);
		json_decref(j);
	}
	service(f, "zhuhailu", "hair", 1, "{\"title\":\"上门服务\","
		"\"category\":\"elderly-care\",\"eligibility\":\"80岁以上老人\","
		"\"eligible_communities\":[\"zhuhailu\",\"badaguan\","
		"\"zhuhailu\"],\"keywords\":[\"剪头发\",\"haircut\"]}");
	assert_int_equal(catalog_get(f->cat, "zhuhailu",
			 ALLIANCE__V1__KIND__KIND_SERVICE, "hair", &got),
			 ERR_OK);
	assert_int_equal(got->service->n_eligible_communities, 2);
	out = catalog_change_json(got);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
		out, "eligible_communities"), 1)), "badaguan");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
		out, "keywords"), 0)), "剪头发");
	json_decref(out);
	assert_int_equal(catalog_check(got, why, sizeof(why)), ERR_OK);
	catalog_change_free(&got);
	/* keywords are searchable; the search answer carries both fields */
	assert_string_equal(found(f, "剪头发", b, sizeof(b)), "hair");
	assert_string_equal(found(f, "haircut", b, sizeof(b)), "hair");
	{
		struct catalog_query q = { .q = "haircut", .limit = 5 };

		out = search(f, &q);
		j = json_array_get(json_object_get(out, "items"), 0);
		assert_int_equal(json_array_size(json_object_get(j,
				 "eligible_communities")), 2);
		assert_string_equal(json_string_value(json_object_get(j,
				    "eligibility")), "80岁以上老人");
		json_decref(out);
	}
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_directory_records),
		cmocka_unit_test(test_directory_check),
		T(test_search_synonyms),
		T(test_listing_prefers_own),
		T(test_announcements_prefer_own),
		T(test_search_prefers_own),
		T(test_eligibility_keywords),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
