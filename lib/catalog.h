/* catalog.h: services and announcements: storage, change log, search, JSON.
 *
 * Hub and node keep the same tables: every record is (origin, kind, id,
 * version, deleted) plus its fields; the version rule (store iff greater
 * than the stored version) is applied here, once, for both. The log is a
 * stream of (seq, origin, kind, id), one entry per record at its latest seq
 * (a record changed again moves to a new seq): at a node it holds the
 * node's own changes (the up stream), at the hub every applied change (the
 * down stream). Records travel as Alliance__V1__Change messages.
 *
 * All functions run on one connection on one thread; the caller owns the
 * transaction (BEGIN/COMMIT around a batch). */
#ifndef ALLIANCE_CATALOG_H
#define ALLIANCE_CATALOG_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

typedef Alliance__V1__Change Change;

/* Migration SQL creating the catalog tables (records, log, FTS index). A
 * daemon lists it among its own store migrations. */
extern const char *const catalog_schema_v1;

struct catalog;   /* prepared statements on one connection */

/* catalog_open: prepare statements on db (already migrated). Stores a new
 * catalog in *out (free with catalog_close; db stays the caller's). */
int catalog_open(sqlite3 *db, struct catalog **out);
void catalog_close(struct catalog **cat);

/* ---- records and the log ----------------------------------------------- */

/* catalog_apply: store ch iff ch->version is greater than the stored
 * version of (origin, kind, id); a deleted change stores a tombstone. When
 * log is non-zero an applied change also takes a new seq in the log. Sets
 * *applied to 1 when stored, 0 when it was not newer. Returns ERR_OK,
 * ERR_INVALID (no body for a live record, unknown kind) or ERR_IO. */
int catalog_apply(struct catalog *cat, const Change *ch, int log,
		  int *applied);

/* catalog_get: the stored state of (origin, kind, id) as a new Change
 * (free with catalog_change_free), or ERR_NOTFOUND. Tombstones are found
 * (deleted set, no body). */
int catalog_get(struct catalog *cat, const char *origin, int kind,
		const char *id, Change **out);
void catalog_change_free(Change **ch);

/* catalog_log_batch: the log entries with seq > after in seq order, at most
 * limit, as new Changes carrying the records' current state and their log
 * seq. Entries whose origin equals skip_origin (NULL: none) are passed over
 * but still advance *last. Stores the array in *out and its length in *n
 * (free with catalog_batch_free) and the seq of the last entry looked at in
 * *last (after, when none). Returns ERR_OK or ERR_IO. */
int catalog_log_batch(struct catalog *cat, uint64_t after,
		      const char *skip_origin, size_t limit, Change ***out,
		      size_t *n, uint64_t *last);
void catalog_batch_free(Change ***batch, size_t n);

/* catalog_log_head: the highest seq in the log (0 when empty). */
uint64_t catalog_log_head(struct catalog *cat);

/* catalog_max_version: the highest version stored of origin's records. */
uint64_t catalog_max_version(struct catalog *cat, const char *origin);

/* catalog_count: live records of origin and kind (origin NULL: all). */
uint64_t catalog_count(struct catalog *cat, const char *origin, int kind);

/* ---- JSON --------------------------------------------------------------- */

/* catalog_service_from_json: validate a manager's service object (DESIGN.md
 * "A service in JSON"; delivery may be one string) into a new Service
 * (free with alliance__v1__service__free_unpacked(s, NULL)). On a missing
 * or invalid field returns ERR_INVALID with a message naming the field in
 * why ("title: required", "category: 'x' is not a category id"). */
int catalog_service_from_json(const json_t *in, Alliance__V1__Service **out,
			      char *why, size_t whylen);
int catalog_announcement_from_json(const json_t *in,
				   Alliance__V1__Announcement **out,
				   char *why, size_t whylen);

/* catalog_change_json: a live record as the API shows it (new reference):
 * a service with id, community, the fields and updated (RFC 3339); an
 * announcement with id, community, title, body, category, published and
 * expires. */
json_t *catalog_change_json(const Change *ch);

/* ---- queries ------------------------------------------------------------ */

struct catalog_query {
	const char *q;          /* free text, or NULL */
	const char *category;   /* a category id, or NULL */
	const char *community;  /* an origin, or NULL */
	const char *delivery;   /* walk-in, home-visit, online, phone, or NULL */
	int free_only;          /* only fee = free */
	int limit;              /* 1..100 */
	const char *after;      /* the opaque `next` of the previous page */
};

/* catalog_search: live services matching q, ranked when q has text (else
 * newest first), as {"items":[...],"next":...,"total":...} (total on every
 * page, next null on the last). ERR_INVALID with why for a bad `after`. */
int catalog_search(struct catalog *cat, const struct catalog_query *q,
		   json_t **out, char *why, size_t whylen);

/* catalog_announcements: announcements not expired at now, newest first,
 * of community (NULL: all), as {"items":[...]}. */
int catalog_announcements(struct catalog *cat, int64_t now,
			  const char *community, int limit, json_t **out);

/* catalog_is_category, catalog_is_delivery: the fixed id lists. */
int catalog_is_category(const char *id);
int catalog_is_delivery(const char *id);

#endif
