package enrich

import (
	"bytes"
	"flag"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/weirhq/weir/host/hosttest"
	"github.com/weirhq/weir/host/source"
)

var updateFixtures = flag.Bool("update", false, "rewrite the example's MMDB fixture")

// asnFixture is the reference job's ASN database: 192.0.2.0 is a
// documentation address no public database holds.
var asnFixture = map[string]mmdbtype.Map{
	"192.0.2.0/24": {
		"autonomous_system_number":       mmdbtype.Uint32(7922),
		"autonomous_system_organization": mmdbtype.String("Comcast Cable Communications, LLC"),
	},
	"198.51.100.0/24": {
		"autonomous_system_number":       mmdbtype.Uint32(64496),
		"autonomous_system_organization": mmdbtype.String("Documentation AS"),
	},
}

// buildASN writes the ASN fixture database with mmdbwriter.
func buildASN(tb testing.TB) []byte {
	tb.Helper()
	return buildMMDB(tb, asnFixture)
}

// buildMMDB writes a GeoLite2-ASN-shaped database of networks.
func buildMMDB(tb testing.TB, networks map[string]mmdbtype.Map) []byte {
	tb.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "GeoLite2-ASN",
		Description:             map[string]string{"en": "weir reference job ASN fixture"},
		IncludeReservedNetworks: true,
		RecordSize:              24,
		BuildEpoch:              1700000000,
	})
	if err != nil {
		tb.Fatal(err)
	}
	for cidr, rec := range networks {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := w.Insert(n, rec); err != nil {
			tb.Fatal(err)
		}
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// TestASNFixture checks examples/cloudtrail-ecs/fixtures/asn.mmdb (go
// test -run TestASNFixture -update rewrites it) and that it resolves the
// reference address.
func TestASNFixture(t *testing.T) {
	path := filepath.Join(hosttest.RepoRoot(t), "examples", "cloudtrail-ecs", "fixtures", "asn.mmdb")
	if *updateFixtures {
		if err := os.WriteFile(path, buildASN(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := openMMDB(path, source.Options{})
	if err != nil {
		t.Fatalf("%v (regenerate with go test ./host/enrich -run TestASNFixture -update)", err)
	}
	r := db.lookup("192.0.2.0")
	want := `{"autonomous_system_number":7922,"autonomous_system_organization":"Comcast Cable Communications, LLC"}`
	if r.Status != StatusOK || string(r.Value) != want {
		t.Fatalf("192.0.2.0: %d %s, want %s", r.Status, r.Value, want)
	}
}
