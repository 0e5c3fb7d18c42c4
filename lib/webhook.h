/* webhook.h: signed JSON posts to an operator's webhook (an SMS gateway,
 * a last-mile messenger), made off the lws service thread.
 *
 * Every post carries two headers a receiver checks, the way GitHub's and
 * Stripe's webhooks are checked:
 *
 *   X-Alliance-Signature: t=T,v1=H   T = seconds since the epoch, when
 *                                    signed; H = lowercase hex of
 *                                    HMAC-SHA256(secret, T "." body)
 *   Idempotency-Key: K               the message's own key, the same on
 *                                    every retry of it
 *
 * A receiver recomputes H over the bytes it got, compares in constant
 * time, refuses an old T (replay) and a K it has already handled (a retry
 * after a lost answer). A sender is one thread with a bounded queue:
 * webhook_send copies the message and returns at once; the thread posts it
 * with libcurl (http or https only, no redirects, a timeout per try) and
 * retries a failure with a doubling pause. Bodies are never logged (they
 * may hold a one-time code); log lines name the key and the outcome. */
#ifndef ALLIANCE_WEBHOOK_H
#define ALLIANCE_WEBHOOK_H

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* "t=", at most 20 digits, ",v1=", 64 hex digits and the NUL. */
#define WEBHOOK_SIGNATURE_LEN (2 + 20 + 4 + 64 + 1)
/* The longest idempotency key webhook_send takes. */
#define WEBHOOK_KEY_MAX 64

/* webhook_sign: the X-Alliance-Signature value of body (len bytes)
 * signed at ts with secret ("t=TS,v1=HEX"), into out. ERR_OK, or
 * ERR_FAIL. */
int webhook_sign(const char *secret, int64_t ts, const char *body,
		 size_t len, char out[WEBHOOK_SIGNATURE_LEN]);

/* webhook_verify: whether header (an X-Alliance-Signature value) signs
 * body (len bytes) with secret at a time within tolerance_s of now (a
 * receiver's check, for the callbacks a gateway makes to us). The MAC is
 * compared in constant time. ERR_OK, or ERR_INVALID. */
int webhook_verify(const char *secret, const char *header, const char *body,
		   size_t len, int64_t now, int64_t tolerance_s);

/* webhook_headers: the header lines of one post of body signed at ts
 * (Content-Type, X-Alliance-Signature, Idempotency-Key: key, and an
 * empty Expect), a new list the caller frees with curl_slist_free_all;
 * NULL when out of memory or the signing failed. */
struct curl_slist *webhook_headers(const char *secret, const char *key,
				   const char *body, size_t len, int64_t ts);

/* webhook_envelope: the documented body of a message: {"id": key,
 * "kind", "community", "created" (RFC 3339 of created), "payload"
 * (reference stolen)}, compact, a new string (free()); NULL when out of
 * memory. */
char *webhook_envelope(const char *key, const char *kind,
		       const char *community, int64_t created,
		       json_t *payload);

/* webhook_backoff_s: the pause after the attempt-th failed try (1 the
 * first) of a message: d = min_s doubled attempt - 1 times, at most
 * max_s, then d/2 plus r mod (d/2 + 1) ("equal jitter": within [d/2, d],
 * so retries of many messages spread out). At least 1. */
unsigned webhook_backoff_s(unsigned attempt, unsigned min_s, unsigned max_s,
			   uint32_t r);

/* webhook_url_valid: NULL when url is one a sender may post to (http://
 * or https://, a host, no spaces or control characters, at most
 * LIMIT_CONFIG_VALUE bytes), else the reason. */
const char *webhook_url_valid(const char *url);
/* webhook_url_https: webhook_url_valid, and https:// only and at most
 * max bytes (an endpoint a manager registers). */
const char *webhook_url_https(const char *url, size_t max);

struct webhook;

/* webhook_start: a sender posting to url signed with secret (both
 * copied; the secret is cleansed when stopped), its thread started.
 * Stores it in *out; ERR_OK, ERR_INVALID (a bad url or a secret outside
 * LIMIT_WEBHOOK_SECRET_MIN..MAX bytes) or ERR_NOMEM / ERR_FAIL. */
int webhook_start(struct webhook **out, const char *url, const char *secret);

/* webhook_send: queue body (len bytes, at most LIMIT_WEBHOOK_BODY,
 * copied) under key (an idempotency key of at most WEBHOOK_KEY_MAX
 * printable ASCII characters). ERR_OK, ERR_INVALID for a bad key or
 * size, ERR_AGAIN when LIMIT_WEBHOOK_QUEUE messages wait, ERR_NOMEM. */
int webhook_send(struct webhook *w, const char *key, const char *body,
		 size_t len);

/* webhook_stop: stop the thread (a post under way is cut short;
 * queued messages are dropped and cleansed), free w and set it NULL. */
void webhook_stop(struct webhook **w);

#endif
