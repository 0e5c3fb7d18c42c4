/* link.c: one alliance.v1 endpoint, the same at the hub and the node
 * (link.h).
 *
 * Parts: the lws transport; starting and freeing; closing; sending;
 * receiving; writing; keepalive; change streams; relayed records. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "link.h"
#include "relay.h"

/* ---- the lws transport --------------------------------------------------- */

static int lws_io_write(void *io, uint8_t *buf, size_t len,
			enum link_write kind)
{
	return lws_write(io, buf, len, kind == LINK_WRITE_PING
			 ? LWS_WRITE_PING : LWS_WRITE_BINARY);
}

static void lws_io_want_write(void *io)
{
	lws_callback_on_writable(io);
}

/* lws takes a write at any time on the service thread; what the socket
 * does not take it keeps, in order, and writes at POLLOUT. Writing when
 * nothing is kept saves each frame a trip through the event loop (two
 * epoll_ctl and a callback): at 1000 sessions a bulletin's fan-out p50
 * went from 8.3 to 7.4 ms (BENCHMARKS.md). */
static int lws_io_ready(void *io)
{
	return !lws_partial_buffered(io);
}

static void lws_io_kill_after(void *io, unsigned secs)
{
	lws_set_timeout(io, PENDING_TIMEOUT_USER_OK,
			secs ? (int)secs : LWS_TO_KILL_ASYNC);
}

static void lws_io_close_reason(void *io, int code, const char *reason)
{
	lws_close_reason(io, (enum lws_close_status)code,
			 (unsigned char *)reason, strlen(reason));
}

const struct link_io link_lws_io = {
	.write = lws_io_write,
	.want_write = lws_io_want_write,
	.ready = lws_io_ready,
	.kill_after = lws_io_kill_after,
	.close_reason = lws_io_close_reason,
};

/* ---- starting and freeing ------------------------------------------------ */

void link_init(struct link *l, const struct link_io *ops, void *io,
	       void *owner, size_t max_frame)
{
	memset(l, 0, sizeof(*l));
	l->ops = ops;
	l->io = io;
	l->owner = owner;
	l->self = "this end";
	l->max_frame = max_frame;
	l->close_grace_s = 10;
	l->heard = l->pinged = link_now();
}

void link_free(struct link *l)
{
	while (l->out_head) {
		struct link_out *o = l->out_head;

		l->out_head = o->next;
		free(o->buf);
		free(o);
	}
	l->out_tail = NULL;
	l->out_count = 0;
	wire_rx_release(&l->rx, 0);
}

/* ---- closing ------------------------------------------------------------- */

/* enqueue_buf: send buf (LINK_PRE headroom, then len bytes; taken): at
 * once when nothing is queued before it and the transport is ready,
 * otherwise on the queue, asking for WRITEABLE. ERR_OK (a failed write at
 * once closes the session at WRITEABLE) or ERR_NOMEM (buf freed). */
static int enqueue_buf(struct link *l, uint8_t *buf, size_t len)
{
	struct link_out *o;

	if (!l->out_head && !l->write_failed && l->ops->ready &&
	    l->ops->ready(l->io)) {
		if (link_write(l, buf, len) != ERR_OK) {
			l->write_failed = 1;
			l->ops->want_write(l->io);
		}
		free(buf);
		return ERR_OK;
	}
	o = malloc(sizeof(*o));
	if (!o) {
		free(buf);
		return ERR_NOMEM;
	}
	o->buf = buf;
	o->len = len;
	o->next = NULL;
	if (l->out_tail)
		l->out_tail->next = o;
	else
		l->out_head = o;
	l->out_tail = o;
	l->out_count++;
	l->ops->want_write(l->io);
	return ERR_OK;
}

