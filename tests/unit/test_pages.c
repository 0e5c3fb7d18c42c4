/* test_pages.c: unit tests of lib/pages.c: a page rendered from a store
 * holding hostile bulletins: escaped, in order of severity, markers
 * replaced, the style sheet inline, bounded, areas named from the
 * directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulletin_store.h"
#include "catalog.h"
#include "err.h"
#include "http.h"
#include "pages.h"
#include "search.h"

/* ---- rendering ------------------------------------------------------------------- */

static const char TEMPLATE[] =
	"<head>" PAGES_MARK_STYLE "<link rel=\"stylesheet\" href=\"x.css\">"
	"<!--/alliance:style--></head><section id=\"alerts\">"
	PAGES_MARK_BANNER "</section><div id=\"list\">" PAGES_MARK_LIST
	"<p>loading</p><!--/alliance:bulletins--></div>";

/* store_one: a bulletin with hostile texts in db (not signed: the store
 * takes what the caller verified). */
static void store_one(sqlite3 *db, struct bulletin_store *bs, const char *id,
		      const char *severity, const char *headline)
{
	BulletinContent c = ALLIANCE__V1__BULLETIN_CONTENT__INIT;
	enum bulletin_put out;
	uint8_t buf[4096], sig[64] = { 0 };
	size_t len;

	(void)db;
	c.id = (char *)id;
	c.key_id = "0123456789abcdef";
	c.sender = "Office <b>&</b>";
	c.type = "alert";
	c.severity = (char *)severity;
	c.urgency = "immediate";
	c.certainty = "observed";
	c.category = "public-safety";
	c.headline = (char *)headline;
	c.description = "what 'happened' & why";
	c.cause = "cause";
	c.response = "response";
	c.instructions = "call 0532-12345678 <now>";
	c.sent = 1800000000;
	c.expires = 1800003600;
	len = alliance__v1__bulletin_content__get_packed_size(&c);
	assert_true(len < sizeof(buf));
	alliance__v1__bulletin_content__pack(&c, buf);
	assert_int_equal(bulletin_store_put(bs, buf, len, sig, sizeof(sig), &c,
					    NULL, 0, &out), ERR_OK);
}

static void test_render_escapes_orders_and_inlines(void **state)
{
	struct bulletin_store *bs = NULL;
	char *page = NULL, hash[HTTP_STYLE_HASH_MAX], *sev, *ext;
	size_t len = 0;
	sqlite3 *db;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, bulletin_schema_v1, NULL, NULL,
				      NULL), SQLITE_OK);
	assert_int_equal(bulletin_store_open(db, &bs), ERR_OK);
	store_one(db, bs, "b-minor", "minor", "a minor one");
	store_one(db, bs, "b-sev", "severe", "<script>alert(\"x\")</script>");
	store_one(db, bs, "b-ext", "extreme", "extreme & 'quoted'");
	assert_int_equal(pages_render(db, 1800000100, TEMPLATE,
				      sizeof(TEMPLATE) - 1, "body{color:red}",
				      &page, &len, hash, sizeof(hash)),
			 ERR_OK);
	assert_int_equal(strlen(page), len);
	/* escaped, never raw */
	assert_null(strstr(page, "<script>"));
	assert_non_null(strstr(page, "&lt;script&gt;alert(&quot;x&quot;)"
				     "&lt;/script&gt;"));
	assert_non_null(strstr(page, "extreme &amp; &#39;quoted&#39;"));
	assert_non_null(strstr(page, "Office &lt;b&gt;&amp;&lt;/b&gt;"));
	assert_non_null(strstr(page, "<a class=\"tel\" href=\"tel:053212345678\">"
				     "0532-12345678</a> &lt;now&gt;"));
	/* the extreme one first, then severe, then minor */
	ext = strstr(page, "data-bulletin=\"b-ext\"");
	sev = strstr(page, "data-bulletin=\"b-sev\"");
	assert_non_null(ext);
	assert_non_null(sev);
	assert_true(ext < sev && sev < strstr(page, "data-bulletin=\"b-minor\""));
	/* the markers and what they enclosed are gone; the style is inline */
	assert_null(strstr(page, "<!--alliance:"));
	assert_null(strstr(page, "loading"));
	assert_null(strstr(page, "x.css"));
	assert_non_null(strstr(page, "<style>body{color:red}</style>"));
	assert_string_equal(hash,
		"'sha256-FcQqt3aNlV7AZnGV4zkQRVeCeJOxbMPnQSx258L803E='");
	free(page);

	/* past its expiry nothing is in force; a style that could close
	 * the element early stays a link */
	assert_int_equal(pages_render(db, 1800003600, TEMPLATE,
				      sizeof(TEMPLATE) - 1, "a{}</style><x>",
				      &page, &len, hash, sizeof(hash)),
			 ERR_OK);
	assert_null(strstr(page, "data-bulletin"));
	assert_non_null(strstr(page, "目前没有紧急通告"));
	assert_non_null(strstr(page, "x.css"));
	assert_string_equal(hash, "");
	free(page);
	bulletin_store_close(&bs);
	sqlite3_close(db);
}

