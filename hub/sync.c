/* sync.c: the two change streams of a session, at the hub.
 *
 * Up: a node's Changes are checked (every origin is the session's
 * community, from its certificate; sequence numbers increase), applied in
 * one transaction with the version rule and under the community's quota
 * (quota.c: past it, the batch is rolled back and the session closed),
 * and acked only after commit. A record's time ahead of the hub's clock
 * is clamped to it, so that it cannot pin the record first.
 * Down: the hub's log is sent to each node from its own cursor, in batches
 * of at most LIMIT_BATCH changes and the bytes the node takes (Hello:
 * hub_batch_down) and at most LIMIT_WINDOW unacked frames, so a slow node
 * costs bounded memory (the link's stream, lib/link.h); a node is not
 * sent its own records unless its store is fresh (recovery). A batch is
 * read and encoded off the service thread, on the streamer's thread
 * (lib/streamer.h), one at a time per session; the service thread only
 * writes it, after the session's queued frames (bulletins first). When
 * the streamer holds LIMIT_STREAM_FRAMES already, the batch is built at
 * WRITEABLE on the service thread as before. A batch that cannot be read
 * or encoded closes the session (link_unsent) rather than stopping the
 * stream unseen.
 * Parts: up; down; waking sessions. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "err.h"
#include "hub.h"
#include "log.h"
#include "pglog.h"
#include "store.h"
#include "streamer.h"

/* ---- up -------------------------------------------------------------------- */

static void send_ack(struct session *s, uint64_t seq)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Ack ack = ALLIANCE__V1__ACK__INIT;

	ack.seq = seq;
	frame.body_case = ALLIANCE__V1__FRAME__BODY_ACK;
	frame.ack = &ack;
	session_send(s, &frame);
}

/* check_batch: every rule a batch must keep before anything is stored.
 * Returns ERR_OK, or closes the session and returns an error. */
static int check_batch(struct session *s, const Alliance__V1__Changes *cs)
{
	uint64_t prev = 0;
	char why[160];
	size_t i;

	for (i = 0; i < cs->n_changes; i++) {
		const Change *ch = cs->changes[i];

		if (!session_own_record(s, ch, "change"))
			return ERR_DENIED;
		if (ch->seq <= prev) {
			session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
				      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
				      "changes out of order: seq %llu after %llu",
				      (unsigned long long)ch->seq,
				      (unsigned long long)prev);
			return ERR_INVALID;
		}
		prev = ch->seq;
		if (ch->kind != ALLIANCE__V1__KIND__KIND_SERVICE &&
		    ch->kind != ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT) {
			session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
				      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
				      "change %s: kind %d is not synced up",
				      ch->id, ch->kind);
			return ERR_INVALID;
		}
		if (!ch->deleted &&
		    !((ch->kind == ALLIANCE__V1__KIND__KIND_SERVICE &&
		       ch->body_case == ALLIANCE__V1__CHANGE__BODY_SERVICE) ||
		      (ch->kind == ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT &&
		       ch->body_case == ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT))) {
			session_close(s, REFUSE_BAD_FRAME, WIRE_CLOSE_BAD_FRAME,
				      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
				      "change %s: body does not match its kind",
				      ch->id);
			return ERR_INVALID;
		}
		if (catalog_check(ch, why, sizeof(why)) != ERR_OK) {
			session_close(s, REFUSE_BAD_FRAME, WIRE_CLOSE_BAD_FRAME,
				      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
				      "change %s: %s", ch->id, why);
			return ERR_INVALID;
		}
	}
	if (cs->n_changes && cs->last_seq &&
	    cs->last_seq != cs->changes[cs->n_changes - 1]->seq) {
		session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "last_seq %llu is not the last change's seq",
			      (unsigned long long)cs->last_seq);
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* apply: the batch's changes past seq from (replays of what was
 * committed are passed over) under the version rule, in the open
 * transaction. With qb, a session's batch: each time ahead of our clock
 * is clamped to it first and each change is judged by s's quota; without,
 * an event of the shared log, stored as the replica that took it judged
 * and clamped it. *last is the seq the batch takes the cursor to. ERR_OK;
 * ERR_TOOBIG past the quota (the change and reason in why); ERR_IO. */
