/* config.c: alliance-node's configuration keys, as one table.
 *
 * The table loads the INI file, fills defaults and prints --help; see
 * deploy/examples/node.conf for a commented example. Parts: checks of one
 * value; the table; node_config_load with the checks that span two keys. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "node.h"
#include "password.h"
#include "text.h"
#include "webhook.h"

/* ---- checks of one value ------------------------------------------------ */

static const char *check_community(const void *field)
{
	const char *s = *(char *const *)field;

	return s && !text_community_valid(s)
		? "must match [a-z0-9][a-z0-9-]{1,62}" : NULL;
}

static const char *check_name(const void *field)
{
	const char *s = *(char *const *)field;

	if (!s)
		return NULL;
	if (strlen(s) > LIMIT_NAME)
		return "longer than 200 bytes";
	return text_utf8_valid(s, strlen(s)) ? NULL : "not valid UTF-8";
}

static const char *check_ip(const void *field)
{
	const char *s = *(char *const *)field;
	unsigned char buf[sizeof(struct in6_addr)];

	if (!s)
		return NULL;
	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return NULL;
	return "must be an IPv4 or IPv6 address";
}

/* /metrics is for this machine only: 127.0.0.0/8 or ::1. */
static const char *check_loopback(const void *field)
{
	const char *s = *(char *const *)field;
	struct in6_addr a6;
	struct in_addr a4;

	if (!s)
		return NULL;
	if (inet_pton(AF_INET, s, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127)
		return NULL;
	if (inet_pton(AF_INET6, s, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6))
		return NULL;
	return "must be a loopback address (127.0.0.1, another of "
	       "127.0.0.0/8, or ::1): /metrics is for this machine only";
}

static const char *check_port_or_off(const void *field)
{
	unsigned v = *(const unsigned *)field;

	return v > 65535 ? "must be 0 (off) or a port (1-65535)" : NULL;
}

static const char *check_proxies(const void *field)
{
	const char *s = *(char *const *)field;
	struct peer_proxies p;
	char why[160];

	return peer_proxies_parse(s, &p, why, sizeof(why)) != ERR_OK
		? "must be IP addresses or networks (a.b.c.d/n, an IPv6 "
		  "address/n), at most 16, separated by commas" : NULL;
}

static const char *check_host(const void *field)
{
	const char *s = *(char *const *)field;

	if (!s)
		return NULL;
	if (!*s || strlen(s) > 253)
		return "must be a host name of 1 to 253 characters";
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' ||
		      *s == ':'))
			return "must be a DNS name or an IP address";
	return NULL;
}

/* lws keeps keepalive times in 16 bits; an hour is plenty. */
static const char *check_seconds(const void *field)
{
	unsigned v = *(const unsigned *)field;

	return v < 1 || v > 3600 ? "must be between 1 and 3600 seconds" : NULL;
}

static const char *check_backoff_max(const void *field)
{
	unsigned v = *(const unsigned *)field;

	return v < 1 || v > LIMIT_BACKOFF_MAX_S
	       ? "must be between 1 and 3600 seconds" : NULL;
}

static const char *check_session_idle(const void *field)
{
	unsigned v = *(const unsigned *)field;

	return v < 1 || v > LIMIT_SESSION_MAX_S
	       ? "must be between 1 and 86400 seconds" : NULL;
}

static const char *check_token_idle(const void *field)
{
	unsigned v = *(const unsigned *)field;

	return v < LIMIT_TOKEN_IDLE_MIN_S || v > LIMIT_TOKEN_IDLE_MAX_S
	       ? "must be between 300 and 31536000 seconds (a year)" : NULL;
}

static const char *check_sms_url(const void *field)
{
	const char *s = *(char *const *)field;

	return s ? webhook_url_valid(s) : NULL;
}

static const char *check_sms_secret(const void *field)
{
	const char *s = *(char *const *)field;

	return s && (strlen(s) < LIMIT_WEBHOOK_SECRET_MIN ||
		     strlen(s) > LIMIT_WEBHOOK_SECRET_MAX)
	       ? "must be 16 to 256 bytes" : NULL;
}

