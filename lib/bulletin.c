/* bulletin.c: signed crisis bulletins, shared by hub, node and alliancectl
 * (see bulletin.h).
 *
 * Trust: nothing of a bulletin is used before bulletin_open has checked
 * the size, decoded the signed bytes canonically, applied the content
 * rules and verified the Ed25519 signature under the pinned key the
 * content names. Parts, in order: the word lists and CAP mapping; keys;
 * signing and verifying; content rules; base64. CAP and Atom are
 * rendered by bulletin_render.c. */
#include <libgen.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulletin.h"
#include "err.h"
#include "alliance_limits.h"
#include "log.h"
#include "text.h"

/* Bulletins sent before this (2000-01-01) are someone's clock gone wrong. */
#define BULLETIN_SENT_MIN 946684800

/* ---- word lists and the CAP mapping ------------------------------------ */

/* Each list maps our word to CAP's; the first column is what is signed. */
struct word {
	const char *ours;
	const char *cap;
};

static const struct word types[] = {
	{ "alert", "Alert" }, { "update", "Update" }, { "cancel", "Cancel" },
	{ NULL, NULL }
};
static const struct word severities[] = {
	{ "extreme", "Extreme" }, { "severe", "Severe" },
	{ "moderate", "Moderate" }, { "minor", "Minor" }, { NULL, NULL }
};
static const struct word urgencies[] = {
	{ "immediate", "Immediate" }, { "expected", "Expected" },
	{ "future", "Future" }, { NULL, NULL }
};
static const struct word certainties[] = {
	{ "observed", "Observed" }, { "likely", "Likely" },
	{ "possible", "Possible" }, { NULL, NULL }
};
/* The catalog's categories (DESIGN.md "Data") and a few of a crisis's own,
 * each with the CAP 1.2 category it is filed under. */
static const struct word categories[] = {
	{ "public-safety", "Safety" },
	{ "health-maternity", "Health" },
	{ "elderly-care", "Health" },
	{ "disability", "Health" },
	{ "environment", "Env" },
	{ "housing", "Infra" },
	{ "family-children", "Other" },
	{ "employment", "Other" },
	{ "legal-civil", "Other" },
	{ "education-culture", "Other" },
	{ "neighbourhood-life", "Other" },
	{ "other", "Other" },
	{ "weather", "Met" },
	{ "geological", "Geo" },
	{ "fire", "Fire" },
	{ "rescue", "Rescue" },
	{ "security", "Security" },
	{ "transport", "Transport" },
	{ "infrastructure", "Infra" },
	{ "cbrne", "CBRNE" },
	{ NULL, NULL }
};

static const struct word *word_list(const char *field)
{
	if (strcmp(field, "type") == 0)
		return types;
	if (strcmp(field, "severity") == 0)
		return severities;
	if (strcmp(field, "urgency") == 0)
		return urgencies;
	if (strcmp(field, "certainty") == 0)
		return certainties;
	if (strcmp(field, "category") == 0)
		return categories;
	return NULL;
}

/* word_cap: CAP's word for ours in list, or fallback. */
static const char *word_cap(const struct word *list, const char *ours,
			    const char *fallback)
{
	for (; list->ours; list++)
		if (ours && strcmp(list->ours, ours) == 0)
			return list->cap;
	return fallback;
}

int bulletin_valid_word(const char *field, const char *value)
{
	const struct word *list = word_list(field);

	return list && value && word_cap(list, value, NULL) != NULL;
}

const char *bulletin_cap_word(const char *field, const char *ours)
{
	const struct word *list = word_list(field);

	return list ? word_cap(list, ours, NULL) : NULL;
}

/* ---- keys ----------------------------------------------------------------- */

int bulletin_key_id(EVP_PKEY *pkey, char *out)
{
	unsigned char raw[32], md[SHA256_DIGEST_LENGTH];
	size_t len = sizeof(raw);
	int i;

	if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != 32)
		return ERR_INVALID;
	SHA256(raw, len, md);
	for (i = 0; i < BULLETIN_KEY_ID_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[BULLETIN_KEY_ID_LEN] = '\0';
	return ERR_OK;
}

