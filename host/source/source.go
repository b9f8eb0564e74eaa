package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/appconfigdata"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/weirhq/weir/host/aws/awsconf"
)

// DefaultMaxBytes is the default size cap of a fetched object (128 MiB).
const DefaultMaxBytes = 128 << 20

// DefaultAgentAddress is the AppConfig agent's (and Lambda extension's)
// default local endpoint.
const DefaultAgentAddress = "localhost:2772"

// AppConfig access modes (Options.AppConfig).
const (
	AppConfigAgent = "agent"
	AppConfigAPI   = "api"
)

// Object is one fetched version.
type Object struct {
	// Data is the object's content.
	Data []byte
	// Version identifies the version at its source: the S3 ETag, the
	// HTTP ETag, the AppConfig configuration version, or the file's
	// sha256. Pass it back to Fetch to poll conditionally.
	Version string
	// VersionID is the S3 version id, when the bucket is versioned.
	VersionID string
	// SHA256 is the digest the source announces for the object (S3 user
	// metadata "sha256"), checked by Verify; empty when none.
	SHA256 string
}

// Label names the version for logs, metrics and errors: the S3 version
// id when there is one, else Version.
func (o *Object) Label() string {
	if o.VersionID != "" {
		return o.VersionID
	}
	return o.Version
}

// Source is where one reference's versions come from. It is safe for use
// by one watcher at a time.
type Source interface {
	// Ref returns the reference.
	Ref() string
	// Fetch returns the current version. When prev is the Version of the
	// object the caller holds and it has not changed, it returns
	// ErrNotModified. A version larger than the size cap fails with
	// ErrTooLarge (the Object then carries the Version only); other
	// failures wrap ErrUnavailable.
	Fetch(ctx context.Context, prev string) (*Object, error)
	// MinInterval is the shortest poll interval the source asks for
	// (AppConfigData's Next-Poll-Interval), or 0.
	MinInterval() time.Duration
}

// Options configure how references are opened.
type Options struct {
	// BaseDir resolves relative file paths; empty is the current folder.
	BaseDir string
	// MaxBytes caps the objects fetched (default DefaultMaxBytes).
	MaxBytes int64
	// S3 is the client for s3:// references; nil loads the default AWS
	// configuration on first use.
	S3 *s3.Client
	// AppConfigData is the client for appconfig:// references in "api"
	// mode; nil loads the default AWS configuration on first use.
	AppConfigData *appconfigdata.Client
	// AppConfig is "agent" (default) or "api".
	AppConfig string
	// AgentAddress is the agent's host:port (default: localhost and
	// $AWS_APPCONFIG_EXTENSION_HTTP_PORT, else DefaultAgentAddress).
	AgentAddress string
	// HTTPClient is used for the agent and https:// (default: a client
	// without redirects to other hosts).
	HTTPClient *http.Client
	// HTTPSAllow lists the hosts https:// references may name.
	HTTPSAllow []string
	// MinPollInterval is the RequiredMinimumPollIntervalInSeconds asked of
	// AppConfigData sessions (0: the service's default).
	MinPollInterval time.Duration
	// AssumeRoleARN, when set, makes s3:// and AppConfigData (api mode)
	// fetches use this IAM role's credentials (STS AssumeRole, cached and
	// renewed): modules, pipelines and MMDB files kept in another account.
	AssumeRoleARN string
}

func (o *Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

func (o *Options) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return defaultHTTP
}

var defaultHTTP = &http.Client{
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && req.URL.Host != via[0].URL.Host {
			return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
		}
		if len(via) >= 5 {
			return fmt.Errorf("too many redirects")
		}
		return nil
	},
}

func (o *Options) agentAddress() string {
	if o.AgentAddress != "" {
		return o.AgentAddress
	}
	if p := os.Getenv("AWS_APPCONFIG_EXTENSION_HTTP_PORT"); p != "" {
		return "localhost:" + p
	}
	return DefaultAgentAddress
}

var (
	awsOnce sync.Once
	awsS3   *s3.Client
	awsACD  *appconfigdata.Client
	awsErr  error
)

// defaultClients loads the default AWS configuration once per process.
func defaultClients(ctx context.Context) (*s3.Client, *appconfigdata.Client, error) {
	awsOnce.Do(func() {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			awsErr = fmt.Errorf("source: load AWS configuration: %w", err)
			return
		}
		if cfg.Region == "" {
			awsErr = errors.New("source: no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region)")
			return
		}
		awsS3 = s3.NewFromConfig(cfg)
		awsACD = appconfigdata.NewFromConfig(cfg)
	})
	return awsS3, awsACD, awsErr
}

