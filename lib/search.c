/* search.c: the "alliance" FTS5 tokenizer and safe MATCH expressions.
 *
 * The tokenizer walks UTF-8 text once and classifies each code point as a
 * word character (ASCII letters and digits, Latin-1 letters, fullwidth
 * ASCII letters and digits), a CJK character (ideographs, kana, hangul) or
 * a separator (everything else, and every byte that is not valid UTF-8).
 * Words are emitted lowercased; CJK runs as overlapping bigrams, with each
 * character's unigram colocated in documents (see search.h). Offsets are
 * byte offsets into the caller's text, as FTS5 highlight() needs.
 *
 * Positions of a CJK run c0..c(n-1) in a document: bigram (ci ci+1) takes
 * position i for i < n-1 and ci is colocated with it; the last character
 * is colocated with the last bigram, so what follows the run sits right
 * after the last bigram, exactly as it does in a query (where the run is
 * only its bigrams). A run of one character is its unigram, alone.
 *
 * Parts, in order: UTF-8 decoding and classification; the tokenizer;
 * registration; search_match. */
#include "search.h"

#include "err.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Longest word token in bytes; the rest of a longer word is not part of
 * its token (document and query are cut alike, so they still match). */
#define SEARCH_WORD_MAX 256

/* ---- UTF-8 and classes ------------------------------------------------ */

enum search_class { SEARCH_SEP, SEARCH_WORD, SEARCH_CJK };

/* Marks a byte that is not valid UTF-8 (decoded as a separator). */
#define SEARCH_BAD_CP 0xFFFFFFFFu

/* search_decode: decode the code point at s[i] (i < n) into *cp and return
 * its length in bytes; an invalid or truncated sequence, an overlong form
 * or a surrogate decodes as SEARCH_BAD_CP of length 1. */
