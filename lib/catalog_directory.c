/* catalog_directory.c: the directory table: the hub's community directory
 * and synonyms, stored under the version rule like every record and
 * replicated to each node (catalog_directory.h).
 *
 * Parts: statements; packing bodies; apply; get; iteration. */
#include "catalog_directory.h"

#include "err.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct catalog_directory {
	sqlite3 *db;
	sqlite3_stmt *put;            /* upsert under the version rule */
	sqlite3_stmt *get;            /* by (origin, kind, id) */
	sqlite3_stmt *each;           /* live records of a kind, by id */
};

/* ---- statements ---------------------------------------------------------- */

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
			       NULL) != SQLITE_OK) {
		log_error("catalog: directory: prepare: %s (is the catalog "
			  "schema migrated?)", sqlite3_errmsg(db));
		return ERR_IO;
	}
	return ERR_OK;
}

int directory_open(sqlite3 *db, struct catalog_directory **out)
{
	struct catalog_directory *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return ERR_NOMEM;
	d->db = db;
	if (prepare(db, "INSERT INTO directory (origin, kind, id, version,"
		    " deleted, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		    " ON CONFLICT (origin, kind, id) DO UPDATE SET"
		    " version = excluded.version, deleted = excluded.deleted,"
		    " body = excluded.body"
		    " WHERE excluded.version > directory.version",
		    &d->put) != ERR_OK ||
	    prepare(db, "SELECT version, deleted, body FROM directory"
		    " WHERE origin = ?1 AND kind = ?2 AND id = ?3",
		    &d->get) != ERR_OK ||
	    prepare(db, "SELECT origin, id, version, body FROM directory"
		    " WHERE kind = ?1 AND deleted = 0 ORDER BY origin, id",
		    &d->each) != ERR_OK) {
		directory_close(&d);
		return ERR_IO;
	}
	*out = d;
	return ERR_OK;
}

void directory_close(struct catalog_directory **d)
{
	if (!d || !*d)
		return;
	sqlite3_finalize((*d)->put);
	sqlite3_finalize((*d)->get);
	sqlite3_finalize((*d)->each);
	free(*d);
	*d = NULL;
}

int directory_kind(int kind)
{
	return kind == ALLIANCE__V1__KIND__KIND_COMMUNITY ||
	       kind == ALLIANCE__V1__KIND__KIND_SEARCH_WORDS;
}

/* ---- packing bodies -------------------------------------------------------- */

/* pack_body: ch's body packed (malloc'd, *len bytes), NULL for a tombstone
 * (*len 0). ERR_OK, ERR_INVALID (no body of its kind) or ERR_NOMEM. */
static int pack_body(const Change *ch, uint8_t **buf, size_t *len)
{
	const ProtobufCMessage *m = NULL;

	*buf = NULL;
	*len = 0;
	if (ch->deleted)
		return ERR_OK;
	if (ch->kind == ALLIANCE__V1__KIND__KIND_COMMUNITY &&
	    ch->body_case == ALLIANCE__V1__CHANGE__BODY_COMMUNITY)
		m = &ch->community->base;
	else if (ch->kind == ALLIANCE__V1__KIND__KIND_SEARCH_WORDS &&
		 ch->body_case == ALLIANCE__V1__CHANGE__BODY_SEARCH_WORDS)
		m = &ch->search_words->base;
	if (!m)
		return ERR_INVALID;
	*len = protobuf_c_message_get_packed_size(m);
	if (!(*buf = malloc(*len ? *len : 1)))
		return ERR_NOMEM;
	protobuf_c_message_pack(m, *buf);
	return ERR_OK;
}

/* unpack_body: set ch's body (kind already set) from a packed blob.
 * ERR_OK, or ERR_IO when the stored bytes do not decode. */
