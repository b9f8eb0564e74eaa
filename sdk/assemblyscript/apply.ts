// The AssemblyScript SDK's guest-side operation list applier, for hosts
// that do not apply op lists (no FlagHostOps: plain Extism hosts). It makes
// the same documents, byte for byte, as the host's frame.Applier
// (sdk/ABI.md "Operation lists", "String escaping").
//
// Everything lives in three arenas of raw memory reused from call to call
// (the stub runtime never collects): parsed and built JSON nodes, the
// bytes they refer to, and the serialized document. Nodes refer to each
// other by index, bytes by offset, so the arenas may move when they grow.

// JSON node types.
const J_NULL: u32 = 0;
const J_TRUE: u32 = 1;
const J_FALSE: u32 = 2;
const J_NUM: u32 = 3; // A, B: offset and length of the number's text
const J_STR: u32 = 4; // A, B: offset and length of the unescaped bytes
const J_ARR: u32 = 5; // A, B: first and last child (-1: none)
const J_OBJ: u32 = 6; // A, B: first and last member (-1: none)

// Node fields (u32 each).
const F_T: usize = 0;
const F_A: usize = 4;
const F_B: usize = 8;
const F_NEXT: usize = 12; // next sibling, -1: none
const F_KOFF: usize = 16; // member key: offset and length in the byte arena
const F_KLEN: usize = 20;
const F_OWNED: usize = 24; // containers: 1 when the member list may be modified
const NODE: usize = 32;

let nodes: usize = 0;
let nodesCap: u32 = 0;
let nnodes: u32 = 0;

let bytes: usize = 0;
let bytesCap: usize = 0;
let nbytes: usize = 0;

/** The document the last successful applyOps wrote (valid until the next call). */
export let docPtr: usize = 0;
export let docLen: usize = 0;
let docCap: usize = 0;

/** Why the last applyOps failed. */
export let applyError: string = "";

@inline function ng(i: i32, f: usize): i32 { return load<i32>(nodes + <usize>i * NODE + f); }
@inline function ns(i: i32, f: usize, v: i32): void { store<i32>(nodes + <usize>i * NODE + f, v); }

function newNode(t: u32, a: i32, b: i32): i32 {
  if (nnodes == nodesCap) {
    const cap: u32 = nodesCap == 0 ? 256 : nodesCap * 2;
    nodes = nodes == 0 ? heap.alloc(<usize>cap * NODE) : heap.realloc(nodes, <usize>cap * NODE);
    nodesCap = cap;
  }
  const i = <i32>nnodes;
  nnodes++;
  ns(i, F_T, <i32>t); ns(i, F_A, a); ns(i, F_B, b); ns(i, F_NEXT, -1);
  ns(i, F_KOFF, 0); ns(i, F_KLEN, 0); ns(i, F_OWNED, 1);
  return i;
}

function bgrow(n: usize): void {
  if (nbytes + n <= bytesCap) return;
  let cap = bytesCap == 0 ? <usize>4096 : bytesCap * 2;
  while (cap < nbytes + n) cap *= 2;
  bytes = bytes == 0 ? heap.alloc(cap) : heap.realloc(bytes, cap);
  bytesCap = cap;
}

// bput copies ptr..ptr+len into the byte arena and returns its offset.
function bput(ptr: usize, len: usize): u32 {
  bgrow(len);
  memory.copy(bytes + nbytes, ptr, len);
  const off = <u32>nbytes;
  nbytes += len;
  return off;
}

@inline function bputc(c: u8): void {
  bgrow(1);
  store<u8>(bytes + nbytes, c);
  nbytes++;
}

function ogrow(n: usize): void {
  if (docLen + n <= docCap) return;
  let cap = docCap == 0 ? <usize>4096 : docCap * 2;
  while (cap < docLen + n) cap *= 2;
  docPtr = docPtr == 0 ? heap.alloc(cap) : heap.realloc(docPtr, cap);
  docCap = cap;
}

@inline function oputc(c: u8): void {
  ogrow(1);
  store<u8>(docPtr + docLen, c);
  docLen++;
}

function oput(ptr: usize, len: usize): void {
  ogrow(len);
  memory.copy(docPtr + docLen, ptr, len);
  docLen += len;
}

function oputs(s: string): void {
  for (let i = 0; i < s.length; i++) oputc(<u8>s.charCodeAt(i));
}

