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
 * With [store] postgresql a district poll is an event of the shared log
 * (PGLOG_POLL): every replica stores it (hub_polls_store_district) and
 * queues it for its own sessions; the POST is answered once it came back
 * committed, 503 unavailable when the database did not take it.
 *
 * The tables and their statements are poll_store.c's.
 *
 * Parts: tallies down; applying a node's records; district polls to
 * sessions; creating; results; routes. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "pglog.h"
#include "poll_store.h"
#include "relay.h"
#include "store.h"

/* A district poll's tallies go to communities whose session starts until
 * this long after the poll closed. */
#define RESULTS_KEEP_S (30 * 24 * 3600)
/* Polls in one answer of GET /api/v1/polls (list). */
#define LIST_MAX 100

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

/* store_tally: community's counts t of the poll under version, replacing
 * an older version; in the caller's transaction. *changed when stored. */
static int store_tally(struct hub *hub, const Alliance__V1__Tally *t,
		       const char *community, uint64_t version, int *changed)
{
	char *text = relay_tally_counts(t);
	int rc;

	*changed = 0;
	if (!text)
		return ERR_NOMEM;
	rc = hub_poll_store_tally_put(hub->polls, t->poll_origin, t->poll_id,
				      community, version, text, hub_relay_now(hub),
				      changed);
	free(text);
	return rc == ERR_OK ? ERR_OK : ERR_IO;
}

/* tally_refusal: why community's tally ch may not be stored, into reason
 * (*refused set), at now, given its poll's options, area and closing
 * time and its stored tally (old, version old_version; NULL when none). A tally is
 * taken only from a community that votes in the poll (the poll's own, or
 * one in a district poll's area), until the poll is final, with every
 * count and their sum bounded, and never below what the community counted
 * before: votes are never taken back (node/polls.c), so an older version
 * (a replay) is passed over and a count that falls is refused. */
static int tally_refusal(const Change *ch, const char *community,
			 int64_t now, int n_options, const json_t *area,
			 int64_t closes, const json_t *old, int64_t old_version,
			 char *reason, size_t rlen, int *refused)
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
	if (relay_poll_final(closes, now))
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
	struct hub_poll_row poll;
	json_t *area = NULL, *old;
	int64_t closes = 0, old_version;
	int rc, n_options = -1, changed = 0;

	if (strcmp(t->poll_origin, RELAY_DISTRICT) != 0 &&
	    strcmp(t->poll_origin, community) != 0)
		return REFUSE("a tally of another community's poll");
	rc = hub_poll_store_get(hub->polls, t->poll_origin, t->poll_id, &poll);
	if (rc == ERR_OK) {
		n_options = (int)json_array_size(poll.options);
		area = json_incref(poll.area);
		closes = poll.closes;
		hub_poll_row_free(&poll);
	} else if (rc != ERR_NOTFOUND) {
		return ERR_IO;
	}
	old = hub_poll_store_tally(hub->polls, t->poll_origin, t->poll_id,
				   community, &old_version);
	rc = tally_refusal(ch, community, hub_relay_now(hub), n_options, area,
			   closes, old, old_version, reason, rlen, refused);
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
	struct hub_poll_row poll;
	char t1[CLOCK_RFC3339_LEN];
	int final = 0, rc;

	if (ch->poll->opens > hub_relay_now(hub) + RELAY_POLL_AHEAD_S)
		return REFUSE("poll.opens: %s is ahead of the hub's clock",
			      clock_rfc3339(ch->poll->opens, t1, sizeof(t1)));
	rc = hub_poll_store_get(hub->polls, ch->origin, ch->id, &poll);
	if (rc == ERR_OK) {   /* a replay changes nothing */
		final = relay_poll_final(poll.closes, hub_relay_now(hub)) &&
			ch->version > poll.version;
		hub_poll_row_free(&poll);
	} else if (rc != ERR_NOTFOUND) {
		return ERR_IO;
	}
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
/* tally_welcome: the relay row of one stored tally t for the session
 * arg's community. */
