/* store.c: the node's sqlite store: its migrations and the meta table.
 *
 * meta holds the store epoch (made once, when the store is created, so the
 * hub can tell a store that was lost and rebuilt), the cursor of the hub's
 * stream, the up stream's marks (so a store restored from an older backup
 * is told at the handshake, sync.c) and the version floor (records.c);
 * the catalog tables hold our records and the replica of everyone else's.
 * Prepared statements only. Parts: migrations; meta get/put; open and
 * close. */
#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulletin_store.h"
#include "err.h"
#include "log.h"
#include "node.h"
#include "outbox.h"
#include "push.h"
#include "poll_store.h"
#include "request_store.h"
#include "resident_store.h"
#include "store.h"

/* ---- migrations ----------------------------------------------------------- */

static const struct store_migration node_migrations[] = {
	/* v1: key/value state of the node itself */
	{ "CREATE TABLE meta ("
	  "  key TEXT PRIMARY KEY,"
	  "  value TEXT NOT NULL"
	  ") WITHOUT ROWID;" },
	/* v2: the catalog */
	{ catalog_schema_v1 },
	/* v3: what a snapshot from the hub has brought so far (sync.c) */
	{ "CREATE TABLE snapshot_seen ("
	  "  origin TEXT NOT NULL,"
	  "  kind INTEGER NOT NULL,"
	  "  id TEXT NOT NULL,"
	  "  PRIMARY KEY (origin, kind, id)"
	  ") WITHOUT ROWID;" },
	/* v4: bulletins */
	{ bulletin_schema_v1 },
	/* v5: requests, residents, polls, the relay outbox (relay.c) */
	{ node_civic_schema_v1 },
	/* v6: the search index off the ack path (indexer.c) */
	{ catalog_schema_v2 },
	/* v7: search from the index alone (catalog_search.c) */
	{ catalog_schema_v3 },
	/* v8: the index generation (catalog_sets.c) */
	{ catalog_schema_v4 },
	/* v9: request receipts, withdrawals, steps (request_store.c) */
	{ request_schema_v2 },
	/* v10: the directory, eligible communities, keywords */
	{ catalog_schema_v5 },
	/* v11: other communities' tallies of district polls (relay.c) */
	{ node_civic_schema_v3 },
	/* v12: a resident's name; erased requests (relay.c) */
	{ node_civic_schema_v4 },
	/* v13: one resident, one vote: when and how a resident's phone was
	 * confirmed, a token's last use, registrations waiting for their
	 * phone's code (resident_store.h); the phones that voted in polls
	 * still open (poll_store.h) */
	{ RESIDENT_SCHEMA_V13 POLL_SCHEMA_V13 },
	/* v14: body bytes, for quotas (catalog_measure) */
	{ catalog_schema_v6 },
	/* v15: the outbox: webhook endpoints, residents' SMS consent, the
	 * messages and their states, the triggers noting what to send
	 * (outbox.c) */
	{ outbox_schema_v1 },
	/* v16: safety check-in: the residents who need a call, links,
	 * answers, calls, anonymous taps; urgent requests (checkin.c) */
	{ node_checkin_schema_v1 },
	/* v17: Web Push: residents' browser subscriptions (push.c) */
	{ push_schema_v1 },
	/* v18: usage and max version kept, not counted on each edit */
	{ catalog_schema_v7 },
	/* v19: the push rows due, indexed apart (outbox_send.c) */
	{ outbox_schema_v2 },
	/* v20: the outbox's rows to their own file (outbox.c): the old
	 * table renamed aside for node_store_connect to move; an account
	 * deleted cancels its push rows in code (outbox_cancel_resident) */
	{ outbox_schema_v3 },
};

#define N_MIGRATIONS (sizeof(node_migrations) / sizeof(node_migrations[0]))

