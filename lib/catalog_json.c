/* catalog_json.c: services and announcements as JSON: validating what
 * managers send (catalog_*_from_json) and showing records
 * (catalog_change_json). Split from catalog.c, which stores and searches
 * them; both share the fixed lists through catalog_is_category and
 * catalog_is_delivery.
 *
 * Parts: JSON input (text checks, fields, lists, times, the two
 * validators); JSON output; records from peers (catalog_check). */
#include "catalog.h"

#include "clock.h"
#include "err.h"
#include "alliance_limits.h"
#include "synonyms.h"
#include "text.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const catalog_status[] = {
	"active", "temporarily-closed", "inactive",
};

/* Field limits of the service and announcement JSON (bytes). */
#define CATALOG_TITLE_MAX 200
#define CATALOG_SUMMARY_MAX 500
#define CATALOG_DESCRIPTION_MAX 8000
#define CATALOG_TEXT_MAX 500      /* eligibility, hours, address */
#define CATALOG_FEE_MAX 50
#define CATALOG_PHONE_MAX 40
#define CATALOG_LIST_MAX 16       /* items in audience, languages */
#define CATALOG_AUDIENCE_MAX 32   /* bytes of one audience id */
#define CATALOG_LANGUAGE_MAX 35   /* bytes of one language tag */

/* nz: "" for NULL, so optional protobuf strings print. */
static const char *nz(const char *s)
{
	return s ? s : "";
}

/* ---- JSON input --------------------------------------------------------- */

/* Flags of text_field. */
#define TF_NEWLINES 1   /* \n allowed (multi-line text) */

/* text_clean: true iff s[0..len) is UTF-8 without NUL, without C0 or C1
 * control characters or DEL, except \n when allowed. */
static int text_clean(const char *s, size_t len, int flags)
{
	const unsigned char *u = (const unsigned char *)s;

	if (!text_utf8_valid(s, len))
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (u[i] == '\n' && (flags & TF_NEWLINES))
			continue;
		if (u[i] < 0x20 || u[i] == 0x7f)
			return 0;
		if (u[i] == 0xc2 && i + 1 < len && u[i + 1] < 0xa0)
			return 0;    /* U+0080..U+009F */
	}
	return 1;
}

/* clip: copy at most max bytes of s into buf (of at least max + 1) for
 * an error message, cut at a character boundary, with '?' for anything
 * that is not printable UTF-8, so the message is always valid JSON text.
 * Returns buf. */
const char *catalog_clip(const char *s, size_t max, char *buf)
{
	size_t i = 0, o = 0, len = s ? strlen(s) : 0;

	while (i < len && o < max) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

		if (i + n > len || o + n > max ||
		    !text_clean(s + i, n, 0) || c == '\'' || c == '"') {
			if (i + n > len || o + n > max)
				break;
			buf[o++] = '?';
			i += n;
			continue;
		}
		memcpy(buf + o, s + i, n);
		o += n;
		i += n;
	}
	buf[o] = '\0';
	return buf;
}

/* text_field: the string field name of in, checked: absent or null gives
 * *out = NULL; otherwise a string of at most max bytes that passes
 * text_clean. Returns ERR_OK or ERR_INVALID with why naming the field. */
static int text_field(const json_t *in, const char *name, size_t max,
		      int flags, const char **out, char *why, size_t whylen)
{
	const json_t *v = json_object_get(in, name);
	size_t len;

	*out = NULL;
	if (!v || json_is_null(v))
		return ERR_OK;
	if (!json_is_string(v)) {
		snprintf(why, whylen, "%s: must be a string", name);
		return ERR_INVALID;
	}
	len = json_string_length(v);
	if (len > max) {
		snprintf(why, whylen, "%s: longer than %zu bytes", name, max);
		return ERR_INVALID;
	}
	if (!text_clean(json_string_value(v), len, flags)) {
		snprintf(why, whylen, "%s: not valid UTF-8 text%s", name,
			 flags & TF_NEWLINES ? "" :
			 " on one line (no control characters)");
		return ERR_INVALID;
	}
	*out = json_string_value(v);
	return ERR_OK;
}

