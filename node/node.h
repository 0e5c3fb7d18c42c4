/* node.h: alliance-node's one internal header.
 *
 * Sections: configuration (config.c); the daemon state; store (store.c);
 * the session to the hub (hub_link.c); the public port (public.c).
 * Everything here runs on the lws service thread. */
#ifndef ALLIANCE_NODE_H
#define ALLIANCE_NODE_H

#include <libwebsockets.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "catalog.h"
#include "config.h"
#include "http.h"
#include "hub_url.h"
#include "webfiles.h"
#include "alliance_limits.h"
#include "link.h"
#include "peer.h"
#include "prom.h"
#include "quota.h"
#include "route.h"
#include "wire.h"

/* ==== configuration (config.c) ========================================== */

struct node_config {
	char *community;            /* [node] community: our certificate's CN */
	char *name;                 /* [node] name: display name, may be NULL */
	char *hub_host;             /* [hub] host: SNI and certificate name */
	char *hub_address;          /* [hub] address: IP to dial; NULL: resolve */
	int hub_port;               /* [hub] port */
	char *hub_urls;             /* [hub] urls: the hubs' URLs, as text;
				       NULL: the one-hub form above */
	struct hub_url hubs[LIMIT_HUB_URLS]; /* the hubs to dial, in order:
				       [hub] urls, or host/address/port as
				       one (node_config_load) */
	size_t n_hubs;              /* how many: 1 to LIMIT_HUB_URLS */
	char *hub_cert;             /* [hub] cert: this community's certificate */
	char *hub_key;              /* [hub] key: its private key */
	char *hub_ca;               /* [hub] ca: the alliance CA */
	char *public_address;       /* [public] address: listen IP */
	int public_port;            /* [public] port */
	char *public_cert;          /* [public] cert: HTTPS when cert and key set */
	char *public_key;           /* [public] key */
	char *public_url;           /* [public] url: the public port's
				     * absolute base (config_public_url) */
	unsigned search_threads;    /* [public] search_threads (public.c) */
	char *trusted_proxies;      /* [public] trusted_proxies: as text */
	struct peer_proxies proxies;/* ... parsed (lib/peer.h) */
	char *store_path;           /* [store] path: the sqlite store */
	char *web_root;             /* [web] root: static pages; NULL: none */
	char *manager_password_hash; /* [manager] password_hash: scrypt line
				       (lib/password.h); NULL: no manager */
	int log_level;              /* [log] level */
	unsigned max_frame;         /* [limits] max_frame: bytes; 1009 beyond */
	unsigned ping_s;            /* [limits] ping_s: ping a silent hub */
	unsigned drop_s;            /* [limits] drop_s: and drop it after this */
	unsigned backoff_max_s;     /* [hub] backoff_max_s: longest wait
				       between attempts to reach the hub */
	unsigned resident_actions;  /* [limits] resident_actions: requests,
				       votes, registrations per window, per
				       address and per credential */
	unsigned resident_window_s; /* [limits] resident_window_s */
	unsigned session_idle_s;    /* [limits] session_idle_s: console
				       sessions end after this idle time */
	unsigned resident_token_idle_s; /* [limits] resident_token_idle_s:
				       a resident's token expires this long
				       after its last use */
	char *sms_url;              /* [sms] url: the SMS gateway's webhook;
				       NULL: phones are confirmed by the
				       manager (phone_verify.c) */
	char *sms_secret;           /* [sms] secret: signs what is posted */
	char *outbox_ca;            /* [outbox] ca: CA file endpoints'
				       certificates are checked with; NULL:
				       the system's */
	unsigned outbox_in_flight;  /* [outbox] in_flight: per endpoint */
	unsigned outbox_timeout_s;  /* [outbox] timeout_s: one try */
	unsigned outbox_retry_min_s; /* [outbox] retry_min_s: first pause */
	unsigned outbox_retry_max_s; /* [outbox] retry_max_s: longest */
	char *push_key;             /* [push] key: the VAPID key file (PEM,
				       made 0600 at the first start); NULL:
				       no Web Push */
	char *push_subject;         /* [push] subject: VAPID's contact */
	char *bulletin_keys;        /* [bulletins] keys: pinned public keys */
	char *open311_api_keys;     /* [open311] api_keys: comma-separated;
				       NULL: a POST needs none (open311.c) */
	char *metrics_address;      /* [metrics] address: a loopback IP */
	unsigned metrics_port;      /* [metrics] port: GET /metrics; 0 off */
};