// Open returns the Source of ref.
func Open(ctx context.Context, ref string, o Options) (Source, error) {
	scheme, _, ok := strings.Cut(ref, "://")
	if !ok {
		return newFile(ref, ref, o), nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrRef, ref, err)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch strings.ToLower(scheme) {
	case "file":
		p := strings.TrimPrefix(ref[len(scheme)+3:], "localhost/")
		if strings.HasPrefix(ref[len(scheme)+3:], "localhost/") {
			p = "/" + p
		}
		return newFile(ref, p, o), nil
	case "s3":
		key := strings.TrimPrefix(u.Path, "/")
		if u.Host == "" || key == "" {
			return nil, fmt.Errorf("%w: want s3://bucket/key (got %q)", ErrRef, ref)
		}
		c := o.S3
		if c == nil {
			if c, _, err = defaultClients(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
		}
		if o.AssumeRoleARN != "" {
			creds, err := awsconf.RoleCredentials(ctx, o.AssumeRoleARN)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
			c = s3.New(c.Options(), func(so *s3.Options) { so.Credentials = creds })
		}
		return &s3Source{ref: ref, client: c, bucket: u.Host, key: key, versionID: u.Query().Get("versionId"), max: o.maxBytes()}, nil
	case "appconfig":
		if u.Host == "" || len(segs) != 2 || segs[0] == "" || segs[1] == "" {
			return nil, fmt.Errorf("%w: want appconfig://application/environment/profile (got %q)", ErrRef, ref)
		}
		app, env, prof := u.Host, segs[0], segs[1]
		switch o.AppConfig {
		case "", AppConfigAgent:
			return &agentSource{ref: ref, client: o.httpClient(), max: o.maxBytes(),
				url: "http://" + o.agentAddress() + "/applications/" + url.PathEscape(app) + "/environments/" + url.PathEscape(env) + "/configurations/" + url.PathEscape(prof)}, nil
		case AppConfigAPI:
			c := o.AppConfigData
			if c == nil {
				if _, c, err = defaultClients(ctx); err != nil {
					return nil, fmt.Errorf("%s: %w", ref, err)
				}
			}
			if o.AssumeRoleARN != "" {
				creds, err := awsconf.RoleCredentials(ctx, o.AssumeRoleARN)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", ref, err)
				}
				c = appconfigdata.New(c.Options(), func(ao *appconfigdata.Options) { ao.Credentials = creds })
			}
			return &apiSource{ref: ref, client: c, app: app, env: env, profile: prof, max: o.maxBytes(), minPoll: o.MinPollInterval}, nil
		}
		return nil, fmt.Errorf("%w: unknown AppConfig mode %q (want agent or api)", ErrRef, o.AppConfig)
	case "https":
		if u.Host == "" {
			return nil, fmt.Errorf("%w: want https://host/path (got %q)", ErrRef, ref)
		}
		if !allowed(o.HTTPSAllow, u) {
			return nil, fmt.Errorf("%w: host %q of %q is not in the allow list (sources.https_allow)", ErrRef, u.Host, ref)
		}
		return &httpsSource{ref: ref, client: o.httpClient(), max: o.maxBytes()}, nil
	}
	return nil, fmt.Errorf("%w: unsupported scheme %q in %q (want file, s3, appconfig or https)", ErrRef, scheme, ref)
}

func allowed(list []string, u *url.URL) bool {
	for _, h := range list {
		if strings.EqualFold(h, u.Host) || strings.EqualFold(h, u.Hostname()) {
			return true
		}
	}
	return false
}

// SignatureRef is the default signature reference of ref: its path with
// ".sig" appended (the query, such as an S3 versionId, is dropped).
func SignatureRef(ref string) string {
	if i := strings.IndexByte(ref, '?'); i >= 0 && strings.Contains(ref, "://") {
		ref = ref[:i]
	}
	return ref + ".sig"
}

// readCapped reads r up to max bytes, failing with ErrTooLarge beyond.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return b, nil
}

// fileSource reads a local file; its version is the content's digest.
type fileSource struct {
	ref, path string
	max       int64
}

func newFile(ref, p string, o Options) *fileSource {
	if !filepath.IsAbs(p) && o.BaseDir != "" {
		p = filepath.Join(o.BaseDir, p)
	}
	return &fileSource{ref: ref, path: p, max: o.maxBytes()}
}

func (f *fileSource) Ref() string                { return f.ref }
func (f *fileSource) MinInterval() time.Duration { return 0 }

func (f *fileSource) Fetch(ctx context.Context, prev string) (*Object, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, unavailable(f.ref, err)
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err == nil && fi.Size() > f.max {
		return &Object{Version: fmt.Sprintf("size-%d-%d", fi.Size(), fi.ModTime().UnixNano())},
			fmt.Errorf("source %s: %w: %d bytes, the cap is %d", f.ref, ErrTooLarge, fi.Size(), f.max)
	}
	b, err := readCapped(fh, f.max)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", f.ref, err)
	}
	v := Digest(b)
	if v == prev {
		return nil, ErrNotModified
	}
	return &Object{Data: b, Version: v}, nil
}
