/* catalog.c: services and announcements: storage, change log, the search
 * index.
 *
 * Tables (catalog_schema_v1): service and announcement hold one row per
 * (origin, id), live or tombstone, with the version of the origin that
 * wrote it; catalog_log holds one row per record at its latest seq;
 * service_fts is an FTS5 index over live services' title, summary,
 * description, tags (the category's names in Chinese and English) and,
 * since catalog_schema_v3, facets (the filters as words). Since
 * catalog_schema_v2 it is not kept in step by apply: triggers on service
 * only queue the written rid in index_pending (cheap, on the ack path) and
 * catalog_index_pending, run by each daemon's indexer thread, copies the
 * texts into the index later. The version rule is one upsert whose DO UPDATE
 * has "WHERE excluded.version > version": sqlite3_changes() says whether
 * it applied. Every statement is constant SQL with bound parameters.
 *
 * The district's records (community directory, synonyms) live in table
 * directory (catalog_schema_v5), stored and read by catalog_directory.c
 * and logged here like services.
 *
 * catalog_usage (catalog_schema_v7) keeps each origin's live records and
 * body bytes, what its quota counts on every write, by triggers on service
 * and announcement; nothing here writes it.
 *
 * Parts, in order: the fixed lists (categories, delivery modes); the
 * schema; struct catalog and open/close; rows to messages; apply, get and
 * the log; the search index; counts; search (catalog_search.c does it);
 * announcements. JSON in and out lives in catalog_json.c. */
#include "catalog.h"
#include "catalog_directory.h"
#include "catalog_search.h"
#include "catalog_sets.h"

#include "clock.h"
#include "err.h"
#include "alliance_limits.h"
#include "log.h"
#include "quota.h"
#include "search.h"
#include "store_stmt.h"
#include "text.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A number macro as a string literal, for SQL text. */
#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- fixed lists -------------------------------------------------------- */

/* The category ids of DESIGN.md and the words each adds to the index, so
 * 养老 or "elderly" finds elderly care whatever its title says. */
static const struct catalog_category {
	const char *id;
	const char *words;
} catalog_categories[] = {
	{ "elderly-care", "elderly care senior aged 养老 老人 老年 敬老" },
	{ "health-maternity", "health maternity medical pregnancy 健康 医疗 "
	  "卫生 孕产 母婴 妇幼" },
	{ "family-children", "family children kids 家庭 儿童 亲子 育儿" },
	{ "disability", "disability disabled 残疾 助残 残障" },
	{ "housing", "housing property 住房 物业 房屋" },
	{ "environment", "environment sanitation 环境 环卫 卫生 垃圾" },
	{ "public-safety", "public safety 公共安全 安全 消防 治安" },
	{ "employment", "employment jobs social security 就业 社保 社会保障" },
	{ "legal-civil", "legal civil affairs 法律 民政 法律援助" },
	{ "education-culture", "education culture 教育 文化" },
	{ "neighbourhood-life", "neighbourhood neighborhood life 邻里 社区生活 "
	  "便民" },
	{ "other", "other 其他" },
};
#define CATALOG_N_CATEGORIES \
	(sizeof(catalog_categories) / sizeof(catalog_categories[0]))

/* Delivery modes; a service's modes are also kept as a bit mask
 * (bit i = catalog_delivery[i]) for the delivery filter. */
static const char *const catalog_delivery[] = {
	"walk-in", "home-visit", "online", "phone",
};
/* CATALOG_FACETS_SQL (catalog_search.h) writes a word for each of 4 bits */
_Static_assert(sizeof(catalog_delivery) / sizeof(catalog_delivery[0]) == 4,
	       "CATALOG_FACETS_SQL knows four delivery modes");
#define CATALOG_N_DELIVERY \
	(sizeof(catalog_delivery) / sizeof(catalog_delivery[0]))

int catalog_is_category(const char *id)
{
	for (size_t i = 0; id && i < CATALOG_N_CATEGORIES; i++)
		if (strcmp(id, catalog_categories[i].id) == 0)
			return 1;
	return 0;
}

/* catalog_delivery_bit: see catalog_search.h. */
int64_t catalog_delivery_bit(const char *mode)
{
	for (size_t i = 0; mode && i < CATALOG_N_DELIVERY; i++)
		if (strcmp(mode, catalog_delivery[i]) == 0)
			return (int64_t)1 << i;
	return 0;
}

int catalog_is_delivery(const char *id)
{
	return catalog_delivery_bit(id) != 0;
}

static const char *catalog_category_words(const char *id)
{
	for (size_t i = 0; id && i < CATALOG_N_CATEGORIES; i++)
		if (strcmp(id, catalog_categories[i].id) == 0)
			return catalog_categories[i].words;
	return "";
}

/* ---- schema ------------------------------------------------------------- */

const char catalog_schema_v1[] =
	"CREATE TABLE service ("
	" rid INTEGER PRIMARY KEY,"           /* rowid alias: the FTS rowid */
	" origin TEXT NOT NULL,"
	" id TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" deleted INTEGER NOT NULL DEFAULT 0,"
	" title TEXT NOT NULL DEFAULT '',"
	" summary TEXT NOT NULL DEFAULT '',"
	" description TEXT NOT NULL DEFAULT '',"
	" category TEXT NOT NULL DEFAULT '',"
	" audience TEXT NOT NULL DEFAULT '[]',"     /* JSON array */
	" delivery TEXT NOT NULL DEFAULT '[]',"     /* JSON array */
	" delivery_bits INTEGER NOT NULL DEFAULT 0,"
	" eligibility TEXT NOT NULL DEFAULT '',"
	" fee TEXT NOT NULL DEFAULT '',"            /* 'free' or an amount */
	" hours TEXT NOT NULL DEFAULT '',"
	" phone TEXT NOT NULL DEFAULT '',"
	" address TEXT NOT NULL DEFAULT '',"
	" languages TEXT NOT NULL DEFAULT '[]',"    /* JSON array */
	" status TEXT NOT NULL DEFAULT '',"
	" updated INTEGER NOT NULL DEFAULT 0,"      /* unix seconds */
	" tags TEXT NOT NULL DEFAULT '',"           /* category words */
	" UNIQUE (origin, id));"
	"CREATE INDEX service_category ON service (category, updated);"
	"CREATE INDEX service_origin ON service (origin, updated);"
	"CREATE INDEX service_updated ON service (updated);"
	"CREATE VIRTUAL TABLE service_fts USING fts5("
	" title, summary, description, tags,"
	" content = 'service', content_rowid = 'rid',"
	" tokenize = " SEARCH_TOKENIZE ");"
	"CREATE TRIGGER service_fts_insert AFTER INSERT ON service"
	" WHEN new.deleted = 0 BEGIN"
	" INSERT INTO service_fts (rowid, title, summary, description, tags)"
	" VALUES (new.rid, new.title, new.summary, new.description, new.tags);"
	" END;"
	"CREATE TRIGGER service_fts_delete AFTER DELETE ON service"
	" WHEN old.deleted = 0 BEGIN"
	" INSERT INTO service_fts (service_fts, rowid, title, summary,"
	" description, tags) VALUES ('delete', old.rid, old.title,"
	" old.summary, old.description, old.tags);"
	" END;"
	"CREATE TRIGGER service_fts_update AFTER UPDATE ON service BEGIN"
	" INSERT INTO service_fts (service_fts, rowid, title, summary,"
	" description, tags) SELECT 'delete', old.rid, old.title,"
	" old.summary, old.description, old.tags WHERE old.deleted = 0;"
	" INSERT INTO service_fts (rowid, title, summary, description, tags)"
	" SELECT new.rid, new.title, new.summary, new.description, new.tags"
	" WHERE new.deleted = 0;"
	" END;"
	"CREATE TABLE announcement ("
	" rid INTEGER PRIMARY KEY,"
	" origin TEXT NOT NULL,"
	" id TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" deleted INTEGER NOT NULL DEFAULT 0,"
	" title TEXT NOT NULL DEFAULT '',"
	" body TEXT NOT NULL DEFAULT '',"
	" category TEXT NOT NULL DEFAULT '',"
	" published INTEGER NOT NULL DEFAULT 0,"    /* unix seconds */
	" expires INTEGER NOT NULL DEFAULT 0,"      /* 0: never */
	" UNIQUE (origin, id));"
	"CREATE INDEX announcement_published ON announcement (published);"
	"CREATE TABLE catalog_log ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" origin TEXT NOT NULL,"
	" kind INTEGER NOT NULL,"
	" id TEXT NOT NULL,"
	" UNIQUE (origin, kind, id));";