// ---- Parser -----------------------------------------------------------

let pp: usize = 0;
let pend: usize = 0;
let pstart: usize = 0;
let depth: i32 = 0;
let perr: string = "";

function fail(what: string): i32 {
  if (perr == "") perr = what + " at offset " + (pp - pstart).toString();
  return -1;
}

@inline function ws(): void {
  while (pp < pend) {
    const c = load<u8>(pp);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    pp++;
  }
}

/** Parses the JSON document at ptr..ptr+len into nodes; -1 on error (perr). */
function parse(ptr: usize, len: usize): i32 {
  pp = ptr; pend = ptr + len; pstart = ptr; depth = 0; perr = "";
  ws();
  const v = value();
  if (v < 0) return -1;
  ws();
  if (pp != pend) return fail("unexpected byte after the value");
  return v;
}

function lit(s: string, t: u32): i32 {
  const n = <usize>s.length;
  if (pend - pp < n) return fail("invalid literal");
  for (let k: usize = 0; k < n; k++) {
    if (load<u8>(pp + k) != <u8>s.charCodeAt(<i32>k)) return fail("invalid literal");
  }
  pp += n;
  return newNode(t, 0, 0);
}

function append(parent: i32, child: i32): void {
  const last = ng(parent, F_B);
  if (last < 0) ns(parent, F_A, child);
  else ns(last, F_NEXT, child);
  ns(parent, F_B, child);
}

