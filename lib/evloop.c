/* evloop.c: the lws context on a libev loop (epoll) of the daemon's own,
 * with the work lws's libev glue leaves to an idle watcher done before
 * every wait (see evloop.h).
 *
 * Parts: the pass (before_wait); making and freeing the loop. */
#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "evloop.h"
#include "log.h"

/* lws_sul_schedule files a timer in the first of the service thread's
 * LWS_COUNT_PT_SUL_OWNERS lists (the one that misses a suspend); the rest
 * follow it in one array (lws-timeout-timer.h). */
_Static_assert(LWSSULLI_MISS_IF_SUSPENDED == 0,
	       "lws_sul_schedule no longer files into the first sul list");

struct evloop {
	struct ev_loop *ev;             /* the loop, epoll (owned) */
	struct lws_context *lws;        /* served from ev (owned) */
	lws_dll2_owner_t *suls;         /* lws's timer lists of the service
					 * thread, LWS_COUNT_PT_SUL_OWNERS */
	ev_prepare prepare;             /* before_wait, before each wait */
	ev_timer next_timer;            /* wakes the wait when the earliest
					 * lws_sul is due */
	ev_idle busy;                   /* active while forced service is
					 * still due: the wait does not block */
};

/* ---- the pass ----------------------------------------------------------- */

/* service_due: 1 when lws has work no fd will announce: TLS records
 * OpenSSL holds, rx flow released with data buffered, extension drains
 * (lws_service_adjust_timeout says so by returning 0). */
static int service_due(struct lws_context *lws)
{
	return lws_service_adjust_timeout(lws, 1, 0) == 0;
}

/* before_wait: what lws's default loop does around its poll(2), without
 * the poll: the forced service when due (it also serves the released rx
 * flow), every ripe lws_sul (lws_set_timeout, the daemon's timers), then
 * the timer set to the next one, and no blocking wait while service is
 * still due. libev runs it before every wait, after the callbacks of the
 * previous events, whatever else is pending. */
static void before_wait(struct ev_loop *ev, ev_prepare *w, int revents)
{
	struct evloop *l = w->data;
	lws_usec_t next;

	(void)revents;
	if (service_due(l->lws))
		_lws_plat_service_forced_tsi(l->lws, 0);
	next = __lws_sul_service_ripe(l->suls, LWS_COUNT_PT_SUL_OWNERS,
				      lws_now_usecs());
	if (next) {
		ev_now_update(ev);      /* the timer counts from now */
		l->next_timer.repeat = (ev_tstamp)next / LWS_US_PER_SEC;
		ev_timer_again(ev, &l->next_timer);
	} else {
		ev_timer_stop(ev, &l->next_timer);
	}
	if (service_due(l->lws))
		ev_idle_start(ev, &l->busy);
	else
		ev_idle_stop(ev, &l->busy);
}

/* timer_woken, idle_woken: being active is these watchers' whole job
 * (ending the wait, skipping it); the next before_wait does the work. */
static void timer_woken(struct ev_loop *ev, ev_timer *w, int revents)
{
	(void)ev;
	(void)w;
	(void)revents;
}

static void idle_woken(struct ev_loop *ev, ev_idle *w, int revents)
{
	(void)ev;
	(void)w;
	(void)revents;
}

void evloop_service(struct evloop *l)
{
	ev_run(l->ev, EVRUN_ONCE);
}

/* ---- making and freeing the loop --------------------------------------- */

/* sul_probe: never runs; its sul is filed and cancelled at once. */
static void sul_probe(lws_sorted_usec_list_t *sul)
{
	(void)sul;
}

/* sul_lists: the service thread's lws_sul lists of lws, learnt from the
 * list lws_sul_schedule files a probe in (lws has no accessor for them;
 * __lws_sul_service_ripe, public, takes them). */
static lws_dll2_owner_t *sul_lists(struct lws_context *lws)
{
	lws_sorted_usec_list_t probe;
	lws_dll2_owner_t *own;

	memset(&probe, 0, sizeof(probe));
	lws_sul_schedule(lws, 0, &probe, sul_probe, LWS_US_PER_SEC);
	own = probe.list.owner;
	lws_sul_cancel(&probe);
	return own;
}

struct evloop *evloop_new(void *user)
{
	struct evloop *l = calloc(1, sizeof(*l));

	if (!l) {
		log_error("cannot make the event loop: out of memory");
		return NULL;
	}
	l->ev = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
	if (!l->ev) {
		log_error("cannot make the event loop: no epoll");
		goto err;
	}
	l->lws = daemon_lws_context(user, l->ev);
	if (!l->lws) {
		log_error("no lws context on libev (is the package "
			  "libwebsockets-evlib-ev installed?)");
		goto err;
	}
	l->suls = sul_lists(l->lws);
	if (!l->suls) {
		log_error("cannot find lws's timer lists");
		goto err;
	}
	ev_prepare_init(&l->prepare, before_wait);
	l->prepare.data = l;
	ev_prepare_start(l->ev, &l->prepare);
	ev_init(&l->next_timer, timer_woken);
	ev_idle_init(&l->busy, idle_woken);
	return l;
err:
	evloop_free(&l);
	return NULL;
}

struct lws_context *evloop_lws(const struct evloop *l)
{
	return l->lws;
}

void evloop_free(struct evloop **l)
{
	if (!*l)
		return;
	if ((*l)->lws)
		lws_context_destroy((*l)->lws);
	if ((*l)->ev) {
		ev_prepare_stop((*l)->ev, &(*l)->prepare);
		ev_timer_stop((*l)->ev, &(*l)->next_timer);
		ev_idle_stop((*l)->ev, &(*l)->busy);
		ev_loop_destroy((*l)->ev);
	}
	free(*l);
	*l = NULL;
}
