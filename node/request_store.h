/* request_store.h: a node's service requests in its sqlite store: the
 * tables, their rows as structs, and every statement on them (prepared
 * once, when the node starts). The HTTP handlers (requests.c,
 * request_follow.c, request_queue.c, account.c) parse, call this and
 * reply; they hold no SQL of their own.
 *
 * Tables (the node's migrations in store.c make them):
 *   request       v5 (REQUEST_SCHEMA_V1, within node_civic_schema_v1),
 *                 v9 (request_schema_v2: delivered, withdrawn, preferred,
 *                 relative_name, relative_phone), v12 (REQUEST_SCHEMA_V4:
 *                 erased, within node_civic_schema_v4), v15 (urgent:
 *                 REQUEST_SCHEMA_URGENT, within node/checkin.c's
 *                 migration);
 *   request_step  v9 (request_schema_v2).
 *
 * A request row holds both the requests our residents sent (origin = us)
 * and the requests for our services (owner = us); both when we serve our
 * own. version is the request's (its origin writes it), status_version
 * the last status's (its owner writes it). A step (request_step) is keyed
 * by version: REQUEST_STEP_SUBMITTED and REQUEST_STEP_DELIVERED are
 * fixed, a status or withdrawal has its own (microseconds, far above).
 *
 * Every write runs in the caller's transaction (store_exec BEGIN ...),
 * since a request and its relay outbox record go together; strings the
 * store writes are held to relay.h's limits (ERR_TOOBIG, nothing
 * written). Runs on the lws service thread, on the node's connection. */
#ifndef ALLIANCE_NODE_REQUEST_STORE_H
#define ALLIANCE_NODE_REQUEST_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "alliance_limits.h"
#include "relay.h"

/* v5's request table (node_civic_schema_v1 runs it with the other civic
 * tables: one migration, as it always was). */
#define REQUEST_SCHEMA_V1 \
	"CREATE TABLE request (" \
	"  origin TEXT NOT NULL," \
	"  id TEXT NOT NULL," \
	"  owner TEXT NOT NULL," \
	"  service_id TEXT NOT NULL," \
	"  service_name TEXT NOT NULL DEFAULT ''," \
	"  description TEXT NOT NULL DEFAULT ''," \
	"  name TEXT NOT NULL DEFAULT ''," \
	"  phone TEXT NOT NULL DEFAULT ''," \
	"  email TEXT NOT NULL DEFAULT ''," \
	"  address TEXT NOT NULL DEFAULT ''," \
	"  has_location INTEGER NOT NULL DEFAULT 0," \
	"  lat REAL, lon REAL," \
	"  token_hash BLOB," \
	"  resident INTEGER," \
	"  requested INTEGER NOT NULL," \
	"  version INTEGER NOT NULL," \
	"  status TEXT NOT NULL DEFAULT 'open'," \
	"  notes TEXT NOT NULL DEFAULT ''," \
	"  scheduled INTEGER NOT NULL DEFAULT 0," \
	"  updated INTEGER NOT NULL," \
	"  status_version INTEGER NOT NULL DEFAULT 0," \
	"  PRIMARY KEY (origin, id)" \
	") WITHOUT ROWID;" \
	"CREATE INDEX request_owner ON request (owner, requested);" \
	"CREATE INDEX request_resident ON request (resident);"

/* v12's part: requests whose resident deleted her account, their personal
 * data blanked (relay.h's erasure). */
#define REQUEST_SCHEMA_V4 \
	"ALTER TABLE request ADD COLUMN erased INTEGER NOT NULL DEFAULT 0;"

/* The service id of the requests a check-in's "needs help" files
 * (node/checkin.c), served at home: kept at this node only, never
 * relayed (request_queue.c sends no status of them to the hub), left out
 * of the public listing. */
#define CHECKIN_SERVICE_ID "check-in"

/* v15's part: a request first in the queue while open (a check-in's
 * "needs help", node/checkin.c). */
#define REQUEST_SCHEMA_URGENT \
	"ALTER TABLE request ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;"

/* v9, whole: what the resident follows: the owner's receipt (delivered),
 * her withdrawal, her preferred time, the relative she asks for, and
 * every step with its time. */
extern const char request_schema_v2[];

/* request_step keys: the submission and the owner's receipt. */
#define REQUEST_STEP_SUBMITTED 0
#define REQUEST_STEP_DELIVERED 1

