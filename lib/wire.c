/* wire.c: framing and codec of alliance.v1 Frames (wire.h).
 *
 * Untrusted bytes enter the program here. wire_decode checks them in four
 * steps, each in its own part of this file:
 *   1. the length cap (in wire_decode itself);
 *   2. the raw walk: every field of the raw protobuf bytes is parsed against
 *      the generated descriptors, so that strings are checked for UTF-8 and
 *      NUL while the NUL is still visible (protobuf-c would truncate at it)
 *      and malformed structure is refused with the path of the field;
 *   3. unpacking under a byte budget allocator, so a small frame of many
 *      empty submessages cannot turn into a large heap;
 *   4. the identifier checks of the body (community ids, record ids).
 * Then the public functions: wire_decode, wire_free, wire_encode,
 * wire_body_name; the reassembly and window of a session; the store
 * marks rule; the batch limits both ends keep. Nothing here keeps state
 * between calls. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "alliance_limits.h"
#include "text.h"
#include "wire.h"

/* Protobuf wire types (the low three bits of a tag). */
enum pb_wiretype {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_GROUP_START = 3,
	PB_GROUP_END = 4,
	PB_FIXED32 = 5,
};

/* Highest field number protobuf allows (2^29 - 1). */
#define PB_FIELD_MAX 536870911u
/* Longest varint: 64 bits in 7-bit groups. */
#define PB_VARINT_MAX 10

/* ---- 2. the raw walk ---------------------------------------------------- */

/* One message being walked: where it starts and which field is being read,
 * so that a failure can name the path down to it. */
struct walk_level {
	const uint8_t *start;                   /* its first byte */
	const uint8_t *at;                      /* tag of the current field */
	uint32_t num;                           /* its number; 0 before the tag */
	const ProtobufCFieldDescriptor *field;  /* its descriptor; NULL if unknown */
};

/* The state of one walk: the stack of messages and the reason buffer. */
struct walk {
	struct walk_level level[LIMIT_NESTING + 1]; /* [0] is the Frame */
	char *why;                              /* reason out buffer, or NULL */
	size_t whylen;                          /* its size */
	size_t used;                            /* bytes written to why */
};

/* pb_varint: read a varint at *p (not past end) into *v and advance *p.
 * Returns NULL, or a static phrase saying what is wrong. */
static const char *pb_varint(const uint8_t **p, const uint8_t *end,
			     uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned i = 0; i < PB_VARINT_MAX; i++) {
		if (*p + i >= end)
			return "truncated varint";
		uint8_t b = (*p)[i];

		if (i == PB_VARINT_MAX - 1 && b > 1)
			return "varint over 64 bits";
		r |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*p += i + 1;
			*v = r;
			return NULL;
		}
	}
	return "varint over 64 bits";
}

/* pb_tag: read a tag at *p into its field number and wire type and advance
 * *p. Returns NULL or a static phrase. */
static const char *pb_tag(const uint8_t **p, const uint8_t *end,
			  uint32_t *num, unsigned *wiretype)
{
	uint64_t tag;
	const char *bad = pb_varint(p, end, &tag);

	if (bad)
		return bad;
	if ((tag >> 3) == 0)
		return "field number 0";
	if ((tag >> 3) > PB_FIELD_MAX)
		return "field number over 2^29-1";
	*num = (uint32_t)(tag >> 3);
	*wiretype = (unsigned)(tag & 7);
	return NULL;
}

/* pb_value: skip the value of wire type wiretype at *p and advance *p; for
 * a length-delimited value, point *val and *vlen at its payload. Returns
 * NULL or a static phrase. */
static const char *pb_value(const uint8_t **p, const uint8_t *end,
			    unsigned wiretype, const uint8_t **val,
			    size_t *vlen)
{
	uint64_t v;
	const char *bad;
	size_t left = (size_t)(end - *p);

	*val = NULL;
	*vlen = 0;
	switch (wiretype) {
	case PB_VARINT:
		return pb_varint(p, end, &v);
	case PB_FIXED64:
		if (left < 8)
			return "truncated fixed64";
		*p += 8;
		return NULL;
	case PB_FIXED32:
		if (left < 4)
			return "truncated fixed32";
		*p += 4;
		return NULL;
	case PB_LEN:
		bad = pb_varint(p, end, &v);
		if (bad)
			return "truncated length";
		if (v > (uint64_t)(end - *p))
			return "length past the end of the message";
		*val = *p;
		*vlen = (size_t)v;
		*p += v;
		return NULL;
	case PB_GROUP_START:
	case PB_GROUP_END:
		return "group wire type not supported";
	default:
		return "invalid wire type";
	}
}

