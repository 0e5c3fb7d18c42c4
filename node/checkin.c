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
 * call does. A check-in is open while its bulletin is neither cancelled
 * nor past its expiry.
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
 * Parts: schema; the check-in and its counts; answers; the public
 * answer; the list; links; calls; the manager's view. */
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
#include "store.h"
#include "text.h"

/* What record and link_take return when an answer or a link's one use
 * is there already (a 409): the rule is broken, nothing is written. */
#define ANSWERED ERR_INVALID
/* A note on a call, bytes. */
#define CHECKIN_NOTE_MAX 500
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

/* The needs a listed resident may have. */
static const char *const needs_words[] = {
	"living-alone", "over-80", "disabled",
};

/* Call outcomes, and the state each sets ("" none). */
static const struct {
	const char *outcome;
	const char *state;
} outcomes[] = {
	{ "reached-safe", "safe" },
	{ "reached-needs-help", "help" },
	{ "no-answer", "" },
};

/* plain_text: s is UTF-8 of at most max bytes without control
 * characters (line breaks and tabs allowed when lines). */
static int plain_text(const char *s, size_t max, int lines)
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

/* prepare: st for sql on n's connection, or NULL (logged). The caller
 * finalizes it. */
static sqlite3_stmt *prepare(struct node *n, const char *sql)
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

/* open_checkin: bulletin id as a check-in that takes answers now. ERR_OK
 * with the content in *c (bulletin_content_free it) when it does; else
 * an error is stored (404 none, 422 no check-in, 409 cancelled or
 * expired, 500) and an ERR_* code returned. closed_ok lets a closed one
 * through (the manager's view). */
static int open_checkin(struct node *n, struct lws *wsi,
			struct http_exchange *ex, const char *id,
			BulletinContent **c, int closed_ok, int *open)
{
	struct bulletin_row row;
	int rc;

	*c = NULL;
	rc = text_record_id_valid(id) ? bulletin_store_get(n->db, id,
							   clock_now(), &row)
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
	*open = strcmp(row.status, "cancelled") != 0 &&
		row.c->expires > clock_now();
	if (!*open && !closed_ok) {
		http_reply_error(wsi, ex, 409, "closed", "the check-in of "
				 "bulletin %s is over (%s)", id,
				 strcmp(row.status, "cancelled") == 0
				 ? "cancelled" : "expired");
		bulletin_row_free(&row);
		return ERR_DENIED;
	}
	*c = row.c;
	row.c = NULL;
	bulletin_row_free(&row);
	return ERR_OK;
}

/* Counts of one check-in. */
struct counts {
	int64_t listed, confirmed, not_yet, needs_help, anon_safe, anon_help;
};

