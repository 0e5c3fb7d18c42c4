/* keepalive.c: the hub's own liveness checks of node sessions.
 *
 * lws 4.1 keeps one validity timer per connection in a single sorted list
 * and re-inserts it (a walk of the whole list) on every ping and pong, and
 * each ping and pong wakes the service loop (lws's poll loop, which the
 * hub ran before lib/evloop.c, polled every fd on each): with 10,000 idle
 * nodes that alone took half a core (BENCHMARKS.md). So lws's
 * validity policy is off for the alliance port, and one timer walks the
 * live sessions instead with the link's policy (link_keepalive, which the
 * node runs too): a session silent for [limits] ping_s gets a websocket
 * PING (written from WRITEABLE, ahead of its queue), one silent for
 * drop_s is dropped. The timer runs every quarter of ping_s (at least
 * every second, at most every 5 s): every wake-up is a pass of the
 * service loop, so pings due within one period go out together and
 * their pongs come back in a few wake-ups (at 10,000 idle nodes a timer
 * each second and its pongs took 4.7-5.9 % of a core, at 5 s 2.1 %).
 * The same walk closes a session whose certificate has expired since its
 * upgrade (tls_close_expired: one comparison per session).
 *
 * Parts: the tick; starting. */
#include "hub.h"
#include "log.h"

/* check: ping or drop one session (registry_each_session). */
static void check(struct session *s, void *arg)
{
	struct hub *hub = s->hub;
	int64_t now = *(const int64_t *)arg;

	if (s->state == SESSION_CLOSING || tls_close_expired(s, hub_now()))
		return;
	if (link_keepalive(&s->link, now, hub->cfg.ping_s, hub->cfg.drop_s))
		log_info("session %s: silent for %lld s, dropped",
			 s->community ? s->community->id : "(unidentified)",
			 (long long)(now - s->link.heard));
}

static void tick(lws_sorted_usec_list_t *sul)
{
	struct hub *hub = lws_container_of(sul, struct hub, keepalive_timer);
	int64_t now = link_now();

	registry_each_session(hub, check, &now);
	lws_sul_schedule(hub->lws, 0, &hub->keepalive_timer, tick,
			 link_keepalive_period_us(hub->cfg.ping_s));
}

void keepalive_start(struct hub *hub)
{
	lws_sul_schedule(hub->lws, 0, &hub->keepalive_timer, tick,
			 link_keepalive_period_us(hub->cfg.ping_s));
}
