/* catalog_sets.c: the sets of catalog_sets.h.
 *
 * A cache holds the sets of one index generation, the newest a search
 * has brought. The first search of a newer one brings the sets up to it:
 * when index_change lists every rid the generations between indexed (a
 * few edits), those rows are copied into a small FTS5 table of the
 * connection's own (temp.set_patch, columns and tokenizer as service_fts)
 * and each set's expression is matched again there, for just those rids;
 * else (a bulk import, a long gap) the sets are dropped and built again as
 * searches need them. A search of an older generation (a thread still in
 * an earlier snapshot) builds what it needs and keeps nothing.
 *
 * Entries are kept in an array, found by a hash of the expression and
 * then the text (a cache holds a few hundred at most); when the budget is
 * reached the least recently used go. A set never
 * leaves the cache's lock: catalog_sets_and ANDs it into the caller's
 * bitmap there, so no search holds a set another may drop. A set is built
 * outside the lock, on the searching connection; if two threads build
 * the same one, the second copy is dropped.
 *
 * Parts: statements; the cache; building a set; patching the sets;
 * bitmaps. */
#include "catalog_sets.h"

#include "err.h"
#include "log.h"
#include "search.h"
#include "text.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct set_entry {
	char *expr;
	uint32_t hash;
	uint64_t *bits;
	uint64_t used;                /* the cache's tick when last used */
};

struct set_cache {
	pthread_mutex_t mu;           /* guards everything below */
	int refs;                     /* connections sharing it */
	int64_t gen;                  /* the generation of the sets, or -1 */
	size_t words;                 /* each set's length */
	struct set_entry *e;
	size_t n, cap;
	size_t bytes, budget;         /* of all sets, and at most */
	uint64_t tick;                /* counts uses */
};

struct catalog_sets {
	sqlite3 *db;
	sqlite3_stmt *gen;            /* the index generation */
	sqlite3_stmt *top;            /* the highest rid in the index */
	sqlite3_stmt *walk;           /* the rowids ?1 matches */
	sqlite3_stmt *p_gens;         /* generations after ?1 logged, ... */
	sqlite3_stmt *p_clear;        /* empty temp.set_patch */
	sqlite3_stmt *p_load;         /* the rows changed since ?1 into it */
	sqlite3_stmt *p_rids;         /* the rids changed since ?1 */
	sqlite3_stmt *p_match;        /* the rids there ?1 matches */
	int64_t at_gen;               /* this search's generation, or -1 */
	size_t words;                 /* ... and its sets' length */
	struct set_cache *cache;
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
	if (!s || !(s->cache = calloc(1, sizeof(*s->cache)))) {
		free(s);
		return ERR_NOMEM;
	}
	pthread_mutex_init(&s->cache->mu, NULL);
	s->cache->refs = 1;
	s->cache->gen = -1;
	s->cache->budget = budget;
	s->db = db;
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

/* drop_all: forget every set of c (locked). */
static void drop_all(struct set_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].expr);
		free(c->e[i].bits);
	}
	c->n = 0;
	c->bytes = 0;
}

/* cache_release: one sharer less; the last frees c. */
static void cache_release(struct set_cache *c)
{
	int last;

	pthread_mutex_lock(&c->mu);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (!last)
		return;
	drop_all(c);
	free(c->e);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void catalog_sets_share(struct catalog_sets *from, struct catalog_sets *to)
{
	if (from->cache == to->cache)
		return;
	cache_release(to->cache);
	pthread_mutex_lock(&from->cache->mu);
	from->cache->refs++;
	pthread_mutex_unlock(&from->cache->mu);
	to->cache = from->cache;
}

void catalog_sets_close(struct catalog_sets **s)
{
	if (!s || !*s)
		return;
	if ((*s)->cache)
		cache_release((*s)->cache);
	sqlite3_finalize((*s)->gen);
	sqlite3_finalize((*s)->top);
	sqlite3_finalize((*s)->walk);
	sqlite3_finalize((*s)->p_gens);
	sqlite3_finalize((*s)->p_clear);
	sqlite3_finalize((*s)->p_load);
	sqlite3_finalize((*s)->p_rids);
	sqlite3_finalize((*s)->p_match);
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

/* ---- the cache ----------------------------------------------------------- */

static int patch(struct catalog_sets *s, struct set_cache *c);

int catalog_sets_begin(struct catalog_sets *s, size_t *words)
{
	struct set_cache *c = s->cache;
	int64_t gen, top;

	*words = 0;
	if (one_int(s, s->gen, &gen) != ERR_OK)
		return ERR_IO;
	if (gen != s->at_gen) {
		if (one_int(s, s->top, &top) != ERR_OK)
			return ERR_IO;
		s->at_gen = gen;
		s->words = top > 0 ? (size_t)top / 64 + 1 : 0;
	}
	*words = s->words;
	pthread_mutex_lock(&c->mu);
	if (c->gen < gen) {              /* the first search of gen */
		if (c->n == 0 || patch(s, c) != ERR_OK)
			drop_all(c);
		c->gen = gen;
		c->words = s->words;
	}
	pthread_mutex_unlock(&c->mu);
	return ERR_OK;
}

/* find: the entry of expr in c (locked) if it holds one, else NULL. */
static struct set_entry *find(struct set_cache *c, const char *expr,
			      uint32_t hash)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].hash == hash && strcmp(c->e[i].expr, expr) == 0)
			return &c->e[i];
	return NULL;
}

