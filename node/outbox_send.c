/* outbox_send.c: the outbox's sender (outbox.h): one thread with its own
 * store connection and a libcurl multi handle, and with push on, a
 * sealing thread that encrypts and signs the push messages.
 *
 * A round: expand the events the store's triggers noted (outbox.c), stop
 * what expired (once a second), start due rows up to [outbox] in_flight
 * per endpoint (the SMS gateway is endpoint 0), marking them sending in
 * one transaction before any is posted, and note each finished transfer:
 * a 2xx is sent, a 4xx other than 408, 425 and 429 is dead at once (the
 * receiver refuses it), anything else fails and is tried again after
 * webhook_backoff_s, or is dead when that would pass its deadline (a
 * bulletin's expiry; a request's status a day after). Rows found sending
 * at the start were in flight when the node stopped: they go again, with
 * the same idempotency key. Nothing here touches lws; the service thread
 * only wakes the thread (curl_multi_wakeup, thread-safe).
 *
 * A push row takes its slot when it is marked, and is handed to the
 * sealing thread (RFC 8291 encryption and the VAPID token of its push
 * service, ~0.2 ms of CPU a message) and posted when it comes back: the
 * sender's rounds stay short, so the SMS gateway and the webhooks get
 * their freed slots back at once and never wait for the pushes. The
 * sealing thread touches no store and no curl handle; the two threads
 * share only the queues of slots (o->mu).
 *
 * Parts: state; the rounds; sealing; transfers; the thread; start and
 * stop; metrics. */
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "outbox.h"
#include "prom.h"
#include "push.h"
#include "store.h"
#include "webhook.h"
#include "webpush.h"

/* The longest pause of the thread between rounds, in ms. */
#define ROUND_MS 250
/* Connections kept open to one host (a push service takes every
 * browser's messages): more transfers to it wait for one of these, so
 * the connections are reused (HTTP keep-alive) instead of a TLS
 * handshake a message. */
#define HOST_CONNECTIONS 32

/* ---- state ------------------------------------------------------- */

/* One post under way: a used slot is sealing (a push row with the
 * sealing thread: easy NULL), sealed (back from it) or posting (easy). */
struct transfer {
	int used;
	CURL *easy;
	int64_t row;
	int64_t endpoint;
	int channel;
	struct curl_slist *hs;
	char *body;
	size_t len;
	char err[CURL_ERROR_SIZE];
	/* a push row's, while sealing */
	struct push_target target;
	char *envelope;             /* its stored body (owned) */
	int64_t now;
	int seal_rc;                /* ERR_OK, or why not */
	struct transfer *next;      /* in a queue of o->mu */
};

struct outbox {
	char *community, *name;     /* ours (owned) */
	char *sms_url, *sms_secret; /* [sms]: the gateway (owned), or NULL */
	char *ca;                   /* [outbox] ca (owned), or NULL */
	EVP_PKEY *vapid;            /* [push] key (owned), or NULL: no push */
	char *push_subject;         /* [push] subject (owned) */
	char push_key[WEBPUSH_KEY_B64_LEN]; /* vapid's public key */
	struct webpush_vapid_cache tokens; /* the sealing thread's */
	pthread_t sealer;
	int sealer_started;
	pthread_mutex_t mu;         /* the two queues below */
	pthread_cond_t cv;          /* to_seal has a slot, or stopping */
	struct transfer *to_seal, **to_seal_end, *sealed; /* (o->mu) */
	unsigned in_flight, timeout_s, retry_min_s, retry_max_s; /* [outbox] */
	sqlite3 *db;                /* the thread's connection */
	sqlite3_stmt *st_mark;      /* a row marked sending (kept) */
	sqlite3_stmt *st_sent;      /* a row sent (kept) */
	struct outbox_site site;    /* db, community and name, for outbox.c */
	CURLM *multi;
	pthread_t thread;
	int started;
	int stopping;               /* atomic */
	int woken;                  /* atomic: outbox_wake was called */
	struct transfer t[LIMIT_OUTBOX_INFLIGHT]; /* the sender's */
	unsigned busy;              /* slots in use */
	/* subscriptions the push service said are gone, in a collect */
	int64_t gone[LIMIT_OUTBOX_INFLIGHT];
	unsigned n_gone;
	/* counters since start, per channel (atomic) */
	uint64_t sent[OUTBOX_CHANNELS];
	uint64_t failed[OUTBOX_CHANNELS];
	uint64_t dead[OUTBOX_CHANNELS];
};

