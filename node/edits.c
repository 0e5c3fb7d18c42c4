/* edits.c: a manager's writes of services and announcements, run on the
 * store worker's own connection (see manager.h).
 *
 * A job carries the request body; here it is parsed and every record
 * validated (catalog_*_from_json, and no time ahead of our clock) before
 * anything is written, then held to the community's quota (429 naming
 * it; a deletion always passes), then all records go into one
 * transaction through the records writer, which gives each the next own
 * version and logs it for the up stream. So a refused request, single or
 * bulk, writes nothing; an accepted bulk import is all there or (on a
 * store error) not at all.
 *
 * Parts: replies; one record from JSON; the quota; create, replace,
 * delete; bulk. */
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "manager.h"
#include "store.h"
#include "text.h"

/* Hex characters of a generated record id. */
#define EDITS_ID_HEX 12

/* ---- replies ------------------------------------------------------------- */

/* reply_json: j's reply is json (reference stolen). */
static void reply_json(struct job *j, int status, json_t *json)
{
	free(j->reply);
	j->reply = json ? json_dumps(json, JSON_COMPACT) : NULL;
	json_decref(json);
	j->reply_len = j->reply ? strlen(j->reply) : 0;
	j->status = j->reply || status == 204 ? status : 500;
}

static void reply_error(struct job *j, int status, const char *code,
			const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void reply_error(struct job *j, int status, const char *code,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_json(j, status, http_error_vjson(code, fmt, ap));
	va_end(ap);
}

/* reply_store_failed: a write that failed in the store; sqlerr is
 * sqlite's message, read before any ROLLBACK (which clears it). A storage
 * fault met since faults (store_fault_count) is one the manager must see
 * with its cause: a full disk or an I/O error 507, a damaged store 500
 * store_damaged (the log names the way back); anything else is a 500. */
static void reply_store_failed(struct job *j, const char *sqlerr,
			       unsigned faults, const char *what)
{
	char cause[200];

	if (store_fault_count() != faults) {
		if (store_fault_last(cause, sizeof(cause)) == ERR_INVALID) {
			log_error("manager: %s: the store is damaged: %s. The "
				  "way back: %s", what, cause,
				  NODE_STORE_WAY_BACK);
			reply_error(j, 500, "store_damaged", "the store is "
				    "damaged: %s", cause);
			return;
		}
		log_error("manager: %s: storage fault: %s", what, cause);
		reply_error(j, 507, "insufficient_storage", "the store could "
			    "not be written: %s", cause);
		return;
	}
	log_error("manager: %s: %s", what, sqlerr);
	reply_error(j, 500, "internal", "the store could not be written");
}

/* write_failed: reply_store_failed with sqlite's message on e->db, read
 * before w (NULL: no writer to undo) is rolled back, which clears it. */
static void write_failed(struct edits *e, struct job *j,
			 struct records_writer *w, unsigned faults,
			 const char *what)
{
	char sqlerr[200];

	snprintf(sqlerr, sizeof(sqlerr), "%s", sqlite3_errmsg(e->db));
	if (w)
		records_rollback(w);
	reply_store_failed(j, sqlerr, faults, what);
}

static const char *kind_name(int kind)
{
	return kind == ALLIANCE__V1__KIND__KIND_SERVICE ? "service"
						       : "announcement";
}

/* ---- one record from JSON ----------------------------------------------- */

/* A validated record, not yet written. */
struct item {
	char id[LIMIT_RECORD_ID + 1]; /* given or generated */
	int id_given;
	Alliance__V1__Service *service;          /* owned; one of the two */
	Alliance__V1__Announcement *announcement;
};

static void item_clear(struct item *it)
{
	if (it->service)
		alliance__v1__service__free_unpacked(it->service, NULL);
	if (it->announcement)
		alliance__v1__announcement__free_unpacked(it->announcement,
							  NULL);
	memset(it, 0, sizeof(*it));
}

/* item_change: it as a change of kind into ch (a tombstone when it has
 * no body); ch points into it. */
static void item_change(int kind, struct item *it, Change *ch)
{
	ch->kind = (Alliance__V1__Kind)kind;
	ch->id = it->id;
	if (it->service) {
		ch->body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
		ch->service = it->service;
	} else if (it->announcement) {
		ch->body_case = ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT;
		ch->announcement = it->announcement;
	} else {
		ch->deleted = 1;
	}
}

/* item_from_json: validate obj as a record of kind for community into it.
 * Returns ERR_OK, or ERR_INVALID with the field named in why (also a time
 * ahead of our clock: catalog_time_check), ERR_TOOBIG for a record that
 * would not fit a frame (catalog_size_check), or ERR_NOMEM. `id` is
 * optional (checked when given), `community` when given must be ours. */
static int item_from_json(const char *community, int kind, const json_t *obj,
			  struct item *it, char *why, size_t whylen)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	const json_t *v;
	int rc;

	memset(it, 0, sizeof(*it));
	if (!json_is_object(obj)) {
		snprintf(why, whylen, "must be a JSON object");
		return ERR_INVALID;
	}
	v = json_object_get(obj, "id");
	if (v && !json_is_null(v)) {
		const char *s = json_string_value(v);

		if (!s || strlen(s) != json_string_length(v) ||
		    !text_record_id_valid(s)) {
			snprintf(why, whylen, "id: must be 1 to %d characters "
				 "of A-Z a-z 0-9 . _ -", LIMIT_RECORD_ID);
			return ERR_INVALID;
		}
		snprintf(it->id, sizeof(it->id), "%s", s);
		it->id_given = 1;
	}
	v = json_object_get(obj, "community");
	if (v && !json_is_null(v) &&
	    (!json_is_string(v) || strcmp(json_string_value(v), community))) {
		snprintf(why, whylen, "community: this node publishes for "
			 "'%s' only", community);
		return ERR_INVALID;
	}
	if (kind == ALLIANCE__V1__KIND__KIND_SERVICE)
		rc = catalog_service_from_json(obj, &it->service, why, whylen);
	else
		rc = catalog_announcement_from_json(obj, &it->announcement,
						    why, whylen);
	if (rc != ERR_OK)
		return rc;
	item_change(kind, it, &ch);
	/* as it will travel: our origin, the largest seq and version */
	ch.origin = (char *)community;
	ch.seq = ch.version = INT64_MAX;
	if (catalog_size_check(&ch, why, whylen) != ERR_OK)
		return ERR_TOOBIG;
	return catalog_time_check(&ch, clock_now(), why, whylen);
}

