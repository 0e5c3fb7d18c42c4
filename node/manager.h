/* manager.h: the manager endpoints' internal header (manager.c, auth.c,
 * worker.c, edits.c); node.h has what the rest of the node calls.
 *
 * The service thread owns every struct lws. Slow work, the password KDF
 * and store writes, runs on worker threads: a request that needs one is
 * parked (an id -> wsi entry on the service thread), its job goes to a
 * worker with a copy of what it needs, the finished job comes back through
 * a mutex-protected list and lws_cancel_service, and the service thread
 * looks the id up again: a connection that closed meanwhile is simply not
 * there. Only ids and owned copies cross threads, never a struct lws.
 *
 * Sections: jobs; the workers (worker.c); writes (edits.c, worker side);
 * credentials (auth.c, service side); parking (manager.c). */
#ifndef ALLIANCE_NODE_MANAGER_H
#define ALLIANCE_NODE_MANAGER_H

#include "node.h"

/* ==== jobs ================================================================= */

enum job_kind {
	JOB_VERIFY,                 /* check a password against the hash */
	JOB_WRITE,                  /* write own records */
	JOB_RESIDENT_REGISTER,      /* hash a new resident's password into
				       hash_line (residents.c) */
	JOB_RESIDENT_LOGIN,         /* check a resident's password against
				       hash_line (residents.c) */
};

enum edit_op {
	EDIT_CREATE,                /* POST /api/v1/{services,announcements} */
	EDIT_REPLACE,               /* PUT .../{id} */
	EDIT_DELETE,                /* DELETE .../{id}: a tombstone */
	EDIT_BULK,                  /* POST .../bulk: all or nothing */
};

/* One unit of work and, once done, its result. The service thread makes
 * it, a worker fills the result, the service thread frees it (job_free).
 * Everything it points at is owned by it. */
struct job {
	struct job *next;           /* queue link */
	uint64_t id;                /* the parked request's id */
	uint64_t round;             /* KDF lanes: its turn (worker.c) */
	enum job_kind kind;
	char peer[PEER_KEY_MAX];    /* KDF jobs: the client (lib/peer.h) */
	char *password;             /* JOB_VERIFY: cleansed when freed */
	size_t password_len;
	char *hash_line;            /* JOB_VERIFY: [manager] password_hash;
				       JOB_RESIDENT_LOGIN: the resident's;
				       JOB_RESIDENT_REGISTER: the result */
	char phone[LIMIT_PHONE_DIGITS + 1]; /* JOB_RESIDENT_*: digits only */
	int64_t resident;           /* JOB_RESIDENT_LOGIN: who logs in */
	unsigned char code_hash[32];/* JOB_RESIDENT_REGISTER: the household
				       code's SHA-256 it redeems ... */
	int has_code;               /* ... when set */
	char *name;                 /* JOB_RESIDENT_REGISTER: the account's
				       name, "" for none (owned) */
	enum edit_op op;            /* JOB_WRITE */
	int record_kind;            /* ALLIANCE__V1__KIND__KIND_SERVICE or
				       _ANNOUNCEMENT */
	char record_id[LIMIT_RECORD_ID + 1]; /* from the path; "" none */
	char *body;                 /* request body (NUL-terminated) or NULL */
	size_t body_len;
	/* the result */
	int verdict;                /* JOB_VERIFY, JOB_RESIDENT_*: ERR_OK,
				       ERR_DENIED (login), ERR_FAIL, or
				       ERR_AGAIN: pushed out of a full
				       lane unrun (503) */
	int status;                 /* JOB_WRITE: the HTTP status */
	char *reply;                /* JOB_WRITE: JSON text, NULL for 204 */
	size_t reply_len;
	size_t written;             /* JOB_WRITE: records committed */
	double ms;                  /* time the job took on the worker */
};

/* job_new: a zeroed job of kind; NULL when out of memory. */
struct job *job_new(enum job_kind kind);
/* job_free: free j and what it owns (the password is cleansed). */
void job_free(struct job *j);

/* ==== the workers (worker.c) ============================================= */

enum worker_lane {
	WORKER_KDF,                 /* managers' password checks: CPU only */
	WORKER_KDF_RESIDENT,        /* residents' password hashes and checks,
				       apart so neither side starves the
				       other */
	WORKER_STORE,               /* writes on the worker's own connection */
	WORKER_LANES,
};

struct worker;

/* worker_start: open the store worker's own connection to store_path
 * (node_store_connect) and start one thread per lane. Finished jobs are
 * announced with lws_cancel_service(lws). Stores the worker in *out and
 * returns ERR_OK, or an err code with a message in err. */
int worker_start(struct worker **out, struct lws_context *lws,
		 const char *store_path, const char *community, char *err,
		 size_t errlen);
/* worker_submit: queue job on lane; the worker owns it until it comes
 * back from worker_take_done. A KDF lane is bounded and fair per client
 * (job->peer): it runs its clients' jobs in turn (round robin), holds
 * LIMIT_KDF_PER_CLIENT of one client and LIMIT_KDF_QUEUE in all; when
 * full, a client with fewer waiting pushes out the newest job of the
 * client with the most, which comes back at once with verdict
 * ERR_AGAIN. ERR_OK; or, the job staying the caller's, ERR_AGAIN (its
 * client has LIMIT_KDF_PER_CLIENT waiting: answer 429), ERR_TOOBIG (the
 * lane is full: 503) or ERR_FAIL (stopping). */
