/* test_webfiles.c: unit tests of lib/webfiles.c's page shell: each marker
 * filled in from shell.tpl, the current page's link marked, other markers
 * (lib/pages.h's) and a page without a shell left as they are. */
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
	"<!--part:footer-->\n<footer>f</footer>\n";

/* assemble: page assembled under root, as a new string (caller frees). */
static char *assemble(const char *root, const char *page)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(webfiles_assemble(root, page, strlen(page), &out,
					   &len), ERR_OK);
	assert_int_equal(strlen(out), len);
	return out;
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

static void test_unknown_markers_and_no_shell(void **state)
{
	char *out = assemble(*state, "<!--alliance:nav--><!--alliance:head:x"
			     "--><!--alliance:footer");

	/* an unknown part, a page named on another part, an unclosed one */
	assert_string_equal(out, "<!--alliance:nav--><!--alliance:head:x-->"
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
		cmocka_unit_test(test_unknown_markers_and_no_shell),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
