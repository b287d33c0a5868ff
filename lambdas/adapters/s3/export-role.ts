/**
 * The service's export role, assumed for bucket-policy destinations: customers' bucket policies grant
 * this one role s3:PutObject, and both the API (the probe write on save) and run-export (the runs) may
 * assume it, so the policy names a single principal whatever function writes. The role may do nothing
 * in the service's own account.
 */
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
// The STS client the SDK's own credential providers use (no separate @aws-sdk/client-sts dependency).
import { AssumeRoleCommand, STSClient } from '@aws-sdk/nested-clients/sts';

const SESSION_SECONDS = 3600;
/** Renewed this long before they expire, so a long upload never signs with expired credentials. */
const RENEW_BEFORE_MS = 10 * 60_000;

export function exportRoleCredentials(
  roleArn: string,
  client: STSClient = new STSClient({}),
): AwsCredentialIdentityProvider {
  let current:
    Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }> | undefined;
  const assume = async () => {
    const { Credentials } = await client.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'data-export', DurationSeconds: SESSION_SECONDS }),
    );
    if (!Credentials?.AccessKeyId || !Credentials.SecretAccessKey)
      throw new Error(`AssumeRole of ${roleArn} returned no credentials.`);
    return {
      accessKeyId: Credentials.AccessKeyId,
      secretAccessKey: Credentials.SecretAccessKey,
      sessionToken: Credentials.SessionToken,
      expiration: Credentials.Expiration,
    };
  };
  return async () => {
    const credentials = current && (await current.catch(() => undefined));
    if (!credentials || (credentials.expiration && credentials.expiration.getTime() - Date.now() < RENEW_BEFORE_MS)) {
      current = assume();
      return current;
    }
    return credentials;
  };
}
