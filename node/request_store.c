/* request_store.c: a node's service requests in sqlite (request_store.h):
 * the statements, prepared once into struct request_store from one table
 * of (field, SQL) rows, and the rows read into struct request_row.
 *
 * Parts: schema; statements; rows; writes; reads; steps. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "request_store.h"
#include "store_stmt.h"

/* A step's status: a request status, submitted, delivered or withdrawn. */
#define STEP_STATUS_MAX 32

/* ---- schema ------------------------------------------------------------------ */

/* request_step: version 0 is the submission, 1 the receipt, others the
 * version of the status or withdrawal that made the step. */
const char request_schema_v2[] =
	"ALTER TABLE request ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE request ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE request ADD COLUMN preferred TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE request ADD COLUMN relative_name TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE request ADD COLUMN relative_phone TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE request_step ("
	"  origin TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  status TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  notes TEXT NOT NULL DEFAULT '',"
	"  scheduled INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (origin, id, version)"
	") WITHOUT ROWID;";

/* ---- statements ----------------------------------------------------------- */

/* The columns row_read reads, in the order of enum col. */
#define COLS "origin, id, owner, service_id, service_name, description," \
	" status, notes, scheduled, requested, updated, name, phone, email," \
	" address, has_location, lat, lon, token_hash, resident, withdrawn," \
	" delivered, preferred, relative_name, relative_phone, erased, urgent"

enum col { C_ORIGIN, C_ID, C_OWNER, C_SERVICE_ID, C_SERVICE_NAME, C_DESC,
	   C_STATUS, C_NOTES, C_SCHEDULED, C_REQUESTED, C_UPDATED, C_NAME,
	   C_PHONE, C_EMAIL, C_ADDRESS, C_HAS_LOCATION, C_LAT, C_LON,
	   C_TOKEN_HASH, C_RESIDENT, C_WITHDRAWN, C_DELIVERED, C_PREFERRED,
	   C_REL_NAME, C_REL_PHONE, C_ERASED, C_URGENT, C_COUNT };

/* Whether a request row is closed: done, declined or withdrawn. */
#define CLOSED "(status IN ('done', 'declined') OR withdrawn > 0)"
/* When we received it: the receipt's time (our clock), else the origin's
 * requested time (rows from before receipts were kept). */
#define RECEIVED "CASE WHEN delivered > 0 THEN delivered ELSE requested END"

struct request_store {
	sqlite3 *db;                  /* the caller's connection (first:
					 store_stmts_new sets it) */
	sqlite3_stmt *add;            /* a new request of ours */
	sqlite3_stmt *apply;          /* the hub's, under the version rule */
	sqlite3_stmt *get;            /* by (origin, id) */
	sqlite3_stmt *find;           /* by id, one origin first */
	sqlite3_stmt *owned;          /* origin, withdrawn, delivered */
	sqlite3_stmt *owner_is;       /* owner = ?3 of (origin, id) */
	sqlite3_stmt *sent;           /* count sent to owner since */
	sqlite3_stmt *list;           /* the public listing */
	sqlite3_stmt *mine;           /* a resident's, newest first */
	sqlite3_stmt *ids_of;         /* the ids of a resident's */
	sqlite3_stmt *queue;          /* an owner's queue, a page */
	sqlite3_stmt *counts;         /* an owner's queue by origin */
	sqlite3_stmt *open_count;     /* open requests in an owner's queue */
	sqlite3_stmt *status;         /* a status, maybe only a newer one */
	sqlite3_stmt *decline;        /* refused by the hub */
	sqlite3_stmt *version;        /* a newer version of ours */
	sqlite3_stmt *erase;          /* personal fields blanked */
	sqlite3_stmt *unlink;         /* no longer a resident's */
	sqlite3_stmt *step_put;       /* a step, kept when there */
	sqlite3_stmt *steps;          /* the steps, oldest first */
	sqlite3_stmt *urgent;         /* first in the queue while open */
};