#define META_EPOCH "store_epoch"
#define META_DOWN_CURSOR "down_cursor"
#define META_SNAPSHOT "snapshot"
#define META_DIRECTORY "directory_asked"   /* Hello.directory was sent */
#define META_UP_SENT "up_sent"          /* StoreMarks.up_sent (sync.c) */
#define META_UP_HELD "up_held"          /* the hub holds our log to here */
#define META_UP_VERSION "up_version"    /* our highest version then */

/* ---- the outbox's file ------------------------------------------------ */

int node_store_outbox_path(const char *store_path, char *out, size_t len)
{
	size_t n = strlen(store_path);
	int w;

	if (n >= 3 && strcmp(store_path + n - 3, ".db") == 0)
		n -= 3;
	w = snprintf(out, len, "%.*s.outbox.db", (int)n, store_path);
	return w > 0 && (size_t)w < len ? ERR_OK : ERR_TOOBIG;
}

/* attach_outbox: the outbox's own file (created and migrated on its own:
 * its user_version is its schema's) attached to db as schema "ob", and
 * rows a store of an older release kept in node.db moved into it (one
 * transaction; INSERT OR IGNORE, so a move cut short by a crash between
 * the two files' commits is finished at the next open). ERR_OK, or an
 * err code with a message (ERR_INVALID: the file is damaged). */
static int attach_outbox(sqlite3 *db, const char *store_path, char *err,
			 size_t errlen)
{
	char path[4200];
	sqlite3 *ob = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	if (node_store_outbox_path(store_path, path, sizeof(path)) != ERR_OK) {
		snprintf(err, errlen, "%s: path too long", store_path);
		return ERR_INVALID;
	}
	rc = store_open(path, outbox_migrations, outbox_n_migrations, &ob, err,
			errlen);
	store_close(&ob);
	if (rc != ERR_OK)
		return rc;
	rc = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS ob", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "PRAGMA ob.synchronous = NORMAL", NULL,
				  NULL, NULL);
	if (rc == SQLITE_OK &&
	    store_count(db, "SELECT count(*) FROM main.sqlite_master WHERE "
			"name = 'outbox_moved'", NULL) > 0) {
		if (store_exec(db, "BEGIN IMMEDIATE") != ERR_OK ||
		    store_exec(db, "INSERT OR IGNORE INTO ob.outbox SELECT * "
			       "FROM main.outbox_moved") != ERR_OK ||
		    store_exec(db, "DROP TABLE main.outbox_moved") != ERR_OK ||
		    store_exec(db, "COMMIT") != ERR_OK) {
			store_exec(db, "ROLLBACK");
			rc = SQLITE_ERROR;
		} else {
			log_info("store %s: the outbox's rows moved to %s",
				 store_path, path);
		}
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot attach the outbox's file %s:"
			 " %s", store_path, path, sqlite3_errmsg(db));
		return ERR_IO;
	}
	return ERR_OK;
}

int node_store_begin(sqlite3 *db, enum node_store_file f)
{
	/* BEGIN IMMEDIATE would take the write lock of every attached file;
	 * a deferred BEGIN whose first statement writes (nothing) to one
	 * takes that file's alone, waiting for it as BEGIN IMMEDIATE does
	 * (the busy handler: no read came first) */
	if (store_exec(db, f == NODE_STORE_OUTBOX ?
		       "BEGIN; DELETE FROM ob.outbox WHERE 0" :
		       "BEGIN; DELETE FROM main.meta WHERE 0") == ERR_OK)
		return ERR_OK;
	store_exec(db, "ROLLBACK");
	return ERR_IO;
}

/* ---- meta ------------------------------------------------------------- */

/* meta_get: copy the value of key into buf. Returns ERR_OK, ERR_NOTFOUND,
 * ERR_TOOBIG when it does not fit, or ERR_IO. */
static int meta_get(struct node *n, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *st = n->st_meta_get;
	int rc, out = ERR_IO;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		size_t vlen = (size_t)sqlite3_column_bytes(st, 0);

		if (v && vlen < len) {
			memcpy(buf, v, vlen);
			buf[vlen] = '\0';
			out = ERR_OK;
		} else {
			out = ERR_TOOBIG;
		}
	} else if (rc == SQLITE_DONE) {
		out = ERR_NOTFOUND;
	} else {
		log_error("store: reading meta %s: %s", key,
			  sqlite3_errmsg(n->db));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return out;
}

