/* relay.c: records addressed to one community, at the hub: service
 * requests to the community that offers the service, their statuses back
 * to the community that sent them, district polls to every community and
 * each community's tally of one to the others (polls.c); each
 * community's check-in counts, kept here (checkin.c).
 *
 * The broadcast down stream (sync.c) would show every node everything, so
 * these travel in Relay frames instead. A node's Relay is checked (every
 * origin is the session's community; a status only for a request the
 * session's community was sent), stored under the version rule in one
 * transaction and acked per record after commit. What must go on is a row
 * of the relay table per destination (store and forward): sent in the
 * destination's session after Welcome and whenever a row arrives, at most
 * RELAY_BATCH per frame, within the bytes the node takes (Hello), and
 * one frame unacked; the destination acks after
 * persisting, and then the row's body (a request's name, phone, address)
 * is deleted: the row keeps only (origin, kind, id, version, destination),
 * enough to refuse a replay. The district's view of requests is the
 * request_stat table: who asked whom, when, status and response times,
 * never personal data. The connection runs with secure_delete, so deleted
 * bodies are zeroed in the file too.
 *
 * Tables (hub_relay_schema_v1, v2, v3):
 *   relay (origin, kind, id, destination, version, body BLOB or NULL once
 *          delivered, delivered, created)
 *   request_stat (origin, id, owner, service_id, requested, received,
 *          status, first_response, closed)
 *   poll, tally (polls.c).
 *   relay_log (origin, id, destination, version, seq): [store]
 *          postgresql: the events holding a request's personal data.
 *
 * Requests (relay.h's rules): the first version of a request the hub
 * sees must carry an id of its origin's namespace and fields the
 * resident's node would take, be for a service its owner offers and that
 * takes requests (in the hub's merged catalog), and fit the origin's
 * quota towards that owner ([quota] requests_per_destination_per_hour,
 * counted in request_stat by the hub's time of receipt); else it is
 * refused in the ack with the reason, logged and counted for /metrics,
 * and nothing is stored: the session and the rest of the batch go on.
 * Later versions must keep their owner and service. A status goes back
 * only to the origin whose request (origin, id) was sent to its writer.
 *
 * A newer version of a request (the resident withdrew it, or deleted her
 * account: erased, without personal data, relay.h) replaces the row for
 * its owner, body and all, and is sent like the first; a withdrawal
 * closes it in request_stat; the owner's receipt
 * (a status "open" with delivered set, relay.h) travels back like any
 * status.
 *
 * With [store] postgresql (pglog.h) a node's relayed records are events
 * of the shared log, one a record: its session's replica judges the
 * frame (a refused record is answered and not shared) and appends the
 * rest; every replica applies each by the rules above, judging by the
 * time the event carries, and sends what goes on to the destination's
 * session if it is its own; the frame is acked once the log brought every
 * record back. A destination's RelayAck is an event too: every replica
 * marks the rows delivered and deletes their bodies, and the appending
 * transaction cuts the personal data off the requests' events
 * (relay_pack_parts; relay_log says which). A request's personal data is
 * not shared at all when no row is to deliver it (served at home, a
 * replay).
 *
 * Parts: schema; sending; receiving (refusals, requests, statuses); acks;
 * Welcome; the shared log; the district's request figures. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "pglog.h"
#include "poll_store.h"
#include "relay.h"
#include "store.h"

/* ---- schema ----------------------------------------------------------------- */

const char hub_relay_schema_v1[] =
	"CREATE TABLE relay ("
	"  origin TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  id TEXT NOT NULL,"
	"  destination TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  body BLOB,"
	"  delivered INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  PRIMARY KEY (origin, kind, id, destination)"
	") WITHOUT ROWID;"
	"CREATE INDEX relay_pending ON relay (destination, delivered, created);"
	"CREATE TABLE request_stat ("
	"  origin TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  owner TEXT NOT NULL,"
	"  service_id TEXT NOT NULL,"
	"  requested INTEGER NOT NULL,"
	"  received INTEGER NOT NULL,"
	"  status TEXT NOT NULL DEFAULT 'open',"
	"  status_version INTEGER NOT NULL DEFAULT 0,"
	"  first_response INTEGER,"
	"  closed INTEGER,"
	"  PRIMARY KEY (origin, id)"
	") WITHOUT ROWID;"
	"CREATE INDEX request_stat_owner ON request_stat (owner);"
	/* polls and tallies (poll_store.h) */
	HUB_POLL_SCHEMA_V1;

/* v2: the per-destination quota counts a community's requests to one
 * other by the hub's time of receipt */
const char hub_relay_schema_v2[] =
	"CREATE INDEX IF NOT EXISTS request_stat_route"
	" ON request_stat (origin, owner, received);";

/* v3: [store] postgresql: which events of the shared log hold a relayed
 * request's personal data (its versions for a destination; a version
 * may be in two events when a node sent it again through another
 * replica), to cut it off there when the destination acks it; every
 * replica keeps it alike. */
