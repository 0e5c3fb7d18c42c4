/* json_out.c: see json_out.h. */
#include "json_out.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* grow: room for n more bytes and a NUL; 0, or -1 (o->failed set). */
static int grow(struct json_out *o, size_t n)
{
	size_t cap = o->cap ? o->cap : 1024;
	char *p;

	if (o->failed)
		return -1;
	if (o->len + n + 1 <= o->cap)
		return 0;
	while (cap < o->len + n + 1)
		cap *= 2;
	if (!(p = realloc(o->p, cap))) {
		o->failed = 1;
		return -1;
	}
	o->p = p;
	o->cap = cap;
	return 0;
}

void json_out_raw(struct json_out *o, const char *s, size_t n)
{
	if (grow(o, n) != 0)
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

void json_out_lit(struct json_out *o, const char *s)
{
	json_out_raw(o, s, strlen(s));
}

void json_out_str(struct json_out *o, const char *s)
{
	const char *run = s;

	json_out_raw(o, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		json_out_raw(o, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': json_out_raw(o, "\\\"", 2); break;
		case '\\': json_out_raw(o, "\\\\", 2); break;
		case '\b': json_out_raw(o, "\\b", 2); break;
		case '\f': json_out_raw(o, "\\f", 2); break;
		case '\n': json_out_raw(o, "\\n", 2); break;
		case '\r': json_out_raw(o, "\\r", 2); break;
		case '\t': json_out_raw(o, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04X", c);
			json_out_raw(o, esc, 6);
		}
	}
	json_out_raw(o, run, (size_t)(s - run));
	json_out_raw(o, "\"", 1);
}

void json_out_int(struct json_out *o, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	json_out_raw(o, buf, (size_t)n);
}

char *json_out_take(struct json_out *o, size_t *len)
{
	char *p = o->failed ? NULL : o->p;

	*len = p ? o->len : 0;
	if (!p)
		free(o->p);
	*o = (struct json_out){ 0 };
	return p;
}

void json_out_free(struct json_out *o)
{
	free(o->p);
	*o = (struct json_out){ 0 };
}
