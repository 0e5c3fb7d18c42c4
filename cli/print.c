/* print.c: what alliancectl shows a person: errors, tables, times.
 *
 * Text that comes from the hub (names, messages) is cleaned before it
 * reaches a terminal, so a community name cannot carry escape sequences or
 * bidirectional overrides. Tables align by display columns, so Chinese
 * names (two columns a character) line up with English ones.
 *
 * Every list a command prints goes through ctl_print_items: the command
 * names its columns, this file builds, aligns and prints the table.
 *
 * Parts: messages; UTF-8 cleaning and width; times; tables; lists. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "err.h"

/* ---- messages ---------------------------------------------------------- */

void ctl_verrorf(const struct ctl *ctl, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", ctl->prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ctl_errorf(const struct ctl *ctl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_verrorf(ctl, fmt, ap);
	va_end(ap);
}

int ctl_hub_error(const struct ctl *ctl, const struct ctl_response *resp)
{
	json_t *e = json_object_get(resp->json, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	char *ccode = ctl_text_clean(code), *cmsg = ctl_text_clean(msg);

	if (ccode == NULL || cmsg == NULL)
		ctl_errorf(ctl, "%s said %ld", ctl->hub, resp->status);
	else if (code == NULL && msg == NULL)
		ctl_errorf(ctl, "%s said %ld (no error body)", ctl->hub,
			   resp->status);
	else
		ctl_errorf(ctl, "%s said %ld %s: %s", ctl->hub, resp->status,
			   code ? ccode : "error", cmsg);
	free(ccode);
	free(cmsg);
	return CTL_EXIT_FAIL;
}

int ctl_print_body(const struct ctl *ctl, const struct ctl_response *resp)
{
	if (resp->json == NULL) {
		ctl_errorf(ctl, "%s sent a reply that is not JSON", ctl->hub);
		return CTL_EXIT_FAIL;
	}
	fwrite(resp->body, 1, resp->len, stdout);
	if (resp->len == 0 || resp->body[resp->len - 1] != '\n')
		fputc('\n', stdout);
	return fflush(stdout) == 0 && !ferror(stdout) ? CTL_EXIT_OK
						       : CTL_EXIT_FAIL;
}

/* ---- UTF-8 cleaning and width ------------------------------------------ */

/* utf8_next: decode one code point at s into *cp. Returns its length in
 * bytes, or 0 for an invalid sequence (overlong, surrogate, above
 * U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* unsafe: code points a terminal would act on rather than show: C0 and
 * C1 controls, DEL, and the bidirectional embeddings and isolates. */
static bool unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

char *ctl_text_clean(const char *s)
{
	const unsigned char *p;
	size_t n, len;
	char *out, *o;
	uint32_t c;

	if (s == NULL)
		s = "";
	len = strlen(s);
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (p = (const unsigned char *)s, o = out; *p != '\0'; p += n) {
		n = utf8_next(p, &c);
		if (n == 0 || unsafe(c)) {
			*o++ = '?';
			n = n ? n : 1;
			continue;
		}
		memcpy(o, p, n);
		o += n;
	}
	*o = '\0';
	return out;
}

/* cp_width: terminal columns of one code point: 0 for combining marks and
 * zero-width characters, 2 for East Asian wide and fullwidth ranges. */
static size_t cp_width(uint32_t c)
{
	if ((c >= 0x0300 && c <= 0x036f) || (c >= 0x200b && c <= 0x200f) ||
	    (c >= 0xfe00 && c <= 0xfe0f))
		return 0;
	if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
	    (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
	    (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) ||
	    (c >= 0x20000 && c <= 0x3fffd))
		return 2;
	return 1;
}

size_t ctl_text_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, n;
	uint32_t c;

	while (*p != '\0') {
		n = utf8_next(p, &c);
		w += n ? cp_width(c) : 1;
		p += n ? n : 1;
	}
	return w;
}

/* ---- times ------------------------------------------------------------- */