#define STMT(field) offsetof(struct request_store, field)
static const struct store_stmt request_sql[] = {
	{ STMT(add), "INSERT INTO request (origin, id, owner, service_id,"
	  " service_name, description, name, phone, email, address,"
	  " has_location, lat, lon, token_hash, resident, requested, version,"
	  " updated, preferred, delivered, relative_name, relative_phone)"
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
	  " ?14, ?15, ?16, ?17, ?16, ?18, ?19, ?20, ?21)" },
	/* a withdrawal keeps what the owner had; it only marks the row */
	{ STMT(apply), "INSERT INTO request (origin, id, owner, service_id,"
	  " service_name, description, name, phone, email, address,"
	  " has_location, lat, lon, requested, version, updated, preferred,"
	  " withdrawn, delivered, relative_name, relative_phone) VALUES (?1,"
	  " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
	  " ?17, ?18, ?16, ?19, ?20) ON CONFLICT (origin, id) DO UPDATE SET"
	  " withdrawn = max(request.withdrawn, excluded.withdrawn), updated ="
	  " excluded.updated, version = excluded.version WHERE"
	  " excluded.version > request.version" },
	{ STMT(get), "SELECT " COLS " FROM request WHERE origin = ?1 AND"
	  " id = ?2" },
	{ STMT(find), "SELECT " COLS " FROM request WHERE id = ?1 ORDER BY"
	  " origin = ?2 DESC LIMIT 1" },
	{ STMT(owned), "SELECT origin, withdrawn, delivered FROM request"
	  " WHERE owner = ?1 AND id = ?2" },
	{ STMT(owner_is), "SELECT owner = ?3 FROM request WHERE origin = ?1"
	  " AND id = ?2" },
	{ STMT(sent), "SELECT count(*) FROM request WHERE owner = ?1 AND"
	  " origin = ?2 AND requested > ?3" },
	{ STMT(list), "SELECT " COLS " FROM request WHERE CASE WHEN ?1 IS"
	  " NOT NULL THEN id IN (SELECT value FROM json_each(?1)) ELSE (?2 IS"
	  " NULL OR owner || '.' || service_id IN (SELECT value FROM"
	  " json_each(?2))) AND (?3 = 0 OR requested >= ?3) AND (?4 = 0 OR"
	  " requested <= ?4) AND (?5 = 0 OR (?5 = 2) = " CLOSED ") END"
	  " AND NOT (service_id = '" CHECKIN_SERVICE_ID "' AND origin ="
	  " owner) ORDER BY " RECEIVED " DESC LIMIT ?6" },
	{ STMT(mine), "SELECT " COLS " FROM request WHERE origin = ?1 AND"
	  " resident = ?2 ORDER BY requested DESC, id LIMIT ?3" },
	{ STMT(ids_of), "SELECT id FROM request WHERE origin = ?1 AND"
	  " resident = ?2" },
	/* open first, urgent ones (a check-in's "needs help") before the
	 * rest, by turn among its origin's (open or closed) requests:
	 * every origin's longest-waiting request, the owner's own first, then
	 * every origin's second...; so a flood from one origin takes its
	 * turns and no more. Closed last, the latest change first. */
	{ STMT(queue), "SELECT " COLS ", received FROM (SELECT " COLS ", "
	  CLOSED " AS closed, " RECEIVED " AS received, row_number() OVER"
	  " (PARTITION BY origin, " CLOSED " ORDER BY " RECEIVED ", id) AS"
	  " turn FROM request WHERE owner = ?1) ORDER BY closed, CASE WHEN"
	  " closed THEN 0 ELSE urgent END DESC, CASE WHEN"
	  " closed THEN 0 ELSE turn END, origin <> ?1, CASE WHEN closed THEN"
	  " -updated ELSE received END, origin, id LIMIT ?2 OFFSET ?3" },
	{ STMT(counts), "SELECT origin, count(*), coalesce(sum(NOT " CLOSED
	  "), 0) FROM request WHERE owner = ?1 GROUP BY origin ORDER BY 3"
	  " DESC, 2 DESC, origin" },
	{ STMT(open_count), "SELECT count(*) FROM request WHERE owner = ?1"
	  " AND NOT " CLOSED },
	{ STMT(status), "UPDATE request SET status = ?3, notes = ?4,"
	  " scheduled = ?5, updated = ?6, status_version = ?7, delivered ="
	  " CASE WHEN ?8 > 0 THEN ?8 ELSE delivered END WHERE origin = ?1 AND"
	  " id = ?2 AND (?9 = 0 OR status_version < ?7)" },
	{ STMT(decline), "UPDATE request SET status = 'declined', notes = ?3,"
	  " updated = ?4 WHERE origin = ?1 AND id = ?2" },
	{ STMT(version), "UPDATE request SET withdrawn = ?3, version = ?4,"
	  " updated = ?5 WHERE origin = ?1 AND id = ?2" },
	{ STMT(erase), "UPDATE request SET name = '', phone = '', email = '',"
	  " address = '', has_location = 0, lat = NULL, lon = NULL,"
	  " relative_name = '', relative_phone = '', erased = 1 WHERE origin ="
	  " ?1 AND id = ?2" },
	{ STMT(unlink), "UPDATE request SET resident = NULL WHERE resident ="
	  " ?1" },
	{ STMT(step_put), "INSERT OR IGNORE INTO request_step (origin, id,"
	  " version, status, at, notes, scheduled) VALUES (?1, ?2, ?3, ?4,"
	  " ?5, ?6, ?7)" },
	{ STMT(steps), "SELECT status, at, notes, scheduled FROM request_step"
	  " WHERE origin = ?1 AND id = ?2 ORDER BY at, version" },
	{ STMT(urgent), "UPDATE request SET urgent = 1 WHERE origin = ?1 AND"
	  " id = ?2" },
};
#undef STMT

