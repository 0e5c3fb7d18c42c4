/* catalog_sets.c: the cache of catalog_sets.h.
 *
 * Entries are kept in an array, found by a hash of the expression and
 * then the text (a connection keeps a few hundred at most), and each
 * remembers the search that last used it: when the budget is reached the
 * least recently used go, never one the current search holds. All sets
 * of one index generation have the same length, from the highest rid in
 * the index when the generation was first seen (a later rid is indexed
 * in a later generation).
 *
 * Parts: statements; the cache; building a set; set operations. */
#include "catalog_sets.h"

#include "err.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct set_entry {
	char *expr;
	uint32_t hash;
	uint64_t *bits;
	uint64_t used;                /* the search that last used it */
};

struct catalog_sets {
	sqlite3 *db;
	sqlite3_stmt *gen;            /* the index generation */
	sqlite3_stmt *top;            /* the highest rid in the index */
	sqlite3_stmt *walk;           /* the rowids ?1 matches */
	int64_t at_gen;               /* the generation the sets are of */
	size_t words;                 /* each set's length, in words */
	struct set_entry *e;
	size_t n, cap;
	size_t bytes;                 /* of all sets */
	size_t budget;                /* ... kept between searches */
	uint64_t search;              /* counts catalog_sets_begin */
};

/* ---- statements ---------------------------------------------------------- */

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
			       NULL) != SQLITE_OK) {
		log_error("catalog: prepare: %s", sqlite3_errmsg(db));
		return ERR_IO;
	}
	return ERR_OK;
}

int catalog_sets_open(sqlite3 *db, size_t budget, struct catalog_sets **out)
{
	struct catalog_sets *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return ERR_NOMEM;
	s->db = db;
	s->budget = budget;
	s->at_gen = -1;
	/* service_fts's rowid is -rid (catalog.c) */
	if (prepare(db, "SELECT gen FROM index_gen", &s->gen) ||
	    prepare(db, "SELECT coalesce((SELECT -rowid FROM service_fts"
		    " ORDER BY rowid LIMIT 1), 0)", &s->top) ||
	    prepare(db, "SELECT -rowid FROM service_fts WHERE service_fts"
		    " MATCH ?1", &s->walk)) {
		catalog_sets_close(&s);
		return ERR_IO;
	}
	*out = s;
	return ERR_OK;
}

/* drop_all: forget every set. */
static void drop_all(struct catalog_sets *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].expr);
		free(s->e[i].bits);
	}
	s->n = 0;
	s->bytes = 0;
}

void catalog_sets_close(struct catalog_sets **s)
{
	if (!s || !*s)
		return;
	drop_all(*s);
	free((*s)->e);
	sqlite3_finalize((*s)->gen);
	sqlite3_finalize((*s)->top);
	sqlite3_finalize((*s)->walk);
	free(*s);
	*s = NULL;
}

/* one_int: step st for its one integer; ERR_OK or ERR_IO (logged). */
static int one_int(struct catalog_sets *s, sqlite3_stmt *st, int64_t *v)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else
		log_error("catalog: search sets: %s", sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? ERR_OK : ERR_IO;
}

/* ---- the cache ------------------------------------------------------------ */

int catalog_sets_begin(struct catalog_sets *s, size_t *words)
{
	int64_t gen, top;

	*words = 0;
	s->search++;
	if (one_int(s, s->gen, &gen) != ERR_OK)
		return ERR_IO;
	if (gen != s->at_gen) {
		if (one_int(s, s->top, &top) != ERR_OK)
			return ERR_IO;
		drop_all(s);
		s->at_gen = gen;
		s->words = top > 0 ? (size_t)top / 64 + 1 : 0;
	}
	*words = s->words;
	return ERR_OK;
}

/* FNV-1a */
static uint32_t hash_of(const char *t)
{
	uint32_t h = 2166136261u;

	for (; *t; t++)
		h = (h ^ (unsigned char)*t) * 16777619u;
	return h;
}