/* ---- the rounds ---------------------------------------------------------------- */

/* in_flight_to: transfers under way to endpoint. */
static unsigned in_flight_to(const struct outbox *o, int64_t endpoint)
{
	unsigned n = 0;

	for (unsigned i = 0; i < LIMIT_OUTBOX_INFLIGHT; i++)
		n += o->t[i].used && o->t[i].endpoint == endpoint;
	return n;
}

/* slot_free: what slot t holds freed, the slot free again. */
static void slot_free(struct outbox *o, struct transfer *t)
{
	if (t->easy) {
		curl_multi_remove_handle(o->multi, t->easy);
		curl_easy_cleanup(t->easy);
	}
	curl_slist_free_all(t->hs);
	free(t->body);
	free(t->target.url);
	free(t->envelope);
	memset(t, 0, sizeof(*t));
	o->busy--;
}

/* post: slot t (its body, headers) posted to url. ERR_OK or ERR_NOMEM
 * (the slot is left as it was). */
static int post(struct outbox *o, struct transfer *t, const char *url)
{
	if (!(t->easy = curl_easy_init()))
		return ERR_NOMEM;
	curl_easy_setopt(t->easy, CURLOPT_URL, url);
	curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT, (long)o->timeout_s);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->hs);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long)t->len);
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->err);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	if (o->ca)
		curl_easy_setopt(t->easy, CURLOPT_CAINFO, o->ca);
	curl_multi_add_handle(o->multi, t->easy);
	return ERR_OK;
}

/* start_one: row (body, to url signed with secret) in a free slot: a
 * webhook or SMS posted at once, a push row (endpoint -ID) handed to the
 * sealing thread. ERR_OK, ERR_NOTFOUND (the subscription is gone) or
 * ERR_NOMEM. */
static int start_one(struct outbox *o, int64_t row, int64_t endpoint,
		     int channel, const char *key, char **body,
		     const char *url, const char *secret)
{
	struct transfer *t = NULL;

	for (unsigned i = 0; i < LIMIT_OUTBOX_INFLIGHT && !t; i++)
		if (!o->t[i].used)
			t = &o->t[i];
	if (!t)
		return ERR_NOMEM;
	memset(t, 0, sizeof(*t));
	t->row = row;
	t->endpoint = endpoint;
	t->channel = channel;
	if (endpoint < 0) {
		/* a browser's subscription: its own url, sealed apart */
		int rc = o->vapid ? push_target_get(o->db, -endpoint,
						    &t->target) : ERR_FAIL;

		if (rc != ERR_OK) {
			memset(t, 0, sizeof(*t));
			return rc == ERR_NOTFOUND ? ERR_NOTFOUND : ERR_NOMEM;
		}
		t->used = 1;
		o->busy++;
		t->envelope = *body;
		*body = NULL;
		t->now = (int64_t)time(NULL);
		pthread_mutex_lock(&o->mu);
		*o->to_seal_end = t;        /* in the order marked */
		o->to_seal_end = &t->next;
		pthread_cond_signal(&o->cv);
		pthread_mutex_unlock(&o->mu);
		return ERR_OK;
	}
	t->len = strlen(*body);
	t->hs = webhook_headers(secret, key, *body, t->len,
				(int64_t)time(NULL));
	t->body = *body;
	*body = NULL;
	t->used = 1;
	o->busy++;
	if (!t->hs || post(o, t, url) != ERR_OK) {
		slot_free(o, t);
		return ERR_NOMEM;
	}
	return ERR_OK;
}

