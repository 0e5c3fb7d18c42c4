/* prom.c: the Prometheus text exposition format (see prom.h). */
#include <stdlib.h>

#include "prom.h"

void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_metric(FILE *f, const char *name, const char *type,
		 const char *help, unsigned long long value)
{
	prom_head(f, name, type, help);
	fprintf(f, "%s %llu\n", name, value);
}

void prom_gauge(FILE *f, const char *name, const char *help, double value)
{
	prom_head(f, name, "gauge", help);
	fprintf(f, "%s %.9g\n", name, value);
}

/* The buckets' upper bounds, seconds; the last bucket is +Inf. */
static const double hist_bounds[PROM_HIST_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0
};

void prom_hist_observe(struct prom_hist *h, double seconds)
{
	size_t i = 0;

	while (i < PROM_HIST_BUCKETS - 1 && seconds > hist_bounds[i])
		i++;
	h->in[i]++;
	h->count++;
	h->sum += seconds;
}

void prom_histogram(FILE *f, const char *name, const char *help,
		    const struct prom_hist *h)
{
	unsigned long long below = 0;

	prom_head(f, name, "histogram", help);
	for (size_t i = 0; i < PROM_HIST_BUCKETS - 1; i++) {
		below += h->in[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, hist_bounds[i],
			below);
	}
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, h->count);
	fprintf(f, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name,
		h->count);
}

char *prom_render(void (*write)(FILE *f, void *arg), void *arg, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	write(f, arg);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
