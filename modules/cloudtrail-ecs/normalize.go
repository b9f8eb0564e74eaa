package main

import (
	"bytes"
	"net/netip"
	"unsafe"

	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/sdk/go/weir"
)

// The CloudTrail values the module itself inspects, in the order of
// paths: views the host parses natively, read with one Record.Values call
// per record. Plain renames need no view: they are CopyString operations,
// applied by the host.
const (
	iErrorCode = iota
	iErrorMessage
	iConsoleLogin
	iEventSource
	iSourceIP
	iTLSVersion
	iPrincipalID
	iEventTime
	iEventName
	iUserName
	iIdentityType
	iIdentityCenterName
	iRequestUserName
	iRequestNewUserName
	nPaths
)

var paths = []string{
	iErrorCode:    "errorCode",
	iErrorMessage: "errorMessage",
	iConsoleLogin: "responseElements.ConsoleLogin",
	iEventSource:  "eventSource",
	iSourceIP:     "sourceIPAddress",
	iTLSVersion:   "tlsDetails.tlsVersion",
	iPrincipalID:  "userIdentity.principalId",
	iEventTime:    "eventTime",
	iEventName:    "eventName",
	// related.user and the user.name fallbacks.
	iUserName:           "userIdentity.userName",
	iIdentityType:       "userIdentity.type",
	iIdentityCenterName: "additionalEventData.UserName",
	iRequestUserName:    "requestParameters.userName",
	iRequestNewUserName: "requestParameters.newUserName",
}

const awsServiceSuffix = ".amazonaws.com"

// The constant runs of the operation list, built once and merged where
// they follow each other, so that a record costs few appends: each one is a
// call to memmove in Wasm. CopyString copies a field only when it is a
// non-empty string, so absent, null, empty and non-string values give no
// field, without the guest looking at them.
var (
	// @timestamp, event.action, event.id, event.hash, event.original, and
	// event.outcome when it is constant.
	opsHead        = ops(head)
	opsHeadFailure = ops(func(o *frame.Ops) { head(o); o.SetString("event.outcome", "failure") })
	opsHeadSuccess = ops(func(o *frame.Ops) { head(o); o.SetString("event.outcome", "success") })
	// source.ip and tls.cipher, or tls.cipher alone (no valid source IP).
	opsSourceIPCipher = ops(func(o *frame.Ops) {
		o.CopyString("source.ip", "sourceIPAddress")
		o.CopyString("tls.cipher", "tlsDetails.cipherSuite")
	})
	opsCipher     = ops(func(o *frame.Ops) { o.CopyString("tls.cipher", "tlsDetails.cipherSuite") })
	opsServerName = ops(func(o *frame.Ops) { o.CopyString("tls.client.server_name", "tlsDetails.clientProvidedHostHeader") })
	// user.id, user_agent.original
	opsUserIDAgent = ops(func(o *frame.Ops) {
		o.CopyString("user.id", "userIdentity.principalId")
		o.CopyString("user_agent.original", "userAgent")
	})
	serviceSuffix = []byte(awsServiceSuffix)
)

// head writes the first operations of every document.
func head(o *frame.Ops) {
	o.CopyString("@timestamp", "eventTime")
	o.CopyString("event.action", "eventName")
	o.CopyString("event.id", "eventID")
	o.SetDigest("event.hash", frame.DigestSHA256)
	o.SetOriginal("event.original")
}

// kindAndCloud writes the operations around the categorization:
// event.kind before it, then event.provider, cloud.account.id
// (userIdentity.accountId, else recipientAccountId: the second copy
// overwrites the first in place), cloud.provider and cloud.region after
// it.
func kindAndCloud(o *frame.Ops, categorization func(o *frame.Ops)) {
	o.SetString("event.kind", "event")
	categorization(o)
	o.CopyString("event.provider", "eventSource")
	o.CopyString("cloud.account.id", "recipientAccountId")
	o.CopyString("cloud.account.id", "userIdentity.accountId")
	o.SetString("cloud.provider", "aws")
	o.CopyString("cloud.region", "awsRegion")
}

func ops(build func(o *frame.Ops)) *frame.Ops {
	o := new(frame.Ops)
	build(o)
	return o
}

// relatedBuf is scratch space for the related.* arrays (SetJSON copies
// what it is given).
var relatedBuf []byte

var identityCenterUser = []byte("IdentityCenterUser")

// lowerBuf is scratch space for lower-cased values (a module instance runs
// one record at a time; SetStringBytes copies what it is given).
var lowerBuf []byte

// notCloudTrail reports a record that is not a CloudTrail event: a JSON
// object with neither eventTime nor eventName (every CloudTrail event has
// both; shippers such as Logstash move eventTime to @timestamp, so one of
// them is enough). Such an object ({"Records": null}, {}, a test-case
// wrapper, a saved Lambda event) would otherwise become an almost empty
// ECS document with outcome "success".
func notCloudTrail(v []weir.Value) string {
	if !v[iEventTime].Exists() && !v[iEventName].Exists() {
		return "cloudtrail-ecs: not a CloudTrail event: no eventTime and no eventName"
	}
	return ""
}

