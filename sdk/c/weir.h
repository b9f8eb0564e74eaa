/*
 * weir.h: weir's C SDK (sdk/c), the module ABI of sdk/ABI.md in one header
 * and one source file (weir.c), for clang --target=wasm32-wasi
 * -mexec-model=reactor. No dependency beyond wasi-libc.
 *
 * A module registers a handler from a constructor; the SDK reads each
 * batch's input frame, calls the handler once per record and writes the
 * output frame. It exports the fast path (weir_abi_version, weir_alloc,
 * weir_transform, weir_manifest) and weir_batch, so the module runs on
 * weir and on any Extism host:
 *
 *   #include "weir.h"
 *   static int handle(weir_record *r) {
 *       if (weir_value_is_true(weir_get(r, "readOnly"))) { weir_drop(r); return 0; }
 *       weir_doc *d = weir_edit(r);
 *       weir_doc_set_cstr(d, "weir_tag", "write");
 *       return weir_doc_emit(r, d);
 *   }
 *   __attribute__((constructor)) static void init(void) {
 *       weir_path("readOnly");
 *       weir_handle(handle);
 *   }
 *
 * Every pointer the SDK hands out (record bytes, values, documents) is
 * valid until the handler returns.
 */
#ifndef WEIR_H
#define WEIR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEIR_ABI_VERSION 1
#define WEIR_SDK_VERSION "c/0.1.0"

/* Value types (sdk/ABI.md "Views and value types"). */
enum {
	WEIR_MISSING = 0,
	WEIR_STRING = 1, /* bytes: the string, unescaped */
	WEIR_NUMBER = 2, /* bytes: the number's JSON text */
	WEIR_TRUE = 3,
	WEIR_FALSE = 4,
	WEIR_NULL = 5,
	WEIR_OBJECT = 6, /* bytes: compact JSON text */
	WEIR_ARRAY = 7,  /* bytes: compact JSON text */
};

/* Output kinds, op codes and digest algorithms. */
enum { WEIR_OUTPUT_RAW = 0, WEIR_OUTPUT_OPS = 1, WEIR_OUTPUT_EDIT = 2 };
enum {
	WEIR_OP_SET_JSON = 1,
	WEIR_OP_SET_STRING = 2,
	WEIR_OP_COPY = 3,
	WEIR_OP_SET_ORIGINAL = 4,
	WEIR_OP_SET_DIGEST = 5,
	WEIR_OP_DELETE = 6,
	WEIR_OP_SET_INT = 7,
	WEIR_OP_COPY_STRING = 8,
};
enum { WEIR_DIGEST_SHA256 = 1, WEIR_DIGEST_MD5 = 2, WEIR_DIGEST_SHA1 = 3 };

/* The value of a path in a record. */
typedef struct {
	uint8_t type;
	const uint8_t *ptr;
	uint32_t len;
} weir_value;

typedef struct weir_record weir_record;
typedef struct weir_batch weir_batch;
typedef struct weir_doc weir_doc;

/* The handler: return 0 (the record's outcome is what it emitted, or
 * dropped), or non-zero to fail the record (with weir_fail's message, or
 * "handler returned N"); a failed record's outputs are discarded. */
typedef int (*weir_handler)(weir_record *r);
/* A function that sees the whole batch first; non-zero fails every
 * record (message from weir_batch_fail). */
typedef int (*weir_prepare_fn)(weir_batch *b);

/* Registration, from a constructor. */
void weir_handle(weir_handler h);
void weir_prepare(weir_prepare_fn p);
/* Declares a JSON path the handler reads with weir_get: weir resolves it
 * natively and sends its value (a view). */
void weir_path(const char *path);

/* The record. */
/* The record's position in this call's frame, from 0 (a batch may come in
 * several calls: see sdk/ABI.md). */
size_t weir_index(const weir_record *r);
const uint8_t *weir_data(const weir_record *r, uint32_t *len);
const uint8_t *weir_partition_key(const weir_record *r, uint32_t *len);
const uint8_t *weir_sequence_number(const weir_record *r, uint32_t *len);
const uint8_t *weir_source(const weir_record *r, uint32_t *len);
uint64_t weir_sub_sequence(const weir_record *r);
int64_t weir_arrival_unix_nano(const weir_record *r);

/* The value at path: the host's view for a declared path, else parsed in
 * the guest (once per record; a record that is not JSON gives missing). */
weir_value weir_get(weir_record *r, const char *path);
/* The value of the i-th declared path (weir_path's order): weir_get
 * without looking the path up by name. */
weir_value weir_view(weir_record *r, uint32_t i);
/* 0 when the record is JSON (free when the host sent views); else -1. */
int weir_check_json(weir_record *r);
int weir_value_eq(weir_value v, const char *s); /* a string equal to s */
int weir_value_is_true(weir_value v);
int weir_value_is_missing(weir_value v);

/* Outcomes. */
void weir_emit(weir_record *r, const uint8_t *data, uint32_t len);
void weir_emit_to(weir_record *r, const char *route, const uint8_t *data, uint32_t len);
void weir_drop(weir_record *r);
/* Fails the record with msg (the first message wins); returns -1. */
int weir_fail(weir_record *r, const char *msg);

/* Documents: operation lists applied by the host (FlagHostOps) or, on
 * other hosts, by the SDK (the same bytes). weir_doc starts a new
 * document from {}, weir_edit an edit of the input record. Keys keep the
 * order in which they were first set; paths are dot-separated (\. is a
 * literal dot). */
