/* civic.h: the residents' side of a node: service requests (Open311),
 * resident credentials, polls and votes, and the relay that carries
 * requests, statuses, polls and tallies to and from the hub; the internal
 * header of civic.c, relay.c, requests.c, residents.c, account.c and
 * polls.c (node.h has what the rest of the node calls).
 *
 * Everything runs on the lws service thread on n->db: every write is one
 * small transaction (tokens are random and stored as SHA-256; a resident's
 * password goes through scrypt on the manager's KDF worker, never here).
 *
 * Sections: state; relay (relay.c); requests (requests.c); residents
 * (residents.c); the resident's account (account.c); polls (polls.c). */
#ifndef ALLIANCE_NODE_CIVIC_H
#define ALLIANCE_NODE_CIVIC_H

#include "node.h"
#include "ratelimit.h"
#include "relay.h"

/* ==== state ================================================================= */

struct civic {
	struct ratelimit *rl_request;  /* Open311 POSTs per address, per
					  credential */
	struct ratelimit *rl_vote;     /* votes per address, per credential */
	struct ratelimit *rl_register; /* credential redemptions and phone
					  registrations per address */
	struct ratelimit *rl_login;    /* resident logins per address, per
					  phone */
	int relay_inflight;            /* a Relay frame awaits the hub's ack */
};

/* civic_limited: count one action of key on rl; when it is over the
 * limit store a 429 (Open311's error format when open311 is set) and
 * return 1; else 0. */
int civic_limited(struct ratelimit *rl, const char *key, struct lws *wsi,
		  struct http_exchange *ex, int open311);
/* civic_peer: the client address of wsi into buf ("?" when unknown). */
void civic_peer(struct lws *wsi, char *buf, size_t len);

/* ==== relay (relay.c) ========================================================== */

/* relay_outbox_put: keep ch (origin = this community, a new version) to
 * send to the hub until it acks; in the caller's transaction. */
int relay_outbox_put(struct node *n, const Change *ch);
/* relay_next_version: the next version of this node's relayed records. */
uint64_t relay_next_version(struct node *n);
/* relay_flush: send the next outbox batch if connected and none is in
 * flight. */
void relay_flush(struct node *n);

/* ==== requests (requests.c) ==================================================== */

/* requests_route: /open311/v2/... and the manager's /api/v1/requests...;
 * 1 when answered (or parked for the manager's credential). */
int requests_route(struct node *n, struct lws *wsi, struct http_exchange *ex,
		   struct manager_req *mr);
/* requests_apply: a request or status from the hub (in the caller's
 * transaction). *refused with a reason when it is not for us. */
int requests_apply(struct node *n, const Change *ch, char *reason,
		   size_t rlen, int *refused);
/* requests_refused: the hub refused our request (its owner is unknown):
 * mark it declined with the reason. */
void requests_refused(struct node *n, const char *id, const char *reason);

/* ==== residents (residents.c) ================================================== */

/* residents_route: /api/v1/residents, /api/v1/residents/login,
 * /api/v1/household-codes; 1 when answered or parked. */
int residents_route(struct node *n, struct lws *wsi, struct http_exchange *ex,
		    struct manager_req *mr);
struct job;
/* residents_finish: the KDF worker hashed a new resident's password or
 * checked one (JOB_RESIDENT_*); answer the parked request when it is
 * still there (wsi non-NULL), else drop the result. Does not free j. */
void residents_finish(struct node *n, struct lws *wsi,
		      struct http_exchange *ex, const struct job *j);
/* residents_bearer: the resident id of the request's bearer token, or 0
 * when it has none or an unknown one. */
int64_t residents_bearer(struct node *n, struct lws *wsi);

/* ==== the resident's account (account.c) ====================================== */

/* account_route: /api/v1/residents/me (GET, DELETE) and
 * /api/v1/residents/token (DELETE); 1 when answered. */
int account_route(struct node *n, struct lws *wsi, struct http_exchange *ex);

/* ==== polls (polls.c) =========================================================== */

/* polls_route: /api/v1/polls...; 1 when answered or parked. */
int polls_route(struct node *n, struct lws *wsi, struct http_exchange *ex,
		struct manager_req *mr);
/* polls_apply: a district poll from the hub (caller's transaction). */
int polls_apply(struct node *n, const Change *ch, char *reason, size_t rlen,
		int *refused);
/* polls_apply_tally: another community's tally of a district poll, as
 * the hub relays it (caller's transaction); *refused with a reason when
 * it is not one (our own, a community poll's, counts that do not match
 * the poll's options). */
int polls_apply_tally(struct node *n, const Change *ch, char *reason,
		      size_t rlen, int *refused);

#endif