/* key_clear: free what k holds. */
static void key_clear(struct bulletin_key *k)
{
	EVP_MD_CTX_free(k->verifier);
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

/* load_one: one PEM public key file into k, with its verifier. On failure
 * k may hold part of it: the caller key_clears k. */
static int load_one(const char *path, struct bulletin_key *k, char *err,
		    size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %m", path);
		return ERR_IO;
	}
	k->pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!k->pkey) {
		snprintf(err, errlen, "%s: not a PEM public key", path);
		return ERR_INVALID;
	}
	if (bulletin_key_id(k->pkey, k->id) != ERR_OK) {
		snprintf(err, errlen, "%s: not an Ed25519 public key", path);
		return ERR_INVALID;
	}
	/* set up once (see verify) */
	k->verifier = EVP_MD_CTX_new();
	if (!k->verifier || EVP_DigestVerifyInit(k->verifier, NULL, NULL, NULL,
						 k->pkey) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: cannot set up verifying with the "
			 "key", path);
		return ERR_FAIL;
	}
	return ERR_OK;
}

int bulletin_keys_load(const char *list, const char *base_dir,
		       struct bulletin_keys **out, char *err, size_t errlen)
{
	struct bulletin_keys *ks;
	char *copy = NULL, *cursor, *item;
	int rc = ERR_NOMEM;

	*out = NULL;
	ks = calloc(1, sizeof(*ks));
	if (!ks)
		goto err;
	if (!list) {
		*out = ks;
		return ERR_OK;
	}
	ks->keys = calloc(LIMIT_BULLETIN_KEYS, sizeof(*ks->keys));
	copy = strdup(list);
	if (!ks->keys || !copy)
		goto err;
	cursor = copy;
	while ((item = strsep(&cursor, ",")) != NULL) {
		char path[4096];
		size_t i;

		while (*item == ' ' || *item == '\t')
			item++;
		for (i = strlen(item); i && (item[i - 1] == ' ' ||
					     item[i - 1] == '\t'); i--)
			item[i - 1] = '\0';
		if (!*item)
			continue;
		if (ks->n == LIMIT_BULLETIN_KEYS) {
			snprintf(err, errlen, "more than %d keys",
				 LIMIT_BULLETIN_KEYS);
			rc = ERR_INVALID;
			goto err;
		}
		if (item[0] == '/' || !base_dir)
			snprintf(path, sizeof(path), "%s", item);
		else
			snprintf(path, sizeof(path), "%s/%s", base_dir, item);
		rc = load_one(path, &ks->keys[ks->n], err, errlen);
		if (rc == ERR_OK && bulletin_keys_find(ks, ks->keys[ks->n].id)) {
			snprintf(err, errlen, "%s: key %s is listed twice", path,
				 ks->keys[ks->n].id);
			rc = ERR_INVALID;
		}
		if (rc != ERR_OK) {
			key_clear(&ks->keys[ks->n]);   /* not counted yet */
			goto err;
		}
		ks->n++;
	}
	free(copy);
	*out = ks;
	return ERR_OK;
err:
	if (rc == ERR_NOMEM)
		snprintf(err, errlen, "out of memory loading keys");
	free(copy);
	bulletin_keys_free(&ks);
	return rc;
}

int bulletin_keys_from_config(const char *list, const char *config_path,
			      struct bulletin_keys **out, char *err,
			      size_t errlen)
{
	char *copy = strdup(config_path), why[512];
	int rc;

	*out = NULL;
	if (!copy) {
		snprintf(err, errlen, "out of memory loading keys");
		return ERR_NOMEM;
	}
	rc = bulletin_keys_load(list, dirname(copy), out, why, sizeof(why));
	if (rc != ERR_OK)
		snprintf(err, errlen, "%s: [bulletins] keys: %s", config_path,
			 why);
	free(copy);
	return rc;
}

int bulletin_keys_check(const char *list, const char *config_path,
			char *err, size_t errlen)
{
	struct bulletin_keys *keys = NULL;
	int rc = bulletin_keys_from_config(list, config_path, &keys, err,
					   errlen);

	bulletin_keys_free(&keys);
	return rc;
}

void bulletin_keys_log(const struct bulletin_keys *keys)
{
	size_t i;

	for (i = 0; i < keys->n; i++)
		log_info("bulletins: pinned key %s", keys->keys[i].id);
}

