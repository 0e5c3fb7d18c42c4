/* synonyms.c: the district's synonym groups: parsing the file, the wire
 * form, and the FTS5 expression a query word becomes.
 *
 * The groups are kept as one array of words, each group a run of it
 * (start[g] .. start[g + 1]), words folded to lower case. Parts: building;
 * parsing the file; the wire form; expressions. */
#include "synonyms.h"

#include "err.h"
#include "alliance_limits.h"
#include "text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct synonyms {
	char **words;                 /* every word, folded (owned) */
	size_t n_words;
	size_t *start;                /* n_groups + 1 offsets into words */
	size_t n_groups;
};

/* ---- building ----------------------------------------------------------- */

static struct synonyms *synonyms_new(void)
{
	struct synonyms *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->words = calloc(LIMIT_SYNONYMS_GROUPS * LIMIT_SYNONYMS_WORDS,
			  sizeof(char *));
	s->start = calloc(LIMIT_SYNONYMS_GROUPS + 1, sizeof(size_t));
	if (!s->words || !s->start)
		synonyms_free(&s);
	return s;
}

void synonyms_free(struct synonyms **s)
{
	if (!s || !*s)
		return;
	for (size_t i = 0; (*s)->words && i < (*s)->n_words; i++)
		free((*s)->words[i]);
	free((*s)->words);
	free((*s)->start);
	free(*s);
	*s = NULL;
}

size_t synonyms_groups(const struct synonyms *s)
{
	return s ? s->n_groups : 0;
}

/* word_check: why word[0..len) cannot be a synonym, or NULL. */
static const char *word_check(const char *word, size_t len)
{
	if (len > LIMIT_SYNONYMS_WORD)
		return "a word is longer than 48 bytes";
	if (!text_utf8_valid(word, len))
		return "not UTF-8 text";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)word[i] < 0x20 || word[i] == 0x7f)
			return "a control character";
	return NULL;
}

/* add_word: append word[0..len), folded, to the group being built. */
static int add_word(struct synonyms *s, const char *word, size_t len)
{
	char *w = malloc(len + 1);

	if (!w)
		return ERR_NOMEM;
	for (size_t i = 0; i < len; i++)
		w[i] = (word[i] >= 'A' && word[i] <= 'Z') ? (char)(word[i] + 32)
							  : word[i];
	w[len] = '\0';
	s->words[s->n_words++] = w;
	return ERR_OK;
}

/* ---- parsing the file ----------------------------------------------------- */

/* sep_len: the length of the separator at p (end e), 0 when none. */
static size_t sep_len(const char *p, const char *e)
{
	static const char *const wide[] = { "\xe3\x80\x80",   /* U+3000 */
					    "\xef\xbc\x8f",   /* ／ */
					    "\xe3\x80\x81",   /* 、 */
					    "\xef\xbc\x8c" }; /* ， */

	if (*p == '/' || *p == ' ' || *p == '\t' || *p == '\r' || *p == ',')
		return 1;
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		if (e - p >= 3 && memcmp(p, wide[i], 3) == 0)
			return 3;
	return 0;
}

/* has_sep: whether w[0..len) holds a separator or '#' (a peer's word
 * that the file could not have held). */
static int has_sep(const char *w, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (w[i] == '#' || sep_len(w + i, w + len))
			return 1;
	return 0;
}

/* parse_line: the group of line[0..len) (comment already cut) added to
 * s; an empty line adds nothing. Returns NULL or why it is bad. */
static const char *parse_line(struct synonyms *s, const char *line,
			      size_t len, int *nomem)
{
	const char *p = line, *e = line + len, *bad;
	size_t first = s->n_words, n = 0;

	while (p < e) {
		const char *w;
		size_t k;

		while (p < e && (k = sep_len(p, e)))
			p += k;
		if (p >= e)
			break;
		w = p;
		while (p < e && !sep_len(p, e))
			p++;
		if ((bad = word_check(w, (size_t)(p - w))))
			return bad;
		if (++n > LIMIT_SYNONYMS_WORDS)
			return "more than 16 words in a group";
		if (add_word(s, w, (size_t)(p - w)) != ERR_OK) {
			*nomem = 1;
			return "out of memory";
		}
	}
	if (n == 0)
		return NULL;
	if (n == 1)
		return "a group needs at least two words";
	if (s->n_groups == LIMIT_SYNONYMS_GROUPS)
		return "more than 500 groups";
	s->start[s->n_groups] = first;
	s->start[++s->n_groups] = s->n_words;
	return NULL;
}

int synonyms_parse(const char *text, size_t len, const char *name,
		   struct synonyms **out, char *why, size_t whylen)
{
	struct synonyms *s;
	const char *p = text, *e = text + len;
	unsigned line = 0;
	int nomem = 0;

	*out = NULL;
	if (len > LIMIT_SYNONYMS_BYTES) {
		snprintf(why, whylen, "%s: larger than %u bytes", name,
			 LIMIT_SYNONYMS_BYTES);
		return ERR_INVALID;
	}
	if (!(s = synonyms_new()))
		return ERR_NOMEM;
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *end = nl ? nl : e, *hash, *bad;

		line++;
		hash = memchr(p, '#', (size_t)(end - p));
		bad = parse_line(s, p, (size_t)((hash ? hash : end) - p),
				 &nomem);
		if (bad) {
			snprintf(why, whylen, "%s:%u: %s", name, line, bad);
			synonyms_free(&s);
			return nomem ? ERR_NOMEM : ERR_INVALID;
		}
		p = nl ? nl + 1 : e;
	}
	*out = s;
	return ERR_OK;
}

