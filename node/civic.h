/* civic.h: the residents' side of a node: service requests (Open311),
 * resident credentials, polls and votes, and the relay that carries
 * requests, statuses, polls and tallies to and from the hub; the internal
 * header of civic.c, relay.c, open311.c, requests.c, request_form.c,
 * request_follow.c, request_queue.c, residents.c, phone_verify.c,
 * voters.c, account.c and polls.c (node.h has what the rest of the node
 * calls).
 *
 * Everything runs on the lws service thread on n->db: every write is one
 * small transaction (tokens are random and stored as SHA-256; a resident's
 * password goes through scrypt on the manager's KDF worker, never here).
 *
 * Sections: state; relay (relay.c); Open311 (open311.c); requests
 * (requests.c); the form of
 * a request (request_form.c); following a request (request_follow.c);
 * the manager's queue (request_queue.c); residents (residents.c); phone
 * codes (phone_verify.c); who votes (voters.c); the resident's account
 * (account.c); polls (polls.c); safety check-in (checkin.c,
 * checkin_manage.c). */
#ifndef ALLIANCE_NODE_CIVIC_H
#define ALLIANCE_NODE_CIVIC_H

#include "bulletin.h"
#include "node.h"
#include "poll_store.h"
#include "ratelimit.h"
#include "relay.h"
#include "request_store.h"
#include "resident_store.h"
#include "webhook.h"

/* ==== state ================================================================= */

struct civic {
	struct ratelimit *rl_request;  /* Open311 POSTs per address, per
					  credential */
	struct ratelimit *rl_vote;     /* votes per address, per credential */
	struct ratelimit *rl_register; /* credential redemptions and phone
					  registrations per address */
	struct ratelimit *rl_login;    /* resident logins per address, per
					  phone */
	struct ratelimit *rl_sms_phone;/* one-time codes sent per phone */
	struct ratelimit *rl_sms_addr; /* ... and per client address */
	struct request_store *requests;/* the request tables
					  (request_store.h) */
	struct resident_store *residents; /* accounts, tokens, codes
					  (resident_store.h) */
	struct poll_store *polls;      /* polls, votes, tallies
					  (poll_store.h) */
	struct webhook *sms;           /* [sms]: the gateway's sender
					  (lib/webhook.h); NULL: phones are
					  confirmed by the manager */
	int relay_inflight;            /* a Relay frame awaits the hub's ack */
	int hub_checkin;               /* the hub takes KIND_CHECKIN (its
					  last Welcome said so) */
	unsigned quota_requests;       /* new requests we may send to any one
					  other community an hour, as the
					  hub's last Welcome said (0: none
					  said): more get 429 at the POST */
};

/* civic_limited: count one action of key on rl; when it is over the
 * limit store a 429 (Open311's error format when open311 is set) and
 * return 1; else 0. */
int civic_limited(struct ratelimit *rl, const char *key, struct lws *wsi,
		  struct http_exchange *ex, int open311);
/* civic_manager_admit: the gate of a manager's endpoint: a change
 * (change set) must say Content-Type: application/json (415: a cross-site
 * form cannot send it, a change by HTTP Basic must), the manager
 * must be ready (503) and the credential granted (auth_request). 1: go
 * on; 0: an answer is stored or the request is parked for the KDF. */
int civic_manager_admit(struct node *n, struct lws *wsi,
			struct http_exchange *ex, struct manager_req *mr,
			int change);
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

/* ==== Open311 (open311.c) ====================================================== */

/* open311_xml: whether the request asked for the XML format (its path
 * ends in .xml); else JSON. */
int open311_xml(const struct http_exchange *ex);
/* open311_reply: store v (reference stolen; NULL: a 500) as the answer
 * in the format asked for: JSON as it is, or XML with root as the
 * document's element and the spec's names for array items. */
void open311_reply(struct lws *wsi, struct http_exchange *ex, int status,
		   const char *root, json_t *v);
/* open311_error: store the spec's error answer (status, and a
 * printf-style description naming the field first) in the format asked
 * for. */
