package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/spf13/cobra"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/aws/kinesisin"
	"github.com/weirhq/weir/host/lambda"
)

// consumeOptions are the flags of "weir consume".
type consumeOptions struct {
	pipeline    string
	checkpoints string
	startAt     string
	once        bool
	poll        time.Duration
	limit       int32
	deadLetter  string
	maxAttempts int
	endpoint    string
	region      string
}

func newConsumeCmd(g *globals) *cobra.Command {
	var o consumeOptions
	cmd := &cobra.Command{
		Use:   "consume kinesis://stream -p pipeline.yaml",
		Short: "Consume every shard of a Kinesis stream outside Lambda, with checkpoints",
		Long: `Consume polls every shard of a Kinesis stream and runs each batch through
the pipeline exactly as the Lambda bootstrap would (KPL de-aggregation,
partial failures, retry counts, the dead-letter output), writing to the
pipeline's outputs. After every batch it checkpoints the shard, in a local
JSON file (--checkpoints file://path, the default being
weir-checkpoints-STREAM.json) or a DynamoDB table (--checkpoints
dynamodb://table, partition key "shard" of type string), so a restart
resumes where it stopped. A failed record is read again after a backoff
until --max-attempts sends it to --dead-letter.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return consume(cmd.Context(), g, o, args[0])
		},
	}
	cmd.Flags().StringVarP(&o.pipeline, "pipeline", "p", "", "pipeline configuration file (YAML or JSON)")
	cmd.Flags().StringVar(&o.checkpoints, "checkpoints", "", "file://path or dynamodb://table (default file://weir-checkpoints-STREAM.json)")
	cmd.Flags().StringVar(&o.startAt, "start-at", kinesisin.TrimHorizon, "where shards without a checkpoint start: trim_horizon or latest")
	cmd.Flags().BoolVar(&o.once, "once", false, "stop when every shard has caught up instead of polling forever")
	cmd.Flags().DurationVar(&o.poll, "poll", time.Second, "pause after an empty read of a shard")
	cmd.Flags().Int32Var(&o.limit, "limit", 1000, "records per GetRecords call (at most 10000)")
	cmd.Flags().StringVar(&o.deadLetter, "dead-letter", "", "output receiving records that failed --max-attempts times")
	cmd.Flags().IntVar(&o.maxAttempts, "max-attempts", lambda.DefaultMaxAttempts, "failures before a record goes to --dead-letter")
	cmd.Flags().StringVar(&o.endpoint, "endpoint", "", "Kinesis (and DynamoDB checkpoint table) endpoint URL, for local servers")
	cmd.Flags().StringVar(&o.region, "region", "", "AWS region (default: the environment's)")
	_ = cmd.MarkFlagRequired("pipeline")
	return cmd
}

func consume(ctx context.Context, g *globals, o consumeOptions, ref string) error {
	stream, ok := strings.CutPrefix(ref, "kinesis://")
	if !ok || stream == "" || strings.Contains(stream, "/") {
		return fmt.Errorf("consume: %q is not a kinesis://stream reference", ref)
	}
	if o.startAt != kinesisin.TrimHorizon && o.startAt != kinesisin.Latest {
		return fmt.Errorf("consume: --start-at must be trim_horizon or latest (got %q)", o.startAt)
	}
	cfg, err := loadConfig(g, o.pipeline)
	if err != nil {
		return err
	}
	if o.deadLetter != "" {
		if _, ok := cfg.Outputs[o.deadLetter]; !ok {
			return fmt.Errorf("consume: --dead-letter %q is not an output of %s", o.deadLetter, o.pipeline)
		}
	}
	awsCfg, err := awsconf.Load(ctx, o.region, 0, 0)
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	var cps kinesisin.Checkpoints
	switch {
	case o.checkpoints == "":
		cps = &kinesisin.FileCheckpoints{Path: "weir-checkpoints-" + stream + ".json"}
	case strings.HasPrefix(o.checkpoints, "file://"):
		cps = &kinesisin.FileCheckpoints{Path: strings.TrimPrefix(o.checkpoints, "file://")}
	case strings.HasPrefix(o.checkpoints, "dynamodb://"):
		ddb := dynamodb.NewFromConfig(awsCfg, func(opt *dynamodb.Options) { opt.BaseEndpoint = awsconf.Endpoint(o.endpoint, opt.BaseEndpoint) })
		cps = &kinesisin.DynamoDBCheckpoints{Client: ddb, Table: strings.TrimPrefix(o.checkpoints, "dynamodb://"), Stream: stream}
	default:
		return fmt.Errorf("consume: --checkpoints %q: want file://path or dynamodb://table", o.checkpoints)
	}
	rc, err := resolveSecrets(ctx, g, cfg)
	if err != nil {
		return err
	}
	defer rc.stop()
	cfg = rc.cfg
	l, err := buildPipeline(ctx, g, cfg, o.pipeline)
	if err != nil {
		return err
	}
	defer l.close(ctx)
	sinks, err := rc.openSinks(ctx, g)
	if err != nil {
		return err
	}
	h := &lambda.Handler{
		Pipeline:    l.pipe,
		Sinks:       sinks,
		Source:      lambda.SourceKinesis,
		DeadLetter:  o.deadLetter,
		MaxAttempts: o.maxAttempts,
		Logger:      g.logger(),
	}
	c := &kinesisin.Consumer{
		Client:      kinesis.NewFromConfig(awsCfg, func(opt *kinesis.Options) { opt.BaseEndpoint = awsconf.Endpoint(o.endpoint, opt.BaseEndpoint) }),
		Stream:      stream,
		Handler:     h,
		Checkpoints: cps,
		StartAt:     o.startAt,
		Limit:       o.limit,
		Poll:        o.poll,
		Once:        o.once,
		Logger:      g.logger(),
	}
	runErr := c.Run(ctx)
	closeErr := engine.CloseSinks(ctx, sinks)
	st := c.Stats()
	fmt.Fprintf(g.stderr, "weir: consumed %d records of %s in %d batches (%d failed, %d retries)\n", st.Records, stream, st.Batches, st.Failed, st.Retries)
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("consume: %w", runErr)
	}
	return closeErr
}
