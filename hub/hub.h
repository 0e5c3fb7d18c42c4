/* hub.h: alliance-hub's one internal header.
 *
 * Sections: configuration; the community registry and its sessions; the
 * daemon; store; TLS; sessions and the frames they handle; HTTP (operator
 * API on the alliance port, public port); metrics. Everything here runs on
 * the lws service thread. */
#ifndef ALLIANCE_HUB_H
#define ALLIANCE_HUB_H

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "catalog.h"
#include "config.h"
#include "http.h"
#include "trust.h"
#include "webfiles.h"
#include "ident.h"
#include "alliance_limits.h"
#include "link.h"
#include "quota.h"
#include "route.h"
#include "wire.h"

/* ==== configuration ===================================================== */

struct hub_config {
	char *alliance_address;     /* listen address of the mutual-TLS port */
	int alliance_port;
	char *alliance_cert;        /* the hub's certificate and key */
	char *alliance_key;
	char *alliance_ca;          /* the alliance CA(s): a bundle */
	char *alliance_crl;         /* their CRLs, one per CA (CONFIG_PATHS) */
	char *public_address;
	int public_port;
	char *public_cert;          /* HTTPS on the public port when set */
	char *public_key;
	char *public_url;           /* [public] url: the public port's
				     * absolute base (default: main.c) */
	unsigned search_threads;    /* searcher threads (public.c) */
	char *store_path;
	char *store_postgresql;     /* [store] postgresql: the shared log's
				       conninfo (pglog.h); NULL: sqlite alone */
	char *web_root;             /* static pages; NULL: none served */
	int log_level;
	unsigned max_frame;         /* bytes; 1009 beyond */
	unsigned sessions_per_minute; /* per certificate, then 4429 */
	unsigned ping_s;            /* ping a silent node after this */
	unsigned drop_s;            /* and drop it after this */
	char *bulletin_keys;        /* [bulletins] keys: pinned public keys */
	char *bulletin_sender;      /* [bulletins] sender: the CAP sender id
				     * (default: public_url's host) */
	unsigned tombstone_retention; /* seconds deletions are remembered */
	unsigned purge_interval;    /* seconds between purges */
	char *synonyms;             /* [search] synonyms: the district's file */
	unsigned requests_per_destination_per_hour; /* [quota]: new requests
				       one community may have relayed to any one
				       other within an hour (relay.c) */
	unsigned quota_records;     /* [quota] records: live records a
				       community may publish */
	unsigned quota_bytes;       /* [quota] bytes: their body bytes */
	unsigned quota_per_hour;    /* [quota] changes_per_hour */
};

/* hub_config_table: the hub's keys and rules (config.c), for config_load,
 * config_free and config_print_help. */
extern const struct config_table hub_config_table;

/* ==== registry and sessions ============================================== */

struct session;

/* Why the hub refused a relayed request or status (relay.c), counted per
 * community for /metrics. */
enum relay_refusal {
	RELAY_OK,
	RELAY_REFUSE_NO_COMMUNITY,  /* the owner is not in the registry */
	RELAY_REFUSE_FOREIGN_ID,    /* id not in the origin's namespace */
	RELAY_REFUSE_INVALID,       /* fields a resident's node would refuse */
	RELAY_REFUSE_NO_SERVICE,    /* no such service taking requests */
	RELAY_REFUSE_QUOTA,         /* over [quota] requests_per_destination_
				       per_hour */
	RELAY_REFUSE_CHANGED,       /* a newer version with another owner or
				       service */
	RELAY_REFUSE_NOT_SENT,      /* a status for a request not sent to it */
	RELAY_REFUSE_COUNT
};

/* A registered community, kept in memory and in the store. */
struct community {
	char id[LIMIT_COMMUNITY_ID + 1];
	char name[LIMIT_NAME + 1];
	int64_t enrolled;           /* unix seconds */
	int64_t last_seen;          /* last frame from its node; 0: never */
	uint64_t up_cursor;         /* last node-stream seq the hub committed */
	uint64_t down_cursor;       /* last hub-stream seq the node acked */
	uint64_t up_head;           /* the node's log head, as it last said */
	char epoch[40];             /* the node store's epoch, from Hello */
	int64_t clock_skew_ms;      /* its node's clock minus ours, at its
				       last Hello (valid if skew_known) */
	int skew_known;             /* its last Hello carried node_time_ms */
	struct session *session;    /* the live session, or NULL */
	time_t flood_start;         /* window of new-session counting */
	unsigned flood_count;       /* sessions opened in that window */
	int flood_exempt;           /* the next session is an honest
				       reconnect (session.c): not counted */
	uint64_t relay_refused[RELAY_REFUSE_COUNT]; /* its relayed records
				       the hub refused, by reason */
	/* quotas (quota.c); announced, grace and grace_seq are stored */
	struct quota announced;     /* what its last Welcome said; 0: never */
	struct quota grace;         /* the most its node may have believed
				       when it logged entries up to grace_seq */
	uint64_t grace_seq;         /* 0: no grace; QUOTA_GRACE_OPEN: up to
				       the head of its next batch */
	struct quota_usage usage;   /* its live records and bytes here */
	int usage_known;            /* usage was read from the store */
	struct quota_bucket bucket; /* its creations and updates */
	uint64_t closed_quota;      /* sessions closed over quota (4413) */
	uint64_t closed_batch;      /* ... over the batch limits (4414) */
	int64_t past_head_snapshot; /* when a Hello past the head last got a
				       snapshot (LIMIT_PAST_HEAD_SNAPSHOT_S) */
	uint64_t store_restores;    /* Hellos from its store gone back in
				       time (hello.c), since the hub started */
	int64_t store_restored_at;  /* the last one; 0: none */
	/* how its last session ended (session.c), since the hub started */
	int64_t last_close_at;      /* unix seconds; 0: none */
	int last_close_code;        /* the close frame's code; 0: none (the
				       connection dropped) */
	int last_close_by_node;     /* 1: the node closed it; 0: the hub */
	char last_close_reason[124]; /* the close frame's reason */
	int64_t cert_not_after;     /* its node's certificate chain's expiry,
				       at its last Hello; 0: none since the
				       hub started */
	int64_t undelivered_ms;     /* when the hub received the oldest
				       bulletin not yet delivered to it (as
				       of hub_bulletin_undelivered); 0: none */
	struct community *next;     /* hash chain */
};

