/* alerts.c: what an operator is warned of before it breaks: the /metrics
 * families deploy/prometheus/alliance-rules.yml alerts on (besides the
 * CRL's, which metrics.c writes), and the same warnings, by the same
 * thresholds (lib/alliance_limits.h), for the district console.
 *
 * The warnings: a certificate (the hub's two, the CA's, a node's) expiring
 * within LIMIT_CERT_WARN_S; the CRL's next update within LIMIT_CRL_WARN_S;
 * a node not heard from for LIMIT_SILENT_WARN_S; a bulletin not delivered
 * to a community LIMIT_UNDELIVERED_WARN_S after the hub received it; the
 * disk of the hub's store under LIMIT_DISK_LOW_PERCENT free. (Lag
 * growing for 10 minutes needs a history, which Prometheus keeps and the
 * hub does not: the console shows the lags.)
 *
 * Parts: per community; metrics; the console's warnings. */
#include <stdio.h>

#include "clock.h"
#include "err.h"
#include "hub.h"
#include "prom.h"
#include "store.h"

/* ---- per community ------------------------------------------------------ */

static const char *const cert_names[HUB_CERT_COUNT] = {
	[HUB_CERT_ALLIANCE] = "alliance",
	[HUB_CERT_PUBLIC] = "public",
	[HUB_CERT_CA] = "ca",
};

static int connected(const struct community *c)
{
	return c->session && c->session->state == SESSION_ACTIVE;
}

/* last_heard: when the hub last heard from c's node (unix seconds; 0:
 * never): its last frame or pong while its session is live, else its
 * last frame or the end of its last session. */
static int64_t last_heard(const struct community *c)
{
	if (connected(c))
		return hub_now() - (link_now() - c->session->link.heard);
	return c->last_seen;
}

void hub_community_lag(struct hub *hub, const struct community *c,
		       uint64_t *up, uint64_t *down)
{
	uint64_t head = catalog_log_head(hub->cat);

	*up = c->up_head > c->up_cursor ? c->up_head - c->up_cursor : 0;
	*down = head > c->down_cursor ? head - c->down_cursor : 0;
}

/* ---- metrics ------------------------------------------------------------ */

/* A family written one community at a time. */
enum family {
	F_CONNECTED,
	F_LAST_SEEN,
	F_UP_LAG,
	F_DOWN_LAG,
	F_CERT,
	F_UNDELIVERED,
	F_COUNT
};

static const struct {
	const char *name, *help;
} families[F_COUNT] = {
	[F_CONNECTED] = { "alliance_community_connected",
		"1 while the community's node has a live session, else 0." },
	[F_LAST_SEEN] = { "alliance_community_last_seen_timestamp_seconds",
		"When the hub last heard from the community's node (a frame, "
		"or a pong while its session is live; unix seconds); "
		"communities never seen are left out." },
	[F_UP_LAG] = { "alliance_community_up_lag",
		"The node's changes the hub has not committed, as of its last "
		"batch." },
	[F_DOWN_LAG] = { "alliance_community_down_lag",
		"Hub-stream entries the node has not acked." },
	[F_CERT] = { "alliance_node_cert_expiry_timestamp_seconds",
		"When the certificate chain of the community's node expires "
		"(its earliest notAfter, unix seconds), as of its last Hello "
		"since the hub started; others are left out." },
	[F_UNDELIVERED] = { "alliance_community_bulletin_undelivered_since"
		"_timestamp_seconds",
		"When the hub received the oldest unexpired bulletin the "
		"community's node has neither acked nor refused (unix "
		"seconds); communities with none are left out." },
};

struct family_walk {
	struct hub *hub;
	FILE *f;
	enum family which;
};

static void sample(struct community *c, void *arg)
{
	struct family_walk *w = arg;
	uint64_t up, down;
	long long v;

	switch (w->which) {
	case F_CONNECTED:
		v = connected(c);
		break;
	case F_LAST_SEEN:
		v = last_heard(c);
		if (!v)
			return;
		break;
	case F_UP_LAG:
	case F_DOWN_LAG:
		hub_community_lag(w->hub, c, &up, &down);
		v = (long long)(w->which == F_UP_LAG ? up : down);
		break;
	case F_CERT:
		if (!c->cert_not_after)
			return;
		v = c->cert_not_after;
		break;
	default:
		if (!c->undelivered_ms)
			return;
		v = c->undelivered_ms / 1000;
		break;
	}
	fprintf(w->f, "%s{community=\"%s\"} %lld\n", families[w->which].name,
		c->id, v);
}

