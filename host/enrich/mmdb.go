package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"
)

// mmdbDB is a MaxMind DB held in memory.
type mmdbDB struct {
	r *maxminddb.Reader
}

var (
	mmdbMu sync.Mutex
	mmdbs  = map[string]*mmdbDB{} // by absolute path: loaded once per process
)

// openMMDB loads a database file into memory once per process.
func openMMDB(path string) (*mmdbDB, error) {
	path = strings.TrimPrefix(path, "file://")
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	mmdbMu.Lock()
	defer mmdbMu.Unlock()
	if db, ok := mmdbs[abs]; ok {
		return db, nil
	}
	b, err := os.ReadFile(abs)
	if err != nil {
		return nil, err
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", abs, err)
	}
	db := &mmdbDB{r: r}
	mmdbs[abs] = db
	return db, nil
}

type mmdbRequest struct {
	DB  string   `json:"db"`
	IPs []string `json:"ips"`
}

// mmdbCall looks IP addresses up; each found record is returned as JSON.
// Lookups are in memory: no cache, no worker pool.
func (e *Env) mmdbCall(_ context.Context, req []byte) ([]Result, error) {
	var r mmdbRequest
	if err := decode(req, &r); err != nil {
		return nil, err
	}
	if len(r.IPs) > maxKeys {
		return nil, fmt.Errorf("%d addresses (max %d)", len(r.IPs), maxKeys)
	}
	db, ok := e.mmdb[r.DB]
	if !ok {
		return allResults(len(r.IPs), deniedResult("mmdb database %q is not granted (capabilities.mmdb)", r.DB)), nil
	}
	out := make([]Result, len(r.IPs))
	seen := make(map[string]int, len(r.IPs))
	for i, ip := range r.IPs {
		if j, dup := seen[ip]; dup {
			out[i] = out[j]
			continue
		}
		seen[ip] = i
		out[i] = db.lookup(ip)
	}
	return out, nil
}

func (db *mmdbDB) lookup(ip string) Result {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return errResult("%q is not an IP address", ip)
	}
	res := db.r.Lookup(a.Unmap())
	if err := res.Err(); err != nil {
		return errResult("mmdb lookup %s: %v", ip, err)
	}
	if !res.Found() {
		return notFound
	}
	var v any
	if err := res.Decode(&v); err != nil {
		return errResult("mmdb decode %s: %v", ip, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return errResult("mmdb encode %s: %v", ip, err)
	}
	return okResult(b)
}
