/* store.c: opening a daemon's sqlite store, in WAL mode, migrated on start.
 *
 * Each thread that touches the store opens its own connection with
 * store_open (the connection is opened NOMUTEX: never share one between
 * threads). The schema version is PRAGMA user_version; migration i takes it
 * from i to i+1 inside one BEGIN IMMEDIATE transaction together with the
 * new user_version, so a failed migration leaves the store as it was. Only
 * constant SQL runs here; the one formatted statement is the user_version
 * pragma with an integer we format ourselves. A store with a schema to
 * migrate is first backed up beside itself (path.schema-V.bak), so the
 * previous release can be put back with the store it wrote.
 *
 * Every connection gets the "alliance" FTS5 tokenizer (search.h) right
 * after opening, before migrations, since catalog tables use it.
 *
 * Storage faults (a full disk, an I/O error) are counted process-wide
 * through sqlite's error log and store_exec (a failed COMMIT), so a caller that failed can tell a full disk
 * from a bug after its ROLLBACK has reset the connection's error.
 *
 * Parts, in order: helpers (error text, one-value pragmas); storage
 * faults; the migration runner; the backup before migrating; store_open;
 * store_check; store_close; store_exec; store_free_space; store_backup. */
#include "store.h"

#include "alliance_limits.h"
#include "err.h"
#include "log.h"
#include "search.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

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

/* ---- storage faults --------------------------------------------------- */

/* The number of storage faults so far and the last one's text; the text
 * is written and read under store_fault_lock (any thread may fail). */
static atomic_uint store_faults;
static pthread_mutex_t store_fault_lock = PTHREAD_MUTEX_INITIALIZER;
static char store_fault_text[160];
static int store_fault_code;

/* store_is_fault: 1 for sqlite codes that mean the storage failed us
 * (full, I/O error, damaged), not the SQL. */
static int store_is_fault(int code)
{
	switch (code & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return 1;
	default:
		return 0;
	}
}

/* store_log: sqlite's error log (SQLITE_CONFIG_LOG): count and keep the
 * storage faults; everything else is sqlite's business. */
static void store_log(void *arg, int code, const char *msg)
{
	(void)arg;
	if (!store_is_fault(code))
		return;
	pthread_mutex_lock(&store_fault_lock);
	/* sqlite's message adds nothing when it is the code's own text */
	if (!msg || !*msg || strcmp(msg, sqlite3_errstr(code)) == 0)
		snprintf(store_fault_text, sizeof(store_fault_text), "%s",
			 sqlite3_errstr(code));
	else
		snprintf(store_fault_text, sizeof(store_fault_text), "%s (%s)",
			 sqlite3_errstr(code), msg);
	store_fault_code = code;
	pthread_mutex_unlock(&store_fault_lock);
	atomic_fetch_add_explicit(&store_faults, 1, memory_order_relaxed);
}

unsigned store_fault_count(void)
{
	return atomic_load_explicit(&store_faults, memory_order_relaxed);
}

int store_fault_last(char *buf, size_t len)
{
	int damaged;

	pthread_mutex_lock(&store_fault_lock);
	snprintf(buf, len, "%s", store_fault_text[0] ? store_fault_text
						     : "storage failure");
	damaged = (store_fault_code & 0xff) == SQLITE_CORRUPT ||
		  (store_fault_code & 0xff) == SQLITE_NOTADB;
	pthread_mutex_unlock(&store_fault_lock);
	return damaged ? ERR_INVALID : ERR_IO;
}

/* ---- keeping a search connection's map of the store --------------------- */

/* sqlite unmaps a connection's mmap of the store (PRAGMA mmap_size: the
 * search threads, searcher.c) whenever a read transaction begins after
 * any commit, and every page read after that is a page fault again (with
 * the kernel's fault-around, ~5 us each): a search thread re-faulted
 * ~700 pages after each synced edit (perf, BENCHMARKS.md issue 17). The
 * mapping is MAP_SHARED, so it shows what any connection wrote; the only
 * thing the unmap buys is a mapping of the file's new size. The VFS
 * "alliance" (the default once a store is opened) is the system's with
 * the main database files wrapped: that unmap is let through only when
 * the file's size differs from the last time it was (a file that shrank
 * is no hazard either: sqlite reads no page beyond its snapshot's size,
 * which the file holds). Everything else goes straight to the system's
 * VFS. */

