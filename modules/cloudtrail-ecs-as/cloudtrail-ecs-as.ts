// cloudtrail-ecs-as: modules/cloudtrail-ecs (CloudTrail → ECS 8.11)
// written in AssemblyScript on weir's AssemblyScript SDK. Same views, same
// operation list byte for byte (sdk/compat checks it on the corpora): the
// host parses the record, resolves the 14 views and applies the list.
import { Record, Output, Ops, handle, declarePaths, DIGEST_SHA256, VIEW_STRING, VIEW_MISSING } from "../../sdk/assemblyscript/weir";
export { weir_abi_version, weir_alloc, weir_transform, weir_manifest, weir_batch } from "../../sdk/assemblyscript/weir";

function myAbort(message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void {
  unreachable();
}

// The values the module inspects, in declaration order.
const iErrorCode = 0;
const iErrorMessage = 1;
const iConsoleLogin = 2;
const iEventSource = 3;
const iSourceIP = 4;
const iTLSVersion = 5;
const iPrincipalID = 6;
const iEventTime = 7;
const iEventName = 8;
const iUserName = 9;
const iIdentityType = 10;
const iIdentityCenterName = 11;
const iRequestUserName = 12;
const iRequestNewUserName = 13;

declarePaths([
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
]);

// The constant runs of the operation list, encoded once.
const opsHead = new Ops()
  .copyString("@timestamp", "eventTime")
  .copyString("event.action", "eventName")
  .copyString("event.id", "eventID")
  .setDigest("event.hash", DIGEST_SHA256)
  .setOriginal("event.original");
const opsCloud = new Ops()
  .copyString("cloud.account.id", "recipientAccountId")
  .copyString("cloud.account.id", "userIdentity.accountId")
  .setStringLit("cloud.provider", "aws")
  .copyString("cloud.region", "awsRegion");
const opsSourceIP = new Ops().copyString("source.ip", "sourceIPAddress");
const opsCipher = new Ops().copyString("tls.cipher", "tlsDetails.cipherSuite");
const opsServerName = new Ops().copyString("tls.client.server_name", "tlsDetails.clientProvidedHostHeader");
const opsUserID = new Ops().copyString("user.id", "userIdentity.principalId");
const opsKind = new Ops().setStringLit("event.kind", "event");
const opsProvider = new Ops().copyString("event.provider", "eventSource");

// ECS categorization by eventName (Elastic's table; modules/cloudtrail-ecs
// categorize.go): event.category when known, event.type always.
function cat(category: string, typ: string): Ops {
  const o = new Ops();
  if (category.length > 0) o.setJSONLit("event.category", category);
  return o.setJSONLit("event.type", typ);
}
const catNone = cat("", '["info"]');
const catGroups: Ops[] = [
  cat('["authentication"]', '["info"]'),
  cat('["iam"]', '["group","change"]'),
  cat('["iam"]', '["group","creation"]'),
  cat('["iam"]', '["group","deletion"]'),
  cat('["iam"]', '["group","info"]'),
  cat('["iam"]', '["user","change"]'),
  cat('["iam"]', '["user","creation"]'),
  cat('["iam"]', '["user","deletion"]'),
  cat('["iam"]', '["user","info"]'),
  cat('["iam"]', '["admin","change"]'),
  cat('["iam"]', '["admin","creation"]'),
  cat('["file"]', '["creation"]'),
  cat('["file"]', '["deletion"]'),
];
// eventName → index in catGroups.
const catNames: string[] = [
  "AssumeRole", "ConsoleLogin",
  "AddUserToGroup", "AttachGroupPolicy", "DeleteGroupPolicy", "DetachGroupPolicy", "PutGroupPolicy", "RemoveUserFromGroup", "UpdateGroup",
  "CreateGroup",
  "DeleteGroup",
  "GetGroup", "GetGroupPolicy", "ListAttachedGroupPolicies", "ListGroupPolicies", "ListGroups",
  "AttachUserPolicy", "ChangePassword", "CreateAccessKey", "CreateVirtualMFADevice", "DeactivateMFADevice", "DeleteAccessKey",
  "DeleteSSHPublicKey", "DeleteUserPermissionsBoundary", "DeleteUserPolicy", "DeleteVirtualMFADevice", "DetachUserPolicy",
  "EnableMFADevice", "PutUserPermissionsBoundary", "PutUserPolicy", "TagUser", "UntagUser", "UpdateAccessKey",
  "UpdateLoginProfile", "UpdateSSHPublicKey", "UpdateUser",
  "CreateUser",
  "DeleteUser",
  "GetUser", "GetUserPolicy", "ListAttachedUserPolicies", "ListGroupsForUser", "ListUserPolicies", "ListUsers", "ListUserTags",
  "SetDefaultPolicyVersion", "SetSecurityTokenServicePreferences", "UpdateAccountPasswordPolicy", "UpdateRole",
  "CreateKeyPair",
  "CreateBucket",
  "DeleteBucket",
];
const catIndex: i32[] = [
  0, 0,
  1, 1, 1, 1, 1, 1, 1,
  2,
  3,
  4, 4, 4, 4, 4,
  5, 5, 5, 5, 5, 5,
  5, 5, 5, 5, 5,
  5, 5, 5, 5, 5, 5,
  5, 5, 5,
  6,
  7,
  8, 8, 8, 8, 8, 8, 8,
  9, 9, 9, 9,
  10,
  11,
  12,
];

// Whether ptr..ptr+len holds the ASCII string s.
function asciiEquals(ptr: usize, len: u32, s: string): bool {
  if (<u32>s.length != len) return false;
  for (let k: u32 = 0; k < len; k++) {
    if (load<u8>(ptr + <usize>k) != <u8>s.charCodeAt(<i32>k)) return false;
  }
  return true;
}

function categorize(ptr: usize, len: u32): Ops {
  if (len == 0) return catNone;
  for (let k = 0; k < catNames.length; k++) {
    if (asciiEquals(ptr, len, unchecked(catNames[k]))) return unchecked(catGroups[unchecked(catIndex[k])]);
  }
  return catNone;
}

const IDENTITY_CENTER_USER = "IdentityCenterUser";

// Scratch space for the related.* JSON arrays (setJSON copies it). The
// host re-encodes set_json values, so escaping here only has to make
// valid JSON.
let relPtr: usize = 0;
let relLen: u32 = 0;
let relCap: u32 = 0;

function relPut(c: u8): void {
  if (relLen + 1 > relCap) {
    const cap = max<u32>(relCap * 2, 256);
    relPtr = relPtr == 0 ? heap.alloc(<usize>cap) : heap.realloc(relPtr, <usize>cap);
    relCap = cap;
  }
  store<u8>(relPtr + <usize>relLen, c);
  relLen++;
}

const HEX = "0123456789abcdef";

// Appends ptr..ptr+len as a quoted JSON string.
function relString(ptr: usize, len: u32): void {
  relPut(0x22);
  for (let k: u32 = 0; k < len; k++) {
    const c = load<u8>(ptr + <usize>k);
    if (c == 0x22 || c == 0x5c) {
      relPut(0x5c);
      relPut(c);
    } else if (c < 0x20) {
      relPut(0x5c); relPut(0x75); relPut(0x30); relPut(0x30);
      relPut(<u8>HEX.charCodeAt(c >> 4)); relPut(<u8>HEX.charCodeAt(c & 15));
    } else {
      relPut(c);
    }
  }
  relPut(0x22);
}

const relUserP = new StaticArray<usize>(4);
const relUserN = new StaticArray<u32>(4);

function bytesEqual(a: usize, an: u32, b: usize, bn: u32): bool {
  return an == bn && memory.compare(a, b, <usize>an) == 0;
}
const opsUserAgent = new Ops().copyString("user_agent.original", "userAgent");
const opsFailure = new Ops().setStringLit("event.outcome", "failure");
const opsSuccess = new Ops().setStringLit("event.outcome", "success");

const SUFFIX = ".amazonaws.com";
const NOT_OBJECT = "cloudtrail-ecs: the record is not a JSON object";
// Every CloudTrail event has eventTime and eventName (shippers may move
// eventTime to @timestamp): an object with neither ({"Records": null}, {},
// a saved Lambda event) is not one.
const NOT_CLOUDTRAIL = "cloudtrail-ecs: not a CloudTrail event: no eventTime and no eventName";

// Scratch space for lower-cased values (setString copies what it is given).
let lowerPtr: usize = 0;
let lowerCap: u32 = 0;

function lower(ptr: usize, len: u32): usize {
  if (len > lowerCap) {
    const cap = max<u32>(len, 256);
    lowerPtr = lowerPtr == 0 ? heap.alloc(<usize>cap) : heap.realloc(lowerPtr, <usize>cap);
    lowerCap = cap;
  }
  for (let k: u32 = 0; k < len; k++) {
    let c = load<u8>(ptr + <usize>k);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    store<u8>(lowerPtr + <usize>k, c);
  }
  return lowerPtr;
}

// Index of the first byte c in ptr..ptr+len, or -1.
function indexOf(ptr: usize, len: u32, c: u8): i32 {
  for (let k: u32 = 0; k < len; k++) {
    if (load<u8>(ptr + <usize>k) == c) return <i32>k;
  }
  return -1;
}

@inline function strLen(r: Record, i: i32): u32 {
  return r.viewType(i) == VIEW_STRING ? r.viewLen(i) : 0;
}

function isObject(ptr: usize, len: u32): bool {
  for (let k: u32 = 0; k < len; k++) {
    const c = load<u8>(ptr + <usize>k);
    if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) continue;
    return c == 0x7b;
  }
  return false;
}

