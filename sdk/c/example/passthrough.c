/*
 * A passthrough module, the C twin of modules/passthrough-as (for
 * benchmarks and the cross-language tests): every record is emitted
 * unchanged; a record whose payload is exactly "drop" is dropped and
 * "fail" fails.
 */
#include <stdio.h>
#include <string.h>

#include "weir.h"

static int handle(weir_record *r) {
	uint32_t n;
	const uint8_t *d = weir_data(r, &n);
	if (n == 4 && memcmp(d, "drop", 4) == 0) {
		weir_drop(r);
		return 0;
	}
	if (n == 4 && memcmp(d, "fail", 4) == 0) {
		char msg[48];
		snprintf(msg, sizeof msg, "record %zu says fail", weir_index(r));
		return weir_fail(r, msg);
	}
	weir_emit(r, d, n);
	return 0;
}

__attribute__((constructor)) static void init(void) { weir_handle(handle); }