/* node_config_table: the node's keys and rules (config.c). */
extern const struct config_table node_config_table;

/* node_config_load: load path into cfg (zeroed by the caller) against
 * node_config_table (its rules too) and parse [public] trusted_proxies.
 * Returns ERR_OK, or an err code with "path:line: [section] key: reason" in
 * err. Free cfg with node_config_free either way. */
int node_config_load(const char *path, struct node_config *cfg, char *err,
		     size_t errlen);
void node_config_free(struct node_config *cfg);
/* node_config_help: the key table as --help text. */
void node_config_help(FILE *f);

/* ==== the daemon ========================================================== */

/* Where the session to the hub is. */
enum hub_state {
	HUB_IDLE,                   /* no connection; a retry may be scheduled */
	HUB_CONNECTING,             /* TCP/TLS/websocket handshake under way */
	HUB_OPEN,                   /* websocket open, Hello sent, no Welcome */
	HUB_CONNECTED,              /* Welcome received: syncing */
};

/* The up stream's marks, kept in meta before the hub can hold what they
 * cover, so that a store restored from an older backup carries the marks
 * of when the backup was made (sync.c). */
struct up_marks {
	uint64_t sent;              /* highest seq of our log ever sent
				       (StoreMarks.up_sent) */
	uint64_t held;              /* the hub held our log up to here, at
				       least as new, when we last sent */
	uint64_t version;           /* our highest version when we last
				       sent: a version above it at a restore
				       is an edit the hub cannot hold */
};

/* Most entries of the backoff table: 1 s doubling to the 60 s cap. */
#define NODE_BACKOFF_STEPS 16

struct node {
	const char *config_path;    /* -c FILE, as given */
	struct node_config cfg;     /* the configuration in force (owned) */
	struct lws_context *lws;
	int stopping;               /* shutting down: schedule nothing */

	/* the public port (public.c); lws keeps pointers to these strings */
	struct lws_vhost *public_vhost;
	char *public_iface;         /* copy of [public] address (owned) */
	char *public_cert;          /* copies of [public] cert and key (owned) */
	char *public_key;
	SSL_CTX *public_ssl;        /* the public port's, when HTTPS */
	char *web_root;             /* copy of [web] root (owned) */
	struct pages_cache *pages;  /* the pages rendered with the bulletins
				       (lib/pages.h; owned) */
	struct webfiles *files;     /* [web] root's files (lib/webfiles.h;
				       owned) */
	struct lws_http_mount public_mount; /* "/", to the callback */
	struct http_budget anon_bodies; /* bodies read from anyone but the
					   manager (public.c) */
	struct node_bulletins *bulletins; /* keys, live feeds (bulletin.c) */
	struct indexer *indexer;    /* search index thread (lib/indexer.c) */
	struct catalog_http_searches *searches; /* catalog searches on their
				       own threads (public.c) */
	struct manager *mgr;        /* manager endpoints and their workers
				       (manager.c); NULL until started */
	struct civic *civic;        /* requests, residents, polls (civic.h) */
	struct outbox *outbox;      /* messages to endpoints and phones
				       (outbox.h); NULL until started */
	struct lws_vhost *metrics_vhost; /* the loopback listener of GET
				       /metrics (metrics.c); NULL when off */
	char *metrics_iface;        /* copy of [metrics] address (owned) */
	int64_t started;            /* when the node started (unix s) */

	/* store */
	sqlite3 *db;
	sqlite3_stmt *st_meta_get;  /* SELECT value FROM meta WHERE key = ? */
	sqlite3_stmt *st_meta_put;  /* INSERT OR REPLACE INTO meta ... */
	struct catalog *cat;        /* records and our own log on db */
	char store_epoch[17];       /* 16 hex chars, made on first open */
	uint64_t down_cursor;       /* last hub-stream seq persisted */
	int snapshot_pending;       /* a snapshot began and did not finish:
				       ask for it again (Hello cursor 0) */
	int snapshot_tracking;      /* note what the snapshot brings, to drop
				       replicas it no longer holds */
	struct up_marks up_marks;   /* how far the hub may hold our stream
				       (kept in meta; sync.c) */

