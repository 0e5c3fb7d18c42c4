/* store.c: opening a daemon's sqlite store, in WAL mode, migrated on start.
 *
 * Each thread that touches the store opens its own connection with
 * store_open (the connection is opened NOMUTEX: never share one between
 * threads). The schema version is PRAGMA user_version; migration i takes it
 * from i to i+1 inside one BEGIN IMMEDIATE transaction together with the
 * new user_version, so a failed migration leaves the store as it was. Only
 * constant SQL runs here; the one formatted statement is the user_version
 * pragma with an integer we format ourselves.
 *
 * Every connection gets the "alliance" FTS5 tokenizer (search.h) right
 * after opening, before migrations, since catalog tables use it.
 *
 * Parts, in order: helpers (error text, one-value pragmas); the migration
 * runner; store_open; store_close; store_exec. */
#include "store.h"

#include "err.h"
#include "log.h"
#include "search.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* How long a connection waits for another's lock before SQLITE_BUSY, and
 * how often it looks again meanwhile. */
#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_BUSY_POLL_US 500

/* ---- helpers ---------------------------------------------------------- */

/* store_pragma_int: run a pragma returning one integer row into *value.
 * Returns sqlite's result code (SQLITE_OK on success). */
static int store_pragma_int(sqlite3 *db, const char *sql, int *value)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*value = sqlite3_column_int(stmt, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_ERROR;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* store_journal_mode: switch to WAL and copy the mode sqlite reports
 * afterwards (lowercase, e.g. "wal" or "memory") into mode. Returns
 * sqlite's result code. */
static int store_journal_mode(sqlite3 *db, char *mode, size_t modelen)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt,
				NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *text = sqlite3_column_text(stmt, 0);

		snprintf(mode, modelen, "%s", text ? (const char *)text : "");
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_ERROR;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Set when any connection of the process waited for a lock (store.h). */
static atomic_int store_waited;

int store_contended(void)
{
	return atomic_exchange_explicit(&store_waited, 0,
					memory_order_relaxed);
}

/* store_busy: the busy handler: look again every STORE_BUSY_POLL_US until
 * STORE_BUSY_TIMEOUT_MS have passed. sqlite's own (busy_timeout) backs
 * off to sleeps of up to 100 ms, so a writer that just missed the lock
 * could sleep through several of the indexer thread's short transactions
 * and the pauses between them; this one takes the lock within a poll
 * interval of its release. */
static int store_busy(void *arg, int count)
{
	struct timespec t = { 0, STORE_BUSY_POLL_US * 1000L };

	(void)arg;
	atomic_store_explicit(&store_waited, 1, memory_order_relaxed);
	if ((long)count * STORE_BUSY_POLL_US >= STORE_BUSY_TIMEOUT_MS * 1000L)
		return 0;
	nanosleep(&t, NULL);
	return 1;
}

/* ---- migrations ------------------------------------------------------- */

/* store_migrate_one: apply migration index (0-based) in one transaction
 * and bump user_version to index + 1. On failure rolls back and writes
 * "path: migration N (schema V -> N) failed: reason; rolled back" into
 * err. Returns ERR_OK or ERR_IO. */
static int store_migrate_one(sqlite3 *db, const char *path,
			     const struct store_migration *m, size_t index,
			     char *err, size_t errlen)
{
	char pragma[64];
	char *msg = NULL;
	const char *step = "BEGIN IMMEDIATE";
	int rc;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
	if (rc == SQLITE_OK) {
		step = "migration";
		rc = sqlite3_exec(db, m->sql ? m->sql : "", NULL, NULL, &msg);
	}
	if (rc == SQLITE_OK) {
		step = "user_version";
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %zu",
			 index + 1);
		rc = sqlite3_exec(db, pragma, NULL, NULL, &msg);
	}
	if (rc == SQLITE_OK) {
		step = "COMMIT";
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &msg);
	}
	if (rc == SQLITE_OK)
		return ERR_OK;

	snprintf(err, errlen,
		 "%s: migration %zu (schema %zu -> %zu) failed at %s: %s; "
		 "rolled back", path, index + 1, index, index + 1, step,
		 msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ERR_IO;
}

/* ---- store_open ------------------------------------------------------- */

/* store_open: see store.h. The order matters: the schema version is read
 * before anything is written, so a store from a newer program is refused
 * untouched; then WAL and the per-connection pragmas; then migrations.
 * On success *db is the caller's (store_close); on failure *db is NULL,
 * err holds "path: ..." and the return is ERR_IO. An in-memory database
 * (":memory:") cannot use WAL and is accepted in its "memory" mode. */
int store_open(const char *path, const struct store_migration *migrations,
	       size_t n_migrations, sqlite3 **db, char *err, size_t errlen)
{
	sqlite3 *conn = NULL;
	char mode[16];
	int rc, version = 0;

	*db = NULL;
	if (errlen)
		err[0] = '\0';
	rc = sqlite3_open_v2(path, &conn, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc));
		goto err;
	}
	sqlite3_extended_result_codes(conn, 1);
	sqlite3_busy_handler(conn, store_busy, NULL);
	/* before any migration: FTS tables using it are created, read and
	 * written only on connections that have the tokenizer */
	if (search_register(conn) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot register the search "
			 "tokenizer (sqlite without FTS5?)", path);
		goto err;
	}

	rc = store_pragma_int(conn, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot read schema version: %s",
			 path, sqlite3_errmsg(conn));
		goto err;
	}
	if (version < 0 || (size_t)version > n_migrations) {
		snprintf(err, errlen, "%s: schema version %d is newer than "
			 "this program (%zu)", path, version, n_migrations);
		goto err;
	}

	rc = store_journal_mode(conn, mode, sizeof(mode));
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot set WAL mode: %s", path,
			 sqlite3_errmsg(conn));
		goto err;
	}
	if (strcmp(mode, "wal") != 0 &&
	    !(strcmp(path, ":memory:") == 0 && strcmp(mode, "memory") == 0)) {
		snprintf(err, errlen, "%s: journal mode is '%s', not wal "
			 "(is the file system local?)", path, mode);
		goto err;
	}
	rc = sqlite3_exec(conn, "PRAGMA synchronous = NORMAL; "
			  "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot set pragmas: %s", path,
			 sqlite3_errmsg(conn));
		goto err;
	}

	for (size_t i = (size_t)version; i < n_migrations; i++) {
		if (store_migrate_one(conn, path, &migrations[i], i, err,
				      errlen) != ERR_OK)
			goto err;
		log_info("store %s: migrated to schema version %zu", path,
			 i + 1);
	}
	*db = conn;
	return ERR_OK;
err:
	sqlite3_close(conn);
	return ERR_IO;
}

/* ---- store_close ------------------------------------------------------ */

/* store_close: close *db and set it to NULL; NULL or *db NULL is a no-op.
 * If statements are still open (a caller's bug) the close is logged and
 * deferred until they are finalized, rather than leaking the connection. */
void store_close(sqlite3 **db)
{
	if (!db || !*db)
		return;
	if (sqlite3_close(*db) != SQLITE_OK) {
		log_error("store: close: %s (statements not finalized)",
			  sqlite3_errmsg(*db));
		sqlite3_close_v2(*db);
	}
	*db = NULL;
}

/* ---- store_exec ------------------------------------------------------- */

/* store_exec: run constant sql (no parameters, never built from input).
 * Returns ERR_OK, or ERR_IO after logging sqlite's message. */
int store_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc;

	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return ERR_OK;
	log_error("store: %s: %s", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return ERR_IO;
}
