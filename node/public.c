/* public.c: the node's public port: residents' and managers' HTTP API.
 *
 * One vhost, plain HTTP for a reverse proxy or HTTPS when [public] cert and
 * key are set. Requests reach callback_public_http, which reads them with
 * lib/http.h and dispatches on a small table of (method, path, handler).
 * The files under [web] root are served from memory (lib/webfiles.h),
 * the pages that carry the bulletins in force rendered (lib/pages.h).
 *
 * Parts: handlers; the route table; the lws callback; the vhost. */
#include <stdlib.h>
#include <string.h>

#include "catalog_http.h"
#include "clock.h"
#include "err.h"
#include "listen.h"
#include "log.h"
#include "node.h"
#include "pages.h"
#include "tlspolicy.h"

/* Per-session data of HTTP connections on the public port. */
struct public_http {
	struct http_exchange ex;
	struct manager_req mgr;     /* manager endpoints (manager.c) */
	uint64_t search_id;         /* the catalog search it waits for */
};

/* The lws protocol name of the public port. */
#define PUBLIC_PROTOCOL "alliance-http"
/* lws keeps a pointer to the vhost name: it must outlive the vhost. */
static const char public_vhost_name[] = "public";

typedef void (*route_fn)(struct node *n, struct lws *wsi,
			 struct public_http *h);

/* ---- handlers ------------------------------------------------------------ */

/* GET /healthz: the node is up; how its session with the hub is doing,
 * and how far its clock is off the hub's (clock_offset_ms: hub minus
 * local, which the node adds to judge time; null before any Welcome said
 * the hub's time); the free space of its store's disk. */
static void route_healthz(struct node *n, struct lws *wsi,
			  struct public_http *h)
{
	char since[CLOCK_RFC3339_LEN];
	int connected = n->hub_state == HUB_CONNECTED;
	json_t *body;

	if (connected)
		clock_rfc3339(n->hub_since, since, sizeof(since));
	body = json_pack("{s:s, s:s, s:s, s:{s:b, s:s?, s:s?, s:i, s:I, s:o}, s:o}",
			 "status", "ok",
			 "community", n->cfg.community,
			 "version", ALLIANCE_VERSION,
			 "hub",
			 "connected", connected,
			 "since", connected ? since : NULL,
			 "last_error", n->hub_last_error[0]
				       ? n->hub_last_error : NULL,
			 "retries", (json_int_t)n->hub_retries,
			 "frames_unsent", (json_int_t)n->frames_unsent,
			 "clock_offset_ms", node_clock_json(n),
			 "disk", node_disk_state(n));
	if (!body) {
		http_reply_error(wsi, &h->ex, 500, "internal",
				 "cannot build the health report");
		return;
	}
	http_reply_json(wsi, &h->ex, 200, body);
}

/* GET /api/v1/catalog and /api/v1/announcements: from the replica, so
 * residents keep browsing when the hub is down. A search runs on the
 * searches' threads (not cached: nothing here numbers the replica's
 * versions) and the request waits for it. */
static void route_catalog(struct node *n, struct lws *wsi,
			  struct public_http *h)
{
	h->search_id = catalog_http_search_async(n->searches, 0, 0, wsi,
						 &h->ex);
}

int public__search_start(struct node *n, char *err, size_t errlen)
{
	int rc = catalog_http_searches_start(node_store_connect,
		n->cfg.store_path, (int)n->cfg.search_threads, n->lws,
		&n->searches, err, errlen);

	/* residents see their own community's services first */
	if (rc == ERR_OK)
		catalog_http_searches_prefer(n->searches, n->cfg.community);
	return rc;
}

/* GET /api/v1/catalog/{community}/{id}: one service of the replica. */
static void route_service(struct node *n, struct lws *wsi,
			  struct public_http *h)
{
	catalog_http_service(n->cat, wsi, &h->ex);
}

static void route_announcements(struct node *n, struct lws *wsi,
				struct public_http *h)
{
	catalog_http_announcements(n->cat, n->cfg.community, wsi, &h->ex);
}

/* One listing of the directory: the node's own entry first. */
struct directory_list {
	struct node *n;
	json_t *items;
	const char *own_name;       /* the directory's name of this node */
	char own_buf[LIMIT_NAME + 1];
};

