/* registry.c: the communities of the alliance, in memory and in the store.
 *
 * "All communities" means this registry; a node certificate whose CN is not
 * here is refused. Parts: the hash table; add and remove (operators);
 * iteration in id order. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hub.h"
#include "log.h"
#include "text.h"

static unsigned bucket_of(const char *id)
{
	return text_hash(id) % HUB_COMMUNITY_BUCKETS;
}

struct community *registry_find(struct hub *hub, const char *id)
{
	struct community *c;

	for (c = hub->communities[bucket_of(id)]; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

int registry_insert(struct hub *hub, const struct community *c)
{
	struct community *copy = malloc(sizeof(*copy));
	unsigned b = bucket_of(c->id);

	if (!copy)
		return ERR_NOMEM;
	*copy = *c;
	copy->session = NULL;
	copy->next = hub->communities[b];
	hub->communities[b] = copy;
	hub->n_communities++;
	return ERR_OK;
}

int registry_enter(struct hub *hub, const char *id, const char *name,
		   int64_t enrolled)
{
	struct community c;
	int rc;

	if (registry_find(hub, id))
		return ERR_INVALID;
	memset(&c, 0, sizeof(c));
	memcpy(c.id, id, strlen(id) + 1);
	memcpy(c.name, name, strlen(name) + 1);
	c.enrolled = enrolled;
	rc = hub_store_add_community(hub, &c);
	if (rc != ERR_OK)
		return rc;
	return registry_insert(hub, &c);
}

int registry_add(struct hub *hub, const char *id, const char *name)
{
	int rc = registry_enter(hub, id, name, hub_now());

	if (rc == ERR_OK)
		hub_directory_sync(hub);    /* the nodes learn its name */
	return rc;
}

int registry_drop(struct hub *hub, const char *id)
{
	struct community **pp = &hub->communities[bucket_of(id)];
	struct community *c;
	int rc;

	for (; *pp; pp = &(*pp)->next)
		if (strcmp((*pp)->id, id) == 0)
			break;
	c = *pp;
	if (!c)
		return ERR_NOTFOUND;
	rc = hub_store_remove_community(hub, id);
	if (rc != ERR_OK)
		return rc;
	if (c->session) {
		session_close(c->session, REFUSE_NOT_REGISTERED,
			      WIRE_CLOSE_REMOVED, 0,
			      "community %s was removed from the registry", id);
		c->session->community = NULL;
	}
	*pp = c->next;
	hub->n_communities--;
	free(c);
	return ERR_OK;
}

int registry_remove(struct hub *hub, const char *id)
{
	int rc = registry_drop(hub, id);

	if (rc == ERR_OK)
		hub_directory_sync(hub);    /* a tombstone for the nodes */
	return rc;
}

static int by_id(const void *a, const void *b)
{
	return strcmp((*(struct community *const *)a)->id,
		      (*(struct community *const *)b)->id);
}

void registry_each(struct hub *hub,
		   void (*fn)(struct community *c, void *arg), void *arg)
{
	struct community **all, *c;
	unsigned n = 0, i;

	all = malloc(sizeof(*all) * (hub->n_communities + 1));
	if (!all)
		return;
	for (i = 0; i < HUB_COMMUNITY_BUCKETS; i++)
		for (c = hub->communities[i]; c; c = c->next)
			all[n++] = c;
	qsort(all, n, sizeof(*all), by_id);
	for (i = 0; i < n; i++)
		fn(all[i], arg);
	free(all);
}

void registry_each_session(struct hub *hub,
			   void (*fn)(struct session *s, void *arg), void *arg)
{
	struct community *c, *next;
	unsigned i;

	for (i = 0; i < HUB_COMMUNITY_BUCKETS; i++)
		for (c = hub->communities[i]; c; c = next) {
			next = c->next;     /* fn may close the session */
			if (c->session)
				fn(c->session, arg);
		}
}

void registry_free(struct hub *hub)
{
	unsigned i;

	for (i = 0; i < HUB_COMMUNITY_BUCKETS; i++) {
		while (hub->communities[i]) {
			struct community *c = hub->communities[i];

			hub->communities[i] = c->next;
			free(c);
		}
	}
	hub->n_communities = 0;
}
