//! cloudtrail-ecs-rs: modules/cloudtrail-ecs (CloudTrail → ECS 8.11)
//! written in Rust on weir's Rust SDK. Same views, same operation list
//! byte for byte (sdk/compat TestCloudTrailECSRust checks the documents
//! on the three corpora): the host parses the record, resolves the views
//! and applies the list; on hosts without FlagHostOps the SDK applies it.

// The values the module inspects, in declaration order.
const ERROR_CODE: usize = 0;
const ERROR_MESSAGE: usize = 1;
const CONSOLE_LOGIN: usize = 2;
const EVENT_SOURCE: usize = 3;
const SOURCE_IP: usize = 4;
const TLS_VERSION: usize = 5;
const PRINCIPAL_ID: usize = 6;
const EVENT_TIME: usize = 7;
const EVENT_NAME: usize = 8;
const USER_NAME: usize = 9;
const IDENTITY_TYPE: usize = 10;
const IDENTITY_CENTER_NAME: usize = 11;
const REQUEST_USER_NAME: usize = 12;
const REQUEST_NEW_USER_NAME: usize = 13;

const PATHS: &[&str] = &[
    "errorCode",
    "errorMessage",
    "responseElements.ConsoleLogin",
    "eventSource",
    "sourceIPAddress",
    "tlsDetails.tlsVersion",
    "userIdentity.principalId",
    "eventTime",
    "eventName",
    "userIdentity.userName",
    "userIdentity.type",
    "additionalEventData.UserName",
    "requestParameters.userName",
    "requestParameters.newUserName",
];

