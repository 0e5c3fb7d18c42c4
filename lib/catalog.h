/* catalog.h: services and announcements (and the district's directory
 * records): storage, change log, search, JSON.
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
 * daemon lists it among its own store migrations (store_open registers
 * the tokenizer the index needs). Tables, for the rare SQL outside this
 * module (prefer the functions below):
 *   service (rid INTEGER PRIMARY KEY, origin, id, version, deleted, title,
 *            summary, description, category, audience, delivery,
 *            delivery_bits, eligibility, fee, hours, phone, address,
 *            languages, status, updated, tags; UNIQUE (origin, id)) -
 *            audience/delivery/languages are JSON arrays of strings, fee
 *            is 'free' or an amount, updated unix seconds, tags the
 *            category's words; a tombstone has deleted = 1 and empty
 *            fields;
 *   announcement (rid, origin, id, version, deleted, title, body,
 *            category, published, expires; UNIQUE (origin, id));
 *   catalog_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, origin, kind, id;
 *            UNIQUE (origin, kind, id));
 *   service_fts: FTS5 over service (title, summary, description, tags),
 *            external content, kept by triggers on service (v1 only).
 * catalog_schema_v2 (the next migration) takes the index off the apply
 * path: service_fts becomes a regular FTS5 table (rowid = service.rid, its
 * own copy of the four texts) and triggers on service only queue the
 * written rid in index_pending (rid INTEGER PRIMARY KEY); every existing
 * rid is queued so the index is rebuilt. catalog_index_pending brings the
 * index up to date. catalog_schema_v3 (after v2) lets search answer from
 * the index alone: service_fts gains a facets column (the filters as
 * words), holds live services only and has rowid = -service.rid; every
 * rid is queued again. catalog_schema_v4 (after v3) adds index_gen (gen),
 * counting the indexer's transactions, and index_change (gen, rid), the
 * rids the last of them indexed (catalog_sets.h). */
extern const char catalog_schema_v1[];
extern const char catalog_schema_v2[];
extern const char catalog_schema_v3[];
extern const char catalog_schema_v4[];
/* catalog_schema_v5 (after v4): table directory (origin, kind, id,
 * version, deleted, body: the packed Community or SearchWords) for the
 * district's records of kinds KIND_COMMUNITY and KIND_SEARCH_WORDS, kept
 * and logged like services; service gains eligible_communities and
 * keywords (JSON arrays; keywords are indexed with tags). */
extern const char catalog_schema_v5[];
/* catalog_schema_v6 (after v5): service and announcement gain body_bytes,
 * what the record's body counts for its community's quota
 * (quota_body_bytes); catalog_measure fills it for rows from before. */
extern const char catalog_schema_v6[];
/* catalog_schema_v7 (after v6): catalog_usage, each origin's live records
 * and body bytes, computed once and then kept by triggers on service and
 * announcement; an (origin, version) index on both for
 * catalog_max_version. */
extern const char catalog_schema_v7[];

struct catalog;   /* prepared statements on one connection */

/* catalog_open: prepare statements on db (already migrated). Stores a new
 * catalog in *out (free with catalog_close; db stays the caller's) and
 * returns ERR_OK, or ERR_IO (schema missing, logged) or ERR_NOMEM. */
int catalog_open(sqlite3 *db, struct catalog **out);
void catalog_close(struct catalog **cat);

/* ---- records and the log ----------------------------------------------- */

/* catalog_apply: store ch iff ch->version is greater than the stored
 * version of (origin, kind, id); a deleted change stores a tombstone. When
 * log is non-zero an applied change also takes a new seq in the log. Sets
 * *applied to 1 when stored, 0 when it was not newer. Returns ERR_OK,
 * ERR_TOOBIG (log set and over catalog_size_check: nothing stored),
 * ERR_INVALID (no body for a live record, a kind other than service,
 * announcement, community or search words (the last two, the district's,
 * kept in the directory table), an origin that is not a community id, an id that is not a
 * record id, version 0 or above INT64_MAX; nothing stored), ERR_NOMEM or
 * ERR_IO. The body is stored as given: validate manager input with
 * catalog_*_from_json first. */
