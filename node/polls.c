/* polls.c: polls and votes at a node.
 *
 *   POST /api/v1/polls                 manager: {"question","options",
 *                                      "closes"} -> 201 {"id": "C.X"}
 *   GET  /api/v1/polls                 polls here (ours and the
 *                                      district's), open ones first,
 *                                      newest first, at most 100, with
 *                                      this community's counts and the
 *                                      results
 *   GET  /api/v1/polls/{origin.id}     one poll
 *   POST /api/v1/polls/{origin.id}/votes  resident (bearer token):
 *                                      {"option": index or text} -> 201;
 *                                      409 a second vote or a closed poll;
 *                                      403 "unconfirmed" for an account
 *                                      whose phone nobody has confirmed
 *                                      (voters.c: one resident, one vote)
 *   POST /api/v1/polls/{origin.id}/close  manager: close one of this
 *                                      community's polls now -> 200 the
 *                                      poll; 409 closed already, 403 a
 *                                      district poll
 *
 * A poll's JSON: id, origin, question, options, closes, closed, counts
 * (this community's), results {counts, votes, communities: [{community,
 * counts}]} (for a district poll every community whose tally the hub has
 * relayed, this one first from its own votes; the district-wide counts
 * are their sum), outcome {winner, tie} once final (relay_poll_final:
 * late tallies may still come until then), and my_vote (the
 * index, or null) when the request carries a resident's token.
 *
 * A vote stays here, one per (poll, resident) by the table's key; only
 * the tally (counts per option) leaves the node: every vote rewrites the
 * poll's KIND_TALLY record in the relay outbox (one pending record per
 * poll, the latest counts). A vote is never changed or taken back, so
 * every count only grows (the hub refuses one that falls), and none is
 * taken once the poll closed, so no tally is written after it. A
 * community poll goes up as KIND_POLL so the hub can show it; closing one
 * rewrites that record with closes = now (the tally stays). District
 * polls come down from the hub (origin "district", accepted from the
 * hub's session only, never written here), and so do the other
 * communities' tallies of them (KIND_TALLY, origin = the counting
 * community, which the hub has checked: area, time, growth), kept in
 * poll_tally under the version rule once bounded (relay_tally_bounded).
 *
 * Parts: reading; results; the tally; creating; closing; voting; district
 * polls; the route. */
#include <stdlib.h>
#include <string.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "manager.h"
#include "store.h"

#define POLLS "/api/v1/polls"
/* Polls in one answer of GET /api/v1/polls (list). */
#define LIST_MAX 100

/* ---- reading -------------------------------------------------------------------- */

/* counts: this community's counts of poll (origin, id), n options. */
static json_t *counts(struct node *n, const char *origin, const char *id,
		      size_t n_options)
{
	uint64_t c[RELAY_OPTIONS_MAX];
	json_t *out = json_array();

	if (n_options > RELAY_OPTIONS_MAX)
		n_options = RELAY_OPTIONS_MAX;
	if (poll_store_counts(n->civic->polls, origin, id, c, n_options) !=
	    ERR_OK)
		memset(c, 0, sizeof(c));
	for (size_t i = 0; out && i < n_options; i++)
		json_array_append_new(out, json_integer((json_int_t)c[i]));
	return out;
}

/* ---- results ------------------------------------------------------------------- */

/* add_counts: add c (a JSON array of counts) into total. */
static void add_counts(json_t *total, const json_t *c, json_int_t *votes)
{
	size_t i;
	json_t *v;

	json_array_foreach(c, i, v) {
		json_t *cur = json_array_get(total, i);

		if (cur && json_is_integer(v)) {
			json_integer_set(cur, json_integer_value(cur) +
					 json_integer_value(v));
			*votes += json_integer_value(v);
		}
	}
}

/* What results() sums: the district-wide counts, votes and communities. */
struct results_arg {
	json_t *total, *comms;
	json_int_t votes;
	size_t n_options;
};

/* add_tally: another community's counts (a JSON array text) into arg,
 * unless they do not fit the poll's options. */
static void add_tally(const char *community, const char *counts_text,
		      void *arg)
{
	struct results_arg *a = arg;
	json_t *c = json_loads(counts_text, 0, NULL);

	if (json_array_size(c) != a->n_options) {
		json_decref(c);
		return;
	}
	add_counts(a->total, c, &a->votes);
	json_array_append_new(a->comms, json_pack("{s:s, s:o}", "community",
						  community, "counts", c));
}

