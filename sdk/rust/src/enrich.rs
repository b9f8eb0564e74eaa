//! weir's enrichment host functions (`extism:host/user`, sdk/ABI.md "Host
//! functions"): DNS, MMDB, DynamoDB, HTTP and a key-value cache, each
//! called once per batch with all its keys (from a Prepare function). A
//! module that calls one needs weir's host.

use crate::json::append_string;

#[link(wasm_import_module = "extism:host/user")]
extern "C" {
    fn weir_dns(req: u64) -> u64;
    fn weir_mmdb(req: u64) -> u64;
    fn weir_dynamodb(req: u64) -> u64;
    fn weir_http(req: u64) -> u64;
    fn weir_cache(req: u64) -> u64;
}

/// Result statuses.
pub const OK: u8 = 0;
/// A negative answer (NXDOMAIN, no item, cache miss).
pub const NOT_FOUND: u8 = 1;
/// This key failed; the value is the message.
pub const ERROR: u8 = 2;
/// This key is not allowed; the value is the message.
pub const DENIED: u8 = 3;

/// The outcome of one key.
#[derive(Clone, Debug, PartialEq)]
pub struct Result {
    /// OK, NOT_FOUND, ERROR or DENIED.
    pub status: u8,
    /// The answer (OK) or the message (ERROR, DENIED).
    pub value: Vec<u8>,
}

impl Result {
    /// Whether the key has an answer.
    pub fn ok(&self) -> bool {
        self.status == OK
    }
}

type Res<T> = std::result::Result<T, String>;

/// Decodes a host function response of n results.
pub fn decode(b: &[u8], n: usize) -> Res<Vec<Result>> {
    let mut r = crate::frame::Reader { b, off: 0 };
    let status = r.u8("call status")?;
    if status != 0 {
        let msg = r.bytes("message").unwrap_or(b"");
        let what = match status {
            1 => "denied",
            2 => "bad request",
            _ => "internal error",
        };
        return Err(format!("{}: {}", what, String::from_utf8_lossy(msg)));
    }
    let count = r.u32("count")? as usize;
    if count != n {
        return Err(format!("the host answered {} results for {} keys", count, n));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let status = r.u8("result status")?;
        let value = r.bytes("result value")?.to_vec();
        out.push(Result { status, value });
    }
    Ok(out)
}

fn call(f: unsafe extern "C" fn(u64) -> u64, req: &[u8], n: usize) -> Res<Vec<Result>> {
    let off = crate::extism::store(req);
    if off == 0 {
        return Err("kernel memory is full".into());
    }
    let resp = unsafe { f(off) };
    crate::extism::free(off);
    if resp == 0 {
        return Err("the host returned no response (kernel memory full)".into());
    }
    let b = crate::extism::load(resp);
    crate::extism::free(resp);
    decode(&b, n)
}

fn list(b: &mut Vec<u8>, items: &[&str]) {
    b.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        append_string(b, s.as_bytes());
    }
    b.push(b']');
}

fn raw_list(b: &mut Vec<u8>, items: &[&str]) {
    b.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(s.as_bytes());
    }
    b.push(b']');
}

/// Decodes a DNS answer value: its strings.
pub fn strings(v: &[u8]) -> Res<Vec<String>> {
    let mut r = crate::frame::Reader { b: v, off: 0 };
    let n = r.u32("answer count")? as usize;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(String::from_utf8_lossy(r.bytes("answer")?).into_owned());
    }
    Ok(out)
}

/// DNS lookups of one type ("PTR" with IP addresses, "A", "AAAA", "TXT");
/// decode each OK value with `strings`.
pub fn dns(typ: &str, names: &[&str]) -> Res<Vec<Result>> {
    let mut b = b"{\"type\":".to_vec();
    append_string(&mut b, typ.as_bytes());
    b.extend_from_slice(b",\"names\":");
    list(&mut b, names);
    b.push(b'}');
    call(weir_dns, &b, names.len())
}

/// MMDB lookups in the database `db` (a name from capabilities.mmdb); OK
/// values are JSON objects.
pub fn mmdb(db: &str, ips: &[&str]) -> Res<Vec<Result>> {
    let mut b = b"{\"db\":".to_vec();
    append_string(&mut b, db.as_bytes());
    b.extend_from_slice(b",\"ips\":");
    list(&mut b, ips);
    b.push(b'}');
    call(weir_mmdb, &b, ips.len())
}

/// DynamoDB gets: keys are JSON objects (`{"user_name":"x"}`); OK values
/// are the items as JSON.
pub fn dynamodb_get(table: &str, keys_json: &[&str], consistent: bool) -> Res<Vec<Result>> {
    let mut b = b"{\"op\":\"get\",\"table\":".to_vec();
    append_string(&mut b, table.as_bytes());
    b.extend_from_slice(b",\"keys\":");
    raw_list(&mut b, keys_json);
    b.extend_from_slice(if consistent { b",\"consistent\":true}" } else { b",\"consistent\":false}" });
    call(weir_dynamodb, &b, keys_json.len())
}

