/* metrics.c: the node's GET /metrics, on a listener of its own bound to a
 * loopback address ([metrics] address and port; off when port is 0), so
 * that what it tells (the hub session, lags, free space) never reaches
 * the public port.
 *
 * The values are those /healthz and the console's sync state show, read
 * from the same fields and functions (node_disk, node_clock_offset,
 * sync_up_lag...); this file only writes them as Prometheus text
 * (lib/prom.h), every name alliance_node_*.
 *
 * Parts: the text; the lws callback; the vhost. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "listen.h"
#include "log.h"
#include "node.h"
#include "outbox.h"
#include "prom.h"

/* The one path the listener answers. */
#define METRICS_PATH "/metrics"
/* lws keeps pointers to the vhost's and the protocol's names. */
static const char metrics_vhost_name[] = "metrics";
#define METRICS_PROTOCOL "alliance-metrics"

/* ---- the text ------------------------------------------------------------ */

static const char *const hub_state_names[] = {
	[HUB_IDLE] = "idle",
	[HUB_CONNECTING] = "connecting",
	[HUB_OPEN] = "open",
	[HUB_CONNECTED] = "connected",
};

/* hub_session: where the session to the hub is and how it went. */
static void hub_session(struct node *n, FILE *f)
{
	int connected = n->hub_state == HUB_CONNECTED;

	prom_metric(f, "alliance_node_hub_connected", "gauge", "1 while the "
		    "session to the hub holds (Welcome received), else 0.",
		    (unsigned long long)connected);
	prom_head(f, "alliance_node_hub_state", "gauge", "The session to the "
		  "hub: 1 for the state it is in.");
	for (size_t i = 0;
	     i < sizeof(hub_state_names) / sizeof(hub_state_names[0]); i++)
		fprintf(f, "alliance_node_hub_state{state=\"%s\"} %d\n",
			hub_state_names[i], n->hub_state == (enum hub_state)i);
	if (connected)
		prom_metric(f, "alliance_node_hub_connected_since_seconds",
			    "gauge", "When the session in force received its "
			    "Welcome (unix seconds, the hub's clock).",
			    (unsigned long long)n->hub_since);
	prom_metric(f, "alliance_node_hub_sessions_total", "counter",
		    "Sessions to the hub that reached Welcome.",
		    (unsigned long long)n->hub_sessions);
	prom_head(f, "alliance_node_hub_url", "gauge", "The hub's URLs "
		  "([hub] urls, or host and port): 1 for the one dialled or "
		  "in use.");
	for (size_t i = 0; i < n->cfg.n_hubs; i++)
		fprintf(f, "alliance_node_hub_url{url=\"%s\"} %d\n",
			n->cfg.hubs[i].url,
			&n->cfg.hubs[i] == hub_link__url(n));
	prom_metric(f, "alliance_node_hub_failovers_total", "counter",
		    "Moves to the next hub URL at once, the hub in use being "
		    "gone.", (unsigned long long)n->hub_failovers);
	prom_metric(f, "alliance_node_hub_backoff_waits_total", "counter",
		    "Backoff waits before dialling the hub again (every URL "
		    "failed in a round, or the hub refused).",
		    (unsigned long long)n->hub_backoff_waits);
	prom_metric(f, "alliance_node_hub_retries", "gauge", "Backoff waits "
		    "since the last healthy session (the backoff's step).",
		    (unsigned long long)n->hub_retries);
	prom_metric(f, "alliance_node_hub_waiting_for_space", "gauge", "1 "
		    "while the node waits for its store to take writes again "
		    "before it dials the hub, else 0.",
		    (unsigned long long)(n->hub_store_full != 0));
	prom_metric(f, "alliance_node_frames_unsent_total", "counter",
		    "Frames the node could not make or queue (each closed "
		    "its session).", (unsigned long long)n->frames_unsent);
}

/* streams: how far the up stream (our log) and the down stream (the
 * hub's) have come, and restored stores. */
