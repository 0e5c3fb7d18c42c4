/* metrics.c: counters and the Prometheus text of GET /metrics; refusals.
 *
 * Every refusal (a TLS handshake, a role, a bad frame...) is counted by
 * reason and logged with the peer named, in one place. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "hub.h"
#include "err.h"
#include "log.h"
#include "pglog.h"
#include "prom.h"
#include "store.h"

static const char *const refusal_names[REFUSE_COUNT] = {
	[REFUSE_TLS] = "tls",
	[REFUSE_ROLE] = "role",
	[REFUSE_NOT_REGISTERED] = "not_registered",
	[REFUSE_WRONG_COMMUNITY] = "wrong_community",
	[REFUSE_HELLO_TIMEOUT] = "hello_timeout",
	[REFUSE_BAD_FRAME] = "bad_frame",
	[REFUSE_TOO_LARGE] = "too_large",
	[REFUSE_TEXT_FRAME] = "text_frame",
	[REFUSE_PROTOCOL] = "protocol",
	[REFUSE_FLOOD] = "flood",
	[REFUSE_REVOKED] = "revoked",
	[REFUSE_UNTRUSTED] = "untrusted",
	[REFUSE_EXPIRED] = "expired",
	[REFUSE_REPLACED] = "replaced",
	[REFUSE_SLOW] = "slow_consumer",
	[REFUSE_WRONG_ORIGIN] = "wrong_origin",
	[REFUSE_QUOTA] = "quota",
	[REFUSE_BATCH] = "batch",
	[REFUSE_PAST_HEAD] = "past_head",
	[REFUSE_UNSENT] = "unsent",
	[REFUSE_VERSION] = "version",
	[REFUSE_UNAVAILABLE] = "unavailable",
};

const char *refusal_name(enum refusal r)
{
	return r < REFUSE_COUNT ? refusal_names[r] : "unknown";
}

void refuse(struct hub *hub, enum refusal r, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r < REFUSE_COUNT)
		hub->metrics.refusals[r]++;
	log_warn("%s [%s]", line, refusal_name(r));
}

/* Sums of relay refusals over communities, for relay_refusals. */
struct relay_sums {
	FILE *f;
	uint64_t total[RELAY_REFUSE_COUNT];
};

static void relay_refused_of(struct community *c, void *arg)
{
	struct relay_sums *sums = arg;

	for (int r = RELAY_OK + 1; r < RELAY_REFUSE_COUNT; r++) {
		sums->total[r] += c->relay_refused[r];
		if (c->relay_refused[r])
			fprintf(sums->f, "alliance_relay_refused_community_total"
				"{community=\"%s\",reason=\"%s\"} %llu\n",
				c->id, hub_relay_refusal_name(r),
				(unsigned long long)c->relay_refused[r]);
	}
}

/* relay_refusals: the relayed requests and statuses the hub refused (a
 * foreign id, no such service, over quota...), per sending community
 * (only those with any) and in all, by reason. */
static void relay_refusals(struct hub *hub, FILE *f)
{
	struct relay_sums sums = { .f = f };

	prom_head(f, "alliance_relay_refused_community_total", "counter",
		  "Relayed requests and statuses refused, by sending "
		  "community and reason (communities with none are left "
		  "out).");
	registry_each(hub, relay_refused_of, &sums);
	prom_head(f, "alliance_relay_refused_total", "counter",
		  "Relayed requests and statuses refused, by reason.");
	for (int r = RELAY_OK + 1; r < RELAY_REFUSE_COUNT; r++)
		fprintf(f, "alliance_relay_refused_total{reason=\"%s\"} %llu\n",
			hub_relay_refusal_name(r),
			(unsigned long long)sums.total[r]);
}

static void skew_of(struct community *c, void *arg)
{
	if (c->skew_known)
		fprintf(arg, "alliance_community_clock_skew_seconds"
			"{community=\"%s\"} %.3f\n", c->id,
			(double)c->clock_skew_ms / 1000.0);
}

/* clock_skews: how far each node's clock is off the hub's (node minus
 * hub) at its last Hello; communities whose node never said are left
 * out. */
static void clock_skews(struct hub *hub, FILE *f)
{
	prom_head(f, "alliance_community_clock_skew_seconds", "gauge",
		  "The node's clock minus the hub's at its last Hello, by "
		  "community.");
	registry_each(hub, skew_of, f);
}

