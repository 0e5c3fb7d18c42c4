/* test_relay.c: unit tests of lib/relay.c (relayed records' rules).
 *
 * Parts: requests; new requests (scoped ids, the POST's rules); services
 * that take requests; erasure; statuses; polls; tallies; keys and packing;
 * preferred times; outcomes; polls from JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "alliance_limits.h"
#include "relay.h"

static char why[200];

static Change change(int kind, const char *id)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;

	ch.origin = (char *)"c1";
	ch.kind = kind;
	ch.id = (char *)id;
	ch.version = 5;
	return ch;
}

static void test_request(void **state)
{
	Change ch = change(ALLIANCE__V1__KIND__KIND_REQUEST, "abc");
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	char big[RELAY_DESCRIPTION_MAX + 2];

	(void)state;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	ch.request = &r;
	r.owner = (char *)"c2";
	r.service_id = (char *)"hair";
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r.description = big;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	assert_non_null(strstr(why, "description"));
	/* the limit is in characters (Open311's 4,000), not bytes */
	{
		char *zh = malloc(3 * (RELAY_DESCRIPTION_MAX + 1) + 1);

		assert_non_null(zh);
		for (int i = 0; i <= RELAY_DESCRIPTION_MAX; i++)
			memcpy(zh + 3 * i, "\xe8\xaf\xb7", 3);   /* 请 */
		zh[3 * RELAY_DESCRIPTION_MAX] = '\0';
		r.description = zh;
		assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
		zh[3 * RELAY_DESCRIPTION_MAX] = '\xe8';
		zh[3 * (RELAY_DESCRIPTION_MAX + 1)] = '\0';
		assert_int_equal(relay_check(&ch, why, sizeof(why)),
				 ERR_INVALID);
		assert_non_null(strstr(why, "4000 characters"));
		free(zh);
	}
	r.description = (char *)"ok";
	r.owner = (char *)"Not An Id";
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	r.owner = (char *)"c2";
	r.phone = (char *)"1\n2";
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	r.phone = (char *)"";
	r.relative_phone = big;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	assert_non_null(strstr(why, "relative_phone"));
	/* a record that would not fit a frame: refused for its size */
	{
		char *huge = malloc(LIMIT_CHANGE_BYTES + 1);

		assert_non_null(huge);
		memset(huge, 'x', LIMIT_CHANGE_BYTES);
		huge[LIMIT_CHANGE_BYTES] = '\0';
		r.relative_phone = (char *)"";
		r.description = huge;
		assert_int_equal(relay_check(&ch, why, sizeof(why)),
				 ERR_INVALID);
		assert_non_null(strstr(why, "bytes one record may take"));
		r.description = (char *)"ok";
		free(huge);
	}
	r.relative_phone = (char *)"13900000042";
	r.preferred = (char *)"2030-01-02 morning, or any day after that";
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	r.preferred = (char *)"2030-01-02 morning";
	r.withdrawn = -1;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	r.withdrawn = 1893585600;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	ch.deleted = 1;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
}

/* A new request: its id in its origin's namespace, its phones and
 * preferred time as a node's Open311 POST takes them. */