/* v2: the index off the apply path. service_fts becomes a regular FTS5
 * table (its own copy of the four texts, rowid = service.rid, the same
 * columns and tokenizer, so bm25 weights and MATCH stay as they were);
 * cheap triggers only queue the rid of each written service in
 * index_pending (WHERE NOT EXISTS rather than INSERT OR IGNORE: an outer
 * statement's conflict rule overrides a trigger's OR IGNORE), and catalog_index_pending (the indexer thread) brings the
 * index up to date later. Every existing service is queued, so an old
 * store is re-indexed. */
const char catalog_schema_v2[] =
	"DROP TRIGGER service_fts_insert;"
	"DROP TRIGGER service_fts_delete;"
	"DROP TRIGGER service_fts_update;"
	"DROP TABLE service_fts;"
	"CREATE VIRTUAL TABLE service_fts USING fts5("
	" title, summary, description, tags,"
	" tokenize = " SEARCH_TOKENIZE ");"
	"CREATE TABLE index_pending (rid INTEGER PRIMARY KEY);"
	"CREATE TRIGGER service_index_insert AFTER INSERT ON service BEGIN"
	" INSERT INTO index_pending (rid) SELECT new.rid WHERE NOT EXISTS"
	" (SELECT 1 FROM index_pending WHERE rid = new.rid);"
	" END;"
	"CREATE TRIGGER service_index_update AFTER UPDATE ON service BEGIN"
	" INSERT INTO index_pending (rid) SELECT new.rid WHERE NOT EXISTS"
	" (SELECT 1 FROM index_pending WHERE rid = new.rid);"
	" END;"
	"CREATE TRIGGER service_index_delete AFTER DELETE ON service BEGIN"
	" INSERT INTO index_pending (rid) SELECT old.rid WHERE NOT EXISTS"
	" (SELECT 1 FROM index_pending WHERE rid = old.rid);"
	" END;"
	"INSERT INTO index_pending (rid) SELECT rid FROM service;";

/* v3: search from the index alone (catalog_search.c). service_fts gains
 * a facets column (CATALOG_FACETS_SQL: the filters as words), holds live
 * services only (not deleted, status not inactive), and its rowid is
 * -rid: FTS5 walks a match list forwards faster than backwards, and
 * search wants the newest (highest rid) first. Every service is queued
 * again to be indexed so. */
const char catalog_schema_v3[] =
	"DROP TABLE service_fts;"
	"CREATE VIRTUAL TABLE service_fts USING fts5("
	" title, summary, description, tags, facets,"
	" tokenize = " SEARCH_TOKENIZE ");"
	"INSERT INTO index_pending (rid) SELECT rid FROM service"
	" WHERE rid NOT IN (SELECT rid FROM index_pending);";

/* v4: index_gen counts the indexer's transactions (catalog_index_pending
 * adds one to gen in each), so a search connection knows when the sets
 * it keeps of earlier searches (catalog_sets.c) are out of date, and
 * index_change lists the rids each of the last CATALOG_SETS_LOG_GENS
 * generations indexed, at most CATALOG_SETS_LOG_RIDS + 1 of them (one
 * more: "and others"), so a few changes can be patched into the sets. */
const char catalog_schema_v4[] =
	"CREATE TABLE index_gen (gen INTEGER NOT NULL);"
	"INSERT INTO index_gen (gen) VALUES (0);"
	"CREATE TABLE index_change ("
	" gen INTEGER NOT NULL,"
	" rid INTEGER NOT NULL,"
	" PRIMARY KEY (gen, rid)"
	") WITHOUT ROWID;";

/* v5: the district's records (catalog_directory.h: the community
 * directory and the synonyms) and two service fields: the communities
 * whose residents may use it (JSON array, empty: all) and a manager's
 * search keywords (JSON array; indexed with the category's words in
 * tags, so no index change is needed). */
const char catalog_schema_v5[] =
	"CREATE TABLE directory ("
	" origin TEXT NOT NULL,"
	" kind INTEGER NOT NULL,"
	" id TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" deleted INTEGER NOT NULL DEFAULT 0,"
	" body BLOB,"                              /* packed message */
	" PRIMARY KEY (origin, kind, id)"
	") WITHOUT ROWID;"
	"ALTER TABLE service ADD COLUMN eligible_communities TEXT NOT NULL"
	" DEFAULT '[]';"
	"ALTER TABLE service ADD COLUMN keywords TEXT NOT NULL DEFAULT '[]';";

/* v6: each record's body bytes (quota_body_bytes: its packed service or
 * announcement, 0 for a tombstone), what the quota of its community
 * counts; rows written before are measured by catalog_measure. */
const char catalog_schema_v6[] =
	"ALTER TABLE service ADD COLUMN body_bytes INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE announcement ADD COLUMN body_bytes INTEGER NOT NULL"
	" DEFAULT 0;";

/* USAGE_TRIGGERS: keep catalog_usage in step with each write to tbl: take
 * the old row out if it was live, put the new one in if it is (on update
 * both, so a tombstone, a revival and catalog_measure's body bytes all
 * land). A row appears before the first UPDATE (WHERE NOT EXISTS, not
 * INSERT OR IGNORE: an outer statement's conflict rule overrides a
 * trigger's). */
#define USAGE_ADD \
	" INSERT INTO catalog_usage (origin) SELECT new.origin" \
	" WHERE new.deleted = 0 AND NOT EXISTS (SELECT 1 FROM catalog_usage" \
	" WHERE origin = new.origin);" \
	" UPDATE catalog_usage SET records = records + 1," \
	" bytes = bytes + new.body_bytes" \
	" WHERE new.deleted = 0 AND origin = new.origin;"
#define USAGE_SUB \
	" UPDATE catalog_usage SET records = records - 1," \
	" bytes = bytes - old.body_bytes" \
	" WHERE old.deleted = 0 AND origin = old.origin;"
