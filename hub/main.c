/* main.c: alliance-hub's entry: arguments, configuration, the lws context
 * with its two ports, signals (lib/daemon.c), and the service loop (on
 * epoll: lib/evloop.h).
 *
 * SIGTERM/SIGINT stop cleanly; SIGHUP re-reads the configuration, the
 * certificates and the CRL without dropping healthy sessions.
 *
 * Exit codes (README lists them): 0 after SIGTERM/SIGINT, a sound store
 * for "check" or a checked copy for "backup"; 1 when a port, the TLS
 * context or a thread cannot be made; 2 for usage and configuration
 * errors; 3 when the store cannot be opened or is damaged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "bulletin.h"
#include "bulletin_render.h"
#include "catalog_http.h"
#include "clock.h"
#include "daemon.h"
#include "err.h"
#include "evloop.h"
#include "hub.h"
#include "indexer.h"
#include "listen.h"
#include "log.h"
#include "pages.h"
#include "pglog.h"
#include "poll_store.h"
#include "store.h"
#include "streamer.h"
#include "synonyms.h"
#include "tlspolicy.h"

/* The way back from a damaged store, for the log. */
#define HUB_STORE_WAY_BACK "stop the hub and restore the store from a backup"

struct hub *hub_from_wsi(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

int64_t hub_now(void)
{
	return clock_now();
}

static const struct lws_protocols alliance_protocols[] = {
	{ "http", callback_alliance_http, sizeof(struct hub_http), 0, 0,
	  NULL, 0 },
	{ WIRE_SUBPROTOCOL, callback_sync, sizeof(struct session),
	  LIMIT_SYNC_RX_CHUNK, 0,
	  NULL, LIMIT_SYNC_TX_PACKET },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static const struct lws_protocols public_protocols[] = {
	{ "http", callback_public_http, sizeof(struct hub_http), 0, 0, NULL,
	  HTTP_TX_PACKET },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void usage(FILE *f)
{
	fprintf(f, "usage: alliance-hub -c FILE\n"
		"       alliance-hub check -c FILE\n"
		"       alliance-hub backup [--force] -c FILE DEST\n"
		"       alliance-hub --help | --version\n\n"
		"The district hub of an alliance: node sessions over mutual "
		"TLS, the merged catalog, bulletins. \"check\" runs the full "
		"store check\n(integrity and search index) and exits: 0 "
		"sound, 3 damaged.\n\"backup\" copies the store, also while the "
		"hub runs, into DEST (not replacing one\nunless --force) and "
		"checks the copy: 0 done, 2 DEST refused, 3 failed.\n\n"
		"Configuration keys:\n");
	config_print_help(&hub_config_table, f);
}

/* create_vhosts: the alliance port (mutual TLS, CRL) and the public port. */
static int create_vhosts(struct hub *hub)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	info.vhost_name = "alliance";
	info.port = hub->cfg.alliance_port;
	info.protocols = alliance_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
		       LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
	info.ssl_cert_filepath = hub->cfg.alliance_cert;
	info.ssl_private_key_filepath = hub->cfg.alliance_key;
	info.ssl_ca_filepath = hub->cfg.alliance_ca;
	info.ssl_info_event_mask = SSL_CB_ALERT;
	tlspolicy_server(&info);
	info.alpn = "http/1.1";
	info.retry_and_idle_policy = &hub->keepalive;
	info.user = hub;
	listen_address(&info, hub->cfg.alliance_address);
	hub->alliance_vhost = lws_create_vhost(hub->lws, &info);
	if (!hub->alliance_vhost) {
		log_error("cannot open the alliance port %s:%d (in use? "
			  "certificate, key, CA or CRL unusable?)",
			  hub->cfg.alliance_address, hub->cfg.alliance_port);
		return ERR_IO;
	}

	memset(&info, 0, sizeof(info));
	info.vhost_name = "public";
	info.port = hub->cfg.public_port;
	info.protocols = public_protocols;
	info.mounts = http_callback_mount(&hub->public_mount, "http");
	info.user = hub;
	if (hub->cfg.public_cert) {     /* and the key: config rule */
		info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = hub->cfg.public_cert;
		info.ssl_private_key_filepath = hub->cfg.public_key;
		info.alpn = "http/1.1";
		tlspolicy_server(&info);
	}
	listen_address(&info, hub->cfg.public_address);
	hub->public_vhost = lws_create_vhost(hub->lws, &info);
	if (!hub->public_vhost) {
		log_error("cannot open the public port %s:%d",
			  hub->cfg.public_address, hub->cfg.public_port);
		return ERR_IO;
	}
	return ERR_OK;
}

/* adopt: take field from fresh into the running config (pointer swap, so
 * config_free of fresh frees the old value). */
#define ADOPT(field) do { \
	__typeof__(hub->cfg.field) t_ = hub->cfg.field; \
	hub->cfg.field = fresh.field; fresh.field = t_; } while (0)

/* public_defaults: [public] url and [bulletins] sender when unset: the
 * listener's address, and that URL's host. ERR_OK, or an error in err. */
static int public_defaults(struct hub_config *cfg, char *err, size_t errlen)
{
	const char *host;
	size_t n;

	if (config_public_url(&cfg->public_url, cfg->public_address,
			      cfg->public_port, cfg->public_cert != NULL)) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	if (cfg->bulletin_sender)
		return ERR_OK;
	host = strstr(cfg->public_url, "://") + 3;
	n = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":/");
	cfg->bulletin_sender = strndup(host, n);
	if (!cfg->bulletin_sender) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	if (!bulletin_cap_sender_valid(cfg->bulletin_sender)) {
		snprintf(err, errlen, "[bulletins] sender: the default, %s "
			 "(the host of [public] url), is not a CAP sender id: "
			 "set one", cfg->bulletin_sender);
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* reload_synonyms: re-read [search] synonyms; a bad file keeps the list
 * in force (logged with file:line). Sends what changed to the nodes. */
static void reload_synonyms(struct hub *hub)
{
	struct synonyms *fresh = NULL;
	char err[512];

	if (hub_synonyms_load(hub->cfg.synonyms, &fresh, err, sizeof(err)) !=
	    ERR_OK) {
		log_error("reload: %s; keeping the synonyms in force (%zu "
			  "groups)", err, synonyms_groups(hub->synonyms));
		return;
	}
	synonyms_free(&hub->synonyms);
	hub->synonyms = fresh;
	hub_directory_sync(hub);
}

/* reload: SIGHUP. Ports and addresses need a restart; the rest applies. */
static void reload(struct hub *hub)
{
	struct hub_config fresh;
	char err[512];

	memset(&fresh, 0, sizeof(fresh));
	if (config_load(hub->config_path, &hub_config_table, &fresh, err,
			sizeof(err)) != ERR_OK) {
		log_error("reload: %s; keeping the running configuration", err);
		config_free(&hub_config_table, &fresh);
		return;
	}
	if (fresh.alliance_port != hub->cfg.alliance_port ||
	    fresh.public_port != hub->cfg.public_port ||
	    strcmp(fresh.alliance_address, hub->cfg.alliance_address) ||
	    strcmp(fresh.public_address, hub->cfg.public_address) ||
	    strcmp(fresh.store_path, hub->cfg.store_path) ||
	    !fresh.store_postgresql != !hub->cfg.store_postgresql ||
	    (fresh.store_postgresql &&
	     strcmp(fresh.store_postgresql, hub->cfg.store_postgresql)))
		log_warn("reload: addresses, ports and the store (path, "
			 "postgresql) change only on restart");
	ADOPT(alliance_cert);
	ADOPT(alliance_key);
	ADOPT(alliance_ca);
	ADOPT(alliance_crl);
	ADOPT(log_level);
	ADOPT(max_frame);
	ADOPT(sessions_per_minute);
	ADOPT(tombstone_retention);
	ADOPT(purge_interval);
	ADOPT(bulletin_keys);
	ADOPT(synonyms);
	ADOPT(quota_records);       /* a node learns them at its next Welcome */
	ADOPT(quota_bytes);
	ADOPT(quota_per_hour);
	config_free(&hub_config_table, &fresh);
	reload_synonyms(hub);
	log_init("alliance-hub", (enum log_level)hub->cfg.log_level);
	log_info("reload: configuration re-read from %s", hub->config_path);
	tls_reload(hub);
	hub_bulletin_reload(hub);
}

static void going_away(struct session *s, void *arg)
{
	(void)arg;
	session_going_away(s);
}

/* drain: tell every node the hub is going (1001), so they reconnect at
 * once to its successor instead of waiting out a dead connection; give
 * the close frames at most two seconds to leave. */
static void drain(struct hub *hub)
{
	int64_t deadline = hub_now() + 2;

	registry_each_session(hub, going_away, NULL);
	while (hub->n_sessions && hub_now() < deadline)
		evloop_service(hub->loop);
}

static int run(struct hub *hub)
{
	char err[512];
	int rc = 1;

	rc = hub_store_open(hub, err, sizeof(err));
	if (rc != ERR_OK)
		return daemon_store_refused(rc, err, HUB_STORE_WAY_BACK);
	rc = 1;
	if (sync_shared_open(hub, err, sizeof(err)) != ERR_OK) {
		log_error("[store] postgresql: %s", err);
		goto out;
	}
	if (daemon_indexer_start(hub->cfg.store_path, hub_store_connect,
				 &hub->indexer) != ERR_OK)
		goto out;
	if (hub_store_load_registry(hub) != ERR_OK ||
	    retention_load(hub) != ERR_OK ||
	    hub_directory_sync(hub) != ERR_OK)
		goto out;
	if (hub_bulletin_open(hub, err, sizeof(err)) != ERR_OK) {
		log_error("%s", err);
		goto out;
	}
	/* no lws validity timers: keepalive.c pings and drops (ping_s, drop_s) */
	hub->keepalive.secs_since_valid_ping = 0;
	hub->keepalive.secs_since_valid_hangup = 0;

	hub->loop = evloop_new(hub);
	if (!hub->loop)
		goto out;
	hub->lws = evloop_lws(hub->loop);
	if (create_vhosts(hub) != ERR_OK)
		goto out;
	if (hub_search_start(hub, err, sizeof(err)) != ERR_OK) {
		log_error("cannot start the searcher: %s", err);
		goto out;
	}
	if (sync_shared_start(hub, err, sizeof(err)) != ERR_OK) {
		log_error("[store] postgresql: %s", err);
		goto out;
	}
	if (sync_start(hub, err, sizeof(err)) != ERR_OK) {
		log_error("cannot start the streamer: %s", err);
		goto out;
	}
	retention_start(hub);
	keepalive_start(hub);
	daemon_signals_wake(hub->lws);
	log_info("alliance-hub %s: alliance port %s:%d, public port %s:%d (%s), "
		 "%u communities", ALLIANCE_VERSION, hub->cfg.alliance_address,
		 hub->cfg.alliance_port, hub->cfg.public_address,
		 hub->cfg.public_port, hub->cfg.public_cert ? "https" : "http",
		 hub->n_communities);
	while (!daemon_stop_requested()) {
		evloop_service(hub->loop);
		if (daemon_reload_take())
			reload(hub);
	}
	drain(hub);
	log_info("shutting down");
	rc = 0;
	if (hub_store_mark_stop(hub, 1) != ERR_OK)
		log_warn("store: cannot mark the stop clean: %s (the next "
			 "start checks the store)", sqlite3_errmsg(hub->db));
out:
	daemon_signals_wake(NULL);
	pglog_stop(&hub->pglog);    /* it wakes hub->lws */
	api_waits_free(hub);
	catalog_http_searches_stop(hub->searches);
	streamer_stop(hub->streamer);   /* its thread wakes hub->lws */
	evloop_free(&hub->loop);
	hub->lws = NULL;
	webfiles_free(&hub->public_files);
	webfiles_free(&hub->console_files);
	trust_free(&hub->trust);
	registry_free(hub);
	hub_bulletin_close(hub);
	indexer_stop(&hub->indexer);
	catalog_http_searches_free(&hub->searches);
	streamer_free(&hub->streamer);  /* sessions closed: nothing held */
	pages_cache_free(&hub->pages);
	hub_poll_store_close(&hub->polls);
	catalog_close(&hub->cat);
	store_close(&hub->db);
	synonyms_free(&hub->synonyms);
	return rc;
}

/* backup_main: "backup [--force] -c FILE DEST": the store's online backup
 * (backup.h). Returns 0, 2 (arguments, configuration, DEST refused) or 3. */
static int backup_main(struct hub *hub, int argc, char **argv)
{
	struct backup_args a;
	char err[512];
	int rc = backup_args_parse("alliance-hub", argc, argv, &a);

	if (rc)
		return rc;
	rc = config_load(a.config, &hub_config_table, &hub->cfg, err,
			 sizeof(err));
	if (rc == ERR_OK) {
		rc = backup_run("alliance-hub", hub->cfg.store_path, &a);
	} else {
		fprintf(stderr, "alliance-hub: %s\n", err);
		rc = 2;
	}
	config_free(&hub_config_table, &hub->cfg);
	return rc;
}

int main(int argc, char **argv)
{
	static struct hub hub;
	char err[512];
	int rc, check;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("alliance-hub %s\n", ALLIANCE_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "backup") == 0)
		return backup_main(&hub, argc, argv);
	check = argc == 4 && strcmp(argv[1], "check") == 0;
	if (argc != 3 + check || strcmp(argv[1 + check], "-c") != 0) {
		usage(stderr);
		return 2;
	}
	hub.config_path = argv[2 + check];
	if (config_load(hub.config_path, &hub_config_table, &hub.cfg, err,
			sizeof(err)) != ERR_OK) {
		fprintf(stderr, "alliance-hub: %s\n", err);
		config_free(&hub_config_table, &hub.cfg);
		return 2;
	}
	if (public_defaults(&hub.cfg, err, sizeof(err)) != ERR_OK ||
	    bulletin_keys_check(hub.cfg.bulletin_keys, hub.config_path, err,
				sizeof(err)) != ERR_OK) {
		fprintf(stderr, "alliance-hub: %s\n", err);
		config_free(&hub_config_table, &hub.cfg);
		return 2;
	}
	if (hub_synonyms_load(hub.cfg.synonyms, &hub.synonyms, err,
			      sizeof(err)) != ERR_OK) {
		fprintf(stderr, "alliance-hub: %s\n", err);
		config_free(&hub_config_table, &hub.cfg);
		return 2;
	}
	if (!check && tls_trust_load(&hub.cfg, &hub.trust, err,
				     sizeof(err)) != ERR_OK) {
		fprintf(stderr, "alliance-hub: %s: %s\n", hub.config_path, err);
		config_free(&hub_config_table, &hub.cfg);
		synonyms_free(&hub.synonyms);
		return 2;
	}
	log_init("alliance-hub", (enum log_level)hub.cfg.log_level);
	if (check) {
		rc = daemon_store_check("alliance-hub", hub.cfg.store_path,
					hub_store_connect, HUB_STORE_WAY_BACK);
		config_free(&hub_config_table, &hub.cfg);
		synonyms_free(&hub.synonyms);
		return rc;
	}
	hub.started = clock_now();

	daemon_signals_install();
	rc = run(&hub);
	config_free(&hub_config_table, &hub.cfg);
	return rc;
}
