/* outbox.c: the durable outbox's store side (outbox.h): its tables,
 * what each channel sends to whom, enqueueing, and the expansion of the
 * events the store's triggers note (a bulletin stored, a request's status
 * step) into rows, one per recipient; the sender's thread (outbox_send.c)
 * calls the expansion and the sweep each round on its own connection.
 *
 * The rows are in a file of their own (node_store_outbox_path), which
 * the sender alone writes while sending: a bulletin stored before its ack
 * never waits for it. The triggers' events are in the store's file (a
 * trigger writes its own file only), in the bulletin's transaction: a
 * bulletin acked has its event, and the event goes only after all its
 * rows committed. An event is expanded in chunks of FAN_CHUNK rows, each
 * its own transaction: the rows' keys make a repeat after a crash
 * harmless. A cancel or an update stops the waiting
 * rows of what it replaces; an expiry stops a bulletin's (the sweep).
 *
 * Channels are the rows of one table: how a channel finds the recipients
 * of a message and what it sends each. A Web Push channel is one more
 * row (and its posting, in outbox_send.c, one more target).
 *
 * Parts: schema; severities; keys and bodies; channels; enqueueing;
 * helpers; events; the sweep. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bulletin_store.h"
#include "err.h"
#include "log.h"
#include "outbox.h"
#include "push.h"
#include "store.h"
#include "webhook.h"

/* Rows one transaction of an event's expansion writes: the write lock
 * is held that long, and a bulletin's store (before its ack) waits for
 * it. */
#define FAN_CHUNK 100
/* Events expanded in one round. */
#define EVENTS_PER_ROUND 16
/* Bytes of a text message's text. */
#define SMS_TEXT_MAX 480

/* ---- schema ------------------------------------------------------------------ */

/* The messages and their states with their indexes, and the index of
 * the push rows due: node.db's v15 and v19 made them there, the outbox's
 * own file's v1 makes both (one text, so the two cannot differ). */
#define OUTBOX_TABLE \
	"CREATE TABLE outbox (" \
	"  id INTEGER PRIMARY KEY," \
	"  key TEXT NOT NULL UNIQUE,"          /* the idempotency key */ \
	"  channel TEXT NOT NULL," \
	"  endpoint INTEGER NOT NULL,"         /* 0: the SMS gateway */ \
	"  resident INTEGER NOT NULL,"         /* 0: none; -ID listed */ \
	"  kind TEXT NOT NULL," \
	"  source TEXT NOT NULL," \
	"  body TEXT NOT NULL,"                /* as posted and signed */ \
	"  state TEXT NOT NULL," \
	"  attempts INTEGER NOT NULL," \
	"  next_at INTEGER NOT NULL," \
	"  deadline INTEGER NOT NULL," \
	"  created INTEGER NOT NULL," \
	"  done INTEGER NOT NULL," \
	"  last_error TEXT NOT NULL" \
	");" \
	"CREATE INDEX outbox_due ON outbox (endpoint, state, next_at);" \
	"CREATE INDEX outbox_by_state ON outbox (state, next_at);" \
	"CREATE INDEX outbox_by_source ON outbox (kind, source);"
#define OUTBOX_PUSH_DUE \
	"CREATE INDEX outbox_push_due ON outbox (next_at) WHERE channel = " \
	"  'push' AND state IN ('pending', 'failed');"

