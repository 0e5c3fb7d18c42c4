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
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hub.h"
#include "log.h"
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

int handle_changes(struct session *s, const Alliance__V1__Changes *cs)
{
	struct hub *hub = s->hub;
	struct community *c = s->community;
	uint64_t last = c->up_cursor, applied_n = 0, stale_n = 0;
	struct quota_batch qb;
	unsigned faults = store_fault_count();
	char why[300];
	size_t i;

	if (check_batch(s, cs) != ERR_OK)
		return ERR_INVALID;
	c->up_head = cs->head > cs->last_seq ? cs->head : cs->last_seq;
	hub_quota_begin(s, cs, &qb);
	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto fail;
	for (i = 0; i < cs->n_changes; i++) {
		Change *ch = cs->changes[i];
		uint64_t old_bytes = 0;
		int applied = 0, old_live = 0, rc;

		if (ch->seq <= c->up_cursor)
			continue;       /* a replay of what was committed */
		/* a time ahead of ours would pin the record first */
		catalog_clamp_time(ch, hub_now());
		if (catalog_record_size(hub->cat, ch->origin, ch->kind, ch->id,
					&old_live, &old_bytes) != ERR_OK ||
		    catalog_apply(hub->cat, ch, 1, &applied) != ERR_OK) {
			store_exec(hub->db, "ROLLBACK");
			goto fail;
		}
		rc = applied ? hub_quota_change(s, &qb, ch, old_live, old_bytes,
						why, sizeof(why)) : ERR_OK;
		if (rc == ERR_IO) {
			store_exec(hub->db, "ROLLBACK");
			goto fail;
		}
		if (rc != ERR_OK) {
			/* nothing of the batch is stored or sent on */
			store_exec(hub->db, "ROLLBACK");
			c->closed_quota++;
			session_close(s, REFUSE_QUOTA, WIRE_CLOSE_QUOTA,
				ALLIANCE__V1__ERROR_CODE__ERROR_OVER_QUOTA,
				"change %s/%s: %s", ch->origin, ch->id, why);
			return ERR_TOOBIG;
		}
		applied ? applied_n++ : stale_n++;
		last = ch->seq;
	}
	if (cs->last_seq > last)
		last = cs->last_seq;
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
