/*
 * cloudtrail-ecs-c: modules/cloudtrail-ecs (CloudTrail -> ECS 8.11)
 * written in C on weir's C SDK (sdk/c). Same views, same operation list
 * byte for byte (sdk/compat TestCloudTrailECSC checks the documents on
 * the three corpora): the host parses the record, resolves the views and
 * applies the list; on hosts without FlagHostOps the SDK applies it.
 *
 * Build: make modules-c, or weir build in this folder.
 */
#include <stdlib.h>
#include <string.h>

#include "weir.h"

/* The values the module inspects, in declaration order (weir_view). */
enum {
	ERROR_CODE,
	ERROR_MESSAGE,
	CONSOLE_LOGIN,
	EVENT_SOURCE,
	SOURCE_IP,
	TLS_VERSION,
	PRINCIPAL_ID,
	EVENT_TIME,
	EVENT_NAME,
	USER_NAME,
	IDENTITY_TYPE,
	IDENTITY_CENTER_NAME,
	REQUEST_USER_NAME,
	REQUEST_NEW_USER_NAME,
	NPATHS
};

static const char *const PATHS[NPATHS] = {
	[ERROR_CODE] = "errorCode",
	[ERROR_MESSAGE] = "errorMessage",
	[CONSOLE_LOGIN] = "responseElements.ConsoleLogin",
	[EVENT_SOURCE] = "eventSource",
	[SOURCE_IP] = "sourceIPAddress",
	[TLS_VERSION] = "tlsDetails.tlsVersion",
	[PRINCIPAL_ID] = "userIdentity.principalId",
	[EVENT_TIME] = "eventTime",
	[EVENT_NAME] = "eventName",
	/* related.user and the user.name fallbacks. */
	[USER_NAME] = "userIdentity.userName",
	[IDENTITY_TYPE] = "userIdentity.type",
	[IDENTITY_CENTER_NAME] = "additionalEventData.UserName",
	[REQUEST_USER_NAME] = "requestParameters.userName",
	[REQUEST_NEW_USER_NAME] = "requestParameters.newUserName",
};

#define NOT_OBJECT "cloudtrail-ecs: the record is not a JSON object"
/* Every CloudTrail event has eventTime and eventName (shippers may move
 * eventTime to @timestamp): an object with neither ({"Records": null}, {},
 * a saved Lambda event) is not one. */
#define NOT_CLOUDTRAIL "cloudtrail-ecs: not a CloudTrail event: no eventTime and no eventName"
#define SUFFIX ".amazonaws.com"

/* The constant runs of the operation list, built once per instance. */
static weir_doc *run_head, *run_cloud, *run_source_ip, *run_cipher, *run_server_name,
	*run_user_id, *run_kind, *run_provider, *run_user_agent, *run_failure, *run_success;

/* Scratch space for lower-cased values and the related.* arrays
 * (weir_doc_set_string and weir_doc_set_json copy). */
static uint8_t *lower_buf, *related_buf;
static size_t lower_cap, related_len, related_cap;

/* ECS categorization (event.category, event.type) by eventName, after
 * Elastic's AWS CloudTrail integration (modules/cloudtrail-ecs
 * categorize.go): an event whose name is not in the table gets ["info"]
 * and no event.category. */
enum {
	CAT_NONE,
	CAT_AUTH,
	CAT_IAM_GROUP_CHANGE,
	CAT_IAM_GROUP_CREATION,
	CAT_IAM_GROUP_DELETION,
	CAT_IAM_GROUP_INFO,
	CAT_IAM_USER_CHANGE,
	CAT_IAM_USER_CREATION,
	CAT_IAM_USER_DELETION,
	CAT_IAM_USER_INFO,
	CAT_IAM_ADMIN_CHANGE,
	CAT_IAM_ADMIN_CREATION,
	CAT_FILE_CREATION,
	CAT_FILE_DELETION,
	NCATS
};

