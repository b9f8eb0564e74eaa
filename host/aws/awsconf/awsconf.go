// Package awsconf builds the AWS SDK configuration shared by weir's AWS
// adapters (one small package per service: kinesisout, s3out, ...); the
// backoff of entries a service fails is host/deliver's.
package awsconf

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DefaultMaxAttempts is the number of calls made for one request (and
// for one batch's failed entries) when the output does not set
// max_attempts.
const DefaultMaxAttempts = 8

// DefaultRegion is used when neither the output nor the environment
// names a region.
const DefaultRegion = "us-east-1"

// Load returns the SDK configuration for an output: the default
// credential chain, region (or AWS_REGION, or DefaultRegion), and a
// standard retryer making up to maxAttempts attempts (0: the default) on
// throttling and 5xx errors, with jittered exponential backoff capped at
// maxBackoff (0: 5s) and no client-side retry quota (a Lambda function
// should ride out throttling rather than give up after a burst).
func Load(ctx context.Context, region string, maxAttempts int, maxBackoff time.Duration) (aws.Config, error) {
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	if maxBackoff <= 0 {
		maxBackoff = 5 * time.Second
	}
	if region == "" && os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		region = DefaultRegion
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.MaxBackoff = maxBackoff
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws configuration: %w", err)
	}
	return cfg, nil
}

// RoleSessionName is the session name of the roles weir assumes (it
// appears in the account's CloudTrail as assumed-role/ROLE/weir).
const RoleSessionName = "weir"

// AssumeRole returns cfg acting as the IAM role roleARN: its credentials
// come from STS AssumeRole (stscreds), called with cfg's own credentials
// and cached until shortly before they expire. The STS endpoint is the
// SDK's (regional; AWS_ENDPOINT_URL_STS overrides it). An empty roleARN
// returns cfg unchanged.
func AssumeRole(cfg aws.Config, roleARN string) aws.Config {
	if roleARN == "" {
		return cfg
	}
	provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = RoleSessionName
	})
	cfg.Credentials = aws.NewCredentialsCache(provider)
	return cfg
}

// LoadRole is Load followed by AssumeRole(roleARN): the configuration
// of an output with assume_role_arn.
func LoadRole(ctx context.Context, region string, maxAttempts int, maxBackoff time.Duration, roleARN string) (aws.Config, error) {
	cfg, err := Load(ctx, region, maxAttempts, maxBackoff)
	if err != nil {
		return aws.Config{}, err
	}
	return AssumeRole(cfg, roleARN), nil
}

// Endpoint returns the BaseEndpoint a client should use: endpoint when it
// is set (an output's or source's "endpoint" setting, a test's local
// server), else current, what the SDK already resolved from the
// environment (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>,
// endpoint_url), which a nil would throw away. Call it as
//
//	o.BaseEndpoint = awsconf.Endpoint(setting, o.BaseEndpoint)
func Endpoint(endpoint string, current *string) *string {
	if endpoint == "" {
		return current
	}
	return aws.String(endpoint)
}

// RandomKey returns a random 128-bit hex string, used as a partition key
// to spread records over every shard.
func RandomKey() string {
	return fmt.Sprintf("%016x%016x", rand.Uint64(), rand.Uint64())
}
