/* store.h: opening a daemon's sqlite store, in WAL mode, migrated on start.
 *
 * Each daemon passes its own list of migrations; migration i (0-based) takes
 * the schema from user_version i to i+1 in one transaction. A store whose
 * user_version is newer than the daemon knows is refused, not downgraded. */
#ifndef ALLIANCE_STORE_H
#define ALLIANCE_STORE_H

#include <sqlite3.h>
#include <stddef.h>

struct store_migration {
	const char *sql;    /* statements run in one transaction */
};

/* store_open: open (creating if needed) the database at path, set WAL,
 * foreign keys and a busy handler (waiting up to 5 s for another
 * connection's lock, looking again every 0.5 ms), register the "alliance"
 * FTS5 tokenizer (search_register, before any migration, so every alliance
 * store and every connection to it has it), and apply the migrations not
 * yet applied.
 * Stores the connection in *db (close with store_close) and returns ERR_OK,
 * or returns ERR_IO with a message naming path in err and *db NULL. */
int store_open(const char *path, const struct store_migration *migrations,
	       size_t n_migrations, sqlite3 **db, char *err, size_t errlen);

/* store_contended: 1 when a connection of this process has waited for
 * another's lock since the last call (which clears it), else 0. The
 * indexer thread yields longer when the service thread had to wait. */
int store_contended(void);

/* store_close: finalize nothing, close db and set it to NULL. Statements the
 * caller prepared must be finalized first. */
void store_close(sqlite3 **db);

/* store_exec: run constant SQL with no parameters (BEGIN, COMMIT). Returns
 * ERR_OK or ERR_IO, logging sqlite's message. */
int store_exec(sqlite3 *db, const char *sql);

#endif
