/*
 * weir.c: weir's C SDK (see weir.h and README.md). Frames (sdk/ABI.md),
 * the record API, documents and the guest-side op list applier (for hosts
 * without FlagHostOps: the same bytes as the host's frame.Applier), the
 * Extism kernel calls and the enrichment host functions.
 */
#include "weir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define ENV(name) __attribute__((import_module("extism:host/env"), import_name(name)))
#define USER(name) __attribute__((import_module("extism:host/user"), import_name(name)))

ENV("input_length") uint64_t ext_input_length(void);
ENV("input_load_u8") uint32_t ext_input_load_u8(uint64_t);
ENV("input_load_u64") uint64_t ext_input_load_u64(uint64_t);
ENV("output_set") void ext_output_set(uint64_t, uint64_t);
ENV("alloc") uint64_t ext_alloc(uint64_t);
ENV("free") void ext_free(uint64_t);
ENV("length") uint64_t ext_length(uint64_t);
ENV("load_u8") uint32_t ext_load_u8(uint64_t);
ENV("load_u64") uint64_t ext_load_u64(uint64_t);
ENV("store_u8") void ext_store_u8(uint64_t, uint32_t);
ENV("store_u64") void ext_store_u64(uint64_t, uint64_t);
ENV("config_get") uint64_t ext_config_get(uint64_t);
ENV("log_debug") void ext_log_debug(uint64_t);
ENV("log_info") void ext_log_info(uint64_t);
ENV("log_warn") void ext_log_warn(uint64_t);
ENV("log_error") void ext_log_error(uint64_t);
USER("weir_dns") uint64_t host_weir_dns(uint64_t);
USER("weir_mmdb") uint64_t host_weir_mmdb(uint64_t);
USER("weir_dynamodb") uint64_t host_weir_dynamodb(uint64_t);
USER("weir_http") uint64_t host_weir_http(uint64_t);
USER("weir_cache") uint64_t host_weir_cache(uint64_t);

/* ---- growable buffers and an arena ---- */

typedef struct {
	uint8_t *p;
	size_t len, cap;
} buf;

static void grow(buf *b, size_t n) {
	if (b->len + n <= b->cap) return;
	size_t c = b->cap ? b->cap * 2 : 256;
	while (c < b->len + n) c *= 2;
	b->p = realloc(b->p, c);
	if (!b->p) abort();
	b->cap = c;
}
static void put(buf *b, const void *p, size_t n) {
	grow(b, n);
	if (n) memcpy(b->p + b->len, p, n);
	b->len += n;
}
static void put_u8(buf *b, uint8_t c) { put(b, &c, 1); }
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); } /* wasm32 is little-endian */
static void put_bytes(buf *b, const void *p, uint32_t n) {
	put_u32(b, n);
	put(b, p, n);
}
static void put_cstr(buf *b, const char *s) { put(b, s, strlen(s)); }

typedef struct block {
	struct block *next;
	size_t size, used;
	uint8_t data[];
} block;
static block *arena;

static void *amalloc(size_t n) {
	n = (n + 7) & ~(size_t)7;
	if (!arena || arena->used + n > arena->size) {
		size_t size = n > 65536 ? n : 65536;
		block *b = malloc(sizeof(block) + size);
		if (!b) abort();
		b->next = arena;
		b->size = size;
		b->used = 0;
		arena = b;
	}
	void *p = arena->data + arena->used;
	arena->used += n;
	return p;
}
static void areset(void) {
	while (arena && arena->next) {
		block *n = arena->next;
		free(arena);
		arena = n;
	}
	if (arena) arena->used = 0;
}
static uint8_t *adup(const uint8_t *p, size_t n) {
	uint8_t *d = amalloc(n ? n : 1);
	if (n) memcpy(d, p, n);
	return d;
}

/* ---- JSON ---- */

static const char HEX[] = "0123456789abcdef";

static size_t utf8_len(const uint8_t *s, size_t n) {
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t k;
	if (c >= 0xc2 && c <= 0xdf) k = 2;
	else if (c == 0xe0) k = 3, lo = 0xa0;
	else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) k = 3;
	else if (c == 0xed) k = 3, hi = 0x9f;
	else if (c == 0xf0) k = 4, lo = 0x90;
	else if (c >= 0xf1 && c <= 0xf3) k = 4;
	else if (c == 0xf4) k = 4, hi = 0x8f;
	else return 0;
	if (n < k || s[1] < lo || s[1] > hi) return 0;
	for (size_t i = 2; i < k; i++)
		if (s[i] < 0x80 || s[i] > 0xbf) return 0;
	return k;
}

static void append_string(buf *b, const uint8_t *s, size_t n) {
	put_u8(b, '"');
	size_t i = 0, start = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t k = utf8_len(s + i, n - i);
			if (k == 0) {
				put(b, s + start, i - start);
				put_cstr(b, "\\ufffd");
				start = ++i;
				continue;
			}
			if (k == 3 && c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
				put(b, s + start, i - start);
				put_cstr(b, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
				i += 3;
				start = i;
				continue;
			}
			i += k;
			continue;
		}
		put(b, s + start, i - start);
		switch (c) {
		case '"': put_cstr(b, "\\\""); break;
		case '\\': put_cstr(b, "\\\\"); break;
		case '\n': put_cstr(b, "\\n"); break;
		case '\r': put_cstr(b, "\\r"); break;
		case '\t': put_cstr(b, "\\t"); break;
		default: {
			char e[6] = {'\\', 'u', '0', '0', HEX[c >> 4], HEX[c & 15]};
			put(b, e, 6);
		}
		}
		start = ++i;
	}
	put(b, s + start, n - start);
	put_u8(b, '"');
}

void weir_json_string(uint8_t **p, size_t *len, size_t *cap, const uint8_t *s, size_t n) {
	buf b = {*p, *len, *cap};
	append_string(&b, s, n);
	*p = b.p, *len = b.len, *cap = b.cap;
}

static int valid_number(const uint8_t *b, size_t n) {
	size_t i = 0, d;
	if (i < n && b[i] == '-') i++;
	if (i < n && b[i] == '0') i++;
	else {
		for (d = 0; i < n && b[i] >= '0' && b[i] <= '9'; i++) d++;
		if (!d) return 0;
	}
	if (i < n && b[i] == '.') {
		i++;
		for (d = 0; i < n && b[i] >= '0' && b[i] <= '9'; i++) d++;
		if (!d) return 0;
	}
	if (i < n && (b[i] == 'e' || b[i] == 'E')) {
		i++;
		if (i < n && (b[i] == '+' || b[i] == '-')) i++;
		for (d = 0; i < n && b[i] >= '0' && b[i] <= '9'; i++) d++;
		if (!d) return 0;
	}
	return i == n;
}

/* A JSON value in the arena. Objects and arrays hold n children (keys for
 * objects); owned is 0 for nodes of the parsed input, which an edit copies
 * before changing them. */
typedef struct jv {
	uint8_t type; /* WEIR_* value types */
	uint8_t owned;
	const uint8_t *s; /* string (unescaped) or number text */
	uint32_t slen;
	uint32_t n, cap;
	struct jv *vals;
	const uint8_t **keys;
	uint32_t *klens;
} jv;

