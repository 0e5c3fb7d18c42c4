/* daemon.c: signals and the start-up store check both daemons share (see
 * daemon.h).
 *
 * Parts: the lws context; signals; the store. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "err.h"
#include "indexer.h"
#include "log.h"
#include "store.h"

/* ---- the lws context ---------------------------------------------------- */

struct lws_context *daemon_lws_context(void *user, void *ev_loop)
{
	struct lws_context_creation_info info;
	struct lws_context *lws;
	void *loops[1] = { ev_loop };

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
		       LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	if (ev_loop) {
		info.options |= LWS_SERVER_OPTION_LIBEV;
		info.foreign_loops = loops;
	}
	info.user = user;
	lws = lws_create_context(&info);
	if (!lws)
		log_error("cannot create the lws context");
	return lws;
}

/* ---- signals ---------------------------------------------------------- */

static volatile sig_atomic_t stop_requested, reload_requested;
static struct lws_context *volatile signal_lws;

/* on_signal: only set a flag and wake the service loop. */
static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
	if (signal_lws)
		lws_cancel_service(signal_lws);
}

void daemon_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void daemon_signals_wake(struct lws_context *lws)
{
	signal_lws = lws;
}

int daemon_stop_requested(void)
{
	return stop_requested != 0;
}

int daemon_reload_take(void)
{
	if (!reload_requested)
		return 0;
	reload_requested = 0;
	return 1;
}

/* ---- the store -------------------------------------------------------- */

int daemon_store_refused(int rc, const char *err, const char *way_back)
{
	if (rc == ERR_INVALID)
		log_error("the store is damaged: %s. The way back: %s", err,
			  way_back);
	else
		log_error("cannot open the store: %s", err);
	return DAEMON_EXIT_STORE;
}

int daemon_store_check(const char *prog, const char *path,
		       daemon_store_connect_fn open_store,
		       const char *way_back)
{
	char err[1024];
	sqlite3 *db = NULL;
	int rc;

	rc = open_store(path, &db, err, sizeof(err));
	if (rc == ERR_OK)
		rc = store_check(db, path, 1, err, sizeof(err));
	store_close(&db);
	if (rc != ERR_OK)
		return daemon_store_refused(rc, err, way_back);
	printf("%s: store %s is sound\n", prog, path);
	return 0;
}

int daemon_indexer_start(const char *path, daemon_store_connect_fn open_store,
			 struct indexer **out)
{
	sqlite3 *db = NULL;
	char err[1024];
	int rc = open_store(path, &db, err, sizeof(err));

	if (rc == ERR_OK)
		rc = indexer_start(db, out, err, sizeof(err));
	if (rc != ERR_OK)
		log_error("cannot start the indexer: %s", err);
	return rc;
}
