/* session.c: node sessions on the sync websocket (protocol alliance.v1).
 *
 * A session's community is its certificate's CN; its endpoint (receiving,
 * the send queue, closing, keepalive) is a link (lib/link.h). Parts:
 * sending and closing (the hub's refusals); opening (role, registry,
 * flood limit, replacing an older session, the Hello timer); one session
 * per community across replicas ([store] postgresql: claims in the shared
 * log); receiving (the handler table by body; the batch limits); the lws
 * callback. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hub.h"
#include "log.h"
#include "pglog.h"

/* ---- sending and closing ------------------------------------------------ */

int session_send(struct session *s, const Frame *frame)
{
	return link_send(&s->link, frame);
}

/* who: the name logs use for a session's peer. */
static const char *who(const struct session *s)
{
	return s->peer.name[0] ? s->peer.name : "(unidentified)";
}

/* link_refused: the link closes s on its own (lib/link.h): count and log
 * it as the hub's refusal of that kind. */
static void link_refused(struct link *l, enum link_cause cause)
{
	static const enum refusal refusal[] = {
		[LINK_TEXT] = REFUSE_TEXT_FRAME,
		[LINK_TOO_LARGE] = REFUSE_TOO_LARGE,
		[LINK_BAD_FRAME] = REFUSE_BAD_FRAME,
		[LINK_SLOW] = REFUSE_SLOW,
		[LINK_UNSENT] = REFUSE_UNSENT,
		[LINK_NOMEM] = REFUSE_UNSENT,
	};
	struct session *s = l->owner;

	lws_sul_cancel(&s->hello_timer);
	s->state = SESSION_CLOSING;
	if (cause == LINK_UNSENT) {
		s->hub->metrics.frames_unsent++;
		log_error("session %s: cannot send a %s frame: %s", who(s),
			  l->unsent_body, err_name(l->unsent_rc));
	}
	refuse(s->hub, refusal[cause], "session %s: closing %d: %s", who(s),
	       l->close_code, l->close_reason);
}

