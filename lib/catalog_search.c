/* catalog_search.c: finding services, behind catalog_search (catalog.h).
 *
 * With text, service_fts answers on its own: the indexer fills it with live
 * services only (catalog.c) and each row's filters are words of its facets
 * column (CATALOG_FACETS_SQL). Each word of the text, each filter, and
 * each word kept to the title is a set of rids (catalog_sets.c: built from
 * its own MATCH and kept until the index changes), and the search ANDs
 * them into two tiers: first the services whose title holds every word,
 * then the others, each newest (highest rid) first (with a preferred
 * origin, four: each tier's preferred-origin services first, from the
 * origin's facets word as one more set). FTS5 intersecting the
 * same match lists itself cost about 1 ms a query at 100,000 services
 * when the words are common; the sets cost a few microseconds once built.
 * Only the page's rows are read from service and checked again there
 * (live, filters), since the index follows writes by milliseconds.
 * Without text, service itself answers, newest `updated` first; with a
 * preferred origin (a node's own community) its services come first, then
 * the others', each newest first. The first
 * page counts the matches up to CATALOG_TOTAL_MAX: "total" is exact below
 * it and "more than" at it (total_exact false).
 *
 * `next` is base64url (no padding) of "t<tier>.<rid>" for a text search
 * or "k<updated>.<rid>" for a listing ("p<updated>.<rid>" while still in
 * the preferred origin's services): the last row's place, so services
 * added meanwhile never shift later pages.
 *
 * The district's synonyms (synonyms.h) are read from the directory table
 * when its record's version changes: a word of a group becomes the OR of
 * its group's words before it is looked up as a set.
 *
 * Parts: the `after` token; statements; the facets words; text search;
 * listing; finder_search. */
#include "catalog_search.h"

#include "catalog_sets.h"
#include "clock.h"
#include "json_out.h"

#include "err.h"
#include "log.h"
#include "search.h"
#include "synonyms.h"
#include "text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Default page size and the largest. */
#define CATALOG_LIMIT_DEFAULT 20
#define CATALOG_LIMIT_MAX 100
/* Longest `after` token accepted. */
#define CATALOG_AFTER_MAX 64
/* total counts at most this many matches (and says "more"). */
#define CATALOG_TOTAL_MAX 1000
/* Tiers of a text search: title, then anywhere; with a preferred origin
 * each of them split in two, the preferred origin's services first. */
#define TIERS 4

/* Statement variants: one bit per filter present, and the key of a
 * listing's later page. */
enum {
	V_CATEGORY = 1,
	V_COMMUNITY = 2,
	V_DELIVERY = 4,
	V_FREE = 8,
	V_KEYSET = 16,     /* listing after an (updated, rid) key */
	V_OTHERS = 32,     /* listing: origins other than the preferred */
	V_VARIANTS = 64,
};

/* What each variant's statement does. */
enum {
	FORM_LIST,         /* a listing's page of rows */
	FORM_COUNT,        /* a listing's count, up to :cap */
	FORM_ROW,          /* one row by rid, if live and the filters hold */
	FORMS,
};

struct catalog_finder {
	sqlite3 *db;                      /* the catalog's connection */
	struct catalog_sets *sets;        /* each word's matches */
	uint64_t *tier[TIERS];            /* a text search's tiers */
	int tiers;                        /* how many this search has */
	uint64_t *own;                    /* the preferred origin's set */
	size_t words;                     /* their length (catalog_sets) */
	sqlite3_stmt *stmt[FORMS][V_VARIANTS]; /* prepared on first use */
	sqlite3_stmt *syn_get;            /* the synonyms record */
	struct synonyms *syn;             /* its groups, or NULL */
	int64_t syn_version;              /* its version, 0: none */
};

/* One search, checked and parsed. */
struct search_args {
	const char *category;
	const char *community;
	const char *prefer;               /* listing: this origin first */
	int64_t delivery;                 /* the mode's bit, or 0 */
	int64_t limit;                    /* rows in the page */
	int v;                            /* V_* bits */
	int tier;                         /* text: where `after` left off;
					     listing: 1 in the preferred */
	int64_t updated;                  /* listing: the last row's key */
	int64_t rid;                      /* the last row's rid, 0: none */
};

