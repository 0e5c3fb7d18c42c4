/* catalog_http.c: the public catalog endpoints, served alike by hub and node.
 *
 * Every query parameter is read, checked and turned into a 422 naming it
 * before the store is asked; only then does catalog_search or
 * catalog_announcements run. Error messages never echo what the client
 * sent, so they are always valid JSON text. Searches run on a searcher's
 * threads (searcher.h); the request waits in a table of waits until its
 * answer comes back, and repeated ones are answered from a cache.
 *
 * Parts, in order: reading one parameter; the checks (limit, free, ids,
 * text); GET /api/v1/catalog: the cache, replies, the parameters,
 * searches on a searcher's threads; GET /api/v1/catalog/{community}/{id};
 * GET /api/v1/announcements. */
#include "catalog_http.h"

#include "clock.h"
#include "err.h"
#include "alliance_limits.h"
#include "store.h"
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
 * logged). Short enough to be safe, long enough that a popular query is
 * answered from memory (40,000 a second, against about 1,000 searched). */
#define CATALOG_HTTP_CACHE_TTL_MS 60000

struct cache_slot {
	char *key;                  /* the query's parameters, NULL: empty */
	struct http_shared *answer; /* the 200 answer (JSON text) and its
				       ETag, sent by every reply from it */
	uint64_t version;           /* the caller's version it was made at */
	int64_t made_ms;            /* monotonic ms */
};

struct catalog_http_cache {
	struct cache_slot slots[CACHE_SLOTS];
};

static struct catalog_http_cache *cache_new(void)
{
	return calloc(1, sizeof(struct catalog_http_cache));
}

static void slot_clear(struct cache_slot *s)
{
	free(s->key);
	http_shared_release(&s->answer);
	memset(s, 0, sizeof(*s));
}

static void cache_free(struct catalog_http_cache **cache)
{
	if (!*cache)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		slot_clear(&(*cache)->slots[i]);
	free(*cache);
	*cache = NULL;
}

/* cache_key: the checked query as one string (caller frees), or NULL. */
static char *cache_key(const struct catalog_query *q)
{
	char *key = NULL;

	if (asprintf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%d\x1f%d\x1f%s\x1f%s",
		     q->q ? q->q : "", q->category ? q->category : "",
		     q->community ? q->community : "",
		     q->delivery ? q->delivery : "", q->free_only,
		     (int)q->limit, q->after ? q->after : "",
		     q->prefer ? q->prefer : "") < 0)
		return NULL;
	return key;
}

static unsigned cache_hash(const char *s)
{
	return text_hash(s) % CACHE_SLOTS;
}

/* cache_reply: answer query from cache when it holds it at version;
 * returns 1 when it did. */
static int cache_reply(struct catalog_http_cache *cache, uint64_t version,
		       const struct catalog_query *query, struct lws *wsi,
		       struct http_exchange *ex)
{
	struct cache_slot *slot;
	char *key = cache_key(query);

	if (!key)
		return 0;
	slot = &cache->slots[cache_hash(key)];
	if (!slot->key || slot->version != version ||
	    (int64_t)clock_mono_ms() - slot->made_ms >= CATALOG_HTTP_CACHE_TTL_MS ||
	    strcmp(slot->key, key) != 0) {
		free(key);
		return 0;
	}
	http_reply_shared(wsi, ex, "application/json; charset=utf-8",
			  slot->answer);
	free(key);
	return 1;
}

/* reply_answer: store the 200 answer text (taken; etag its ETag) as ex's
 * reply and, with a cache, keep both under query and version (the reply
 * and the cache then share one copy). */
static void reply_answer(struct catalog_http_cache *cache, uint64_t version,
			 const struct catalog_query *query, char *text,
			 size_t len, const char *etag, struct lws *wsi,
			 struct http_exchange *ex)
{
	char *key = cache ? cache_key(query) : NULL;
	struct http_shared *answer;

	if (key && (answer = http_shared_new(text, len, etag))) {
		struct cache_slot *slot = &cache->slots[cache_hash(key)];

		slot_clear(slot);
		slot->key = key;
		slot->answer = answer;
		slot->version = version;
		slot->made_ms = (int64_t)clock_mono_ms();
		free(text);
		http_reply_shared(wsi, ex, "application/json; charset=utf-8",
				  answer);
		return;
	}
	free(key);
	http_reply_tagged(wsi, ex, "application/json; charset=utf-8", text,
			  len, etag);
}

