/* test_trust.c: unit tests of lib/trust.c, the CA bundle, the CRL list and
 * a daemon's own certificate, on certificates and CRLs made here with
 * OpenSSL (EC P-256 CAs, leaves, CRLs; an RSA key for the key-type rule),
 * written as PEM files into a fresh directory.
 *
 * Parts: making keys, certificates and CRLs; files; the bundle; the CRLs
 * (two CAs of one name told apart); the store and lookups; the own
 * certificate; main. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "err.h"
#include "trust.h"
#include "tmpdir.h"

#define DAY (24 * 3600L)

static char dir[256];
static char err[1024];

/* ---- keys, certificates, CRLs ----------------------------------------- */

static EVP_PKEY *ec_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* cert: a certificate for key named cn with serial, valid from..until
 * (seconds from now), signed by issuer/ikey (NULL: self-signed); a CA
 * when ca. */
static X509 *cert(const char *cn, long serial, EVP_PKEY *key, X509 *issuer,
		  EVP_PKEY *ikey, int ca, long from, long until)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_NAME_free(name);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), until);
	X509_set_pubkey(x, key);
	add_ext(x, issuer ? issuer : x, NID_basic_constraints,
		ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, issuer ? issuer : x, NID_key_usage, ca
		? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	add_ext(x, issuer ? issuer : x, NID_authority_key_identifier,
		"keyid:always");
	if (!ca)
		add_ext(x, issuer, NID_ext_key_usage, "clientAuth");
	assert_true(X509_sign(x, ikey ? ikey : key, EVP_sha256()) > 0);
	return x;
}

/* crl: a CRL of ca (key) revoking serial (0: none), next update in 30
 * days, with the CA's key id. */