static int search_decode(const unsigned char *s, int n, int i, uint32_t *cp)
{
	unsigned char c = s[i];
	uint32_t v, min;
	int len, k;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2; v = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3; v = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4; v = c & 0x07; min = 0x10000;
	} else {
		*cp = SEARCH_BAD_CP;
		return 1;
	}
	if (n - i < len) {
		*cp = SEARCH_BAD_CP;
		return 1;
	}
	for (k = 1; k < len; k++) {
		if ((s[i + k] & 0xc0) != 0x80) {
			*cp = SEARCH_BAD_CP;
			return 1;
		}
		v = (v << 6) | (s[i + k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*cp = SEARCH_BAD_CP;
		return 1;
	}
	*cp = v;
	return len;
}

/* search_is_cjk: ideographs (with extensions and compatibility forms),
 * hiragana, katakana and hangul: scripts written without spaces. */
static int search_is_cjk(uint32_t cp)
{
	return (cp >= 0x3400 && cp <= 0x4dbf) ||   /* extension A */
	       (cp >= 0x4e00 && cp <= 0x9fff) ||   /* unified ideographs */
	       (cp >= 0xf900 && cp <= 0xfaff) ||   /* compatibility */
	       (cp >= 0x20000 && cp <= 0x2fa1f) || /* extensions B-F, supp. */
	       (cp >= 0x30000 && cp <= 0x3134f) || /* extension G */
	       (cp >= 0x3040 && cp <= 0x30ff) ||   /* hiragana, katakana */
	       (cp >= 0x31f0 && cp <= 0x31ff) ||   /* katakana extension */
	       (cp >= 0x1100 && cp <= 0x11ff) ||   /* hangul jamo */
	       (cp >= 0x3130 && cp <= 0x318f) ||   /* hangul compat. jamo */
	       (cp >= 0xac00 && cp <= 0xd7af);     /* hangul syllables */
}

/* search_fold: if cp is a word character, store its lowercase UTF-8 form
 * in out (at least 2 bytes) and return its length; else return 0.
 * Fullwidth ASCII letters and digits fold to ASCII, so "ＷｉＦｉ" and
 * "wifi" are one word. */
static int search_fold(uint32_t cp, unsigned char *out)
{
	if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp >= 'A' && cp <= 'Z') {
		out[0] = (unsigned char)(cp + 0x20);
		return 1;
	}
	if (cp >= 0xff10 && cp <= 0xff19) {
		out[0] = (unsigned char)('0' + (cp - 0xff10));
		return 1;
	}
	if ((cp >= 0xff21 && cp <= 0xff3a) || (cp >= 0xff41 && cp <= 0xff5a)) {
		out[0] = (unsigned char)('a' + (cp - (cp >= 0xff41 ? 0xff41
							      : 0xff21)));
		return 1;
	}
	if (cp >= 0xc0 && cp <= 0xff && cp != 0xd7 && cp != 0xf7) {
		if (cp <= 0xde)
			cp += 0x20;     /* Latin-1 upper to lower case */
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	return 0;
}

static enum search_class search_classify(uint32_t cp)
{
	unsigned char tmp[2];

	if (cp == SEARCH_BAD_CP)
		return SEARCH_SEP;
	if (search_is_cjk(cp))
		return SEARCH_CJK;
	if (search_fold(cp, tmp) > 0)
		return SEARCH_WORD;
	return SEARCH_SEP;
}

/* ---- the tokenizer ---------------------------------------------------- */

typedef int (*search_token_fn)(void *ctx, int tflags, const char *token,
			       int ntoken, int start, int end);

/* The tokenizer has no settings; every instance is this one object. */
static int search_instance;

static int search_create(void *ctx, const char **argv, int argc,
			 Fts5Tokenizer **out)
{
	(void)ctx;
	(void)argv;
	if (argc > 0)
		return SQLITE_ERROR;    /* "alliance" takes no arguments */
	*out = (Fts5Tokenizer *)&search_instance;
	return SQLITE_OK;
}

static void search_delete(Fts5Tokenizer *tok)
{
	(void)tok;
}

/* search_tokenize: FTS5's xTokenize. Walks text once; see the file
 * comment for what each class emits. Returns SQLITE_OK, or the first
 * non-OK code xToken returned. */
static int search_tokenize(Fts5Tokenizer *tok, void *ctx, int flags,
			   const char *text, int ntext, search_token_fn emit)
{
	const unsigned char *s = (const unsigned char *)text;
	int query = (flags & FTS5_TOKENIZE_QUERY) != 0;
	unsigned char word[SEARCH_WORD_MAX];
	int i = 0, rc;

	(void)tok;
	while (i < ntext) {
		uint32_t cp;
		int len = search_decode(s, ntext, i, &cp);
		enum search_class cls = search_classify(cp);

		if (cls == SEARCH_SEP) {
			i += len;
			continue;
		}
		if (cls == SEARCH_WORD) {
			int start = i, wlen = 0;

			while (i < ntext) {
				unsigned char f[2];
				int flen;

				len = search_decode(s, ntext, i, &cp);
				flen = cp == SEARCH_BAD_CP ? 0
							   : search_fold(cp, f);
				if (flen == 0)
					break;
				if (wlen + flen <= SEARCH_WORD_MAX) {
					memcpy(word + wlen, f, (size_t)flen);
					wlen += flen;
				}
				i += len;
			}
			rc = emit(ctx, 0, (const char *)word, wlen, start, i);
			if (rc != SQLITE_OK)
				return rc;
			continue;
		}
		/* a CJK run */
		{
			int prev_s = i, prev_e = i + len, count = 1;

			i = prev_e;
			while (i < ntext) {
				len = search_decode(s, ntext, i, &cp);
				if (cp == SEARCH_BAD_CP || !search_is_cjk(cp))
					break;
				rc = emit(ctx, 0, text + prev_s, i + len - prev_s,
					  prev_s, i + len);
				if (rc == SQLITE_OK && !query)
					rc = emit(ctx, FTS5_TOKEN_COLOCATED,
						  text + prev_s, prev_e - prev_s,
						  prev_s, prev_e);
				if (rc != SQLITE_OK)
					return rc;
				prev_s = i;
				prev_e = i + len;
				count++;
				i += len;
			}
			if (count == 1)
				rc = emit(ctx, 0, text + prev_s, prev_e - prev_s,
					  prev_s, prev_e);
			else if (!query)
				rc = emit(ctx, FTS5_TOKEN_COLOCATED,
					  text + prev_s, prev_e - prev_s,
					  prev_s, prev_e);
			else
				rc = SQLITE_OK;
			if (rc != SQLITE_OK)
				return rc;
		}
	}
	return SQLITE_OK;
}

/* ---- search_each_word ------------------------------------------------- */

struct each_word {
	int (*fn)(void *ctx, const char *word, int len);
	void *ctx;
	int stop;                   /* fn's nonzero result */
};

/* each_word_token: the tokenizer's xToken for search_each_word: passes on
 * the words of Latin letters (a CJK token has a byte of 0x80 or more). */
static int each_word_token(void *ctx, int tflags, const char *token,
			   int ntoken, int start, int end)
{
	struct each_word *e = ctx;

	(void)tflags;
	(void)start;
	(void)end;
	for (int i = 0; i < ntoken; i++)
		if ((unsigned char)token[i] >= 0x80)
			return SQLITE_OK;
	e->stop = e->fn(e->ctx, token, ntoken);
	return e->stop ? SQLITE_DONE : SQLITE_OK;
}

int search_each_word(const char *text, int (*fn)(void *ctx, const char *word,
						 int len), void *ctx)
{
	struct each_word e = { fn, ctx, 0 };

	search_tokenize((Fts5Tokenizer *)&search_instance, &e,
			FTS5_TOKENIZE_DOCUMENT, text,
			(int)strnlen(text, SEARCH_QUERY_MAX), each_word_token);
	return e.stop;
}

/* ---- registration ----------------------------------------------------- */

/* search_register: find db's fts5_api through "SELECT fts5(?1)" and add
 * the tokenizer under the name "alliance". Returns
 * ERR_OK or ERR_FAIL (sqlite built without FTS5, or the registration
 * refused), logged. */
int search_register(sqlite3 *db)
{
	static fts5_tokenizer tokenizer = {
		search_create, search_delete, search_tokenize,
	};
	sqlite3_stmt *stmt = NULL;
	fts5_api *api = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_pointer(stmt, 1, (void *)&api, "fts5_api_ptr",
				     NULL);
		sqlite3_step(stmt);
	}
	sqlite3_finalize(stmt);
	if (!api) {
		log_error("search: this sqlite has no FTS5 (%s)",
			  sqlite3_errmsg(db));
		return ERR_FAIL;
	}
	rc = api->xCreateTokenizer(api, "alliance", NULL, &tokenizer, NULL);
	if (rc != SQLITE_OK) {
		log_error("search: cannot register the tokenizer: %s",
			  sqlite3_errstr(rc));
		return ERR_FAIL;
	}
	return ERR_OK;
}

