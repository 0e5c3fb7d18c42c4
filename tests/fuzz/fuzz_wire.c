/* fuzz_wire.c: libFuzzer target for the alliance.v1 Frame codec (lib/wire.c).
 *
 * Feeds every input to wire_decode at the default frame limit. A decoded
 * frame is named, re-encoded and decoded again: what this peer accepts and
 * sends on must be accepted by the next peer too. A refusal must leave no
 * frame and give a reason. Any other outcome aborts, which libFuzzer
 * reports as a crash. Build with `make fuzz`; seeds in tests/fuzz/corpus/. */
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "wire.h"

/* Headroom as lws_write needs (LWS_PRE is 16 on 64-bit builds). */
#define FUZZ_HEADROOM 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