#define N_SQL (sizeof(request_sql) / sizeof(request_sql[0]))

int request_store_open(sqlite3 *db, struct request_store **out)
{
	int rc;

	*out = store_stmts_new(db, sizeof(**out), request_sql, N_SQL, "requests",
			       &rc);
	return rc;
}

void request_store_close(struct request_store **rs)
{
	if (!rs)
		return;
	store_stmts_free(*rs, request_sql, N_SQL);
	*rs = NULL;
}

/* done: reset st after its last step; ERR_OK when rc is SQLITE_DONE (or
 * a row), else ERR_IO, logged. */
static int done(struct request_store *rs, sqlite3_stmt *st, int rc)
{
	return store_stmt_done(rs->db, st, rc, "requests");
}

/* over: 1 when s is longer than max bytes. */
static int over(const char *s, size_t max)
{
	return s && strlen(s) > max;
}

/* request_too_long: 1 when a field of ch's request is over its limit
 * (service names come from our own catalog, held to its limits). */
static int request_too_long(const Change *ch)
{
	const Alliance__V1__Request *r = ch->request;

	return !r || over(ch->origin, LIMIT_COMMUNITY_ID) ||
	       over(ch->id, LIMIT_RECORD_ID) ||
	       over(r->owner, LIMIT_COMMUNITY_ID) ||
	       over(r->service_id, LIMIT_RECORD_ID) ||
	       over(r->description, RELAY_DESCRIPTION_BYTES) ||
	       over(r->name, RELAY_NAME_MAX) ||
	       over(r->phone, RELAY_PHONE_MAX) ||
	       over(r->email, RELAY_EMAIL_MAX) ||
	       over(r->address, RELAY_ADDRESS_MAX) ||
	       over(r->preferred, RELAY_PREFERRED_MAX) ||
	       over(r->relative_name, RELAY_NAME_MAX) ||
	       over(r->relative_phone, RELAY_PHONE_MAX);
}

/* ---- rows ------------------------------------------------------------------ */

/* text: a copy of column i ("" for NULL), or NULL out of memory. */
static char *text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return strdup(s ? s : "");
}

/* row_read: the current row of st (COLS first) into row. ERR_OK or
 * ERR_NOMEM (row freed). */
static int row_read(sqlite3_stmt *st, struct request_row *row)
{
	struct { char **to; int col; } s[] = {
		{ &row->origin, C_ORIGIN }, { &row->id, C_ID },
		{ &row->owner, C_OWNER }, { &row->service_id, C_SERVICE_ID },
		{ &row->service_name, C_SERVICE_NAME },
		{ &row->description, C_DESC }, { &row->status, C_STATUS },
		{ &row->notes, C_NOTES }, { &row->name, C_NAME },
		{ &row->phone, C_PHONE }, { &row->email, C_EMAIL },
		{ &row->address, C_ADDRESS }, { &row->preferred, C_PREFERRED },
		{ &row->relative_name, C_REL_NAME },
		{ &row->relative_phone, C_REL_PHONE },
	};

	memset(row, 0, sizeof(*row));
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (!(*s[i].to = text(st, s[i].col))) {
			request_row_free(row);
			return ERR_NOMEM;
		}
	row->scheduled = sqlite3_column_int64(st, C_SCHEDULED);
	row->requested = sqlite3_column_int64(st, C_REQUESTED);
	row->updated = sqlite3_column_int64(st, C_UPDATED);
	row->withdrawn = sqlite3_column_int64(st, C_WITHDRAWN);
	row->delivered = sqlite3_column_int64(st, C_DELIVERED);
	row->has_location = sqlite3_column_int(st, C_HAS_LOCATION);
	row->lat = sqlite3_column_double(st, C_LAT);
	row->lon = sqlite3_column_double(st, C_LON);
	row->has_token = sqlite3_column_bytes(st, C_TOKEN_HASH) == 32;
	if (row->has_token)
		memcpy(row->token_hash, sqlite3_column_blob(st, C_TOKEN_HASH),
		       32);
	row->resident = sqlite3_column_int64(st, C_RESIDENT);
	row->erased = sqlite3_column_int(st, C_ERASED);
	row->urgent = sqlite3_column_int(st, C_URGENT);
	return ERR_OK;
}

