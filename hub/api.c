/* api.c: the alliance port's HTTP side: who may ask, and the operator API.
 *
 * The alliance port is mutual TLS only. Node certificates may open the sync
 * websocket and nothing else (403 here); operator certificates
 * (OU=district-office) may use everything below, and the district
 * console's pages (web/district/ and what it loads, from memory:
 * lib/webfiles.h), and never sync. Parts: the
 * lws callback (TLS hooks, access filter, request intake); routes;
 * communities (with [store] postgresql, through the shared log: the
 * request waits for its event to come back); metrics. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "mediatype.h"
#include "pglog.h"
#include "prom.h"
#include "text.h"

/* ---- communities --------------------------------------------------------- */

/* relay_refused_json: {reason: count} of c's relayed records the hub
 * refused since it started (relay.c), reasons with none left out. */
static json_t *relay_refused_json(const struct community *c)
{
	json_t *o = json_object();

	for (int r = RELAY_OK + 1; o && r < RELAY_REFUSE_COUNT; r++)
		if (c->relay_refused[r])
			json_object_set_new(o, hub_relay_refusal_name(r),
					    json_integer((json_int_t)
							 c->relay_refused[r]));
	return o;
}

/* session_cert_json: the certificate of c's live session: its serial and
 * the SHA-256 of the CA that vouched for it (during a CA rollover, which
 * communities are still on the old CA); null without a session. */
static json_t *session_cert_json(const struct community *c)
{
	char ca[65];

	if (!c->session || c->session->state != SESSION_ACTIVE)
		return json_null();
	for (int i = 0; i < 32; i++)
		snprintf(ca + 2 * i, 3, "%02x", c->session->peer.ca[i]);
	return json_pack("{s:s, s:s}", "serial", c->session->peer.serial,
			 "ca_sha256", ca);
}

/* last_close_json: how c's last session ended since the hub started:
 * {by: "node" or "hub", code (0: the connection dropped), reason, at},
 * or null. */
static json_t *last_close_json(const struct community *c)
{
	char at[CLOCK_RFC3339_LEN];

	if (!c->last_close_at)
		return json_null();
	return json_pack("{s:s, s:i, s:s, s:s}",
			 "by", c->last_close_by_node ? "node" : "hub",
			 "code", c->last_close_code,
			 "reason", c->last_close_reason,
			 "at", clock_rfc3339(c->last_close_at, at, sizeof(at)));
}

/* community_json: a community as the API shows it (new reference): its
 * session, both cursors, how far each stream is behind (up_lag: the node's
 * changes the hub has not committed, as of the node's last batch; down_lag:
 * hub-stream entries the node has not acked, its own included), how
 * often and when last its store came back in time (restored from an older
 * backup, since the hub started), how many live records it publishes, its
 * relayed records refused, its usage against its quota and how far its
 * node's clock is off (clock: skew_ms, node minus hub, at its last Hello;
 * skewed: over CLOCK_SKEW_WARN_MS; null when its node never said). */
