/* ident.c: identity and role of a peer from its verified certificate.
 *
 * Parts: reading one subject entry strictly (exactly one, no NUL, UTF-8);
 * ident_from_cert; names. The TLS layer has already verified the chain and
 * the CRL; this only reads what the certificate says. */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

#include "err.h"
#include "ident.h"
#include "text.h"

/* subject_entry: copy the one entry of nid in name into buf as UTF-8.
 * Returns 1 when found, 0 when absent, or ERR_INVALID when it appears twice,
 * holds a NUL or bad UTF-8, or does not fit. */
static int subject_entry(X509_NAME *name, int nid, char *buf, size_t buflen)
{
	int at = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *utf8 = NULL;
	int n;

	if (at < 0)
		return 0;
	if (X509_NAME_get_index_by_NID(name, nid, at) >= 0)
		return ERR_INVALID;
	n = ASN1_STRING_to_UTF8(&utf8,
		X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
	if (n < 0)
		return ERR_INVALID;
	if (n == 0 || (size_t)n >= buflen ||
	    !text_utf8_valid((const char *)utf8, (size_t)n)) {
		OPENSSL_free(utf8);
		return ERR_INVALID;
	}
	memcpy(buf, utf8, (size_t)n);
	buf[n] = '\0';
	OPENSSL_free(utf8);
	return 1;
}

void ident_serial(X509 *cert, char *buf, size_t buflen)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(buf, buflen, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

static long read_not_after(X509 *cert)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
		return 0;
	return (long)timegm(&tm);
}

int ident_from_cert(X509 *cert, struct ident *id, char *why, size_t whylen)
{
	X509_NAME *subject;
	char ou[LIMIT_NAME + 1];
	int has_cn, has_ou;

	memset(id, 0, sizeof(*id));
	if (!cert) {
		snprintf(why, whylen, "no certificate");
		return ERR_INVALID;
	}
	subject = X509_get_subject_name(cert);
	has_cn = subject_entry(subject, NID_commonName, id->name,
			       sizeof(id->name));
	if (has_cn <= 0) {
		snprintf(why, whylen, has_cn == 0 ? "certificate has no CN"
				: "certificate CN is repeated or not clean text");
		return ERR_INVALID;
	}
	has_ou = subject_entry(subject, NID_organizationalUnitName, ou,
			       sizeof(ou));
	if (has_ou < 0) {
		snprintf(why, whylen,
			 "certificate OU is repeated or not clean text");
		return ERR_INVALID;
	}
	ident_serial(cert, id->serial, sizeof(id->serial));
	id->not_after = read_not_after(cert);
	if (has_ou == 1 && strcmp(ou, IDENT_OPERATOR_OU) == 0) {
		id->role = IDENT_OPERATOR;
		return ERR_OK;
	}
	if (!text_community_valid(id->name)) {
		snprintf(why, whylen,
			 "certificate CN '%.80s' is not a community id", id->name);
		return ERR_INVALID;
	}
	id->role = IDENT_NODE;
	return ERR_OK;
}

const char *ident_role_name(enum ident_role role)
{
	switch (role) {
	case IDENT_NODE: return "node";
	case IDENT_OPERATOR: return "operator";
	default: return "none";
	}
}