void request_row_free(struct request_row *row)
{
	char **s[] = {
		&row->origin, &row->id, &row->owner, &row->service_id,
		&row->service_name, &row->description, &row->status,
		&row->notes, &row->name, &row->phone, &row->email,
		&row->address, &row->preferred, &row->relative_name,
		&row->relative_phone,
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		free(*s[i]);
	memset(row, 0, sizeof(*row));
}

/* each_row: step st to its end, each row read and given to each (with
 * the column after COLS when extra) until it says stop. ERR_OK, ERR_NOMEM
 * or ERR_IO; st reset. */
static int each_row(struct request_store *rs, sqlite3_stmt *st,
		    request_each_fn each, request_queue_fn each_q, void *arg)
{
	struct request_row row;
	int rc = SQLITE_DONE, stop = 0;

	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (row_read(st, &row) != ERR_OK) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return ERR_NOMEM;
		}
		stop = each_q ? each_q(&row, sqlite3_column_int64(st, C_COUNT),
				       arg)
			      : each(&row, arg);
		request_row_free(&row);
	}
	return done(rs, st, stop ? SQLITE_DONE : rc);
}

/* one_row: step st once: the row into row (NULL: only whether there is
 * one). ERR_OK, ERR_NOTFOUND, ERR_NOMEM or ERR_IO; st reset. */
static int one_row(struct request_store *rs, sqlite3_stmt *st,
		   struct request_row *row)
{
	int rc = sqlite3_step(st), out;

	if (rc == SQLITE_ROW)
		out = row ? row_read(st, row) : ERR_OK;
	else
		out = done(rs, st, rc) == ERR_OK ? ERR_NOTFOUND : ERR_IO;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return out;
}

/* ---- writes ----------------------------------------------------------------- */

/* bind_request: ?1..?13, the fields add and apply share. */
static void bind_request(sqlite3_stmt *st, const Change *ch,
			 const char *service_name)
{
	const Alliance__V1__Request *r = ch->request;

	sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->service_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, service_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->phone, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, r->email, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, r->address, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 11, r->has_location);
	sqlite3_bind_double(st, 12, r->lat);
	sqlite3_bind_double(st, 13, r->lon);
}

int request_store_add(struct request_store *rs, const Change *ch,
		      const char *service_name, const unsigned char th[32],
		      int64_t resident)
{
	const Alliance__V1__Request *r = ch->request;
	sqlite3_stmt *st = rs->add;

	if (request_too_long(ch))
		return ERR_TOOBIG;
	bind_request(st, ch, service_name);
	sqlite3_bind_blob(st, 14, th, 32, SQLITE_STATIC);
	if (resident)
		sqlite3_bind_int64(st, 15, resident);
	sqlite3_bind_int64(st, 16, r->requested);
	sqlite3_bind_int64(st, 17, (int64_t)ch->version);
	sqlite3_bind_text(st, 18, r->preferred, -1, SQLITE_STATIC);
	/* served at home: in the owner's queue at once */
	sqlite3_bind_int64(st, 19, strcmp(r->owner, ch->origin) == 0
			   ? r->requested : 0);
	sqlite3_bind_text(st, 20, r->relative_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 21, r->relative_phone, -1, SQLITE_STATIC);
	return done(rs, st, sqlite3_step(st));
}

