/* link.h: one alliance.v1 endpoint, the same at the hub and the node.
 *
 * A link is one websocket session's protocol state below the roles:
 * receiving (binary only, fragments reassembled under the frame limit,
 * decoded under wire_decode's limits, the buffer released), the send
 * queue with its slow-consumer close, closing with a code, a reason and
 * an Error frame, the keepalive (a PING to a peer silent for ping_s, a
 * drop at drop_s, checked by a periodic walk the daemon runs), and change
 * streams sent under a window of unacknowledged frames. Writes go through
 * a transport table (struct link_io): libwebsockets in the daemons
 * (link_lws_io), a fake in the unit tests. What a frame means is the
 * role's (hub/, node/); the link calls back only to have a close it
 * decided on logged and counted.
 *
 * Everything runs on the service thread and nothing here is thread-safe,
 * but for link_stream_build, which another thread may run on a catalog
 * of its own (lib/streamer.h). */
#ifndef ALLIANCE_LINK_H
#define ALLIANCE_LINK_H

#include <libwebsockets.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "wire.h"

/* Bytes a transport needs writable in front of every buffer it is given
 * (lws_write's headroom). */
#define LINK_PRE LWS_PRE

/* What link_io.write sends. */
enum link_write {
	LINK_WRITE_BINARY,          /* one whole binary message */
	LINK_WRITE_PING,            /* a websocket PING */
};

/* The transport under a link; io is its handle (a struct lws *). */
struct link_io {
	/* write: send len bytes at buf (LINK_PRE writable bytes before it)
	 * as kind, from a WRITEABLE callback or when ready says so; the
	 * bytes written or taken to write later (fewer than len: failed)
	 * or -1 */
	int (*write)(void *io, uint8_t *buf, size_t len, enum link_write kind);
	/* ready: whether a message may be written at once, outside a
	 * WRITEABLE callback (nothing of an earlier write still waits in the
	 * transport); NULL: never */
	int (*ready)(void *io);
	/* want_write: ask for a WRITEABLE callback */
	void (*want_write)(void *io);
	/* kill_after: drop the connection when it is not closed within secs
	 * seconds (0: at once, unclean) */
	void (*kill_after)(void *io, unsigned secs);
	/* close_reason: the code and reason of the close frame, just before
	 * the WRITEABLE callback returns -1 */
	void (*close_reason)(void *io, int code, const char *reason);
};

/* The transport of the daemons: io is the session's struct lws *. */
extern const struct link_io link_lws_io;

/* Why the link closed a session on its own (link.refused). */
enum link_cause {
	LINK_TEXT,                  /* a text message (1003) */
	LINK_TOO_LARGE,             /* a message over max_frame (1009) */
	LINK_BAD_FRAME,             /* bytes that do not decode (4400) */
	LINK_SLOW,                  /* the send queue is full (4430) */
	LINK_UNSENT,                /* a frame not encoded or queued (1011) */
	LINK_NOMEM,                 /* no memory for a message (1011) */
};

/* Frames traffic, summed over the links that point at it. */
struct link_counters {
	uint64_t frames_in, frames_out;
	uint64_t bytes_in, bytes_out;
};

/* One queued frame. */
struct link_out {
	uint8_t *buf;               /* LINK_PRE headroom, then len bytes (owned) */
	size_t len;
	struct link_out *next;
};

/* One session's endpoint. link_init sets every field; the role may then
 * set refused, count, self, rx_keep and close_grace_s. The rest is the
 * link's. */
struct link {
	const struct link_io *ops;  /* the transport */
	void *io;                   /* its handle */
	void *owner;                /* the role's session, for refused */
	/* refused: the link is closing the session for cause (code and
	 * reason in close_code, close_reason): log and count it; NULL: none */
	void (*refused)(struct link *l, enum link_cause cause);
	struct link_counters *count;/* traffic counters, or NULL */
	const char *self;           /* this end in reasons: "the hub" */
	size_t max_frame;           /* [limits] max_frame: 1009 beyond */
	size_t rx_keep;             /* a receive buffer up to this size is
				       kept between messages (0: freed) */
	unsigned close_grace_s;     /* a closing peer that never lets us
				       write is dropped after this */
	struct wire_rx rx;          /* message being received (owned) */
	struct link_out *out_head;  /* send queue, oldest first (owned) */
	struct link_out *out_tail;
	unsigned out_count;
	int closing;                /* a close is under way */
	int close_code;             /* ... with this code and reason */
	char close_reason[124];     /* (a close frame holds 123 bytes) */
	int64_t heard;              /* link_now() of the last frame or pong */
	int64_t pinged;             /* ... of the last PING sent */
	int ping_due;               /* a PING to write at WRITEABLE */
	int write_failed;           /* a frame written at once failed: close
				       at WRITEABLE */
	const char *unsent_body;    /* LINK_UNSENT: the frame's kind, */
	int unsent_rc;              /* ... and why it was not sent */
};

