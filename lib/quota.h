/* quota.h: what one community may make every other store hold — the rule
 * hub and node share.
 *
 * A community's quota bounds its live records (services and
 * announcements), the packed bytes of their bodies, and its creations and
 * updates per hour (a token bucket). The hub announces it in Welcome; the
 * node refuses a manager's edit that would pass it (429 naming the quota)
 * and the hub closes a session that sends past it anyway (4413).
 * Deletions, and changes that do not grow what is stored, are always
 * taken, so a lowered quota never stalls a node's log: it only stops
 * growth. Parts: the quota; one change's effect; admitting it; the rate
 * bucket; the text form nodes and hub keep in their stores. */
#ifndef ALLIANCE_QUOTA_H
#define ALLIANCE_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* A community's quota. */
struct quota {
	uint64_t records;           /* live services and announcements */
	uint64_t bytes;             /* packed bytes of their bodies */
	uint64_t per_hour;          /* creations and updates per hour */
};

/* What a community holds now. */
struct quota_usage {
	uint64_t records;           /* live services and announcements */
	uint64_t bytes;             /* packed bytes of their bodies */
};

/* What one change (or a batch of them, summed) does to a usage. */
struct quota_delta {
	int64_t records;            /* +1 a new live record, -1 a deletion */
	int64_t bytes;              /* the body's growth (negative: shrinks) */
	uint64_t changes;           /* creations and updates (rate cost) */
};

/* A token bucket of changes. Zero it to start full. */
struct quota_bucket {
	double tokens;              /* changes that may be made now */
	int64_t at;                 /* unix seconds of the last fill; 0 new */
};

/* quota_defaults: the defaults of lib/alliance_limits.h (LIMIT_QUOTA_*). */
void quota_defaults(struct quota *q);

/* quota_from_welcome: the quota w announces; a field the hub left 0 (an
 * older hub) keeps q's value. */
void quota_from_welcome(const Alliance__V1__Welcome *w, struct quota *q);

/* quota_to_welcome: fill w's quota fields from q. */
void quota_to_welcome(const struct quota *q, Alliance__V1__Welcome *w);

/* quota_max: each field the larger of a's and b's, into out. */
void quota_max(struct quota *out, const struct quota *a,
	       const struct quota *b);

/* quota_body_bytes: the bytes ch's body counts for (its packed service or
 * announcement); 0 for a tombstone or another kind. */
uint64_t quota_body_bytes(const Alliance__V1__Change *ch);

/* quota_delta_add: add to d what ch does to a community that holds the
 * record as old_live (1 live, 0 absent or deleted) with old_bytes. */
void quota_delta_add(struct quota_delta *d, int old_live, uint64_t old_bytes,
		     const Alliance__V1__Change *ch);

/* quota_admit: whether usage u may take d under q: records and bytes may
 * not pass their quota unless d does not grow them. Returns ERR_OK, or
 * ERR_TOOBIG with "quota records: ..." or "quota bytes: ..." in why. The
 * rate is the bucket's (quota_bucket_take). */
int quota_admit(const struct quota *q, const struct quota_usage *u,
		const struct quota_delta *d, char *why, size_t whylen);

/* quota_usage_apply: u after d (never below zero). */
void quota_usage_apply(struct quota_usage *u, const struct quota_delta *d);

/* quota_bucket_take: fill b at per_hour an hour up to capacity (a new
 * bucket starts full) as of now, then take n tokens. Returns ERR_OK, or
 * ERR_AGAIN (b unchanged but for the fill) with "quota changes_per_hour:
 * ..." and the seconds until they fit in why. */
int quota_bucket_take(struct quota_bucket *b, uint64_t per_hour,
		      uint64_t capacity, int64_t now, uint64_t n, char *why,
		      size_t whylen);

/* quota_bucket_level: the tokens b holds at now (filled, not taken). */
double quota_bucket_level(const struct quota_bucket *b, uint64_t per_hour,
			  uint64_t capacity, int64_t now);

/* quota_format: q as "RECORDS BYTES PER_HOUR" into buf. Returns buf. */
#define QUOTA_TEXT_LEN 64
char *quota_format(const struct quota *q, char *buf, size_t len);

/* quota_parse: the text of quota_format into q. ERR_OK or ERR_INVALID
 * (q unchanged). */
int quota_parse(const char *text, struct quota *q);

/* quota_bucket_format, quota_bucket_parse: a bucket as "TOKENS AT" and
 * back (ERR_OK or ERR_INVALID, b unchanged), so a node keeps it in its
 * store across restarts. */
char *quota_bucket_format(const struct quota_bucket *b, char *buf,
			  size_t len);
int quota_bucket_parse(const char *text, struct quota_bucket *b);

#endif