/* ---- the `after` token -------------------------------------------------- */

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64_encode(const char *in, size_t len, char *out, size_t outlen)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | (unsigned char)in[i];
		bits += 8;
		while (bits >= 6 && o + 1 < outlen) {
			bits -= 6;
			out[o++] = b64url[(acc >> bits) & 63];
		}
	}
	if (bits > 0 && o + 1 < outlen)
		out[o++] = b64url[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

/* b64_decode: decode base64url without padding into out (NUL-terminated).
 * Returns the decoded length or -1 for a character outside the alphabet,
 * an impossible length, or nonzero leftover bits. */
static int b64_decode(const char *in, char *out, size_t outlen)
{
	size_t o = 0, len = strlen(in);
	uint32_t acc = 0;
	int bits = 0;

	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *p = memchr(b64url, in[i], 64);

		if (!p || in[i] == '\0')
			return -1;
		acc = (acc << 6) | (uint32_t)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	out[o] = '\0';
	return (int)o;
}

/* parse_i64: a whole decimal integer (optional '-') ending at stop;
 * returns 0 and sets *v and *end (at stop), or -1. */
static int parse_i64(const char *s, char stop, int64_t *v, const char **end)
{
	char *e;
	long long x;

	if (!((*s >= '0' && *s <= '9') || *s == '-'))
		return -1;
	errno = 0;
	x = strtoll(s, &e, 10);
	if (errno != 0 || e == s || *e != stop)
		return -1;
	*v = x;
	*end = e;
	return 0;
}

/* after_decode: parse a token of the kind this search pages by (text:
 * 't', listing: 'k') into a. Returns ERR_OK or ERR_INVALID. */
static int after_decode(const char *token, int text, struct search_args *a)
{
	char raw[CATALOG_AFTER_MAX];
	const char *end;
	int64_t first;

	if (strlen(token) > CATALOG_AFTER_MAX ||
	    b64_decode(token, raw, sizeof(raw)) < 2 ||
	    (raw[0] != (text ? 't' : 'k') &&
	     !(raw[0] == 'p' && !text && a->prefer)) ||
	    parse_i64(raw + 1, '.', &first, &end) != 0 ||
	    parse_i64(end + 1, '\0', &a->rid, &end) != 0 || a->rid < 1)
		return ERR_INVALID;
	if (!text) {
		a->updated = first;
		a->v |= V_KEYSET;
		a->tier = raw[0] == 'p';
	} else if (first >= 1 && first <= (a->prefer ? 4 : 2)) {
		a->tier = (int)first;
	} else {
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* A `next` token, "" for none. */
typedef char after_token[2 * CATALOG_AFTER_MAX];

/* after_encode: into next, the token of a page whose last row is (first,
 * rid): tag 't' and first the tier (text), or tag 'k' or 'p' (in the
 * preferred origin's services) and first `updated` (listing). */
static void after_encode(char tag, int64_t first, int64_t rid,
			 after_token next)
{
	char raw[CATALOG_AFTER_MAX];

	snprintf(raw, sizeof(raw), "%c%" PRId64 ".%" PRId64, tag, first, rid);
	b64_encode(raw, strlen(raw), next, sizeof(after_token));
}

/* ---- statements --------------------------------------------------------- */

int finder_open(sqlite3 *db, struct catalog_finder **out)
{
	struct catalog_finder *f = calloc(1, sizeof(*f));
	int rc;

	*out = NULL;
	if (!f)
		return ERR_NOMEM;
	f->db = db;
	if ((rc = catalog_sets_open(db, CATALOG_SETS_BUDGET, &f->sets)) !=
	    ERR_OK) {
		free(f);
		return rc;
	}
	*out = f;
	return ERR_OK;
}

void finder_share(struct catalog_finder *from, struct catalog_finder *to)
{
	catalog_sets_share(from->sets, to->sets);
}

void finder_close(struct catalog_finder **f)
{
	if (!f || !*f)
		return;
	catalog_sets_close(&(*f)->sets);
	for (int t = 0; t < TIERS; t++)
		free((*f)->tier[t]);
	free((*f)->own);
	for (int form = 0; form < FORMS; form++)
		for (int v = 0; v < V_VARIANTS; v++)
			sqlite3_finalize((*f)->stmt[form][v]);
	sqlite3_finalize((*f)->syn_get);
	synonyms_free(&(*f)->syn);
	free(*f);
	*f = NULL;
}

/* form_stmt: the statement of form and variant v, put together from
 * constant fragments and prepared on first use; parameters are named
 * (:rid, :cat, :comm, :pref, :deliv, :au, :ar, :limit, :cap). NULL on error. */
static sqlite3_stmt *form_stmt(struct catalog_finder *f, int form, int v)
{
	static const char *const head[FORMS] = {
		"SELECT " CATALOG_SERVICE_COLS " FROM service s WHERE",
		"SELECT count(*) FROM (SELECT 1 FROM service s WHERE",
		"SELECT " CATALOG_SERVICE_COLS " FROM service s WHERE"
		" s.rid = :rid AND",
	};
	static const char *const tail[FORMS] = {
		" ORDER BY s.updated DESC, s.rid DESC LIMIT :limit",
		" LIMIT :cap)",
		"",
	};
	char sql[1024];
	int n;

	if (f->stmt[form][v])
		return f->stmt[form][v];
	n = snprintf(sql, sizeof(sql), "%s%s%s%s%s%s%s%s%s", head[form],
		     " s.deleted = 0 AND s.status <> 'inactive'",
		     v & V_CATEGORY ? " AND s.category = :cat" : "",
		     v & V_COMMUNITY ? " AND s.origin = :comm" : "",
		     v & V_DELIVERY ? " AND (s.delivery_bits & :deliv) <> 0" : "",
		     v & V_FREE ? " AND s.fee = 'free'" : "",
		     v & V_OTHERS ? " AND s.origin <> :pref" : "",
		     v & V_KEYSET ? " AND (s.updated < :au OR (s.updated ="
				    " :au AND s.rid < :ar))" : "",
		     tail[form]);
	if (n < 0 || (size_t)n >= sizeof(sql)) {
		log_error("catalog: search statement %d/%d too long", form, v);
		return NULL;
	}
	if (catalog_prepare(f->db, sql, &f->stmt[form][v]) != ERR_OK)
		return NULL;
	return f->stmt[form][v];
}

static void bind_named_text(sqlite3_stmt *st, const char *name,
			    const char *v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_named_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		sqlite3_bind_int64(st, i, v);
}

/* form_bind: bind a's filters and key to a form statement. */
static void form_bind(sqlite3_stmt *st, const struct search_args *a)
{
	bind_named_text(st, ":cat", a->category);
	bind_named_text(st, ":comm", a->community);
	bind_named_text(st, ":pref", a->prefer);
	bind_named_int(st, ":deliv", a->delivery);
	bind_named_int(st, ":au", a->updated);
	bind_named_int(st, ":ar", a->rid);
	bind_named_int(st, ":limit", a->limit + 1);  /* +1: is there a next */
	bind_named_int(st, ":cap", CATALOG_TOTAL_MAX + 1);
}

static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* stmt_fail: log a failed step, reset st; returns ERR_IO. */
static int stmt_fail(struct catalog_finder *f, sqlite3_stmt *st,
		     const char *what)
{
	log_error("catalog: %s: %s", what, sqlite3_errmsg(f->db));
	stmt_done(st);
	return ERR_IO;
}

/* ---- the facets words -------------------------------------------------- */

/* hex_word: append tag, the lower-case hex of s and "x" at o (how
 * CATALOG_FACETS_SQL writes a category or an origin); returns the end. */
static char *hex_word(char *o, char tag, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	*o++ = tag;
	for (; *s; s++) {
		*o++ = hex[(unsigned char)*s >> 4];
		*o++ = hex[(unsigned char)*s & 15];
	}
	*o++ = 'x';
	return o;
}

/* facet_shaped: search_each_word's callback: 1 when the user's word could
 * be, once stemmed (which changes only its end), a facets word: one that
 * starts with "dlv" or "feefr", or with "c" or "o", hex digits and "x".
 * Then the words are kept to the text columns. */
static int facet_shaped(void *ctx, const char *w, int len)
{
	int i = 1;

	(void)ctx;
	if ((len >= 3 && memcmp(w, "dlv", 3) == 0) ||
	    (len >= 5 && memcmp(w, "feefr", 5) == 0))
		return 1;
	if (len < 2 || (w[0] != 'c' && w[0] != 'o'))
		return 0;
	while (i < len && ((w[i] >= '0' && w[i] <= '9') ||
			   (w[i] >= 'a' && w[i] <= 'f')))
		i++;
	return i < len && w[i] == 'x';
}

/* Longest MATCH expression of one facets word: "facets : " and a quoted
 * origin (community ids are at most 63 bytes, hex doubles them) or
 * combination (category ids are shorter). */
#define FACET_EXPR_MAX 160

/* facet_exprs: the MATCH expressions of a's filters, as facets words: the
 * combination of category, delivery mode and free, and the origin.
 * Returns how many (0 to 2). */
static int facet_exprs(const struct search_args *a,
		       char out[2][FACET_EXPR_MAX])
{
	char word[FACET_EXPR_MAX - sizeof("facets : \"\"")], *o = word;
	int n = 0;

	if (a->v & V_CATEGORY)
		o = hex_word(o, 'c', a->category);
	*o = '\0';
	if (a->v & V_DELIVERY)
		o += snprintf(o, sizeof(word) - (size_t)(o - word),
			      "dlv%" PRId64, a->delivery);
	if (a->v & V_FREE)
		snprintf(o, sizeof(word) - (size_t)(o - word), "feefree");
	if (word[0])
		snprintf(out[n++], FACET_EXPR_MAX, "facets : \"%s\"", word);
	if (a->community) {
		*hex_word(word, 'o', a->community) = '\0';
		snprintf(out[n++], FACET_EXPR_MAX, "facets : \"%s\"", word);
	}
	return n;
}

/* ---- a service's JSON ---------------------------------------------------- */

/* put_service: append the API object of st's current row
 * (CATALOG_SERVICE_COLS, a live service) to out, as catalog_change_json
 * gives it. The lists are stored as the JSON text catalog.c made of them
 * (a compact array of strings) and go out as they are. */
static void put_service(struct json_out *out, sqlite3_stmt *st)
{
	enum { TEXT, LIST, TIME };
	static const struct {
		const char *key;
		int col, kind;
	} fields[] = {
		{ "{\"id\":", 1, TEXT }, { ",\"community\":", 0, TEXT },
		{ ",\"title\":", 4, TEXT }, { ",\"summary\":", 5, TEXT },
		{ ",\"description\":", 6, TEXT },
		{ ",\"category\":", 7, TEXT }, { ",\"audience\":", 8, LIST },
		{ ",\"delivery\":", 9, LIST },
		{ ",\"eligibility\":", 10, TEXT }, { ",\"fee\":", 11, TEXT },
		{ ",\"hours\":", 12, TEXT }, { ",\"phone\":", 13, TEXT },
		{ ",\"address\":", 14, TEXT },
		{ ",\"languages\":", 15, LIST },
		{ ",\"status\":", 16, TEXT }, { ",\"updated\":", 17, TIME },
		{ ",\"eligible_communities\":", 19, LIST },
		{ ",\"keywords\":", 20, LIST },
	};
	char when[CLOCK_RFC3339_LEN];

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = (const char *)sqlite3_column_text(st,
							fields[i].col);
		size_t n = v ? strlen(v) : 0;

		json_out_lit(out, fields[i].key);
		if (fields[i].kind == TIME)
			json_out_str(out, clock_rfc3339(sqlite3_column_int64(
				st, fields[i].col), when, sizeof(when)));
		else if (fields[i].kind == TEXT)
			json_out_str(out, v ? v : "");
		else if (n >= 2 && v[0] == '[' && v[n - 1] == ']')
			json_out_raw(out, v, n);
		else
			json_out_lit(out, "[]");
	}
	json_out_lit(out, "}");
}

/* ---- text search -------------------------------------------------------- */

/* row_of: append the service rid to out (after a comma unless first) if
 * it is live and a's filters hold: ERR_OK, ERR_NOTFOUND or ERR_IO. */
static int row_of(struct catalog_finder *f, const struct search_args *a,
		  int64_t rid, struct json_out *out, int first)
{
	sqlite3_stmt *st = form_stmt(f, FORM_ROW, a->v & ~V_KEYSET);
	int rc;

	if (!st)
		return ERR_IO;
	form_bind(st, a);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":rid"), rid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		stmt_done(st);
		return ERR_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return stmt_fail(f, st, "search row");
	if (!first)
		json_out_raw(out, ",", 1);
	put_service(out, st);
	stmt_done(st);
	return ERR_OK;
}

/* The rids picked for one tier, newest first. */
struct pick {
	int64_t rid[CATALOG_LIMIT_MAX + 1];
	int n;
	int want;                         /* at most */
};

/* pick: up to p->want rids of set (n words) below `below`, newest first. */
static void pick(const uint64_t *set, size_t n, int64_t below,
		 struct pick *p)
{
	int64_t rid = below;

	while (p->n < p->want && (rid = catalog_bits_below(set, n, rid)) > 0)
		p->rid[p->n++] = rid;
}

/* and_expr: AND the set of expr (prefix and the word, a quoted string of
 * search_match's output) into dst. */
static int and_expr(struct catalog_finder *f, uint64_t *dst,
		    const char *prefix, const char *word, size_t len)
{
	char *expr = malloc(strlen(prefix) + len + 1);
	int rc;

	if (!expr)
		return ERR_NOMEM;
	memcpy(expr, prefix, strlen(prefix));
	memcpy(expr + strlen(prefix), word, len);
	expr[strlen(prefix) + len] = '\0';
	rc = catalog_sets_and(f->sets, expr, dst);
	free(expr);
	return rc;
}

_Static_assert(ALLIANCE__V1__KIND__KIND_SEARCH_WORDS == 8,
	       "synonyms_refresh's SQL names the kind");

/* synonyms_refresh: read the district's synonyms again when their
 * record's version has changed since the last search (one lookup by key
 * in the search's read transaction). A record that cannot be read or
 * holds bad groups leaves no synonyms (logged). */
static void synonyms_refresh(struct catalog_finder *f)
{
	sqlite3_stmt *st;
	int64_t version = 0;
	int rc;

	if (!f->syn_get &&
	    catalog_prepare(f->db, "SELECT version, deleted, body FROM"
			    " directory WHERE origin = 'district' AND kind = 8"
			    " AND id = 'synonyms'", &f->syn_get) != ERR_OK)
		return;
	st = f->syn_get;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && !sqlite3_column_int(st, 1))
		version = sqlite3_column_int64(st, 0);
	if (version != f->syn_version) {
		Alliance__V1__SearchWords *m = NULL;
		char why[160];

		synonyms_free(&f->syn);
		if (version)
			m = alliance__v1__search_words__unpack(NULL,
				(size_t)sqlite3_column_bytes(st, 2),
				sqlite3_column_blob(st, 2));
		if (m && synonyms_from_proto(m, &f->syn, why, sizeof(why)) !=
		    ERR_OK)
			log_warn("catalog: the stored synonyms: %s", why);
		if (m)
			alliance__v1__search_words__free_unpacked(m, NULL);
		f->syn_version = version;
	}
	sqlite3_reset(st);
}