function value(): i32 {
  if (pp >= pend) return fail("unexpected end of JSON");
  const c = load<u8>(pp);
  if (c == 0x7b || c == 0x5b) { // { [
    if (++depth > 300) return fail("too deeply nested");
    pp++;
    const obj = c == 0x7b;
    const n = newNode(obj ? J_OBJ : J_ARR, -1, -1);
    const close: u8 = obj ? 0x7d : 0x5d;
    ws();
    if (pp < pend && load<u8>(pp) == close) { pp++; depth--; return n; }
    while (true) {
      ws();
      let koff: u32 = 0, klen: u32 = 0;
      if (obj) {
        if (pp >= pend || load<u8>(pp) != 0x22) return fail("expected an object key");
        koff = <u32>nbytes;
        if (!str()) return -1;
        klen = <u32>nbytes - koff;
        ws();
        if (pp >= pend || load<u8>(pp) != 0x3a) return fail("expected ':'");
        pp++;
        ws();
      }
      const v = value();
      if (v < 0) return -1;
      ns(v, F_KOFF, <i32>koff); ns(v, F_KLEN, <i32>klen);
      append(n, v);
      ws();
      if (pp >= pend) return fail(obj ? "expected ',' or '}'" : "expected ',' or ']'");
      const d = load<u8>(pp);
      if (d == 0x2c) { pp++; continue; }
      if (d == close) { pp++; depth--; return n; }
      return fail(obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
  if (c == 0x22) {
    const off = <u32>nbytes;
    if (!str()) return -1;
    return newNode(J_STR, <i32>off, <i32>(<u32>nbytes - off));
  }
  if (c == 0x74) return lit("true", J_TRUE);
  if (c == 0x66) return lit("false", J_FALSE);
  if (c == 0x6e) return lit("null", J_NULL);
  if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
    const start = pp;
    while (pp < pend) {
      const d = load<u8>(pp);
      if (!(d == 0x2d || d == 0x2b || d == 0x2e || d == 0x65 || d == 0x45 || (d >= 0x30 && d <= 0x39))) break;
      pp++;
    }
    if (!validNumber(start, pp - start)) { pp = start; return fail("invalid number"); }
    const off = bput(start, pp - start);
    return newNode(J_NUM, <i32>off, <i32>(pp - start));
  }
  return fail("unexpected byte");
}

function hex4(): i32 {
  if (pend - pp < 4) return fail("truncated \\u escape");
  let v: i32 = 0;
  for (let k: usize = 0; k < 4; k++) {
    const c = load<u8>(pp + k);
    let d: i32;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
    else return fail("invalid \\u escape");
    v = (v << 4) | d;
  }
  pp += 4;
  return v;
}

function putRune(r: i32): void {
  if (r < 0x80) bputc(<u8>r);
  else if (r < 0x800) { bputc(<u8>(0xc0 | (r >> 6))); bputc(<u8>(0x80 | (r & 0x3f))); }
  else if (r < 0x10000) {
    if (r >= 0xd800 && r < 0xe000) r = 0xfffd; // a lone surrogate
    bputc(<u8>(0xe0 | (r >> 12))); bputc(<u8>(0x80 | ((r >> 6) & 0x3f))); bputc(<u8>(0x80 | (r & 0x3f)));
  } else {
    bputc(<u8>(0xf0 | (r >> 18))); bputc(<u8>(0x80 | ((r >> 12) & 0x3f)));
    bputc(<u8>(0x80 | ((r >> 6) & 0x3f))); bputc(<u8>(0x80 | (r & 0x3f)));
  }
}

// str reads the quoted string at pp and appends it, unescaped, to the
// byte arena.
function str(): bool {
  pp++;
  while (true) {
    if (pp >= pend) { fail("unterminated string"); return false; }
    const c = load<u8>(pp);
    pp++;
    if (c == 0x22) return true;
    if (c < 0x20) { pp--; fail("control character in a string"); return false; }
    if (c != 0x5c) { bputc(c); continue; }
    if (pp >= pend) { fail("unterminated string"); return false; }
    const e = load<u8>(pp);
    pp++;
    if (e == 0x22 || e == 0x5c || e == 0x2f) bputc(e);
    else if (e == 0x62) bputc(8);
    else if (e == 0x66) bputc(12);
    else if (e == 0x6e) bputc(0x0a);
    else if (e == 0x72) bputc(0x0d);
    else if (e == 0x74) bputc(0x09);
    else if (e == 0x75) {
      let r = hex4();
      if (r < 0) return false;
      if (r >= 0xd800 && r < 0xdc00 && pend - pp >= 2 && load<u8>(pp) == 0x5c && load<u8>(pp + 1) == 0x75) {
        const save = pp;
        pp += 2;
        const lo = hex4();
        if (lo < 0) return false;
        if (lo >= 0xdc00 && lo < 0xe000) r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
        else pp = save;
      }
      putRune(r);
    } else { pp--; fail("invalid escape"); return false; }
  }
}

/** Whether ptr..ptr+len is a JSON number (RFC 8259, section 6). */
export function validNumber(ptr: usize, len: usize): bool {
  let i: usize = 0;
  if (i < len && load<u8>(ptr) == 0x2d) i++;
  if (i < len && load<u8>(ptr + i) == 0x30) i++;
  else {
    const s = i;
    while (i < len && load<u8>(ptr + i) >= 0x30 && load<u8>(ptr + i) <= 0x39) i++;
    if (i == s) return false;
  }
  if (i < len && load<u8>(ptr + i) == 0x2e) {
    i++;
    const s = i;
    while (i < len && load<u8>(ptr + i) >= 0x30 && load<u8>(ptr + i) <= 0x39) i++;
    if (i == s) return false;
  }
  if (i < len && (load<u8>(ptr + i) == 0x65 || load<u8>(ptr + i) == 0x45)) {
    i++;
    if (i < len && (load<u8>(ptr + i) == 0x2b || load<u8>(ptr + i) == 0x2d)) i++;
    const s = i;
    while (i < len && load<u8>(ptr + i) >= 0x30 && load<u8>(ptr + i) <= 0x39) i++;
    if (i == s) return false;
  }
  return i == len;
}

// ---- Writer -----------------------------------------------------------

const HEX = "0123456789abcdef";

// utf8Len returns the length of the valid UTF-8 sequence at p (n bytes
// left), or 0 (the same acceptance as Go's utf8.DecodeRune).
function utf8Len(p: usize, n: usize): usize {
  const c = load<u8>(p);
  let size: usize = 0, lo: u8 = 0x80, hi: u8 = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) size = 2;
  else if (c == 0xe0) { size = 3; lo = 0xa0; }
  else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) size = 3;
  else if (c == 0xed) { size = 3; hi = 0x9f; }
  else if (c == 0xf0) { size = 4; lo = 0x90; }
  else if (c >= 0xf1 && c <= 0xf3) size = 4;
  else if (c == 0xf4) { size = 4; hi = 0x8f; }
  else return 0;
  if (n < size) return 0;
  const c1 = load<u8>(p + 1);
  if (c1 < lo || c1 > hi) return 0;
  for (let k: usize = 2; k < size; k++) {
    const ck = load<u8>(p + k);
    if (ck < 0x80 || ck > 0xbf) return 0;
  }
  return size;
}

