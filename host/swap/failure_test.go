package swap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/source"
)

// TestSourceFailures: S3 answering 503 or hanging, and the AppConfig
// agent failing, are counted and backed off; the last good version keeps
// serving, and the next good version is picked up once the source heals.
func TestSourceFailures(t *testing.T) {
	s3f := newFakeS3(t)
	ac := newAppConfig(t)
	for _, tc := range []struct {
		name  string
		ref   string
		fault *fault
		mode  int32
		put   func(t *testing.T, wasm []byte)
	}{
		{"s3 5xx", "s3://mods/f.wasm", &s3f.fault, faultError, func(t *testing.T, b []byte) { s3f.put(t, "f.wasm", b, nil) }},
		{"s3 hangs", "s3://mods/f.wasm", &s3f.fault, faultHang, func(t *testing.T, b []byte) { s3f.put(t, "f.wasm", b, nil) }},
		{"agent 5xx", "appconfig://weir/prod/mod", &ac.fault, faultError, func(t *testing.T, b []byte) {
			ac.deploy("weir/prod/mod", b, source.Digest(b)[:8])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, logs := newLoader(t, source.Options{S3: s3f.client, AgentAddress: ac.agentAddress()})
			l.o.FetchTimeout = 100 * time.Millisecond
			v1 := tagModule(t, "one|", false, "")
			tc.put(t, v1)
			ctx := context.Background()
			st, err := l.Builder(&engine.Config{})(ctx, engine.StageConfig{Name: "f", Module: tc.ref, Entry: engine.EntryRecord,
				Poll: engine.Duration(10 * time.Millisecond), Instances: 1}, "")
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close(ctx)
			tc.fault.Store(tc.mode)
			v2 := tagModule(t, "two|", false, "")
			tc.put(t, v2) // written to the backend behind the fault
			waitFor(t, "three source errors", 10*time.Second, func() bool { return l.Metrics().Snapshot().SourceErrors["f"] >= 3 })
			res, err := st.Process(ctx, []engine.Record{{Data: []byte("x")}})
			if err != nil || string(res[0].Outputs[0].Data) != "one|x" {
				t.Fatalf("while the source fails: %v %v", res, err)
			}
			if !strings.Contains(logs.String(), "backing off") {
				t.Error("no backoff logged")
			}
			tc.fault.Store(faultNone)
			waitFor(t, "the next version", 10*time.Second, func() bool { return st.(*Stage).Current().Digest == source.Digest(v2) })
			res, err = st.Process(ctx, []engine.Record{{Data: []byte("x")}})
			if err != nil || string(res[0].Outputs[0].Data) != "two|x" {
				t.Fatalf("after the source healed: %v %v", res, err)
			}
		})
	}
}

// TestBackoff: exponential, jittered, capped.
func TestBackoff(t *testing.T) {
	l := &Loader{o: Options{BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second}}
	for _, tc := range []struct {
		n      int
		lo, hi time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{4, 400 * time.Millisecond, 800 * time.Millisecond},
		{30, 500 * time.Millisecond, time.Second},
	} {
		for range 20 {
			if d := l.backoff(tc.n, 0); d < tc.lo || d > tc.hi {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", tc.n, d, tc.lo, tc.hi)
			}
		}
	}
}

