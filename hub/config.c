/* config.c: alliance-hub's configuration keys, as one table.
 *
 * The table loads the INI file, fills defaults and prints --help; see
 * deploy/examples/hub.conf for a commented example. */
#include <stddef.h>

#include "bulletin_render.h"
#include "hub.h"

static const char *check_nonzero(const void *field)
{
	return *(const unsigned *)field == 0 ? "must be at least 1" : NULL;
}

/* The most [quota] requests_per_destination_per_hour may be: a request a
 * second, all day, from one community to one other. */
#define QUOTA_REQUESTS_MAX 3600u

static const char *check_requests_quota(const void *field)
{
	unsigned v = *(const unsigned *)field;

	return v < 1 || v > QUOTA_REQUESTS_MAX
		? "must be between 1 and 3600 requests" : NULL;
}

/* Bounds of the [quota] keys: room for any real community, and far
 * below what would let one node fill the others' disks. Their defaults
 * are LIMIT_QUOTA_* (what a node that was never told a quota keeps). */
static const char *check_quota_records(const void *field)
{
	unsigned v = *(const unsigned *)field;

	return v < 1 || v > 1000000 ? "must be between 1 and 1000000" : NULL;
}

static const char *check_quota_bytes(const void *field)
{
	unsigned v = *(const unsigned *)field;

	return v < 65536 || v > 1024u * 1024 * 1024
		? "must be between 65536 and 1073741824 bytes" : NULL;
}

static const char *check_quota_per_hour(const void *field)
{
	unsigned v = *(const unsigned *)field;

	return v < 1 || v > 1000000 ? "must be between 1 and 1000000" : NULL;
}

static const char *check_cap_sender(const void *field)
{
	const char *v = *(char *const *)field;

	return v && !bulletin_cap_sender_valid(v)
		? "must be a CAP 1.2 sender id (§3.2.1): at most 200 bytes, "
		  "no spaces, commas, '<' or '&', e.g. shinan.qingdao.alliance"
		: NULL;
}

#define F(x) offsetof(struct hub_config, x)

const struct config_key hub_config_keys[] = {
	{ "alliance", "address", CONFIG_STRING, "0.0.0.0", F(alliance_address), 0,
	  NULL, "listen address of the mutual-TLS port (nodes, operators)" },
	{ "alliance", "port", CONFIG_PORT, "7443", F(alliance_port), 0, NULL,
	  "mutual-TLS port" },
	{ "alliance", "cert", CONFIG_PATH, NULL, F(alliance_cert), 1, NULL,
	  "the hub's certificate (PEM, SAN = its names)" },
	{ "alliance", "key", CONFIG_PATH, NULL, F(alliance_key), 1, NULL,
	  "the hub's private key" },
	{ "alliance", "ca", CONFIG_PATH, NULL, F(alliance_ca), 1, NULL,
	  "the alliance CA certificate" },
	{ "alliance", "crl", CONFIG_PATH, NULL, F(alliance_crl), 1, NULL,
	  "the alliance CA's revocation list (PEM)" },
	{ "public", "address", CONFIG_STRING, "0.0.0.0", F(public_address), 0,
	  NULL, "listen address of the public port (residents)" },
	{ "public", "port", CONFIG_PORT, "8080", F(public_port), 0, NULL,
	  "public port" },
	{ "public", "cert", CONFIG_PATH, NULL, F(public_cert), 0, NULL,
	  "public certificate: HTTPS when set, else plain HTTP for a proxy" },
	{ "public", "key", CONFIG_PATH, NULL, F(public_key), 0, NULL,
	  "key of the public certificate" },
	{ "public", "url", CONFIG_STRING, NULL, F(public_url), 0,
	  config_check_url, "absolute base URL of the public port, for Atom "
	  "and CAP links (default: http(s)://ADDRESS:PORT, the host name "
	  "for 0.0.0.0)" },
	{ "public", "search_threads", CONFIG_UINT, "2", F(search_threads), 0,
	  config_check_threads, "threads answering catalog searches, each with its "
	  "own store connection (1-16)" },
	{ "store", "path", CONFIG_PATH, "hub.db", F(store_path), 0, NULL,
	  "the hub's sqlite store" },
	{ "web", "root", CONFIG_PATH, NULL, F(web_root), 0, NULL,
	  "directory of the static pages" },
	{ "log", "level", CONFIG_LEVEL, "info", F(log_level), 0, NULL,
	  "error, warn, info or debug" },
	{ "limits", "max_frame", CONFIG_UINT, "1048576", F(max_frame), 0,
	  config_check_frame, "largest websocket message in bytes (bigger: 1009)" },
	{ "limits", "sessions_per_minute", CONFIG_UINT, "12",
	  F(sessions_per_minute), 0, check_nonzero,
	  "new sessions one community may open per minute" },
	{ "limits", "ping_s", CONFIG_UINT, "20", F(ping_s), 0, check_nonzero,
	  "ping a silent node after this many seconds" },
	{ "limits", "drop_s", CONFIG_UINT, "60", F(drop_s), 0, check_nonzero,
	  "drop a node silent for this many seconds" },
	{ "sync", "tombstone_retention", CONFIG_UINT, "2592000",
	  F(tombstone_retention), 0, check_nonzero,
	  "seconds a deletion is remembered for nodes that were away; a node "
	  "away longer gets a snapshot" },
	{ "sync", "purge_interval", CONFIG_UINT, "3600", F(purge_interval), 0,
	  check_nonzero, "seconds between purges of old deletions" },
	{ "search", "synonyms", CONFIG_PATH, NULL, F(synonyms), 0, NULL,
	  "the district's synonyms: a UTF-8 file, one group a line, words "
	  "separated by / or spaces, # comments; re-read on SIGHUP" },
	{ "quota", "records", CONFIG_UINT, "5000",
	  F(quota_records), 0, check_quota_records,
	  "live services and announcements one community may publish "
	  "(1-1000000)" },
	{ "quota", "bytes", CONFIG_UINT, "8388608",
	  F(quota_bytes), 0, check_quota_bytes,
	  "bytes their bodies may hold, per community (65536-1073741824)" },
	{ "quota", "changes_per_hour", CONFIG_UINT, "5000",
	  F(quota_per_hour), 0, check_quota_per_hour,
	  "creations and updates one community may make an hour (1-1000000)" },
	{ "quota", "requests_per_destination_per_hour", CONFIG_UINT, "200",
	  F(requests_per_destination_per_hour), 0, check_requests_quota,
	  "new service requests one community may send to any one other "
	  "within an hour (1-3600); the hub refuses the rest" },
	{ "bulletins", "keys", CONFIG_STRING, NULL, F(bulletin_keys), 0, NULL,
	  "pinned bulletin-signing public keys (PEM Ed25519), comma-separated; "
	  "relative to this file; several while a key is rotated" },
	{ "bulletins", "sender", CONFIG_STRING, NULL, F(bulletin_sender), 0,
	  check_cap_sender, "CAP sender id of the bulletins, e.g. "
	  "shinan.qingdao.alliance (default: the host of [public] url)" },
};

const size_t hub_config_n_keys =
	sizeof(hub_config_keys) / sizeof(hub_config_keys[0]);
