/* catalog_fixture.h: a store holding only the catalog, for the unit tests
 * and fuzz targets of lib/catalog*.c: the catalog's migrations in order
 * (the daemons interleave them with their own in hub/store.c and
 * node/store.c; a new catalog_schema_vN is added here once) and an
 * in-memory store with the catalog open on it. Header-only, since each
 * unit test links one module and liballiance.a. */
#ifndef ALLIANCE_TEST_CATALOG_FIXTURE_H
#define ALLIANCE_TEST_CATALOG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "catalog.h"
#include "err.h"
#include "log.h"
#include "store.h"

static const struct store_migration catalog_migrations[] = {
	{ catalog_schema_v1 },
	{ catalog_schema_v2 },
	{ catalog_schema_v3 },
	{ catalog_schema_v4 },
	{ catalog_schema_v5 },
	{ catalog_schema_v6 },
	{ catalog_schema_v7 },
};
#define CATALOG_N_MIGRATIONS \
	(sizeof(catalog_migrations) / sizeof(catalog_migrations[0]))

/* catalog_store_conn: a connection to the store file at path with every
 * catalog migration (a thread's own, as the daemons' threads open theirs).
 * NULL (the reason on stderr) when it cannot be opened. */
static inline sqlite3 *catalog_store_conn(const char *path)
{
	sqlite3 *db = NULL;
	char err[512];

	if (store_open(path, catalog_migrations, CATALOG_N_MIGRATIONS, &db,
		       err, sizeof(err)) != ERR_OK)
		fprintf(stderr, "%s\n", err);
	return db;
}

struct catalog_fixture {
	sqlite3 *db;
	struct catalog *cat;
};

/* catalog_fixture_open: log as prog (warnings and worse), then a fresh
 * in-memory store with every catalog migration and the catalog open on
 * it. NULL (the reason on stderr) when it cannot be made; free with
 * catalog_fixture_close. */
static inline struct catalog_fixture *catalog_fixture_open(const char *prog)
{
	struct catalog_fixture *f = calloc(1, sizeof(*f));
	char err[512];

	log_init(prog, LOG_WARN);
	if (!f)
		return NULL;
	if (store_open(":memory:", catalog_migrations, CATALOG_N_MIGRATIONS,
		       &f->db, err, sizeof(err)) != ERR_OK) {
		fprintf(stderr, "%s\n", err);
		free(f);
		return NULL;
	}
	if (catalog_open(f->db, &f->cat) != ERR_OK) {
		store_close(&f->db);
		free(f);
		return NULL;
	}
	return f;
}

/* catalog_fixture_close: close what catalog_fixture_open made. */
static inline void catalog_fixture_close(struct catalog_fixture *f)
{
	catalog_close(&f->cat);
	store_close(&f->db);
	free(f);
}

#endif
