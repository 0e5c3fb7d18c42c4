/* sync.c: the node's two change streams over its session with the hub.
 *
 * Up: the node's own log is sent from the hub's cursor (Welcome.up_cursor)
 * in batches within Welcome's count and bytes, at most a window of them
 * unacked (the link's stream, lib/link.h); the hub acks after commit. Welcome's quota is kept for the
 * writers (records.c).
 * Before a batch goes out, the store keeps its marks (struct up_marks):
 * the highest seq sent (StoreMarks.up_sent), how far the hub had acked,
 * our highest version.
 * Down: the hub's batches are applied under the version rule in one
 * transaction together with the new cursor, then acked.
 * A store behind the hub (wire_store_behind: restored from an older
 * backup, or lost) moves its log after what the hub surely holds above
 * the hub's cursor, and its edits since the marks (versions above the
 * kept one) above the hub's own_version, so that they reach the hub and
 * win over the copies of ours it sends back (reconcile). Parts: Welcome;
 * up; down; waking. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "node.h"
#include "store.h"

/* ---- Welcome ------------------------------------------------------------- */

void sync_marks(struct node *n, Alliance__V1__StoreMarks *m)
{
	m->up_sent = n->up_marks.sent;
	m->own_version = records_own_high(n->cat, n->db, n->cfg.community);
}

/* reconcile: our store is behind the hub (wire_store_behind): the hub
 * holds our stream up to up_cursor and our versions up to own_version,
 * but of our log it surely holds only the entries up to n->up_marks.held
 * (the store was restored from an older backup, or lost). In one
 * transaction, every later log entry moves above up_cursor: one whose
 * version is at most n->up_marks.version (a record as it was when the
 * backup was made; the hub may hold it or a newer edit of it) keeps its
 * version, so the hub's version rule decides; a later version is an edit
 * the hub cannot hold (made since the restore point, its number used by
 * the hub's copies) and takes a new version above own_version and ours,
 * so that it wins: the newer intent. The marks then say the hub's view is
 * reconciled. *renumbered and *again count the two. */
static int reconcile(struct node *n, uint64_t up_cursor, uint64_t own_version,
		     size_t *renumbered, size_t *again)
{
	struct records_writer w;
	struct up_marks was = n->up_marks, m = was;
	uint64_t head = catalog_log_head(n->cat);
	uint64_t last = m.held < up_cursor ? m.held : up_cursor;
	int rc;

	*renumbered = *again = 0;
	rc = records_begin(&w, n->cat, n->db, n->cfg.community);
	if (rc != ERR_OK)
		return rc;
	rc = records_set_floor(n->db, own_version);
	if (rc == ERR_OK)
		rc = catalog_log_raise(n->cat, up_cursor);
	if (w.next <= own_version)
		w.next = own_version + 1;
	while (rc == ERR_OK && last < head) {
		Change **batch = NULL;
		size_t count = 0, i;

		rc = catalog_log_batch(n->cat, last, NULL, LIMIT_BATCH, &batch,
				       &count, &last);
		/* entries moved (above head) are done already */
		for (i = 0; rc == ERR_OK && i < count && batch[i]->seq <= head;
		     i++) {
			if (batch[i]->version <= m.version) {
				rc = catalog_log_again(n->cat, batch[i]);
				(*again)++;
			} else {
				rc = records_put(&w, batch[i]);
				(*renumbered)++;
			}
		}
		catalog_batch_free(&batch, count);
		if (!count)
			break;
	}
	m.sent = m.sent > up_cursor ? m.sent : up_cursor;
	m.held = up_cursor;
	if (rc == ERR_OK)
		rc = node_store_set_up_marks(n, &m);
	if (rc == ERR_OK)
		rc = records_commit(&w);
	else
		records_rollback(&w);
	if (rc != ERR_OK)       /* the marks in memory go back with it */
		n->up_marks = was;
	return rc;
}