/* A due row, read before it is marked (the scan is done first). */
struct due {
	int64_t row, endpoint;
	int channel;
	char key[WEBHOOK_KEY_MAX + 1];
	char *body;                 /* (owned) */
};

/* mark: row marked sending, one more try (the kept statement). */
static int mark(struct outbox *o, int64_t row)
{
	int rc;

	sqlite3_bind_int64(o->st_mark, 1, row);
	rc = sqlite3_step(o->st_mark) == SQLITE_DONE ? ERR_OK : ERR_IO;
	sqlite3_reset(o->st_mark);
	return rc;
}

/* start_rows: the rows st selects (id, key, body, channel, endpoint; at
 * most max of them, no endpoint beyond in_flight) marked sending and
 * started, to url signed with secret (a push row: to its browser). The
 * number started. */
static unsigned start_rows(struct outbox *o, sqlite3_stmt *st, unsigned max,
			   const char *url, const char *secret)
{
	struct due due[LIMIT_OUTBOX_INFLIGHT];
	unsigned got = 0, n = 0;

	while (got < max && got < LIMIT_OUTBOX_INFLIGHT &&
	       sqlite3_step(st) == SQLITE_ROW) {
		struct due *d = &due[got];
		unsigned ahead = in_flight_to(o, sqlite3_column_int64(st, 4));

		d->endpoint = sqlite3_column_int64(st, 4);
		for (unsigned i = 0; i < got; i++)
			ahead += due[i].endpoint == d->endpoint;
		if (ahead >= o->in_flight)
			continue;           /* its endpoint is full */
		d->row = sqlite3_column_int64(st, 0);
		snprintf(d->key, sizeof(d->key), "%s",
			 (const char *)sqlite3_column_text(st, 1));
		d->body = strdup((const char *)sqlite3_column_text(st, 2));
		d->channel = outbox__channel((const char *)
					     sqlite3_column_text(st, 3));
		if (d->body && d->channel >= 0)
			got++;
		else
			free(d->body);
	}
	sqlite3_reset(st);
	for (unsigned i = 0; i < got; i++) {
		struct due *d = &due[i];

		if (n == i && mark(o, d->row) == ERR_OK) {
			int rc = start_one(o, d->row, d->endpoint, d->channel,
					   d->key, &d->body, url, secret);

			if (rc == ERR_OK)
				n++;
			else if (rc == ERR_NOTFOUND)
				outbox__exec(o->db, "UPDATE outbox SET state = "
					     "'cancelled', done = ?2, "
					     "last_error = 'the subscription "
					     "is gone' WHERE id = ?1", d->row,
					     (int64_t)time(NULL));
			else
				outbox__exec(o->db, "UPDATE outbox SET state = "
					     "'pending', attempts = attempts "
					     "- 1 WHERE id = ?1", d->row, 0);
		}
		free(d->body);
	}
	return n;
}

/* start_endpoint: the due rows of endpoint, as many as it has room for,
 * marked sending and started; url and secret where they go. The number
 * started. */
static unsigned start_endpoint(struct outbox *o, int64_t endpoint,
			       const char *url, const char *secret,
			       int64_t now)
{
	unsigned used = in_flight_to(o, endpoint), n = 0;
	unsigned room = used < o->in_flight ? o->in_flight - used : 0;
	sqlite3_stmt *st = NULL;

	if (room > LIMIT_OUTBOX_INFLIGHT - o->busy)
		room = LIMIT_OUTBOX_INFLIGHT - o->busy;
	if (!room)
		return 0;
	/* one state at a time, so the index gives the order: retries
	 * first, then the messages not tried yet */
	for (int k = 0; k < 2 && n < room; k++) {
		if (sqlite3_prepare_v2(o->db, "SELECT id, key, body, channel, "
				       "endpoint FROM outbox WHERE endpoint = "
				       "?1 AND state = ?4 AND next_at <= ?2 "
				       "ORDER BY next_at, id LIMIT ?3", -1, &st,
				       NULL) != SQLITE_OK)
			return n;
		sqlite3_bind_int64(st, 1, endpoint);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int(st, 3, (int)(room - n));
		sqlite3_bind_text(st, 4, k ? "pending" : "failed", -1,
				  SQLITE_STATIC);
		n += start_rows(o, st, room - n, url, secret);
		sqlite3_finalize(st);
		st = NULL;
	}
	return n;
}

