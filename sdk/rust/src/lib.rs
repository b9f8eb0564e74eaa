//! weir's Rust SDK: write a weir transform module in Rust with the standard
//! library only (no crates), for `wasm32-unknown-unknown` or `wasm32-wasi`.
//!
//! A module registers a handler that runs once per record; the SDK reads
//! the batch's input frame, calls the handler and writes the output frame
//! (sdk/ABI.md). It exports both the fast path (`weir_abi_version`,
//! `weir_alloc`, `weir_transform`, `weir_manifest`) and `weir_batch`, so
//! the module runs on weir and on any Extism host.
//!
//! ```ignore
//! fn setup(m: &mut weir::Module) {
//!     m.paths(&["errorCode"]);
//!     m.handle(handle);
//! }
//!
//! fn handle(r: &mut weir::Record) -> Result<(), String> {
//!     if r.get("errorCode").eq_str("AccessDenied") {
//!         r.drop_record();
//!         return Ok(());
//!     }
//!     let mut d = r.edit();
//!     d.set_string("tag", "seen");
//!     r.emit_doc(&d)
//! }
//!
//! weir::export!(setup);
//! ```
//!
//! Documents (`Record::doc`, `Record::edit`) are operation lists: on weir
//! (FlagHostOps) the host applies them natively; on other hosts the SDK
//! applies them itself (module `apply`), with the same output bytes.
//! A panic aborts the instance (modules are built with `-C panic=abort`):
//! return `Err` to fail one record.

use std::borrow::Cow;

pub mod apply;
pub mod digest;
pub mod enrich;
pub mod extism;
pub mod frame;
pub mod intrinsic;
pub mod json;

pub use json::Json;

/// The frame format version this SDK reads and writes.
pub const ABI_VERSION: i32 = 1;
/// This SDK's name in the module's manifest.
pub const SDK_VERSION: &str = "rust/0.1.0";

/// The per-record handler: emit outputs, drop, or return an error to fail
/// the record (its outputs are then discarded).
pub type Handler = fn(&mut Record) -> Result<(), String>;
/// A batch-level hook run before the handler (collect keys, call an
/// enrichment host function once per batch). An error fails every record.
pub type Prepare = fn(&Batch) -> Result<(), String>;

/// What a module registers in its setup function.
#[derive(Default)]
pub struct Module {
    handler: Option<Handler>,
    prepare: Option<Prepare>,
    paths: Vec<String>,
}

impl Module {
    /// Registers the record handler.
    pub fn handle(&mut self, h: Handler) {
        self.handler = Some(h);
    }
    /// Registers a function that sees the whole batch first.
    pub fn prepare(&mut self, p: Prepare) {
        self.prepare = Some(p);
    }
    /// Declares JSON paths the handler reads with `Record::get`: weir
    /// resolves them natively and sends their values (views), so the guest
    /// does not parse the record. Later calls add paths.
    pub fn paths(&mut self, paths: &[&str]) {
        self.paths.extend(paths.iter().map(|p| p.to_string()));
    }
}

/// The value of a path in a record: from the host's view, or from a
/// guest-side parse. Strings are unescaped; numbers, objects and arrays
/// are their compact JSON text.
#[derive(Clone, Debug, PartialEq)]
pub struct Value<'a> {
    kind: u8,
    raw: Cow<'a, [u8]>,
}

/// Value types (sdk/ABI.md "Views and value types").
pub const MISSING: u8 = 0;
/// A string value.
pub const STRING: u8 = 1;
/// A number value.
pub const NUMBER: u8 = 2;
/// true.
pub const TRUE: u8 = 3;
/// false.
pub const FALSE: u8 = 4;
/// null.
pub const NULL: u8 = 5;
/// An object (compact JSON text).
pub const OBJECT: u8 = 6;
/// An array (compact JSON text).
pub const ARRAY: u8 = 7;