/* results: {counts, votes, communities} of poll (origin, id) whose own
 * counts are mine (taken); the other communities' from poll_tally. */
static json_t *results(struct node *n, const char *origin, const char *id,
		       size_t n_options, json_t *mine)
{
	struct results_arg a = { json_array(), json_array(), 0, n_options };

	for (size_t i = 0; a.total && i < n_options; i++)
		json_array_append_new(a.total, json_integer(0));
	add_counts(a.total, mine, &a.votes);
	json_array_append_new(a.comms, json_pack("{s:s, s:O}", "community",
						 n->cfg.community, "counts",
						 mine));
	poll_store_tallies(n->civic->polls, origin, id, n->cfg.community,
			   add_tally, &a);
	json_decref(mine);
	return json_pack("{s:o, s:I, s:o}", "counts", a.total, "votes",
			 a.votes, "communities", a.comms);
}

/* row_json: poll row as its JSON; my_vote when resident is not 0. */
static json_t *row_json(struct node *n, const struct poll_row *row,
			int64_t resident)
{
	json_t *opts = json_deep_copy(row->options);
	char key[LIMIT_RECORD_ID + 1], t1[CLOCK_RFC3339_LEN];
	int64_t mine;
	json_t *out, *res;
	size_t n_options;

	relay_tally_id(row->origin, row->id, key, sizeof(key));
	if (!opts)
		opts = json_array();
	n_options = json_array_size(opts);
	res = results(n, row->origin, row->id, n_options,
		      counts(n, row->origin, row->id, n_options));
	out = json_pack("{s:s, s:s, s:s, s:o, s:s, s:b, s:O, s:o}", "id", key,
			"origin", row->origin, "question", row->question,
			"options", opts, "closes",
			clock_rfc3339(row->closes, t1, sizeof(t1)),
			"closed", row->closes <= clock_now(),
			"counts", json_object_get(json_array_get(
				json_object_get(res, "communities"), 0),
				"counts"), "results", res);
	if (out && relay_poll_final(row->closes, clock_now()))
		json_object_set_new(out, "outcome", relay_poll_outcome(
			json_object_get(res, "counts"), opts));
	if (out && resident) {
		mine = poll_store_my_vote(n->civic->polls, row->origin, row->id,
					  resident);
		json_object_set_new(out, "my_vote", mine < 0 ? json_null()
				    : json_integer(mine));
	}
	return out;
}

/* Where list_add puts the polls, and whose vote they show. */
struct list_arg {
	struct node *n;
	json_t *items;
	int64_t resident;
};

/* list_add: a poll of the listing, as its JSON, into the items. */
static void list_add(const struct poll_row *row, void *arg)
{
	struct list_arg *a = arg;

	json_array_append_new(a->items, row_json(a->n, row, a->resident));
}

static void list(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	struct list_arg a = { n, json_array(), residents_bearer(n, wsi) };

	if (!a.items || poll_store_list(n->civic->polls, clock_now(),
					LIST_MAX, list_add, &a) != ERR_OK) {
		json_decref(a.items);
		http_reply_error(wsi, ex, 500, "internal", "no polls");
		return;
	}
	http_reply_json(wsi, ex, 200, json_pack("{s:o}", "items", a.items));
}

/* ---- the tally ------------------------------------------------------------------- */

/* put_tally: this community's counts of the poll into the outbox (in the
 * caller's transaction). */
static int put_tally(struct node *n, const char *origin, const char *id,
		     size_t n_options)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Tally t = ALLIANCE__V1__TALLY__INIT;
	uint64_t c[RELAY_OPTIONS_MAX];
	char key[LIMIT_RECORD_ID + 1];

	if (n_options > RELAY_OPTIONS_MAX)
		n_options = RELAY_OPTIONS_MAX;
	if (relay_tally_id(origin, id, key, sizeof(key)) != ERR_OK)
		return ERR_INVALID;
	if (poll_store_counts(n->civic->polls, origin, id, c, n_options) !=
	    ERR_OK)
		return ERR_IO;
	t.poll_origin = (char *)origin;
	t.poll_id = (char *)id;
	t.counts = c;
	t.n_counts = n_options;
	t.updated = clock_now();
	ch.origin = n->cfg.community;
	ch.kind = ALLIANCE__V1__KIND__KIND_TALLY;
	ch.id = key;
	ch.version = relay_next_version(n);
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_TALLY;
	ch.tally = &t;
	return relay_outbox_put(n, &ch);
}