	/* the session to the hub (hub_link.c) */
	struct lws_vhost *hub_vhost;/* client vhost holding our certificate */
	unsigned char hub_tls_digest[32]; /* SHA-256 of cert, key and CA files */
	int hub_rebuild;            /* close the session, remake the vhost */
	int hub_vhost_dying;        /* old vhost destroyed, new one not made */
	int hub_local_close;        /* we are closing the session (the code
				       and reason are in its link) */
	struct lws *hub_wsi;        /* the connection, or NULL */
	enum hub_state hub_state;
	char hub_ips[LIMIT_HUB_URLS][INET6_ADDRSTRLEN]; /* the address of
				       each of cfg.hubs; "" when unresolved */
	size_t hub_at;              /* the one of cfg.hubs dialled or in use */
	unsigned hub_round_failed;  /* URLs failed since a round over them
				       began: backoff when all have */
	uint64_t hub_failovers;     /* moves to the next URL at once */
	uint64_t hub_backoff_waits; /* backoff waits taken (every URL of a
				       round failed, or the hub refused) */
	uint32_t hub_backoff_ms[NODE_BACKOFF_STEPS]; /* retry delays */
	lws_retry_bo_t hub_policy;  /* backoff table (lws's keepalive off) */
	lws_sorted_usec_list_t hub_sul; /* the reconnect timer */
	lws_sorted_usec_list_t hub_keepalive; /* the link's keepalive walk */
	uint16_t hub_retries;       /* backoff waits (the backoff's step)
				       since the last healthy session
				       (LIMIT_BACKOFF_HEALTHY_S) */
	int hub_store_full;         /* the last session ended on a storage
				       fault: wait for space before dialling */
	uint16_t hub_store_retries; /* space probes since the last batch
				       stored (a backoff of its own) */
	int64_t hub_since;          /* when Welcome came; 0 when not connected */
	lws_usec_t hub_welcomed_us; /* ... by lws's monotonic clock */
	int64_t hub_hello_ms;       /* local clock when Hello was sent */
	int clock_known;            /* a Welcome said the hub's time: the
				       offset in lib/clock.c is the hub's */
	uint64_t hub_up_cursor;     /* from Welcome */
	/* the up stream of the current session (sync.c) */
	struct link_stream up;      /* sent, window and batch (from Welcome) */
	uint64_t up_acked;          /* last seq the hub committed */
	uint64_t store_behind;      /* Welcomes that found our store gone
				       back in time (wire_store_behind) */
	uint64_t renumbered;        /* own edits renumbered for them */
	char hub_last_error[256];   /* why the last attempt failed; "" none */
	uint64_t frames_unsent;     /* frames not encoded or queued, each
				       closing its session (/healthz) */
	uint64_t hub_sessions;      /* Welcomes received since start */
	uint64_t bulletins_received; /* Bulletin frames from the hub */
	uint64_t bulletins_stored;  /* ... stored new (not replays) */
	uint64_t bulletins_refused; /* ... refused: signature, area, id */
	struct prom_hist bulletin_ack; /* a Bulletin frame's handling until
				       its ack is queued (stored ones) */
	struct prom_hist bulletin_store_wait; /* ... of it, waiting for the
				       store's write lock */
	int hub_close_code;         /* code the hub closed with; 0 none */
	char hub_close_reason[128]; /* and its reason */
};

/* node_from_wsi: the daemon state behind any wsi (the context user). */
struct node *node_from_wsi(struct lws *wsi);

/* node_clock_offset: 1 with the clock offset to the hub in *ms (hub
 * minus local) once a Welcome said the hub's time, else 0 (hub_link.c). */
int node_clock_offset(const struct node *n, int64_t *ms);
/* node_clock_json: node_clock_offset as JSON (new reference), null while
 * it is not known. */
json_t *node_clock_json(const struct node *n);

/* ==== store (store.c) ====================================================== */