impl<'a> Value<'a> {
    /// A missing value.
    pub fn missing() -> Value<'static> {
        Value { kind: MISSING, raw: Cow::Borrowed(&[]) }
    }
    /// The value of a parsed JSON value (None: missing).
    pub fn from_json(v: Option<&Json>) -> Value<'static> {
        let v = match v {
            None => return Value::missing(),
            Some(v) => v,
        };
        let raw = match v {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.clone(),
            Json::Object(_) | Json::Array(_) => {
                let mut b = Vec::new();
                let _ = v.write(&mut b);
                b
            }
            _ => Vec::new(),
        };
        Value { kind: v.view_type(), raw: Cow::Owned(raw) }
    }
    /// The value type (MISSING ... ARRAY).
    pub fn kind(&self) -> u8 {
        self.kind
    }
    /// Whether the path is absent.
    pub fn is_missing(&self) -> bool {
        self.kind == MISSING
    }
    /// Whether the value is a string.
    pub fn is_string(&self) -> bool {
        self.kind == STRING
    }
    /// The value's bytes: a string unescaped, or JSON text.
    pub fn bytes(&self) -> &[u8] {
        &self.raw
    }
    /// The string, if the value is a string of valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        if self.kind == STRING {
            std::str::from_utf8(&self.raw).ok()
        } else {
            None
        }
    }
    /// Whether the value is the string s.
    pub fn eq_str(&self, s: &str) -> bool {
        self.kind == STRING && &*self.raw == s.as_bytes()
    }
    /// The value as an i64, if it is an integral number.
    pub fn as_i64(&self) -> Option<i64> {
        if self.kind != NUMBER {
            return None;
        }
        std::str::from_utf8(&self.raw).ok()?.parse().ok()
    }
    /// The value as an f64, if it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        if self.kind != NUMBER {
            return None;
        }
        std::str::from_utf8(&self.raw).ok()?.parse().ok()
    }
    /// The value as a boolean, if it is true or false.
    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            TRUE => Some(true),
            FALSE => Some(false),
            _ => None,
        }
    }
}

/// Output kinds.
pub const OUTPUT_RAW: u8 = 0;
/// An op list building a new document from `{}`.
pub const OUTPUT_OPS: u8 = 1;
/// An op list editing the input record.
pub const OUTPUT_EDIT: u8 = 2;

/// Op codes (sdk/ABI.md "Operation lists").
pub const OP_SET_JSON: u8 = 1;
/// set_string.
pub const OP_SET_STRING: u8 = 2;
/// copy.
pub const OP_COPY: u8 = 3;
/// set_original.
pub const OP_SET_ORIGINAL: u8 = 4;
/// set_digest.
pub const OP_SET_DIGEST: u8 = 5;
/// delete.
pub const OP_DELETE: u8 = 6;
/// set_int.
pub const OP_SET_INT: u8 = 7;
/// copy_string.
pub const OP_COPY_STRING: u8 = 8;

/// Digest algorithms of set_digest and the digest intrinsics.
pub const DIGEST_SHA256: u8 = 1;
/// MD5.
pub const DIGEST_MD5: u8 = 2;
/// SHA-1.
pub const DIGEST_SHA1: u8 = 3;

/// A JSON document built from operations: a new one (`Record::doc`) or
/// the input record edited (`Record::edit`). Keys keep the order in which
/// they are first set; paths are dot-separated (`\.` is a literal dot).
/// Build constant runs once with `Doc::ops()` and `append` them.
#[derive(Clone, Debug, Default)]
pub struct Doc {
    kind: u8,
    /// The encoded operation list.
    pub ops: Vec<u8>,
}

fn put_bytes(b: &mut Vec<u8>, s: &[u8]) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s);
}

