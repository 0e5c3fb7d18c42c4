/* test_xml_out.c: unit tests of lib/xml_out.c, its output read back by
 * a real XML parser (libxml2): markup characters, CR, control
 * characters, U+FFFE/U+FFFF and bytes that are not UTF-8 come back as
 * the text they were (or U+FFFD where XML cannot carry them), never as
 * markup; JSON values take Open311's element shape; bad names and
 * unnamed arrays are refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "xml_out.h"

static const struct xml_out_item items[] = {
	{ "services", "service" }, { "values", "value" }, { NULL, NULL }
};

/* parse: doc must be well-formed XML (libxml2, no network, no
 * entities substituted beyond the predefined ones). */
static xmlDocPtr parse(const char *doc, size_t len)
{
	xmlDocPtr d = xmlReadMemory(doc, (int)len, "t.xml", NULL,
				    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);

	assert_non_null(d);
	return d;
}

/* trip: the text s, written as <t>s</t>, parsed back: want. */
static void trip(const char *s, size_t len, const char *want)
{
	json_t *v = json_stringn_nocheck(s, len);
	char *doc;
	size_t dlen;
	xmlDocPtr d;
	xmlChar *got;

	assert_int_equal(xml_out_json("t", v, items, &doc, &dlen), ERR_OK);
	d = parse(doc, dlen);
	got = xmlNodeGetContent(xmlDocGetRootElement(d));
	assert_string_equal((const char *)got, want);
	xmlFree(got);
	xmlFreeDoc(d);
	free(doc);
	json_decref(v);
}

static void test_markup_escaped(void **state)
{
	(void)state;
	trip("a<b>c&d\"e'f", 11, "a<b>c&d\"e'f");
	trip("]]>", 3, "]]>");
	trip("</t><x>&amp;", 12, "</t><x>&amp;");
	trip("<!--x--><![CDATA[y]]>", 21, "<!--x--><![CDATA[y]]>");
	trip("", 0, "");
}

static void test_line_ends_kept(void **state)
{
	(void)state;
	trip("a\r\nb\rc\nd\te", 10, "a\r\nb\rc\nd\te");
}

static void test_unicode_kept(void **state)
{
	(void)state;
	trip("上门理发服务 😀 é", strlen("上门理发服务 😀 é"),
	      "上门理发服务 😀 é");
}

static void test_not_xml_replaced(void **state)
{
	(void)state;
	/* control characters, U+FFFE, U+FFFF: not XML characters */
	trip("a\x01" "b\x1f" "c", 5, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c");
	trip("x\xEF\xBF\xBE" "y\xEF\xBF\xBF", 8,
	      "x\xEF\xBF\xBD" "y\xEF\xBF\xBD");
	/* not UTF-8: a lone continuation byte, an overlong '<', a
	 * surrogate, a truncated sequence */
	trip("\x80<", 2, "\xEF\xBF\xBD<");
	trip("\xC0\xBC", 2, "\xEF\xBF\xBD\xEF\xBF\xBD");
	trip("\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
	trip("ab\xE4\xB8", 4, "ab\xEF\xBF\xBD\xEF\xBF\xBD");
	/* an embedded NUL */
	trip("a\0b", 3, "a\xEF\xBF\xBD" "b");
}

static void test_shape(void **state)
{
	json_t *v = json_pack("[{s:s, s:b, s:n, s:i, s:f, s:[s,s]}]",
			      "service_code", "c.1", "metadata", 0,
			      "group", "n", 7, "lat", 36.5, "values",
			      "x", "y");
	const char *want = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<services><service><service_code>c.1</service_code>"
		"<metadata>false</metadata><group></group><n>7</n>"
		"<lat>36.5</lat><values><value>x</value><value>y</value>"
		"</values></service></services>\n";
	char *doc;
	size_t len;

	(void)state;
	assert_int_equal(xml_out_json("services", v, items, &doc, &len),
			 ERR_OK);
	assert_string_equal(doc, want);
	assert_int_equal(len, strlen(want));
	xmlFreeDoc(parse(doc, len));
	free(doc);
	json_decref(v);
}

static void test_refused(void **state)
{
	char *doc = (char *)"x";
	size_t len = 1;
	json_t *bad_key = json_pack("{s:s}", "a b", "x");
	json_t *lt_key = json_pack("{s:s}", "a><script", "x");
	json_t *unnamed = json_pack("{s:[s]}", "other", "x");
	json_t *nested = json_pack("{s:[[s]]}", "values", "x");

	(void)state;
	assert_int_equal(xml_out_json("t", bad_key, items, &doc, &len),
			 ERR_INVALID);
	assert_null(doc);
	assert_int_equal(len, 0);
	assert_int_equal(xml_out_json("t", lt_key, items, &doc, &len),
			 ERR_INVALID);
	assert_int_equal(xml_out_json("t", unnamed, items, &doc, &len),
			 ERR_INVALID);
	assert_int_equal(xml_out_json("t", nested, items, &doc, &len),
			 ERR_INVALID);
	assert_int_equal(xml_out_json("1t", json_null(), items, &doc, &len),
			 ERR_INVALID);
	json_decref(bad_key);
	json_decref(lt_key);
	json_decref(unnamed);
	json_decref(nested);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_markup_escaped),
		cmocka_unit_test(test_line_ends_kept),
		cmocka_unit_test(test_unicode_kept),
		cmocka_unit_test(test_not_xml_replaced),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_refused),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	xmlCleanupParser();
	return rc;
}
