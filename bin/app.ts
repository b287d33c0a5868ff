#!/usr/bin/env node
/**
 * CDK app of the data export service. Configuration comes from CDK context (cdk.json, or `-c key=value`):
 *   stage, jwtIssuer, jwtAudience,  required; synth fails with a clear message when one is missing
 *   senderEmail, dashboardUrl       or malformed (senderEmail: plain address; URLs: https)
 *   nag=true                        also run the cdk-nag AwsSolutions checks (the infra tests always do)
 * The stack is environment-agnostic: synth needs no AWS credentials and makes no account lookups.
 */
import { App } from 'aws-cdk-lib';
import { buildDataExportApp, contextFlag } from '../lib/data-export-app';

const app = new App();
buildDataExportApp(app, { nag: contextFlag(app, 'nag') });
app.synth();
