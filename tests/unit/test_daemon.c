/* test_daemon.c: unit tests of lib/daemon.c: the signal flags both
 * daemons' loops read (real signals raised at this process), and the
 * start-up store check against real sqlite files (a sound one, one that
 * is not a database, one that cannot be opened) and the indexer's. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "err.h"
#include "store.h"
#include "tmpdir.h"

static const struct store_migration migrations[] = {
	{ "CREATE TABLE t (x INTEGER PRIMARY KEY);" },
};

/* test_connect: a store with one table, as the daemons' *_store_connect. */
static int test_connect(const char *path, sqlite3 **db, char *err,
			size_t errlen)
{
	return store_open(path, migrations, 1, db, err, errlen);
}

/* SIGHUP is taken once; SIGTERM and SIGINT stop; SIGPIPE does not kill. */
static void test_signals(void **state)
{
	(void)state;
	daemon_signals_install();
	assert_false(daemon_reload_take());
	assert_int_equal(raise(SIGHUP), 0);
	assert_true(daemon_reload_take());
	assert_false(daemon_reload_take());
	assert_int_equal(raise(SIGPIPE), 0);
	assert_false(daemon_stop_requested());
	assert_int_equal(raise(SIGTERM), 0);
	assert_true(daemon_stop_requested());
	assert_false(daemon_reload_take());
}

static void test_store_check(void **state)
{
	char dir[256], path[512], bad[512];
	sqlite3 *db = NULL;
	char err[256];
	FILE *f;

	(void)state;
	assert_int_equal(tmpdir_make("test_daemon", dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/ok.db", dir);
	assert_int_equal(test_connect(path, &db, err, sizeof(err)), ERR_OK);
	store_close(&db);
	assert_int_equal(daemon_store_check("test", path, test_connect,
					    "restore"), 0);
	/* not a database: damaged */
	snprintf(bad, sizeof(bad), "%s/bad.db", dir);
	f = fopen(bad, "w");
	assert_non_null(f);
	for (int i = 0; i < 512; i++)
		fputs("not a database ", f);
	fclose(f);
	assert_int_equal(daemon_store_check("test", bad, test_connect,
					    "restore"), DAEMON_EXIT_STORE);
	/* a directory that is not there: cannot be opened */
	assert_int_equal(daemon_store_check("test", "/nonexistent/dir/x.db",
					     test_connect, "restore"),
			 DAEMON_EXIT_STORE);
	assert_int_equal(daemon_store_refused(ERR_IO, "x", "y"),
			 DAEMON_EXIT_STORE);
	assert_int_equal(tmpdir_remove(dir), 0);
}

/* the indexer's own connection: refused with the store's error when the
 * store cannot be opened; nothing started */
static void test_indexer_start_refused(void **state)
{
	struct indexer *ix = NULL;

	(void)state;
	assert_int_not_equal(daemon_indexer_start("/nonexistent/dir/x.db",
						  test_connect, &ix), ERR_OK);
	assert_null(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_store_check),
		cmocka_unit_test(test_indexer_start_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
