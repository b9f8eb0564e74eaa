// Package conformance runs the golden frames of weir's module ABI
// (sdk/testdata/frames, described in sdk/ABI.md "Golden vectors") through
// a module built with an SDK, in that SDK's tests:
//
//	func TestGoldenFrames(t *testing.T) {
//		conformance.Run(t, wasm, conformance.Options{Edit: true, ApplyOps: true, RawOps: true})
//	}
//
// The module is a conformance module written with the SDK (see
// sdk/go/weir/testdata/conformance and sdk/assemblyscript/testdata), which
// behaves in one of two ways per record:
//
// Echo (every record whose source is not "weir-conformance"): the record
// becomes, in this order, the raw outputs routed "data" (the payload),
// "partition_key", "sequence_number", "sub_sequence" and
// "arrival_unix_nano" (decimal), "source", and for every path the module
// declares (all the paths of the input vectors), "view:" + path with the
// body: the view's type byte, then its value bytes for the types string,
// number, object and array. Run feeds every input vector's file, byte for
// byte, and compares the echo with the vector's description (views only
// for the paths the frame carries).
//
// Commands (source "weir-conformance"): the partition key holds commands
// the module carries out with the SDK's API, one after the other:
//
//	'R' route body      emit a raw output
//	'O' route           begin a document (output kind ops)
//	'E' route           begin an edit of the record (output kind edit)
//	1..8 path operand   one operation of the open document, encoded as in
//	                    an op list (sdk/ABI.md "Operation lists")
//	'X' bytes           append the bytes to the open document's op list
//	'Z'                 end the open document: it becomes one output
//	'D'                 drop the record
//	'F' message         fail the record with the message
//
// where route, body, message and bytes are a u32 length (little-endian)
// then that many bytes. Run encodes every output vector's outcomes as
// commands in a frame with FlagHostOps (one record per outcome) and
// compares the module's output frame with the vector's file, byte for
// byte; then, without FlagHostOps, one record per op list with the
// vector's input as payload, and compares the raw output with the
// hand-written applied document (or expects a failed record where the
// vector gives apply_error). Every corrupt frame meant for the input
// decoder must give an error frame, not a trap, and the module must keep
// working afterwards.
//
// Options says which optional features the SDK has; vectors that need a
// missing one are not run, and Run logs which.
package conformance
