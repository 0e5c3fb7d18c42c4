/* main.c: alliance-node's entry point: arguments, start-up, the service
 * loop, SIGHUP reload and clean shutdown.
 *
 * Exit codes (README lists them): 0 after SIGTERM/SIGINT, a sound store
 * for "check" or a checked copy for "backup"; 1 when a port, the TLS
 * context or a worker cannot be made; 2 for usage and configuration
 * errors (the message names the file, line and key); 3 when the store
 * cannot be opened or is damaged (the message names the file and, when
 * damaged, the way back). */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup.h"
#include "bulletin.h"
#include "catalog_http.h"
#include "clock.h"
#include "daemon.h"
#include "err.h"
#include "ident.h"
#include "indexer.h"
#include "log.h"
#include "node.h"
#include "outbox.h"
#include "store.h"

#define PROG "alliance-node"

/* How long shutdown waits for the hub to answer our close frame. */
#define NODE_DRAIN_US (1 * LWS_US_PER_SEC)

/* Set when the drain's deadline passed. */
static int drain_expired;

struct node *node_from_wsi(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s -c FILE\n"
		"       %s check -c FILE\n"
		"       %s backup [--force] -c FILE DEST\n"
		"       %s --hash-password < FILE\n"
		"       %s --help | --version\n\n"
		"Runs a community's node of the alliance: its hub session, "
		"store and public port.\n\"check\" runs the full store check "
		"(integrity and search index) and exits: 0 sound, 3 damaged."
		"\n\"backup\" copies the store, also while the node runs, "
		"into DEST (not\nreplacing one unless --force) and checks the "
		"copy: 0 done, 2 DEST refused, 3 failed;\nits outbox's file "
		"(X.outbox.db) likewise into DEST's (DEST.outbox.db for "
		"DEST.db)."
		"\nSIGHUP re-reads FILE and the "
		"certificates; SIGTERM or SIGINT stop it. --help lists the "
		"keys of FILE. --hash-password reads a manager password from\n"
		"standard input and prints the line for [manager] password_hash."
		"\n", PROG, PROG, PROG, PROG, PROG);
}

/* check_identity: [hub] cert must be a node certificate whose CN is
 * [node] community. Returns ERR_OK, or ERR_INVALID with a message. */
