/* hub_link.c: the node's session to the hub over alliance.v1.
 *
 * Owns the client vhost (our certificate, the alliance CA, no OS CAs), the
 * one connection to the hub, its reconnect timer with exponential backoff
 * and jitter, and the handshake (Hello -> Welcome). The timer, the retry
 * counter and the session's state live in struct node, because lws frees
 * the per-session data when the connection closes.
 *
 * The hub may have several URLs (replicas, [hub] urls): a node whose hub
 * is gone (unreachable, TLS refused, the session lost) dials the next URL
 * at once, and waits out the backoff only once every URL has failed in a
 * round (or a hub refused it: another would too). The cursors are the
 * store's, so a session at another URL resumes where the last one ended.
 *
 * A session lost because the store could not be written (a full disk)
 * is followed by a wait for the store to take writes, not by a dial.
 *
 * The endpoint itself (receiving, the send queue, closing, keepalive, the
 * up stream's window) is a link (lib/link.h), as at the hub.
 *
 * Parts: backoff; TLS files and the client vhost; the hub URLs; dialling
 * and losing the session; sending frames and the keepalive timer;
 * receiving frames (the handler table by body); the lws callback; start,
 * reload and stop. */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "err.h"
#include "log.h"
#include "node.h"
#include "store.h"
#include "tlspolicy.h"
#include "trust.h"

/* lws keeps a pointer to the vhost name: it must outlive the vhost. */
static const char hub_vhost_name[] = "hub-link";
/* Receive buffers bigger than this are freed between messages. */
#define HUB_RX_KEEP 65536

/* Per-session data (lws allocates it zeroed and frees it on close). */
struct hub_session {
	struct link link;           /* the endpoint (lib/link.h; owned) */
};

static void hub_link__connect(struct node *n);
static void retry_cb(lws_sorted_usec_list_t *sul);
static void store_wait_cb(lws_sorted_usec_list_t *sul);

/* ---- backoff ------------------------------------------------------------ */

/* backoff_init: the delay table 1 s, 2 s, 4 s ... up to the cap ([hub]
 * backoff_max_s) into n->hub_policy; lws's validity checks stay off (the
 * link's keepalive pings and drops: keepalive_cb). */
static void backoff_init(struct node *n)
{
	uint32_t ms = LIMIT_BACKOFF_FIRST_MS, max = n->cfg.backoff_max_s * 1000;
	uint16_t count = 0;

	while (count < NODE_BACKOFF_STEPS) {
		n->hub_backoff_ms[count++] = ms < max ? ms : max;
		if (ms >= max)
			break;
		ms *= 2;
	}
	n->hub_policy.retry_ms_table = n->hub_backoff_ms;
	n->hub_policy.retry_ms_table_count = count;
	n->hub_policy.conceal_count = LWS_RETRY_CONCEAL_ALWAYS;
	n->hub_policy.secs_since_valid_ping = 0;
	n->hub_policy.secs_since_valid_hangup = 0;
	n->hub_policy.jitter_percent = LIMIT_BACKOFF_JITTER_PCT;
}

/* backoff_next: the next delay in ms, counting the attempt in *count. lws
 * adds 0 to jitter_percent on top of the table's value; beyond the cap the
 * jitter is taken below it instead, so no delay is over [hub] backoff_max_s
 * and nodes that failed together still spread out. */
static unsigned backoff_next(struct node *n, uint16_t *count)
{
	unsigned max = n->cfg.backoff_max_s * 1000;
	unsigned ms = lws_retry_get_delay_ms(n->lws, &n->hub_policy, count,
					     NULL);

	if (ms > max)
		ms = 2 * max > ms ? 2 * max - ms : max;
	return ms;
}

/* ---- TLS files and the client vhost ------------------------------------ */

static int digest_file(EVP_MD_CTX *md, const char *path)
{
	unsigned char buf[4096];
	size_t got;
	FILE *f = fopen(path, "rb");

	if (!f)
		return ERR_IO;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(md, buf, got);
	got = (size_t)ferror(f);
	fclose(f);
	return got ? ERR_IO : ERR_OK;
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unreadable";
}

int hub_link__check_tls(const struct node_config *cfg, unsigned char digest[32],
			char *err, size_t errlen)
{
	SSL_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	const char *const paths[] = { cfg->hub_cert, cfg->hub_key, cfg->hub_ca };
	const char *const keys[] = { "cert", "key", "ca" };
	struct trust cas;
	char why[512];
	int rc = ERR_INVALID;

	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	md = EVP_MD_CTX_new();
	if (!ctx || !md) {
		snprintf(err, errlen, "[hub]: out of memory loading TLS files");
		rc = ERR_NOMEM;
		goto err;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->hub_cert) != 1) {
		snprintf(err, errlen, "[hub] cert: %s: %s", cfg->hub_cert,
			 ssl_reason());
		goto err;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->hub_key,
					SSL_FILETYPE_PEM) != 1) {
		snprintf(err, errlen, "[hub] key: %s: %s", cfg->hub_key,
			 ssl_reason());
		goto err;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "[hub] key: %s does not match [hub] "
			 "cert %s", cfg->hub_key, cfg->hub_cert);
		goto err;
	}
	if (SSL_CTX_load_verify_locations(ctx, cfg->hub_ca, NULL) != 1) {
		snprintf(err, errlen, "[hub] ca: %s: %s", cfg->hub_ca,
			 ssl_reason());
		goto err;
	}
	/* a bundle of CAs only (two while the alliance changes CA) */
	rc = trust_load_cas(&cas, cfg->hub_ca, why, sizeof(why));
	trust_free(&cas);
	if (rc != ERR_OK) {
		snprintf(err, errlen, "[hub] ca: %s", why);
		goto err;
	}
	rc = ERR_INVALID;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < 3; i++) {
		if (digest_file(md, paths[i]) != ERR_OK) {
			snprintf(err, errlen, "[hub] %s: %s: %s", keys[i],
				 paths[i], strerror(errno));
			rc = ERR_IO;
			goto err;
		}
		EVP_DigestUpdate(md, "", 1); /* a separator between files */
	}
	EVP_DigestFinal_ex(md, digest, NULL);
	rc = ERR_OK;
err:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	SSL_CTX_free(ctx);
	return rc;
}

static int callback_hub(struct lws *wsi, enum lws_callback_reasons reason,
			void *user, void *in, size_t len);

/* tx_packet_size as the hub's (lib/alliance_limits.h): without it lws cuts every
 * write at its rx buffer (4 KiB here), so a batch of the up stream left
 * 4 KiB a poll pass. */
static const struct lws_protocols hub_link_protocols[] = {
	{ WIRE_SUBPROTOCOL, callback_hub, sizeof(struct hub_session), 0, 0,
	  NULL, LIMIT_SYNC_TX_PACKET },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void rebuild_cb(lws_sorted_usec_list_t *sul);

/* vhost_finalized: lws has freed the old client vhost and with it the
 * SSL_CTX it shared by path; a new one may now read the files afresh. */
static void vhost_finalized(struct lws_vhost *vh, void *arg)
{
	struct node *n = arg;

	(void)vh;
	if (n->stopping || !n->hub_vhost_dying)
		return;
	lws_sul_schedule(n->lws, 0, &n->hub_sul, rebuild_cb, 1);
}

/* vhost_create: the client vhost with [hub] cert, key and CA. lws shares a
 * client SSL_CTX between vhosts whose file paths hash the same, so the old
 * vhost must be gone before a new one reads changed files (vhost_finalized).
 * Returns ERR_OK or ERR_FAIL. */
static int vhost_create(struct node *n)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	info.vhost_name = hub_vhost_name;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = hub_link_protocols;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
		       LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	info.client_ssl_cert_filepath = n->cfg.hub_cert;
	info.client_ssl_private_key_filepath = n->cfg.hub_key;
	info.client_ssl_ca_filepath = n->cfg.hub_ca;
	tlspolicy_client(&info);
	info.retry_and_idle_policy = &n->hub_policy;
	info.finalize = vhost_finalized;
	info.finalize_arg = n;
	n->hub_vhost = lws_create_vhost(n->lws, &info);
	if (!n->hub_vhost) {
		log_error("cannot make the client vhost with %s and %s",
			  n->cfg.hub_cert, n->cfg.hub_key);
		snprintf(n->hub_last_error, sizeof(n->hub_last_error),
			 "cannot load [hub] cert, key or ca");
		return ERR_FAIL;
	}
	return ERR_OK;
}

/* rebuild_cb: a step of remaking the vhost after SIGHUP, on the timer:
 * first destroy the old vhost (its finalize comes back here), then make
 * the new one and dial. */
static void rebuild_cb(lws_sorted_usec_list_t *sul)
{
	struct node *n = lws_container_of(sul, struct node, hub_sul);
	struct lws_vhost *old = n->hub_vhost;

	if (n->stopping)
		return;
	if (old) {
		n->hub_vhost = NULL;
		n->hub_vhost_dying = 1;
		lws_vhost_destroy(old);  /* finalize may run right here */
		return;
	}
	n->hub_vhost_dying = 0;
	n->hub_rebuild = 0;
	if (vhost_create(n) != ERR_OK)
		return;  /* the next SIGHUP tries again */
	log_info("client certificate (re)loaded from %s", n->cfg.hub_cert);
	hub_link__connect(n);
}

/* ---- the hub URLs ------------------------------------------------------ */

const struct hub_url *hub_link__url(const struct node *n)
{
	return &n->cfg.hubs[n->hub_at < n->cfg.n_hubs ? n->hub_at : 0];
}

/* dialable: how many of the hub URLs have an address to dial. */
static size_t dialable(const struct node *n)
{
	size_t k = 0;

	for (size_t i = 0; i < n->cfg.n_hubs; i++)
		k += n->hub_ips[i][0] != '\0';
	return k;
}

/* next_url: move hub_at to the next URL with an address, in the order of
 * the list and round again (to itself when it is the only one). */
static void next_url(struct node *n)
{
	for (size_t k = 1; k <= n->cfg.n_hubs; k++) {
		size_t i = (n->hub_at + k) % n->cfg.n_hubs;

		if (n->hub_ips[i][0]) {
			n->hub_at = i;
			return;
		}
	}
}

/* resolve_one: the address to dial for u into ip (INET6_ADDRSTRLEN
 * bytes): its IP as given, or its host resolved (the first address).
 * On failure ip is "" and hub_last_error says why. */
static void resolve_one(struct node *n, const struct hub_url *u, char *ip)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	if (u->address[0]) {
		snprintf(ip, INET6_ADDRSTRLEN, "%s", u->address);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(u->host, NULL, &hints, &res);
	if (rc || !res) {
		ip[0] = '\0';
		snprintf(n->hub_last_error, sizeof(n->hub_last_error),
			 "cannot resolve %s: %s", u->host,
			 rc ? gai_strerror(rc) : "no address");
		log_error("%s; set [hub] address (or an IP in [hub] urls), "
			  "or fix DNS and send SIGHUP", n->hub_last_error);
		if (res)
			freeaddrinfo(res);
		return;
	}
	if (res->ai_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr,
			  ip, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET,
			  &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr,
			  ip, INET6_ADDRSTRLEN);
	freeaddrinfo(res);
	log_info("hub %s resolved to %s", u->host, ip);
}

