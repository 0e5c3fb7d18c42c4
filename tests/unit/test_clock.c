/* test_clock.c: unit tests of lib/clock.c's offset (the hub's time a
 * node takes as its own) and its RFC 3339 round trip.
 *
 * Parts: no offset is the local clock; an offset moves clock_now and
 * clock_now_ms but not clock_local_ms; a time before the epoch rounds
 * down; a peer's times bounded; RFC 3339 round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include "clock.h"
#include "err.h"

#define TWO_DAYS_MS INT64_C(172800000)

static void test_no_offset_is_local(void **state)
{
	int64_t before = (int64_t)time(NULL), now;

	(void)state;
	clock_set_offset_ms(0);
	now = clock_now();
	assert_true(now >= before && now <= (int64_t)time(NULL));
	assert_true(clock_now_ms() / 1000 >= before);
	assert_int_equal(clock_offset_ms(), 0);
}

static void test_offset_moves_the_clock(void **state)
{
	int64_t local, now;

	(void)state;
	clock_set_offset_ms(-TWO_DAYS_MS);          /* 2 days ahead of the hub */
	local = (int64_t)time(NULL);
	now = clock_now();
	assert_int_equal(clock_offset_ms(), -TWO_DAYS_MS);
	assert_true(now >= local - 172800 - 1 && now <= local - 172800 + 1);
	assert_true(clock_local_ms() / 1000 >= local);
	assert_true(clock_local_ms() - clock_now_ms() >= TWO_DAYS_MS - 5 &&
		    clock_local_ms() - clock_now_ms() <= TWO_DAYS_MS + 5);
	clock_set_offset_ms(86400000);              /* a day behind */
	assert_true(clock_now() >= local + 86400 - 1);
	clock_set_offset_ms(0);
}

static void test_before_epoch_rounds_down(void **state)
{
	(void)state;
	clock_set_offset_ms(-clock_local_ms() - 1500);  /* 1.5 s before 1970 */
	assert_true(clock_now() <= -1 && clock_now() >= -3);
	clock_set_offset_ms(0);
}

static void test_peer_times_bounded(void **state)
{
	(void)state;
	assert_true(clock_ms_valid(1));
	assert_true(clock_ms_valid(clock_local_ms()));
	assert_true(clock_ms_valid(CLOCK_MAX * 1000));
	assert_false(clock_ms_valid(0));
	assert_false(clock_ms_valid(-1));
	assert_false(clock_ms_valid(CLOCK_MAX * 1000 + 1));
	assert_false(clock_ms_valid(INT64_MAX));
	assert_false(clock_ms_valid(INT64_MIN));
}

static void test_rfc3339_round_trip(void **state)
{
	char buf[CLOCK_RFC3339_LEN];
	int64_t t = 0;

	(void)state;
	assert_string_equal(clock_rfc3339(1764979200, buf, sizeof(buf)),
			    "2025-12-06T00:00:00Z");
	assert_int_equal(clock_parse_rfc3339(buf, &t), ERR_OK);
	assert_int_equal(t, 1764979200);
	assert_int_equal(clock_parse_rfc3339("2025-12-06T08:00:00+08:00", &t),
			 ERR_OK);
	assert_int_equal(t, 1764979200);
	assert_int_equal(clock_parse_rfc3339("yesterday", &t), ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_offset_is_local),
		cmocka_unit_test(test_offset_moves_the_clock),
		cmocka_unit_test(test_before_epoch_rounds_down),
		cmocka_unit_test(test_peer_times_bounded),
		cmocka_unit_test(test_rfc3339_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
