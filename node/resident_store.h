/* resident_store.h: a node's residents in its sqlite store: accounts,
 * their sign-in tokens, household codes and registrations waiting for a
 * phone's one-time code; the tables, their rows as structs and every
 * statement on them (prepared once, when the node starts). The HTTP
 * handlers (residents.c, account.c, voters.c, phone_verify.c) parse, call
 * this and reply.
 *
 * Tables (the node's migrations in store.c make them):
 *   resident        v5 (RESIDENT_SCHEMA_V1, within node_civic_schema_v1),
 *                   v11 (RESIDENT_SCHEMA_V3: mobile numbers kept as their
 *                   11 digits), v12 (RESIDENT_SCHEMA_V4: name), v13
 *                   (RESIDENT_SCHEMA_V13: confirmed, confirmed_by);
 *   resident_token  v5, v13 (used, and an index by resident);
 *   household_code  v5;
 *   phone_pending   v13.
 *
 * Codes and tokens are kept as their SHA-256 only; a phone as its digits;
 * a password as its scrypt line (hashed on the KDF worker, never here).
 * A deleted account keeps its row (its id is never reused) without phone,
 * password or name. Writes run alone or in the caller's transaction;
 * strings over their limit are refused (ERR_TOOBIG, nothing written).
 * Runs on the lws service thread, on the node's connection. */
#ifndef ALLIANCE_NODE_RESIDENT_STORE_H
#define ALLIANCE_NODE_RESIDENT_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "alliance_limits.h"
#include "relay.h"

/* v5's resident tables (node_civic_schema_v1 runs them with the other
 * civic tables: one migration, as it always was). */
#define RESIDENT_SCHEMA_V1 \
	"CREATE TABLE resident (" \
	"  id INTEGER PRIMARY KEY," \
	"  phone TEXT UNIQUE," \
	"  password_hash TEXT," \
	"  created INTEGER NOT NULL" \
	");" \
	"CREATE TABLE resident_token (" \
	"  hash BLOB PRIMARY KEY," \
	"  resident INTEGER NOT NULL," \
	"  created INTEGER NOT NULL" \
	") WITHOUT ROWID;" \
	"CREATE TABLE household_code (" \
	"  hash BLOB PRIMARY KEY," \
	"  created INTEGER NOT NULL," \
	"  resident INTEGER" \
	") WITHOUT ROWID;"

/* v11's part: mobile numbers registered with their country code kept as
 * their 11 digits (one that would clash with a number kept without it
 * stays as it was). */
#define RESIDENT_SCHEMA_V3 \
	"UPDATE OR IGNORE resident SET phone = substr(phone, 3) WHERE" \
	"  length(phone) = 13 AND phone GLOB '861[3-9]*';"

/* v12's part: the name a resident gives her account. */
#define RESIDENT_SCHEMA_V4 \
	"ALTER TABLE resident ADD COLUMN name TEXT NOT NULL DEFAULT '';"

/* v13's part (one resident, one vote): when and how a resident's phone
 * was confirmed (a code sent to it, or the manager); a token's last use,
 * for its expiry (tokens alive then count as used then); registrations
 * waiting for their phone's one-time code (its salted SHA-256, the scrypt
 * line of the password, the household code's SHA-256 it will redeem). */
#define RESIDENT_SCHEMA_V13 \
	"ALTER TABLE resident ADD COLUMN confirmed INTEGER NOT NULL" \
	"  DEFAULT 0;" \
	"ALTER TABLE resident ADD COLUMN confirmed_by TEXT NOT NULL" \
	"  DEFAULT '';" \
	"ALTER TABLE resident_token ADD COLUMN used INTEGER NOT NULL" \
	"  DEFAULT 0;" \
	"UPDATE resident_token SET used = CAST(strftime('%s', 'now') AS" \
	"  INTEGER);" \
	"CREATE INDEX resident_token_resident ON resident_token (resident);" \
	"CREATE TABLE phone_pending (" \
	"  phone TEXT PRIMARY KEY," \
	"  salt BLOB NOT NULL," \
	"  code_hash BLOB NOT NULL," \
	"  expires INTEGER NOT NULL," \
	"  attempts INTEGER NOT NULL DEFAULT 0," \
	"  password_hash TEXT NOT NULL," \
	"  name TEXT NOT NULL DEFAULT ''," \
	"  household BLOB" \
	") WITHOUT ROWID;"

/* Longest scrypt line stored (lib/password.h's are far shorter). */
#define RESIDENT_HASH_LINE_MAX 512
/* Salt of a one-time code's hash. */
#define RESIDENT_SALT_BYTES 16
/* Longest confirmed_by ("sms", "manager"). */
#define RESIDENT_CONFIRMED_BY_MAX 16

/* An account as read. */
struct resident_row {
	int64_t id;
	char phone[LIMIT_PHONE_DIGITS + 1]; /* "" when none (deleted, or a
					       household code alone) */
	char name[RELAY_NAME_MAX + 1];      /* "" when none */
	int64_t created;
	int64_t confirmed;                  /* when her phone was; 0: not */
	int household;                      /* she redeemed a household code */
};

/* A registration waiting for its phone's one-time code. */
struct resident_pending {
	unsigned char salt[RESIDENT_SALT_BYTES];
	unsigned char hash[32];             /* of salt, phone and code */
	int attempts;                       /* wrong codes so far */
	char *password_hash;                /* scrypt line (owned) */
	char *name;                         /* (owned) */
	unsigned char household[32];        /* a code's SHA-256 to redeem */
	int has_household;
};

