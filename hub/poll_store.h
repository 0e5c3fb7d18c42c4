/* poll_store.h: the hub's polls in its sqlite store: district polls (with
 * their packed Change, for the relay), the communities' own polls and
 * every community's tally; the tables, their rows as structs and every
 * statement on them (prepared once, when the store opens). hub/polls.c
 * keeps the rules (who may send which tally, what goes down to whom) and
 * calls this.
 *
 * Tables (the hub's migrations in store.c make them):
 *   poll, tally  6 (HUB_POLL_SCHEMA_V1, within hub_relay_schema_v1),
 *                14 (hub_polls_schema_v2: tallies against the rules
 *                dropped).
 *
 * A community's own poll is written through relay_store_poll (lib/relay.h:
 * the version rule the nodes keep too); a district poll only here, once.
 * A tally is kept under the version rule. Writes run alone or in the
 * caller's transaction. Runs on the lws service thread. */
#ifndef ALLIANCE_HUB_POLL_STORE_H
#define ALLIANCE_HUB_POLL_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "alliance_limits.h"
#include "relay.h"

/* Migration 6's poll and tally tables (hub_relay_schema_v1 runs them with
 * the relay's tables: one migration, as it always was). */
#define HUB_POLL_SCHEMA_V1 \
	"CREATE TABLE poll (" \
	RELAY_POLL_COLUMNS \
	"  area TEXT NOT NULL DEFAULT '[]'," \
	"  body BLOB," \
	"  PRIMARY KEY (origin, id)" \
	") WITHOUT ROWID;" \
	RELAY_TALLY_TABLE("tally")

/* Migration 14: the tallies a node could store before polls.c held them
 * to its rules and that break them (a count that wrapped negative or is
 * over RELAY_VOTES_MAX, over it in all, a tally of another community's
 * poll or from a community outside a district poll's area). */
extern const char hub_polls_schema_v2[];

/* A poll as read. */
struct hub_poll_row {
	char origin[LIMIT_COMMUNITY_ID + 1];
	char id[LIMIT_RECORD_ID + 1];
	char *question;               /* (owned) */
	json_t *options;              /* array of strings (owned) */
	json_t *area;                 /* array of community ids, [] for all
					 (owned) */
	int64_t opens, closes;
	uint64_t version;
};

/* A stored tally, as a relay row for a destination is made from it. */
struct hub_tally {
	const char *poll_id, *community, *counts;  /* the store's */
	const json_t *area;           /* its district poll's area */
	uint64_t version;
	int64_t updated;
};

struct hub_poll_store;

/* hub_poll_store_open: prepare every statement on db (migrated). Stores
 * a new hub_poll_store in *out (close it before db is closed) and returns
 * ERR_OK; else ERR_NOMEM or ERR_IO (logged) and *out NULL. */
int hub_poll_store_open(sqlite3 *db, struct hub_poll_store **out);
/* hub_poll_store_close: finalize, free *ps, NULL it; NULL is a no-op. */
void hub_poll_store_close(struct hub_poll_store **ps);

/* hub_poll_row_free: free row's strings and arrays and zero it. */
void hub_poll_row_free(struct hub_poll_row *row);

/* hub_poll_store_get: poll (origin, id) into row (free with
 * hub_poll_row_free). ERR_OK, ERR_NOTFOUND, ERR_NOMEM or ERR_IO. */
int hub_poll_store_get(struct hub_poll_store *ps, const char *origin,
		       const char *id, struct hub_poll_row *row);
/* hub_poll_store_add: a new district poll (origin, id) at version, its
 * options and area as JSON array texts, and its packed Change body[0..len)
 * for the relay. ERR_OK, ERR_TOOBIG (the question over
 * RELAY_QUESTION_MAX, a text or the body over LIMIT_CHANGE_BYTES) or
 * ERR_IO (e.g. the id is taken). */
int hub_poll_store_add(struct hub_poll_store *ps, const char *origin,
		       const char *id, uint64_t version, const char *question,
		       const char *options, int64_t opens, int64_t closes,
		       const char *area, const uint8_t *body, size_t len);
/* Called once for each poll of a listing. */
typedef void (*hub_poll_key_fn)(const char *origin, const char *id,
				void *arg);
/* hub_poll_store_list: at most limit polls: open at now first; among
 * them and then among the closed the district's first, then the
 * communities' in turns (each one's newest, then each one's second...).
 * ERR_OK or ERR_IO. */
int hub_poll_store_list(struct hub_poll_store *ps, int64_t now, int limit,
			hub_poll_key_fn each, void *arg);
/* hub_poll_store_relay_polls: a relay row (kind KIND_POLL, created now)
 * for destination of every district poll in its area it has not had.
 * ERR_OK or ERR_IO. */
int hub_poll_store_relay_polls(struct hub_poll_store *ps,
			       const char *destination, int64_t now);

/* hub_poll_store_tally: community's stored counts of poll (origin, id)
 * (a new reference) and their version, or NULL and 0 when it sent none. */
json_t *hub_poll_store_tally(struct hub_poll_store *ps, const char *origin,
			     const char *id, const char *community,
			     int64_t *version);
/* hub_poll_store_tally_put: community's counts (a JSON array text) of
 * poll (origin, id) at version, updated at updated, under the version
 * rule; *changed when stored. ERR_OK, ERR_TOOBIG (counts over
 * LIMIT_CHANGE_BYTES) or ERR_IO. */
int hub_poll_store_tally_put(struct hub_poll_store *ps, const char *origin,
			     const char *id, const char *community,
			     uint64_t version, const char *counts,
			     int64_t updated, int *changed);
/* Called once for each community's tally of a poll; strings the store's. */
typedef void (*hub_tally_fn)(const char *community, const char *counts,
			     int64_t updated, void *arg);
/* hub_poll_store_tallies: the tallies of poll (origin, id) by community.
 * ERR_OK or ERR_IO. */
int hub_poll_store_tallies(struct hub_poll_store *ps, const char *origin,
			   const char *id, hub_tally_fn each, void *arg);
/* Called once for each tally of hub_poll_store_recent_tallies. */
typedef void (*hub_tally_row_fn)(const struct hub_tally *t, void *arg);
/* hub_poll_store_recent_tallies: every tally but except's of the district
 * polls that closed after since. ERR_OK or ERR_IO. */
int hub_poll_store_recent_tallies(struct hub_poll_store *ps,
				  const char *except, int64_t since,
				  hub_tally_row_fn each, void *arg);

#endif