static void tally_welcome(const struct hub_tally *t, void *arg)
{
	struct session *s = arg;
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Tally tally = ALLIANCE__V1__TALLY__INIT;
	uint64_t c[RELAY_OPTIONS_MAX];
	char key[LIMIT_RECORD_ID + 1];
	json_t *cj = json_loads(t->counts, 0, NULL);
	size_t i;

	for (i = 0; i < json_array_size(cj) && i < RELAY_OPTIONS_MAX; i++)
		c[i] = (uint64_t)json_integer_value(json_array_get(cj, i));
	json_decref(cj);
	tally.poll_origin = (char *)RELAY_DISTRICT;
	tally.poll_id = (char *)t->poll_id;
	tally.counts = c;
	tally.n_counts = i;
	tally.updated = t->updated;
	ch.origin = (char *)t->community;
	ch.kind = ALLIANCE__V1__KIND__KIND_TALLY;
	ch.version = t->version;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_TALLY;
	ch.tally = &tally;
	if (relay_tally_id(RELAY_DISTRICT, t->poll_id, key, sizeof(key)) !=
	    ERR_OK)
		return;
	ch.id = key;
	if (tally_down(s->hub, &ch, t->area, s->community->id) != ERR_OK)
		log_error("polls: cannot queue tallies for %s",
			  s->community->id);
}

/* tallies_welcome: relay rows for s of every other community's tally of
 * the district polls in its area that closed less than RESULTS_KEEP_S
 * ago (rows it has had at that version change nothing). */
static void tallies_welcome(struct session *s)
{
	store_exec(s->hub->db, "BEGIN IMMEDIATE");
	hub_poll_store_recent_tallies(s->hub->polls, s->community->id,
				      clock_now() - RESULTS_KEEP_S,
				      tally_welcome, s);
	store_exec(s->hub->db, "COMMIT");
}

void hub_polls_welcome(struct session *s)
{
	if (hub_poll_store_relay_polls(s->hub->polls, s->community->id,
				       hub_now()) != ERR_OK)
		log_error("polls: cannot queue district polls for %s",
			  s->community->id);
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

/* strings_json: a JSON array text of n strings (caller frees), or NULL
 * out of memory. */
static char *strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	char *text;

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	text = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return text;
}

int hub_polls_store_district(struct hub *hub, const Change *ch,
			     const uint8_t *body, size_t len, int *stored)
{
	const Alliance__V1__Poll *p = ch->poll;
	struct hub_poll_row row;
	char *o, *a;
	int rc;

	*stored = 0;
	rc = hub_poll_store_get(hub->polls, RELAY_DISTRICT, ch->id, &row);
	if (rc == ERR_OK) {
		hub_poll_row_free(&row);
		log_warn("polls: district poll %s is stored already", ch->id);
		return ERR_OK;
	}
	if (rc != ERR_NOTFOUND)
		return ERR_IO;
	o = strings_json(p->options, p->n_options);
	a = strings_json(p->area, p->n_area);
	rc = o && a ? hub_poll_store_add(hub->polls, RELAY_DISTRICT, ch->id,
					 ch->version, p->question, o,
					 p->opens, p->closes, a, body, len)
		    : ERR_NOMEM;
	free(o);
	free(a);
	*stored = rc == ERR_OK;
	return rc == ERR_OK ? ERR_OK : ERR_IO;
}

void hub_polls_created(struct hub *hub, const char *key, uint64_t token,
		       int stored, const char *why)
{
	struct hub_http *h;
	struct lws *wsi;

	if (stored)
		registry_each_session(hub, welcome_each, NULL);
	/* the POST waits under the district's name and its poll's version */
	if (!api_wait_take(hub, RELAY_DISTRICT, token, &wsi, &h))
		return;
	if (why)
		http_reply_error(wsi, &h->ex, 503, "unavailable", "the hub's "
				 "database did not store it: %.150s", why);
	else if (!stored)
		http_reply_error(wsi, &h->ex, 409, "exists", "poll %s is "
				 "stored already", key);
	else
		http_reply_json(wsi, &h->ex, 201, json_pack("{s:s}", "id",
							    key));
}

/* share: district poll ch (packed as buf[0..len)) appended to the shared
 * log; the POST is answered once the log brought it back
 * (hub_polls_created), or now with 503 and the cause. */
static void share(struct hub *hub, struct lws *wsi, struct hub_http *h,
		  const Change *ch, const uint8_t *buf, size_t len)
{
	struct hub_http *parked;
	struct lws *pwsi;
	char why[200];

	if (api_wait_park(hub, wsi, h, RELAY_DISTRICT, ch->version) !=
	    ERR_OK) {
		http_reply_error(wsi, &h->ex, 503, "unavailable",
				 "out of memory");
		return;
	}
	if (pglog_append(hub->pglog, PGLOG_POLL, RELAY_DISTRICT, ch->version,
			 buf, len, why, sizeof(why)) != ERR_OK) {
		api_wait_take(hub, RELAY_DISTRICT, ch->version, &pwsi, &parked);
		http_reply_error(wsi, &h->ex, 503, "unavailable", "the hub's "
				 "database did not take it: %.150s", why);
		return;
	}
	log_info("polls: operator %s created district poll %s: shared",
		 h->peer.name, ch->id);
}