typedef struct {
	const uint8_t *b;
	size_t n, i;
	int depth;
	const char *err;
} parser;

static void ws(parser *p) {
	while (p->i < p->n && (p->b[p->i] == ' ' || p->b[p->i] == '\t' || p->b[p->i] == '\n' || p->b[p->i] == '\r')) p->i++;
}

static void jv_push(jv *o, const uint8_t *k, uint32_t klen, jv v) {
	if (o->n == o->cap) {
		uint32_t c = o->cap ? o->cap * 2 : 8;
		jv *vals = amalloc(sizeof(jv) * c);
		if (o->n) memcpy(vals, o->vals, sizeof(jv) * o->n);
		o->vals = vals;
		if (o->type == WEIR_OBJECT) {
			const uint8_t **keys = amalloc(sizeof(*keys) * c);
			uint32_t *klens = amalloc(sizeof(uint32_t) * c);
			if (o->n) memcpy(keys, o->keys, sizeof(*keys) * o->n), memcpy(klens, o->klens, sizeof(uint32_t) * o->n);
			o->keys = keys, o->klens = klens;
		}
		o->cap = c;
	}
	o->vals[o->n] = v;
	if (o->type == WEIR_OBJECT) o->keys[o->n] = k, o->klens[o->n] = klen;
	o->n++;
}

static int hex4(parser *p, uint32_t *v) {
	if (p->i + 4 > p->n) return -1;
	*v = 0;
	for (int k = 0; k < 4; k++) {
		uint8_t c = p->b[p->i + k];
		uint32_t d;
		if (c >= '0' && c <= '9') d = c - '0';
		else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
		else return -1;
		*v = *v << 4 | d;
	}
	p->i += 4;
	return 0;
}

static int parse_string(parser *p, const uint8_t **out, uint32_t *outlen) {
	p->i++; /* the quote */
	size_t start = p->i;
	while (p->i < p->n && p->b[p->i] != '"' && p->b[p->i] != '\\' && p->b[p->i] >= 0x20) p->i++;
	if (p->i < p->n && p->b[p->i] == '"') { /* no escapes: alias the input */
		*out = p->b + start;
		*outlen = p->i - start;
		p->i++;
		return 0;
	}
	buf s = {0};
	put(&s, p->b + start, p->i - start);
	for (;;) {
		if (p->i >= p->n) { p->err = "unterminated string"; break; }
		uint8_t c = p->b[p->i++];
		if (c == '"') {
			*out = adup(s.p, s.len);
			*outlen = s.len;
			free(s.p);
			return 0;
		}
		if (c < 0x20) { p->err = "control character in a string"; break; }
		if (c != '\\') { put_u8(&s, c); continue; }
		if (p->i >= p->n) { p->err = "unterminated string"; break; }
		uint8_t e = p->b[p->i++];
		switch (e) {
		case '"': case '\\': case '/': put_u8(&s, e); continue;
		case 'b': put_u8(&s, 8); continue;
		case 'f': put_u8(&s, 12); continue;
		case 'n': put_u8(&s, '\n'); continue;
		case 'r': put_u8(&s, '\r'); continue;
		case 't': put_u8(&s, '\t'); continue;
		case 'u': break;
		default: p->err = "invalid escape"; goto fail;
		}
		uint32_t r, lo;
		if (hex4(p, &r)) { p->err = "invalid \\u escape"; break; }
		if (r >= 0xd800 && r < 0xdc00 && p->i + 1 < p->n && p->b[p->i] == '\\' && p->b[p->i + 1] == 'u') {
			size_t save = p->i;
			p->i += 2;
			if (hex4(p, &lo)) { p->err = "invalid \\u escape"; break; }
			if (lo >= 0xdc00 && lo < 0xe000) r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
			else p->i = save;
		}
		if (r >= 0xd800 && r < 0xe000) r = 0xfffd;
		uint8_t u[4];
		if (r < 0x80) put_u8(&s, r);
		else if (r < 0x800) u[0] = 0xc0 | r >> 6, u[1] = 0x80 | (r & 63), put(&s, u, 2);
		else if (r < 0x10000) u[0] = 0xe0 | r >> 12, u[1] = 0x80 | ((r >> 6) & 63), u[2] = 0x80 | (r & 63), put(&s, u, 3);
		else u[0] = 0xf0 | r >> 18, u[1] = 0x80 | ((r >> 12) & 63), u[2] = 0x80 | ((r >> 6) & 63), u[3] = 0x80 | (r & 63), put(&s, u, 4);
	}
fail:
	free(s.p);
	return -1;
}

static int parse_value(parser *p, jv *v) {
	memset(v, 0, sizeof *v);
	ws(p);
	if (p->i >= p->n) { p->err = "unexpected end of JSON"; return -1; }
	uint8_t c = p->b[p->i];
	if (c == '{' || c == '[') {
		if (++p->depth > 300) { p->err = "too deeply nested"; return -1; }
		uint8_t close = c == '{' ? '}' : ']';
		v->type = c == '{' ? WEIR_OBJECT : WEIR_ARRAY;
		p->i++;
		ws(p);
		if (p->i < p->n && p->b[p->i] == close) {
			p->i++;
			p->depth--;
			return 0;
		}
		for (;;) {
			const uint8_t *k = NULL;
			uint32_t klen = 0;
			if (v->type == WEIR_OBJECT) {
				ws(p);
				if (p->i >= p->n || p->b[p->i] != '"') { p->err = "expected an object key"; return -1; }
				if (parse_string(p, &k, &klen)) return -1;
				ws(p);
				if (p->i >= p->n || p->b[p->i] != ':') { p->err = "expected ':'"; return -1; }
				p->i++;
			}
			jv child;
			if (parse_value(p, &child)) return -1;
			jv_push(v, k, klen, child);
			ws(p);
			if (p->i < p->n && p->b[p->i] == ',') { p->i++; continue; }
			if (p->i < p->n && p->b[p->i] == close) { p->i++; p->depth--; return 0; }
			p->err = close == '}' ? "expected ',' or '}'" : "expected ',' or ']'";
			return -1;
		}
	}
	if (c == '"') {
		v->type = WEIR_STRING;
		return parse_string(p, &v->s, &v->slen);
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		size_t start = p->i;
		while (p->i < p->n && (strchr("+-.eE", p->b[p->i]) || (p->b[p->i] >= '0' && p->b[p->i] <= '9')) && p->b[p->i]) p->i++;
		if (!valid_number(p->b + start, p->i - start)) { p->i = start; p->err = "invalid number"; return -1; }
		v->type = WEIR_NUMBER, v->s = p->b + start, v->slen = p->i - start;
		return 0;
	}
	const char *lits[] = {"true", "false", "null"};
	const uint8_t types[] = {WEIR_TRUE, WEIR_FALSE, WEIR_NULL};
	for (int k = 0; k < 3; k++) {
		size_t l = strlen(lits[k]);
		if (p->n - p->i >= l && memcmp(p->b + p->i, lits[k], l) == 0) {
			p->i += l;
			v->type = types[k];
			return 0;
		}
	}
	p->err = "unexpected byte";
	return -1;
}

