/* store.c: the hub's sqlite store: schema migrations and the registry.
 *
 * hub_meta's clean_stop is 1 while the hub is stopped cleanly, 0 while it
 * runs: a start that finds 0 checks the store first.
 *
 * Parts: migrations; opening; the community registry and each community's
 * link state (cursors, epoch, last seen, quota state). Prepared statements
 * only. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bulletin_store.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "poll_store.h"
#include "store.h"

static const struct store_migration migrations[] = {
	{ "CREATE TABLE community ("
	  "  id TEXT PRIMARY KEY,"
	  "  name TEXT NOT NULL,"
	  "  enrolled INTEGER NOT NULL,"
	  "  last_seen INTEGER NOT NULL DEFAULT 0,"
	  "  up_cursor INTEGER NOT NULL DEFAULT 0,"
	  "  down_cursor INTEGER NOT NULL DEFAULT 0,"
	  "  epoch TEXT NOT NULL DEFAULT ''"
	  ") WITHOUT ROWID;" },
	{ catalog_schema_v1 },          /* 2 */
	{ "CREATE TABLE hub_meta ("       /* 3: retention */
	  "  key TEXT PRIMARY KEY,"
	  "  value INTEGER NOT NULL"
	  ") WITHOUT ROWID;"
	  "CREATE TABLE stream_mark ("
	  "  at INTEGER PRIMARY KEY,"      /* unix seconds */
	  "  seq INTEGER NOT NULL"         /* the log head then */
	  ");" },
	{ bulletin_schema_v1 },         /* 4 */
	{ hub_delivery_schema_v1 },     /* 5 */
	{ hub_relay_schema_v1 },        /* 6: requests and polls (relay.c) */
	{ catalog_schema_v2 },          /* 7: the index off the ack path */
	{ catalog_schema_v3 },          /* 8: search from the index alone */
	{ catalog_schema_v4 },          /* 9: the index generation */
	{ catalog_schema_v5 },          /* 10: the directory, eligibility, keywords */
	{ catalog_schema_v6 },          /* 11: body bytes, for quotas */
	/* 12: each community's quota state (quota.c): what its last
	 * Welcome said, and the grace of a lowered quota up to a seq of its
	 * node's stream (-1: the head of its next batch) */
	{ "ALTER TABLE community ADD COLUMN quota TEXT NOT NULL DEFAULT '';"
	  "ALTER TABLE community ADD COLUMN quota_grace TEXT NOT NULL"
	  " DEFAULT '';"
	  "ALTER TABLE community ADD COLUMN quota_grace_seq INTEGER NOT NULL"
	  " DEFAULT 0;" },
	{ hub_relay_schema_v2 },        /* 13: the per-destination request quota */
	{ hub_polls_schema_v2 },        /* 14: tallies against the rules dropped */
	/* v15: each community's check-in counts (checkin.c) */
	{ hub_checkin_schema_v1 },
	/* v16: usage and max version kept, not counted on each write */
	{ catalog_schema_v7 },
	/* v17: where the shared log holds relayed personal data (relay.c) */
	{ hub_relay_schema_v3 },
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

/* clean_stop: 1 when hub_meta says the last run stopped cleanly (a new
 * store, and one from before the mark, say nothing: 0). */
