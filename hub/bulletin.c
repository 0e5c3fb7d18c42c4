/* bulletin.c: the hub's bulletin relay.
 *
 * An operator POSTs a bulletin signed by alliancectl; the hub checks it
 * against the pinned keys ([bulletins] keys, re-read on SIGHUP), stores the
 * signed bytes verbatim with the operator who posted it, and records one
 * delivery row per targeted community (the signed area, or every
 * community in the registry). Each connected targeted node is sent it at
 * once through its session's send queue, which WRITEABLE empties before
 * any of the down stream, so a bulletin overtakes a catalog backlog; a
 * node that is away gets its pending bulletins right after its next
 * Welcome. The bulletin is committed before it is sent; its delivery rows
 * are written just after its frames, in the same service-loop turn (no
 * ack is read before them), and a start makes those a stop kept from
 * being written. A node acks after persisting (or refuses, saying why);
 * the hub then records the delivery time (the acks of one service-loop
 * pass in one statement). At most LIMIT_BULLETIN_INFLIGHT bulletins are
 * unacked per node, so the send queue stays bounded.
 *
 * With [store] postgresql a POST (verified here) and the acks of a few
 * milliseconds are events of the shared log (pglog.h): every replica
 * applies each to its copy and sends a new bulletin to its own live
 * sessions, so the delivery view is alike at every replica; the POST is
 * answered once its event came back committed.
 *
 * Parts: state and schema; keys; sending; acks; the operator API; the
 * shared log. */
#include <stdlib.h>
#include <string.h>

#include "bulletin_store.h"
#include "clock.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "pglog.h"
#include "relay.h"
#include "store.h"
#include "text.h"

/* ---- state and schema -------------------------------------------------- */

#define LINK_BUCKETS 1024

/* What was sent to one community in its current session. */
struct delivery_link {
	char community[LIMIT_COMMUNITY_ID + 1];
	int64_t after;              /* last delivery seq sent this session */
	unsigned inflight;          /* sent, not yet acked */
	int backlog;                /* pending rows may be unsent (the window
				     * was full): pump must ask the store */
	struct delivery_link *next;          /* hash chain */
};

/* Statements of the hot path (one pump per node per bulletin, one ack per
 * node), prepared once: preparing them each time cost more than running
 * them. */
enum {
	ST_PUMP,                    /* a community's unsent pending bulletins */
	ST_DELIVERED,               /* record acks (ack_rows) */
	ST_REFUSED,                 /* record a refusal */
	ST_LAST_SEQ,                /* the highest delivery seq stored */
	ST_TARGET,                  /* the delivery rows of a new bulletin */
	ST_SHARED_DELIVERED,        /* record acks from the shared log */
	ST_COUNT
};

/* An ack received, its delivery not yet written (or shared). */
struct acked {
	char bulletin[LIMIT_RECORD_ID + 1];
	char community[LIMIT_COMMUNITY_ID + 1];
	int64_t ms;                 /* when it arrived, unix ms */
};

/* With [store] postgresql the acks a replica receives are shared as one
 * event (PGLOG_DELIVERIES) at most this many milliseconds after the
 * first, or at SHARE_MAX of them. An event each (a row written, then read
 * by every replica) cost PostgreSQL 15.5 ms of CPU in the first 50 ms of
 * a bulletin to 1000 nodes over two replicas, while the frames still went
 * out; shared together, 2 ms (bench/replicas). */
#define SHARE_HOLD_MS 20
#define SHARE_MAX 1024
/* An ack in a PGLOG_DELIVERIES body: the community's length (1 byte) and
 * id, the bulletin id's length (1) and id, when it arrived (unix ms, 8
 * bytes big-endian). */
#define SHARED_ACK_MAX (1 + LIMIT_COMMUNITY_ID + 1 + LIMIT_RECORD_ID + 8)

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

/* shared_ack_next: the ack at *at of a PGLOG_DELIVERIES body (len
 * bytes) into a, *at moved past it (its ids as they came: ack_rows_add
 * checks them). ERR_OK, or ERR_INVALID when it is cut short. */
static int shared_ack_next(const uint8_t *body, size_t len, size_t *at,
			   struct acked *a)
{
	size_t n;

	if (*at >= len || (n = body[*at]) > LIMIT_COMMUNITY_ID ||
	    len - *at - 1 < n + 1)
		return ERR_INVALID;
	memcpy(a->community, body + *at + 1, n);
	a->community[n] = 0;
	*at += 1 + n;
	if ((n = body[*at]) > LIMIT_RECORD_ID || len - *at - 1 < n + 8)
		return ERR_INVALID;
	memcpy(a->bulletin, body + *at + 1, n);
	a->bulletin[n] = 0;
	a->ms = (int64_t)get_be(body + *at + 1 + n, 8);
	*at += 1 + n + 8;
	return ERR_OK;
}

struct hub_bulletins {
	struct bulletin_keys *keys; /* the pinned set in force (owned) */
	struct bulletin_store *store; /* statements on hub->db (owned) */
	struct delivery_link *links[LINK_BUCKETS];
	struct hub *hub;            /* for the flush timer */
	sqlite3_stmt *st[ST_COUNT]; /* prepared on first use (owned) */
	/* Acks are written in one transaction per service-loop pass (a
	 * commit per ack cost more than the rest of the fan-out): the acks
	 * of one pass collect here and flush_acks writes them. */
	struct acked *acked;        /* n_acked of cap_acked (owned) */
	size_t n_acked, cap_acked;
	lws_sorted_usec_list_t flush_timer;
	uint64_t posts;             /* POSTs shared: their tokens' serial */
};

static const char *const statement_sql[ST_COUNT] = {
	[ST_PUMP] =
		"SELECT d.seq, b.id, b.signed, b.signature FROM bulletin_delivery"
		" d JOIN bulletin b ON b.id = d.bulletin WHERE d.community = ?"
		" AND d.delivered_ms IS NULL AND d.seq > ? ORDER BY d.seq"
		" LIMIT ?",
	[ST_DELIVERED] =
		"UPDATE bulletin_delivery SET delivered_ms = a.value ->> 2,"
		" refused = NULL FROM json_each(?1) a WHERE bulletin ="
		" a.value ->> 0 AND community = a.value ->> 1 AND"
		" delivered_ms IS NULL",
	[ST_REFUSED] =
		"UPDATE bulletin_delivery SET refused = ?3 WHERE"
		" bulletin = ?1 AND community = ?2 AND delivered_ms IS"
		" NULL",
	[ST_LAST_SEQ] =
		"SELECT coalesce(max(seq), 0) FROM bulletin_delivery",
	[ST_TARGET] =
		"INSERT OR IGNORE INTO bulletin_delivery (seq, bulletin,"
		" community) SELECT ?3 + 1 + key, ?1, value FROM json_each(?2)",
	/* the row may be missing here: a bulletin for every community
	 * reaches one enrolled later by a row its replica made at Welcome */
	[ST_SHARED_DELIVERED] =
		"INSERT INTO bulletin_delivery (bulletin, community,"
		" delivered_ms) SELECT a.value ->> 0, a.value ->> 1, a.value"
		" ->> 2 FROM json_each(?1) a WHERE EXISTS (SELECT 1 FROM"
		" bulletin WHERE id = a.value ->> 0)"
		" ON CONFLICT (bulletin, community) DO UPDATE SET"
		" delivered_ms = excluded.delivered_ms, refused = NULL WHERE"
		" delivered_ms IS NULL",
};

