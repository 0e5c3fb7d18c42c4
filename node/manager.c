/* manager.c: the manager endpoints on the node's public port, and the
 * parking of requests that wait on a worker (see manager.h).
 *
 *   POST   /api/v1/services             create (id optional)    201
 *   POST   /api/v1/services/bulk        {"items":[...]}, all or nothing
 *                                       200 {"created":N,"ids":[...]}
 *   PUT    /api/v1/services/{id}        replace                 200
 *   DELETE /api/v1/services/{id}        a tombstone             204
 *   GET    /api/v1/services/{id}        public: this community's service
 *                                       (?community= for another one's,
 *                                       from the replica)
 * and the same under /api/v1/announcements (whose list, GET without an
 * id, stays with public.c); the console's login and sync state come
 * first (console.c). Changes need the manager (auth.c) and
 * Content-Type: application/json, which a cross-site form cannot send
 * (415 otherwise): public.c's table checks both. Every write, single or bulk, runs on the store worker
 * (edits.c): one code path, one writer of own records, and a bulk import
 * never holds up the service thread. When a write commits, sync_wake
 * starts the up stream.
 *
 * Parts: start and stop; parking; paths; handlers; the rows (of
 * public.c's table); draining. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "manager.h"
#include "text.h"

/* Seconds a parked request may wait before lws drops the connection: a
 * bulk import of LIMIT_BULK_ITEMS takes seconds, not minutes. */
#define MANAGER_PARK_TIMEOUT_S 120

/* ---- start and stop -------------------------------------------------------- */

int manager_start(struct node *n, char *err, size_t errlen)
{
	struct manager *m = calloc(1, sizeof(*m));
	int rc;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	m->next_id = 1;
	rc = auth_state_new(&m->auth);
	if (rc != ERR_OK) {
		snprintf(err, errlen, "no random bytes for the credential "
			 "cache");
		free(m);
		return rc;
	}
	rc = console_new(&m->console);
	if (rc == ERR_OK)
		rc = worker_start(&m->worker, n->lws, n->cfg.store_path,
				  n->cfg.community, err, errlen);
	else
		snprintf(err, errlen, "out of memory");
	if (rc != ERR_OK) {
		console_free(&m->console);
		auth_state_free(&m->auth);
		free(m);
		return rc;
	}
	n->mgr = m;
	if (!n->cfg.manager_password_hash)
		log_warn("no [manager] password_hash: the manager endpoints "
			 "answer 403");
	return ERR_OK;
}

void manager_stop(struct node *n)
{
	struct manager *m = n->mgr;

	if (!m)
		return;
	worker_stop(&m->worker);
	console_free(&m->console);
	auth_state_free(&m->auth);
	free(m);
	n->mgr = NULL;
}

/* ---- parking ----------------------------------------------------------------- */

int manager__park(struct node *n, struct lws *wsi, struct http_exchange *ex,
		  struct manager_req *mr, enum worker_lane lane,
		  struct job *job)
{
	struct manager *m = n->mgr;
	struct park *slot = NULL;
	int rc;

	for (size_t i = 0; i < LIMIT_MANAGER_PARKED && !slot; i++)
		if (!m->parked[i].id)
			slot = &m->parked[i];
	job->id = m->next_id++;
	rc = slot ? worker_submit(m->worker, lane, job) : ERR_TOOBIG;
	if (rc == ERR_AGAIN) {
		http_reply_error(wsi, ex, 429, "too_many", "too many requests "
				 "from %s waiting at once; try again when they "
				 "are answered", job->peer);
		job_free(job);
		return rc;
	}
	if (rc != ERR_OK) {
		http_reply_error(wsi, ex, 503, "busy", "too many requests "
				 "waiting; try again");
		job_free(job);
		return ERR_TOOBIG;
	}
	slot->id = job->id;   /* job is the worker's now: read nothing else */
	slot->wsi = wsi;
	slot->ex = ex;
	slot->mr = mr;
	mr->parked = slot->id;
	m->n_parked++;
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, MANAGER_PARK_TIMEOUT_S);
	return ERR_OK;
}

/* unpark: the slot of id, taken out of the table (NULL: gone). */
static struct park *unpark(struct manager *m, uint64_t id, struct park *out)
{
	for (size_t i = 0; id && i < LIMIT_MANAGER_PARKED; i++) {
		if (m->parked[i].id != id)
			continue;
		*out = m->parked[i];
		memset(&m->parked[i], 0, sizeof(m->parked[i]));
		m->n_parked--;
		out->mr->parked = 0;
		return out;
	}
	return NULL;
}

