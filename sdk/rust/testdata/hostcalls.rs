//! A module that calls every kind of host service through the Rust SDK,
//! for sdk/compat TestHostCallsRust: the key-value cache (set then get,
//! from a prepare function, once per batch), DNS without the capability
//! (denied), intrinsics, config and logging.

static mut CACHED: Vec<Vec<u8>> = Vec::new();
static mut DNS: String = String::new();

fn setup(m: &mut weir::Module) {
    m.prepare(prepare);
    m.handle(handle);
}

fn prepare(b: &weir::Batch) -> Result<(), String> {
    let keys: Vec<String> = (0..b.len()).map(|i| format!("k{}", i)).collect();
    let vals: Vec<String> = (0..b.len()).map(|i| String::from_utf8_lossy(b.data(i)).to_uppercase()).collect();
    let entries: Vec<(&str, &str, u32)> = keys.iter().zip(vals.iter()).map(|(k, v)| (k.as_str(), v.as_str(), 60)).collect();
    for r in weir::enrich::cache_set(&entries)? {
        if !r.ok() {
            return Err(format!("cache set: status {}", r.status));
        }
    }
    let ks: Vec<&str> = keys.iter().map(|s| s.as_str()).collect();
    let got = weir::enrich::cache_get(&ks)?;
    let dns = match weir::enrich::dns("PTR", &["192.0.2.1"]) {
        Ok(_) => "allowed".to_string(),
        Err(e) => e,
    };
    // Safety: one call at a time per instance.
    unsafe {
        CACHED = got.into_iter().map(|r| if r.ok() { r.value } else { b"miss".to_vec() }).collect();
        DNS = dns;
    }
    Ok(())
}

fn handle(r: &mut weir::Record) -> Result<(), String> {
    let hex = weir::intrinsic::digest_hex(weir::DIGEST_SHA256, r.data()).map_err(|e| format!("digest_hex: {}", e))?;
    let b64 = weir::intrinsic::base64_encode(weir::intrinsic::BASE64_STD, r.data()).map_err(|e| format!("base64: {}", e))?;
    let esc = weir::intrinsic::json_escape(r.data()).map_err(|e| format!("json_escape: {}", e))?;
    let cfg = weir::config("suffix").unwrap_or_else(|| "unset".into());
    let missing = weir::config("nope").is_none();
    weir::log_info("hostcalls: a record");
    // Safety: set by prepare for this batch.
    let (cached, dns) = unsafe { (CACHED[r.index()].clone(), DNS.clone()) };
    r.emit_to("sha256", &hex);
    r.emit_to("base64", &b64);
    r.emit_to("json", &esc);
    r.emit_to("config", format!("{}/{}", cfg, missing).as_bytes());
    r.emit_to("cache", &cached);
    r.emit_to("dns", dns.as_bytes());
    Ok(())
}

weir::export!(setup);