/* behind: the Welcome w found our store gone back in time (own: our
 * highest version): reconcile, say so. ERR_OK, or reconcile's error. */
static int behind(struct node *n, const Alliance__V1__Welcome *w,
		  uint64_t own)
{
	size_t renumbered = 0, again = 0;
	int rc;

	n->store_behind++;
	log_warn("sync: our store is behind the hub: it holds our stream up "
		 "to %" PRIu64 " and our versions up to %" PRIu64 ", but we "
		 "sent up to %" PRIu64 " and hold versions up to %" PRIu64
		 " (restored from an older backup, or lost): our edits since "
		 "are renumbered above the hub's, its newer records of ours "
		 "come back", w->up_cursor, w->own_version,
		 n->up_marks.sent, own);
	rc = reconcile(n, w->up_cursor, w->own_version, &renumbered, &again);
	if (rc != ERR_OK) {
		log_error("sync: could not renumber our edits for the hub");
		return rc;
	}
	n->renumbered += renumbered;
	log_warn("sync: %zu edits renumbered above the hub's version %" PRIu64
		 " and seq %" PRIu64 "; %zu records sent again as they were",
		 renumbered, w->own_version, w->up_cursor, again);
	return ERR_OK;
}

/* directory_held: whether the node holds any record of the directory. */
static int directory_held(struct node *n)
{
	sqlite3_stmt *st = NULL;
	int held = 0;

	if (sqlite3_prepare_v2(n->db, "SELECT EXISTS (SELECT 1 FROM"
			       " directory)", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		held = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return held;
}

/* snapshot_begin: the hub sends the whole log; note what arrives when we
 * hold replicas it might no longer have. */
static void snapshot_begin(struct node *n)
{
	n->snapshot_tracking =
		catalog_count(n->cat, NULL, ALLIANCE__V1__KIND__KIND_SERVICE) +
		catalog_count(n->cat, NULL,
			      ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT) >
		catalog_count(n->cat, n->cfg.community,
			      ALLIANCE__V1__KIND__KIND_SERVICE) +
		catalog_count(n->cat, n->cfg.community,
			      ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT);
	n->snapshot_tracking |= directory_held(n);
	/* the snapshot restarts the stream from its beginning */
	if (store_exec(n->db, "DELETE FROM snapshot_seen") != ERR_OK ||
	    node_store_set_snapshot(n, 1) != ERR_OK ||
	    node_store_set_down_cursor(n, 0) != ERR_OK)
		log_error("sync: cannot note the snapshot's start");
	log_info("sync: the hub sends a snapshot%s", n->snapshot_tracking
		 ? "; replicas it no longer holds will be dropped" : "");
}

/* quota_welcome: keep the quota w announces for the writers (a field
 * the hub left 0 keeps what we knew). */
static void quota_welcome(struct node *n, const Alliance__V1__Welcome *w)
{
	struct quota q;

	records_quota_get(n->db, &q);
	quota_from_welcome(w, &q);
	if (records_quota_set(n->db, &q) != ERR_OK)
		log_error("sync: cannot keep the quota the hub announced");
	else
		log_info("sync: quota %" PRIu64 " records, %" PRIu64 " bytes, %"
			 PRIu64 " changes an hour", q.records, q.bytes,
			 q.per_hour);
}

int sync_welcome(struct node *n, const Alliance__V1__Welcome *w)
{
	uint64_t own;

	quota_welcome(n, w);
	if (w->snapshot) {
		snapshot_begin(n);
	} else if (w->down_from && w->down_from < n->down_cursor) {
		/* our cursor was past the hub's head and it sends no
		 * snapshot (it sent one not long ago): go on from its head */
		log_warn("sync: the hub's stream ends at %" PRIu64 ", before "
			 "our cursor %" PRIu64 "; continuing from there",
			 w->down_from, n->down_cursor);
		if (node_store_set_down_cursor(n, w->down_from) != ERR_OK)
			log_error("sync: cannot set the down cursor");
	}
	own = records_own_high(n->cat, n->db, n->cfg.community);
	if (wire_store_behind(w->up_cursor, w->own_version, n->up_marks.sent,
			      own)) {
		if (behind(n, w, own) != ERR_OK)
			return ERR_IO;   /* nothing sent that could be lost */
	} else if (records_set_floor(n->db, w->own_version) != ERR_OK) {
		log_error("sync: cannot keep the hub's version of ours");
	}
	n->up_acked = w->up_cursor;
	link_stream_start(&n->up, w->up_cursor, w->window, w->batch_max,
			  w->batch_bytes);
	sync_wake(n);
	return ERR_OK;
}

/* ---- up -------------------------------------------------------------------- */

static int up_pending(struct node *n, uint64_t head)
{
	return n->hub_state == HUB_CONNECTED && link_stream_due(&n->up, head);
}

/* keep_marks: a batch up to last is about to go: the mark is kept before
 * the hub can hold what it covers (link_stream_write's sending). */
static int keep_marks(void *arg, uint64_t last)
{
	struct node *n = arg;
	struct up_marks marks;

	if (last <= n->up_marks.sent)
		return ERR_OK;
	marks.sent = last;
	marks.held = n->up_acked;
	marks.version = records_own_high(n->cat, n->db, n->cfg.community);
	if (node_store_set_up_marks(n, &marks) != ERR_OK) {
		log_error("sync: cannot keep the up marks; the session ends");
		return ERR_IO;
	}
	return ERR_OK;
}

int sync_write_up(struct node *n, struct link *l)
{
	int rc;

	if (n->hub_state != HUB_CONNECTED)
		return 0;
	rc = link_stream_write(l, &n->up, n->cat, NULL, INT_MAX, keep_marks,
			       n);
	if (rc > 0)
		log_debug("sync: sent changes up to %" PRIu64, n->up.sent);
	return rc;
}

int sync_handle_ack(struct node *n, const Alliance__V1__Ack *ack)
{
	unsigned released;

	if (link_stream_ack(&n->up, ack->seq, &released) != ERR_OK)
		return ERR_INVALID;
	n->up_acked = ack->seq;
	sync_wake(n);
	return ERR_OK;
}

/* ---- down ---------------------------------------------------------------- */

/* Replicas (records of other communities) a finished snapshot did not
 * bring: their deletions were forgotten by the hub. */
static const char *const snapshot_prune_sql[] = {
	"DELETE FROM service WHERE origin <> ?1 AND NOT EXISTS (SELECT 1 FROM"
	" snapshot_seen s WHERE s.kind = 1 AND s.origin = service.origin AND"
	" s.id = service.id)",
	"DELETE FROM announcement WHERE origin <> ?1 AND NOT EXISTS (SELECT 1"
	" FROM snapshot_seen s WHERE s.kind = 2 AND s.origin ="
	" announcement.origin AND s.id = announcement.id)",
	"DELETE FROM directory WHERE origin <> ?1 AND NOT EXISTS (SELECT 1"
	" FROM snapshot_seen s WHERE s.kind = directory.kind AND s.origin ="
	" directory.origin AND s.id = directory.id)",
	"DELETE FROM snapshot_seen WHERE ?1 IS NOT NULL",
};

/* snapshot_note: within the batch's transaction, record what a snapshot
 * frame brought and, on its last frame, drop the replicas it did not. */
static int snapshot_note(struct node *n, const Alliance__V1__Changes *cs)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = SQLITE_DONE;

	if (n->snapshot_tracking && cs->n_changes) {
		if (sqlite3_prepare_v2(n->db, "INSERT OR IGNORE INTO"
				       " snapshot_seen (origin, kind, id)"
				       " VALUES (?1, ?2, ?3)", -1, &st,
				       NULL) != SQLITE_OK)
			return ERR_IO;
		for (i = 0; i < cs->n_changes && rc == SQLITE_DONE; i++) {
			sqlite3_bind_text(st, 1, cs->changes[i]->origin, -1,
					  SQLITE_STATIC);
			sqlite3_bind_int(st, 2, cs->changes[i]->kind);
			sqlite3_bind_text(st, 3, cs->changes[i]->id, -1,
					  SQLITE_STATIC);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return ERR_IO;
	}
	if (!cs->snapshot_done)
		return ERR_OK;
	for (i = 0; n->snapshot_tracking &&
		    i < sizeof(snapshot_prune_sql) / sizeof(*snapshot_prune_sql);
	     i++) {
		st = NULL;
		if (sqlite3_prepare_v2(n->db, snapshot_prune_sql[i], -1, &st,
				       NULL) != SQLITE_OK)
			return ERR_IO;
		sqlite3_bind_text(st, 1, n->cfg.community, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (i < 3 && sqlite3_changes(n->db))
			log_info("sync: snapshot dropped %d replicas the hub no "
				 "longer holds", sqlite3_changes(n->db));
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return ERR_IO;
	}
	return node_store_set_snapshot(n, 0);
}

int sync_handle_changes(struct node *n, const Alliance__V1__Changes *cs,
			uint64_t *ack, char *why, size_t whylen)
{
	uint64_t prev = n->down_cursor, cursor = n->down_cursor;
	int pending = n->snapshot_pending;
	size_t i, stored = 0;

	*ack = n->down_cursor;
	if (cs->last_seq <= n->down_cursor)
		return ERR_OK;          /* a replay: ack what we have */
	for (i = 0; i < cs->n_changes; i++) {
		const Change *ch = cs->changes[i];

		if (ch->seq <= prev || ch->seq > cs->last_seq) {
			snprintf(why, whylen, "change seq %" PRIu64 " out of "
				 "order", ch->seq);
			return ERR_INVALID;
		}
		prev = ch->seq;
		if (catalog_check(ch, why, whylen) != ERR_OK)
			return ERR_INVALID;
	}
	/* the store's lock alone: these never write the outbox's file */
	if (node_store_begin(n->db, NODE_STORE_MAIN) != ERR_OK)
		goto io;
	for (i = 0; i < cs->n_changes; i++) {
		int applied = 0;

		if (cs->changes[i]->seq <= n->down_cursor)
			continue;
		if (catalog_apply(n->cat, cs->changes[i], 0, &applied))
			goto rollback;
		stored += applied;
	}
	if ((cs->snapshot && snapshot_note(n, cs) != ERR_OK) ||
	    node_store_set_down_cursor(n, cs->last_seq) != ERR_OK)
		goto rollback;
	if (store_exec(n->db, "COMMIT") != ERR_OK)
		goto rollback;
	*ack = cs->last_seq;
	log_debug("sync: stored %zu of %zu changes, cursor %" PRIu64, stored,
		  cs->n_changes, cs->last_seq);
	return ERR_OK;
rollback:
	/* the error first: a ROLLBACK that succeeds clears it */
	snprintf(why, whylen, "cannot store the batch: %s",
		 sqlite3_errmsg(n->db));
	store_exec(n->db, "ROLLBACK");
	n->down_cursor = cursor;
	n->snapshot_pending = pending;
	return ERR_IO;
io:
	snprintf(why, whylen, "cannot store the batch: %s",
		 sqlite3_errmsg(n->db));
	return ERR_IO;
}

/* ---- waking ---------------------------------------------------------------- */

void sync_wake(struct node *n)
{
	if (n->hub_wsi && up_pending(n, catalog_log_head(n->cat)))
		lws_callback_on_writable(n->hub_wsi);
}

uint64_t sync_up_lag(const struct node *n, uint64_t head)
{
	return head > n->up_acked ? head - n->up_acked : 0;
}