void bulletin_keys_reload(struct bulletin_keys **in_force, const char *list,
			  const char *config_path)
{
	struct bulletin_keys *keys = NULL;
	char err[600];

	if (bulletin_keys_from_config(list, config_path, &keys, err,
				      sizeof(err)) != ERR_OK) {
		log_error("reload: %s; keeping the pinned keys in force", err);
		return;
	}
	bulletin_keys_free(in_force);
	*in_force = keys;
	bulletin_keys_log(keys);
	log_info("reload: %zu bulletin key(s) pinned", keys->n);
}

int bulletin_signing_key_load(const char *path, EVP_PKEY **out, char *id,
			      char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "signing key %s: %m", path);
		return ERR_IO;
	}
	*out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!*out || bulletin_key_id(*out, id) != ERR_OK) {
		snprintf(err, errlen, "signing key %s: not a PEM Ed25519 "
			 "private key", path);
		EVP_PKEY_free(*out);
		*out = NULL;
		return ERR_INVALID;
	}
	return ERR_OK;
}

void bulletin_keys_free(struct bulletin_keys **keys)
{
	size_t i;

	if (!*keys)
		return;
	for (i = 0; i < (*keys)->n; i++)
		key_clear(&(*keys)->keys[i]);
	free((*keys)->keys);
	free(*keys);
	*keys = NULL;
}

const struct bulletin_key *bulletin_keys_find(const struct bulletin_keys *keys,
					      const char *key_id)
{
	size_t i;

	if (!keys || !key_id)
		return NULL;
	for (i = 0; i < keys->n; i++)
		if (strcmp(keys->keys[i].id, key_id) == 0)
			return &keys->keys[i];
	return NULL;
}

/* ---- signing and verifying ---------------------------------------------- */

int bulletin_sign(EVP_PKEY *key, const uint8_t *buf, size_t len,
		  uint8_t sig[BULLETIN_SIG_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t siglen = BULLETIN_SIG_LEN;
	int ok;

	/* Ed25519 hashes internally: no digest is given */
	ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(md, sig, &siglen, buf, len) == 1 &&
	     siglen == BULLETIN_SIG_LEN;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok ? ERR_OK : ERR_FAIL;
}

/* verify: whether sig is k's Ed25519 signature of buf. A context serves
 * one signature; a copy of k's verifier is used because OpenSSL 3 looks
 * the algorithm up again at every EVP_DigestVerifyInit: copying costs
 * 0.2 us where setting up costs 2.2 us (the verification itself ~105 us).
 * The verifier is only read, so threads may verify under one key. */
static int verify(const struct bulletin_key *k, const uint8_t *buf,
		  size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	ok = md && EVP_MD_CTX_copy_ex(md, k->verifier) == 1 &&
	     EVP_DigestVerify(md, sig, siglen, buf, len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

int bulletin_decode(const uint8_t *content, size_t len, BulletinContent **out)
{
	BulletinContent *c;

	*out = NULL;
	if (len > LIMIT_BULLETIN_BYTES)
		return ERR_TOOBIG;
	c = alliance__v1__bulletin_content__unpack(NULL, len, content);
	if (!c)
		return ERR_INVALID;
	/* protobuf-c cuts a string at a NUL and keeps the last of repeated
	 * scalars: only bytes that re-encode to their own length are taken */
	if (alliance__v1__bulletin_content__get_packed_size(c) != len) {
		alliance__v1__bulletin_content__free_unpacked(c, NULL);
		return ERR_INVALID;
	}
	*out = c;
	return ERR_OK;
}

void bulletin_content_free(BulletinContent **c)
{
	if (*c)
		alliance__v1__bulletin_content__free_unpacked(*c, NULL);
	*c = NULL;
}

int bulletin_open(const struct bulletin_keys *keys, const uint8_t *content,
		  size_t content_len, const uint8_t *sig, size_t sig_len,
		  BulletinContent **out, char *why, size_t whylen)
{
	const struct bulletin_key *k;
	BulletinContent *c = NULL;
	int rc;

	*out = NULL;
	if (content_len > LIMIT_BULLETIN_BYTES) {
		snprintf(why, whylen, "signed_content: over %u bytes",
			 LIMIT_BULLETIN_BYTES);
		return ERR_TOOBIG;
	}
	if (sig_len != BULLETIN_SIG_LEN) {
		snprintf(why, whylen, "signature: %zu bytes, an Ed25519 "
			 "signature has %d", sig_len, BULLETIN_SIG_LEN);
		return ERR_INVALID;
	}
	rc = bulletin_decode(content, content_len, &c);
	if (rc != ERR_OK) {
		snprintf(why, whylen, "signed_content: not a canonical "
			 "BulletinContent (malformed, or a string holding NUL)");
		return ERR_INVALID;
	}
	rc = bulletin_check(c, why, whylen);
	if (rc != ERR_OK)
		goto fail;
	k = bulletin_keys_find(keys, c->key_id);
	if (!k) {
		snprintf(why, whylen, "signature: key %s is not pinned here",
			 c->key_id);
		rc = ERR_DENIED;
		goto fail;
	}
	if (!verify(k, content, content_len, sig, sig_len)) {
		snprintf(why, whylen, "signature: does not verify under key %s",
			 k->id);
		rc = ERR_DENIED;
		goto fail;
	}
	*out = c;
	return ERR_OK;
fail:
	bulletin_content_free(&c);
	return rc;
}

/* ---- content rules ------------------------------------------------------- */

static int fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return ERR_INVALID;
}

/* text_ok: s is valid UTF-8 of at most max bytes with no control
 * character, except tab and line breaks when multiline. */
static const char *text_ok(const char *s, size_t max, int multiline)
{
	size_t len = s ? strlen(s) : 0, i;

	if (len > max)
		return "too long";
	if (!text_utf8_valid(s, len))
		return "not valid UTF-8";
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == 0x7f || (ch < 0x20 && !(multiline && (ch == '\n' ||
			ch == '\r' || ch == '\t'))))
			return "holds a control character";
		/* U+FFFE and U+FFFF are not characters XML may carry */
		if (ch == 0xef && i + 2 < len &&
		    (unsigned char)s[i + 1] == 0xbf &&
		    ((unsigned char)s[i + 2] & 0xfe) == 0xbe)
			return "holds a non-character (U+FFFE/U+FFFF)";
	}
	return NULL;
}

