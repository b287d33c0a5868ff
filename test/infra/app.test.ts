/** Infra tests: the app as `cdk synth` builds it (bundled, cdk-nag), its configuration from context, code layout and limits as props. */
import * as fs from 'fs';
import * as path from 'path';
import { App, CfnElement, Duration, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readDataExportConfig } from '../../lib/config';
import { ServiceFunction } from '../../lib/constructs/service-function';
import { DataExportStack } from '../../lib/data-export-stack';
import {
  stack,
  ROOT,
  CDK_JSON_CONTEXT,
  STAGE,
  ISSUER,
  AUDIENCE,
  SENDER,
  DASHBOARD,
  synthesizeOnce,
} from '../support/synthesized-stack';

synthesizeOnce({ bundle: true });

describe('cdk-nag AwsSolutions', () => {
  const describeViolations = (report: ReturnType<AwsSolutionsChecks['validateScope']>) =>
    report.violations.flatMap((v) =>
      v.violatingResources.map((r) => ({ rule: v.ruleName, severity: v.severity, path: r.constructPath ?? '' })),
    );

  it('no unacknowledged errors or warnings', () => {
    const findings = describeViolations(new AwsSolutionsChecks().validateScope(stack)).filter(
      (f) => f.severity === 'error' || f.severity === 'warning',
    );
    expect(findings).toEqual([]);
  });

  it('every acknowledgement has a reason and matches a real finding (no stale or misplaced suppressions)', () => {
    const acks: { path: string; rule: string; reason: string }[] = [];
    for (const c of stack.node.findAll()) {
      for (const m of c.node.metadata) {
        if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [key, reason] of Object.entries(m.data as Record<string, string>)) {
          acks.push({ path: c.node.path, rule: key.replace(/^[^:]+::(?=AwsSolutions-)/, ''), reason });
        }
      }
    }
    expect(acks.length).toBeGreaterThan(0);

    // The same stack without acknowledgements (bundling skipped: the code is irrelevant to nag).
    const bare = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const unacknowledged = new DataExportStack(bare, stack.stackName, {
      stage: STAGE,
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE,
      senderEmail: SENDER,
      dashboardUrl: DASHBOARD,
    });
    const findings = describeViolations(new AwsSolutionsChecks().validateScope(unacknowledged));

    for (const ack of acks) {
      expect(ack.reason.length).toBeGreaterThan(40);
      const matched = findings.some(
        (f) => f.rule === ack.rule && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)),
      );
      expect({ ...ack, matched }).toEqual({ ...ack, matched: true });
    }
  });
});

describe('configuration from CDK context', () => {
  const config = (context: Record<string, unknown>) => readDataExportConfig(new App({ context }).node);
  const valid = {
    stage: 'dev',
    jwtIssuer: 'https://auth.example.com/',
    jwtAudience: 'data-export-api',
    senderEmail: 'exports@example.com',
    dashboardUrl: 'https://app.example.com',
  };

  it('reads stage, issuer, audience (comma-separated or array), sender email and dashboard URL', () => {
    expect(config(valid)).toEqual({
      stage: 'dev',
      jwtIssuer: valid.jwtIssuer,
      jwtAudience: ['data-export-api'],
      senderEmail: 'exports@example.com',
      dashboardUrl: 'https://app.example.com',
    });
    expect(config({ ...valid, jwtAudience: 'a, b' }).jwtAudience).toEqual(['a', 'b']);
    expect(config({ ...valid, jwtAudience: ['a', 'b'] }).jwtAudience).toEqual(['a', 'b']);
  });

  it.each(['stage', 'jwtIssuer', 'jwtAudience', 'senderEmail', 'dashboardUrl'])(
    'fails loudly when %s is missing',
    (key) => {
      const context: Record<string, unknown> = { ...valid };
      delete context[key];
      expect(() => config(context)).toThrow(new RegExp(`Missing CDK context "${key}".*-c ${key}=`));
    },
  );

  it('rejects a malformed stage or a non-https issuer', () => {
    expect(() => config({ ...valid, stage: 'Prod_1' })).toThrow(/"stage" must be lowercase/);
    expect(() => config({ ...valid, jwtIssuer: 'http://auth.example.com/' })).toThrow(
      /"jwtIssuer" must be an https URL/,
    );
  });

  it.each([
    'exports',
    'exports@localhost',
    'Exports <exports@example.com>',
    '*@example.com',
    'a b@example.com',
    'exports@example.com,x@y.com',
  ])(
    'rejects senderEmail %j (not a plain address, or one that would be a wildcard in the SES identity ARN)',
    (senderEmail) => {
      expect(() => config({ ...valid, senderEmail })).toThrow(/"senderEmail" must be a plain email address/);
    },
  );

  it('rejects a dashboardUrl that is not an https URL', () => {
    expect(() => config({ ...valid, dashboardUrl: 'http://app.example.com' })).toThrow(
      /"dashboardUrl" must be an https URL/,
    );
    expect(() => config({ ...valid, dashboardUrl: 'app.example.com' })).toThrow(/"dashboardUrl" must be an https URL/);
  });

  it('reads an optional operatorEmail, refusing one that is not a plain address', () => {
    expect(config(valid).operatorEmail).toBeUndefined();
    expect(config({ ...valid, operatorEmail: ' oncall@example.com ' }).operatorEmail).toBe('oncall@example.com');
    expect(() => config({ ...valid, operatorEmail: 'oncall' })).toThrow(
      /"operatorEmail" must be a plain email address/,
    );
    expect(() => config({ ...valid, operatorEmail: 42 })).toThrow(/"operatorEmail" must be a plain email address/);
  });

  it('cdk.json has defaults for every required key, so `cdk synth` works offline', () => {
    expect(config(CDK_JSON_CONTEXT)).toMatchObject({
      senderEmail: 'exports@example.com',
      dashboardUrl: 'https://app.example.com',
    });
  });
});