const char outbox_schema_v1[] =
	"CREATE TABLE outbox_endpoint ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL,"
	"  url TEXT NOT NULL,"
	"  secret TEXT NOT NULL,"
	"  bulletin_rank INTEGER NOT NULL,"   /* lowest severity; -1 none */
	"  requests INTEGER NOT NULL,"
	"  check_in INTEGER NOT NULL,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE outbox_sms ("            /* a resident's SMS consent */
	"  resident INTEGER PRIMARY KEY,"
	"  phone TEXT NOT NULL,"
	"  bulletin_rank INTEGER NOT NULL,"
	"  requests INTEGER NOT NULL,"
	"  check_in INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL"
	");"
	"CREATE INDEX outbox_sms_phone ON outbox_sms (phone);"
	"CREATE TABLE outbox_event ("          /* noted by the triggers */
	"  seq INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  origin TEXT NOT NULL,"
	"  ref TEXT NOT NULL,"
	"  version INTEGER NOT NULL"
	");"
	OUTBOX_TABLE
	"CREATE TRIGGER outbox_bulletin AFTER INSERT ON bulletin BEGIN"
	"  INSERT INTO outbox_event (kind, origin, ref, version)"
	"  VALUES ('bulletin', '', new.id, 0);"
	"END;"
	"CREATE TRIGGER outbox_request_step AFTER INSERT ON request_step"
	"  WHEN new.version >= 2 AND new.status <> 'withdrawn' BEGIN"
	"  INSERT INTO outbox_event (kind, origin, ref, version)"
	"  VALUES ('request', new.origin, new.id, new.version);"
	"END;";

/* The push rows due, oldest first, in an index of their own: each
 * browser is an endpoint of its own, so the sender takes them across
 * endpoints without scanning the other channels' rows. */
const char outbox_schema_v2[] = OUTBOX_PUSH_DUE;

/* The outbox's own file (outbox.h): its rows, apart from node.db so
 * that the sender's writes never hold the lock a bulletin's store takes
 * before its ack. v1 is the table and indexes that node.db's v15 and v19
 * had. */
static const struct store_migration outbox_file_migrations[] = {
	/* v1: the messages and their states (moved from node.db) */
	{ OUTBOX_TABLE OUTBOX_PUSH_DUE },
};

const struct store_migration *const outbox_migrations =
	outbox_file_migrations;
const size_t outbox_n_migrations = sizeof(outbox_file_migrations) /
				   sizeof(outbox_file_migrations[0]);

/* The node's migration that takes the rows out of node.db: the old table
 * renamed out of the way (unqualified, "outbox" is then the attached
 * file's; node_store_connect moves its rows there). A trigger of node.db
 * cannot write another file: push.c's, which cancelled a deleted
 * account's push rows, keeps only its own table (outbox_cancel_resident
 * cancels the rows), and goes first, or the rename would point it at the
 * old table. */
const char outbox_schema_v3[] =
	"DROP TRIGGER outbox_push_forget;"
	"CREATE TRIGGER outbox_push_forget AFTER UPDATE OF password_hash ON "
	"  resident WHEN new.password_hash IS NULL BEGIN"
	"  DELETE FROM outbox_push WHERE resident = new.id;"
	"END;"
	"ALTER TABLE main.outbox RENAME TO outbox_moved;";

/* ---- severities ------------------------------------------------------------ */

static const char *const severities[] = { "unknown", "minor", "moderate",
					  "severe", "extreme" };

int outbox_severity_rank(const char *severity)
{
	for (int i = 0; severity && i < 5; i++)
		if (strcmp(severity, severities[i]) == 0)
			return i;
	return -1;
}

const char *outbox_severity_word(int rank)
{
	return rank >= 0 && rank < 5 ? severities[rank] : NULL;
}

/* ---- keys and bodies -------------------------------------------------------- */

/* make_key: 32 hex digits of SHA-256(kind, source, channel, recipient):
 * the same message to the same recipient always has the same key. */
static void make_key(const char *kind, const char *source,
		     const char *channel, int64_t recipient, char out[33])
{
	unsigned char h[32];
	unsigned int hl = 32;
	char buf[64];
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	snprintf(buf, sizeof(buf), "%lld", (long long)recipient);
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, kind, strlen(kind) + 1) != 1 ||
	    EVP_DigestUpdate(c, source, strlen(source) + 1) != 1 ||
	    EVP_DigestUpdate(c, channel, strlen(channel) + 1) != 1 ||
	    EVP_DigestUpdate(c, buf, strlen(buf)) != 1 ||
	    EVP_DigestFinal_ex(c, h, &hl) != 1)
		RAND_bytes(h, sizeof(h));
	EVP_MD_CTX_free(c);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* cut_utf8: s cut to at most max bytes, not inside a character. */
static void cut_utf8(char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	s[max] = '\0';
}

/* ---- channels ----------------------------------------------------------------- */

