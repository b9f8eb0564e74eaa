// passthrough-as: the passthrough module written in AssemblyScript on
// weir's AssemblyScript SDK: every record is emitted unchanged; a record
// whose payload is exactly "drop" is dropped and "fail" fails. Used to
// compare guest languages (bench/) and to prove the ABI is language-neutral.
import { Record, Output, handle } from "../../sdk/assemblyscript/weir";
export { weir_abi_version, weir_alloc, weir_transform, weir_manifest, weir_batch } from "../../sdk/assemblyscript/weir";

function myAbort(message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void {
  unreachable();
}

function isWord(r: Record, w: string): bool {
  if (r.dataLen != <u32>w.length) return false;
  for (let i = 0; i < w.length; i++) {
    if (load<u8>(r.data + <usize>i) != <u8>w.charCodeAt(i)) return false;
  }
  return true;
}

function transform(r: Record, out: Output): void {
  if (isWord(r, "drop")) {
    out.drop();
  } else if (isWord(r, "fail")) {
    out.fail("record " + r.index.toString() + " says fail");
  } else {
    out.emit(r.data, r.dataLen);
  }
}

handle(transform);
