/* store_stmt.h: the prepared statements of a data layer module (a
 * *_store.c) as one table of (field, SQL) rows: each row names the
 * sqlite3_stmt * field of the module's struct it is prepared into, so a
 * statement and its field cannot drift apart, and opening and closing
 * walk the same table. */
#ifndef ALLIANCE_STORE_STMT_H
#define ALLIANCE_STORE_STMT_H

#include <sqlite3.h>
#include <stddef.h>

/* One statement: where it goes in its owner struct, and its SQL. */
struct store_stmt {
	size_t field;               /* offsetof the sqlite3_stmt * */
	const char *sql;            /* constant SQL, parameters bound */
};

/* store_stmts_prepare: prepare every statement of t[0..n) on db (for
 * reuse: SQLITE_PREPARE_PERSISTENT) into its field of owner. ERR_OK, or
 * ERR_IO logged as "WHO: prepare: ..." with the fields prepared so far
 * set (free them with store_stmts_finalize). */
int store_stmts_prepare(sqlite3 *db, void *owner, const struct store_stmt *t,
			size_t n, const char *who);

/* store_stmts_finalize: finalize every statement of t[0..n) in owner
 * (NULL ones are a no-op) and NULL the fields. */
void store_stmts_finalize(void *owner, const struct store_stmt *t, size_t n);

/* store_stmt_done: reset st (and clear its bindings) after its last
 * sqlite3_step answered rc: ERR_OK for SQLITE_DONE or SQLITE_ROW, else
 * ERR_IO, logged as "WHO: <db's message>". */
int store_stmt_done(sqlite3 *db, sqlite3_stmt *st, int rc, const char *who);

#endif