/* count: bulletin's counts from the store. ERR_OK or ERR_IO. */
static int count(struct node *n, const char *bulletin, struct counts *k)
{
	sqlite3_stmt *st = prepare(n,
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
	struct counts c;

	if (count(n, bulletin, &c) != ERR_OK)
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

/* recount_one: put_counts of every open check-in (the list changed). */
static int recount_one(const BulletinContent *c, const char *status,
		       void *arg)
{
	struct node *n = arg;

	if (!c->check_in || strcmp(status, "cancelled") == 0 ||
	    c->expires <= clock_now())
		return ERR_OK;
	return put_counts(n, c->id);
}

static int recount_open(struct node *n)
{
	return bulletin_store_each(n->db, clock_now(), 0, 0, recount_one, n);
}

void node_checkin_started(struct node *n, const char *bulletin)
{
	if (!n->civic)
		return;
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		return;
	if (put_counts(n, bulletin) != ERR_OK ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		log_error("check-in %s: the first counts could not be kept",
			  bulletin);
		return;
	}
	log_info("check-in %s: started", bulletin);
	relay_flush(n);
}

/* ---- answers ------------------------------------------------------------------ */

/* Who gives an answer, and what "needs help" files in her name. */
struct who {
	char key[32];               /* "r<id>" or "a<id>" */
	const char *name, *phone, *address; /* for the request */
	int64_t account;            /* her account, 0: none */
	const char *source;         /* link, account, call */
};

/* help_request: an urgent request in this community's queue for who in
 * bulletin c (in the caller's transaction); its id into id. */
static int help_request(struct node *n, const BulletinContent *c,
			const struct who *w, const char *note, char *id,
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

/* record: w's answer state ("safe", "help") to check-in c, in the
 * caller's transaction, with the counts for the hub. A call (force)
 * always sets the state; otherwise "help" replaces anything but
 * "help", and "safe" only no answer (ANSWERED, nothing written, when
 * it may not: what is recorded is in *was). "help" files an urgent
 * request once per person and check-in. ERR_OK, ANSWERED or an
 * error. */
static int record(struct node *n, const BulletinContent *c,
		  const struct who *w, const char *state, int force,
		  const char *note, char *was, size_t waslen)
{
	sqlite3_stmt *st;
	char req[RELAY_REQUEST_ID_MAX + 1] = "";
	int rc, has = 0;

	*was = '\0';
	st = prepare(n, "SELECT state, request FROM checkin_answer WHERE"
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
		if (rc != ERR_OK)
			return rc;
	}
	st = prepare(n, "INSERT INTO checkin_answer (bulletin, who, state,"
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

/* A listed resident as read. */
struct listed {
	int64_t id;
	char name[RELAY_NAME_MAX + 1];
	char phone[LIMIT_PHONE_DIGITS + 1];
	char address[RELAY_ADDRESS_MAX + 1];
};

/* listed_get: the listed resident id (or, id 0, the one with phone) into
 * l. ERR_OK, ERR_NOTFOUND or ERR_IO. */
static int listed_get(struct node *n, int64_t id, const char *phone,
		      struct listed *l)
{
	sqlite3_stmt *st = prepare(n, "SELECT id, name, phone, address FROM"
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

static void who_listed(struct who *w, const struct listed *l,
		       const char *source)
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
		     const char *token, struct listed *l)
{
	unsigned char hash[32];
	sqlite3_stmt *st;
	int64_t resident = 0, used = 0;
	int rc;

	if (strlen(token) != CHECKIN_TOKEN_LEN ||
	    strspn(token, "0123456789abcdef") != CHECKIN_TOKEN_LEN)
		return ERR_DENIED;
	SHA256((const unsigned char *)token, CHECKIN_TOKEN_LEN, hash);
	st = prepare(n, "SELECT resident, used FROM checkin_link WHERE hash ="
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
	rc = listed_get(n, resident, NULL, l);
	if (rc == ERR_NOTFOUND)
		return ERR_DENIED;      /* taken off the list since */
	if (rc != ERR_OK)
		return rc;
	st = prepare(n, "UPDATE checkin_link SET used = ?2 WHERE hash = ?1");
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
	sqlite3_stmt *st = prepare(n, strcmp(state, "safe") == 0
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
	struct listed l;
	struct who w = { 0 };
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
	if (open_checkin(n, wsi, ex, id, &c, 0, &open) != ERR_OK)
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
			who_listed(&w, &l, "link");
			as = "listed";
		}
	} else if (account) {
		memset(&acct, 0, sizeof(acct));
		rc = resident_store_get(n->civic->residents, account, &acct);
		/* her confirmed phone makes her the listed resident */
		if (rc == ERR_OK && acct.confirmed && acct.phone[0] &&
		    listed_get(n, 0, acct.phone, &l) == ERR_OK) {
			who_listed(&w, &l, "account");
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
		rc = w.source ? record(n, c, &w, state, 0, NULL, was,
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
		relay_flush(n);
		http_reply_json(wsi, ex, 200, json_pack("{s:s, s:s, s:s}",
			"bulletin", c->id, "answer", state, "counted_as", as));
	}
done_free:
	bulletin_content_free(&c);
out:
	json_decref(in);
}

/* ---- the list ---------------------------------------------------------------- */

/* listed_from_json: one resident of the list from o into the strings
 * (phone as digits; needs as JSON text, owned by the caller). ERR_OK, or
 * ERR_INVALID with the field named in why. */
static int listed_from_json(const json_t *o, struct listed *l, char **needs,
			    const char **worker, char *why, size_t whylen)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *phone = json_string_value(json_object_get(o, "phone"));
	const char *addr = json_string_value(json_object_get(o, "address"));
	const json_t *nd = json_object_get(o, "needs"), *v;
	json_t *list;
	size_t i, j;

	*needs = NULL;
	*worker = json_string_value(json_object_get(o, "worker"));
	if (!json_is_object(o))
		return snprintf(why, whylen, "not an object"), ERR_INVALID;
	if (!name || !*name || !relay_name_valid(name))
		return snprintf(why, whylen, "name: 1 to %d bytes of text",
				RELAY_NAME_MAX), ERR_INVALID;
	if (!phone || !text_phone_digits(phone, l->phone, false))
		return snprintf(why, whylen, "phone: not a phone number"),
		       ERR_INVALID;
	if (!addr || !*addr || !plain_text(addr, RELAY_ADDRESS_MAX, 0))
		return snprintf(why, whylen, "address: 1 to %d bytes of text",
				RELAY_ADDRESS_MAX), ERR_INVALID;
	if (json_object_get(o, "worker") &&
	    (!*worker || !relay_name_valid(*worker)))
		return snprintf(why, whylen, "worker: at most %d bytes of text",
				RELAY_NAME_MAX), ERR_INVALID;
	if (nd && !json_is_array(nd))
		return snprintf(why, whylen, "needs: a list of living-alone, "
				"over-80, disabled"), ERR_INVALID;
	list = json_array();
	json_array_foreach(nd, i, v) {
		const char *s = json_string_value(v);
		int known = 0;

		for (j = 0; s && j < sizeof(needs_words) / sizeof(*needs_words);
		     j++)
			known |= strcmp(s, needs_words[j]) == 0;
		for (j = 0; known && j < json_array_size(list); j++)
			known = strcmp(s, json_string_value(
				json_array_get(list, j))) != 0;
		if (!known) {
			json_decref(list);
			return snprintf(why, whylen, "needs[%zu]: one of "
					"living-alone, over-80, disabled, "
					"once", i), ERR_INVALID;
		}
		json_array_append_new(list, json_string(s));
	}
	*needs = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	snprintf(l->name, sizeof(l->name), "%s", name);
	snprintf(l->address, sizeof(l->address), "%s", addr);
	if (!*worker)
		*worker = "";
	return *needs ? ERR_OK : ERR_NOMEM;
}

/* list_add: POST /api/v1/check-in/residents: one resident ({name, phone,
 * address, worker, needs}) or {"items": [...]}, all or none. */
static void list_add(struct node *n, struct lws *wsi,
		     struct http_exchange *ex)
{
	json_t *in = http_parse_json(wsi, ex), *items, *ids = NULL, *o;
	sqlite3_stmt *st = NULL;
	int64_t have;
	size_t i;
	char why[256];
	int rc = ERR_OK, status = 201;

	if (!in)
		return;
	items = json_object_get(in, "items");
	if (!items)
		items = json_pack("[O]", in);
	else if (!json_is_array(items) || !json_array_size(items)) {
		http_reply_error(wsi, ex, 422, "invalid", "items: a list of "
				 "residents");
		goto out;
	} else
		json_incref(items);
	have = store_count(n->db, "SELECT count(*) FROM checkin_resident",
			   NULL);
	if (have < 0 || (size_t)have + json_array_size(items) >
	    LIMIT_CHECKIN_RESIDENTS) {
		http_reply_error(wsi, ex, 413, "too_large", "the list would "
				 "hold more than %d residents",
				 LIMIT_CHECKIN_RESIDENTS);
		goto out_items;
	}
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		rc = ERR_IO;
		goto reply;
	}
	st = prepare(n, "INSERT INTO checkin_resident (name, phone, address,"
		     " worker, needs, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
	ids = json_array();
	json_array_foreach(items, i, o) {
		struct listed l;
		const char *worker;
		char *needs = NULL, w2[160];

		if (!st || !ids) {
			rc = ERR_IO;
			break;
		}
		rc = listed_from_json(o, &l, &needs, &worker, w2, sizeof(w2));
		if (rc != ERR_OK) {
			snprintf(why, sizeof(why), "items[%zu].%s", i, w2);
			free(needs);
			status = 422;
			break;
		}
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, l.name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, l.phone, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, l.address, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, worker, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, needs, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, clock_now());
		rc = sqlite3_step(st);
		free(needs);
		if ((rc & 0xff) == SQLITE_CONSTRAINT) {
			snprintf(why, sizeof(why), "items[%zu].phone: a listed "
				 "resident has that phone already", i);
			status = 409;
			rc = ANSWERED;
			break;
		}
		if (rc != SQLITE_DONE) {
			rc = ERR_IO;
			break;
		}
		rc = ERR_OK;
		json_array_append_new(ids, json_integer(
			sqlite3_last_insert_rowid(n->db)));
	}
	sqlite3_finalize(st);
	if (rc == ERR_OK)
		rc = recount_open(n);
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		if (rc == ERR_OK)
			rc = ERR_IO;
	}
reply:
	if (status != 201)
		http_reply_error(wsi, ex, status, status == 409 ? "conflict"
				 : "invalid", "%s", why);
	else if (rc != ERR_OK)
		http_reply_error(wsi, ex, 500, "internal", "the list could not "
				 "be stored");
	else {
		log_info("check-in: the manager listed %zu resident(s)",
			 json_array_size(ids));
		relay_flush(n);
		http_reply_json(wsi, ex, 201, json_pack("{s:O}", "ids", ids));
	}
	json_decref(ids);
out_items:
	json_decref(items);
out:
	json_decref(in);
}

/* list_get: GET /api/v1/check-in/residents. */
static void list_get(struct node *n, struct lws *wsi, struct http_exchange *ex)
{
	sqlite3_stmt *st = prepare(n, "SELECT id, name, phone, address,"
				   " worker, needs FROM checkin_resident ORDER"
				   " BY worker, name, id");
	json_t *items = json_array();

	if (!st || !items) {
		sqlite3_finalize(st);
		json_decref(items);
		http_reply_error(wsi, ex, 500, "internal", "the list cannot be "
				 "read");
		return;
	}
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items, json_pack(
			"{s:I, s:s, s:s, s:s, s:s, s:o}",
			"id", (json_int_t)sqlite3_column_int64(st, 0),
			"name", (const char *)sqlite3_column_text(st, 1),
			"phone", (const char *)sqlite3_column_text(st, 2),
			"address", (const char *)sqlite3_column_text(st, 3),
			"worker", (const char *)sqlite3_column_text(st, 4),
			"needs", json_loads((const char *)sqlite3_column_text(
				st, 5), 0, NULL)));
	sqlite3_finalize(st);
	http_reply_json(wsi, ex, 200, json_pack("{s:o, s:I, s:i}", "items",
		items, "total", (json_int_t)json_array_size(items), "max",
		LIMIT_CHECKIN_RESIDENTS));
}

/* list_delete: DELETE /api/v1/check-in/residents/{id}: off the list, her
 * links with her (her answers stay, no longer counted). */
static void list_delete(struct node *n, struct lws *wsi,
			struct http_exchange *ex, const char *sid)
{
	sqlite3_stmt *st;
	char *end = NULL;
	long long id = strtoll(sid, &end, 10);
	int rc = ERR_IO, gone = 0;

	if (!*sid || *end || id <= 0) {
		http_reply_error(wsi, ex, 404, "not_found", "no listed "
				 "resident %.20s", sid);
		return;
	}
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto reply;
	st = prepare(n, "DELETE FROM checkin_resident WHERE id = ?1");
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st) == SQLITE_DONE ? ERR_OK : ERR_IO;
		gone = sqlite3_changes(n->db);
		sqlite3_finalize(st);
	}
	st = rc == ERR_OK ? prepare(n, "DELETE FROM checkin_link WHERE"
				    " resident = ?1") : NULL;
	if (st) {
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st) == SQLITE_DONE ? ERR_OK : ERR_IO;
		sqlite3_finalize(st);
	}
	if (rc == ERR_OK && gone)
		rc = recount_open(n);
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		rc = ERR_IO;
	}
reply:
	if (rc != ERR_OK)
		http_reply_error(wsi, ex, 500, "internal", "not removed");
	else if (!gone)
		http_reply_error(wsi, ex, 404, "not_found", "no listed "
				 "resident %lld", id);
	else {
		relay_flush(n);
		http_reply_json(wsi, ex, 200, json_pack("{s:I}", "removed",
							(json_int_t)id));
	}
}

