// This folder is the CDK app (TypeScript), not Go. This go.mod makes it a
// module of its own so that "go test ./..." and "go vet ./..." from the
// repository root skip it: its node_modules holds aws-cdk's Go init
// templates, which are not valid Go.
module github.com/weirhq/weir/examples/deploy/cdk

go 1.26