describe('code layout', () => {
  it('lib/ never imports from lambdas/', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(path.join(ROOT, 'lib'));
    const offenders = files.filter((f) =>
      /(from\s+|require\(|import\()\s*['"][^'"]*lambdas\//.test(fs.readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('contracts/ (shared by lib/ and lambdas/) imports nothing: neither the AWS SDK nor aws-cdk-lib reaches the other side', () => {
    const dir = path.join(ROOT, 'contracts');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files)
      expect(fs.readFileSync(path.join(dir, file), 'utf8')).not.toMatch(/(from\s+|require\(|import\()\s*['"]/);
  });
});

describe('limits as construct props', () => {
  // Bundling skipped: only the template's limits matter here.
  const synth = (props: Partial<ConstructorParameters<typeof DataExportStack>[2]>) => {
    const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const built = new DataExportStack(app, 'Limits', {
      stage: STAGE,
      jwtIssuer: ISSUER,
      jwtAudience: AUDIENCE,
      senderEmail: SENDER,
      dashboardUrl: DASHBOARD,
      ...props,
    });
    return { built, limits: Template.fromStack(built) };
  };

  it('route throttles, reserved concurrency, schedule window and ingest key grace come from the props', () => {
    const { built, limits } = synth({
      apiThrottle: { rateLimit: 20, burstLimit: 40 },
      apiRouteThrottles: { manualExportStart: { rateLimit: 1, burstLimit: 2 }, ingest: undefined },
      runExportReservedConcurrency: 7,
      scheduleFlexibleWindow: Duration.minutes(15),
      ingestKeyGracePeriod: Duration.hours(2),
    });
    limits.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      RouteSettings: {
        'POST /v1/environments/{envId}/exports/manual': { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 },
        'ANY /ingest/{proxy+}': { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
        'ANY /v1/{proxy+}': { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      },
    });
    const functions = limits.findResources('AWS::Lambda::Function');
    const logicalId = (fn: ServiceFunction) => built.resolve((fn.node.defaultChild as CfnElement).logicalId) as string;
    expect(functions[logicalId(built.runExportFunction)].Properties.ReservedConcurrentExecutions).toBe(7);
    for (const fn of [built.apiFunction, built.checkFailuresFunction]) {
      expect(functions[logicalId(fn)].Properties.Environment.Variables.SCHEDULE_FLEXIBLE_WINDOW_MINUTES).toBe('15');
    }
    expect(functions[logicalId(built.apiFunction)].Properties.Environment.Variables.INGEST_KEY_GRACE_SECONDS).toBe(
      '7200',
    );
  });

  it.each([
    [{ scheduleFlexibleWindow: Duration.hours(25) }, /scheduleFlexibleWindow must be whole minutes from 1 to 1440/],
    [{ scheduleFlexibleWindow: Duration.seconds(90) }, /scheduleFlexibleWindow must be whole minutes/],
    [{ runExportReservedConcurrency: 0 }, /runExportReservedConcurrency must be a positive integer/],
    [
      { apiRouteThrottles: { ingest: { rateLimit: 10, burstLimit: 1.5 } } },
      /apiRouteThrottles of ANY \/ingest\/\{proxy\+\} must have/,
    ],
    [{ apiThrottle: { rateLimit: -1, burstLimit: 10 } }, /apiThrottle must have a rateLimit >= 0/],
  ])('refuses %j', (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});
