import type { Node } from 'constructs';

/** Deployment configuration of one stage, read from CDK context (cdk.json or `-c key=value`). */
export interface DataExportConfig {
  /** Stage name, e.g. `dev`, `prod`; part of the stack name. */
  readonly stage: string;
  /** Issuer (`iss`) of the dashboard's JWT bearer tokens; an https URL. */
  readonly jwtIssuer: string;
  /** Accepted audiences (`aud`) of those tokens. */
  readonly jwtAudience: string[];
  /** From address of the failure emails; an SES identity (this address or its domain) verified in the account. */
  readonly senderEmail: string;
  /** Base URL of the dashboard the failure emails link to (to fix an export's settings); an https URL. */
  readonly dashboardUrl: string;
  /** Optional address subscribed to the operators' alarm topic. */
  readonly operatorEmail?: string;
}

const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;
/**
 * A plain address `local@domain.tld`: no display name, spaces or angle brackets (it is the From address),
 * and no `*` or `?` either: it becomes part of an SES identity ARN in an IAM policy, where those are wildcards.
 */
const EMAIL_PATTERN =
  /^[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

function requireString(node: Node, key: string, hint: string): string {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    throw new Error(`Missing CDK context "${key}" (${hint}). Set it in cdk.json "context" or pass -c ${key}=<value>.`);
  }
  if (typeof value !== 'string') {
    throw new Error(`CDK context "${key}" must be a string, got ${JSON.stringify(value)}.`);
  }
  return value.trim();
}

/** Reads context `key` as an absolute https URL. */
function requireHttpsUrl(node: Node, key: string, hint: string, why = ''): string {
  const value = requireString(node, key, hint);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`CDK context "${key}" must be an https URL; got "${value}".`);
  }
  if (url.protocol !== 'https:') {
    throw new Error(`CDK context "${key}" must be an https URL${why}; got "${value}".`);
  }
  return value;
}

/**
 * Reads and validates `stage`, `jwtIssuer`, `jwtAudience`, `senderEmail`, `dashboardUrl` and the optional
 * `operatorEmail` from the CDK context.
 * Fails loudly, naming the missing or malformed key, instead of synthesizing a half-configured stack.
 * `jwtAudience` may be a string (comma-separated for several audiences) or an array of strings.
 */
export function readDataExportConfig(node: Node): DataExportConfig {
  const stage = requireString(node, 'stage', 'deployment stage, e.g. dev or prod');
  if (!STAGE_PATTERN.test(stage)) {
    throw new Error(
      `CDK context "stage" must be lowercase letters, digits and dashes, starting with a letter, at most 20 characters; got "${stage}".`,
    );
  }

  const jwtIssuer = requireHttpsUrl(
    node,
    'jwtIssuer',
    'issuer URL of the dashboard JWTs',
    ' (API Gateway JWT authorizers require it)',
  );

  const rawAudience: unknown = node.tryGetContext('jwtAudience');
  const audienceList = Array.isArray(rawAudience)
    ? rawAudience
    : typeof rawAudience === 'string'
      ? rawAudience.split(',')
      : undefined;
  if (audienceList === undefined && rawAudience !== undefined && rawAudience !== null) {
    throw new Error(
      `CDK context "jwtAudience" must be a string or an array of strings, got ${JSON.stringify(rawAudience)}.`,
    );
  }
  if (audienceList?.some((a) => typeof a !== 'string')) {
    throw new Error(`CDK context "jwtAudience" must contain only strings, got ${JSON.stringify(rawAudience)}.`);
  }
  const jwtAudience = ((audienceList ?? []) as string[]).map((a) => a.trim()).filter((a) => a !== '');
  if (jwtAudience.length === 0) {
    throw new Error(
      'Missing CDK context "jwtAudience" (accepted audience of the dashboard JWTs). Set it in cdk.json "context" or pass -c jwtAudience=<value>.',
    );
  }

  const senderEmail = requireString(
    node,
    'senderEmail',
    'From address of the failure emails, an SES-verified identity',
  );
  if (!EMAIL_PATTERN.test(senderEmail)) {
    throw new Error(
      `CDK context "senderEmail" must be a plain email address like exports@example.com; got "${senderEmail}".`,
    );
  }
  const dashboardUrl = requireHttpsUrl(node, 'dashboardUrl', 'dashboard base URL the failure emails link to');

  const rawOperatorEmail: unknown = node.tryGetContext('operatorEmail');
  let operatorEmail: string | undefined;
  if (rawOperatorEmail !== undefined && rawOperatorEmail !== null && rawOperatorEmail !== '') {
    if (typeof rawOperatorEmail !== 'string' || !EMAIL_PATTERN.test(rawOperatorEmail.trim())) {
      throw new Error(
        `CDK context "operatorEmail" must be a plain email address like ops@example.com; got ${JSON.stringify(rawOperatorEmail)}.`,
      );
    }
    operatorEmail = rawOperatorEmail.trim();
  }

  return { stage, jwtIssuer, jwtAudience, senderEmail, dashboardUrl, ...(operatorEmail ? { operatorEmail } : {}) };
}

/** The stack name of a stage. */
export function dataExportStackName(stage: string): string {
  return `DataExport-${stage}`;
}