struct keep_file {
	sqlite3_file base;          /* pMethods: &keep_methods */
	sqlite3_file *real;         /* the system VFS's file, after this */
	sqlite3_int64 mapped;       /* the size at the last unmap; -1 */
};

static sqlite3_vfs *keep_base;  /* the system's default VFS */
static sqlite3_vfs keep_vfs;

#define KEEP_REAL(f) (((struct keep_file *)(f))->real)
#define KEEP_CALL(f, m, ...) \
	(KEEP_REAL(f)->pMethods->m(KEEP_REAL(f), __VA_ARGS__))

static int keep_close(sqlite3_file *f)
{
	return KEEP_REAL(f)->pMethods->xClose(KEEP_REAL(f));
}

static int keep_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return KEEP_CALL(f, xRead, buf, n, off);
}

static int keep_write(sqlite3_file *f, const void *buf, int n,
		      sqlite3_int64 off)
{
	return KEEP_CALL(f, xWrite, buf, n, off);
}

static int keep_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return KEEP_CALL(f, xTruncate, size);
}

static int keep_sync(sqlite3_file *f, int flags)
{
	return KEEP_CALL(f, xSync, flags);
}

static int keep_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return KEEP_CALL(f, xFileSize, size);
}

static int keep_lock(sqlite3_file *f, int lock)
{
	return KEEP_CALL(f, xLock, lock);
}

static int keep_unlock(sqlite3_file *f, int lock)
{
	return KEEP_CALL(f, xUnlock, lock);
}

static int keep_reserved(sqlite3_file *f, int *out)
{
	return KEEP_CALL(f, xCheckReservedLock, out);
}

static int keep_control(sqlite3_file *f, int op, void *arg)
{
	return KEEP_CALL(f, xFileControl, op, arg);
}

static int keep_sector(sqlite3_file *f)
{
	return KEEP_REAL(f)->pMethods->xSectorSize(KEEP_REAL(f));
}

static int keep_device(sqlite3_file *f)
{
	return KEEP_REAL(f)->pMethods->xDeviceCharacteristics(KEEP_REAL(f));
}

static int keep_shm_map(sqlite3_file *f, int page, int size, int extend,
			void volatile **out)
{
	return KEEP_CALL(f, xShmMap, page, size, extend, out);
}

static int keep_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return KEEP_CALL(f, xShmLock, offset, n, flags);
}

static void keep_shm_barrier(sqlite3_file *f)
{
	KEEP_REAL(f)->pMethods->xShmBarrier(KEEP_REAL(f));
}

static int keep_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return KEEP_CALL(f, xShmUnmap, delete_flag);
}

static int keep_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	return KEEP_CALL(f, xFetch, off, n, out);
}

/* keep_unfetch: p NULL asks to unmap the whole file: done only when the
 * file's size moved since the last one. */
static int keep_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	struct keep_file *k = (struct keep_file *)f;
	sqlite3_int64 size;

	if (!p) {
		if (KEEP_CALL(f, xFileSize, &size) != SQLITE_OK)
			size = -1;
		if (size >= 0 && size == k->mapped)
			return SQLITE_OK;
		k->mapped = size;
	}
	return KEEP_CALL(f, xUnfetch, off, p);
}

static const sqlite3_io_methods keep_methods = {
	3, keep_close, keep_read, keep_write, keep_truncate, keep_sync,
	keep_file_size, keep_lock, keep_unlock, keep_reserved, keep_control,
	keep_sector, keep_device, keep_shm_map, keep_shm_lock,
	keep_shm_barrier, keep_shm_unmap, keep_fetch, keep_unfetch,
};

/* keep_open: the system's file; a main database file (whose methods are
 * of version 3, with fetch) wrapped in keep_methods. */
static int keep_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f,
		     int flags, int *out_flags)
{
	struct keep_file *k = (struct keep_file *)f;
	int rc;

	(void)vfs;
	if (!(flags & SQLITE_OPEN_MAIN_DB))
		return keep_base->xOpen(keep_base, name, f, flags, out_flags);
	k->real = (sqlite3_file *)(k + 1);
	k->mapped = -1;
	rc = keep_base->xOpen(keep_base, name, k->real, flags, out_flags);
	k->base.pMethods = k->real->pMethods && k->real->pMethods->iVersion >= 3
			   ? &keep_methods : NULL;
	if (!k->base.pMethods && k->real->pMethods) {
		/* not what this wraps: the system's file as it is */
		k->real->pMethods->xClose(k->real);
		return keep_base->xOpen(keep_base, name, f, flags, out_flags);
	}
	return rc;
}