static const struct {
	const char *category, *type; /* JSON arrays; no category: NULL */
} CATEGORIES[NCATS] = {
	[CAT_NONE] = {NULL, "[\"info\"]"},
	[CAT_AUTH] = {"[\"authentication\"]", "[\"info\"]"},
	[CAT_IAM_GROUP_CHANGE] = {"[\"iam\"]", "[\"group\",\"change\"]"},
	[CAT_IAM_GROUP_CREATION] = {"[\"iam\"]", "[\"group\",\"creation\"]"},
	[CAT_IAM_GROUP_DELETION] = {"[\"iam\"]", "[\"group\",\"deletion\"]"},
	[CAT_IAM_GROUP_INFO] = {"[\"iam\"]", "[\"group\",\"info\"]"},
	[CAT_IAM_USER_CHANGE] = {"[\"iam\"]", "[\"user\",\"change\"]"},
	[CAT_IAM_USER_CREATION] = {"[\"iam\"]", "[\"user\",\"creation\"]"},
	[CAT_IAM_USER_DELETION] = {"[\"iam\"]", "[\"user\",\"deletion\"]"},
	[CAT_IAM_USER_INFO] = {"[\"iam\"]", "[\"user\",\"info\"]"},
	[CAT_IAM_ADMIN_CHANGE] = {"[\"iam\"]", "[\"admin\",\"change\"]"},
	[CAT_IAM_ADMIN_CREATION] = {"[\"iam\"]", "[\"admin\",\"creation\"]"},
	[CAT_FILE_CREATION] = {"[\"file\"]", "[\"creation\"]"},
	[CAT_FILE_DELETION] = {"[\"file\"]", "[\"deletion\"]"},
};

typedef struct {
	const char *name;
	uint8_t cat;
} event_category;

/* Sorted by name at instance start (bsearch). */
static event_category EVENT_CATEGORIES[] = {
	{"AssumeRole", CAT_AUTH}, {"ConsoleLogin", CAT_AUTH},
	{"AddUserToGroup", CAT_IAM_GROUP_CHANGE}, {"AttachGroupPolicy", CAT_IAM_GROUP_CHANGE},
	{"DeleteGroupPolicy", CAT_IAM_GROUP_CHANGE}, {"DetachGroupPolicy", CAT_IAM_GROUP_CHANGE},
	{"PutGroupPolicy", CAT_IAM_GROUP_CHANGE}, {"RemoveUserFromGroup", CAT_IAM_GROUP_CHANGE},
	{"UpdateGroup", CAT_IAM_GROUP_CHANGE},
	{"CreateGroup", CAT_IAM_GROUP_CREATION},
	{"DeleteGroup", CAT_IAM_GROUP_DELETION},
	{"GetGroup", CAT_IAM_GROUP_INFO}, {"GetGroupPolicy", CAT_IAM_GROUP_INFO},
	{"ListAttachedGroupPolicies", CAT_IAM_GROUP_INFO}, {"ListGroupPolicies", CAT_IAM_GROUP_INFO},
	{"ListGroups", CAT_IAM_GROUP_INFO},
	{"AttachUserPolicy", CAT_IAM_USER_CHANGE}, {"ChangePassword", CAT_IAM_USER_CHANGE},
	{"CreateAccessKey", CAT_IAM_USER_CHANGE}, {"CreateVirtualMFADevice", CAT_IAM_USER_CHANGE},
	{"DeactivateMFADevice", CAT_IAM_USER_CHANGE}, {"DeleteAccessKey", CAT_IAM_USER_CHANGE},
	{"DeleteSSHPublicKey", CAT_IAM_USER_CHANGE}, {"DeleteUserPermissionsBoundary", CAT_IAM_USER_CHANGE},
	{"DeleteUserPolicy", CAT_IAM_USER_CHANGE}, {"DeleteVirtualMFADevice", CAT_IAM_USER_CHANGE},
	{"DetachUserPolicy", CAT_IAM_USER_CHANGE}, {"EnableMFADevice", CAT_IAM_USER_CHANGE},
	{"PutUserPermissionsBoundary", CAT_IAM_USER_CHANGE}, {"PutUserPolicy", CAT_IAM_USER_CHANGE},
	{"TagUser", CAT_IAM_USER_CHANGE}, {"UntagUser", CAT_IAM_USER_CHANGE},
	{"UpdateAccessKey", CAT_IAM_USER_CHANGE}, {"UpdateLoginProfile", CAT_IAM_USER_CHANGE},
	{"UpdateSSHPublicKey", CAT_IAM_USER_CHANGE}, {"UpdateUser", CAT_IAM_USER_CHANGE},
	{"CreateUser", CAT_IAM_USER_CREATION},
	{"DeleteUser", CAT_IAM_USER_DELETION},
	{"GetUser", CAT_IAM_USER_INFO}, {"GetUserPolicy", CAT_IAM_USER_INFO},
	{"ListAttachedUserPolicies", CAT_IAM_USER_INFO}, {"ListGroupsForUser", CAT_IAM_USER_INFO},
	{"ListUserPolicies", CAT_IAM_USER_INFO}, {"ListUsers", CAT_IAM_USER_INFO},
	{"ListUserTags", CAT_IAM_USER_INFO},
	{"SetDefaultPolicyVersion", CAT_IAM_ADMIN_CHANGE}, {"SetSecurityTokenServicePreferences", CAT_IAM_ADMIN_CHANGE},
	{"UpdateAccountPasswordPolicy", CAT_IAM_ADMIN_CHANGE}, {"UpdateRole", CAT_IAM_ADMIN_CHANGE},
	{"CreateKeyPair", CAT_IAM_ADMIN_CREATION},
	{"CreateBucket", CAT_FILE_CREATION},
	{"DeleteBucket", CAT_FILE_DELETION},
};
#define NEVENTS (sizeof EVENT_CATEGORIES / sizeof EVENT_CATEGORIES[0])