impl Doc {
    /// An empty op list of kind ops (a new document), to fill and append.
    pub fn ops() -> Doc {
        Doc { kind: OUTPUT_OPS, ops: Vec::new() }
    }
    fn op(&mut self, code: u8, path: &str) -> &mut Doc {
        self.ops.push(code);
        put_bytes(&mut self.ops, path.as_bytes());
        self
    }
    /// Sets path to a JSON value (checked when applied).
    pub fn set_json(&mut self, path: &str, raw: &[u8]) -> &mut Doc {
        self.op(OP_SET_JSON, path);
        put_bytes(&mut self.ops, raw);
        self
    }
    /// Sets path to a string (escaped when applied).
    pub fn set_string<S: AsRef<[u8]> + ?Sized>(&mut self, path: &str, s: &S) -> &mut Doc {
        self.op(OP_SET_STRING, path);
        put_bytes(&mut self.ops, s.as_ref());
        self
    }
    /// Sets path to an integer.
    pub fn set_int(&mut self, path: &str, n: i64) -> &mut Doc {
        self.op(OP_SET_INT, path);
        self.ops.extend_from_slice(&n.to_le_bytes());
        self
    }
    /// Sets path to the input's value at src (any type); missing: nothing.
    pub fn copy(&mut self, path: &str, src: &str) -> &mut Doc {
        self.op(OP_COPY, path);
        put_bytes(&mut self.ops, src.as_bytes());
        self
    }
    /// Like copy, only when the source is a non-empty string.
    pub fn copy_string(&mut self, path: &str, src: &str) -> &mut Doc {
        self.op(OP_COPY_STRING, path);
        put_bytes(&mut self.ops, src.as_bytes());
        self
    }
    /// Sets path to the input record's bytes, as a string.
    pub fn set_original(&mut self, path: &str) -> &mut Doc {
        self.op(OP_SET_ORIGINAL, path)
    }
    /// Sets path to the lower-case hex digest of the input record.
    pub fn set_digest(&mut self, path: &str, algo: u8) -> &mut Doc {
        self.op(OP_SET_DIGEST, path);
        self.ops.push(algo);
        self
    }
    /// Sets path to the hex SHA-256 of the input record.
    pub fn set_sha256(&mut self, path: &str) -> &mut Doc {
        self.set_digest(path, DIGEST_SHA256)
    }
    /// Removes path if present.
    pub fn delete(&mut self, path: &str) -> &mut Doc {
        self.op(OP_DELETE, path)
    }
    /// Appends another list's operations (a constant run built once).
    pub fn append(&mut self, other: &Doc) -> &mut Doc {
        self.ops.extend_from_slice(&other.ops);
        self
    }
    /// Appends already-encoded operations as they are.
    pub fn append_raw(&mut self, b: &[u8]) -> &mut Doc {
        self.ops.extend_from_slice(b);
        self
    }
    /// Empties the list (keeping its kind and buffer).
    pub fn clear(&mut self) {
        self.ops.clear();
    }
}

/// One input record of the batch, and its outcome under construction.
pub struct Record<'a> {
    index: usize,
    rec: &'a frame::InRecord<'a>,
    views: &'a [(u8, &'a [u8])],
    ctx: &'a Ctx,
    out: &'a mut Vec<u8>,
    nout: u32,
    dropped: bool,
    err: Option<String>,
    parsed: Option<Result<Json, String>>,
}

/// What a record needs of its batch: the declared paths and where the
/// frame's views of them are.
pub struct Ctx {
    paths: Vec<String>,
    view_idx: Vec<isize>,
    flags: u16,
}

impl Ctx {
    fn view<'a>(&self, path: &str, views: &[(u8, &'a [u8])]) -> Option<Value<'a>> {
        let i = self.paths.iter().position(|p| p == path)?;
        let j = *self.view_idx.get(i)?;
        if j < 0 {
            return None;
        }
        let (t, raw) = *views.get(j as usize)?;
        Some(Value { kind: t, raw: Cow::Borrowed(raw) })
    }
    fn host_ops(&self) -> bool {
        self.flags & frame::FLAG_HOST_OPS != 0
    }
}

