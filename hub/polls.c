/* polls.c: polls at the hub: district polls the operators create, the
 * communities' own polls and every community's tally.
 *
 * A district poll (origin "district", written here and nowhere else) is
 * stored in the poll table with its packed Change and handed to the relay
 * (relay.c) for every community in its area: live sessions at once, the
 * others at their next Welcome. Nodes count votes and send tallies
 * (counts per option, never single votes) as KIND_TALLY records of their
 * own origin; a tally is stored under the version rule for a poll the hub
 * knows that is the district's or the sender's own. The result of a poll
 * is the sum of the latest tally of each community, shown live on both
 * ports and with its outcome once the poll is final (relay_poll_final),
 * recomputed from the stored tallies at every read: no running total.
 * Which tallies are taken (only from a community that votes in the poll,
 * as its certificate says; until the poll is final; bounded; never
 * falling) is tally_refusal's rule; a refused one is acked as refused
 * (relay.c), so the node's outbox moves on and its session stays.
 *
 * Each community's tally of a district poll also goes down, as it is (a
 * KIND_TALLY of the counting community's origin, which the session's
 * certificate vouched for; never a sum the hub made up), to every other
 * community in the poll's area, so a node can show the district-wide
 * result and each community's: a relay row per destination, replaced by
 * newer versions, so at most one per (poll, counting community,
 * destination); a community whose session starts later is sent the
 * tallies of the polls closed less than RESULTS_KEEP_S ago
 * (hub_polls_welcome). tally_down is the one place that rule lives.
 *
 *   POST /api/v1/polls       operator: {"question","options":[..],
 *                            "closes": RFC 3339 or unix seconds,
 *                            "area": [ids]} -> 201 {"id":"district.X"}
 *   GET  /api/v1/polls       both ports: polls, open ones first, the
 *                            district's first, then the communities' in
 *                            turns (list), newest first; at most 100
 *   GET  /api/v1/polls/{origin.id}  the poll with its results
 *
 * Parts: schema; tallies down; applying a node's records; district polls
 * to sessions; creating; results; routes. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "relay.h"
#include "store.h"

/* A district poll's tallies go to communities whose session starts until
 * this long after the poll closed. */
#define RESULTS_KEEP_S (30 * 24 * 3600)
/* Polls in one answer of GET /api/v1/polls (list). */
#define LIST_MAX 100

/* ---- schema --------------------------------------------------------------- */

#define STR_(x) #x
#define STR(x) STR_(x)

/* v11: the tallies a node could store before tally_refusal held them to
 * its rules and that break them: a count that wrapped negative or is over
 * RELAY_VOTES_MAX, over it in all, a tally of another community's poll or
 * from a community outside a district poll's area. A result is recomputed
 * from the rows, so they would skew it for good; a community's next tally
 * is taken afresh. */
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

/* ---- tallies down --------------------------------------------------------- */

/* in_area: 1 when community is in area (a JSON list; empty: all). */
static int in_area(const json_t *area, const char *community)
{
	size_t i;
	json_t *v;

	if (!json_array_size(area))
		return 1;
	json_array_foreach(area, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v),
						community) == 0)
			return 1;
	return 0;
}

/* tally_down: a relay row of ch (a community's tally of a district poll
 * whose area is area) for destination, unless destination counted it or
 * is outside the area; in the caller's transaction. ERR_OK or ERR_IO. */
static int tally_down(struct hub *hub, const Change *ch, const json_t *area,
		      const char *destination)
{
	int stored;

	if (strcmp(ch->tally->poll_origin, RELAY_DISTRICT) != 0 ||
	    strcmp(ch->origin, destination) == 0 ||
	    !in_area(area, destination))
		return ERR_OK;
	return hub_relay_put(hub, ch, destination, &stored);
}

struct fan {
	struct hub *hub;
	const Change *ch;
	const json_t *area;
	int rc;
};

static void fan_one(struct community *c, void *arg)
{
	struct fan *f = arg;

	if (tally_down(f->hub, f->ch, f->area, c->id) != ERR_OK)
		f->rc = ERR_IO;
}

