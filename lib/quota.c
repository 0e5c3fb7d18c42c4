/* quota.c: a community's quota and the rule that admits a change under it
 * (quota.h). Pure functions: the caller measures usage in its store and
 * keeps the bucket. Parts: the quota; one change's effect; admitting; the
 * rate bucket; text forms. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "alliance_limits.h"
#include "quota.h"

/* ---- the quota ---------------------------------------------------------- */

void quota_defaults(struct quota *q)
{
	q->records = LIMIT_QUOTA_RECORDS;
	q->bytes = LIMIT_QUOTA_BYTES;
	q->per_hour = LIMIT_QUOTA_PER_HOUR;
}

void quota_from_welcome(const Alliance__V1__Welcome *w, struct quota *q)
{
	if (w->quota_records)
		q->records = w->quota_records;
	if (w->quota_bytes)
		q->bytes = w->quota_bytes;
	if (w->quota_changes_per_hour)
		q->per_hour = w->quota_changes_per_hour;
}

void quota_to_welcome(const struct quota *q, Alliance__V1__Welcome *w)
{
	w->quota_records = q->records;
	w->quota_bytes = q->bytes;
	w->quota_changes_per_hour = q->per_hour > UINT32_MAX
				    ? UINT32_MAX : (uint32_t)q->per_hour;
}

void quota_max(struct quota *out, const struct quota *a,
	       const struct quota *b)
{
	out->records = a->records > b->records ? a->records : b->records;
	out->bytes = a->bytes > b->bytes ? a->bytes : b->bytes;
	out->per_hour = a->per_hour > b->per_hour ? a->per_hour : b->per_hour;
}

/* ---- one change's effect ------------------------------------------------ */

uint64_t quota_body_bytes(const Alliance__V1__Change *ch)
{
	if (ch->deleted)
		return 0;
	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_SERVICE && ch->service)
		return alliance__v1__service__get_packed_size(ch->service);
	if (ch->body_case == ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT &&
	    ch->announcement)
		return alliance__v1__announcement__get_packed_size(
			ch->announcement);
	return 0;
}

void quota_delta_add(struct quota_delta *d, int old_live, uint64_t old_bytes,
		     const Alliance__V1__Change *ch)
{
	uint64_t bytes = quota_body_bytes(ch);

	if (!old_live)
		old_bytes = 0;
	if (ch->deleted) {
		d->records -= old_live ? 1 : 0;
		d->bytes -= (int64_t)old_bytes;
		return;
	}
	d->records += old_live ? 0 : 1;
	d->bytes += (int64_t)bytes - (int64_t)old_bytes;
	d->changes++;
}

/* ---- admitting ---------------------------------------------------------- */

int quota_admit(const struct quota *q, const struct quota_usage *u,
		const struct quota_delta *d, char *why, size_t whylen)
{
	if (d->records > 0 && u->records + (uint64_t)d->records > q->records) {
		snprintf(why, whylen, "quota records: this community may "
			 "publish at most %" PRIu64 " services and "
			 "announcements; it has %" PRIu64 " and this adds %"
			 PRId64, q->records, u->records, d->records);
		return ERR_TOOBIG;
	}
	if (d->bytes > 0 && u->bytes + (uint64_t)d->bytes > q->bytes) {
		snprintf(why, whylen, "quota bytes: this community's services "
			 "and announcements may hold at most %" PRIu64
			 " bytes; they hold %" PRIu64 " and this adds %" PRId64,
			 q->bytes, u->bytes, d->bytes);
		return ERR_TOOBIG;
	}
	return ERR_OK;
}

void quota_usage_apply(struct quota_usage *u, const struct quota_delta *d)
{
	u->records = d->records < 0 && (uint64_t)-d->records > u->records
		     ? 0 : u->records + (uint64_t)d->records;
	u->bytes = d->bytes < 0 && (uint64_t)-d->bytes > u->bytes
		   ? 0 : u->bytes + (uint64_t)d->bytes;
}

/* ---- the rate bucket ---------------------------------------------------- */

double quota_bucket_level(const struct quota_bucket *b, uint64_t per_hour,
			  uint64_t capacity, int64_t now)
{
	double level;

	if (b->at == 0)
		return (double)capacity;
	level = b->tokens;
	if (now > b->at)
		level += (double)(now - b->at) * (double)per_hour / 3600.0;
	return level > (double)capacity ? (double)capacity : level;
}

int quota_bucket_take(struct quota_bucket *b, uint64_t per_hour,
		      uint64_t capacity, int64_t now, uint64_t n, char *why,
		      size_t whylen)
{
	double level = quota_bucket_level(b, per_hour, capacity, now);

	b->tokens = level;
	b->at = now > b->at ? now : b->at;
	if ((double)n > level) {
		double wait = per_hour ? ((double)n - level) * 3600.0 /
					 (double)per_hour : 0;

		if ((double)n > (double)capacity)
			snprintf(why, whylen, "quota changes_per_hour: %" PRIu64
				 " changes at once, more than this community "
				 "may make in an hour (%" PRIu64 ")", n,
				 per_hour);
		else
			snprintf(why, whylen, "quota changes_per_hour: this "
				 "community may make %" PRIu64 " creations and "
				 "updates an hour; %" PRIu64 " more fit in "
				 "about %.0f s", per_hour, n, wait + 0.5);
		return ERR_AGAIN;
	}
	b->tokens = level - (double)n;
	return ERR_OK;
}

/* ---- text forms --------------------------------------------------------- */

char *quota_format(const struct quota *q, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 " %" PRIu64 " %" PRIu64, q->records,
		 q->bytes, q->per_hour);
	return buf;
}

/* next_u64: one decimal number at *p (skipping one blank before it). */
static int next_u64(const char **p, uint64_t *v)
{
	char *end;

	if (**p == ' ')
		(*p)++;
	if (**p < '0' || **p > '9')
		return ERR_INVALID;
	errno = 0;
	*v = strtoull(*p, &end, 10);
	if (errno)
		return ERR_INVALID;
	*p = end;
	return ERR_OK;
}

int quota_parse(const char *text, struct quota *q)
{
	struct quota t;
	const char *p = text;

	if (!text || next_u64(&p, &t.records) || next_u64(&p, &t.bytes) ||
	    next_u64(&p, &t.per_hour) || *p)
		return ERR_INVALID;
	*q = t;
	return ERR_OK;
}

char *quota_bucket_format(const struct quota_bucket *b, char *buf,
			  size_t len)
{
	snprintf(buf, len, "%" PRIu64 " %" PRId64,
		 (uint64_t)(b->tokens * 1000.0), b->at);
	return buf;
}

int quota_bucket_parse(const char *text, struct quota_bucket *b)
{
	uint64_t milli, at;
	const char *p = text;

	if (!text || next_u64(&p, &milli) || next_u64(&p, &at) || *p ||
	    at > INT64_MAX)
		return ERR_INVALID;
	b->tokens = (double)milli / 1000.0;
	b->at = (int64_t)at;
	return ERR_OK;
}
