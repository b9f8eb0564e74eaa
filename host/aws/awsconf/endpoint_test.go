package awsconf

import "testing"

// TestEndpoint: a configured endpoint wins; without one, the endpoint the
// SDK resolved from the environment (current) is kept, not cleared.
func TestEndpoint(t *testing.T) {
	env := "http://from-aws-endpoint-url"
	for _, tc := range []struct {
		name, setting string
		current       *string
		want          string
		wantNil       bool
	}{
		{name: "setting wins", setting: "http://127.0.0.1:4567", current: &env, want: "http://127.0.0.1:4567"},
		{name: "environment kept", current: &env, want: env},
		{name: "neither", wantNil: true},
	} {
		got := Endpoint(tc.setting, tc.current)
		switch {
		case tc.wantNil && got != nil:
			t.Errorf("%s: %q, want nil", tc.name, *got)
		case !tc.wantNil && (got == nil || *got != tc.want):
			t.Errorf("%s: %v, want %q", tc.name, got, tc.want)
		}
	}
}
