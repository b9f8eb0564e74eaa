// weir's AssemblyScript SDK: weir's module ABI (sdk/ABI.md) in a few
// hundred lines, with no dependency: the fast path (weir_abi_version,
// weir_alloc, weir_transform, weir_manifest) and weir_batch, so a module
// runs on weir and on any Extism host.
//
// A module defines one function per record and registers it; the SDK
// decodes the batch frame, calls the function for every record and encodes
// the outcomes:
//
//   import { Record, Output, handle } from "@weirhq/weir-as/weir";
//   export { weir_abi_version, weir_alloc, weir_transform, weir_manifest, weir_batch } from "@weirhq/weir-as/weir";
//
//   function transform(r: Record, out: Output): void {
//     out.emit(r.data, r.dataLen);        // or out.drop(), out.fail("why")
//   }
//   handle(transform);
//
// Views and documents (JSON records, parsed and serialized natively by the
// host): declarePaths(["errorCode", ...]) at top level; r.viewType(i),
// r.viewPtr(i), r.viewLen(i), r.viewEquals(i, s) read the values of the
// declared paths; out.beginDoc() (a new document from {}) or
// out.beginEdit() (the input record, modified) returns a Doc whose
// operations (copyString, setString, setDigest, delete, ...) are written
// straight into the output frame as an operation list, and out.endDoc()
// finishes it. Build constant runs of operations once with `new Ops()` and
// append them with doc.append(run). On weir (FlagHostOps) the host applies
// the list natively; on hosts that do not (plain Extism hosts, through
// weir_batch) the SDK applies it itself (apply.ts) and emits the document
// as a raw output: the same bytes either way.
//
// Build: asc module.ts --outFile module.wasm --runtime stub -O3 --use abort=module/myAbort
// (the stub runtime never collects: the SDK reuses its buffers).
//
// Memory: the input buffer weir_alloc returns stays the module's until the
// next weir_alloc (the host writes every frame that fits there); the output
// frame returned by weir_transform stays valid until the next call.

import { applyOps, applyError, docPtr, docLen, resolveViews, viewBase } from "./apply";

// Extism kernel functions, used by weir_batch only.
@external("extism:host/env", "input_length") declare function extism_input_length(): u64;
@external("extism:host/env", "input_load_u64") declare function extism_input_load_u64(off: u64): u64;
@external("extism:host/env", "input_load_u8") declare function extism_input_load_u8(off: u64): u32;
@external("extism:host/env", "alloc") declare function extism_alloc(n: u64): u64;
@external("extism:host/env", "store_u64") declare function extism_store_u64(off: u64, v: u64): void;
@external("extism:host/env", "store_u8") declare function extism_store_u8(off: u64, v: u32): void;
@external("extism:host/env", "output_set") declare function extism_output_set(off: u64, n: u64): void;
// Config and logging.
@external("extism:host/env", "config_get") declare function extism_config_get(off: u64): u64;
@external("extism:host/env", "length") declare function extism_length(off: u64): u64;
@external("extism:host/env", "load_u8") declare function extism_load_u8(off: u64): u32;
@external("extism:host/env", "free") declare function extism_free(off: u64): void;
@external("extism:host/env", "log_debug") declare function extism_log_debug(off: u64): void;
@external("extism:host/env", "log_info") declare function extism_log_info(off: u64): void;
@external("extism:host/env", "log_warn") declare function extism_log_warn(off: u64): void;
@external("extism:host/env", "log_error") declare function extism_log_error(off: u64): void;

/** The frame format version this SDK implements. */
export const ABI_VERSION: i32 = 1;

const FLAG_VIEWS: u16 = 1;
const FLAG_HOST_OPS: u16 = 2;

/** Output kinds. */
export const OUTPUT_RAW: u8 = 0;
export const OUTPUT_OPS: u8 = 1;
export const OUTPUT_EDIT: u8 = 2;

