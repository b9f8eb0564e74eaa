package engine

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/weirhq/weir/engine/allowlist"
)

// validateHTTPOutput checks the settings of an "http" output: a known
// preset and format, an http(s) URL whose host allow_hosts lists, and
// sane limits. A URL holding a ${...} reference (a Sumo Logic source URL
// is itself a secret) is checked when the output opens instead.
func validateHTTPOutput(oc OutputConfig, f string, bad func(field, format string, args ...any)) {
	if !oneOf(oc.Preset, PresetSplunkHEC, PresetDatadog, PresetElasticsearch, PresetSumoLogic) {
		bad(f+".preset", "must be one of %s, %s, %s, %s (got %q)", PresetSplunkHEC, PresetDatadog, PresetElasticsearch, PresetSumoLogic, oc.Preset)
	}
	if !oneOf(oc.Format, HTTPFormatNDJSON, HTTPFormatJSONArray) {
		bad(f+".format", "must be %s or %s (got %q)", HTTPFormatNDJSON, HTTPFormatJSONArray, oc.Format)
	}
	if oc.Format != "" && oc.Preset != "" {
		bad(f+".format", "the %s preset fixes the body format; remove format", oc.Preset)
	}
	if !oneOf(oc.Compression, CompressionGzip, CompressionNone) {
		bad(f+".compression", "must be gzip or none for type http (got %q)", oc.Compression)
	}
	if oc.Index != "" && oc.Preset != PresetElasticsearch {
		bad(f+".index", "only used by the elasticsearch preset")
	}
	for name, v := range map[string]int{"max_request_bytes": oc.MaxRequestBytes, "max_request_entries": oc.MaxRequestEntries, "max_entry_bytes": oc.MaxEntryBytes} {
		if v < 0 {
			bad(f+"."+name, "must be positive (got %d)", v)
		}
	}
	hosts, err := allowlist.ParseList(oc.AllowHosts)
	if err != nil {
		bad(f+".allow_hosts", "%v", err)
		return
	}
	if strings.Contains(oc.URL, "${") {
		return
	}
	u, err := url.Parse(oc.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		bad(f+".url", "must be an http:// or https:// URL")
		return
	}
	port := allowlist.DefaultPort(u.Scheme)
	if p := u.Port(); p != "" {
		n, _ := strconv.ParseUint(p, 10, 16)
		port = uint16(n)
	}
	if ok, _ := hosts.Match(strings.ToLower(u.Hostname()), port); !ok {
		bad(f+".url", "host %q port %d is not in allow_hosts", u.Hostname(), port)
	}
}