/* grace_seq of a community whose quota was lowered: the boundary is the
 * head of the node's first batch after the Welcome that said so. */
#define QUOTA_GRACE_OPEN UINT64_MAX

#define HUB_COMMUNITY_BUCKETS 1024

enum session_state {
	SESSION_AWAIT_HELLO,        /* upgraded, no Hello yet */
	SESSION_ACTIVE,             /* Welcome sent */
	SESSION_CLOSING,            /* a close is pending */
};

/* Per-session data of the alliance.v1 protocol (lws allocates and frees). */
struct session {
	struct lws *wsi;
	struct hub *hub;
	struct ident peer;          /* from the certificate, never a message */
	struct community *community;/* NULL until registered-check passed */
	enum session_state state;
	lws_sorted_usec_list_t hello_timer;
	struct link link;           /* the endpoint: receiving, send queue,
				       closing, keepalive (lib/link.h) */
	int welcomed;               /* counted in hub->n_sessions */
	struct link_stream down;    /* the hub's stream to the node: sent,
				       window, the bytes it takes (Hello:
				       hub_batch_down), snapshot, the batch
				       being built or ready (sync.c) */
	uint64_t serial;            /* this session among all the hub's, for
				       the streamer's jobs (never reused) */
	int send_own;               /* a fresh store: send its own records too */
	int directory;              /* the node stores the directory's kinds
				       (Hello.directory): send them */
	int count_bound;            /* an older node (no Hello.batch_bytes)
				       bounds its batches by count only */
	struct quota quota;         /* what its Welcome announced */
	int relay_inflight;         /* a Relay frame awaits its ack (relay.c) */
	int peer_close_code;        /* the code of the node's close frame */
	char peer_close_reason[124]; /* its reason, printable ASCII only */
	/* [store] postgresql: its batches handed to the shared log (sync.c) */
	uint64_t shared_pending;    /* the last seq of the latest one */
	uint64_t shared_acked;      /* acked, once the log brought it back */
	uint64_t claim_serial;      /* its claim (session.c); 0: none */
	uint64_t claim_seq;         /* the claim's place in the log; 0: not
				       committed yet */
	struct relay_pending *relay_pending; /* its Relay whose records the
				       shared log is to bring back before the
				       ack (relay.c); NULL: none */
	int relay_acking;           /* its RelayAck is in the shared log's
				       queue: the next Relay waits for it */
};

/* ==== metrics ============================================================ */

enum refusal {
	REFUSE_TLS,                 /* handshake failed: no/foreign/expired cert */
	REFUSE_ROLE,                /* certificate role not allowed there */
	REFUSE_NOT_REGISTERED,
	REFUSE_WRONG_COMMUNITY,
	REFUSE_HELLO_TIMEOUT,
	REFUSE_BAD_FRAME,
	REFUSE_TOO_LARGE,
	REFUSE_TEXT_FRAME,
	REFUSE_PROTOCOL,
	REFUSE_FLOOD,
	REFUSE_REVOKED,             /* certificate revoked since the handshake */
	REFUSE_EXPIRED,             /* certificate expired since the handshake */
	REFUSE_REPLACED,
	REFUSE_SLOW,
	REFUSE_WRONG_ORIGIN,
	REFUSE_QUOTA,               /* a change past its community's quota */
	REFUSE_BATCH,               /* a Changes frame over the batch limits */
	REFUSE_PAST_HEAD,           /* a Hello past the head: no snapshot */
	REFUSE_UNSENT,              /* a frame the hub could not encode or
				       queue: closed so the node reconnects */
	REFUSE_UNTRUSTED,           /* its CA left the trust file (SIGHUP) */
	REFUSE_VERSION,             /* a Hello of a protocol version not
				       spoken here (4426) */
	REFUSE_UNAVAILABLE,         /* the shared database could not take a
				       write (1013, [store] postgresql) */
	REFUSE_COUNT
};

/* The hub's own certificates whose expiry /metrics and the console show. */
enum hub_cert {
	HUB_CERT_ALLIANCE,          /* [alliance] cert, the alliance port's */
	HUB_CERT_PUBLIC,            /* [public] cert, when HTTPS */
	HUB_CERT_CA,                /* [alliance] ca: its earliest */
	HUB_CERT_COUNT
};