/* error_frame: encode an Error frame onto the queue, past its limit. */
static int error_frame(struct link *l, int code, const char *message)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Error error = ALLIANCE__V1__ERROR__INIT;
	uint8_t *buf;
	size_t len;
	int rc;

	error.code = code;
	error.message = (char *)message;
	frame.body_case = ALLIANCE__V1__FRAME__BODY_ERROR;
	frame.error = &error;
	rc = wire_encode(&frame, LINK_PRE, &buf, &len);
	return rc == ERR_OK ? enqueue_buf(l, buf, len) : rc;
}

int link_close(struct link *l, int code, int err_code, const char *reason)
{
	if (l->closing)
		return 0;
	l->closing = 1;
	l->close_code = code;
	snprintf(l->close_reason, sizeof(l->close_reason), "%s", reason);
	if (err_code)
		error_frame(l, err_code, l->close_reason);
	/* a peer that never reads must not hold the session open */
	l->ops->kill_after(l->io, l->close_grace_s);
	l->ops->want_write(l->io);
	return 1;
}

/* refuse: close for a cause of the link's own, with an Error frame when
 * err_code is set, and have the role log and count it. */
__attribute__((format(printf, 4, 5)))
static void refuse(struct link *l, enum link_cause cause, int err_code,
		   const char *fmt, ...)
{
	static const int code[] = {
		[LINK_TEXT] = WIRE_CLOSE_TEXT_FRAME,
		[LINK_TOO_LARGE] = WIRE_CLOSE_TOO_LARGE,
		[LINK_BAD_FRAME] = WIRE_CLOSE_BAD_FRAME,
		[LINK_SLOW] = WIRE_CLOSE_SLOW,
		[LINK_UNSENT] = WIRE_CLOSE_INTERNAL,
		[LINK_NOMEM] = WIRE_CLOSE_INTERNAL,
	};
	char reason[sizeof(l->close_reason)];
	va_list ap;

	if (l->closing)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* the role logs first, then the Error frame and the close */
	l->close_code = code[cause];
	snprintf(l->close_reason, sizeof(l->close_reason), "%s", reason);
	if (l->refused)
		l->refused(l, cause);
	link_close(l, code[cause], err_code, reason);
}

void link_unsent(struct link *l, const char *body, int rc)
{
	l->unsent_body = body;
	l->unsent_rc = rc;
	refuse(l, LINK_UNSENT, 0, "%s could not send a %s frame (%s); "
	       "reconnect", l->self, body, err_name(rc));
}

/* ---- sending -------------------------------------------------------------- */

/* room: whether l takes another frame; closes a slow consumer. */
static int room(struct link *l)
{
	if (l->closing)
		return 0;
	if (l->out_count >= LIMIT_SEND_QUEUE) {
		refuse(l, LINK_SLOW, 0, "send queue full (%u frames)",
		       l->out_count);
		return 0;
	}
	return 1;
}

int link_send(struct link *l, const Frame *frame)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (!room(l))
		return ERR_AGAIN;
	rc = wire_encode(frame, LINK_PRE, &buf, &len);
	if (rc == ERR_OK)
		rc = enqueue_buf(l, buf, len);
	if (rc != ERR_OK)
		link_unsent(l, wire_body_name(frame), rc);
	return rc;
}

int link_send_encoded(struct link *l, const uint8_t *frame, size_t len)
{
	uint8_t *buf;

	if (!room(l))
		return ERR_AGAIN;
	buf = malloc(LINK_PRE + len);
	if (buf)
		memcpy(buf + LINK_PRE, frame, len);
	if (!buf || enqueue_buf(l, buf, len) != ERR_OK) {
		link_unsent(l, "encoded", ERR_NOMEM);
		return ERR_NOMEM;
	}
	return ERR_OK;
}

int link_send_error(struct link *l, int code, const char *message)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Error error = ALLIANCE__V1__ERROR__INIT;

	error.code = code;
	error.message = (char *)message;
	frame.body_case = ALLIANCE__V1__FRAME__BODY_ERROR;
	frame.error = &error;
	return link_send(l, &frame);
}

/* ---- receiving ------------------------------------------------------------ */

