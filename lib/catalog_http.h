/* catalog_http.h: the public catalog endpoints, served alike by hub and node.
 *
 * GET /api/v1/catalog?q=&category=&community=&delivery=&free=1&limit=&after=,
 * GET /api/v1/catalog/{community}/{id} (one service) and GET /api/v1/announcements?community=&limit=, with every parameter
 * checked (422 naming it) before the store is asked. */
#ifndef ALLIANCE_CATALOG_HTTP_H
#define ALLIANCE_CATALOG_HTTP_H

#include "catalog.h"
#include "http.h"
#include "searcher.h"

/* The public searches of a daemon, on a searcher's threads (searcher.h):
 * the searcher, the requests waiting for it and a cache of answers, each
 * reused while the caller's version of the catalog is the same, for at
 * most a minute. */
struct catalog_http_searches;

/* The daemon's way to open another connection to its store at path
 * (migrated like its first), as hub_store_connect and node_store_connect
 * do. */
typedef int (*catalog_http_connect_fn)(const char *path, sqlite3 **db,
				       char *err, size_t errlen);

/* catalog_http_searches_start: a searcher of n threads (1..16), each on a
 * connection that open_db opens at path, announcing answers with
 * lws_cancel_service(lws). ERR_OK with *out, or an err code and text. */
int catalog_http_searches_start(catalog_http_connect_fn open_db,
				const char *path, int n,
				struct lws_context *lws,
				struct catalog_http_searches **out,
				char *err, size_t errlen);

/* catalog_http_searches_prefer: from now on a listing without text shows
 * origin's services first (a node's own community; catalog_query.prefer).
 * Call before the first search. */
void catalog_http_searches_prefer(struct catalog_http_searches *s,
				  const char *origin);

/* catalog_http_searches_stop: end the threads (before the lws context
 * goes: they wake it); later requests get a 500. catalog_http_searches_free
 * frees the rest (after the context: closing connections report to it)
 * and sets *s to NULL. */
void catalog_http_searches_stop(struct catalog_http_searches *s);
void catalog_http_searches_free(struct catalog_http_searches **s);

/* catalog_http_search_async: GET /api/v1/catalog on the searcher: 200
 * with catalog_search's object, or 422 "invalid" naming the parameter (q
 * over 200 bytes or not UTF-8, unknown category or delivery, bad
 * community, free other than 1/0, limit not a whole number >= 1, bad
 * after; empty values count as absent; limit defaults to 20 and anything
 * above 100 is 100), stored in ex at once,
 * an answer from the cache stored in ex when cacheable and the cache
 * holds the query at version (any number that changes whenever the
 * catalog does, such as the hub's log head), or else the search queued.
 * Returns the id the request now waits under (keep it for
 * catalog_http_searches_closed), or 0 when ex holds the reply (also a 503
 * "busy" with SEARCHER_JOBS_MAX searches under way). A 200 answer of a
 * cacheable search is kept under version. The search shows index
 * generation gen or a later one (search_job.gen; indexer_caught_up's,
 * which vouches for a cacheable answer made so) and every change up to
 * version, a log head (the hub's: every catalog change it stores is
 * logged); version 0: every committed change. */
uint64_t catalog_http_search_async(struct catalog_http_searches *s,
				   int cacheable, uint64_t version,
				   int64_t gen, struct lws *wsi,
				   struct http_exchange *ex);

/* catalog_http_searches_drain: at LWS_CALLBACK_EVENT_WAIT_CANCELLED,
 * store the answers that came back as their requests' replies. */
void catalog_http_searches_drain(struct catalog_http_searches *s);

/* catalog_http_searches_closed: the request waiting under id has gone
 * (LWS_CALLBACK_CLOSED_HTTP): its answer will be dropped. */
void catalog_http_searches_closed(struct catalog_http_searches *s,
				  uint64_t id);

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
 * expired now, prefer's first (a node's own community; NULL: none), then
 * newest first: 200 {"items":[...]}, 422, or 500. */
void catalog_http_announcements(struct catalog *cat, const char *prefer,
				struct lws *wsi,
				struct http_exchange *ex);

#endif