static weir_doc *run_category[NCATS];

typedef struct {
	const uint8_t *p;
	uint32_t n;
} bytes;

/* The bytes of a string value; empty for anything else. */
static bytes str(weir_value v) {
	bytes b = {v.ptr, 0};
	if (v.type == WEIR_STRING) b.n = v.len;
	return b;
}

static const uint8_t *lower(bytes s) {
	if (s.n > lower_cap) {
		lower_cap = s.n * 2;
		free(lower_buf);
		lower_buf = malloc(lower_cap);
		if (!lower_buf) abort();
	}
	for (uint32_t i = 0; i < s.n; i++) {
		uint8_t c = s.p[i];
		lower_buf[i] = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
	}
	return lower_buf;
}

/* cut splits s around its first sep; 0 when there is none. */
static int cut(bytes s, uint8_t sep, bytes *before, bytes *after) {
	const uint8_t *q = s.n ? memchr(s.p, sep, s.n) : NULL;
	if (!q) return 0;
	uint32_t i = (uint32_t)(q - s.p);
	before->p = s.p, before->n = i;
	after->p = q + 1, after->n = s.n - i - 1;
	return 1;
}

static void set_bytes(weir_doc *d, const char *path, bytes v) {
	if (v.n) weir_doc_set_string(d, path, v.p, v.n);
}

static int eq(bytes a, bytes b) { return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0); }

static int by_name(const void *a, const void *b) {
	return strcmp(((const event_category *)a)->name, ((const event_category *)b)->name);
}

/* compare_name orders a (bytes) against an entry's NUL-terminated name as
 * strcmp orders two names. */
static int compare_name(const void *key, const void *entry) {
	const bytes *k = key;
	const char *name = ((const event_category *)entry)->name;
	size_t n = strlen(name), m = k->n < n ? k->n : n;
	int c = memcmp(k->p, name, m);
	if (c) return c;
	return k->n < n ? -1 : k->n > n;
}

/* categorize returns the categorization run of an eventName. */
static const weir_doc *categorize(bytes name) {
	const event_category *e = name.n ? bsearch(&name, EVENT_CATEGORIES, NEVENTS, sizeof EVENT_CATEGORIES[0], compare_name) : NULL;
	return run_category[e ? e->cat : CAT_NONE];
}

static void related_byte(uint8_t c) {
	if (related_len == related_cap) {
		related_cap = related_cap ? related_cap * 2 : 256;
		related_buf = realloc(related_buf, related_cap);
		if (!related_buf) abort();
	}
	related_buf[related_len++] = c;
}

/* related_array writes the JSON array of the non-empty names, each once
 * (in this order), to related_buf; 0 when there is none. */
static size_t related_array(const bytes *names, int n) {
	related_len = 0;
	for (int k = 0; k < n; k++) {
		int seen = names[k].n == 0;
		for (int i = 0; i < k && !seen; i++) seen = eq(names[i], names[k]);
		if (seen) continue;
		related_byte(related_len ? ',' : '[');
		weir_json_string(&related_buf, &related_len, &related_cap, names[k].p, names[k].n);
	}
	if (related_len) related_byte(']');
	return related_len;
}