static void create(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Poll p = ALLIANCE__V1__POLL__INIT;
	const char *opts[RELAY_OPTIONS_MAX], **area = NULL;
	char id[17], key[LIMIT_RECORD_ID + 1], why[160];
	uint8_t *buf = NULL;
	json_t *in = http_parse_json(wsi, &h->ex);
	size_t len = 0;
	int rc = ERR_NOMEM, stored = 0;

	if (!in)
		return;
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
	if (buf && hub->pglog) {
		share(hub, wsi, h, &ch, buf, len);
		goto out;
	}
	if (buf)
		rc = hub_polls_store_district(hub, &ch, buf, len, &stored);
	if (rc != ERR_OK || !stored) {
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

/* What add_result sums: the counts, votes and each community's. */
struct result_arg {
	json_t *total, *comms;
	json_int_t voters;
};

/* add_result: one community's tally into the poll's results. */
static void add_result(const char *community, const char *counts,
		       int64_t updated, void *arg)
{
	struct result_arg *r = arg;
	json_t *c = json_loads(counts, 0, NULL), *v;
	char t1[CLOCK_RFC3339_LEN];
	size_t i;

	if (!json_is_array(c)) {
		json_decref(c);
		return;
	}
	json_array_foreach(c, i, v) {
		json_int_t add = json_integer_value(v);
		json_t *cur = json_array_get(r->total, i);

		if (cur)
			json_integer_set(cur, json_integer_value(cur) + add);
		r->voters += add;
	}
	json_array_append_new(r->comms, json_pack(
		"{s:s, s:o, s:s}", "community", community, "counts", c,
		"updated", clock_rfc3339(updated, t1, sizeof(t1))));
}

/* poll_json: the poll (origin, id) with its results, or NULL if none. */
static json_t *poll_json(struct hub *hub, const char *origin, const char *id,
			 int with_results)
{
	struct hub_poll_row row;
	struct result_arg r = { NULL, NULL, 0 };
	json_t *out;
	char key[LIMIT_RECORD_ID + 1], t1[CLOCK_RFC3339_LEN];
	int64_t now = clock_now();

	if (hub_poll_store_get(hub->polls, origin, id, &row) != ERR_OK)
		return NULL;
	relay_tally_id(origin, id, key, sizeof(key));
	out = json_pack("{s:s, s:s, s:s, s:O, s:s, s:b, s:O}",
			"id", key, "origin", origin,
			"question", row.question,
			"options", row.options,
			"closes", clock_rfc3339(row.closes, t1, sizeof(t1)),
			"closed", row.closes <= now,
			"area", row.area);
	if (!out || !with_results) {
		hub_poll_row_free(&row);
		return out;
	}
	r.total = json_array();
	for (size_t i = 0; i < json_array_size(row.options); i++)
		json_array_append_new(r.total, json_integer(0));
	r.comms = json_array();
	hub_poll_store_tallies(hub->polls, origin, id, add_result, &r);
	json_object_set_new(out, "results", json_pack(
		"{s:o, s:I, s:o}", "counts", r.total, "votes", r.voters,
		"communities", r.comms));
	if (relay_poll_final(row.closes, now))
		json_object_set_new(out, "outcome",
				    relay_poll_outcome(r.total, row.options));
	hub_poll_row_free(&row);
	return out;
}

/* Where list_add puts the polls. */
struct list_arg {
	struct hub *hub;
	json_t *items;
};

/* list_add: poll (origin, id) with its results into the items. */
static void list_add(const char *origin, const char *id, void *arg)
{
	struct list_arg *l = arg;
	json_t *p = poll_json(l->hub, origin, id, 1);

	if (p)
		json_array_append_new(l->items, p);
}

/* list: the polls, at most LIST_MAX: open ones first; among them and
 * then among the closed ones the district's first, then the communities'
 * in turns (each one's newest, then each one's second...), so no number
 * of polls from one community pushes the district's or another's out. */
static void list(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	struct list_arg l = { hub, json_array() };

	if (!l.items || hub_poll_store_list(hub->polls, clock_now(), LIST_MAX,
					    list_add, &l) != ERR_OK) {
		json_decref(l.items);
		http_reply_error(wsi, &h->ex, 500, "internal", "no polls");
		return;
	}
	http_reply_json(wsi, &h->ex, 200, json_pack("{s:o}", "items",
						    l.items));
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
