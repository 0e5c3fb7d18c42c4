/* push.h: the outbox's Web Push channel (lib/webpush.h): residents'
 * browser subscriptions, the node's VAPID key and what the sender posts
 * for one row.
 *
 * The endpoints of the public port (push.c):
 *
 *   GET    /api/v1/push/key                the node's VAPID public key:
 *                                          {"key": base64url point} (404
 *                                          when [push] is not set)
 *   GET    /api/v1/residents/me/push       resident: {"items": [sub]}
 *   POST   /api/v1/residents/me/push       resident: {"endpoint" (https),
 *                                          "keys": {"p256dh", "auth"}
 *                                          (base64url), "bulletins" (the
 *                                          lowest severity, or null),
 *                                          "requests"} -> 201 sub (the
 *                                          same endpoint again: 200, its
 *                                          choices replaced)
 *   DELETE /api/v1/residents/me/push/{id}  resident: 204
 *
 * A sub is {"id", "endpoint", "bulletins", "requests", "created"}. A
 * resident has at most LIMIT_PUSH_SUBSCRIPTIONS; a push service answering
 * 404 or 410 for one removes it (the browser dropped it). */
#ifndef ALLIANCE_NODE_PUSH_H
#define ALLIANCE_NODE_PUSH_H

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "node.h"
#include "webpush.h"

/* A resident's subscriptions; bytes of an endpoint url. */
#define LIMIT_PUSH_SUBSCRIPTIONS 5
#define LIMIT_PUSH_ENDPOINT 1024
/* A VAPID token's life, and the longest TTL a message asks for. */
#define PUSH_VAPID_S (12 * 3600)
#define PUSH_TTL_MAX_S (28 * 24 * 3600)

/* The store's table and trigger (a node migration). */
extern const char push_schema_v1[];

/* push_fan_sql: the SELECT of the subscriptions that take a message of
 * a kind ("bulletin": ?1 the severity rank at or above their threshold;
 * "request": those that take requests; others: none), ?2 one resident or
 * 0 for all, ?3 the id after which a chunk resumes, ?4 the chunk's
 * size; columns id, resident;
 * NULL when the kind goes to no subscription. */
const char *push_fan_sql(const char *kind);

/* push_payload: the small JSON a subscription's row carries, a new
 * object (the caller's reference) or NULL: {"message": {"title", "body",
 * "url", "id"}, "urgency", "expires"}, the texts cut (at a character) so
 * that the message fits one Web Push body; the arguments are copied. A
 * bulletin asking for a safety check-in (check_in nonzero) adds
 * "check_in": true to the message: the service worker then asks the
 * question (web/sw.js). */
json_t *push_payload(const char *title, const char *body, const char *url,
		     const char *id, int check_in, const char *urgency,
		     int64_t expires);

/* push_urgency: the Urgency header word of a severity rank (outbox.h). */
const char *push_urgency(int rank);

/* A subscription as the sender needs it. */
struct push_target {
	char *url;                  /* its endpoint (owned) */
	uint8_t p256dh[WEBPUSH_KEY_LEN];
	uint8_t auth[WEBPUSH_AUTH_LEN];
};

/* push_target_get: subscription sub read from db into *t (free t->url).
 * ERR_OK, ERR_NOTFOUND (the subscription is gone) or ERR_FAIL. */
int push_target_get(sqlite3 *db, int64_t sub, struct push_target *t);

/* push_seal: what to post to t for a push row whose stored body is
 * envelope (webhook_envelope of push_payload): encrypted for t, signed
 * with vapid for subject at now (the token of the push service's origin
 * kept in tokens while it lasts): the header list and the binary body
 * (new; curl_slist_free_all and free()). Touches no store (the outbox's
 * sealing thread). ERR_OK or ERR_FAIL. */
int push_seal(const struct push_target *t, EVP_PKEY *vapid,
	      const char *subject, struct webpush_vapid_cache *tokens,
	      const char *envelope, int64_t now, struct curl_slist **hs,
	      char **body, size_t *len);

/* push_gone: the push service says sub no longer exists (404, 410):
 * stop its waiting rows, then forget it: a statement each, outside a
 * transaction (the outbox's sender: one file's lock at a time). */
void push_gone(sqlite3 *db, int64_t sub, int64_t now);

/* Rows of the public port's table (push.c). */
void push_on_key(void *ctx, struct lws *wsi, struct http_exchange *ex,
		 const struct route_match *m);
void push_on_subscriptions(void *ctx, struct lws *wsi,
			   struct http_exchange *ex,
			   const struct route_match *m);
void push_on_subscription(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m);

/* outbox_push_key: the VAPID public key (base64url) the outbox signs
 * with, or NULL when push is off (outbox_send.c; set before the service
 * loop and never changed). */
const char *outbox_push_key(struct node *n);

#endif