#define USAGE_TRIGGERS(tbl) \
	"CREATE TRIGGER " tbl "_usage_insert AFTER INSERT ON " tbl " BEGIN" \
	USAGE_ADD " END;" \
	"CREATE TRIGGER " tbl "_usage_delete AFTER DELETE ON " tbl " BEGIN" \
	USAGE_SUB " END;" \
	"CREATE TRIGGER " tbl "_usage_update AFTER UPDATE OF origin," \
	" deleted, body_bytes ON " tbl " BEGIN" USAGE_SUB \
	USAGE_ADD " END;"

/* v7: what catalog_usage and catalog_max_version read on every write,
 * kept instead of counted. catalog_usage holds each origin's live
 * services and announcements and the sum of their body bytes, computed
 * once here and kept by triggers on both tables (so every writer, apply,
 * catalog_measure, a snapshot's rebase and the tombstone purge alike, is
 * counted in its own transaction); an (origin, version) index on each
 * table makes max(version) of an origin one index seek instead of a walk
 * over all its rows. */
const char catalog_schema_v7[] =
	"CREATE TABLE catalog_usage ("
	" origin TEXT PRIMARY KEY,"
	" records INTEGER NOT NULL DEFAULT 0,"
	" bytes INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"INSERT INTO catalog_usage (origin, records, bytes)"
	" SELECT origin, sum(n), sum(b) FROM ("
	" SELECT origin, count(*) AS n, coalesce(sum(body_bytes), 0) AS b"
	" FROM service WHERE deleted = 0 GROUP BY origin UNION ALL"
	" SELECT origin, count(*), coalesce(sum(body_bytes), 0)"
	" FROM announcement WHERE deleted = 0 GROUP BY origin)"
	" GROUP BY origin;"
	USAGE_TRIGGERS("service")
	USAGE_TRIGGERS("announcement")
	"CREATE INDEX service_version ON service (origin, version);"
	"CREATE INDEX announcement_version ON announcement (origin, version);";
#undef USAGE_TRIGGERS
#undef USAGE_SUB
#undef USAGE_ADD

/* ---- struct catalog ----------------------------------------------------- */

struct catalog {
	sqlite3 *db;                      /* the caller's connection */
	sqlite3_stmt *put_service;        /* upsert under the version rule */
	sqlite3_stmt *put_announcement;   /* same */
	sqlite3_stmt *get_service;        /* by (origin, id) */
	sqlite3_stmt *get_announcement;   /* same */
	sqlite3_stmt *log_put;            /* INSERT OR REPLACE: a new seq */
	sqlite3_stmt *log_head;           /* max(seq) */
	sqlite3_stmt *log_range;          /* (after, head], origin not skip */
	sqlite3_stmt *max_version;        /* of one origin, both kinds */
	sqlite3_stmt *count[2][2];        /* [kind announcement][by origin] */
	sqlite3_stmt *announcements;      /* unexpired, newest first */
	struct catalog_finder *finder;    /* catalog_search's statements */
	struct catalog_directory *dir;    /* the district's records */
	sqlite3_stmt *ix_last;            /* the limit-th lowest queued rid */
	sqlite3_stmt *ix_unindex;         /* drop queued rids <= ?1 from fts */
	sqlite3_stmt *ix_index;           /* copy their live rows' texts in */
	sqlite3_stmt *ix_dequeue;         /* forget queued rids <= ?1 */
	sqlite3_stmt *ix_any;             /* is anything queued */
	sqlite3_stmt *ix_gen;             /* the index generation */
	sqlite3_stmt *ix_log;             /* the rids <= ?1 the next indexes */
	sqlite3_stmt *ix_bump;            /* the next index generation */
	sqlite3_stmt *ix_prune;           /* forget old generations' rids */
	sqlite3_stmt *size[2];            /* [kind announcement]: deleted and
					     body_bytes of (origin, id) */
	sqlite3_stmt *usage;              /* live records and bytes of origin
					     (kept: catalog_schema_v7) */
	/* catalog_sole_writer: the log head read outside a transaction,
	 * valid while the connection's change count stays head_changes */
	int head_cache;                   /* set by catalog_sole_writer */
	int head_known;
	uint64_t head;
	sqlite3_int64 head_changes;       /* sqlite3_total_changes64 then */
};

#define ANNOUNCEMENT_COLS \
	"origin, id, version, deleted, title, body, category, published," \
	" expires"

static const char *const catalog_sql_put_service =
	"INSERT INTO service (origin, id, version, deleted, title, summary,"
	" description, category, audience, delivery, delivery_bits,"
	" eligibility, fee, hours, phone, address, languages, status,"
	" updated, tags, eligible_communities, keywords, body_bytes) VALUES"
	" (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
	" ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
	" ON CONFLICT (origin, id) DO UPDATE SET version = excluded.version,"
	" deleted = excluded.deleted, title = excluded.title,"
	" summary = excluded.summary, description = excluded.description,"
	" category = excluded.category, audience = excluded.audience,"
	" delivery = excluded.delivery,"
	" delivery_bits = excluded.delivery_bits,"
	" eligibility = excluded.eligibility, fee = excluded.fee,"
	" hours = excluded.hours, phone = excluded.phone,"
	" address = excluded.address, languages = excluded.languages,"
	" status = excluded.status, updated = excluded.updated,"
	" tags = excluded.tags,"
	" eligible_communities = excluded.eligible_communities,"
	" keywords = excluded.keywords, body_bytes = excluded.body_bytes"
	" WHERE excluded.version > service.version";

static const char *const catalog_sql_put_announcement =
	"INSERT INTO announcement (origin, id, version, deleted, title, body,"
	" category, published, expires, body_bytes) VALUES (?1, ?2, ?3, ?4,"
	" ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (origin, id) DO UPDATE SET"
	" version = excluded.version, deleted = excluded.deleted,"
	" title = excluded.title, body = excluded.body,"
	" category = excluded.category, published = excluded.published,"
	" expires = excluded.expires, body_bytes = excluded.body_bytes"
	" WHERE excluded.version > announcement.version";

int catalog_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt)
{
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				    stmt, NULL);

	if (rc != SQLITE_OK) {
		log_error("catalog: prepare: %s (is the catalog schema "
			  "migrated?)", sqlite3_errmsg(db));
		return ERR_IO;
	}
	return ERR_OK;
}

/* Each fixed statement with the field it is prepared into: one row a
 * statement, so a statement and its field cannot drift apart. */