/* word_expr: the synonyms' expression of one quoted word of
 * search_match's output (quotes doubled inside), or NULL (not in a
 * group, or no synonyms). Caller frees. */
static char *word_expr(struct catalog_finder *f, const char *quoted,
		       size_t len)
{
	char *word, *o, *expr;

	if (!f->syn || len < 2 || !(word = malloc(len)))
		return NULL;
	o = word;
	for (size_t i = 1; i + 1 < len; i++) {
		*o++ = quoted[i];
		if (quoted[i] == '"')
			i++;    /* a doubled quote */
	}
	expr = synonyms_expr(f->syn, word, (size_t)(o - word));
	free(word);
	return expr;
}

/* prefer_tiers: split the two tiers (title T in tier[0], the rest R in
 * tier[1]) by the preferred origin's set O (its facets word): tier[0]
 * T and O, tier[1] T but not O, tier[2] R and O, tier[3] R but not O. */
static int prefer_tiers(struct catalog_finder *f, const char *prefer)
{
	char word[FACET_EXPR_MAX - sizeof("facets : \"\"")];
	char expr[FACET_EXPR_MAX];
	size_t bytes = f->words * sizeof(uint64_t);
	uint64_t **t = f->tier, *own;
	int rc;

	if (!(own = realloc(f->own, bytes ? bytes : sizeof(uint64_t))))
		return ERR_NOMEM;
	f->own = own;
	memset(own, 0xff, bytes);
	*hex_word(word, 'o', prefer) = '\0';
	snprintf(expr, sizeof(expr), "facets : \"%s\"", word);
	if ((rc = and_expr(f, own, "", expr, strlen(expr))) != ERR_OK)
		return rc;
	memcpy(t[2], t[1], bytes);
	catalog_bits_and(t[2], own, f->words);
	memcpy(t[3], t[1], bytes);
	catalog_bits_andnot(t[3], own, f->words);
	memcpy(t[1], t[0], bytes);
	catalog_bits_andnot(t[1], own, f->words);
	catalog_bits_and(t[0], own, f->words);
	return ERR_OK;
}