/* json_parse parses a whole document into the arena; on error it returns
 * -1 and a message in *err. */
static int json_parse(const uint8_t *b, size_t n, jv *v, char *err, size_t errcap) {
	parser p = {b, n, 0, 0, NULL};
	if (parse_value(&p, v) == 0) {
		ws(&p);
		if (p.i == n) return 0;
		p.err = "unexpected byte after the value";
	}
	snprintf(err, errcap, "%s at offset %zu", p.err, p.i);
	return -1;
}

/* json_write appends v compactly; -1 (with the number in *bad) when a
 * number is not valid JSON. */
static int json_write(buf *b, const jv *v) {
	switch (v->type) {
	case WEIR_STRING: append_string(b, v->s, v->slen); return 0;
	case WEIR_NUMBER:
		if (!valid_number(v->s, v->slen)) return -1;
		put(b, v->s, v->slen);
		return 0;
	case WEIR_TRUE: put_cstr(b, "true"); return 0;
	case WEIR_FALSE: put_cstr(b, "false"); return 0;
	case WEIR_NULL: put_cstr(b, "null"); return 0;
	}
	int obj = v->type == WEIR_OBJECT;
	put_u8(b, obj ? '{' : '[');
	for (uint32_t i = 0; i < v->n; i++) {
		if (i) put_u8(b, ',');
		if (obj) {
			append_string(b, v->keys[i], v->klens[i]);
			put_u8(b, ':');
		}
		if (json_write(b, &v->vals[i])) return -1;
	}
	put_u8(b, obj ? '}' : ']');
	return 0;
}

/* Path segments (sdk/ABI.md "Path syntax"), in the arena. */
typedef struct {
	uint32_t n;
	const uint8_t **s;
	uint32_t *len;
} segs;

static segs split_path(const uint8_t *p, size_t n) {
	segs g = {1, NULL, NULL};
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\\' && i + 1 < n) i++;
		else if (p[i] == '.') g.n++;
	}
	g.s = amalloc(sizeof(*g.s) * g.n);
	g.len = amalloc(sizeof(uint32_t) * g.n);
	uint8_t *cur = amalloc(n ? n : 1);
	uint32_t k = 0, l = 0;
	g.s[0] = cur;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '\\' && i + 1 < n) cur[l++] = p[++i];
		else if (c == '.') {
			g.len[k++] = l;
			cur += l;
			l = 0;
			g.s[k] = cur;
		} else cur[l++] = c;
	}
	g.len[k] = l;
	return g;
}

static int find_key(const jv *o, const uint8_t *k, uint32_t klen) {
	for (uint32_t i = 0; i < o->n; i++)
		if (o->klens[i] == klen && memcmp(o->keys[i], k, klen) == 0) return (int)i;
	return -1;
}

static const jv *json_get(const jv *v, segs g) {
	for (uint32_t i = 0; i < g.n && v; i++) {
		if (v->type == WEIR_OBJECT) {
			int j = find_key(v, g.s[i], g.len[i]);
			v = j < 0 ? NULL : &v->vals[j];
		} else if (v->type == WEIR_ARRAY) {
			uint64_t idx = 0;
			if (g.len[i] == 0 || g.len[i] > 10) return NULL;
			for (uint32_t k = 0; k < g.len[i]; k++) {
				if (g.s[i][k] < '0' || g.s[i][k] > '9') return NULL;
				idx = idx * 10 + (g.s[i][k] - '0');
			}
			v = idx < v->n ? &v->vals[idx] : NULL;
		} else return NULL;
	}
	return v;
}

/* own makes an object node the document's own (copying the parsed
 * input's arrays) before it changes. */
static void own(jv *o) {
	if (o->owned) return;
	jv c = *o;
	o->vals = NULL, o->keys = NULL, o->klens = NULL, o->n = 0, o->cap = 0, o->owned = 1;
	for (uint32_t i = 0; i < c.n; i++) jv_push(o, c.keys[i], c.klens[i], c.vals[i]);
}

static jv empty_object(void) {
	jv o;
	memset(&o, 0, sizeof o);
	o.type = WEIR_OBJECT, o.owned = 1;
	return o;
}

static void doc_set(jv *root, segs g, jv val) {
	jv *cur = root;
	own(cur);
	for (uint32_t i = 0; i + 1 < g.n; i++) {
		int j = find_key(cur, g.s[i], g.len[i]);
		if (j < 0) {
			jv_push(cur, g.s[i], g.len[i], empty_object());
			j = cur->n - 1;
		} else if (cur->vals[j].type != WEIR_OBJECT) cur->vals[j] = empty_object();
		cur = &cur->vals[j];
		own(cur);
	}
	int j = find_key(cur, g.s[g.n - 1], g.len[g.n - 1]);
	if (j >= 0) cur->vals[j] = val;
	else jv_push(cur, g.s[g.n - 1], g.len[g.n - 1], val);
}

static void doc_delete(jv *root, segs g) {
	jv *cur = root;
	for (uint32_t i = 0; i + 1 < g.n; i++) {
		int j = find_key(cur, g.s[i], g.len[i]);
		if (j < 0 || cur->vals[j].type != WEIR_OBJECT) return;
		own(cur);
		cur = &cur->vals[j];
	}
	int j = find_key(cur, g.s[g.n - 1], g.len[g.n - 1]);
	if (j < 0) return;
	own(cur);
	memmove(cur->vals + j, cur->vals + j + 1, sizeof(jv) * (cur->n - j - 1));
	memmove(cur->keys + j, cur->keys + j + 1, sizeof(*cur->keys) * (cur->n - j - 1));
	memmove(cur->klens + j, cur->klens + j + 1, sizeof(uint32_t) * (cur->n - j - 1));
	cur->n--;
}

/* ---- digests (set_digest when the SDK applies lists itself) ---- */

static uint32_t rol(uint32_t x, int n) { return x << n | x >> (32 - n); }
static uint32_t ror(uint32_t x, int n) { return x >> n | x << (32 - n); }

static uint8_t *md_pad(const uint8_t *d, size_t n, int be, size_t *outn) {
	size_t m = (n + 9 + 63) / 64 * 64;
	uint8_t *p = amalloc(m);
	memcpy(p, d, n);
	memset(p + n, 0, m - n);
	p[n] = 0x80;
	uint64_t bits = (uint64_t)n * 8;
	for (int i = 0; i < 8; i++) p[m - 8 + i] = be ? (uint8_t)(bits >> (56 - 8 * i)) : (uint8_t)(bits >> (8 * i));
	*outn = m;
	return p;
}
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; }

static void sha256(const uint8_t *d, size_t n, uint8_t out[32]) {
	static const uint32_t K[64] = {0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	size_t m;
	uint8_t *p = md_pad(d, n, 1, &m);
	for (size_t off = 0; off < m; off += 64) {
		uint32_t w[64], v[8];
		for (int i = 0; i < 16; i++) w[i] = be32(p + off + 4 * i);
		for (int i = 16; i < 64; i++) {
			uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
			uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
			w[i] = w[i - 16] + s0 + w[i - 7] + s1;
		}
		memcpy(v, h, sizeof v);
		for (int i = 0; i < 64; i++) {
			uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) + ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[i] + w[i];
			uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
			memmove(v + 1, v, 7 * sizeof(uint32_t));
			v[4] += t1;
			v[0] = t1 + t2;
		}
		for (int i = 0; i < 8; i++) h[i] += v[i];
	}
	for (int i = 0; i < 8; i++) out[4 * i] = h[i] >> 24, out[4 * i + 1] = h[i] >> 16, out[4 * i + 2] = h[i] >> 8, out[4 * i + 3] = h[i];
}