#define STMT(field) offsetof(struct catalog, field)
static const struct store_stmt catalog_fixed[] = {
	{ STMT(put_service), catalog_sql_put_service },
	{ STMT(put_announcement), catalog_sql_put_announcement },
	{ STMT(get_service), "SELECT " CATALOG_SERVICE_COLS " FROM service"
		" WHERE origin = ?1 AND id = ?2" },
	{ STMT(get_announcement), "SELECT " ANNOUNCEMENT_COLS
	" FROM announcement"
		" WHERE origin = ?1 AND id = ?2" },
	{ STMT(log_put), "INSERT OR REPLACE INTO catalog_log (origin, kind, id)"
		" VALUES (?1, ?2, ?3)" },
	{ STMT(log_head), "SELECT coalesce(max(seq), 0) FROM catalog_log" },
	{ STMT(log_range), "SELECT seq, origin, kind, id FROM catalog_log"
		" WHERE seq > ?1 AND seq <= ?2 AND origin IS NOT ?3"
		" AND kind <= ?5 ORDER BY seq LIMIT ?4" },
	{ STMT(max_version), "SELECT max(coalesce((SELECT max(version)"
	" FROM service"
		" WHERE origin = ?1), 0), coalesce((SELECT"
		" max(version) FROM announcement WHERE origin = ?1), 0),"
		" coalesce((SELECT max(version) FROM directory"
		" WHERE origin = ?1), 0))"
	},
	{ STMT(count[0][0]), "SELECT count(*) FROM service WHERE deleted = 0" },
	{ STMT(count[0][1]), "SELECT count(*) FROM service WHERE origin = ?1"
		" AND deleted = 0" },
	{ STMT(count[1][0]), "SELECT count(*) FROM announcement"
	" WHERE deleted = 0" },
	{ STMT(count[1][1]), "SELECT count(*) FROM announcement"
	" WHERE origin = ?1"
		" AND deleted = 0" },
	{ STMT(announcements), "SELECT " ANNOUNCEMENT_COLS " FROM announcement"
		" WHERE deleted = 0 AND (expires = 0 OR expires > ?1)"
		" AND (?2 IS NULL OR origin = ?2)"
		" ORDER BY origin IS ?4 DESC, published DESC, rid DESC"
		" LIMIT ?3" },
	{ STMT(ix_last), "SELECT max(rid) FROM (SELECT rid FROM index_pending"
		" ORDER BY rid LIMIT ?1)" },
	{ STMT(ix_unindex), "DELETE FROM service_fts WHERE rowid IN"
		" (SELECT -rid FROM index_pending WHERE rid <= ?1)" },
	/* highest rid first: FTS5 rowids (-rid) ascending, as FTS5
	 * wants them (a lower one flushes what it holds) */
	{ STMT(ix_index), "INSERT INTO service_fts (rowid, title, summary,"
		" description, tags, facets) SELECT -rid, title,"
		" summary, description, tags, " CATALOG_FACETS_SQL
		" FROM service WHERE rid IN"
		" (SELECT rid FROM index_pending WHERE rid <= ?1)"
		" AND deleted = 0 AND status <> 'inactive'"
		" ORDER BY rid DESC" },
	{ STMT(ix_dequeue), "DELETE FROM index_pending WHERE rid <= ?1" },
	{ STMT(ix_any), "SELECT EXISTS (SELECT 1 FROM index_pending)" },
	{ STMT(ix_gen), "SELECT gen FROM index_gen" },
	{ STMT(ix_log), "INSERT INTO index_change (gen, rid) SELECT"
		" (SELECT gen + 1 FROM index_gen), rid"
		" FROM index_pending WHERE rid <= ?1 ORDER BY rid LIMIT "
		STR(CATALOG_SETS_LOG_RIDS) " + 1" },
	{ STMT(ix_bump), "UPDATE index_gen SET gen = gen + 1" },
	{ STMT(ix_prune), "DELETE FROM index_change WHERE gen <= (SELECT gen"
		" FROM index_gen) - " STR(CATALOG_SETS_LOG_GENS) },
	{ STMT(size[0]), "SELECT deleted, body_bytes FROM service"
		" WHERE origin = ?1 AND id = ?2" },
	{ STMT(size[1]), "SELECT deleted, body_bytes FROM announcement"
		" WHERE origin = ?1 AND id = ?2" },
	{ STMT(usage), "SELECT coalesce(max(records), 0),"
		" coalesce(max(bytes), 0) FROM catalog_usage WHERE origin = ?1" },
};
#undef STMT

#define CATALOG_FIXED (sizeof(catalog_fixed) / sizeof(catalog_fixed[0]))

/* catalog_open: see catalog.h. Prepares every fixed statement now, so a
 * store without the catalog schema fails here and not mid-sync. */
int catalog_open(sqlite3 *db, struct catalog **out)
{
	struct catalog *cat;

	*out = NULL;
	cat = calloc(1, sizeof(*cat));
	if (!cat)
		return ERR_NOMEM;
	cat->db = db;
	if (store_stmts_prepare(db, cat, catalog_fixed, CATALOG_FIXED,
				"catalog") != ERR_OK)
		goto err;
	if (finder_open(db, &cat->finder) != ERR_OK ||
	    directory_open(db, &cat->dir) != ERR_OK)
		goto err;
	*out = cat;
	return ERR_OK;
err:
	catalog_close(&cat);
	return ERR_IO;
}

/* catalog_close: finalize every statement, free *cat, set it to NULL. */
void catalog_close(struct catalog **cat)
{
	struct catalog *c;

	if (!cat || !*cat)
		return;
	c = *cat;
	store_stmts_finalize(c, catalog_fixed, CATALOG_FIXED);
	finder_close(&c->finder);
	directory_close(&c->dir);
	free(c);
	*cat = NULL;
}

/* catalog_fail: log a failed step of stmt, reset it, return ERR_IO. */
static int catalog_fail(struct catalog *cat, sqlite3_stmt *stmt,
			const char *what)
{
	log_error("catalog: %s: %s", what, sqlite3_errmsg(cat->db));
	sqlite3_reset(stmt);
	return ERR_IO;
}

/* ---- rows to messages --------------------------------------------------- */

/* col_dup: a malloc'd copy of a text column ("" for NULL), or NULL. */
static char *col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return strdup(t ? (const char *)t : "");
}

/* col_list: parse a JSON array column into a malloc'd array of malloc'd
 * strings (*n of them). Non-string items are skipped; garbage is an empty
 * list. Returns ERR_OK or ERR_NOMEM (then *items holds *n of them). */
static int col_list(sqlite3_stmt *st, int col, char ***items, size_t *n)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	json_t *arr, *v;
	size_t i;
	int rc = ERR_OK;

	*items = NULL;
	*n = 0;
	if (!t)
		return ERR_OK;
	arr = json_loads(t, 0, NULL);
	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		json_decref(arr);
		return ERR_OK;
	}
	*items = calloc(json_array_size(arr), sizeof(char *));
	if (!*items) {
		json_decref(arr);
		return ERR_NOMEM;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			continue;
		(*items)[*n] = strdup(json_string_value(v));
		if (!(*items)[*n]) {
			rc = ERR_NOMEM;
			break;
		}
		(*n)++;
	}
	json_decref(arr);
	return rc;
}

/* service_from_row: a new Service from a row of CATALOG_SERVICE_COLS, or NULL
 * when memory ran out. */
static Alliance__V1__Service *service_from_row(sqlite3_stmt *st)
{
	Alliance__V1__Service *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	alliance__v1__service__init(s);
	if (!(s->title = col_dup(st, 4)) ||
	    !(s->summary = col_dup(st, 5)) ||
	    !(s->description = col_dup(st, 6)) ||
	    !(s->category = col_dup(st, 7)) ||
	    col_list(st, 8, &s->audience, &s->n_audience) != ERR_OK ||
	    col_list(st, 9, &s->delivery, &s->n_delivery) != ERR_OK ||
	    !(s->eligibility = col_dup(st, 10)) ||
	    !(s->fee = col_dup(st, 11)) ||
	    !(s->hours = col_dup(st, 12)) ||
	    !(s->phone = col_dup(st, 13)) ||
	    !(s->address = col_dup(st, 14)) ||
	    col_list(st, 15, &s->languages, &s->n_languages) != ERR_OK ||
	    !(s->status = col_dup(st, 16)) ||
	    col_list(st, 19, &s->eligible_communities,
		     &s->n_eligible_communities) != ERR_OK ||
	    col_list(st, 20, &s->keywords, &s->n_keywords) != ERR_OK)
		goto err;
	s->updated = sqlite3_column_int64(st, 17);
	return s;
err:
	/* fields not yet set still hold the static default, which
	 * free_unpacked knows not to free */
	alliance__v1__service__free_unpacked(s, NULL);
	return NULL;
}

