/* directory.c: the community directory and the district's synonyms as
 * records of the hub's stream, so every node learns them.
 *
 * The registry (registry.c) and [search] synonyms are the truth; this
 * writes records of origin "district" (KIND_COMMUNITY, id = the
 * community's; KIND_SEARCH_WORDS, id "synonyms") whenever they differ
 * from what the stream holds, with versions above every earlier one, so
 * the version rule, tombstones, snapshots and retention work as for
 * services. With [store] postgresql the records are events of the
 * shared log (PGLOG_DIRECTORY): written once, by the replica that
 * originates them, with their version, and applied by every replica
 * (the registry with them), so every copy numbers them alike. Parts:
 * writing one record; the communities; the synonyms; hub_directory_sync;
 * the shared log's directory events; loading the synonyms file. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hub.h"
#include "log.h"
#include "pglog.h"
#include "relay.h"
#include "store.h"
#include "synonyms.h"
#include "text.h"

#define SYNONYMS_ID "synonyms"

/* ---- writing one record ------------------------------------------------- */

/* next_version: above every version of the district's records the hub
 * holds, and above the microseconds of now: a record removed, its
 * tombstone purged (so no longer counted here) and added again must
 * still win over the tombstone the nodes may keep. */
static uint64_t next_version(struct hub *hub)
{
	uint64_t held = catalog_max_version(hub->cat, RELAY_DISTRICT) + 1;
	uint64_t now = (uint64_t)hub_now() * 1000000u;

	return held > now ? held : now;
}

/* record: the Change of (origin district, kind, id) at the next
 * version; body is a Community or SearchWords message, NULL for a
 * tombstone. */
static void record(struct hub *hub, Change *ch, int kind, const char *id,
		   void *body)
{
	ch->origin = (char *)RELAY_DISTRICT;
	ch->kind = kind;
	ch->id = (char *)id;
	ch->version = next_version(hub);
	ch->deleted = body == NULL;
	if (body && kind == ALLIANCE__V1__KIND__KIND_COMMUNITY) {
		ch->body_case = ALLIANCE__V1__CHANGE__BODY_COMMUNITY;
		ch->community = body;
	} else if (body) {
		ch->body_case = ALLIANCE__V1__CHANGE__BODY_SEARCH_WORDS;
		ch->search_words = body;
	}
}

/* share: append ch to the shared log as a directory event. ERR_OK, or
 * pglog_append's error with the cause in why. */
static int share(struct hub *hub, const Change *ch, char *why,
		 size_t whylen)
{
	size_t len = alliance__v1__change__get_packed_size(ch);
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	if (!buf) {
		snprintf(why, whylen, "out of memory");
		return ERR_NOMEM;
	}
	alliance__v1__change__pack(ch, buf);
	rc = pglog_append(hub->pglog, PGLOG_DIRECTORY, ch->id, ch->version,
			  buf, len, why, whylen);
	free(buf);
	return rc;
}

/* put: apply and log (origin district, kind, id) with the next version,
 * or with [store] postgresql append it to the shared log; body as for
 * record. */
static int put(struct hub *hub, int kind, const char *id, void *body)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	char why[300];
	int applied = 0, rc;

	record(hub, &ch, kind, id, body);
	if (!hub->cfg.store_postgresql)
		return catalog_apply(hub->cat, &ch, 1, &applied);
	rc = share(hub, &ch, why, sizeof(why));
	if (rc != ERR_OK)
		log_warn("directory: %s not shared: %s", id, why);
	return rc;
}

/* ---- the communities ---------------------------------------------------- */

/* One pass of write_community over the registry. */
struct community_pass {
	struct hub *hub;
	int rc;                     /* the first error; stops the pass */
};

