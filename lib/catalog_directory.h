/* catalog_directory.h: the district's records in the catalog (the
 * community directory and the synonyms), shared by catalog.c and
 * catalog_directory.c only; the public face is catalog.h's.
 *
 * Table directory (catalog_schema_v5): (origin, kind, id, version,
 * deleted, body), body the record's message packed (Community or
 * SearchWords), NULL for a tombstone; the version rule as for services. */
#ifndef ALLIANCE_CATALOG_DIRECTORY_H
#define ALLIANCE_CATALOG_DIRECTORY_H

#include "catalog.h"

struct catalog_directory;   /* its prepared statements */

/* directory_open: prepare on db (migrated to v5); ERR_OK, ERR_IO, ERR_NOMEM.
 * directory_close frees and sets *d to NULL. */
int directory_open(sqlite3 *db, struct catalog_directory **out);
void directory_close(struct catalog_directory **d);

/* directory_kind: 1 iff kind is kept in the directory table. */
int directory_kind(int kind);

/* directory_apply: catalog_apply's storing of a directory kind (the log
 * entry is the caller's). Body must match the kind unless deleted.
 * ERR_OK (*applied 1 when stored), ERR_INVALID, ERR_NOMEM or ERR_IO. */
int directory_apply(struct catalog_directory *d, const Change *ch,
		    int *applied);

/* directory_get: catalog_get of a directory kind. */
int directory_get(struct catalog_directory *d, const char *origin, int kind,
		  const char *id, Change **out);

/* directory_each: catalog_directory_each (catalog.h). */
int directory_each(struct catalog_directory *d, int kind,
		   void (*fn)(const Change *ch, void *arg), void *arg);

#endif
