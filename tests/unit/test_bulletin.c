/* test_bulletin.c: unit tests of lib/bulletin.c (keys, signing and
 * verifying, content rules, base64); CAP and Atom are in
 * test_bulletin_render.c.
 *
 * Parts: fixtures (a fresh Ed25519 key pair written as PEM files); keys;
 * sign and open; content rules; base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "bulletin.h"
#include "err.h"
#include "alliance_limits.h"
#include "tmpdir.h"

/* ---- fixtures ------------------------------------------------------------- */

struct fx {
	EVP_PKEY *priv;             /* a fresh key */
	EVP_PKEY *other;            /* another one */
	char dir[64];               /* temp dir holding pub.pem, other.pem */
	struct bulletin_keys *keys; /* pins priv's public key only */
	char kid[BULLETIN_KEY_ID_LEN + 1];
};

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
	EVP_PKEY_CTX_free(c);
	return k;
}

/* write_key: k's public key (is_private 0) or private key as PEM into
 * dir/name. */
static void write_key(const char *dir, const char *name, EVP_PKEY *k,
		      int is_private)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(is_private ? PEM_write_PrivateKey(f, k, NULL, NULL, 0,
							   NULL, NULL)
				    : PEM_write_PUBKEY(f, k), 1);
	fclose(f);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char err[256];

	if (tmpdir_make("test_bulletin", fx->dir, sizeof(fx->dir)))
		return -1;
	fx->priv = new_key();
	fx->other = new_key();
	write_key(fx->dir, "pub.pem", fx->priv, 0);
	write_key(fx->dir, "other.pem", fx->other, 0);
	if (bulletin_keys_load("pub.pem", fx->dir, &fx->keys, err,
			       sizeof(err)) != ERR_OK)
		return -1;
	bulletin_key_id(fx->priv, fx->kid);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	int rc;

	bulletin_keys_free(&fx->keys);
	EVP_PKEY_free(fx->priv);
	EVP_PKEY_free(fx->other);
	rc = tmpdir_remove(fx->dir);
	free(fx);
	return rc;
}

/* sample: a valid content naming key id kid (strings are static). */
static void sample(BulletinContent *c, const char *kid)
{
	static char *area[] = { "badaguan", "zhongshan-lu" };

	alliance__v1__bulletin_content__init(c);
	c->id = "b-20261129150405-0a1b2c3d";
	c->key_id = (char *)kid;
	c->sender = "Li Wei";
	c->type = "alert";
	c->severity = "severe";
	c->urgency = "immediate";
	c->certainty = "observed";
	c->category = "public-safety";
	c->headline = "Burst water main";
	c->description = "A main burst on Zhongshan Road.\nAvoid the area.";
	c->cause = "Frost";
	c->response = "Crews on site";
	c->instructions = "Boil water";
	c->area = area;
	c->n_area = 2;
	c->sent = 1795964645;       /* 2026-11-29T15:04:05Z */
	c->expires = c->sent + 86400;
}

/* pack: c serialized into a new buffer (caller frees). */
static uint8_t *pack(const BulletinContent *c, size_t *len)
{
	uint8_t *buf;

	*len = alliance__v1__bulletin_content__get_packed_size(c);
	buf = malloc(*len + 1);
	alliance__v1__bulletin_content__pack(c, buf);
	return buf;
}

static int check(const BulletinContent *c)
{
	char why[256];

	return bulletin_check(c, why, sizeof(why));
}

/* ---- keys ---------------------------------------------------------------- */

static void test_key_id_is_sha256_prefix(void **state)
{
	struct fx *fx = *state;
	char id[BULLETIN_KEY_ID_LEN + 1];

	assert_int_equal(bulletin_key_id(fx->priv, id), ERR_OK);
	assert_int_equal(strlen(id), 16);
	assert_string_equal(id, fx->keys->keys[0].id);
	assert_non_null(bulletin_keys_find(fx->keys, id));
	assert_null(bulletin_keys_find(fx->keys, "0000000000000000"));
}