struct hub_metrics {
	struct link_counters traffic; /* frames and bytes in and out */
	uint64_t sessions_opened;
	uint64_t changes_applied;   /* records stored from nodes */
	uint64_t changes_stale;     /* not newer than the stored version */
	uint64_t store_restores;    /* node stores gone back in time (hello.c) */
	uint64_t frames_unsent;     /* frames not encoded or queued */
	uint64_t node_internal_closes; /* sessions a node closed with 1011:
				       it could not store or send */
	uint64_t refusals[REFUSE_COUNT];
	int64_t crl_next_update;    /* unix seconds; 0 when none */
	int64_t cert_expiry[HUB_CERT_COUNT]; /* the hub's own certificates'
				       notAfter (tls.c), unix seconds; 0:
				       none or unreadable */
};

/* ==== the daemon ========================================================= */

struct hub_poll_store;
struct evloop;

struct hub {
	struct hub_config cfg;
	const char *config_path;
	sqlite3 *db;
	struct catalog *cat;        /* records and the hub's stream on db */
	struct hub_poll_store *polls; /* polls and tallies (poll_store.h) */
	struct evloop *loop;        /* serves lws on epoll (owned) */
	struct lws_context *lws;    /* loop's */
	struct lws_vhost *alliance_vhost;
	struct lws_vhost *public_vhost;
	struct lws_http_mount public_mount; /* "/", to the callback */
	struct webfiles *public_files; /* [web] root on the public port */
	struct webfiles *console_files; /* the district console and what
				       its page loads, on the alliance port
				       (lib/webfiles.h; owned) */
	SSL_CTX *alliance_ssl;      /* saved when lws loads verify certs */
	SSL_CTX *public_ssl;        /* the public port's, when HTTPS */
	struct trust trust;         /* the CAs and CRLs in force (owned) */
	lws_sorted_usec_list_t crl_timer; /* re-checks the CRL's next update */
	lws_sorted_usec_list_t purge_timer; /* forgets old tombstones */
	uint64_t purged_seq;        /* tombstones up to here are forgotten */
	lws_retry_bo_t keepalive;   /* lws's validity checks: off (keepalive.c) */
	lws_sorted_usec_list_t keepalive_timer; /* walks sessions each second */
	struct community *communities[HUB_COMMUNITY_BUCKETS];
	unsigned n_communities;
	unsigned n_sessions;        /* active (Welcome sent) */
	struct hub_metrics metrics;
	int64_t started;
	struct hub_bulletins *bulletins; /* keys and relay state (bulletin.c) */
	struct indexer *indexer;    /* search index thread (lib/indexer.c) */
	struct catalog_http_searches *searches; /* public searches, their
					 * threads and answer cache (public.c) */
	struct streamer *streamer;  /* builds the down streams' batches
				       (sync.c, lib/streamer.h) */
	uint64_t session_serial;    /* the last session's serial */
	struct pages_cache *pages;  /* the pages rendered with the bulletins
				       (lib/pages.h; owned) */
	struct synonyms *synonyms;  /* of [search] synonyms, or NULL (owned) */
	struct pglog *pglog;        /* [store] postgresql's thread (pglog.h),
				       or NULL: sqlite alone */
	uint64_t shared_applied;    /* the shared log's last event applied to
				       the store (hub_meta shared_log_seq) */
	struct api_wait *api_waits; /* registry requests waiting for the
				       shared log (api.c) */
	int synonyms_due;           /* [store] postgresql: [search] synonyms
				       to share once the log is reached */
	uint64_t replica_id;        /* random, this run's: whose claims */
	uint64_t claims;            /* the serial of the last claim made */
	int64_t shared_now;         /* while a relayed record of the shared
				       log is applied: the time its replica
				       took it, which the relay's rules judge
				       by (hub_relay_now); else 0 */
	uint64_t shared_seq;        /* ... and its place in the log when it
				       holds personal data (a request's; 0:
				       none), for relay_log (relay.c) */
};

/* ==== store (store.c) ==================================================== */

/* hub_store_open: open and migrate cfg.store_path, check it (store_check,
 * quick) when the last run did not stop cleanly, mark it running, prepare
 * the catalog and measure the records. ERR_OK, or an err code with the
 * message in err: ERR_INVALID when the store is damaged. */
int hub_store_open(struct hub *hub, char *err, size_t errlen);
/* hub_store_mark_stop: record in hub_meta whether the hub is stopped
 * cleanly (1, at a clean exit) or running (0). ERR_OK or ERR_IO. */
int hub_store_mark_stop(struct hub *hub, int clean);
/* hub_store_connect: another connection to the store at path (opened and
 * migrated like the first), for the indexer thread. Returns ERR_OK with
 * *db set (close with store_close), or an err code with a message. */
int hub_store_connect(const char *path, sqlite3 **db, char *err,
		      size_t errlen);
/* hub_store_meta_get: hub_meta's value of key into *v. ERR_OK,
 * ERR_NOTFOUND (no row) or ERR_IO. */
int hub_store_meta_get(struct hub *hub, const char *key, int64_t *v);
/* hub_store_meta_set: set hub_meta's key to v. ERR_OK or ERR_IO. */
int hub_store_meta_set(struct hub *hub, const char *key, int64_t v);
/* hub_store_load_registry: fill hub->communities from the store. */
int hub_store_load_registry(struct hub *hub);
int hub_store_add_community(struct hub *hub, const struct community *c);
int hub_store_remove_community(struct hub *hub, const char *id);
/* hub_store_save_link: persist a community's cursors, epoch, last_seen
 * and quota state (announced, grace, grace_seq). */
int hub_store_save_link(struct hub *hub, const struct community *c);

/* ==== registry (registry.c) =============================================== */

