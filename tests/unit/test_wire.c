/* test_wire.c: unit tests of lib/wire.c, the alliance.v1 Frame codec.
 *
 * Parts: helpers (a byte builder for hand-crafted protobuf, encode and
 * decode wrappers, sample frames); round trips of every body kind; broken
 * bytes (truncated, malformed, oversize); string checks (UTF-8, NUL);
 * newer peers (unknown fields, unknown body); the allocation budget;
 * identifier checks; encoding limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "alliance_limits.h"
#include "wire.h"

/* Room for a reason in every test. */
#define WHY 256

/* ---- helpers ----------------------------------------------------------- */

/* A growing byte buffer for hand-crafted protobuf; free b with free(). */
struct bytes {
	uint8_t *b;             /* the bytes, malloc'd */
	size_t n;               /* bytes used */
	size_t cap;             /* bytes allocated */
};

static void put_raw(struct bytes *o, const void *p, size_t n)
{
	if (o->n + n > o->cap) {
		o->cap = (o->n + n) * 2 + 16;
		o->b = realloc(o->b, o->cap);
		assert_non_null(o->b);
	}
	if (n)
		memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void put_varint(struct bytes *o, uint64_t v)
{
	uint8_t c;

	do {
		c = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			c |= 0x80;
		put_raw(o, &c, 1);
	} while (v);
}

static void put_tag(struct bytes *o, uint32_t num, unsigned wiretype)
{
	put_varint(o, ((uint64_t)num << 3) | wiretype);
}

/* put_len: a length-delimited field num holding p[0..n). */
static void put_len(struct bytes *o, uint32_t num, const void *p, size_t n)
{
	put_tag(o, num, 2);
	put_varint(o, n);
	put_raw(o, p, n);
}

/* encode: wire_encode with no headroom, asserting success. */
static uint8_t *encode(const Frame *f, size_t *len)
{
	uint8_t *buf = NULL;

	assert_int_equal(wire_encode(f, 0, &buf, len), ERR_OK);
	assert_non_null(buf);
	return buf;
}

/* decode_ok: wire_decode at the default limit, asserting success. */
static Frame *decode_ok(const uint8_t *buf, size_t len)
{
	char why[WHY] = "untouched";
	Frame *f = NULL;
	int rc = wire_decode(buf, len, 0, &f, why, sizeof(why));

	if (rc != ERR_OK)
		fail_msg("decode failed: %s: %s", err_name(rc), why);
	assert_non_null(f);
	assert_string_equal(why, "");
	return f;
}

/* expect_fail: wire_decode must return code with a reason containing
 * every one of the (up to two) substrings, and leave no frame. */
static void expect_fail(const uint8_t *buf, size_t len, size_t max_len,
			int code, const char *sub1, const char *sub2)
{
	char why[WHY] = "";
	Frame *f = (Frame *)(uintptr_t)1; /* must be reset to NULL */
	int rc = wire_decode(buf, len, max_len, &f, why, sizeof(why));

	if (rc != code)
		fail_msg("expected %s, got %s (%s)", err_name(code),
			 err_name(rc), why);
	assert_null(f);
	if (sub1 && !strstr(why, sub1))
		fail_msg("reason \"%s\" lacks \"%s\"", why, sub1);
	if (sub2 && !strstr(why, sub2))
		fail_msg("reason \"%s\" lacks \"%s\"", why, sub2);
}

/* expect_frame_fail: encode f with protobuf-c (which checks nothing) and
 * expect wire_decode to refuse it. */
static void expect_frame_fail(const Frame *f, int code, const char *sub1,
			      const char *sub2)
{
	size_t len;
	uint8_t *buf = encode(f, &len);

	expect_fail(buf, len, 0, code, sub1, sub2);
	free(buf);
}

/* A Changes frame of three changes: a service, an announcement and a
 * tombstone. Strings point at literals; the frame lives in the struct. */
struct sample_changes {
	Frame frame;
	Alliance__V1__Changes changes;
	Alliance__V1__Change c[3];
	Alliance__V1__Change *cp[3];
	Alliance__V1__Service service;
	Alliance__V1__Announcement announcement;
	char *audience[2];
	char *delivery[1];
	char *languages[2];
};

static void sample_changes_init(struct sample_changes *s)
{
	static const Frame frame_init = ALLIANCE__V1__FRAME__INIT;
	static const Alliance__V1__Changes changes_init =
		ALLIANCE__V1__CHANGES__INIT;
	static const Alliance__V1__Change change_init =
		ALLIANCE__V1__CHANGE__INIT;
	static const Alliance__V1__Service service_init =
		ALLIANCE__V1__SERVICE__INIT;
	static const Alliance__V1__Announcement ann_init =
		ALLIANCE__V1__ANNOUNCEMENT__INIT;

	s->frame = frame_init;
	s->changes = changes_init;
	s->service = service_init;
	s->announcement = ann_init;

	s->service.title = "\xe4\xb8\x8a\xe9\x97\xa8\xe7\x90\x86\xe5\x8f\x91"
			   "\xe6\x9c\x8d\xe5\x8a\xa1";  /* 上门理发服务 */
	s->service.summary = "Home haircut";
	s->service.category = "elderly-care";
	s->audience[0] = "elderly";
	s->audience[1] = "people with disabilities";
	s->service.n_audience = 2;
	s->service.audience = s->audience;
	s->delivery[0] = "home visit";
	s->service.n_delivery = 1;
	s->service.delivery = s->delivery;
	s->languages[0] = "zh";
	s->languages[1] = "en";
	s->service.n_languages = 2;
	s->service.languages = s->languages;
	s->service.fee = "free";
	s->service.updated = 1717200000;

	s->announcement.title = "Water off Tuesday";
	s->announcement.body = "From 9:00 to 12:00.";
	s->announcement.published = 1717200000;
	s->announcement.expires = -1;

	for (int i = 0; i < 3; i++) {
		s->c[i] = change_init;
		s->c[i].seq = 100 + (uint64_t)i;
		s->c[i].origin = "north-gate";
		s->c[i].version = 7 + (uint64_t)i;
		s->cp[i] = &s->c[i];
	}
	s->c[0].kind = ALLIANCE__V1__KIND__KIND_SERVICE;
	s->c[0].id = "svc-haircut";
	s->c[0].body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
	s->c[0].service = &s->service;
	s->c[1].kind = ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT;
	s->c[1].id = "ann.2024_06";
	s->c[1].body_case = ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT;
	s->c[1].announcement = &s->announcement;
	s->c[2].kind = ALLIANCE__V1__KIND__KIND_SERVICE;
	s->c[2].id = "svc-old";
	s->c[2].deleted = 1;

	s->changes.n_changes = 3;
	s->changes.changes = s->cp;
	s->changes.snapshot = 1;
	s->changes.snapshot_done = 1;
	s->frame.body_case = ALLIANCE__V1__FRAME__BODY_CHANGES;
	s->frame.changes = &s->changes;
}

/* hello_frame: a valid Hello frame pointing into *h. */
static Frame hello_frame(Alliance__V1__Hello *h)
{
	static const Alliance__V1__Hello hello_init =
		ALLIANCE__V1__HELLO__INIT;
	Frame f = ALLIANCE__V1__FRAME__INIT;

	*h = hello_init;
	h->protocol_version = WIRE_PROTOCOL_VERSION;
	h->community = "north-gate";
	h->software_version = "0.1.0";
	h->store_epoch = "epoch-1";
	h->down_cursor = 42;
	f.body_case = ALLIANCE__V1__FRAME__BODY_HELLO;
	f.hello = h;
	return f;
}

/* ---- round trips ---------------------------------------------------------- */

static void test_roundtrip_hello(void **state)
{
	Alliance__V1__Hello h;
	Frame f = hello_frame(&h);
	uint8_t *buf = NULL;
	size_t len = 0;
	Frame *d;

	(void)state;
	/* with headroom, as for LWS_PRE */
	assert_int_equal(wire_encode(&f, 16, &buf, &len), ERR_OK);
	assert_int_equal(len, protobuf_c_message_get_packed_size(&f.base));
	d = decode_ok(buf + 16, len);
	assert_int_equal(d->body_case, ALLIANCE__V1__FRAME__BODY_HELLO);
	assert_string_equal(wire_body_name(d), "hello");
	assert_int_equal(d->hello->protocol_version, 1);
	assert_string_equal(d->hello->community, "north-gate");
	assert_string_equal(d->hello->software_version, "0.1.0");
	assert_string_equal(d->hello->store_epoch, "epoch-1");
	assert_int_equal(d->hello->down_cursor, 42);
	wire_free(&d);
	assert_null(d);
	wire_free(&d);          /* twice is harmless */
	free(buf);
}

/* test_hello_marks: StoreMarks travel in Hello, and are absent (NULL)
 * from an older node's */
static void test_hello_marks(void **state)
{
	Alliance__V1__Hello h;
	Alliance__V1__StoreMarks m = ALLIANCE__V1__STORE_MARKS__INIT;
	Frame f = hello_frame(&h);
	uint8_t *buf = NULL;
	size_t len = 0;
	Frame *d;

	(void)state;
	assert_int_equal(wire_encode(&f, 0, &buf, &len), ERR_OK);
	d = decode_ok(buf, len);
	assert_null(d->hello->marks);
	wire_free(&d);
	free(buf);
	m.up_sent = 17;
	m.own_version = 23;
	h.marks = &m;
	assert_int_equal(wire_encode(&f, 0, &buf, &len), ERR_OK);
	d = decode_ok(buf, len);
	assert_non_null(d->hello->marks);
	assert_int_equal(d->hello->marks->up_sent, 17);
	assert_int_equal(d->hello->marks->own_version, 23);
	wire_free(&d);
	free(buf);
}

/* test_store_behind: the rule of both ends: behind only when the hub holds
 * a seq the store never sent or a version above the store's */
static void test_store_behind(void **state)
{
	(void)state;
	assert_false(wire_store_behind(0, 0, 0, 0));      /* new, both */
	assert_false(wire_store_behind(10, 7, 10, 7));    /* reconnect */
	assert_false(wire_store_behind(8, 7, 10, 9));     /* acks lost */
	assert_false(wire_store_behind(0, 0, 10, 9));     /* the hub behind */
	assert_true(wire_store_behind(11, 7, 10, 7));     /* a seq not sent */
	assert_true(wire_store_behind(10, 8, 10, 7));     /* a version */
	assert_true(wire_store_behind(0, 5, 0, 0));       /* a lost store */
	assert_true(wire_store_behind(UINT64_MAX, 0, UINT64_MAX - 1, 0));
}

static void test_roundtrip_welcome(void **state)
{
	Alliance__V1__Welcome w = ALLIANCE__V1__WELCOME__INIT;
	Frame f = ALLIANCE__V1__FRAME__INIT;
	size_t len;
	uint8_t *buf;
	Frame *d;

	(void)state;
	w.up_cursor = 1ull << 40;
	w.own_version = 99;
	w.heartbeat_s = 20;
	w.batch_max = 256;
	w.window = 8;
	w.hub_version = "0.1.0";
	w.snapshot = 1;
	f.body_case = ALLIANCE__V1__FRAME__BODY_WELCOME;
	f.welcome = &w;
	buf = encode(&f, &len);
	d = decode_ok(buf, len);
	assert_string_equal(wire_body_name(d), "welcome");
	assert_int_equal(d->welcome->up_cursor, 1ull << 40);
	assert_int_equal(d->welcome->own_version, 99);
	assert_int_equal(d->welcome->heartbeat_s, 20);
	assert_int_equal(d->welcome->batch_max, 256);
	assert_int_equal(d->welcome->window, 8);
	assert_string_equal(d->welcome->hub_version, "0.1.0");
	assert_true(d->welcome->snapshot);
	wire_free(&d);
	free(buf);
}

static void test_roundtrip_changes(void **state)
{
	struct sample_changes s;
	Alliance__V1__Change **c;
	size_t len;
	uint8_t *buf;
	Frame *d;

	(void)state;
	sample_changes_init(&s);
	buf = encode(&s.frame, &len);
	d = decode_ok(buf, len);
	assert_string_equal(wire_body_name(d), "changes");
	assert_true(d->changes->snapshot);
	assert_true(d->changes->snapshot_done);
	assert_int_equal(d->changes->n_changes, 3);
	c = d->changes->changes;

	assert_int_equal(c[0]->seq, 100);
	assert_string_equal(c[0]->origin, "north-gate");
	assert_int_equal(c[0]->kind, ALLIANCE__V1__KIND__KIND_SERVICE);
	assert_string_equal(c[0]->id, "svc-haircut");
	assert_int_equal(c[0]->version, 7);
	assert_false(c[0]->deleted);
	assert_int_equal(c[0]->body_case, ALLIANCE__V1__CHANGE__BODY_SERVICE);
	assert_string_equal(c[0]->service->title, s.service.title);
	assert_string_equal(c[0]->service->category, "elderly-care");
	assert_int_equal(c[0]->service->n_audience, 2);
	assert_string_equal(c[0]->service->audience[1],
			    "people with disabilities");
	assert_int_equal(c[0]->service->n_delivery, 1);
	assert_string_equal(c[0]->service->delivery[0], "home visit");
	assert_int_equal(c[0]->service->n_languages, 2);
	assert_string_equal(c[0]->service->languages[0], "zh");
	assert_string_equal(c[0]->service->fee, "free");
	assert_int_equal(c[0]->service->updated, 1717200000);

	assert_int_equal(c[1]->kind, ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT);
	assert_string_equal(c[1]->id, "ann.2024_06");
	assert_int_equal(c[1]->body_case,
			 ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT);
	assert_string_equal(c[1]->announcement->title, "Water off Tuesday");
	assert_string_equal(c[1]->announcement->body, "From 9:00 to 12:00.");
	assert_int_equal(c[1]->announcement->expires, -1);

	assert_string_equal(c[2]->id, "svc-old");
	assert_true(c[2]->deleted);
	assert_int_equal(c[2]->version, 9);
	assert_int_equal(c[2]->body_case, ALLIANCE__V1__CHANGE__BODY__NOT_SET);
	wire_free(&d);
	free(buf);
}

static void test_roundtrip_ack(void **state)
{
	Alliance__V1__Ack a = ALLIANCE__V1__ACK__INIT;
	Frame f = ALLIANCE__V1__FRAME__INIT;
	size_t len;
	uint8_t *buf;
	Frame *d;

	(void)state;
	a.seq = UINT64_MAX;
	f.body_case = ALLIANCE__V1__FRAME__BODY_ACK;
	f.ack = &a;
	buf = encode(&f, &len);
	d = decode_ok(buf, len);
	assert_string_equal(wire_body_name(d), "ack");
	assert_true(d->ack->seq == UINT64_MAX);
	wire_free(&d);
	free(buf);
}

static void test_roundtrip_bulletin(void **state)
{
	/* bytes fields are not text: NUL and 0xff must pass untouched */
	static uint8_t content[] = { 0x0a, 0x03, 'b', '-', '1', 0x00, 0xff };
	uint8_t sig[64];
	Alliance__V1__Bulletin b = ALLIANCE__V1__BULLETIN__INIT;
	Frame f = ALLIANCE__V1__FRAME__INIT;
	size_t len;
	uint8_t *buf;
	Frame *d;

	(void)state;
	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = (uint8_t)(255 - i);
	b.signed_content.data = content;
	b.signed_content.len = sizeof(content);
	b.signature.data = sig;
	b.signature.len = sizeof(sig);
	f.body_case = ALLIANCE__V1__FRAME__BODY_BULLETIN;
	f.bulletin = &b;
	buf = encode(&f, &len);
	d = decode_ok(buf, len);
	assert_string_equal(wire_body_name(d), "bulletin");
	assert_int_equal(d->bulletin->signed_content.len, sizeof(content));
	assert_memory_equal(d->bulletin->signed_content.data, content,
			    sizeof(content));
	assert_int_equal(d->bulletin->signature.len, sizeof(sig));
	assert_memory_equal(d->bulletin->signature.data, sig, sizeof(sig));
	wire_free(&d);
	free(buf);
}

static void test_roundtrip_bulletin_ack(void **state)
{
	Alliance__V1__BulletinAck a = ALLIANCE__V1__BULLETIN_ACK__INIT;
	Frame f = ALLIANCE__V1__FRAME__INIT;
	size_t len;
	uint8_t *buf;
	Frame *d;

	(void)state;
	a.id = "b-2024-06-01.1";
	f.body_case = ALLIANCE__V1__FRAME__BODY_BULLETIN_ACK;
	f.bulletin_ack = &a;
	buf = encode(&f, &len);
	d = decode_ok(buf, len);
	assert_string_equal(wire_body_name(d), "bulletin_ack");
	assert_string_equal(d->bulletin_ack->id, "b-2024-06-01.1");
	wire_free(&d);
	free(buf);
}

static void test_roundtrip_error(void **state)
{
	Alliance__V1__Error e = ALLIANCE__V1__ERROR__INIT;
	Frame f = ALLIANCE__V1__FRAME__INIT;
	size_t len;
	uint8_t *buf;
	Frame *d;

	(void)state;
	e.code = ALLIANCE__V1__ERROR_CODE__ERROR_UNKNOWN_BODY;
	e.message = "body 99 unknown";
	f.body_case = ALLIANCE__V1__FRAME__BODY_ERROR;
	f.error = &e;
	buf = encode(&f, &len);
	d = decode_ok(buf, len);
	assert_string_equal(wire_body_name(d), "error");
	assert_int_equal(d->error->code,
			 ALLIANCE__V1__ERROR_CODE__ERROR_UNKNOWN_BODY);
	assert_string_equal(d->error->message, "body 99 unknown");
	wire_free(&d);
	free(buf);
}

/* An empty message is a Frame with no body: a newer peer's, or nothing. */
static void test_empty_frame(void **state)
{
	Frame *d;

	(void)state;
	d = decode_ok(NULL, 0);
	assert_int_equal(d->body_case, ALLIANCE__V1__FRAME__BODY__NOT_SET);
	assert_string_equal(wire_body_name(d), "none");
	wire_free(&d);
	assert_string_equal(wire_body_name(NULL), "none");
}

/* ---- broken bytes ----------------------------------------------------------- */

/* Every prefix of a valid frame: the body field is cut, so only the empty
 * prefix decodes; none may crash or leak (the ASan build checks). */
static void test_truncated_prefixes(void **state)
{
	struct sample_changes s;
	size_t len;
	uint8_t *buf;

	(void)state;
	sample_changes_init(&s);
	buf = encode(&s.frame, &len);
	assert_true(len > 100);
	for (size_t n = 1; n < len; n++) {
		uint8_t *copy = malloc(n); /* exact size: ASan sees overreads */

		assert_non_null(copy);
		memcpy(copy, buf, n);
		expect_fail(copy, n, 0, ERR_INVALID, "changes", NULL);
		free(copy);
	}
	free(buf);
}

/* Every prefix of the Changes payload, re-wrapped in a well-formed Frame:
 * cuts inside nested messages must decode or fail cleanly, naming where. */
static void test_truncated_nested(void **state)
{
	struct sample_changes s;
	const ProtobufCMessage *inner;
	size_t ilen, ok = 0, bad = 0;
	uint8_t *ibuf;

	(void)state;
	sample_changes_init(&s);
	inner = &s.changes.base;
	ilen = protobuf_c_message_get_packed_size(inner);
	ibuf = malloc(ilen);
	assert_non_null(ibuf);
	assert_int_equal(protobuf_c_message_pack(inner, ibuf), ilen);
	for (size_t n = 0; n <= ilen; n++) {
		struct bytes o = { 0 };
		char why[WHY] = "";
		Frame *d = NULL;
		int rc;

		put_len(&o, 3, ibuf, n);
		rc = wire_decode(o.b, o.n, 0, &d, why, sizeof(why));
		if (rc == ERR_OK) {
			assert_non_null(d);
			assert_int_equal(d->body_case,
					 ALLIANCE__V1__FRAME__BODY_CHANGES);
			ok++;
			wire_free(&d);
		} else {
			assert_int_equal(rc, ERR_INVALID);
			assert_null(d);
			assert_true(strncmp(why, "changes", 7) == 0);
			bad++;
		}
		free(o.b);
	}
	/* the whole payload and the empty one decode; most cuts fail */
	assert_true(ok >= 2);
	assert_true(bad > ilen / 2);
	free(ibuf);
}

static void test_malformed(void **state)
{
	static const struct {
		uint8_t b[16];
		size_t n;
		const char *why;
	} cases[] = {
		{ { 0x80 }, 1, "frame: truncated varint" },
		{ { 0x02, 0x00 }, 2, "frame: field number 0" },
		{ { 0x80, 0x80, 0x80, 0x80, 0x10, 0x00 }, 6,
		  "frame: field number over" },
		{ { 0x0a, 0x05, 0x01 }, 3, "hello: length past the end" },
		{ { 0x0a }, 1, "hello: truncated length" },
		{ { 0x0f }, 1, "hello: invalid wire type" },
		{ { 0x0b, 0x0c }, 2, "hello: group wire type" },
		{ { 0x08, 0x01 }, 2, "hello: wrong wire type" },
		{ { 0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		    0x80, 0x80, 0x01 }, 12, "hello: varint over 64 bits" },
		{ { 0x0a, 0x02, 0x2a, 0x00 }, 4,
		  "hello.down_cursor: wrong wire type" },
		{ { 0x0a, 0x02, 0x12, 0x05 }, 4,
		  "hello.community: length past the end" },
		{ { 0x0a, 0x02, 0x28, 0x80 }, 4,
		  "hello.down_cursor: truncated varint" },
		{ { 0x91, 0x03, 0x01, 0x02, 0x03 }, 5,
		  "#50: truncated fixed64" },
		{ { 0x0a, 0x03, 0x95, 0x03, 0x01 }, 5,
		  "hello.#50: truncated fixed32" },
		{ { 0x1a, 0x04, 0x0a, 0x02, 0x10, 0x01 }, 6,
		  "changes.changes[0].origin: wrong wire type" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_fail(cases[i].b, cases[i].n, 0, ERR_INVALID,
			    cases[i].why, NULL);
}

static void test_oversize(void **state)
{
	Alliance__V1__Hello h;
	Frame f = hello_frame(&h);
	uint8_t *big;
	size_t len;
	uint8_t *buf;
	Frame *d = NULL;
	char why[WHY];

	(void)state;
	buf = encode(&f, &len);
	expect_fail(buf, len, len - 1, ERR_TOOBIG, "over the limit", NULL);
	assert_int_equal(wire_decode(buf, len, len, &d, why, sizeof(why)),
			 ERR_OK);  /* exactly the limit is fine */
	wire_free(&d);
	free(buf);

	/* max_len 0 means LIMIT_FRAME_BYTES: one more byte is refused before
	 * any is read; exactly the limit is read (and is zeros: field 0) */
	big = calloc(1, LIMIT_FRAME_BYTES + 1);
	assert_non_null(big);
	expect_fail(big, LIMIT_FRAME_BYTES + 1, 0, ERR_TOOBIG,
		    "over the limit", NULL);
	expect_fail(big, LIMIT_FRAME_BYTES, 0, ERR_INVALID, "field number 0",
		    NULL);
	free(big);
}

/* ---- strings ----------------------------------------------------------------- */

static void test_utf8_top_level(void **state)
{
	Alliance__V1__Hello h;
	Frame f = hello_frame(&h);
	Alliance__V1__Error e = ALLIANCE__V1__ERROR__INIT;

	(void)state;
	h.software_version = "0.1\xff";
	expect_frame_fail(&f, ERR_INVALID,
			  "hello.software_version: invalid UTF-8", NULL);
	h.software_version = "\xed\xa0\x80"; /* a surrogate */
	expect_frame_fail(&f, ERR_INVALID,
			  "hello.software_version: invalid UTF-8", NULL);

	e.message = "\xc0\xaf";             /* overlong '/' */
	f.body_case = ALLIANCE__V1__FRAME__BODY_ERROR;
	f.error = &e;
	expect_frame_fail(&f, ERR_INVALID, "error.message: invalid UTF-8",
			  NULL);
}

static void test_utf8_nested(void **state)
{
	struct sample_changes s;

	(void)state;
	sample_changes_init(&s);
	s.announcement.body = "ok\xf4\x90\x80\x80"; /* over U+10FFFF */
	expect_frame_fail(&s.frame, ERR_INVALID,
			  "changes.changes[1].announcement.body: invalid UTF-8",
			  NULL);

	sample_changes_init(&s);
	s.languages[1] = "e\xe4\xb8";                 /* truncated */
	expect_frame_fail(&s.frame, ERR_INVALID,
			  "changes.changes[0].service.languages[1]: "
			  "invalid UTF-8", NULL);
}

/* hello.community "bad\0id", crafted by hand: protobuf-c would truncate it
 * to "bad" after unpack, so only the raw walk can see it. */
static void test_nul_in_identifier(void **state)
{
	struct bytes hello = { 0 }, frame = { 0 };

	(void)state;
	put_len(&hello, 2, "bad\0id", 6);
	put_len(&frame, 1, hello.b, hello.n);
	expect_fail(frame.b, frame.n, 0, ERR_INVALID,
		    "hello.community: embedded NUL", NULL);
	free(hello.b);
	free(frame.b);
}

/* changes.changes[3].id with a NUL: encode "bad#id" and patch the byte. */
static void test_nul_nested(void **state)
{
	struct sample_changes s;
	Alliance__V1__Change more[2], *cp[5];
	uint8_t *buf, *hash;
	size_t len;

	(void)state;
	sample_changes_init(&s);
	more[0] = s.c[2];
	more[1] = s.c[2];
	more[1].id = "bad#id";
	memcpy(cp, s.cp, sizeof(s.cp));
	cp[3] = &more[1];
	cp[4] = &more[0];
	s.changes.changes = cp;
	s.changes.n_changes = 5;
	buf = encode(&s.frame, &len);
	hash = memmem(buf, len, "bad#id", 6);
	assert_non_null(hash);
	hash[3] = '\0';
	expect_fail(buf, len, 0, ERR_INVALID, "changes.changes[3].id: "
		    "embedded NUL", NULL);
	free(buf);
}

/* ---- newer peers ------------------------------------------------------------- */

/* Unknown fields (a newer peer's) are tolerated, unread, and kept: the
 * frame re-encodes to the same bytes. */
static void test_unknown_field(void **state)
{
	struct bytes hello = { 0 }, frame = { 0 };
	uint8_t *out;
	size_t len;
	Frame *d;

	(void)state;
	put_tag(&hello, 1, 0);
	put_varint(&hello, 1);
	put_len(&hello, 2, "north-gate", 10);
	put_tag(&hello, 50, 0);
	put_varint(&hello, 123456789);
	/* not text to us, so not checked: */
	put_len(&hello, 51, "\xff\x00\xfe", 3);
	put_tag(&hello, 52, 5);
	put_raw(&hello, "\x01\x02\x03\x04", 4);
	put_len(&frame, 1, hello.b, hello.n);

	d = decode_ok(frame.b, frame.n);
	assert_int_equal(d->body_case, ALLIANCE__V1__FRAME__BODY_HELLO);
	assert_string_equal(d->hello->community, "north-gate");
	assert_int_equal(d->hello->protocol_version, 1);
	assert_int_equal(d->hello->base.n_unknown_fields, 3);
	assert_int_equal(wire_encode(d, 0, &out, &len), ERR_OK);
	assert_int_equal(len, frame.n);
	assert_memory_equal(out, frame.b, len);
	free(out);
	wire_free(&d);
	free(hello.b);
	free(frame.b);
}

/* An unknown field inside a nested Change is skipped too. */
static void test_unknown_field_nested(void **state)
{
	struct bytes change = { 0 }, changes = { 0 }, frame = { 0 };
	Frame *d;

	(void)state;
	put_len(&change, 2, "north-gate", 10);
	put_tag(&change, 3, 0);
	put_varint(&change, ALLIANCE__V1__KIND__KIND_SERVICE);
	put_len(&change, 4, "svc-1", 5);
	put_len(&change, 99, "\x80 a newer body", 14);
	put_len(&changes, 1, change.b, change.n);
	put_len(&frame, 3, changes.b, changes.n);

	d = decode_ok(frame.b, frame.n);
	assert_int_equal(d->changes->n_changes, 1);
	assert_string_equal(d->changes->changes[0]->id, "svc-1");
	assert_int_equal(d->changes->changes[0]->body_case,
			 ALLIANCE__V1__CHANGE__BODY__NOT_SET);
	assert_int_equal(d->changes->changes[0]->base.n_unknown_fields, 1);
	wire_free(&d);
	free(change.b);
	free(changes.b);
	free(frame.b);
}

/* Frame field 99, a body this schema does not know: decodes as NOT_SET so
 * the caller can answer ERROR_UNKNOWN_BODY. */
static void test_unknown_body(void **state)
{
	struct bytes body = { 0 }, frame = { 0 };
	Frame *d;

	(void)state;
	put_len(&body, 1, "poll-7", 6);
	put_len(&frame, 99, body.b, body.n);
	d = decode_ok(frame.b, frame.n);
	assert_int_equal(d->body_case, ALLIANCE__V1__FRAME__BODY__NOT_SET);
	assert_string_equal(wire_body_name(d), "none");
	assert_int_equal(d->base.n_unknown_fields, 1);
	wire_free(&d);
	free(body.b);
	free(frame.b);
}

/* ---- the allocation budget ------------------------------------------------------ */

/* frame_of_empty_changes: a Changes frame of n empty Change messages (two
 * bytes each on the wire, ~90 bytes each once unpacked). */
static struct bytes frame_of_empty_changes(size_t n)
{
	struct bytes changes = { 0 }, frame = { 0 };

	for (size_t i = 0; i < n; i++)
		put_len(&changes, 1, "", 0);
	put_len(&frame, 3, changes.b, changes.n);
	free(changes.b);
	return frame;
}

static void test_budget_exhausted(void **state)
{
	struct bytes frame = frame_of_empty_changes(200000);

	(void)state;
	/* ~400 KB: under the frame limit, far over the heap budget */
	assert_true(frame.n < LIMIT_FRAME_BYTES);
	expect_fail(frame.b, frame.n, 16u * LIMIT_FRAME_BYTES, ERR_TOOBIG,
		    "allocation budget exceeded", NULL);
	expect_fail(frame.b, frame.n, 0, ERR_TOOBIG,
		    "allocation budget exceeded", NULL);
	free(frame.b);
}

/* The same shape, small: it unpacks, and then fails the identifier check,
 * so the budget is what refused the big one. */
static void test_budget_small_unpacks(void **state)
{
	struct bytes frame = frame_of_empty_changes(1000);

	(void)state;
	expect_fail(frame.b, frame.n, 0, ERR_INVALID,
		    "changes.changes[0].origin: not a valid community id",
		    NULL);
	free(frame.b);
}

/* ---- identifiers -------------------------------------------------------------- */

static void test_bad_community(void **state)
{
	Alliance__V1__Hello h;
	Frame f = hello_frame(&h);
	struct sample_changes s;

	(void)state;
	h.community = "North_Gate";
	expect_frame_fail(&f, ERR_INVALID,
			  "hello.community: not a valid community id", NULL);
	h.community = "";
	expect_frame_fail(&f, ERR_INVALID, "hello.community", NULL);
	h.community = "-ab";
	expect_frame_fail(&f, ERR_INVALID, "hello.community", NULL);

	sample_changes_init(&s);
	s.c[1].origin = "x";
	expect_frame_fail(&s.frame, ERR_INVALID,
			  "changes.changes[1].origin: not a valid community id",
			  NULL);
}

static void test_bad_record_id(void **state)
{
	struct sample_changes s;
	Alliance__V1__BulletinAck a = ALLIANCE__V1__BULLETIN_ACK__INIT;
	Frame f = ALLIANCE__V1__FRAME__INIT;
	char longid[LIMIT_RECORD_ID + 2];

	(void)state;
	sample_changes_init(&s);
	s.c[2].id = "svc old";
	expect_frame_fail(&s.frame, ERR_INVALID,
			  "changes.changes[2].id: not a valid record id",
			  NULL);
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	s.c[2].id = longid;
	expect_frame_fail(&s.frame, ERR_INVALID, "changes.changes[2].id",
			  NULL);
	s.c[2].id = "";
	expect_frame_fail(&s.frame, ERR_INVALID, "changes.changes[2].id",
			  NULL);

	sample_changes_init(&s);
	s.c[0].kind = ALLIANCE__V1__KIND__KIND_UNSPECIFIED;
	expect_frame_fail(&s.frame, ERR_INVALID,
			  "changes.changes[0].kind: unspecified", NULL);

	f.body_case = ALLIANCE__V1__FRAME__BODY_BULLETIN_ACK;
	f.bulletin_ack = &a;
	a.id = "../etc";
	expect_frame_fail(&f, ERR_INVALID,
			  "bulletin_ack.id: not a valid record id", NULL);
	a.id = "";
	expect_frame_fail(&f, ERR_INVALID, "bulletin_ack.id", NULL);
}

static void test_bad_bulletin(void **state)
{
	Alliance__V1__Bulletin b = ALLIANCE__V1__BULLETIN__INIT;
	Frame f = ALLIANCE__V1__FRAME__INIT;
	uint8_t byte = 1;

	(void)state;
	f.body_case = ALLIANCE__V1__FRAME__BODY_BULLETIN;
	f.bulletin = &b;
	b.signature.data = &byte;
	b.signature.len = 1;
	expect_frame_fail(&f, ERR_INVALID, "bulletin.signed_content: empty",
			  NULL);
	b.signed_content = b.signature;
	b.signature.len = 0;
	expect_frame_fail(&f, ERR_INVALID, "bulletin.signature: empty", NULL);
}

/* ---- encoding ---------------------------------------------------------------- */

static void test_encode_limits(void **state)
{
	Alliance__V1__Error e = ALLIANCE__V1__ERROR__INIT;
	Frame f = ALLIANCE__V1__FRAME__INIT;
	char *huge = malloc(LIMIT_FRAME_BYTES + 1);
	uint8_t *out = (uint8_t *)(uintptr_t)1;
	size_t len = 1;

	(void)state;
	assert_non_null(huge);
	memset(huge, 'x', LIMIT_FRAME_BYTES);
	huge[LIMIT_FRAME_BYTES] = '\0';
	e.message = huge;
	f.body_case = ALLIANCE__V1__FRAME__BODY_ERROR;
	f.error = &e;
	assert_int_equal(wire_encode(&f, 16, &out, &len), ERR_TOOBIG);
	assert_null(out);
	assert_int_equal(len, 0);
	free(huge);

	assert_int_equal(wire_encode(NULL, 0, &out, &len), ERR_INVALID);
	assert_null(out);

	f.body_case = ALLIANCE__V1__FRAME__BODY__NOT_SET; /* an empty frame */
	assert_int_equal(wire_encode(&f, 0, &out, &len), ERR_OK);
	assert_non_null(out);
	assert_int_equal(len, 0);
	free(out);
}

static void test_err_name(void **state)
{
	(void)state;
	assert_string_equal(err_name(ERR_OK), "ok");
	assert_string_equal(err_name(ERR_INVALID), "invalid");
	assert_string_equal(err_name(ERR_TOOBIG), "toobig");
	assert_string_equal(err_name(ERR_AGAIN), "again");
	assert_string_equal(err_name(-100), "unknown");
}

/* lws 4.1.6's client hears 1013 as 1002: the reason tells it back; a
 * real 1002 and every other code stay */
static void test_close_heard(void **state)
{
	(void)state;
	assert_int_equal(wire_close_heard(1002, WIRE_TRY_AGAIN_REASON
					  ": the database is away"),
			 WIRE_CLOSE_TRY_AGAIN);
	assert_int_equal(wire_close_heard(1002, "bad frame"), 1002);
	assert_int_equal(wire_close_heard(1002, ""), 1002);
	assert_int_equal(wire_close_heard(1002, NULL), 1002);
	assert_int_equal(wire_close_heard(4409, WIRE_TRY_AGAIN_REASON), 4409);
	assert_int_equal(wire_close_heard(1011, "try"), 1011);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_heard),
		cmocka_unit_test(test_roundtrip_hello),
		cmocka_unit_test(test_hello_marks),
		cmocka_unit_test(test_store_behind),
		cmocka_unit_test(test_roundtrip_welcome),
		cmocka_unit_test(test_roundtrip_changes),
		cmocka_unit_test(test_roundtrip_ack),
		cmocka_unit_test(test_roundtrip_bulletin),
		cmocka_unit_test(test_roundtrip_bulletin_ack),
		cmocka_unit_test(test_roundtrip_error),
		cmocka_unit_test(test_empty_frame),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_truncated_nested),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_utf8_top_level),
		cmocka_unit_test(test_utf8_nested),
		cmocka_unit_test(test_nul_in_identifier),
		cmocka_unit_test(test_nul_nested),
		cmocka_unit_test(test_unknown_field),
		cmocka_unit_test(test_unknown_field_nested),
		cmocka_unit_test(test_unknown_body),
		cmocka_unit_test(test_budget_exhausted),
		cmocka_unit_test(test_budget_small_unpacks),
		cmocka_unit_test(test_bad_community),
		cmocka_unit_test(test_bad_record_id),
		cmocka_unit_test(test_bad_bulletin),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_err_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