/* ---- creating ------------------------------------------------------------------ */

static void create(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Poll p = ALLIANCE__V1__POLL__INIT;
	const char *opts[RELAY_OPTIONS_MAX];
	json_t *in = http_parse_json(wsi, ex);
	char id[17], key[LIMIT_RECORD_ID + 1], why[160];

	if (!in)
		return;
	if (relay_poll_from_json(in, &p, opts, NULL, why, sizeof(why)) !=
	    ERR_OK) {
		http_reply_error(wsi, ex, 422, "invalid", "%s", why);
		goto out;
	}
	if (relay_random_id(id, sizeof(id)) != ERR_OK ||
	    store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		goto out;
	}
	ch.origin = n->cfg.community;
	ch.kind = ALLIANCE__V1__KIND__KIND_POLL;
	ch.id = id;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_POLL;
	ch.poll = &p;
	ch.version = relay_next_version(n);
	if (relay_check(&ch, why, sizeof(why)) != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		http_reply_error(wsi, ex, 422, "invalid", "%s", why);
		goto out;
	}
	if (relay_store_poll(n->db, &ch) != ERR_OK || relay_outbox_put(n, &ch) ||
	    put_tally(n, ch.origin, id, p.n_options) != ERR_OK ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		http_reply_error(wsi, ex, 500, "internal", "not stored");
		goto out;
	}
	relay_tally_id(ch.origin, id, key, sizeof(key));
	log_info("polls: the manager created poll %s", key);
	relay_flush(n);
	http_reply_json(wsi, ex, 201, json_pack("{s:s}", "id", key));
out:
	json_decref(in);
}

/* ---- closing -------------------------------------------------------------------- */

/* close_poll: one of this community's polls closes now: the poll record
 * rewritten with closes = now (a second after it opened at the earliest,
 * as a poll must close after it opens) under a new version, stored and put
 * in the outbox for the hub; the votes and tally stay. */
static void close_poll(struct node *n, struct lws *wsi,
		       struct http_exchange *ex, const char *id)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Poll p = ALLIANCE__V1__POLL__INIT;
	const char *opts[RELAY_OPTIONS_MAX];
	char why[160];
	struct poll_row row;
	int64_t now = clock_now();
	size_t i;

	if (poll_store_get(n->civic->polls, n->cfg.community, id, &row) !=
	    ERR_OK) {
		http_reply_error(wsi, ex, 404, "not_found", "no poll %s.%s",
				 n->cfg.community, id);
		return;
	}
	p.opens = row.opens;
	p.closes = row.closes;
	for (i = 0; i < json_array_size(row.options) && i < RELAY_OPTIONS_MAX;
	     i++)
		opts[i] = json_string_value(json_array_get(row.options, i));
	p.question = row.question;
	p.options = (char **)opts;
	p.n_options = i;
	if (p.closes <= now) {
		http_reply_error(wsi, ex, 409, "closed", "the poll is closed "
				 "already");
		goto out;
	}
	p.closes = now > p.opens ? now : p.opens + 1;
	ch.origin = n->cfg.community;
	ch.kind = ALLIANCE__V1__KIND__KIND_POLL;
	ch.id = (char *)id;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_POLL;
	ch.poll = &p;
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "try again");
		goto out;
	}
	ch.version = relay_next_version(n);
	if (relay_check(&ch, why, sizeof(why)) != ERR_OK ||
	    relay_store_poll(n->db, &ch) != ERR_OK ||
	    relay_outbox_put(n, &ch) != ERR_OK ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		http_reply_error(wsi, ex, 500, "internal", "the poll could not"
				 " be closed");
		goto out;
	}
	log_info("polls: the manager closed poll %s.%s", ch.origin, id);
	relay_flush(n);
	poll_row_free(&row);
	if (poll_store_get(n->civic->polls, n->cfg.community, id, &row) ==
	    ERR_OK)
		http_reply_json(wsi, ex, 200, row_json(n, &row, 0));
	else
		http_reply_error(wsi, ex, 500, "internal", "closed, but not "
				 "read back");
out:
	poll_row_free(&row);
}

/* close_own: close_poll when origin is this community; a 403 else. */
static void close_own(struct node *n, struct lws *wsi,
		      struct http_exchange *ex, const char *origin,
		      const char *id)
{
	if (strcmp(origin, n->cfg.community) != 0)
		http_reply_error(wsi, ex, 403, "forbidden", "only this "
				 "community's own polls are closed here");
	else
		close_poll(n, wsi, ex, id);
}

