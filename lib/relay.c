/* relay.c: rules, packing and versions of relayed records (see relay.h).
 *
 * Parts: statuses; text fields; relay_check by kind; new requests;
 * erasure; keys; packing; versions and ids; polls in a store; polls from
 * JSON. */
#include <inttypes.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "alliance_limits.h"
#include "relay.h"
#include "store_stmt.h"
#include "text.h"

/* ---- statuses ------------------------------------------------------------- */

static const char *const statuses[] = {
	"open", "acknowledged", "scheduled", "done", "declined",
};

int relay_status_valid(const char *s)
{
	for (size_t i = 0; s && i < sizeof(statuses) / sizeof(*statuses); i++)
		if (strcmp(s, statuses[i]) == 0)
			return 1;
	return 0;
}

int relay_status_closed(const char *s)
{
	return s && (strcmp(s, "done") == 0 || strcmp(s, "declined") == 0);
}

int relay_preferred_valid(const char *s, int64_t *day)
{
	static const char *const parts[] = { "", " morning", " afternoon",
					     " evening" };
	char iso[32];

	*day = 0;
	if (!s || !*s)
		return 1;
	if (strlen(s) < 10 || strlen(s) > RELAY_PREFERRED_MAX)
		return 0;
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : !(s[i] >= '0' &&
						       s[i] <= '9'))
			return 0;
	snprintf(iso, sizeof(iso), "%.10sT12:00:00Z", s);
	if (clock_parse_rfc3339(iso, day) != ERR_OK ||
	    strncmp(clock_rfc3339(*day, iso, sizeof(iso)), s, 10) != 0)
		return 0;      /* not a real date: 2030-02-31 rolls over */
	for (size_t i = 0; i < sizeof(parts) / sizeof(*parts); i++)
		if (strcmp(s + 10, parts[i]) == 0)
			return 1;
	return 0;
}

/* ---- text fields ------------------------------------------------------------ */

#define FAIL(...) (snprintf(why, whylen, __VA_ARGS__), ERR_INVALID)

/* text_ok: s is UTF-8 of at most max bytes without control characters
 * (newlines allowed when lines is set); NULL counts as empty. */
static int text_ok(const char *s, size_t max, int lines)
{
	size_t len = s ? strlen(s) : 0;

	if (len > max || (len && !text_utf8_valid(s, len)))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && !(lines && (c == '\n' || c == '\r' ||
					     c == '\t'))) || c == 0x7f)
			return 0;
	}
	return 1;
}

int relay_name_valid(const char *s)
{
	return text_ok(s, RELAY_NAME_MAX, 0);
}

/* ---- relay_check ---------------------------------------------------------- */

static int check_request(const Alliance__V1__Request *r, char *why,
			 size_t whylen)
{
	if (!text_community_valid(r->owner))
		return FAIL("request.owner: not a community id");
	if (!text_record_id_valid(r->service_id))
		return FAIL("request.service_id: not a record id");
	if (!text_ok(r->description, RELAY_DESCRIPTION_BYTES, 1) ||
	    (r->description &&
	     text_utf8_chars(r->description) > RELAY_DESCRIPTION_MAX))
		return FAIL("request.description: over %d characters or not "
			    "text", RELAY_DESCRIPTION_MAX);
	if (!text_ok(r->name, RELAY_NAME_MAX, 0))
		return FAIL("request.name: over %d bytes or not text",
			    RELAY_NAME_MAX);
	if (!text_ok(r->phone, RELAY_PHONE_MAX, 0))
		return FAIL("request.phone: over %d bytes or not text",
			    RELAY_PHONE_MAX);
	if (!text_ok(r->email, RELAY_EMAIL_MAX, 0))
		return FAIL("request.email: over %d bytes or not text",
			    RELAY_EMAIL_MAX);
	if (!text_ok(r->address, RELAY_ADDRESS_MAX, 0))
		return FAIL("request.address: over %d bytes or not text",
			    RELAY_ADDRESS_MAX);
	if (!text_ok(r->relative_name, RELAY_NAME_MAX, 0))
		return FAIL("request.relative_name: over %d bytes or not text",
			    RELAY_NAME_MAX);
	if (!text_ok(r->relative_phone, RELAY_PHONE_MAX, 0))
		return FAIL("request.relative_phone: over %d bytes or not "
			    "text", RELAY_PHONE_MAX);
	if (!text_ok(r->preferred, RELAY_PREFERRED_MAX, 0))
		return FAIL("request.preferred: over %d bytes or not text",
			    RELAY_PREFERRED_MAX);
	if (r->withdrawn < 0)
		return FAIL("request.withdrawn: negative");
	if (r->has_location && !(r->lat >= -90 && r->lat <= 90 &&
				 r->lon >= -180 && r->lon <= 180))
		return FAIL("request.lat/lon: out of range");
	if (r->erased && (r->has_location || (r->name && *r->name) ||
			  (r->phone && *r->phone) || (r->email && *r->email) ||
			  (r->address && *r->address) ||
			  (r->relative_name && *r->relative_name) ||
			  (r->relative_phone && *r->relative_phone)))
		return FAIL("request.erased: an erased request carries no "
			    "personal data");
	return ERR_OK;
}