/* start_push: the due rows of browsers' subscriptions (endpoint -ID),
 * oldest first, in the slots left, handed to the sealing thread. The
 * number started. */
static unsigned start_push(struct outbox *o, int64_t now)
{
	unsigned room = LIMIT_OUTBOX_INFLIGHT - o->busy, n = 0;
	sqlite3_stmt *st = NULL;

	if (!room || sqlite3_prepare_v2(o->db, "SELECT id, key, body, channel,"
					" endpoint FROM outbox INDEXED BY "
					"outbox_push_due WHERE channel = 'push'"
					" AND state IN ('pending', 'failed') "
					"AND next_at <= ?1 ORDER BY next_at, id"
					" LIMIT ?2", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, LIMIT_OUTBOX_INFLIGHT);
	n = start_rows(o, st, room, NULL, NULL);
	sqlite3_finalize(st);
	return n;
}

/* start_due: due rows of every endpoint, in one transaction (their
 * sending state is stored before any is posted): the SMS gateway's and
 * the webhooks' first, then the browsers'. The number started. */
static unsigned start_due(struct outbox *o, int64_t now)
{
	sqlite3_stmt *st = NULL;
	unsigned n = 0;
	char at[24];

	/* the write lock only when something is due */
	snprintf(at, sizeof(at), "%lld", (long long)now);
	if (o->busy >= LIMIT_OUTBOX_INFLIGHT ||
	    store_count(o->db, "SELECT (SELECT count(*) FROM (SELECT 1 FROM "
			"outbox WHERE state = 'pending' AND next_at <= CAST(?1 "
			"AS INTEGER) LIMIT 1)) + (SELECT count(*) FROM (SELECT "
			"1 FROM outbox WHERE state = 'failed' AND next_at <= "
			"CAST(?1 AS INTEGER) LIMIT 1))", at) <= 0 ||
	    node_store_begin(o->db, NODE_STORE_OUTBOX) != ERR_OK)
		return 0;
	if (o->sms_url)
		n += start_endpoint(o, 0, o->sms_url, o->sms_secret, now);
	if (sqlite3_prepare_v2(o->db, "SELECT id, url, secret FROM "
			       "outbox_endpoint ORDER BY id", -1, &st, NULL) ==
	    SQLITE_OK)
		while (sqlite3_step(st) == SQLITE_ROW)
			n += start_endpoint(o, sqlite3_column_int64(st, 0),
					    (const char *)sqlite3_column_text(
						    st, 1),
					    (const char *)sqlite3_column_text(
						    st, 2), now);
	sqlite3_finalize(st);
	if (o->vapid)
		n += start_push(o, now);
	if (store_exec(o->db, "COMMIT") != ERR_OK) {
		/* nothing is marked: the transfers started go on and are
		 * noted when they end */
		store_exec(o->db, "ROLLBACK");
	}
	return n;
}

/* ---- sealing ------------------------------------------------------------------- */

/* sealer_main: the sealing thread: each slot of o->to_seal encrypted and
 * signed (push_seal) and put on o->sealed, the sender woken. */
static void *sealer_main(void *arg)
{
	struct outbox *o = arg;

	pthread_mutex_lock(&o->mu);
	for (;;) {
		struct transfer *t;

		while (!o->to_seal &&
		       !__atomic_load_n(&o->stopping, __ATOMIC_RELAXED))
			pthread_cond_wait(&o->cv, &o->mu);
		if (!o->to_seal ||
		    __atomic_load_n(&o->stopping, __ATOMIC_RELAXED))
			break;      /* what waits is freed by outbox_stop */
		t = o->to_seal;
		o->to_seal = t->next;
		if (!o->to_seal)
			o->to_seal_end = &o->to_seal;
		pthread_mutex_unlock(&o->mu);
		t->seal_rc = push_seal(&t->target, o->vapid, o->push_subject,
				      &o->tokens, t->envelope, t->now, &t->hs,
				      &t->body, &t->len);
		pthread_mutex_lock(&o->mu);
		t->next = o->sealed;
		o->sealed = t;
		curl_multi_wakeup(o->multi);
	}
	pthread_mutex_unlock(&o->mu);
	return NULL;
}

/* post_sealed: the slots back from the sealing thread posted; one that
 * could not be sealed is pending again (one try fewer), in one
 * transaction. The number posted. */
static unsigned post_sealed(struct outbox *o)
{
	struct transfer *t, *next;
	unsigned n = 0;
	int open = 0;

	pthread_mutex_lock(&o->mu);
	t = o->sealed;
	o->sealed = NULL;
	pthread_mutex_unlock(&o->mu);
	for (; t; t = next) {
		next = t->next;
		if (t->seal_rc == ERR_OK && post(o, t, t->target.url) == ERR_OK) {
			n++;
			continue;
		}
		if (!open)
			open = node_store_begin(o->db, NODE_STORE_OUTBOX) ==
			       ERR_OK;
		outbox__exec(o->db, "UPDATE outbox SET state = 'pending', "
			     "attempts = attempts - 1 WHERE id = ?1 AND state "
			     "= 'sending'", t->row, 0);
		slot_free(o, t);
	}
	if (open && store_exec(o->db, "COMMIT") != ERR_OK)
		store_exec(o->db, "ROLLBACK");
	return n;
}

/* ---- transfers ------------------------------------------------------------------ */

/* permanent: a refusal that no retry changes. */
static int permanent(long status)
{
	return status >= 400 && status < 500 && status != 408 &&
	       status != 425 && status != 429;
}

/* finish: note transfer t's outcome (curl's rc, HTTP status) in the
 * outbox (in the caller's transaction; a subscription gone into o->gone)
 * and free it. */
static void finish(struct outbox *o, struct transfer *t, CURLcode rc)
{
	long status = 0;
	char why[CURL_ERROR_SIZE + 32];
	int64_t now = (int64_t)time(NULL);
	sqlite3_stmt *st = NULL;

	if (rc == CURLE_OK)
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK && t->endpoint < 0 &&
	    (status == 404 || status == 410)) {
		/* the browser dropped the subscription: no retry, ever */
		__atomic_add_fetch(&o->dead[t->channel], 1, __ATOMIC_RELAXED);
		outbox__exec(o->db, status == 404 ?
			     "UPDATE outbox SET state = 'dead', done = ?2, "
			     "last_error = 'HTTP 404: the subscription is gone'"
			     " WHERE id = ?1 AND state = 'sending'" :
			     "UPDATE outbox SET state = 'dead', done = ?2, "
			     "last_error = 'HTTP 410: the subscription is gone'"
			     " WHERE id = ?1 AND state = 'sending'", t->row,
			     now);
		/* forgotten after the transaction (collect): the store's
		 * file, not the outbox's */
		if (o->n_gone < LIMIT_OUTBOX_INFLIGHT)
			o->gone[o->n_gone++] = -t->endpoint;
	} else if (rc == CURLE_OK && status >= 200 && status < 300) {
		sqlite3_bind_int64(o->st_sent, 1, t->row);
		sqlite3_bind_int64(o->st_sent, 2, now);
		sqlite3_step(o->st_sent);
		sqlite3_reset(o->st_sent);
		__atomic_add_fetch(&o->sent[t->channel], 1, __ATOMIC_RELAXED);
	} else {
		uint32_t r = 0;

		if (rc == CURLE_OK)
			snprintf(why, sizeof(why), "HTTP %ld", status);
		else
			snprintf(why, sizeof(why), "%s", t->err[0] ? t->err :
				 curl_easy_strerror(rc));
		RAND_bytes((unsigned char *)&r, sizeof(r));
		__atomic_add_fetch(&o->failed[t->channel], 1,
				   __ATOMIC_RELAXED);
		/* a row stopped meanwhile (cancelled) stays stopped */
		unsigned attempts = 1;
		sqlite3_stmt *a = NULL;

		if (sqlite3_prepare_v2(o->db, "SELECT attempts FROM outbox "
				       "WHERE id = ?1", -1, &a, NULL) ==
		    SQLITE_OK) {
			sqlite3_bind_int64(a, 1, t->row);
			if (sqlite3_step(a) == SQLITE_ROW)
				attempts = (unsigned)sqlite3_column_int(a, 0);
		}
		sqlite3_finalize(a);
		if (sqlite3_prepare_v2(o->db, "UPDATE outbox SET state = CASE "
				       "WHEN ?3 OR ?2 + ?4 >= deadline THEN "
				       "'dead' ELSE 'failed' END, next_at = ?2 "
				       "+ ?4, done = ?2, last_error = ?5 WHERE "
				       "id = ?1 AND state = 'sending' "
				       "RETURNING state", -1, &st, NULL) ==
		    SQLITE_OK) {
			sqlite3_bind_int64(st, 1, t->row);
			sqlite3_bind_int64(st, 2, now);
			sqlite3_bind_int(st, 3, permanent(status));
			sqlite3_bind_int64(st, 4, webhook_backoff_s(
				attempts, o->retry_min_s, o->retry_max_s, r));
			sqlite3_bind_text(st, 5, why, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW &&
			    strcmp((const char *)sqlite3_column_text(st, 0),
				   "dead") == 0) {
				__atomic_add_fetch(&o->dead[t->channel], 1,
						   __ATOMIC_RELAXED);
				log_warn("outbox: message %lld to %s %lld is "
					 "dead after %u tries: %s",
					 (long long)t->row,
					 outbox__channel_name(t->channel),
					 (long long)t->endpoint, attempts,
					 why);
			}
			/* the statement is done before the transaction
			 * commits */
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
	}
	slot_free(o, t);
}

/* collect: every finished transfer noted, in one transaction of the
 * outbox's file; then the subscriptions found gone forgotten in the
 * store's. The number noted. */
static int collect(struct outbox *o)
{
	CURLMsg *msg;
	int left, n = 0, open = 0;

	while ((msg = curl_multi_info_read(o->multi, &left))) {
		struct transfer *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
		if (!open)
			open = node_store_begin(o->db, NODE_STORE_OUTBOX) ==
			       ERR_OK;
		finish(o, t, msg->data.result);
		n++;
	}
	if (open && store_exec(o->db, "COMMIT") != ERR_OK)
		store_exec(o->db, "ROLLBACK");
	for (unsigned i = 0; i < o->n_gone; i++)
		push_gone(o->db, o->gone[i], (int64_t)time(NULL));
	o->n_gone = 0;
	return n;
}

/* ---- the thread ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *sender_main(void *arg)
{
	struct outbox *o = arg;
	int64_t last_round = 0, last_prune = 0, last_sweep = 0;
	int more = 1;

	/* rows in flight when the node stopped go again */
	outbox__exec(o->db, "UPDATE outbox SET state = 'pending' WHERE state = "
		     "'sending'", 0, 0);
	while (!__atomic_load_n(&o->stopping, __ATOMIC_RELAXED)) {
		int running = 0, done;
		unsigned started = 0;
		int64_t ms = now_ms();

		started = post_sealed(o);
		curl_multi_perform(o->multi, &running);
		done = collect(o);
		if (done || more || ms - last_round >= ROUND_MS ||
		    __atomic_exchange_n(&o->woken, 0, __ATOMIC_RELAXED)) {
			int64_t now = (int64_t)time(NULL);

			more = outbox__expand(&o->site, now);
			if (now != last_sweep) {
				int prune = now - last_prune >= 60;

				outbox__sweep(o->db, now, prune);
				if (prune)
					last_prune = now;
				last_sweep = now;
			}
			started += start_due(o, now);
			last_round = ms;
		}
		/* transfers just started are driven at the top at once
		 * (a perform here could finish some out of the poll's
		 * sight); otherwise wait for a socket, a wake or a round */
		if (!started && !done && !more)
			curl_multi_poll(o->multi, NULL, 0, ROUND_MS, NULL);
	}
	return NULL;
}

