/* webhook.c: signed JSON posts to a webhook on a thread of their own
 * (webhook.h has the signature and the receiver's checks).
 *
 * The caller's thread only queues a copy; the sender's thread takes the oldest message, signs it with the time of each try
 * (a receiver refusing stale timestamps then accepts a late retry) and
 * posts it with a libcurl easy handle it keeps for the connection. A
 * 2xx answer ends the message; anything else is tried again after
 * LIMIT_WEBHOOK_RETRY_S, doubling, LIMIT_WEBHOOK_TRIES times in all, and
 * the pause, like a try under way, ends early when the sender stops.
 *
 * Parts: signing; urls; the queue; one post; the thread; start and
 * stop. */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "err.h"
#include "alliance_limits.h"
#include "log.h"
#include "webhook.h"

/* ---- signing ------------------------------------------------------------- */

/* hmac_hex: lowercase hex of HMAC-SHA256(secret, ts "." body) into
 * out (65 bytes). ERR_OK or ERR_FAIL. */
static int hmac_hex(const char *secret, int64_t ts, const char *body,
		    size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;
	char prefix[24], digest[] = "SHA256";
	int plen = snprintf(prefix, sizeof(prefix), "%lld.", (long long)ts);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest,
						 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
	int ok;

	ok = c && plen > 0 &&
	     EVP_MAC_init(c, (const unsigned char *)secret, strlen(secret),
			  params) == 1 &&
	     EVP_MAC_update(c, (const unsigned char *)prefix,
			    (size_t)plen) == 1 &&
	     EVP_MAC_update(c, (const unsigned char *)body, len) == 1 &&
	     EVP_MAC_final(c, mac, &maclen, sizeof(mac)) == 1 && maclen == 32;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(m);
	if (!ok)
		return ERR_FAIL;
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[64] = '\0';
	return ERR_OK;
}

int webhook_sign(const char *secret, int64_t ts, const char *body,
		 size_t len, char out[WEBHOOK_SIGNATURE_LEN])
{
	char h[65];

	if (hmac_hex(secret, ts, body, len, h) != ERR_OK)
		return ERR_FAIL;
	snprintf(out, WEBHOOK_SIGNATURE_LEN, "t=%lld,v1=%s", (long long)ts, h);
	return ERR_OK;
}

int webhook_verify(const char *secret, const char *header, const char *body,
		   size_t len, int64_t now, int64_t tolerance_s)
{
	char want[65];
	const char *v1;
	char *end;
	long long ts;

	if (!header || strncmp(header, "t=", 2) != 0)
		return ERR_INVALID;
	errno = 0;
	ts = strtoll(header + 2, &end, 10);
	if (errno || end == header + 2 || strncmp(end, ",v1=", 4) != 0)
		return ERR_INVALID;
	v1 = end + 4;
	if (strlen(v1) != 64 || ts > now + tolerance_s ||
	    ts < now - tolerance_s ||
	    hmac_hex(secret, ts, body, len, want) != ERR_OK)
		return ERR_INVALID;
	return CRYPTO_memcmp(want, v1, 64) == 0 ? ERR_OK : ERR_INVALID;
}

struct curl_slist *webhook_headers(const char *secret, const char *key,
				   const char *body, size_t len, int64_t ts)
{
	char sig[WEBHOOK_SIGNATURE_LEN], h_sig[128], h_key[96];
	struct curl_slist *hs = NULL, *t;

	if (webhook_sign(secret, ts, body, len, sig) != ERR_OK)
		return NULL;
	snprintf(h_sig, sizeof(h_sig), "X-Alliance-Signature: %s", sig);
	snprintf(h_key, sizeof(h_key), "Idempotency-Key: %s", key);
	const char *lines[] = { "Content-Type: application/json", h_sig,
				h_key, "Expect:" };
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		t = curl_slist_append(hs, lines[i]);
		if (!t) {
			curl_slist_free_all(hs);
			return NULL;
		}
		hs = t;
	}
	return hs;
}

char *webhook_envelope(const char *key, const char *kind,
		       const char *community, int64_t created,
		       json_t *payload)
{
	char t[CLOCK_RFC3339_LEN];
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", key, "kind",
			      kind, "community", community, "created",
			      clock_rfc3339(created, t, sizeof(t)), "payload",
			      payload);
	char *out = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return out;
}

