/* public.c: the node's public port: residents' and managers' HTTP API.
 *
 * One vhost, plain HTTP for a reverse proxy or HTTPS when [public] cert and
 * key are set. Requests reach callback_public_http, which reads them with
 * lib/http.h and dispatches on one route table (lib/route.h): every
 * endpoint of the port, with the role that may call it.
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
#include "civic.h"
#include "manager.h"
#include "node.h"
#include "outbox.h"
#include "push.h"
#include "pages.h"
#include "tlspolicy.h"
#include "trust.h"

/* The lws protocol name of the public port. */
#define PUBLIC_PROTOCOL "alliance-http"
/* lws keeps a pointer to the vhost name: it must outlive the vhost. */
static const char public_vhost_name[] = "public";

/* ---- handlers ------------------------------------------------------------ */

/* GET /healthz: the node is up; how its session with the hub is doing
 * (url: the hub URL dialled or in use), and how far its clock is off the hub's (clock_offset_ms: hub minus
 * local, which the node adds to judge time; null before any Welcome said
 * the hub's time); the free space of its store's disk. */
static void route_healthz(void *ctx, struct lws *wsi, struct http_exchange *ex,
			  const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);
	char since[CLOCK_RFC3339_LEN];
	int connected = n->hub_state == HUB_CONNECTED;
	json_t *body;

	(void)ctx;
	(void)m;
	if (connected)
		clock_rfc3339(n->hub_since, since, sizeof(since));
	body = json_pack("{s:s, s:s, s:s,"
			 " s:{s:b, s:s, s:s?, s:s?, s:i, s:I, s:o}, s:o}",
			 "status", "ok",
			 "community", n->cfg.community,
			 "version", ALLIANCE_VERSION,
			 "hub",
			 "connected", connected,
			 "url", hub_link__url(n)->url,
			 "since", connected ? since : NULL,
			 "last_error", n->hub_last_error[0]
				       ? n->hub_last_error : NULL,
			 "retries", (json_int_t)n->hub_retries,
			 "frames_unsent", (json_int_t)n->frames_unsent,
			 "clock_offset_ms", node_clock_json(n),
			 "disk", node_disk_state(n));
	if (!body) {
		http_reply_error(wsi, ex, 500, "internal",
				 "cannot build the health report");
		return;
	}
	http_reply_json(wsi, ex, 200, body);
}

/* GET /api/v1/catalog and /api/v1/announcements: from the replica, so
 * residents keep browsing when the hub is down. A search runs on the
 * searches' threads (not cached, and from a snapshot of its own: nothing
 * here numbers the replica's versions, which are not logged) and the
 * request waits for it. */
static void route_catalog(void *ctx, struct lws *wsi, struct http_exchange *ex,
			  const struct route_match *m)
{
	struct public_http *h = ctx;

	(void)m;
	h->search_id = catalog_http_search_async(node_from_wsi(wsi)->searches,
						 0, 0, 0, wsi, ex);
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
static void route_service(void *ctx, struct lws *wsi, struct http_exchange *ex,
			  const struct route_match *m)
{
	(void)ctx;
	(void)m;
	catalog_http_service(node_from_wsi(wsi)->cat, wsi, ex);
}

static void route_announcements(void *ctx, struct lws *wsi, struct http_exchange *ex,
				const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);

	(void)ctx;
	(void)m;
	catalog_http_announcements(n->cat, n->cfg.community, wsi, ex);
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
static void route_communities(void *ctx, struct lws *wsi, struct http_exchange *ex,
			      const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);
	struct directory_list l = { n, json_array(), NULL, "" };
	json_t *self;

	(void)ctx;
	(void)m;
	if (!l.items || catalog_directory_each(n->cat,
			ALLIANCE__V1__KIND__KIND_COMMUNITY, directory_item,
			&l) != ERR_OK) {
		json_decref(l.items);
		http_reply_error(wsi, ex, 500, "store",
				 "the directory could not be read");
		return;
	}
	self = json_pack("{s:s, s:s, s:b}", "id", n->cfg.community, "name",
			 l.own_name ? l.own_name : n->cfg.name ? n->cfg.name
							       : n->cfg.community,
			 "self", 1);
	json_array_insert_new(l.items, 0, self);
	http_reply_json(wsi, ex, 200, json_pack("{s:o, s:i}", "items",
		l.items, "total", (int)json_array_size(l.items)));
}