/** View value types (sdk/ABI.md, "Views and value types"). */
export const VIEW_MISSING: u8 = 0;
export const VIEW_STRING: u8 = 1;
export const VIEW_NUMBER: u8 = 2;
export const VIEW_TRUE: u8 = 3;
export const VIEW_FALSE: u8 = 4;
export const VIEW_NULL: u8 = 5;
export const VIEW_OBJECT: u8 = 6;
export const VIEW_ARRAY: u8 = 7;

/** Operation codes of an operation list. */
export const OP_SET_JSON: u8 = 1;
export const OP_SET_STRING: u8 = 2;
export const OP_COPY: u8 = 3;
export const OP_SET_ORIGINAL: u8 = 4;
export const OP_SET_DIGEST: u8 = 5;
export const OP_DELETE: u8 = 6;
export const OP_SET_INT: u8 = 7;
export const OP_COPY_STRING: u8 = 8;

/** set_digest algorithms. */
export const DIGEST_SHA256: u8 = 1;
export const DIGEST_MD5: u8 = 2;
export const DIGEST_SHA1: u8 = 3;

let inPtr: usize = 0;
let inCap: usize = 0;
let outPtr: usize = 0;
let outCap: usize = 0;
let outLen: usize = 0;

/** The value of one declared path in one record (bytes in the input frame). */
export class View {
  /** VIEW_MISSING ... VIEW_ARRAY. */
  type: u8 = 0;
  ptr: usize = 0;
  len: u32 = 0;
}

/** One input record. Its bytes live in the input frame: valid during the call. */
export class Record {
  /** Index of the record in this call's frame (a batch may come in several calls: see sdk/ABI.md). */
  index: i32 = 0;
  /** Pointer to and length of the record's payload. */
  data: usize = 0;
  dataLen: u32 = 0;
  /** Partition key, sequence number and source (pointer + length). */
  key: usize = 0;
  keyLen: u32 = 0;
  seq: usize = 0;
  seqLen: u32 = 0;
  subSequence: u64 = 0;
  /** Arrival time in Unix nanoseconds, 0 when unknown. */
  arrivalUnixNano: i64 = 0;
  source: usize = 0;
  sourceLen: u32 = 0;

  /** The views of the declared paths, in declarePaths order (reused
   * from record to record). A path the host did not send is missing. */
  views: View[] = [];

  /** The payload as a string (decoded as UTF-8: a copy). */
  dataString(): string {
    return String.UTF8.decodeUnsafe(this.data, this.dataLen);
  }

  /** The value type of declared path i (VIEW_MISSING ... VIEW_ARRAY). */
  @inline viewType(i: i32): u8 {
    return unchecked(this.views[i]).type;
  }

  /** Pointer to the value bytes of declared path i (strings unescaped). */
  @inline viewPtr(i: i32): usize {
    return unchecked(this.views[i]).ptr;
  }

  /** Length of the value bytes of declared path i. */
  @inline viewLen(i: i32): u32 {
    return unchecked(this.views[i]).len;
  }

  /** Length of declared path i's value if it is a string, else 0. */
  @inline viewStringLen(i: i32): u32 {
    const v = unchecked(this.views[i]);
    return v.type == VIEW_STRING ? v.len : 0;
  }

  /** Whether declared path i is a string equal to s. */
  viewEquals(i: i32, s: string): bool {
    const v = unchecked(this.views[i]);
    if (v.type != VIEW_STRING) return false;
    return bytesEqualString(v.ptr, v.len, s);
  }

  /** The value of declared path i decoded as a string (a copy). */
  viewString(i: i32): string {
    const v = unchecked(this.views[i]);
    return String.UTF8.decodeUnsafe(v.ptr, v.len);
  }
}

