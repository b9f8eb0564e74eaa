package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// httpsSource reads an allow-listed HTTPS URL with a conditional GET on
// its ETag.
type httpsSource struct {
	ref    string
	client *http.Client
	max    int64
}

func (s *httpsSource) Ref() string                { return s.ref }
func (s *httpsSource) MinInterval() time.Duration { return 0 }

func (s *httpsSource) Fetch(ctx context.Context, prev string) (*Object, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.ref, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRef, err)
	}
	if prev != "" {
		req.Header.Set("If-None-Match", prev)
	}
	return get(s.client, req, s.ref, prev, s.max, "ETag")
}

// get does req and reads the body; versionHeader names the response
// header carrying the version (else the body's digest is the version).
func get(c *http.Client, req *http.Request, ref, prev string, max int64, versionHeader string) (*Object, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, unavailable(ref, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, ErrNotModified
	case resp.StatusCode != http.StatusOK:
		return nil, unavailable(ref, fmt.Errorf("HTTP %s", resp.Status))
	}
	obj := &Object{Version: resp.Header.Get(versionHeader), SHA256: resp.Header.Get("X-Weir-Sha256")}
	if obj.Version != "" && obj.Version == prev {
		return nil, ErrNotModified
	}
	if resp.ContentLength > max {
		return obj, fmt.Errorf("source %s: %w: %d bytes, the cap is %d", ref, ErrTooLarge, resp.ContentLength, max)
	}
	b, err := readCapped(resp.Body, max)
	if errors.Is(err, ErrTooLarge) {
		return obj, fmt.Errorf("source %s: %w", ref, err)
	}
	if err != nil {
		return nil, unavailable(ref, err)
	}
	obj.Data = b
	if obj.Version == "" {
		obj.Version = "sha256:" + Digest(b)
		if obj.Version == prev {
			return nil, ErrNotModified
		}
	}
	return obj, nil
}
