/* fuzz_wire.c: libFuzzer target for the alliance.v1 Frame codec (lib/wire.c).
 *
 * Feeds every input to wire_decode at the default frame limit. A decoded
 * frame is named, re-encoded and decoded again: what this peer accepts and
 * sends on must be accepted by the next peer too. A refusal must leave no
 * frame and give a reason. The records of a decoded frame then go through
 * the checks a receiver holds them to before storing anything: each
 * Change of a Changes frame to catalog_check (as a node does with the
 * hub's stream) and, when it passes, to catalog_change_json; each Change
 * of a Relay frame to relay_check; a Bulletin to bulletin_open with no
 * key pinned (the size, decoding and content rules run before the
 * signature), and content that keeps the rules is also written as CAP and
 * Atom, as the node serves it. Any other outcome aborts, which
 * libFuzzer reports as a crash. Built and run by `make fuzz` with
 * protobuf-c itself instrumented; seeds in tests/fuzz/corpus/wire/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulletin.h"
#include "bulletin_render.h"
#include "catalog.h"
#include "err.h"
#include "relay.h"
#include "wire.h"

/* Headroom as lws_write needs (LWS_PRE is 16 on 64-bit builds). */
#define FUZZ_HEADROOM 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check_bulletin: b as a node opens it, with no key pinned: never
 * accepted; content that keeps the rules written as CAP and Atom. */
static void check_bulletin(const Alliance__V1__Bulletin *b)
{
	struct bulletin_cap_ref *refs;
	struct bulletin_atom_entry entry;
	BulletinContent *c = NULL;
	char why[256], *out = NULL;
	size_t len = 0;

	why[0] = '\0';
	if (bulletin_open(NULL, b->signed_content.data, b->signed_content.len,
			  b->signature.data, b->signature.len, &c, why,
			  sizeof(why)) == ERR_OK || c || !why[0])
		abort();
	if (bulletin_decode(b->signed_content.data, b->signed_content.len,
			    &c) != ERR_OK)
		return;
	if (bulletin_check(c, why, sizeof(why)) == ERR_OK) {
		refs = calloc(c->n_references + 1, sizeof(*refs));
		if (!refs || bulletin_cap_xml(c, refs, "http://fuzz", &out, &len) != ERR_OK ||
		    strlen(out) != len)
			abort();
		free(out);
		free(refs);
		entry.c = c;
		entry.status = "current";
		if (bulletin_atom("Bulletins", "http://fuzz", &entry, 1, c->sent,
				  &out, &len) != ERR_OK)
			abort();
		free(out);
	}
	bulletin_content_free(&c);
}

/* check_records: the receivers' checks of f's records; a refusal must
 * say why. */
static void check_records(const Frame *f)
{
	char why[256];

	if (f->body_case == ALLIANCE__V1__FRAME__BODY_CHANGES) {
		for (size_t i = 0; i < f->changes->n_changes; i++) {
			const Change *ch = f->changes->changes[i];
			json_t *json;

			why[0] = '\0';
			if (catalog_check(ch, why, sizeof(why)) != ERR_OK) {
				if (!why[0])
					abort();
				continue;
			}
			json = catalog_change_json(ch);
			json_decref(json);
		}
	} else if (f->body_case == ALLIANCE__V1__FRAME__BODY_BULLETIN) {
		check_bulletin(f->bulletin);
	} else if (f->body_case == ALLIANCE__V1__FRAME__BODY_RELAY) {
		for (size_t i = 0; i < f->relay->n_changes; i++) {
			why[0] = '\0';
			if (relay_check(f->relay->changes[i], why,
					sizeof(why)) != ERR_OK && !why[0])
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	Frame *f = NULL, *again = NULL;
	uint8_t *out = NULL;
	size_t len = 0;
	int rc;

	rc = wire_decode(data, size, 0, &f, why, sizeof(why));
	if (rc != ERR_OK) {
		if (f || why[0] == '\0')
			abort();
		return 0;
	}
	if (!f || !wire_body_name(f))
		abort();
	check_records(f);
	rc = wire_encode(f, FUZZ_HEADROOM, &out, &len);
	if (rc == ERR_OK) {
		if (wire_decode(out + FUZZ_HEADROOM, len, 0, &again, why,
				sizeof(why)) != ERR_OK)
			abort();
		wire_free(&again);
		free(out);
	} else if (rc != ERR_TOOBIG) {
		abort();
	}
	wire_free(&f);
	return 0;
}