/* text_tiers: the matches of the words `match` (search_match's output:
 * quoted words joined by " AND "; `text` the user's) under a's filters,
 * in two tiers: f->tier[0] the services with every word in the title,
 * f->tier[1] the others; with a preferred origin (and no community
 * filter) in four: each of those two split into the preferred origin's
 * services, then the others' (prefer_tiers). A word is kept to the text
 * columns only when one of the user's words looks like a facets word. */
static int text_tiers(struct catalog_finder *f, const char *text,
		      const char *match, const struct search_args *a)
{
	const char *any = search_each_word(text, facet_shaped, NULL)
			  ? "{title summary description tags} : " : "";
	char facets[2][FACET_EXPR_MAX], *syn;
	uint64_t **t = f->tier;
	int n = facet_exprs(a, facets), rc;

	if ((rc = catalog_sets_begin(f->sets, &f->words)) != ERR_OK)
		return rc;
	synonyms_refresh(f);
	f->tiers = a->prefer && !(a->v & V_COMMUNITY) ? 4 : 2;
	for (int i = 0; i < f->tiers; i++) {
		uint64_t *grown = realloc(t[i], (f->words ? f->words : 1) *
					  sizeof(uint64_t));

		if (!grown)
			return ERR_NOMEM;
		t[i] = grown;
		memset(t[i], 0xff, f->words * sizeof(uint64_t));
	}
	for (int i = 0; i < n && rc == ERR_OK; i++)
		rc = and_expr(f, t[1], "", facets[i], strlen(facets[i]));
	/* "w" AND "w" ...: a word holds no space, so each " AND " between
	 * two quotes separates two words */
	for (const char *w = match, *end; rc == ERR_OK && *w; w = end) {
		const char *sep = strstr(w, "\" AND \"");
		size_t len = sep ? (size_t)(sep + 1 - w) : strlen(w);

		end = sep ? sep + 6 : w + len;
		/* a word of a synonym group: any word of the group, kept to
		 * the text columns (a synonym may look like a facets word) */
		if ((syn = word_expr(f, w, len))) {
			rc = and_expr(f, t[1], "{title summary description "
				      "tags} : ", syn, strlen(syn));
			if (rc == ERR_OK)
				rc = and_expr(f, t[0], "title : ", syn,
					      strlen(syn));
			free(syn);
			continue;
		}
		rc = and_expr(f, t[1], any, w, len);
		if (rc == ERR_OK)
			rc = and_expr(f, t[0], "title : ", w, len);
	}
	if (rc != ERR_OK)
		return rc;
	catalog_bits_and(t[0], t[1], f->words);
	catalog_bits_andnot(t[1], t[0], f->words);
	return f->tiers == 4 ? prefer_tiers(f, a->prefer) : ERR_OK;
}