/* ---- links ------------------------------------------------------------------ */

int node_checkin_mint(struct node *n, const char *bulletin, int64_t only,
		      checkin_link_fn each, void *arg)
{
	sqlite3_stmt *sel = NULL, *put = NULL;
	int rc = ERR_OK, step = SQLITE_DONE;

	if (only) {
		put = prepare(n, "DELETE FROM checkin_link WHERE bulletin = ?1"
			      " AND resident = ?2");
		if (!put)
			return ERR_IO;
		sqlite3_bind_text(put, 1, bulletin, -1, SQLITE_STATIC);
		sqlite3_bind_int64(put, 2, only);
		rc = sqlite3_step(put) == SQLITE_DONE ? ERR_OK : ERR_IO;
		sqlite3_finalize(put);
	}
	sel = prepare(n, "SELECT id, name, phone FROM checkin_resident r"
		      " WHERE (?2 = 0 OR id = ?2) AND NOT EXISTS (SELECT 1 FROM"
		      " checkin_link l WHERE l.bulletin = ?1 AND l.resident ="
		      " r.id) ORDER BY id");
	put = prepare(n, "INSERT INTO checkin_link (hash, bulletin, resident,"
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
	if (open_checkin(n, wsi, ex, id, &c, 0, &open) != ERR_OK)
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

/* ---- calls -------------------------------------------------------------------- */

/* call: POST /api/v1/bulletins/{id}/check-in/calls {resident, outcome,
 * note}: the grid worker's call; reached-safe and reached-needs-help set
 * the resident's state (a call may clear "needs help"), no-answer only
 * adds to her calls. */
static void call(struct node *n, struct lws *wsi, struct http_exchange *ex,
		 const char *id)
{
	json_t *in = http_parse_json(wsi, ex), *rj;
	const char *outcome, *note, *state = NULL;
	BulletinContent *c = NULL;
	sqlite3_stmt *st;
	struct listed l;
	struct who w = { 0 };
	char was[16];
	int rc, open;
	size_t i;

	if (!in)
		return;
	rj = json_object_get(in, "resident");
	outcome = json_string_value(json_object_get(in, "outcome"));
	note = json_string_value(json_object_get(in, "note"));
	for (i = 0; outcome && i < sizeof(outcomes) / sizeof(*outcomes); i++)
		if (strcmp(outcome, outcomes[i].outcome) == 0)
			state = outcomes[i].state;
	if (!json_is_integer(rj) || json_integer_value(rj) <= 0) {
		http_reply_error(wsi, ex, 422, "invalid", "resident: a listed "
				 "resident's id");
		goto out;
	}
	if (!state) {
		http_reply_error(wsi, ex, 422, "invalid", "outcome: "
				 "reached-safe, reached-needs-help or "
				 "no-answer");
		goto out;
	}
	if (json_object_get(in, "note") && (!note ||
	    !plain_text(note, CHECKIN_NOTE_MAX, 1))) {
		http_reply_error(wsi, ex, 422, "invalid", "note: at most %d "
				 "bytes of text", CHECKIN_NOTE_MAX);
		goto out;
	}
	if (!note)
		note = "";
	if (open_checkin(n, wsi, ex, id, &c, 0, &open) != ERR_OK)
		goto out;
	rc = listed_get(n, json_integer_value(rj), NULL, &l);
	if (rc == ERR_NOTFOUND) {
		http_reply_error(wsi, ex, 404, "not_found", "no listed resident "
				 "%" JSON_INTEGER_FORMAT, json_integer_value(rj));
		goto out;
	}
	if (rc != ERR_OK || store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK) {
		http_reply_error(wsi, ex, 500, "internal", "not stored");
		goto out;
	}
	st = prepare(n, "SELECT count(*) FROM checkin_call WHERE bulletin = ?1"
		     " AND resident = ?2");
	rc = ERR_IO;
	if (st) {
		sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, l.id);
		if (sqlite3_step(st) == SQLITE_ROW)
			rc = sqlite3_column_int64(st, 0) >= LIMIT_CHECKIN_CALLS
			     ? ERR_TOOBIG : ERR_OK;
		sqlite3_finalize(st);
	}
	st = rc == ERR_OK ? prepare(n, "INSERT INTO checkin_call (bulletin,"
				    " resident, outcome, note, at) VALUES (?1,"
				    " ?2, ?3, ?4, ?5)") : NULL;
	if (st) {
		sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, l.id);
		sqlite3_bind_text(st, 3, outcome, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, clock_now());
		rc = sqlite3_step(st) == SQLITE_DONE ? ERR_OK : ERR_IO;
		sqlite3_finalize(st);
	}
	who_listed(&w, &l, "call");
	if (rc == ERR_OK && *state)
		rc = record(n, c, &w, state, 1, note, was, sizeof(was));
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		if (rc == ERR_TOOBIG)
			http_reply_error(wsi, ex, 422, "invalid", "resident: "
					 "%d calls are recorded already",
					 LIMIT_CHECKIN_CALLS);
		else
			http_reply_error(wsi, ex, 500, "internal", "not stored");
		goto out;
	}
	log_info("check-in %s: a call to listed resident %" PRId64 ": %s",
		 c->id, l.id, outcome);
	relay_flush(n);
	http_reply_json(wsi, ex, 201, json_pack("{s:I, s:s}", "resident",
						(json_int_t)l.id, "outcome",
						outcome));