static const char *check_password_hash(const void *field)
{
	static char why[160];
	const char *s = *(char *const *)field;
	struct password_hash h;

	if (!s || password_hash_parse(s, &h, why, sizeof(why)) == ERR_OK)
		return NULL;
	return why;
}

/* ---- the table -------------------------------------------------------- */

#define F(x) offsetof(struct node_config, x)

const struct config_key node_config_keys[] = {
	{ "node", "community", CONFIG_STRING, NULL, F(community), 1,
	  check_community, "community id; must equal the certificate's CN" },
	{ "node", "name", CONFIG_STRING, NULL, F(name), 0, check_name,
	  "the community's display name" },
	{ "hub", "host", CONFIG_STRING, NULL, F(hub_host), 1, check_host,
	  "the hub's name: sent as SNI, checked against its certificate" },
	{ "hub", "address", CONFIG_STRING, NULL, F(hub_address), 0, check_ip,
	  "IP to dial; when unset, host is resolved at start and on SIGHUP" },
	{ "hub", "port", CONFIG_PORT, "7443", F(hub_port), 0, NULL,
	  "the hub's mutual-TLS port" },
	{ "hub", "cert", CONFIG_PATH, NULL, F(hub_cert), 1, NULL,
	  "this community's certificate (PEM, CN = community)" },
	{ "hub", "key", CONFIG_PATH, NULL, F(hub_key), 1, NULL,
	  "its private key" },
	{ "hub", "ca", CONFIG_PATH, NULL, F(hub_ca), 1, NULL,
	  "the alliance CA certificate" },
	{ "hub", "backoff_max_s", CONFIG_UINT, "60", F(backoff_max_s), 0,
	  check_backoff_max, "longest wait between attempts to reach the hub,"
	  " in seconds (1-3600; jitter stays within it)" },
	{ "public", "address", CONFIG_STRING, "0.0.0.0", F(public_address), 0,
	  check_ip, "listen address of the public port (residents, managers)" },
	{ "public", "port", CONFIG_PORT, "8080", F(public_port), 0, NULL,
	  "public port" },
	{ "public", "cert", CONFIG_PATH, NULL, F(public_cert), 0, NULL,
	  "public certificate: HTTPS when cert and key are set" },
	{ "public", "key", CONFIG_PATH, NULL, F(public_key), 0, NULL,
	  "key of the public certificate" },
	{ "public", "search_threads", CONFIG_UINT, "2", F(search_threads), 0,
	  config_check_threads, "threads answering catalog searches, each with its "
	  "own store connection (1-16)" },
	{ "public", "trusted_proxies", CONFIG_STRING, NULL,
	  F(trusted_proxies), 0, check_proxies, "reverse proxies (addresses or"
	  " networks, comma-separated) whose X-Forwarded-For and "
	  "X-Forwarded-Proto are believed; unset: none" },
	{ "store", "path", CONFIG_PATH, "node.db", F(store_path), 0, NULL,
	  "the node's sqlite store" },
	{ "web", "root", CONFIG_PATH, NULL, F(web_root), 0, NULL,
	  "directory of the static pages" },
	{ "manager", "password_hash", CONFIG_STRING, NULL,
	  F(manager_password_hash), 0, check_password_hash,
	  "scrypt hash of the manager's password (alliance-node --hash-password); unset: no manager" },
	{ "log", "level", CONFIG_LEVEL, "info", F(log_level), 0, NULL,
	  "error, warn, info or debug" },
	{ "limits", "max_frame", CONFIG_UINT, "1048576", F(max_frame), 0,
	  config_check_frame, "largest websocket message in bytes (bigger: 1009)" },
	{ "limits", "ping_s", CONFIG_UINT, "20", F(ping_s), 0, check_seconds,
	  "ping a silent hub after this many seconds" },
	{ "limits", "drop_s", CONFIG_UINT, "60", F(drop_s), 0, check_seconds,
	  "drop a hub silent for this many seconds (more than ping_s)" },
	{ "limits", "resident_actions", CONFIG_UINT, "20",
	  F(resident_actions), 0, NULL, "service requests, votes and "
	  "registrations one address or credential may make per window" },
	{ "limits", "resident_window_s", CONFIG_UINT, "60",
	  F(resident_window_s), 0, check_seconds,
	  "the window of resident_actions, in seconds" },
	{ "limits", "session_idle_s", CONFIG_UINT, "28800",
	  F(session_idle_s), 0, check_session_idle,
	  "a manager console session ends after this many idle seconds" },
	{ "limits", "resident_token_idle_s", CONFIG_UINT, "2592000",
	  F(resident_token_idle_s), 0, check_token_idle,
	  "a resident's sign-in expires this many seconds after its last "
	  "use (300 to 31536000; 30 days)" },
	{ "sms", "url", CONFIG_STRING, NULL, F(sms_url), 0, check_sms_url,
	  "SMS gateway webhook that sends residents their one-time codes "
	  "(https://...); unset: the manager confirms phones in the console" },
	{ "sms", "secret", CONFIG_STRING, NULL, F(sms_secret), 0,
	  check_sms_secret, "HMAC-SHA256 key signing each post to url (16 "
	  "to 256 bytes; the gateway checks X-Alliance-Signature)" },
	{ "bulletins", "keys", CONFIG_STRING, NULL, F(bulletin_keys), 0, NULL,
	  "pinned bulletin-signing public keys (PEM Ed25519), comma-separated; "
	  "relative to this file; several while a key is rotated" },
	{ "metrics", "address", CONFIG_STRING, "127.0.0.1",
	  F(metrics_address), 0, check_loopback, "listen address of GET "
	  "/metrics (plain HTTP): a loopback address only" },
	{ "metrics", "port", CONFIG_UINT, "0", F(metrics_port), 0,
	  check_port_or_off, "port of GET /metrics; 0: off" },
};

