/* prom.h: the Prometheus text exposition format (0.0.4) that the hub's and
 * the node's GET /metrics write: every family a HELP and a TYPE line, then
 * its samples, one a line. */
#ifndef ALLIANCE_PROM_H
#define ALLIANCE_PROM_H

#include <stddef.h>
#include <stdio.h>

/* The Content-Type of the text. */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4"

/* prom_head: the HELP and TYPE lines of family name ("counter" or
 * "gauge"); the caller writes its samples next. help must hold no
 * newline or backslash. */
void prom_head(FILE *f, const char *name, const char *type, const char *help);

/* prom_metric: a family with one unlabelled whole value. */
void prom_metric(FILE *f, const char *name, const char *type,
		 const char *help, unsigned long long value);

/* prom_gauge: a gauge family with one unlabelled value that need not be
 * whole or positive (a ratio, seconds), written with 9 significant
 * digits. */
void prom_gauge(FILE *f, const char *name, const char *help, double value);

/* A histogram of durations in seconds over fixed buckets (prom.c's
 * bounds: 0.5 ms to 1 s): observed on one thread, written by it. */
#define PROM_HIST_BUCKETS 9
struct prom_hist {
	unsigned long long in[PROM_HIST_BUCKETS]; /* per bucket, not summed */
	unsigned long long count;               /* every observation */
	double sum;                             /* their seconds */
};

/* prom_hist_observe: count one duration of seconds in h. */
void prom_hist_observe(struct prom_hist *h, double seconds);

/* prom_histogram: h as a histogram family name (its _bucket lines with
 * cumulative counts, le="+Inf" last, then _sum and _count). */
void prom_histogram(FILE *f, const char *name, const char *help,
		    const struct prom_hist *h);

/* prom_render: run write(f, arg) on a memory stream and return what it
 * wrote as a new NUL-terminated string (the caller frees it) with its
 * length in *len; NULL when memory ran out. */
char *prom_render(void (*write)(FILE *f, void *arg), void *arg, size_t *len);

#endif