static int apply(struct hub *hub, struct session *s, struct quota_batch *qb,
		 uint64_t from, const Alliance__V1__Changes *cs,
		 uint64_t *last, uint64_t *applied_n, uint64_t *stale_n,
		 char *why, size_t whylen)
{
	char reason[200];
	size_t i;

	*last = from;
	for (i = 0; i < cs->n_changes; i++) {
		Change *ch = cs->changes[i];
		uint64_t old_bytes = 0;
		int applied = 0, old_live = 0, rc;

		if (ch->seq <= from)
			continue;       /* a replay of what was committed */
		/* a time ahead of ours would pin the record first */
		if (qb)
			catalog_clamp_time(ch, hub_now());
		if ((qb && catalog_record_size(hub->cat, ch->origin, ch->kind,
					       ch->id, &old_live, &old_bytes)
			   != ERR_OK) ||
		    catalog_apply(hub->cat, ch, 1, &applied) != ERR_OK)
			return ERR_IO;
		rc = applied && qb ? hub_quota_change(s, qb, ch, old_live,
						      old_bytes, reason,
						      sizeof(reason))
				   : ERR_OK;
		if (rc == ERR_IO)
			return ERR_IO;
		if (rc != ERR_OK) {
			snprintf(why, whylen, "change %s/%s: %s", ch->origin,
				 ch->id, reason);
			return ERR_TOOBIG;
		}
		applied ? (*applied_n)++ : (*stale_n)++;
		*last = ch->seq;
	}
	if (cs->last_seq > *last)
		*last = cs->last_seq;
	return ERR_OK;
}

static int share(struct session *s, const Alliance__V1__Changes *cs,
		 uint64_t last, struct quota_batch *qb);

int handle_changes(struct session *s, const Alliance__V1__Changes *cs)
{
	struct hub *hub = s->hub;
	struct community *c = s->community;
	uint64_t last = c->up_cursor, applied_n = 0, stale_n = 0;
	struct quota_batch qb;
	unsigned faults = store_fault_count();
	char why[300];
	int rc;

	if (check_batch(s, cs) != ERR_OK)
		return ERR_INVALID;
	c->up_head = cs->head > cs->last_seq ? cs->head : cs->last_seq;
	hub_quota_begin(s, cs, &qb);
	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto fail;
	rc = apply(hub, s, &qb, c->up_cursor, cs, &last, &applied_n, &stale_n,
		   why, sizeof(why));
	if (rc == ERR_TOOBIG) {
		/* nothing of the batch is stored or sent on */
		store_exec(hub->db, "ROLLBACK");
		c->closed_quota++;
		session_close(s, REFUSE_QUOTA, WIRE_CLOSE_QUOTA,
			      ALLIANCE__V1__ERROR_CODE__ERROR_OVER_QUOTA,
			      "%s", why);
		return ERR_TOOBIG;
	}
	if (rc != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		goto fail;
	}
	if (hub->pglog) {
		/* judged: the store changes when the shared log says so */
		store_exec(hub->db, "ROLLBACK");
		return share(s, cs, last, &qb);
	}
	if (last > c->up_cursor) {
		struct community saved = *c;

		saved.up_cursor = last;
		if (hub_store_save_link(hub, &saved) != ERR_OK) {
			store_exec(hub->db, "ROLLBACK");
			goto fail;
		}
	}
	if (store_exec(hub->db, "COMMIT") != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		goto fail;
	}
	c->up_cursor = last > c->up_cursor ? last : c->up_cursor;
	hub_quota_commit(s, &qb);
	hub->metrics.changes_applied += applied_n;
	hub->metrics.changes_stale += stale_n;
	log_debug("sync %s: up batch of %zu: %llu stored, %llu stale, cursor "
		  "%llu", c->id, cs->n_changes, (unsigned long long)applied_n,
		  (unsigned long long)stale_n, (unsigned long long)c->up_cursor);
	send_ack(s, c->up_cursor);
	if (applied_n)
		sync_wake(hub);
	return ERR_OK;
fail:
	/* a storage fault's true cause (a full disk...) to the node too */
	why[0] = '\0';
	if (store_fault_count() != faults)
		store_fault_last(why, sizeof(why));
	session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_INTERNAL, 0,
		      "the hub could not store the batch%s%.60s; resend later",
		      why[0] ? ": " : "", why);
	return ERR_IO;
}