/* statement: hot-path statement k, reset and ready to bind, or NULL (the
 * error is logged). It stays owned by hub->bulletins. */
static sqlite3_stmt *statement(struct hub *hub, int k)
{
	sqlite3_stmt **st = &hub->bulletins->st[k];

	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
		return *st;
	}
	if (sqlite3_prepare_v3(hub->db, statement_sql[k], -1,
			       SQLITE_PREPARE_PERSISTENT, st, NULL)
	    != SQLITE_OK) {
		log_error("bulletins: %s", sqlite3_errmsg(hub->db));
		*st = NULL;
	}
	return *st;
}

/* Acks to record in one statement (ST_DELIVERED, ST_SHARED_DELIVERED):
 * a JSON array of [bulletin, community, ms], n of them in len bytes (of
 * cap), each id checked to need no escape. A statement an ack cost a
 * third of the writing again (its own start and end). */
struct ack_rows {
	char *json;
	size_t len, cap;
	unsigned n;
};

/* ack_rows_add: an ack of bulletin by community at ms. ERR_OK,
 * ERR_INVALID (an id no delivery row can hold: nothing to record) or
 * ERR_NOMEM. */
static int ack_rows_add(struct ack_rows *r, const char *bulletin,
			const char *community, int64_t ms)
{
	/* [" "," ", ms], and room for the closing ] */
	size_t need = strlen(bulletin) + strlen(community) + 32;

	if (!text_record_id_valid(bulletin) || !text_community_valid(community))
		return ERR_INVALID;
	if (r->len + need > r->cap) {
		size_t cap = 2 * r->cap > r->len + need ? 2 * r->cap
			     : r->len + need + 4096;
		char *j = realloc(r->json, cap);

		if (!j)
			return ERR_NOMEM;
		r->json = j;
		r->cap = cap;
	}
	r->len += (size_t)snprintf(r->json + r->len, r->cap - r->len,
				   "%c[\"%s\",\"%s\",%lld]", r->n++ ? ',' : '[',
				   bulletin, community, (long long)ms);
	return ERR_OK;
}

/* ack_rows_write: r's acks through statement k, inside the caller's
 * transaction; r is emptied. ERR_OK or ERR_IO (logged). */
static int ack_rows_write(struct hub *hub, int k, struct ack_rows *r)
{
	sqlite3_stmt *st;
	int rc = ERR_IO;

	if (!r->n)
		return ERR_OK;
	r->json[r->len++] = ']';
	st = statement(hub, k);
	if (st) {
		sqlite3_bind_text(st, 1, r->json, (int)r->len, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = ERR_OK;
		else
			log_error("bulletins: recording %u acks: %s", r->n,
				  sqlite3_errmsg(hub->db));
		sqlite3_reset(st);
	}
	r->len = 0;
	r->n = 0;
	return rc;
}

/* write_acks: write the collected acks' delivery times in one
 * transaction (on the service thread, between callbacks, so no other
 * transaction is open). */
static void write_acks(struct hub *hub)
{
	struct hub_bulletins *b = hub->bulletins;
	struct ack_rows rows = { 0 };
	size_t i;

	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK) {
		log_error("bulletins: cannot record %zu acks: %s", b->n_acked,
			  sqlite3_errmsg(hub->db));
		return;
	}
	for (i = 0; i < b->n_acked; i++) {
		const struct acked *a = &b->acked[i];

		if (ack_rows_add(&rows, a->bulletin, a->community, a->ms)
		    == ERR_NOMEM)
			log_error("bulletins: recording %s's ack of %s: out of "
				  "memory", a->community, a->bulletin);
	}
	ack_rows_write(hub, ST_DELIVERED, &rows);
	free(rows.json);
	if (store_exec(hub->db, "COMMIT") != ERR_OK) {
		log_error("bulletins: cannot record %zu acks: %s", b->n_acked,
			  sqlite3_errmsg(hub->db));
		store_exec(hub->db, "ROLLBACK");
	}
}

/* come_back: tell community's live session to come back (1013): an ack
 * of it was not shared, and its bulletin is sent again at the next. */
static void come_back(struct hub *hub, const char *community,
		      const char *why)
{
	struct community *c = registry_find(hub, community);
	struct session *s = c ? c->session : NULL;

	if (s && s->state == SESSION_ACTIVE)
		session_close(s, REFUSE_UNAVAILABLE, WIRE_CLOSE_TRY_AGAIN, 0,
			      WIRE_TRY_AGAIN_REASON ": the hub's database did not "
			      "store a bulletin's ack: %.150s", why);
}

/* share_acks: append the collected acks to the shared log as one event.
 * Not taken (the database away): their sessions are told to come back,
 * and their nodes are sent the bulletins again. */
static void share_acks(struct hub *hub)
{
	struct hub_bulletins *b = hub->bulletins;
	uint8_t *body = malloc(b->n_acked * SHARED_ACK_MAX), *p = body;
	char why[200] = "out of memory";
	int rc = ERR_NOMEM;
	size_t i;

	for (i = 0; body && i < b->n_acked; i++) {
		const struct acked *a = &b->acked[i];
		size_t n = strlen(a->community), m = strlen(a->bulletin);

		*p = (uint8_t)n;
		memcpy(p + 1, a->community, n);
		p += 1 + n;
		*p = (uint8_t)m;
		memcpy(p + 1, a->bulletin, m);
		put_be(p + 1 + m, (uint64_t)a->ms, 8);
		p += 1 + m + 8;
	}
	if (body)
		rc = pglog_append(hub->pglog, PGLOG_DELIVERIES, "", 0, body,
				  (size_t)(p - body), why, sizeof(why));
	if (rc != ERR_OK) {
		log_warn("bulletins: %zu acks not shared (sent again at their "
			 "nodes' next sessions): %s", b->n_acked, why);
		for (i = 0; i < b->n_acked; i++)
			come_back(hub, b->acked[i].community, why);
	}
	free(body);
}

/* flush_acks: the collected acks recorded (sqlite) or shared
 * ([store] postgresql). */
static void flush_acks(struct hub *hub)
{
	struct hub_bulletins *b = hub->bulletins;

	if (!b->n_acked)
		return;
	if (hub->cfg.store_postgresql)
		share_acks(hub);
	else
		write_acks(hub);
	b->n_acked = 0;
}

static void flush_timer_cb(lws_sorted_usec_list_t *sul)
{
	struct hub_bulletins *b = lws_container_of(sul, struct hub_bulletins,
						   flush_timer);

	flush_acks(b->hub);
}

const char hub_delivery_schema_v1[] =
	"CREATE TABLE IF NOT EXISTS bulletin_delivery ("
	"  seq INTEGER PRIMARY KEY,"        /* the order bulletins are sent in */
	"  bulletin TEXT NOT NULL,"
	"  community TEXT NOT NULL,"
	"  delivered_ms INTEGER,"           /* unix ms of the node's ack */
	"  refused TEXT,"                   /* the node's reason, if it refused */
	"  UNIQUE (bulletin, community)"
	");"
	"CREATE INDEX IF NOT EXISTS bulletin_delivery_pending"
	"  ON bulletin_delivery (community, seq) WHERE delivered_ms IS NULL;";