/** Appends ptr..ptr+len to the document as a quoted JSON string, escaped
 * as weir escapes (sdk/ABI.md "String escaping"). */
function writeString(ptr: usize, len: usize): void {
  oputc(0x22);
  let i: usize = 0, start: usize = 0;
  while (i < len) {
    const c = load<u8>(ptr + i);
    if (c >= 0x20 && c != 0x22 && c != 0x5c && c < 0x80) { i++; continue; }
    if (c >= 0x80) {
      const size = utf8Len(ptr + i, len - i);
      if (size == 0) {
        oput(ptr + start, i - start);
        oputs("\\ufffd");
        i++;
        start = i;
        continue;
      }
      if (size == 3 && c == 0xe2 && load<u8>(ptr + i + 1) == 0x80 && (load<u8>(ptr + i + 2) == 0xa8 || load<u8>(ptr + i + 2) == 0xa9)) {
        oput(ptr + start, i - start);
        oputs(load<u8>(ptr + i + 2) == 0xa8 ? "\\u2028" : "\\u2029");
        i += 3;
        start = i;
        continue;
      }
      i += size;
      continue;
    }
    oput(ptr + start, i - start);
    if (c == 0x22) oputs("\\\"");
    else if (c == 0x5c) oputs("\\\\");
    else if (c == 0x0a) oputs("\\n");
    else if (c == 0x0d) oputs("\\r");
    else if (c == 0x09) oputs("\\t");
    else { oputs("\\u00"); oputc(<u8>HEX.charCodeAt(c >> 4)); oputc(<u8>HEX.charCodeAt(c & 15)); }
    i++;
    start = i;
  }
  oput(ptr + start, len - start);
  oputc(0x22);
}

let badNumber: string = "";

function write(n: i32): void {
  const t = <u32>ng(n, F_T);
  if (t == J_NULL) oputs("null");
  else if (t == J_TRUE) oputs("true");
  else if (t == J_FALSE) oputs("false");
  else if (t == J_NUM) {
    const p = bytes + <usize>ng(n, F_A), l = <usize>ng(n, F_B);
    if (badNumber == "" && !validNumber(p, l)) badNumber = String.UTF8.decodeUnsafe(p, l);
    oput(p, l);
  } else if (t == J_STR) writeString(bytes + <usize>ng(n, F_A), <usize>ng(n, F_B));
  else {
    const obj = t == J_OBJ;
    oputc(obj ? 0x7b : 0x5b);
    let first = true;
    for (let c = ng(n, F_A); c >= 0; c = ng(c, F_NEXT)) {
      if (!first) oputc(0x2c);
      first = false;
      if (obj) {
        writeString(bytes + <usize>ng(c, F_KOFF), <usize>ng(c, F_KLEN));
        oputc(0x3a);
      }
      write(c);
    }
    oputc(obj ? 0x7d : 0x5d);
  }
}

// ---- Paths and the document -------------------------------------------

// A split path: segments as offsets and lengths in the byte arena.
class Segs {
  off: u32[] = [];
  len: u32[] = [];
}
const opSegs = new Segs();
const srcSegs = new Segs();

// splitPath splits a dotted path (sdk/ABI.md "Path syntax") into s.
function splitPath(ptr: usize, len: usize, s: Segs): void {
  s.off.length = 0;
  s.len.length = 0;
  let cur = <u32>nbytes;
  for (let i: usize = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    if (c == 0x5c && i + 1 < len) {
      i++;
      bputc(load<u8>(ptr + i));
    } else if (c == 0x2e) {
      s.off.push(cur);
      s.len.push(<u32>nbytes - cur);
      cur = <u32>nbytes;
    } else bputc(c);
  }
  s.off.push(cur);
  s.len.push(<u32>nbytes - cur);
}

@inline function keyIs(n: i32, off: u32, len: u32): bool {
  return <u32>ng(n, F_KLEN) == len && memory.compare(bytes + <usize>ng(n, F_KOFF), bytes + <usize>off, <usize>len) == 0;
}

// find returns the first member of object n with the key, or -1.
function find(n: i32, off: u32, len: u32): i32 {
  for (let c = ng(n, F_A); c >= 0; c = ng(c, F_NEXT)) {
    if (keyIs(c, off, len)) return c;
  }
  return -1;
}

