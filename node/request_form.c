/* request_form.c: the form of an Open311 POST requests.json, read and
 * checked apart from the connection and the store, so that requests.c
 * answers what these say and tests/fuzz/fuzz_open311.c can feed it any
 * body.
 *
 * Parts: the fields and their limits; reading; checking; service codes;
 * freeing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civic.h"
#include "err.h"
#include "form.h"
#include "text.h"

/* ---- the fields ------------------------------------------------------------ */

/* Preferred times from a day ago (today anywhere) to a year ahead. */
#define PREFERRED_PAST_S (36 * 3600)
#define PREFERRED_AHEAD_S (366 * 24 * 3600)

/* Each field's name in the form, its longest value in bytes and, where
 * the limit is in characters, in characters; in the order of enum
 * request_field. */
static const struct {
	const char *name;
	size_t max;
	size_t chars;               /* 0: the bytes are the limit */
} fields[RF_COUNT] = {
	[RF_CODE] = { "service_code", LIMIT_COMMUNITY_ID + LIMIT_RECORD_ID + 1,
		      0 },
	[RF_DESC] = { "description", RELAY_DESCRIPTION_BYTES,
		      RELAY_DESCRIPTION_MAX },
	[RF_FIRST] = { "first_name", RELAY_NAME_MAX / 2 - 1, 0 },
	[RF_LAST] = { "last_name", RELAY_NAME_MAX / 2 - 1, 0 },
	[RF_NAME] = { "name", RELAY_NAME_MAX, 0 },   /* ours: the whole name */
	[RF_PHONE] = { "phone", RELAY_PHONE_MAX, 0 },
	[RF_EMAIL] = { "email", RELAY_EMAIL_MAX, 0 },
	[RF_ADDR] = { "address_string", RELAY_ADDRESS_MAX, 0 },
	[RF_ADDR_ID] = { "address_id", REQUEST_ADDRESS_ID_MAX, 0 },
	[RF_LAT] = { "lat", 32, 0 },
	[RF_LONG] = { "long", 32, 0 },
	[RF_PREFERRED] = { "preferred", RELAY_PREFERRED_MAX, 0 },   /* ours */
	[RF_REL_NAME] = { "relative_name", RELAY_NAME_MAX, 0 },     /* ours */
	[RF_REL_PHONE] = { "relative_phone", RELAY_PHONE_MAX, 0 },  /* ours */
};

/* ---- reading ------------------------------------------------------------------ */

/* take: field i of body into rf->value[i]; ERR_OK, or an error with
 * *status and why set. */