/* is_object reports whether the first non-blank byte opens an object. */
static int is_object(const uint8_t *b, uint32_t n) {
	for (uint32_t i = 0; i < n; i++) {
		switch (b[i]) {
		case ' ': case '\t': case '\n': case '\r': continue;
		case '{': return 1;
		default: return 0;
		}
	}
	return 0;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* parseIPv4Fields of Go's net/netip: four decimal fields 0-255, no
 * leading zeros, nothing else. */
static int ipv4_fields(const uint8_t *s, uint32_t n) {
	uint32_t val = 0, pos = 0, dig = 0;
	for (uint32_t k = 0; k < n; k++) {
		uint8_t c = s[k];
		if (is_digit(c)) {
			if (dig == 1 && val == 0) return 0;
			val = val * 10 + (c - '0');
			dig++;
			if (val > 255) return 0;
		} else if (c == '.') {
			if (k == 0 || k == n - 1 || s[k - 1] == '.' || pos == 3) return 0;
			pos++;
			val = 0;
			dig = 0;
		} else return 0;
	}
	return pos == 3;
}

/* parseIPv6 of Go's net/netip (an optional non-empty %zone accepted). */
static int ipv6(const uint8_t *s, uint32_t n) {
	const uint8_t *z = memchr(s, '%', n);
	if (z) {
		if ((uint32_t)(z - s) + 1 == n) return 0;
		n = (uint32_t)(z - s);
	}
	int ellipsis = -1;
	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		ellipsis = 0;
		s += 2, n -= 2;
		if (n == 0) return 1;
	}
	int i = 0;
	while (i < 16) {
		uint32_t off = 0;
		while (off < n && is_hex(s[off])) {
			if (off > 3) return 0;
			off++;
		}
		if (off == 0) return 0;
		if (off < n && s[off] == '.') {
			if ((ellipsis < 0 && i != 12) || i + 4 > 16 || !ipv4_fields(s, n)) return 0;
			n = 0;
			i += 4;
			break;
		}
		i += 2;
		s += off, n -= off;
		if (n == 0) break;
		if (s[0] != ':' || n == 1) return 0;
		s++, n--;
		if (s[0] == ':') {
			if (ellipsis >= 0) return 0;
			ellipsis = i;
			s++, n--;
			if (n == 0) break;
		}
	}
	if (n) return 0;
	if (i < 16) return ellipsis >= 0;
	return ellipsis < 0;
}

/* is_ip reports whether s parses with Go's netip.ParseAddr. */
static int is_ip(bytes s) {
	for (uint32_t i = 0; i < s.n; i++) {
		switch (s.p[i]) {
		case '.': return ipv4_fields(s.p, s.n);
		case ':': return ipv6(s.p, s.n);
		case '%': return 0;
		}
	}
	return 0;
}

static int handle(weir_record *r) {
	if (weir_check_json(r)) {
		/* Only without views (weir fails records that are not JSON
		 * itself): the message of the Go and Rust SDKs' parsers differs
		 * from record to record, the outcome does not. */
		return weir_fail(r, "cloudtrail-ecs: the record is not valid JSON");
	}
	uint32_t n;
	const uint8_t *data = weir_data(r, &n);
	if (!is_object(data, n)) return weir_fail(r, NOT_OBJECT);
	if (weir_value_is_missing(weir_view(r, EVENT_TIME)) && weir_value_is_missing(weir_view(r, EVENT_NAME)))
		return weir_fail(r, NOT_CLOUDTRAIL);

	weir_doc *d = weir_doc_new(r);
	weir_doc_append(d, run_head);
	if (str(weir_view(r, ERROR_CODE)).n || str(weir_view(r, ERROR_MESSAGE)).n) {
		weir_doc_append(d, run_failure);
	} else {
		bytes s = str(weir_view(r, CONSOLE_LOGIN));
		if (s.n) weir_doc_set_string(d, "event.outcome", lower(s), s.n);
		else weir_doc_append(d, run_success);
	}

	weir_doc_append(d, run_kind);
	weir_doc_append(d, categorize(str(weir_view(r, EVENT_NAME))));
	weir_doc_append(d, run_provider);

	weir_doc_append(d, run_cloud);
	bytes s = str(weir_view(r, EVENT_SOURCE));
	const uint32_t sl = sizeof SUFFIX - 1;
	if (s.n >= sl && memcmp(s.p + s.n - sl, SUFFIX, sl) == 0) s.n -= sl;
	set_bytes(d, "cloud.service.name", s);

	bytes source_ip = str(weir_view(r, SOURCE_IP));
	if (source_ip.n && is_ip(source_ip)) weir_doc_append(d, run_source_ip);
	else source_ip.n = 0;

	weir_doc_append(d, run_cipher);
	bytes protocol, version;
	if (cut(str(weir_view(r, TLS_VERSION)), 'v', &protocol, &version)) {
		set_bytes(d, "tls.version", version);
		if (protocol.n) weir_doc_set_string(d, "tls.version_protocol", lower(protocol), protocol.n);
	}
	weir_doc_append(d, run_server_name);

	/* user.name: the session name of the principal, else userName, else
	 * (Identity Center users) additionalEventData.UserName. */
	bytes account, session, name = {NULL, 0}, domain;
	bytes user_name = str(weir_view(r, USER_NAME));
	static const char identity_center[] = "IdentityCenterUser";
	const bytes ic = {(const uint8_t *)identity_center, sizeof identity_center - 1};
	if (cut(str(weir_view(r, PRINCIPAL_ID)), ':', &account, &session)) {
		if (cut(session, '@', &name, &domain)) {
			set_bytes(d, "user.email", session);
			set_bytes(d, "user.name", name);
			set_bytes(d, "user.domain", domain);
		} else {
			name = session;
			set_bytes(d, "user.name", name);
		}
	} else if (user_name.n) {
		name = user_name;
		set_bytes(d, "user.name", name);
	} else if (eq(str(weir_view(r, IDENTITY_TYPE)), ic)) {
		name = str(weir_view(r, IDENTITY_CENTER_NAME));
		set_bytes(d, "user.name", name);
	}
	weir_doc_append(d, run_user_id);

	weir_doc_append(d, run_user_agent);

	/* related.user: the user names of the event, each once, in this
	 * order; related.ip: source.ip. */
	const bytes users[4] = {name, user_name, str(weir_view(r, REQUEST_USER_NAME)), str(weir_view(r, REQUEST_NEW_USER_NAME))};
	if (related_array(users, 4)) weir_doc_set_json(d, "related.user", related_buf, related_len);
	if (source_ip.n && related_array(&source_ip, 1)) weir_doc_set_json(d, "related.ip", related_buf, related_len);
	return weir_doc_emit(r, d);
}

