/* trust.c: the trust files (CA bundle, CRL list) and a daemon's own
 * certificate, checked whole before use (see trust.h). Parts: the bundle;
 * the CRLs; the store and lookups; the daemon's own certificate. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "err.h"
#include "ident.h"
#include "trust.h"

/* asn1_unix: an ASN1_TIME as unix seconds; 0 when absent or unreadable. */
static int64_t asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static void subject_of(X509 *x, char *buf, size_t buflen)
{
	if (!X509_NAME_oneline(X509_get_subject_name(x), buf, (int)buflen))
		snprintf(buf, buflen, "?");
}

/* ---- the bundle ------------------------------------------------------------ */

/* add_ca: check one decoded certificate (number i + 1 of path) and keep
 * it in t; takes ownership of x. */
static int add_ca(struct trust *t, X509 *x, const char *path, char *err,
		  size_t errlen)
{
	char name[256];
	unsigned char id[32];
	unsigned len = 0;
	int64_t until;

	subject_of(x, name, sizeof(name));
	if (X509_check_ca(x) < 1) {
		snprintf(err, errlen, "%s: certificate %zu (%s) is not a CA "
			 "certificate (basicConstraints CA:TRUE, keyUsage "
			 "keyCertSign): the trust file holds CA certificates "
			 "only", path, t->n + 1, name);
		X509_free(x);
		return ERR_INVALID;
	}
	if (X509_digest(x, EVP_sha256(), id, &len) != 1 || len != 32) {
		snprintf(err, errlen, "%s: cannot digest certificate %zu",
			 path, t->n + 1);
		X509_free(x);
		return ERR_FAIL;
	}
	if (trust_find(t, id) >= 0) {
		snprintf(err, errlen, "%s: CA %s is listed twice", path, name);
		X509_free(x);
		return ERR_INVALID;
	}
	if (t->n == LIMIT_TRUST_CAS) {
		snprintf(err, errlen, "%s: more than %d CA certificates", path,
			 LIMIT_TRUST_CAS);
		X509_free(x);
		return ERR_TOOBIG;
	}
	until = asn1_unix(X509_get0_notAfter(x));
	if (!t->ca_expiry || (until && until < t->ca_expiry))
		t->ca_expiry = until;
	memcpy(t->ids[t->n], id, 32);
	t->cas[t->n++] = x;
	return ERR_OK;
}

int trust_load_cas(struct trust *t, const char *path, char *err,
		   size_t errlen)
{
	BIO *bio;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	int rc = ERR_OK;

	memset(t, 0, sizeof(*t));
	ERR_clear_error();
	bio = BIO_new_file(path, "r");
	if (!bio) {
		snprintf(err, errlen, "%s: cannot open the trust file", path);
		ERR_clear_error();
		return ERR_IO;
	}
	while (rc == ERR_OK &&
	       PEM_read_bio(bio, &name, &header, &data, &len) == 1) {
		const unsigned char *p = data;
		X509 *x;

		if (strcmp(name, PEM_STRING_X509) != 0 &&
		    strcmp(name, PEM_STRING_X509_TRUSTED) != 0) {
			snprintf(err, errlen, "%s: a '%s' block: the trust file "
				 "holds CA certificates only", path, name);
			rc = ERR_INVALID;
		} else if (!(x = strcmp(name, PEM_STRING_X509) == 0
				 ? d2i_X509(NULL, &p, len)
				 : d2i_X509_AUX(NULL, &p, len))) {
			snprintf(err, errlen, "%s: certificate %zu does not "
				 "decode", path, t->n + 1);
			rc = ERR_INVALID;
		} else {
			rc = add_ca(t, x, path, err, errlen);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
	}
	BIO_free(bio);
	/* the end of the file reads as "no start line" */
	if (rc == ERR_OK && ERR_GET_REASON(ERR_peek_last_error()) !=
	    PEM_R_NO_START_LINE) {
		snprintf(err, errlen, "%s: unreadable PEM after certificate "
			 "%zu", path, t->n);
		rc = ERR_INVALID;
	}
	if (rc == ERR_OK && !t->n) {
		snprintf(err, errlen, "%s: no CA certificate", path);
		rc = ERR_INVALID;
	}
	ERR_clear_error();
	return rc;
}

/* ---- the CRLs --------------------------------------------------------------- */

static X509_CRL *read_crl(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509_CRL *crl;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open the CRL", path);
		return NULL;
	}
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!crl)
		snprintf(err, errlen, "%s: not a PEM CRL", path);
	return crl;
}

