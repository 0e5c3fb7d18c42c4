/* bulletin.c: bulletins at the node: receiving, the live feed, the API.
 *
 * A Bulletin frame from the hub is trusted no more than the network: it is
 * verified against the keys this node pins ([bulletins] keys, re-read on
 * SIGHUP), and stored only when its signed area includes this community
 * (or is empty). Then, and only after the store committed, the node acks
 * it; anything refused is acked with refused set and the reason, is logged
 * and never stored or shown. A store failure is not acked at all, so the
 * hub offers the bulletin again at the next session.
 *
 * Residents' pages follow new bulletins on a live feed of server-sent
 * events (GET /api/v1/bulletins/live): the connection stays open, every
 * write happens from WRITEABLE, a comment
 * every LIMIT_BULLETIN_KEEPALIVE_S keeps proxies from closing it. One
 * client (lib/peer.h) holds at most LIMIT_BULLETIN_LIVE_PER_CLIENT feeds
 * (429 beyond), so a crowd from one address cannot shut the others out;
 * at most LIMIT_BULLETIN_LIVE are open in all (503 beyond).
 *
 * An event's id is the bulletin's sequence in the store
 * (bulletin_store.h), so it survives a restart: a client that reconnects
 * with Last-Event-ID gets every bulletin stored after it and not expired,
 * updates and cancellations included, in the order stored (at most
 * LIVE_REPLAY of them, the newest; the page's list has the rest). A feed
 * sends the bulletin after the last one it sent, one per WRITEABLE: from
 * a small ring of the events just made when it is there (a new bulletin
 * rendered once for every feed), else read back from the store.
 *
 * Parts: state; keys; receiving; the live feed; the public endpoints. */
#include <stdlib.h>
#include <string.h>

#include "bulletin_store.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "node.h"
#include "outbox.h"
#include "store.h"
#include "text.h"

#define LIVE_PATH "/api/v1/bulletins/live"
/* Events just made, kept for the feeds that have not sent them yet. */
#define LIVE_RING 32
/* Most bulletins a reconnecting feed replays (Last-Event-ID). */
#define LIVE_REPLAY 100

/* ---- state ---------------------------------------------------------- */

/* One event of the live feed: "event: bulletin\nid: N\ndata: JSON\n\n". */
struct live_event {
	int64_t seq;                /* the bulletin's; 0: slot unused */
	uint8_t *buf;               /* LWS_PRE headroom, then len bytes (owned) */
	size_t len;
};

/* One open live feed. */
struct live_client {
	struct lws *wsi;            /* NULL: slot free */
	char peer[PEER_KEY_MAX];    /* its client (lib/peer.h) */
	int headers_sent;
	int hello_sent;             /* the opening comment */
	int keepalive_due;
	int64_t sent;               /* the seq of the last event written */
};

struct node_bulletins {
	struct bulletin_keys *keys; /* the pinned set in force (owned) */
	struct bulletin_store *store; /* statements on n->db (owned) */
	struct live_event ring[LIVE_RING]; /* by seq % LIVE_RING */
	int64_t seq;                /* the last bulletin stored */
	struct live_client live[LIMIT_BULLETIN_LIVE];
	unsigned n_live;
	lws_sorted_usec_list_t keepalive;
	struct lws_context *lws;
};

/* ---- keys ------------------------------------------------------------ */

static void keepalive_cb(lws_sorted_usec_list_t *sul);

int node_bulletin_open(struct node *n, char *err, size_t errlen)
{
	struct node_bulletins *b = calloc(1, sizeof(*b));

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	n->bulletins = b;
	b->lws = n->lws;
	if (bulletin_keys_from_config(n->cfg.bulletin_keys, n->config_path,
				      &b->keys, err, errlen) != ERR_OK)
		return ERR_INVALID;
	if (bulletin_store_open(n->db, &b->store) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot prepare the bulletin "
			 "statements: %s", n->cfg.store_path,
			 sqlite3_errmsg(n->db));
		return ERR_IO;
	}
	bulletin_keys_log(b->keys);
	if (!b->keys->n)
		log_warn("bulletins: no signing key pinned ([bulletins] keys): "
			 "every bulletin will be refused");
	lws_sul_schedule(n->lws, 0, &b->keepalive, keepalive_cb,
			 LIMIT_BULLETIN_KEEPALIVE_S * LWS_US_PER_SEC);
	return ERR_OK;
}