/* new_id: EDITS_ID_HEX random hex characters into it->id. */
static int new_id(struct item *it)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[EDITS_ID_HEX / 2];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return ERR_FAIL;
	for (size_t i = 0; i < sizeof(r); i++) {
		it->id[2 * i] = hex[r[i] >> 4];
		it->id[2 * i + 1] = hex[r[i] & 15];
	}
	it->id[EDITS_ID_HEX] = '\0';
	return ERR_OK;
}

/* live: 1 when (our community, kind, id) is stored and not deleted, 0
 * when absent or a tombstone, ERR_IO/ERR_NOMEM on a store error. */
static int live(struct edits *e, int kind, const char *id)
{
	Change *ch = NULL;
	int rc = catalog_get(e->cat, e->community, kind, id, &ch);

	if (rc == ERR_NOTFOUND)
		return 0;
	if (rc != ERR_OK)
		return rc;
	rc = !ch->deleted;
	catalog_change_free(&ch);
	return rc;
}

/* put_item: write it as our next version (a tombstone when it has no
 * body). */
static int put_item(struct records_writer *w, int kind, struct item *it)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;

	item_change(kind, it, &ch);
	return records_put(w, &ch);
}

/* quota: in w's transaction, whether our community may write d (the
 * quota the hub announced: records.c). ERR_OK; else the transaction is
 * rolled back and ERR_IO returned, or ERR_TOOBIG with a 429 naming the
 * quota stored in j. */
static int quota(struct records_writer *w, struct job *j,
		 const struct quota_delta *d)
{
	char why[300];
	int rc = records_quota_admit(w, d, clock_now(), why, sizeof(why));

	if (rc == ERR_OK)
		return ERR_OK;
	records_rollback(w);
	if (rc == ERR_IO)
		return ERR_IO;
	reply_error(j, 429, "over_quota", "%s", why);
	return ERR_TOOBIG;
}