// get returns the value at a split path of the parsed input, or -1.
function get(root: i32, s: Segs): i32 {
  let v = root;
  for (let k = 0; k < s.off.length; k++) {
    const off = unchecked(s.off[k]), len = unchecked(s.len[k]);
    const t = <u32>ng(v, F_T);
    if (t == J_OBJ) {
      v = find(v, off, len);
    } else if (t == J_ARR) {
      let idx: i64 = 0;
      let i: u32 = 0;
      if (len > 0 && load<u8>(bytes + <usize>off) == 0x2b) i = 1;
      if (i == len) return -1;
      for (; i < len; i++) {
        const c = load<u8>(bytes + <usize>(off + i));
        if (c < 0x30 || c > 0x39) return -1;
        idx = idx * 10 + <i64>(c - 0x30);
        if (idx > 0x7fffffff) return -1;
      }
      v = ng(v, F_A);
      for (let j: i64 = 0; j < idx && v >= 0; j++) v = ng(v, F_NEXT);
    } else return -1;
    if (v < 0) return -1;
  }
  return v;
}

// own makes container n's member list its own (a shallow copy of shared
// members, such as the input's), so that writes below it leave the input
// as it was.
function own(n: i32): void {
  if (ng(n, F_OWNED) != 0) return;
  let c = ng(n, F_A);
  ns(n, F_A, -1);
  ns(n, F_B, -1);
  ns(n, F_OWNED, 1);
  for (; c >= 0; c = ng(c, F_NEXT)) {
    const m = newNode(<u32>ng(c, F_T), ng(c, F_A), ng(c, F_B));
    ns(m, F_KOFF, ng(c, F_KOFF)); ns(m, F_KLEN, ng(c, F_KLEN)); ns(m, F_OWNED, 0);
    append(n, m);
  }
}

// child returns the object at key off/len of object n, made n's own,
// creating it (or replacing a non-object) when create; -1 when absent.
function child(n: i32, off: u32, len: u32, create: bool): i32 {
  let c = find(n, off, len);
  if (c >= 0 && <u32>ng(c, F_T) == J_OBJ) {
    own(c);
    return c;
  }
  if (!create) return -1;
  if (c < 0) {
    c = newNode(J_OBJ, -1, -1);
    ns(c, F_KOFF, <i32>off); ns(c, F_KLEN, <i32>len);
    append(n, c);
  } else {
    ns(c, F_T, <i32>J_OBJ); ns(c, F_A, -1); ns(c, F_B, -1); ns(c, F_OWNED, 1);
  }
  return c;
}

// set sets the value at opSegs below root to (a copy of) node v.
function set(root: i32, v: i32): void {
  let parent = root;
  const last = opSegs.off.length - 1;
  for (let k = 0; k < last; k++) parent = child(parent, unchecked(opSegs.off[k]), unchecked(opSegs.len[k]), true);
  const off = unchecked(opSegs.off[last]), len = unchecked(opSegs.len[last]);
  let m = find(parent, off, len);
  if (m < 0) {
    m = newNode(J_NULL, 0, 0);
    ns(m, F_KOFF, <i32>off); ns(m, F_KLEN, <i32>len);
    append(parent, m);
  }
  ns(m, F_T, ng(v, F_T)); ns(m, F_A, ng(v, F_A)); ns(m, F_B, ng(v, F_B));
  // A container taken from elsewhere is shared until written below.
  ns(m, F_OWNED, <u32>ng(v, F_T) >= J_ARR ? 0 : 1);
}

function del(root: i32): void {
  let parent = root;
  const last = opSegs.off.length - 1;
  for (let k = 0; k < last; k++) {
    parent = child(parent, unchecked(opSegs.off[k]), unchecked(opSegs.len[k]), false);
    if (parent < 0) return;
  }
  const off = unchecked(opSegs.off[last]), len = unchecked(opSegs.len[last]);
  let prev = -1;
  for (let c = ng(parent, F_A); c >= 0; c = ng(c, F_NEXT)) {
    if (keyIs(c, off, len)) {
      const next = ng(c, F_NEXT);
      if (prev < 0) ns(parent, F_A, next);
      else ns(prev, F_NEXT, next);
      if (ng(parent, F_B) == c) ns(parent, F_B, prev);
      return;
    }
    prev = c;
  }
}

function typeName(n: i32): string {
  const t = <u32>ng(n, F_T);
  if (t == J_NULL) return "null";
  if (t == J_TRUE || t == J_FALSE) return "bool";
  if (t == J_NUM) return "number";
  if (t == J_STR) return "string";
  if (t == J_ARR) return "array";
  return "object";
}

