/* bulletin_store.h: bulletins in a daemon's sqlite store, and the public
 * bulletin endpoints both daemons serve from it.
 *
 * Hub and node keep the same two tables: bulletin (the signed bytes and
 * signature verbatim, the parsed fields, when it was stored here and, at
 * the hub, which operator posted it) and bulletin_ref (which bulletin an
 * update or cancel replaces). A bulletin's status is worked out when it is
 * read, so a cancel that arrives before what it cancels still counts:
 * "cancelled" or "updated" when a stored cancel or update references it,
 * else "expired" past its expiry, else "current".
 *
 * Public endpoints (GET only): /api/v1/bulletins (JSON, current first),
 * /api/v1/bulletins/{id} (JSON), /api/v1/bulletins/{id}.cap (CAP 1.2 XML),
 * /api/v1/bulletins.atom (Atom feed of the current ones). */
#ifndef ALLIANCE_BULLETIN_STORE_H
#define ALLIANCE_BULLETIN_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "bulletin.h"
#include "bulletin_render.h"
#include "http.h"

/* Most bulletins one list or feed shows (newest first within each part). */
#define BULLETIN_LIST_MAX 200

/* What bulletin_store_put did. */
enum bulletin_put {
	BULLETIN_STORED,            /* new: stored */
	BULLETIN_REPLAY,            /* the same signed bytes were stored before */
	BULLETIN_CONFLICT,          /* that id is stored with other bytes */
};

/* Migration SQL creating the bulletin tables; each daemon lists it among
 * its store migrations. */
extern const char bulletin_schema_v1[];

/* The statements of bulletin_store_put on one connection, prepared once:
 * a node stores every bulletin it receives, and preparing them each time
 * cost three times as much as running them (~19 us of ~24). */
struct bulletin_store;

/* bulletin_store_open: prepare the statements on db (already migrated to
 * bulletin_schema_v1). Stores a new bulletin_store in *out (free with
 * bulletin_store_close before db is closed; db stays the caller's) and
 * returns ERR_OK; otherwise ERR_NOMEM or ERR_IO (logged) and *out NULL. */
int bulletin_store_open(sqlite3 *db, struct bulletin_store **out);

/* bulletin_store_close: finalize the statements, free *bs, set it to
 * NULL; NULL or *bs NULL is a no-op. */
void bulletin_store_close(struct bulletin_store **bs);

/* bulletin_store_put: store a verified bulletin (c decoded from signed)
 * with its references, in the caller's transaction on bs's connection.
 * posted_by may be NULL. Sets *outcome. ERR_OK, ERR_NOMEM or ERR_IO. */
int bulletin_store_put(struct bulletin_store *bs,
		       const uint8_t *signed_content,
		       size_t signed_len, const uint8_t *sig, size_t sig_len,
		       const BulletinContent *c, const char *posted_by,
		       int64_t received_ms, enum bulletin_put *outcome);

/* A stored bulletin as read back. */
struct bulletin_row {
	BulletinContent *c;         /* decoded signed bytes (owned) */
	uint8_t *signed_content;    /* verbatim (owned) */
	size_t signed_len;
	uint8_t *sig;               /* (owned) */
	size_t sig_len;
	char status[16];            /* current, expired, cancelled, updated */
	char posted_by[201];        /* "" at nodes */
	int64_t received_ms;        /* stored here, unix ms */
	int64_t seq;                /* its sequence in this store */
};

/* bulletin_store_get: read bulletin id into row (free with
 * bulletin_row_free) with its status at now. ERR_OK, ERR_NOTFOUND, ERR_IO. */
int bulletin_store_get(sqlite3 *db, const char *id, int64_t now,
		       struct bulletin_row *row);
void bulletin_row_free(struct bulletin_row *row);

/* A bulletin's sequence in a store is its rowid: 1, 2, 3... in the order
 * stored, as bulletins are never deleted (and the stores are never
 * VACUUMed), so it survives a restart and names a point in the stream
 * (the live feed's event ids, node/bulletin.c). */

/* bulletin_store_next: the sequence (*seq, 0 when none) and id (into id
 * of idlen bytes) of the first bulletin stored after sequence after
 * whose expiry is past now. ERR_OK or ERR_IO. */
int bulletin_store_next(sqlite3 *db, int64_t after, int64_t now,
			int64_t *seq, char *id, size_t idlen);

/* bulletin_store_last_seq: the sequence of the last bulletin stored (0:
 * none) in *seq. ERR_OK or ERR_IO. */
int bulletin_store_last_seq(sqlite3 *db, int64_t *seq);

/* bulletin_store_replay_from: where to start (*from, at least after) so
 * that at most max bulletins not expired at now follow: the newest ones
 * of those stored after sequence after. ERR_OK or ERR_IO. */
int bulletin_store_replay_from(sqlite3 *db, int64_t after, int64_t now,
			       int64_t max, int64_t *from);

/* bulletin_json: a bulletin as the API shows it (new reference, NULL on
 * no memory): its fields (headline_en and the other English texts ""
 * when it has none), status, and the address of its CAP document. */
json_t *bulletin_json(const BulletinContent *c, const char *status);

/* bulletin_store_list: {"items":[...]} of at most BULLETIN_LIST_MAX
 * bulletins, current ones first then the rest, newest first within each;
 * only current ones when current_only. New reference in *out. ERR_OK,
 * ERR_IO or ERR_NOMEM. */
int bulletin_store_list(sqlite3 *db, int64_t now, int current_only,
			json_t **out);

/* bulletin_each_fn: called per listed bulletin with its decoded content
 * (freed after the call) and status; returns ERR_OK to go on. */
typedef int (*bulletin_each_fn)(const BulletinContent *c, const char *status,
				void *arg);

/* bulletin_store_each: call fn for at most BULLETIN_LIST_MAX bulletins
 * as bulletin_store_list orders them (current ones first, newest first),
 * or, when by_severity, current ones first by severity (extreme first),
 * then newest first; only current ones when current_only. Stops at the
 * first code fn returns other than ERR_OK and returns it; else ERR_OK or
 * ERR_IO. */
int bulletin_store_each(sqlite3 *db, int64_t now, int current_only,
			int by_severity, bulletin_each_fn fn, void *arg);

/* The public bulletin endpoints (route tables' rows call them): the title
 * of the Atom feed, and base_url, the daemon's [public] url, for the
 * absolute links of Atom and CAP. */

/* bulletin_http_list: GET /api/v1/bulletins. */
void bulletin_http_list(sqlite3 *db, struct lws *wsi,
			struct http_exchange *ex);

/* bulletin_http_atom: GET /api/v1/bulletins.atom. */
void bulletin_http_atom(sqlite3 *db, struct lws *wsi,
			struct http_exchange *ex, const char *feed_title,
			const char *base_url);

/* bulletin_http_one: GET /api/v1/bulletins/{id}, or its CAP document
 * (/api/v1/bulletins/{id}.cap) when cap; 404 for an id not valid. */
void bulletin_http_one(sqlite3 *db, struct lws *wsi, struct http_exchange *ex,
		       const char *id, int cap, const char *base_url);

#endif