static void sha1(const uint8_t *d, size_t n, uint8_t out[20]) {
	uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
	size_t m;
	uint8_t *p = md_pad(d, n, 1, &m);
	for (size_t off = 0; off < m; off += 64) {
		uint32_t w[80];
		for (int i = 0; i < 16; i++) w[i] = be32(p + off + 4 * i);
		for (int i = 16; i < 80; i++) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
		uint32_t a = h[0], b = h[1], c = h[2], dd = h[3], e = h[4];
		for (int i = 0; i < 80; i++) {
			uint32_t f, k;
			if (i < 20) f = (b & c) | (~b & dd), k = 0x5a827999;
			else if (i < 40) f = b ^ c ^ dd, k = 0x6ed9eba1;
			else if (i < 60) f = (b & c) | (b & dd) | (c & dd), k = 0x8f1bbcdc;
			else f = b ^ c ^ dd, k = 0xca62c1d6;
			uint32_t t = rol(a, 5) + f + e + k + w[i];
			e = dd, dd = c, c = rol(b, 30), b = a, a = t;
		}
		h[0] += a, h[1] += b, h[2] += c, h[3] += dd, h[4] += e;
	}
	for (int i = 0; i < 5; i++) out[4 * i] = h[i] >> 24, out[4 * i + 1] = h[i] >> 16, out[4 * i + 2] = h[i] >> 8, out[4 * i + 3] = h[i];
}

