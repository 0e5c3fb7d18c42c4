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
 * write happens from WRITEABLE, events come from a small ring, a comment
 * every LIMIT_BULLETIN_KEEPALIVE_S keeps proxies from closing it. One
 * client (lib/peer.h) holds at most LIMIT_BULLETIN_LIVE_PER_CLIENT feeds
 * (429 beyond), so a crowd from one address cannot shut the others out;
 * at most LIMIT_BULLETIN_LIVE are open in all (503 beyond).
 *
 * Parts: state; keys; receiving; the live feed; the public endpoints. */
#include <stdlib.h>
#include <string.h>

#include "bulletin_store.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "node.h"
#include "store.h"
#include "text.h"

#define LIVE_PATH "/api/v1/bulletins/live"
/* Events kept for feeds that are behind; older ones are skipped. */
#define LIVE_RING 32

/* ---- state ---------------------------------------------------------- */

/* One event of the live feed: "event: bulletin\nid: N\ndata: JSON\n\n". */
struct live_event {
	uint64_t seq;               /* 0: slot unused */
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
	uint64_t sent;              /* last event seq written */
};

struct node_bulletins {
	struct bulletin_keys *keys; /* the pinned set in force (owned) */
	struct bulletin_store *store; /* statements on n->db (owned) */
	struct live_event ring[LIVE_RING];
	uint64_t seq;               /* last event made */
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

/* live_publish: make an event of bulletin id as stored now and wake every
 * feed. With no feed open there is nothing to make: a feed opened later
 * starts after the last event made (node_bulletin_live_begin), so it would
 * never be sent, and reading the bulletin back and rendering it costs
 * about a fifth of receiving it. */
static void live_publish(struct node *n, const char *id)
{
	struct node_bulletins *b = n->bulletins;
	struct bulletin_row row;
	struct live_event *e;
	json_t *obj;
	char *json, head[64];
	size_t jlen;
	int hlen;

	if (!b->n_live)
		return;
	if (bulletin_store_get(n->db, id, clock_now(), &row) != ERR_OK)
		return;
	obj = bulletin_json(row.c, row.status);
	bulletin_row_free(&row);
	json = obj ? json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(obj);
	if (!json)
		return;
	jlen = strlen(json);
	e = &b->ring[(b->seq + 1) % LIVE_RING];
	free(e->buf);
	memset(e, 0, sizeof(*e));
	hlen = snprintf(head, sizeof(head), "event: bulletin\nid: %llu\ndata: ",
			(unsigned long long)(b->seq + 1));
	e->buf = malloc(LWS_PRE + (size_t)hlen + jlen + 2);
	if (!e->buf) {
		free(json);
		return;
	}
	memcpy(e->buf + LWS_PRE, head, (size_t)hlen);
	memcpy(e->buf + LWS_PRE + hlen, json, jlen);
	memcpy(e->buf + LWS_PRE + hlen + jlen, "\n\n", 2);
	e->len = (size_t)hlen + jlen + 2;
	e->seq = ++b->seq;
	free(json);
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

int node_bulletin_live_begin(struct node *n, struct lws *wsi,
			     struct http_exchange *ex)
{
	struct node_bulletins *b = n->bulletins;
	struct live_client *cl = NULL;
	char peer[PEER_KEY_MAX];
	unsigned mine = 0;

	if (!b || strcmp(ex->path, LIVE_PATH) != 0 || ex->method != HTTP_GET)
		return 0;
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
	cl->sent = b->seq;          /* new bulletins only; the list has the rest */
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
					LWS_ILLEGAL_HTTP_CONTENT_LEN, &p, end))
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

/* next_event: the first event after seq still in the ring, or NULL. */
static struct live_event *next_event(struct node_bulletins *b, uint64_t seq)
{
	uint64_t want = seq + 1, oldest;

	if (want > b->seq)
		return NULL;
	oldest = b->seq >= LIVE_RING ? b->seq - LIVE_RING + 1 : 1;
	if (want < oldest)
		want = oldest;          /* too far behind: skip what is gone */
	return &b->ring[want % LIVE_RING];
}

int node_bulletin_live_writeable(struct node *n, struct lws *wsi, int *rc)
{
	struct node_bulletins *b = n->bulletins;
	struct live_client *cl = b ? live_find(b, wsi) : NULL;
	struct live_event *e;

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
	e = next_event(b, cl->sent);
	if (e && e->buf) {
		cl->sent = e->seq;
		if (lws_write(wsi, e->buf + LWS_PRE, e->len, LWS_WRITE_HTTP) <
		    (int)e->len)
			*rc = -1;
		else if (cl->sent < b->seq)
			lws_callback_on_writable(wsi);
		return 1;
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
	log_warn("bulletins: refused bulletin %s from hub %s: %s",
		 c && text_record_id_valid(c->id) ? c->id : "(no valid id)",
		 n->cfg.hub_host, why);
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
	if (store_exec(n->db, "BEGIN IMMEDIATE") != ERR_OK)
		goto io;
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
	if (outcome == BULLETIN_STORED) {
		log_info("bulletins: stored %s %s (%s): %s", c->type, c->id,
			 c->severity, c->headline);
		live_publish(n, c->id);
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

int node_bulletin_route(struct node *n, struct lws *wsi,
			struct http_exchange *ex)
{
	return bulletin_http_route(n->db, wsi, ex, "Community bulletins",
				   n->cfg.public_url);
}
