package main

import (
	"strings"

	"github.com/valyala/fastjson"
	"github.com/weirhq/weir/engine/frame"
	"github.com/weirhq/weir/sdk/go/weir"
	"github.com/weirhq/weir/sdk/go/weir/enrich"
)

// The values the module reads, as host views.
const (
	iSourceIP = iota
	iUserName
	iAccountID
	nPaths
)

var paths = []string{
	iSourceIP:  "source.ip",
	iUserName:  "user.name",
	iAccountID: "cloud.account.id",
}

// values is reused from record to record.
var values []weir.Value

// settings are the module's configuration (stage config values).
type settings struct {
	accountsTable, accountsKey string
	accountNames               map[string]string // from account_names, when set
	usersTable, usersKey       string
	asnDB                      string
	dns                        bool
}

// config returns the setting key, or def.
var config = func(key, def string) string {
	if v, ok := weir.Config(key); ok && v != "" {
		return v
	}
	return def
}

var (
	cfg    *settings
	logged map[string]bool // kinds whose failure was logged in this batch
)

func loadSettings() *settings {
	s := &settings{
		accountsTable: config("accounts_table", "accounts"),
		accountsKey:   config("accounts_key", "account_id"),
		usersTable:    config("users_table", "users"),
		usersKey:      config("users_key", "user_name"),
		asnDB:         config("asn_db", "asn"),
		dns:           config("dns", "true") != "false",
	}
	if names := config("account_names", ""); names != "" {
		s.accountNames = map[string]string{}
		for pair := range strings.SplitSeq(names, ",") {
			if id, name, ok := strings.Cut(strings.TrimSpace(pair), "="); ok {
				s.accountNames[id] = name
			}
		}
	}
	return s
}

// user is a users-table entry.
type user struct {
	fullName string
	roles    []byte // JSON array
}

type asn struct {
	number uint32
	org    string
}

// batchLookups are the answers for the batch being transformed.
type batchLookups struct {
	domain  map[string]string
	asn     map[string]asn
	account map[string]string
	user    map[string]user
}

var lookups = batchLookups{
	domain: map[string]string{}, asn: map[string]asn{},
	account: map[string]string{}, user: map[string]user{},
}