/** Whether the bytes at ptr..ptr+len are the UTF-8 encoding of s. */
export function bytesEqualString(ptr: usize, len: u32, s: string): bool {
  const n = s.length;
  let ascii = true;
  for (let k = 0; k < n; k++) {
    if (s.charCodeAt(k) >= 0x80) { ascii = false; break; }
  }
  if (ascii) {
    if (len != <u32>n) return false;
    for (let k = 0; k < n; k++) {
      if (load<u8>(ptr + <usize>k) != <u8>s.charCodeAt(k)) return false;
    }
    return true;
  }
  const b = String.UTF8.encode(s);
  if (<u32>b.byteLength != len) return false;
  return memory.compare(ptr, changetype<usize>(b), <usize>len) == 0;
}

// Output frame writers (the output buffer is reserved by the caller or here).
@inline function putU8(v: u8): void {
  reserve(1);
  store<u8>(outPtr + outLen, v);
  outLen += 1;
}

function putBytes(ptr: usize, len: u32): void {
  reserve(4 + <usize>len);
  store<u32>(outPtr + outLen, len);
  memory.copy(outPtr + outLen + 4, ptr, <usize>len);
  outLen += 4 + <usize>len;
}

function putString(s: string): void {
  const n = String.UTF8.byteLength(s);
  reserve(4 + <usize>n);
  store<u32>(outPtr + outLen, <u32>n);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, outPtr + outLen + 4);
  outLen += 4 + <usize>n;
}

@inline function putOp(code: u8, path: string): void {
  putU8(code);
  putString(path);
}

/**
 * A constant run of operations, encoded once (for instance at top level)
 * and appended to documents with doc.append(run). Methods chain.
 */
export class Ops {
  ptr: usize = 0;
  len: usize = 0;
  cap: usize = 0;

  private grow(n: usize): void {
    if (this.len + n <= this.cap) return;
    let cap = this.cap == 0 ? <usize>64 : this.cap * 2;
    while (cap < this.len + n) cap *= 2;
    this.ptr = this.ptr == 0 ? heap.alloc(cap) : heap.realloc(this.ptr, cap);
    this.cap = cap;
  }

  private u8(v: u8): void {
    this.grow(1);
    store<u8>(this.ptr + this.len, v);
    this.len += 1;
  }

  private bytes(ptr: usize, len: u32): void {
    this.grow(4 + <usize>len);
    store<u32>(this.ptr + this.len, len);
    memory.copy(this.ptr + this.len + 4, ptr, <usize>len);
    this.len += 4 + <usize>len;
  }

  private str(s: string): void {
    const b = String.UTF8.encode(s);
    this.bytes(changetype<usize>(b), <u32>b.byteLength);
  }

  private op(code: u8, path: string): void {
    this.u8(code);
    this.str(path);
  }

  /** copy_string: path = the input's value at src if a non-empty string. */
  copyString(path: string, src: string): Ops { this.op(OP_COPY_STRING, path); this.str(src); return this; }
  /** copy: path = the input's value at src, any type; missing sets nothing. */
  copy(path: string, src: string): Ops { this.op(OP_COPY, path); this.str(src); return this; }
  /** set_string: path = s. */
  setStringLit(path: string, s: string): Ops { this.op(OP_SET_STRING, path); this.str(s); return this; }
  /** set_string: path = the UTF-8 bytes at ptr..ptr+len. */
  setString(path: string, ptr: usize, len: u32): Ops { this.op(OP_SET_STRING, path); this.bytes(ptr, len); return this; }
  /** set_digest: path = hex digest of the record (DIGEST_SHA256, ...). */
  setDigest(path: string, algo: u8): Ops { this.op(OP_SET_DIGEST, path); this.u8(algo); return this; }
  /** set_original: path = the record's bytes as a string. */
  setOriginal(path: string): Ops { this.op(OP_SET_ORIGINAL, path); return this; }
  /** set_json: path = the JSON text s (must be valid JSON). */
  setJSONLit(path: string, s: string): Ops { this.op(OP_SET_JSON, path); this.str(s); return this; }
  /** set_int: path = n. */
  setInt(path: string, n: i64): Ops { this.op(OP_SET_INT, path); this.grow(8); store<i64>(this.ptr + this.len, n); this.len += 8; return this; }
  /** delete: removes path. */
  delete(path: string): Ops { this.op(OP_DELETE, path); return this; }
}

