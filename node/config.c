/* config.c: alliance-node's configuration: the keys both daemons have
 * (CONFIG_COMMON_KEYS, lib/config.h) and the node's own, one row a key,
 * and the rules spanning two keys.
 *
 * The table loads the INI file, fills defaults, holds numbers to their
 * bounds and prints --help; see deploy/examples/node.conf for a commented
 * example. Columns: section, name, type, default, field, required, min,
 * max, unit, check, help. Parts: checks of one text value; the table;
 * node_config_load. */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "hub_url.h"
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

static const char *check_hub_urls(const void *field)
{
	static char why[LIMIT_HUB_URL + 128];
	struct hub_url urls[LIMIT_HUB_URLS];
	const char *s = *(char *const *)field;
	size_t n;

	if (!s || hub_url_list(s, urls, LIMIT_HUB_URLS, &n, why,
			       sizeof(why)) == ERR_OK)
		return NULL;
	return why;
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

static const char *check_push_subject(const void *field)
{
	const char *s = *(char *const *)field;

	if (!s)
		return NULL;
	if ((strncmp(s, "mailto:", 7) != 0 && strncmp(s, "https://", 8) != 0)
	    || strlen(s) < 10 || strlen(s) > 200 || strpbrk(s, " \"\\<>"))
		return "must be a mailto: or https: URI of at most 200 bytes "
		       "(a contact for the push services)";
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return "must be printable ASCII";
	return NULL;
}

static const char *check_api_keys(const void *field)
{
	const char *s = *(char *const *)field;
	size_t n = 0, len;

	/* every key, the last too: "a," ends in an empty one */
	for (; s; s = s[len] ? s + len + 1 : NULL) {
		len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			     "0123456789_-");
		if ((s[len] && s[len] != ',') || len < LIMIT_OPEN311_KEY_MIN ||
		    len > LIMIT_OPEN311_KEY || ++n > LIMIT_OPEN311_KEYS)
			return "comma-separated keys of 16 to 128 letters, "
			       "digits, '_' or '-', at most 64";
	}
	return NULL;
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

static const struct config_key node_keys[] = {
	{ "node", "community", CONFIG_STRING, NULL, F(community), 1, 0, 0,
	  NULL, check_community,
	  "community id; must equal the certificate's CN" },
	{ "node", "name", CONFIG_STRING, NULL, F(name), 0, 0, 0, NULL,
	  check_name, "the community's display name" },
	{ "hub", "urls", CONFIG_STRING, NULL, F(hub_urls), 0, 0, 0, NULL,
	  check_hub_urls, "the hub replicas, tried in turn: wss://HOST[:PORT]"
	  " URLs (HOST checked against each one's certificate, a name "
	  "resolved at start and on SIGHUP), blanks between, at most 8 of "
	  "300 bytes; instead of host, address and port" },
	{ "hub", "host", CONFIG_STRING, NULL, F(hub_host), 0, 0, 0, NULL,
	  check_host, "one hub's name: sent as SNI, checked against its "
	  "certificate (this or urls is required)" },
	{ "hub", "address", CONFIG_STRING, NULL, F(hub_address), 0, 0, 0, NULL,
	  config_check_ip,
	  "IP to dial; when unset, host is resolved at start and on SIGHUP" },
	{ "hub", "port", CONFIG_PORT, "7443", F(hub_port), 0, 0, 0, NULL, NULL,
	  "the hub's mutual-TLS port (with host)" },
	{ "hub", "cert", CONFIG_PATH, NULL, F(hub_cert), 1, 0, 0, NULL, NULL,
	  "this community's certificate (PEM, CN = community)" },
	{ "hub", "key", CONFIG_PATH, NULL, F(hub_key), 1, 0, 0, NULL, NULL,
	  "its private key" },
	{ "hub", "ca", CONFIG_PATH, NULL, F(hub_ca), 1, 0, 0, NULL, NULL,
	  "the alliance CA certificates (PEM): one, or the old and the new "
	  "while the alliance moves to a new CA" },
	{ "hub", "backoff_max_s", CONFIG_UINT, "60", F(backoff_max_s), 0,
	  1, LIMIT_BACKOFF_MAX_S, "seconds", NULL,
	  "longest wait between attempts to reach the hub (jitter stays "
	  "within it)" },
	CONFIG_COMMON_KEYS(struct node_config),
	{ "public", "trusted_proxies", CONFIG_STRING, NULL,
	  F(trusted_proxies), 0, 0, 0, NULL, check_proxies, "reverse proxies"
	  " (addresses or networks, comma-separated) whose X-Forwarded-For and"
	  " X-Forwarded-Proto are believed; unset: none" },
	{ "store", "path", CONFIG_PATH, "node.db", F(store_path), 0, 0, 0,
	  NULL, NULL, "the node's sqlite store" },
	{ "manager", "password_hash", CONFIG_STRING, NULL,
	  F(manager_password_hash), 0, 0, 0, NULL, check_password_hash,
	  "scrypt hash of the manager's password (alliance-node "
	  "--hash-password); unset: no manager" },
	{ "limits", "resident_actions", CONFIG_UINT, "20", F(resident_actions),
	  0, 0, UINT_MAX, NULL, NULL, "service requests, votes and "
	  "registrations one address or credential may make per window" },
	{ "limits", "resident_window_s", CONFIG_UINT, "60",
	  F(resident_window_s), 0, 1, 3600, "seconds",
	  NULL, "the window of resident_actions" },
	{ "limits", "session_idle_s", CONFIG_UINT,
	  CONFIG_NUM(LIMIT_SESSION_IDLE_S), F(session_idle_s), 0,
	  1, LIMIT_SESSION_MAX_S, "seconds", NULL,
	  "a manager console session ends after this long idle" },
	{ "limits", "resident_token_idle_s", CONFIG_UINT,
	  CONFIG_NUM(LIMIT_TOKEN_IDLE_S), F(resident_token_idle_s), 0,
	  LIMIT_TOKEN_IDLE_MIN_S, LIMIT_TOKEN_IDLE_MAX_S, "seconds", NULL,
	  "a resident's sign-in expires this long after its last use" },
	{ "sms", "url", CONFIG_STRING, NULL, F(sms_url), 0, 0, 0, NULL,
	  check_sms_url, "SMS gateway webhook that sends residents their "
	  "one-time codes (https://...); unset: the manager confirms phones "
	  "in the console" },
	{ "sms", "secret", CONFIG_STRING, NULL, F(sms_secret), 0, 0, 0, NULL,
	  check_sms_secret, "HMAC-SHA256 key signing each post to url (16 "
	  "to 256 bytes; the gateway checks X-Alliance-Signature)" },
	{ "outbox", "ca", CONFIG_PATH, NULL, F(outbox_ca), 0, 0, 0, NULL,
	  NULL, "CA certificates (PEM) the webhook endpoints' and the SMS "
	  "gateway's certificates are checked with; unset: the system's" },
	{ "outbox", "in_flight", CONFIG_UINT, "4", F(outbox_in_flight), 0, 1,
	  64, NULL, NULL, "messages posted at once to one endpoint (the SMS "
	  "gateway is one)" },
	{ "outbox", "timeout_s", CONFIG_UINT, "10", F(outbox_timeout_s), 0, 1,
	  120, "seconds", NULL, "how long one try of a message may take" },
	{ "outbox", "retry_min_s", CONFIG_UINT, "5", F(outbox_retry_min_s), 0,
	  1, 3600, "seconds", NULL, "the pause after a message's first failed"
	  " try, doubling (with jitter) after each further one" },
	{ "outbox", "retry_max_s", CONFIG_UINT, "900", F(outbox_retry_max_s),
	  0, 1, 86400, "seconds", NULL, "the longest pause between tries" },
	{ "push", "key", CONFIG_PATH, NULL, F(push_key), 0, 0, 0, NULL, NULL,
	  "VAPID private key (PEM, P-256) that signs Web Push messages; made "
	  "with mode 0600 at the first start when missing; unset: no Web "
	  "Push" },
	{ "push", "subject", CONFIG_STRING, NULL, F(push_subject), 0, 0, 0,
	  NULL, check_push_subject, "the contact push services see in each "
	  "VAPID token (mailto:... or https://...)" },
	{ "open311", "api_keys", CONFIG_STRING, NULL, F(open311_api_keys), 0,
	  0, 0, NULL, check_api_keys, "keys of third-party apps, comma-separated:"
	  " when set, an Open311 POST from anywhere but this node's pages needs"
	  " one as api_key (403 without); unset: none is needed" },
	{ "metrics", "address", CONFIG_STRING, "127.0.0.1",
	  F(metrics_address), 0, 0, 0, NULL, check_loopback, "listen address "
	  "of GET /metrics (plain HTTP): a loopback address only" },
	{ "metrics", "port", CONFIG_UINT, "0", F(metrics_port), 0, 0, 65535,
	  NULL, NULL, "port of GET /metrics; 0: off" },
};

#undef F

/* Why [hub] urls stands apart from host, address and port. */
#define NODE_HUB_FORMS "urls lists every hub with its host and port; host, " \
	"address and port are the form for one hub"

static const struct config_rule node_rules[] = {
	CONFIG_COMMON_RULES,
	{ CONFIG_APART, "hub", "urls", "host", NODE_HUB_FORMS },
	{ CONFIG_APART, "hub", "urls", "address", NODE_HUB_FORMS },
	{ CONFIG_APART, "hub", "urls", "port", NODE_HUB_FORMS },
	{ CONFIG_TOGETHER, "sms", "url", "secret", NULL },
	{ CONFIG_TOGETHER, "push", "key", "subject", NULL },
};

const struct config_table node_config_table = {
	node_keys, sizeof(node_keys) / sizeof(node_keys[0]),
	node_rules, sizeof(node_rules) / sizeof(node_rules[0]),
};

/* ---- loading ------------------------------------------------------------ */

int node_config_load(const char *path, struct node_config *cfg, char *err,
		     size_t errlen)
{
	int rc;

	rc = config_load(path, &node_config_table, cfg, err, errlen);
	if (rc != ERR_OK)
		return rc;
	/* the hubs: [hub] urls, or host (address, port) as one URL */
	if (!cfg->hub_urls && !cfg->hub_host) {
		snprintf(err, errlen, "%s: [hub] host or [hub] urls is "
			 "required", path);
		return ERR_INVALID;
	}
	if (cfg->hub_urls)
		rc = hub_url_list(cfg->hub_urls, cfg->hubs, LIMIT_HUB_URLS,
				  &cfg->n_hubs, err, errlen);
	else
		rc = hub_url_one(cfg->hub_host, cfg->hub_address,
				 cfg->hub_port, &cfg->hubs[cfg->n_hubs++]);
	if (rc != ERR_OK)
		return ERR_INVALID;   /* the checks passed them: not reached */
	if (peer_proxies_parse(cfg->trusted_proxies, &cfg->proxies, err,
			       errlen) != ERR_OK)
		return ERR_INVALID;    /* check_proxies passed it: not reached */
	if (config_public_url(&cfg->public_url, cfg->public_address,
			      cfg->public_port, cfg->public_cert != NULL)) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	if (cfg->outbox_retry_min_s > cfg->outbox_retry_max_s) {
		snprintf(err, errlen, "%s: [outbox] retry_min_s: %u is above "
			 "retry_max_s (%u)", path, cfg->outbox_retry_min_s,
			 cfg->outbox_retry_max_s);
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
	return ERR_OK;
}

void node_config_free(struct node_config *cfg)
{
	config_free(&node_config_table, cfg);
}

void node_config_help(FILE *f)
{
	config_print_help(&node_config_table, f);
}
