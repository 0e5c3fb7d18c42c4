/* relay.h: the records that travel in Relay frames (service requests,
 * their statuses, polls, tallies, check-in counts): limits, validation and packing shared
 * by hub and node.
 *
 * Both ends hold every Change they receive to relay_check before storing
 * anything, so a peer cannot slip past the limits a resident's input
 * keeps. Records are kept in stores as packed Change bytes (relay_pack,
 * relay_unpack) until they are acked.
 *
 * Following a request (proto: Request, RequestStatus): the owner's receipt
 * is a RequestStatus "open" with delivered set, written when the owner
 * first stores the request, and every later status repeats delivered; a
 * withdrawal is a newer version of the Request with withdrawn set. Both
 * are ordinary relayed records to peers that predate them.
 *
 * Request ids are scoped by origin: a request's id is its origin's
 * community id, a dot and 16 random hex digits (relay_request_id), so no
 * community can file a request under another's id. The hub and the owner
 * hold the first version of a request they store to
 * relay_request_new_check (the id in its origin's namespace, the personal
 * fields as the resident's node takes them at its Open311 POST); a newer
 * version of one already stored (withdrawn, erased) is not held to it, so
 * a request made before ids were scoped can still be withdrawn.
 *
 * Erasure (the resident deleted her account): her node writes a newer
 * version of each of her requests with erased set and every personal
 * field empty (relay_request_erase), withdrawn as well when it was not yet
 * done, declined or withdrawn; relay_check refuses an erased version that
 * still carries personal data. Whoever stores an erased version blanks
 * the personal fields of its own copy (a node: request_store_erase); a later
 * version never brings them back. The hub relays it like any version. */
#ifndef ALLIANCE_RELAY_H
#define ALLIANCE_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "alliance_limits.h"
#include "wire.h"

typedef Alliance__V1__Change Change; /* as catalog.h names it */

/* The origin of district polls: the hub writes them, no node ever may
 * (no community may be registered under this id). */
#define RELAY_DISTRICT "district"

/* Field limits (bytes), but for the description: Open311's 4,000
 * characters (its "POST Service Request"), so up to 4 bytes each. */
#define RELAY_DESCRIPTION_MAX 4000
#define RELAY_DESCRIPTION_BYTES (4 * RELAY_DESCRIPTION_MAX)
#define RELAY_NAME_MAX 200
#define RELAY_PHONE_MAX 40
#define RELAY_EMAIL_MAX 200
#define RELAY_ADDRESS_MAX 400
#define RELAY_NOTES_MAX 2000
/* A request's preferred time: "YYYY-MM-DD" and a part of the day. */
#define RELAY_PREFERRED_MAX 24
#define RELAY_QUESTION_MAX 500
#define RELAY_OPTION_MAX 200
/* Options of one poll. */
#define RELAY_OPTIONS_MIN 2
#define RELAY_OPTIONS_MAX 10
/* Changes in one Relay frame; more wait for the ack. */
#define RELAY_BATCH 64
/* Longest a poll may stay open. */
#define RELAY_POLL_LIFETIME_S (366 * 24 * 3600)
/* Communities a district poll's area may list. */
#define RELAY_AREA_MAX 1024
/* Votes one community's tally may count, per option and in all: far above
 * any community's population, so an honest node never meets it, and far
 * below what would let a sum over every community leave 64 bits. */
#define RELAY_VOTES_MAX 10000000
/* Each count of a community's check-in (proto: CheckInCounts), as
 * RELAY_VOTES_MAX: far above any community's population. */
#define RELAY_CHECKIN_COUNT_MAX RELAY_VOTES_MAX
/* How long after a poll's closing time a tally is still taken (by the
 * receiver's clock): one counted before the close and held up in transit
 * or by the two clocks' skew. The outcome is given only after it, so it
 * never changes once given (relay_poll_final). */
#define RELAY_TALLY_GRACE_S 10
/* How far ahead of the hub's clock a community's poll may open: a poll
 * opens when it is created, so no more than the clocks' skew. */
#define RELAY_POLL_AHEAD_S 300

/* relay_status_valid: 1 iff s is open, acknowledged, scheduled, done or
 * declined. relay_status_closed: 1 for done and declined. */
int relay_status_valid(const char *s);
int relay_status_closed(const char *s);

/* relay_name_valid: 1 iff s is a person's name as a request may carry
 * it (and a resident's account keeps it): at most RELAY_NAME_MAX bytes of
 * UTF-8 text without control characters ("" too). */
int relay_name_valid(const char *s);

/* relay_preferred_valid: 1 iff s is "" or "YYYY-MM-DD" (a real date),
 * optionally followed by " morning", " afternoon" or " evening"; then
 * *day is that date's noon in unix seconds (0 for ""). */
int relay_preferred_valid(const char *s, int64_t *day);