/**
 * A document being written into the output frame as an operation list:
 * get it from out.beginDoc() (output kind ops, a new object from {}) or
 * out.beginEdit() (output kind edit, the input record modified), finish it
 * with out.endDoc(). Operations apply in order; keys appear in the order
 * first set (for an edit, the input's keys keep their order); setting a key
 * again replaces its value in place.
 */
export class Doc {
  // Offset of the output's kind byte, and of its body length, in the
  // output frame.
  start: usize = 0;
  lenAt: usize = 0;
  kind: u8 = OUTPUT_OPS;
  open: bool = false;

  /** copy_string: path = the input's value at src if a non-empty string. */
  copyString(path: string, src: string): void { putOp(OP_COPY_STRING, path); putString(src); }
  /** copy: path = the input's value at src, any type; missing sets nothing. */
  copy(path: string, src: string): void { putOp(OP_COPY, path); putString(src); }
  /** set_string: path = the UTF-8 bytes at ptr..ptr+len (copied now). */
  setString(path: string, ptr: usize, len: u32): void { putOp(OP_SET_STRING, path); putBytes(ptr, len); }
  /** set_string: path = s. */
  setStringLit(path: string, s: string): void { putOp(OP_SET_STRING, path); putString(s); }
  /** set_json: path = the JSON value at ptr..ptr+len (must be valid JSON). */
  setJSON(path: string, ptr: usize, len: u32): void { putOp(OP_SET_JSON, path); putBytes(ptr, len); }
  /** set_json: path = the JSON text s (must be valid JSON: "true", "[1,2]", ...). */
  setJSONLit(path: string, s: string): void { putOp(OP_SET_JSON, path); putString(s); }
  /** set_json: path = true or false. */
  setBool(path: string, b: bool): void { this.setJSONLit(path, b ? "true" : "false"); }
  /** set_int: path = n. */
  setInt(path: string, n: i64): void { putOp(OP_SET_INT, path); reserve(8); store<i64>(outPtr + outLen, n); outLen += 8; }
  /** set_digest: path = hex digest of the record (DIGEST_SHA256, ...). */
  setDigest(path: string, algo: u8): void { putOp(OP_SET_DIGEST, path); putU8(algo); }
  /** set_digest: path = the lower-case hex SHA-256 of the record. */
  setSHA256(path: string): void { this.setDigest(path, DIGEST_SHA256); }
  /** set_original: path = the record's bytes as a string. */
  setOriginal(path: string): void { putOp(OP_SET_ORIGINAL, path); }
  /** delete: removes path. */
  delete(path: string): void { putOp(OP_DELETE, path); }
  /** Appends a constant run of operations. */
  append(run: Ops): void {
    this.appendRaw(run.ptr, <u32>run.len);
  }
  /** Appends encoded operations (sdk/ABI.md "Operation lists") as they are. */
  appendRaw(ptr: usize, len: u32): void {
    reserve(<usize>len);
    memory.copy(outPtr + outLen, ptr, <usize>len);
    outLen += <usize>len;
  }
}

const theDoc = new Doc();
// Whether the host applies op lists (the input frame's FlagHostOps).
let hostOps = true;
// The record being handled (edit and guest-side application read it).
let current: Record | null = null;

/** Collects the outcome of one record. */
export class Output {
  status: u8 = 0;
  // Offset of this record's output count in the output frame.
  countAt: usize = 0;
  count: u32 = 0;
  started: bool = false;

  /** Emits a raw output (default route). */
  emit(ptr: usize, len: u32): void {
    this.emitTo("", ptr, len);
  }