static json_t *community_json(struct hub *hub, struct community *c)
{
	char enrolled[CLOCK_RFC3339_LEN], seen[CLOCK_RFC3339_LEN];
	char restored[CLOCK_RFC3339_LEN];
	int connected = c->session && c->session->state == SESSION_ACTIVE;
	uint64_t up_lag, down_lag;
	json_t *o;

	hub_community_lag(hub, c, &up_lag, &down_lag);
	o = json_pack("{s:s, s:s, s:s, s:b, s:o, s:I, s:I, s:I, s:I, s:s,"
			 " s:I, s:o, s:{s:I, s:I}, s:o, s:o, s:o}",
		"id", c->id,
		"name", c->name,
		"enrolled", clock_rfc3339(c->enrolled, enrolled, sizeof(enrolled)),
		"connected", connected,
		"last_seen", c->last_seen
			? json_string(clock_rfc3339(c->last_seen, seen, sizeof(seen)))
			: json_null(),
		"up_cursor", (json_int_t)c->up_cursor,
		"down_cursor", (json_int_t)c->down_cursor,
		"up_lag", (json_int_t)up_lag,
		"down_lag", (json_int_t)down_lag,
		"epoch", c->epoch,
		"store_restores", (json_int_t)c->store_restores,
		"store_restored_at", c->store_restored_at
			? json_string(clock_rfc3339(c->store_restored_at,
				restored, sizeof(restored)))
			: json_null(),
		"counts",
		"services", (json_int_t)catalog_count(hub->cat, c->id,
				ALLIANCE__V1__KIND__KIND_SERVICE),
		"announcements", (json_int_t)catalog_count(hub->cat, c->id,
				ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT),
		"relay_refused", relay_refused_json(c),
		"quota", hub_quota_json(hub, c),
		"clock", c->skew_known
			? json_pack("{s:I, s:b}", "skew_ms",
				    (json_int_t)c->clock_skew_ms, "skewed",
				    c->clock_skew_ms > CLOCK_SKEW_WARN_MS ||
				    c->clock_skew_ms < -CLOCK_SKEW_WARN_MS)
			: json_null());
	if (o) {
		hub_community_alert_json(c, o);
		json_object_set_new(o, "cert", session_cert_json(c));
		json_object_set_new(o, "last_close", last_close_json(c));
	}
	return o;
}

struct community_list {
	struct hub *hub;
	json_t *items;
};

static void community_item(struct community *c, void *arg)
{
	struct community_list *l = arg;

	json_array_append_new(l->items, community_json(l->hub, c));
}

static void communities_list(struct hub *hub, struct lws *wsi,
			     struct hub_http *h)
{
	struct community_list l = { hub, json_array() };
	json_t *warnings = hub_alerts_json(hub); /* undelivered_ms too */

	registry_each(hub, community_item, &l);
	http_reply_json(wsi, &h->ex, 200,
			json_pack("{s:o, s:i, s:o}", "items", l.items,
				  "total", (int)hub->n_communities,
				  "warnings", warnings));
}

/* ---- communities through the shared log ([store] postgresql) ------------ */

/* An operator's request waiting for its event of the shared log: a
 * registry request's directory event, a bulletin's (bulletin.c) or a
 * district poll's (polls.c: id "district", token its version). */
struct api_wait {
	struct api_wait *next;
	struct lws *wsi;
	struct hub_http *h;
	uint64_t version;           /* the record's, or the bulletin's token:
				       which event */
	char id[LIMIT_RECORD_ID + 1];
	int add;                    /* POST (else DELETE) */
	int bulletin;               /* a bulletin's or a poll's POST */
};

/* shared_unavailable: 503 with the cause when the shared log is away. */
static int shared_unavailable(struct hub *hub, struct lws *wsi,
			      struct hub_http *h)
{
	char why[256];

	if (!pglog_down(hub->pglog, why, sizeof(why)))
		return 0;
	http_reply_error(wsi, &h->ex, 503, "unavailable", "the hub's database "
			 "is unreachable: %.200s", why);
	return 1;
}

/* registry_share: append the record of id (name NULL: removed) and park
 * the request until the log brings it back (api_registry_done). */
static void registry_share(struct hub *hub, struct lws *wsi,
			   struct hub_http *h, const char *id,
			   const char *name)
{
	struct api_wait *w = calloc(1, sizeof(*w));
	char why[300];
	int rc;

	if (!w) {
		http_reply_error(wsi, &h->ex, 503, "unavailable",
				 "out of memory");
		return;
	}
	rc = hub_directory_share_community(hub, id, name, &w->version, why,
					   sizeof(why));
	if (rc != ERR_OK) {
		free(w);
		http_reply_error(wsi, &h->ex, 503, "unavailable", "%.250s",
				 why);
		return;
	}
	w->wsi = wsi;
	w->h = h;
	w->add = name != NULL;
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->next = hub->api_waits;
	hub->api_waits = w;
	h->waiting = 1;
	log_info("registry: operator %s %s community %s: shared", h->peer.name,
		 name ? "adds" : "removes", id);
}