/* pb_expected_wiretype: the wire type a field of this type is sent with. */
static unsigned pb_expected_wiretype(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return PB_FIXED32;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return PB_FIXED64;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return PB_LEN;
	default:
		return PB_VARINT;
	}
}

/* walk_print: append to the reason buffer, truncating quietly. */
__attribute__((format(printf, 2, 3)))
static void walk_print(struct walk *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!w->why || w->used + 1 >= w->whylen)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->why + w->used, w->whylen - w->used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	w->used += (size_t)n;
	if (w->used >= w->whylen)
		w->used = w->whylen - 1;
}

/* walk_index: which occurrence (from 0) of field number lv->num the one at
 * lv->at is within its message. Only called on failure, so the rescan of
 * the (already parsed) bytes before it costs nothing in the common case. */
static size_t walk_index(const struct walk_level *lv)
{
	const uint8_t *p = lv->start;
	size_t n = 0;

	while (p < lv->at) {
		uint32_t num;
		unsigned wt;
		const uint8_t *val;
		size_t vlen;

		if (pb_tag(&p, lv->at, &num, &wt) ||
		    pb_value(&p, lv->at, wt, &val, &vlen))
			break;
		if (num == lv->num)
			n++;
	}
	return n;
}

/* walk_fail: write "PATH: what" into the reason, PATH naming the field at
 * every level down to depth ("changes.changes[3].id"; an unknown field as
 * "#99"; "frame" when the failure is before the Frame's first tag).
 * Returns ERR_INVALID. */
static int walk_fail(struct walk *w, unsigned depth, const char *what)
{
	bool any = false;

	w->used = 0;
	if (w->why && w->whylen)
		w->why[0] = '\0';
	for (unsigned i = 0; i <= depth; i++) {
		const struct walk_level *lv = &w->level[i];

		if (lv->num == 0)
			break;
		if (any)
			walk_print(w, ".");
		if (lv->field)
			walk_print(w, "%s", lv->field->name);
		else
			walk_print(w, "#%u", (unsigned)lv->num);
		if (lv->field && lv->field->label == PROTOBUF_C_LABEL_REPEATED)
			walk_print(w, "[%zu]", walk_index(lv));
		any = true;
	}
	walk_print(w, "%s: %s", any ? "" : "frame", what);
	return ERR_INVALID;
}

/* walk_message: walk the bytes buf[0..len) of one message of type desc at
 * the given depth (0 for the Frame). Known string fields must be valid
 * UTF-8 without NUL; known message fields are walked in turn; unknown
 * fields are skipped unread. Returns ERR_OK or ERR_INVALID with the reason
 * written. */
static int walk_message(struct walk *w, unsigned depth,
			const ProtobufCMessageDescriptor *desc,
			const uint8_t *buf, size_t len)
{
	struct walk_level *lv = &w->level[depth];
	const uint8_t *p = buf, *end = buf + len;

	lv->start = buf;
	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		const uint8_t *val;
		size_t vlen;
		unsigned wt;
		const char *bad;
		int rc;

		lv->at = p;
		lv->num = 0;
		lv->field = NULL;
		bad = pb_tag(&p, end, &lv->num, &wt);
		if (bad) {
			lv->num = 0;
			return walk_fail(w, depth, bad);
		}
		f = protobuf_c_message_descriptor_get_field(desc, lv->num);
		lv->field = f;
		bad = pb_value(&p, end, wt, &val, &vlen);
		if (bad)
			return walk_fail(w, depth, bad);
		if (!f)
			continue;       /* a newer peer's field: tolerated */
		if (wt != pb_expected_wiretype(f->type) &&
		    !(f->label == PROTOBUF_C_LABEL_REPEATED && wt == PB_LEN &&
		      pb_expected_wiretype(f->type) != PB_LEN))
			return walk_fail(w, depth, "wrong wire type");
		if (f->type == PROTOBUF_C_TYPE_STRING) {
			if (memchr(val, '\0', vlen))
				return walk_fail(w, depth, "embedded NUL");
			if (!text_utf8_valid((const char *)val, vlen))
				return walk_fail(w, depth, "invalid UTF-8");
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (depth + 1 > LIMIT_NESTING)
				return walk_fail(w, depth, "nested too deep");
			rc = walk_message(w, depth + 1, f->descriptor, val,
					  vlen);
			if (rc)
				return rc;
		}
	}
	return ERR_OK;
}