int request_store_apply(struct request_store *rs, const Change *ch,
			const char *service_name, int64_t now, int *changed)
{
	const Alliance__V1__Request *r = ch->request;
	sqlite3_stmt *st = rs->apply;
	int rc;

	*changed = 0;
	if (request_too_long(ch))
		return ERR_TOOBIG;
	bind_request(st, ch, service_name);
	sqlite3_bind_int64(st, 14, r->requested);
	sqlite3_bind_int64(st, 15, (int64_t)ch->version);
	sqlite3_bind_int64(st, 16, now);
	sqlite3_bind_text(st, 17, r->preferred, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 18, r->withdrawn);
	sqlite3_bind_text(st, 19, r->relative_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 20, r->relative_phone, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*changed = rc == SQLITE_DONE && sqlite3_changes(rs->db) > 0;
	return done(rs, st, rc);
}

int request_store_set_status(struct request_store *rs, const char *origin,
			     const char *id, const char *status,
			     const char *notes, int64_t scheduled,
			     int64_t updated, uint64_t version,
			     int64_t delivered, int only_newer, int *changed)
{
	sqlite3_stmt *st = rs->status;
	int rc;

	*changed = 0;
	if (over(origin, LIMIT_COMMUNITY_ID) || over(id, LIMIT_RECORD_ID) ||
	    over(notes, RELAY_NOTES_MAX))
		return ERR_TOOBIG;
	if (!relay_status_valid(status))
		return ERR_INVALID;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, notes ? notes : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, scheduled);
	sqlite3_bind_int64(st, 6, updated);
	sqlite3_bind_int64(st, 7, (int64_t)version);
	sqlite3_bind_int64(st, 8, delivered);
	sqlite3_bind_int(st, 9, only_newer);
	rc = sqlite3_step(st);
	*changed = rc == SQLITE_DONE && sqlite3_changes(rs->db) > 0;
	return done(rs, st, rc);
}

/* by_key: run st with (origin, id) as ?1, ?2 and the rest bound. */
static int by_key(struct request_store *rs, sqlite3_stmt *st,
		  const char *origin, const char *id)
{
	store_stmt_bind_key(st, origin, id);
	return done(rs, st, sqlite3_step(st));
}

int request_store_decline(struct request_store *rs, const char *origin,
			  const char *id, const char *reason, int64_t now)
{
	sqlite3_bind_text(rs->decline, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(rs->decline, 4, now);
	return by_key(rs, rs->decline, origin, id);
}

int request_store_set_version(struct request_store *rs, const char *origin,
			      const char *id, int64_t withdrawn,
			      uint64_t version, int64_t updated)
{
	sqlite3_bind_int64(rs->version, 3, withdrawn);
	sqlite3_bind_int64(rs->version, 4, (int64_t)version);
	sqlite3_bind_int64(rs->version, 5, updated);
	return by_key(rs, rs->version, origin, id);
}

int request_store_erase(struct request_store *rs, const char *origin,
			const char *id)
{
	return by_key(rs, rs->erase, origin, id);
}

int request_store_set_urgent(struct request_store *rs, const char *origin,
			     const char *id)
{
	return by_key(rs, rs->urgent, origin, id);
}

int request_store_unlink(struct request_store *rs, int64_t resident)
{
	sqlite3_bind_int64(rs->unlink, 1, resident);
	return done(rs, rs->unlink, sqlite3_step(rs->unlink));
}

/* ---- reads ------------------------------------------------------------------- */

int request_store_get(struct request_store *rs, const char *origin,
		      const char *id, struct request_row *row)
{
	store_stmt_bind_key(rs->get, origin, id);
	return one_row(rs, rs->get, row);
}

int request_store_find(struct request_store *rs, const char *id,
		       const char *prefer, struct request_row *row)
{
	sqlite3_bind_text(rs->find, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(rs->find, 2, prefer, -1, SQLITE_STATIC);
	return one_row(rs, rs->find, row);
}

int request_store_owned(struct request_store *rs, const char *owner,
			const char *id, char *origin, size_t origin_len,
			int64_t *withdrawn, int64_t *delivered)
{
	sqlite3_stmt *st = rs->owned;
	int rc, out = ERR_NOTFOUND;

	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(origin, origin_len, "%s", sqlite3_column_text(st, 0));
		*withdrawn = sqlite3_column_int64(st, 1);
		*delivered = sqlite3_column_int64(st, 2);
		out = ERR_OK;
	}
	return done(rs, st, rc) == ERR_OK ? out : ERR_IO;
}

int request_store_owner_is(struct request_store *rs, const char *origin,
			   const char *id, const char *owner)
{
	sqlite3_stmt *st = rs->owner_is;
	int is, rc;

	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	is = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
	done(rs, st, rc);
	return is;
}

int64_t request_store_sent_since(struct request_store *rs, const char *owner,
				 const char *origin, int64_t since)
{
	sqlite3_stmt *st = rs->sent;
	int64_t sent = 0;
	int rc;

	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		sent = sqlite3_column_int64(st, 0);
	done(rs, st, rc);
	return sent;
}

int request_store_list(struct request_store *rs, const char *ids,
		       const char *codes, int64_t start, int64_t end,
		       enum request_state state, int limit,
		       request_each_fn each, void *arg)
{
	sqlite3_stmt *st = rs->list;

	sqlite3_bind_text(st, 1, ids, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, codes, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, start);
	sqlite3_bind_int64(st, 4, end);
	sqlite3_bind_int(st, 5, (int)state);
	sqlite3_bind_int(st, 6, limit);
	return each_row(rs, st, each, NULL, arg);
}

int request_store_mine(struct request_store *rs, const char *origin,
		       int64_t resident, int limit, request_each_fn each,
		       void *arg)
{
	sqlite3_stmt *st = rs->mine;

	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, resident);
	sqlite3_bind_int(st, 3, limit);
	return each_row(rs, st, each, NULL, arg);
}