void session_close(struct session *s, enum refusal why, int code,
		   int err_code, const char *fmt, ...)
{
	char reason[sizeof(s->link.close_reason)];
	va_list ap;

	if (s->state == SESSION_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	refuse(s->hub, why, "session %s: closing %d: %s", who(s), code,
	       reason);
	lws_sul_cancel(&s->hello_timer);
	s->state = SESSION_CLOSING;
	link_close(&s->link, code, err_code, reason);
}

int session_own_record(struct session *s, const Change *ch,
		       const char *what)
{
	const char *community = s->community->id;

	if (strcmp(ch->origin, community) == 0)
		return 1;
	session_close(s, REFUSE_WRONG_ORIGIN, WIRE_CLOSE_WRONG_ORIGIN,
		      ALLIANCE__V1__ERROR_CODE__ERROR_WRONG_COMMUNITY,
		      "%s %s/%s has origin %s; this session may write only %s",
		      what, ch->origin, ch->id, ch->origin, community);
	return 0;
}

void session_going_away(struct session *s)
{
	if (s->state == SESSION_CLOSING)
		return;
	lws_sul_cancel(&s->hello_timer);
	s->state = SESSION_CLOSING;
	link_close(&s->link, WIRE_CLOSE_GOING_AWAY, 0,
		   "the hub is shutting down");
}

static int session_writeable(struct session *s)
{
	int rc = link_writeable(&s->link);

	if (rc == 2) {          /* the queue is empty: the stream next? */
		sync_down_kick(s);
		return 0;
	}
	if (rc != 1)
		return rc;
	return sync_write_down(s) < 0 ? -1 : 0;
}

/* ---- opening ------------------------------------------------------------ */

static void hello_timeout(lws_sorted_usec_list_t *sul)
{
	struct session *s = lws_container_of(sul, struct session, hello_timer);

	if (s->state == SESSION_AWAIT_HELLO)
		session_close(s, REFUSE_HELLO_TIMEOUT, WIRE_CLOSE_HELLO_TIMEOUT,
			      0, "no valid Hello within %d s",
			      LIMIT_HELLO_TIMEOUT_S);
}

static int claim(struct hub *hub, struct session *s);

/* flooding: count a new session of c; true when over the per-minute limit.
 * The session after an honest end (honest_end) is not counted. */
static int flooding(struct hub *hub, struct community *c)
{
	time_t now = (time_t)hub_now();

	if (c->flood_exempt) {
		c->flood_exempt = 0;
		return 0;
	}
	if (now - c->flood_start >= LIMIT_FLOOD_WINDOW_S) {
		c->flood_start = now;
		c->flood_count = 0;
	}
	return ++c->flood_count > hub->cfg.sessions_per_minute;
}

static int session_open(struct hub *hub, struct session *s, struct lws *wsi)
{
	struct community *c;
	char why[160];

	memset(s, 0, sizeof(*s));
	s->wsi = wsi;
	s->hub = hub;
	s->serial = ++hub->session_serial;
	link_init(&s->link, &link_lws_io, wsi, s, hub->cfg.max_frame);
	s->link.refused = link_refused;
	s->link.count = &hub->metrics.traffic;
	s->link.self = "the hub";
	s->state = SESSION_AWAIT_HELLO;
	hub->metrics.sessions_opened++;
	if (tls_admit(hub, wsi, IDENT_NODE, "the sync websocket", &s->peer,
		      why, sizeof(why)) != ERR_OK) {
		/* counted and logged by tls_admit */
		why[100] = '\0';
		s->state = SESSION_CLOSING;
		link_close(&s->link, WIRE_CLOSE_UNAUTHORIZED, 0, why);
		return 0;
	}
	c = registry_find(hub, s->peer.name);
	if (!c) {
		session_close(s, REFUSE_NOT_REGISTERED, WIRE_CLOSE_NOT_REGISTERED,
			      ALLIANCE__V1__ERROR_CODE__ERROR_NOT_REGISTERED,
			      "community %s is not in the registry",
			      s->peer.name);
		return 0;
	}
	if (flooding(hub, c)) {
		session_close(s, REFUSE_FLOOD, WIRE_CLOSE_FLOOD, 0,
			      "more than %u sessions a minute from %s",
			      hub->cfg.sessions_per_minute, c->id);
		return 0;
	}
	if (c->session)
		session_close(c->session, REFUSE_REPLACED, WIRE_CLOSE_REPLACED,
			      0, "replaced by a newer session of %s", c->id);
	c->session = s;
	s->community = c;
	if (hub->pglog && claim(hub, s) != ERR_OK)
		return 0;
	lws_sul_schedule(hub->lws, 0, &s->hello_timer, hello_timeout,
			 LIMIT_HELLO_TIMEOUT_S * LWS_US_PER_SEC);
	log_debug("session %s: upgraded, awaiting Hello", c->id);
	return 0;
}

/* ---- one session per community across replicas ([store] postgresql) ---- */

/* claim: append s's claim to the shared log; the latest committed claim
 * of a community is its session, at every replica. ERR_OK, or s is
 * closed with 1013 (the database away: sessions come back later). */
static int claim(struct hub *hub, struct session *s)
{
	char body[48], why[300];
	int rc;

	s->claim_serial = ++hub->claims;
	snprintf(body, sizeof(body), "%016llx %llu",
		 (unsigned long long)hub->replica_id,
		 (unsigned long long)s->claim_serial);
	rc = pglog_append(hub->pglog, PGLOG_CLAIM, s->community->id, 0, body,
			  strlen(body), why, sizeof(why));
	if (rc != ERR_OK)
		session_close(s, REFUSE_UNAVAILABLE, WIRE_CLOSE_TRY_AGAIN, 0,
			      WIRE_TRY_AGAIN_REASON ": %.200s", why);
	return rc;
}

void session_claim_applied(struct hub *hub, uint64_t seq,
			   const char *community, const char *body)
{
	struct community *c = registry_find(hub, community);
	struct session *s = c ? c->session : NULL;
	unsigned long long replica = 0, serial = 0;
	int mine;

	if (!s || s->state == SESSION_CLOSING ||
	    sscanf(body, "%16llx %llu", &replica, &serial) != 2)
		return;
	mine = replica == hub->replica_id;
	if (mine && serial == s->claim_serial)
		s->claim_seq = seq;
	else if (!mine && s->claim_seq && s->claim_seq < seq)
		/* a claim still to commit is the newer one: it stays */
		session_close(s, REFUSE_REPLACED, WIRE_CLOSE_REPLACED, 0,
			      "replaced by a newer session of %s at another "
			      "hub replica", c->id);
}

void session_claim_failed(struct hub *hub, const char *community,
			  const char *why)
{
	struct community *c = registry_find(hub, community);
	struct session *s = c ? c->session : NULL;

	if (s && s->state != SESSION_CLOSING && s->claim_serial &&
	    !s->claim_seq)
		session_close(s, REFUSE_UNAVAILABLE, WIRE_CLOSE_TRY_AGAIN, 0,
			      WIRE_TRY_AGAIN_REASON ": the hub's database did not "
			      "store the session: %.150s", why);
}

/* honest_end: a session that reached Welcome and closed for a reason on
 * the server side of either end (going away, or failing to store: 1001,
 * 1011) is followed by an honest reconnect, which the flood limit does not
 * count: one per such session, so a node that cannot reach Welcome still
 * meets the limit. */
static int honest_end(const struct session *s)
{
	int code = s->state == SESSION_CLOSING ? s->link.close_code
					       : s->peer_close_code;

	return s->welcomed && (code == WIRE_CLOSE_GOING_AWAY ||
			       code == WIRE_CLOSE_INTERNAL);
}

/* peer_close: keep the code and reason of the node's close frame (in,
 * len: two bytes of code, then the reason); a reason's bytes other than
 * printable ASCII are kept as '?' (it reaches the log and the API). */
static void peer_close(struct session *s, const uint8_t *in, size_t len)
{
	size_t n = 0;

	if (len < 2)
		return;
	s->peer_close_code = in[0] << 8 | in[1];
	for (size_t i = 2; i < len && n + 1 < sizeof(s->peer_close_reason);
	     i++)
		s->peer_close_reason[n++] = in[i] >= 0x20 && in[i] < 0x7f
					    ? (char)in[i] : '?';
	s->peer_close_reason[n] = '\0';
}

/* note_close: how s ended, kept on its community c (the API's
 * last_close) and logged: the hub's close frame, or the node's, or none
 * (the connection dropped); a node's 1011 counted. */
static void note_close(struct session *s, struct community *c)
{
	int by_hub = s->state == SESSION_CLOSING;
	int code = by_hub ? s->link.close_code : s->peer_close_code;
	const char *reason = by_hub ? s->link.close_reason
				    : s->peer_close_reason;

	c->last_close_at = hub_now();
	c->last_close_code = code;
	c->last_close_by_node = !by_hub;
	snprintf(c->last_close_reason, sizeof(c->last_close_reason), "%s",
		 code ? reason : "");
	if (!by_hub && code == WIRE_CLOSE_INTERNAL)
		s->hub->metrics.node_internal_closes++;
	if (code)
		log_info("session %s: closed (by the %s: %d %s)", c->id,
			 by_hub ? "hub" : "node", code, c->last_close_reason);
	else
		log_info("session %s: closed (the connection dropped)", c->id);
}

static void session_closed(struct session *s)
{
	struct community *c = s->community;

	lws_sul_cancel(&s->hello_timer);
	link_free(&s->link);
	sync_down_closed(s);
	hub_relay_closed(s);
	if (s->welcomed)
		s->hub->n_sessions--;
	if (c && c->session == s) {
		c->session = NULL;
		c->flood_exempt = honest_end(s);
		c->last_seen = hub_now();
		hub_store_save_link(s->hub, c);
		note_close(s, c);
	}
}

/* ---- receiving ----------------------------------------------------------- */

/* A frame handler of the hub: s, the decoded frame and its length. */
typedef void (*hub_handler)(struct session *s, const Frame *f, size_t len);

static void on_hello(struct session *s, const Frame *f, size_t len)
{
	(void)len;
	if (s->state == SESSION_AWAIT_HELLO)
		handle_hello(s, f->hello);
	else
		session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "a second Hello");
}