struct community *registry_find(struct hub *hub, const char *id);
/* registry_insert: put a copy of c into memory only (loading the store). */
int registry_insert(struct hub *hub, const struct community *c);
/* registry_add: add a new community (store and memory). ERR_INVALID when
 * it exists already. */
int registry_add(struct hub *hub, const char *id, const char *name);
/* registry_remove: remove it, closing its session. ERR_NOTFOUND if none. */
int registry_remove(struct hub *hub, const char *id);
/* registry_enter, registry_drop: registry_add and registry_remove without
 * the directory record: the shared log's directory event brought it
 * (directory.c, [store] postgresql). enrolled: a time in seconds. */
int registry_enter(struct hub *hub, const char *id, const char *name,
		   int64_t enrolled);
int registry_drop(struct hub *hub, const char *id);
/* registry_each: call fn for every community in id order. */
void registry_each(struct hub *hub,
		   void (*fn)(struct community *c, void *arg), void *arg);
/* registry_each_session: call fn for every live session, in no order (the
 * hot path: no allocation, no sorting). */
void registry_each_session(struct hub *hub,
			   void (*fn)(struct session *s, void *arg), void *arg);
void registry_free(struct hub *hub);

/* ==== the directory (directory.c) ======================================== */

/* hub_directory_sync: bring the district's records in the hub's stream
 * in line with the registry (a live KIND_COMMUNITY record per community,
 * a tombstone for each removed one) and with hub->synonyms (one
 * KIND_SEARCH_WORDS record), writing only what differs, in one
 * transaction; then wake the sessions. Returns ERR_OK or ERR_IO/NOMEM
 * (logged). */
int hub_directory_sync(struct hub *hub);
/* With [store] postgresql, hub_directory_sync only appends the synonyms
 * record to the shared log once it is reached (synonyms_due until then);
 * the registry's records are events of the log:
 * hub_directory_share_community: append the record of community id
 * (name NULL: its tombstone) at the next version (*version), to be
 * registered (removed) at every replica when the log brings it back.
 * ERR_OK, or pglog_append's error with the cause in why.
 * hub_directory_apply: a directory event's packed Change (body, len) to
 * the store under the version rule, in the open transaction, and a
 * community record's to the registry; *applied: whether it was newer.
 * ERR_OK (a malformed event is logged and passed over) or ERR_IO. */
int hub_directory_share_community(struct hub *hub, const char *id,
				  const char *name, uint64_t *version,
				  char *why, size_t whylen);
int hub_directory_apply(struct hub *hub, const void *body, size_t len,
			int *applied);

/* hub_synonyms_load: read [search] synonyms (NULL path: none) into *out.
 * Returns ERR_OK, or an error with "file:line: reason" in err. */
int hub_synonyms_load(const char *path, struct synonyms **out, char *err,
		      size_t errlen);

/* ==== TLS (tls.c) ======================================================== */

/* The callback reason tls_reload sends the alliance port's HTTP
 * connections (lws_callback_all_protocol_vhost_args). */
#define HUB_CALLBACK_RECHECK LWS_CALLBACK_USER

/* tls_trust_load: the CA bundle and CRL list of cfg, checked (trust.h),
 * into t. ERR_OK, or an error with "[alliance] key: reason" in err (t
 * freed). main() refuses to start on an error; tls_reload keeps the
 * trust in force. */
int tls_trust_load(const struct hub_config *cfg, struct trust *t, char *err,
		   size_t errlen);
/* tls_load_verify: called at LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_
 * CERTS with the alliance port's SSL_CTX: puts hub->trust's CAs and CRLs
 * in its store with CRL checking on, and reads the expiry of the hub's
 * certificates (metrics.cert_expiry; tls_reload re-reads the alliance
 * port's, the public port's and the CAs'). Returns 0, or 1 to make lws
 * fail. */
int tls_load_verify(struct hub *hub, SSL_CTX *ctx);
/* tls_verify_client: the verify decision for one certificate of the chain;
 * logs why one is refused. Returns what lws wants: 0 accept, 1 refuse. */
int tls_verify_client(struct hub *hub, X509_STORE_CTX *store, int preverify);
/* tls_info: log a TLS alert sent to a client (why its handshake failed). */
void tls_info(struct hub *hub, struct lws *wsi, const struct lws_ssl_info *si);
/* tls_check: the identity of wsi's client certificate, verified now: the
 * chain, the CRL and the validity dates against the CA and CRL in force
 * (SSL_get_verify_result is the handshake's, and a resumed session would
 * carry it over). id->not_after is the earliest expiry of the verified
 * chain. Returns ERR_OK, or ERR_DENIED with a reason in why and the kind
 * of refusal in *r (REFUSE_REVOKED, REFUSE_EXPIRED, else REFUSE_TLS). */
int tls_check(struct lws *wsi, struct ident *id, enum refusal *r, char *why,
	      size_t whylen);
/* tls_admit: the rule of the alliance port for one request or upgrade
 * (where names it in the log): tls_check, then the role. Counts and logs
 * a refusal. Returns ERR_OK with *id filled, or ERR_DENIED with a reason
 * for the client in why. */
int tls_admit(struct hub *hub, struct lws *wsi, enum ident_role role,
	      const char *where, struct ident *id, char *why, size_t whylen);
/* tls_recheck_http: at HUB_CALLBACK_RECHECK (sent by tls_reload to every
 * HTTP connection of the alliance port): close wsi when its certificate
 * no longer verifies. */