/* text_page: append to out the items of a's page of a text search from
 * where a->after left off: the tiers in order (every word in the title,
 * then the others; with a preferred origin its services first in each),
 * each newest first; next becomes the token of the last row looked at
 * when more may follow; *count the matches when it is not NULL (first
 * page). */
static int text_page(struct catalog_finder *f, const struct search_args *a,
		     struct json_out *out, after_token next, int64_t *count)
{
	struct pick p = { .want = (int)a->limit + 1 };
	int tier_of[CATALOG_LIMIT_MAX + 1];
	int64_t last = 0, shown = 0;
	int last_tier = 0, rc;

	if (count) {
		*count = 0;
		for (int i = 0; i < f->tiers; i++)
			*count += catalog_bits_count(f->tier[i], f->words);
	}
	/* from the tier where the last page ended, on while the page is not
	 * full: up to limit + 1 picks, to know whether more follow */
	for (int tier = a->tier ? a->tier : 1; tier <= f->tiers &&
	     p.n < p.want; tier++) {
		int from = p.n;

		pick(f->tier[tier - 1], f->words,
		     tier == a->tier ? a->rid : INT64_MAX, &p);
		for (int i = from; i < p.n; i++)
			tier_of[i] = tier;
	}
	for (int i = 0; i < p.n; i++) {
		if (shown == a->limit) {
			after_encode('t', last_tier, last, next);
			return ERR_OK;
		}
		last = p.rid[i];
		last_tier = tier_of[i];
		rc = row_of(f, a, p.rid[i], out, shown == 0);
		if (rc == ERR_NOTFOUND)   /* gone since it was indexed */
			continue;
		if (rc != ERR_OK)
			return rc;
		shown++;
	}
	/* every pick looked at: more may follow only when the picks were cut
	 * short */
	if (last && p.n == p.want)
		after_encode('t', last_tier, last, next);
	return ERR_OK;
}