/* A request as stored. Strings are owned (never NULL once read) and freed
 * by request_row_free. */
struct request_row {
	char *origin, *id, *owner, *service_id, *service_name;
	char *description, *status, *notes;
	char *name, *phone, *email, *address, *preferred;
	char *relative_name, *relative_phone;
	int64_t scheduled, requested, updated, withdrawn, delivered;
	int has_location;
	double lat, lon;
	int has_token;                 /* token_hash is set */
	unsigned char token_hash[32];  /* SHA-256 of the request's secret */
	int64_t resident;              /* the account that sent it; 0: none */
	int erased;                    /* personal data blanked */
	int urgent;                    /* first in the queue while open (a
					  check-in's "needs help") */
};

/* A step of a request, as read (its strings the store's, never NULL). */
struct request_step {
	const char *status, *notes;
	int64_t at, scheduled;
};

struct request_store;

/* request_store_open: prepare every statement on db (migrated to v12 at
 * least). Stores a new request_store in *out (request_store_close it
 * before db is closed) and returns ERR_OK; else ERR_NOMEM or ERR_IO
 * (logged) and *out NULL. */
int request_store_open(sqlite3 *db, struct request_store **out);
/* request_store_close: finalize, free *rs, NULL it; NULL is a no-op. */
void request_store_close(struct request_store **rs);

/* request_row_free: free row's strings and zero it. */
void request_row_free(struct request_row *row);

/* request_store_add: a new request this node's resident sent (ch: a
 * KIND_REQUEST Change whose origin is ours), named service_name, its
 * secret's SHA-256 th and the account resident (0: none). Served at home
 * (owner = origin) it is delivered at once. ERR_OK, ERR_TOOBIG (a field
 * over relay.h's limit), ERR_IO (e.g. the id is taken). */
int request_store_add(struct request_store *rs, const Change *ch,
		      const char *service_name, const unsigned char th[32],
		      int64_t resident);

/* request_store_apply: a request for our service from the hub (or a newer
 * version of one: only its withdrawn mark and version move), received at
 * now, under the version rule; *changed says whether a row was written.
 * ERR_OK, ERR_TOOBIG or ERR_IO. */
int request_store_apply(struct request_store *rs, const Change *ch,
			const char *service_name, int64_t now, int *changed);

/* request_store_get: the request (origin, id) into row (free with
 * request_row_free); row NULL only asks whether it is there. ERR_OK,
 * ERR_NOTFOUND or ERR_IO. */
int request_store_get(struct request_store *rs, const char *origin,
		      const char *id, struct request_row *row);
/* request_store_find: the request id of any origin, prefer's first. As
 * request_store_get. */
int request_store_find(struct request_store *rs, const char *id,
		       const char *prefer, struct request_row *row);
/* request_store_owned: the origin (origin_len bytes) and the withdrawn
 * and delivered times of the request id owned by owner. ERR_OK,
 * ERR_NOTFOUND or ERR_IO. */
int request_store_owned(struct request_store *rs, const char *owner,
			const char *id, char *origin, size_t origin_len,
			int64_t *withdrawn, int64_t *delivered);
/* request_store_owner_is: 1 when the request (origin, id) is stored and
 * owned by owner, else 0. */
int request_store_owner_is(struct request_store *rs, const char *origin,
			   const char *id, const char *owner);
/* request_store_sent_since: how many requests origin sent owner since
 * (requested > since); 0 on error. */
int64_t request_store_sent_since(struct request_store *rs, const char *owner,
				 const char *origin, int64_t since);

/* Called once for each row a listing reads, in order; row and extra are
 * the store's until it returns; nonzero stops the listing. */
typedef int (*request_each_fn)(const struct request_row *row, void *arg);

/* Status filters of request_store_list. */
enum request_state { REQUEST_ANY, REQUEST_OPEN, REQUEST_CLOSED };

/* request_store_list: the public listing (no check-in's "needs help"),
 * latest received first, at most limit rows: ids (a JSON array text of
 * ids) overrides the rest; else codes (JSON array of "OWNER.SERVICE_ID", NULL: any), requested within
 * [start, end] (0: open-ended), state. ERR_OK or ERR_IO. */
int request_store_list(struct request_store *rs, const char *ids,
		       const char *codes, int64_t start, int64_t end,
		       enum request_state state, int limit,
		       request_each_fn each, void *arg);