/* link_init: a fresh link on transport ops/io for owner, receiving at
 * most max_frame bytes a message, at link_now(). Nothing is allocated
 * until frames move; link_free releases it. */
void link_init(struct link *l, const struct link_io *ops, void *io,
	       void *owner, size_t max_frame);
/* link_free: free the queue and the receive buffer (the link may be
 * initialised again). */
void link_free(struct link *l);

/* ---- receiving ------------------------------------------------------------ */

/* link_receive: one fragment of len bytes from the transport: binary
 * (else the link closes 1003), first and last fragment of its message.
 * When a message is whole it is decoded: *frame is then the Frame (the
 * caller frees it with wire_free) of *frame_len bytes, and heard is now.
 * *frame is NULL when no Frame is ready: more fragments to come, the link
 * closing (what arrives is dropped), or closing now (over max_frame 1009,
 * undecodable 4400 with an Error frame, out of memory 1011). */
void link_receive(struct link *l, const void *in, size_t len, int binary,
		  int first, int last, Frame **frame, size_t *frame_len);
/* link_pong: a PONG arrived: the peer is alive. */
void link_pong(struct link *l);

/* ---- sending --------------------------------------------------------------- */

/* link_send: encode frame and queue it, asking for WRITEABLE. A full
 * queue (LIMIT_SEND_QUEUE frames) closes the session as a slow consumer
 * (4430); a frame that cannot be encoded or queued closes it with 1011
 * (link_unsent). Returns ERR_OK; ERR_AGAIN when closing or slow; the
 * encoder's error. */
int link_send(struct link *l, const Frame *frame);
/* link_send_encoded: the same for a frame already encoded (len bytes at
 * frame, copied), so that one encoding serves many links. */
int link_send_encoded(struct link *l, const uint8_t *frame, size_t len);
/* link_send_error: queue an Error frame with code and message. */
int link_send_error(struct link *l, int code, const char *message);
/* link_unsent: a frame of kind body ("changes") could not be made or
 * queued (rc): close with 1011 and a reason saying so (cause
 * LINK_UNSENT), so the peer reconnects and the streams start again from
 * their acked cursors rather than stopping in silence. */
void link_unsent(struct link *l, const char *body, int rc);

/* ---- closing --------------------------------------------------------------- */

/* link_close: begin closing with code and reason: an Error frame with
 * err_code first when it is not 0 (the last word, past the queue limit),
 * then what is queued, then the close frame; a peer that does not let us
 * write is dropped after close_grace_s. Returns 1 when this began the
 * close, 0 when one was under way already (nothing changes). */
int link_close(struct link *l, int code, int err_code, const char *reason);

/* ---- writing ----------------------------------------------------------------- */

/* link_writeable: at WRITEABLE, write one thing: a PING that is due,
 * else the oldest queued frame, else when closing the close frame.
 * Returns 0 when it wrote and asked for WRITEABLE again (for the next
 * queued frame, the close, or after a PING), 2 when it wrote the last
 * queued frame and did not ask (the caller asks when its stream has
 * something due: an empty WRITEABLE of every session after each bulletin
 * cost a pass over all of them), 1 when nothing was queued (the caller
 * may write a stream frame), -1 when the connection must close (the
 * close frame, or a failed or short write). */
int link_writeable(struct link *l);
/* link_write: write an encoded frame (len bytes after LINK_PRE headroom
 * in buf) at once, from WRITEABLE with nothing queued. ERR_OK, or
 * ERR_IO when the transport took fewer than len bytes. */
int link_write(struct link *l, uint8_t *buf, size_t len);

/* ---- keepalive --------------------------------------------------------------- */

/* link_now: monotonic seconds, the clock of heard and pinged. */
int64_t link_now(void);
/* link_keepalive: the keepalive policy for one link at now: silent for
 * drop_s, it is dropped at once (returns 1); silent for ping_s and not
 * pinged in the last ping_s, a PING is due (written first at the next
 * WRITEABLE). Returns 0 otherwise. A closing link is left alone. */
int link_keepalive(struct link *l, int64_t now, unsigned ping_s,
		   unsigned drop_s);
/* link_keepalive_period_us: how often the daemon walks its links: a
 * quarter of ping_s, at least 1 s and at most 5 s, in microseconds (every
 * wake-up is a pass of the service loop, so pings due within one period
 * go out together). */
int64_t link_keepalive_period_us(unsigned ping_s);

/* ---- change streams ------------------------------------------------------------ */

/* A built Changes frame of a stream, not yet written. */
struct link_frame {
	uint8_t *buf;               /* LINK_PRE headroom, then len bytes
				       (owned); NULL: none */
	size_t len;
	uint64_t last;              /* its batch's last seq */
	int snapshot_done;          /* it ends the stream's snapshot */
};