/* keep_install: register "alliance" as the default VFS (before any
 * connection is opened). */
static void keep_install(void)
{
	keep_base = sqlite3_vfs_find(NULL);
	if (!keep_base)
		return;
	keep_vfs = *keep_base;
	keep_vfs.zName = "alliance";
	keep_vfs.szOsFile = (int)sizeof(struct keep_file) + keep_base->szOsFile;
	keep_vfs.xOpen = keep_open;
	keep_vfs.pNext = NULL;
	sqlite3_vfs_register(&keep_vfs, 1);
}

/* store_log_install: our log, and no memory statistics: with them on
 * (sqlite's default) every sqlite3_malloc and sqlite3_free takes one
 * process-wide mutex to count bytes nothing here reads, which the search
 * threads, the indexer and the service thread then contend for (~10 % of
 * a hub under distinct searches: perf, BENCHMARKS.md issue 17). */
static void store_log_install(void)
{
	sqlite3_config(SQLITE_CONFIG_LOG, store_log, NULL);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	keep_install();
}

/* store_log_once: install store_log and the memory setting before sqlite
 * initialises (the only time they may be); a process that used sqlite
 * first keeps sqlite's. */
static void store_log_once(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, store_log_install);
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

/* backup_before_migrating: copy the store at path, at schema version
 * (not 0: a new store has nothing to keep) and about to be migrated to
 * n_migrations, to "path.schema-VERSION.bak" (store_backup, replacing one
 * left by an earlier attempt), so that the previous release can be put
 * back with its store (README: going back a version). Returns ERR_OK, or
 * ERR_IO with err saying why nothing was migrated. */
static int backup_before_migrating(const char *path, int version,
				   size_t n_migrations, char *err,
				   size_t errlen)
{
	char bak[4200], why[1024];

	snprintf(bak, sizeof(bak), "%s.schema-%d.bak", path, version);
	if (store_backup(path, bak, 1, why, sizeof(why)) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot back it up before migrating "
			 "it from schema %d to %zu, so nothing was migrated: "
			 "%s", path, version, n_migrations, why);
		return ERR_IO;
	}
	log_info("store %s: schema %d is older than this program's %zu: "
		 "backed up to %s before migrating (the previous release "
		 "runs on that copy)", path, version, n_migrations, bak);
	return ERR_OK;
}

/* ---- store_open ------------------------------------------------------- */

/* store_open: see store.h. The order matters: the schema version is read
 * before anything is written, so a store from a newer program is refused
 * untouched; then WAL and the per-connection pragmas; then, for a store
 * with a schema to migrate, its backup; then the migrations.
 * On success *db is the caller's (store_close); on failure *db is NULL,
 * err holds "path: ..." and the return is ERR_IO. An in-memory database
 * (":memory:") cannot use WAL and is accepted in its "memory" mode. */
int store_open(const char *path, const struct store_migration *migrations,
	       size_t n_migrations, sqlite3 **db, char *err, size_t errlen)
{
	sqlite3 *conn = NULL;
	char mode[16];
	int rc, version = 0, damaged = 0;

	*db = NULL;
	if (errlen)
		err[0] = '\0';
	store_log_once();
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
		if (store_is_fault(rc) && (rc & 0xff) != SQLITE_FULL &&
		    (rc & 0xff) != SQLITE_IOERR)
			damaged = 1;
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

	if (version > 0 && (size_t)version < n_migrations &&
	    backup_before_migrating(path, version, n_migrations, err,
				    errlen) != ERR_OK)
		goto err;
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
	if (conn && !damaged) {
		int code = sqlite3_extended_errcode(conn) & 0xff;

		damaged = code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
	}
	sqlite3_close(conn);
	return damaged ? ERR_INVALID : ERR_IO;
}

/* ---- store_check ------------------------------------------------------ */

/* check_rows: step st (a quick_check or integrity_check) and copy its
 * first row into err unless it is "ok". Returns 1 when sound. */