/* stored_json: the record as the store now holds it, for the reply. */
static json_t *stored_json(struct edits *e, int kind, const char *id)
{
	Change *ch = NULL;
	json_t *out;

	if (catalog_get(e->cat, e->community, kind, id, &ch) != ERR_OK)
		return NULL;
	out = catalog_change_json(ch);
	catalog_change_free(&ch);
	return out;
}

/* parse_body: the body as a JSON object, or NULL with a 400 stored. */
static json_t *parse_body(struct job *j)
{
	json_error_t jerr;
	json_t *json;

	if (!j->body || !j->body_len) {
		reply_error(j, 400, "malformed", "the body is empty");
		return NULL;
	}
	json = json_loadb(j->body, j->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json) {
		reply_error(j, 400, "malformed", "the body is not JSON: %s at "
			    "line %d column %d", jerr.text, jerr.line,
			    jerr.column);
		return NULL;
	}
	if (!json_is_object(json)) {
		json_decref(json);
		reply_error(j, 400, "malformed", "the body is not a JSON "
			    "object");
		return NULL;
	}
	return json;
}

/* ---- create, replace, delete ------------------------------------------- */

static void run_single(struct edits *e, struct job *j)
{
	struct records_writer w, *undo = NULL;
	struct item it;
	json_t *body = NULL, *out;
	unsigned faults = store_fault_count();
	char why[512];
	int rc, exists;

	memset(&it, 0, sizeof(it));
	if (j->op != EDIT_DELETE) {
		body = parse_body(j);
		if (!body)
			return;
		rc = item_from_json(e->community, j->record_kind, body, &it,
				    why, sizeof(why));
		json_decref(body);
		if (rc == ERR_NOMEM)
			goto internal;
		if (rc != ERR_OK) {
			reply_error(j, rc == ERR_TOOBIG ? 413 : 422, rc ==
				    ERR_TOOBIG ? "too_large" : "invalid", "%s",
				    why);
			goto out;
		}
	}
	if (j->op == EDIT_REPLACE && it.id_given &&
	    strcmp(it.id, j->record_id) != 0) {
		reply_error(j, 422, "invalid", "id: '%s' differs from the id "
			    "in the path", it.id);
		goto out;
	}
	if (j->op != EDIT_CREATE)
		snprintf(it.id, sizeof(it.id), "%s", j->record_id);
	else if (!it.id_given && new_id(&it) != ERR_OK)
		goto internal;

	if (records_begin(&w, e->cat, e->db, e->community) != ERR_OK)
		goto internal;
	exists = live(e, j->record_kind, it.id);
	if (exists < 0)
		goto rollback;
	if (j->op == EDIT_CREATE && exists) {
		records_rollback(&w);
		reply_error(j, 409, "conflict", "id: %s '%s' exists already",
			    kind_name(j->record_kind), it.id);
		goto out;
	}
	if (j->op != EDIT_CREATE && !exists) {
		records_rollback(&w);
		reply_error(j, 404, "not_found", "no %s '%s'",
			    kind_name(j->record_kind), it.id);
		goto out;
	}
	if (j->op != EDIT_DELETE) {  /* a deletion is always taken */
		struct quota_delta d = { 0, 0, 0 };
		Change ch = ALLIANCE__V1__CHANGE__INIT;
		uint64_t old_bytes = 0;
		int old_live = 0;

		if (catalog_record_size(e->cat, e->community, j->record_kind,
					it.id, &old_live, &old_bytes) != ERR_OK)
			goto rollback;
		item_change(j->record_kind, &it, &ch);
		quota_delta_add(&d, old_live, old_bytes, &ch);
		rc = quota(&w, j, &d);
		if (rc == ERR_IO)
			goto internal;
		if (rc != ERR_OK)
			goto out;
	}
	if (put_item(&w, j->record_kind, &it) != ERR_OK)
		goto rollback;
	if (records_commit(&w) != ERR_OK)
		goto internal;
	j->written = 1;
	if (j->op == EDIT_DELETE) {
		reply_json(j, 204, NULL);
		goto out;
	}
	out = stored_json(e, j->record_kind, it.id);
	if (!out)
		goto internal;
	reply_json(j, j->op == EDIT_CREATE ? 201 : 200, out);
	goto out;
rollback:
	undo = &w;
internal:
	snprintf(why, sizeof(why), "cannot write %s '%s'",
		 kind_name(j->record_kind), it.id);
	write_failed(e, j, undo, faults, why);
out:
	item_clear(&it);
}

