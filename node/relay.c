/* relay.c: the node's end of the relay (proto: Relay, RelayAck), and the
 * tables of requests, residents and polls.
 *
 * Out: every relayed record this community writes (a request, a status of
 * a request it was sent, its polls and tallies, its check-in counts) goes
 * into relay_outbox in the transaction that writes it and stays there
 * until the hub acks that version (store and forward across outages and
 * restarts). At most one Relay frame of RELAY_BATCH records, within
 * Welcome's batch bytes, is unacked; a new session starts over from the
 * outbox. Check-in counts wait there until a hub's Welcome says it takes
 * them (Welcome.checkin). In: the hub's Relay (requests for our services,
 * statuses of our residents' requests, district polls and the other
 * communities' tallies of them) is checked, stored
 * under the version rule in one transaction, then acked record by record;
 * a record that is not for us is acked as refused and stored nowhere.
 *
 * The request, resident and poll tables are request_store.h's,
 * resident_store.h's and poll_store.h's; their schema text is put into
 * these migrations from there.
 *
 * Parts: schema; versions; out; in; acks; the session. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "civic.h"
#include "err.h"
#include "log.h"
#include "store.h"

#define META_RELAY_VERSION "relay_version"

/* ---- schema ------------------------------------------------------------------ */

const char node_civic_schema_v1[] =
	"CREATE TABLE relay_outbox ("
	"  origin TEXT NOT NULL,"
	"  kind INTEGER NOT NULL,"
	"  id TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  body BLOB NOT NULL,"
	"  PRIMARY KEY (origin, kind, id)"
	") WITHOUT ROWID;"
	/* requests (request_store.h) */
	REQUEST_SCHEMA_V1
	/* residents (resident_store.h) */
	RESIDENT_SCHEMA_V1
	/* polls (poll_store.h) */
	POLL_SCHEMA_V1;

/* v2 is request_schema_v2 (request_store.c) */

/* v3: the other communities' tallies of district polls, as the hub relays
 * them (polls.c), so a node shows the district-wide result; and mobile
 * numbers registered with their country code kept as their 11 digits, as
 * residents.c now keeps them (one that would clash with a number kept
 * without it stays as it was) */
const char node_civic_schema_v3[] =
	RESIDENT_SCHEMA_V3
	POLL_SCHEMA_V3;

/* v4: the name a resident gives her account (account.c), filled into her
 * request form; and requests whose resident deleted her account, their
 * personal data blanked (relay.h's erasure) */
const char node_civic_schema_v4[] =
	RESIDENT_SCHEMA_V4
	REQUEST_SCHEMA_V4;

/* ---- versions ---------------------------------------------------------------- */