static void test_render_is_bounded(void **state)
{
	struct bulletin_store *bs = NULL;
	char *page = NULL, hash[HTTP_STYLE_HASH_MAX], id[32], *big;
	size_t len = 0, i;
	sqlite3 *db;

	(void)state;
	big = malloc(LIMIT_BULLETIN_HEADLINE + 1);
	assert_non_null(big);
	memset(big, '<', LIMIT_BULLETIN_HEADLINE);   /* 4 bytes escaped */
	big[LIMIT_BULLETIN_HEADLINE] = '\0';
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, bulletin_schema_v1, NULL, NULL,
				      NULL), SQLITE_OK);
	assert_int_equal(bulletin_store_open(db, &bs), ERR_OK);
	for (i = 0; i < BULLETIN_LIST_MAX; i++) {
		snprintf(id, sizeof(id), "b-%03zu", i);
		store_one(db, bs, id, "severe", big);
	}
	assert_int_equal(pages_render(db, 1800000100, TEMPLATE,
				      sizeof(TEMPLATE) - 1, NULL, &page, &len,
				      hash, sizeof(hash)), ERR_OK);
	/* every bulletin is in force, but the page stays bounded and says
	 * how many it left out */
	assert_true(len < LIMIT_PAGE_BANNER_BYTES + LIMIT_PAGE_LIST_BYTES +
			  2 * 8192);
	assert_non_null(strstr(page, "条紧急通告未在此显示"));
	free(page);
	free(big);
	bulletin_store_close(&bs);
	sqlite3_close(db);
}

/* An area lists communities by the directory's names (escaped), and by id
 * where the directory has none. */
static void test_render_names_the_area(void **state)
{
	static const char *const schema[] = { catalog_schema_v1,
		catalog_schema_v2, catalog_schema_v3, catalog_schema_v4,
		catalog_schema_v5, catalog_schema_v6,
		catalog_schema_v7 };
	Alliance__V1__Community name = ALLIANCE__V1__COMMUNITY__INIT;
	BulletinContent c = ALLIANCE__V1__BULLETIN_CONTENT__INIT;
	char *area[] = { "zhuhai-road", "no-such-one" };
	struct bulletin_store *bs = NULL;
	char *page = NULL, hash[HTTP_STYLE_HASH_MAX];
	uint8_t buf[4096], sig[64] = { 0 };
	enum bulletin_put out;
	sqlite3_stmt *st;
	size_t len = 0, i;
	sqlite3 *db;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(search_register(db), ERR_OK);
	assert_int_equal(sqlite3_exec(db, bulletin_schema_v1, NULL, NULL,
				      NULL), SQLITE_OK);
	for (i = 0; i < sizeof(schema) / sizeof(schema[0]); i++)
		assert_int_equal(sqlite3_exec(db, schema[i], NULL, NULL, NULL),
				 SQLITE_OK);
	name.name = "珠海路<街道>";
	len = alliance__v1__community__pack(&name, buf);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO directory (origin,"
		" kind, id, version, body) VALUES ('district', ?1,"
		" 'zhuhai-road', 1, ?2)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int(st, 1, ALLIANCE__V1__KIND__KIND_COMMUNITY);
	sqlite3_bind_blob(st, 2, buf, (int)len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);

	assert_int_equal(bulletin_store_open(db, &bs), ERR_OK);
	c.id = "b-area";
	c.key_id = "0123456789abcdef";
	c.sender = "office";
	c.type = "alert";
	c.severity = "severe";
	c.urgency = "immediate";
	c.certainty = "observed";
	c.category = "public-safety";
	c.headline = "storm";
	c.n_area = 2;
	c.area = area;
	c.sent = 1800000000;
	c.expires = 1800003600;
	len = alliance__v1__bulletin_content__pack(&c, buf);
	assert_int_equal(bulletin_store_put(bs, buf, len, sig, sizeof(sig), &c,
					    NULL, 0, &out), ERR_OK);
	assert_int_equal(pages_render(db, 1800000100, TEMPLATE,
				      sizeof(TEMPLATE) - 1, NULL, &page, &len,
				      hash, sizeof(hash)), ERR_OK);
	assert_non_null(strstr(page, "范围：珠海路&lt;街道&gt;、no-such-one"));
	assert_null(strstr(page, "zhuhai-road<"));
	free(page);
	bulletin_store_close(&bs);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_escapes_orders_and_inlines),
		cmocka_unit_test(test_render_is_bounded),
		cmocka_unit_test(test_render_names_the_area),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
