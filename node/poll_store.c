/* poll_store.c: a node's polls in sqlite (poll_store.h): the statements,
 * prepared once into struct poll_store from one table of (field, SQL)
 * rows, and the rows read into structs.
 *
 * Parts: statements; polls; votes; tallies; phones. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "poll_store.h"
#include "store_stmt.h"

/* ---- statements ----------------------------------------------------------- */

struct poll_store {
	sqlite3 *db;                  /* the caller's connection (first:
					 store_stmts_new sets it) */
	sqlite3_stmt *get;            /* a poll by (origin, id) */
	sqlite3_stmt *list;           /* open first, newest first */
	sqlite3_stmt *n_options;
	sqlite3_stmt *counts;         /* votes per option */
	sqlite3_stmt *my_vote;
	sqlite3_stmt *vote;           /* a vote, kept when there */
	sqlite3_stmt *votes_of;       /* a resident's, with their polls */
	sqlite3_stmt *tally_put;      /* under the version rule */
	sqlite3_stmt *tallies;        /* the other communities' */
	sqlite3_stmt *phones_prune;   /* keys of closed polls */
	sqlite3_stmt *phone_claim;
};

/* The columns read_row reads, in order. */
#define COLS "origin, id, question, options, opens, closes"

#define STMT(field) offsetof(struct poll_store, field)
static const struct store_stmt poll_sql[] = {
	{ STMT(get), "SELECT " COLS " FROM poll WHERE origin = ?1 AND"
	  " id = ?2" },
	{ STMT(list), "SELECT " COLS " FROM poll ORDER BY closes <= ?1,"
	  " opens DESC LIMIT ?2" },
	{ STMT(n_options), "SELECT json_array_length(options) FROM poll"
	  " WHERE origin = ?1 AND id = ?2" },
	{ STMT(counts), "SELECT option, count(*) FROM vote WHERE poll_origin"
	  " = ?1 AND poll_id = ?2 GROUP BY option" },
	{ STMT(my_vote), "SELECT option FROM vote WHERE poll_origin = ?1"
	  " AND poll_id = ?2 AND resident = ?3" },
	{ STMT(vote), "INSERT OR IGNORE INTO vote (poll_origin, poll_id,"
	  " resident, option, created) VALUES (?1, ?2, ?3, ?4, ?5)" },
	{ STMT(votes_of), "SELECT v.poll_origin, v.poll_id, v.option,"
	  " v.created, p.question, p.options, p.closes FROM vote v JOIN poll"
	  " p ON p.origin = v.poll_origin AND p.id = v.poll_id WHERE"
	  " v.resident = ?1 ORDER BY v.created DESC LIMIT ?2" },
	{ STMT(tally_put), RELAY_TALLY_PUT_SQL("poll_tally") },
	{ STMT(tallies), "SELECT community, counts FROM poll_tally WHERE"
	  " poll_origin = ?1 AND poll_id = ?2 AND community != ?3 ORDER BY"
	  " community" },
	{ STMT(phones_prune), "DELETE FROM vote_phone WHERE EXISTS (SELECT 1"
	  " FROM poll p WHERE p.origin = vote_phone.poll_origin AND p.id ="
	  " vote_phone.poll_id AND p.closes <= ?1)" },
	{ STMT(phone_claim), "INSERT OR IGNORE INTO vote_phone (poll_origin,"
	  " poll_id, phone_key) VALUES (?1, ?2, ?3)" },
};
#undef STMT

#define N_SQL (sizeof(poll_sql) / sizeof(poll_sql[0]))

int poll_store_open(sqlite3 *db, struct poll_store **out)
{
	int rc;

	*out = store_stmts_new(db, sizeof(**out), poll_sql, N_SQL, "polls",
			       &rc);
	return rc;
}

void poll_store_close(struct poll_store **ps)
{
	if (!ps)
		return;
	store_stmts_free(*ps, poll_sql, N_SQL);
	*ps = NULL;
}

/* done: reset st after its last step rc; ERR_OK for SQLITE_DONE or a
 * row, else ERR_IO (logged). */
static int done(struct poll_store *ps, sqlite3_stmt *st, int rc)
{
	return store_stmt_done(ps->db, st, rc, "polls");
}

/* ---- polls ------------------------------------------------------------------- */

/* read_row: the current row of st (COLS) into row. ERR_OK or ERR_NOMEM
 * (row freed). */
static int read_row(sqlite3_stmt *st, struct poll_row *row)
{
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
	if (!row->question || !row->options) {
		poll_row_free(row);
		return ERR_NOMEM;
	}
	return ERR_OK;
}

void poll_row_free(struct poll_row *row)
{
	free(row->question);
	json_decref(row->options);
	memset(row, 0, sizeof(*row));
}

int poll_store_get(struct poll_store *ps, const char *origin, const char *id,
		   struct poll_row *row)
{
	sqlite3_stmt *st = ps->get;
	int rc, out = ERR_NOTFOUND;