void api_registry_done(struct hub *hub, const char *id, uint64_t version,
		       int applied, const char *why)
{
	struct api_wait **pp = &hub->api_waits, *w;

	while ((w = *pp)) {
		if (w->bulletin || w->version != version ||
		    strcmp(w->id, id) != 0) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->h->waiting = 0;
		if (why)
			http_reply_error(w->wsi, &w->h->ex, 503, "unavailable",
					 "the hub's database did not store "
					 "it: %.200s", why);
		else if (!applied)
			http_reply_error(w->wsi, &w->h->ex, 409, "conflict",
					 "community %s was changed at "
					 "another replica meanwhile", id);
		else if (w->add && registry_find(hub, id))
			http_reply_json(w->wsi, &w->h->ex, 201,
					community_json(hub,
						       registry_find(hub, id)));
		else
			http_reply(w->wsi, &w->h->ex, 204, "application/json",
				   NULL, 0);
		free(w);
	}
}

int api_wait_park(struct hub *hub, struct lws *wsi, struct hub_http *h,
		  const char *id, uint64_t token)
{
	struct api_wait *w = calloc(1, sizeof(*w));

	if (!w)
		return ERR_NOMEM;
	w->wsi = wsi;
	w->h = h;
	w->bulletin = 1;
	w->version = token;
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->next = hub->api_waits;
	hub->api_waits = w;
	h->waiting = 1;
	return ERR_OK;
}

int api_wait_take(struct hub *hub, const char *id, uint64_t token,
		  struct lws **wsi, struct hub_http **h)
{
	struct api_wait **pp = &hub->api_waits, *w;

	for (; (w = *pp); pp = &w->next) {
		if (!w->bulletin || w->version != token ||
		    (id && strcmp(w->id, id) != 0))
			continue;
		*pp = w->next;
		*wsi = w->wsi;
		*h = w->h;
		(*h)->waiting = 0;
		free(w);
		return 1;
	}
	return 0;
}

/* wait_closed: h's connection closed while its request waited. */
static void wait_closed(struct hub *hub, struct hub_http *h)
{
	struct api_wait **pp = &hub->api_waits, *w;

	while ((w = *pp)) {
		if (w->h != h) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		free(w);
	}
	h->waiting = 0;
}

void api_waits_free(struct hub *hub)
{
	while (hub->api_waits) {
		struct api_wait *w = hub->api_waits;

		hub->api_waits = w->next;
		free(w);
	}
}

static void communities_add(struct hub *hub, struct lws *wsi,
			    struct hub_http *h)
{
	json_t *body = http_parse_json(wsi, &h->ex);
	const char *id, *name;
	struct community *c;

	if (!body)
		return;
	id = json_string_value(json_object_get(body, "id"));
	name = json_string_value(json_object_get(body, "name"));
	if (!id || !text_community_valid(id)) {
		http_reply_error(wsi, &h->ex, 422, "invalid",
				 "id: must match [a-z0-9][a-z0-9-]{1,62}");
		goto out;
	}
	if (strcmp(id, "district") == 0) {   /* RELAY_DISTRICT: the hub's */
		http_reply_error(wsi, &h->ex, 422, "invalid", "id: 'district' "
				 "is the origin of district polls");
		goto out;
	}
	if (!name)
		name = id;
	if (!*name || strlen(name) > LIMIT_NAME) {
		http_reply_error(wsi, &h->ex, 422, "invalid",
				 "name: 1 to %d bytes of text", LIMIT_NAME);
		goto out;
	}
	if (registry_find(hub, id)) {
		http_reply_error(wsi, &h->ex, 409, "exists",
				 "community %s is already registered", id);
		goto out;
	}
	if (hub->pglog) {
		if (!shared_unavailable(hub, wsi, h))
			registry_share(hub, wsi, h, id, name);
		goto out;
	}
	if (registry_add(hub, id, name) != ERR_OK) {
		http_reply_error(wsi, &h->ex, 500, "store",
				 "could not store the community");
		goto out;
	}
	log_info("registry: operator %s added community %s (%s)",
		 h->peer.name, id, name);
	c = registry_find(hub, id);
	http_reply_json(wsi, &h->ex, 201, community_json(hub, c));
out:
	json_decref(body);
}