int hub_link__resolve(struct node *n)
{
	for (size_t i = 0; i < LIMIT_HUB_URLS; i++)
		if (i < n->cfg.n_hubs)
			resolve_one(n, &n->cfg.hubs[i], n->hub_ips[i]);
		else
			n->hub_ips[i][0] = '\0';
	if (n->hub_at >= n->cfg.n_hubs)
		n->hub_at = 0;
	if (!dialable(n))
		return ERR_NOTFOUND;
	if (!n->hub_ips[n->hub_at][0])
		next_url(n);
	return ERR_OK;
}

/* hub_gone: whether a session that ended with the hub's close code
 * (0: none, the connection failed or dropped) says its hub is gone:
 * unreachable, refused by TLS, dropped, going away, restarting or busy
 * (1001, 1005, 1006, 1011 to 1013). Then the next URL is dialled at
 * once. A close for a cause any replica would share (the protocol, our
 * certificate or frames, a flood of sessions, a newer session: 1002 to
 * 1010, 4000 to 4999) is an answer, met with the backoff. */
static int hub_gone(int code)
{
	return !((code >= 1002 && code <= 1010 && code != 1005 &&
		  code != 1006) || (code >= 4000 && code <= 4999));
}

/* ---- dialling and losing the session ----------------------------------- */

/* store_wait: the session ended because the store could not be written
 * (a full disk, an I/O error): dialling again at once would only fetch
 * the same batch and fail again, tripping the hub's flood limit. Probe
 * the store after a backoff of its own (not reset by a Welcome, only by
 * a batch stored) and dial when the probe's write succeeds and the store
 * passes its quick check. */
static void store_wait(struct node *n)
{
	unsigned ms = backoff_next(n, &n->hub_store_retries);

	log_warn("hub session: waiting for the store to take writes (%s); "
		 "trying again in %.1f s", n->hub_last_error, ms / 1000.0);
	lws_sul_schedule(n->lws, 0, &n->hub_sul, store_wait_cb,
			 (lws_usec_t)ms * LWS_US_PER_MS);
}

static void store_wait_cb(lws_sorted_usec_list_t *sul)
{
	struct node *n = lws_container_of(sul, struct node, hub_sul);
	char why[512];

	if (n->stopping)
		return;
	if (node_store_probe(n) != ERR_OK) {
		store_wait(n);
		return;
	}
	/* after a storage fault, the store is checked before it syncs */
	if (store_check(n->db, n->cfg.store_path, 0, why, sizeof(why)) !=
	    ERR_OK) {
		log_error("the store is damaged: %s. The way back: %s", why,
			  NODE_STORE_WAY_BACK);
		store_wait(n);
		return;
	}
	log_info("store takes writes again and is sound: dialling the hub");
	n->hub_store_full = 0;
	hub_link__connect(n);
}

/* hub_link__lost: the connection failed or closed for reason. Records it
 * and dials the next hub URL at once when the hub is gone and not every
 * URL has failed in this round; otherwise schedules the next attempt
 * after the backoff delay; or the vhost rebuild a reload asked for. Does
 * nothing when already idle (lws may report one failure twice). */
static void hub_link__lost(struct node *n, const char *reason)
{
	enum hub_state was = n->hub_state;
	int gone = hub_gone(n->hub_close_code);
	const struct hub_url *from = hub_link__url(n);
	unsigned ms;

	if (was == HUB_IDLE)
		return;
	/* a session that held LIMIT_BACKOFF_HEALTHY_S after Welcome was
	 * healthy: the backoff and the round start over; one dropped sooner
	 * does not reset them, so hubs that welcome and fall at once are
	 * not hammered */
	if (was == HUB_CONNECTED && lws_now_usecs() - n->hub_welcomed_us >=
	    (lws_usec_t)LIMIT_BACKOFF_HEALTHY_S * LWS_US_PER_SEC) {
		n->hub_retries = 0;
		n->hub_round_failed = 0;
	}
	n->hub_state = HUB_IDLE;
	n->hub_wsi = NULL;
	n->hub_since = 0;
	if (!n->hub_local_close)
		snprintf(n->hub_last_error, sizeof(n->hub_last_error), "%s",
			 reason);
	n->hub_local_close = 0;
	n->hub_close_code = 0;
	n->hub_close_reason[0] = '\0';
	if (n->stopping)
		return;
	if (n->hub_rebuild) {
		lws_sul_schedule(n->lws, 0, &n->hub_sul, rebuild_cb, 1);
		return;
	}
	if (n->hub_store_full) {
		store_wait(n);
		return;
	}
	n->hub_round_failed++;
	next_url(n);
	if (gone && n->hub_round_failed < dialable(n)) {
		n->hub_failovers++;
		log_warn("%s %s (%s); trying %s at once",
			 was == HUB_CONNECTING ? "hub unreachable at"
					       : "session lost with hub",
			 from->url, n->hub_last_error, hub_link__url(n)->url);
		lws_sul_schedule(n->lws, 0, &n->hub_sul, retry_cb, 1);
		return;
	}
	n->hub_round_failed = 0;
	n->hub_backoff_waits++;
	ms = backoff_next(n, &n->hub_retries);
	log_info("%s (%s); retry in %.1f s at %s%s",
		 was == HUB_CONNECTING ? "hub unreachable"
				       : "session with hub lost",
		 n->hub_last_error, ms / 1000.0, hub_link__url(n)->url,
		 n->cfg.n_hubs < 2 ? "" : gone ? " (every hub URL failed in "
		 "this round)" : " (the hub refused: another would too)");
	lws_sul_schedule(n->lws, 0, &n->hub_sul, retry_cb,
			 (lws_usec_t)ms * LWS_US_PER_MS);
}

