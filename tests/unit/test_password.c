/* test_password.c: unit tests of lib/password.c (scrypt hash lines).
 *
 * Parts: making and verifying (a cheap N keeps the tests fast); parsing
 * good lines; refusing bad ones, one test per rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "password.h"

/* A cheap cost for tests: the smallest N accepted. */
#define TEST_N 1024u

/* A known line: "secret" under N=1024, r=8, p=1 (made once with
 * password_hash_make, kept to prove old lines still verify). */
static char known[PASSWORD_LINE_MAX];

static int setup(void **state)
{
	(void)state;
	return password_hash_make("secret", 6, TEST_N, 8, 1, known,
				  sizeof(known)) == ERR_OK ? 0 : -1;
}

/* ---- making and verifying ------------------------------------------------- */

static void test_make_then_verify(void **state)
{
	struct password_hash h;
	char why[128];

	(void)state;
	assert_int_equal(strncmp(known, "scrypt$1024$8$1$", 16), 0);
	assert_int_equal(password_hash_parse(known, &h, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(h.n, TEST_N);
	assert_int_equal(h.r, 8);
	assert_int_equal(h.p, 1);
	assert_int_equal(h.salt_len, PASSWORD_SALT_LEN);
	assert_int_equal(h.hash_len, PASSWORD_HASH_LEN);
	assert_int_equal(password_verify(&h, "secret", 6), ERR_OK);
	assert_int_equal(password_verify(&h, "secreT", 6), ERR_DENIED);
	assert_int_equal(password_verify(&h, "secret!", 7), ERR_DENIED);
	assert_int_equal(password_verify(&h, "", 0), ERR_DENIED);
}

static void test_salts_differ(void **state)
{
	char a[PASSWORD_LINE_MAX], b[PASSWORD_LINE_MAX];

	(void)state;
	assert_int_equal(password_hash_make("pw", 2, TEST_N, 1, 1, a,
					    sizeof(a)), ERR_OK);
	assert_int_equal(password_hash_make("pw", 2, TEST_N, 1, 1, b,
					    sizeof(b)), ERR_OK);
	assert_string_not_equal(a, b);
}

/* A decoy has the cost of new hashes, differs each time, and no password
 * matches it: an unknown account's login costs one scrypt, like a known
 * one's, and never succeeds. */
static void test_decoy(void **state)
{
	char a[PASSWORD_LINE_MAX], b[PASSWORD_LINE_MAX], why[128];
	struct password_hash h;

	(void)state;
	assert_int_equal(password_decoy(a, sizeof(a)), ERR_OK);
	assert_int_equal(password_decoy(b, sizeof(b)), ERR_OK);
	assert_string_not_equal(a, b);
	assert_int_equal(password_hash_parse(a, &h, why, sizeof(why)), ERR_OK);
	assert_int_equal(h.n, PASSWORD_N);
	assert_int_equal(h.r, PASSWORD_R);
	assert_int_equal(h.p, PASSWORD_P);
	assert_int_equal(h.salt_len, PASSWORD_SALT_LEN);
	assert_int_equal(h.hash_len, PASSWORD_HASH_LEN);
	assert_int_equal(password_verify(&h, "", 0), ERR_DENIED);
	assert_int_equal(password_verify(&h, "secret", 6), ERR_DENIED);
	assert_int_equal(password_decoy(a, 20), ERR_TOOBIG);
}

static void test_empty_and_binary_passwords(void **state)
{
	char line[PASSWORD_LINE_MAX], why[128];
	struct password_hash h;

	(void)state;
	assert_int_equal(password_hash_make("a\0b", 3, TEST_N, 1, 1, line,
					    sizeof(line)), ERR_OK);
	assert_int_equal(password_hash_parse(line, &h, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(password_verify(&h, "a\0b", 3), ERR_OK);
	assert_int_equal(password_verify(&h, "a", 1), ERR_DENIED);
}

static void test_make_refuses(void **state)
{
	char line[PASSWORD_LINE_MAX], big[PASSWORD_INPUT_MAX + 1];

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(password_hash_make("pw", 2, 1000, 8, 1, line,
					    sizeof(line)), ERR_INVALID);
	assert_int_equal(password_hash_make(big, sizeof(big), TEST_N, 8, 1,
					    line, sizeof(line)), ERR_INVALID);
	assert_int_equal(password_hash_make("pw", 2, TEST_N, 8, 1, line, 20),
			 ERR_TOOBIG);
}

static void test_long_password_never_verifies(void **state)
{
	char big[PASSWORD_INPUT_MAX + 1], why[128];
	struct password_hash h;

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(password_hash_parse(known, &h, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(password_verify(&h, big, sizeof(big)), ERR_DENIED);
}

/* ---- parsing ----------------------------------------------------------- */

/* refused: the line does not parse and why names the rule (contains
 * needle). */
static void refused(const char *line, const char *needle)
{
	struct password_hash h;
	char why[256];

	why[0] = '\0';
	assert_int_equal(password_hash_parse(line, &h, why, sizeof(why)),
			 ERR_INVALID);
	if (!strstr(why, needle))
		fail_msg("'%s': why '%s' lacks '%s'", line, why, needle);
}

#define SALT "c2FsdHNhbHRzYWx0c2FsdA=="          /* 16 bytes */
#define HASH "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=" /* 32 bytes */

static void test_parse_accepts_any_sane_cost(void **state)
{
	struct password_hash h;
	char why[128];

	(void)state;
	assert_int_equal(password_hash_parse("scrypt$1048576$1$1$" SALT "$"
					     HASH, &h, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(h.n, 1048576);
	assert_int_equal(password_hash_parse("scrypt$16384$8$16$" SALT "$"
					     HASH, &h, why, sizeof(why)),
			 ERR_OK);
	assert_int_equal(h.p, 16);
}

static void test_parse_refuses(void **state)
{
	(void)state;
	refused("", "not a password hash");
	refused("secret", "not a password hash");
	refused("bcrypt$32768$8$1$" SALT "$" HASH, "not a password hash");
	refused("scrypt$32768$8$1$" SALT, "6 fields");
	refused("scrypt$32768$8$1$" SALT "$" HASH "$x", "6 fields");
	refused("scrypt$32768$8$x$" SALT "$" HASH, "decimal");
	refused("scrypt$-1$8$1$" SALT "$" HASH, "decimal");
	refused("scrypt$ 32768$8$1$" SALT "$" HASH, "decimal");
	refused("scrypt$99999999999999999999999$8$1$" SALT "$" HASH,
		"decimal");
	refused("scrypt$30000$8$1$" SALT "$" HASH, "power of two");
	refused("scrypt$512$8$1$" SALT "$" HASH, "power of two");
	refused("scrypt$2097152$8$1$" SALT "$" HASH, "power of two");
	refused("scrypt$32768$0$1$" SALT "$" HASH, "r must");
	refused("scrypt$32768$33$1$" SALT "$" HASH, "r must");
	refused("scrypt$32768$8$0$" SALT "$" HASH, "p must");
	refused("scrypt$32768$8$17$" SALT "$" HASH, "p must");
	refused("scrypt$1048576$8$1$" SALT "$" HASH, "256 MiB");
	refused("scrypt$32768$8$1$$" HASH, "salt");
	refused("scrypt$32768$8$1$c2FsdA==$" HASH, "salt");      /* 4 bytes */
	refused("scrypt$32768$8$1$c2Fsd*Bz$" HASH, "salt");
	refused("scrypt$32768$8$1$ c2FsdHNhbHRzYWx0c2FsdA=$" HASH, "salt");
	refused("scrypt$32768$8$1$" SALT "$aGFzaA==", "hash");   /* 4 bytes */
	refused("scrypt$32768$8$1$" SALT "$" HASH "=", "hash");
	refused("scrypt$32768$8$1$" SALT "$", "hash");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_make_then_verify),
		cmocka_unit_test(test_salts_differ),
		cmocka_unit_test(test_decoy),
		cmocka_unit_test(test_empty_and_binary_passwords),
		cmocka_unit_test(test_make_refuses),
		cmocka_unit_test(test_long_password_never_verifies),
		cmocka_unit_test(test_parse_accepts_any_sane_cost),
		cmocka_unit_test(test_parse_refuses),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
