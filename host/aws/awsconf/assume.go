package awsconf

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
)

var (
	rolesMu sync.Mutex
	roles   = map[string]aws.CredentialsProvider{}
)

// RoleCredentials returns the process-wide cached credentials of the role
// roleARN, assumed with STS (AssumeRole) from the default AWS
// configuration's credentials: for a client built from options rather
// than from an aws.Config (Client.Options, then the Credentials field).
func RoleCredentials(ctx context.Context, roleARN string) (aws.CredentialsProvider, error) {
	rolesMu.Lock()
	defer rolesMu.Unlock()
	if p, ok := roles[roleARN]; ok {
		return p, nil
	}
	cfg, err := LoadRole(ctx, "", 3, 0, roleARN)
	if err != nil {
		return nil, err
	}
	roles[roleARN] = cfg.Credentials
	return cfg.Credentials, nil
}