/* ---- the route table ------------------------------------------------------ */

/* admit: a row's role, checked before its handler: a resident's bearer
 * token (401), the manager's credential by the civic gate (415 for a
 * change without JSON, 503, then auth.c: 401, 403, 429, or parked until
 * the KDF answers). */
static int admit(void *ctx, struct lws *wsi, struct http_exchange *ex,
		 const struct route_match *m)
{
	struct public_http *h = ctx;
	struct node *n = node_from_wsi(wsi);

	switch (m->route->role) {
	case ROUTE_RESIDENT:
		h->resident = residents_bearer(n, wsi);
		if (h->resident)
			return 1;
		http_reply_error(wsi, ex, 401, "unauthorized", "sign in first: "
				 "a resident's token is needed "
				 "(Authorization: Bearer TOKEN)");
		return 0;
	case ROUTE_MANAGER:
		return civic_manager_admit(n, wsi, ex, &h->mgr,
					   m->route->flags & ROUTE_JSON);
	default:
		return 1;
	}
}

#define PUB ROUTE_PUBLIC
#define RES ROUTE_RESIDENT
#define MGR ROUTE_MANAGER
/* An Open311 resource in both its formats. */
#define O311_ROWS(methods, path, fn) \
	{ methods, path ".json", PUB, fn, 0 }, \
	{ methods, path ".xml", PUB, fn, 0 }

/* The public port's routes, ctx the struct public_http. Where two rows
 * share a path the more specific comes first. */
