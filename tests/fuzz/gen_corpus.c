/* gen_corpus.c: writes the seed frames of tests/fuzz/corpus/wire/.
 *
 * One valid frame of every body kind (a Relay with a request, a status, a
 * poll and a tally; a Bulletin whose content keeps the rules, its
 * signature not a real one), plus a frame with an unknown body and one with an
 * unknown field, each into DIR/NAME.bin. `make fuzz-build` builds it as
 * build/fuzz/gen_corpus; run `build/fuzz/gen_corpus tests/fuzz/corpus/wire`
 * after a schema change and commit the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "wire.h"

/* write_seed: write len bytes to DIR/NAME.bin; exits 1 on failure. */
static void write_seed(const char *dir, const char *name, const uint8_t *buf,
		       size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.bin", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
}

/* write_frame: encode f and write it as seed name; exits 1 on failure. */
static void write_frame(const char *dir, const char *name, const Frame *f)
{
	uint8_t *buf;
	size_t len;

	if (wire_encode(f, 0, &buf, &len) != ERR_OK) {
		fprintf(stderr, "%s: does not encode\n", name);
		exit(1);
	}
	write_seed(dir, name, buf, len);
	free(buf);
}

int main(int argc, char **argv)
{
	Frame f = ALLIANCE__V1__FRAME__INIT;
	Alliance__V1__Hello hello = ALLIANCE__V1__HELLO__INIT;
	Alliance__V1__Welcome welcome = ALLIANCE__V1__WELCOME__INIT;
	Alliance__V1__Changes changes = ALLIANCE__V1__CHANGES__INIT;
	Alliance__V1__Change c[3] = { ALLIANCE__V1__CHANGE__INIT,
		ALLIANCE__V1__CHANGE__INIT, ALLIANCE__V1__CHANGE__INIT };
	Alliance__V1__Change *cp[3] = { &c[0], &c[1], &c[2] };
	Alliance__V1__Service svc = ALLIANCE__V1__SERVICE__INIT;
	Alliance__V1__Announcement ann = ALLIANCE__V1__ANNOUNCEMENT__INIT;
	Alliance__V1__Ack ack = ALLIANCE__V1__ACK__INIT;
	Alliance__V1__Bulletin bul = ALLIANCE__V1__BULLETIN__INIT;
	Alliance__V1__BulletinAck bak = ALLIANCE__V1__BULLETIN_ACK__INIT;
	Alliance__V1__Error err = ALLIANCE__V1__ERROR__INIT;
	Alliance__V1__Relay relay = ALLIANCE__V1__RELAY__INIT;
	Alliance__V1__Change rc[4] = { ALLIANCE__V1__CHANGE__INIT,
		ALLIANCE__V1__CHANGE__INIT, ALLIANCE__V1__CHANGE__INIT,
		ALLIANCE__V1__CHANGE__INIT };
	Alliance__V1__Change *rcp[4] = { &rc[0], &rc[1], &rc[2], &rc[3] };
	Alliance__V1__Request req = ALLIANCE__V1__REQUEST__INIT;
	Alliance__V1__RequestStatus rst = ALLIANCE__V1__REQUEST_STATUS__INIT;
	Alliance__V1__Poll poll = ALLIANCE__V1__POLL__INIT;
	Alliance__V1__Tally tally = ALLIANCE__V1__TALLY__INIT;
	char *options[] = { "tree", "wall" };
	char *area[] = { "north-gate", "river-side" };
	uint64_t counts[] = { 3, 1 };
	char *audience[] = { "elderly", "families" };
	Alliance__V1__BulletinContent bc = ALLIANCE__V1__BULLETIN_CONTENT__INIT;
	char *refs[] = { "b-0" };
	uint8_t sig[64];
	/* Frame field 99 { field 1: "poll-7" }, then hello with field 50 */
	static const uint8_t unknown_body[] = { 0x9a, 0x06, 0x08, 0x0a, 0x06,
		'p', 'o', 'l', 'l', '-', '7' };
	static const uint8_t unknown_field[] = { 0x0a, 0x09, 0x12, 0x04, 'a',
		'b', 'c', 'd', 0x90, 0x03, 0x07 };

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	memset(sig, 0x5a, sizeof(sig));

	hello.protocol_version = WIRE_PROTOCOL_VERSION;
	hello.community = "north-gate";
	hello.software_version = "0.1.0";
	hello.store_epoch = "epoch-1";
	hello.down_cursor = 42;
	f.body_case = ALLIANCE__V1__FRAME__BODY_HELLO;
	f.hello = &hello;
	write_frame(argv[1], "hello", &f);

	welcome.up_cursor = 7;
	welcome.own_version = 9;
	welcome.heartbeat_s = 20;
	welcome.batch_max = 256;
	welcome.window = 8;
	welcome.hub_version = "0.1.0";
	f.body_case = ALLIANCE__V1__FRAME__BODY_WELCOME;
	f.welcome = &welcome;
	write_frame(argv[1], "welcome", &f);

	svc.title = "\xe4\xb8\x8a\xe9\x97\xa8\xe7\x90\x86\xe5\x8f\x91";
	svc.category = "elderly-care";
	svc.n_audience = 2;
	svc.audience = audience;
	svc.updated = 1717200000;
	ann.title = "Water off Tuesday";
	ann.published = 1717200000;
	for (int i = 0; i < 3; i++) {
		c[i].seq = 100 + (uint64_t)i;
		c[i].origin = "north-gate";
		c[i].kind = ALLIANCE__V1__KIND__KIND_SERVICE;
		c[i].version = 1 + (uint64_t)i;
	}
	c[0].id = "svc-1";
	c[0].body_case = ALLIANCE__V1__CHANGE__BODY_SERVICE;
	c[0].service = &svc;
	c[1].id = "ann-1";
	c[1].kind = ALLIANCE__V1__KIND__KIND_ANNOUNCEMENT;
	c[1].body_case = ALLIANCE__V1__CHANGE__BODY_ANNOUNCEMENT;
	c[1].announcement = &ann;
	c[2].id = "svc-0";
	c[2].deleted = 1;
	changes.n_changes = 3;
	changes.changes = cp;
	f.body_case = ALLIANCE__V1__FRAME__BODY_CHANGES;
	f.changes = &changes;
	write_frame(argv[1], "changes", &f);

	ack.seq = 102;
	f.body_case = ALLIANCE__V1__FRAME__BODY_ACK;
	f.ack = &ack;
	write_frame(argv[1], "ack", &f);

	bc.id = "b-1";
	bc.key_id = "0123456789abcdef";
	bc.sender = "district";
	bc.type = "update";
	bc.n_references = 1;
	bc.references = refs;
	bc.severity = "severe";
	bc.urgency = "immediate";
	bc.certainty = "observed";
	bc.category = "weather";
	bc.headline = "Typhoon <warning> & shelter";
	bc.description = "\xe5\x8f\xb0\xe9\xa3\x8e\nGo to the school hall";
	bc.instructions = "Bring water";
	bc.n_area = 1;
	bc.area = area;
	bc.sent = 1796083200;
	bc.expires = 1796169600;
	bul.signed_content.len = alliance__v1__bulletin_content__get_packed_size(
		&bc);
	bul.signed_content.data = malloc(bul.signed_content.len);
	if (!bul.signed_content.data)
		return 1;
	alliance__v1__bulletin_content__pack(&bc, bul.signed_content.data);
	bul.signature.data = sig;
	bul.signature.len = sizeof(sig);
	f.body_case = ALLIANCE__V1__FRAME__BODY_BULLETIN;
	f.bulletin = &bul;
	write_frame(argv[1], "bulletin", &f);
	free(bul.signed_content.data);

	bak.id = "b-1";
	f.body_case = ALLIANCE__V1__FRAME__BODY_BULLETIN_ACK;
	f.bulletin_ack = &bak;
	write_frame(argv[1], "bulletin_ack", &f);

	err.code = ALLIANCE__V1__ERROR_CODE__ERROR_UNKNOWN_BODY;
	err.message = "unknown body";
	f.body_case = ALLIANCE__V1__FRAME__BODY_ERROR;
	f.error = &err;
	write_frame(argv[1], "error", &f);

	req.owner = "river-side";
	req.service_id = "legal";
	req.description = "\xe8\x80\x81\xe4\xba\xba please call";
	req.name = "Wang Xiuying";
	req.phone = "13800138000";
	req.has_location = 1;
	req.lat = 22.27;
	req.lon = 113.57;
	req.requested = 1796083200;
	req.preferred = "2026-12-03 afternoon";
	rst.request_origin = "north-gate";
	rst.status = "scheduled";
	rst.notes = "Wednesday 15:00";
	rst.scheduled = 1796342400;
	rst.updated = 1796083300;
	poll.question = "Plant a tree or repaint the wall?";
	poll.n_options = 2;
	poll.options = options;
	poll.opens = 1796083200;
	poll.closes = 1796688000;
	poll.n_area = 2;
	poll.area = area;
	tally.poll_origin = "district";
	tally.poll_id = "0123456789abcdef";
	tally.n_counts = 2;
	tally.counts = counts;
	tally.updated = 1796083400;
	for (int i = 0; i < 4; i++) {
		rc[i].origin = "north-gate";
		rc[i].version = 1796083200000ull + (uint64_t)i;
	}
	rc[0].kind = ALLIANCE__V1__KIND__KIND_REQUEST;
	rc[0].id = "00112233aabbccdd";
	rc[0].body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST;
	rc[0].request = &req;
	rc[1].kind = ALLIANCE__V1__KIND__KIND_REQUEST_STATUS;
	rc[1].id = "44556677eeff0011";
	rc[1].body_case = ALLIANCE__V1__CHANGE__BODY_REQUEST_STATUS;
	rc[1].request_status = &rst;
	rc[2].kind = ALLIANCE__V1__KIND__KIND_POLL;
	rc[2].id = "8899aabbccddeeff";
	rc[2].body_case = ALLIANCE__V1__CHANGE__BODY_POLL;
	rc[2].poll = &poll;
	rc[3].kind = ALLIANCE__V1__KIND__KIND_TALLY;
	rc[3].id = "district.0123456789abcdef";
	rc[3].body_case = ALLIANCE__V1__CHANGE__BODY_TALLY;
	rc[3].tally = &tally;
	relay.n_changes = 4;
	relay.changes = rcp;
	f.body_case = ALLIANCE__V1__FRAME__BODY_RELAY;
	f.relay = &relay;
	write_frame(argv[1], "relay", &f);

	write_seed(argv[1], "unknown_body", unknown_body, sizeof(unknown_body));
	write_seed(argv[1], "unknown_field", unknown_field,
		   sizeof(unknown_field));
	return 0;
}
