package enrich

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// toAttr converts a JSON value (decoded with UseNumber) to a DynamoDB
// attribute value: string S, number N, bool BOOL, null NULL, array L,
// object M.
func toAttr(v any) (types.AttributeValue, error) {
	switch x := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case string:
		return &types.AttributeValueMemberS{Value: x}, nil
	case json.Number:
		return &types.AttributeValueMemberN{Value: x.String()}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}, nil
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			a, err := toAttr(e)
			if err != nil {
				return nil, err
			}
			l[i] = a
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case map[string]any:
		m, err := toItem(x)
		if err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unsupported JSON value %T", v)
}

func toItem(m map[string]any) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(m))
	for k, e := range m {
		a, err := toAttr(e)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", k, err)
		}
		out[k] = a
	}
	return out, nil
}

// fromAttr converts an attribute value to plain JSON: S string, N number,
// BOOL, NULL null, L array, M object, SS/NS arrays of strings/numbers, B
// base64 string, BS array of base64 strings.
func fromAttr(a types.AttributeValue) any {
	switch x := a.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberN:
		return json.Number(x.Value)
	case *types.AttributeValueMemberBOOL:
		return x.Value
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberB:
		return base64.StdEncoding.EncodeToString(x.Value)
	case *types.AttributeValueMemberL:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = fromAttr(e)
		}
		return l
	case *types.AttributeValueMemberM:
		return fromItem(x.Value)
	case *types.AttributeValueMemberSS:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = e
		}
		return l
	case *types.AttributeValueMemberNS:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = json.Number(e)
		}
		return l
	case *types.AttributeValueMemberBS:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = base64.StdEncoding.EncodeToString(e)
		}
		return l
	}
	return nil
}

func fromItem(m map[string]types.AttributeValue) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = fromAttr(v)
	}
	return out
}

// itemJSON encodes an item as a JSON object with sorted keys.
func itemJSON(m map[string]any) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		return []byte("{}")
	}
	return b
}

// decodeJSON decodes one JSON value with numbers kept as json.Number.
func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// canonicalKey is a key object's canonical text: its attributes sorted by
// name, values as JSON.
func canonicalKey(key map[string]any) string {
	names := make([]string, 0, len(key))
	for n := range key {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		v, _ := json.Marshal(key[n])
		b.WriteString(n)
		b.WriteByte('=')
		b.Write(v)
		b.WriteByte(0)
	}
	return b.String()
}
