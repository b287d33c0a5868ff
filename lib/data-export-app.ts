import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { dataExportStackName, readDataExportConfig } from './config';
import { DataExportStack } from './data-export-stack';
import { acknowledgeNagFindings } from './nag-acknowledgements';

export interface DataExportAppOptions {
  /** Run the cdk-nag AwsSolutions checks during synthesis (errors then fail the synth). @default false */
  readonly nag?: boolean;
}

/**
 * Builds the service's stacks into `app` from its context (`stage`, `jwtIssuer`, `jwtAudience`,
 * `senderEmail`, `dashboardUrl`).
 * Shared by `bin/app.ts` and the infra tests, so the tests check exactly what `cdk synth` produces.
 */
export function buildDataExportApp(app: App, options: DataExportAppOptions = {}): DataExportStack {
  const config = readDataExportConfig(app.node);
  const stack = new DataExportStack(app, dataExportStackName(config.stage), {
    description: `Data export service (${config.stage})`,
    stage: config.stage,
    jwtIssuer: config.jwtIssuer,
    jwtAudience: config.jwtAudience,
    senderEmail: config.senderEmail,
    dashboardUrl: config.dashboardUrl,
    operatorEmail: config.operatorEmail,
  });
  acknowledgeNagFindings(stack);
  if (options.nag) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  }
  return stack;
}

/** `true` when the context flag is set (`-c nag=true` arrives as the string "true"). */
export function contextFlag(app: App, key: string): boolean {
  const value: unknown = app.node.tryGetContext(key);
  return value === true || value === 'true' || value === '1';
}
