/* relay.h: the records that travel in Relay frames (service requests,
 * their statuses, polls, tallies): limits, validation and packing shared
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
 * Erasure (the resident deleted her account): her node writes a newer
 * version of each of her requests with erased set and every personal
 * field empty (relay_request_erase), withdrawn as well when it was not yet
 * done, declined or withdrawn; relay_check refuses an erased version that
 * still carries personal data. Whoever stores an erased version blanks
 * the personal fields of its own copy (relay_request_erase_row); a later
 * version never brings them back. The hub relays it like any version. */
#ifndef ALLIANCE_RELAY_H
#define ALLIANCE_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "wire.h"

typedef Alliance__V1__Change Change; /* as catalog.h names it */

/* The origin of district polls: the hub writes them, no node ever may
 * (no community may be registered under this id). */
#define RELAY_DISTRICT "district"

/* Field limits (bytes). The description as Open311 clients send it. */
#define RELAY_DESCRIPTION_MAX 4000
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
 * travels there (request, request status, poll, tally) with its own body
 * (tombstones are not relayed), valid identifiers and UTF-8 within the
 * limits above, a status from the list, 2..10 distinct options, a tally's
 * id "POLL_ORIGIN.POLL_ID" matching its body and at most as many counts as
 * options allow. Returns ERR_OK or ERR_INVALID naming the field in why. */
int relay_check(const Change *ch, char *why, size_t whylen);

/* relay_request_erase: r as its erased version: erased set, no location,
 * and name, phone, email, address, relative_name, relative_phone emptied
 * in place (so every non-empty one must be writable: an unpacked
 * message's, or the caller's own). */
void relay_request_erase(Alliance__V1__Request *r);

/* relay_request_erase_row: blank the same personal fields of the stored
 * request (origin, id) in db's request table (as nodes keep it:
 * node/relay.c) and mark it erased; in the caller's transaction. ERR_OK
 * or ERR_IO. */
int relay_request_erase_row(sqlite3 *db, const char *origin, const char *id);

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