void node_bulletin_reload(struct node *n)
{
	if (n->bulletins)
		bulletin_keys_reload(&n->bulletins->keys, n->cfg.bulletin_keys,
				     n->config_path);
}

void node_bulletin_close(struct node *n)
{
	struct node_bulletins *b = n->bulletins;
	size_t i;

	if (!b)
		return;
	lws_sul_cancel(&b->keepalive);
	for (i = 0; i < LIVE_RING; i++)
		free(b->ring[i].buf);
	bulletin_store_close(&b->store);
	bulletin_keys_free(&b->keys);
	free(b);
	n->bulletins = NULL;
}

/* ---- the live feed -------------------------------------------------------- */

static void live_wake(struct node_bulletins *b)
{
	size_t i;

	for (i = 0; i < LIMIT_BULLETIN_LIVE; i++)
		if (b->live[i].wsi)
			lws_callback_on_writable(b->live[i].wsi);
}

/* event_make: e, an event of bulletin id as stored now. ERR_OK, or
 * ERR_NOTFOUND / ERR_IO / ERR_NOMEM (e then unused). */
static int event_make(struct node *n, const char *id, struct live_event *e)
{
	struct bulletin_row row;
	json_t *obj;
	char *json, head[64];
	size_t jlen;
	int hlen, rc;

	free(e->buf);
	memset(e, 0, sizeof(*e));
	rc = bulletin_store_get(n->db, id, clock_now(), &row);
	if (rc != ERR_OK)
		return rc;
	obj = bulletin_json(row.c, row.status);
	hlen = snprintf(head, sizeof(head), "event: bulletin\nid: %lld\n"
			"data: ", (long long)row.seq);
	e->seq = row.seq;
	bulletin_row_free(&row);
	json = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(obj);
	jlen = json ? strlen(json) : 0;
	e->buf = json ? malloc(LWS_PRE + (size_t)hlen + jlen + 2) : NULL;
	if (!e->buf) {
		free(json);
		e->seq = 0;
		return ERR_NOMEM;
	}
	memcpy(e->buf + LWS_PRE, head, (size_t)hlen);
	memcpy(e->buf + LWS_PRE + hlen, json, jlen);
	memcpy(e->buf + LWS_PRE + hlen + jlen, "\n\n", 2);
	e->len = (size_t)hlen + jlen + 2;
	free(json);
	return ERR_OK;
}

/* live_publish: make an event of bulletin id as stored now (into the
 * ring) and wake every feed. With no feed open there is nothing to do: a
 * feed opened later reads what it needs from the store, and reading the
 * bulletin back and rendering it costs about a fifth of receiving it. */
static void live_publish(struct node *n, const char *id)
{
	struct node_bulletins *b = n->bulletins;
	struct live_event made = { 0 };

	if (!b->n_live)
		return;
	if (event_make(n, id, &made) == ERR_OK) {
		free(b->ring[made.seq % LIVE_RING].buf);
		b->ring[made.seq % LIVE_RING] = made;
	}
	/* the feeds read what the ring lacks from the store */
	if (bulletin_store_last_seq(n->db, &b->seq) != ERR_OK &&
	    made.seq > b->seq)
		b->seq = made.seq;
	live_wake(b);
}

static void keepalive_cb(lws_sorted_usec_list_t *sul)
{
	struct node_bulletins *b =
		lws_container_of(sul, struct node_bulletins, keepalive);
	size_t i;

	for (i = 0; i < LIMIT_BULLETIN_LIVE; i++)
		b->live[i].keepalive_due = 1;
	live_wake(b);
	lws_sul_schedule(b->lws, 0, &b->keepalive, keepalive_cb,
			 LIMIT_BULLETIN_KEEPALIVE_S * LWS_US_PER_SEC);
}

static struct live_client *live_find(struct node_bulletins *b,
				     struct lws *wsi)
{
	size_t i;

	for (i = 0; wsi && i < LIMIT_BULLETIN_LIVE; i++)
		if (b->live[i].wsi == wsi)
			return &b->live[i];
	return NULL;
}