static void test_keys_load_several_and_refuse_bad(void **state)
{
	struct fx *fx = *state;
	struct bulletin_keys *ks = NULL;
	char err[256], path[128];
	FILE *f;

	assert_int_equal(bulletin_keys_load(" pub.pem , other.pem ", fx->dir,
					    &ks, err, sizeof(err)), ERR_OK);
	assert_int_equal(ks->n, 2);
	bulletin_keys_free(&ks);
	assert_null(ks);
	assert_int_equal(bulletin_keys_load(NULL, fx->dir, &ks, err,
					    sizeof(err)), ERR_OK);
	assert_int_equal(ks->n, 0);
	bulletin_keys_free(&ks);
	assert_int_equal(bulletin_keys_load("pub.pem,pub.pem", fx->dir, &ks,
					    err, sizeof(err)), ERR_INVALID);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(bulletin_keys_load("missing.pem", fx->dir, &ks, err,
					    sizeof(err)), ERR_IO);
	assert_non_null(strstr(err, "missing.pem"));
	snprintf(path, sizeof(path), "%s/junk.pem", fx->dir);
	f = fopen(path, "w");
	fputs("junk\n", f);
	fclose(f);
	assert_int_equal(bulletin_keys_load("junk.pem", fx->dir, &ks, err,
					    sizeof(err)), ERR_INVALID);
	unlink(path);
	assert_null(ks);
}

/* write_file: text into dir/name. */
static void write_file(const char *dir, const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* remove_file: dir/name gone. */
static void remove_file(const char *dir, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

/* A config file's keys are found beside it, whatever the working
 * directory; an absolute path is taken as it is. */
static void test_keys_from_config_relative_to_config(void **state)
{
	struct fx *fx = *state;
	struct bulletin_keys *ks = NULL;
	char config[128], abs[256], other_id[BULLETIN_KEY_ID_LEN + 1],
	     err[600], cwd[512];

	snprintf(config, sizeof(config), "%s/alliance.ini", fx->dir);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(bulletin_keys_from_config("pub.pem, other.pem", config,
						   &ks, err, sizeof(err)),
			 ERR_OK);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(ks->n, 2);
	bulletin_key_id(fx->other, other_id);
	assert_string_equal(ks->keys[0].id, fx->kid);
	assert_string_equal(ks->keys[1].id, other_id);
	bulletin_keys_free(&ks);
	snprintf(abs, sizeof(abs), "%s/other.pem", fx->dir);
	assert_int_equal(bulletin_keys_from_config(abs, "/nowhere/a.ini", &ks,
						   err, sizeof(err)), ERR_OK);
	assert_int_equal(ks->n, 1);
	assert_string_equal(ks->keys[0].id, other_id);
	bulletin_keys_free(&ks);
	/* relative to the config's directory, not the working one */
	assert_int_equal(bulletin_keys_from_config("pub.pem", "/nowhere/a.ini",
						   &ks, err, sizeof(err)),
			 ERR_IO);
	assert_non_null(strstr(err, "/nowhere/pub.pem"));
	assert_null(ks);
	/* none listed: an empty set */
	assert_int_equal(bulletin_keys_from_config(NULL, config, &ks, err,
						   sizeof(err)), ERR_OK);
	assert_int_equal(ks->n, 0);
	bulletin_keys_free(&ks);
}

/* assert_refused: list fails to load with code and both the config's
 * prefix and want in the reason, and nothing is returned. */
static void assert_refused(const struct fx *fx, const char *list, int code,
			   const char *want)
{
	struct bulletin_keys *ks = NULL;
	char config[128], prefix[160], err[600];

	snprintf(config, sizeof(config), "%s/alliance.ini", fx->dir);
	snprintf(prefix, sizeof(prefix), "%s: [bulletins] keys: ", config);
	assert_int_equal(bulletin_keys_from_config(list, config, &ks, err,
						   sizeof(err)), code);
	assert_null(ks);
	assert_memory_equal(err, prefix, strlen(prefix));
	if (!strstr(err, want))
		fail_msg("\"%s\" lacks \"%s\"", err, want);
	assert_int_equal(bulletin_keys_check(list, config, err, sizeof(err)),
			 code);
}

static void test_keys_from_config_refuses_bad(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *x = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);

	/* bad PEM: not PEM at all, and a truncated one */
	write_file(fx->dir, "junk.pem", "junk\n");
	assert_refused(fx, "pub.pem, junk.pem", ERR_INVALID,
		       "junk.pem: not a PEM public key");
	write_file(fx->dir, "cut.pem", "-----BEGIN PUBLIC KEY-----\n"
		   "MCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n");
	assert_refused(fx, "cut.pem", ERR_INVALID, "not a PEM public key");
	/* wrong key type: an X25519 public key is PEM but not Ed25519 */
	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &x), 1);
	EVP_PKEY_CTX_free(c);
	write_key(fx->dir, "x25519.pem", x, 0);
	EVP_PKEY_free(x);
	assert_refused(fx, "x25519.pem", ERR_INVALID,
		       "x25519.pem: not an Ed25519 public key");
	/* a private key where a public one belongs */
	write_key(fx->dir, "priv.pem", fx->priv, 1);
	assert_refused(fx, "priv.pem", ERR_INVALID, "not a PEM public key");
	assert_refused(fx, "pub.pem,missing.pem", ERR_IO, "missing.pem");
	assert_refused(fx, "other.pem, pub.pem ,other.pem", ERR_INVALID,
		       "listed twice");
	remove_file(fx->dir, "junk.pem");
	remove_file(fx->dir, "cut.pem");
	remove_file(fx->dir, "x25519.pem");
	remove_file(fx->dir, "priv.pem");
}

