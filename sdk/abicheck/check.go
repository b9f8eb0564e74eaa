package abicheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/weirhq/weir/engine/frame"
)

// Options configures Check.
type Options struct {
	// Dir is the golden frames folder (sdk/testdata/frames).
	Dir string
	// Expect, when set, is a folder of expected output frames, one
	// <vector>.out.bin per input vector: the module's answers must equal
	// them byte for byte.
	Expect string
	// Update writes the module's answers into Expect instead of comparing.
	Update bool
}

// Result is one check: its name, and what went wrong (empty: passed).
type Result struct {
	Name      string
	Violation string
	// Note is said about a passed check (an error frame's message...).
	Note string
}

// Report is what Check found.
type Report struct {
	Manifest Manifest
	Results  []Result
	// Notes are remarks that are not violations (no weir_batch, stubbed
	// imports...).
	Notes []string
}

// Violations counts the failed checks.
func (r *Report) Violations() int {
	n := 0
	for _, c := range r.Results {
		if c.Violation != "" {
			n++
		}
	}
	return n
}

// Check runs the golden vectors of opts.Dir through the module (see the
// package documentation). An error means the check could not run (the
// vectors cannot be read); a module that cannot even be instantiated is a
// report with one violation.
func Check(ctx context.Context, wasm []byte, opts Options) (*Report, error) {
	vs, bins, err := Load(opts.Dir)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	m, err := Instantiate(ctx, wasm, false)
	if err != nil {
		rep.Results = append(rep.Results, Result{Name: "load", Violation: err.Error()})
		return rep, nil
	}
	defer m.Close(ctx)
	rep.Results = append(rep.Results, Result{Name: "exports", Note: "weir_abi_version = 1, weir_alloc, weir_transform, weir_manifest"})
	if !m.Batch {
		rep.Notes = append(rep.Notes, "no weir_batch export: the module runs on weir only, not on plain Extism hosts")
	}
	if len(m.Stubbed) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d imports besides WASI stubbed, returning zeros (the fast path must not need them): %s", len(m.Stubbed), strings.Join(m.Stubbed, ", ")))
	}
	defer func() {
		if len(m.Called) > 0 {
			rep.Notes = append(rep.Notes, "stubbed imports the module called on the fast path: "+strings.Join(m.Called, ", "))
		}
	}()
	man, err := m.Manifest(ctx)
	if err != nil {
		rep.Results = append(rep.Results, Result{Name: "manifest", Violation: err.Error()})
	} else {
		rep.Manifest = man
		rep.Results = append(rep.Results, Result{Name: "manifest", Note: fmt.Sprintf("sdk %q, %d paths", man.SDK, len(man.Paths))})
	}
	if opts.Update && opts.Expect != "" {
		if err := os.MkdirAll(opts.Expect, 0o755); err != nil {
			return nil, fmt.Errorf("abicheck: %w", err)
		}
	}
	for _, v := range vs {
		switch {
		case v.Kind == "input":
			rep.Results = append(rep.Results, checkInput(ctx, m, v, bins[v.File], opts))
		case v.Kind == "corrupt" && v.Decoder == "input":
			r := Result{Name: "reject/" + v.Name}
			out, err := m.Call(ctx, bins[v.File])
			if err != nil {
				r.Violation = "a corrupt frame must be answered with an error frame, not a failed call: " + err.Error()
				rep.Results = append(rep.Results, r)
				// A trapped instance cannot be trusted: start over.
				m.Close(ctx)
				if m, err = Instantiate(ctx, wasm, false); err != nil {
					return nil, fmt.Errorf("abicheck: re-instantiate: %w", err)
				}
				continue
			}
			_, err = frame.ReadOutput(out, 0)
			var be *frame.BatchError
			if errors.As(err, &be) {
				r.Note = "error frame: " + be.Message
			} else {
				r.Violation = fmt.Sprintf("a corrupt frame must be answered with an error frame; got %s", describeFrame(out, err))
			}
			rep.Results = append(rep.Results, r)
		}
	}
	// The module still works after the corrupt frames.
	for _, v := range vs {
		if v.Name == "input-two-records" {
			r := checkInput(ctx, m, v, bins[v.File], Options{})
			r.Name = "again/" + v.Name
			rep.Results = append(rep.Results, r)
		}
	}
	return rep, nil
}