static Alliance__V1__Announcement *announcement_from_row(sqlite3_stmt *st)
{
	Alliance__V1__Announcement *a = malloc(sizeof(*a));

	if (!a)
		return NULL;
	alliance__v1__announcement__init(a);
	if (!(a->title = col_dup(st, 4)) || !(a->body = col_dup(st, 5)) ||
	    !(a->category = col_dup(st, 6))) {
		alliance__v1__announcement__free_unpacked(a, NULL);
		return NULL;
	}
	a->published = sqlite3_column_int64(st, 7);
	a->expires = sqlite3_column_int64(st, 8);
	return a;
}

/* change_from_row: a new Change of kind from a row of CATALOG_SERVICE_COLS or
 * ANNOUNCEMENT_COLS (origin, id, version, deleted first); a tombstone
 * has no body. NULL when memory ran out. */
static Change *change_from_row(sqlite3_stmt *st, int kind)
{
	Change *ch = malloc(sizeof(*ch));

	if (!ch)
		return NULL;
	alliance__v1__change__init(ch);
	ch->kind = kind;
	ch->version = (uint64_t)sqlite3_column_int64(st, 2);
	ch->deleted = sqlite3_column_int(st, 3) != 0;
	if (!(ch->origin = col_dup(st, 0)) || !(ch->id = col_dup(st, 1)))
		goto err;
	if (ch->deleted)
		return ch;
	if (kind == ALLIANCE__V1__KIND__KIND_SERVICE) {
		ch->service = service_from_row(st);
		if (!ch->service)
			goto err;
		ch->body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
	} else {
		ch->announcement = announcement_from_row(st);
		if (!ch->announcement)
			goto err;
		ch->body_case = ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT;
	}
	return ch;
err:
	alliance__v1__change__free_unpacked(ch, NULL);
	return NULL;
}

void catalog_change_free(Change **ch)
{
	if (!ch || !*ch)
		return;
	alliance__v1__change__free_unpacked(*ch, NULL);
	*ch = NULL;
}

void catalog_batch_free(Change ***batch, size_t n)
{
	if (!batch || !*batch)
		return;
	for (size_t i = 0; i < n; i++)
		catalog_change_free(&(*batch)[i]);
	free(*batch);
	*batch = NULL;
}

/* ---- apply, get, log ---------------------------------------------------- */

/* list_json: the compact JSON text of a string list (malloc'd), or NULL. */
static char *list_json(char **items, size_t n)
{
	json_t *arr = json_array();
	char *text;

	if (!arr)
		return NULL;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(items[i] ? items[i]
								: ""));
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return text;
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* service_tags: the words indexed besides the texts (malloc'd): the
 * category's words and the manager's keywords; "" for NULL. NULL when
 * out of memory. */
static char *service_tags(const Alliance__V1__Service *s)
{
	size_t len, i;
	char *tags, *o;

	if (!s)
		return strdup("");
	len = strlen(catalog_category_words(s->category)) + 1;
	for (i = 0; i < s->n_keywords; i++)
		len += strlen(nz(s->keywords[i])) + 1;
	if (!(tags = malloc(len)))
		return NULL;
	o = tags + snprintf(tags, len, "%s", catalog_category_words(s->category));
	for (i = 0; i < s->n_keywords; i++)
		o += snprintf(o, len - (size_t)(o - tags), " %s",
			      nz(s->keywords[i]));
	return tags;
}

/* bind_service: bind the record's fields (empty for a tombstone) to
 * put_service. Returns ERR_OK or ERR_NOMEM. The JSON texts are bound
 * SQLITE_TRANSIENT and freed here. */
static int bind_service(sqlite3_stmt *st, const Alliance__V1__Service *s)
{
	static const Alliance__V1__Service none =
		ALLIANCE__V1__SERVICE__INIT;
	char *audience, *delivery, *languages, *eligible, *keywords, *tags;
	int64_t bits = 0;
	int rc = ERR_OK;

	if (!s)
		s = &none;
	audience = list_json(s->audience, s->n_audience);
	delivery = list_json(s->delivery, s->n_delivery);
	languages = list_json(s->languages, s->n_languages);
	eligible = list_json(s->eligible_communities,
			     s->n_eligible_communities);
	keywords = list_json(s->keywords, s->n_keywords);
	tags = service_tags(s == &none ? NULL : s);
	if (!audience || !delivery || !languages || !eligible || !keywords ||
	    !tags) {
		rc = ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->n_delivery; i++)
		bits |= catalog_delivery_bit(s->delivery[i]);
	sqlite3_bind_text(st, 5, nz(s->title), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, nz(s->summary), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, nz(s->description), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, nz(s->category), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, audience, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 10, delivery, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 11, bits);
	sqlite3_bind_text(st, 12, nz(s->eligibility), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, nz(s->fee), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 14, nz(s->hours), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, nz(s->phone), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, nz(s->address), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 17, languages, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 18, nz(s->status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 19, s->updated);
	sqlite3_bind_text(st, 20, tags, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 21, eligible, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 22, keywords, -1, SQLITE_TRANSIENT);
out:
	free(audience);
	free(delivery);
	free(languages);
	free(eligible);
	free(keywords);
	free(tags);
	return rc;
}

static void bind_announcement(sqlite3_stmt *st,
			      const Alliance__V1__Announcement *a)
{
	static const Alliance__V1__Announcement none =
		ALLIANCE__V1__ANNOUNCEMENT__INIT;

	if (!a)
		a = &none;
	sqlite3_bind_text(st, 5, nz(a->title), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, nz(a->body), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, nz(a->category), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, a->published);
	sqlite3_bind_int64(st, 9, a->expires);
}

/* log_put: give the record of ch a new seq in the log. ERR_OK or ERR_IO. */
static int log_put(struct catalog *cat, const Change *ch)
{
	sqlite3_stmt *st = cat->log_put;
	int rc;

	sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ch->kind);
	sqlite3_bind_text(st, 3, ch->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("catalog: log %s/%s: %s", ch->origin, ch->id,
			  sqlite3_errmsg(cat->db));
		return ERR_IO;
	}
	return ERR_OK;
}

int catalog_log_again(struct catalog *cat, const Change *ch)
{
	return log_put(cat, ch);
}

/* catalog_apply: see catalog.h. Besides the header's rules, the origin
 * must be a community id, the id a record id and the version 1..2^63-1
 * (else ERR_INVALID, nothing stored). A tombstone stores empty fields;
 * the triggers queue its rid, and catalog_index_pending drops it from the
 * search index. */
int catalog_apply(struct catalog *cat, const Change *ch, int log,
		  int *applied)
{
	sqlite3_stmt *st;
	char why[160];
	int service, rc;

	*applied = 0;
	if (!ch || !text_community_valid(ch->origin) ||
	    !text_record_id_valid(ch->id) || ch->version == 0 ||
	    ch->version > (uint64_t)INT64_MAX)
		return ERR_INVALID;
	if (log && catalog_size_check(ch, why, sizeof(why)) != ERR_OK) {
		log_error("catalog: not logged: %s", why);
		return ERR_TOOBIG;      /* it would stop every stream */
	}
	if (directory_kind(ch->kind)) {
		rc = directory_apply(cat->dir, ch, applied);
		return rc == ERR_OK && *applied && log ? log_put(cat, ch) : rc;
	}
	if (ch->kind == ALLIANCE__V1__KIND__KIND_SERVICE)
		service = 1;
	else if (ch->kind == ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT)
		service = 0;
	else
		return ERR_INVALID;
	if (!ch->deleted &&
	    ((service && (ch->body_case != ALLIANCE__V1__CHANGE__BODY_SERVICE
			  || !ch->service)) ||
	     (!service && (ch->body_case !=
			   ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT ||
			   !ch->announcement))))
		return ERR_INVALID;

	st = service ? cat->put_service : cat->put_announcement;
	sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)ch->version);
	sqlite3_bind_int(st, 4, ch->deleted ? 1 : 0);
	if (service) {
		rc = bind_service(st, ch->deleted ? NULL : ch->service);
		if (rc != ERR_OK) {
			sqlite3_clear_bindings(st);
			return rc;
		}
	} else {
		bind_announcement(st, ch->deleted ? NULL : ch->announcement);
	}
	sqlite3_bind_int64(st, service ? 23 : 10,
			   (int64_t)quota_body_bytes(ch));
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("catalog: apply %s/%s: %s", ch->origin, ch->id,
			  sqlite3_errmsg(cat->db));
		return ERR_IO;
	}
	if (sqlite3_changes(cat->db) == 0)
		return ERR_OK;       /* not newer: the rule kept the old one */
	*applied = 1;
	return log ? log_put(cat, ch) : ERR_OK;
}

