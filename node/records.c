/* records.c: writing the community's own records, on any thread.
 *
 * Every change a manager makes is written with the next version of this
 * origin and logged for the up stream in the same transaction. The next
 * version is one above the highest the store holds of its own records or
 * the floor the hub reported (Welcome.own_version), so after a store was
 * lost a new edit is never taken for an old one. A writer works on the
 * connection it is given, so the bulk importer's worker thread uses its own.
 * Parts: the version floor in meta; begin, put, commit. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "node.h"
#include "store.h"

#define META_VERSION_FLOOR "version_floor"

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

int records_set_floor(sqlite3 *db, uint64_t floor)
{
	sqlite3_stmt *st = NULL;
	char buf[24];
	int rc;

	if (floor <= meta_u64(db, META_VERSION_FLOOR))
		return ERR_OK;
	snprintf(buf, sizeof(buf), "%" PRIu64, floor);
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value)"
			       " VALUES (?1, ?2)", -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, META_VERSION_FLOOR, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, buf, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

int records_begin(struct records_writer *w, struct catalog *cat, sqlite3 *db,
		  const char *community)
{
	uint64_t max, floor;

	w->cat = cat;
	w->db = db;
	w->community = community;
	if (store_exec(db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	max = catalog_max_version(cat, community);
	floor = meta_u64(db, META_VERSION_FLOOR);
	w->next = (max > floor ? max : floor) + 1;
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
