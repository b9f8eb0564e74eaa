package kinesisout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	asmbase64 "github.com/segmentio/asm/base64"
)

// Protocol is the wire format of PutRecords calls (Options of the
// "kinesis" output: protocol).
type Protocol string

// The wire formats of PutRecords calls.
const (
	// CBOR is AWS CBOR 1.1 (application/x-amz-cbor-1.1): Data travels
	// as raw bytes, a quarter smaller than base64 and with no base64
	// work (CBORPutRecords). The default.
	CBOR Protocol = "cbor"
	// JSON is awsJson 1.1, the SDK's own (FastPutRecords).
	JSON Protocol = "json"
)

// ParseProtocol returns the Protocol named s: "cbor", "json", or "" for
// the default, CBOR.
func ParseProtocol(s string) (Protocol, error) {
	switch p := Protocol(s); p {
	case "":
		return CBOR, nil
	case CBOR, JSON:
		return p, nil
	}
	return "", fmt.Errorf("protocol must be cbor or json (got %q)", s)
}

// Option returns the kinesis.Options function that makes a client's
// PutRecords calls in p: CBORPutRecords for CBOR, FastPutRecords for
// JSON.
func (p Protocol) Option() func(*kinesis.Options) {
	if p == JSON {
		return FastPutRecords
	}
	return CBORPutRecords
}

// FastPutRecords is a kinesis.Options function (pass it to kinesis.New or
// kinesis.NewFromConfig) that writes the JSON body of PutRecords calls
// in one pass into a buffer of the exact size, base64-encoding Data with
// vector instructions (github.com/segmentio/asm: ~10x encoding/base64 on
// AVX2). The SDK's own serializer encodes with encoding/base64 into a
// buffer grown by append and copies the whole body once more: for ~24 MB
// of aggregated records per 10,000-record Lambda event that was ~40 ms of
// CPU, a sixth of the handler's own work.
//
// The body means the same JSON as the SDK's (same members, same order;
// strings escaped as encoding/json does), and everything else is the
// SDK's: headers (the SDK serializer sets them on an input without
// records), signing (SigV4 hashes the body as before), retries and the
// response. Other operations are untouched. Open sets it on the clients
// it makes under protocol: json.
func FastPutRecords(o *kinesis.Options) { wrapProtocol(o, false) }

// CBORPutRecords is a kinesis.Options function, like FastPutRecords, that
// makes PutRecords calls over AWS CBOR 1.1 (Content-Type
// application/x-amz-cbor-1.1, which Kinesis accepts for every operation,
// with the awsJson 1.1 target and shapes): Data goes as CBOR byte strings
// (raw, no base64: a quarter fewer bytes for SigV4 to hash and the socket
// to carry), read in place: the body is the bytes around the records'
// Data, written in one pass into a buffer of the exact size, with each
// record's Data between them (pieces: SigV4 hashes it and the transport
// sends it without a copy into a body buffer, ~35 MB per 10,000-record
// Lambda event). Data must stay unchanged until the call returns. The response, CBOR as well, is decoded into the
// PutRecordsOutput the SDK would return; an error response is transcoded
// to JSON and handed to the SDK's awsJson 1.1 deserializer, so that it
// becomes the same typed error (*types.ResourceNotFoundException,
// *types.ProvisionedThroughputExceededException, smithy.GenericAPIError
// with the code and message, ...) and the SDK's retryer treats it alike.
// A response that is not CBOR (by its Content-Type) goes to the SDK as
// is. Signing, retries and every other operation (JSON) are the SDK's.
// Open sets it on the clients it makes by default (protocol: cbor).
func CBORPutRecords(o *kinesis.Options) { wrapProtocol(o, true) }

// wrapProtocol wraps o's protocol in a putRecordsProtocol (or rewraps a
// wrapped one) writing PutRecords bodies in CBOR or JSON.
func wrapProtocol(o *kinesis.Options, cbor bool) {
	if o.Protocol == nil {
		return
	}
	inner := o.Protocol
	if p, ok := inner.(*putRecordsProtocol); ok {
		if p.cbor == cbor {
			return
		}
		inner = p.ClientProtocol
	}
	o.Protocol = &putRecordsProtocol{ClientProtocol: inner, cbor: cbor}
}

// putRecordsProtocol is the SDK's protocol with PutRecords' request
// serialization replaced (see FastPutRecords), and with cbor its wire
// format (see CBORPutRecords).
type putRecordsProtocol struct {
	smithyhttp.ClientProtocol
	cbor bool
}

// ours reports whether schema is PutRecords under awsJson 1.1, the
// protocol whose calls p writes and reads.
func (p *putRecordsProtocol) ours(schema *smithy.OperationSchema) bool {
	return schema.ID().Name == "PutRecords" && p.ClientProtocol.ID() == awsJSON11
}

