/* form.h: application/x-www-form-urlencoded bodies (Open311 POSTs).
 *
 * A body is name=value pairs joined by '&', with '+' for a space and %XX
 * escapes. form_get finds one name and decodes its value into the
 * caller's buffer; nothing is allocated. */
#ifndef ALLIANCE_FORM_H
#define ALLIANCE_FORM_H

#include <stddef.h>

/* form_get: the decoded value of the first pair named name in body[0..len)
 * into buf (NUL-terminated). Returns the value's length, FORM_ABSENT when
 * there is no such pair, FORM_TOOLONG when the value does not fit in
 * buflen - 1 bytes, FORM_BAD when an escape is malformed or decodes to a
 * NUL byte. The value is not checked for UTF-8 (text_utf8_valid). */
#define FORM_ABSENT (-1)
#define FORM_TOOLONG (-2)
#define FORM_BAD (-3)
int form_get(const char *body, size_t len, const char *name, char *buf,
	     size_t buflen);

/* form_content_type: 1 iff the Content-Type value ct is
 * application/x-www-form-urlencoded (parameters such as charset allowed). */
int form_content_type(const char *ct);

#endif
