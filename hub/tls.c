/* tls.c: the alliance port's mutual TLS: who may connect, and reloading.
 *
 * lws accepts a certificate from a foreign CA unless the verify callback
 * says no (notes/libwebsockets.md), so every decision is made here: the
 * chain against the alliance CA, the CRL, the validity dates. The rule:
 * a certificate is verified at the handshake, and again, against the CA
 * and CRL in force and the current time, at every HTTP request and every
 * websocket upgrade (tls_admit); there is no TLS resumption; a reload
 * closes what no longer verifies, and a sync session is closed when its
 * certificate expires. The CAs trusted are a bundle with one CRL each
 * (lib/trust.h), so the alliance can move to a new CA with a time in
 * which both are trusted; a session remembers which CA vouched for it,
 * and a reload that drops that CA closes it (4412). Parts: the trust
 * files (loading, next-update warning); the hub's certificates' expiry;
 * no resumption; the verify decision and alert logging; the peer's
 * identity, checked now; reload on SIGHUP (the hub's own certificates
 * too) and closing what no longer verifies. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "hub.h"
#include "log.h"
#include "trust.h"

/* ---- the trust files ------------------------------------------------------ */

/* asn1_unix: an ASN1_TIME as unix seconds; 0 when absent or unreadable. */
static int64_t asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* crl_check_due: warn when the CRL nears (or passed) its next update: once
 * passed, OpenSSL refuses every client until a new CRL is loaded. */
static void crl_check_due(struct hub *hub)
{
	int64_t next = hub->metrics.crl_next_update, now = hub_now();

	if (!next)
		return;
	if (next <= now)
		log_error("tls: the CRL expired %lld s ago: every client is "
			  "refused until a new one is loaded (certs/alliance-pki "
			  "crl, then SIGHUP)", (long long)(now - next));
	else if (next - now < LIMIT_CRL_WARN_S)
		log_warn("tls: the CRL's next update is in %lld h: renew it "
			 "(certs/alliance-pki crl) and send SIGHUP",
			 (long long)((next - now) / 3600));
}

static void crl_timer_cb(lws_sorted_usec_list_t *sul)
{
	struct hub *hub = lws_container_of(sul, struct hub, crl_timer);

	crl_check_due(hub);
	lws_sul_schedule(hub->lws, 0, &hub->crl_timer, crl_timer_cb,
			 3600 * LWS_US_PER_SEC);
}

int tls_trust_load(const struct hub_config *cfg, struct trust *t, char *err,
		   size_t errlen)
{
	char why[1024];
	const char *key = "ca";
	int rc = trust_load_cas(t, cfg->alliance_ca, why, sizeof(why));

	if (rc == ERR_OK) {
		key = "crl";
		rc = trust_load_crls(t, cfg->alliance_crl, why, sizeof(why));
	}
	if (rc != ERR_OK) {
		snprintf(err, errlen, "[alliance] %s: %s", key, why);
		trust_free(t);
	}
	return rc;
}

/* trust_in_force: make t (moved from) the CAs and CRLs in force. */
static void trust_in_force(struct hub *hub, struct trust *t)
{
	trust_free(&hub->trust);
	hub->trust = *t;
	memset(t, 0, sizeof(*t));
	hub->metrics.crl_next_update = hub->trust.crl_next_update;
	hub->metrics.cert_expiry[HUB_CERT_CA] = hub->trust.ca_expiry;
	crl_check_due(hub);
}

/* ---- the hub's certificates' expiry ------------------------------------ */

/* file_expiry: the earliest notAfter of the PEM certificates in path (a
 * chain or a CA bundle); 0 (logged) when none is readable. */
static int64_t file_expiry(const char *path)
{
	FILE *f = fopen(path, "r");
	int64_t until = 0;
	X509 *cert;

	if (!f) {
		log_error("tls: %s: cannot open", path);
		return 0;
	}
	while ((cert = PEM_read_X509(f, NULL, NULL, NULL))) {
		int64_t t = asn1_unix(X509_get0_notAfter(cert));

		if (t && (!until || t < until))
			until = t;
		X509_free(cert);
	}
	fclose(f);
	ERR_clear_error();      /* the end of the file reads as an error */
	if (!until)
		log_error("tls: %s: no readable certificate", path);
	return until;
}

/* read_expiries: the expiry of the hub's certificates as loaded at the
 * start, for /metrics and the console's warnings (tls_reload re-reads
 * what it reloads; the CA's is the trust's). */
static void read_expiries(struct hub *hub)
{
	int64_t *e = hub->metrics.cert_expiry;

	e[HUB_CERT_ALLIANCE] = file_expiry(hub->cfg.alliance_cert);
	if (hub->cfg.public_cert)
		e[HUB_CERT_PUBLIC] = file_expiry(hub->cfg.public_cert);
}