static void communities_remove(struct hub *hub, struct lws *wsi,
			       struct hub_http *h, const char *id)
{
	int rc;

	if (!text_community_valid(id)) {
		http_reply_error(wsi, &h->ex, 404, "not_found",
				 "no community '%.70s'", id);
		return;
	}
	if (hub->pglog) {
		if (!registry_find(hub, id))
			http_reply_error(wsi, &h->ex, 404, "not_found",
					 "no community %s", id);
		else if (!shared_unavailable(hub, wsi, h))
			registry_share(hub, wsi, h, id, NULL);
		return;
	}
	rc = registry_remove(hub, id);
	if (rc == ERR_NOTFOUND) {
		http_reply_error(wsi, &h->ex, 404, "not_found",
				 "no community %s", id);
		return;
	}
	if (rc != ERR_OK) {
		http_reply_error(wsi, &h->ex, 500, "store",
				 "could not remove the community");
		return;
	}
	log_info("registry: operator %s removed community %s", h->peer.name,
		 id);
	http_reply(wsi, &h->ex, 204, "application/json", NULL, 0);
}

/* ---- routes ---------------------------------------------------------- */

/* The directories of [web] root the alliance port serves. */
static const char *const console_dirs[] = { "/district/", "/css/", "/js/",
					    "/img/", NULL };

static void on_communities_list(void *ctx, struct lws *wsi,
				struct http_exchange *ex,
				const struct route_match *m)
{
	(void)ex;
	(void)m;
	communities_list(hub_from_wsi(wsi), wsi, ctx);
}

static void on_communities_add(void *ctx, struct lws *wsi,
			       struct http_exchange *ex,
			       const struct route_match *m)
{
	(void)ex;
	(void)m;
	communities_add(hub_from_wsi(wsi), wsi, ctx);
}

static void on_communities_remove(void *ctx, struct lws *wsi,
				  struct http_exchange *ex,
				  const struct route_match *m)
{
	(void)ex;
	communities_remove(hub_from_wsi(wsi), wsi, ctx, m->param[0]);
}

static void on_metrics(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	size_t len = 0;
	char *text = metrics_render(hub_from_wsi(wsi), &len);

	(void)ctx;
	(void)m;
	if (text)
		http_reply(wsi, ex, 200, PROM_CONTENT_TYPE, text, len);
	else
		http_reply_error(wsi, ex, 500, "internal",
				 "could not render metrics");
}

/* The alliance port's routes (ctx: the struct hub_http). Its one role,
 * the operator's certificate, is checked for every request at
 * LWS_CALLBACK_HTTP, before its body is read (the console's files and
 * the 404s included), so the table has no admit hook. */
static const struct route api_routes[] = {
	{ ROUTE_GET, "/api/v1/communities", ROUTE_OPERATOR,
	  on_communities_list, 0 },
	{ ROUTE_POST, "/api/v1/communities", ROUTE_OPERATOR,
	  on_communities_add, 0 },
	{ ROUTE_DELETE, "/api/v1/communities/{id}", ROUTE_OPERATOR,
	  on_communities_remove, 0 },
	{ ROUTE_GET, "/api/v1/bulletin-sender", ROUTE_OPERATOR,
	  hub_bulletin_sender, 0 },
	{ ROUTE_GET, "/api/v1/bulletins", ROUTE_OPERATOR, hub_bulletin_list, 0 },
	{ ROUTE_POST, "/api/v1/bulletins", ROUTE_OPERATOR, hub_bulletin_post, 0 },
	{ ROUTE_GET, "/api/v1/bulletins.atom", ROUTE_OPERATOR,
	  hub_bulletin_atom, 0 },
	{ ROUTE_GET, "/api/v1/bulletins/{id}.cap", ROUTE_OPERATOR,
	  hub_bulletin_cap, 0 },
	{ ROUTE_GET, "/api/v1/bulletins/{id}", ROUTE_OPERATOR,
	  hub_bulletin_detail, 0 },
	{ ROUTE_GET, "/api/v1/polls", ROUTE_OPERATOR, hub_polls_list, 0 },
	{ ROUTE_POST, "/api/v1/polls", ROUTE_OPERATOR, hub_polls_create, 0 },
	{ ROUTE_GET, "/api/v1/polls/{key}", ROUTE_OPERATOR, hub_polls_one, 0 },
	{ ROUTE_GET, "/api/v1/requests/stats", ROUTE_OPERATOR,
	  hub_requests_stats, 0 },
	{ ROUTE_GET, "/metrics", ROUTE_OPERATOR, on_metrics, 0 },
};