static unsigned link_hash(const char *s)
{
	return text_hash(s) % LINK_BUCKETS;
}

/* link_get: the link state of community, made on first use; NULL only
 * when out of memory. */
static struct delivery_link *link_get(struct hub_bulletins *b, const char *community)
{
	unsigned h = link_hash(community);
	struct delivery_link *l;

	for (l = b->links[h]; l; l = l->next)
		if (strcmp(l->community, community) == 0)
			return l;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	snprintf(l->community, sizeof(l->community), "%s", community);
	l->next = b->links[h];
	b->links[h] = l;
	return l;
}

/* ---- keys ------------------------------------------------------------ */

/* rows_repair: the delivery rows a stop kept from being written (a new
 * bulletin's, posted here or applied from the shared log, are written
 * just after its frames): a live bulletin stored here without any gets
 * them for its area, or for every registered community, as they would
 * have been. ERR_OK or ERR_IO (logged). */
static int rows_repair(struct hub *hub)
{
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_ERROR;

	if (sqlite3_prepare_v2(hub->db,
		"INSERT OR IGNORE INTO bulletin_delivery (bulletin, community)"
		" SELECT b.id, a.value FROM bulletin b, json_each(CASE b.area"
		" WHEN '[]' THEN (SELECT json_group_array(id) FROM community)"
		" ELSE b.area END) a WHERE b.expires > ?1 AND NOT EXISTS"
		" (SELECT 1 FROM bulletin_delivery d WHERE d.bulletin = b.id)"
		" ORDER BY b.rowid, a.key", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, hub_now());
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_error("bulletins: making missing delivery rows: %s",
			  sqlite3_errmsg(hub->db));
		return ERR_IO;
	}
	if (sqlite3_changes(hub->db))
		log_warn("bulletins: %d delivery rows made for bulletins "
			 "stored without them (the hub stopped between a "
			 "bulletin's frames and its rows)",
			 sqlite3_changes(hub->db));
	return ERR_OK;
}

int hub_bulletin_open(struct hub *hub, char *err, size_t errlen)
{
	hub->bulletins = calloc(1, sizeof(*hub->bulletins));
	if (!hub->bulletins) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	hub->bulletins->hub = hub;
	if (bulletin_keys_from_config(hub->cfg.bulletin_keys, hub->config_path,
				      &hub->bulletins->keys, err, errlen)
	    != ERR_OK)
		return ERR_INVALID;
	if (bulletin_store_open(hub->db, &hub->bulletins->store) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot prepare the bulletin "
			 "statements: %s", hub->cfg.store_path,
			 sqlite3_errmsg(hub->db));
		return ERR_IO;
	}
	if (rows_repair(hub) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot make missing delivery rows",
			 hub->cfg.store_path);
		return ERR_IO;
	}
	bulletin_keys_log(hub->bulletins->keys);
	return ERR_OK;
}

void hub_bulletin_reload(struct hub *hub)
{
	bulletin_keys_reload(&hub->bulletins->keys, hub->cfg.bulletin_keys,
			     hub->config_path);
}

void hub_bulletin_close(struct hub *hub)
{
	size_t i;

	if (!hub->bulletins)
		return;
	/* (a replica's acks not shared yet are dropped with the shared
	 * log's thread: their nodes are sent the bulletins again) */
	if (!hub->cfg.store_postgresql)
		flush_acks(hub);
	free(hub->bulletins->acked);
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(hub->bulletins->st[i]);
	bulletin_store_close(&hub->bulletins->store);
	for (i = 0; i < LINK_BUCKETS; i++) {
		while (hub->bulletins->links[i]) {
			struct delivery_link *l = hub->bulletins->links[i];

			hub->bulletins->links[i] = l->next;
			free(l);
		}
	}
	bulletin_keys_free(&hub->bulletins->keys);
	free(hub->bulletins);
	hub->bulletins = NULL;
}

/* ---- sending --------------------------------------------------------- */

/* pump: send c's pending bulletins not yet sent this session, while its
 * window has room. They go on the session's send queue, ahead of the
 * down stream. */
static void pump(struct hub *hub, struct community *c)
{
	struct session *s = c->session;
	struct delivery_link *l;
	sqlite3_stmt *st;

	if (!s || s->state != SESSION_ACTIVE)
		return;
	l = link_get(hub->bulletins, c->id);
	if (!l || l->inflight >= LIMIT_BULLETIN_INFLIGHT)
		return;
	st = statement(hub, ST_PUMP);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, l->after);
	sqlite3_bind_int(st, 3, (int)(LIMIT_BULLETIN_INFLIGHT - l->inflight));
	l->backlog = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		Frame frame = ALLIANCE__V1__FRAME__INIT;
		Alliance__V1__Bulletin b = ALLIANCE__V1__BULLETIN__INIT;

		b.signed_content.data = (uint8_t *)sqlite3_column_blob(st, 2);
		b.signed_content.len = (size_t)sqlite3_column_bytes(st, 2);
		b.signature.data = (uint8_t *)sqlite3_column_blob(st, 3);
		b.signature.len = (size_t)sqlite3_column_bytes(st, 3);
		frame.body_case = ALLIANCE__V1__FRAME__BODY_BULLETIN;
		frame.bulletin = &b;
		if (session_send(s, &frame) != ERR_OK) {
			l->backlog = 1;
			break;
		}
		l->after = sqlite3_column_int64(st, 0);
		if (++l->inflight >= LIMIT_BULLETIN_INFLIGHT)
			l->backlog = 1;     /* more may wait for room */
		log_debug("bulletins: %s sent to %s",
			  (const char *)sqlite3_column_text(st, 1), c->id);
	}
	sqlite3_reset(st);
}

void hub_bulletin_welcome(struct session *s)
{
	struct hub *hub = s->hub;
	struct community *c = s->community;
	struct delivery_link *l = link_get(hub->bulletins, c->id);
	sqlite3_stmt *st = NULL;

	if (!l)
		return;
	flush_acks(hub);        /* what is delivered is not sent again */
	l->after = 0;
	l->inflight = 0;
	/* bulletins for every community issued before this one enrolled */
	if (sqlite3_prepare_v2(hub->db,
		"INSERT OR IGNORE INTO bulletin_delivery (bulletin, community)"
		" SELECT id, ?1 FROM bulletin WHERE area = '[]' AND expires > ?2"
		" ORDER BY rowid", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, hub_now());
		if (sqlite3_step(st) != SQLITE_DONE)
			log_error("bulletins: %s", sqlite3_errmsg(hub->db));
	}
	sqlite3_finalize(st);
	pump(hub, c);
}

/* ---- acks ------------------------------------------------------------ */

/* The longest refusal reason a delivery event carries, bytes. */
#define SHARED_REASON 500

/* share_refusal: append s's community's refusal of a bulletin to the
 * shared log: body the id, a NUL and the reason. Not taken (the
 * database away): it stays pending, s is told to come back, and the node
 * is sent it again at its next session. */
