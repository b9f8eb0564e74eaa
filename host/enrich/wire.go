package enrich

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Functions are the host functions in "extism:host/user", each
// (i64 request offset) -> (i64 response offset).
var Functions = []string{FuncDNS, FuncHTTP, FuncDynamoDB, FuncCache, FuncMMDB}

// Host function names.
const (
	FuncDNS      = "weir_dns"
	FuncHTTP     = "weir_http"
	FuncDynamoDB = "weir_dynamodb"
	FuncCache    = "weir_cache"
	FuncMMDB     = "weir_mmdb"
)

// Call statuses: the first byte of every response.
const (
	CallOK         = 0 // followed by the results
	CallDenied     = 1 // the stage has not been granted the capability
	CallBadRequest = 2 // the request could not be decoded or is invalid
	CallInternal   = 3 // the host could not serve the call at all
)

// Result statuses: the first byte of each result.
const (
	StatusOK       = 0 // value holds the answer
	StatusNotFound = 1 // a negative answer (NXDOMAIN, no item, miss, not in the database); value empty
	StatusError    = 2 // value holds the error message for this key
	StatusDenied   = 3 // this key is not allowed (an HTTP host or a table not granted); value holds why
)

// Result is the outcome for one key.
type Result struct {
	Status byte
	Value  []byte
}

func okResult(v []byte) Result { return Result{Status: StatusOK, Value: v} }

var notFound = Result{Status: StatusNotFound}

func errResult(format string, args ...any) Result {
	return Result{Status: StatusError, Value: fmt.Appendf(nil, format, args...)}
}

func deniedResult(format string, args ...any) Result {
	return Result{Status: StatusDenied, Value: fmt.Appendf(nil, format, args...)}
}

// AppendCallError appends a call-level failure response: status, then the
// message as a u32-prefixed string.
func AppendCallError(dst []byte, status byte, msg string) []byte {
	dst = append(dst, status)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(msg)))
	return append(dst, msg...)
}

// AppendResults appends a successful response: CallOK, a u32 count, then
// each result as a status byte and a u32-prefixed value.
func AppendResults(dst []byte, rs []Result) []byte {
	dst = append(dst, CallOK)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(rs)))
	for _, r := range rs {
		dst = appendResult(dst, r)
	}
	return dst
}

// appendAnswer appends a successful response for a (see AppendResults),
// growing dst once to its final size.
func appendAnswer(dst []byte, a answer) []byte {
	size := 5
	if a.idx == nil {
		for _, r := range a.rs {
			size += 5 + len(r.Value)
		}
	} else {
		for _, j := range a.idx {
			size += 5 + len(a.rs[j].Value)
		}
	}
	dst = slices.Grow(dst, size)
	dst = append(dst, CallOK)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(a.count()))
	if a.idx == nil {
		for _, r := range a.rs {
			dst = appendResult(dst, r)
		}
		return dst
	}
	for _, j := range a.idx {
		dst = appendResult(dst, a.rs[j])
	}
	return dst
}

func appendResult(dst []byte, r Result) []byte {
	dst = append(dst, r.Status)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Value)))
	return append(dst, r.Value...)
}

// appendStrings encodes a list as a u32 count followed by u32-prefixed
// strings (DNS answers).
func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(ss)))
	for _, s := range ss {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
		dst = append(dst, s...)
	}
	return dst
}
