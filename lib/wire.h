/* wire.h: framing and codec of alliance.v1 Frames (proto/alliance.proto).
 *
 * Decoding is where untrusted bytes enter: wire_decode caps the length,
 * checks every string field's UTF-8 (and refuses NUL) on the raw bytes
 * before protobuf-c sees them, unpacks under an allocation budget, then
 * checks identifiers (community ids, record ids) of the body it got. */
#ifndef ALLIANCE_WIRE_H
#define ALLIANCE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "alliance.pb-c.h"
#include "alliance_limits.h"

typedef Alliance__V1__Frame Frame; /* the generated name is long */

/* Websocket close codes of alliance.v1 (DESIGN.md "Wire protocol"). */
enum wire_close {
	WIRE_CLOSE_NORMAL = 1000,
	WIRE_CLOSE_GOING_AWAY = 1001,
	WIRE_CLOSE_TEXT_FRAME = 1003,   /* a text message: only binary is spoken */
	WIRE_CLOSE_TOO_LARGE = 1009,    /* a message over the frame limit */
	WIRE_CLOSE_BAD_FRAME = 4400,    /* bytes that do not decode as a Frame */
	WIRE_CLOSE_UNAUTHORIZED = 4401, /* certificate role may not sync */
	WIRE_CLOSE_NOT_REGISTERED = 4403, /* community not in the registry */
	WIRE_CLOSE_WRONG_COMMUNITY = 4404, /* Hello names another community */
	WIRE_CLOSE_PROTOCOL = 4405,     /* a rule broken: no Hello first, order */
	WIRE_CLOSE_WRONG_ORIGIN = 4406, /* a change whose origin is not the
					   session's community */
	WIRE_CLOSE_HELLO_TIMEOUT = 4408,/* no valid Hello in time */
	WIRE_CLOSE_REPLACED = 4409,     /* a newer session of the community */
	WIRE_CLOSE_REVOKED = 4410,      /* certificate revoked (SIGHUP) or
					   expired since the upgrade */
	WIRE_CLOSE_REMOVED = 4411,      /* community removed from the registry */
	WIRE_CLOSE_UNTRUSTED = 4412,    /* the certificate's CA left the hub's
					   trust file (SIGHUP) */
	WIRE_CLOSE_QUOTA = 4413,        /* a change past its community's quota */
	WIRE_CLOSE_BATCH = 4414,        /* a Changes or Relay frame over
					   the batch limits (count or
					   bytes) of Welcome */
	WIRE_CLOSE_VERSION = 4426,      /* Hello.protocol_version is not
					   spoken here: upgrade the older
					   side */
	WIRE_CLOSE_FLOOD = 4429,        /* too many sessions from one certificate */
	WIRE_CLOSE_SLOW = 4430,         /* send queue full: slow consumer */
	WIRE_CLOSE_INTERNAL = 1011,     /* the receiver failed to store */
	WIRE_CLOSE_TRY_AGAIN = 1013,    /* the hub's database is away: come
					   back later */
};

/* How the reason of every WIRE_CLOSE_TRY_AGAIN begins. */
#define WIRE_TRY_AGAIN_REASON "try again later"

/* wire_close_heard: the close code a hub sent, from the code and reason
 * a client was given: lws 4.1.6's client rewrites 1012 to 1015 (younger
 * than RFC 6455) into 1002 before its callback sees them, the reason
 * kept, so a 1002 whose reason begins WIRE_TRY_AGAIN_REASON was
 * WIRE_CLOSE_TRY_AGAIN. Any other code is returned as it is. */
int wire_close_heard(int code, const char *reason);

/* Protocol version carried in Hello.protocol_version. */
#define WIRE_PROTOCOL_VERSION 1
/* Websocket subprotocol name. */
#define WIRE_SUBPROTOCOL "alliance.v1"
/* The websocket path of alliance.v1 at the hub's alliance port. */
#define WIRE_SYNC_PATH "/v1/sync"

/* wire_decode: decode one message of len bytes into a new Frame.
 *
 * max_len is the frame limit (0 means LIMIT_FRAME_BYTES). On success stores
 * the Frame in *out (free it with wire_free) and returns ERR_OK. A Frame
 * whose body is not set (a newer peer's body kind) decodes successfully with
 * body_case ALLIANCE__V1__FRAME__BODY__NOT_SET. Otherwise returns ERR_TOOBIG
 * (over max_len or the allocation budget) or ERR_INVALID, writes a reason
 * naming the field into why (at most whylen bytes) and leaves *out NULL. */
