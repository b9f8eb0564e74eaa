package examples_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/weirhq/weir/host/enrich/enrichtest"
	"github.com/weirhq/weir/host/hosttest"
)

// enrichedLayout copies the enriched example (its pipeline verbatim, its
// fixtures and data) and the two modules built for the test into a
// temporary tree shaped like the repository, and returns its root.
func enrichedLayout(t *testing.T) string {
	t.Helper()
	root := hosttest.RepoRoot(t)
	tmp := t.TempDir()
	copyFile := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ex := filepath.Join("examples", "cloudtrail-ecs")
	for _, f := range []string{"pipeline-enriched.yaml", "data/consolelogin.json", "fixtures/ptr.json", "fixtures/accounts.json", "fixtures/users.json", "fixtures/asn.mmdb"} {
		copyFile(filepath.Join(root, ex, f), filepath.Join(tmp, ex, f))
	}
	for _, m := range []string{"cloudtrail-ecs", "ecs-enrich"} {
		copyFile(hosttest.GoModule(t, "modules/"+m), filepath.Join(tmp, "modules", m, m+".wasm"))
	}
	return tmp
}

// expectReference compares weir's output with the talk's document: every
// field of the shared reference document is there with its value, and the
// whole document equals weir's expected document (the reference plus the
// widened fields, hosttest.ExpectedFile) as JSON.
func expectReference(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("weir run: exit %d\n%s", r.code, r.stderr)
	}
	lines := r.lines()
	if len(lines) != 1 {
		t.Fatalf("%d output lines, want 1:\n%s", len(lines), r.stdout)
	}
	got := parse(t, []byte(lines[0]))
	hosttest.CheckReferenceFields(t, got)
	if exp := hosttest.ExpectedDocument(t); !reflect.DeepEqual(got, exp) {
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Fatalf("the enriched document differs from %s:\n%s", hosttest.ExpectedFile, g)
	}
}

// TestEnrichedExample runs the shipped pipeline-enriched.yaml (static DNS
// answers, table files, the ASN fixture) as the README does.
func TestEnrichedExample(t *testing.T) {
	tmp := enrichedLayout(t)
	ex := filepath.Join(tmp, "examples", "cloudtrail-ecs")
	expectReference(t, weir(t, "run", "-p", filepath.Join(ex, "pipeline-enriched.yaml"), filepath.Join(ex, "data", "consolelogin.json")))
}

// TestEnrichedServers runs the reference job against real servers:
// dnsmasq for the PTR record and dynalite for the users and accounts
// tables.
func TestEnrichedServers(t *testing.T) {
	dnsAddr := enrichtest.Dnsmasq(t, enrichtest.ReferenceDNS...)
	endpoint := enrichtest.Dynalite(t)
	enrichtest.ReferenceTables(t, enrichtest.Client(t, endpoint))
	tmp := enrichedLayout(t)
	ex := filepath.Join(tmp, "examples", "cloudtrail-ecs")
	cfg := fmt.Sprintf(`version: 1
stages:
  - name: normalize
    module: ../../modules/cloudtrail-ecs/cloudtrail-ecs.wasm
  - name: enrich
    module: ../../modules/ecs-enrich/ecs-enrich.wasm
    config: {accounts_table: accounts, accounts_key: account_id, users_table: users, users_key: user_name}
    capabilities:
      dns: {resolver: %q, timeout: 2s}
      dynamodb: {tables: [users, accounts], endpoint: %q, region: us-east-1}
      mmdb: {asn: fixtures/asn.mmdb}
`, dnsAddr, endpoint)
	path := filepath.Join(ex, "pipeline-servers.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	expectReference(t, weir(t, "run", "-p", path, filepath.Join(ex, "data", "consolelogin.json")))

	// Without capabilities the module still runs: the lookups are denied
	// (logged), and the fields are left out.
	bare := strings.Split(cfg, "    capabilities:")[0]
	if err := os.WriteFile(path, []byte(bare), 0o644); err != nil {
		t.Fatal(err)
	}
	r := weir(t, "run", "-p", path, filepath.Join(ex, "data", "consolelogin.json"))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	d := parse(t, []byte(r.lines()[0]))
	if _, ok := get(d, "source.domain"); ok {
		t.Fatal("source.domain set without the dns capability")
	}
	if !strings.Contains(r.stderr, "denied") {
		t.Fatalf("the denial is not logged:\n%s", r.stderr)
	}
}
