/* catalog_http.c: the public catalog endpoints, served alike by hub and node.
 *
 * Every query parameter is read, checked and turned into a 422 naming it
 * before the store is asked; only then does catalog_search or
 * catalog_announcements run. Error messages never echo what the client
 * sent, so they are always valid JSON text.
 *
 * Parts, in order: reading one parameter; the checks (limit, free, ids,
 * text); GET /api/v1/catalog; GET /api/v1/catalog/{community}/{id};
 * GET /api/v1/announcements. */
#include "catalog_http.h"

#include "clock.h"
#include "err.h"
#include "limits.h"
#include "text.h"

#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

/* Longest q in bytes (DESIGN.md: search text is short). */
#define CATALOG_HTTP_Q_MAX 200
/* Longest `after` token: anything longer is not one of ours. */
#define CATALOG_HTTP_AFTER_MAX 128
/* Longest category or delivery id worth comparing. */
#define CATALOG_HTTP_ID_MAX 64

/* ---- reading a parameter ------------------------------------------------ */

/* One parameter's value: absent, or its bytes (URL-decoded). */
struct catalog_param {
	int present;                     /* given and not empty */
	int too_long;                    /* longer than the caller's max */
	size_t len;
	char value[LIMIT_HTTP_URI + 1];
};

/* param_read: read name into p; an empty value counts as absent. A value
 * longer than max bytes sets too_long. */
static void param_read(struct lws *wsi, const char *name, size_t max,
		       struct catalog_param *p)
{
	int n = http_query(wsi, name, p->value, sizeof(p->value));

	p->present = n > 0;
	p->too_long = n > 0 && (size_t)n > max;
	p->len = n > 0 ? (size_t)n : 0;
	if (n <= 0)
		p->value[0] = '\0';
}

/* ---- checks ------------------------------------------------------------- */

/* limit_parse: a whole number 1.. ; above 100 (even past long) counts as
 * 100. Returns ERR_OK with *limit, or ERR_INVALID. */
static int limit_parse(const char *s, int *limit)
{
	char *end;
	long v;

	if (!*s)
		return ERR_INVALID;
	for (const char *c = s; *c; c++)
		if (*c < '0' || *c > '9')
			return ERR_INVALID;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end != '\0')
		return ERR_INVALID;
	if (errno == ERANGE || v > 100)
		v = 100;
	if (v < 1)
		return ERR_INVALID;
	*limit = (int)v;
	return ERR_OK;
}

/* limit_param: read `limit` into *limit (default dflt); on a bad value
 * stores a 422 and returns ERR_INVALID. */
static int limit_param(struct lws *wsi, struct http_exchange *ex,
		       struct catalog_param *p, int dflt, int *limit)
{
	param_read(wsi, "limit", LIMIT_HTTP_URI, p); /* any digits: clamped */
	*limit = dflt;
	if (!p->present)
		return ERR_OK;
	if (p->too_long || limit_parse(p->value, limit) != ERR_OK) {
		http_reply_error(wsi, ex, 422, "invalid", "limit: must be a "
				 "whole number from 1 to 100");
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* community_param: read `community`; absent leaves *out NULL. On a value
 * that is not a community id stores a 422 and returns ERR_INVALID. */
static int community_param(struct lws *wsi, struct http_exchange *ex,
			   struct catalog_param *p, const char **out)
{
	param_read(wsi, "community", LIMIT_COMMUNITY_ID, p);
	*out = NULL;
	if (!p->present)
		return ERR_OK;
	if (p->too_long || !text_community_valid(p->value)) {
		http_reply_error(wsi, ex, 422, "invalid", "community: not a "
				 "community id ([a-z0-9][a-z0-9-]{1,62})");
		return ERR_INVALID;
	}
	*out = p->value;
	return ERR_OK;
}

static void reply_store_error(struct lws *wsi, struct http_exchange *ex,
			      int rc)
{
	if (rc == ERR_NOMEM)
		http_reply_error(wsi, ex, 500, "internal", "out of memory");
	else
		http_reply_error(wsi, ex, 500, "internal",
				 "the catalog could not be read");
}

/* ---- GET /api/v1/catalog ------------------------------------------------ */

/* ---- the search cache ---------------------------------------------------- */

/* Slots of the search cache (direct-mapped by a hash of the query). */
#define CACHE_SLOTS 256
/* Longest an answer is reused while the version does not move: a bound
 * on staleness should anything change the catalog without moving the
 * caller's version (at the hub nothing does: every stored change is
 * logged). Short enough to be safe, long enough that re-running a
 * popular query (tens of ms over 100,000 services) stays out of p99. */
#define CATALOG_HTTP_CACHE_TTL_MS 60000

struct cache_slot {
	char *key;                  /* the query's parameters, NULL: empty */
	char *body;                 /* the 200 answer (JSON text) */
	size_t len;
	uint64_t version;           /* the caller's version it was made at */
	int64_t made_ms;            /* monotonic ms */
};

struct catalog_http_cache {
	struct cache_slot slots[CACHE_SLOTS];
};

struct catalog_http_cache *catalog_http_cache_new(void)
{
	return calloc(1, sizeof(struct catalog_http_cache));
}

static void slot_clear(struct cache_slot *s)
{
	free(s->key);
	free(s->body);
	memset(s, 0, sizeof(*s));
}

void catalog_http_cache_free(struct catalog_http_cache **cache)
{
	if (!*cache)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		slot_clear(&(*cache)->slots[i]);
	free(*cache);
	*cache = NULL;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* cache_key: the checked query as one string (caller frees), or NULL. */
static char *cache_key(const struct catalog_query *q)
{
	char *key = NULL;

	if (asprintf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%d\x1f%d\x1f%s",
		     q->q ? q->q : "", q->category ? q->category : "",
		     q->community ? q->community : "",
		     q->delivery ? q->delivery : "", q->free_only,
		     (int)q->limit, q->after ? q->after : "") < 0)
		return NULL;
	return key;
}

static unsigned cache_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % CACHE_SLOTS;
}

/* search_answer: run the checked query and reply; with a cache, reuse
 * or keep the answer. */
static void search_answer(struct catalog *cat, struct catalog_http_cache *cache,
			  uint64_t version, const struct catalog_query *query,
			  struct lws *wsi, struct http_exchange *ex)
{
	struct cache_slot *slot = NULL;
	json_t *out = NULL;
	char why[256] = "", *key = NULL, *text, *copy;
	int64_t now = mono_ms();
	int rc;

