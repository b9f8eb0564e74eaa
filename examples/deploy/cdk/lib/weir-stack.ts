// WeirStack is weir's reference deployment: a Kinesis stream of CloudTrail
// records -> the weir Lambda function (bootstrap, arm64, provided.al2023)
// running the CloudTrail -> ECS pipeline with enrichment -> a Kinesis
// output stream, with everything it needs to run and be operated.
// examples/deploy/README.md explains each part; keep the two in step.
import * as cdk from 'aws-cdk-lib';
import {
  aws_appconfig as appconfig,
  aws_cloudwatch as cw,
  aws_cloudwatch_actions as cwactions,
  aws_dynamodb as ddb,
  aws_iam as iam,
  aws_kinesis as kinesis,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_s3 as s3,
  aws_sns as sns,
  aws_sqs as sqs,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';

// Names shared with weir's code. host/lambda/env.go defines the EMF
// namespace, dimension and metric names; the Go test
// examples/deploy/template_test.go checks every metric this stack uses
// against them, and the function's environment against lambda.Env.
export const METRICS_NAMESPACE = 'weir';
export const METRICS_DIMENSION = 'Pipeline';
export const PIPELINE_NAME = 'cloudtrail-ecs';

// AppConfig names: the function reads its pipeline at
// appconfig://weir/prod/pipeline through the AppConfig Lambda extension,
// and watches it (WEIR_PIPELINE_POLL): weir release deploys new versions.
export const APPCONFIG_APPLICATION = 'weir';
export const APPCONFIG_ENVIRONMENT = 'prod';
export const APPCONFIG_PROFILE = 'pipeline';

// Where modules live in the module bucket: <prefix><name>.wasm and its
// signature <prefix><name>.wasm.sig (weir release).
export const MODULE_PREFIX = 'modules/';
export const DEAD_LETTER_PREFIX = 'dead-letter/';

const FUNCTION_TIMEOUT_SECONDS = 60;

/** acknowledge suppresses one cdk-nag finding on a construct, with its reason. */
function acknowledge(scope: Construct, id: string, reason: string) {
  cdk.Validations.of(scope).acknowledge({ id, reason });
}

export interface WeirStackProps extends cdk.StackProps {
  /** The Lambda package (make lambda-zip: bin/weir-lambda-arm64.zip) to
   * upload as a CDK asset. Unset: the code location is two template
   * parameters, CodeBucket and CodeKey (the checked-in template.json). */
  readonly zip?: string;
}

export class WeirStack extends cdk.Stack {
  constructor(scope: Construct, id: string, props: WeirStackProps = {}) {
    super(scope, id, props);

    // ---- Parameters: the sizing knobs of examples/deploy/README.md ----
    const num = (name: string, def: number, min: number, max: number, description: string) =>
      new cdk.CfnParameter(this, name, { type: 'Number', default: def, minValue: min, maxValue: max, description }).valueAsNumber;
    const publicKey = new cdk.CfnParameter(this, 'ModulePublicKey', {
      type: 'String',
      allowedPattern: '^ed25519:[A-Za-z0-9+/]{43}=$',
      description: 'Public key modules must be signed with ("weir sign --generate-key weir.key" prints it)',
    }).valueAsString;
    const shards = num('ShardCount', 2, 1, 500, 'Shards of the input stream (1 MB/s or 1,000 records/s in each)');
    const batchSize = num('BatchSize', 500, 1, 10000, 'Records per invocation (event source mapping BatchSize)');
    const batchWindow = num('BatchWindowSeconds', 5, 0, 300, 'Seconds to gather a batch before invoking (MaximumBatchingWindowInSeconds)');
    const parallelization = num('ParallelizationFactor', 2, 1, 10, 'Concurrent invocations per shard (ParallelizationFactor)');
    const memory = num('MemorySize', 1769, 128, 10240, 'Function memory in MB; 1769 MB = 1 vCPU');
    const retries = num('MaximumRetryAttempts', 10, 0, 10000, 'Retries of a failing batch before its records go to the failure queue');
    const recordAge = num('MaximumRecordAgeSeconds', 21600, 60, 604800, 'Records older than this are skipped to the failure queue');

    // ---- Encryption: one customer managed key for buckets, queue, topic (streams use aws/kinesis) ----
    const key = new kms.Key(this, 'Key', {
      enableKeyRotation: true,
      description: 'weir: module and dead-letter buckets, failure queue, alarm topic',
    });
    // CloudWatch alarms publish to the encrypted alarm topic.
    key.addToResourcePolicy(new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
    }));

    // ---- Streams ----
    const input = new kinesis.Stream(this, 'Input', {
      shardCount: shards,
      encryption: kinesis.StreamEncryption.MANAGED, // aws/kinesis: no per-call KMS cost (cdk-nag KDS3)
      retentionPeriod: cdk.Duration.hours(168),
    });
    const output = new kinesis.Stream(this, 'Output', {
      shardCount: shards,
      encryption: kinesis.StreamEncryption.MANAGED, // aws/kinesis: no per-call KMS cost (cdk-nag KDS3)
      retentionPeriod: cdk.Duration.hours(24),
    });

    // ---- Buckets ----
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED, // server access logs cannot go to SSE-KMS buckets
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: cdk.Duration.days(365) }],
    });
    // (cdk-nag S1 exempts the bucket that receives the access logs.)
    const modules = new s3.Bucket(this, 'Modules', {
      versioned: true, // every release is a version; rollback restores one by its version id
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'modules/',
      lifecycleRules: [{ noncurrentVersionExpiration: cdk.Duration.days(365), noncurrentVersionsToRetain: 20 }],
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    const deadLetters = new s3.Bucket(this, 'DeadLetters', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'dead-letters/',
      lifecycleRules: [{ expiration: cdk.Duration.days(365) }],
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });

    // The event source mapping's on-failure destination: metadata (shard,
    // sequence range) of batches given up after MaximumRetryAttempts or
    // MaximumRecordAgeSeconds, to replay them from the stream.
    const failures = new sqs.Queue(this, 'Failures', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: cdk.Duration.days(14),
    });
    acknowledge(failures, 'AwsSolutions-SQS3', 'This queue is itself the dead-letter (on-failure) destination of the Kinesis event source mapping; nothing consumes it automatically.');

    // ---- DynamoDB ----
    const attempts = new ddb.Table(this, 'Attempts', {
      partitionKey: { name: 'id', type: ddb.AttributeType.STRING },
      billingMode: ddb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expires_at',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: cdk.RemovalPolicy.DESTROY, // counters of failing records, expiring on their own
    });
    const accounts = new ddb.Table(this, 'Accounts', {
      partitionKey: { name: 'account_id', type: ddb.AttributeType.STRING },
      billingMode: ddb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });
    const users = new ddb.Table(this, 'Users', {
      partitionKey: { name: 'user_name', type: ddb.AttributeType.STRING },
      billingMode: ddb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: cdk.RemovalPolicy.RETAIN,
    });

    // ---- AppConfig: the pipeline configuration ----
    const application = new appconfig.Application(this, 'AppConfigApplication', { applicationName: APPCONFIG_APPLICATION });
    const environment = new appconfig.Environment(this, 'AppConfigEnvironment', { application, environmentName: APPCONFIG_ENVIRONMENT });
    const strategy = new appconfig.DeploymentStrategy(this, 'AppConfigImmediate', {
      rolloutStrategy: appconfig.RolloutStrategy.linear({ growthFactor: 100, deploymentDuration: cdk.Duration.minutes(0), finalBakeTime: cdk.Duration.minutes(0) }),
      description: 'weir: deploy at once (running containers swap the new pipeline in within a minute)',
    });
    const moduleRef = (name: string) => `s3://${modules.bucketName}/${MODULE_PREFIX}${name}.wasm`;
    const pipeline = [
      'version: 1',
      `name: ${PIPELINE_NAME}`,
      'stages:',
      '  - name: normalize',
      `    module: ${moduleRef('cloudtrail-ecs')}`,
      `    public_key: "${publicKey}"`,
      '    poll: 60s              # new versions in the bucket are verified, smoke-tested and swapped in',
      '    smoke:',
      `      - input: '{"eventVersion":"1.08","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventTime":"2024-01-01T00:00:00Z","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","userIdentity":{"type":"IAMUser","userName":"alice","accountId":"111122223333"},"recipientAccountId":"111122223333"}'`,
      '    limits: {memory_pages: 512, timeout: 10s}',
      '    on_error: fail',
      '  - name: enrich',
      `    module: ${moduleRef('ecs-enrich')}`,
      `    public_key: "${publicKey}"`,
      '    poll: 60s',
      '    config:',
      `      accounts_table: ${accounts.tableName}`,
      '      accounts_key: account_id',
      `      users_table: ${users.tableName}`,
      '      users_key: user_name',
      '      dns: "false"',
      '    capabilities:',
      '      dynamodb:',
      `        tables: [${accounts.tableName}, ${users.tableName}]`,
      '    limits: {memory_pages: 512, timeout: 10s}',
      '    on_error: fail',
      'outputs:',
      '  default:',
      '    type: kinesis',
      `    stream: ${output.streamName}`,
      '  dead_letter:',
      '    type: s3',
      `    bucket: ${deadLetters.bucketName}`,
      `    key: "${DEAD_LETTER_PREFIX}{date}/{hour}/{uuid}.ndjson{ext}"`,
      '',
    ].join('\n');
    const profile = new appconfig.HostedConfiguration(this, 'AppConfigPipeline', {
      application,
      name: APPCONFIG_PROFILE,
      content: appconfig.ConfigurationContent.fromInlineYaml(pipeline),
      deploymentStrategy: strategy,
      deployTo: [environment],
      description: 'weir pipeline configuration (weir release pins module versions here)',
    });

    // ---- The function ----
    const logGroup = new logs.LogGroup(this, 'FunctionLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: cdk.RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'FunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'weir function: only the actions weir performs (examples/deploy/README.md, "Permissions")',
    });
    const profileArn = cdk.Stack.of(this).formatArn({
      service: 'appconfig',
      resource: 'application',
      resourceName: `${application.applicationId}/environment/${environment.environmentId}/configuration/${profile.configurationProfileId}`,
    });
    // Every statement is listed, with the code that needs it, in
    // examples/deploy/README.md; the Go test checks the two agree.
    const policy = new iam.Policy(this, 'FunctionPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({ sid: 'ReadInputStream', actions: ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'], resources: [input.streamArn] }),
        new iam.PolicyStatement({ sid: 'WriteOutputStream', actions: ['kinesis:PutRecords'], resources: [output.streamArn] }),
        new iam.PolicyStatement({ sid: 'UseKey', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [key.keyArn] }),
        new iam.PolicyStatement({ sid: 'ReadModules', actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [modules.arnForObjects(`${MODULE_PREFIX}*`)] }),
        new iam.PolicyStatement({ sid: 'WriteDeadLetters', actions: ['s3:PutObject'], resources: [deadLetters.arnForObjects(`${DEAD_LETTER_PREFIX}*`)] }),
        new iam.PolicyStatement({ sid: 'CountAttempts', actions: ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'], resources: [attempts.tableArn] }),
        new iam.PolicyStatement({ sid: 'ReadEnrichmentTables', actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], resources: [accounts.tableArn, users.tableArn] }),
        new iam.PolicyStatement({ sid: 'ReadPipelineConfiguration', actions: ['appconfig:StartConfigurationSession', 'appconfig:GetLatestConfiguration'], resources: [profileArn] }),
        new iam.PolicyStatement({ sid: 'SendToFailureQueue', actions: ['sqs:SendMessage'], resources: [failures.queueArn] }),
        new iam.PolicyStatement({ sid: 'WriteLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
      ],
    });
    const arn = (c: Construct) => `<${this.getLogicalId(c.node.defaultChild as cdk.CfnElement)}.Arn>`;
    const wildcards = 'Object-key wildcards only: weir reads the modules (and their .sig files) the pipeline names under modules/, and writes dead-letter objects under fresh keys in dead-letter/. No action is wildcarded.';
    for (const r of [`${arn(modules)}/${MODULE_PREFIX}*`, `${arn(deadLetters)}/${DEAD_LETTER_PREFIX}*`]) {
      acknowledge(policy, `AwsSolutions-IAM5[Resource::${r}]`, wildcards);
    }

    // The AppConfig Lambda extension (arm64), by region: the ARNs CDK
    // knows (aws-cdk-lib region facts), as a template mapping.
    const layers: Record<string, Record<string, string>> = {};
    for (const region of cdk.region_info.RegionInfo.regions.map((r) => r.name).sort()) {
      let arn: string | undefined;
      try {
        arn = appconfig.Application.getLambdaLayerVersionArn(region, appconfig.Platform.ARM_64);
      } catch {
        arn = undefined;
      }
      if (arn) layers[region] = { arn };
    }
    const layerMap = new cdk.CfnMapping(this, 'AppConfigExtensionArm64', { mapping: layers });

    const code = props.zip
      ? lambda.Code.fromAsset(props.zip)
      : lambda.Code.fromCfnParameters({
        bucketNameParam: new cdk.CfnParameter(this, 'CodeBucket', { type: 'String', description: 'Bucket holding the Lambda package (make lambda-zip: bin/weir-lambda-arm64.zip)' }),
        objectKeyParam: new cdk.CfnParameter(this, 'CodeKey', { type: 'String', default: 'weir-lambda-arm64.zip', description: 'Key of the Lambda package in CodeBucket' }),
      });
    const fn = new lambda.Function(this, 'Function', {
      description: 'weir: Wasm transforms over the input stream (CloudTrail -> ECS, enriched)',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code,
      memorySize: memory,
      timeout: cdk.Duration.seconds(FUNCTION_TIMEOUT_SECONDS),
      role,
      logGroup,
      layers: [lambda.LayerVersion.fromLayerVersionArn(this, 'AppConfigExtension', layerMap.findInMap(cdk.Aws.REGION, 'arn'))],
      // Only variables weir's bootstrap reads (lambda.Env) and the
      // AppConfig extension's own; template_test.go checks it.
      environment: {
        WEIR_PIPELINE: `appconfig://${APPCONFIG_APPLICATION}/${APPCONFIG_ENVIRONMENT}/${APPCONFIG_PROFILE}`,
        WEIR_PIPELINE_POLL: '30s', // new pipeline versions are built and swapped in between batches
        WEIR_SOURCE: 'kinesis',
        WEIR_DEAD_LETTER: 'dead_letter',
        WEIR_MAX_ATTEMPTS: '3',
        WEIR_ATTEMPTS_TABLE: attempts.tableName,
        WEIR_LOG_LEVEL: 'info',
        AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS: '30',
        AWS_APPCONFIG_EXTENSION_PREFETCH_LIST: `/applications/${APPCONFIG_APPLICATION}/environments/${APPCONFIG_ENVIRONMENT}/configurations/${APPCONFIG_PROFILE}`,
      },
    });
    fn.node.addDependency(policy);

    const esm = new lambda.CfnEventSourceMapping(this, 'InputMapping', {
      functionName: fn.functionName,
      eventSourceArn: input.streamArn,
      startingPosition: 'TRIM_HORIZON',
      batchSize,
      maximumBatchingWindowInSeconds: batchWindow,
      parallelizationFactor: parallelization,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: retries,
      maximumRecordAgeInSeconds: recordAge,
      functionResponseTypes: ['ReportBatchItemFailures'],
      destinationConfig: { onFailure: { destination: failures.queueArn } },
    });
    esm.node.addDependency(policy);

    // ---- Alarms and dashboard ----
    const topic = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true, displayName: 'weir alarms' });
    const weir = (metricName: string, statistic: string) => new cw.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [METRICS_DIMENSION]: PIPELINE_NAME },
      statistic,
      period: cdk.Duration.minutes(1),
    });
    const alarm = (id: string, metric: cw.IMetric, threshold: number, evaluationPeriods: number, datapointsToAlarm: number, description: string) => {
      const a = new cw.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods,
        datapointsToAlarm,
        comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cw.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${description} Runbook: examples/deploy/README.md#${id.toLowerCase()}`,
      });
      a.addAlarmAction(new cwactions.SnsAction(topic));
      return a;
    };
    const alarms = [
      alarm('IteratorAge', weir('IteratorAge', 'Maximum'), 60_000, 5, 5, 'weir is more than a minute behind the stream (weir IteratorAge, from arrival times).'),
      alarm('LambdaIteratorAge', fn.metric('IteratorAge', { statistic: 'Maximum', period: cdk.Duration.minutes(1) }), 300_000, 5, 5, 'The event source mapping is more than 5 minutes behind (Lambda IteratorAge; also when the function cannot start).'),
      alarm('RecordsFailed', weir('RecordsFailed', 'Sum'), 1, 5, 3, 'Records keep failing in the pipeline and are retried.'),
      alarm('DeadLettered', weir('UnitsDeadLettered', 'Sum'), 1, 1, 1, 'Records failed WEIR_MAX_ATTEMPTS times and went to the dead-letter bucket.'),
      alarm('SwapsRefused', weir('SwapsRefused', 'Sum'), 1, 1, 1, 'A new module version was refused (signature, digest, compile, imports or smoke test); the previous one keeps serving.'),
      alarm('BatchDuration', weir('BatchDuration', 'Maximum'), FUNCTION_TIMEOUT_SECONDS * 1000 * 0.75, 3, 3, 'Batches take over 75% of the function timeout.'),
      alarm('Errors', fn.metricErrors({ period: cdk.Duration.minutes(1) }), 1, 5, 3, 'Invocations fail as a whole (setup failed, an output cannot be written, or a timeout).'),
      alarm('Throttles', fn.metricThrottles({ period: cdk.Duration.minutes(1) }), 1, 5, 3, 'Invocations are throttled (account or reserved concurrency).'),
      alarm('FailureQueue', failures.metricApproximateNumberOfMessagesVisible({ period: cdk.Duration.minutes(1), statistic: 'Maximum' }), 1, 1, 1, 'The event source mapping gave up on batches (retries or record age exhausted): their records were skipped.'),
    ];

    const dashboard = new cw.Dashboard(this, 'Dashboard', { defaultInterval: cdk.Duration.hours(3) });
    const graph = (title: string, left: cw.IMetric[], right: cw.IMetric[] = []) => new cw.GraphWidget({ title, left, right, width: 12, height: 6 });
    dashboard.addWidgets(
      graph('Records', [weir('RecordsIn', 'Sum'), weir('RecordsOut', 'Sum'), weir('RecordsDropped', 'Sum'), weir('RecordsFailed', 'Sum')]),
      graph('Iterator age (ms)', [weir('IteratorAge', 'Maximum'), fn.metric('IteratorAge', { statistic: 'Maximum', period: cdk.Duration.minutes(1) })]),
    );
    dashboard.addWidgets(
      graph('Batch duration (ms)', [weir('BatchDuration', 'p50'), weir('BatchDuration', 'p99'), weir('BatchDuration', 'Maximum')], [weir('BytesIn', 'Sum')]),
      graph('Failed and dead-lettered units', [weir('UnitsFailed', 'Sum'), weir('UnitsDeadLettered', 'Sum')], [failures.metricApproximateNumberOfMessagesVisible({ period: cdk.Duration.minutes(1), statistic: 'Maximum' })]),
    );
    dashboard.addWidgets(
      graph('Module swaps', [weir('ModuleSwaps', 'Sum'), weir('SwapsRefused', 'Sum'), weir('ModuleSourceErrors', 'Sum')]),
      graph('Lambda', [fn.metricErrors({ period: cdk.Duration.minutes(1) }), fn.metricThrottles({ period: cdk.Duration.minutes(1) })], [fn.metric('ConcurrentExecutions', { statistic: 'Maximum', period: cdk.Duration.minutes(1) })]),
    );
    dashboard.addWidgets(new cw.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24 }));

    // ---- Outputs: what the release script and the runbook need ----
    const out = (id: string, value: string, description: string) => new cdk.CfnOutput(this, id, { value, description });
    out('InputStreamName', input.streamName, 'Kinesis stream weir reads (CloudTrail records)');
    out('OutputStreamName', output.streamName, 'Kinesis stream weir writes (ECS documents)');
    out('ModuleBucketName', modules.bucketName, `Versioned bucket of signed modules (${MODULE_PREFIX}<name>.wasm and .sig)`);
    out('DeadLetterBucketName', deadLetters.bucketName, `Dead-letter objects (${DEAD_LETTER_PREFIX})`);
    out('FailureQueueUrl', failures.queueUrl, 'Batches the event source mapping gave up on');
    out('AttemptsTableName', attempts.tableName, 'Failure counts across containers (TTL expires_at)');
    out('AccountsTableName', accounts.tableName, 'Enrichment: account_id -> name');
    out('UsersTableName', users.tableName, 'Enrichment: user_name -> full_name, roles');
    out('FunctionName', fn.functionName, 'The weir function');
    out('AppConfigApplicationId', application.applicationId, 'AppConfig application (weir)');
    out('AppConfigEnvironmentId', environment.environmentId, 'AppConfig environment (prod)');
    out('AppConfigProfileId', profile.configurationProfileId, 'AppConfig profile of the pipeline configuration');
    out('AppConfigDeploymentStrategyId', strategy.deploymentStrategyId, 'Immediate deployment strategy');
    out('AlarmTopicArn', topic.topicArn, 'Alarm notifications: subscribe your on-call address');
    out('DashboardName', dashboard.dashboardName, 'CloudWatch dashboard');
  }
}