	store_stmt_bind_key(st, origin, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		out = read_row(st, row);
	return done(ps, st, rc) == ERR_OK ? out : ERR_IO;
}

int poll_store_list(struct poll_store *ps, int64_t now, int limit,
		    poll_each_fn each, void *arg)
{
	sqlite3_stmt *st = ps->list;
	struct poll_row row;
	int rc;

	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (read_row(st, &row) != ERR_OK) {
			done(ps, st, SQLITE_DONE);
			return ERR_NOMEM;
		}
		each(&row, arg);
		poll_row_free(&row);
	}
	return done(ps, st, rc);
}

int poll_store_n_options(struct poll_store *ps, const char *origin,
			 const char *id)
{
	sqlite3_stmt *st = ps->n_options;
	int rc, n = -1;

	store_stmt_bind_key(st, origin, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	done(ps, st, rc);
	return n;
}

/* ---- votes ------------------------------------------------------------------- */

int poll_store_counts(struct poll_store *ps, const char *origin,
		      const char *id, uint64_t *counts, size_t n)
{
	sqlite3_stmt *st = ps->counts;
	int rc;

	memset(counts, 0, n * sizeof(*counts));
	store_stmt_bind_key(st, origin, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t option = sqlite3_column_int64(st, 0);

		if (option >= 0 && (uint64_t)option < n)
			counts[option] = (uint64_t)sqlite3_column_int64(st, 1);
	}
	return done(ps, st, rc);
}

int64_t poll_store_my_vote(struct poll_store *ps, const char *origin,
			   const char *id, int64_t resident)
{
	sqlite3_stmt *st = ps->my_vote;
	int64_t option = -1;
	int rc;

	store_stmt_bind_key(st, origin, id);
	sqlite3_bind_int64(st, 3, resident);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		option = sqlite3_column_int64(st, 0);
	done(ps, st, rc);
	return option;
}

int poll_store_vote(struct poll_store *ps, const char *origin,
		    const char *id, int64_t resident, int64_t option,
		    int64_t now)
{
	sqlite3_stmt *st = ps->vote;
	int rc;

	store_stmt_bind_key(st, origin, id);
	sqlite3_bind_int64(st, 3, resident);
	sqlite3_bind_int64(st, 4, option);
	sqlite3_bind_int64(st, 5, now);
	rc = sqlite3_step(st);
	if (done(ps, st, rc) != ERR_OK)
		return -1;
	return sqlite3_changes(ps->db) > 0;
}

int poll_store_votes_of(struct poll_store *ps, int64_t resident, int limit,
			poll_vote_fn each, void *arg)
{
	sqlite3_stmt *st = ps->votes_of;
	struct poll_vote v;
	int rc;

	sqlite3_bind_int64(st, 1, resident);
	sqlite3_bind_int(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		v.poll_origin = (const char *)sqlite3_column_text(st, 0);
		v.poll_id = (const char *)sqlite3_column_text(st, 1);
		v.option = sqlite3_column_int64(st, 2);
		v.created = sqlite3_column_int64(st, 3);
		v.question = (const char *)sqlite3_column_text(st, 4);
		v.options = (const char *)sqlite3_column_text(st, 5);
		v.closes = sqlite3_column_int64(st, 6);
		each(&v, arg);
	}
	return done(ps, st, rc);
}

/* ---- tallies ----------------------------------------------------------------- */

int poll_store_tally_put(struct poll_store *ps, const char *poll_origin,
			 const char *poll_id, const char *community,
			 uint64_t version, const char *counts,
			 int64_t updated)
{
	return relay_tally_put(ps->db, ps->tally_put, poll_origin, poll_id,
			       community, version, counts, updated, NULL);
}

int poll_store_tallies(struct poll_store *ps, const char *origin,
		       const char *id, const char *except, poll_tally_fn each,
		       void *arg)
{
	sqlite3_stmt *st = ps->tallies;
	int rc;

	store_stmt_bind_key(st, origin, id);
	sqlite3_bind_text(st, 3, except, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		each((const char *)sqlite3_column_text(st, 0),
		     (const char *)sqlite3_column_text(st, 1), arg);
	return done(ps, st, rc);
}

/* ---- phones ------------------------------------------------------------------ */

int poll_store_claim_phone(struct poll_store *ps, const char *origin,
			   const char *id, const unsigned char key[32],
			   int64_t now)
{
	sqlite3_stmt *st = ps->phone_claim;

	/* the keys of closed polls are of no use any more */
	sqlite3_bind_int64(ps->phones_prune, 1, now);
	if (done(ps, ps->phones_prune, sqlite3_step(ps->phones_prune)) !=
	    ERR_OK)
		return -1;
	store_stmt_bind_key(st, origin, id);
	sqlite3_bind_blob(st, 3, key, 32, SQLITE_STATIC);
	if (done(ps, st, sqlite3_step(st)) != ERR_OK)
		return -1;
	return sqlite3_changes(ps->db) > 0;
}