static void test_new_request(void **state)
{
	Change ch = change(ALLIANCE__V1__KIND__KIND_REQUEST, "c1");
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	char id[RELAY_REQUEST_ID_MAX + 1], other[RELAY_REQUEST_ID_MAX + 1];
	char longest[LIMIT_COMMUNITY_ID + 1];

	(void)state;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	ch.request = &r;
	r.owner = (char *)"c2";
	r.service_id = (char *)"hair";
	assert_int_equal(relay_request_id("c1", id, sizeof(id)), ERR_OK);
	assert_int_equal(relay_request_id("c1", other, sizeof(other)), ERR_OK);
	assert_string_not_equal(id, other);
	assert_int_equal(strlen(id), 2 + 1 + 16);
	assert_true(relay_request_id_scoped("c1", id));
	assert_false(relay_request_id_scoped("c", id));
	assert_false(relay_request_id_scoped("c1x", id));
	assert_false(relay_request_id_scoped("c1", "c1."));
	assert_false(relay_request_id_scoped("c1", "0123456789abcdef"));
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	assert_int_equal(relay_request_id(longest, id, sizeof(id)), ERR_OK);
	assert_true(relay_request_id_scoped(longest, id));
	assert_int_equal(relay_request_id("c1", id, 10), ERR_FAIL);

	/* a copied bare id, or another community's, is refused */
	ch.id = (char *)"0123456789abcdef";
	assert_int_equal(relay_request_new_check(&ch, why, sizeof(why)),
			 ERR_INVALID);
	ch.id = (char *)"c2.0123456789abcdef";
	assert_int_equal(relay_request_new_check(&ch, why, sizeof(why)),
			 ERR_INVALID);
	ch.id = (char *)"c1.0123456789abcdef";
	assert_int_equal(relay_request_new_check(&ch, why, sizeof(why)),
			 ERR_OK);
	/* what passes relay_check (text) but not the POST's rules */
	r.phone = (char *)"call my son";
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	assert_int_equal(relay_request_new_check(&ch, why, sizeof(why)),
			 ERR_INVALID);
	assert_int_equal(strncmp(why, "phone:", 6), 0);
	r.phone = (char *)"1234";
	assert_int_equal(relay_request_fields_valid(&r, why, sizeof(why)),
			 ERR_INVALID);
	r.phone = (char *)"+86 138-0013-8000";
	assert_int_equal(relay_request_fields_valid(&r, why, sizeof(why)),
			 ERR_OK);
	r.relative_phone = (char *)"13900000042";
	assert_int_equal(relay_request_fields_valid(&r, why, sizeof(why)),
			 ERR_INVALID);
	assert_int_equal(strncmp(why, "relative_name:", 14), 0);
	r.relative_name = (char *)"Li Guilan";
	r.relative_phone = (char *)"ask my son";
	assert_int_equal(relay_request_fields_valid(&r, why, sizeof(why)),
			 ERR_INVALID);
	assert_int_equal(strncmp(why, "relative_phone:", 15), 0);
	r.relative_phone = (char *)"13900000042";
	r.preferred = (char *)"2030-02-31";
	assert_int_equal(relay_request_fields_valid(&r, why, sizeof(why)),
			 ERR_INVALID);
	assert_int_equal(strncmp(why, "preferred:", 10), 0);
	r.preferred = (char *)"2030-02-28 evening";
	assert_int_equal(relay_request_new_check(&ch, why, sizeof(why)),
			 ERR_OK);
}

/* A service takes requests while it is live and not inactive. */
static void test_service_takes_requests(void **state)
{
	Change svc = change(ALLIANCE__V1__KIND__KIND_SERVICE, "hair");
	Alliance__V1__Service s = ALLIANCE__V1__SERVICE__INIT;

	(void)state;
	assert_false(relay_service_takes_requests(NULL));
	svc.body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
	svc.service = &s;
	s.status = (char *)"active";
	assert_true(relay_service_takes_requests(&svc));
	s.status = (char *)"temporarily-closed";
	assert_true(relay_service_takes_requests(&svc));
	s.status = (char *)"inactive";
	assert_false(relay_service_takes_requests(&svc));
	s.status = (char *)"active";
	svc.deleted = 1;
	assert_false(relay_service_takes_requests(&svc));
	svc.deleted = 0;
	svc.service = NULL;
	svc.body_case = ALLIANCE__V1__CHANGE__BODY__NOT_SET;
	assert_false(relay_service_takes_requests(&svc));
}

/* An erased version carries no personal data; relay_request_erase makes
 * one of an unpacked request, and a name's rule is a request's. */