void link_receive(struct link *l, const void *in, size_t len, int binary,
		  int first, int last, Frame **frame, size_t *frame_len)
{
	char why[200];
	int rc;

	*frame = NULL;
	*frame_len = 0;
	if (l->closing)
		return;         /* what still arrives is dropped */
	if (!binary) {
		refuse(l, LINK_TEXT, 0,
		       "text messages are not spoken; send binary Frames");
		return;
	}
	rc = wire_rx_add(&l->rx, in, len, first, l->max_frame);
	if (rc == ERR_TOOBIG) {
		refuse(l, LINK_TOO_LARGE, 0, "message over %zu bytes",
		       l->max_frame);
		return;
	}
	if (rc != ERR_OK) {
		wire_rx_release(&l->rx, 0);
		refuse(l, LINK_NOMEM, 0, "out of memory for a message");
		return;
	}
	if (!last)
		return;
	if (l->count) {
		l->count->frames_in++;
		l->count->bytes_in += l->rx.len;
	}
	*frame_len = l->rx.len;
	rc = wire_decode(l->rx.buf, l->rx.len, l->max_frame, frame, why,
			 sizeof(why));
	/* keep idle sessions small: the buffer lives only per message */
	wire_rx_release(&l->rx, l->rx_keep);
	if (rc != ERR_OK) {
		refuse(l, LINK_BAD_FRAME,
		       ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
		       "bad frame: %s", why);
		*frame_len = 0;
		return;
	}
	l->heard = link_now();
}

void link_pong(struct link *l)
{
	l->heard = link_now();
}

/* ---- writing -------------------------------------------------------------- */

/* sent: count a frame of len bytes written. */
static void sent(struct link *l, size_t len)
{
	if (l->count) {
		l->count->frames_out++;
		l->count->bytes_out += len;
	}
}

int link_write(struct link *l, uint8_t *buf, size_t len)
{
	if (l->ops->write(l->io, buf + LINK_PRE, len, LINK_WRITE_BINARY) <
	    (int)len)
		return ERR_IO;
	sent(l, len);
	return ERR_OK;
}

int link_writeable(struct link *l)
{
	struct link_out *o = l->out_head;
	int rc;

	if (l->write_failed)
		return -1;
	if (l->ping_due && !l->closing) {
		/* with a payload: lws passes no empty PONG to the callback */
		uint8_t ping[LINK_PRE + 2] = { [LINK_PRE] = 'k', 'a' };

		l->ping_due = 0;
		l->ops->want_write(l->io);
		return l->ops->write(l->io, ping + LINK_PRE, 2,
				     LINK_WRITE_PING) < 2 ? -1 : 0;
	}
	if (!o) {
		if (!l->closing)
			return 1;
		l->ops->close_reason(l->io, l->close_code, l->close_reason);
		return -1;
	}
	rc = link_write(l, o->buf, o->len);
	l->out_head = o->next;
	if (!l->out_head)
		l->out_tail = NULL;
	l->out_count--;
	free(o->buf);
	free(o);
	if (rc != ERR_OK)
		return -1;
	if (!l->out_head && !l->closing)
		return 2;       /* the caller's stream may follow: its call */
	l->ops->want_write(l->io);
	return 0;
}

/* ---- keepalive ------------------------------------------------------------ */

/* The links are walked every quarter of ping_s, within these. */
#define LINK_TICK_MIN_S 1
#define LINK_TICK_MAX_S 5

int64_t link_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

int link_keepalive(struct link *l, int64_t now, unsigned ping_s,
		   unsigned drop_s)
{
	int64_t silent = now - l->heard;

	if (l->closing)
		return 0;
	if (silent >= (int64_t)drop_s) {
		l->ops->kill_after(l->io, 0);
		return 1;
	}
	if (silent >= (int64_t)ping_s && now - l->pinged >= (int64_t)ping_s) {
		l->pinged = now;
		l->ping_due = 1;
		l->ops->want_write(l->io);
	}
	return 0;
}