void hub_alert_metrics(struct hub *hub, FILE *f)
{
	const int64_t *e = hub->metrics.cert_expiry;
	struct family_walk w = { hub, f, 0 };

	prom_head(f, "alliance_cert_expiry_timestamp_seconds", "gauge",
		  "When the hub's certificates expire (unix seconds): the "
		  "alliance port's, the public port's (HTTPS only) and the "
		  "CA's (its earliest).");
	for (int i = 0; i < HUB_CERT_COUNT; i++)
		if (e[i])
			fprintf(f, "alliance_cert_expiry_timestamp_seconds"
				"{cert=\"%s\"} %lld\n", cert_names[i],
				(long long)e[i]);
	hub_bulletin_undelivered(hub);
	for (w.which = 0; w.which < F_COUNT; w.which++) {
		prom_head(f, families[w.which].name, "gauge",
			  families[w.which].help);
		registry_each(hub, sample, &w);
	}
}

/* ---- the console's warnings --------------------------------------------- */

struct warnings {
	json_t *list;
	int64_t now;
};

/* warn: append {code, community, cert, at} to the list; community and
 * cert may be NULL. */
static void warn(struct warnings *w, const char *code, const char *community,
		 const char *cert, int64_t at)
{
	char t[CLOCK_RFC3339_LEN];

	json_array_append_new(w->list, json_pack("{s:s, s:s?, s:s?, s:s}",
		"code", code, "community", community, "cert", cert,
		"at", clock_rfc3339(at, t, sizeof(t))));
}

static void community_warnings(struct community *c, void *arg)
{
	struct warnings *w = arg;
	int64_t heard = last_heard(c);

	if (c->cert_not_after && c->cert_not_after - w->now < LIMIT_CERT_WARN_S)
		warn(w, "cert_expiring", c->id, "node", c->cert_not_after);
	if (heard && w->now - heard > LIMIT_SILENT_WARN_S)
		warn(w, "node_silent", c->id, NULL, heard);
	if (c->undelivered_ms &&
	    w->now - c->undelivered_ms / 1000 > LIMIT_UNDELIVERED_WARN_S)
		warn(w, "bulletin_undelivered", c->id, NULL,
		     c->undelivered_ms / 1000);
}

/* disk_warning: store_disk_low of the store's file system, as {code,
 * community and cert null, at: now, free_bytes, total_bytes}; nothing
 * when it is not low or cannot be read. */
static void disk_warning(struct hub *hub, struct warnings *w)
{
	uint64_t free_bytes, total;
	char t[CLOCK_RFC3339_LEN];

	if (store_free_space(hub->cfg.store_path, &free_bytes, &total) !=
	    ERR_OK || !store_disk_low(free_bytes, total))
		return;
	json_array_append_new(w->list, json_pack("{s:s, s:n, s:n, s:s, s:I, "
		"s:I}", "code", "store_disk_low", "community", "cert", "at",
		clock_rfc3339(w->now, t, sizeof(t)),
		"free_bytes", (json_int_t)free_bytes,
		"total_bytes", (json_int_t)total));
}

json_t *hub_alerts_json(struct hub *hub)
{
	struct warnings w = { json_array(), hub_now() };
	const int64_t *e = hub->metrics.cert_expiry;
	int64_t crl = hub->metrics.crl_next_update;

	for (int i = 0; i < HUB_CERT_COUNT; i++)
		if (e[i] && e[i] - w.now < LIMIT_CERT_WARN_S)
			warn(&w, "cert_expiring", NULL, cert_names[i], e[i]);
	if (crl && crl - w.now < LIMIT_CRL_WARN_S)
		warn(&w, "crl_due", NULL, NULL, crl);
	disk_warning(hub, &w);
	hub_bulletin_undelivered(hub);
	registry_each(hub, community_warnings, &w);
	return w.list;
}

void hub_community_alert_json(const struct community *c, json_t *obj)
{
	char t[CLOCK_RFC3339_LEN];

	json_object_set_new(obj, "cert_expires", c->cert_not_after
		? json_string(clock_rfc3339(c->cert_not_after, t, sizeof(t)))
		: json_null());
	json_object_set_new(obj, "bulletin_undelivered_since",
		c->undelivered_ms
		? json_string(clock_rfc3339(c->undelivered_ms / 1000, t,
					    sizeof(t)))
		: json_null());
}