// parseIPv4Fields of Go's net/netip: four decimal fields 0-255, no leading
// zeros, nothing else.
function ipv4Fields(ptr: usize, len: u32): bool {
  let val: u32 = 0;
  let pos: u32 = 0;
  let digLen: u32 = 0;
  for (let k: u32 = 0; k < len; k++) {
    const c = load<u8>(ptr + <usize>k);
    if (c >= 0x30 && c <= 0x39) {
      if (digLen == 1 && val == 0) return false;
      val = val * 10 + <u32>(c - 0x30);
      digLen++;
      if (val > 255) return false;
    } else if (c == 0x2e) {
      if (k == 0 || k == len - 1 || load<u8>(ptr + <usize>k - 1) == 0x2e) return false;
      if (pos == 3) return false;
      pos++;
      val = 0;
      digLen = 0;
    } else {
      return false;
    }
  }
  return pos == 3;
}

@inline function hexVal(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  if (c >= 0x41 && c <= 0x46) return <i32>(c - 0x41 + 10);
  return -1;
}

// parseIPv6 of Go's net/netip (an optional non-empty %zone accepted).
function ipv6(ptr: usize, len: u32): bool {
  const z = indexOf(ptr, len, 0x25); // '%'
  if (z >= 0) {
    if (<u32>z + 1 == len) return false; // empty zone
    len = <u32>z;
  }
  let s = ptr;
  let n = len; // the rest of the address: s..s+n
  let ellipsis = -1;
  if (n >= 2 && load<u8>(s) == 0x3a && load<u8>(s + 1) == 0x3a) {
    ellipsis = 0;
    s += 2; n -= 2;
    if (n == 0) return true;
  }
  let i = 0;
  while (i < 16) {
    let off: u32 = 0;
    for (; off < n; off++) {
      if (hexVal(load<u8>(s + <usize>off)) < 0) break;
      if (off > 3) return false; // more than 4 hex digits
    }
    if (off == 0) return false;
    if (off < n && load<u8>(s + <usize>off) == 0x2e) {
      if (ellipsis < 0 && i != 12) return false;
      if (i + 4 > 16) return false;
      if (!ipv4Fields(s, n)) return false;
      n = 0;
      i += 4;
      break;
    }
    i += 2;
    s += <usize>off; n -= off;
    if (n == 0) break;
    if (load<u8>(s) != 0x3a) return false;
    if (n == 1) return false;
    s += 1; n -= 1;
    if (load<u8>(s) == 0x3a) {
      if (ellipsis >= 0) return false;
      ellipsis = i;
      s += 1; n -= 1;
      if (n == 0) break;
    }
  }
  if (n != 0) return false;
  if (i < 16) return ellipsis >= 0;
  return ellipsis < 0;
}