static int unpack_body(Change *ch, const void *blob, size_t len)
{
	if (ch->kind == ALLIANCE__V1__KIND__KIND_COMMUNITY) {
		ch->community = alliance__v1__community__unpack(NULL, len,
								blob);
		ch->body_case = ALLIANCE__V1__CHANGE__BODY_COMMUNITY;
		return ch->community ? ERR_OK : ERR_IO;
	}
	ch->search_words = alliance__v1__search_words__unpack(NULL, len, blob);
	ch->body_case = ALLIANCE__V1__CHANGE__BODY_SEARCH_WORDS;
	return ch->search_words ? ERR_OK : ERR_IO;
}

/* ---- apply ---------------------------------------------------------------- */

int directory_apply(struct catalog_directory *d, const Change *ch,
		    int *applied)
{
	sqlite3_stmt *st = d->put;
	uint8_t *body;
	size_t len;
	int rc;

	*applied = 0;
	if ((rc = pack_body(ch, &body, &len)) != ERR_OK)
		return rc;
	sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ch->kind);
	sqlite3_bind_text(st, 3, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)ch->version);
	sqlite3_bind_int(st, 5, ch->deleted ? 1 : 0);
	if (body)
		sqlite3_bind_blob(st, 6, body, (int)len, free);
	else
		sqlite3_bind_null(st, 6);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("catalog: directory %s/%s: %s", ch->origin, ch->id,
			  sqlite3_errmsg(d->db));
		return ERR_IO;
	}
	*applied = sqlite3_changes(d->db) > 0;
	return ERR_OK;
}

/* ---- get ------------------------------------------------------------------ */

/* change_new: a new Change of (origin, kind, id, version) with no body, or
 * NULL. */
static Change *change_new(const char *origin, int kind, const char *id,
			  uint64_t version)
{
	Change *ch = malloc(sizeof(*ch));

	if (!ch)
		return NULL;
	alliance__v1__change__init(ch);
	ch->kind = kind;
	ch->version = version;
	ch->origin = strdup(origin);
	ch->id = strdup(id);
	if (!ch->origin || !ch->id) {
		alliance__v1__change__free_unpacked(ch, NULL);
		return NULL;
	}
	return ch;
}

int directory_get(struct catalog_directory *d, const char *origin, int kind,
		  const char *id, Change **out)
{
	sqlite3_stmt *st = d->get;
	Change *ch;
	int rc;

	*out = NULL;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = ERR_NOTFOUND;
	} else if (rc != SQLITE_ROW) {
		log_error("catalog: directory get: %s", sqlite3_errmsg(d->db));
		rc = ERR_IO;
	} else if (!(ch = change_new(origin, kind, id,
			(uint64_t)sqlite3_column_int64(st, 0)))) {
		rc = ERR_NOMEM;
	} else {
		ch->deleted = sqlite3_column_int(st, 1) != 0;
		rc = ch->deleted ? ERR_OK : unpack_body(ch,
			sqlite3_column_blob(st, 2),
			(size_t)sqlite3_column_bytes(st, 2));
		if (rc == ERR_OK)
			*out = ch;
		else
			alliance__v1__change__free_unpacked(ch, NULL);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* ---- iteration -------------------------------------------------------------- */

int directory_each(struct catalog_directory *d, int kind,
		   void (*fn)(const Change *ch, void *arg), void *arg)
{
	sqlite3_stmt *st = d->each;
	int rc;

	sqlite3_bind_int(st, 1, kind);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		Change *ch = change_new(
			(const char *)sqlite3_column_text(st, 0), kind,
			(const char *)sqlite3_column_text(st, 1),
			(uint64_t)sqlite3_column_int64(st, 2));

		if (ch && unpack_body(ch, sqlite3_column_blob(st, 3),
				      (size_t)sqlite3_column_bytes(st, 3)) ==
			  ERR_OK)
			fn(ch, arg);
		if (ch)
			alliance__v1__change__free_unpacked(ch, NULL);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		log_error("catalog: directory: %s", sqlite3_errmsg(d->db));
		return ERR_IO;
	}
	return ERR_OK;
}
