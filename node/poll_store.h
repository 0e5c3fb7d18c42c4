/* poll_store.h: a node's polls in its sqlite store: the polls (ours and
 * the district's), the votes of its residents, the other communities'
 * tallies of district polls and the phones that voted; the tables, their
 * rows as structs and every statement on them (prepared once, when the
 * node starts). The HTTP handlers (polls.c, voters.c, account.c) parse,
 * call this and reply.
 *
 * Tables (the node's migrations in store.c make them):
 *   poll, vote   v5 (POLL_SCHEMA_V1, within node_civic_schema_v1);
 *   poll_tally   v11 (POLL_SCHEMA_V3, within node_civic_schema_v3);
 *   vote_phone   v13 (POLL_SCHEMA_V13).
 *
 * A poll is written only through relay_store_poll (lib/relay.h: the
 * version rule the hub keeps too); a vote is one per (poll, resident) by
 * the table's key and never changes; a tally of another community is
 * kept under the version rule; a phone (a keyed hash, voters.c) votes
 * once per poll while the poll is open. Writes run in the caller's
 * transaction. Runs on the lws service thread, on the node's connection. */
#ifndef ALLIANCE_NODE_POLL_STORE_H
#define ALLIANCE_NODE_POLL_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "alliance_limits.h"
#include "relay.h"

/* v5's poll and vote tables (node_civic_schema_v1 runs them with the
 * other civic tables: one migration, as it always was). */
#define POLL_SCHEMA_V1 \
	"CREATE TABLE poll (" \
	RELAY_POLL_COLUMNS \
	"  PRIMARY KEY (origin, id)" \
	") WITHOUT ROWID;" \
	"CREATE TABLE vote (" \
	"  poll_origin TEXT NOT NULL," \
	"  poll_id TEXT NOT NULL," \
	"  resident INTEGER NOT NULL," \
	"  option INTEGER NOT NULL," \
	"  created INTEGER NOT NULL," \
	"  PRIMARY KEY (poll_origin, poll_id, resident)" \
	") WITHOUT ROWID;"

/* v11's part: the other communities' tallies of district polls, as the
 * hub relays them, so a node shows the district-wide result. */
#define POLL_SCHEMA_V3 RELAY_TALLY_TABLE("poll_tally")

/* v13's part: the phones (keyed hashes) that voted in polls still open,
 * so a deleted account's phone registered again cannot vote twice. */
#define POLL_SCHEMA_V13 \
	"CREATE TABLE vote_phone (" \
	"  poll_origin TEXT NOT NULL," \
	"  poll_id TEXT NOT NULL," \
	"  phone_key BLOB NOT NULL," \
	"  PRIMARY KEY (poll_origin, poll_id, phone_key)" \
	") WITHOUT ROWID;"

/* A poll as read. */
struct poll_row {
	char origin[LIMIT_COMMUNITY_ID + 1];
	char id[LIMIT_RECORD_ID + 1];
	char *question;             /* (owned) */
	json_t *options;            /* array of strings (owned; [] when the
				       stored text is none) */
	int64_t opens, closes;
};

/* A resident's vote as read, with its poll. Strings are the store's. */
struct poll_vote {
	const char *poll_origin, *poll_id, *question, *options;
	int64_t option, created, closes;
};

struct poll_store;

/* poll_store_open: prepare every statement on db (migrated to v13 at
 * least). Stores a new poll_store in *out (poll_store_close it before db
 * is closed) and returns ERR_OK; else ERR_NOMEM or ERR_IO (logged) and
 * *out NULL. */
int poll_store_open(sqlite3 *db, struct poll_store **out);
/* poll_store_close: finalize, free *ps, NULL it; NULL is a no-op. */
void poll_store_close(struct poll_store **ps);

/* poll_row_free: free row's question and options and zero it. */
void poll_row_free(struct poll_row *row);

/* poll_store_get: poll (origin, id) into row (free with poll_row_free).
 * ERR_OK, ERR_NOTFOUND, ERR_NOMEM or ERR_IO. */
int poll_store_get(struct poll_store *ps, const char *origin, const char *id,
		   struct poll_row *row);
/* Called once for each poll of a listing; row is the store's. */
typedef void (*poll_each_fn)(const struct poll_row *row, void *arg);
/* poll_store_list: the polls open at now first, then the newest opened
 * first, at most limit. ERR_OK, ERR_NOMEM or ERR_IO. */
int poll_store_list(struct poll_store *ps, int64_t now, int limit,
		    poll_each_fn each, void *arg);
/* poll_store_n_options: how many options poll (origin, id) has; -1 when
 * it is not stored (or on error). */
int poll_store_n_options(struct poll_store *ps, const char *origin,
			 const char *id);

/* poll_store_counts: this node's votes of poll (origin, id) per option
 * into counts[0..n) (zeroed first; options past n ignored). ERR_OK or
 * ERR_IO. */
int poll_store_counts(struct poll_store *ps, const char *origin,
		      const char *id, uint64_t *counts, size_t n);
/* poll_store_my_vote: the option resident chose in the poll, or -1. */
int64_t poll_store_my_vote(struct poll_store *ps, const char *origin,
			   const char *id, int64_t resident);
/* poll_store_vote: resident's vote for option at now: 1 stored, 0 she
 * had voted already (nothing changed), -1 on error. */
int poll_store_vote(struct poll_store *ps, const char *origin,
		    const char *id, int64_t resident, int64_t option,
		    int64_t now);
/* Called once for each of a resident's votes; v is the store's. */
typedef void (*poll_vote_fn)(const struct poll_vote *v, void *arg);
/* poll_store_votes_of: resident's votes, newest first, at most limit.
 * ERR_OK or ERR_IO. */
int poll_store_votes_of(struct poll_store *ps, int64_t resident, int limit,
			poll_vote_fn each, void *arg);

/* poll_store_tally_put: community's counts (a JSON array text) of poll
 * (poll_origin, poll_id) at version, updated at updated, under the
 * version rule. ERR_OK, ERR_TOOBIG (counts over LIMIT_CHANGE_BYTES) or
 * ERR_IO. */
int poll_store_tally_put(struct poll_store *ps, const char *poll_origin,
			 const char *poll_id, const char *community,
			 uint64_t version, const char *counts,
			 int64_t updated);
/* Called once for each other community's tally; strings the store's. */
typedef void (*poll_tally_fn)(const char *community, const char *counts,
			      void *arg);
/* poll_store_tallies: the tallies of poll (origin, id) but except's, by
 * community. ERR_OK or ERR_IO. */
int poll_store_tallies(struct poll_store *ps, const char *origin,
		       const char *id, const char *except, poll_tally_fn each,
		       void *arg);

/* poll_store_claim_phone: the phone whose key is key votes in poll
 * (origin, id): 1 when it had not, 0 when it had, -1 on error; the keys
 * of polls closed by now are dropped first. */
int poll_store_claim_phone(struct poll_store *ps, const char *origin,
			   const char *id, const unsigned char key[32],
			   int64_t now);

#endif