void open311_error(struct lws *wsi, struct http_exchange *ex, int status,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* open311_service: the live catalog service that takes requests named by
 * code (cut as open311_code_split cuts it; left cut or not on failure),
 * a new Change the caller frees with catalog_change_free; or NULL. */
Change *open311_service(struct node *n, char *code, char **id);
/* open311_key_ok: whether a POST of ex may go on under [open311]
 * api_keys: none set, the node's own pages (Origin is the Host asked),
 * or the form's api_key one of them; else a 403 is stored and 0. */
int open311_key_ok(struct node *n, struct lws *wsi, struct http_exchange *ex);
/* Rows of the public port's table under /open311/ (v2/, each path in
 * .json and .xml): open311_on_discovery GET discovery (at /open311/ too),
 * open311_on_services GET services, open311_on_service GET
 * services/{code}, open311_on_token GET tokens/{token} (a 404: none are
 * issued), open311_on_requests GET and POST requests, open311_on_request
 * GET requests/{id}, open311_on_withdraw POST requests/{id}/withdraw. */
void open311_on_discovery(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m);
void open311_on_services(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m);
void open311_on_service(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m);
void open311_on_token(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m);
void open311_on_requests(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m);
void open311_on_request(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m);
void open311_on_withdraw(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m);
/* open311_refuse: the table's 404 or 405 (ex->allow set) of a path under
 * /open311/, in the spec's error format. */
void open311_refuse(struct lws *wsi, struct http_exchange *ex, int status);

/* ==== requests (requests.c) ==================================================== */

/* requests_post: POST requests.{json,xml}; requests_list: GET
 * requests.{json,xml} with the spec's filters; requests_get: GET
 * requests/{id}.{json,xml}. */
void requests_post(struct node *n, struct lws *wsi, struct http_exchange *ex);
void requests_list(struct node *n, struct lws *wsi, struct http_exchange *ex);
void requests_get(struct node *n, struct lws *wsi, struct http_exchange *ex,
		  const char *id);

/* requests_row_json: a request in Open311's shape (a new object;
 * alliance_status "withdrawn" once withdrawn), with preferred,
 * delivered_datetime, withdrawn_datetime and erased (the resident deleted
 * her account: no personal data left); the resident's description, the
 * manager's status_notes and personal data (name, phone, email, address,
 * location, relative_name, relative_phone) only when private. */
json_t *requests_row_json(const struct request_row *row, int private);
/* requests_row_mine: 1 when token (the request's own, may be NULL) or
 * resident (a bearer's id, 0 for none) is the row's. */
int requests_row_mine(const struct request_row *row, const char *token,
		      int64_t resident);

/* Rows of the public port's table (ctx its struct public_http):
 * requests_on_mine GET /api/v1/residents/me/requests; requests_on_queue
 * the manager's GET /api/v1/requests; requests_on_patch the manager's
 * PATCH /api/v1/requests/{id}. */
void requests_on_mine(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m);
void requests_on_queue(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m);
void requests_on_patch(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m);

/* ==== the form of POST requests.json (request_form.c) ======================== */

/* The fields of the form, in the order they are read and checked. */
enum request_field { RF_CODE, RF_DESC, RF_FIRST, RF_LAST, RF_NAME,
		     RF_PHONE, RF_EMAIL, RF_ADDR, RF_ADDR_ID, RF_LAT, RF_LONG,
		     RF_PREFERRED, RF_REL_NAME, RF_REL_PHONE, RF_COUNT };

/* Longest address_id (the spec's id of an address in the
 * jurisdiction's own register), in bytes. */
#define REQUEST_ADDRESS_ID_MAX 64

/* A resident's request as the form gives it. */
struct request_form {
	char *value[RF_COUNT];          /* malloc'd, "" when absent (owned) */
	char name[RELAY_NAME_MAX + 2]; /* name, else first and last name */
	char address[RELAY_ADDRESS_MAX + 1]; /* address_string, and the
					  address_id when given */
	int has_location;              /* lat or long given */
	double lat, lon;               /* decimal degrees, when given */
};

/* request_form_read: every field of the form-encoded body[0..len) into
 * rf (zeroed by the caller), each at most its limit (description in
 * characters, the rest in bytes) and UTF-8, and service_code present. ERR_OK, or an error with *status (400, or 500
 * out of memory) and Open311's description in why. Free rf with
 * request_form_free either way. */
int request_form_read(const char *body, size_t len, struct request_form *rf,
		      int *status, char *why, size_t whylen);

/* request_form_check: the fields of a read form that need no store, in
 * order: phone, the relative's name and phone (both or neither),
 * preferred (a day from 36 hours before now to 366 days after),
 * lat/long (both, in range), address_string and address_id (together
 * within RELAY_ADDRESS_MAX); then rf->name, rf->address ("STRING",
 * "address_id: ID" or "STRING (address_id: ID)") and the location are
 * set.
 * ERR_OK, or ERR_INVALID with Open311's description (a 400) in why. */
int request_form_check(struct request_form *rf, int64_t now, char *why,
		       size_t whylen);

/* open311_code_split (request_form.c): cut service_code "COMMUNITY.ID" (or the older
 * "COMMUNITY/ID") in place: code becomes the community, *id points at
 * the id. ERR_OK, or ERR_INVALID with code unchanged. */
int open311_code_split(char *code, char **id);
/* request_form_free: free rf's values and NULL them. */
void request_form_free(struct request_form *rf);

/* ==== following a request (request_follow.c) ================================== */

/* requests_steps_json: the steps of (origin, id), oldest first: a new
 * array of {status, at, notes?, scheduled?}; the manager's notes only
 * when private. */
json_t *requests_steps_json(struct node *n, const char *origin,
			    const char *id, int private);
/* requests_apply: a request or status from the hub (in the caller's
 * transaction). *refused with a reason when it is not for us. */
int requests_apply(struct node *n, const Change *ch, char *reason,
		   size_t rlen, int *refused);
/* requests_refused: the hub refused our request (its owner is unknown):
 * mark it declined with the reason. */
void requests_refused(struct node *n, const char *id, const char *reason);
/* requests_write_version: a newer version of our request row (origin =
 * us), in the caller's transaction: withdrawn
 * at withdrawn when it was not (0: as it was; the step kept), and with
 * erase set the erased version (relay.h: no personal data travels, and
 * the row's own is blanked); into the outbox for its owner, or, served at
 * home, only what the district counts. ERR_OK, ERR_INVALID or ERR_IO. */
int requests_write_version(struct node *n, const struct request_row *row,
			   int64_t withdrawn, int erase);
/* requests_withdraw: POST /open311/v2/requests/{id}/withdraw.json. */
void requests_withdraw(struct node *n, struct lws *wsi,
		       struct http_exchange *ex, const char *id);
/* requests_mine: GET /api/v1/residents/me/requests. */
void requests_mine(struct node *n, struct lws *wsi, struct http_exchange *ex);

/* ==== the manager's queue (request_queue.c) ==================================== */

/* requests_queue: GET /api/v1/requests; requests_patch: PATCH
 * /api/v1/requests/{id} (id valid); the manager's credential checked. */
void requests_queue(struct node *n, struct lws *wsi,
		    struct http_exchange *ex);
void requests_patch(struct node *n, struct lws *wsi, struct http_exchange *ex,
		    const char *id);

/* ==== residents (residents.c) ================================================== */

/* Rows of the public port's table (ctx its struct public_http):
 * residents_on_register POST /api/v1/residents, residents_on_login POST
 * /api/v1/residents/login, residents_on_household_code the manager's
 * POST /api/v1/household-codes. */
void residents_on_register(void *ctx, struct lws *wsi,
			   struct http_exchange *ex,
			   const struct route_match *m);
void residents_on_login(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m);
void residents_on_household_code(void *ctx, struct lws *wsi,
				 struct http_exchange *ex,
				 const struct route_match *m);
struct job;
/* residents_finish: the KDF worker hashed a new resident's password or
 * checked one (JOB_RESIDENT_*); answer the parked request when it is
 * still there (wsi non-NULL), else drop the result. Does not free j. */
void residents_finish(struct node *n, struct lws *wsi,
		      struct http_exchange *ex, const struct job *j);
/* residents_bearer: the resident id of the request's bearer token, or 0
 * when it has none, an unknown one or one unused for [limits]
 * resident_token_idle_s; a live token's last use becomes now. */
int64_t residents_bearer(struct node *n, struct lws *wsi);
/* residents_secret: 32 random hex digits into out (33 bytes) and their
 * SHA-256 into hash (tokens, codes, message keys). ERR_OK or ERR_FAIL. */
int residents_secret(char out[33], unsigned char hash[32]);
/* residents_by_phone: the resident registered with phone (digits) and,
 * when line is given, their password's hash line (strdup'd, the caller
 * frees); 0 when none. */
int64_t residents_by_phone(struct node *n, const char *phone, char **line);
/* residents_store: a new resident (phone and hash_line NULL for a
 * household code alone) named name ("" for none) who claims the code
 * chash when it is given, confirmed now by confirmed_by ("sms") or not
 * (NULL), and their first token, in one transaction; the answer is sent
 * here (201 {token, resident}, 409 for a phone registered meanwhile, 422
 * for a code used meanwhile, 500). */
void residents_store(struct node *n, struct lws *wsi,
		     struct http_exchange *ex, const char *phone,
		     const char *hash_line, const unsigned char *chash,
		     const char *name, const char *confirmed_by);

/* ==== phone codes (phone_verify.c) ============================================ */

/* phone_verify_limited: count a code to be sent to phone from this
 * client; when either is over its limit store a 429 and return 1 (the
 * same for a registered phone as for a new one), else 0. */
int phone_verify_limited(struct node *n, struct lws *wsi,
			 struct http_exchange *ex, const char *phone);
/* phone_verify_send: a JOB_RESIDENT_REGISTER came back from the KDF with
 * the password's hash line: keep the registration waiting for a new
 * one-time code and post the code to the gateway, or, when the phone is
 * registered already, post a message saying so; either way answer 202
 * {"sent": true, "phone" (masked), "expires_in"}, one body for both. */
void phone_verify_send(struct node *n, struct lws *wsi,
		       struct http_exchange *ex, const struct job *j);
/* phone_verify_on: POST /api/v1/residents/verify {"phone", "code"} (a
 * row of the public port's table); 404 where no codes are sent. */
void phone_verify_on(void *ctx, struct lws *wsi, struct http_exchange *ex,
		     const struct route_match *m);

/* ==== who votes (voters.c) ===================================================== */

/* voters_may_vote: 1 when resident holds a household code or a
 * confirmed phone (one resident, one vote), else 0. */
int voters_may_vote(struct node *n, int64_t resident);
/* voters_claim_phone: in the caller's transaction, note that resident's
 * phone votes in poll (origin, id): 1 when it had not (or she has no
 * phone), 0 when another account with the same phone voted in it
 * already, -1 on error. */
int voters_claim_phone(struct node *n, const char *origin, const char *id,
		       int64_t resident);
/* Rows of the public port's table: the manager's GET
 * /api/v1/residents/pending (voters_on_pending) and POST
 * /api/v1/residents/{id}/confirm and .../revoke (voters_on_action). */
void voters_on_pending(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m);
void voters_on_action(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m);

/* ==== the resident's account (account.c) ====================================== */

/* Rows of the public port's table (a resident's: ctx's resident set):
 * account_on_me GET, PATCH and DELETE /api/v1/residents/me;
 * account_on_sign_out DELETE /api/v1/residents/token. */
void account_on_me(void *ctx, struct lws *wsi, struct http_exchange *ex,
		   const struct route_match *m);
void account_on_sign_out(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m);
/* account_name: the "name" of a JSON body into *name (in's string, or ""
 * when absent or null and not required): a person's name as a request
 * carries it (relay_name_valid). 1, or 0 with a 422 naming the field
 * stored. */
int account_name(struct lws *wsi, struct http_exchange *ex, json_t *in,
		 int required, const char **name);

/* ==== polls (polls.c) =========================================================== */

/* Rows of the public port's table: GET /api/v1/polls (polls_on_list),
 * the manager's POST /api/v1/polls (polls_on_create) and POST
 * /api/v1/polls/{key}/close (polls_on_close), POST .../{key}/votes
 * (polls_on_vote), GET /api/v1/polls/{key} (polls_on_get). */
void polls_on_list(void *ctx, struct lws *wsi, struct http_exchange *ex,
		   const struct route_match *m);
void polls_on_create(void *ctx, struct lws *wsi, struct http_exchange *ex,
		     const struct route_match *m);
void polls_on_close(void *ctx, struct lws *wsi, struct http_exchange *ex,
		    const struct route_match *m);
void polls_on_vote(void *ctx, struct lws *wsi, struct http_exchange *ex,
		   const struct route_match *m);
void polls_on_get(void *ctx, struct lws *wsi, struct http_exchange *ex,
		  const struct route_match *m);
/* polls_apply: a district poll from the hub (caller's transaction). */
int polls_apply(struct node *n, const Change *ch, char *reason, size_t rlen,
		int *refused);
/* polls_apply_tally: another community's tally of a district poll, as
 * the hub relays it (caller's transaction); *refused with a reason when
 * it is not one (our own, a community poll's, counts that do not match
 * the poll's options). */
int polls_apply_tally(struct node *n, const Change *ch, char *reason,
		      size_t rlen, int *refused);

/* ==== safety check-in (checkin.c, checkin_manage.c) ============================= */

/* CHECKIN_SERVICE_ID (request_store.h): the requests a check-in's "needs
 * help" files. */

/* A note on a grid worker's call, bytes. */
#define CHECKIN_NOTE_MAX 500

/* Counts of one check-in at this node. */
struct checkin_counts {
	int64_t listed;             /* residents on the list */
	int64_t confirmed;          /* listed and accounts: safe */
	int64_t not_yet;            /* listed, no answer */
	int64_t needs_help;         /* listed and accounts: help */
	int64_t anon_safe, anon_help; /* taps without link or account */
};

/* A listed resident as read. */
struct checkin_listed {
	int64_t id;
	char name[RELAY_NAME_MAX + 1];
	char phone[LIMIT_PHONE_DIGITS + 1];   /* digits */
	char address[RELAY_ADDRESS_MAX + 1];
};

/* Who gives an answer, and what "needs help" files in her name. */
struct checkin_who {
	char key[32];               /* "r<id>" (listed) or "a<id>" (account) */
	const char *name, *phone, *address; /* for the request (borrowed) */
	int64_t account;            /* her account, 0: none */
	const char *source;         /* link, account, call */
};

/* checkin_text_ok: s is UTF-8 of at most max bytes without control
 * characters (line breaks and tabs allowed when lines). */
int checkin_text_ok(const char *s, size_t max, int lines);
/* checkin_prepare: a statement for sql on n's connection (the caller
 * finalizes it), or NULL (logged). */
sqlite3_stmt *checkin_prepare(struct node *n, const char *sql);
/* checkin_open: bulletin id as a check-in that takes answers now: ERR_OK
 * with its content in *c (bulletin_content_free it) and *open; else an
 * error is stored (404 none, 422 asks no check-in, 409 cancelled or
 * expired, 500) and an ERR_* code returned. closed_ok lets a closed one
 * through (*open 0: the manager's view). */
int checkin_open(struct node *n, struct lws *wsi, struct http_exchange *ex,
		 const char *id, BulletinContent **c, int closed_ok, int *open);
/* checkin_count: bulletin's counts from the store into k. ERR_OK or
 * ERR_IO. */
int checkin_count(struct node *n, const char *bulletin,
		  struct checkin_counts *k);
/* checkin_recount_open: in the caller's transaction, every open
 * check-in's counts into the relay outbox (the list changed). ERR_OK or
 * ERR_IO. */
int checkin_recount_open(struct node *n);
/* checkin_links_open: in the caller's transaction, with an SMS gateway,
 * a link by SMS for every listed resident who has none for an open
 * check-in (the list grew); *sent the number. ERR_OK or ERR_IO. Call
 * outbox_wake after the commit. */
int checkin_links_open(struct node *n, int *sent);
/* checkin_record: in the caller's transaction, w's answer state ("safe",
 * "help") to check-in c, with the counts for the hub. A call (force)
 * always sets the state; otherwise "help" replaces anything but "help",
 * and "safe" only no answer (else ERR_INVALID, nothing written, and what
 * is recorded is in was). "help" files an urgent request once per person
 * and check-in (note added to it). ERR_OK, ERR_INVALID or an error. */
int checkin_record(struct node *n, const BulletinContent *c,
		   const struct checkin_who *w, const char *state, int force,
		   const char *note, char *was, size_t waslen);
/* checkin_listed_get: the listed resident id (or, id 0, the one with
 * phone) into l. ERR_OK, ERR_NOTFOUND or ERR_IO. */
int checkin_listed_get(struct node *n, int64_t id, const char *phone,
		       struct checkin_listed *l);
/* checkin_who_listed: w as listed resident l answering through source
 * (w borrows l's strings). */
void checkin_who_listed(struct checkin_who *w,
			const struct checkin_listed *l, const char *source);

/* Rows of the public port's table: POST /api/v1/bulletins/{id}/check-in
 * (anyone's answer: checkin_on_bulletin) and the manager's GET of it (by
 * state: checkin_on_view); the manager's POST .../check-in/links
 * (checkin_on_links) and .../check-in/calls (checkin_on_calls); the
 * manager's GET and POST /api/v1/check-in/residents and DELETE
 * /api/v1/check-in/residents/{id} (checkin_on_residents). */
void checkin_on_bulletin(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m);
void checkin_on_view(void *ctx, struct lws *wsi, struct http_exchange *ex,
		     const struct route_match *m);
void checkin_on_links(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m);
void checkin_on_calls(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m);
void checkin_on_residents(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m);

#endif