/* relay_check: hold a Change of a Relay frame to the rules: a kind that
 * travels there (request, request status, poll, tally, check-in counts)
 * with its own body
 * (tombstones are not relayed), valid identifiers and UTF-8 within the
 * limits above, a status from the list, 2..10 distinct options, a tally's
 * id "POLL_ORIGIN.POLL_ID" matching its body and at most as many counts as
 * options allow, check-in counts each at most RELAY_CHECKIN_COUNT_MAX.
 * Returns ERR_OK or ERR_INVALID naming the field in why. */
int relay_check(const Change *ch, char *why, size_t whylen);

/* relay_request_id: a new id for a request of origin into buf (at least
 * RELAY_REQUEST_ID_MAX + 1 bytes): "ORIGIN.HHHHHHHHHHHHHHHH", 16 random hex
 * digits after the origin's id. ERR_OK, or ERR_FAIL (no random bytes). */
#define RELAY_REQUEST_ID_MAX (LIMIT_COMMUNITY_ID + 1 + 16)
int relay_request_id(const char *origin, char *buf, size_t buflen);

/* relay_request_id_scoped: 1 iff id is in origin's namespace: origin's
 * id, a dot, and at least one more character. */
int relay_request_id_scoped(const char *origin, const char *id);

/* relay_request_fields_valid: whether the resident's fields of r are what
 * a node's Open311 POST takes: phone and relative_phone empty or phone
 * numbers (text_phone_valid), relative_name and relative_phone both or
 * neither, preferred "" or a real date (relay_preferred_valid). ERR_OK,
 * or ERR_INVALID with why naming the field first ("phone: ..."), as
 * Open311 errors do. */
int relay_request_fields_valid(const Alliance__V1__Request *r, char *why,
			       size_t whylen);

/* relay_request_new_check: the rules for the first version of request ch
 * that a receiver stores (beyond relay_check, which it passed):
 * relay_request_id_scoped(ch->origin, ch->id) and
 * relay_request_fields_valid. ERR_OK or ERR_INVALID with why. */
int relay_request_new_check(const Change *ch, char *why, size_t whylen);

/* relay_service_takes_requests: 1 iff svc (a catalog state, as
 * catalog_get gives it; NULL: not found) is a live service that takes
 * requests: not deleted and not inactive. The rule of the resident's
 * node (Open311 POST) and of the hub (relaying). */
int relay_service_takes_requests(const Change *svc);

/* relay_request_erase: r as its erased version: erased set, no location,
 * and name, phone, email, address, relative_name, relative_phone emptied
 * in place (so every non-empty one must be writable: an unpacked
 * message's, or the caller's own). */
void relay_request_erase(Alliance__V1__Request *r);


/* relay_tally_id: "ORIGIN.ID" of a poll into buf (LIMIT_RECORD_ID + 1).
 * ERR_OK, or ERR_TOOBIG when it does not fit. relay_split_key: the
 * reverse, for API paths: origin and id of "ORIGIN.ID" into the buffers
 * (origin LIMIT_COMMUNITY_ID + 1, id LIMIT_RECORD_ID + 1); ERR_INVALID
 * when key is not of that shape. */
int relay_tally_id(const char *origin, const char *id, char *buf,
		   size_t buflen);
int relay_split_key(const char *key, char *origin, size_t olen, char *id,
		    size_t idlen);

/* relay_pack: ch as packed bytes in a new buffer (caller frees) of *len
 * bytes, or NULL when out of memory. relay_unpack: the reverse; a new
 * Change to free with alliance__v1__change__free_unpacked(ch, NULL), or
 * NULL when the bytes do not decode. */
uint8_t *relay_pack(const Change *ch, size_t *len);
Change *relay_unpack(const void *buf, size_t len);

/* relay_pack_parts: ch packed in two parts, in a new buffer (caller
 * frees) of *len bytes: a 4-byte big-endian length K, K bytes of ch
 * without a request's personal data (name, phone, email, address,
 * location, relative_name, relative_phone: relay_request_erase's fields),
 * then those fields packed as a Request (none for other kinds). The first
 * *kept = 4 + K bytes alone are the record with its personal data cut
 * off (the hub's shared log keeps only them once it was delivered). NULL
 * when out of memory. relay_unpack_parts: the reverse, of the whole
 * buffer or its first part alone; a new Change (free with
 * alliance__v1__change__free_unpacked) or NULL when the bytes are not
 * that. */
uint8_t *relay_pack_parts(const Change *ch, size_t *len, size_t *kept);
Change *relay_unpack_parts(const void *buf, size_t len);
/* relay_parts_kept: 4 + K of parts buf[0..len) (len when nothing was
 * after the first part, or it was cut off), or 0 when they are not
 * parts. */
size_t relay_parts_kept(const void *buf, size_t len);

