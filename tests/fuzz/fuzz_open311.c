/* fuzz_open311.c: libFuzzer target for a resident's Open311 POST
 * requests.json body, read as node/requests.c reads it
 * (node/request_form.c).
 *
 * The input is the form-encoded body. request_form_read must accept only
 * UTF-8 values within their limits, or refuse with a status and a
 * description; request_form_check runs at a fixed now. A form both
 * accept becomes the request the node would relay (service_code cut as
 * open311_code_split cuts it) and is held to relay_check;
 * one that passes must survive the wire's packing. Any other outcome
 * aborts. Seeds in tests/fuzz/corpus/open311/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "civic.h"
#include "err.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-12-01T00:00:00Z: preferred days are judged against it. */
#define FUZZ_NOW 1796083200

/* relay: the request rf makes, as post_request builds it, through
 * relay_check and packing. */
static void relay(struct request_form *rf)
{
	Change ch = ALLIANCE__V1__CHANGE__INIT;
	Alliance__V1__Request r = ALLIANCE__V1__REQUEST__INIT;
	char *id = NULL, why[256];
	uint8_t *buf;
	Change *back;
	size_t len;

	if (open311_code_split(rf->value[RF_CODE], &id) != ERR_OK)
		return;
	r.owner = rf->value[RF_CODE];
	r.service_id = id;
	r.description = rf->value[RF_DESC];
	r.name = rf->name;
	r.phone = rf->value[RF_PHONE];
	r.email = rf->value[RF_EMAIL];
	r.address = rf->address;
	r.preferred = rf->value[RF_PREFERRED];
	r.relative_name = rf->value[RF_REL_NAME];
	r.relative_phone = rf->value[RF_REL_PHONE];
	r.has_location = rf->has_location;
	r.lat = rf->lat;
	r.lon = rf->lon;
	r.requested = FUZZ_NOW;
	ch.origin = "north-gate";
	ch.kind = ALLIANCE__V1__KIND__KIND_REQUEST;
	ch.id = "0123456789abcdef";
	ch.version = 1;
	ch.body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	ch.request = &r;
	why[0] = '\0';
	if (relay_check(&ch, why, sizeof(why)) != ERR_OK) {
		if (!why[0])
			abort();
		return;
	}
	buf = relay_pack(&ch, &len);
	back = buf ? relay_unpack(buf, len) : NULL;
	if (!back || relay_check(back, why, sizeof(why)) != ERR_OK)
		abort();
	alliance__v1__change__free_unpacked(back, NULL);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request_form rf;
	char why[300];
	int status = 0;

	memset(&rf, 0, sizeof(rf));
	why[0] = '\0';
	if (request_form_read((const char *)data, size, &rf, &status, why,
			      sizeof(why)) != ERR_OK) {
		if ((status != 400 && status != 500) || !why[0])
			abort();
		goto out;
	}
	for (int i = 0; i < RF_COUNT; i++)
		if (!rf.value[i] || !text_utf8_valid(rf.value[i],
						     strlen(rf.value[i])))
			abort();
	why[0] = '\0';
	if (request_form_check(&rf, FUZZ_NOW, why, sizeof(why)) != ERR_OK) {
		if (!why[0])
			abort();
		goto out;
	}
	if (strlen(rf.name) > RELAY_NAME_MAX ||
	    strlen(rf.address) > RELAY_ADDRESS_MAX)
		abort();
	relay(&rf);
out:
	request_form_free(&rf);
	return 0;
}