/* Several keys up to the limit load; one more is refused. */
static void test_keys_from_config_several_up_to_limit(void **state)
{
	struct fx *fx = *state;
	struct bulletin_keys *ks = NULL;
	char config[128], list[LIMIT_BULLETIN_KEYS * 32 + 32], name[32],
	     want[32], err[600];
	int i;

	snprintf(config, sizeof(config), "%s/alliance.ini", fx->dir);
	list[0] = '\0';
	for (i = 0; i <= LIMIT_BULLETIN_KEYS; i++) {
		EVP_PKEY *k = new_key();

		snprintf(name, sizeof(name), "k%d.pem", i);
		write_key(fx->dir, name, k, 0);
		EVP_PKEY_free(k);
		if (i < LIMIT_BULLETIN_KEYS)
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%s%s", i ? "," : "", name);
	}
	assert_int_equal(bulletin_keys_from_config(list, config, &ks, err,
						   sizeof(err)), ERR_OK);
	assert_int_equal(ks->n, LIMIT_BULLETIN_KEYS);
	for (i = 0; i < LIMIT_BULLETIN_KEYS; i++)
		assert_non_null(bulletin_keys_find(ks, ks->keys[i].id));
	bulletin_keys_free(&ks);
	snprintf(list + strlen(list), sizeof(list) - strlen(list), ",k%d.pem",
		 LIMIT_BULLETIN_KEYS);
	snprintf(want, sizeof(want), "more than %d keys", LIMIT_BULLETIN_KEYS);
	assert_refused(fx, list, ERR_INVALID, want);
	for (i = 0; i <= LIMIT_BULLETIN_KEYS; i++) {
		snprintf(name, sizeof(name), "k%d.pem", i);
		remove_file(fx->dir, name);
	}
}

/* A reload that fails keeps the set in force; one that loads replaces it. */
static void test_keys_reload(void **state)
{
	struct fx *fx = *state;
	struct bulletin_keys *in_force = NULL, *before;
	char config[128], err[600];

	snprintf(config, sizeof(config), "%s/alliance.ini", fx->dir);
	assert_int_equal(bulletin_keys_from_config("pub.pem", config,
						   &in_force, err,
						   sizeof(err)), ERR_OK);
	before = in_force;
	bulletin_keys_reload(&in_force, "pub.pem, missing.pem", config);
	assert_ptr_equal(in_force, before);
	assert_int_equal(in_force->n, 1);
	assert_string_equal(in_force->keys[0].id, fx->kid);
	bulletin_keys_reload(&in_force, "other.pem, pub.pem", config);
	assert_int_equal(in_force->n, 2);
	assert_non_null(bulletin_keys_find(in_force, fx->kid));
	bulletin_keys_free(&in_force);
}

/* signing_refused: bulletin_signing_key_load of dir/name fails with code,
 * returns no key and names want in its reason. */
static void signing_refused(const struct fx *fx, const char *name, int code,
			    const char *want)
{
	EVP_PKEY *k = (EVP_PKEY *)1;
	char path[128], id[BULLETIN_KEY_ID_LEN + 1], err[600];

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	assert_int_equal(bulletin_signing_key_load(path, &k, id, err,
						   sizeof(err)), code);
	assert_null(k);
	if (!strstr(err, want))
		fail_msg("\"%s\" lacks \"%s\"", err, want);
}

