import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel as BundlingLogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * The one Lambda runtime of the service (with {@link SERVICE_BUNDLING_TARGET}). Node.js 22 replaced
 * nodejs20.x (deprecated by AWS on 2026-04-30, function creation blocked from 2027-02-01). The code is
 * plain TypeScript that also runs on Node 20, which local mode and CI still use (package.json engines).
 * NOTE: Node.js 22 itself reaches end of life on 2027-04-30 (AWS deprecates the Lambda runtime then):
 * the next step, nodejs24.x, is due before that date.
 */
export const SERVICE_RUNTIME = Runtime.NODEJS_22_X;
/** esbuild target matching {@link SERVICE_RUNTIME}. */
export const SERVICE_BUNDLING_TARGET = 'node22';

/** Log levels understood by the Powertools logger the handlers use. */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface ServiceFunctionProps {
  /** Absolute path of the handler's TypeScript entry file (e.g. `<root>/lambdas/handlers/api.ts`). */
  readonly entry: string;
  /** Exported handler name in `entry`. @default 'handler' */
  readonly handler?: string;
  /** Short description shown in the Lambda console. */
  readonly description?: string;
  /**
   * Service configuration, passed to the function as environment variables.
   * Constructs never read `process.env`: everything a function needs comes in through here.
   */
  readonly environment?: Record<string, string>;
  /** Powertools service name (`POWERTOOLS_SERVICE_NAME`). @default the construct id */
  readonly serviceName?: string;
  /** `LOG_LEVEL` for the Powertools logger. @default 'INFO' */
  readonly logLevel?: LogLevel;
  /** @default 512 MiB (arm64; more memory also means more CPU for encoding / compression) */
  readonly memorySize?: number;
  /** @default 10 seconds (API handlers; API Gateway gives up after 30 s anyway) */
  readonly timeout?: Duration;
  /** Retention of the function's log group. @default one month */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN (keep logs of a deleted stack for investigation) */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Reserved concurrency (caps the blast radius of a run-away tenant). @default none (account pool) */
  readonly reservedConcurrentExecutions?: number;
  /** Retries of a failed asynchronous invocation (0-2). @default 2 (Lambda's default) */
  readonly retryAttempts?: number;
  /** Oldest age of a queued asynchronous event before it is dropped (1 minute to 6 hours). @default 6 hours */
  readonly maxEventAge?: Duration;
  /**
   * Receives asynchronous invocations that still fail after the retries or are older than `maxEventAge`
   * (the event itself, with the request id and error in message attributes). @default none
   */
  readonly deadLetterQueue?: IQueue;
  /**
   * Modules left out of the bundle. The default bundles everything, AWS SDK v3 included, so the
   * deployed code runs the exact versions pinned by package-lock.json (tests and local mode use them too).
   * @default []
   */
  readonly externalModules?: string[];
}

/**
 * A Lambda function with the service's defaults: Node.js 22 on arm64, bundled locally by esbuild
 * (no Docker) into minified CommonJS with source maps, an explicit log group with retention,
 * active X-Ray tracing, and a role that only gets what callers grant it (plus writing its own logs).
 *
 * The log group (`<id>LogGroup`) and role (`<id>Role`) are created next to the function in the same
 * scope; `fn.logGroup` and `fn.role` return them.
 */
export class ServiceFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // A dedicated role instead of the AWSLambdaBasicExecutionRole managed policy:
    // the function may only write to its own log group.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    super(scope, id, {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: SERVICE_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      logGroup,
      role,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      retryAttempts: props.retryAttempts,
      maxEventAge: props.maxEventAge,
      deadLetterQueue: props.deadLetterQueue,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? id,
        LOG_LEVEL: props.logLevel ?? 'INFO',
        ...props.environment,
      },
      bundling: {
        // esbuild is a local dependency: bundling runs in-process, never in Docker.
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        target: SERVICE_BUNDLING_TARGET,
        format: OutputFormat.CJS,
        // Prefer the ESM builds of dependencies (AWS SDK v3, Powertools) for tree shaking.
        mainFields: ['module', 'main'],
        externalModules: props.externalModules ?? [],
        // esbuild's size summary is noise at every synth; warnings and errors still show.
        logLevel: BundlingLogLevel.WARNING,
      },
    });
  }
}
