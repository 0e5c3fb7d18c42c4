/* test_link.c: unit tests of lib/link.c, the alliance.v1 endpoint both
 * daemons use, through a fake transport (struct link_io) that records
 * what is written, asked for and closed, and a fake clock (the now given
 * to link_keepalive).
 *
 * Parts: the fake transport; receiving (fragments, oversize, text, bad
 * bytes); sending (slow consumer, short writes, closing once); keepalive
 * timing; change streams under the window (a real catalog on an
 * in-memory store); Relay frames under their limits; main. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"
#include "err.h"
#include "link.h"
#include "log.h"
#include "relay.h"
#include "store.h"

/* ---- the fake transport ---------------------------------------------------- */

#define FAKE_MAX 128

/* What the link did to its transport. */
struct fake {
	uint8_t *msg[FAKE_MAX];     /* copies of what was written (owned) */
	size_t len[FAKE_MAX];
	enum link_write kind[FAKE_MAX];
	unsigned n;                 /* writes */
	unsigned wants;             /* want_write calls */
	int killed;                 /* kill_after calls ... */
	unsigned kill_secs;         /* ... and the last one's seconds */
	int close_code;             /* close_reason's code, 0: none */
	char close_reason[128];
	size_t short_by;            /* write reports this many bytes fewer */
	int ready;                  /* what ready answers (0: queue all) */
	int refused;                /* refused calls ... */
	enum link_cause cause;      /* ... and the last cause */
};

static int fake_write(void *io, uint8_t *buf, size_t len, enum link_write k)
{
	struct fake *f = io;

	assert_true(f->n < FAKE_MAX);
	f->msg[f->n] = malloc(len ? len : 1);
	assert_non_null(f->msg[f->n]);
	memcpy(f->msg[f->n], buf, len);
	f->len[f->n] = len;
	f->kind[f->n++] = k;
	return (int)(len - f->short_by);
}

static int fake_ready(void *io)
{
	return ((struct fake *)io)->ready;
}

static void fake_want_write(void *io)
{
	((struct fake *)io)->wants++;
}

static void fake_kill_after(void *io, unsigned secs)
{
	struct fake *f = io;

	f->killed++;
	f->kill_secs = secs;
}

static void fake_close_reason(void *io, int code, const char *reason)
{
	struct fake *f = io;

	f->close_code = code;
	snprintf(f->close_reason, sizeof(f->close_reason), "%s", reason);
}

static const struct link_io fake_io = {
	.write = fake_write,
	.want_write = fake_want_write,
	.ready = fake_ready,
	.kill_after = fake_kill_after,
	.close_reason = fake_close_reason,
};

static void fake_refused(struct link *l, enum link_cause cause)
{
	struct fake *f = l->io;

	/* the code and reason are known when the role is told */
	assert_int_not_equal(l->close_code, 0);
	assert_true(l->close_reason[0] != '\0');
	f->refused++;
	f->cause = cause;
}

/* A link on a fresh fake, max_frame bytes a message. */
struct rig {
	struct fake f;
	struct link l;
	struct link_counters count;
};

static struct rig *rig_new(size_t max_frame)
{
	struct rig *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	link_init(&r->l, &fake_io, &r->f, r, max_frame);
	r->l.refused = fake_refused;
	r->l.count = &r->count;
	r->l.self = "the test";
	return r;
}

static void rig_free(struct rig *r)
{
	link_free(&r->l);
	for (unsigned i = 0; i < r->f.n; i++)
		free(r->f.msg[i]);
	free(r);
}

/* written: the i-th write decoded as a Frame (free with wire_free). */
static Frame *written(struct rig *r, unsigned i)
{
	Frame *f = NULL;
	char why[200];

	assert_true(i < r->f.n);
	assert_int_equal(r->f.kind[i], LINK_WRITE_BINARY);
	assert_int_equal(wire_decode(r->f.msg[i], r->f.len[i], 0, &f, why,
				     sizeof(why)), ERR_OK);
	return f;
}

/* ack_bytes: an encoded Ack of seq, in a new buffer of *len bytes. */
static uint8_t *ack_bytes(uint64_t seq, size_t *len)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Ack ack = ALLIANCE__V1__ACK__INIT;
	uint8_t *buf;

	ack.seq = seq;
	frame.body_case = ALLIANCE__V1__FRAME__BODY_ACK;
	frame.ack = &ack;
	assert_int_equal(wire_encode(&frame, 0, &buf, len), ERR_OK);
	return buf;
}

/* send_ack: link_send_encoded of an encoded Ack of seq; its result. */
static int send_ack(struct rig *r, uint64_t seq)
{
	size_t len;
	uint8_t *b = ack_bytes(seq, &len);
	int rc = link_send_encoded(&r->l, b, len);

	free(b);
	return rc;
}