// describeFrame names what a module answered with.
func describeFrame(out []byte, err error) string {
	switch {
	case err == nil:
		return "an output frame"
	case len(out) >= 5 && string(out[:4]) == frame.Magic && out[4] == 2:
		return "a malformed output frame (" + err.Error() + ")"
	default:
		return fmt.Sprintf("%d bytes that are no frame (%v)", len(out), err)
	}
}

// checkInput feeds one input vector and checks the answer.
func checkInput(ctx context.Context, m *Module, v Vector, bin []byte, opts Options) Result {
	r := Result{Name: "answer/" + v.Name}
	out, err := m.Call(ctx, bin)
	if err != nil {
		r.Violation = err.Error()
		return r
	}
	var flags uint16
	if v.Flags != nil {
		flags = *v.Flags
	}
	or, err := frame.ReadOutput(out, len(v.Records))
	var be *frame.BatchError
	switch {
	case errors.As(err, &be):
		r.Violation = "the module failed a valid batch with an error frame: " + be.Message
		return r
	case err != nil:
		r.Violation = "not a valid output frame for " + fmt.Sprint(len(v.Records)) + " records: " + err.Error()
		return r
	}
	var rec frame.OutRecord
	var a frame.Applier
	counts := map[byte]int{}
	for i := 0; or.More(); i++ {
		if err := or.Next(&rec); err != nil {
			r.Violation = fmt.Sprintf("outcome %d: %v", i, err)
			return r
		}
		counts[rec.Status]++
		for k, o := range rec.Outputs {
			if o.Kind == frame.OutputRaw {
				continue
			}
			if flags&frame.FlagHostOps == 0 {
				r.Violation = fmt.Sprintf("outcome %d output %d: kind %d (an op list) in answer to a frame without FlagHostOps: the module must apply its op lists itself there", i, k, o.Kind)
				return r
			}
			data := recordData(v, i)
			if _, err := a.Apply(nil, o.Kind, o.Body, data, nil); err != nil && errors.Is(err, frame.ErrFrame) {
				r.Violation = fmt.Sprintf("outcome %d output %d: a malformed op list: %v", i, k, err)
				return r
			}
		}
	}
	r.Note = fmt.Sprintf("%d records: %d ok, %d dropped, %d failed", len(v.Records), counts[frame.StatusOK], counts[frame.StatusDropped], counts[frame.StatusFailed])
	if opts.Expect == "" {
		return r
	}
	// Frames over 64 KiB are stored as their SHA-256 (<vector>.out.sha256).
	path, body := filepath.Join(opts.Expect, v.Name+".out.bin"), out
	if len(out) > 64<<10 {
		sum := sha256.Sum256(out)
		path, body = filepath.Join(opts.Expect, v.Name+".out.sha256"), []byte(hex.EncodeToString(sum[:])+"\n")
	}
	if opts.Update {
		if err := os.WriteFile(path, body, 0o644); err != nil {
			r.Violation = err.Error()
		}
		return r
	}
	want, err := os.ReadFile(path)
	if err != nil {
		r.Violation = "no expected frame: " + err.Error()
		return r
	}
	if !bytes.Equal(body, want) {
		r.Violation = fmt.Sprintf("the output frame differs from %s: %s", path, firstDiff(body, want))
	}
	return r
}

// recordData is record i's payload as the vector spells it (nil for the
// records too big to spell out).
func recordData(v Vector, i int) []byte {
	if i < len(v.Records) && v.Records[i].Data != nil {
		return []byte(*v.Records[i].Data)
	}
	return nil
}

// firstDiff describes where two frames first differ.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("%d bytes, want %d; first difference at byte offset %d", len(got), len(want), i)
}