/* signer: the index of the CA of t that signed crl, or -1. The issuer
 * name is compared first, then the signature, so two CAs of one name
 * (a CA made again under the default name) are told apart. */
static int signer(const struct trust *t, X509_CRL *crl)
{
	for (size_t i = 0; i < t->n; i++) {
		EVP_PKEY *pub = X509_get0_pubkey(t->cas[i]);

		if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
				  X509_get_subject_name(t->cas[i])) == 0 &&
		    pub && X509_CRL_verify(crl, pub) == 1)
			return (int)i;
	}
	ERR_clear_error();
	return -1;
}

int trust_load_crls(struct trust *t, const char *paths, char *err,
		    size_t errlen)
{
	const char *cursor = paths;
	char path[4096], name[256];
	int more;

	while ((more = config_paths_next(&cursor, path, sizeof(path))) != 0) {
		X509_CRL *crl;
		int i;

		if (more < 0) {
			snprintf(err, errlen, "a CRL path is too long");
			return ERR_TOOBIG;
		}
		crl = read_crl(path, err, errlen);
		if (!crl)
			return ERR_INVALID;
		i = signer(t, crl);
		if (i < 0) {
			X509_NAME_oneline(X509_CRL_get_issuer(crl), name,
					  sizeof(name));
			snprintf(err, errlen, "%s: a CRL of %s that no CA of "
				 "the trust file signed", path, name);
			X509_CRL_free(crl);
			return ERR_INVALID;
		}
		if (t->crls[i]) {
			subject_of(t->cas[i], name, sizeof(name));
			snprintf(err, errlen, "%s: a second CRL of CA %s: give "
				 "one CRL per CA", path, name);
			X509_CRL_free(crl);
			return ERR_INVALID;
		}
		t->crls[i] = crl;
		{
			int64_t next = asn1_unix(X509_CRL_get0_nextUpdate(crl));

			if (!t->crl_next_update ||
			    (next && next < t->crl_next_update))
				t->crl_next_update = next;
		}
	}
	for (size_t i = 0; i < t->n; i++) {
		if (t->crls[i])
			continue;
		subject_of(t->cas[i], name, sizeof(name));
		snprintf(err, errlen, "CA %s of the trust file has no CRL in "
			 "the list: every certificate it issued would be "
			 "refused", name);
		return ERR_INVALID;
	}
	return ERR_OK;
}

/* ---- the store and lookups --------------------------------------------- */

X509_STORE *trust_store(const struct trust *t)
{
	X509_STORE *store = X509_STORE_new();
	int crls = 0;

	if (!store)
		return NULL;
	for (size_t i = 0; i < t->n; i++) {
		if (X509_STORE_add_cert(store, t->cas[i]) != 1 ||
		    (t->crls[i] && X509_STORE_add_crl(store, t->crls[i]) != 1)) {
			X509_STORE_free(store);
			ERR_clear_error();
			return NULL;
		}
		crls |= t->crls[i] != NULL;
	}
	if (crls)
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return store;
}

int trust_find(const struct trust *t, const unsigned char id[32])
{
	for (size_t i = 0; i < t->n; i++)
		if (memcmp(t->ids[i], id, 32) == 0)
			return (int)i;
	return -1;
}

int trust_revoked(const struct trust *t, int i, const char *serial_hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	X509_REVOKED *rev = NULL;
	int revoked = 0;

	if (i < 0 || (size_t)i >= t->n || !t->crls[i] ||
	    !BN_hex2bn(&bn, serial_hex))
		return 0;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	if (serial)
		revoked = X509_CRL_get0_by_serial(t->crls[i], &rev, serial) == 1;
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return revoked;
}

