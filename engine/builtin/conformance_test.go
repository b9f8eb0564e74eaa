package builtin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/hosttest"
)

// conformanceFloor is the number of Substation cases that must pass.
// Raise it when you make more cases pass; never lower it.
const conformanceFloor = 283

// substationCase is one line of shared/testdata/substation-cases/cases.jsonl:
// one case of Substation v2.8.0's own unit tests.
type substationCase struct {
	Package     string          `json:"package"`
	Type        string          `json:"type"`
	Table       string          `json:"table"`
	Name        string          `json:"name"`
	File        string          `json:"file"`
	Extractable bool            `json:"extractable"`
	Cfg         json.RawMessage `json:"cfg"`
	Conf        json.RawMessage `json:"conf"`
	Data        json.RawMessage `json:"data"`
	Test        json.RawMessage `json:"test"`
	Expected    json.RawMessage `json:"expected"`
}

func (c *substationCase) id(line int) string {
	return fmt.Sprintf("%s/%s/%s#%d", c.Package, c.Type, c.Name, line)
}

// skipReason says why a case cannot run in weir at all ("" = it runs).
func (c *substationCase) skipReason() string {
	switch {
	case !c.Extractable && goConfig(c.Cfg) == nil:
		return "config is a Go expression"
	case c.Table == "truncateTTLTests":
		return "tests an internal helper, not a transform"
	}
	return ""
}

// goBytes turns the extractor's {"$bytes":[...]} (a Go []byte) into its
// bytes; ok is false for any other JSON.
func goBytes(raw json.RawMessage) ([]byte, bool) {
	var b struct {
		Bytes *[]int `json:"$bytes"`
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`{"$bytes"`)) || json.Unmarshal(raw, &b) != nil {
		return nil, false
	}
	if b.Bytes == nil {
		return nil, true
	}
	out := make([]byte, len(*b.Bytes))
	for i, x := range *b.Bytes {
		out[i] = byte(x)
	}
	return out, true
}

// inputs returns the case's input records.
func (c *substationCase) inputs() ([][]byte, error) {
	raw := c.Test
	if len(raw) == 0 {
		raw = c.Data
	}
	if len(raw) == 0 {
		return [][]byte{nil}, nil
	}
	if b, ok := goBytes(raw); ok {
		return [][]byte{b}, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return [][]byte{[]byte(one)}, nil
	}
	var many []json.RawMessage
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	var out [][]byte
	for _, r := range many {
		if b, ok := goBytes(r); ok {
			out = append(out, b)
			continue
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		out = append(out, []byte(s))
	}
	return out, nil
}

// config returns the case's transform or condition object as weir reads
// it. A Go []byte in the settings becomes its base64 string, as Go's JSON
// encoding writes a []byte.
func (c *substationCase) config() (json.RawMessage, error) {
	if len(c.Conf) > 0 {
		return convertBytes(c.Conf)
	}
	var cfg struct {
		Settings json.RawMessage `json:"settings"`
	}
	if g := goConfig(c.Cfg); g != nil {
		cfg.Settings = g
	} else if len(c.Cfg) > 0 {
		if err := json.Unmarshal(c.Cfg, &cfg); err != nil {
			return nil, err
		}
	}
	obj := map[string]any{"type": c.Type}
	if len(cfg.Settings) > 0 {
		s, err := convertBytes(cfg.Settings)
		if err != nil {
			return nil, err
		}
		obj["settings"] = s
	}
	return json.Marshal(obj)
}

// goConstants are the Substation constants its test configs use, by
// name and value (transform/time.go).
var goConstants = map[string]string{
	"timeDefaultFmt": `"2006-01-02T15:04:05.000Z"`,
}

// goConfig translates a case's config written as a Go expression (the
// extractor's {"$unsupported": "config.Config{Settings: map...}"}) into
// its settings JSON when it is a plain map literal of strings and known
// constants; nil otherwise.
func goConfig(raw json.RawMessage) json.RawMessage {
	var u struct {
		Expr string `json:"$unsupported"`
	}
	if json.Unmarshal(raw, &u) != nil || u.Expr == "" {
		return nil
	}
	e := strings.TrimSpace(u.Expr)
	if !strings.HasPrefix(e, "config.Config{") || !strings.HasSuffix(e, "}") {
		return nil
	}
	e = strings.TrimSuffix(strings.TrimPrefix(e, "config.Config{"), "}")
	e = strings.TrimSpace(e)
	if !strings.HasPrefix(e, "Settings:") {
		return nil
	}
	e = strings.TrimSpace(strings.TrimPrefix(e, "Settings:"))
	e = strings.ReplaceAll(e, "map[string]interface{}{", "{")
	for name, v := range goConstants {
		e = strings.ReplaceAll(e, name, v)
	}
	e = trailingComma.ReplaceAllString(strings.TrimSuffix(strings.TrimSpace(e), ","), "$1")
	if !json.Valid([]byte(e)) {
		return nil
	}
	return json.RawMessage(e)
}

var trailingComma = regexp.MustCompile(`,(\s*[}\]])`)

func convertBytes(raw json.RawMessage) (json.RawMessage, error) {
	if !bytes.Contains(raw, []byte(`"$bytes"`)) {
		return raw, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			if b, ok := t["$bytes"]; ok && len(t) == 1 {
				arr, _ := b.([]any)
				out := make([]byte, len(arr))
				for i, e := range arr {
					out[i] = byte(e.(float64))
				}
				return base64.StdEncoding.EncodeToString(out)
			}
			for k, e := range t {
				t[k] = walk(e)
			}
		case []any:
			for i, e := range t {
				t[i] = walk(e)
			}
		}
		return x
	}
	return json.Marshal(walk(v))
}