int catalog_apply(struct catalog *cat, const Change *ch, int log,
		  int *applied);

/* catalog_get: the stored state of (origin, kind, id) as a new Change
 * (free with catalog_change_free), or ERR_NOTFOUND. Tombstones are found
 * (deleted set, no body). ERR_INVALID for a kind the catalog does not
 * keep. catalog_change_free(&ch) frees and sets ch to NULL. */
int catalog_get(struct catalog *cat, const char *origin, int kind,
		const char *id, Change **out);
void catalog_change_free(Change **ch);

/* catalog_log_batch: the log entries with seq > after in seq order, at most
 * limit, as new Changes carrying the records' current state and their log
 * seq. Entries whose origin equals skip_origin (NULL: none) are passed over
 * but still advance *last. Stores the array in *out and its length in *n
 * (free with catalog_batch_free) and the seq of the last entry looked at in
 * *last (after, when none). Returns ERR_OK or ERR_IO. Skipped entries do
 * not count towards limit, so a call may return fewer than limit, even
 * none (*out NULL, *n 0), with *last advanced: send nothing, remember
 * *last, and call again while *last < catalog_log_head(). Fewer than
 * limit means every entry up to the head was looked at. */
int catalog_log_batch(struct catalog *cat, uint64_t after,
		      const char *skip_origin, size_t limit, Change ***out,
		      size_t *n, uint64_t *last);
void catalog_batch_free(Change ***batch, size_t n);

/* catalog_log_batch_kinds: catalog_log_batch of the entries whose kind is
 * at most max_kind only (the others are passed over like skip_origin's),
 * so a peer that does not know the directory's kinds is not sent them,
 * and of at most max_bytes as a Changes frame (wire_change_cost each,
 * plus WIRE_BATCH_OVERHEAD; one change at least, whatever its size):
 * the batch ends before the change that would pass it, and *last with
 * it. catalog_log_batch bounds its batches by LIMIT_BATCH_BYTES. */
int catalog_log_batch_kinds(struct catalog *cat, uint64_t after,
			    const char *skip_origin, int max_kind,
			    size_t limit, size_t max_bytes, Change ***out,
			    size_t *n, uint64_t *last);

/* catalog_directory_each: call fn for each live record of kind
 * (KIND_COMMUNITY or KIND_SEARCH_WORDS) in (origin, id) order; fn must
 * not write the catalog. ERR_OK, ERR_INVALID for another kind, ERR_IO. */
int catalog_directory_each(struct catalog *cat, int kind,
			   void (*fn)(const Change *ch, void *arg), void *arg);

/* catalog_purge_tombstones: forget tombstones whose log entry is at or
 * below upto (records and log entries both); a peer whose cursor is below
 * upto must then be sent a snapshot. Stores how many went in *purged.
 * Runs in the caller's transaction. Returns ERR_OK or ERR_IO. */
int catalog_purge_tombstones(struct catalog *cat, uint64_t upto,
			     uint64_t *purged);

/* catalog_log_head: the highest seq in the log (0 when empty). */
uint64_t catalog_log_head(struct catalog *cat);

/* catalog_sole_writer: promise that no other connection writes this
 * catalog's log from now on (the hub's one store thread). Then
 * catalog_log_head, called outside a transaction, answers from memory
 * while no row has changed on the connection since it last read the log
 * (a session's every WRITEABLE asks it). */
void catalog_sole_writer(struct catalog *cat);

/* catalog_log_raise: make every log entry written from now on take a seq
 * above seq (a peer already holds a stream of ours up to it: a restored
 * node, node/sync.c); never lowers what is reached. In the caller's
 * transaction. ERR_OK, ERR_INVALID for seq over 2^63-1, or ERR_IO. */
int catalog_log_raise(struct catalog *cat, uint64_t seq);

/* catalog_log_again: give the record (origin, kind, id) of ch a new seq in
 * the log, its version unchanged, so the stream sends it again (the
 * receiver's version rule decides). ERR_OK or ERR_IO. */
int catalog_log_again(struct catalog *cat, const Change *ch);