/* reply_result: the reply of a search that returned rc (why, or the
 * answer text, taken, and its ETag, when ERR_OK). */
static void reply_result(struct catalog_http_cache *cache, uint64_t version,
			 const struct catalog_query *query, int rc,
			 const char *why, char *text, size_t len,
			 const char *etag, struct lws *wsi,
			 struct http_exchange *ex)
{
	if (rc == ERR_INVALID)
		http_reply_error(wsi, ex, 422, "invalid", "%s", why);
	else if (rc != ERR_OK)
		reply_store_error(wsi, ex, rc);
	else
		reply_answer(cache, version, query, text, len, etag, wsi, ex);
}

/* search_query: read and check GET /api/v1/catalog's parameters into
 * query, whose strings then point into p[0..SEARCH_PARAMS). q: at most
 * 200 bytes of UTF-8 text; category and delivery: known ids; community:
 * a community id; free: 1, or 0/absent; limit: 1.., default 20, above
 * 100 clamped; after: a `next`. An empty value is the same as absent. On
 * a bad one stores a 422 naming it and returns ERR_INVALID. */
#define SEARCH_PARAMS 7
static int search_query(struct lws *wsi, struct http_exchange *ex,
			struct catalog_param *p, struct catalog_query *query)
{
	struct catalog_param *q = &p[0], *category = &p[1],
			     *community = &p[2], *delivery = &p[3],
			     *fr = &p[4], *limit = &p[5], *after = &p[6];

	memset(query, 0, sizeof(*query));
	param_read(wsi, "q", CATALOG_HTTP_Q_MAX, q);
	if (q->present && (q->too_long ||
			   !text_utf8_valid(q->value, q->len))) {
		http_reply_error(wsi, ex, 422, "invalid", "q: must be at most "
				 "%d bytes of UTF-8 text", CATALOG_HTTP_Q_MAX);
		return ERR_INVALID;
	}
	query->q = q->present ? q->value : NULL;

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
			return ERR_INVALID;
		}
		query->category = category->value;
	}

	if (community_param(wsi, ex, community, &query->community) != ERR_OK)
		return ERR_INVALID;

	param_read(wsi, "delivery", CATALOG_HTTP_ID_MAX, delivery);
	if (delivery->present) {
		if (delivery->too_long || !catalog_is_delivery(delivery->value)) {
			http_reply_error(wsi, ex, 422, "invalid", "delivery: "
					 "not one of walk-in, home-visit, "
					 "online, phone");
			return ERR_INVALID;
		}
		query->delivery = delivery->value;
	}

	param_read(wsi, "free", 1, fr);
	if (fr->present) {
		if (fr->too_long || (strcmp(fr->value, "1") != 0 &&
				     strcmp(fr->value, "0") != 0)) {
			http_reply_error(wsi, ex, 422, "invalid",
					 "free: must be 1 (or absent)");
			return ERR_INVALID;
		}
		query->free_only = fr->value[0] == '1';
	}

	if (limit_param(wsi, ex, limit, 20, &query->limit) != ERR_OK)
		return ERR_INVALID;

	param_read(wsi, "after", CATALOG_HTTP_AFTER_MAX, after);
	if (after->present) {
		if (after->too_long) {
			http_reply_error(wsi, ex, 422, "invalid", "after: not "
					 "a `next` value of this search");
			return ERR_INVALID;
		}
		query->after = after->value;
	}
	return ERR_OK;
}

/* ---- searches on a searcher's threads ----------------------------------- */

/* A request waiting for its search. */
struct search_wait {
	uint64_t id;                /* the job's; 0: a free slot */
	struct lws *wsi;
	struct http_exchange *ex;   /* wsi's */
	uint64_t version;           /* the catalog's when it was asked */
	int cacheable;              /* keep the answer under version */
};

struct catalog_http_searches {
	struct searcher *searcher;
	struct catalog_http_cache *cache;
	struct search_wait waits[SEARCHER_JOBS_MAX];
	uint64_t last_id;
	char prefer[LIMIT_COMMUNITY_ID + 1]; /* listings show it first */
};

/* catalog_http_searches_prefer: see catalog_http.h. */
void catalog_http_searches_prefer(struct catalog_http_searches *s,
				  const char *origin)
{
	if (s && origin && strlen(origin) < sizeof(s->prefer))
		memcpy(s->prefer, origin, strlen(origin) + 1);
}