static int check_status(const Alliance__V1__RequestStatus *st, char *why,
			size_t whylen)
{
	if (!text_community_valid(st->request_origin))
		return FAIL("request_status.request_origin: not a community "
			    "id");
	if (!relay_status_valid(st->status))
		return FAIL("request_status.status: '%.40s' is not a status",
			    st->status ? st->status : "");
	if (!text_ok(st->notes, RELAY_NOTES_MAX, 1))
		return FAIL("request_status.notes: over %d bytes or not text",
			    RELAY_NOTES_MAX);
	if (st->scheduled < 0 || st->delivered < 0)
		return FAIL("request_status.scheduled/delivered: negative");
	return ERR_OK;
}

static int check_poll(const Alliance__V1__Poll *p, char *why, size_t whylen)
{
	if (!p->question || !p->question[0] ||
	    !text_ok(p->question, RELAY_QUESTION_MAX, 1))
		return FAIL("poll.question: 1 to %d bytes of text",
			    RELAY_QUESTION_MAX);
	if (p->n_options < RELAY_OPTIONS_MIN ||
	    p->n_options > RELAY_OPTIONS_MAX)
		return FAIL("poll.options: %d to %d options",
			    RELAY_OPTIONS_MIN, RELAY_OPTIONS_MAX);
	for (size_t i = 0; i < p->n_options; i++) {
		if (!p->options[i][0] ||
		    !text_ok(p->options[i], RELAY_OPTION_MAX, 0))
			return FAIL("poll.options[%zu]: 1 to %d bytes of text",
				    i, RELAY_OPTION_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->options[i], p->options[j]) == 0)
				return FAIL("poll.options[%zu]: a duplicate",
					    i);
	}
	/* closes > opens first: then their difference fits unsigned,
	 * where a signed one could overflow (and wrap past the bound) */
	if (p->closes <= p->opens ||
	    (uint64_t)p->closes - (uint64_t)p->opens > RELAY_POLL_LIFETIME_S)
		return FAIL("poll.closes: after opens, within a year");
	if (p->n_area > RELAY_AREA_MAX)
		return FAIL("poll.area: more than %d communities",
			    RELAY_AREA_MAX);
	for (size_t i = 0; i < p->n_area; i++)
		if (!text_community_valid(p->area[i]))
			return FAIL("poll.area[%zu]: not a community id", i);
	return ERR_OK;
}

static int check_tally(const Change *ch, char *why, size_t whylen)
{
	const Alliance__V1__Tally *t = ch->tally;
	char id[LIMIT_RECORD_ID + 1];

	if (!text_community_valid(t->poll_origin) ||
	    !text_record_id_valid(t->poll_id))
		return FAIL("tally.poll_origin/poll_id: not valid ids");
	if (relay_tally_id(t->poll_origin, t->poll_id, id, sizeof(id)) ||
	    strcmp(id, ch->id) != 0)
		return FAIL("tally: id is not POLL_ORIGIN.POLL_ID");
	if (t->n_counts > RELAY_OPTIONS_MAX)
		return FAIL("tally.counts: more than %d", RELAY_OPTIONS_MAX);
	return ERR_OK;
}