static void retry_cb(lws_sorted_usec_list_t *sul)
{
	hub_link__connect(lws_container_of(sul, struct node, hub_sul));
}

/* hub_link__connect: dial the hub on the client vhost. A failure to start
 * goes through hub_link__lost like any other. */
static void hub_link__connect(struct node *n)
{
	struct lws_client_connect_info ci;
	const struct hub_url *u;
	const char *ip;
	struct lws *wsi;

	if (n->stopping || !n->hub_vhost || n->hub_state != HUB_IDLE)
		return;
	if (!n->hub_ips[n->hub_at][0])
		next_url(n);
	ip = n->hub_ips[n->hub_at];
	if (!ip[0])
		return;  /* none resolved: hub_link__resolve said why */
	u = hub_link__url(n);
	memset(&ci, 0, sizeof(ci));
	ci.context = n->lws;
	ci.vhost = n->hub_vhost;
	ci.address = ip;
	ci.port = u->port;
	ci.host = u->host;   /* SNI and the certificate name check */
	ci.origin = u->host;
	ci.path = WIRE_SYNC_PATH;
	ci.protocol = WIRE_SUBPROTOCOL;
	ci.local_protocol_name = WIRE_SUBPROTOCOL;
	ci.ssl_connection = LCCSCF_USE_SSL;
	ci.retry_and_idle_policy = &n->hub_policy;
	n->hub_state = HUB_CONNECTING;
	log_info("dialling hub %s (%s:%d)", u->url, ip, u->port);
	wsi = lws_client_connect_via_info(&ci);
	if (n->hub_state != HUB_CONNECTING)
		return;  /* failed inside, already handled */
	if (!wsi) {
		hub_link__lost(n, "cannot start a connection");
		return;
	}
	n->hub_wsi = wsi;
}

/* ---- sending frames ------------------------------------------------------- */

/* note_close: we close the session with code and reason: say so, and keep
 * it as the last error (/healthz); what still arrives is dropped. */
static void note_close(struct node *n, int code, const char *reason)
{
	log_msg(code == WIRE_CLOSE_GOING_AWAY ? LOG_INFO : LOG_WARN,
		"closing the session with hub %s: %d %s", hub_link__url(n)->url,
		code, reason);
	snprintf(n->hub_last_error, sizeof(n->hub_last_error),
		 "closed by node: %d %s", code, reason);
	n->hub_local_close = 1;
}

/* link_refused: the link closes the session on its own (lib/link.h). */
static void link_refused(struct link *l, enum link_cause cause)
{
	struct node *n = l->owner;

	if (cause == LINK_UNSENT) {
		n->frames_unsent++;
		log_error("hub %s: cannot send a %s frame: %s",
			  hub_link__url(n)->url, l->unsent_body,
			  err_name(l->unsent_rc));
	}
	note_close(n, l->close_code, l->close_reason);
}

/* session_abort: close the session from our side with code and a reason
 * (link_close: from WRITEABLE, since a callback returning -1 while TLS
 * holds unread bytes makes lws 4.1 spin; a hub that never lets us write
 * is dropped after drop_s). Returns 0 for the callback to return. */