static void streams(struct node *n, FILE *f)
{
	uint64_t head = catalog_log_head(n->cat);

	prom_metric(f, "alliance_node_up_head", "gauge", "The last entry of "
		    "this node's own log.", (unsigned long long)head);
	prom_metric(f, "alliance_node_up_acked", "gauge", "The last entry of "
		    "this node's log the hub committed in this session.",
		    (unsigned long long)n->up_acked);
	if (n->hub_state == HUB_CONNECTED)
		prom_metric(f, "alliance_node_up_lag", "gauge", "Entries of "
			    "this node's log the hub has not committed yet "
			    "(while connected).",
			    (unsigned long long)sync_up_lag(n, head));
	prom_metric(f, "alliance_node_down_cursor", "gauge", "The last entry "
		    "of the hub's stream stored here.",
		    (unsigned long long)n->down_cursor);
	prom_metric(f, "alliance_node_store_behind_total", "counter",
		    "Welcomes that found this store gone back in time "
		    "(restored from an older backup, or lost).",
		    (unsigned long long)n->store_behind);
	prom_metric(f, "alliance_node_renumbered_total", "counter", "Own "
		    "edits renumbered above the hub's for a store gone back "
		    "in time, to be sent again.",
		    (unsigned long long)n->renumbered);
	prom_head(f, "alliance_node_own_records", "gauge", "This community's "
		  "live records, by kind.");
	fprintf(f, "alliance_node_own_records{kind=\"service\"} %llu\n"
		"alliance_node_own_records{kind=\"announcement\"} %llu\n",
		(unsigned long long)catalog_count(n->cat, n->cfg.community,
				ALLIANCE__V1__KIND__KIND_SERVICE),
		(unsigned long long)catalog_count(n->cat, n->cfg.community,
				ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT));
}

/* store_and_clock: the store's disk, the clock offset, bulletins and the
 * civic queues; a value the node cannot read is left out. */
static void store_and_clock(struct node *n, FILE *f)
{
	struct node_disk d;
	int64_t v;

	if (node_disk(n, &d) == ERR_OK) {
		prom_metric(f, "alliance_node_store_free_bytes", "gauge",
			    "Free bytes on the file system of the store.",
			    (unsigned long long)d.free_bytes);
		prom_metric(f, "alliance_node_store_size_bytes", "gauge",
			    "Size of the file system of the store.",
			    (unsigned long long)d.total_bytes);
		prom_gauge(f, "alliance_node_store_free_ratio", "Free share "
			   "of the file system of the store (0 to 1).",
			   (double)d.free_bytes / (double)d.total_bytes);
		prom_metric(f, "alliance_node_store_free_low", "gauge", "1 "
			    "when under 10 % of the store's file system is "
			    "free (the console warns), else 0.",
			    (unsigned long long)d.low);
	}
	if (node_clock_offset(n, &v))
		prom_gauge(f, "alliance_node_clock_offset_seconds", "The "
			   "hub's clock minus this node's, as the last Welcome "
			   "told (the node judges time by the hub's).",
			   (double)v / 1000.0);
	prom_metric(f, "alliance_node_bulletins_received_total", "counter",
		    "Bulletin frames received from the hub.",
		    (unsigned long long)n->bulletins_received);
	prom_metric(f, "alliance_node_bulletins_stored_total", "counter",
		    "Bulletins stored (new, signed, for this community).",
		    (unsigned long long)n->bulletins_stored);
	prom_metric(f, "alliance_node_bulletins_refused_total", "counter",
		    "Bulletins refused (signature, area or a conflicting "
		    "id).", (unsigned long long)n->bulletins_refused);
	prom_histogram(f, "alliance_node_bulletin_ack_seconds", "A bulletin "
		       "from the hub until its ack was queued (verified and "
		       "stored; replays too).", &n->bulletin_ack);
	prom_histogram(f, "alliance_node_bulletin_store_wait_seconds", "Of "
		       "that, the wait for the store's write lock (node.db's "
		       "alone, not the outbox's file).",
		       &n->bulletin_store_wait);
	if ((v = node_relay_outbox(n)) >= 0)
		prom_metric(f, "alliance_node_relay_outbox", "gauge",
			    "Requests, statuses, polls and tallies of this "
			    "community waiting for the hub's ack.",
			    (unsigned long long)v);
	if ((v = node_requests_open(n)) >= 0)
		prom_metric(f, "alliance_node_requests_open", "gauge", "Open "
			    "requests in this community's queue.",
			    (unsigned long long)v);
	outbox_metrics(n, f);
}