weir_doc *weir_doc_new(weir_record *r);
weir_doc *weir_edit(weir_record *r);
void weir_doc_set_json(weir_doc *d, const char *path, const uint8_t *json, uint32_t len);
void weir_doc_set_string(weir_doc *d, const char *path, const uint8_t *s, uint32_t len);
void weir_doc_set_cstr(weir_doc *d, const char *path, const char *s);
void weir_doc_set_int(weir_doc *d, const char *path, int64_t n);
void weir_doc_copy(weir_doc *d, const char *path, const char *src);
void weir_doc_copy_string(weir_doc *d, const char *path, const char *src);
void weir_doc_set_original(weir_doc *d, const char *path);
void weir_doc_set_digest(weir_doc *d, const char *path, uint8_t algo);
void weir_doc_delete(weir_doc *d, const char *path);
void weir_doc_append_raw(weir_doc *d, const uint8_t *ops, uint32_t len);
/* Emits the document (default output or a route); 0, or -1 when the SDK
 * applied it and it failed (the record fails too). */
int weir_doc_emit(weir_record *r, weir_doc *d);
/* An operation list tied to no record, for the constant runs of a
 * module's documents: built once (from a constructor) with the
 * weir_doc_* operations, appended to a record's document with
 * weir_doc_append, never freed. */
weir_doc *weir_ops_new(void);
void weir_doc_append(weir_doc *d, const weir_doc *run);
int weir_doc_emit_to(weir_record *r, const char *route, weir_doc *d);

/* The batch, for a prepare function. */
size_t weir_batch_len(const weir_batch *b);
const uint8_t *weir_batch_data(const weir_batch *b, size_t i, uint32_t *len);
weir_value weir_batch_get(weir_batch *b, size_t i, const char *path);
int weir_batch_fail(weir_batch *b, const char *msg);

/* Configuration (Extism config: weir passes a stage's config): the
 * value's length (written to buf when it fits cap, NUL-terminated), or -1
 * when the key is not set. */
int weir_config(const char *key, char *buf, size_t cap);
void weir_log_debug(const char *msg);
void weir_log_info(const char *msg);
void weir_log_warn(const char *msg);
void weir_log_error(const char *msg);

/* Appends s as a quoted JSON string with weir's escaping to a malloc'd
 * buffer (*buf, *len, *cap), growing it. */
void weir_json_string(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *s, size_t n);

/* Intrinsics (weir:host/v1; sdk/ABI.md "Intrinsics"): computed natively
 * by weir. A module that calls one imports weir:host/v1 and needs weir's
 * host; they return a negative status on bad input. */
#define WEIR_INTRINSIC(name) __attribute__((import_module("weir:host/v1"), import_name(name)))
WEIR_INTRINSIC("digest") int32_t weir_intrinsic_digest(int32_t algo, const void *p, int32_t len, void *out);
WEIR_INTRINSIC("digest_hex") int32_t weir_intrinsic_digest_hex(int32_t algo, const void *p, int32_t len, void *out);
WEIR_INTRINSIC("hex_encode") int32_t weir_intrinsic_hex_encode(const void *p, int32_t len, void *out);
WEIR_INTRINSIC("base64_encode") int32_t weir_intrinsic_base64_encode(int32_t variant, const void *p, int32_t len, void *out);
WEIR_INTRINSIC("base64_decode") int32_t weir_intrinsic_base64_decode(int32_t variant, const void *p, int32_t len, void *out, int32_t cap);
WEIR_INTRINSIC("json_escape") int32_t weir_intrinsic_json_escape(const void *p, int32_t len, void *out, int32_t cap);

/* Enrichment host functions (extism:host/user; sdk/ABI.md "Host
 * functions"), one call per batch with all its keys, from a prepare
 * function. Each returns the number of results (one per key, in order),
 * or -1 with a message in weir_enrich_error(). Results are valid until
 * the next call. A module that calls one needs weir's host. */
enum { WEIR_RESULT_OK = 0, WEIR_RESULT_NOT_FOUND = 1, WEIR_RESULT_ERROR = 2, WEIR_RESULT_DENIED = 3 };
typedef struct {
	uint8_t status;       /* WEIR_RESULT_* */
	const uint8_t *value; /* the answer, or the message */
	uint32_t len;
} weir_result;
const char *weir_enrich_error(void);
/* type: "PTR" (names are IP addresses), "A", "AAAA", "TXT"; an OK value
 * is a u32 count and that many u32-length strings (weir_dns_answer). */
int weir_dns(const char *type, const char *const *names, uint32_t n, const weir_result **out);
/* The i-th answer of a DNS value, or -1. */
int weir_dns_answer(const weir_result *res, uint32_t i, const uint8_t **s, uint32_t *len);
int weir_mmdb(const char *db, const char *const *ips, uint32_t n, const weir_result **out);
/* keys / queries / items are JSON objects (sdk/ABI.md). */
int weir_dynamodb_get(const char *table, const char *const *keys_json, uint32_t n, int consistent, const weir_result **out);
int weir_dynamodb_query(const char *table, const char *const *queries_json, uint32_t n, const weir_result **out);
int weir_dynamodb_put(const char *table, const char *const *items_json, uint32_t n, const weir_result **out);
/* requests_json: {"method":"GET","url":"https://...","headers":{},"body":""}
 * objects; an OK value is u32 status, u32 header count, per header two
 * strings, then the body (bytes). */
int weir_http(const char *const *requests_json, uint32_t n, const weir_result **out);
int weir_cache_get(const char *const *keys, uint32_t n, const weir_result **out);
int weir_cache_delete(const char *const *keys, uint32_t n, const weir_result **out);
/* ttl_seconds 0: the stage's default. */
int weir_cache_set(const char *const *keys, const char *const *values, const uint32_t *ttl_seconds, uint32_t n, const weir_result **out);

#ifdef __cplusplus
}
#endif
#endif
