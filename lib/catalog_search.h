/* catalog_search.h: what catalog.c and catalog_search.c share, and
 * nothing else includes: the finder behind catalog_search, the facets
 * words of the search index, and catalog.c's row helpers. */
#ifndef ALLIANCE_CATALOG_SEARCH_H
#define ALLIANCE_CATALOG_SEARCH_H

#include "catalog.h"

/* Default page size and the largest, of every catalog list. */
#define CATALOG_LIMIT_DEFAULT 20
#define CATALOG_LIMIT_MAX 100

/* The columns a service row is read with. */
#define CATALOG_SERVICE_COLS \
	"origin, id, version, deleted, title, summary, description," \
	" category, audience, delivery, eligibility, fee, hours, phone," \
	" address, languages, status, updated, rid, eligible_communities," \
	" keywords"

/* The facets column of service_fts, from a service row: the words the
 * filters search for, so that any filters are one word and the index
 * intersects the words of the text with one short list. "o<hex>x": the
 * origin (lower-case hex, then "x": one word whatever the id holds, left
 * alone by stemming). And one word for each combination of the category
 * "c<hex>x", a delivery mode "dlv<bit>" (catalog.c's list, bit i = mode
 * i) and "feefree" the service has, in that order: "c<hex>x",
 * "feefree", "c<hex>xfeefree", "dlv2", "c<hex>xdlv2", "dlv2feefree",
 * "c<hex>xdlv2feefree", ... */
#define CATALOG_FACET_CATEGORY "('c' || lower(hex(category)) || 'x')"
#define CATALOG_FACET_DELIVERY(bit) \
	" || CASE WHEN delivery_bits & " #bit " THEN ' dlv" #bit " ' || " \
	CATALOG_FACET_CATEGORY " || 'dlv" #bit "' || CASE WHEN fee = 'free'" \
	" THEN ' dlv" #bit "feefree ' || " CATALOG_FACET_CATEGORY \
	" || 'dlv" #bit "feefree' ELSE '' END ELSE '' END"
#define CATALOG_FACETS_SQL \
	"'o' || lower(hex(origin)) || 'x ' || " CATALOG_FACET_CATEGORY \
	" || CASE WHEN fee = 'free' THEN ' feefree ' || " \
	CATALOG_FACET_CATEGORY " || 'feefree' ELSE '' END" \
	CATALOG_FACET_DELIVERY(1) CATALOG_FACET_DELIVERY(2) \
	CATALOG_FACET_DELIVERY(4) CATALOG_FACET_DELIVERY(8)

struct catalog_finder;   /* the search statements of one connection */

/* finder_open: a finder on db (migrated); ERR_OK, ERR_IO or ERR_NOMEM.
 * finder_close frees it and sets *f to NULL. */
int finder_open(sqlite3 *db, struct catalog_finder **out);
void finder_close(struct catalog_finder **f);

/* finder_share: catalog_search_share (catalog.h). */
void finder_share(struct catalog_finder *from, struct catalog_finder *to);

/* finder_search: catalog_search (catalog.h). */
int finder_search(struct catalog_finder *f, const struct catalog_query *q,
		  char **body, size_t *len, char *why, size_t whylen);

/* catalog.c's helpers. catalog_prepare: a persistent statement, logged
 * on error (ERR_OK or ERR_IO). catalog_delivery_bit: the bit of a
 * delivery mode, 0 if unknown. */
int catalog_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt);
int64_t catalog_delivery_bit(const char *mode);

#endif
