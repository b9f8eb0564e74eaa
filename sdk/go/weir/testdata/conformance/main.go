// Command conformance is the Go SDK's conformance module for the golden
// frames (sdk/conformance): it echoes each record's payload, metadata and
// views as raw outputs, or, for records from the source
// "weir-conformance", carries out the commands in the partition key with
// the SDK's API. sdk/go/weir's tests build it and run the vectors through
// it.
package main

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/sdk/go/weir"
)

// paths are every path of the input vectors.
var paths = []string{"eventTime", "userIdentity.principalId", "s", "n", "t", "f", "z", "o", "a", "o.k.1", `dot\.key`, "missing"}

func init() {
	weir.Paths(paths...)
	weir.Handle(handle)
}

func main() {}

func handle(r *weir.Record) error {
	if r.Source() == "weir-conformance" {
		return run(r, []byte(r.PartitionKey()))
	}
	r.EmitTo("data", r.Data())
	r.EmitTo("partition_key", []byte(r.PartitionKey()))
	r.EmitTo("sequence_number", []byte(r.SequenceNumber()))
	r.EmitTo("sub_sequence", strconv.AppendUint(nil, r.SubSequence(), 10))
	var at int64
	if t := r.ArrivalTime(); !t.IsZero() {
		at = t.UnixNano()
	}
	r.EmitTo("arrival_unix_nano", strconv.AppendInt(nil, at, 10))
	r.EmitTo("source", []byte(r.Source()))
	for _, p := range paths {
		v := r.Get(p)
		b := []byte{byte(v.Type())}
		switch v.Type() {
		case weir.TypeString, weir.TypeNumber, weir.TypeObject, weir.TypeArray:
			b = append(b, v.Bytes()...)
		}
		r.EmitTo("view:"+p, b)
	}
	return nil
}

var errCommand = errors.New("conformance: malformed command")

// cmd reads commands: a u32 length and that many bytes, a byte, a u64.
type cmd struct {
	b   []byte
	err error
}

func (c *cmd) bytes() []byte {
	if len(c.b) < 4 || uint64(binary.LittleEndian.Uint32(c.b)) > uint64(len(c.b)-4) {
		c.err, c.b = errCommand, nil
		return nil
	}
	n := binary.LittleEndian.Uint32(c.b)
	v := c.b[4 : 4+n]
	c.b = c.b[4+n:]
	return v
}

func (c *cmd) str() string { return string(c.bytes()) }

func (c *cmd) u8() byte {
	if len(c.b) < 1 {
		c.err = errCommand
		return 0
	}
	v := c.b[0]
	c.b = c.b[1:]
	return v
}

func (c *cmd) u64() uint64 {
	if len(c.b) < 8 {
		c.err, c.b = errCommand, nil
		return 0
	}
	v := binary.LittleEndian.Uint64(c.b)
	c.b = c.b[8:]
	return v
}

// run carries out the commands of sdk/conformance's package documentation.
func run(r *weir.Record, b []byte) error {
	c := &cmd{b: b}
	var doc *weir.Doc
	var route string
	for len(c.b) > 0 && c.err == nil {
		code := c.u8()
		needsDoc := code >= frame.OpSetJSON && code <= frame.OpCopyString || code == 'X' || code == 'Z'
		if needsDoc && doc == nil {
			return errCommand
		}
		switch code {
		case 'R':
			route := c.str()
			r.EmitTo(route, c.bytes())
		case 'O':
			route, doc = c.str(), r.Doc()
		case 'E':
			route, doc = c.str(), r.Edit()
		case 'Z':
			if err := doc.EmitTo(route); err != nil {
				return err
			}
			doc = nil
		case 'D':
			r.Drop()
		case 'F':
			return errors.New(c.str())
		case 'X':
			doc.B = append(doc.B, c.bytes()...)
		case frame.OpSetJSON:
			doc.SetJSON(c.str(), c.bytes())
		case frame.OpSetString:
			doc.SetStringBytes(c.str(), c.bytes())
		case frame.OpCopy:
			doc.Copy(c.str(), c.str())
		case frame.OpSetOriginal:
			doc.SetOriginal(c.str())
		case frame.OpSetDigest:
			doc.SetDigest(c.str(), c.u8())
		case frame.OpDelete:
			doc.Delete(c.str())
		case frame.OpSetInt:
			doc.SetInt(c.str(), int64(c.u64()))
		case frame.OpCopyString:
			doc.CopyString(c.str(), c.str())
		default:
			return errCommand
		}
	}
	if c.err != nil || doc != nil {
		return errCommand
	}
	return nil
}
