/* checkin.c: safety check-in at the node (a bulletin signed with
 * check_in asks residents to confirm they are safe).
 *
 * Who answered stays here; the hub gets counts only. Three ways in:
 *   - a per-recipient link (checkin.html?b=BULLETIN#TOKEN): minted for
 *     one listed resident and one check-in (128 random bits, kept as
 *     SHA-256 only), good for one answer while the bulletin is open; the
 *     outbox can put the URL into an SMS;
 *   - a signed-in resident (bearer token): counted for the listed
 *     resident whose phone is her confirmed phone, else as herself;
 *   - anyone else: counted apart (anonymous), never marking anyone safe.
 * "Needs help" (from any of them but anonymous, or from a grid worker's
 * call) becomes an urgent request, first in this community's queue; it
 * is never relayed (the request carries the resident's name and phone,
 * which stay here). A later "safe" does not clear "needs help": only a
 * call does. A check-in is open while its bulletin is current: neither
 * cancelled, updated nor past its expiry. An update that asks for a
 * check-in too carries it on (CAP: the update replaces the bulletin):
 * the answers, anonymous taps and calls so far count for the update, the
 * links sent keep working and answer it, the texts not sent yet go with
 * it, and the replaced bulletin's check-in is closed; whatever names the
 * replaced one (an old link, the console) reaches the update's. An
 * update that asks for none ends the check-in. Residents added to the
 * list while a check-in is open get their link then, once.
 *
 * The manager keeps the list of residents who need a call (living
 * alone, over 80, disabled: name, phone, address, grid worker), at most
 * LIMIT_CHECKIN_RESIDENTS, each field checked; during a check-in the
 * console shows them by state and the grid worker records each call's
 * outcome. Every change rewrites the community's KIND_CHECKIN record in
 * the relay outbox (one pending per bulletin: the newest wins).
 *
 *   POST /api/v1/bulletins/{id}/check-in           anyone: {answer, token?}
 *   GET  /api/v1/bulletins/{id}/check-in           manager: by state
 *   POST /api/v1/bulletins/{id}/check-in/links     manager: mint links
 *                                                  (node_checkin_mint,
 *                                                  the outbox's too)
 *   POST /api/v1/bulletins/{id}/check-in/calls     manager: a call's outcome
 *   GET|POST /api/v1/check-in/residents            manager: the list
 *   DELETE /api/v1/check-in/residents/{id}         manager
 *
 * This file holds the check-in and the residents' side; the list, the
 * calls and the manager's view are checkin_manage.c's. Parts: schema;
 * helpers both use; the check-in and its counts; answers; the public
 * answer; links; the rows of the route table. */
#include <inttypes.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulletin_store.h"
#include "civic.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "text.h"

/* What record and link_take return when an answer or a link's one use
 * is there already (a 409): the rule is broken, nothing is written. */
#define ANSWERED ERR_INVALID
/* Hex digits of a link's token. */
#define CHECKIN_TOKEN_LEN 32

/* ---- schema ------------------------------------------------------------------ */

const char node_checkin_schema_v1[] =
	"CREATE TABLE checkin_resident ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  phone TEXT NOT NULL UNIQUE,"     /* digits (text_phone_digits) */
	"  address TEXT NOT NULL,"
	"  worker TEXT NOT NULL DEFAULT '',"/* the grid worker who calls */
	"  needs TEXT NOT NULL DEFAULT '[]',"/* JSON: living-alone, ... */
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE checkin_link ("
	"  hash BLOB PRIMARY KEY,"          /* SHA-256 of the token */
	"  bulletin TEXT NOT NULL,"
	"  resident INTEGER NOT NULL,"
	"  made INTEGER NOT NULL,"
	"  used INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (bulletin, resident)"
	");"
	/* who: "r" and a listed resident's id, or "a" and an account's */
	"CREATE TABLE checkin_answer ("
	"  bulletin TEXT NOT NULL,"
	"  who TEXT NOT NULL,"
	"  state TEXT NOT NULL,"            /* safe, help */
	"  source TEXT NOT NULL,"           /* link, account, call */
	"  at INTEGER NOT NULL,"
	"  request TEXT,"                   /* the request "help" made */
	"  PRIMARY KEY (bulletin, who)"
	") WITHOUT ROWID;"
	"CREATE TABLE checkin_call ("
	"  id INTEGER PRIMARY KEY,"
	"  bulletin TEXT NOT NULL,"
	"  resident INTEGER NOT NULL,"
	"  outcome TEXT NOT NULL,"
	"  note TEXT NOT NULL,"
	"  at INTEGER NOT NULL"
	");"
	"CREATE INDEX checkin_call_of ON checkin_call (bulletin, resident);"
	"CREATE TABLE checkin_anonymous ("
	"  bulletin TEXT PRIMARY KEY,"
	"  safe INTEGER NOT NULL DEFAULT 0,"
	"  help INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	REQUEST_SCHEMA_URGENT;

/* ---- helpers both use ---------------------------------------------------------- */

int checkin_text_ok(const char *s, size_t max, int lines)
{
	size_t len = strlen(s);

	if (len > max || !text_utf8_valid(s, len))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == 0x7f || (ch < 0x20 && !(lines && (ch == '\n' ||
			ch == '\r' || ch == '\t'))))
			return 0;
	}
	return 1;
}