/* text_search: items, next and, on the first page, total of a text
 * search. */
static int text_search(struct catalog_finder *f, const char *text,
		       const char *match, const struct search_args *a,
		       struct json_out *out, after_token next, int64_t *count)
{
	int rc = text_tiers(f, text, match, a);

	if (rc != ERR_OK)
		return rc;
	return text_page(f, a, out, next, *count < 0 ? NULL : count);
}

/* ---- listing ------------------------------------------------------------ */

/* list_rows: append rows of the listing t (its filters and key) to out
 * while *rows < limit, t->updated and t->rid following the last row
 * shown. At a row beyond limit, stores the token of the last row shown
 * (tag 'k', or 'p' when *last_tag says it was in the preferred origin's
 * tier) in next and returns 1; else 0 when the rows ran out, or ERR_IO. */
static int list_rows(struct catalog_finder *f, struct search_args *t,
		     int64_t limit, int64_t *rows, char tag, char *last_tag,
		     struct json_out *out)
{
	sqlite3_stmt *st = form_stmt(f, FORM_LIST, t->v);
	int rc;

	if (!st)
		return ERR_IO;
	t->limit = limit - *rows;
	form_bind(st, t);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*rows == limit) {
			stmt_done(st);
			return 1;
		}
		t->updated = sqlite3_column_int64(st, 17);
		t->rid = sqlite3_column_int64(st, 18);
		*last_tag = tag;
		if (*rows > 0)
			json_out_raw(out, ",", 1);
		put_service(out, st);
		(*rows)++;
	}
	if (rc != SQLITE_DONE)
		return stmt_fail(f, st, "search");
	stmt_done(st);
	return 0;
}