int catalog_http_searches_start(catalog_http_connect_fn open_db,
				const char *path, int n,
				struct lws_context *lws,
				struct catalog_http_searches **out,
				char *err, size_t errlen)
{
	struct catalog_http_searches *s = calloc(1, sizeof(*s));
	sqlite3 *dbs[16] = { NULL };
	int rc;

	*out = NULL;
	if (!s || !(s->cache = cache_new())) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	if (n < 1 || n > 16)
		n = n < 1 ? 1 : 16;
	for (int i = 0; i < n; i++)
		if (open_db(path, &dbs[i], err, errlen) != ERR_OK) {
			while (i-- > 0)
				store_close(&dbs[i]);
			catalog_http_searches_free(&s);
			return ERR_IO;
		}
	rc = searcher_start(dbs, n, lws, &s->searcher, err, errlen);
	if (rc != ERR_OK) {
		catalog_http_searches_free(&s);
		return rc;
	}
	*out = s;
	return ERR_OK;
}

void catalog_http_searches_stop(struct catalog_http_searches *s)
{
	if (s)
		searcher_stop(&s->searcher);
}

void catalog_http_searches_free(struct catalog_http_searches **s)
{
	if (!s || !*s)
		return;
	searcher_stop(&(*s)->searcher);
	cache_free(&(*s)->cache);
	free(*s);
	*s = NULL;
}

/* wait_find: the wait of job id (0: a free slot), or NULL. */
static struct search_wait *wait_find(struct catalog_http_searches *s,
				     uint64_t id)
{
	for (size_t i = 0; i < SEARCHER_JOBS_MAX; i++)
		if (s->waits[i].id == id)
			return &s->waits[i];
	return NULL;
}

/* catalog_http_search_async: see catalog_http.h. */
uint64_t catalog_http_search_async(struct catalog_http_searches *s,
				   int cacheable, uint64_t version,
				   int64_t gen, struct lws *wsi,
				   struct http_exchange *ex)
{
	struct catalog_param *p;
	struct search_wait *w;
	struct catalog_query query;
	struct search_job *job = NULL;
	uint64_t id = 0;

	if (!s || !s->searcher || !(p = malloc(SEARCH_PARAMS * sizeof(*p)))) {
		reply_store_error(wsi, ex, s && s->searcher ? ERR_NOMEM
							     : ERR_IO);
		return 0;
	}
	w = wait_find(s, 0);
	if (search_query(wsi, ex, p, &query) != ERR_OK)
		goto out;
	if (s->prefer[0])
		query.prefer = s->prefer;
	if (cacheable && cache_reply(s->cache, version, &query, wsi, ex))
		goto out;
	if (w && !(job = search_job_new(s->last_id + 1, &query))) {
		reply_store_error(wsi, ex, ERR_NOMEM);
		goto out;
	}
	if (job) {
		job->gen = gen;
		job->head = version ? version : UINT64_MAX;
	}
	if (!w || searcher_submit(s->searcher, job) != ERR_OK) {
		search_job_free(job);
		http_reply_error(wsi, ex, 503, "busy", "too many searches at "
				 "once: try again in a moment");
		goto out;
	}
	id = ++s->last_id;
	*w = (struct search_wait){ id, wsi, ex, version, cacheable };
out:
	free(p);
	return id;
}

void catalog_http_searches_drain(struct catalog_http_searches *s)
{
	struct search_job *job = s && s->searcher ?
				 searcher_take_done(s->searcher) : NULL;

	while (job) {
		struct search_job *next = job->next;
		struct search_wait *w = wait_find(s, job->id);

		if (w) {
			char *text = job->body;

			job->body = NULL;
			reply_result(w->cacheable ? s->cache : NULL,
				     w->version, &job->query, job->rc, job->why,
				     text, job->len, job->etag, w->wsi, w->ex);
			w->id = 0;
		}
		search_job_free(job);
		job = next;
	}
}

void catalog_http_searches_closed(struct catalog_http_searches *s,
				  uint64_t id)
{
	struct search_wait *w = s && id ? wait_find(s, id) : NULL;

	if (w)
		w->id = 0;
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
void catalog_http_announcements(struct catalog *cat, const char *prefer,
				struct lws *wsi,
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
	rc = catalog_announcements(cat, clock_now(), community, prefer, limit,
				   &out);
	if (rc != ERR_OK)
		reply_store_error(wsi, ex, rc);
	else
		http_reply_json(wsi, ex, 200, out);
out:
	free(p);
}
