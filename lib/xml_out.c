/* xml_out.c: see xml_out.h. Text goes into json_out.h's growing buffer.
 *
 * Parts: characters; names; values; the document. */
#include "xml_out.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

/* The replacement character, for what XML 1.0 cannot carry. */
#define XML_REPLACEMENT "\xEF\xBF\xBD"
/* Nesting the writer follows at most (the documents are shallow). */
#define XML_DEPTH_MAX 16

/* ---- characters ------------------------------------------------------------ */

/* utf8_char: the length of the well-formed UTF-8 sequence at s (at most
 * left bytes) and its code point in *cp, or 0 when it is not one
 * (truncated, overlong, a surrogate, over U+10FFFF). */
static size_t utf8_char(const unsigned char *s, size_t left, unsigned *cp)
{
	size_t n, i;
	unsigned c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2; c &= 0x1F; min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3; c &= 0x0F; min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4; c &= 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

/* xml_char: whether XML 1.0 (its Char production) may carry cp. */
static int xml_char(unsigned cp)
{
	return cp == 0x9 || cp == 0xA || cp == 0xD ||
	       (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
	       (cp >= 0x10000 && cp <= 0x10FFFF);
}

void xml_out_text(struct json_out *o, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	while (i < len) {
		unsigned cp = 0;
		size_t n = utf8_char(p + i, len - i, &cp);
		const char *rep = NULL;

		if (!n) {
			rep = XML_REPLACEMENT;   /* one bad byte, one U+FFFD */
			n = 1;
		} else if (!xml_char(cp)) {
			rep = XML_REPLACEMENT;
		} else if (cp == '&') {
			rep = "&amp;";
		} else if (cp == '<') {
			rep = "&lt;";
		} else if (cp == '>') {
			rep = "&gt;";         /* "]]>" may not stand in text */
		} else if (cp == '\r') {
			rep = "&#13;";        /* a parser would make it \n */
		}
		if (rep) {
			json_out_raw(o, s + run, i - run);
			json_out_lit(o, rep);
			run = i + n;
		}
		i += n;
	}
	json_out_raw(o, s + run, len - run);
}

/* ---- names ------------------------------------------------------------------- */

/* name_ok: a name of [A-Za-z_][A-Za-z0-9_.-]* (a subset of XML's
 * Name; nothing that starts with "xml" in any case is written by the
 * callers, whose keys are Open311's). */
static int name_ok(const char *s)
{
	if (!s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
		      *s == '-'))
			return 0;
	return 1;
}

/* item_name: the element name of the items of an array under key. */
static const char *item_name(const struct xml_out_item *items,
			     const char *key)
{
	for (; items && items->key; items++)
		if (strcmp(items->key, key) == 0)
			return items->item;
	return NULL;
}

/* ---- values ------------------------------------------------------------------ */

static int element(struct json_out *o, const char *name, const json_t *v,
		   const struct xml_out_item *items, int depth);

/* content: what goes between the tags of an element named name holding
 * v (its items named from items when v is an array). */
static int content(struct json_out *o, const char *name, const json_t *v,
		   const struct xml_out_item *items, int depth)
{
	const char *key, *item;
	const json_t *m;
	size_t i;
	char *num;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, key, m)
			if (element(o, key, m, items, depth + 1) != ERR_OK)
				return ERR_INVALID;
		return ERR_OK;
	case JSON_ARRAY:
		item = item_name(items, name);
		if (!item || !name_ok(item))
			return ERR_INVALID;
		json_array_foreach(v, i, m) {
			if (json_is_array(m) ||
			    element(o, item, m, items, depth + 1) != ERR_OK)
				return ERR_INVALID;
		}
		return ERR_OK;
	case JSON_STRING:
		xml_out_text(o, json_string_value(v), json_string_length(v));
		return ERR_OK;
	case JSON_INTEGER:
	case JSON_REAL:
		num = json_dumps(v, JSON_ENCODE_ANY);
		if (!num) {
			o->failed = 1;
			return ERR_NOMEM;
		}
		json_out_lit(o, num);
		free(num);
		return ERR_OK;
	case JSON_TRUE:
		json_out_lit(o, "true");
		return ERR_OK;
	case JSON_FALSE:
		json_out_lit(o, "false");
		return ERR_OK;
	default:   /* null: an empty element */
		return ERR_OK;
	}
}

/* element: <name>content</name>. */
static int element(struct json_out *o, const char *name, const json_t *v,
		   const struct xml_out_item *items, int depth)
{
	if (!name_ok(name) || depth > XML_DEPTH_MAX)
		return ERR_INVALID;
	json_out_lit(o, "<");
	json_out_lit(o, name);
	json_out_lit(o, ">");
	if (content(o, name, v, items, depth) != ERR_OK)
		return ERR_INVALID;
	json_out_lit(o, "</");
	json_out_lit(o, name);
	json_out_lit(o, ">");
	return ERR_OK;
}

/* ---- the document ------------------------------------------------------------- */

int xml_out_json(const char *root, const json_t *v,
		 const struct xml_out_item *items, char **out, size_t *len)
{
	struct json_out o = { 0 };
	int rc;

	*out = NULL;
	*len = 0;
	json_out_lit(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	rc = element(&o, root, v, items, 0);
	json_out_lit(&o, "\n");
	if (rc != ERR_OK) {
		json_out_free(&o);
		return rc;
	}
	*out = json_out_take(&o, len);
	return *out ? ERR_OK : ERR_NOMEM;
}
