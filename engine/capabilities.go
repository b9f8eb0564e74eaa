package engine

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/weirhq/weir/engine/allowlist"
)

// Capabilities are the host functions a stage's module may call (DNS, HTTP,
// DynamoDB and local tables, key-value cache, MMDB lookups). Everything is
// denied by default: a section that is absent denies its host function, and
// a call to a denied function returns an error value to the module (never a
// trap). Relative file paths resolve against the configuration's folder.
type Capabilities struct {
	// DNS grants DNS lookups (PTR, A, AAAA, TXT).
	DNS *DNSCapability `json:"dns,omitempty" yaml:"dns,omitempty"`
	// HTTP grants HTTP requests to allow-listed hosts.
	HTTP *HTTPCapability `json:"http,omitempty" yaml:"http,omitempty"`
	// DynamoDB grants GetItem/BatchGetItem/Query/PutItem on allow-listed
	// tables.
	DynamoDB *DynamoDBCapability `json:"dynamodb,omitempty" yaml:"dynamodb,omitempty"`
	// Tables are local in-memory tables loaded once from files, queried
	// through the same API as DynamoDB tables (by name).
	Tables map[string]TableFile `json:"tables,omitempty" yaml:"tables,omitempty"`
	// Cache grants the key-value cache.
	Cache *CacheCapability `json:"cache,omitempty" yaml:"cache,omitempty"`
	// MMDB maps database names ("asn", "city") to MaxMind DB files (a
	// path, file:// or s3://bucket/key), loaded once per process into
	// memory and shared by every stage naming the same file.
	MMDB map[string]string `json:"mmdb,omitempty" yaml:"mmdb,omitempty"`
	// MMDBAssumeRoleARN reads the s3:// MMDB files as this IAM role (STS
	// AssumeRole): databases kept in another account.
	MMDBAssumeRoleARN string `json:"mmdb_assume_role_arn,omitempty" yaml:"mmdb_assume_role_arn,omitempty"`
}

// DNSCapability configures DNS lookups.
type DNSCapability struct {
	// Resolver is the DNS server, host:port (port 53 when omitted).
	// Required unless Static is set.
	Resolver string `json:"resolver,omitempty" yaml:"resolver,omitempty"`
	// Static is a JSON answer file used instead of a resolver:
	// {"PTR":{"192.0.2.0":["name."]},"A":{...},"AAAA":{...},"TXT":{...}}.
	Static string `json:"static,omitempty" yaml:"static,omitempty"`
	// Timeout per query (default 2s).
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Concurrency bounds the queries in flight for one call (default 32).
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	// CacheTTL keeps answers (default 5m; negative disables caching).
	CacheTTL Duration `json:"cache_ttl,omitempty" yaml:"cache_ttl,omitempty"`
	// NegativeTTL keeps NXDOMAIN / no-answer results (default 1m).
	NegativeTTL Duration `json:"negative_ttl,omitempty" yaml:"negative_ttl,omitempty"`
}

// HTTPCapability configures HTTP requests.
type HTTPCapability struct {
	// AllowHosts lists where requests may go: host names, "*.suffix"
	// patterns (never matching IP literals), IP literals, or "*" (any
	// host with a public address), each optionally with ":port" (an entry
	// without a port allows every port). Required. See package allowlist.
	AllowHosts []string `json:"allow_hosts" yaml:"allow_hosts"`
	// AllowPrivate lets requests to the hosts AllowHosts names (not "*")
	// reach loopback, private and link-local addresses. Cloud credential
	// and metadata addresses and the runtime's local endpoints (Lambda
	// Runtime API, AppConfig agent) stay refused. Default false.
	AllowPrivate bool `json:"allow_private,omitempty" yaml:"allow_private,omitempty"`
	// AllowMetadata is refused when true: the cloud metadata and
	// credential endpoints are never reachable. (It is kept so that an old
	// configuration gets that explanation rather than "unknown key".)
	AllowMetadata bool `json:"allow_metadata,omitempty" yaml:"allow_metadata,omitempty"`
	// Timeout per request, redirects included (default 5s).
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// MaxBodyBytes caps a response body (default 1 MiB); a larger body is
	// an error value for that request.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty" yaml:"max_body_bytes,omitempty"`
	// Concurrency bounds the requests in flight for one call (default 16).
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	// CacheTTL keeps GET responses (default 0: no caching).
	CacheTTL Duration `json:"cache_ttl,omitempty" yaml:"cache_ttl,omitempty"`
}