/* What to do with a damaged store, said wherever one is met. */
#define NODE_STORE_WAY_BACK "stop the node and move the store file (with " \
	"its -wal and -shm files) aside; started without it, the node makes " \
	"a new store and gets its records back from the hub"

/* The free space of the file system holding the store. */
struct node_disk {
	uint64_t free_bytes;        /* free to an unprivileged writer */
	uint64_t total_bytes;       /* its size, above 0 */
	int low;                    /* store_disk_low: under 10 % free */
};

/* node_disk: the store's disk into d. ERR_OK, or ERR_IO when it cannot
 * be read. */
int node_disk(const struct node *n, struct node_disk *d);
/* node_disk_state: node_disk as {"free_bytes", "total_bytes", "low"}, or
 * JSON null when it cannot be read. A new reference, for /healthz and the
 * console's sync state. */
json_t *node_disk_state(const struct node *n);

/* node_store_probe: can the store be written again? Needs 64 KiB free on
 * its disk, then commits a 64 KiB row to meta and deletes it again.
 * ERR_OK, or ERR_IO. */
int node_store_probe(struct node *n);

/* node_store_open: open cfg.store_path with the node's migrations and the
 * outbox's file attached (node_store_connect_outbox), check both
 * (store_check, quick), prepare the statements, make the store epoch on
 * first open and read it and the down cursor. Returns ERR_OK, or an err
 * code with a message in err: ERR_INVALID when the store is damaged. */
int node_store_open(struct node *n, char *err, size_t errlen);
/* node_store_connect: another connection to the store at path (opened
 * and migrated like the first), for a worker thread. Returns ERR_OK with
 * *db set (close with store_close), or an err code with a message. */
int node_store_connect(const char *path, sqlite3 **db, char *err,
		       size_t errlen);
/* node_store_connect_outbox: node_store_connect with the outbox's file
 * attached (below): the service thread's connection, the outbox's sender
 * and "check". The others have the store alone, so their transactions
 * (BEGIN IMMEDIATE) never hold the store's lock waiting for the
 * outbox's. */
int node_store_connect_outbox(const char *path, sqlite3 **db, char *err,
			      size_t errlen);
/* The outbox's rows live in a file of their own next to the store
 * ("X.db" -> "X.outbox.db"), attached to every connection as schema "ob"
 * (node_store_connect), so the outbox's sender writes without the store's
 * write lock and a bulletin's store before its ack waits only for the
 * store's. node_store_outbox_path: that file's path into out. ERR_OK, or
 * ERR_TOOBIG when it does not fit. */
int node_store_outbox_path(const char *store_path, char *out, size_t len);
/* node_store_begin: a transaction holding the write lock of one file only
 * (BEGIN IMMEDIATE takes every attached file's): NODE_STORE_MAIN, the
 * store (what the hub sends: a bulletin before its ack, records,
 * relays), or NODE_STORE_OUTBOX, the outbox's (its sender). Waits for
 * the lock like BEGIN IMMEDIATE. ERR_OK or ERR_IO (nothing begun). */
enum node_store_file { NODE_STORE_MAIN, NODE_STORE_OUTBOX };
int node_store_begin(sqlite3 *db, enum node_store_file f);
/* node_store_close: finalize the statements and close the store. */
void node_store_close(struct node *n);
/* node_store_set_snapshot: persist whether a snapshot is under way. */
int node_store_set_snapshot(struct node *n, int pending);
/* node_store_directory_first: 1 the first time it is called on this
 * store (noted in it), else 0: a node upgraded from a version without
 * the community directory then asks the hub for its whole stream once,
 * since the directory's records were passed over while it did not know
 * them. */
int node_store_directory_first(struct node *n);
/* node_store_set_down_cursor: persist the hub-stream cursor. */
int node_store_set_down_cursor(struct node *n, uint64_t cursor);
/* node_store_set_up_marks: persist the up stream's marks (they become
 * n->up_marks), in the caller's transaction if any. ERR_OK or ERR_IO
 * (nothing changes). */
int node_store_set_up_marks(struct node *n, const struct up_marks *m);

/* ==== the session to the hub (hub_link.c) ================================ */

