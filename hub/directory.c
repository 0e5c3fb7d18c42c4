/* directory.c: the community directory and the district's synonyms as
 * records of the hub's stream, so every node learns them.
 *
 * The registry (registry.c) and [search] synonyms are the truth; this
 * writes records of origin "district" (KIND_COMMUNITY, id = the
 * community's; KIND_SEARCH_WORDS, id "synonyms") whenever they differ
 * from what the stream holds, with versions above every earlier one, so
 * the version rule, tombstones, snapshots and retention work as for
 * services. Parts: writing one record; the communities; the synonyms;
 * hub_directory_sync; loading the synonyms file. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hub.h"
#include "log.h"
#include "relay.h"
#include "store.h"
#include "synonyms.h"

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

/* put: apply and log (origin district, kind, id) with the next version;
 * body is a Community or SearchWords message, NULL for a tombstone. */
static int put(struct hub *hub, int kind, const char *id, void *body)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	int applied = 0;

	ch.origin = (char *)RELAY_DISTRICT;
	ch.kind = kind;
	ch.id = (char *)id;
	ch.version = next_version(hub);
	ch.deleted = body == NULL;
	if (body && kind == ALLIANCE__V1__KIND__KIND_COMMUNITY) {
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_COMMUNITY;
		ch.community = body;
	} else if (body) {
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_SEARCH_WORDS;
		ch.search_words = body;
	}
	return catalog_apply(hub->cat, &ch, 1, &applied);
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

/* ---- loading the synonyms file ---------------------------------------------- */

int hub_synonyms_load(const char *path, struct synonyms **out, char *err,
		      size_t errlen)
{
	*out = NULL;
	if (!path)
		return ERR_OK;
	return synonyms_load(path, out, err, errlen);
}
