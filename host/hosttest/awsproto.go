package hosttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// credentialRE reads the access key ID from a SigV4 Authorization header.
var credentialRE = regexp.MustCompile(`Credential=([^/]+)/`)

// AccessKeyOf returns the access key ID that signed r (SigV4), or "".
func AccessKeyOf(r *http.Request) string {
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return ""
	}
	return m[1]
}

// SecretsManagerServer is a loopback server speaking the Secrets Manager
// JSON 1.1 protocol (GetSecretValue only), for the real SDK client.
type SecretsManagerServer struct {
	// URL is the endpoint (http://127.0.0.1:port).
	URL string

	mu      sync.Mutex
	secrets map[string]string
	failing bool
	calls   int
	keys    []string
}

// SecretsManager starts a SecretsManagerServer, closed at the end of the
// test.
func SecretsManager(tb testing.TB) *SecretsManagerServer {
	tb.Helper()
	s := &SecretsManagerServer{secrets: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Set stores a secret's SecretString under id (its name; an ARN ending in
// ":secret:" + id finds it too).
func (s *SecretsManagerServer) Set(id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[id] = value
}

// Fail makes every call answer 500 InternalServiceError (true) or serve
// again (false).
func (s *SecretsManagerServer) Fail(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = on
}

// Calls is the number of GetSecretValue requests received.
func (s *SecretsManagerServer) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// AccessKeys lists the access key IDs that signed the requests, in order.
func (s *SecretsManagerServer) AccessKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.keys...)
}

func awsJSONError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (s *SecretsManagerServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.calls++
	s.keys = append(s.keys, AccessKeyOf(r))
	failing := s.failing
	s.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") || AccessKeyOf(r) == "" {
		awsJSONError(w, 400, "InvalidRequestException", fmt.Sprintf("unexpected request %s %q %q", r.Method, r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type")))
		return
	}
	if failing {
		awsJSONError(w, 500, "InternalServiceError", "service unavailable")
		return
	}
	var in struct{ SecretId string }
	if err := json.Unmarshal(body, &in); err != nil || in.SecretId == "" {
		awsJSONError(w, 400, "InvalidParameterException", "SecretId is required")
		return
	}
	name := in.SecretId
	if i := strings.Index(name, ":secret:"); strings.HasPrefix(name, "arn:") && i >= 0 {
		name = name[i+len(":secret:"):]
	}
	s.mu.Lock()
	v, ok := s.secrets[name]
	s.mu.Unlock()
	if !ok {
		awsJSONError(w, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN":           "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf",
		"Name":          name,
		"SecretString":  v,
		"VersionId":     "11111111-2222-3333-4444-555555555555",
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   float64(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Unix()),
	})
}

// STSServer is a loopback server speaking the STS query protocol
// (AssumeRole only), for the real SDK client (stscreds). Each role gets
// the access key ID "ASIA" + an upper-case digest of its ARN (RoleKey).
type STSServer struct {
	// URL is the endpoint (http://127.0.0.1:port).
	URL string

	mu      sync.Mutex
	assumed []string
}

// STS starts an STSServer, closed at the end of the test. Point the SDK at
// it with AWS_ENDPOINT_URL_STS=URL.
func STS(tb testing.TB) *STSServer {
	tb.Helper()
	s := &STSServer{}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Assumed lists the role ARNs of the AssumeRole calls received, in order.
func (s *STSServer) Assumed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.assumed...)
}

// RoleKey is the access key ID the server issues for roleARN.
func RoleKey(roleARN string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(roleARN); i++ {
		h = (h ^ uint32(roleARN[i])) * 16777619
	}
	return fmt.Sprintf("ASIAWEIR%08X", h)
}

func (s *STSServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	fail := func(code, msg string) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`, code, msg)
	}
	if err != nil || r.Method != http.MethodPost || form.Get("Action") != "AssumeRole" || form.Get("Version") != "2011-06-15" || AccessKeyOf(r) == "" {
		fail("InvalidAction", "unexpected request")
		return
	}
	role, session := form.Get("RoleArn"), form.Get("RoleSessionName")
	if !strings.HasPrefix(role, "arn:") || session == "" {
		fail("ValidationError", "RoleArn and RoleSessionName are required")
		return
	}
	s.mu.Lock()
	s.assumed = append(s.assumed, role)
	s.mu.Unlock()
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>role-secret</SecretAccessKey>
      <SessionToken>role-session-token</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>%s/%s</Arn>
      <AssumedRoleId>AROAWEIR:%s</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>`, RoleKey(role), exp, role, session, session)
}