/* catalog_get: see catalog.h. ERR_INVALID for a kind the catalog does not
 * keep, ERR_NOMEM when the copy cannot be made. */
int catalog_get(struct catalog *cat, const char *origin, int kind,
		const char *id, Change **out)
{
	sqlite3_stmt *st;
	int rc;

	*out = NULL;
	if (directory_kind(kind))
		return origin && id ? directory_get(cat->dir, origin, kind, id,
						    out) : ERR_NOTFOUND;
	if (kind == ALLIANCE__V1__KIND__KIND_SERVICE)
		st = cat->get_service;
	else if (kind == ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT)
		st = cat->get_announcement;
	else
		return ERR_INVALID;
	if (!origin || !id)
		return ERR_NOTFOUND;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = change_from_row(st, kind);
		rc = *out ? ERR_OK : ERR_NOMEM;
	} else if (rc == SQLITE_DONE) {
		rc = ERR_NOTFOUND;
	} else {
		rc = catalog_fail(cat, st, "get");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* step_u64: step a statement returning one integer; 0 on no row or
 * error (logged). Resets the statement. */
static uint64_t step_u64(struct catalog *cat, sqlite3_stmt *st,
			 const char *what)
{
	uint64_t v = 0;
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		log_error("catalog: %s: %s", what, sqlite3_errmsg(cat->db));
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return v;
}

void catalog_sole_writer(struct catalog *cat)
{
	cat->head_cache = 1;
}

uint64_t catalog_log_head(struct catalog *cat)
{
	/* Any write on the connection moves its change count (rolled back
	 * or not, and by triggers too); inside a transaction the answer may
	 * yet be rolled back, so only a read outside one is kept. */
	int keep = cat->head_cache && sqlite3_get_autocommit(cat->db);
	sqlite3_int64 changes = sqlite3_total_changes64(cat->db);
	uint64_t v;

	if (keep && cat->head_known && cat->head_changes == changes)
		return cat->head;
	v = step_u64(cat, cat->log_head, "log head");
	if (keep) {
		cat->head = v;
		cat->head_changes = changes;
		cat->head_known = 1;
	}
	return v;
}

/* raise_sql: AUTOINCREMENT takes the next seq above both the highest in
 * the table and its row of sqlite_sequence, which ordinary statements may
 * write (sqlite's documentation of AUTOINCREMENT); the row is there once
 * the log had an entry. Rare: prepared per call. */
static const char *const raise_sql[] = {
	"UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'catalog_log' AND"
	" seq < ?1",
	"INSERT INTO sqlite_sequence (name, seq) SELECT 'catalog_log', ?1"
	" WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name ="
	" 'catalog_log')",
};

int catalog_log_raise(struct catalog *cat, uint64_t seq)
{
	if (seq > (uint64_t)INT64_MAX)
		return ERR_INVALID;
	for (size_t i = 0; i < sizeof(raise_sql) / sizeof(raise_sql[0]); i++) {
		sqlite3_stmt *st = NULL;
		int rc;

		if (sqlite3_prepare_v2(cat->db, raise_sql[i], -1, &st,
				       NULL) != SQLITE_OK)
			return catalog_fail(cat, st, "raise the log seq");
		sqlite3_bind_int64(st, 1, (int64_t)seq);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE) {
			rc = catalog_fail(cat, st, "raise the log seq");
			sqlite3_finalize(st);
			return rc;
		}
		sqlite3_finalize(st);
	}
	return ERR_OK;
}

/* ---- the search index -------------------------------------------------- */

/* ix_step_upto: bind last to st, step it to completion, reset. Returns
 * ERR_OK or ERR_IO (logged). */
static int ix_step_upto(struct catalog *cat, sqlite3_stmt *st, int64_t last,
			const char *what)
{
	int rc;

	sqlite3_bind_int64(st, 1, last);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("catalog: index %s up to rid %lld: %s", what,
			  (long long)last, sqlite3_errmsg(cat->db));
		return ERR_IO;
	}
	return ERR_OK;
}

/* catalog_index_pending: see catalog.h. The chunk is every queued rid up
 * to the limit-th lowest, handled by three statements over that range
 * rather than three per rid: each INSERT ... SELECT or DELETE opens a
 * statement savepoint, at which FTS5 writes its pending terms out as a
 * new segment, so a statement per rid wrote a segment per row (merged
 * again by automerge): ~54 us a row, against ~20 with a few hundred rows
 * a statement (100,000 fresh rows, chunks of 400). Deleting rids never
 * indexed finds nothing and costs little. The caller's write transaction
 * keeps the queue still between the statements. */
int catalog_index_pending(struct catalog *cat, size_t limit, size_t *done)
{
	int64_t last;
	int rc;

	*done = 0;
	if (limit == 0)
		return ERR_OK;
	if (limit > (uint64_t)INT64_MAX)
		limit = (uint64_t)INT64_MAX;
	sqlite3_bind_int64(cat->ix_last, 1, (int64_t)limit);
	rc = sqlite3_step(cat->ix_last);
	if (rc != SQLITE_ROW) {
		rc = catalog_fail(cat, cat->ix_last, "index queue");
		sqlite3_clear_bindings(cat->ix_last);
		return rc;
	}
	if (sqlite3_column_type(cat->ix_last, 0) == SQLITE_NULL) {
		sqlite3_reset(cat->ix_last);
		sqlite3_clear_bindings(cat->ix_last);
		return ERR_OK;       /* nothing queued */
	}
	last = sqlite3_column_int64(cat->ix_last, 0);
	sqlite3_reset(cat->ix_last);
	sqlite3_clear_bindings(cat->ix_last);
	if (ix_step_upto(cat, cat->ix_log, last, "log") ||
	    ix_step_upto(cat, cat->ix_unindex, last, "delete") ||
	    ix_step_upto(cat, cat->ix_index, last, "insert") ||
	    ix_step_upto(cat, cat->ix_dequeue, last, "dequeue"))
		return ERR_IO;
	*done = (size_t)sqlite3_changes(cat->db);
	if ((rc = sqlite3_step(cat->ix_bump)) != SQLITE_DONE)
		return catalog_fail(cat, cat->ix_bump, "index_gen");
	sqlite3_reset(cat->ix_bump);
	if ((rc = sqlite3_step(cat->ix_prune)) != SQLITE_DONE)
		return catalog_fail(cat, cat->ix_prune, "index_change");
	sqlite3_reset(cat->ix_prune);
	return ERR_OK;
}

