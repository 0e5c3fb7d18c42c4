/* session.c: node sessions on the sync websocket (protocol alliance.v1).
 *
 * A session's community is its certificate's CN. Parts: opening (role,
 * registry, flood limit, replacing an older session, the Hello timer);
 * receiving (reassembly under the frame limit, decoding, the batch limits,
 * dispatch by body);
 * the send queue and closing with a code and reason; the lws callback. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hub.h"
#include "log.h"

/* ---- sending and closing ------------------------------------------------ */

/* enqueue_buf: put buf (LWS_PRE headroom, then len bytes; taken) on the
 * send queue and ask for WRITEABLE. */
static int enqueue_buf(struct session *s, uint8_t *buf, size_t len)
{
	struct outframe *o = malloc(sizeof(*o));

	if (!o) {
		free(buf);
		return ERR_NOMEM;
	}
	o->buf = buf;
	o->len = len;
	o->next = NULL;
	if (s->out_tail)
		s->out_tail->next = o;
	else
		s->out_head = o;
	s->out_tail = o;
	s->out_count++;
	lws_callback_on_writable(s->wsi);
	return ERR_OK;
}

/* enqueue: encode frame onto the send queue; a failure closes the
 * session (session_unsent). */
static int enqueue(struct session *s, const Frame *frame)
{
	uint8_t *buf;
	size_t len;
	int rc = wire_encode(frame, LWS_PRE, &buf, &len);

	if (rc == ERR_OK)
		rc = enqueue_buf(s, buf, len);
	if (rc != ERR_OK)
		session_unsent(s, wire_body_name(frame), rc);
	return rc;
}

/* send_room: whether s takes another frame; closes a slow consumer. */
static int send_room(struct session *s)
{
	if (s->state == SESSION_CLOSING)
		return 0;
	if (s->out_count >= LIMIT_SEND_QUEUE) {
		session_close(s, REFUSE_SLOW, WIRE_CLOSE_SLOW, 0,
			      "send queue full (%u frames)", s->out_count);
		return 0;
	}
	return 1;
}

int session_send(struct session *s, const Frame *frame)
{
	return send_room(s) ? enqueue(s, frame) : ERR_AGAIN;
}

int session_send_encoded(struct session *s, const uint8_t *frame,
			 size_t len)
{
	uint8_t *buf;

	if (!send_room(s))
		return ERR_AGAIN;
	if (!(buf = malloc(LWS_PRE + len))) {
		session_unsent(s, "encoded", ERR_NOMEM);
		return ERR_NOMEM;
	}
	memcpy(buf + LWS_PRE, frame, len);
	if (enqueue_buf(s, buf, len) != ERR_OK) {
		session_unsent(s, "encoded", ERR_NOMEM);
		return ERR_NOMEM;
	}
	return ERR_OK;
}

/* error_frame: queue an Error frame with a code and message, bypassing
 * the queue limit when closing (the last word a peer gets). */
static void error_frame(struct session *s, int code, const char *message,
			int closing)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Error error = ALLIANCE__V1__ERROR__INIT;

	error.code = code;
	error.message = (char *)message;
	frame.body_case = ALLIANCE__V1__FRAME__BODY_ERROR;
	frame.error = &error;
	if (closing)
		enqueue(s, &frame);
	else
		session_send(s, &frame);
}

/* who: the name logs use for a session's peer. */
static const char *who(const struct session *s)
{
	return s->peer.name[0] ? s->peer.name : "(unidentified)";
}

/* begin_close: stop the session's work and close from WRITEABLE with code
 * and the reason already in s->close_reason. */
static void begin_close(struct session *s, int code)
{
	lws_sul_cancel(&s->hello_timer);
	s->state = SESSION_CLOSING;
	s->close_code = code;
	/* a peer that never reads must not hold the session open */
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, 10);
	lws_callback_on_writable(s->wsi);
}