static void share_refusal(struct session *s,
			  const Alliance__V1__BulletinAck *ack)
{
	const char *reason = ack->reason ? ack->reason : "";
	size_t id_len = strlen(ack->id),
	       reason_len = strnlen(reason, SHARED_REASON);
	uint8_t *body = malloc(id_len + 1 + reason_len);
	char why[200] = "out of memory";

	if (body) {
		memcpy(body, ack->id, id_len);
		body[id_len] = 0;
		memcpy(body + id_len + 1, reason, reason_len);
	}
	if (!body || pglog_append(s->hub->pglog, PGLOG_DELIVERY,
				  s->community->id, (uint64_t)clock_now_ms(),
				  body, id_len + 1 + reason_len, why,
				  sizeof(why)) != ERR_OK) {
		log_warn("bulletins: %s's refusal of %s not shared (sent "
			 "again at its next session): %s", s->community->id,
			 ack->id, why);
		come_back(s->hub, s->community->id, why);
	}
	free(body);
}

/* collect: ack of c, recorded or shared with the others of this loop
 * pass (sqlite), or of the next SHARE_HOLD_MS ([store] postgresql).
 * ERR_OK or ERR_NOMEM. */
static int collect(struct hub *hub, struct community *c,
		   const Alliance__V1__BulletinAck *ack)
{
	struct hub_bulletins *b = hub->bulletins;
	int shared = hub->cfg.store_postgresql != NULL;

	if (b->n_acked == b->cap_acked) {
		size_t cap = b->cap_acked ? 2 * b->cap_acked : 64;
		struct acked *a = realloc(b->acked, cap * sizeof(*a));

		if (!a)
			return ERR_NOMEM;
		b->acked = a;
		b->cap_acked = cap;
	}
	snprintf(b->acked[b->n_acked].bulletin, sizeof(b->acked[0].bulletin),
		 "%s", ack->id);
	snprintf(b->acked[b->n_acked].community,
		 sizeof(b->acked[0].community), "%s", c->id);
	b->acked[b->n_acked++].ms = clock_now_ms();
	log_debug("bulletins: %s delivered to %s", ack->id, c->id);
	if (shared && b->n_acked >= SHARE_MAX)
		flush_acks(hub);
	else if (!shared)
		lws_sul_schedule(hub->lws, 0, &b->flush_timer, flush_timer_cb,
				 1);
	else if (lws_dll2_is_detached(&b->flush_timer.list))
		lws_sul_schedule(hub->lws, 0, &b->flush_timer, flush_timer_cb,
				 SHARE_HOLD_MS * LWS_US_PER_MS);
	return ERR_OK;
}

