// config: a module that reads the stage's config and logs through the
// host (sdk/assemblyscript's TestConfigAndLog): every record becomes the
// record followed by the config value "suffix" (read once, at the first
// batch), or "|none" when it is not set.
import { Record, Output, handle, config, logInfo } from "../weir";
export { weir_abi_version, weir_alloc, weir_transform, weir_manifest, weir_batch } from "../weir";

function myAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  unreachable();
}

let suffix: string | null = null;
let loaded = false;

function transform(r: Record, out: Output): void {
  if (!loaded) {
    loaded = true;
    suffix = config("suffix");
    logInfo("config-module: suffix " + (suffix == null ? "unset" : suffix!));
  }
  out.emitString(r.dataString() + (suffix == null ? "|none" : suffix!));
}

handle(transform);
