/* test_prom.c: unit tests of lib/prom.c, the Prometheus text of both
 * daemons' /metrics (a strict parse of a whole node's text:
 * tests/system/test_16_node_metrics.py).
 *
 * Parts: a family's lines; values that are not whole; an empty text; a
 * histogram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prom.h"

static void write_some(FILE *f, void *arg)
{
	prom_metric(f, "x_total", "counter", "Things counted.",
		    *(unsigned long long *)arg);
	prom_head(f, "x_state", "gauge", "States.");
	fprintf(f, "x_state{state=\"a\"} 1\n");
}

static void test_family_lines(void **state)
{
	unsigned long long v = 18446744073709551615ULL;
	size_t len = 0;
	char *text;

	(void)state;
	text = prom_render(write_some, &v, &len);
	assert_non_null(text);
	assert_string_equal(text,
		"# HELP x_total Things counted.\n"
		"# TYPE x_total counter\n"
		"x_total 18446744073709551615\n"
		"# HELP x_state States.\n"
		"# TYPE x_state gauge\n"
		"x_state{state=\"a\"} 1\n");
	assert_int_equal(len, strlen(text));
	free(text);
}

static void write_gauges(FILE *f, void *arg)
{
	(void)arg;
	prom_gauge(f, "r", "A ratio.", 0.25);
	prom_gauge(f, "s", "Seconds.", -172800.123);
	prom_gauge(f, "z", "Zero.", 0.0);
}

static void test_gauges_not_whole(void **state)
{
	size_t len = 0;
	char *text;

	(void)state;
	text = prom_render(write_gauges, NULL, &len);
	assert_non_null(text);
	assert_string_equal(text,
		"# HELP r A ratio.\n# TYPE r gauge\nr 0.25\n"
		"# HELP s Seconds.\n# TYPE s gauge\ns -172800.123\n"
		"# HELP z Zero.\n# TYPE z gauge\nz 0\n");
	free(text);
}

static void write_nothing(FILE *f, void *arg)
{
	(void)f;
	(void)arg;
}

static void test_empty_render(void **state)
{
	size_t len = 99;
	char *text;

	(void)state;
	text = prom_render(write_nothing, NULL, &len);
	assert_non_null(text);
	assert_string_equal(text, "");
	assert_int_equal(len, 0);
	free(text);
}

static void write_histogram(FILE *f, void *arg)
{
	prom_histogram(f, "h_seconds", "Durations.", arg);
}

/* observations on a bound fall in its bucket; buckets are cumulative;
 * one past the last bound counts only in +Inf */
static void test_histogram(void **state)
{
	struct prom_hist h = { 0 };
	size_t len = 0;
	char *text;

	(void)state;
	prom_hist_observe(&h, 0.0002);
	prom_hist_observe(&h, 0.0005);
	prom_hist_observe(&h, 0.003);
	prom_hist_observe(&h, 2.5);
	text = prom_render(write_histogram, &h, &len);
	assert_non_null(text);
	assert_string_equal(text,
		"# HELP h_seconds Durations.\n# TYPE h_seconds histogram\n"
		"h_seconds_bucket{le=\"0.0005\"} 2\n"
		"h_seconds_bucket{le=\"0.001\"} 2\n"
		"h_seconds_bucket{le=\"0.0025\"} 2\n"
		"h_seconds_bucket{le=\"0.005\"} 3\n"
		"h_seconds_bucket{le=\"0.01\"} 3\n"
		"h_seconds_bucket{le=\"0.025\"} 3\n"
		"h_seconds_bucket{le=\"0.1\"} 3\n"
		"h_seconds_bucket{le=\"1\"} 3\n"
		"h_seconds_bucket{le=\"+Inf\"} 4\n"
		"h_seconds_sum 2.5037\nh_seconds_count 4\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_lines),
		cmocka_unit_test(test_gauges_not_whole),
		cmocka_unit_test(test_empty_render),
		cmocka_unit_test(test_histogram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
