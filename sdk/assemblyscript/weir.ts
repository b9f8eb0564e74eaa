// weir's AssemblyScript SDK: the fast path of weir's module ABI
// (sdk/ABI.md) in a few hundred lines, with no dependency.
//
// A module defines one function per record and registers it; the SDK
// decodes the batch frame, calls the function for every record and encodes
// the outcomes:
//
//   import { Record, Output, handle } from "../../sdk/assemblyscript/weir";
//   export { weir_abi_version, weir_alloc, weir_transform, weir_manifest } from "../../sdk/assemblyscript/weir";
//
//   function transform(r: Record, out: Output): void {
//     out.emit(r.data, r.dataLen);        // or out.drop(), out.fail("why")
//   }
//   handle(transform);
//
// Build: asc module.ts --outFile module.wasm --runtime stub -O3 --use abort=module/myAbort
// (the stub runtime never collects: the SDK reuses its two buffers).
//
// Memory: the input buffer weir_alloc returns stays the module's until the
// next weir_alloc (the host writes every frame that fits there); the output
// frame returned by weir_transform stays valid until the next call.

/** The frame format version this SDK implements. */
export const ABI_VERSION: i32 = 1;

const FLAG_VIEWS: u16 = 1;

/** Output kinds. */
export const OUTPUT_RAW: u8 = 0;

let inPtr: usize = 0;
let inCap: usize = 0;
let outPtr: usize = 0;
let outCap: usize = 0;
let outLen: usize = 0;

/** One input record. Its bytes live in the input frame: valid during the call. */
export class Record {
  /** Index of the record in its batch. */
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

  /** The payload as a string (decoded as UTF-8: a copy). */
  dataString(): string {
    return String.UTF8.decodeUnsafe(this.data, this.dataLen);
  }
}

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

let manifest: ArrayBuffer = String.UTF8.encode('{"abi":1,"sdk":"assemblyscript/0.1.0","paths":[]}');

/** weir_manifest: (ptr << 32) | len of the module's JSON manifest. */
export function weir_manifest(): i64 {
  return (<i64>changetype<usize>(manifest) << 32) | <i64>manifest.byteLength;
}

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
  // Skip the declared paths: this SDK reads raw records.
  for (let i: u32 = 0; i < npaths; i++) {
    if (p + 4 > end) return errorFrame("weir: truncated path");
    p += 4 + <usize>load<u32>(p);
  }
  header(2, count);
  const r = new Record();
  const out = new Output();
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
    if (flags & FLAG_VIEWS) {
      for (let j: u32 = 0; j < npaths; j++) {
        if (p + 5 > end) return errorFrame("weir: truncated view");
        p += 5 + <usize>load<u32>(p + 1);
      }
    }
    if (p > end) return errorFrame("weir: record " + i.toString() + " runs past the frame");
    // Outcome: status, then the outputs the handler emits.
    const mark = outLen;
    reserve(5);
    store<u8>(outPtr + outLen, 0);
    out.countAt = outLen + 1;
    outLen += 5;
    out.status = 0;
    out.count = 0;
    handler(r, out);
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
  return packed();
}
