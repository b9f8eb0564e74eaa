package awsconf

import (
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
