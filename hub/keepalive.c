/* keepalive.c: the hub's own liveness checks of node sessions.
 *
 * lws 4.1 keeps one validity timer per connection in a single sorted list
 * and re-inserts it (a walk of the whole list) on every ping and pong, and
 * each ping and pong wakes the poll loop, which polls every fd: with
 * 10,000 idle nodes that alone took half a core (BENCHMARKS.md). So lws's
 * validity policy is off for the alliance port, and one timer a second
 * walks the live sessions instead: a session silent for [limits] ping_s
 * gets a websocket PING (written from WRITEABLE, ahead of its queue), one
 * silent for drop_s is dropped. Pings due in the same second go out
 * together, so their pongs come back in a few wake-ups.
 *
 * Parts: the tick; starting. */
#include <time.h>

#include "hub.h"
#include "log.h"

/* How often the sessions are walked. */
#define KEEPALIVE_TICK_US LWS_US_PER_SEC

int64_t keepalive_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* check: ping or drop one session (registry_each_session). */
static void check(struct session *s, void *arg)
{
	struct hub *hub = s->hub;
	int64_t now = *(const int64_t *)arg, silent = now - s->heard;

	if (s->state == SESSION_CLOSING)
		return;
	if (silent >= (int64_t)hub->cfg.drop_s) {
		log_info("session %s: silent for %lld s, dropped",
			 s->community ? s->community->id : "(unidentified)",
			 (long long)silent);
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK,
				LWS_TO_KILL_ASYNC);
		return;
	}
	if (silent >= (int64_t)hub->cfg.ping_s &&
	    now - s->pinged >= (int64_t)hub->cfg.ping_s) {
		s->pinged = now;
		s->ping_due = 1;
		lws_callback_on_writable(s->wsi);
	}
}

static void tick(lws_sorted_usec_list_t *sul)
{
	struct hub *hub = lws_container_of(sul, struct hub, keepalive_timer);
	int64_t now = keepalive_now();

	registry_each_session(hub, check, &now);
	lws_sul_schedule(hub->lws, 0, &hub->keepalive_timer, tick,
			 KEEPALIVE_TICK_US);
}

void keepalive_start(struct hub *hub)
{
	lws_sul_schedule(hub->lws, 0, &hub->keepalive_timer, tick,
			 KEEPALIVE_TICK_US);
}
