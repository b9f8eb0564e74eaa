// Package builtin runs Substation's transforms natively: a pipeline stage
// with `transforms:` instead of `module:` holds a list of transform
// objects written exactly as Substation v2.8.0 writes them,
//
//	{"type": "object_copy", "settings": {"object": {"source_key": "a", "target_key": "b"}}}
//
// with Substation's conditions inside meta_switch. Names, settings, key
// paths and semantics are Substation's; its own unit tests
// (shared/testdata/substation-cases) are the conformance test.
// The package knows nothing of Wasm; it imports engine only for Record,
// Result and Stage, and engine does not import it (host/swap builds
// built-in stages).
//
// # Model
//
// Compile turns a transforms list into a Plan once. Plan.Process parses
// each record at most once (lazily, when a step first reads it) into a
// mutable fastjson tree, applies every step to that tree, and serializes
// each output once. Batch memory (parsers, arena, scratch buffers) is
// pooled and reused, so a Message and every Value or byte slice obtained
// from it are valid only during the Process call.
//
// A Message holds the record's data and metadata (a JSON object, empty at
// first). Key paths are Substation's: gjson paths into the data, or into
// the metadata when prefixed "meta " ("meta route"); "@this" is the whole
// document. Plain dotted paths (a.b.0, a.-1 to append) are handled on the
// tree; paths using gjson syntax (modifiers "@...", queries "#(...)",
// "|", wildcards, escapes) fall back to gjson/sjson over the serialized
// document, which is correct but slow. Setters follow Substation's
// conversions: SetValue writes integral numbers as integers and a string
// holding a JSON object or array as that object or array; SetBytes
// writes non-UTF-8 bytes as base64; SetString always writes a string.
//
// A plain path is split into segments once per key and batch memory
// (keypath.go), and each segment remembers where its key was last found
// in its object, so that on same-shaped records a lookup is one
// comparison. fastjson offers no positional access nor a cheap type
// test, so keypath.go reads its Value and Object through mirrors of
// their layout (fjValue, fjObject): go.mod pins fastjson, and
// TestFastjsonLayout fails if an upgrade changes the layout. Key settings
// are interned when decoded (ObjectSettings), so the conditions of a
// switch reading the same key share one compiled entry, and that entry
// caches its last lookup under the document's generation (a number the
// batch gives a document on each parse and change): a key read again
// before anything changes it costs no lookup. Changed documents are
// serialized through the same mirror, plain keys copied as they are.
//
// # Adding a transform
//
// One file per family, owned by one person at a time: object.go,
// string.go, number.go, time.go, hash.go, format.go, network.go,
// array.go, aggregate.go, meta.go, utility.go; conditions in
// condition_<family>.go (condition_string.go, condition_number.go,
// condition_network.go, condition_format.go, condition_meta.go...).
// In the family's init function:
//
//	RegisterTransform("string_to_upper", newStringToUpper)
//
// The name must be in the catalog (catalog.go lists every Substation
// v2.8.0 type; an entry with a refusal reason cannot be registered). A
// factory decodes its settings strictly with Compiler.Decode into a
// struct embedding ID (the "id" setting) and using ObjectSettings for
// "object"; a mistyped setting becomes an error naming the transform's
// index and type ("transforms[2] (object_copy): settings:
// \"object.source_key\" must be a string, not a JSON number"), while an
// unknown one is accepted, as Substation accepts it, with a warning
// (Plan.Warnings: "transforms[2] (object_copy): settings: unknown setting
// \"object.sorce_key\" ignored ...") that the stage builder logs and
// "weir validate" prints. Factories check required settings at compile
// time. Transforms of Substation's usual shape (map the value at
// source_key to target_key, or the whole data when neither is set) are
// one call: PerValue(settings.Object, func(in, dst []byte) ([]byte,
// error)). Others work on one message in place: return
// PerMessage(func(ctx, m) (drop bool, err error) {...}); an error fails
// that record only (the stage's on_error applies) and is reported as
// "step 2 (object_copy): <err>". Transforms that fan in or out
// (aggregate_*) implement Transform directly: they get every message in
// flight, create new ones with Message.NewMessage (keeping the input
// record they are attributed to), and flush on the control message
// (Message.IsControl) the plan sends after the last record of a batch.
// State that spans the batch (an open aggregate) lives in the batch, not
// in the Transform (shared by concurrent batches, and called one message
// at a time inside meta_switch): batch.stateOf(t, ...), keyed by the
// transform's address (give the type a field: pointers to zero-size
// values may be equal). aggregate.go documents how aggregates are
// attributed to input records.
// Nested transform lists (meta_switch, meta_for_each, meta_err) are
// compiled with Compiler.Transforms and run with Steps.Run; conditions
// with Compiler.Condition / Compiler.Conditions.
//
// Conditions implement Condition (ConditionFunc for a function) and
// register with RegisterCondition. They return false for the control
// message.
//
// Until registered, a catalog type that is not refused fails to compile
// with "not implemented yet". When you make more conformance cases pass,
// raise conformanceFloor in conformance_test.go; run
//
//	go test ./engine/builtin -run Conformance -v
//
// to see the line "substation conformance: N/287 pass" and every failing
// case with its reason.
package builtin