// SerializeRequest writes PutRecords bodies itself and hands every other
// operation to the SDK.
func (p *putRecordsProtocol) SerializeRequest(ctx context.Context, schema *smithy.OperationSchema, in smithy.Serializable, req *smithyhttp.Request) error {
	pr, ok := in.(*kinesis.PutRecordsInput)
	if !ok || !p.ours(schema) {
		// Another operation, or a protocol whose body is not this JSON
		// (should the SDK move Kinesis to another one).
		return p.ClientProtocol.SerializeRequest(ctx, schema, in, req)
	}
	// Method, path and headers as the SDK sets them, from the input
	// without its records (a body of a few bytes, replaced below).
	head := *pr
	head.Records = nil
	if err := p.ClientProtocol.SerializeRequest(ctx, schema, &head, req); err != nil {
		return err
	}
	size := putRecordsSize
	if p.cbor {
		// Only the bytes around the records' Data are written; the
		// body reads Data in place.
		size = cborGlueSize
		req.Header.Set("Content-Type", cborContentType)
	}
	var dst []byte
	held, _ := ctx.Value(bodyKey{}).(*body)
	if held != nil {
		// Rounded up, so that a kept buffer serves calls of about the
		// same size.
		dst = held.from.get((size(pr) + bodyRound - 1) / bodyRound * bodyRound)
	}
	var stream io.Reader
	if p.cbor {
		stream, dst = cborBody(dst, pr)
	} else {
		dst = appendPutRecords(dst, pr)
		stream = bytes.NewReader(dst)
	}
	if held != nil {
		held.buf = dst
	}
	sreq, err := req.SetStream(stream)
	if err != nil {
		return fmt.Errorf("set stream: %w", err)
	}
	*req = *sreq
	return nil
}

// DeserializeResponse decodes CBOR PutRecords responses (see
// CBORPutRecords) and hands every other response to the SDK.
func (p *putRecordsProtocol) DeserializeResponse(ctx context.Context, schema *smithy.OperationSchema, types *smithy.TypeRegistry, resp *smithyhttp.Response, out smithy.Deserializable) error {
	pout, ok := out.(*kinesis.PutRecordsOutput)
	if !p.cbor || !ok || !p.ours(schema) || !isCBOR(resp.Header.Get("Content-Type")) {
		return p.ClientProtocol.DeserializeResponse(ctx, schema, types, resp, out)
	}
	buf := responseBufs.Get().(*bytes.Buffer)
	defer responseBufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return &smithy.DeserializationError{Err: fmt.Errorf("read PutRecords response: %w", err)}
	}
	payload := buf.Bytes()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		// The SDK's JSON error deserializer, on the same error as JSON.
		js, err := cborToJSON(payload)
		if err != nil {
			return &smithy.DeserializationError{Err: fmt.Errorf("PutRecords error response (HTTP %d, %d bytes) is not CBOR: %w", resp.StatusCode, len(payload), err),
				Snapshot: payload[:min(len(payload), 1024)]}
		}
		hr := *resp.Response
		hr.Body = io.NopCloser(bytes.NewReader(js))
		hr.ContentLength = int64(len(js))
		return p.ClientProtocol.DeserializeResponse(ctx, schema, types, &smithyhttp.Response{Response: &hr}, out)
	}
	if len(payload) == 0 {
		return nil
	}
	if err := decodePutRecordsCBOR(payload, pout); err != nil {
		return &smithy.DeserializationError{Err: err, Snapshot: payload[:min(len(payload), 1024)]}
	}
	return nil
}

// responseBufs holds buffers of PutRecords response bodies (decoding
// copies what it keeps out of them).
var responseBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// awsJSON11 is the protocol whose PutRecords body appendPutRecords writes.
var awsJSON11 = smithy.ShapeID{Namespace: "aws.protocols", Name: "awsJson1_1"}