  /** Emits a raw output to a named route. */
  emitTo(route: string, ptr: usize, len: u32): void {
    if (this.status != 0) return;
    const r = String.UTF8.byteLength(route);
    reserve(1 + 4 + <usize>r + 4 + <usize>len);
    store<u8>(outPtr + outLen, OUTPUT_RAW);
    outLen += 1;
    putU32(<u32>r);
    String.UTF8.encodeUnsafe(changetype<usize>(route), route.length, outPtr + outLen);
    outLen += r;
    putU32(len);
    memory.copy(outPtr + outLen, ptr, len);
    outLen += len;
    this.count++;
  }

  /**
   * Starts a document (an operation list building a new JSON object from
   * {}) for a route ("" = the default output). Write its operations, then
   * call endDoc(). Needs a host that applies operation lists (FlagHostOps).
   */
  beginDoc(route: string = ""): Doc {
    return this.begin(OUTPUT_OPS, route);
  }

  /**
   * Starts an edit of the input record (which must be a JSON object): its
   * operations modify a copy of the record, keys keeping their order. Write
   * them, then call endDoc(). The result is one output on route.
   */
  beginEdit(route: string = ""): Doc {
    return this.begin(OUTPUT_EDIT, route);
  }

  private begin(kind: u8, route: string): Doc {
    if (theDoc.open) this.endDoc();
    theDoc.start = outLen;
    theDoc.kind = kind;
    putU8(kind);
    putString(route);
    reserve(4);
    theDoc.lenAt = outLen;
    outLen += 4;
    theDoc.open = true;
    return theDoc;
  }

  /**
   * Finishes the document started by beginDoc or beginEdit: it becomes one
   * output. On a host that does not apply op lists, the SDK applies it
   * here; a list that fails to apply fails the record.
   */
  endDoc(): void {
    if (!theDoc.open) return;
    theDoc.open = false;
    if (hostOps) {
      store<u32>(outPtr + theDoc.lenAt, <u32>(outLen - theDoc.lenAt - 4));
      this.count++;
      return;
    }
    const r = current!;
    const ops = theDoc.lenAt + 4;
    const ok = applyOps(theDoc.kind, outPtr + ops, outLen - ops, r.data, <usize>r.dataLen);
    outLen = theDoc.lenAt;
    if (!ok) {
      this.fail(applyError);
      return;
    }
    store<u8>(outPtr + theDoc.start, OUTPUT_RAW);
    putBytes(docPtr, <u32>docLen);
    this.count++;
  }

  /** Emits a string output (UTF-8). */
  emitString(s: string): void {
    const buf = String.UTF8.encode(s);
    this.emit(changetype<usize>(buf), <u32>buf.byteLength);
  }

  /** Drops the record on purpose. */
  drop(): void {
    this.status = 1;
  }

  /** Fails the record with a message. */
  fail(msg: string): void {
    this.status = 2;
    this.message = msg;
  }

  message: string = "";
}

let handler: (r: Record, out: Output) => void = defaultHandler;

function defaultHandler(r: Record, out: Output): void {
  out.fail("weir: no handler registered: call handle() at module top level");
}

/** Registers the per-record function. Call it once, at top level. */
export function handle(fn: (r: Record, out: Output) => void): void {
  handler = fn;
}

function reserve(n: usize): void {
  if (outLen + n <= outCap) return;
  let cap = outCap == 0 ? <usize>65536 : outCap * 2;
  while (cap < outLen + n) cap *= 2;
  outPtr = outPtr == 0 ? heap.alloc(cap) : heap.realloc(outPtr, cap);
  outCap = cap;
}

function putU32(v: u32): void {
  reserve(4);
  store<u32>(outPtr + outLen, v);
  outLen += 4;
}

function header(typ: u8, count: u32): void {
  outLen = 0;
  reserve(16);
  store<u32>(outPtr, 0x52494557); // "WEIR"
  store<u8>(outPtr + 4, typ);
  store<u8>(outPtr + 5, 1);
  store<u16>(outPtr + 6, 0);
  store<u32>(outPtr + 8, count);
  store<u32>(outPtr + 12, 0);
  outLen = 16;
}

