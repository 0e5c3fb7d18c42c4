/* resident_store.c: a node's residents in sqlite (resident_store.h): the
 * statements, prepared once into struct resident_store from one table of
 * (field, SQL) rows, and the rows read into structs.
 *
 * Parts: statements; accounts; tokens; household codes; registrations
 * waiting for a code. */
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "resident_store.h"
#include "store_stmt.h"

/* ---- statements ----------------------------------------------------------- */

struct resident_store {
	sqlite3 *db;                  /* the caller's connection (first:
					 store_stmts_new sets it) */
	sqlite3_stmt *add;            /* a new account */
	sqlite3_stmt *get;            /* an account by id */
	sqlite3_stmt *by_phone;       /* id and hash line of a phone */
	sqlite3_stmt *set_name;
	sqlite3_stmt *confirm;        /* by the manager, the first time */
	sqlite3_stmt *forget;         /* phone, password, name gone */
	sqlite3_stmt *unconfirmed;    /* phones nobody confirmed */
	sqlite3_stmt *bearer;         /* a live token's account */
	sqlite3_stmt *touch;          /* a token's last use */
	sqlite3_stmt *token_expire;   /* drop the unused ones */
	sqlite3_stmt *token_add;
	sqlite3_stmt *token_drop;     /* one, by hash */
	sqlite3_stmt *tokens_drop;    /* an account's */
	sqlite3_stmt *code_add;
	sqlite3_stmt *code_usable;
	sqlite3_stmt *code_claim;
	sqlite3_stmt *pending_expire; /* drop the expired registrations */
	sqlite3_stmt *pending_put;
	sqlite3_stmt *pending_get;
	sqlite3_stmt *pending_miss;   /* a wrong code counted */
	sqlite3_stmt *pending_drop;
};

/* The columns read_row reads, in order. */
#define ROW_COLS "r.id, r.phone, r.name, r.created, r.confirmed, EXISTS" \
	" (SELECT 1 FROM household_code c WHERE c.resident = r.id)"

#define STMT(field) offsetof(struct resident_store, field)
static const struct store_stmt resident_sql[] = {
	{ STMT(add), "INSERT INTO resident (phone, password_hash, created,"
	  " name, confirmed, confirmed_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)" },
	{ STMT(get), "SELECT " ROW_COLS " FROM resident r WHERE r.id = ?1" },
	{ STMT(by_phone), "SELECT id, password_hash FROM resident WHERE"
	  " phone = ?1" },
	{ STMT(set_name), "UPDATE resident SET name = ?2 WHERE id = ?1" },
	{ STMT(confirm), "UPDATE resident SET confirmed = ?2, confirmed_by ="
	  " 'manager' WHERE id = ?1 AND phone IS NOT NULL AND confirmed = 0" },
	{ STMT(forget), "UPDATE resident SET phone = NULL, password_hash ="
	  " NULL, name = '' WHERE id = ?1" },
	{ STMT(unconfirmed), "SELECT " ROW_COLS " FROM resident r WHERE"
	  " r.phone IS NOT NULL AND r.confirmed = 0 AND NOT EXISTS (SELECT 1"
	  " FROM household_code c WHERE c.resident = r.id) ORDER BY r.id DESC"
	  " LIMIT ?1" },
	{ STMT(bearer), "SELECT resident, used FROM resident_token WHERE"
	  " hash = ?1 AND used > ?2" },
	{ STMT(touch), "UPDATE resident_token SET used = ?2 WHERE hash = ?1"
	  " AND used <= ?3" },
	{ STMT(token_expire), "DELETE FROM resident_token WHERE used <= ?1" },
	{ STMT(token_add), "INSERT INTO resident_token (hash, resident,"
	  " created, used) VALUES (?1, ?2, ?3, ?3)" },
	{ STMT(token_drop), "DELETE FROM resident_token WHERE hash = ?1" },
	{ STMT(tokens_drop), "DELETE FROM resident_token WHERE resident ="
	  " ?1" },
	{ STMT(code_add), "INSERT INTO household_code (hash, created) VALUES"
	  " (?1, ?2)" },
	{ STMT(code_usable), "SELECT 1 FROM household_code WHERE hash = ?1"
	  " AND resident IS NULL" },
	{ STMT(code_claim), "UPDATE household_code SET resident = ?2 WHERE"
	  " hash = ?1 AND resident IS NULL" },
	{ STMT(pending_expire), "DELETE FROM phone_pending WHERE expires <="
	  " ?1" },
	{ STMT(pending_put), "INSERT OR REPLACE INTO phone_pending (phone,"
	  " salt, code_hash, expires, attempts, password_hash, name,"
	  " household) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)" },
	{ STMT(pending_get), "SELECT salt, code_hash, attempts,"
	  " password_hash, name, household FROM phone_pending WHERE phone ="
	  " ?1 AND expires > ?2" },
	{ STMT(pending_miss), "UPDATE phone_pending SET attempts = attempts"
	  " + 1 WHERE phone = ?1" },
	{ STMT(pending_drop), "DELETE FROM phone_pending WHERE phone = ?1" },
};
#undef STMT