/* request_store_mine: origin's requests sent by resident, newest first,
 * at most limit. ERR_OK or ERR_IO. */
int request_store_mine(struct request_store *rs, const char *origin,
		       int64_t resident, int limit, request_each_fn each,
		       void *arg);
/* request_store_ids_of: the ids of origin's requests sent by resident, as
 * a new JSON array (NULL on error): read before they are changed. */
json_t *request_store_ids_of(struct request_store *rs, const char *origin,
			     int64_t resident);

/* Called once for each row of the queue, with when we received it (the
 * receipt's time, else the origin's requested time). */
typedef int (*request_queue_fn)(const struct request_row *row,
				int64_t received, void *arg);
/* request_store_queue: owner's queue from offset after, at most limit
 * rows: open first (urgent ones first), by turn (every origin's longest-waiting request,
 * owner's own first, then every origin's second...), closed (done,
 * declined or withdrawn) last, the latest change first. ERR_OK or
 * ERR_IO. */
int request_store_queue(struct request_store *rs, const char *owner,
			int64_t limit, int64_t after, request_queue_fn each,
			void *arg);
/* Called once for each origin with requests in owner's queue, the most
 * open first: its total and open requests. */
typedef void (*request_count_fn)(const char *origin, int64_t total,
				 int64_t open, void *arg);
/* request_store_queue_counts: owner's queue by origin. ERR_OK, ERR_IO. */
int request_store_queue_counts(struct request_store *rs, const char *owner,
			       request_count_fn each, void *arg);

/* request_store_open_count: open requests (neither done, declined nor
 * withdrawn) in owner's queue; -1 on error. */
int64_t request_store_open_count(struct request_store *rs, const char *owner);

/* request_store_set_status: status (with notes, scheduled, updated) of
 * (origin, id) at status version version; delivered > 0 sets the receipt's
 * time. only_newer: only over an older status version (the hub's
 * records); else always (the owner's own). *changed: a row was written.
 * ERR_OK, ERR_INVALID (not relay_status_valid), ERR_TOOBIG or ERR_IO. */
int request_store_set_status(struct request_store *rs, const char *origin,
			     const char *id, const char *status,
			     const char *notes, int64_t scheduled,
			     int64_t updated, uint64_t version,
			     int64_t delivered, int only_newer, int *changed);
/* request_store_decline: (origin, id) declined at now with reason as its
 * notes (the hub refused it). ERR_OK or ERR_IO. */
int request_store_decline(struct request_store *rs, const char *origin,
			  const char *id, const char *reason, int64_t now);
/* request_store_set_version: (origin, id)'s new version, withdrawn time
 * and updated time (its origin rewrote it). ERR_OK or ERR_IO. */
int request_store_set_version(struct request_store *rs, const char *origin,
			      const char *id, int64_t withdrawn,
			      uint64_t version, int64_t updated);
/* request_store_erase: blank the personal fields of (origin, id) (those
 * relay_request_erase empties) and mark it erased. ERR_OK or ERR_IO. */
int request_store_erase(struct request_store *rs, const char *origin,
			const char *id);
/* request_store_set_urgent: (origin, id) goes first in its owner's
 * queue while open (node/checkin.c: "needs help"). ERR_OK or ERR_IO. */
int request_store_set_urgent(struct request_store *rs, const char *origin,
			     const char *id);
/* request_store_unlink: no request is resident's any more (her account
 * is deleted). ERR_OK or ERR_IO. */
int request_store_unlink(struct request_store *rs, int64_t resident);

/* request_store_step_put: step status of (origin, id) at time at (notes
 * NULL for none, a scheduled time for a status), keyed by version; a
 * step already there stays. ERR_OK, ERR_TOOBIG or ERR_IO. */
int request_store_step_put(struct request_store *rs, const char *origin,
			   const char *id, uint64_t version,
			   const char *status, int64_t at, const char *notes,
			   int64_t scheduled);
/* Called once for each step, oldest first; step is the store's until it
 * returns. */
typedef void (*request_step_fn)(const struct request_step *step, void *arg);
/* request_store_steps: the steps of (origin, id), oldest first. ERR_OK or
 * ERR_IO. */
int request_store_steps(struct request_store *rs, const char *origin,
			const char *id, request_step_fn each, void *arg);

#endif