/* replay_from: the seq a new feed on wsi starts after: the last stored
 * (new bulletins only; the page's list has the rest), or, when it asks
 * with Last-Event-ID, that id, moved on so that at most LIVE_REPLAY
 * follow. */
static int64_t replay_from(struct node *n, struct lws *wsi)
{
	struct node_bulletins *b = n->bulletins;
	char v[32], *end = NULL;
	long long last;
	int64_t from;
	int len = lws_hdr_custom_length(wsi, "last-event-id:", 14);

	if (len <= 0 || len >= (int)sizeof(v) ||
	    lws_hdr_custom_copy(wsi, v, sizeof(v), "last-event-id:", 14) < 0)
		return b->seq;
	errno = 0;
	last = strtoll(v, &end, 10);
	if (errno || end == v || *end || last < 0)
		return b->seq;          /* not one of ours: new ones only */
	if (last > b->seq)
		last = b->seq;          /* from a store since restored */
	if (bulletin_store_replay_from(n->db, last, clock_now(), LIVE_REPLAY,
				       &from) != ERR_OK)
		return b->seq;
	return from;
}

int node_bulletin_live_begin(struct node *n, struct lws *wsi,
			     struct http_exchange *ex)
{
	struct node_bulletins *b = n->bulletins;
	struct live_client *cl = NULL;
	char peer[PEER_KEY_MAX];
	unsigned mine = 0;

	if (!b || strcmp(ex->path, LIVE_PATH) != 0 || ex->method != HTTP_GET)
		return 0;
	if (ex->head) {                 /* the head of a feed, no feed */
		ex->cache_control = "no-store";
		http_reply(wsi, ex, 200, "text/event-stream; charset=utf-8",
			   NULL, 0);
		return 1;
	}
	if (bulletin_store_last_seq(n->db, &b->seq) != ERR_OK) {
		http_reply_error(wsi, ex, 500, "store", "the bulletins cannot "
				 "be read");
		return 1;
	}
	peer_client(wsi, &n->cfg.proxies, peer, sizeof(peer));
	for (size_t i = 0; i < LIMIT_BULLETIN_LIVE; i++) {
		if (!b->live[i].wsi && !cl)
			cl = &b->live[i];
		else if (b->live[i].wsi && strcmp(b->live[i].peer, peer) == 0)
			mine++;
	}
	if (mine >= LIMIT_BULLETIN_LIVE_PER_CLIENT) {
		http_reply_error(wsi, ex, 429, "too_many", "%s has %d live "
				 "feeds open already", peer,
				 LIMIT_BULLETIN_LIVE_PER_CLIENT);
		return 1;
	}
	if (!cl) {
		http_reply_error(wsi, ex, 503, "busy", "%d live feeds are open; "
				 "try again later", LIMIT_BULLETIN_LIVE);
		return 1;
	}
	memset(cl, 0, sizeof(*cl));
	cl->wsi = wsi;
	snprintf(cl->peer, sizeof(cl->peer), "%s", peer);
	cl->sent = replay_from(n, wsi);
	b->n_live++;
	lws_callback_on_writable(wsi);
	return 1;
}

/* live_headers: the response head of a feed: no length, never cached. */
static int live_headers(struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 1024];
	unsigned char *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof(buf) - 1;
	static const char *const extra[][2] = {
		{ "cache-control:", "no-store" },
		{ "x-content-type-options:", "nosniff" },
		{ "x-accel-buffering:", "no" },   /* nginx in front: stream */
	};
	size_t i;

	if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK,
					"text/event-stream; charset=utf-8",
					LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end) ||
	    http_add_date(wsi, &p, end))
		return -1;
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		if (lws_add_http_header_by_name(wsi,
				(const unsigned char *)extra[i][0],
				(const unsigned char *)extra[i][1],
				(int)strlen(extra[i][1]), &p, end))
			return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_http_mark_sse(wsi);
	return 0;
}

/* live_text: write a short constant text (one write). */
static int live_text(struct lws *wsi, const char *text)
{
	unsigned char buf[LWS_PRE + 64];
	size_t len = strlen(text);

	memcpy(buf + LWS_PRE, text, len);
	return lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP) < (int)len
		? -1 : 0;
}