sqlite3_stmt *checkin_prepare(struct node *n, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(n->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_error("check-in: %s", sqlite3_errmsg(n->db));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

/* ---- the check-in and its counts ------------------------------------------ */

/* successor: the stored update of bulletin id (the newest, when more
 * than one) into out; 0 when none. */
static int successor(struct node *n, const char *id,
		     char out[LIMIT_RECORD_ID + 1])
{
	sqlite3_stmt *st = checkin_prepare(n, "SELECT r.id FROM bulletin_ref r"
					   " JOIN bulletin b ON b.id = r.id "
					   "WHERE r.ref = ?1 AND r.type = "
					   "'update' ORDER BY b.sent DESC, "
					   "r.id DESC LIMIT 1");
	int found = 0;

	if (!st)
		return 0;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, LIMIT_RECORD_ID + 1, "%s",
			 (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

/* checkin_get: bulletin id into row, or, when updates that ask for a
 * check-in carried its check-in on, the newest of them (at most
 * LIMIT_CHECKIN_CHAIN steps). ERR_OK, ERR_NOTFOUND or ERR_IO. */
static int checkin_get(struct node *n, const char *id,
		       struct bulletin_row *row)
{
	char next[LIMIT_RECORD_ID + 1];
	int rc = bulletin_store_get(n->db, id, clock_now(), row);

	for (int i = 0; rc == ERR_OK && i < LIMIT_CHECKIN_CHAIN &&
	     row->c->check_in && strcmp(row->status, "updated") == 0 &&
	     successor(n, row->c->id, next); i++) {
		struct bulletin_row up;

		memset(&up, 0, sizeof(up));
		if (bulletin_store_get(n->db, next, clock_now(), &up) !=
		    ERR_OK || !up.c->check_in) {
			bulletin_row_free(&up);
			break;
		}
		bulletin_row_free(row);
		*row = up;
	}
	return rc;
}

int checkin_open(struct node *n, struct lws *wsi,
			struct http_exchange *ex, const char *id,
			BulletinContent **c, int closed_ok, int *open)
{
	struct bulletin_row row;
	int rc;

	*c = NULL;
	memset(&row, 0, sizeof(row));
	rc = text_record_id_valid(id) ? checkin_get(n, id, &row)
				      : ERR_NOTFOUND;
	if (rc == ERR_NOTFOUND) {
		http_reply_error(wsi, ex, 404, "not_found", "no bulletin %.80s "
				 "here", id);
		return rc;
	}
	if (rc != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "the bulletins "
				 "cannot be read");
		return rc;
	}
	if (!row.c->check_in) {
		http_reply_error(wsi, ex, 422, "invalid", "bulletin %s asks for "
				 "no check-in", id);
		bulletin_row_free(&row);
		return ERR_INVALID;
	}
	*open = strcmp(row.status, "current") == 0;
	if (!*open && !closed_ok) {
		http_reply_error(wsi, ex, 409, "closed", "the check-in of "
				 "bulletin %s is over (%s)", id, row.status);
		bulletin_row_free(&row);
		return ERR_DENIED;
	}
	*c = row.c;
	row.c = NULL;
	bulletin_row_free(&row);
	return ERR_OK;
}

int checkin_count(struct node *n, const char *bulletin, struct checkin_counts *k)
{
	sqlite3_stmt *st = checkin_prepare(n,
		"SELECT (SELECT count(*) FROM checkin_resident),"
		" (SELECT count(*) FROM checkin_answer a WHERE bulletin = ?1 AND"
		"  state = 'safe' AND (who LIKE 'a%' OR EXISTS (SELECT 1 FROM"
		"  checkin_resident r WHERE 'r' || r.id = a.who))),"
		" (SELECT count(*) FROM checkin_answer a WHERE bulletin = ?1 AND"
		"  state = 'help' AND (who LIKE 'a%' OR EXISTS (SELECT 1 FROM"
		"  checkin_resident r WHERE 'r' || r.id = a.who))),"
		" (SELECT count(*) FROM checkin_resident r WHERE NOT EXISTS"
		"  (SELECT 1 FROM checkin_answer a WHERE a.bulletin = ?1 AND"
		"  a.who = 'r' || r.id)),"
		" coalesce((SELECT safe FROM checkin_anonymous WHERE bulletin ="
		"  ?1), 0),"
		" coalesce((SELECT help FROM checkin_anonymous WHERE bulletin ="
		"  ?1), 0)");
	int rc;

	if (!st)
		return ERR_IO;
	sqlite3_bind_text(st, 1, bulletin, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		k->listed = sqlite3_column_int64(st, 0);
		k->confirmed = sqlite3_column_int64(st, 1);
		k->needs_help = sqlite3_column_int64(st, 2);
		k->not_yet = sqlite3_column_int64(st, 3);
		k->anon_safe = sqlite3_column_int64(st, 4);
		k->anon_help = sqlite3_column_int64(st, 5);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? ERR_OK : ERR_IO;
}

/* put_counts: bulletin's counts into the relay outbox for the hub (in the
 * caller's transaction), replacing what was pending. ERR_OK or ERR_IO. */
static int put_counts(struct node *n, const char *bulletin)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__CheckInCounts k = ALLIANCE__V1__CHECK_IN_COUNTS__INIT;
	struct checkin_counts c;

	if (checkin_count(n, bulletin, &c) != ERR_OK)
		return ERR_IO;
	k.confirmed = (uint64_t)c.confirmed;
	k.not_yet = (uint64_t)c.not_yet;
	k.needs_help = (uint64_t)c.needs_help;
	k.anonymous_safe = (uint64_t)c.anon_safe;
	k.anonymous_help = (uint64_t)c.anon_help;
	k.updated = clock_now();
	ch.origin = n->cfg.community;
	ch.kind = ALLIANCE__V1__KIND__KIND_CHECKIN;
	ch.id = (char *)bulletin;
	ch.version = relay_next_version(n);
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_CHECKIN;
	ch.checkin = &k;
	return relay_outbox_put(n, &ch);
}

/* recount_one: put_counts of bulletin c when it is an open check-in
 * (checkin_recount_open). */
static int recount_one(const BulletinContent *c, const char *status,
		       void *arg)
{
	struct node *n = arg;

	if (!c->check_in || strcmp(status, "current") != 0)
		return ERR_OK;
	return put_counts(n, c->id);
}

int checkin_recount_open(struct node *n)
{
	return bulletin_store_each(n->db, clock_now(), 1, 0, recount_one, n);
}

/* What link_sms needs: the node and the check-in's bulletin. */
struct link_sms_ctx {
	struct node *n;
	const BulletinContent *c;
	int sent;
};

/* link_sms: one minted link into the outbox, an SMS to her phone until
 * the bulletin expires (node_checkin_mint's each). */
static int link_sms(int64_t resident, const char *name, const char *phone,
		    const char *url, void *arg)
{
	struct link_sms_ctx *x = arg;
	const struct node_config *cfg = &x->n->cfg;
	char text[LIMIT_BULLETIN_HEADLINE + 1024], to[32];
	int rc;

	(void)name;
	(void)phone;
	snprintf(text, sizeof(text), "【%s】%s。请点链接报平安：%s",
		 cfg->name ? cfg->name : cfg->community, x->c->headline, url);
	snprintf(to, sizeof(to), "listed:%" PRId64, resident);
	rc = outbox_enqueue(x->n->db, cfg->community, "check-in", x->c->id,
			    to, json_pack("{s:s, s:s}", "check_in", x->c->id,
					  "text", text), x->c->expires);
	x->sent += rc == ERR_OK;
	return rc;
}

/* links_sms: with an SMS gateway ([sms] url), a personal link for every
 * listed resident who has none for the open check-in c, each into the
 * outbox as an SMS (the caller's transaction: a link is minted once,
 * with its message, or neither); without one the manager hands out the
 * links (POST .../check-in/links). *sent grows by the links sent. */
static int links_sms(struct node *n, const BulletinContent *c, int *sent)
{
	struct link_sms_ctx x = { .n = n, .c = c };
	int rc;

	if (!n->cfg.sms_url)
		return ERR_OK;
	rc = node_checkin_mint(n, c->id, 0, link_sms, &x);
	*sent += x.sent;
	return rc;
}

/* links_one: links_sms of an open check-in (checkin_links_open's each). */
static int links_one(const BulletinContent *c, const char *status, void *arg)
{
	struct link_sms_ctx *x = arg;

	if (!c->check_in || strcmp(status, "current") != 0)
		return ERR_OK;
	return links_sms(x->n, c, &x->sent);
}

int checkin_links_open(struct node *n, int *sent)
{
	struct link_sms_ctx x = { .n = n };
	int rc = bulletin_store_each(n->db, clock_now(), 1, 0, links_one, &x);

	*sent = x.sent;
	return rc;
}

/* carry: in the caller's transaction, what check-in from bulletin ref
 * (replaced by the update to) counts for to: the answers (a later one to
 * to stays), the anonymous taps, the calls, the links (a text of ref's
 * not sent yet goes as to's, until to's expiry). ERR_OK or ERR_IO. */
static int carry(struct node *n, const char *ref, const BulletinContent *to)
{
	static const char *const sql[] = {
		"INSERT OR IGNORE INTO checkin_answer (bulletin, who, state, "
		"source, at, request) SELECT ?2, who, state, source, at, "
		"request FROM checkin_answer WHERE bulletin = ?1",
		"INSERT INTO checkin_anonymous (bulletin, safe, help) SELECT "
		"?2, safe, help FROM checkin_anonymous WHERE bulletin = ?1 AND "
		"?3 = ?3 ON CONFLICT (bulletin) DO UPDATE SET safe = min(safe "
		"+ excluded.safe, ?4), help = min(help + excluded.help, ?4)",
		"INSERT INTO checkin_call (bulletin, resident, outcome, note, "
		"at) SELECT ?2, resident, outcome, note, at FROM checkin_call "
		"WHERE bulletin = ?1 ORDER BY id",
		"UPDATE OR IGNORE checkin_link SET bulletin = ?2 WHERE bulletin "
		"= ?1",
		"UPDATE outbox SET source = ?2, deadline = ?3 WHERE kind = "
		"'check-in' AND source = ?1 AND resident < 0 AND state IN "
		"('pending', 'failed', 'sending')",
	};

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st = checkin_prepare(n, sql[i]);
		int rc;

		if (!st)
			return ERR_IO;
		sqlite3_bind_text(st, 1, ref, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, to->id, -1, SQLITE_STATIC);
		if (sqlite3_bind_parameter_count(st) >= 3)
			sqlite3_bind_int64(st, 3, to->expires);
		if (sqlite3_bind_parameter_count(st) >= 4)
			sqlite3_bind_int64(st, 4, RELAY_CHECKIN_COUNT_MAX);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return ERR_IO;
	}
	log_info("check-in %s: carried on by its update %s", ref, to->id);
	return ERR_OK;
}

/* carry_refs: carry of each bulletin c replaces that asked for a
 * check-in (c is an update asking for one). ERR_OK or ERR_IO. */
static int carry_refs(struct node *n, const BulletinContent *c)
{
	int rc = ERR_OK;

	if (strcmp(c->type, "update") != 0)
		return ERR_OK;
	for (size_t i = 0; rc == ERR_OK && i < c->n_references; i++) {
		struct bulletin_row ref;

		memset(&ref, 0, sizeof(ref));
		rc = bulletin_store_get(n->db, c->references[i], clock_now(),
					&ref);
		if (rc == ERR_NOTFOUND)
			rc = ERR_OK;
		else if (rc == ERR_OK && ref.c->check_in)
			rc = carry(n, ref.c->id, c);
		bulletin_row_free(&ref);
	}
	return rc;
}

void node_checkin_started(struct node *n, const char *bulletin)
{
	struct bulletin_row row;
	int sent = 0, rc;

	if (!n->civic)
		return;
	memset(&row, 0, sizeof(row));
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		return;
	rc = bulletin_store_get(n->db, bulletin, clock_now(), &row);
	if (rc == ERR_OK && strcmp(row.status, "current") == 0)
		rc = carry_refs(n, row.c);
	if (rc == ERR_OK && strcmp(row.status, "current") == 0)
		rc = links_sms(n, row.c, &sent);
	bulletin_row_free(&row);
	if ((rc != ERR_OK && rc != ERR_NOTFOUND) ||
	    put_counts(n, bulletin) != ERR_OK ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		log_error("check-in %s: the first counts and the links could "
			  "not be kept", bulletin);
		return;
	}
	log_info("check-in %s: started; %d personal links minted for SMS",
		 bulletin, sent);
	outbox_wake(n);
	relay_flush(n);
}

/* ---- answers ------------------------------------------------------------------ */

/* help_request: an urgent request in this community's queue for who in
 * bulletin c (in the caller's transaction); its id into id. */
static int help_request(struct node *n, const BulletinContent *c,
			const struct checkin_who *w, const char *note, char *id,
			size_t idlen)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	unsigned char th[32] = { 0 };
	char desc[RELAY_DESCRIPTION_BYTES];
	int rc;

	if (relay_request_id(n->cfg.community, id, idlen) != ERR_OK)
		return ERR_FAIL;
	snprintf(desc, sizeof(desc), "安全确认：需要帮助 / Check-in: needs "
		 "help (%s; %s)%s%.*s", c->headline, w->source,
		 note && *note ? " — " : "", note ? CHECKIN_NOTE_MAX : 0,
		 note ? note : "");
	r.owner = n->cfg.community;
	r.service_id = (char *)CHECKIN_SERVICE_ID;
	r.description = desc;
	r.name = (char *)w->name;
	r.phone = (char *)w->phone;
	r.address = (char *)w->address;
	r.requested = clock_now();
	ch.origin = n->cfg.community;
	ch.kind = ALLIANCE__V1__KIND__KIND_REQUEST;
	ch.id = id;
	ch.version = relay_next_version(n);
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	ch.request = &r;
	/* kept here only: never in the relay outbox */
	rc = request_store_add(n->civic->requests, &ch, "安全确认：需要帮助 / "
			       "Check-in: needs help", th, w->account);
	if (rc == ERR_OK)
		rc = request_store_set_urgent(n->civic->requests, ch.origin,
					      id);
	return rc;
}

/* help_webhook: "needs help" of who in check-in c, request req, to the
 * manager's webhook endpoints that take check-ins (the caller's
 * transaction), once per resident and check-in: her name and address
 * and the request, never her phone (the console has it). */
static int help_webhook(struct node *n, const BulletinContent *c,
			const struct checkin_who *w, const char *req)
{
	char source[2 * LIMIT_RECORD_ID + 32], text[1024];
	const char *name = n->cfg.name ? n->cfg.name : n->cfg.community;

	snprintf(source, sizeof(source), "%s/%s", c->id, w->key);
	snprintf(text, sizeof(text), "【%s】安全确认：%s%s%s需要帮助（%s）",
		 name, w->name, *w->address ? "，" : "", w->address,
		 w->source);
	return outbox_enqueue(n->db, n->cfg.community, "check-in", source,
			      "endpoints", json_pack("{s:s, s:s, s:s, s:s, "
			      "s:s, s:s, s:s}", "check_in", c->id, "answer",
			      "help", "by", w->source, "name", w->name,
			      "address", w->address, "request", req, "text",
			      text), clock_now() + LIMIT_OUTBOX_STATUS_S);
}

int checkin_record(struct node *n, const BulletinContent *c,
		  const struct checkin_who *w, const char *state, int force,
		  const char *note, char *was, size_t waslen)
{
	sqlite3_stmt *st;
	char req[RELAY_REQUEST_ID_MAX + 1] = "";
	int rc, has = 0;

	*was = '\0';
	st = checkin_prepare(n, "SELECT state, request FROM checkin_answer WHERE"
		     " bulletin = ?1 AND who = ?2");
	if (!st)
		return ERR_IO;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, w->key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		has = 1;
		snprintf(was, waslen, "%s", sqlite3_column_text(st, 0));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			snprintf(req, sizeof(req), "%s",
				 sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ERR_IO;
	if (!force && has && (strcmp(was, "help") == 0 ||
			      strcmp(state, "safe") == 0))
		return ANSWERED;
	if (strcmp(state, "help") == 0 && !*req) {
		rc = help_request(n, c, w, note, req, sizeof(req));
		if (rc == ERR_OK)
			rc = help_webhook(n, c, w, req);
		if (rc != ERR_OK)
			return rc;
	}
	st = checkin_prepare(n, "INSERT INTO checkin_answer (bulletin, who, state,"
		     " source, at, request) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON"
		     " CONFLICT (bulletin, who) DO UPDATE SET state ="
		     " excluded.state, source = excluded.source, at ="
		     " excluded.at, request = excluded.request");
	if (!st)
		return ERR_IO;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, w->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, w->source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, clock_now());
	if (*req)
		sqlite3_bind_text(st, 6, req, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ERR_IO;
	return put_counts(n, c->id);
}

int checkin_listed_get(struct node *n, int64_t id, const char *phone,
		      struct checkin_listed *l)
{
	sqlite3_stmt *st = checkin_prepare(n, "SELECT id, name, phone, address FROM"
				   " checkin_resident WHERE id = ?1 OR phone"
				   " = ?2");
	int rc;

	if (!st)
		return ERR_IO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, phone ? phone : "", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		l->id = sqlite3_column_int64(st, 0);
		snprintf(l->name, sizeof(l->name), "%s",
			 sqlite3_column_text(st, 1));
		snprintf(l->phone, sizeof(l->phone), "%s",
			 sqlite3_column_text(st, 2));
		snprintf(l->address, sizeof(l->address), "%s",
			 sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? ERR_OK : rc == SQLITE_DONE ? ERR_NOTFOUND
							     : ERR_IO;
}

void checkin_who_listed(struct checkin_who *w,
			const struct checkin_listed *l, const char *source)
{
	snprintf(w->key, sizeof(w->key), "r%" PRId64, l->id);
	w->name = l->name;
	w->phone = l->phone;
	w->address = l->address;
	w->source = source;
}

/* ---- the public answer ------------------------------------------------------ */

/* link_take: the listed resident of token for bulletin, marking the link
 * used (caller's transaction). ERR_OK with l; ERR_DENIED (no such link
 * for this bulletin), ANSWERED (used), or ERR_IO. */
static int link_take(struct node *n, const char *bulletin,
		     const char *token, struct checkin_listed *l)
{
	unsigned char hash[32];
	sqlite3_stmt *st;
	int64_t resident = 0, used = 0;
	int rc;

	if (strlen(token) != CHECKIN_TOKEN_LEN ||
	    strspn(token, "0123456789abcdef") != CHECKIN_TOKEN_LEN)
		return ERR_DENIED;
	SHA256((const unsigned char *)token, CHECKIN_TOKEN_LEN, hash);
	st = checkin_prepare(n, "SELECT resident, used FROM checkin_link WHERE hash ="
		     " ?1 AND bulletin = ?2");
	if (!st)
		return ERR_IO;
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_text(st, 2, bulletin, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		resident = sqlite3_column_int64(st, 0);
		used = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return ERR_DENIED;
	if (rc != SQLITE_ROW)
		return ERR_IO;
	if (used)
		return ANSWERED;
	rc = checkin_listed_get(n, resident, NULL, l);
	if (rc == ERR_NOTFOUND)
		return ERR_DENIED;      /* taken off the list since */
	if (rc != ERR_OK)
		return rc;
	st = checkin_prepare(n, "UPDATE checkin_link SET used = ?2 WHERE hash = ?1");
	if (!st)
		return ERR_IO;
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, clock_now());
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

/* anonymous: one more anonymous tap of state (caller's transaction). */
static int anonymous(struct node *n, const char *bulletin, const char *state)
{
	sqlite3_stmt *st = checkin_prepare(n, strcmp(state, "safe") == 0
		? "INSERT INTO checkin_anonymous (bulletin, safe) VALUES (?1, 1)"
		  " ON CONFLICT (bulletin) DO UPDATE SET safe = min(safe + 1, ?2)"
		: "INSERT INTO checkin_anonymous (bulletin, help) VALUES (?1, 1)"
		  " ON CONFLICT (bulletin) DO UPDATE SET help = min(help + 1, ?2)");
	int rc;

	if (!st)
		return ERR_IO;
	sqlite3_bind_text(st, 1, bulletin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, RELAY_CHECKIN_COUNT_MAX);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? put_counts(n, bulletin) : ERR_IO;
}

/* answer: POST /api/v1/bulletins/{id}/check-in. */
static void answer(struct node *n, struct lws *wsi, struct http_exchange *ex,
		   const char *id)
{
	json_t *in = http_parse_json(wsi, ex);
	const char *state, *token;
	BulletinContent *c = NULL;
	struct resident_row acct;
	struct checkin_listed l;
	struct checkin_who w = { 0 };
	char peer[64], was[16];
	const char *as = "anonymous";
	int rc = ERR_OK, open, link_used = 0;
	int64_t account;

	if (!in)
		return;
	state = json_string_value(json_object_get(in, "answer"));
	token = json_string_value(json_object_get(in, "token"));
	if (!state || (strcmp(state, "safe") != 0 &&
		       strcmp(state, "help") != 0)) {
		http_reply_error(wsi, ex, 422, "invalid", "answer: safe or "
				 "help");
		goto out;
	}
	if (json_object_get(in, "token") && !token) {
		http_reply_error(wsi, ex, 422, "invalid", "token: a string");
		goto out;
	}
	if (checkin_open(n, wsi, ex, id, &c, 0, &open) != ERR_OK)
		goto out;
	account = token ? 0 : residents_bearer(n, wsi);
	/* anonymous taps are limited per address as votes are (a link
	 * answers once, an account once per state) */
	civic_peer(wsi, peer, sizeof(peer));
	if (!token && !account &&
	    civic_limited(n->civic->rl_vote, peer, wsi, ex, 0))
		goto done_free;
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		rc = ERR_IO;
		goto done;
	}
	if (token) {
		rc = link_take(n, c->id, token, &l);
		link_used = rc == ANSWERED;
		if (rc == ERR_OK) {
			checkin_who_listed(&w, &l, "link");
			as = "listed";
		}
	} else if (account) {
		memset(&acct, 0, sizeof(acct));
		rc = resident_store_get(n->civic->residents, account, &acct);
		/* her confirmed phone makes her the listed resident */
		if (rc == ERR_OK && acct.confirmed && acct.phone[0] &&
		    checkin_listed_get(n, 0, acct.phone, &l) == ERR_OK) {
			checkin_who_listed(&w, &l, "account");
			w.account = account;
			as = "listed";
		} else if (rc == ERR_OK) {
			snprintf(w.key, sizeof(w.key), "a%" PRId64, account);
			w.name = acct.name;
			w.phone = acct.phone;
			w.address = "";
			w.account = account;
			w.source = "account";
			as = "account";
		}
	}
	if (rc == ERR_OK)
		rc = w.source ? checkin_record(n, c, &w, state, 0, NULL, was,
				       sizeof(was))
			      : anonymous(n, c->id, state);
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		if (rc == ERR_OK)
			rc = ERR_IO;
	}
done:
	if (rc == ERR_DENIED)
		http_reply_error(wsi, ex, 401, "unauthorized", "token: not a "
				 "link of this check-in");
	else if (link_used)
		http_reply_error(wsi, ex, 409, "conflict", "token: this link "
				 "was used already");
	else if (rc == ANSWERED)
		http_reply_error(wsi, ex, 409, "conflict", "answer: %s was "
				 "recorded already%s", was, strcmp(was, "help")
				 == 0 ? "; the grid worker's call clears it"
				 : "");
	else if (rc != ERR_OK)
		http_reply_error(wsi, ex, 500, "internal", "the answer could "
				 "not be stored");
	else {
		log_info("check-in %s: an answer (%s, %s)", c->id, as, state);
		outbox_wake(n);
		relay_flush(n);
		http_reply_json(wsi, ex, 200, json_pack("{s:s, s:s, s:s}",
			"bulletin", c->id, "answer", state, "counted_as", as));
	}
done_free:
	bulletin_content_free(&c);
out:
	json_decref(in);
}

/* ---- links ------------------------------------------------------------------ */

int node_checkin_mint(struct node *n, const char *bulletin, int64_t only,
		      checkin_link_fn each, void *arg)
{
	sqlite3_stmt *sel = NULL, *put = NULL;
	int rc = ERR_OK, step = SQLITE_DONE;

	if (only) {
		put = checkin_prepare(n, "DELETE FROM checkin_link WHERE bulletin = ?1"
			      " AND resident = ?2");
		if (!put)
			return ERR_IO;
		sqlite3_bind_text(put, 1, bulletin, -1, SQLITE_STATIC);
		sqlite3_bind_int64(put, 2, only);
		rc = sqlite3_step(put) == SQLITE_DONE ? ERR_OK : ERR_IO;
		sqlite3_finalize(put);
	}
	sel = checkin_prepare(n, "SELECT id, name, phone FROM checkin_resident r"
		      " WHERE (?2 = 0 OR id = ?2) AND NOT EXISTS (SELECT 1 FROM"
		      " checkin_link l WHERE l.bulletin = ?1 AND l.resident ="
		      " r.id) ORDER BY id");
	put = checkin_prepare(n, "INSERT INTO checkin_link (hash, bulletin, resident,"
		      " made) VALUES (?1, ?2, ?3, ?4)");
	if (!sel || !put)
		rc = ERR_IO;
	else {
		sqlite3_bind_text(sel, 1, bulletin, -1, SQLITE_STATIC);
		sqlite3_bind_int64(sel, 2, only);
	}
	while (rc == ERR_OK && (step = sqlite3_step(sel)) == SQLITE_ROW) {
		char token[CHECKIN_TOKEN_LEN + 1], url[1024];
		unsigned char hash[32];

		if (residents_secret(token, hash) != ERR_OK) {
			rc = ERR_FAIL;
			break;
		}
		sqlite3_reset(put);
		sqlite3_bind_blob(put, 1, hash, sizeof(hash), SQLITE_STATIC);
		sqlite3_bind_text(put, 2, bulletin, -1, SQLITE_STATIC);
		sqlite3_bind_int64(put, 3, sqlite3_column_int64(sel, 0));
		sqlite3_bind_int64(put, 4, clock_now());
		if (sqlite3_step(put) != SQLITE_DONE) {
			rc = ERR_IO;
			break;
		}
		/* the token after '#': no server or proxy log sees it */
		snprintf(url, sizeof(url), "%s/checkin.html?b=%s#%s",
			 n->cfg.public_url ? n->cfg.public_url : "", bulletin,
			 token);
		rc = each(sqlite3_column_int64(sel, 0),
			  (const char *)sqlite3_column_text(sel, 1),
			  (const char *)sqlite3_column_text(sel, 2), url, arg);
	}
	if (rc == ERR_OK && sel && step != SQLITE_DONE)
		rc = ERR_IO;
	sqlite3_finalize(sel);
	sqlite3_finalize(put);
	return rc;
}

/* link_json: one minted link into the JSON array arg. */
static int link_json(int64_t resident, const char *name, const char *phone,
		     const char *url, void *arg)
{
	return json_array_append_new(arg, json_pack("{s:I, s:s, s:s, s:s}",
		"resident", (json_int_t)resident, "name", name, "phone", phone,
		"url", url)) ? ERR_NOMEM : ERR_OK;
}

/* links: POST /api/v1/bulletins/{id}/check-in/links: a link for every
 * listed resident who has none for this check-in, or, with {"resident":
 * ID}, a new one for her (the old one stops working). The tokens are
 * shown once, here; only their hashes are kept. */
static void links(struct node *n, struct lws *wsi, struct http_exchange *ex,
		  const char *id)
{
	json_t *in = ex->body_len ? http_parse_json(wsi, ex) : json_object();
	json_t *items = json_array(), *one;
	BulletinContent *c = NULL;
	int64_t only = 0;
	int rc = ERR_NOMEM, open;

	if (!in)
		goto out;
	one = json_object_get(in, "resident");
	if (one && (!json_is_integer(one) || json_integer_value(one) <= 0)) {
		http_reply_error(wsi, ex, 422, "invalid", "resident: a listed "
				 "resident's id");
		goto out;
	}
	only = one ? json_integer_value(one) : 0;
	if (checkin_open(n, wsi, ex, id, &c, 0, &open) != ERR_OK)
		goto out;
	if (items && store_exec(n->db, "BEGIN IMMEDIATE") == ERR_OK) {
		rc = node_checkin_mint(n, c->id, only, link_json, items);
		if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
			store_exec(n->db, "ROLLBACK");
			rc = ERR_IO;
		}
	}
	if (rc != ERR_OK)
		http_reply_error(wsi, ex, 500, "internal", "no links made");
	else if (only && !json_array_size(items))
		http_reply_error(wsi, ex, 404, "not_found", "no listed "
				 "resident %" PRId64, only);
	else
		http_reply_json(wsi, ex, 201, json_pack("{s:O}", "items",
							items));
out:
	bulletin_content_free(&c);
	json_decref(items);
	json_decref(in);
}

/* ---- the rows of the route table (public.c) ---------------------------------- */

void checkin_on_bulletin(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m)
{
	(void)ctx;
	answer(node_from_wsi(wsi), wsi, ex, m->param[0]);
}

void checkin_on_links(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m)
{
	(void)ctx;
	links(node_from_wsi(wsi), wsi, ex, m->param[0]);
}