function errorFrame(msg: string): i64 {
  header(3, 0);
  const n = String.UTF8.byteLength(msg);
  putU32(<u32>n);
  reserve(<usize>n);
  String.UTF8.encodeUnsafe(changetype<usize>(msg), msg.length, outPtr + outLen);
  outLen += n;
  return packed();
}

function packed(): i64 {
  return (<i64>outPtr << 32) | <i64>outLen;
}

/** weir_abi_version: the frame format version. */
export function weir_abi_version(): i32 {
  return ABI_VERSION;
}

/** weir_alloc: the input buffer, at least size bytes. */
export function weir_alloc(size: i32): i32 {
  if (size < 0) return 0;
  if (<usize>size > inCap) {
    const cap = max<usize>(<usize>size, 65536);
    inPtr = heap.alloc(cap);
    inCap = cap;
  }
  return <i32>inPtr;
}

let manifest: ArrayBuffer = String.UTF8.encode('{"abi":1,"sdk":"assemblyscript/0.3.0","paths":[]}');
// The declared paths, UTF-8.
let declared: ArrayBuffer[] = [];
// Per batch: declared index of each of the frame's paths (-1: not declared).
let mapPtr: usize = 0;
let mapCap: u32 = 0;

function jsonQuote(s: string): string {
  let q = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) q += '\\"';
    else if (c == 0x5c) q += "\\\\";
    else if (c == 0x0a) q += "\\n";
    else if (c == 0x0d) q += "\\r";
    else if (c == 0x09) q += "\\t";
    else if (c < 0x20) q += "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16);
    else q += String.fromCharCode(c);
  }
  return q + '"';
}

/**
 * Declares the paths whose values the module reads as views (sdk/ABI.md,
 * "Path syntax"): they go into the manifest, the host parses each record
 * natively and sends the values; read them with r.viewType(i) ... where i
 * is the path's index here. Call it once, at top level.
 */
export function declarePaths(paths: string[]): void {
  let m = '{"abi":1,"sdk":"assemblyscript/0.3.0","paths":[';
  declared = new Array<ArrayBuffer>(paths.length);
  for (let i = 0; i < paths.length; i++) {
    if (i > 0) m += ",";
    m += jsonQuote(paths[i]);
    declared[i] = String.UTF8.encode(paths[i]);
  }
  manifest = String.UTF8.encode(m + "]}");
}

function declaredIndex(ptr: usize, len: u32): i32 {
  for (let k = 0; k < declared.length; k++) {
    const d = unchecked(declared[k]);
    if (<u32>d.byteLength == len && memory.compare(changetype<usize>(d), ptr, <usize>len) == 0) return k;
  }
  return -1;
}

/** weir_manifest: (ptr << 32) | len of the module's JSON manifest. */
export function weir_manifest(): i64 {
  return (<i64>changetype<usize>(manifest) << 32) | <i64>manifest.byteLength;
}

// Views resolved in the guest (frames without FlagViews).
const gTypes: u8[] = [];
const gOffs: u32[] = [];
const gLens: u32[] = [];

// One record and one outcome collector, reused from record to record and
// from batch to batch (the stub runtime never frees).
const theRecord = new Record();
const theOutput = new Output();