int hub_bulletin_ack(struct session *s, const Alliance__V1__BulletinAck *ack)
{
	struct hub *hub = s->hub;
	struct community *c = s->community;
	struct delivery_link *l = link_get(hub->bulletins, c->id);
	sqlite3_stmt *st;

	/* one ack a bulletin in flight: no more, so a node cannot make the
	 * shared log (or the store's work) grow by acking what it was not
	 * sent (a delivery passed over stays pending: it is sent again) */
	if (!l || !l->inflight) {
		log_debug("bulletins: %s acked with nothing in flight: passed "
			  "over", c->id);
		return ERR_OK;
	}
	l->inflight--;
	if (!ack->id || strlen(ack->id) > LIMIT_RECORD_ID) {
		log_warn("bulletins: %s acked a bulletin id that is not one",
			 c->id);
	} else if (!ack->refused) {
		if (collect(hub, c, ack) != ERR_OK)
			return ERR_NOMEM;
	} else if (hub->cfg.store_postgresql) {
		share_refusal(s, ack);
	} else if ((st = statement(hub, ST_REFUSED))) {
		sqlite3_bind_text(st, 1, ack->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, ack->reason ? ack->reason : "", -1,
				  SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			log_error("bulletins: recording %s's refusal of %s: "
				  "%s", c->id, ack->id,
				  sqlite3_errmsg(hub->db));
		sqlite3_reset(st);
		log_warn("bulletins: %s refused %s: %s", c->id, ack->id,
			 ack->reason);
	}
	if (l->backlog)
		pump(hub, c);           /* room in the window for what waits */
	return ERR_OK;
}

/* ---- the operator API ---------------------------------------------------- */

/* delivery: add targets, delivered count and (when rows) the per-community
 * delivery of bulletin id to obj. ERR_OK or ERR_IO. */
static int delivery(struct hub *hub, json_t *obj, const char *id,
		    int64_t received_ms, int rows)
{
	sqlite3_stmt *st = NULL;
	json_t *list = json_array(), *pending = json_array();
	char t[CLOCK_RFC3339_LEN];
	int targets = 0, delivered = 0, rc;

	if (sqlite3_prepare_v2(hub->db,
		"SELECT community, delivered_ms, refused FROM bulletin_delivery"
		" WHERE bulletin = ? ORDER BY community", -1, &st, NULL)
	    != SQLITE_OK)
		goto err;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *community = (const char *)sqlite3_column_text(st, 0);
		int done = sqlite3_column_type(st, 1) != SQLITE_NULL;
		int64_t ms = sqlite3_column_int64(st, 1);
		const char *refused = (const char *)sqlite3_column_text(st, 2);

		targets++;
		delivered += done;
		if (!done)
			json_array_append_new(pending, json_string(community));
		if (!rows)
			continue;
		json_array_append_new(list, json_pack(
			"{s:s, s:o, s:o, s:o}", "community", community,
			"delivered", done ? json_string(clock_rfc3339(ms / 1000,
					t, sizeof(t))) : json_null(),
			"delivery_ms", done ? json_integer(ms - received_ms)
					    : json_null(),
			"refused", refused ? json_string(refused) : json_null()));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto err;
	json_object_set_new(obj, "targets", json_integer(targets));
	json_object_set_new(obj, "delivered", json_integer(delivered));
	json_object_set_new(obj, "pending", pending);
	if (rows)
		json_object_set_new(obj, "delivery", list);
	else
		json_decref(list);
	return ERR_OK;
err:
	log_error("bulletins: reading delivery of %s: %s", id,
		  sqlite3_errmsg(hub->db));
	json_decref(list);
	json_decref(pending);
	return ERR_IO;
}

/* detail_json: a stored bulletin with who posted it and its delivery
 * (new reference), or NULL. */
static json_t *detail_json(struct hub *hub, const struct bulletin_row *row,
			   int rows)
{
	json_t *obj = bulletin_json(row->c, row->status);
	char t[CLOCK_RFC3339_LEN];

	if (!obj)
		return NULL;
	json_object_set_new(obj, "posted_by", json_string(row->posted_by));
	json_object_set_new(obj, "posted", json_string(
		clock_rfc3339(row->received_ms / 1000, t, sizeof(t))));
	if (delivery(hub, obj, row->c->id, row->received_ms, rows) != ERR_OK) {
		json_decref(obj);
		return NULL;
	}
	if (rows && row->c->check_in) {    /* counts only (checkin.c) */
		json_t *ci = hub_checkin_json(hub, row->c->id);

		if (!ci) {
			json_decref(obj);
			return NULL;
		}
		json_object_set_new(obj, "check_in_counts", ci);
	}
	return obj;
}

static void reply_detail(struct hub *hub, struct lws *wsi, struct hub_http *h,
			 int status, const char *id)
{
	struct bulletin_row row;
	int rc;
	json_t *obj;

	flush_acks(hub);        /* the delivery as of now */
	rc = bulletin_store_get(hub->db, id, hub_now(), &row);

	if (rc != ERR_OK) {
		http_reply_error(wsi, &h->ex, rc == ERR_NOTFOUND ? 404 : 500,
				 rc == ERR_NOTFOUND ? "not_found" : "internal",
				 "no bulletin %s", id);
		return;
	}
	obj = detail_json(hub, &row, 1);
	bulletin_row_free(&row);
	if (!obj)
		http_reply_error(wsi, &h->ex, 500, "internal",
				 "cannot read the delivery of %s", id);
	else
		http_reply_json(wsi, &h->ex, status, obj);
}

/* reply_posted: 201 for bulletin id, just stored and sent on to its n
 * targets: as GET shows it, with targets n and delivered 0 (no ack can
 * have come yet) but without the per-community delivery and pending
 * lists: reading them back here, for every target, would hold up the
 * sends (GET has them). */
static void reply_posted(struct hub *hub, struct lws *wsi,
			 struct hub_http *h, const char *id, unsigned n)
{
	struct bulletin_row row;
	char t[CLOCK_RFC3339_LEN];
	json_t *obj = NULL;

	if (bulletin_store_get(hub->db, id, hub_now(), &row) == ERR_OK) {
		obj = bulletin_json(row.c, row.status);
		json_object_set_new(obj, "posted_by",
				    json_string(row.posted_by));
		json_object_set_new(obj, "posted", json_string(clock_rfc3339(
			row.received_ms / 1000, t, sizeof(t))));
		json_object_set_new(obj, "targets", json_integer(n));
		json_object_set_new(obj, "delivered", json_integer(0));
		bulletin_row_free(&row);
	}
	if (!obj)
		http_reply_error(wsi, &h->ex, 500, "internal",
				 "cannot read bulletin %s back", id);
	else
		http_reply_json(wsi, &h->ex, 201, obj);
}

/* list: GET /api/v1/bulletins for operators: the public list with each
 * bulletin's targets, delivered count and pending communities. */
static void list(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	json_t *out = NULL, *item;
	size_t i;

	flush_acks(hub);
	if (bulletin_store_list(hub->db, hub_now(), 0, &out) != ERR_OK) {
		http_reply_error(wsi, &h->ex, 500, "internal",
				 "cannot list the bulletins");
		return;
	}
	json_array_foreach(json_object_get(out, "items"), i, item)
		delivery(hub, item, json_string_value(json_object_get(item, "id")),
			 0, 0);
	http_reply_json(wsi, &h->ex, 200, out);
}

/* One new bulletin's state while it is sent and its delivery rows are
 * written. */
struct targeting {
	struct hub *hub;
	const char *id;
	int failed;
	unsigned n;                 /* targeted ids (rows to write) */
	int64_t last_seq;           /* the highest seq stored before them */
	struct target *targets;     /* the registered ones (n_targets), owned */
	unsigned n_targets, cap_targets;
	char *ids;                  /* the JSON array of the targeted ids,
				       being built (ids_len of ids_size bytes,
				       room for ids_max ids), owned */
	size_t ids_len, ids_size, ids_max;
};

/* A registered target of a new bulletin, to send to without asking the
 * store: its delivery row's seq (the row may be written after the
 * frame), and whether its session must be pumped once the row is. */
struct target {
	struct community *c;
	int64_t seq;
	int pump;
};

/* target_add: community c, the new bulletin's nth target, to send to. */
static int target_add(struct targeting *t, struct community *c, unsigned n)
{
	if (t->n_targets == t->cap_targets) {
		unsigned cap = t->cap_targets ? 2 * t->cap_targets : 64;
		struct target *a = realloc(t->targets, cap * sizeof(*a));

		if (!a)
			return ERR_NOMEM;
		t->targets = a;
		t->cap_targets = cap;
	}
	t->targets[t->n_targets].c = c;
	t->targets[t->n_targets].pump = 0;
	/* ST_TARGET gives the nth id of t->ids seq last_seq + 1 + n */
	t->targets[t->n_targets++].seq = t->last_seq + 1 + n;
	return ERR_OK;
}

/* target_id: add community id (c when registered) to the targets. */
static void target_id(struct targeting *t, const char *community,
		      struct community *c)
{
	/* the room was counted; a valid id ([a-z0-9-]) needs no escape */
	if (t->failed || t->n >= t->ids_max ||
	    !text_community_valid(community) ||
	    (c && target_add(t, c, t->n) != ERR_OK)) {
		t->failed = 1;
		return;
	}
	t->ids_len += (size_t)snprintf(t->ids + t->ids_len,
				       t->ids_size - t->ids_len, "%s\"%s\"",
				       t->n++ ? "," : "", community);
}

static void target_registered(struct community *c, void *arg)
{
	target_id(arg, c->id, c);
}

/* plan: the targets of new bulletin c (its area, or every registered
 * community), each given the seq its delivery row takes when record()
 * writes them. Inside the transaction that stores c. ERR_OK or ERR_IO
 * (t->failed set). */
static int plan(struct targeting *t, const BulletinContent *c)
{
	size_t n = c->n_area ? c->n_area : t->hub->n_communities, i;
	sqlite3_stmt *st = statement(t->hub, ST_LAST_SEQ);

	t->id = c->id;
	if (!st || sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	t->last_seq = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	t->ids_max = n;
	t->ids_size = n * (LIMIT_COMMUNITY_ID + 3) + 3;
	t->ids = malloc(t->ids_size);
	if (!t->ids)
		goto fail;
	t->ids[t->ids_len++] = '[';
	if (c->n_area)
		for (i = 0; i < c->n_area; i++)
			target_id(t, c->area[i],
				  registry_find(t->hub, c->area[i]));
	else
		registry_each(t->hub, target_registered, t);
	t->ids[t->ids_len++] = ']';
	if (t->failed)
		goto fail;
	return ERR_OK;
fail:
	if (st)
		sqlite3_reset(st);
	free(t->ids);
	t->ids = NULL;
	t->failed = 1;
	return ERR_IO;
}

/* record: the delivery rows plan() counted, in one statement over the
 * JSON array of their ids (a statement a row cost a millisecond a
 * bulletin at 1000 communities). ERR_OK or ERR_IO (logged). */
static int record(struct targeting *t)
{
	sqlite3_stmt *st = statement(t->hub, ST_TARGET);
	int rc = ERR_IO;

	if (st) {
		sqlite3_bind_text(st, 1, t->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, t->ids, (int)t->ids_len,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, t->last_seq);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = ERR_OK;
		else
			log_error("bulletins: the delivery rows of %s: %s",
				  t->id, sqlite3_errmsg(t->hub->db));
		sqlite3_reset(st);
	}
	free(t->ids);
	t->ids = NULL;
	return rc;
}

/* send_new: send a new bulletin, once stored, to each targeted live
 * session straight from the request (the frame encoded once, here, no
 * query per community), unless older bulletins may still wait for room
 * in its window: then its target is marked to be pumped (which keeps the
 * order) once its row is written. */
static void send_new(struct hub *hub, struct targeting *t,
		     const uint8_t *content, size_t content_len,
		     const uint8_t *sig, size_t sig_len)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Bulletin b = ALLIANCE__V1__BULLETIN__INIT;
	uint8_t *encoded = NULL;
	size_t len = 0;
	unsigned i;

	b.signed_content.data = (uint8_t *)content;
	b.signed_content.len = content_len;
	b.signature.data = (uint8_t *)sig;
	b.signature.len = sig_len;
	frame.body_case = ALLIANCE__V1__FRAME__BODY_BULLETIN;
	frame.bulletin = &b;
	if (wire_encode(&frame, 0, &encoded, &len) != ERR_OK)
		encoded = NULL;         /* each session encodes it then */
	for (i = 0; i < t->n_targets; i++) {
		struct community *c = t->targets[i].c;
		struct session *s = c->session;
		struct delivery_link *l;

		if (!s || s->state != SESSION_ACTIVE)
			continue;       /* it gets it after its next Welcome */
		l = link_get(hub->bulletins, c->id);
		if (!l || l->backlog || l->inflight >= LIMIT_BULLETIN_INFLIGHT ||
		    l->after >= t->targets[i].seq) {
			t->targets[i].pump = 1;
			continue;
		}
		if ((encoded ? link_send_encoded(&s->link, encoded, len)
			     : session_send(s, &frame)) != ERR_OK) {
			l->backlog = 1;
			continue;
		}
		l->after = t->targets[i].seq;
		if (++l->inflight >= LIMIT_BULLETIN_INFLIGHT)
			l->backlog = 1;
	}
	free(encoded);
}

/* deliver_new: a new bulletin, committed (its targets planned), to its
 * live targets: its frames, then its delivery rows, then the targets
 * send_new left to pump, whose rows are now there to read. */
static void deliver_new(struct hub *hub, struct targeting *t,
			const uint8_t *content, size_t content_len,
			const uint8_t *sig, size_t sig_len)
{
	unsigned i;

	send_new(hub, t, content, content_len, sig, sig_len);
	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK ||
	    record(t) != ERR_OK || store_exec(hub->db, "COMMIT") != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		log_error("bulletins: %s: its delivery rows are not written; "
			  "the next start makes them", t->id);
	}
	for (i = 0; i < t->n_targets; i++)
		if (t->targets[i].pump)
			pump(hub, t->targets[i].c);
}