/* hub_link__check_tls: load [hub] cert, key and CA the way the client vhost
 * will, to report a bad file by its key before anything changes, and fill
 * digest with the SHA-256 of the three files' contents (a change means a
 * new vhost). Returns ERR_OK, or ERR_INVALID/ERR_IO with "[hub] key:
 * reason" in err. */
int hub_link__check_tls(const struct node_config *cfg, unsigned char digest[32],
			char *err, size_t errlen);
/* hub_link__start: make the client vhost and dial the hub (or, when the
 * host could not be resolved, wait for SIGHUP). Returns ERR_OK, or ERR_FAIL
 * when lws cannot make the vhost. */
int hub_link__start(struct node *n);
/* hub_link__resolve: fill n->hub_ips with each hub URL's address (an IP
 * host or [hub] address as it is; a name resolved once with getaddrinfo,
 * blocking: only at start and on SIGHUP). Returns ERR_OK when at least
 * one has an address, else ERR_NOTFOUND, recording why in
 * hub_last_error. */
int hub_link__resolve(struct node *n);
/* hub_link__reload: after SIGHUP swapped in a new configuration. Resolves
 * the hosts again; when the hub URLs or their addresses, keepalive or the
 * certificate files (digest, from hub_link__check_tls) changed since old,
 * closes the session and remakes the vhost, then dials the first URL;
 * otherwise a healthy session stays. */
void hub_link__reload(struct node *n, const struct node_config *old,
		      const unsigned char digest[32]);
/* hub_link__stop: cancel the retry timer and close the session, for
 * shutdown; lws_context_destroy finishes the job. */
void hub_link__stop(struct node *n);

/* hub_link__send: queue a frame on the session to the hub (link_send).
 * Returns ERR_OK, ERR_AGAIN when there is no session or it is closing
 * (a full queue closes it: 4430), or the encoder's error (then the
 * session is closing with 1011, counted in frames_unsent). */
int hub_link__send(struct node *n, const Frame *frame);
/* hub_link__url: the hub URL dialled or in use (one of n->cfg.hubs). */
const struct hub_url *hub_link__url(const struct node *n);
/* hub_link__link: the link of the session with the hub once Welcome came
 * and while it is not closing, else NULL. */
struct link *hub_link__link(struct node *n);

/* ==== own records (records.c) ============================================== */

/* A transaction writing own records with consecutive new versions. */
struct records_writer {
	struct catalog *cat;        /* on db */
	sqlite3 *db;                /* the writing thread's own connection */
	const char *community;      /* the origin of every record */
	uint64_t next;              /* the version the next record gets */
};

/* records_begin: BEGIN IMMEDIATE on db and find the next version (above
 * every own record and the floor the hub reported). ERR_OK or ERR_IO. */
int records_begin(struct records_writer *w, struct catalog *cat, sqlite3 *db,
		  const char *community);
/* records_put: write ch (kind, id, deleted and body set by the caller) as
 * our next version and log it for the up stream; sets ch->version. Does not
 * keep ch. ERR_OK, or catalog_apply's error. */
int records_put(struct records_writer *w, Change *ch);
/* records_commit: COMMIT (ROLLBACK on failure). ERR_OK or ERR_IO. */
int records_commit(struct records_writer *w);
void records_rollback(struct records_writer *w);
/* records_own_high: the highest version of community's own records held
 * on db or known held by the hub (the floor): the next writer's version
 * is one above it. */
uint64_t records_own_high(struct catalog *cat, sqlite3 *db,
			  const char *community);
/* records_set_floor: remember that the hub holds our versions up to floor
 * (never lowers it). ERR_OK or ERR_IO. */
int records_set_floor(sqlite3 *db, uint64_t floor);
/* records_quota_set: keep the quota the hub announced (Welcome) in the
 * store, for the writers. ERR_OK or ERR_IO. */
int records_quota_set(sqlite3 *db, const struct quota *q);
/* records_quota_get: the quota last announced, or the defaults of
 * lib/alliance_limits.h when the hub never said one, into q. */