#define N_SQL (sizeof(resident_sql) / sizeof(resident_sql[0]))

int resident_store_open(sqlite3 *db, struct resident_store **out)
{
	int rc;

	*out = store_stmts_new(db, sizeof(**out), resident_sql, N_SQL, "residents",
			       &rc);
	return rc;
}

void resident_store_close(struct resident_store **rs)
{
	if (!rs)
		return;
	store_stmts_free(*rs, resident_sql, N_SQL);
	*rs = NULL;
}

/* done: reset st after its last step rc; ERR_OK for SQLITE_DONE or a
 * row, else ERR_IO (logged). */
static int done(struct resident_store *rs, sqlite3_stmt *st, int rc)
{
	return store_stmt_done(rs->db, st, rc, "residents");
}

/* run: step st once; the rows it changed, or -1. */
static int run(struct resident_store *rs, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (done(rs, st, rc) != ERR_OK)
		return -1;
	return sqlite3_changes(rs->db);
}

/* over: 1 when s is longer than max bytes. */
static int over(const char *s, size_t max)
{
	return s && strlen(s) > max;
}

/* ---- accounts ------------------------------------------------------------------ */

/* read_row: the current row of st (ROW_COLS) into row. */
static void read_row(sqlite3_stmt *st, struct resident_row *row)
{
	const char *phone = (const char *)sqlite3_column_text(st, 1);
	const char *name = (const char *)sqlite3_column_text(st, 2);

	memset(row, 0, sizeof(*row));
	row->id = sqlite3_column_int64(st, 0);
	snprintf(row->phone, sizeof(row->phone), "%s", phone ? phone : "");
	snprintf(row->name, sizeof(row->name), "%s", name ? name : "");
	row->created = sqlite3_column_int64(st, 3);
	row->confirmed = sqlite3_column_int64(st, 4);
	row->household = sqlite3_column_int(st, 5);
}