static X509_CRL *crl(X509 *ca, EVP_PKEY *key, long serial)
{
	X509_CRL *c = X509_CRL_new();
	ASN1_TIME *now = ASN1_TIME_new(), *next = ASN1_TIME_new();

	assert_non_null(c);
	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(ca));
	X509_gmtime_adj(now, 0);
	X509_gmtime_adj(next, 30 * DAY);
	X509_CRL_set1_lastUpdate(c, now);
	X509_CRL_set1_nextUpdate(c, next);
	if (serial) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();

		ASN1_INTEGER_set(s, serial);
		X509_REVOKED_set_serialNumber(r, s);
		X509_REVOKED_set_revocationDate(r, now);
		X509_CRL_add0_revoked(c, r);
		ASN1_INTEGER_free(s);
	}
	{
		/* the CA's key id, as alliance-pki's CRLs carry it: OpenSSL
		 * tells the CRLs of two CAs of one name apart by it */
		X509V3_CTX ctx;
		X509_EXTENSION *e;

		X509V3_set_ctx_nodb(&ctx);
		X509V3_set_ctx(&ctx, ca, NULL, NULL, c, 0);
		e = X509V3_EXT_conf_nid(NULL, &ctx,
					NID_authority_key_identifier,
					"keyid:always");
		assert_non_null(e);
		assert_int_equal(X509_CRL_add_ext(c, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	X509_CRL_sort(c);
	assert_true(X509_CRL_sign(c, key, EVP_sha256()) > 0);
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	return c;
}

/* ---- files ------------------------------------------------------------ */

/* path_of: dir/name into buf. */
static const char *path_of(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

/* write_pem: the certificates, CRLs, keys and raw text given (NULL ends
 * each list) into dir/name. */
static const char *write_pem(const char *name, X509 **certs, X509_CRL **crls,
			     EVP_PKEY *key, const char *text)
{
	static char buf[512];
	FILE *f = fopen(path_of(name, buf, sizeof(buf)), "w");

	assert_non_null(f);
	for (; certs && *certs; certs++)
		assert_int_equal(PEM_write_X509(f, *certs), 1);
	for (; crls && *crls; crls++)
		assert_int_equal(PEM_write_X509_CRL(f, *crls), 1);
	if (key)
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0,
						      NULL, NULL), 1);
	if (text)
		fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The fixture: two CAs of the same name (a CA made again under the
 * default name), a third of another name, a leaf of each of the first
 * two (serial 7 both), CRLs of each (CA 2's revoking 7), and a leaf that
 * is no CA. */
static EVP_PKEY *k1, *k2, *k3, *kl;
static X509 *ca1, *ca2, *ca3, *leaf1, *leaf2;
static X509_CRL *crl1, *crl2, *crl3;

static int setup(void **state)
{
	(void)state;
	if (tmpdir_make("test_trust", dir, sizeof(dir)))
		return -1;
	k1 = ec_key();
	k2 = ec_key();
	k3 = ec_key();
	kl = ec_key();
	ca1 = cert("Alliance CA", 1, k1, NULL, NULL, 1, -DAY, 100 * DAY);
	ca2 = cert("Alliance CA", 2, k2, NULL, NULL, 1, -DAY, 50 * DAY);
	ca3 = cert("Other CA", 3, k3, NULL, NULL, 1, -DAY, 100 * DAY);
	leaf1 = cert("badaguan", 7, kl, ca1, k1, 0, -DAY, 10 * DAY);
	leaf2 = cert("badaguan", 7, kl, ca2, k2, 0, -DAY, 10 * DAY);
	crl1 = crl(ca1, k1, 0);
	crl2 = crl(ca2, k2, 7);
	crl3 = crl(ca3, k3, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	X509_free(ca1);
	X509_free(ca2);
	X509_free(ca3);
	X509_free(leaf1);
	X509_free(leaf2);
	X509_CRL_free(crl1);
	X509_CRL_free(crl2);
	X509_CRL_free(crl3);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	EVP_PKEY_free(kl);
	return tmpdir_remove(dir);
}

/* expect_cas: loading path fails with code and err containing want. */
static void expect_cas(const char *path, int code, const char *want)
{
	struct trust t;

	assert_int_equal(trust_load_cas(&t, path, err, sizeof(err)), code);
	if (!strstr(err, want))
		fail_msg("got \"%s\", want \"%s\" in it", err, want);
	trust_free(&t);
}

/* ---- the bundle --------------------------------------------------------- */

static void test_bundle(void **state)
{
	X509 *both[] = { ca1, ca2, NULL };
	struct trust t;
	unsigned char id[32];
	unsigned len;

	(void)state;
	assert_int_equal(trust_load_cas(&t, write_pem("b.crt", both, NULL,
						      NULL, NULL),
					err, sizeof(err)), ERR_OK);
	assert_int_equal(t.n, 2);
	X509_digest(ca2, EVP_sha256(), id, &len);
	assert_int_equal(trust_find(&t, id), 1);
	assert_memory_not_equal(t.ids[0], t.ids[1], 32);
	/* the earliest expiry: ca2's, 50 days */
	assert_true(t.ca_expiry > time(NULL) + 49 * DAY &&
		    t.ca_expiry < time(NULL) + 51 * DAY);
	trust_free(&t);
	assert_int_equal(t.n, 0);
}

static void test_bad_bundles(void **state)
{
	X509 *with_leaf[] = { ca1, leaf1, NULL }, *twice[] = { ca1, ca1, NULL };
	X509 *one[] = { ca1, NULL }, *many[LIMIT_TRUST_CAS + 2];
	EVP_PKEY *keys[LIMIT_TRUST_CAS + 1];
	char buf[512];

	(void)state;
	expect_cas(write_pem("leaf.crt", with_leaf, NULL, NULL, NULL),
		   ERR_INVALID, "certificate 2 (/CN=badaguan) is not a CA");
	expect_cas(write_pem("twice.crt", twice, NULL, NULL, NULL),
		   ERR_INVALID, "CA /CN=Alliance CA is listed twice");
	expect_cas(write_pem("key.crt", one, NULL, k1, NULL), ERR_INVALID,
		   "a 'PRIVATE KEY' block");
	expect_cas(write_pem("crl.crt", one, (X509_CRL *[]){ crl1, NULL },
			     NULL, NULL), ERR_INVALID, "a 'X509 CRL' block");
	expect_cas(write_pem("empty.crt", NULL, NULL, NULL, ""), ERR_INVALID,
		   "no CA certificate");
	expect_cas(write_pem("junk.crt", one, NULL, NULL,
			     "-----BEGIN CERTIFICATE-----\nAAAA\n"
			     "-----END CERTIFICATE-----\n"), ERR_INVALID,
		   "certificate 2 does not decode");
	expect_cas(write_pem("cut.crt", one, NULL, NULL,
			     "-----BEGIN CERTIFICATE-----\nMIIB\n"), ERR_INVALID,
		   "unreadable PEM after certificate 1");
	expect_cas(path_of("missing.crt", buf, sizeof(buf)), ERR_IO,
		   "cannot open the trust file");
	/* one more than the limit */
	for (int i = 0; i <= LIMIT_TRUST_CAS; i++) {
		keys[i] = ec_key();
		many[i] = cert("CA", 100 + i, keys[i], NULL, NULL, 1, -DAY, DAY);
	}
	many[LIMIT_TRUST_CAS + 1] = NULL;
	expect_cas(write_pem("many.crt", many, NULL, NULL, NULL), ERR_TOOBIG,
		   "more than 8 CA certificates");
	for (int i = 0; i <= LIMIT_TRUST_CAS; i++) {
		X509_free(many[i]);
		EVP_PKEY_free(keys[i]);
	}
}

/* ---- the CRLs --------------------------------------------------------------- */

/* load_both: ca1 and ca2 with the CRL files list. */
static int load_both(struct trust *t, const char *list)
{
	X509 *both[] = { ca1, ca2, NULL };

	assert_int_equal(trust_load_cas(t, write_pem("both.crt", both, NULL,
						     NULL, NULL),
					err, sizeof(err)), ERR_OK);
	return trust_load_crls(t, list, err, sizeof(err));
}

static void test_crls_one_per_ca(void **state)
{
	struct trust t;
	char list[1200], a[512], b[512];

	(void)state;
	/* in either order, each CRL goes to the CA that signed it, though
	 * both CAs bear one name */
	snprintf(a, sizeof(a), "%s", write_pem("2.crl", NULL,
					       (X509_CRL *[]){ crl2, NULL },
					       NULL, NULL));
	snprintf(b, sizeof(b), "%s", write_pem("1.crl", NULL,
					       (X509_CRL *[]){ crl1, NULL },
					       NULL, NULL));
	snprintf(list, sizeof(list), "%s,%s", a, b);
	assert_int_equal(load_both(&t, list), ERR_OK);
	assert_int_equal(X509_CRL_verify(t.crls[0], k1), 1);
	assert_int_equal(X509_CRL_verify(t.crls[1], k2), 1);
	/* serial 7 is revoked by CA 2 only */
	assert_int_equal(trust_revoked(&t, 0, "07"), 0);
	assert_int_equal(trust_revoked(&t, 1, "07"), 1);
	assert_int_equal(trust_revoked(&t, 1, "08"), 0);
	assert_int_equal(trust_revoked(&t, 5, "07"), 0);
	assert_true(t.crl_next_update > time(NULL) + 29 * DAY);
	trust_free(&t);
}

static void expect_crls(const char *list, const char *want)
{
	struct trust t;

	assert_int_equal(load_both(&t, list), ERR_INVALID);
	if (!strstr(err, want))
		fail_msg("got \"%s\", want \"%s\" in it", err, want);
	trust_free(&t);
}

static void test_bad_crls(void **state)
{
	char list[1200], one[512], other[512];

	(void)state;
	snprintf(one, sizeof(one), "%s", write_pem("1.crl", NULL,
		 (X509_CRL *[]){ crl1, NULL }, NULL, NULL));
	snprintf(other, sizeof(other), "%s", write_pem("3.crl", NULL,
		 (X509_CRL *[]){ crl3, NULL }, NULL, NULL));
	expect_crls(one, "CA /CN=Alliance CA of the trust file has no CRL");
	snprintf(list, sizeof(list), "%s,%s", one, other);
	expect_crls(list, "a CRL of /CN=Other CA that no CA of the trust "
		    "file signed");
	snprintf(list, sizeof(list), "%s,%s", one, one);
	expect_crls(list, "a second CRL of CA /CN=Alliance CA");
	expect_crls(write_pem("not.crl", (X509 *[]){ ca1, NULL }, NULL, NULL,
			      NULL), "not a PEM CRL");
}

/* ---- the store and lookups ------------------------------------------------ */

/* verify: X509_verify_cert of leaf against store; its error (0: ok) and
 * the anchor's id. */
static int verify(X509_STORE *store, X509 *leaf, unsigned char id[32])
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok, e;

	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	ok = X509_verify_cert(ctx) == 1;
	e = X509_STORE_CTX_get_error(ctx);
	if (ok)
		assert_int_equal(trust_anchor_id(X509_STORE_CTX_get0_chain(ctx),
						 id), ERR_OK);
	X509_STORE_CTX_free(ctx);
	return ok ? 0 : e;
}

static void test_store(void **state)
{
	struct trust t;
	X509_STORE *store;
	char list[1200], a[512];
	unsigned char id[32];

	(void)state;
	snprintf(a, sizeof(a), "%s", write_pem("1.crl", NULL,
		 (X509_CRL *[]){ crl1, NULL }, NULL, NULL));
	snprintf(list, sizeof(list), "%s,%s", a, write_pem("2.crl", NULL,
		 (X509_CRL *[]){ crl2, NULL }, NULL, NULL));
	assert_int_equal(load_both(&t, list), ERR_OK);
	store = trust_store(&t);
	assert_non_null(store);
	/* CA 1's leaf verifies, vouched for by CA 1; CA 2's is revoked */
	assert_int_equal(verify(store, leaf1, id), 0);
	assert_int_equal(trust_find(&t, id), 0);
	assert_int_equal(verify(store, leaf2, id), X509_V_ERR_CERT_REVOKED);
	X509_STORE_free(store);
	assert_int_equal(trust_anchor_id(NULL, id), ERR_INVALID);
	trust_free(&t);
}

/* ---- the own certificate ------------------------------------------------- */

static void expect_own(const char *crt, const char *key, SSL_CTX *running,
		       const char *want)
{
	char c[512], k[512];

	snprintf(c, sizeof(c), "%s", crt);
	snprintf(k, sizeof(k), "%s", key);
	assert_int_equal(trust_own_check(c, k, running, NULL, err,
					 sizeof(err)), ERR_INVALID);
	if (!strstr(err, want))
		fail_msg("got \"%s\", want \"%s\" in it", err, want);
}

/* own_files: leaf1 into crt, its key into key, another key into other
 * (each a buffer of OWN_PATH bytes). */
#define OWN_PATH 512
static void own_files(char *crt, char *key, char *other)
{
	snprintf(crt, OWN_PATH, "%s", write_pem("own.crt",
		 (X509 *[]){ leaf1, NULL }, NULL, NULL, NULL));
	snprintf(key, OWN_PATH, "%s", write_pem("own.key", NULL, NULL, kl,
						NULL));
	snprintf(other, OWN_PATH, "%s", write_pem("other.key", NULL, NULL, k1,
						  NULL));
}

static void test_own_certificate(void **state)
{
	X509 *old = cert("hub", 20, kl, ca1, k1, 0, -2 * DAY, -DAY);
	X509 *later = cert("hub", 21, kl, ca1, k1, 0, DAY, 2 * DAY);
	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	X509 *rsa_cert = cert("hub", 22, rsa, ca1, k1, 0, -DAY, DAY);
	SSL_CTX *running = SSL_CTX_new(TLS_server_method());
	char crt[OWN_PATH], key[OWN_PATH], other[OWN_PATH];
	int64_t until = 0;

	(void)state;
	own_files(crt, key, other);
	assert_int_equal(trust_own_check(crt, key, NULL, &until, err,
					 sizeof(err)), ERR_OK);
	assert_true(until > time(NULL) + 9 * DAY);
	/* into a running context of the same key type */
	assert_int_equal(trust_own_install(running, crt, key), ERR_OK);
	assert_int_equal(trust_own_check(crt, key, running, NULL, err,
					 sizeof(err)), ERR_OK);

	expect_own(crt, other, NULL, "not the key of");
	expect_own(write_pem("old.crt", (X509 *[]){ old, NULL }, NULL, NULL,
			     NULL), key, NULL, "has expired");
	expect_own(write_pem("later.crt", (X509 *[]){ later, NULL }, NULL,
			     NULL, NULL), key, NULL, "is not valid yet");
	expect_own(write_pem("junk.crt", NULL, NULL, NULL, "junk"), key, NULL,
		   "not a readable PEM certificate");
	snprintf(crt, sizeof(crt), "%s", write_pem("rsa.crt",
		 (X509 *[]){ rsa_cert, NULL }, NULL, NULL, NULL));
	expect_own(crt, write_pem("rsa.key", NULL, NULL, rsa, NULL), running,
		   "a rsaEncryption key in place of a id-ecPublicKey key needs "
		   "a restart");
	/* the same files are fine where no EC key serves yet */
	assert_int_equal(trust_own_check(crt, write_pem("rsa.key", NULL, NULL,
							rsa, NULL),
					 NULL, NULL, err, sizeof(err)), ERR_OK);
	SSL_CTX_free(running);
	X509_free(old);
	X509_free(later);
	X509_free(rsa_cert);
	EVP_PKEY_free(rsa);
}

/* A reload serves the new pair, or on a refused one keeps what it had. */
static void test_own_reload(void **state)
{
	X509 *renewed = cert("hub", 23, kl, ca1, k1, 0, -DAY, 5 * DAY);
	SSL_CTX *running = SSL_CTX_new(TLS_server_method());
	char crt[OWN_PATH], key[OWN_PATH], other[OWN_PATH], fresh[OWN_PATH];
	int64_t until = 0;

	(void)state;
	own_files(crt, key, other);
	snprintf(fresh, sizeof(fresh), "%s", write_pem("renewed.crt",
		 (X509 *[]){ renewed, NULL }, NULL, NULL, NULL));
	assert_int_equal(trust_own_install(running, crt, key), ERR_OK);
	assert_int_equal(trust_own_reload(running, fresh, other, &until, err,
					  sizeof(err)), ERR_INVALID);
	assert_non_null(strstr(err, "not the key of"));
	assert_int_equal(until, 0);
	assert_int_equal(X509_cmp(SSL_CTX_get0_certificate(running), leaf1),
			 0);
	assert_int_equal(trust_own_reload(running, fresh, key, &until, err,
					  sizeof(err)), ERR_OK);
	assert_true(until > time(NULL) + 4 * DAY);
	assert_int_equal(X509_cmp(SSL_CTX_get0_certificate(running), renewed),
			 0);
	SSL_CTX_free(running);
	X509_free(renewed);
}

/* ---- main ------------------------------------------------------------- */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bundle),
		cmocka_unit_test(test_bad_bundles),
		cmocka_unit_test(test_crls_one_per_ca),
		cmocka_unit_test(test_bad_crls),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_own_certificate),
		cmocka_unit_test(test_own_reload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
