package awsconf

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AssumeRoleSessionName names the STS sessions weir opens (CloudTrail
// shows it in the role's AssumeRole events).
const AssumeRoleSessionName = "weir"

// AssumeRole returns cfg with credentials of the role roleARN, obtained
// with STS AssumeRole from cfg's own credentials and cached (renewed
// before they expire): how an output or host function reaches a resource
// in another account. An empty roleARN returns cfg unchanged. The STS
// endpoint follows the SDK's resolution (AWS_ENDPOINT_URL_STS,
// AWS_ENDPOINT_URL).
func AssumeRole(cfg aws.Config, roleARN string) aws.Config {
	if roleARN == "" {
		return cfg
	}
	provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = AssumeRoleSessionName
	})
	out := cfg.Copy()
	out.Credentials = aws.NewCredentialsCache(provider)
	return out
}

var (
	rolesMu sync.Mutex
	roles   = map[string]aws.CredentialsProvider{}
)

// RoleCredentials returns the process-wide cached credentials of the role
// roleARN, assumed with STS from the default AWS configuration's
// credentials: for a client built from options rather than from an
// aws.Config (Client.Options, then the Credentials field).
func RoleCredentials(ctx context.Context, roleARN string) (aws.CredentialsProvider, error) {
	rolesMu.Lock()
	defer rolesMu.Unlock()
	if p, ok := roles[roleARN]; ok {
		return p, nil
	}
	cfg, err := Load(ctx, "", 3, 0)
	if err != nil {
		return nil, err
	}
	p := AssumeRole(cfg, roleARN).Credentials
	roles[roleARN] = p
	return p, nil
}
