/* public.c: the hub's public port: residents' pages and the public API.
 *
 * Plain HTTP for a reverse proxy, or HTTPS with a public certificate. It
 * answers /healthz, the merged catalog (a search, or one service),
 * announcements and the communities' names; the resident pages under
 * [web] root are served from memory (lib/webfiles.h), those that carry
 * the bulletins in force rendered (lib/pages.h). Searches run on the searcher's threads
 * (catalog_http_search_async): the request waits until the answer comes
 * back (LWS_CALLBACK_EVENT_WAIT_CANCELLED).
 *
 * Parts: searches; the communities; routing; the callback. */
#include <string.h>

#include "bulletin_store.h"
#include "catalog_http.h"
#include "err.h"
#include "hub.h"
#include "indexer.h"
#include "pages.h"
#include "route.h"

/* ---- searches ------------------------------------------------------------ */

int hub_search_start(struct hub *hub, char *err, size_t errlen)
{
	return catalog_http_searches_start(hub_store_connect,
		hub->cfg.store_path, (int)hub->cfg.search_threads, hub->lws,
		&hub->searches, err, errlen);
}

/* search: GET /api/v1/catalog. Repeated queries are answered from the
 * cache while the merged catalog (its log head) stays the same, and only
 * once the index holds every record up to that head: an answer while it
 * lags may miss the newest and must not be kept. Both are known without
 * a statement (this thread's head; the indexer's published state), and
 * the search is made from a snapshot showing the generation the indexer
 * vouched with, so what it vouched for is in the answer. */
static void search(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	uint64_t head = catalog_log_head(hub->cat);
	int64_t gen;
	int idle = indexer_caught_up(hub->indexer, head, &gen);

	h->search_id = catalog_http_search_async(hub->searches, idle, head,
						 gen, wsi, &h->ex);
}

/* ---- the communities ----------------------------------------------------- */

static void community_name(struct community *c, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:s}", "id", c->id,
					     "name", c->name));
}

/* communities: GET /api/v1/communities: the registry's ids and display
 * names, the names residents see (no sync state: that is the
 * operators'). */
static void communities(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	json_t *items = json_array();

	registry_each(hub, community_name, items);
	http_reply_json(wsi, &h->ex, 200, json_pack("{s:o, s:i}", "items",
		items, "total", (int)hub->n_communities));
}

/* ---- routing ------------------------------------------------------------- */

static void on_healthz(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	struct hub *hub = hub_from_wsi(wsi);

	(void)ctx;
	(void)m;
	http_reply_json(wsi, ex, 200, json_pack("{s:s, s:s, s:i, s:i}",
		"status", "ok", "version", ALLIANCE_VERSION,
		"communities", (int)hub->n_communities,
		"sessions", (int)hub->n_sessions));
}

static void on_search(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m)
{
	(void)ex;
	(void)m;
	search(hub_from_wsi(wsi), wsi, ctx);
}

static void on_service(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	(void)ctx;
	(void)m;
	catalog_http_service(hub_from_wsi(wsi)->cat, wsi, ex);
}

static void on_communities(void *ctx, struct lws *wsi,
			   struct http_exchange *ex,
			   const struct route_match *m)
{
	(void)ex;
	(void)m;
	communities(hub_from_wsi(wsi), wsi, ctx);
}

static void on_announcements(void *ctx, struct lws *wsi,
			     struct http_exchange *ex,
			     const struct route_match *m)
{
	(void)ctx;
	(void)m;
	catalog_http_announcements(hub_from_wsi(wsi)->cat, NULL, wsi, ex);
}

/* The public port's routes (ctx: the struct hub_http): all public, all
 * GET. */
static const struct route public_routes[] = {
	{ ROUTE_GET, "/healthz", ROUTE_PUBLIC, on_healthz, 0 },
	{ ROUTE_GET, "/api/v1/catalog", ROUTE_PUBLIC, on_search, 0 },
	{ ROUTE_GET, CATALOG_HTTP_SERVICE_PREFIX "*", ROUTE_PUBLIC,
	  on_service, 0 },
	{ ROUTE_GET, "/api/v1/communities", ROUTE_PUBLIC, on_communities, 0 },
	{ ROUTE_GET, "/api/v1/announcements", ROUTE_PUBLIC,
	  on_announcements, 0 },
	{ ROUTE_GET, "/api/v1/bulletins", ROUTE_PUBLIC, hub_bulletin_public, 0 },
	{ ROUTE_GET, "/api/v1/bulletins.atom", ROUTE_PUBLIC,
	  hub_bulletin_atom, 0 },
	{ ROUTE_GET, "/api/v1/bulletins/{id}.cap", ROUTE_PUBLIC,
	  hub_bulletin_cap, 0 },
	{ ROUTE_GET, "/api/v1/bulletins/{id}", ROUTE_PUBLIC,
	  hub_bulletin_public, 0 },
	{ ROUTE_GET, "/api/v1/polls", ROUTE_PUBLIC, hub_polls_list, 0 },
	{ ROUTE_GET, "/api/v1/polls/{key}", ROUTE_PUBLIC, hub_polls_one, 0 },
	{ ROUTE_GET, "/api/v1/requests/stats", ROUTE_PUBLIC,
	  hub_requests_stats, 0 },
};

static const struct route_table public_table = {
	public_routes, sizeof(public_routes) / sizeof(public_routes[0]),
	NULL, NULL
};

/* route: the pages and files, else the table. */
static void route(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	if (!pages_serve(wsi, &h->ex, hub->db, hub->cfg.web_root,
			 &hub->pages) &&
	    !webfiles_serve(wsi, &h->ex, hub->cfg.web_root, NULL,
			    &hub->public_files))
		route_dispatch(&public_table, h, wsi, &h->ex);
}

/* ---- the callback ---------------------------------------------------------- */

int callback_public_http(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len)
{
	struct hub_http *h = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (http_pipelined(wsi))
			return -1;
		if (http_begin(wsi, &h->ex, in, LIMIT_HTTP_BODY) != ERR_OK)
			return 0;
		if (h->ex.body_expected)
			return 0;       /* route at BODY_COMPLETION */
		route(hub_from_wsi(wsi), wsi, h);
		return 0;
	case LWS_CALLBACK_HTTP_BODY:
		http_body(&h->ex, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (!h->ex.replying && h->ex.body_expected)
			route(hub_from_wsi(wsi), wsi, h);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writeable(wsi, &h->ex);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:   /* http_dropped */
		if (!h || !http_dropped(wsi, &h->ex))
			return 0;
		/* fallthrough */
	case LWS_CALLBACK_CLOSED_HTTP:
		/* NULL for a connection closed before lws gave it user data
		 * (a TLS handshake refused on an adopted socket) */
		if (h) {
			catalog_http_searches_closed(hub_from_wsi(wsi)->searches,
						     h->search_id);
			http_end(&h->ex);
		}
		return 0;
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		/* HTTPS: the SSL_CTX, for tls_reload to renew the certificate */
		hub_from_wsi(wsi)->public_ssl = user;
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* a search came back (or a signal came) */
		catalog_http_searches_drain(hub_from_wsi(wsi)->searches);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}
