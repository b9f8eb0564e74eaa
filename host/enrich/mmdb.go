package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// mmdbDB is a MaxMind DB held in memory, shared by the Envs that name the
// same version of the same file (shared.go).
type mmdbDB struct {
	r *maxminddb.Reader
}

// openMMDB loads a database file into memory once per version of the file
// (its path, size and modification time) and process.
func openMMDB(path string) (*mmdbDB, error) {
	abs, err := filepath.Abs(strings.TrimPrefix(path, "file://"))
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	return sharedMMDB.get(fileVersion(abs, fi), func() (*mmdbDB, error) {
		b, err := os.ReadFile(abs)
		if err != nil {
			return nil, err
		}
		r, err := maxminddb.OpenBytes(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", abs, err)
		}
		return &mmdbDB{r: r}, nil
	})
}

// mmdbCall looks IP addresses up; each found record is returned as JSON.
// Lookups are in memory: no cache, no worker pool; duplicates are looked
// up once.
func (e *Env) mmdbCall(_ context.Context, req []byte) (answer, error) {
	name, ks, err := parseNames(req, "db", "ips")
	if err != nil {
		return answer{}, err
	}
	db, ok := e.mmdb[name]
	if !ok {
		return answer{rs: []Result{deniedResult("mmdb database %q is not granted (capabilities.mmdb)", name)}, idx: make([]int32, len(ks.idx))}, nil
	}
	rs := make([]Result, len(ks.distinct))
	for i, ip := range ks.distinct {
		rs[i] = db.lookup(ip)
	}
	return answer{rs: rs, idx: ks.idx}, nil
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