static void test_erasure(void **state)
{
	Change ch = change(ALLIANCE__V1__KIND__KIND_REQUEST, "abc");
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	Change *back;
	uint8_t *buf;
	size_t len;
	char *const *fields[] = { &r.name, &r.phone, &r.email, &r.address,
				  &r.relative_name, &r.relative_phone };

	(void)state;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	ch.request = &r;
	r.owner = (char *)"c2";
	r.service_id = (char *)"hair";
	r.description = (char *)"two windows";
	r.erased = 1;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		*(char **)fields[i] = (char *)"Wang";
		assert_int_equal(relay_check(&ch, why, sizeof(why)),
				 ERR_INVALID);
		assert_non_null(strstr(why, "request.erased"));
		*(char **)fields[i] = (char *)"";
	}
	r.has_location = 1;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);

	/* the erased version of a whole request, as an unpacked one */
	r.erased = 0;
	r.name = (char *)"王秀英";
	r.phone = (char *)"13800138000";
	r.email = (char *)"w@example.org";
	r.address = (char *)"No. 3 Willow Lane";
	r.relative_name = (char *)"王明";
	r.relative_phone = (char *)"13900000042";
	r.lat = 36.06;
	r.lon = 120.38;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	buf = relay_pack(&ch, &len);
	assert_non_null(buf);
	back = relay_unpack(buf, len);
	assert_non_null(back);
	relay_request_erase(back->request);
	assert_true(back->request->erased);
	assert_false(back->request->has_location);
	assert_string_equal(back->request->name, "");
	assert_string_equal(back->request->phone, "");
	assert_string_equal(back->request->email, "");
	assert_string_equal(back->request->address, "");
	assert_string_equal(back->request->relative_name, "");
	assert_string_equal(back->request->relative_phone, "");
	assert_string_equal(back->request->description, "two windows");
	assert_int_equal(relay_check(back, why, sizeof(why)), ERR_OK);
	alliance__v1__change__free_unpacked(back, NULL);
	free(buf);

	assert_true(relay_name_valid(""));
	assert_true(relay_name_valid("王秀英"));
	assert_false(relay_name_valid("a\tb"));
	assert_false(relay_name_valid("\xff\xfe"));
}

static void test_status(void **state)
{
	Change ch = change(ALLIANCE__V1__KIND__KIND_REQUEST_STATUS, "abc");
	Alliance__V1__RequestStatus s = ALLIANCE__V1__REQUEST_STATUS__INIT;

	(void)state;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST_STATUS;
	ch.request_status = &s;
	s.request_origin = (char *)"c2";
	s.status = (char *)"scheduled";
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	s.status = (char *)"open";       /* the owner's receipt */
	s.delivered = 1893585600;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	s.delivered = -1;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	s.delivered = 0;
	s.status = (char *)"finished";
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	assert_true(relay_status_closed("done"));
	assert_true(relay_status_closed("declined"));
	assert_false(relay_status_closed("scheduled"));
}

static void test_poll_and_tally(void **state)
{
	Change ch = change(ALLIANCE__V1__KIND__KIND_POLL, "p1");
	Alliance__V1__Poll p = ALLIANCE__V1__POLL__INIT;
	Alliance__V1__Tally t = ALLIANCE__V1__TALLY__INIT;
	char *opts[] = { (char *)"tree", (char *)"wall", (char *)"tree" };
	uint64_t counts[] = { 1, 2 };

	(void)state;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_POLL;
	ch.poll = &p;
	p.question = (char *)"Plant a tree?";
	p.options = opts;
	p.n_options = 2;
	p.opens = 100;
	p.closes = 200;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	p.n_options = 3;   /* a duplicate */
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	p.n_options = 1;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	p.n_options = 2;
	p.closes = 50;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);

	ch = change(ALLIANCE__V1__KIND__KIND_TALLY, "district.p1");
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_TALLY;
	ch.tally = &t;
	t.poll_origin = (char *)"district";
	t.poll_id = (char *)"p1";
	t.counts = counts;
	t.n_counts = 2;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	ch.id = (char *)"district.p2";   /* id must match the body */
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
}

/* A poll whose lifetime does not fit in 64 bits (a node's Relay frame
 * with opens -2^62 and closes 2^62; fuzz_wire reports the overflow,
 * tests/fuzz/corpus/wire/poll_overflow.bin) is refused, not let through
 * by a difference that wrapped negative. */
static void test_poll_lifetime_overflow(void **state)
{
	Change ch = change(ALLIANCE__V1__KIND__KIND_POLL, "p1");
	Alliance__V1__Poll p = ALLIANCE__V1__POLL__INIT;
	char *opts[] = { (char *)"tree", (char *)"wall" };

	(void)state;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_POLL;
	ch.poll = &p;
	p.question = (char *)"Plant a tree?";
	p.options = opts;
	p.n_options = 2;
	p.opens = -(INT64_C(1) << 62) - 5;
	p.closes = (INT64_C(1) << 62) + 5;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	assert_non_null(strstr(why, "within a year"));
	p.opens = INT64_MIN;
	p.closes = INT64_MAX;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	p.opens = INT64_MAX - RELAY_POLL_LIFETIME_S;
	p.closes = INT64_MAX;   /* a year exactly, however late */
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	p.opens--;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
}

