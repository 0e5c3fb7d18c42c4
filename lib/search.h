/* search.h: the "alliance" FTS5 tokenizer, for Chinese and English alike.
 *
 * The default FTS5 tokenizers cannot find 理发 in 上门理发服务 (unicode61 sees
 * one token; trigram needs three characters). This one emits, for each run
 * of CJK characters, overlapping bigrams with each character's unigram
 * colocated at the same position, so a two-character word is a one-token
 * query, a longer word is a phrase of bigrams, and a single character
 * matches its unigram; Latin letters and digits form lowercase words
 * (wrapped by "porter" for English stems). Everything else separates. */
#ifndef ALLIANCE_SEARCH_H
#define ALLIANCE_SEARCH_H

#include <sqlite3.h>

/* Tokenizer spec for CREATE VIRTUAL TABLE ... USING fts5(tokenize=...). */
#define SEARCH_TOKENIZE "'porter alliance'"

/* search_match reads at most this many bytes of a query (the HTTP layer
 * allows 200) and keeps at most this many words of it. */
#define SEARCH_QUERY_MAX 1024
#define SEARCH_QUERY_WORDS 16

/* search_register: register the tokenizer on db. Every connection that
 * touches an FTS table must call it first (store_open does). Returns
 * ERR_OK or ERR_FAIL. */
int search_register(sqlite3 *db);

/* search_match: turn a user's free text into a safe FTS5 MATCH expression:
 * each word (split on white space, U+3000 and bytes that are not UTF-8)
 * becomes a quoted string (quotes doubled), all words ANDed, so quotes, *,
 * NEAR, AND, OR, column filters and SQL are plain text. Words with no
 * letter, digit or CJK character are dropped; only the first
 * SEARCH_QUERY_WORDS words of the first SEARCH_QUERY_MAX bytes count.
 * Returns a new string (caller frees), or NULL when q holds no searchable
 * character (then the caller lists without search) or memory ran out. */
char *search_match(const char *q);

/* search_each_word: call fn(ctx, word, len) for each Latin word (letters
 * and digits, folded to lower case as the index holds them, before
 * stemming) of the first SEARCH_QUERY_MAX bytes of text; CJK text is
 * skipped. Stops at and returns fn's first nonzero result, else 0. */
int search_each_word(const char *text, int (*fn)(void *ctx, const char *word,
						 int len), void *ctx);

#endif