// ---- Digests ----------------------------------------------------------

let pad: usize = 0;
let padCap: usize = 0;

// padded copies data into the scratch buffer with MD-style padding and
// returns its length (a multiple of 64).
function padded(ptr: usize, len: usize, bigEndian: bool): usize {
  const n = ((len + 8) / 64 + 1) * 64;
  if (n > padCap) {
    padCap = max<usize>(n, 4096);
    pad = pad == 0 ? heap.alloc(padCap) : heap.realloc(pad, padCap);
  }
  memory.copy(pad, ptr, len);
  memory.fill(pad + len, 0, n - len);
  store<u8>(pad + len, 0x80);
  const bits = <u64>len * 8;
  store<u64>(pad + n - 8, bigEndian ? bswap<u64>(bits) : bits);
  return n;
}

const K256: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
const W = new StaticArray<u32>(80);
const H = new StaticArray<u32>(8);

function sha256(ptr: usize, len: usize): void {
  const n = padded(ptr, len, true);
  H[0] = 0x6a09e667; H[1] = 0xbb67ae85; H[2] = 0x3c6ef372; H[3] = 0xa54ff53a;
  H[4] = 0x510e527f; H[5] = 0x9b05688c; H[6] = 0x1f83d9ab; H[7] = 0x5be0cd19;
  for (let c: usize = 0; c < n; c += 64) {
    for (let i = 0; i < 16; i++) W[i] = bswap<u32>(load<u32>(pad + c + (<usize>i << 2)));
    for (let i = 16; i < 64; i++) {
      const w15 = W[i - 15], w2 = W[i - 2];
      const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
      W[i] = W[i - 16] + s0 + W[i - 7] + s1;
    }
    let a = H[0], b = H[1], cc = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (let i = 0; i < 64; i++) {
      const s1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = h + s1 + ch + K256[i] + W[i];
      const s0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      const maj = (a & b) ^ (a & cc) ^ (b & cc);
      const t2 = s0 + maj;
      h = g; g = f; f = e; e = d + t1; d = cc; cc = b; b = a; a = t1 + t2;
    }
    H[0] += a; H[1] += b; H[2] += cc; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
  }
  for (let i = 0; i < 8; i++) hexWord(bswap<u32>(H[i]));
}

function sha1(ptr: usize, len: usize): void {
  const n = padded(ptr, len, true);
  H[0] = 0x67452301; H[1] = 0xefcdab89; H[2] = 0x98badcfe; H[3] = 0x10325476; H[4] = 0xc3d2e1f0;
  for (let c: usize = 0; c < n; c += 64) {
    for (let i = 0; i < 16; i++) W[i] = bswap<u32>(load<u32>(pad + c + (<usize>i << 2)));
    for (let i = 16; i < 80; i++) W[i] = rotl<u32>(W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16], 1);
    let a = H[0], b = H[1], cc = H[2], d = H[3], e = H[4];
    for (let i = 0; i < 80; i++) {
      let f: u32, k: u32;
      if (i < 20) { f = (b & cc) | (~b & d); k = 0x5a827999; }
      else if (i < 40) { f = b ^ cc ^ d; k = 0x6ed9eba1; }
      else if (i < 60) { f = (b & cc) | (b & d) | (cc & d); k = 0x8f1bbcdc; }
      else { f = b ^ cc ^ d; k = 0xca62c1d6; }
      const t = rotl<u32>(a, 5) + f + e + k + W[i];
      e = d; d = cc; cc = rotl<u32>(b, 30); b = a; a = t;
    }
    H[0] += a; H[1] += b; H[2] += cc; H[3] += d; H[4] += e;
  }
  for (let i = 0; i < 5; i++) hexWord(bswap<u32>(H[i]));
}

