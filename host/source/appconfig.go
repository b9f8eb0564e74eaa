package source

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appconfigdata"
)

// agentSource reads a configuration from the AppConfig agent (or the
// AppConfig Lambda extension), which polls AppConfig itself and serves
// the latest deployed version on localhost. The version is the
// Configuration-Version response header.
type agentSource struct {
	ref, url string
	client   *http.Client
	max      int64
}

func (s *agentSource) Ref() string                { return s.ref }
func (s *agentSource) MinInterval() time.Duration { return 0 }

func (s *agentSource) Fetch(ctx context.Context, prev string) (*Object, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRef, err)
	}
	return get(s.client, req, s.ref, prev, s.max, "Configuration-Version")
}

// apiSource reads a configuration with the AppConfigData API: a session
// (StartConfigurationSession) gives a one-use token; each
// GetLatestConfiguration returns the next token and poll interval, and an
// empty body when the configuration has not changed since the last call.
type apiSource struct {
	ref, app, env, profile string
	client                 *appconfigdata.Client
	max                    int64
	minPoll                time.Duration

	mu       sync.Mutex
	token    string
	interval time.Duration
	version  string // the version the session last returned
}

func (s *apiSource) Ref() string { return s.ref }

func (s *apiSource) MinInterval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interval
}

func (s *apiSource) Fetch(ctx context.Context, prev string) (*Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" {
		in := &appconfigdata.StartConfigurationSessionInput{
			ApplicationIdentifier:          aws.String(s.app),
			EnvironmentIdentifier:          aws.String(s.env),
			ConfigurationProfileIdentifier: aws.String(s.profile),
		}
		if s.minPoll >= 15*time.Second {
			in.RequiredMinimumPollIntervalInSeconds = aws.Int32(int32(s.minPoll / time.Second))
		}
		out, err := s.client.StartConfigurationSession(ctx, in)
		if err != nil {
			return nil, unavailable(s.ref, fmt.Errorf("start configuration session: %w", err))
		}
		s.token, s.version = aws.ToString(out.InitialConfigurationToken), ""
	}
	out, err := s.client.GetLatestConfiguration(ctx, &appconfigdata.GetLatestConfigurationInput{ConfigurationToken: aws.String(s.token)})
	if err != nil {
		// The token may have been used or expired: start over next time.
		s.token = ""
		return nil, unavailable(s.ref, fmt.Errorf("get latest configuration: %w", err))
	}
	s.token = aws.ToString(out.NextPollConfigurationToken)
	s.interval = time.Duration(out.NextPollIntervalInSeconds) * time.Second
	if len(out.Configuration) == 0 {
		if s.version == "" {
			// A new session with nothing deployed: nothing to load.
			return nil, unavailable(s.ref, fmt.Errorf("no configuration deployed"))
		}
		return nil, ErrNotModified
	}
	if int64(len(out.Configuration)) > s.max {
		v := aws.ToString(out.VersionLabel)
		if v == "" {
			v = "sha256:" + Digest(out.Configuration)
		}
		s.version = v
		return &Object{Version: v}, fmt.Errorf("source %s: %w: %d bytes, the cap is %d", s.ref, ErrTooLarge, len(out.Configuration), s.max)
	}
	v := aws.ToString(out.VersionLabel)
	if v == "" {
		v = "sha256:" + Digest(out.Configuration)
	}
	s.version = v
	if v == prev {
		return nil, ErrNotModified
	}
	return &Object{Data: out.Configuration, Version: v}, nil
}