/* drain: call link_writeable until it has nothing to write (1) or ends
 * the connection (-1); returns that. */
static int drain(struct rig *r)
{
	int rc;

	for (int i = 0; i < FAKE_MAX; i++)
		if ((rc = link_writeable(&r->l)) != 0 && rc != 2)
			return rc;
	fail_msg("link_writeable never stopped");
	return 0;
}

/* ---- receiving --------------------------------------------------------------- */

/* A message in three fragments is one Frame, handed over at the last. */
static void test_fragments(void **state)
{
	struct rig *r = rig_new(1024);
	size_t len, flen;
	uint8_t *b = ack_bytes(123456789, &len);
	Frame *f;

	(void)state;
	assert_true(len >= 3);
	link_receive(&r->l, b, 1, 1, 1, 0, &f, &flen);
	assert_null(f);
	link_receive(&r->l, b + 1, 1, 1, 0, 0, &f, &flen);
	assert_null(f);
	link_receive(&r->l, b + 2, len - 2, 1, 0, 1, &f, &flen);
	assert_non_null(f);
	assert_int_equal(flen, len);
	assert_int_equal(f->body_case, ALLIANCE__V1__FRAME__BODY_ACK);
	assert_int_equal(f->ack->seq, 123456789);
	wire_free(&f);
	/* the buffer lives only per message (rx_keep 0) */
	assert_null(r->l.rx.buf);
	assert_int_equal(r->count.frames_in, 1);
	assert_int_equal(r->count.bytes_in, len);
	/* a new first fragment starts a new message */
	link_receive(&r->l, b, len, 1, 1, 1, &f, &flen);
	assert_non_null(f);
	wire_free(&f);
	assert_false(r->l.closing);
	assert_int_equal(r->f.refused, 0);
	free(b);
	rig_free(r);
}

/* rx_keep keeps a small buffer between messages, not a bigger one. */
static void test_rx_keep(void **state)
{
	struct rig *r = rig_new(1 << 20);
	size_t len, flen;
	uint8_t *b = ack_bytes(7, &len);
	Frame *f;

	(void)state;
	r->l.rx_keep = 65536;
	link_receive(&r->l, b, len, 1, 1, 1, &f, &flen);
	wire_free(&f);
	assert_non_null(r->l.rx.buf);
	assert_int_equal(r->l.rx.len, 0);
	free(b);
	rig_free(r);
}

/* A message over max_frame closes with 1009 as its fragments arrive,
 * before it is whole; what comes after is dropped. */
static void test_oversize(void **state)
{
	struct rig *r = rig_new(100);
	uint8_t junk[60] = { 0 };
	size_t len, flen;
	uint8_t *b = ack_bytes(1, &len);
	Frame *f;

	(void)state;
	link_receive(&r->l, junk, sizeof(junk), 1, 1, 0, &f, &flen);
	assert_null(f);
	assert_false(r->l.closing);
	link_receive(&r->l, junk, sizeof(junk), 1, 0, 0, &f, &flen);
	assert_null(f);
	assert_true(r->l.closing);
	assert_int_equal(r->l.close_code, WIRE_CLOSE_TOO_LARGE);
	assert_int_equal(r->f.refused, 1);
	assert_int_equal(r->f.cause, LINK_TOO_LARGE);
	assert_null(r->l.rx.buf);
	assert_non_null(strstr(r->l.close_reason, "over 100 bytes"));
	/* a whole valid frame now changes nothing */
	link_receive(&r->l, b, len, 1, 1, 1, &f, &flen);
	assert_null(f);
	assert_int_equal(r->count.frames_in, 0);
	/* no Error frame: the close frame at once, then the end */
	assert_int_equal(drain(r), -1);
	assert_int_equal(r->f.n, 0);
	assert_int_equal(r->f.close_code, WIRE_CLOSE_TOO_LARGE);
	assert_int_equal(r->f.killed, 1);
	assert_int_equal(r->f.kill_secs, r->l.close_grace_s);
	free(b);
	rig_free(r);
}

/* A text message closes with 1003. */
static void test_text(void **state)
{
	struct rig *r = rig_new(1024);
	size_t flen;
	Frame *f;

	(void)state;
	link_receive(&r->l, "hello", 5, 0, 1, 1, &f, &flen);
	assert_null(f);
	assert_int_equal(r->l.close_code, WIRE_CLOSE_TEXT_FRAME);
	assert_int_equal(r->f.cause, LINK_TEXT);
	assert_int_equal(drain(r), -1);
	assert_int_equal(r->f.close_code, WIRE_CLOSE_TEXT_FRAME);
	assert_non_null(strstr(r->f.close_reason, "text messages"));
	rig_free(r);
}

/* Bytes that do not decode close with 4400, after an Error frame that
 * says why. */
