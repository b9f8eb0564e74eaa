//! The Extism kernel functions (`extism:host/env`) the SDK uses: input and
//! output of `weir_batch`, config, logging, and kernel memory for the
//! enrichment host functions.

#[link(wasm_import_module = "extism:host/env")]
extern "C" {
    fn input_length() -> u64;
    fn input_load_u8(off: u64) -> u32;
    fn input_load_u64(off: u64) -> u64;
    fn output_set(off: u64, len: u64);
    #[link_name = "alloc"]
    fn kernel_alloc(len: u64) -> u64;
    #[link_name = "free"]
    fn kernel_free(off: u64);
    #[link_name = "length"]
    fn kernel_length(off: u64) -> u64;
    fn load_u8(off: u64) -> u32;
    fn load_u64(off: u64) -> u64;
    fn store_u8(off: u64, v: u32);
    fn store_u64(off: u64, v: u64);
    fn config_get(off: u64) -> u64;
    fn log_debug(off: u64);
    fn log_info(off: u64);
    fn log_warn(off: u64);
    fn log_error(off: u64);
}

/// The call's input (weir_batch: the input frame).
pub fn input() -> Vec<u8> {
    unsafe {
        let n = input_length() as usize;
        let mut b = vec![0u8; n];
        let mut i = 0;
        while i + 8 <= n {
            b[i..i + 8].copy_from_slice(&input_load_u64(i as u64).to_le_bytes());
            i += 8;
        }
        while i < n {
            b[i] = input_load_u8(i as u64) as u8;
            i += 1;
        }
        b
    }
}

/// Copies b into a new kernel memory block and returns its offset.
pub fn store(b: &[u8]) -> u64 {
    unsafe {
        let off = kernel_alloc(b.len() as u64);
        if off == 0 && !b.is_empty() {
            return 0;
        }
        let mut i = 0;
        while i + 8 <= b.len() {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            store_u64(off + i as u64, u64::from_le_bytes(a));
            i += 8;
        }
        while i < b.len() {
            store_u8(off + i as u64, b[i] as u32);
            i += 1;
        }
        off
    }
}

/// Reads a kernel memory block.
pub fn load(off: u64) -> Vec<u8> {
    unsafe {
        let n = kernel_length(off) as usize;
        let mut b = vec![0u8; n];
        let mut i = 0;
        while i + 8 <= n {
            b[i..i + 8].copy_from_slice(&load_u64(off + i as u64).to_le_bytes());
            i += 8;
        }
        while i < n {
            b[i] = load_u8(off + i as u64) as u8;
            i += 1;
        }
        b
    }
}

/// Frees a kernel memory block.
pub fn free(off: u64) {
    unsafe { kernel_free(off) }
}

/// Sets the call's output.
pub fn output(b: &[u8]) {
    let off = store(b);
    unsafe { output_set(off, b.len() as u64) }
}

/// A configuration value.
pub fn config(key: &str) -> Option<String> {
    let k = store(key.as_bytes());
    let v = unsafe { config_get(k) };
    free(k);
    if v == 0 {
        return None;
    }
    let b = load(v);
    free(v);
    Some(String::from_utf8_lossy(&b).into_owned())
}

/// Log levels.
pub enum LogLevel {
    /// debug
    Debug,
    /// info
    Info,
    /// warn
    Warn,
    /// error
    Error,
}

/// Logs a message through the host.
pub fn log(level: LogLevel, msg: &str) {
    let off = store(msg.as_bytes());
    unsafe {
        match level {
            LogLevel::Debug => log_debug(off),
            LogLevel::Info => log_info(off),
            LogLevel::Warn => log_warn(off),
            LogLevel::Error => log_error(off),
        }
    }
    free(off);
}