/* keep: add the set bits of expr to c (locked), evicting the least
 * recently used while the budget is exceeded; 0, or -1 when it cannot be
 * kept (the caller still owns expr and bits). */
static int keep(struct set_cache *c, char *expr, uint32_t hash,
		uint64_t *bits)
{
	size_t size = c->words * sizeof(uint64_t);

	while (c->n && c->bytes + size > c->budget) {
		size_t old = 0;

		for (size_t i = 1; i < c->n; i++)
			if (c->e[i].used < c->e[old].used)
				old = i;
		free(c->e[old].expr);
		free(c->e[old].bits);
		c->bytes -= size;      /* a generation's sets are this long */
		c->e[old] = c->e[--c->n];
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct set_entry *e = realloc(c->e, cap * sizeof(*e));

		if (!e)
			return -1;
		c->e = e;
		c->cap = cap;
	}
	c->e[c->n++] = (struct set_entry){ expr, hash, bits, ++c->tick };
	c->bytes += size;
	return 0;
}

/* ---- building a set ------------------------------------------------------ */

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

int catalog_sets_and(struct catalog_sets *s, const char *expr,
		     uint64_t *dst)
{
	struct set_cache *c = s->cache;
	uint32_t hash = text_hash(expr);
	struct set_entry *e;
	uint64_t *bits;
	char *copy;
	int rc;

	pthread_mutex_lock(&c->mu);
	if (c->gen == s->at_gen && (e = find(c, expr, hash))) {
		e->used = ++c->tick;
		catalog_bits_and(dst, e->bits, s->words);
		pthread_mutex_unlock(&c->mu);
		return ERR_OK;
	}
	pthread_mutex_unlock(&c->mu);
	bits = calloc(s->words ? s->words : 1, sizeof(uint64_t));
	copy = strdup(expr);
	if (!bits || !copy) {
		rc = ERR_NOMEM;
		goto out;
	}
	if ((rc = build(s, expr, bits)) != ERR_OK)
		goto out;
	catalog_bits_and(dst, bits, s->words);
	pthread_mutex_lock(&c->mu);
	if (c->gen == s->at_gen && !find(c, expr, hash) &&
	    keep(c, copy, hash, bits) == 0)
		copy = NULL, bits = NULL;     /* the cache's now */
	pthread_mutex_unlock(&c->mu);
out:
	free(copy);
	free(bits);
	return rc;
}

/* ---- patching the sets --------------------------------------------------- */

/* patch_prepare: temp.set_patch and the statements on it, once. */
static int patch_prepare(struct catalog_sets *s)
{
	if (s->p_match)
		return ERR_OK;
	/* the columns and tokenizer of service_fts (catalog_schema_v3) */
	if (sqlite3_exec(s->db, "CREATE VIRTUAL TABLE IF NOT EXISTS"
			 " temp.set_patch USING fts5(title, summary,"
			 " description, tags, facets, tokenize = "
			 SEARCH_TOKENIZE ")", NULL, NULL, NULL) != SQLITE_OK) {
		log_error("catalog: search sets: %s", sqlite3_errmsg(s->db));
		return ERR_IO;
	}
	if (prepare(s->db, "SELECT count(*), coalesce(max(n), 0) FROM"
		    " (SELECT count(*) AS n FROM index_change WHERE gen > ?1"
		    " GROUP BY gen)", &s->p_gens) ||
	    prepare(s->db, "DELETE FROM temp.set_patch", &s->p_clear) ||
	    prepare(s->db, "INSERT INTO temp.set_patch (rowid, title,"
		    " summary, description, tags, facets) SELECT rowid, title,"
		    " summary, description, tags, facets FROM service_fts"
		    " WHERE rowid IN (SELECT -rid FROM index_change"
		    " WHERE gen > ?1)", &s->p_load) ||
	    prepare(s->db, "SELECT DISTINCT rid FROM index_change"
		    " WHERE gen > ?1", &s->p_rids) ||
	    prepare(s->db, "SELECT -rowid FROM temp.set_patch WHERE"
		    " set_patch MATCH ?1", &s->p_match))
		return ERR_IO;
	return ERR_OK;
}