static void test_bad_bytes(void **state)
{
	struct rig *r = rig_new(1024);
	const uint8_t bad[] = { 0x0a, 0x7f, 0x01 }; /* length past the end */
	size_t flen;
	Frame *f;

	(void)state;
	link_receive(&r->l, bad, sizeof(bad), 1, 1, 1, &f, &flen);
	assert_null(f);
	assert_int_equal(r->l.close_code, WIRE_CLOSE_BAD_FRAME);
	assert_int_equal(r->f.cause, LINK_BAD_FRAME);
	assert_int_equal(drain(r), -1);
	assert_int_equal(r->f.n, 1);
	f = written(r, 0);
	assert_int_equal(f->body_case, ALLIANCE__V1__FRAME__BODY_ERROR);
	assert_int_equal(f->error->code,
			 ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME);
	assert_non_null(strstr(f->error->message, "bad frame"));
	wire_free(&f);
	assert_int_equal(r->f.close_code, WIRE_CLOSE_BAD_FRAME);
	rig_free(r);
}

/* ---- sending ------------------------------------------------------------------- */

/* The queue takes LIMIT_SEND_QUEUE frames; the next closes the session
 * as a slow consumer (4430), the frames queued still go first. */
static void test_slow_consumer(void **state)
{
	struct rig *r = rig_new(1024);
	size_t len;
	uint8_t *b = ack_bytes(5, &len);
	unsigned i;

	(void)state;
	for (i = 0; i < LIMIT_SEND_QUEUE; i++)
		assert_int_equal(link_send_encoded(&r->l, b, len), ERR_OK);
	assert_int_equal(r->l.out_count, LIMIT_SEND_QUEUE);
	assert_false(r->l.closing);
	assert_int_equal(link_send_encoded(&r->l, b, len), ERR_AGAIN);
	assert_true(r->l.closing);
	assert_int_equal(r->l.close_code, WIRE_CLOSE_SLOW);
	assert_int_equal(r->f.cause, LINK_SLOW);
	assert_int_equal(r->f.refused, 1);
	assert_int_equal(r->f.killed, 1);
	/* closing: nothing more is taken */
	assert_int_equal(link_send_encoded(&r->l, b, len), ERR_AGAIN);
	assert_int_equal(r->f.refused, 1);
	assert_int_equal(drain(r), -1);
	assert_int_equal(r->f.n, LIMIT_SEND_QUEUE);
	assert_int_equal(r->count.frames_out, LIMIT_SEND_QUEUE);
	assert_int_equal(r->count.bytes_out, LIMIT_SEND_QUEUE * len);
	assert_int_equal(r->f.close_code, WIRE_CLOSE_SLOW);
	assert_int_equal(r->l.out_count, 0);
	free(b);
	rig_free(r);
}

/* A write the transport takes short ends the connection (both ends
 * check the length, not only < 0). */
static void test_short_write(void **state)
{
	struct rig *r = rig_new(1024);
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Ack ack = ALLIANCE__V1__ACK__INIT;

	(void)state;
	ack.seq = 99;
	frame.body_case = ALLIANCE__V1__FRAME__BODY_ACK;
	frame.ack = &ack;
	assert_int_equal(link_send(&r->l, &frame), ERR_OK);
	assert_true(r->f.wants > 0);
	r->f.short_by = 1;
	assert_int_equal(link_writeable(&r->l), -1);
	assert_int_equal(r->count.frames_out, 0);
	assert_null(r->l.out_head);
	rig_free(r);
}

/* link_close sends one Error frame and one close; a second close changes
 * nothing. */
static void test_close_once(void **state)
{
	struct rig *r = rig_new(1024);
	Frame *f;

	(void)state;
	assert_int_equal(link_close(&r->l, WIRE_CLOSE_PROTOCOL,
				    ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
				    "a second Hello"), 1);
	assert_int_equal(link_close(&r->l, WIRE_CLOSE_GOING_AWAY,
				    ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
				    "again"), 0);
	assert_int_equal(link_send_error(&r->l, 1, "late"), ERR_AGAIN);
	assert_int_equal(r->f.refused, 0);  /* the role's own close */
	assert_int_equal(drain(r), -1);
	assert_int_equal(r->f.n, 1);
	f = written(r, 0);
	assert_string_equal(f->error->message, "a second Hello");
	wire_free(&f);
	assert_int_equal(r->f.close_code, WIRE_CLOSE_PROTOCOL);
	assert_string_equal(r->f.close_reason, "a second Hello");
	rig_free(r);
}

/* Writing a queued frame asks for WRITEABLE again only when something of
 * the link's own follows (another frame, the close); after the last one
 * it returns 2 and leaves the asking to the caller's stream. */
