/* test_http.c: unit tests of lib/http.c's rules of RFC 9110 that need no
 * connection: If-None-Match (weak comparison, lists, "*"), Accept-Encoding
 * (q-values), which types are compressed, gzip itself, and the ETag of a
 * body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "err.h"
#include "http.h"

static void test_if_none_match(void **state)
{
	const char *tag = "\"abc\"";

	(void)state;
	assert_true(http_etag_match("\"abc\"", tag));
	assert_true(http_etag_match("W/\"abc\"", tag));          /* weak */
	assert_true(http_etag_match("\"x\", W/\"y\",\"abc\"", tag));  /* list */
	assert_true(http_etag_match(" * ", tag));
	assert_true(http_etag_match("\"abc\"", "W/\"abc\""));
	assert_false(http_etag_match("\"abcd\"", tag));
	assert_false(http_etag_match("abc", tag));              /* unquoted */
	assert_false(http_etag_match("\"ab\"c\"", tag));
	assert_false(http_etag_match("**", tag));
	assert_false(http_etag_match("*, \"x\"", tag));
	assert_false(http_etag_match("\"abc", tag));            /* unclosed */
	assert_false(http_etag_match("", tag));
	assert_false(http_etag_match(NULL, tag));
	assert_false(http_etag_match("*", ""));                 /* no tag */
	/* a malformed element ends the list */
	assert_false(http_etag_match("x, \"abc\"", tag));
}

static void test_accept_encoding(void **state)
{
	(void)state;
	assert_true(http_accepts_gzip("gzip"));
	assert_true(http_accepts_gzip("deflate, GZIP"));
	assert_true(http_accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
	assert_true(http_accepts_gzip("x-gzip"));
	assert_true(http_accepts_gzip("*"));
	assert_true(http_accepts_gzip("gzip ; q=0.001"));
	assert_false(http_accepts_gzip(NULL));
	assert_false(http_accepts_gzip(""));
	assert_false(http_accepts_gzip("identity"));
	assert_false(http_accepts_gzip("gzip;q=0"));
	assert_false(http_accepts_gzip("gzip;q=0.000"));
	assert_false(http_accepts_gzip("*;q=0"));
	assert_false(http_accepts_gzip("gzip;q=0, *"));        /* named wins */
	assert_false(http_accepts_gzip("gzipped, br"));
}

static void test_compressible(void **state)
{
	(void)state;
	assert_true(http_compressible("text/html; charset=utf-8"));
	assert_true(http_compressible("application/json"));
	assert_true(http_compressible("application/javascript; charset=utf-8"));
	assert_true(http_compressible("application/atom+xml"));
	assert_false(http_compressible("text/event-stream; charset=utf-8"));
	assert_false(http_compressible("image/png"));
	assert_false(http_compressible("application/jsonx"));
	assert_false(http_compressible(NULL));
}

static void test_gzip_round_trip(void **state)
{
	char in[4096], back[4096], *gz = NULL;
	size_t gz_len = 0;
	uLongf back_len;
	z_stream z;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = "通知 notice "[i % 13];
	assert_int_equal(http_gzip(in, sizeof(in), 9, &gz, &gz_len), ERR_OK);
	assert_true(gz_len < sizeof(in) / 4);
	assert_int_equal((unsigned char)gz[0], 0x1f);   /* gzip magic */
	assert_int_equal((unsigned char)gz[1], 0x8b);
	memset(&z, 0, sizeof(z));
	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz;
	z.avail_in = (uInt)gz_len;
	z.next_out = (Bytef *)back;
	z.avail_out = sizeof(back);
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	back_len = z.total_out;
	inflateEnd(&z);
	assert_int_equal(back_len, sizeof(in));
	assert_memory_equal(back, in, sizeof(in));
	free(gz);
}

/* The ETag of a body is the first 128 bits of its SHA-256, in lower-case
 * hex and quoted (FIPS 180-2's vectors), whatever the thread; too little
 * room gives "". */
static void test_etag_of(void **state)
{
	char tag[HTTP_ETAG_MAX];

	(void)state;
	http_etag_of("abc", 3, tag, sizeof(tag));
	assert_string_equal(tag, "\"ba7816bf8f01cfea414140de5dae2223\"");
	http_etag_of(NULL, 0, tag, sizeof(tag));
	assert_string_equal(tag, "\"e3b0c44298fc1c149afbf4c8996fb924\"");
	http_etag_of("abc", 3, tag, 34);
	assert_string_equal(tag, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_if_none_match),
		cmocka_unit_test(test_accept_encoding),
		cmocka_unit_test(test_compressible),
		cmocka_unit_test(test_gzip_round_trip),
		cmocka_unit_test(test_etag_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