static int take(const char *body, size_t len, struct request_form *rf,
		int i, int *status, char *why, size_t whylen)
{
	size_t max = fields[i].max;
	int n;

	rf->value[i] = calloc(1, max + 2);
	if (!rf->value[i]) {
		*status = 500;
		snprintf(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	n = form_get(body, len, fields[i].name, rf->value[i], max + 2);
	if (n == FORM_ABSENT)
		return ERR_OK;
	if (fields[i].chars && (n == FORM_TOOLONG || (n >= 0 &&
	    (size_t)n > max))) {
		*status = 400;
		snprintf(why, whylen, "%s: longer than %zu characters",
			 fields[i].name, fields[i].chars);
		return ERR_TOOBIG;
	}
	if (n == FORM_TOOLONG || (n >= 0 && (size_t)n > max)) {
		*status = 400;
		snprintf(why, whylen, "%s: longer than %zu bytes",
			 fields[i].name, max);
		return ERR_TOOBIG;
	}
	if (n < 0 || !text_utf8_valid(rf->value[i], (size_t)n)) {
		*status = 400;
		snprintf(why, whylen, "%s: not UTF-8 text", fields[i].name);
		return ERR_INVALID;
	}
	if (fields[i].chars && text_utf8_chars(rf->value[i]) >
	    fields[i].chars) {
		*status = 400;
		snprintf(why, whylen, "%s: longer than %zu characters",
			 fields[i].name, fields[i].chars);
		return ERR_TOOBIG;
	}
	return ERR_OK;
}

int request_form_read(const char *body, size_t len, struct request_form *rf,
		      int *status, char *why, size_t whylen)
{
	int i, rc;

	for (i = 0; i < RF_COUNT; i++) {
		rc = take(body, len, rf, i, status, why, whylen);
		if (rc != ERR_OK)
			return rc;
	}
	if (!rf->value[RF_CODE][0]) {
		*status = 400;
		snprintf(why, whylen, "service_code: required");
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* ---- checking ------------------------------------------------------------------ */

/* parse_coord: s as a number in [-lim, lim]; ERR_OK or ERR_INVALID. */
static int parse_coord(const char *s, double lim, double *out)
{
	char *end = NULL;
	double v;

	if (!*s)
		return ERR_INVALID;
	v = strtod(s, &end);
	if (!end || *end || !(v >= -lim && v <= lim))
		return ERR_INVALID;
	*out = v;
	return ERR_OK;
}

int request_form_check(struct request_form *rf, int64_t now, char *why,
		       size_t whylen)
{
	char **v = rf->value;
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	int64_t day;

	r.phone = v[RF_PHONE];
	r.relative_name = v[RF_REL_NAME];
	r.relative_phone = v[RF_REL_PHONE];
	r.preferred = v[RF_PREFERRED];

	/* the rule the hub and the owner hold a relayed request to */
	if (relay_request_fields_valid(&r, why, whylen) != ERR_OK)
		return ERR_INVALID;
	if (!relay_preferred_valid(v[RF_PREFERRED], &day) ||
	    (day && (day < now - PREFERRED_PAST_S ||
		     day > now + PREFERRED_AHEAD_S))) {
		snprintf(why, whylen, "preferred: a date YYYY-MM-DD from today "
			 "to a year ahead, optionally followed by morning, "
			 "afternoon or evening");
		return ERR_INVALID;
	}
	rf->has_location = v[RF_LAT][0] || v[RF_LONG][0];
	if (rf->has_location &&
	    (parse_coord(v[RF_LAT], 90, &rf->lat) != ERR_OK ||
	     parse_coord(v[RF_LONG], 180, &rf->lon) != ERR_OK)) {
		snprintf(why, whylen, "lat/long: both, as decimal degrees");
		return ERR_INVALID;
	}
	if (v[RF_ADDR_ID][0] && !relay_name_valid(v[RF_ADDR_ID])) {
		snprintf(why, whylen, "address_id: text without control "
			 "characters");
		return ERR_INVALID;
	}
	if ((size_t)snprintf(rf->address, sizeof(rf->address), "%s%s%s%s",
			     v[RF_ADDR], v[RF_ADDR_ID][0] ? v[RF_ADDR][0]
			     ? " (address_id: " : "address_id: " : "",
			     v[RF_ADDR_ID], v[RF_ADDR_ID][0] && v[RF_ADDR][0]
			     ? ")" : "") >= sizeof(rf->address)) {
		snprintf(why, whylen, "address_string and address_id: over %d "
			 "bytes together", RELAY_ADDRESS_MAX);
		return ERR_INVALID;
	}
	if (v[RF_NAME][0])
		snprintf(rf->name, sizeof(rf->name), "%s", v[RF_NAME]);
	else
		snprintf(rf->name, sizeof(rf->name), "%s%s%s", v[RF_FIRST],
			 v[RF_FIRST][0] && v[RF_LAST][0] ? " " : "", v[RF_LAST]);
	return ERR_OK;
}

/* ---- service codes ------------------------------------------------------------- */

int open311_code_split(char *code, char **id)
{
	char *cut = strchr(code, '/'), was;

	if (!cut)
		cut = strchr(code, '.');
	if (!cut)
		return ERR_INVALID;
	was = *cut;
	*cut = '\0';
	*id = cut + 1;
	if (text_community_valid(code) && text_record_id_valid(*id))
		return ERR_OK;
	*cut = was;
	return ERR_INVALID;
}

/* ---- freeing ------------------------------------------------------------------- */

void request_form_free(struct request_form *rf)
{
	for (int i = 0; i < RF_COUNT; i++) {
		free(rf->value[i]);
		rf->value[i] = NULL;
	}
}
