/* test_text.c: unit tests of lib/text.c (UTF-8 and identifier grammars).
 *
 * Parts: UTF-8 accepted, UTF-8 refused (one test per rule), community ids,
 * record ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alliance_limits.h"
#include "text.h"

/* utf8: text_utf8_valid over a string literal, NULs included. */
#define utf8(lit) text_utf8_valid((lit), sizeof(lit) - 1)

/* ---- UTF-8 ------------------------------------------------------------- */

static void test_utf8_accepts(void **state)
{
	(void)state;
	assert_true(text_utf8_valid("", 0));
	assert_true(text_utf8_valid(NULL, 0));
	assert_true(utf8("plain ascii ~"));
	assert_true(utf8("\xc2\x80"));                  /* U+0080 */
	assert_true(utf8("caf\xc3\xa9"));               /* café */
	assert_true(utf8("\xe4\xb8\x8a\xe9\x97\xa8\xe7\x90\x86\xe5\x8f\x91"));
	assert_true(utf8("\xe0\xa0\x80"));              /* U+0800 */
	assert_true(utf8("\xed\x9f\xbf"));              /* U+D7FF */
	assert_true(utf8("\xee\x80\x80"));              /* U+E000 */
	assert_true(utf8("\xef\xbf\xbf"));              /* U+FFFF */
	assert_true(utf8("\xf0\x90\x80\x80"));          /* U+10000 */
	assert_true(utf8("\xf0\x9f\x98\x80"));          /* emoji */
	assert_true(utf8("\xf4\x8f\xbf\xbf"));          /* U+10FFFF */
}

static void test_utf8_refuses_nul(void **state)
{
	(void)state;
	assert_false(utf8("\0"));
	assert_false(utf8("bad\0id"));
	assert_false(utf8("abc\0"));
	/* the length, not a NUL, ends the buffer */
	assert_true(text_utf8_valid("abc\0", 3));
}

static void test_utf8_refuses_overlong(void **state)
{
	(void)state;
	assert_false(utf8("\xc0\x80"));                 /* NUL, overlong */
	assert_false(utf8("\xc1\xbf"));
	assert_false(utf8("\xe0\x80\x80"));
	assert_false(utf8("\xe0\x9f\xbf"));             /* U+07FF in 3 */
	assert_false(utf8("\xf0\x80\x80\x80"));
	assert_false(utf8("\xf0\x8f\xbf\xbf"));         /* U+FFFF in 4 */
}

static void test_utf8_refuses_surrogates(void **state)
{
	(void)state;
	assert_false(utf8("\xed\xa0\x80"));             /* U+D800 */
	assert_false(utf8("\xed\xbf\xbf"));             /* U+DFFF */
	assert_false(utf8("\xed\xa0\xbd\xed\xb8\x80")); /* CESU-8 pair */
}

static void test_utf8_refuses_above_max(void **state)
{
	(void)state;
	assert_false(utf8("\xf4\x90\x80\x80"));         /* U+110000 */
	assert_false(utf8("\xf5\x80\x80\x80"));
	assert_false(utf8("\xf8\x88\x80\x80\x80"));
	assert_false(utf8("\xff"));
	assert_false(utf8("\xfe"));
}

static void test_utf8_refuses_broken_sequences(void **state)
{
	(void)state;
	assert_false(utf8("\x80"));                     /* stray continuation */
	assert_false(utf8("a\xbf" "b"));
	assert_false(utf8("\xc3"));                     /* truncated at end */
	assert_false(utf8("\xe4\xb8"));
	assert_false(utf8("\xf0\x9f\x98"));
	assert_false(utf8("\xc3" "a"));                 /* lead then ASCII */
	assert_false(utf8("\xe4\xb8" "a"));
	assert_false(utf8("\xf0\x9f\x98" "a"));
	assert_false(utf8("\xe4\xc3\xa9"));             /* lead then lead */
	/* a valid sequence cut by the given length */
	assert_false(text_utf8_valid("caf\xc3\xa9", 4));
}

/* ---- community ids ------------------------------------------------------ */

static void test_utf8_chars(void **state)
{
	(void)state;
	assert_int_equal(text_utf8_chars(""), 0);
	assert_int_equal(text_utf8_chars("abc"), 3);
	assert_int_equal(text_utf8_chars("上门理发"), 4);
	assert_int_equal(text_utf8_chars("a\xc3\xa9\xf0\x9f\x98\x80"), 3);
}

static void test_community_valid(void **state)
{
	char buf[LIMIT_COMMUNITY_ID + 2];

	(void)state;
	assert_true(text_community_valid("ab"));
	assert_true(text_community_valid("a-"));
	assert_true(text_community_valid("0a"));
	assert_true(text_community_valid("north-gate-7"));
	assert_true(text_community_valid("node-0001"));

	memset(buf, 'a', sizeof(buf));
	buf[LIMIT_COMMUNITY_ID] = '\0';                 /* 63 bytes */
	assert_true(text_community_valid(buf));
	buf[LIMIT_COMMUNITY_ID] = 'a';
	buf[LIMIT_COMMUNITY_ID + 1] = '\0';             /* 64 bytes */
	assert_false(text_community_valid(buf));
}