/* ---- no resumption -------------------------------------------------------- */

/* no_resumption: the alliance port resumes no TLS session. A resumed
 * session skips certificate verification (OpenSSL restores the first
 * handshake's result), so a revoked or expired certificate would go on
 * handshaking for as long as its tickets lived; flushing the cache and
 * rotating ticket keys on reload would still leave the time between a
 * certificate's expiry and the next reload. Clients of this port are
 * nodes holding one long session and operators making a few requests,
 * so full handshakes cost nothing that matters: no TLS 1.2 tickets
 * (SSL_OP_NO_TICKET), no TLS 1.3 tickets (num_tickets 0), no server
 * session cache (which would also serve session ids). lws 4.1 sets none
 * of these; it only sets a session id context for client certificates,
 * before this callback (lws_context_init_server_ssl). */
static int no_resumption(SSL_CTX *ctx)
{
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		log_error("tls: cannot turn off TLS 1.3 session tickets");
		return ERR_FAIL;
	}
	return ERR_OK;
}

int tls_load_verify(struct hub *hub, SSL_CTX *ctx)
{
	X509_STORE *store;

	if (no_resumption(ctx) != ERR_OK)
		return 1;
	hub->alliance_ssl = ctx;
	/* the trust main() loaded and checked, in place of the store lws
	 * filled from [alliance] ca */
	store = trust_store(&hub->trust);
	if (!store) {
		log_error("tls: cannot make the certificate store");
		return 1;
	}
	SSL_CTX_set_cert_store(ctx, store);
	hub->metrics.crl_next_update = hub->trust.crl_next_update;
	hub->metrics.cert_expiry[HUB_CERT_CA] = hub->trust.ca_expiry;
	crl_check_due(hub);
	read_expiries(hub);
	lws_sul_schedule(hub->lws, 0, &hub->crl_timer, crl_timer_cb,
			 3600 * LWS_US_PER_SEC);
	return 0;
}

/* ---- the verify decision ------------------------------------------------- */

/* peer_of_store: "address" of the client whose chain is being verified. */
static void peer_of_store(X509_STORE_CTX *store, char *buf, size_t buflen)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store,
			SSL_get_ex_data_X509_STORE_CTX_idx());

	snprintf(buf, buflen, "?");
	if (ssl)
		lws_get_peer_simple_fd(SSL_get_fd(ssl), buf, buflen);
}

int tls_verify_client(struct hub *hub, X509_STORE_CTX *store, int preverify)
{
	X509 *cert;
	char subject[256], peer[64];
	int err;

	(void)hub;
	if (preverify)
		return 0;
	err = X509_STORE_CTX_get_error(store);
	cert = X509_STORE_CTX_get_current_cert(store);
	subject[0] = '\0';
	if (cert)
		X509_NAME_oneline(X509_get_subject_name(cert), subject,
				  sizeof(subject));
	peer_of_store(store, peer, sizeof(peer));
	log_warn("tls: refused client %s certificate '%s' (depth %d): %s",
		 peer, subject, X509_STORE_CTX_get_error_depth(store),
		 X509_verify_cert_error_string(err));
	return 1;
}

void tls_info(struct hub *hub, struct lws *wsi, const struct lws_ssl_info *si)
{
	char peer[64] = "?";
	SSL *ssl;

	if (!(si->where & SSL_CB_ALERT) || !(si->where & SSL_CB_WRITE))
		return;
	/* An alert after a completed handshake is no refusal: OpenSSL 3
	 * sends decode_error when a client closes without close_notify. The
	 * handshake state stays TLS_ST_OK through that fatal error. */
	ssl = wsi ? lws_get_ssl(lws_get_network_wsi(wsi)) : NULL;
	if (ssl && SSL_get_state(ssl) == TLS_ST_OK)
		return;
	if (wsi)
		lws_get_peer_simple(wsi, peer, sizeof(peer));
	/* A fatal alert we send means the client's handshake was refused; the
	 * verify callback has logged the certificate's fault, if it had one. */
	if ((si->ret >> 8) != SSL3_AL_FATAL)
		return;
	/* OpenSSL 3.0 has no name for TLS 1.3's certificate_required (116) */
	refuse(hub, REFUSE_TLS, "tls: refused client %s: sent alert '%s'",
	       peer, (si->ret & 0xff) == 116
			? "certificate required: no client certificate"
			: SSL_alert_desc_string_long(si->ret));
}

/* ---- the peer, checked now ------------------------------------------------ */