static void test_writeable_asks_only_for_more(void **state)
{
	struct rig *r = rig_new(1024);
	unsigned wants;

	(void)state;
	assert_int_equal(send_ack(r, 1), ERR_OK);
	assert_int_equal(send_ack(r, 2), ERR_OK);
	wants = r->f.wants;
	assert_int_equal(link_writeable(&r->l), 0);      /* one more queued */
	assert_int_equal(r->f.wants, wants + 1);
	assert_int_equal(link_writeable(&r->l), 2);      /* the last */
	assert_int_equal(r->f.wants, wants + 1);
	assert_int_equal(r->f.n, 2);
	assert_int_equal(link_writeable(&r->l), 1);      /* nothing queued */
	/* the last queued frame before the close: the close follows */
	assert_int_equal(send_ack(r, 3), ERR_OK);
	assert_int_equal(link_close(&r->l, WIRE_CLOSE_GOING_AWAY, 0, "bye"),
			 1);
	wants = r->f.wants;
	assert_int_equal(link_writeable(&r->l), 0);
	assert_int_equal(r->f.wants, wants + 1);
	assert_int_equal(link_writeable(&r->l), -1);     /* the close frame */
	rig_free(r);
}

/* A ready transport takes a frame at once, with no WRITEABLE asked for;
 * once one is queued, the next waits behind it, in order; a failed write
 * at once closes at the next WRITEABLE. */
static void test_written_at_once_when_ready(void **state)
{
	struct rig *r = rig_new(1024);
	Frame *f;

	(void)state;
	r->f.ready = 1;
	assert_int_equal(send_ack(r, 1), ERR_OK);
	assert_int_equal(r->f.n, 1);
	assert_int_equal(r->f.wants, 0);
	assert_null(r->l.out_head);
	assert_int_equal(r->count.frames_out, 1);
	/* the transport still holds part of a write: queued */
	r->f.ready = 0;
	assert_int_equal(send_ack(r, 2), ERR_OK);
	assert_int_equal(r->f.n, 1);
	assert_int_equal(r->f.wants, 1);
	/* ready again, but a frame is queued: this one waits behind it */
	r->f.ready = 1;
	assert_int_equal(send_ack(r, 3), ERR_OK);
	assert_int_equal(r->f.n, 1);
	assert_int_equal(link_writeable(&r->l), 0);
	assert_int_equal(link_writeable(&r->l), 2);
	for (unsigned i = 0; i < 3; i++) {
		f = written(r, i);
		assert_int_equal(f->ack->seq, i + 1);
		wire_free(&f);
	}
	/* a write at once that fails: the next WRITEABLE closes */
	r->f.short_by = 1;
	assert_int_equal(send_ack(r, 4), ERR_OK);
	assert_int_equal(r->count.frames_out, 3);
	assert_true(r->f.wants > 1);
	assert_int_equal(link_writeable(&r->l), -1);
	rig_free(r);
}

/* A frame that cannot be encoded closes with 1011 and says so. */
static void test_unsent(void **state)
{
	struct rig *r = rig_new(1024);

	(void)state;
	link_unsent(&r->l, "changes", ERR_TOOBIG);
	assert_int_equal(r->f.cause, LINK_UNSENT);
	assert_int_equal(r->l.close_code, WIRE_CLOSE_INTERNAL);
	assert_string_equal(r->l.unsent_body, "changes");
	assert_int_equal(r->l.unsent_rc, ERR_TOOBIG);
	assert_non_null(strstr(r->l.close_reason,
			       "the test could not send a changes frame"));
	rig_free(r);
}

/* ---- keepalive ------------------------------------------------------------------ */

/* ping_s 4, drop_s 10, with a fake clock: no PING before 4 s of
 * silence; one at 4 s, written ahead of the queue; none again until
 * ping_s after it; a frame or pong resets the silence; dropped at 10 s. */
