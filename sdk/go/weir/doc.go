// Package weir is the Go SDK for weir transform modules: WebAssembly
// modules (built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared) that turn
// batches of security-log records into documents.
//
// A module registers one function per record, in an init function:
//
//	func init() {
//		weir.Paths("eventTime", "userIdentity.principalId") // optional views
//		weir.Handle(func(r *weir.Record) error {
//			d := r.Doc()
//			d.Copy("@timestamp", "eventTime")
//			d.SetSHA256("event.hash")
//			return d.Emit()
//		})
//	}
//
//	func main() {}
//
// Importing the package is enough to export the whole weir ABI from the
// module (sdk/ABI.md): the fast path (weir_abi_version, weir_alloc,
// weir_transform, weir_manifest) that weir's host uses, and weir_batch, the
// plain Extism entry point, so the same module runs on official Extism
// hosts. One call moves a whole batch; the handler runs once per record.
//
// Values and documents: Record.Get reads a value from the host-parsed view
// when the path was declared with Paths (no JSON parsing in the guest), and
// otherwise parses the record in the guest, once. A Doc is a list of
// document operations (set, copy, digest, original, delete); on weir the
// host applies it natively, elsewhere the SDK applies it itself with the
// same code (engine/frame), so a module produces the same bytes on both.
//
// Outside Wasm (native tests), the package works the same way: Batch runs
// the registered handler over an input frame, Config reads the environment
// variable WEIR_CONFIG_<key>, and the Log functions write to standard error.
package weir
