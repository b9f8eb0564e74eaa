package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appconfig"
	actypes "github.com/aws/aws-sdk-go-v2/service/appconfig/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/weirhq/weir/engine"
	"github.com/weirhq/weir/host/aws/awsconf"
	"github.com/weirhq/weir/host/lambda"
	"github.com/weirhq/weir/host/source"
)

// S3 user metadata the release flow writes on a module object.
const (
	metaSHA256       = "sha256"                 // checked by weir's S3 source
	metaSigVersionID = "weir-signature-version" // the .sig object's version id
	metaModuleSHA256 = "weir-module-sha256"     // on the .sig object: the module it signs
)

type releaseOptions struct {
	key, bucket, objectKey, stage, rollbackTo string
	app, env, profile, strategy               string
	pipelineName                              string
	watch, interval                           time.Duration
	noRollback, history                       bool
}

func newReleaseCmd(g *globals) *cobra.Command {
	var o releaseOptions
	cmd := &cobra.Command{
		Use:   "release (-k KEYFILE module.wasm | --rollback-to VERSION_ID | --history) --bucket B --key K --stage S --application A --environment E --profile P --strategy D",
		Short: "Release a module to a deployed pipeline: sign, upload, point AppConfig at it, watch the swap, roll back",
		Long: `release ships a new version of one stage's module to a deployed weir
(examples/deploy), whose pipeline configuration lives in AppConfig:

 1. sign module.wasm with -k (as weir sign does);
 2. upload the signature, then the module, to the versioned bucket
    (s3://B/K.sig and s3://B/K, user metadata sha256 and the signature's
    version id): each gets an S3 version id;
 3. write a new AppConfig configuration version of the pipeline in which
    stage S pins the module by version id, its signature by version id
    and its sha256, and deploy it (StartDeployment);
 4. watch the swap of THIS configuration version: weir's EMF metrics
    VersionSwappedIn and VersionRefused (CloudWatch, namespace weir,
    dimensions Pipeline and Version, the first 16 hex digits of the
    sha256 of the configuration deployed) until a container swapped it
    in (success) or one refused it; then the previous configuration
    version is deployed again (unless --no-rollback) and release fails.
    Another release, or a container swapping some other version, does
    not count.

--rollback-to VERSION_ID points stage S back at an earlier S3 version of
the module (and the signature recorded with it), as a new configuration
version, deployed and watched the same way. --history lists the module's
versions. AppConfig needs the application, environment, configuration
profile and deployment strategy ids (the stack's outputs). The standard
AWS settings apply (AWS_REGION, AWS_PROFILE; AWS_ENDPOINT_URL_S3,
AWS_ENDPOINT_URL_APPCONFIG, AWS_ENDPOINT_URL_CLOUDWATCH for other
endpoints).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := newReleaser(cmd.Context(), o, g.stdout)
			if err != nil {
				return err
			}
			switch {
			case o.history && len(args) == 0:
				return r.listHistory(cmd.Context())
			case o.rollbackTo != "" && len(args) == 0 && o.key == "":
				return r.rollback(cmd.Context())
			case o.rollbackTo == "" && len(args) == 1 && o.key != "":
				return r.publish(cmd.Context(), args[0])
			}
			return fmt.Errorf("release: give -k KEYFILE and one module, or --rollback-to VERSION_ID, or --history")
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.key, "signing-key", "k", "", "private key file (weir sign --generate-key)")
	f.StringVar(&o.bucket, "bucket", "", "the module bucket (stack output ModuleBucketName)")
	f.StringVar(&o.objectKey, "key", "", "the module's object key, e.g. modules/cloudtrail-ecs.wasm")
	f.StringVar(&o.stage, "stage", "", "the pipeline stage running the module")
	f.StringVar(&o.rollbackTo, "rollback-to", "", "S3 version id of the module version to go back to")
	f.BoolVar(&o.history, "history", false, "list the module's versions (newest first)")
	f.StringVar(&o.app, "application", "", "AppConfig application id (stack output AppConfigApplicationId)")
	f.StringVar(&o.env, "environment", "", "AppConfig environment id (AppConfigEnvironmentId)")
	f.StringVar(&o.profile, "profile", "", "AppConfig configuration profile id of the pipeline (AppConfigProfileId)")
	f.StringVar(&o.strategy, "strategy", "", "AppConfig deployment strategy id (AppConfigDeploymentStrategyId)")
	f.StringVar(&o.pipelineName, "pipeline-name", "", "the Pipeline dimension of the metrics (default: the pipeline's name)")
	f.DurationVar(&o.watch, "watch", 15*time.Minute, "how long to watch the swap metrics; 0: do not watch")
	f.DurationVar(&o.interval, "watch-interval", 30*time.Second, "how often to read the metrics while watching")
	f.BoolVar(&o.noRollback, "no-rollback", false, "when a container refuses the new version, leave it deployed")
	return cmd
}

// releaser runs the release flow.
type releaser struct {
	o   releaseOptions
	s3  *s3.Client
	ac  *appconfig.Client
	cw  *cloudwatch.Client
	out io.Writer
	now func() time.Time
}

func newReleaser(ctx context.Context, o releaseOptions, out io.Writer) (*releaser, error) {
	var missing []string
	for _, f := range []struct{ name, v string }{{"--bucket", o.bucket}, {"--key", o.objectKey}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if !o.history {
		for _, f := range []struct{ name, v string }{{"--stage", o.stage}, {"--application", o.app}, {"--environment", o.env}, {"--profile", o.profile}, {"--strategy", o.strategy}} {
			if f.v == "" {
				missing = append(missing, f.name)
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("release: missing %s", strings.Join(missing, ", "))
	}
	cfg, err := awsconf.Load(ctx, "", 0, 0)
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	return &releaser{o: o, s3: s3.NewFromConfig(cfg), ac: appconfig.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg), out: out, now: time.Now}, nil
}

func (r *releaser) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "release: "+format+"\n", args...)
}

// publish signs and uploads module, pins it in a new pipeline version,
// deploys it and watches the swap.
func (r *releaser) publish(ctx context.Context, module string) error {
	data, err := os.ReadFile(module)
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := source.CheckWasm(data); err != nil {
		return fmt.Errorf("release: %s: %w", module, err)
	}
	kb, err := os.ReadFile(r.o.key)
	if err != nil {
		return fmt.Errorf("release: key: %w", err)
	}
	priv, err := source.ParsePrivateKey(string(kb))
	if err != nil {
		return fmt.Errorf("release: key %s: %w", r.o.key, err)
	}
	digest := source.Digest(data)
	cur, err := r.current(ctx)
	if err != nil {
		return err
	}
	// The stage must exist and expect this key: find out before uploading.
	pub := source.PublicKeyPrefix + encodeKey(priv)
	if _, err := cur.pin(r.o.stage, pub, "", "", digest); err != nil {
		return err
	}
	sig := source.Sign(priv, data)
	sigOut, err := r.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &r.o.bucket, Key: aws.String(r.o.objectKey + ".sig"),
		Body: bytes.NewReader(sig), Metadata: map[string]string{metaModuleSHA256: digest}})
	if err != nil {
		return fmt.Errorf("release: upload the signature: %w", err)
	}
	sigVersion := aws.ToString(sigOut.VersionId)
	modOut, err := r.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &r.o.bucket, Key: &r.o.objectKey, Body: bytes.NewReader(data),
		ContentType: aws.String("application/wasm"), Metadata: map[string]string{metaSHA256: digest, metaSigVersionID: sigVersion}})
	if err != nil {
		return fmt.Errorf("release: upload the module: %w", err)
	}
	version := aws.ToString(modOut.VersionId)
	if version == "" || sigVersion == "" {
		return fmt.Errorf("release: s3://%s has no versioning: the flow pins versions (enable it)", r.o.bucket)
	}
	r.logf("uploaded s3://%s/%s version %s (sha256:%s), signature version %s", r.o.bucket, r.o.objectKey, version, digest, sigVersion)
	return r.deployPinned(ctx, cur, pub, version, sigVersion, digest)
}

// rollback pins the module version o.rollbackTo again.
func (r *releaser) rollback(ctx context.Context) error {
	meta, err := r.versionMeta(ctx, r.o.rollbackTo)
	if err != nil {
		return err
	}
	digest, sigVersion := meta[metaSHA256], meta[metaSigVersionID]
	if digest == "" || sigVersion == "" {
		return fmt.Errorf("release: s3://%s/%s version %s was not uploaded by weir release (no %s / %s metadata)", r.o.bucket, r.o.objectKey, r.o.rollbackTo, metaSHA256, metaSigVersionID)
	}
	cur, err := r.current(ctx)
	if err != nil {
		return err
	}
	r.logf("rolling back stage %s to s3://%s/%s version %s (sha256:%s)", r.o.stage, r.o.bucket, r.o.objectKey, r.o.rollbackTo, digest)
	return r.deployPinned(ctx, cur, "", r.o.rollbackTo, sigVersion, digest)
}

// versionMeta returns the user metadata of one version of the module
// (lower-case keys), read with a one-byte ranged GET.
func (r *releaser) versionMeta(ctx context.Context, version string) (map[string]string, error) {
	out, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &r.o.bucket, Key: &r.o.objectKey, VersionId: &version, Range: aws.String("bytes=0-0")})
	if err != nil {
		return nil, fmt.Errorf("release: s3://%s/%s version %s: %w", r.o.bucket, r.o.objectKey, version, err)
	}
	out.Body.Close()
	return lowerKeys(out.Metadata), nil
}

func lowerKeys(m map[string]string) map[string]string {
	l := make(map[string]string, len(m))
	for k, v := range m {
		l[strings.ToLower(k)] = v
	}
	return l
}

// deployPinned writes and deploys a pipeline version pinning the module,
// then watches it; a refusal redeploys cur.
func (r *releaser) deployPinned(ctx context.Context, cur *pipelineDoc, pub, version, sigVersion, digest string) error {
	content, err := cur.pin(r.o.stage, pub, r.moduleRef(r.o.objectKey, version), r.moduleRef(r.o.objectKey+".sig", sigVersion), digest)
	if err != nil {
		return err
	}
	cv, err := r.ac.CreateHostedConfigurationVersion(ctx, &appconfig.CreateHostedConfigurationVersionInput{
		ApplicationId: &r.o.app, ConfigurationProfileId: &r.o.profile, Content: content, ContentType: aws.String("application/x-yaml"),
		Description: aws.String(fmt.Sprintf("weir release: stage %s -> %s version %s", r.o.stage, r.o.objectKey, version)),
	})
	if err != nil {
		return fmt.Errorf("release: new pipeline version: %w", err)
	}
	name := r.o.pipelineName
	if name == "" {
		name = cur.name
	}
	// The metrics have a one-minute resolution: what the window already
	// holds before the deployment (an earlier release's swap) is the
	// baseline the watch compares with.
	start := r.now()
	watched := lambda.VersionDimension(source.Digest(content))
	var base map[string]float64
	if r.o.watch > 0 {
		if base, err = r.metricSums(ctx, name, watched, start.Add(-time.Minute), start.Add(time.Minute), lambda.MetricVersionSwappedIn, lambda.MetricVersionRefused); err != nil {
			return fmt.Errorf("release: read the swap metrics: %w", err)
		}
	}
	if err := r.deploy(ctx, cv.VersionNumber, fmt.Sprintf("weir release %s %s sha256:%s", r.o.stage, version, digest)); err != nil {
		return err
	}
	r.logf("pipeline configuration version %d deployed (stage %s pins %s version %s)", cv.VersionNumber, r.o.stage, r.o.objectKey, version)
	if r.o.watch <= 0 {
		return nil
	}
	err = r.watchSwap(ctx, name, watched, start, base)
	if !errors.Is(err, errRefused) || r.o.noRollback {
		return err
	}
	r.logf("rolling back: deploying pipeline configuration version %d again", cur.version)
	if derr := r.deploy(ctx, cur.version, fmt.Sprintf("weir release: rollback after version %d was refused", cv.VersionNumber)); derr != nil {
		return fmt.Errorf("%w; the rollback failed too: %w", err, derr)
	}
	return fmt.Errorf("%w; rolled back to pipeline configuration version %d", err, cur.version)
}

func (r *releaser) moduleRef(key, version string) string {
	return fmt.Sprintf("s3://%s/%s?versionId=%s", r.o.bucket, key, version)
}

// deploy starts a deployment of configuration version v and waits until
// AppConfig reports it complete.
func (r *releaser) deploy(ctx context.Context, v int32, desc string) error {
	d, err := r.ac.StartDeployment(ctx, &appconfig.StartDeploymentInput{ApplicationId: &r.o.app, EnvironmentId: &r.o.env,
		ConfigurationProfileId: &r.o.profile, ConfigurationVersion: aws.String(fmt.Sprint(v)), DeploymentStrategyId: &r.o.strategy,
		Description: aws.String(desc)})
	if err != nil {
		return fmt.Errorf("release: deploy configuration version %d: %w", v, err)
	}
	for {
		st, err := r.ac.GetDeployment(ctx, &appconfig.GetDeploymentInput{ApplicationId: &r.o.app, EnvironmentId: &r.o.env, DeploymentNumber: aws.Int32(d.DeploymentNumber)})
		if err != nil {
			return fmt.Errorf("release: deployment %d: %w", d.DeploymentNumber, err)
		}
		switch st.State {
		case actypes.DeploymentStateComplete:
			return nil
		case actypes.DeploymentStateRolledBack, actypes.DeploymentStateReverted:
			return fmt.Errorf("release: deployment %d of configuration version %d ended %s", d.DeploymentNumber, v, st.State)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(r.o.interval, 5*time.Second)):
		}
	}
}

var errRefused = errors.New("the new pipeline version was refused")

// watchSwap reads VersionSwappedIn and VersionRefused of the
// configuration version watched (its Version dimension) since start until
// they rise above base: a swap (nil), a refusal (errRefused), or the
// watch ends (an error).
func (r *releaser) watchSwap(ctx context.Context, pipeline, watched string, start time.Time, base map[string]float64) error {
	deadline := start.Add(r.o.watch)
	r.logf("watching %s/%s and %s for pipeline %s, version %s (up to %s)", lambda.MetricsNamespace, lambda.MetricVersionSwappedIn, lambda.MetricVersionRefused, pipeline, watched, r.o.watch)
	for {
		sums, err := r.metricSums(ctx, pipeline, watched, start.Add(-time.Minute), r.now().Add(time.Minute), lambda.MetricVersionSwappedIn, lambda.MetricVersionRefused)
		if err != nil {
			return fmt.Errorf("release: read the swap metrics: %w", err)
		}
		refused, swaps := sums[lambda.MetricVersionRefused]-base[lambda.MetricVersionRefused], sums[lambda.MetricVersionSwappedIn]-base[lambda.MetricVersionSwappedIn]
		switch {
		case refused > 0:
			return fmt.Errorf("release: %w (%s +%g for version %s; the function's logs hold the reason: \"swap: version refused\")", errRefused, lambda.MetricVersionRefused, refused, watched)
		case swaps > 0:
			r.logf("version %s swapped in (%s +%g), none refused", watched, lambda.MetricVersionSwappedIn, swaps)
			return nil
		}
		if r.now().After(deadline) {
			return fmt.Errorf("release: no swap seen in %s (is the function receiving records? metrics come with invocations); the new version stays deployed", r.o.watch)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(r.o.interval):
		}
	}
}

// metricSums returns the sum of each named weir metric of one version
// (dimensions Pipeline and Version) between from and to.
func (r *releaser) metricSums(ctx context.Context, pipeline, version string, from, to time.Time, names ...string) (map[string]float64, error) {
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(from), EndTime: aws.Time(to)}
	for i, n := range names {
		in.MetricDataQueries = append(in.MetricDataQueries, cwtypes.MetricDataQuery{
			Id: aws.String(fmt.Sprintf("m%d", i)),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(lambda.MetricsNamespace), MetricName: aws.String(n),
					Dimensions: []cwtypes.Dimension{{Name: aws.String(lambda.MetricsDimension), Value: aws.String(pipeline)},
						{Name: aws.String(lambda.MetricsVersionDimension), Value: aws.String(version)}}},
				Period: aws.Int32(60),
				Stat:   aws.String("Sum"),
			},
		})
	}
	sums := map[string]float64{}
	p := cloudwatch.NewGetMetricDataPaginator(r.cw, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, res := range out.MetricDataResults {
			var i int
			if _, err := fmt.Sscanf(aws.ToString(res.Id), "m%d", &i); err != nil || i >= len(names) {
				continue
			}
			for _, v := range res.Values {
				sums[names[i]] += v
			}
		}
	}
	return sums, nil
}

// listHistory prints the module's versions, newest first.
func (r *releaser) listHistory(ctx context.Context) error {
	out, err := r.s3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &r.o.bucket, Prefix: &r.o.objectKey})
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	// S3 lists a key's versions newest first.
	for _, v := range out.Versions {
		if aws.ToString(v.Key) != r.o.objectKey {
			continue
		}
		meta, err := r.versionMeta(ctx, aws.ToString(v.VersionId))
		if err != nil {
			return err
		}
		latest := ""
		if aws.ToBool(v.IsLatest) {
			latest = "  (latest upload)"
		}
		fmt.Fprintf(r.out, "%s  %s  sha256:%s%s\n", aws.ToString(v.VersionId), aws.ToTime(v.LastModified).UTC().Format(time.RFC3339), meta[metaSHA256], latest)
	}
	return nil
}

// pipelineDoc is the deployed pipeline configuration.
type pipelineDoc struct {
	version int32
	name    string
	doc     yaml.MapSlice
}

// current returns the configuration version deployed to the environment
// (the latest complete deployment of the profile).
func (r *releaser) current(ctx context.Context) (*pipelineDoc, error) {
	var latest *actypes.DeploymentSummary
	p := appconfig.NewListDeploymentsPaginator(r.ac, &appconfig.ListDeploymentsInput{ApplicationId: &r.o.app, EnvironmentId: &r.o.env})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("release: list deployments: %w", err)
		}
		for i, d := range page.Items {
			if d.State == actypes.DeploymentStateComplete && aws.ToString(d.ConfigurationName) != "" && (latest == nil || d.DeploymentNumber > latest.DeploymentNumber) {
				latest = &page.Items[i]
			}
		}
	}
	if latest == nil {
		return nil, fmt.Errorf("release: no complete deployment in environment %s", r.o.env)
	}
	var v int32
	if _, err := fmt.Sscanf(aws.ToString(latest.ConfigurationVersion), "%d", &v); err != nil {
		return nil, fmt.Errorf("release: deployment %d has configuration version %q, not a hosted version number", latest.DeploymentNumber, aws.ToString(latest.ConfigurationVersion))
	}
	hv, err := r.ac.GetHostedConfigurationVersion(ctx, &appconfig.GetHostedConfigurationVersionInput{ApplicationId: &r.o.app, ConfigurationProfileId: &r.o.profile, VersionNumber: aws.Int32(v)})
	if err != nil {
		return nil, fmt.Errorf("release: configuration version %d: %w", v, err)
	}
	cfg, err := engine.ParseConfig(hv.Content, fmt.Sprintf("configuration version %d", v))
	if err != nil {
		return nil, fmt.Errorf("release: the deployed pipeline: %w", err)
	}
	var doc yaml.MapSlice
	if err := yaml.UnmarshalWithOptions(hv.Content, &doc, yaml.UseOrderedMap()); err != nil {
		return nil, fmt.Errorf("release: configuration version %d: %w", v, err)
	}
	r.logf("deployed pipeline: configuration version %d (deployment %d)", v, latest.DeploymentNumber)
	return &pipelineDoc{version: v, name: cfg.Name, doc: doc}, nil
}

// pin returns the configuration with stage's module, signature and sha256
// set (poll removed: a pinned version never changes). With module empty
// it only checks that the stage exists and, when pub is set, that it
// expects that public key.
func (d *pipelineDoc) pin(stage, pub, module, signature, digest string) ([]byte, error) {
	doc := slicesCloneMap(d.doc)
	for i, item := range doc {
		if item.Key != "stages" {
			continue
		}
		stages, _ := item.Value.([]any)
		for j, s := range stages {
			st, _ := s.(yaml.MapSlice)
			if mapGet(st, "name") != stage {
				continue
			}
			if want := mapGet(st, "public_key"); pub != "" && want != pub {
				return nil, fmt.Errorf("release: stage %s expects modules signed by %v; the signing key's public key is %s", stage, want, pub)
			}
			if module == "" {
				return nil, nil
			}
			st = mapSet(st, "module", module)
			st = mapSet(st, "signature", signature)
			st = mapSet(st, "sha256", digest)
			st = mapDel(st, "poll")
			ns := append([]any(nil), stages...)
			ns[j] = st
			doc[i] = yaml.MapItem{Key: item.Key, Value: ns}
			out, err := yaml.Marshal(doc)
			if err != nil {
				return nil, fmt.Errorf("release: %w", err)
			}
			if _, err := engine.ParseConfig(out, "the new pipeline version"); err != nil {
				return nil, fmt.Errorf("release: %w", err)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("release: the deployed pipeline (version %d) has no stage %q", d.version, stage)
}

// encodeKey is the base64 of priv's public key.
func encodeKey(priv ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
}

func slicesCloneMap(m yaml.MapSlice) yaml.MapSlice { return append(yaml.MapSlice(nil), m...) }

func mapGet(m yaml.MapSlice, key string) any {
	for _, it := range m {
		if it.Key == key {
			return it.Value
		}
	}
	return nil
}

func mapSet(m yaml.MapSlice, key string, v any) yaml.MapSlice {
	m = append(yaml.MapSlice(nil), m...)
	for i, it := range m {
		if it.Key == key {
			m[i].Value = v
			return m
		}
	}
	return append(m, yaml.MapItem{Key: key, Value: v})
}

func mapDel(m yaml.MapSlice, key string) yaml.MapSlice {
	var out yaml.MapSlice
	for _, it := range m {
		if it.Key != key {
			out = append(out, it)
		}
	}
	return out
}