/* render: the text of GET /metrics (prom_render's write). */
static void render(FILE *f, void *arg)
{
	struct hub *hub = arg;
	const struct hub_metrics *m = &hub->metrics;
	uint64_t disk_free = 0, disk_total = 0;
	int r;

	prom_metric(f, "alliance_sessions", "gauge",
		    "Node sessions past the handshake.", hub->n_sessions);
	prom_metric(f, "alliance_communities", "gauge",
		    "Communities in the registry.", hub->n_communities);
	prom_metric(f, "alliance_sessions_opened_total", "counter",
		    "Websocket sessions opened.", m->sessions_opened);
	prom_metric(f, "alliance_changes_applied_total", "counter",
		    "Records from nodes stored (newer than what the hub held).",
		    m->changes_applied);
	prom_metric(f, "alliance_changes_stale_total", "counter",
		    "Records from nodes not stored: not newer (replays).",
		    m->changes_stale);
	prom_metric(f, "alliance_store_restores_total", "counter",
		    "Hellos from a node store gone back in time (restored from "
		    "an older backup): its edits since are renumbered.",
		    m->store_restores);
	prom_metric(f, "alliance_frames_in_total", "counter",
		    "Frames received from nodes.", m->traffic.frames_in);
	prom_metric(f, "alliance_frames_out_total", "counter",
		    "Frames sent to nodes.", m->traffic.frames_out);
	prom_metric(f, "alliance_frames_unsent_total", "counter",
		    "Frames the hub could not encode or queue (each closes its "
		    "session).", m->frames_unsent);
	prom_metric(f, "alliance_node_internal_closes_total", "counter",
		    "Sessions a node closed with 1011: it could not store or "
		    "send (a full disk, an I/O error; the reason in the log and "
		    "in the communities' last_close).",
		    m->node_internal_closes);
	prom_metric(f, "alliance_bytes_in_total", "counter",
		    "Frame bytes received from nodes.", m->traffic.bytes_in);
	prom_metric(f, "alliance_bytes_out_total", "counter",
		    "Frame bytes sent to nodes.", m->traffic.bytes_out);
	prom_head(f, "alliance_refusals_total", "counter", "Connections, "
		  "sessions and frames refused, by reason.");
	for (r = 0; r < REFUSE_COUNT; r++)
		fprintf(f, "alliance_refusals_total{reason=\"%s\"} %llu\n",
			refusal_names[r], (unsigned long long)m->refusals[r]);
	relay_refusals(hub, f);
	clock_skews(hub, f);
	prom_metric(f, "alliance_crl_next_update_timestamp_seconds", "gauge",
		    "When the CRL in force must be renewed (unix seconds).",
		    (unsigned long long)m->crl_next_update);
	prom_head(f, "alliance_crl_expires_in_seconds", "gauge", "Seconds "
		  "until the CRL's next update; negative when it passed.");
	fprintf(f, "alliance_crl_expires_in_seconds %lld\n",
		(long long)(m->crl_next_update - hub_now()));
	hub_quota_metrics(hub, f);
	hub_alert_metrics(hub, f);
	if (store_free_space(hub->cfg.store_path, &disk_free, &disk_total) ==
	    ERR_OK) {
		prom_metric(f, "alliance_store_free_bytes", "gauge",
		       "Free bytes on the file system of the store.",
		       (unsigned long long)disk_free);
		prom_metric(f, "alliance_store_size_bytes", "gauge",
		       "Size of the file system of the store.",
		       (unsigned long long)disk_total);
	}
	if (hub->pglog) {
		char why[8];

		prom_metric(f, "alliance_shared_log_up", "gauge",
			    "1 while the database of [store] postgresql is "
			    "reached, else 0.",
			    !pglog_down(hub->pglog, why, sizeof(why)));
		prom_metric(f, "alliance_shared_log_applied", "gauge",
			    "The shared log's last event applied to this "
			    "replica's store.",
			    (unsigned long long)hub->shared_applied);
	}
	prom_metric(f, "alliance_start_time_seconds", "gauge",
		    "When the hub started (unix seconds).",
		    (unsigned long long)hub->started);
}

char *metrics_render(struct hub *hub, size_t *len)
{
	return prom_render(render, hub, len);
}