// run runs one case; nil means it passed.
func (c *substationCase) run(ctx context.Context) error {
	cfg, err := c.config()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	in, err := c.inputs()
	if err != nil {
		return err
	}
	if c.Package == "condition" {
		var want bool
		if err := json.Unmarshal(c.Expected, &want); err != nil {
			return fmt.Errorf("expected: %w", err)
		}
		cond, err := (&Compiler{}).Condition("condition", cfg)
		if err != nil {
			return err
		}
		b := &batch{}
		m := b.newMessage(0)
		m.data.raw = in[0]
		got, err := cond.Condition(ctx, m)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("got %v, want %v", got, want)
		}
		return nil
	}
	var want []string
	var rawWant []json.RawMessage
	if err := json.Unmarshal(c.Expected, &rawWant); err != nil {
		return fmt.Errorf("expected: %w", err)
	}
	for _, r := range rawWant {
		if b, ok := goBytes(r); ok {
			want = append(want, string(b))
			continue
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			// A Go []byte written as an array of numbers.
			var ints []byte
			var arr []int
			if json.Unmarshal(r, &arr) != nil {
				return fmt.Errorf("expected: %w", err)
			}
			for _, x := range arr {
				ints = append(ints, byte(x))
			}
			s = string(ints)
		}
		want = append(want, s)
	}
	p, err := Compile([]json.RawMessage{cfg})
	if err != nil {
		return err
	}
	recs := make([]engine.Record, len(in))
	for i, d := range in {
		recs[i] = engine.Record{Data: d}
	}
	res, err := p.Process(ctx, recs)
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	var got []string
	for i, r := range res {
		if r.Status == engine.StatusFailed {
			return fmt.Errorf("record %d failed: %w", i, r.Err)
		}
		for _, o := range r.Outputs {
			got = append(got, string(o.Data))
		}
	}
	if c.Type == "format_from_zip" {
		// Substation's own test: "The order of the output is not
		// guaranteed" (it compares as a set).
		sort.Strings(got)
		sort.Strings(want)
	}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		return fmt.Errorf("got %q, want %q", got, want)
	}
	return nil
}

// TestSubstationConformance runs every case of Substation v2.8.0's own
// unit tests (shared/testdata/substation-cases/cases.jsonl) through the
// built-ins and fails when fewer than conformanceFloor pass. -v lists the
// failing cases.
func TestSubstationConformance(t *testing.T) {
	path := filepath.Join(hosttest.SharedDir(t), "testdata", "substation-cases", "cases.jsonl")
	f, err := os.Open(path)
	if err != nil {
		hosttest.Missing(t, path, "copy shared/testdata/substation-cases next to the repository")
	}
	defer f.Close()
	ctx := context.Background()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	total, pass := 0, 0
	skips := map[string]int{}
	var failures []string
	for line := 1; sc.Scan(); line++ {
		total++
		var c substationCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("%s:%d: %v", path, line, err)
		}
		if r := c.skipReason(); r != "" {
			skips[r]++
			continue
		}
		if err := c.run(ctx); err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", c.id(line), err))
			continue
		}
		pass++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var reasons []string
	skipped := 0
	for r, n := range skips {
		reasons = append(reasons, fmt.Sprintf("%d %s", n, r))
		skipped += n
	}
	sort.Strings(reasons)
	fmt.Printf("substation conformance: %d/%d pass (%d skipped: %s)\n", pass, total, skipped, strings.Join(reasons, ", "))
	if testing.Verbose() {
		for _, f := range failures {
			t.Log("FAIL " + f)
		}
	}
	if total != 287 {
		t.Errorf("cases.jsonl has %d cases, want 287", total)
	}
	if pass < conformanceFloor {
		t.Errorf("%d cases pass, below the floor of %d", pass, conformanceFloor)
	}
}