/* ---- the shared log ([store] postgresql) -------------------------------- */

/* The hub_meta key of the shared log's last event applied. */
#define SHARED_APPLIED "shared_log_seq"
/* Events of the shared log applied at one wake-up at most (a run of
 * deliveries counting as one). */
#define SHARED_PER_WAKE 16
/* Consecutive deliveries applied in one transaction at most: a
 * bulletin's acks come all at once, and a transaction an event cost
 * every replica 1000 commits a bulletin at 1000 nodes (when an event was
 * an ack). */
#define SHARED_RUN 256

int sync_shared_open(struct hub *hub, char *err, size_t errlen)
{
	int64_t applied = 0;
	int rc;

	if (!hub->cfg.store_postgresql)
		return ERR_OK;
	rc = hub_store_meta_get(hub, SHARED_APPLIED, &applied);
	if (rc == ERR_NOTFOUND) {
		/* a copy starts empty: records of the store's own would be
		 * served by this replica alone */
		if (catalog_log_head(hub->cat)) {
			snprintf(err, errlen, "%s holds records that are not "
				 "from the shared log of [store] postgresql: "
				 "start the replica on a new store",
				 hub->cfg.store_path);
			return ERR_INVALID;
		}
		applied = 0;
		rc = hub_store_meta_set(hub, SHARED_APPLIED, 0);
	}
	if (rc != ERR_OK) {
		snprintf(err, errlen, "%s: cannot read or write hub_meta",
			 hub->cfg.store_path);
		return ERR_IO;
	}
	hub->shared_applied = (uint64_t)applied;
	/* whose session claims are whose (session.c) */
	if (getrandom(&hub->replica_id, sizeof(hub->replica_id), 0) !=
	    (ssize_t)sizeof(hub->replica_id)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return ERR_IO;
	}
	return ERR_OK;
}

int sync_shared_start(struct hub *hub, char *err, size_t errlen)
{
	if (!hub->cfg.store_postgresql)
		return ERR_OK;
	return pglog_start(hub->cfg.store_postgresql, hub->shared_applied,
			   hub->lws, &hub->pglog, err, errlen);
}

/* share: hand a judged batch to the shared log; it is acked once the log
 * brings it back (shared_ack). */
static int share(struct session *s, const Alliance__V1__Changes *cs,
		 uint64_t last, struct quota_batch *qb)
{
	struct community *c = s->community;
	size_t len;
	uint8_t *buf;
	char why[300];
	int rc;

	if (last <= c->up_cursor && s->shared_pending <= s->shared_acked) {
		send_ack(s, c->up_cursor);      /* nothing new, nothing due */
		return ERR_OK;
	}
	len = alliance__v1__changes__get_packed_size(cs);
	buf = malloc(len ? len : 1);
	if (!buf) {
		rc = ERR_NOMEM;
		snprintf(why, sizeof(why), "out of memory");
	} else {
		/* the times as clamped here: every replica stores these */
		alliance__v1__changes__pack(cs, buf);
		rc = pglog_append(s->hub->pglog, PGLOG_CHANGES, c->id, last,
				  buf, len, why, sizeof(why));
		free(buf);
	}
	if (rc != ERR_OK) {
		/* the close reason's 123 bytes: the cause comes last */
		session_close(s, REFUSE_UNAVAILABLE, WIRE_CLOSE_TRY_AGAIN, 0,
			      WIRE_TRY_AGAIN_REASON ": %.200s", why);
		return rc;
	}
	hub_quota_commit(s, qb);
	if (last > s->shared_pending)
		s->shared_pending = last;
	return ERR_OK;
}

