/* store_stmt.h: the prepared statements of a data layer module (a
 * *_store.c) as one table of (field, SQL) rows: each row names the
 * sqlite3_stmt * field of the module's struct it is prepared into, so a
 * statement and its field cannot drift apart, and opening and closing
 * walk the same table. */
#ifndef ALLIANCE_STORE_STMT_H
#define ALLIANCE_STORE_STMT_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

/* One statement: where it goes in its owner struct, and its SQL. */
struct store_stmt {
	size_t field;               /* offsetof the sqlite3_stmt * */
	const char *sql;            /* constant SQL, parameters bound */
};

/* store_stmts_new: a new zeroed owner struct of size bytes, whose first
 * member must be its sqlite3 *db (set to db), with every statement of
 * t[0..n) prepared into it (store_stmts_prepare). Returns it with *rc
 * ERR_OK; else NULL with *rc ERR_NOMEM or ERR_IO (logged). Free it with
 * store_stmts_free before db is closed. */
void *store_stmts_new(sqlite3 *db, size_t size, const struct store_stmt *t,
		      size_t n, const char *who, int *rc);

/* store_stmts_free: finalize owner's statements of t[0..n) and free it;
 * NULL is a no-op. */
void store_stmts_free(void *owner, const struct store_stmt *t, size_t n);

/* store_stmts_prepare: prepare every statement of t[0..n) on db (for
 * reuse: SQLITE_PREPARE_PERSISTENT) into its field of owner. ERR_OK, or
 * ERR_IO logged as "WHO: prepare: ..." with the fields prepared so far
 * set (free them with store_stmts_finalize). */
int store_stmts_prepare(sqlite3 *db, void *owner, const struct store_stmt *t,
			size_t n, const char *who);

/* store_stmts_finalize: finalize every statement of t[0..n) in owner
 * (NULL ones are a no-op) and NULL the fields. */
void store_stmts_finalize(void *owner, const struct store_stmt *t, size_t n);

/* store_stmt_bind_key: bind a record's key (origin, id) as ?1 and ?2 of
 * st (the caller keeps both strings until st is reset). */
void store_stmt_bind_key(sqlite3_stmt *st, const char *origin,
			 const char *id);

/* store_stmt_json_array: column i of st's row, a JSON array text, as a
 * JSON array (a new reference; [] when it is NULL or not an array), or
 * NULL out of memory. */
json_t *store_stmt_json_array(sqlite3_stmt *st, int i);

/* store_stmt_done: reset st (and clear its bindings) after its last
 * sqlite3_step answered rc: ERR_OK for SQLITE_DONE or SQLITE_ROW, else
 * ERR_IO, logged as "WHO: <db's message>". */
int store_stmt_done(sqlite3 *db, sqlite3_stmt *st, int rc, const char *who);

#endif