/* has_text: true iff s has a character other than white space. */
static int has_text(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\n')
			return 1;
	return 0;
}

/* set_str: *dst = a copy of src (NULL: ""). Returns ERR_OK or ERR_NOMEM. */
static int set_str(char **dst, const char *src)
{
	char *c = strdup(src ? src : "");

	if (!c)
		return ERR_NOMEM;
	*dst = c;
	return ERR_OK;
}

/* audience_ok: a short id, [a-z0-9][a-z0-9-]*, at most
 * CATALOG_AUDIENCE_MAX bytes. */
static int audience_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (i >= CATALOG_AUDIENCE_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (c == '-' && i > 0)))
			return 0;
	}
	return i > 0;
}

/* language_ok: looks like a BCP 47 tag: 2-8 letters, then subtags of 1-8
 * letters or digits after '-', at most CATALOG_LANGUAGE_MAX bytes. */
static int language_ok(const char *s)
{
	size_t i = 0, run = 0, total = strlen(s);
	int first = 1;

	if (total == 0 || total > CATALOG_LANGUAGE_MAX)
		return 0;
	for (;; i++) {
		char c = s[i];

		if (c == '-' || c == '\0') {
			if (first ? (run < 2 || run > 8) : (run < 1 || run > 8))
				return 0;
			if (c == '\0')
				return 1;
			first = 0;
			run = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (!first && c >= '0' && c <= '9')))
			return 0;
		run++;
	}
}

/* list_field: a list of strings at name (absent or null: empty), each
 * passing ok; a single string is accepted as a one-item list when
 * one_ok. Duplicates are dropped. On success stores malloc'd copies in
 * *items and their number in *n. Returns ERR_OK, ERR_INVALID with why, or
 * ERR_NOMEM; on error *items holds *n items to free. */
static int list_field(const json_t *in, const char *name, int one_ok,
		      size_t max, int (*ok)(const char *), char ***items,
		      size_t *n, char *why, size_t whylen)
{
	const json_t *v = json_object_get(in, name), *e;
	json_t *one = NULL;
	size_t i, count;
	int rc = ERR_OK;

	*items = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return ERR_OK;
	if (json_is_string(v) && one_ok) {
		one = json_array();
		if (!one || json_array_append(one, (json_t *)v) != 0) {
			json_decref(one);
			return ERR_NOMEM;
		}
		v = one;
	}
	if (!json_is_array(v)) {
		snprintf(why, whylen, "%s: must be a list of strings%s", name,
			 one_ok ? " or a string" : "");
		return ERR_INVALID;
	}
	count = json_array_size(v);
	if (count > max) {
		snprintf(why, whylen, "%s: more than %zu items", name, max);
		rc = ERR_INVALID;
		goto out;
	}
	if (count == 0)
		goto out;
	*items = calloc(count, sizeof(char *));
	if (!*items) {
		rc = ERR_NOMEM;
		goto out;
	}
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);
		int dup = 0;

		if (!s || !text_clean(s, json_string_length(e), 0) || !ok(s)) {
			char shown[41];

			snprintf(why, whylen, "%s: item %zu ('%s') is not "
				 "valid", name, i + 1, catalog_clip(s, 40, shown));
			rc = ERR_INVALID;
			goto out;
		}
		for (size_t k = 0; k < *n; k++)
			if (strcmp((*items)[k], s) == 0)
				dup = 1;
		if (dup)
			continue;
		(*items)[*n] = strdup(s);
		if (!(*items)[*n]) {
			rc = ERR_NOMEM;
			goto out;
		}
		(*n)++;
	}
out:
	json_decref(one);
	return rc;
}

/* time_field: a time at name as RFC 3339 text or unix seconds, at most
 * CLOCK_MAX (a record shows its times as RFC 3339, and every receiver
 * reads them back through here); absent, null or "" stores dflt.
 * Returns ERR_OK or ERR_INVALID with why. */