/* shared_ack: ack c's session what the log now holds of its batches. */
static void shared_ack(struct community *c)
{
	struct session *s = c->session;
	uint64_t ack;

	if (!s || s->state != SESSION_ACTIVE ||
	    s->shared_pending <= s->shared_acked)
		return;
	ack = c->up_cursor < s->shared_pending ? c->up_cursor
					       : s->shared_pending;
	if (ack > s->shared_acked) {
		s->shared_acked = ack;
		send_ack(s, ack);
	}
}

/* apply_failed: log that events first..last of the shared log could not
 * be applied (nothing of them was: the log is read again from the
 * applied mark). ERR_IO. */
static int apply_failed(const struct hub *hub, uint64_t first,
			uint64_t last)
{
	char which[48];

	snprintf(which, sizeof(which), first == last ? "%llu" : "%llu to %llu",
		 (unsigned long long)first, (unsigned long long)last);
	log_error("shared log %s: cannot apply it to the store; reading the "
		  "log again from %llu", which,
		  (unsigned long long)hub->shared_applied);
	return ERR_IO;
}

/* shared_apply_hub: a record the hub originated (a directory event) or
 * a purge, in one transaction with the applied mark; the operator's
 * request that appended it is answered (api.c). ERR_OK or ERR_IO. */
static int shared_apply_hub(struct hub *hub, const struct pglog_event *ev,
			    uint64_t *applied_n)
{
	uint64_t purged = 0;
	int applied = 0, rc;

	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto fail;
	rc = ev->kind == PGLOG_DIRECTORY
		? hub_directory_apply(hub, ev->body, ev->len, &applied)
		: retention_purge_to(hub, ev->last, &purged);
	if (rc != ERR_OK ||
	    hub_store_meta_set(hub, SHARED_APPLIED, (int64_t)ev->seq)
	    != ERR_OK || store_exec(hub->db, "COMMIT") != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		goto fail;
	}
	hub->shared_applied = ev->seq;
	if (ev->kind == PGLOG_PURGE) {
		retention_purged(hub, ev->last, purged);
		return ERR_OK;
	}
	if (applied)
		(*applied_n)++;
	api_registry_done(hub, ev->community, ev->last, applied, NULL);
	return ERR_OK;
fail:
	return apply_failed(hub, ev->seq, ev->seq);
}

/* shared_apply_event: a bulletin or a delivery (bulletin.c), a relayed
 * record, its delivery or a district poll (relay.c), in one transaction
 * with the applied mark; what follows the commit after it. ERR_OK or
 * ERR_IO. */
static int shared_apply_event(struct hub *hub, const struct pglog_event *ev)
{
	struct hub_bulletin_event *be = NULL;
	struct hub_relay_event *re = NULL;
	int bulletin = ev->kind == PGLOG_BULLETIN || pglog_delivery(ev->kind);

	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto fail;
	if ((bulletin ? hub_bulletin_apply(hub, ev, &be)
		      : hub_relay_apply(hub, ev, &re)) != ERR_OK ||
	    hub_store_meta_set(hub, SHARED_APPLIED, (int64_t)ev->seq)
	    != ERR_OK || store_exec(hub->db, "COMMIT") != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		hub_bulletin_applied(hub, &be, 0);
		hub_relay_applied(hub, &re, 0);
		goto fail;
	}
	hub->shared_applied = ev->seq;
	hub_bulletin_applied(hub, &be, 1);
	hub_relay_applied(hub, &re, 1);
	return ERR_OK;
fail:
	return apply_failed(hub, ev->seq, ev->seq);
}

/* shared_apply_run: consecutive deliveries evs[0..n) (in log order, the
 * first the next of the log) in one transaction with the applied mark of
 * the last. ERR_OK, or ERR_IO (none applied: the log is read again from
 * the mark). */
static int shared_apply_run(struct hub *hub, struct pglog_event *const *evs,
			    size_t n)
{
	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto fail;
	if (hub_bulletin_apply_deliveries(hub,
		(const struct pglog_event *const *)evs, n) != ERR_OK ||
	    hub_store_meta_set(hub, SHARED_APPLIED, (int64_t)evs[n - 1]->seq)
	    != ERR_OK || store_exec(hub->db, "COMMIT") != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		goto fail;
	}
	hub->shared_applied = evs[n - 1]->seq;
	return ERR_OK;
fail:
	return apply_failed(hub, evs[0]->seq, evs[n - 1]->seq);
}