unsigned webhook_backoff_s(unsigned attempt, unsigned min_s, unsigned max_s,
			   uint32_t r)
{
	uint64_t d = min_s ? min_s : 1;

	for (unsigned i = 1; i < attempt && d < max_s; i++)
		d *= 2;
	if (d > max_s)
		d = max_s;
	d = d / 2 + r % (d / 2 + 1);
	return d ? (unsigned)d : 1;
}

/* ---- urls ------------------------------------------------------------------ */

const char *webhook_url_valid(const char *url)
{
	const char *host;

	if (!url)
		return "required";
	if (strlen(url) > LIMIT_CONFIG_VALUE)
		return "too long";
	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return "must start with https:// (or http:// for a gateway on "
		       "a private network)";
	if (!*host || *host == '/' || *host == ':')
		return "names no host";
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return "must not hold spaces, control or non-ASCII "
			       "characters";
	return NULL;
}

const char *webhook_url_https(const char *url, size_t max)
{
	const char *why = webhook_url_valid(url);

	if (why)
		return why;
	if (strncmp(url, "https://", 8) != 0)
		return "must start with https://";
	if (strlen(url) > max)
		return "too long";
	return NULL;
}

/* ---- the queue ----------------------------------------------------------- */

struct message {
	struct message *next;
	char key[WEBHOOK_KEY_MAX + 1];
	char *body;                 /* owned; cleansed when freed */
	size_t len;
};

struct webhook {
	char *url;                  /* owned */
	char *secret;               /* owned; cleansed when freed */
	pthread_t thread;
	int started;                /* thread was created */
	pthread_mutex_t mu;         /* guards the queue and stopping */
	pthread_cond_t cv;          /* a message came, or stopping */
	int stopping;               /* also read by a try under way */
	struct message *head, *tail;
	size_t queued;
	CURL *curl;                 /* the thread's handle */
};

static void message_free(struct message *m)
{
	if (!m)
		return;
	OPENSSL_cleanse(m->body, m->len);
	free(m->body);
	free(m);
}

int webhook_send(struct webhook *w, const char *key, const char *body,
		 size_t len)
{
	struct message *m;
	size_t klen = strlen(key);
	int rc = ERR_OK;

	if (!klen || klen > WEBHOOK_KEY_MAX || len > LIMIT_WEBHOOK_BODY)
		return ERR_INVALID;
	for (size_t i = 0; i < klen; i++)
		if (key[i] <= ' ' || key[i] >= 0x7f)
			return ERR_INVALID;
	m = calloc(1, sizeof(*m));
	if (!m || !(m->body = malloc(len + 1))) {
		free(m);
		return ERR_NOMEM;
	}
	memcpy(m->body, body, len);
	m->body[len] = '\0';
	m->len = len;
	memcpy(m->key, key, klen + 1);
	pthread_mutex_lock(&w->mu);
	if (w->stopping || w->queued >= LIMIT_WEBHOOK_QUEUE) {
		rc = ERR_AGAIN;
	} else {
		if (w->tail)
			w->tail->next = m;
		else
			w->head = m;
		w->tail = m;
		w->queued++;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	if (rc != ERR_OK)
		message_free(m);
	return rc;
}

/* ---- one post ------------------------------------------------------------- */

/* discard: the answer's body is not read. */
static size_t discard(char *p, size_t size, size_t n, void *user)
{
	(void)p;
	(void)user;
	return size * n;
}

/* abort_when_stopping: libcurl's progress callback: a try under way ends
 * as soon as the sender stops (so a node's shutdown never waits out a
 * slow gateway). */
static int abort_when_stopping(void *user, curl_off_t dt, curl_off_t dn,
			       curl_off_t ut, curl_off_t un)
{
	struct webhook *w = user;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return __atomic_load_n(&w->stopping, __ATOMIC_RELAXED);
}

/* post_once: one try of m; the HTTP status (0 when none came) and, on a
 * transport failure, curl's reason in why. */
static long post_once(struct webhook *w, const struct message *m, char *why,
		      size_t whylen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hs;
	long status = 0;
	CURLcode rc;

	hs = webhook_headers(w->secret, m->key, m->body, m->len,
			     (int64_t)time(NULL));
	if (!hs) {
		snprintf(why, whylen, "cannot sign");
		return 0;
	}
	curl_easy_reset(w->curl);
	curl_easy_setopt(w->curl, CURLOPT_URL, w->url);
	curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT, (long)LIMIT_WEBHOOK_TIMEOUT_S);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, m->body);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)m->len);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(w->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(w->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFOFUNCTION, abort_when_stopping);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFODATA, w);
	rc = curl_easy_perform(w->curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(why, whylen, "%s", errbuf[0] ? errbuf
						      : curl_easy_strerror(rc));
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hs);
	return status;
}