/* relay_version: the next version to write: the larger of now in
 * microseconds and last + 1, so versions keep rising even after a store
 * was lost (the hub still holds the old ones). */
uint64_t relay_version(uint64_t last);

/* relay_random_id: 16 random hex digits into buf (at least 17 bytes).
 * ERR_OK or ERR_FAIL (no random bytes). */
int relay_random_id(char *buf, size_t buflen);

/* relay_store_poll: store poll record ch in db's poll table (hub and node
 * alike) under the version rule: an older or equal version changes
 * nothing. Runs in the caller's transaction. ERR_OK, ERR_NOMEM or
 * ERR_IO. */
int relay_store_poll(sqlite3 *db, const Change *ch);

/* The columns of the poll table that relay_store_poll writes, the
 * hub's and the node's alike (each adds its own after them), for their
 * CREATE TABLE. */
#define RELAY_POLL_COLUMNS \
	"  origin TEXT NOT NULL," \
	"  id TEXT NOT NULL," \
	"  version INTEGER NOT NULL," \
	"  question TEXT NOT NULL," \
	"  options TEXT NOT NULL," \
	"  opens INTEGER NOT NULL," \
	"  closes INTEGER NOT NULL,"

/* A tally table (the hub's "tally", the node's "poll_tally") as both
 * make it, and the statement relay_tally_put runs on it: a community's
 * counts of a poll under the version rule. */
#define RELAY_TALLY_TABLE(table) \
	"CREATE TABLE " table " (" \
	"  poll_origin TEXT NOT NULL," \
	"  poll_id TEXT NOT NULL," \
	"  community TEXT NOT NULL," \
	"  version INTEGER NOT NULL," \
	"  counts TEXT NOT NULL," \
	"  updated INTEGER NOT NULL," \
	"  PRIMARY KEY (poll_origin, poll_id, community)" \
	") WITHOUT ROWID;"
#define RELAY_TALLY_PUT_SQL(table) \
	"INSERT INTO " table " (poll_origin, poll_id, community, version," \
	" counts, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT" \
	" (poll_origin, poll_id, community) DO UPDATE SET version =" \
	" excluded.version, counts = excluded.counts, updated =" \
	" excluded.updated WHERE excluded.version > " table ".version"

/* relay_tally_counts: t's counts as the JSON array text a tally table
 * keeps (caller frees), or NULL out of memory. */
char *relay_tally_counts(const Alliance__V1__Tally *t);

/* relay_tally_put: run st (RELAY_TALLY_PUT_SQL prepared on db) for
 * community's counts (relay_tally_counts) of poll (origin, id) at
 * version, updated at updated: stored when newer than what is there
 * (*changed then, when changed is not NULL). In the caller's
 * transaction. ERR_OK, ERR_TOOBIG (counts over LIMIT_CHANGE_BYTES) or
 * ERR_IO (logged as "polls: ..."). */
int relay_tally_put(sqlite3 *db, sqlite3_stmt *st, const char *origin,
		    const char *id, const char *community, uint64_t version,
		    const char *counts, int64_t updated, int *changed);

/* relay_tally_bounded: 1 iff every count of t and their sum are at most
 * RELAY_VOTES_MAX (so none wraps negative in a signed 64-bit integer and
 * no sum of tallies can overflow); else 0 with the reason in why. */
int relay_tally_bounded(const Alliance__V1__Tally *t, char *why,
			size_t whylen);

/* relay_poll_final: 1 iff a poll closing at closes is final at now: its
 * grace for late tallies (RELAY_TALLY_GRACE_S) is over, so no tally is
 * taken any more and its outcome is given. Hub and node alike. */
int relay_poll_final(int64_t closes, int64_t now);

/* relay_poll_outcome: a closed poll's outcome, the same at hub and node:
 * {"winner": the option with most votes in counts (a JSON array of
 * integers, one per option of options, a JSON array of strings), or null
 * when two or more share the most or nobody voted; "tie": 1 iff two or
 * more share the most, which is over 0}. A new reference (NULL only when
 * out of memory). */
json_t *relay_poll_outcome(const json_t *counts, const json_t *options);

/* relay_poll_from_json: the poll a manager (node) or the operator (hub)
 * posts, {"question", "options": [texts], "closes": RFC 3339 or unix
 * seconds, "area": [community ids] or null}, into p: opens is now, and
 * p's strings and lists point into in and into opts (RELAY_OPTIONS_MAX
 * entries) and area (RELAY_AREA_MAX entries), which the caller keeps as
 * long as p. area NULL: "area" is not read (a community's own poll).
 * Only the shape is checked here; relay_check holds the result to the
 * rules. ERR_OK, or ERR_INVALID with the field named in why. */
int relay_poll_from_json(const json_t *in, Alliance__V1__Poll *p,
			 const char **opts, const char **area, char *why,
			 size_t whylen);

#endif