/* The operator's signing key: a PEM Ed25519 private key and nothing else. */
static void test_signing_key_load(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *k = NULL;
	char path[128], id[BULLETIN_KEY_ID_LEN + 1], err[600];

	write_key(fx->dir, "signing.key", fx->priv, 1);
	snprintf(path, sizeof(path), "%s/signing.key", fx->dir);
	assert_int_equal(bulletin_signing_key_load(path, &k, id, err,
						   sizeof(err)), ERR_OK);
	assert_non_null(k);
	assert_string_equal(id, fx->kid);
	EVP_PKEY_free(k);
	/* a public key, junk, nothing: refused, naming the file */
	signing_refused(fx, "pub.pem", ERR_INVALID,
			"pub.pem: not a PEM Ed25519 private key");
	write_file(fx->dir, "junk.key", "-----BEGIN PRIVATE KEY-----\n"
		   "junk\n-----END PRIVATE KEY-----\n");
	signing_refused(fx, "junk.key", ERR_INVALID,
			"junk.key: not a PEM Ed25519 private key");
	signing_refused(fx, "missing.key", ERR_IO, "missing.key");
	remove_file(fx->dir, "signing.key");
	remove_file(fx->dir, "junk.key");
}

/* ---- sign and open --------------------------------------------------------- */

static void test_sign_and_open(void **state)
{
	struct fx *fx = *state;
	BulletinContent c, *out = NULL;
	uint8_t sig[BULLETIN_SIG_LEN], *buf, *p;
	size_t len;
	char why[256];

	sample(&c, fx->kid);
	buf = pack(&c, &len);
	assert_int_equal(bulletin_sign(fx->priv, buf, len, sig), ERR_OK);
	assert_int_equal(bulletin_open(fx->keys, buf, len, sig, sizeof(sig),
				       &out, why, sizeof(why)), ERR_OK);
	assert_string_equal(out->headline, "Burst water main");
	assert_true(bulletin_targets(out, "badaguan"));
	assert_false(bulletin_targets(out, "elsewhere"));
	bulletin_content_free(&out);

	/* one changed letter of the headline, or a flipped signature bit */
	p = memmem(buf, len, "Burst", 5);
	assert_non_null(p);
	*p = 'C';
	assert_int_equal(bulletin_open(fx->keys, buf, len, sig, sizeof(sig),
				       &out, why, sizeof(why)), ERR_DENIED);
	*p = 'B';
	sig[0] ^= 1;
	assert_int_equal(bulletin_open(fx->keys, buf, len, sig, sizeof(sig),
				       &out, why, sizeof(why)), ERR_DENIED);
	assert_non_null(strstr(why, "does not verify"));
	assert_int_equal(bulletin_open(fx->keys, buf, len, sig, 10, &out, why,
				       sizeof(why)), ERR_INVALID);
	assert_null(out);
	/* the key's verifier serves again after refusals */
	sig[0] ^= 1;
	assert_int_equal(bulletin_open(fx->keys, buf, len, sig, sizeof(sig),
				       &out, why, sizeof(why)), ERR_OK);
	bulletin_content_free(&out);
	free(buf);
}

static void test_open_refuses_foreign_key(void **state)
{
	struct fx *fx = *state;
	BulletinContent c, *out = NULL;
	uint8_t sig[BULLETIN_SIG_LEN], *buf;
	char other_id[BULLETIN_KEY_ID_LEN + 1], why[256];
	size_t len;

	/* signed and named by a key that is not pinned */
	bulletin_key_id(fx->other, other_id);
	sample(&c, other_id);
	buf = pack(&c, &len);
	bulletin_sign(fx->other, buf, len, sig);
	assert_int_equal(bulletin_open(fx->keys, buf, len, sig, sizeof(sig),
				       &out, why, sizeof(why)), ERR_DENIED);
	assert_non_null(strstr(why, "not pinned"));
	free(buf);
	/* naming the pinned key, signed by the other */
	sample(&c, fx->kid);
	buf = pack(&c, &len);
	bulletin_sign(fx->other, buf, len, sig);
	assert_int_equal(bulletin_open(fx->keys, buf, len, sig, sizeof(sig),
				       &out, why, sizeof(why)), ERR_DENIED);
	free(buf);
}