/* catalog_max_version: the highest version stored of origin's records. */
uint64_t catalog_max_version(struct catalog *cat, const char *origin);

/* catalog_record_size: whether (origin, kind, id) is stored live (*live 1;
 * 0 when absent or a tombstone, or for a kind other than service and
 * announcement) and its body bytes (0 unless live). ERR_OK or ERR_IO. */
int catalog_record_size(struct catalog *cat, const char *origin, int kind,
			const char *id, int *live, uint64_t *bytes);

/* catalog_usage: origin's live services and announcements and the sum of
 * their body bytes, what its quota counts (kept in the store, one lookup;
 * it includes the caller's uncommitted writes). ERR_OK or ERR_IO. */
int catalog_usage(struct catalog *cat, const char *origin,
		  uint64_t *records, uint64_t *bytes);

/* catalog_measure: fill body_bytes of the live rows written before
 * catalog_schema_v6 (a daemon calls it once its store is open), storing
 * how many in *measured. Runs in the caller's transaction, if any.
 * ERR_OK or ERR_IO. */
int catalog_measure(struct catalog *cat, uint64_t *measured);

/* catalog_count: live records of origin and kind (origin NULL: all);
 * expired announcements count until they are deleted. */
uint64_t catalog_count(struct catalog *cat, const char *origin, int kind);

/* ---- the search index ---------------------------------------------------- */

/* catalog_index_pending: in the caller's transaction, for up to limit
 * queued rids (lowest first): drop the rid from service_fts, copy the
 * current row's texts in when it exists and is not a tombstone, and
 * dequeue it; then add one to index_gen, noting the rids in index_change.
 * Stores how many were handled in *done (fewer than limit: the queue is
 * empty now). Returns ERR_OK or ERR_IO. Searches see a record only once
 * this has run for it (the index lag): a daemon's indexer thread
 * (indexer.h) calls it; tests call it before searching. */
int catalog_index_pending(struct catalog *cat, size_t limit, size_t *done);

/* catalog_index_idle: 1 when nothing is queued for the index (every
 * committed write is searchable), else 0 (also on a store error). */
int catalog_index_idle(struct catalog *cat);

/* catalog_index_gen: the index generation (catalog_index_pending adds one
 * each time it indexes) as the caller's transaction, or a read of its
 * own, sees it, in *gen. ERR_OK, or ERR_IO (logged; *gen 0). */
int catalog_index_gen(struct catalog *cat, int64_t *gen);

/* ---- JSON --------------------------------------------------------------- */

/* catalog_service_from_json: validate a manager's service object (DESIGN.md
 * "A service in JSON"; delivery may be one string) into a new Service
 * (free with alliance__v1__service__free_unpacked(s, NULL)). On a missing
 * or invalid field returns ERR_INVALID with a message naming the field in
 * why ("title: required", "category: 'x' is not a category id"), and
 * ERR_NOMEM. Also: strings must be UTF-8 without control characters (\n
 * only in description); fee "free", "免费", "" or absent become "free";
 * status defaults to active; updated (RFC 3339 or unix seconds) defaults
 * to now; duplicate list items are dropped; id, community and unknown
 * fields are not read (the node assigns ids).
 *
 * catalog_announcement_from_json: title required (1..200 bytes); body up
 * to 8000 bytes (lines allowed); category optional, default "other", a
 * category id if given; published (RFC 3339 or unix seconds) defaults to
 * now; expires likewise, absent/null/"" meaning 0 (never), else after
 * published. Free with alliance__v1__announcement__free_unpacked. */
int catalog_service_from_json(const json_t *in, Alliance__V1__Service **out,
			      char *why, size_t whylen);
int catalog_announcement_from_json(const json_t *in,
				   Alliance__V1__Announcement **out,
				   char *why, size_t whylen);

/* catalog_check: hold a record from a peer to the rules a manager's input
 * keeps (the same validation as catalog_*_from_json), so a node cannot
 * slip past them by writing the wire directly. Returns ERR_OK, or
 * ERR_INVALID with the field named in why. Tombstones pass. */
int catalog_check(const Change *ch, char *why, size_t whylen);

