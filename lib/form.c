/* form.c: application/x-www-form-urlencoded bodies (see form.h).
 *
 * Parts: decoding one value; finding a name; the content type. */
#include <string.h>
#include <strings.h>

#include "form.h"
#include "mediatype.h"

/* ---- decoding ------------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* decode: s[0..len) into buf; the return codes of form_get. */
static int decode(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return FORM_BAD;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return FORM_BAD;
			c = (char)(hi * 16 + lo);
			if (c == '\0')
				return FORM_BAD;
			i += 2;
		}
		if (o + 1 >= buflen)
			return FORM_TOOLONG;
		buf[o++] = c;
	}
	if (buflen)
		buf[o] = '\0';
	return (int)o;
}

/* ---- finding a name --------------------------------------------------------- */

int form_get(const char *body, size_t len, const char *name, char *buf,
	     size_t buflen)
{
	size_t nlen = strlen(name), pos = 0;
	char key[128];

	if (!buflen)
		return FORM_TOOLONG;
	while (body && pos < len) {
		const char *pair = body + pos;
		const char *end = memchr(pair, '&', len - pos);
		size_t plen = end ? (size_t)(end - pair) : len - pos;
		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq ? (size_t)(eq - pair) : plen;
		int k;

		pos += plen + 1;
		/* names are short; one that does not fit is not ours */
		k = decode(pair, klen, key, sizeof(key));
		if (k < 0 || (size_t)k != nlen || memcmp(key, name, nlen))
			continue;
		if (!eq) {
			buf[0] = '\0';
			return 0;
		}
		return decode(eq + 1, plen - klen - 1, buf, buflen);
	}
	return FORM_ABSENT;
}

/* ---- the content type ---------------------------------------------------- */

int form_content_type(const char *ct)
{
	return mediatype_is(ct, "application/x-www-form-urlencoded");
}