/* list_search: items, next and, on the first page, total of a listing
 * without text. With a preferred origin and no community filter, two
 * tiers: the preferred origin's services ('p' tokens), then the others'
 * ('k'), each newest first. */
static int list_search(struct catalog_finder *f, struct search_args *a,
		       struct json_out *out, after_token next, int64_t *count)
{
	struct search_args own = *a, rest = *a;
	int tiered = a->prefer && !(a->v & V_COMMUNITY);
	int64_t rows = 0, updated = 0, rid = 0;
	char last_tag = 0;
	sqlite3_stmt *st;
	int rc = 0;

	if (!(a->v & V_KEYSET)) {
		if (!(st = form_stmt(f, FORM_COUNT, a->v)))
			return ERR_IO;
		form_bind(st, a);
		if (sqlite3_step(st) != SQLITE_ROW)
			return stmt_fail(f, st, "search count");
		*count = sqlite3_column_int64(st, 0);
		stmt_done(st);
	}
	if (tiered && (!(a->v & V_KEYSET) || a->tier == 1)) {
		own.community = a->prefer;
		own.v |= V_COMMUNITY;
		rc = list_rows(f, &own, a->limit, &rows, 'p', &last_tag, out);
		updated = own.updated;
		rid = own.rid;
		/* the others' tier from its start */
		rest.v &= ~V_KEYSET;
		rest.updated = rest.rid = 0;
	}
	if (tiered)
		rest.v |= V_OTHERS;
	if (rc == 0) {
		rc = list_rows(f, &rest, a->limit, &rows, 'k', &last_tag, out);
		if (last_tag == 'k') {
			updated = rest.updated;
			rid = rest.rid;
		}
	}
	if (rc < 0)
		return rc;
	if (rc == 1)    /* limit >= 1: a row was shown, last_tag is set */
		after_encode(last_tag, updated, rid, next);
	return ERR_OK;
}

