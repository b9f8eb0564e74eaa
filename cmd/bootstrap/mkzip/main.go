// Command mkzip packages weir's Lambda function: the bootstrap binary, a
// pipeline configuration and the local modules it references, in a zip
// file ready for provided.al2023 (used by "make lambda-zip"). Module
// paths are rewritten to modules/<file> inside the package. With -cache,
// a compilation cache folder filled by weir precompile (on the target's
// architecture) is shipped as cache/, where the bootstrap looks for it.
//
//	go run ./cmd/bootstrap/mkzip -o weir-arm64.zip -bootstrap bin/linux-arm64/bootstrap -p pipeline.yaml [-cache dir]
package main

import (
	"archive/zip"
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/weirhq/weir/engine"
)

func main() {
	out := flag.String("o", "weir-lambda.zip", "zip file to write")
	bootstrap := flag.String("bootstrap", "", "the bootstrap binary (linux)")
	pipeline := flag.String("p", "", "pipeline configuration")
	cache := flag.String("cache", "", "compilation cache folder to ship as cache/ (weir precompile)")
	flag.Parse()
	if err := run(*out, *bootstrap, *pipeline, *cache); err != nil {
		fmt.Fprintln(os.Stderr, "mkzip:", err)
		os.Exit(1)
	}
}

func run(out, bootstrap, pipeline, cache string) error {
	if bootstrap == "" || pipeline == "" {
		return fmt.Errorf("-bootstrap and -p are required")
	}
	if _, err := engine.LoadConfig(pipeline); err != nil {
		return err
	}
	raw, err := os.ReadFile(pipeline)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", pipeline, err)
	}
	files := map[string]string{"bootstrap": bootstrap}
	stages, _ := doc["stages"].([]any)
	for i, s := range stages {
		st, _ := s.(map[string]any)
		mod, _ := st["module"].(string)
		if mod == "" || (strings.Contains(mod, "://") && !strings.HasPrefix(mod, "file://")) {
			continue // remote modules are fetched at run time
		}
		p := strings.TrimPrefix(mod, "file://")
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(pipeline), p)
		}
		name := "modules/" + filepath.Base(p)
		if prev, dup := files[name]; dup && prev != p {
			return fmt.Errorf("stages[%d]: two modules named %s", i, filepath.Base(p))
		}
		files[name] = p
		st["module"] = name
	}
	cfg, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte, mode os.FileMode) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	if err := add("pipeline.yaml", cfg, 0o644); err != nil {
		return err
	}
	for name, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if name == "bootstrap" {
			mode = 0o755
		}
		if err := add(name, data, mode); err != nil {
			return err
		}
	}
	if cache != "" {
		err := filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || strings.HasSuffix(p, ".tmp") {
				return err
			}
			rel, err := filepath.Rel(cache, p)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return add("cache/"+filepath.ToSlash(rel), data, 0o644)
		})
		if err != nil {
			return fmt.Errorf("-cache: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}