// ECS categorization by eventName (Elastic's table; modules/cloudtrail-ecs
// categorize.go): (event.category or "" for none, event.type).
const CAT_NONE: usize = 13;
const CATS: [(&str, &str); 14] = [
    (r#"["authentication"]"#, r#"["info"]"#),
    (r#"["iam"]"#, r#"["group","change"]"#),
    (r#"["iam"]"#, r#"["group","creation"]"#),
    (r#"["iam"]"#, r#"["group","deletion"]"#),
    (r#"["iam"]"#, r#"["group","info"]"#),
    (r#"["iam"]"#, r#"["user","change"]"#),
    (r#"["iam"]"#, r#"["user","creation"]"#),
    (r#"["iam"]"#, r#"["user","deletion"]"#),
    (r#"["iam"]"#, r#"["user","info"]"#),
    (r#"["iam"]"#, r#"["admin","change"]"#),
    (r#"["iam"]"#, r#"["admin","creation"]"#),
    (r#"["file"]"#, r#"["creation"]"#),
    (r#"["file"]"#, r#"["deletion"]"#),
    ("", r#"["info"]"#),
];

/// The index in CATS of an eventName's categorization.
fn categorize(name: &[u8]) -> usize {
    match name {
        b"AssumeRole" | b"ConsoleLogin" => 0,
        b"AddUserToGroup" | b"AttachGroupPolicy" | b"DeleteGroupPolicy" | b"DetachGroupPolicy"
        | b"PutGroupPolicy" | b"RemoveUserFromGroup" | b"UpdateGroup" => 1,
        b"CreateGroup" => 2,
        b"DeleteGroup" => 3,
        b"GetGroup" | b"GetGroupPolicy" | b"ListAttachedGroupPolicies" | b"ListGroupPolicies"
        | b"ListGroups" => 4,
        b"AttachUserPolicy" | b"ChangePassword" | b"CreateAccessKey" | b"CreateVirtualMFADevice"
        | b"DeactivateMFADevice" | b"DeleteAccessKey" | b"DeleteSSHPublicKey"
        | b"DeleteUserPermissionsBoundary" | b"DeleteUserPolicy" | b"DeleteVirtualMFADevice"
        | b"DetachUserPolicy" | b"EnableMFADevice" | b"PutUserPermissionsBoundary"
        | b"PutUserPolicy" | b"TagUser" | b"UntagUser" | b"UpdateAccessKey"
        | b"UpdateLoginProfile" | b"UpdateSSHPublicKey" | b"UpdateUser" => 5,
        b"CreateUser" => 6,
        b"DeleteUser" => 7,
        b"GetUser" | b"GetUserPolicy" | b"ListAttachedUserPolicies" | b"ListGroupsForUser"
        | b"ListUserPolicies" | b"ListUsers" | b"ListUserTags" => 8,
        b"SetDefaultPolicyVersion" | b"SetSecurityTokenServicePreferences"
        | b"UpdateAccountPasswordPolicy" | b"UpdateRole" => 9,
        b"CreateKeyPair" => 10,
        b"CreateBucket" => 11,
        b"DeleteBucket" => 12,
        _ => CAT_NONE,
    }
}

const NOT_OBJECT: &str = "cloudtrail-ecs: the record is not a JSON object";
// Every CloudTrail event has eventTime and eventName (shippers may move
// eventTime to @timestamp): an object with neither ({"Records": null}, {},
// a saved Lambda event) is not one.
const NOT_CLOUDTRAIL: &str = "cloudtrail-ecs: not a CloudTrail event: no eventTime and no eventName";
const SUFFIX: &[u8] = b".amazonaws.com";

// The constant runs of the operation list, built once per instance.
struct Runs {
    head: weir::Doc,
    cloud: weir::Doc,
    source_ip: weir::Doc,
    cipher: weir::Doc,
    server_name: weir::Doc,
    user_id: weir::Doc,
    kind: weir::Doc,
    provider: weir::Doc,
    cats: Vec<weir::Doc>,
    user_agent: weir::Doc,
    failure: weir::Doc,
    success: weir::Doc,
}

static mut RUNS: Option<Runs> = None;

fn run(f: impl FnOnce(&mut weir::Doc)) -> weir::Doc {
    let mut d = weir::Doc::ops();
    f(&mut d);
    d
}

fn setup(m: &mut weir::Module) {
    m.paths(PATHS);
    m.handle(handle);
    let runs = Runs {
        head: run(|d| {
            d.copy_string("@timestamp", "eventTime")
                .copy_string("event.action", "eventName")
                .copy_string("event.id", "eventID")
                .set_sha256("event.hash")
                .set_original("event.original");
        }),
        // cloud.account.id: userIdentity.accountId, else recipientAccountId
        // (the second copy overwrites the first in place).
        cloud: run(|d| {
            d.copy_string("cloud.account.id", "recipientAccountId")
                .copy_string("cloud.account.id", "userIdentity.accountId")
                .set_string("cloud.provider", "aws")
                .copy_string("cloud.region", "awsRegion");
        }),
        source_ip: run(|d| {
            d.copy_string("source.ip", "sourceIPAddress");
        }),
        cipher: run(|d| {
            d.copy_string("tls.cipher", "tlsDetails.cipherSuite");
        }),
        server_name: run(|d| {
            d.copy_string("tls.client.server_name", "tlsDetails.clientProvidedHostHeader");
        }),
        user_id: run(|d| {
            d.copy_string("user.id", "userIdentity.principalId");
        }),
        kind: run(|d| {
            d.set_string("event.kind", "event");
        }),
        provider: run(|d| {
            d.copy_string("event.provider", "eventSource");
        }),
        cats: CATS
            .iter()
            .map(|&(category, typ)| {
                run(|d| {
                    if !category.is_empty() {
                        d.set_json("event.category", category.as_bytes());
                    }
                    d.set_json("event.type", typ.as_bytes());
                })
            })
            .collect(),
        user_agent: run(|d| {
            d.copy_string("user_agent.original", "userAgent");
        }),
        failure: run(|d| {
            d.set_string("event.outcome", "failure");
        }),
        success: run(|d| {
            d.set_string("event.outcome", "success");
        }),
    };
    // Safety: setup runs once, before any handler, on the instance's only
    // thread.
    unsafe { RUNS = Some(runs) };
}

/// The bytes of a non-empty string value; empty for anything else.
fn string_bytes<'a>(v: &'a weir::Value) -> &'a [u8] {
    if v.is_string() {
        v.bytes()
    } else {
        &[]
    }
}

fn lower(s: &[u8]) -> Vec<u8> {
    s.to_ascii_lowercase()
}

fn cut(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&c| c == sep)?;
    Some((&s[..i], &s[i + 1..]))
}

fn set_bytes(d: &mut weir::Doc, path: &str, v: &[u8]) {
    if !v.is_empty() {
        d.set_string(path, v);
    }
}

fn is_object(b: &[u8]) -> bool {
    for &c in b {
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => continue,
            b'{' => return true,
            _ => return false,
        }
    }
    false
}

fn handle(r: &mut weir::Record) -> Result<(), String> {
    r.check_json()?;
    if !is_object(r.data()) {
        return Err(NOT_OBJECT.into());
    }
    if r.value(EVENT_TIME).is_missing() && r.value(EVENT_NAME).is_missing() {
        return Err(NOT_CLOUDTRAIL.into());
    }
    // Safety: set in setup.
    let runs = unsafe { RUNS.as_ref().unwrap() };
    let mut d = r.doc();
    d.append(&runs.head);
    let (code, msg) = (r.value(ERROR_CODE), r.value(ERROR_MESSAGE));
    if !string_bytes(&code).is_empty() || !string_bytes(&msg).is_empty() {
        d.append(&runs.failure);
    } else {
        let login = r.value(CONSOLE_LOGIN);
        let s = string_bytes(&login);
        if !s.is_empty() {
            d.set_string("event.outcome", &lower(s));
        } else {
            d.append(&runs.success);
        }
    }

    d.append(&runs.kind);
    let event_name = r.value(EVENT_NAME);
    d.append(&runs.cats[categorize(string_bytes(&event_name))]);
    d.append(&runs.provider);

    d.append(&runs.cloud);
    let src = r.value(EVENT_SOURCE);
    let mut s = string_bytes(&src);
    if s.ends_with(SUFFIX) {
        s = &s[..s.len() - SUFFIX.len()];
    }
    set_bytes(&mut d, "cloud.service.name", s);

    let ip = r.value(SOURCE_IP);
    let mut source_ip: &[u8] = &[];
    let s = string_bytes(&ip);
    if !s.is_empty() && is_ip(s) {
        source_ip = s;
        d.append(&runs.source_ip);
    }

    d.append(&runs.cipher);
    let tls = r.value(TLS_VERSION);
    if let Some((protocol, version)) = cut(string_bytes(&tls), b'v') {
        set_bytes(&mut d, "tls.version", version);
        if !protocol.is_empty() {
            d.set_string("tls.version_protocol", &lower(protocol));
        }
    }
    d.append(&runs.server_name);

    // user.name: the session name of the principal, else userName, else
    // (Identity Center users) additionalEventData.UserName.
    let principal = r.value(PRINCIPAL_ID);
    let user_name = r.value(USER_NAME);
    let identity_type = r.value(IDENTITY_TYPE);
    let identity_center_name = r.value(IDENTITY_CENTER_NAME);
    let mut name: &[u8] = &[];
    if let Some((_, session)) = cut(string_bytes(&principal), b':') {
        if let Some((n, domain)) = cut(session, b'@') {
            name = n;
            set_bytes(&mut d, "user.email", session);
            set_bytes(&mut d, "user.name", name);
            set_bytes(&mut d, "user.domain", domain);
        } else {
            name = session;
            set_bytes(&mut d, "user.name", name);
        }
    } else if !string_bytes(&user_name).is_empty() {
        name = string_bytes(&user_name);
        d.set_string("user.name", name);
    } else if string_bytes(&identity_type) == b"IdentityCenterUser" {
        name = string_bytes(&identity_center_name);
        set_bytes(&mut d, "user.name", name);
    }
    d.append(&runs.user_id);

    d.append(&runs.user_agent);

    // related.user: the user names of the event, each once, in this order;
    // related.ip: source.ip.
    let (req_user, req_new_user) = (r.value(REQUEST_USER_NAME), r.value(REQUEST_NEW_USER_NAME));
    let users = [name, string_bytes(&user_name), string_bytes(&req_user), string_bytes(&req_new_user)];
    let mut related: Vec<u8> = Vec::new();
    for (i, u) in users.iter().enumerate() {
        if u.is_empty() || users[..i].contains(u) {
            continue;
        }
        related.push(if related.is_empty() { b'[' } else { b',' });
        weir::json::append_string(&mut related, u);
    }
    if !related.is_empty() {
        related.push(b']');
        d.set_json("related.user", &related);
    }
    if !source_ip.is_empty() {
        related.clear();
        related.push(b'[');
        weir::json::append_string(&mut related, source_ip);
        related.push(b']');
        d.set_json("related.ip", &related);
    }
    r.emit_doc(&d)
}

// parseIPv4Fields of Go's net/netip: four decimal fields 0-255, no leading
// zeros, nothing else.
fn ipv4_fields(s: &[u8]) -> bool {
    let (mut val, mut pos, mut dig) = (0u32, 0, 0);
    for (k, &c) in s.iter().enumerate() {
        if c.is_ascii_digit() {
            if dig == 1 && val == 0 {
                return false;
            }
            val = val * 10 + (c - b'0') as u32;
            dig += 1;
            if val > 255 {
                return false;
            }
        } else if c == b'.' {
            if k == 0 || k == s.len() - 1 || s[k - 1] == b'.' || pos == 3 {
                return false;
            }
            pos += 1;
            val = 0;
            dig = 0;
        } else {
            return false;
        }
    }
    pos == 3
}

// parseIPv6 of Go's net/netip (an optional non-empty %zone accepted).
fn ipv6(mut s: &[u8]) -> bool {
    if let Some(z) = s.iter().position(|&c| c == b'%') {
        if z + 1 == s.len() {
            return false;
        }
        s = &s[..z];
    }
    let mut ellipsis: i32 = -1;
    if s.len() >= 2 && s[0] == b':' && s[1] == b':' {
        ellipsis = 0;
        s = &s[2..];
        if s.is_empty() {
            return true;
        }
    }
    let mut i = 0;
    while i < 16 {
        let mut off = 0;
        while off < s.len() && s[off].is_ascii_hexdigit() {
            if off > 3 {
                return false;
            }
            off += 1;
        }
        if off == 0 {
            return false;
        }
        if off < s.len() && s[off] == b'.' {
            if (ellipsis < 0 && i != 12) || i + 4 > 16 || !ipv4_fields(s) {
                return false;
            }
            s = &[];
            i += 4;
            break;
        }
        i += 2;
        s = &s[off..];
        if s.is_empty() {
            break;
        }
        if s[0] != b':' || s.len() == 1 {
            return false;
        }
        s = &s[1..];
        if s[0] == b':' {
            if ellipsis >= 0 {
                return false;
            }
            ellipsis = i;
            s = &s[1..];
            if s.is_empty() {
                break;
            }
        }
    }
    if !s.is_empty() {
        return false;
    }
    if i < 16 {
        return ellipsis >= 0;
    }
    ellipsis < 0
}

// is_ip reports whether s parses with Go's netip.ParseAddr.
fn is_ip(s: &[u8]) -> bool {
    for &c in s {
        match c {
            b'.' => return ipv4_fields(s),
            b':' => return ipv6(s),
            b'%' => return false,
            _ => {}
        }
    }
    false
}

weir::export!(setup);