uint64_t relay_next_version(struct node *n)
{
	sqlite3_stmt *st = NULL;
	uint64_t last = 0, v;
	char buf[24];

	if (sqlite3_prepare_v2(n->db, "SELECT value FROM meta WHERE key = ?1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, META_RELAY_VERSION, -1,
				  SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			last = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	v = relay_version(last);
	st = NULL;
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	if (sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO meta (key,"
			       " value) VALUES (?1, ?2)", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, META_RELAY_VERSION, -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 2, buf, -1, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	return v;
}

/* ---- out ----------------------------------------------------------------------- */

int relay_outbox_put(struct node *n, const Change *ch)
{
	sqlite3_stmt *st = NULL;
	size_t len = 0;
	uint8_t *buf = relay_pack(ch, &len);
	int rc;

	if (!buf)
		return ERR_NOMEM;
	rc = sqlite3_prepare_v2(n->db, "INSERT OR REPLACE INTO relay_outbox"
				" (origin, kind, id, version, body) VALUES (?1,"
				" ?2, ?3, ?4, ?5)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, ch->origin, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, ch->kind);
		sqlite3_bind_text(st, 3, ch->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)ch->version);
		sqlite3_bind_blob(st, 5, buf, (int)len, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	free(buf);
	return rc == SQLITE_DONE ? ERR_OK : ERR_IO;
}

int64_t node_relay_outbox(struct node *n)
{
	return store_count(n->db, "SELECT count(*) FROM relay_outbox", NULL);
}

void relay_flush(struct node *n)
{
	struct link *l = hub_link__link(n);
	sqlite3_stmt *st = NULL;
	size_t count = 0;

	if (!n->civic || n->civic->relay_inflight || !l)
		return;
	/* check-in counts wait for a hub that takes them (Welcome) */
	if (sqlite3_prepare_v2(n->db, "SELECT body FROM relay_outbox WHERE"
			       " ?2 OR kind <> ?3 ORDER BY version LIMIT ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int(st, 1, RELAY_BATCH);
	sqlite3_bind_int(st, 2, n->civic->hub_checkin);
	sqlite3_bind_int(st, 3, ALLIANCE__V1__KIND__KIND_CHECKIN);
	link_relay_send(l, st, n->up.bytes, &count);
	sqlite3_finalize(st);
	if (!count)
		return;
	n->civic->relay_inflight = 1;
	log_debug("relay: sent %zu records to the hub", count);
}

/* ---- in ------------------------------------------------------------------------- */

int node_relay_handle(struct node *n, const Alliance__V1__Relay *r,
		      char *why, size_t whylen)
{
	struct link_relay_answer answers[RELAY_BATCH];
	struct link *l;
	size_t i;
	int rc = ERR_OK;

	if (r->n_changes > RELAY_BATCH) {
		snprintf(why, whylen, "relay of %zu records, over %d",
			 r->n_changes, RELAY_BATCH);
		return ERR_INVALID;
	}
	for (i = 0; i < r->n_changes; i++)
		if (relay_check(r->changes[i], why, whylen) != ERR_OK)
			return ERR_INVALID;
	/* the store's lock alone: these never write the outbox's file */
	if (node_store_begin(n->db, NODE_STORE_MAIN) != ERR_OK)
		return ERR_IO;
	for (i = 0; rc == ERR_OK && i < r->n_changes; i++) {
		const Change *ch = r->changes[i];
		struct link_relay_answer *a = &answers[i];

		a->refused = 0;
		a->reason[0] = '\0';
		if (ch->kind == ALLIANCE__V1__KIND__KIND_POLL) {
			rc = polls_apply(n, ch, a->reason, sizeof(a->reason),
					 &a->refused);
		} else if (ch->kind == ALLIANCE__V1__KIND__KIND_TALLY) {
			rc = polls_apply_tally(n, ch, a->reason,
					       sizeof(a->reason), &a->refused);
		} else {
			rc = requests_apply(n, ch, a->reason,
					    sizeof(a->reason), &a->refused);
		}
		if (a->refused)
			log_warn("relay: refused %s/%s from the hub: %s",
				 ch->origin, ch->id, a->reason);
	}
	if (rc != ERR_OK || store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		snprintf(why, whylen, "cannot store the relay: %s",
			 sqlite3_errmsg(n->db));
		return ERR_IO;
	}
	if ((l = hub_link__link(n)) != NULL)
		link_relay_ack(l, r, answers);
	log_debug("relay: stored %zu records from the hub", r->n_changes);
	relay_flush(n);        /* receipts written while storing them */
	return ERR_OK;
}

/* ---- acks ------------------------------------------------------------------------ */

int node_relay_ack(struct node *n, const Alliance__V1__RelayAck *ack)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(n->db, "DELETE FROM relay_outbox WHERE origin"
			       " = ?1 AND kind = ?2 AND id = ?3 AND version ="
			       " ?4", -1, &st, NULL) != SQLITE_OK)
		return ERR_IO;
	node_store_begin(n->db, NODE_STORE_MAIN);
	for (size_t i = 0; i < ack->n_refs; i++) {
		const Alliance__V1__RelayRef *ref = ack->refs[i];

		if (ref->refused && ref->kind ==
		    ALLIANCE__V1__KIND__KIND_REQUEST)
			requests_refused(n, ref->id, ref->reason);
		else if (ref->refused)
			log_warn("relay: the hub refused %s: %s", ref->id,
				 ref->reason);
		sqlite3_bind_text(st, 1, ref->origin, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, ref->kind);
		sqlite3_bind_text(st, 3, ref->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)ref->version);
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	store_exec(n->db, "COMMIT");
	if (n->civic)
		n->civic->relay_inflight = 0;
	relay_flush(n);
	return ERR_OK;
}

/* ---- the session ------------------------------------------------------------------ */

void node_relay_welcome(struct node *n, const Alliance__V1__Welcome *w)
{
	if (!n->civic)
		return;
	n->civic->quota_requests = w->requests_per_destination_per_hour;
	n->civic->hub_checkin = w->checkin;
	n->civic->relay_inflight = 0;
	relay_flush(n);
}
