/* synonyms.h: the district's synonym groups, so residents' words find
 * services (剪头发 finds 上门理发服务).
 *
 * The hub reads them from the file of [search] synonyms (plain UTF-8, one
 * group a line, words separated by '/', '／', '、', ',', '，' or white
 * space,
 * '#' to the end of a line a comment), sends them to every node with the
 * community directory (a SearchWords record), and both apply them to
 * catalog queries: a query word equal to a word of a group (ASCII letters
 * compared without case) matches any word of the group. Limits:
 * LIMIT_SYNONYMS_* in alliance_limits.h. */
#ifndef ALLIANCE_SYNONYMS_H
#define ALLIANCE_SYNONYMS_H

#include <stddef.h>

#include "wire.h"

struct synonyms;   /* the groups, each word folded to lower case */

/* synonyms_parse: text[0..len) as the file format above into a new
 * struct synonyms (free with synonyms_free). name is what errors call the
 * text (the file's path). Returns ERR_OK, ERR_INVALID with "name:line:
 * reason" in why (not UTF-8, a control character, a group of one word, a
 * word over LIMIT_SYNONYMS_WORD bytes, more than LIMIT_SYNONYMS_WORDS
 * words in a group or LIMIT_SYNONYMS_GROUPS groups, more than
 * LIMIT_SYNONYMS_BYTES bytes), or ERR_NOMEM. An empty text is no groups. */
int synonyms_parse(const char *text, size_t len, const char *name,
		   struct synonyms **out, char *why, size_t whylen);

/* synonyms_load: synonyms_parse of the file at path; ERR_IO with "path:
 * reason" in why when it cannot be read. */
int synonyms_load(const char *path, struct synonyms **out, char *why,
		  size_t whylen);

/* synonyms_free: free *s (NULL is fine) and set it to NULL. */
void synonyms_free(struct synonyms **s);

/* synonyms_groups: how many groups s holds (0 for NULL). */
size_t synonyms_groups(const struct synonyms *s);

/* synonyms_to_proto: s as a new SearchWords message (free with
 * alliance__v1__search_words__free_unpacked(m, NULL)); ERR_OK or
 * ERR_NOMEM. */
int synonyms_to_proto(const struct synonyms *s,
		      Alliance__V1__SearchWords **out);

/* synonyms_from_proto: a SearchWords record from a peer, held to the
 * file's limits, as a new struct synonyms. ERR_INVALID with why naming
 * the group, or ERR_NOMEM. */
int synonyms_from_proto(const Alliance__V1__SearchWords *m,
			struct synonyms **out, char *why, size_t whylen);

/* synonyms_expr: when word[0..len) (a user's query word, unquoted) is in
 * one or more groups, a new FTS5 expression matching any word of them:
 * ("w1" OR "w2" ...), each word quoted with quotes doubled (caller
 * frees). NULL when it is in no group (or s is NULL, or out of memory). */
char *synonyms_expr(const struct synonyms *s, const char *word, size_t len);

#endif