static void md5(const uint8_t *d, size_t n, uint8_t out[16]) {
	static const uint8_t S[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
	static const uint32_t K[64] = {0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
	uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
	size_t m;
	uint8_t *p = md_pad(d, n, 0, &m);
	for (size_t off = 0; off < m; off += 64) {
		uint32_t w[16], a = h[0], b = h[1], c = h[2], dd = h[3];
		for (int i = 0; i < 16; i++) w[i] = le32(p + off + 4 * i);
		for (int i = 0; i < 64; i++) {
			uint32_t f;
			int g;
			if (i < 16) f = (b & c) | (~b & dd), g = i;
			else if (i < 32) f = (dd & b) | (~dd & c), g = (5 * i + 1) % 16;
			else if (i < 48) f = b ^ c ^ dd, g = (3 * i + 5) % 16;
			else f = c ^ (b | ~dd), g = (7 * i) % 16;
			uint32_t f2 = f + a + K[i] + w[g];
			a = dd, dd = c, c = b, b = b + rol(f2, S[i]);
		}
		h[0] += a, h[1] += b, h[2] += c, h[3] += dd;
	}
	for (int i = 0; i < 4; i++) out[4 * i] = h[i], out[4 * i + 1] = h[i] >> 8, out[4 * i + 2] = h[i] >> 16, out[4 * i + 3] = h[i] >> 24;
}

static int hex_digest(uint8_t algo, const uint8_t *d, size_t n, uint8_t *hex, uint32_t *hexlen) {
	uint8_t raw[32];
	size_t k;
	switch (algo) {
	case WEIR_DIGEST_SHA256: sha256(d, n, raw), k = 32; break;
	case WEIR_DIGEST_MD5: md5(d, n, raw), k = 16; break;
	case WEIR_DIGEST_SHA1: sha1(d, n, raw), k = 20; break;
	default: return -1;
	}
	for (size_t i = 0; i < k; i++) hex[2 * i] = HEX[raw[i] >> 4], hex[2 * i + 1] = HEX[raw[i] & 15];
	*hexlen = 2 * k;
	return 0;
}

/* ---- the guest applier ---- */

typedef struct {
	const uint8_t *b;
	size_t n, off;
	int bad;
} rd;
static uint8_t rd_u8(rd *r) {
	if (r->off + 1 > r->n) { r->bad = 1; return 0; }
	return r->b[r->off++];
}
static uint32_t rd_u32(rd *r) {
	if (r->off + 4 > r->n) { r->bad = 1; r->off = r->n; return 0; }
	uint32_t v = le32(r->b + r->off);
	r->off += 4;
	return v;
}
static uint64_t rd_u64(rd *r) {
	if (r->off + 8 > r->n) { r->bad = 1; r->off = r->n; return 0; }
	uint64_t v = (uint64_t)le32(r->b + r->off + 4) << 32 | le32(r->b + r->off);
	r->off += 8;
	return v;
}
static const uint8_t *rd_bytes(rd *r, uint32_t *len) {
	uint32_t n = rd_u32(r);
	if (r->bad || n > r->n - r->off) { r->bad = 1; r->off = r->n; *len = 0; return NULL; }
	const uint8_t *p = r->b + r->off;
	r->off += n;
	*len = n;
	return p;
}

/* apply applies an op list to the input record (parsed: NULL or the
 * record parsed), appending the document to out; -1 with a message. */
static int apply(buf *out, uint8_t kind, const uint8_t *ops, size_t nops, const uint8_t *input, size_t ninput, const jv *parsed, char *err, size_t errcap) {
	jv in, root;
	const char *perr = NULL;
	char pmsg[160];
#define NEED_INPUT()                                                          \
	if (!parsed && !perr) {                                                \
		if (json_parse(input, ninput, &in, pmsg, sizeof pmsg) == 0) parsed = &in; \
		else perr = pmsg;                                              \
	}
	if (kind == WEIR_OUTPUT_OPS) root = empty_object();
	else if (kind == WEIR_OUTPUT_EDIT) {
		NEED_INPUT();
		if (perr) { snprintf(err, errcap, "edit: the input record is not JSON: %s", perr); return -1; }
		if (parsed->type != WEIR_OBJECT) {
			static const char *names[] = {"missing", "string", "number", "bool", "bool", "null", "object", "array"};
			snprintf(err, errcap, "edit: the input record is a JSON %s, not an object", names[parsed->type]);
			return -1;
		}
		root = *parsed;
		root.owned = 0;
	} else {
		snprintf(err, errcap, "unknown output kind %d", kind);
		return -1;
	}
	rd r = {ops, nops, 0, 0};
	while (r.off < r.n) {
		size_t start = r.off;
		uint8_t code = rd_u8(&r);
		uint32_t plen, n;
		const uint8_t *path = rd_bytes(&r, &plen), *p;
		if (r.bad) goto truncated;
		segs g = split_path(path, plen);
		jv val;
		memset(&val, 0, sizeof val);
		switch (code) {
		case WEIR_OP_SET_JSON: {
			p = rd_bytes(&r, &n);
			if (r.bad) goto truncated;
			char m[160];
			if (json_parse(p, n, &val, m, sizeof m)) {
				snprintf(err, errcap, "op at byte %zu: set %.*s: invalid JSON value: %s", start, (int)plen, path, m);
				return -1;
			}
			break;
		}
		case WEIR_OP_SET_STRING:
			p = rd_bytes(&r, &n);
			if (r.bad) goto truncated;
			val.type = WEIR_STRING, val.s = p, val.slen = n;
			break;
		case WEIR_OP_SET_INT: {
			int64_t v = (int64_t)rd_u64(&r);
			if (r.bad) goto truncated;
			char *t = amalloc(24);
			val.type = WEIR_NUMBER, val.s = (uint8_t *)t, val.slen = snprintf(t, 24, "%lld", (long long)v);
			break;
		}
		case WEIR_OP_COPY:
		case WEIR_OP_COPY_STRING: {
			p = rd_bytes(&r, &n);
			if (r.bad) goto truncated;
			NEED_INPUT();
			if (perr) {
				snprintf(err, errcap, "copy %.*s: the input record is not JSON: %s", (int)n, p, perr);
				return -1;
			}
			const jv *src = json_get(parsed, split_path(p, n));
			if (!src) continue;
			if (code == WEIR_OP_COPY_STRING && (src->type != WEIR_STRING || src->slen == 0)) continue;
			val = *src;
			val.owned = 0;
			break;
		}
		case WEIR_OP_SET_ORIGINAL: val.type = WEIR_STRING, val.s = input, val.slen = ninput; break;
		case WEIR_OP_SET_DIGEST: {
			uint8_t algo = rd_u8(&r);
			if (r.bad) goto truncated;
			uint8_t *h = amalloc(64);
			val.type = WEIR_STRING, val.s = h;
			if (hex_digest(algo, input, ninput, h, &val.slen)) {
				snprintf(err, errcap, "op at byte %zu: unknown digest algorithm %d", start, algo);
				return -1;
			}
			break;
		}
		case WEIR_OP_DELETE: doc_delete(&root, g); continue;
		default: snprintf(err, errcap, "at byte offset %zu: unknown op %d", start, code); return -1;
		}
		doc_set(&root, g, val);
	}
	size_t mark = out->len;
	if (json_write(out, &root)) {
		out->len = mark;
		snprintf(err, errcap, "the document would hold a number that is not valid JSON");
		return -1;
	}
	return 0;
truncated:
	snprintf(err, errcap, "op list truncated at byte offset %zu", r.off);
	return -1;
#undef NEED_INPUT
}

/* ---- frames and the runtime ---- */

#define FLAG_VIEWS 1
#define FLAG_HOST_OPS 2

typedef struct {
	uint8_t type;
	const uint8_t *p;
	uint32_t len;
} view;

typedef struct {
	const uint8_t *data, *pk, *seq, *src;
	uint32_t ndata, npk, nseq, nsrc;
	uint64_t sub;
	int64_t arrival;
	view *views;
} inrec;

struct weir_doc {
	uint8_t kind;
	buf ops;
};

struct weir_record {
	size_t index;
	inrec *rec;
	uint32_t nout;
	int dropped;
	char *err;
	int tried;
	jv parsed;
	int parse_ok;
};

struct weir_batch {
	inrec *recs;
	size_t n;
	char *err;
};

static weir_handler handler;
static weir_prepare_fn prepare_fn;
static char **paths;
static uint32_t npaths;
static int *view_idx;
static uint16_t frame_flags;
static buf out, manifest, inbuf_b;
static uint8_t *inbuf;
static size_t incap;
static weir_doc *docs;
static size_t ndocs, docs_used;

void weir_handle(weir_handler h) { handler = h; }
void weir_prepare(weir_prepare_fn p) { prepare_fn = p; }
void weir_path(const char *p) {
	paths = realloc(paths, sizeof(char *) * (npaths + 1));
	view_idx = realloc(view_idx, sizeof(int) * (npaths + 1));
	if (!paths || !view_idx) abort();
	paths[npaths++] = strdup(p);
	manifest.len = 0;
}

static void header(buf *b, uint8_t type, uint16_t flags, uint32_t count, uint32_t extra) {
	put(b, "WEIR", 4);
	put_u8(b, type);
	put_u8(b, 1);
	put(b, &flags, 2);
	put_u32(b, count);
	put_u32(b, extra);
}

static buf *error_frame(const char *msg) {
	out.len = 0;
	header(&out, 3, 0, 0, 0);
	put_bytes(&out, msg, strlen(msg));
	return &out;
}

static int read_input(const uint8_t *b, size_t n, inrec **recs, size_t *count, char *err, size_t errcap) {
	rd r = {b, n, 0, 0};
	if (n < 16) { snprintf(err, errcap, "at byte offset 0: truncated header (%zu bytes)", n); return -1; }
	if (memcmp(b, "WEIR", 4)) { snprintf(err, errcap, "at byte offset 0: bad magic (not a weir frame)"); return -1; }
	if (b[4] != 1) { snprintf(err, errcap, "at byte offset 4: frame type %d, want 1 (input)", b[4]); return -1; }
	if (b[5] != 1) { snprintf(err, errcap, "at byte offset 5: frame version %d, this SDK reads version 1", b[5]); return -1; }
	frame_flags = (uint16_t)(b[6] | b[7] << 8);
	uint32_t cnt = le32(b + 8), np = le32(b + 12);
	r.off = 16;
	if (!(frame_flags & FLAG_VIEWS) && np) { snprintf(err, errcap, "at byte offset 12: %u declared paths without FlagViews", np); return -1; }
	if (np > (n - 16) / 4) { snprintf(err, errcap, "at byte offset 12: %u declared paths cannot fit in the frame", np); return -1; }
	const uint8_t **fp = amalloc(sizeof(*fp) * (np + 1));
	uint32_t *fl = amalloc(sizeof(uint32_t) * (np + 1));
	for (uint32_t i = 0; i < np; i++) {
		fp[i] = rd_bytes(&r, &fl[i]);
		if (r.bad) { snprintf(err, errcap, "at byte offset %zu: truncated declared path", r.off); return -1; }
	}
	for (uint32_t i = 0; i < npaths; i++) {
		view_idx[i] = -1;
		for (uint32_t j = 0; j < np; j++)
			if (fl[j] == strlen(paths[i]) && memcmp(fp[j], paths[i], fl[j]) == 0) { view_idx[i] = (int)j; break; }
	}
	if (cnt > (n - r.off) / (36 + 5 * (size_t)np)) { snprintf(err, errcap, "at byte offset 8: %u records cannot fit in the frame", cnt); return -1; }
	inrec *rs = amalloc(sizeof(inrec) * (cnt + 1));
	for (uint32_t i = 0; i < cnt; i++) {
		inrec *x = &rs[i];
		size_t at = r.off;
		rd_u32(&r);
		x->data = rd_bytes(&r, &x->ndata);
		x->pk = rd_bytes(&r, &x->npk);
		x->seq = rd_bytes(&r, &x->nseq);
		x->sub = rd_u64(&r);
		x->arrival = (int64_t)rd_u64(&r);
		x->src = rd_bytes(&r, &x->nsrc);
		x->views = amalloc(sizeof(view) * (np + 1));
		for (uint32_t j = 0; j < np && !r.bad; j++) {
			size_t vat = r.off;
			x->views[j].type = rd_u8(&r);
			x->views[j].p = rd_bytes(&r, &x->views[j].len);
			uint8_t t = x->views[j].type;
			if (!r.bad && t > 7) { snprintf(err, errcap, "at byte offset %zu: unknown view type %d", vat, t); return -1; }
			if (!r.bad && (t == 0 || t == 3 || t == 4 || t == 5) && x->views[j].len) {
				snprintf(err, errcap, "at byte offset %zu: a view of type %d carries %u bytes", vat, t, x->views[j].len);
				return -1;
			}
		}
		if (r.bad) { snprintf(err, errcap, "at byte offset %zu: record %u is truncated", at, i); return -1; }
	}
	if (r.off != n) { snprintf(err, errcap, "at byte offset %zu: %zu trailing bytes after the last record", r.off, n - r.off); return -1; }
	*recs = rs;
	*count = cnt;
	return 0;
}

static weir_value value_of(const jv *v) {
	weir_value w = {WEIR_MISSING, (const uint8_t *)"", 0};
	if (!v) return w;
	w.type = v->type;
	if (v->type == WEIR_STRING || v->type == WEIR_NUMBER) w.ptr = v->s, w.len = v->slen;
	else if (v->type == WEIR_OBJECT || v->type == WEIR_ARRAY) {
		buf b = {0};
		json_write(&b, v);
		w.ptr = adup(b.p, b.len), w.len = b.len;
		free(b.p);
	}
	return w;
}

static int view_of(inrec *x, const char *path, weir_value *v) {
	for (uint32_t i = 0; i < npaths; i++) {
		if (strcmp(paths[i], path)) continue;
		if (view_idx[i] < 0) return 0;
		view *w = &x->views[view_idx[i]];
		v->type = w->type, v->ptr = w->p, v->len = w->len;
		return 1;
	}
	return 0;
}

static weir_value get(inrec *x, const char *path, int *tried, jv *parsed, int *ok) {
	weir_value v;
	if (view_of(x, path, &v)) return v;
	if (!*tried) {
		char e[160];
		*tried = 1;
		*ok = json_parse(x->data, x->ndata, parsed, e, sizeof e) == 0;
	}
	if (!*ok) return value_of(NULL);
	return value_of(json_get(parsed, split_path((const uint8_t *)path, strlen(path))));
}

size_t weir_index(const weir_record *r) { return r->index; }
const uint8_t *weir_data(const weir_record *r, uint32_t *len) { return *len = r->rec->ndata, r->rec->data; }
const uint8_t *weir_partition_key(const weir_record *r, uint32_t *len) { return *len = r->rec->npk, r->rec->pk; }
const uint8_t *weir_sequence_number(const weir_record *r, uint32_t *len) { return *len = r->rec->nseq, r->rec->seq; }
const uint8_t *weir_source(const weir_record *r, uint32_t *len) { return *len = r->rec->nsrc, r->rec->src; }
uint64_t weir_sub_sequence(const weir_record *r) { return r->rec->sub; }
int64_t weir_arrival_unix_nano(const weir_record *r) { return r->rec->arrival; }
weir_value weir_get(weir_record *r, const char *path) { return get(r->rec, path, &r->tried, &r->parsed, &r->parse_ok); }
weir_value weir_view(weir_record *r, uint32_t i) {
	if (i >= npaths) return value_of(NULL);
	if (view_idx[i] >= 0) {
		view *w = &r->rec->views[view_idx[i]];
		weir_value v = {w->type, w->p, w->len};
		return v;
	}
	return get(r->rec, paths[i], &r->tried, &r->parsed, &r->parse_ok);
}
int weir_check_json(weir_record *r) {
	if (frame_flags & FLAG_VIEWS) return 0;
	if (!r->tried) {
		char e[160];
		r->tried = 1;
		r->parse_ok = json_parse(r->rec->data, r->rec->ndata, &r->parsed, e, sizeof e) == 0;
	}
	return r->parse_ok ? 0 : -1;
}
int weir_value_eq(weir_value v, const char *s) { return v.type == WEIR_STRING && v.len == strlen(s) && memcmp(v.ptr, s, v.len) == 0; }
int weir_value_is_true(weir_value v) { return v.type == WEIR_TRUE; }
int weir_value_is_missing(weir_value v) { return v.type == WEIR_MISSING; }

static void output(weir_record *r, uint8_t kind, const char *route, const uint8_t *data, uint32_t len) {
	put_u8(&out, kind);
	put_bytes(&out, route ? route : "", route ? strlen(route) : 0);
	put_bytes(&out, data, len);
	r->nout++;
}
void weir_emit(weir_record *r, const uint8_t *data, uint32_t len) { output(r, WEIR_OUTPUT_RAW, "", data, len); }
void weir_emit_to(weir_record *r, const char *route, const uint8_t *data, uint32_t len) { output(r, WEIR_OUTPUT_RAW, route, data, len); }
void weir_drop(weir_record *r) { r->dropped = 1; }
int weir_fail(weir_record *r, const char *msg) {
	if (!r->err) r->err = (char *)adup((const uint8_t *)msg, strlen(msg) + 1);
	return -1;
}

static weir_doc *new_doc(uint8_t kind) {
	if (docs_used == ndocs) {
		/* Documents live until the batch ends: grow by a fresh slab. */
		size_t n = ndocs ? ndocs * 2 : 8;
		weir_doc *d = calloc(n, sizeof(weir_doc));
		if (!d) abort();
		docs = d, ndocs = n, docs_used = 0;
	}
	weir_doc *d = &docs[docs_used++];
	d->kind = kind;
	d->ops.len = 0;
	return d;
}
weir_doc *weir_doc_new(weir_record *r) { (void)r; return new_doc(WEIR_OUTPUT_OPS); }
weir_doc *weir_edit(weir_record *r) { (void)r; return new_doc(WEIR_OUTPUT_EDIT); }
static void op(weir_doc *d, uint8_t code, const char *path) {
	put_u8(&d->ops, code);
	put_bytes(&d->ops, path, strlen(path));
}
void weir_doc_set_json(weir_doc *d, const char *path, const uint8_t *j, uint32_t n) { op(d, WEIR_OP_SET_JSON, path), put_bytes(&d->ops, j, n); }
void weir_doc_set_string(weir_doc *d, const char *path, const uint8_t *s, uint32_t n) { op(d, WEIR_OP_SET_STRING, path), put_bytes(&d->ops, s, n); }
void weir_doc_set_cstr(weir_doc *d, const char *path, const char *s) { weir_doc_set_string(d, path, (const uint8_t *)s, strlen(s)); }
void weir_doc_set_int(weir_doc *d, const char *path, int64_t n) { op(d, WEIR_OP_SET_INT, path), put(&d->ops, &n, 8); }
void weir_doc_copy(weir_doc *d, const char *path, const char *src) { op(d, WEIR_OP_COPY, path), put_bytes(&d->ops, src, strlen(src)); }
void weir_doc_copy_string(weir_doc *d, const char *path, const char *src) { op(d, WEIR_OP_COPY_STRING, path), put_bytes(&d->ops, src, strlen(src)); }
void weir_doc_set_original(weir_doc *d, const char *path) { op(d, WEIR_OP_SET_ORIGINAL, path); }
void weir_doc_set_digest(weir_doc *d, const char *path, uint8_t algo) { op(d, WEIR_OP_SET_DIGEST, path), put_u8(&d->ops, algo); }
void weir_doc_delete(weir_doc *d, const char *path) { op(d, WEIR_OP_DELETE, path); }
void weir_doc_append_raw(weir_doc *d, const uint8_t *ops, uint32_t n) { put(&d->ops, ops, n); }
weir_doc *weir_ops_new(void) {
	weir_doc *d = calloc(1, sizeof(weir_doc));
	if (!d) abort();
	d->kind = WEIR_OUTPUT_OPS;
	return d;
}
void weir_doc_append(weir_doc *d, const weir_doc *run) { put(&d->ops, run->ops.p, run->ops.len); }
int weir_doc_emit(weir_record *r, weir_doc *d) { return weir_doc_emit_to(r, "", d); }
int weir_doc_emit_to(weir_record *r, const char *route, weir_doc *d) {
	if (frame_flags & FLAG_HOST_OPS) {
		output(r, d->kind, route, d->ops.p ? d->ops.p : (const uint8_t *)"", d->ops.len);
		return 0;
	}
	put_u8(&out, WEIR_OUTPUT_RAW);
	put_bytes(&out, route ? route : "", route ? strlen(route) : 0);
	size_t lenat = out.len;
	put_u32(&out, 0);
	char err[256];
	if (apply(&out, d->kind, d->ops.p, d->ops.len, r->rec->data, r->rec->ndata, r->tried && r->parse_ok ? &r->parsed : NULL, err, sizeof err)) {
		out.len = lenat - 4 - (route ? strlen(route) : 0) - 1;
		return weir_fail(r, err);
	}
	uint32_t n = out.len - lenat - 4;
	memcpy(out.p + lenat, &n, 4);
	r->nout++;
	return 0;
}

size_t weir_batch_len(const weir_batch *b) { return b->n; }
const uint8_t *weir_batch_data(const weir_batch *b, size_t i, uint32_t *len) { return *len = b->recs[i].ndata, b->recs[i].data; }
weir_value weir_batch_get(weir_batch *b, size_t i, const char *path) {
	int tried = 0, ok = 0;
	jv parsed;
	return get(&b->recs[i], path, &tried, &parsed, &ok);
}
int weir_batch_fail(weir_batch *b, const char *msg) {
	if (!b->err) b->err = (char *)adup((const uint8_t *)msg, strlen(msg) + 1);
	return -1;
}

static buf *run_batch(const uint8_t *in, size_t n) {
	areset();
	docs_used = 0;
	if (!handler) return error_frame("weir: no handler registered: call weir_handle from a constructor");
	inrec *recs;
	size_t count;
	char err[256], msg[300];
	if (read_input(in, n, &recs, &count, err, sizeof err)) {
		snprintf(msg, sizeof msg, "weir: reading the input frame: %s", err);
		return error_frame(msg);
	}
	out.len = 0;
	header(&out, 2, 0, count, 0);
	weir_batch b = {recs, count, NULL};
	if (prepare_fn) {
		int rc = prepare_fn(&b);
		if (rc && !b.err) {
			snprintf(msg, sizeof msg, "prepare returned %d", rc);
			b.err = (char *)adup((const uint8_t *)msg, strlen(msg) + 1);
		}
	}
	for (size_t i = 0; i < count; i++) {
		size_t mark = out.len;
		put_u8(&out, 0);
		put_u32(&out, 0);
		weir_record r;
		memset(&r, 0, sizeof r);
		r.index = i, r.rec = &recs[i];
		int rc = 0;
		if (b.err) r.err = b.err;
		else rc = handler(&r);
		if (rc && !r.err) {
			snprintf(msg, sizeof msg, "handler returned %d", rc);
			r.err = msg;
		}
		if (r.err) {
			out.len = mark;
			put_u8(&out, 2);
			put_bytes(&out, r.err, strlen(r.err));
		} else if (r.dropped) {
			out.len = mark;
			put_u8(&out, 1);
		} else memcpy(out.p + mark + 1, &r.nout, 4);
	}
	return &out;
}

static int64_t packed(const buf *b) { return (int64_t)((uint64_t)(uintptr_t)b->p << 32 | (uint32_t)b->len); }

EXPORT("weir_abi_version") int32_t weir_abi_version(void) { return WEIR_ABI_VERSION; }

EXPORT("weir_alloc") int32_t weir_alloc(int32_t size) {
	if (size < 0) return 0;
	if ((size_t)size > incap || !inbuf) {
		size_t c = (size_t)size > 65536 ? (size_t)size : 65536;
		free(inbuf);
		inbuf = malloc(c);
		if (!inbuf) return 0;
		incap = c;
	}
	return (int32_t)(uintptr_t)inbuf;
}

EXPORT("weir_transform") int64_t weir_transform(int32_t ptr, int32_t len) {
	if (len < 0 || (size_t)len > incap || (uintptr_t)(uint32_t)ptr != (uintptr_t)inbuf)
		return packed(error_frame("weir_transform: the frame is not in the buffer weir_alloc returned"));
	return packed(run_batch(inbuf, (size_t)len));
}

EXPORT("weir_manifest") int64_t weir_manifest(void) {
	if (!manifest.len) {
		put_cstr(&manifest, "{\"abi\":1,\"sdk\":");
		append_string(&manifest, (const uint8_t *)WEIR_SDK_VERSION, strlen(WEIR_SDK_VERSION));
		put_cstr(&manifest, ",\"paths\":[");
		for (uint32_t i = 0; i < npaths; i++) {
			if (i) put_u8(&manifest, ',');
			append_string(&manifest, (const uint8_t *)paths[i], strlen(paths[i]));
		}
		put_cstr(&manifest, "]}");
	}
	return packed(&manifest);
}

/* ---- Extism kernel memory ---- */

static uint64_t kstore(const void *p, size_t n) {
	uint64_t off = ext_alloc(n);
	if (!off) return 0;
	const uint8_t *b = p;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, b + i, 8);
		ext_store_u64(off + i, v);
	}
	for (; i < n; i++) ext_store_u8(off + i, b[i]);
	return off;
}

