/* store_stmt.c: a data layer module's statements prepared from, and
 * finalized by, one table of (field, SQL) rows, and the reading of a
 * JSON array column (store_stmt.h). */
#include "store_stmt.h"

#include <stdlib.h>

#include "err.h"
#include "log.h"

/* slot: where row i of t lives in owner. */
static sqlite3_stmt **slot(void *owner, const struct store_stmt *t, size_t i)
{
	return (sqlite3_stmt **)((char *)owner + t[i].field);
}

int store_stmts_prepare(sqlite3 *db, void *owner, const struct store_stmt *t,
			size_t n, const char *who)
{
	for (size_t i = 0; i < n; i++)
		if (sqlite3_prepare_v3(db, t[i].sql, -1,
				       SQLITE_PREPARE_PERSISTENT,
				       slot(owner, t, i), NULL) != SQLITE_OK) {
			log_error("%s: prepare: %s", who, sqlite3_errmsg(db));
			return ERR_IO;
		}
	return ERR_OK;
}

void store_stmts_finalize(void *owner, const struct store_stmt *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sqlite3_finalize(*slot(owner, t, i));
		*slot(owner, t, i) = NULL;
	}
}

void *store_stmts_new(sqlite3 *db, size_t size, const struct store_stmt *t,
		      size_t n, const char *who, int *rc)
{
	void *owner = calloc(1, size);

	*rc = ERR_NOMEM;
	if (!owner)
		return NULL;
	*(sqlite3 **)owner = db;
	*rc = store_stmts_prepare(db, owner, t, n, who);
	if (*rc == ERR_OK)
		return owner;
	store_stmts_free(owner, t, n);
	return NULL;
}

void store_stmts_free(void *owner, const struct store_stmt *t, size_t n)
{
	if (!owner)
		return;
	store_stmts_finalize(owner, t, n);
	free(owner);
}

void store_stmt_bind_key(sqlite3_stmt *st, const char *origin,
			 const char *id)
{
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
}

int store_stmt_done(sqlite3 *db, sqlite3_stmt *st, int rc, const char *who)
{
	int out = rc == SQLITE_DONE || rc == SQLITE_ROW ? ERR_OK : ERR_IO;

	if (out != ERR_OK)
		log_error("%s: %s", who, sqlite3_errmsg(db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return out;
}

json_t *store_stmt_json_array(sqlite3_stmt *st, int i)
{
	const char *text = (const char *)sqlite3_column_text(st, i);
	json_t *a = text ? json_loads(text, 0, NULL) : NULL;

	if (json_is_array(a))
		return a;
	json_decref(a);
	return json_array();
}
