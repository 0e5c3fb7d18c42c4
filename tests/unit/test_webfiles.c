/* test_webfiles.c: unit tests of lib/webfiles.c's page shell: each marker
 * filled in from shell.tpl, the current page's link marked, parts in
 * parts, the text a page encloses, links made relative to a page in a
 * folder, other markers (lib/pages.h's) and a page without a shell left
 * as they are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "webfiles.h"

static const char shell[] =
	"what the shell is, not used\n"
	"<!--part:head-->\n<meta charset=\"utf-8\">\n"
	"<!--part:header-->\n<header><a class=\"brand\" href=\"index.html\">"
	"</a><a class=\"tool\" href=\"account.html\">me</a><nav>"
	"<a href=\"index.html\">home</a><a href=\"polls.html\">polls</a>"
	"</nav></header>\n"
	"<!--part:footer-->\n<footer>f</footer>\n"
	"<!--part:doc-->\n<html>\n<!--alliance:head-->\n<link href=\"css/a.css\">"
	"<script src=\"js/a.js\"></script><a href=\"#main\">skip</a>"
	"<a href=\"/abs\"></a><a href=\"https://x.example/y\"></a>\n"
	"<!--part:brand-->\n<span class=\"brand\"><!--alliance:inner--></span>\n"
	"<!--part:loop-->\n(<!--alliance:loop-->)\n";

/* assemble_at: page at path assembled under root, as a new string
 * (caller frees). */
static char *assemble_at(const char *root, const char *path,
			 const char *page)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(webfiles_assemble(root, path, page, strlen(page),
					   &out, &len), ERR_OK);
	assert_int_equal(strlen(out), len);
	return out;
}

/* assemble: page assembled as a page at root's top. */
static char *assemble(const char *root, const char *page)
{
	return assemble_at(root, "/index.html", page);
}

static int setup(void **state)
{
	char *root = strdup("/tmp/test_webfiles.XXXXXX"), path[256];
	FILE *f;

	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/%s", root, WEBFILES_SHELL);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(shell, f);
	fclose(f);
	*state = root;
	return 0;
}

static int teardown(void **state)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", (char *)*state, WEBFILES_SHELL);
	unlink(path);
	rmdir(*state);
	free(*state);
	return 0;
}

static void test_markers_filled_in(void **state)
{
	char *out = assemble(*state, "<head>\n<!--alliance:head-->\n<title>t"
			     "</title>\n<!--alliance:header:polls.html-->\n"
			     "<main><!--alliance:banner--></main>\n"
			     "<!--alliance:footer-->\n</html>");

	assert_string_equal(out, "<head>\n<meta charset=\"utf-8\">\n<title>t"
		"</title>\n<header><a class=\"brand\" href=\"index.html\">"
		"</a><a class=\"tool\" href=\"account.html\">me</a><nav>"
		"<a href=\"index.html\">home</a><a href=\"polls.html\" "
		"aria-current=\"page\">polls</a></nav></header>\n"
		"<main><!--alliance:banner--></main>\n<footer>f</footer>\n"
		"</html>");
	free(out);
}

static void test_current_link(void **state)
{
	char *out;

	/* the navigation's link to the home page, not the brand's */
	out = assemble(*state, "<!--alliance:header:index.html-->\n");
	assert_non_null(strstr(out, "<a href=\"index.html\" aria-current="));
	assert_non_null(strstr(out, "class=\"brand\" href=\"index.html\">"));
	free(out);
	/* a link that is not in the navigation */
	out = assemble(*state, "<!--alliance:header:account.html-->\n");
	assert_non_null(strstr(out, "href=\"account.html\" aria-current="));
	free(out);
	/* none named, or one the header lacks: none marked */
	out = assemble(*state, "<!--alliance:header-->\n");
	assert_null(strstr(out, "aria-current"));
	free(out);
	out = assemble(*state, "<!--alliance:header:nothing.html-->\n");
	assert_null(strstr(out, "aria-current"));
	assert_non_null(strstr(out, "<header>"));
	free(out);
}

static void test_parts_in_parts_and_enclosed_text(void **state)
{
	char *out = assemble(*state, "<!--alliance:doc-->\n<!--alliance:brand-->"
			     "Console<!--/alliance:brand-->\n<p>own</p>\n");

	assert_string_equal(out, "<html>\n<meta charset=\"utf-8\">\n"
		"<link href=\"css/a.css\"><script src=\"js/a.js\"></script>"
		"<a href=\"#main\">skip</a><a href=\"/abs\"></a>"
		"<a href=\"https://x.example/y\"></a>\n"
		"<span class=\"brand\">Console</span>\n<p>own</p>\n");
	free(out);
	/* not closed: the part without the page's text, the rest kept */
	out = assemble(*state, "<!--alliance:brand-->\nrest");
	assert_string_equal(out, "<span class=\"brand\"></span>\nrest");
	free(out);
	/* a part that holds itself stops WEBFILES_NEST_MAX deep */
	out = assemble(*state, "<!--alliance:loop-->\n");
	assert_string_equal(out, "((((<!--alliance:loop-->)\n)\n)\n)\n");
	free(out);
}

static void test_links_relative_to_a_page_in_a_folder(void **state)
{
	char *out = assemble_at(*state, "/district/index.html",
				"<!--alliance:doc-->\n<a href=\"own.html\">"
				"</a>\n");

	/* the shell's relative links, not the page's own, nor "#", "/"
	 * or a scheme */
	assert_string_equal(out, "<html>\n<meta charset=\"utf-8\">\n"
		"<link href=\"../css/a.css\"><script src=\"../js/a.js\">"
		"</script><a href=\"#main\">skip</a><a href=\"/abs\"></a>"
		"<a href=\"https://x.example/y\"></a>\n"
		"<a href=\"own.html\"></a>\n");
	free(out);
	out = assemble_at(*state, "/a/b/p.html", "<!--alliance:doc-->\n");
	assert_non_null(strstr(out, "href=\"../../css/a.css\""));
	free(out);
}

static void test_unknown_markers_and_no_shell(void **state)
{
	char *out = assemble(*state, "<!--alliance:nav--><!--alliance:banner"
			     "--><!--alliance:footer");

	/* a part the shell lacks (lib/pages.h's), an unclosed marker */
	assert_string_equal(out, "<!--alliance:nav--><!--alliance:banner-->"
			    "<!--alliance:footer");
	free(out);
	out = assemble("/nonexistent", "<!--alliance:head-->\nx");
	assert_string_equal(out, "<!--alliance:head-->\nx");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_markers_filled_in),
		cmocka_unit_test(test_current_link),
		cmocka_unit_test(test_parts_in_parts_and_enclosed_text),
		cmocka_unit_test(test_links_relative_to_a_page_in_a_folder),
		cmocka_unit_test(test_unknown_markers_and_no_shell),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
