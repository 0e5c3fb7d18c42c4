/* test_store.c: unit tests of lib/store.c, opening and migrating a store.
 *
 * Each test uses a fresh sqlite file in this run's mkdtemp directory and
 * checks what store_open leaves behind: WAL, user_version, which
 * migrations ran, and that a failed or refused open changes nothing.
 *
 * Parts, in order: migrations used by the tests; helpers (temp dir, one-
 * value queries); tests; main. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "store.h"
#include "tmpdir.h"

/* ---- migrations ------------------------------------------------------- */

/* Each creates a table without IF NOT EXISTS, so running one twice fails:
 * a reopen that succeeds has run only the new ones. */
static const struct store_migration v1[] = {
	{ "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);"
	  "INSERT INTO a (x) VALUES ('one');" },
};
static const struct store_migration v2[] = {
	{ "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);"
	  "INSERT INTO a (x) VALUES ('one');" },
	{ "CREATE TABLE b (id INTEGER PRIMARY KEY,"
	  " a_id INTEGER NOT NULL REFERENCES a(id));"
	  "INSERT INTO a (x) VALUES ('two');" },
};
static const struct store_migration v2_bad[] = {
	{ "CREATE TABLE a (id INTEGER PRIMARY KEY, x TEXT);"
	  "INSERT INTO a (x) VALUES ('one');" },
	{ "CREATE TABLE b (id INTEGER PRIMARY KEY);"
	  "INSERT INTO a (x) VALUES ('two');"
	  "INSERT INTO no_such_table VALUES (1);" },
};

/* ---- helpers ---------------------------------------------------------- */

static char tmpdir[256];
static char path[512];        /* tmpdir/NAME.db for the current test */
static char err[1024];

static int setup_dir(void **state)
{
	(void)state;
	if (tmpdir_make("test_store", tmpdir, sizeof(tmpdir)))
		return -1;
	log_init("test_store", LOG_WARN);
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	return tmpdir_remove(tmpdir);
}

static void use_db(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s.db", tmpdir, name);
}

/* query_int: the integer in the first row of constant sql. */
static int query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	int v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* query_text: the text in the first row of constant sql, copied to buf. */
static const char *query_text(sqlite3 *db, const char *sql, char *buf,
			      size_t len)
{
	sqlite3_stmt *stmt = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	return buf;
}

static int table_exists(sqlite3 *db, const char *name)
{
	sqlite3_stmt *stmt = NULL;
	int found;

	assert_int_equal(sqlite3_prepare_v2(db,
		"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
		-1, &stmt, NULL), SQLITE_OK);
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(stmt) == SQLITE_ROW;
	sqlite3_finalize(stmt);
	return found;
}

/* ---- tests ------------------------------------------------------------ */

static void test_fresh(void **state)
{
	sqlite3 *db = NULL;
	char mode[16];

	(void)state;
	use_db("fresh");
	assert_int_equal(store_open(path, v2, 2, &db, err, sizeof(err)),
			 ERR_OK);
	assert_non_null(db);
	assert_string_equal(query_text(db, "PRAGMA journal_mode", mode,
				       sizeof(mode)), "wal");
	assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 2);
	/* foreign_keys is on: a dangling reference is refused. */
	assert_int_equal(store_exec(db, "INSERT INTO b (a_id) VALUES (99)"),
			 ERR_IO);
	assert_int_equal(store_exec(db, "INSERT INTO b (a_id) VALUES (1)"),
			 ERR_OK);
	store_close(&db);
	assert_null(db);
	store_close(&db);             /* a no-op once closed */
}

/* release_later: the other connection's write lock goes after 50 ms. */
static void *release_later(void *arg)
{
	struct timespec t = { 0, 50 * 1000000L };

	nanosleep(&t, NULL);
	assert_int_equal(store_exec(arg, "COMMIT"), ERR_OK);
	return NULL;
}

/* a writer waits for another connection's write lock (the busy handler)
 * and gets it soon after it is released, not after a long back-off */