/* ---- search_match ----------------------------------------------------- */

/* search_splits: true for what separates the words of a query: ASCII
 * white space and control characters, the ideographic space U+3000, and
 * bytes that are not UTF-8 (so the expression is always valid UTF-8). */
static int search_splits(uint32_t cp)
{
	return cp == SEARCH_BAD_CP || cp <= 0x20 || cp == 0x7f ||
	       cp == 0x3000;
}

/* search_match: see search.h. Reads at most SEARCH_QUERY_MAX bytes of q
 * and keeps the first SEARCH_QUERY_WORDS searchable words; a word with no
 * letter, digit or CJK character ("--", "*", a lone quote) is dropped, as
 * the tokenizer would make nothing of it. The result is malloc'd. */
char *search_match(const char *q)
{
	const unsigned char *s = (const unsigned char *)q;
	size_t qlen, cap;
	char *out, *o;
	int n, i = 0, words = 0;

	if (!q)
		return NULL;
	qlen = strnlen(q, SEARCH_QUERY_MAX);
	n = (int)qlen;
	/* each byte at most doubled, 2 quotes and " AND " per word */
	cap = 2 * qlen + 7 * SEARCH_QUERY_WORDS + 1;
	out = malloc(cap);
	if (!out)
		return NULL;
	o = out;
	while (i < n && words < SEARCH_QUERY_WORDS) {
		int start, end, searchable = 0;
		uint32_t cp;
		int len = search_decode(s, n, i, &cp);

		if (search_splits(cp)) {
			i += len;
			continue;
		}
		start = i;
		while (i < n) {
			len = search_decode(s, n, i, &cp);
			if (search_splits(cp))
				break;
			if (search_classify(cp) != SEARCH_SEP)
				searchable = 1;
			i += len;
		}
		end = i;
		if (!searchable)
			continue;
		if (words > 0) {
			memcpy(o, " AND ", 5);
			o += 5;
		}
		*o++ = '"';
		for (int k = start; k < end; k++) {
			if (s[k] == '"')
				*o++ = '"';
			*o++ = (char)s[k];
		}
		*o++ = '"';
		words++;
	}
	*o = '\0';
	if (words == 0) {
		free(out);
		return NULL;
	}
	return out;
}