int resident_store_add(struct resident_store *rs, const char *phone,
		       const char *hash_line, const char *name, int64_t now,
		       const char *confirmed_by, int64_t *id)
{
	sqlite3_stmt *st = rs->add;
	int rc;

	*id = 0;
	if (over(phone, LIMIT_PHONE_DIGITS) ||
	    over(hash_line, RESIDENT_HASH_LINE_MAX) ||
	    over(name, RELAY_NAME_MAX) ||
	    over(confirmed_by, RESIDENT_CONFIRMED_BY_MAX))
		return ERR_TOOBIG;
	sqlite3_bind_text(st, 1, phone, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash_line, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, name ? name : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, confirmed_by ? now : 0);
	sqlite3_bind_text(st, 6, confirmed_by ? confirmed_by : "", -1,
			  SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*id = sqlite3_last_insert_rowid(rs->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)   /* the phone is registered */
		return ERR_INVALID;
	if (rc != SQLITE_DONE)
		log_error("residents: %s", sqlite3_errmsg(rs->db));
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

int resident_store_get(struct resident_store *rs, int64_t id,
		       struct resident_row *row)
{
	sqlite3_stmt *st = rs->get;
	int rc, out = ERR_NOTFOUND;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_row(st, row);
		out = ERR_OK;
	}
	return done(rs, st, rc) == ERR_OK ? out : ERR_IO;
}

int64_t resident_store_by_phone(struct resident_store *rs, const char *phone,
				char **line)
{
	sqlite3_stmt *st = rs->by_phone;
	int64_t id = 0;
	int rc;

	sqlite3_bind_text(st, 1, phone, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		if (line) {
			const char *h = (const char *)
					sqlite3_column_text(st, 1);

			*line = h ? strdup(h) : NULL;
			if (!*line)
				id = 0;
		}
	}
	done(rs, st, rc);
	return id;
}

int resident_store_set_name(struct resident_store *rs, int64_t id,
			    const char *name)
{
	if (over(name, RELAY_NAME_MAX))
		return ERR_TOOBIG;
	sqlite3_bind_int64(rs->set_name, 1, id);
	sqlite3_bind_text(rs->set_name, 2, name, -1, SQLITE_STATIC);
	return run(rs, rs->set_name) < 0 ? ERR_IO : ERR_OK;
}

int resident_store_confirm(struct resident_store *rs, int64_t id,
			   int64_t now)
{
	sqlite3_bind_int64(rs->confirm, 1, id);
	sqlite3_bind_int64(rs->confirm, 2, now);
	return run(rs, rs->confirm) < 0 ? ERR_IO : ERR_OK;
}

int resident_store_forget(struct resident_store *rs, int64_t id)
{
	sqlite3_bind_int64(rs->forget, 1, id);
	return run(rs, rs->forget) < 0 ? ERR_IO : ERR_OK;
}

int resident_store_unconfirmed(struct resident_store *rs, int limit,
			       resident_each_fn each, void *arg)
{
	sqlite3_stmt *st = rs->unconfirmed;
	struct resident_row row;
	int rc;

	sqlite3_bind_int(st, 1, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_row(st, &row);
		each(&row, arg);
	}
	return done(rs, st, rc);
}

/* ---- tokens --------------------------------------------------------------------- */

int64_t resident_store_bearer(struct resident_store *rs,
			      const unsigned char hash[32], int64_t now,
			      int64_t idle_s)
{
	sqlite3_stmt *st = rs->bearer;
	int64_t id = 0, used = 0;
	int rc;

	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now - idle_s);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		used = sqlite3_column_int64(st, 1);
	}
	done(rs, st, rc);
	/* its expiry counts from the last use, kept to the minute */
	if (id && used <= now - LIMIT_TOKEN_TOUCH_S) {
		sqlite3_bind_blob(rs->touch, 1, hash, 32, SQLITE_STATIC);
		sqlite3_bind_int64(rs->touch, 2, now);
		sqlite3_bind_int64(rs->touch, 3, now - LIMIT_TOKEN_TOUCH_S);
		run(rs, rs->touch);
	}
	return id;
}