/* step_since: step st (?1 = gen) to its end, calling fn on each row's
 * first column (when fn is set); ERR_OK or ERR_IO (logged). */
static int step_since(struct catalog_sets *s, sqlite3_stmt *st, int64_t gen,
		      void (*fn)(struct set_cache *c, int64_t v),
		      struct set_cache *c)
{
	int rc;

	if (gen >= 0)
		sqlite3_bind_int64(st, 1, gen);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn)
			fn(c, sqlite3_column_int64(st, 0));
	if (rc != SQLITE_DONE)
		log_error("catalog: search sets: %s", sqlite3_errmsg(s->db));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

/* clear_rid: rid changed: out of every set, until matched again. */
static void clear_rid(struct set_cache *c, int64_t rid)
{
	if (rid <= 0 || (uint64_t)rid >= (uint64_t)c->words * 64)
		return;
	for (size_t i = 0; i < c->n; i++)
		c->e[i].bits[rid / 64] &= ~(UINT64_C(1) << (rid % 64));
}

/* resize: every set of c (locked) to `words`, zero beyond what it held
 * (rids above the old top were not in the index then); c->words too. */
static int resize(struct set_cache *c, size_t words)
{
	size_t size = (words ? words : 1) * sizeof(uint64_t);

	for (size_t i = 0; words != c->words && i < c->n; i++) {
		uint64_t *bits = realloc(c->e[i].bits, size);

		if (!bits)
			return ERR_NOMEM;
		if (words > c->words)
			memset(bits + c->words, 0,
			       (words - c->words) * sizeof(uint64_t));
		c->e[i].bits = bits;
	}
	c->bytes = c->n * words * sizeof(uint64_t);
	c->words = words;
	return ERR_OK;
}

/* patch: bring c's sets (locked; of an older generation) up to s's, if
 * index_change holds every rid indexed since: ERR_OK, or ERR_AGAIN (not
 * listed), ERR_IO or ERR_NOMEM, and then c is to be dropped. */
static int patch(struct catalog_sets *s, struct set_cache *c)
{
	int64_t gens = 0, most = 0;
	int rc;

	if (s->at_gen - c->gen > CATALOG_SETS_LOG_GENS)
		return ERR_AGAIN;
	if ((rc = patch_prepare(s)) != ERR_OK)
		return rc;
	sqlite3_bind_int64(s->p_gens, 1, c->gen);
	if (sqlite3_step(s->p_gens) == SQLITE_ROW) {
		gens = sqlite3_column_int64(s->p_gens, 0);
		most = sqlite3_column_int64(s->p_gens, 1);
	}
	sqlite3_reset(s->p_gens);
	/* a generation missing (pruned) or with more rids than listed */
	if (gens != s->at_gen - c->gen || most > CATALOG_SETS_LOG_RIDS)
		return ERR_AGAIN;
	if ((rc = resize(c, s->words)) != ERR_OK ||
	    (rc = step_since(s, s->p_clear, -1, NULL, c)) != ERR_OK ||
	    (rc = step_since(s, s->p_load, c->gen, NULL, c)) != ERR_OK ||
	    (rc = step_since(s, s->p_rids, c->gen, clear_rid, c)) != ERR_OK)
		return rc;
	for (size_t i = 0; i < c->n && rc == ERR_OK; i++) {
		sqlite3_bind_text(s->p_match, 1, c->e[i].expr, -1,
				  SQLITE_STATIC);
		while ((rc = sqlite3_step(s->p_match)) == SQLITE_ROW) {
			int64_t rid = sqlite3_column_int64(s->p_match, 0);

			if (rid > 0 && (uint64_t)rid < (uint64_t)c->words * 64)
				c->e[i].bits[rid / 64] |=
					UINT64_C(1) << (rid % 64);
		}
		rc = rc == SQLITE_DONE ? ERR_OK : ERR_IO;
		if (rc != ERR_OK)
			log_error("catalog: search sets: %s",
				  sqlite3_errmsg(s->db));
		sqlite3_reset(s->p_match);
	}
	sqlite3_clear_bindings(s->p_match);
	return rc;
}

/* ---- bitmaps ------------------------------------------------------------- */

void catalog_bits_and(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] &= src[i];
}

void catalog_bits_andnot(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] &= ~src[i];
}

/* On a CPU with POPCNT (x86-64 after its first level) the count is an
 * instruction a word; the baseline x86-64 build would call libgcc's
 * bit loop (__popcountdi2, 2 % of a hub under distinct searches: perf).
 * The loader picks the version once. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("popcnt", "default")))
#endif
int64_t catalog_bits_count(const uint64_t *bits, size_t n)
{
	int64_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += __builtin_popcountll(bits[i]);
	return c;
}

int64_t catalog_bits_below(const uint64_t *bits, size_t n, int64_t below)
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