static void test_busy_waits(void **state)
{
	sqlite3 *db = NULL, *other = NULL;
	struct timespec t0, t1;
	pthread_t th;
	double ms;

	(void)state;
	use_db("busy");
	assert_int_equal(store_open(path, v2, 2, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_open(path, v2, 2, &other, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_exec(other, "BEGIN IMMEDIATE"), ERR_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&th, NULL, release_later, other), 0);
	assert_int_equal(store_exec(db, "BEGIN IMMEDIATE"), ERR_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(th, NULL);
	assert_int_equal(store_exec(db, "COMMIT"), ERR_OK);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms >= 40 && ms < 1000);
	store_close(&other);
	store_close(&db);
}

static void test_reopen_applies_new_only(void **state)
{
	sqlite3 *db = NULL;

	(void)state;
	use_db("reopen");
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 1);
	store_close(&db);

	/* Same migrations again: nothing runs (a rerun would fail). */
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 1);
	store_close(&db);

	assert_int_equal(store_open(path, v2, 2, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 2);
	assert_true(table_exists(db, "b"));
	store_close(&db);
}

static void test_failed_migration_rolls_back(void **state)
{
	sqlite3 *db = NULL;
	char want[600];

	(void)state;
	use_db("failed");
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	store_close(&db);

	assert_int_equal(store_open(path, v2_bad, 2, &db, err, sizeof(err)),
			 ERR_IO);
	assert_null(db);
	snprintf(want, sizeof(want), "%s: migration 2 ", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want a start \"%s\"", err, want);
	assert_non_null(strstr(err, "no_such_table"));

	/* Nothing of migration 2 stayed. */
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 1);
	assert_false(table_exists(db, "b"));
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 1);
	store_close(&db);

	/* A failing first migration on a fresh file leaves version 0. */
	use_db("failed-fresh");
	assert_int_equal(store_open(path, v2_bad + 1, 1, &db, err,
				    sizeof(err)), ERR_IO);
	assert_non_null(strstr(err, "migration 1 "));
	assert_int_equal(store_open(path, NULL, 0, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 0);
	assert_false(table_exists(db, "b"));
	store_close(&db);
}

static void test_newer_refused(void **state)
{
	sqlite3 *db = NULL;
	char want[700];

	(void)state;
	use_db("newer");
	assert_int_equal(store_open(path, v2, 2, &db, err, sizeof(err)),
			 ERR_OK);
	store_close(&db);

	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_IO);
	assert_null(db);
	snprintf(want, sizeof(want), "%s: schema version 2 is newer than "
		 "this program (1)", path);
	assert_string_equal(err, want);

	/* Refused untouched: the newer program still opens it. */
	assert_int_equal(store_open(path, v2, 2, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
	store_close(&db);
}

static void test_not_a_database(void **state)
{
	sqlite3 *db = NULL;
	FILE *f;

	(void)state;
	use_db("garbage");
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not sqlite\n", f);
	assert_int_equal(fclose(f), 0);
	/* damaged, not unreachable: ERR_INVALID (the daemons name the way
	 * back) */
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_INVALID);
	assert_null(db);
	assert_non_null(strstr(err, path));

	/* A directory that does not exist. */
	snprintf(path, sizeof(path), "%s/no/such/dir.db", tmpdir);
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_IO);
	assert_null(db);
	assert_non_null(strstr(err, "cannot open"));
}

/* A sound store passes both checks; one whose table page is overwritten
 * with garbage fails them with ERR_INVALID naming the file, and the fault
 * is counted. */