static const struct route routes[] = {
	{ ROUTE_GET, "/healthz", PUB, route_healthz, 0 },
	{ ROUTE_GET, "/api/v1/catalog", PUB, route_catalog, 0 },
	{ ROUTE_GET, CATALOG_HTTP_SERVICE_PREFIX "*", PUB, route_service, 0 },
	{ ROUTE_GET, "/api/v1/communities", PUB, route_communities, 0 },
	/* the manager's services and announcements (manager.c) */
	{ ROUTE_POST, "/api/v1/services", MGR, manager_record_write,
	  ROUTE_JSON },
	{ ROUTE_POST, "/api/v1/services/bulk", MGR, manager_record_write,
	  ROUTE_JSON },
	{ ROUTE_GET, "/api/v1/services/{id}", PUB, manager_record_get, 0 },
	{ ROUTE_PUT | ROUTE_DELETE, "/api/v1/services/{id}", MGR,
	  manager_record_write, ROUTE_JSON },
	{ ROUTE_GET, "/api/v1/announcements", PUB, route_announcements, 0 },
	{ ROUTE_POST, "/api/v1/announcements", MGR, manager_record_write,
	  ROUTE_JSON },
	{ ROUTE_POST, "/api/v1/announcements/bulk", MGR,
	  manager_record_write, ROUTE_JSON },
	{ ROUTE_GET, "/api/v1/announcements/{id}", PUB, manager_record_get,
	  0 },
	{ ROUTE_PUT | ROUTE_DELETE, "/api/v1/announcements/{id}", MGR,
	  manager_record_write, ROUTE_JSON },
	/* the console (console.c) */
	{ ROUTE_GET, "/api/v1/session", PUB, console_session_get, 0 },
	{ ROUTE_POST, "/api/v1/session", PUB, console_session_login, 0 },
	{ ROUTE_DELETE, "/api/v1/session", PUB, console_session_logout, 0 },
	{ ROUTE_GET, "/api/v1/manager/sync", MGR, console_sync, 0 },
	/* Open311 (open311.c), its 404s and 405s in its format */
	O311_ROWS(ROUTE_GET, "/open311/v2/discovery", open311_on_discovery),
	O311_ROWS(ROUTE_GET, "/open311/discovery", open311_on_discovery),
	O311_ROWS(ROUTE_GET, "/open311/v2/services", open311_on_services),
	O311_ROWS(ROUTE_GET, "/open311/v2/services/{code}",
		  open311_on_service),
	O311_ROWS(ROUTE_GET | ROUTE_POST, "/open311/v2/requests",
		  open311_on_requests),
	O311_ROWS(ROUTE_GET, "/open311/v2/tokens/{token}", open311_on_token),
	O311_ROWS(ROUTE_POST, "/open311/v2/requests/{id}/withdraw",
		  open311_on_withdraw),
	O311_ROWS(ROUTE_GET, "/open311/v2/requests/{id}", open311_on_request),
	/* requests (requests.c) */
	{ ROUTE_GET, "/api/v1/residents/me/requests", RES, requests_on_mine,
	  0 },
	{ ROUTE_GET, "/api/v1/requests", MGR, requests_on_queue, 0 },
	{ ROUTE_PATCH, "/api/v1/requests/{id}", MGR, requests_on_patch,
	  ROUTE_JSON },
	/* residents (residents.c, account.c, phone_verify.c, voters.c) */
	{ ROUTE_POST, "/api/v1/residents", PUB, residents_on_register, 0 },
	{ ROUTE_POST, "/api/v1/residents/login", PUB, residents_on_login, 0 },
	{ ROUTE_POST, "/api/v1/household-codes", MGR,
	  residents_on_household_code, 0 },
	{ ROUTE_GET | ROUTE_PATCH | ROUTE_DELETE, "/api/v1/residents/me",
	  RES, account_on_me, 0 },
	{ ROUTE_DELETE, "/api/v1/residents/token", RES, account_on_sign_out,
	  0 },
	{ ROUTE_POST, "/api/v1/residents/verify", PUB, phone_verify_on, 0 },
	{ ROUTE_GET, "/api/v1/residents/pending", MGR, voters_on_pending, 0 },
	{ ROUTE_POST, "/api/v1/residents/{id}/confirm", MGR,
	  voters_on_action, ROUTE_JSON },
	{ ROUTE_POST, "/api/v1/residents/{id}/revoke", MGR, voters_on_action,
	  ROUTE_JSON },
	/* the outbox (outbox_http.c) */
	{ ROUTE_GET, "/api/v1/outbox", MGR, outbox_on_summary, 0 },
	{ ROUTE_GET, "/api/v1/outbox/endpoints", MGR, outbox_on_endpoints,
	  0 },
	{ ROUTE_POST, "/api/v1/outbox/endpoints", MGR, outbox_on_endpoints,
	  ROUTE_JSON },
	{ ROUTE_DELETE, "/api/v1/outbox/endpoints/{id}", MGR,
	  outbox_on_endpoint, ROUTE_JSON },
	{ ROUTE_GET, "/api/v1/outbox/dead", MGR, outbox_on_dead, 0 },
	{ ROUTE_POST, "/api/v1/outbox/dead/{id}/retry", MGR, outbox_on_retry,
	  ROUTE_JSON },
	{ ROUTE_GET | ROUTE_PUT, "/api/v1/residents/me/channels", RES,
	  outbox_on_channels, 0 },
	{ ROUTE_POST, "/api/v1/sms/opt-out", PUB, outbox_on_opt_out, 0 },
	/* Web Push (push.c) */
	{ ROUTE_GET, "/api/v1/push/key", PUB, push_on_key, 0 },
	{ ROUTE_GET | ROUTE_POST, "/api/v1/residents/me/push", RES,
	  push_on_subscriptions, 0 },
	{ ROUTE_DELETE, "/api/v1/residents/me/push/{id}", RES,
	  push_on_subscription, ROUTE_JSON },
	/* polls (polls.c) */
	{ ROUTE_GET, "/api/v1/polls", PUB, polls_on_list, 0 },
	{ ROUTE_POST, "/api/v1/polls", MGR, polls_on_create, 0 },
	{ ROUTE_POST, "/api/v1/polls/{key}/close", MGR, polls_on_close, 0 },
	{ ROUTE_POST, "/api/v1/polls/{key}/votes", PUB, polls_on_vote, 0 },
	{ ROUTE_GET, "/api/v1/polls/{key}", PUB, polls_on_get, 0 },
	/* safety check-in (checkin.c) */
	{ ROUTE_POST, "/api/v1/bulletins/{id}/check-in", PUB,
	  checkin_on_bulletin, 0 },
	{ ROUTE_GET, "/api/v1/bulletins/{id}/check-in", MGR,
	  checkin_on_view, 0 },
	{ ROUTE_POST, "/api/v1/bulletins/{id}/check-in/links", MGR,
	  checkin_on_links, ROUTE_JSON },
	{ ROUTE_POST, "/api/v1/bulletins/{id}/check-in/calls", MGR,
	  checkin_on_calls, ROUTE_JSON },
	{ ROUTE_GET, "/api/v1/check-in/residents", MGR, checkin_on_residents,
	  0 },
	{ ROUTE_POST, "/api/v1/check-in/residents", MGR,
	  checkin_on_residents, ROUTE_JSON },
	{ ROUTE_DELETE, "/api/v1/check-in/residents/{id}", MGR,
	  checkin_on_residents, ROUTE_JSON },
	/* bulletins (bulletin.c; the live feed is taken before) */
	{ ROUTE_GET, "/api/v1/bulletins", PUB, node_bulletin_public, 0 },
	{ ROUTE_GET, "/api/v1/bulletins.atom", PUB, node_bulletin_atom, 0 },
	{ ROUTE_GET, "/api/v1/bulletins/{id}.cap", PUB, node_bulletin_cap,
	  0 },
	{ ROUTE_GET, "/api/v1/bulletins/{id}", PUB, node_bulletin_public, 0 },
};