static int time_field(const json_t *in, const char *name, int64_t dflt,
		      int64_t *out, char *why, size_t whylen)
{
	const json_t *v = json_object_get(in, name);

	*out = dflt;
	if (!v || json_is_null(v))
		return ERR_OK;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= CLOCK_MAX) {
		*out = json_integer_value(v);
		return ERR_OK;
	}
	if (json_is_string(v)) {
		if (json_string_length(v) == 0)
			return ERR_OK;
		if (clock_parse_rfc3339(json_string_value(v), out) == ERR_OK &&
		    *out <= CLOCK_MAX)
			return ERR_OK;
	}
	snprintf(why, whylen, "%s: must be a time like "
		 "2026-11-29T15:04:05Z", name);
	return ERR_INVALID;
}

static int phone_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == ' ' || *s == '+' ||
		      *s == '-' || *s == '(' || *s == ')'))
			return 0;
	return 1;
}

/* fee_is_free: "free" in any case, 免费, or nothing at all. */
static int fee_is_free(const char *s)
{
	return !s || !has_text(s) || strcasecmp(s, "free") == 0 ||
	       strcmp(s, "免费") == 0;
}

static int is_delivery_item(const char *s)
{
	return catalog_is_delivery(s);
}

static int is_community_id(const char *s)
{
	return text_community_valid(s);
}

/* keyword_ok: a search keyword: 1..LIMIT_KEYWORD bytes of text with a
 * character other than white space. */
static int keyword_ok(const char *s)
{
	return strlen(s) <= LIMIT_KEYWORD && has_text(s);
}

/* catalog_service_from_json: see catalog.h. Also: an absent fee is free;
 * an absent status is active; `updated` is RFC 3339 or unix seconds and
 * defaults to now; id and community are not read (the node assigns
 * them). */