int64_t link_keepalive_period_us(unsigned ping_s)
{
	unsigned s = ping_s / 4;

	if (s < LINK_TICK_MIN_S)
		s = LINK_TICK_MIN_S;
	if (s > LINK_TICK_MAX_S)
		s = LINK_TICK_MAX_S;
	return (int64_t)s * 1000000;
}

/* ---- change streams ------------------------------------------------------- */

void link_stream_start(struct link_stream *st, uint64_t from, unsigned window,
		       size_t batch, size_t bytes)
{
	memset(st, 0, sizeof(*st));
	st->sent = from;
	st->window = window && window < LIMIT_WINDOW ? window : LIMIT_WINDOW;
	st->batch = batch && batch < LIMIT_BATCH ? batch : LIMIT_BATCH;
	st->bytes = bytes && bytes < LIMIT_BATCH_BYTES ? bytes
						       : LIMIT_BATCH_BYTES;
}

void link_stream_free(struct link_stream *st)
{
	free(st->ready.buf);
	memset(&st->ready, 0, sizeof(st->ready));
}

int link_stream_due(const struct link_stream *st, uint64_t head)
{
	return st->unacked.n < st->window && st->sent < head;
}

int link_stream_batch(const struct link_stream *st, uint64_t head,
		      const char *skip_origin, int max_kind,
		      struct link_batch *b)
{
	if (st->building || st->ready.buf || !link_stream_due(st, head))
		return 0;
	b->after = st->sent;
	b->batch = st->batch;
	b->bytes = st->bytes;
	b->snapshot_until = st->sent < st->snapshot_until
			    ? st->snapshot_until : 0;
	b->skip_origin = skip_origin;
	b->max_kind = max_kind;
	return 1;
}

int link_stream_build(struct catalog *cat, const struct link_batch *b,
		      struct link_frame *f)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Changes cs = ALLIANCE__V1__CHANGES__INIT;
	Change **batch = NULL;
	size_t n = 0;
	uint64_t last = 0, head = catalog_log_head(cat);
	int rc;

	memset(f, 0, sizeof(*f));
	rc = catalog_log_batch_kinds(cat, b->after, b->skip_origin,
				     b->max_kind, b->batch, b->bytes, &batch,
				     &n, &last);
	if (rc != ERR_OK)
		return rc;
	cs.changes = batch;
	cs.n_changes = n;
	cs.last_seq = last;
	cs.head = head;
	if (b->snapshot_until) {
		cs.snapshot = 1;
		cs.snapshot_done = last >= b->snapshot_until;
	}
	frame.body_case = ALLIANCE__V1__FRAME__BODY_CHANGES;
	frame.changes = &cs;
	rc = wire_encode(&frame, LINK_PRE, &f->buf, &f->len);
	catalog_batch_free(&batch, n);
	if (rc != ERR_OK) {
		memset(f, 0, sizeof(*f));
		return rc;
	}
	f->last = last;
	f->snapshot_done = cs.snapshot_done;
	return ERR_OK;
}

void link_stream_built(struct link *l, struct link_stream *st, int rc,
		       struct link_frame *f)
{
	st->building = 0;
	if (l->closing) {
		free(f->buf);
	} else if (rc != ERR_OK) {
		/* never silence: a stream that stops here stops for good */
		free(f->buf);
		link_unsent(l, "changes", rc);
	} else {
		free(st->ready.buf);
		st->ready = *f;
		l->ops->want_write(l->io);
	}
	memset(f, 0, sizeof(*f));
}

/* put: write f (taken) as the stream's next frame, after sending's leave
 * when set. 1 written, -1 the connection must end. */
static int put(struct link *l, struct link_stream *st, struct link_frame *f,
	       int (*sending)(void *arg, uint64_t last), void *arg)
{
	int rc = 1;

	if ((sending && sending(arg, f->last) != ERR_OK) ||
	    link_write(l, f->buf, f->len) != ERR_OK) {
		rc = -1;
	} else {
		wire_window_push(&st->unacked, f->last);
		st->sent = f->last;
		if (f->snapshot_done)
			st->snapshot_until = 0;
	}
	free(f->buf);
	memset(f, 0, sizeof(*f));
	return rc;
}

