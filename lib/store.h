/* store.h: opening a daemon's sqlite store, in WAL mode, migrated on start.
 *
 * Each daemon passes its own list of migrations; migration i (0-based) takes
 * the schema from user_version i to i+1 in one transaction. A store whose
 * user_version is newer than the daemon knows is refused, not downgraded. */
#ifndef ALLIANCE_STORE_H
#define ALLIANCE_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct store_migration {
	const char *sql;    /* statements run in one transaction */
};

/* store_open: open (creating if needed) the database at path, set WAL,
 * foreign keys and a busy handler (waiting up to 5 s for another
 * connection's lock, looking again every 0.5 ms), register the "alliance"
 * FTS5 tokenizer (search_register, before any migration, so every alliance
 * store and every connection to it has it), and apply the migrations not
 * yet applied. A store that has a schema (user_version above 0) and
 * migrations to apply is first copied to "path.schema-V.bak" (V its
 * user_version; store_backup, an older copy of that name replaced): when
 * that copy fails nothing is migrated and the open fails (ERR_IO).
 * Stores the connection in *db (close with store_close) and returns ERR_OK,
 * or with a message naming path in err and *db NULL: ERR_INVALID when the
 * file is damaged or not a database, else ERR_IO. */
int store_open(const char *path, const struct store_migration *migrations,
	       size_t n_migrations, sqlite3 **db, char *err, size_t errlen);

/* store_check: the store's health: PRAGMA quick_check (full: PRAGMA
 * integrity_check, which also compares every index with its table) and
 * FTS5's integrity-check of every search table. Returns ERR_OK, or
 * ERR_INVALID with "path: what: first problem" in err. */
int store_check(sqlite3 *db, const char *path, int full, char *err,
		size_t errlen);

/* store_backup_target_ok: refuse a backup's destination that exists
 * (unless force), that is a directory or the store src itself, or whose
 * directory does not exist (store_backup asks it first; a daemon copying
 * two files asks it of both before copying either). Returns ERR_OK or
 * ERR_INVALID with the reason in err. */
int store_backup_target_ok(const char *src, const char *dest, int force,
			   char *err, size_t errlen);

/* store_backup: a consistent copy of the store at src, which its daemon
 * may be writing meanwhile, into dest: sqlite's online backup API in one
 * step (one read transaction, so the copy is the store at one moment),
 * written to dest.tmp (mode 0600) as a single file, checked as
 * store_check does in full, fsynced and renamed to dest. dest's directory
 * must exist; an existing dest is refused unless force, and never the
 * store itself. Returns ERR_OK; ERR_INVALID when dest is refused; ERR_IO
 * when the store cannot be read, the copy cannot be written or is not
 * sound (nothing is left at dest.tmp); err says which. */
int store_backup(const char *src, const char *dest, int force, char *err,
		 size_t errlen);

/* store_fault_count: how many storage faults (disk full, I/O error,
 * damaged file) any connection of this process has met so far. A caller
 * whose write failed compares it with the count from before the write. */
unsigned store_fault_count(void);

/* store_fault_last: the last storage fault's text, e.g. "database or disk
 * is full (statement aborts at 12: ...)", into buf (len bytes). Returns
 * ERR_INVALID when it was a damaged file, ERR_IO for a full disk or an I/O
 * error. */
int store_fault_last(char *buf, size_t len);

/* store_free_space: free (to an unprivileged writer) and total bytes of
 * the file system holding the file at path. ERR_OK or ERR_IO. */
int store_free_space(const char *path, uint64_t *free_bytes,
		     uint64_t *total_bytes);
/* store_disk_low: 1 when free_bytes is under LIMIT_DISK_LOW_PERCENT of
 * total_bytes (a disk of size 0 is not low: it could not be read). */
int store_disk_low(uint64_t free_bytes, uint64_t total_bytes);

/* store_contended: 1 when a connection of this process has waited for
 * another's lock since the last call (which clears it), else 0. The
 * indexer thread yields longer when the service thread had to wait. */
int store_contended(void);

/* store_close: finalize nothing, close db and set it to NULL. Statements the
 * caller prepared must be finalized first. */
void store_close(sqlite3 **db);

/* store_exec: run constant SQL with no parameters (BEGIN, COMMIT). Returns
 * ERR_OK or ERR_IO, logging sqlite's message. A ROLLBACK with no
 * transaction open (sqlite already rolled back after a full disk or an
 * I/O error) is ERR_OK and leaves the connection's error as it was. */
int store_exec(sqlite3 *db, const char *sql);

/* store_count: the one integer that constant SQL sql answers (a
 * count(*)), with text bound to ?1 when not NULL. Returns it, or -1 when
 * the statement fails or answers no row. */
int64_t store_count(sqlite3 *db, const char *sql, const char *text);

#endif