/* ---- start and stop ----------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int outbox_start(struct node *n, char *err, size_t errlen)
{
	struct outbox *o = calloc(1, sizeof(*o));
	const struct node_config *c = &n->cfg;

	if (!o) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	n->outbox = o;
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	o->to_seal_end = &o->to_seal;
	o->community = strdup(c->community);
	o->name = strdup(c->name ? c->name : c->community);
	o->sms_url = dup_or_null(c->sms_url);
	o->sms_secret = dup_or_null(c->sms_secret);
	o->ca = dup_or_null(c->outbox_ca);
	o->in_flight = c->outbox_in_flight;
	o->timeout_s = c->outbox_timeout_s;
	o->retry_min_s = c->outbox_retry_min_s;
	o->retry_max_s = c->outbox_retry_max_s;
	if (!o->community || !o->name) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	if (c->push_key) {
		/* made at the first start, 0600, like the node's other keys */
		if (webpush_vapid_load(c->push_key, 1, &o->vapid, err, errlen)
		    != ERR_OK)
			return ERR_INVALID;
		if (webpush_public_b64(o->vapid, o->push_key) != ERR_OK) {
			snprintf(err, errlen, "%s: no public key", c->push_key);
			return ERR_INVALID;
		}
		o->push_subject = strdup(c->push_subject);
		if (!o->push_subject) {
			snprintf(err, errlen, "out of memory");
			return ERR_NOMEM;
		}
	}
	if (node_store_connect_outbox(c->store_path, &o->db, err,
				      errlen) != ERR_OK)
		return ERR_IO;
	if (sqlite3_prepare_v3(o->db, "UPDATE outbox SET state = 'sending', "
			       "attempts = attempts + 1 WHERE id = ?1", -1,
			       SQLITE_PREPARE_PERSISTENT, &o->st_mark, NULL)
	    != SQLITE_OK ||
	    sqlite3_prepare_v3(o->db, "UPDATE outbox SET state = 'sent', done "
			       "= ?2, last_error = '' WHERE id = ?1", -1,
			       SQLITE_PREPARE_PERSISTENT, &o->st_sent, NULL)
	    != SQLITE_OK) {
		snprintf(err, errlen, "outbox: %s", sqlite3_errmsg(o->db));
		return ERR_IO;
	}
	o->site = (struct outbox_site){ o->db, o->community, o->name };
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    !(o->multi = curl_multi_init())) {
		snprintf(err, errlen, "cannot start libcurl");
		return ERR_FAIL;
	}
	curl_multi_setopt(o->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)HOST_CONNECTIONS);
	curl_multi_setopt(o->multi, CURLMOPT_MAXCONNECTS,
			  (long)LIMIT_OUTBOX_INFLIGHT);
	if (o->vapid) {
		if (pthread_create(&o->sealer, NULL, sealer_main, o) != 0) {
			snprintf(err, errlen, "cannot start the outbox's sealing "
				 "thread");
			return ERR_FAIL;
		}
		o->sealer_started = 1;
	}
	if (pthread_create(&o->thread, NULL, sender_main, o) != 0) {
		snprintf(err, errlen, "cannot start the outbox thread");
		return ERR_FAIL;
	}
	o->started = 1;
	log_info("outbox: sending, at most %u in flight per endpoint%s",
		 o->in_flight, o->sms_url ? ", SMS through the gateway" : "");
	return ERR_OK;
}