fn get_parsed<'a>(ctx: &Ctx, rec: &frame::InRecord<'a>, views: &[(u8, &'a [u8])], parsed: &mut Option<Result<Json, String>>, path: &str) -> Value<'a> {
    if let Some(v) = ctx.view(path, views) {
        return v;
    }
    let p = parsed.get_or_insert_with(|| Json::parse(rec.data));
    match p {
        Ok(root) => Value::from_json(root.get(&json::split_path(path.as_bytes()))),
        Err(_) => Value::missing(),
    }
}

impl<'a> Record<'a> {
    /// The record's position in this call's frame, from 0 (a batch may come
    /// in several calls: see sdk/ABI.md).
    pub fn index(&self) -> usize {
        self.index
    }
    /// The record's bytes (usually one JSON document).
    pub fn data(&self) -> &'a [u8] {
        self.rec.data
    }
    /// The partition key (Kinesis), or empty.
    pub fn partition_key(&self) -> &'a [u8] {
        self.rec.partition_key
    }
    /// The record's id in its source, or empty.
    pub fn sequence_number(&self) -> &'a [u8] {
        self.rec.sequence_number
    }
    /// The index inside a KPL-aggregated record.
    pub fn sub_sequence(&self) -> u64 {
        self.rec.sub_sequence
    }
    /// Arrival time in Unix nanoseconds; 0 when unknown.
    pub fn arrival_unix_nano(&self) -> i64 {
        self.rec.arrival_unix_nano
    }
    /// Where the record came from, or empty.
    pub fn source(&self) -> &'a [u8] {
        self.rec.source
    }
    /// The value at path: the host's view for a declared path, else a
    /// guest-side parse (once per record). A record that is not JSON gives
    /// missing values; `parsed` says why.
    pub fn get(&mut self, path: &str) -> Value<'a> {
        get_parsed(self.ctx, self.rec, self.views, &mut self.parsed, path)
    }
    /// The value of the i-th declared path (in `Module::paths` order): the
    /// same as `get` with that path, without looking the path up.
    pub fn value(&mut self, i: usize) -> Value<'a> {
        let ctx = self.ctx;
        if let Some(&j) = ctx.view_idx.get(i) {
            if j >= 0 {
                if let Some(&(t, raw)) = self.views.get(j as usize) {
                    return Value { kind: t, raw: Cow::Borrowed(raw) };
                }
            }
        }
        match ctx.paths.get(i) {
            Some(p) => get_parsed(ctx, self.rec, self.views, &mut self.parsed, p),
            None => Value::missing(),
        }
    }
    /// The record parsed in the guest (the slow path: prefer declared
    /// paths and `get`).
    pub fn parsed(&mut self) -> Result<&Json, String> {
        let data = self.rec.data;
        match self.parsed.get_or_insert_with(|| Json::parse(data)) {
            Ok(v) => Ok(v),
            Err(e) => Err(e.clone()),
        }
    }
    /// An error when the record is not JSON. Free when the host sent
    /// views (it has checked every record).
    pub fn check_json(&mut self) -> Result<(), String> {
        if self.ctx.flags & frame::FLAG_VIEWS != 0 {
            return Ok(());
        }
        self.parsed().map(|_| ())
    }
    fn output(&mut self, kind: u8, route: &[u8], body: &[u8]) {
        self.out.push(kind);
        put_bytes(self.out, route);
        put_bytes(self.out, body);
        self.nout += 1;
    }
    /// Outputs data to the default output.
    pub fn emit(&mut self, data: &[u8]) {
        self.output(OUTPUT_RAW, b"", data)
    }
    /// Outputs data to the named pipeline output (route).
    pub fn emit_to(&mut self, route: &str, data: &[u8]) {
        self.output(OUTPUT_RAW, route.as_bytes(), data)
    }
    /// Filters the record out: its outputs are discarded.
    pub fn drop_record(&mut self) {
        self.dropped = true;
    }
    /// Fails the record with a message (as returning Err does).
    pub fn fail(&mut self, msg: &str) {
        if self.err.is_none() {
            self.err = Some(msg.to_string());
        }
    }
    /// Starts a new document (an empty object built from operations).
    pub fn doc(&self) -> Doc {
        Doc { kind: OUTPUT_OPS, ops: Vec::with_capacity(512) }
    }
    /// Starts an edit of the input record (a JSON object): fields set,
    /// copied or deleted, the others kept in place.
    pub fn edit(&self) -> Doc {
        Doc { kind: OUTPUT_EDIT, ops: Vec::with_capacity(512) }
    }
    /// Outputs a document to the default output.
    pub fn emit_doc(&mut self, d: &Doc) -> Result<(), String> {
        self.emit_doc_to("", d)
    }
    /// Outputs a document to a route. Without FlagHostOps the SDK applies
    /// the operations itself; an error there also fails the record.
    pub fn emit_doc_to(&mut self, route: &str, d: &Doc) -> Result<(), String> {
        let kind = if d.kind == OUTPUT_EDIT { OUTPUT_EDIT } else { OUTPUT_OPS };
        if self.ctx.host_ops() {
            self.output(kind, route.as_bytes(), &d.ops);
            return Ok(());
        }
        let parsed = match &self.parsed {
            Some(Ok(v)) => Some(v),
            _ => None,
        };
        match apply::apply(kind, &d.ops, self.rec.data, parsed) {
            Ok(doc) => {
                self.output(OUTPUT_RAW, route.as_bytes(), &doc);
                Ok(())
            }
            Err(e) => {
                self.fail(&e);
                Err(e)
            }
        }
    }
}