static void test_keepalive(void **state)
{
	struct rig *r = rig_new(1024);
	int64_t t0 = 1000;
	size_t len;
	uint8_t *b = ack_bytes(1, &len);

	(void)state;
	r->l.heard = r->l.pinged = t0;
	assert_int_equal(link_keepalive(&r->l, t0 + 3, 4, 10), 0);
	assert_false(r->l.ping_due);
	assert_int_equal(r->f.wants, 0);
	assert_int_equal(link_send_encoded(&r->l, b, len), ERR_OK);
	assert_int_equal(link_keepalive(&r->l, t0 + 4, 4, 10), 0);
	assert_true(r->l.ping_due);
	/* the PING goes ahead of the queued frame */
	assert_int_equal(link_writeable(&r->l), 0);
	assert_int_equal(r->f.n, 1);
	assert_int_equal(r->f.kind[0], LINK_WRITE_PING);
	assert_int_equal(link_writeable(&r->l), 2);   /* the last queued */
	assert_int_equal(r->f.kind[1], LINK_WRITE_BINARY);
	assert_int_equal(link_writeable(&r->l), 1);
	/* still silent, but pinged 3 s ago: no second PING yet */
	assert_int_equal(link_keepalive(&r->l, t0 + 7, 4, 10), 0);
	assert_false(r->l.ping_due);
	assert_int_equal(link_keepalive(&r->l, t0 + 8, 4, 10), 0);
	assert_true(r->l.ping_due);
	assert_int_equal(link_writeable(&r->l), 0);
	assert_int_equal(r->f.kind[2], LINK_WRITE_PING);
	/* dropped at drop_s of silence, at once */
	assert_int_equal(r->f.killed, 0);
	assert_int_equal(link_keepalive(&r->l, t0 + 10, 4, 10), 1);
	assert_int_equal(r->f.killed, 1);
	assert_int_equal(r->f.kill_secs, 0);
	/* a pong is proof of life: its clock is link_now */
	link_pong(&r->l);
	assert_int_equal(link_keepalive(&r->l, link_now() + 3, 4, 10), 0);
	assert_false(r->l.ping_due);
	/* a closing link is left alone */
	link_close(&r->l, WIRE_CLOSE_GOING_AWAY, 0, "bye");
	assert_int_equal(link_keepalive(&r->l, link_now() + 100, 4, 10), 0);
	assert_int_equal(r->f.killed, 2);   /* the close's grace only */
	free(b);
	rig_free(r);
}

/* The links are walked every quarter of ping_s, within 1 to 5 s. */
static void test_keepalive_period(void **state)
{
	(void)state;
	assert_int_equal(link_keepalive_period_us(1), 1000000);
	assert_int_equal(link_keepalive_period_us(4), 1000000);
	assert_int_equal(link_keepalive_period_us(8), 2000000);
	assert_int_equal(link_keepalive_period_us(30), 5000000);
	assert_int_equal(link_keepalive_period_us(600), 5000000);
}

/* ---- change streams --------------------------------------------------------------- */

struct stream_rig {
	sqlite3 *db;
	struct catalog *cat;
};

/* stream_setup: a catalog on an in-memory store with n tombstones of
 * origin "a" logged (seq 1..n). */
static void stream_setup(struct stream_rig *s, unsigned n)
{
	struct store_migration m[] = { { catalog_schema_v1 },
				       { catalog_schema_v2 },
				       { catalog_schema_v3 },
				       { catalog_schema_v4 },
				       { catalog_schema_v5 },
				       { catalog_schema_v6 },
				       { catalog_schema_v7 } };
	char err[512], id[16];

	assert_int_equal(store_open(":memory:", m, sizeof(m) / sizeof(*m),
				    &s->db, err, sizeof(err)), ERR_OK);
	assert_int_equal(catalog_open(s->db, &s->cat), ERR_OK);
	for (unsigned i = 1; i <= n; i++) {
		Change ch = ALLIANCE__V1__CHANGE__INIT;
		int applied;

		snprintf(id, sizeof(id), "s%u", i);
		ch.origin = "ab";
		ch.id = id;
		ch.kind = ALLIANCE__V1__KIND__KIND_SERVICE;
		ch.version = i;
		ch.deleted = 1;
		assert_int_equal(catalog_apply(s->cat, &ch, 1, &applied),
				 ERR_OK);
	}
	assert_int_equal(catalog_log_head(s->cat), n);
}

static void stream_teardown(struct stream_rig *s)
{
	catalog_close(&s->cat);
	store_close(&s->db);
}

/* expect_batch: write i is a Changes frame of first..last (head 20). */
static void expect_batch(struct rig *r, unsigned i, uint64_t first,
			 uint64_t last)
{
	Frame *f = written(r, i);

	assert_int_equal(f->body_case, ALLIANCE__V1__FRAME__BODY_CHANGES);
	assert_int_equal(f->changes->n_changes, last - first + 1);
	assert_int_equal(f->changes->changes[0]->seq, first);
	assert_int_equal(f->changes->last_seq, last);
	assert_int_equal(f->changes->head, 20);
	wire_free(&f);
}

/* Batches of 5 in a window of 2: two frames, then nothing until an ack
 * frees the window; an ack beyond what was sent is refused. */