// DynamoDBCapability configures DynamoDB access.
type DynamoDBCapability struct {
	// Tables lists the tables the module may use. Required.
	Tables []string `json:"tables" yaml:"tables"`
	// Region of the tables (default: the AWS configuration's).
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
	// Endpoint overrides the service endpoint (dynalite, LocalStack).
	Endpoint string `json:"endpoint,omitempty" yaml:"endpoint,omitempty"`
	// AssumeRoleARN reads the tables as this IAM role (STS AssumeRole
	// from the function's credentials, renewed before expiry): tables in
	// another account.
	AssumeRoleARN string `json:"assume_role_arn,omitempty" yaml:"assume_role_arn,omitempty"`
	// Timeout per request (default 5s).
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Concurrency bounds the requests in flight for one call (default 8).
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency,omitempty"`
	// CacheTTL keeps GetItem results, misses included (default 5m;
	// negative disables caching).
	CacheTTL Duration `json:"cache_ttl,omitempty" yaml:"cache_ttl,omitempty"`
}

// TableFile is a local table: a JSON file holding an array of items (JSON
// objects) or an object of items by key, or a CSV file with a header row.
type TableFile struct {
	// File is the table's path (or file://).
	File string `json:"file" yaml:"file"`
	// Key is the attribute that identifies an item.
	Key string `json:"key" yaml:"key"`
}

// CacheCapability configures the key-value cache.
type CacheCapability struct {
	// Backend is "memory" (default: bounded, per process) or "dynamodb".
	Backend string `json:"backend,omitempty" yaml:"backend,omitempty"`
	// MaxEntries bounds the memory backend (default 100000).
	MaxEntries int `json:"max_entries,omitempty" yaml:"max_entries,omitempty"`
	// DefaultTTL applies to sets without a TTL (default 1h).
	DefaultTTL Duration `json:"default_ttl,omitempty" yaml:"default_ttl,omitempty"`
	// Table is the DynamoDB table of the dynamodb backend: partition key
	// "pk" (string), value attribute "v", TTL attribute TTLAttribute.
	Table string `json:"table,omitempty" yaml:"table,omitempty"`
	// TTLAttribute names the expiry attribute (epoch seconds; default
	// "ttl").
	TTLAttribute string `json:"ttl_attribute,omitempty" yaml:"ttl_attribute,omitempty"`
	// Region, Endpoint and AssumeRoleARN as in DynamoDBCapability.
	Region        string `json:"region,omitempty" yaml:"region,omitempty"`
	Endpoint      string `json:"endpoint,omitempty" yaml:"endpoint,omitempty"`
	AssumeRoleARN string `json:"assume_role_arn,omitempty" yaml:"assume_role_arn,omitempty"`
}

// Empty reports whether no capability is granted.
func (c Capabilities) Empty() bool {
	return c.DNS == nil && c.HTTP == nil && c.DynamoDB == nil && len(c.Tables) == 0 && c.Cache == nil && len(c.MMDB) == 0
}