static int check_checkin(const Alliance__V1__CheckInCounts *k, char *why,
			 size_t whylen)
{
	const uint64_t n[] = { k->confirmed, k->not_yet, k->needs_help,
			       k->anonymous_safe, k->anonymous_help };

	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		if (n[i] > RELAY_CHECKIN_COUNT_MAX)
			return FAIL("checkin: a count over %d",
				    RELAY_CHECKIN_COUNT_MAX);
	if (k->updated < 0)
		return FAIL("checkin.updated: negative");
	return ERR_OK;
}

int relay_check(const Change *ch, char *why, size_t whylen)
{
	if (!text_community_valid(ch->origin) ||
	    !text_record_id_valid(ch->id))
		return FAIL("change: origin or id not valid");
	if (ch->deleted)
		return FAIL("change %s: relayed records are never deleted",
			    ch->id);
	if (ch->version == 0 || ch->version > INT64_MAX)
		return FAIL("change %s: version out of range", ch->id);
	if (wire_change_cost(ch) > LIMIT_CHANGE_BYTES)
		return FAIL("change %s: over the %u bytes one record may take "
			    "in a frame", ch->id, LIMIT_CHANGE_BYTES);
	switch (ch->kind) {
	case ALLIANCE__V1__KIND__KIND_REQUEST:
		if (ch->body_case != ALLIANCE__V1__CHANGE__BODY_REQUEST)
			break;
		return check_request(ch->request, why, whylen);
	case ALLIANCE__V1__KIND__KIND_REQUEST_STATUS:
		if (ch->body_case != ALLIANCE__V1__CHANGE__BODY_REQUEST_STATUS)
			break;
		return check_status(ch->request_status, why, whylen);
	case ALLIANCE__V1__KIND__KIND_POLL:
		if (ch->body_case != ALLIANCE__V1__CHANGE__BODY_POLL)
			break;
		return check_poll(ch->poll, why, whylen);
	case ALLIANCE__V1__KIND__KIND_TALLY:
		if (ch->body_case != ALLIANCE__V1__CHANGE__BODY_TALLY)
			break;
		return check_tally(ch, why, whylen);
	case ALLIANCE__V1__KIND__KIND_CHECKIN:
		if (ch->body_case != ALLIANCE__V1__CHANGE__BODY_CHECKIN)
			break;
		return check_checkin(ch->checkin, why, whylen);
	default:
		return FAIL("change %s: kind %d is not relayed", ch->id,
			    ch->kind);
	}
	return FAIL("change %s: body does not match its kind", ch->id);
}

/* ---- new requests -------------------------------------------------------- */

int relay_request_id_scoped(const char *origin, const char *id)
{
	size_t ol = strlen(origin);

	return strncmp(id, origin, ol) == 0 && id[ol] == '.' && id[ol + 1];
}

int relay_request_fields_valid(const Alliance__V1__Request *r, char *why,
			       size_t whylen)
{
	int rel_name = r->relative_name && *r->relative_name;
	int rel_phone = r->relative_phone && *r->relative_phone;
	int64_t day;

	if (r->phone && *r->phone && !text_phone_valid(r->phone))
		return FAIL("phone: %d to %d digits (spaces and + - ( ) "
			    "allowed)", LIMIT_PHONE_DIGITS_MIN,
			    LIMIT_PHONE_DIGITS);
	if (rel_name != rel_phone ||
	    (rel_phone && !text_phone_valid(r->relative_phone)))
		return FAIL("relative_%s: both the relative's name and phone, "
			    "the phone %d to %d digits", rel_name ? "phone"
			    : "name", LIMIT_PHONE_DIGITS_MIN,
			    LIMIT_PHONE_DIGITS);
	if (!relay_preferred_valid(r->preferred, &day))
		return FAIL("preferred: a date YYYY-MM-DD, optionally followed "
			    "by morning, afternoon or evening");
	return ERR_OK;
}