/* write_community: the live record of c, unless the stream has it so. */
static void write_community(struct community *c, void *arg)
{
	struct community_pass *pass = arg;
	struct hub *hub = pass->hub;
	int *rc = &pass->rc;
	Alliance__V1__Community body = ALLIANCE__V1__COMMUNITY__INIT;
	Change *have = NULL;

	if (*rc != ERR_OK)
		return;
	if (catalog_get(hub->cat, RELAY_DISTRICT,
			ALLIANCE__V1__KIND__KIND_COMMUNITY, c->id, &have) ==
	    ERR_OK && !have->deleted && have->community &&
	    strcmp(have->community->name, c->name) == 0) {
		catalog_change_free(&have);
		return;
	}
	catalog_change_free(&have);
	body.name = c->name;
	*rc = put(hub, ALLIANCE__V1__KIND__KIND_COMMUNITY, c->id, &body);
	if (*rc == ERR_OK)
		log_info("directory: %s is %s", c->id, c->name);
}

/* The directory's live ids, gathered before any is written. */
struct id_list {
	char **ids;
	size_t n, cap;
	int failed;
};

static void gather(const Change *ch, void *arg)
{
	struct id_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		char **grown = realloc(l->ids, cap * sizeof(*grown));

		if (!grown) {
			l->failed = 1;
			return;
		}
		l->ids = grown;
		l->cap = cap;
	}
	if (!(l->ids[l->n] = strdup(ch->id)))
		l->failed = 1;
	else
		l->n++;
}

/* sync_communities: a record for every registered community, a tombstone
 * for every live one no longer registered. */
static int sync_communities(struct hub *hub)
{
	struct community_pass arg = { hub, ERR_OK };
	struct id_list l = { 0 };
	int rc;

	registry_each(hub, write_community, &arg);
	if (arg.rc != ERR_OK)
		return arg.rc;
	rc = catalog_directory_each(hub->cat,
				    ALLIANCE__V1__KIND__KIND_COMMUNITY,
				    gather, &l);
	if (rc == ERR_OK && l.failed)
		rc = ERR_NOMEM;
	for (size_t i = 0; i < l.n; i++) {
		if (rc == ERR_OK && !registry_find(hub, l.ids[i])) {
			rc = put(hub, ALLIANCE__V1__KIND__KIND_COMMUNITY,
				 l.ids[i], NULL);
			if (rc == ERR_OK)
				log_info("directory: %s removed", l.ids[i]);
		}
		free(l.ids[i]);
	}
	free(l.ids);
	return rc;
}

/* ---- the synonyms --------------------------------------------------------- */

/* same_words: whether the stored record holds exactly m. */
static int same_words(const Change *have, const Alliance__V1__SearchWords *m)
{
	size_t a, b;
	uint8_t *pa, *pb;
	int same;

	if (!have || have->deleted || !have->search_words)
		return 0;
	a = alliance__v1__search_words__get_packed_size(have->search_words);
	b = alliance__v1__search_words__get_packed_size(m);
	if (a != b)
		return 0;
	pa = malloc(a + 1);
	pb = malloc(b + 1);
	same = pa && pb;
	if (same) {
		alliance__v1__search_words__pack(have->search_words, pa);
		alliance__v1__search_words__pack(m, pb);
		same = memcmp(pa, pb, a) == 0;
	}
	free(pa);
	free(pb);
	return same;
}

static int sync_synonyms(struct hub *hub)
{
	Alliance__V1__SearchWords *m = NULL;
	Change *have = NULL;
	int rc;

	if ((rc = synonyms_to_proto(hub->synonyms, &m)) != ERR_OK)
		return rc;
	catalog_get(hub->cat, RELAY_DISTRICT,
		    ALLIANCE__V1__KIND__KIND_SEARCH_WORDS, SYNONYMS_ID, &have);
	if (!same_words(have, m)) {
		rc = put(hub, ALLIANCE__V1__KIND__KIND_SEARCH_WORDS,
			 SYNONYMS_ID, m);
		if (rc == ERR_OK)
			log_info("directory: %zu synonym groups sent to the "
				 "nodes", m->n_groups);
	}
	catalog_change_free(&have);
	alliance__v1__search_words__free_unpacked(m, NULL);
	return rc;
}