// WithBaseDir returns c with relative file paths (dns.static, tables,
// mmdb) resolved against dir.
func (c Capabilities) WithBaseDir(dir string) Capabilities {
	if dir == "" {
		return c
	}
	abs := func(p string) string {
		if p == "" {
			return p
		}
		if rest, ok := strings.CutPrefix(p, "file://"); ok {
			p = rest
		} else if strings.Contains(p, "://") {
			return p
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return p
	}
	if c.DNS != nil {
		d := *c.DNS
		d.Static = abs(d.Static)
		c.DNS = &d
	}
	if len(c.Tables) > 0 {
		t := make(map[string]TableFile, len(c.Tables))
		for k, v := range c.Tables {
			v.File = abs(v.File)
			t[k] = v
		}
		c.Tables = t
	}
	if len(c.MMDB) > 0 {
		m := make(map[string]string, len(c.MMDB))
		for k, v := range c.MMDB {
			m[k] = abs(v)
		}
		c.MMDB = m
	}
	return c
}

// validate reports the problems of c, each through bad(field, message).
func (c Capabilities) validate(f string, bad func(field, format string, args ...any)) {
	f += ".capabilities"
	if d := c.DNS; d != nil {
		switch {
		case d.Resolver == "" && d.Static == "":
			bad(f+".dns", "set resolver (host:port) or static (an answer file)")
		case d.Resolver != "" && d.Static != "":
			bad(f+".dns", "set resolver or static, not both")
		}
		if d.Resolver != "" && !validHostPort(d.Resolver) {
			bad(f+".dns.resolver", "must be host or host:port (got %q)", d.Resolver)
		}
		if d.Timeout < 0 || d.Concurrency < 0 {
			bad(f+".dns", "timeout and concurrency must not be negative")
		}
	}
	if h := c.HTTP; h != nil {
		if len(h.AllowHosts) == 0 {
			bad(f+".http.allow_hosts", "required: the hosts requests may go to")
		}
		for _, host := range h.AllowHosts {
			if isRef(host) {
				continue // checked once resolved (NewPipeline)
			}
			if _, err := allowlist.Parse(host); err != nil {
				bad(f+".http.allow_hosts", "%v", err)
			}
		}
		if h.AllowMetadata {
			bad(f+".http.allow_metadata", "is no longer supported: cloud metadata and credential endpoints (IMDS, ECS, EKS Pod Identity, the Lambda Runtime API) are always refused; remove it")
		}
		if h.Timeout < 0 || h.MaxBodyBytes < 0 || h.Concurrency < 0 {
			bad(f+".http", "timeout, max_body_bytes and concurrency must not be negative")
		}
	}
	if d := c.DynamoDB; d != nil {
		if len(d.Tables) == 0 {
			bad(f+".dynamodb.tables", "required: the tables the module may use")
		}
		if d.Timeout < 0 || d.Concurrency < 0 {
			bad(f+".dynamodb", "timeout and concurrency must not be negative")
		}
	}
	for _, name := range sortedKeys(c.Tables) {
		t := c.Tables[name]
		if t.File == "" {
			bad(fmt.Sprintf("%s.tables.%s.file", f, name), "required")
		}
		if t.Key == "" {
			bad(fmt.Sprintf("%s.tables.%s.key", f, name), "required: the attribute that identifies an item")
		}
		if c.DynamoDB != nil && contains(c.DynamoDB.Tables, name) {
			bad(fmt.Sprintf("%s.tables.%s", f, name), "also listed in dynamodb.tables: a name is a local table or a DynamoDB table")
		}
	}
	if cc := c.Cache; cc != nil {
		switch cc.Backend {
		case "", "memory":
		case "dynamodb":
			if cc.Table == "" {
				bad(f+".cache.table", "required for backend dynamodb")
			}
		default:
			bad(f+".cache.backend", "must be memory or dynamodb (got %q)", cc.Backend)
		}
		if cc.MaxEntries < 0 || cc.DefaultTTL < 0 {
			bad(f+".cache", "max_entries and default_ttl must not be negative")
		}
	}
	for _, name := range sortedKeys(c.MMDB) {
		if c.MMDB[name] == "" {
			bad(fmt.Sprintf("%s.mmdb.%s", f, name), "required: a file path")
		} else if scheme, _, ok := strings.Cut(c.MMDB[name], "://"); ok && scheme != "file" && scheme != "s3" {
			bad(fmt.Sprintf("%s.mmdb.%s", f, name), "only paths, file:// and s3:// are supported (got %s://)", scheme)
		}
	}
}

func isIPLiteral(s string) bool {
	_, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil
}

func validHostPort(s string) bool {
	if strings.ContainsAny(s, "/ ") {
		return false
	}
	if isIPLiteral(s) {
		return true
	}
	host := s
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.HasSuffix(s, "]") {
		host = s[:i]
		port := s[i+1:]
		if port == "" {
			return false
		}
		for _, c := range port {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return host != ""
}