int catalog_service_from_json(const json_t *in, Alliance__V1__Service **out,
			      char *why, size_t whylen)
{
	Alliance__V1__Service *s = NULL;
	const char *title, *summary, *description, *category, *eligibility,
		   *fee, *hours, *phone, *address, *status;
	char shown[65];
	int rc;

	*out = NULL;
	if (!json_is_object(in)) {
		snprintf(why, whylen, "body: must be a JSON object");
		return ERR_INVALID;
	}
	if ((rc = text_field(in, "title", CATALOG_TITLE_MAX, 0, &title, why,
			     whylen)) ||
	    (rc = text_field(in, "summary", CATALOG_SUMMARY_MAX, 0, &summary,
			     why, whylen)) ||
	    (rc = text_field(in, "description", CATALOG_DESCRIPTION_MAX,
			     TF_NEWLINES, &description, why, whylen)) ||
	    (rc = text_field(in, "category", 64, 0, &category, why,
			     whylen)) ||
	    (rc = text_field(in, "eligibility", CATALOG_TEXT_MAX, 0,
			     &eligibility, why, whylen)) ||
	    (rc = text_field(in, "fee", CATALOG_FEE_MAX, 0, &fee, why,
			     whylen)) ||
	    (rc = text_field(in, "hours", CATALOG_TEXT_MAX, 0, &hours, why,
			     whylen)) ||
	    (rc = text_field(in, "phone", CATALOG_PHONE_MAX, 0, &phone, why,
			     whylen)) ||
	    (rc = text_field(in, "address", CATALOG_TEXT_MAX, 0, &address,
			     why, whylen)) ||
	    (rc = text_field(in, "status", 32, 0, &status, why, whylen)))
		return rc;
	if (!has_text(title)) {
		snprintf(why, whylen, "title: required");
		return ERR_INVALID;
	}
	if (!category || !*category) {
		snprintf(why, whylen, "category: required, one of "
			 "elderly-care, health-maternity, family-children, "
			 "disability, housing, environment, public-safety, "
			 "employment, legal-civil, education-culture, "
			 "neighbourhood-life, other");
		return ERR_INVALID;
	}
	if (!catalog_is_category(category)) {
		snprintf(why, whylen, "category: '%s' is not a category id",
			 catalog_clip(category, 64, shown));
		return ERR_INVALID;
	}
	if (phone && !phone_ok(phone)) {
		snprintf(why, whylen, "phone: only digits, spaces and + - ( )");
		return ERR_INVALID;
	}
	if (status && *status) {
		size_t i;

		for (i = 0; i < 3; i++)
			if (strcmp(status, catalog_status[i]) == 0)
				break;
		if (i == 3) {
			snprintf(why, whylen, "status: '%s' is not one of "
				 "active, temporarily-closed, inactive",
				 catalog_clip(status, 32, shown));
			return ERR_INVALID;
		}
	} else {
		status = "active";
	}

	s = malloc(sizeof(*s));
	if (!s)
		return ERR_NOMEM;
	alliance__v1__service__init(s);
	if ((rc = list_field(in, "audience", 0, CATALOG_LIST_MAX, audience_ok,
			     &s->audience, &s->n_audience, why, whylen)) ||
	    (rc = list_field(in, "delivery", 1, CATALOG_LIST_MAX,
			     is_delivery_item, &s->delivery, &s->n_delivery,
			     why, whylen)) ||
	    (rc = list_field(in, "languages", 0, CATALOG_LIST_MAX,
			     language_ok, &s->languages, &s->n_languages, why,
			     whylen)) ||
	    (rc = list_field(in, "eligible_communities", 0,
			     LIMIT_ELIGIBLE_COMMUNITIES, is_community_id,
			     &s->eligible_communities,
			     &s->n_eligible_communities, why, whylen)) ||
	    (rc = list_field(in, "keywords", 0, LIMIT_KEYWORDS, keyword_ok,
			     &s->keywords, &s->n_keywords, why, whylen)) ||
	    (rc = time_field(in, "updated", clock_now(), &s->updated, why,
			     whylen)))
		goto err;
	if ((rc = set_str(&s->title, title)) ||
	    (rc = set_str(&s->summary, summary)) ||
	    (rc = set_str(&s->description, description)) ||
	    (rc = set_str(&s->category, category)) ||
	    (rc = set_str(&s->eligibility, eligibility)) ||
	    (rc = set_str(&s->fee, fee_is_free(fee) ? "free" : fee)) ||
	    (rc = set_str(&s->hours, hours)) ||
	    (rc = set_str(&s->phone, phone)) ||
	    (rc = set_str(&s->address, address)) ||
	    (rc = set_str(&s->status, status)))
		goto err;
	*out = s;
	return ERR_OK;
err:
	alliance__v1__service__free_unpacked(s, NULL);
	return rc;
}

/* catalog_announcement_from_json: see catalog.h. title 1..200 bytes; body
 * up to 8000 (lines allowed); category optional (default "other") but a
 * category id if given; published and expires as RFC 3339 or unix
 * seconds, published defaulting to now, expires to 0 (never) and, when
 * set, after published. */
