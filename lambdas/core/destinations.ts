/**
 * Named destinations (export jobs, raw revisions export): the same providers, parsing, key-prefix
 * limits, validation and secret sealing as the automatic export settings (destinationFrom, the
 * gateway), with two ways in: the customer's access key (validated by listing the bucket), or a
 * bucket policy granting the service's export role s3:PutObject (validated by a zero-byte probe write;
 * runs use the service's own identity).
 */
import { authorizeEnvironment, type Caller } from './access';
import { destinationFrom, DestinationValidationError, type DestinationLocationInput } from './destination-input';
import { DestinationError, isBucketName, maskAccessKeyId, type Destination, type Provider } from './destination';
import { ConflictError, NotFoundError, ValidationError } from './errors';
import { requirePlan } from './plans';
import type {
  Clock,
  DestinationGateway,
  DestinationStore,
  ExportJobStore,
  NamedDestination,
  RawExportStore,
  SecretSealer,
  ServiceIdentityGateway,
  StoredDestinationAuth,
  TenantStore,
} from '../ports';
import { isoTime } from './iso-time';

export type DestinationAuthInput =
  { mode: 'accessKey'; accessKeyId: string; secretAccessKey?: string } | { mode: 'bucketPolicy' };

export interface DestinationInput extends DestinationLocationInput {
  name: string;
  provider: Provider;
  auth: DestinationAuthInput;
  /** PUT only: the version this change is based on. */
  version?: number;
}

export interface DestinationView {
  id: string;
  name: string;
  provider: Provider;
  bucketUrl: string | null;
  bucket: string;
  region: string;
  key: string;
  endpoint: string | null;
  /** accessKey: the key id masked, the secret never; bucketPolicy: the policy to paste into the bucket. */
  auth: { mode: 'accessKey'; accessKeyId: string; secretAccessKeySet: true } | { mode: 'bucketPolicy' };
  policy?: BucketPolicy;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface BucketPolicy {
  Version: '2012-10-17';
  Statement: { Sid: string; Effect: 'Allow'; Principal: { AWS: string }; Action: 's3:PutObject'; Resource: string }[];
}

/** The object a bucket-policy destination is validated with: writes are all that policy grants. */
export const ACCESS_CHECK_OBJECT = '.export-access-check';

/** The bucket policy granting the service's export role writes into `bucket`. */
export function bucketPolicy(bucket: string, exportRoleArn: string): BucketPolicy {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DataExportServiceWrites',
        Effect: 'Allow',
        Principal: { AWS: exportRoleArn },
        Action: 's3:PutObject',
        Resource: `arn:aws:s3:::${bucket}/*`,
      },
    ],
  };
}

const destinationNotFound = (id: string) => new NotFoundError(`Destination ${id} not found.`);

/** A change based on a destination that changed since it was read. */
export class StaleDestinationError extends ConflictError {
  override readonly name = 'StaleDestinationError';
  constructor(id: string, currentVersion: number) {
    super(
      `Destination ${id} was changed since you read it (it is at version ${currentVersion} now). Reload it, make your change again and save with the new version.`,
    );
  }
}

/** Deleting a destination that active export jobs still write to. */
export class DestinationInUseError extends ConflictError {
  override readonly name = 'DestinationInUseError';
  readonly code = 'destination_in_use';
  constructor(
    id: string,
    readonly jobIds: string[],
  ) {
    super(
      `Destination ${id} is used by active export jobs ${jobIds.join(', ')}. Stop those jobs (POST .../export-jobs/{id}/stop) first.`,
    );
  }
}

/** The raw revisions export writes into the destination: turn it off (or choose another destination) first. */
export class RawExportDestinationInUseError extends DestinationInUseError {
  constructor(id: string) {
    super(id, []);
    this.message = `Destination ${id} is used by the raw revisions export. Turn it off or choose another destination (PUT .../raw-export/settings) first.`;
  }
}

