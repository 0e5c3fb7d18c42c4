/* test_ratelimit.c: unit tests of lib/ratelimit.c (fixed windows).
 *
 * Parts: the limit and its release; keys apart; a full table. */
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

static void test_full_table(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 60);
	char key[32];

	(void)state;
	for (int i = 0; i < RATELIMIT_SLOTS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(ratelimit_hit(rl, key, 0), 0);
	}
	/* every slot is a live window: a new key is refused, not evicting */
	assert_true(ratelimit_hit(rl, "new", 1) > 0);
	assert_true(ratelimit_hit(rl, "k0", 1) > 0);
	/* once windows end, slots are reused */
	assert_int_equal(ratelimit_hit(rl, "new", 61), 0);
	ratelimit_free(&rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_and_release),
		cmocka_unit_test(test_full_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
