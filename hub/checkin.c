/* checkin.c: the district's view of safety check-ins: counts only.
 *
 * A bulletin signed with check_in asks residents to confirm they are
 * safe. Who answered, the list of residents who need a call, their names
 * and phones stay at each node (node/checkin.c); what comes here is each
 * community's counts (proto: CheckInCounts), a KIND_CHECKIN record of
 * the community's origin in a Relay frame, id = the bulletin's id. It is
 * stored under the version rule (a replay or an older version changes
 * nothing; the newest wins) for a bulletin the hub holds, that asks for
 * a check-in and that was sent to that community; anything else is
 * refused in the ack with the reason and stored nowhere. The operator's
 * GET /api/v1/bulletins/{id} shows the totals and each community's
 * counts (hub_checkin_json), which the district console and
 * `alliancectl bulletin status` read.
 *
 * Table (hub_checkin_schema_v1): checkin_count (bulletin, community,
 * version, confirmed, not_yet, needs_help, anonymous_safe,
 * anonymous_help, updated, received).
 *
 * Parts: schema; receiving; the operator's view. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bulletin_store.h"
#include "clock.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "relay.h"

/* ---- schema ------------------------------------------------------------------ */

const char hub_checkin_schema_v1[] =
	"CREATE TABLE checkin_count ("
	"  bulletin TEXT NOT NULL,"
	"  community TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"      /* the node's; newest wins */
	"  confirmed INTEGER NOT NULL,"
	"  not_yet INTEGER NOT NULL,"
	"  needs_help INTEGER NOT NULL,"
	"  anonymous_safe INTEGER NOT NULL,"
	"  anonymous_help INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"      /* the node's clock */
	"  received INTEGER NOT NULL,"     /* the hub's */
	"  PRIMARY KEY (bulletin, community)"
	") WITHOUT ROWID;";

/* ---- receiving ------------------------------------------------------------- */

/* asks_community: 1 when bulletin id is held here, asks for a check-in
 * and went to community (a delivery row); 0 with the reason in why when
 * not; an ERR_* code when the store cannot say. */
static int asks_community(struct hub *hub, const char *id,
			  const char *community, char *why, size_t whylen)
{
	struct bulletin_row row;
	sqlite3_stmt *st = NULL;
	int rc, sent;

	rc = bulletin_store_get(hub->db, id, hub_relay_now(hub), &row);
	if (rc == ERR_NOTFOUND) {
		snprintf(why, whylen, "check-in %.80s: no such bulletin at "
			 "the hub", id);
		return 0;
	}
	if (rc != ERR_OK)
		return ERR_IO;
	rc = row.c->check_in;
	bulletin_row_free(&row);
	if (!rc) {
		snprintf(why, whylen, "check-in %.80s: that bulletin asks for "
			 "no check-in", id);
		return 0;
	}
	if (sqlite3_prepare_v2(hub->db, "SELECT 1 FROM bulletin_delivery"
			       " WHERE bulletin = ?1 AND community = ?2", -1,
			       &st, NULL) != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, community, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sent = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ERR_IO;
	if (!sent)
		snprintf(why, whylen, "check-in %.80s: that bulletin was not "
			 "sent to %s", id, community);
	return sent;
}

int hub_checkin_apply(struct hub *hub, const char *community,
		      const Change *ch, char *reason, size_t rlen,
		      int *refused)
{
	const Alliance__V1__CheckInCounts *k = ch->checkin;
	sqlite3_stmt *st = NULL;
	int rc;

	*refused = 0;
	rc = asks_community(hub, ch->id, community, reason, rlen);
	if (rc < 0)
		return rc;
	if (!rc) {
		*refused = 1;
		return ERR_OK;
	}
	if (sqlite3_prepare_v2(hub->db, "INSERT INTO checkin_count (bulletin,"
			       " community, version, confirmed, not_yet,"
			       " needs_help, anonymous_safe, anonymous_help,"
			       " updated, received) VALUES (?1, ?2, ?3, ?4,"
			       " ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT"
			       " (bulletin, community) DO UPDATE SET version ="
			       " excluded.version, confirmed ="
			       " excluded.confirmed, not_yet = excluded.not_yet,"
			       " needs_help = excluded.needs_help,"
			       " anonymous_safe = excluded.anonymous_safe,"
			       " anonymous_help = excluded.anonymous_help,"
			       " updated = excluded.updated, received ="
			       " excluded.received WHERE excluded.version >"
			       " checkin_count.version", -1, &st, NULL)
	    != SQLITE_OK)
		return ERR_IO;
	sqlite3_bind_text(st, 1, ch->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, community, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)ch->version);
	/* relay_check held each count to RELAY_CHECKIN_COUNT_MAX */
	sqlite3_bind_int64(st, 4, (int64_t)k->confirmed);
	sqlite3_bind_int64(st, 5, (int64_t)k->not_yet);
	sqlite3_bind_int64(st, 6, (int64_t)k->needs_help);
	sqlite3_bind_int64(st, 7, (int64_t)k->anonymous_safe);
	sqlite3_bind_int64(st, 8, (int64_t)k->anonymous_help);
	sqlite3_bind_int64(st, 9, k->updated);
	sqlite3_bind_int64(st, 10, hub_relay_now(hub));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ERR_IO;
	log_debug("check-in %s: %s reports %" PRIu64 " confirmed, %" PRIu64
		  " not yet, %" PRIu64 " need help", ch->id, community,
		  k->confirmed, k->not_yet, k->needs_help);
	return ERR_OK;
}

/* ---- the operator's view ---------------------------------------------------- */

json_t *hub_checkin_json(struct hub *hub, const char *id)
{
	static const char *const names[] = { "confirmed", "not_yet",
		"needs_help", "anonymous_safe", "anonymous_help" };
	json_int_t total[5] = { 0 };
	sqlite3_stmt *st = NULL;
	json_t *list = json_array(), *out, *o;
	char t[CLOCK_RFC3339_LEN];
	int rc;

	if (!list || sqlite3_prepare_v2(hub->db, "SELECT community, confirmed,"
			       " not_yet, needs_help, anonymous_safe,"
			       " anonymous_help, updated FROM checkin_count"
			       " WHERE bulletin = ?1 ORDER BY community", -1,
			       &st, NULL) != SQLITE_OK) {
		json_decref(list);
		return NULL;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		o = json_pack("{s:s, s:s}", "community",
			      (const char *)sqlite3_column_text(st, 0),
			      "updated", clock_rfc3339(sqlite3_column_int64(
				      st, 6), t, sizeof(t)));
		for (int i = 0; o && i < 5; i++) {
			json_int_t v = sqlite3_column_int64(st, i + 1);

			total[i] += v;
			json_object_set_new(o, names[i], json_integer(v));
		}
		json_array_append_new(list, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return NULL;
	}
	out = json_pack("{s:o}", "communities", list);
	for (int i = 0; out && i < 5; i++)
		json_object_set_new(out, names[i], json_integer(total[i]));
	return out;
}
