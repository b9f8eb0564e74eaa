// A record-mode Extism plugin built with the unmodified @extism/as-pdk:
// each call gets one record and returns it with ASCII letters upper-cased,
// followed by the value of the "suffix" config key (if any). A record that
// is exactly "fail" fails with an error; an empty record is dropped
// (empty output).
import { Config, Host, Memory } from '@extism/as-pdk';
import { error_set } from '@extism/as-pdk/lib/env';

function myAbort(
  message: string | null,
  fileName: string | null,
  lineNumber: u32,
  columnNumber: u32
): void { }

export function transform(): i32 {
  const input = Host.input();
  if (input.length == 4 && input[0] == 0x66 && input[1] == 0x61 && input[2] == 0x69 && input[3] == 0x6c) {
    error_set(Memory.allocateString("record says fail").offset);
    return 1;
  }
  if (input.length == 0) {
    return 0; // no output: the host counts the record as dropped
  }
  const suffix = Config.get("suffix");
  const extra = suffix == null ? new Uint8Array(0) : Uint8Array.wrap(String.UTF8.encode(suffix));
  const out = new Uint8Array(input.length + extra.length);
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    out[i] = (c >= 0x61 && c <= 0x7a) ? c - 0x20 : c;
  }
  for (let i = 0; i < extra.length; i++) {
    out[input.length + i] = extra[i];
  }
  Host.output(out);
  return 0;
}