static void test_keys_and_packing(void **state)
{
	char origin[LIMIT_COMMUNITY_ID + 1], id[LIMIT_RECORD_ID + 1];
	Change ch = change(ALLIANCE__V1__KIND__KIND_REQUEST, "abc"), *back;
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	uint8_t *buf;
	size_t len = 0;

	(void)state;
	assert_int_equal(relay_split_key("district.ab12", origin,
					 sizeof(origin), id, sizeof(id)),
			 ERR_OK);
	assert_string_equal(origin, "district");
	assert_string_equal(id, "ab12");
	assert_int_equal(relay_split_key("noDot", origin, sizeof(origin), id,
					 sizeof(id)), ERR_INVALID);
	assert_int_equal(relay_split_key("c1./x", origin, sizeof(origin), id,
					 sizeof(id)), ERR_INVALID);
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	ch.request = &r;
	r.owner = (char *)"c2";
	r.service_id = (char *)"hair";
	r.phone = (char *)"13800138000";
	buf = relay_pack(&ch, &len);
	assert_non_null(buf);
	back = relay_unpack(buf, len);
	assert_non_null(back);
	assert_string_equal(back->request->phone, "13800138000");
	alliance__v1__change__free_unpacked(back, NULL);
	free(buf);
	assert_true(relay_version(UINT64_MAX - 1) == UINT64_MAX);
	assert_true(relay_version(5) > 5);
}

/* A preferred time: a real date and a part of the day, nothing else. */
static void test_preferred(void **state)
{
	int64_t day = -1;

	(void)state;
	assert_true(relay_preferred_valid("", &day));
	assert_true(day == 0);
	assert_true(relay_preferred_valid("2030-01-02", &day));
	assert_true(day == 1893585600);   /* 2030-01-02T12:00:00Z */
	assert_true(relay_preferred_valid("2030-01-02 morning", &day));
	assert_true(relay_preferred_valid("2028-02-29 evening", &day));
	assert_false(relay_preferred_valid("2030-02-31", &day));
	assert_false(relay_preferred_valid("2030-1-02", &day));
	assert_false(relay_preferred_valid("2030-01-02 night", &day));
	assert_false(relay_preferred_valid("2030-01-02T10:00", &day));
	assert_false(relay_preferred_valid("tomorrow", &day));
}

/* The outcome of a closed poll, one rule for hub and node: the most votes
 * wins; a shared most is a tie with no winner; nobody voting is neither. */
static void test_poll_outcome(void **state)
{
	static const struct {
		const char *counts, *want;
	} cases[] = {
		{ "[3, 5, 1]", "{\"winner\": \"b\", \"tie\": false}" },
		{ "[4, 4, 1]", "{\"winner\": null, \"tie\": true}" },
		{ "[1, 4, 4]", "{\"winner\": null, \"tie\": true}" },
		{ "[4, 1, 4]", "{\"winner\": null, \"tie\": true}" },
		{ "[0, 0, 0]", "{\"winner\": null, \"tie\": false}" },
		{ "[0, 0, 2]", "{\"winner\": \"c\", \"tie\": false}" },
		{ "[]", "{\"winner\": null, \"tie\": false}" },
	};
	json_t *opts = json_pack("[s, s, s]", "a", "b", "c");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *counts = json_loads(cases[i].counts, 0, NULL);
		json_t *want = json_loads(cases[i].want, 0, NULL);
		json_t *got = relay_poll_outcome(counts, opts);

		assert_non_null(got);
		assert_true(json_equal(got, want));
		json_decref(counts);
		json_decref(want);
		json_decref(got);
	}
	json_decref(opts);
}

/* A community's check-in counts: each bounded (none wraps negative at the
 * hub, no sum over the communities overflows), with its own body. */
static void test_checkin_counts(void **state)
{
	Change ch = change(ALLIANCE__V1__KIND__KIND_CHECKIN, "b-1");
	Alliance__V1__CheckInCounts k = ALLIANCE__V1__CHECK_IN_COUNTS__INIT;

	(void)state;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_CHECKIN;
	ch.checkin = &k;
	k.confirmed = RELAY_CHECKIN_COUNT_MAX;
	k.not_yet = 3;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_OK);
	k.anonymous_help = RELAY_CHECKIN_COUNT_MAX + 1;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	assert_non_null(strstr(why, "checkin"));
	k.anonymous_help = UINT64_MAX;  /* -1 as a signed count */
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	k.anonymous_help = 0;
	k.updated = -1;
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
	k.updated = 0;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_TALLY;  /* not its body */
	assert_int_equal(relay_check(&ch, why, sizeof(why)), ERR_INVALID);
}