/* ---- applying a node's records ------------------------------------------- */

#define REFUSE(...) (*refused = 1, snprintf(reason, rlen, __VA_ARGS__), ERR_OK)

/* stored_tally: community's stored counts of poll (origin, id) (a new
 * reference) and their version, or NULL and 0 when it sent none. */
static json_t *stored_tally(struct hub *hub, const char *origin,
			    const char *id, const char *community,
			    int64_t *version)
{
	sqlite3_stmt *st = NULL;
	json_t *counts = NULL;

	*version = 0;
	if (sqlite3_prepare_v2(hub->db, "SELECT version, counts FROM tally"
			       " WHERE poll_origin = ?1 AND poll_id = ?2 AND"
			       " community = ?3", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, community, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*version = sqlite3_column_int64(st, 0);
		counts = json_loads((const char *)sqlite3_column_text(st, 1),
				    0, NULL);
	}
	sqlite3_finalize(st);
	return counts;
}

/* store_tally: community's counts t of the poll under version, replacing
 * an older version; in the caller's transaction. *changed when stored. */
static int store_tally(struct hub *hub, const Alliance__V1__Tally *t,
		       const char *community, uint64_t version, int *changed)
{
	sqlite3_stmt *st = NULL;
	json_t *counts = json_array();
	char *text;
	int rc;

	for (size_t i = 0; counts && i < t->n_counts; i++)
		json_array_append_new(counts,
				      json_integer((json_int_t)t->counts[i]));
	text = counts ? json_dumps(counts, JSON_COMPACT) : NULL;
	json_decref(counts);
	if (!text)
		return ERR_NOMEM;
	rc = sqlite3_prepare_v2(hub->db, "INSERT INTO tally (poll_origin,"
				" poll_id, community, version, counts, updated)"
				" VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT"
				" (poll_origin, poll_id, community) DO UPDATE"
				" SET version = excluded.version, counts ="
				" excluded.counts, updated = excluded.updated"
				" WHERE excluded.version > tally.version", -1,
				&st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, t->poll_origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, t->poll_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, community, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)version);
		sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, hub_now());
		rc = sqlite3_step(st);
		*changed = rc == SQLITE_DONE && sqlite3_changes(hub->db) > 0;
	}
	sqlite3_finalize(st);
	free(text);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

/* tally_refusal: why community's tally ch may not be stored, into reason
 * (*refused set), given its poll's options, area and closing time and its
 * stored tally (old, version old_version; NULL when none). A tally is
 * taken only from a community that votes in the poll (the poll's own, or
 * one in a district poll's area), until the poll is final, with every
 * count and their sum bounded, and never below what the community counted
 * before: votes are never taken back (node/polls.c), so an older version
 * (a replay) is passed over and a count that falls is refused. */
static int tally_refusal(const Change *ch, const char *community,
			 int n_options, const json_t *area, int64_t closes,
			 const json_t *old, int64_t old_version, char *reason,
			 size_t rlen, int *refused)
{
	const Alliance__V1__Tally *t = ch->tally;
	char why[120], t1[CLOCK_RFC3339_LEN];

	if (n_options < 0)
		return REFUSE("no poll %s", ch->id);
	if (t->n_counts != (size_t)n_options)
		return REFUSE("counts do not match the poll's options");
	if (strcmp(t->poll_origin, RELAY_DISTRICT) == 0 &&
	    !in_area(area, community))
		return REFUSE("%s is not in the area of poll %s", community,
			      ch->id);
	if (relay_poll_final(closes, hub_now()))
		return REFUSE("poll %s closed at %s; its result is final",
			      ch->id, clock_rfc3339(closes, t1, sizeof(t1)));
	if (!relay_tally_bounded(t, why, sizeof(why)))
		return REFUSE("%s", why);
	if (!old || ch->version <= (uint64_t)old_version)
		return ERR_OK;
	for (size_t i = 0; i < t->n_counts; i++)
		if (t->counts[i] < (uint64_t)json_integer_value(
			    json_array_get(old, i)))
			return REFUSE("tally.counts[%zu]: %" PRIu64 " is below"
				      " the %" JSON_INTEGER_FORMAT " counted"
				      " before; votes are never taken back",
				      i, t->counts[i], json_integer_value(
					      json_array_get(old, i)));
	return ERR_OK;
}