static void directory_item(const Change *ch, void *arg)
{
	struct directory_list *l = arg;

	if (!ch->community)
		return;
	if (strcmp(ch->id, l->n->cfg.community) == 0) {
		snprintf(l->own_buf, sizeof(l->own_buf), "%s",
			 ch->community->name);
		l->own_name = l->own_buf;
		return;
	}
	json_array_append_new(l->items, json_pack("{s:s, s:s}", "id", ch->id,
						  "name", ch->community->name));
}

/* GET /api/v1/communities: the names residents see, from the directory
 * the hub sends down (every community's id and name, in id order), with
 * this node's own community first and marked "self". Until the directory
 * arrives, its own name is [node] name. */
static void route_communities(struct node *n, struct lws *wsi,
			      struct public_http *h)
{
	struct directory_list l = { n, json_array(), NULL, "" };
	json_t *self;

	if (!l.items || catalog_directory_each(n->cat,
			ALLIANCE__V1__KIND__KIND_COMMUNITY, directory_item,
			&l) != ERR_OK) {
		json_decref(l.items);
		http_reply_error(wsi, &h->ex, 500, "store",
				 "the directory could not be read");
		return;
	}
	self = json_pack("{s:s, s:s, s:b}", "id", n->cfg.community, "name",
			 l.own_name ? l.own_name : n->cfg.name ? n->cfg.name
							       : n->cfg.community,
			 "self", 1);
	json_array_insert_new(l.items, 0, self);
	http_reply_json(wsi, &h->ex, 200, json_pack("{s:o, s:i}", "items",
		l.items, "total", (int)json_array_size(l.items)));
}

/* ---- the route table ------------------------------------------------------ */

struct route {
	enum http_method method;
	const char *path;           /* exact path */
	route_fn fn;
};

static const struct route routes[] = {
	{ HTTP_GET, "/healthz", route_healthz },
	{ HTTP_GET, "/api/v1/catalog", route_catalog },
	{ HTTP_GET, "/api/v1/announcements", route_announcements },
	{ HTTP_GET, "/api/v1/communities", route_communities },
};

static const char *method_name(enum http_method m)
{
	switch (m) {
	case HTTP_GET: return "GET";
	case HTTP_POST: return "POST";
	case HTTP_PUT: return "PUT";
	case HTTP_PATCH: return "PATCH";
	case HTTP_DELETE: return "DELETE";
	default: return "this method";
	}
}

static void public__route(struct node *n, struct lws *wsi,
			  struct public_http *h)
{
	int path_known = 0;

	if (pages_serve(wsi, &h->ex, n->db, n->web_root, &n->pages) ||
	    webfiles_serve(wsi, &h->ex, n->web_root, NULL, &n->files))
		return;
	if (manager_route(n, wsi, &h->ex, &h->mgr))
		return;
	if (civic_route(n, wsi, &h->ex, &h->mgr))
		return;   /* Open311, requests, residents, polls (civic.h) */
	if (node_bulletin_route(n, wsi, &h->ex))
		return;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(routes[i].path, h->ex.path) != 0)
			continue;
		path_known = 1;
		if (routes[i].method == h->ex.method) {
			routes[i].fn(n, wsi, h);
			return;
		}
	}
	if (!path_known && strncmp(h->ex.path, CATALOG_HTTP_SERVICE_PREFIX,
				   strlen(CATALOG_HTTP_SERVICE_PREFIX)) == 0) {
		path_known = 1;
		if (h->ex.method == HTTP_GET) {
			route_service(n, wsi, h);
			return;
		}
	}
	if (path_known)   /* every route of the table is a GET */
		http_reply_405(wsi, &h->ex, "GET, HEAD",
			       "%s is not allowed on %s",
			       method_name(h->ex.method), h->ex.path);
	else
		http_reply_error(wsi, &h->ex, 404, "not_found",
				 "no such resource: %s", h->ex.path);
}

/* ---- the lws callback ---------------------------------------------------- */

