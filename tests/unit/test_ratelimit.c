/* test_ratelimit.c: unit tests of lib/ratelimit.c (fixed windows).
 *
 * Parts: the limit and its release; a full table: a new key always gets
 * a slot, a penalised key survives a flood of new ones, the least
 * suspicious key goes first, a table of penalised keys still lets a new
 * key act; ratelimit_over counts nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "ratelimit.h"

static void test_limit_and_release(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, 10);

	(void)state;
	assert_non_null(rl);
	assert_int_equal(ratelimit_hit(rl, "a", 100), 0);
	assert_int_equal(ratelimit_hit(rl, "a", 101), 0);
	assert_int_equal(ratelimit_hit(rl, "a", 102), 0);
	assert_int_equal(ratelimit_hit(rl, "a", 103), 7);
	assert_int_equal(ratelimit_hit(rl, "b", 103), 0);
	assert_int_equal(ratelimit_hit(rl, "a", 110), 0);   /* released */
	ratelimit_free(&rl);
	assert_null(rl);
}

/* fill: n keys "<prefix>N", each acting hits times at now. */
static void fill(struct ratelimit *rl, const char *prefix, int n, int hits,
		 int64_t now)
{
	char key[32];

	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%d", prefix, i);
		for (int h = 0; h < hits; h++)
			ratelimit_hit(rl, key, now);
	}
}

static void test_new_key_always_gets_a_slot(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, 60);

	(void)state;
	/* every slot a live window of one action */
	fill(rl, "k", RATELIMIT_SLOTS, 1, 0);
	/* the old code refused every new key here */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_hit(rl, "resident", 1), 0);
	/* and the key was counted: a slot was taken */
	assert_true(ratelimit_hit(rl, "resident", 1) > 0);
	ratelimit_free(&rl);
}

static void test_penalty_survives_a_flood(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, 60);

	(void)state;
	fill(rl, "attacker", 1, 3, 0);
	assert_int_equal(ratelimit_hit(rl, "attacker0", 1), 59);
	/* ten tables' worth of new keys, one action each */
	fill(rl, "flood", 10 * RATELIMIT_SLOTS, 1, 2);
	assert_int_equal(ratelimit_over(rl, "attacker0", 3), 57);
	assert_int_equal(ratelimit_hit(rl, "attacker0", 3), 57);
	/* its window ends on time */
	assert_int_equal(ratelimit_hit(rl, "attacker0", 60), 0);
	ratelimit_free(&rl);
}

static void test_least_suspicious_goes_first(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, 60);

	(void)state;
	fill(rl, "busy", 1, 2, 0);              /* one action left */
	fill(rl, "k", RATELIMIT_SLOTS - 1, 1, 0);
	/* a flood of new keys evicts the keys of one action, not busy0 */
	fill(rl, "flood", 5 * RATELIMIT_SLOTS, 1, 1);
	assert_int_equal(ratelimit_hit(rl, "busy0", 2), 0);
	assert_true(ratelimit_hit(rl, "busy0", 2) > 0);
	ratelimit_free(&rl);
}

static void test_all_penalised_still_admits(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 60);

	(void)state;
	fill(rl, "k", RATELIMIT_SLOTS, 1, 0);   /* every slot penalised */
	/* a new key acts (uncounted); no penalised key was evicted */
	assert_int_equal(ratelimit_hit(rl, "new", 1), 0);
	assert_int_equal(ratelimit_hit(rl, "new", 1), 0);
	assert_true(ratelimit_hit(rl, "k0", 1) > 0);
	assert_true(ratelimit_hit(rl, "k1023", 1) > 0);
	/* once windows end, slots are reused and counting resumes */
	assert_int_equal(ratelimit_hit(rl, "new", 61), 0);
	assert_true(ratelimit_hit(rl, "new", 61) > 0);
	ratelimit_free(&rl);
}

static void test_over_counts_nothing(void **state)
{
	struct ratelimit *rl = ratelimit_new(2, 10);

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(ratelimit_over(rl, "a", 0), 0);
	assert_int_equal(ratelimit_hit(rl, "a", 0), 0);
	assert_int_equal(ratelimit_over(rl, "a", 0), 0);
	assert_int_equal(ratelimit_hit(rl, "a", 0), 0);
	assert_int_equal(ratelimit_over(rl, "a", 4), 6);
	assert_int_equal(ratelimit_over(rl, "a", 10), 0);
	ratelimit_free(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_and_release),
		cmocka_unit_test(test_new_key_always_gets_a_slot),
		cmocka_unit_test(test_penalty_survives_a_flood),
		cmocka_unit_test(test_least_suspicious_goes_first),
		cmocka_unit_test(test_all_penalised_still_admits),
		cmocka_unit_test(test_over_counts_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