static void test_stream_window(void **state)
{
	struct stream_rig s;
	struct rig *r = rig_new(1 << 20);
	struct link_stream st;
	unsigned released;

	(void)state;
	stream_setup(&s, 20);
	link_stream_start(&st, 0, 2, 5, 0);
	assert_int_equal(st.window, 2);
	assert_int_equal(st.bytes, LIMIT_BATCH_BYTES);
	assert_true(link_stream_due(&st, 20));
	assert_int_equal(link_stream_write(&r->l, &st, s.cat, NULL, INT32_MAX,
					   NULL, NULL), 1);
	assert_int_equal(link_stream_write(&r->l, &st, s.cat, NULL, INT32_MAX,
					   NULL, NULL), 1);
	assert_false(link_stream_due(&st, 20));
	assert_int_equal(link_stream_write(&r->l, &st, s.cat, NULL, INT32_MAX,
					   NULL, NULL), 0);
	assert_int_equal(r->f.n, 2);
	expect_batch(r, 0, 1, 5);
	expect_batch(r, 1, 6, 10);
	assert_int_equal(r->count.frames_out, 2);
	/* an ack beyond what was sent changes nothing */
	assert_int_equal(link_stream_ack(&st, 11, &released), ERR_INVALID);
	assert_int_equal(st.unacked.n, 2);
	/* the first frame's ack frees one place */
	assert_int_equal(link_stream_ack(&st, 5, &released), ERR_OK);
	assert_int_equal(released, 1);
	assert_int_equal(link_stream_write(&r->l, &st, s.cat, NULL, INT32_MAX,
					   NULL, NULL), 1);
	expect_batch(r, 2, 11, 15);
	assert_int_equal(link_stream_ack(&st, 15, &released), ERR_OK);
	assert_int_equal(released, 2);
	assert_int_equal(st.sent, 15);
	stream_teardown(&s);
	rig_free(r);
}

/* sending: a hook that refuses ends the connection before anything is
 * written; skip_origin passes the origin's entries over. */
static int refuse_send(void *arg, uint64_t last)
{
	*(uint64_t *)arg = last;
	return ERR_IO;
}

static void test_stream_sending_refused(void **state)
{
	struct stream_rig s;
	struct rig *r = rig_new(1 << 20);
	struct link_stream st;
	uint64_t told = 0;

	(void)state;
	stream_setup(&s, 20);
	link_stream_start(&st, 0, 0, 0, 0);
	assert_int_equal(st.window, LIMIT_WINDOW);
	assert_int_equal(st.batch, LIMIT_BATCH);
	assert_int_equal(link_stream_write(&r->l, &st, s.cat, NULL, INT32_MAX,
					   refuse_send, &told), -1);
	assert_int_equal(told, 20);
	assert_int_equal(r->f.n, 0);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.unacked.n, 0);
	/* the node's own records are not sent back to it */
	assert_int_equal(link_stream_write(&r->l, &st, s.cat, "ab", INT32_MAX,
					   NULL, NULL), 1);
	assert_int_equal(r->f.n, 1);
	{
		Frame *f = written(r, 0);

		assert_int_equal(f->changes->n_changes, 0);
		assert_int_equal(f->changes->last_seq, 20);
		wire_free(&f);
	}
	stream_teardown(&s);
	rig_free(r);
}

/* A snapshot's frames say so; its last says it is done. */
static void test_stream_snapshot(void **state)
{
	struct stream_rig s;
	struct rig *r = rig_new(1 << 20);
	struct link_stream st;
	Frame *f;

	(void)state;
	stream_setup(&s, 20);
	link_stream_start(&st, 0, 0, 10, 0);
	st.snapshot_until = 20;
	assert_int_equal(link_stream_write(&r->l, &st, s.cat, NULL, INT32_MAX,
					   NULL, NULL), 1);
	assert_int_equal(link_stream_write(&r->l, &st, s.cat, NULL, INT32_MAX,
					   NULL, NULL), 1);
	f = written(r, 0);
	assert_true(f->changes->snapshot);
	assert_false(f->changes->snapshot_done);
	wire_free(&f);
	f = written(r, 1);
	assert_true(f->changes->snapshot);
	assert_true(f->changes->snapshot_done);
	wire_free(&f);
	assert_int_equal(st.snapshot_until, 0);
	stream_teardown(&s);
	rig_free(r);
}

/* A batch built elsewhere (link_stream_batch, link_stream_build,
 * link_stream_built): one at a time, none handed out while one is built
 * or waits; the ready frame is written by link_stream_put and counts in
 * the window; the next batch starts after it; the bytes are those
 * link_stream_write sends. */
