/* test_quota.c: unit tests of lib/quota.c (a community's quota), the
 * batch limits of lib/wire.c and the record-time rule of lib/catalog.
 *
 * Parts: admitting changes; the rate bucket; text forms and Welcome; batch
 * limits; times ahead of the clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"
#include "err.h"
#include "alliance_limits.h"
#include "quota.h"
#include "wire.h"

/* service: ch as a live service s of badaguan titled title */
static void service(Change *ch, Alliance__V1__Service *s, char *title)
{
	alliance__v1__change__init(ch);
	alliance__v1__service__init(s);
	s->title = title;
	ch->kind = ALLIANCE__V1__KIND__KIND_SERVICE;
	ch->id = "s1";
	ch->origin = "badaguan";
	ch->body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
	ch->service = s;
}

/* ---- admitting changes -------------------------------------------------- */

static void test_records_and_bytes(void **state)
{
	struct quota q = { 2, 1000, 100 };
	struct quota_usage u = { 2, 100 };
	struct quota_delta d = { 0, 0, 0 };
	Alliance__V1__Service s;
	Change ch;
	char why[300], title[] = "Home haircut";

	(void)state;
	service(&ch, &s, title);
	/* a new record over the count is refused, naming the quota */
	quota_delta_add(&d, 0, 0, &ch);
	assert_int_equal(d.records, 1);
	assert_int_equal(d.changes, 1);
	assert_int_equal((uint64_t)d.bytes, quota_body_bytes(&ch));
	assert_int_equal(quota_admit(&q, &u, &d, why, sizeof(why)),
			 ERR_TOOBIG);
	assert_non_null(strstr(why, "quota records"));
	/* an update of a live record is taken at the count */
	memset(&d, 0, sizeof(d));
	quota_delta_add(&d, 1, quota_body_bytes(&ch), &ch);
	assert_int_equal(d.records, 0);
	assert_int_equal(d.bytes, 0);
	assert_int_equal(quota_admit(&q, &u, &d, why, sizeof(why)), ERR_OK);
	/* growing past the bytes is refused, shrinking never */
	u.records = 1;
	u.bytes = 995;
	memset(&d, 0, sizeof(d));
	quota_delta_add(&d, 1, 2, &ch);
	assert_int_equal(quota_admit(&q, &u, &d, why, sizeof(why)),
			 ERR_TOOBIG);
	assert_non_null(strstr(why, "quota bytes"));
	u.bytes = 5000;             /* over a lowered quota already */
	memset(&d, 0, sizeof(d));
	quota_delta_add(&d, 1, 500, &ch);
	assert_true(d.bytes < 0);
	assert_int_equal(quota_admit(&q, &u, &d, why, sizeof(why)), ERR_OK);
	/* a deletion frees both and costs no change */
	memset(&d, 0, sizeof(d));
	ch.deleted = 1;
	quota_delta_add(&d, 1, 40, &ch);
	assert_int_equal(d.records, -1);
	assert_int_equal(d.bytes, -40);
	assert_int_equal(d.changes, 0);
	u.records = 3;
	assert_int_equal(quota_admit(&q, &u, &d, why, sizeof(why)), ERR_OK);
	quota_usage_apply(&u, &d);
	assert_int_equal(u.records, 2);
	assert_int_equal(u.bytes, 4960);
	/* a deletion of what is not there changes nothing */
	memset(&d, 0, sizeof(d));
	quota_delta_add(&d, 0, 40, &ch);
	assert_int_equal(d.records, 0);
	assert_int_equal(d.bytes, 0);
}

/* ---- the rate bucket ---------------------------------------------------- */

static void test_bucket(void **state)
{
	struct quota_bucket b = { 0, 0 };
	char why[300];

	(void)state;
	/* a new bucket is full */
	assert_int_equal(quota_bucket_take(&b, 3600, 10, 1000, 10, why,
					   sizeof(why)), ERR_OK);
	assert_int_equal(quota_bucket_take(&b, 3600, 10, 1000, 1, why,
					   sizeof(why)), ERR_AGAIN);
	assert_non_null(strstr(why, "quota changes_per_hour"));
	/* 3600 an hour: one a second comes back */
	assert_int_equal(quota_bucket_take(&b, 3600, 10, 1003, 3, why,
					   sizeof(why)), ERR_OK);
	assert_int_equal(quota_bucket_take(&b, 3600, 10, 1003, 1, why,
					   sizeof(why)), ERR_AGAIN);
	/* never above capacity, however long it rests */
	assert_true(quota_bucket_level(&b, 3600, 10, 999999) == 10.0);
	/* more than the capacity at once is refused outright */
	assert_int_equal(quota_bucket_take(&b, 3600, 10, 999999, 11, why,
					   sizeof(why)), ERR_AGAIN);
	assert_non_null(strstr(why, "at once"));
}

/* same: every field of a and b is the same */
static int same(const struct quota *a, const struct quota *b)
{
	return a->records == b->records && a->bytes == b->bytes &&
	       a->per_hour == b->per_hour;
}

/* ---- text forms and Welcome ---------------------------------------------- */

