/* poll_store.c: the hub's polls in sqlite (poll_store.h): the
 * statements, prepared once into struct hub_poll_store from one table of
 * (field, SQL) rows, and the rows read into structs.
 *
 * Parts: schema; statements; polls; tallies. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "poll_store.h"
#include "store_stmt.h"

/* ---- schema --------------------------------------------------------------- */

#define STR_(x) #x
#define STR(x) STR_(x)

/* A result is recomputed from the rows, so tallies that break the rules
 * would skew it for good; a community's next tally is taken afresh. */
const char hub_polls_schema_v2[] =
	"DELETE FROM tally WHERE EXISTS (SELECT 1 FROM json_each(tally.counts)"
	" WHERE type <> 'integer' OR value < 0 OR value > "
	STR(RELAY_VOTES_MAX) ") OR (SELECT total(value) FROM"
	" json_each(tally.counts)) > " STR(RELAY_VOTES_MAX) " OR (poll_origin"
	" <> 'district' AND poll_origin <> community) OR EXISTS (SELECT 1 FROM"
	" poll p WHERE p.origin = 'district' AND tally.poll_origin ="
	" 'district' AND p.id = tally.poll_id AND p.area <> '[]' AND NOT"
	" EXISTS (SELECT 1 FROM json_each(p.area) WHERE value ="
	" tally.community));";

/* ---- statements ----------------------------------------------------------- */

struct hub_poll_store {
	sqlite3 *db;                  /* the caller's connection (first:
					 store_stmts_new sets it) */
	sqlite3_stmt *get;            /* a poll by (origin, id) */
	sqlite3_stmt *add;            /* a district poll */
	sqlite3_stmt *list;           /* open first, in turns */
	sqlite3_stmt *relay_polls;    /* district polls to a destination */
	sqlite3_stmt *tally;          /* one community's of a poll */
	sqlite3_stmt *tally_put;      /* under the version rule */
	sqlite3_stmt *tallies;        /* a poll's, by community */
	sqlite3_stmt *recent;         /* of district polls closed lately */
};

#define STMT(field) offsetof(struct hub_poll_store, field)
static const struct store_stmt poll_sql[] = {
	{ STMT(get), "SELECT origin, id, question, options, opens, closes,"
	  " area, version FROM poll WHERE origin = ?1 AND id = ?2" },
	{ STMT(add), "INSERT INTO poll (origin, id, version, question,"
	  " options, opens, closes, area, body) VALUES (?1, ?2, ?3, ?4, ?5,"
	  " ?6, ?7, ?8, ?9)" },
	{ STMT(list), "SELECT origin, id FROM (SELECT origin, id, opens,"
	  " closes <= ?1 AS shut, row_number() OVER (PARTITION BY origin,"
	  " closes <= ?1 ORDER BY opens DESC, id) AS turn FROM poll) ORDER BY"
	  " shut, origin <> 'district', turn, opens DESC, origin LIMIT ?2" },
	{ STMT(relay_polls), "INSERT OR IGNORE INTO relay (origin, kind, id,"
	  " destination, version, body, delivered, created) SELECT origin,"
	  " ?3, id, ?1, version, body, 0, ?2 FROM poll WHERE origin ="
	  " 'district' AND body IS NOT NULL AND (area = '[]' OR EXISTS"
	  " (SELECT 1 FROM json_each(poll.area) WHERE value = ?1))" },
	{ STMT(tally), "SELECT version, counts FROM tally WHERE poll_origin"
	  " = ?1 AND poll_id = ?2 AND community = ?3" },
	{ STMT(tally_put), RELAY_TALLY_PUT_SQL("tally") },
	{ STMT(tallies), "SELECT community, counts, updated FROM tally WHERE"
	  " poll_origin = ?1 AND poll_id = ?2 ORDER BY community" },
	{ STMT(recent), "SELECT t.poll_id, t.community, t.version, t.counts,"
	  " t.updated, p.area FROM tally t JOIN poll p ON p.origin ="
	  " t.poll_origin AND p.id = t.poll_id WHERE t.poll_origin ="
	  " 'district' AND t.community != ?1 AND p.closes > ?2" },
};
#undef STMT

#define N_SQL (sizeof(poll_sql) / sizeof(poll_sql[0]))

int hub_poll_store_open(sqlite3 *db, struct hub_poll_store **out)
{
	int rc;

	*out = store_stmts_new(db, sizeof(**out), poll_sql, N_SQL, "polls",
			       &rc);
	return rc;
}

void hub_poll_store_close(struct hub_poll_store **ps)
{
	if (!ps)
		return;
	store_stmts_free(*ps, poll_sql, N_SQL);
	*ps = NULL;
}

/* done: reset st after its last step rc; ERR_OK for SQLITE_DONE or a
 * row, else ERR_IO (logged). */
static int done(struct hub_poll_store *ps, sqlite3_stmt *st, int rc)
{
	return store_stmt_done(ps->db, st, rc, "polls");
}

/* ---- polls ------------------------------------------------------------------- */