	if (cache && (key = cache_key(query))) {
		slot = &cache->slots[cache_hash(key)];
		if (slot->key && slot->version == version &&
		    now - slot->made_ms < CATALOG_HTTP_CACHE_TTL_MS &&
		    strcmp(slot->key, key) == 0 &&
		    (copy = malloc(slot->len + 1))) {
			memcpy(copy, slot->body, slot->len + 1);
			http_reply(wsi, ex, 200, "application/json; "
				   "charset=utf-8", copy, slot->len);
			free(key);
			return;
		}
	}
	rc = catalog_search(cat, query, &out, why, sizeof(why));
	if (rc == ERR_INVALID) {
		http_reply_error(wsi, ex, 422, "invalid", "%s", why);
	} else if (rc != ERR_OK) {
		reply_store_error(wsi, ex, rc);
	} else if (!slot || !(text = json_dumps(out, JSON_COMPACT))) {
		http_reply_json(wsi, ex, 200, out);
		out = NULL;
	} else {
		size_t len = strlen(text);

		slot_clear(slot);
		copy = malloc(len + 1);
		if (copy) {
			memcpy(copy, text, len + 1);
			slot->key = key;
			slot->body = text;
			slot->len = len;
			slot->version = version;
			slot->made_ms = now;
			key = NULL;
			http_reply(wsi, ex, 200, "application/json; "
				   "charset=utf-8", copy, len);
		} else {
			free(text);
			http_reply_json(wsi, ex, 200, out);
			out = NULL;
		}
	}
	json_decref(out);
	free(key);
}

/* catalog_http_search: see catalog_http.h. Parameters: q (at most 200
 * bytes of UTF-8 text), category and delivery (known ids), community (a
 * community id), free (1, or 0/absent), limit (1.., default 20, above
 * 100 clamped), after (a `next`). An empty value is the same as absent.
 * Replies 200 with catalog_search's object, 422 naming a bad parameter,
 * or 500. The caller routes only GET here. */
static void search(struct catalog *cat, struct catalog_http_cache *cache,
		   uint64_t version, struct lws *wsi, struct http_exchange *ex)
{
	struct catalog_param *p = malloc(7 * sizeof(*p));
	struct catalog_param *q, *category, *community, *delivery, *fr,
			     *limit, *after;
	struct catalog_query query;

	if (!p) {
		reply_store_error(wsi, ex, ERR_NOMEM);
		return;
	}
	q = &p[0];
	category = &p[1];
	community = &p[2];
	delivery = &p[3];
	fr = &p[4];
	limit = &p[5];
	after = &p[6];
	memset(&query, 0, sizeof(query));

	param_read(wsi, "q", CATALOG_HTTP_Q_MAX, q);
	if (q->present && (q->too_long ||
			   !text_utf8_valid(q->value, q->len))) {
		http_reply_error(wsi, ex, 422, "invalid", "q: must be at most "
				 "%d bytes of UTF-8 text", CATALOG_HTTP_Q_MAX);
		goto out;
	}
	query.q = q->present ? q->value : NULL;

	param_read(wsi, "category", CATALOG_HTTP_ID_MAX, category);
	if (category->present) {
		if (category->too_long || !catalog_is_category(category->value)) {
			http_reply_error(wsi, ex, 422, "invalid", "category: "
					 "not a category id (elderly-care, "
					 "health-maternity, family-children, "
					 "disability, housing, environment, "
					 "public-safety, employment, "
					 "legal-civil, education-culture, "
					 "neighbourhood-life, other)");
			goto out;
		}
		query.category = category->value;
	}

	if (community_param(wsi, ex, community, &query.community) != ERR_OK)
		goto out;

	param_read(wsi, "delivery", CATALOG_HTTP_ID_MAX, delivery);
	if (delivery->present) {
		if (delivery->too_long || !catalog_is_delivery(delivery->value)) {
			http_reply_error(wsi, ex, 422, "invalid", "delivery: "
					 "not one of walk-in, home-visit, "
					 "online, phone");
			goto out;
		}
		query.delivery = delivery->value;
	}

	param_read(wsi, "free", 1, fr);
	if (fr->present) {
		if (fr->too_long || (strcmp(fr->value, "1") != 0 &&
				     strcmp(fr->value, "0") != 0)) {
			http_reply_error(wsi, ex, 422, "invalid",
					 "free: must be 1 (or absent)");
			goto out;
		}
		query.free_only = fr->value[0] == '1';
	}

	if (limit_param(wsi, ex, limit, 20, &query.limit) != ERR_OK)
		goto out;

	param_read(wsi, "after", CATALOG_HTTP_AFTER_MAX, after);
	if (after->present) {
		if (after->too_long) {
			http_reply_error(wsi, ex, 422, "invalid", "after: not "
					 "a `next` value of this search");
			goto out;
		}
		query.after = after->value;
	}

	search_answer(cat, cache, version, &query, wsi, ex);
out:
	free(p);
}

void catalog_http_search(struct catalog *cat, struct lws *wsi,
			 struct http_exchange *ex)
{
	search(cat, NULL, 0, wsi, ex);
}

void catalog_http_search_cached(struct catalog *cat,
				struct catalog_http_cache *cache,
				uint64_t version, struct lws *wsi,
				struct http_exchange *ex)
{
	search(cat, cache, version, wsi, ex);
}

/* ---- GET /api/v1/catalog/{community}/{id} -------------------------------- */

/* catalog_http_service: see catalog_http.h. The path is the exchange's
 * decoded path; anything but exactly two segments after the prefix, a
 * community id and a record id, is a 404 like an unknown service. */
void catalog_http_service(struct catalog *cat, struct lws *wsi,
			  struct http_exchange *ex)
{
	char community[LIMIT_COMMUNITY_ID + 1];
	const char *rest, *slash, *id;
	size_t clen;
	Change *ch = NULL;
	json_t *out;
	int rc;