static void on_hub_only(struct session *s, const Frame *f, size_t len)
{
	(void)len;
	session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
		      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
		      "a node may not send %s", wire_body_name(f));
}

static void on_error(struct session *s, const Frame *f, size_t len)
{
	(void)len;
	log_warn("session %s: node reports error %d: %s", who(s),
		 f->error->code, f->error->message);
}

static void on_changes(struct session *s, const Frame *f, size_t len)
{
	if (hub_quota_batch(s, f, len) == ERR_OK)
		handle_changes(s, f->changes);
}

static void on_ack(struct session *s, const Frame *f, size_t len)
{
	(void)len;
	handle_ack(s, f->ack);
}

static void on_bulletin_ack(struct session *s, const Frame *f, size_t len)
{
	(void)len;
	hub_bulletin_ack(s, f->bulletin_ack);
}

static void on_relay(struct session *s, const Frame *f, size_t len)
{
	if (hub_quota_batch(s, f, len) == ERR_OK)
		hub_relay_handle(s, f->relay);
}

static void on_relay_ack(struct session *s, const Frame *f, size_t len)
{
	(void)len;
	hub_relay_ack(s, f->relay_ack);
}

/* What the hub does with each body a node sends, by body case; a body
 * not listed is a newer node's (answered with an Error, the session goes
 * on). */