/* ---- voting --------------------------------------------------------------------- */

/* choose: the option index the body names, or -1. */
static int64_t choose(const json_t *in, const json_t *opts)
{
	const json_t *choice = json_object_get(in, "option");
	int64_t option = -1;
	size_t i;
	json_t *v;

	if (json_is_integer(choice))
		option = json_integer_value(choice);
	else if (json_is_string(choice))
		json_array_foreach(opts, i, v)
			if (json_equal(v, choice))
				option = (int64_t)i;
	return option >= 0 && option < (int64_t)json_array_size(opts)
	       ? option : -1;
}

/* record_vote: the vote and the new tally in one transaction. 1 when the
 * resident had voted already (or her phone had, under an account since
 * deleted: voters.c), 0 when stored, -1 on error. */
static int record_vote(struct node *n, const char *origin, const char *id,
		       int64_t resident, int64_t option, size_t n_options)
{
	int stored, phone = -1;

	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		return -1;
	stored = poll_store_vote(n->civic->polls, origin, id, resident, option,
				 clock_now());
	if (stored == 1)
		phone = voters_claim_phone(n, origin, id, resident);
	if (stored != 1 || phone != 1 ||
	    put_tally(n, origin, id, n_options) != ERR_OK ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		return stored == 0 || phone == 0 ? 1 : -1;
	}
	return 0;
}

static void vote(struct node *n, struct lws *wsi, struct http_exchange *ex,
		 const char *origin, const char *id)
{
	json_t *in;
	struct poll_row row;
	char peer[64], key[80];
	int64_t resident = residents_bearer(n, wsi), option, now = clock_now();
	int rc;

	if (!resident) {
		http_reply_error(wsi, ex, 401, "unauthorized", "a resident "
				 "credential is needed to vote "
				 "(Authorization: Bearer TOKEN)");
		return;
	}
	civic_peer(wsi, peer, sizeof(peer));
	snprintf(key, sizeof(key), "addr:%s", peer);
	if (civic_limited(n->civic->rl_vote, key, wsi, ex, 0))
		return;
	snprintf(key, sizeof(key), "resident:%lld", (long long)resident);
	if (civic_limited(n->civic->rl_vote, key, wsi, ex, 0))
		return;
	if (!voters_may_vote(n, resident)) {
		http_reply_error(wsi, ex, 403, "unconfirmed", "your phone is "
				 "not confirmed yet: %s",
				 n->civic->sms ? "ask the community's office "
				 "to confirm it, or register with a household "
				 "code" : "the community's office confirms it "
				 "(bring the phone), or register with a "
				 "household code from the office");
		return;
	}
	if (!(in = http_parse_json(wsi, ex)))
		return;
	if (poll_store_get(n->civic->polls, origin, id, &row) != ERR_OK) {
		http_reply_error(wsi, ex, 404, "not_found", "no poll %s.%s",
				 origin, id);
		json_decref(in);
		return;
	}
	if (row.closes <= now || row.opens > now) {
		http_reply_error(wsi, ex, 409, "closed", "the poll is %s",
				 row.closes <= now ? "closed"
						   : "not open yet");
		goto out;
	}
	option = choose(in, row.options);
	if (option < 0) {
		http_reply_error(wsi, ex, 422, "invalid", "option: the index or "
				 "text of one of the poll's options");
		goto out;
	}
	rc = record_vote(n, origin, id, resident, option,
			 json_array_size(row.options));
	if (rc == 1) {
		http_reply_error(wsi, ex, 409, "already_voted", "this resident "
				 "has voted in this poll");
	} else if (rc < 0) {
		http_reply_error(wsi, ex, 500, "internal", "the vote could not "
				 "be stored");
	} else {
		relay_flush(n);
		http_reply_json(wsi, ex, 201, json_pack(
			"{s:s, s:I}", "poll", id, "option",
			(json_int_t)option));
	}
out:
	poll_row_free(&row);
	json_decref(in);
}

/* ---- district polls -------------------------------------------------------------- */

int polls_apply(struct node *n, const Change *ch, char *reason, size_t rlen,
		int *refused)
{
	const Alliance__V1__Poll *p = ch->poll;
	int ours = p->n_area == 0;

	for (size_t i = 0; i < p->n_area; i++)
		ours |= strcmp(p->area[i], n->cfg.community) == 0;
	if (strcmp(ch->origin, RELAY_DISTRICT) != 0 || !ours) {
		*refused = 1;
		snprintf(reason, rlen, "not a district poll for %s",
			 n->cfg.community);
		return ERR_OK;
	}
	return relay_store_poll(n->db, ch);
}