	if (strncmp(ex->path, CATALOG_HTTP_SERVICE_PREFIX,
		    strlen(CATALOG_HTTP_SERVICE_PREFIX)) != 0)
		goto not_found;
	rest = ex->path + strlen(CATALOG_HTTP_SERVICE_PREFIX);
	slash = strchr(rest, '/');
	if (!slash)
		goto not_found;
	clen = (size_t)(slash - rest);
	id = slash + 1;
	if (clen == 0 || clen > LIMIT_COMMUNITY_ID || strchr(id, '/'))
		goto not_found;
	memcpy(community, rest, clen);
	community[clen] = '\0';
	if (!text_community_valid(community) || !text_record_id_valid(id))
		goto not_found;
	rc = catalog_get(cat, community, ALLIANCE__V1__KIND__KIND_SERVICE, id,
			 &ch);
	if (rc == ERR_NOTFOUND || (rc == ERR_OK && ch->deleted))
		goto not_found;
	if (rc != ERR_OK) {
		catalog_change_free(&ch);
		reply_store_error(wsi, ex, rc);
		return;
	}
	out = catalog_change_json(ch);
	catalog_change_free(&ch);
	if (!out) {
		reply_store_error(wsi, ex, ERR_NOMEM);
		return;
	}
	http_reply_json(wsi, ex, 200, out);
	return;
not_found:
	catalog_change_free(&ch);
	http_reply_error(wsi, ex, 404, "not_found", "no such service");
}

/* ---- GET /api/v1/announcements ------------------------------------------ */

/* catalog_http_announcements: see catalog_http.h. Parameters: community
 * (a community id) and limit (1.., default 20, above 100 clamped).
 * Replies 200 {"items":[...]} of announcements not expired now, 422
 * naming a bad parameter, or 500. */
void catalog_http_announcements(struct catalog *cat, struct lws *wsi,
				struct http_exchange *ex)
{
	struct catalog_param *p = malloc(sizeof(*p));
	const char *community = NULL;
	char community_id[LIMIT_COMMUNITY_ID + 1];
	json_t *out = NULL;
	int limit, rc;

	if (!p) {
		reply_store_error(wsi, ex, ERR_NOMEM);
		return;
	}
	if (community_param(wsi, ex, p, &community) != ERR_OK)
		goto out;
	if (community) {
		memcpy(community_id, p->value, p->len + 1);
		community = community_id;
	}
	if (limit_param(wsi, ex, p, 20, &limit) != ERR_OK)
		goto out;
	rc = catalog_announcements(cat, clock_now(), community, limit, &out);
	if (rc != ERR_OK)
		reply_store_error(wsi, ex, rc);
	else
		http_reply_json(wsi, ex, 200, out);
out:
	free(p);
}
