/* fuzz_json.c: libFuzzer target for the JSON bodies managers and the
 * operator post: a service and an announcement (lib/catalog_json.c, as
 * node/edits.c reads them) and a poll (relay_poll_from_json, as
 * node/polls.c and hub/polls.c read it).
 *
 * The input is parsed as the daemons parse a body (json_loadb with
 * duplicate keys refused; anything but an object is a 400) and given to
 * every reader. What a reader accepts must pass the check a receiving
 * peer holds the record to (catalog_check, relay_check), both as built
 * and after a trip through the wire's packing: otherwise one node would
 * store a record that every other refuses. A refusal must say why. Any
 * other outcome aborts. Seeds in tests/fuzz/corpus/json/. */
#include <stdint.h>
#include <stdlib.h>

#include "catalog.h"
#include "err.h"
#include "relay.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* roundtrip: ch packed and unpacked, as it travels to a peer; aborts
 * unless check (catalog_check or relay_check) passes both. */
static void roundtrip(const Change *ch,
		      int (*check)(const Change *, char *, size_t))
{
	char why[256];
	uint8_t *buf;
	Change *back;
	size_t len;

	if (check(ch, why, sizeof(why)) != ERR_OK)
		abort();
	buf = relay_pack(ch, &len);
	if (!buf)
		abort();
	back = relay_unpack(buf, len);
	free(buf);
	if (!back || check(back, why, sizeof(why)) != ERR_OK)
		abort();
	alliance__v1__change__free_unpacked(back, NULL);
}

/* record: the reader of kind on in; what it accepts goes round. */
static void record(const json_t *in, int kind)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	char why[512];
	json_t *shown;
	int rc;

	ch.origin = "north-gate";
	ch.id = "r-1";
	ch.version = 1;
	ch.kind = kind;
	why[0] = '\0';
	if (kind == ALLIANCE__V1__KIND__KIND_SERVICE) {
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
		rc = catalog_service_from_json(in, &ch.service, why,
					       sizeof(why));
	} else {
		ch.body_case = ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT;
		rc = catalog_announcement_from_json(in, &ch.announcement, why,
						    sizeof(why));
	}
	/* service and announcement share the body's union */
	if (rc != ERR_OK) {
		if (rc != ERR_INVALID || !why[0] || ch.service)
			abort();
		return;
	}
	roundtrip(&ch, catalog_check);
	shown = catalog_change_json(&ch);
	if (!shown)
		abort();
	json_decref(shown);
	if (kind == ALLIANCE__V1__KIND__KIND_SERVICE)
		alliance__v1__service__free_unpacked(ch.service, NULL);
	else
		alliance__v1__announcement__free_unpacked(ch.announcement,
							  NULL);
}

/* poll: the poll reader on in, with an area (the hub's) or without (a
 * node's); an accepted poll that also passes relay_check goes round. */
static void poll(const json_t *in, int with_area)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Poll p = ALLIANCE__V1__POLL__INIT;
	const char *opts[RELAY_OPTIONS_MAX], **area = NULL;
	char why[256];

	if (with_area) {
		area = calloc(RELAY_AREA_MAX + 1, sizeof(*area));
		if (!area)
			abort();
	}
	ch.origin = with_area ? RELAY_DISTRICT : "north-gate";
	ch.id = "p-1";
	ch.version = 1;
	ch.kind = ALLIANCE__V1__KIND__KIND_POLL;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_POLL;
	ch.poll = &p;
	why[0] = '\0';
	if (relay_poll_from_json(in, &p, opts, area, why, sizeof(why)) !=
	    ERR_OK) {
		if (!why[0])
			abort();
	} else if (relay_check(&ch, why, sizeof(why)) == ERR_OK) {
		roundtrip(&ch, relay_check);
	} else if (!why[0]) {
		abort();
	}
	free(area);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *in;

	in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
			&jerr);
	if (!in)
		return 0;
	if (json_is_object(in)) {
		record(in, ALLIANCE__V1__KIND__KIND_SERVICE);
		record(in, ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT);
		poll(in, 1);
		poll(in, 0);
	}
	json_decref(in);
	return 0;
}