static void kload(uint64_t off, buf *b) {
	size_t n = ext_length(off), i = 0;
	b->len = 0;
	grow(b, n);
	for (; i + 8 <= n; i += 8) {
		uint64_t v = ext_load_u64(off + i);
		memcpy(b->p + i, &v, 8);
	}
	for (; i < n; i++) b->p[i] = ext_load_u8(off + i);
	b->len = n;
}

EXPORT("weir_batch") int32_t weir_batch_export(void) {
	size_t n = ext_input_length(), i = 0;
	inbuf_b.len = 0;
	grow(&inbuf_b, n ? n : 1);
	for (; i + 8 <= n; i += 8) {
		uint64_t v = ext_input_load_u64(i);
		memcpy(inbuf_b.p + i, &v, 8);
	}
	for (; i < n; i++) inbuf_b.p[i] = ext_input_load_u8(i);
	buf *o = run_batch(inbuf_b.p, n);
	ext_output_set(kstore(o->p, o->len), o->len);
	return 0;
}

int weir_config(const char *key, char *dst, size_t cap) {
	uint64_t k = kstore(key, strlen(key));
	uint64_t v = ext_config_get(k);
	ext_free(k);
	if (!v) return -1;
	buf b = {0};
	kload(v, &b);
	ext_free(v);
	int n = (int)b.len;
	if (b.len < cap) {
		memcpy(dst, b.p, b.len);
		dst[b.len] = 0;
	}
	free(b.p);
	return n;
}

