/* config.c: alliance-hub's configuration: the keys both daemons have
 * (CONFIG_COMMON_KEYS, lib/config.h) and the hub's own, one row a key,
 * and the rules spanning two keys.
 *
 * The table loads the INI file, fills defaults, holds numbers to their
 * bounds and prints --help; see deploy/examples/hub.conf for a commented
 * example. Columns: section, name, type, default, field, required, min,
 * max, unit, check, help. */
#include <limits.h>
#include <stddef.h>

#include "bulletin_render.h"
#include "hub.h"

static const char *check_cap_sender(const void *field)
{
	const char *v = *(char *const *)field;

	return v && !bulletin_cap_sender_valid(v)
		? "must be a CAP 1.2 sender id (§3.2.1): at most 200 bytes, "
		  "no spaces, commas, '<' or '&', e.g. shinan.qingdao.alliance"
		: NULL;
}

/* check_conninfo: a libpq conninfo ("key=value ..." or a postgresql://
 * URI) on one line (its length is held to config.c's bound of every
 * value); libpq judges the rest when the database thread connects. */
static const char *check_conninfo(const void *field)
{
	const char *v = *(char *const *)field;

	if (!v)
		return NULL;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "must be one line of text (a control character"
			       " found)";
	return NULL;
}

#define F(x) offsetof(struct hub_config, x)

static const struct config_key hub_keys[] = {
	{ "alliance", "address", CONFIG_STRING, "0.0.0.0", F(alliance_address),
	  0, 0, 0, NULL, config_check_ip,
	  "listen address of the mutual-TLS port (nodes, operators)" },
	{ "alliance", "port", CONFIG_PORT, "7443", F(alliance_port), 0, 0, 0,
	  NULL, NULL, "mutual-TLS port" },
	{ "alliance", "cert", CONFIG_PATH, NULL, F(alliance_cert), 1, 0, 0,
	  NULL, NULL, "the hub's certificate (PEM, SAN = its names)" },
	{ "alliance", "key", CONFIG_PATH, NULL, F(alliance_key), 1, 0, 0,
	  NULL, NULL, "the hub's private key" },
	{ "alliance", "ca", CONFIG_PATH, NULL, F(alliance_ca), 1, 0, 0,
	  NULL, NULL, "the alliance CA certificates (PEM): one, or the old "
	  "and the new while the alliance moves to a new CA" },
	{ "alliance", "crl", CONFIG_PATHS, NULL, F(alliance_crl), 1, 1,
	  LIMIT_TRUST_CAS, NULL, NULL, "the CAs' revocation lists (PEM), "
	  "comma-separated, one per CA of [alliance] ca" },
	CONFIG_COMMON_KEYS(struct hub_config),
	{ "store", "path", CONFIG_PATH, "hub.db", F(store_path), 0, 0, 0,
	  NULL, NULL, "the hub's sqlite store" },
	{ "store", "postgresql", CONFIG_STRING, NULL, F(store_postgresql), 0,
	  0, 0, NULL, check_conninfo, "libpq conninfo of the database shared "
	  "by hub replicas (the catalog's change log; the sqlite store "
	  "becomes a copy of it); unset: the sqlite store alone" },
	{ "limits", "sessions_per_minute", CONFIG_UINT,
	  CONFIG_NUM(LIMIT_SESSIONS_PER_WINDOW), F(sessions_per_minute), 0,
	  1, UINT_MAX, NULL, NULL,
	  "new sessions one community may open per minute" },
	{ "sync", "tombstone_retention", CONFIG_UINT, "2592000",
	  F(tombstone_retention), 0, 1, UINT_MAX, "seconds", NULL,
	  "how long a deletion is remembered for nodes that were away; a "
	  "node away longer gets a snapshot" },
	{ "sync", "purge_interval", CONFIG_UINT, "3600", F(purge_interval),
	  0, 1, UINT_MAX, "seconds", NULL, "time between purges of old "
	  "deletions" },
	{ "search", "synonyms", CONFIG_PATH, NULL, F(synonyms), 0, 0, 0, NULL,
	  NULL, "the district's synonyms: a UTF-8 file, one group a line, "
	  "words separated by / or spaces, # comments; re-read on SIGHUP" },
	/* Bounds of [quota]: room for any real community, and far below
	 * what would let one node fill the others' disks. The defaults are
	 * LIMIT_QUOTA_* (what a node that was never told a quota keeps). */
	{ "quota", "records", CONFIG_UINT, CONFIG_NUM(LIMIT_QUOTA_RECORDS),
	  F(quota_records), 0, 1, 1000000, NULL, NULL,
	  "live services and announcements one community may publish" },
	{ "quota", "bytes", CONFIG_UINT, CONFIG_NUM(LIMIT_QUOTA_BYTES),
	  F(quota_bytes), 0, 65536, 1024u * 1024 * 1024, "bytes", NULL,
	  "their bodies' bytes, per community" },
	{ "quota", "changes_per_hour", CONFIG_UINT,
	  CONFIG_NUM(LIMIT_QUOTA_PER_HOUR), F(quota_per_hour), 0, 1, 1000000,
	  NULL, NULL,
	  "creations and updates one community may make an hour" },
	/* At most a request a second, all day, from one community to one
	 * other. */
	{ "quota", "requests_per_destination_per_hour", CONFIG_UINT, "200",
	  F(requests_per_destination_per_hour), 0, 1, 3600, "requests", NULL,
	  "new service requests one community may send to any one other "
	  "within an hour; the hub refuses the rest" },
	{ "bulletins", "sender", CONFIG_STRING, NULL, F(bulletin_sender), 0,
	  0, 0, NULL, check_cap_sender, "CAP sender id of the bulletins, e.g. "
	  "shinan.qingdao.alliance (default: the host of [public] url)" },
};

#undef F

static const struct config_rule hub_rules[] = {
	CONFIG_COMMON_RULES,
};

const struct config_table hub_config_table = {
	hub_keys, sizeof(hub_keys) / sizeof(hub_keys[0]),
	hub_rules, sizeof(hub_rules) / sizeof(hub_rules[0]),
};