static int session_abort(struct node *n, struct lws *wsi, int code,
			 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int session_abort(struct node *n, struct lws *wsi, int code,
			 const char *fmt, ...)
{
	struct hub_session *s = lws_wsi_user(wsi);
	char reason[sizeof(s->link.close_reason)];
	va_list ap;

	if (s->link.closing)
		return 0;  /* already closing */
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	note_close(n, code, reason);
	link_close(&s->link, code, 0, reason);
	return 0;
}

static int send_hello(struct node *n, struct link *l)
{
	Alliance__V1__Hello hello = ALLIANCE__V1__HELLO__INIT;
	Alliance__V1__StoreMarks marks = ALLIANCE__V1__STORE_MARKS__INIT;
	Frame frame = ALLIANCE__V1__FRAME__INIT;

	hello.protocol_version = WIRE_PROTOCOL_VERSION;
	hello.community = n->cfg.community;
	hello.software_version = (char *)ALLIANCE_VERSION;
	hello.store_epoch = n->store_epoch;
	/* an unfinished snapshot starts over: its seen-list must be whole;
	 * the first Hello that asks for the directory asks for everything
	 * (node_store_directory_first) */
	hello.down_cursor = n->snapshot_pending ? 0 : n->down_cursor;
	hello.directory = 1;
	hello.batch_bytes = n->cfg.max_frame;   /* what we take */
	n->hub_hello_ms = clock_local_ms();
	hello.node_time_ms = n->hub_hello_ms;
	if (node_store_directory_first(n) && hello.down_cursor) {
		log_info("hub: asking for the whole stream once, for the "
			 "community directory");
		hello.down_cursor = 0;
	}
	sync_marks(n, &marks);
	hello.marks = &marks;
	frame.body_case = ALLIANCE__V1__FRAME__BODY_HELLO;
	frame.hello = &hello;
	return link_send(l, &frame);
}

struct link *hub_link__link(struct node *n)
{
	struct hub_session *s;

	if (!n->hub_wsi || n->hub_state != HUB_CONNECTED)
		return NULL;
	s = lws_wsi_user(n->hub_wsi);
	return s->link.closing ? NULL : &s->link;
}

int hub_link__send(struct node *n, const Frame *frame)
{
	struct link *l = hub_link__link(n);

	return l ? link_send(l, frame) : ERR_AGAIN;
}

/* keepalive_cb: the link's keepalive policy for the session (ping a
 * silent hub, drop a dead one), every link_keepalive_period_us. */
static void keepalive_cb(lws_sorted_usec_list_t *sul)
{
	struct node *n = lws_container_of(sul, struct node, hub_keepalive);
	struct hub_session *s;
	int64_t now = link_now();

	if (n->stopping)
		return;
	if (n->hub_wsi && n->hub_state >= HUB_OPEN) {
		s = lws_wsi_user(n->hub_wsi);
		if (link_keepalive(&s->link, now, n->cfg.ping_s,
				   n->cfg.drop_s))
			log_warn("hub %s: silent for %lld s, dropped",
				 hub_link__url(n)->url,
				 (long long)(now - s->link.heard));
	}
	lws_sul_schedule(n->lws, 0, &n->hub_keepalive, keepalive_cb,
			 link_keepalive_period_us(n->cfg.ping_s));
}

/* ---- receiving frames ----------------------------------------------------- */

/* welcome_clock: take the hub's time from w as ours (lib/clock.c's
 * offset): the hub stamped it about half the round trip after our Hello
 * left. Log it, as a warning when the offset is over CLOCK_SKEW_WARN_MS.
 * An older hub says nothing (0), and a time out of range is not taken:
 * the offset stays as it was. */
static void welcome_clock(struct node *n, const Alliance__V1__Welcome *w)
{
	int64_t now = clock_local_ms(), rtt = now - n->hub_hello_ms, off;

	if (!w->hub_time_ms)
		return;
	if (!clock_ms_valid(w->hub_time_ms)) {
		log_warn("clock: Welcome.hub_time_ms %" PRId64 " is not a "
			 "time; the offset stays %+" PRId64 " ms",
			 w->hub_time_ms, clock_offset_ms());
		return;
	}
	if (rtt < 0)
		rtt = 0;
	off = w->hub_time_ms - (now - rtt / 2);
	clock_set_offset_ms(off);
	n->clock_known = 1;
	if (off > CLOCK_SKEW_WARN_MS || off < -CLOCK_SKEW_WARN_MS)
		log_warn("clock: this node's clock is %.1f s %s the hub's; "
			 "it judges time by the hub's (fix the system clock)",
			 (double)llabs(off) / 1000.0,
			 off < 0 ? "ahead of" : "behind");
	else
		log_info("clock: offset to the hub's %+" PRId64 " ms (round "
			 "trip %" PRId64 " ms)", off, rtt);
}

int node_clock_offset(const struct node *n, int64_t *ms)
{
	*ms = n->clock_known ? clock_offset_ms() : 0;
	return n->clock_known;
}

json_t *node_clock_json(const struct node *n)
{
	int64_t ms;

	return node_clock_offset(n, &ms) ? json_integer((json_int_t)ms)
					 : json_null();
}

static int handle_welcome(struct node *n, struct lws *wsi,
			  const Alliance__V1__Welcome *w)
{
	welcome_clock(n, w);
	n->hub_state = HUB_CONNECTED;
	n->hub_since = clock_now();
	n->hub_welcomed_us = lws_now_usecs();
	n->hub_sessions++;
	n->hub_up_cursor = w->up_cursor;
	n->hub_last_error[0] = '\0';
	lws_set_timer_usecs(wsi, LWS_SET_TIMER_USEC_CANCEL);
	if (sync_welcome(n, w) != ERR_OK)
		return session_abort(n, wsi, WIRE_CLOSE_INTERNAL, "our store "
				     "is behind the hub and could not be "
				     "renumbered");
	node_relay_welcome(n, w);       /* requests, statuses, polls, tallies */
	log_info("session with hub established: up_cursor=%" PRIu64
		 " own_version=%" PRIu64 " hub_version=%s heartbeat_s=%u"
		 " window=%u snapshot=%s", w->up_cursor, w->own_version,
		 w->hub_version, w->heartbeat_s, w->window,
		 w->snapshot ? "yes" : "no");
	return 0;
}

static void handle_error(struct node *n, const Alliance__V1__Error *e)
{
	const char *name = "unspecified";
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(
			&alliance__v1__error_code__descriptor, (int)e->code);

	if (v)
		name = v->name;
	if (e->code == ALLIANCE__V1__ERROR_CODE__ERROR_UNKNOWN_BODY)
		log_warn("hub %s does not know a frame we sent: %s",
			 hub_link__url(n)->url, e->message);
	else if (e->code == ALLIANCE__V1__ERROR_CODE__ERROR_BAD_VERSION)
		log_error("hub %s refuses this node's protocol version %d "
			  "(node %s): %s; it cannot sync until the older of "
			  "the two is upgraded", hub_link__url(n)->url,
			  WIRE_PROTOCOL_VERSION, ALLIANCE_VERSION, e->message);
	else
		log_warn("hub %s sent an error: %s (%d): %s",
			 hub_link__url(n)->url, name, (int)e->code, e->message);
}

/* A frame handler of the node: what the callback returns (0, or 0 after
 * session_abort). */
typedef int (*node_handler)(struct node *n, struct lws *wsi, struct link *l,
			    const Frame *f);

/* store_faulted: whether a storage fault came since faults was counted
 * (cause filled): the session's end then waits for space
 * (hub_link__lost), and a damaged store is named with the way back. */
static int store_faulted(struct node *n, unsigned faults, char *cause,
			 size_t len)
{
	if (store_fault_count() == faults)
		return 0;
	n->hub_store_full = 1;
	if (store_fault_last(cause, len) == ERR_INVALID)
		log_error("the store is damaged: %s. The way back: %s", cause,
			  NODE_STORE_WAY_BACK);
	return 1;
}

/* on_changes: persist a batch of the hub's stream, then ack it. */
static int on_changes(struct node *n, struct lws *wsi, struct link *l,
		      const Frame *f)
{
	Alliance__V1__Ack ack = ALLIANCE__V1__ACK__INIT;
	Frame frame = ALLIANCE__V1__FRAME__INIT;
	unsigned faults = store_fault_count();
	char why[200], cause[200];
	int rc;

	rc = sync_handle_changes(n, f->changes, &ack.seq, why, sizeof(why));
	if (rc == ERR_IO)
		store_faulted(n, faults, cause, sizeof(cause));
	if (rc != ERR_OK)
		return session_abort(n, wsi, rc == ERR_INVALID
				     ? WIRE_CLOSE_BAD_FRAME : WIRE_CLOSE_INTERNAL,
				     "%s", why);
	n->hub_store_retries = 0;
	frame.body_case = ALLIANCE__V1__FRAME__BODY_ACK;
	frame.ack = &ack;
	link_send(l, &frame);   /* a full queue closes the session (4430) */
	return 0;
}

static int on_welcome(struct node *n, struct lws *wsi, struct link *l,
		      const Frame *f)
{
	(void)l;
	if (n->hub_state == HUB_CONNECTED)
		return session_abort(n, wsi, WIRE_CLOSE_PROTOCOL,
				     "a second Welcome");
	return handle_welcome(n, wsi, f->welcome);
}

static int on_error(struct node *n, struct lws *wsi, struct link *l,
		    const Frame *f)
{
	(void)wsi;
	(void)l;
	handle_error(n, f->error);
	return 0;
}

static int on_node_only(struct node *n, struct lws *wsi, struct link *l,
			const Frame *f)
{
	(void)l;
	return session_abort(n, wsi, WIRE_CLOSE_PROTOCOL,
			     "%s is sent by nodes, not the hub",
			     wire_body_name(f));
}

static int on_bulletin(struct node *n, struct lws *wsi, struct link *l,
		       const Frame *f)
{
	(void)wsi;
	(void)l;
	return node_bulletin_handle(n, f->bulletin);
}

static int on_relay(struct node *n, struct lws *wsi, struct link *l,
		    const Frame *f)
{
	char why[200];
	int rc = node_relay_handle(n, f->relay, why, sizeof(why));

	(void)l;
	if (rc != ERR_OK)
		return session_abort(n, wsi, rc == ERR_INVALID
				     ? WIRE_CLOSE_BAD_FRAME
				     : WIRE_CLOSE_INTERNAL, "%s", why);
	return 0;
}

static int on_relay_ack(struct node *n, struct lws *wsi, struct link *l,
			const Frame *f)
{
	(void)wsi;
	(void)l;
	node_relay_ack(n, f->relay_ack);
	return 0;
}

static int on_ack(struct node *n, struct lws *wsi, struct link *l,
		  const Frame *f)
{
	(void)l;
	if (sync_handle_ack(n, f->ack) != ERR_OK)
		return session_abort(n, wsi, WIRE_CLOSE_PROTOCOL,
				     "ack of %" PRIu64 " beyond what was "
				     "sent", f->ack->seq);
	return 0;
}

/* What the node does with each body the hub sends, by body case; Welcome
 * and Error are taken before Welcome too, the others only after. A body
 * not listed is a newer hub's (answered with an Error, the session goes
 * on). */
static const node_handler node_handlers[] = {
	[ALLIANCE__V1__FRAME__BODY_HELLO] = on_node_only,
	[ALLIANCE__V1__FRAME__BODY_WELCOME] = on_welcome,
	[ALLIANCE__V1__FRAME__BODY_CHANGES] = on_changes,
	[ALLIANCE__V1__FRAME__BODY_ACK] = on_ack,
	[ALLIANCE__V1__FRAME__BODY_BULLETIN] = on_bulletin,
	[ALLIANCE__V1__FRAME__BODY_BULLETIN_ACK] = on_node_only,
	[ALLIANCE__V1__FRAME__BODY_ERROR] = on_error,
	[ALLIANCE__V1__FRAME__BODY_RELAY] = on_relay,
	[ALLIANCE__V1__FRAME__BODY_RELAY_ACK] = on_relay_ack,
};

/* handle_frame: act on one decoded frame. Returns what the callback
 * returns. */
static int handle_frame(struct node *n, struct lws *wsi, struct link *l,
			const Frame *f)
{
	size_t i = (size_t)f->body_case;
	node_handler fn = i < sizeof(node_handlers) / sizeof(*node_handlers)
			  ? node_handlers[i] : NULL;

	if (n->hub_state != HUB_CONNECTED &&
	    f->body_case != ALLIANCE__V1__FRAME__BODY_WELCOME &&
	    f->body_case != ALLIANCE__V1__FRAME__BODY_ERROR)
		return session_abort(n, wsi, WIRE_CLOSE_PROTOCOL,
				     "%s before Welcome", wire_body_name(f));
	if (fn)
		return fn(n, wsi, l, f);
	log_info("hub %s sent a frame of a kind we do not know",
		 hub_link__url(n)->url);
	link_send_error(l, ALLIANCE__V1__ERROR_CODE__ERROR_UNKNOWN_BODY,
			"unknown frame body");
	return 0;
}

/* receive: add a chunk to the message being received (the link); handle
 * the frame when it is whole. Returns what the callback returns. */
static int receive(struct node *n, struct lws *wsi, struct hub_session *s,
		   const uint8_t *in, size_t len)
{
	char why[200];
	Frame *f;
	size_t msg_len;
	int rc;

	link_receive(&s->link, in, len, lws_frame_is_binary(wsi) != 0,
		     lws_is_first_fragment(wsi),
		     lws_is_final_fragment(wsi) &&
		     !lws_remaining_packet_payload(wsi), &f, &msg_len);
	if (!f)
		return 0;
	if (wire_batch_check(f, msg_len, LIMIT_BATCH, LIMIT_BATCH_BYTES, why,
			     sizeof(why)) != ERR_OK) {
		wire_free(&f);
		return session_abort(n, wsi, WIRE_CLOSE_BATCH, "%s", why);
	}
	log_debug("hub: received %s", wire_body_name(f));
	rc = handle_frame(n, wsi, &s->link, f);
	wire_free(&f);
	return rc;
}

/* peer_closed: keep the code and reason of the hub's close frame (in: two
 * bytes of code, big-endian, then the reason) for the log and /healthz. */
static void peer_closed(struct node *n, const uint8_t *in, size_t len)
{
	size_t rlen;

	if (!in || len < 2) {
		n->hub_close_code = 1005;  /* no status received */
		n->hub_close_reason[0] = '\0';
	} else {
		n->hub_close_code = (in[0] << 8) | in[1];
		rlen = len - 2;
		if (rlen >= sizeof(n->hub_close_reason))
			rlen = sizeof(n->hub_close_reason) - 1;
		memcpy(n->hub_close_reason, in + 2, rlen);
		n->hub_close_reason[rlen] = '\0';
		n->hub_close_code = wire_close_heard(n->hub_close_code,
						     n->hub_close_reason);
	}
	log_warn("hub %s closed the session: %d %s", hub_link__url(n)->url,
		 n->hub_close_code, n->hub_close_reason);
}

/* ---- the lws callback ---------------------------------------------------- */

/* clock_suspect: whether verify result v may come from a wrong clock
 * (a certificate not yet or no longer valid). */
static int clock_suspect(long v)
{
	return v == X509_V_ERR_CERT_NOT_YET_VALID ||
	       v == X509_V_ERR_CERT_HAS_EXPIRED ||
	       v == X509_V_ERR_CRL_NOT_YET_VALID;
}

/* tls_verify_reason: when the hub's certificate failed verification, put
 * OpenSSL's reason into why instead of lws's generic "SSL err", with the
 * local clock when that may be the cause (its offset to the hub cannot
 * help before a session). */
static void tls_verify_reason(struct node *n, struct lws *wsi, char *why,
			      size_t len)
{
	char now[CLOCK_RFC3339_LEN];
	SSL *ssl = lws_get_ssl(wsi);
	long v;

	if (!ssl)
		return;
	v = SSL_get_verify_result(ssl);
	if (v == X509_V_OK)
		return;
	snprintf(why, len, "%s:%d: hub certificate refused: %s (host %s, "
		 "CA %s)%s%s", n->hub_ips[n->hub_at], hub_link__url(n)->port,
		 X509_verify_cert_error_string(v), hub_link__url(n)->host,
		 n->cfg.hub_ca, clock_suspect(v) ? "; check this machine's "
		 "clock, which says " : "", clock_suspect(v) ?
		 clock_rfc3339(clock_local_ms() / 1000, now, sizeof(now)) : "");
}

/* write_up: the up stream's next batch; a storage fault keeping its marks
 * ends the session with its cause and waits for space, as when a batch
 * of the hub's cannot be stored. What the callback returns. */
static int write_up(struct node *n, struct lws *wsi, struct hub_session *s)
{
	unsigned faults = store_fault_count();
	char cause[200];

	if (sync_write_up(n, &s->link) >= 0)
		return 0;
	if (store_faulted(n, faults, cause, sizeof(cause)))
		return session_abort(n, wsi, WIRE_CLOSE_INTERNAL,
				     "cannot keep the up marks: %s", cause);
	return -1;
}

static int callback_hub(struct lws *wsi, enum lws_callback_reasons reason,
			void *user, void *in, size_t len)
{
	struct hub_session *s = user;
	struct node *n;
	char why[512];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		n = node_from_wsi(wsi);
		if (s)
			link_free(&s->link);
		if (n->hub_wsi && n->hub_wsi != wsi)
			return 0;  /* not our current connection */
		snprintf(why, sizeof(why), "%s:%d: %.*s",
			 n->hub_ips[n->hub_at], hub_link__url(n)->port,
			 in ? (int)strnlen(in, len ? len : 200) : 0,
			 in ? (const char *)in : "connection failed");
		tls_verify_reason(n, wsi, why, sizeof(why));
		hub_link__lost(n, why);
		return 0;

	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		n = node_from_wsi(wsi);
		n->hub_wsi = wsi;
		n->hub_state = HUB_OPEN;
		log_info("connected to hub %s at %s:%d; sending Hello",
			 hub_link__url(n)->url, n->hub_ips[n->hub_at],
			 hub_link__url(n)->port);
		trust_peer_describe(lws_get_ssl(lws_get_network_wsi(wsi)), why,
				    sizeof(why));
		log_info("hub certificate: %s", why);
		n->hub_local_close = 0;
		link_init(&s->link, &link_lws_io, wsi, n, n->cfg.max_frame);
		s->link.refused = link_refused;
		s->link.self = "the node";
		s->link.rx_keep = HUB_RX_KEEP;
		s->link.close_grace_s = n->cfg.drop_s;
		if (send_hello(n, &s->link) != ERR_OK)
			return session_abort(n, wsi, WIRE_CLOSE_GOING_AWAY,
					     "cannot encode Hello");
		/* the hub answers a Hello at once; do not wait for ever */
		lws_set_timer_usecs(wsi, (lws_usec_t)n->cfg.drop_s *
				    LWS_US_PER_SEC);
		return 0;

	case LWS_CALLBACK_TIMER:
		n = node_from_wsi(wsi);
		if (n->hub_state == HUB_OPEN)
			return session_abort(n, wsi, WIRE_CLOSE_PROTOCOL,
					     "no Welcome within %u s",
					     n->cfg.drop_s);
		return 0;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		return receive(node_from_wsi(wsi), wsi, s, in, len);

	case LWS_CALLBACK_CLIENT_WRITEABLE: {
		int rc;

		n = node_from_wsi(wsi);
		if (n->stopping)
			session_abort(n, wsi, WIRE_CLOSE_GOING_AWAY,
				      "node shutting down");
		else if (n->hub_rebuild)
			session_abort(n, wsi, WIRE_CLOSE_GOING_AWAY,
				      "node reloading its configuration");
		rc = link_writeable(&s->link);
		if (rc == 2) { /* the last queued frame: the streams next */
			lws_callback_on_writable(wsi);
			return 0;
		}
		if (rc != 1)   /* a ping, a queued frame, or the close */
			return rc;
		return write_up(n, wsi, s);
	}

	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		link_pong(&s->link);
		return 0;

	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		peer_closed(node_from_wsi(wsi), in, len);
		return 0;

	case LWS_CALLBACK_CLIENT_CLOSED:
		n = node_from_wsi(wsi);
		link_free(&s->link);
		if (n->hub_wsi != wsi)
			return 0;
		if (n->hub_close_code)
			snprintf(why, sizeof(why), "closed by hub: %d %s",
				 n->hub_close_code, n->hub_close_reason);
		else
			snprintf(why, sizeof(why), "connection closed");
		hub_link__lost(n, why);
		return 0;

	default:
		return 0;
	}
}