/* next_event: the event after seq, from the ring or else made from the
 * store into *tmp; NULL when there is none (*next then says where the
 * feed has got to: past bulletins expired or unreadable). */
static struct live_event *next_event(struct node *n, int64_t seq,
				     struct live_event *tmp, int64_t *next)
{
	struct node_bulletins *b = n->bulletins;
	struct live_event *e = &b->ring[(seq + 1) % LIVE_RING];
	char id[LIMIT_RECORD_ID + 1];

	*next = seq;
	if (seq >= b->seq)
		return NULL;
	if (e->seq == seq + 1 && e->buf)
		return e;               /* made once for every feed */
	if (bulletin_store_next(n->db, seq, clock_now(), next, id,
				sizeof(id)) != ERR_OK || !*next) {
		*next = b->seq;         /* nothing (readable) left */
		return NULL;
	}
	e = &b->ring[*next % LIVE_RING];
	if (e->seq == *next && e->buf)
		return e;
	if (event_make(n, id, tmp) != ERR_OK)
		return NULL;            /* skipped: *next is past it */
	return tmp;
}

int node_bulletin_live_writeable(struct node *n, struct lws *wsi, int *rc)
{
	struct node_bulletins *b = n->bulletins;
	struct live_client *cl = b ? live_find(b, wsi) : NULL;
	struct live_event *e, tmp = { 0 };
	int64_t next;

	if (!cl)
		return 0;
	*rc = 0;
	if (!cl->headers_sent) {
		cl->headers_sent = 1;
		if (live_headers(wsi))
			*rc = -1;
		else
			lws_callback_on_writable(wsi);
		return 1;
	}
	if (!cl->hello_sent) {
		cl->hello_sent = 1;
		*rc = live_text(wsi, "retry: 3000\n: live bulletins\n\n");
		lws_callback_on_writable(wsi);
		return 1;
	}
	e = next_event(n, cl->sent, &tmp, &next);
	if (e) {
		cl->sent = e->seq;
		if (lws_write(wsi, e->buf + LWS_PRE, e->len, LWS_WRITE_HTTP) <
		    (int)e->len)
			*rc = -1;
		else if (cl->sent < b->seq)
			lws_callback_on_writable(wsi);
		free(tmp.buf);
		return 1;
	}
	if (next > cl->sent) {          /* skipped what cannot be sent */
		cl->sent = next;
		if (cl->sent < b->seq)
			lws_callback_on_writable(wsi);
	}
	if (cl->keepalive_due) {
		cl->keepalive_due = 0;
		*rc = live_text(wsi, ": keepalive\n\n");
	}
	return 1;
}

void node_bulletin_live_closed(struct node *n, struct lws *wsi)
{
	struct live_client *cl = n->bulletins ? live_find(n->bulletins, wsi)
					      : NULL;

	if (!cl)
		return;
	memset(cl, 0, sizeof(*cl));
	n->bulletins->n_live--;
}

/* ---- receiving -------------------------------------------------------------- */

/* send_ack: ack id to the hub, refused with a reason when reason is set.
 * An id that is no record id cannot be acked: an Error frame says why. */
static void send_ack(struct node *n, const char *id, const char *reason)
{
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__BulletinAck ack = ALLIANCE__V1__BULLETIN_ACK__INIT;
	Alliance__V1__Error error = ALLIANCE__V1__ERROR__INIT;

	if (id && text_record_id_valid(id)) {
		ack.id = (char *)id;
		ack.refused = reason != NULL;
		ack.reason = (char *)(reason ? reason : "");
		frame.body_case = ALLIANCE__V1__FRAME__BODY_BULLETIN_ACK;
		frame.bulletin_ack = &ack;
	} else {
		error.code = ALLIANCE__V1__ERROR_CODE__ERROR_BAD_FRAME;
		error.message = (char *)(reason ? reason : "bad bulletin");
		frame.body_case = ALLIANCE__V1__FRAME__BODY_ERROR;
		frame.error = &error;
	}
	if (hub_link__send(n, &frame) != ERR_OK)
		log_warn("bulletins: could not queue the ack of %s",
			 id ? id : "a bulletin");
}