/* What one message is, for the channels to find its recipients. */
struct message {
	sqlite3 *db;
	const char *community;
	const char *kind;           /* bulletin, request, check-in */
	const char *source;
	const char *to;             /* endpoints, residents, resident:ID,
				     * listed:ID */
	int rank;                   /* a bulletin's severity rank, else -1 */
	json_t *payload;            /* borrowed; "text" for phones */
	int64_t deadline, now;
	size_t rows;                /* rows written so far */
	int64_t after;              /* the chunk's resume point */
	int more;                   /* the chunk stopped at FAN_CHUNK */
};

/* put_row: one row of m for channel to (endpoint, resident) with
 * payload p (borrowed). ERR_OK, ERR_TOOBIG, ERR_IO. */
static int put_row(struct message *m, const char *channel, int64_t endpoint,
		   int64_t resident, json_t *p)
{
	char key[33];
	char *body;
	sqlite3_stmt *st = NULL;
	int rc = ERR_IO;

	make_key(m->kind, m->source, channel, endpoint ? endpoint : resident,
		 key);
	body = webhook_envelope(key, m->kind, m->community, m->now,
				json_incref(p));
	if (!body)
		return ERR_IO;
	if (strlen(body) > LIMIT_OUTBOX_BODY) {
		free(body);
		return ERR_TOOBIG;
	}
	if (sqlite3_prepare_v2(m->db, "INSERT OR IGNORE INTO outbox (key, "
			       "channel, endpoint, resident, kind, source, "
			       "body, state, attempts, next_at, deadline, "
			       "created, done, last_error) VALUES (?1, ?2, "
			       "?3, ?4, ?5, ?6, ?7, 'pending', 0, ?8, ?9, ?8,"
			       " 0, '')", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, channel, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, endpoint);
		sqlite3_bind_int64(st, 4, resident);
		sqlite3_bind_text(st, 5, m->kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, m->source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, body, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, m->now);
		sqlite3_bind_int64(st, 9, m->deadline);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = ERR_OK;
	}
	sqlite3_finalize(st);
	free(body);
	m->rows++;
	return rc;
}