/* ---- the thread ------------------------------------------------------------ */

/* pause_for: wait s seconds or until stopping; 1 when stopping. */
static int pause_for(struct webhook *w, unsigned s)
{
	struct timespec until;
	int stop;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += s;
	pthread_mutex_lock(&w->mu);
	while (!w->stopping &&
	       pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
		;
	stop = w->stopping;
	pthread_mutex_unlock(&w->mu);
	return stop;
}

/* deliver: post m until a 2xx or LIMIT_WEBHOOK_TRIES tries. */
static void deliver(struct webhook *w, const struct message *m)
{
	unsigned pause = LIMIT_WEBHOOK_RETRY_S;
	char why[CURL_ERROR_SIZE + 32];

	for (int tri = 1; tri <= LIMIT_WEBHOOK_TRIES; tri++) {
		long status;

		why[0] = '\0';
		status = post_once(w, m, why, sizeof(why));
		if (status >= 200 && status < 300) {
			log_info("webhook: message %s delivered (HTTP %ld, "
				 "try %d)", m->key, status, tri);
			return;
		}
		if (status)
			snprintf(why, sizeof(why), "HTTP %ld", status);
		log_warn("webhook: message %s, try %d of %d: %s", m->key, tri,
			 LIMIT_WEBHOOK_TRIES, why);
		if (tri == LIMIT_WEBHOOK_TRIES || pause_for(w, pause))
			break;
		pause *= 2;
	}
	log_error("webhook: message %s was not delivered", m->key);
}

static void *sender_main(void *arg)
{
	struct webhook *w = arg;

	for (;;) {
		struct message *m;

		pthread_mutex_lock(&w->mu);
		while (!w->stopping && !w->head)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stopping) {
			pthread_mutex_unlock(&w->mu);
			return NULL;
		}
		m = w->head;
		w->head = m->next;
		if (!w->head)
			w->tail = NULL;
		w->queued--;
		pthread_mutex_unlock(&w->mu);
		deliver(w, m);
		message_free(m);
	}
}

/* ---- start and stop ---------------------------------------------------------- */

int webhook_start(struct webhook **out, const char *url, const char *secret)
{
	struct webhook *w;
	pthread_condattr_t ca;
	size_t slen = secret ? strlen(secret) : 0;

	*out = NULL;
	if (webhook_url_valid(url) || slen < LIMIT_WEBHOOK_SECRET_MIN ||
	    slen > LIMIT_WEBHOOK_SECRET_MAX)
		return ERR_INVALID;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return ERR_FAIL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		curl_global_cleanup();
		return ERR_NOMEM;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->url = strdup(url);
	w->secret = strdup(secret);
	w->curl = curl_easy_init();
	if (!w->url || !w->secret || !w->curl)
		goto err;
	if (pthread_create(&w->thread, NULL, sender_main, w) != 0)
		goto err;
	w->started = 1;
	*out = w;
	return ERR_OK;
err:
	webhook_stop(&w);
	return ERR_NOMEM;
}

void webhook_stop(struct webhook **wp)
{
	struct webhook *w = *wp;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	__atomic_store_n(&w->stopping, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->started)
		pthread_join(w->thread, NULL);
	while (w->head) {
		struct message *m = w->head;

		w->head = m->next;
		message_free(m);
	}
	if (w->curl)
		curl_easy_cleanup(w->curl);
	curl_global_cleanup();
	if (w->secret) {
		OPENSSL_cleanse(w->secret, strlen(w->secret));
		free(w->secret);
	}
	free(w->url);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	*wp = NULL;
}
