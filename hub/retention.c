/* retention.c: how long the hub remembers deletions, and snapshots.
 *
 * Tombstones are kept for [sync] tombstone_retention seconds so that a
 * node that was away learns of deletions; after that they are purged, and
 * a node whose cursor is below the highest purged position can no longer
 * follow the stream: it is sent a snapshot (the whole log from the start,
 * flagged, so it can drop what is no longer there). With [store]
 * postgresql a purge is decided once, as an event of the shared log
 * (PGLOG_PURGE) every replica applies, so their copies stay alike. Parts:
 * stream marks (which seq the log had when); the purge; the timer. */
#include <inttypes.h>

#include "err.h"
#include "hub.h"
#include "log.h"
#include "pglog.h"
#include "relay.h"
#include "store.h"

/* mark_and_cutoff: note the log head now, and find the newest position
 * older than the retention. Returns it (0: nothing that old). */
static uint64_t mark_and_cutoff(struct hub *hub, int64_t now)
{
	sqlite3_stmt *st = NULL;
	uint64_t cutoff = 0;

	if (sqlite3_prepare_v2(hub->db, "INSERT OR REPLACE INTO stream_mark"
			       " (at, seq) VALUES (?1, ?2)", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2,
				   (int64_t)catalog_log_head(hub->cat));
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(hub->db, "SELECT max(seq) FROM stream_mark"
			       " WHERE at <= ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1,
				   now - (int64_t)hub->cfg.tombstone_retention);
		if (sqlite3_step(st) == SQLITE_ROW)
			cutoff = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	st = NULL;
	/* marks older than the cutoff's own are of no further use */
	if (sqlite3_prepare_v2(hub->db, "DELETE FROM stream_mark WHERE seq"
			       " < ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (int64_t)cutoff);
		sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return cutoff;
}

static int save_purged(struct hub *hub, uint64_t seq)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(hub->db, "INSERT OR REPLACE INTO hub_meta"
			       " (key, value) VALUES ('purged_seq', ?1)", -1,
			       &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

int retention_load(struct hub *hub)
{
	sqlite3_stmt *st = NULL;

	hub->purged_seq = 0;
	if (sqlite3_prepare_v2(hub->db, "SELECT value FROM hub_meta WHERE"
			       " key = 'purged_seq'", -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	if (sqlite3_step(st) == SQLITE_ROW)
		hub->purged_seq = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ERR_OK;
}

int retention_purge_to(struct hub *hub, uint64_t cutoff, uint64_t *purged)
{
	*purged = 0;
	if (cutoff <= hub->purged_seq)
		return ERR_OK;
	if (catalog_purge_tombstones(hub->cat, cutoff, purged) != ERR_OK ||
	    save_purged(hub, cutoff) != ERR_OK)
		return ERR_IO;
	return ERR_OK;
}

void retention_purged(struct hub *hub, uint64_t cutoff, uint64_t purged)
{
	if (cutoff <= hub->purged_seq)
		return;
	hub->purged_seq = cutoff;
	if (purged)
		log_info("retention: forgot %" PRIu64 " tombstones up to "
			 "stream position %" PRIu64, purged, cutoff);
}

/* purge: one pass: mark, and forget tombstones older than the retention;
 * with [store] postgresql, append the purge for every replica. */
static void purge(struct hub *hub)
{
	uint64_t cutoff, purged = 0;
	char why[300];

	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK)
		return;
	cutoff = mark_and_cutoff(hub, hub_now());
	if (hub->pglog) {
		if (store_exec(hub->db, "COMMIT") != ERR_OK)
			store_exec(hub->db, "ROLLBACK");
		else if (cutoff > hub->purged_seq &&
			 pglog_append(hub->pglog, PGLOG_PURGE, RELAY_DISTRICT,
				      cutoff, "", 0, why, sizeof(why)) !=
			 ERR_OK)
			log_warn("retention: purge not shared: %s", why);
		return;
	}
	if (retention_purge_to(hub, cutoff, &purged) != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		return;
	}
	if (store_exec(hub->db, "COMMIT") != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		return;
	}
	retention_purged(hub, cutoff, purged);
}

static void purge_timer(lws_sorted_usec_list_t *sul)
{
	struct hub *hub = lws_container_of(sul, struct hub, purge_timer);

	purge(hub);
	lws_sul_schedule(hub->lws, 0, &hub->purge_timer, purge_timer,
			 (lws_usec_t)hub->cfg.purge_interval * LWS_US_PER_SEC);
}

void retention_start(struct hub *hub)
{
	lws_sul_schedule(hub->lws, 0, &hub->purge_timer, purge_timer,
			 (lws_usec_t)hub->cfg.purge_interval * LWS_US_PER_SEC);
}