/* catalog_index_idle: see catalog.h; a store error counts as busy, so a
 * caller never caches an answer it cannot vouch for. */
int catalog_index_idle(struct catalog *cat)
{
	int rc = sqlite3_step(cat->ix_any), idle = 0;

	if (rc == SQLITE_ROW)
		idle = sqlite3_column_int(cat->ix_any, 0) == 0;
	else
		log_error("catalog: index queue: %s", sqlite3_errmsg(cat->db));
	sqlite3_reset(cat->ix_any);
	return idle;
}

/* catalog_index_gen: see catalog.h. */
int catalog_index_gen(struct catalog *cat, int64_t *gen)
{
	int rc = sqlite3_step(cat->ix_gen);

	*gen = rc == SQLITE_ROW ? sqlite3_column_int64(cat->ix_gen, 0) : 0;
	if (rc != SQLITE_ROW)
		log_error("catalog: index generation: %s",
			  sqlite3_errmsg(cat->db));
	sqlite3_reset(cat->ix_gen);
	return rc == SQLITE_ROW ? ERR_OK : ERR_IO;
}

/* catalog_log_batch: see catalog.h. */
int catalog_log_batch(struct catalog *cat, uint64_t after,
		      const char *skip_origin, size_t limit, Change ***out,
		      size_t *n, uint64_t *last)
{
	return catalog_log_batch_kinds(cat, after, skip_origin, INT_MAX, limit,
				       LIMIT_BATCH_BYTES, out, n, last);
}

/* catalog_log_batch_kinds: see catalog.h. The head is read first and the
 * range read up to it, so *last never passes an entry this call did not
 * look at. When fewer than limit entries come back and the bytes did not
 * run out, every entry up to the head was looked at and *last is the
 * head. A change that would take the batch past max_bytes is not taken
 * (nor looked at: *last stays before it), unless it is the first. */
int catalog_log_batch_kinds(struct catalog *cat, uint64_t after,
			    const char *skip_origin, int max_kind,
			    size_t limit, size_t max_bytes, Change ***out,
			    size_t *n, uint64_t *last)
{
	sqlite3_stmt *st = cat->log_range;
	Change **batch = NULL;
	uint64_t head;
	size_t count = 0, bytes = WIRE_BATCH_OVERHEAD;
	int rc, full = 0;

	*out = NULL;
	*n = 0;
	*last = after;
	if (limit == 0)
		return ERR_OK;
	if (limit > LIMIT_BATCH * 64)
		limit = LIMIT_BATCH * 64;
	head = catalog_log_head(cat);
	if (head <= after)
		return ERR_OK;
	batch = calloc(limit, sizeof(*batch));
	if (!batch)
		return ERR_NOMEM;
	sqlite3_bind_int64(st, 1, (int64_t)after);
	sqlite3_bind_int64(st, 2, (int64_t)head);
	if (skip_origin)
		sqlite3_bind_text(st, 3, skip_origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)limit);
	sqlite3_bind_int(st, 5, max_kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		const char *origin = (const char *)sqlite3_column_text(st, 1);
		int kind = sqlite3_column_int(st, 2);
		const char *id = (const char *)sqlite3_column_text(st, 3);
		Change *ch = NULL;
		int grc;

		grc = catalog_get(cat, origin, kind, id, &ch);
		if (grc == ERR_NOTFOUND || grc == ERR_INVALID) {
			*last = seq;
			continue;    /* a log entry of no record: skip it */
		}
		if (grc != ERR_OK) {
			rc = grc;
			goto err;
		}
		ch->seq = seq;
		if (!wire_batch_take(&bytes, count, ch, max_bytes)) {
			catalog_change_free(&ch);
			full = 1;
			rc = SQLITE_DONE;
			break;
		}
		*last = seq;
		batch[count++] = ch;
	}
	if (rc != SQLITE_DONE) {
		rc = catalog_fail(cat, st, "log batch");
		goto err;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (count < limit && !full)
		*last = head;
	*out = batch;
	*n = count;
	if (count == 0) {
		free(batch);
		*out = NULL;
	}
	return ERR_OK;
err:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	catalog_batch_free(&batch, count);
	*last = after;
	return rc;
}

/* ---- sizes: what a community's quota counts ------------------------------ */

