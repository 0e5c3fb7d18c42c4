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
#include "pages.h"

/* ---- searches ------------------------------------------------------------ */

int hub_search_start(struct hub *hub, char *err, size_t errlen)
{
	return catalog_http_searches_start(hub_store_connect,
		hub->cfg.store_path, (int)hub->cfg.search_threads, hub->lws,
		&hub->searches, err, errlen);
}

/* search: GET /api/v1/catalog. Repeated queries are answered from the
 * cache while the merged catalog (its log head) stays the same, and only
 * once the index holds every record: an answer while it lags may miss
 * the newest and must not be kept. The indexer only empties the queue and
 * this thread is the only one writing services, so a search that starts
 * while the index is complete sees it complete. */
static void search(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	h->search_id = catalog_http_search_async(hub->searches,
		catalog_index_idle(hub->cat), catalog_log_head(hub->cat), wsi,
		&h->ex);
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

static void route(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	if (pages_serve(wsi, &h->ex, hub->db, hub->cfg.web_root, &hub->pages) ||
	    webfiles_serve(wsi, &h->ex, hub->cfg.web_root, NULL,
			   &hub->public_files))
		return;
	if (strcmp(h->ex.path, "/healthz") == 0 && h->ex.method == HTTP_GET) {
		http_reply_json(wsi, &h->ex, 200, json_pack(
			"{s:s, s:s, s:i, s:i}", "status", "ok",
			"version", ALLIANCE_VERSION,
			"communities", (int)hub->n_communities,
			"sessions", (int)hub->n_sessions));
		return;
	}
	if (strcmp(h->ex.path, "/api/v1/catalog") == 0 &&
	    h->ex.method == HTTP_GET) {
		search(hub, wsi, h);
		return;
	}
	if (strncmp(h->ex.path, CATALOG_HTTP_SERVICE_PREFIX,
		    strlen(CATALOG_HTTP_SERVICE_PREFIX)) == 0 &&
	    h->ex.method == HTTP_GET) {
		catalog_http_service(hub->cat, wsi, &h->ex);
		return;
	}
	if (strcmp(h->ex.path, "/api/v1/communities") == 0 &&
	    h->ex.method == HTTP_GET) {
		communities(hub, wsi, h);
		return;
	}
	if (bulletin_http_route(hub->db, wsi, &h->ex, "District bulletins",
				hub->cfg.public_url))
		return;
	if (hub_polls_route(hub, wsi, h, 0))
		return;
	if (strcmp(h->ex.path, "/api/v1/announcements") == 0 &&
	    h->ex.method == HTTP_GET) {
		catalog_http_announcements(hub->cat, NULL, wsi, &h->ex);
		return;
	}
	http_reply_error(wsi, &h->ex, 404, "not_found", "no such page: %s",
			 h->ex.path);
}

/* ---- the callback ---------------------------------------------------------- */

int callback_public_http(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len)
{
	struct hub_http *h = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
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
	case LWS_CALLBACK_CLOSED_HTTP:
		/* NULL for a connection closed before lws gave it user data
		 * (a TLS handshake refused on an adopted socket) */
		if (h) {
			catalog_http_searches_closed(hub_from_wsi(wsi)->searches,
						     h->search_id);
			http_end(&h->ex);
		}
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* a search came back (or a signal came) */
		catalog_http_searches_drain(hub_from_wsi(wsi)->searches);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}
