//! weir's intrinsics (`weir:host/v1`, sdk/ABI.md "Intrinsics"): digests,
//! hex and base64, JSON string escaping, computed natively by the host. A
//! module that calls one imports `weir:host/v1` and needs weir's host;
//! modules that do not use this module import nothing from it.

#[link(wasm_import_module = "weir:host/v1")]
extern "C" {
    #[link_name = "digest"]
    fn host_digest(algo: i32, ptr: i32, len: i32, out: i32) -> i32;
    #[link_name = "digest_hex"]
    fn host_digest_hex(algo: i32, ptr: i32, len: i32, out: i32) -> i32;
    #[link_name = "hex_encode"]
    fn host_hex_encode(ptr: i32, len: i32, out: i32) -> i32;
    #[link_name = "base64_encode"]
    fn host_base64_encode(variant: i32, ptr: i32, len: i32, out: i32) -> i32;
    #[link_name = "base64_decode"]
    fn host_base64_decode(variant: i32, ptr: i32, len: i32, out: i32, cap: i32) -> i32;
    #[link_name = "json_escape"]
    fn host_json_escape(ptr: i32, len: i32, out: i32, cap: i32) -> i32;
}

fn p(b: &[u8]) -> i32 {
    b.as_ptr() as usize as i32
}

fn finish(mut out: Vec<u8>, n: i32) -> Result<Vec<u8>, i32> {
    if n < 0 {
        return Err(n);
    }
    out.truncate(n as usize);
    Ok(out)
}

/// The raw digest of data (algo: 1 SHA-256, 2 MD5, 3 SHA-1). Err holds
/// the host's negative status.
pub fn digest(algo: u8, data: &[u8]) -> Result<Vec<u8>, i32> {
    let mut out = vec![0u8; 32];
    let n = unsafe { host_digest(algo as i32, p(data), data.len() as i32, p(&out)) };
    let _ = &mut out;
    finish(out, n)
}

/// The lower-case hex digest of data.
pub fn digest_hex(algo: u8, data: &[u8]) -> Result<Vec<u8>, i32> {
    let out = vec![0u8; 64];
    let n = unsafe { host_digest_hex(algo as i32, p(data), data.len() as i32, p(&out)) };
    finish(out, n)
}

/// data in lower-case hex.
pub fn hex_encode(data: &[u8]) -> Result<Vec<u8>, i32> {
    let out = vec![0u8; 2 * data.len()];
    let n = unsafe { host_hex_encode(p(data), data.len() as i32, p(&out)) };
    finish(out, n)
}

/// Base64 variants: standard, URL, standard unpadded, URL unpadded.
pub const BASE64_STD: u8 = 0;
/// URL alphabet, padded.
pub const BASE64_URL: u8 = 1;
/// Standard alphabet, unpadded.
pub const BASE64_RAW_STD: u8 = 2;
/// URL alphabet, unpadded.
pub const BASE64_RAW_URL: u8 = 3;

/// data in base64.
pub fn base64_encode(variant: u8, data: &[u8]) -> Result<Vec<u8>, i32> {
    let out = vec![0u8; (data.len() + 2) / 3 * 4];
    let n = unsafe { host_base64_encode(variant as i32, p(data), data.len() as i32, p(&out)) };
    finish(out, n)
}

/// Decodes base64 (Err(-1): invalid input).
pub fn base64_decode(variant: u8, data: &[u8]) -> Result<Vec<u8>, i32> {
    let out = vec![0u8; data.len() / 4 * 3 + 3];
    let n = unsafe { host_base64_decode(variant as i32, p(data), data.len() as i32, p(&out), out.len() as i32) };
    finish(out, n)
}

/// s as a quoted JSON string (weir's escaping).
pub fn json_escape(s: &[u8]) -> Result<Vec<u8>, i32> {
    let mut out = vec![0u8; s.len() + 2];
    let mut n = unsafe { host_json_escape(p(s), s.len() as i32, p(&out), out.len() as i32) };
    if n > out.len() as i32 {
        out = vec![0u8; n as usize];
        n = unsafe { host_json_escape(p(s), s.len() as i32, p(&out), out.len() as i32) };
    }
    finish(out, n)
}