/* ---- 3. the budget allocator --------------------------------------------- */

/* Bytes handed out during one unpack. It lives on wire_decode's stack and
 * counts every allocation, freed or not, so the budget is conservative. */
struct budget {
	size_t used;            /* bytes allocated so far */
	size_t limit;           /* LIMIT_DECODE_BUDGET */
	bool exhausted;         /* an allocation was refused for the budget */
	bool nomem;             /* malloc itself failed */
};

/* budget_alloc: malloc(size) if the budget allows it, else NULL. */
static void *budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	void *p;

	if (size > b->limit - b->used) {
		b->exhausted = true;
		return NULL;
	}
	p = malloc(size ? size : 1);
	if (!p) {
		b->nomem = true;
		return NULL;
	}
	b->used += size;
	return p;
}

/* budget_free: the counterpart of budget_alloc: plain free(). It ignores
 * data, so wire_free can use it after the budget is gone. */
static void budget_free(void *data, void *p)
{
	(void)data;
	free(p);
}

/* Frees what budget_alloc made, without a budget (wire_free). */
static ProtobufCAllocator wire_free_allocator = {
	.alloc = budget_alloc,  /* never called by free_unpacked */
	.free = budget_free,
	.allocator_data = NULL,
};

/* ---- 4. identifier checks ------------------------------------------------ */

/* why_set: write a reason into why (at most whylen bytes, if any). */
__attribute__((format(printf, 3, 4)))
static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
}

/* check_fail: write the reason and return ERR_INVALID. */
#define check_fail(why, whylen, ...) \
	(why_set((why), (whylen), __VA_ARGS__), ERR_INVALID)

/* check_change: the identifiers of changes.changes[i]. */
static int check_change(const Alliance__V1__Change *c, size_t i, char *why,
			size_t whylen)
{
	if (!text_community_valid(c->origin))
		return check_fail(why, whylen, "changes.changes[%zu].origin: "
				  "not a valid community id", i);
	if (!text_record_id_valid(c->id))
		return check_fail(why, whylen, "changes.changes[%zu].id: "
				  "not a valid record id", i);
	if (c->kind == ALLIANCE__V1__KIND__KIND_UNSPECIFIED)
		return check_fail(why, whylen, "changes.changes[%zu].kind: "
				  "unspecified", i);
	return ERR_OK;
}

/* check_body: the identifiers of a decoded frame's body. A body that is
 * not set (a newer peer's kind) passes; the caller answers it. Returns
 * ERR_OK or ERR_INVALID with the reason written. */
static int check_body(const Frame *f, char *why, size_t whylen)
{
	int rc;

	switch (f->body_case) {
	case ALLIANCE__V1__FRAME__BODY_HELLO:
		if (!text_community_valid(f->hello->community))
			return check_fail(why, whylen, "hello.community: "
					  "not a valid community id");
		break;
	case ALLIANCE__V1__FRAME__BODY_CHANGES:
		for (size_t i = 0; i < f->changes->n_changes; i++) {
			rc = check_change(f->changes->changes[i], i, why,
					  whylen);
			if (rc)
				return rc;
		}
		break;
	case ALLIANCE__V1__FRAME__BODY_BULLETIN:
		if (f->bulletin->signed_content.len == 0)
			return check_fail(why, whylen,
					  "bulletin.signed_content: empty");
		if (f->bulletin->signature.len == 0)
			return check_fail(why, whylen,
					  "bulletin.signature: empty");
		break;
	case ALLIANCE__V1__FRAME__BODY_RELAY:
		for (size_t i = 0; i < f->relay->n_changes; i++) {
			rc = check_change(f->relay->changes[i], i, why,
					  whylen);
			if (rc)
				return rc;
		}
		break;
	case ALLIANCE__V1__FRAME__BODY_RELAY_ACK:
		for (size_t i = 0; i < f->relay_ack->n_refs; i++)
			if (!text_community_valid(f->relay_ack->refs[i]->origin) ||
			    !text_record_id_valid(f->relay_ack->refs[i]->id))
				return check_fail(why, whylen, "relay_ack.refs"
						  "[%zu]: not valid ids", i);
		break;
	case ALLIANCE__V1__FRAME__BODY_BULLETIN_ACK:
		if (!text_record_id_valid(f->bulletin_ack->id))
			return check_fail(why, whylen, "bulletin_ack.id: "
					  "not a valid record id");
		break;
	default:
		break;
	}
	return ERR_OK;
}