/* ---- hub_directory_sync --------------------------------------------------- */

int hub_directory_sync(struct hub *hub)
{
	int rc;

	if (hub->cfg.store_postgresql) {
		/* the registry and the records come from the shared log
		 * together; only [search] synonyms are this replica's to
		 * share, once the log is reached */
		hub->synonyms_due = 1;
		if (!hub->pglog || pglog_down(hub->pglog, NULL, 0))
			return ERR_OK;
		rc = sync_synonyms(hub);
		if (rc == ERR_OK)
			hub->synonyms_due = 0;
		return ERR_OK;
	}
	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	rc = sync_communities(hub);
	if (rc == ERR_OK)
		rc = sync_synonyms(hub);
	if (rc == ERR_OK && store_exec(hub->db, "COMMIT") != ERR_OK)
		rc = ERR_IO;
	if (rc != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		log_error("directory: could not write the directory (%s)",
			  err_name(rc));
		return rc;
	}
	if (hub->lws)
		sync_wake(hub);
	return ERR_OK;
}

/* ---- the shared log's directory events ------------------------------------ */

int hub_directory_share_community(struct hub *hub, const char *id,
				  const char *name, uint64_t *version,
				  char *why, size_t whylen)
{
	Alliance__V1__Community body = ALLIANCE__V1__COMMUNITY__INIT;
	Change ch = ALLIANCE__V1__CHANGE__INIT;

	body.name = (char *)name;
	record(hub, &ch, ALLIANCE__V1__KIND__KIND_COMMUNITY, id,
	       name ? &body : NULL);
	*version = ch.version;
	return share(hub, &ch, why, whylen);
}

int hub_directory_apply(struct hub *hub, const void *body, size_t len,
			int *applied)
{
	Change *ch = alliance__v1__change__unpack(NULL, len, body);
	int rc = ERR_OK;

	*applied = 0;
	if (!ch || strcmp(ch->origin, RELAY_DISTRICT) != 0 ||
	    (ch->kind != ALLIANCE__V1__KIND__KIND_COMMUNITY &&
	     ch->kind != ALLIANCE__V1__KIND__KIND_SEARCH_WORDS) ||
	    (ch->kind == ALLIANCE__V1__KIND__KIND_COMMUNITY &&
	     (!text_community_valid(ch->id) ||
	      (!ch->deleted && (!ch->community || !ch->community->name ||
				!*ch->community->name ||
				strlen(ch->community->name) > LIMIT_NAME))))) {
		log_error("directory: a shared log event that is not a "
			  "directory record: passed over");
		goto out;
	}
	rc = catalog_apply(hub->cat, ch, 1, applied);
	if (rc != ERR_OK || !*applied ||
	    ch->kind != ALLIANCE__V1__KIND__KIND_COMMUNITY)
		goto out;
	if (ch->deleted)
		rc = registry_drop(hub, ch->id);
	else if (!registry_find(hub, ch->id))
		rc = registry_enter(hub, ch->id, ch->community->name,
				    (int64_t)(ch->version / 1000000u));
	if (rc == ERR_NOTFOUND)
		rc = ERR_OK;
	if (rc == ERR_OK)
		log_info("directory: %s %s (shared log)", ch->id,
			 ch->deleted ? "removed" : "registered");
out:
	if (ch)
		alliance__v1__change__free_unpacked(ch, NULL);
	return rc;
}

/* ---- loading the synonyms file ---------------------------------------------- */

int hub_synonyms_load(const char *path, struct synonyms **out, char *err,
		      size_t errlen)
{
	*out = NULL;
	if (!path)
		return ERR_OK;
	return synonyms_load(path, out, err, errlen);
}