/** weir_transform: runs the handler over the input frame at ptr..ptr+len. */
export function weir_transform(ptr: i32, len: i32): i64 {
  const base = <usize>ptr;
  const end = base + <usize>len;
  if (len < 16 || base != inPtr || <usize>len > inCap) return errorFrame("weir: the frame is not in the weir_alloc buffer");
  if (load<u32>(base) != 0x52494557 || load<u8>(base + 4) != 1 || load<u8>(base + 5) != 1) return errorFrame("weir: not a version 1 input frame");
  const flags = load<u16>(base + 6);
  const count = load<u32>(base + 8);
  const npaths = load<u32>(base + 12);
  let p = base + 16;
  if (!(flags & FLAG_VIEWS) && npaths != 0) return errorFrame("weir: declared paths without FlagViews");
  hostOps = (flags & FLAG_HOST_OPS) != 0;
  // The frame's paths, matched by name with the declared ones.
  if (npaths > mapCap) {
    if (<usize>npaths * 4 > <usize>len) return errorFrame("weir: truncated path");
    mapPtr = mapPtr == 0 ? heap.alloc(<usize>npaths * 4) : heap.realloc(mapPtr, <usize>npaths * 4);
    mapCap = npaths;
  }
  for (let i: u32 = 0; i < npaths; i++) {
    if (p + 4 > end) return errorFrame("weir: truncated path");
    const n = load<u32>(p);
    if (<usize>n > end - p - 4) return errorFrame("weir: truncated path");
    store<i32>(mapPtr + (<usize>i << 2), declaredIndex(p + 4, n));
    p += 4 + <usize>n;
  }
  header(2, count);
  const r = theRecord;
  const out = theOutput;
  const nd = declared.length;
  while (r.views.length < nd) r.views.push(new View());
  while (gTypes.length < nd) { gTypes.push(0); gOffs.push(0); gLens.push(0); }
  for (let i: u32 = 0; i < count; i++) {
    if (p + 4 + 4 > end) return errorFrame("weir: truncated record " + i.toString());
    p += 4; // record flags
    r.index = <i32>i;
    r.dataLen = load<u32>(p); r.data = p + 4; p += 4 + <usize>r.dataLen;
    if (p + 4 > end) return errorFrame("weir: truncated record " + i.toString());
    r.keyLen = load<u32>(p); r.key = p + 4; p += 4 + <usize>r.keyLen;
    if (p + 4 > end) return errorFrame("weir: truncated record " + i.toString());
    r.seqLen = load<u32>(p); r.seq = p + 4; p += 4 + <usize>r.seqLen;
    if (p + 20 > end) return errorFrame("weir: truncated record " + i.toString());
    r.subSequence = load<u64>(p); p += 8;
    r.arrivalUnixNano = load<i64>(p); p += 8;
    r.sourceLen = load<u32>(p); r.source = p + 4; p += 4 + <usize>r.sourceLen;
    for (let k = 0; k < nd; k++) {
      const v = unchecked(r.views[k]);
      v.type = VIEW_MISSING; v.ptr = 0; v.len = 0;
    }
    if (flags & FLAG_VIEWS) {
      for (let j: u32 = 0; j < npaths; j++) {
        if (p + 5 > end) return errorFrame("weir: truncated view");
        const t = load<u8>(p);
        const n = load<u32>(p + 1);
        if (<usize>n > end - p - 5) return errorFrame("weir: truncated view");
        if (t > VIEW_ARRAY) return errorFrame("weir: unknown view type " + t.toString());
        if (n != 0 && (t == VIEW_MISSING || (t >= VIEW_TRUE && t <= VIEW_NULL))) return errorFrame("weir: a view of type " + t.toString() + " carries " + n.toString() + " value bytes, want 0");
        const k = load<i32>(mapPtr + (<usize>j << 2));
        if (k >= 0) {
          const v = unchecked(r.views[k]);
          v.type = t; v.ptr = p + 5; v.len = n;
        }
        p += 5 + <usize>n;
      }
    }
    if (p > end) return errorFrame("weir: record " + i.toString() + " runs past the frame");
    if (!(flags & FLAG_VIEWS) && nd > 0) {
      // No views from the host: the SDK parses the record itself.
      resolveViews(r.data, <usize>r.dataLen, declared, gTypes, gOffs, gLens);
      const vb = viewBase();
      for (let k = 0; k < nd; k++) {
        const v = unchecked(r.views[k]);
        v.type = gTypes[k]; v.ptr = vb + <usize>gOffs[k]; v.len = gLens[k];
      }
    }
    // Outcome: status, then the outputs the handler emits.
    const mark = outLen;
    reserve(5);
    store<u8>(outPtr + outLen, 0);
    out.countAt = outLen + 1;
    outLen += 5;
    out.status = 0;
    out.count = 0;
    theDoc.open = false;
    current = r;
    handler(r, out);
    if (theDoc.open) out.endDoc(); // a document the handler did not finish
    if (out.status == 0) {
      store<u32>(outPtr + out.countAt, out.count);
    } else {
      outLen = mark;
      reserve(1);
      store<u8>(outPtr + outLen, out.status);
      outLen += 1;
      if (out.status == 2) {
        const n = String.UTF8.byteLength(out.message);
        putU32(<u32>n);
        reserve(<usize>n);
        String.UTF8.encodeUnsafe(changetype<usize>(out.message), out.message.length, outPtr + outLen);
        outLen += n;
      }
    }
  }
  if (p != end) return errorFrame("weir: " + (end - p).toString() + " trailing bytes after the last record");
  return packed();
}

