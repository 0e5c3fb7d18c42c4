/* fuzz_form.c: libFuzzer target for form-encoded bodies (lib/form.c).
 *
 * Looks up every name the daemons read from a form (Open311's fields,
 * a follow token) in the input, at their buffer sizes and at tiny ones,
 * and holds each answer against a plain second reading of the same rules
 * written here: the first pair whose decoded name matches, '+' a space,
 * %XX escapes, a malformed escape or %00 refused, a value too long for
 * the buffer refused. The input is also read as a Content-Type value.
 * Any difference aborts. Seeds in tests/fuzz/corpus/form/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {
	"service_code", "description", "first_name", "last_name", "name",
	"phone", "email", "address_string", "lat", "long", "preferred",
	"relative_name", "relative_phone", "token", "a", "",
};

static const size_t sizes[] = { 1, 2, 5, 33, 202, 4002 };

static int hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* model_decode: s[0..len) decoded into out (len + 1 bytes); its length,
 * or -1 for a malformed escape or %00. */
static long model_decode(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3 || hex(s[i + 1]) < 0 ||
			    hex(s[i + 2]) < 0)
				return -1;
			out[o] = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			if (out[o++] == '\0')
				return -1;
			i += 2;
		} else {
			out[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	out[o] = '\0';
	return (long)o;
}

/* model_get: form_get's answer for name in body by the rules above. */
static int model_get(const char *body, size_t len, const char *name,
		     size_t buflen, char *out)
{
	size_t pos = 0;

	while (pos < len) {
		const char *pair = body + pos;
		const char *amp = memchr(pair, '&', len - pos);
		size_t plen = amp ? (size_t)(amp - pair) : len - pos;
		const char *eq = memchr(pair, '=', plen);
		size_t klen = eq ? (size_t)(eq - pair) : plen;
		long k, v;

		pos += plen + 1;
		k = model_decode(pair, klen, out);
		/* a name of 128 bytes or more is nobody's */
		if (k < 0 || k >= 128 || strcmp(out, name) != 0 ||
		    (size_t)k != strlen(name))
			continue;
		if (!eq) {
			out[0] = '\0';
			return 0;
		}
		v = model_decode(eq + 1, plen - klen - 1, out);
		if (v < 0) {
			/* form_get reports whichever it meets first */
			return FORM_BAD;
		}
		return (size_t)v + 1 > buflen ? FORM_TOOLONG : (int)v;
	}
	return FORM_ABSENT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char *want = malloc(size + 1), *got = malloc(4002), *ct;

	if (!want || !got)
		abort();
	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		for (size_t b = 0; b < sizeof(sizes) / sizeof(sizes[0]); b++) {
			int rc = form_get(body, size, names[n], got, sizes[b]);
			int m = model_get(body, size, names[n], sizes[b],
					  want);

			if (m == FORM_BAD && rc == FORM_TOOLONG)
				m = FORM_TOOLONG;   /* too long before bad */
			if (rc != m)
				abort();
			if (rc >= 0 && ((size_t)rc >= sizes[b] ||
					got[rc] != '\0' ||
					memcmp(got, want, (size_t)rc) != 0))
				abort();
		}
	}
	ct = malloc(size + 1);
	if (!ct)
		abort();
	memcpy(ct, data, size);
	ct[size] = '\0';
	(void)form_content_type(ct);
	free(ct);
	free(want);
	free(got);
	return 0;
}