int polls_apply_tally(struct node *n, const Change *ch, char *reason,
		      size_t rlen, int *refused)
{
	const Alliance__V1__Tally *t = ch->tally;
	char *text;
	int rc, n_options;

	if (strcmp(t->poll_origin, RELAY_DISTRICT) != 0 ||
	    strcmp(ch->origin, n->cfg.community) == 0) {
		*refused = 1;
		snprintf(reason, rlen, "not another community's tally of a "
			 "district poll");
		return ERR_OK;
	}
	if (!relay_tally_bounded(t, reason, rlen)) {   /* summed in results */
		*refused = 1;
		return ERR_OK;
	}
	n_options = poll_store_n_options(n->civic->polls, t->poll_origin,
					 t->poll_id);
	/* a tally may come before its poll (both are queued when a session
	 * starts); results() skips one whose counts do not fit */
	if (n_options >= 0 && t->n_counts != (size_t)n_options) {
		*refused = 1;
		snprintf(reason, rlen, "counts do not match the poll's "
			 "options");
		return ERR_OK;
	}
	text = relay_tally_counts(t);
	if (!text)
		return ERR_NOMEM;
	rc = poll_store_tally_put(n->civic->polls, t->poll_origin, t->poll_id,
				  ch->origin, ch->version, text, t->updated);
	free(text);
	return rc == ERR_OK ? ERR_OK : ERR_IO;
}

/* ---- the route ------------------------------------------------------------------- */

/* poll_key: split the {key} param into origin and id (both
 * LIMIT-sized); 0 with a 404 stored when it names no poll. */
static int poll_key(struct lws *wsi, struct http_exchange *ex,
		    const struct route_match *m, char *origin, char *id)
{
	char keybuf[LIMIT_RECORD_ID + 1];

	snprintf(keybuf, sizeof(keybuf), "%s", m->param[0]);
	if (!relay_split_key(keybuf, origin, LIMIT_COMMUNITY_ID + 1, id,
			     LIMIT_RECORD_ID + 1))
		return 1;
	http_reply_error(wsi, ex, 404, "not_found", "no poll %.80s",
			 ex->path + sizeof(POLLS));
	return 0;
}

void polls_on_list(void *ctx, struct lws *wsi, struct http_exchange *ex,
		   const struct route_match *m)
{
	(void)ctx;
	(void)m;
	list(node_from_wsi(wsi), wsi, ex);
}

void polls_on_create(void *ctx, struct lws *wsi, struct http_exchange *ex,
		     const struct route_match *m)
{
	(void)ctx;
	(void)m;
	create(node_from_wsi(wsi), wsi, ex);
}

void polls_on_close(void *ctx, struct lws *wsi, struct http_exchange *ex,
		    const struct route_match *m)
{
	char origin[LIMIT_COMMUNITY_ID + 1], id[LIMIT_RECORD_ID + 1];

	(void)ctx;
	if (poll_key(wsi, ex, m, origin, id))
		close_own(node_from_wsi(wsi), wsi, ex, origin, id);
}

void polls_on_vote(void *ctx, struct lws *wsi, struct http_exchange *ex,
		   const struct route_match *m)
{
	char origin[LIMIT_COMMUNITY_ID + 1], id[LIMIT_RECORD_ID + 1];

	(void)ctx;
	if (poll_key(wsi, ex, m, origin, id))
		vote(node_from_wsi(wsi), wsi, ex, origin, id);
}

void polls_on_get(void *ctx, struct lws *wsi, struct http_exchange *ex,
		  const struct route_match *m)
{
	char origin[LIMIT_COMMUNITY_ID + 1], id[LIMIT_RECORD_ID + 1];
	struct node *n = node_from_wsi(wsi);
	struct poll_row row;

	(void)ctx;
	if (!poll_key(wsi, ex, m, origin, id))
		return;
	if (poll_store_get(n->civic->polls, origin, id, &row) != ERR_OK) {
		http_reply_error(wsi, ex, 404, "not_found", "no poll %s",
				 m->param[0]);
		return;
	}
	http_reply_json(wsi, ex, 200, row_json(n, &row,
					       residents_bearer(n, wsi)));
	poll_row_free(&row);
}