/* A tally's counts are bounded one by one and in all, so none wraps
 * negative as a signed number and no sum of them leaves 64 bits. */
static void test_tally_bounded(void **state)
{
	Alliance__V1__Tally t = ALLIANCE__V1__TALLY__INIT;
	uint64_t c[3] = { 0, RELAY_VOTES_MAX, 0 };

	(void)state;
	t.counts = c;
	t.n_counts = 3;
	assert_true(relay_tally_bounded(&t, why, sizeof(why)));
	c[0] = 1;               /* each within, the sum over */
	assert_false(relay_tally_bounded(&t, why, sizeof(why)));
	assert_non_null(strstr(why, "in all"));
	c[0] = 0;
	c[2] = UINT64_MAX;      /* -1 as a signed count */
	assert_false(relay_tally_bounded(&t, why, sizeof(why)));
	assert_non_null(strstr(why, "counts[2]"));
	c[1] = UINT64_MAX / 2 + 1;   /* two that wrap to a small sum */
	c[2] = UINT64_MAX / 2 + 1;
	assert_false(relay_tally_bounded(&t, why, sizeof(why)));
	t.n_counts = 0;
	assert_true(relay_tally_bounded(&t, why, sizeof(why)));
}

/* A poll is final RELAY_TALLY_GRACE_S after it closes, not before. */
static void test_poll_final(void **state)
{
	(void)state;
	assert_false(relay_poll_final(1000, 999));
	assert_false(relay_poll_final(1000, 1000));
	assert_false(relay_poll_final(1000, 1000 + RELAY_TALLY_GRACE_S - 1));
	assert_true(relay_poll_final(1000, 1000 + RELAY_TALLY_GRACE_S));
}


/* Packed in parts: the whole comes back whole, the first part alone the
 * request without its personal data, the rest of it intact; a record
 * of another kind has no second part; bytes that are not parts are
 * refused. */
static void test_pack_parts(void **state)
{
	Change ch = change(ALLIANCE__V1__KIND__KIND_REQUEST, "c1.abc");
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	Alliance__V1__RequestStatus rs = ALLIANCE__V1__REQUEST_STATUS__INIT;
	Change *back;
	uint8_t *buf, *t;
	size_t len, kept, tlen, tkept;

	(void)state;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	ch.request = &r;
	r.owner = (char *)"c2";
	r.service_id = (char *)"s1";
	r.description = (char *)"two windows";
	r.name = (char *)"Wang Xiuying";
	r.phone = (char *)"13800138000";
	r.address = (char *)"No. 3 Willow Lane";
	r.relative_name = (char *)"Wang Ming";
	r.relative_phone = (char *)"13900000042";
	r.has_location = 1;
	r.lat = 36.06;
	r.requested = 1700000000;
	buf = relay_pack_parts(&ch, &len, &kept);
	assert_non_null(buf);
	assert_true(kept < len);
	assert_int_equal(relay_parts_kept(buf, len), kept);
	assert_int_equal(relay_parts_kept(buf, kept), kept);
	back = relay_unpack_parts(buf, len);
	assert_non_null(back);
	assert_string_equal(back->id, "c1.abc");
	assert_string_equal(back->request->name, "Wang Xiuying");
	assert_string_equal(back->request->phone, "13800138000");
	assert_string_equal(back->request->address, "No. 3 Willow Lane");
	assert_string_equal(back->request->relative_phone, "13900000042");
	assert_true(back->request->has_location);
	assert_string_equal(back->request->owner, "c2");
	alliance__v1__change__free_unpacked(back, NULL);
	/* the first part alone: no personal byte in it */
	assert_null(memmem(buf, kept, "Wang", 4));
	assert_null(memmem(buf, kept, "13800138000", 11));
	assert_null(memmem(buf, kept, "Willow", 6));
	back = relay_unpack_parts(buf, kept);
	assert_non_null(back);
	assert_string_equal(back->request->name, "");
	assert_string_equal(back->request->phone, "");
	assert_string_equal(back->request->relative_name, "");
	assert_false(back->request->has_location);
	assert_string_equal(back->request->description, "two windows");
	assert_string_equal(back->request->service_id, "s1");
	assert_int_equal(back->request->requested, 1700000000);
	alliance__v1__change__free_unpacked(back, NULL);
	/* not parts: too short, a length past the end */
	assert_null(relay_unpack_parts(buf, 3));
	assert_int_equal(relay_parts_kept(buf, 3), 0);
	buf[0] = 0xff;
	assert_null(relay_unpack_parts(buf, len));
	assert_int_equal(relay_parts_kept(buf, len), 0);
	free(buf);

	/* a status: one part */
	ch = change(ALLIANCE__V1__KIND__KIND_REQUEST_STATUS, "c1.abc");
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST_STATUS;
	ch.request_status = &rs;
	rs.request_origin = (char *)"c1";
	rs.status = (char *)"done";
	t = relay_pack_parts(&ch, &tlen, &tkept);
	assert_non_null(t);
	assert_int_equal(tlen, tkept);
	back = relay_unpack_parts(t, tlen);
	assert_non_null(back);
	assert_string_equal(back->request_status->status, "done");
	alliance__v1__change__free_unpacked(back, NULL);
	free(t);
}