int relay_request_new_check(const Change *ch, char *why, size_t whylen)
{
	if (!relay_request_id_scoped(ch->origin, ch->id))
		return FAIL("request %.80s: not an id of %s (ids are "
			    "ORIGIN.RANDOM)", ch->id, ch->origin);
	return relay_request_fields_valid(ch->request, why, whylen);
}

int relay_service_takes_requests(const Change *svc)
{
	return svc && !svc->deleted && svc->service && svc->service->status &&
	       strcmp(svc->service->status, "inactive") != 0;
}

/* ---- erasure --------------------------------------------------------------- */

/* blank: empty s in place (NULL and "" are left alone). */
static void blank(char *s)
{
	if (s && *s)
		memset(s, 0, strlen(s));
}

void relay_request_erase(Alliance__V1__Request *r)
{
	blank(r->name);
	blank(r->phone);
	blank(r->email);
	blank(r->address);
	blank(r->relative_name);
	blank(r->relative_phone);
	r->has_location = 0;
	r->lat = r->lon = 0;
	r->erased = 1;
}

/* ---- keys ----------------------------------------------------------------- */

int relay_tally_id(const char *origin, const char *id, char *buf,
		   size_t buflen)
{
	int n = snprintf(buf, buflen, "%s.%s", origin, id);

	return n < 0 || (size_t)n >= buflen || n > LIMIT_RECORD_ID
	       ? ERR_TOOBIG : ERR_OK;
}

int relay_split_key(const char *key, char *origin, size_t olen, char *id,
		    size_t idlen)
{
	const char *dot = strchr(key, '.');
	size_t ol;

	if (!dot)
		return ERR_INVALID;
	ol = (size_t)(dot - key);
	if (ol >= olen || strlen(dot + 1) >= idlen)
		return ERR_INVALID;
	memcpy(origin, key, ol);
	origin[ol] = '\0';
	memcpy(id, dot + 1, strlen(dot + 1) + 1);
	return text_community_valid(origin) && text_record_id_valid(id)
	       ? ERR_OK : ERR_INVALID;
}

/* ---- packing ----------------------------------------------------------------- */

uint8_t *relay_pack(const Change *ch, size_t *len)
{
	size_t n = alliance__v1__change__get_packed_size(ch);
	uint8_t *buf = malloc(n ? n : 1);

	if (!buf)
		return NULL;
	*len = alliance__v1__change__pack(ch, buf);
	return buf;
}

Change *relay_unpack(const void *buf, size_t len)
{
	return alliance__v1__change__unpack(NULL, len, buf);
}

/* The personal fields of a request, moved between the two parts of
 * relay_pack_parts (the strings by swapping pointers, so each unpacked
 * message keeps freeing only what it allocated). */
static void swap_personal(Alliance__V1__Request *a, Alliance__V1__Request *b)
{
	char **fa[] = { &a->name, &a->phone, &a->email, &a->address,
			&a->relative_name, &a->relative_phone };
	char **fb[] = { &b->name, &b->phone, &b->email, &b->address,
			&b->relative_name, &b->relative_phone };
	protobuf_c_boolean loc = a->has_location;
	double lat = a->lat, lon = a->lon;

	for (size_t i = 0; i < sizeof(fa) / sizeof(fa[0]); i++) {
		char *t = *fa[i];

		*fa[i] = *fb[i];
		*fb[i] = t;
	}
	a->has_location = b->has_location;
	a->lat = b->lat;
	a->lon = b->lon;
	b->has_location = loc;
	b->lat = lat;
	b->lon = lon;
}