static int meta_put(struct node *n, const char *key, const char *value)
{
	sqlite3_stmt *st = n->st_meta_put;
	int rc;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("store: writing meta %s: %s", key,
			  sqlite3_errmsg(n->db));
		return ERR_IO;
	}
	return ERR_OK;
}

int node_store_set_snapshot(struct node *n, int pending)
{
	int rc = meta_put(n, META_SNAPSHOT, pending ? "1" : "0");

	if (rc == ERR_OK)
		n->snapshot_pending = pending;
	return rc;
}

/* node_store_directory_first: see node.h. */
int node_store_directory_first(struct node *n)
{
	char buf[4];

	if (meta_get(n, META_DIRECTORY, buf, sizeof(buf)) != ERR_NOTFOUND)
		return 0;
	return meta_put(n, META_DIRECTORY, "1") == ERR_OK;
}

int node_store_set_down_cursor(struct node *n, uint64_t cursor)
{
	char buf[24];
	int rc;

	snprintf(buf, sizeof(buf), "%" PRIu64, cursor);
	rc = meta_put(n, META_DOWN_CURSOR, buf);
	if (rc == ERR_OK)
		n->down_cursor = cursor;
	return rc;
}

int node_store_set_up_marks(struct node *n, const struct up_marks *m)
{
	const char *keys[3] = { META_UP_SENT, META_UP_HELD, META_UP_VERSION };
	uint64_t values[3] = { m->sent, m->held, m->version };
	int nested = !sqlite3_get_autocommit(n->db), rc = ERR_OK;

	if (!nested && store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	for (int i = 0; rc == ERR_OK && i < 3; i++) {
		char buf[24];

		snprintf(buf, sizeof(buf), "%" PRIu64, values[i]);
		rc = meta_put(n, keys[i], buf);
	}
	if (rc == ERR_OK && !nested && store_exec(n->db, "COMMIT") != ERR_OK)
		rc = ERR_IO;
	if (rc != ERR_OK) {
		if (!nested)
			store_exec(n->db, "ROLLBACK");
		return rc;
	}
	n->up_marks = *m;
	return ERR_OK;
}

/* make_epoch: 8 random bytes as 16 lowercase hex characters. */
static int make_epoch(char out[17])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[8];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return ERR_FAIL;
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[16] = '\0';
	return ERR_OK;
}

/* load_u64: read the number of meta key into *v. ERR_OK, ERR_NOTFOUND
 * (*v 0), or ERR_INVALID / ERR_IO with a message in err. */
static int load_u64(struct node *n, const char *key, uint64_t *v, char *err,
		    size_t errlen)
{
	char buf[32], *end;
	unsigned long long u;
	int rc = meta_get(n, key, buf, sizeof(buf));

	*v = 0;
	if (rc == ERR_NOTFOUND)
		return rc;
	if (rc != ERR_OK) {
		snprintf(err, errlen, "%s: %s", n->cfg.store_path,
			 sqlite3_errmsg(n->db));
		return ERR_IO;
	}
	errno = 0;
	u = strtoull(buf, &end, 10);
	if (errno || end == buf || *end || buf[0] == '-') {
		snprintf(err, errlen, "%s: meta %s is not a number: %s",
			 n->cfg.store_path, key, buf);
		return ERR_INVALID;
	}
	*v = (uint64_t)u;
	return ERR_OK;
}

/* load_marks: read the up stream's marks; a store that has none yet (new,
 * or from a version that kept none) starts from its log head and highest
 * version as sent, and nothing known held. */