static int check_identity(const char *path, const struct node_config *cfg,
			  char *err, size_t errlen)
{
	struct ident id;
	char why[200];
	X509 *cert;
	FILE *f;
	int rc;

	f = fopen(cfg->hub_cert, "r");
	if (!f) {
		snprintf(err, errlen, "%s: [hub] cert: cannot open %s",
			 path, cfg->hub_cert);
		return ERR_IO;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!cert) {
		snprintf(err, errlen, "%s: [hub] cert: %s is not a PEM "
			 "certificate", path, cfg->hub_cert);
		return ERR_INVALID;
	}
	rc = ident_from_cert(cert, &id, why, sizeof(why));
	X509_free(cert);
	if (rc != ERR_OK) {
		snprintf(err, errlen, "%s: [hub] cert: %s: %s", path,
			 cfg->hub_cert, why);
		return ERR_INVALID;
	}
	if (id.role != IDENT_NODE) {
		snprintf(err, errlen, "%s: [hub] cert: %s is an %s "
			 "certificate, not a node's", path, cfg->hub_cert,
			 ident_role_name(id.role));
		return ERR_INVALID;
	}
	if (strcmp(id.name, cfg->community) != 0) {
		snprintf(err, errlen, "%s: [node] community: '%s' does not "
			 "match the CN '%s' of [hub] cert %s", path,
			 cfg->community, id.name, cfg->hub_cert);
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* load_checked: load and check a configuration and its certificates.
 * Returns ERR_OK, or an err code with the message in err; cfg is to be
 * freed either way. */
static int load_checked(const char *path, struct node_config *cfg,
			unsigned char digest[32], char *err, size_t errlen)
{
	char why[512];
	int rc;

	rc = node_config_load(path, cfg, err, errlen);
	if (rc != ERR_OK)
		return rc;
	rc = check_identity(path, cfg, err, errlen);
	if (rc != ERR_OK)
		return rc;
	rc = hub_link__check_tls(cfg, digest, why, sizeof(why));
	if (rc != ERR_OK) {
		snprintf(err, errlen, "%s: %s", path, why);
		return rc;
	}
	return bulletin_keys_check(cfg->bulletin_keys, path, err, errlen);
}

static int differs(const char *a, const char *b)
{
	return (!a || !b) ? a != b : strcmp(a, b) != 0;
}

/* reload: SIGHUP. A bad configuration or certificate is logged and the
 * one in force stays; otherwise the new one replaces it and the hub
 * session is remade when what it depends on changed. */
static void reload(struct node *n)
{
	struct node_config cfg, old;
	unsigned char digest[32];
	char err[1024];

	log_info("SIGHUP: re-reading %s", n->config_path);
	memset(&cfg, 0, sizeof(cfg));
	if (load_checked(n->config_path, &cfg, digest, err, sizeof(err))) {
		log_error("reload refused, keeping the running configuration: "
			  "%s", err);
		node_config_free(&cfg);
		return;
	}
	if (strcmp(cfg.community, n->cfg.community) != 0) {
		log_error("reload refused: [node] community changed from %s "
			  "to %s; that needs a restart", n->cfg.community,
			  cfg.community);
		node_config_free(&cfg);
		return;
	}
	if (differs(cfg.public_address, n->cfg.public_address) ||
	    cfg.public_port != n->cfg.public_port ||
	    differs(cfg.public_cert, n->cfg.public_cert) ||
	    differs(cfg.public_key, n->cfg.public_key) ||
	    differs(cfg.web_root, n->cfg.web_root) ||
	    differs(cfg.store_path, n->cfg.store_path) ||
	    differs(cfg.sms_url, n->cfg.sms_url) ||
	    differs(cfg.sms_secret, n->cfg.sms_secret) ||
	    differs(cfg.metrics_address, n->cfg.metrics_address) ||
	    cfg.metrics_port != n->cfg.metrics_port ||
	    differs(cfg.outbox_ca, n->cfg.outbox_ca) ||
	    cfg.outbox_in_flight != n->cfg.outbox_in_flight ||
	    cfg.outbox_timeout_s != n->cfg.outbox_timeout_s ||
	    cfg.outbox_retry_min_s != n->cfg.outbox_retry_min_s ||
	    cfg.outbox_retry_max_s != n->cfg.outbox_retry_max_s ||
	    differs(cfg.push_key, n->cfg.push_key) ||
	    differs(cfg.push_subject, n->cfg.push_subject))
		log_warn("reload: changes to [public], [web], [store], [sms], "
			 "[metrics], [outbox] and [push] take effect at the "
			 "next restart");
	if (differs(cfg.manager_password_hash, n->cfg.manager_password_hash))
		console_logout_all(n);   /* a new password: log in again */
	old = n->cfg;
	n->cfg = cfg;
	log_init(PROG, (enum log_level)n->cfg.log_level);
	hub_link__reload(n, &old, digest);
	public__reload_cert(n);
	node_bulletin_reload(n);
	node_config_free(&old);
}

/* check_main: "check -c FILE": the full check of the configured store,
 * without starting. Returns 0 (sound), 2 (configuration) or 3 (store). */
static int check_main(struct node *n)
{
	char err[1024];
	int rc;

	if (node_config_load(n->config_path, &n->cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		node_config_free(&n->cfg);
		return 2;
	}
	rc = daemon_store_check(PROG, n->cfg.store_path,
				node_store_connect_outbox,
				NODE_STORE_WAY_BACK);
	node_config_free(&n->cfg);
	return rc;
}

/* backup_main: "backup [--force] -c FILE DEST": the store's online backup
 * (backup.h), then the outbox's file's beside DEST (node_store_outbox_path
 * of each; none before the node first ran this release): in this order, a
 * bulletin's event the store's copy no longer has had its messages in the
 * outbox's file before, so the later copy has them too. Both
 * destinations are judged before either is written. Returns 0, 2
 * (arguments, configuration, DEST or its outbox's file refused) or 3. */
static int backup_main(struct node *n, int argc, char **argv)
{
	struct backup_args a;
	char err[1024], src[4200], dest[4200];
	struct stat st;
	int rc = backup_args_parse(PROG, argc, argv, &a);

	if (rc)
		return rc;
	if (node_config_load(a.config, &n->cfg, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		node_config_free(&n->cfg);
		return 2;
	}
	if (node_store_outbox_path(n->cfg.store_path, src, sizeof(src)) !=
	    ERR_OK ||
	    node_store_outbox_path(a.dest, dest, sizeof(dest)) != ERR_OK) {
		fprintf(stderr, "%s: backup: path too long\n", PROG);
		rc = BACKUP_EXIT_USAGE;
	} else if (stat(src, &st) != 0) {
		rc = backup_run(PROG, n->cfg.store_path, &a);
	} else if (store_backup_target_ok(src, dest, a.force, err,
					  sizeof(err)) != ERR_OK) {
		/* refused before either copy: nothing written */
		fprintf(stderr, "%s: backup: %s\n", PROG, err);
		rc = BACKUP_EXIT_USAGE;
	} else {
		struct backup_args ob = a;

		ob.dest = dest;
		rc = backup_run(PROG, n->cfg.store_path, &a);
		if (rc == BACKUP_EXIT_OK)
			rc = backup_run(PROG, src, &ob);
	}
	node_config_free(&n->cfg);
	return rc;
}

static void drain_cb(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	drain_expired = 1;
}

int main(int argc, char **argv)
{
	static struct node node;
	struct node *n = &node;
	lws_sorted_usec_list_t drain_sul;
	char err[1024];
	int rc, exit_code = 1;

	if (argc > 1 && strcmp(argv[1], "backup") == 0)
		return backup_main(n, argc, argv);
	int check = argc > 1 && strcmp(argv[1], "check") == 0;

	for (int i = 1 + check; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			printf("\nKeys of FILE (INI):\n");
			node_config_help(stdout);
			return 0;
		} else if (strcmp(argv[i], "--hash-password") == 0) {
			return auth_hash_password_main(stdin, stdout, stderr);
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", PROG, ALLIANCE_VERSION);
			return 0;
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			n->config_path = argv[++i];
		} else {
			fprintf(stderr, "%s: unknown argument '%s'\n", PROG,
				argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!n->config_path) {
		fprintf(stderr, "%s: -c FILE is required\n", PROG);
		usage(stderr);
		return 2;
	}

	log_init(PROG, LOG_INFO);
	if (check)
		return check_main(n);
	rc = load_checked(n->config_path, &n->cfg, n->hub_tls_digest, err,
			  sizeof(err));
	if (rc != ERR_OK) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		node_config_free(&n->cfg);
		return 2;
	}
	log_init(PROG, (enum log_level)n->cfg.log_level);
	log_info("starting %s %s for community %s", PROG, ALLIANCE_VERSION,
		 n->cfg.community);
	n->started = clock_now();

	rc = node_store_open(n, err, sizeof(err));
	if (rc != ERR_OK) {
		exit_code = daemon_store_refused(rc, err, NODE_STORE_WAY_BACK);
		goto out;
	}
	log_info("store %s: epoch %s, down_cursor %llu", n->cfg.store_path,
		 n->store_epoch, (unsigned long long)n->down_cursor);
	if (daemon_indexer_start(n->cfg.store_path, node_store_connect,
				 &n->indexer) != ERR_OK)
		goto out;

	/* lws's own poll(2) loop: a node has a handful of fds (its hub link,
	 * the console's and the public port's clients), where polling every
	 * one costs nothing; the hub's thousands are on epoll (evloop.h) */
	n->lws = daemon_lws_context(n, NULL);
	if (!n->lws)
		goto out;
	if (node_bulletin_open(n, err, sizeof(err)) != ERR_OK) {
		log_error("%s", err);
		goto out;
	}
	if (public__create_vhost(n) != ERR_OK ||
	    metrics__create_vhost(n) != ERR_OK ||
	    hub_link__start(n) != ERR_OK)
		goto out;
	if (manager_start(n, err, sizeof(err)) != ERR_OK) {
		log_error("cannot start the manager endpoints: %s", err);
		goto out;
	}
	if (civic_start(n) != ERR_OK)   /* requests, residents, polls */
		goto out;
	if (outbox_start(n, err, sizeof(err)) != ERR_OK) {
		log_error("cannot start the outbox: %s", err);
		goto out;
	}
	if (public__search_start(n, err, sizeof(err)) != ERR_OK) {
		log_error("cannot start the searches: %s", err);
		goto out;
	}

	daemon_signals_wake(n->lws);
	daemon_signals_install();
	while (!daemon_stop_requested()) {
		if (lws_service(n->lws, 0) < 0)
			break;
		if (daemon_reload_take())
			reload(n);
	}
	log_info("shutting down");
	hub_link__stop(n);
	memset(&drain_sul, 0, sizeof(drain_sul));
	lws_sul_schedule(n->lws, 0, &drain_sul, drain_cb, NODE_DRAIN_US);
	while (n->hub_state >= HUB_OPEN && !drain_expired)
		if (lws_service(n->lws, 0) < 0)
			break;
	lws_sul_cancel(&drain_sul);
	exit_code = 0;
out:
	manager_stop(n);     /* joins the workers before lws goes */
	outbox_stop(n);
	catalog_http_searches_stop(n->searches);
	civic_stop(n);
	node_bulletin_close(n);
	daemon_signals_wake(NULL);
	if (n->lws)
		lws_context_destroy(n->lws);
	n->lws = NULL;
	indexer_stop(&n->indexer);
	catalog_http_searches_free(&n->searches);
	node_store_close(n);
	public__free(n);
	metrics__free(n);
	node_config_free(&n->cfg);
	if (exit_code == 0)
		log_info("stopped");
	return exit_code;
}