static void test_open_refuses_nul_and_garbage(void **state)
{
	struct fx *fx = *state;
	BulletinContent c, *out = NULL;
	uint8_t sig[BULLETIN_SIG_LEN] = { 0 }, *buf, *p;
	char why[256];
	size_t len;

	sample(&c, fx->kid);
	c.headline = "Burst XXter main";
	buf = pack(&c, &len);
	/* a NUL inside the headline: protobuf-c would cut it there */
	p = memmem(buf, len, "XX", 2);
	assert_non_null(p);
	p[0] = '\0';
	bulletin_sign(fx->priv, buf, len, sig);
	assert_int_equal(bulletin_open(fx->keys, buf, len, sig, sizeof(sig),
				       &out, why, sizeof(why)), ERR_INVALID);
	assert_non_null(strstr(why, "canonical"));
	free(buf);
	assert_int_equal(bulletin_open(fx->keys, (const uint8_t *)"\xff\xff",
				       2, sig, sizeof(sig), &out, why,
				       sizeof(why)), ERR_INVALID);
}

/* ---- content rules ------------------------------------------------------- */

static void test_check_rules(void **state)
{
	struct fx *fx = *state;
	BulletinContent c;
	char *refs[] = { "b-old" }, *self[] = { "b-20261129150405-0a1b2c3d" };
	char *dup[] = { "badaguan", "badaguan" }, *bad_area[] = { "Bad Id" };
	char big[LIMIT_BULLETIN_TEXT + 2];

	sample(&c, fx->kid);
	assert_int_equal(check(&c), ERR_OK);
#define BAD(field, value) do { sample(&c, fx->kid); c.field = value; \
	assert_int_equal(check(&c), ERR_INVALID); } while (0)
	BAD(id, "bad id");
	BAD(id, "");
	BAD(key_id, "ABCDEF0123456789");
	BAD(key_id, "abc");
	BAD(type, "warning");
	BAD(severity, "huge");
	BAD(urgency, "now");
	BAD(certainty, "sure");
	BAD(category, "weather-ish");
	BAD(headline, "");
	BAD(headline, "line\nbreak");
	BAD(headline, "bell\a");
	BAD(description, "");
	BAD(description, "bad \xc3\x28 utf8");
	BAD(instructions, "nonchar \xef\xbf\xbe");
	BAD(sent, 100);
	BAD(expires, c.sent);
	BAD(expires, c.sent + LIMIT_BULLETIN_LIFETIME_S + 1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	BAD(cause, big);
	BAD(cause_en, big);
	BAD(headline_en, "line\nbreak");
	BAD(description_en, "bad \xc3\x28 utf8");
	/* English text needs its headline and description */
	BAD(instructions_en, "Boil water");
	BAD(headline_en, "Burst water main");
	BAD(description_en, "A main burst.");
#undef BAD
	sample(&c, fx->kid);
	assert_false(bulletin_has_english(&c));
	c.headline_en = "Burst water main";
	c.description_en = "A main burst.";
	assert_true(bulletin_has_english(&c));
	assert_int_equal(check(&c), ERR_OK);
	/* references: none on an alert, some on update and cancel */
	sample(&c, fx->kid);
	c.references = refs;
	c.n_references = 1;
	assert_int_equal(check(&c), ERR_INVALID);
	c.type = "update";
	assert_int_equal(check(&c), ERR_OK);
	c.type = "cancel";
	assert_int_equal(check(&c), ERR_OK);
	c.references = self;
	assert_int_equal(check(&c), ERR_INVALID);
	c.n_references = 0;
	assert_int_equal(check(&c), ERR_INVALID);
	/* area */
	sample(&c, fx->kid);
	c.area = dup;
	assert_int_equal(check(&c), ERR_INVALID);
	c.area = bad_area;
	c.n_area = 1;
	assert_int_equal(check(&c), ERR_INVALID);
	c.n_area = 0;
	assert_int_equal(check(&c), ERR_OK);
	assert_true(bulletin_targets(&c, "anyone"));
	/* multi-line texts keep line breaks and tabs */
	c.description = "one\r\ntwo\tthree";
	assert_int_equal(check(&c), ERR_OK);
}

/* ---- base64 ---------------------------------------------------------------- */

/* The check-in flag is signed: adding it to a bulletin signed without it,
 * or taking it off one signed with it, breaks the signature; a cancel
 * cannot carry it. */