int worker_submit(struct worker *w, enum worker_lane lane, struct job *job);
/* worker_take_done: the finished jobs, oldest first, linked by next (the
 * caller frees each), or NULL. */
struct job *worker_take_done(struct worker *w);
/* worker_stop: let running jobs finish, drop queued ones, join the
 * threads, close the connection, free w and set it NULL. */
void worker_stop(struct worker **w);

/* ==== writes (edits.c, on the store worker) ================================ */

/* The store worker's own connection. */
struct edits {
	sqlite3 *db;                /* opened by node_store_connect */
	struct catalog *cat;        /* on db */
	char *community;            /* the origin of every record (owned) */
};

/* edits_run: carry out a JOB_WRITE: parse and validate the body (400,
 * 413, 422 naming the field or item), then write in one transaction
 * (records_begin .. records_commit), checking ids (404, 409). Fills
 * j->status, j->reply and j->written. A refused job writes nothing. */
void edits_run(struct edits *e, struct job *j);

/* ==== credentials (auth.c, service thread) ================================= */

struct auth_state;

int auth_state_new(struct auth_state **out);
void auth_state_free(struct auth_state **a);

enum auth_verdict {
	AUTH_GRANTED,               /* mr->auth is set: go on */
	AUTH_REPLIED,               /* a 401, 403, 429 or 500 is stored */
	AUTH_PARKED,                /* waiting for the KDF worker */
};

/* auth_request: authenticate the request: a cached credential is granted
 * at once, a new one is parked for the KDF worker. */
enum auth_verdict auth_request(struct node *n, struct lws *wsi,
			       struct http_exchange *ex,
			       struct manager_req *mr);
/* auth_login: the console's login (console.c): pw (len bytes, cleansed
 * here) from the body of POST /api/v1/session, through the same address
 * limit, cache and KDF worker as Basic; a grant sets AUTH_LOGIN, a wrong
 * password gets a 401 without a Basic challenge. */
enum auth_verdict auth_login(struct node *n, struct lws *wsi,
			     struct http_exchange *ex, struct manager_req *mr,
			     char *pw, size_t len);
/* auth_verified: the KDF worker checked j's password. Counts a failure
 * against its peer; when the request is still there (wsi non-NULL),
 * caches a good credential and returns AUTH_GRANTED, else stores the 401
 * or 500 and returns AUTH_REPLIED. */
enum auth_verdict auth_verified(struct node *n, struct lws *wsi,
				struct http_exchange *ex,
				struct manager_req *mr, const struct job *j);

/* ==== the console (console.c, service thread) ============================== */

struct console;

int console_new(struct console **out);
void console_free(struct console **c);
/* console_has_cookie: the request carries the console's session cookie
 * (live or not). */
int console_has_cookie(struct node *n, struct lws *wsi);
/* console_from_page: the request carries an X-CSRF-Token header, so it
 * comes from the console page (no Basic challenge for it). */
int console_from_page(struct lws *wsi);
/* console_auth: authenticate by the session cookie: AUTH_GRANTED (sets
 * AUTH_COOKIE), or AUTH_REPLIED with a 401 (no live session) or a 403
 * (a change whose X-CSRF-Token is missing or wrong). */
enum auth_verdict console_auth(struct node *n, struct lws *wsi,
			       struct http_exchange *ex,
			       struct manager_req *mr);
/* Rows of the public port's table (ctx its struct public_http), 503
 * while the console is not ready: console_session_get GET
 * /api/v1/session (who is logged in), console_session_login POST (log
 * in), console_session_logout DELETE (log out); console_sync GET
 * /api/v1/manager/sync, the sync state (a manager's row). */
void console_session_get(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m);
void console_session_login(void *ctx, struct lws *wsi,
			   struct http_exchange *ex,
			   const struct route_match *m);
void console_session_logout(void *ctx, struct lws *wsi,
			    struct http_exchange *ex,
			    const struct route_match *m);
void console_sync(void *ctx, struct lws *wsi, struct http_exchange *ex,
		  const struct route_match *m);

/* ==== parking (manager.c) =================================================== */

/* A request waiting on a worker. The pointers are into the connection's
 * per-session data and never leave the service thread. */
struct park {
	uint64_t id;                /* job id; 0: free slot */
	struct lws *wsi;
	struct http_exchange *ex;
	struct manager_req *mr;
};

struct manager {
	struct worker *worker;
	struct auth_state *auth;
	struct console *console;    /* the console's sessions (console.c) */
	uint64_t next_id;           /* ids of parked requests, from 1 */
	struct park parked[LIMIT_MANAGER_PARKED];
	size_t n_parked;
};

/* manager__park: give job an id, park the request and submit the job on
 * lane. Takes job. ERR_OK; or, the job freed and the reply stored,
 * ERR_AGAIN when its client has too many waiting (429) or ERR_TOOBIG
 * when too many requests wait (503). */
int manager__park(struct node *n, struct lws *wsi, struct http_exchange *ex,
		  struct manager_req *mr, enum worker_lane lane,
		  struct job *job);

#endif