void outbox_stop(struct node *n)
{
	struct outbox *o = n->outbox;

	if (!o)
		return;
	__atomic_store_n(&o->stopping, 1, __ATOMIC_RELAXED);
	if (o->multi)
		curl_multi_wakeup(o->multi);
	if (o->started)
		pthread_join(o->thread, NULL);
	pthread_mutex_lock(&o->mu);
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	if (o->sealer_started)
		pthread_join(o->sealer, NULL);
	for (unsigned i = 0; i < LIMIT_OUTBOX_INFLIGHT; i++)
		if (o->t[i].used)
			slot_free(o, &o->t[i]);
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	if (o->multi) {
		curl_multi_cleanup(o->multi);
		curl_global_cleanup();
	}
	sqlite3_finalize(o->st_mark);
	sqlite3_finalize(o->st_sent);
	store_close(&o->db);
	webpush_vapid_cache_clear(&o->tokens);
	free(o->community);
	free(o->name);
	free(o->sms_url);
	if (o->sms_secret) {
		OPENSSL_cleanse(o->sms_secret, strlen(o->sms_secret));
		free(o->sms_secret);
	}
	free(o->ca);
	EVP_PKEY_free(o->vapid);
	free(o->push_subject);
	free(o);
	n->outbox = NULL;
}