static void test_check_in_is_signed(void **state)
{
	struct fx *fx = *state;
	BulletinContent c, *out = NULL;
	/* field 23, varint: tag (23 << 3 | 0) = 184 as a varint, then 1 */
	static const uint8_t flag[] = { 0xb8, 0x01, 0x01 };
	uint8_t sig[BULLETIN_SIG_LEN], *buf, *more;
	size_t len;
	char why[256];

	sample(&c, fx->kid);
	c.check_in = 1;
	buf = pack(&c, &len);
	assert_true(len > sizeof(flag));
	/* the flag is the last field packed */
	assert_memory_equal(buf + len - sizeof(flag), flag, sizeof(flag));
	assert_int_equal(bulletin_sign(fx->priv, buf, len, sig), ERR_OK);
	assert_int_equal(bulletin_open(fx->keys, buf, len, sig, sizeof(sig),
				       &out, why, sizeof(why)), ERR_OK);
	assert_true(out->check_in);
	bulletin_content_free(&out);
	/* taken off: still canonical content, but not what was signed */
	assert_int_equal(bulletin_open(fx->keys, buf, len - sizeof(flag), sig,
				       sizeof(sig), &out, why, sizeof(why)),
			 ERR_DENIED);
	assert_non_null(strstr(why, "does not verify"));
	/* set to false in place: refused too (not canonical) */
	buf[len - 1] = 0;
	assert_int_not_equal(bulletin_open(fx->keys, buf, len, sig,
					   sizeof(sig), &out, why,
					   sizeof(why)), ERR_OK);
	assert_null(out);
	free(buf);

	/* added to one signed without it */
	c.check_in = 0;
	buf = pack(&c, &len);
	assert_int_equal(bulletin_sign(fx->priv, buf, len, sig), ERR_OK);
	more = malloc(len + sizeof(flag));
	memcpy(more, buf, len);
	memcpy(more + len, flag, sizeof(flag));
	assert_int_equal(bulletin_open(fx->keys, more, len + sizeof(flag),
				       sig, sizeof(sig), &out, why,
				       sizeof(why)), ERR_DENIED);
	assert_null(out);
	free(more);
	free(buf);

	/* a cancel asks no one to check in; an update may */
	static char *ref[] = { "b-1" };
	c.type = "cancel";
	c.references = ref;
	c.n_references = 1;
	c.check_in = 1;
	assert_int_equal(check(&c), ERR_INVALID);
	c.type = "update";
	assert_int_equal(check(&c), ERR_OK);
}

static void test_base64(void **state)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba",
					  "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v",
					   "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	uint8_t *out;
	size_t len, i;
	char *e;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		e = bulletin_b64_encode((const uint8_t *)in[i], strlen(in[i]));
		assert_string_equal(e, enc[i]);
		free(e);
		assert_int_equal(bulletin_b64_decode(enc[i], &out, &len),
				 ERR_OK);
		assert_int_equal(len, strlen(in[i]));
		assert_memory_equal(out, in[i], len);
		free(out);
	}
	assert_int_equal(bulletin_b64_decode("Zm9", &out, &len), ERR_INVALID);
	assert_int_equal(bulletin_b64_decode("Zm 9", &out, &len), ERR_INVALID);
	assert_int_equal(bulletin_b64_decode("Z===", &out, &len), ERR_INVALID);
	assert_int_equal(bulletin_b64_decode("Zg==Zg==", &out, &len),
			 ERR_INVALID);
	assert_int_equal(bulletin_b64_decode("Zm9v!A==", &out, &len),
			 ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_id_is_sha256_prefix),
		cmocka_unit_test(test_keys_load_several_and_refuse_bad),
		cmocka_unit_test(test_keys_from_config_relative_to_config),
		cmocka_unit_test(test_keys_from_config_refuses_bad),
		cmocka_unit_test(test_keys_from_config_several_up_to_limit),
		cmocka_unit_test(test_keys_reload),
		cmocka_unit_test(test_signing_key_load),
		cmocka_unit_test(test_sign_and_open),
		cmocka_unit_test(test_open_refuses_foreign_key),
		cmocka_unit_test(test_open_refuses_nul_and_garbage),
		cmocka_unit_test(test_check_rules),
		cmocka_unit_test(test_check_in_is_signed),
		cmocka_unit_test(test_base64),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