struct resident_store;

/* resident_store_open: prepare every statement on db (migrated to v13 at
 * least). Stores a new resident_store in *out (resident_store_close it
 * before db is closed) and returns ERR_OK; else ERR_NOMEM or ERR_IO
 * (logged) and *out NULL. */
int resident_store_open(sqlite3 *db, struct resident_store **out);
/* resident_store_close: finalize, free *rs, NULL it; NULL is a no-op. */
void resident_store_close(struct resident_store **rs);

/* ---- accounts ---- */

/* resident_store_add: a new account (phone and hash_line NULL for a
 * household code alone; name "" for none) created at now, its phone
 * confirmed at now by confirmed_by ("sms") or not (NULL); its id in *id.
 * ERR_OK, ERR_INVALID (the phone is registered already), ERR_TOOBIG or
 * ERR_IO. */
int resident_store_add(struct resident_store *rs, const char *phone,
		       const char *hash_line, const char *name, int64_t now,
		       const char *confirmed_by, int64_t *id);
/* resident_store_get: account id into row. ERR_OK, ERR_NOTFOUND, ERR_IO. */
int resident_store_get(struct resident_store *rs, int64_t id,
		       struct resident_row *row);
/* resident_store_by_phone: the account registered with phone and, when
 * line is given, its password's hash line (strdup'd, the caller frees);
 * 0 when none (or on error). */
int64_t resident_store_by_phone(struct resident_store *rs, const char *phone,
				char **line);
/* resident_store_set_name: account id's name ("" for none). ERR_OK,
 * ERR_TOOBIG or ERR_IO. */
int resident_store_set_name(struct resident_store *rs, int64_t id,
			    const char *name);
/* resident_store_confirm: account id's phone confirmed at now by the
 * manager, when it has one not confirmed yet (a first confirmation
 * stays). ERR_OK or ERR_IO. */
int resident_store_confirm(struct resident_store *rs, int64_t id,
			   int64_t now);
/* resident_store_forget: account id loses its phone, password and name
 * (deleted). ERR_OK or ERR_IO. */
int resident_store_forget(struct resident_store *rs, int64_t id);
/* Called once for each account of a listing; row is the store's. */
typedef void (*resident_each_fn)(const struct resident_row *row, void *arg);
/* resident_store_unconfirmed: the accounts with a phone nobody confirmed
 * and no household code, newest first, at most limit. ERR_OK or ERR_IO. */
int resident_store_unconfirmed(struct resident_store *rs, int limit,
			       resident_each_fn each, void *arg);

/* ---- tokens ---- */

/* resident_store_bearer: the account of the token whose SHA-256 is hash
 * when it was used after now - idle_s, else 0; its last use becomes now
 * (written at most once per LIMIT_TOKEN_TOUCH_S). */
int64_t resident_store_bearer(struct resident_store *rs,
			      const unsigned char hash[32], int64_t now,
			      int64_t idle_s);
/* resident_store_token_add: token hash for account id, used now; the
 * tokens unused since now - idle_s are dropped on the way. ERR_OK or
 * ERR_IO (e.g. the hash is there already). */
int resident_store_token_add(struct resident_store *rs, int64_t id,
			     const unsigned char hash[32], int64_t now,
			     int64_t idle_s);
/* resident_store_token_drop: token hash stops working. ERR_OK or ERR_IO. */
int resident_store_token_drop(struct resident_store *rs,
			      const unsigned char hash[32]);
/* resident_store_tokens_drop: every token of account id stops working;
 * how many there were, or -1. */
int resident_store_tokens_drop(struct resident_store *rs, int64_t id);

/* ---- household codes ---- */

/* resident_store_code_add: a new household code (its SHA-256) made at
 * now. ERR_OK or ERR_IO. */
int resident_store_code_add(struct resident_store *rs,
			    const unsigned char hash[32], int64_t now);
/* resident_store_code_usable: 1 when code hash was handed out and nobody
 * redeemed it, else 0. */
int resident_store_code_usable(struct resident_store *rs,
			       const unsigned char hash[32]);
/* resident_store_code_claim: give the unused code hash to account id: 1
 * when claimed, 0 when it is unknown or used, -1 on error. */
int resident_store_code_claim(struct resident_store *rs,
			      const unsigned char hash[32], int64_t id);

/* ---- registrations waiting for a code ---- */

/* resident_store_pending_put: phone's registration waiting for its code
 * (replacing one of the same phone) until expires; the ones expired by
 * now dropped on the way. household NULL for none. ERR_OK, ERR_TOOBIG or
 * ERR_IO. */
int resident_store_pending_put(struct resident_store *rs, const char *phone,
			       const struct resident_pending *p,
			       int64_t expires, int64_t now);
/* resident_store_pending_get: phone's registration alive at now into p
 * (free with resident_pending_free). ERR_OK, ERR_NOTFOUND, ERR_NOMEM or
 * ERR_IO. */
int resident_store_pending_get(struct resident_store *rs, const char *phone,
			       int64_t now, struct resident_pending *p);
/* resident_store_pending_miss: a wrong code for phone counted. */
void resident_store_pending_miss(struct resident_store *rs,
				 const char *phone);
/* resident_store_pending_drop: phone's registration gone. */
void resident_store_pending_drop(struct resident_store *rs,
				 const char *phone);
/* resident_pending_free: free p's strings, wipe its hashes. */
void resident_pending_free(struct resident_pending *p);

#endif
