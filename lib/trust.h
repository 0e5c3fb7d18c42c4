/* trust.h: the alliance's trust files, checked whole before use.
 *
 * The trust file ([alliance] ca at the hub, [hub] ca at a node) is a
 * bundle of CA certificates: one in steady state, two (old and new) while
 * the alliance moves to a new CA. The hub's CRL setting ([alliance] crl)
 * is a list with one CRL per CA of the bundle, each signed by its CA.
 * Files that break a rule are refused as a whole with a reason naming the
 * file, so a daemon refuses to start with them and a reload keeps the set
 * in force. A daemon's own certificate and key (the hub's alliance port,
 * either daemon's public HTTPS port) are checked the same way before they
 * replace the running ones on SIGHUP. */
#ifndef ALLIANCE_TRUST_H
#define ALLIANCE_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "alliance_limits.h"

/* A checked bundle and, at the hub, its CRLs. */
struct trust {
	X509 *cas[LIMIT_TRUST_CAS];         /* in file order (owned) */
	unsigned char ids[LIMIT_TRUST_CAS][32]; /* SHA-256 of each CA's DER */
	X509_CRL *crls[LIMIT_TRUST_CAS];    /* crls[i]: cas[i]'s, or NULL
					       when none was loaded */
	size_t n;                           /* CAs in the bundle */
	int64_t ca_expiry;                  /* the earliest notAfter of the
					       CAs, unix seconds */
	int64_t crl_next_update;            /* the earliest nextUpdate of
					       the CRLs; 0: none loaded */
};

/* trust_load_cas: read the bundle at path into t (zeroed first). Refused
 * (ERR_INVALID, ERR_IO; the reason in err names the file): a file that
 * cannot be read, a PEM block other than a certificate, a certificate
 * that does not decode or is not a CA (basicConstraints CA:TRUE and, when
 * keyUsage is present, keyCertSign), one listed twice, none, or more than
 * LIMIT_TRUST_CAS. Free t with trust_free either way. */
int trust_load_cas(struct trust *t, const char *path, char *err,
		   size_t errlen);

/* trust_load_crls: read the CRLs of paths (a CONFIG_PATHS value) and give
 * each to the CA of t that signed it. Refused: a file that is not one PEM
 * CRL, a CRL no CA of t signed, two CRLs of one CA, and a CA left without
 * a CRL (CRL checking would refuse every certificate it issued). */
int trust_load_crls(struct trust *t, const char *paths, char *err,
		    size_t errlen);

/* trust_store: a new X509_STORE with t's CAs and CRLs, CRL checking on
 * when t has CRLs. NULL when out of memory. The caller owns it. */
X509_STORE *trust_store(const struct trust *t);

/* trust_find: the index in t of the CA whose SHA-256 is id, or -1. */
int trust_find(const struct trust *t, const unsigned char id[32]);

/* trust_revoked: whether the certificate with serial (hex, as
 * ident.serial) is on the CRL of t's CA number i. */
int trust_revoked(const struct trust *t, int i, const char *serial_hex);

/* trust_anchor_id: the SHA-256 of the top of a verified chain (the CA
 * that vouches for its leaf) into id. ERR_OK or ERR_INVALID. */
int trust_anchor_id(STACK_OF(X509) *chain, unsigned char id[32]);

/* trust_ca_name: the subject of t's CA number i, one line, for logs. */
void trust_ca_name(const struct trust *t, int i, char *buf, size_t buflen);

/* trust_peer_describe: "serial HEX, not after SECONDS, issuer NAME" of
 * the certificate the peer of ssl presented, for the log; "none" when it
 * presented none. */
void trust_peer_describe(SSL *ssl, char *buf, size_t buflen);

/* trust_free: free what t holds and zero it. */
void trust_free(struct trust *t);

/* trust_own_check: whether cert (a PEM chain file) and key (a PEM private
 * key) can serve: both readable, the key the certificate's, the
 * certificate valid now. With running (the SSL_CTX serving now) the key
 * must be of the same type as the running one (OpenSSL keeps one
 * certificate per key type: another type would leave the old one served
 * beside it). Sets *not_after (unix seconds) when given. ERR_OK, or
 * ERR_INVALID with a reason naming the file in err. */
int trust_own_check(const char *cert, const char *key, SSL_CTX *running,
		    int64_t *not_after, char *err, size_t errlen);

/* trust_own_install: load cert and key (checked by trust_own_check) into
 * ctx: connections accepted from now on present them; those already up
 * keep theirs. ERR_OK or ERR_IO. */
int trust_own_install(SSL_CTX *ctx, const char *cert, const char *key);

/* trust_own_reload: trust_own_check of cert and key against ctx, then
 * trust_own_install into it: the port serves them from now on, or (on an
 * error, with its reason in err) keeps the ones it had. ERR_OK,
 * ERR_INVALID or ERR_IO. */
int trust_own_reload(SSL_CTX *ctx, const char *cert, const char *key,
		     int64_t *not_after, char *err, size_t errlen);

#endif