void hub_poll_row_free(struct hub_poll_row *row)
{
	free(row->question);
	json_decref(row->options);
	json_decref(row->area);
	memset(row, 0, sizeof(*row));
}

int hub_poll_store_get(struct hub_poll_store *ps, const char *origin,
		       const char *id, struct hub_poll_row *row)
{
	sqlite3_stmt *st = ps->get;
	int rc, out = ERR_NOTFOUND;

	store_stmt_bind_key(st, origin, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *q = (const char *)sqlite3_column_text(st, 2);

		memset(row, 0, sizeof(*row));
		snprintf(row->origin, sizeof(row->origin), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		snprintf(row->id, sizeof(row->id), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		row->question = strdup(q ? q : "");
		row->options = store_stmt_json_array(st, 3);
		row->opens = sqlite3_column_int64(st, 4);
		row->closes = sqlite3_column_int64(st, 5);
		row->area = store_stmt_json_array(st, 6);
		row->version = (uint64_t)sqlite3_column_int64(st, 7);
		out = ERR_OK;
		if (!row->question || !row->options || !row->area) {
			hub_poll_row_free(row);
			out = ERR_NOMEM;
		}
	}
	return done(ps, st, rc) == ERR_OK ? out : ERR_IO;
}

int hub_poll_store_add(struct hub_poll_store *ps, const char *origin,
		       const char *id, uint64_t version, const char *question,
		       const char *options, int64_t opens, int64_t closes,
		       const char *area, const uint8_t *body, size_t len)
{
	sqlite3_stmt *st = ps->add;

	if (strlen(question) > RELAY_QUESTION_MAX ||
	    strlen(options) > LIMIT_CHANGE_BYTES ||
	    strlen(area) > LIMIT_CHANGE_BYTES || len > LIMIT_CHANGE_BYTES)
		return ERR_TOOBIG;
	store_stmt_bind_key(st, origin, id);
	sqlite3_bind_int64(st, 3, (int64_t)version);
	sqlite3_bind_text(st, 4, question, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, options, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, opens);
	sqlite3_bind_int64(st, 7, closes);
	sqlite3_bind_text(st, 8, area, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, body, (int)len, SQLITE_STATIC);
	return done(ps, st, sqlite3_step(st));
}

int hub_poll_store_list(struct hub_poll_store *ps, int64_t now, int limit,
			hub_poll_key_fn each, void *arg)
{
	sqlite3_stmt *st = ps->list;
	int rc;

	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		each((const char *)sqlite3_column_text(st, 0),
		     (const char *)sqlite3_column_text(st, 1), arg);
	return done(ps, st, rc);
}

int hub_poll_store_relay_polls(struct hub_poll_store *ps,
			       const char *destination, int64_t now)
{
	sqlite3_stmt *st = ps->relay_polls;

	sqlite3_bind_text(st, 1, destination, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, ALLIANCE__V1__KIND__KIND_POLL);
	return done(ps, st, sqlite3_step(st));
}

/* ---- tallies ----------------------------------------------------------------- */

json_t *hub_poll_store_tally(struct hub_poll_store *ps, const char *origin,
			     const char *id, const char *community,
			     int64_t *version)
{
	sqlite3_stmt *st = ps->tally;
	json_t *counts = NULL;
	int rc;

	*version = 0;
	store_stmt_bind_key(st, origin, id);
	sqlite3_bind_text(st, 3, community, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int64(st, 0);
		counts = json_loads((const char *)sqlite3_column_text(st, 1),
				    0, NULL);
	}
	done(ps, st, rc);
	return counts;
}

int hub_poll_store_tally_put(struct hub_poll_store *ps, const char *origin,
			     const char *id, const char *community,
			     uint64_t version, const char *counts,
			     int64_t updated, int *changed)
{
	return relay_tally_put(ps->db, ps->tally_put, origin, id, community,
			       version, counts, updated, changed);
}

int hub_poll_store_tallies(struct hub_poll_store *ps, const char *origin,
			   const char *id, hub_tally_fn each, void *arg)
{
	sqlite3_stmt *st = ps->tallies;
	int rc;

	store_stmt_bind_key(st, origin, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		each((const char *)sqlite3_column_text(st, 0),
		     (const char *)sqlite3_column_text(st, 1),
		     sqlite3_column_int64(st, 2), arg);
	return done(ps, st, rc);
}

int hub_poll_store_recent_tallies(struct hub_poll_store *ps,
				  const char *except, int64_t since,
				  hub_tally_row_fn each, void *arg)
{
	sqlite3_stmt *st = ps->recent;
	struct hub_tally t;
	int rc;

	sqlite3_bind_text(st, 1, except, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *area = store_stmt_json_array(st, 5);

		t.poll_id = (const char *)sqlite3_column_text(st, 0);
		t.community = (const char *)sqlite3_column_text(st, 1);
		t.version = (uint64_t)sqlite3_column_int64(st, 2);
		t.counts = (const char *)sqlite3_column_text(st, 3);
		t.updated = sqlite3_column_int64(st, 4);
		t.area = area;
		each(&t, arg);
		json_decref(area);
	}
	return done(ps, st, rc);
}