void records_quota_get(sqlite3 *db, struct quota *q);
/* records_quota_admit: in w's transaction, before the records are put:
 * whether our community may make the changes summed in d under its quota
 * (lib/quota.h), taking d->changes from the rate bucket kept in the
 * store at now. ERR_OK; ERR_TOOBIG or ERR_AGAIN with why naming the
 * quota ("quota records: ..."); ERR_IO. */
int records_quota_admit(struct records_writer *w, const struct quota_delta *d,
			int64_t now, char *why, size_t whylen);

/* ==== sync (sync.c) ========================================================== */

/* sync_marks: our store's marks for Hello (StoreMarks). */
void sync_marks(struct node *n, Alliance__V1__StoreMarks *m);
/* sync_welcome: a session began: the up stream restarts at the hub's
 * cursor; a store behind the hub (wire_store_behind) renumbers its log
 * after what the hub surely holds, above the hub's cursor and versions.
 * ERR_OK, or ERR_IO when that failed (the session must end: sending from
 * the hub's cursor would lose edits). */
int sync_welcome(struct node *n, const Alliance__V1__Welcome *w);
/* sync_write_up: at WRITEABLE with nothing queued on l, send the next up
 * batch if the window allows: 1 written, 0 nothing due, -1 the write
 * failed (or the marks could not be kept). */
int sync_write_up(struct node *n, struct link *l);
/* sync_handle_ack: the hub committed our stream to ack->seq. ERR_INVALID
 * when it acks beyond what was sent. */
int sync_handle_ack(struct node *n, const Alliance__V1__Ack *ack);
/* sync_handle_changes: persist a down batch and the cursor in one
 * transaction; *ack is the cursor to acknowledge. ERR_INVALID (a rule
 * broken, why says which) or ERR_IO; nothing is stored then. */
int sync_handle_changes(struct node *n, const Alliance__V1__Changes *cs,
			uint64_t *ack, char *why, size_t whylen);
/* sync_wake: ask for WRITEABLE when the up stream has something to send. */
void sync_wake(struct node *n);
/* sync_up_lag: the entries of our log up to head (catalog_log_head) that
 * the hub has not committed yet. */
uint64_t sync_up_lag(const struct node *n, uint64_t head);

/* ==== the public port (public.c) ========================================== */

/* public__create_vhost: the public port's vhost (HTTPS when [public] cert
 * and key are set). Returns ERR_OK or ERR_FAIL. */
int public__create_vhost(struct node *n);
/* public__search_start: n->searches, the catalog searches' threads
 * ([public] search_threads, each with its own store connection), once
 * n->lws exists. */
int public__search_start(struct node *n, char *err, size_t errlen);
/* public__free: free the strings the vhost pointed at, after the context
 * is destroyed. */
void public__free(struct node *n);
/* public__reload_cert: SIGHUP: the HTTPS port's certificate and key, read
 * again from the paths it started with, serve the connections made from
 * now on (lib/trust.h); files that cannot serve are logged and the
 * running ones stay. Nothing when the port is plain HTTP. */
void public__reload_cert(struct node *n);

/* ==== GET /metrics on a loopback listener (metrics.c) =================== */

/* metrics__create_vhost: the listener of [metrics] address and port,
 * plain HTTP, answering GET (and HEAD) /metrics with Prometheus text;
 * nothing when port is 0. Returns ERR_OK, or ERR_FAIL when it cannot
 * listen. */
int metrics__create_vhost(struct node *n);
/* metrics__free: free what the vhost pointed at, after the context is
 * destroyed. */
void metrics__free(struct node *n);

/* ==== manager endpoints (manager.c, auth.c, worker.c, edits.c) ========== */

/* How a request proved it is the manager; the handlers only look at
 * this struct. */
enum auth_method {
	AUTH_NONE,                  /* not (yet) authenticated */
	AUTH_BASIC,                 /* HTTP Basic manager:PASSWORD, verified */
	AUTH_LOGIN,                 /* POST /api/v1/session: the password in
				       the body, verified (console.c) */
	AUTH_COOKIE,                /* the console's session cookie, and on a
				       change its CSRF token (console.c) */
};

struct auth {
	enum auth_method method;
};

