/* test_bulletin_render.c: unit tests of lib/bulletin_render.c: CAP 1.2
 * (element order, escaping, -00:00, one <info> per language with its own
 * labels, references as sender,identifier,sent, the sender's characters)
 * and Atom (a feed id and links from the public base URL).
 *
 * Parts: a sample bulletin; CAP's sender and times; CAP; Atom. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bulletin_render.h"
#include "err.h"

#define BASE "https://shinan.example.org"

/* ---- a sample bulletin ---------------------------------------------------- */

static void sample(BulletinContent *c)
{
	static char *area[] = { "badaguan", "zhongshan-lu" };

	alliance__v1__bulletin_content__init(c);
	c->id = "b-20261129150405-0a1b2c3d";
	c->key_id = "0123456789abcdef";
	c->sender = "shinan.qingdao.alliance";
	c->type = "alert";
	c->severity = "severe";
	c->urgency = "immediate";
	c->certainty = "observed";
	c->category = "public-safety";
	c->headline = "水管爆裂";
	c->description = "中山路水管爆裂。";
	c->cause = "冻胀";
	c->response = "抢修中";
	c->instructions = "请将自来水煮沸";
	c->area = area;
	c->n_area = 2;
	c->sent = 1795964645;       /* 2026-11-29T15:04:05Z */
	c->expires = c->sent + 86400;
}