__attribute__((constructor)) static void init(void) {
	for (int i = 0; i < NPATHS; i++) weir_path(PATHS[i]);
	weir_handle(handle);

	run_head = weir_ops_new();
	weir_doc_copy_string(run_head, "@timestamp", "eventTime");
	weir_doc_copy_string(run_head, "event.action", "eventName");
	weir_doc_copy_string(run_head, "event.id", "eventID");
	weir_doc_set_digest(run_head, "event.hash", WEIR_DIGEST_SHA256);
	weir_doc_set_original(run_head, "event.original");
	/* cloud.account.id: userIdentity.accountId, else recipientAccountId
	 * (the second copy overwrites the first in place). */
	run_cloud = weir_ops_new();
	weir_doc_copy_string(run_cloud, "cloud.account.id", "recipientAccountId");
	weir_doc_copy_string(run_cloud, "cloud.account.id", "userIdentity.accountId");
	weir_doc_set_cstr(run_cloud, "cloud.provider", "aws");
	weir_doc_copy_string(run_cloud, "cloud.region", "awsRegion");
	run_source_ip = weir_ops_new();
	weir_doc_copy_string(run_source_ip, "source.ip", "sourceIPAddress");
	run_cipher = weir_ops_new();
	weir_doc_copy_string(run_cipher, "tls.cipher", "tlsDetails.cipherSuite");
	run_server_name = weir_ops_new();
	weir_doc_copy_string(run_server_name, "tls.client.server_name", "tlsDetails.clientProvidedHostHeader");
	run_user_id = weir_ops_new();
	weir_doc_copy_string(run_user_id, "user.id", "userIdentity.principalId");
	/* event.kind, then (after event.category and event.type)
	 * event.provider. */
	run_kind = weir_ops_new();
	weir_doc_set_cstr(run_kind, "event.kind", "event");
	run_provider = weir_ops_new();
	weir_doc_copy_string(run_provider, "event.provider", "eventSource");
	for (int i = 0; i < NCATS; i++) {
		run_category[i] = weir_ops_new();
		if (CATEGORIES[i].category)
			weir_doc_set_json(run_category[i], "event.category", (const uint8_t *)CATEGORIES[i].category, strlen(CATEGORIES[i].category));
		weir_doc_set_json(run_category[i], "event.type", (const uint8_t *)CATEGORIES[i].type, strlen(CATEGORIES[i].type));
	}
	qsort(EVENT_CATEGORIES, NEVENTS, sizeof EVENT_CATEGORIES[0], by_name);
	run_user_agent = weir_ops_new();
	weir_doc_copy_string(run_user_agent, "user_agent.original", "userAgent");
	run_failure = weir_ops_new();
	weir_doc_set_cstr(run_failure, "event.outcome", "failure");
	run_success = weir_ops_new();
	weir_doc_set_cstr(run_success, "event.outcome", "success");
}