int resident_store_token_add(struct resident_store *rs, int64_t id,
			     const unsigned char hash[32], int64_t now,
			     int64_t idle_s)
{
	sqlite3_bind_int64(rs->token_expire, 1, now - idle_s);
	if (run(rs, rs->token_expire) < 0)
		return ERR_IO;
	sqlite3_bind_blob(rs->token_add, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(rs->token_add, 2, id);
	sqlite3_bind_int64(rs->token_add, 3, now);
	return run(rs, rs->token_add) < 0 ? ERR_IO : ERR_OK;
}

int resident_store_token_drop(struct resident_store *rs,
			      const unsigned char hash[32])
{
	sqlite3_bind_blob(rs->token_drop, 1, hash, 32, SQLITE_STATIC);
	return run(rs, rs->token_drop) < 0 ? ERR_IO : ERR_OK;
}

int resident_store_tokens_drop(struct resident_store *rs, int64_t id)
{
	sqlite3_bind_int64(rs->tokens_drop, 1, id);
	return run(rs, rs->tokens_drop);
}

/* ---- household codes ----------------------------------------------------------- */

int resident_store_code_add(struct resident_store *rs,
			    const unsigned char hash[32], int64_t now)
{
	sqlite3_bind_blob(rs->code_add, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(rs->code_add, 2, now);
	return run(rs, rs->code_add) < 0 ? ERR_IO : ERR_OK;
}

int resident_store_code_usable(struct resident_store *rs,
			       const unsigned char hash[32])
{
	sqlite3_stmt *st = rs->code_usable;
	int rc, found;

	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	found = rc == SQLITE_ROW;
	done(rs, st, rc);
	return found;
}

int resident_store_code_claim(struct resident_store *rs,
			      const unsigned char hash[32], int64_t id)
{
	int changed;

	sqlite3_bind_blob(rs->code_claim, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(rs->code_claim, 2, id);
	changed = run(rs, rs->code_claim);
	return changed < 0 ? -1 : changed > 0;
}

/* ---- registrations waiting for a code ------------------------------------------ */

int resident_store_pending_put(struct resident_store *rs, const char *phone,
			       const struct resident_pending *p,
			       int64_t expires, int64_t now)
{
	sqlite3_stmt *st = rs->pending_put;

	if (over(phone, LIMIT_PHONE_DIGITS) ||
	    over(p->password_hash, RESIDENT_HASH_LINE_MAX) ||
	    over(p->name, RELAY_NAME_MAX) || !p->password_hash)
		return ERR_TOOBIG;
	sqlite3_bind_int64(rs->pending_expire, 1, now);
	if (run(rs, rs->pending_expire) < 0)
		return ERR_IO;
	sqlite3_bind_text(st, 1, phone, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, p->salt, RESIDENT_SALT_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, p->hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, expires);
	sqlite3_bind_text(st, 5, p->password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, p->name ? p->name : "", -1, SQLITE_STATIC);
	if (p->has_household)
		sqlite3_bind_blob(st, 7, p->household, 32, SQLITE_STATIC);
	return run(rs, st) < 0 ? ERR_IO : ERR_OK;
}

int resident_store_pending_get(struct resident_store *rs, const char *phone,
			       int64_t now, struct resident_pending *p)
{
	sqlite3_stmt *st = rs->pending_get;
	int rc, out = ERR_NOTFOUND;

	memset(p, 0, sizeof(*p));
	sqlite3_bind_text(st, 1, phone, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == RESIDENT_SALT_BYTES &&
	    sqlite3_column_bytes(st, 1) == 32) {
		memcpy(p->salt, sqlite3_column_blob(st, 0),
		       RESIDENT_SALT_BYTES);
		memcpy(p->hash, sqlite3_column_blob(st, 1), 32);
		p->attempts = sqlite3_column_int(st, 2);
		p->password_hash = strdup((const char *)
					  sqlite3_column_text(st, 3));
		p->name = strdup((const char *)sqlite3_column_text(st, 4));
		if (sqlite3_column_bytes(st, 5) == 32) {
			memcpy(p->household, sqlite3_column_blob(st, 5), 32);
			p->has_household = 1;
		}
		out = p->password_hash && p->name ? ERR_OK : ERR_NOMEM;
		if (out != ERR_OK)
			resident_pending_free(p);
	}
	return done(rs, st, rc) == ERR_OK ? out : ERR_IO;
}

void resident_store_pending_miss(struct resident_store *rs,
				 const char *phone)
{
	sqlite3_bind_text(rs->pending_miss, 1, phone, -1, SQLITE_STATIC);
	run(rs, rs->pending_miss);
}

void resident_store_pending_drop(struct resident_store *rs,
				 const char *phone)
{
	sqlite3_bind_text(rs->pending_drop, 1, phone, -1, SQLITE_STATIC);
	run(rs, rs->pending_drop);
}

void resident_pending_free(struct resident_pending *p)
{
	free(p->password_hash);
	free(p->name);
	OPENSSL_cleanse(p, sizeof(*p));
}