void session_close(struct session *s, enum refusal why, int code,
		   int err_code, const char *fmt, ...)
{
	va_list ap;

	if (s->state == SESSION_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(s->close_reason, sizeof(s->close_reason), fmt, ap);
	va_end(ap);
	refuse(s->hub, why, "session %s: closing %d: %s", who(s), code,
	       s->close_reason);
	begin_close(s, code);
	if (err_code)
		error_frame(s, err_code, s->close_reason, 1);
}

void session_unsent(struct session *s, const char *body, int rc)
{
	s->hub->metrics.frames_unsent++;
	log_error("session %s: cannot send a %s frame: %s", who(s), body,
		  err_name(rc));
	session_close(s, REFUSE_UNSENT, WIRE_CLOSE_INTERNAL, 0,
		      "the hub could not send a %s frame (%s); reconnect",
		      body, err_name(rc));
}

void session_going_away(struct session *s)
{
	if (s->state == SESSION_CLOSING)
		return;
	snprintf(s->close_reason, sizeof(s->close_reason),
		 "the hub is shutting down");
	begin_close(s, WIRE_CLOSE_GOING_AWAY);
}

static int session_writeable(struct session *s)
{
	struct outframe *o = s->out_head;

	if (s->ping_due && s->state != SESSION_CLOSING) {
		/* with a payload: lws passes no empty PONG to the callback */
		uint8_t ping[LWS_PRE + 2] = { [LWS_PRE] = 'k', 'a' };

		s->ping_due = 0;
		lws_callback_on_writable(s->wsi);
		return lws_write(s->wsi, ping + LWS_PRE, 2, LWS_WRITE_PING) < 0
		       ? -1 : 0;
	}

	if (!o) {
		if (s->state != SESSION_CLOSING)
			return sync_write_down(s) < 0 ? -1 : 0;
		lws_close_reason(s->wsi, (enum lws_close_status)s->close_code,
				 (unsigned char *)s->close_reason,
				 strlen(s->close_reason));
		return -1;
	}
	if (lws_write(s->wsi, o->buf + LWS_PRE, o->len, LWS_WRITE_BINARY) <
	    (int)o->len)
		return -1;
	s->hub->metrics.frames_out++;
	s->hub->metrics.bytes_out += o->len;
	s->out_head = o->next;
	if (!s->out_head)
		s->out_tail = NULL;
	s->out_count--;
	free(o->buf);
	free(o);
	/* queued frames, the close, or the down stream may follow */
	lws_callback_on_writable(s->wsi);
	return 0;
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
	s->heard = s->pinged = keepalive_now();
	s->state = SESSION_AWAIT_HELLO;
	hub->metrics.sessions_opened++;
	if (tls_admit(hub, wsi, IDENT_NODE, "the sync websocket", &s->peer,
		      why, sizeof(why)) != ERR_OK) {
		/* counted and logged by tls_admit */
		snprintf(s->close_reason, sizeof(s->close_reason), "%.100s",
			 why);
		begin_close(s, WIRE_CLOSE_UNAUTHORIZED);
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
	lws_sul_schedule(hub->lws, 0, &s->hello_timer, hello_timeout,
			 LIMIT_HELLO_TIMEOUT_S * LWS_US_PER_SEC);
	log_debug("session %s: upgraded, awaiting Hello", c->id);
	return 0;
}

/* honest_end: a session that reached Welcome and closed for a reason on
 * the server side of either end (going away, or failing to store: 1001,
 * 1011) is followed by an honest reconnect, which the flood limit does not
 * count: one per such session, so a node that cannot reach Welcome still
 * meets the limit. */
static int honest_end(const struct session *s)
{
	int code = s->state == SESSION_CLOSING ? s->close_code
					       : s->peer_close_code;

	return s->welcomed && (code == WIRE_CLOSE_GOING_AWAY ||
			       code == WIRE_CLOSE_INTERNAL);
}

static void session_closed(struct session *s)
{
	struct community *c = s->community;

	lws_sul_cancel(&s->hello_timer);
	while (s->out_head) {
		struct outframe *o = s->out_head;

		s->out_head = o->next;
		free(o->buf);
		free(o);
	}
	s->out_tail = NULL;
	wire_rx_release(&s->rx, 0);
	if (s->welcomed)
		s->hub->n_sessions--;
	if (c && c->session == s) {
		c->session = NULL;
		c->flood_exempt = honest_end(s);
		c->last_seen = hub_now();
		hub_store_save_link(s->hub, c);
		log_info("session %s: closed", c->id);
	}
}

/* ---- receiving ----------------------------------------------------------- */

static void dispatch(struct session *s, const Frame *f, size_t len)
{
	if (s->state == SESSION_AWAIT_HELLO) {
		if (f->body_case != ALLIANCE__V1__FRAME__BODY_HELLO) {
			session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
				      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
				      "expected Hello first, got %s",
				      wire_body_name(f));
			return;
		}
		handle_hello(s, f->hello);
		return;
	}
	switch (f->body_case) {
	case ALLIANCE__V1__FRAME__BODY__NOT_SET:
		/* a newer node's body kind: say so and go on */
		error_frame(s, ALLIANCE__V1__ERROR_CODE__ERROR_UNKNOWN_BODY,
			    "frame body not known to this hub", 0);
		break;
	case ALLIANCE__V1__FRAME__BODY_HELLO:
		session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "a second Hello");
		break;
	case ALLIANCE__V1__FRAME__BODY_WELCOME:
	case ALLIANCE__V1__FRAME__BODY_BULLETIN:
		session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "a node may not send %s", wire_body_name(f));
		break;
	case ALLIANCE__V1__FRAME__BODY_ERROR:
		log_warn("session %s: node reports error %d: %s", who(s),
			 f->error->code, f->error->message);
		break;
	case ALLIANCE__V1__FRAME__BODY_CHANGES:
		if (hub_quota_batch(s, f, len) == ERR_OK)
			handle_changes(s, f->changes);
		break;
	case ALLIANCE__V1__FRAME__BODY_ACK:
		handle_ack(s, f->ack);
		break;
	case ALLIANCE__V1__FRAME__BODY_BULLETIN_ACK:
		hub_bulletin_ack(s, f->bulletin_ack);
		break;
	case ALLIANCE__V1__FRAME__BODY_RELAY:
		if (hub_quota_batch(s, f, len) == ERR_OK)
			hub_relay_handle(s, f->relay);
		break;
	case ALLIANCE__V1__FRAME__BODY_RELAY_ACK:
		hub_relay_ack(s, f->relay_ack);
		break;
	default:
		/* BulletinAck comes with bulletins */
		error_frame(s, ALLIANCE__V1__ERROR_CODE__ERROR_UNKNOWN_BODY,
			    "frame body not handled by this hub version", 0);
		break;
	}
}