int wire_decode(const uint8_t *buf, size_t len, size_t max_len, Frame **out,
		char *why, size_t whylen);

/* wire_free: free a Frame from wire_decode and set the pointer to NULL. */
void wire_free(Frame **frame);

/* wire_encode: serialize frame into a new buffer with headroom free bytes in
 * front (LWS_PRE for lws_write). Stores the buffer in *out (caller frees
 * with free()) and the frame's length, not counting headroom, in *len.
 * Returns ERR_OK, ERR_TOOBIG if the frame is over LIMIT_FRAME_BYTES, or
 * ERR_NOMEM. */
int wire_encode(const Frame *frame, size_t headroom, uint8_t **out,
		size_t *len);

/* ---- both ends of a session --------------------------------------------- */

/* One websocket message being reassembled from the fragments lws hands
 * over, under the frame limit. Zero it to start. */
struct wire_rx {
	uint8_t *buf;               /* owned; NULL when released */
	size_t len;                 /* bytes of the message so far */
	size_t cap;                 /* allocated */
};

/* wire_rx_add: append a fragment (first: the message's first one) of len
 * bytes. Returns ERR_OK, ERR_TOOBIG when the message passes max (the
 * buffer is freed) or ERR_NOMEM. */
int wire_rx_add(struct wire_rx *rx, const void *in, size_t len, int first,
		size_t max);
/* wire_rx_release: forget the message; free the buffer when it is bigger
 * than keep bytes (0: always), so idle sessions stay small. */
void wire_rx_release(struct wire_rx *rx, size_t keep);

/* Stream frames sent and not yet acknowledged (flow control): each entry
 * is a frame's last seq, oldest first. Zero it to start. */
struct wire_window {
	unsigned n;                 /* frames in flight */
	uint64_t last[LIMIT_WINDOW];
};

/* wire_window_push: note a frame sent up to last; the caller checked n is
 * below its window (at most LIMIT_WINDOW). */
void wire_window_push(struct wire_window *w, uint64_t last);
/* wire_window_ack: release every frame up to seq. Returns how many. */
unsigned wire_window_ack(struct wire_window *w, uint64_t seq);

/* ---- store marks -------------------------------------------------------- */

/* wire_store_behind: the rule both ends apply to a node's store at the
 * handshake (the hub to Hello.marks, the node to Welcome): the store went
 * back in time (restored from an older backup, or lost) when the hub holds
 * a position of its stream it never sent (hub_up_cursor > node_up_sent)
 * or a version of its records above every one it holds or knows of
 * (hub_own_version > node_own_version). Such a node moves its log after
 * what the hub surely holds above the hub's cursor, and its edits since
 * above the hub's versions (node/sync.c); the hub sends its own records
 * back to it (hub/hello.c). Returns 1 when behind, else 0. */
int wire_store_behind(uint64_t hub_up_cursor, uint64_t hub_own_version,
		      uint64_t node_up_sent, uint64_t node_own_version);

/* ---- batches ------------------------------------------------------------ */

/* Bytes a Changes frame spends besides its changes (envelope, last_seq,
 * head, flags), as wire_change_cost counts them. */
#define WIRE_BATCH_OVERHEAD 64

/* wire_change_cost: the bytes ch adds to a Changes frame (its encoding
 * with tag and length). A sender fills a batch while the sum plus
 * WIRE_BATCH_OVERHEAD stays within the receiver's batch bytes. */
size_t wire_change_cost(const Alliance__V1__Change *ch);

/* wire_batch_take: whether ch may join a batch of n changes (a Changes
 * or Relay frame) whose costs so far are *bytes (start it at
 * WIRE_BATCH_OVERHEAD) within max_bytes: 1, with its cost added, when it
 * fits or is the first (a frame holds one change whatever its size; the
 * writers keep every change under LIMIT_CHANGE_BYTES); else 0 and the
 * batch ends before it. */
int wire_batch_take(size_t *bytes, size_t n, const Alliance__V1__Change *ch,
		    size_t max_bytes);

/* wire_batch_check: the batch limits of a received frame of len bytes:
 * a Changes frame may hold at most max_count changes in at most max_bytes
 * bytes, a Relay frame at most max_bytes bytes (its count is checked
 * against RELAY_BATCH where it is handled). Returns ERR_OK (also for any
 * other body), or ERR_TOOBIG with a reason naming the limit in why. */
int wire_batch_check(const Frame *frame, size_t len, size_t max_count,
		     size_t max_bytes, char *why, size_t whylen);

/* wire_body_name: the name of a frame's body kind, for logs ("hello"). */
const char *wire_body_name(const Frame *frame);

#endif
