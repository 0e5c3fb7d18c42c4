/* test_route.c: unit tests of lib/route.c (the route table's matcher).
 *
 * Parts: exact paths; params; suffixed params; prefixes; 404; 405 and the
 * union of methods in Allow; HEAD; paths taken as they are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "route.h"

static void fn(void *ctx, struct lws *wsi, struct http_exchange *ex,
	       const struct route_match *m)
{
	(void)ctx; (void)wsi; (void)ex; (void)m;
}

static const struct route rows[] = {
	{ ROUTE_GET, "/healthz", ROUTE_PUBLIC, fn, 0 },                     /* 0 */
	{ ROUTE_GET | ROUTE_POST, "/api/v1/polls", ROUTE_PUBLIC, fn, 0 },   /* 1 */
	{ ROUTE_POST, "/api/v1/polls/{key}/close", ROUTE_MANAGER, fn, 0 },  /* 2 */
	{ ROUTE_GET, "/api/v1/polls/{key}", ROUTE_PUBLIC, fn, 0 },          /* 3 */
	{ ROUTE_PATCH, "/api/v1/requests/{id}", ROUTE_MANAGER, fn, 0 },     /* 4 */
	{ ROUTE_GET, "/api/v1/services/{id}", ROUTE_PUBLIC, fn, 0 },        /* 5 */
	{ ROUTE_PUT | ROUTE_DELETE, "/api/v1/services/{id}", ROUTE_MANAGER,
	  fn, 0 },                                                          /* 6 */
	{ ROUTE_GET, "/api/v1/catalog/services/*", ROUTE_PUBLIC, fn, 0 },   /* 7 */
	{ ROUTE_GET, "/api/v1/bulletins/{id}.cap", ROUTE_PUBLIC, fn, 0 },   /* 8 */
	{ ROUTE_GET, "/api/v1/bulletins/{id}", ROUTE_PUBLIC, fn, 0 },       /* 9 */
	{ ROUTE_POST, "/a/{x}/b/{y}", ROUTE_PUBLIC, fn, 0 },                /* 10 */
	{ ROUTE_ANY, "/open311/*", ROUTE_PUBLIC, fn, 0 },                   /* 11 */
};
#define N (sizeof(rows) / sizeof(rows[0]))

/* row: the index of the row path and method find, or -1 (404) or -2 (405
 * with m->allow set). */
static int row(const char *path, enum http_method method,
	       struct route_match *m)
{
	switch (route_find(rows, N, path, method, m)) {
	case ROUTE_FOUND: return (int)(m->route - rows);
	case ROUTE_NOT_ALLOWED: return -2;
	default: return -1;
	}
}

/* ---- exact paths, params, prefixes --------------------------------------- */

static void test_exact(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(row("/healthz", HTTP_GET, &m), 0);
	assert_int_equal(m.n_params, 0);
	assert_null(m.rest);
	assert_int_equal(row("/api/v1/polls", HTTP_POST, &m), 1);
	assert_int_equal(row("/api/v1/polls", HTTP_GET, &m), 1);
}

static void test_params(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(row("/api/v1/requests/r-1", HTTP_PATCH, &m), 4);
	assert_int_equal(m.n_params, 1);
	assert_string_equal(m.param[0], "r-1");
	/* the more specific row first: /close is not a key */
	assert_int_equal(row("/api/v1/polls/c:p/close", HTTP_POST, &m), 2);
	assert_string_equal(m.param[0], "c:p");
	assert_int_equal(row("/api/v1/polls/c:p", HTTP_GET, &m), 3);
	assert_string_equal(m.param[0], "c:p");
	assert_int_equal(row("/a/one/b/two", HTTP_POST, &m), 10);
	assert_int_equal(m.n_params, 2);
	assert_string_equal(m.param[0], "one");
	assert_string_equal(m.param[1], "two");
	/* a param is one segment, never empty */
	assert_int_equal(row("/api/v1/requests/a/b", HTTP_PATCH, &m), -1);
	assert_int_equal(row("/api/v1/requests/", HTTP_PATCH, &m), -1);
	assert_int_equal(row("/a//b/two", HTTP_POST, &m), -1);
}

static void test_suffixed_param(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(row("/api/v1/bulletins/b1.cap", HTTP_GET, &m), 8);
	assert_string_equal(m.param[0], "b1");
	assert_int_equal(row("/api/v1/bulletins/b1", HTTP_GET, &m), 9);
	assert_string_equal(m.param[0], "b1");
	/* the suffix alone is no param: the plain row takes it */
	assert_int_equal(row("/api/v1/bulletins/.cap", HTTP_GET, &m), 9);
	assert_string_equal(m.param[0], ".cap");
}

