/* outbox.h: the node's durable outbox: every message to every recipient
 * (a manager's webhook endpoint, a resident's phone through the SMS
 * gateway) is a row before it is sent (outbox.c), in a file of its own
 * beside the store (node_store_outbox_path, attached as "ob": the sender
 * writes it without the store's write lock), and is sent off the lws
 * service thread (outbox_send.c), signed as lib/webhook.h says.
 *
 * What is sent comes in two ways, both in the writer's transaction:
 * triggers of the store note every bulletin stored and every request
 * status step (outbox_event), which the sender's thread expands into one
 * row per recipient; other parts of the node call outbox_enqueue. A row's
 * state: pending, sending (in flight), sent, failed (retried at next_at),
 * dead (given up: its deadline passed or the receiver refused it for
 * good; the manager may retry it) or cancelled (its bulletin was
 * cancelled, updated or expired; the endpoint or the resident's consent
 * withdrawn). The idempotency key of a row is made from what it carries
 * and to whom, so it is the same on every try, after a restart and if
 * the same message were ever enqueued again.
 *
 * The endpoints of the public port (outbox_http.c):
 *
 *   GET    /api/v1/outbox                 manager: rows by channel and
 *                                         state {"channels": {...}}
 *   GET    /api/v1/outbox/endpoints       manager: {"items": [endpoint]}
 *   POST   /api/v1/outbox/endpoints       manager: {"name", "url"
 *                                         (https), "bulletins" (lowest
 *                                         severity or null), "requests",
 *                                         "check_in"} -> 201 {"endpoint",
 *                                         "secret"}: the secret is shown
 *                                         this once
 *   DELETE /api/v1/outbox/endpoints/{id}  manager: 204; its pending rows
 *                                         are cancelled
 *   GET    /api/v1/outbox/dead            manager: {"items": [letter]}
 *   POST   /api/v1/outbox/dead/{id}/retry manager: 200 {"id", "state"}
 *   GET    /api/v1/residents/me/channels  resident: {"sms": {...}}
 *   PUT    /api/v1/residents/me/channels  resident: {"sms": {"enabled",
 *                                         "phone", "bulletins",
 *                                         "requests"}} -> 200 as GET
 *   POST   /api/v1/sms/opt-out            the gateway, signed with [sms]
 *                                         secret: {"phone"} -> 200 */
#ifndef ALLIANCE_NODE_OUTBOX_H
#define ALLIANCE_NODE_OUTBOX_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>

#include "node.h"
#include "store.h"

/* The store's tables and triggers (a node migration). */
extern const char outbox_schema_v1[];
/* The index of the push rows due (a node migration after push's). */
extern const char outbox_schema_v2[];
/* The rows out of node.db into the outbox's own file (a node migration:
 * the old table renamed aside; node_store_connect moves its rows). */
extern const char outbox_schema_v3[];
/* The migrations of the outbox's own file (node_store_outbox_path). */
extern const struct store_migration *const outbox_migrations;
extern const size_t outbox_n_migrations;

/* outbox_start: the sender's thread, its own store connection and its
 * copy of the configuration, as n->outbox. ERR_OK, or an error with err
 * set. */
int outbox_start(struct node *n, char *err, size_t errlen);
/* outbox_stop: stop and join the thread (transfers under way are cut
 * short: their rows are sent again at the next start), free it. */
void outbox_stop(struct node *n);
/* outbox_wake: something was stored to send; thread-safe, returns at
 * once. */
void outbox_wake(struct node *n);

/* outbox_enqueue: in the caller's transaction on db, a message of kind
 * ("request", "check-in") about source (what it is about: a
 * bulletin id, a request...) to to: "endpoints", every webhook endpoint
 * that takes kind; "residents", every resident whose channels take kind;
 * "resident:ID", that resident's channels that take kind; or
 * "listed:ID", an SMS to the mobile phone of that resident of the
 * check-in call list (its row's resident is -ID); payload
 * (reference stolen; an object whose "text" is what a phone gets, without
 * one no text; at most LIMIT_OUTBOX_BODY bytes once enveloped) tried
 * until deadline (unix s). community is ours. A message already
 * enqueued (the same kind, source and recipient) is not enqueued again.
 * kind "bulletin" is not taken here: the store's trigger notes those.
 * ERR_OK; ERR_INVALID (a bad kind or to), ERR_TOOBIG, ERR_IO. Call
 * outbox_wake after the commit. */
int outbox_enqueue(sqlite3 *db, const char *community, const char *kind,
		   const char *source, const char *to, json_t *payload,
		   int64_t deadline);

/* outbox_cancel_resident: in the caller's transaction, stop the
 * messages waiting for resident's phone and forget her SMS consent (she
 * withdrew it); with push, her browsers' waiting messages too (her account
 * is deleted: the store's trigger forgets her subscriptions). ERR_OK or
 * ERR_IO. */
int outbox_cancel_resident(sqlite3 *db, int64_t resident, int push);

/* outbox_metrics: the outbox's Prometheus lines (metrics.c). */
void outbox_metrics(struct node *n, FILE *f);

/* Rows of the public port's table (outbox_http.c), as listed above. */
void outbox_on_summary(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m);
void outbox_on_endpoints(void *ctx, struct lws *wsi,
			 struct http_exchange *ex,
			 const struct route_match *m);
void outbox_on_endpoint(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m);
void outbox_on_dead(void *ctx, struct lws *wsi, struct http_exchange *ex,
		    const struct route_match *m);
void outbox_on_retry(void *ctx, struct lws *wsi, struct http_exchange *ex,
		     const struct route_match *m);
void outbox_on_channels(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m);
void outbox_on_opt_out(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m);

/* ---- within the outbox (outbox.c, outbox_send.c, outbox_http.c) ---- */

/* The channels (rows of outbox.c's table): webhook, sms, push. */
#define OUTBOX_CHANNELS 3

/* Where the store side of the outbox works: the sender's connection and
 * this community's id and name (borrowed). */
struct outbox_site {
	sqlite3 *db;
	const char *community;
	const char *name;           /* in texts: 【name】 */
};

/* outbox__channel: the index of channel name, or -1;
 * outbox__channel_name: the name of index i, or NULL. */
int outbox__channel(const char *name);
const char *outbox__channel_name(int i);
/* outbox__expand: up to a round's events of s->db into rows; 1 when
 * more may remain, else 0 (also when one failed: it is tried again at
 * the next round). */
int outbox__expand(const struct outbox_site *s, int64_t now);
/* outbox__sweep: rows past their deadline stop (dead when tried,
 * cancelled when never tried); with prune, finished rows older than
 * LIMIT_OUTBOX_KEEP_S go. */
void outbox__sweep(sqlite3 *db, int64_t now, int prune);
/* outbox__exec: run sql on db with ?1 bound to v and ?2 to w (where the
 * statement has them). ERR_OK or ERR_IO. */
int outbox__exec(sqlite3 *db, const char *sql, int64_t v, int64_t w);

/* outbox_severity_rank: extreme 4, severe 3, moderate 2, minor 1,
 * unknown 0; -1 for anything else. */
int outbox_severity_rank(const char *severity);
/* outbox_severity_word: the word of a rank, or NULL (none). */
const char *outbox_severity_word(int rank);

#endif