/* render: the whole text (prom_render's write). The community id
 * ([a-z0-9-]) and the version need no escaping as label values. */
static void render(FILE *f, void *arg)
{
	struct node *n = arg;

	prom_head(f, "alliance_node_info", "gauge", "This node: its "
		  "community and version.");
	fprintf(f, "alliance_node_info{community=\"%s\",version=\"%s\"} 1\n",
		n->cfg.community, ALLIANCE_VERSION);
	prom_metric(f, "alliance_node_start_time_seconds", "gauge", "When the "
		    "node started (unix seconds).",
		    (unsigned long long)n->started);
	hub_session(n, f);
	streams(n, f);
	store_and_clock(n, f);
}

/* ---- the lws callback ---------------------------------------------------- */

static void on_metrics(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	size_t len = 0;
	char *text = prom_render(render, node_from_wsi(wsi), &len);

	(void)ctx;
	(void)m;
	if (!text)
		http_reply_error(wsi, ex, 500, "internal", "could not render "
				 "the metrics");
	else
		http_reply(wsi, ex, 200, PROM_CONTENT_TYPE, text, len);
}

/* The listener's one route: anyone who reaches the port may read. */
static const struct route metrics_routes[] = {
	{ ROUTE_GET, METRICS_PATH, ROUTE_PUBLIC, on_metrics, 0 },
};

static const struct route_table metrics_table = {
	metrics_routes, 1, NULL, NULL
};

/* route: by the table (404 for another path, 405 for another method). A
 * body is never read: the connection closes after the reply. */
static void route(struct lws *wsi, struct http_exchange *ex)
{
	if (ex->body_expected)
		ex->close_after = 1;
	route_dispatch(&metrics_table, NULL, wsi, ex);
}

static int callback_metrics(struct lws *wsi, enum lws_callback_reasons reason,
			    void *user, void *in, size_t len)
{
	struct http_exchange *ex = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (http_pipelined(wsi))
			return -1;
		/* no body is taken, so none is too large: route at once */
		if (http_begin(wsi, ex, in, SIZE_MAX) == ERR_OK)
			route(wsi, ex);
		return 0;
	case LWS_CALLBACK_HTTP_BODY:
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return 0;          /* answered at the headers */
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return ex ? http_writeable(wsi, ex) : 0;
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:   /* http_dropped */
		if (!ex || !http_dropped(wsi, ex))
			return 0;
		/* fallthrough */
	case LWS_CALLBACK_CLOSED_HTTP:
		if (ex)
			http_end(ex);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols metrics_protocols[] = {
	{ METRICS_PROTOCOL, callback_metrics, sizeof(struct http_exchange),
	  0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* ---- the vhost ----------------------------------------------------------- */

int metrics__create_vhost(struct node *n)
{
	struct lws_context_creation_info info;

	if (!n->cfg.metrics_port) {
		log_info("metrics: off ([metrics] port is 0)");
		return ERR_OK;
	}
	n->metrics_iface = strdup(n->cfg.metrics_address);
	if (!n->metrics_iface) {
		log_error("out of memory making the metrics listener");
		return ERR_NOMEM;
	}
	memset(&info, 0, sizeof(info));
	info.vhost_name = metrics_vhost_name;
	info.port = (int)n->cfg.metrics_port;
	info.protocols = metrics_protocols;
	listen_address(&info, n->metrics_iface);
	n->metrics_vhost = lws_create_vhost(n->lws, &info);
	if (!n->metrics_vhost) {
		log_error("cannot listen on %s port %u for /metrics",
			  n->metrics_iface, n->cfg.metrics_port);
		return ERR_FAIL;
	}
	log_info("metrics: http://%s%s%s:%u" METRICS_PATH " (loopback only)",
		 strchr(n->metrics_iface, ':') ? "[" : "", n->metrics_iface,
		 strchr(n->metrics_iface, ':') ? "]" : "",
		 n->cfg.metrics_port);
	return ERR_OK;
}

void metrics__free(struct node *n)
{
	free(n->metrics_iface);
	n->metrics_iface = NULL;
}