#undef PUB
#undef RES
#undef MGR
#undef O311_ROWS

/* refuse: the table's 404s and 405s, in Open311's format under
 * /open311/. */
static void refuse(void *ctx, struct lws *wsi, struct http_exchange *ex,
		   int status)
{
	if (strncmp(ex->path, "/open311/", strlen("/open311/")) == 0)
		open311_refuse(wsi, ex, status);
	else
		route_refuse(ctx, wsi, ex, status);
}

static const struct route_table table = {
	routes, sizeof(routes) / sizeof(routes[0]), admit, refuse
};

int node_route_role(const struct http_exchange *ex)
{
	struct route_match m;

	if (route_find(routes, sizeof(routes) / sizeof(routes[0]), ex->path,
		       ex->method, &m) != ROUTE_FOUND)
		return -1;
	return (int)m.route->role;
}

void node_route(struct node *n, struct lws *wsi)
{
	struct public_http *h = lws_wsi_user(wsi);

	if (!pages_serve(wsi, &h->ex, n->db, n->web_root, &n->pages) &&
	    !webfiles_serve(wsi, &h->ex, n->web_root, NULL, &n->files))
		route_dispatch(&table, h, wsi, &h->ex);
}

/* ---- the lws callback ---------------------------------------------------- */

static int callback_public_http(struct lws *wsi,
				enum lws_callback_reasons reason, void *user,
				void *in, size_t len)
{
	struct public_http *h = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (http_pipelined(wsi))
			return -1;
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
		node_route(node_from_wsi(wsi), wsi);
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
		node_route(node_from_wsi(wsi), wsi);
		return 0;

	case LWS_CALLBACK_HTTP_WRITEABLE: {
		int rc;

		if (node_bulletin_live_writeable(node_from_wsi(wsi), wsi, &rc))
			return rc;
	}
		if (!h || !h->ex.replying)
			return 0;
		return http_writeable(wsi, &h->ex);

	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:   /* http_dropped */
		if (!h || !http_dropped(wsi, &h->ex))
			return 0;
		/* fallthrough */
	case LWS_CALLBACK_CLOSED_HTTP:
		if (h) {
			catalog_http_searches_closed(node_from_wsi(wsi)->searches,
						     h->search_id);
			manager_closed(node_from_wsi(wsi), &h->mgr);
			node_bulletin_live_closed(node_from_wsi(wsi), wsi);
			http_end(&h->ex);
		}
		return 0;

	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		/* HTTPS: the SSL_CTX, for public__reload_cert */
		node_from_wsi(wsi)->public_ssl = user;
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
	  0, 0, NULL, HTTP_TX_PACKET },
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

void public__reload_cert(struct node *n)
{
	char err[1024];

	if (!n->public_ssl)
		return;
	if (trust_own_reload(n->public_ssl, n->public_cert, n->public_key,
			     NULL, err, sizeof(err)) != ERR_OK) {
		log_error("reload: [public] cert: %s; keeping the running "
			  "certificate", err);
		return;
	}
	log_info("reload: public certificate read again from %s",
		 n->public_cert);
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
