/* tls.c: the alliance port's mutual TLS: who may connect, and reloading.
 *
 * lws accepts a certificate from a foreign CA unless the verify callback
 * says no (notes/libwebsockets.md), so every decision is made here: the
 * chain against the alliance CA, the CRL, the validity dates. Parts: the CRL
 * (loading, next-update warning); the verify decision and alert logging;
 * the peer's identity; reload on SIGHUP and revocation of live sessions. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "hub.h"
#include "log.h"

/* ---- the CRL --------------------------------------------------------------- */

/* read_crl: load the PEM CRL at path; NULL (logged) on failure. The caller
 * frees it with X509_CRL_free. */
static X509_CRL *read_crl(const char *path)
{
	FILE *f = fopen(path, "r");
	X509_CRL *crl;

	if (!f) {
		log_error("tls: %s: cannot open the CRL", path);
		return NULL;
	}
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	if (!crl)
		log_error("tls: %s: not a PEM CRL", path);
	return crl;
}

static int64_t crl_next_update(const X509_CRL *crl)
{
	const ASN1_TIME *t = X509_CRL_get0_nextUpdate(crl);
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

/* install_crl: make crl (ownership taken) the one in force for store. */
static int install_crl(struct hub *hub, X509_STORE *store, X509_CRL *crl)
{
	if (!X509_STORE_add_crl(store, crl)) {
		log_error("tls: cannot install the CRL");
		X509_CRL_free(crl);
		return ERR_FAIL;
	}
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	X509_CRL_free(hub->crl);
	hub->crl = crl;
	hub->metrics.crl_next_update = crl_next_update(crl);
	crl_check_due(hub);
	return ERR_OK;
}

int tls_load_verify(struct hub *hub, SSL_CTX *ctx)
{
	X509_CRL *crl = read_crl(hub->cfg.alliance_crl);

	hub->alliance_ssl = ctx;
	if (!crl || install_crl(hub, SSL_CTX_get_cert_store(ctx), crl))
		return 1;
	lws_sul_schedule(hub->lws, 0, &hub->crl_timer, crl_timer_cb,
			 3600 * LWS_US_PER_SEC);
	return 0;
}

int tls_revoked(struct hub *hub, const char *serial_hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	X509_REVOKED *rev = NULL;
	int revoked = 0;

	if (!hub->crl || !BN_hex2bn(&bn, serial_hex))
		return 0;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	if (serial)
		revoked = X509_CRL_get0_by_serial(hub->crl, &rev, serial) == 1;
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return revoked;
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

/* ---- the peer ------------------------------------------------------------ */

int tls_peer(struct lws *wsi, struct ident *id, char *why, size_t whylen)
{
	SSL *ssl = lws_get_ssl(lws_get_network_wsi(wsi));
	X509 *cert;
	int rc;

	memset(id, 0, sizeof(*id));
	if (!ssl) {
		snprintf(why, whylen, "not a TLS connection");
		return ERR_DENIED;
	}
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		snprintf(why, whylen, "certificate not verified");
		return ERR_DENIED;
	}
	cert = SSL_get1_peer_certificate(ssl);
	if (!cert) {
		snprintf(why, whylen, "no client certificate");
		return ERR_DENIED;
	}
	rc = ident_from_cert(cert, id, why, whylen);
	X509_free(cert);
	return rc == ERR_OK ? ERR_OK : ERR_DENIED;
}

/* ---- reload ------------------------------------------------------------ */

/* load_own_cert: check the hub's certificate and key in a scratch context,
 * then install them in ctx, so a bad file leaves the running ones alone. */
static int load_own_cert(struct hub *hub, SSL_CTX *ctx)
{
	SSL_CTX *scratch = SSL_CTX_new(TLS_server_method());
	int ok;

	ok = scratch &&
	     SSL_CTX_use_certificate_chain_file(scratch, hub->cfg.alliance_cert) == 1 &&
	     SSL_CTX_use_PrivateKey_file(scratch, hub->cfg.alliance_key,
					 SSL_FILETYPE_PEM) == 1 &&
	     SSL_CTX_check_private_key(scratch) == 1;
	SSL_CTX_free(scratch);
	if (!ok) {
		log_error("tls: %s / %s: certificate or key unusable; keeping "
			  "the running ones", hub->cfg.alliance_cert,
			  hub->cfg.alliance_key);
		ERR_clear_error();
		return ERR_INVALID;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, hub->cfg.alliance_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, hub->cfg.alliance_key,
					SSL_FILETYPE_PEM) != 1)
		return ERR_IO;
	return ERR_OK;
}

/* close_revoked: close a live session whose certificate is now revoked. */
static void close_revoked(struct session *s, void *arg)
{
	struct hub *hub = arg;

	if (!tls_revoked(hub, s->peer.serial))
		return;
	session_close(s, REFUSE_REVOKED, WIRE_CLOSE_REVOKED, 0,
		      "certificate %s of %s is revoked", s->peer.serial,
		      s->peer.name);
}

int tls_reload(struct hub *hub)
{
	X509_STORE *store;
	X509_CRL *crl;

	if (!hub->alliance_ssl)
		return ERR_FAIL;
	load_own_cert(hub, hub->alliance_ssl);
	crl = read_crl(hub->cfg.alliance_crl);
	if (!crl)
		return ERR_INVALID;
	store = X509_STORE_new();
	if (!store || X509_STORE_load_file(store, hub->cfg.alliance_ca) != 1) {
		log_error("tls: %s: cannot load the CA; keeping the running one",
			  hub->cfg.alliance_ca);
		X509_STORE_free(store);
		X509_CRL_free(crl);
		ERR_clear_error();
		return ERR_INVALID;
	}
	if (install_crl(hub, store, crl)) {
		X509_STORE_free(store);
		return ERR_FAIL;
	}
	SSL_CTX_set_cert_store(hub->alliance_ssl, store);
	registry_each_session(hub, close_revoked, hub);
	log_info("tls: reloaded the certificate, CA and CRL");
	return ERR_OK;
}
