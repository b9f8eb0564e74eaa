/*
 * A tag-and-drop module: drops read-only events ("readOnly": true) and
 * tags every other record with "weir_tag":"write", editing the record in
 * place (its other fields and their order are kept).
 *
 * Build: clang --target=wasm32-wasi -mexec-model=reactor -O2 -I.. -o tag_drop.wasm tag_drop.c ../weir.c
 */
#include "weir.h"

static int handle(weir_record *r) {
	if (weir_value_is_true(weir_get(r, "readOnly"))) {
		weir_drop(r);
		return 0;
	}
	weir_doc *d = weir_edit(r);
	weir_doc_set_cstr(d, "weir_tag", "write");
	return weir_doc_emit(r, d);
}

__attribute__((constructor)) static void init(void) {
	weir_path("readOnly");
	weir_handle(handle);
}