// Whether ptr..ptr+len parses with Go's netip.ParseAddr.
export function isIP(ptr: usize, len: u32): bool {
  for (let k: u32 = 0; k < len; k++) {
    const c = load<u8>(ptr + <usize>k);
    if (c == 0x2e) return ipv4Fields(ptr, len);
    if (c == 0x3a) return ipv6(ptr, len);
    if (c == 0x25) return false;
  }
  return false;
}

function transform(r: Record, out: Output): void {
  if (!isObject(r.data, r.dataLen)) {
    out.fail(NOT_OBJECT);
    return;
  }
  if (r.viewType(iEventTime) == VIEW_MISSING && r.viewType(iEventName) == VIEW_MISSING) {
    out.fail(NOT_CLOUDTRAIL);
    return;
  }
  const d = out.beginDoc();
  d.append(opsHead);
  if (strLen(r, iErrorCode) > 0 || strLen(r, iErrorMessage) > 0) {
    d.append(opsFailure);
  } else {
    const n = strLen(r, iConsoleLogin);
    if (n > 0) {
      d.setString("event.outcome", lower(r.viewPtr(iConsoleLogin), n), n);
    } else {
      d.append(opsSuccess);
    }
  }

  d.append(opsKind);
  d.append(categorize(r.viewPtr(iEventName), strLen(r, iEventName)));
  d.append(opsProvider);

  d.append(opsCloud);
  {
    const p = r.viewPtr(iEventSource);
    let n = strLen(r, iEventSource);
    const sl = <u32>SUFFIX.length;
    if (n >= sl) {
      let ends = true;
      for (let k: u32 = 0; k < sl; k++) {
        if (load<u8>(p + <usize>(n - sl + k)) != <u8>SUFFIX.charCodeAt(<i32>k)) { ends = false; break; }
      }
      if (ends) n -= sl;
    }
    if (n > 0) d.setString("cloud.service.name", p, n);
  }

  let ipLen: u32 = 0;
  {
    const n = strLen(r, iSourceIP);
    if (n > 0 && isIP(r.viewPtr(iSourceIP), n)) {
      ipLen = n;
      d.append(opsSourceIP);
    }
  }

  d.append(opsCipher);
  {
    const p = r.viewPtr(iTLSVersion);
    const n = strLen(r, iTLSVersion);
    const v = indexOf(p, n, 0x76); // 'v'
    if (v >= 0) {
      const vl = n - <u32>v - 1;
      if (vl > 0) d.setString("tls.version", p + <usize>v + 1, vl);
      if (v > 0) d.setString("tls.version_protocol", lower(p, <u32>v), <u32>v);
    }
  }
  d.append(opsServerName);

  // user.name: the session name of the principal, else userName, else
  // (Identity Center users) additionalEventData.UserName.
  let nameP: usize = 0;
  let nameN: u32 = 0;
  {
    const p = r.viewPtr(iPrincipalID);
    const n = strLen(r, iPrincipalID);
    const c = indexOf(p, n, 0x3a); // ':'
    const un = strLen(r, iUserName);
    if (c >= 0) {
      const sp = p + <usize>c + 1;
      const sn = n - <u32>c - 1;
      const at = indexOf(sp, sn, 0x40); // '@'
      if (at >= 0) {
        if (sn > 0) d.setString("user.email", sp, sn);
        nameP = sp; nameN = <u32>at;
        if (at > 0) d.setString("user.name", sp, <u32>at);
        const dn = sn - <u32>at - 1;
        if (dn > 0) d.setString("user.domain", sp + <usize>at + 1, dn);
      } else {
        nameP = sp; nameN = sn;
        if (sn > 0) d.setString("user.name", sp, sn);
      }
    } else if (un > 0) {
      nameP = r.viewPtr(iUserName); nameN = un;
      d.setString("user.name", nameP, nameN);
    } else if (r.viewEquals(iIdentityType, IDENTITY_CENTER_USER)) {
      nameN = strLen(r, iIdentityCenterName);
      nameP = r.viewPtr(iIdentityCenterName);
      if (nameN > 0) d.setString("user.name", nameP, nameN);
    }
  }
  d.append(opsUserID);

  d.append(opsUserAgent);

  // related.user: the user names of the event, each once, in this order;
  // related.ip: source.ip.
  {
    // (module-level arrays: the stub runtime never frees)
    const ps = relUserP, ns = relUserN;
    unchecked(ps[0] = nameP); unchecked(ns[0] = nameN);
    unchecked(ps[1] = r.viewPtr(iUserName)); unchecked(ns[1] = strLen(r, iUserName));
    unchecked(ps[2] = r.viewPtr(iRequestUserName)); unchecked(ns[2] = strLen(r, iRequestUserName));
    unchecked(ps[3] = r.viewPtr(iRequestNewUserName)); unchecked(ns[3] = strLen(r, iRequestNewUserName));
    relLen = 0;
    for (let k = 0; k < 4; k++) {
      const n = unchecked(ns[k]);
      if (n == 0) continue;
      const p = unchecked(ps[k]);
      let dup = false;
      for (let j = 0; j < k; j++) {
        if (bytesEqual(unchecked(ps[j]), unchecked(ns[j]), p, n)) { dup = true; break; }
      }
      if (dup) continue;
      relPut(relLen == 0 ? 0x5b : 0x2c);
      relString(p, n);
    }
    if (relLen > 0) {
      relPut(0x5d);
      d.setJSON("related.user", relPtr, relLen);
    }
    if (ipLen > 0) {
      relLen = 0;
      relPut(0x5b);
      relString(r.viewPtr(iSourceIP), ipLen);
      relPut(0x5d);
      d.setJSON("related.ip", relPtr, relLen);
    }
  }

  out.endDoc();
}

handle(transform);
