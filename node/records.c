/* records.c: writing the community's own records, on any thread.
 *
 * Every change a manager makes is written with the next version of this
 * origin and logged for the up stream in the same transaction. The next
 * version is one above the highest the store holds of its own records or
 * the floor the hub reported (Welcome.own_version), so after a store was
 * lost a new edit is never taken for an old one. A writer works on the
 * connection it is given, so the bulk importer's worker thread uses its own.
 * The quota the hub announced is kept in meta too, with the bucket of
 * changes, so a writer refuses what would pass it before anything is
 * logged. Parts: meta; the version floor; the quota; begin, put, commit. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "node.h"
#include "store.h"

#define META_VERSION_FLOOR "version_floor"
#define META_QUOTA "quota"                /* quota_format's text */
#define META_QUOTA_BUCKET "quota_bucket"  /* quota_bucket_format's */

/* meta_text: read a meta value on db into buf ("" when absent). */
static void meta_text(sqlite3 *db, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* meta_u64: read an unsigned meta value on db (0 when absent). */
static uint64_t meta_u64(sqlite3 *db, const char *key)
{
	sqlite3_stmt *st = NULL;
	uint64_t v = 0;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* meta_set: store a meta value on db. ERR_OK or ERR_IO. */
static int meta_set(sqlite3 *db, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value)"
			       " VALUES (?1, ?2)", -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

int records_set_floor(sqlite3 *db, uint64_t floor)
{
	char buf[24];

	if (floor <= meta_u64(db, META_VERSION_FLOOR))
		return ERR_OK;
	snprintf(buf, sizeof(buf), "%" PRIu64, floor);
	return meta_set(db, META_VERSION_FLOOR, buf);
}

/* ---- the quota ---------------------------------------------------------- */

int records_quota_set(sqlite3 *db, const struct quota *q)
{
	char buf[QUOTA_TEXT_LEN];

	return meta_set(db, META_QUOTA, quota_format(q, buf, sizeof(buf)));
}

void records_quota_get(sqlite3 *db, struct quota *q)
{
	char buf[QUOTA_TEXT_LEN];

	meta_text(db, META_QUOTA, buf, sizeof(buf));
	if (quota_parse(buf, q) != ERR_OK)
		quota_defaults(q);
}

int records_quota_admit(struct records_writer *w, const struct quota_delta *d,
			int64_t now, char *why, size_t whylen)
{
	struct quota q;
	struct quota_usage u;
	struct quota_bucket b = { 0, 0 };
	char buf[QUOTA_TEXT_LEN];
	int rc;

	records_quota_get(w->db, &q);
	if (catalog_usage(w->cat, w->community, &u.records, &u.bytes) != ERR_OK)
		return ERR_IO;
	rc = quota_admit(&q, &u, d, why, whylen);
	if (rc != ERR_OK || !d->changes)
		return rc;
	meta_text(w->db, META_QUOTA_BUCKET, buf, sizeof(buf));
	quota_bucket_parse(buf, &b);   /* none yet: a full bucket */
	rc = quota_bucket_take(&b, q.per_hour, q.per_hour, now, d->changes,
			       why, whylen);
	if (rc != ERR_OK)
		return rc;
	return meta_set(w->db, META_QUOTA_BUCKET,
			quota_bucket_format(&b, buf, sizeof(buf)));
}

uint64_t records_own_high(struct catalog *cat, sqlite3 *db,
			  const char *community)
{
	uint64_t max = catalog_max_version(cat, community);
	uint64_t floor = meta_u64(db, META_VERSION_FLOOR);

	return max > floor ? max : floor;
}

int records_begin(struct records_writer *w, struct catalog *cat, sqlite3 *db,
		  const char *community)
{
	w->cat = cat;
	w->db = db;
	w->community = community;
	if (store_exec(db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	w->next = records_own_high(cat, db, community) + 1;
	return ERR_OK;
}

int records_put(struct records_writer *w, Change *ch)
{
	Change own = *ch;
	int applied = 0, rc;

	own.origin = (char *)w->community;
	own.version = w->next;
	own.seq = 0;
	rc = catalog_apply(w->cat, &own, 1, &applied);
	if (rc != ERR_OK)
		return rc;
	if (!applied) {
		log_error("records: %s %s version %" PRIu64 " was not newer",
			  w->community, ch->id, own.version);
		return ERR_FAIL;
	}
	ch->version = own.version;
	w->next++;
	return ERR_OK;
}

int records_commit(struct records_writer *w)
{
	if (store_exec(w->db, "COMMIT") != ERR_OK) {
		store_exec(w->db, "ROLLBACK");
		return ERR_IO;
	}
	return ERR_OK;
}

void records_rollback(struct records_writer *w)
{
	store_exec(w->db, "ROLLBACK");
}