/* ---- bulk ------------------------------------------------------------------ */

static void run_bulk(struct edits *e, struct job *j)
{
	struct records_writer w, *undo = NULL;
	struct quota_delta d = { 0, 0, 0 };
	struct item *items = NULL;
	json_t *body, *arr, *ids = NULL;
	size_t n = 0, i;
	unsigned faults = store_fault_count();
	char why[512];
	int rc;

	body = parse_body(j);
	if (!body)
		return;
	arr = json_object_get(body, "items");
	if (!json_is_array(arr)) {
		reply_error(j, 422, "invalid", "items: required, a list of "
			    "%ss", kind_name(j->record_kind));
		goto out;
	}
	n = json_array_size(arr);
	if (n > LIMIT_BULK_ITEMS) {
		reply_error(j, 413, "too_large", "items: %zu of them, more "
			    "than %u in one import", n, LIMIT_BULK_ITEMS);
		n = 0;
		goto out;
	}
	items = calloc(n ? n : 1, sizeof(*items));
	if (!items)
		goto internal;
	for (i = 0; i < n; i++) {
		rc = item_from_json(e->community, j->record_kind,
				    json_array_get(arr, i), &items[i], why,
				    sizeof(why));
		if (rc == ERR_NOMEM)
			goto internal;
		if (rc != ERR_OK) {
			reply_error(j, rc == ERR_TOOBIG ? 413 : 422, rc ==
				    ERR_TOOBIG ? "too_large" : "invalid",
				    "items[%zu]: %s", i, why);
			goto out;
		}
	}
	ids = json_array();
	if (!ids || records_begin(&w, e->cat, e->db, e->community) != ERR_OK)
		goto internal;
	/* every item is a new record (an id that exists is a conflict) */
	for (i = 0; i < n; i++) {
		Change ch = ALLIANCE__V1__CHANGE__INIT;

		item_change(j->record_kind, &items[i], &ch);
		quota_delta_add(&d, 0, 0, &ch);
	}
	rc = quota(&w, j, &d);
	if (rc == ERR_IO)
		goto internal;
	if (rc != ERR_OK)
		goto out;
	for (i = 0; i < n; i++) {
		int exists;

		if (!items[i].id_given && new_id(&items[i]) != ERR_OK)
			goto rollback;
		exists = live(e, j->record_kind, items[i].id);
		if (exists < 0)
			goto rollback;
		if (exists && items[i].id_given) {
			records_rollback(&w);
			reply_error(j, 409, "conflict", "items[%zu].id: %s "
				    "'%s' exists already (or is given twice)",
				    i, kind_name(j->record_kind), items[i].id);
			goto out;
		}
		if (exists) {   /* a generated id met an old one: draw again */
			i--;
			continue;
		}
		if (put_item(&w, j->record_kind, &items[i]) != ERR_OK ||
		    json_array_append_new(ids, json_string(items[i].id)))
			goto rollback;
	}
	if (records_commit(&w) != ERR_OK)
		goto internal;
	j->written = n;
	reply_json(j, 200, json_pack("{s:I, s:O}", "created", (json_int_t)n,
				     "ids", ids));
	goto out;
rollback:
	undo = &w;
internal:
	snprintf(why, sizeof(why), "bulk import of %zu %ss", n,
		 kind_name(j->record_kind));
	write_failed(e, j, undo, faults, why);
out:
	for (i = 0; items && i < n; i++)
		item_clear(&items[i]);
	free(items);
	json_decref(ids);
	json_decref(body);
}

void edits_run(struct edits *e, struct job *j)
{
	if (j->op == EDIT_BULK)
		run_bulk(e, j);
	else
		run_single(e, j);
}
