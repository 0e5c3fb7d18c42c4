/* table_rows.h: how many rows a table of a unit test's store holds, to
 * show that a refused write changed nothing (the data layer tests). */
#ifndef ALLIANCE_TEST_TABLE_ROWS_H
#define ALLIANCE_TEST_TABLE_ROWS_H

#include <sqlite3.h>
#include <stdio.h>

/* table_rows: the rows of table (a constant name) in db, or -1. */
static inline int table_rows(sqlite3 *db, const char *table)
{
	char sql[80];
	sqlite3_stmt *st = NULL;
	int n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

#endif