int synonyms_load(const char *path, struct synonyms **out, char *why,
		  size_t whylen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (!f) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return ERR_IO;
	}
	buf = malloc(LIMIT_SYNONYMS_BYTES + 1);
	if (!buf) {
		fclose(f);
		return ERR_NOMEM;
	}
	len = fread(buf, 1, LIMIT_SYNONYMS_BYTES + 1, f);
	if (ferror(f)) {
		snprintf(why, whylen, "%s: cannot be read", path);
		rc = ERR_IO;
	} else {
		rc = synonyms_parse(buf, len, path, out, why, whylen);
	}
	fclose(f);
	free(buf);
	return rc;
}

/* ---- the wire form -------------------------------------------------------- */

int synonyms_to_proto(const struct synonyms *s,
		      Alliance__V1__SearchWords **out)
{
	Alliance__V1__SearchWords *m = malloc(sizeof(*m));
	size_t g, i;

	*out = NULL;
	if (!m)
		return ERR_NOMEM;
	alliance__v1__search_words__init(m);
	if (s && s->n_groups &&
	    !(m->groups = calloc(s->n_groups, sizeof(*m->groups))))
		goto err;
	for (g = 0; s && g < s->n_groups; g++) {
		Alliance__V1__SynonymGroup *grp = malloc(sizeof(*grp));
		size_t n = s->start[g + 1] - s->start[g];

		if (!grp)
			goto err;
		alliance__v1__synonym_group__init(grp);
		m->groups[m->n_groups++] = grp;
		if (!(grp->words = calloc(n, sizeof(char *))))
			goto err;
		for (i = 0; i < n; i++) {
			if (!(grp->words[i] = strdup(s->words[s->start[g] + i])))
				goto err;
			grp->n_words++;
		}
	}
	*out = m;
	return ERR_OK;
err:
	alliance__v1__search_words__free_unpacked(m, NULL);
	return ERR_NOMEM;
}

int synonyms_from_proto(const Alliance__V1__SearchWords *m,
			struct synonyms **out, char *why, size_t whylen)
{
	struct synonyms *s;
	const char *bad = NULL;
	size_t g = 0, i, total = 0;

	*out = NULL;
	if (m->n_groups > LIMIT_SYNONYMS_GROUPS) {
		snprintf(why, whylen, "search words: more than %d groups",
			 LIMIT_SYNONYMS_GROUPS);
		return ERR_INVALID;
	}
	if (!(s = synonyms_new()))
		return ERR_NOMEM;
	for (; !bad && g < m->n_groups; g++) {
		const Alliance__V1__SynonymGroup *grp = m->groups[g];
		size_t first = s->n_words;

		if (grp->n_words < 2 || grp->n_words > LIMIT_SYNONYMS_WORDS) {
			bad = "a group needs 2 to 16 words";
			break;
		}
		for (i = 0; !bad && i < grp->n_words; i++) {
			const char *w = grp->words[i];
			size_t len = strlen(w);

			total += len + 1;
			if ((bad = word_check(w, len)))
				break;
			if (!len || has_sep(w, len))
				bad = "a word holds a separator";
			else if (add_word(s, w, len) != ERR_OK)
				bad = "out of memory";
		}
		if (bad)
			break;
		s->start[g] = first;
		s->start[g + 1] = s->n_words;
		s->n_groups = g + 1;
	}
	if (!bad && total > LIMIT_SYNONYMS_BYTES)
		bad = "too many bytes";
	if (bad) {
		snprintf(why, whylen, "search words: group %zu: %s", g + 1,
			 bad);
		synonyms_free(&s);
		return ERR_INVALID;
	}
	*out = s;
	return ERR_OK;
}

/* ---- expressions ---------------------------------------------------------- */

/* same_word: the user's word[0..len) equals the folded w. */
static int same_word(const char *w, const char *word, size_t len)
{
	size_t i;

	for (i = 0; i < len && w[i]; i++) {
		char c = word[i] >= 'A' && word[i] <= 'Z' ? (char)(word[i] + 32)
							  : word[i];

		if (c != w[i])
			return 0;
	}
	return i == len && w[i] == '\0';
}

/* quote_into: append "w" (quotes doubled) at o; returns the end. */
static char *quote_into(char *o, const char *w)
{
	*o++ = '"';
	for (; *w; w++) {
		if (*w == '"')
			*o++ = '"';
		*o++ = *w;
	}
	*o++ = '"';
	return o;
}

char *synonyms_expr(const struct synonyms *s, const char *word, size_t len)
{
	unsigned char hit[LIMIT_SYNONYMS_GROUPS] = { 0 };
	size_t g, i, need = 3, any = 0;
	char *expr, *o;

	for (g = 0; s && g < s->n_groups; g++)
		for (i = s->start[g]; i < s->start[g + 1]; i++)
			if (same_word(s->words[i], word, len)) {
				hit[g] = 1;
				any = 1;
			}
	if (!any)
		return NULL;
	for (g = 0; g < s->n_groups; g++)
		for (i = s->start[g]; hit[g] && i < s->start[g + 1]; i++)
			need += 2 * strlen(s->words[i]) + 2 + 4;
	if (!(expr = malloc(need)))
		return NULL;
	o = expr;
	*o++ = '(';
	for (g = 0; g < s->n_groups; g++)
		for (i = s->start[g]; hit[g] && i < s->start[g + 1]; i++) {
			if (o > expr + 1) {
				memcpy(o, " OR ", 4);
				o += 4;
			}
			o = quote_into(o, s->words[i]);
		}
	*o++ = ')';
	*o = '\0';
	return expr;
}