static void test_prefix(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(row("/api/v1/catalog/services/x/y", HTTP_GET, &m), 7);
	assert_string_equal(m.rest, "x/y");
	assert_int_equal(row("/api/v1/catalog/services/", HTTP_GET, &m), 7);
	assert_string_equal(m.rest, "");
	assert_int_equal(row("/api/v1/catalog/services", HTTP_GET, &m), -1);
}

/* ---- 404, 405, HEAD ------------------------------------------------------ */

static void test_not_found(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(row("/nope", HTTP_GET, &m), -1);
	assert_int_equal(row("/", HTTP_GET, &m), -1);
	assert_int_equal(row("", HTTP_GET, &m), -1);
	assert_int_equal(row("/healthzz", HTTP_GET, &m), -1);
	assert_int_equal(row("/health", HTTP_GET, &m), -1);
	assert_null(m.route);
}

static void test_405_allow_is_the_union(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(row("/healthz", HTTP_POST, &m), -2);
	assert_string_equal(route_allow(m.allow), "GET, HEAD");
	/* two rows share the pattern: their methods together */
	assert_int_equal(row("/api/v1/services/s1", HTTP_POST, &m), -2);
	assert_string_equal(route_allow(m.allow), "GET, HEAD, PUT, DELETE");
	assert_int_equal(row("/api/v1/polls", HTTP_DELETE, &m), -2);
	assert_string_equal(route_allow(m.allow), "GET, HEAD, POST");
	assert_int_equal(row("/api/v1/requests/r1", HTTP_GET, &m), -2);
	assert_string_equal(route_allow(m.allow), "PATCH");
	/* a method lws does not name matches no row */
	assert_int_equal(row("/healthz", HTTP_OTHER, &m), -2);
	assert_string_equal(route_allow(m.allow), "GET, HEAD");
	assert_null(m.route);
}

static void test_allow_text(void **state)
{
	(void)state;
	assert_string_equal(route_allow(0), "");
	assert_string_equal(route_allow(ROUTE_DELETE), "DELETE");
	assert_string_equal(route_allow(ROUTE_GET | ROUTE_POST | ROUTE_PUT |
					ROUTE_PATCH | ROUTE_DELETE),
			    "GET, HEAD, POST, PUT, PATCH, DELETE");
	assert_string_equal(route_allow(ROUTE_PATCH | ROUTE_GET),
			    "GET, HEAD, PATCH");
	assert_string_equal(route_method_name(HTTP_PATCH), "PATCH");
	assert_string_equal(route_method_name(HTTP_OTHER), "this method");
}

/* HEAD arrives as HTTP_GET (http.h): a GET row answers it. */
static void test_head_is_get(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(row("/api/v1/polls/c:p", HTTP_GET, &m), 3);
	assert_true(rows[3].methods & ROUTE_GET);
}

/* A row of every method takes those lws does not name too (it answers
 * its own 405s). */
static void test_any_method(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(row("/open311/v2/x.json", HTTP_OTHER, &m), 11);
	assert_string_equal(m.rest, "v2/x.json");
	assert_int_equal(row("/open311/v2/x.json", HTTP_PATCH, &m), 11);
	assert_string_equal(route_allow(ROUTE_ANY),
			    "GET, HEAD, POST, PUT, PATCH, DELETE");
}

/* ---- paths as they are --------------------------------------------------- */

/* The path is matched as http_begin decoded it: a trailing slash is
 * another path, and a decoded "%2F" is a '/' that splits segments. */
static void test_path_taken_as_is(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(row("/healthz/", HTTP_GET, &m), -1);
	assert_int_equal(row("/api/v1/polls/", HTTP_GET, &m), -1);
	assert_int_equal(row("/api/v1/services/a/b", HTTP_GET, &m), -1);
	assert_int_equal(row("/api/v1/services/a b", HTTP_GET, &m), 5);
	assert_string_equal(m.param[0], "a b");
	assert_int_equal(row("/API/v1/polls", HTTP_GET, &m), -1);
}

/* A param as long as the longest path fits. */
static void test_long_param(void **state)
{
	struct route_match m;
	char path[LIMIT_HTTP_URI + 1];
	size_t pre = strlen("/api/v1/requests/");

	(void)state;
	memcpy(path, "/api/v1/requests/", pre);
	memset(path + pre, 'x', sizeof(path) - 1 - pre);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(row(path, HTTP_PATCH, &m), 4);
	assert_int_equal(strlen(m.param[0]), LIMIT_HTTP_URI - pre);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_suffixed_param),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_405_allow_is_the_union),
		cmocka_unit_test(test_allow_text),
		cmocka_unit_test(test_head_is_get),
		cmocka_unit_test(test_any_method),
		cmocka_unit_test(test_path_taken_as_is),
		cmocka_unit_test(test_long_param),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
