/* bulletin_render.h: the two renderings of a bulletin that other tools
 * read: a CAP 1.2 alert document (OASIS) and an Atom feed (RFC 4287).
 * Nothing here decides trust: what is rendered was opened by
 * bulletin_open (bulletin.h) when it was stored.
 *
 * Sections: CAP's sender and times; CAP; Atom. */
#ifndef ALLIANCE_BULLETIN_RENDER_H
#define ALLIANCE_BULLETIN_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "bulletin.h"

/* ---- CAP's sender and times ------------------------------------------- */

/* Bytes of the longest CAP sender written here (and of [bulletins]
 * sender). */
#define BULLETIN_CAP_SENDER_MAX 200

/* bulletin_cap_sender_valid: whether s may be a CAP <sender> (CAP 1.2
 * §3.2.1): 1 to BULLETIN_CAP_SENDER_MAX bytes of valid UTF-8 without
 * spaces or other blanks, control characters, commas, '<' or '&'. */
int bulletin_cap_sender_valid(const char *s);

/* bulletin_cap_sender: the CAP <sender> of a bulletin's signed sender
 * into out (outlen >= BULLETIN_CAP_SENDER_MAX + 1): the same text when it
 * is valid; otherwise (bulletins signed before the hub had a [bulletins]
 * sender carry the operator's name, e.g. "Li Wei") every byte CAP forbids
 * becomes '_', so every document naming that bulletin names it alike.
 * Returns out. */
char *bulletin_cap_sender(const char *sender, char *out, size_t outlen);

/* bulletin_time_cap: t as CAP writes times (§3.3.2), UTC as "-00:00":
 * "2026-11-29T15:04:05-00:00", into buf (at least 26 bytes). Returns buf. */
char *bulletin_time_cap(int64_t t, char *buf, size_t buflen);

/* bulletin_cap_category: the CAP 1.2 <category> of one of our categories
 * ("Safety", "Health", ... "Other" for an unknown one). */
const char *bulletin_cap_category(const char *category);

/* ---- CAP 1.2 ------------------------------------------------------------ */

/* A bulletin an update or cancel references, as stored here. */
struct bulletin_cap_ref {
	const char *sender;                 /* its signed sender; NULL: the
					     * bulletin is not held here */
	int64_t sent;
};

/* bulletin_cap_xml: c as a CAP 1.2 alert document, every text escaped:
 * one <info> in zh-CN and, when c has English text, one in en-US, each
 * with its labels in its own language. refs (NULL, or n_references
 * entries) resolve c's references to "sender,identifier,sent" triplets;
 * a reference not held here is left out (a triplet must name what it
 * references exactly). base_url (NULL or "": none) is the daemon's public
 * address: <web> then links the bulletin on the bulletins page. Stores a
 * new NUL-terminated string in *out (caller frees) and its length in
 * *len. ERR_OK or ERR_NOMEM. */
int bulletin_cap_xml(const BulletinContent *c,
		     const struct bulletin_cap_ref *refs, const char *base_url,
		     char **out, size_t *len);

/* ---- Atom --------------------------------------------------------------- */

/* One entry of an Atom feed. */
struct bulletin_atom_entry {
	const BulletinContent *c;
	const char *status;                 /* "current", "cancelled", ... */
};

/* bulletin_atom: an Atom feed titled title of the entries, updated at the
 * newest sent time (or now when empty). base_url is the daemon's public
 * address ([public] url, no trailing '/'): the feed's id is its own
 * absolute address, base_url "/api/v1/bulletins.atom", unique per
 * deployment; every link is absolute, and each entry links its CAP
 * document (rel alternate, type application/cap+xml) and its place on the
 * bulletins page (text/html). Stores a new string in *out (caller frees).
 * ERR_OK or ERR_NOMEM. */
int bulletin_atom(const char *title, const char *base_url,
		  const struct bulletin_atom_entry *entries, size_t n,
		  int64_t now, char **out, size_t *len);

#endif
