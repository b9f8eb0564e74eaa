package engine

import "time"

// Config is a pipeline configuration, read from YAML or JSON. See the
// README's "Pipeline configuration" section for every field.
type Config struct {
	// Version of the configuration format; must be 1.
	Version int `json:"version" yaml:"version"`
	// Name names the pipeline in logs and metrics.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Stages run in order; the outputs of one stage are the inputs of the
	// next.
	Stages []StageConfig `json:"stages" yaml:"stages"`
	// Outputs maps route names to sinks. The route "default" receives
	// records whose route is empty; when absent, it is stdout.
	Outputs map[string]OutputConfig `json:"outputs,omitempty" yaml:"outputs,omitempty"`

	// Dir is the folder of the configuration file; relative module paths
	// and relative file output paths are resolved against it. LoadConfig
	// sets it to the file's absolute folder; empty means the current
	// directory.
	Dir string `json:"-" yaml:"-"`

	// source names where the configuration was read from, for errors.
	source string
}

// StageConfig configures one stage: a Wasm module and its settings.
type StageConfig struct {
	// Name identifies the stage in errors, logs and metrics. Defaults to
	// the module file's base name.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Module is the module reference: a path, file://path, s3://bucket/key,
	// appconfig://app/env/profile or https://host/path. Relative paths are
	// resolved against the configuration file's folder.
	Module string `json:"module" yaml:"module"`
	// SHA256 optionally pins the module's digest (hex, optionally prefixed
	// with "sha256:"). A module whose digest differs is refused.
	SHA256 string `json:"sha256,omitempty" yaml:"sha256,omitempty"`
	// Entry chooses how the host calls the module: "auto" (default: the
	// fast path when exported, else the plain Extism batch export, else
	// per-record), "fast", "batch" (plain Extism export taking a batch
	// frame), or "record" (an unmodified Extism plugin called once per
	// record with the record as input and its output as the record).
	Entry string `json:"entry,omitempty" yaml:"entry,omitempty"`
	// Function names the export called in "record" mode (default
	// "transform").
	Function string `json:"function,omitempty" yaml:"function,omitempty"`
	// Config is handed to the module (Extism config_get).
	Config map[string]string `json:"config,omitempty" yaml:"config,omitempty"`
	// Limits bound what the module may use.
	Limits Limits `json:"limits,omitempty" yaml:"limits,omitempty"`
	// Instances is how many module instances run a batch in parallel.
	// Defaults to the number of CPUs.
	Instances int `json:"instances,omitempty" yaml:"instances,omitempty"`
	// OnError is the record error policy: "fail" (default: the record is
	// reported failed), "drop" (the record is dropped and counted), or
	// "dead_letter" (the record goes to the DeadLetter output with its
	// error).
	OnError string `json:"on_error,omitempty" yaml:"on_error,omitempty"`
	// DeadLetter names the output failed records go to when OnError is
	// "dead_letter".
	DeadLetter string `json:"dead_letter,omitempty" yaml:"dead_letter,omitempty"`
}

// Limits bound a module's resources. Zero values mean the defaults
// documented on each field.
type Limits struct {
	// MemoryPages caps the module's linear memory in 64 KiB pages
	// (default 1024 = 64 MiB; maximum 65536 = 4 GiB).
	MemoryPages uint32 `json:"memory_pages,omitempty" yaml:"memory_pages,omitempty"`
	// Timeout is the deadline for one batch call (default 10s).
	Timeout Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// MaxOutputBytes caps the bytes a module may return for one batch
	// (default 64 MiB).
	MaxOutputBytes int64 `json:"max_output_bytes,omitempty" yaml:"max_output_bytes,omitempty"`
	// Preempt compiles the module with a deadline check at every loop
	// header, so that a batch running past Timeout is stopped (default
	// true). false makes loop-heavy guests (Go: about 3x) faster but leaves
	// the deadline unenforced: a module that never returns then holds its
	// worker until the process ends. Only for modules you trust.
	Preempt *bool `json:"preempt,omitempty" yaml:"preempt,omitempty"`
}

// Preempts reports whether the deadline is enforced (Preempt unset or
// true).
func (l Limits) Preempts() bool { return l.Preempt == nil || *l.Preempt }

// OutputConfig configures a sink.
type OutputConfig struct {
	// Type is "stdout", "stderr", "file" or "discard".
	Type string `json:"type" yaml:"type"`
	// Path is the file written by the "file" type (NDJSON, appended).
	// A relative path is resolved against Config.Dir.
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
}

// Duration is a time.Duration read from a string such as "5s" or "250ms".
type Duration time.Duration
