/*
 * A module that calls every kind of host service through the C SDK, for
 * sdk/compat TestHostCallsC: the key-value cache (set then get, from a
 * prepare function, once per batch), DNS without the capability (denied),
 * intrinsics, config and logging.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir.h"

static char **cached;
static uint32_t *cached_len;
static size_t ncached;
static char dns[300];

static int prepare(weir_batch *b) {
	size_t n = weir_batch_len(b);
	char **keys = calloc(n + 1, sizeof(char *)), **vals = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		uint32_t len;
		const uint8_t *d = weir_batch_data(b, i, &len);
		keys[i] = malloc(24);
		snprintf(keys[i], 24, "k%zu", i);
		vals[i] = malloc(len + 1);
		for (uint32_t k = 0; k < len; k++) vals[i][k] = (char)toupper(d[k]);
		vals[i][len] = 0;
	}
	const weir_result *res;
	if (weir_cache_set((const char *const *)keys, (const char *const *)vals, NULL, n, &res) < 0) return weir_batch_fail(b, weir_enrich_error());
	for (size_t i = 0; i < n; i++)
		if (res[i].status != WEIR_RESULT_OK) return weir_batch_fail(b, "cache set failed");
	if (weir_cache_get((const char *const *)keys, n, &res) < 0) return weir_batch_fail(b, weir_enrich_error());
	for (size_t i = 0; i < ncached; i++) free(cached[i]);
	free(cached);
	free(cached_len);
	cached = calloc(n + 1, sizeof(char *));
	cached_len = calloc(n + 1, sizeof(uint32_t));
	ncached = n;
	for (size_t i = 0; i < n; i++) {
		int ok = res[i].status == WEIR_RESULT_OK;
		cached_len[i] = ok ? res[i].len : 4;
		cached[i] = malloc(cached_len[i] + 1);
		memcpy(cached[i], ok ? (const char *)res[i].value : "miss", cached_len[i]);
		free(keys[i]);
		free(vals[i]);
	}
	free(keys);
	free(vals);
	const char *ips[] = {"192.0.2.1"};
	if (weir_dns("PTR", ips, 1, &res) < 0) snprintf(dns, sizeof dns, "%s", weir_enrich_error());
	else snprintf(dns, sizeof dns, "allowed");
	return 0;
}

static int handle(weir_record *r) {
	uint32_t n;
	const uint8_t *d = weir_data(r, &n);
	char hex[64], cfg[64], out[128];
	uint8_t *b64 = malloc((n + 2) / 3 * 4 + 1), *esc = malloc(6 * n + 3);
	int32_t hl = weir_intrinsic_digest_hex(WEIR_DIGEST_SHA256, d, n, hex);
	int32_t bl = weir_intrinsic_base64_encode(0, d, n, b64);
	int32_t el = weir_intrinsic_json_escape(d, n, esc, 6 * n + 3);
	if (hl < 0 || bl < 0 || el < 0) return weir_fail(r, "an intrinsic failed");
	int cl = weir_config("suffix", cfg, sizeof cfg);
	snprintf(out, sizeof out, "%s/%s", cl < 0 ? "unset" : cfg, weir_config("nope", cfg, sizeof cfg) < 0 ? "true" : "false");
	weir_log_info("hostcalls: a record");
	weir_emit_to(r, "sha256", (const uint8_t *)hex, hl);
	weir_emit_to(r, "base64", b64, bl);
	weir_emit_to(r, "json", esc, el);
	weir_emit_to(r, "config", (const uint8_t *)out, strlen(out));
	weir_emit_to(r, "cache", (const uint8_t *)cached[weir_index(r)], cached_len[weir_index(r)]);
	weir_emit_to(r, "dns", (const uint8_t *)dns, strlen(dns));
	free(b64);
	free(esc);
	return 0;
}

__attribute__((constructor)) static void init(void) {
	weir_prepare(prepare);
	weir_handle(handle);
}