static const struct route_table api_table = {
	api_routes, sizeof(api_routes) / sizeof(api_routes[0]), NULL, NULL
};

/* api_route: the console's files, else the table. */
static void api_route(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	if (!webfiles_serve(wsi, &h->ex, hub->cfg.web_root, console_dirs,
			    &hub->console_files))
		route_dispatch(&api_table, h, wsi, &h->ex);
}

/* ---- the lws callback ------------------------------------------------------ */

/* api_change: route the request, a change (POST, PUT, PATCH) only when
 * it says application/json: operator certificates live in browsers now
 * (the district console), and a cross-site form cannot send that type. */
static void api_change(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	enum http_method m = h->ex.method;

	if ((m == HTTP_POST || m == HTTP_PUT || m == HTTP_PATCH) &&
	    !mediatype_json(wsi)) {
		http_reply_error(wsi, &h->ex, 415, "unsupported_media_type",
				 "changes need Content-Type: application/json");
		return;
	}
	api_route(hub, wsi, h);
}

/* filter: the sync upgrade's path only for node certificates; every other
 * request has its role checked at LWS_CALLBACK_HTTP. Returns 0 to go on,
 * 1 after refusing with 403. */
static int filter(struct hub *hub, struct lws *wsi, const char *uri)
{
	struct ident peer;
	char why[160];
	int sync = strcmp(uri, "/v1/sync") == 0;

	/* every other request answers its own 403 with a JSON body
	 * (callback_alliance_http: the API and the console's files) */
	if (!sync)
		return 0;
	if (tls_admit(hub, wsi, IDENT_NODE, uri, &peer, why, sizeof(why)) !=
	    ERR_OK)
		return http_refuse(wsi, HTTP_STATUS_FORBIDDEN);
	return 0;
}

int callback_alliance_http(struct lws *wsi, enum lws_callback_reasons reason,
			   void *user, void *in, size_t len)
{
	struct hub *hub = hub_from_wsi(wsi);
	struct hub_http *h = user;
	char why[160];

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		return tls_load_verify(hub, user);
	case LWS_CALLBACK_OPENSSL_PERFORM_CLIENT_CERT_VERIFICATION:
		return tls_verify_client(hub, user, (int)len);
	case LWS_CALLBACK_SSL_INFO:
		tls_info(hub, wsi, in);
		return 0;
	case LWS_CALLBACK_FILTER_HTTP_CONNECTION:
		return filter(hub, wsi, in);
	case LWS_CALLBACK_HTTP:
		if (http_pipelined(wsi))
			return -1;
		if (http_begin(wsi, &h->ex, in, LIMIT_HTTP_BODY) != ERR_OK)
			return 0;
		/* every request: a keep-alive connection outlives a
		 * revocation or an expiry */
		if (tls_admit(hub, wsi, IDENT_OPERATOR, h->ex.path, &h->peer,
			      why, sizeof(why)) != ERR_OK) {
			http_reply_error(wsi, &h->ex, 403, "forbidden", "%s",
					 why);
			return 0;
		}
		if (h->ex.body_expected)
			return 0;       /* the body follows */
		api_change(hub, wsi, h);
		return 0;
	case LWS_CALLBACK_HTTP_BODY:
		http_body(&h->ex, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (!h->ex.replying && h->ex.body_expected)
			api_change(hub, wsi, h);
		return 0;
	case HUB_CALLBACK_RECHECK:       /* tls_reload */
		tls_recheck_http(hub, wsi);
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
		if (h && h->waiting)
			wait_closed(hub_from_wsi(wsi), h);
		if (h)
			http_end(&h->ex);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}
