package hosttest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FreePort returns a port on 127.0.0.1 free for both TCP and UDP (a DNS
// server needs both).
func FreePort(tb testing.TB) int {
	tb.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("hosttest: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	tb.Fatal("hosttest: no port free for both TCP and UDP")
	return 0
}

// WaitPort waits until 127.0.0.1:port accepts connections.
func WaitPort(tb testing.TB, port int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("hosttest: nothing listens on 127.0.0.1:%d after %s", port, timeout)
}

// StartProcess starts a command that the test stops at cleanup.
func StartProcess(tb testing.TB, env []string, name string, args ...string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if !testing.Verbose() {
		cmd.Stdout, cmd.Stderr = nil, nil
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("hosttest: start %s: %v", name, err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func nodeModule(tb testing.TB, name string) string {
	tb.Helper()
	RequireTool(tb, "node", "apt-get install nodejs (or scripts/ensure-tools.sh node)")
	p := filepath.Join(RepoRoot(tb), "tools", "node", "node_modules", name)
	if _, err := os.Stat(p); err != nil {
		Missing(tb, name+" (tools/node)", "scripts/ensure-tools.sh node")
	}
	return p
}

// Kinesalite starts kinesalite on a free loopback port and returns its
// endpoint URL ("http://127.0.0.1:PORT"). It stops with the test.
//
// Its CBOR requests (application/x-amz-cbor-1.1) are fixed on the way in:
// kinesalite 3 keeps a CBOR request's blobs (PutRecords Data) as Node
// Buffers, which its JSON store saves as {"type":"Buffer","data":[...]},
// so GetRecords would hand back that object instead of the bytes. The
// fixture turns every Buffer of a request into the base64 string a JSON
// request carries, so records put over CBOR are stored, and read back, as
// the service keeps them: the same bytes.
func Kinesalite(tb testing.TB) string {
	tb.Helper()
	mod := nodeModule(tb, "kinesalite")
	port := FreePort(tb)
	StartProcess(tb, nil, "node", "-e", fmt.Sprintf(kinesaliteScript, mod, mod, port))
	WaitPort(tb, port, 20*time.Second)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// kinesaliteScript starts kinesalite (module path twice, port), its CBOR
// blobs stored as base64 (see Kinesalite).
const kinesaliteScript = `const v = require(%q + '/validations'), checkTypes = v.checkTypes
function blobs(x) {
  if (Buffer.isBuffer(x)) return x.toString('base64')
  if (x && typeof x == 'object') for (const k of Object.keys(x)) x[k] = blobs(x[k])
  return x
}
v.checkTypes = function(data, types) { return blobs(checkTypes(data, types)) }
require(%q)({createStreamMs:20,deleteStreamMs:20,updateStreamMs:20}).listen(%d,'127.0.0.1')`

// Dynalite starts dynalite on a free loopback port and returns its
// endpoint URL. It stops with the test.
func Dynalite(tb testing.TB) string {
	tb.Helper()
	mod := nodeModule(tb, "dynalite")
	port := FreePort(tb)
	StartProcess(tb, nil, "node", "-e", fmt.Sprintf("require(%q)({createTableMs:0,deleteTableMs:0,updateTableMs:0}).listen(%d,'127.0.0.1')", mod, port))
	WaitPort(tb, port, 20*time.Second)
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

// AWSEnv is the environment that points the AWS SDK at local servers
// with dummy credentials and no shared configuration files.
func AWSEnv() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
	}
}

// SetAWSEnv points the AWS SDK in this test process at local servers: it
// sets AWSEnv with tb.Setenv, undone when the test ends.
func SetAWSEnv(tb testing.TB) {
	tb.Helper()
	for _, kv := range AWSEnv() {
		k, v, _ := strings.Cut(kv, "=")
		tb.Setenv(k, v)
	}
}