uint8_t *relay_pack_parts(const Change *ch, size_t *len, size_t *kept)
{
	Change pub = *ch;
	Alliance__V1__Request req, personal = ALLIANCE__V1__REQUEST__INIT;
	size_t k, p = 0;
	uint8_t *buf;

	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_REQUEST &&
	    ch->request) {
		req = *ch->request;
		swap_personal(&req, &personal);
		pub.request = &req;
		p = alliance__v1__request__get_packed_size(&personal);
	}
	k = alliance__v1__change__get_packed_size(&pub);
	buf = malloc(4 + k + p);
	if (!buf)
		return NULL;
	buf[0] = (uint8_t)(k >> 24);
	buf[1] = (uint8_t)(k >> 16);
	buf[2] = (uint8_t)(k >> 8);
	buf[3] = (uint8_t)k;
	alliance__v1__change__pack(&pub, buf + 4);
	if (p)
		alliance__v1__request__pack(&personal, buf + 4 + k);
	*kept = 4 + k;
	*len = 4 + k + p;
	return buf;
}

size_t relay_parts_kept(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t k;

	if (len < 4)
		return 0;
	k = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
	return k <= len - 4 ? 4 + k : 0;
}

Change *relay_unpack_parts(const void *buf, size_t len)
{
	const uint8_t *b = buf;
	Alliance__V1__Request *personal;
	size_t kept = relay_parts_kept(buf, len);
	Change *ch;

	if (!kept || !(ch = relay_unpack(b + 4, kept - 4)))
		return NULL;
	if (kept == len)
		return ch;      /* no personal part, or cut off */
	personal = alliance__v1__request__unpack(NULL, len - kept, b + kept);
	if (!personal || ch->body_case != ALLIANCE__V1__CHANGE__BODY_REQUEST ||
	    !ch->request) {
		alliance__v1__request__free_unpacked(personal, NULL);
		alliance__v1__change__free_unpacked(ch, NULL);
		return NULL;
	}
	swap_personal(ch->request, personal);
	alliance__v1__request__free_unpacked(personal, NULL);
	return ch;
}

/* ---- versions and ids -------------------------------------------------------- */

uint64_t relay_version(uint64_t last)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	return now > last ? now : last + 1;
}

int relay_request_id(const char *origin, char *buf, size_t buflen)
{
	char hex[17];
	int n;

	if (relay_random_id(hex, sizeof(hex)) != ERR_OK)
		return ERR_FAIL;
	n = snprintf(buf, buflen, "%s.%s", origin, hex);
	return n < 0 || (size_t)n >= buflen ? ERR_FAIL : ERR_OK;
}

int relay_random_id(char *buf, size_t buflen)
{
	unsigned char r[8];

	if (buflen < 17 || RAND_bytes(r, sizeof(r)) != 1)
		return ERR_FAIL;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(buf + 2 * i, 3, "%02x", r[i]);
	return ERR_OK;
}

/* ---- polls in a store -------------------------------------------------- */

int relay_store_poll(sqlite3 *db, const Change *ch)
{
	const Alliance__V1__Poll *p = ch->poll;
	json_t *o = json_array();
	char *text;
	sqlite3_stmt *st = NULL;
	int rc;

	for (size_t i = 0; o && i < p->n_options; i++)
		json_array_append_new(o, json_string(p->options[i]));
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return ERR_NOMEM;
	rc = sqlite3_prepare_v2(db, "INSERT INTO poll (origin, id, version,"
				" question, options, opens, closes) VALUES (?1,"
				" ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (origin,"
				" id) DO UPDATE SET version = excluded.version,"
				" question = excluded.question, options ="
				" excluded.options, opens = excluded.opens,"
				" closes = excluded.closes WHERE"
				" excluded.version > poll.version", -1, &st,
				NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)ch->version);
		sqlite3_bind_text(st, 4, p->question, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, p->opens);
		sqlite3_bind_int64(st, 7, p->closes);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	free(text);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

char *relay_tally_counts(const Alliance__V1__Tally *t)
{
	json_t *counts = json_array();
	char *text;

	for (size_t i = 0; counts && i < t->n_counts; i++)
		json_array_append_new(counts,
				      json_integer((json_int_t)t->counts[i]));
	text = counts ? json_dumps(counts, JSON_COMPACT) : NULL;
	json_decref(counts);
	return text;
}