static void logmsg(void (*f)(uint64_t), const char *msg) {
	uint64_t off = kstore(msg, strlen(msg));
	f(off);
	ext_free(off);
}
void weir_log_debug(const char *m) { logmsg(ext_log_debug, m); }
void weir_log_info(const char *m) { logmsg(ext_log_info, m); }
void weir_log_warn(const char *m) { logmsg(ext_log_warn, m); }
void weir_log_error(const char *m) { logmsg(ext_log_error, m); }

/* ---- enrichment ---- */

static char enrich_err[256];
static buf resp;
static weir_result *results;
static size_t nresults;

const char *weir_enrich_error(void) { return enrich_err; }

static int call(uint64_t (*f)(uint64_t), buf *req, uint32_t n, const weir_result **res) {
	uint64_t off = kstore(req->p, req->len);
	free(req->p);
	if (!off) return snprintf(enrich_err, sizeof enrich_err, "kernel memory is full"), -1;
	uint64_t r = f(off);
	ext_free(off);
	if (!r) return snprintf(enrich_err, sizeof enrich_err, "the host returned no response (kernel memory full)"), -1;
	kload(r, &resp);
	ext_free(r);
	rd d = {resp.p, resp.len, 0, 0};
	uint8_t status = rd_u8(&d);
	if (d.bad) return snprintf(enrich_err, sizeof enrich_err, "empty response"), -1;
	if (status) {
		uint32_t l;
		const uint8_t *m = rd_bytes(&d, &l);
		snprintf(enrich_err, sizeof enrich_err, "%s: %.*s", status == 1 ? "denied" : status == 2 ? "bad request" : "internal error", (int)l, m ? (const char *)m : "");
		return -1;
	}
	uint32_t count = rd_u32(&d);
	if (d.bad || count != n) return snprintf(enrich_err, sizeof enrich_err, "the host answered %u results for %u keys", count, n), -1;
	if (nresults < n) {
		results = realloc(results, sizeof(weir_result) * n);
		if (!results) abort();
		nresults = n;
	}
	for (uint32_t i = 0; i < n; i++) {
		results[i].status = rd_u8(&d);
		results[i].value = rd_bytes(&d, &results[i].len);
	}
	if (d.bad) return snprintf(enrich_err, sizeof enrich_err, "truncated response"), -1;
	*res = results;
	return (int)n;
}