/* refuse: log and ack-with-refusal; the bulletin is not stored. */
static void refuse(struct node *n, const uint8_t *content, size_t len,
		   const char *why)
{
	BulletinContent *c = NULL;
	char reason[400];

	/* the id, if the bytes decode at all, to say which was refused */
	bulletin_decode(content, len, &c);
	snprintf(reason, sizeof(reason), "refused by %s: %s",
		 n->cfg.community, why);
	n->bulletins_refused++;
	log_warn("bulletins: refused bulletin %s from hub %s: %s",
		 c && text_record_id_valid(c->id) ? c->id : "(no valid id)",
		 hub_link__url(n)->url, why);
	send_ack(n, c ? c->id : NULL, reason);
	bulletin_content_free(&c);
}

int node_bulletin_handle(struct node *n, const Alliance__V1__Bulletin *bf)
{
	const uint8_t *content = bf->signed_content.data;
	size_t len = bf->signed_content.len;
	enum bulletin_put outcome = BULLETIN_STORED;
	BulletinContent *c = NULL;
	char why[300];
	double t0 = clock_mono_ms(), locking;

	n->bulletins_received++;
	if (bulletin_open(n->bulletins->keys, content, len,
			  bf->signature.data, bf->signature.len, &c, why,
			  sizeof(why)) != ERR_OK) {
		refuse(n, content, len, why);
		return 0;
	}
	if (!bulletin_targets(c, n->cfg.community)) {
		snprintf(why, sizeof(why), "its signed area does not include "
			 "%s", n->cfg.community);
		refuse(n, content, len, why);
		goto out;
	}
	/* the store's write lock only: the outbox's file, which its sender
	 * writes while sending, is not the bulletin's to wait for */
	locking = clock_mono_ms();
	if (node_store_begin(n->db, NODE_STORE_MAIN) != ERR_OK)
		goto io;
	locking = clock_mono_ms() - locking;
	if (bulletin_store_put(n->bulletins->store, content, len,
			       bf->signature.data, bf->signature.len, c, NULL,
			       clock_now_ms(), &outcome) != ERR_OK ||
	    store_exec(n->db, "COMMIT") != ERR_OK) {
		store_exec(n->db, "ROLLBACK");
		goto io;
	}
	if (outcome == BULLETIN_CONFLICT) {
		refuse(n, content, len, "a bulletin with this id is stored "
		       "with other content");
		goto out;
	}
	send_ack(n, c->id, NULL);
	prom_hist_observe(&n->bulletin_ack, (clock_mono_ms() - t0) / 1e3);
	prom_hist_observe(&n->bulletin_store_wait, locking / 1e3);
	if (outcome == BULLETIN_STORED) {
		/* the store's trigger noted it for the outbox; its thread
		 * sends it, after the ack */
		outbox_wake(n);
		n->bulletins_stored++;
		log_info("bulletins: stored %s %s (%s): %s", c->type, c->id,
			 c->severity, c->headline);
		live_publish(n, c->id);
		if (c->check_in)        /* after the ack: counts, not sends */
			node_checkin_started(n, c->id);
	}
	goto out;
io:
	log_error("bulletins: cannot store %s; not acked, the hub will offer "
		  "it again", c->id);
out:
	bulletin_content_free(&c);
	return 0;
}

/* ---- the public endpoints ------------------------------------------------ */

void node_bulletin_public(void *ctx, struct lws *wsi,
			  struct http_exchange *ex,
			  const struct route_match *m)
{
	(void)ctx;
	if (!m->n_params)
		bulletin_http_list(node_from_wsi(wsi)->db, wsi, ex);
	else
		bulletin_http_one(node_from_wsi(wsi)->db, wsi, ex,
				  m->param[0], 0, NULL);
}

void node_bulletin_cap(void *ctx, struct lws *wsi, struct http_exchange *ex,
		       const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);

	(void)ctx;
	bulletin_http_one(n->db, wsi, ex, m->param[0], 1, n->cfg.public_url);
}

void node_bulletin_atom(void *ctx, struct lws *wsi, struct http_exchange *ex,
			const struct route_match *m)
{
	struct node *n = node_from_wsi(wsi);

	(void)ctx;
	(void)m;
	bulletin_http_atom(n->db, wsi, ex, "Community bulletins",
			   n->cfg.public_url);
}
