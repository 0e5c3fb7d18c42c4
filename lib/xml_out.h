/* xml_out.h: XML documents written from JSON values, for the public
 * interfaces that answer in XML as well as JSON (Open311 GeoReport v2,
 * whose XML elements are its JSON keys).
 *
 * The shape: an object's members become child elements named by their
 * keys, in order; an array becomes one child element per item, named by
 * the caller's table (services -> service); a string is character data,
 * a number as JSON writes it, true/false as the words, null an empty
 * element. Text is escaped for XML 1.0: '&', '<' and '>' as entities, CR
 * as a character reference (so a parser's line-end rule keeps it), and
 * whatever XML cannot carry (control characters, U+FFFE, U+FFFF, bytes
 * that are not UTF-8) as U+FFFD. */
#ifndef ALLIANCE_XML_OUT_H
#define ALLIANCE_XML_OUT_H

#include <jansson.h>
#include <stddef.h>

#include "json_out.h"

/* The element name of the items of an array under key (or, for the
 * document's own array, under the root element's name). */
struct xml_out_item {
	const char *key;
	const char *item;
};

/* xml_out_text: s (len bytes) escaped as XML character data, appended
 * to o (json_out.h's growing buffer; o->failed when memory ran out). */
void xml_out_text(struct json_out *o, const char *s, size_t len);

/* xml_out_json: the XML document <root>v</root> with the XML declaration
 * (UTF-8), into *out (malloc'd, NUL-terminated, the caller frees) and
 * *len. items lists the array item names, ended by { NULL, NULL }.
 * ERR_OK; ERR_INVALID when a key is not an XML name of [A-Za-z_]
 * [A-Za-z0-9_.-]*, an array has no name in items or holds an array;
 * ERR_NOMEM. *out is NULL on error. */
int xml_out_json(const char *root, const json_t *v,
		 const struct xml_out_item *items, char **out, size_t *len);

#endif