/* shared_batch_sound: the rules of a node's own records, again for a
 * batch read from the log (the database is trusted no more than a node:
 * the replica that appended it checked them against the node's
 * certificate): every change of the event's community, its content
 * valid. 1, or 0 with why. */
static int shared_batch_sound(const struct pglog_event *ev,
			      const Alliance__V1__Changes *cs, char *why,
			      size_t whylen)
{
	char rule[160];
	size_t i;

	for (i = 0; i < cs->n_changes; i++) {
		const Change *ch = cs->changes[i];

		if (!ch->origin || strcmp(ch->origin, ev->community) != 0) {
			snprintf(why, whylen, "change %.64s: of %.64s, not of "
				 "the event's community", ch->id,
				 ch->origin ? ch->origin : "");
			return 0;
		}
		if (catalog_check(ch, rule, sizeof(rule)) != ERR_OK) {
			snprintf(why, whylen, "change %.64s: %s", ch->id, rule);
			return 0;
		}
	}
	return 1;
}

/* shared_apply: event ev (the next of the log) into the store, in one
 * transaction with the applied mark. ERR_OK, or ERR_IO (nothing
 * applied: the log is read again from the mark). */
static int shared_apply(struct hub *hub, const struct pglog_event *ev,
			uint64_t *applied_n)
{
	struct community *c = registry_find(hub, ev->community);
	Alliance__V1__Changes *cs = NULL;
	uint64_t last = 0, stale_n = 0;
	char why[300];
	int rc = ERR_OK;

	if (ev->kind == PGLOG_CLAIM) {
		char body[48];

		if (hub_store_meta_set(hub, SHARED_APPLIED, (int64_t)ev->seq)
		    != ERR_OK)
			goto fail;
		hub->shared_applied = ev->seq;
		snprintf(body, sizeof(body), "%.*s",
			 (int)(ev->len < sizeof(body) ? ev->len
						      : sizeof(body) - 1),
			 (const char *)ev->body);
		session_claim_applied(hub, ev->seq, ev->community, body);
		return ERR_OK;
	}
	if (ev->kind == PGLOG_DIRECTORY || ev->kind == PGLOG_PURGE)
		return shared_apply_hub(hub, ev, applied_n);
	if (ev->kind == PGLOG_BULLETIN || pglog_delivery(ev->kind) ||
	    ev->kind == PGLOG_RELAY || ev->kind == PGLOG_RELAYED ||
	    ev->kind == PGLOG_POLL)
		return shared_apply_event(hub, ev);
	if (ev->kind == PGLOG_CHANGES)
		cs = alliance__v1__changes__unpack(NULL, ev->len, ev->body);
	if (!cs)
		log_error("shared log %llu: not a Changes batch of %s: passed "
			  "over", (unsigned long long)ev->seq, ev->community);
	else if (!shared_batch_sound(ev, cs, why, sizeof(why))) {
		log_error("shared log %llu: a batch of %s refused, not "
			  "stored: %s", (unsigned long long)ev->seq,
			  ev->community, why);
		alliance__v1__changes__free_unpacked(cs, NULL);
		cs = NULL;
	}
	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto fail;
	if (cs)
		rc = apply(hub, NULL, NULL, c ? c->up_cursor : 0, cs, &last,
			   applied_n, &stale_n, why, sizeof(why));
	if (rc == ERR_OK && c && last > c->up_cursor) {
		struct community saved = *c;

		saved.up_cursor = last;
		rc = hub_store_save_link(hub, &saved);
	}
	if (rc != ERR_OK ||
	    hub_store_meta_set(hub, SHARED_APPLIED, (int64_t)ev->seq)
	    != ERR_OK || store_exec(hub->db, "COMMIT") != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		goto fail;
	}
	alliance__v1__changes__free_unpacked(cs, NULL);
	hub->shared_applied = ev->seq;
	hub->metrics.changes_stale += stale_n;
	if (c) {
		if (last > c->up_cursor)
			c->up_cursor = last;
		c->usage_known = 0;     /* read again from the store */
		shared_ack(c);
	}
	return ERR_OK;
fail:
	alliance__v1__changes__free_unpacked(cs, NULL);
	return apply_failed(hub, ev->seq, ev->seq);
}