static void test_stream_built_elsewhere(void **state)
{
	struct stream_rig s;
	struct rig *r = rig_new(1 << 20), *sync = rig_new(1 << 20);
	struct link_stream st, st_sync;
	struct link_batch b;
	struct link_frame f;
	unsigned wants;

	(void)state;
	stream_setup(&s, 20);
	link_stream_start(&st, 0, 2, 5, 0);
	link_stream_start(&st_sync, 0, 2, 5, 0);
	assert_int_equal(link_stream_put(&r->l, &st), 0);   /* none ready */
	assert_int_equal(link_stream_batch(&st, 20, "zz", INT32_MAX, &b), 1);
	assert_int_equal(b.after, 0);
	assert_int_equal(b.batch, 5);
	assert_int_equal(b.snapshot_until, 0);
	assert_string_equal(b.skip_origin, "zz");
	st.building = 1;
	assert_int_equal(link_stream_batch(&st, 20, NULL, INT32_MAX, &b), 0);
	assert_int_equal(link_stream_build(s.cat, &b, &f), ERR_OK);
	assert_int_equal(f.last, 5);
	wants = r->f.wants;
	link_stream_built(&r->l, &st, ERR_OK, &f);
	assert_null(f.buf);                 /* taken */
	assert_false(st.building);
	assert_non_null(st.ready.buf);
	assert_int_equal(r->f.wants, wants + 1);
	/* nothing more is handed out while a frame waits */
	assert_int_equal(link_stream_batch(&st, 20, NULL, INT32_MAX, &b), 0);
	assert_int_equal(st.sent, 0);
	assert_int_equal(link_stream_put(&r->l, &st), 1);
	assert_null(st.ready.buf);
	assert_int_equal(st.sent, 5);
	assert_int_equal(st.unacked.n, 1);
	/* the same bytes as a batch built and written at once */
	assert_int_equal(link_stream_write(&sync->l, &st_sync, s.cat, "zz",
					   INT32_MAX, NULL, NULL), 1);
	assert_int_equal(r->f.len[0], sync->f.len[0]);
	assert_memory_equal(r->f.msg[0], sync->f.msg[0], r->f.len[0]);
	expect_batch(r, 0, 1, 5);
	/* the next starts after it; the window (2) then holds it back */
	assert_int_equal(link_stream_batch(&st, 20, NULL, INT32_MAX, &b), 1);
	assert_int_equal(b.after, 5);
	assert_int_equal(link_stream_build(s.cat, &b, &f), ERR_OK);
	link_stream_built(&r->l, &st, ERR_OK, &f);
	assert_int_equal(link_stream_put(&r->l, &st), 1);
	expect_batch(r, 1, 6, 10);
	assert_int_equal(link_stream_batch(&st, 20, NULL, INT32_MAX, &b), 0);
	assert_int_equal(r->count.frames_out, 2);
	stream_teardown(&s);
	rig_free(r);
	rig_free(sync);
}

/* A batch that could not be built closes the link with 1011 (never a
 * stream stopped in silence); a frame built for a link closing meanwhile
 * is dropped, and a ready one is not written once it closes. */
static void test_stream_built_refused_or_closing(void **state)
{
	struct stream_rig s;
	struct rig *r = rig_new(1 << 20);
	struct link_stream st;
	struct link_batch b;
	struct link_frame f = { 0 };

	(void)state;
	stream_setup(&s, 20);
	link_stream_start(&st, 0, 0, 5, 0);
	assert_int_equal(link_stream_batch(&st, 20, NULL, INT32_MAX, &b), 1);
	st.building = 1;
	link_stream_built(&r->l, &st, ERR_NOMEM, &f);
	assert_false(st.building);
	assert_null(st.ready.buf);
	assert_int_equal(r->f.refused, 1);
	assert_int_equal(r->f.cause, LINK_UNSENT);
	assert_int_equal(r->l.close_code, WIRE_CLOSE_INTERNAL);
	assert_non_null(strstr(r->l.close_reason, "changes"));
	/* closing: a frame built meanwhile is dropped (ASan: freed) */
	assert_int_equal(link_stream_build(s.cat, &b, &f), ERR_OK);
	st.building = 1;
	link_stream_built(&r->l, &st, ERR_OK, &f);
	assert_null(st.ready.buf);
	assert_int_equal(link_stream_put(&r->l, &st), 0);
	assert_int_equal(r->f.n, 0);
	rig_free(r);

	/* a frame ready when the link begins to close is not written */
	r = rig_new(1 << 20);
	assert_int_equal(link_stream_build(s.cat, &b, &f), ERR_OK);
	link_stream_built(&r->l, &st, ERR_OK, &f);
	assert_non_null(st.ready.buf);
	link_close(&r->l, WIRE_CLOSE_GOING_AWAY, 0, "bye");
	assert_int_equal(link_stream_put(&r->l, &st), 0);
	assert_null(st.ready.buf);
	assert_int_equal(st.sent, 0);
	/* and one never written is freed with the stream */
	assert_int_equal(link_stream_build(s.cat, &b, &f), ERR_OK);
	st.ready = f;
	link_stream_free(&st);
	assert_null(st.ready.buf);
	stream_teardown(&s);
	rig_free(r);
}

/* A snapshot's batches built elsewhere say so too, and the stream's
 * snapshot ends with the frame that ends it. */