/* chain_expiry: the earliest notAfter of a verified chain. */
static int64_t chain_expiry(STACK_OF(X509) *chain)
{
	int64_t until = 0;

	for (int i = 0; i < sk_X509_num(chain); i++) {
		int64_t t = asn1_unix(X509_get0_notAfter(sk_X509_value(chain, i)));

		if (t && (!until || t < until))
			until = t;
	}
	return until;
}

/* verify_now: verify cert (with the chain the client sent) against the
 * store the SSL_CTX holds now, at the current time, as the handshake
 * does for a client ("ssl_client": purpose and trust). Sets *until to the
 * chain's expiry and ca to the SHA-256 of the CA that vouched for it. */
static int verify_now(SSL *ssl, X509 *cert, int64_t *until,
		      unsigned char ca[32], enum refusal *r, char *why,
		      size_t whylen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok, err;

	*r = REFUSE_TLS;
	if (!ctx || X509_STORE_CTX_init(ctx, store, cert,
					SSL_get_peer_cert_chain(ssl)) != 1 ||
	    X509_STORE_CTX_set_default(ctx, "ssl_client") != 1) {
		X509_STORE_CTX_free(ctx);
		ERR_clear_error();
		snprintf(why, whylen, "cannot verify the certificate");
		return ERR_NOMEM;
	}
	ok = X509_verify_cert(ctx) == 1;
	err = X509_STORE_CTX_get_error(ctx);
	if (ok) {
		*until = chain_expiry(X509_STORE_CTX_get0_chain(ctx));
		trust_anchor_id(X509_STORE_CTX_get0_chain(ctx), ca);
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	if (ok)
		return ERR_OK;
	if (err == X509_V_ERR_CERT_REVOKED)
		*r = REFUSE_REVOKED;
	else if (err == X509_V_ERR_CERT_HAS_EXPIRED)
		*r = REFUSE_EXPIRED;
	snprintf(why, whylen, "%s", X509_verify_cert_error_string(err));
	return ERR_DENIED;
}

int tls_check(struct lws *wsi, struct ident *id, enum refusal *r, char *why,
	      size_t whylen)
{
	SSL *ssl = lws_get_ssl(lws_get_network_wsi(wsi));
	X509 *cert;
	int64_t until = 0;
	int rc;

	memset(id, 0, sizeof(*id));
	*r = REFUSE_TLS;
	if (!ssl) {
		snprintf(why, whylen, "not a TLS connection");
		return ERR_DENIED;
	}
	cert = SSL_get0_peer_certificate(ssl);
	if (!cert) {
		snprintf(why, whylen, "no client certificate");
		return ERR_DENIED;
	}
	/* the name first, so that a refusal names whose certificate it was */
	if (ident_from_cert(cert, id, why, whylen) != ERR_OK)
		return ERR_DENIED;
	rc = verify_now(ssl, cert, &until, id->ca, r, why, whylen);
	if (rc != ERR_OK) {
		id->role = IDENT_NONE;
		return ERR_DENIED;
	}
	id->not_after = (long)until;
	return ERR_OK;
}

int tls_admit(struct hub *hub, struct lws *wsi, enum ident_role role,
	      const char *where, struct ident *id, char *why, size_t whylen)
{
	const char *log = role == IDENT_NODE ? "sync" : "api";
	enum refusal r;
	char reason[160];

	if (tls_check(wsi, id, &r, reason, sizeof(reason)) != ERR_OK) {
		refuse(hub, r, "%s: refused certificate '%s' (serial %s) on %s: "
		       "%s", log, id->name[0] ? id->name : "?",
		       id->serial[0] ? id->serial : "?", where, reason);
		snprintf(why, whylen, "%s", reason);
		return ERR_DENIED;
	}
	if (id->role != role) {
		refuse(hub, REFUSE_ROLE, "%s: refused %s certificate '%s' on "
		       "%s: only %s certificates %s", log,
		       ident_role_name(id->role), id->name, where,
		       ident_role_name(role),
		       role == IDENT_NODE ? "sync" : "use the API");
		snprintf(why, whylen, "%s", role == IDENT_NODE
			 ? "only node certificates sync"
			 : "an operator certificate is required; node "
			   "certificates only sync");
		return ERR_DENIED;
	}
	return ERR_OK;
}

/* ---- reload ------------------------------------------------------------ */

int tls_close_expired(struct session *s, int64_t now)
{
	if (s->state == SESSION_CLOSING || !s->peer.not_after ||
	    now <= (int64_t)s->peer.not_after)
		return 0;
	session_close(s, REFUSE_EXPIRED, WIRE_CLOSE_REVOKED, 0,
		      "certificate %s of %s has expired", s->peer.serial,
		      s->peer.name);
	return 1;
}

/* close_invalid: close a live session whose certificate is now revoked
 * or expired, or whose CA the trust file no longer holds. Its chain was
 * verified at the upgrade; what a reload changes for it is the CAs and
 * CRLs (and time goes on), so this looks its CA and serial up rather than
 * verifying 10,000 chains (0.3-0.8 ms each) on the service thread at
 * once. */
static void close_invalid(struct session *s, void *arg)
{
	struct hub *hub = arg;
	int ca;

	if (s->state == SESSION_CLOSING || tls_close_expired(s, hub_now()))
		return;
	ca = trust_find(&hub->trust, s->peer.ca);
	if (ca < 0)
		session_close(s, REFUSE_UNTRUSTED, WIRE_CLOSE_UNTRUSTED, 0,
			      "certificate %s of %s: its CA is no longer "
			      "trusted", s->peer.serial, s->peer.name);
	else if (trust_revoked(&hub->trust, ca, s->peer.serial))
		session_close(s, REFUSE_REVOKED, WIRE_CLOSE_REVOKED, 0,
			      "certificate %s of %s is revoked",
			      s->peer.serial, s->peer.name);
}

void tls_recheck_http(struct hub *hub, struct lws *wsi)
{
	SSL *ssl = lws_get_ssl(wsi);
	struct ident id;
	enum refusal r;
	char why[160];

	/* the listening socket has no SSL; a handshake under way is
	 * verified against the new store when it gets there */
	if (!ssl || !SSL_is_init_finished(ssl))
		return;
	if (tls_check(wsi, &id, &r, why, sizeof(why)) == ERR_OK)
		return;
	refuse(hub, r, "tls: closing the connection of '%s' (serial %s): %s",
	       id.name[0] ? id.name : "?", id.serial[0] ? id.serial : "?",
	       why);
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* reload_port: one port's certificate and key (section names it in the
 * log, which is its cert_expiry slot), when they can serve; else the
 * running ones stay. ERR_OK or ERR_INVALID (logged). */
static int reload_port(struct hub *hub, SSL_CTX *ssl, const char *cert,
		       const char *key, const char *section, int which)
{
	char err[1024];
	int64_t until;

	if (trust_own_reload(ssl, cert, key, &until, err, sizeof(err)) !=
	    ERR_OK) {
		log_error("tls: reload: [%s] cert: %s; keeping the running "
			  "certificate", section, err);
		return ERR_INVALID;
	}
	hub->metrics.cert_expiry[which] = until;
	return ERR_OK;
}

/* reload_own: the alliance port's certificate and key. */
static int reload_own(struct hub *hub)
{
	return reload_port(hub, hub->alliance_ssl, hub->cfg.alliance_cert,
			   hub->cfg.alliance_key, "alliance", HUB_CERT_ALLIANCE);
}

/* reload_public: the public port's certificate and key (HTTPS only). */
static int reload_public(struct hub *hub)
{
	if (!hub->public_ssl)
		return ERR_OK;
	return reload_port(hub, hub->public_ssl, hub->cfg.public_cert,
			   hub->cfg.public_key, "public", HUB_CERT_PUBLIC);
}

int tls_reload(struct hub *hub)
{
	struct trust fresh;
	X509_STORE *store;
	char err[1200];
	int rc;

	if (!hub->alliance_ssl)
		return ERR_FAIL;
	rc = reload_own(hub);
	if (reload_public(hub) != ERR_OK)
		rc = ERR_INVALID;
	if (tls_trust_load(&hub->cfg, &fresh, err, sizeof(err)) != ERR_OK) {
		log_error("tls: reload: %s; keeping the CAs and CRLs in force",
			  err);
		return ERR_INVALID;
	}
	store = trust_store(&fresh);
	if (!store) {
		log_error("tls: reload: cannot make the certificate store; "
			  "keeping the one in force");
		trust_free(&fresh);
		return ERR_NOMEM;
	}
	/* SSL objects read the store through their SSL_CTX, so handshakes
	 * and tls_check use the new one from now on */
	SSL_CTX_set_cert_store(hub->alliance_ssl, store);
	trust_in_force(hub, &fresh);
	registry_each_session(hub, close_invalid, hub);
	lws_callback_all_protocol_vhost_args(hub->alliance_vhost,
		lws_vhost_name_to_protocol(hub->alliance_vhost, "http"),
		HUB_CALLBACK_RECHECK, NULL, 0);
	if (rc == ERR_OK)
		log_info("tls: reloaded the certificate, CA and CRL (%zu CA%s)",
			 hub->trust.n, hub->trust.n == 1 ? "" : "s");
	else
		log_warn("tls: reloaded the CA and CRL (%zu CA%s); a "
			 "certificate was refused (above)", hub->trust.n,
			 hub->trust.n == 1 ? "" : "s");
	return rc;
}