/* catalog_size_check: a record must fit a frame: its encoding as one
 * change of a Changes frame (wire_change_cost) may be at most
 * LIMIT_CHANGE_BYTES, so that every batch, however cut, can carry it and
 * no stream ever stops at it. ERR_OK, or ERR_TOOBIG with its size and
 * the limit in why. catalog_check holds peers' records to it and
 * catalog_apply every record it logs; a writer checks it first to answer
 * 413. */
int catalog_size_check(const Change *ch, char *why, size_t whylen);

/* catalog_time_check: a record a manager writes may not be dated ahead
 * of the writer's clock (now) by more than LIMIT_CLOCK_AHEAD_S: a
 * service's `updated` or an announcement's `published` sorts it, and a
 * far-future one would be listed first everywhere. ERR_OK, or
 * ERR_INVALID with the field named in why. catalog_clamp_time: what a
 * receiver does with a peer's record instead (refusing it would stall the
 * peer's ordered stream): such a time later than now becomes now; returns
 * 1 when it did. */
int catalog_time_check(const Change *ch, int64_t now, char *why,
		       size_t whylen);
int catalog_clamp_time(Change *ch, int64_t now);

/* catalog_clip: at most max bytes of a user's text, fit to quote in an
 * error message (control characters and quotes become '?'), into buf of
 * at least max + 1 bytes. Returns buf. */
const char *catalog_clip(const char *s, size_t max, char *buf);

/* catalog_change_json: a live record as the API shows it (new reference):
 * a service with id, community, the fields and updated (RFC 3339); an
 * announcement with id, community, title, body, category, published and
 * expires (RFC 3339, null when it never expires). A tombstone shows as
 * {"id","community","deleted":true}. NULL when out of memory. */
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
	const char *prefer;     /* an origin whose services come first
				   (within each tier of a text search),
				   or NULL */
};

/* catalog_search: live services matching q, in *body (its JSON text,
 * caller frees; *len bytes) as {"items":[...],"next":...,"total":N,
 * "total_exact":B} (next null on the last page; total and total_exact on
 * the first page only: total counts up to 1000, exact when total_exact,
 * else more than 1000 match). With text, every word must match: first
 * the services whose title holds every word, then the rest, each group
 * newest first (from the search index, which follows writes by
 * milliseconds); without text,
 * newest `updated` first. With q->prefer (and no community filter) that
 * origin's services come first (in a text search, within each group). A
 * query word in a group of the district's synonyms (the stored
 * KIND_SEARCH_WORDS record) matches any word of the group. Paged by the
 * last row's place, so services
 * added meanwhile do not shift later pages. ERR_INVALID with why naming
 * the parameter for a bad `after` (garbled, or from a search with/without
 * text when this one is the other), an unknown category or delivery, or
 * a community that is not a community id. Status inactive and tombstones
 * are never listed. limit outside 1..100 is clamped (below 1: 20). q with
 * nothing searchable ("*") lists as without q. ERR_IO with why "the
 * catalog could not be read" on a store error. */
int catalog_search(struct catalog *cat, const struct catalog_query *q,
		   char **body, size_t *len, char *why, size_t whylen);

/* catalog_search_share: from now on `to` keeps the sets of search words
 * it builds (catalog_sets.h) in from's cache, and uses the sets from's
 * searches built: catalogs on connections to the same store, before
 * their threads start searching. */
void catalog_search_share(struct catalog *from, struct catalog *to);

/* catalog_announcements: announcements not expired at now (expires 0 or
 * after now), of community (NULL: all), those of prefer (NULL: none; a
 * node's own community) first, then newest published first, as
 * {"items":[...]}; limit outside 1..100 clamped (below 1: 20). Returns
 * ERR_OK, ERR_NOMEM or ERR_IO. */
int catalog_announcements(struct catalog *cat, int64_t now,
			  const char *community, const char *prefer,
			  int limit, json_t **out);

/* catalog_is_category, catalog_is_delivery: 1 iff id is one of the fixed
 * ids (DESIGN.md), else 0 (also for NULL). */
int catalog_is_category(const char *id);
int catalog_is_delivery(const char *id);

#endif