static void test_check(void **state)
{
	sqlite3 *db = NULL;
	unsigned faults;
	char buf[64];
	FILE *f;

	(void)state;
	use_db("check");
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_exec(db, "CREATE TABLE big (t TEXT);"
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
		" WHERE i < 2000) INSERT INTO big SELECT printf('%0100d', i)"
		" FROM n"), ERR_OK);
	assert_int_equal(store_check(db, path, 0, err, sizeof(err)), ERR_OK);
	assert_int_equal(store_check(db, path, 1, err, sizeof(err)), ERR_OK);
	store_close(&db);

	f = fopen(path, "r+b");
	assert_non_null(f);
	memset(buf, 0x5a, sizeof(buf));
	for (long off = 5 * 4096; off < 6 * 4096; off += (long)sizeof(buf)) {
		assert_int_equal(fseek(f, off, SEEK_SET), 0);
		assert_int_equal(fwrite(buf, sizeof(buf), 1, f), 1);
	}
	assert_int_equal(fclose(f), 0);

	faults = store_fault_count();
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_check(db, path, 0, err, sizeof(err)),
			 ERR_INVALID);
	assert_non_null(strstr(err, path));
	assert_int_equal(store_check(db, path, 1, err, sizeof(err)),
			 ERR_INVALID);
	assert_true(store_fault_count() != faults);
	store_close(&db);
}

/* A ROLLBACK with no transaction open succeeds and leaves the error of
 * what failed before it. */
static void test_rollback_keeps_error(void **state)
{
	sqlite3 *db = NULL;

	(void)state;
	use_db("rollback");
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_exec(db, "INSERT INTO no_such VALUES (1)"),
			 ERR_IO);
	assert_int_equal(store_exec(db, "ROLLBACK"), ERR_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "no_such"));
	assert_int_equal(store_exec(db, "BEGIN"), ERR_OK);
	assert_int_equal(store_exec(db, "ROLLBACK"), ERR_OK);
	store_close(&db);
}

/* an in-memory store; and sqlite keeps no memory statistics (each
 * allocation would take one process-wide mutex for them: store.c), so
 * what it counts stays 0 while connections allocate */
