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
	clear(lookups.domain)
	clear(lookups.asn)
	clear(lookups.account)
	clear(lookups.user)
	logged = map[string]bool{}

	ips := distinct(b, paths[iSourceIP])
	if len(ips) > 0 {
		if cfg.dns {
			for i, r := range enrich.ReverseDNS(ips) {
				if r.OK() {
					lookups.domain[ips[i]] = r.String()
				} else {
					warn("dns", r)
				}
			}
		}
		for i, r := range enrich.ASNFrom(cfg.asnDB, ips) {
			if r.OK() && r.Number != 0 {
				lookups.asn[ips[i]] = asn{number: r.Number, org: r.Organization}
			} else {
				warn("asn", r.Result)
			}
		}
	}

	if ids := distinct(b, paths[iAccountID]); len(ids) > 0 {
		if cfg.accountNames != nil {
			for _, id := range ids {
				if name, ok := cfg.accountNames[id]; ok {
					lookups.account[id] = name
				}
			}
		} else {
			keys := make([]enrich.Key, len(ids))
			for i, id := range ids {
				keys[i] = enrich.StringKey(cfg.accountsKey, id)
			}
			var p fastjson.Parser
			for i, r := range enrich.GetItems(cfg.accountsTable, keys) {
				if !r.OK() {
					warn("accounts", r)
					continue
				}
				if v, err := p.ParseBytes(r.Value); err == nil {
					if name := v.GetStringBytes("name"); len(name) > 0 {
						lookups.account[ids[i]] = string(name)
					}
				}
			}
		}
	}

	if names := distinct(b, paths[iUserName]); len(names) > 0 {
		keys := make([]enrich.Key, len(names))
		for i, n := range names {
			keys[i] = enrich.StringKey(cfg.usersKey, n)
		}
		var p fastjson.Parser
		for i, r := range enrich.GetItems(cfg.usersTable, keys) {
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
			lookups.user[names[i]] = u
		}
	}
	return nil
}

// warn logs the first failure (not a negative answer) of a kind in a
// batch.
func warn(kind string, r enrich.Result) {
	if r.Err == nil || logged[kind] {
		return
	}
	logged[kind] = true
	weir.LogWarn("ecs-enrich: " + kind + " lookup: " + r.Err.Error())
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