void tls_recheck_http(struct hub *hub, struct lws *wsi);
/* tls_close_expired: close s (4410) when now (unix seconds) is past its
 * certificate chain's expiry; the keepalive tick calls it. 1 if closed. */
int tls_close_expired(struct session *s, int64_t now);
/* tls_reload: re-read the hub's certificates (alliance and public port)
 * and the CA bundle and CRLs into the running SSL_CTXs; a file that
 * cannot serve is logged and the one in force stays. Connections made
 * from then on get the new certificate; none already up is dropped for
 * it. Closes the sessions and HTTP connections whose certificate is now
 * revoked or expired (4410) or whose CA is no longer trusted (4412).
 * ERR_OK, or an error when something was refused. */
int tls_reload(struct hub *hub);

/* ==== sessions (session.c, hello.c) ====================================== */

extern const struct lws_protocols hub_sync_protocol;

int callback_sync(struct lws *wsi, enum lws_callback_reasons reason,
		  void *user, void *in, size_t len);
/* session_send: link_send on the session's link: queue an encoded frame;
 * closes a slow consumer (4430), and with 1011 when a frame cannot be
 * encoded or queued (counted in alliance_frames_unsent_total).
 * Returns ERR_OK, ERR_AGAIN (closing or slow) or the encoder's error. */
int session_send(struct session *s, const Frame *frame);
/* session_close: send an Error first when err_code is set, then close with
 * code and reason (printf-style), counting the refusal. */