static void test_stream_snapshot_built_elsewhere(void **state)
{
	struct stream_rig s;
	struct rig *r = rig_new(1 << 20);
	struct link_stream st;
	struct link_batch b;
	struct link_frame f;
	Frame *fr;

	(void)state;
	stream_setup(&s, 20);
	link_stream_start(&st, 0, 0, 10, 0);
	st.snapshot_until = 20;
	for (int i = 0; i < 2; i++) {
		assert_int_equal(link_stream_batch(&st, 20, NULL, INT32_MAX,
						   &b), 1);
		assert_int_equal(b.snapshot_until, 20);
		assert_int_equal(link_stream_build(s.cat, &b, &f), ERR_OK);
		assert_int_equal(f.snapshot_done, i == 1);
		link_stream_built(&r->l, &st, ERR_OK, &f);
		assert_int_equal(st.snapshot_until, 20);  /* until written */
		assert_int_equal(link_stream_put(&r->l, &st), 1);
	}
	assert_int_equal(st.snapshot_until, 0);
	fr = written(r, 1);
	assert_true(fr->changes->snapshot);
	assert_true(fr->changes->snapshot_done);
	wire_free(&fr);
	stream_teardown(&s);
	rig_free(r);
}

/* ---- relayed records ---------------------------------------------------------------- */

/* relay_rows: an in-memory table of n packed request changes. */
static sqlite3 *relay_rows(unsigned n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char id[32];

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE r (n INTEGER, body"
				      " BLOB)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO r VALUES (?1,"
					    " ?2)", -1, &st, NULL), SQLITE_OK);
	for (unsigned i = 0; i < n; i++) {
		Change ch = ALLIANCE__V1__CHANGE__INIT;
		size_t len;
		uint8_t *b;

		snprintf(id, sizeof(id), "ab.%016u", i);
		ch.origin = "ab";
		ch.id = id;
		ch.kind = ALLIANCE__V1__KIND__KIND_REQUEST;
		ch.version = i + 1;
		b = relay_pack(&ch, &len);
		assert_non_null(b);
		sqlite3_bind_int(st, 1, (int)i);
		sqlite3_bind_blob(st, 2, b, (int)len, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		free(b);
	}
	sqlite3_finalize(st);
	return db;
}

/* relay_frame: send one Relay frame of the table's rows within max_bytes;
 * returns how many went, checking the frame written holds them. */
static size_t relay_frame(struct rig *r, sqlite3 *db, size_t max_bytes)
{
	sqlite3_stmt *st = NULL;
	size_t sent = 0;
	Frame *f;

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM r ORDER BY"
					    " n", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(link_relay_send(&r->l, st, max_bytes, &sent),
			 ERR_OK);
	sqlite3_finalize(st);
	assert_int_equal(link_writeable(&r->l), 2);
	f = written(r, r->f.n - 1);
	assert_int_equal(f->body_case, ALLIANCE__V1__FRAME__BODY_RELAY);
	assert_int_equal(f->relay->n_changes, sent);
	assert_string_equal(f->relay->changes[0]->id, "ab.0000000000000000");
	wire_free(&f);
	return sent;
}

/* A Relay frame holds at most RELAY_BATCH records and the receiver's
 * bytes (one at least, whatever its size); nothing to send sends
 * nothing. */
static void test_relay_send(void **state)
{
	struct rig *r = rig_new(1 << 20);
	sqlite3 *db = relay_rows(RELAY_BATCH + 6);
	sqlite3_stmt *st = NULL;
	size_t sent = 1;

	(void)state;
	assert_int_equal(relay_frame(r, db, LIMIT_BATCH_BYTES), RELAY_BATCH);
	assert_int_equal(relay_frame(r, db, WIRE_BATCH_OVERHEAD + 100), 2);
	assert_int_equal(relay_frame(r, db, 1), 1);
	sqlite3_exec(db, "DELETE FROM r", NULL, NULL, NULL);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM r", -1, &st,
					    NULL), SQLITE_OK);
	assert_int_equal(link_relay_send(&r->l, st, LIMIT_BATCH_BYTES, &sent),
			 ERR_OK);
	sqlite3_finalize(st);
	assert_int_equal(sent, 0);
	assert_null(r->l.out_head);
	sqlite3_close(db);
	rig_free(r);
}

/* ---- main ------------------------------------------------------------------------ */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_rx_keep),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_slow_consumer),
		cmocka_unit_test(test_short_write),
		cmocka_unit_test(test_close_once),
		cmocka_unit_test(test_writeable_asks_only_for_more),
		cmocka_unit_test(test_written_at_once_when_ready),
		cmocka_unit_test(test_unsent),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_keepalive_period),
		cmocka_unit_test(test_stream_window),
		cmocka_unit_test(test_stream_sending_refused),
		cmocka_unit_test(test_stream_snapshot),
		cmocka_unit_test(test_stream_built_elsewhere),
		cmocka_unit_test(test_stream_built_refused_or_closing),
		cmocka_unit_test(test_stream_snapshot_built_elsewhere),
		cmocka_unit_test(test_relay_send),
	};

	log_init("test_link", LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
