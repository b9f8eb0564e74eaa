package engine

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Validate checks the configuration and returns every problem found,
// joined (errors.Join), each a *ConfigError naming its field. Unset fields
// count as their defaults, so Validate works before or after
// ApplyDefaults.
func (c *Config) Validate() error {
	src := c.source
	if src == "" {
		src = "config"
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Source: src, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Version != 1 {
		if c.Version == 0 {
			bad("version", "required, must be 1")
		} else {
			bad("version", "must be 1 (got %d)", c.Version)
		}
	}
	if len(c.Stages) == 0 {
		bad("stages", "at least one stage is required")
	}
	outputs := c.Outputs
	if _, ok := outputs[DefaultRoute]; !ok {
		// ApplyDefaults adds it; count it as present.
		outputs = make(map[string]OutputConfig, len(c.Outputs)+1)
		for k, v := range c.Outputs {
			outputs[k] = v
		}
		outputs[DefaultRoute] = OutputConfig{Type: OutputStdout}
	}
	names := map[string]int{}
	for i, sc := range c.Stages {
		f := fmt.Sprintf("stages[%d]", i)
		switch {
		case sc.Transforms != nil && len(sc.Transforms) == 0:
			bad(f+".transforms", "must list at least one transform")
		case sc.Module == "" && !sc.IsBuiltin():
			bad(f+".module", "required: a stage has a module or transforms")
		case sc.Module != "" && sc.IsBuiltin():
			bad(f+".transforms", "a stage has either a module or transforms, not both (module %q)", sc.Module)
		}
		if scheme, _, ok := strings.Cut(sc.Module, "://"); ok && !contains(moduleSchemes, scheme) {
			bad(f+".module", "unsupported scheme %q (want a path or one of %s)", scheme, schemeList())
		}
		name := sc.Name
		if name == "" && sc.IsBuiltin() {
			name = builtinStageName(i)
		}
		if name == "" {
			name = defaultStageName(sc.Module)
		}
		if name != "" {
			if j, dup := names[name]; dup {
				bad(f+".name", "duplicate stage name %q (also stages[%d]); set name to tell them apart", name, j)
			} else {
				names[name] = i
			}
		} else if sc.Module != "" {
			bad(f+".name", "required: no name can be derived from module %q", sc.Module)
		}
		if sc.SHA256 != "" && !isHexDigest(strings.TrimPrefix(sc.SHA256, "sha256:")) {
			bad(f+".sha256", "must be 64 hex digits, optionally prefixed with \"sha256:\" (got %q)", sc.SHA256)
		}
		if !oneOf(sc.Entry, EntryAuto, EntryFast, EntryBatch, EntryRecord) {
			bad(f+".entry", "must be one of auto, fast, batch, record (got %q)", sc.Entry)
		}
		if !oneOf(sc.OnError, OnErrorFail, OnErrorDrop, OnErrorDeadLetter) {
			bad(f+".on_error", "must be one of fail, drop, dead_letter (got %q)", sc.OnError)
		}
		switch {
		case sc.OnError == OnErrorDeadLetter && sc.DeadLetter == "":
			bad(f+".dead_letter", "required when on_error is dead_letter: name an output")
		case sc.OnError == OnErrorDeadLetter:
			if _, ok := outputs[sc.DeadLetter]; !ok {
				bad(f+".dead_letter", "no output named %q (outputs: %s)", sc.DeadLetter, strings.Join(sortedKeys(outputs), ", "))
			}
		case sc.DeadLetter != "":
			bad(f+".dead_letter", "only used when on_error is dead_letter (on_error is %q)", orDefault(sc.OnError, OnErrorFail))
		}
		if sc.Limits.MemoryPages > MaxMemoryPages {
			bad(f+".limits.memory_pages", "must be at most %d (4 GiB) (got %d)", MaxMemoryPages, sc.Limits.MemoryPages)
		}
		if sc.Limits.Timeout < 0 {
			bad(f+".limits.timeout", "must not be negative (got %s)", sc.Limits.Timeout)
		}
		if sc.Limits.MaxOutputBytes < 0 || sc.Limits.MaxOutputBytes > MaxMaxOutputBytes {
			bad(f+".limits.max_output_bytes", "must be between 0 and %d (got %d)", int64(MaxMaxOutputBytes), sc.Limits.MaxOutputBytes)
		}
		if sc.Instances < 0 {
			bad(f+".instances", "must not be negative (got %d)", sc.Instances)
		}
		sc.Capabilities.validate(f, bad)
		if sc.Module != "" {
			if msg := checkRef(sc.Module, c.Sources.HTTPSAllow); msg != "" {
				bad(f+".module", "%s", msg)
			}
		}
		if sc.Signature != "" {
			if msg := checkRef(sc.Signature, c.Sources.HTTPSAllow); msg != "" {
				bad(f+".signature", "%s", msg)
			}
			if sc.PublicKey == "" {
				bad(f+".signature", "only used with public_key")
			}
		}
		if sc.PublicKey != "" && !isPublicKey(sc.PublicKey) {
			bad(f+".public_key", "must be \"ed25519:\" followed by a 32-byte key in standard base64 (got %q)", sc.PublicKey)
		}
		if sc.Poll < 0 {
			bad(f+".poll", "must not be negative (got %s)", sc.Poll)
		}
		if sc.MaxModuleBytes < 0 {
			bad(f+".max_module_bytes", "must not be negative (got %d)", sc.MaxModuleBytes)
		}
	}
	if !oneOf(c.Sources.AppConfig, AppConfigAgent, AppConfigAPI) {
		bad("sources.appconfig", "must be one of agent, api (got %q)", c.Sources.AppConfig)
	}
	if c.Sources.Timeout < 0 {
		bad("sources.timeout", "must not be negative (got %s)", c.Sources.Timeout)
	}
	for i, h := range c.Sources.HTTPSAllow {
		if h == "" || strings.ContainsAny(h, "/ ") {
			bad(fmt.Sprintf("sources.https_allow[%d]", i), "must be a host name, optionally with :port (got %q)", h)
		}
	}
	for _, name := range sortedKeys(c.Outputs) {
		oc := c.Outputs[name]
		f := fmt.Sprintf("outputs.%s", name)
		if name == "" {
			f = `outputs[""]`
			bad(f, "output name must not be empty")
		}
		fields, known := outputFields[oc.Type]
		switch {
		case oc.Type == "":
			bad(f+".type", "required: one of %s", outputTypeList)
			continue
		case !known:
			bad(f+".type", "must be one of %s (got %q)", outputTypeList, oc.Type)
			continue
		}
		set := oc.setFields()
		for _, r := range fields.required {
			if !set[r] {
				bad(f+"."+r, "required for type %s", oc.Type)
			}
			delete(set, r)
		}
		for _, o := range optionalFields(oc.Type) {
			delete(set, o)
		}
		for _, extra := range sortedKeys(set) {
			bad(f+"."+extra, "only used by type %s (type is %s)", typesUsing(extra), oc.Type)
		}
		if oc.Compression != "" && !oneOf(oc.Compression, CompressionGzip, CompressionZstd, CompressionNone) {
			bad(f+".compression", "must be one of gzip, zstd, none (got %q)", oc.Compression)
		}
		if oc.MaxAttempts < 0 || oc.MaxAttempts > 100 {
			bad(f+".max_attempts", "must be between 1 and 100 (got %d)", oc.MaxAttempts)
		}
		if oc.MaxRecordBytes < 0 || oc.MaxRecordBytes > KinesisMaxRecordBytes {
			bad(f+".max_record_bytes", "must be between 1 and %d (10 MiB, the largest maximum record size a Kinesis stream can have; got %d)", KinesisMaxRecordBytes, oc.MaxRecordBytes)
		}
		if !oneOf(oc.Protocol, KinesisProtocolCBOR, KinesisProtocolJSON) {
			bad(f+".protocol", "must be cbor or json (got %q)", oc.Protocol)
		}
		if oc.Endpoint != "" && !isRef(oc.Endpoint) && !strings.HasPrefix(oc.Endpoint, "http://") && !strings.HasPrefix(oc.Endpoint, "https://") {
			bad(f+".endpoint", "must be an http:// or https:// URL (got %q)", oc.Endpoint)
		}
		if oc.QueueURL != "" && !isRef(oc.QueueURL) && !strings.HasPrefix(oc.QueueURL, "http://") && !strings.HasPrefix(oc.QueueURL, "https://") {
			bad(f+".queue_url", "must be an http:// or https:// URL (got %q)", oc.QueueURL)
		}
		if oc.Type == OutputHTTP {
			validateHTTPOutput(oc, f, bad)
		}
		if !oneOf(oc.InvocationType, "RequestResponse", "Event") {
			bad(f+".invocation_type", "must be RequestResponse or Event (got %q)", oc.InvocationType)
		}
		for _, e := range oc.moreOutputProblems() {
			bad(f+"."+e[0], "%s", e[1])
		}
	}
	for _, p := range c.checkRefs() {
		field, msg, _ := strings.Cut(p, ": ")
		bad(field, "%s", msg)
	}
	return errors.Join(errs...)
}

// isRef reports whether v starts with a ${env:...} or ${secret:...}
// reference, checked once resolved rather than as written.
func isRef(v string) bool {
	return strings.HasPrefix(v, "${"+RefEnv+":") || strings.HasPrefix(v, "${"+RefSecret+":")
}

func oneOf(v string, allowed ...string) bool {
	return v == "" || contains(allowed, v)
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func schemeList() string {
	parts := make([]string, len(moduleSchemes))
	for i, s := range moduleSchemes {
		parts[i] = s + "://"
	}
	return strings.Join(parts, ", ")
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkRef checks the shape of a module or signature reference and
// returns what is wrong with it, or "". allow lists the hosts https://
// references may name.
func checkRef(ref string, allow []string) string {
	scheme, _, ok := strings.Cut(ref, "://")
	if !ok {
		return ""
	}
	if !contains(moduleSchemes, scheme) {
		return "" // reported as an unsupported scheme
	}
	u, err := url.Parse(ref)
	if err != nil {
		return fmt.Sprintf("not a valid URI: %v", err)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch scheme {
	case "s3":
		if u.Host == "" || strings.Trim(u.Path, "/") == "" {
			return fmt.Sprintf("want s3://bucket/key[?versionId=...] (got %q)", ref)
		}
		for k := range u.Query() {
			if k != "versionId" {
				return fmt.Sprintf("unknown query parameter %q in %q (only versionId)", k, ref)
			}
		}
	case "appconfig":
		if u.Host == "" || len(segs) != 2 || segs[0] == "" || segs[1] == "" || u.RawQuery != "" {
			return fmt.Sprintf("want appconfig://application/environment/profile (got %q)", ref)
		}
	case "https":
		if u.Host == "" {
			return fmt.Sprintf("want https://host/path (got %q)", ref)
		}
		if !contains(allow, u.Host) && !contains(allow, u.Hostname()) {
			return fmt.Sprintf("host %q is not in sources.https_allow", u.Host)
		}
	}
	return ""
}

// isPublicKey reports whether s is "ed25519:" and a base64 32-byte key.
func isPublicKey(s string) bool {
	b64, ok := strings.CutPrefix(s, "ed25519:")
	if !ok {
		return false
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	return err == nil && len(b) == ed25519.PublicKeySize
}
