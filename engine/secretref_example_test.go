package engine_test

import (
	"context"
	"fmt"

	"github.com/weirhq/weir/engine"
)

// A configuration's references are resolved in a copy; the original keeps
// them, and Redact puts them back in any text holding a value.
func ExampleConfig_Resolved() {
	cfg, err := engine.ParseConfig([]byte(`version: 1
stages:
  - module: enrich.wasm
    config: {api_key: "${secret:prod/enrich:api_key}", region: "${env:REGION}"}
`), "pipeline.yaml")
	if err != nil {
		panic(err)
	}
	for _, ref := range cfg.Refs() {
		fmt.Println("reference", ref)
	}
	values := map[string]string{"prod/enrich": "k-123456", "REGION": "eu-west-1"}
	resolved, err := cfg.Resolved(context.Background(), engine.ResolverFunc(func(_ context.Context, ref engine.Ref) (string, error) {
		return values[ref.ID], nil
	}))
	if err != nil {
		panic(err)
	}
	fmt.Println(resolved.Stages[0].Config["api_key"], cfg.Stages[0].Config["api_key"])
	fmt.Println(resolved.Redact("401 for key k-123456"))
	// Output:
	// reference ${secret:prod/enrich:api_key}
	// reference ${env:REGION}
	// k-123456 ${secret:prod/enrich:api_key}
	// 401 for key ${secret:prod/enrich:api_key}
}

// Expand resolves the references of a setting read from elsewhere than a
// configuration, such as an environment variable naming a secret.
func ExampleExpand() {
	lookup := engine.ResolverFunc(func(_ context.Context, ref engine.Ref) (string, error) {
		return map[string]string{"weir/cache-key": "k-0123456789abcdef"}[ref.ID], nil
	})
	for _, setting := range []string{"${secret:weir/cache-key}", "a literal key", "$${not a reference}"} {
		v, err := engine.Expand(context.Background(), setting, lookup)
		fmt.Println(v, err)
	}
	// Output:
	// k-0123456789abcdef <nil>
	// a literal key <nil>
	// ${not a reference} <nil>
}