// TestRefusedInputs: every kind of bad version is refused with a message
// that says what is wrong.
func TestRefusedInputs(t *testing.T) {
	l, _, _ := newLoader(t, source.Options{})
	pub, key := mustKey(t)
	good := tagModule(t, "ok|", false, "")
	component := append([]byte("\x00asm\x0d\x00\x01\x00"), 0x00, 0x00)
	for _, tc := range []struct {
		name   string
		data   []byte
		sc     func(*engine.StageConfig)
		reason string
		msg    string
	}{
		{"pin mismatch", good, func(sc *engine.StageConfig) { sc.SHA256 = strings.Repeat("a", 64) }, ReasonDigest, "pinned by sha256"},
		{"not wasm", []byte("{\"json\": true}"), nil, ReasonNotWasm, `starts with "{\"json\":"`},
		{"empty", nil, nil, ReasonNotWasm, "empty"},
		{"component", component, nil, ReasonNotWasm, "WebAssembly component"},
		{"missing import", tagModule(t, "imp|", false, "lookup_user"), nil, ReasonImports, "env.lookup_user"},
		{"no entry point", []byte("\x00asm\x01\x00\x00\x00"), nil, ReasonImports, "no entry point"},
		{"smoke expectation", good, func(sc *engine.StageConfig) {
			sc.Smoke = []engine.SmokeTest{{Input: "a", Expect: &[]string{"nope"}}}
		}, ReasonSmoke, `got outputs ["ok|a"], want ["nope"]`},
		{"traps in smoke", tagModule(t, "trap|", true, ""), func(sc *engine.StageConfig) {
			sc.Smoke = []engine.SmokeTest{{Input: "a"}}
		}, ReasonSmoke, "trap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := engine.StageConfig{Name: "m", Module: "file:///m.wasm", Instances: 1}
			if tc.sc != nil {
				tc.sc(&sc)
			}
			mt := &moduleTarget{l: l, sc: sc, timeout: time.Second}
			_, st, err := mt.load(context.Background(), &source.Object{Data: tc.data, Version: "v"})
			var re *RefusedError
			if !errors.As(err, &re) {
				if st != nil {
					_ = st.Close(context.Background())
				}
				t.Fatalf("got %v, want a refusal", err)
			}
			if re.Reason != tc.reason || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("refused (%s) %v; want %s mentioning %q", re.Reason, err, tc.reason, tc.msg)
			}
		})
	}
	// Signatures: a good one passes, others are refused.
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		sig  []byte
		ok   bool
	}{
		{"signed", source.Sign(key, good), true},
		{"signed by another key", func() []byte { _, k := mustKey(t); return source.Sign(k, good) }(), false},
		{"garbage", []byte("not base64!"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := dir + "/m.wasm.sig"
			if err := writeFile(path, tc.sig); err != nil {
				t.Fatal(err)
			}
			sig, _ := source.Open(context.Background(), path, source.Options{})
			mt := &moduleTarget{l: l, sc: engine.StageConfig{Name: "m", Module: "m.wasm", Instances: 1}, sig: &tracked{src: sig}, pub: mustPub(t, pub), timeout: time.Second}
			_, st, err := mt.load(context.Background(), &source.Object{Data: good, Version: "v"})
			if st != nil {
				_ = st.Close(context.Background())
			}
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok && !errors.Is(err, source.ErrSignature) {
				t.Fatalf("err %v is not ErrSignature", err)
			}
		})
	}
}

// TestSizeCap: a module over max_module_bytes is refused before it is
// read, at load and at swap.
func TestSizeCap(t *testing.T) {
	s3f := newFakeS3(t)
	l, _, _ := newLoader(t, source.Options{S3: s3f.client})
	small := tagModule(t, "s|", false, "")
	s3f.put(t, "cap.wasm", small, nil)
	sc := engine.StageConfig{Name: "cap", Module: "s3://mods/cap.wasm", Entry: engine.EntryRecord, Instances: 1,
		MaxModuleBytes: int64(len(small)) + 10, Poll: engine.Duration(10 * time.Millisecond)}
	ctx := context.Background()
	st, err := l.Builder(&engine.Config{})(ctx, sc, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	s3f.put(t, "cap.wasm", append(small, make([]byte, 100)...), nil)
	waitFor(t, "the refusal", 10*time.Second, func() bool { return l.Metrics().Snapshot().Refused[ReasonTooLarge] == 1 })
	if st.(*Stage).Current().Digest != source.Digest(small) {
		t.Fatal("the running version changed")
	}
	sc.Poll = 0
	if _, err := l.Builder(&engine.Config{})(ctx, sc, ""); !errors.Is(err, source.ErrTooLarge) {
		t.Fatalf("initial load: %v", err)
	}
}