/* One direction of a session's changes, sent from a catalog's log. */
struct link_stream {
	uint64_t sent;              /* last seq sent */
	struct wire_window unacked; /* frames sent, not yet acked */
	unsigned window;            /* most unacked frames (<= LIMIT_WINDOW) */
	size_t batch;               /* most changes a frame */
	size_t bytes;               /* most bytes a frame (the receiver's) */
	uint64_t snapshot_until;    /* frames up to here are a snapshot's */
	int building;               /* its next batch is being built on
				       another thread (the role's flag) */
	struct link_frame ready;    /* ... or was, and waits to be written
				       (owned; link_stream_free) */
};

/* What one batch of a stream is built from (link_stream_batch), copied
 * out of the stream so that another thread may build it. */
struct link_batch {
	uint64_t after;             /* the log's entries after this seq */
	size_t batch, bytes;        /* at most this many, and bytes */
	uint64_t snapshot_until;    /* the stream's, when after is below it */
	const char *skip_origin;    /* entries of this origin passed over */
	int max_kind;               /* and of kinds above this */
};

/* link_stream_start: the stream resumes after from, window, batch and
 * bytes each capped by its limit (0: the limit): LIMIT_WINDOW,
 * LIMIT_BATCH, LIMIT_BATCH_BYTES. Nothing is built or ready. */
void link_stream_start(struct link_stream *st, uint64_t from, unsigned window,
		       size_t batch, size_t bytes);
/* link_stream_free: free a built frame that was never written. */
void link_stream_free(struct link_stream *st);
/* link_stream_due: 1 when the log's head is past what was sent and the
 * window has room. */
int link_stream_due(const struct link_stream *st, uint64_t head);
/* link_stream_batch: 1 when a batch is due at head and none is being
 * built or waits to be written, with *b the next one (entries of
 * skip_origin, which must outlive b, and of kinds above max_kind passed
 * over); else 0. */
int link_stream_batch(const struct link_stream *st, uint64_t head,
		      const char *skip_origin, int max_kind,
		      struct link_batch *b);
/* link_stream_build: read batch b of cat's log and encode it as one
 * Changes frame into *f (f->buf owned by the caller). It touches only
 * cat and memory: any one thread that alone uses cat's connection may
 * run it. ERR_OK, or the catalog's or the encoder's error (*f empty). */
int link_stream_build(struct catalog *cat, const struct link_batch *b,
		      struct link_frame *f);
/* link_stream_built: the batch handed out by link_stream_batch was built
 * elsewhere with result rc into *f (taken): on ERR_OK it waits in
 * st->ready and WRITEABLE is asked; otherwise the link closes
 * (link_unsent: never a stream that stops in silence). Clears
 * st->building. A link already closing drops f. */
void link_stream_built(struct link *l, struct link_stream *st, int rc,
		       struct link_frame *f);
/* link_stream_put: at WRITEABLE with nothing queued, write the ready
 * frame, if any: it then counts as sent and unacked. Returns 1 written,
 * 0 none ready (or closing: it is freed), -1 the connection must end. */
int link_stream_put(struct link *l, struct link_stream *st);
/* link_stream_write: at WRITEABLE with nothing queued, when due: the
 * next batch of cat's log after st->sent (entries of skip_origin and of
 * kinds above max_kind passed over) built here (link_stream_build) as
 * one Changes frame, written at once (link_write); sending (when not
 * NULL) is told the batch's last seq just before the write and may
 * refuse it (not ERR_OK: the connection ends). A batch that cannot be
 * read or encoded closes the link (link_unsent). Returns 1 written
 * (WRITEABLE is asked again while still due), 0 nothing due or closing,
 * -1 the connection must end. */
int link_stream_write(struct link *l, struct link_stream *st,
		      struct catalog *cat, const char *skip_origin,
		      int max_kind, int (*sending)(void *arg, uint64_t last),
		      void *arg);
/* link_stream_ack: the receiver holds the stream up to seq: the frames
 * up to it leave the window (*released: how many). ERR_OK, or
 * ERR_INVALID when seq is beyond what was sent (nothing changes). */
int link_stream_ack(struct link_stream *st, uint64_t seq, unsigned *released);

/* ---- relayed records ----------------------------------------------------------- */

/* link_relay_send: one Relay frame of the packed Changes (relay_pack)
 * that the prepared statement st yields in its first column, at most
 * RELAY_BATCH and max_bytes (wire_batch_take; the rest wait for the
 * ack), queued on l. Does not finalize st. *sent is how many went (0:
 * none). ERR_OK, or link_send's error. */
int link_relay_send(struct link *l, sqlite3_stmt *st, size_t max_bytes,
		    size_t *sent);

/* The longest reason a RelayAck gives for a refused record. */
#define LINK_RELAY_REASON_MAX 160

/* What the receiver of a relayed record answers for it. */
struct link_relay_answer {
	int refused;
	char reason[LINK_RELAY_REASON_MAX];   /* why, when refused */
};

/* link_relay_ack: queue on l the RelayAck of relay r: a ref per record
 * (its origin, kind, id and version) with answers[i] for the i-th (r
 * holds at most RELAY_BATCH). ERR_OK, or link_send's error. */
int link_relay_ack(struct link *l, const Alliance__V1__Relay *r,
		   const struct link_relay_answer *answers);

#endif