static int load_marks(struct node *n, char *err, size_t errlen)
{
	struct up_marks m;
	int rc = load_u64(n, META_UP_SENT, &m.sent, err, errlen);

	if (rc == ERR_NOTFOUND) {
		m.sent = catalog_log_head(n->cat);
		m.held = 0;
		m.version = records_own_high(n->cat, n->db, n->cfg.community);
		if (node_store_set_up_marks(n, &m) != ERR_OK) {
			snprintf(err, errlen, "%s: cannot keep the up marks: "
				 "%s", n->cfg.store_path,
				 sqlite3_errmsg(n->db));
			return ERR_IO;
		}
		return ERR_OK;
	}
	if (rc == ERR_OK)
		rc = load_u64(n, META_UP_HELD, &m.held, err, errlen);
	if (rc == ERR_OK)
		rc = load_u64(n, META_UP_VERSION, &m.version, err, errlen);
	if (rc == ERR_NOTFOUND) {
		snprintf(err, errlen, "%s: meta %s without %s and %s",
			 n->cfg.store_path, META_UP_SENT, META_UP_HELD,
			 META_UP_VERSION);
		return ERR_INVALID;
	}
	if (rc != ERR_OK)
		return rc;
	n->up_marks = m;
	return ERR_OK;
}

/* load_state: read (making on first open) the epoch, the down cursor and
 * the up marks. */
static int load_state(struct node *n, char *err, size_t errlen)
{
	char buf[32];
	int rc;

	rc = meta_get(n, META_EPOCH, n->store_epoch, sizeof(n->store_epoch));
	if (rc == ERR_NOTFOUND) {
		if (make_epoch(n->store_epoch) != ERR_OK) {
			snprintf(err, errlen, "%s: no random bytes for the "
				 "store epoch", n->cfg.store_path);
			return ERR_FAIL;
		}
		if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
			goto io;
		if (meta_put(n, META_EPOCH, n->store_epoch) != ERR_OK ||
		    meta_put(n, META_DOWN_CURSOR, "0") != ERR_OK) {
			store_exec(n->db, "ROLLBACK");
			goto io;
		}
		if (store_exec(n->db, "COMMIT") != ERR_OK)
			goto io;
		log_info("store %s: new store, epoch %s", n->cfg.store_path,
			 n->store_epoch);
	} else if (rc != ERR_OK || strlen(n->store_epoch) != 16) {
		snprintf(err, errlen, "%s: meta %s is unreadable",
			 n->cfg.store_path, META_EPOCH);
		return ERR_INVALID;
	}

	n->snapshot_pending = meta_get(n, META_SNAPSHOT, buf, sizeof(buf)) ==
			      ERR_OK && strcmp(buf, "1") == 0;
	rc = load_u64(n, META_DOWN_CURSOR, &n->down_cursor, err, errlen);
	if (rc != ERR_OK && rc != ERR_NOTFOUND)
		return rc;
	return load_marks(n, err, errlen);
io:
	snprintf(err, errlen, "%s: %s", n->cfg.store_path,
		 sqlite3_errmsg(n->db));
	return ERR_IO;
}

/* ---- open and close ------------------------------------------------------ */

/* measure: the body bytes of records stored before they were kept
 * (catalog_measure), in one transaction. */
static int measure(sqlite3 *db, struct catalog *cat)
{
	uint64_t measured = 0;

	if (store_exec(db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	if (catalog_measure(cat, &measured) != ERR_OK ||
	    store_exec(db, "COMMIT") != ERR_OK) {
		store_exec(db, "ROLLBACK");
		return ERR_IO;
	}
	if (measured)
		log_info("store: measured %" PRIu64 " records for the quota",
			 measured);
	return ERR_OK;
}

int node_store_open(struct node *n, char *err, size_t errlen)
{
	int rc;

	rc = node_store_connect_outbox(n->cfg.store_path, &n->db, err, errlen);
	if (rc != ERR_OK)
		return rc;
	/* a damaged store must not run: it would serve and sync some of its
	 * records and fail on others (main.c names the way back) */
	rc = store_check(n->db, n->cfg.store_path, 0, err, errlen);
	if (rc != ERR_OK)
		goto err;
	/* the indexer thread checkpoints the WAL (indexer.c): a commit of
	 * this thread never waits for one */
	store_exec(n->db, "PRAGMA wal_autocheckpoint = 0");
	if (catalog_open(n->db, &n->cat) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot prepare the catalog: %s",
			 n->cfg.store_path, sqlite3_errmsg(n->db));
		rc = ERR_IO;
		goto err;
	}
	if (measure(n->db, n->cat) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot measure the records: %s",
			 n->cfg.store_path, sqlite3_errmsg(n->db));
		rc = ERR_IO;
		goto err;
	}
	if (sqlite3_prepare_v2(n->db, "SELECT value FROM meta WHERE key = ?1",
			       -1, &n->st_meta_get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO meta(key, value)"
			       " VALUES (?1, ?2)", -1, &n->st_meta_put,
			       NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", n->cfg.store_path,
			 sqlite3_errmsg(n->db));
		rc = ERR_IO;
		goto err;
	}
	rc = load_state(n, err, errlen);
	if (rc != ERR_OK)
		goto err;
	return ERR_OK;
err:
	node_store_close(n);
	return rc;
}