int link_stream_put(struct link *l, struct link_stream *st)
{
	if (!st->ready.buf)
		return 0;
	if (l->closing) {
		link_stream_free(st);
		return 0;
	}
	return put(l, st, &st->ready, NULL, NULL);
}

int link_stream_write(struct link *l, struct link_stream *st,
		      struct catalog *cat, const char *skip_origin,
		      int max_kind, int (*sending)(void *arg, uint64_t last),
		      void *arg)
{
	struct link_batch b;
	struct link_frame f;
	uint64_t head = catalog_log_head(cat);
	int rc;

	if (l->closing ||
	    !link_stream_batch(st, head, skip_origin, max_kind, &b))
		return 0;
	rc = link_stream_build(cat, &b, &f);
	if (rc != ERR_OK) {
		/* never silence: a stream that stops here stops for good */
		link_unsent(l, "changes", rc);
		return 0;
	}
	rc = put(l, st, &f, sending, arg);
	if (rc == 1 && link_stream_due(st, head))
		l->ops->want_write(l->io);
	return rc;
}

int link_stream_ack(struct link_stream *st, uint64_t seq, unsigned *released)
{
	*released = 0;
	if (seq > st->sent)
		return ERR_INVALID;
	*released = wire_window_ack(&st->unacked, seq);
	return ERR_OK;
}

/* ---- relayed records ------------------------------------------------------ */

int link_relay_send(struct link *l, sqlite3_stmt *st, size_t max_bytes,
		    size_t *sent_n)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Relay relay = ALLIANCE__V1__RELAY__INIT;
	Change *batch[RELAY_BATCH];
	size_t n = 0, bytes = WIRE_BATCH_OVERHEAD;
	int rc = ERR_OK;

	*sent_n = 0;
	while (n < RELAY_BATCH && sqlite3_step(st) == SQLITE_ROW) {
		Change *ch = relay_unpack(sqlite3_column_blob(st, 0),
					  (size_t)sqlite3_column_bytes(st, 0));

		if (!ch)
			continue;
		if (!wire_batch_take(&bytes, n, ch, max_bytes)) {
			/* the next frame, after this one's ack */
			alliance__v1__change__free_unpacked(ch, NULL);
			break;
		}
		batch[n++] = ch;
	}
	if (n) {
		relay.changes = batch;
		relay.n_changes = n;
		frame.body_case = ALLIANCE__V1__FRAME__BODY_RELAY;
		frame.relay = &relay;
		rc = link_send(l, &frame);
		if (rc == ERR_OK)
			*sent_n = n;
	}
	for (size_t i = 0; i < n; i++)
		alliance__v1__change__free_unpacked(batch[i], NULL);
	return rc;
}

int link_relay_ack(struct link *l, const Alliance__V1__Relay *r,
		   const struct link_relay_answer *answers)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__RelayAck ack = ALLIANCE__V1__RELAY_ACK__INIT;
	Alliance__V1__RelayRef refs[RELAY_BATCH], *ptrs[RELAY_BATCH];
	size_t n = r->n_changes < RELAY_BATCH ? r->n_changes : RELAY_BATCH;

	for (size_t i = 0; i < n; i++) {
		alliance__v1__relay_ref__init(&refs[i]);
		refs[i].origin = r->changes[i]->origin;
		refs[i].kind = r->changes[i]->kind;
		refs[i].id = r->changes[i]->id;
		refs[i].version = r->changes[i]->version;
		refs[i].refused = answers[i].refused;
		refs[i].reason = (char *)answers[i].reason;
		ptrs[i] = &refs[i];
	}
	ack.refs = ptrs;
	ack.n_refs = n;
	frame.body_case = ALLIANCE__V1__FRAME__BODY_RELAY_ACK;
	frame.relay_ack = &ack;
	return link_send(l, &frame);
}