/* ---- start, reload, stop --------------------------------------------------- */

int hub_link__start(struct node *n)
{
	backoff_init(n);
	n->hub_state = HUB_IDLE;
	hub_link__resolve(n);
	if (vhost_create(n) != ERR_OK)
		return ERR_FAIL;
	hub_link__connect(n);
	lws_sul_schedule(n->lws, 0, &n->hub_keepalive, keepalive_cb,
			 link_keepalive_period_us(n->cfg.ping_s));
	return ERR_OK;
}

static int str_differs(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b) != 0;
}

/* hubs_differ: whether the hub URLs of old and of n's configuration
 * in force, or the addresses they had (old_ips) and have now, differ. */
static int hubs_differ(const struct node *n, const struct node_config *old,
		       char old_ips[][INET6_ADDRSTRLEN])
{
	if (old->n_hubs != n->cfg.n_hubs)
		return 1;
	for (size_t i = 0; i < old->n_hubs; i++)
		if (strcmp(old->hubs[i].url, n->cfg.hubs[i].url) ||
		    strcmp(old_ips[i], n->hub_ips[i]))
			return 1;
	return 0;
}

void hub_link__reload(struct node *n, const struct node_config *old,
		      const unsigned char digest[32])
{
	char old_ips[LIMIT_HUB_URLS][INET6_ADDRSTRLEN];
	int changed;

	memcpy(old_ips, n->hub_ips, sizeof(old_ips));
	backoff_init(n);  /* keepalive times may have changed */
	hub_link__resolve(n);
	changed = hubs_differ(n, old, old_ips) ||
		  str_differs(old->community, n->cfg.community) ||
		  str_differs(old->hub_cert, n->cfg.hub_cert) ||
		  str_differs(old->hub_key, n->cfg.hub_key) ||
		  str_differs(old->hub_ca, n->cfg.hub_ca) ||
		  old->ping_s != n->cfg.ping_s || old->drop_s != n->cfg.drop_s ||
		  memcmp(digest, n->hub_tls_digest, 32) != 0;
	memcpy(n->hub_tls_digest, digest, 32);
	n->hub_retries = 0;
	n->hub_round_failed = 0;
	if (!changed) {
		log_info("reload: hub settings and certificates unchanged; "
			 "the session stays");
		if (n->hub_state == HUB_IDLE && !n->hub_vhost_dying) {
			lws_sul_cancel(&n->hub_sul);
			hub_link__connect(n);  /* a fresh try now */
		}
		return;
	}
	log_info("reload: hub settings or certificates changed; reconnecting");
	n->hub_rebuild = 1;
	if (hubs_differ(n, old, old_ips))
		n->hub_at = 0;   /* the new list from its first URL */
	switch (n->hub_state) {
	case HUB_IDLE:
		if (!n->hub_vhost_dying)
			lws_sul_schedule(n->lws, 0, &n->hub_sul, rebuild_cb, 1);
		break;
	case HUB_CONNECTING:
		/* nothing can be written yet: drop it; lost() rebuilds */
		lws_set_timeout(n->hub_wsi, PENDING_TIMEOUT_USER_OK,
				LWS_TO_KILL_ASYNC);
		break;
	case HUB_OPEN:
	case HUB_CONNECTED:
		/* WRITEABLE closes it with 1001 */
		lws_callback_on_writable(n->hub_wsi);
		break;
	}
}

void hub_link__stop(struct node *n)
{
	n->stopping = 1;
	lws_sul_cancel(&n->hub_sul);
	lws_sul_cancel(&n->hub_keepalive);
	if (n->hub_wsi && (n->hub_state == HUB_OPEN ||
			   n->hub_state == HUB_CONNECTED))
		lws_callback_on_writable(n->hub_wsi);  /* closes with 1001 */
}