static int check_rows(sqlite3 *db, const char *sql, const char *path,
		      char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc, sound = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s: %s", path, sql,
			 sqlite3_errmsg(db));
		return 0;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(st, 0);

		sound = row && strcmp(row, "ok") == 0;
		if (!sound)
			snprintf(err, errlen, "%s: %s: %s", path, sql,
				 row ? row : "(null)");
	} else {
		snprintf(err, errlen, "%s: %s: %s", path, sql,
			 sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return sound;
}

/* check_fts: FTS5's own integrity-check on every fts5 table of the main
 * schema. The table names come from sqlite_master, not from input; they
 * are quoted as identifiers (%w) since a name cannot be bound. Returns 1
 * when all are sound. */
static int check_fts(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc, sound = 1;

	if (sqlite3_prepare_v2(db, "SELECT name FROM main.sqlite_master "
			       "WHERE type = 'table' AND sql LIKE "
			       "'CREATE VIRTUAL TABLE%USING fts5%'", -1, &st,
			       NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: listing the search tables: %s",
			 path, sqlite3_errmsg(db));
		return 0;
	}
	while (sound && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char *sql = sqlite3_mprintf("INSERT INTO main.\"%w\"(\"%w\") "
					    "VALUES ('integrity-check')",
					    name, name);

		if (!sql || sqlite3_exec(db, sql, NULL, NULL, NULL) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "%s: search table %s: %s", path,
				 name, sql ? sqlite3_errmsg(db) : "no memory");
			sound = 0;
		}
		sqlite3_free(sql);
	}
	if (sound && rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: listing the search tables: %s",
			 path, sqlite3_errmsg(db));
		sound = 0;
	}
	sqlite3_finalize(st);
	return sound;
}

int store_check(sqlite3 *db, const char *path, int full, char *err,
		size_t errlen)
{
	if (!check_rows(db, full ? "PRAGMA integrity_check"
				 : "PRAGMA quick_check", path, err, errlen) ||
	    !check_fts(db, path, err, errlen))
		return ERR_INVALID;
	return ERR_OK;
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

	/* sqlite rolls a transaction back by itself when a COMMIT or a
	 * statement fails on a full disk or an I/O error; a ROLLBACK then
	 * would only replace the true error with "no transaction is
	 * active" */
	if (strcmp(sql, "ROLLBACK") == 0 && sqlite3_get_autocommit(db))
		return ERR_OK;
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return ERR_OK;
	log_error("store: %s: %s", sql, msg ? msg : sqlite3_errstr(rc));
	/* sqlite's error log does not see a failed COMMIT */
	store_log(NULL, sqlite3_extended_errcode(db), msg);
	sqlite3_free(msg);
	return ERR_IO;
}

/* ---- store_free_space ------------------------------------------------- */

int store_free_space(const char *path, uint64_t *free_bytes,
		     uint64_t *total_bytes)
{
	char dir[4096];
	struct statvfs sv;
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (statvfs(dir, &sv) != 0)
		return ERR_IO;
	*free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	*total_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
	return ERR_OK;
}

int store_disk_low(uint64_t free_bytes, uint64_t total_bytes)
{
	return free_bytes * 100 < total_bytes * LIMIT_DISK_LOW_PERCENT;
}

int64_t store_count(sqlite3 *db, const char *sql, const char *text)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* ---- store_backup ----------------------------------------------------- */

/* How often, and how long apart, a backup asks again for the source's read
 * lock when a writer holds it (a WAL store is busy only briefly). */
#define STORE_BACKUP_TRIES 200
#define STORE_BACKUP_RETRY_MS 25

