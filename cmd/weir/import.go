package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/engine/builtin/substation"
)

// loadPipeline reads a configuration: a weir pipeline (YAML, JSON or
// Jsonnet) or a Substation config file, converted (substation.Load).
func loadPipeline(path string, log *slog.Logger) (*engine.Config, error) {
	return substation.Load(path, log)
}

// newImportCmd is "weir import substation": the conversion is package
// engine/builtin/substation; here are the flags, the output and the exit
// status.
func newImportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Convert other tools' configurations to weir pipelines",
	}
	var force bool
	sub := &cobra.Command{
		Use:   "substation config.json|config.jsonnet",
		Short: "Print the weir pipeline YAML equivalent to a Substation config",
		Long: `Import substation reads a Substation config file ({"transforms": [...]}, as
Substation's Jsonnet compiles to, or the .jsonnet source when it imports
nothing weir lacks) and prints the equivalent weir pipeline: the transforms
become one built-in stage ("transforms:"), a send_* transform closing the
list becomes the default output, and a send_* closing a meta_switch case
becomes a named output the case routes to ("meta route"). send_stdout and
send_file map to stdout and file, send_aws_kinesis_data_stream to kinesis,
send_aws_data_firehose to firehose, send_aws_s3 to s3, send_aws_sqs to sqs,
send_aws_dynamodb_put to dynamodb. What is mapped approximately is listed
as "# note:" comments; what has no weir equivalent as "# NOT CONVERTED:"
comments, and the exit status is then 2 unless --force.

"weir run -p config.json" runs a Substation config directly, converting it
the same way (and refusing what is not converted).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			data, err := substation.ReadFile(path)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			if !substation.IsConfig(data) {
				return fmt.Errorf("import: %s: not a Substation config (want a JSON object with a \"transforms\" list)", path)
			}
			conv, err := substation.Convert(data, path)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			text := conv.YAML()
			if _, err := engine.ParseConfig([]byte(text), path); err != nil && len(conv.Problems) == 0 {
				return fmt.Errorf("import: the converted pipeline is invalid: %w", err)
			}
			fmt.Fprint(g.stdout, text)
			if len(conv.Problems) > 0 {
				for _, p := range conv.Problems {
					fmt.Fprintf(g.stderr, "weir: import: not converted: %s\n", p)
				}
				if !force {
					return exitError{code: exitUsage}
				}
			}
			return nil
		},
	}
	sub.Flags().BoolVar(&force, "force", false, "print the pipeline and exit 0 even when parts have no weir equivalent (they are left out, as comments)")
	cmd.AddCommand(sub)
	return cmd
}