/* apply_tally: community's tally ch (community from the session's
 * certificate, never from the message), stored under the version rule
 * unless tally_refusal refuses it, and a district poll's sent down to the
 * rest of its area. */
static int apply_tally(struct hub *hub, const char *community,
		       const Change *ch, char *reason, size_t rlen,
		       int *refused)
{
	const Alliance__V1__Tally *t = ch->tally;
	sqlite3_stmt *st = NULL;
	json_t *area = NULL, *old;
	int64_t closes = 0, old_version;
	int rc, n_options = -1, changed = 0;

	if (strcmp(t->poll_origin, RELAY_DISTRICT) != 0 &&
	    strcmp(t->poll_origin, community) != 0)
		return REFUSE("a tally of another community's poll");
	if (sqlite3_prepare_v2(hub->db, "SELECT json_array_length(options),"
			       " area, closes FROM poll WHERE origin = ?1 AND"
			       " id = ?2", -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, t->poll_origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->poll_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n_options = sqlite3_column_int(st, 0);
		area = json_loads((const char *)sqlite3_column_text(st, 1), 0,
				  NULL);
		closes = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	old = stored_tally(hub, t->poll_origin, t->poll_id, community,
			   &old_version);
	rc = tally_refusal(ch, community, n_options, area, closes, old,
			   old_version, reason, rlen, refused);
	json_decref(old);
	if (rc == ERR_OK && !*refused)
		rc = store_tally(hub, t, community, ch->version, &changed);
	if (changed && strcmp(t->poll_origin, RELAY_DISTRICT) == 0) {
		struct fan f = { hub, ch, area, ERR_OK };

		registry_each(hub, fan_one, &f);
		rc = f.rc;
	}
	json_decref(area);
	return rc;
}

/* apply_poll: community's own poll ch, unless it opens further ahead of
 * the hub's clock than RELAY_POLL_AHEAD_S (a poll opens when it is
 * written; one dated ahead would sit first in every list) or is a newer
 * version of a poll that is final (its outcome was given: it stays). */
static int apply_poll(struct hub *hub, const Change *ch, char *reason,
		      size_t rlen, int *refused)
{
	sqlite3_stmt *st = NULL;
	char t1[CLOCK_RFC3339_LEN];
	int final = 0;

	if (ch->poll->opens > hub_now() + RELAY_POLL_AHEAD_S)
		return REFUSE("poll.opens: %s is ahead of the hub's clock",
			      clock_rfc3339(ch->poll->opens, t1, sizeof(t1)));
	if (sqlite3_prepare_v2(hub->db, "SELECT closes, version FROM poll"
			       " WHERE origin = ?1 AND id = ?2", -1, &st,
			       NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)   /* a replay changes nothing */
		final = relay_poll_final(sqlite3_column_int64(st, 0),
					 hub_now()) && ch->version >
			(uint64_t)sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	if (final)
		return REFUSE("poll %s.%s is closed and final", ch->origin,
			      ch->id);
	return relay_store_poll(hub->db, ch);
}

int hub_polls_apply(struct hub *hub, const char *community, const Change *ch,
		    char *reason, size_t rlen, int *refused)
{
	if (ch->kind == ALLIANCE__V1__KIND__KIND_POLL)
		return apply_poll(hub, ch, reason, rlen, refused);
	return apply_tally(hub, community, ch, reason, rlen, refused);
}

/* ---- district polls to sessions ------------------------------------------- */

/* tallies_welcome: relay rows for s of every other community's tally of
 * the district polls in its area that closed less than RESULTS_KEEP_S
 * ago (rows it has had at that version change nothing). */
static void tallies_welcome(struct session *s)
{
	sqlite3_stmt *st = NULL;
	const char *dest = s->community->id;

	if (sqlite3_prepare_v2(s->hub->db, "SELECT t.poll_id, t.community,"
			       " t.version, t.counts, t.updated, p.area FROM"
			       " tally t JOIN poll p ON p.origin = t.poll_origin"
			       " AND p.id = t.poll_id WHERE t.poll_origin ="
			       " 'district' AND t.community != ?1 AND p.closes >"
			       " ?2", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, dest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, clock_now() - RESULTS_KEEP_S);
	store_exec(s->hub->db, "BEGIN IMMEDIATE");
	while (sqlite3_step(st) == SQLITE_ROW) {
		Change ch = ALLIANCE__V1__CHANGE__INIT;
		Alliance__V1__Tally t = ALLIANCE__V1__TALLY__INIT;
		uint64_t c[RELAY_OPTIONS_MAX];
		char key[LIMIT_RECORD_ID + 1];
		json_t *cj = json_loads((const char *)sqlite3_column_text(st, 3),
					0, NULL);
		json_t *area = json_loads((const char *)
					  sqlite3_column_text(st, 5), 0, NULL);
		size_t i;

		for (i = 0; i < json_array_size(cj) && i < RELAY_OPTIONS_MAX;
		     i++)
			c[i] = (uint64_t)json_integer_value(json_array_get(cj,
									   i));
		t.poll_origin = (char *)RELAY_DISTRICT;
		t.poll_id = (char *)sqlite3_column_text(st, 0);
		t.counts = c;
		t.n_counts = i;
		t.updated = sqlite3_column_int64(st, 4);
		ch.origin = (char *)sqlite3_column_text(st, 1);
		ch.kind = ALLIANCE__V1__KIND__KIND_TALLY;
		ch.version = (uint64_t)sqlite3_column_int64(st, 2);
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_TALLY;
		ch.tally = &t;
		if (relay_tally_id(RELAY_DISTRICT, t.poll_id, key, sizeof(key))
		    == ERR_OK) {
			ch.id = key;
			if (tally_down(s->hub, &ch, area, dest) != ERR_OK)
				log_error("polls: cannot queue tallies for %s",
					  dest);
		}
		json_decref(cj);
		json_decref(area);
	}
	sqlite3_finalize(st);
	store_exec(s->hub->db, "COMMIT");
}

void hub_polls_welcome(struct session *s)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->hub->db, "INSERT OR IGNORE INTO relay"
			       " (origin, kind, id, destination, version, body,"
			       " delivered, created) SELECT origin, ?3, id, ?1,"
			       " version, body, 0, ?2 FROM poll WHERE origin ="
			       " 'district' AND body IS NOT NULL AND (area ="
			       " '[]' OR EXISTS (SELECT 1 FROM"
			       " json_each(poll.area) WHERE value = ?1))", -1,
			       &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, s->community->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, hub_now());
	sqlite3_bind_int(st, 3, ALLIANCE__V1__KIND__KIND_POLL);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_error("polls: cannot queue district polls for %s: %s",
			  s->community->id, sqlite3_errmsg(s->hub->db));
	sqlite3_finalize(st);
	tallies_welcome(s);
}

static void welcome_each(struct session *s, void *arg)
{
	(void)arg;
	if (s->state != SESSION_ACTIVE)
		return;
	hub_polls_welcome(s);
	hub_relay_flush(s);
}

/* ---- creating ------------------------------------------------------------- */

static void create(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Poll p = ALLIANCE__V1__POLL__INIT;
	const char *opts[RELAY_OPTIONS_MAX], **area = NULL;
	char id[17], key[LIMIT_RECORD_ID + 1], why[160];
	sqlite3_stmt *st = NULL;
	uint8_t *buf = NULL;
	json_t *in = http_parse_json(wsi, &h->ex), *areaj;
	size_t len = 0;
	int rc = SQLITE_ERROR;

	if (!in)
		return;
	areaj = json_object_get(in, "area");
	area = calloc(RELAY_AREA_MAX + 1, sizeof(*area));
	if (!area || relay_random_id(id, sizeof(id)) != ERR_OK) {
		http_reply_error(wsi, &h->ex, 500, "internal", "no memory");
		goto out;
	}
	ch.origin = (char *)RELAY_DISTRICT;
	ch.kind = ALLIANCE__V1__KIND__KIND_POLL;
	ch.id = id;
	ch.version = relay_version(0);
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_POLL;
	ch.poll = &p;
	if (relay_poll_from_json(in, &p, opts, area, why, sizeof(why)) !=
	    ERR_OK ||
	    relay_check(&ch, why, sizeof(why)) != ERR_OK) {
		http_reply_error(wsi, &h->ex, 422, "invalid", "%s", why);
		goto out;
	}
	for (size_t i = 0; i < p.n_area; i++)
		if (!registry_find(hub, p.area[i])) {
			http_reply_error(wsi, &h->ex, 422, "invalid", "area[%zu]:"
					 " no community %s", i, p.area[i]);
			goto out;
		}
	buf = relay_pack(&ch, &len);
	if (buf)
		rc = sqlite3_prepare_v2(hub->db, "INSERT INTO poll (origin, id,"
					" version, question, options, opens,"
					" closes, area, body) VALUES (?1, ?2,"
					" ?3, ?4, ?5, ?6, ?7, ?8, ?9)", -1, &st,
					NULL);
	if (rc == SQLITE_OK) {
		char *o = json_dumps(json_object_get(in, "options"),
				     JSON_COMPACT);
		char *a = areaj && json_is_array(areaj)
			  ? json_dumps(areaj, JSON_COMPACT) : NULL;

		sqlite3_bind_text(st, 1, RELAY_DISTRICT, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)ch.version);
		sqlite3_bind_text(st, 4, p.question, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, o ? o : "[]", -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 6, p.opens);
		sqlite3_bind_int64(st, 7, p.closes);
		sqlite3_bind_text(st, 8, a ? a : "[]", -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 9, buf, (int)len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		free(o);
		free(a);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		http_reply_error(wsi, &h->ex, 500, "internal",
				 "the poll could not be stored");
		goto out;
	}
	relay_tally_id(RELAY_DISTRICT, id, key, sizeof(key));
	log_info("polls: operator %s created district poll %s (%zu options,"
		 " %zu communities)", h->peer.name, key, p.n_options,
		 p.n_area);
	registry_each_session(hub, welcome_each, NULL);
	http_reply_json(wsi, &h->ex, 201, json_pack("{s:s}", "id", key));
out:
	free(buf);
	free(area);
	json_decref(in);
}

/* ---- results ------------------------------------------------------------------ */

/* poll_json: the poll (origin, id) with its results, or NULL if none. */
static json_t *poll_json(struct hub *hub, const char *origin, const char *id,
			 int with_results)
{
	sqlite3_stmt *st = NULL;
	json_t *out = NULL, *total, *comms, *opts, *area;
	char key[LIMIT_RECORD_ID + 1], t1[CLOCK_RFC3339_LEN];
	int64_t now = clock_now(), closes, voters = 0;

	if (sqlite3_prepare_v2(hub->db, "SELECT question, options, opens,"
			       " closes, area FROM poll WHERE origin = ?1 AND"
			       " id = ?2", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return NULL;
	}
	relay_tally_id(origin, id, key, sizeof(key));
	opts = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
	area = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
	closes = sqlite3_column_int64(st, 3);
	out = json_pack("{s:s, s:s, s:s, s:o, s:s, s:b, s:o}",
			"id", key, "origin", origin,
			"question", (const char *)sqlite3_column_text(st, 0),
			"options", opts ? opts : json_array(),
			"closes", clock_rfc3339(closes, t1, sizeof(t1)),
			"closed", closes <= now,
			"area", area ? area : json_array());
	sqlite3_finalize(st);
	if (!out || !with_results)
		return out;
	total = json_array();
	for (size_t i = 0; i < json_array_size(opts); i++)
		json_array_append_new(total, json_integer(0));
	comms = json_array();
	st = NULL;
	if (sqlite3_prepare_v2(hub->db, "SELECT community, counts, updated"
			       " FROM tally WHERE poll_origin = ?1 AND poll_id"
			       " = ?2 ORDER BY community", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_t *c = json_loads((const char *)
					       sqlite3_column_text(st, 1), 0,
					       NULL);
			size_t i;
			json_t *v;

			if (!json_is_array(c)) {
				json_decref(c);
				continue;
			}
			json_array_foreach(c, i, v) {
				json_int_t add = json_integer_value(v);
				json_t *cur = json_array_get(total, i);

				if (cur)
					json_integer_set(cur,
						json_integer_value(cur) + add);
				voters += add;
			}
			json_array_append_new(comms, json_pack(
				"{s:s, s:o, s:s}", "community",
				(const char *)sqlite3_column_text(st, 0),
				"counts", c, "updated", clock_rfc3339(
					sqlite3_column_int64(st, 2), t1,
					sizeof(t1))));
		}
		sqlite3_finalize(st);
	}
	json_object_set_new(out, "results", json_pack(
		"{s:o, s:I, s:o}", "counts", total, "votes",
		(json_int_t)voters, "communities", comms));
	if (relay_poll_final(closes, now))
		json_object_set_new(out, "outcome",
				    relay_poll_outcome(total, opts));
	return out;
}

/* list: the polls, at most LIST_MAX: open ones first; among them and
 * then among the closed ones the district's first, then the communities'
 * in turns (each one's newest, then each one's second...), so no number
 * of polls from one community pushes the district's or another's out. */
static void list(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	sqlite3_stmt *st = NULL;
	json_t *items = json_array();

	if (sqlite3_prepare_v2(hub->db, "SELECT origin, id FROM (SELECT origin,"
			       " id, opens, closes <= ?1 AS shut, row_number()"
			       " OVER (PARTITION BY origin, closes <= ?1 ORDER"
			       " BY opens DESC, id) AS turn FROM poll) ORDER BY"
			       " shut, origin <> 'district', turn, opens DESC,"
			       " origin LIMIT ?2", -1, &st, NULL) !=
	    SQLITE_OK) {
		json_decref(items);
		http_reply_error(wsi, &h->ex, 500, "internal", "no polls");
		return;
	}
	sqlite3_bind_int64(st, 1, clock_now());
	sqlite3_bind_int(st, 2, LIST_MAX);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *p = poll_json(hub,
				      (const char *)sqlite3_column_text(st, 0),
				      (const char *)sqlite3_column_text(st, 1),
				      1);

		if (p)
			json_array_append_new(items, p);
	}
	sqlite3_finalize(st);
	http_reply_json(wsi, &h->ex, 200, json_pack("{s:o}", "items", items));
}

/* ---- routes ------------------------------------------------------------------- */

void hub_polls_list(void *ctx, struct lws *wsi, struct http_exchange *ex,
		    const struct route_match *m)
{
	(void)ex;
	(void)m;
	list(hub_from_wsi(wsi), wsi, ctx);
}

void hub_polls_create(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m)
{
	(void)ex;
	(void)m;
	create(hub_from_wsi(wsi), wsi, ctx);
}

void hub_polls_one(void *ctx, struct lws *wsi, struct http_exchange *ex,
		   const struct route_match *m)
{
	char origin[LIMIT_COMMUNITY_ID + 1], id[LIMIT_RECORD_ID + 1];
	json_t *p;

	(void)ctx;
	if (relay_split_key(m->param[0], origin, sizeof(origin), id,
			    sizeof(id)) != ERR_OK ||
	    !(p = poll_json(hub_from_wsi(wsi), origin, id, 1))) {
		http_reply_error(wsi, ex, 404, "not_found", "no poll %.80s",
				 m->param[0]);
		return;
	}
	http_reply_json(wsi, ex, 200, p);
}

void hub_requests_stats(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m)
{
	json_t *p = hub_relay_request_stats(hub_from_wsi(wsi));

	(void)ctx;
	(void)m;
	if (p)
		http_reply_json(wsi, ex, 200, p);
	else
		http_reply_error(wsi, ex, 500, "internal",
				 "the figures could not be read");
}