/// The batch's records, for a Prepare function.
pub struct Batch<'a> {
    input: &'a frame::Input<'a>,
    ctx: &'a Ctx,
}

impl<'a> Batch<'a> {
    /// The number of records.
    pub fn len(&self) -> usize {
        self.input.records.len()
    }
    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.input.records.is_empty()
    }
    /// Record i's bytes.
    pub fn data(&self, i: usize) -> &'a [u8] {
        self.input.records[i].data
    }
    /// The value at path in record i (a view, or a guest-side parse).
    pub fn get(&self, i: usize, path: &str) -> Value<'a> {
        let mut p = None;
        let input: &'a frame::Input<'a> = self.input;
        get_parsed(self.ctx, &input.records[i], input.record_views(i), &mut p, path)
    }
}

/// The module's runtime state: one instance runs one call at a time.
#[doc(hidden)]
pub struct Runtime {
    module: Module,
    ready: bool,
    /// The weir_alloc buffer.
    pub in_buf: Vec<u8>,
    out: Vec<u8>,
    manifest: Vec<u8>,
}

static mut RUNTIME: Option<Runtime> = None;

/// The runtime, set up on first use with the module's setup function.
#[doc(hidden)]
#[allow(clippy::missing_safety_doc)]
pub fn runtime(setup: fn(&mut Module)) -> &'static mut Runtime {
    // Safety: a Wasm instance is single-threaded and runs one export at a
    // time; the runtime is only reached through the exports.
    unsafe {
        let rt = RUNTIME.get_or_insert_with(|| Runtime { module: Module::default(), ready: false, in_buf: Vec::new(), out: Vec::new(), manifest: Vec::new() });
        if !rt.ready {
            rt.ready = true;
            setup(&mut rt.module);
        }
        rt
    }
}

