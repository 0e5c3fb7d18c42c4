/* json_out.h: JSON text written straight into a growing buffer, for the
 * answers that are built the most (catalog search pages).
 *
 * Building a page of 20 to 100 services as jansson objects and dumping
 * them took over half of the hub's time under distinct searches (a
 * hashtable and a copy per field, about a hundred allocations a
 * service); this writes the same text, byte for byte what jansson's
 * JSON_COMPACT dump gives, with a handful of reallocations a page. */
#ifndef ALLIANCE_JSON_OUT_H
#define ALLIANCE_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>

struct json_out {
	char *p;
	size_t len, cap;
	int failed;                   /* out of memory: everything dropped */
};

/* json_out_raw: append n bytes of s as they are (JSON the caller made). */
void json_out_raw(struct json_out *o, const char *s, size_t n);
/* json_out_lit: append the NUL-terminated s as it is. */
void json_out_lit(struct json_out *o, const char *s);
/* json_out_str: append s as a JSON string: quoted, with '"', '\\' and
 * control characters escaped as jansson does; UTF-8 is kept as it is
 * (s must be valid UTF-8, as every stored text is). */
void json_out_str(struct json_out *o, const char *s);
void json_out_int(struct json_out *o, int64_t v);

/* json_out_take: the text (NUL-terminated, caller frees) and its length;
 * NULL when memory ran out. o is empty afterwards. */
char *json_out_take(struct json_out *o, size_t *len);
/* json_out_free: drop the text. */
void json_out_free(struct json_out *o);

#endif