/* decode_field: base64 field name of body into a new buffer; on failure
 * stores a 422 naming it and returns ERR_INVALID. */
static int decode_field(struct lws *wsi, struct hub_http *h, json_t *body,
			const char *name, uint8_t **out, size_t *len)
{
	const char *v = json_string_value(json_object_get(body, name));

	if (!v || !*v) {
		http_reply_error(wsi, &h->ex, 422, "invalid",
				 "%s: missing (base64)", name);
		return ERR_INVALID;
	}
	if (bulletin_b64_decode(v, out, len) != ERR_OK) {
		http_reply_error(wsi, &h->ex, 422, "invalid",
				 "%s: not standard base64", name);
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* check_links: every area community is registered and every reference is
 * held here; else a 422 naming the field. */
static int check_links(struct hub *hub, struct lws *wsi, struct hub_http *h,
		       const BulletinContent *c)
{
	struct bulletin_row row;
	size_t i;

	for (i = 0; i < c->n_area; i++)
		if (!registry_find(hub, c->area[i])) {
			http_reply_error(wsi, &h->ex, 422, "invalid",
					 "area[%zu]: community %s is not "
					 "registered", i, c->area[i]);
			return ERR_INVALID;
		}
	for (i = 0; i < c->n_references; i++) {
		if (bulletin_store_get(hub->db, c->references[i], hub_now(),
				       &row) != ERR_OK) {
			http_reply_error(wsi, &h->ex, 422, "invalid",
					 "references[%zu]: no bulletin %s "
					 "here", i, c->references[i]);
			return ERR_INVALID;
		}
		bulletin_row_free(&row);
	}
	return ERR_OK;
}

static void share_post(struct hub *hub, struct lws *wsi, struct hub_http *h,
		       const char *id, const uint8_t *content,
		       size_t content_len, const uint8_t *sig, size_t sig_len);

static void post(struct hub *hub, struct lws *wsi, struct hub_http *h)
{
	json_t *body = http_parse_json(wsi, &h->ex);
	uint8_t *content = NULL, *sig = NULL;
	size_t content_len = 0, sig_len = 0;
	BulletinContent *c = NULL;
	enum bulletin_put outcome = BULLETIN_STORED;
	struct targeting t = { .hub = hub };
	char why[300];
	int rc;

	if (!body)
		return;
	if (decode_field(wsi, h, body, "signed_content", &content,
			 &content_len) != ERR_OK ||
	    decode_field(wsi, h, body, "signature", &sig, &sig_len) != ERR_OK)
		goto out;
	if (!hub->bulletins->keys->n) {
		http_reply_error(wsi, &h->ex, 422, "bad_signature",
				 "signature: the hub pins no signing key "
				 "([bulletins] keys)");
		goto out;
	}
	rc = bulletin_open(hub->bulletins->keys, content, content_len, sig,
			   sig_len, &c, why, sizeof(why));
	if (rc != ERR_OK) {
		log_warn("bulletins: refused a bulletin from operator %s: %s",
			 h->peer.name, why);
		http_reply_error(wsi, &h->ex, rc == ERR_TOOBIG ? 413 : 422,
				 rc == ERR_DENIED ? "bad_signature"
				 : rc == ERR_TOOBIG ? "too_large" : "invalid",
				 "%s", why);
		goto out;
	}
	if (check_links(hub, wsi, h, c) != ERR_OK)
		goto out;
	if (hub->cfg.store_postgresql) {
		share_post(hub, wsi, h, c->id, content, content_len, sig,
			   sig_len);
		goto out;
	}
	if (store_exec(hub->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto fail;
	if (bulletin_store_put(hub->bulletins->store, content, content_len,
			       sig, sig_len, c, h->peer.name, clock_now_ms(),
			       &outcome)) {
		store_exec(hub->db, "ROLLBACK");
		goto fail;
	}
	if (outcome == BULLETIN_STORED && plan(&t, c) != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		goto fail;
	}
	if (store_exec(hub->db, "COMMIT") != ERR_OK) {
		store_exec(hub->db, "ROLLBACK");
		goto fail;
	}
	if (outcome == BULLETIN_CONFLICT) {
		http_reply_error(wsi, &h->ex, 409, "exists", "id: bulletin %s "
				 "is stored with other content", c->id);
		goto out;
	}
	if (outcome == BULLETIN_STORED) {
		deliver_new(hub, &t, content, content_len, sig, sig_len);
		log_info("bulletins: %s (%s, %s) posted by operator %s for %u "
			 "communities", c->id, c->type, c->severity,
			 h->peer.name, t.n);
		reply_posted(hub, wsi, h, c->id, t.n);
	} else {
		reply_detail(hub, wsi, h, 200, c->id);
	}
	goto out;
fail:
	http_reply_error(wsi, &h->ex, 500, "store",
			 "could not store the bulletin");
out:
	free(t.ids);
	free(t.targets);
	bulletin_content_free(&c);
	free(content);
	free(sig);
	json_decref(body);
}

/* ---- the shared log ([store] postgresql) --------------------------------- */

/* A bulletin event's body: received_ms (8 bytes, big-endian), the
 * operator's name's length (2) and name, the signed content's length (4)
 * and bytes, the signature's bytes. */
#define POST_HEAD 14

/* share_post: append bulletin id (verified) to the shared log and park
 * the request until the log brings it back (hub_bulletin_applied), or
 * answer 503 with the cause. */
static void share_post(struct hub *hub, struct lws *wsi, struct hub_http *h,
		       const char *id, const uint8_t *content,
		       size_t content_len, const uint8_t *sig, size_t sig_len)
{
	size_t op_len = strlen(h->peer.name);
	size_t len = POST_HEAD + op_len + content_len + sig_len;
	uint64_t token = hub->replica_id + ++hub->bulletins->posts;
	uint8_t *body = malloc(len);
	char why[200];
	int rc;

	if (!body || api_wait_park(hub, wsi, h, id, token) != ERR_OK) {
		free(body);
		http_reply_error(wsi, &h->ex, 503, "unavailable",
				 "out of memory");
		return;
	}
	put_be(body, (uint64_t)clock_now_ms(), 8);
	put_be(body + 8, op_len, 2);
	memcpy(body + 10, h->peer.name, op_len);
	put_be(body + 10 + op_len, content_len, 4);
	memcpy(body + POST_HEAD + op_len, content, content_len);
	memcpy(body + POST_HEAD + op_len + content_len, sig, sig_len);
	rc = pglog_append(hub->pglog, PGLOG_BULLETIN, RELAY_DISTRICT, token,
			  body, len, why, sizeof(why));
	free(body);
	if (rc != ERR_OK) {
		struct hub_http *parked;
		struct lws *pwsi;

		api_wait_take(hub, id, token, &pwsi, &parked);
		http_reply_error(wsi, &h->ex, 503, "unavailable", "the hub's "
				 "database did not take it: %.150s", why);
		return;
	}
	log_info("bulletins: %s posted by operator %s: shared", id,
		 h->peer.name);
}

/* What a bulletin event leaves to do once it committed. */
struct hub_bulletin_event {
	uint64_t token;
	enum bulletin_put outcome;
	char refused[256];              /* "" or why this replica's pinned
					   keys refuse it: not stored */
	BulletinContent *c;
	const uint8_t *content, *sig;   /* in the event's body */
	size_t content_len, sig_len;
	struct targeting t;
};

/* apply_delivery: delivery event ev: an ack into rows, or a refusal
 * into the store (rows written first, in the log's order). ERR_OK or
 * ERR_IO. */
static int apply_delivery(struct hub *hub, const struct pglog_event *ev,
			  struct ack_rows *rows)
{
	size_t id_len = ev->len ? strnlen((const char *)ev->body, ev->len)
				: 0;
	char id[LIMIT_RECORD_ID + 1], reason[SHARED_REASON + 1];
	int refused = id_len < ev->len, rc = ERR_OK;
	sqlite3_stmt *st;

	if (!ev->len || !id_len || id_len > LIMIT_RECORD_ID ||
	    ev->len - id_len > SHARED_REASON + 1)
		goto not_one;
	memcpy(id, ev->body, id_len);
	id[id_len] = 0;
	if (!refused) {
		rc = ack_rows_add(rows, id, ev->community, (int64_t)ev->last);
		if (rc == ERR_INVALID)
			goto not_one;
		return rc == ERR_OK ? ERR_OK : ERR_IO;
	}
	memcpy(reason, ev->body + id_len + 1, ev->len - id_len - 1);
	reason[ev->len - id_len - 1] = 0;
	if (ack_rows_write(hub, ST_SHARED_DELIVERED, rows) != ERR_OK ||
	    !(st = statement(hub, ST_REFUSED)))
		return ERR_IO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->community, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		log_error("bulletins: recording %s's refusal of %s: %s",
			  ev->community, id, sqlite3_errmsg(hub->db));
		rc = ERR_IO;
	}
	sqlite3_reset(st);
	return rc;
not_one:
	log_error("shared log %llu: not a delivery: passed over",
		  (unsigned long long)ev->seq);
	return ERR_OK;
}

/* apply_acks: the acks of event ev (PGLOG_DELIVERIES) into rows. An
 * event that is not one is passed over whole. ERR_OK or ERR_IO. */
static int apply_acks(const struct pglog_event *ev, struct ack_rows *rows)
{
	size_t at = 0, len = rows->len;
	unsigned n = rows->n;
	struct acked a;
	int rc;

	while (at < ev->len) {
		if (shared_ack_next(ev->body, ev->len, &at, &a) != ERR_OK)
			goto not_one;
		rc = ack_rows_add(rows, a.bulletin, a.community, a.ms);
		if (rc == ERR_NOMEM)
			return ERR_IO;
		if (rc != ERR_OK)
			goto not_one;
	}
	return ERR_OK;
not_one:
	rows->len = len;        /* none of it */
	rows->n = n;
	log_error("shared log %llu: not a run of acks: passed over",
		  (unsigned long long)ev->seq);
	return ERR_OK;
}

int hub_bulletin_apply_deliveries(struct hub *hub,
				  const struct pglog_event *const *evs,
				  size_t n)
{
	struct ack_rows rows = { 0 };
	int rc = ERR_OK;
	size_t i;

	for (i = 0; rc == ERR_OK && i < n; i++)
		rc = evs[i]->kind == PGLOG_DELIVERIES
		     ? apply_acks(evs[i], &rows)
		     : apply_delivery(hub, evs[i], &rows);
	if (rc == ERR_OK)
		rc = ack_rows_write(hub, ST_SHARED_DELIVERED, &rows);
	free(rows.json);
	return rc;
}

/* parse_post: the parts of bulletin event ev into be (content and sig
 * pointing into ev's body, the content decoded into be->c) and op (the
 * operator's name). ERR_OK, or ERR_INVALID when ev is not one. */
static int parse_post(const struct pglog_event *ev,
		      struct hub_bulletin_event *be, char op[LIMIT_NAME + 1])
{
	size_t op_len;

	if (ev->len < POST_HEAD)
		return ERR_INVALID;
	op_len = (size_t)get_be(ev->body + 8, 2);
	if (op_len > LIMIT_NAME || ev->len < POST_HEAD + op_len)
		return ERR_INVALID;
	be->content_len = (size_t)get_be(ev->body + 10 + op_len, 4);
	if (be->content_len > ev->len - POST_HEAD - op_len ||
	    bulletin_decode(ev->body + POST_HEAD + op_len, be->content_len,
			    &be->c) != ERR_OK)
		return ERR_INVALID;
	memcpy(op, ev->body + 10, op_len);
	op[op_len] = 0;
	be->content = ev->body + POST_HEAD + op_len;
	be->sig = be->content + be->content_len;
	be->sig_len = ev->len - POST_HEAD - op_len - be->content_len;
	return ERR_OK;
}

/* checked: be's signed bytes opened under this replica's pinned keys.
 * ERR_OK, or the refusal with its reason in be->refused. */
static int checked(struct hub *hub, struct hub_bulletin_event *be)
{
	BulletinContent *c = NULL;
	int rc = bulletin_open(hub->bulletins->keys, be->content,
			       be->content_len, be->sig, be->sig_len, &c,
			       be->refused, sizeof(be->refused));

	bulletin_content_free(&c);
	return rc;
}

int hub_bulletin_apply(struct hub *hub, const struct pglog_event *ev,
		       struct hub_bulletin_event **out)
{
	struct hub_bulletin_event *be;
	char op[LIMIT_NAME + 1];

	*out = NULL;
	if (pglog_delivery(ev->kind))
		return hub_bulletin_apply_deliveries(hub, &ev, 1);
	be = calloc(1, sizeof(*be));
	if (!be)
		return ERR_IO;
	*out = be;
	be->token = ev->last;
	be->t.hub = hub;
	if (parse_post(ev, be, op) != ERR_OK) {
		log_error("shared log %llu: not a bulletin: passed over",
			  (unsigned long long)ev->seq);
		bulletin_content_free(&be->c);
		return ERR_OK;
	}
	/* verified before stored, here too: the log is not trusted more
	 * than an operator (a replica whose keys differ refuses, loudly) */
	if (checked(hub, be) != ERR_OK) {
		log_error("shared log %llu: bulletin %s refused, not stored: "
			  "%s", (unsigned long long)ev->seq, be->c->id,
			  be->refused);
		return ERR_OK;
	}
	if (bulletin_store_put(hub->bulletins->store, be->content,
			       be->content_len, be->sig, be->sig_len, be->c, op,
			       (int64_t)get_be(ev->body, 8), &be->outcome))
		return ERR_IO;
	if (be->outcome != BULLETIN_STORED)
		return ERR_OK;
	return plan(&be->t, be->c);     /* the rows: hub_bulletin_applied */
}

void hub_bulletin_applied(struct hub *hub, struct hub_bulletin_event **pbe,
			  int committed)
{
	struct hub_bulletin_event *be = *pbe;
	struct hub_http *h;
	struct lws *wsi;

	if (!be)
		return;
	*pbe = NULL;
	if (committed && be->c && !be->refused[0] &&
	    be->outcome == BULLETIN_STORED) {
		deliver_new(hub, &be->t, be->content, be->content_len,
			    be->sig, be->sig_len);
		log_info("bulletins: %s (%s, %s) for %u communities",
			 be->c->id, be->c->type, be->c->severity, be->t.n);
	}
	if (committed && be->c &&
	    api_wait_take(hub, be->c->id, be->token, &wsi, &h)) {
		if (be->refused[0])
			http_reply_error(wsi, &h->ex, 422, "bad_signature",
					 "%s", be->refused);
		else if (be->outcome == BULLETIN_STORED)
			reply_posted(hub, wsi, h, be->c->id, be->t.n);
		else if (be->outcome == BULLETIN_CONFLICT)
			http_reply_error(wsi, &h->ex, 409, "exists", "id: "
					 "bulletin %s is stored with other "
					 "content", be->c->id);
		else
			reply_detail(hub, wsi, h, 200, be->c->id);
	}
	free(be->t.ids);
	free(be->t.targets);
	bulletin_content_free(&be->c);
	free(be);
}

void hub_bulletin_failed(struct hub *hub, const struct pglog_event *ev)
{
	struct hub_http *h;
	struct lws *wsi;
	struct acked a;
	size_t at = 0;

	/* acks not stored (the connection lost under them): their sessions
	 * are told to come back, and the bulletins, still pending, are sent
	 * at the next ones */
	if (ev->kind == PGLOG_DELIVERY)
		come_back(hub, ev->community, ev->why);
	while (ev->kind == PGLOG_DELIVERIES &&
	       shared_ack_next(ev->body, ev->len, &at, &a) == ERR_OK)
		come_back(hub, a.community, ev->why);
	/* (found by its token: this replica's own, unique to it) */
	if (ev->kind == PGLOG_BULLETIN &&
	    api_wait_take(hub, NULL, ev->last, &wsi, &h))
		http_reply_error(wsi, &h->ex, 503, "unavailable", "the hub's "
				 "database did not confirm it (look for it "
				 "before posting it again): %.150s", ev->why);
}

/* ---- the rows of the route tables (api.c, public.c) ---------------------------- */

void hub_bulletin_sender(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m)
{
	(void)ctx;
	(void)m;
	http_reply_json(wsi, ex, 200, json_pack("{s:s}", "sender",
		hub_from_wsi(wsi)->cfg.bulletin_sender));
}

void hub_bulletin_list(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	(void)ex;
	(void)m;
	list(hub_from_wsi(wsi), wsi, ctx);
}

void hub_bulletin_post(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	(void)ex;
	(void)m;
	post(hub_from_wsi(wsi), wsi, ctx);
}

void hub_bulletin_detail(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m)
{
	if (text_record_id_valid(m->param[0]))
		reply_detail(hub_from_wsi(wsi), wsi, ctx, 200, m->param[0]);
	else
		http_reply_error(wsi, ex, 404, "not_found", "no such bulletin");
}

void hub_bulletin_public(void *ctx, struct lws *wsi, struct http_exchange *ex,
			 const struct route_match *m)
{
	(void)ctx;
	if (!m->n_params)
		bulletin_http_list(hub_from_wsi(wsi)->db, wsi, ex);
	else
		bulletin_http_one(hub_from_wsi(wsi)->db, wsi, ex, m->param[0],
				  0, NULL);
}

void hub_bulletin_cap(void *ctx, struct lws *wsi, struct http_exchange *ex,
		      const struct route_match *m)
{
	struct hub *hub = hub_from_wsi(wsi);

	(void)ctx;
	bulletin_http_one(hub->db, wsi, ex, m->param[0], 1,
			  hub->cfg.public_url);
}

void hub_bulletin_atom(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	struct hub *hub = hub_from_wsi(wsi);

	(void)ctx;
	(void)m;
	bulletin_http_atom(hub->db, wsi, ex, "District bulletins",
			   hub->cfg.public_url);
}

/* ---- undelivered (the console's warnings and /metrics) ------------------ */

static void undelivered_reset(struct community *c, void *arg)
{
	(void)arg;
	c->undelivered_ms = 0;
}

int hub_bulletin_undelivered(struct hub *hub)
{
	sqlite3_stmt *st = NULL;
	int rc;

	flush_acks(hub);        /* what was acked is delivered */
	registry_each(hub, undelivered_reset, NULL);
	if (sqlite3_prepare_v2(hub->db,
		"SELECT d.community, MIN(b.received_ms) FROM bulletin_delivery"
		" d JOIN bulletin b ON b.id = d.bulletin WHERE d.delivered_ms"
		" IS NULL AND d.refused IS NULL AND b.expires > ? GROUP BY"
		" d.community", -1, &st, NULL) != SQLITE_OK)
		goto err;
	sqlite3_bind_int64(st, 1, hub_now());
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct community *c = registry_find(hub,
			(const char *)sqlite3_column_text(st, 0));

		if (c)
			c->undelivered_ms = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return ERR_OK;
	st = NULL;
err:
	log_error("bulletins: reading undelivered bulletins: %s",
		  sqlite3_errmsg(hub->db));
	sqlite3_finalize(st);
	return ERR_IO;
}
