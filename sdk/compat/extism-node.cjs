// extism-node.cjs runs one export of a Wasm module under the official
// Extism JS host (@extism/extism) in Node, for weir's cross-host tests.
//
// Usage: node extism-node.cjs <module.wasm> <function> <input-file> <output-file> [config-json]
// Exit status 0: the output was written; 2: the call failed (message on stderr).
const fs = require('fs');
const path = require('path');
const createPlugin = require(path.join(__dirname, '../../tools/node/node_modules/@extism/extism'));

async function main() {
  const [wasmPath, fn, inputPath, outputPath, configJSON] = process.argv.slice(2);
  if (!outputPath) {
    console.error('usage: extism-node.cjs <module.wasm> <function> <input-file> <output-file> [config-json]');
    process.exit(64);
  }
  const plugin = await createPlugin(
    { wasm: [{ data: fs.readFileSync(wasmPath) }], config: configJSON ? JSON.parse(configJSON) : {} },
    { useWasi: true, runInWorker: false },
  );
  try {
    const out = await plugin.call(fn, new Uint8Array(fs.readFileSync(inputPath)));
    fs.writeFileSync(outputPath, out === null ? new Uint8Array(0) : out.bytes());
  } finally {
    await plugin.close();
  }
}

main().catch((err) => {
  console.error(`extism-node: ${err && err.stack ? err.stack : err}`);
  process.exit(2);
});
