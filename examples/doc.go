// Package examples holds weir's runnable example pipelines, each in its
// own folder with its data and README. It has no Go API: its test runs
// every example as shipped, with the weir binary, and checks the outputs.
package examples