const size_t node_config_n_keys =
	sizeof(node_config_keys) / sizeof(node_config_keys[0]);

#undef F

/* ---- loading ------------------------------------------------------------ */

int node_config_load(const char *path, struct node_config *cfg, char *err,
		     size_t errlen)
{
	int rc;

	rc = config_load(path, node_config_keys, node_config_n_keys, cfg, err,
			 errlen);
	if (rc != ERR_OK)
		return rc;
	if (peer_proxies_parse(cfg->trusted_proxies, &cfg->proxies, err,
			       errlen) != ERR_OK)
		return ERR_INVALID;    /* check_proxies passed it: not reached */
	if (cfg->drop_s <= cfg->ping_s) {
		snprintf(err, errlen, "%s: [limits] drop_s: must be greater "
			 "than ping_s (%u)", path, cfg->ping_s);
		return ERR_INVALID;
	}
	if (!cfg->public_cert != !cfg->public_key) {
		snprintf(err, errlen, "%s: [public] %s: must be set together "
			 "with %s for HTTPS", path,
			 cfg->public_cert ? "key" : "cert",
			 cfg->public_cert ? "cert" : "key");
		return ERR_INVALID;
	}
	if (cfg->metrics_port && !cfg->metrics_address) {
		snprintf(err, errlen, "%s: [metrics] address: must be a "
			 "loopback address when port is set", path);
		return ERR_INVALID;
	}
	if (cfg->metrics_port == (unsigned)cfg->public_port) {
		snprintf(err, errlen, "%s: [metrics] port: %u is the public "
			 "port; /metrics needs a port of its own", path,
			 cfg->metrics_port);
		return ERR_INVALID;
	}
	if (!cfg->sms_url != !cfg->sms_secret) {
		snprintf(err, errlen, "%s: [sms] %s: must be set together "
			 "with %s", path, cfg->sms_url ? "secret" : "url",
			 cfg->sms_url ? "url" : "secret");
		return ERR_INVALID;
	}
	return ERR_OK;
}

void node_config_free(struct node_config *cfg)
{
	config_free(node_config_keys, node_config_n_keys, cfg);
}

void node_config_help(FILE *f)
{
	config_print_help(node_config_keys, node_config_n_keys, f);
}