/* shared_failed: the database did not take a batch of ev's community:
 * its session, if one waits for an ack, is told to come back. */
static void shared_failed(struct hub *hub, const struct pglog_event *ev)
{
	struct community *c = registry_find(hub, ev->community);
	struct session *s = c ? c->session : NULL;

	if (ev->kind == PGLOG_CLAIM) {
		session_claim_failed(hub, ev->community, ev->why);
		return;
	}
	if (ev->kind == PGLOG_DIRECTORY) {
		api_registry_done(hub, ev->community, ev->last, 0, ev->why);
		return;
	}
	if (ev->kind == PGLOG_BULLETIN || pglog_delivery(ev->kind)) {
		hub_bulletin_failed(hub, ev);
		return;
	}
	if (ev->kind == PGLOG_RELAY || ev->kind == PGLOG_RELAYED ||
	    ev->kind == PGLOG_POLL) {
		hub_relay_failed(hub, ev);
		return;
	}
	if (s && s->state == SESSION_ACTIVE &&
	    s->shared_pending > s->shared_acked)
		session_close(s, REFUSE_UNAVAILABLE, WIRE_CLOSE_TRY_AGAIN, 0,
			      WIRE_TRY_AGAIN_REASON ": the hub's database did not "
			      "store the batch: %.150s", ev->why);
}

/* run_flush: apply the run of deliveries held (shared_apply_run) and
 * free it; *rewind set when it failed. */
static void run_flush(struct hub *hub, struct pglog_event **run,
		      size_t *n_run, int *rewind)
{
	if (!*n_run)
		return;
	if (shared_apply_run(hub, run, *n_run) != ERR_OK)
		*rewind = 1;
	for (size_t i = 0; i < *n_run; i++)
		pglog_event_free(run[i]);
	*n_run = 0;
}

void sync_shared_drain(struct hub *hub)
{
	struct pglog_event *ev, *run[SHARED_RUN];
	size_t n_run = 0;
	uint64_t applied_n = 0;
	int rewind = 0, n = 0, more;

	if (!hub->pglog)
		return;
	/* a few events a wake-up, so that a long log read at start does not
	 * hold the sessions: the rest at the next turn of the loop */
	while ((more = n < SHARED_PER_WAKE) &&
	       (ev = pglog_take(hub->pglog))) {
		/* the next deliveries of the log gather into a run, applied
		 * in one transaction and counted as one event */
		if (!ev->failed && pglog_delivery(ev->kind) && !rewind &&
		    ev->seq == hub->shared_applied + 1 + n_run) {
			run[n_run++] = ev;
			if (n_run == SHARED_RUN) {
				run_flush(hub, run, &n_run, &rewind);
				n++;
			}
			continue;
		}
		if (n_run) {
			run_flush(hub, run, &n_run, &rewind);
			n++;
		}
		if (ev->failed)
			shared_failed(hub, ev);
		else if (ev->seq == hub->shared_applied + 1 && !rewind)
			rewind = shared_apply(hub, ev, &applied_n) != ERR_OK;
		else if (ev->seq > hub->shared_applied + 1)
			rewind = 1;     /* after a failed apply */
		pglog_event_free(ev);
		n++;
	}
	run_flush(hub, run, &n_run, &rewind);
	if (!more)
		lws_cancel_service(hub->lws);   /* maybe more: come back */
	else if (hub->synonyms_due && !rewind)
		hub_directory_sync(hub);        /* the log is reached */
	if (rewind)
		pglog_rewind(hub->pglog, hub->shared_applied);
	hub->metrics.changes_applied += applied_n;
	if (applied_n)
		sync_wake(hub);
}

/* ---- down ------------------------------------------------------------------ */

