/* bulletin.h: crisis bulletins as hub, node and alliancectl share them.
 *
 * A bulletin is a serialized BulletinContent signed with a district Ed25519
 * key by the tool that issues it; the signed bytes travel verbatim. This
 * module holds the pinned public keys (several, so a key can be rotated),
 * key ids, signing and verifying, the content rules both daemons apply
 * alike, and base64 for the HTTP body: everything about trust. The two
 * renderings other tools read (CAP 1.2 XML and an Atom feed) are
 * bulletin_render.h; the store of bulletins is bulletin_store.h.
 *
 * Sections: keys; signing and verifying; content rules; base64. */
#ifndef ALLIANCE_BULLETIN_H
#define ALLIANCE_BULLETIN_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "alliance.pb-c.h"

typedef Alliance__V1__BulletinContent BulletinContent;

/* Hex characters of a key id: the first 16 of SHA-256(raw public key). */
#define BULLETIN_KEY_ID_LEN 16
/* An Ed25519 signature. */
#define BULLETIN_SIG_LEN 64

/* ---- keys ------------------------------------------------------------- */

struct bulletin_key {
	char id[BULLETIN_KEY_ID_LEN + 1];   /* key id, lower-case hex */
	EVP_PKEY *pkey;                     /* Ed25519 public key (owned) */
	EVP_MD_CTX *verifier;               /* set up to verify under pkey,
					     * only ever copied (owned) */
};

/* The pinned set, loaded from "[bulletins] keys". */
struct bulletin_keys {
	struct bulletin_key *keys;          /* n of them (owned) */
	size_t n;
};

/* bulletin_key_id: the key id of an Ed25519 key (public or private) into
 * out (BULLETIN_KEY_ID_LEN + 1 bytes). ERR_OK or ERR_INVALID (not Ed25519). */
int bulletin_key_id(EVP_PKEY *pkey, char *out);

/* bulletin_keys_load: load the comma-separated PEM public key files of
 * list (NULL or blank: no keys); a relative path is taken from base_dir.
 * On success stores a new set in *out (free with bulletin_keys_free) and
 * returns ERR_OK; otherwise ERR_INVALID or ERR_IO with a reason naming the
 * file in err and *out NULL. Two files with the same key id are an error. */
int bulletin_keys_load(const char *list, const char *base_dir,
		       struct bulletin_keys **out, char *err, size_t errlen);

/* bulletin_keys_from_config: bulletin_keys_load of "[bulletins] keys" as
 * the config file config_path lists them: a relative path is taken from
 * that file's directory. The reason in err begins "<config_path>:
 * [bulletins] keys: ". */
int bulletin_keys_from_config(const char *list, const char *config_path,
			      struct bulletin_keys **out, char *err,
			      size_t errlen);

/* bulletin_keys_check: whether list loads as bulletin_keys_from_config
 * would load it (a daemon's start-up check); nothing is kept. */
int bulletin_keys_check(const char *list, const char *config_path,
			char *err, size_t errlen);

/* bulletin_keys_reload: load list afresh (SIGHUP); on success free
 * *in_force, put the new set there and log its keys; otherwise log why and
 * leave *in_force as it was. */
void bulletin_keys_reload(struct bulletin_keys **in_force, const char *list,
			  const char *config_path);

/* bulletin_keys_log: log the id of every key in the set. */
void bulletin_keys_log(const struct bulletin_keys *keys);

/* bulletin_signing_key_load: the operator's Ed25519 private key from the
 * PEM file at path into *out (free with EVP_PKEY_free) and its key id into
 * id (BULLETIN_KEY_ID_LEN + 1 bytes). ERR_OK; ERR_IO (cannot open) or
 * ERR_INVALID (not a PEM Ed25519 private key) with the reason, naming
 * path, in err and *out NULL. */
int bulletin_signing_key_load(const char *path, EVP_PKEY **out, char *id,
			      char *err, size_t errlen);