static const char *after(const char *from, const char *needle)
{
	return from ? strstr(from, needle) : NULL;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

/* ---- CAP's sender and times ------------------------------------------------ */

static void test_cap_sender_rules(void **state)
{
	char out[BULLETIN_CAP_SENDER_MAX + 1], big[BULLETIN_CAP_SENDER_MAX + 2];

	(void)state;
	assert_true(bulletin_cap_sender_valid("shinan.qingdao.alliance"));
	assert_true(bulletin_cap_sender_valid("ops@example.org"));
	assert_false(bulletin_cap_sender_valid(""));
	assert_false(bulletin_cap_sender_valid(NULL));
	assert_false(bulletin_cap_sender_valid("Local Operator"));
	assert_false(bulletin_cap_sender_valid("a,b"));
	assert_false(bulletin_cap_sender_valid("a<b"));
	assert_false(bulletin_cap_sender_valid("a&b"));
	assert_false(bulletin_cap_sender_valid("tab\there"));
	assert_false(bulletin_cap_sender_valid("bad \xc3\x28"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(bulletin_cap_sender_valid(big));
	/* an older bulletin's operator name becomes a valid sender */
	assert_string_equal(bulletin_cap_sender("Li Wei, <ops> & co", out,
						sizeof(out)),
			    "Li_Wei___ops>___co");
	assert_true(bulletin_cap_sender_valid(out));
	assert_string_equal(bulletin_cap_sender("shinan.qingdao.alliance", out,
						sizeof(out)),
			    "shinan.qingdao.alliance");
}

static void test_cap_time_is_minus_zero(void **state)
{
	char t[40];

	(void)state;
	assert_string_equal(bulletin_time_cap(1795964645, t, sizeof(t)),
			    "2026-11-29T15:04:05-00:00");
}

static void test_cap_categories(void **state)
{
	(void)state;
	assert_string_equal(bulletin_cap_category("public-safety"), "Safety");
	assert_string_equal(bulletin_cap_category("health-maternity"), "Health");
	assert_string_equal(bulletin_cap_category("environment"), "Env");
	assert_string_equal(bulletin_cap_category("weather"), "Met");
	assert_string_equal(bulletin_cap_category("infrastructure"), "Infra");
	assert_string_equal(bulletin_cap_category("cbrne"), "CBRNE");
	assert_string_equal(bulletin_cap_category("neighbourhood-life"),
			    "Other");
	assert_string_equal(bulletin_cap_category("nonsense"), "Other");
}

/* ---- CAP ------------------------------------------------------------------- */

static void test_cap_order_and_escaping(void **state)
{
	static const char *const order[] = {
		"<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">",
		"<identifier>", "<sender>shinan.qingdao.alliance</sender>",
		"<sent>2026-11-29T15:04:05-00:00</sent>",
		"<status>Actual</status>", "<msgType>Update</msgType>",
		"<scope>Public</scope>",
		"<references>Li_Wei,b-old,2026-11-29T14:00:00-00:00 "
		"shinan.qingdao.alliance,b-older,2026-11-29T13:00:00-00:00"
		"</references>",
		"<info>", "<language>zh-CN</language>",
		"<category>Fire</category>", "<event>", "<urgency>",
		"<severity>Extreme</severity>", "<certainty>", "<expires>",
		"<senderName>", "<headline>", "<description>", "<instruction>",
		"<web>" BASE "/bulletins.html#b-b-20261129150405-0a1b2c3d</web>",
		"<area>", "<areaDesc>badaguan, zhongshan-lu</areaDesc>",
		"</info>", "</alert>",
	};
	struct bulletin_cap_ref refs[] = {
		{ "Li Wei", 1795960800 }, { NULL, 0 },
		{ "shinan.qingdao.alliance", 1795957200 },
	};
	BulletinContent c;
	char *ids[] = { "b-old", "b-elsewhere", "b-older" }, *xml;
	const char *at;
	size_t len, i;

	(void)state;
	sample(&c);
	c.type = "update";
	c.references = ids;
	c.n_references = 3;
	c.category = "fire";
	c.severity = "extreme";
	c.headline = "<script>alert('x')</script> & \"q\"";
	assert_int_equal(bulletin_cap_xml(&c, refs, BASE, &xml, &len), ERR_OK);
	assert_int_equal(strlen(xml), len);
	at = xml;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		at = after(at, order[i]);
		if (!at)
			fail_msg("CAP element %s missing or out of order:\n%s",
				 order[i], xml);
	}
	/* a reference not held here is left out, never guessed */
	assert_null(strstr(xml, "b-elsewhere"));
	assert_null(strstr(xml, "<script>"));
	assert_non_null(strstr(xml, "<headline>&lt;script&gt;alert(&apos;x&apos;)"
			       "&lt;/script&gt; &amp; &quot;q&quot;</headline>"));
	assert_null(strstr(xml, "+00:00"));
	free(xml);
	/* an alert has no <references>; an empty area is everyone */
	sample(&c);
	c.n_area = 0;
	assert_int_equal(bulletin_cap_xml(&c, NULL, NULL, &xml, &len), ERR_OK);
	assert_null(strstr(xml, "<references>"));
	assert_null(strstr(xml, "<web>"));
	assert_non_null(strstr(xml, "<areaDesc>全部社区</areaDesc>"));
	assert_non_null(strstr(xml, "<category>Safety</category>"));
	free(xml);
	/* no references held here: no <references> at all */
	sample(&c);
	c.type = "cancel";
	c.references = ids;
	c.n_references = 1;
	assert_int_equal(bulletin_cap_xml(&c, NULL, NULL, &xml, &len), ERR_OK);
	assert_null(strstr(xml, "<references>"));
	free(xml);
}

static void test_cap_info_per_language(void **state)
{
	BulletinContent c;
	char *xml;
	const char *en;
	size_t len;

	(void)state;
	/* Chinese only: one block, Chinese labels */
	sample(&c);
	assert_int_equal(bulletin_cap_xml(&c, NULL, BASE, &xml, &len), ERR_OK);
	assert_int_equal(count(xml, "<info>"), 1);
	assert_non_null(strstr(xml, "<description>中山路水管爆裂。\n\n原因：冻胀"
			       "\n\n政府应对：抢修中</description>"));
	assert_null(strstr(xml, "Cause:"));
	assert_null(strstr(xml, "en-US"));
	free(xml);
	/* with English: a second block in en-US, English labels, and only
	 * the English text in it */
	sample(&c);
	c.headline_en = "Burst water main";
	c.description_en = "A main burst on Zhongshan Road.";
	c.cause_en = "Frost";
	c.instructions_en = "Boil water";
	c.n_area = 0;
	assert_int_equal(bulletin_cap_xml(&c, NULL, BASE, &xml, &len), ERR_OK);
	assert_int_equal(count(xml, "<info>"), 2);
	en = strstr(xml, "<language>en-US</language>");
	assert_non_null(en);
	assert_true(strstr(xml, "<language>zh-CN</language>") < en);
	assert_non_null(strstr(en, "<event>Burst water main</event>"));
	assert_non_null(strstr(en, "<description>A main burst on Zhongshan "
			       "Road.\n\nCause: Frost</description>"));
	assert_non_null(strstr(en, "<instruction>Boil water</instruction>"));
	assert_non_null(strstr(en, "<areaDesc>All communities</areaDesc>"));
	assert_null(strstr(en, "原因"));
	assert_null(strstr(en, "抢修中"));     /* no English response given */
	free(xml);
}

/* ---- Atom ------------------------------------------------------------------ */

static void test_atom(void **state)
{
	BulletinContent c;
	struct bulletin_atom_entry e = { &c, "current" };
	char *xml;
	size_t len;

	(void)state;
	sample(&c);
	c.description = "a < b & c";
	assert_int_equal(bulletin_atom("Bulletins & <more>", BASE, &e, 1,
				       0, &xml, &len), ERR_OK);
	assert_non_null(strstr(xml, "<feed xmlns=\"http://www.w3.org/2005/"
			       "Atom\">"));
	assert_non_null(strstr(xml, "<id>" BASE "/api/v1/bulletins.atom</id>"));
	assert_non_null(strstr(xml, "<link rel=\"self\" type=\"application/"
			       "atom+xml\" href=\"" BASE
			       "/api/v1/bulletins.atom\"/>"));
	assert_non_null(strstr(xml, "<title>Bulletins &amp; &lt;more&gt;"
			       "</title>"));
	assert_non_null(strstr(xml, "<updated>2026-11-29T15:04:05Z</updated>"));
	assert_non_null(strstr(xml, "<summary>a &lt; b &amp; c</summary>"));
	assert_non_null(strstr(xml, "<link rel=\"alternate\" type=\"application/"
			       "cap+xml\" href=\"" BASE "/api/v1/bulletins/"
			       "b-20261129150405-0a1b2c3d.cap\"/>"));
	assert_null(strstr(xml, "href=\"/"));    /* nothing relative */
	free(xml);
	assert_int_equal(bulletin_atom("t", "http://10.0.0.1:8080", NULL, 0,
				       1795964645, &xml, &len), ERR_OK);
	assert_null(strstr(xml, "<entry>"));
	assert_non_null(strstr(xml, "<id>http://10.0.0.1:8080/api/v1/"
			       "bulletins.atom</id>"));
	free(xml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap_sender_rules),
		cmocka_unit_test(test_cap_time_is_minus_zero),
		cmocka_unit_test(test_cap_categories),
		cmocka_unit_test(test_cap_order_and_escaping),
		cmocka_unit_test(test_cap_info_per_language),
		cmocka_unit_test(test_atom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