static int session_receive(struct session *s, const void *in, size_t len)
{
	struct hub *hub = s->hub;
	Frame *frame = NULL;
	char why[200];
	size_t len_in;
	int rc;

	if (s->state == SESSION_CLOSING)
		return 0;
	if (lws_frame_is_binary(s->wsi) == 0) {
		session_close(s, REFUSE_TEXT_FRAME, WIRE_CLOSE_TEXT_FRAME, 0,
			      "text messages are not spoken; send binary Frames");
		return 0;
	}
	rc = wire_rx_add(&s->rx, in, len, lws_is_first_fragment(s->wsi),
			 hub->cfg.max_frame);
	if (rc == ERR_TOOBIG) {
		session_close(s, REFUSE_TOO_LARGE, WIRE_CLOSE_TOO_LARGE, 0,
			      "message over %u bytes", hub->cfg.max_frame);
		return 0;
	}
	if (rc != ERR_OK)
		return -1;
	if (!lws_is_final_fragment(s->wsi) ||
	    lws_remaining_packet_payload(s->wsi))
		return 0;

	hub->metrics.frames_in++;
	hub->metrics.bytes_in += s->rx.len;
	len_in = s->rx.len;
	rc = wire_decode(s->rx.buf, s->rx.len, hub->cfg.max_frame, &frame, why,
			 sizeof(why));
	/* keep idle sessions small: the buffer lives only per message */
	wire_rx_release(&s->rx, 0);
	if (rc != ERR_OK) {
		session_close(s, REFUSE_BAD_FRAME, WIRE_CLOSE_BAD_FRAME,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "bad frame: %s", why);
		return 0;
	}
	s->heard = keepalive_now();
	if (s->community)
		s->community->last_seen = hub_now();
	dispatch(s, frame, len_in);
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
		s->heard = keepalive_now();
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2)
			s->peer_close_code = ((const uint8_t *)in)[0] << 8 |
					     ((const uint8_t *)in)[1];
		return 0;
	case LWS_CALLBACK_CLOSED:
		session_closed(s);
		return 0;
	default:
		return 0;
	}
}
