package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/weirhq/weir/engine"
)

// looksLikeModule reports whether path names a Wasm module: a .wasm
// name, or a file starting with the Wasm magic.
func looksLikeModule(path string) bool {
	if strings.HasSuffix(path, ".wasm") {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	n, _ := f.Read(magic[:])
	return n == 4 && bytes.Equal(magic[:], []byte("\x00asm"))
}

// runConfig returns the configuration "weir run" runs, its label for
// errors, and the input files: the -p pipeline, or, without -p, a bare
// module given as the first argument, run as a one-stage pipeline writing
// to stdout.
func runConfig(g *globals, pipeline string, args []string) (*engine.Config, string, []string, error) {
	if pipeline != "" {
		if looksLikeModule(pipeline) {
			return nil, "", nil, fmt.Errorf("run: %s is a module, not a pipeline: run it as a one-stage pipeline with\n  weir run %s [file...]", pipeline, pipeline)
		}
		cfg, err := loadConfig(g, pipeline)
		return cfg, pipeline, args, err
	}
	if len(args) == 0 || !looksLikeModule(args[0]) {
		return nil, "", nil, fmt.Errorf("no pipeline configuration: use -p pipeline.yaml, or run a bare module with: weir run module.wasm [file...]")
	}
	cfg, err := moduleConfig(args[0])
	return cfg, args[0], args[1:], err
}

// moduleConfig is the one-stage pipeline of a bare module: the stage
// named after the file, its outputs (every route) to stdout.
func moduleConfig(module string) (*engine.Config, error) {
	abs, err := filepath.Abs(module)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("run: module: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(abs), ".wasm")
	y := "version: 1\nname: " + strconv.Quote(name) + "\nstages:\n  - name: " + strconv.Quote(name) +
		"\n    module: " + strconv.Quote(abs) + "\noutputs:\n  default:\n    type: stdout\n"
	cfg, err := engine.ParseConfig([]byte(y), module)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	cfg.Dir = filepath.Dir(abs)
	return cfg, nil
}
