/*
 * The C SDK's conformance module for the golden frames (sdk/conformance):
 * it echoes each record's payload, metadata and views as raw outputs, or,
 * for records from the source "weir-conformance", carries out the
 * commands in the partition key with the SDK's API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir.h"

static const char *paths[] = {"eventTime", "userIdentity.principalId", "s", "n", "t", "f", "z", "o", "a", "o.k.1", "dot\\.key", "missing"};
#define NPATHS (sizeof paths / sizeof paths[0])
#define MALFORMED "conformance: malformed command"

typedef struct {
	const uint8_t *b;
	uint32_t n;
	int bad;
} cmd;

static const uint8_t *bytes(cmd *c, uint32_t *len) {
	uint32_t n;
	if (c->n < 4) { c->bad = 1; c->n = 0; *len = 0; return (const uint8_t *)""; }
	memcpy(&n, c->b, 4);
	if (n > c->n - 4) { c->bad = 1; c->n = 0; *len = 0; return (const uint8_t *)""; }
	const uint8_t *p = c->b + 4;
	c->b += 4 + n, c->n -= 4 + n;
	*len = n;
	return p;
}

/* str returns a NUL-terminated copy (freed by the caller). */
static char *str(cmd *c) {
	uint32_t n;
	const uint8_t *p = bytes(c, &n);
	char *s = malloc(n + 1);
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static uint8_t u8(cmd *c) {
	if (c->n < 1) { c->bad = 1; return 0; }
	c->n--;
	return *c->b++;
}

static uint64_t u64(cmd *c) {
	uint64_t v;
	if (c->n < 8) { c->bad = 1; c->n = 0; return 0; }
	memcpy(&v, c->b, 8);
	c->b += 8, c->n -= 8;
	return v;
}

static int run(weir_record *r, const uint8_t *b, uint32_t n) {
	cmd c = {b, n, 0};
	weir_doc *doc = NULL;
	char *route = NULL;
	int rc = 0;
	while (c.n > 0 && !c.bad && rc == 0) {
		uint8_t code = u8(&c);
		int needs_doc = (code >= 1 && code <= 8) || code == 'X' || code == 'Z';
		if (needs_doc && !doc) return weir_fail(r, MALFORMED);
		char *p = NULL, *s = NULL;
		uint32_t len;
		const uint8_t *v;
		switch (code) {
		case 'R':
			p = str(&c);
			v = bytes(&c, &len);
			weir_emit_to(r, p, v, len);
			break;
		case 'O':
		case 'E':
			free(route);
			route = str(&c);
			doc = code == 'O' ? weir_doc_new(r) : weir_edit(r);
			break;
		case 'Z':
			rc = weir_doc_emit_to(r, route, doc);
			doc = NULL;
			break;
		case 'D': weir_drop(r); break;
		case 'F':
			p = str(&c);
			rc = weir_fail(r, p);
			break;
		case 'X':
			v = bytes(&c, &len);
			weir_doc_append_raw(doc, v, len);
			break;
		case WEIR_OP_SET_JSON:
			p = str(&c), v = bytes(&c, &len);
			weir_doc_set_json(doc, p, v, len);
			break;
		case WEIR_OP_SET_STRING:
			p = str(&c), v = bytes(&c, &len);
			weir_doc_set_string(doc, p, v, len);
			break;
		case WEIR_OP_COPY:
			p = str(&c), s = str(&c);
			weir_doc_copy(doc, p, s);
			break;
		case WEIR_OP_SET_ORIGINAL:
			p = str(&c);
			weir_doc_set_original(doc, p);
			break;
		case WEIR_OP_SET_DIGEST:
			p = str(&c);
			weir_doc_set_digest(doc, p, u8(&c));
			break;
		case WEIR_OP_DELETE:
			p = str(&c);
			weir_doc_delete(doc, p);
			break;
		case WEIR_OP_SET_INT:
			p = str(&c);
			weir_doc_set_int(doc, p, (int64_t)u64(&c));
			break;
		case WEIR_OP_COPY_STRING:
			p = str(&c), s = str(&c);
			weir_doc_copy_string(doc, p, s);
			break;
		default: c.bad = 1;
		}
		free(p);
		free(s);
	}
	free(route);
	if (rc) return rc;
	if (c.bad || doc) return weir_fail(r, MALFORMED);
	return 0;
}

static int handle(weir_record *r) {
	uint32_t n;
	const uint8_t *src = weir_source(r, &n);
	if (n == 16 && memcmp(src, "weir-conformance", 16) == 0) {
		const uint8_t *pk = weir_partition_key(r, &n);
		return run(r, pk, n);
	}
	char num[32];
	const uint8_t *p;
	p = weir_data(r, &n), weir_emit_to(r, "data", p, n);
	p = weir_partition_key(r, &n), weir_emit_to(r, "partition_key", p, n);
	p = weir_sequence_number(r, &n), weir_emit_to(r, "sequence_number", p, n);
	n = snprintf(num, sizeof num, "%llu", (unsigned long long)weir_sub_sequence(r));
	weir_emit_to(r, "sub_sequence", (const uint8_t *)num, n);
	n = snprintf(num, sizeof num, "%lld", (long long)weir_arrival_unix_nano(r));
	weir_emit_to(r, "arrival_unix_nano", (const uint8_t *)num, n);
	p = weir_source(r, &n), weir_emit_to(r, "source", p, n);
	for (size_t i = 0; i < NPATHS; i++) {
		weir_value v = weir_get(r, paths[i]);
		uint8_t *b = malloc(v.len + 1);
		b[0] = v.type;
		uint32_t bl = 1;
		if (v.type == WEIR_STRING || v.type == WEIR_NUMBER || v.type == WEIR_OBJECT || v.type == WEIR_ARRAY) memcpy(b + 1, v.ptr, v.len), bl += v.len;
		char route[64];
		snprintf(route, sizeof route, "view:%s", paths[i]);
		weir_emit_to(r, route, b, bl);
		free(b);
	}
	return 0;
}

__attribute__((constructor)) static void init(void) {
	for (size_t i = 0; i < NPATHS; i++) weir_path(paths[i]);
	weir_handle(handle);
}