impl Runtime {
    /// The manifest: {"abi":1,"sdk":"rust/0.1.0","paths":[...]}.
    pub fn manifest(&mut self) -> &[u8] {
        if self.manifest.is_empty() {
            let mut b = format!("{{\"abi\":{},\"sdk\":", ABI_VERSION).into_bytes();
            json::append_string(&mut b, SDK_VERSION.as_bytes());
            b.extend_from_slice(b",\"paths\":[");
            for (i, p) in self.module.paths.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                json::append_string(&mut b, p.as_bytes());
            }
            b.extend_from_slice(b"]}");
            self.manifest = b;
        }
        &self.manifest
    }

    fn error_frame(&mut self, msg: &str) -> &[u8] {
        self.out.clear();
        frame::append_error(&mut self.out, msg);
        &self.out
    }

    /// Runs the handler over an input frame and returns the output (or
    /// error) frame, valid until the next call.
    pub fn batch(&mut self, input: &[u8]) -> &[u8] {
        let handler = match self.module.handler {
            Some(h) => h,
            None => return self.error_frame("weir: no handler registered: call Module::handle in the setup function"),
        };
        let frame = match frame::read_input(input) {
            Ok(v) => v,
            Err(e) => return self.error_frame(&format!("weir: reading the input frame: {}", e)),
        };
        let view_idx = self.module.paths.iter().map(|p| frame.paths.iter().position(|fp| *fp == p.as_bytes()).map_or(-1, |j| j as isize)).collect();
        let ctx = Ctx { paths: std::mem::take(&mut self.module.paths), view_idx, flags: frame.flags };
        let recs = &frame.records;
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        frame::append_header(&mut out, frame::TYPE_OUTPUT, 0, recs.len() as u32, 0);
        let prep_err = match self.module.prepare {
            Some(p) => p(&Batch { input: &frame, ctx: &ctx }).err(),
            None => None,
        };
        for (i, rec) in recs.iter().enumerate() {
            let mark = out.len();
            out.push(frame::STATUS_OK);
            out.extend_from_slice(&[0, 0, 0, 0]);
            let mut r = Record { index: i, rec, views: frame.record_views(i), ctx: &ctx, out: &mut out, nout: 0, dropped: false, err: None, parsed: None };
            let res = match &prep_err {
                Some(e) => Err(e.clone()),
                None => handler(&mut r),
            };
            let err = match res {
                Err(e) => Some(e),
                Ok(()) => r.err.take(),
            };
            let (dropped, nout) = (r.dropped, r.nout);
            if let Some(e) = err {
                out.truncate(mark);
                out.push(frame::STATUS_FAILED);
                put_bytes(&mut out, e.as_bytes());
            } else if dropped {
                out.truncate(mark);
                out.push(frame::STATUS_DROPPED);
            } else {
                out[mark + 1..mark + 5].copy_from_slice(&nout.to_le_bytes());
            }
        }
        self.module.paths = ctx.paths;
        self.out = out;
        &self.out
    }

    /// The weir_alloc export: the input buffer, at least size bytes.
    pub fn alloc(&mut self, size: i32) -> i32 {
        if size < 0 {
            return 0;
        }
        let size = size as usize;
        if self.in_buf.len() < size || self.in_buf.is_empty() {
            self.in_buf = vec![0u8; size.max(64 << 10)];
        }
        self.in_buf.as_ptr() as usize as i32
    }

    /// The weir_transform export.
    pub fn transform(&mut self, ptr: i32, len: i32) -> i64 {
        if len < 0 || len as usize > self.in_buf.len() || ptr as u32 as usize != self.in_buf.as_ptr() as usize {
            let f = self.error_frame("weir_transform: the frame is not in the buffer weir_alloc returned");
            return packed(f);
        }
        let input = std::mem::take(&mut self.in_buf);
        let res = packed(self.batch(&input[..len as usize]));
        self.in_buf = input;
        res
    }

    /// The weir_batch export: Extism input in, Extism output out.
    pub fn extism_batch(&mut self) -> i32 {
        let input = extism::input();
        let out = self.batch(&input);
        extism::output(out);
        0
    }
}

/// (ptr << 32) | len of a slice in linear memory.
#[doc(hidden)]
pub fn packed(b: &[u8]) -> i64 {
    ((b.as_ptr() as usize as u64) << 32 | b.len() as u64) as i64
}

/// Defines the module's exports (fast path and `weir_batch`) around a
/// setup function `fn(&mut weir::Module)`, called once per instance.
#[macro_export]
macro_rules! export {
    ($setup:path) => {
        #[no_mangle]
        pub extern "C" fn weir_abi_version() -> i32 {
            $crate::ABI_VERSION
        }
        #[no_mangle]
        pub extern "C" fn weir_alloc(size: i32) -> i32 {
            $crate::runtime($setup).alloc(size)
        }
        #[no_mangle]
        pub extern "C" fn weir_transform(ptr: i32, len: i32) -> i64 {
            $crate::runtime($setup).transform(ptr, len)
        }
        #[no_mangle]
        pub extern "C" fn weir_manifest() -> i64 {
            $crate::packed($crate::runtime($setup).manifest())
        }
        #[no_mangle]
        pub extern "C" fn weir_batch() -> i32 {
            $crate::runtime($setup).extism_batch()
        }
    };
}

/// The value of a configuration key set by the host (Extism config; weir
/// passes a stage's `config`).
pub fn config(key: &str) -> Option<String> {
    extism::config(key)
}

/// Logs at debug level through the host.
pub fn log_debug(msg: &str) {
    extism::log(extism::LogLevel::Debug, msg)
}
/// Logs at info level through the host.
pub fn log_info(msg: &str) {
    extism::log(extism::LogLevel::Info, msg)
}
/// Logs at warn level through the host.
pub fn log_warn(msg: &str) {
    extism::log(extism::LogLevel::Warn, msg)
}
/// Logs at error level through the host.
pub fn log_error(msg: &str) {
    extism::log(extism::LogLevel::Error, msg)
}
