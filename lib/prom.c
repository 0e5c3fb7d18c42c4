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