int catalog_record_size(struct catalog *cat, const char *origin, int kind,
			const char *id, int *live, uint64_t *bytes)
{
	sqlite3_stmt *st;
	int rc;

	*live = 0;
	*bytes = 0;
	if (kind != ALLIANCE__V1__KIND__KIND_SERVICE &&
	    kind != ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT)
		return ERR_OK;
	st = cat->size[kind == ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT];
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*live = sqlite3_column_int(st, 0) == 0;
		*bytes = (uint64_t)sqlite3_column_int64(st, 1);
		rc = ERR_OK;
	} else if (rc == SQLITE_DONE) {
		rc = ERR_OK;
	} else {
		rc = catalog_fail(cat, st, "record size");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

int catalog_usage(struct catalog *cat, const char *origin,
		  uint64_t *records, uint64_t *bytes)
{
	sqlite3_stmt *st = cat->usage;
	int rc;

	*records = *bytes = 0;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*records = (uint64_t)sqlite3_column_int64(st, 0);
		*bytes = (uint64_t)sqlite3_column_int64(st, 1);
		rc = ERR_OK;
	} else {
		rc = catalog_fail(cat, st, "usage");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* measure_sql: live rows written before body_bytes was kept (a live
 * record's body is never empty: a title is required). */
static const char *const measure_sql[2][2] = {
	{ "SELECT origin, id FROM service WHERE deleted = 0 AND"
	  " body_bytes = 0 LIMIT 1000",
	  "UPDATE service SET body_bytes = ?3 WHERE origin = ?1 AND id = ?2" },
	{ "SELECT origin, id FROM announcement WHERE deleted = 0 AND"
	  " body_bytes = 0 LIMIT 1000",
	  "UPDATE announcement SET body_bytes = ?3 WHERE origin = ?1 AND"
	  " id = ?2" },
};

/* measure_row: store the body bytes of sel's row (origin, id) of kind
 * with upd; at least 1, so that each row is measured once. */
static int measure_row(struct catalog *cat, int kind, sqlite3_stmt *sel,
		       sqlite3_stmt *upd)
{
	const char *origin = (const char *)sqlite3_column_text(sel, 0);
	const char *id = (const char *)sqlite3_column_text(sel, 1);
	Change *ch = NULL;
	uint64_t size;
	int rc = catalog_get(cat, origin, kind, id, &ch);

	if (rc != ERR_OK)
		return rc;
	size = quota_body_bytes(ch);
	sqlite3_bind_text(upd, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(upd, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(upd, 3, (int64_t)(size ? size : 1));
	rc = sqlite3_step(upd) == SQLITE_DONE ? ERR_OK : ERR_IO;
	sqlite3_reset(upd);
	catalog_change_free(&ch);
	return rc;
}

int catalog_measure(struct catalog *cat, uint64_t *measured)
{
	int kinds[2] = { ALLIANCE__V1__KIND__KIND_SERVICE,
			 ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT };
	int rc = ERR_OK;

	*measured = 0;
	for (int k = 0; rc == ERR_OK && k < 2; k++) {
		sqlite3_stmt *sel = NULL, *upd = NULL;
		uint64_t round;

		if (sqlite3_prepare_v2(cat->db, measure_sql[k][0], -1, &sel,
				       NULL) != SQLITE_OK ||
		    sqlite3_prepare_v2(cat->db, measure_sql[k][1], -1, &upd,
				       NULL) != SQLITE_OK)
			rc = ERR_IO;
		do {
			round = 0;
			while (rc == ERR_OK &&
			       sqlite3_step(sel) == SQLITE_ROW) {
				rc = measure_row(cat, kinds[k], sel, upd);
				round++;
			}
			sqlite3_reset(sel);
			*measured += round;
		} while (rc == ERR_OK && round);
		sqlite3_finalize(sel);
		sqlite3_finalize(upd);
	}
	if (rc != ERR_OK)
		log_error("catalog: measuring records: %s",
			  sqlite3_errmsg(cat->db));
	return rc;
}

/* ---- counts ------------------------------------------------------------- */

/* purge_sql: tombstones first (their log entries say how old they are),
 * then the log entries left pointing at nothing. Rare: prepared per call. */
static const char *const purge_sql[] = {
	"DELETE FROM service WHERE deleted = 1 AND EXISTS (SELECT 1 FROM"
	" catalog_log l WHERE l.kind = 1 AND l.origin = service.origin AND"
	" l.id = service.id AND l.seq <= ?1)",
	"DELETE FROM announcement WHERE deleted = 1 AND EXISTS (SELECT 1 FROM"
	" catalog_log l WHERE l.kind = 2 AND l.origin = announcement.origin"
	" AND l.id = announcement.id AND l.seq <= ?1)",
	"DELETE FROM directory WHERE deleted = 1 AND EXISTS (SELECT 1 FROM"
	" catalog_log l WHERE l.kind = directory.kind AND l.origin ="
	" directory.origin AND l.id = directory.id AND l.seq <= ?1)",
	"DELETE FROM catalog_log WHERE seq <= ?1 AND NOT EXISTS (SELECT 1"
	" FROM service s WHERE catalog_log.kind = 1 AND s.origin ="
	" catalog_log.origin AND s.id = catalog_log.id) AND NOT EXISTS"
	" (SELECT 1 FROM announcement a WHERE catalog_log.kind = 2 AND"
	" a.origin = catalog_log.origin AND a.id = catalog_log.id) AND NOT"
	" EXISTS (SELECT 1 FROM directory d WHERE d.kind = catalog_log.kind"
	" AND d.origin = catalog_log.origin AND d.id = catalog_log.id)",
};

int catalog_purge_tombstones(struct catalog *cat, uint64_t upto,
			     uint64_t *purged)
{
	size_t i;

	*purged = 0;
	for (i = 0; i < sizeof(purge_sql) / sizeof(purge_sql[0]); i++) {
		sqlite3_stmt *st = NULL;
		int rc;

		if (sqlite3_prepare_v2(cat->db, purge_sql[i], -1, &st,
				       NULL) != SQLITE_OK)
			return catalog_fail(cat, st, "purge tombstones");
		sqlite3_bind_int64(st, 1, (int64_t)upto);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE) {
			rc = catalog_fail(cat, st, "purge tombstones");
			sqlite3_finalize(st);
			return rc;
		}
		if (i < 3)
			*purged += (uint64_t)sqlite3_changes(cat->db);
		sqlite3_finalize(st);
	}
	return ERR_OK;
}

uint64_t catalog_max_version(struct catalog *cat, const char *origin)
{
	if (!origin)
		return 0;
	sqlite3_bind_text(cat->max_version, 1, origin, -1, SQLITE_STATIC);
	return step_u64(cat, cat->max_version, "max version");
}

uint64_t catalog_count(struct catalog *cat, const char *origin, int kind)
{
	sqlite3_stmt *st;
	int ann;

	if (kind == ALLIANCE__V1__KIND__KIND_SERVICE)
		ann = 0;
	else if (kind == ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT)
		ann = 1;
	else
		return 0;
	st = cat->count[ann][origin != NULL];
	if (origin)
		sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	return step_u64(cat, st, "count");
}

/* catalog_directory_each: see catalog.h. */
int catalog_directory_each(struct catalog *cat, int kind,
			   void (*fn)(const Change *ch, void *arg), void *arg)
{
	if (!directory_kind(kind))
		return ERR_INVALID;
	return directory_each(cat->dir, kind, fn, arg);
}

/* catalog_row_json: the API object of the current row of st
 * (ANNOUNCEMENT_COLS for an announcement), a new reference, NULL when out
 * of memory. */
static json_t *catalog_row_json(sqlite3_stmt *st, int kind)
{
	Change *ch = change_from_row(st, kind);
	json_t *j = catalog_change_json(ch);

	catalog_change_free(&ch);
	return j;
}

/* ---- search ------------------------------------------------------------- */

/* catalog_search: see catalog.h; catalog_search.c does it. */
int catalog_search(struct catalog *cat, const struct catalog_query *q,
		   char **body, size_t *len, char *why, size_t whylen)
{
	return finder_search(cat->finder, q, body, len, why, whylen);
}

/* catalog_search_share: see catalog.h. */
void catalog_search_share(struct catalog *from, struct catalog *to)
{
	finder_share(from->finder, to->finder);
}

/* ---- announcements ------------------------------------------------------ */

/* catalog_announcements: see catalog.h. limit outside 1..100 becomes the
 * default 20 (below 1) or 100. */
int catalog_announcements(struct catalog *cat, int64_t now,
			  const char *community, const char *prefer,
			  int limit, json_t **out)
{
	sqlite3_stmt *st = cat->announcements;
	json_t *items;
	int rc;

	*out = NULL;
	if (limit < 1)
		limit = CATALOG_LIMIT_DEFAULT;
	if (limit > CATALOG_LIMIT_MAX)
		limit = CATALOG_LIMIT_MAX;
	items = json_array();
	if (!items)
		return ERR_NOMEM;
	sqlite3_bind_int64(st, 1, now);
	if (community)
		sqlite3_bind_text(st, 2, community, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit);
	if (prefer)
		sqlite3_bind_text(st, 4, prefer, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *item = catalog_row_json(st,
					ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT);

		if (!item || json_array_append_new(items, item) != 0) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			json_decref(items);
			return ERR_NOMEM;
		}
	}
	if (rc != SQLITE_DONE) {
		json_decref(items);
		return catalog_fail(cat, st, "announcements");
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	*out = json_pack("{s:o}", "items", items);
	return *out ? ERR_OK : ERR_NOMEM;
}
