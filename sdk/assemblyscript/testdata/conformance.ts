// conformance: the AssemblyScript SDK's conformance module for the golden
// frames (sdk/conformance, whose package documentation describes what it
// does): each record's payload, metadata and views are echoed as raw
// outputs, or, for records from the source "weir-conformance", the
// commands in the partition key are carried out with the SDK's API.
// sdk/assemblyscript's Go test builds it with asc and runs the vectors.
import {
  Record, Output, Doc, handle, declarePaths, bytesEqualString,
  VIEW_STRING, VIEW_NUMBER, VIEW_OBJECT, VIEW_ARRAY,
  OP_SET_JSON, OP_SET_STRING, OP_COPY, OP_SET_ORIGINAL, OP_SET_DIGEST, OP_DELETE, OP_SET_INT, OP_COPY_STRING,
} from "../weir";
export { weir_abi_version, weir_alloc, weir_transform, weir_manifest, weir_batch } from "../weir";

function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  unreachable();
}

// Every path of the input vectors.
const paths: string[] = ["eventTime", "userIdentity.principalId", "s", "n", "t", "f", "z", "o", "a", "o.k.1", "dot\\.key", "missing"];
declarePaths(paths);

function emitStr(out: Output, route: string, s: string): void {
  const b = String.UTF8.encode(s);
  out.emitTo(route, changetype<usize>(b), <u32>b.byteLength);
}

function transform(r: Record, out: Output): void {
  if (bytesEqualString(r.source, r.sourceLen, "weir-conformance")) {
    run(r, out);
    return;
  }
  out.emitTo("data", r.data, r.dataLen);
  out.emitTo("partition_key", r.key, r.keyLen);
  out.emitTo("sequence_number", r.seq, r.seqLen);
  emitStr(out, "sub_sequence", r.subSequence.toString());
  emitStr(out, "arrival_unix_nano", r.arrivalUnixNano.toString());
  out.emitTo("source", r.source, r.sourceLen);
  for (let k = 0; k < paths.length; k++) {
    const t = r.viewType(k);
    let n: u32 = 0;
    if (t == VIEW_STRING || t == VIEW_NUMBER || t == VIEW_OBJECT || t == VIEW_ARRAY) n = r.viewLen(k);
    const p = heap.alloc(1 + <usize>n);
    store<u8>(p, t);
    memory.copy(p + 1, r.viewPtr(k), <usize>n);
    out.emitTo("view:" + paths[k], p, 1 + n);
  }
}

// The command reader: cp..cend is the rest of the partition key.
let cp: usize = 0;
let cend: usize = 0;
let bad = false;
let lastLen: u32 = 0;

function readU8(): u8 {
  if (cp + 1 > cend) { bad = true; return 0; }
  const v = load<u8>(cp);
  cp += 1;
  return v;
}

function readU64(): u64 {
  if (cp + 8 > cend) { bad = true; return 0; }
  const v = load<u64>(cp);
  cp += 8;
  return v;
}

// readBytes returns a pointer to a u32-length-prefixed byte string (its
// length in lastLen).
function readBytes(): usize {
  if (cp + 4 > cend) { bad = true; lastLen = 0; return 0; }
  const n = load<u32>(cp);
  if (<usize>n > cend - cp - 4) { bad = true; lastLen = 0; return 0; }
  const p = cp + 4;
  cp += 4 + <usize>n;
  lastLen = n;
  return p;
}

function readStr(): string {
  const p = readBytes();
  return String.UTF8.decodeUnsafe(p, lastLen);
}

const MALFORMED = "conformance: malformed command";

function run(r: Record, out: Output): void {
  cp = r.key;
  cend = r.key + <usize>r.keyLen;
  bad = false;
  let doc: Doc | null = null;
  while (cp < cend && !bad) {
    const code = readU8();
    const needsDoc = (code >= OP_SET_JSON && code <= OP_COPY_STRING) || code == 0x5a; // 'Z'
    if (needsDoc && doc == null) { out.fail(MALFORMED); return; }
    switch (code) {
      case 0x52: { // 'R': a raw output
        const route = readStr();
        const p = readBytes();
        out.emitTo(route, p, lastLen);
        break;
      }
      case 0x4f: { // 'O': begin a document
        doc = out.beginDoc(readStr());
        break;
      }
      case 0x45: { // 'E': begin an edit of the record
        doc = out.beginEdit(readStr());
        break;
      }
      case 0x58: { // 'X': raw op bytes
        if (doc == null) { out.fail(MALFORMED); return; }
        const p = readBytes();
        doc!.appendRaw(p, lastLen);
        break;
      }
      case 0x5a: { // 'Z': end it
        out.endDoc();
        doc = null;
        break;
      }
      case 0x44: { // 'D'
        out.drop();
        break;
      }
      case 0x46: { // 'F'
        out.fail(readStr());
        return;
      }
      case OP_SET_JSON: {
        const path = readStr();
        const p = readBytes();
        doc!.setJSON(path, p, lastLen);
        break;
      }
      case OP_SET_STRING: {
        const path = readStr();
        const p = readBytes();
        doc!.setString(path, p, lastLen);
        break;
      }
      case OP_COPY: {
        const path = readStr();
        doc!.copy(path, readStr());
        break;
      }
      case OP_SET_ORIGINAL: {
        doc!.setOriginal(readStr());
        break;
      }
      case OP_SET_DIGEST: {
        const path = readStr();
        doc!.setDigest(path, readU8());
        break;
      }
      case OP_DELETE: {
        doc!.delete(readStr());
        break;
      }
      case OP_SET_INT: {
        const path = readStr();
        doc!.setInt(path, <i64>readU64());
        break;
      }
      case OP_COPY_STRING: {
        const path = readStr();
        doc!.copyString(path, readStr());
        break;
      }
      default: {
        out.fail(MALFORMED);
        return;
      }
    }
  }
  if (bad || doc != null) out.fail(MALFORMED);
}

handle(transform);
