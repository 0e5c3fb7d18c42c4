/* catalog_sets.h: the services a search word matches, as bitmaps over
 * rids, kept between searches and shared by a daemon's search threads.
 * Private to the catalog (catalog_search.c).
 *
 * FTS5 intersects match lists entry by entry: three common words (each in
 * 10 to 30 % of 100,000 services) cost about a millisecond a query. A
 * bitmap of each word's matches, built once from the same FTS5 expression
 * and kept until the index changes, makes the intersection a few thousand
 * word-wide ANDs, and the count a popcount. The index changes only in the
 * indexer's transactions, and each bumps index_gen (catalog.c); a search
 * reads it in its own read transaction and uses only sets of that
 * generation, so a set always agrees with the snapshot it is used in. */
#ifndef ALLIANCE_CATALOG_SETS_H
#define ALLIANCE_CATALOG_SETS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* index_change (catalog_schema_v4) keeps the rids of the last LOG_GENS
 * index generations, up to LOG_RIDS of each (one more means "and
 * others"): sets older by at most that are patched, not built again. */
#define CATALOG_SETS_LOG_GENS 32
#define CATALOG_SETS_LOG_RIDS 64

/* Bytes of sets a cache keeps (the least recently used go first); a set
 * takes (the highest rid + 1) / 8 bytes: 12.5 KB at 100,000 services. */
#define CATALOG_SETS_BUDGET ((size_t)16 << 20)

struct catalog_sets;   /* one connection's statements, and a cache */

/* catalog_sets_open: statements on db (migrated) and a cache of its own
 * keeping about budget bytes; ERR_OK, ERR_IO or ERR_NOMEM.
 * catalog_sets_close frees them (the cache once no one shares it) and
 * sets *s to NULL. */
int catalog_sets_open(sqlite3 *db, size_t budget, struct catalog_sets **out);
void catalog_sets_close(struct catalog_sets **s);

/* catalog_sets_share: from now on `to` uses from's cache (connections to
 * the same store; call before they search on other threads). */
void catalog_sets_share(struct catalog_sets *from, struct catalog_sets *to);

/* catalog_sets_begin: start a search, inside its read transaction. *words:
 * the length in 64-bit words of every set of this search (bit r stands
 * for rid r); 0 when the index is empty. ERR_OK or ERR_IO. */
int catalog_sets_begin(struct catalog_sets *s, size_t *words);

/* catalog_sets_and: AND into dst (*words long) the set of the rids whose
 * index row the FTS5 MATCH expression expr matches, from the cache or
 * built now (one walk of its matches, then kept). ERR_OK, ERR_IO (logged;
 * a malformed expression too) or ERR_NOMEM. */
int catalog_sets_and(struct catalog_sets *s, const char *expr,
		     uint64_t *dst);

/* Operations on bitmaps of n words. */
void catalog_bits_and(uint64_t *dst, const uint64_t *src, size_t n);
void catalog_bits_andnot(uint64_t *dst, const uint64_t *src, size_t n);
int64_t catalog_bits_count(const uint64_t *bits, size_t n);
/* catalog_bits_below: the highest rid below `below` in bits, or 0. */
int64_t catalog_bits_below(const uint64_t *bits, size_t n, int64_t below);

#endif
