package builtin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Format conditions: format_json (the data is valid JSON) and
// format_mime (the data's media type, as net/http sniffs it plus bzip2,
// equals the "type" setting). Both look at the whole data, as in
// Substation, whatever object.source_key says.

func init() {
	RegisterCondition("format_json", newFormatJSON)
	RegisterCondition("format_mime", newFormatMIME)
}

func newFormatJSON(c *Compiler, raw json.RawMessage) (Condition, error) {
	var s objectSettings
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
		return json.Valid(m.Data()), nil
	}), nil
}

func newFormatMIME(c *Compiler, raw json.RawMessage) (Condition, error) {
	var s struct {
		ID
		Object ObjectSettings `json:"object"`
		Type   string         `json:"type"`
	}
	if err := c.Decode(raw, &s); err != nil {
		return nil, err
	}
	if s.Type == "" {
		return nil, fmt.Errorf("settings: type is required (a media type such as application/x-gzip)")
	}
	want := s.Type
	return ConditionFunc(func(_ context.Context, m *Message) (bool, error) {
		return mediaType(m.Data()) == want, nil
	}), nil
}

// mediaType sniffs b's media type: bzip2, which net/http does not know,
// or http.DetectContentType.
func mediaType(b []byte) string {
	if bytes.HasPrefix(b, []byte("BZh")) {
		return "application/x-bzip2"
	}
	return http.DetectContentType(b)
}