void manager_closed(struct node *n, struct manager_req *mr)
{
	struct park gone;

	if (n->mgr && mr->parked)
		unpark(n->mgr, mr->parked, &gone);
	mr->parked = 0;
}

/* ---- paths --------------------------------------------------------------- */

/* What a path names. */
struct target {
	int kind;                   /* ALLIANCE__V1__KIND__KIND_* */
	int bulk;                   /* .../bulk */
	const char *id;             /* .../{id}, or NULL for the collection */
};

/* parse_target: 1 when path is under /api/v1/services or
 * /api/v1/announcements (filling t), else 0. t->id may be invalid; the
 * handlers check it. */
static int parse_target(const char *path, enum http_method method,
			struct target *t)
{
	static const struct {
		const char *prefix;
		int kind;
	} colls[] = {
		{ "/api/v1/services", ALLIANCE__V1__KIND__KIND_SERVICE },
		{ "/api/v1/announcements",
		  ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT },
	};

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < sizeof(colls) / sizeof(colls[0]); i++) {
		size_t len = strlen(colls[i].prefix);

		if (strncmp(path, colls[i].prefix, len) != 0)
			continue;
		t->kind = colls[i].kind;
		if (path[len] == '\0')
			return 1;
		if (path[len] != '/' || !path[len + 1])
			return 0;
		t->id = path + len + 1;
		if (strcmp(t->id, "bulk") == 0 && method == HTTP_POST) {
			t->id = NULL;
			t->bulk = 1;
		}
		return 1;
	}
	return 0;
}

size_t manager_body_limit(struct lws *wsi)
{
	char *uri = NULL;
	int len = 0;
	int m = lws_http_get_uri_and_method(wsi, &uri, &len);
	static const char *const bulk[] = { "/api/v1/services/bulk",
					    "/api/v1/announcements/bulk" };

	if (m != LWSHUMETH_POST || !uri || len <= 0)
		return LIMIT_HTTP_BODY;
	for (size_t i = 0; i < sizeof(bulk) / sizeof(bulk[0]); i++)
		if ((size_t)len == strlen(bulk[i]) &&
		    memcmp(uri, bulk[i], (size_t)len) == 0)
			return LIMIT_HTTP_BULK_BODY;
	return LIMIT_HTTP_BODY;
}

/* ---- handlers ----------------------------------------------------------- */

static const char *kind_name(int kind)
{
	return kind == ALLIANCE__V1__KIND__KIND_SERVICE ? "service"
						       : "announcement";
}

/* get_one: GET .../{id}: public, from the store the service thread reads
 * (own records and the replica). An expired announcement is not shown. */
static void get_one(struct node *n, struct lws *wsi, struct http_exchange *ex,
		    const struct target *t)
{
	char community[LIMIT_COMMUNITY_ID + 2];
	const char *origin = n->cfg.community;
	Change *ch = NULL;
	json_t *out;
	int rc;

	if (http_query(wsi, "community", community, sizeof(community)) > 0) {
		if (!text_community_valid(community)) {
			http_reply_error(wsi, ex, 422, "invalid", "community: "
					 "not a community id");
			return;
		}
		origin = community;
	}
	rc = catalog_get(n->cat, origin, t->kind, t->id, &ch);
	if (rc == ERR_OK && (ch->deleted ||
	    (ch->body_case == ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT &&
	     ch->announcement->expires &&
	     ch->announcement->expires <= clock_now())))
		rc = ERR_NOTFOUND;
	if (rc == ERR_NOTFOUND) {
		http_reply_error(wsi, ex, 404, "not_found", "no %s '%s' of %s",
				 kind_name(t->kind), t->id, origin);
	} else if (rc != ERR_OK || !(out = catalog_change_json(ch))) {
		http_reply_error(wsi, ex, 500, "internal", "the catalog could "
				 "not be read");
	} else {
		http_reply_json(wsi, ex, 200, out);
	}
	catalog_change_free(&ch);
}

/* submit_write: hand the change to the store worker; the request waits. */
static void submit_write(struct node *n, struct lws *wsi,
			 struct http_exchange *ex, struct manager_req *mr,
			 const struct target *t)
{
	struct job *j = job_new(JOB_WRITE);

	if (!j) {
		http_reply_error(wsi, ex, 500, "internal", "out of memory");
		return;
	}
	j->record_kind = t->kind;
	j->op = t->bulk ? EDIT_BULK : ex->method == HTTP_POST ? EDIT_CREATE
		: ex->method == HTTP_PUT ? EDIT_REPLACE : EDIT_DELETE;
	if (t->id)
		snprintf(j->record_id, sizeof(j->record_id), "%s", t->id);
	if (j->op != EDIT_DELETE) {
		j->body = ex->body;          /* the job takes the body */
		j->body_len = ex->body_len;
		ex->body = NULL;
		ex->body_len = 0;
	}
	manager__park(n, wsi, ex, mr, WORKER_STORE, j);
}

