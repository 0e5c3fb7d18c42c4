/* hello.c: the session handshake: a node's Hello, the hub's Welcome.
 *
 * The hub checks the Hello against the certificate (never trusting the
 * community it names), notes the node's store epoch and its cursor of the
 * hub's stream, tells a store restored from an older backup by its marks
 * (wire_store_behind), and answers with its own cursor of the node's
 * stream, the batch limits and the community's quota (quota.c). It tells
 * the node the time (Welcome.hub_time_ms, which the node judges time by)
 * and records how far the node's clock is off (Hello.node_time_ms). */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "text.h"

/* welcome: answer an accepted Hello; own_version: the highest version
 * held of the community's records. */
static void welcome(struct session *s, uint64_t own_version)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Welcome w = ALLIANCE__V1__WELCOME__INIT;
	struct community *c = s->community;

	w.up_cursor = c->up_cursor;
	w.own_version = own_version;
	w.heartbeat_s = s->hub->cfg.ping_s;
	w.batch_max = LIMIT_BATCH;
	w.batch_bytes = (uint32_t)hub_batch_bytes(s->hub);
	w.window = LIMIT_WINDOW;
	w.snapshot = s->down.snapshot_until > 0;
	w.requests_per_destination_per_hour =
		s->hub->cfg.requests_per_destination_per_hour;
	w.down_from = c->down_cursor;
	quota_to_welcome(&s->quota, &w);
	w.hub_version = (char *)ALLIANCE_VERSION;
	w.hub_time_ms = clock_local_ms();
	w.checkin = 1;                  /* KIND_CHECKIN relays (checkin.c) */
	frame.body_case = ALLIANCE__V1__FRAME__BODY_WELCOME;
	frame.welcome = &w;
	session_send(s, &frame);
}

/* past_head_again: a Hello's cursor is past the head; when the
 * community had its snapshot for that within LIMIT_PAST_HEAD_SNAPSHOT_S,
 * say so (counted and logged) and return 1: the stream continues from the
 * head (Welcome.down_from). Else note the snapshot and return 0. */
static int past_head_again(struct session *s, uint64_t head)
{
	struct community *c = s->community;
	int64_t now = hub_now();

	if (c->past_head_snapshot &&
	    now - c->past_head_snapshot < LIMIT_PAST_HEAD_SNAPSHOT_S) {
		refuse(s->hub, REFUSE_PAST_HEAD, "session %s: Hello cursor "
		       "%llu is past the head %llu again within %d s: no "
		       "snapshot, the stream continues from the head", c->id,
		       (unsigned long long)c->down_cursor,
		       (unsigned long long)head, LIMIT_PAST_HEAD_SNAPSHOT_S);
		return 1;
	}
	c->past_head_snapshot = now;
	return 0;
}

/* restored: whether a Hello of the community's current epoch comes from a
 * store gone back in time (wire_store_behind on its marks: restored from
 * an older backup); if so it is counted, logged and shown (community
 * store_restores), and the node renumbers its own log itself. */
static int restored(struct session *s, const Alliance__V1__Hello *hello,
		    uint64_t own_version)
{
	struct community *c = s->community;
	const Alliance__V1__StoreMarks *m = hello->marks;

	if (!m || !wire_store_behind(c->up_cursor, own_version, m->up_sent,
				     m->own_version))
		return 0;
	c->store_restores++;
	c->store_restored_at = hub_now();
	s->hub->metrics.store_restores++;
	log_warn("session %s: node store went back in time (restored from an "
		 "older backup?): we hold its stream up to %llu and its "
		 "versions up to %llu, it sent up to %llu and holds versions "
		 "up to %llu; it gets a snapshot with its own records, its "
		 "edits since are renumbered above ours", c->id,
		 (unsigned long long)c->up_cursor,
		 (unsigned long long)own_version,
		 (unsigned long long)m->up_sent,
		 (unsigned long long)m->own_version);
	return 1;
}

/* note_skew: record how far the node's clock is from ours (0 in the
 * Hello: an older node that does not say), and warn when that is more
 * than CLOCK_SKEW_WARN_MS. */
static void note_skew(struct community *c, const Alliance__V1__Hello *hello)
{
	c->skew_known = hello->node_time_ms != 0;
	if (!c->skew_known)
		return;
	c->clock_skew_ms = hello->node_time_ms - clock_local_ms();
	if (c->clock_skew_ms > CLOCK_SKEW_WARN_MS ||
	    c->clock_skew_ms < -CLOCK_SKEW_WARN_MS)
		log_warn("session %s: the node's clock is %.1f s %s the "
			 "hub's (it judges time by the hub's)", c->id,
			 (double)llabs(c->clock_skew_ms) / 1000.0,
			 c->clock_skew_ms > 0 ? "ahead of" : "behind");
}