int relay_tally_put(sqlite3 *db, sqlite3_stmt *st, const char *origin,
		    const char *id, const char *community, uint64_t version,
		    const char *counts, int64_t updated, int *changed)
{
	int rc;

	if (changed)
		*changed = 0;
	if (strlen(counts) > LIMIT_CHANGE_BYTES)
		return ERR_TOOBIG;
	store_stmt_bind_key(st, origin, id);
	sqlite3_bind_text(st, 3, community, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)version);
	sqlite3_bind_text(st, 5, counts, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, updated);
	rc = sqlite3_step(st);
	if (changed)
		*changed = rc == SQLITE_DONE && sqlite3_changes(db) > 0;
	return store_stmt_done(db, st, rc, "polls");
}

int relay_tally_bounded(const Alliance__V1__Tally *t, char *why,
			size_t whylen)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < t->n_counts; i++) {
		if (t->counts[i] > RELAY_VOTES_MAX) {
			snprintf(why, whylen, "tally.counts[%zu]: over %d", i,
				 RELAY_VOTES_MAX);
			return 0;
		}
		sum += t->counts[i];
		if (sum > RELAY_VOTES_MAX) {   /* each bounded: no wrap */
			snprintf(why, whylen, "tally.counts: over %d votes in "
				 "all", RELAY_VOTES_MAX);
			return 0;
		}
	}
	return 1;
}

int relay_poll_final(int64_t closes, int64_t now)
{
	return closes <= now - RELAY_TALLY_GRACE_S;
}

json_t *relay_poll_outcome(const json_t *counts, const json_t *options)
{
	json_int_t best = 0;
	int winner = -1, tie = 0;
	size_t i;
	json_t *v;

	json_array_foreach(counts, i, v) {
		if (json_integer_value(v) > best) {
			best = json_integer_value(v);
			winner = (int)i;
			tie = 0;
		} else if (best > 0 && json_integer_value(v) == best) {
			tie = 1;
		}
	}
	return json_pack("{s:O, s:b}", "winner", winner >= 0 && !tie &&
			 json_array_get(options, (size_t)winner) ?
			 json_array_get(options, (size_t)winner) : json_null(),
			 "tie", tie);
}

/* ---- polls from JSON --------------------------------------------------- */

int relay_poll_from_json(const json_t *in, Alliance__V1__Poll *p,
			 const char **opts, const char **area, char *why,
			 size_t whylen)
{
	const json_t *o = json_object_get(in, "options");
	const json_t *a = area ? json_object_get(in, "area") : NULL;
	const json_t *c = json_object_get(in, "closes");
	size_t i;

	p->question = (char *)json_string_value(json_object_get(in,
								"question"));
	if (!p->question) {
		snprintf(why, whylen, "question: required");
		return ERR_INVALID;
	}
	if (!json_is_array(o) || json_array_size(o) > RELAY_OPTIONS_MAX) {
		snprintf(why, whylen, "options: a list of %d to %d texts",
			 RELAY_OPTIONS_MIN, RELAY_OPTIONS_MAX);
		return ERR_INVALID;
	}
	for (i = 0; i < json_array_size(o); i++)
		if (!(opts[i] = json_string_value(json_array_get(o, i)))) {
			snprintf(why, whylen, "options[%zu]: not a text", i);
			return ERR_INVALID;
		}
	p->options = (char **)opts;
	p->n_options = json_array_size(o);
	if (a && !json_is_null(a)) {
		if (!json_is_array(a) || json_array_size(a) > RELAY_AREA_MAX) {
			snprintf(why, whylen, "area: a list of community ids");
			return ERR_INVALID;
		}
		for (i = 0; i < json_array_size(a); i++)
			if (!(area[i] = json_string_value(json_array_get(a,
									  i)))) {
				snprintf(why, whylen, "area[%zu]: not a text",
					 i);
				return ERR_INVALID;
			}
		p->area = (char **)area;
		p->n_area = json_array_size(a);
	}
	p->opens = clock_now();
	if (json_is_integer(c)) {
		p->closes = json_integer_value(c);
	} else if (!json_is_string(c) ||
		   clock_parse_rfc3339(json_string_value(c), &p->closes)) {
		snprintf(why, whylen, "closes: RFC 3339 time or unix seconds");
		return ERR_INVALID;
	}
	return ERR_OK;
}