/* Per-request manager state, in the public port's per-session data. */
struct manager_req {
	struct auth auth;           /* who is asking, once known */
	uint64_t parked;            /* id of the job this request waits on;
				       0 when not parked */
	unsigned char cache_key[32];/* credential cache key while a password
				       is verified (never the password) */
	char peer[PEER_KEY_MAX];    /* the client (lib/peer.h), for limits */
	int login;                  /* the password came in a login body:
				       a grant is AUTH_LOGIN, a refusal has
				       no Basic challenge */
	int early;                  /* checked at the headers, the body
				       paused until the KDF answers */
	int body_done;              /* ... and the body came in whole
				       meanwhile: route at the answer */
};

/* manager_start: the manager's state and its worker threads (one for the
 * password KDF, one with its own store connection for writes). Returns
 * ERR_OK, or an err code with a message in err. */
int manager_start(struct node *n, char *err, size_t errlen);
/* manager_stop: join the workers (a running job finishes first) and free
 * everything; parked requests are simply not answered. */
void manager_stop(struct node *n);
/* manager_body_limit: the body limit of the request on wsi:
 * LIMIT_HTTP_BULK_BODY for a bulk import, else LIMIT_HTTP_BODY. */
size_t manager_body_limit(struct lws *wsi);
/* manager_body_begin: at the headers of a request that has a body: when
 * it is for a manager endpoint, check the credential before any of the
 * body is read. Missing or wrong: the reply (401, 403, 429) is stored
 * and the connection closes after it, the body unread. A password the
 * KDF must check pauses the body (lws rx flow control) until it is
 * verified. Returns 1 when the body is the manager's (read once
 * granted), 0 for anyone else's. */
int manager_body_begin(struct node *n, struct lws *wsi,
		       struct http_exchange *ex, struct manager_req *mr);
/* manager_body_done: at BODY_COMPLETION: 1 when the request waits for
 * its early check (it is routed at the answer), else 0. */
int manager_body_done(struct manager_req *mr);
/* Per-session data of HTTP connections on the public port, the ctx of
 * its route table's rows (public.c). */
struct public_http {
	struct http_exchange ex;
	struct manager_req mgr;     /* manager endpoints (manager.c) */
	int64_t resident;           /* a resident's row: who calls (set
				       when the table admits the token) */
	uint64_t search_id;         /* the catalog search it waits for */
};
/* node_route: answer the request on wsi, a public port's, by its route
 * table (public.c): at its headers or its body, or again once the
 * manager's credential is verified (mr then granted). */
void node_route(struct node *n, struct lws *wsi);
/* node_route_role: the role of the public port's row that answers ex's
 * path and method (ROUTE_MANAGER: its body waits for the manager's
 * credential), or -1 when none does. */
int node_route_role(const struct http_exchange *ex);
/* manager_record_get: GET /api/v1/services/{id} and
 * /api/v1/announcements/{id}: one record (a row of the public port's
 * table, ctx its struct public_http). */
void manager_record_get(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m);
/* manager_record_write: the manager's creation (POST /api/v1/services,
 * /api/v1/announcements), bulk import (.../bulk), replacement (PUT
 * .../{id}) and deletion (DELETE .../{id}), handed to the store worker. */
void manager_record_write(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m);
/* manager_closed: the connection of mr closed (LWS_CALLBACK_CLOSED_HTTP):
 * forget its parked request, so a late answer finds no wsi. */
void manager_closed(struct node *n, struct manager_req *mr);
/* manager_drain: at LWS_CALLBACK_EVENT_WAIT_CANCELLED, take the workers'
 * answers and resume the requests that wait on them. */
void manager_drain(struct node *n);

/* console_logout_all: end every console session (a new password). */
void console_logout_all(struct node *n);

/* auth_hash_password_main: --hash-password: read one password line from
 * in, print its scrypt hash line to out. Returns the exit code. */
int auth_hash_password_main(FILE *in, FILE *out, FILE *err);

/* ==== requests, residents, polls (civic.c, relay.c) ===================== */

struct civic;

/* Migration SQL of their tables (relay.c: the relay outbox, and the
 * schema text of request_store.h, resident_store.h and poll_store.h put
 * together as the migrations always ran it). */
extern const char node_civic_schema_v1[];
extern const char node_civic_schema_v3[];
extern const char node_civic_schema_v4[];
/* Migration SQL of the check-in tables (checkin.c), with the requests'
 * urgent mark. */