/* webhook_fan: every endpoint that takes m (to "endpoints"). */
static int webhook_fan(struct message *m)
{
	sqlite3_stmt *st = NULL;
	int rc = ERR_OK, s;

	if (strcmp(m->to, "endpoints") != 0)
		return ERR_OK;
	if (sqlite3_prepare_v2(m->db, "SELECT id, bulletin_rank, requests, "
			       "check_in FROM outbox_endpoint ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	while (rc == ERR_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		int min = sqlite3_column_int(st, 1);
		int takes = strcmp(m->kind, "bulletin") == 0 ?
			    min >= 0 && m->rank >= min :
			    strcmp(m->kind, "request") == 0 ?
			    sqlite3_column_int(st, 2) :
			    sqlite3_column_int(st, 3);

		if (takes)
			rc = put_row(m, "webhook", sqlite3_column_int64(st, 0),
				     0, m->payload);
	}
	sqlite3_finalize(st);
	return rc;
}

/* listed_fan: m to "listed:ID": the phone of that resident of the
 * check-in call list (checkin.c), when it is a mobile number (a landline
 * gets the grid worker's call only). Her row's resident is -ID, apart
 * from the accounts' ids. */
static int listed_fan(struct message *m, const char *text)
{
	sqlite3_stmt *st = NULL;
	int64_t id = strtoll(m->to + 7, NULL, 10);
	int rc = ERR_IO, s;

	m->more = 0;
	if (sqlite3_prepare_v2(m->db, "SELECT phone FROM checkin_resident "
			       "WHERE id = ?1 AND phone GLOB '1[3-9][0-9][0-9]"
			       "[0-9][0-9][0-9][0-9][0-9][0-9][0-9]'", -1, &st,
			       NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_int64(st, 1, id);
	s = sqlite3_step(st);
	if (s == SQLITE_DONE) {
		rc = ERR_OK;
	} else if (s == SQLITE_ROW && id > 0) {
		char to[32];
		json_t *p;

		snprintf(to, sizeof(to), "+86%s",
			 (const char *)sqlite3_column_text(st, 0));
		p = json_pack("{s:s, s:s, s:s}", "to", to, "text", text,
			      "source", m->source);
		rc = p ? put_row(m, "sms", 0, -id, p) : ERR_IO;
		json_decref(p);
	}
	sqlite3_finalize(st);
	return rc;
}

/* sms_fan: the residents whose SMS consent takes m: every one (to
 * "residents", a chunk of FAN_CHUNK after m->after) or one; or a listed
 * resident of the call list (listed_fan). The payload's "text" goes to
 * her phone; none, no row. */
static int sms_fan(struct message *m)
{
	const char *text = json_string_value(json_object_get(m->payload,
							     "text"));
	const char *col = strcmp(m->kind, "bulletin") == 0 ? "bulletin_rank" :
			  strcmp(m->kind, "request") == 0 ? "requests" :
			  "check_in";
	char sql[256];
	sqlite3_stmt *st = NULL;
	int64_t one = 0;
	int rc = ERR_OK, s, n = 0;

	if (!text)
		return ERR_OK;
	if (strncmp(m->to, "listed:", 7) == 0)
		return listed_fan(m, text);
	if (strncmp(m->to, "resident:", 9) == 0)
		one = strtoll(m->to + 9, NULL, 10);
	else if (strcmp(m->to, "residents") != 0)
		return ERR_OK;
	/* a rank column takes a bulletin at or above it; the others are
	 * 1 or 0 */
	snprintf(sql, sizeof(sql), "SELECT resident, phone FROM outbox_sms "
		 "WHERE %s >= 0 AND %s <= ?1 AND (?2 = 0 OR resident = ?2) "
		 "AND resident > ?3 ORDER BY resident LIMIT %d", col, col,
		 FAN_CHUNK);
	if (strcmp(col, "bulletin_rank") != 0)
		snprintf(sql, sizeof(sql), "SELECT resident, phone FROM "
			 "outbox_sms WHERE %s = 1 AND ?1 = ?1 AND (?2 = 0 OR "
			 "resident = ?2) AND resident > ?3 ORDER BY resident "
			 "LIMIT %d", col, FAN_CHUNK);
	if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_int(st, 1, m->rank);
	sqlite3_bind_int64(st, 2, one);
	sqlite3_bind_int64(st, 3, m->after);
	while (rc == ERR_OK && (s = sqlite3_step(st)) == SQLITE_ROW) {
		char to[32];
		json_t *p;

		snprintf(to, sizeof(to), "+86%s",
			 (const char *)sqlite3_column_text(st, 1));
		p = json_pack("{s:s, s:s, s:s}", "to", to, "text", text,
			      "source", m->source);
		rc = p ? put_row(m, "sms", 0, sqlite3_column_int64(st, 0), p)
		       : ERR_IO;
		json_decref(p);
		m->after = sqlite3_column_int64(st, 0);
		n++;
	}
	sqlite3_finalize(st);
	m->more = n == FAN_CHUNK;
	return rc;
}

/* push_fan: the browser subscriptions (push.c) that take m: every
 * resident's (to "residents", a chunk after m->after) or one's. Each gets
 * the small message push_payload makes of the payload's "text" (a
 * bulletin's "check_in" asks the question); none, no row. A row names
 * its subscription as endpoint -ID. */
static int push_fan(struct message *m)
{
	const char *text = json_string_value(json_object_get(m->payload,
							     "text"));
	const char *headline = json_string_value(json_object_get(m->payload,
								 "headline"));
	const char *sql = push_fan_sql(m->kind);
	int bulletin = strcmp(m->kind, "bulletin") == 0;
	sqlite3_stmt *st = NULL;
	json_t *p;
	int64_t one = 0;
	int rc = ERR_OK, n = 0;

	m->more = 0;
	if (!text || !sql)
		return ERR_OK;
	if (strncmp(m->to, "resident:", 9) == 0)
		one = strtoll(m->to + 9, NULL, 10);
	else if (strcmp(m->to, "residents") != 0)
		return ERR_OK;
	p = push_payload(bulletin && headline ? headline : bulletin ?
			 "通知 / Notice" : "申请进展 / Request update", text,
			 bulletin ? "/bulletins.html" : "/my-requests.html",
			 m->source, bulletin && json_is_true(json_object_get(
				 m->payload, "check_in")),
			 bulletin ? push_urgency(m->rank) : "normal",
			 m->deadline);
	if (!p || sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) {
		json_decref(p);
		return ERR_IO;
	}
	sqlite3_bind_int(st, 1, m->rank);
	sqlite3_bind_int64(st, 2, one);
	sqlite3_bind_int64(st, 3, m->after);
	sqlite3_bind_int(st, 4, FAN_CHUNK);
	while (rc == ERR_OK && sqlite3_step(st) == SQLITE_ROW) {
		rc = put_row(m, "push", -sqlite3_column_int64(st, 0),
			     sqlite3_column_int64(st, 1), p);
		m->after = sqlite3_column_int64(st, 0);
		n++;
	}
	sqlite3_finalize(st);
	json_decref(p);
	m->more = n == FAN_CHUNK;
	return rc;
}

/* The channels. fan writes m's rows of the channel (sms in chunks: it
 * sets m->more while more follow); endpoint 0 is the SMS gateway. */
static const struct channel {
	const char *name;
	int (*fan)(struct message *m);
} channels[] = {
	{ "webhook", webhook_fan },
	{ "sms", sms_fan },
	{ "push", push_fan },
};

#define N_CHANNELS (sizeof(channels) / sizeof(channels[0]))
_Static_assert(N_CHANNELS == OUTBOX_CHANNELS, "OUTBOX_CHANNELS counts the "
	       "rows of channels[]");

int outbox__channel(const char *name)
{
	for (size_t i = 0; i < N_CHANNELS; i++)
		if (strcmp(channels[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *outbox__channel_name(int i)
{
	return i >= 0 && (size_t)i < N_CHANNELS ? channels[i].name : NULL;
}

/* ---- enqueueing ------------------------------------------------------------- */

/* fan_all: every channel's rows of m, in the caller's transaction. */
static int fan_all(struct message *m)
{
	int rc = ERR_OK;

	for (size_t i = 0; rc == ERR_OK && i < N_CHANNELS; i++) {
		m->after = 0;
		do
			rc = channels[i].fan(m);
		while (rc == ERR_OK && m->more);
	}
	return rc;
}

int outbox_enqueue(sqlite3 *db, const char *community, const char *kind,
		   const char *source, const char *to, json_t *payload,
		   int64_t deadline)
{
	struct message m = { .db = db, .community = community, .kind = kind,
			     .source = source, .to = to, .rank = -1,
			     .payload = payload, .deadline = deadline,
			     .now = (int64_t)time(NULL) };
	int rc;

	if (!json_is_object(payload) || !source || !*source ||
	    strlen(source) > 2 * LIMIT_RECORD_ID + 32 ||
	    (strcmp(kind, "request") != 0 && strcmp(kind, "check-in") != 0) ||
	    (strcmp(to, "endpoints") != 0 && strcmp(to, "residents") != 0 &&
	     strncmp(to, "resident:", 9) != 0 &&
	     strncmp(to, "listed:", 7) != 0)) {
		json_decref(payload);
		return ERR_INVALID;
	}
	rc = fan_all(&m);
	json_decref(payload);
	return rc;
}

int outbox_cancel_resident(sqlite3 *db, int64_t resident, int push)
{
	sqlite3_stmt *st = NULL;
	int rc = ERR_IO;

	if (sqlite3_prepare_v2(db, "UPDATE outbox SET state = 'cancelled', "
			       "done = ?2, last_error = 'consent withdrawn' "
			       "WHERE channel IN ('sms', 'push') AND "
			       "resident = ?1 AND state IN ('pending', "
			       "'failed') AND (channel = 'sms' OR ?3)", -1,
			       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int(st, 3, push);
		sqlite3_bind_int64(st, 1, resident);
		sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = ERR_OK;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == ERR_OK &&
	    (sqlite3_prepare_v2(db, "DELETE FROM outbox_sms WHERE resident "
				"= ?1", -1, &st, NULL) != SQLITE_OK ||
	     sqlite3_bind_int64(st, 1, resident) != SQLITE_OK ||
	     sqlite3_step(st) != SQLITE_DONE))
		rc = ERR_IO;
	sqlite3_finalize(st);
	return rc;
}

/* ---- helpers ---------------------------------------------------------------------- */

/* outbox__exec: see outbox.h. */
int outbox__exec(sqlite3 *db, const char *sql, int64_t v, int64_t w)
{
	sqlite3_stmt *st = NULL;
	int rc = ERR_IO;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_bind_parameter_count(st) >= 1)
			sqlite3_bind_int64(st, 1, v);
		if (sqlite3_bind_parameter_count(st) >= 2)
			sqlite3_bind_int64(st, 2, w);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = ERR_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- events -------------------------------------------------------------------- */

/* bulletin_text: the phones' text of a bulletin: "【name】headline：
 * instructions" (and the English headline), cut to SMS_TEXT_MAX bytes. */
static void bulletin_text(const struct outbox_site *o, const BulletinContent *c,
			  char *out, size_t len)
{
	snprintf(out, len, "【%s】%s%s%s%s%s", o->name, c->headline,
		 c->instructions[0] ? "：" : "", c->instructions,
		 c->headline_en[0] ? " / " : "", c->headline_en);
	cut_utf8(out, SMS_TEXT_MAX);
}

/* cancel_refs: stop the waiting rows of the bulletins c replaces (and
 * the check-in links sent for them, whose source is the bulletin, unless
 * c is an update asking for a check-in: it carries the check-in on, and
 * its links with it, node/checkin.c). */
static int cancel_refs(const struct outbox_site *o, const BulletinContent *c,
		       int64_t now)
{
	for (size_t i = 0; i < c->n_references; i++) {
		sqlite3_stmt *st = NULL;
		int ok;

		if (sqlite3_prepare_v2(o->db, "UPDATE outbox SET state = "
				       "'cancelled', done = ?2, last_error = "
				       "?3 WHERE (kind = 'bulletin' OR (kind = "
				       "'check-in' AND NOT ?4)) AND source = ?1"
				       " AND state IN ('pending', 'failed', "
				       "'sending')", -1, &st, NULL)
		    != SQLITE_OK)
			return ERR_IO;
		sqlite3_bind_text(st, 1, c->references[i], -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, c->check_in &&
				 strcmp(c->type, "update") == 0);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_text(st, 3, strcmp(c->type, "cancel") == 0 ?
				  "the bulletin was cancelled" :
				  "the bulletin was updated", -1,
				  SQLITE_STATIC);
		ok = sqlite3_step(st) == SQLITE_DONE;
		if (ok && sqlite3_changes(o->db) > 0)
			log_info("outbox: %d waiting messages of bulletin %s "
				 "stopped: %s %s", sqlite3_changes(o->db),
				 c->references[i], c->type, c->id);
		sqlite3_finalize(st);
		if (!ok)
			return ERR_IO;
	}
	return ERR_OK;
}

/* expand_bulletin: the rows of bulletin id, as long as it is current;
 * those of what it cancels or updates stop. Commits as it goes (in
 * chunks); ERR_OK or ERR_IO. */
static int expand_bulletin(const struct outbox_site *o, const char *id,
			   int64_t now)
{
	struct bulletin_row row;
	char text[SMS_TEXT_MAX + 64];
	json_t *p;
	int rc;

	memset(&row, 0, sizeof(row));
	rc = bulletin_store_get(o->db, id, now, &row);
	if (rc == ERR_NOTFOUND)
		return ERR_OK;
	if (rc != ERR_OK)
		return ERR_IO;
	rc = cancel_refs(o, row.c, now);
	if (rc != ERR_OK || strcmp(row.status, "current") != 0) {
		bulletin_row_free(&row);
		return rc;
	}
	bulletin_text(o, row.c, text, sizeof(text));
	p = bulletin_json(row.c, row.status);
	if (!p || json_object_set_new(p, "text", json_string(text)) != 0) {
		json_decref(p);
		bulletin_row_free(&row);
		return ERR_IO;
	}
	struct message m = { .db = o->db, .community = o->community,
			     .kind = "bulletin", .source = id,
			     .rank = outbox_severity_rank(row.c->severity),
			     .payload = p, .deadline = row.c->expires,
			     .now = now };
	for (size_t i = 0; rc == ERR_OK && i < N_CHANNELS; i++) {
		m.to = strcmp(channels[i].name, "webhook") == 0 ? "endpoints"
								  : "residents";
		m.after = 0;
		do {
			/* chunks commit apart: the keys make a repeat after
			 * a crash harmless, and the service thread's writes
			 * to the outbox never wait long */
			rc = channels[i].fan(&m);
			if (rc == ERR_OK && m.more &&
			    (store_exec(o->db, "COMMIT") != ERR_OK ||
			     node_store_begin(o->db, NODE_STORE_OUTBOX) !=
			     ERR_OK))
				rc = ERR_IO;
		} while (rc == ERR_OK && m.more);
	}
	if (rc == ERR_OK)
		log_info("outbox: bulletin %s (%s): %zu messages", id,
			 row.c->severity, m.rows);
	json_decref(p);
	bulletin_row_free(&row);
	return rc == ERR_TOOBIG ? ERR_OK : rc;
}

/* status_words: a request status in Chinese and English. */
static void status_words(const char *status, const char **zh,
			 const char **en)
{
	static const char *const words[][3] = {
		{ "open", "已受理", "open" },
		{ "acknowledged", "已确认", "acknowledged" },
		{ "scheduled", "已安排", "scheduled" },
		{ "done", "已办结", "done" },
		{ "declined", "未能受理", "declined" },
	};

	*zh = status;
	*en = status;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i][0], status) == 0) {
			*zh = words[i][1];
			*en = words[i][2];
		}
}

/* expand_request: the rows of a status step of one of our residents'
 * requests: her phone when she takes them, the endpoints taking
 * requests. Only requests of this community (origin) are its residents'. */
static int expand_request(const struct outbox_site *o, const char *origin,
			  const char *id, int64_t version, int64_t now)
{
	sqlite3_stmt *st = NULL;
	char source[2 * LIMIT_RECORD_ID + 32], text[SMS_TEXT_MAX + 64];
	char to[40];
	const char *zh, *en;
	json_t *p = NULL;
	int rc = ERR_IO, s;

	if (strcmp(origin, o->community) != 0)
		return ERR_OK;
	if (sqlite3_prepare_v2(o->db, "SELECT s.status, s.notes, s.at, "
			       "r.resident, r.service_name FROM request_step "
			       "s JOIN request r ON r.origin = s.origin AND "
			       "r.id = s.id WHERE s.origin = ?1 AND s.id = ?2 "
			       "AND s.version = ?3", -1, &st, NULL) !=
	    SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, version);
	s = sqlite3_step(st);
	if (s == SQLITE_DONE) {
		rc = ERR_OK;
	} else if (s == SQLITE_ROW) {
		const char *status = (const char *)sqlite3_column_text(st, 0);
		const char *notes = (const char *)sqlite3_column_text(st, 1);
		const char *service = (const char *)sqlite3_column_text(st, 4);
		int64_t at = sqlite3_column_int64(st, 2);
		int64_t resident = sqlite3_column_int64(st, 3);

		status_words(status, &zh, &en);
		snprintf(text, sizeof(text), "【%s】您的诉求（%s）%s%s%s"
			 " / Your request (%s): %s%s%s", o->name, service, zh,
			 notes[0] ? "：" : "", notes, service, en,
			 notes[0] ? ": " : "", notes);
		cut_utf8(text, SMS_TEXT_MAX);
		snprintf(source, sizeof(source), "%s/%s/%lld", origin, id,
			 (long long)version);
		p = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "request", id,
			      "service", service, "status", status,
			      "status_notes", notes, "updated", (json_int_t)at,
			      "text", text);
		/* an old step (a store rebuilt from the hub) is not news */
		rc = p ? ERR_OK : ERR_IO;
		if (p && at >= now - LIMIT_OUTBOX_STATUS_S) {
			int64_t until = now + LIMIT_OUTBOX_STATUS_S;

			snprintf(to, sizeof(to), "resident:%lld",
				 (long long)resident);
			rc = outbox_enqueue(o->db, o->community, "request",
					    source, "endpoints", json_incref(p),
					    until);
			if (rc == ERR_OK && resident > 0)
				rc = outbox_enqueue(o->db, o->community,
						    "request", source, to,
						    json_incref(p), until);
		}
	}
	json_decref(p);
	sqlite3_finalize(st);
	return rc == ERR_TOOBIG ? ERR_OK : rc;
}

/* outbox__expand (outbox.h): up to EVENTS_PER_ROUND events into rows,
 * each in its own transaction(s) of the outbox's file, the event deleted
 * from the store after its last rows committed.
 * 1 when some may remain; 0 when none do or one could not be expanded
 * (it is tried again at the next round). */
int outbox__expand(const struct outbox_site *o, int64_t now)
{
	int done = 0;

	while (done < EVENTS_PER_ROUND) {
		sqlite3_stmt *st = NULL;
		int64_t seq = 0, version = 0;
		char kind[16] = "", origin[LIMIT_RECORD_ID + 1] = "";
		char ref[LIMIT_RECORD_ID + 1] = "";
		int rc;

		if (sqlite3_prepare_v2(o->db, "SELECT seq, kind, origin, ref, "
				       "version FROM outbox_event ORDER BY seq"
				       " LIMIT 1", -1, &st, NULL) != SQLITE_OK)
			return 0;
		if (sqlite3_step(st) == SQLITE_ROW) {
			seq = sqlite3_column_int64(st, 0);
			snprintf(kind, sizeof(kind), "%s",
				 sqlite3_column_text(st, 1));
			snprintf(origin, sizeof(origin), "%s",
				 sqlite3_column_text(st, 2));
			snprintf(ref, sizeof(ref), "%s",
				 sqlite3_column_text(st, 3));
			version = sqlite3_column_int64(st, 4);
		}
		sqlite3_finalize(st);
		if (!seq)
			return 0;
		if (node_store_begin(o->db, NODE_STORE_OUTBOX) != ERR_OK)
			return 0;
		rc = strcmp(kind, "bulletin") == 0 ?
		     expand_bulletin(o, ref, now) :
		     expand_request(o, origin, ref, version, now);
		/* the rows commit in the outbox's file, then the event goes
		 * from the store's, on its own: never both locks at once (the
		 * service thread takes the store's, then the outbox's), and
		 * a crash between the two expands the event again, its rows'
		 * keys already there */
		if (rc != ERR_OK || store_exec(o->db, "COMMIT") != ERR_OK ||
		    outbox__exec(o->db, "DELETE FROM outbox_event WHERE seq = "
				 "?1", seq, 0) != ERR_OK) {
			store_exec(o->db, "ROLLBACK");
			log_warn("outbox: cannot expand event %lld (%s %s); "
				 "trying again at the next round",
				 (long long)seq, kind, ref);
			return 0;
		}
		done++;
	}
	return 1;
}

/* ---- the sweep ------------------------------------------------------------------- */

/* outbox__sweep (outbox.h): rows whose deadline passed stop: dead when
 * tried (the manager sees them), cancelled when never tried (a bulletin
 * that expired before its turn); old finished rows go. */
void outbox__sweep(sqlite3 *db, int64_t now, int prune)
{
	int dead;

	outbox__exec(db, "UPDATE outbox SET state = 'cancelled', done = ?1, "
		     "last_error = 'expired before it was sent' WHERE state = "
		     "'pending' AND attempts = 0 AND deadline <= ?1", now, 0);
	outbox__exec(db, "UPDATE outbox SET state = 'dead', done = ?1 WHERE "
		     "state IN ('pending', 'failed') AND deadline <= ?1", now,
		     0);
	dead = sqlite3_changes(db);
	if (dead > 0)
		log_warn("outbox: %d messages dead at their deadline", dead);
	if (prune)
		outbox__exec(db, "DELETE FROM outbox WHERE state IN ('sent', "
			     "'cancelled', 'dead') AND done < ?1",
			     now - LIMIT_OUTBOX_KEEP_S, 0);
}