/* relay_poll_from_json: the operator's poll with its area (hub), a
 * manager's without (node: "area" not read); each wrong shape refused
 * naming the field. */
static void test_poll_from_json(void **state)
{
	static const struct {
		const char *json;
		int with_area, rc;
		const char *why;
	} cases[] = {
		{ "{\"question\":\"Q?\",\"options\":[\"a\",\"b\"],"
		  "\"closes\":2000000000,\"area\":[\"c1\",\"c2\"]}", 1, ERR_OK,
		  NULL },
		{ "{\"question\":\"Q?\",\"options\":[\"a\",\"b\"],"
		  "\"closes\":\"2033-05-18T03:33:20Z\",\"area\":7}", 0, ERR_OK,
		  NULL },
		{ "{\"question\":\"Q?\",\"options\":[\"a\",\"b\"],"
		  "\"closes\":1,\"area\":7}", 1, ERR_INVALID, "area:" },
		{ "{\"options\":[\"a\",\"b\"],\"closes\":1}", 0, ERR_INVALID,
		  "question:" },
		{ "{\"question\":\"Q?\",\"options\":[\"a\",3],\"closes\":1}",
		  0, ERR_INVALID, "options[1]:" },
		{ "{\"question\":\"Q?\",\"options\":[\"a\",\"b\"],"
		  "\"closes\":\"soon\"}", 0, ERR_INVALID, "closes:" },
		{ "{\"question\":\"Q?\",\"options\":[\"a\",\"b\"],"
		  "\"closes\":1,\"area\":[\"c1\",null]}", 1, ERR_INVALID,
		  "area[1]:" },
	};
	const char *opts[RELAY_OPTIONS_MAX], *area[RELAY_AREA_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Alliance__V1__Poll p = ALLIANCE__V1__POLL__INIT;
		json_t *in = json_loads(cases[i].json, 0, NULL);
		int rc;

		assert_non_null(in);
		why[0] = '\0';
		rc = relay_poll_from_json(in, &p, opts,
					  cases[i].with_area ? area : NULL,
					  why, sizeof(why));
		assert_int_equal(rc, cases[i].rc);
		if (cases[i].why) {
			assert_non_null(strstr(why, cases[i].why));
		} else {
			assert_string_equal(p.question, "Q?");
			assert_int_equal(p.n_options, 2);
			assert_int_equal(p.closes, 2000000000);
			assert_true(p.opens > 0 && p.opens <= clock_now());
			assert_int_equal(p.n_area, cases[i].with_area ? 2 : 0);
		}
		json_decref(in);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_new_request),
		cmocka_unit_test(test_service_takes_requests),
		cmocka_unit_test(test_erasure),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_poll_and_tally),
		cmocka_unit_test(test_keys_and_packing),
		cmocka_unit_test(test_preferred),
		cmocka_unit_test(test_poll_outcome),
		cmocka_unit_test(test_tally_bounded),
		cmocka_unit_test(test_checkin_counts),
		cmocka_unit_test(test_poll_final),
		cmocka_unit_test(test_poll_lifetime_overflow),
		cmocka_unit_test(test_pack_parts),
		cmocka_unit_test(test_poll_from_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