int store_backup_target_ok(const char *src, const char *dest, int force,
			   char *err, size_t errlen)
{
	char dir[4096];
	struct stat ss, ds;
	const char *slash = strrchr(dest, '/');

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dest)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - dest), dest);
	if (stat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode)) {
		snprintf(err, errlen, "%s: no such directory %s", dest, dir);
		return ERR_INVALID;
	}
	if (stat(dest, &ds) != 0)
		return ERR_OK;
	if (S_ISDIR(ds.st_mode)) {
		snprintf(err, errlen, "%s: is a directory", dest);
		return ERR_INVALID;
	}
	if (stat(src, &ss) == 0 && ss.st_dev == ds.st_dev &&
	    ss.st_ino == ds.st_ino) {
		snprintf(err, errlen, "%s: is the store itself", dest);
		return ERR_INVALID;
	}
	if (!force) {
		snprintf(err, errlen, "%s: exists (--force replaces it)", dest);
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* backup_copy: copy the store at src into the empty file tmp in one
 * backup step (one read transaction of the source: the copy is the store
 * at one moment, whatever its daemon writes meanwhile), make the copy a
 * single file (rollback journal, no -wal beside it) and check it as
 * store_check does in full. Returns ERR_OK or ERR_IO with err set. */
static int backup_copy(const char *src, const char *tmp, char *err,
		       size_t errlen)
{
	sqlite3 *from = NULL, *to = NULL;
	sqlite3_backup *b;
	struct timespec pause = { 0, STORE_BACKUP_RETRY_MS * 1000000L };
	int rc, tries = 0, ret = ERR_IO;

	/* read-write though only read: a read-only connection to a store
	 * whose daemon is stopped would leave -wal and -shm files behind,
	 * owned by whoever ran the backup; the last read-write connection
	 * removes them as it closes */
	if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", src,
			 from ? sqlite3_errmsg(from) : "no memory");
		goto out;
	}
	sqlite3_busy_handler(from, store_busy, NULL);
	if (sqlite3_open_v2(tmp, &to, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    search_register(to) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", tmp,
			 to ? sqlite3_errmsg(to) : "no memory");
		goto out;
	}
	b = sqlite3_backup_init(to, "main", from, "main");
	if (!b) {
		snprintf(err, errlen, "%s: %s", tmp, sqlite3_errmsg(to));
		goto out;
	}
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY ||
	       rc == SQLITE_LOCKED) {
		if (++tries >= STORE_BACKUP_TRIES)
			break;
		nanosleep(&pause, NULL);
	}
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: reading it: %s", src,
			 sqlite3_errstr(rc));
		goto out;
	}
	if (sqlite3_exec(to, "PRAGMA journal_mode = DELETE", NULL, NULL,
			 NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", tmp, sqlite3_errmsg(to));
		goto out;
	}
	ret = store_check(to, tmp, 1, err, errlen) == ERR_OK ? ERR_OK : ERR_IO;
out:
	if (to && sqlite3_close(to) != SQLITE_OK && ret == ERR_OK) {
		snprintf(err, errlen, "%s: close: %s", tmp,
			 sqlite3_errmsg(to));
		ret = ERR_IO;
	}
	sqlite3_close(from);
	return ret;
}

/* sync_path: fsync the file or directory at path. ERR_OK or ERR_IO. */
static int sync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), rc;

	if (fd < 0)
		return ERR_IO;
	rc = fsync(fd);
	close(fd);
	return rc == 0 ? ERR_OK : ERR_IO;
}

int store_backup(const char *src, const char *dest, int force, char *err,
		 size_t errlen)
{
	char tmp[4096], side[4104], dir[4096];
	const char *slash;
	struct stat st;
	int fd, rc;

	if (errlen)
		err[0] = '\0';
	store_log_once();
	if (strlen(dest) + 4 >= sizeof(tmp)) {
		snprintf(err, errlen, "%.64s...: path too long", dest);
		return ERR_INVALID;
	}
	if (stat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: no store there", src);
		return ERR_IO;
	}
	rc = store_backup_target_ok(src, dest, force, err, errlen);
	if (rc != ERR_OK)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", dest);
	/* a .tmp left by a backup that died is ours to replace; the copy is
	 * readable by its owner only, as the store is */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return ERR_IO;
	}
	close(fd);
	rc = backup_copy(src, tmp, err, errlen);
	if (rc == ERR_OK && sync_path(tmp, O_RDONLY) != ERR_OK) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		rc = ERR_IO;
	}
	if (rc == ERR_OK && rename(tmp, dest) != 0) {
		snprintf(err, errlen, "%s: rename to %s: %s", tmp, dest,
			 strerror(errno));
		rc = ERR_IO;
	}
	if (rc != ERR_OK) {
		unlink(tmp);
		snprintf(side, sizeof(side), "%s-journal", tmp);
		unlink(side);
		return rc;
	}
	slash = strrchr(dest, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - dest) + 1 : 1,
		 slash ? dest : ".");
	sync_path(dir, O_RDONLY | O_DIRECTORY);
	return ERR_OK;
}