// appendPutRecords appends the awsJson 1.1 body of in to dst, growing dst
// once: members in the SDK's order (DryRun, Records, StreamARN, StreamId,
// StreamName; in a record Data, ExplicitHashKey, PartitionKey), nil
// pointers and nil Data left out as the SDK leaves them out.
func appendPutRecords(dst []byte, in *kinesis.PutRecordsInput) []byte {
	if size := putRecordsSize(in); cap(dst)-len(dst) < size {
		dst = append(make([]byte, 0, len(dst)+size), dst...)
	}
	dst = append(dst, '{')
	comma := false
	member := func(name string) {
		if comma {
			dst = append(dst, ',')
		}
		comma = true
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
	}
	if in.DryRun != nil {
		member("DryRun")
		dst = strconv.AppendBool(dst, *in.DryRun)
	}
	if in.Records != nil {
		member("Records")
		dst = append(dst, '[')
		for i := range in.Records {
			r := &in.Records[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			sep := ""
			if r.Data != nil {
				dst = append(dst, `"Data":"`...)
				n, enc := len(dst), asmbase64.StdEncoding.EncodedLen(len(r.Data))
				dst = slices.Grow(dst, enc+1)[:n+enc]
				asmbase64.StdEncoding.Encode(dst[n:], r.Data)
				dst = append(dst, '"')
				sep = ","
			}
			if r.ExplicitHashKey != nil {
				dst = append(dst, sep...)
				dst = append(dst, `"ExplicitHashKey":`...)
				dst = appendString(dst, *r.ExplicitHashKey)
				sep = ","
			}
			if r.PartitionKey != nil {
				dst = append(dst, sep...)
				dst = append(dst, `"PartitionKey":`...)
				dst = appendString(dst, *r.PartitionKey)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	for _, m := range []struct {
		name string
		v    *string
	}{{"StreamARN", in.StreamARN}, {"StreamId", in.StreamId}, {"StreamName", in.StreamName}} {
		if m.v != nil {
			member(m.name)
			dst = appendString(dst, *m.v)
		}
	}
	return append(dst, '}')
}

// putRecordsSize bounds the length of in's body.
func putRecordsSize(in *kinesis.PutRecordsInput) int {
	size := 64 + strLen(in.StreamARN) + strLen(in.StreamId) + strLen(in.StreamName)
	for i := range in.Records {
		r := &in.Records[i]
		size += 48 + asmbase64.StdEncoding.EncodedLen(len(r.Data)) + strLen(r.ExplicitHashKey) + strLen(r.PartitionKey)
	}
	return size
}

// strLen bounds the JSON length of a string member's value (6 bytes per
// byte when every byte is escaped as \u00XX).
func strLen(s *string) int {
	if s == nil {
		return 0
	}
	return 24 + 6*len(*s)
}

// appendString appends s as a JSON string: as is when it is printable
// ASCII without quote or backslash (partition keys, stream names),
// otherwise escaped by encoding/json (invalid UTF-8 becomes U+FFFD).
func appendString(dst []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// bodyKey is the context key of a *body: where the serializer takes the
// buffer of one PutRecords call's body from (the whole JSON body; the CBOR
// body's bytes around the records' Data), and leaves it. Its owner may
// reuse the buffer once the call has returned. The SDK makes that safe: it
// wraps the body it hands to net/http in a reader whose Close waits for a
// read in progress and refuses later ones, and closes it when each
// attempt returns (smithy-go transport/http ClientHandler).
type bodyKey struct{}

// bodyRound is the granularity of body buffers.
const bodyRound = 256 << 10

// body is the value under bodyKey.
type body struct {
	from *buffers
	buf  []byte // set by the serializer
}

// buffers keeps byte buffers between writes, up to a budget of bytes
// (capacity), so that the ~24 MB of aggregated records and ~32 MB of
// request bodies of a 10,000-record event are not allocated and faulted
// in again for the next one. A sync.Pool would not do: the collections
// within one event empty it. Safe for concurrent use.
type buffers struct {
	mu     sync.Mutex
	free   [][]byte
	held   int // bytes of capacity in free
	budget int
}

// get returns a buffer of length 0 and capacity at least n: a kept one
// when one is large enough, else a new one.
func (b *buffers) get(n int) []byte {
	b.mu.Lock()
	for i := len(b.free) - 1; i >= 0; i-- {
		if buf := b.free[i]; cap(buf) >= n {
			b.free[i] = b.free[len(b.free)-1]
			b.free = b.free[:len(b.free)-1]
			b.held -= cap(buf)
			b.mu.Unlock()
			return buf[:0]
		}
	}
	b.mu.Unlock()
	return make([]byte, 0, n)
}

// put keeps buf for a later get. Over the budget, smaller kept buffers
// make room for it (a small buffer serves fewer requests), or it is left
// to the collector when they cannot. The caller must not use buf
// afterwards.
func (b *buffers) put(buf []byte) {
	if cap(buf) == 0 || cap(buf) > b.budget {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.held+cap(buf) > b.budget {
		small := -1
		for i, f := range b.free {
			if cap(f) < cap(buf) && (small < 0 || cap(f) < cap(b.free[small])) {
				small = i
			}
		}
		if small < 0 {
			return
		}
		b.held -= cap(b.free[small])
		b.free[small] = b.free[len(b.free)-1]
		b.free = b.free[:len(b.free)-1]
	}
	b.free = append(b.free, buf[:0])
	b.held += cap(buf)
}