static void test_memory(void **state)
{
	sqlite3 *db = NULL;

	(void)state;
	assert_int_equal(store_open(":memory:", v2, 2, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(sqlite3_memory_used(), 0);
	store_close(&db);
}

/* same_text: sql's first text is the same on both connections. */
static void same_text(sqlite3 *a, sqlite3 *b, const char *sql)
{
	char x[128], y[128];

	assert_string_equal(query_text(a, sql, x, sizeof(x)),
			    query_text(b, sql, y, sizeof(y)));
}

/* a connection reading through its mmap of the store (as the search
 * threads do) sees every change another connection commits, though the
 * store's VFS keeps the map from one read transaction to the next while
 * the file's size stays: a change copied into the file in place, the
 * file grown, and the file shrunk (VACUUM) */
static void test_mapped_reader(void **state)
{
	sqlite3 *w = NULL, *r = NULL;
	char sql[256];

	(void)state;
	use_db("mapped");
	assert_int_equal(store_open(path, v1, 1, &w, err, sizeof(err)), ERR_OK);
	assert_int_equal(store_open(path, v1, 1, &r, err, sizeof(err)), ERR_OK);
	assert_int_equal(store_exec(r, "PRAGMA mmap_size = 268435456"),
			 ERR_OK);
	assert_int_equal(store_exec(w, "CREATE TABLE big (id INTEGER PRIMARY"
		" KEY, b BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL"
		" SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO big (b)"
		" SELECT randomblob(2000) FROM n;"
		" PRAGMA wal_checkpoint(TRUNCATE)"), ERR_OK);
	same_text(w, r, "SELECT hex(substr(b, 1, 16)) FROM big WHERE id = 500");
	for (int i = 0; i < 3; i++) {
		snprintf(sql, sizeof(sql), "UPDATE a SET x = 'v%d' WHERE id = 1;"
			 " UPDATE big SET b = randomblob(2000) WHERE id = 500;"
			 " PRAGMA wal_checkpoint(TRUNCATE)", i);
		assert_int_equal(store_exec(w, sql), ERR_OK);
		same_text(w, r, "SELECT x FROM a WHERE id = 1");
		same_text(w, r, "SELECT hex(substr(b, 1, 16)) FROM big"
			  " WHERE id = 500");
	}
	assert_int_equal(store_exec(w, "WITH RECURSIVE n(i) AS (SELECT 1"
		" UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT INTO big"
		" (b) SELECT randomblob(2000) FROM n;"
		" PRAGMA wal_checkpoint(TRUNCATE)"), ERR_OK);
	assert_int_equal(query_int(r, "SELECT count(*) FROM big"), 2000);
	same_text(w, r, "SELECT hex(substr(b, 1, 16)) FROM big WHERE id = 1999");
	assert_int_equal(store_exec(w, "DELETE FROM big; VACUUM;"
				    " PRAGMA wal_checkpoint(TRUNCATE)"), ERR_OK);
	assert_int_equal(query_int(r, "SELECT count(*) FROM big"), 0);
	same_text(w, r, "SELECT x FROM a WHERE id = 1");
	store_close(&r);
	store_close(&w);
}

/* exists: 1 when a file is at tmpdir/name. */
static int exists(const char *name)
{
	char file[1024];

	snprintf(file, sizeof(file), "%s/%s", tmpdir, name);
	return access(file, F_OK) == 0;
}

/* store_backup copies what is committed, while another connection holds a
 * write transaction open, into a single checked file; refuses an existing
 * destination (unless forced), the store itself and a missing directory;
 * and leaves nothing behind when the store is missing or damaged. */
static void test_backup(void **state)
{
	sqlite3 *db = NULL, *writer = NULL, *copy = NULL;
	char dest[600], bad[600], buf[64];
	unsigned char header[20];
	FILE *f;

	(void)state;
	use_db("backup-src");
	snprintf(dest, sizeof(dest), "%s/backup-copy.db", tmpdir);
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_open(path, v1, 1, &writer, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_exec(writer, "BEGIN IMMEDIATE"), ERR_OK);
	assert_int_equal(store_exec(writer, "INSERT INTO a (x) VALUES "
				    "('uncommitted')"), ERR_OK);
	assert_int_equal(store_backup(path, dest, 0, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_exec(writer, "COMMIT"), ERR_OK);
	store_close(&writer);
	assert_false(exists("backup-copy.db.tmp"));
	assert_false(exists("backup-copy.db-wal"));
	/* a rollback-journal file: header bytes 18 and 19 are 1, not WAL's 2 */
	f = fopen(dest, "rb");
	assert_non_null(f);
	assert_int_equal(fread(header, 1, sizeof(header), f), sizeof(header));
	fclose(f);
	assert_int_equal(header[18], 1);
	assert_int_equal(header[19], 1);
	assert_int_equal(store_open(dest, v1, 1, &copy, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(copy, "SELECT count(*) FROM a"), 1);
	store_close(&copy);

	/* an existing destination is kept; --force replaces it */
	assert_int_equal(store_backup(path, dest, 0, err, sizeof(err)),
			 ERR_INVALID);
	assert_non_null(strstr(err, "exists"));
	assert_int_equal(store_backup(path, dest, 1, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_open(dest, v1, 1, &copy, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(copy, "SELECT count(*) FROM a"), 2);
	store_close(&copy);

	/* the store itself, a missing directory */
	assert_int_equal(store_backup(path, path, 1, err, sizeof(err)),
			 ERR_INVALID);
	assert_non_null(strstr(err, "the store itself"));
	snprintf(bad, sizeof(bad), "%s/no/such.db", tmpdir);
	assert_int_equal(store_backup(path, bad, 0, err, sizeof(err)),
			 ERR_INVALID);
	assert_non_null(strstr(err, "no such directory"));
	store_close(&db);

	/* no store: nothing made there, the forced destination untouched */
	snprintf(bad, sizeof(bad), "%s/backup-none.db", tmpdir);
	assert_int_equal(store_backup(bad, dest, 1, err, sizeof(err)),
			 ERR_IO);
	assert_non_null(strstr(err, "no store"));
	assert_false(exists("backup-none.db"));
	assert_false(exists("backup-copy.db.tmp"));
	assert_int_equal(store_open(dest, v1, 1, &copy, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(copy, "SELECT count(*) FROM a"), 2);
	store_close(&copy);

	/* a damaged store: the copy fails its check, nothing is left */
	use_db("backup-damaged");
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(store_exec(db, "CREATE TABLE big (t TEXT);"
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
		" WHERE i < 2000) INSERT INTO big SELECT printf('%0100d', i)"
		" FROM n"), ERR_OK);
	store_close(&db);
	f = fopen(path, "r+b");
	assert_non_null(f);
	memset(buf, 0x5a, sizeof(buf));
	for (long off = 5 * 4096; off < 6 * 4096; off += (long)sizeof(buf)) {
		assert_int_equal(fseek(f, off, SEEK_SET), 0);
		assert_int_equal(fwrite(buf, sizeof(buf), 1, f), 1);
	}
	assert_int_equal(fclose(f), 0);
	snprintf(bad, sizeof(bad), "%s/backup-of-damaged.db", tmpdir);
	assert_int_equal(store_backup(path, bad, 0, err, sizeof(err)),
			 ERR_IO);
	assert_false(exists("backup-of-damaged.db"));
	assert_false(exists("backup-of-damaged.db.tmp"));
	assert_false(exists("backup-of-damaged.db.tmp-journal"));
}

/* a store with a schema is copied to NAME.schema-V.bak before it is
 * migrated: the copy holds the old schema and rows (the previous release
 * opens it as it was); a new store and one with nothing to migrate get no
 * copy; when the copy cannot be made nothing is migrated */
static void test_backup_before_migrating(void **state)
{
	sqlite3 *db = NULL, *old = NULL;
	char bak[600], blocker[700];

	(void)state;
	use_db("migrate");
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	store_close(&db);
	assert_false(exists("migrate.db.schema-0.bak"));
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	store_close(&db);
	assert_false(exists("migrate.db.schema-1.bak"));

	assert_int_equal(store_open(path, v2, 2, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 2);
	store_close(&db);
	snprintf(bak, sizeof(bak), "%s.schema-1.bak", path);
	assert_int_equal(sqlite3_open_v2(bak, &old, SQLITE_OPEN_READONLY,
					 NULL), SQLITE_OK);
	assert_int_equal(query_int(old, "PRAGMA user_version"), 1);
	assert_int_equal(query_int(old, "SELECT count(*) FROM a"), 1);
	assert_false(table_exists(old, "b"));
	sqlite3_close(old);
	/* the previous program runs on it: it is a store of schema 1 */
	assert_int_equal(store_open(bak, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	store_close(&db);

	/* the copy's place is taken by a directory: refused, not migrated */
	use_db("migrate-blocked");
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	store_close(&db);
	snprintf(blocker, sizeof(blocker), "%s.schema-1.bak", path);
	assert_int_equal(mkdir(blocker, 0700), 0);
	assert_int_equal(store_open(path, v2, 2, &db, err, sizeof(err)),
			 ERR_IO);
	assert_null(db);
	if (!strstr(err, "cannot back it up before migrating it from schema "
		    "1 to 2, so nothing was migrated") ||
	    !strstr(err, "is a directory"))
		fail_msg("got \"%s\"", err);
	assert_int_equal(rmdir(blocker), 0);
	assert_int_equal(store_open(path, v1, 1, &db, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(query_int(db, "PRAGMA user_version"), 1);
	assert_false(table_exists(db, "b"));
	store_close(&db);
}

/* ---- main ------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh),
		cmocka_unit_test(test_busy_waits),
		cmocka_unit_test(test_reopen_applies_new_only),
		cmocka_unit_test(test_failed_migration_rolls_back),
		cmocka_unit_test(test_newer_refused),
		cmocka_unit_test(test_not_a_database),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_rollback_keeps_error),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_mapped_reader),
		cmocka_unit_test(test_backup),
		cmocka_unit_test(test_backup_before_migrating),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