const char hub_relay_schema_v3[] =
	"CREATE TABLE IF NOT EXISTS relay_log ("
	"  origin TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  destination TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  PRIMARY KEY (origin, id, destination, version, seq)"
	") WITHOUT ROWID;";

int64_t hub_relay_now(struct hub *hub)
{
	return hub->shared_now ? hub->shared_now : hub_now();
}

/* ---- sending --------------------------------------------------------------- */

/* flush: send s the next batch of its pending rows when none is in
 * flight. */
void hub_relay_flush(struct session *s)
{
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	if (s->state != SESSION_ACTIVE || s->relay_inflight || !s->community)
		return;
	if (sqlite3_prepare_v2(s->hub->db, "SELECT body FROM relay WHERE"
			       " destination = ?1 AND delivered = 0 AND body"
			       " IS NOT NULL ORDER BY created LIMIT ?2", -1,
			       &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, s->community->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, RELAY_BATCH);
	link_relay_send(&s->link, st, s->down.bytes, &n);
	sqlite3_finalize(st);
	if (!n)
		return;
	s->relay_inflight = 1;
	log_debug("relay %s: sent %zu records", s->community->id, n);
}

static void flush_each(struct session *s, void *arg)
{
	(void)arg;
	hub_relay_flush(s);
}

/* flush_to: flush the live session of community id, if any. */
static void flush_to(struct hub *hub, const char *id)
{
	struct community *c = registry_find(hub, id);

	if (c && c->session)
		hub_relay_flush(c->session);
}

/* hub_relay_put: a row for destination under the version rule (in the
 * caller's transaction). Sets *stored. ERR_OK or ERR_IO. */
int hub_relay_put(struct hub *hub, const Change *ch, const char *destination,
		  int *stored)
{
	sqlite3_stmt *st = NULL;
	uint8_t *buf;
	size_t len = 0;
	int rc;

	*stored = 0;
	buf = relay_pack(ch, &len);
	if (!buf)
		return ERR_NOMEM;
	rc = sqlite3_prepare_v2(hub->db, "INSERT INTO relay (origin, kind, id,"
				" destination, version, body, delivered,"
				" created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0,"
				" ?7) ON CONFLICT (origin, kind, id,"
				" destination) DO UPDATE SET version ="
				" excluded.version, body = excluded.body,"
				" delivered = 0 WHERE excluded.version >"
				" relay.version", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, ch->kind);
		sqlite3_bind_text(st, 3, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, destination, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (int64_t)ch->version);
		sqlite3_bind_blob(st, 6, buf, (int)len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, hub_relay_now(hub));
		rc = sqlite3_step(st);
		*stored = rc == SQLITE_DONE && sqlite3_changes(hub->db) > 0;
	}
	sqlite3_finalize(st);
	free(buf);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

/* ---- receiving ----------------------------------------------------------- */

/* One record's outcome, for the ack. */
struct outcome {
	struct link_relay_answer *a; /* refused, and why (sent back) */
	enum relay_refusal kind;    /* why, for /metrics (RELAY_OK: not one
				       of the requests' reasons) */
	char dest[LIMIT_COMMUNITY_ID + 1]; /* a row for it was stored */
};

/* refuse_record: o refused for kind, with the reason the node is sent. */
static void refuse_record(struct outcome *o, enum relay_refusal kind,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse_record(struct outcome *o, enum relay_refusal kind,
			  const char *fmt, ...)
{
	va_list ap;

	o->a->refused = 1;
	o->kind = kind;
	va_start(ap, fmt);
	vsnprintf(o->a->reason, sizeof(o->a->reason), fmt, ap);
	va_end(ap);
}

static const char *const relay_refusal_names[RELAY_REFUSE_COUNT] = {
	[RELAY_OK] = "none",
	[RELAY_REFUSE_NO_COMMUNITY] = "no_community",
	[RELAY_REFUSE_FOREIGN_ID] = "foreign_id",
	[RELAY_REFUSE_INVALID] = "invalid",
	[RELAY_REFUSE_NO_SERVICE] = "no_service",
	[RELAY_REFUSE_QUOTA] = "quota",
	[RELAY_REFUSE_CHANGED] = "changed",
	[RELAY_REFUSE_NOT_SENT] = "not_sent",
};

const char *hub_relay_refusal_name(enum relay_refusal r)
{
	return r < RELAY_REFUSE_COUNT ? relay_refusal_names[r] : "unknown";
}

/* count_withdrawal: the resident withdrew request ch: closed for the
 * district's figures. An SQLite code. */
static int count_withdrawal(struct hub *hub, const Change *ch)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(hub->db, "UPDATE request_stat SET status ="
				" 'withdrawn', closed = coalesce(closed, ?3)"
				" WHERE origin = ?1 AND id = ?2", -1, &st,
				NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, hub_relay_now(hub));
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc;
}

/* known_request: whether request (origin, id) was stored before: 1 with
 * its owner and service id copied into the buffers, 0 when new, or an
 * ERR_* code. */
static int known_request(struct hub *hub, const Change *ch, char *owner,
			 size_t olen, char *service, size_t slen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(hub->db, "SELECT owner, service_id FROM"
			       " request_stat WHERE origin = ?1 AND id = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(owner, olen, "%s", sqlite3_column_text(st, 0));
		snprintf(service, slen, "%s", sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : ERR_IO;
}

/* sent_within_hour: requests origin had relayed to owner within the last
 * hour (this batch's included: they are in the same transaction), or
 * -1 when the store cannot say. */
static int64_t sent_within_hour(struct hub *hub, const char *origin,
				const char *owner)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(hub->db, "SELECT count(*) FROM request_stat"
			       " WHERE origin = ?1 AND owner = ?2 AND received"
			       " > ?3", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, hub_relay_now(hub) - 3600);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* check_new_request: the rules for a request the hub has not seen (its
 * first version): the id in its origin's namespace and the resident's
 * fields as her node takes them (relay.h); when it goes to another
 * community, a service there that takes requests, in the hub's merged
 * catalog, and room in the origin's quota towards it. Sets o when it is
 * refused. ERR_OK or ERR_IO. */
static int check_new_request(struct hub *hub, const Change *ch,
			     struct outcome *o)
{
	const Alliance__V1__Request *r = ch->request;
	unsigned quota = hub->cfg.requests_per_destination_per_hour;
	Change *svc = NULL;
	char why[160];
	int64_t sent;
	int takes;

	if (!relay_request_id_scoped(ch->origin, ch->id)) {
		refuse_record(o, RELAY_REFUSE_FOREIGN_ID, "request %.80s: not "
			      "an id of %s; a request's id is ORIGIN.RANDOM",
			      ch->id, ch->origin);
		return ERR_OK;
	}
	if (relay_request_new_check(ch, why, sizeof(why)) != ERR_OK) {
		refuse_record(o, RELAY_REFUSE_INVALID, "request %.80s: %s",
			      ch->id, why);
		return ERR_OK;
	}
	if (strcmp(r->owner, ch->origin) == 0)
		return ERR_OK;  /* served at home: only counted */
	catalog_get(hub->cat, r->owner, ALLIANCE__V1__KIND__KIND_SERVICE,
		    r->service_id, &svc);
	takes = relay_service_takes_requests(svc);
	catalog_change_free(&svc);
	if (!takes) {
		refuse_record(o, RELAY_REFUSE_NO_SERVICE, "request %.80s: %s "
			      "offers no service %.80s that takes requests",
			      ch->id, r->owner, r->service_id);
		return ERR_OK;
	}
	sent = sent_within_hour(hub, ch->origin, r->owner);
	if (sent < 0)
		return ERR_IO;
	if (sent >= quota)
		refuse_record(o, RELAY_REFUSE_QUOTA, "request %.80s: over the "
			      "quota of %u requests an hour from %s to %s",
			      ch->id, quota, ch->origin, r->owner);
	return ERR_OK;
}

/* note_log_seq: the event being applied holds request ch's personal data
 * for destination (relay_log). ERR_OK or ERR_IO. */
static int note_log_seq(struct hub *hub, const Change *ch,
			const char *destination)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(hub->db, "INSERT OR IGNORE INTO relay_log"
				" (origin, id, destination, version, seq) VALUES"
				" (?1, ?2, ?3, ?4, ?5)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, destination, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)ch->version);
		sqlite3_bind_int64(st, 5, (int64_t)hub->shared_seq);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

/* apply_request: a request from its origin: a new one checked
 * (check_new_request), a newer version only for the same owner and
 * service; counted for the district (request_stat.received: the hub's
 * clock), and, when it is for another community, relayed to that one. */
static int apply_request(struct hub *hub, const Change *ch,
			 struct outcome *o)
{
	const Alliance__V1__Request *r = ch->request;
	char owner[LIMIT_COMMUNITY_ID + 1], service[LIMIT_RECORD_ID + 1];
	sqlite3_stmt *st = NULL;
	int rc, stored = 0, known;

	if (!registry_find(hub, r->owner)) {
		refuse_record(o, RELAY_REFUSE_NO_COMMUNITY, "no community %s "
			      "in the alliance", r->owner);
		return ERR_OK;
	}
	known = known_request(hub, ch, owner, sizeof(owner), service,
			      sizeof(service));
	if (known < 0)
		return ERR_IO;
	if (known && (strcmp(owner, r->owner) != 0 ||
		      strcmp(service, r->service_id) != 0)) {
		refuse_record(o, RELAY_REFUSE_CHANGED, "request %.80s: was for "
			      "%s/%.80s; a newer version cannot change that",
			      ch->id, owner, service);
		return ERR_OK;
	}
	if (!known && (check_new_request(hub, ch, o) != ERR_OK))
		return ERR_IO;
	if (o->a->refused)
		return ERR_OK;
	rc = sqlite3_prepare_v2(hub->db, "INSERT OR IGNORE INTO request_stat"
				" (origin, id, owner, service_id, requested,"
				" received) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->owner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, r->service_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, r->requested);
		sqlite3_bind_int64(st, 6, hub_relay_now(hub));
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE && r->withdrawn)
		rc = count_withdrawal(hub, ch);
	if (rc != SQLITE_DONE)
		return ERR_IO;
	if (strcmp(r->owner, ch->origin) == 0)
		return ERR_OK;  /* served at home: only counted */
	if (hub_relay_put(hub, ch, r->owner, &stored) != ERR_OK)
		return ERR_IO;
	/* (a copy not stored too: its event holds the data all the same) */
	if (hub->shared_seq && note_log_seq(hub, ch, r->owner) != ERR_OK)
		return ERR_IO;
	if (stored)
		snprintf(o->dest, sizeof(o->dest), "%s", r->owner);
	return ERR_OK;
}

/* apply_status: a status from the community the request was sent to. */
static int apply_status(struct hub *hub, const Change *ch, struct outcome *o)
{
	const Alliance__V1__RequestStatus *rs = ch->request_status;
	sqlite3_stmt *st = NULL;
	int rc, stored = 0, found = 0;

	rc = sqlite3_prepare_v2(hub->db, "UPDATE request_stat SET status ="
				" ?4, status_version = ?5, first_response ="
				" coalesce(first_response, CASE WHEN ?4 <>"
				" 'open' THEN ?6 END), closed = CASE WHEN ?4"
				" IN ('done', 'declined') THEN coalesce(closed,"
				" ?6) END WHERE origin = ?1 AND id = ?2 AND"
				" owner = ?3 AND status_version < ?5", -1, &st,
				NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, rs->request_origin, -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, ch->origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, rs->status, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (int64_t)ch->version);
		sqlite3_bind_int64(st, 6, hub_relay_now(hub));
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ERR_IO;
	st = NULL;
	/* is it a request this community was sent at all? */
	if (sqlite3_prepare_v2(hub->db, "SELECT 1 FROM request_stat WHERE"
			       " origin = ?1 AND id = ?2 AND owner = ?3", -1,
			       &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, rs->request_origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ch->origin, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!found) {
		refuse_record(o, RELAY_REFUSE_NOT_SENT, "%s was not sent "
			      "request %s/%.80s", ch->origin,
			      rs->request_origin, ch->id);
		return ERR_OK;
	}
	if (strcmp(rs->request_origin, ch->origin) == 0)
		return ERR_OK;  /* its own resident's request: only counted */
	if (hub_relay_put(hub, ch, rs->request_origin, &stored) != ERR_OK)
		return ERR_IO;
	if (stored)
		snprintf(o->dest, sizeof(o->dest), "%s", rs->request_origin);
	return ERR_OK;
}

/* apply_one: record ch of community's Relay under the rules, in the
 * caller's transaction; its answer into o. ERR_OK or ERR_IO. */
static int apply_one(struct hub *hub, const char *community, const Change *ch,
		     struct outcome *o)
{
	switch (ch->kind) {
	case ALLIANCE__V1__KIND__KIND_REQUEST:
		return apply_request(hub, ch, o);
	case ALLIANCE__V1__KIND__KIND_REQUEST_STATUS:
		return apply_status(hub, ch, o);
	case ALLIANCE__V1__KIND__KIND_CHECKIN:
		return hub_checkin_apply(hub, community, ch, o->a->reason,
					 sizeof(o->a->reason), &o->a->refused);
	default:
		return hub_polls_apply(hub, community, ch, o->a->reason,
				       sizeof(o->a->reason), &o->a->refused);
	}
}

/* apply_all: the n records of community's Relay in one transaction:
 * kept (commit) or only judged (roll back). ERR_OK or ERR_IO. */
static int apply_all(struct hub *hub, const char *community,
		     Change *const *chs, size_t n, struct outcome *out,
		     int keep)
{
	int rc = ERR_OK;

	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK)
		return ERR_IO;
	for (size_t i = 0; rc == ERR_OK && i < n; i++)
		rc = apply_one(hub, community, chs[i], &out[i]);
	if (rc != ERR_OK || !keep ||
	    store_exec(hub->db, "COMMIT") != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		return rc != ERR_OK || keep ? ERR_IO : ERR_OK;
	}
	return ERR_OK;
}

/* refused_count: a record of c's refused: logged, and counted for
 * /metrics under its reason. */
static void refused_count(struct community *c, const Change *ch,
			  const struct outcome *o)
{
	log_warn("relay %s: refused %s: %s", c->id, ch->id, o->a->reason);
	if (o->kind != RELAY_OK)
		c->relay_refused[o->kind]++;
}

/* went_on: record ch was stored: its destination's session here is sent
 * it. 1 when it is a district poll's tally, which goes to the sessions of
 * its whole area (the caller flushes them all). */
static int went_on(struct hub *hub, const Change *ch, const struct outcome *o)
{
	if (o->dest[0])
		flush_to(hub, o->dest);
	return !o->a->refused && ch->kind == ALLIANCE__V1__KIND__KIND_TALLY;
}

/* check_frame: the rules of a Relay frame before anything of it is
 * judged: at most RELAY_BATCH records, each of s's community, each
 * valid. ERR_OK, or the session is closed. */
static int check_frame(struct session *s, const Alliance__V1__Relay *r)
{
	char why[160];

	if (r->n_changes > RELAY_BATCH) {
		session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "relay of %zu records, over %d", r->n_changes,
			      RELAY_BATCH);
		return ERR_INVALID;
	}
	for (size_t i = 0; i < r->n_changes; i++) {
		const Change *ch = r->changes[i];

		if (!session_own_record(s, ch, "relayed record"))
			return ERR_DENIED;
		if (relay_check(ch, why, sizeof(why)) != ERR_OK) {
			session_close(s, REFUSE_BAD_FRAME, WIRE_CLOSE_BAD_FRAME,
				      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
				      "relay: %s", why);
			return ERR_INVALID;
		}
	}
	return ERR_OK;
}

static int share_relay(struct session *s, const Alliance__V1__Relay *r);

int hub_relay_handle(struct session *s, const Alliance__V1__Relay *r)
{
	struct hub *hub = s->hub;
	struct outcome out[RELAY_BATCH];
	struct link_relay_answer answers[RELAY_BATCH];
	size_t i;
	int tallies = 0;

	if (check_frame(s, r) != ERR_OK)
		return ERR_INVALID;
	if (hub->pglog)
		return share_relay(s, r);
	memset(out, 0, sizeof(out));
	memset(answers, 0, sizeof(answers));
	for (i = 0; i < r->n_changes; i++)
		out[i].a = &answers[i];
	if (apply_all(hub, s->community->id, r->changes, r->n_changes, out, 1)
	    != ERR_OK) {
		session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_INTERNAL, 0,
			      "the hub could not store the relay; resend "
			      "later");
		return ERR_IO;
	}
	link_relay_ack(&s->link, r, answers);
	for (i = 0; i < r->n_changes; i++) {
		if (out[i].a->refused)
			refused_count(s->community, r->changes[i], &out[i]);
		tallies |= went_on(hub, r->changes[i], &out[i]);
	}
	if (tallies)   /* a district poll's tally goes down to its area */
		registry_each_session(hub, flush_each, NULL);
	return ERR_OK;
}

/* ---- acks ------------------------------------------------------------------- */

/* mark_delivered: destination's RelayAck refs: each row they name, at
 * that version, delivered and its body (personal data) deleted; a
 * request's events of the shared log up to that version need no cutting
 * any more (relay_log). In the caller's transaction; *gone counts the
 * rows. ERR_OK or ERR_IO. */
static int mark_delivered(struct hub *hub, const char *destination,
			  Alliance__V1__RelayRef *const *refs, size_t n,
			  size_t *gone)
{
	sqlite3_stmt *st = NULL, *lg = NULL;
	int rc = ERR_OK;

	*gone = 0;
	if (sqlite3_prepare_v2(hub->db, "UPDATE relay SET delivered = 1,"
			       " body = NULL WHERE origin = ?1 AND kind = ?2"
			       " AND id = ?3 AND destination = ?4 AND version"
			       " = ?5", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(hub->db, "DELETE FROM relay_log WHERE origin ="
			       " ?1 AND id = ?2 AND destination = ?3 AND"
			       " version <= ?4", -1, &lg, NULL) != SQLITE_OK)
		rc = ERR_IO;
	for (size_t i = 0; rc == ERR_OK && i < n; i++) {
		const Alliance__V1__RelayRef *ref = refs[i];

		sqlite3_bind_text(st, 1, ref->origin, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, ref->kind);
		sqlite3_bind_text(st, 3, ref->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, destination, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (int64_t)ref->version);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = ERR_IO;
		*gone += (size_t)sqlite3_changes(hub->db);
		sqlite3_reset(st);
		if (ref->kind != ALLIANCE__V1__KIND__KIND_REQUEST)
			continue;
		sqlite3_bind_text(lg, 1, ref->origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(lg, 2, ref->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(lg, 3, destination, -1, SQLITE_STATIC);
		sqlite3_bind_int64(lg, 4, (int64_t)ref->version);
		if (sqlite3_step(lg) != SQLITE_DONE)
			rc = ERR_IO;
		sqlite3_reset(lg);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(lg);
	return rc;
}

static int share_ack(struct session *s, const Alliance__V1__RelayAck *ack);

int hub_relay_ack(struct session *s, const Alliance__V1__RelayAck *ack)
{
	struct hub *hub = s->hub;
	size_t gone = 0;

	for (size_t i = 0; i < ack->n_refs; i++)
		if (ack->refs[i]->refused)
			log_warn("relay %s: refused %s/%s: %s",
				 s->community->id, ack->refs[i]->origin,
				 ack->refs[i]->id, ack->refs[i]->reason);
	if (hub->pglog)
		return share_ack(s, ack);
	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK ||
	    mark_delivered(hub, s->community->id, ack->refs, ack->n_refs,
			   &gone) != ERR_OK ||
	    store_exec(hub->db, "COMMIT") != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		log_error("relay %s: the delivery could not be stored",
			  s->community->id);
	}
	log_debug("relay %s: %zu records delivered", s->community->id, gone);
	s->relay_inflight = 0;
	hub_relay_flush(s);
	return ERR_OK;
}

/* ---- Welcome ------------------------------------------------------------------ */

void hub_relay_welcome(struct session *s)
{
	s->relay_inflight = 0;
	hub_polls_welcome(s);   /* district polls it has not had */
	hub_relay_flush(s);
}

/* ---- the shared log ([store] postgresql) ------------------------------ */

/* A session's Relay whose records the shared log is to bring back before
 * the ack: the frame (a copy), each record's answer (a refusal decided
 * before it was shared, or the outcome of its event applied here), and
 * the records shared, in order, of which next is the one to come back. */
struct relay_pending {
	Alliance__V1__Relay *r;
	struct link_relay_answer answers[RELAY_BATCH];
	size_t shared[RELAY_BATCH];
	size_t n_shared, next;
};

/* What an event leaves to do once it committed. */
struct hub_relay_event {
	int kind;                       /* the event's */
	char community[LIMIT_COMMUNITY_ID + 1];
	uint64_t last;
	Change *ch;                     /* PGLOG_RELAY, PGLOG_POLL (owned) */
	Alliance__V1__RelayAck *ack;    /* PGLOG_RELAYED (owned) */
	struct outcome o;
	struct link_relay_answer a;
	int stored;                     /* PGLOG_POLL: new here */
};

static void pending_free(struct relay_pending **pp)
{
	if (!*pp)
		return;
	alliance__v1__relay__free_unpacked((*pp)->r, NULL);
	free(*pp);
	*pp = NULL;
}

void hub_relay_closed(struct session *s)
{
	pending_free(&s->relay_pending);
	s->relay_acking = 0;
}

/* pending_new: a copy of r to wait with, or NULL out of memory. */
static struct relay_pending *pending_new(const Alliance__V1__Relay *r)
{
	struct relay_pending *p = calloc(1, sizeof(*p));
	size_t len = alliance__v1__relay__get_packed_size(r);
	uint8_t *buf = malloc(len ? len : 1);

	if (p && buf) {
		alliance__v1__relay__pack(r, buf);
		p->r = alliance__v1__relay__unpack(NULL, len, buf);
	}
	free(buf);
	if (p && !p->r) {
		free(p);
		p = NULL;
	}
	return p;
}

/* share_relay: s's Relay judged here, by the time its events carry: a
 * refused record is answered and not shared; each other one is appended
 * to the shared log, an event a record (a request's personal data only
 * when a row is to deliver it), and the ack goes once the log brought
 * them all back (hub_relay_applied). */
static int share_relay(struct session *s, const Alliance__V1__Relay *r)
{
	struct hub *hub = s->hub;
	const char *community = s->community->id;
	struct outcome out[RELAY_BATCH];
	struct relay_pending *p;
	int64_t now = hub_now();
	char why[200];
	int rc;

	if (s->relay_pending) {
		session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_PROTOCOL,
			      ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME,
			      "a Relay before the last one was acked");
		return ERR_INVALID;
	}
	p = pending_new(r);
	if (!p)
		goto fail;
	memset(out, 0, sizeof(out));
	for (size_t i = 0; i < r->n_changes; i++)
		out[i].a = &p->answers[i];
	hub->shared_now = now;
	rc = apply_all(hub, community, r->changes, r->n_changes, out, 0);
	hub->shared_now = 0;
	if (rc != ERR_OK)
		goto fail;
	for (size_t i = 0; i < r->n_changes; i++) {
		const Change *ch = r->changes[i];
		size_t len, kept;
		uint8_t *body;

		if (out[i].a->refused) {
			refused_count(s->community, ch, &out[i]);
			continue;
		}
		body = relay_pack_parts(ch, &len, &kept);
		if (!body)
			goto fail;
		rc = pglog_append(hub->pglog, PGLOG_RELAY, community,
				  (uint64_t)now, body, out[i].dest[0] ? len
				  : kept, why, sizeof(why));
		free(body);
		if (rc != ERR_OK) {
			pending_free(&p);
			session_close(s, REFUSE_UNAVAILABLE,
				      WIRE_CLOSE_TRY_AGAIN, 0,
				      WIRE_TRY_AGAIN_REASON ": %.200s", why);
			return rc;
		}
		p->shared[p->n_shared++] = i;
	}
	if (!p->n_shared) {
		link_relay_ack(&s->link, p->r, p->answers);
		pending_free(&p);
	}
	s->relay_pending = p;
	return ERR_OK;
fail:
	pending_free(&p);
	session_close(s, REFUSE_PROTOCOL, WIRE_CLOSE_INTERNAL, 0,
		      "the hub could not store the relay; resend later");
	return ERR_IO;
}

/* share_ack: s's RelayAck appended to the shared log, cutting the personal
 * data off the events of the requests it holds; the next batch goes once
 * it came back (hub_relay_applied). */
static int share_ack(struct session *s, const Alliance__V1__RelayAck *ack)
{
	struct hub *hub = s->hub;
	uint64_t seqs[PGLOG_REDACT_MAX];
	size_t n = 0, len = alliance__v1__relay_ack__get_packed_size(ack);
	sqlite3_stmt *st = NULL;
	uint8_t *buf = malloc(len ? len : 1);
	char why[200];
	int rc = ERR_NOMEM;

	snprintf(why, sizeof(why), "out of memory");
	if (buf && sqlite3_prepare_v2(hub->db, "SELECT seq FROM relay_log"
				      " WHERE origin = ?1 AND id = ?2 AND"
				      " destination = ?3 AND version <= ?4",
				      -1, &st, NULL) == SQLITE_OK) {
		for (size_t i = 0; i < ack->n_refs; i++) {
			const Alliance__V1__RelayRef *ref = ack->refs[i];

			if (ref->kind != ALLIANCE__V1__KIND__KIND_REQUEST)
				continue;
			sqlite3_bind_text(st, 1, ref->origin, -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(st, 2, ref->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, s->community->id, -1,
					  SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, (int64_t)ref->version);
			while (sqlite3_step(st) == SQLITE_ROW &&
			       n < PGLOG_REDACT_MAX)
				seqs[n++] = (uint64_t)sqlite3_column_int64(st,
									   0);
			sqlite3_reset(st);
		}
		alliance__v1__relay_ack__pack(ack, buf);
		rc = pglog_append_redact(hub->pglog, PGLOG_RELAYED,
					 s->community->id,
					 (uint64_t)hub_now(), buf, len, seqs,
					 n, why, sizeof(why));
	}
	sqlite3_finalize(st);
	free(buf);
	if (rc != ERR_OK) {
		session_close(s, REFUSE_UNAVAILABLE, WIRE_CLOSE_TRY_AGAIN, 0,
			      WIRE_TRY_AGAIN_REASON ": %.200s", why);
		return rc;
	}
	s->relay_acking = 1;
	return ERR_OK;
}

/* has_personal: whether relayed record ev holds a second part, a
 * request's personal data (relay_pack_parts), not yet cut off. */
static int has_personal(const struct pglog_event *ev)
{
	size_t kept = relay_parts_kept(ev->body, ev->len);

	return kept && kept < ev->len;
}

/* sound_record: a relayed record read from the log, held to the rules of
 * a node's Relay again (the database is trusted no more than a node): of
 * the event's community, valid. 1, or 0 with why. */
static int sound_record(const struct pglog_event *ev, const Change *ch,
			char *why, size_t whylen)
{
	if (!ch) {
		snprintf(why, whylen, "not a record");
		return 0;
	}
	if (strcmp(ch->origin, ev->community) != 0) {
		snprintf(why, whylen, "%.64s: of %.64s, not of the event's "
			 "community", ch->id, ch->origin);
		return 0;
	}
	return relay_check(ch, why, whylen) == ERR_OK;
}

int hub_relay_apply(struct hub *hub, const struct pglog_event *ev,
		    struct hub_relay_event **out)
{
	struct hub_relay_event *re = calloc(1, sizeof(*re));
	char why[200];
	size_t gone;
	int rc;

	*out = re;
	if (!re)
		return ERR_IO;
	re->kind = ev->kind;
	re->last = ev->last;
	re->o.a = &re->a;
	snprintf(re->community, sizeof(re->community), "%s", ev->community);
	if (ev->kind == PGLOG_RELAYED) {
		re->ack = alliance__v1__relay_ack__unpack(NULL, ev->len,
							  ev->body);
		if (!re->ack) {
			log_error("shared log %llu: not a RelayAck: passed "
				  "over", (unsigned long long)ev->seq);
			return ERR_OK;
		}
		return mark_delivered(hub, ev->community, re->ack->refs,
				      re->ack->n_refs, &gone);
	}
	if (ev->kind == PGLOG_POLL) {
		re->ch = relay_unpack(ev->body, ev->len);
		if (!re->ch || re->ch->kind != ALLIANCE__V1__KIND__KIND_POLL ||
		    strcmp(re->ch->origin, RELAY_DISTRICT) != 0 ||
		    relay_check(re->ch, why, sizeof(why)) != ERR_OK) {
			log_error("shared log %llu: not a district poll: "
				  "passed over", (unsigned long long)ev->seq);
			alliance__v1__change__free_unpacked(re->ch, NULL);
			re->ch = NULL;
			return ERR_OK;
		}
		return hub_polls_store_district(hub, re->ch, ev->body, ev->len,
						&re->stored);
	}
	re->ch = relay_unpack_parts(ev->body, ev->len);
	if (!sound_record(ev, re->ch, why, sizeof(why))) {
		log_error("shared log %llu: a relayed record of %s refused, "
			  "not stored: %s", (unsigned long long)ev->seq,
			  ev->community, why);
		alliance__v1__change__free_unpacked(re->ch, NULL);
		re->ch = NULL;
		return ERR_OK;
	}
	hub->shared_now = (int64_t)ev->last;
	hub->shared_seq = has_personal(ev) ? ev->seq : 0;
	rc = apply_one(hub, ev->community, re->ch, &re->o);
	hub->shared_now = 0;
	hub->shared_seq = 0;
	return rc;
}

/* came_back: record ch of community's came back from the log, applied
 * here with answer a: if it is the one c's session here waits for, its
 * answer is kept, and the frame is acked once all came back. */
static void came_back(struct community *c, const Change *ch,
		      const struct outcome *o)
{
	struct session *s = c->session;
	struct relay_pending *p = s ? s->relay_pending : NULL;
	const Change *want;
	size_t i;

	if (!p || s->state != SESSION_ACTIVE)
		return;
	i = p->shared[p->next];
	want = p->r->changes[i];
	if (want->kind != ch->kind || want->version != ch->version ||
	    strcmp(want->id, ch->id) != 0)
		return;         /* another replica's copy of it: not ours */
	p->answers[i] = *o->a;
	if (o->a->refused)
		refused_count(c, ch, o);
	if (++p->next < p->n_shared)
		return;
	link_relay_ack(&s->link, p->r, p->answers);
	pending_free(&s->relay_pending);
}

void hub_relay_applied(struct hub *hub, struct hub_relay_event **pre,
		       int committed)
{
	struct hub_relay_event *re = *pre;
	struct community *c;
	char key[LIMIT_RECORD_ID + 1];

	if (!re)
		return;
	*pre = NULL;
	c = registry_find(hub, re->community);
	if (committed && re->kind == PGLOG_RELAY && re->ch) {
		if (went_on(hub, re->ch, &re->o))
			registry_each_session(hub, flush_each, NULL);
		if (c)
			came_back(c, re->ch, &re->o);
	} else if (committed && re->kind == PGLOG_RELAYED && c &&
		   c->session && c->session->relay_acking) {
		c->session->relay_acking = 0;
		c->session->relay_inflight = 0;
		hub_relay_flush(c->session);
	} else if (committed && re->kind == PGLOG_POLL && re->ch &&
		   relay_tally_id(RELAY_DISTRICT, re->ch->id, key, sizeof(key))
		   == ERR_OK) {
		hub_polls_created(hub, key, re->last, re->stored, NULL);
	}
	alliance__v1__change__free_unpacked(re->ch, NULL);
	alliance__v1__relay_ack__free_unpacked(re->ack, NULL);
	free(re);
}

void hub_relay_failed(struct hub *hub, const struct pglog_event *ev)
{
	struct community *c = registry_find(hub, ev->community);
	struct session *s = c ? c->session : NULL;

	if (ev->kind == PGLOG_POLL) {
		hub_polls_created(hub, NULL, ev->last, 0, ev->why);
		return;
	}
	if (s && s->state == SESSION_ACTIVE &&
	    (ev->kind == PGLOG_RELAY ? s->relay_pending != NULL
				     : s->relay_acking))
		session_close(s, REFUSE_UNAVAILABLE, WIRE_CLOSE_TRY_AGAIN, 0,
			      WIRE_TRY_AGAIN_REASON ": the hub's database did not "
			      "store the relay: %.150s", ev->why);
}

/* ---- the district's request figures ---------------------------------------- */

json_t *hub_relay_request_stats(struct hub *hub)
{
	sqlite3_stmt *st = NULL;
	json_t *items = json_array();

	if (!items || sqlite3_prepare_v2(hub->db, "SELECT owner, count(*),"
			       " sum(closed IS NULL), sum(status = 'done'),"
			       " avg(first_response - received),"
			       " avg(closed - received) FROM request_stat"
			       " GROUP BY owner ORDER BY owner", -1, &st,
			       NULL) != SQLITE_OK) {
		json_decref(items);
		return NULL;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_pack(
			"{s:s, s:I, s:I, s:I}",
			"community", (const char *)sqlite3_column_text(st, 0),
			"requests", (json_int_t)sqlite3_column_int64(st, 1),
			"open", (json_int_t)sqlite3_column_int64(st, 2),
			"done", (json_int_t)sqlite3_column_int64(st, 3));

		if (!o)
			continue;
		json_object_set_new(o, "avg_response_s",
				    sqlite3_column_type(st, 4) == SQLITE_NULL
				    ? json_null()
				    : json_real(sqlite3_column_double(st, 4)));
		json_object_set_new(o, "avg_close_s",
				    sqlite3_column_type(st, 5) == SQLITE_NULL
				    ? json_null()
				    : json_real(sqlite3_column_double(st, 5)));
		json_array_append_new(items, o);
	}
	sqlite3_finalize(st);
	return json_pack("{s:o}", "items", items);
}