/* bulletin_keys_free: free a set and set the pointer to NULL. */
void bulletin_keys_free(struct bulletin_keys **keys);

/* bulletin_keys_find: the pinned key with this id, or NULL. */
const struct bulletin_key *bulletin_keys_find(const struct bulletin_keys *keys,
					      const char *key_id);

/* ---- signing and verifying --------------------------------------------- */

/* bulletin_sign: Ed25519 signature of buf[0..len) with the private key
 * into sig (BULLETIN_SIG_LEN bytes). ERR_OK or ERR_FAIL. */
int bulletin_sign(EVP_PKEY *key, const uint8_t *buf, size_t len,
		  uint8_t sig[BULLETIN_SIG_LEN]);

/* bulletin_open: the whole check of a bulletin received from anywhere:
 * the size limit, decoding the signed bytes (canonically: they must
 * re-encode to the same length, which refuses a string cut at a NUL), the
 * content rules (bulletin_check), then the signature under the pinned key
 * content.key_id names. On success stores the content in *out (free with
 * bulletin_content_free) and returns ERR_OK. Otherwise returns ERR_TOOBIG
 * or ERR_INVALID (malformed or breaking a rule) or ERR_DENIED (no pinned
 * key has that id, or the signature does not verify), with a reason in why
 * naming the field, and *out NULL. */
int bulletin_open(const struct bulletin_keys *keys, const uint8_t *content,
		  size_t content_len, const uint8_t *sig, size_t sig_len,
		  BulletinContent **out, char *why, size_t whylen);

/* bulletin_decode: decode signed bytes without checking the signature
 * (for rendering what the store already verified). ERR_OK with *out, or
 * ERR_INVALID. */
int bulletin_decode(const uint8_t *content, size_t len, BulletinContent **out);

/* bulletin_content_free: free decoded content and set the pointer NULL. */
void bulletin_content_free(BulletinContent **c);

/* ---- content rules --------------------------------------------------- */

/* bulletin_check: the rules of a bulletin's content, the same at hub and
 * node and in alliancectl: id and references are record ids, key_id 16
 * hex, type alert (no references) or update/cancel (1..LIMIT_BULLETIN_REFS
 * references, not itself), severity/urgency/certainty/category from their
 * lists, headline and description present, every text valid UTF-8 within
 * its size and free of control characters (line breaks and tabs allowed
 * in the long texts), English text (the *_en fields) with both its
 * headline and description or none, area community ids without repeats,
 * sent after 2000 and expires after sent by at most
 * LIMIT_BULLETIN_LIFETIME_S, check_in never on a cancel. ERR_OK, or ERR_INVALID with a reason naming
 * the field in why. */
int bulletin_check(const BulletinContent *c, char *why, size_t whylen);

/* bulletin_has_english: whether c carries any English text (a *_en
 * field not empty; older bulletins have none). */
int bulletin_has_english(const BulletinContent *c);

/* bulletin_targets: whether community is in the area (an empty area is
 * every community). */
int bulletin_targets(const BulletinContent *c, const char *community);

/* bulletin_valid_word: whether value is one of the words allowed for
 * field ("type", "severity", "urgency", "certainty", "category"). */
int bulletin_valid_word(const char *field, const char *value);

/* ---- base64 ------------------------------------------------------------ */

/* bulletin_b64_encode: standard base64 (with padding) of buf into a new
 * NUL-terminated string (caller frees), or NULL on no memory. */
char *bulletin_b64_encode(const uint8_t *buf, size_t len);

/* bulletin_b64_decode: strict standard base64 (padding required, no
 * blanks) into a new buffer (caller frees) of *len bytes. ERR_OK,
 * ERR_INVALID or ERR_NOMEM. */
int bulletin_b64_decode(const char *s, uint8_t **out, size_t *len);

/* bulletin_cap_word: CAP 1.2's word for one of ours in field ("type",
 * "severity", "urgency", "certainty", "category"), or NULL when value is
 * not one of field's words. */
const char *bulletin_cap_word(const char *field, const char *ours);

#endif