static int clean_stop(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int clean = 0;

	if (sqlite3_prepare_v2(db, "SELECT value FROM hub_meta WHERE key = "
			       "'clean_stop'", -1, &st, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		clean = sqlite3_column_int(st, 0) == 1;
	sqlite3_finalize(st);
	return clean;
}

int hub_store_mark_stop(struct hub *hub, int clean)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(hub->db, "INSERT OR REPLACE INTO hub_meta"
			       " (key, value) VALUES ('clean_stop', ?1)", -1,
			       &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_int(st, 1, clean ? 1 : 0);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

int hub_store_meta_get(struct hub *hub, const char *key, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(hub->db, "SELECT value FROM hub_meta WHERE"
			       " key = ?1", -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? ERR_OK : rc == SQLITE_DONE ? ERR_NOTFOUND
							     : ERR_IO;
}

int hub_store_meta_set(struct hub *hub, const char *key, int64_t v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(hub->db, "INSERT OR REPLACE INTO hub_meta"
			       " (key, value) VALUES (?1, ?2)", -1, &st,
			       NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

int hub_store_open(struct hub *hub, char *err, size_t errlen)
{
	uint64_t measured = 0;
	int rc;

	rc = store_open(hub->cfg.store_path, migrations, N_MIGRATIONS,
			&hub->db, err, errlen);
	if (rc != ERR_OK)
		return rc;
	/* a large store must restart fast: it is checked only when the last
	 * run did not stop cleanly (killed, crashed, power lost) */
	if (!clean_stop(hub->db)) {
		log_info("store %s: the last stop was not clean: checking it",
			 hub->cfg.store_path);
		rc = store_check(hub->db, hub->cfg.store_path, 0, err, errlen);
		if (rc != ERR_OK) {
			store_close(&hub->db);
			return rc;
		}
	}
	if (hub_store_mark_stop(hub, 0) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot write: %s",
			 hub->cfg.store_path, sqlite3_errmsg(hub->db));
		store_close(&hub->db);
		return ERR_IO;
	}
	/* relayed personal data is deleted once delivered: zero it on disk */
	store_exec(hub->db, "PRAGMA secure_delete = ON");
	/* the indexer thread checkpoints the WAL (indexer.c): a commit of
	 * this thread never waits for one */
	store_exec(hub->db, "PRAGMA wal_autocheckpoint = 0");
	if (catalog_open(hub->db, &hub->cat) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot prepare the catalog: %s",
			 hub->cfg.store_path, sqlite3_errmsg(hub->db));
		store_close(&hub->db);
		return ERR_IO;
	}
	if (hub_poll_store_open(hub->db, &hub->polls) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot prepare the polls: %s",
			 hub->cfg.store_path, sqlite3_errmsg(hub->db));
		catalog_close(&hub->cat);
		store_close(&hub->db);
		return ERR_IO;
	}
	/* the indexer and the searchers have their own connections but
	 * never write the log */
	catalog_sole_writer(hub->cat);
	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK ||
	    catalog_measure(hub->cat, &measured) != ERR_OK ||
	    store_exec(hub->db, "COMMIT") != ERR_OK) {
		snprintf(err, errlen, "%s: cannot measure the records: %s",
			 hub->cfg.store_path, sqlite3_errmsg(hub->db));
		store_exec(hub->db, "ROLLBACK");
		hub_poll_store_close(&hub->polls);
		catalog_close(&hub->cat);
		store_close(&hub->db);
		return ERR_IO;
	}
	if (measured)
		log_info("store: measured %" PRIu64 " records for the quotas",
			 measured);
	return ERR_OK;
}

int hub_store_connect(const char *path, sqlite3 **db, char *err,
		      size_t errlen)
{
	return store_open(path, migrations, N_MIGRATIONS, db, err, errlen);
}

/* copy_text: copy a text column into buf, truncating to buflen - 1. */
static void copy_text(sqlite3_stmt *st, int col, char *buf, size_t buflen)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(buf, buflen, "%s", t ? (const char *)t : "");
}

int hub_store_load_registry(struct hub *hub)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(hub->db,
		"SELECT id, name, enrolled, last_seen, up_cursor, down_cursor,"
		" epoch, quota, quota_grace, quota_grace_seq FROM community",
		-1, &st, NULL) != SQLITE_OK)
		goto err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct community c;

		memset(&c, 0, sizeof(c));
		copy_text(st, 0, c.id, sizeof(c.id));
		copy_text(st, 1, c.name, sizeof(c.name));
		c.enrolled = sqlite3_column_int64(st, 2);
		c.last_seen = sqlite3_column_int64(st, 3);
		c.up_cursor = (uint64_t)sqlite3_column_int64(st, 4);
		c.down_cursor = (uint64_t)sqlite3_column_int64(st, 5);
		copy_text(st, 6, c.epoch, sizeof(c.epoch));
		/* '' (never announced) leaves them zero */
		quota_parse((const char *)sqlite3_column_text(st, 7),
			    &c.announced);
		if (quota_parse((const char *)sqlite3_column_text(st, 8),
				&c.grace) == ERR_OK)
			c.grace_seq = (uint64_t)sqlite3_column_int64(st, 9);
		if (registry_insert(hub, &c) != ERR_OK)
			goto err;
	}
	if (rc != SQLITE_DONE)
		goto err;
	sqlite3_finalize(st);
	return ERR_OK;
err:
	log_error("store: loading the registry: %s", sqlite3_errmsg(hub->db));
	sqlite3_finalize(st);
	return ERR_IO;
}

/* run: step a prepared statement once to completion and finalize it. */
static int run(struct hub *hub, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_error("store: %s: %s", what, sqlite3_errmsg(hub->db));
		return ERR_IO;
	}
	return ERR_OK;
}

int hub_store_add_community(struct hub *hub, const struct community *c)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(hub->db,
		"INSERT INTO community (id, name, enrolled) VALUES (?, ?, ?)",
		-1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, c->enrolled);
	return run(hub, st, "adding a community");
}

int hub_store_remove_community(struct hub *hub, const char *id)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(hub->db, "DELETE FROM community WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	return run(hub, st, "removing a community");
}

int hub_store_save_link(struct hub *hub, const struct community *c)
{
	sqlite3_stmt *st = NULL;
	char announced[QUOTA_TEXT_LEN], grace[QUOTA_TEXT_LEN];

	if (sqlite3_prepare_v2(hub->db,
		"UPDATE community SET last_seen = ?, up_cursor = ?,"
		" down_cursor = ?, epoch = ?, quota = ?, quota_grace = ?,"
		" quota_grace_seq = ? WHERE id = ?",
		-1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_int64(st, 1, c->last_seen);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->up_cursor);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)c->down_cursor);
	sqlite3_bind_text(st, 4, c->epoch, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->announced.records
			  ? quota_format(&c->announced, announced,
					 sizeof(announced)) : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->grace_seq
			  ? quota_format(&c->grace, grace, sizeof(grace)) : "",
			  -1, SQLITE_STATIC);
	/* QUOTA_GRACE_OPEN is stored as -1 */
	sqlite3_bind_int64(st, 7, (sqlite3_int64)c->grace_seq);
	sqlite3_bind_text(st, 8, c->id, -1, SQLITE_STATIC);
	return run(hub, st, "saving a community's link state");
}