/* make_room: evict the least recently used sets (never one of this
 * search) until need more bytes fit the budget, or nothing is left to
 * evict; then make room for one more entry. ERR_OK or ERR_NOMEM. */
static int make_room(struct catalog_sets *s, size_t need)
{
	while (s->bytes + need > s->budget) {
		size_t old = s->n;

		for (size_t i = 0; i < s->n; i++)
			if (s->e[i].used != s->search &&
			    (old == s->n || s->e[i].used < s->e[old].used))
				old = i;
		if (old == s->n)
			break;
		free(s->e[old].expr);
		free(s->e[old].bits);
		s->bytes -= need;      /* every set of a generation is this long */
		s->e[old] = s->e[--s->n];
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct set_entry *e = realloc(s->e, cap * sizeof(*e));

		if (!e)
			return ERR_NOMEM;
		s->e = e;
		s->cap = cap;
	}
	return ERR_OK;
}

/* ---- building a set ------------------------------------------------------- */

/* build: walk the matches of expr into bits (zeroed, s->words long). */
static int build(struct catalog_sets *s, const char *expr, uint64_t *bits)
{
	uint64_t limit = (uint64_t)s->words * 64;
	int rc;

	sqlite3_bind_text(s->walk, 1, expr, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s->walk)) == SQLITE_ROW) {
		int64_t rid = sqlite3_column_int64(s->walk, 0);

		/* a rid past the generation's top cannot be in its index */
		if (rid > 0 && (uint64_t)rid < limit)
			bits[rid / 64] |= UINT64_C(1) << (rid % 64);
	}
	if (rc != SQLITE_DONE)
		log_error("catalog: search: %s", sqlite3_errmsg(s->db));
	sqlite3_reset(s->walk);
	sqlite3_clear_bindings(s->walk);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

int catalog_sets_get(struct catalog_sets *s, const char *expr,
		     const uint64_t **bits)
{
	uint32_t h = hash_of(expr);
	size_t size = s->words * sizeof(uint64_t);
	struct set_entry e = { NULL, h, NULL, s->search };
	int rc;

	*bits = NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].hash == h && strcmp(s->e[i].expr, expr) == 0) {
			s->e[i].used = s->search;
			*bits = s->e[i].bits;
			return ERR_OK;
		}
	if ((rc = make_room(s, size)) != ERR_OK)
		return rc;
	e.expr = strdup(expr);
	e.bits = calloc(s->words ? s->words : 1, sizeof(uint64_t));
	if (!e.expr || !e.bits) {
		rc = ERR_NOMEM;
		goto fail;
	}
	if ((rc = build(s, expr, e.bits)) != ERR_OK)
		goto fail;
	s->e[s->n++] = e;
	s->bytes += size;
	*bits = e.bits;
	return ERR_OK;
fail:
	free(e.expr);
	free(e.bits);
	return rc;
}

/* ---- set operations ------------------------------------------------------- */

void catalog_sets_and(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] &= src[i];
}

void catalog_sets_andnot(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] &= ~src[i];
}

int64_t catalog_sets_count(const uint64_t *bits, size_t n)
{
	int64_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += __builtin_popcountll(bits[i]);
	return c;
}

int64_t catalog_sets_below(const uint64_t *bits, size_t n, int64_t below)
{
	uint64_t r, w;
	size_t i;

	if (below <= 1 || n == 0)
		return 0;
	r = (uint64_t)below - 1;             /* the highest rid wanted */
	if (r >= (uint64_t)n * 64)
		r = (uint64_t)n * 64 - 1;
	i = (size_t)(r / 64);
	w = bits[i] & (r % 64 == 63 ? ~UINT64_C(0)
				    : (UINT64_C(1) << (r % 64 + 1)) - 1);
	while (!w) {
		if (i == 0)
			return 0;
		w = bits[--i];
	}
	return (int64_t)(i * 64 + 63 - (size_t)__builtin_clzll(w));
}