static void test_community_invalid(void **state)
{
	(void)state;
	assert_false(text_community_valid(NULL));
	assert_false(text_community_valid(""));
	assert_false(text_community_valid("a"));        /* too short */
	assert_false(text_community_valid("-ab"));      /* leading hyphen */
	assert_false(text_community_valid("Ab"));       /* upper case */
	assert_false(text_community_valid("a_b"));
	assert_false(text_community_valid("a.b"));
	assert_false(text_community_valid("a b"));
	assert_false(text_community_valid("ab/"));
	assert_false(text_community_valid("caf\xc3\xa9"));
}

/* ---- record ids --------------------------------------------------------- */

static void test_record_id_valid(void **state)
{
	char buf[LIMIT_RECORD_ID + 2];

	(void)state;
	assert_true(text_record_id_valid("x"));
	assert_true(text_record_id_valid("svc-1"));
	assert_true(text_record_id_valid("Svc_2.v1-A"));
	assert_true(text_record_id_valid("2024-06-01.b7"));

	memset(buf, 'Z', sizeof(buf));
	buf[LIMIT_RECORD_ID] = '\0';                    /* 128 bytes */
	assert_true(text_record_id_valid(buf));
	buf[LIMIT_RECORD_ID] = 'Z';
	buf[LIMIT_RECORD_ID + 1] = '\0';                /* 129 bytes */
	assert_false(text_record_id_valid(buf));
}

static void test_record_id_invalid(void **state)
{
	(void)state;
	assert_false(text_record_id_valid(NULL));
	assert_false(text_record_id_valid(""));
	assert_false(text_record_id_valid("a b"));
	assert_false(text_record_id_valid("a/b"));
	assert_false(text_record_id_valid("a:b"));
	assert_false(text_record_id_valid("a\nb"));
	assert_false(text_record_id_valid("caf\xc3\xa9"));
	assert_false(text_record_id_valid("\xff"));
}

static void test_phone(void **state)
{
	(void)state;
	assert_true(text_phone_valid("13800138000"));
	assert_true(text_phone_valid("+86 (532) 8888-1234"));
	assert_false(text_phone_valid(""));
	assert_false(text_phone_valid("1234"));
	assert_false(text_phone_valid("123456789012345678901"));
	assert_false(text_phone_valid("138-0013-800a"));
	assert_false(text_phone_valid("call me"));
}

/* The digits of a number, a mobile's 86 dropped; mobiles only when asked. */
static void test_phone_digits(void **state)
{
	char d[LIMIT_PHONE_DIGITS + 1];

	(void)state;
	assert_true(text_phone_digits("+86 138 0013 8000", d, true));
	assert_string_equal(d, "13800138000");
	assert_true(text_phone_digits("0532-8888-1234", d, false));
	assert_string_equal(d, "053288881234");
	assert_false(text_phone_digits("0532-8888-1234", d, true));
	assert_false(text_phone_digits("12800138000", d, true));
	assert_false(text_phone_digits("1380013800", d, true));
	assert_false(text_phone_digits("1234", d, false));
	assert_false(text_phone_digits("123456789012345678901", d, false));
	assert_false(text_phone_digits(NULL, d, false));
}

/* A phone number as logs show it: no more than the first three and the
 * last two digits of a long one, none of a short one. */
static void test_phone_mask(void **state)
{
	char out[64];

	(void)state;
	text_phone_mask("phone:13800138000", out, sizeof(out));
	assert_string_equal(out, "phone:138******00");
	text_phone_mask("+86 138-0013-8000", out, sizeof(out));
	assert_string_equal(out, "+86 1**-****-**00");
	text_phone_mask("phone:12345", out, sizeof(out));
	assert_string_equal(out, "phone:*****");
	text_phone_mask("13800138000", out, 5);
	assert_string_equal(out, "138*");
	text_phone_mask("", out, sizeof(out));
	assert_string_equal(out, "");
}

/* text_hash is FNV-1a 32: the published test vectors */
static void test_hash(void **state)
{
	(void)state;
	assert_int_equal(text_hash(""), 0x811c9dc5u);
	assert_int_equal(text_hash("a"), 0xe40c292cu);
	assert_int_equal(text_hash("foobar"), 0xbf9cf968u);
	assert_int_not_equal(text_hash("ab"), text_hash("ba"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_accepts),
		cmocka_unit_test(test_utf8_refuses_nul),
		cmocka_unit_test(test_utf8_refuses_overlong),
		cmocka_unit_test(test_utf8_refuses_surrogates),
		cmocka_unit_test(test_utf8_refuses_above_max),
		cmocka_unit_test(test_utf8_refuses_broken_sequences),
		cmocka_unit_test(test_utf8_chars),
		cmocka_unit_test(test_community_valid),
		cmocka_unit_test(test_community_invalid),
		cmocka_unit_test(test_record_id_valid),
		cmocka_unit_test(test_record_id_invalid),
		cmocka_unit_test(test_phone),
		cmocka_unit_test(test_phone_digits),
		cmocka_unit_test(test_phone_mask),
		cmocka_unit_test(test_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