static int key_id_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == BULLETIN_KEY_ID_LEN;
}

int bulletin_check(const BulletinContent *c, char *why, size_t whylen)
{
	static const struct {
		const char *name;
		size_t off;
		size_t max;
		int multiline;
		int required;
	} texts[] = {
#define T(f, max, ml, req) { #f, offsetof(BulletinContent, f), max, ml, req }
		T(sender, LIMIT_NAME, 0, 1),
		T(headline, LIMIT_BULLETIN_HEADLINE, 0, 1),
		T(description, LIMIT_BULLETIN_TEXT, 1, 1),
		T(cause, LIMIT_BULLETIN_TEXT, 1, 0),
		T(response, LIMIT_BULLETIN_TEXT, 1, 0),
		T(instructions, LIMIT_BULLETIN_TEXT, 1, 0),
		T(headline_en, LIMIT_BULLETIN_HEADLINE, 0, 0),
		T(description_en, LIMIT_BULLETIN_TEXT, 1, 0),
		T(cause_en, LIMIT_BULLETIN_TEXT, 1, 0),
		T(response_en, LIMIT_BULLETIN_TEXT, 1, 0),
		T(instructions_en, LIMIT_BULLETIN_TEXT, 1, 0),
#undef T
	};
	int is_alert;
	size_t i, j;

	if (!text_record_id_valid(c->id))
		return fail(why, whylen, "id: 1 to %d of [A-Za-z0-9._-]",
			    LIMIT_RECORD_ID);
	if (!key_id_valid(c->key_id))
		return fail(why, whylen, "key_id: must be %d lower-case hex",
			    BULLETIN_KEY_ID_LEN);
	if (!bulletin_valid_word("type", c->type))
		return fail(why, whylen, "type: must be alert, update or cancel");
	if (!bulletin_valid_word("severity", c->severity))
		return fail(why, whylen, "severity: must be extreme, severe, "
			    "moderate or minor");
	if (!bulletin_valid_word("urgency", c->urgency))
		return fail(why, whylen, "urgency: must be immediate, expected "
			    "or future");
	if (!bulletin_valid_word("certainty", c->certainty))
		return fail(why, whylen, "certainty: must be observed, likely "
			    "or possible");
	if (!bulletin_valid_word("category", c->category))
		return fail(why, whylen, "category: not a known category");
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *s = *(char *const *)((const char *)c + texts[i].off);
		const char *bad = text_ok(s, texts[i].max, texts[i].multiline);

		if (bad)
			return fail(why, whylen, "%s: %s (at most %zu bytes of "
				    "text)", texts[i].name, bad, texts[i].max);
		if (texts[i].required && (!s || !*s))
			return fail(why, whylen, "%s: missing", texts[i].name);
	}
	if (bulletin_has_english(c) && (!*c->headline_en ||
					!*c->description_en))
		return fail(why, whylen, "%s: missing (English text needs a "
			    "headline_en and a description_en)",
			    *c->headline_en ? "description_en" : "headline_en");
	is_alert = strcmp(c->type, "alert") == 0;
	if (is_alert && c->n_references)
		return fail(why, whylen, "references: an alert references "
			    "nothing; use update or cancel");
	if (!is_alert && c->n_references == 0)
		return fail(why, whylen, "references: an %s names the "
			    "bulletin it replaces", c->type);
	if (c->check_in && strcmp(c->type, "cancel") == 0)
		return fail(why, whylen, "check_in: a cancel asks no one to "
			    "check in");
	if (c->n_references > LIMIT_BULLETIN_REFS)
		return fail(why, whylen, "references: more than %d",
			    LIMIT_BULLETIN_REFS);
	for (i = 0; i < c->n_references; i++) {
		if (!text_record_id_valid(c->references[i]))
			return fail(why, whylen, "references[%zu]: not a "
				    "bulletin id", i);
		if (strcmp(c->references[i], c->id) == 0)
			return fail(why, whylen, "references[%zu]: a bulletin "
				    "cannot reference itself", i);
	}
	if (c->n_area > LIMIT_BULLETIN_AREA)
		return fail(why, whylen, "area: more than %d communities",
			    LIMIT_BULLETIN_AREA);
	for (i = 0; i < c->n_area; i++) {
		if (!text_community_valid(c->area[i]))
			return fail(why, whylen, "area[%zu]: not a community "
				    "id", i);
		for (j = 0; j < i; j++)
			if (strcmp(c->area[i], c->area[j]) == 0)
				return fail(why, whylen, "area[%zu]: %s is "
					    "listed twice", i, c->area[i]);
	}
	if (c->sent < BULLETIN_SENT_MIN)
		return fail(why, whylen, "sent: before the year 2000");
	if (c->expires <= c->sent)
		return fail(why, whylen, "expires: not after sent");
	if (c->expires - c->sent > LIMIT_BULLETIN_LIFETIME_S)
		return fail(why, whylen, "expires: more than %d days after "
			    "sent", LIMIT_BULLETIN_LIFETIME_S / 86400);
	return ERR_OK;
}