int catalog_announcement_from_json(const json_t *in,
				   Alliance__V1__Announcement **out,
				   char *why, size_t whylen)
{
	Alliance__V1__Announcement *a;
	const char *title, *body, *category;
	int64_t published, expires;
	char shown[65];
	int rc;

	*out = NULL;
	if (!json_is_object(in)) {
		snprintf(why, whylen, "body: must be a JSON object");
		return ERR_INVALID;
	}
	if ((rc = text_field(in, "title", CATALOG_TITLE_MAX, 0, &title, why,
			     whylen)) ||
	    (rc = text_field(in, "body", CATALOG_DESCRIPTION_MAX, TF_NEWLINES,
			     &body, why, whylen)) ||
	    (rc = text_field(in, "category", 64, 0, &category, why,
			     whylen)) ||
	    (rc = time_field(in, "published", clock_now(), &published, why,
			     whylen)) ||
	    (rc = time_field(in, "expires", 0, &expires, why, whylen)))
		return rc;
	if (!has_text(title)) {
		snprintf(why, whylen, "title: required");
		return ERR_INVALID;
	}
	if (category && *category && !catalog_is_category(category)) {
		snprintf(why, whylen, "category: '%s' is not a category id",
			 catalog_clip(category, 64, shown));
		return ERR_INVALID;
	}
	if (expires != 0 && expires <= published) {
		snprintf(why, whylen, "expires: must be after published");
		return ERR_INVALID;
	}
	a = malloc(sizeof(*a));
	if (!a)
		return ERR_NOMEM;
	alliance__v1__announcement__init(a);
	if ((rc = set_str(&a->title, title)) ||
	    (rc = set_str(&a->body, body)) ||
	    (rc = set_str(&a->category, category && *category ? category
							       : "other"))) {
		alliance__v1__announcement__free_unpacked(a, NULL);
		return rc;
	}
	a->published = published;
	a->expires = expires;
	*out = a;
	return ERR_OK;
}

/* ---- JSON output -------------------------------------------------------- */

static json_t *strings_json(char **items, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, json_string(nz(items[i])));
	return arr;
}

static json_t *time_json(int64_t t)
{
	char buf[CLOCK_RFC3339_LEN];

	return json_string(clock_rfc3339(t, buf, sizeof(buf)));
}

/* catalog_change_json: see catalog.h. A tombstone shows as id, community
 * and "deleted": true; an announcement's expires is null when it never
 * expires. NULL when memory ran out or ch has no body it should have. */
json_t *catalog_change_json(const Change *ch)
{
	const Alliance__V1__Service *s;
	const Alliance__V1__Announcement *a;

	if (!ch)
		return NULL;
	if (ch->deleted)
		return json_pack("{s:s, s:s, s:b}", "id", nz(ch->id),
				 "community", nz(ch->origin), "deleted", 1);
	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_SERVICE && ch->service) {
		s = ch->service;
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s,"
				 " s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o,"
				 " s:o}",
				 "id", nz(ch->id), "community", nz(ch->origin),
				 "title", nz(s->title),
				 "summary", nz(s->summary),
				 "description", nz(s->description),
				 "category", nz(s->category),
				 "audience", strings_json(s->audience,
							  s->n_audience),
				 "delivery", strings_json(s->delivery,
							  s->n_delivery),
				 "eligibility", nz(s->eligibility),
				 "fee", nz(s->fee), "hours", nz(s->hours),
				 "phone", nz(s->phone),
				 "address", nz(s->address),
				 "languages", strings_json(s->languages,
							   s->n_languages),
				 "status", nz(s->status),
				 "updated", time_json(s->updated),
				 "eligible_communities", strings_json(
					s->eligible_communities,
					s->n_eligible_communities),
				 "keywords", strings_json(s->keywords,
							  s->n_keywords));
	}
	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT &&
	    ch->announcement) {
		a = ch->announcement;
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
				 "id", nz(ch->id), "community", nz(ch->origin),
				 "title", nz(a->title), "body", nz(a->body),
				 "category", nz(a->category),
				 "published", time_json(a->published),
				 "expires", a->expires ? time_json(a->expires)
						       : json_null());
	}
	return NULL;
}

/* ---- records from peers ----------------------------------------------------
 *
 * A record is shown as JSON and read back through the same validation a
 * manager's request passes, so there is one definition of a valid service
 * or announcement, whichever way it arrives. */

/* check_district_record: a directory record: a community's name is 1 to
 * LIMIT_NAME bytes of one line of text, its id a community id; the
 * synonyms hold to the file's limits; the body matches the kind. */
