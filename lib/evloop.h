/* evloop.h: an lws context served from a libev loop on epoll that the
 * daemon owns, instead of lws's default loop, which poll(2)s every fd on
 * every pass (the hub's cost that grows with its idle sessions).
 *
 * lws 4.1.6's libev glue (the libwebsockets-evlib-ev plugin) serves the
 * fds that epoll reports, but runs the forced service (TLS records
 * OpenSSL already read and holds, which no fd readiness announces), the
 * rx flow released by flow control and the lws_sul timers (lws_set_timeout,
 * every lws_sul_schedule) only from an ev_idle watcher, which libev runs
 * only while nothing else is pending: under steady traffic they starve.
 * This loop does that work itself before every wait, as lws's default
 * loop does before its poll, and does not wait while any of it is due.
 *
 * One evloop a process, used on the service thread only; other threads
 * and signal handlers wake it with lws_cancel_service as before. */
#ifndef ALLIANCE_EVLOOP_H
#define ALLIANCE_EVLOOP_H

#include <libwebsockets.h>

struct evloop;

/* evloop_new: a libev loop on epoll and the daemon's lws context served
 * from it (daemon_lws_context's; the caller makes the vhosts afterwards);
 * user is what lws_context_user returns. Free it with evloop_free. NULL,
 * logged, when either cannot be made (no epoll, or lws's libev plugin
 * missing: package libwebsockets-evlib-ev). */
struct evloop *evloop_new(void *user);

/* evloop_lws: the lws context of l (owned by l). */
struct lws_context *evloop_lws(const struct evloop *l);

/* evloop_service: one pass, in place of lws_service(): runs what is due
 * (forced service, released rx flow, ripe timers), waits for the next fd
 * event, timer or lws_cancel_service (not at all while something is still
 * due), and serves what came. A signal that interrupts the wait ends the
 * pass too, so the caller sees its flags. */
void evloop_service(struct evloop *l);

/* evloop_free: destroy the lws context (closing what is still open), then
 * the loop; sets *l to NULL. NULL is fine. */
void evloop_free(struct evloop **l);

#endif