static const hub_handler hub_handlers[] = {
	[ALLIANCE__V1__FRAME__BODY_HELLO] = on_hello,
	[ALLIANCE__V1__FRAME__BODY_WELCOME] = on_hub_only,
	[ALLIANCE__V1__FRAME__BODY_CHANGES] = on_changes,
	[ALLIANCE__V1__FRAME__BODY_ACK] = on_ack,
	[ALLIANCE__V1__FRAME__BODY_BULLETIN] = on_hub_only,
	[ALLIANCE__V1__FRAME__BODY_BULLETIN_ACK] = on_bulletin_ack,
	[ALLIANCE__V1__FRAME__BODY_ERROR] = on_error,
	[ALLIANCE__V1__FRAME__BODY_RELAY] = on_relay,
	[ALLIANCE__V1__FRAME__BODY_RELAY_ACK] = on_relay_ack,
};

static void dispatch(struct session *s, const Frame *f, size_t len)
{
	size_t i = (size_t)f->body_case;
	hub_handler fn = i < sizeof(hub_handlers) / sizeof(*hub_handlers)
			 ? hub_handlers[i] : NULL;

	if (s->state == SESSION_AWAIT_HELLO &&
	    f->body_case != ALLIANCE__V1__FRAME__BODY_HELLO) {
		session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "expected Hello first, got %s",
			      wire_body_name(f));
		return;
	}
	if (fn)
		fn(s, f, len);
	else    /* a newer node's body kind: say so and go on */
		link_send_error(&s->link,
				ALLIANCE__V1__ERROR_CODE__ERROR_UNKNOWN_BODY,
				"frame body not known to this hub");
}

static int session_receive(struct session *s, const void *in, size_t len)
{
	Frame *frame;
	size_t flen;

	link_receive(&s->link, in, len, lws_frame_is_binary(s->wsi) != 0,
		     lws_is_first_fragment(s->wsi),
		     lws_is_final_fragment(s->wsi) &&
		     !lws_remaining_packet_payload(s->wsi), &frame, &flen);
	if (!frame)
		return 0;
	if (s->community)
		s->community->last_seen = hub_now();
	dispatch(s, frame, flen);
	wire_free(&frame);
	return 0;
}

/* ---- the lws callback ---------------------------------------------------- */

int callback_sync(struct lws *wsi, enum lws_callback_reasons reason,
		  void *user, void *in, size_t len)
{
	struct session *s = user;
	struct hub *hub = hub_from_wsi(wsi);

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
		struct ident peer;
		char why[160];

		/* the upgrade itself: only a node certificate that verifies
		 * now (operators never sync) */
		if (tls_admit(hub, wsi, IDENT_NODE, "the sync upgrade", &peer,
			      why, sizeof(why)) != ERR_OK) {
			return http_refuse(wsi, HTTP_STATUS_FORBIDDEN);
		}
		return 0;
	}
	case LWS_CALLBACK_ESTABLISHED:
		return session_open(hub, s, wsi);
	case LWS_CALLBACK_RECEIVE:
		return session_receive(s, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return session_writeable(s);
	case LWS_CALLBACK_RECEIVE_PONG:
		link_pong(&s->link);
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		peer_close(s, in, len);
		return 0;
	case LWS_CALLBACK_CLOSED:
		session_closed(s);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* the shared log's thread has results ([store] postgresql);
		 * the streamer built batches (or a search came back) */
		sync_shared_drain(hub);
		sync_built(hub);
		return 0;
	default:
		return 0;
	}
}