/* ---- public functions --------------------------------------------------- */

/* wire_decode: see wire.h. The Frame in *out is the caller's, freed with
 * wire_free; on failure nothing is left allocated and *out is NULL. */
int wire_decode(const uint8_t *buf, size_t len, size_t max_len, Frame **out,
		char *why, size_t whylen)
{
	static const uint8_t empty[1];
	size_t limit = max_len ? max_len : LIMIT_FRAME_BYTES;
	struct walk w = { .why = why, .whylen = whylen };
	struct budget b = { .limit = LIMIT_DECODE_BUDGET };
	ProtobufCAllocator alloc = {
		.alloc = budget_alloc,
		.free = budget_free,
		.allocator_data = &b,
	};
	Frame *f;
	int rc;

	if (why && whylen)
		why[0] = '\0';
	if (!out)
		return check_fail(why, whylen, "frame: no place for it");
	*out = NULL;
	if (len > limit) {
		why_set(why, whylen, "frame: %zu bytes, over the limit of %zu",
			len, limit);
		return ERR_TOOBIG;
	}
	if (!buf) {
		if (len)
			return check_fail(why, whylen, "frame: no bytes");
		buf = empty;
	}

	rc = walk_message(&w, 0, &alliance__v1__frame__descriptor, buf, len);
	if (rc)
		return rc;

	f = alliance__v1__frame__unpack(&alloc, len, buf);
	if (!f) {
		if (b.exhausted) {
			why_set(why, whylen, "frame: allocation budget "
				"exceeded (%u bytes)", LIMIT_DECODE_BUDGET);
			return ERR_TOOBIG;
		}
		if (b.nomem) {
			why_set(why, whylen, "frame: out of memory");
			return ERR_NOMEM;
		}
		return check_fail(why, whylen, "frame: does not unpack as "
				  "alliance.v1.Frame");
	}

	rc = check_body(f, why, whylen);
	if (rc) {
		alliance__v1__frame__free_unpacked(f, &alloc);
		return rc;
	}
	*out = f;
	return ERR_OK;
}

/* wire_free: free a Frame that wire_decode made, set *frame to NULL.
 * NULL and a NULL *frame are fine. */
void wire_free(Frame **frame)
{
	if (!frame || !*frame)
		return;
	alliance__v1__frame__free_unpacked(*frame, &wire_free_allocator);
	*frame = NULL;
}

/* wire_encode: see wire.h. The buffer in *out is the caller's, freed with
 * free(); the frame is only read. On failure *out is NULL. */
int wire_encode(const Frame *frame, size_t headroom, uint8_t **out,
		size_t *len)
{
	size_t size;
	uint8_t *buf;

	if (!out || !len)
		return ERR_INVALID;
	*out = NULL;
	*len = 0;
	if (!frame)
		return ERR_INVALID;
	size = protobuf_c_message_get_packed_size(&frame->base);
	if (size > LIMIT_FRAME_BYTES)
		return ERR_TOOBIG;
	if (headroom > SIZE_MAX - size - 1)
		return ERR_TOOBIG;
	buf = malloc(headroom + size + 1); /* + 1: never malloc(0) */
	if (!buf)
		return ERR_NOMEM;
	if (protobuf_c_message_pack(&frame->base, buf + headroom) != size) {
		free(buf);
		return ERR_FAIL;
	}
	*out = buf;
	*len = size;
	return ERR_OK;
}

/* wire_body_name: the schema's name of the frame's body ("hello",
 * "bulletin_ack"), "none" for no body or no frame. A static string. */