// distinct appends the distinct non-empty strings of path in b.
func distinct(b *weir.Records, path string) []string {
	seen := map[string]bool{}
	var out []string
	for i := range b.Len() {
		s := string(b.Get(i, path).StringBytes())
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// prepare resolves the batch's keys: one host call per kind.
func prepare(b *weir.Records) error {
	if cfg == nil {
		cfg = loadSettings()
	}
	lookups.reset()
	logged = map[string]bool{}

	if ips := distinct(b, paths[iSourceIP]); len(ips) > 0 {
		if cfg.dns {
			lookups.addDomains(ips, enrich.ReverseDNS(ips), warn)
		}
		lookups.addASNs(ips, enrich.ASNFrom(cfg.asnDB, ips), warn)
	}
	if ids := distinct(b, paths[iAccountID]); len(ids) > 0 {
		if cfg.accountNames != nil {
			lookups.addAccountNames(ids, cfg.accountNames)
		} else {
			lookups.addAccounts(ids, enrich.GetItems(cfg.accountsTable, stringKeys(cfg.accountsKey, ids)), warn)
		}
	}
	if names := distinct(b, paths[iUserName]); len(names) > 0 {
		lookups.addUsers(names, enrich.GetItems(cfg.usersTable, stringKeys(cfg.usersKey, names)), warn)
	}
	return nil
}

// stringKeys are the keys {attr: value} of values.
func stringKeys(attr string, values []string) []enrich.Key {
	keys := make([]enrich.Key, len(values))
	for i, v := range values {
		keys[i] = enrich.StringKey(attr, v)
	}
	return keys
}

// warnFunc reports a failed lookup of a kind ("dns", "asn", "accounts",
// "users").
type warnFunc func(kind string, r enrich.Result)

// logWarn writes the module's warnings (a variable for the tests).
var logWarn = weir.LogWarn

// warn logs the first failure (not a negative answer) of a kind in a
// batch.
func warn(kind string, r enrich.Result) {
	if r.Err == nil || logged[kind] {
		return
	}
	logged[kind] = true
	logWarn("ecs-enrich: " + kind + " lookup: " + r.Err.Error())
}

// reset forgets the previous batch's answers.
func (l *batchLookups) reset() {
	clear(l.domain)
	clear(l.asn)
	clear(l.account)
	clear(l.user)
}

// addDomains keeps the PTR name of each IP address that has one
// (source.domain); a negative answer or an error leaves it out.
func (l *batchLookups) addDomains(ips []string, rs []enrich.Result, warn warnFunc) {
	for i, r := range rs {
		if r.OK() && len(r.Value) > 0 {
			l.domain[ips[i]] = r.String()
		} else {
			warn("dns", r)
		}
	}
}

// addASNs keeps the autonomous system of each IP address found in the
// ASN database (source.as.*); a record without a number is left out.
func (l *batchLookups) addASNs(ips []string, rs []enrich.ASNResult, warn warnFunc) {
	for i, r := range rs {
		if r.OK() && r.Number != 0 {
			l.asn[ips[i]] = asn{number: r.Number, org: r.Organization}
		} else {
			warn("asn", r.Result)
		}
	}
}

// addAccountNames takes account names from the account_names setting.
func (l *batchLookups) addAccountNames(ids []string, names map[string]string) {
	for _, id := range ids {
		if name, ok := names[id]; ok {
			l.account[id] = name
		}
	}
}

// addAccounts keeps the "name" attribute of each account item found
// (cloud.account.name).
func (l *batchLookups) addAccounts(ids []string, rs []enrich.Result, warn warnFunc) {
	var p fastjson.Parser
	for i, r := range rs {
		if !r.OK() {
			warn("accounts", r)
			continue
		}
		if v, err := p.ParseBytes(r.Value); err == nil {
			if name := v.GetStringBytes("name"); len(name) > 0 {
				l.account[ids[i]] = string(name)
			}
		}
	}
}

// addUsers keeps the full_name and roles (a JSON array) of each user item
// found (user.full_name, user.roles); an item with neither is left out.
func (l *batchLookups) addUsers(names []string, rs []enrich.Result, warn warnFunc) {
	var p fastjson.Parser
	for i, r := range rs {
		if !r.OK() {
			warn("users", r)
			continue
		}
		v, err := p.ParseBytes(r.Value)
		if err != nil {
			continue
		}
		var u user
		u.fullName = string(v.GetStringBytes("full_name"))
		if roles := v.Get("roles"); roles != nil && roles.Type() == fastjson.TypeArray {
			u.roles = roles.MarshalTo(nil)
		}
		if u.fullName != "" || u.roles != nil {
			l.user[names[i]] = u
		}
	}
}

// apply writes the enrichment fields of one record.
func (l *batchLookups) apply(v []weir.Value, d *frame.Ops) {
	_ = v[nPaths-1]
	if id := v[iAccountID].StringBytes(); len(id) > 0 {
		if name, ok := l.account[string(id)]; ok {
			d.SetString("cloud.account.name", name)
		}
	}
	if ip := v[iSourceIP].StringBytes(); len(ip) > 0 {
		if dom, ok := l.domain[string(ip)]; ok {
			d.SetString("source.domain", dom)
		}
		if a, ok := l.asn[string(ip)]; ok {
			d.SetInt("source.as.number", int64(a.number))
			if a.org != "" {
				d.SetString("source.as.organization.name", a.org)
			}
		}
	}
	if name := v[iUserName].StringBytes(); len(name) > 0 {
		if u, ok := l.user[string(name)]; ok {
			if u.fullName != "" {
				d.SetString("user.full_name", u.fullName)
			}
			if u.roles != nil {
				d.SetJSON("user.roles", u.roles)
			}
		}
	}
}