/* ---- the rows ----------------------------------------------------------------- */

void manager_record_get(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m)
{
	struct target t;

	(void)ctx;
	(void)m;
	parse_target(ex->path, ex->method, &t);
	if (!text_record_id_valid(t.id))
		http_reply_error(wsi, ex, 404, "not_found", "no %s '%.64s': "
				 "not a record id", kind_name(t.kind), t.id);
	else
		get_one(node_from_wsi(wsi), wsi, ex, &t);
}

void manager_record_write(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m)
{
	struct public_http *h = ctx;
	struct target t;

	(void)m;
	parse_target(ex->path, ex->method, &t);
	if (t.id && !text_record_id_valid(t.id))
		http_reply_error(wsi, ex, 404, "not_found", "no %s '%.64s': "
				 "not a record id", kind_name(t.kind), t.id);
	else if (ex->body_too_big)
		http_reply_error(wsi, ex, 413, "too_large",
				 "the body is over %zu bytes", ex->body_limit);
	else
		submit_write(node_from_wsi(wsi), wsi, ex, &h->mgr, &t);
}

/* ---- checked at the headers --------------------------------------------- */

int manager_body_begin(struct node *n, struct lws *wsi,
		       struct http_exchange *ex, struct manager_req *mr)
{
	if (!n->mgr || node_route_role(ex) != ROUTE_MANAGER)
		return 0;
	mr->early = 1;
	switch (auth_request(n, wsi, ex, mr)) {
	case AUTH_PARKED:
		lws_rx_flow_control(wsi, 0);
		return 1;
	case AUTH_REPLIED:
		ex->close_after = 1;
		break;
	case AUTH_GRANTED:
		break;
	}
	mr->early = 0;
	return 1;
}

int manager_body_done(struct manager_req *mr)
{
	if (!mr->early)
		return 0;
	mr->body_done = 1;
	return 1;
}

/* early_answer: the KDF answered a check made at the headers: on a grant
 * the body flows again (routed now when it came in whole meanwhile); a
 * refusal closes the connection once sent (lws writes nothing while rx
 * is held, so it flows again too; what comes is dropped, the reply being
 * stored). */
static void early_answer(struct node *n, struct lws *wsi,
			 struct http_exchange *ex, struct manager_req *mr,
			 int granted)
{
	mr->early = 0;
	lws_rx_flow_control(wsi, 1);
	if (!granted)
		ex->close_after = 1;
	else if (mr->body_done)
		node_route(n, wsi);
}

/* ---- draining ----------------------------------------------------------------- */

/* finish_write: answer a write the store worker finished. */
static void finish_write(struct lws *wsi, struct http_exchange *ex,
			 struct job *j)
{
	char *reply = j->reply;

	j->reply = NULL;
	http_reply(wsi, ex, j->status, "application/json; charset=utf-8",
		   reply, j->reply_len);
}

void manager_drain(struct node *n)
{
	struct manager *m = n->mgr;
	struct job *j, *next;
	int wake = 0;

	if (!m || !m->worker)
		return;
	for (j = worker_take_done(m->worker); j; j = next) {
		struct park p, *found;

		next = j->next;
		found = unpark(m, j->id, &p);
		if (found)
			lws_set_timeout(p.wsi, NO_PENDING_TIMEOUT, 0);
		if (j->kind == JOB_RESIDENT_REGISTER ||
		    j->kind == JOB_RESIDENT_LOGIN) {
			residents_finish(n, found ? p.wsi : NULL,
					 found ? p.ex : NULL, j);
		} else if (j->kind == JOB_VERIFY) {
			int granted = auth_verified(n, found ? p.wsi : NULL,
						    found ? p.ex : NULL,
						    found ? p.mr : NULL, j) ==
				      AUTH_GRANTED;

			if (found && p.mr->early)
				early_answer(n, p.wsi, p.ex, p.mr, granted);
			else if (granted)
				node_route(n, p.wsi);
		} else {
			if (j->written) {
				wake = 1;
				log_info("manager: %s %zu %s%s in %.0f ms",
					 j->op == EDIT_BULK ? "imported"
					 : j->op == EDIT_DELETE ? "deleted"
					 : "wrote", j->written,
					 kind_name(j->record_kind),
					 j->written > 1 ? "s" : "", j->ms);
			}
			if (found)
				finish_write(p.wsi, p.ex, j);
		}
		job_free(j);
	}
	if (wake)
		sync_wake(n);
}