const char *wire_body_name(const Frame *frame)
{
	const ProtobufCFieldDescriptor *f;

	if (!frame || frame->body_case == ALLIANCE__V1__FRAME__BODY__NOT_SET)
		return "none";
	f = protobuf_c_message_descriptor_get_field(
		&alliance__v1__frame__descriptor, (unsigned)frame->body_case);
	return f ? f->name : "unknown";
}

/* ---- close codes --------------------------------------------------------- */

int wire_close_heard(int code, const char *reason)
{
	size_t n = strlen(WIRE_TRY_AGAIN_REASON);

	if (code == 1002 && reason && strncmp(reason, WIRE_TRY_AGAIN_REASON,
					      n) == 0)
		return WIRE_CLOSE_TRY_AGAIN;
	return code;
}

/* ---- both ends of a session --------------------------------------------- */

int wire_rx_add(struct wire_rx *rx, const void *in, size_t len, int first,
		size_t max)
{
	if (first)
		rx->len = 0;
	if (len > max - rx->len) {
		wire_rx_release(rx, 0);
		return ERR_TOOBIG;
	}
	if (rx->len + len > rx->cap) {
		size_t cap = rx->cap ? rx->cap : 4096;
		uint8_t *grown;

		while (cap < rx->len + len)
			cap *= 2;
		if (cap > max)
			cap = max;
		grown = realloc(rx->buf, cap);
		if (!grown)
			return ERR_NOMEM;
		rx->buf = grown;
		rx->cap = cap;
	}
	if (len)
		memcpy(rx->buf + rx->len, in, len);
	rx->len += len;
	return ERR_OK;
}

void wire_rx_release(struct wire_rx *rx, size_t keep)
{
	rx->len = 0;
	if (rx->cap > keep) {
		free(rx->buf);
		rx->buf = NULL;
		rx->cap = 0;
	}
}

void wire_window_push(struct wire_window *w, uint64_t last)
{
	if (w->n < LIMIT_WINDOW)
		w->last[w->n++] = last;
}

unsigned wire_window_ack(struct wire_window *w, uint64_t seq)
{
	unsigned released = 0, i;

	while (released < w->n && w->last[released] <= seq)
		released++;
	for (i = released; i < w->n; i++)
		w->last[i - released] = w->last[i];
	w->n -= released;
	return released;
}

/* ---- store marks --------------------------------------------------------- */

int wire_store_behind(uint64_t hub_up_cursor, uint64_t hub_own_version,
		      uint64_t node_up_sent, uint64_t node_own_version)
{
	return hub_up_cursor > node_up_sent ||
	       hub_own_version > node_own_version;
}

/* ---- batches ------------------------------------------------------------- */

size_t wire_change_cost(const Alliance__V1__Change *ch)
{
	/* a tag byte and a length varint of at most five */
	return alliance__v1__change__get_packed_size(ch) + 6;
}

int wire_batch_take(size_t *bytes, size_t n, const Alliance__V1__Change *ch,
		    size_t max_bytes)
{
	size_t cost = wire_change_cost(ch);

	if (n && *bytes + cost > max_bytes)
		return 0;
	*bytes += cost;
	return 1;
}

int wire_batch_check(const Frame *frame, size_t len, size_t max_count,
		     size_t max_bytes, char *why, size_t whylen)
{
	if (frame && frame->body_case == ALLIANCE__V1__FRAME__BODY_RELAY &&
	    len > max_bytes) {
		/* its count is RELAY_BATCH's (relay.h) */
		snprintf(why, whylen, "a Relay frame of %zu bytes, over the "
			 "batch limit of %zu bytes", len, max_bytes);
		return ERR_TOOBIG;
	}
	if (!frame || frame->body_case != ALLIANCE__V1__FRAME__BODY_CHANGES)
		return ERR_OK;
	if (frame->changes->n_changes > max_count) {
		snprintf(why, whylen, "a Changes frame of %zu changes, over "
			 "the batch limit of %zu", frame->changes->n_changes,
			 max_count);
		return ERR_TOOBIG;
	}
	if (len > max_bytes) {
		snprintf(why, whylen, "a Changes frame of %zu bytes, over the "
			 "batch limit of %zu bytes", len, max_bytes);
		return ERR_TOOBIG;
	}
	return ERR_OK;
}