/* The size of the row node_store_probe writes: room for a few pages of a
 * batch, not a guess at the whole of one (a batch that still does not fit
 * fails again and the wait grows). */
#define STORE_PROBE_BYTES (64 * 1024)

int node_store_probe(struct node *n)
{
	sqlite3_stmt *st = NULL;
	uint64_t free_bytes = 0, total = 0;
	int rc = ERR_IO;

	/* the room a failed write left inside the WAL file would take the
	 * probe's row; free space on the disk is what must come back */
	if (store_free_space(n->cfg.store_path, &free_bytes, &total) ==
	    ERR_OK && free_bytes < STORE_PROBE_BYTES) {
		log_debug("store: space probe: %" PRIu64 " bytes free",
			  free_bytes);
		return ERR_IO;
	}
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	if (sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO meta(key, value)"
			       " VALUES ('space_probe', zeroblob(?1))", -1,
			       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int(st, 1, STORE_PROBE_BYTES);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = ERR_OK;
		else
			log_warn("store: space probe: %s",
				 sqlite3_errmsg(n->db));
	}
	sqlite3_finalize(st);
	if (rc == ERR_OK)
		rc = store_exec(n->db, "COMMIT");
	if (rc != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		return ERR_IO;
	}
	return store_exec(n->db, "DELETE FROM meta WHERE key = "
			  "'space_probe'");
}

int node_disk(const struct node *n, struct node_disk *d)
{
	memset(d, 0, sizeof(*d));
	if (store_free_space(n->cfg.store_path, &d->free_bytes,
			     &d->total_bytes) != ERR_OK || !d->total_bytes)
		return ERR_IO;
	d->low = store_disk_low(d->free_bytes, d->total_bytes);
	return ERR_OK;
}

json_t *node_disk_state(const struct node *n)
{
	struct node_disk d;

	if (node_disk(n, &d) != ERR_OK)
		return json_null();
	return json_pack("{s:I, s:I, s:b}",
			 "free_bytes", (json_int_t)d.free_bytes,
			 "total_bytes", (json_int_t)d.total_bytes,
			 "low", d.low);
}

int node_store_connect(const char *path, sqlite3 **db, char *err,
		       size_t errlen)
{
	return store_open(path, node_migrations, N_MIGRATIONS, db, err, errlen);
}

int node_store_connect_outbox(const char *path, sqlite3 **db, char *err,
			      size_t errlen)
{
	int rc = store_open(path, node_migrations, N_MIGRATIONS, db, err,
			    errlen);

	if (rc == ERR_OK && (rc = attach_outbox(*db, path, err, errlen)) !=
	    ERR_OK)
		store_close(db);
	return rc;
}

void node_store_close(struct node *n)
{
	catalog_close(&n->cat);
	sqlite3_finalize(n->st_meta_get);
	n->st_meta_get = NULL;
	sqlite3_finalize(n->st_meta_put);
	n->st_meta_put = NULL;
	if (n->db)
		store_close(&n->db);
}
