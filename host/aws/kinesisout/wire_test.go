package kinesisout

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"

	"github.com/aws/smithy-go/encoding/cbor"
)

// protocols are the wire formats the protocol-dependent tests run under.
var protocols = []Protocol{CBOR, JSON}

// requestIsCBOR reports whether r's body is CBOR (by its Content-Type).
func requestIsCBOR(r *http.Request) bool { return isCBOR(r.Header.Get("Content-Type")) }

// decodeBody decodes a request or response body into v as encoding/json
// would decode its JSON form: CBOR (when isCBOR) is read by smithy-go's
// decoder and transcoded, byte strings becoming base64 strings (which
// encoding/json decodes into []byte fields).
func decodeBody(body []byte, isCBOR bool, v any) error {
	if !isCBOR {
		return json.Unmarshal(body, v)
	}
	js, err := cborToJSON(body)
	if err != nil {
		return fmt.Errorf("CBOR body of %d bytes: %w", len(body), err)
	}
	return json.Unmarshal(js, v)
}

// encodeBody encodes v as encoding/json would, in CBOR when isCBOR (the
// JSON form's values: objects as maps, whole numbers as integers).
func encodeBody(v any, isCBOR bool) []byte {
	js, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	if !isCBOR {
		return js
	}
	var generic any
	if err := json.Unmarshal(js, &generic); err != nil {
		panic(err)
	}
	return cbor.Encode(toCBOR(generic))
}

// toCBOR returns the CBOR value of a value decoded by encoding/json into
// an any.
func toCBOR(v any) cbor.Value {
	switch v := v.(type) {
	case map[string]any:
		m := cbor.Map{}
		for k, e := range v {
			m[k] = toCBOR(e)
		}
		return m
	case []any:
		l := cbor.List{}
		for _, e := range v {
			l = append(l, toCBOR(e))
		}
		return l
	case string:
		return cbor.String(v)
	case float64:
		if v == math.Trunc(v) && v >= 0 && v < 1<<53 {
			return cbor.Uint(v)
		}
		if v == math.Trunc(v) && v < 0 && v > -(1<<53) {
			return cbor.NegInt(-v)
		}
		return cbor.Float64(v)
	case bool:
		return cbor.Bool(v)
	case nil:
		return &cbor.Nil{}
	}
	panic(fmt.Sprintf("toCBOR: %T", v))
}

// writeKinesis answers r with status and v, in r's wire format (CBOR or
// JSON), as Kinesis does.
func writeKinesis(w http.ResponseWriter, r *http.Request, status int, v any) {
	ct := "application/x-amz-json-1.1"
	if requestIsCBOR(r) {
		ct = cborContentType
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = w.Write(encodeBody(v, requestIsCBOR(r)))
}