static int check_district_record(const Change *ch, char *why, size_t whylen)
{
	struct synonyms *syn = NULL;
	const char *name;
	int rc;

	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_COMMUNITY) {
		name = ch->community ? nz(ch->community->name) : "";
		if (ch->kind != ALLIANCE__V1__KIND__KIND_COMMUNITY ||
		    !text_community_valid(ch->id) || !*name ||
		    strlen(name) > LIMIT_NAME ||
		    !text_clean(name, strlen(name), 0)) {
			snprintf(why, whylen, "community %s: not a valid "
				 "directory entry", nz(ch->id));
			return ERR_INVALID;
		}
		return ERR_OK;
	}
	if (ch->kind != ALLIANCE__V1__KIND__KIND_SEARCH_WORDS ||
	    !ch->search_words) {
		snprintf(why, whylen, "record %s: body does not match its "
			 "kind", nz(ch->id));
		return ERR_INVALID;
	}
	rc = synonyms_from_proto(ch->search_words, &syn, why, whylen);
	synonyms_free(&syn);
	return rc == ERR_OK ? ERR_OK : ERR_INVALID;
}

int catalog_size_check(const Change *ch, char *why, size_t whylen)
{
	size_t cost = wire_change_cost(ch);

	if (cost <= LIMIT_CHANGE_BYTES)
		return ERR_OK;
	snprintf(why, whylen, "record %s: %zu bytes encoded, over the %u bytes "
		 "one record may take in a sync frame", ch->id ? ch->id : "",
		 cost, LIMIT_CHANGE_BYTES);
	return ERR_TOOBIG;
}

int catalog_check(const Change *ch, char *why, size_t whylen)
{
	json_t *json;
	int rc;

	if (catalog_size_check(ch, why, whylen) != ERR_OK)
		return ERR_INVALID;
	if (ch->deleted)
		return ERR_OK;
	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_COMMUNITY ||
	    ch->body_case == ALLIANCE__V1__CHANGE__BODY_SEARCH_WORDS)
		return check_district_record(ch, why, whylen);
	json = catalog_change_json(ch);
	if (!json) {
		snprintf(why, whylen, "record %s has no body for its kind",
			 ch->id);
		return ERR_INVALID;
	}
	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_SERVICE) {
		Alliance__V1__Service *s = NULL;

		rc = catalog_service_from_json(json, &s, why, whylen);
		if (s)
			alliance__v1__service__free_unpacked(s, NULL);
	} else {
		Alliance__V1__Announcement *a = NULL;

		rc = catalog_announcement_from_json(json, &a, why, whylen);
		if (a)
			alliance__v1__announcement__free_unpacked(a, NULL);
	}
	json_decref(json);
	return rc == ERR_OK ? ERR_OK : ERR_INVALID;
}

/* ---- record times ahead of the clock ------------------------------------- */

/* record_time: the time ch's record sorts by (a service's updated, an
 * announcement's published) and its field's name, or NULL. */
static int64_t *record_time(const Change *ch, const char **field)
{
	if (ch->deleted)
		return NULL;
	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_SERVICE &&
	    ch->service) {
		*field = "updated";
		return &ch->service->updated;
	}
	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT &&
	    ch->announcement) {
		*field = "published";
		return &ch->announcement->published;
	}
	return NULL;
}

int catalog_time_check(const Change *ch, int64_t now, char *why,
		       size_t whylen)
{
	const char *field = NULL;
	const int64_t *t = record_time(ch, &field);
	char shown[CLOCK_RFC3339_LEN];

	if (!t || *t <= now + LIMIT_CLOCK_AHEAD_S)
		return ERR_OK;
	snprintf(why, whylen, "%s: %s is more than %d s ahead of this node's "
		 "clock; a record may not be dated in the future", field,
		 clock_rfc3339(*t, shown, sizeof(shown)), LIMIT_CLOCK_AHEAD_S);
	return ERR_INVALID;
}

int catalog_clamp_time(Change *ch, int64_t now)
{
	const char *field = NULL;
	int64_t *t = record_time(ch, &field);

	if (!t || *t <= now)
		return 0;
	*t = now;
	return 1;
}
