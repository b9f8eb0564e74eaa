package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/weirhq/weir/host/source"
)

// mmdbDB is a MaxMind DB held in memory, shared by the Envs that name the
// same version of the same database (shared.go).
type mmdbDB struct {
	r *maxminddb.Reader
	// version is the source's version of an s3:// database (its ETag).
	version string
}

// mmdbFetchTimeout bounds the download of a remote (s3://) database.
const mmdbFetchTimeout = 2 * time.Minute

// openMMDB loads a database into memory once per version and process: a
// file (a path or file://) by its path, size and modification time, or an
// S3 object (s3://bucket/key[?versionId=v], fetched with so) by its ETag.
func openMMDB(ref string, so source.Options) (*mmdbDB, error) {
	if scheme, _, ok := strings.Cut(ref, "://"); ok && scheme != "file" {
		return openRemoteMMDB(ref, so)
	}
	abs, err := filepath.Abs(strings.TrimPrefix(ref, "file://"))
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

// openRemoteMMDB fetches a database with host/source. When a version is
// already loaded, the fetch is conditional (If-None-Match): an unchanged
// object is not downloaded again, a new one replaces it for the Envs
// created from now on. When the source fails, the loaded version (if any)
// is used. An object whose "sha256" user metadata does not match its
// content is refused.
func openRemoteMMDB(ref string, so source.Options) (*mmdbDB, error) {
	ctx, cancel := context.WithTimeout(context.Background(), mmdbFetchTimeout)
	defer cancel()
	src, err := source.Open(ctx, ref, so)
	if err != nil {
		return nil, err
	}
	return sharedMMDB.update(configKey("mmdb-source", ref), func(old *mmdbDB) (*mmdbDB, error) {
		var prev string
		if old != nil {
			prev = old.version
		}
		obj, err := src.Fetch(ctx, prev)
		switch {
		case err != nil && old != nil:
			return old, nil // not modified, or the source failed: keep serving what is loaded
		case err != nil:
			return nil, err
		}
		if obj.SHA256 != "" {
			if err := source.CheckDigest(obj.Data, obj.SHA256); err != nil {
				return nil, fmt.Errorf("%s (version %s): %w", ref, obj.Label(), err)
			}
		}
		r, err := maxminddb.OpenBytes(obj.Data)
		if err != nil {
			return nil, fmt.Errorf("%s (version %s): %w", ref, obj.Label(), err)
		}
		return &mmdbDB{r: r, version: obj.Version}, nil
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
		return answer{rs: []Result{deniedResult("mmdb database %q is not granted (capabilities.mmdb)", name)}, idx: make([]int32, len(ks.idx)), keys: ks}, nil
	}
	rs := make([]Result, len(ks.distinct))
	for i, ip := range ks.distinct {
		rs[i] = db.lookup(ip)
	}
	return answer{rs: rs, idx: ks.idx, keys: ks}, nil
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
