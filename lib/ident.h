/* ident.h: who is on the other end, from the peer's certificate.
 *
 * Identity comes from the certificate the TLS layer verified, never from what
 * a message says. CN and OU are read through OpenSSL (lws's CN helper returns
 * the rest of the subject too). Node certificates have CN = community id and
 * no OU = district-office; operator certificates have OU = district-office. */
#ifndef ALLIANCE_IDENT_H
#define ALLIANCE_IDENT_H

#include <openssl/x509.h>

#include "alliance_limits.h"

/* The OU that marks a district operator's certificate. */
#define IDENT_OPERATOR_OU "district-office"

enum ident_role {
	IDENT_NONE = 0,     /* no usable certificate */
	IDENT_NODE,         /* a community's node: CN is the community id */
	IDENT_OPERATOR,     /* a district operator: OU = district-office */
};

struct ident {
	enum ident_role role;
	char name[LIMIT_NAME + 1];  /* CN: the community id, or the operator */
	char serial[80];            /* certificate serial, hex, for logs and CRLs */
	long not_after;             /* expiry, unix seconds */
	unsigned char ca[32];       /* SHA-256 of the CA that vouched for it
				       (the hub's tls_check); zero: unknown */
};

/* ident_from_cert: fill id from a verified certificate. Returns ERR_OK, or
 * ERR_INVALID with a reason in why when the subject has no CN, an empty or
 * duplicated CN/OU, an embedded NUL, or a node CN that is not a valid
 * community id. Does not take ownership of cert. */
int ident_from_cert(X509 *cert, struct ident *id, char *why, size_t whylen);

/* ident_serial: cert's serial number in hex (upper case, as OpenSSL and
 * alliance-pki print it) into buf; "?" when unreadable. */
void ident_serial(X509 *cert, char *buf, size_t buflen);

/* ident_role_name: "node", "operator" or "none". */
const char *ident_role_name(enum ident_role role);

#endif