static int callback_public_http(struct lws *wsi,
				enum lws_callback_reasons reason, void *user,
				void *in, size_t len)
{
	struct public_http *h = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		memset(&h->mgr, 0, sizeof(h->mgr));
		if (http_begin(wsi, &h->ex, in, manager_body_limit(wsi)) !=
		    ERR_OK)
			return 0;  /* the error reply is stored */
		if (h->ex.body_expected) {
			/* the manager's body waits for the credential;
			 * anyone else's is counted */
			if (!manager_body_begin(node_from_wsi(wsi), wsi,
						&h->ex, &h->mgr))
				h->ex.budget = &node_from_wsi(wsi)->anon_bodies;
			return 0;  /* route at BODY_COMPLETION */
		}
		if (node_bulletin_live_begin(node_from_wsi(wsi), wsi, &h->ex))
			return 0;  /* the live feed (bulletin.c) */
		public__route(node_from_wsi(wsi), wsi, h);
		return 0;

	case LWS_CALLBACK_HTTP_BODY:
		if (!h->ex.replying)
			http_body(&h->ex, in, len);
		return 0;

	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (h->ex.replying || !h->ex.body_expected)
			return 0;  /* routed already, at LWS_CALLBACK_HTTP */
		if (manager_body_done(&h->mgr))
			return 0;  /* routed when the credential is checked */
		if (h->ex.body_no_room) {
			http_reply_error(wsi, &h->ex, 503, "busy", "too many "
					 "requests being received; try again");
			return 0;
		}
		if (h->ex.body_too_big) {
			http_reply_error(wsi, &h->ex, 413, "too_large",
					 "the body is over %zu bytes",
					 h->ex.body_limit);
			return 0;
		}
		public__route(node_from_wsi(wsi), wsi, h);
		return 0;

	case LWS_CALLBACK_HTTP_WRITEABLE: {
		int rc;

		if (node_bulletin_live_writeable(node_from_wsi(wsi), wsi, &rc))
			return rc;
	}
		if (!h || !h->ex.replying)
			return 0;
		return http_writeable(wsi, &h->ex);

	case LWS_CALLBACK_CLOSED_HTTP:
		if (h) {
			catalog_http_searches_closed(node_from_wsi(wsi)->searches,
						     h->search_id);
			manager_closed(node_from_wsi(wsi), &h->mgr);
			node_bulletin_live_closed(node_from_wsi(wsi), wsi);
			http_end(&h->ex);
		}
		return 0;

	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		/* a worker finished (or a signal came): resume what waits */
		manager_drain(node_from_wsi(wsi));
		catalog_http_searches_drain(node_from_wsi(wsi)->searches);
		return 0;

	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols public_protocols[] = {
	{ PUBLIC_PROTOCOL, callback_public_http, sizeof(struct public_http),
	  0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* ---- the vhost -------------------------------------------------------------- */

/* dup_or_null: strdup that passes NULL through; returns -1 on no memory. */
static int dup_or_null(char **out, const char *s)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -1;
}

int public__create_vhost(struct node *n)
{
	struct lws_context_creation_info info;
	int tls = n->cfg.public_cert && n->cfg.public_key;

	if (dup_or_null(&n->public_iface, n->cfg.public_address) ||
	    dup_or_null(&n->public_cert, n->cfg.public_cert) ||
	    dup_or_null(&n->public_key, n->cfg.public_key) ||
	    dup_or_null(&n->web_root, n->cfg.web_root)) {
		log_error("out of memory making the public port");
		return ERR_NOMEM;
	}
	memset(&info, 0, sizeof(info));
	info.vhost_name = public_vhost_name;
	info.port = n->cfg.public_port;
	info.protocols = public_protocols;
	info.mounts = http_callback_mount(&n->public_mount, PUBLIC_PROTOCOL);
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if (tls) {
		info.ssl_cert_filepath = n->public_cert;
		info.ssl_private_key_filepath = n->public_key;
		info.alpn = "http/1.1";
		tlspolicy_server(&info);
	}
	listen_address(&info, n->public_iface);
	n->anon_bodies.used = 0;
	n->anon_bodies.limit = LIMIT_HTTP_ANON_BODIES;
	n->public_vhost = lws_create_vhost(n->lws, &info);
	if (!n->public_vhost) {
		log_error("cannot listen on %s port %d%s",
			  n->public_iface ? n->public_iface : "*",
			  n->cfg.public_port,
			  tls ? " (or load [public] cert and key)" : "");
		return ERR_FAIL;
	}
	log_info("public port %s:%d (%s)%s%s",
		 n->public_iface ? n->public_iface : "*", n->cfg.public_port,
		 tls ? "HTTPS" : "HTTP", n->web_root ? ", pages from " : "",
		 n->web_root ? n->web_root : "");
	return ERR_OK;
}

void public__free(struct node *n)
{
	free(n->public_iface);
	n->public_iface = NULL;
	free(n->public_cert);
	n->public_cert = NULL;
	free(n->public_key);
	n->public_key = NULL;
	free(n->web_root);
	n->web_root = NULL;
	pages_cache_free(&n->pages);
	webfiles_free(&n->files);
}