export interface DestinationDependencies {
  tenants: TenantStore;
  destinations: DestinationStore;
  jobs: Pick<ExportJobStore, 'list'>;
  /** The raw revisions export's settings: a destination it writes into is not deleted. */
  rawExports?: Pick<RawExportStore, 'getSettings'>;
  sealer: SecretSealer;
  gateway: DestinationGateway & ServiceIdentityGateway;
  clock: Clock;
  newId: (prefix: string) => string;
  /** The role whose writes bucket policies grant (a stack output, EXPORT_ROLE_ARN). */
  exportRoleArn: string;
}

export class DestinationService {
  constructor(private readonly deps: DestinationDependencies) {}

  /** The policy a customer pastes into the bucket before saving a bucket-policy destination. */
  async bucketPolicy(
    caller: Caller | undefined,
    environmentId: string,
    bucket: string | undefined,
  ): Promise<{ policy: BucketPolicy }> {
    await this.authorized(caller, environmentId);
    if (bucket === undefined || !isBucketName(bucket)) {
      const message = 'send ?bucket=<name>: 3-63 lowercase letters, digits, dots or dashes';
      throw new ValidationError(`Invalid query string. bucket: ${message}.`, [{ path: 'bucket', message }]);
    }
    return { policy: bucketPolicy(bucket, this.deps.exportRoleArn) };
  }