void session_close(struct session *s, enum refusal why, int code,
		   int err_code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* session_own_record: 1 when ch's origin is the session's community
 * (identity is the certificate's, never a record's); else closes s with
 * WRONG_ORIGIN, naming ch as what ("change", "relayed record"), and
 * returns 0. */
int session_own_record(struct session *s, const Change *ch,
		       const char *what);
/* session_going_away: close with 1001 at shutdown (no refusal). */
void session_going_away(struct session *s);
/* handle_hello: the handshake (hello.c). */
int handle_hello(struct session *s, const Alliance__V1__Hello *hello);

/* ==== keepalive (keepalive.c) ============================================= */

/* keepalive_start: ping silent sessions and drop dead ones
 * (link_keepalive), every link_keepalive_period_us. */
void keepalive_start(struct hub *hub);

/* ==== retention (retention.c) ============================================= */

/* retention_load: read how far tombstones were purged. */
int retention_load(struct hub *hub);
/* retention_purge_to: forget tombstones up to stream position cutoff,
 * in the open transaction (nothing when purged that far); *purged: how
 * many. ERR_OK or ERR_IO. retention_purged: after its commit. */
int retention_purge_to(struct hub *hub, uint64_t cutoff, uint64_t *purged);
void retention_purged(struct hub *hub, uint64_t cutoff, uint64_t purged);
/* retention_start: purge now and then on the service thread. */
void retention_start(struct hub *hub);

/* ==== quotas (quota.c) =================================================== */

/* hub_quota_config: the quota [quota] sets, into q. */
void hub_quota_config(const struct hub *hub, struct quota *q);
/* hub_quota_welcome: the quota to announce to s (its community's from
 * [quota]); when it is lower than the one announced before, the entries
 * its node logged under that one get a grace (quota.c). */
void hub_quota_welcome(struct session *s, struct quota *q);
/* hub_quota_usage: c's usage, read from the store the first time. */
const struct quota_usage *hub_quota_usage(struct hub *hub,
					  struct community *c);
/* hub_quota_batch: check a node's frame of len bytes against the batch
 * limits of its Welcome (an older node's, which knows only the count, by
 * [limits] max_frame for its bytes); closes the session (4414) and
 * returns ERR_TOOBIG when over, else ERR_OK. */
int hub_quota_batch(struct session *s, const Frame *f, size_t len);
/* A batch being applied under the quota: the usage and bucket it would
 * leave, kept apart until the batch commits. */
struct quota_batch {
	struct quota_usage usage;   /* the community's, with the batch so far */
	struct quota_bucket bucket; /* its bucket, the batch's changes taken */
};
/* hub_quota_begin: start judging a batch of c's up stream; the first
 * batch after a lowered quota fixes the grace's boundary at its head. */
void hub_quota_begin(struct session *s, const Alliance__V1__Changes *cs,
		     struct quota_batch *qb);
/* hub_quota_change: judge ch, just applied in the batch's transaction
 * over a record that was old_live with old_bytes: ERR_OK, or
 * ERR_TOOBIG/ERR_AGAIN with why naming the quota (roll the batch back).
 * An entry up to the grace's boundary is judged by the larger of the
 * grace and the session's quota. */
int hub_quota_change(struct session *s, struct quota_batch *qb,
		     const Change *ch, int old_live, uint64_t old_bytes,
		     char *why, size_t whylen);
/* hub_batch_bytes: the batch bytes the hub announces and holds nodes to:
 * LIMIT_BATCH_BYTES, or [limits] max_frame when that is smaller. */
size_t hub_batch_bytes(const struct hub *hub);
/* hub_batch_down: the bytes of the Changes and Relay frames the hub sends
 * a node whose Hello said batch_bytes (0: an older node): at most
 * LIMIT_BATCH_BYTES, and at most what the node takes. */
size_t hub_batch_down(uint32_t batch_bytes);
/* hub_quota_commit: the batch committed: keep its usage and bucket, and
 * retire the grace once the up cursor passed its boundary. */
void hub_quota_commit(struct session *s, const struct quota_batch *qb);
/* hub_quota_json: c's usage against its quota (new reference). */
json_t *hub_quota_json(struct hub *hub, struct community *c);
/* hub_quota_metrics: per-community usage, limits and closes as
 * Prometheus text. */
void hub_quota_metrics(struct hub *hub, FILE *f);

/* ==== sync (sync.c) ====================================================== */

/* handle_changes: apply a node's batch in one transaction, then ack; with
 * [store] postgresql, judge it against the store, hand it to the shared
 * log, and ack once the log brings it back (sync_shared_drain). */
int handle_changes(struct session *s, const Alliance__V1__Changes *changes);
/* sync_shared_open: with [store] postgresql, refuse a store that holds
 * records not from the shared log (before the hub writes its directory)
 * and read what the store applied of it. ERR_OK (also without
 * postgresql), or an err code with err. */
int sync_shared_open(struct hub *hub, char *err, size_t errlen);
/* sync_shared_start: with [store] postgresql, start the shared log's
 * thread reading after what the store applied, waking hub->lws. ERR_OK
 * (also without postgresql), or an err code with err. */
int sync_shared_start(struct hub *hub, char *err, size_t errlen);
/* session_claim_applied: a session claim of the shared log (seq, the
 * community, body "REPLICA SERIAL") came back: the session it names
 * learns its place, and this replica's session of that community whose
 * claim is older (committed before it) is replaced with 4409. */
void session_claim_applied(struct hub *hub, uint64_t seq,
			   const char *community, const char *body);
/* session_claim_failed: the database did not take the claim of
 * community's session: it is told to come back (1013). */
void session_claim_failed(struct hub *hub, const char *community,
			  const char *why);
/* sync_shared_drain: at LWS_CALLBACK_EVENT_WAIT_CANCELLED, apply what the
 * shared log brought, in its order, ack the sessions whose batches it
 * holds, close with 1013 those whose batch the database refused, and wake
 * the sessions. No-op without [store] postgresql. */
void sync_shared_drain(struct hub *hub);
/* handle_ack: the node persisted the hub's stream up to ack->seq. */
int handle_ack(struct session *s, const Alliance__V1__Ack *ack);
/* sync_start: hub->streamer, which builds the down streams' batches on a
 * thread with its own store connection, once hub->lws exists. ERR_OK or
 * an error with a message in err. */
int sync_start(struct hub *hub, char *err, size_t errlen);
/* sync_write_down: at WRITEABLE with the queue empty, write the down
 * stream's built batch, or hand its next one to the streamer (built here
 * when the streamer is full), if the window allows. Returns 1 when a
 * frame was written, 0 when nothing was, -1 when the write failed. */
int sync_write_down(struct session *s);
/* sync_down_kick: s's down stream may have a batch due (the head moved,
 * an ack freed the window, the queue emptied): start building it, or ask
 * WRITEABLE for what is ready. */
void sync_down_kick(struct session *s);
/* sync_built: take the streamer's built batches (at
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED) to the sessions they were built for;
 * those of sessions closed meanwhile are dropped. */
void sync_built(struct hub *hub);
/* sync_down_closed: s is closing for good: free its unwritten batch. */
void sync_down_closed(struct session *s);
/* sync_wake: kick every session's down stream (sync_down_kick): the
 * head moved. */
void sync_wake(struct hub *hub);

/* ==== HTTP (api.c, public.c, metrics.c) ================================== */

/* Per-session data of HTTP connections on both ports. */
struct hub_http {
	struct http_exchange ex;
	struct ident peer;          /* alliance port: the client certificate */
	uint64_t search_id;         /* public port: the search it waits for */
	int waiting;                /* alliance port: a registry request
				       or a bulletin's POST waits for the
				       shared log (api.c) */
};

/* api_registry_done: the directory event of community id at version came
 * back from the shared log (applied: it was newer than what the store
 * held) or was refused by the database (why): answer the operator's
 * request that appended it, if it waits at this replica. */
void api_registry_done(struct hub *hub, const char *id, uint64_t version,
		       int applied, const char *why);
/* api_wait_park: park h's bulletin (or district poll) POST until the
 * shared log brings back its event (bulletin id, token; a poll's:
 * "district", its version): api_wait_take then gives it to be answered.
 * ERR_OK or ERR_NOMEM. */
int api_wait_park(struct hub *hub, struct lws *wsi, struct hub_http *h,
		  const char *id, uint64_t token);
/* api_wait_take: 1 with the request parked for (id, token) in *wsi, *h,
 * taken off the list, or 0 when none waits here (posted at another
 * replica, or its connection closed). id NULL: by the token alone (this
 * replica's own, unique to it). */
int api_wait_take(struct hub *hub, const char *id, uint64_t token,
		  struct lws **wsi, struct hub_http **h);
/* api_waits_free: drop the requests still waiting (at exit). */
void api_waits_free(struct hub *hub);

int callback_alliance_http(struct lws *wsi, enum lws_callback_reasons reason,
			   void *user, void *in, size_t len);
int callback_public_http(struct lws *wsi, enum lws_callback_reasons reason,
			 void *user, void *in, size_t len);
/* hub_search_start: hub->searches, the public searches' threads ([public]
 * search_threads, each with its own store connection), once hub->lws
 * exists. */
int hub_search_start(struct hub *hub, char *err, size_t errlen);
/* metrics_render: Prometheus text into a new string (caller frees). */
char *metrics_render(struct hub *hub, size_t *len);
/* hub_alert_metrics: the families deploy/prometheus/alliance-rules.yml
 * alerts on that metrics.c does not write (alerts.c): certificate
 * expiries, and per community its session, last seen, lags and oldest
 * undelivered bulletin. */
void hub_alert_metrics(struct hub *hub, FILE *f);
/* hub_alerts_json: the district console's warnings, by the thresholds of
 * those rules (lib/alliance_limits.h), as a new JSON array (alerts.c). */
json_t *hub_alerts_json(struct hub *hub);
/* hub_community_alert_json: add cert_expires and bulletin_undelivered_since
 * of c to obj (the API's community), as of the last
 * hub_bulletin_undelivered (hub_alerts_json runs it). */
void hub_community_alert_json(const struct community *c, json_t *obj);
/* hub_community_lag: how far c's streams are behind: *up, the node's
 * changes the hub has not committed, as of the node's last batch; *down,
 * hub-stream entries the node has not acked, its own included. */
void hub_community_lag(struct hub *hub, const struct community *c,
		       uint64_t *up, uint64_t *down);
const char *refusal_name(enum refusal r);
/* refuse: count a refusal and log it naming the peer. */
void refuse(struct hub *hub, enum refusal r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* hub_from_wsi: the daemon state behind any wsi. */
struct hub *hub_from_wsi(struct lws *wsi);
int64_t hub_now(void);

/* ==== bulletins (bulletin.c) ============================================= */

struct hub_bulletins;

/* Migration SQL of the per-community delivery table (store.c lists it). */
extern const char hub_delivery_schema_v1[];

/* hub_bulletin_open: the pinned keys and relay state, after the store is
 * open. ERR_OK or an error with a message in err. */
int hub_bulletin_open(struct hub *hub, char *err, size_t errlen);
/* hub_bulletin_reload: re-read the pinned keys after SIGHUP (a bad set is
 * logged and the one in force stays). */
void hub_bulletin_reload(struct hub *hub);
void hub_bulletin_close(struct hub *hub);
/* hub_bulletin_welcome: after Welcome, send the session its pending
 * bulletins (ahead of the down stream). */
void hub_bulletin_welcome(struct session *s);
/* [store] postgresql: bulletins and deliveries are events of the shared
 * log. hub_bulletin_apply applies event ev (PGLOG_BULLETIN,
 * PGLOG_DELIVERY or PGLOG_DELIVERIES) to the store inside the caller's
 * transaction, keeping in *out (NULL when none) what is to be done once
 * it committed:
 * hub_bulletin_applied then (committed 1: send the new bulletin to the
 * live targeted sessions and write its delivery rows, answer the POST
 * that waits here; 0: only free it). ERR_OK, or ERR_IO (roll back).
 * hub_bulletin_failed: the database did not take ev: the POST that waits
 * is answered 503, the sessions whose acks it held are told to come back
 * (1013). */
struct hub_bulletin_event;
struct pglog_event;
int hub_bulletin_apply(struct hub *hub, const struct pglog_event *ev,
		       struct hub_bulletin_event **out);
void hub_bulletin_applied(struct hub *hub, struct hub_bulletin_event **be,
			  int committed);
/* hub_bulletin_apply_deliveries: consecutive PGLOG_DELIVERY(IES) events
 * evs[0..n) of the log, in order, inside the caller's transaction (the
 * acks among them in one statement). ERR_OK, or ERR_IO (roll back). */
int hub_bulletin_apply_deliveries(struct hub *hub,
				  const struct pglog_event *const *evs,
				  size_t n);
void hub_bulletin_failed(struct hub *hub, const struct pglog_event *ev);
/* hub_bulletin_ack: a node persisted (or refused) a bulletin; one ack a
 * bulletin sent and not yet acked is taken, any more passed over. */
int hub_bulletin_ack(struct session *s, const Alliance__V1__BulletinAck *ack);
/* hub_bulletin_undelivered: set every community's undelivered_ms (the
 * oldest bulletin it has neither acked nor refused, unexpired; 0: none)
 * from the store, acks received so far included. ERR_OK or ERR_IO. */
int hub_bulletin_undelivered(struct hub *hub);
/* Rows of the route tables (api.c, public.c), ctx the struct hub_http:
 * hub_bulletin_sender GET /api/v1/bulletin-sender (the CAP sender
 * alliancectl signs with); hub_bulletin_list and hub_bulletin_post the
 * operator's GET and POST /api/v1/bulletins; hub_bulletin_detail the
 * operator's GET /api/v1/bulletins/{id} (with its delivery);
 * hub_bulletin_public the public GET /api/v1/bulletins and
 * /api/v1/bulletins/{id}; hub_bulletin_cap GET /api/v1/bulletins/{id}.cap;
 * hub_bulletin_atom GET /api/v1/bulletins.atom. */
void hub_bulletin_sender(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m);
void hub_bulletin_list(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m);
void hub_bulletin_post(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m);
void hub_bulletin_detail(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m);
void hub_bulletin_public(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m);
void hub_bulletin_cap(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m);
void hub_bulletin_atom(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m);

/* ==== relay and polls (relay.c, polls.c) ================================= */

/* Migration SQL of the relay, request figures, poll and tally tables. */
extern const char hub_relay_schema_v1[];
/* hub_polls_schema_v2 is poll_store.h's. */
/* v2: request_stat indexed for the per-destination quota. */
extern const char hub_relay_schema_v2[];
/* v3: where the shared log holds a relayed request's personal data. */
extern const char hub_relay_schema_v3[];
/* hub_relay_refusal_name: the metrics label of a relay refusal. */
const char *hub_relay_refusal_name(enum relay_refusal r);

/* hub_relay_handle: a node's Relay: check (origin, rules), store in one
 * transaction, ack every record, forward what goes on. */
int hub_relay_handle(struct session *s, const Alliance__V1__Relay *r);
/* hub_relay_ack: the node persisted relayed records: forget their bodies
 * (personal data) and send the next batch. With [store] postgresql the
 * ack is an event of the shared log, which also cuts the personal data
 * off the requests' events; the next batch goes once it came back. */
int hub_relay_ack(struct session *s, const Alliance__V1__RelayAck *ack);
/* hub_relay_now: the time the relay's rules judge by: hub->shared_now
 * while a relayed record of the shared log is applied, else hub_now(). */
int64_t hub_relay_now(struct hub *hub);
/* [store] postgresql: a node's relayed records (PGLOG_RELAY), their
 * delivery (PGLOG_RELAYED) and district polls (PGLOG_POLL) are events
 * of the shared log. hub_relay_apply applies ev to the store inside the
 * caller's transaction, by the rules of a local write, keeping in *out
 * (NULL when none) what is to be done once it committed:
 * hub_relay_applied then (committed 1: send what goes on from this
 * replica, ack the session whose records they were, answer the poll's
 * POST; 0: only free it). ERR_OK, or ERR_IO (roll back).
 * hub_relay_failed: the database did not take ev: its session is told to
 * come back (1013), its POST answered 503. */
struct hub_relay_event;
int hub_relay_apply(struct hub *hub, const struct pglog_event *ev,
		    struct hub_relay_event **out);
void hub_relay_applied(struct hub *hub, struct hub_relay_event **re,
		       int committed);
void hub_relay_failed(struct hub *hub, const struct pglog_event *ev);
/* hub_relay_closed: s closes: forget its records awaiting the log. */
void hub_relay_closed(struct session *s);
/* hub_relay_welcome: after Welcome: queue district polls it lacks, send
 * what waits for it. */
void hub_relay_welcome(struct session *s);
/* hub_relay_flush: send s its next pending batch if none is unacked. */
void hub_relay_flush(struct session *s);
/* hub_relay_put: a relay row of ch for destination under the version rule,
 * in the caller's transaction; *stored when it is new. */
int hub_relay_put(struct hub *hub, const Change *ch, const char *destination,
		  int *stored);
/* hub_relay_request_stats: {"items":[per community: requests, open, done,
 * avg_response_s, avg_close_s]}, new reference, NULL on error. */
json_t *hub_relay_request_stats(struct hub *hub);
/* hub_polls_apply: a KIND_POLL or KIND_TALLY from the session of
 * community (its certificate's), in the caller's transaction; *refused
 * with reason when it is not acceptable (polls.c: which tallies are). */
int hub_polls_apply(struct hub *hub, const char *community, const Change *ch,
		    char *reason, size_t rlen, int *refused);
/* hub_polls_store_district: district poll ch (checked), packed as
 * body[0..len), stored with its options and area, in the caller's
 * transaction: a poll of that id stored already changes nothing (*stored
 * 0). ERR_OK or ERR_IO. hub_polls_created: once committed, the district
 * polls go to the live sessions; the operator's POST of poll key (token:
 * its version) that waits here is answered (why: 503, the database did
 * not take it). */
int hub_polls_store_district(struct hub *hub, const Change *ch,
			     const uint8_t *body, size_t len, int *stored);
void hub_polls_created(struct hub *hub, const char *key, uint64_t token,
		       int stored, const char *why);
/* hub_polls_welcome: relay rows for the district polls s has not had and
 * for the other communities' tallies of them (polls closed less than 30
 * days ago; rows it has had at that version change nothing). */
void hub_polls_welcome(struct session *s);
/* Rows of the route tables (api.c, public.c), ctx the struct hub_http:
 * hub_polls_list GET /api/v1/polls; hub_polls_create the operator's POST
 * /api/v1/polls; hub_polls_one GET /api/v1/polls/{key}; hub_requests_stats
 * GET /api/v1/requests/stats. */
void hub_polls_list(void *ctx, struct lws *wsi, struct http_exchange *ex,
		    const struct route_match *m);
void hub_polls_create(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m);
void hub_polls_one(void *ctx, struct lws *wsi, struct http_exchange *ex,
		   const struct route_match *m);
void hub_requests_stats(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m);

/* ==== check-ins (checkin.c) ============================================== */

/* Migration SQL of the check-in counts table (store.c lists it). */
extern const char hub_checkin_schema_v1[];
/* hub_checkin_apply: a KIND_CHECKIN (counts of one check-in bulletin)
 * from the session of community, in the caller's transaction, under the
 * version rule; *refused with reason when the bulletin is not held here,
 * asks no check-in or was not sent to community. ERR_OK or ERR_IO. */
int hub_checkin_apply(struct hub *hub, const char *community,
		      const Change *ch, char *reason, size_t rlen,
		      int *refused);
/* hub_checkin_json: the check-in progress of bulletin id: {"confirmed",
 * "not_yet", "needs_help", "anonymous_safe", "anonymous_help" (the sums
 * over the communities that reported), "communities": [{"community",
 * those five, "updated"}]}; a new reference, NULL on a store error. */
json_t *hub_checkin_json(struct hub *hub, const char *id);

#endif