static void test_text_and_welcome(void **state)
{
	struct quota q = { 7, 65536, 9 }, back, dflt;
	struct quota_bucket b = { 2.5, 1234 }, bb;
	Alliance__V1__Welcome w = ALLIANCE__V1__WELCOME__INIT;
	char buf[QUOTA_TEXT_LEN];

	(void)state;
	assert_int_equal(quota_parse(quota_format(&q, buf, sizeof(buf)),
				     &back), ERR_OK);
	assert_true(same(&q, &back));
	/* bad text leaves q as it was */
	assert_int_equal(quota_parse("", &back), ERR_INVALID);
	assert_int_equal(quota_parse("1 2", &back), ERR_INVALID);
	assert_int_equal(quota_parse("1 2 3 4", &back), ERR_INVALID);
	assert_int_equal(quota_parse("1 -2 3", &back), ERR_INVALID);
	assert_int_equal(quota_parse("99999999999999999999999 2 3", &back),
			 ERR_INVALID);
	assert_true(same(&q, &back));
	assert_int_equal(quota_bucket_parse(quota_bucket_format(&b, buf,
				     sizeof(buf)), &bb), ERR_OK);
	assert_true(bb.tokens == 2.5 && bb.at == 1234);
	assert_int_equal(quota_bucket_parse("x", &bb), ERR_INVALID);
	/* an older hub's zeros keep what the node knew */
	quota_defaults(&dflt);
	back = dflt;
	quota_from_welcome(&w, &back);
	assert_true(same(&back, &dflt));
	quota_to_welcome(&q, &w);
	quota_from_welcome(&w, &back);
	assert_true(same(&back, &q));
	quota_max(&back, &q, &dflt);
	assert_int_equal(back.records, dflt.records);
	assert_int_equal(back.bytes, dflt.bytes);
}

/* ---- batch limits ------------------------------------------------------- */

static void test_batch_limits(void **state)
{
	Frame f = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Changes cs = ALLIANCE__V1__CHANGES__INIT;
	Change *list[3] = { NULL, NULL, NULL };
	char why[200];

	(void)state;
	f.body_case = ALLIANCE__V1__FRAME__BODY_CHANGES;
	f.changes = &cs;
	cs.changes = list;
	cs.n_changes = 3;
	assert_int_equal(wire_batch_check(&f, 100, 3, 100, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(wire_batch_check(&f, 100, 2, 100, why, sizeof(why)),
			 ERR_TOOBIG);
	assert_non_null(strstr(why, "3 changes"));
	assert_int_equal(wire_batch_check(&f, 101, 3, 100, why, sizeof(why)),
			 ERR_TOOBIG);
	assert_non_null(strstr(why, "101 bytes"));
	/* a Relay frame: its bytes */
	{
		Alliance__V1__Relay r = ALLIANCE__V1__RELAY__INIT;

		f.body_case = ALLIANCE__V1__FRAME__BODY_RELAY;
		f.relay = &r;
		assert_int_equal(wire_batch_check(&f, 100, 0, 100, why,
						  sizeof(why)), ERR_OK);
		assert_int_equal(wire_batch_check(&f, 101, 0, 100, why,
						  sizeof(why)), ERR_TOOBIG);
		assert_non_null(strstr(why, "Relay frame of 101 bytes"));
	}
	/* other bodies are not batches */
	f.body_case = ALLIANCE__V1__FRAME__BODY_ACK;
	assert_int_equal(wire_batch_check(&f, 1u << 30, 0, 0, why,
					  sizeof(why)), ERR_OK);
}

/* wire_batch_take: changes join while the frame stays within the bytes;
 * the first always joins, whatever its size. */
static void test_batch_take(void **state)
{
	Alliance__V1__Service s;
	Change ch;
	char title[] = "a service";
	size_t bytes = WIRE_BATCH_OVERHEAD, cost, n = 0;

	(void)state;
	service(&ch, &s, title);
	cost = wire_change_cost(&ch);
	assert_true(cost > alliance__v1__change__get_packed_size(&ch));
	while (wire_batch_take(&bytes, n, &ch, WIRE_BATCH_OVERHEAD + 3 * cost))
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(bytes, WIRE_BATCH_OVERHEAD + 3 * cost);
	bytes = WIRE_BATCH_OVERHEAD;
	assert_int_equal(wire_batch_take(&bytes, 0, &ch, 1), 1);
	assert_int_equal(wire_batch_take(&bytes, 1, &ch, 1), 0);
}

/* ---- times ahead of the clock ------------------------------------------- */

static void test_times_ahead(void **state)
{
	Alliance__V1__Service s;
	Change ch;
	char why[300], title[] = "t";

	(void)state;
	service(&ch, &s, title);
	s.updated = 1000 + LIMIT_CLOCK_AHEAD_S;
	assert_int_equal(catalog_time_check(&ch, 1000, why, sizeof(why)),
			 ERR_OK);
	s.updated = (int64_t)1 << 62;
	assert_int_equal(catalog_time_check(&ch, 1000, why, sizeof(why)),
			 ERR_INVALID);
	assert_memory_equal(why, "updated:", 8);
	assert_int_equal(catalog_clamp_time(&ch, 1000), 1);
	assert_int_equal(s.updated, 1000);
	assert_int_equal(catalog_clamp_time(&ch, 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_and_bytes),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_text_and_welcome),
		cmocka_unit_test(test_batch_limits),
		cmocka_unit_test(test_batch_take),
		cmocka_unit_test(test_times_ahead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