  async create(caller: Caller | undefined, environmentId: string, input: DestinationInput): Promise<DestinationView> {
    await this.authorized(caller, environmentId);
    const now = this.deps.clock.now();
    const destination = locationOf(input);
    const saved: NamedDestination = {
      environmentId,
      id: this.deps.newId('dst'),
      name: input.name,
      destination,
      bucketUrl: input.provider === 'AWS' ? input.bucketUrl : undefined,
      auth: await this.validatedAuth(environmentId, destination, input.auth, undefined),
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    if (!(await this.deps.destinations.create(saved)))
      throw new ConflictError(`Destination ${saved.id} exists; send the request again.`);
    return this.view(saved);
  }

  async list(caller: Caller | undefined, environmentId: string): Promise<DestinationView[]> {
    await this.authorized(caller, environmentId);
    return (await this.deps.destinations.list(environmentId)).map((destination) => this.view(destination));
  }

  async get(caller: Caller | undefined, environmentId: string, id: string): Promise<DestinationView> {
    await this.authorized(caller, environmentId);
    return this.view(await this.existing(environmentId, id));
  }

  async update(
    caller: Caller | undefined,
    environmentId: string,
    id: string,
    input: DestinationInput,
  ): Promise<DestinationView> {
    await this.authorized(caller, environmentId);
    const existing = await this.existing(environmentId, id);
    const expectedVersion = input.version ?? 0;
    // Refused before validating and sealing; the conditional write below settles races.
    if (existing.version !== expectedVersion) throw new StaleDestinationError(id, existing.version);
    const destination = locationOf(input);
    const saved: NamedDestination = {
      ...existing,
      name: input.name,
      destination,
      bucketUrl: input.provider === 'AWS' ? input.bucketUrl : undefined,
      auth: await this.validatedAuth(environmentId, destination, input.auth, existing.auth),
      updatedAt: this.deps.clock.now(),
      version: expectedVersion + 1,
    };
    if (!(await this.deps.destinations.put(saved, expectedVersion))) throw await this.refusal(environmentId, id);
    return this.view(saved);
  }

  /** Refused (409, naming them) while jobs that are not DONE or STOPPED use it. */
  async delete(caller: Caller | undefined, environmentId: string, id: string): Promise<void> {
    await this.authorized(caller, environmentId);
    const existing = await this.existing(environmentId, id);
    const users = (await this.deps.jobs.list(environmentId)).filter(
      (job) => job.destinationId === id && job.status !== 'DONE' && job.status !== 'STOPPED',
    );
    if (users.length > 0)
      throw new DestinationInUseError(
        id,
        users.map((job) => job.id),
      );
    const rawExport = await this.deps.rawExports?.getSettings(environmentId);
    if (rawExport?.enabled && rawExport.destinationId === id) throw new RawExportDestinationInUseError(id);
    if (!(await this.deps.destinations.delete(environmentId, id, existing.version))) {
      throw await this.refusal(environmentId, id);
    }
  }

  /** Why a conditional write was refused: the destination changed since it was read, or was deleted meanwhile. */
  private async refusal(environmentId: string, id: string): Promise<Error> {
    const current = await this.deps.destinations.get(environmentId, id);
    return current ? new StaleDestinationError(id, current.version) : destinationNotFound(id);
  }

  private async authorized(caller: Caller | undefined, environmentId: string): Promise<void> {
    const { organization } = await authorizeEnvironment(this.deps.tenants, caller, environmentId);
    requirePlan(organization, 'Destinations');
  }

  private async existing(environmentId: string, id: string): Promise<NamedDestination> {
    const found = await this.deps.destinations.get(environmentId, id);
    if (!found) throw destinationNotFound(id);
    return found;
  }

  /**
   * Validates the destination as its auth mode allows (a listing with the key, a probe write as the
   * export role) and seals a new secret; nothing is saved when validation fails. A PUT without a
   * secret keeps the stored one, for the same key id only.
   */
  private async validatedAuth(
    environmentId: string,
    destination: Destination,
    auth: DestinationAuthInput,
    existing: StoredDestinationAuth | undefined,
  ): Promise<StoredDestinationAuth> {
    try {
      if (auth.mode === 'bucketPolicy') {
        if (destination.provider === 'GCP') {
          throw new ValidationError(
            'Invalid destination. auth.mode: Google Cloud Storage does not apply AWS bucket policies; use an HMAC key (mode accessKey).',
            [{ path: 'auth.mode', message: 'bucketPolicy is for AWS S3 buckets; use accessKey with GCP' }],
          );
        }
        await this.deps.gateway.probeWrite(destination);
        return { mode: 'bucketPolicy' };
      }
      const keptSecret =
        existing?.mode === 'accessKey' && existing.accessKeyId === auth.accessKeyId
          ? existing.sealedSecretAccessKey
          : undefined;
      if (auth.secretAccessKey === undefined && keptSecret === undefined) {
        throw new ValidationError('Invalid destination. auth.secretAccessKey: required with a new access key id.', [
          {
            path: 'auth.secretAccessKey',
            message: 'required with a new accessKeyId: the stored secret belongs to the previous key',
          },
        ]);
      }
      const secretAccessKey = auth.secretAccessKey ?? (await this.deps.sealer.unseal(keptSecret!, { environmentId }));
      await this.deps.gateway.validate(destination, { accessKeyId: auth.accessKeyId, secretAccessKey });
      return {
        mode: 'accessKey',
        accessKeyId: auth.accessKeyId,
        sealedSecretAccessKey:
          auth.secretAccessKey === undefined
            ? keptSecret!
            : await this.deps.sealer.seal(auth.secretAccessKey, { environmentId }),
      };
    } catch (error) {
      if (error instanceof DestinationError) throw new DestinationValidationError(error);
      throw error;
    }
  }

  private view(saved: NamedDestination): DestinationView {
    const { destination, auth } = saved;
    return {
      id: saved.id,
      name: saved.name,
      provider: destination.provider,
      bucketUrl: saved.bucketUrl ?? null,
      bucket: destination.bucket,
      region: destination.region,
      key: destination.keyPrefix,
      endpoint: destination.provider === 'Custom' ? (destination.endpoint ?? null) : null,
      auth:
        auth.mode === 'accessKey'
          ? { mode: 'accessKey', accessKeyId: maskAccessKeyId(auth.accessKeyId), secretAccessKeySet: true }
          : { mode: 'bucketPolicy' },
      ...(auth.mode === 'bucketPolicy' ? { policy: bucketPolicy(destination.bucket, this.deps.exportRoleArn) } : {}),
      createdAt: isoTime(saved.createdAt),
      updatedAt: isoTime(saved.updatedAt),
      version: saved.version,
    };
  }
}

function locationOf(input: DestinationInput): Destination {
  // The provider is required here, so there always is a destination.
  return destinationFrom(input)!;
}