extern const char node_checkin_schema_v1[];
/* node_checkin_started: a check-in bulletin was just stored: its first
 * counts (every listed resident not yet) go to the hub (checkin.c). */
void node_checkin_started(struct node *n, const char *bulletin);
/* checkin_link_fn: one minted link of a listed resident (her id, name
 * and phone, and the URL with its token, which exists nowhere else);
 * ERR_OK to go on. */
typedef int (*checkin_link_fn)(int64_t resident, const char *name,
			       const char *phone, const char *url, void *arg);
/* node_checkin_mint: in the caller's transaction, a personal link for
 * check-in bulletin (open: the caller checked) for every listed resident
 * who has none for it, or, only > 0, a new one for that resident alone
 * (her old one stops working); each given to each (the manager's POST
 * .../check-in/links; the outbox's SMS). Only the tokens' SHA-256 are
 * kept. ERR_OK, ERR_IO, ERR_FAIL (no random bytes) or each's code. */
int node_checkin_mint(struct node *n, const char *bulletin, int64_t only,
		      checkin_link_fn each, void *arg);

/* civic_start: their state (rate limits, the stores' statements); after
 * the store. civic_stop frees it. */
int civic_start(struct node *n);
void civic_stop(struct node *n);
/* node_relay_welcome, node_relay_handle, node_relay_ack: the relay in a
 * session with the hub (relay.c): after Welcome w (its request quota
 * kept for the Open311 POST); a Relay from the hub (ERR_INVALID or ERR_IO
 * with why: close the session); a RelayAck. */
void node_relay_welcome(struct node *n, const Alliance__V1__Welcome *w);
/* node_relay_outbox: records of ours (requests, statuses, polls,
 * tallies) waiting for the hub's ack, or -1 when the store cannot say
 * (relay.c). */
int64_t node_relay_outbox(struct node *n);
/* node_requests_open: open requests in this community's queue (neither
 * done, declined nor withdrawn), or -1 when the store cannot say
 * (request_queue.c). */
int64_t node_requests_open(struct node *n);
int node_relay_handle(struct node *n, const Alliance__V1__Relay *r,
		      char *why, size_t whylen);
int node_relay_ack(struct node *n, const Alliance__V1__RelayAck *ack);

/* ==== bulletins (bulletin.c) ============================================= */

struct node_bulletins;

/* node_bulletin_open: the bulletin tables, the pinned keys and the live
 * feeds' keepalive timer; after the store and the lws context. */
int node_bulletin_open(struct node *n, char *err, size_t errlen);
/* node_bulletin_reload: re-read the pinned keys after SIGHUP (a bad set is
 * logged and the one in force stays). */
void node_bulletin_reload(struct node *n);
void node_bulletin_close(struct node *n);
/* node_bulletin_handle: a Bulletin frame from the hub: verify, store if it
 * is for this community, ack (or ack refused). Returns 0. */
int node_bulletin_handle(struct node *n, const Alliance__V1__Bulletin *b);
/* node_bulletin_live_begin: at LWS_CALLBACK_HTTP, take a GET of the live
 * feed (or store a 503). Returns 1 when the request was the feed. */
int node_bulletin_live_begin(struct node *n, struct lws *wsi,
			     struct http_exchange *ex);
/* node_bulletin_live_writeable: at HTTP_WRITEABLE; returns 1 when wsi is a
 * live feed (then *rc is what the callback returns), else 0. */
int node_bulletin_live_writeable(struct node *n, struct lws *wsi, int *rc);
/* node_bulletin_live_closed: at CLOSED_HTTP, forget wsi if it was a feed. */
void node_bulletin_live_closed(struct node *n, struct lws *wsi);
/* Rows of the public port's table (ctx its struct public_http):
 * node_bulletin_public GET /api/v1/bulletins and /api/v1/bulletins/{id};
 * node_bulletin_cap GET /api/v1/bulletins/{id}.cap; node_bulletin_atom
 * GET /api/v1/bulletins.atom. */
void node_bulletin_public(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m);
void node_bulletin_cap(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m);
void node_bulletin_atom(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m);

#endif
