/* daemon.h: what alliance-hub and alliance-node do alike around their
 * service loop: the lws context their ports are added to; the signals
 * (SIGTERM and SIGINT stop, SIGHUP reloads, SIGPIPE is ignored), each of
 * which only sets a flag and wakes the service loop; and the store at
 * start-up ("check -c FILE", a store that cannot be used, the search
 * indexer's connection), with one exit code and one message shape. Each
 * role keeps what is its own: what a reload re-reads, how it drains, the
 * way back from a damaged store. */
#ifndef ALLIANCE_DAEMON_H
#define ALLIANCE_DAEMON_H

#include <libwebsockets.h>
#include <sqlite3.h>
#include <stddef.h>

struct indexer;

/* The exit code for a store that cannot be opened or is damaged. */
#define DAEMON_EXIT_STORE 3

/* daemon_lws_context: the daemon's lws context, its vhosts (ports) made
 * by the role afterwards, OpenSSL set up once for all of them; user is
 * what lws_context_user returns. ev_loop NULL: lws's own poll(2) loop
 * (lws_service); otherwise a struct ev_loop * the context is served from
 * through lws's libev plugin (lib/evloop.h makes and runs it). NULL,
 * logged, when it cannot be made. */
struct lws_context *daemon_lws_context(void *user, void *ev_loop);

/* daemon_signals_install: catch SIGTERM, SIGINT and SIGHUP into the flags
 * below; ignore SIGPIPE. */
void daemon_signals_install(void);

/* daemon_signals_wake: the context whose service loop a signal wakes
 * (lws_cancel_service); NULL before it is destroyed. */
void daemon_signals_wake(struct lws_context *lws);

/* daemon_stop_requested: 1 once SIGTERM or SIGINT came. */
int daemon_stop_requested(void);

/* daemon_reload_take: 1 if SIGHUP came since the last call (and clears it). */
int daemon_reload_take(void);

/* A function opening another connection to the store at path (the role's
 * migrations applied), as hub_store_connect and node_store_connect. */
typedef int (*daemon_store_connect_fn)(const char *path, sqlite3 **db,
				       char *err, size_t errlen);

/* daemon_store_refused: log why the store cannot be used: rc ERR_INVALID
 * (damaged) with the role's way back, anything else as not opened.
 * Returns DAEMON_EXIT_STORE. */
int daemon_store_refused(int rc, const char *err, const char *way_back);

/* daemon_store_check: "PROG check -c FILE": the full check of the store
 * at path, opened through open_store. Prints "PROG: store PATH is sound"
 * and returns 0, or logs (daemon_store_refused) and returns
 * DAEMON_EXIT_STORE. */
int daemon_store_check(const char *prog, const char *path,
		       daemon_store_connect_fn open_store,
		       const char *way_back);

/* daemon_indexer_start: the search indexer (lib/indexer.c) on a
 * connection of its own to the store at path, opened through open_store.
 * Stores it in *out and returns ERR_OK; otherwise logs "cannot start the
 * indexer: why" and returns the error. */
int daemon_indexer_start(const char *path, daemon_store_connect_fn open_store,
			 struct indexer **out);

#endif