/* ---- finder_search ------------------------------------------------------ */

/* args_of: check q's filters and `after` into a; ERR_INVALID with why
 * naming the parameter. text: the search has words. */
static int args_of(const struct catalog_query *q, int text,
		   struct search_args *a, char *why, size_t whylen)
{
	char shown[65];

	memset(a, 0, sizeof(*a));
	a->prefer = q->prefer && text_community_valid(q->prefer) ? q->prefer
								  : NULL;
	if (q->category && !catalog_is_category(q->category)) {
		snprintf(why, whylen, "category: '%s' is not a category id",
			 catalog_clip(q->category, 64, shown));
		return ERR_INVALID;
	}
	if (q->delivery && !catalog_is_delivery(q->delivery)) {
		snprintf(why, whylen, "delivery: '%s' is not one of walk-in,"
			 " home-visit, online, phone",
			 catalog_clip(q->delivery, 32, shown));
		return ERR_INVALID;
	}
	if (q->community && !text_community_valid(q->community)) {
		snprintf(why, whylen, "community: not a community id");
		return ERR_INVALID;
	}
	if (q->after && *q->after && after_decode(q->after, text, a) != ERR_OK) {
		snprintf(why, whylen, "after: not a `next` value of this "
			 "search");
		return ERR_INVALID;
	}
	if ((a->category = q->category))
		a->v |= V_CATEGORY;
	if ((a->community = q->community))
		a->v |= V_COMMUNITY;
	if ((a->delivery = catalog_delivery_bit(q->delivery)))
		a->v |= V_DELIVERY;
	if (q->free_only)
		a->v |= V_FREE;
	a->limit = q->limit < 1 ? CATALOG_LIMIT_DEFAULT :
		   q->limit > CATALOG_LIMIT_MAX ? CATALOG_LIMIT_MAX : q->limit;
	return ERR_OK;
}

int finder_search(struct catalog_finder *f, const struct catalog_query *q,
		  char **body, size_t *len, char *why, size_t whylen)
{
	struct search_args a;
	struct json_out out = { 0 };
	after_token next = "";
	int64_t count = -1;                /* -1: not counted (later pages) */
	char *match;
	int rc, own = 0;

	*body = NULL;
	*len = 0;
	match = q->q ? search_match(q->q) : NULL;
	rc = args_of(q, match != NULL, &a, why, whylen);
	if (rc != ERR_OK)
		goto done;
	/* one read transaction for the page's statements: one snapshot, and
	 * the store's locks taken once, not once a row */
	if (sqlite3_get_autocommit(f->db)) {
		if (sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
			rc = ERR_IO;
			goto done;
		}
		own = 1;
	}
	json_out_lit(&out, "{\"items\":[");
	if (match) {
		if (!a.rid)
			count = 0;
		rc = text_search(f, q->q, match, &a, &out, next, &count);
	} else {
		rc = list_search(f, &a, &out, next, &count);
	}
	if (rc != ERR_OK)
		goto done;
	json_out_lit(&out, "],\"next\":");
	if (next[0])
		json_out_str(&out, next);
	else
		json_out_lit(&out, "null");
	if (count >= 0) {
		json_out_lit(&out, ",\"total\":");
		json_out_int(&out, count > CATALOG_TOTAL_MAX ? CATALOG_TOTAL_MAX
						       : count);
		json_out_lit(&out, count <= CATALOG_TOTAL_MAX
			     ? ",\"total_exact\":true"
			     : ",\"total_exact\":false");
	}
	json_out_lit(&out, "}");
	if (!(*body = json_out_take(&out, len)))
		rc = ERR_NOMEM;
done:
	if (own)
		sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL);
	json_out_free(&out);
	free(match);
	if (rc == ERR_IO)
		snprintf(why, whylen, "the catalog could not be read");
	return rc;
}