char *ctl_time_format(const json_t *t, char *buf, size_t buflen)
{
	struct tm tm;
	time_t secs;
	char *clean;

	if (buflen == 0)
		return buf;
	if (json_is_string(t) && json_string_length(t) > 0) {
		clean = ctl_text_clean(json_string_value(t));
		snprintf(buf, buflen, "%s", clean ? clean : "?");
		free(clean);
		return buf;
	}
	if (json_is_number(t) && json_number_value(t) > 0) {
		secs = (time_t)json_number_value(t);
		if (gmtime_r(&secs, &tm) != NULL &&
		    strftime(buf, buflen, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
			return buf;
	}
	snprintf(buf, buflen, "-");
	return buf;
}

/* ---- tables ------------------------------------------------------------ */

int ctl_table_add(struct ctl_table *t, const char *const *row)
{
	size_t cap, i;
	char **cells;

	if (t->nrows == t->cap) {
		cap = t->cap ? t->cap * 2 : 16;
		cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
		if (cells == NULL)
			return ERR_NOMEM;
		t->cells = cells;
		t->cap = cap;
	}
	cells = t->cells + t->nrows * t->ncols;
	for (i = 0; i < t->ncols; i++) {
		cells[i] = ctl_text_clean(row[i] ? row[i] : "-");
		if (cells[i] == NULL) {
			while (i > 0)
				free(cells[--i]);
			return ERR_NOMEM;
		}
	}
	t->nrows++;
	return ERR_OK;
}

/* print_row: one line of n cells padded to widths; the last is unpadded. */
static void print_row(FILE *out, const char *const *cells,
		      const size_t *widths, size_t n)
{
	size_t i, w;

	for (i = 0; i < n; i++) {
		fputs(cells[i], out);
		if (i + 1 == n)
			break;
		for (w = ctl_text_width(cells[i]); w < widths[i] + 2; w++)
			fputc(' ', out);
	}
	fputc('\n', out);
}

int ctl_table_print(const struct ctl_table *t, FILE *out)
{
	size_t *widths, r, c, w;

	if ((widths = calloc(t->ncols, sizeof(*widths))) == NULL)
		return CTL_EXIT_FAIL;
	for (c = 0; c < t->ncols; c++)
		widths[c] = ctl_text_width(t->head[c]);
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			w = ctl_text_width(t->cells[r * t->ncols + c]);
			widths[c] = w > widths[c] ? w : widths[c];
		}
	print_row(out, t->head, widths, t->ncols);
	for (r = 0; r < t->nrows; r++)
		print_row(out, (const char *const *)t->cells + r * t->ncols,
			  widths, t->ncols);
	free(widths);
	return fflush(out) == 0 && !ferror(out) ? CTL_EXIT_OK : CTL_EXIT_FAIL;
}

void ctl_table_free(struct ctl_table *t)
{
	size_t i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

/* ---- lists --------------------------------------------------------------- */

const char *ctl_cell_time(const json_t *v, char *buf, size_t buflen)
{
	return ctl_time_format(v, buf, buflen);
}

const char *ctl_cell_count(const json_t *v, char *buf, size_t buflen)
{
	if (json_is_integer(v))
		snprintf(buf, buflen, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, buflen, "%.0f", json_real_value(v));
	else
		snprintf(buf, buflen, "-");
	return buf;
}

const char *ctl_cell_yes_no(const json_t *v, char *buf, size_t buflen)
{
	(void)buf;
	(void)buflen;
	return json_is_true(v) ? "yes" : "no";
}

const char *ctl_cell_ms_as_s(const json_t *v, char *buf, size_t buflen)
{
	if (json_is_integer(v))
		snprintf(buf, buflen, "%.3f s",
			 (double)json_integer_value(v) / 1000.0);
	else
		snprintf(buf, buflen, "-");
	return buf;
}

int ctl_print_items(const struct ctl *ctl, const struct ctl_column *cols,
		    size_t ncols, const json_t *items, FILE *out)
{
	const char *head[CTL_COLUMNS_MAX], *row[CTL_COLUMNS_MAX];
	char buf[CTL_COLUMNS_MAX][CTL_CELL_MAX];
	struct ctl_table t = { .ncols = ncols, .head = head };
	const json_t *it, *v;
	size_t i, c;
	int rc;

	if (ncols == 0 || ncols > CTL_COLUMNS_MAX)
		return CTL_EXIT_FAIL;
	for (c = 0; c < ncols; c++)
		head[c] = cols[c].head;
	for (i = 0; i < json_array_size(items); i++) {
		it = json_array_get(items, i);
		for (c = 0; c < ncols; c++) {
			v = cols[c].key ? json_object_get(it, cols[c].key) : it;
			row[c] = cols[c].format
				? cols[c].format(v, buf[c], sizeof(buf[c]))
				: json_string_value(v);
		}
		if (ctl_table_add(&t, row) != ERR_OK) {
			ctl_errorf(ctl, "out of memory");
			ctl_table_free(&t);
			return CTL_EXIT_FAIL;
		}
	}
	rc = ctl_table_print(&t, out);
	ctl_table_free(&t);
	return rc;
}