json_t *request_store_ids_of(struct request_store *rs, const char *origin,
			     int64_t resident)
{
	sqlite3_stmt *st = rs->ids_of;
	json_t *ids = json_array();
	int rc = SQLITE_DONE;

	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, resident);
	while (ids && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(ids, json_string((const char *)
					  sqlite3_column_text(st, 0)))) {
			json_decref(ids);
			ids = NULL;
		}
	if (done(rs, st, ids ? rc : SQLITE_DONE) != ERR_OK) {
		json_decref(ids);
		ids = NULL;
	}
	return ids;
}

int request_store_queue(struct request_store *rs, const char *owner,
			int64_t limit, int64_t after, request_queue_fn each,
			void *arg)
{
	sqlite3_stmt *st = rs->queue;

	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, after);
	return each_row(rs, st, NULL, each, arg);
}

int request_store_queue_counts(struct request_store *rs, const char *owner,
			       request_count_fn each, void *arg)
{
	sqlite3_stmt *st = rs->counts;
	int rc;

	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		each((const char *)sqlite3_column_text(st, 0),
		     sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		     arg);
	return done(rs, st, rc);
}

int64_t request_store_open_count(struct request_store *rs, const char *owner)
{
	sqlite3_stmt *st = rs->open_count;
	int64_t open = -1;
	int rc;

	sqlite3_bind_text(st, 1, owner, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		open = sqlite3_column_int64(st, 0);
	return done(rs, st, rc) == ERR_OK ? open : -1;
}

/* ---- steps ------------------------------------------------------------------- */

int request_store_step_put(struct request_store *rs, const char *origin,
			   const char *id, uint64_t version,
			   const char *status, int64_t at, const char *notes,
			   int64_t scheduled)
{
	sqlite3_stmt *st = rs->step_put;

	if (over(origin, LIMIT_COMMUNITY_ID) || over(id, LIMIT_RECORD_ID) ||
	    over(status, STEP_STATUS_MAX) || over(notes, RELAY_NOTES_MAX))
		return ERR_TOOBIG;
	sqlite3_bind_int64(st, 3, (int64_t)version);
	sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, at);
	sqlite3_bind_text(st, 6, notes ? notes : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, scheduled);
	return by_key(rs, st, origin, id);
}

int request_store_steps(struct request_store *rs, const char *origin,
			const char *id, request_step_fn each, void *arg)
{
	sqlite3_stmt *st = rs->steps;
	struct request_step s;
	int rc;

	store_stmt_bind_key(st, origin, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s.status = (const char *)sqlite3_column_text(st, 0);
		s.at = sqlite3_column_int64(st, 1);
		s.notes = (const char *)sqlite3_column_text(st, 2);
		s.scheduled = sqlite3_column_int64(st, 3);
		if (!s.status)
			s.status = "";
		if (!s.notes)
			s.notes = "";
		each(&s, arg);
	}
	return done(rs, st, rc);
}