// normalize writes the ECS document of one CloudTrail record as operations
// on d. v holds the values of paths (v[iErrorCode], ...). Keys come in the
// reference document's order. Only non-empty JSON strings are taken from
// the record.
func normalize(v []weir.Value, d *frame.Ops) {
	_ = v[nPaths-1]
	switch {
	case len(v[iErrorCode].StringBytes()) > 0 || len(v[iErrorMessage].StringBytes()) > 0:
		d.Append(opsHeadFailure)
	default:
		if s := v[iConsoleLogin].StringBytes(); len(s) > 0 {
			d.Append(opsHead)
			lowerBuf = appendLower(lowerBuf[:0], s)
			d.SetStringBytes("event.outcome", lowerBuf)
		} else {
			d.Append(opsHeadSuccess)
		}
	}

	// event.kind, event.category, event.type, event.provider, cloud.*
	d.Append(categorize(v[iEventName].StringBytes()))
	if s := bytes.TrimSuffix(v[iEventSource].StringBytes(), serviceSuffix); len(s) > 0 {
		d.SetStringBytes("cloud.service.name", s)
	}

	var sourceIP []byte
	if s := v[iSourceIP].StringBytes(); len(s) > 0 && isIP(s) {
		sourceIP = s
		d.Append(opsSourceIPCipher)
	} else {
		d.Append(opsCipher)
	}
	if protocol, version, ok := cut(v[iTLSVersion].StringBytes(), 'v'); ok {
		if len(version) > 0 {
			d.SetStringBytes("tls.version", version)
		}
		if len(protocol) > 0 {
			lowerBuf = appendLower(lowerBuf[:0], protocol)
			d.SetStringBytes("tls.version_protocol", lowerBuf)
		}
	}
	d.Append(opsServerName)

	// user.name: the session name of the principal, else userName, else
	// (Identity Center users) additionalEventData.UserName.
	var name []byte
	if _, session, ok := cut(v[iPrincipalID].StringBytes(), ':'); ok {
		if n, domain, hasAt := cut(session, '@'); hasAt {
			setBytes(d, "user.email", session)
			name = n
			setBytes(d, "user.name", name)
			setBytes(d, "user.domain", domain)
		} else {
			name = session
			setBytes(d, "user.name", name)
		}
	} else if n := v[iUserName].StringBytes(); len(n) > 0 {
		name = n
		d.SetStringBytes("user.name", name)
	} else if bytes.Equal(v[iIdentityType].StringBytes(), identityCenterUser) {
		name = v[iIdentityCenterName].StringBytes()
		setBytes(d, "user.name", name)
	}
	d.Append(opsUserIDAgent)

	// related.user: the user names of the event, each once, in this order;
	// related.ip: source.ip.
	relatedBuf = relatedBuf[:0]
	users := [...][]byte{name, v[iUserName].StringBytes(), v[iRequestUserName].StringBytes(), v[iRequestNewUserName].StringBytes()}
	for i, u := range users {
		if len(u) == 0 || seen(users[:i], u) {
			continue
		}
		relatedBuf = append(relatedBuf, ',')
		relatedBuf = frame.AppendString(relatedBuf, u)
	}
	if len(relatedBuf) > 0 {
		relatedBuf[0] = '['
		relatedBuf = append(relatedBuf, ']')
		d.SetJSON("related.user", relatedBuf)
	}
	if sourceIP != nil {
		relatedBuf = append(relatedBuf[:0], '[')
		relatedBuf = frame.AppendString(relatedBuf, sourceIP)
		relatedBuf = append(relatedBuf, ']')
		d.SetJSON("related.ip", relatedBuf)
	}
}

// seen reports whether u equals one of prev.
func seen(prev [][]byte, u []byte) bool {
	for _, p := range prev {
		if bytes.Equal(p, u) {
			return true
		}
	}
	return false
}

// cut is bytes.Cut for one separator byte, without calls (they are
// expensive in Go compiled to Wasm).
func cut(s []byte, sep byte) (before, after []byte, found bool) {
	for i, c := range s {
		if c == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, nil, false
}

func setBytes(d *frame.Ops, path string, v []byte) {
	if len(v) > 0 {
		d.SetStringBytes(path, v)
	}
}

// isIP reports whether s parses as an IPv4 or IPv6 address (as
// netip.ParseAddr does).
func isIP(s []byte) bool {
	if isDottedQuad(s) {
		return true
	}
	// The string does not outlive the call: no copy.
	_, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(s), len(s)))
	return err == nil
}

// isDottedQuad reports whether s is an IPv4 address in the usual form:
// four decimal fields of 0-255 without leading zeros, separated by dots.
// It is one loop, cheaper in Wasm than netip.ParseAddr, which isIP asks
// about everything else (netip accepts exactly these and more).
func isDottedQuad(s []byte) bool {
	if len(s) < 7 || len(s) > 15 {
		return false
	}
	fields, n, digits := 0, 0, 0
	for _, c := range s {
		switch {
		case '0' <= c && c <= '9':
			if digits == 1 && n == 0 {
				return false // leading zero
			}
			n = n*10 + int(c-'0')
			digits++
			if n > 255 {
				return false
			}
		case c == '.' && digits > 0:
			fields++
			n, digits = 0, 0
		default:
			return false
		}
	}
	return fields == 3 && digits > 0
}

// appendLower appends s with ASCII letters lower-cased.
func appendLower(dst, s []byte) []byte {
	for _, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// isObject reports whether the first non-blank byte of b opens an object.
func isObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}