const S5: StaticArray<u32> = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];
const K5: StaticArray<u32> = [
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

function md5(ptr: usize, len: usize): void {
  const n = padded(ptr, len, false);
  H[0] = 0x67452301; H[1] = 0xefcdab89; H[2] = 0x98badcfe; H[3] = 0x10325476;
  for (let c: usize = 0; c < n; c += 64) {
    let a = H[0], b = H[1], cc = H[2], d = H[3];
    for (let i = 0; i < 64; i++) {
      let f: u32, g: i32;
      if (i < 16) { f = (b & cc) | (~b & d); g = i; }
      else if (i < 32) { f = (d & b) | (~d & cc); g = (5 * i + 1) % 16; }
      else if (i < 48) { f = b ^ cc ^ d; g = (3 * i + 5) % 16; }
      else { f = cc ^ (b | ~d); g = (7 * i) % 16; }
      const f2 = f + a + K5[i] + load<u32>(pad + c + (<usize>g << 2));
      a = d; d = cc; cc = b; b = b + rotl<u32>(f2, S5[i]);
    }
    H[0] += a; H[1] += b; H[2] += cc; H[3] += d;
  }
  for (let i = 0; i < 4; i++) hexWord(H[i]);
}

// hexWord appends the 4 bytes of w (little-endian order) in hex to the
// byte arena.
function hexWord(w: u32): void {
  for (let k = 0; k < 4; k++) {
    const b = (w >>> (k * 8)) & 0xff;
    bputc(<u8>HEX.charCodeAt(b >> 4));
    bputc(<u8>HEX.charCodeAt(b & 15));
  }
}

// ---- Apply ------------------------------------------------------------

let rp: usize = 0;
let rend: usize = 0;
let rstart: usize = 0;
let rbad = false;
let rlen: u32 = 0;

function rU8(): u8 {
  if (rp + 1 > rend) { rbad = true; return 0; }
  return load<u8>(rp++);
}

function rBytes(): usize {
  if (rend - rp < 4) { rbad = true; rlen = 0; return 0; }
  const n = load<u32>(rp);
  if (<usize>n > rend - rp - 4) { rbad = true; rlen = 0; return 0; }
  const p = rp + 4;
  rp += 4 + <usize>n;
  rlen = n;
  return p;
}

/**
 * Applies an op list (ops..ops+opsLen) of output kind 1 (ops: from {}) or
 * 2 (edit: to the input record input..input+inLen) and leaves the document
 * at docPtr/docLen. Returns false with applyError set when the list fails.
 */
export function applyOps(kind: u8, ops: usize, opsLen: usize, input: usize, inLen: usize): bool {
  nnodes = 0;
  nbytes = 0;
  docLen = 0;
  badNumber = "";
  applyError = "";
  let parsed: i32 = -1;
  let parseErr = "";
  let root: i32;
  if (kind == 2) {
    parsed = parse(input, inLen);
    if (parsed < 0) { applyError = "edit: the input record is not JSON: " + perr; return false; }
    if (<u32>ng(parsed, F_T) != J_OBJ) { applyError = "edit: the input record is a JSON " + typeName(parsed) + ", not an object"; return false; }
    root = newNode(J_OBJ, ng(parsed, F_A), ng(parsed, F_B));
    ns(root, F_OWNED, 0);
    own(root);
  } else if (kind == 1) {
    root = newNode(J_OBJ, -1, -1);
  } else {
    applyError = "unknown output kind " + kind.toString();
    return false;
  }
  rp = ops; rend = ops + opsLen; rstart = ops; rbad = false;
  while (rp < rend) {
    const at = rp - rstart;
    const code = rU8();
    const path = rBytes();
    const pathLen = rlen;
    if (rbad) { applyError = "at byte offset " + at.toString() + ": truncated op"; return false; }
    let v: i32 = -1;
    if (code == 1) { // set_json
      const p = rBytes();
      if (rbad) { applyError = "at byte offset " + at.toString() + ": truncated JSON value"; return false; }
      v = parse(p, rlen);
      if (v < 0) { applyError = "op at byte " + at.toString() + ": set " + String.UTF8.decodeUnsafe(path, pathLen) + ": invalid JSON value: " + perr; return false; }
    } else if (code == 2) { // set_string
      const p = rBytes();
      if (rbad) { applyError = "at byte offset " + at.toString() + ": truncated string value"; return false; }
      const n = rlen;
      v = newNode(J_STR, <i32>bput(p, n), <i32>n);
    } else if (code == 7) { // set_int
      if (rend - rp < 8) { applyError = "at byte offset " + at.toString() + ": truncated integer value"; return false; }
      const s = load<i64>(rp).toString();
      rp += 8;
      const off = <u32>nbytes;
      for (let k = 0; k < s.length; k++) bputc(<u8>s.charCodeAt(k));
      v = newNode(J_NUM, <i32>off, s.length);
    } else if (code == 3 || code == 8) { // copy, copy_string
      const src = rBytes();
      const srcLen = rlen;
      if (rbad) { applyError = "at byte offset " + at.toString() + ": truncated copy source"; return false; }
      if (parsed < 0) {
        if (parseErr == "") {
          parsed = parse(input, inLen);
          if (parsed < 0) parseErr = perr;
        }
        if (parsed < 0) { applyError = "copy " + String.UTF8.decodeUnsafe(src, srcLen) + ": the input record is not JSON: " + parseErr; return false; }
      }
      splitPath(src, srcLen, srcSegs);
      v = get(parsed, srcSegs);
      if (v < 0) continue;
      if (code == 8 && (<u32>ng(v, F_T) != J_STR || ng(v, F_B) == 0)) continue;
    } else if (code == 4) { // set_original
      v = newNode(J_STR, <i32>bput(input, inLen), <i32>inLen);
    } else if (code == 5) { // set_digest
      const algo = rU8();
      if (rbad) { applyError = "at byte offset " + at.toString() + ": truncated digest algorithm"; return false; }
      const off = <u32>nbytes;
      if (algo == 1) sha256(input, inLen);
      else if (algo == 2) md5(input, inLen);
      else if (algo == 3) sha1(input, inLen);
      else { applyError = "op at byte " + at.toString() + ": unknown digest algorithm " + algo.toString(); return false; }
      v = newNode(J_STR, <i32>off, <i32>(<u32>nbytes - off));
    } else if (code == 6) { // delete
      splitPath(path, pathLen, opSegs);
      del(root);
      continue;
    } else {
      applyError = "at byte offset " + at.toString() + ": unknown op " + code.toString();
      return false;
    }
    splitPath(path, pathLen, opSegs);
    set(root, v);
  }
  write(root);
  if (badNumber != "") {
    applyError = "the document would hold \"" + badNumber + "\", which is not a JSON number";
    return false;
  }
  return true;
}

// ---- Views in the guest -------------------------------------------------

let vbuf: usize = 0;
let vcap: usize = 0;
let vlen: usize = 0;

function vput(ptr: usize, len: usize): void {
  if (vlen + len > vcap) {
    let cap = vcap == 0 ? <usize>4096 : vcap * 2;
    while (cap < vlen + len) cap *= 2;
    vbuf = vbuf == 0 ? heap.alloc(cap) : heap.realloc(vbuf, cap);
    vcap = cap;
  }
  memory.copy(vbuf + vlen, ptr, len);
  vlen += len;
}

// The view types of the nodes (sdk/ABI.md "Views and value types").
function viewType(n: i32): u8 {
  const t = <u32>ng(n, F_T);
  if (t == J_STR) return 1;
  if (t == J_NUM) return 2;
  if (t == J_TRUE) return 3;
  if (t == J_FALSE) return 4;
  if (t == J_NULL) return 5;
  if (t == J_OBJ) return 6;
  return 7;
}

/**
 * Resolves the declared paths in the record at data..data+len in the guest,
 * for frames that carry no views (hosts without FlagViews): for each path,
 * types[k] is its view type (0 missing) and offs[k], lens[k] its value
 * bytes, relative to viewBase() (valid until the next call). A record that
 * is not JSON gives missing views.
 */
export function resolveViews(data: usize, len: usize, paths: ArrayBuffer[], types: u8[], offs: u32[], lens: u32[]): void {
  nnodes = 0;
  nbytes = 0;
  vlen = 0;
  const root = parse(data, len);
  for (let k = 0; k < paths.length; k++) {
    types[k] = 0; offs[k] = 0; lens[k] = 0;
    if (root < 0) continue;
    const p = unchecked(paths[k]);
    splitPath(changetype<usize>(p), <usize>p.byteLength, srcSegs);
    const v = get(root, srcSegs);
    if (v < 0) continue;
    const t = viewType(v);
    types[k] = t;
    offs[k] = <u32>vlen;
    if (t == 1 || t == 2) {
      vput(bytes + <usize>ng(v, F_A), <usize>ng(v, F_B));
    } else if (t >= 6) {
      docLen = 0;
      badNumber = "";
      write(v);
      vput(docPtr, docLen);
    }
    lens[k] = <u32>vlen - offs[k];
  }
}

/** The base of the values resolveViews wrote. */
export function viewBase(): usize {
  return vbuf;
}