/// DynamoDB queries, each a JSON object as in sdk/ABI.md
/// (`{"key_condition":"pk = :p","values":{":p":"x"}}`); OK values are
/// JSON arrays of items.
pub fn dynamodb_query(table: &str, queries_json: &[&str]) -> Res<Vec<Result>> {
    let mut b = b"{\"op\":\"query\",\"table\":".to_vec();
    append_string(&mut b, table.as_bytes());
    b.extend_from_slice(b",\"queries\":");
    raw_list(&mut b, queries_json);
    b.push(b'}');
    call(weir_dynamodb, &b, queries_json.len())
}

/// DynamoDB puts of items given as JSON objects.
pub fn dynamodb_put(table: &str, items_json: &[&str]) -> Res<Vec<Result>> {
    let mut b = b"{\"op\":\"put\",\"table\":".to_vec();
    append_string(&mut b, table.as_bytes());
    b.extend_from_slice(b",\"items\":");
    raw_list(&mut b, items_json);
    b.push(b'}');
    call(weir_dynamodb, &b, items_json.len())
}

/// One HTTP request.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    /// GET, POST...
    pub method: &'a str,
    /// The URL (its host must be in the stage's allow_hosts).
    pub url: &'a str,
    /// Header names and values.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The body.
    pub body: &'a [u8],
}

/// One HTTP response (decoded from an OK result's value).
#[derive(Clone, Debug, Default)]
pub struct Response {
    /// The status code.
    pub status: u32,
    /// Header names (sorted) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Decodes an HTTP result's value.
pub fn response(v: &[u8]) -> Res<Response> {
    let mut r = crate::frame::Reader { b: v, off: 0 };
    let status = r.u32("status code")?;
    let n = r.u32("header count")? as usize;
    let mut headers = Vec::new();
    for _ in 0..n {
        let k = String::from_utf8_lossy(r.bytes("header name")?).into_owned();
        let v = String::from_utf8_lossy(r.bytes("header value")?).into_owned();
        headers.push((k, v));
    }
    let body = r.bytes("body")?.to_vec();
    Ok(Response { status, headers, body })
}

/// HTTP requests, made concurrently by the host; decode OK values with
/// `response`.
pub fn http(reqs: &[Request]) -> Res<Vec<Result>> {
    let mut b = b"{\"requests\":[".to_vec();
    for (i, q) in reqs.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(b"{\"method\":");
        append_string(&mut b, q.method.as_bytes());
        b.extend_from_slice(b",\"url\":");
        append_string(&mut b, q.url.as_bytes());
        b.extend_from_slice(b",\"headers\":{");
        for (j, (k, v)) in q.headers.iter().enumerate() {
            if j > 0 {
                b.push(b',');
            }
            append_string(&mut b, k.as_bytes());
            b.push(b':');
            append_string(&mut b, v.as_bytes());
        }
        b.extend_from_slice(b"},\"body\":");
        append_string(&mut b, q.body);
        b.push(b'}');
    }
    b.extend_from_slice(b"]}");
    call(weir_http, &b, reqs.len())
}

fn cache_keys(op: &str, keys: &[&str]) -> Res<Vec<Result>> {
    let mut b = b"{\"op\":\"".to_vec();
    b.extend_from_slice(op.as_bytes());
    b.extend_from_slice(b"\",\"keys\":");
    list(&mut b, keys);
    b.push(b'}');
    call(weir_cache, &b, keys.len())
}

/// Cache gets (OK values: the stored bytes).
pub fn cache_get(keys: &[&str]) -> Res<Vec<Result>> {
    cache_keys("get", keys)
}

/// Cache deletes.
pub fn cache_delete(keys: &[&str]) -> Res<Vec<Result>> {
    cache_keys("delete", keys)
}

/// Cache sets: (key, value, ttl in seconds; 0 = the stage's default).
pub fn cache_set(entries: &[(&str, &str, u32)]) -> Res<Vec<Result>> {
    let mut b = b"{\"op\":\"set\",\"entries\":[".to_vec();
    for (i, (k, v, ttl)) in entries.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(b"{\"key\":");
        append_string(&mut b, k.as_bytes());
        b.extend_from_slice(b",\"value\":");
        append_string(&mut b, v.as_bytes());
        b.extend_from_slice(format!(",\"ttl_seconds\":{}}}", ttl).as_bytes());
    }
    b.extend_from_slice(b"]}");
    call(weir_cache, &b, entries.len())
}