static void jstr(buf *b, const char *s) { append_string(b, (const uint8_t *)s, strlen(s)); }
static void list(buf *b, const char *const *items, uint32_t n, int raw) {
	put_u8(b, '[');
	for (uint32_t i = 0; i < n; i++) {
		if (i) put_u8(b, ',');
		if (raw) put_cstr(b, items[i]);
		else jstr(b, items[i]);
	}
	put_u8(b, ']');
}

int weir_dns(const char *type, const char *const *names, uint32_t n, const weir_result **res) {
	buf b = {0};
	put_cstr(&b, "{\"type\":"), jstr(&b, type), put_cstr(&b, ",\"names\":"), list(&b, names, n, 0), put_u8(&b, '}');
	return call(host_weir_dns, &b, n, res);
}
int weir_dns_answer(const weir_result *res, uint32_t i, const uint8_t **s, uint32_t *len) {
	rd d = {res->value, res->len, 0, 0};
	uint32_t n = rd_u32(&d);
	if (d.bad || i >= n) return -1;
	for (uint32_t k = 0; k <= i; k++) *s = rd_bytes(&d, len);
	return d.bad ? -1 : 0;
}
int weir_mmdb(const char *db, const char *const *ips, uint32_t n, const weir_result **res) {
	buf b = {0};
	put_cstr(&b, "{\"db\":"), jstr(&b, db), put_cstr(&b, ",\"ips\":"), list(&b, ips, n, 0), put_u8(&b, '}');
	return call(host_weir_mmdb, &b, n, res);
}
static int dynamo(const char *op, const char *field, const char *table, const char *const *items, uint32_t n, const char *tail, const weir_result **res) {
	buf b = {0};
	put_cstr(&b, "{\"op\":\""), put_cstr(&b, op), put_cstr(&b, "\",\"table\":"), jstr(&b, table);
	put_cstr(&b, ",\""), put_cstr(&b, field), put_cstr(&b, "\":"), list(&b, items, n, 1), put_cstr(&b, tail);
	return call(host_weir_dynamodb, &b, n, res);
}
int weir_dynamodb_get(const char *table, const char *const *keys, uint32_t n, int consistent, const weir_result **res) {
	return dynamo("get", "keys", table, keys, n, consistent ? ",\"consistent\":true}" : "}", res);
}
int weir_dynamodb_query(const char *table, const char *const *q, uint32_t n, const weir_result **res) { return dynamo("query", "queries", table, q, n, "}", res); }
int weir_dynamodb_put(const char *table, const char *const *items, uint32_t n, const weir_result **res) { return dynamo("put", "items", table, items, n, "}", res); }
int weir_http(const char *const *reqs, uint32_t n, const weir_result **res) {
	buf b = {0};
	put_cstr(&b, "{\"requests\":"), list(&b, reqs, n, 1), put_u8(&b, '}');
	return call(host_weir_http, &b, n, res);
}
static int cache_keys(const char *op, const char *const *keys, uint32_t n, const weir_result **res) {
	buf b = {0};
	put_cstr(&b, "{\"op\":\""), put_cstr(&b, op), put_cstr(&b, "\",\"keys\":"), list(&b, keys, n, 0), put_u8(&b, '}');
	return call(host_weir_cache, &b, n, res);
}
int weir_cache_get(const char *const *keys, uint32_t n, const weir_result **res) { return cache_keys("get", keys, n, res); }
int weir_cache_delete(const char *const *keys, uint32_t n, const weir_result **res) { return cache_keys("delete", keys, n, res); }
int weir_cache_set(const char *const *keys, const char *const *values, const uint32_t *ttl, uint32_t n, const weir_result **res) {
	buf b = {0};
	char t[40];
	put_cstr(&b, "{\"op\":\"set\",\"entries\":[");
	for (uint32_t i = 0; i < n; i++) {
		if (i) put_u8(&b, ',');
		put_cstr(&b, "{\"key\":"), jstr(&b, keys[i]), put_cstr(&b, ",\"value\":"), jstr(&b, values[i]);
		snprintf(t, sizeof t, ",\"ttl_seconds\":%u}", ttl ? ttl[i] : 0);
		put_cstr(&b, t);
	}
	put_cstr(&b, "]}");
	return call(host_weir_cache, &b, n, res);
}