/**
 * weir_batch: the plain Extism entry point (sdk/ABI.md "Exports"): the
 * Extism input is an input frame, the output an output or error frame. A
 * host that does not set FlagHostOps gets documents applied by the SDK.
 */
export function weir_batch(): i32 {
  const n = <usize>extism_input_length();
  const p = <usize>weir_alloc(<i32>n);
  if (p == 0 && n > 0) return 1;
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) store<u64>(p + i, extism_input_load_u64(<u64>i));
  for (; i < n; i++) store<u8>(p + i, <u8>extism_input_load_u8(<u64>i));
  const res = weir_transform(<i32>p, <i32>n);
  const optr = <usize>(<u64>res >>> 32);
  const olen = <usize>(<u64>res & 0xffffffff);
  const off = extism_alloc(<u64>olen);
  if (off == 0 && olen > 0) return 1;
  let k: usize = 0;
  for (; k + 8 <= olen; k += 8) extism_store_u64(off + <u64>k, load<u64>(optr + k));
  for (; k < olen; k++) extism_store_u8(off + <u64>k, <u32>load<u8>(optr + k));
  extism_output_set(off, <u64>olen);
  return 0;
}

// kernelString copies s (UTF-8) into a new Extism kernel memory block.
function kernelString(s: string): u64 {
  const b = String.UTF8.encode(s);
  const n = <u64>b.byteLength;
  const off = extism_alloc(n);
  const p = changetype<usize>(b);
  for (let i: u64 = 0; i < n; i++) extism_store_u8(off + i, <u32>load<u8>(p + <usize>i));
  return off;
}

/**
 * The stage's config value for key (the pipeline's `config:` map, Extism
 * config), or null when it is not set. A host call: read config at top
 * level or rarely, not per record.
 */
export function config(key: string): string | null {
  const k = kernelString(key);
  const v = extism_config_get(k);
  extism_free(k);
  if (v == 0) return null;
  const n = <usize>extism_length(v);
  const buf = new ArrayBuffer(<i32>n);
  const p = changetype<usize>(buf);
  for (let i: usize = 0; i < n; i++) store<u8>(p + i, <u8>extism_load_u8(v + <u64>i));
  extism_free(v);
  return String.UTF8.decode(buf);
}

function log(level: i32, msg: string): void {
  const m = kernelString(msg);
  if (level == 0) extism_log_debug(m);
  else if (level == 1) extism_log_info(m);
  else if (level == 2) extism_log_warn(m);
  else extism_log_error(m);
  extism_free(m);
}

/** Logs through the host (weir's log, with the stage and module). */
export function logDebug(msg: string): void { log(0, msg); }
/** Logs through the host at info. */
export function logInfo(msg: string): void { log(1, msg); }
/** Logs through the host at warn. */
export function logWarn(msg: string): void { log(2, msg); }
/** Logs through the host at error. */
export function logError(msg: string): void { log(3, msg); }