int bulletin_has_english(const BulletinContent *c)
{
	const char *const en[] = { c->headline_en, c->description_en,
				   c->cause_en, c->response_en,
				   c->instructions_en };
	size_t i;

	for (i = 0; i < sizeof(en) / sizeof(en[0]); i++)
		if (en[i] && *en[i])
			return 1;
	return 0;
}

int bulletin_targets(const BulletinContent *c, const char *community)
{
	size_t i;

	if (c->n_area == 0)
		return 1;
	for (i = 0; i < c->n_area; i++)
		if (strcmp(c->area[i], community) == 0)
			return 1;
	return 0;
}

/* ---- base64 ---------------------------------------------------------------- */

char *bulletin_b64_encode(const uint8_t *buf, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (!out)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	return out;
}

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int bulletin_b64_decode(const char *s, uint8_t **out, size_t *len)
{
	size_t n = strlen(s), i, o = 0;
	uint8_t *buf;

	*out = NULL;
	*len = 0;
	if (n % 4)
		return ERR_INVALID;
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return ERR_NOMEM;
	for (i = 0; i < n; i += 4) {
		int v[4], k, pad = 0;

		for (k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			v[k] = pad ? -1 : b64_value(s[i + k]);
			if (v[k] < 0)
				goto bad;
		}
		buf[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			buf[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			buf[o++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
	}
	*out = buf;
	*len = o;
	return ERR_OK;
bad:
	free(buf);
	return ERR_INVALID;
}