int handle_ack(struct session *s, const Alliance__V1__Ack *ack)
{
	struct community *c = s->community;
	unsigned released;

	if (link_stream_ack(&s->down, ack->seq, &released) != ERR_OK) {
		session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "ack of %llu, beyond what was sent (%llu)",
			      (unsigned long long)ack->seq,
			      (unsigned long long)s->down.sent);
		return ERR_INVALID;
	}
	if (ack->seq > c->down_cursor) {
		c->down_cursor = ack->seq;
		hub_store_save_link(s->hub, c);
	}
	if (released)
		sync_down_kick(s);
	return ERR_OK;
}

/* down_skip, down_max_kind: what s's down stream passes over: the
 * node's own records (unless its store is fresh), and the directory's
 * kinds for a node that does not know them (it would refuse a batch
 * holding them). */
static const char *down_skip(const struct session *s)
{
	return s->send_own ? NULL : s->community->id;
}

static int down_max_kind(const struct session *s)
{
	return s->directory ? INT_MAX : ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT;
}

/* down_submit: hand s's next batch, when one is due at head, to the
 * streamer to build off this thread. 1 when one is being built or waits
 * to be written, 0 when nothing is due, -1 when the streamer takes no
 * more now (it is then built here, at WRITEABLE, as before). */
static int down_submit(struct session *s, uint64_t head)
{
	struct link_batch b;

	if (s->down.building || s->down.ready.buf)
		return 1;
	if (!link_stream_batch(&s->down, head, down_skip(s), down_max_kind(s),
			       &b))
		return 0;
	if (streamer_submit(s->hub->streamer, s->community->id, s->serial,
			    &b) != ERR_OK)
		return -1;
	s->down.building = 1;
	return 1;
}

/* kick: s's down stream at head: its next batch is built off this
 * thread, or its ready frame (or, the streamer being full, its batch) is
 * written at its next WRITEABLE. */
static void kick(struct session *s, uint64_t head)
{
	if (s->state != SESSION_ACTIVE)
		return;
	if (s->down.ready.buf || down_submit(s, head) < 0)
		lws_callback_on_writable(s->wsi);
}

void sync_down_kick(struct session *s)
{
	kick(s, catalog_log_head(s->hub->cat));
}

int sync_write_down(struct session *s)
{
	uint64_t head;
	int rc;

	if (s->state != SESSION_ACTIVE)
		return 0;
	if (s->down.ready.buf) {
		/* built off this thread: only the write is left */
		rc = link_stream_put(&s->link, &s->down);
		streamer_release(s->hub->streamer);
		if (rc == 1)
			sync_down_kick(s);
		return rc;
	}
	head = catalog_log_head(s->hub->cat);
	if (down_submit(s, head) >= 0)
		return 0;
	return link_stream_write(&s->link, &s->down, s->hub->cat,
				 down_skip(s), down_max_kind(s), NULL, NULL);
}

void sync_built(struct hub *hub)
{
	struct stream_job *job = streamer_take_done(hub->streamer);

	while (job) {
		struct stream_job *next = job->next;
		struct community *c = registry_find(hub, job->owner);
		struct session *s = c ? c->session : NULL;

		/* the session it was built for, unless closed since */
		if (s && s->serial == job->serial && s->down.building) {
			link_stream_built(&s->link, &s->down, job->rc,
					  &job->frame);
			if (!s->down.ready.buf)     /* refused or closing */
				streamer_release(hub->streamer);
		} else {
			streamer_release(hub->streamer);
		}
		stream_job_free(job);
		job = next;
	}
}

void sync_down_closed(struct session *s)
{
	if (s->down.ready.buf) {
		link_stream_free(&s->down);
		streamer_release(s->hub->streamer);
	}
}

int sync_start(struct hub *hub, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = hub_store_connect(hub->cfg.store_path, &db, err, errlen);

	if (rc != ERR_OK)
		return rc;
	return streamer_start(db, hub->lws, LIMIT_STREAM_FRAMES,
			      &hub->streamer, err, errlen);
}

/* ---- waking ------------------------------------------------------------ */

static void wake_one(struct session *s, void *arg)
{
	kick(s, *(const uint64_t *)arg);
}

void sync_wake(struct hub *hub)
{
	uint64_t head = catalog_log_head(hub->cat);

	registry_each_session(hub, wake_one, &head);
}
