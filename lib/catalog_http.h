/* catalog_http.h: the public catalog endpoints, served alike by hub and node.
 *
 * GET /api/v1/catalog?q=&category=&community=&delivery=&free=1&limit=&after=,
 * GET /api/v1/catalog/{community}/{id} (one service) and GET /api/v1/announcements?community=&limit=, with every parameter
 * checked (422 naming it) before the store is asked. */
#ifndef ALLIANCE_CATALOG_HTTP_H
#define ALLIANCE_CATALOG_HTTP_H

#include "catalog.h"
#include "http.h"

/* catalog_http_search: answer GET /api/v1/catalog on wsi into ex: 200
 * with {"items","next","total"}; 422 "invalid" naming the parameter (q
 * over 200 bytes or not UTF-8, unknown category or delivery, bad
 * community, free other than 1/0, limit not a whole number >= 1, bad
 * after); 500 on a store error. Empty values count as absent; limit
 * defaults to 20 and anything above 100 is 100. Route only GET here. */
void catalog_http_search(struct catalog *cat, struct lws *wsi,
			 struct http_exchange *ex);

/* A cache of search answers (opaque), for a daemon that can say when its
 * catalog changed: an answer is reused while the caller's version is the
 * same, for at most a minute. */
struct catalog_http_cache;

/* catalog_http_cache_new: an empty cache (free with
 * catalog_http_cache_free), or NULL when out of memory. */
struct catalog_http_cache *catalog_http_cache_new(void);

/* catalog_http_cache_free: free it and set the pointer to NULL. */
void catalog_http_cache_free(struct catalog_http_cache **cache);

/* catalog_http_search_cached: catalog_http_search, answering a query
 * seen before under the same version (any number that changes whenever
 * the catalog does, such as the hub's log head) from cache; 200 answers
 * only are kept. */
void catalog_http_search_cached(struct catalog *cat,
				struct catalog_http_cache *cache,
				uint64_t version, struct lws *wsi,
				struct http_exchange *ex);

/* The path prefix of one service: /api/v1/catalog/{community}/{id}. */
#define CATALOG_HTTP_SERVICE_PREFIX "/api/v1/catalog/"

/* catalog_http_service: answer GET /api/v1/catalog/{community}/{id} (the
 * path in ex) with one service as the catalog lists it (200), whatever
 * its status; 404 when there is no such live service or the path is not
 * of that form; 500 on a store error. Route only GET here. */
void catalog_http_service(struct catalog *cat, struct lws *wsi,
			  struct http_exchange *ex);

/* catalog_http_announcements: answer GET /api/v1/announcements
 * (?community=&limit=, checked as above) with the announcements not
 * expired now, newest first: 200 {"items":[...]}, 422, or 500. */
void catalog_http_announcements(struct catalog *cat, struct lws *wsi,
				struct http_exchange *ex);

#endif
