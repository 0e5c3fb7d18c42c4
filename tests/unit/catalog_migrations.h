/* catalog_migrations.h: the catalog's migrations in order, as the unit
 * tests and fuzz targets that open a store holding only the catalog apply
 * them (the daemons interleave them with their own in hub/store.c and
 * node/store.c). A new catalog_schema_vN is added here once. */
#ifndef ALLIANCE_TEST_CATALOG_MIGRATIONS_H
#define ALLIANCE_TEST_CATALOG_MIGRATIONS_H

#include "catalog.h"
#include "store.h"

static const struct store_migration catalog_migrations[] = {
	{ catalog_schema_v1 },
	{ catalog_schema_v2 },
	{ catalog_schema_v3 },
	{ catalog_schema_v4 },
	{ catalog_schema_v5 },
	{ catalog_schema_v6 },
};
#define CATALOG_N_MIGRATIONS \
	(sizeof(catalog_migrations) / sizeof(catalog_migrations[0]))

#endif