out:
	bulletin_content_free(&c);
	json_decref(in);
}

/* ---- the manager's view ------------------------------------------------------- */

/* calls_of: resident's calls in bulletin, oldest first (new array). */
static json_t *calls_of(struct node *n, const char *bulletin, int64_t resident)
{
	sqlite3_stmt *st = prepare(n, "SELECT outcome, note, at FROM"
				   " checkin_call WHERE bulletin = ?1 AND"
				   " resident = ?2 ORDER BY at, id");
	json_t *a = json_array();
	char t[CLOCK_RFC3339_LEN];

	if (!st)
		return a;
	sqlite3_bind_text(st, 1, bulletin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, resident);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}",
			"outcome", (const char *)sqlite3_column_text(st, 0),
			"note", (const char *)sqlite3_column_text(st, 1),
			"at", clock_rfc3339(sqlite3_column_int64(st, 2), t,
					    sizeof(t))));
	sqlite3_finalize(st);
	return a;
}

/* view: GET /api/v1/bulletins/{id}/check-in: the counts, the listed
 * residents by state (needs help, not yet, safe), and the signed-in
 * residents not on the list who answered. */
static void view(struct node *n, struct lws *wsi, struct http_exchange *ex,
		 const char *id)
{
	BulletinContent *c = NULL;
	struct counts k;
	sqlite3_stmt *st = NULL;
	json_t *res = json_array(), *acc = json_array(), *out;
	char t[CLOCK_RFC3339_LEN];
	int open;

	if (open_checkin(n, wsi, ex, id, &c, 1, &open) != ERR_OK)
		goto out;
	if (count(n, c->id, &k) != ERR_OK ||
	    !(st = prepare(n, "SELECT r.id, r.name, r.phone, r.address,"
			   " r.worker, r.needs, coalesce(a.state, 'not_yet'),"
			   " a.source, a.at, a.request, EXISTS (SELECT 1 FROM"
			   " checkin_link l WHERE l.bulletin = ?1 AND"
			   " l.resident = r.id) FROM checkin_resident r LEFT"
			   " JOIN checkin_answer a ON a.bulletin = ?1 AND"
			   " a.who = 'r' || r.id ORDER BY CASE"
			   " coalesce(a.state, 'not_yet') WHEN 'help' THEN 0"
			   " WHEN 'not_yet' THEN 1 ELSE 2 END, r.worker,"
			   " r.name, r.id"))) {
		http_reply_error(wsi, ex, 500, "internal", "the check-in cannot "
				 "be read");
		goto out;
	}
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t rid = sqlite3_column_int64(st, 0);
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:b}",
			"id", (json_int_t)rid,
			"name", (const char *)sqlite3_column_text(st, 1),
			"phone", (const char *)sqlite3_column_text(st, 2),
			"address", (const char *)sqlite3_column_text(st, 3),
			"worker", (const char *)sqlite3_column_text(st, 4),
			"needs", json_loads((const char *)sqlite3_column_text(
				st, 5), 0, NULL),
			"state", (const char *)sqlite3_column_text(st, 6),
			"link", sqlite3_column_int(st, 10));

		if (!o)
			continue;
		json_object_set_new(o, "source", sqlite3_column_type(st, 7) ==
			SQLITE_NULL ? json_null() : json_string((const char *)
			sqlite3_column_text(st, 7)));
		json_object_set_new(o, "answered", sqlite3_column_type(st, 8) ==
			SQLITE_NULL ? json_null() : json_string(clock_rfc3339(
			sqlite3_column_int64(st, 8), t, sizeof(t))));
		json_object_set_new(o, "request", sqlite3_column_type(st, 9) ==
			SQLITE_NULL ? json_null() : json_string((const char *)
			sqlite3_column_text(st, 9)));
		json_object_set_new(o, "calls", calls_of(n, c->id, rid));
		json_array_append_new(res, o);
	}
	sqlite3_finalize(st);
	st = prepare(n, "SELECT substr(who, 2), state, at, request FROM"
		     " checkin_answer WHERE bulletin = ?1 AND who LIKE 'a%'"
		     " ORDER BY state = 'safe', at");
	if (st) {
		sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct resident_row row;
			int64_t a = sqlite3_column_int64(st, 0);

			memset(&row, 0, sizeof(row));
			resident_store_get(n->civic->residents, a, &row);
			json_array_append_new(acc, json_pack(
				"{s:I, s:s, s:s, s:s, s:s?}",
				"account", (json_int_t)a, "name", row.name,
				"state", (const char *)sqlite3_column_text(
					st, 1),
				"answered", clock_rfc3339(sqlite3_column_int64(
					st, 2), t, sizeof(t)),
				"request", (const char *)sqlite3_column_text(
					st, 3)));
		}
		sqlite3_finalize(st);
	}
	out = json_pack("{s:s, s:s, s:s?, s:b, s:{s:I, s:I, s:I, s:I, s:I,"
			" s:I}, s:O, s:O}",
		"bulletin", c->id, "headline", c->headline,
		"headline_en", c->headline_en, "open", open, "counts",
		"listed", (json_int_t)k.listed,
		"confirmed", (json_int_t)k.confirmed,
		"not_yet", (json_int_t)k.not_yet,
		"needs_help", (json_int_t)k.needs_help,
		"anonymous_safe", (json_int_t)k.anon_safe,
		"anonymous_help", (json_int_t)k.anon_help,
		"residents", res, "accounts", acc);
	http_reply_json(wsi, ex, 200, out);
out:
	bulletin_content_free(&c);
	json_decref(res);
	json_decref(acc);
}

/* ---- the rows of the route table (public.c) ---------------------------------- */

void checkin_on_bulletin(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m)
{
	(void)ctx;
	if (ex->method == HTTP_POST)
		answer(node_from_wsi(wsi), wsi, ex, m->param[0]);
	else
		view(node_from_wsi(wsi), wsi, ex, m->param[0]);
}

void checkin_on_links(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m)
{
	(void)ctx;
	links(node_from_wsi(wsi), wsi, ex, m->param[0]);
}

void checkin_on_calls(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m)
{
	(void)ctx;
	call(node_from_wsi(wsi), wsi, ex, m->param[0]);
}

void checkin_on_residents(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m)
{
	(void)ctx;
	if (m->n_params)
		list_delete(node_from_wsi(wsi), wsi, ex, m->param[0]);
	else if (ex->method == HTTP_POST)
		list_add(node_from_wsi(wsi), wsi, ex);
	else
		list_get(node_from_wsi(wsi), wsi, ex);
}