const char *outbox_push_key(struct node *n)
{
	return n->outbox && n->outbox->vapid ? n->outbox->push_key : NULL;
}

void outbox_wake(struct node *n)
{
	if (n->outbox && n->outbox->multi) {
		__atomic_store_n(&n->outbox->woken, 1, __ATOMIC_RELAXED);
		curl_multi_wakeup(n->outbox->multi);
	}
}

/* ---- metrics ----------------------------------------------------------------------- */

void outbox_metrics(struct node *n, FILE *f)
{
	struct outbox *o = n->outbox;
	static const char *const heads[][2] = {
		{ "alliance_node_outbox_sent_total", "Messages delivered "
		  "(a 2xx answer) since start, by channel." },
		{ "alliance_node_outbox_failed_total", "Tries that failed "
		  "(retried later or dead) since start, by channel." },
		{ "alliance_node_outbox_dead_total", "Messages given up since "
		  "start, by channel (the console lists them)." },
	};

	if (!o)
		return;
	for (size_t h = 0; h < 3; h++) {
		const uint64_t *v = h == 0 ? o->sent : h == 1 ? o->failed
							       : o->dead;

		prom_head(f, heads[h][0], "counter", heads[h][1]);
		for (size_t i = 0; i < OUTBOX_CHANNELS; i++)
			fprintf(f, "%s{channel=\"%s\"} %llu\n", heads[h][0],
				outbox__channel_name((int)i),
				(unsigned long long)__atomic_load_n(
					&v[i], __ATOMIC_RELAXED));
	}
	prom_head(f, "alliance_node_outbox_pending", "gauge", "Messages "
		  "waiting to be delivered (pending, in flight or to be "
		  "retried), by channel.");
	for (size_t i = 0; i < OUTBOX_CHANNELS; i++) {
		sqlite3_stmt *st = NULL;
		long long v = 0;

		if (sqlite3_prepare_v2(n->db, "SELECT count(*) FROM outbox "
				       "WHERE channel = ?1 AND state IN "
				       "('pending', 'sending', 'failed')", -1,
				       &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, outbox__channel_name((int)i),
					  -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				v = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		fprintf(f, "alliance_node_outbox_pending{channel=\"%s\"} "
			"%lld\n", outbox__channel_name((int)i), v);
	}
}