int trust_anchor_id(STACK_OF(X509) *chain, unsigned char id[32])
{
	int n = chain ? sk_X509_num(chain) : 0;
	unsigned len = 0;

	if (n < 1 || X509_digest(sk_X509_value(chain, n - 1), EVP_sha256(),
				 id, &len) != 1 || len != 32) {
		memset(id, 0, 32);
		return ERR_INVALID;
	}
	return ERR_OK;
}

void trust_ca_name(const struct trust *t, int i, char *buf, size_t buflen)
{
	if (i < 0 || (size_t)i >= t->n)
		snprintf(buf, buflen, "?");
	else
		subject_of(t->cas[i], buf, buflen);
}

void trust_peer_describe(SSL *ssl, char *buf, size_t buflen)
{
	X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	char serial[80], issuer[256];

	if (!x) {
		snprintf(buf, buflen, "none");
		return;
	}
	ident_serial(x, serial, sizeof(serial));
	if (!X509_NAME_oneline(X509_get_issuer_name(x), issuer,
			       sizeof(issuer)))
		snprintf(issuer, sizeof(issuer), "?");
	snprintf(buf, buflen, "serial %s, not after %lld, issuer %s", serial,
		 (long long)asn1_unix(X509_get0_notAfter(x)), issuer);
}

void trust_free(struct trust *t)
{
	for (size_t i = 0; i < t->n; i++) {
		X509_free(t->cas[i]);
		X509_CRL_free(t->crls[i]);
	}
	memset(t, 0, sizeof(*t));
}

/* ---- the daemon's own certificate -------------------------------------- */

int trust_own_check(const char *cert, const char *key, SSL_CTX *running,
		    int64_t *not_after, char *err, size_t errlen)
{
	SSL_CTX *scratch = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *now = running ? SSL_CTX_get0_privatekey(running) : NULL;
	X509 *x;
	int rc = ERR_INVALID;
	int64_t from, until, t = (int64_t)time(NULL);

	ERR_clear_error();
	if (!scratch) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	if (SSL_CTX_use_certificate_chain_file(scratch, cert) != 1) {
		snprintf(err, errlen, "%s: not a readable PEM certificate",
			 cert);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(scratch, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(scratch) != 1) {
		snprintf(err, errlen, "%s: not a readable PEM key, or not the "
			 "key of %s", key, cert);
		goto out;
	}
	x = SSL_CTX_get0_certificate(scratch);
	from = asn1_unix(X509_get0_notBefore(x));
	until = asn1_unix(X509_get0_notAfter(x));
	if (until <= t || from > t) {
		snprintf(err, errlen, "%s: %s", cert, until <= t
			 ? "has expired" : "is not valid yet");
		goto out;
	}
	if (now && EVP_PKEY_get_base_id(now) !=
	    EVP_PKEY_get_base_id(SSL_CTX_get0_privatekey(scratch))) {
		snprintf(err, errlen, "%s: a %s key in place of a %s key "
			 "needs a restart", key,
			 OBJ_nid2sn(EVP_PKEY_get_base_id(
				 SSL_CTX_get0_privatekey(scratch))),
			 OBJ_nid2sn(EVP_PKEY_get_base_id(now)));
		goto out;
	}
	if (not_after)
		*not_after = until;
	rc = ERR_OK;
out:
	ERR_clear_error();
	SSL_CTX_free(scratch);
	return rc;
}

int trust_own_install(SSL_CTX *ctx, const char *cert, const char *key)
{
	int ok = SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 &&
		 SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1;

	ERR_clear_error();
	return ok ? ERR_OK : ERR_IO;
}

int trust_own_reload(SSL_CTX *ctx, const char *cert, const char *key,
		     int64_t *not_after, char *err, size_t errlen)
{
	int rc = trust_own_check(cert, key, ctx, not_after, err, errlen);

	if (rc != ERR_OK)
		return rc;
	if (trust_own_install(ctx, cert, key) != ERR_OK) {
		snprintf(err, errlen, "%s: cannot be loaded", cert);
		return ERR_IO;
	}
	return ERR_OK;
}