int handle_hello(struct session *s, const Alliance__V1__Hello *hello)
{
	struct community *c = s->community;
	uint64_t head, own_version, snapshot = 0;
	int back = 0;

	/* the version rule: a node speaking another protocol version
	 * cannot work with this hub, whatever else its Hello says */
	if (hello->protocol_version != WIRE_PROTOCOL_VERSION) {
		session_close(s, REFUSE_VERSION, WIRE_CLOSE_VERSION,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_VERSION,
			      "protocol version %u is not spoken here (hub %s "
			      "speaks %d): upgrade the older side",
			      hello->protocol_version, ALLIANCE_VERSION,
			      WIRE_PROTOCOL_VERSION);
		return ERR_INVALID;
	}
	if (strcmp(hello->community, s->peer.name) != 0) {
		session_close(s, REFUSE_WRONG_COMMUNITY,
			      WIRE_CLOSE_WRONG_COMMUNITY,
			      ALLIANCE__V1__ERROR_CODE__ERROR_WRONG_COMMUNITY,
			      "Hello names community '%s' but the certificate "
			      "is %s", hello->community, s->peer.name);
		return ERR_DENIED;
	}
	if (!text_record_id_valid(hello->store_epoch) ||
	    strlen(hello->store_epoch) >= sizeof(c->epoch)) {
		session_close(s, REFUSE_BAD_FRAME, WIRE_CLOSE_BAD_FRAME,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "hello.store_epoch is not a valid epoch id");
		return ERR_INVALID;
	}
	if (hello->node_time_ms && !clock_ms_valid(hello->node_time_ms)) {
		session_close(s, REFUSE_BAD_FRAME, WIRE_CLOSE_BAD_FRAME,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "hello.node_time_ms is not a time (unix ms after "
			      "1970, before 10000)");
		return ERR_INVALID;
	}
	own_version = catalog_max_version(s->hub->cat, c->id);
	if (strcmp(c->epoch, hello->store_epoch) != 0) {
		if (c->epoch[0])
			log_warn("session %s: node store has a new epoch %s "
				 "(was %s): its stream starts over", c->id,
				 hello->store_epoch, c->epoch);
		memcpy(c->epoch, hello->store_epoch,
		       strlen(hello->store_epoch) + 1);
		c->up_cursor = 0;
	} else {
		back = restored(s, hello, own_version);
	}
	/* The down stream continues from the node's cursor, unless the node
	 * starts from nothing, its store was restored from an older backup,
	 * or its cursor is below the forgotten tombstones or beyond the log
	 * (a hub restored from an older backup): then it gets a snapshot, the
	 * whole log flagged so that it can drop what is no longer there; the
	 * version rule makes what it already holds harmless, and a snapshot
	 * cut short starts over (the node asks with cursor 0 until it is
	 * done). A cursor past the head gets that once an hour per community:
	 * it costs the whole log, and an honest node's cursor is within the
	 * log after its snapshot. */
	head = catalog_log_head(s->hub->cat);
	c->down_cursor = hello->down_cursor;
	if (!back && c->down_cursor > head && past_head_again(s, head)) {
		c->down_cursor = head;
	} else if (back || c->down_cursor == 0 ||
		   c->down_cursor < s->hub->purged_seq ||
		   c->down_cursor > head) {
		c->down_cursor = 0;
		snapshot = head;
	}
	link_stream_start(&s->down, c->down_cursor, LIMIT_WINDOW, LIMIT_BATCH,
			  hub_batch_down(hello->batch_bytes));
	s->down.snapshot_until = snapshot;
	s->directory = hello->directory;
	s->count_bound = hello->batch_bytes == 0;
	/* recovery: a node starting from nothing (a lost or restored store,
	 * or its snapshot cut short) gets its own records the hub holds back,
	 * those newer than a restored backup among them; otherwise a node is
	 * never sent its own */
	s->send_own = c->down_cursor == 0 && own_version > 0;
	c->last_seen = hub_now();
	c->cert_not_after = s->peer.not_after;
	note_skew(c, hello);
	hub_quota_welcome(s, &s->quota);
	hub_store_save_link(s->hub, c);

	lws_sul_cancel(&s->hello_timer);
	s->state = SESSION_ACTIVE;
	s->welcomed = 1;
	s->hub->n_sessions++;
	welcome(s, own_version);
	hub_bulletin_welcome(s);        /* pending bulletins, ahead of the stream */
	hub_relay_welcome(s);           /* requests and polls addressed to it */
	sync_down_kick(s);                  /* the down stream starts */
	log_info("session %s: established (node %s, epoch %s, down cursor "
		 "%llu%s)", c->id, hello->software_version, c->epoch,
		 (unsigned long long)c->down_cursor,
		 s->down.snapshot_until ? ", snapshot" : "");
	return ERR_OK;
}
