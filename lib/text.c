/* text.c: validation of text that crosses a trust boundary (text.h).
 *
 * Parts: strict UTF-8 (the check protobuf-c never makes); the identifier
 * grammars of community ids and record ids; phone numbers (and how logs
 * show them); a hash of names. Nothing here allocates. */
#include <string.h>

#include "alliance_limits.h"
#include "text.h"

/* ---- UTF-8 ----------------------------------------------------------- */

/* text_utf8_valid: true iff buf[0..len) is well-formed UTF-8 after RFC 3629
 * table 3-7: no overlong forms, no UTF-16 surrogates (U+D800..U+DFFF),
 * nothing above U+10FFFF, no truncated sequence, and no NUL byte (a NUL
 * would silently cut the string short once it is a C string). */
bool text_utf8_valid(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t i = 0;

	if (!buf)
		return len == 0;
	while (i < len) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf; /* range of the 2nd byte */
		size_t n;                           /* continuation bytes */

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;  /* below: overlong */
			else if (c == 0xed)
				hi = 0x9f;  /* above: surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;  /* below: overlong */
			else if (c == 0xf4)
				hi = 0x8f;  /* above: over U+10FFFF */
		} else {
			return false;       /* 0x80..0xc1 or 0xf5..0xff */
		}
		if (len - i - 1 < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += n + 1;
	}
	return true;
}

/* ---- identifiers ------------------------------------------------------ */

/* text_community_valid: true iff s matches [a-z0-9][a-z0-9-]{1,62}, i.e.
 * 2..LIMIT_COMMUNITY_ID bytes. NULL is not valid. */
size_t text_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

bool text_community_valid(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (i >= LIMIT_COMMUNITY_ID)
			return false;
		if (!alnum && !(c == '-' && i > 0))
			return false;
	}
	return i >= 2;
}

/* text_record_id_valid: true iff s is 1..LIMIT_RECORD_ID bytes of
 * [A-Za-z0-9._-]. NULL is not valid. */
bool text_record_id_valid(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (i >= LIMIT_RECORD_ID)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return i >= 1;
}

/* ---- phone numbers ---------------------------------------------------- */

bool text_phone_digits(const char *in, char *out, bool mobile)
{
	size_t n = 0;

	if (!in || strlen(in) > LIMIT_PHONE_INPUT)
		return false;
	for (; *in; in++) {
		if (*in >= '0' && *in <= '9') {
			if (n == LIMIT_PHONE_DIGITS)
				return false;
			out[n++] = *in;
		} else if (!strchr(" +-()", *in)) {
			return false;
		}
	}
	out[n] = '\0';
	if (n == LIMIT_PHONE_MOBILE + 2 && strncmp(out, "861", 3) == 0 &&
	    out[3] >= '3') {
		memmove(out, out + 2, LIMIT_PHONE_MOBILE + 1);
		n = LIMIT_PHONE_MOBILE;
	}
	if (!mobile)
		return n >= LIMIT_PHONE_DIGITS_MIN;
	return n == LIMIT_PHONE_MOBILE && out[0] == '1' && out[1] >= '3';
}

bool text_phone_valid(const char *s)
{
	char digits[LIMIT_PHONE_DIGITS + 1];

	return text_phone_digits(s, digits, false);
}

void text_phone_mask(const char *in, char *out, size_t outlen)
{
	size_t digits = 0, seen = 0, n = 0;

	if (!outlen)
		return;
	for (const char *c = in; c && *c; c++)
		digits += *c >= '0' && *c <= '9';
	for (const char *c = in; c && *c && n + 1 < outlen; c++) {
		int digit = *c >= '0' && *c <= '9';

		if (digit)
			seen++;
		/* the first three and last two digits of a long number stay
		 * (enough to tell two apart in a log, not to call one) */
		out[n++] = !digit || (digits >= 9 && (seen <= 3 ||
						      seen > digits - 2))
			   ? *c : '*';
	}
	out[n] = '\0';
}

/* ---- hashing ---------------------------------------------------------- */

uint32_t text_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}
